"""The streaming cost (dadarts.costmodel.stream): the step graph written down from a chain architecture is
the graph `dadarts export --streaming` writes (operators, shapes, states), so search and mcu-eval price a
network's streaming form exactly as the on-chip check prices its export; and a step costs a fraction of a
whole-window Invoke."""
from __future__ import annotations

import numpy as np
import pytest

from test_stream_step import ARCH, SHAPE, _randomised


@pytest.fixture(scope="module")
def step_export(tmp_path_factory):
    """The tiny valid-in-time chain of test_stream_step exported with --int8 --streaming, 16 frames per step."""
    from dadarts.export.pipeline import ExportInputs, ExportOptions, export_model
    from dadarts.rundir import RunDir
    rng = np.random.default_rng(1)
    inputs = ExportInputs(model=_randomised(ARCH), labels=["_silence_", "_unknown_", "yes", "no", "up"],
                          config="480/160/40/20", x_test=rng.standard_normal((24, *SHAPE)).astype(np.float32),
                          y_test=rng.integers(0, 5, 24), x_calibration=rng.standard_normal((16, *SHAPE)).astype(np.float32),
                          run_name="tiny", source="tests")
    run = RunDir.of(tmp_path_factory.mktemp("step") / "run")
    export_model(inputs, run, ExportOptions(int8=True, calibration_samples=16, tflm_samples=2, streaming=True,
                                            frames_per_step=16), log=lambda *_: None)
    return run


def test_step_graph_of_the_architecture_is_the_exported_step_model(step_export):
    from dadarts.costmodel.chain import chain_graph
    from dadarts.costmodel.graph import parse_tflite
    from dadarts.costmodel.stream import chain_step_cost, step_cost, step_graph
    from dadarts.costmodel.targets import get_target
    from dadarts.rundir import read_json
    run = step_export
    meta = read_json(run.export / "stream_step.json", "stream_step")
    real = parse_tflite(run.export / "model_step_int8.tflite").layers
    g, states = step_graph(ARCH, SHAPE, 5, 16)
    assert states == [s["bytes"] for s in meta["states"]]
    facts = lambda layers: [(x.op, x.in_elems, x.out_elems, x.kernel, x.stride, x.padding) for x in layers]  # noqa: E731
    assert facts(g.layers) == facts(real)
    target = get_target("NUCLEO-F446RE")
    ours, exported = chain_step_cost(ARCH, SHAPE, 5, 16, target), step_cost(real, states, target)
    assert ours.instructions == pytest.approx(exported.instructions, rel=1e-9)
    assert {"CONCATENATION", "STRIDED_SLICE"} <= {layer.op for layer in g.layers}
    assert ours.state_copy_instructions > 2 * 0.5 * sum(states)      # two copies per state, ~0.5 per byte
    # 16 new frames of a 98-frame window: a step is a fraction of the whole-window Invoke.
    from dadarts.costmodel import kernels
    whole = kernels.model_instructions(chain_graph(ARCH, SHAPE, 5).layers, kernels.library_for(target), target.core)
    assert ours.instructions < 0.5 * whole


def test_step_graph_refuses_what_cannot_stream():
    from dadarts.costmodel.stream import step_graph
    from dadarts.errors import UserError
    with pytest.raises(UserError, match="valid or causal in time"):
        step_graph({**ARCH, "time_padding": "same"}, SHAPE, 5, 16)
    with pytest.raises(UserError, match="multiple of the network's time stride 8"):
        step_graph(ARCH, SHAPE, 5, 12)


def test_mcu_eval_streaming_reports_the_step_next_to_the_whole_window(step_export):
    from dadarts.costmodel.stream import chain_step_cost
    from dadarts.costmodel.targets import get_target
    from dadarts.frontend.artifact import write_frontend
    from dadarts.frontend.spec import MfccConfig
    from dadarts.mcu_eval.command import evaluate_run, format_streaming
    run = step_export
    config = MfccConfig.parse("480/160/40/20")
    write_frontend(run.frontend, config, np.zeros(config.n_mfcc), np.ones(config.n_mfcc))
    est = evaluate_run(run.root, ["NUCLEO-F446RE"], streaming=True)
    whole, st = est["targets"]["NUCLEO-F446RE"], est["targets"]["NUCLEO-F446RE"]["streaming"]
    assert st["frames_per_step"] == 16 and st["decision_ms"] == pytest.approx(16 * 10.0)
    assert st["instructions"] == pytest.approx(chain_step_cost(ARCH, SHAPE, 5, 16, get_target("NUCLEO-F446RE")).instructions)
    assert st["step_ms"] < 0.5 * whole["invoke_ms"] and st["duty_cycle"] < st["whole_duty_cycle"]
    assert st["state_bytes"] == est["streaming"]["state_bytes"] > 0
    assert "step/whole" in format_streaming(est)


def test_a_decision_every_hop_exports_and_is_priced_as_written(tmp_path):
    """Time stride 1 (a stem striding 1 over time): `--frames-per-step 1` exports, passes the check, and the
    step graph written from the architecture is the exported one (per-frame averages as the pool state)."""
    from test_stream_step import ARCH_HOP
    from dadarts.costmodel.graph import parse_tflite
    from dadarts.costmodel.stream import step_graph
    from dadarts.export.pipeline import ExportInputs, ExportOptions, export_model
    from dadarts.rundir import RunDir
    shape = (49, 20)
    rng = np.random.default_rng(2)
    inputs = ExportInputs(model=_randomised(ARCH_HOP, shape), labels=["_silence_", "_unknown_", "yes", "no", "up"],
                          config="400/320/40/20", x_test=rng.standard_normal((12, *shape)).astype(np.float32),
                          y_test=rng.integers(0, 5, 12), x_calibration=rng.standard_normal((6, *shape)).astype(np.float32),
                          run_name="hop", source="tests")
    run = RunDir.of(tmp_path / "run")
    report = export_model(inputs, run, ExportOptions(int8=True, calibration_samples=6, tflm_samples=2, streaming=True,
                                                     frames_per_step=1), log=lambda *_: None)["streaming"]
    assert (report["frames_per_step"], report["time_stride"], report["head"]) == (1, 1, "frame_mean")
    assert report["check"]["float"]["relative"] < 1e-5 and report["check"]["tflm"]["max_lsb"] <= 1
    g, states = step_graph(ARCH_HOP, shape, 5, 1)
    assert states == [s["bytes"] for s in report["states"]]
    assert states[-1] == (30 - 1) * 16                  # the pool state: T' - 1 per-frame averages of 16 channels
    facts = lambda layers: [(x.op, x.in_elems, x.out_elems, x.kernel, x.stride) for x in layers]  # noqa: E731
    assert facts(g.layers) == facts(parse_tflite(run.export / "model_step_int8.tflite").layers)
