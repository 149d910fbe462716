"""A searched network written down as the int8 TFLite graph its export will be, without building it.

`searched_graph(space, genotype, input_shape, num_classes, channels, layers)` lists the operators
dadarts.export produces for the network dadarts.search.network.SearchedNetwork builds from the same
arguments, in execution order, with the tensors each reads and writes (for the arena planner). The
lowering rules are the export's (dadarts.costmodel.lowering states them; tests compare this graph
with real exports):

- every convolution carries its BatchNorm (folded) and, when a ReLU follows it, the ReLU (fused);
- mcu space: every block is one op with its ReLU fused, no padding op anywhere;
- darts space: a pre-activation ReLU is a RELU op unless its input is a convolution's output (then
  the converter fuses it); a max pool is MIRROR_PAD + MAX_POOL_2D; FactorizedReduce is one 2x2
  stride-2 convolution (after a PAD on odd sizes); a dilated convolution is made dense where the
  export does so (dadarts.costmodel.lowering.dense_dilation);
- a QUANTIZE before a concatenation only for a node that a later node of the cell also reads (the
  export folds the others, lowering.requantised_concat_input);
- the head is MEAN over the map, then FULLY_CONNECTED to the logits (no softmax).

`edge_ops(...)` gives the same layers for one candidate op on one edge, which is what the search's
expected cost weighs by softmax(α).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .layer import Layer
from .lowering import dense_dilation, requantised_concat_input
from .spaces import SPACE_FACTS, SpaceFacts, cell_plans

INT8 = "INT8"
PADDINGS_BYTES = 4 * 2 * 4           # a PAD's paddings tensor: int32 [4, 2]


def same_out(size: int, stride: int) -> int:
    return -(-size // stride)


def valid_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


@dataclass
class Op:
    layer: Layer
    inputs: list[int]                # tensor ids read (activations only)
    output: int                      # tensor id written


@dataclass
class NetGraph:
    """Operators in execution order and the activation tensors between them (element counts, int8)."""
    ops: list[Op] = field(default_factory=list)
    tensors: list[int] = field(default_factory=list)       # elements per tensor id
    shapes: list[tuple[int, int, int]] = field(default_factory=list)
    fused: list[bool] = field(default_factory=list)        # tensor is a conv output a following ReLU fuses into
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    pads: dict[tuple, int] = field(default_factory=dict)   # (tensor, padding) -> padded tensor
    cells: list[dict] = field(default_factory=list)   # per cell: reduction, shapes and fused flags of its states

    @property
    def layers(self) -> list[Layer]:
        return [op.layer for op in self.ops]

    @property
    def op_names(self) -> list[str]:
        names: list[str] = []
        for op in self.ops:
            if op.layer.op not in names:
                names.append(op.layer.op)
        return names

    @property
    def total_macs(self) -> int:
        return sum(op.layer.macs for op in self.ops)

    def tensor(self, shape: tuple[int, int, int], fused: bool = False) -> int:
        self.tensors.append(shape[0] * shape[1] * shape[2])
        self.shapes.append(tuple(int(v) for v in shape))
        self.fused.append(fused)
        return len(self.tensors) - 1

    def add(self, op: str, inputs: list[int], out_shape, fused: bool = False, **kw) -> int:
        in_shape = self.shapes[inputs[0]]
        out = self.tensor(out_shape, fused)
        layer = Layer(index=len(self.ops), op=op, input_shape=[1, *in_shape], output_shape=[1, *out_shape],
                      in_elems=self.tensors[inputs[0]], out_elems=self.tensors[out], dtype=INT8, **kw)
        self.ops.append(Op(layer, list(inputs), out))
        return out

    # -- one method per kind of TFLite operator ------------------------------------------------------
    def conv(self, x: int, c_out: int, kernel: int | tuple[int, int], stride: int | tuple[int, int] = 1,
             padding: str = "same", relu: bool = False) -> int:
        h, w, c_in = self.shapes[x]
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        oh, ow = ((same_out(h, sh), same_out(w, sw)) if padding == "same"
                  else (valid_out(h, kh, sh), valid_out(w, kw, sw)))
        return self.add("CONV_2D", [x], (oh, ow, c_out), fused=not relu, macs=oh * ow * c_out * kh * kw * c_in,
                        kernel=[kh, kw], stride=[sh, sw], padding=padding, in_ch=c_in, out_ch=c_out,
                        dilation=[1, 1], weight_bytes=c_out * kh * kw * c_in + 4 * c_out)

    def _pad(self, x: int, top: int, bottom: int, side: int) -> int:
        """x with `top` / `bottom` zero frames and `side` zero bins on each side: one PAD (its constant: the
        paddings, int32 [4, 2]), shared by the convolutions that pad the same tensor alike (the converter's CSE)."""
        key = (x, (top, bottom, side))
        if key not in self.pads:
            h, w, c = self.shapes[x]
            self.pads[key] = self.add("PAD", [x], (h + top + bottom, w + 2 * side, c), weight_bytes=PADDINGS_BYTES)
        return self.pads[key]

    def depthwise(self, x: int, kernel: int, stride: int = 1, dilation: int = 1, relu: bool = False,
                  time_padding: str = "same") -> int:
        h, w, c = self.shapes[x]
        oh, ow = same_out(h, stride), same_out(w, stride)
        padding = "same"
        p, taps = (kernel - 1) * dilation // 2, (kernel - 1) * dilation + 1
        if time_padding == "causal":
            # k - s zero frames before the map (a stream's reset state) and the frequency padding: one PAD,
            # then a 'valid' convolution; the map keeps h // s frames.
            oh = h // stride
            x, padding = self._pad(x, taps - stride, 0, p), "valid"
        elif time_padding == "valid":
            # No padding over time (the chain's streamable form): TFLite has no SAME for one axis only,
            # so the frequency padding is written out (PAD) and the convolution is 'valid'.
            oh = valid_out(h, taps, stride)
            x, padding = self._pad(x, 0, 0, p), "valid"
        elif stride > 1 and (h % 2 == 0 or w % 2 == 0):
            # PyTorch pads symmetrically; TFLite's SAME does not on even sizes (one row less before the
            # data), so there the converter writes the padding out; on odd sizes both agree and the
            # convolution keeps SAME (mcu cell ops never stride).
            x, padding = self._pad(x, p, p, p), "valid"
        return self.add("DEPTHWISE_CONV_2D", [x], (oh, ow, c), fused=not relu, macs=oh * ow * c * kernel * kernel,
                        kernel=[kernel, kernel], stride=[stride, stride], padding=padding, in_ch=c, out_ch=c,
                        multiplier=1, dilation=[dilation, dilation], weight_bytes=kernel * kernel * c + 4 * c)

    def pool(self, kind: str, x: int, kernel: int, stride: int, padding: str = "same") -> int:
        h, w, c = self.shapes[x]
        oh, ow = ((same_out(h, stride), same_out(w, stride)) if padding == "same"
                  else (valid_out(h, kernel, stride), valid_out(w, kernel, stride)))
        return self.add(kind, [x], (oh, ow, c), kernel=[kernel, kernel], stride=[stride, stride], padding=padding,
                        in_ch=c, out_ch=c)

    def elementwise(self, op: str, inputs: list[int], out_shape=None) -> int:
        return self.add(op, inputs, out_shape or self.shapes[inputs[0]])

    def concat(self, inputs: list[int]) -> int:
        h, w, _ = self.shapes[inputs[0]]
        return self.add("CONCATENATION", inputs, (h, w, sum(self.shapes[i][2] for i in inputs)), axis=3,
                        n_inputs=len(inputs))

    def head(self, x: int, num_classes: int, pool: str = "MEAN") -> int:
        """The global average (MEAN, or one AVERAGE_POOL_2D whose window is the whole map: a streaming step's,
        dadarts.export.step_model) and the FULLY_CONNECTED logits."""
        h, w, c = self.shapes[x]
        if pool == "MEAN":
            pooled = self.add("MEAN", [x], (1, 1, c), weight_bytes=8)
        else:
            pooled = self.add(pool, [x], (1, 1, c), kernel=[h, w], stride=[h, w], padding="valid", in_ch=c, out_ch=c)
        logits = self.add("FULLY_CONNECTED", [pooled], (1, 1, num_classes), macs=c * num_classes, in_ch=c,
                          out_ch=num_classes, weight_bytes=c * num_classes + 4 * num_classes)
        self.ops[-1].layer.output_shape = [1, num_classes]
        return logits


# -- the blocks of each space --------------------------------------------------------------------------

def _relu_in(g: NetGraph, x: int) -> int:
    """darts' pre-activation ReLU: fused into the convolution that produced x, else a RELU op."""
    return x if g.fused[x] else g.elementwise("RELU", [x])


def edge_op(g: NetGraph, space: SpaceFacts, name: str, x: int, stride: int, shared_dilated: bool = False) -> int:
    """The layers of primitive `name` on state x (its width is the cell's); returns the output tensor."""
    h, w, c = g.shapes[x]
    if name == "none":
        # Never in a derived network; the skeleton graph of the search's cost tables uses it: no layers.
        return x if stride == 1 else g.tensor((same_out(h, stride), same_out(w, stride), c))
    if name == "skip_connect" and stride == 1:
        return x
    if space.post_activation:
        if name == "max_pool_3x3":
            return g.pool("MAX_POOL_2D", x, 3, 1)
        if name == "avg_pool_3x3":
            return g.pool("AVERAGE_POOL_2D", x, 3, 1)
        if name == "conv_1x1":
            return g.conv(x, c, 1, relu=True)
        if name.startswith("ds_conv_"):
            k = int(name[len("ds_conv_")])
            for _ in range(2 if name.endswith("_x2") else 1):
                x = g.conv(g.depthwise(x, k, relu=True), c, 1, relu=True)
            return x
        raise ValueError(f"'{name}' is not an op of the mcu space")
    if name == "max_pool_3x3":
        return g.pool("MAX_POOL_2D", g.elementwise("MIRROR_PAD", [x], (h + 2, w + 2, c)), 3, stride, "valid")
    if name == "avg_pool_3x3":
        if stride == 1 or (h % 2 and w % 2):
            return g.pool("AVERAGE_POOL_2D", x, 3, stride)
        odd = g.elementwise("MIRROR_PAD", [x], (h + 1 - h % 2, w + 1 - w % 2, c))
        pooled = g.pool("AVERAGE_POOL_2D", odd, 3, stride)
        return g.elementwise("STRIDED_SLICE", [pooled], (same_out(h, 2), same_out(w, 2), c))
    if name == "skip_connect":
        return factorized_reduce(g, x, c)
    if name.startswith("sep_conv_"):
        k = int(name[len("sep_conv_")])
        x = g.conv(g.depthwise(_relu_in(g, x), k, stride), c, 1, relu=True)
        return g.conv(g.depthwise(x, k), c, 1)
    if name.startswith("dil_conv_"):
        k = int(name[len("dil_conv_")])
        dense = dense_dilation(stride, shared_dilated)
        kernel, dil = ((k - 1) * 2 + 1, 1) if dense else (k, 2)
        return g.conv(g.depthwise(_relu_in(g, x), kernel, stride, dil), c, 1)
    raise ValueError(f"'{name}' is not an op of the darts space")


def factorized_reduce(g: NetGraph, x: int, c_out: int) -> int:
    """darts' FactorizedReduce: ReLU, one 2x2 stride-2 convolution (its zero row/column at the end of an
    odd size is TFLite's SAME padding)."""
    return g.conv(_relu_in(g, x), c_out, 2, 2, "same")


def preprocess(g: NetGraph, space: SpaceFacts, x: int, c_out: int, factor: int) -> int:
    if space.post_activation:
        if factor > 1:
            x = g.pool("AVERAGE_POOL_2D", x, factor, factor, "valid")
        return g.conv(x, c_out, 1, relu=True)
    if factor == 1:
        return g.conv(_relu_in(g, x), c_out, 1)
    return factorized_reduce(g, x, c_out)


def stem(g: NetGraph, space: SpaceFacts, x: int, c_out: int) -> int:
    if space.post_activation:
        return g.conv(x, c_out, 3, 2, "valid", relu=True)
    return g.conv(x, c_out, 3, space.stem_stride)


def skeleton_genotype(steps: int) -> dict:
    """A genotype with 'none' on every edge: its graph is the part of the network no α changes."""
    edges = [["none", j] for node in range(steps) for j in (0, 1)]
    concat = list(range(2, 2 + steps))
    return {"normal": edges, "normal_concat": concat, "reduce": edges, "reduce_concat": concat}


def edge_layers(space: str | SpaceFacts, name: str, shape: tuple[int, int, int], fused: bool, stride: int) -> list[Layer]:
    """The layers of primitive `name` alone on a state of `shape` (fused: a conv output, darts' ReLU fuses)."""
    space = SPACE_FACTS[space] if isinstance(space, str) else space
    g = NetGraph()
    edge_op(g, space, name, g.tensor(shape, fused), stride)
    return g.layers


def _shared_dilated(edges, space: SpaceFacts, reduction: bool) -> set[int]:
    """Edges whose dilated conv shares its input with another dilated conv of the same kind (the export
    makes those dense, see lowering.dense_dilation)."""
    seen: dict[tuple, list[int]] = {}
    for k, (name, index) in enumerate(edges):
        if name.startswith("dil_conv_"):
            seen.setdefault((name, index, space.edge_stride(reduction, index)), []).append(k)
    return {k for ks in seen.values() if len(ks) > 1 for k in ks}


def searched_graph(space: str | SpaceFacts, genotype: dict, input_shape: tuple[int, int], num_classes: int,
                   channels: int, layers: int) -> NetGraph:
    """The exported int8 graph of SearchedNetwork(genotype, input_shape, num_classes, channels, layers, space)."""
    space = SPACE_FACTS[space] if isinstance(space, str) else space
    g = NetGraph()
    x = g.tensor((int(input_shape[0]), int(input_shape[1]), 1))
    g.inputs.append(x)
    steps = len(genotype["normal"]) // 2
    s0 = s1 = stem(g, space, x, space.stem_multiplier * channels)
    plans, _ = cell_plans(layers, space.stem_multiplier * channels, channels, len(genotype["normal_concat"]))
    for plan in plans:
        kind = "reduce" if plan.reduction else "normal"
        edges = [(str(op), int(i)) for op, i in genotype[kind]]
        shared = _shared_dilated(edges, space, plan.reduction)
        f0, f1 = space.input_factors(plan.reduction, plan.reduction_prev)
        states = [preprocess(g, space, s0, plan.c, f0), preprocess(g, space, s1, plan.c, f1)]
        for node in range(steps):
            outs = [edge_op(g, space, name, states[index], space.edge_stride(plan.reduction, index), k in shared)
                    for k, (name, index) in ((k, edges[k]) for k in (2 * node, 2 * node + 1))]
            states.append(g.elementwise("ADD", outs))
        g.cells.append({"reduction": plan.reduction, "shapes": [g.shapes[t] for t in states],
                        "fused": [g.fused[t] for t in states]})
        read_later = {index for _, index in edges}
        concat_in = [g.elementwise("QUANTIZE", [states[i]]) if requantised_concat_input(i, read_later) else states[i]
                     for i in genotype[f"{kind}_concat"]]
        s0, s1 = s1, g.concat(concat_in)
    logits = g.head(s1, num_classes)
    g.outputs.append(logits)
    return g
