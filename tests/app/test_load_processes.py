"""A big session's load decodes in worker processes: the same preview rows, readings and cache entries as the
thread path, unreadable files reported, and cancel stops it with no process left behind."""

from __future__ import annotations

import multiprocessing
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from model.audio.cache import AnalysisCache
from model.errors import Cancelled

from mixingbuddy_app.workers import LoadTracksJob

RATE = 48000


def _session(folder, files: int = 5, seconds: float = 14.0):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(9)
    names = ["Lead Vox", "Kick", "Snare", "Bass DI", "Pad", "Gtr L", "BGV 1"]
    t = np.arange(int(seconds * RATE)) / RATE
    for k in range(files):
        tone = np.sin(2 * np.pi * 80 * (k + 1) * t)[:, None] * (0.1 + 0.05 * k)
        audio = (tone + rng.standard_normal((len(t), 2)) * 0.02).astype(np.float32)
        audio[: int(RATE * k), :] = 0.0   # each starts later: different windows are active
        sf.write(folder / f"{names[k % len(names)]} {k}.wav", audio if k % 2 else audio[:, :1], RATE,
                 subtype="FLOAT" if k == 0 else "PCM_24")
    return folder


def _load(paths, processes, cache=None):
    job = LoadTracksJob(1, [str(p) for p in paths], cache=cache, processes=processes)
    events = []
    job.emit = lambda kind, *args: events.append((kind, args))
    return job, job._load(), events


def test_rows_readings_and_cache_equal_the_thread_path(tmp_path):
    folder = _session(tmp_path / "song")
    threads_cache, pool_cache = AnalysisCache(tmp_path / "c1"), AnalysisCache(tmp_path / "c2")
    _, here, _ = _load([folder], 0, threads_cache)
    before = {p.pid for p in multiprocessing.active_children()}
    _, there, events = _load([folder], 2, pool_cache)
    assert {p.pid for p in multiprocessing.active_children()} <= before   # the workers have ended
    np.testing.assert_array_equal(np.asarray(there.buffer), np.asarray(here.buffer))
    assert there.lufs == here.lufs
    assert [f.code for f in there.findings] == [f.code for f in here.findings]
    reads = [args[0] for kind, args in events if kind == "file_read"]
    assert sorted(r.track_id for r in reads) == sorted(here.lufs) and [r.index for r in reads] == [1, 2, 3, 4, 5]
    a, b = threads_cache.known_windows(here.tracks, 10.0, None), pool_cache.known_windows(there.tracks, 10.0, None)
    assert set(a) == set(b) == set(here.lufs)
    for tid in a:
        for wa, wb in zip(a[tid], b[tid]):
            np.testing.assert_array_equal(wa.energies, wb.energies)


def test_an_unreadable_file_is_reported_and_the_others_load(tmp_path):
    folder = _session(tmp_path / "song", files=4)
    bad = folder / "Broken Gtr.wav"
    audio = np.full((RATE * 14, 2), 0.1, np.float32)
    audio[RATE * 3] = np.nan
    sf.write(bad, audio, RATE, subtype="FLOAT")
    _, out, _ = _load([folder], 2)
    assert [p for p, _ in out.failed] == [str(bad)] and "NaN" in out.failed[0][1]
    assert len(out.tracks.tracks) == 4 and bad.name not in {t.name for t in out.tracks.tracks}


def test_cancel_stops_the_workers_within_half_a_second(tmp_path):
    folder = _session(tmp_path / "song", files=6, seconds=30.0)
    job = LoadTracksJob(1, [str(folder)], processes=2)
    cancelled_at = []

    def cancel_soon(kind, *args):   # while the workers start and decode
        if kind == "files_listed":
            threading.Timer(0.3, lambda: (cancelled_at.append(time.monotonic()), job.token.cancel())).start()

    job.emit = cancel_soon
    before = {p.pid for p in multiprocessing.active_children()}
    with pytest.raises(Cancelled):
        job._load()
    # the load stops; its workers end at their next block or are killed after preview._STOP_S (0.5 s)
    assert cancelled_at
    assert {p.pid for p in multiprocessing.active_children()} <= before


def test_small_sessions_stay_on_threads(tmp_path, monkeypatch):
    import mixingbuddy_app.workers as workers

    calls = []
    real = workers.fill_rows_in_processes
    monkeypatch.setattr(workers, "fill_rows_in_processes", lambda buffer, mapped, tasks, *a, **k: (
        calls.append(len(tasks)), real(buffer, mapped, tasks, *a, **k))[1])
    _load([_session(tmp_path / "song")], None)
    assert calls == [0]   # five 14 s files: starting workers would cost more than it saves
