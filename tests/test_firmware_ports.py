"""Every Cortex-M board of firmware/CMakePresets.json compiles and links the streaming application
(tethered model runner: no TFLM needed) against its own memory map, startup and audio provider.
The build-only ports (NUCLEO-F446RE, Nano 33 BLE Sense, the STM32F405 with its I2S microphone) are
checked here and nowhere else: no emulator runs them."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from dadarts.firmware import build, golden
from dadarts.frontend.spec import MfccConfig
from tflite_graphs import int8_graph

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("cmake") is None,
                                reason=f"needs cmake and arm-none-eabi-gcc (apt-get install {build.ARM_PACKAGES})")

# preset, extra CMake definitions, flash origin, RAM end, a symbol only its audio provider defines
PORTS = [
    ("stm32f405", {}, 0x08000000, 0x20020000, "stm32_audio_uart_irq"),
    ("stm32f405", {"KWS_AUDIO": "i2s"}, 0x08000000, 0x20020000, "stm32_audio_dma_irq"),
    ("nucleo-f446re", {}, 0x08000000, 0x20020000, "stm32_audio_dma_irq"),
    ("nano33ble", {}, 0x00010000, 0x20040000, "nrf_pdm_irq"),
]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    """Golden front-end tables plus the C files of a small int8 graph, as `dadarts export` writes them."""
    from dadarts.export.carrays import ModelSettings, write_firmware_files
    from dadarts.export.recognizer_settings import RecognizerSettings, write_recognizer_files
    config = MfccConfig.parse("400/200/40")
    out = tmp_path_factory.mktemp("export")
    for f in ("frontend_tables.c", "frontend_tables.h"):
        shutil.copy(golden.config_dir("tests/data/golden", config) / f, out / f)
    zp = int(next(l.split()[-1] for l in (out / "frontend_tables.h").read_text().splitlines()
                  if l.startswith("#define KWS_FRONTEND_INPUT_ZERO_POINT")))
    ops = ["CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"]
    settings = ModelSettings(run_name="ports", source="tests/test_firmware_ports.py", input_shape=[1, *config.shape, 1],
                             input_scale=0.1, input_zero_point=zp, output_scale=1 / 256, output_zero_point=-128,
                             labels=["_silence_", "_unknown_", "yes", "no"], config=config.name,
                             arena_measured_bytes=20_000, ops=ops)
    write_firmware_files(out, int8_graph(ops), settings)
    write_recognizer_files(out, out, RecognizerSettings(), config, 1 / 256, -128, "ports")
    return out


def _symbols(elf) -> dict[str, int]:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    return {parts[2]: int(parts[0], 16) for parts in (l.split() for l in out.splitlines()) if len(parts) == 3}


@pytest.mark.slow
@pytest.mark.parametrize("preset,defines,flash,ram_end,provider", PORTS,
                         ids=[p[0] + "".join(f"-{v}" for v in p[1].values()) for p in PORTS])
def test_port_links_against_its_memory_map(preset, defines, flash, ram_end, provider, export_dir, tmp_path):
    b = build.cmake_build(export_dir, tmp_path / "b", preset, targets=("kws_app_tethered",), defines=defines)
    elf = b / "kws_app_tethered.elf"
    sym = _symbols(elf)
    assert sym["vectors"] == flash                     # the vector table opens the flash image
    assert sym["_estack"] <= ram_end and sym["__stack_limit"] < sym["_estack"]
    # The application's stack opens RAM (an overflow faults), the fault handler's stack closes it.
    assert sym["_estack"] <= sym["_sdata"] and sym["_handler_estack"] <= ram_end
    assert provider in sym and "Reset_Handler" in sym
    assert b", watchdog 2 s" in elf.read_bytes()        # these boards start their watchdog (not emulated)
    assert (b / "kws_app_tethered.map").is_file()


def test_map_file_accounts_for_every_byte(export_dir, tmp_path):
    """Flash and RAM by part from the map add up to what the ELF holds (text + data, data + bss)."""
    from dadarts.firmware.mapfile import parse_map
    b = build.cmake_build(export_dir, tmp_path / "b", "stm32f405", targets=("kws_app_tethered",))
    text, data, bss = (int(v) for v in subprocess.run(["arm-none-eabi-size", str(b / "kws_app_tethered.elf")],
                                                       capture_output=True, text=True, check=True).stdout.splitlines()[1].split()[:3])
    sizes = parse_map(b / "kws_app_tethered.map")
    assert sizes.flash_total == text + data and sizes.ram_total == data + bss
    assert sizes.ram["stack"] == 8192 and sizes.flash["front-end"] > 5000 and "model" not in sizes.flash   # tethered: the model stays on the host
    assert sizes.regions["FLASH"].length == 1024 * 1024 and sizes.regions["RAM"].length == 128 * 1024
