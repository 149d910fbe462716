"""Is on-the-fly augmentation cheap beside training? Clips per second of the augmenter and of training steps.

Training draws new recording conditions for every example at every epoch (dadarts/data/conditions.py).
That must not make training wait on the augmenter: this measures, on the same thread count, clips/s of
  - the conditions alone (time shift, room, microphone, noise at an SNR, level) on dry clips;
  - the MFCC alone (what training computed per batch before, too);
  - the whole augmenter (conditions, 16-bit rounding, MFCC, normalisation, SpecAugment masks);
  - redrawing the room bank (once per epoch);
  - a training step (forward, backward, optimiser) of DS-CNN-S and of the default searched network
    (benchmarks/results/generalisation_search.json), on features of the same batch size.

    OMP_NUM_THREADS=1 python benchmarks/bench_augment.py --threads 1

Results go to benchmarks/results/augment_throughput.json.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from bench_generalisation import DEFAULT_SEARCH, searched_model  # noqa: E402

from dadarts.data.conditions import Conditions  # noqa: E402
from dadarts.frontend.mfcc import Mfcc  # noqa: E402
from dadarts.frontend.spec import CLIP_SAMPLES, MfccConfig  # noqa: E402
from dadarts.rundir import versions, write_json_atomic  # noqa: E402
from dadarts.train.augment import AugmentedFeatures, AugmentSettings  # noqa: E402
from dadarts.train.models import build_model  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "augment_throughput.json"


def rate(fn, clips: int, seconds: float) -> float:
    fn()   # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += clips
    return n / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seconds", type=float, default=8.0, help="time per measurement")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    b = args.batch_size
    rng = np.random.default_rng(0)
    dry = np.zeros((b, CLIP_SAMPLES), np.int16)
    for row in dry:   # a word-like burst somewhere in the second, silence around it (dry speech)
        start = rng.integers(0, CLIP_SAMPLES // 2)
        row[start:start + 7000] = (8000 * rng.standard_normal(7000) * np.hanning(7000)).astype(np.int16)
    audio = torch.from_numpy(dry)
    noise = [rng.standard_normal(30 * 16000).astype(np.float32) for _ in range(8)]
    settings = AugmentSettings()
    gen = torch.Generator().manual_seed(0)
    speech = torch.ones(b, dtype=torch.bool)
    out: dict = {"threads": args.threads, "batch_size": b, "settings": settings.__dict__}

    conditions = Conditions(settings.conditions(), noise, seed=0)
    out["conditions_clips_per_s"] = rate(lambda: conditions(audio.float() / 32768, gen, speech), b, args.seconds)
    start = time.perf_counter()
    conditions.refresh(1)
    out["room_bank_redraw_s"] = time.perf_counter() - start
    out["rooms_per_bank"] = conditions.settings.rooms

    for mfcc in ("400/200/40/10", "640/320/80/20"):
        config = MfccConfig.parse(mfcc)
        plain = Mfcc(config)
        out.setdefault("mfcc_only_clips_per_s", {})[config.name] = rate(lambda: plain(audio.float() / 32768), b, args.seconds)
        frontend = AugmentedFeatures(config, np.zeros(config.n_mfcc), np.ones(config.n_mfcc), noise, settings)
        out.setdefault("augmenter_clips_per_s", {})[config.name] = rate(lambda: frontend(audio, gen, speech), b, args.seconds)

    genotype_config, kwargs = searched_model(DEFAULT_SEARCH)
    models = {"ds-cnn-s": ("ds-cnn-s", {}, "400/200/40"), "searched (default search)": ("searched", kwargs, genotype_config)}
    for name, (model_name, model_kwargs, mfcc) in models.items():
        config = MfccConfig.parse(mfcc)
        model = build_model(model_name, config.shape, 12, **model_kwargs).to(memory_format=torch.channels_last)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        x = torch.randn(b, 1, *config.shape).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 12, (b,))

        def step():
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.train()
        out.setdefault("training_step_clips_per_s", {})[name] = {"mfcc": config.name,
                                                                 "clips_per_s": rate(step, b, args.seconds)}
    slowest_aug = min(out["augmenter_clips_per_s"].values())
    for name, r in out["training_step_clips_per_s"].items():
        r["augmenter_share_of_step_time"] = r["clips_per_s"] / slowest_aug
    out["machine"] = {"platform": platform.platform(), "processor": platform.processor(), **versions()}
    write_json_atomic(RESULTS, out, kind="bench_augment")
    print(f"conditions {out['conditions_clips_per_s']:.0f} clips/s; augmenter (with MFCC) "
          + ", ".join(f"{k} {v:.0f}" for k, v in out["augmenter_clips_per_s"].items()) + " clips/s; "
          f"room bank redraw {out['room_bank_redraw_s']:.2f} s/epoch; training steps "
          + ", ".join(f"{k} {v['clips_per_s']:.0f} clips/s (augmenter adds {100 * v['augmenter_share_of_step_time']:.0f} %)"
                      for k, v in out["training_step_clips_per_s"].items()))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
