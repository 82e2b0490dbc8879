"""Beyond gain: masking and tonal-balance findings for a request, and masking between two chosen tracks.

One band analysis (model.audio.spectral.role_band_frames) feeds both reviews, so asking for
both costs one pass over the audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from model.advice.advisor import AdviceRequest
from model.advice.masking import MaskingFinding, find_masking, role_masking
from model.advice.tonal import TonalFinding, TonalProfile, compare_tonal, role_shapes
from model.advice.wording import Party
from model.audio.roles import ROLES
from model.audio.spectral import BandFrames, band_frames, role_band_frames
from model.audio.tracks import Gains, TrackSet
from model.errors import InputError


@dataclass(frozen=True)
class SpectralReview:
    """Masking findings (anchor pairs first, strongest first), tonal findings (largest first) and the roles the
    tonal comparison left out as they barely play in the span."""

    masking: tuple[MaskingFinding, ...] = ()
    tonal: tuple[TonalFinding, ...] = ()
    tonal_not_compared: tuple[str, ...] = ()


def review_spectrum(request: AdviceRequest, masking: bool = True,
                    tonal: TonalProfile | None = None) -> SpectralReview:
    """Masking between the request's roles and/or each role's tonal shape against ``tonal``."""
    if not masking and tonal is None:
        return SpectralReview()
    return review_frames(role_band_frames(request.tracks, request.gains, request.span), request.anchor, masking,
                         tonal)


def review_frames(frames: BandFrames, anchor: str | None, masking: bool = True,
                  tonal: TonalProfile | None = None) -> SpectralReview:
    """The review of roles' band frames already computed (``role_band_frames``), e.g. kept for a masking map."""
    found = tuple(role_masking(frames, anchor)) if masking else ()
    if tonal is None:
        return SpectralReview(found)
    shapes = role_shapes(frames)
    return SpectralReview(found, tuple(compare_tonal(shapes, frames.bands.centres_hz, tonal)),
                          tuple(role for role in frames.power if role not in shapes))


def pair_masking(tracks: TrackSet, first: str, second: str, gains: Gains = Gains(),
                 span: tuple[float, float] | None = None) -> tuple[list[MaskingFinding], Party, Party]:
    """Masking both ways between two chosen tracks (file name, with or without extension) or roles.

    Returns every finding (first covering second, then second covering first) and the two parties.
    """
    frames, a, b = pair_frames(tracks, first, second, gains, span)
    return find_masking(frames, [[(a, b)], [(b, a)]], limit=None), a, b


def pair_frames(tracks: TrackSet, first: str, second: str, gains: Gains = Gains(),
                span: tuple[float, float] | None = None) -> tuple[BandFrames, Party, Party]:
    """Band frames of two chosen tracks or roles (named as for ``pair_masking``), keyed by the parties' keys."""
    a, a_sources = _select(tracks, gains, first)
    b, b_sources = _select(tracks, gains, second)
    if a.key == b.key:
        raise InputError(f"'{first}' and '{second}' are the same signal: choose two different tracks.")
    if why := nested_pair(tracks, first, second):
        raise InputError(why)
    return band_frames({a.key: a_sources, b.key: b_sources}, tracks.sample_rate, span), a, b


def nested_pair(tracks: TrackSet, first: str, second: str) -> str:
    """Why two names make no masking pair, when one names a track of the role the other names ("" if they do):
    the role's sum holds the track, so neither can cover the other."""
    for text, other in ((first, second), (second, first)):
        t = named_track(tracks, text)
        if t is not None and named_track(tracks, other) is None and other.strip().lower() == t.role.role:
            return (f"{PurePath(t.name).stem} is one of {Party.role(t.role.role).words}, so it cannot cover them "
                    f"nor they it: choose another role, or two tracks.")
    return ""


def named_track(tracks: TrackSet, text: str):
    """The track ``text`` names by id, file name or name without extension, or None."""
    wanted = text.strip()
    return next((t for t in tracks.tracks if wanted in (t.id, t.name, PurePath(t.name).stem)), None)


def _select(tracks: TrackSet, gains: Gains, text: str):
    """A track by id, file name or name without extension, else a role: (party, [(audio, gain)])."""
    t = named_track(tracks, text)
    if t is not None:
        return Party.track(t.id, t.name), [(t.audio, gains.linear(t))]
    wanted = text.strip()
    if wanted.lower() in ROLES:
        role = wanted.lower()
        members = [(t.audio, gains.linear(t)) for t in tracks.tracks if t.role.role == role and gains.audible(t)]
        if members:
            return Party.role(role), members
        raise InputError(f"No audible track has the role '{role}'.")
    raise InputError(f"No track or role named '{text}' ({tracks.names_hint(text)}).")
