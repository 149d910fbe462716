"""CMSIS-DSP's C sources for the firmware's FFT, the way users get them: the `cmsisdsp` source
distribution on PyPI, at the version of the installed `cmsisdsp` wheel (whose Python bindings are the
bit-exact reference of the same C code, see dadarts/frontend/fixed.py). Nothing is kept in git: the
sdist is downloaded with pip into ~/.cache/dadarts/sources/ (or DADARTS_CMSIS_DSP names an extracted
tree) and CMake compiles the few files the front-end needs (-DKWS_CMSIS_DSP_ROOT).

    python -m dadarts.firmware.cmsis_dsp      # fetch (scripts/setup.sh does) and print the folder
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from importlib import metadata
from pathlib import Path

from ..errors import UserError

# The files arm_cfft_q31 needs (TransformFunctions, CommonTables); CMake compiles exactly these.
SOURCES = ("Source/TransformFunctions/arm_cfft_q31.c", "Source/TransformFunctions/arm_cfft_radix4_q31.c",
           "Source/TransformFunctions/arm_bitreversal.c", "Source/TransformFunctions/arm_bitreversal2.c",
           "Source/CommonTables/arm_common_tables.c",
           "Source/CommonTables/arm_const_structs.c")


def version() -> str:
    try:
        return metadata.version("cmsisdsp")
    except metadata.PackageNotFoundError:
        raise UserError("The cmsisdsp package is not installed: run scripts/setup.sh (it is pinned in pyproject.toml).") from None


def _is_tree(path: Path) -> bool:
    return all((path / f).is_file() for f in SOURCES) and (path / "Include" / "arm_math.h").is_file()


def source_dir(fetch: bool = True) -> Path:
    """The extracted cmsisdsp source tree of the installed version, downloaded once if `fetch`."""
    given = os.environ.get("DADARTS_CMSIS_DSP")
    if given:
        if not _is_tree(Path(given)):
            raise UserError(f"DADARTS_CMSIS_DSP={given} is not a cmsisdsp source tree (no {SOURCES[0]}).")
        return Path(given)
    v = version()
    root = Path.home() / ".cache" / "dadarts" / "sources"
    tree = root / f"cmsisdsp-{v}"
    if _is_tree(tree):
        return tree
    if not fetch:
        raise UserError(f"CMSIS-DSP {v} sources are not in {root}: run `python -m dadarts.firmware.cmsis_dsp`.")
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        # --no-build-isolation: the sdist's metadata step uses this environment's numpy instead of
        # building its build dependencies from source.
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", "cmsisdsp", "--no-deps",
                            "--no-build-isolation", "--quiet", f"cmsisdsp=={v}", "-d", tmp],
                           capture_output=True, text=True, timeout=900)
        archives = list(Path(tmp).glob(f"cmsisdsp-{v}.tar.gz"))
        if r.returncode != 0 or not archives:
            last = (r.stderr.strip().splitlines() or ["no output"])[-1]
            raise UserError(f"Could not download the cmsisdsp {v} source distribution from PyPI ({last}); "
                            f"set DADARTS_CMSIS_DSP to an extracted copy.")
        with tarfile.open(archives[0]) as tar:
            tar.extractall(tmp, filter="data")
        os.replace(Path(tmp) / f"cmsisdsp-{v}", tree)
    return tree


if __name__ == "__main__":
    print(source_dir())
