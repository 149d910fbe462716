"""What valid-in-time (streamable) chain networks cost in accuracy: a smoke figure, one seed, reduced scale.

Three networks on the built-in corpus, each trained with the same short recipe:
  searched        `dadarts search` (cpu preset, under its F446RE budget) at reduced scale, then trained
  searched-valid  the same architecture trained with --time-padding valid (what valid padding alone costs)
  streaming       `dadarts search --streaming` under the same budget and scale, then trained
Reports test accuracy, MACs and the cost model's predicted latency per decision (a whole-window
Invoke: the streaming cost model is issue 24's other half). One seed at reduced scale on 2 shared
cores: a smoke figure, not the issue's 3-seed comparison at full scale.
Prints a table and saves benchmarks/results/streaming.json.

    python benchmarks/bench_streaming.py --out /tmp/bench-streaming
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


def cli(*args: str) -> None:
    cmd = [sys.executable, "-c", "import sys; from dadarts.cli import main; sys.exit(main())", *args]
    print("$ dadarts " + " ".join(args), flush=True)
    subprocess.run(cmd, check=True)


def figures(run: Path) -> dict:
    metrics = json.loads((run / "train" / "metrics.json").read_text())
    result = json.loads((run / "search" / "result.json").read_text())
    from dadarts.costmodel.chain import to_str
    pred = result.get("predicted") or {}
    return {"arch": to_str(result["genotype"]), "config": result["config"], "test_accuracy": metrics["accuracy"],
            "validation_accuracy": metrics["validation_accuracy"], "macs": metrics["macs"],
            "params": metrics["params"], "search_predicted_latency_ms": pred.get("latency_ms")}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="/tmp/bench-streaming", help="scratch run directories (default %(default)s)")
    p.add_argument("--search-epochs", type=int, default=8)
    p.add_argument("--warmup-epochs", type=int, default=2)
    p.add_argument("--max-train", type=int, default=3000, help="search: training clips (0: all)")
    p.add_argument("--train-epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    out = Path(args.out)
    search = ["--epochs", str(args.search_epochs), "--warmup-epochs", str(args.warmup_epochs), "--max-train",
              str(args.max_train), "--seed", str(args.seed), "--quiet"]
    train = ["--epochs", str(args.train_epochs), "--seed", str(args.seed), "--threads", str(args.threads), "--quiet"]
    t0 = time.perf_counter()
    rows = {}
    for name, flags in (("searched", []), ("streaming", ["--streaming"])):
        run = out / name
        shutil.rmtree(run, ignore_errors=True)
        cli("search", "--run", str(run), *flags, *search)
        if name == "searched":
            valid = out / "searched-valid"
            shutil.rmtree(valid, ignore_errors=True)
            shutil.copytree(run, valid)
        cli("train", str(run), *train)
        rows[name] = figures(run)
    cli("train", str(out / "searched-valid"), "--time-padding", "valid", *train)
    rows["searched-valid"] = {**figures(out / "searched-valid"), "time_padding": "valid"}
    order = ("searched", "searched-valid", "streaming")
    print(f"{'network':<16}{'test acc':>10}{'val acc':>10}{'MACs':>12}  architecture")
    for k in order:
        r = rows[k]
        print(f"{k:<16}{r['test_accuracy'] * 100:>9.2f}%{r['validation_accuracy'] * 100:>9.2f}%{r['macs']:>12,}  "
              f"{r['arch']} on {r['config']}")
    result = {"what": "smoke figure: one seed, reduced-scale search and short training, built-in corpus, 2 shared "
                      "CPU cores; not the issue's 3-seed full-scale comparison",
              "settings": vars(args), "networks": {k: rows[k] for k in order},
              "valid_padding_cost_points": round((rows["searched"]["test_accuracy"]
                                                  - rows["searched-valid"]["test_accuracy"]) * 100, 2),
              "streaming_search_vs_search_points": round((rows["streaming"]["test_accuracy"]
                                                         - rows["searched"]["test_accuracy"]) * 100, 2),
              "wall_s": round(time.perf_counter() - t0, 1)}
    path = Path(__file__).resolve().parent / "results" / "streaming.json"
    write_json_atomic(path, result, kind="bench_streaming")
    print(f"valid padding alone: {result['valid_padding_cost_points']:+.2f} points; streaming search vs search: "
          f"{result['streaming_search_vs_search_points']:+.2f} points (test accuracy)\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
