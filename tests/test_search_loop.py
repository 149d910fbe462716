"""The search loop on random-tensor data: artifacts, γ early stop, resume equivalence, torchrun gloo."""
import csv
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from dadarts.frontend.spec import MfccConfig
from dadarts.rundir import RunDir
from dadarts.search import genotypes as G
from dadarts.search.loop import SearchData, search
from dadarts.search.settings import SearchSettings

SPACE = [MfccConfig.parse(s) for s in ("640/320/40", "400/200/40", "640/160/40")]
CPU = torch.device("cpu")


def fake_data(informative: int = 1, n: int = 64, n_val: int = 16, k: int = 3) -> SearchData:
    """Only configuration `informative` carries the label; the others are noise."""
    g = torch.Generator().manual_seed(0)
    y, vy = torch.randint(0, k, (n,), generator=g), torch.randint(0, k, (n_val,), generator=g)

    def feats(labels, d, c):
        x = torch.randn(labels.numel(), *c.shape, generator=g)
        if d == informative:
            x[:, :, :k] += 3.0 * torch.nn.functional.one_hot(labels, k)[:, None, :]
        return x.half()

    return SearchData(SPACE, [f"w{i}" for i in range(k)], [feats(y, d, c) for d, c in enumerate(SPACE)], y,
                      [feats(vy, d, c) for d, c in enumerate(SPACE)], vy, task="fake", fingerprint="fp")


def tiny(**kw) -> SearchSettings:
    base = dict(channels=4, layers=3, stem_stride=2, epochs=3, warmup_epochs=1, batch_size=16, lr=0.05,
                arch_lr=3e-3, gamma_lr=3e-3, align_channels=2)
    return SearchSettings(**{**base, **kw})


def arch_state(model):
    return [p.detach().clone() for p in model.arch_parameters()]


def test_search_writes_result_history_and_checkpoint(tmp_path):
    run = RunDir.of(tmp_path / "run")
    out = search(fake_data(), tiny(), run, CPU, progress=False)
    result = json.loads(run.search_result.read_text())
    assert result["kind"] == "search_result" and result["schema"] == 1
    assert result["config"] in [c.name for c in SPACE] and result["align"] == "preprocess"
    assert G.from_dict(result["genotype"]) == G.from_str(result["genotype_str"])
    assert abs(sum(result["gamma"].values()) - 1.0) < 1e-4
    rows = list(csv.DictReader(open(run.search_history)))
    assert [r["phase"] for r in rows] == ["warmup", "search", "search"]
    assert {"train_loss", "val_acc", "gamma_640/320/40", "time_s", "arch_loss"} <= set(rows[0])
    # Warm-up moves weights only: γ is still uniform after epoch 1, and moves after.
    assert float(rows[0]["gamma_640/320/40"]) == round(1 / 3, 6)
    assert float(rows[2]["gamma_640/320/40"]) != round(1 / 3, 6)
    ckpt = torch.load(run.search_checkpoint, weights_only=False)
    assert ckpt["epoch"] == 3 and set(ckpt) >= {"model", "w_opt", "architect", "rng", "sched"}
    assert out.result["config"] == result["config"]
    # A new search in the same run directory withdraws the old result until it finishes.
    search(fake_data(), tiny(epochs=1), run, CPU, progress=False, stop_after_epoch=0)
    assert not run.search_result.exists()


def test_gamma_early_stop_picks_the_informative_configuration_and_freezes_gamma(tmp_path):
    out = search(fake_data(informative=1), tiny(epochs=4, gamma_lr=0.15), None, CPU, progress=False)
    stop = out.result["gamma_stop_epoch"]
    assert stop is not None and 2 <= stop <= 4
    assert out.result["config"] == "400/200/40"
    assert int(out.model.active) == 1
    gammas = [[r[f"gamma_{c.name}"] for c in SPACE] for r in out.history]
    assert all(g == gammas[stop - 1] for g in gammas[stop - 1:])  # frozen from the stop on
    assert [r["active"] for r in out.history][stop:] == ["400/200/40"] * (4 - stop)


def test_zeropad_and_fixed_searches_run(tmp_path):
    out = search(fake_data(), tiny(align="zeropad", epochs=2), None, CPU, progress=False)
    assert out.result["align"] == "zeropad"
    one = fake_data()
    one.configs, one.train_x, one.val_x = one.configs[1:2], one.train_x[1:2], one.val_x[1:2]
    out = search(one, tiny(align="fixed", epochs=2), None, CPU, progress=False)
    assert out.result["config"] == "400/200/40" and out.result["gamma_stop_epoch"] is None


def test_resume_ends_where_an_uninterrupted_search_ends(tmp_path):
    settings = tiny(epochs=3, gamma_lr=0.05)
    full = search(fake_data(), settings, RunDir.of(tmp_path / "full"), CPU, progress=False)
    run = RunDir.of(tmp_path / "cut")
    search(fake_data(), settings, run, CPU, progress=False, stop_after_epoch=2)
    assert not run.search_result.exists()  # an interrupted search leaves no result to trust
    resumed = search(fake_data(), settings, run, CPU, progress=False, resume=True)
    for a, b in zip(arch_state(full.model), arch_state(resumed.model)):
        assert torch.equal(a, b)
    assert resumed.result["genotype"] == full.result["genotype"]
    assert resumed.result["gamma"] == full.result["gamma"]
    assert [r["val_acc"] for r in resumed.history] == [r["val_acc"] for r in full.history]


WORKER = textwrap.dedent("""
    import sys, torch
    sys.path.insert(0, {tests!r})
    from test_search_loop import fake_data, tiny
    from dadarts.search.distributed import init_from_env, shutdown
    from dadarts.search.loop import search
    info = init_from_env("cpu")
    out = search(fake_data(), tiny(epochs=2, gamma_lr=0.05), None, torch.device("cpu"), progress=False, info=info)
    torch.save([p.detach() for p in out.model.arch_parameters()], {out!r} + f"/rank{{info.rank}}.pt")
    shutdown(info)
""")


@pytest.mark.slow
def test_torchrun_two_gloo_processes_agree_on_alpha_beta_gamma(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(tests=os.path.dirname(__file__), out=str(tmp_path)))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert len(r0) == 5
    for a, b in zip(r0, r1):
        assert torch.equal(a, b)
    assert not torch.equal(r0[4], torch.zeros_like(r0[4]))  # γ was trained, not just left at its start
