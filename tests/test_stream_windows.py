"""Stream-aware training examples: windows cut from short streams, labelled by the share of each word inside."""
from __future__ import annotations

import numpy as np

from dadarts.data.negatives import STREAM_WORDS, TRAINING_WORDS
from dadarts.data.stream_windows import StreamWindows, StreamWindowSettings, speech_span

LABELS = ["yes", "no", "_silence_", "_unknown_"]


def _clips(rng, n, freq):
    """n one-second int16 clips, each a 0.4 s tone burst at a random place (the 'word')."""
    out = np.zeros((n, 16000), np.int16)
    t = np.arange(6400) / 16000
    for i in range(n):
        a = int(rng.integers(0, 16000 - 6400))
        out[i, a:a + 6400] = (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    return out


def _windows(**kw):
    rng = np.random.default_rng(0)
    audio = np.concatenate([_clips(rng, 10, 500), _clips(rng, 10, 900), _clips(rng, 10, 2000)])
    y = np.array([0] * 10 + [1] * 10 + [3] * 10)
    return StreamWindows(audio, y, LABELS, _clips(rng, 5, 3000), StreamWindowSettings(**kw))


def test_a_keyword_counts_by_its_share_inside_the_window():
    w = _windows()
    keyword = [(16000, 22400, 0)]                  # "yes" speech at samples 16000..22400
    assert w._target(keyword, 10000).tolist() == [1, 0, 0, 0]          # wholly inside
    assert w._target(keyword, 19200 - 16000).tolist() == [0, 0, 0, 1]   # half of it: _unknown_
    soft = w._target(keyword, 16000 + int(0.8 * 6400) - 16000)              # 80 % inside: soft
    assert 0 < soft[0] < 1 and np.isclose(soft.sum(), 1) and np.isclose(soft[3], 1 - soft[0])
    assert w._target([(16000, 22400, 3)], 10000).tolist() == [0, 0, 0, 1]      # another word
    assert w._target(keyword, 40000).tolist() == [0, 0, 1, 0]          # no speech at all: _silence_


def test_batches_hold_whole_keywords_cut_words_other_words_and_gaps():
    w = _windows()
    audio, targets = w.batch(400, np.random.default_rng(1))
    assert audio.shape == (400, 16000) and audio.dtype == np.int16
    assert np.allclose(targets.sum(1), 1)
    hard = targets.max(1) == 1
    kinds = {LABELS[i] for i in targets[hard].argmax(1)}
    assert kinds == set(LABELS)
    assert 0.2 < (targets[:, :2].max(1) == 1).mean() < 0.6       # whole keywords: a good share, not all
    assert (~hard).sum() > 0                                        # some soft targets at the edges
    # A window labelled "yes" holds all of a 500 Hz burst's 0.4 s (above the noise floor).
    for x in audio[targets[:, 0] == 1][:20]:
        spectrum = np.abs(np.fft.rfft(x.astype(np.float64)))
        assert spectrum[500] > 5 * spectrum[2000]
        a, b = speech_span(x)
        assert b - a >= 6400 - 200
    again, _ = w.batch(400, np.random.default_rng(1))
    assert np.array_equal(audio, again)


def test_without_unknown_only_whole_keywords_are_cut():
    rng = np.random.default_rng(0)
    audio = np.concatenate([_clips(rng, 5, 500), _clips(rng, 5, 900)])
    w = StreamWindows(audio, np.array([0] * 5 + [1] * 5), ["yes", "no"], None, StreamWindowSettings())
    _, targets = w.batch(50, np.random.default_rng(2))
    assert set(targets.max(1)) == {1.0}


def test_training_and_stream_words_never_meet_nor_name_a_corpus_word():
    from dadarts.data.synth import _BABBLE_WORDS, GSC35_WORDS
    train, stream = set(TRAINING_WORDS), set(STREAM_WORDS)
    assert not train & stream
    spoken = {part for w in train | stream for part in w.replace("-", " ").split()}
    assert not spoken & set(GSC35_WORDS) and not (train | stream) & set(_BABBLE_WORDS)


def test_speech_span_finds_a_word_over_a_noise_floor():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 300, 16000)                       # a floor the 2 %-of-peak rule mistakes for speech
    x[6000:10000] += 6000 * np.sin(2 * np.pi * 700 * np.arange(4000) / 16000)
    a, b = speech_span(x)
    assert abs(a - 6000) <= 160 and abs(b - 10000) <= 160
    assert speech_span(np.zeros(16000)) == (0, 16000)
