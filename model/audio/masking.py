"""Masking between two signals per frame and third-octave band, and the stretches where it is strong.

Depth is how far the maskee sits under the masker in a band (dB, masker minus maskee), taken on
the side where the maskee is clearest (left or right), so panning the two apart counts. Cells hold
NaN where the maskee does not play: frames more than ACTIVE_RANGE_DB under its usual loud level
(pauses, tails, a quiet intro: nothing a listener is meant to follow) and bands more than
PRESENCE_RANGE_DB under its loudest band in that frame (what it plays now, not what it played
elsewhere in the span: a vocal's near-empty low bands are not "playing" because a span lacks its
loudest low notes).

A band's importance for the maskee is its share of the maskee's loudness: the band power through
the BS.1770 K-weighting, raised to the power 0.3 (specific loudness grows about as power^0.3,
Stevens' law), relative to its strongest band. A band 10 dB under the strongest counts half, 20 dB
under a quarter. Raw energy would crown the low fundamentals and ignore the 2 to 5 kHz presence
region that carries a vocal's words. The power is the maskee's over the LOCAL_S around each frame,
not over the whole span: a part that changes its sound halfway through is weighed by what it plays
at the time, and a stretch's findings do not change with how far the span reaches around it.

How much of the maskee is covered in a frame is the importance-weighted share of its sounding
bands that sit ``margin_db`` or more under the masker. A stretch is a run of frames where that
share reaches ``min_share``; its band range is the adjacent important bands masked through most
of the stretch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.audio.spectral import Bands, k_weighting_db, power_db, signal_band_frames

ACTIVE_RANGE_DB = 15.0
PRESENCE_RANGE_DB = 40.0
PRESENCE_FLOOR_DB = -100.0
LOUDNESS_EXPONENT = 0.3
LOCAL_S = 10.0


@dataclass(frozen=True)
class MaskingSettings:
    """What counts as masking strong and lasting enough to report.

    A cell is masked when the maskee sits ``margin_db`` or more under the masker (about where a
    tone in a noise-like masker of its critical band stops being heard clearly). A frame is covered
    when at least ``min_share`` of the maskee's importance there is masked. A run of covered frames
    bridges gaps under ``bridge_s`` (and gaps up to ``pause_s`` where the maskee only pauses) and
    must last ``min_duration_s``; runs less than ``merge_s`` apart form one stretch (a section, not
    each of its bars). The band range is the run of adjacent bands of importance >= ``min_importance``
    masked in at least ``min_share`` of the stretch with the most importance, at least ``min_bands``
    wide; the stretch is reported when its median depth there reaches ``min_depth_db``.
    """

    margin_db: float = 6.0
    min_share: float = 0.5
    min_importance: float = 0.25
    min_duration_s: float = 4.0
    min_bands: int = 2
    min_depth_db: float = 6.0
    bridge_s: float = 1.5
    pause_s: float = 3.0
    merge_s: float = 6.0


@dataclass(frozen=True)
class MaskedRegion:
    """A stretch (frames [start, end)) and band range (inclusive indices) where masking is strong."""

    start: int
    end: int
    low_band: int
    high_band: int
    depth_db: float  # median depth over the region's cells where the maskee plays
    peak_band: int  # the band where importance x masked share x depth is largest: where an EQ move helps most
    score: float  # covered share x depth x duration (dB s): how much it matters, for ranking


def masking_depth(masker: np.ndarray, maskee: np.ndarray, bands: Bands) -> np.ndarray:
    """(frames, bands) dB by which the maskee sits under the masker; NaN where the maskee does not play.

    Both inputs are (frames, channels, bands) band powers of the same frames.
    """
    masker_db, maskee_db = power_db(masker), power_db(maskee)
    mono = maskee.mean(axis=1)
    frame_level = power_db(mono @ (10 ** (k_weighting_db(bands.centres_hz) / 10)).astype(np.float32))
    playing = frame_level >= np.percentile(frame_level, 95) - ACTIVE_RANGE_DB
    loud = power_db(mono).max(axis=1)  # the maskee's loudest band in each frame
    present = (maskee_db >= loud[:, None, None] - PRESENCE_RANGE_DB) & (maskee_db >= PRESENCE_FLOOR_DB)
    present &= playing[:, None, None]
    depth = np.where(present, masker_db - maskee_db, np.inf).min(axis=1)
    depth[np.isinf(depth)] = np.nan
    return depth.astype(np.float32)


def band_importance(maskee: np.ndarray, bands: Bands, hop_s: float) -> np.ndarray:
    """(frames, bands) 0..1: each band's share of the maskee's loudness over the LOCAL_S around each frame,
    relative to its strongest band there."""
    power = maskee.mean(axis=1, dtype=np.float64)
    half = max(0, int(round(LOCAL_S / 2 / hop_s)))
    total = np.concatenate([np.zeros((1, power.shape[1])), np.cumsum(power, axis=0)])
    frames = np.arange(len(power))
    low, high = np.maximum(frames - half, 0), np.minimum(frames + half + 1, len(power))
    level = power_db((total[high] - total[low]) / (high - low)[:, None]) + k_weighting_db(bands.centres_hz)
    return 10 ** (LOUDNESS_EXPONENT * (level - level.max(axis=1, keepdims=True)) / 10)


def masking_map(masker: np.ndarray, maskee: np.ndarray, sample_rate: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frame times s, band centres Hz, depth dB (frames, bands), NaN where the maskee does not play).

    ``masker`` and ``maskee`` are (frames,) or (frames, channels) float32 audio at ``sample_rate``:
    the time x band picture of where the masker covers the maskee (positive depth: covered).
    """
    frames = signal_band_frames({"masker": masker, "maskee": maskee}, sample_rate)
    return (frames.times_s, frames.bands.centres_hz,
            masking_depth(frames.power["masker"], frames.power["maskee"], frames.bands))


def covered_share(depth: np.ndarray, importance: np.ndarray, margin_db: float) -> np.ndarray:
    """(frames,) importance-weighted share of the maskee's playing bands masked by ``margin_db``; NaN when silent.

    ``importance`` is (frames, bands), as ``band_importance`` gives it.
    """
    present = ~np.isnan(depth)
    masked = present & (np.nan_to_num(depth, nan=-np.inf) >= margin_db)
    total = (present * importance).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (masked * importance).sum(axis=1) / total, np.nan)


def _runs(covered: np.ndarray, free: np.ndarray, bridge: int, pause: int) -> list[tuple[int, int]]:
    """[start, end) runs of covered frames, joined across short gaps.

    Runs join across a gap shorter than ``bridge`` frames, or shorter than ``pause`` frames when
    no frame in it has the maskee playing uncovered (``free``): a singer's breath does not end a stretch.
    """
    edges = np.flatnonzero(np.diff(np.concatenate([[0], covered.astype(np.int8), [0]])))
    runs: list[tuple[int, int]] = []
    for s, e in zip(edges[::2], edges[1::2]):
        if runs:
            gap = s - runs[-1][1]
            if gap < bridge or (gap < pause and not free[runs[-1][1]:s].any()):
                runs[-1] = (runs[-1][0], int(e))
                continue
        runs.append((int(s), int(e)))
    return runs


def masked_regions(depth: np.ndarray, importance: np.ndarray, hop_s: float,
                   settings: MaskingSettings = MaskingSettings()) -> list[MaskedRegion]:
    """Strong, lasting masking in a depth map, as regions sorted by score (largest first).

    ``importance`` is (frames, bands) (``band_importance``); a stretch's bands are weighed by its mean there.
    """
    share = covered_share(depth, importance, settings.margin_db)
    covered = np.nan_to_num(share, nan=0.0) >= settings.min_share
    free = ~np.isnan(share) & ~covered
    bridge, pause = int(round(settings.bridge_s / hop_s)), int(round(settings.pause_s / hop_s))
    lasting = [(s, e) for s, e in _runs(covered, free, bridge, pause) if (e - s) * hop_s >= settings.min_duration_s]
    stretches: list[tuple[int, int]] = []
    for s, e in lasting:
        if stretches and (s - stretches[-1][1]) * hop_s < settings.merge_s:
            stretches[-1] = (stretches[-1][0], e)
        else:
            stretches.append((s, e))
    regions = []
    for start, end in stretches:
        region = _band_range(depth[start:end], importance[start:end].mean(axis=0), share[start:end], settings)
        if region is not None:
            low, high, median, peak, mean_share = region
            regions.append(MaskedRegion(start, end, low, high, median, peak,
                                        mean_share * median * (end - start) * hop_s))
    return sorted(regions, key=lambda r: -r.score)


def _band_range(depth: np.ndarray, importance: np.ndarray, share: np.ndarray, settings: MaskingSettings):
    """(low, high, median depth, peak band, mean covered share) of a stretch's masked bands, or None."""
    present = ~np.isnan(depth)
    masked = present & (np.nan_to_num(depth, nan=-np.inf) >= settings.margin_db)
    with np.errstate(invalid="ignore", divide="ignore"):
        band_share = masked.sum(axis=0) / present.sum(axis=0)
    good = np.nan_to_num(band_share) >= settings.min_share
    good &= importance >= settings.min_importance
    best = None
    for s, e in _runs(good, np.ones_like(good), 1, 1):
        mass = float(np.sum(importance[s:e] * band_share[s:e]))
        if e - s >= settings.min_bands and (best is None or mass > best[0]):
            best = (mass, s, e)
    if best is None:
        return None
    _, low, end = best
    cells = depth[:, low:end][present[:, low:end]]
    median = float(np.median(cells))
    if median < settings.min_depth_db:
        return None
    band_depth = np.array([np.nanmedian(depth[:, b]) for b in range(low, end)])
    peak = low + int(np.argmax(importance[low:end] * band_share[low:end] * np.maximum(band_depth, 0)))
    return low, end - 1, median, peak, float(np.nanmean(share))
