"""The front-end with CMSIS-DSP's FFT (arm_cfft_q31 compiled from the cmsisdsp sdist): bit-exact with its
Python twin (fixed.py fft="cmsis", which runs the same C code through the cmsisdsp package) on the
host and on the emulated Cortex-M4, and close to the radix-2 front-end (same scaling, other roundings)."""
from __future__ import annotations

import numpy as np
import pytest

from dadarts.errors import UserError
from dadarts.firmware import build, cmsis_dsp, golden
from dadarts.frontend import fixed
from dadarts.frontend.spec import MfccConfig

GOLDEN = "tests/data/golden"


@pytest.fixture(scope="module")
def dsp_root():
    try:
        return cmsis_dsp.source_dir()
    except UserError as exc:
        pytest.skip(str(exc))


def _twin(name):
    clips, meta, expected, tables = golden.load_golden(GOLDEN, name)
    ours = np.concatenate([fixed.features_from_frames(fixed.stream_frames(c, tables.config), tables, "cmsis") for c in clips])
    return clips, meta, expected, ours, tables.config


@pytest.mark.skipif(bool(build.missing_tools("host")), reason="needs cmake and gcc")
@pytest.mark.parametrize("name", ["400/200/40", "640/320/80"])
def test_cmsis_dsp_frontend_is_bit_exact_with_its_twin_on_the_host(name, dsp_root, tmp_path):
    clips, meta, expected, twin, config = _twin(name)
    b = build.cmake_build(golden.config_dir(GOLDEN, MfccConfig.parse(name)), tmp_path / "b", "host",
                          targets=("kws_frontend_runner",), defines={"KWS_CMSIS_DSP_ROOT": str(dsp_root)})
    got = build.run_frontend_host(b, clips, meta["clip_samples"], config.n_mfcc).features
    np.testing.assert_array_equal(got, twin)
    assert 0.98 < np.mean(twin == expected) < 1.0    # another FFT: a few features move by one step


@pytest.mark.slow
@pytest.mark.skipif(bool(build.missing_tools("qemu-m4")), reason=f"needs {build.missing_tools('qemu-m4')}")
def test_cmsis_dsp_frontend_is_bit_exact_and_cheaper_on_the_cortex_m4(dsp_root, tmp_path):
    clips, meta, _, twin, config = _twin("400/200/40")
    tables = golden.config_dir(GOLDEN, config)
    plain = build.cmake_build(tables, tmp_path / "plain", "qemu-m4", targets=("kws_frontend_m4",))
    dsp = build.cmake_build(tables, tmp_path / "dsp", "qemu-m4", targets=("kws_frontend_m4",),
                            defines={"KWS_CMSIS_DSP_ROOT": str(dsp_root)})
    run, status = build.run_frontend_qemu(dsp, clips, meta["clip_samples"], config.n_mfcc, expected=twin)
    assert status == 0, run.log
    base, _ = build.run_frontend_qemu(plain, clips[:1], meta["clip_samples"], config.n_mfcc)
    assert run.instructions_per_frame < base.instructions_per_frame
