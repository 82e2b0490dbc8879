"""measure_session in the metering process: same readings as in this thread, cancel, restart, fallback."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import time

import numpy as np
import pytest

from model.advice.advisor import CancelToken
from model.audio.decode import AudioInfo
from model.audio.measure import measure_session
from model.audio.meter_process import MeteringProcess
from model.audio.processes import MappedFile
from model.audio.roles import RoleGuess
from model.audio.tracks import Gains, Track, TrackSet
from model.errors import Cancelled, MixingBuddyError

RATE = 48000
ROLES = ("vocals", "drums", "bass", "other", "other", "drums")


@pytest.fixture
def mapped_session():
    """Six tracks as rows of one memory-mapped temporary file (two of them mono columns), like the app's preview."""
    frames = RATE * 25
    f = tempfile.TemporaryFile()
    size = len(ROLES) * frames * 2 * 4
    f.truncate(size)
    buf = np.asarray(np.memmap(f, dtype=np.float32, mode="w+", shape=(len(ROLES), frames, 2)))
    rng = np.random.default_rng(3)
    t = np.arange(frames) / RATE
    for i in range(len(ROLES)):
        tone = np.sin(2 * np.pi * (110 * (i + 1)) * t) * (0.05 + 0.04 * i)
        buf[i] = (tone[:, None] + rng.standard_normal((frames, 2)) * 0.01).astype(np.float32)
    buf[3, : RATE * 12] = 0.0   # a role silent in the first windows
    tracks = TrackSet(tuple(
        Track(f"t{i}", f"t{i}.wav", f"t{i}.wav", RoleGuess(role, "user", None), buf[i] if i % 3 else buf[i, :, :1],
              RATE, AudioInfo(f"t{i}.wav", RATE, 2, frames, "WAV", "FLOAT", stamp=(i, i)))
        for i, role in enumerate(ROLES)), RATE)
    mapped = MappedFile(f.fileno(), buf.__array_interface__["data"][0], size)

    def mapped_file_of(array: np.ndarray) -> MappedFile | None:
        return mapped if np.shares_memory(array, buf) else None

    process = MeteringProcess(mapped_file_of)
    yield tracks, process
    process.close()
    f.close()


def _readings(m):
    return ({r: lv.lufs for r, lv in m.roles.items()}, m.mix.lufs, {t: lv.lufs for t, lv in m.tracks.items()},
            [sorted(w.energies) for w in m.windows], [w.window.gated for w in m.windows])


def test_the_process_measures_what_this_thread_measures(mapped_session):
    tracks, process = mapped_session
    gains = Gains(track_db={"t1": -4.0}, role_db={"bass": 3.0}, muted=frozenset({"t5"}))
    known = {"t1": measure_session(tracks, gains, 10.0, (2.0, 24.0), True, True).track_windows["t1"]}
    here = measure_session(tracks, gains, 10.0, (2.0, 24.0), True, True, known=known)
    seen = []
    there = process.measure_session(tracks, gains, 10.0, (2.0, 24.0), True, True, known=known,
                                    progress=lambda f, msg: seen.append(f))
    assert process._proc is not None and process._proc.is_alive()   # it really ran in the process
    assert there.track_set is tracks
    assert _readings(there) == _readings(here)
    for a, b in zip(there.windows, here.windows):
        for key in b.energies:
            np.testing.assert_array_equal(a.energies[key], b.energies[key])
    assert seen and seen == sorted(seen)
    assert set(there.track_windows) == set(here.track_windows)


def test_cancel_stops_the_measurement_and_the_process_serves_the_next(mapped_session):
    tracks, process = mapped_session
    process.measure_session(tracks, Gains(), 10.0, None, False, False)   # started and warm
    token = CancelToken()
    threading.Timer(0.05, token.cancel).start()
    with pytest.raises(Cancelled):
        process.measure_session(tracks, Gains(), 1.0, None, True, True, cancel=token)
    again = process.measure_session(tracks, Gains(), 10.0, None, False, False)
    assert again.mix.lufs == measure_session(tracks, Gains(), 10.0, None, False, False).mix.lufs


def test_a_process_that_dies_is_one_error_then_a_new_one_starts(mapped_session):
    tracks, process = mapped_session
    expected = measure_session(tracks, Gains(), 10.0, None, False, False).mix.lufs
    process.measure_session(tracks, Gains(), 10.0, None, False, False)
    process._proc.kill()        # between measurements: the next one starts a new process
    process._proc.join()
    assert process.measure_session(tracks, Gains(), 10.0, None, False, False).mix.lufs == expected
    dying = process._proc
    threading.Timer(0.15, dying.kill).start()   # during a long measurement: one error
    with pytest.raises(MixingBuddyError, match="metering process ended unexpectedly"):
        process.measure_session(tracks, Gains(), 0.5, None, True, True)
    assert process.measure_session(tracks, Gains(), 10.0, None, False, False).mix.lufs == expected


def test_audio_in_ordinary_memory_is_measured_in_this_thread(mapped_session):
    tracks, process = mapped_session
    copied = TrackSet(tuple(t.__class__(t.id, t.path, t.name, t.role, np.array(t.audio), t.sample_rate, t.info)
                            for t in tracks.tracks), RATE)
    m = process.measure_session(copied, Gains(), 10.0, None, False, False)
    assert process._proc is None   # no process was needed
    assert m.mix.lufs == measure_session(tracks, Gains(), 10.0, None, False, False).mix.lufs


def test_close_leaves_no_process(mapped_session):
    tracks, process = mapped_session
    process.measure_session(tracks, Gains(), 10.0, None, False, False)
    pid = process._proc.pid
    process.close()
    assert pid not in [p.pid for p in multiprocessing.active_children()]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    # a job still ending after the app closed it measures in its own thread: no process nobody would end
    late = process.measure_session(tracks, Gains(), 10.0, None, False, False)
    assert process._proc is None and multiprocessing.active_children() == []
    assert late.mix.lufs == measure_session(tracks, Gains(), 10.0, None, False, False).mix.lufs


def test_a_measurement_waiting_for_another_can_be_cancelled(mapped_session):
    tracks, process = mapped_session
    process.measure_session(tracks, Gains(), 10.0, None, False, False)   # started and warm
    busy = threading.Thread(target=process.measure_session, args=(tracks, Gains(), 0.5, None, True, True))
    busy.start()
    time.sleep(0.1)   # the long measurement holds the process
    token = CancelToken()
    threading.Timer(0.1, token.cancel).start()
    with pytest.raises(Cancelled):
        process.measure_session(tracks, Gains({"t0": -3.0}), 10.0, None, False, False, cancel=token)
    busy.join()


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX scheduling priorities only")
def test_the_process_runs_below_the_app_so_the_gui_gets_a_core_first(mapped_session):
    from model.audio.processes import WORKER_NICENESS

    tracks, process = mapped_session
    process.measure_session(tracks, Gains(), true_peak=False)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, process._proc.pid) == min(19, mine + WORKER_NICENESS)
