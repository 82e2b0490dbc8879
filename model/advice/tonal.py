"""Tonal balance per role: each role's spectral shape against a genre profile's median shape and spread.

A role's shape is its long-term third-octave band levels relative to its K-weighted level
(model.audio.spectral.tonal_shape). A profile holds, per role, the median shape over reference
songs and its spread; a finding is a run of at least MIN_BANDS adjacent bands where the role sits
more than ``margin_db`` outside median +- spread, all on the same side, in bands where the role
(typically or in this song) carries something within RELEVANT_DB of its level. A role has a shape only where it
plays (``playing_roles``, the balance measurement's activity gate): the spectrum of dither says nothing.

A balance profile carries the shapes under its "tonal" key, fitted by ``mixingbuddy profile fit`` from the
same songs: ``{"tonal": {role: {"bands_hz": [...], "median_db": [...], "spread_db": [...], "songs": n}}}``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from model.advice.profiles import checked_count
from model.advice.wording import Party, band_phrase, hz, nominal_hz
from model.audio.segments import FRAME_ACTIVE_DBFS, MIN_ACTIVE_SHARE, cut_windows
from model.audio.spectral import BandFrames, power_db, tonal_shape
from model.errors import InputError

TONAL_FORMAT = "mixingbuddy.tonal_profile/1"
#: A spread fitted from a handful of songs understates the real one: never trust less than this.
MIN_SPREAD_DB = 3.0
#: Shapes are floored here: a band this far under the role's level holds nothing.
SHAPE_FLOOR_DB = -60.0
#: A band is compared when the role (typically, or in this song) carries something within this of its level.
RELEVANT_DB = -30.0
MARGIN_DB = 3.0
MIN_BANDS = 3  # an octave: tonal balance is about broad shapes, not single resonances


@dataclass(frozen=True)
class RoleTone:
    """A role's typical shape: band centres (Hz), median level and spread (dB) per band, songs fitted."""

    bands_hz: tuple[float, ...]
    median_db: tuple[float, ...]
    spread_db: tuple[float, ...]
    songs: int

    def to_json(self) -> dict:
        return {"bands_hz": [round(f, 2) for f in self.bands_hz], "median_db": [round(x, 2) for x in self.median_db],
                "spread_db": [round(x, 2) for x in self.spread_db], "songs": self.songs}


@dataclass(frozen=True)
class TonalProfile:
    """Per-role typical shapes of one genre, or of a user's profile (``genre_named`` False: any name they chose)."""

    genre: str
    roles: Mapping[str, RoleTone]
    provenance: Mapping | None = None
    genre_named: bool = True

    @property
    def mixes(self) -> str:
        """Whose mixes the shapes stand for, in a sentence: "typical electronic mixes", "the 'two' profile's mixes"."""
        return f"typical {self.genre} mixes" if self.genre_named else f"the '{self.genre}' profile's mixes"

    @classmethod
    def from_dict(cls, data: Mapping) -> "TonalProfile":
        """Read the "tonal" key of a profile dict (a tonal profile file or a balance profile carrying one).

        ValueError says in plain words what is wrong."""
        tonal = data.get("tonal") if isinstance(data, Mapping) else None
        if not isinstance(tonal, Mapping):
            raise ValueError('"tonal" is not an object of roles')
        roles = {role: _role_tone(role, v) for role, v in tonal.items()}
        return cls(str(data.get("genre") or data.get("name") or "reference"), roles, data.get("provenance"))

    @classmethod
    def load(cls, path: str | Path) -> "TonalProfile":
        """Read a profile file; raises InputError naming what is wrong."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"Tonal profile {Path(path).name} is unreadable: {exc}") from None

    def to_dict(self) -> dict:
        return {"format": TONAL_FORMAT, "genre": self.genre,
                "tonal": {role: tone.to_json() for role, tone in self.roles.items()},
                "provenance": dict(self.provenance or {})}


def _role_tone(role: str, v) -> RoleTone:
    """One role's entry under "tonal": three equally long lists of finite numbers (spreads not negative)."""
    if not isinstance(v, Mapping):
        raise ValueError(f"tonal.{role} is not an object")
    lists = []
    for key in ("bands_hz", "median_db", "spread_db"):
        x = v.get(key)
        if not isinstance(x, list) or not all(isinstance(n, (int, float)) and not isinstance(n, bool)
                                              and math.isfinite(n) for n in x):
            raise ValueError(f"tonal.{role}.{key} is not a list of numbers")
        lists.append(tuple(map(float, x)))
    if not len(lists[0]) == len(lists[1]) == len(lists[2]):
        raise ValueError(f"tonal.{role}: bands_hz, median_db and spread_db differ in length")
    if any(s < 0 for s in lists[2]):
        raise ValueError(f"tonal.{role}.spread_db has a negative spread")
    return RoleTone(*lists, checked_count(v.get("songs", 0), "songs", f"tonal.{role}") or 0)


def tonal_for_profile(profile: str | Path | None = None) -> tuple[TonalProfile, str]:
    """The tonal shapes to compare with when judging against a balance profile (name or file), and a note.

    The profile's own shapes when it carries them, else the shipped electronic profile's, and the note says so.
    Only a shipped profile's name is a genre's; a user's is named as the profile it is. Raises InputError when the
    profile or the shapes cannot be read.
    """
    from model.advice.profiles import DEFAULT_PROFILE, read_profile_file, resolve_profile, shipped_profile_dir
    from resources import TONAL_PROFILE

    path = resolve_profile(profile or DEFAULT_PROFILE)
    balance, data = read_profile_file(path)  # checked, its tonal shapes too
    shipped = path.resolve().parent == shipped_profile_dir().resolve()
    named = f"the {balance.name} profile" if shipped else f"the '{balance.name}' profile"
    if "tonal" in data:
        own = replace(TonalProfile.from_dict(data), genre=balance.name, genre_named=shipped)
        return own, f"{named}'s tonal shapes"
    fallback = TonalProfile.load(TONAL_PROFILE)
    return fallback, f"the {fallback.genre} profile's tonal shapes ({named} has none of its own)"


def tonal_bands_hz() -> list[float]:
    """The bands shapes are kept on: third-octave centres up to 48 kHz's Nyquist (lower rates lack the top)."""
    from model.audio.spectral import third_octave_bands

    return [float(f) for f in third_octave_bands(48000).centres_hz]


def song_tonal_shapes(frames: BandFrames) -> dict[str, np.ndarray]:
    """Each role's shape in one song from its roles' band frames, on ``tonal_bands_hz`` (NaN where the song's
    rate has no band)."""
    bands_hz = tonal_bands_hz()
    return {role: aligned(shape, frames.bands.centres_hz, bands_hz) for role, shape in role_shapes(frames).items()}


def role_shapes(frames: BandFrames) -> dict[str, np.ndarray]:
    """The tonal shape (dB per band, floored at SHAPE_FLOOR_DB) of each signal that plays (``playing_roles``)."""
    playing = playing_roles(frames)
    return {name: np.maximum(tonal_shape(power, frames.bands), SHAPE_FLOOR_DB)
            for name, power in frames.power.items() if name in playing}


def playing_roles(frames: BandFrames) -> set[str]:
    """The signals that play, as the balance measurement's activity gate hears them: in at least one of its
    windows (``cut_windows``; the whole span when shorter), MIN_ACTIVE_SHARE of the frames lie above
    FRAME_ACTIVE_DBFS."""
    times = np.arange(frames.frames) * frames.hop_s
    windows = [(times >= w.start_s) & (times < w.end_s) for w in cut_windows(frames.frames * frames.hop_s)]
    playing = set()
    for name, power in frames.power.items():
        # the channels' mean power stands in for the mono fold's (the same for a centred signal)
        active = power_db(power.mean(axis=1, dtype=np.float64).sum(axis=1)) > FRAME_ACTIVE_DBFS
        if any(active[w].mean() >= MIN_ACTIVE_SHARE for w in windows if w.any()):
            playing.add(name)
    return playing


def within_band_text(not_compared: Sequence[str]) -> str:
    """What a comparison without findings says, naming that some roles were left out (``not_compared_text``)."""
    return f"every {'compared ' if not_compared else ''}role within its typical band"


def not_compared_text(role: str) -> str:
    """The sentence for a role the comparison leaves out as it barely plays (not in ``playing_roles``)."""
    party = Party.role(role)
    return (f"{party.subject} {party.verb('barely plays', 'barely play')} in the judged span, so "
            f"{party.verb('it is', 'they are')} not compared.")


def fit_tonal_shapes(per_song_role_shapes: Sequence[Mapping[str, np.ndarray]],
                     bands_hz: Sequence[float]) -> dict[str, RoleTone]:
    """Per-role median shape and spread over songs (each song: role -> dB per band of ``bands_hz``).

    NaN marks a band a song lacks (a lower sample rate). The spread is the interquartile range
    scaled to a standard deviation (IQR / 1.349), at least MIN_SPREAD_DB. A band is kept for a role
    when at least two songs have it; a role found in fewer than two songs is left out.
    """
    out = {}
    roles = sorted({role for song in per_song_role_shapes for role in song})
    hz_all = np.asarray(bands_hz, dtype=float)
    for role in roles:
        shapes = np.array([song[role] for song in per_song_role_shapes if role in song], dtype=float)
        keep = np.sum(~np.isnan(shapes), axis=0) >= 2
        if len(shapes) < 2 or not keep.any():
            continue
        q25, median, q75 = np.nanpercentile(shapes[:, keep], [25, 50, 75], axis=0)
        spread = np.maximum((q75 - q25) / 1.349, MIN_SPREAD_DB)
        out[role] = RoleTone(tuple(map(float, hz_all[keep])), tuple(map(float, median)),
                             tuple(map(float, spread)), len(shapes))
    return out


def aligned(shape: np.ndarray, shape_hz: Sequence[float], bands_hz: Sequence[float]) -> np.ndarray:
    """A shape over ``shape_hz`` placed on ``bands_hz`` (same centres), NaN where it has no band."""
    out = np.full(len(bands_hz), np.nan)
    for value, f in zip(shape, shape_hz):
        i = int(np.argmin(np.abs(np.log(np.asarray(bands_hz) / f))))
        if abs(np.log(bands_hz[i] / f)) < 0.05:
            out[i] = value
    return out


@dataclass(frozen=True)
class TonalFinding:
    """A role carries ``deviation_db`` more (or less, when negative) than typical in [low_hz, high_hz]."""

    role: str
    low_hz: float
    high_hz: float
    deviation_db: float
    text: str

    def to_json(self) -> dict:
        return {"role": self.role, "low_hz": round(self.low_hz), "high_hz": round(self.high_hz),
                "deviation_db": round(self.deviation_db, 1), "text": self.text}


def compare_tonal(shapes: Mapping[str, np.ndarray], bands_hz: Sequence[float], profile: TonalProfile,
                  margin_db: float = MARGIN_DB, min_bands: int = MIN_BANDS) -> list[TonalFinding]:
    """Findings for each role whose shape leaves the profile's band by ``margin_db`` over ``min_bands`` bands.

    Only bands the profile knows and where the role carries something (typically or here) are
    compared; the largest deviations (dB x octaves) come first.
    """
    session_hz = np.asarray(bands_hz, dtype=float)
    found = []
    for role, shape in shapes.items():
        tone = profile.roles.get(role)
        if tone is None:
            continue
        ref_hz = np.asarray(tone.bands_hz)
        idx = [int(np.argmin(np.abs(np.log(ref_hz / f)))) for f in session_hz]
        usable = [i for i, j in enumerate(idx) if abs(np.log(ref_hz[j] / session_hz[i])) < 0.05
                  and max(tone.median_db[j], shape[i]) >= RELEVANT_DB]
        if not usable:
            continue
        pos = np.array(usable)
        median = np.array([tone.median_db[idx[i]] for i in usable])
        spread = np.array([tone.spread_db[idx[i]] for i in usable])
        deviation = np.asarray(shape, dtype=float)[pos] - median
        outside = np.where(np.abs(deviation) > spread + margin_db, np.sign(deviation), 0.0)
        for s, e in _sign_runs(outside, pos):
            if e - s < min_bands:
                continue
            d = float(np.mean(deviation[s:e]))
            found.append(_finding(role, session_hz, pos[s], pos[e - 1], pos[0], pos[-1], d, profile.mixes))
    return sorted(found, key=lambda f: -abs(f.deviation_db) * np.log2(f.high_hz / f.low_hz))


def _sign_runs(outside: np.ndarray, pos: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of equal non-zero sign over bands adjacent in the session."""
    runs = []
    start = None
    for i in range(len(outside) + 1):
        same = (i < len(outside) and start is not None and outside[i] == outside[start]
                and pos[i] == pos[i - 1] + 1)
        if start is not None and not same:
            runs.append((start, i))
            start = None
        if i < len(outside) and start is None and outside[i] != 0:
            start = i
    return runs


def _finding(role: str, bands_hz: np.ndarray, low: int, high: int, first: int, last: int,
             deviation: float, mixes: str) -> TonalFinding:
    """``low``..``high``: the run's bands; ``first``..``last``: the compared range, for 'below'/'above'."""
    edge = 2 ** (1 / 6)
    low_hz, high_hz = float(bands_hz[low]) / edge, float(bands_hz[high]) * edge
    if low == first and high < len(bands_hz) - 1:
        where = f"below {hz(nominal_hz(float(bands_hz[high + 1])))}"
    elif high == last and low > 0:
        where = f"above {hz(nominal_hz(float(bands_hz[low - 1])))}"
    else:
        where = band_phrase(float(bands_hz[low]), float(bands_hz[high]))
    party = Party.role(role)
    amount = f"{abs(deviation):.0f} dB {'more' if deviation > 0 else 'less'}"
    text = f"{party.subject} {party.verb('carries', 'carry')} {amount} {where} than {mixes}."
    return TonalFinding(role, low_hz, high_hz, deviation, text)
