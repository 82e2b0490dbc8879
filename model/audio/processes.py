"""What the worker processes of model.audio share: starting and ending one, errors sent back as one message,
a stop flag in shared memory, and arrays of a memory-mapped file described so another process can map them.

Used by the CLI's analysis pool (filepool), the app's metering process (meter_process) and the app's load
(preview). Workers are spawned (safe beside Qt and on macOS), ignore Ctrl-C (the main process decides) and
end when their pipe closes.
"""

from __future__ import annotations

import ctypes
import dataclasses
import multiprocessing as mp
import os
import signal
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Callable, Sequence

import numpy as np

import model.errors
from model.audio.tracks import Track

Worker = tuple[mp.process.BaseProcess, Connection]


def start_worker(target: Callable, args: tuple, name: str) -> Worker:
    """A spawned daemon process running ``target(their end of a pipe, *args)``, and our end of the pipe."""
    ctx = mp.get_context("spawn")
    mine, theirs = ctx.Pipe()
    proc = ctx.Process(target=target, args=(theirs, *args), daemon=True, name=name)
    proc.start()
    theirs.close()
    return proc, mine


def without_audio(track: Track) -> Track:
    """The track to send to a worker: everything but its audio, which the worker maps or decodes itself."""
    return dataclasses.replace(track, audio=np.zeros((0, 2), np.float32))


def stop_flag():
    """A flag in shared memory (no semaphore) for ``StopToken``: pass it to ``start_worker``'s args."""
    return mp.get_context("spawn").RawValue(ctypes.c_bool, False)


def end_workers(workers: Sequence[Worker], wait_s: float) -> None:
    """Close each pipe (a worker waiting for a command returns), give each ``wait_s`` to end, then kill it."""
    for _, conn in workers:
        conn.close()
    for proc, _ in workers:
        proc.join(wait_s)
        if proc.is_alive():
            proc.kill()
            proc.join()


def ignore_interrupts() -> None:
    """In a worker: Ctrl-C reaches the whole process group, and the main process decides what it stops."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: How much lower the app's worker processes run than the app (POSIX nice): when both want a core, the GUI
#: thread (and the user's DAW) get it first.
WORKER_NICENESS = 5


def lower_priority() -> None:
    """In one of the app's workers, first thing (the threads it starts inherit it): see WORKER_NICENESS."""
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):
        pass


def error_reply(exc: BaseException) -> tuple:
    """What a worker sends back for an exception: its type's name, its one line and the detail (no traceback shown)."""
    detail = getattr(exc, "detail", "") or "".join(traceback.format_exception(exc))
    return ("error", type(exc).__name__, str(exc), detail)


def reply_payload(message: tuple):
    """A worker's reply, ``(kind, payload)``; an ``("error", ...)`` reply is raised here as the error it reports."""
    kind, *payload = message
    if kind == "error":
        name, message_text, detail = payload
        error = getattr(model.errors, name, None)
        if isinstance(error, type) and issubclass(error, model.errors.MixingBuddyError):
            raise error(message_text, detail)
        raise model.errors.MixingBuddyError(f"The analysis failed ({name}: {message_text}).", detail)
    return payload[0]


class StopToken:
    """A worker's cancel token: the main process sets the shared ``stop_flag``."""

    def __init__(self, flag) -> None:
        self._flag = flag

    @property
    def cancelled(self) -> bool:
        return bool(self._flag.value)

    def raise_if_cancelled(self) -> None:
        if self._flag.value:
            raise model.errors.Cancelled()


@dataclass(frozen=True)
class MappedFile:
    """An open file mapped into this process: its descriptor, where the mapping starts and its length in bytes."""

    fd: int
    address: int
    length: int


#: Where an array lies in a mapped file: byte offset, shape, strides, dtype.
MappedView = tuple[int, tuple[int, ...], tuple[int, ...], str]


def mapped_view(array: np.ndarray, mapped: MappedFile) -> MappedView | None:
    """Where ``array`` lies in ``mapped`` (None when any of it lies outside, or it runs backwards)."""
    start = array.__array_interface__["data"][0] - mapped.address
    last = start + sum((n - 1) * s for n, s in zip(array.shape, array.strides) if n) + array.itemsize
    if array.size == 0 or start < 0 or last > mapped.length or min(array.strides, default=0) < 0:
        return None
    return start, array.shape, array.strides, array.dtype.str


def array_at(buffer, view: MappedView) -> np.ndarray:
    """The array ``view`` describes, in another process's mapping of the same file."""
    offset, shape, strides, dtype = view
    return np.ndarray(shape, np.dtype(dtype), buffer, offset, strides)
