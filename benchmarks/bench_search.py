"""Search throughput and memory: data-aware preprocess vs zeropad vs one fixed configuration.

Measures training samples per second of full search steps (an architecture step and a weight step,
as in the loop) on random features of the real shapes, with the modes' steps interleaved so that a
load change on a shared machine hits all of them alike; the peak resident memory of each mode (each
in its own process so peaks do not mix); and a profile of one data-aware step.
Prints a table and saves benchmarks/results/search.json.

    python benchmarks/bench_search.py                 # cpu preset sizes (C=8, 5 layers, stem stride 2, batch 64)
    python benchmarks/bench_search.py --steps 3 --threads 1
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

from dadarts.rundir import write_text_atomic

MODES = ("preprocess", "zeropad", "fixed", "preprocess_after_stop")


def build(mode: str, batch: int, preset: str, device: str):
    """A search setup in `mode` and a closure running one full search step on it."""
    import torch
    import torch.nn.functional as F

    from dadarts.frontend.spec import DEFAULT_SPACE, MfccConfig
    from dadarts.search.architect import Architect
    from dadarts.search.model import DataAwareSupernet
    from dadarts.search.settings import PRESETS

    dev = torch.device(device)
    fixed = MfccConfig.parse("640/320/40")  # the smallest shape: what preprocess aligns to
    configs = [fixed] if mode == "fixed" else list(DEFAULT_SPACE)
    settings = PRESETS[preset].replace(batch_size=batch, align="fixed" if mode == "fixed" else mode.split("_")[0])
    torch.manual_seed(0)
    model = DataAwareSupernet([c.shape for c in configs], 12, settings).to(dev)
    arch = Architect(model, settings)
    if mode.endswith("after_stop"):
        model.active.fill_(configs.index(fixed))
        arch.freeze_gamma()
    w_params = model.weight_parameters()
    opt = torch.optim.SGD(w_params, 0.05, momentum=0.9)
    # Features as the loop holds them: each configuration at its native shape, gathered per batch.
    xs = [torch.randn(batch, *c.shape, device=dev) for c in configs]
    y = torch.randint(0, 12, (batch,), device=dev)

    def step():
        needed = model.needs()
        batch_x = [x.float() if d in needed else None for d, x in enumerate(xs)]
        arch.step(F.cross_entropy(model(batch_x), y))
        loss = F.cross_entropy(model(batch_x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward(inputs=w_params)
        opt.step()
    return step


def peak_memory(mode: str, batch: int, preset: str, device: str) -> float:
    """Peak RSS in MB of a fresh process that builds `mode` and runs two steps.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over fork + exec, so a child would
    report its parent's peak.
    """
    step = build(mode, batch, preset, device)
    step()
    step()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status: peak memory needs Linux")


def throughput(steps: int, batch: int, preset: str, device: str) -> dict:
    """Steps of all modes interleaved, so that a load change on a shared machine hits them alike."""
    import time

    import torch
    setups = {mode: build(mode, batch, preset, device) for mode in MODES}
    for step in setups.values():
        step()  # warm-up: allocator, kernels
    times = {mode: [] for mode in MODES}
    for _ in range(steps):
        for mode, step in setups.items():
            t = time.perf_counter()
            step()
            times[mode].append(time.perf_counter() - t)
    out = {}
    for mode, ts in times.items():
        best = min(ts)
        out[mode] = {"step_s_min": round(best, 4), "step_s_median": round(sorted(ts)[len(ts) // 2], 4),
                     "samples_per_s": round(batch / best, 2)}  # w samples per second; each step also takes an arch batch
    with torch.profiler.profile() as prof:
        setups["preprocess"]()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    rows = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:10]
    out["profile_top_ops"] = [{"op": e.key, "self_ms": round(e.self_cpu_time_total / 1000, 2),
                               "share": round(e.self_cpu_time_total / total, 3), "calls": e.count} for e in rows]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--preset", default="cpu", choices=["cpu", "paper"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per measurement (1 on a shared machine)")
    ap.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)  # child process: one mode
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "search.json"))
    args = ap.parse_args()
    import torch
    torch.set_num_threads(args.threads)
    if args.mode:
        print(json.dumps({"peak_rss_mb": peak_memory(args.mode, args.batch, args.preset, args.device)}))
        return 0
    results = throughput(args.steps, args.batch, args.preset, args.device)
    for mode in MODES:
        cmd = [sys.executable, __file__, "--mode", mode, "--batch", str(args.batch),
               "--preset", args.preset, "--device", args.device, "--threads", str(args.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        results[mode].update(json.loads(proc.stdout.strip().splitlines()[-1]))
        r = results[mode]
        print(f"{mode:>22}: {r['samples_per_s']:8.1f} samples/s  step {r['step_s_min']:.3f}s  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    fixed = results["fixed"]["samples_per_s"]
    ratios = {
        "preprocess_vs_fixed_before_stop": round(results["preprocess"]["samples_per_s"] / fixed, 3),
        "zeropad_vs_fixed": round(results["zeropad"]["samples_per_s"] / fixed, 3),
        "preprocess_vs_fixed_after_stop": round(results["preprocess_after_stop"]["samples_per_s"] / fixed, 3),
    }
    for k, v in ratios.items():
        print(f"{k}: {v}")
    print("top ops of one data-aware preprocess step:")
    for row in results["profile_top_ops"]:
        print(f"  {row['op']:<40} {row['self_ms']:8.1f} ms  {100 * row['share']:5.1f} %")
    try:
        load = __import__("os").getloadavg()[0]
    except OSError:
        load = None
    payload = {"benchmark": "search", "preset": args.preset, "batch": args.batch, "steps": args.steps,
               "threads": args.threads, "device": args.device, "machine": platform.processor() or platform.machine(),
               "load_average_1min_at_end": load,
               "note": "random features of the real shapes; one step = arch step + weight step; "
                       "fixed = 640/320/40 (the shape preprocess aligns to); after_stop = winner alone",
               "results": results, "ratios": ratios}
    write_text_atomic(args.out, json.dumps(payload, indent=2) + "\n")
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
