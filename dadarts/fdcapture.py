"""Capture what C/C++ libraries print on file descriptors 1 and 2 (TFLM, TensorFlow, onnx2tf).

Python-level redirection misses output written by native code, so this swaps the descriptors
themselves for a temporary file and hands back the text once the block ends.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator


@contextlib.contextmanager
def captured_output() -> Iterator[list[str]]:
    """Send fds 1 and 2 to a file for the block; the yielded list then holds the captured text."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    box: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            yield box
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            tmp.seek(0)
            box.append(tmp.read().decode("utf-8", "replace"))
