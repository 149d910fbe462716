"""What valid-in-time (streamable) chain networks cost in accuracy: a smoke figure, one seed, reduced scale.

Networks on the built-in corpus, each trained with the same short recipe:
  searched        `dadarts search` (cpu preset, under its F446RE budget) at reduced scale, then trained
  searched-valid  the same architecture trained with --time-padding valid (what valid padding alone costs;
                  refused when its time map vanishes on its configuration, which is recorded)
  streaming       `dadarts search --streaming` under the same budget and scale, then trained
  arch-same / arch-valid   with --arch-run RUN: RUN's searched architecture (e.g. the main job's) trained
                  'same' and 'valid' in time (what valid padding costs that architecture)
Reports test accuracy, MACs and the search's predicted latency per decision (search/result.json; with
--streaming the streaming cost, since the streaming budget landed; benchmarks/results/streaming.json
was measured before, under the whole-window budget). One seed at reduced scale on 2 shared cores: a
smoke figure, not the issue's 3-seed comparison at full scale.
Prints a table and saves benchmarks/results/streaming.json.

    python benchmarks/bench_streaming.py --out /tmp/bench-streaming --arch-run runs/floor
    python benchmarks/bench_streaming.py --search-epochs 8 --max-train 3000 --train-epochs 10
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dadarts.rundir import write_json_atomic


def cli(*args: str) -> str | None:
    """Run a dadarts command; None when it succeeded, else its error sentence."""
    cmd = [sys.executable, "-c", "import sys; from dadarts.cli import main; sys.exit(main())", *args]
    print("$ dadarts " + " ".join(args), flush=True)
    proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    sys.stderr.write(proc.stderr)
    if proc.returncode == 0:
        return None
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("dadarts: error:")]
    if not errors:
        raise SystemExit(f"dadarts {args[0]} failed (exit {proc.returncode})")
    return errors[-1][len("dadarts: error: "):]


def trained(run: Path, keep: bool, *args: str) -> str | None:
    """`dadarts train run *args` unless --keep and its metrics exist."""
    if keep and (run / "train" / "metrics.json").is_file():
        return None
    return cli("train", str(run), *args)


def figures(run: Path) -> dict:
    metrics = json.loads((run / "train" / "metrics.json").read_text())
    result = json.loads((run / "search" / "result.json").read_text())
    from dadarts.costmodel.chain import to_str
    pred = result.get("predicted") or {}
    return {"arch": to_str(result["genotype"]), "config": result["config"], "test_accuracy": metrics["accuracy"],
            "validation_accuracy": metrics["validation_accuracy"], "macs": metrics["macs"],
            "params": metrics["params"], "search_predicted_latency_ms": pred.get("latency_ms")}


def points(rows: dict, a: str, b: str) -> float | None:
    """Test accuracy of a minus b, in points (None when either is missing or refused)."""
    if "test_accuracy" not in rows.get(a, {}) or "test_accuracy" not in rows.get(b, {}):
        return None
    return round((rows[a]["test_accuracy"] - rows[b]["test_accuracy"]) * 100, 2)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/bench-streaming", help="scratch run directories (default %(default)s)")
    p.add_argument("--search-epochs", type=int, default=8)
    p.add_argument("--warmup-epochs", type=int, default=2)
    p.add_argument("--max-train", type=int, default=3000, help="search: training clips (0: all)")
    p.add_argument("--train-epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--arch-run", metavar="RUN", help="also train RUN's searched chain architecture same and valid")
    p.add_argument("--keep", action="store_true", help="reuse searches and trainings already in --out")
    args = p.parse_args()
    out = Path(args.out)
    search = ["--epochs", str(args.search_epochs), "--warmup-epochs", str(args.warmup_epochs), "--max-train",
              str(args.max_train), "--seed", str(args.seed), "--quiet"]
    train = ["--epochs", str(args.train_epochs), "--seed", str(args.seed), "--threads", str(args.threads), "--quiet"]
    t0 = time.perf_counter()
    rows = {}
    def copy_search(src: Path, dst: Path) -> None:
        if not (args.keep and (dst / "search" / "result.json").is_file()):
            shutil.rmtree(dst, ignore_errors=True)
            dst.mkdir(parents=True)
            shutil.copytree(src / "search", dst / "search")
            shutil.copy(src / "run.json", dst / "run.json")

    for name, flags in (("searched", []), ("streaming", ["--streaming"])):
        run = out / name
        if not (args.keep and (run / "search" / "result.json").is_file()):
            shutil.rmtree(run, ignore_errors=True)
            if cli("search", "--run", str(run), *flags, *search):
                raise SystemExit(f"the {name} search failed")
        if name == "searched":
            copy_search(run, out / "searched-valid")
        trained(run, args.keep, *train)
        rows[name] = figures(run)
    pairs = [("searched-valid", "valid")]
    if args.arch_run:
        for name in ("arch-same", "arch-valid"):
            copy_search(Path(args.arch_run), out / name)
        pairs += [("arch-same", "same"), ("arch-valid", "valid")]
    for name, padding in pairs:
        refused = trained(out / name, args.keep, "--time-padding", padding, *train)
        rows[name] = {"time_padding": padding, **({"refused": refused} if refused else figures(out / name))}
    order = [k for k in ("searched", "searched-valid", "streaming", "arch-same", "arch-valid") if k in rows]
    print(f"{'network':<16}{'test acc':>10}{'val acc':>10}{'MACs':>12}  architecture")
    for k in order:
        r = rows[k]
        if "refused" in r:
            print(f"{k:<16}  refused: {r['refused']}")
            continue
        print(f"{k:<16}{r['test_accuracy'] * 100:>9.2f}%{r['validation_accuracy'] * 100:>9.2f}%{r['macs']:>12,}  "
              f"{r['arch']} on {r['config']}")
    result = {"what": "smoke figure: one seed, reduced-scale search and short training, built-in corpus, 2 shared "
                      "CPU cores; not the issue's 3-seed full-scale comparison",
              "settings": vars(args), "networks": {k: rows[k] for k in order},
              "valid_padding_cost_points": {a: points(rows, a, b) for a, b in (("searched", "searched-valid"),
                                                                              ("arch-same", "arch-valid"))
                                            if points(rows, a, b) is not None},
              "streaming_search_vs_search_points": points(rows, "streaming", "searched"),
              "wall_s": round(time.perf_counter() - t0, 1)}
    path = Path(__file__).resolve().parent / "results" / "streaming.json"
    write_json_atomic(path, result, kind="bench_streaming")
    print(f"valid padding costs (test accuracy points, same - valid): {result['valid_padding_cost_points']}; "
          f"streaming search - search: {result['streaming_search_vs_search_points']:+.2f} points\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
