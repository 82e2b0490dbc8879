"""Per-file analysis cache: what one file contributes to a streamed analysis, found again by its stamp.

An entry holds the doctor's statistics (FileStats), the file's unity-gain readings in
every window (TrackWindow) and its true peak. It is keyed by the absolute path, size,
mtime_ns, header, the session rate and length, the window length and the span, so a
rewritten file, a new session rate or another span misses and is measured again, while an
unchanged file is found again (``analyse_session(..., cache=)``; the app keeps its own per-file loudness cache
and does not use this one yet).
Entries live in memory and, with a folder, on disk as one ``.npz`` each (no pickle),
written to a temporary name and renamed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from model.audio.decode import AudioInfo
from model.audio.doctor import FileStats
from model.audio.measure import TrackWindow

FORMAT = "mixingbuddy.file_analysis/1"
_STATS_SCALARS = ("frames", "peak", "clip_runs", "first_run", "over", "first_over", "stereo_diff")


def default_folder() -> Path:
    """The user cache folder for analyses ($XDG_CACHE_HOME or ~/.cache, then mixingbuddy/analysis)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mixingbuddy" / "analysis"


@dataclass(frozen=True)
class FileKey:
    """Everything a file's analysis depends on besides its gain and role."""

    path: str
    size: int
    mtime_ns: int
    header: tuple[int, int, int, str, str]  # rate, channels, frames, format, subtype
    session_rate: int
    session_frames: int
    window_s: float
    span: tuple[float, float] | None

    @classmethod
    def of(cls, info: AudioInfo, session_rate: int, session_frames: int, window_s: float,
           span: tuple[float, float] | None) -> "FileKey":
        return cls(os.path.abspath(info.path), info.stamp[0], info.stamp[1],
                   (info.sample_rate, info.channels, info.frames, info.format, info.subtype),
                   int(session_rate), int(session_frames), float(window_s),
                   (float(span[0]), float(span[1])) if span else None)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class FileAnalysis:
    """One file's cached contribution: doctor statistics, unity-gain window readings, true peak (dBTP)."""

    stats: FileStats
    windows: tuple[TrackWindow, ...]
    true_peak_db: float | None = None

    def for_track(self, track_id: str, name: str, role: str) -> FileStats:
        """The statistics under the track's current id, name and role."""
        stats = copy.copy(self.stats)
        stats.id, stats.name, stats.role = track_id, name, role
        return stats


class AnalysisCache:
    """Per-file analyses in memory (the newest ``max_entries``), and on disk when ``folder`` is given."""

    def __init__(self, folder: str | os.PathLike | None = None, max_entries: int = 512) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.max_entries = max_entries
        self._memory: dict[FileKey, FileAnalysis] = {}

    def get(self, key: FileKey) -> FileAnalysis | None:
        hit = self._memory.get(key)
        if hit is None and self.folder is not None:
            hit = self._read(key)
            if hit is not None:
                self._remember(key, hit)
        return hit

    def put(self, key: FileKey, analysis: FileAnalysis) -> None:
        self._remember(key, analysis)
        if self.folder is not None:
            self._write(key, analysis)

    def _remember(self, key: FileKey, analysis: FileAnalysis) -> None:
        self._memory.pop(key, None)
        self._memory[key] = analysis
        while len(self._memory) > self.max_entries:
            self._memory.pop(next(iter(self._memory)))

    # --- disk -------------------------------------------------------------------------
    def _path(self, key: FileKey) -> Path:
        assert self.folder is not None
        return self.folder / f"{key.digest()}.npz"

    def _write(self, key: FileKey, analysis: FileAnalysis) -> None:
        s = analysis.stats
        meta = {"format": FORMAT, "key": asdict(key), "true_peak_db": analysis.true_peak_db,
                "stats": {k: getattr(s, k) for k in _STATS_SCALARS},
                "peak_db": [w.peak_db for w in analysis.windows]}
        arrays = {"meta": np.array(json.dumps(meta)), "envelope": s.envelope(),
                  "channel_sums": s.channel_sums if s.channel_sums is not None else np.zeros(0)}
        for i, w in enumerate(analysis.windows):
            arrays[f"energies_{i}"], arrays[f"block_db_{i}"] = w.energies, w.block_db
        tmp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".part")
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, self._path(key))
        except OSError:  # a cache that cannot be written only costs time; leave no partial file behind
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def _read(self, key: FileKey) -> FileAnalysis | None:
        try:
            with np.load(self._path(key), allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                if meta.get("format") != FORMAT or meta.get("key") != json.loads(json.dumps(asdict(key))):
                    return None
                windows = tuple(TrackWindow(data[f"energies_{i}"], float(p), data[f"block_db_{i}"])
                                for i, p in enumerate(meta["peak_db"]))
                envelope, sums = data["envelope"], data["channel_sums"]
            scalars = {k: meta["stats"][k] for k in _STATS_SCALARS}
            true_peak_db = meta["true_peak_db"]
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
            return None  # missing, damaged or foreign: measure the file again
        info = AudioInfo(key.path, *key.header, stamp=(key.size, key.mtime_ns))
        stats = FileStats("", Path(key.path).name, "other", info, key.session_rate)
        for k, v in scalars.items():
            setattr(stats, k, v)
        stats.channel_sums = sums if sums.size else None
        stats.restore_envelope(envelope)
        return FileAnalysis(stats, windows, true_peak_db)
