"""Voting over per-window verdicts: the most frequent (target, direction) wins."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from model.advice.types import WindowVerdict


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
