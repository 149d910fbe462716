"""Read an int8 .tflite flatbuffer into a list of layers with the facts a cost model needs.

For every operator: its builtin name, input/output shapes, kernel size, stride, padding, channel
counts, depthwise channel multiplier, multiply-accumulates (MACs) and element counts. Which
CMSIS-NN kernel a layer will take depends on these shapes (and on the target), so this module only
records shapes; `dadarts.costmodel.kernels` decides the path. Parsing uses the flatbuffer schema that ships with
the tflite-micro wheel, so no TensorFlow import is needed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..tflite_schema import tflite_schema
from .layer import Layer


@dataclass
class Graph:
    layers: list[Layer]
    model_bytes: int
    input_shape: list[int]
    input_dtype: str
    output_shape: list[int]
    op_names: list[str]              # distinct builtin ops in first-use order
    custom_ops: list[str]

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def to_dict(self) -> dict:
        return {"model_bytes": self.model_bytes, "input_shape": self.input_shape, "input_dtype": self.input_dtype,
                "output_shape": self.output_shape, "ops": self.op_names, "custom_ops": self.custom_ops,
                "total_macs": self.total_macs, "layers": [layer.to_dict() for layer in self.layers]}


def _prod(xs) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


def _buffer_bytes(model, tensor) -> int:
    buf = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
    if buf is None:
        return 0
    if buf.data is not None:
        return len(buf.data)
    return int(getattr(buf, "size", 0) or 0)


def parse_tflite(data: bytes | str | Path) -> Graph:
    """Parse a .tflite model (bytes or a path) into a Graph of its first subgraph."""
    if not isinstance(data, (bytes, bytearray)):
        path = Path(data)
        if not path.is_file():
            raise UserError(f"{path} does not exist: export the model first (dadarts export RUN).")
        data = path.read_bytes()
    schema, names, types = tflite_schema()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UserError("The model file is not a TFLite flatbuffer (no TFL3 identifier): re-run the export.")
    try:
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(bytearray(data), 0))
    except Exception as exc:  # flatbuffers raises assorted errors on corrupt input
        raise UserError(f"The TFLite model could not be parsed ({exc}): re-run the export.") from None
    if not model.subgraphs:
        raise UserError("The TFLite model has no subgraph: re-run the export.")
    g = model.subgraphs[0]
    tensors = g.tensors

    def shape(i: int) -> list[int]:
        return [int(x) for x in tensors[i].shape] if i >= 0 and tensors[i].shape is not None else []

    layers: list[Layer] = []
    op_names: list[str] = []
    custom: list[str] = []
    for idx, op in enumerate(g.operators or []):
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
        name = names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            cname = code.customCode.decode() if isinstance(code.customCode, bytes) else str(code.customCode)
            name = f"CUSTOM:{cname}"
            if cname not in custom:
                custom.append(cname)
        if name not in op_names:
            op_names.append(name)
        ins = [i for i in (op.inputs if op.inputs is not None else []) if i >= 0]
        outs = [i for i in (op.outputs if op.outputs is not None else []) if i >= 0]
        in_shape = shape(ins[0]) if ins else []
        out_shape = shape(outs[0]) if outs else []
        layer = Layer(index=idx, op=name, input_shape=in_shape, output_shape=out_shape,
                      in_elems=_prod(in_shape) if in_shape else 0, out_elems=_prod(out_shape) if out_shape else 0,
                      dtype=types.get(int(tensors[ins[0]].type), "?") if ins else "",
                      weight_bytes=sum(_buffer_bytes(model, tensors[i]) for i in ins[1:]))
        opts = op.builtinOptions
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D") and len(ins) >= 2:
            w = shape(ins[1])                       # conv: [oc, kh, kw, ic]; depthwise: [1, kh, kw, oc]
            layer.kernel = [w[1], w[2]]
            layer.stride = [int(opts.strideH), int(opts.strideW)] if opts else [1, 1]
            layer.dilation = [int(opts.dilationHFactor), int(opts.dilationWFactor)] if opts else [1, 1]
            layer.padding = ("same" if opts.padding == schema.Padding.SAME else "valid") if opts else "same"
            layer.in_ch = in_shape[-1] if in_shape else 0
            layer.out_ch = out_shape[-1] if out_shape else 0
            out_px = _prod(out_shape[:-1]) if out_shape else 0
            if name == "CONV_2D":
                layer.macs = out_px * layer.out_ch * w[1] * w[2] * w[3]
            else:
                layer.multiplier = layer.out_ch // max(layer.in_ch, 1)
                layer.macs = out_px * layer.out_ch * w[1] * w[2]
        elif name == "FULLY_CONNECTED" and len(ins) >= 2:
            w = shape(ins[1])                       # [units, depth]
            layer.in_ch, layer.out_ch = w[1], w[0]
            batches = max(layer.in_elems // max(w[1], 1), 1)
            layer.macs = batches * w[0] * w[1]
        elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D") and opts is not None:
            layer.kernel = [int(opts.filterHeight), int(opts.filterWidth)]
            layer.stride = [int(opts.strideH), int(opts.strideW)]
            layer.padding = "same" if opts.padding == schema.Padding.SAME else "valid"
            layer.in_ch = layer.out_ch = in_shape[-1] if in_shape else 0
        elif name == "CONCATENATION" and opts is not None:
            layer.axis = int(opts.axis) % max(len(out_shape), 1)
            layer.n_inputs = len(ins)
        elif name == "BATCH_MATMUL" and len(ins) >= 2:
            a, b = shape(ins[0]), shape(ins[1])
            if a and b:
                layer.macs = _prod(out_shape) * a[-1]
        layers.append(layer)

    inp, outp = g.inputs[0], g.outputs[0]
    return Graph(layers=layers, model_bytes=len(data), input_shape=shape(inp),
                 input_dtype=types.get(int(tensors[inp].type), "?"), output_shape=shape(outp),
                 op_names=op_names, custom_ops=custom)
