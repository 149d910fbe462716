"""`dadarts wakeword`: a phrase's text to a calibrated int8 detector, end to end at a tiny scale; its corpus plan."""
import json

import pytest

from dadarts.cli import main
from dadarts.data.negatives import STREAM_WORDS, TRAINING_WORDS, rows_without
from dadarts.data.synth import label_of
from dadarts.data.wakeword_words import near_misses, other_words

TINY = ["--target", "NUCLEO-F446RE", "--scale", "0.02", "--other-words", "12", "--other-every", "5",
        "--search-max-train", "300", "--search-args", "--epochs 3 --warmup-epochs 0 --batch-size 16 --data-space 400/200/40/10",
        "--epochs", "1", "--train-args", "--batch-size 16", "--stream-minutes", "2", "--no-firmware", "--quiet"]


def test_labels_are_safe_folder_names():
    assert label_of("Hey, Kettle!") == "hey_kettle"
    assert label_of("  Café  au lait ") == "cafe_au_lait"
    assert label_of("привет").startswith("w") and label_of("привет").isalnum()


def test_near_misses_hold_the_phrases_parts_and_sound_alikes_but_never_the_phrase():
    near = near_misses(["hey kettle", "stop kettle"])
    labels = {label_of(w) for w in near}
    assert {"hey", "kettle", "stop"} <= labels                      # the phrase's own words alone
    assert "hey_kettle" not in labels and "stop_kettle" not in labels
    assert any(w.startswith("ket") and w != "kettle" for w in near)  # shared first letters
    assert any(w.endswith("tle") and w != "kettle" for w in near)    # shared last letters
    assert any(w.startswith("hey ") and w != "hey kettle" for w in near)   # one word swapped
    held_out = {label_of(w) for w in STREAM_WORDS} - {"kettle"}     # the streams' unseen words stay unseen
    assert not labels & held_out
    three = near_misses(["lights on please"])
    assert {"lights on", "on please"} <= set(three)                  # partial phrases
    others = other_words(["hey kettle"], near)
    assert len(others) > 200 and not {label_of(w) for w in others} & (labels | {"hey_kettle"})


def test_a_keyword_is_never_its_own_negative():
    keep = rows_without("training", 2, ["computer"])
    assert len(keep) == 2 * len(TRAINING_WORDS) - 2
    dropped = sorted(set(range(2 * len(TRAINING_WORDS))) - set(keep.tolist()))
    assert [TRAINING_WORDS[i // 2] for i in dropped] == ["computer", "computer"]


def test_bad_phrases_get_one_sentence(tmp_path, capsys):
    assert main(["wakeword", "!!!", "--run", str(tmp_path / "r"), "--target", "NUCLEO-F446RE"]) == 2
    assert "at least one letter" in capsys.readouterr().err
    assert main(["wakeword", "hey kettle", "--also", "Hey Kettle!", "--run", str(tmp_path / "r"),
                 "--target", "NUCLEO-F446RE"]) == 2
    assert "folder hey_kettle" in capsys.readouterr().err
    assert main(["wakeword", "hey kettle", "--run", str(tmp_path / "r"), "--target", "NUCLEO-F446RE",
                 "--holdout-engine", "nonesuch"]) == 2
    assert main(["wakeword", "hey kettle", "--run", str(tmp_path / "r"), "--target", "NUCLEO-F446RE",
                 "--search-args", "--epochz 3"]) == 2
    assert "--search-args '--epochz 3'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()          # refused before anything was built


@pytest.mark.slow
def test_wakeword_end_to_end_resumes_and_refuses_another_phrase(tmp_path, capsys):
    run = tmp_path / "kettle"
    assert main(["wakeword", "Hey, Kettle!", "--also", "stop kettle", "--run", str(run), *TINY]) == 0
    out = capsys.readouterr().out
    # Every stage ran, as its own command would.
    for stage in ("search", "train", "export", "calibrate", "stream"):
        assert f"== dadarts {stage} " in out
    # The corpus: both phrases, their words alone, other words; the held-out engine nowhere in it.
    corpus = run / "corpus"
    for folder in ("hey_kettle", "stop_kettle", "hey", "kettle", "stop"):
        assert any((corpus / folder).glob("*.wav")), folder
    assert "rhvoice" not in (corpus / "SYNTH.txt").read_text()
    heldout = run / "heldout-rhvoice"
    assert (heldout / "MEASURE_ONLY").is_file()
    voices = [line.split()[2] for line in (heldout / "SYNTH.txt").read_text().splitlines()
              if line.startswith(("train ", "validation ", "testing "))]
    assert voices and all(v.startswith("rhvoice:") for v in voices)
    assert not (heldout / "validation_list.txt").read_text().strip()
    # The console ends with the operating point and the firmware files.
    tail = out.strip().splitlines()[-6:]
    assert any("operating point, held-out voices stream: FRR" in line for line in tail)
    assert any("held-out engine rhvoice" in line for line in tail)
    assert tail[-1].startswith("firmware sources: ") and "model_data.cc" in tail[-1]
    result = json.loads((run / "wakeword" / "result.json").read_text())
    assert result["kind"] == "wakeword_result" and result["labels"] == ["hey_kettle", "stop_kettle"]
    calibration = json.loads((run / "stream" / "calibration.json").read_text())
    assert calibration["chosen"]["false_accepts_per_hour"] <= 1.0
    assert result["settings"]["detection_threshold"] == calibration["chosen"]["detection_threshold"]
    header = (run / "export" / "firmware" / "recognizer_settings.h").read_text()
    assert f"{result['settings']['detection_threshold']}" in header
    # A re-run skips what is done; another phrase in the same run is refused in one sentence.
    assert main(["wakeword", "Hey, Kettle!", "--also", "stop kettle", "--run", str(run), *TINY]) == 0
    again = capsys.readouterr().out
    assert "== dadarts" not in again and "is there" in again
    assert main(["wakeword", "hey teapot", "--run", str(run), *TINY]) == 2
    assert "other settings" in capsys.readouterr().err


def test_the_window_holds_the_phrase_or_says_why_not(tmp_path, capsys):
    """A phrase said at the voices' own pace must fit the window: the default picks one that holds it,
    a --clip-ms too short or out of range is refused in one sentence before anything is built."""
    from dadarts.wakeword.command import window_ms
    assert window_ms(["hey kettle"], None, 0) == 1000
    assert window_ms(["hey kettle turn on the kitchen light"], None, 0) in (2000, 2500)
    assert "a window of" in capsys.readouterr().out
    run = ["--run", str(tmp_path / "r"), "--target", "NUCLEO-F446RE"]
    assert main(["wakeword", "hey kettle turn on the kitchen light", "--clip-ms", "1000", *run]) == 2
    err = capsys.readouterr().err
    assert "longer than the 1000 ms window: give --clip-ms" in err and len(err.strip().splitlines()) == 1
    assert main(["wakeword", "hey kettle", "--clip-ms", "250", *run]) == 2
    assert "--clip-ms 250: A clip of 250 ms is out of range" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_wakeword_with_a_longer_window_end_to_end(tmp_path, capsys):
    """--clip-ms 1500 at a tiny scale: 1.5 s corpus clips, a search and training on them, the int8 export's
    firmware input and a calibrated operating point."""
    from dadarts.data.wavio import read_wav
    run = tmp_path / "long"
    assert main(["wakeword", "hey kettle", "--clip-ms", "1500", "--run", str(run), *TINY,
                 "--holdout-engine", "none"]) == 0
    out = capsys.readouterr().out
    assert "--clip-ms 1500" in out and "operating point, held-out voices stream: FRR" in out
    assert json.loads((run / "wakeword.json").read_text())["clip_ms"] == 1500
    assert read_wav(next((run / "corpus" / "hey_kettle").glob("*.wav"))).size == 24000
    assert json.loads((run / "train" / "frontend.json").read_text())["config"].endswith("@1500ms")
    assert "#define KWS_MODEL_CLIP_SAMPLES 24000" in (run / "export" / "firmware" / "model_settings.h").read_text()
