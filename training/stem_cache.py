"""Stem cache: each MUSDB stem resampled once to 24 kHz mono, stored per track, read back per chunk.

Two formats (``synth`` config ``cache_format``; the one used is recorded in each track's ``meta.json``):

* ``flac`` (default): 16-bit FLAC, lossless over the 16-bit quantised signal, about a third of
  the ``npy`` size on music; chunks are read by seeking (sample-exact). A stem whose resampled
  peak exceeds full scale is stored scaled down by ``scale`` (in ``meta.json``) and scaled back
  on reading, so nothing clips. MUSDB18-HQ itself is 16-bit, so the cache adds one more
  16-bit rounding (noise floor about -101 dBFS, 3 dB above the source's own).
* ``npy``: float16 ``.npy``, memory-mapped (the fastest to read; about 3x larger).

``DATA/stems/<train|test>/<track>/<role>.{flac,npy}`` plus ``meta.json`` (written last, so
a track without it is unfinished). A track whose source files are unchanged
(size, mtime) and whose cache format matches is skipped, which makes ``synth`` resumable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from model.audio.decode import load_audio, to_mono
from model.audio.dsp import resample
from model.errors import AudioFormatError, InputError
from training.musdb import STEMS, MusdbTrack

CACHE_RATE = 24000
CACHE_VERSION = 1
FORMATS = ("flac", "npy")
DEFAULT_FORMAT = "flac"


def _signature(track: MusdbTrack) -> dict[str, list[int]]:
    out = {}
    for role, path in track.stems.items():
        st = path.stat()
        out[role] = [st.st_size, st.st_mtime_ns]
    return out


class StemCache:
    """Read/write access to the 24 kHz mono stems under ``root``; ``fmt`` is the format :meth:`build` writes."""

    def __init__(self, root: str | Path, sample_rate: int = CACHE_RATE, fmt: str = DEFAULT_FORMAT) -> None:
        if fmt not in FORMATS:
            raise InputError(f"stem cache format {fmt!r} is unknown (choose from {', '.join(FORMATS)})")
        self.root = Path(root)
        self.sample_rate = sample_rate
        self.fmt = fmt
        self._meta: dict[str, dict] = {}

    def folder(self, key: str) -> Path:
        return self.root / key

    def meta(self, key: str) -> dict | None:
        if key in self._meta:
            return self._meta[key]
        p = self.folder(key) / "meta.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None

    def _read_meta(self, key: str) -> dict:
        """The meta of a finished track (cached for reads: the dataset reads it for every sample)."""
        m = self.meta(key)
        if m is None:
            raise InputError(f"{self.folder(key)}: not in the stem cache (run `mixingbuddy-train synth` first)")
        self._meta[key] = m
        return m

    def is_current(self, track: MusdbTrack) -> bool:
        m = self.meta(track.key)
        return bool(m and m.get("version") == CACHE_VERSION and m.get("sample_rate") == self.sample_rate
                    and m.get("format", "npy") == self.fmt and m.get("source") == _signature(track))

    def build(self, track: MusdbTrack) -> bool:
        """Cache one track (mono by channel mean, resampled); False when already current."""
        if self.is_current(track):
            return False
        import soundfile as sf

        self._meta.pop(track.key, None)
        folder = self.folder(track.key)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "meta.json").unlink(missing_ok=True)
        lengths, scales = {}, {}
        for role in STEMS:
            try:
                audio, info = load_audio(track.stems[role])
            except AudioFormatError as exc:
                raise InputError(f"{track.stems[role]}: {exc}") from None
            mono = resample(to_mono(audio), info.sample_rate, self.sample_rate).astype(np.float32, copy=False)
            if self.fmt == "flac":
                peak = float(np.max(np.abs(mono))) if len(mono) else 0.0
                scale = 1.0 if peak < 1.0 else float(np.float32(peak * 1.0001))
                tmp = folder / f".{role}.tmp.flac"
                sf.write(str(tmp), mono / np.float32(scale), self.sample_rate, format="FLAC", subtype="PCM_16")
                os.replace(tmp, folder / f"{role}.flac")
                (folder / f"{role}.npy").unlink(missing_ok=True)
                scales[role] = scale
            else:
                tmp = folder / f".{role}.tmp.npy"
                np.save(tmp, mono.astype(np.float16), allow_pickle=False)
                os.replace(tmp, folder / f"{role}.npy")
                (folder / f"{role}.flac").unlink(missing_ok=True)
            lengths[role] = int(len(mono))
        meta = {"version": CACHE_VERSION, "track": track.name, "sample_rate": self.sample_rate, "format": self.fmt,
                "frames": min(lengths.values()), "lengths": lengths, "source": _signature(track)}
        if scales:
            meta["scale"] = scales
        tmp = folder / ".meta.tmp.json"
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, folder / "meta.json")
        return True

    def stems(self, key: str) -> dict[str, np.ndarray]:
        """The stems of one track, cut to the shortest: float16 memory-maps (npy) or float32 arrays (flac)."""
        m = self._read_meta(key)
        n = int(m["frames"])
        if m.get("format", "npy") == "npy":
            return {role: np.load(self.folder(key) / f"{role}.npy", mmap_mode="r", allow_pickle=False)[:n]
                    for role in STEMS}
        return {role: self._read_flac(key, m, role, 0, n) for role in STEMS}

    def chunk(self, key: str, start: int, length: int) -> dict[str, np.ndarray]:
        """float32 copies of ``length`` samples from ``start`` for every stem."""
        m = self._read_meta(key)
        if m.get("format", "npy") == "npy":
            return {role: np.asarray(a[start:start + length], dtype=np.float32) for role, a in self.stems(key).items()}
        n = int(m["frames"])
        start = max(0, min(int(start), n))
        length = max(0, min(int(length), n - start))
        return {role: self._read_flac(key, m, role, start, length) for role in STEMS}

    def _read_flac(self, key: str, meta: dict, role: str, start: int, length: int) -> np.ndarray:
        import soundfile as sf

        with sf.SoundFile(str(self.folder(key) / f"{role}.flac")) as f:
            if start:
                f.seek(start)
            audio = f.read(length, dtype="float32", always_2d=False)
        scale = (meta.get("scale") or {}).get(role, 1.0)
        if scale != 1.0:
            audio *= np.float32(scale)
        return np.ascontiguousarray(audio, dtype=np.float32)
