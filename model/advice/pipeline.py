"""critique(): the one song-level pipeline used by the GUI worker, the CLI and evaluation."""

from __future__ import annotations

import dataclasses
import math
import os
from typing import TYPE_CHECKING, Iterable, Sequence

from model.advice.report import (balanced_but_sentence, sit_well_claim, span_text, suggestion_claim,
                                 suggestion_sentence)
from model.advice.types import (PROFILE_DECIDES, TENTATIVE_BELOW, Advice, Claim, RoleGain, WindowLeftOut,
                                WindowVerdict, advice_sentence)
from model.advice.wording import Party
from model.advice.advisor import AdviceRequest, Advisor, CancelToken, MeasuringAdvisor, Progress, SongVerdict
from model.errors import NoAnalysableAudio, RoleError
from model.audio.findings import Finding, listed
from model.audio.roles import ANCHOR_PREFERENCE, TARGET_ROLES, TRACK_ANCHOR, named_like_backing_vocal
from model.audio.segments import MIN_ACTIVE_SHARE

if TYPE_CHECKING:
    from model.advice.balance import PairJudgement
    from model.advice.profiles import BalanceProfile
    from model.audio.cache import AnalysisCache
    from model.audio.measure import Measurements, MeasureSession

#: The shortest span that holds one BS.1770 loudness block.
MIN_SPAN_S = 0.4
from model.advice.templates import CORRECTION_RANGE_DB, stems_phrase
from model.advice.voting import Vote, vote


def default_anchor(roles_present: Sequence[str]) -> str:
    """vocals if present, else drums, else bass (before measuring; ``choose_anchor`` asks who plays)."""
    for role in ANCHOR_PREFERENCE:
        if role in roles_present:
            return role
    raise RoleError("No vocals, drums or bass track found to use as the anchor: name the files by role or set roles.")


def choose_anchor(measurements: "Measurements") -> tuple[str, str]:
    """The default anchor: the first of vocals, drums, bass active in the judged span, and why."""
    present = measurements.roles_present
    for role in ANCHOR_PREFERENCE:
        if any(w.role_active.get(role) for w in measurements.candidates()):
            passed = [r for r in ANCHOR_PREFERENCE[:ANCHOR_PREFERENCE.index(role)]]
            if not passed:
                return role, f"default: {role} play in the judged span"
            why = "; ".join(f"{r} {how_little_it_plays(r, measurements) if r in present else 'absent'}"
                            for r in passed)
            return role, f"default: {why}, so {role}"
    raise NoAnalysableAudio("None of vocals, drums or bass plays in the judged span: there is nothing to anchor "
                            "the balance on. Select a longer span or set the roles.")


def how_little_it_plays(role: str, measurements: "Measurements", subject: str = "", where: str = "") -> str:
    """Why a role counts as not playing in the judged span, for a role active in none of its windows.

    "silent in the judged span" when nothing of it is heard there; else "barely plays in the judged span
    (in under 20% of each 10 s window)": the activity gate (MIN_ACTIVE_SHARE of a window) is not silence,
    and the role may well be loud where it does play. ``subject`` (a singular one, "The anchor role 'drums'")
    opens the phrase with the verb that agrees with it; without it the verb agrees with the role. ``where``
    ("90.0-110.0 s") is said in the parentheses after "the judged span".
    """
    cands = measurements.candidates()
    heard = measurements.role_loudness([w.window for w in cands]).get(role, -math.inf)
    plural = not subject and Party.role(role).plural
    if not math.isfinite(heard):
        verb = "is silent" if subject else "silent"
        return f"{subject} {verb}".lstrip() + " in the judged span" + (f" ({where})" if where else "")
    each = f"each {measurements.window_s:g} s window" if any(w.full for w in cands) else "it"
    verb = "barely play" if plural else "barely plays"
    return (f"{subject} {verb}".lstrip() + f" in the judged span ({where + ': ' if where else ''}"
            f"in under {MIN_ACTIVE_SHARE:.0%} of {each})")


def check_anchor_plays(anchor: str, measurements: "Measurements", what: str = "") -> None:
    """A chosen anchor must play somewhere in the judged span (else there is nothing to compare against)."""
    if not any(w.role_active.get(anchor) for w in measurements.candidates()):
        span = measurements.windows
        where = span_text((span[0].window.start_s, span[-1].window.end_s)) if span else ""   # as the app shows spans
        raise RoleError(f"{how_little_it_plays(anchor, measurements, what or f'The anchor role {anchor!r}', where)}: "
                        "choose another anchor or span.")


def check_span(request: AdviceRequest) -> None:
    """The judged span must hold at least one 400 ms loudness block."""
    start, end = request.span if request.span else (0.0, request.tracks.duration_s)
    end = min(end, request.tracks.duration_s)
    if end - start < MIN_SPAN_S:
        if not request.span:   # the files themselves are that short: a one-shot stem is fine beside longer ones
            raise NoAnalysableAudio(f"The longest file is {request.tracks.duration_s * 1000:.0f} ms long; at least "
                                    f"{MIN_SPAN_S * 1000:.0f} ms (one loudness block) is needed to judge a balance.")
        raise NoAnalysableAudio(f"The judged span is {max(0.0, end - start) * 1000:.0f} ms long; select at least "
                                f"{MIN_SPAN_S * 1000:.0f} ms (one loudness block).")


def check_anchor(request: AdviceRequest) -> None:
    """The anchor must be a target role with at least one audible track (None: chosen after measuring), or
    one audible vocals track (``anchor_track``): profiles hold single-track statistics for the lead vocal only.
    Something else must be audible beside it: a lone role (or track) has nothing to be judged against."""
    if request.anchor_track is not None:
        track = next((t for t in request.tracks.tracks if t.id == request.anchor_track), None)
        if track is None:
            raise RoleError(f"No loaded track is '{request.anchor_track}': the anchor track must be one of the files.")
        if not request.gains.audible(track):
            raise RoleError(f"The anchor track {track.name} is muted: unmute it or choose another anchor.")
        if track.role.role != "vocals":
            raise RoleError(f"The anchor track {track.name} is a {track.role.role} track: a single-track anchor is "
                            f"the lead vocal (profiles measure roles against it only). Anchor on the "
                            f"{track.role.role} role instead, or set the track's role.")
        if not any(t.id != track.id and request.gains.audible(t) for t in request.tracks.tracks):
            raise RoleError(f"Only the anchor track {track.name} is audible: there is nothing to judge against it. "
                            f"{_ADD_STEMS}")
        return
    if request.anchor is not None and request.anchor not in TARGET_ROLES:
        raise RoleError(f"The anchor must be vocals, drums or bass, not '{request.anchor}'.")
    present = request.tracks.roles_present(request.gains)
    if request.anchor is not None and request.anchor not in present:
        if not any(t.role.role == request.anchor for t in request.tracks.tracks):
            raise RoleError(f"No file is {request.anchor}, so the {request.anchor} cannot be the anchor: choose "
                            "another, or set a file's role.")
        raise RoleError(f"The anchor role '{request.anchor}' has no audible tracks.")
    if request.anchor is None and present and not set(present) & set(TARGET_ROLES):
        raise RoleError(_nothing_to_anchor_on(request))
    if len(present) == 1 and present[0] in TARGET_ROLES:
        alone = Party.role(present[0])
        raise RoleError(f"Only {alone.words} {alone.verb('is', 'are')} audible: there is nothing to judge "
                        f"{alone.them} against. {_ADD_STEMS}")


def _nothing_to_anchor_on(request: AdviceRequest) -> str:
    """Why no role can be the anchor when every audible stem is "other": its stems are muted, names say nothing,
    or there are other instruments only."""
    audible = [t for t in request.tracks.tracks if request.gains.audible(t)]
    unnamed = [t.name for t in audible if t.role.source == "default"]
    muted = [t.name for t in request.tracks.tracks if t.role.role in TARGET_ROLES and not request.gains.audible(t)]
    if muted:
        why = f"{listed(muted)} {'is' if len(muted) == 1 else 'are'} muted"
    elif len(unnamed) == len(audible):
        why = f"the file names ({listed(unnamed)}) do not say what the stems hold"
    else:
        only = "the only audible stem is" if len(audible) == 1 else "every audible stem is"
        why = f"{only} another instrument ({listed([t.name for t in audible])})"
    return (f"No audible stem is vocals, drums or bass, so there is nothing to anchor the balance on: {why}. Set "
            "the stems' roles (the Role column in the app; --role 'NAME=drums' on the command line) and critique again.")


#: What a session of one role (or one audible track) lacks.
_ADD_STEMS = "Add or unmute the other stems and critique again."


def check_track_anchor_statistics(advisor: Advisor) -> None:
    """A single-track anchor needs an advisor whose profile measured roles against a lead vocal track."""
    profile = getattr(advisor, "profile", None)
    if profile is None:
        raise RoleError(f"The {advisor.info.id} advisor judges against a whole role only: anchor on the vocals "
                        "role, or use the balance advisor.")
    if not profile.judges_track_anchor:
        raise RoleError(f"The '{profile.name or 'custom'}' profile has no statistics against a lead vocal track: "
                        "anchor on the vocals role, or choose a profile fitted from songs with their lead vocal "
                        "on a track of its own (electronic, or one learned from your mixes).")


def critique(request: AdviceRequest, advisor: Advisor, cancel: CancelToken | None = None,
             progress: Progress | None = None, analysis=None, cache: "AnalysisCache | None" = None,
             measure_with: "MeasureSession | None" = None,
             contrast_with: Iterable["BalanceProfile"] | None = None) -> Advice:
    """Doctor -> windows -> advisor.judge -> vote (or the advisor's song verdict) -> Advice.

    ``analysis`` (model.audio.stream.SessionAnalysis of the request's tracks, span and
    window length) gives the measurements and doctor findings made while streaming the
    files; without it both are made here from the request's loaded audio, reusing what
    ``cache`` knows of each track's file (and keeping what is new there). ``contrast_with``: the profiles a
    confident verdict is checked against (``profile_contrast``; default: every listed one).
    """
    if not request.tracks.tracks:
        raise NoAnalysableAudio("No tracks to judge.")
    check_anchor(request)
    if request.anchor_track is not None:
        check_track_anchor_statistics(advisor)
        request = dataclasses.replace(request, anchor=request.tracks.get(request.anchor_track).role.role)
    check_span(request)
    # measuring is nearly all of a measuring advisor's work, a small part of a model's
    judged_at = 0.9 if isinstance(advisor, MeasuringAdvisor) else 0.2
    if analysis is not None:  # measured (and doctored) while the files were streamed
        measurements = analysis.measurements
    else:
        measuring = None if progress is None else (
            lambda f, msg: progress(0.05 + (judged_at - 0.1) * f, msg))
        measurements = measure_request(request, request.true_peak, cache=cache, cancel=cancel, progress=measuring,
                                       measure_with=measure_with)
    if cancel:
        cancel.raise_if_cancelled()
    if request.anchor is None:
        anchor, anchor_reason = choose_anchor(measurements)
        request = dataclasses.replace(request, anchor=anchor)
    else:
        anchor_reason = "chosen"
    judged, judged_request = measurements, request  # what the advisor compares: against the role or the track
    if request.anchor_track is not None:
        judged = measurements.with_track_as_role(request.anchor_track, TRACK_ANCHOR)
        judged_request = dataclasses.replace(request, anchor=TRACK_ANCHOR)
        check_anchor_plays(TRACK_ANCHOR, judged,
                           f"The anchor track {request.tracks.get(request.anchor_track).name}")
    elif anchor_reason == "chosen":
        check_anchor_plays(request.anchor, measurements)
    if analysis is not None:
        findings = list(analysis.findings)
    else:
        if progress:
            progress(judged_at - 0.05, "Checking the export")
        findings = doctor_request(request, cache, cancel)
    max_windows = request.max_windows if request.max_windows is not None else advisor.info.max_windows
    if hasattr(advisor, "plan_windows"):  # the advisor picks its windows (the balance advisor: per-pair gate)
        plan = advisor.plan_windows(dataclasses.replace(judged_request, max_windows=max_windows), judged)
    else:
        plan = measurements.window_plan(max_windows)
    if not plan.windows:
        raise NoAnalysableAudio("The selection contains no audio to judge.")
    if progress:
        progress(judged_at, f"Judging {len(plan.windows)} window(s) with {advisor.info.id}")
    contrast = None
    if isinstance(advisor, MeasuringAdvisor):  # reuses the measurements (no second metering pass)
        verdicts = advisor.judge_measured(judged_request, judged, plan.windows, cancel)
        song = advisor.song_verdict(judged_request, judged, verdicts)
        contrast = profile_contrast(advisor, judged_request, judged, plan.windows, song, contrast_with)
        if contrast is not None:
            song = dataclasses.replace(song, notes=tuple(song.notes) + (contrast[0],))
    else:
        verdicts = advisor.judge(request, plan.windows, cancel)
        song = from_vote(vote(verdicts, request.min_agreement))
    primary, suggestions, confidence, abstained = song.primary, song.suggestions, song.confidence, song.abstained
    if song.pairs and all(p.reason for p in song.pairs):   # no role judged: "judging the loudest one" judged nothing
        plan = dataclasses.replace(plan, note="")
    notes = tuple(findings) + tuple(measurements.findings(plan)) + tuple(song.notes) + track_anchor_notes(request)
    text, agreement, claims = headline(song, verdicts, judged_request.anchor)
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
        measurements=judged.to_json(judged_request.anchor),
        agreement=agreement,
        anchor_reason=anchor_reason,
        profile=song.profile,
        pairs=tuple(song.pairs),
        anchor_track=request.anchor_track,
        claims=claims,
        span=judged_span(request),
        left_out=windows_left_out(judged, plan.windows, judged_request.anchor, max_windows,
                                  [(a, b) for p in song.pairs for a, b, _n in p.legs]),
        contrast_profile=None if contrast is None else contrast[1],
    )


def judged_span(request: AdviceRequest) -> tuple[float, float] | None:
    """The span a request judges, within the song (None: the whole song)."""
    if not request.span:
        return None
    start, end = request.span
    return max(0.0, start), min(end, request.tracks.duration_s)


def windows_left_out(measurements: "Measurements", judged: Sequence, anchor: str,
                     max_windows: int | None = None,
                     legs: Sequence[tuple[str, str]] = ()) -> tuple[WindowLeftOut, ...]:
    """The windows of the span that no verdict covers, each with why: the anchor does not play there, nothing
    plays beside it, the window is below the activity gate, or it is the tail shorter than one window. Each also
    names the ``legs`` of indirect readings (PairJudgement.legs) whose two roles both play there: those were
    measured there all the same."""
    kept = {round(w.start_s, 6) for w in judged}
    who = Party.role(anchor)
    out = []
    for w in measurements.candidates():
        if round(w.window.start_s, 6) in kept:
            continue
        if not w.role_active.get(anchor):
            heard = w.roles.get(anchor)
            why = (f"{who.words} (the anchor) {who.verb('is', 'are')} silent there"
                   if heard is None or not math.isfinite(heard.lufs) else
                   f"{who.words} (the anchor) {who.verb('plays', 'play')} in under {MIN_ACTIVE_SHARE:.0%} of it")
        elif not any(r != anchor and w.role_active.get(r) for r in w.roles):
            why = f"nothing plays beside {who.words} (the anchor) there"
        elif not w.window.gated:
            why = "below the activity gate"
        else:
            why = (f"the advisor judges {max_windows} windows at most, spread over the span" if max_windows
                   else "not picked by the advisor")
        read = tuple(f"{a} vs {b}" for a, b in legs if w.role_active.get(a) and w.role_active.get(b))
        out.append(WindowLeftOut(w.window.start_s, w.window.end_s, why, read))
    if any(w.full for w in measurements.windows):
        out += [WindowLeftOut(w.window.start_s, w.window.end_s,
                              f"the end of the span, shorter than one {measurements.window_s:g} s window")
                for w in measurements.windows if not w.full]
    return tuple(out)


def headline(song: SongVerdict, verdicts: Sequence[WindowVerdict], anchor: str
             ) -> tuple[str, str, tuple[Claim, ...]]:
    """The sentence for a song verdict, how many windows back it ("" when the advisor judged nothing) and, when
    the sentence makes two claims (the main roles sit well, the other instruments are off), each claim with its
    own confidence and windows."""
    primary = song.primary
    fallback = any(not v.window.gated for v in verdicts)
    text = song.text or advice_sentence(primary, song.abstained, confidence=song.confidence)
    if song.abstained and song.text:  # the advisor said why it judged nothing: no windows to count
        return text, "", ()
    judged = [p.role for p in song.pairs if not p.reason]
    if primary is None and not song.abstained and not song.suggestions and judged == ["other"]:
        # only the other instruments were judged, and they sit well: that is no well-balanced mix
        unjudged = [p.role for p in song.pairs if p.reason and p.role != "other"]
        text = (f"Against the {anchor}, {sit_well_claim(['other'], song.confidence < TENTATIVE_BELOW)}"
                + (f"; the {stems_phrase(unjudged)} could not be judged (the notes say why)." if unjudged else "."))
        return text, _pair_backing(song, "other", anchor, fallback), ()
    if primary is None and not song.abstained and song.suggestions:  # only a secondary role (other) is off
        other = song.suggestions[0]
        sit_well = [p.role for p in song.pairs if not p.reason and p.role != "other"]
        text = balanced_but_sentence(anchor, sit_well, other, song.confidence)
        backing = _pair_backing(song, other.role, anchor, fallback)
        if not sit_well:  # the one claim is the other instruments': their pair's windows back it
            return text, backing, ()
        claims = (Claim(sit_well_claim(sit_well, song.confidence < TENTATIVE_BELOW), song.confidence,
                        _window_backing(song, verdicts, None, anchor, fallback)),
                  Claim(suggestion_claim(other, other.confidence < TENTATIVE_BELOW), other.confidence, backing))
        return text, "; ".join(f"{c.claim}: {c.backing}" for c in claims if c.backing), claims
    backing = _pair_backing(song, primary.role, anchor, fallback) if primary is not None else ""
    return text, backing or _window_backing(song, verdicts, primary, anchor, fallback), ()


def _pair_backing(song: SongVerdict, role: str, anchor: str, fallback: bool = False) -> str:
    """The windows behind one pair's verdict: "3 of 4 windows where the drums and the vocals both play agree"
    (or how it was measured when no window has both; "" when the pair counted no window). ``fallback``: the
    verdicts are the loudest window's, judged though no window passed the activity gate."""
    pair = next((p for p in song.pairs if p.role == role and not p.reason), None)
    who = Party.role(role).words
    if pair is not None and pair.via:  # no window has both: the reading is a sum of two pairs
        return f"no window has both {who} and the {anchor}; measured through the {' and '.join(pair.via)}"
    if pair is not None and pair.compared and fallback:  # the loudest window, not one where both play
        return (f"judged in the loudest window only, though {who} and the {anchor} do not both play in "
                f"{MIN_ACTIVE_SHARE:.0%} of any window")
    if pair is not None and pair.compared:  # judged over the pair's own windows: count those
        return (_agreeing(pair.agreeing, pair.compared, where=f" where {who} and the {anchor} both play")
                + _tentative_caveat(pair))
    return ""


def _tentative_caveat(pair: PairJudgement) -> str:
    """Why a suggestion most windows agree on is still tentative: the profile's own spread (finished songs of the
    kind differ that much), too brief a stretch of the two together, or a role guessed from an unsure file name
    (which caps it; the notes name the file)."""
    s = pair.suggestion
    if (s is None or s.confidence >= TENTATIVE_BELOW or pair.probability is None or pair.spread_lu is None
            or 4 * pair.agreeing < 3 * pair.compared):
        return ""
    held_below = s.confidence < min(pair.probability, pair.agreement or 0.0) - 1e-9   # below what it measured
    if held_below and pair.heard_briefly:
        return f", but they play together for only {pair.together_s:.0f} s here, so it stays tentative"
    if held_below:
        return ", but the role of a file behind it was guessed from an unsure name, so it stays tentative"
    if s.confidence < pair.probability - 1e-9:
        return ""
    return f", but finished songs of this kind differ by about {pair.spread_lu:.0f} LU on this pair, so it stays tentative"


def _window_backing(song: SongVerdict, verdicts: Sequence[WindowVerdict], primary: RoleGain | None,
                    anchor: str, fallback: bool = False) -> str:
    """How many of the windows that judged a role agree with the verdict (when none did, as for roles measured
    only through another one, how the judged roles were measured). ``fallback`` as for ``_pair_backing``."""
    counted = [v for v in verdicts if not v.judged_no_role]  # a window with no role to judge backs nothing
    if not counted and primary is None:
        return "; ".join(b for p in song.pairs if not p.reason and p.role != "other"
                         for b in [_pair_backing(song, p.role, anchor)] if b)
    if counted and fallback:  # one window, below the gate
        return "judged in the loudest window only, as no window passed the activity gate"
    judged = " judged" if len(counted) < len(verdicts) else ""
    # a balanced verdict's windows judge the roles they have; one measured through another role is in none of them
    via = [p for p in song.pairs if primary is None and not p.reason and p.via and p.role != "other"]
    return _agreeing(sum(1 for v in counted if _agrees(v, primary)), len(counted), kind=judged) + "".join(
        f"; {Party.role(p.role).words} measured through the {' and '.join(p.via)}" for p in via)


def _agreeing(agreeing: int, counted: int, kind: str = "", where: str = "") -> str:
    """'3 of 4{kind} windows{where} agree', or of a single window '1{kind} window{where} agrees'."""
    if counted == 1:
        return f"1{kind} window{where} {'agrees' if agreeing else 'disagrees'}"
    return f"{agreeing} of {counted}{kind} windows{where} agree"


def _claim(song: SongVerdict) -> tuple[str, str] | None:
    """What a song verdict confidently says should move: (role, direction), or None (balanced or tentative)."""
    p = song.primary
    return None if p is None or p.confidence < TENTATIVE_BELOW else (p.role, p.direction)


def profile_contrast(advisor: Advisor, request: AdviceRequest, measurements: "Measurements", windows: Sequence,
                     song: SongVerdict, others: Iterable["BalanceProfile"] | None = None
                     ) -> tuple[Finding, str] | None:
    """A note (and the other profile's name) when a confident suggestion holds against the chosen profile but not
    against another one.

    Loudness alone cannot tell a flawed mix from one of another genre (released electronic pop sits its drums
    louder than pop/rock), so a confident verdict that another profile (``others``, default: every listed
    one) does not share says which profile decides it, and what that one says: the user knows the genre.
    """
    from model.advice.balance import BalanceAdvisor
    from model.advice.profiles import load_listed_profiles

    claim = _claim(song)
    if claim is None or not isinstance(advisor, BalanceAdvisor):
        return None
    for profile in load_listed_profiles() if others is None else others:
        if profile.name == advisor.profile.name:
            continue
        other = BalanceAdvisor(profile)
        verdicts = other.judge_measured(request, measurements, windows)
        alt = other.song_verdict(request, measurements, verdicts)
        if _claim(alt) == claim or all(p.reason for p in alt.pairs):  # agrees, or judged nothing here
            continue
        kind = profile.description.split(":")[0].strip()
        kind = f" — {kind[0].lower()}{kind[1:]} —" if kind else ""
        note = Finding(PROFILE_DECIDES, "info",
                       f"This advice rests on the '{advisor.profile.name or 'chosen'}' profile. Against "
                       f"'{profile.name}'{kind} {_other_view(alt, claim[0], verdicts, request.anchor)}. If the song "
                       f"is of that kind, critique it with that profile.")   # each front end says how to
        return note, profile.name
    return None


def _other_view(alt: SongVerdict, role: str, verdicts: Sequence[WindowVerdict], anchor: str) -> str:
    """What another profile's verdict says of ``role`` (the headline's), then of the role it leads with instead:
    "the bass may be a little too loud: if so, lower it by 3 to 6 dB (28%); and, first, the drums may be …"."""
    def sentence(s: RoleGain) -> str:
        said = suggestion_sentence(s, tentative=s.confidence < TENTATIVE_BELOW)
        return f"{said[0].lower()}{said[1:-1]} ({s.confidence:.0%})"

    same = next((s for s in alt.suggestions if s.role == role), None)
    judged = any(p.role == role and not p.reason for p in alt.pairs)
    if same is None and not judged:   # it could not judge the role: its headline
        if alt.primary is not None:
            return sentence(alt.primary)
        said = headline(alt, verdicts, anchor)[0]
        return f"{said[0].lower()}{said[1:-1]} ({alt.confidence:.0%})"
    view = sentence(same) if same is not None else f"{sit_well_claim([role])} ({alt.confidence:.0%})"
    lead = alt.primary if alt.primary is not None and alt.primary.role != role else None
    return view + (f"; and, first, {sentence(lead)}" if lead is not None else "")


def track_anchor_notes(request: AdviceRequest) -> tuple[Finding, ...]:
    """A warning when the single-track anchor is named like a backing vocal (it is judged as the lead all the same)."""
    if request.anchor_track is None:
        return ()
    track = request.tracks.get(request.anchor_track)
    if not named_like_backing_vocal(track.name):
        return ()
    return (Finding("anchor_named_backing", "warning",
                    f"{track.name} is named like a backing vocal, yet it is judged as the lead vocal, against the "
                    f"profile's lead-vocal statistics; if the lead is another track, anchor on that one.",
                    (track.id,)),)


def _agrees(v: WindowVerdict, primary: RoleGain | None) -> bool:
    if primary is None:
        return v.direction == "none" and v.category != "unparsed"
    return v.target == primary.role and v.direction == primary.direction


def measure_request(request: AdviceRequest, true_peak: bool = False, per_track: bool = True,
                    cache: "AnalysisCache | None" = None, cancel: CancelToken | None = None,
                    progress: Progress | None = None, measure_with: "MeasureSession | None" = None) -> "Measurements":
    """The measurements a request asks for: its tracks and gains over its span, in its window length.

    With a ``cache``, tracks whose file it knows are not metered again (their unity-gain window
    readings are gain-independent), the readings of the tracks metered now are kept there, and the
    same measurement asked for twice at once (the app's meters and a critique) is made once.
    ``measure_with`` replaces ``model.audio.measure.measure_session`` (same arguments), e.g. by the app's
    ``MeteringProcess.measure_session``.
    """
    from model.audio.measure import measure_session

    measure_session = measure_with or measure_session
    tracks, window_s, span = request.tracks, request.window_s, request.span

    def measure() -> "Measurements":
        known = cache.known_windows(tracks, window_s, span) if cache is not None else None
        m = measure_session(tracks, request.gains, window_s, span, true_peak=true_peak, per_track=per_track,
                            known=known, cancel=cancel, progress=progress)
        if cache is not None:
            cache.keep(tracks, window_s, span, {tid: w for tid, w in m.track_windows.items() if tid not in known})
        return m

    if cache is None:
        return measure()
    return cache.shared(_measurement_key(request, true_peak, per_track), measure, cancel)


def _measurement_key(request: AdviceRequest, true_peak: bool, per_track: bool) -> tuple:
    """Everything measure_request's result depends on: each track's file, role and gain, the span and window.

    The whole role guess, not the role alone: the result reports where each role came from (a role the user
    confirms is no longer an unsure guess)."""
    tracks, gains = request.tracks, request.gains
    return (tracks.sample_rate, tracks.frames, request.window_s, request.span, true_peak, per_track,
            tuple((t.id, os.path.abspath(t.path), t.info.stamp, t.role, round(gains.linear(t), 12))
                  for t in tracks.tracks))


def doctor_request(request: AdviceRequest, cache: "AnalysisCache | None" = None,
                   cancel: CancelToken | None = None) -> list:
    """The export doctor's findings on a request's loaded tracks (statistics a ``cache`` knows are reused).

    Raises RoleError when the request's anchor role has no audible, non-silent track.
    """
    from model.audio.doctor import check_session, track_stats

    tracks = request.tracks
    known = cache.known_stats(tracks) if cache is not None else {}
    stats = [known.get(t.id) or track_stats(t, tracks.sample_rate, cancel) for t in tracks.tracks]
    if cache is not None:
        cache.keep(tracks, 0.0, None, stats={s.id: s for s in stats if s.id not in known})
    return check_session(tracks, request.anchor, request.gains, stats)


def from_vote(result: Vote) -> SongVerdict:
    """Voting outcome -> primary suggestion; delta is the signed midpoint of the category range."""
    if result.abstained or result.target is None or result.direction == "none":
        return SongVerdict(None, (), result.confidence, result.abstained)
    low, high = CORRECTION_RANGE_DB[result.category]
    sign = 1.0 if result.direction == "increase" else -1.0
    primary = RoleGain(result.target, result.direction, result.category, float(low), float(high),  # type: ignore[arg-type]
                       sign * (low + high) / 2.0, result.confidence)
    return SongVerdict(primary, (primary,), result.confidence, False)
