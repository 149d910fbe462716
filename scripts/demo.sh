#!/usr/bin/env bash
# The main job on the built-in synthetic corpus: a search under a microcontroller's budget -> train ->
# export (int8) -> MCU estimates -> report. Sets up what is missing first.
# RUN=runs/NAME picks the run directory (default runs/demo), BOARD the board (default NUCLEO-F446RE:
# Cortex-M4F at 180 MHz, 128 KB SRAM, 512 KB flash); extra arguments go to `dadarts search`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3
RUN=${RUN:-runs/demo}
BOARD=${BOARD:-NUCLEO-F446RE}
dadarts=.venv/bin/dadarts
"$dadarts" search --run "$RUN" --target "$BOARD" "$@"
"$dadarts" train "$RUN"
"$dadarts" export "$RUN" --int8
"$dadarts" mcu-eval "$RUN" --target "$BOARD"
"$dadarts" compare "$RUN" --out "$RUN/compare"
"$dadarts" report "$RUN"
echo "demo: every artifact is in $RUN (see README, 'Run directory'); the page is $RUN/report.html"
