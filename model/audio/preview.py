"""The app's preview rows filled from the files: each file decoded once into its row of the memory-mapped
preview buffer, with what a critique needs of it (doctor statistics, window readings) gathered on the way.

``read_track`` fills one row. ``fill_rows_in_processes`` spreads the rows over worker processes that map the
same file (its descriptor passed over the pipe): decoding and libebur128's metering then run on every core
instead of one thread sharing the interpreter lock with the app's GUI thread. The workers run at a lower
priority than the app, so its GUI thread gets a CPU as soon as it needs one.
"""

from __future__ import annotations

import mmap
import os
from multiprocessing import connection, reduction
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

import model.errors
from model.audio.cache import FileAnalysis
from model.audio.doctor import FileStats
from model.audio.measure import read_track_window, window_spans
from model.audio.processes import (MappedFile, StopToken, Worker, array_at, end_workers, error_reply,
                                   ignore_interrupts, lower_priority, mapped_view, reply_payload, start_worker,
                                   stop_flag, without_audio)
from model.audio.stream import FileStream
from model.audio.tracks import Track
from model.errors import AudioFormatError

if TYPE_CHECKING:
    from model.audio.measure import Cancellable

READ_BLOCK_S = 0.25     # decode step
#: The critique's window length (AdviceRequest.window_s): the load reads every file's windows in it.
SONG_WINDOW_S = 10.0
_POLL_S = 0.05
_STOP_S = 0.5   # how long a worker may take to end (its next block, or its start-up) before it is killed


def read_track(track: Track, row: np.ndarray, length: int, reuse: Track | None, measure: bool,
               cancel: "Cancellable | None" = None) -> FileAnalysis | None:
    """Fill one preview row ((length, 2); mono goes to both channels) with the track at the session rate.

    The audio comes from ``reuse`` (a track loaded before from the same, unchanged file) or is decoded.
    With ``measure``, returns what the track's file contributes to a whole-song critique, gathered as
    its blocks come: the export doctor's statistics and its unity-gain readings in every window of
    ``SONG_WINDOW_S`` (each read from the row as soon as the window is filled: what measure_session
    reads of the loaded track, a mono track counting on both speakers); else None.
    """
    rate = track.sample_rate
    channels = track.info.decoded_channels
    if reuse is not None:
        stream, source = None, reuse.audio
        stats = FileStats(track.id, track.name, track.role.role, track.info, rate) if measure else None
    else:
        stream = FileStream(track, length)
        stats = stream.stats if measure else None
    spans = window_spans(length / rate, SONG_WINDOW_S, None) if measure else []
    bounds = [(int(round(a * rate)), int(round(b * rate))) for a, b, _full in spans]
    windows = []
    step = max(1, int(READ_BLOCK_S * rate))
    try:
        for pos in range(0, length, step):
            if cancel is not None:
                cancel.raise_if_cancelled()
            n = min(step, length - pos)
            if stream is not None:
                block = stream.read(n)
            else:
                block = source[pos:pos + n]
                if len(block) < n:
                    block = np.concatenate([block, np.zeros((n - len(block), channels), np.float32)])
            row[pos:pos + n] = block          # (n, 1) broadcasts to both channels
            if stats is not None:
                stats.add(block)
            while len(windows) < len(bounds) and bounds[len(windows)][1] <= pos + n:   # a window is complete
                a, b = bounds[len(windows)]
                windows.append(read_track_window(row[a:b, :channels], rate))
    finally:
        if stream is not None:
            stream.close()
    return FileAnalysis(stats, tuple(windows)) if measure else None


#: One row to fill: its index (also its row of the buffer), the track (its audio unused) and whether to measure it.
RowTask = tuple[int, Track, bool]
#: Called in the calling thread for each row as it is done: its index and its analysis (None when not
#: measured), or the AudioFormatError that made its file unreadable.
RowDone = Callable[[int, "FileAnalysis | None | AudioFormatError"], None]


def can_fill_in_processes(buffer: np.ndarray, mapped: MappedFile | None) -> bool:
    """Whether ``buffer`` is a whole mapped file that worker processes can map too."""
    return (mapped is not None and hasattr(reduction, "send_handle") and buffer.flags.c_contiguous
            and buffer.__array_interface__["data"][0] == mapped.address and buffer.nbytes <= mapped.length)


def fill_rows_in_processes(buffer: np.ndarray, mapped: MappedFile, tasks: Sequence[RowTask], length: int,
                           processes: int, on_done: RowDone, cancel: "Cancellable | None" = None) -> None:
    """``read_track`` for each task's row of ``buffer`` (a mapped file: ``can_fill_in_processes``) in up to
    ``processes`` spawned workers, each taking the next row when it is free. A file that cannot be decoded is
    reported to ``on_done``; any other failure (or ``cancel``) stops every worker and is raised here."""
    if not tasks:
        return
    stop = stop_flag()
    workers: list[Worker] = []
    pending = list(tasks)
    try:
        for _ in range(max(1, min(processes, len(tasks)))):
            proc, mine = start_worker(_fill, (stop, mapped.length), "mixingbuddy-load")
            workers.append((proc, mine))
            reduction.send_handle(mine, mapped.fd, proc.pid)
        busy: dict[Connection, int] = {}

        def give(conn: Connection) -> None:
            i, track, measure = pending.pop(0)
            conn.send((i, without_audio(track), mapped_view(buffer[i], mapped), length, measure))   # decoded there
            busy[conn] = i

        for _, conn in workers:
            if pending:
                give(conn)
        while busy:
            if cancel is not None:
                cancel.raise_if_cancelled()
            for conn in connection.wait(list(busy), _POLL_S):
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    raise model.errors.MixingBuddyError("A loading worker process ended unexpectedly.") from None
                i = busy.pop(conn)
                if message[0] == "unreadable":
                    on_done(i, AudioFormatError(message[1]))
                else:
                    on_done(i, reply_payload(message))
                if pending:
                    give(conn)
    finally:
        stop.value = True   # a worker in a row stops at its next block; the load it filled rows for is over
        end_workers(workers, _STOP_S)


def _fill(conn: Connection, stop, length_bytes: int) -> None:
    """A worker process: map the preview file, then fill the rows it is given until the pipe closes."""
    ignore_interrupts()
    lower_priority()
    token = StopToken(stop)
    try:
        fd = reduction.recv_handle(conn)
    except (EOFError, OSError):
        return
    try:
        mapped = mmap.mmap(fd, length_bytes, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
    while True:
        try:
            i, track, view, length, measure = conn.recv()
        except (EOFError, OSError):
            return
        try:
            row = array_at(mapped, view)
            reply = ("done", read_track(track, row, length, None, measure, token))
        except AudioFormatError as exc:
            reply = ("unreadable", str(exc))
        except BaseException as exc:  # noqa: BLE001 - every failure goes back as one message
            reply = error_reply(exc)
        finally:
            row = None
        try:
            conn.send(reply)
        except OSError:
            return
