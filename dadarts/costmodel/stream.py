"""Streaming cost (issue #24): what one decision costs when the network runs as a stream of steps.

A step model (dadarts export --streaming) takes N new frames and the states of every layer that
convolves time; the firmware (firmware/app/model_runner.cc) copies each next state into a staging
buffer after Invoke and back into its input before the next one. A decision therefore costs

    Invoke of the step graph  (every layer on its new frames at its time stride, plus the time buffers:
                               CONCATENATION of state and new frames, STRIDED_SLICE of the next state,
                               priced like every other operator from the measured per-op counts)
  + state copies              (two memcpy per state: MEMCPY_CALL instructions per call and the
                               per-byte cost of a time concatenation, which is the same memcpy)

`step_cost(layers, state_bytes, target)` prices a step graph already written (a parsed .tflite or a
NetGraph); both the on-chip check and mcu-eval read it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from . import kernels
from .layer import Layer
from .targets import Target

# Instructions of one newlib memcpy call beyond its bytes (entry, alignment and tail handling, return)
# and the firmware's loop around it. Measured on the emulated STM32F405 (tests/step_model.py's step
# model: 4 copies of 80 and 304 bytes, 548 instructions = 4 x 37 + 768 x 0.522).
MEMCPY_CALL = 37.0


@dataclass
class StepCost:
    invoke_instructions: float        # the step model's Invoke (operators only)
    state_copy_instructions: float    # the firmware's two copies per state
    state_bytes: int                  # kept between Invokes (in the arena; as many again in the staging buffer)

    @property
    def instructions(self) -> float:
        """Per decision (one step): what the firmware's Invoke timing measures."""
        return self.invoke_instructions + self.state_copy_instructions

    def to_dict(self) -> dict:
        return {**asdict(self), "instructions": self.instructions}


def memcpy_per_byte(library: str, core: str | None) -> float:
    """Instructions per byte of a large memcpy: the time concatenation's per-output-byte coefficient."""
    _, table = kernels.instruction_table(core, library)
    return float(table["concatenation"]["out"])


def state_copy_instructions(state_bytes: list[int], library: str, core: str | None = None) -> float:
    per_byte = memcpy_per_byte(library, core)
    return 2.0 * sum(MEMCPY_CALL + per_byte * b for b in state_bytes)


def step_cost(layers: list[Layer], state_bytes: list[int], target: Target) -> StepCost:
    library = kernels.library_for(target)
    return StepCost(kernels.model_instructions(layers, library, target.core),
                    state_copy_instructions(state_bytes, library, target.core), int(sum(state_bytes)))
