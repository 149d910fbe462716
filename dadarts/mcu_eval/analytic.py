"""Estimates without an exported model: from a torch network or a genotype, for the search to use.

`estimate_from_genotype(genotype, config, num_classes, channels, layers, target)` builds the searched
network (dadarts.train.models.build_model("searched", ...)), runs one forward pass with hooks, and
turns every module call into the Layer a TFLite graph would hold after export (convolution with
batch norm folded and a following ReLU fused, depthwise convolution, pooling, the adds and concat of
each cell). The same cost model and memory terms as `dadarts mcu-eval` then give latency, RAM and
flash. What cannot be measured before export is estimated and says so:

- arena = largest set of int8 activations alive at once (a layer's input + output; in a cell its
  two inputs, its node outputs and the concat output) + persistent TFLM data (per-channel
  requantisation and per-op structs), fitted on the DS-CNN arenas measured by tflite-micro;
- model bytes = int8 weights + int32 biases + per-channel quantisation parameters + flatbuffer
  overhead per tensor.

The exported model ends with the logits (the firmware applies the softmax), so no SOFTMAX is added.

A hardware-aware search (`dadarts search --max-latency-ms / --max-ram-kb`) calls this once per
candidate genotype; one call is one forward pass of a batch of one, a few tens of milliseconds.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..frontend.spec import SAMPLE_RATE, MfccConfig
from ..costmodel import kernels as cost_model
from ..costmodel import memory
from ..costmodel.frontend_cost import frontend_instructions_per_frame
from .graph import Graph, Layer
from ..costmodel.targets import Target, get_target

# Persistent arena bytes (host measurement, see arena.py): per conv/fc output channel the int32
# multiplier and shift, per op the node and tensor structs; fitted on ds-cnn-s/m/l within ~5 %.
ARENA_PER_CHANNEL = 8
ARENA_PER_OP = 300
ARENA_FIXED = 256
# Flatbuffer bytes per constant tensor (name, shape, quantisation table) and for the model header.
FLATBUFFER_PER_TENSOR = 150
FLATBUFFER_FIXED = 1024
QUANT_BYTES_PER_CHANNEL = 24     # float scale + int64 zero point, for the weight and the bias tensor


@dataclass
class TorchGraph:
    layers: list[Layer]
    weight_bytes: int          # int8 weights + int32 biases
    quant_channels: int        # output channels with per-channel quantisation
    const_tensors: int
    peak_activation_bytes: int

    def model_bytes(self) -> int:
        return (self.weight_bytes + QUANT_BYTES_PER_CHANNEL * self.quant_channels
                + FLATBUFFER_PER_TENSOR * (self.const_tensors + len(self.layers)) + FLATBUFFER_FIXED)

    def arena_bytes(self) -> int:
        return self.peak_activation_bytes + ARENA_PER_CHANNEL * self.quant_channels + \
            ARENA_PER_OP * len(self.layers) + ARENA_FIXED

    def graph(self) -> Graph:
        names: list[str] = []
        for layer in self.layers:
            if layer.op not in names:
                names.append(layer.op)
        return Graph(layers=self.layers, model_bytes=self.model_bytes(), input_shape=[], input_dtype="INT8",
                     output_shape=[], op_names=names, custom_ops=[])


def _nhwc(shape) -> list[int]:
    s = [int(v) for v in shape]
    return [s[0], s[2], s[3], s[1]] if len(s) == 4 else s


def _numel(shape) -> int:
    n = 1
    for v in shape:
        n *= int(v)
    return n


def trace_torch(model, input_shape) -> TorchGraph:
    """Layers of `model` for a (1, 1, T, F) input, as they will appear in the int8 TFLite graph."""
    import torch
    from torch import nn

    from ..search.network import Cell
    from ..search.operations import FactorizedReduce, MaxPool3x3

    layers: list[Layer] = []
    stats = {"weights": 0, "channels": 0, "tensors": 0, "peak": 0}
    fusable: set[int] = set()        # ids of conv/fc (+BN) outputs a following ReLU fuses into
    relu_source: dict[int, int] = {}  # id of a ReLU output -> id of its input
    dilated: list[tuple[Layer, tuple, int]] = []   # (layer, sharing key, weights per tap)
    keep: list = []                  # hold every seen tensor so that ids stay unique during the pass
    unpadded: dict[int, int] = {}    # id of a ZeroPad2d output -> elements before padding

    def add(op, inp, out, **kw):
        layer = Layer(index=len(layers), op=op, input_shape=_nhwc(inp.shape), output_shape=_nhwc(out.shape),
                      in_elems=inp.numel(), out_elems=out.numel(), **kw)
        layers.append(layer)
        stats["peak"] = max(stats["peak"], unpadded.get(id(inp), inp.numel()) + out.numel())
        return layer

    def conv_hook(m, args, out, kernel=None, stride=None, dilation=(1, 1), c_in=None, c_out=None, groups=None):
        x = args[0]
        kernel = list(kernel or m.kernel_size)
        stride = list(stride or m.stride)
        c_in, c_out = c_in or m.in_channels, c_out or m.out_channels
        groups = groups or m.groups
        out_px = out.shape[0] * out.shape[2] * out.shape[3]
        if groups == 1:
            layer = add("CONV_2D", x, out, macs=out_px * c_out * kernel[0] * kernel[1] * c_in, kernel=kernel,
                        stride=stride, dilation=list(dilation), in_ch=c_in, out_ch=c_out)
        else:
            mult = c_out // groups
            layer = add("DEPTHWISE_CONV_2D" if groups == c_in else "CONV_2D", x, out,
                        macs=out_px * c_out * kernel[0] * kernel[1] * (c_in // groups), kernel=kernel, stride=stride,
                        dilation=list(dilation), in_ch=c_in, out_ch=c_out, multiplier=mult if groups == c_in else 0)
        per_tap = c_out * (c_in // groups)
        stats["weights"] += per_tap * kernel[0] * kernel[1]
        if any(d > 1 for d in dilation):
            padding = tuple(m.padding) if hasattr(m, "padding") else ()
            dilated.append((layer, (relu_source.get(id(x), id(x)), tuple(dilation), padding, tuple(kernel),
                                    tuple(stride)), per_tap))
        stats["weights"] += 4 * c_out
        stats["channels"] += c_out
        stats["tensors"] += 2
        fusable.add(id(out))

    def on_call(m, args, out):
        if not isinstance(out, torch.Tensor):
            return
        x = args[0] if args and isinstance(args[0], torch.Tensor) else out
        keep.extend((x, out))
        if isinstance(m, FactorizedReduce):
            # One fused 2x2 stride-2 convolution in the exported graph (see its docstring), after a
            # PAD where the size is odd.
            if x.shape[-1] % 2 or x.shape[-2] % 2:
                add("PAD", x, x)
            conv_hook(m, (x,), out, kernel=(2, 2), stride=(2, 2), c_in=m.conv_1.in_channels,
                      c_out=2 * m.conv_1.out_channels, groups=1)
        elif isinstance(m, nn.Conv2d):
            conv_hook(m, args, out, dilation=m.dilation)
        elif isinstance(m, nn.Linear):
            add("FULLY_CONNECTED", x, out, macs=out.numel() // out.shape[-1] * m.in_features * m.out_features,
                in_ch=m.in_features, out_ch=m.out_features)
            stats["weights"] += m.in_features * m.out_features + 4 * m.out_features
            stats["channels"] += m.out_features
            stats["tensors"] += 2
            fusable.add(id(out))
        elif isinstance(m, nn.BatchNorm2d):
            if id(x) in fusable:            # folded into the convolution before it
                fusable.add(id(out))
        elif isinstance(m, (nn.ReLU, nn.ReLU6)):
            relu_source[id(out)] = id(x)
            if id(x) not in fusable:
                add("RELU", x, out)
        elif isinstance(m, MaxPool3x3):
            add("MIRROR_PAD", x, x)           # replicate padding exports as MIRROR_PAD
            add("MAX_POOL_2D", x, out, kernel=[3, 3], stride=[m.stride, m.stride], in_ch=x.shape[1],
                out_ch=out.shape[1])
        elif isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
            k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size, m.kernel_size)
            s = m.stride if isinstance(m.stride, tuple) else (m.stride, m.stride)
            add("AVERAGE_POOL_2D" if isinstance(m, nn.AvgPool2d) else "MAX_POOL_2D", x, out, kernel=list(k),
                stride=list(s), in_ch=x.shape[1], out_ch=out.shape[1])
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            add("MEAN", x, out)
        elif isinstance(m, nn.ZeroPad2d):
            # The asymmetric 'SAME' remainder before a convolution: the converter folds it into the
            # convolution's padding, so it costs nothing and holds no buffer.
            unpadded[id(out)] = x.numel()
        elif type(m).__name__ == "ClassifierHead":
            # Its global average pool is a tensor mean, not a module: the MEAN op of the export.
            add("MEAN", x, x.new_empty(1, x.shape[1]))
        elif isinstance(m, Cell):
            s0, s1 = args[0], args[1]
            node_t = out.new_empty(1, out.shape[1] // m.multiplier, *out.shape[2:])
            keep.append(node_t)
            for _ in range(m.steps):
                add("ADD", node_t, node_t)
            # Inputs with different int8 scales are requantised before the concat.
            for _ in range(m.multiplier):
                add("QUANTIZE", node_t, node_t)
            add("CONCATENATION", out, out)
            # A heuristic for the memory planner's peak at the concat: the two preprocessed states,
            # every node, the output, and half of the raw inputs (the next cell still reads one).
            node = node_t.numel()
            live = 2 * node + m.steps * node + out.numel() + (s0.numel() + s1.numel()) // 2
            stats["peak"] = max(stats["peak"], live)

    hooks = [mod.register_forward_hook(on_call) for mod in model.modules()]
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 1, *[int(v) for v in input_shape]))
    finally:
        for h in hooks:
            h.remove()
    # The export makes a dilated convolution dense ((k - 1) * d + 1 taps) when it is strided or shares
    # its ReLU'd input with another dilated convolution of the same shape (dadarts.export.onnx_export.
    # expand_dilations); the others keep their dilation (CMSIS-NN's generic depthwise path).
    shared: dict[tuple, int] = {}
    for _, key, _ in dilated:
        shared[key] = shared.get(key, 0) + 1
    for layer, key, per_tap in dilated:
        if shared[key] > 1 or any(st > 1 for st in layer.stride):
            dense = [(k - 1) * d + 1 for k, d in zip(layer.kernel, layer.dilation)]
            taps_before, taps_after = layer.kernel[0] * layer.kernel[1], dense[0] * dense[1]
            layer.macs = layer.macs // taps_before * taps_after
            stats["weights"] += per_tap * (taps_after - taps_before)
            layer.kernel, layer.dilation = dense, [1, 1]
    # Hooks fire when a module returns, so a cell's ADD/CONCAT land after its ops; order by nothing
    # else matters for the cost, only renumber.
    for i, layer in enumerate(layers):
        layer.index = i
    return TorchGraph(layers=layers, weight_bytes=stats["weights"], quant_channels=stats["channels"],
                      const_tensors=stats["tensors"], peak_activation_bytes=stats["peak"])


def estimate_from_torch(model, config: MfccConfig, target: Target | str, firmware_results=None,
                        input_shape=None) -> dict:
    """latency_ms, ram_bytes, flash_bytes (+ details) of a torch KWS network on one target.

    input_shape: (T, F) the network takes, when it is not the configuration's own feature shape.
    """
    target = get_target(target) if isinstance(target, str) else target
    tg = trace_torch(model, input_shape or config.shape)
    graph = tg.graph()
    library = cost_model.library_for(target)
    costs = cost_model.estimate_layers(graph.layers, target)
    invoke_ms = sum(c.cycles for c in costs) / (target.clock_mhz * 1e3)
    fe = frontend_instructions_per_frame(config, firmware_results)
    fe_ms = fe["instructions"] * cost_model.plain_c_cycles_per_instr(target.core) / (target.clock_mhz * 1e3)
    arena = tg.arena_bytes()
    flash = memory.flash_terms(graph.model_bytes, graph.op_names, config, library)
    ram = memory.ram_terms(arena, graph.layers, config, library)
    flash_bytes, ram_bytes = sum(flash.values()), sum(ram.values())
    latency = invoke_ms + fe_ms
    return {
        "latency_ms": latency, "ram_bytes": ram_bytes, "flash_bytes": flash_bytes,
        "fits": ram_bytes <= target.sram_bytes and flash_bytes <= target.flash_bytes,
        "invoke_ms": invoke_ms, "frontend_ms_per_frame": fe_ms,
        "duty_cycle_every_hop": latency / (config.hop / SAMPLE_RATE * 1e3),
        "macs": graph.total_macs, "model_bytes_estimate": graph.model_bytes, "arena_bytes_estimate": arena,
        "flash_terms": flash, "ram_terms": ram, "target": target.name, "library": library,
    }


def estimate_from_genotype(genotype: dict, config: MfccConfig | str, num_classes: int, channels: int,
                           layers: int, target: Target | str, firmware_results=None) -> dict:
    """Latency/RAM/flash of the searched network `genotype` on `target`, before training or export.

    genotype: the dict of search/result.json (or its Genotype/string form); config: the MFCC
    configuration (the network runs on its native (T, F) shape); channels/layers as for
    build_model("searched", ...). Returns at least latency_ms (one streaming decision: one MFCC frame
    + one Invoke), ram_bytes, flash_bytes and fits.
    """
    from ..train.models import build_model
    config = MfccConfig.parse(config) if isinstance(config, str) else config
    model = build_model("searched", config.shape, num_classes, genotype=genotype, channels=channels, layers=layers)
    return estimate_from_torch(model, config, target, firmware_results)
