"""The app measures each file once, while loading it: critique and re-check reuse its window readings and doctor
statistics, Apply's meters are exact at once, and Esc stops a measuring critique's thread within half a second."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from model.advice.pipeline import critique as run_critique
from model.advisors import load_advisor
from model.audio import measure
from model.audio.measure import measure_session
from model.audio.meter_process import MeteringProcess
from model.audio.tracks import Gains
from model.synthetic import synth_multitrack, write_multitrack

from tests.app.conftest import StubAdvisor, critique, load
from tests.app.test_meters import wait_exact


def _song(folder, seconds: float, seed: int = 4):
    write_multitrack(folder, synth_multitrack(seed=seed, seconds=seconds, sample_rate=16000), sample_rate=16000)
    return folder


def _metered_alone(monkeypatch, window) -> list[str]:
    """Record the ids of tracks metered on their own (not taken from the cache). The window's app measures in
    this process, where the recording sees it, instead of in its metering process."""
    monkeypatch.setattr(window.controller, "meter_process", MeteringProcess(lambda audio: None))
    metered: list[str] = []
    real_add = measure.WindowBuilder.add

    def add(self, track_id, segment, gain=1.0, known=None):
        if known is None and track_id in self._alone:
            metered.append(track_id)
        return real_add(self, track_id, segment, gain, known)

    monkeypatch.setattr(measure.WindowBuilder, "add", add)
    return metered


def _doctor_stats(monkeypatch) -> list[str]:
    """Record the ids of tracks whose doctor statistics a critique computes (not taken from the cache)."""
    from model.audio import doctor

    computed: list[str] = []
    real = doctor.track_stats

    def track_stats(track, *args, **kwargs):
        computed.append(track.id)
        return real(track, *args, **kwargs)

    monkeypatch.setattr(doctor, "track_stats", track_stats)
    return computed


def test_the_first_critique_after_loading_meters_no_track(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window(load_advisor("balance"))
    metered, doctored = _metered_alone(monkeypatch, w), _doctor_stats(monkeypatch)
    c = load(qtbot, w, [_song(tmp_path / "song", 32.0)])
    request = c.project.snapshot()
    first = critique(qtbot, w)                        # at once: the load measured every file
    assert metered == [] and doctored == []           # only the role sums and the mix were metered
    fresh = run_critique(request, load_advisor("balance"))   # no cache: measures everything
    metered.clear()
    doctored.clear()
    assert first.text == fresh.text and first.anchor == fresh.anchor
    assert [(s.role, s.direction, s.category) for s in first.suggestions] == \
        [(s.role, s.direction, s.category) for s in fresh.suggestions]
    assert [(f.code, f.track_ids) for f in first.findings] == [(f.code, f.track_ids) for f in fresh.findings]
    for role, level in fresh.measurements["roles"].items():
        assert first.measurements["roles"][role]["lufs"] == pytest.approx(level["lufs"], abs=0.05), role
    c.set_role_gain("vocals", 3.0)
    again = critique(qtbot, w)                        # and so on, at other gains
    assert metered == [] and doctored == []
    fresh = measure_session(c.project.tracks, c.project.gains(), true_peak=False)
    for role, level in fresh.roles.items():
        assert again.measurements["roles"][role]["lufs"] == pytest.approx(level.lufs, abs=0.05)


def test_a_new_app_loading_the_same_files_finds_them_on_disk_and_meters_no_track(qtbot, make_window, tmp_path,
                                                                                 monkeypatch):
    import mixingbuddy_app.workers as workers

    song = _song(tmp_path / "song", 24.0)
    load(qtbot, make_window(), [song])
    measured = []
    real_read = workers.read_track
    monkeypatch.setattr(workers, "read_track", lambda track, row, length, reuse, measure, cancel=None: (
        measured.append(track.name) if measure else None) or real_read(track, row, length, reuse, measure, cancel))
    w = make_window(load_advisor("balance"))         # another app: nothing in memory
    metered, doctored = _metered_alone(monkeypatch, w), _doctor_stats(monkeypatch)
    c = load(qtbot, w, [song])
    advice = critique(qtbot, w)
    assert measured == [] and metered == [] and doctored == []
    fresh = measure_session(c.project.tracks, c.project.gains(), true_peak=False)
    for role, level in fresh.roles.items():
        assert advice.measurements["roles"][role]["lufs"] == pytest.approx(level.lufs, abs=0.05)


def test_the_load_reads_what_measure_session_reads(qtbot, make_window, tmp_path):
    from model.audio.doctor import track_stats

    song = _song(tmp_path / "song", 32.0)             # three full windows and a tail
    other = tmp_path / "other"                        # a mono file at another rate (resampled while loading)
    other.mkdir()
    t = np.arange(int(25.3 * 22050)) / 22050
    sf.write(other / "Bass DI.wav", (0.3 * np.sin(2 * np.pi * 55 * t)).astype(np.float32), 22050)
    w = make_window()
    c = load(qtbot, w, [song, other / "Bass DI.wav"])
    tracks = c.project.tracks
    assert any(tr.info.sample_rate != tracks.sample_rate and tr.info.channels == 1 for tr in tracks.tracks)
    cache = c.analysis_cache
    full = measure_session(tracks, Gains(), true_peak=False)
    loaded = cache.known_windows(tracks, 10.0, None)
    assert set(loaded) == set(full.track_windows) == set(c.project.track_ids)
    for tid, windows in full.track_windows.items():
        for got, want in zip(loaded[tid], windows, strict=True):
            np.testing.assert_array_equal(got.energies, want.energies)
            np.testing.assert_array_equal(got.block_db, want.block_db)
            assert got.peak_db == want.peak_db
        assert c.project.lufs[tid] == pytest.approx(full.tracks[tid].lufs, abs=1e-9)   # the whole-song reading
    stats = cache.known_stats(tracks)
    for tr in tracks.tracks:
        want = track_stats(tr, tracks.sample_rate)
        got = stats[tr.id]
        assert (got.id, got.name, got.role) == (tr.id, tr.name, tr.role.role)
        assert (got.frames, got.peak, got.clip_runs, got.over) == (want.frames, want.peak, want.clip_runs, want.over)
        np.testing.assert_allclose(got.envelope(), want.envelope(), rtol=1e-6, atol=1e-9)


def test_apply_shows_exact_meters_at_once(qtbot, make_window, tmp_path):
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    c = load(qtbot, w, [_song(tmp_path / "song", 24.0)])
    wait_exact(qtbot, c)
    critique(qtbot, w)
    wait_exact(qtbot, c)
    c.apply()
    p = c.project
    assert p.loudness_is_exact()                      # no estimate shown: the role meters follow the role gain
    assert "LU" in w.roles.rel_labels["bass"].text()   # a measured value, not "measuring…"
    m = measure_session(p.tracks, p.gains(), true_peak=False)
    for role, level in m.roles.items():
        assert p.role_loudness(role) == pytest.approx(level.lufs, abs=0.05), role
    assert p.exact_loudness() is None                 # the mix (for A/B) is measured behind
    wait_exact(qtbot, c)
    assert p.exact_loudness().mix == pytest.approx(m.mix.lufs, abs=0.05)
    c.set_track_gain(p.track_ids[0], -6.0)            # a track gain changes its role's sum: estimate until measured
    assert not p.loudness_is_exact()


def test_escape_stops_a_measuring_critique(qtbot, make_window, tmp_path):
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, [_song(tmp_path / "long", 240.0)], timeout=60000)
    qtbot.waitUntil(lambda: c.project.loudness_is_exact(), timeout=60000)
    c.analysis_cache.forget_shared()   # the meters' reading gone: the critique measures the mix itself
    c.status.emit("Ready")
    ended = []   # appended on the worker thread itself (a direct connection): when it stops
    c.worker.advice_failed.connect(lambda rid, report: ended.append((time.monotonic(), report.kind.name)))
    c.worker.advice_ready.connect(lambda rid, advice: ended.append((time.monotonic(), "done")))
    steps = []
    c.worker.progress.connect(lambda rid, frac, msg: steps.append(msg))
    c.critique()
    qtbot.waitUntil(lambda: any("window 3 of" in s for s in steps), timeout=30000)
    w.cancel_action.trigger()
    assert not c.busy and c.last_status == "Ready" and c.project.advice is None and w.critique_action.isEnabled()
    qtbot.waitUntil(lambda: bool(ended), timeout=5000)
    assert ended[0][1] == "CANCELLED"   # the worker thread is idle again (bench_cancel.py times it)
    qtbot.waitUntil(lambda: c.dropped_results == 1, timeout=2000)   # its late end is dropped, not shown
    assert c.last_status == "Ready" and not [b for b in w.banners.banners if b.report.severity == "error"]


def test_a_critique_beside_the_meters_measures_the_mix_once(qtbot, make_window, tmp_path, monkeypatch):
    """The meters start when a load ends; a critique started then waits for their measurement instead of making
    the same one beside it (one measurement in the metering process for the current gains, not two)."""
    w = make_window(load_advisor("balance"))
    process = w.controller.meter_process
    measured: list[tuple] = []
    real_measure = process.measure_session

    def counting(tset, gains, *args, **kwargs):
        measured.append((repr(gains), args, tuple(sorted((k, repr(v)) for k, v in kwargs.items()
                                                         if k in ("window_s", "span", "true_peak", "per_track")))))
        return real_measure(tset, gains, *args, **kwargs)

    monkeypatch.setattr(process, "measure_session", counting)
    c = load(qtbot, w, [_song(tmp_path / "song", 32.0)])
    critique(qtbot, w)
    wait_exact(qtbot, c)
    assert measured and len(measured) == len(set(measured))   # each measurement made once
    assert process._proc is not None   # made in the metering process, not on a thread of the app