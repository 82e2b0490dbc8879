"""Stem cache: each MUSDB stem resampled once to 24 kHz mono and stored as float16 ``.npy``, memory-mapped.

``DATA/stems/<train|test>/<track>/<role>.npy`` plus ``meta.json`` (written last, so
a track without it is unfinished). A track whose source files are unchanged
(size, mtime) is skipped, which makes ``synth`` resumable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from model.audio import load_audio, to_mono
from model.dsp import resample
from model.errors import AudioFormatError, InputError
from training.musdb import STEMS, MusdbTrack

CACHE_RATE = 24000
CACHE_VERSION = 1


def _signature(track: MusdbTrack) -> dict[str, list[int]]:
    out = {}
    for role, path in track.stems.items():
        st = path.stat()
        out[role] = [st.st_size, st.st_mtime_ns]
    return out


class StemCache:
    """Read/write access to the 24 kHz mono float16 stems under ``root``."""

    def __init__(self, root: str | Path, sample_rate: int = CACHE_RATE) -> None:
        self.root = Path(root)
        self.sample_rate = sample_rate

    def folder(self, key: str) -> Path:
        return self.root / key

    def meta(self, key: str) -> dict | None:
        p = self.folder(key) / "meta.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None

    def is_current(self, track: MusdbTrack) -> bool:
        m = self.meta(track.key)
        return bool(m and m.get("version") == CACHE_VERSION and m.get("sample_rate") == self.sample_rate
                    and m.get("source") == _signature(track))

    def build(self, track: MusdbTrack) -> bool:
        """Cache one track (mono by channel mean, resampled, float16); False when already current."""
        if self.is_current(track):
            return False
        folder = self.folder(track.key)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").unlink(missing_ok=True)
        lengths = {}
        for role in STEMS:
            try:
                audio, info = load_audio(track.stems[role])
            except AudioFormatError as exc:
                raise InputError(f"{track.stems[role]}: {exc}") from None
            mono = resample(to_mono(audio), info.sample_rate, self.sample_rate)
            tmp = folder / f".{role}.tmp.npy"
            np.save(tmp, mono.astype(np.float16), allow_pickle=False)
            os.replace(tmp, folder / f"{role}.npy")
            lengths[role] = int(len(mono))
        meta = {"version": CACHE_VERSION, "track": track.name, "sample_rate": self.sample_rate,
                "frames": min(lengths.values()), "lengths": lengths, "source": _signature(track)}
        tmp = folder / ".meta.tmp.json"
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, folder / "meta.json")
        return True

    def stems(self, key: str) -> dict[str, np.ndarray]:
        """Memory-mapped float16 stems of one track, cut to the shortest."""
        m = self.meta(key)
        if m is None:
            raise InputError(f"{self.folder(key)}: not in the stem cache (run `mixingbuddy-train synth` first)")
        n = int(m["frames"])
        return {role: np.load(self.folder(key) / f"{role}.npy", mmap_mode="r", allow_pickle=False)[:n]
                for role in STEMS}

    def chunk(self, key: str, start: int, length: int) -> dict[str, np.ndarray]:
        """float32 copies of ``length`` samples from ``start`` for every stem."""
        return {role: np.asarray(a[start:start + length], dtype=np.float32) for role, a in self.stems(key).items()}
