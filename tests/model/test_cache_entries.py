"""AnalysisCache entries as the app's load writes them: one complete entry per file (statistics and whole-song
windows) serves both the window readings and the doctor's statistics, in memory and from disk; a whole measurement asked
for twice at once is made once."""

import threading
import time

import pytest

from model.audio.cache import AnalysisCache, FileAnalysis, FileKey
from model.audio.doctor import track_stats
from model.audio.measure import measure_session
from model.audio.tracks import Gains, load_tracks
from model.errors import Cancelled
from model.synthetic import synth_multitrack, write_multitrack


def _complete_entries(tracks, cache: AnalysisCache) -> None:
    windows = measure_session(tracks, Gains(), true_peak=False).track_windows
    for t in tracks.tracks:
        cache.put(FileKey.of_track(t, tracks, 10.0, None),
                  FileAnalysis(track_stats(t, tracks.sample_rate), windows[t.id]))


def test_a_complete_entry_gives_windows_and_statistics_also_after_a_restart(tmp_path):
    write_multitrack(tmp_path / "song", synth_multitrack(seed=12, seconds=21.0))
    tracks = load_tracks([tmp_path / "song"]).tracks
    ids = {t.id for t in tracks.tracks}
    cache = AnalysisCache(tmp_path / "cache")
    _complete_entries(tracks, cache)
    for c in (cache, AnalysisCache(tmp_path / "cache")):   # in memory, then read back from disk
        if c is not cache:
            for t in tracks.tracks:   # a new cache finds a file's entry by its key (as the app's load asks)
                assert c.get(FileKey.of_track(t, tracks, 10.0, None)) is not None
        windows, stats = c.known_windows(tracks, 10.0, None), c.known_stats(tracks)
        assert set(windows) == set(stats) == ids
        for t in tracks.tracks:
            assert (stats[t.id].id, stats[t.id].name, stats[t.id].role) == (t.id, t.name, t.role.role)
            assert stats[t.id].peak == track_stats(t, tracks.sample_rate).peak
        m = measure_session(tracks, Gains({}, {"vocals": -4.0}), true_peak=False, known=windows)
        want = measure_session(tracks, Gains({}, {"vocals": -4.0}), true_peak=False)
        assert all(abs(m.roles[r].lufs - want.roles[r].lufs) <= 0.05 for r in want.roles)
    assert c.known_windows(tracks, 10.0, (0.0, 12.0)) == {}       # another span is another analysis


def test_partial_entries_stay_in_memory(tmp_path):
    write_multitrack(tmp_path / "song", synth_multitrack(seed=13, seconds=12.0))
    tracks = load_tracks([tmp_path / "song"]).tracks
    cache = AnalysisCache(tmp_path / "cache")
    m = measure_session(tracks, Gains(), 10.0, (0.0, 11.0), true_peak=False)
    cache.keep(tracks, 10.0, (0.0, 11.0), m.track_windows)
    assert set(cache.known_windows(tracks, 10.0, (0.0, 11.0))) == {t.id for t in tracks.tracks}
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    assert all(len(w) == 2 for w in cache.known_windows(tracks, 10.0, (0.0, 11.0)).values())   # 0-10 s, 10-11 s



class Waiting:
    """A cancel token that only notes that its holder is waiting (the waiter checks it while it waits)."""

    def __init__(self):
        self.event = threading.Event()

    def raise_if_cancelled(self):
        self.event.set()


def test_one_measurement_asked_twice_at_once_is_made_once():
    """The app's meters and a critique asking for the same measurement share it: the second waits, then reuses."""
    cache, calls, started, waiting = AnalysisCache(), [], threading.Event(), Waiting()

    def slow():
        calls.append(1)
        started.set()
        assert waiting.event.wait(10)   # finishes only once the second caller waits for it
        return object()

    results = []
    first = threading.Thread(target=lambda: results.append(cache.shared("k", slow)))
    first.start()
    assert started.wait(10)
    results.append(cache.shared("k", slow, cancel=waiting))
    first.join()
    assert len(calls) == 1 and results[0] is results[1]
    assert cache.shared("other", lambda: "x") == "x"


def test_a_waiter_measures_itself_when_the_first_caller_is_cancelled():
    cache, started, waiting = AnalysisCache(), threading.Event(), Waiting()

    def cancelled():
        started.set()
        assert waiting.event.wait(10)   # cancelled only once the second caller waits for it
        raise Cancelled()

    def owner():
        with pytest.raises(Cancelled):
            cache.shared("k", cancelled)

    t = threading.Thread(target=owner)
    t.start()
    assert started.wait(10)
    assert cache.shared("k", lambda: "measured here", cancel=waiting) == "measured here"
    t.join()


def test_prune_deletes_the_least_recently_used_beyond_the_budget_and_leftovers(tmp_path):
    import os
    import time

    from model.audio.cache import AnalysisCache

    folder = tmp_path / "analysis"
    folder.mkdir()
    now = time.time()
    for k in range(6):   # 100 bytes each; entry 0 is the oldest
        p = folder / f"e{k}.npz"
        p.write_bytes(b"x" * 100)
        os.utime(p, (now - 1000 + k, now - 1000 + k))
    ancient = folder / "ancient.npz"
    ancient.write_bytes(b"x")
    os.utime(ancient, (now - 400 * 86400, now - 400 * 86400))
    fresh_part, stale_part = folder / "a.part", folder / "b.part"
    fresh_part.write_bytes(b"x")
    stale_part.write_bytes(b"x")
    os.utime(stale_part, (now - 7200, now - 7200))
    (tmp_path / "loudness.json").write_text("{}")
    removed = AnalysisCache(folder).prune(max_bytes=350)
    left = sorted(p.name for p in folder.iterdir())
    assert left == ["a.part", "e3.npz", "e4.npz", "e5.npz"]
    assert removed == 6 and not (tmp_path / "loudness.json").exists()


def test_an_entry_read_from_disk_counts_as_recently_used(tmp_path):
    import os

    write_multitrack(tmp_path / "song", synth_multitrack(seed=13, seconds=11.0))
    tracks = load_tracks([tmp_path / "song"]).tracks
    _complete_entries(tracks, AnalysisCache(tmp_path / "cache"))
    files = sorted((tmp_path / "cache").glob("*.npz"))
    for p in files:
        os.utime(p, (time.time() - 5000, time.time() - 5000))
    first = tracks.tracks[0]
    assert AnalysisCache(tmp_path / "cache").get(FileKey.of_track(first, tracks, 10.0, None)) is not None
    recent = [p for p in files if p.stat().st_mtime > time.time() - 60]
    assert len(recent) == 1   # the entry just read: ``prune`` keeps it over the others
    AnalysisCache(tmp_path / "cache").prune(max_bytes=recent[0].stat().st_size)
    assert sorted((tmp_path / "cache").glob("*.npz")) == recent
