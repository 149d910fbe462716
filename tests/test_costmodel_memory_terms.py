"""The cost model's RAM terms that restate a firmware source (reserved stacks and heap, the audio ring)
against that source, so that a change to the firmware without the cost model fails here; and the
measured application term against the linker map it was read from."""
import json
import re
from pathlib import Path

from dadarts.costmodel import memory

ROOT = Path(__file__).resolve().parents[1]


def _ld_symbol(text: str, name: str) -> int:
    return int(re.search(rf"^{name} = DEFINED\({name}\) \? {name} : (0x[0-9A-Fa-f]+);", text, re.M).group(1), 16)


def test_stacks_and_heap_are_what_the_linker_script_reserves():
    ld = (ROOT / "firmware/boards/cortex_m/sections.ld").read_text()
    assert memory.STACK_BYTES == _ld_symbol(ld, "__stack_size") + _ld_symbol(ld, "__handler_stack_size")
    assert memory.HEAP_BYTES == _ld_symbol(ld, "__heap_size")


def test_audio_ring_is_the_firmware_ring():
    h = (ROOT / "firmware/boards/cortex_m/pcm_ring.h").read_text()
    samples = int(re.search(r"#define PCM_RING_SAMPLES (\d+)u", h).group(1))
    assert memory.AUDIO_RING_BYTES == 2 * samples + 16       # int16 samples, two uint32 indices (+ padding)


def test_application_term_is_the_measured_remainder():
    """APPLICATION_RAM_BYTES is read from benchmarks/results/firmware_sizes.json: what the map charges to
    the application, board, TFLM and runtime, less the terms the cost model prices separately."""
    result = json.loads((ROOT / "benchmarks/results/firmware_sizes.json").read_text())
    parts = result["builds"]["int8_only_resolver"]["ram_by_part"]
    rest = parts["application"] + parts["board"] + parts.get("TFLM", 0) + parts.get("C/C++ runtime", 0)
    priced = result["frontend_state_bytes"] + result["feature_ring_bytes"] + memory.AUDIO_RING_BYTES
    assert abs(memory.APPLICATION_RAM_BYTES - (rest - priced)) <= 64
