"""Shared fixtures: an isolated cache directory and a tiny synthetic corpus made once per session."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Tests never touch the user's cache: every cached array goes to a throw-away folder.
os.environ["DADARTS_CACHE"] = tempfile.mkdtemp(prefix="dadarts-test-cache-")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TINY_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
              "marvin", "sheila", "bed", "cat")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> Path:
    """A small corpus in Speech Commands layout: 14 words x 10 voices x 1 repeat (gsc12 and names work)."""
    from dadarts.data.synth import SynthSettings, synthesize
    out = tmp_path_factory.mktemp("corpus") / "tiny"
    synthesize(out, SynthSettings(words=TINY_WORDS, voices=10, repeats=1, seed=1), jobs=2, progress=False)
    return out
