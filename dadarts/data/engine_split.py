"""Leave-one-engine-out splits: train without one synthesis family's voices, test on that family.

A voice-disjoint split inside the same engines overstates what a user meets on speech from elsewhere:
a held-out voice of a known engine still shares that engine's vocoder, prosody rules and artefacts.
Holding out a whole engine family measures how far a model generalises to speech it has no analogue
for. The speaker -> engine map comes from the corpus' SYNTH.txt ("<split> <speaker> <engine>:<voice>").
"""
from __future__ import annotations

from pathlib import Path

from ..errors import UserError


def speaker_engines(root: Path) -> dict[str, str]:
    """Speaker id -> engine family of a synthetic corpus (empty for a corpus without SYNTH.txt)."""
    path = Path(root) / "SYNTH.txt"
    if not path.is_file():
        return {}
    engines = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("train", "validation", "testing") and ":" in parts[2]:
            engines[parts[1]] = parts[2].split(":", 1)[0]
    return engines


def corpus_engines(root: Path) -> list[str] | None:
    """The engine families whose voices a synthetic corpus has (None for a corpus that does not say)."""
    return sorted(set(speaker_engines(root).values())) or None


def hold_out_engine(splits: dict, root: Path, engine: str) -> dict:
    """New splits: train and validation keep every clip not spoken by `engine` (engine-free clips such
    as '_silence_' included); testing is every spoken clip of `engine`, from all three original splits."""
    engines = speaker_engines(root)
    families = sorted(set(engines.values()))
    if not engines:
        raise UserError(f"{root} does not say which engine spoke each voice (no SYNTH.txt): --holdout-engine "
                        f"works on the built-in synthetic corpus or one written by 'dadarts data synth'.")
    if engine not in families:
        raise UserError(f"No voices of engine '{engine}' in {root}: choose one of {', '.join(families)}.")
    spoken_by = lambda clip: engines.get(clip.speaker) if clip.path is not None else None  # noqa: E731
    return {"train": [c for c in splits["train"] if spoken_by(c) != engine],
            "validation": [c for c in splits["validation"] if spoken_by(c) != engine],
            "testing": [c for s in ("train", "validation", "testing") for c in splits[s] if spoken_by(c) == engine]}
