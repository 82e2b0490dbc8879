"""MixProject: the pure-Python state of one mixing session (no Qt).

Holds the tracks, roles, anchor, gains (per track and per role), mutes and solos, the
region, the last advice and its findings, a ``revision`` that changes whenever anything
the critique depends on changes, undo/redo of gain changes, and the loudness cache of the
meters. Saving and opening go through session_file.py (the file format).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from model.advice.advisor import AdviceRequest
from model.advice.types import Advice
from model.audio.findings import Finding, listed
from model.audio.dsp import gated_loudness
from model.audio.roles import ANCHOR_PREFERENCE, ROLES, TARGET_ROLES
from model.audio.tracks import GAIN_MAX_DB, GAIN_MIN_DB, Gains, TrackSet, clamp_gain
from model.errors import InputError

from mixingbuddy_app.session_file import MissingTrack, PendingSession, session_state, write_session

MIN_SPAN_S = 0.5  # a shorter span is dropped: the critique needs 400 ms loudness blocks to judge


@dataclass(frozen=True)
class ApplyResult:
    """What Apply did: the role, the suggested delta, the delta actually applied, and whether it was clamped."""

    role: str
    requested_db: float
    applied_db: float
    before_db: float
    after_db: float

    @property
    def clamped(self) -> bool:
        return abs(self.requested_db - self.applied_db) > 1e-6

    def describe(self) -> str:
        s = f"{self.role} {self.applied_db:+.1f} dB (now {self.after_db:+.1f} dB)"
        if self.clamped:
            s += f"; suggestion {self.requested_db:+.1f} dB clamped at the fader range {GAIN_MIN_DB:+.0f}..{GAIN_MAX_DB:+.0f} dB"
        return s


@dataclass(frozen=True)
class GainState:
    """The track and role gains (what A/B switches between)."""

    track_db: tuple[tuple[str, float], ...]
    role_db: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class MixState:
    """Everything Undo and Redo restore: the gains, mutes and solos."""

    gains: GainState
    muted: frozenset[str]
    soloed: frozenset[str]


@dataclass(frozen=True)
class ExactLoudness:
    """BS.1770 loudness of each audible role and of the mix over the judged span (the whole song when none is
    selected), as model.audio.measure.measure_session measures it.

    ``role_blocks`` are each role's gating-block energies with its role gain taken out: a role's sum
    only scales with its role gain, so its exact loudness at any role gain follows from them. ``pairs``
    are each (role, anchor role) offset over the windows where both play (what the critique judges),
    with both role gains taken out, and each (role, "t:<id>") offset against a vocals track as a lone anchor
    (its track gain kept in); a pair that never plays together is absent. ``bridged`` are the pairs measured
    through a third role (their offsets also depend on the other roles' tracks).
    """

    roles: Mapping[str, float]
    mix: float
    role_blocks: Mapping[str, np.ndarray] = field(default_factory=dict)
    pairs: Mapping[tuple[str, str], float] = field(default_factory=dict)
    bridged: frozenset[tuple[str, str]] = frozenset()

    def bridged_or_apart(self, role: str, anchor: str) -> bool:
        """Whether the pair never plays together (measured through a third role, or not at all)."""
        return (role, anchor) in self.bridged or (role, anchor) not in self.pairs


class MixProject:
    """Pure-Python session state. The controller is the only writer."""

    def __init__(self) -> None:
        self.tracks: TrackSet | None = None
        self.lufs: dict[str, float] = {}          # integrated loudness of each track at unity gain
        self.track_db: dict[str, float] = {}
        self.role_db: dict[str, float] = {r: 0.0 for r in ROLES}
        self.muted: set[str] = set()
        self.soloed: set[str] = set()
        self.anchor: str | None = None
        #: The user picked the anchor. Until then each critique applies the pipeline's rule (the first of
        #: vocals, drums, bass that plays in the span) and ``anchor`` shows the one it used.
        self.anchor_chosen = False
        #: One vocals track (its id) anchored on instead of the whole vocals role (the lead vocal), else None.
        self.anchor_track: str | None = None
        self.region: tuple[float, float] | None = None
        self.advice: Advice | None = None
        self.advice_revision: int = -1
        self.load_findings: tuple[Finding, ...] = ()
        self.load_notes: tuple[str, ...] = ()
        self.failed: tuple[tuple[str, str], ...] = ()
        self.missing: list[MissingTrack] = []
        self.revision: int = 0
        self.session_path: Path | None = None
        self.dirty = False
        self.applied_advice: Advice | None = None   # the advice that Apply acted on (for Re-check)
        self.ab_reference: GainState | None = None  # gains before the last Apply (the "A" of A/B)
        #: what Apply did to reach the mix of the latest applied state, in order (kept after a hand move since)
        self.applied_results: tuple[ApplyResult, ...] = ()
        self._applied_revision = -1                 # the revision at which the mix is that applied state
        self._applied_source: Advice | None = None  # the advice those results came from
        self._advice_key: tuple | None = None       # the mix the advice judged (_mix_key), for Undo back to it
        #: each mix an Apply of the source made (_mix_key) -> its results, for Undo and Redo back to it
        self._applied_states: dict[tuple, tuple[ApplyResult, ...]] = {}
        self._undo: list[tuple[str, MixState]] = []
        self._redo: list[tuple[str, MixState]] = []
        self._coalesce_key: str | None = None
        self._load_gen = 0                          # bumps whenever the audio itself changes
        self._exact: dict[tuple, ExactLoudness] = {}  # measured loudness by loudness_key (a few entries)
        self._role_blocks: dict[tuple, np.ndarray] = {}  # a role's block energies by role_key (role gain out)
        #: _pair_key -> the pair's offset with role gains out (None: the two never play together, nothing bridges)
        self._pair_lu: dict[tuple, float | None] = {}

    # --- basic queries -----------------------------------------------------
    @property
    def track_ids(self) -> list[str]:
        return [t.id for t in self.tracks.tracks] if self.tracks else []

    def roles_present(self) -> tuple[str, ...]:
        return self.tracks.roles_present() if self.tracks else ()

    def anchor_choices(self) -> tuple[str, ...]:
        return tuple(r for r in TARGET_ROLES if r in self.roles_present())

    def gains(self) -> Gains:
        return Gains(dict(self.track_db), dict(self.role_db), frozenset(self.muted), frozenset(self.soloed))

    def gain_state(self) -> GainState:
        return GainState(tuple(sorted(self.track_db.items())), tuple(sorted(self.role_db.items())))

    def mix_state(self) -> MixState:
        return MixState(self.gain_state(), frozenset(self.muted), frozenset(self.soloed))

    def _bump(self) -> None:
        self.revision += 1
        self.dirty = True

    def _forget_history(self, ab_reference: GainState | None) -> None:
        """A new mix in the window: no undo or redo, no Apply to continue, A/B against ``ab_reference``."""
        self.ab_reference = ab_reference
        self._set_applied(None, ())
        self._undo.clear()
        self._redo.clear()
        self._coalesce_key = None

    # --- tracks ------------------------------------------------------------
    def set_tracks(self, tracks: TrackSet, lufs: Mapping[str, float] | None = None,
                   findings: Iterable[Finding] = (), notes: Iterable[str] = (),
                   failed: Iterable[tuple[str, str]] = ()) -> None:
        """Replace the tracks, keeping gains, mutes and solos of tracks that stay (matched by id)."""
        ids = {t.id for t in tracks.tracks}
        self.tracks = tracks
        self._load_gen += 1
        self._exact.clear()
        self._role_blocks.clear()
        self._pair_lu.clear()
        self.lufs = dict(lufs or {})
        self.track_db = {i: self.track_db.get(i, 0.0) for i in ids}
        self.muted &= ids
        self.soloed &= ids
        self.load_findings = tuple(findings)
        self.load_notes = tuple(notes)
        self.failed = tuple(failed)
        self._keep_anchor_valid()
        if self.region and tracks.duration_s and self.region[0] >= tracks.duration_s:
            self.region = None
        self._bump()

    def remove_tracks(self, track_ids: Iterable[str]) -> list[str]:
        """Remove tracks by id (unknown ids are ignored); returns the ids removed. No tracks left: cleared."""
        if not self.tracks:
            return []
        gone = [i for i in dict.fromkeys(track_ids) if i in set(self.track_ids)]
        if not gone:
            return []
        tracks = self.tracks
        for i in gone:
            tracks = tracks.without(i)
        if not tracks.tracks:
            self.clear_tracks()
            return gone
        self.tracks = tracks
        keep = set(self.track_ids)
        self.track_db = {k: v for k, v in self.track_db.items() if k in keep}
        self.muted &= keep
        self.soloed &= keep
        self.lufs = {k: v for k, v in self.lufs.items() if k in keep}
        self.load_findings = tuple(f for f in self.load_findings
                                   if not f.track_ids or any(t in keep for t in f.track_ids))
        self._keep_anchor_valid()
        if self.region and self.region[0] >= tracks.duration_s:
            self.region = None
        self._bump()
        return gone

    def clear_tracks(self) -> None:
        """No tracks: the state of an empty window (role gains are kept; the gain history goes with the tracks)."""
        self.tracks = None
        self._load_gen += 1
        self._exact.clear()
        self._role_blocks.clear()
        self._pair_lu.clear()
        self.lufs = {}
        self.track_db = {}
        self.muted, self.soloed = set(), set()
        self.anchor = None
        self.anchor_chosen = False
        self.anchor_track = None
        self.region = None
        self.advice = None
        self.load_findings, self.load_notes, self.failed = (), (), ()
        self._forget_history(ab_reference=None)
        self._bump()

    def default_anchor(self) -> str | None:
        """The core's anchor rule (model.audio.roles.ANCHOR_PREFERENCE), or None when no target role is present."""
        present = self.roles_present()
        return next((r for r in ANCHOR_PREFERENCE if r in present), None)

    def set_role(self, track_id: str, role: str) -> None:
        if role not in ROLES:
            raise InputError(f"Unknown role '{role}'.")
        assert self.tracks is not None
        t = self.tracks.get(track_id)
        if t.role.role == role and t.role.source == "user":
            return
        self.tracks = self.tracks.replace(t.with_role(role))
        self._keep_anchor_valid()
        self._bump()

    def set_anchor(self, role: str) -> None:
        if role not in TARGET_ROLES:
            raise InputError(f"The anchor must be vocals, drums or bass, not '{role}'.")
        if role not in self.anchor_choices():
            raise InputError(f"The anchor role '{role}' has no tracks: set a track's role to {role} first.")
        self.anchor_chosen = True
        if role == self.anchor:
            return
        self.anchor = role
        self.anchor_track = None
        self._bump()

    def anchor_track_choices(self) -> tuple[str, ...]:
        """Track ids that can be the anchor on their own: the vocals tracks (profiles know the lead vocal only)."""
        return tuple(t.id for t in self.tracks.tracks if t.role.role == "vocals") if self.tracks else ()

    def anchor_label(self) -> str:
        """The anchor as the user picked it: "drums", or "VOX LEAD.wav (lead vocal)" for one track."""
        if self.anchor_track and self.tracks:
            return f"{self.tracks.get(self.anchor_track).name} (lead vocal)"
        return self.anchor or "—"

    def set_anchor_track(self, track_id: str | None) -> None:
        """Anchor on one vocals track (the lead vocal) instead of the whole vocals role; None: the whole role."""
        if track_id is not None and track_id not in self.anchor_track_choices():
            raise InputError("Only a vocals track can be the anchor on its own (the lead vocal): set its role to "
                             "vocals first.")
        if track_id is not None:
            self.set_anchor("vocals")
        if track_id == self.anchor_track:
            return
        self.anchor_track = track_id
        self._bump()

    def _keep_anchor_valid(self) -> None:
        """After tracks or roles change: an anchor role without tracks falls back to the default rule, and an
        anchor track that is gone or no longer a vocal gives way to the whole role."""
        if self.anchor not in self.anchor_choices():
            self.anchor = self.default_anchor()
        if self.anchor_track is not None and (self.anchor != "vocals"
                                              or self.anchor_track not in self.anchor_track_choices()):
            self.anchor_track = None

    def set_region(self, region: tuple[float, float] | None) -> str:
        """Judge (and loop) this span; None or the whole song: no span. Returns why a span was dropped ("" if not):
        shorter than MIN_SPAN_S (the critique needs loudness blocks) or outside the song."""
        why = ""
        if region is not None:
            a, b = sorted((float(region[0]), float(region[1])))
            dur = self.tracks.duration_s if self.tracks else b
            lo, hi = max(0.0, a), min(dur, b)
            if hi <= lo:
                why = f"The span {a:.1f}–{b:.1f} s lies outside the song (0–{dur:.1f} s)"
            elif hi - lo < MIN_SPAN_S:
                why = f"The span {lo:.1f}–{hi:.1f} s is shorter than {MIN_SPAN_S:g} s"
            region = None if why or (lo <= 0.0 and hi >= dur - 1e-3) else (lo, hi)
        if region != self.region:
            self.region = region
            self._bump()
        return why

    # --- gains, mutes, solos (undoable) ------------------------------------
    def _push_undo(self, label: str, key: str | None) -> None:
        if key is not None and key == self._coalesce_key and self._undo:
            return  # one continuous fader move is one undo step
        self._undo.append((label, self.mix_state()))
        del self._undo[:-200]
        self._redo.clear()
        self._coalesce_key = key

    def end_gain_edit(self) -> None:
        """Close the current coalesced edit (fader released)."""
        self._coalesce_key = None

    def set_track_gain(self, track_id: str, db: float, coalesce: bool = True) -> float:
        return self._set_gain(self.track_db, track_id, db, f"gain of {self._track_name(track_id)}", f"track:{track_id}",
                              coalesce)

    def set_role_gain(self, role: str, db: float, coalesce: bool = True) -> float:
        return self._set_gain(self.role_db, role, db, f"{role} gain", f"role:{role}", coalesce)

    def _set_gain(self, table: dict[str, float], key: str, db: float, label: str, coalesce_key: str,
                  coalesce: bool) -> float:
        """Set one clamped gain (dB) with an undo step; consecutive edits of one fader coalesce."""
        db = clamp_gain(db)
        if abs(table.get(key, 0.0) - db) < 1e-9:
            return db
        self._push_undo(label, coalesce_key if coalesce else None)
        table[key] = db
        self._bump()
        return db

    def set_muted(self, track_ids: str | Iterable[str], on: bool, by_hand: bool = True) -> None:
        """Mute or unmute tracks, one undo step. A mute the app makes itself (``by_hand`` False: a copy of
        other stems found on load) is no step: it holds in every state Undo and Redo can go back to, so they
        never unmute what the app said it muted."""
        self._set_flag("muted", "mute" if on else "unmute", track_ids, on, by_hand)

    def set_soloed(self, track_ids: str | Iterable[str], on: bool) -> None:
        self._set_flag("soloed", "solo" if on else "unsolo", track_ids, on, True)

    def _set_flag(self, which: str, verb: str, track_ids: str | Iterable[str], on: bool, by_hand: bool) -> None:
        """Set tracks in or out of ``which`` ("muted" or "soloed": the attribute here and in a MixState)."""
        flags: set[str] = getattr(self, which)
        ids = [track_ids] if isinstance(track_ids, str) else list(track_ids)
        changed = [i for i in ids if on != (i in flags)]
        if not changed:
            return
        if by_hand:
            self._push_undo(f"{verb} of {listed([self._track_name(i) for i in changed], 2)}", None)
        else:   # in every state Undo and Redo hold as well
            def amend(state: MixState) -> MixState:
                held = getattr(state, which)
                return replace(state, **{which: held | set(changed) if on else held - set(changed)})
            for stack in (self._undo, self._redo):
                stack[:] = [(label, amend(state)) for label, state in stack]
        (flags.update if on else flags.difference_update)(changed)
        self._bump()

    def _track_name(self, track_id: str) -> str:
        try:
            return self.tracks.get(track_id).name
        except (AttributeError, KeyError):
            return track_id

    def _restore(self, state: MixState) -> None:
        self.track_db = dict(state.gains.track_db)
        self.role_db = {r: 0.0 for r in ROLES} | dict(state.gains.role_db)
        self.muted, self.soloed = set(state.muted), set(state.soloed)
        if self.tracks is not None:
            ids = set(self.track_ids)                                   # only tracks still loaded
            self.track_db = {i: self.track_db.get(i, 0.0) for i in self.track_ids}
            self.muted &= ids
            self.soloed &= ids
        self._bump()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_label(self) -> str | None:
        """What Undo would undo ("gain of Kick.wav", "mute of Mix.wav", "Apply drums"); None with nothing to undo."""
        return self._undo[-1][0] if self._undo else None

    def redo_label(self) -> str | None:
        return self._redo[-1][0] if self._redo else None

    def undo(self) -> str | None:
        return self._step(self._undo, self._redo)

    def redo(self) -> str | None:
        return self._step(self._redo, self._undo)

    def _step(self, source: list, target: list) -> str | None:
        """Restore the newest state of ``source``, keeping the current one on ``target``; returns its label.

        Undo back to the mix the advice judged makes the advice current again (nothing applied, Apply acts
        again); Redo back to the mix right after an Apply makes it applied again.
        """
        if not source:
            return None
        label, state = source.pop()
        target.append((label, self.mix_state()))
        self._coalesce_key = None
        self._restore(state)
        key = self._mix_key()
        if self.advice is not None and key == self._advice_key:
            self.advice_revision = self.revision
            if self._applied_source is self.advice:
                self._set_applied(self.advice, ())
        elif self._applied_source is self.advice and key in self._applied_states:
            self._set_applied(self.advice, self._applied_states[key])
        return label

    def _mix_key(self) -> tuple:
        """Everything a critique judges but the advisor and profile: audio, roles, gains, mutes, anchor, span."""
        roles = tuple((t.id, t.role.role) for t in self.tracks.tracks) if self.tracks else ()
        return (self._load_gen, roles, self.gain_state(), frozenset(self.muted), frozenset(self.soloed),
                self.anchor, self.anchor_track, self.region)

    # --- advice -------------------------------------------------------------
    def snapshot(self) -> AdviceRequest:
        """The immutable request the worker judges."""
        if self.tracks is None or not self.tracks.tracks:
            raise InputError("Load some stems first.")
        if self.anchor is None:
            raise InputError("No vocals, drums or bass track to use as the anchor: set the roles first.")
        return AdviceRequest(tracks=self.tracks, anchor=self.anchor if self.anchor_chosen else None,
                             gains=self.gains(), span=self.region, anchor_track=self.anchor_track)

    def set_advice(self, advice: Advice | None) -> bool:
        """Keep a critique's result. It does not make the session dirty: Critique can always run again, and the
        unsaved-changes prompt guards what the user did by hand.

        Without a chosen anchor, the anchor becomes the one the critique used; returns whether it changed.
        """
        self.advice = advice
        self.advice_revision = self.revision
        changed = not (advice is None or self.anchor_chosen or advice.anchor == self.anchor
                       or advice.anchor not in self.anchor_choices())
        if changed:
            self.anchor = advice.anchor
        self._advice_key = self._mix_key()
        return changed

    def applicable_roles(self) -> tuple[str, ...]:
        """Roles of the current advice whose suggestion can still be applied.

        All of them while the advice describes the mix; after an Apply of this advice (and nothing else since),
        the ones not applied yet.
        """
        adv = self.advice
        if adv is None or adv.abstained or not adv.suggestions:
            return ()
        roles = tuple(s.role for s in adv.suggestions)
        if self.advice_revision == self.revision:
            return roles
        if self._applied_revision == self.revision:
            return tuple(r for r in roles if r not in self.applied_roles())
        return ()

    def applied_roles(self) -> frozenset[str]:
        """Roles of the current advice that Apply moved to reach the mix as it is (none after any other change)."""
        if self._applied_source is not self.advice or self._applied_revision != self.revision:
            return frozenset()
        return frozenset(r.role for r in self.applied_results)

    def shown_applied(self) -> tuple[ApplyResult, ...]:
        """What Apply did with the current advice, to show beside it (also after a hand move since)."""
        return self.applied_results if self._applied_source is self.advice else ()

    def _set_applied(self, source: Advice | None, results: tuple[ApplyResult, ...], reached: bool = True) -> None:
        """The mix is now ``source``'s applied state reached by ``results`` (none: not applied, nothing to
        re-check; ``reached`` False: they were applied, and the mix changed since by hand); a new source forgets
        the states of the one before."""
        if source is not self._applied_source:
            self._applied_states = {}
        self._applied_source, self.applied_results = source, results
        self._applied_revision = self.revision if results and reached else -1
        if source is None or not results:
            self.applied_advice = None
            return
        if reached:
            self._applied_states[self._mix_key()] = results   # for Undo and Redo back to this mix
        roles = {r.role for r in results}
        # Re-check judges the headline of what was applied
        primary = (source.primary if source.primary is not None and source.primary.role in roles else
                   next(s for s in source.suggestions if s.role == results[0].role))
        self.applied_advice = source if primary is source.primary else replace(source, primary=primary)

    def apply_advice(self, roles: Iterable[str] | None = None) -> list[ApplyResult]:
        """Move each chosen role's gain by its suggested delta_db (clamped to the fader range); one undo step.

        ``roles``: the suggestions to apply (None: the first one, the headline's). Returns one ApplyResult per
        role moved.
        """
        adv = self.advice
        allowed = self.applicable_roles()
        if adv is None or not allowed:
            raise InputError("There is no suggestion to apply.")
        wanted = [adv.suggestions[0].role] if roles is None else list(dict.fromkeys(roles))
        by_role = {s.role: s for s in adv.suggestions}
        chosen = [by_role[r] for r in wanted if r in by_role and r in allowed]
        if not chosen:
            raise InputError("That suggestion was already applied or no longer describes the mix.")
        continuing = self._applied_revision == self.revision and self._applied_source is adv
        prior = self.applied_results if continuing else ()
        before_state = self.gain_state()
        self._coalesce_key = None
        self._push_undo("Apply " + ", ".join(s.role for s in chosen), None)
        results = []
        for s in chosen:
            before = self.role_db.get(s.role, 0.0)
            after = clamp_gain(before + s.delta_db)
            self.role_db[s.role] = after
            results.append(ApplyResult(s.role, float(s.delta_db), after - before, before, after))
        self._coalesce_key = None
        self._bump()
        if not continuing:
            self.ab_reference = before_state    # A/B compares with the mix before this advice was first applied
        self._set_applied(adv, prior + tuple(results))
        return results

    def ab_gains(self) -> Gains | None:
        """The 'before' gains for A/B (the state before the last Apply)."""
        if self.ab_reference is None:
            return None
        return Gains(dict(self.ab_reference.track_db), {r: 0.0 for r in ROLES} | dict(self.ab_reference.role_db),
                     frozenset(self.muted), frozenset(self.soloed))

    # --- loudness: a quick estimate now, the exact measurement when the background job returns ----
    def estimated_mix_loudness(self, gains: Gains | None = None) -> float:
        """Quick estimate of the mix loudness: power sum of per-track integrated loudness.

        It treats tracks as uncorrelated and always active, so it over-reads sparse material
        (a kick or a hi-hat); the exact value comes from :meth:`exact_loudness`.
        """
        return self._power_sum(None, gains)

    def _power_sum(self, role: str | None, gains: Gains | None) -> float:
        if not self.tracks:
            return float("-inf")
        gains = gains or self.gains()
        power = 0.0
        for t in self.tracks.tracks:
            if role is not None and t.role.role != role:
                continue
            lufs = self.lufs.get(t.id)
            g = gains.linear(t)
            if lufs is None or not math.isfinite(lufs) or g == 0.0:
                continue
            power += (g * g) * 10.0 ** (lufs / 10.0)
        return 10.0 * math.log10(power) if power > 0 else float("-inf")

    def _measured_audio(self) -> tuple:
        """What every measured reading depends on besides roles and gains: the loaded audio and the judged span."""
        return self._load_gen, self.region

    def loudness_key(self, gains: Gains | None = None) -> tuple | None:
        """Everything the role and mix loudness depend on: the loaded audio, the span, each track's role and gain."""
        if not self.tracks or not self.tracks.tracks:
            return None
        gains = gains or self.gains()
        return (self._measured_audio(),
                tuple((t.id, t.role.role, round(gains.linear(t), 9)) for t in self.tracks.tracks))

    def measure_request(self, gains: Gains | None = None) -> AdviceRequest | None:
        """The request that model.audio.measure.measure_session measures for the meters: the judged span (the whole
        song when none is selected), so the meters read what Critique judges."""
        if not self.tracks or not self.tracks.tracks:
            return None
        return AdviceRequest(tracks=self.tracks, anchor=self.anchor or TARGET_ROLES[0], gains=gains or self.gains(),
                             span=self.region)

    def role_key(self, role: str, gains: Gains | None = None) -> tuple | None:
        """Everything a role's sum depends on besides its role gain: the audio and span, its tracks, their gains."""
        if not self.tracks:
            return None
        gains = gains or self.gains()
        return (self._measured_audio(), role, tuple((t.id, round(gains.track_db.get(t.id, 0.0), 9))
                                                    for t in self.tracks.tracks
                                                    if t.role.role == role and gains.audible(t)))

    def set_exact_loudness(self, key: tuple, value: ExactLoudness, gains: Gains | None = None) -> None:
        """Keep a measurement made at ``gains`` (key: its loudness_key); its role blocks serve other role gains."""
        if key is None or key[0] != self._measured_audio():
            return  # measured on audio that is no longer loaded, or over another span
        self._exact[key] = value
        while len(self._exact) > 8:
            self._exact.pop(next(iter(self._exact)))
        for role, blocks in value.role_blocks.items():
            self._role_blocks[self.role_key(role, gains)] = blocks
        while len(self._role_blocks) > 64:
            self._role_blocks.pop(next(iter(self._role_blocks)))
        audible = [r for r in self.roles_present() if self.role_key(r, gains)[2]]
        lone = [t.id for t in self.tracks.tracks if t.role.role == "vocals" and gains.audible(t)]
        for role in audible:  # every pair is known now, played together (an offset) or not (None)
            for anchor in audible:
                if role != anchor:
                    self._pair_lu[self._pair_key(role, self.role_key(anchor, gains), anchor, value.bridged_or_apart(
                        role, anchor), gains)] = value.pairs.get((role, anchor))
            for track_id in lone if role != "vocals" else ():
                self._pair_lu[self._pair_key(role, self._track_key(track_id, gains), None, value.bridged_or_apart(
                    role, f"t:{track_id}"), gains)] = value.pairs.get((role, f"t:{track_id}"))
        while len(self._pair_lu) > 256:
            self._pair_lu.pop(next(iter(self._pair_lu)))

    def _pair_key(self, role: str, anchor_key: tuple, anchor_role: str | None, indirect: bool, gains: Gains) -> tuple:
        """_pair_lu's key of a pair: the role's and the anchor's keys; for a pair that never plays together, also
        the other roles' keys (``anchor_role`` None for a lone track: every other role, its own included), since
        what bridges it, and the bridged offset, depend on their tracks too."""
        key = (self.role_key(role, gains), anchor_key)
        if not indirect:
            return key
        return key + (tuple(self.role_key(r, gains) for r in self.roles_present() if r not in (role, anchor_role)),)

    def _track_key(self, track_id: str, gains: Gains) -> tuple:
        """What a lone anchor track's pair offsets depend on besides its role gain: the audio and its track gain."""
        return (self._measured_audio(), "track", track_id, round(gains.track_db.get(track_id, 0.0), 9))

    def exact_loudness(self, gains: Gains | None = None) -> ExactLoudness | None:
        """The roles and the mix as measured at exactly these gains, or None."""
        key = self.loudness_key(gains)
        return None if key is None else self._exact.get(key)

    def _exact_role(self, role: str, gains: Gains) -> float | None:
        """A role's exact loudness at these gains: measured, or from its blocks at another role gain; else None."""
        exact = self.exact_loudness(gains)
        if exact is not None:
            return exact.roles.get(role, float("-inf"))
        key = self.role_key(role, gains)
        if key is None or not key[2]:
            return float("-inf")        # no audible track: silent, exactly
        blocks = self._role_blocks.get(key)
        if blocks is None:
            return None
        return gated_loudness(blocks * 10.0 ** (gains.role_db.get(role, 0.0) / 10.0))

    def loudness_is_exact(self, gains: Gains | None = None) -> bool:
        """Whether every role's loudness (what the meters show) is exact at these gains."""
        gains = gains or self.gains()
        return bool(self.tracks) and all(self._exact_role(r, gains) is not None for r in self.roles_present())

    def role_loudness(self, role: str, gains: Gains | None = None) -> float:
        """A role's loudness (LUFS; -inf when absent or silent): exact when known, else the estimate."""
        gains = gains or self.gains()
        exact = self._exact_role(role, gains) if self.tracks else None
        return exact if exact is not None else self._power_sum(role, gains)

    def ab_match_offset(self) -> tuple[float, bool]:
        """dB to add to the 'before' gains so A/B compares at matched loudness, and whether it is exact.

        Both sides come from the same source: measured when both are measured, else both estimated.
        """
        before = self.ab_gains()
        if before is None:
            return 0.0, False
        a, b = self.exact_loudness(), self.exact_loudness(before)
        exact = a is not None and b is not None
        la, lb = (a.mix, b.mix) if exact else (self.estimated_mix_loudness(), self.estimated_mix_loudness(before))
        if not (math.isfinite(la) and math.isfinite(lb)):
            return 0.0, exact
        return la - lb, exact

    def track_loudness(self, track_id: str) -> float:
        """The track's loudness with its track + role gain (ignores mute: a meter of the source)."""
        assert self.tracks is not None
        t = self.tracks.get(track_id)
        lufs = self.lufs.get(track_id, float("-inf"))
        if not math.isfinite(lufs):
            return lufs
        return lufs + self.track_db.get(track_id, 0.0) + self.role_db.get(t.role.role, 0.0)

    def track_gains(self) -> list[tuple[str, str, float]]:
        """(file name, role, track + role gain in dB) of every loaded track."""
        if not self.tracks:
            return []
        return [(t.name, t.role.role, self.track_db.get(t.id, 0.0) + self.role_db.get(t.role.role, 0.0))
                for t in self.tracks.tracks]

    def lu_vs_anchor(self, role: str) -> float | None:
        """The role's loudness minus the anchor's: the anchor role, or the anchor track at its gains.

        Once measured: over the windows of the judged span where both play, as the critique judges it (a role
        that rests part of the song reads differently over the whole song); where the two never play together,
        over the whole span. Until then, an estimate from the tracks' whole-file loudness.
        """
        if self.anchor is None:
            return None
        judged = self.pair_lu(role)
        return judged if judged is not None else self.span_lu_vs_anchor(role)

    def span_lu_vs_anchor(self, role: str) -> float | None:
        """The role's loudness minus the anchor's over the whole judged span (what is said of a role the critique
        cannot judge); None without an anchor or a finite reading."""
        if self.anchor is None:
            return None
        a = self.track_loudness(self.anchor_track) if self.anchor_track else self.role_loudness(self.anchor)
        r = self.role_loudness(role)
        if not (math.isfinite(a) and math.isfinite(r)):
            return None
        return r - a

    def pair_lu(self, role: str, gains: Gains | None = None) -> float | None:
        """The role minus the anchor (role, or lone track) over the windows where both play, at these gains; None
        when the two never play together or it is not measured yet."""
        gains = gains or self.gains()
        _known, offset, _indirect = self._pair_entry(role, gains)
        if offset is None:
            return None
        return offset + gains.role_db.get(role, 0.0) - gains.role_db.get(self.anchor, 0.0)

    def plays_apart_from_anchor(self, role: str) -> bool:
        """Measured: the role never plays together with the anchor, so the critique cannot judge it."""
        known, offset, _indirect = self._pair_entry(role, self.gains())
        return known and offset is None

    def reads_through_another_role(self, role: str) -> bool:
        """Measured: the role never plays with the anchor and is read through a role that plays with both."""
        _known, offset, indirect = self._pair_entry(role, self.gains())
        return indirect and offset is not None

    def _pair_entry(self, role: str, gains: Gains) -> tuple[bool, float | None, bool]:
        """(measured?, the pair offset with role gains out (None where the two never play together), whether it is
        read through a third role)."""
        if self.anchor is None or role == self.anchor:
            return False, None, False
        anchor = self._track_key(self.anchor_track, gains) if self.anchor_track else self.role_key(self.anchor, gains)
        anchor_role = None if self.anchor_track else self.anchor
        for indirect in (False, True):
            key = self._pair_key(role, anchor, anchor_role, indirect, gains)
            if key in self._pair_lu:
                return True, self._pair_lu[key], indirect
        return False, None, False

    # --- session files (the format lives in session_file.py) ------------------
    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        write_session(self, path)
        self.session_path = path
        self.dirty = False
        return path

    def apply_session(self, pending: PendingSession, tracks: TrackSet, lufs: Mapping[str, float],
                      findings: Iterable[Finding] = (), notes: Iterable[str] = (),
                      failed: Iterable[tuple[str, str]] = ()) -> None:
        """Install a loaded session: tracks from disk, everything else from the JSON."""
        # everything is parsed before anything changes (read_session validated the types)
        state = session_state(pending, tracks)
        track_db, role_db = state.track_db, state.role_db
        ab_reference = (GainState(tuple(sorted(state.ab_reference[0].items())),
                                  tuple(sorted(state.ab_reference[1].items()))) if state.ab_reference else None)

        self.track_db = {}
        self.muted, self.soloed = set(), set()
        self.anchor = None
        self.set_tracks(tracks, lufs, findings, notes, failed)
        self.track_db.update({k: v for k, v in track_db.items() if k in self.track_db})
        self.muted, self.soloed = state.muted, state.soloed
        self.role_db = role_db
        if state.anchor in self.anchor_choices():
            self.anchor = state.anchor
            self.anchor_chosen = state.anchor_chosen
        self.anchor_track = state.anchor_track
        self._keep_anchor_valid()
        self.region = None
        if state.region:
            self.set_region(state.region)
        self.missing = state.missing
        self._forget_history(ab_reference)
        self.revision += 1
        self.advice = state.advice
        if state.advice is not None:
            # the stored advice describes the stored mix unless it was saved after an Apply or another change:
            # then it is shown as the critique of an earlier mix (saved right after Apply: the rest still applies)
            self.advice_revision = self.revision if state.advice_current else self.revision - 1
            self._advice_key = self._mix_key() if state.advice_current else None
            done = tuple(ApplyResult(**{f.name: a[f.name] for f in fields(ApplyResult)}) for a in state.applied
                         if any(s.role == a["role"] for s in state.advice.suggestions))
            if done and not state.advice_current:   # saved after Apply: Re-check judges it; saved right after
                self._set_applied(state.advice, done, reached=state.applied_current)   # it, the rest applies
        self.session_path = pending.path
        self.dirty = False
