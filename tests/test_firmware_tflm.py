"""The whole firmware with TFLite Micro: kws_app on a WAV reports the keyword the Python pipeline reports,
and on the emulated STM32F405 the full application fits the chip and finds the keywords of a stream.

TFLM is the project's pinned build (dadarts/firmware/tflm.py, made by scripts/setup.sh); without a tree
the tests skip, except in CI, where they fail.
"""
from __future__ import annotations

import pytest

from dadarts.firmware import build
from tflm_builds import tflm_or_skip


def _export_c_files(run, config=None):
    """What `dadarts export` writes next to the front-end tables: model_data.* and model_settings.h."""
    from ai_edge_litert.interpreter import Interpreter
    from dadarts.export.carrays import ModelSettings, write_firmware_files
    from dadarts.export.tflite_graph import op_names, read_ops
    from dadarts.export.tflm_check import measure_arena
    model = run.tflite_int8.read_bytes()
    it = Interpreter(model_path=str(run.tflite_int8))
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    from test_firmware_commands import CONFIG, WORDS
    config = config or CONFIG
    settings = ModelSettings(run_name=run.root.name, source=str(run.root), input_shape=[int(v) for v in inp["shape"]],
                             input_scale=float(inp["quantization"][0]), input_zero_point=int(inp["quantization"][1]),
                             output_scale=float(out["quantization"][0]), output_zero_point=int(out["quantization"][1]),
                             labels=sorted(WORDS), config=config.name,
                             arena_measured_bytes=int(measure_arena(model)["total_bytes"]),
                             ops=op_names(read_ops(model)))
    write_firmware_files(run.firmware, model, settings)
    from dadarts.export.recognizer_settings import RecognizerSettings, write_recognizer_files
    write_recognizer_files(run.root / "export", run.firmware, RecognizerSettings(), config, settings.output_scale,
                           settings.output_zero_point, run.root.name)


@pytest.mark.slow
@pytest.mark.parametrize("target", ["host", "qemu-m4"])
def test_kws_app_reports_the_python_keyword(target, tmp_path, capsys):
    import argparse

    from dadarts.firmware import build_command
    from test_firmware_commands import _fake_run
    run = _fake_run(tmp_path)
    _export_c_files(run)
    from dadarts.export.tflite_graph import op_names, read_ops
    # The pinned build, with the kernels of this model only (compiled on first use, then cached): --tflm.
    tflm_or_skip("host" if target == "host" else "m4f", op_names(read_ops(run.tflite_int8.read_bytes())))
    wav = sorted((tmp_path / "data" / "high").glob("*.wav"))[0]
    p = argparse.ArgumentParser()
    build_command.add_arguments(p)
    args = p.parse_args([str(run.root), "--target", target, "--tflm", "--wav", str(wav)])
    args._argv = ["firmware", "build"]
    assert build_command.run(args) == 0
    out = capsys.readouterr().out
    assert "same keyword" in out and "last high" in out, out


@pytest.mark.slow
def test_default_shaped_model_on_the_emulated_stm32f405(tmp_path):
    """The int8 model under TFLM + CMSIS-NN on the chip, linked with the NUCLEO-F446RE's memory map: its arena
    fits the reserve, Invoke costs what the cost model predicts (within 5 %), and on a stream it makes the
    Python pipeline's detections (stream twin, reference kernels, recogniser twin), which find every tone."""
    import numpy as np

    from dadarts.evaluate.onchip import check, report
    from dadarts.export.recognizer_settings import RecognizerSettings
    from dadarts.export.tflite_graph import op_names, read_ops
    from test_firmware_stream import EVENTS, LABELS, RECOGNIZER, _stream, tone_run

    tflm_or_skip("m4f")
    run, tables, tflite = tone_run(tmp_path / "run", default_shaped=True)
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "FULLY_CONNECTED"} <= set(op_names(read_ops(tflite)))
    pcm = _stream(np.random.default_rng(1))
    r = check(run.firmware, run.tflite_int8, tables, RecognizerSettings(**RECOGNIZER), LABELS, pcm, "NUCLEO-F446RE",
              tmp_path / "build", timeout_s=600)
    report(r)
    assert r["flash_region_bytes"] == 512 * 1024 and r["ram_region_bytes"] == 128 * 1024
    assert r["flash_bytes"] <= r["flash_region_bytes"] and r["ram_bytes"] <= r["ram_region_bytes"]
    assert 0 < r["arena_used_bytes"] <= r["arena_reserved_bytes"]
    assert abs(r["invoke_error"]) <= 0.05, r["invoke_error"]
    assert r["dropped_samples"] == 0 and r["inferences"] == r["python_inferences"] >= 50
    assert r["same_detections"], (r["device_detections"], r["python_detections"])
    assert [d[1] for d in r["device_detections"]] == [w for w, _ in EVENTS]


@pytest.mark.skipif(bool(build.missing_tools("nucleo-f446re")), reason="needs cmake and arm-none-eabi-gcc")
@pytest.mark.parametrize("symbols,expected,absent", [
    (["MicroPrintf(char const*, ...)", "arm_convolve_s8", "RegisterDebugLogCallback"],
     ["TF_LITE_STATIC_MEMORY", "CMSIS_NN", "KWS_TFLM_DEBUG_LOG_CALLBACK"], ["TF_LITE_STRIP_ERROR_STRINGS"]),
    ([], ["TF_LITE_STATIC_MEMORY", "TF_LITE_STRIP_ERROR_STRINGS"], ["CMSIS_NN", "KWS_TFLM_DEBUG_LOG_CALLBACK"]),
], ids=["release_with_logs-cmsis_nn", "release-reference"])
def test_compile_definitions_are_read_off_the_library(symbols, expected, absent, tmp_path):
    """A BUILD_TYPE=release library has no MicroPrintf: the application must then be compiled with
    TF_LITE_STRIP_ERROR_STRINGS or it fails to link (`undefined reference to MicroPrintf`)."""
    import shutil
    import subprocess

    from dadarts.export.carrays import ModelSettings, write_firmware_files
    from dadarts.export.recognizer_settings import RecognizerSettings, write_recognizer_files
    from dadarts.firmware import golden
    from dadarts.frontend.spec import MfccConfig
    from tflite_graphs import int8_graph

    tree = tmp_path / "tree"
    (tree / "tensorflow" / "lite" / "micro").mkdir(parents=True)
    (tree / "tensorflow" / "lite" / "micro" / "micro_interpreter.h").write_text("// stand-in\n")
    names = {"MicroPrintf(char const*, ...)": "void MicroPrintf(const char*, ...) {}",
             "arm_convolve_s8": 'extern "C" int arm_convolve_s8() { return 0; }',
             "RegisterDebugLogCallback": 'extern "C" void RegisterDebugLogCallback(void (*)(const char*)) {}'}
    src = tmp_path / "lib.cc"
    src.write_text("\n".join(names[s] for s in symbols) + "\nint kws_stand_in_library;\n")
    lib = tmp_path / "gen" / "cortex_m_generic_cortex-m4+fp_release_gcc" / "lib" / "libtensorflow-microlite.a"
    lib.parent.mkdir(parents=True)
    subprocess.run(["arm-none-eabi-g++", "-c", str(src), "-o", str(tmp_path / "lib.o")], check=True)
    subprocess.run(["arm-none-eabi-ar", "rcs", str(lib), str(tmp_path / "lib.o")], check=True)
    tables = tmp_path / "tables"
    shutil.copytree(golden.config_dir("tests/data/golden", MfccConfig.parse("400/200/40")), tables)
    settings = ModelSettings(run_name="t", source="t", input_shape=[1, 79, 40, 1], input_scale=0.1, input_zero_point=0,
                             output_scale=1 / 256, output_zero_point=-128, labels=["a", "b"], config="400/200/40",
                             arena_measured_bytes=1000, ops=["FULLY_CONNECTED"])
    write_firmware_files(tables, int8_graph(["FULLY_CONNECTED"]), settings)
    write_recognizer_files(tables, tables, RecognizerSettings(), "400/200/40", 1 / 256, -128, "t")
    r = subprocess.run(["cmake", "-S", str(build.FIRMWARE_DIR), "-B", str(tmp_path / "b"), f"-DKWS_TABLES_DIR={tables}",
                        "-DKWS_BOARD=nucleo_f446re", f"-DCMAKE_TOOLCHAIN_FILE={build.FIRMWARE_DIR / 'cmake/arm-none-eabi-m4.cmake'}",
                        f"-DTFLM_ROOT={tree}", f"-DTFLM_LIB={lib}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    line = next(l for l in r.stdout.splitlines() if "TFLM application kws_app" in l)
    for d in expected:
        assert d in line, line
    for d in absent:
        assert d not in line, line
