"""What a newcomer sees on the console: TensorFlow's import prints nothing (its C++ registration
lines come before TF_CPP_MIN_LOG_LEVEL applies and are captured)."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_tensorflow_import_prints_nothing():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-c", "from dadarts.export.tflite_convert import quiet_tensorflow; "
                           "quiet_tensorflow()"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
