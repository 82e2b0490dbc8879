"""BalanceAdvisor: weights-free advice from BS.1770 loudness relative to the anchor, judged pair by pair.

Each (role, anchor) pair is judged over the windows where both roles are active. Its deviation
d = (role LU - anchor LU) - the profile's median; d > 0 means too loud. A role is flagged when |d| reaches
the ok threshold (3 dB); |d| >= 6 dB names the larger correction (6-12 dB) only when the advice is confident.
Confidence is measured: the probability that the role is really off, given how far finished songs of
the profile disagree (``flaw_probability``), no higher than the share of the pair's windows that agree, and
tentative while the pair is heard together for less than ``FIRM_TOGETHER_S``;
"well-balanced" is as sure as its least certain judged role (``balanced_probability``).
The same rule judges every window and the song, so the timeline, the table and the headline share one basis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from model.advice.advisor import AdviceRequest, AdvisorInfo, CancelToken, SongVerdict
from model.advice.profiles import (BalanceProfile, PairStats, bridge, bridge_legs, load_profile, pair_offset,
                                   pair_windows, song_offsets)
from model.advice.templates import CORRECTION_RANGE_DB, DIRECTION, GAIN_RANGE_DB, render_response
from model.advice.types import TENTATIVE_BELOW, RoleGain, WindowVerdict
from model.audio.roles import TRACK_ANCHOR
from model.audio.findings import Finding, listed
from model.audio.segments import MIN_ACTIVE_SHARE, Window, WindowPlan, select_windows

if TYPE_CHECKING:
    from model.audio.measure import Measurements, WindowLevels
    from model.audio.tracks import Track

#: The size of a fader error the probability weighs against a balanced mix (the synthetic protocol's range).
FLAW_RANGE_DB = (GAIN_RANGE_DB["loud"][0], GAIN_RANGE_DB["very_loud"][1])
#: Prior probability that a role is balanced: a mix has at most one of its three roles off (the synthetic
#: protocol moves exactly one), so a given role is off in at most a third of mixes, either way.
PRIOR_BALANCED = 2 / 3
#: A role guessed from a name this uncertain (``RoleGuess.confidence``) cannot back a confident suggestion.
UNCERTAIN_GUESS = 0.5
GUESSED_CAP = UNCERTAIN_GUESS - 0.01
UNGATED_CAP = 0.5
#: A pair that never plays together is measured through a role that plays with both: indirect, so never firm.
BRIDGED_CAP = TENTATIVE_BELOW - 0.01
#: A pair heard together for less than this is never firm either: a profile's spread is that of whole songs, and
#: one song's windows scatter far wider (a released song's drums-vs-vocals windows span 20 LU), so two of them do
#: not place a song inside or outside it. Three 10 s windows; on the real-stems bench a shorter stretch gave the
#: untouched songs' only confident suggestions ("drums far too loud" on two windows of Hydrogen's opening).
FIRM_TOGETHER_S = 30.0
BRIEFLY_HEARD_CAP = TENTATIVE_BELOW - 0.01


def too_brief_to_be_firm(together_s: float) -> bool:
    """Whether a pair heard together this long (s) can only back a tentative verdict (``FIRM_TOGETHER_S``)."""
    return together_s < FIRM_TOGETHER_S - 1e-6


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _explanations(deviation: float, spread: float, ok_db: float) -> tuple[float, float, float]:
    """Prior-weighted densities of ``deviation`` when the role is balanced, off that way, off the other way.

    Balanced: a finished song of the profile sits at d ~ Normal(0, spread). Off: the same song moved by a
    fader error of FLAW_RANGE_DB (uniform, ok_db up to 12 dB) either way.
    """
    s = max(spread, 0.25)
    high = FLAW_RANGE_DB[1]
    balanced = math.exp(-0.5 * (deviation / s) ** 2) / (s * math.sqrt(2 * math.pi))

    def moved(x: float) -> float:  # density of d when the role is too loud by U(ok_db, high)
        return max(0.0, _normal_cdf((x - ok_db) / s) - _normal_cdf((x - high) / s)) / (high - ok_db)

    half_flaw = (1 - PRIOR_BALANCED) / 2
    return PRIOR_BALANCED * balanced, half_flaw * moved(abs(deviation)), half_flaw * moved(-abs(deviation))


def flaw_probability(deviation: float, spread: float, ok_db: float = 3.0) -> float:
    """P(the role is off in the direction of ``deviation``), weighing a balanced song against a fader error.

    A wide profile (songs disagree) makes both explanations alike, so the probability stays near the
    prior instead of near 1.
    """
    balanced, same, opposite = _explanations(deviation, spread, ok_db)
    total = balanced + same + opposite
    if total <= 0.0:  # far beyond every explanation: only a flaw that way is left
        return 1.0 if abs(deviation) >= ok_db else 0.0
    return same / total


def balanced_probability(deviation: float, spread: float, ok_db: float = 3.0) -> float:
    """P(the role is balanced) on the same two explanations: what a "well-balanced" verdict can claim."""
    balanced, same, opposite = _explanations(deviation, spread, ok_db)
    total = balanced + same + opposite
    if total <= 0.0:
        return 0.0 if abs(deviation) >= ok_db else 1.0
    return balanced / total


def _window_agrees(window_d: float, song_d: float, ok_db: float) -> bool:
    """Whether one window's deviation agrees with the pair's verdict over the song.

    A pair out of band agrees with a window out of band the same way; a pair in band, with a window in band.
    """
    if abs(song_d) < ok_db:
        return abs(window_d) < ok_db
    return abs(window_d) >= ok_db and (window_d > 0) == (song_d > 0)


@dataclass(frozen=True)
class PairJudgement:
    """One (role, anchor) pair over the song: windows used and skipped, offset, deviation and verdict."""

    role: str
    anchor: str
    windows: int
    skipped: int
    offset_lu: float | None
    deviation_lu: float | None
    probability: float | None
    agreement: float | None
    suggestion: RoleGain | None
    reason: str  # why it was not judged, or "" when it was
    agreeing: int = 0   # of the pair's judged windows (``compared``), those agreeing with the pair's verdict
    compared: int = 0
    via: tuple[str, ...] = ()  # the roles it was measured through when the two never play together
    spread_lu: float | None = None  # the profile's spread for the pair: how far finished songs sit apart
    legs: tuple[tuple[str, str, int], ...] = ()  # through ``via``: each (role, anchor) leg and its windows
    together_s: float | None = None  # how long its windows last (None: a session saved before it was kept)

    @property
    def heard_briefly(self) -> bool:
        """Heard together too briefly for a firm verdict (``FIRM_TOGETHER_S``)."""
        return self.together_s is not None and not self.via and too_brief_to_be_firm(self.together_s)

    def to_json(self) -> dict:
        def r(x):
            return None if x is None else round(x, 3)

        return {"role": self.role, "anchor": self.anchor, "windows": self.windows, "skipped": self.skipped,
                "offset_lu": r(self.offset_lu), "deviation_lu": r(self.deviation_lu),
                "probability": r(self.probability), "agreement": r(self.agreement),
                "judged": not self.reason, "reason": self.reason or None, "agreeing": self.agreeing,
                "compared": self.compared, "via": list(self.via), "spread_lu": r(self.spread_lu),
                "legs": [{"role": a, "anchor": b, "windows": n} for a, b, n in self.legs],
                "together_s": r(self.together_s)}

    @classmethod
    def from_dict(cls, data: Mapping, suggestion: RoleGain | None) -> "PairJudgement":
        """A pair as a session file keeps it (``dataclasses.asdict``; lists for tuples); keys it does not know, from a
        newer version, are left out."""
        known = {f.name for f in fields(cls)}
        return cls(**{**{k: v for k, v in data.items() if k in known}, "suggestion": suggestion,
                      "via": tuple(data.get("via", ())), "legs": tuple(tuple(g) for g in data.get("legs", ()))})


def _guessed_role_words(files: Sequence[Track]) -> tuple[str, str]:
    """For files a name gave an uncertain role (a name of two instruments, "PAD + BASS", or one that names none and
    is taken for "other", "SLIDE"): why a suggestion resting on them is tentative, and what the note naming them
    says after "rests on"."""
    names = listed([t.name for t in files], 3)
    one = len(files) == 1
    if any(t.role.source == "name" for t in files):
        how, fix = ("an ambiguous file name", "if it holds other parts too") if one else (
            "ambiguous file names", "if they hold other parts too")
    else:
        how, fix = ("a file name that names no instrument", "if it is not one of the other instruments") if one else (
            "file names that name no instrument", "if they are not among the other instruments")
    if one:
        return (f"the role of {names} was guessed from {how}; set it to make the advice firm",
                f"{names}, whose role was guessed from {how}: {fix}, set its role and critique again.")
    return (f"the roles of {names} were guessed from {how}; set them to make the advice firm",
            f"{names}, whose roles were guessed from {how}: {fix}, set their roles and critique again.")


class BalanceAdvisor:
    """The embedded default advisor: measured loudness against a balance profile."""

    def __init__(self, profile: BalanceProfile) -> None:
        self.profile = profile
        self.info = AdvisorInfo(
            id="balance",
            kind="balance",
            description=f"measured BS.1770 loudness of each role vs the anchor, against the "
                        f"'{profile.name or 'custom'}' balance profile",
            max_windows=None,
        )

    @classmethod
    def from_resources(cls, profile: str | Path | None = None) -> "BalanceAdvisor":
        """The advisor for a profile name or file (default: pop-rock)."""
        return cls(load_profile(profile))

    # --- judging one set of offsets (a window or the song) -------------------------------
    def _judge(self, role: str, deviation: float, stats: PairStats, confidence_cap: float = 1.0
               ) -> tuple[RoleGain | None, float]:
        """The suggestion for one deviation (None inside the band) and the flaw probability."""
        p = flaw_probability(deviation, stats.spread, self.profile.ok_db)
        category = self.profile.category(deviation)
        if category == "no_error":
            return None, p
        confidence = min(p, confidence_cap)
        if confidence < TENTATIVE_BELOW:  # the size is as uncertain as the direction: name the smaller correction
            category = {"very_loud": "loud", "very_quiet": "quiet"}.get(category, category)
        low, high = CORRECTION_RANGE_DB[category]
        sign = -1.0 if deviation > 0 else 1.0
        delta = sign * min(max(abs(deviation), low), high)
        return RoleGain(role, DIRECTION[category], category, float(low), float(high), delta, confidence), p  # type: ignore[arg-type]

    def _pairs(self, roles: Sequence[str], anchor: str) -> list[tuple[str, PairStats]]:
        return [(r, st) for r in roles if r != anchor
                for st in [self.profile.typical(r, anchor)] if st is not None and st.judged]

    def verdict_for_levels(self, window: Window, role_lufs: Mapping[str, float], anchor: str) -> WindowVerdict:
        """One window's verdict from its role loudness (LUFS per role; only the roles to judge)."""
        ref = role_lufs.get(anchor, -math.inf)
        measured, flagged = {}, []
        for role, stats in self._pairs(list(role_lufs), anchor):
            x = role_lufs[role] - ref
            if not math.isfinite(x):
                continue
            measured[role] = x
            s, _ = self._judge(role, x - stats.median, stats)
            if s is not None and role != "other":
                flagged.append(s)
        if not flagged:
            return WindowVerdict(window, None, "none", "no_error", None, None, render_response("no_error"), measured)
        s = max(flagged, key=lambda g: (g.confidence, abs(g.delta_db)))
        return WindowVerdict(window, s.role, s.direction, s.category, s.min_db, s.max_db,
                             render_response(s.category, s.role), measured, True, s.delta_db)

    # --- MeasuringAdvisor ---------------------------------------------------------------
    def plan_windows(self, request: AdviceRequest, measurements: "Measurements") -> WindowPlan:
        """The windows where the anchor and at least one other role play (the per-pair gate)."""
        cands = measurements.candidates()
        anchor = request.anchor
        active = [any(r != anchor and w.role_active.get(r) for r in w.roles) and bool(w.role_active.get(anchor))
                  for w in cands]
        plan = select_windows([Window(w.window.start_s, w.window.end_s, ok) for w, ok in zip(cands, active)],
                              active, [w.mix.lufs for w in cands], request.max_windows)
        return plan

    def judge(self, request: AdviceRequest, windows: Sequence[Window],
              cancel: CancelToken | None = None) -> list[WindowVerdict]:
        from model.advice.pipeline import measure_request

        return self.judge_measured(request, measure_request(request), windows, cancel)

    def judge_measured(self, request: AdviceRequest, measurements: "Measurements", windows: Sequence[Window],
                       cancel: CancelToken | None = None) -> list[WindowVerdict]:
        """Per-window verdicts: each window judges the pairs active in it (every role in a fallback window)."""
        verdicts = []
        for window in windows:
            if cancel:
                cancel.raise_if_cancelled()
            levels = measurements.levels_for(window)
            roles = [r for r in levels.roles if not window.gated or r == request.anchor
                     or (levels.role_active.get(r) and levels.role_active.get(request.anchor))]
            lufs = {r: levels.roles[r].lufs for r in roles}
            verdicts.append(self.verdict_for_levels(window, lufs, request.anchor))
        return verdicts

    def song_verdict(self, request: AdviceRequest, measurements: "Measurements",
                     verdicts: Sequence[WindowVerdict]) -> SongVerdict:
        """Song-level advice: each pair over its own co-active windows, on the same rule as the windows."""
        anchor = request.anchor
        judged = [measurements.levels_for(v.window) for v in verdicts]
        fallback = any(not v.window.gated for v in verdicts)
        cap = UNGATED_CAP if fallback else 1.0
        guessed = {}  # role -> its audible files whose role was guessed from an ambiguous name or none
        for t in request.tracks.tracks:
            if t.role.confidence < UNCERTAIN_GUESS and t.role.source != "user" and request.gains.audible(t):
                guessed.setdefault(t.role.role, []).append(t)
        pairs = [self._judge_pair(request, measurements, judged, verdicts, role, fallback,
                                  cap if role not in guessed and anchor not in guessed else min(cap, GUESSED_CAP))
                 for role in measurements.roles_present if role != anchor]
        suggestions = sorted((p.suggestion for p in pairs if p.suggestion is not None),
                             key=lambda s: (s.role == "other", -s.confidence, -abs(s.delta_db)))
        primary = suggestions[0] if suggestions and suggestions[0].role != "other" else None
        notes = tuple(self._notes(pairs, primary, verdicts, fallback, guessed))
        judged_pairs = [p for p in pairs if not p.reason]
        if not judged_pairs:  # nothing to call balanced: say so instead
            return SongVerdict(None, (), 0.0, True, tuple(pairs), notes, self.profile.name,
                               f"No role could be judged against the {anchor} (the notes say why), so no change "
                               f"is suggested.")
        if primary is None:  # no surer than its least certain judged role, nor than the windows' agreement
            main = [p for p in judged_pairs if p.role != "other"]
            if not main and suggestions:  # only the other instruments were judged, and they are off
                return SongVerdict(None, tuple(suggestions), suggestions[0].confidence, False, tuple(pairs), notes,
                                   self.profile.name)
            counted = [v for v in verdicts if not v.judged_no_role]
            share = [sum(1 for v in counted if v.direction == "none") / len(counted)] if counted else []
            confidence = min([cap] + share + [BRIDGED_CAP for p in main if p.via] + [
                balanced_probability(p.deviation_lu, self.profile.typical(p.role, anchor).spread, self.profile.ok_db)
                for p in main or judged_pairs])
            return SongVerdict(None, tuple(suggestions), confidence, False, tuple(pairs), notes, self.profile.name)
        return SongVerdict(primary, tuple(suggestions), primary.confidence, False, tuple(pairs), notes,
                           self.profile.name)

    def _judge_pair(self, request, measurements, judged: Sequence["WindowLevels"], verdicts, role: str,
                    fallback: bool, cap: float) -> PairJudgement:
        anchor = request.anchor
        stats = self.profile.typical(role, anchor)
        used = judged if fallback else pair_windows(judged, role, anchor)
        skipped = len(measurements.candidates()) - len(used)
        if stats is None:
            why = (f"the anchor, the {anchor} track, is one of the {role}" if anchor == TRACK_ANCHOR
                   and role == "vocals" else f"the profile has no {role}-vs-{anchor} statistics")
            return PairJudgement(role, anchor, len(used), skipped, None, None, None, None, None, why)
        if not stats.judged:
            return PairJudgement(role, anchor, len(used), skipped, None, None, None, None, None,
                                 f"the profile measured {role} vs {anchor} on {stats.songs} song(s) only")
        offset = pair_offset(measurements, used, role, anchor)
        leg_offsets = None if offset is not None or fallback else (  # each leg over every window it plays in
            song_offsets("", measurements, pairs=bridge_legs(role, anchor)))
        bridged = None if leg_offsets is None else bridge(leg_offsets.offsets, role, anchor)
        if bridged is not None:
            offset, via = bridged
            suggestion, p = self._judge(role, offset - stats.median, stats, min(cap, BRIDGED_CAP))
            used_legs = tuple((a, b, len(leg_offsets.window_offsets[(a, b)]))
                              for m in via for a, b in ((role, m), (m, anchor)))
            return PairJudgement(role, anchor, 0, len(measurements.candidates()), offset, offset - stats.median, p,
                                 None, suggestion, "", via=via, spread_lu=stats.spread, legs=used_legs)
        if offset is None:
            return PairJudgement(role, anchor, 0, len(measurements.candidates()), None, None, None, None, None,
                                 f"{role} and {anchor} never play together in the judged span")
        d = offset - stats.median
        together = sum(w.window.duration_s for w in used)
        if too_brief_to_be_firm(together):
            cap = min(cap, BRIEFLY_HEARD_CAP)
        starts = {round(w.window.start_s, 6) for w in used}
        mine = [v for v in verdicts if round(v.window.start_s, 6) in starts and v.measured_lu and role in v.measured_lu]
        agree = sum(1 for v in mine if _window_agrees(v.measured_lu[role] - stats.median, d, self.profile.ok_db))
        agreement = agree / len(mine) if mine else 0.0
        suggestion, p = self._judge(role, d, stats, min(cap, agreement))
        return PairJudgement(role, anchor, len(used), skipped, offset, d, p, agreement, suggestion, "", agree,
                             len(mine), spread_lu=stats.spread, together_s=together)

    def _notes(self, pairs: Sequence[PairJudgement], primary: RoleGain | None,
               verdicts: Sequence[WindowVerdict], fallback: bool, guessed: Mapping[str, list[Track]]) -> list[Finding]:
        out = []
        for p in pairs:
            if p.reason:
                out.append(Finding("pair_not_judged", "info", f"{p.role} not judged: {p.reason}."))
            elif p.via:
                legs = " plus ".join(f"{a} vs {b} over {n} window(s)" for a, b, n in p.legs)
                out.append(Finding("pair_bridged", "info",
                                   f"{p.role} vs {p.anchor}: never play together in the judged span; measured "
                                   f"through the {' and '.join(p.via)} ({legs}), an indirect reading, so at most "
                                   f"tentative."))
            elif p.skipped and not fallback:
                out.append(Finding("pair_windows", "info",
                                   f"{p.role} vs {p.anchor}: judged over {p.windows} window(s) where both play; "
                                   f"{p.skipped} skipped (in each, one of them is silent or plays in under "
                                   f"{MIN_ACTIVE_SHARE:.0%} of it)."))
            files = guessed.get(p.role, []) + guessed.get(p.anchor, [])   # its files' roles, guessed uncertainly
            guessed_why, rests_on = _guessed_role_words(files) if files else ("", "")
            if p.suggestion is not None and p.suggestion.confidence < TENTATIVE_BELOW:
                why = "finished songs of this kind disagree this much" if (p.probability or 0) < TENTATIVE_BELOW else (
                    f"measured through the {' and '.join(p.via)} only" if p.via else
                    "its windows disagree" if (p.agreement or 0) < TENTATIVE_BELOW else
                    f"heard with the {p.anchor} for only {p.together_s:.0f} s here (a firm verdict needs "
                    f"{FIRM_TOGETHER_S:.0f} s)" if p.heard_briefly else
                    guessed_why)
                out.append(Finding("tentative", "info",
                                   f"{p.role}: tentative ({p.suggestion.confidence:.0%}): {why}."))
            if p.suggestion is not None and files and (p.probability or 0) < TENTATIVE_BELOW:
                # the advice is tentative for another reason, but its role may not even be what the name says
                out.append(Finding("role_guessed", "info", f"{p.role} vs {p.anchor} rests on {rests_on}"))
        if primary is not None:
            mine = [v for v in verdicts if v.target == primary.role]
            sized = [v for v in mine if v.direction == primary.direction and v.category != primary.category]
            if sized:
                out.append(Finding(
                    "window_size_differs", "info",
                    f"{len(sized)} window(s) judged alone name a different correction for the {primary.role} than "
                    f"the song ({primary.min_db:g}-{primary.max_db:g} dB): the song combines all its windows where "
                    f"{primary.role} and the anchor play, and names 6-12 dB only when the advice is confident."))
            if opposed := [v for v in mine if v.direction not in (primary.direction, "none")]:
                way = "up" if primary.direction == "decrease" else "down"
                out.append(Finding(
                    "window_direction_differs", "info",
                    f"{len(opposed)} window(s) judged alone move the {primary.role} the other way ({way}): the song "
                    f"combines all its windows where {primary.role} and the anchor play, so they count against it."))
        return out
