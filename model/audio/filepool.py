"""The streamed analysis spread over worker processes, for big sessions.

libebur128's metering holds the GIL, so threads cannot meter tracks in parallel. Here
each of N long-lived worker processes (spawned: safe beside Qt and on macOS) owns a fixed
share of the files, balanced by length and channels. Block by block it decodes its files,
gathers their doctor statistics, meters the ones metered alone and sums its tracks into
per-role buffers in memory shared with the main process. The main process adds the
workers' role buffers together and meters the roles and the mix (WindowBuilder.finish),
so each window's role sums exist in the main process as on the thread path.

Each worker has ``SLOTS`` buffers, so it may run that many blocks ahead of the slowest;
memory stays O(workers x roles x block). The buffers are ``RawArray``s: files unlinked
as soon as they are made, so nothing is left behind however the process ends. Workers
ignore Ctrl-C (the main process stops them), end when the main process goes away, and
report errors as one message; the main process raises them as the same error type.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import zlib
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Mapping

import numpy as np

import model.errors
from model.audio.measure import Cancellable, TrackWindow, WindowBuilder
from model.audio.processes import end_workers, error_reply, ignore_interrupts, reply_payload, start_worker
from model.audio.stream import Analysed, BlockJob, FileStream, Piece, RoleSumsHook, session_tracks
from model.audio.tracks import SessionPlan

SLOTS = 3
_STOP_S = 5.0  # how long a worker may take to end before it is killed


@dataclass(frozen=True)
class _WorkerSetup:
    """What one worker needs to open and analyse its files (small: sent once when it starts)."""

    plan: SessionPlan
    roles: Mapping[str, str] | None
    owned: tuple[str, ...]
    job: BlockJob
    role_rows: tuple[str, ...]  # the roles this worker sums, in the order of its buffer's rows
    max_frames: int


def analyse_in_processes(plan: SessionPlan, roles: Mapping[str, str] | None, job: BlockJob,
                         pieces: list[Piece], processes: int, on_role_sums: RoleSumsHook | None = None,
                         cancel: Cancellable | None = None) -> Analysed:
    """The streamed analysis with the files shared among ``processes`` worker processes."""
    shares = _shares(plan, job, processes)
    max_frames = max((b - a for a, b, window in pieces if window), default=0)
    ctx = mp.get_context("spawn")
    workers: list[tuple[mp.process.BaseProcess, Connection, list[np.ndarray], tuple[str, ...]]] = []
    try:
        for owned in shares:
            rows = tuple(sorted({job.role_of[t] for t in owned if t in job.role_of}))
            raw = [ctx.RawArray(ctypes.c_float, max(1, len(rows) * max_frames * 2)) for _ in range(SLOTS)]
            setup = _WorkerSetup(plan, roles, owned, _job_for(job, owned), rows, max_frames)
            proc, mine = start_worker(_work, (setup, raw), "mixingbuddy-analysis")
            slots = [np.frombuffer(r, dtype=np.float32)[: len(rows) * max_frames * 2].reshape(len(rows), max_frames, 2)
                     for r in raw]
            workers.append((proc, mine, slots, rows))
        return _run(workers, job, pieces, on_role_sums, cancel)
    finally:
        _stop(workers)


def _run(workers, job: BlockJob, pieces: list[Piece], on_role_sums: RoleSumsHook | None,
         cancel: Cancellable | None = None) -> Analysed:
    measured: dict[str, list[TrackWindow]] = {}
    windows = []
    windowed = [window is not None for _, _, window in pieces]
    index_of = [sum(windowed[:k + 1]) - 1 for k in range(len(pieces))]

    def send(k: int) -> None:
        if k < len(pieces):
            start, end, window = pieces[k]
            for _, conn, _, _ in workers:
                _command(conn, ("block", end - start, window, index_of[k], k % SLOTS))

    for k in range(SLOTS):
        send(k)
    for k, (start, end, window) in enumerate(pieces):
        if cancel is not None:
            cancel.raise_if_cancelled()   # the caller's finally ends the workers
        replies = [_receive(conn) for _, conn, _, _ in workers]
        builder = WindowBuilder(job.sample_rate, *window, job.role_of, job.alone) if window else None
        if builder is not None:
            for readings in replies:
                for tid, tw in readings.items():
                    builder.add_readings(tid, tw, job.gain_of[tid])
                    measured.setdefault(tid, []).append(tw)
            for _, _, slots, rows in workers:
                for row, role in enumerate(rows):
                    builder.add_role_sum(role, slots[k % SLOTS][row, : builder.frames])
        send(k + SLOTS)  # this slot has been read: the workers may fill it again
        if builder is not None:
            windows.append(builder.finish(job.true_peak, on_role_sums))
    files = {}
    for _, conn, _, _ in workers:
        _command(conn, ("finish",))
        files.update(_receive(conn))
    for tid in job.role_of:
        measured.setdefault(tid, [])
    for tid in files:
        measured.setdefault(tid, [])
    return files, windows, measured


def _command(conn: Connection, command: tuple) -> None:
    try:
        conn.send(command)
    except OSError:  # the worker has ended: its last message (an error) is read by _receive
        pass


def _receive(conn: Connection):
    try:
        message = conn.recv()
    except (EOFError, OSError):
        raise model.errors.MixingBuddyError("An analysis worker process ended unexpectedly.") from None
    return reply_payload(message)


def _stop(workers) -> None:
    """End every worker (they end by themselves after "finish"); nothing is left running."""
    end_workers([(proc, conn) for proc, conn, _, _ in workers], _STOP_S)


def _shares(plan: SessionPlan, job: BlockJob, processes: int) -> list[tuple[str, ...]]:
    """The files split into ``processes`` shares of about equal work (longest first, each to the lightest share).

    Files of equal size go in an order scrambled by name: in name order, a session whose roles repeat
    (vocals, drums, bass, keys, ...) would hand one worker all the mono-as-stereo stems, which meter
    at half the cost, and the other all the true stereo ones.
    """

    def work(k: int) -> float:
        info, tid = plan.infos[k], plan.ids[k]
        metered = tid in job.gain_of and tid not in job.known
        return info.duration_s * min(info.channels, 2) * (3.0 if metered else 1.0)

    count = max(1, min(processes, len(plan.ids)))
    loads = [0.0] * count
    shares: list[list[str]] = [[] for _ in range(count)]
    for k in sorted(range(len(plan.ids)), key=lambda k: (-work(k), zlib.crc32(plan.ids[k].encode()))):
        lightest = loads.index(min(loads))
        shares[lightest].append(plan.ids[k])
        loads[lightest] += work(k)
    return [tuple(s) for s in shares]


def _job_for(job: BlockJob, owned: tuple[str, ...]) -> BlockJob:
    keep = set(owned)
    return BlockJob(job.sample_rate, {t: r for t, r in job.role_of.items() if t in keep}, job.alone & keep,
                    {t: g for t, g in job.gain_of.items() if t in keep},
                    {t: w for t, w in job.known.items() if t in keep}, job.true_peak)


def _work(conn: Connection, setup: _WorkerSetup, raw: list) -> None:
    """A worker process: open the owned files, then answer "block" and "finish" commands in order."""
    ignore_interrupts()
    rows = len(setup.role_rows)
    slots = [np.frombuffer(r, dtype=np.float32)[: rows * setup.max_frames * 2].reshape(rows, setup.max_frames, 2)
             for r in raw]
    owned = set(setup.owned)
    streams: list[FileStream] = []
    job = setup.job
    try:
        tracks = [t for t in session_tracks(setup.plan, setup.roles).tracks if t.id in owned]
        for t in tracks:
            streams.append(FileStream(t, setup.plan.frames))
        while True:
            command = conn.recv()
            if command[0] == "finish":
                conn.send(("done", {s.track.id: (s.stats, s.true_peak) for s in streams}))
                return
            _, n, window, index, slot = command
            builder = None
            if window is not None:
                slots[slot][:, :n] = 0.0
                sums = {role: slots[slot][row] for row, role in enumerate(setup.role_rows)}
                builder = WindowBuilder(job.sample_rate, *window, job.role_of, job.alone, sums)
            for s in streams:
                if (share := job.step(s, n, builder, index)) is not None:
                    builder.add_role_sum(*share)
            conn.send(("ok", builder.track_windows if builder is not None else {}))
    except (EOFError, BrokenPipeError):
        return  # the main process went away or stopped this worker
    except BaseException as exc:  # noqa: BLE001 - every failure goes back as one message, never a traceback here
        try:
            conn.send(error_reply(exc))
        except OSError:
            pass
    finally:
        for s in streams:
            s.close()
