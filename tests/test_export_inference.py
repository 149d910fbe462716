"""Export without TensorFlow: the inference model equals the trained one for every primitive and
configuration shape, C arrays round-trip, graph checks catch TRANSPOSE / float ops, and broken run
directories are user errors."""
import numpy as np
import pytest
import torch
from torch import nn

from dadarts.errors import UserError
from dadarts.export.carrays import (MODEL_DATA_CC, MODEL_SETTINGS_H, ModelSettings, model_data_files,
                                    model_settings_file, parse_model_data)
from dadarts.export.resolver import resolver_method
from dadarts.export.inference import build_inference_model, leftover_batchnorms
from dadarts.export.pipeline import ExportOptions, export_run
from dadarts.export.tflite_graph import Op, int8_problems
from dadarts.frontend.spec import DEFAULT_SPACE
from dadarts.rundir import RunDir
from dadarts.search.genotypes import Genotype
from dadarts.search.network import SearchedNetwork
from dadarts.search.operations import OPS
from dadarts.train.models import build_model, load_checkpoint
from tflite_graphs import int8_graph

PRIMITIVES = [name for name in OPS if name != "none"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny convolutions: thread start-up costs more than it saves on a shared 2-core machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
SHAPES = sorted({cfg.shape for cfg in DEFAULT_SPACE})


def randomize_bn(model: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial BN statistics, so that folding mistakes show up in the outputs."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return model.eval()


def single_op_genotype(op: str) -> Genotype:
    """Every edge of both cells is `op`, so its stride-1 and stride-2 forms both appear."""
    edges = [(op, 0), (op, 1), (op, 0), (op, 2)]
    return Genotype(normal=edges, normal_concat=[2, 3], reduce=edges, reduce_concat=[2, 3])


@pytest.mark.parametrize("op", PRIMITIVES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_inference_model_is_exact_for_every_primitive_and_shape(op, shape):
    torch.manual_seed(0)
    net = randomize_bn(SearchedNetwork(single_op_genotype(op), shape, 5, channels=2, layers=3))
    inf = build_inference_model(net)
    assert leftover_batchnorms(inf) == []
    x = torch.randn(2, 1, *shape)
    with torch.no_grad():
        ref, out = net(x), inf(x)
    assert out.shape == ref.shape == (2, 5)
    assert torch.allclose(out, ref, atol=1e-5, rtol=1e-5)


def test_max_pool_is_exact_for_negative_inputs():
    # A 0-padding converter would turn a border maximum of all-negative inputs into 0.
    net = randomize_bn(SearchedNetwork(single_op_genotype("max_pool_3x3"), (49, 40), 3, channels=2, layers=3))
    inf = build_inference_model(net)
    x = -torch.rand(2, 1, 49, 40) - 1.0
    with torch.no_grad():
        assert torch.allclose(inf(x), net(x), atol=1e-5)


@pytest.mark.parametrize("name", ["ds-cnn-s", "mobilenet-v3-small"])
def test_baselines_fold_their_batchnorms(name):
    net = randomize_bn(build_model(name, (49, 10), 12))
    inf = build_inference_model(net)
    assert leftover_batchnorms(inf) == []
    x = torch.randn(2, 1, 49, 10)
    with torch.no_grad():
        assert torch.allclose(inf(x), net(x), atol=1e-4, rtol=1e-4)


def test_training_only_parts_are_off():
    net = SearchedNetwork(single_op_genotype("sep_conv_3x3"), (49, 40), 4, channels=2, layers=3, drop_path_prob=0.5)
    net.train()
    inf = build_inference_model(net)
    assert not inf.training and inf.drop_path_prob == 0.0
    assert all(not p.requires_grad for p in inf.parameters())
    x = torch.randn(2, 1, 49, 40)
    with torch.no_grad():
        assert torch.equal(inf(x), inf(x))          # deterministic: no drop path, no dropout
    assert net.training                            # the trained model itself is untouched


@pytest.mark.parametrize("size", [1, 12, 13, 1000])
def test_c_array_round_trips_to_the_same_bytes(size):
    data = bytes(np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8))
    files = model_data_files(data, settings())
    assert "alignas(16)" in files[MODEL_DATA_CC]
    assert parse_model_data(files[MODEL_DATA_CC]) == data


def test_truncated_c_array_is_detected():
    text = model_data_files(bytes(range(40)), settings())[MODEL_DATA_CC].replace("0x27,", "", 1)
    with pytest.raises(ValueError, match="40"):
        parse_model_data(text)


def settings(**kw) -> ModelSettings:
    base = dict(run_name="r1", source="/runs/r1", input_shape=[1, 49, 40, 1], input_scale=0.05,
                input_zero_point=-3, output_scale=0.1, output_zero_point=7, labels=["yes", 'say "hi"', "_unknown_"],
                config="640/320/40", arena_measured_bytes=100_000, ops=["CONV_2D", "ADD", "FULLY_CONNECTED"])
    return ModelSettings(**{**base, **kw})


def test_model_settings_header_defines_the_contract_macros():
    text = model_settings_file(settings(), int8_graph(settings().ops))
    for macro in ("KWS_MODEL_SOURCE", "KWS_INPUT_FRAMES 49", "KWS_INPUT_FEATURES 40", "KWS_INPUT_SCALE 0.05f",
                  "KWS_INPUT_ZERO_POINT (-3)", "KWS_OUTPUT_SCALE 0.1f", "KWS_OUTPUT_ZERO_POINT (7)",
                  "KWS_NUM_LABELS 3", "KWS_TENSOR_ARENA_SIZE", "KWS_NUM_OPS 3", "KWS_REGISTER_OPS(resolver)"):
        assert f"#define {macro}" in text, macro
    assert '#define KWS_LABELS {"yes", "say \\"hi\\"", "_unknown_"}' in text
    assert "(resolver).AddConv2D(tflite::Register_CONV_2D_INT8());" in text
    assert "(resolver).AddFullyConnected();" in text.split("#define KWS_REGISTER_OPS_GENERIC")[1]
    assert "/runs/r1" in text.splitlines()[1]            # names the run that produced it
    arena = int(next(ln for ln in text.splitlines() if ln.startswith("#define KWS_TENSOR_ARENA_SIZE")).split()[-1])
    assert arena >= 100_000 and arena % 16 == 0
    assert MODEL_SETTINGS_H == "model_settings.h"


def test_resolver_method_names():
    assert [resolver_method(o) for o in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "MIRROR_PAD", "PADV2")] == \
        ["AddConv2D", "AddDepthwiseConv2D", "AddMaxPool2D", "AddMirrorPad", "AddPadV2"]


def test_int8_problems_flags_transpose_and_float_ops():
    q = ("t", "INT8", [1, 4])
    ok = Op(0, "CONV_2D", [q], [q])
    transpose = Op(1, "TRANSPOSE", [q], [("cell/out", "INT8", [1, 4])])
    floaty = Op(2, "ADD", [("a", "FLOAT32", [1]), q], [("cell2/add", "FLOAT32", [1])])
    assert int8_problems([ok]) == []
    problems = int8_problems([ok, transpose, floaty])
    assert len(problems) == 2
    assert "TRANSPOSE" in problems[0] and "cell/out" in problems[0]
    assert "float ADD" in problems[1] and "cell2/add" in problems[1]


def test_missing_run_directory_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        export_run(tmp_path / "nope", ExportOptions(), ["export"])


def test_run_without_training_is_a_user_error(tmp_path):
    (tmp_path / "search").mkdir()
    with pytest.raises(UserError, match="model.pt is missing"):
        export_run(tmp_path, ExportOptions(), ["export"])


def test_int8_options_without_int8_are_user_errors(tmp_path, capsys):
    from dadarts.cli import main
    assert main(["export", str(tmp_path), "--fold-concat", "all"]) == 2
    assert "--fold-concat changes the int8 model: add --int8." in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path), "--int8", "--fold-concat", "some"])


def test_foreign_model_file_is_a_user_error(tmp_path):
    run = RunDir.of(tmp_path)
    run.train.mkdir()
    torch.save({"kind": "search_checkpoint", "alpha": torch.zeros(2)}, run.model)
    with pytest.raises(UserError, match="not a trained model"):
        load_checkpoint(run.model)
    run.model.write_bytes(b"not a checkpoint at all")
    with pytest.raises(UserError, match="not a readable model checkpoint"):
        load_checkpoint(run.model)


@pytest.mark.skipif(__import__("shutil").which("g++") is None, reason="needs a C++ compiler")
def test_generated_c_files_compile_and_register_every_op(tmp_path):
    import subprocess
    from dadarts.export.carrays import write_firmware_files
    from dadarts.export.resolver import INT8_KERNELS
    ops = ["CONV_2D", "DEPTHWISE_CONV_2D", "MIRROR_PAD", "ADD", "MEAN", "FULLY_CONNECTED"]
    data = int8_graph(ops)
    write_firmware_files(tmp_path, data, settings(ops=ops))
    # A stand-in resolver: each method takes the optional registration, as TFLM's does.
    methods = "\n".join(f"  void {resolver_method(op)}(int = 0) {{ added.push_back(\"{op}\"); }}" for op in ops)
    kernels = "\n".join(f"int {INT8_KERNELS[op][1]}() {{ return 1; }}" for op in ops if op in INT8_KERNELS)
    (tmp_path / "main.cc").write_text(f"""
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>
#include "model_data.h"
#include "model_settings.h"
namespace tflite {{
{kernels}
}}
struct Resolver {{
  std::vector<std::string> added;
{methods}
}};
static const char* kLabels[] = KWS_LABELS;
static_assert(sizeof(kLabels) / sizeof(kLabels[0]) == KWS_NUM_LABELS, "labels");
int main() {{
  Resolver resolver;
  KWS_REGISTER_OPS(resolver);
  if ((reinterpret_cast<std::uintptr_t>(g_kws_model_data) % 16) != 0) return 3;
  std::printf("%u %zu %d %d %d\\n", g_kws_model_data_len, resolver.added.size(), KWS_NUM_OPS,
              KWS_INPUT_FRAMES * KWS_INPUT_FEATURES, KWS_TENSOR_ARENA_SIZE);
  return 0;
}}
""")
    exe = tmp_path / "check"
    subprocess.run(["g++", "-std=c++11", "-Wall", "-Werror", "-I", str(tmp_path), str(tmp_path / "main.cc"),
                    str(tmp_path / MODEL_DATA_CC), "-o", str(exe)], check=True, capture_output=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()
    assert out[:4] == [str(len(data)), str(len(ops)), str(len(ops)), str(49 * 40)]
    assert int(out[4]) >= 100_000


def test_float_conversion_error_is_caught():
    from dadarts.export.pipeline import _float_parity_problem
    pt = np.array([[5.0, -2.0]])
    good = {"onnx": {"max_abs_error": 1e-7}, "float": {"max_abs_error": 2e-7}}
    assert _float_parity_problem(good, pt) is None
    bad = {"onnx": {"max_abs_error": 1e-7}, "float": {"max_abs_error": 0.3}}
    assert "float TFLite" in _float_parity_problem(bad, pt)
