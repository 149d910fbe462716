"""Packaging hook (everything else is in pyproject.toml): the firmware's C sources live in firmware/ at
the top of the repository, beside the Python package; a wheel carries them as dadarts/_firmware so that
an installed dadarts (`pip install .`, not editable) builds firmware as a checkout does
(dadarts.firmware.build.FIRMWARE_DIR looks there first)."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithFirmware(build_py):
    def run(self):
        super().run()
        shutil.copytree(Path(__file__).resolve().parent / "firmware", Path(self.build_lib) / "dadarts" / "_firmware",
                        dirs_exist_ok=True, ignore=shutil.ignore_patterns("build*", "__pycache__"))


setup(cmdclass={"build_py": BuildPyWithFirmware})
