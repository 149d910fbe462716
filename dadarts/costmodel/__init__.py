"""The Cortex-M cost model shared by the search, export and mcu-eval: boards, per-kernel instruction
models fitted to measured counts, memory terms and the lowering facts of the export.

It sits just above the front-end in the package (it imports dadarts.frontend and nothing above), so
the search can ask what a candidate costs without importing the stages that produce the real model.
"""
