"""A stream built from a Speech Commands-layout folder: its clips in order, gaps of its own background."""
from __future__ import annotations

import numpy as np

from dadarts.data.wavio import write_wav
from dadarts.evaluate.folder_stream import build_folder_stream


def test_folder_clips_in_order_with_gaps_of_its_background(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(16000) / 16000
    for word, freq in (("bed", 300), ("yes", 700)):
        (tmp_path / word).mkdir()
        for k in range(2):
            x = rng.normal(0, 50, 16000)
            x[4000:9000] += 5000 * np.sin(2 * np.pi * freq * t[4000:9000])
            write_wav(tmp_path / word / f"spk{k}_nohash_0.wav", x.astype(np.int16))
    (tmp_path / "_background_noise_").mkdir()
    write_wav(tmp_path / "_background_noise_" / "room.wav", np.full(16000, 77, np.int16))
    pcm, truth = build_folder_stream(tmp_path, ["yes", "no"])
    events = truth["events"]
    assert [(e["source"], e["keyword"]) for e in events] == [("bed/spk0_nohash_0.wav", False), ("bed/spk1_nohash_0.wav", False),
                                                            ("yes/spk0_nohash_0.wav", True), ("yes/spk1_nohash_0.wav", True)]
    assert len(pcm) == truth["seconds"] * 16000 and 4 * 1.5 <= truth["seconds"] <= 4 * 3.0
    assert np.all(pcm[16000:16000 + 8000] == 77)     # after the first clip: at least 0.5 s of the background
    first = events[0]                                  # the tone, 0.25-0.5625 s into the clip, is the word
    assert abs(first["start_s"] - 0.25) <= 0.01 and abs(first["end_s"] - 0.5625) <= 0.01
