"""The C front-end on an emulated Cortex-M4 (QEMU mps2-an386, semihosting): golden vectors and instruction count."""
from __future__ import annotations

import numpy as np
import pytest

from dadarts.firmware import build, golden
from dadarts.frontend.spec import MfccConfig

GOLDEN = "tests/data/golden"
pytestmark = pytest.mark.skipif(
    bool(build.missing_tools("qemu-m4")),
    reason=f"Cortex-M4 tests need {build.missing_tools('qemu-m4')} (apt-get install {build.ARM_PACKAGES})")


NAME = "400/200/40"


@pytest.fixture(scope="module")
def m4_build(tmp_path_factory):
    config = MfccConfig.parse(NAME)
    return build.cmake_build(golden.config_dir(GOLDEN, config), tmp_path_factory.mktemp("m4"), target="qemu-m4",
                             targets=("kws_frontend_m4",))


def test_m4_frontend_matches_golden_and_counts_instructions(m4_build):
    config = MfccConfig.parse(NAME)
    clips, meta, expected, _ = golden.load_golden(GOLDEN, NAME)
    b = m4_build
    run, status = build.run_frontend_qemu(b, clips, meta["clip_samples"], config.n_mfcc, expected=expected)
    assert status == 0, run.log
    assert "mismatches 0 of" in run.log
    np.testing.assert_array_equal(run.features, expected)
    # TFLM's own audio preprocessor needs about 105 k instructions per frame at a comparable setting.
    assert run.instructions_per_frame is not None and 20_000 < run.instructions_per_frame < 105_000, run.log


def test_m4_frontend_reports_a_mismatch_in_its_exit_status(m4_build):
    config = MfccConfig.parse(NAME)
    clips, meta, expected, _ = golden.load_golden(GOLDEN, NAME)
    b = m4_build
    wrong = expected.copy()
    wrong[3, 5] ^= 1
    run, status = build.run_frontend_qemu(b, clips[:1], meta["clip_samples"], config.n_mfcc,
                                          expected=wrong[:len(expected) // len(clips)])
    assert status == 1 and "mismatches 1 of" in run.log
