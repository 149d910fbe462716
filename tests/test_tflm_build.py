"""The pinned TFLM build (dadarts/firmware/tflm.py): its library holds a kernel for every op the op profiler
registers (and so for every op the cost model prices and the export can register), and the pin is the one
the cost model's data were measured with."""
from __future__ import annotations

import json
import re

from dadarts.export.resolver import INT8_KERNELS, resolver_method
from dadarts.firmware import build, tflm


def test_library_kernels_cover_the_op_profiler_and_the_int8_registrations():
    text = (build.FIRMWARE_DIR / "tools" / "op_profiler" / "op_profiler.cc").read_text()
    profiler = set(re.findall(r"r\.(Add\w+)\(\);", text))
    assert profiler == {resolver_method(op) for op in tflm.KERNEL_OPS}
    assert set(INT8_KERNELS) - {"SVDF"} <= set(tflm.KERNEL_OPS)


def test_the_pin_is_the_commit_the_cost_model_was_measured_with():
    from dadarts.costmodel.fit import DATA_DIR
    builds = json.loads((DATA_DIR / "provenance.json").read_text())
    commits = {v for v in re.findall(r'"tflm_commit": "([0-9a-f]+)"', json.dumps(builds))}
    assert commits and all(tflm.PIN["tflm"].startswith(c) for c in commits)


def test_sources_take_the_optimised_kernels_of_a_cmsis_nn_tree(tmp_path):
    micro = tmp_path / "tensorflow" / "lite" / "micro"
    (micro / "kernels" / "cmsis_nn").mkdir(parents=True)
    (micro / "micro_interpreter.h").write_text("")
    (micro / "micro_interpreter.cc").write_text("")
    (micro / "test_helpers.cc").write_text("")
    stems = {s for stems in tflm.KERNEL_OPS.values() for s in stems} | set(tflm._KERNEL_HELPERS)
    for stem in stems:
        (micro / "kernels" / f"{stem}.cc").write_text("")
    (micro / "kernels" / "cmsis_nn" / "conv.cc").write_text("")
    (micro / "kernels" / "unused_op.cc").write_text("")
    got = {s.relative_to(tmp_path).as_posix(): cls for s, cls in tflm.sources(tmp_path)}
    assert got["tensorflow/lite/micro/kernels/cmsis_nn/conv.cc"] == "kernel"
    assert "tensorflow/lite/micro/kernels/conv.cc" not in got
    assert got["tensorflow/lite/micro/micro_interpreter.cc"] == "core"
    assert not any("test_helpers" in k or "unused_op" in k for k in got)


def test_the_tree_comes_from_the_variable_then_from_the_cache(tmp_path, monkeypatch):
    import tarfile

    import pytest

    from dadarts.errors import UserError
    tree = tmp_path / "src" / "tflm-m4f-cmsis-nn"
    (tree / "tensorflow" / "lite" / "micro").mkdir(parents=True)
    (tree / "tensorflow" / "lite" / "micro" / "micro_interpreter.h").write_text("")
    (tree / "PROVENANCE.txt").write_text(f"commit: {tflm.PIN['tflm']} (a date)\n")
    archive = tmp_path / "tree.tar.xz"
    with tarfile.open(archive, "w:xz") as tar:
        tar.add(tree, arcname=tree.name)
    monkeypatch.setenv("DADARTS_TFLM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DADARTS_TFLM_TREE_M4F", str(tree))
    assert tflm.find_tree("m4f") == tree                         # a folder is used where it is
    monkeypatch.setenv("DADARTS_TFLM_TREE_M4F", str(archive))
    unpacked = tflm.find_tree("m4f")                             # an archive is unpacked into the cache once
    assert unpacked.parent == tmp_path / "cache" and tflm.is_tree(unpacked)
    monkeypatch.delenv("DADARTS_TFLM_TREE_M4F")
    assert tflm.find_tree("m4f", fetch=False) == unpacked        # then found there, by its pinned commit
    monkeypatch.setenv("DADARTS_TFLM_TREE_M4F", str(tmp_path / "src"))
    with pytest.raises(UserError, match="is not a TFLite Micro tree"):
        tflm.find_tree("m4f")
    monkeypatch.delenv("DADARTS_TFLM_TREE_M4F")
    monkeypatch.setenv("DADARTS_TFLM_CACHE", str(tmp_path / "empty"))
    with pytest.raises(UserError, match="No TFLite Micro tree for m4f"):
        tflm.find_tree("m4f", fetch=False)
