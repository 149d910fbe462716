"""mcu_eval: targets, graph analysis, TFLM arena, kernel paths, memory arithmetic, the genotype estimator."""
from __future__ import annotations

import json

import pytest

from dadarts.errors import UserError
from dadarts.frontend.spec import MfccConfig
from dadarts.costmodel import kernels as cost_model
from dadarts.costmodel import memory
from dadarts.costmodel.graph import Layer, parse_tflite
from dadarts.costmodel.targets import CORES, Target, preset_targets, select_targets


@pytest.fixture(scope="module")
def tiny_tflite() -> bytes:
    """49x40 input: conv 3x3 s2 (8) -> depthwise 3x3 (x1) -> depthwise 3x3 (x2) -> conv 1x1 (8) -> mean -> fc 4."""
    from dadarts.mcu_eval.calibration_models import _moderate_logits, _quiet_tf, to_int8_tflite
    tf = _quiet_tf()
    L = tf.keras.layers
    inp = tf.keras.Input((49, 40, 1), batch_size=1)
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu")(x)
    x = L.Conv2D(8, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    dense = L.Dense(4)
    return to_int8_tflite(_moderate_logits(tf.keras.Model(inp, L.Softmax()(dense(x))), dense))


def test_presets_cover_every_core_with_real_memory_sizes():
    presets = preset_targets()
    assert {t.core for t in presets.values()} == set(CORES)
    assert presets["NUCLEO-L4R5ZI"].clock_mhz == 120 and presets["NUCLEO-L4R5ZI"].sram_kb == 640
    assert not presets["RP2040"].dsp and presets["Alif-E7-HE"].mve
    assert all(t.sram_bytes > 0 and t.flash_bytes > 0 for t in presets.values())


def test_targets_by_name_and_from_a_user_file(tmp_path):
    assert [t.name for t in select_targets(["nrf52840", "RP2040"])] == ["nRF52840", "RP2040"]
    user = tmp_path / "boards.json"
    user.write_text(json.dumps({"targets": {"MyBoard": {"core": "M33", "clock_mhz": 64, "sram_kb": 96,
                                                        "flash_kb": 256}}}))
    chosen = select_targets(None, user)
    assert [t.name for t in chosen] == ["MyBoard"] and chosen[0].dsp and chosen[0].kernels == "cmsis-nn"
    assert select_targets(["myboard", "RP2040"], user, kernels="reference")[1].kernels == "reference"
    with pytest.raises(UserError, match="Unknown target"):
        select_targets(["NoSuchBoard"])
    user.write_text(json.dumps({"targets": {"Bad": {"core": "M3", "clock_mhz": 1, "sram_kb": 1, "flash_kb": 1}}}))
    with pytest.raises(UserError, match="core 'M3'"):
        select_targets(None, user)
    user.write_text(json.dumps({"targets": {"Bad": {"core": "M0+", "dsp": True, "clock_mhz": 1, "sram_kb": 1,
                                                    "flash_kb": 1}}}))
    with pytest.raises(UserError, match="M0\\+"):
        select_targets(None, user)


def test_graph_shapes_and_macs_match_hand_counts(tiny_tflite):
    g = parse_tflite(tiny_tflite)
    ops = [layer.op for layer in g.layers]
    assert ops[:4] == ["CONV_2D", "DEPTHWISE_CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D"]
    conv, dw1, dw2, pw = g.layers[:4]
    assert conv.output_shape == [1, 25, 20, 8] and conv.stride == [2, 2] and conv.kernel == [3, 3]
    assert conv.macs == 25 * 20 * 8 * 3 * 3 * 1
    assert dw1.multiplier == 1 and dw1.macs == 25 * 20 * 8 * 9
    assert dw2.multiplier == 2 and dw2.out_ch == 16 and dw2.macs == 25 * 20 * 16 * 9
    assert pw.kernel == [1, 1] and pw.in_ch == 16 and pw.macs == 25 * 20 * 8 * 16
    fc = [layer for layer in g.layers if layer.op == "FULLY_CONNECTED"][0]
    assert fc.macs == 8 * 4
    assert g.input_shape == [1, 49, 40, 1] and g.input_dtype == "INT8" and g.model_bytes == len(tiny_tflite)
    assert g.total_macs == sum(layer.macs for layer in g.layers)


def test_not_a_tflite_file_is_a_user_error():
    with pytest.raises(UserError, match="not a TFLite flatbuffer"):
        parse_tflite(b"\x00" * 64)


def test_measured_arena_is_the_smallest_that_tflm_accepts(tiny_tflite):
    from tflite_micro.python.tflite_micro import runtime

    from dadarts.costmodel.arena import measure_arena
    m = measure_arena(tiny_tflite)
    assert m.verified and m.total_bytes == m.head_bytes + m.tail_bytes
    # The head holds the activations: at least the two largest tensors alive together (int8).
    assert m.head_bytes >= 25 * 20 * 8 + 25 * 20 * 16
    runtime.Interpreter.from_bytes(tiny_tflite, arena_size=m.total_bytes)
    with pytest.raises(RuntimeError):
        runtime.Interpreter.from_bytes(tiny_tflite, arena_size=m.total_bytes - 256)


def _layer(op, **kw) -> Layer:
    defaults = dict(index=0, input_shape=[1, 10, 10, 8], output_shape=[1, 10, 10, 8], macs=10000, in_elems=800,
                    out_elems=800, kernel=[3, 3], stride=[1, 1], in_ch=8, out_ch=8, multiplier=1, dilation=[1, 1])
    defaults.update(kw)
    return Layer(op=op, **defaults)


def test_kernel_paths_follow_cmsis_nn_conditions():
    dsp = cost_model.CMSIS_DSP
    assert cost_model.kernel_path(_layer("DEPTHWISE_CONV_2D"), dsp) == "dw_3x3"
    assert cost_model.kernel_path(_layer("DEPTHWISE_CONV_2D", kernel=[5, 5]), dsp) == "dw_opt"
    assert cost_model.kernel_path(_layer("DEPTHWISE_CONV_2D"), cost_model.CMSIS_MVE) == "dw_opt"
    mult8 = _layer("DEPTHWISE_CONV_2D", multiplier=8, in_ch=1)
    assert cost_model.kernel_path(mult8, dsp) == "dw_mult4"
    assert cost_model.kernel_path(_layer("DEPTHWISE_CONV_2D", multiplier=2, in_ch=4), dsp) == "dw_generic"
    assert cost_model.kernel_path(_layer("DEPTHWISE_CONV_2D", dilation=[2, 2]), dsp) == "dw_dilated"
    assert cost_model.kernel_path(mult8, cost_model.REFERENCE) == "dw"
    # CMSIS-NN (4ab83cc3) takes its fast 1x1 path for any channel count at stride 1, another 1x1 kernel
    # when strided, and im2col for a 'same' 2x2 or any kxk filter.
    assert cost_model.kernel_path(_layer("CONV_2D", kernel=[1, 1], in_ch=6), dsp) == "conv_1x1"
    assert cost_model.kernel_path(_layer("CONV_2D", kernel=[1, 1], stride=[2, 2], in_ch=64), dsp) == "conv_1x1_strided"
    assert cost_model.kernel_path(_layer("CONV_2D", kernel=[2, 2], stride=[2, 2], padding="same"), dsp) == "conv"
    # Same 3x3 depthwise work: CMSIS-NN's 3x3 kernel < its generic kernel (multiplier 2) < reference.
    work = dict(macs=25 * 5 * 64 * 9, out_elems=25 * 5 * 64, out_ch=64, in_ch=64)
    fast = cost_model.layer_instructions(_layer("DEPTHWISE_CONV_2D", **work), dsp)[1]
    slow = cost_model.layer_instructions(_layer("DEPTHWISE_CONV_2D", multiplier=2, **{**work, "in_ch": 32}), dsp)[1]
    ref = cost_model.layer_instructions(_layer("DEPTHWISE_CONV_2D", **work), cost_model.REFERENCE)[1]
    assert fast < slow < ref
    path, _, modelled = cost_model.layer_instructions(_layer("GATHER"), dsp)
    assert path == "gather" and not modelled


def test_libraries_by_core_and_uncalibrated_cores_say_so():
    presets = preset_targets()
    assert cost_model.library_for(presets["RP2040"]) == cost_model.CMSIS_SCALAR
    assert cost_model.library_for(presets["Alif-E7-HE"]) == cost_model.CMSIS_MVE
    assert cost_model.library_for(presets["NUCLEO-L4R5ZI"].with_kernels("reference")) == cost_model.REFERENCE
    assert cost_model.cycles_per_instr("M4F", cost_model.CMSIS_DSP)[1].startswith("calibrated")
    assert cost_model.cycles_per_instr("M55", cost_model.CMSIS_MVE)[1].startswith("assumed")


def test_memory_terms_add_up_and_frontend_tables_match_the_generator(tiny_tflite):
    from dadarts.frontend.fixed import make_tables
    from dadarts.mcu_eval.estimate import estimate
    config = MfccConfig.parse("640/320/40")
    t = make_tables(config, [0.0] * 40, [1.0] * 40, 0.05, 3)
    table_arrays = sum(a.nbytes for a in (t.window_q31, t.twiddle_cos, t.twiddle_sin, t.bitrev, t.mel_start,
                                          t.mel_length, t.mel_weights, t.dct_q15, t.log2_table, t.norm_mult,
                                          t.norm_shift, t.norm_bias))
    assert memory.frontend_table_bytes(config) == table_arrays + 64
    g = parse_tflite(tiny_tflite)
    small = Target(name="Tiny", core="M4F", clock_mhz=48, sram_kb=16, flash_kb=64, dsp=True, mve=False)
    big = Target(name="Big", core="M4F", clock_mhz=48, sram_kb=256, flash_kb=1024, dsp=True, mve=False)
    est = estimate(g, 12345, config, [small, big])
    for t in est["targets"].values():
        assert t["ram_bytes"] == sum(t["ram_terms"].values())
        assert t["flash_bytes"] == sum(t["flash_terms"].values())
        assert t["ram_terms"]["tflm_arena"] == memory.arena_reserve_bytes(12345) == 14336   # what the firmware reserves
        assert t["ram_terms"]["feature_ring"] == 49 * 40
        assert t["flash_terms"]["model"] == len(tiny_tflite)
        assert t["latency_ms"] == pytest.approx(t["invoke_ms"] + t["frontend_ms_per_frame"])
    assert not est["targets"]["Tiny"]["fits"] and est["targets"]["Tiny"]["ram_margin_bytes"] < 0
    assert est["targets"]["Big"]["fits"] and est["targets"]["Big"]["ram_margin_bytes"] > 0
    # Same core, clock x2: half the time.
    fast = Target(name="Fast", core="M4F", clock_mhz=96, sram_kb=256, flash_kb=1024, dsp=True, mve=False)
    est2 = estimate(g, 12345, config, [fast])
    assert est2["targets"]["Fast"]["invoke_ms"] == pytest.approx(est["targets"]["Big"]["invoke_ms"] / 2)


def test_cmsis_scratch_only_for_paths_that_need_it():
    dsp = cost_model.CMSIS_DSP
    conv = _layer("CONV_2D", kernel=[3, 3], in_ch=16)
    assert memory.cmsis_scratch_bytes([conv], dsp) == 2 * 16 * 9 * 2
    assert memory.cmsis_scratch_bytes([conv], cost_model.REFERENCE) == 0
    assert memory.cmsis_scratch_bytes([_layer("CONV_2D", kernel=[1, 1], in_ch=16)], dsp) == 0


GENOTYPE = {
    "normal": [["sep_conv_3x3", 0], ["skip_connect", 1], ["dil_conv_3x3", 0], ["max_pool_3x3", 2],
               ["avg_pool_3x3", 1], ["sep_conv_5x5", 3], ["skip_connect", 0], ["sep_conv_3x3", 4]],
    "normal_concat": [2, 3, 4, 5],
    "reduce": [["max_pool_3x3", 0], ["sep_conv_3x3", 1], ["skip_connect", 2], ["dil_conv_5x5", 0],
               ["avg_pool_3x3", 1], ["sep_conv_3x3", 3], ["skip_connect", 4], ["max_pool_3x3", 1]],
    "reduce_concat": [2, 3, 4, 5],
}


def test_estimate_from_genotype_grows_with_the_network():
    pytest.importorskip("dadarts.search.network")
    from dadarts.mcu_eval.analytic import estimate_from_genotype
    small = estimate_from_genotype(GENOTYPE, "640/320/40", 12, 4, 3, "NUCLEO-L4R5ZI")
    wide = estimate_from_genotype(GENOTYPE, "640/320/40", 12, 8, 3, "NUCLEO-L4R5ZI")
    deep = estimate_from_genotype(GENOTYPE, "640/320/40", 12, 4, 5, "NUCLEO-L4R5ZI")
    for est in (small, wide, deep):
        assert {"latency_ms", "ram_bytes", "flash_bytes", "fits"} <= set(est)
        assert est["ram_bytes"] == sum(est["ram_terms"].values())
    # Twice the channels: about 4x the MACs, but per-op and per-element costs grow only 2x.
    assert wide["latency_ms"] > 1.5 * small["latency_ms"] and wide["macs"] > 3 * small["macs"]
    assert wide["ram_bytes"] > small["ram_bytes"] and wide["flash_bytes"] > small["flash_bytes"]
    assert deep["latency_ms"] > small["latency_ms"]
    # An M7 at 216 MHz runs the same network faster than an M4F at 120 MHz.
    m7 = estimate_from_genotype(GENOTYPE, "640/320/40", 12, 4, 3, "STM32F746G-DISCO")
    assert m7["invoke_ms"] < small["invoke_ms"]


def test_frontend_cost_prefers_a_measured_count(tmp_path):
    from dadarts.costmodel.frontend_cost import analytic_instructions_per_frame, frontend_instructions_per_frame
    c40, c80, c640 = (MfccConfig.parse(s) for s in ("400/200/40", "400/200/80", "640/320/40"))
    assert analytic_instructions_per_frame(c40) < analytic_instructions_per_frame(c80)
    assert analytic_instructions_per_frame(c40) < analytic_instructions_per_frame(c640)
    run_json = tmp_path / "run.json"
    run_json.write_text(json.dumps({"schema": 1, "kind": "run", "stages": {"firmware_build_qemu_m4": {
        "config": "400/200/40", "instructions_per_frame": 77777, "bit_exact": True}}}))
    missing = tmp_path / "no_firmware.json"
    got = frontend_instructions_per_frame(c40, missing, run_json)
    assert got["instructions"] == 77777 and got["source"].startswith("measured")
    # Without the user's own count: the counts shipped with the cost model, else the analytic count.
    from dadarts.costmodel.frontend_cost import measured_counts
    shipped = frontend_instructions_per_frame(c640, missing, run_json)
    assert shipped["instructions"] == measured_counts()["640/320/40"]["radix2"] and "frontend_counts" in shipped["source"]
    odd = MfccConfig.parse("480/240/40")
    assert odd.name not in measured_counts()
    other = frontend_instructions_per_frame(odd, missing, run_json)
    assert other["source"].startswith("analytic") and other["instructions"] == analytic_instructions_per_frame(odd)


def test_genotype_graph_makes_shared_dilated_convs_dense_like_the_export():
    from dadarts.costmodel.network import searched_graph

    def dilated_kernels(normal):
        genotype = {"normal": normal, "normal_concat": [2, 3, 4, 5],
                    "reduce": [["max_pool_3x3", 0], ["max_pool_3x3", 1]] * 4, "reduce_concat": [2, 3, 4, 5]}
        return sorted({(tuple(layer.kernel), tuple(layer.dilation))
                       for layer in searched_graph("darts", genotype, (49, 40), 12, 4, 3).layers
                       if layer.op == "DEPTHWISE_CONV_2D"})

    alone = [["dil_conv_3x3", 0], ["skip_connect", 1]] + [["skip_connect", 0], ["skip_connect", 1]] * 3
    shared = [["dil_conv_3x3", 0], ["skip_connect", 1], ["dil_conv_3x3", 0], ["skip_connect", 1]] + \
        [["skip_connect", 0], ["skip_connect", 1]] * 2
    assert dilated_kernels(alone) == [((3, 3), (2, 2))]      # kept dilated: CMSIS-NN's generic path
    assert dilated_kernels(shared) == [((5, 5), (1, 1))]     # same ReLU'd input twice: made dense
