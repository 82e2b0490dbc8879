"""Streamed analysis of a DAW export: every file decoded once, in blocks, never held whole.

The song is walked in time blocks (the measurement windows, and blocks of the same
length outside the span). In each block every file is decoded, resampled to the
session rate if needed (soxr, streaming), gathered into the doctor's per-file
statistics and added into the window's role sums (model.audio.measure.WindowBuilder),
with the files spread over a thread pool: libsndfile, soxr and numpy release the GIL.
Memory is O(files x block), not O(files x song). The readings equal ``measure_session``
on loaded tracks, and the findings equal ``check_session`` (tested).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import numpy as np

from model.audio.cache import AnalysisCache, FileAnalysis, FileKey
from model.audio.decode import BlockReader, out_channels
from model.audio.doctor import FileStats, check_files
from model.audio.dsp import TRUE_PEAK_CONTEXT, NEG_INF, StreamResampler, true_peak_db
from model.audio.findings import Finding
from model.audio.measure import (Measurements, TrackWindow, WindowBuilder, metered_alone, set_track_true_peaks,
                                 window_spans)
from model.audio.roles import RoleGuess, guess_role
from model.audio.tracks import Gains, SessionPlan, Track, TrackSet, conversion_notes, frames_at, plan_session


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
    for tid, path, info in zip(plan.ids, plan.paths, plan.infos):
        role = RoleGuess(roles[tid], "user", None) if roles and tid in roles else guess_role(path.name)  # type: ignore[arg-type]
        unheld = np.broadcast_to(np.zeros((1, out_channels(info.channels)), dtype=np.float32),
                                 (plan.frames, out_channels(info.channels)))
        tracks.append(Track(tid, str(path), path.name, role, unheld, plan.sample_rate, info))
    return TrackSet(tuple(tracks), plan.sample_rate)


class FileStream:
    """One file at the session rate, block by block, zero-padded to the session length."""

    def __init__(self, track: Track, length: int) -> None:
        self.track = track
        info = track.info
        self._reader = BlockReader(info)
        self._resample = (StreamResampler(info.sample_rate, track.sample_rate, out_channels(info.channels))
                          if info.sample_rate != track.sample_rate else None)
        self._content = min(length, frames_at(info, track.sample_rate))
        self._pending = np.zeros((0, out_channels(info.channels)), dtype=np.float32)
        self.pos = 0
        self.stats = FileStats(track.id, track.name, track.role.role, info, track.sample_rate)
        self.true_peak = NEG_INF
        self._tp_tail = self._pending

    def read(self, n: int) -> np.ndarray:
        """The next n frames at the session rate (silence after the file's end)."""
        want = max(0, min(n, self._content - self.pos))
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
            padded[: len(block)] = block
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
                    cache: AnalysisCache | None = None,
                    on_role_sums: Callable[[int, dict[str, np.ndarray]], None] | None = None) -> SessionAnalysis:
    """Decode every file of the plan once and measure it (see the module docstring).

    ``roles`` overrides guessed roles by track id; ``anchor`` makes the doctor raise RoleError
    when that role has no audible, non-silent track. Raises AudioFormatError for a file that
    cannot be decoded. With a ``cache``, files analysed before (same stamp and settings) are
    still decoded for the role sums and the mix, but not metered or checked again; new
    analyses are stored. ``on_role_sums(first sample, {role: (frames, 2) float32})`` is given each
    window's role sums (audible tracks at their gains), in time order, one call at a time; the
    windows tile the span (e.g. model.audio.spectral.BandFrameStream.add).
    """
    gains = gains or Gains()
    tset = session_tracks(plan, roles)
    sr, length = plan.sample_rate, plan.frames
    audible = [t for t in tset.tracks if gains.audible(t)]
    role_of = {t.id: t.role.role for t in audible}
    alone = metered_alone(role_of, per_track)
    gain_of = {t.id: gains.linear(t) for t in audible}
    streams: list[FileStream] = []
    try:
        for t in tset.tracks:
            streams.append(FileStream(t, length))
    except BaseException:
        for s in streams:
            s.close()
        raise
    keys = {s.track.id: FileKey.of(s.track.info, sr, length, window_s, span) for s in streams}
    known = {tid: hit for tid, key in keys.items() if cache is not None and (hit := cache.get(key)) is not None
             and (not true_peak or hit.true_peak_db is not None)}
    measured: dict[str, list[TrackWindow]] = {s.track.id: [] for s in streams}
    finished = []
    try:
        # Roles and the mix of one window are metered on their own thread while the files
        # are decoded for the next one.
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool, \
                ThreadPoolExecutor(max_workers=1) as finisher:
            index = -1
            for start, end, window in _pieces(length, sr, window_s, span):
                builder = WindowBuilder(sr, *window, role_of, alone) if window else None
                index += window is not None

                def step(s: FileStream, builder=builder, n=end - start, index=index) -> None:
                    tid = s.track.id
                    if tid not in gain_of and tid in known:
                        return  # muted, and its statistics are known: nothing needs its audio
                    block = s.read(n)
                    if tid not in known:
                        s.stats.add(block)
                        if true_peak:
                            s.measure_true_peak(block)
                    if builder is not None and tid in gain_of:
                        builder.add(tid, block, gain_of[tid], known[tid].windows[index] if tid in known else None)
                        if tid in builder.track_windows:
                            measured[tid].append(builder.track_windows[tid])

                list(pool.map(step, streams))
                if finished:
                    finished[-1].result()  # at most one window's sums waiting: memory stays O(block)
                if builder is not None:
                    finished.append(finisher.submit(builder.finish, true_peak, on_role_sums))
            windows = [f.result() for f in finished]
    finally:
        for s in streams:
            s.close()
    for s in streams:
        tid = s.track.id
        if tid in known:
            s.stats, s.true_peak = known[tid].for_track(tid, s.track.name, s.track.role.role), known[tid].true_peak_db
        elif cache is not None and len(measured[tid]) == len(windows):
            cache.put(keys[tid], FileAnalysis(s.stats, tuple(measured[tid]), s.true_peak if true_peak else None))
    measurements = Measurements(tset, gains, window_s, windows)
    if true_peak:
        set_track_true_peaks(measurements, {s.track.id: s.true_peak + 20 * math.log10(gain_of[s.track.id])
                                            for s in streams if s.track.id in gain_of})
    findings = check_files([s.stats for s in streams], sr, anchor, set(gain_of))
    notes = list(plan.notes) + conversion_notes([(t.name, t.info) for t in tset.tracks], sr, length)
    return SessionAnalysis(measurements, tuple(findings), tuple(notes))


def analyse_files(paths: Iterable[str | os.PathLike], roles: Mapping[str, str] | None = None,
                  window_s: float = 10.0, span: tuple[float, float] | None = None, true_peak: bool = False,
                  anchor: str | None = None) -> SessionAnalysis:
    """Probe the paths (files and folders, strict) and analyse them in one streamed pass."""
    return analyse_session(plan_session(paths, strict=True), roles, window_s, span, true_peak, anchor)


def _pieces(length: int, sr: int, window_s: float, span: tuple[float, float] | None
            ) -> list[tuple[int, int, tuple[float, float, bool] | None]]:
    """Consecutive frame ranges covering the song: the measurement windows, and blocks outside them."""
    windows = window_spans(length / sr, window_s, span)
    block = max(1, int(round(window_s * sr)))
    out: list[tuple[int, int, tuple[float, float, bool] | None]] = []

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
