"""critique(): the one song-level pipeline used by the GUI worker, the CLI and evaluation."""

from __future__ import annotations

from typing import Sequence

from model.advice.types import Advice, RoleGain, WindowVerdict, advice_sentence
from model.advice.advisor import AdviceRequest, Advisor, CancelToken, MeasuringAdvisor, Progress, SongVerdict
from model.errors import NoAnalysableAudio, RoleError
from model.audio.roles import ANCHOR_PREFERENCE, TARGET_ROLES
from model.advice.templates import CORRECTION_RANGE_DB
from model.advice.voting import Vote, vote


def default_anchor(roles_present: Sequence[str]) -> str:
    """vocals if present, else drums, else bass."""
    for role in ANCHOR_PREFERENCE:
        if role in roles_present:
            return role
    raise RoleError("No vocals, drums or bass track found to use as the anchor: name the files by role or set roles.")


def check_anchor(request: AdviceRequest) -> None:
    """The anchor must be a target role with at least one audible track."""
    if request.anchor not in TARGET_ROLES:
        raise RoleError(f"The anchor must be vocals, drums or bass, not '{request.anchor}'.")
    tracks = [t for t in request.tracks.tracks if t.role.role == request.anchor and request.gains.audible(t)]
    if not tracks:
        raise RoleError(f"The anchor role '{request.anchor}' has no audible tracks.")


def critique(request: AdviceRequest, advisor: Advisor, cancel: CancelToken | None = None,
             progress: Progress | None = None, analysis=None) -> Advice:
    """Doctor -> windows -> advisor.judge -> vote (or the advisor's song verdict) -> Advice.

    ``analysis`` (model.audio.stream.SessionAnalysis of the request's tracks, span and
    window length) gives the measurements and doctor findings made while streaming the
    files; without it both are made here from the request's loaded audio.
    """
    if not request.tracks.tracks:
        raise NoAnalysableAudio("No tracks to judge.")
    check_anchor(request)
    if analysis is not None:
        findings, measurements = list(analysis.findings), analysis.measurements
    else:
        from model.audio.doctor import check_session

        findings = check_session(request.tracks, request.anchor, request.gains)
        if progress:
            progress(0.05, "Measuring loudness")
        measurements = measure_request(request, true_peak=request.true_peak)
    if cancel:
        cancel.raise_if_cancelled()
    max_windows = request.max_windows if request.max_windows is not None else advisor.info.max_windows
    plan = measurements.window_plan(max_windows)
    if not plan.windows:
        raise NoAnalysableAudio("The selection contains no audio to judge.")
    if progress:
        progress(0.2, f"Judging {len(plan.windows)} window(s) with {advisor.info.id}")
    if isinstance(advisor, MeasuringAdvisor):  # reuses the measurements (no second metering pass)
        verdicts = advisor.judge_measured(request, measurements, plan.windows, cancel)
        song = advisor.song_verdict(request, measurements, verdicts)
    else:
        verdicts = advisor.judge(request, plan.windows, cancel)
        song = from_vote(vote(verdicts, request.min_agreement))
    primary, suggestions, confidence, abstained = song.primary, song.suggestions, song.confidence, song.abstained
    notes = tuple(findings) + tuple(measurements.findings(plan))
    text = advice_sentence(primary, abstained)
    status = f"{sum(1 for v in verdicts if _agrees(v, primary))} of {len(verdicts)} windows agree"
    if progress:
        progress(1.0, "Done")
    return Advice(
        anchor=request.anchor,
        primary=primary,
        suggestions=suggestions,
        windows=tuple(verdicts),
        confidence=confidence,
        abstained=abstained,
        text=text,
        advisor_id=advisor.info.id,
        findings=notes,
        measurements=measurements.to_json(request.anchor),
        status=status,
    )


def _agrees(v: WindowVerdict, primary: RoleGain | None) -> bool:
    if primary is None:
        return v.direction == "none" and v.category != "unparsed"
    return v.target == primary.role and v.direction == primary.direction


def measure_request(request: AdviceRequest, true_peak: bool = False, per_track: bool = True):
    """The measurements a request asks for: its tracks and gains over its span, in its window length."""
    from model.audio.measure import measure_session

    return measure_session(request.tracks, request.gains, request.window_s, request.span,
                           true_peak=true_peak, per_track=per_track)


def from_vote(result: Vote) -> SongVerdict:
    """Voting outcome -> primary suggestion; delta is the signed midpoint of the category range."""
    if result.abstained or result.target is None or result.direction == "none":
        return SongVerdict(None, (), result.confidence, result.abstained)
    low, high = CORRECTION_RANGE_DB[result.category]
    sign = 1.0 if result.direction == "increase" else -1.0
    primary = RoleGain(result.target, result.direction, result.category, float(low), float(high),  # type: ignore[arg-type]
                       sign * (low + high) / 2.0, result.confidence)
    return SongVerdict(primary, (primary,), result.confidence, False)
