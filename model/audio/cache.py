"""Per-file analysis cache: what one file contributes to an analysis, found again by its stamp.

An entry holds the doctor's statistics (FileStats), the file's unity-gain readings in
every window (TrackWindow) and its true peak. It is keyed by the absolute path, size,
mtime_ns, header, the session rate and length, the window length and the span, so a
rewritten file, a new session rate or another span misses and is measured again, while an
unchanged file is found again. The CLI's streamed analysis (``analyse_session(..., cache=)``)
and the app's load both write complete entries (statistics and windows), in memory and, with
a folder, on disk as one ``.npz`` each (no pickle), written to a temporary name and renamed.

The app's critique, re-check and meters then meter only the role sums and the mix
(``known_windows`` / ``known_stats``); what they measure of other windows (a span) is kept in
memory only (``keep``). Statistics depend on no window, so an entry holding them is also found
by the file alone (``FileKey.stats_key``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import threading
import time
import zipfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Hashable, Mapping, Sequence, TypeVar

import numpy as np

from model.audio.decode import AudioInfo
from model.audio.doctor import FileStats
from model.audio.measure import TrackWindow
from model.audio.tracks import Track, TrackSet

if TYPE_CHECKING:
    from model.audio.measure import Cancellable

#: The entries' format; /2: MP3 files are decoded in one read (model.audio.decode.reads_whole) and files of more
#: than two channels are folded by summing, so analyses of those written by /1 are wrong and are not read; /3: a
#: file's true peak is the judged span's (/2 held the whole file's under a span's key) and a float file's samples
#: over full scale are no clipped run.
FORMAT = "mixingbuddy.file_analysis/3"
#: What the folder on disk may hold: the least recently used entries beyond it are deleted (``prune``).
DISK_BYTES = 256 * 1024**2
#: Entries unused this long are deleted whatever the folder holds.
DISK_MAX_AGE_S = 90 * 24 * 3600
#: A temporary file older than this is left by a write that never finished.
STALE_PART_S = 3600
#: Whole measurements kept by ``AnalysisCache.shared`` (a few gain settings: the current mix, A/B, a re-check).
SHARED_RESULTS = 4
T = TypeVar("T")
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
    side: str | None = None  # AudioInfo.side: a side of a left/right pair decodes to stereo
    start_s: float = 0.0     # AudioInfo.start_s: where it starts on the session's timeline
    positions: tuple[str, ...] = ()   # AudioInfo.positions: how more than two channels fold to stereo

    @classmethod
    def of(cls, info: AudioInfo, session_rate: int, session_frames: int, window_s: float,
           span: tuple[float, float] | None) -> "FileKey":
        return cls(os.path.abspath(info.path), info.stamp[0], info.stamp[1],
                   (info.sample_rate, info.channels, info.frames, info.format, info.subtype),
                   int(session_rate), int(session_frames), float(window_s),
                   (float(span[0]), float(span[1])) if span else None, info.side, float(info.start_s),
                   tuple(info.positions))

    @classmethod
    def of_track(cls, track: Track, tracks: TrackSet, window_s: float = 0.0,
                 span: tuple[float, float] | None = None) -> "FileKey":
        """The key of a loaded track's file in its track set (``window_s=0``: readings that need no window)."""
        return cls.of(track.info, tracks.sample_rate, tracks.frames, window_s, span)

    def stats_key(self) -> "FileKey":
        """The key of what depends on the file alone (the doctor's statistics): no window, no span."""
        return replace(self, window_s=0.0, span=None)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class FileAnalysis:
    """One file's cached contribution: doctor statistics, unity-gain window readings, true peak (dBTP).

    ``stats`` is None in an entry that holds only window readings (e.g. a critique's of a span, kept in memory).
    """

    stats: FileStats | None
    windows: tuple[TrackWindow, ...]
    true_peak_db: float | None = None

    def for_track(self, track_id: str, name: str, role: str) -> FileStats:
        """The statistics under the track's current id, name and role."""
        assert self.stats is not None, "an entry of window readings only"
        stats = copy.copy(self.stats)
        stats.id, stats.name, stats.role = track_id, name, role
        return stats


class AnalysisCache:
    """Per-file analyses in memory (the newest ``max_entries``), and on disk when ``folder`` is given."""

    def __init__(self, folder: str | os.PathLike | None = None, max_entries: int = 2048) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.max_entries = max_entries
        self._memory: dict[FileKey, FileAnalysis] = {}
        self._lock = threading.Lock()   # the app's critique and meters use one cache from two threads
        self._results: dict[Hashable, object] = {}
        self._pending: dict[Hashable, threading.Event] = {}

    def get(self, key: FileKey) -> FileAnalysis | None:
        with self._lock:
            hit = self._memory.get(key)
        if hit is None and self.folder is not None:
            hit = self._read(key)
            if hit is not None:
                self._remember(key, hit)
        return hit

    def put(self, key: FileKey, analysis: FileAnalysis) -> None:
        self._remember(key, analysis)
        if self.folder is not None and analysis.stats is not None:
            self._write(key, analysis)

    def _remember(self, key: FileKey, analysis: FileAnalysis) -> None:
        entries = [(key, analysis)]
        if analysis.stats is not None and key.stats_key() != key:
            entries.append((key.stats_key(), FileAnalysis(analysis.stats, ())))
        with self._lock:
            for k, a in entries:
                self._memory.pop(k, None)
                self._memory[k] = a
            while len(self._memory) > self.max_entries:
                self._memory.pop(next(iter(self._memory)))

    # --- loaded tracks (the app) ---------------------------------------------------------
    def known_windows(self, tracks: TrackSet, window_s: float,
                      span: tuple[float, float] | None) -> dict[str, tuple[TrackWindow, ...]]:
        """The cached unity-gain window readings of the tracks' files, by track id (for measure_session)."""
        out = {}
        for t in tracks.tracks:
            hit = self.get(FileKey.of_track(t, tracks, window_s, span))
            if hit is not None and hit.windows:
                out[t.id] = hit.windows
        return out

    def known_stats(self, tracks: TrackSet) -> dict[str, FileStats]:
        """The cached doctor statistics of the tracks' files, under each track's id, name and role."""
        out = {}
        for t in tracks.tracks:
            hit = self.get(FileKey.of_track(t, tracks))
            if hit is not None and hit.stats is not None:
                out[t.id] = hit.for_track(t.id, t.name, t.role.role)
        return out

    def keep(self, tracks: TrackSet, window_s: float, span: tuple[float, float] | None,
             windows: Mapping[str, Sequence[TrackWindow]] = {}, stats: Mapping[str, FileStats] = {}) -> None:
        """Remember loaded tracks' window readings and doctor statistics (by track id), in memory only
        (partial entries: a file's complete one comes from its load, ``put``)."""
        for t in tracks.tracks:
            if t.id in windows:
                self._remember(FileKey.of_track(t, tracks, window_s, span), FileAnalysis(None, tuple(windows[t.id])))
            if t.id in stats:
                self._remember(FileKey.of_track(t, tracks), FileAnalysis(stats[t.id], ()))

    # --- whole measurements (the app's meters and critique ask for the same one) ------------
    def shared(self, key: Hashable, compute: Callable[[], T], cancel: "Cancellable | None" = None) -> T:
        """``compute()``'s result for ``key``, computed once: a caller asking while another computes it waits
        for that result (checking ``cancel``) instead of doing the same work beside it. The newest
        SHARED_RESULTS results are kept. If the computing caller fails or is cancelled, a waiter computes."""
        while True:
            with self._lock:
                if key in self._results:
                    return self._results[key]
                pending = self._pending.get(key)
                owner = pending is None
                if owner:
                    pending = self._pending[key] = threading.Event()
            if owner:
                try:
                    result = compute()
                    with self._lock:
                        self._results[key] = result
                        while len(self._results) > SHARED_RESULTS:
                            self._results.pop(next(iter(self._results)))
                    return result
                finally:
                    with self._lock:
                        del self._pending[key]
                    pending.set()
            while not pending.wait(0.05):
                if cancel is not None:
                    cancel.raise_if_cancelled()

    def forget_shared(self) -> None:
        """Drop the kept whole measurements (they refer to their tracks' audio)."""
        with self._lock:
            self._results.clear()

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

    def prune(self, max_bytes: int = DISK_BYTES, max_age_s: float = DISK_MAX_AGE_S) -> int:
        """Delete entries on disk unused for ``max_age_s``, then the least recently used beyond ``max_bytes``,
        writes that never finished, and the loudness file of earlier versions; returns how many files went."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        now = time.time()
        entries, gone = [], []
        for path in self.folder.iterdir():
            try:
                st = path.stat()
            except OSError:
                continue
            if path.suffix == ".npz":
                entries.append((st.st_mtime, st.st_size, path))
            elif path.suffix == ".part" and now - st.st_mtime > STALE_PART_S:
                gone.append(path)
        entries.sort()
        total = sum(size for _, size, _ in entries)
        for mtime, size, path in entries:
            if total <= max_bytes and now - mtime <= max_age_s:
                break
            gone.append(path)
            total -= size
        old_loudness = self.folder.parent / "loudness.json"   # written by versions before this cache
        if old_loudness.is_file():
            gone.append(old_loudness)
        removed = 0
        for path in gone:
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass
        return removed

    def _read(self, key: FileKey) -> FileAnalysis | None:
        path = self._path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
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
        try:
            os.utime(path)   # used now: ``prune`` deletes the least recently used first
        except OSError:
            pass
        info = AudioInfo(key.path, *key.header, stamp=(key.size, key.mtime_ns), side=key.side,
                         start_s=key.start_s, positions=tuple(key.positions))
        stats = FileStats("", Path(key.path).name, "other", info, key.session_rate)
        for k, v in scalars.items():
            setattr(stats, k, v)
        stats.channel_sums = sums if sums.size else None
        stats.restore_envelope(envelope)
        return FileAnalysis(stats, windows, true_peak_db)
