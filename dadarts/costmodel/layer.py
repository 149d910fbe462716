"""One operator of an int8 TFLite graph, described by the shape facts a cost model needs.

Both readers of the cost model produce these: mcu_eval parses them out of an exported .tflite, and
costmodel.network writes them down for a searched network before it exists (the search's cost).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Layer:
    """One operator of the graph, described by shape facts only."""
    index: int
    op: str                          # TFLite builtin name, e.g. "DEPTHWISE_CONV_2D"
    input_shape: list[int]
    output_shape: list[int]
    macs: int = 0                    # multiply-accumulates (0 for ops without any)
    in_elems: int = 0                # elements of the first input
    out_elems: int = 0               # elements of the output
    kernel: list[int] = field(default_factory=list)   # [kh, kw] for conv / depthwise / pool
    stride: list[int] = field(default_factory=list)   # [sh, sw]
    padding: str = ""                # "same" / "valid" where the op has it
    in_ch: int = 0
    out_ch: int = 0
    multiplier: int = 0              # depthwise channel multiplier
    dilation: list[int] = field(default_factory=list)
    weight_bytes: int = 0            # constant bytes this op reads (weights + bias)
    dtype: str = ""                  # type of the first input, e.g. INT8
    axis: int | None = None          # CONCATENATION: the axis (NHWC, 0..3); None where not known
    n_inputs: int = 0                # CONCATENATION: tensors joined (0: not known)

    def to_dict(self) -> dict:
        return asdict(self)
