"""Measure the TFLite Micro tensor arena a model needs, with the tflite-micro Python interpreter.

The interpreter allocates the model in an arena through TFLM's RecordingMicroAllocator, whose
report gives the bytes actually used: the head (non-persistent: activation tensors and scratch
buffers, reused between layers by the memory planner) and the tail (persistent: tensor and node
structs, quantisation data, kernel buffers). The report is printed by C++ code, so it is captured
at the file-descriptor level. The figure is then checked by allocating exactly that many bytes.

The interpreter runs on the host (64-bit pointers, reference kernels), so the tail is somewhat
larger than on a 32-bit Cortex-M and CMSIS-NN's scratch buffers are not in it; `memory.py` adds
those as a separate term. TFLM aborts the process on some invalid models (for example a SOFTMAX
whose input scale it cannot represent), so the measurement runs in a child process.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from ..errors import UserError
from ..fdcapture import captured_output

_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")
_HEAD = re.compile(r"Arena allocation head (\d+) bytes")
_TAIL = re.compile(r"Arena allocation tail (\d+) bytes")
_ALLOC = re.compile(r"'([^']+)' used (\d+) bytes")


@dataclass
class ArenaMeasurement:
    total_bytes: int
    head_bytes: int
    tail_bytes: int
    breakdown: dict[str, int]       # RecordingMicroAllocator categories -> bytes
    verified: bool                  # allocating exactly total_bytes succeeded

    def to_dict(self) -> dict:
        return {"total_bytes": self.total_bytes, "head_bytes": self.head_bytes, "tail_bytes": self.tail_bytes,
                "breakdown": self.breakdown, "verified": self.verified,
                "method": "tflite_micro.runtime.Interpreter + RecordingMicroAllocator (host build)"}


def _interpreter(model: bytes, arena_size: int):
    from tflite_micro.python.tflite_micro import runtime
    return runtime.Interpreter.from_bytes(model, arena_size=arena_size)


def _allocates(model: bytes, arena_size: int) -> bool:
    with captured_output():
        try:
            _interpreter(model, arena_size)
            return True
        except RuntimeError:
            return False


def measure_arena(model: bytes, max_arena: int = 8 << 20, timeout_s: float = 300.0) -> ArenaMeasurement:
    """Arena bytes TFLM needs for `model` (host measurement in a child process, see module doc)."""
    with tempfile.TemporaryDirectory(prefix="dadarts-arena-") as tmp:
        path = os.path.join(tmp, "model.tflite")
        with open(path, "wb") as f:
            f.write(model)
        code = ("import json, sys; from dadarts.costmodel.arena import _measure_here; "
                "m = _measure_here(open(sys.argv[1], 'rb').read(), int(sys.argv[2])); "
                "sys.stdout.write('\\n@@ARENA@@' + json.dumps(m.__dict__))")
        try:
            proc = subprocess.run([sys.executable, "-c", code, path, str(max_arena)], capture_output=True,
                                  text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise UserError(f"Measuring the TFLM arena took more than {timeout_s:.0f} s: the model is too large "
                            "for TFLite Micro.") from None
    marker = proc.stdout.rfind("@@ARENA@@")
    if proc.returncode == 0 and marker >= 0:
        return ArenaMeasurement(**json.loads(proc.stdout[marker + len("@@ARENA@@"):]))
    err = (proc.stderr or "").strip().splitlines()
    user_err = [ln for ln in err if "UserError" in ln]
    if user_err:
        raise UserError(user_err[-1].split("UserError:", 1)[-1].strip())
    raise UserError(f"TFLite Micro crashed while loading the model (exit {proc.returncode}, last message: "
                    f"{err[-1] if err else 'none'}): a layer's quantisation parameters are out of the range TFLM "
                    "supports, check export/report.json.")


def _measure_here(model: bytes, max_arena: int) -> ArenaMeasurement:
    try:
        from tflite_micro.python.tflite_micro import runtime  # noqa: F401
    except ImportError:
        raise UserError("The tflite-micro package is not installed: pip install the pinned dadarts dependencies.") from None
    with captured_output() as out:
        try:
            interp = _interpreter(model, max_arena)
            interp.print_allocations()
            failed = None
        except RuntimeError as exc:
            failed = exc
    log = out[0]
    if failed is not None:
        last = [ln for ln in log.splitlines() if ln.strip()][-3:]
        raise UserError(f"TFLite Micro could not load the model ({'; '.join(last) or failed}): "
                        "check that every op is supported by TFLM (see export/report.json).")
    m_total, m_head, m_tail = _TOTAL.search(log), _HEAD.search(log), _TAIL.search(log)
    if not m_total:
        raise UserError("TFLite Micro printed no allocation report: the installed tflite-micro may be incompatible.")
    total = int(m_total.group(1))
    breakdown = {name: int(b) for name, b in _ALLOC.findall(log)}
    # The recorded total is the high-water mark; allocate exactly that to confirm, and step up in
    # 16-byte alignment units if a build pads differently.
    verified_total = total
    verified = False
    for _ in range(8):
        if _allocates(model, verified_total):
            verified = True
            break
        verified_total += 16
    return ArenaMeasurement(total_bytes=verified_total if verified else total,
                            head_bytes=int(m_head.group(1)) if m_head else 0,
                            tail_bytes=int(m_tail.group(1)) if m_tail else 0,
                            breakdown=breakdown, verified=verified)
