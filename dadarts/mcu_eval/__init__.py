"""Host-side latency and memory estimates for Cortex-M targets.

- `dadarts mcu-eval RUN` (command.py): estimates for an exported run, written to RUN/mcu/estimates.json.
- analytic.estimate_from_genotype / estimate_from_torch: the same estimates before training or export.
- targets (board presets in targets.json), graph (int8 .tflite analysis), arena (TFLM arena measured
  with tflite-micro), cost_model (kernel paths, instructions, cycles), memory (flash/RAM terms),
  frontend_cost (MFCC cost per frame), calibration (the model against published and emulated figures).
"""
