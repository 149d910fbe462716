"""Reading real-world WAVs (other rates, stereo, 8/24/32-bit, float, WAVE_FORMAT_EXTENSIBLE), the one-sentence
error when nothing in a folder is usable, and scoring folders labelled with a run's gsc12 labels."""
from __future__ import annotations

import shutil
import struct

import numpy as np
import pytest

from dadarts.data.datasets import SILENCE, UNKNOWN, load_dataset, load_test_folder
from dadarts.data.wavio import BadWav, check_header, read_wav, write_wav
from dadarts.errors import UserError


def riff(path, samples: np.ndarray, rate: int, tag: int, bits: int, extensible: bool = False) -> None:
    """Write raw sample bytes (already encoded) with a hand-made RIFF header."""
    channels = samples.shape[1] if samples.ndim == 2 else 1
    data = samples.tobytes()
    block = channels * bits // 8
    if extensible:
        guid = struct.pack("<H", tag) + bytes.fromhex("000000001000800000aa00389b71")
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, bits, 22, bits, 0) + guid
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"LIST" + struct.pack("<I", 5) + b"INFOx\0"            # an odd-sized chunk before the data
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


def tone(rate: int, seconds: float = 1.0, f: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * f * t)


def snr_db(ref: np.ndarray, x: np.ndarray) -> float:
    n = min(len(ref), len(x))
    ref, x = ref[100:n - 100].astype(np.float64), x[100:n - 100].astype(np.float64)   # resampler edges
    return float(10 * np.log10(np.sum(ref ** 2) / np.sum((ref - x) ** 2)))


def test_16k_mono_16bit_is_read_sample_for_sample(tmp_path):
    x = (np.random.default_rng(0).normal(0, 3000, 1234)).astype(np.int16)
    write_wav(tmp_path / "a.wav", x)
    info = check_header(tmp_path / "a.wav")
    assert info.conversions() == [] and info.frames == 1234
    np.testing.assert_array_equal(read_wav(tmp_path / "a.wav"), x)
    riff(tmp_path / "b.wav", x.astype("<i2"), 16000, 1, 16, extensible=True)   # extensible header, same samples
    np.testing.assert_array_equal(read_wav(tmp_path / "b.wav"), x)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_other_rates_are_resampled_to_16k(tmp_path, rate):
    write_wav(tmp_path / "a.wav", tone(rate), rate=rate)
    assert check_header(tmp_path / "a.wav").conversions() == [f"resampled from {rate} Hz"]
    x = read_wav(tmp_path / "a.wav")
    assert x.dtype == np.int16 and abs(len(x) - 16000) <= 1
    assert snr_db(tone(16000) * 32767, x) > 30


def test_stereo_widths_and_float_are_converted(tmp_path):
    ref = tone(16000)
    cases = {
        "stereo.wav": ((np.stack([ref, ref], 1) * 32767).astype("<i2"), 1, 16),
        "u8.wav": ((np.round(ref * 127) + 128).astype(np.uint8), 1, 8),
        "i24.wav": (None, 1, 24),
        "i32.wav": ((ref * 2 ** 31).astype("<i4"), 1, 32),
        "f32.wav": (ref.astype("<f4"), 3, 32),
        "f64.wav": (ref.astype("<f8"), 3, 64),
    }
    v = np.round(ref * 2 ** 23).astype(np.int32)
    i24 = np.stack([v & 255, (v >> 8) & 255, (v >> 16) & 255], 1).astype(np.uint8).ravel()
    for name, (samples, tag, bits) in cases.items():
        riff(tmp_path / name, i24 if samples is None else samples, 16000, tag, bits, extensible=name == "i24.wav")
        x = read_wav(tmp_path / name)
        assert len(x) == 16000 and snr_db(ref * 32768, x) > (35 if bits == 8 else 80), name
    assert check_header(tmp_path / "stereo.wav").conversions() == ["downmixed from 2 channels"]
    assert check_header(tmp_path / "f32.wav").conversions() == ["converted from 32-bit float"]
    # The left channel alone: downmixing averages the channels.
    riff(tmp_path / "lr.wav", (np.stack([ref, 0 * ref], 1) * 32767).astype("<i2"), 16000, 1, 16)
    assert abs(np.abs(read_wav(tmp_path / "lr.wav")).max() - 0.25 * 32767) < 2


def test_unreadable_encodings_raise_badwav(tmp_path):
    riff(tmp_path / "ulaw.wav", np.zeros(100, np.uint8), 8000, 7, 8)             # mu-law
    riff(tmp_path / "empty.wav", np.zeros(0, "<i2"), 16000, 1, 16)
    (tmp_path / "text.wav").write_text("hello")
    reasons = {}
    for name in ("ulaw.wav", "empty.wav", "text.wav"):
        with pytest.raises(BadWav) as exc:
            read_wav(tmp_path / name)
        reasons[name] = exc.value.reason
    assert reasons == {"ulaw.wav": "unsupported encoding", "empty.wav": "empty", "text.wav": "unreadable"}


def test_a_folder_of_8k_files_is_converted_with_one_notice(tiny_corpus, tmp_path, capsys):
    root = tmp_path / "c"
    shutil.copytree(tiny_corpus, root)
    wavs = [p for p in root.glob("*/*.wav") if not p.parent.name.startswith("_")]
    for p in wavs:
        write_wav(p, read_wav(p)[::2], rate=8000)     # plain decimation is enough to make an 8 kHz folder
    ds = load_dataset(root, "gsc12")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"converting {len(wavs)} WAV files to 16 kHz mono 16-bit" in err
    assert f"({len(wavs)} resampled from 8000 Hz)" in err
    assert ds.converted == {"resampled from 8000 Hz": len(wavs)} and not ds.skipped
    assert ds.load_audio(ds.splits["testing"][0]).shape == (16000,)


def test_a_folder_with_nothing_usable_says_why(tmp_path):
    for word in ("yes", "no"):
        (tmp_path / word).mkdir()
        for i in range(3):
            riff(tmp_path / word / f"spk{i}_nohash_0.wav", np.zeros(800, np.uint8), 8000, 7, 8)   # mu-law
    with pytest.raises(UserError) as exc:
        load_test_folder(tmp_path, "gsc12", ["yes", "no", SILENCE, UNKNOWN])
    message = str(exc.value)
    assert "6 WAV files in word folders and none is usable (6 unsupported encoding" in message
    assert "expected <word>" not in message and "\n" not in message
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="does not exist"):
        load_test_folder(tmp_path / "missing", "gsc12", ["yes", UNKNOWN])
    with pytest.raises(UserError, match="holds no WAV files in word folders"):
        load_test_folder(tmp_path / "empty", "gsc12", ["yes", UNKNOWN])


def test_test_folder_takes_the_runs_gsc12_labels(tiny_corpus, tmp_path):
    labels = load_dataset(tiny_corpus, "gsc12", quiet=True).labels
    own = load_test_folder(tiny_corpus, "gsc12", labels, quiet=True)
    # A folder with lists: exactly the test split the run was trained against.
    assert [c.path for c in own.splits["testing"]] == \
        [c.path for c in load_dataset(tiny_corpus, "gsc12", quiet=True).splits["testing"]]
    # Without lists every clip is a test clip: the 10 words as themselves, the others as a seeded
    # 10 % _unknown_ share, _silence_ cut from the background noise.
    root = tmp_path / "nolists"
    shutil.copytree(tiny_corpus, root)
    (root / "testing_list.txt").unlink()
    (root / "validation_list.txt").unlink()
    ds = load_test_folder(root, "gsc12", labels, quiet=True)
    counts = ds.counts("testing")
    assert all(counts[w] == 10 for w in labels[:10])
    assert counts[UNKNOWN] == 10 and counts[SILENCE] == 10
    assert {c.word for c in ds.splits["testing"] if c.label == labels.index(UNKNOWN)} <= {"marvin", "sheila", "bed", "cat"}
    assert not ds.splits["train"] and not ds.splits["validation"]
    # Cached features follow the folder and its files: a copy, or a re-recorded clip, is scored anew.
    shutil.copytree(root, tmp_path / "copy")
    assert load_test_folder(tmp_path / "copy", "gsc12", labels, quiet=True).fingerprint != ds.fingerprint
    assert load_test_folder(root, "gsc12", labels, quiet=True).fingerprint == ds.fingerprint
    first = root / ds.splits["testing"][0].path
    write_wav(first, read_wav(first)[::-1].copy())
    assert load_test_folder(root, "gsc12", labels, quiet=True).fingerprint != ds.fingerprint
    shutil.rmtree(root / "_background_noise_")
    assert load_test_folder(root, "gsc12", labels, quiet=True).counts("testing")[SILENCE] == 0


def test_test_folder_of_a_run_without_unknown_leaves_other_words_out(tiny_corpus, capsys):
    ds = load_test_folder(tiny_corpus, "gsc35", ["yes", "no"])
    assert {c.word for c in ds.splits["testing"]} == {"yes", "no"}
    assert "left out 12 clips of words the model does not know (bed, cat, down, go" in capsys.readouterr().err
