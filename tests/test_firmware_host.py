"""The C front-end and application parts built for the host with CMake + gcc, checked against golden vectors."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from dadarts.firmware import build, golden
from dadarts.frontend.spec import MfccConfig

GOLDEN = "tests/data/golden"
pytestmark = pytest.mark.skipif(bool(build.missing_tools("host")),
                                reason=f"host firmware build needs {build.missing_tools('host')}")


@pytest.mark.parametrize("name", golden.GOLDEN_CONFIGS)
def test_c_frontend_is_bit_exact_with_the_golden_vectors(name, tmp_path):
    clips, meta, expected, _ = golden.load_golden(GOLDEN, name)
    b = build.cmake_build(golden.config_dir(GOLDEN, MfccConfig.parse(name)), tmp_path / "b",
                          targets=("kws_frontend_runner",))
    run = build.run_frontend_host(b, clips, meta["clip_samples"], MfccConfig.parse(name).n_mfcc)
    assert run.features.shape == expected.shape
    np.testing.assert_array_equal(run.features, expected)   # bit-exact, not merely within 1 LSB


def test_application_parts_pass_their_host_tests(tmp_path):
    b = build.cmake_build(golden.config_dir(GOLDEN, MfccConfig.parse("400/200/40")), tmp_path / "b")
    r = subprocess.run(["ctest", "--output-on-failure"], cwd=b, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "100% tests passed" in r.stdout
