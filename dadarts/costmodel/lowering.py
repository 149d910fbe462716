"""How dadarts.export lowers a PyTorch network to int8 TFLite operators: the facts the cost model must
count and the export must keep, in one place.

- BatchNorm after a convolution is folded into it; a ReLU right after a convolution is fused into it.
- A dilated convolution stays dilated unless TensorFlow would lower it through
  SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND: when it is strided, or when another dilated convolution of
  the same shape reads the same (ReLU'd) input, the export spreads its kernel out with zeros
  ((k - 1) * d + 1 taps, exact) — `dense_dilation`.
- CONCATENATION inputs share the output's quantisation, so the converter puts a requantising
  QUANTIZE before each concat input whose scale differs. The export folds it into the op that
  produced the input when nothing else reads that input; a node that a later node of the cell also
  reads keeps its QUANTIZE (giving it the concat's coarser scale cost 2.9 points of int8 accuracy on a
  trained mcu cell) — `requantised_concat_input`. Counting one for every such node is an upper
  bound: the node whose range sets the concat's needs none.
- darts space only: a padded max pool becomes MIRROR_PAD + an unpadded MAX_POOL_2D; a stride-2
  count-excluding average pool on an even size is padded to odd (MIRROR_PAD), pooled and cut back
  (STRIDED_SLICE); FactorizedReduce is one 2x2 stride-2 SAME convolution; a stride-2 depthwise
  convolution on a map with an even side is a PAD + 'valid' convolution (PyTorch's symmetric padding
  is not TFLite's SAME there; on odd sides they agree and it stays one SAME convolution). Where the converter places the darts space's pre-activation RELU ops is reproduced
  only approximately (it moves some through concatenations); the mcu space has none.
- The model ends with the logits: the firmware applies the softmax itself.
"""
from __future__ import annotations



def requantised_concat_input(state: int, read_by_later_nodes: set[int]) -> bool:
    """Whether a cell's concat input (state index) keeps a QUANTIZE after the export's fold."""
    return state >= 2 and state in read_by_later_nodes


def dense_dilation(stride: int, shared_input: bool) -> bool:
    """Whether the export makes a dilated convolution dense (see module doc)."""
    return stride > 1 or shared_input
