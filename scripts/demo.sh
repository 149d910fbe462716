#!/usr/bin/env bash
# The main job on the built-in synthetic corpus: search -> train -> export (int8) -> MCU estimates.
# Sets up what is missing first. RUN=runs/NAME picks the run directory (default runs/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3
RUN=${RUN:-runs/demo}
dadarts=.venv/bin/dadarts
"$dadarts" search --run "$RUN" "$@"
"$dadarts" train "$RUN"
"$dadarts" export "$RUN" --int8
"$dadarts" mcu-eval "$RUN"
"$dadarts" compare "$RUN" --out "$RUN/compare"
"$dadarts" report "$RUN"
echo "demo: every artifact is in $RUN (see README, 'Run directory')"
