"""The app measures each loaded file once: critique and re-check reuse its window readings, Apply's meters are exact
at once, and Esc stops a measuring critique's thread within half a second."""

from __future__ import annotations

import time

import pytest

from model.advisors import load_advisor
from model.audio import measure
from model.audio.measure import measure_session
from model.synthetic import synth_multitrack, write_multitrack

from tests.app.conftest import StubAdvisor, critique, load
from tests.app.test_meters import wait_exact


def _song(folder, seconds: float, seed: int = 4):
    write_multitrack(folder, synth_multitrack(seed=seed, seconds=seconds, sample_rate=16000), sample_rate=16000)
    return folder


def _metered_alone(monkeypatch) -> list[str]:
    """Record the ids of tracks metered on their own (not taken from the cache)."""
    metered: list[str] = []
    real_add = measure.WindowBuilder.add

    def add(self, track_id, segment, gain=1.0, known=None):
        if known is None and track_id in self._alone:
            metered.append(track_id)
        return real_add(self, track_id, segment, gain, known)

    monkeypatch.setattr(measure.WindowBuilder, "add", add)
    return metered


def test_after_a_critique_no_track_is_metered_again(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window(load_advisor("balance"))
    metered = _metered_alone(monkeypatch)
    c = load(qtbot, w, [_song(tmp_path / "song", 32.0)])
    first = critique(qtbot, w)        # at once: meters what the meters and the preparing did not reach yet
    assert set(c.analysis_cache.known_windows(c.project.tracks, 10.0, None)) == set(c.project.track_ids)
    metered.clear()
    c.set_role_gain("vocals", 3.0)
    again = critique(qtbot, w)                        # only the role sums and the mix are metered now
    assert metered == []
    fresh = measure_session(c.project.tracks, c.project.gains(), true_peak=False)
    for role, level in fresh.roles.items():
        assert again.measurements["roles"][role]["lufs"] == pytest.approx(level.lufs, abs=0.05)
    assert again.text and first.text


def test_after_loading_the_idle_worker_prepares_the_first_critique(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window(load_advisor("balance"))
    metered = _metered_alone(monkeypatch)
    c = load(qtbot, w, [_song(tmp_path / "song", 32.0)])
    cache = c.analysis_cache
    qtbot.waitUntil(lambda: set(cache.known_windows(c.project.tracks, 10.0, None)) == set(c.project.track_ids)
                    and set(cache.known_stats(c.project.tracks)) == set(c.project.track_ids), timeout=30000)
    metered.clear()
    advice = critique(qtbot, w)
    assert metered == []                              # every track prepared: only roles and the mix metered
    fresh = measure_session(c.project.tracks, c.project.gains(), true_peak=False)
    for role, level in fresh.roles.items():
        assert advice.measurements["roles"][role]["lufs"] == pytest.approx(level.lufs, abs=0.05)


def test_apply_shows_exact_meters_at_once(qtbot, make_window, tmp_path):
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    c = load(qtbot, w, [_song(tmp_path / "song", 24.0)])
    wait_exact(qtbot, c)
    critique(qtbot, w)
    wait_exact(qtbot, c)
    c.apply()
    p = c.project
    assert p.loudness_is_exact()                      # no estimate shown: the role meters follow the role gain
    assert "≈" not in w.roles.rel_labels["bass"].text()
    m = measure_session(p.tracks, p.gains(), true_peak=False)
    for role, level in m.roles.items():
        assert p.role_loudness(role) == pytest.approx(level.lufs, abs=0.05), role
    assert p.exact_loudness() is None                 # the mix (for A/B) is measured behind
    wait_exact(qtbot, c)
    assert p.exact_loudness().mix == pytest.approx(m.mix.lufs, abs=0.05)
    c.set_track_gain(p.track_ids[0], -6.0)            # a track gain changes its role's sum: estimate until measured
    assert not p.loudness_is_exact()


def test_escape_stops_a_measuring_critique_within_half_a_second(qtbot, make_window, tmp_path):
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, [_song(tmp_path / "long", 240.0)], timeout=60000)
    c.status.emit("Ready")
    ended = []   # appended on the worker thread itself (a direct connection): when it stops
    c.worker.advice_failed.connect(lambda rid, report: ended.append((time.monotonic(), report.kind.name)))
    c.worker.advice_ready.connect(lambda rid, advice: ended.append((time.monotonic(), "done")))
    steps = []
    c.worker.progress.connect(lambda rid, frac, msg: steps.append(msg))
    c.critique()
    qtbot.waitUntil(lambda: any("window 3 of" in s for s in steps), timeout=30000)
    t0 = time.monotonic()
    w.cancel_action.trigger()
    assert not c.busy and c.last_status == "Ready" and c.project.advice is None and w.critique_action.isEnabled()
    qtbot.waitUntil(lambda: bool(ended), timeout=5000)
    assert ended[0][1] == "CANCELLED" and ended[0][0] - t0 < 0.5   # the worker thread is idle again
    qtbot.waitUntil(lambda: c.dropped_results == 1, timeout=2000)   # its late end is dropped, not shown
    assert c.last_status == "Ready" and not [b for b in w.banners.banners if b.report.severity == "error"]
