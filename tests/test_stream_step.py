"""The step form of a chain network valid in time: streaming equals the whole-window model (float), and
the architecture / cost model facts it rests on."""
import pytest
import torch

from dadarts.costmodel.chain import chain_graph, time_map, validate
from dadarts.errors import UserError
from dadarts.export.step_model import StepModel, default_frames_per_step, stream_logits
from dadarts.search.chain import ChainNetwork

# Strided stem, a strided dilated block (made dense), a 5x5, a stride-2 3x3: total time stride 8.
ARCH = {"stem": "conv_10x4_s2x1", "stem_channels": 16, "time_padding": "valid", "blocks": [
    {"op": "dw_3x3_d2", "channels": 16, "stride": 2}, {"op": "dw_5x5", "channels": 24, "stride": 1}, {"op": "skip"},
    {"op": "dw_3x3", "channels": 16, "stride": 2}, {"op": "skip"}, {"op": "skip"}]}
SHAPE = (98, 20)
# Time stride 1 (a stem striding 1 over time, blocks at stride 1): one frame per step, a decision every hop.
ARCH_HOP = {"stem": "conv_10x4_s1x2", "stem_channels": 16, "time_padding": "valid", "blocks": [
    {"op": "dw_3x3_d2", "channels": 16, "stride": 1}, {"op": "dw_5x5", "channels": 24, "stride": 1}, {"op": "skip"},
    {"op": "dw_3x3", "channels": 16, "stride": 1}, {"op": "skip"}, {"op": "skip"}]}


def _randomised(arch, shape=SHAPE, classes=5):
    torch.manual_seed(0)
    net = ChainNetwork(arch, shape, classes)
    for m in net.modules():   # non-trivial BN statistics, so that a wrong frame shows
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return net.eval()


@pytest.mark.parametrize("arch,frames_per_step,head", [(ARCH, 8, "frame_mean"), (ARCH, 16, "frame_mean"),
                                                       (ARCH, 40, "frame_mean"), (ARCH, 16, "mean"),
                                                       (ARCH, 8, "average_pool"), (ARCH_HOP, 1, "frame_mean"),
                                                       (ARCH_HOP, 1, "average_pool"), (ARCH_HOP, 1, "mean")])
def test_every_step_equals_the_whole_window_model(arch, frames_per_step, head):
    net = _randomised(arch)
    step = StepModel(net, SHAPE, frames_per_step, head)
    plan = step.plan
    assert plan.time_stride == (8 if arch is ARCH else 1)
    frames = torch.randn(400 if arch is ARCH else 160, SHAPE[1])
    logits = stream_logits(step, frames)
    checked = 0
    for s in range(len(logits)):
        start, end = plan.window_of(s)
        if end > len(frames):
            break
        if s < plan.warmup_steps:
            assert start < 0
            continue
        assert start >= 0
        with torch.no_grad():
            whole = net(frames[start:start + SHAPE[0]][None, None])[0]
        torch.testing.assert_close(logits[s], whole, rtol=1e-5, atol=1e-5 * float(whole.abs().max()))
        checked += 1
    assert checked >= 3
    # Before the warm-up ends the reset state shows: the output differs from any whole window.
    assert plan.warmup_steps >= 1


def test_a_same_padded_network_or_a_wrong_step_is_refused():
    with pytest.raises(UserError, match="pads over time"):
        StepModel(_randomised({**ARCH, "time_padding": "same"}), SHAPE, 8)
    with pytest.raises(UserError, match="multiple of the network's time stride 8"):
        StepModel(_randomised(ARCH), SHAPE, 12)
    assert default_frames_per_step(8, 10.0) == 8 and default_frames_per_step(2, 20.0) == 4    # never past 100 ms
    assert default_frames_per_step(4, 20.0) == 4 and default_frames_per_step(4, 12.5) == 8
    assert default_frames_per_step(8, 20.0) == 8          # at least one stride, even past the period


def test_valid_time_maps_are_shorter_priced_and_checked():
    same, valid = chain_graph({**ARCH, "time_padding": "same"}, SHAPE, 5), chain_graph(ARCH, SHAPE, 5)
    assert valid.total_macs < same.total_macs
    net = ChainNetwork(ARCH, SHAPE, 5)
    with torch.no_grad():
        out = net.features(torch.zeros(1, 1, *SHAPE))
    assert out.shape[2] == time_map(ARCH, SHAPE[0]) == valid.shapes[valid.ops[-3].output][0]
    with pytest.raises(UserError, match="leaves no frame of the 30-frame input"):
        validate(ARCH, (30, 20))
    with pytest.raises(UserError, match="time_padding 'reflect'"):
        validate({**ARCH, "time_padding": "reflect"})


CAUSAL = {**ARCH, "time_padding": "causal"}


@pytest.mark.parametrize("arch,frames_per_step,head", [(ARCH, 8, "frame_mean"), (CAUSAL, 8, "frame_mean"),
                                                       (CAUSAL, 40, "average_pool"), (CAUSAL, 16, "mean"),
                                                       ({**ARCH_HOP, "time_padding": "causal"}, 1, "frame_mean")])
def test_every_step_equals_the_network_over_the_whole_stream(arch, frames_per_step, head):
    """Valid or causal, a stream of steps from the reset computes what one pass over the whole stream computes
    after every layer's k - s zero frames; for a causal network that pass is the network's own forward
    (its paddings are those zeros) on the stream behind the stem's reset frames."""
    from dadarts.costmodel.chain import STEMS
    from dadarts.export.step_model import whole_stream_logits
    net = _randomised(arch)
    step = StepModel(net, SHAPE, frames_per_step, head)
    frames = torch.randn(400 if arch["stem"] == ARCH["stem"] else 160, SHAPE[1])
    logits = stream_logits(step, frames)
    ref = whole_stream_logits(step, frames)
    torch.testing.assert_close(logits, ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))
    batch = whole_stream_logits(step, torch.stack([frames.flip(0), frames]))    # streams of one length at once
    torch.testing.assert_close(batch[1], ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))
    torch.testing.assert_close(batch[0], whole_stream_logits(step, frames.flip(0)), rtol=1e-5, atol=1e-5 * float(ref.abs().max()))
    assert step.plan.causal == (arch["time_padding"] == "causal")
    if not step.plan.causal:
        return
    kt, _, st, _ = STEMS[arch["stem"]]
    with torch.no_grad():
        features = net.features(torch.nn.functional.pad(frames[None, None], (0, 0, kt - st, 0)))
    per_step, T1 = frames_per_step // step.plan.time_stride, step.plan.map_frames
    for s in range(T1 // per_step, len(logits)):          # steps whose average reads no reset frame of the pool
        end = (s + 1) * per_step
        pooled = features[:, :, end - T1:end].mean(dim=(2, 3))
        torch.testing.assert_close(logits[s], net.classifier(pooled)[0], rtol=1e-5, atol=1e-5 * float(ref.abs().max()))


def test_a_causal_network_heard_after_history_computes_what_its_stream_step_does():
    """train --stream-history: ChainNetwork.forward(x, history) is the step whose window is x, when the
    stream before x is the history (the reset lies beyond the window's receptive field)."""
    net = _randomised(CAUSAL)
    step = StepModel(net, SHAPE, 16)
    H = net.history_frames()
    assert H == 96 and H % step.plan.time_stride == 0
    s = next(s for s in range(100) if step.plan.window_of(s)[0] >= 2 * H)
    start, end = step.plan.window_of(s)
    frames = torch.randn(end, SHAPE[1])
    logits = stream_logits(step, frames)
    with torch.no_grad():
        heard = net(frames[start:end][None, None], history=frames[start - H:start][None, None])[0]
        alone = net(frames[start:end][None, None])[0]
    torch.testing.assert_close(heard, logits[s], rtol=1e-5, atol=1e-5 * float(heard.abs().max()))
    assert not torch.allclose(heard, alone, rtol=0, atol=1e-6)      # zero padding is not what the stream hears
    with pytest.raises(UserError, match="Only a causal chain network hears frames before its window"):
        _randomised(ARCH).history_frames()


def test_causal_maps_keep_their_frames_priced_as_built_and_stream_at_the_valid_networks_cost():
    from dadarts.costmodel.chain import causal_out, streams, to_str
    from dadarts.costmodel.stream import chain_step_cost
    from dadarts.costmodel.targets import get_target
    g = chain_graph(CAUSAL, SHAPE, 5)
    with torch.no_grad():
        out = ChainNetwork(CAUSAL, SHAPE, 5).features(torch.zeros(1, 1, *SHAPE))
    # 98 frames -> stem 10 / 2: 45 -> /2: 22 -> 22 -> /2: 11 (each causal layer keeps size // stride)
    assert out.shape[2] == time_map(CAUSAL, SHAPE[0]) == g.shapes[g.ops[-3].output][0] == 11
    assert causal_out(45, 2) == 22 and time_map(ARCH, SHAPE[0]) == 8
    assert [op.op for op in g.layers].count("PAD") == [op.op for op in chain_graph(ARCH, SHAPE, 5).layers].count("PAD")
    assert streams(CAUSAL) and streams(ARCH) and not streams({**ARCH, "time_padding": "same"})
    assert to_str(CAUSAL).endswith("(causal in time)")
    target = get_target("NUCLEO-F446RE")
    causal, valid = (chain_step_cost(a, SHAPE, 5, 16, target) for a in (CAUSAL, ARCH))
    # The same layers on the same new frames; only the average keeps T' - N/S = 9 frames instead of 6.
    assert causal.state_bytes - valid.state_bytes == (9 - 6) * 16
    assert 0 < causal.instructions - valid.instructions < 0.01 * valid.instructions
    with pytest.raises(UserError, match="pads over time after the window"):
        StepModel(_randomised({**ARCH, "time_padding": "same"}), SHAPE, 8)


def test_a_causal_supernet_keeps_its_map_and_derives_a_causal_network():
    from dadarts.search.chain import ChainSupernet
    net = ChainSupernet(5, 1, (49, 40), time_padding="causal")
    with torch.no_grad():
        assert net(torch.randn(2, 1, 49, 40)).shape == (2, 5)
        net.alpha_kernel.zero_()
        net.alpha_kernel[:, 2] = 10.0                                  # dw_5x5 everywhere: valid would vanish
        net.alpha_stride.zero_()
        net.alpha_stride[:, 0] = 10.0
    arch = net.genotype()
    assert arch["time_padding"] == "causal" and [b["op"] for b in arch["blocks"]] == ["dw_5x5"] * 6
    from dadarts.costmodel.chain import stem_out
    assert time_map(arch, 49) == stem_out((49, 40), arch["stem"])[0] >= 20      # stride-1 causal blocks keep every frame


def test_streaming_supernet_derives_a_valid_network_and_runs_on_short_maps():
    from dadarts.search.chain import ChainSupernet
    for shape in ((49, 40), (98, 20)):
        net = ChainSupernet(5, 1, shape, time_padding="valid")
        assert net(torch.randn(2, 1, *shape)).shape == (2, 5)
        assert net.genotype()["time_padding"] == "valid"
    assert "time_padding" not in ChainSupernet(5, 1, (49, 40)).genotype()
    # An argmax whose map would vanish on the shortest input loses its last blocks until it keeps a frame.
    net = ChainSupernet(5, 1, (49, 40), time_padding="valid")
    with torch.no_grad():
        net.alpha_stem.copy_(torch.tensor([10.0, 0, 0, 0]))           # conv_10x4: 49 -> 20 frames
        net.alpha_kernel.zero_()
        net.alpha_kernel[:, 2] = 10.0                                  # dw_5x5 everywhere: 4 frames each
        net.alpha_stride.zero_()
        net.alpha_stride[:, 0] = 10.0
    arch = net.genotype()
    assert [b["op"] for b in arch["blocks"]] == ["dw_5x5"] * 4 + ["skip"] * 2
    assert time_map(arch, 49) == 4 and validate(arch, (49, 40))


def _export(arch, root):
    """A tiny chain exported with --int8 --streaming, 16 frames per step (~15 s)."""
    import numpy as np
    from dadarts.export.pipeline import ExportInputs, ExportOptions, export_model
    from dadarts.rundir import RunDir
    labels = ["_silence_", "_unknown_", "yes", "no", "up"]
    rng = np.random.default_rng(0)
    inputs = ExportInputs(model=_randomised(arch), labels=labels, config="400/160/40/20",
                          x_test=rng.standard_normal((40, *SHAPE)).astype(np.float32), y_test=rng.integers(0, 5, 40),
                          x_calibration=rng.standard_normal((24, *SHAPE)).astype(np.float32), run_name="tiny", source="tests")
    run = RunDir.of(root / "run")
    report = export_model(inputs, run, ExportOptions(int8=True, calibration_samples=24, tflm_samples=4, streaming=True,
                                                    frames_per_step=16), log=lambda *_: None)
    return run, report


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The valid-in-time ARCH exported for streaming."""
    return _export(ARCH, tmp_path_factory.mktemp("stream"))


def test_a_causal_network_exports_a_step_model_equal_to_the_network_over_the_stream(tmp_path):
    from dadarts.costmodel.stream import step_graph
    from dadarts.export.step_tflite import StepRunner
    from dadarts.export.tflite_graph import op_counts, read_ops
    run, report = _export(CAUSAL, tmp_path)
    check = report["streaming"]["check"]
    assert check["float"]["reference"] == "the network over the whole stream" and check["float"]["relative"] < 1e-5
    assert check["tflm"]["max_lsb"] <= 1 and report["streaming"]["map_frames"] == 11
    clips = report["streaming"]["clips"]       # the test clips as the stream decides them, float and int8 step
    assert clips["clips"] == 40 and 0 <= clips["float"] <= 1 and 0 <= clips["int8"] <= 1
    qmodel = (run.export / "model_step_int8.tflite").read_bytes()
    assert len(StepRunner(qmodel).ins) == 6                     # the frames, 4 time convolutions, the average
    # The cost model's step graph is the exported one, operator for operator.
    g, _ = step_graph(CAUSAL, SHAPE, 5, 16)
    expected = {}
    for layer in g.layers:
        expected[layer.op] = expected.get(layer.op, 0) + 1
    assert op_counts(read_ops(qmodel)) == expected


def test_int8_step_export_feeds_states_back_unchanged_and_agrees_with_the_whole_window_model(exported):
    from dadarts.export.step_tflite import StepRunner
    from dadarts.rundir import read_json
    run, report = exported
    meta = read_json(run.export / "stream_step.json", "stream_step")
    assert meta["frames_per_step"] == 16 and meta["time_stride"] == 8
    assert "clips" not in report["streaming"]          # a valid network's step decides each window alone
    runner = StepRunner((run.export / "model_step_int8.tflite").read_bytes())
    assert list(runner.ins[0]["shape"]) == [1, 16, SHAPE[1], 1] and list(runner.outs[0]["shape"]) == [1, 5]
    assert tuple(runner.ins[0]["quantization"]) == (report["input"]["scale"], report["input"]["zero_point"])
    assert len(meta["states"]) == len(runner.ins) - 1 == len(runner.outs) - 1 == 5
    for s in meta["states"]:
        i, o = runner.ins[s["input_index"]], runner.outs[s["output_index"]]
        assert list(i["shape"]) == list(o["shape"]) == s["shape"]
        assert tuple(i["quantization"]) == tuple(o["quantization"]) == (s["scale"], s["zero_point"])
    check = report["streaming"]["check"]
    assert check["steps"] >= 100 and check["float"]["relative"] < 1e-5
    assert check["tflm"]["steps"] == 64 and check["tflm"]["max_lsb"] <= 1
    assert check["int8"]["top1_agreement"] >= 0.9
    assert check["int8"]["max_abs_logit_diff"] < 0.2 * check["int8"]["max_abs_logit"]
    header = (run.firmware / "model_settings.h").read_text()
    for line in ("#define KWS_STREAMING 1", "#define KWS_STEP_FRAMES 16", "#define KWS_NUM_STATES 5",
                 "#define KWS_STATE_INPUTS {1, 2, 3, 4, 5}", "#define KWS_INPUT_FRAMES 16",
                 f"#define KWS_WARMUP_STEPS {meta['warmup_steps']}"):
        assert line in header
    assert "#define KWS_INFERENCE_EVERY_HOPS 16" in (run.firmware / "recognizer_settings.h").read_text()


def test_step_runner_resumes_from_its_states_and_the_twin_decides_once_per_step(exported):
    import numpy as np
    from dadarts.evaluate.streaming import step_schedule
    from dadarts.export.step_tflite import StepRunner
    run, _ = exported
    runner = StepRunner((run.export / "model_step_int8.tflite").read_bytes())
    frames = np.random.default_rng(1).integers(-128, 128, (16 * 12 + 5, SHAPE[1])).astype(np.int8)
    whole, _ = runner.run(frames)
    first, states = runner.run(frames[:16 * 5])
    rest, _ = runner.run(frames[16 * 5:], states)
    assert len(whole) == 12 and np.array_equal(whole, np.concatenate([first, rest]))
    # 400/160: frame f arrives with sample f * 160 + 400; steps 0..W-1 are no decision.
    steps, times = step_schedule(16 * 12 + 5, 16, 3, 400, 160)
    assert list(steps) == list(range(3, 12))
    assert times[0] == (63 * 160 + 400) * 1000 // 16000 and np.all(np.diff(times) == 160)


def test_a_stem_striding_1_over_time_is_priced_built_and_searched_only_when_asked():
    from dadarts.costmodel import kernels
    from dadarts.costmodel.chain import SEARCH_STEMS, STEMS, time_stride
    from dadarts.costmodel.stream import chain_step_cost
    from dadarts.costmodel.targets import get_target
    from dadarts.search.chain import ChainSupernet
    assert SEARCH_STEMS == ("conv_10x4_s2x2", "conv_10x4_s2x1", "conv_3x3_s2x2", "conv_5x5_s2x2")
    assert STEMS["conv_10x4_s1x2"] == (10, 4, 1, 2) and time_stride(ARCH_HOP) == 1
    g = chain_graph(ARCH_HOP, SHAPE, 5)
    stem = g.layers[0]
    assert (stem.op, stem.kernel, stem.stride, stem.output_shape) == ("CONV_2D", [10, 4], [1, 2], [1, 89, 9, 16])
    with torch.no_grad():
        assert ChainNetwork(ARCH_HOP, SHAPE, 5).features[:1](torch.zeros(1, 1, *SHAPE)).shape == (1, 16, 89, 9)
    target = get_target("NUCLEO-F446RE")
    whole = kernels.model_instructions(g.layers, kernels.library_for(target), target.core)
    pool, frame, mean = (chain_step_cost(ARCH_HOP, SHAPE, 5, 1, target, head)
                         for head in ("average_pool", "frame_mean", "mean"))
    # One frame per step: the average pool keeps eight steps (a decision every hop of 100 ms at a 12.5 ms hop)
    # far under one whole Invoke; MEAN re-averages the whole final map every step and costs several times more;
    # per-frame averages make MEAN's map and the state F' (here 9) times smaller.
    assert 8 * pool.instructions < 0.5 * whole and mean.instructions > 3 * pool.instructions
    assert pool.instructions < frame.instructions < mean.instructions
    assert mean.state_bytes - frame.state_bytes == 78 * (9 - 1) * 16        # T' - 1 frames x (F' - 1) x C
    # The search's supernet offers the stride-1 stems only when asked, and then derives one.
    assert ChainSupernet(5, 1, SHAPE).stem_names == SEARCH_STEMS
    net = ChainSupernet(5, 1, SHAPE, time_padding="valid", stems=tuple(STEMS))
    assert net(torch.randn(2, 1, *SHAPE)).shape == (2, 5)
    with torch.no_grad():
        net.alpha_stem.zero_()
        net.alpha_stem[list(STEMS).index("conv_3x3_s1x2")] = 10.0
    assert net.genotype()["stem"] == "conv_3x3_s1x2"


def test_train_scores_a_stream_history_run_as_evaluate_streams_it():
    """train --stream-history's test figure (each clip after the end of the clip before it, heard_before) is
    what `dadarts evaluate`, the step export and bench_causal_history stream: the step deciding each clip's
    window after the clips before it, in the same order (streamed_clips)."""
    from dadarts.export.streamed_clips import streamed_logits
    from dadarts.train.loop import heard_before
    net = _randomised(CAUSAL).eval()
    x = torch.randn(7, *SHAPE)
    ref = torch.from_numpy(streamed_logits(StepModel(net, SHAPE, 16), x.numpy())["streamed_float"])
    with torch.no_grad():
        got = net(x[:, None], history=heard_before(x, net.history_frames())[:, None])
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5 * float(ref.abs().max()))
