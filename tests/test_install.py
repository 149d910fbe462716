"""Installed like a user installs it: a plain (not editable) `pip install .` of this checkout carries the
firmware's C sources and the package's data files, and the firmware builds from the installed copy."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel pip builds from this checkout, installed (without dependencies) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    src = tmp_path_factory.mktemp("src") / "dadarts"
    # Build from a copy: pip's build leaves build/ and *.egg-info next to setup.py.
    skip = shutil.ignore_patterns(".git", ".venv", "build", "runs", "*.egg-info", "__pycache__", ".pytest_cache")
    shutil.copytree(ROOT, src, ignore=lambda d, names: skip(d, names) | ({"tests"} if Path(d) == ROOT else set()))
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(src)],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0 and "Could not find a version that satisfies" in r.stderr:
        pytest.skip(f"pip could not get the build backend (offline?): {r.stderr.strip().splitlines()[-1]}")
    assert r.returncode == 0, r.stderr
    return target


def _in_installed(target: Path, code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(target)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=target, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.slow
def test_installed_package_carries_the_firmware_and_its_data(installed):
    out = _in_installed(installed, "import dadarts.firmware.build as b; print(b.FIRMWARE_DIR)")
    fw = Path(out)
    assert fw == installed / "dadarts" / "_firmware"          # not the checkout's firmware/
    for f in ("CMakeLists.txt", "CMakePresets.json", "frontend/kws_frontend.c", "app/kws_main.c",
              "boards/board.h", "boards/stm32f405/stm32f405.ld", "boards/cortex_m/sections.ld", "cmake/tflm_library.cmake"):
        assert (fw / f).is_file(), f
    # Package data: every JSON/JSONL the package reads (cost model coefficients, targets, measured data).
    for data in ROOT.joinpath("dadarts").rglob("*.json*"):
        assert (installed / data.relative_to(ROOT)).is_file(), data


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("gcc") is None, reason="needs cmake and gcc")
def test_firmware_builds_from_the_installed_copy(installed, tmp_path):
    code = ("from dadarts.firmware import build; "
            f"b = build.cmake_build({str(ROOT / 'tests/data/golden/400_200_40')!r}, {str(tmp_path / 'b')!r}, 'host', "
            "targets=('kws_frontend_runner',)); print(b)")
    build_dir = Path(_in_installed(installed, code))
    assert (build_dir / "kws_frontend_runner").is_file()
    assert str(installed) in (build_dir / "CMakeCache.txt").read_text()   # configured from the installed sources
