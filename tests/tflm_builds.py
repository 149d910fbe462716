"""The project's TFLite Micro builds for tests (dadarts/firmware/tflm.py): (tree, library) of a kind, or a
skip that says how to get them. CI (CI=true) must run the chip: there a missing tree fails the test."""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def tflm_or_skip(kind: str, ops=None) -> tuple[Path, Path]:
    """(tree, library with the kernels of `ops`, default all) for m4f or host."""
    from dadarts.firmware import build, tflm
    target = {"m4f": "stm32f405", "host": "host"}[kind]
    missing = build.missing_tools(target)
    got = None if missing else tflm.built(kind, ops)
    if got is None:
        why = (f"needs {', '.join(missing)}" if missing else
               f"no TFLite Micro tree for {kind}: run scripts/setup.sh with {tflm.KINDS[kind].env} set (docs/firmware.md)")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI runs TFLite Micro: {why}")
        pytest.skip(why)
    return got
