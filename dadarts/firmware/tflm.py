"""TensorFlow Lite Micro as a pinned source dependency: find its source tree, unpack it into the cache and
compile the library the firmware links, once per tree and flags.

TFLM is in no package registry. Its own tool, create_tflm_tree.py, turns a tflite-micro checkout into a
self-contained source tree for one target (TFLM + CMSIS-NN, flatbuffers, gemmlowp/ruy headers). The tree
is found, in this order:
  1. DADARTS_TFLM_TREE_M4F / DADARTS_TFLM_TREE_HOST: a folder, or a .tar.xz of one (unpacked once);
  2. a tree of the pinned commit already unpacked in the cache;
  3. where the network allows: a clone of tflite-micro at PIN and create_tflm_tree.py with KINDS' options.
Nothing of it enters the repository. The cache is ~/.cache/dadarts/tflm (DADARTS_TFLM_CACHE overrides).
A library holds TFLM's core, CMSIS-NN and the kernels of the ops asked for (by default every op of
KERNEL_OPS, those the op profiler and the cost model know, so the resolver of any exported model links),
compiled with the optimisation levels of TFLM's Makefile (core -Os, kernels and CMSIS-NN -O2), in
parallel; each object is cached by a hash of the tree, the compiler and the flags, so another op set
compiles only the kernels it adds.

    python -m dadarts.firmware.tflm [--kinds m4f,host] [--ops all|none|CONV_2D,...]   # find, unpack, build, print
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

# The pin: the one place that says which TFLM (and the CMSIS-NN its download script takes) the firmware,
# the op profiler (benchmarks/measure_op_counts.py) and the benchmarks' results are built with.
PIN = {"tflm": "90b983c2b3f1480642e040bbd2ddb37b998f3424", "cmsis_nn": "4ab83cc3cc98fb85ed6dafb55e8ca02f1628dcae"}
TFLM_REPO = "https://github.com/tensorflow/tflite-micro"

# Builtin ops whose kernels the library holds: those of the op profiler's resolver
# (firmware/tools/op_profiler/op_profiler.cc; tests/test_tflm_build.py keeps the two equal), a superset
# of what `dadarts export` can register. op -> kernel file stems under tensorflow/lite/micro/kernels/
# (an optimised tree keeps some in kernels/cmsis_nn/).
KERNEL_OPS = {
    "ADD": ("add", "add_common"), "AVERAGE_POOL_2D": ("pooling", "pooling_common"),
    "BATCH_MATMUL": ("batch_matmul", "batch_matmul_common"), "CONCATENATION": ("concatenation",),
    "CONV_2D": ("conv", "conv_common"), "DEPTHWISE_CONV_2D": ("depthwise_conv", "depthwise_conv_common"),
    "DEQUANTIZE": ("dequantize", "dequantize_common"), "EXPAND_DIMS": ("expand_dims",),
    "FULLY_CONNECTED": ("fully_connected", "fully_connected_common"), "HARD_SWISH": ("hard_swish", "hard_swish_common"),
    "LEAKY_RELU": ("leaky_relu", "leaky_relu_common"), "LOGISTIC": ("logistic", "logistic_common"),
    "MAXIMUM": ("maximum_minimum",), "MAX_POOL_2D": ("pooling", "pooling_common"), "MEAN": ("reduce", "reduce_common"),
    "MINIMUM": ("maximum_minimum",), "MIRROR_PAD": ("mirror_pad",), "MUL": ("mul", "mul_common"), "PACK": ("pack",),
    "PAD": ("pad", "pad_common"), "PADV2": ("pad", "pad_common"), "QUANTIZE": ("quantize", "quantize_common"),
    "REDUCE_MAX": ("reduce", "reduce_common"), "RELU": ("activations", "activations_common"),
    "RELU6": ("activations", "activations_common"), "RESHAPE": ("reshape", "reshape_common"), "SHAPE": ("shape",),
    "SLICE": ("slice",), "SOFTMAX": ("softmax", "softmax_common"), "SPLIT": ("split",), "SPLIT_V": ("split_v",),
    "SQUEEZE": ("squeeze",), "STRIDED_SLICE": ("strided_slice", "strided_slice_common"), "SUB": ("sub", "sub_common"),
    "SUM": ("reduce", "reduce_common"), "TANH": ("tanh",), "TRANSPOSE": ("transpose", "transpose_common"),
    "TRANSPOSE_CONV": ("transpose_conv",), "UNPACK": ("unpack",),
}
_KERNEL_HELPERS = ("kernel_util", "micro_tensor_utils")   # used by the kernels above

_OPT = {"core": "-Os", "kernel": "-O2", "third_party": "-O2"}   # TFLM's Makefile (CORE_/KERNEL_/THIRD_PARTY_...)
_COMMON = ["-DTF_LITE_STATIC_MEMORY", "-DTF_LITE_DISABLE_X86_NEON", "-DKERNELS_OPTIMIZED_FOR_SPEED", "-DNDEBUG",
           "-fno-unwind-tables", "-fno-asynchronous-unwind-tables", "-ffunction-sections", "-fdata-sections",
           "-fmessage-length=0", "-w"]   # -w: third-party code, its warnings are not ours to fix
_CXX = ["-std=c++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics"]


@dataclass(frozen=True)
class Kind:
    """One target a tree is made for: how create_tflm_tree.py made it and how its library is compiled."""
    name: str
    env: str                     # the variable that names a tree or archive
    folder: str                  # the tree's folder name in the cache and inside an archive
    makefile_options: str        # create_tflm_tree.py --makefile_options
    cc: str
    cxx: str
    flags: tuple[str, ...]       # target flags, C and C++
    ar: str


KINDS = {
    "m4f": Kind("m4f", "DADARTS_TFLM_TREE_M4F", "tflm-m4f-cmsis-nn",
                "TARGET=cortex_m_generic TARGET_ARCH=cortex-m4+fp OPTIMIZED_KERNEL_DIR=cmsis_nn TARGET_TOOLCHAIN_ROOT=/usr/bin/",
                "arm-none-eabi-gcc", "arm-none-eabi-g++",
                ("-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb", "-funsigned-char",
                 "-mlittle-endian", "-fomit-frame-pointer", "-DTF_LITE_MCU_DEBUG_LOG", "-DCMSIS_NN",
                 "-DARM_NN_ENABLE_F16=0", "-DARM_NN_ENABLE_F32=0", "-DCPU_M4=1"),
                "arm-none-eabi-ar"),
    "host": Kind("host", "DADARTS_TFLM_TREE_HOST", "tflm-host", "", "gcc", "g++", ("-fPIC",), "ar"),
}


def cache_root() -> Path:
    """~/.cache/dadarts/tflm (DADARTS_TFLM_CACHE overrides). Not under DADARTS_CACHE, which the tests point at
    a throw-away folder: a TFLM library takes minutes to compile and is the same for every run."""
    return Path(os.environ.get("DADARTS_TFLM_CACHE", Path.home() / ".cache" / "dadarts" / "tflm"))


def is_tree(path: Path) -> bool:
    return (Path(path) / "tensorflow" / "lite" / "micro" / "micro_interpreter.h").is_file()


def _digest(paths, root: Path | None = None) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(str(p.relative_to(root) if root else p).encode() + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def _lock(path: Path):
    import fcntl
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "w")
    fcntl.flock(f, fcntl.LOCK_EX)
    return f


def find_tree(kind: str, fetch: bool = True) -> Path:
    """The kind's source tree (see the module's docstring for the order); unpacks or makes it if needed."""
    k = KINDS[kind]
    given = os.environ.get(k.env)
    if given:
        src = Path(given)
        if src.is_dir():
            if not is_tree(src):
                raise UserError(f"{k.env}={given} is not a TFLite Micro tree (no tensorflow/lite/micro/micro_interpreter.h).")
            return src
        if not src.is_file() or not src.name.endswith(".tar.xz"):
            raise UserError(f"{k.env}={given} is neither a TFLM tree folder nor a .tar.xz of one.")
        sha = hashlib.sha256(src.read_bytes()).hexdigest()[:16]
        return _unpack(src, cache_root() / f"{k.folder}-{sha}", k)
    pinned = cache_root() / f"{k.folder}-{PIN['tflm'][:12]}"
    if is_tree(pinned):
        return pinned
    for found in sorted(cache_root().glob(f"{k.folder}-*")) if cache_root().is_dir() else []:
        if is_tree(found) and _tree_commit(found) == PIN["tflm"]:
            return found
    if not fetch:
        raise UserError(f"No TFLite Micro tree for {kind}: set {k.env} to a tree or .tar.xz made by TFLM's "
                        f"create_tflm_tree.py at {PIN['tflm'][:7]}, or run scripts/setup.sh where GitHub is reachable.")
    return _make_tree(k, pinned)


def _tree_commit(tree: Path) -> str | None:
    prov = tree / "PROVENANCE.txt"
    if prov.is_file():
        for line in prov.read_text(errors="replace").splitlines():
            if line.startswith("commit:"):
                return line.split()[1]
    return None


def _unpack(archive: Path, dest: Path, k: Kind) -> Path:
    if is_tree(dest):
        return dest
    with _lock(dest.with_name(dest.name + ".lock")):
        if is_tree(dest):
            return dest
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
            inner = [p for p in Path(tmp).iterdir() if p.is_dir()]
            top = Path(tmp) if is_tree(Path(tmp)) else (inner[0] if len(inner) == 1 else None)
            if top is None or not is_tree(top):
                raise UserError(f"{archive} holds no TFLite Micro tree (no tensorflow/lite/micro/micro_interpreter.h).")
            os.replace(top, dest)
    return dest


def _make_tree(k: Kind, dest: Path) -> Path:
    """A clone of tflite-micro at the pin and TFLM's create_tflm_tree.py (its Makefile downloads the
    third-party code at the commits TFLM's scripts pin). Needs git, make and GitHub."""
    if shutil.which("git") is None or shutil.which("make") is None:
        raise UserError(f"No TFLite Micro tree for {k.name} and no git/make to make one: set {k.env} (docs/firmware.md).")
    with _lock(dest.with_name(dest.name + ".lock")):
        if is_tree(dest):
            return dest
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            src = Path(tmp) / "tflite-micro"
            steps = [["git", "init", "-q", str(src)],
                     ["git", "-C", str(src), "fetch", "-q", "--depth", "1", TFLM_REPO, PIN["tflm"]],
                     ["git", "-C", str(src), "checkout", "-q", "FETCH_HEAD"],
                     [sys.executable, "tensorflow/lite/micro/tools/project_generation/create_tflm_tree.py",
                      *(["--makefile_options", k.makefile_options] if k.makefile_options else []), str(Path(tmp) / "tree")]]
            for step in steps:
                r = subprocess.run(step, cwd=src if step[0] == sys.executable else None, capture_output=True, text=True,
                                   timeout=3600)
                if r.returncode != 0:
                    last = ((r.stderr or r.stdout).strip().splitlines() or ["no output"])[-1]
                    raise UserError(f"Could not make the TFLite Micro tree for {k.name} ({' '.join(step[:3])}: {last}); "
                                    f"set {k.env} to a tree or .tar.xz made by create_tflm_tree.py (docs/firmware.md).")
            (Path(tmp) / "tree" / "PROVENANCE.txt").write_text(
                f"made by dadarts.firmware.tflm\ncommit: {PIN['tflm']}\nmakefile_options: {k.makefile_options}\n")
            os.replace(Path(tmp) / "tree", dest)
    return dest


def sources(tree: Path, ops=None) -> list[tuple[Path, str]]:
    """(file, optimisation class) of what the firmware links: TFLM's core, the kernels of `ops` (default:
    every op of KERNEL_OPS) and their helpers, and every CMSIS-NN source (plain C; the linker keeps the
    functions the kernels call)."""
    tree = Path(tree)
    ops = list(KERNEL_OPS) if ops is None else list(ops)
    unknown = [op for op in ops if op not in KERNEL_OPS]
    if unknown:
        raise UserError(f"The firmware's TFLite Micro build has no kernel for {', '.join(unknown)} "
                        f"(dadarts/firmware/tflm.py KERNEL_OPS lists the ops it builds).")
    micro = tree / "tensorflow" / "lite" / "micro"
    kernels = micro / "kernels"
    out = []
    for f in sorted((tree / "tensorflow").rglob("*.cc")):
        if kernels in f.parents or any(t in f.name for t in ("test", "mock_", "fake_")):
            continue
        out.append((f, "core"))
    stems = dict.fromkeys([*_KERNEL_HELPERS, *(s for op in ops for s in KERNEL_OPS[op])])
    for stem in stems:
        found = [p for p in (kernels / "cmsis_nn" / f"{stem}.cc", kernels / f"{stem}.cc") if p.is_file()]
        if not found:
            raise UserError(f"{tree} has no kernel {stem}.cc: it is not a TFLM tree of {PIN['tflm'][:7]}.")
        out.append((found[0], "kernel"))
    out += [(f, "third_party") for f in sorted((tree / "third_party" / "cmsis_nn" / "Source").rglob("*.c"))]
    return out


def _includes(tree: Path) -> list[str]:
    dirs = [tree, *(tree / "third_party" / d for d in ("flatbuffers/include", "gemmlowp", "ruy", "kissfft", "cmsis",
                                                         "cmsis/CMSIS/Core/Include", "cmsis_nn", "cmsis_nn/Include"))]
    return [f"-I{d}" for d in dirs if d.is_dir()]


def _compile_cmd(k: Kind, tree: Path, src: Path, cls: str, obj: Path) -> list[str]:
    cxx = src.suffix == ".cc"
    cmd = [k.cxx if cxx else k.cc, *k.flags, _OPT[cls], *_COMMON, *(_CXX if cxx else ["-std=c17"]), *_includes(tree)]
    if src.name == "micro_time.cc" and "cortex_m_generic" in src.parts:
        cmd.append("-DPROJECT_GENERATION")   # TFLM's stub timer: the firmware times with the board's own counter
    return [*cmd, "-c", str(src), "-o", str(obj)]


def _compiler_id(k: Kind) -> str:
    r = subprocess.run([k.cxx, "--version"], capture_output=True, text=True)
    return (r.stdout.splitlines() or ["?"])[0]


_RECIPE_VERSION = 1   # raise when _compile_cmd changes in a way its flags do not show


def _objects_key(k: Kind, tree: Path) -> str:
    """What every object of a tree depends on: its sources and headers, the compiler and the flags."""
    files = sorted(p for d in ("tensorflow", "third_party") for p in (tree / d).rglob("*")
                   if p.suffix in (".h", ".hpp", ".inc", ".cc", ".c") and p.is_file())
    recipe = json.dumps([_RECIPE_VERSION, _compiler_id(k), [_compile_cmd(k, Path("T"), Path(f"x.{ext}"), cls, Path("o"))
                                                           for cls in _OPT for ext in ("cc", "c")]])
    return hashlib.sha256((_digest(files, tree) + recipe).encode()).hexdigest()[:16]


def library(kind: str, tree: Path | None = None, ops=None, jobs: int | None = None, log=print) -> Path:
    """libtensorflow-microlite.a for `kind` with the kernels of `ops` (default: all of KERNEL_OPS). Every
    object is compiled once per tree, compiler and flags and kept in the cache, so another op set only
    compiles the kernels it adds; the archive of each op set is kept too."""
    k = KINDS[kind]
    tree = Path(tree) if tree else find_tree(kind)
    for tool in (k.cc, k.cxx, k.ar):
        if shutil.which(tool) is None:
            raise UserError(f"Building TFLite Micro for {kind} needs {tool} (scripts/setup.sh installs it).")
    srcs = sources(tree, ops)
    base = _objects_key(k, tree)
    objdir = cache_root() / "obj" / f"{kind}-{base}"
    names = {s: s.relative_to(tree).as_posix().replace("/", "__") + ".o" for s, _ in srcs}
    key = hashlib.sha256((base + "\n".join(sorted(names.values()))).encode()).hexdigest()[:16]
    out = cache_root() / "lib" / f"{kind}-{key}"
    lib = out / "libtensorflow-microlite.a"
    if lib.is_file():
        return lib
    objdir.mkdir(parents=True, exist_ok=True)
    with _lock(objdir.with_name(objdir.name + ".lock")):
        if lib.is_file():
            return lib
        todo = [(s, c) for s, c in srcs if not (objdir / names[s]).is_file()]
        jobs = jobs or int(os.environ.get("DADARTS_JOBS", min(2, os.cpu_count() or 1)))
        start = time.monotonic()
        if todo:
            log(f"tflm: compiling {len(todo)} of {len(srcs)} sources of {tree} for {kind} ({jobs} jobs) into {objdir}")

        def compile_one(item):
            src, cls = item
            obj = objdir / names[src]
            tmp = obj.with_suffix(".o.tmp")
            r = subprocess.run(_compile_cmd(k, tree, src, cls, tmp), capture_output=True, text=True)
            if r.returncode == 0:
                os.replace(tmp, obj)
            return src, r

        with ThreadPoolExecutor(jobs) as pool:
            failed = [(s, r) for s, r in pool.map(compile_one, todo) if r.returncode != 0]
        if failed:
            src, r = failed[0]
            first = next((l for l in r.stderr.splitlines() if "error" in l), r.stderr.strip()[-300:])
            raise UserError(f"TFLite Micro did not compile for {kind}: {len(failed)} of {len(todo)} sources failed, "
                            f"first {src.relative_to(tree)}: {first}")
        out.mkdir(parents=True, exist_ok=True)
        tmp = out / "libtensorflow-microlite.a.tmp"
        tmp.unlink(missing_ok=True)
        r = subprocess.run([k.ar, "rcs", str(tmp), *(str(objdir / names[s]) for s, _ in srcs)], capture_output=True, text=True)
        if r.returncode != 0:
            raise UserError(f"{k.ar} could not archive the TFLite Micro objects: {r.stderr.strip()}")
        seconds = round(time.monotonic() - start, 1)
        (out / "build.json").write_text(json.dumps({"schema": 1, "kind": "tflm_library", "target": kind,
                                                    "tree": str(tree), "tflm_commit": PIN["tflm"], "ops": "all" if ops is None else list(ops),
                                                    "sources": len(srcs), "compiled": len(todo), "jobs": jobs,
                                                    "seconds": seconds, "compiler": _compiler_id(k)}, indent=2) + "\n")
        os.replace(tmp, lib)
        if todo:
            log(f"tflm: {kind} library built in {seconds:.0f} s: {lib}")
    return lib


def built(kind: str, ops=None) -> tuple[Path, Path] | None:
    """(tree, library with the kernels of `ops`) when a tree can be found without the network (the library
    is built if needed), else None."""
    try:
        tree = find_tree(kind, fetch=False)
    except UserError:
        return None
    return tree, library(kind, tree, ops, log=lambda m: print(m, file=sys.stderr))


def m4f_or_pinned(tree: str | None, lib: str | None) -> tuple[str, str]:
    """`--tflm-root/--tflm-lib` of a benchmark when given, else the project's pinned Cortex-M4F build
    (scripts/setup.sh); one clear sentence when there is neither."""
    if tree:
        if not lib:
            raise UserError("--tflm-root was given without --tflm-lib: give both, or neither for the pinned build.")
        return tree, lib
    pinned = built("m4f")
    if not pinned:
        raise UserError("No TFLite Micro build for the Cortex-M4F: run scripts/setup.sh (it builds the pinned tree), "
                        "or give --tflm-root and --tflm-lib (or DADARTS_TFLM_ROOT_M4 / DADARTS_TFLM_LIB_M4).")
    return str(pinned[0]), str(pinned[1])


def for_model(target: str, tflite: Path) -> tuple[Path, Path]:
    """(tree, library with the kernels of the model's ops) of the pinned build for a board preset: `--tflm`
    of `dadarts firmware build|stream`. The host and the Cortex-M4F boards have a tree."""
    from ..export.tflite_graph import op_names, read_ops
    from .build import board_of
    board = board_of(target)
    kind = "host" if board.toolchain is None else "m4f" if board.toolchain.name == "arm-none-eabi-m4.cmake" else None
    if kind is None:
        raise UserError(f"The pinned TFLite Micro build is for the host and Cortex-M4F boards, not {target}: give "
                        f"--tflm-root and --tflm-lib of a build for its core (docs/firmware.md).")
    tree = find_tree(kind)
    return tree, library(kind, tree, op_names(read_ops(Path(tflite).read_bytes())))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m dadarts.firmware.tflm", description=__doc__.split("\n\n")[0])
    p.add_argument("--kinds", default="m4f,host", help="comma-separated: m4f (Cortex-M4F + CMSIS-NN), host")
    p.add_argument("--ops", default="all", help="'all' (every op of KERNEL_OPS), 'none' (only find and unpack the "
                                                "trees) or comma-separated builtin ops")
    args = p.parse_args(argv)
    ops = None if args.ops == "all" else [] if args.ops == "none" else args.ops.split(",")
    try:
        for kind in args.kinds.split(","):
            if kind not in KINDS:
                raise UserError(f"Unknown TFLM kind '{kind}': use {', '.join(KINDS)}.")
            tree = find_tree(kind)
            print(f"{kind} {tree} {library(kind, tree, ops) if ops != [] else '(not built)'}")
    except UserError as exc:
        print(f"tflm: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
