"""Host-side latency and memory estimates for Cortex-M targets.

- `dadarts mcu-eval RUN|MODEL.tflite` (command.py): estimates for an exported run (written to
  RUN/mcu/estimates.json) or for any int8 TFLite file.
- analytic.estimate_from_genotype / estimate_from_torch: the same estimates before training or export.
- graph (int8 .tflite analysis), arena (TFLM arena measured with tflite-micro), estimate (per-target
  verdicts); the cost model itself is dadarts.costmodel.
- calibration_models / sweep_models: the int8 models the cost model's coefficients are measured on
  (benchmarks/measure_op_counts.py).
"""
