"""Gate, window cutting/selection and voting."""

import numpy as np
import pytest

from model.audio.segments import Window
from model.advice.types import WindowVerdict
from model.advice.pipeline import from_vote
from model.audio.segments import cut_windows, passes_gate, select_windows
from model.advice.voting import vote

SR = 24000


def noise(db, seconds=10.0, seed=0):
    rms = 10 ** (db / 20)
    return (np.random.default_rng(seed).standard_normal(int(seconds * SR)) * rms).astype(np.float32)


def test_gate_accepts_a_full_mix():
    stems = {r: noise(-25, seed=i) for i, r in enumerate(("vocals", "drums", "bass", "other"))}
    assert passes_gate(stems, SR)


def test_gate_rejects_a_quiet_mix_and_a_silent_stem():
    assert not passes_gate({r: noise(-50, seed=i) for i, r in enumerate(("vocals", "drums"))}, SR)
    stems = {"vocals": noise(-20), "drums": noise(-20, seed=1), "bass": noise(-60, seed=2)}
    assert not passes_gate(stems, SR)


def test_gate_needs_20_percent_active_frames():
    sparse = np.zeros(10 * SR, np.float32)
    sparse[: SR] = noise(-10, 1.0)  # 10 % active, loud enough for the RMS gates
    stems = {r: sparse.copy() for r in ("vocals", "drums", "bass", "other")}
    assert not passes_gate(stems, SR)
    sparse[: 3 * SR] = noise(-10, 3.0)
    assert passes_gate({r: sparse.copy() for r in stems}, SR)


def test_cut_windows():
    assert [(w.start_s, w.end_s) for w in cut_windows(35.0)] == [(0, 10), (10, 20), (20, 30)]
    assert [(w.start_s, w.end_s) for w in cut_windows(7.0)] == [(0, 7.0)]
    assert [(w.start_s, w.end_s) for w in cut_windows(60.0, span=(15, 40))] == [(15, 25), (25, 35)]


def test_a_span_of_whole_windows_is_cut_into_all_of_them_whatever_its_decimals():
    """150.7 - 90.7 is 59.99999999999999 in floating point: the last full window was left out as "the end of the
    span, shorter than one 10 s window" (--span 90.7:150.7, 1:30.7-2:30.7, 90.2:150.2)."""
    for start in np.arange(0.0, 120.0, 0.1):
        start = float(round(start, 1))
        windows = cut_windows(400.0, span=(start, round(start + 60.0, 1)))
        assert len(windows) == 6 and windows[-1].end_s == pytest.approx(start + 60.0), start
    assert len(cut_windows(400.0, span=(90.0, 149.99))) == 5


def test_select_windows_spreads_and_falls_back():
    wins = cut_windows(100.0)
    plan = select_windows(wins, [True] * 10, [-20] * 10, 4)
    assert [w.start_s for w in plan.windows] == [0, 30, 60, 90]
    plan = select_windows(wins, [False] * 10, [-30 + i for i in range(10)], 8)
    assert len(plan.windows) == 1 and plan.windows[0].start_s == 90 and not plan.windows[0].gated and plan.note


def v(start, target, direction, category):
    return WindowVerdict(Window(start, start + 10), target, direction, category, None, None, "")


def test_vote_majority_and_category():
    result = vote([v(0, "drums", "decrease", "loud"), v(10, "drums", "decrease", "very_loud"),
                   v(20, "drums", "decrease", "loud"), v(30, None, "none", "no_error")])
    assert (result.target, result.direction, result.category) == ("drums", "decrease", "loud")
    assert result.confidence == pytest.approx(0.75) and not result.abstained
    song = from_vote(result)
    assert song.primary.delta_db == -4.5 and song.suggestions == (song.primary,) and not song.abstained


def test_vote_tie_abstains_and_mild_category_wins_ties():
    tie = vote([v(0, "drums", "decrease", "loud"), v(10, "bass", "increase", "quiet")])
    assert tie.abstained and tie.target is None
    mild = vote([v(0, "bass", "increase", "quiet"), v(10, "bass", "increase", "very_quiet")])
    assert mild.category == "quiet"


def test_vote_low_agreement_and_unparsed():
    low = vote([v(0, "drums", "decrease", "loud"), v(10, "drums", "decrease", "loud"), v(20, "bass", "increase", "quiet"),
                v(30, None, "none", "no_error"), v(40, "vocals", "increase", "quiet")])
    assert low.abstained and low.confidence == pytest.approx(0.4)
    unparsed = vote([v(0, None, "none", "unparsed"), v(10, None, "none", "unparsed"), v(20, "bass", "increase", "quiet")])
    assert unparsed.abstained
