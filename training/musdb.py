"""MUSDB18-HQ walk: sorted tracks, the official train/test split and a validation split.

Layout: ``ROOT/{train,test}/<track>/{vocals,drums,bass,other}.wav`` (44.1 kHz stereo).
The validation split is MUSDB18's official list of 14 train tracks; a corpus that
contains none of them (the demo corpus) gets a seeded share of its train tracks.
Anything malformed raises ``InputError`` naming the offending path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import soundfile as sf

from model.errors import InputError
from model.audio.roles import ROLES

STEMS = ROLES  # the MUSDB18 stems are our four roles
SPLITS = ("train", "val", "test")
#: MUSDB18's official validation tracks (sigsep musdb ``configs/mus.yaml``), all from the train folder.
OFFICIAL_VALIDATION = (
    "Actions - One Minute Smile",
    "Clara Berry And Wooldog - Waltz For My Victims",
    "Johnny Lokke - Promises & Lies",
    "Patrick Talbot - A Reason To Leave",
    "Triviul - Angelsaint",
    "Alexander Ross - Goodbye Bolero",
    "Fergessen - Nos Palpitants",
    "Leaf - Summerghost",
    "Skelpolu - Human Mistakes",
    "Young Griffo - Pennies",
    "ANiMAL - Rockshow",
    "James May - On The Line",
    "Meaxic - Take A Step",
    "Traffic Experiment - Sirens",
)


@dataclass(frozen=True)
class MusdbTrack:
    """One track: its name, our split (train/val/test), its folder and the four stem files."""

    name: str
    split: str
    folder: Path
    stems: dict[str, Path]
    frames: int
    sample_rate: int

    @property
    def key(self) -> str:
        """Stem-cache key, stable across runs: '<split folder>/<track name>'."""
        return f"{self.folder.parent.name}/{self.name}"


def _probe_track(folder: Path, split: str) -> MusdbTrack:
    stems: dict[str, Path] = {}
    frames = None
    rate = None
    for role in STEMS:
        path = folder / f"{role}.wav"
        if not path.is_file():
            raise InputError(f"{path}: missing stem file (a MUSDB18-HQ track needs {', '.join(STEMS)} .wav)")
        try:
            info = sf.info(str(path))
        except Exception as exc:  # libsndfile raises plain RuntimeErrors
            raise InputError(f"{path}: unreadable audio file ({str(exc).splitlines()[0]})") from None
        if info.frames <= 0:
            raise InputError(f"{path}: contains no audio frames")
        if rate is not None and info.samplerate != rate:
            raise InputError(f"{path}: sample rate {info.samplerate} Hz differs from the other stems ({rate} Hz)")
        rate = info.samplerate
        frames = info.frames if frames is None else min(frames, info.frames)
        stems[role] = path
    return MusdbTrack(folder.name, split, folder, stems, int(frames), int(rate))


def validation_names(train_names: Sequence[str], fixed: Sequence[str] = (), seed: int = 42,
                     share: float = 0.14) -> list[str]:
    """Validation tracks: ``fixed`` if given, else the official list, else a seeded share (>= 1 if >= 2 tracks)."""
    names = sorted(train_names)
    if fixed:
        missing = sorted(set(fixed) - set(names))
        if missing:
            raise InputError(f"validation track(s) not in train/: {', '.join(missing)}")
        return sorted(fixed)
    official = sorted(set(OFFICIAL_VALIDATION) & set(names))
    if official:
        return official
    if len(names) < 2:
        return []
    n = min(len(names) - 1, max(1, round(share * len(names))))
    return sorted(random.Random(f"mixingbuddy-val-{seed}").sample(names, n))


def walk(root: str | Path, fixed_val: Sequence[str] = (), seed: int = 42, share: float = 0.14) -> list[MusdbTrack]:
    """All tracks sorted by (split, name): train, val (carved from train/), test."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: MUSDB18-HQ folder not found")
    found: dict[str, list[Path]] = {}
    for folder_split in ("train", "test"):
        d = root / folder_split
        if not d.is_dir():
            raise InputError(f"{d}: missing (expected MUSDB18-HQ layout ROOT/train and ROOT/test)")
        stray = sorted(p for p in d.iterdir() if not p.is_dir() and not p.name.startswith("."))
        if stray:
            raise InputError(f"{stray[0]}: unexpected file (each track must be a folder of stems)")
        found[folder_split] = sorted((p for p in d.iterdir() if p.is_dir()), key=lambda p: p.name)
        if not found[folder_split]:
            raise InputError(f"{d}: contains no track folders")
    val = set(validation_names([p.name for p in found["train"]], fixed_val, seed, share))
    tracks = [_probe_track(p, "val" if p.name in val else "train") for p in found["train"]]
    tracks += [_probe_track(p, "test") for p in found["test"]]
    order = {s: i for i, s in enumerate(SPLITS)}
    return sorted(tracks, key=lambda t: (order[t.split], t.name))


def by_split(tracks: Sequence[MusdbTrack]) -> dict[str, list[MusdbTrack]]:
    return {s: [t for t in tracks if t.split == s] for s in SPLITS}
