"""Stretches of a song: the Window type, the activity gate (shared with data synthesis), window selection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from model.audio.decode import frame_rms_db, rms_dbfs


@dataclass(frozen=True)
class Window:
    """A stretch of the song judged on its own; ``gated`` is False when it failed the gate."""

    start_s: float
    end_s: float
    gated: bool = True

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


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


def stem_active(mono: np.ndarray, sample_rate: int) -> bool:
    """One stem's share of the gate: RMS >= -45 dBFS and >= 20 % of its 50 ms frames above -45 dBFS.

    The per-role test behind judging a (role, anchor) pair wherever both play, not only where every role does.
    """
    a = np.asarray(mono, dtype=np.float32)
    if a.size == 0 or rms_dbfs(a) < STEM_GATE_DBFS:
        return False
    levels = frame_rms_db(a, max(1, int(round(FRAME_S * sample_rate))))
    return levels.size > 0 and float(np.mean(levels > FRAME_ACTIVE_DBFS)) >= MIN_ACTIVE_SHARE


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
    if end - start < window_s - 1e-6:
        return [Window(start, end, True)] if end > start else []
    n = int((end - start + 1e-6) // window_s)   # 150.7 - 90.7 is 59.99999999999999: six windows, not five
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
