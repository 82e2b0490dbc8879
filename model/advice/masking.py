"""Masking findings between roles (or two chosen tracks), worded as moves a producer can make.

Pairs are judged in this order: each role covering the anchor, the anchor covering each role,
then the other roles among themselves; within each group the strongest finding comes first.
One finding per pair and stretch (lasting masking; runs a few seconds apart form one stretch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from model.audio.masking import MaskedRegion, MaskingSettings, band_importance, masked_regions, masking_depth
from model.audio.spectral import BandFrames
from model.advice.wording import ROLE_WORDS, Party, band_phrase, hz, nominal_hz
from model.audio.findings import clock

#: Below this, panning cannot separate two sounds (low end is mono in practice): duck instead.
PAN_USELESS_BELOW_HZ = 200.0
MAX_FINDINGS = 8


@dataclass(frozen=True)
class MaskingFinding:
    """The masker covers the maskee in [low_hz, high_hz] from start_s to end_s; the maskee sits depth_db under it."""

    masker: str
    maskee: str
    start_s: float
    end_s: float
    low_hz: float
    high_hz: float
    depth_db: float
    focus_hz: float  # where a cut helps most
    score: float  # importance-weighted depth x duration (dB s), for ranking
    text: str  # what is happening
    suggestion: str  # what to do about it

    def to_json(self) -> dict:
        return {"masker": self.masker, "maskee": self.maskee, "start_s": round(self.start_s, 2),
                "end_s": round(self.end_s, 2), "low_hz": round(self.low_hz), "high_hz": round(self.high_hz),
                "depth_db": round(self.depth_db, 1), "text": self.text, "suggestion": self.suggestion}


def role_pairs(roles: Sequence[str], anchor: str) -> list[list[tuple[str, str]]]:
    """(masker, maskee) pairs in three groups: covering the anchor, covered by the anchor, the rest."""
    others = [r for r in roles if r != anchor]
    if anchor not in roles:
        return [[(a, b) for a in others for b in others if a != b]]
    return [[(r, anchor) for r in others], [(anchor, r) for r in others],
            [(a, b) for a in others for b in others if a != b]]


def find_masking(frames: BandFrames, pairs: Sequence[Sequence[tuple[Party, Party]]],
                 settings: MaskingSettings = MaskingSettings(), limit: int | None = MAX_FINDINGS
                 ) -> list[MaskingFinding]:
    """Findings for each (masker, maskee) pair, group by group, strongest first within a group."""
    out: list[MaskingFinding] = []
    importance: dict[str, np.ndarray] = {}
    for group in pairs:
        found = []
        for masker, maskee in group:
            if maskee.key not in importance:
                importance[maskee.key] = band_importance(frames.power[maskee.key], frames.bands, frames.hop_s)
            depth = masking_depth(frames.power[masker.key], frames.power[maskee.key], frames.bands)
            for region in masked_regions(depth, importance[maskee.key], frames.hop_s, settings):
                found.append(_finding(frames, masker, maskee, region))
        out += sorted(found, key=lambda f: -f.score)
    return out[:limit] if limit is not None else out


def role_masking(frames: BandFrames, anchor: str, settings: MaskingSettings = MaskingSettings(),
                 limit: int | None = MAX_FINDINGS) -> list[MaskingFinding]:
    """Masking findings between the roles in ``frames`` (from ``role_band_frames``), anchor pairs first."""
    roles = [r for r in ROLE_WORDS if r in frames.power] + [r for r in frames.power if r not in ROLE_WORDS]
    parties = {r: Party.role(r, anchor=r == anchor) for r in roles}
    pairs = [[(parties[a], parties[b]) for a, b in group] for group in role_pairs(roles, anchor)]
    return find_masking(frames, pairs, settings, limit)


def _finding(frames: BandFrames, masker: Party, maskee: Party, region: MaskedRegion) -> MaskingFinding:
    bands = frames.bands
    start_s = frames.start_s + region.start * frames.hop_s
    end_s = frames.start_s + (region.end - 1) * frames.hop_s
    low, high = float(bands.low_hz[region.low_band]), float(bands.high_hz[region.high_band])
    focus = nominal_hz(float(bands.centres_hz[region.peak_band]))
    where = band_phrase(float(bands.centres_hz[region.low_band]), float(bands.centres_hz[region.high_band]))
    text = (f"{masker.subject} {masker.verb('covers', 'cover')} {maskee.words} {where} from "
            f"{clock(start_s)} to {clock(end_s)} ({maskee.words} {maskee.verb('sits', 'sit')} "
            f"{region.depth_db:.0f} dB under {masker.them} there).")
    return MaskingFinding(masker.key, maskee.key, start_s, end_s, low, high, region.depth_db, focus, region.score,
                          text, suggestion(masker, maskee, region.depth_db, focus))


def suggestion(masker: Party, maskee: Party, depth_db: float, focus_hz: float) -> str:
    """The move, sized by the depth (2 to 12 dB) around the focus band.

    Cut the masker, or separate the two (pan apart; in the low end, where panning cannot help,
    duck the masker). When the masker is the anchor, whose level is right, lift the maskee instead.
    """
    high = int(round(min(max(depth_db, 3.0), 12.0)))
    low = max(2, int(round(high / 2)))
    if masker.anchor:
        return (f"If {maskee.words} should come through there, lift {maskee.them} {low}–{high} dB around "
                f"{hz(focus_hz)} or pan {maskee.them} away from {masker.words}.")
    them = masker.them
    apart = (f"duck {them} under {maskee.words} (sidechain)" if focus_hz < PAN_USELESS_BELOW_HZ
             else f"pan {them} away from {maskee.words}")
    return f"Cut {masker.words} {low}–{high} dB around {hz(focus_hz)} there, or {apart}."
