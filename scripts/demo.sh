#!/usr/bin/env bash
# The main job on the built-in synthetic corpus: a search under a microcontroller's budget -> train ->
# export (int8) -> MCU estimates -> report -> the model on the emulated chip. Sets up what is missing first.
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
# The int8 model on the chip: TFLite Micro (pinned, built by setup.sh) + CMSIS-NN on the emulated STM32F405
# linked with the board's memory map, a 2-minute cut of the test stream, against the estimate and Python.
case "$BOARD" in
  NUCLEO-F446RE|STM32F405)   # dadarts/evaluate/onchip.py STAND_INS
    "$dadarts" firmware check "$RUN" --board "$BOARD" --minutes 2
    "$dadarts" report "$RUN" ;;   # again: the page shows the measured figures too
  *) echo "demo: $BOARD has no emulated stand-in (an STM32F4 with a Cortex-M4F); the on-chip check is skipped" ;;
esac
echo "demo: every artifact is in $RUN (see README, 'Run directory'); the page is $RUN/report.html"
