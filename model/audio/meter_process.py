"""measure_session in a long-lived worker process, for tracks whose audio lies in a memory-mapped file.

The app holds its decoded tracks as rows of one file mapped into memory (the preview buffer) and
plays them from an audio callback written in Python. libebur128's metering holds the interpreter
lock, and the callback's numpy calls let go of it, so metering on a thread of the app makes every
callback wait to take the lock back. Here one spawned process maps the same file (its descriptor
is passed over the pipe), measures, and sends back the measurements, which hold no audio: the
app's own threads then only wait. Audio that is not in such a file (or a platform without
descriptor passing) is measured in the calling thread, as ``measure_session`` does.
"""

from __future__ import annotations

import dataclasses
import mmap
import multiprocessing as mp
import os
import threading
from dataclasses import dataclass
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import Callable, Mapping, Sequence

import numpy as np

import model.errors
from model.audio.measure import Measurements, TrackWindow, measure_session
from model.audio.processes import (MappedFile, MappedView, StopToken, array_at, end_workers, error_reply,
                                   ignore_interrupts, lower_priority, mapped_view, reply_payload, start_worker,
                                   stop_flag, without_audio)
from model.audio.tracks import Gains, Track, TrackSet

_POLL_S = 0.05     # how often a waiting caller looks at its cancel token
_STOP_S = 5.0      # how long the process may take to end before it is killed


#: Finds the mapped file an array's memory belongs to (None: ordinary memory).
MappedFileOf = Callable[[np.ndarray], "MappedFile | None"]


@dataclass(frozen=True)
class _Request:
    """One measurement for the process: the tracks without audio, and where each one's audio lies in the file."""

    tracks: tuple[Track, ...]
    views: tuple[MappedView, ...]
    sample_rate: int
    length: int
    gains: Gains
    window_s: float
    span: tuple[float, float] | None
    true_peak: bool
    per_track: bool
    known: Mapping[str, Sequence[TrackWindow]] | None


class MeteringProcess:
    """``measure_session`` run in one worker process, started on first use and kept; one measurement at a time."""

    def __init__(self, mapped_file_of: MappedFileOf) -> None:
        self._mapped_file_of = mapped_file_of
        self._lock = threading.Lock()
        self._proc: mp.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._stop = None
        self._closed = False

    def measure_session(self, tset: TrackSet, gains: Gains, window_s: float = 10.0,
                        span: tuple[float, float] | None = None, true_peak: bool = True, per_track: bool = True,
                        known: Mapping[str, Sequence[TrackWindow]] | None = None, cancel=None,
                        progress: Callable[[float, str], None] | None = None) -> Measurements:
        """As ``model.audio.measure.measure_session``; in the worker process when the audio is in a mapped file."""
        args = (gains, window_s, span, true_peak, per_track, known)
        mapped = self._mapped_file_of(tset.tracks[0].audio) if tset.tracks else None
        request = self._request(tset, mapped, *args) if mapped is not None else None
        if request is None:
            return measure_session(tset, *args, cancel=cancel, progress=progress)
        while not self._lock.acquire(timeout=_POLL_S):   # another measurement runs: wait, but stay cancellable
            if cancel is not None:
                cancel.raise_if_cancelled()
        try:
            if self._closed:   # the app is shutting down: start no process that nobody would end
                return measure_session(tset, *args, cancel=cancel, progress=progress)
            if cancel is not None:
                cancel.raise_if_cancelled()
            try:
                conn, pid = self._started()
                self._stop.value = False
                conn.send(("measure", request))
                reduction.send_handle(conn, mapped.fd, pid)
            except (OSError, ValueError):   # no process could start or take the file: measure here
                self._end()
                return measure_session(tset, *args, cancel=cancel, progress=progress)
            result = self._wait(conn, cancel, progress)
        finally:
            self._lock.release()
        result.track_set = tset
        return result

    def close(self) -> None:
        """End the worker process; later measurements (a job that was ending) run in the calling thread."""
        with self._lock:
            self._closed = True
            self._end()

    # --- this process ------------------------------------------------------------------------
    def _request(self, tset: TrackSet, mapped: MappedFile, gains, window_s, span, true_peak, per_track,
                 known) -> _Request | None:
        if not hasattr(reduction, "send_handle"):   # no descriptor passing on this platform
            return None
        views = []
        for t in tset.tracks:
            view = mapped_view(t.audio, mapped) if self._mapped_file_of(t.audio) == mapped else None
            if view is None:
                return None   # not every track is in the one mapped file: measure here
            views.append(view)
        return _Request(tuple(without_audio(t) for t in tset.tracks), tuple(views), tset.sample_rate, mapped.length, gains, window_s, span, true_peak,
                        per_track, known)

    def _started(self) -> tuple[Connection, int]:
        if self._proc is None or not self._proc.is_alive():
            self._end()
            self._stop = stop_flag()
            self._proc, self._conn = start_worker(_serve, (self._stop,), "mixingbuddy-meters")
        return self._conn, self._proc.pid

    def _wait(self, conn: Connection, cancel, progress) -> Measurements:
        while True:
            if cancel is not None and cancel.cancelled:
                self._stop.value = True   # the process stops before its next track and answers Cancelled
            try:
                if not conn.poll(_POLL_S):
                    if not self._proc.is_alive() and not conn.poll():
                        raise EOFError
                    continue
                message = conn.recv()
            except (EOFError, OSError):
                self._end()
                raise model.errors.MixingBuddyError("The metering process ended unexpectedly.") from None
            if message[0] == "progress":
                if progress is not None:
                    progress(*message[1:])
                continue
            return reply_payload(message)

    def _end(self) -> None:
        if self._proc is not None:
            end_workers([(self._proc, self._conn)], _STOP_S)
        self._proc = self._conn = None


# --- the worker process ----------------------------------------------------------------------
def _serve(conn: Connection, stop) -> None:
    """The worker process: answer measurement requests until the main process closes the pipe."""
    ignore_interrupts()
    lower_priority()
    token = StopToken(stop)
    while True:
        try:
            _, request = conn.recv()
            fd = reduction.recv_handle(conn)
        except (EOFError, OSError):
            return
        try:
            result = _measure(request, fd, token, lambda f, msg: conn.send(("progress", f, msg)))
            reply = ("done", result)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back as one message
            reply = error_reply(exc)
        try:
            conn.send(reply)
        except OSError:
            return


def _measure(request: _Request, fd: int, token: StopToken, progress) -> Measurements:
    try:
        mapped = mmap.mmap(fd, request.length, mmap.MAP_SHARED, mmap.PROT_READ)
    finally:
        os.close(fd)
    tracks = tuple(dataclasses.replace(t, audio=array_at(mapped, view)) for t, view in zip(request.tracks, request.views))
    tset = TrackSet(tracks, request.sample_rate)
    result = measure_session(tset, request.gains, request.window_s, request.span, request.true_peak,
                             request.per_track, request.known, token, progress)
    result.track_set = None    # the audio stays here: the caller puts its own track set back
    return result
