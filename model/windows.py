"""The activity gate (shared with data synthesis), window selection and voting."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from model.advice import Window, WindowVerdict
from model.audio import frame_rms_db, rms_dbfs

MIX_GATE_DBFS = -35.0
STEM_GATE_DBFS = -45.0
FRAME_S = 0.05
FRAME_ACTIVE_DBFS = -45.0
MIN_ACTIVE_SHARE = 0.20


def passes_gate(stems: Mapping[str, np.ndarray], sample_rate: int) -> bool:
    """The paper's chunk gate on untouched mono stems (raw RMS, full scale 1.0).

    Mix RMS >= -35 dBFS, every present stem >= -45 dBFS, and >= 20 % of the 50 ms
    frames pooled over the stems strictly above -45 dBFS.
    """
    if not stems:
        return False
    arrays = [np.asarray(a, dtype=np.float32) for a in stems.values()]
    n = min(len(a) for a in arrays)
    if n == 0:
        return False
    mix = np.sum([a[:n] for a in arrays], axis=0)
    if rms_dbfs(mix) < MIX_GATE_DBFS:
        return False
    if any(rms_dbfs(a[:n]) < STEM_GATE_DBFS for a in arrays):
        return False
    frame = max(1, int(round(FRAME_S * sample_rate)))
    levels = np.concatenate([frame_rms_db(a[:n], frame) for a in arrays])
    if levels.size == 0:
        return False
    return float(np.mean(levels > FRAME_ACTIVE_DBFS)) >= MIN_ACTIVE_SHARE


@dataclass(frozen=True)
class WindowPlan:
    """The windows to judge and a note when the choice was a fallback."""

    windows: tuple[Window, ...]
    note: str = ""


def cut_windows(duration_s: float, window_s: float = 10.0,
                span: tuple[float, float] | None = None) -> list[Window]:
    """Non-overlapping windows over the span (default: the whole song); the tail shorter than a window is dropped.

    A span shorter than one window gives one shorter window.
    """
    start, end = span if span else (0.0, duration_s)
    start, end = max(0.0, start), min(duration_s, end)
    if end - start < window_s:
        return [Window(start, end, True)] if end > start else []
    n = int((end - start) // window_s)
    return [Window(start + i * window_s, start + (i + 1) * window_s, True) for i in range(n)]


def select_windows(candidates: Sequence[Window], gated: Sequence[bool], loudness: Sequence[float],
                   max_windows: int | None) -> WindowPlan:
    """Keep windows that pass the gate (evenly spaced if too many); else the loudest one, marked ungated."""
    kept = [w for w, ok in zip(candidates, gated) if ok]
    if not kept:
        if not candidates:
            return WindowPlan((), "No audio to judge.")
        i = int(np.argmax(np.nan_to_num(np.asarray(loudness, dtype=float), neginf=-1e9)))
        w = candidates[i]
        return WindowPlan((Window(w.start_s, w.end_s, False),),
                          "No window passed the activity gate; judging the loudest one (confidence capped at 0.5).")
    if max_windows is not None and len(kept) > max_windows:
        idx = np.linspace(0, len(kept) - 1, max_windows).round().astype(int)
        kept = [kept[i] for i in sorted(set(idx.tolist()))]
    return WindowPlan(tuple(kept))


def verdict_key(v: WindowVerdict) -> tuple[str | None, str]:
    if v.category == "unparsed":
        return (None, "unparsed")
    return (v.target, v.direction)


@dataclass(frozen=True)
class Vote:
    """The winning (target, direction), its share of the windows and whether the advice abstains."""

    target: str | None
    direction: str
    category: str
    confidence: float
    abstained: bool


def vote(verdicts: Sequence[WindowVerdict], min_agreement: float = 0.6) -> Vote:
    """Most frequent (target, direction) wins; a tie, an "unparsed" winner or low agreement abstains."""
    if not verdicts:
        return Vote(None, "none", "no_error", 0.0, True)
    counts = Counter(verdict_key(v) for v in verdicts)
    ranked = counts.most_common()
    (target, direction), top = ranked[0]
    tie = len(ranked) > 1 and ranked[1][1] == top
    total = len(verdicts)
    confidence = top / total
    if any(not v.window.gated for v in verdicts):
        confidence = min(confidence, 0.5)
    if tie or direction == "unparsed":
        return Vote(None, "none", "no_error", confidence, True)
    category = winning_category([v for v in verdicts if verdict_key(v) == (target, direction)])
    return Vote(target, direction, category, confidence, confidence < min_agreement)


_SEVERITY = {"quiet": 1, "loud": 1, "very_quiet": 2, "very_loud": 2, "no_error": 0}


def winning_category(verdicts: Sequence[WindowVerdict]) -> str:
    """The most frequent category; on a tie the milder one."""
    counts = Counter(v.category for v in verdicts)
    return sorted(counts.items(), key=lambda kv: (-kv[1], _SEVERITY.get(kv[0], 9)))[0][0]
