"""What a trained run gives to judge it: the float PyTorch model with its front-end statistics, the
int8 TFLite model (run batched through LiteRT) and the fixed-point front-end tables of the firmware."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..fdcapture import captured_output
from ..frontend.fixed import FixedTables
from ..frontend.spec import MfccConfig
from ..rundir import RunDir

EXPORT_HINT = "run `dadarts export RUN --int8` first"


class Int8Model:
    """The exported int8 .tflite model on int8 (N, T, F) features, `batch` inputs per Invoke.

    The export writes a batch-1 graph; LiteRT resizes it to a batch when every op allows it (the int8
    kernels compute each input alone, so results equal batch-1 runs, which tests check), and falls
    back to one input per Invoke when it does not. LiteRT's optimised kernels (XNNPACK) round some
    requantisations differently from TFLite Micro, whose reference and CMSIS-NN kernels the device
    runs: their outputs differ from the device's by a few LSB. `exact=True` uses LiteRT's reference
    kernels, which TFLite Micro matches (export checks it), at about 4x the time."""

    def __init__(self, path: str | Path, threads: int = 1, batch: int = 64, exact: bool = False):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        resolver = OpResolverType.BUILTIN_REF if exact else OpResolverType.AUTO
        self.exact = exact
        try:
            self._make = lambda: Interpreter(model_path=str(path), num_threads=threads,
                                             experimental_op_resolver_type=resolver)
            it = self._make()
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"{path} is not a readable TFLite model ({exc}): {EXPORT_HINT}.") from None
        inp, out = it.get_input_details()[0], it.get_output_details()[0]
        if inp["dtype"] != np.int8 or out["dtype"] != np.int8:
            raise UserError(f"{path} is not a full-integer model (int8 input and output): {EXPORT_HINT}.")
        self.input_quant = (float(inp["quantization"][0]), int(inp["quantization"][1]))
        self.output_quant = (float(out["quantization"][0]), int(out["quantization"][1]))
        self.input_shape = tuple(int(v) for v in inp["shape"][1:3])
        self.n_labels = int(np.prod(out["shape"]))
        self._one, self.threads = it, threads
        with captured_output():   # LiteRT announces its XNNPACK delegate on stderr ("INFO: Created ...")
            self._one.allocate_tensors()
        self._batch, self.batch = None, 1
        if batch > 1:
            try:
                b = self._make()
                b.resize_tensor_input(inp["index"], [batch, *self.input_shape, 1])
                with captured_output():
                    b.allocate_tensors()
                if tuple(b.get_output_details()[0]["shape"]) == (batch, self.n_labels):
                    self._batch, self.batch = b, batch
            except (ValueError, RuntimeError):
                pass   # an op with a fixed batch-1 shape: one input per Invoke

    def quantize(self, x: np.ndarray) -> np.ndarray:
        """Normalised float features -> the model's int8 input (as export's accuracy check does)."""
        scale, zp = self.input_quant
        return np.clip(np.round(x / scale) + zp, -128, 127).astype(np.int8)

    def dequantize(self, y: np.ndarray) -> np.ndarray:
        scale, zp = self.output_quant
        return (y.astype(np.float32) - zp) * scale

    @staticmethod
    def _invoke(it, x: np.ndarray) -> np.ndarray:
        it.set_tensor(it.get_input_details()[0]["index"], x[..., None])
        it.invoke()
        return it.get_tensor(it.get_output_details()[0]["index"]).reshape(len(x), -1).copy()

    def __call__(self, xq: np.ndarray) -> np.ndarray:
        """(N, T, F) int8 -> (N, n_labels) int8 raw outputs."""
        xq = np.ascontiguousarray(xq, np.int8)
        out = np.empty((len(xq), self.n_labels), np.int8)
        i = 0
        if self._batch is not None:
            for i in range(0, len(xq) - self.batch + 1, self.batch):
                out[i:i + self.batch] = self._invoke(self._batch, xq[i:i + self.batch])
            i = (len(xq) // self.batch) * self.batch
        for j in range(i, len(xq)):
            out[j] = self._invoke(self._one, xq[j:j + 1])[0]
        return out


@dataclass
class RunModels:
    run: RunDir
    labels: list[str]
    task: str
    config: MfccConfig
    mean: np.ndarray                  # (F,) float32 normalisation of the float path
    std: np.ndarray
    float_model: object               # torch.nn.Module in eval mode
    int8: Int8Model | None            # None when the run has no int8 export
    tables: FixedTables | None        # the firmware front-end's tables for the int8 model's input
    step: object | None = None        # export.step_tflite.StepRunner of export/model_step_int8.tflite (load_step)
    step_meta: dict | None = None     # export/stream_step.json

    @property
    def keywords(self) -> list[str]:
        return [name for name in self.labels if not name.startswith("_")]


def load_run(root: str | Path, need_int8: bool = False, threads: int = 1, exact: bool = False) -> RunModels:
    """Everything `evaluate`, `stream` and `calibrate` read from a run directory."""
    from ..train.models import load_checkpoint, rebuild_model
    from ..frontend.artifact import read_frontend
    from ..frontend.ctables import tables_from_frontend

    run = RunDir.of(root)
    run.require(run.model, run.frontend, hint=f"train it first: dadarts train {run.root}")
    ckpt = load_checkpoint(run.model)
    fe = read_frontend(run.frontend)
    if ckpt.get("config") and MfccConfig.parse(ckpt["config"]) != fe.config:
        raise UserError(f"train/frontend.json describes {fe.config} but the model was trained on {ckpt['config']}: "
                        f"re-run dadarts train.")
    int8 = tables = None
    if run.tflite_int8.is_file():
        int8 = Int8Model(run.tflite_int8, threads=threads, exact=exact)
        if int8.input_shape != fe.config.shape or int8.n_labels != len(ckpt["labels"]):
            raise UserError(f"{run.tflite_int8} takes {int8.input_shape} and gives {int8.n_labels} outputs, but the "
                            f"run's model takes {fe.config.shape} and has {len(ckpt['labels'])} labels: re-run the export.")
        frontend = {"config": fe.config.name, "frontend_version": fe.frontend_version,
                    "mean": fe.mean.tolist(), "std": fe.std.tolist()}
        tables = tables_from_frontend(frontend, *int8.input_quant)
    elif need_int8:
        raise UserError(f"{run.root} has no int8 model ({run.tflite_int8} is missing): {EXPORT_HINT}.")
    return RunModels(run, list(ckpt["labels"]), ckpt.get("task") or "gsc12", fe.config, fe.mean, fe.std,
                     rebuild_model(ckpt), int8, tables)


def load_step(models: RunModels, exact: bool = True) -> RunModels:
    """`models` with the run's int8 step model (dadarts export --int8 --streaming) and its stream_step.json."""
    from ..export.step_export import read_step, step_paths
    from ..export.step_tflite import StepRunner
    meta = read_step(models.run)
    paths = step_paths(models.run)
    step = StepRunner(paths["int8"].read_bytes(), reference_kernels=exact)
    if models.int8 is None or tuple(step.ins[0]["quantization"]) != tuple(models.int8.input_quant):
        raise UserError(f"{paths['int8']} and {models.run.tflite_int8} are not from the same export (their inputs "
                        f"are quantised differently): re-run `dadarts export {models.run.root} --int8 --streaming`.")
    models.step, models.step_meta = step, meta
    return models
