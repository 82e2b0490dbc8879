"""measure_session with known track windows (a cache of loaded files): the same readings and verdicts as a full
measurement, invalidation by file stamp, cancel and progress."""

import math
import os
import time
import threading

import pytest
import soundfile as sf

from model.advice.advisor import AdviceRequest, CancelToken
from model.advice.pipeline import critique
from model.advisors import load_advisor
from model.audio.cache import AnalysisCache
from model.audio.measure import measure_session
from model.audio.tracks import Gains, load_tracks
from model.errors import Cancelled
from model.synthetic import synth_multitrack, write_multitrack

TOLERANCE_LU = 0.05


def _close(a: float, b: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b
    return abs(a - b) <= TOLERANCE_LU


def _session(folder, seed: int, seconds: float = 34.0, offsets=None):
    write_multitrack(folder, synth_multitrack(seed=seed, seconds=seconds, role_offsets_db=offsets or {}))
    return load_tracks([folder]).tracks


def _assert_same(got, want):
    for tid, level in want.tracks.items():
        assert _close(got.tracks[tid].lufs, level.lufs), tid
        assert _close(got.tracks[tid].sample_peak_db, level.sample_peak_db), tid
        assert got.tracks[tid].activity == level.activity, tid
    for role, level in want.roles.items():
        assert _close(got.roles[role].lufs, level.lufs), role
    assert _close(got.mix.lufs, want.mix.lufs)
    assert [w.window for w in got.windows] == [w.window for w in want.windows]   # the gate, window by window
    for g, w in zip(got.windows, want.windows):
        assert g.role_active == w.role_active
        assert all(_close(g.roles[r].lufs, w.roles[r].lufs) for r in w.roles), g.window


@pytest.mark.parametrize("span", [None, (4.0, 27.5)])
def test_known_windows_read_like_a_full_measurement_at_other_gains(tmp_path, span):
    tracks = _session(tmp_path, seed=5)
    first = measure_session(tracks, Gains(), 10.0, span, true_peak=False)
    assert set(first.track_windows) == {t.id for t in tracks.tracks}
    ids = [t.id for t in tracks.tracks]
    gains = Gains({ids[0]: -7.5, ids[3]: 4.0}, {"vocals": 3.0, "drums": -5.0}, muted=frozenset({ids[-1]}))
    full = measure_session(tracks, gains, 10.0, span, true_peak=False)
    reused = measure_session(tracks, gains, 10.0, span, true_peak=False, known=first.track_windows)
    _assert_same(reused, full)


def test_known_windows_of_another_window_layout_are_not_used(tmp_path):
    tracks = _session(tmp_path, seed=6, seconds=25.0)
    other = measure_session(tracks, Gains(), 10.0, (0.0, 12.0), true_peak=False).track_windows   # 2 windows
    full = measure_session(tracks, Gains(), 10.0, None, true_peak=False)                           # 3 windows
    _assert_same(measure_session(tracks, Gains(), 10.0, None, true_peak=False, known=other), full)


@pytest.mark.parametrize("seed,offsets", [(1, {}), (2, {"vocals": -8.0}), (3, {"bass": 7.0}), (4, {"drums": -6.0})])
def test_a_critique_with_the_cache_gives_the_same_advice(tmp_path, seed, offsets):
    tracks = _session(tmp_path, seed=seed, offsets=offsets)
    advisor = load_advisor("balance")
    cache = AnalysisCache()
    request = AdviceRequest(tracks, None)
    fresh = critique(request, advisor)
    first = critique(request, advisor, cache=cache)      # fills the cache
    moved = AdviceRequest(tracks, None, Gains({}, {"vocals": 2.0, "bass": -3.0}))
    again = critique(moved, advisor, cache=cache)          # every track known: only roles and the mix metered
    for with_cache, without in ((first, fresh), (again, critique(moved, advisor))):
        assert with_cache.text == without.text and with_cache.anchor == without.anchor
        assert [(s.role, s.direction, s.category) for s in with_cache.suggestions] == \
            [(s.role, s.direction, s.category) for s in without.suggestions]
        assert [(f.code, f.track_ids) for f in with_cache.findings] == [(f.code, f.track_ids) for f in without.findings]
        for role, r in without.measurements["roles"].items():
            got = with_cache.measurements["roles"][role]["lufs"]
            assert (got is None and r["lufs"] is None) or _close(got, r["lufs"]), role


def test_the_cache_misses_a_rewritten_file_and_finds_the_others(tmp_path):
    tracks = _session(tmp_path, seed=8, seconds=22.0)
    cache = AnalysisCache()
    request = AdviceRequest(tracks, None)
    critique(request, load_advisor("balance"), cache=cache)
    assert set(cache.known_windows(tracks, 10.0, None)) == {t.id for t in tracks.tracks}
    assert set(cache.known_stats(tracks)) == {t.id for t in tracks.tracks}
    assert cache.known_windows(tracks, 10.0, (0.0, 15.0)) == {}   # another span is another analysis
    changed = tracks.tracks[1]
    audio, rate = sf.read(changed.path, dtype="float32")
    sf.write(changed.path, audio * 0.5, rate)
    os.utime(changed.path, ns=(time.time_ns(), time.time_ns() + 10**9))
    reloaded = load_tracks([tmp_path]).tracks
    assert set(cache.known_windows(reloaded, 10.0, None)) == {t.id for t in tracks.tracks} - {changed.id}
    # measured again, the rewritten file reads 6 dB lower, as a fresh measurement does
    m = measure_session(reloaded, Gains(), true_peak=False, known=cache.known_windows(reloaded, 10.0, None))
    _assert_same(m, measure_session(reloaded, Gains(), true_peak=False))
    before = measure_session(tracks, Gains(), true_peak=False).tracks[changed.id].lufs
    assert m.tracks[changed.id].lufs == pytest.approx(before - 6.02, abs=0.05)
    assert set(cache.known_stats(reloaded)) == {t.id for t in tracks.tracks} - {changed.id}


def test_cancel_stops_a_measurement_within_a_window_and_progress_moves(tmp_path):
    tracks = _session(tmp_path, seed=9, seconds=120.0)
    token = CancelToken()
    seen = []

    def progress(frac, msg):
        seen.append((frac, msg, time.monotonic()))
        if len(seen) == 3:
            threading.Timer(0.0, token.cancel).start()

    with pytest.raises(Cancelled):
        measure_session(tracks, Gains(), true_peak=False, cancel=token, progress=progress)
    assert len(seen) <= 4                      # stopped within a window of the cancel
    assert [f for f, _m, _t in seen] == sorted(f for f, _m, _t in seen) and seen[0][0] == 0.0
    assert "window 1 of 12" in seen[0][1]

