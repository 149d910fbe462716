"""The fixed-point MFCC reference: agreement with the float contract, golden vectors, table generation."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dadarts.errors import UserError
from dadarts.firmware import golden
from dadarts.frontend import ctables, fixed
from dadarts.frontend.spec import FRONTEND_VERSION, MfccConfig

GOLDEN = "tests/data/golden"


def _clips(seed=3):
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    speechlike = np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) * 6000 + rng.normal(0, 200, 16000)
    return np.clip(np.stack([
        speechlike,
        rng.normal(0, 2500, 16000),                       # loud noise
        rng.normal(0, 3, 16000),                          # near-silent noise
        32767 * np.sin(2 * np.pi * 1000 * t),             # full-scale tone
        np.zeros(16000),                                  # digital silence
    ]), -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("name", ["400/200/40", "640/160/80"])
def test_fixed_point_agrees_with_float_reference(name):
    config = MfccConfig.parse(name)
    clips = _clips()
    mfcc = np.stack([golden.float_mfcc(fixed.frame_signal(c, config), config) for c in clips])
    q = golden.quantisation_for(mfcc)
    mean, std = np.array(q["mean"]), np.array(q["std"])
    tables = fixed.make_tables(config, mean, std, q["input_scale"], q["input_zero_point"])
    ours = np.stack([fixed.features(c, tables) for c in clips])
    assert ours.shape == (len(clips), *config.shape) and ours.dtype == np.int8
    ref_q = fixed.quantize(mfcc, mean, std, q["input_scale"], q["input_zero_point"])
    stats = fixed.agreement(ours, ref_q, (mfcc - mean) / std, q["input_scale"], q["input_zero_point"])
    assert stats["within_1lsb_share"] >= 0.99, stats
    assert stats["snr_db"] > 30, stats


def test_silence_gives_the_log_floor_everywhere():
    config = MfccConfig.parse("400/200/40")
    tables = fixed.make_tables(config, np.zeros(40), np.ones(40), 0.05, 0)
    q = fixed.log_mel_q16(fixed.frame_signal(np.zeros(16000, np.int16), config), tables)
    assert np.all(q == tables.log_floor_q16)


@pytest.mark.parametrize("name", golden.GOLDEN_CONFIGS)
def test_golden_vectors_match_the_reference_and_tables(name, tmp_path):
    clips, meta, expected, tables = golden.load_golden(GOLDEN, name)
    config = MfccConfig.parse(name)
    ours = np.concatenate([fixed.features_from_frames(fixed.stream_frames(c, config), tables) for c in clips])
    np.testing.assert_array_equal(ours, expected)
    # The stored C tables are exactly what the generator writes today.
    ctables.write_tables(tmp_path, tables, source=f"golden vectors ({config.name})")
    stored = golden.config_dir(GOLDEN, config)
    for f in (ctables.HEADER_NAME, ctables.SOURCE_NAME):
        assert (tmp_path / f).read_text() == (stored / f).read_text(), f


def test_write_frontend_tables_names_the_run_and_checks_its_input(tmp_path):
    frontend = {"config": "400/100/40", "frontend_version": FRONTEND_VERSION,
                "mean": [0.0] * 40, "std": [1.0] * 40}
    paths = ctables.write_frontend_tables(tmp_path, frontend, 0.03, -5, source="runs/demo")
    assert [p.name for p in paths] == ["frontend_tables.h", "frontend_tables.c"]
    header = paths[0].read_text()
    assert "runs/demo" in header and "#define KWS_FRONTEND_HOP 100" in header
    assert "#define KWS_FRONTEND_INPUT_ZERO_POINT -5" in header
    assert "runs/demo" in paths[1].read_text()
    with pytest.raises(UserError, match="version"):
        ctables.write_frontend_tables(tmp_path, {**frontend, "frontend_version": FRONTEND_VERSION + 1}, 0.03, 0, "x")
    with pytest.raises(UserError, match="expected 40"):
        ctables.write_frontend_tables(tmp_path, {**frontend, "mean": [0.0] * 39}, 0.03, 0, "x")
    with pytest.raises(UserError, match="std"):
        ctables.write_frontend_tables(tmp_path, {**frontend, "std": [0.0] * 40}, 0.03, 0, "x")


def test_folded_normalisation_rounds_like_the_float_formula():
    rng = np.random.default_rng(0)
    mean, std = rng.normal(0, 20, 16), rng.uniform(0.3, 40, 16)
    scale, zp = 0.021, 7
    mult, shift, bias = fixed.fold_normalisation(mean, std, scale, zp)
    c_q16 = rng.integers(-(1 << 24), 1 << 24, size=(500, 16)).astype(np.int64)
    q = np.clip((c_q16 * mult.astype(np.int64) + bias) >> shift.astype(np.int64), -128, 127)
    ref = fixed.quantize(fixed.mfcc_from_q16(c_q16), mean, std, scale, zp)
    assert np.mean(q == ref) > 0.999 and np.max(np.abs(q - ref)) <= 1
