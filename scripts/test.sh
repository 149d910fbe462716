#!/usr/bin/env bash
# The test command: sets up what is missing, then runs the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3
exec .venv/bin/python -m pytest -q "$@"
