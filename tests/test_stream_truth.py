"""A hand-written truth file is checked against its recording and the run, and bad recogniser grids are refused."""
from __future__ import annotations

import json

import pytest

from dadarts.cli import main
from dadarts.errors import UserError
from dadarts.evaluate.longform import read_truth

EVENTS = [{"start_s": 1.0, "end_s": 1.5, "word": "yes", "keyword": True},
          {"start_s": 3.0, "end_s": 3.4, "word": "kitchen", "keyword": False}]


def _truth(tmp_path, **fields):
    path = tmp_path / "rec.json"
    path.write_text(json.dumps({"schema": 1, "kind": "stream_truth", **fields}))
    return path


def test_a_valid_truth_file_is_read(tmp_path):
    truth = read_truth(_truth(tmp_path, seconds=30.0, events=EVENTS), 30.2, ["yes", "no"])
    assert truth["seconds"] == 30.0 and truth["events"][0]["word"] == "yes"
    assert read_truth(_truth(tmp_path, seconds=30, events=[]), 30.0, ["yes"])["events"] == []


@pytest.mark.parametrize("fields, audio_seconds, words", [
    ({"events": EVENTS}, 30.0, ['needs "seconds"']),                              # no KeyError
    ({"seconds": "30", "events": EVENTS}, 30.0, ["seconds"]),
    ({"seconds": 30.0, "events": EVENTS}, 20.0, ["30 s", "20.00 s"]),             # another recording
    ({"seconds": 30.0}, 30.0, ["events"]),
    ({"seconds": 30.0, "events": [{"start_s": 1.0, "word": "yes"}]}, 30.0, ["event 0", "end_s"]),
    ({"seconds": 30.0, "events": [{"start_s": 2.0, "end_s": 1.0, "word": "yes"}]}, 30.0, ["event 0"]),
    ({"seconds": 30.0, "events": [{"start_s": 29.0, "end_s": 31.0, "word": "yes"}]}, 30.0, ["event 0"]),
    ({"seconds": 30.0, "events": [{"start_s": 1.0, "end_s": 1.5, "word": "Yes", "keyword": True}]}, 30.0,
     ["'Yes'", "yes, no"]),                                                       # labels vs the run's
])
def test_a_wrong_truth_file_gets_one_sentence(tmp_path, fields, audio_seconds, words):
    with pytest.raises(UserError) as err:
        read_truth(_truth(tmp_path, **fields), audio_seconds, ["yes", "no"])
    text = str(err.value)
    assert "\n" not in text and all(w in text for w in words), text


def test_calibrate_refuses_an_empty_averaging_window(tmp_path, capsys):
    # Checked before the run is read: the C recogniser rejects a 0 ms window, the twin would divide by zero.
    assert main(["calibrate", str(tmp_path), "--max-fa-per-hour", "1", "--windows", "0,500"]) == 2
    assert "--windows" in capsys.readouterr().err
    assert main(["calibrate", str(tmp_path), "--max-fa-per-hour", "1", "--suppressions", "-5"]) == 2
