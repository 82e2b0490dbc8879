"""Streamed analysis of a DAW export: every file decoded once, in blocks, never held whole.

The song is walked in time blocks (the measurement windows, and blocks of the same
length outside the span). In each block every file is decoded, resampled to the
session rate if needed (soxr, streaming), gathered into the doctor's per-file
statistics and added into the window's role sums (model.audio.measure.WindowBuilder),
with the files spread over a thread pool (libsndfile, soxr and numpy release the GIL) or,
for big sessions, over worker processes (model.audio.filepool: libebur128 does not).
Either way the sums are added in one fixed order, whichever file is read first, so the same
files on the same machine always give the same readings to the last bit.
Memory is O(files x block), not O(files x song). The readings equal ``measure_session``
on loaded tracks, and the findings equal ``check_session`` (tested). Worker processes are
spawned, so a script calling this at import level needs ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np

from model.audio.cache import AnalysisCache, FileAnalysis, FileKey
from model.audio.decode import BlockReader
from model.audio.doctor import FileStats, check_files
from model.audio.dsp import TRUE_PEAK_CONTEXT, NEG_INF, StreamResampler, true_peak_db
from model.audio.findings import Finding
from model.audio.measure import (Cancellable, Measurements, TrackWindow, WindowBuilder, WindowLevels,
                                 metered_alone, set_track_true_peaks, window_spans)
from model.audio.roles import RoleGuess, guess_roles
from model.audio.tracks import (Gains, SessionPlan, Track, TrackSet, conversion_notes, frames_at, lead_frames,
                                plan_session)


#: Given each window's role sums: (its first sample, {role: (frames, 2) float32}).
RoleSumsHook = Callable[[int, dict[str, np.ndarray]], None]

@dataclass(frozen=True)
class SessionAnalysis:
    """Measurements, the export doctor's findings and the load notes of a streamed session."""

    measurements: Measurements
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]

    @property
    def tracks(self) -> TrackSet:
        return self.measurements.track_set


def session_tracks(plan: SessionPlan, roles: Mapping[str, str] | None = None) -> TrackSet:
    """The plan's tracks with their roles (guessed from names, ``roles`` by id overriding) and no audio held.

    Each track's ``audio`` is a read-only zero-stride view of the right shape (no memory):
    the streamed analysis reads the files themselves.
    """
    tracks = []
    guesses = guess_roles([path.name for path in plan.paths])
    for tid, path, info, guess in zip(plan.ids, plan.paths, plan.infos, guesses):
        role = RoleGuess(roles[tid], "user", None) if roles and tid in roles else guess  # type: ignore[arg-type]
        unheld = np.broadcast_to(np.zeros((1, info.decoded_channels), dtype=np.float32),
                                 (plan.frames, info.decoded_channels))
        tracks.append(Track(tid, str(path), path.name, role, unheld, plan.sample_rate, info))
    return TrackSet(tuple(tracks), plan.sample_rate)


class FileStream:
    """One file at the session rate, block by block, zero-padded to the session length."""

    def __init__(self, track: Track, length: int) -> None:
        self.track = track
        info = track.info
        self._reader = BlockReader(info)
        self._resample = (StreamResampler(info.sample_rate, track.sample_rate, info.decoded_channels)
                          if info.sample_rate != track.sample_rate else None)
        self._content = min(length, frames_at(info, track.sample_rate))
        self._lead = lead_frames(info, track.sample_rate)    # silence before its start on the timeline
        self._pending = np.zeros((0, info.decoded_channels), dtype=np.float32)
        self.pos = 0
        self.stats = FileStats(track.id, track.name, track.role.role, info, track.sample_rate)
        self.true_peak = NEG_INF
        self._tp_tail = self._pending

    def read(self, n: int) -> np.ndarray:
        """The next n frames at the session rate (silence before the file's start and after its end)."""
        lead = min(n, max(0, self._lead - self.pos))
        want = max(0, min(n, self._content - self.pos) - lead)
        while len(self._pending) < want and self._reader is not None:
            if self._resample is None:
                got = self._reader.read(want - len(self._pending))
                last = len(got) == 0
            else:
                need = math.ceil((want - len(self._pending)) * self.track.info.sample_rate / self.track.sample_rate)
                got = self._reader.read(max(need, 1024))
                # a file that decodes fewer frames than its header says (truncated) ends when nothing comes back
                last = len(got) == 0 or self._reader.pos >= self.track.info.frames
                got = self._resample(got, last=last)
            self._pending = np.concatenate([self._pending, got]) if len(self._pending) else got
            if last:
                self._reader.close()
                self._reader = None
        block = self._pending[:want]
        self._pending = self._pending[want:].copy()  # a view would keep the whole decoded block alive
        if len(block) < n:
            padded = np.zeros((n, block.shape[1]), dtype=np.float32)
            padded[lead:lead + len(block)] = block
            block = padded
        self.pos += n
        return block

    def measure_true_peak(self, block: np.ndarray) -> None:
        """Fold a block into the file's true peak; the interpolator sees the previous block's last frames."""
        joined = np.concatenate([self._tp_tail, block]) if len(self._tp_tail) else block
        self.true_peak = max(self.true_peak, true_peak_db(joined, self.track.sample_rate))
        self._tp_tail = joined[-TRUE_PEAK_CONTEXT:].copy()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def analyse_session(plan: SessionPlan, roles: Mapping[str, str] | None = None, window_s: float = 10.0,
                    span: tuple[float, float] | None = None, true_peak: bool = False, anchor: str | None = None,
                    gains: Gains | None = None, per_track: bool = True, workers: int | None = None,
                    cache: AnalysisCache | None = None, processes: bool | None = None,
                    on_role_sums: RoleSumsHook | None = None, also_alone: Iterable[str] = (),
                    cancel: Cancellable | None = None) -> SessionAnalysis:
    """Decode every file of the plan once and measure it (see the module docstring).

    ``roles`` overrides guessed roles by track id; ``anchor`` makes the doctor raise RoleError
    when that role has no audible, non-silent track. Raises AudioFormatError for a file that
    cannot be decoded. With a ``cache``, files analysed before (same stamp and settings) are
    still decoded for the role sums and the mix, but not metered or checked again; new
    analyses are stored. ``workers`` threads (default: one per core) share the files, or with
    ``processes`` as many worker processes (model.audio.filepool); by default big sessions use
    processes, since libebur128's metering holds the GIL. ``on_role_sums(first sample, {role: (frames, 2)
    float32})`` is given each window's role sums (audible tracks at their gains) in this process, in time
    order, one call at a time; the windows tile the span (e.g. model.audio.spectral.BandFrameStream.add).
    ``also_alone`` names tracks to meter on their own without ``per_track`` (e.g. a lead vocal). ``cancel`` is
    checked before each block (Cancelled; every file closed, every worker ended).
    """
    gains = gains or Gains()
    tset = session_tracks(plan, roles)
    sr, length = plan.sample_rate, plan.frames
    audible = [t for t in tset.tracks if gains.audible(t)]
    role_of = {t.id: t.role.role for t in audible}
    keys = {t.id: FileKey.of(t.info, sr, length, window_s, span) for t in tset.tracks}
    known = {tid: hit for tid, key in keys.items() if cache is not None and (hit := cache.get(key)) is not None
             and (not true_peak or hit.true_peak_db is not None)}
    alone = metered_alone(role_of, per_track) | (set(also_alone) & set(role_of))
    job = BlockJob(sr, role_of, alone, {t.id: gains.linear(t) for t in audible},
                   {tid: hit.windows for tid, hit in known.items()}, true_peak)
    pieces = _pieces(length, sr, window_s, span)
    n = workers or os.cpu_count() or 1
    if processes is None:
        processes = worker_processes(len(tset.tracks), length, sr, n) > 0
    if processes:
        from model.audio.filepool import analyse_in_processes

        files, windows, measured = analyse_in_processes(plan, roles, job, pieces, min(n, MAX_PROCESSES),
                                                        on_role_sums, cancel)
    else:
        files, windows, measured = _analyse_in_threads(tset, length, job, pieces, n, on_role_sums, cancel)
    for t in tset.tracks:
        if t.id in known:
            files[t.id] = (known[t.id].for_track(t.id, t.name, t.role.role), known[t.id].true_peak_db)
        elif cache is not None and len(measured[t.id]) == len(windows):
            stats, peak = files[t.id]
            cache.put(keys[t.id], FileAnalysis(stats, tuple(measured[t.id]), peak if true_peak else None))
    measurements = Measurements(tset, gains, window_s, windows)
    if true_peak:
        set_track_true_peaks(measurements, {tid: files[tid][1] + 20 * math.log10(gain)
                                            for tid, gain in job.gain_of.items()})
    findings = check_files([files[t.id][0] for t in tset.tracks], sr, anchor, set(job.gain_of))
    notes = list(plan.notes) + conversion_notes([(t.name, t.info) for t in tset.tracks], sr, length)
    return SessionAnalysis(measurements, tuple(findings), tuple(notes))


#: Sessions with fewer files, or shorter, stay on threads: there the main process's share (the roles and
#: the mix) and starting the workers cost more than parallel metering saves. Measured on 2 busy cores:
#: 9 files x 61 s 1.1 s on threads vs 1.9 s in processes, 6 x 5 min 4.3 vs 6.1 s, 24 x 5 min 15.6 vs 14.5 s.
PROCESS_MIN_FILES = 16
PROCESS_MIN_S = 60.0
#: Each worker process holds 60-80 MB (its imports, blocks and role buffers; measured on the 96-track
#: session), so more than six would take the whole analysis past 1 GB on a many-core machine.
MAX_PROCESSES = 6


def worker_processes(files: int, frames: int, sample_rate: int, cores: int | None = None) -> int:
    """How many worker processes decode and meter a session of ``files`` files and ``frames`` frames:
    0 (threads) on one core or below PROCESS_MIN_FILES and PROCESS_MIN_S, else one a core up to MAX_PROCESSES."""
    cores = cores or os.cpu_count() or 1
    if cores < 2 or files < PROCESS_MIN_FILES or frames < PROCESS_MIN_S * sample_rate:
        return 0
    return min(cores, MAX_PROCESSES)


@dataclass(frozen=True)
class BlockJob:
    """What every block of every file needs: which tracks sound (with gains and roles), which are metered
    alone, which have known (cached) window readings, and whether true peaks are measured."""

    sample_rate: int
    role_of: dict[str, str]
    alone: set[str]
    gain_of: dict[str, float]
    known: dict[str, tuple[TrackWindow, ...]]
    true_peak: bool

    def step(self, s: FileStream, n: int, builder: WindowBuilder | None,
             index: int) -> tuple[str, np.ndarray] | None:
        """The file's next n frames into its doctor statistics, true peak and readings.

        Returns (role, gained block) for the window's role sums, which the caller adds in the
        session's track order (``WindowBuilder.add_role_sum``), or None when it has no share in them.
        """
        tid = s.track.id
        if tid not in self.gain_of and tid in self.known:
            return None  # muted, and its statistics are known: nothing needs its audio
        block = s.read(n)
        peak = None
        if tid not in self.known:
            peak = s.stats.add(block)
            if self.true_peak and builder is not None:   # the judged span's true peak, as the mix's
                s.measure_true_peak(block)
        if builder is None or tid not in self.gain_of:
            return None
        return builder.meter(tid, block, self.gain_of[tid], self.known[tid][index] if tid in self.known else None,
                             peak)


#: What an analysis path returns: each file's (doctor statistics, true peak), the windows' readings,
#: and each track's unity-gain readings per window (for the cache).
Analysed = tuple[dict[str, tuple[FileStats, float]], list[WindowLevels], dict[str, list[TrackWindow]]]


def _analyse_in_threads(tset: TrackSet, length: int, job: BlockJob, pieces: list[Piece], workers: int,
                        on_role_sums: RoleSumsHook | None = None, cancel: Cancellable | None = None) -> Analysed:
    streams: list[FileStream] = []
    try:
        for t in tset.tracks:
            streams.append(FileStream(t, length))
    except BaseException:
        for s in streams:
            s.close()
        raise
    measured: dict[str, list[TrackWindow]] = {s.track.id: [] for s in streams}
    finished = []
    try:
        # Roles and the mix of one window are metered on their own thread while the files
        # are decoded for the next one.
        with ThreadPoolExecutor(max_workers=workers) as pool, ThreadPoolExecutor(max_workers=1) as finisher:
            index = -1
            for start, end, window in pieces:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                builder = WindowBuilder(job.sample_rate, *window, job.role_of, job.alone) if window else None
                index += window is not None
                steps = _in_order(pool, lambda s, n=end - start, b=builder, i=index: job.step(s, n, b, i), streams,
                                  2 * workers)
                for share in steps:
                    if share is not None:
                        builder.add_role_sum(*share)
                if builder is not None:
                    for tid, readings in builder.track_windows.items():
                        measured[tid].append(readings)
                if finished:
                    finished[-1].result()  # at most one window's sums waiting: memory stays O(block)
                if builder is not None:
                    finished.append(finisher.submit(builder.finish, job.true_peak, on_role_sums))
            windows = [f.result() for f in finished]
    finally:
        for s in streams:
            s.close()
    return {s.track.id: (s.stats, s.true_peak) for s in streams}, windows, measured


def _in_order(pool: ThreadPoolExecutor, fn: Callable, items: Iterable, ahead: int) -> Iterator:
    """fn(item) for each item on the pool, yielded in the items' order, with at most ``ahead`` submitted
    and not yet yielded (so few finished blocks wait for a slow one before them)."""
    pending: deque[Future] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def analyse_files(paths: Iterable[str | os.PathLike], roles: Mapping[str, str] | None = None,
                  window_s: float = 10.0, span: tuple[float, float] | None = None, true_peak: bool = False,
                  anchor: str | None = None) -> SessionAnalysis:
    """Probe the paths (files and folders, strict) and analyse them in one streamed pass."""
    return analyse_session(plan_session(paths, strict=True), roles, window_s, span, true_peak, anchor)


#: A frame range of the song, with its measurement window (start_s, end_s, full) or None outside the windows.
Piece = tuple[int, int, "tuple[float, float, bool] | None"]


def _pieces(length: int, sr: int, window_s: float, span: tuple[float, float] | None) -> list[Piece]:
    """Consecutive frame ranges covering the song: the measurement windows, and blocks outside them."""
    windows = window_spans(length / sr, window_s, span)
    block = max(1, int(round(window_s * sr)))
    out: list[Piece] = []

    def gap(a: int, b: int) -> None:
        for x in range(a, b, block):
            out.append((x, min(b, x + block), None))

    pos = 0
    for start_s, end_s, full in windows:
        a, b = int(round(start_s * sr)), int(round(end_s * sr))
        gap(pos, a)
        out.append((a, b, (start_s, end_s, full)))
        pos = b
    gap(pos, length)
    return out
