"""Words shared by the spectral findings: how roles and tracks are named, and frequencies."""

from __future__ import annotations

import math
from pathlib import PurePath
from dataclasses import dataclass

#: How a role is named in a sentence, and whether the verb takes the plural.
ROLE_WORDS = {"vocals": ("the vocals", True), "drums": ("the drums", True), "bass": ("the bass", False),
              "other": ("the other instruments", True)}


@dataclass(frozen=True)
class Party:
    """A role or track named in a finding: its key in the band frames and how a sentence names it."""

    key: str
    words: str
    plural: bool = False
    anchor: bool = False  # the reference whose level is right: advice moves the other side

    @property
    def subject(self) -> str:
        """The words opening a sentence (only the first letter raised: track names keep their case)."""
        return self.words[:1].upper() + self.words[1:]

    @property
    def them(self) -> str:
        return "them" if self.plural else "it"

    @classmethod
    def role(cls, role: str, anchor: bool = False) -> "Party":
        words, plural = ROLE_WORDS.get(role, (f"the {role}", False))
        return cls(role, words, plural, anchor)

    @classmethod
    def track(cls, key: str, name: str) -> "Party":
        """A chosen track, named by its file name without the extension, in quotes."""
        return cls(key, f"“{PurePath(name).stem}”")

    def verb(self, singular: str, plural: str) -> str:
        return plural if self.plural else singular


#: ISO 266 preferred numbers (R10): the nominal names of third-octave centres within a decade.
_R10 = (1.0, 1.25, 1.6, 2.0, 2.5, 3.15, 4.0, 5.0, 6.3, 8.0)


def nominal_hz(value: float) -> float:
    """The ISO 266 nominal name of a frequency: 1259.9 -> 1250, 3174.8 -> 3150, 39.4 -> 40."""
    decade = 10 ** math.floor(math.log10(value))
    candidates = [m * decade for m in _R10] + [10 * decade]
    return min(candidates, key=lambda c: abs(math.log(c / value)))


def band_phrase(low_hz: float, high_hz: float) -> str:
    """A band range by its nominal centres: 'between 1 and 4 kHz', 'between 500 Hz and 2 kHz', 'around 1 kHz'."""
    low, high = nominal_hz(low_hz), nominal_hz(high_hz)
    if low == high:
        return f"around {hz(low)}"
    if low >= 1000:
        return f"between {_number(low / 1000)} and {_number(high / 1000)} kHz"
    if high < 1000:
        return f"between {_number(low)} and {_number(high)} Hz"
    return f"between {hz(low)} and {hz(high)}"


def hz(value: float) -> str:
    """125 Hz, 2.5 kHz, 3.15 kHz, 16 kHz (three significant figures at most)."""
    return f"{_number(value / 1000)} kHz" if value >= 1000 else f"{_number(value)} Hz"


def _number(x: float) -> str:
    return f"{float(f'{x:.3g}'):g}"


