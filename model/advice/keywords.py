"""The paper scorer's keyword lists and its first-hit rules (the reference's detailed_evaluation.py).

Shared by the scorers in ``training.scoring`` and by the fallback of
``model.advice.types.parse_response``. ``whole_word=False`` reproduces the paper's
plain-substring matching; ``whole_word=True`` is the strict variant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

INCREASE_KEYWORDS: tuple[str, ...] = (
    "increase", "boost", "raise", "louder", "quiet", "too quiet", "barely audible", "too low",
    "needs to be slightly louder", "somewhat quiet", "a bit too low", "requires a slight boost",
    "slightly quiet", "needs more volume", "a little low", "a little too quiet", "should be slightly louder",
    "somewhat too quiet", "too quiet to hear clearly", "nearly inaudible", "too low in the mix",
    "difficult to hear", "almost inaudible", "barely present in the mix", "needs significant boosting",
    "too quiet to be heard properly", "add gain", "bring up", "up by",
)
DECREASE_KEYWORDS: tuple[str, ...] = (
    "reduce", "decrease", "lower", "quieter", "loud", "too loud", "overwhelming", "too high",
    "a little too loud", "needs to be slightly quieter", "somewhat loud", "a bit too high",
    "requires a slight reduction", "slightly loud", "needs less volume", "a little high",
    "should be slightly quieter", "somewhat too loud", "too loud and dominating", "overpowering the mix",
    "too high in the mix", "excessively loud", "dominating the mix", "overpowering",
    "needs significant reduction", "too loud and needs to be brought down", "higher than it should be",
    "should be lower", "adjust down", "bring down", "down by", "brought down",
)
NO_ERROR_KEYWORDS: tuple[str, ...] = (
    "no adjustments", "no changes", "no modifications", "well-balanced", "correct level", "balanced",
    "properly balanced", "proper balance", "correctly balanced", "balance is correct",
    "all stems are at appropriate levels", "all stems are properly balanced",
    "all stems are correctly balanced", "all stems are at proper levels", "all stems at proper levels",
    "all stems are at correct levels", "levels are correct", "balance is good", "mix is well-balanced",
    "mix balance is correct", "mix evaluation shows proper balance", "mix analysis shows",
    "mix analysis indicates", "upon review", "after evaluation", "reviewing the mix",
    "after careful analysis", "after analyzing the mix", "proper balance across all stems",
    "each element is at the correct level", "the mix levels are appropriate", "no changes are needed",
    "no adjustments required", "no modifications needed", "no adjustments are necessary",
    "no changes required", "no modifications are necessary",
)
#: Stems in the scorer's order; "other" also matches "other instrument".
STEM_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("vocals", re.compile(r"\bvocals\b")),
    ("drums", re.compile(r"\bdrums\b")),
    ("bass", re.compile(r"\bbass\b")),
    ("other", re.compile(r"\b(other|other instrument)\b")),
)
MAGNITUDE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"between\s+(-?\d+(?:\.\d+)?)\s+and\s+(-?\d+(?:\.\d+)?)\s*dB",
        r"(-?\d+(?:\.\d+)?)\s+to\s+(-?\d+(?:\.\d+)?)\s*dB",
        r"between\s+(-?\d+(?:\.\d+)?)\s*[-–]\s*(-?\d+(?:\.\d+)?)\s*dB",
        r"(-?\d+(?:\.\d+)?)\s*[-–]\s*(-?\d+(?:\.\d+)?)\s*dB",
    )
)


@dataclass(frozen=True)
class KeywordReading:
    """What the scorer's rules read from an answer."""

    stem: str | None  # first-hit stem, or None
    direction: str | None  # "increase" | "decrease" | "none" (no-error keyword) | None
    contradiction: bool
    no_error_hit: bool
    magnitude: tuple[float, float] | None


@lru_cache(maxsize=4)
def _matchers(whole_word: bool):
    def build(words: tuple[str, ...]):
        if whole_word:
            pats = [re.compile(r"\b" + re.escape(w) + r"\b") for w in words]
            return lambda s: any(p.search(s) for p in pats)
        return lambda s: any(w in s for w in words)

    return build(INCREASE_KEYWORDS), build(DECREASE_KEYWORDS), build(NO_ERROR_KEYWORDS)


def parse_magnitude(text: str) -> tuple[float, float] | None:
    """The first dB range in the text, in the order written (not re-ordered)."""
    for pattern in MAGNITUDE_PATTERNS:
        m = pattern.search(text)
        if m:
            return float(m.group(1)), float(m.group(2))
    return None


def read_keywords(text: str, whole_word: bool = False) -> KeywordReading:
    """Apply the paper scorer's contradiction, first-hit and no-error rules to an answer."""
    has_inc, has_dec, has_ok = _matchers(whole_word)
    lower = (text or "").lower()
    sentences = re.split(r"[.!?]", lower)
    magnitude = parse_magnitude(text or "")
    for _, stem_re in STEM_PATTERNS:
        mentions = [s for s in sentences if stem_re.search(s)]
        if any(has_inc(s) for s in mentions) and any(has_dec(s) for s in mentions):
            return KeywordReading(None, None, True, False, magnitude)
    for sentence in sentences:
        for stem, stem_re in STEM_PATTERNS:
            if stem_re.search(sentence):
                if has_inc(sentence):
                    return KeywordReading(stem, "increase", False, False, magnitude)
                if has_dec(sentence):
                    return KeywordReading(stem, "decrease", False, False, magnitude)
    if any(has_ok(s) for s in sentences):
        return KeywordReading(None, "none", False, True, magnitude)
    return KeywordReading(None, None, False, False, magnitude)
