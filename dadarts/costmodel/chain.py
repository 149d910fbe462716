"""The chain search space, made for CMSIS-NN: its choices as plain facts, and the int8 graph a chain
network exports to (for the cost model, without building the network).

A chain network is DS-CNN's shape with every hand-made choice searchable:

  stem      one 'valid' CONV_2D + fused ReLU over the 1-channel (T, F) map: kernel and stride over
            time and frequency (STEMS; stride 1 over time only where asked: SEARCH_STEMS), width (WIDTHS)
  block x6  depthwise (KERNELS; "skip" leaves the block out: fewer blocks) + fused ReLU, strided 1 or 2
            over both axes (STRIDES), then a pointwise 1x1 CONV_2D + fused ReLU to the block's width
            (WIDTHS)
  head      MEAN over the map, FULLY_CONNECTED to the logits

Time padding (`"time_padding"`, absent = "same"): "same" pads the blocks' depthwise convolutions
over time as over frequency; the two streamable paddings (STREAMING_PADDINGS) never pad a frame after
the window, so the network runs as a stream of steps (dadarts.export.step_model):
- "valid" pads over frequency only: every layer's output at a frame depends only on frames inside the
  window, and the steps equal the whole-window run exactly. Its maps are shorter over time: each
  depthwise takes (k - 1) * d frames off (a PAD over frequency + a 'valid' depthwise);
- "causal" pads k - s zero frames before the map (k the taps over time, dilation included, s the
  stride): the zeros a stream's reset state holds, so the maps keep their frames (T // s) and a
  stream's steps equal the same network run over everything heard since the reset; on a window the
  first frames of each map read zeros where a stream has heard earlier audio (kws_streaming's
  'causal' mode). Priced as one PAD over time and frequency + a 'valid' depthwise; streamed, a step
  costs what the valid network's does (the same buffers), with a longer average.
`validate(arch, input_shape)` refuses an architecture whose time map vanishes.

There is no ADD, concatenation or requantise anywhere: the only structural glue is the PAD of a
stride-2 depthwise (PyTorch pads symmetrically, TFLite's SAME does not on even sizes, so the export
writes the padding out; dadarts.costmodel.lowering), and it is priced like every other layer. A
strided dilated depthwise is made dense by the export ((k - 1) * d + 1 taps; lowering.dense_dilation).

An architecture is a dict (search/result.json "genotype" of a chain search, train/model.pt kwargs):
{"stem": "conv_10x4_s2x2", "stem_channels": 64,
 "blocks": [{"op": "dw_3x3", "channels": 64, "stride": 1}, {"op": "skip"}, ...],
 "time_padding": "valid"}                  # optional: "same" (default), "valid" or "causal"
"""
from __future__ import annotations

import math

from ..errors import UserError
from .lowering import dense_dilation
from .network import NetGraph, same_out, valid_out

SPACE = "chain"
STEMS = {                         # name: (kernel_t, kernel_f, stride_t, stride_f)
    "conv_10x4_s2x2": (10, 4, 2, 2),      # DS-CNN-S's stem
    "conv_10x4_s2x1": (10, 4, 2, 1),      # DS-CNN-M/L's
    "conv_3x3_s2x2": (3, 3, 2, 2),        # the mcu cell space's
    "conv_5x5_s2x2": (5, 5, 2, 2),
    # The same kernels striding 1 over time: a network of them (and of stride-1 blocks) has time stride 1,
    # so its step model can take one frame, a decision every hop (dadarts export --streaming
    # --frames-per-step 1); its maps keep twice the frames, so its whole window costs about twice as much.
    "conv_10x4_s1x2": (10, 4, 1, 2),
    "conv_10x4_s1x1": (10, 4, 1, 1),
    "conv_3x3_s1x2": (3, 3, 1, 2),
    "conv_5x5_s1x2": (5, 5, 1, 2),
}
# The stems a search chooses among unless told otherwise (ChainSupernet / ChainCost `stems`): those striding
# 2 over time. A supernet over the stride-1 stems too runs all its blocks on the stride-1 map (twice the
# frames), so it is opt-in (`dadarts search --every-hop`).
SEARCH_STEMS = tuple(name for name, (_, _, st, _) in STEMS.items() if st == 2)
KERNELS = {                       # name: (kernel, dilation) of the block's depthwise; None: no block
    "skip": None,
    "dw_3x3": (3, 1),
    "dw_5x5": (5, 1),
    "dw_3x3_d2": (3, 2),
}
WIDTHS = (16, 24, 32, 48, 64)    # channels of the stem and of every block's pointwise output (DS-CNN-S: 64)
STRIDES = (1, 2)
BLOCKS = 6
TIME_PADDINGS = ("same", "valid", "causal")
STREAMING_PADDINGS = ("valid", "causal")     # no frame after the window is read: the network streams

# The blocks' kernels that compute (skip is the absence of a block), in the order of α's columns after skip.
CONV_KERNELS = tuple(k for k, v in KERNELS.items() if v is not None)

# DS-CNN-S written in this space (its SAME stem made 'valid'): a known-good architecture for tests.
DS_CNN_S_LIKE = {"stem": "conv_10x4_s2x2", "stem_channels": 64,
                 "blocks": [{"op": "dw_3x3", "channels": 64, "stride": 1}] * 4 + [{"op": "skip"}] * 2}


def sample(rng) -> dict:
    """An architecture drawn uniformly from the searched space, choice by choice (`rng`: a random.Random;
    the stems of SEARCH_STEMS, so that a seed draws what it drew before the stride-1 stems existed)."""
    blocks = []
    for _ in range(BLOCKS):
        op = rng.choice(list(KERNELS))
        blocks.append({"op": "skip"} if op == "skip" else
                      {"op": op, "channels": rng.choice(WIDTHS), "stride": rng.choice(STRIDES)})
    return {"stem": rng.choice(list(SEARCH_STEMS)), "stem_channels": rng.choice(WIDTHS), "blocks": blocks}


def time_padding(arch: dict) -> str:
    return arch.get("time_padding", "same")


def streams(arch: dict) -> bool:
    """Whether chain network `arch` runs as a stream of steps (its time padding is valid or causal)."""
    return time_padding(arch) in STREAMING_PADDINGS


def causal_out(size: int, stride: int) -> int:
    """Frames out of a causal layer over `size` frames: k - s zeros before them, 'valid' with stride s."""
    return size // stride


def stem_out(shape: tuple[int, int], stem: str) -> tuple[int, int]:
    kt, kf, st, sf = STEMS[stem]
    return max(1, valid_out(shape[0], kt, st)), max(1, valid_out(shape[1], kf, sf))


def strided(shape: tuple[int, int], times: int) -> tuple[int, int]:
    h, w = shape
    for _ in range(times):
        h, w = same_out(h, 2), same_out(w, 2)
    return h, w


def depthwise_kernel(op: str, stride: int) -> tuple[int, int]:
    """(taps, dilation) of the depthwise the export writes for block op `op` at `stride`."""
    k, d = KERNELS[op]
    if d > 1 and dense_dilation(stride, False):
        return (k - 1) * d + 1, 1
    return k, d


def stem_layer(g: NetGraph, x: int, stem: str, channels: int) -> int:
    kt, kf, st, sf = STEMS[stem]
    return g.conv(x, channels, (kt, kf), (st, sf), "valid", relu=True)


def block_layers(g: NetGraph, x: int, op: str, channels: int, stride: int, time_padding: str = "same") -> int:
    """Depthwise (with its PAD when strided or 'valid' in time) and pointwise of one block; returns the
    output tensor."""
    k, d = depthwise_kernel(op, stride)
    return g.conv(g.depthwise(x, k, stride, d, relu=True, time_padding=time_padding), channels, 1, relu=True)


def time_layers(arch: dict) -> list[tuple[int, int]]:
    """(kernel, stride) over time of every layer that convolves time, in order (stem, then the blocks'
    depthwise convolutions; the pointwise ones see one frame), as the network computes them."""
    kt, _, st, _ = STEMS[arch["stem"]]
    out = [(kt, st)]
    for b in arch["blocks"]:
        if b["op"] != "skip":
            k, d = KERNELS[b["op"]]
            out.append(((k - 1) * d + 1, int(b["stride"])))
    return out


def time_stride(arch: dict) -> int:
    """S: the product of the network's strides over time."""
    return math.prod(s for _, s in time_layers(arch))


def time_map(arch: dict, frames: int) -> int:
    """Frames of the last map of `arch` on `frames` input frames (< 1: the map vanished)."""
    t = valid_out(frames, *time_layers(arch)[0])
    for k, s in time_layers(arch)[1:]:
        mode = time_padding(arch)
        t = valid_out(t, k, s) if mode == "valid" else causal_out(t, s) if mode == "causal" else same_out(t, s)
    return t


def validate(arch: dict, input_shape: tuple[int, int] | None = None) -> dict:
    """The architecture, checked against the space (and, given the input's (T, F), that its time map does
    not vanish); a UserError saying what is wrong otherwise."""
    def bad(what):
        return UserError(f"The chain architecture {what}: re-run the search or fix the genotype.")
    if not isinstance(arch, dict) or not {"stem", "stem_channels", "blocks"} <= set(arch):
        raise bad("needs 'stem', 'stem_channels' and 'blocks'")
    if arch["stem"] not in STEMS:
        raise bad(f"has an unknown stem '{arch['stem']}' (known: {', '.join(STEMS)})")
    if int(arch["stem_channels"]) < 1:
        raise bad("has no stem channels")
    for i, block in enumerate(arch["blocks"]):
        if block.get("op") not in KERNELS:
            raise bad(f"has an unknown op '{block.get('op')}' in block {i} (known: {', '.join(KERNELS)})")
        if block["op"] != "skip" and (int(block.get("channels", 0)) < 1 or block.get("stride") not in STRIDES):
            raise bad(f"gives block {i} no channels or a stride other than {STRIDES}")
    if time_padding(arch) not in TIME_PADDINGS:
        raise bad(f"has time_padding '{arch['time_padding']}' (known: {', '.join(TIME_PADDINGS)})")
    if input_shape is not None and time_map(arch, int(input_shape[0])) < 1:
        raise UserError(f"The chain architecture leaves no frame of the {int(input_shape[0])}-frame input after its "
                        f"{time_padding(arch)} convolutions over time: use fewer or smaller time kernels, a "
                        "configuration with more frames, or time_padding 'same'.")
    return arch


def to_str(arch: dict) -> str:
    """One line a person reads: 'conv_10x4_s2x2 x64 | dw_3x3 x64 | dw_5x5 x96 /2 | skip' (+ ' (valid in time)' or
    ' (causal in time)')."""
    parts = [f"{arch['stem']} x{arch['stem_channels']}"]
    for b in arch["blocks"]:
        parts.append("skip" if b["op"] == "skip" else f"{b['op']} x{b['channels']}" + (" /2" if b["stride"] == 2 else ""))
    return " | ".join(parts) + (f" ({time_padding(arch)} in time)" if streams(arch) else "")


def from_str(text: str) -> dict:
    """The architecture `to_str` wrote (the line a search's result.json and the benchmarks keep as
    genotype_str); a UserError when `text` is not such a line."""
    line, padding = text.strip(), "same"
    for mode in TIME_PADDINGS:
        if line.endswith(f" ({mode} in time)"):
            line, padding = line[: -len(f" ({mode} in time)")], mode
    def block(words: list[str]) -> dict:
        if words == ["skip"]:
            return {"op": "skip"}
        if len(words) < 2 or words[2:] not in ([], ["/2"]):
            raise ValueError(words)
        return {"op": words[0], "channels": int(words[1].removeprefix("x")), "stride": 2 if words[2:] else 1}

    try:
        stem, *blocks = [part.split() for part in line.split(" | ")]
        if len(stem) != 2:
            raise ValueError(stem)
        arch = {"stem": stem[0], "stem_channels": int(stem[1].removeprefix("x")), "blocks": [block(b) for b in blocks]}
    except ValueError:
        raise UserError(f"'{text}' is not a chain architecture as dadarts writes it "
                        "('conv_10x4_s2x2 x64 | dw_3x3 x64 | dw_5x5 x96 /2 | skip'): copy it from a result.json.") from None
    return validate({**arch, "time_padding": padding} if padding != "same" else arch)


def chain_graph(arch: dict, input_shape: tuple[int, int], num_classes: int) -> NetGraph:
    """The exported int8 graph of dadarts.search.chain.ChainNetwork(arch, input_shape, num_classes)."""
    validate(arch, input_shape)
    g = NetGraph()
    x = g.tensor((int(input_shape[0]), int(input_shape[1]), 1))
    g.inputs.append(x)
    x = stem_layer(g, x, arch["stem"], int(arch["stem_channels"]))
    for block in arch["blocks"]:
        if block["op"] != "skip":
            x = block_layers(g, x, block["op"], int(block["channels"]), int(block["stride"]), time_padding(arch))
    g.outputs.append(g.head(x, num_classes))
    return g
