"""Masking and tonal analysis for the controller: one band pass over the roles on a thread-pool job, run when the
Masking or Tonal view is opened or asked (it costs about a tenth of a critique), never on every critique; and, on
request, masking between two chosen tracks (or a track and a role), a band pass over just those two.

SpectralMixin is mixed into ProjectController and uses its project, pool, jobs and signals. The analysis covers
the whole song at the current gains; it is current while the tracks, roles, gains, anchor and profile are unchanged
(the critique span does not matter, so looping a finding's stretch keeps it current).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from model.advice.masking import MaskingFinding, find_masking
from model.advice.spectrum import SpectralReview, pair_frames, review_frames
from model.advice.wording import Party
from model.advice.tonal import TonalProfile, role_shapes, tonal_for_profile
from model.audio.masking import masking_depth
from model.audio.spectral import BandFrames, role_band_frames
from model.audio.tracks import Gains, TrackSet
from model.errors import Cancelled, MixingBuddyError

from mixingbuddy_app.errors import ErrorKind, ErrorReport
from mixingbuddy_app.jobs import JobKind
from mixingbuddy_app.workers import PoolJob, cancelled_report


class MaskingMap:
    """Band frames of several signals, as a time x band map of how far one sits under another."""

    frames: BandFrames

    def depth(self, masker: str, maskee: str) -> np.ndarray:
        """(frames, bands) dB by which ``maskee`` sits under ``masker``; NaN where the maskee does not play."""
        return masking_depth(self.frames.power[masker], self.frames.power[maskee], self.frames.bands)


@dataclass(frozen=True, eq=False)
class SpectralAnalysis(MaskingMap):
    """Band frames of each role, the masking and tonal findings, each role's tonal shape and what it was judged by."""

    tracks: weakref.ref                 # the TrackSet analysed (by identity; weak, so it never holds old audio)
    key: tuple                          # gains, anchor and profile at the time
    anchor: str | None
    frames: BandFrames
    review: SpectralReview
    shapes: Mapping[str, np.ndarray]    # role -> dB per band relative to its loudness
    tonal: TonalProfile | None
    tonal_note: str                     # which tonal shapes the roles are compared with (or why none)

    @property
    def roles(self) -> list[str]:
        return list(self.frames.power)

    @property
    def masking(self) -> tuple[MaskingFinding, ...]:
        return self.review.masking

    def default_pair(self) -> tuple[str, str] | None:
        """The worst pair against the anchor (the first finding: anchor pairs come first), else the worst pair
        found (the map shows what the list beside it says), else any role and the anchor; None with fewer than
        two roles."""
        roles = self.roles
        if len(roles) < 2:
            return None
        for f in self.review.masking:
            if self.anchor in (f.masker, f.maskee):
                return f.masker, f.maskee
        if self.review.masking:
            return self.review.masking[0].masker, self.review.masking[0].maskee
        maskee = self.anchor if self.anchor in roles else roles[0]
        return next(r for r in roles if r != maskee), maskee


@dataclass(frozen=True, eq=False)
class PairMasking(MaskingMap):
    """Masking both ways between two chosen signals (tracks, or a track and a role) over the whole song."""

    tracks: weakref.ref                 # the TrackSet analysed (by identity, weakly)
    key: tuple                          # gains, anchor and profile at the time (as SpectralAnalysis.key)
    first: Party
    second: Party
    frames: BandFrames
    masking: tuple[MaskingFinding, ...]  # the first covering the second, then the second covering the first

    def covers(self, a: str, b: str) -> bool:
        """Whether this is the pair of the keys ``a`` and ``b`` (either way round)."""
        return {a, b} == {self.first.key, self.second.key}


class BandAnalysisJob(PoolJob):
    """A band analysis on the pool: ``analyse()``'s result is emitted, or a failure report (never an exception)."""

    def analyse(self) -> object:
        raise NotImplementedError

    def run(self) -> None:
        try:
            result = self.analyse()
        except Cancelled:
            self.fail(cancelled_report("Masking"))
            return
        except MemoryError:
            self.fail(ErrorReport("Masking", "Not enough memory to analyse the bands."))
            return
        except Exception as exc:  # the analysis must never take the window down
            self.fail(ErrorReport.from_exception(exc, "Masking"))
            return
        self.emit("finished", result)


class PairMaskingJob(BandAnalysisJob):
    """The band frames of two chosen signals (track ids or roles) and their masking findings both ways."""

    def __init__(self, job_id: int, tracks: TrackSet, gains: Gains, first: str, second: str, key: tuple) -> None:
        super().__init__(job_id)
        self.tracks, self.gains, self.first, self.second, self.key = tracks, gains, first, second, key

    def analyse(self) -> PairMasking:
        frames, a, b = pair_frames(self.tracks, self.first, self.second, self.gains)
        self.token.raise_if_cancelled()
        return PairMasking(weakref.ref(self.tracks), self.key, a, b, frames,
                           tuple(find_masking(frames, [[(a, b)], [(b, a)]], limit=None)))


class SpectralJob(BandAnalysisJob):
    """role_band_frames over the whole song, then masking findings, tonal shapes and tonal findings."""

    def __init__(self, job_id: int, tracks: TrackSet, gains: Gains, anchor: str | None, profile: str,
                 key: tuple) -> None:
        super().__init__(job_id)
        self.tracks = tracks
        self.gains = gains
        self.anchor = anchor
        self.profile = profile
        self.key = key

    def analyse(self) -> SpectralAnalysis:
        self.emit("progress", 0.1, "Analysing bands")
        frames = role_band_frames(self.tracks, self.gains)
        self.token.raise_if_cancelled()
        try:
            tonal, note = tonal_for_profile(self.profile)
        except MixingBuddyError as exc:
            tonal, note = None, f"no tonal comparison: {exc.message}"
        review = review_frames(frames, self.anchor, True, tonal)
        return SpectralAnalysis(weakref.ref(self.tracks), self.key, self.anchor, frames, review, role_shapes(frames),
                                tonal, note)


class SpectralMixin:
    def _init_spectral(self) -> None:
        self.spectral: SpectralAnalysis | None = None
        self.pair_masking: PairMasking | None = None

    @property
    def analysing(self) -> bool:
        return self.jobs.running(JobKind.SPECTRAL) is not None

    def _spectral_key(self) -> tuple:
        p = self.project
        return (p.gain_state(), tuple(sorted(p.muted)), tuple(sorted(p.soloed)), p.anchor, self.profile_name)

    def spectral_is_current(self) -> bool:
        s = self.spectral
        return s is not None and s.tracks() is self.project.tracks and s.key == self._spectral_key()

    def analyse_spectrum(self) -> int | None:
        """Start the masking/tonal analysis of the current mix; returns the job id (None without tracks)."""
        p = self.project
        if not p.tracks or not p.tracks.tracks:
            return None
        key = self._spectral_key()
        job = self.jobs.start(JobKind.SPECTRAL, lambda job_id: SpectralJob(job_id, p.tracks, p.gains(), p.anchor,
                                                                            self.profile_name, key))
        job.signals.finished.connect(self._on_spectral)
        job.signals.failed.connect(self._on_spectral_failed)
        self.spectral_busy.emit(True)
        self.pool.start(job)
        return job.job_id

    def _on_spectral(self, job_id: int, result: SpectralAnalysis) -> None:
        if not self.jobs.finish(JobKind.SPECTRAL, job_id):
            return
        self.spectral = result
        self.spectral_busy.emit(False)
        self.spectral_changed.emit(result)

    def _on_spectral_failed(self, job_id: int, report: ErrorReport) -> None:
        if not self.jobs.finish(JobKind.SPECTRAL, job_id):
            return
        self.spectral_busy.emit(False)
        if report.kind is not ErrorKind.CANCELLED:
            self.error.emit(report)

    def pair_masking_is_current(self, a: str, b: str) -> bool:
        """Whether the pair analysis is of the keys ``a`` and ``b`` (either way) for the current mix."""
        m = self.pair_masking
        return (m is not None and m.covers(a, b) and m.tracks() is self.project.tracks
                and m.key == self._spectral_key())

    def analyse_pair(self, first: str, second: str) -> int | None:
        """Start the masking analysis between two tracks (by id) or a track and a role; returns the job id."""
        p = self.project
        if not p.tracks or not p.tracks.tracks:
            return None
        key = self._spectral_key()
        job = self.jobs.start(JobKind.PAIR, lambda job_id: PairMaskingJob(job_id, p.tracks, p.gains(), first, second,
                                                                          key))
        job.signals.finished.connect(self._on_pair_masking)
        job.signals.failed.connect(self._on_pair_masking_failed)
        self.pool.start(job)
        return job.job_id

    def _on_pair_masking(self, job_id: int, result: PairMasking) -> None:
        if self.jobs.finish(JobKind.PAIR, job_id):
            self.pair_masking = result
            self.pair_masking_changed.emit(result)

    def _on_pair_masking_failed(self, job_id: int, report: ErrorReport) -> None:
        if self.jobs.finish(JobKind.PAIR, job_id) and report.kind is not ErrorKind.CANCELLED:
            self.error.emit(report)
            self.pair_masking_changed.emit(None)   # the view waiting for it stops waiting

    def loop_stretch(self, start_s: float, end_s: float) -> None:
        """Seek the preview to a stretch and loop over it (the stretch becomes the span)."""
        self.set_region((start_s, end_s))
        self.set_loop_enabled(True)
        self.seek(start_s)
