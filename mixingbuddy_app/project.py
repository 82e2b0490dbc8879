"""MixProject: the pure-Python state of one mixing session (no Qt).

Holds the tracks, roles, anchor, gains (per track and per role), mutes and solos, the
region, the last advice and its findings, a ``revision`` that changes whenever anything
the critique depends on changes, undo/redo of gain changes, and session save/load
(JSON, paths relative to the session file, atomic writes).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from model.advice.types import Advice, RoleGain, WindowVerdict
from model.audio.findings import Finding
from model.audio.segments import Window
from model.advice.advisor import AdviceRequest
from model.errors import InputError
from model.files import atomic_write_text
from model.audio.roles import ANCHOR_PREFERENCE, ROLES, TARGET_ROLES
from model.audio.tracks import Gains, TrackSet

SESSION_SCHEMA = "mixingbuddy.session/1"
GAIN_MIN_DB = -24.0
GAIN_MAX_DB = 12.0


def clamp_gain(db: float) -> float:
    return max(GAIN_MIN_DB, min(GAIN_MAX_DB, float(db)))


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
    """Everything undo/redo restores."""

    track_db: tuple[tuple[str, float], ...]
    role_db: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ExactLoudness:
    """Whole-song BS.1770 loudness of each audible role and of the mix (model.audio.measure.measure_session)."""

    roles: Mapping[str, float]
    mix: float


@dataclass
class MissingTrack:
    """A session entry whose audio file is not where the session says (kept so nothing is lost)."""

    path: str
    entry: dict


@dataclass
class PendingSession:
    """A parsed session waiting for missing files to be located."""

    path: Path
    data: dict
    entries: list[dict]
    missing: list[str]          # absolute paths that do not exist
    relocated: dict[str, str] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)

    def unresolved(self) -> list[str]:
        return [p for p in self.missing if p not in self.relocated and p not in self.skipped]

    def resolved_paths(self) -> list[str]:
        out = []
        for e in self.entries:
            p = e["abs_path"]
            if p in self.relocated:
                out.append(self.relocated[p])
            elif p in self.skipped:
                continue
            else:
                out.append(p)
        return out


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
        self._undo: list[tuple[str, GainState]] = []
        self._redo: list[tuple[str, GainState]] = []
        self._coalesce_key: str | None = None
        self._load_gen = 0                          # bumps whenever the audio itself changes
        self._exact: dict[tuple, ExactLoudness] = {}  # measured loudness by loudness_key (a few entries)

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

    def _bump(self) -> None:
        self.revision += 1
        self.dirty = True

    # --- tracks ------------------------------------------------------------
    def set_tracks(self, tracks: TrackSet, lufs: Mapping[str, float] | None = None,
                   findings: Iterable[Finding] = (), notes: Iterable[str] = (),
                   failed: Iterable[tuple[str, str]] = ()) -> None:
        """Replace the tracks, keeping gains, mutes and solos of tracks that stay (matched by id)."""
        ids = {t.id for t in tracks.tracks}
        self.tracks = tracks
        self._load_gen += 1
        self._exact.clear()
        self.lufs = dict(lufs or {})
        self.track_db = {i: self.track_db.get(i, 0.0) for i in ids}
        self.muted &= ids
        self.soloed &= ids
        self.load_findings = tuple(findings)
        self.load_notes = tuple(notes)
        self.failed = tuple(failed)
        if self.anchor not in self.anchor_choices():
            self.anchor = self.default_anchor()
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
        if self.anchor not in self.anchor_choices():
            self.anchor = self.default_anchor()
        if self.region and self.region[0] >= tracks.duration_s:
            self.region = None
        self._bump()
        return gone

    def clear_tracks(self) -> None:
        """No tracks: the state of an empty window (role gains are kept; the gain history goes with the tracks)."""
        self.tracks = None
        self._load_gen += 1
        self._exact.clear()
        self.lufs = {}
        self.track_db = {}
        self.muted, self.soloed = set(), set()
        self.anchor = None
        self.region = None
        self.advice = None
        self.load_findings, self.load_notes, self.failed = (), (), ()
        self.ab_reference = None
        self.applied_advice = None
        self._undo.clear()
        self._redo.clear()
        self._coalesce_key = None
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
        if self.anchor not in self.anchor_choices():
            self.anchor = self.default_anchor()
        self._bump()

    def set_anchor(self, role: str) -> None:
        if role not in TARGET_ROLES:
            raise InputError(f"The anchor must be vocals, drums or bass, not '{role}'.")
        if role == self.anchor:
            return
        if role not in self.anchor_choices():
            raise InputError(f"The anchor role '{role}' has no tracks: set a track's role to {role} first.")
        self.anchor = role
        self._bump()

    def set_region(self, region: tuple[float, float] | None) -> None:
        if region is not None:
            a, b = sorted((float(region[0]), float(region[1])))
            dur = self.tracks.duration_s if self.tracks else b
            a, b = max(0.0, a), min(dur, b)
            region = None if b - a < 0.5 or (a <= 0.0 and b >= dur - 1e-3) else (a, b)
        if region == self.region:
            return
        self.region = region
        self._bump()

    # --- gains, mutes, solos (undoable) ------------------------------------
    def _push_undo(self, label: str, key: str | None) -> None:
        if key is not None and key == self._coalesce_key and self._undo:
            return  # one continuous fader move is one undo step
        self._undo.append((label, self.gain_state()))
        del self._undo[:-200]
        self._redo.clear()
        self._coalesce_key = key

    def end_gain_edit(self) -> None:
        """Close the current coalesced edit (fader released)."""
        self._coalesce_key = None

    def set_track_gain(self, track_id: str, db: float, coalesce: bool = True) -> float:
        return self._set_gain(self.track_db, track_id, db, f"gain of {track_id}", f"track:{track_id}", coalesce)

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

    def set_muted(self, track_id: str, on: bool) -> None:
        if on == (track_id in self.muted):
            return
        (self.muted.add if on else self.muted.discard)(track_id)
        self._bump()

    def set_soloed(self, track_id: str, on: bool) -> None:
        if on == (track_id in self.soloed):
            return
        (self.soloed.add if on else self.soloed.discard)(track_id)
        self._bump()

    def _restore(self, state: GainState) -> None:
        self.track_db = dict(state.track_db)
        self.role_db = {r: 0.0 for r in ROLES} | dict(state.role_db)
        if self.tracks is not None:
            self.track_db = {i: self.track_db.get(i, 0.0) for i in self.track_ids}  # only tracks still loaded
        self._bump()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> str | None:
        return self._step(self._undo, self._redo)

    def redo(self) -> str | None:
        return self._step(self._redo, self._undo)

    def _step(self, source: list, target: list) -> str | None:
        """Restore the newest state of ``source``, keeping the current one on ``target``; returns its label."""
        if not source:
            return None
        label, state = source.pop()
        target.append((label, self.gain_state()))
        self._coalesce_key = None
        self._restore(state)
        return label

    # --- advice -------------------------------------------------------------
    def snapshot(self) -> AdviceRequest:
        """The immutable request the worker judges."""
        if self.tracks is None or not self.tracks.tracks:
            raise InputError("Load some stems first.")
        if self.anchor is None:
            raise InputError("No vocals, drums or bass track to use as the anchor: set the roles first.")
        return AdviceRequest(tracks=self.tracks, anchor=self.anchor, gains=self.gains(), span=self.region)

    def set_advice(self, advice: Advice | None) -> None:
        self.advice = advice
        self.advice_revision = self.revision
        self.dirty = True

    def apply_advice(self) -> ApplyResult:
        """Move the suggested role's gain by primary.delta_db (clamped to the fader range)."""
        adv = self.advice
        if adv is None or adv.primary is None or adv.abstained:
            raise InputError("There is no suggestion to apply.")
        role = adv.primary.role
        before = self.role_db.get(role, 0.0)
        before_state = self.gain_state()
        after = clamp_gain(before + adv.primary.delta_db)
        self._coalesce_key = None
        self.set_role_gain(role, after, coalesce=False)
        self._coalesce_key = None
        result = ApplyResult(role, float(adv.primary.delta_db), after - before, before, after)
        self.applied_advice = adv
        self.ab_reference = before_state
        return result

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

    def loudness_key(self, gains: Gains | None = None) -> tuple | None:
        """Everything the role and mix loudness depend on: the loaded audio, each track's role and linear gain."""
        if not self.tracks or not self.tracks.tracks:
            return None
        gains = gains or self.gains()
        return (self._load_gen,
                tuple((t.id, t.role.role, round(gains.linear(t), 9)) for t in self.tracks.tracks))

    def measure_request(self, gains: Gains | None = None) -> AdviceRequest | None:
        """The whole-song request that model.audio.measure.measure_session measures for the meters."""
        if not self.tracks or not self.tracks.tracks:
            return None
        return AdviceRequest(tracks=self.tracks, anchor=self.anchor or TARGET_ROLES[0], gains=gains or self.gains())

    def set_exact_loudness(self, key: tuple, value: ExactLoudness) -> None:
        if key is None or key[0] != self._load_gen:
            return  # measured on audio that is no longer loaded
        self._exact[key] = value
        while len(self._exact) > 8:
            self._exact.pop(next(iter(self._exact)))

    def exact_loudness(self, gains: Gains | None = None) -> ExactLoudness | None:
        key = self.loudness_key(gains)
        return None if key is None else self._exact.get(key)

    def loudness_is_exact(self, gains: Gains | None = None) -> bool:
        return self.exact_loudness(gains) is not None

    def role_loudness(self, role: str, gains: Gains | None = None) -> float:
        """A role's loudness (LUFS; -inf when absent or silent): measured when available, else the estimate."""
        exact = self.exact_loudness(gains)
        if exact is not None:
            return exact.roles.get(role, float("-inf"))
        return self._power_sum(role, gains)

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

    def lu_vs_anchor(self, role: str) -> float | None:
        if self.anchor is None:
            return None
        a = self.role_loudness(self.anchor)
        r = self.role_loudness(role)
        if not (math.isfinite(a) and math.isfinite(r)):
            return None
        return r - a

    # --- session files -----------------------------------------------------
    def to_session(self, session_path: Path) -> dict:
        base = Path(session_path).resolve().parent
        entries = []
        if self.tracks:
            for t in self.tracks.tracks:
                entries.append({
                    "id": t.id,
                    "path": relative_path(t.path, base),
                    "role": t.role.role,
                    "role_source": t.role.source,
                    "gain_db": round(self.track_db.get(t.id, 0.0), 3),
                    "muted": t.id in self.muted,
                    "soloed": t.id in self.soloed,
                })
        for m in self.missing:
            e = dict(m.entry)
            e["path"] = relative_path(m.path, base)
            e["missing"] = True
            entries.append(e)
        return {
            "schema": SESSION_SCHEMA,
            "tracks": entries,
            "role_gains": {r: round(v, 3) for r, v in self.role_db.items()},
            "anchor": self.anchor,
            "region": list(self.region) if self.region else None,
            "advice": advice_to_dict(self.advice) if self.advice else None,
            "ab_reference": ({"track_db": dict(self.ab_reference.track_db), "role_db": dict(self.ab_reference.role_db)}
                             if self.ab_reference else None),
        }

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_session(path), indent=2, sort_keys=False) + "\n")
        self.session_path = path
        self.dirty = False
        return path

    def apply_session(self, pending: PendingSession, tracks: TrackSet, lufs: Mapping[str, float],
                      findings: Iterable[Finding] = (), notes: Iterable[str] = (),
                      failed: Iterable[tuple[str, str]] = ()) -> None:
        """Install a loaded session: tracks from disk, everything else from the JSON."""
        data = pending.data
        by_path: dict[str, dict] = {}
        for e in pending.entries:
            p = pending.relocated.get(e["abs_path"], e["abs_path"])
            by_path[_norm(p)] = e
        track_db: dict[str, float] = {}
        muted, soloed = set(), set()
        for t in tracks.tracks:
            e = by_path.get(_norm(t.path))
            if e is None:
                continue
            track_db[t.id] = clamp_gain(float(e.get("gain_db") or 0.0))
            if e.get("muted"):
                muted.add(t.id)
            if e.get("soloed"):
                soloed.add(t.id)
        # the user's roles arrived with the tracks (LoadTracksJob applies the session's role overrides)
        # everything is parsed before anything changes (read_session validated the types)
        rg = data.get("role_gains") or {}
        role_db = {r: clamp_gain(float(rg.get(r) or 0.0)) for r in ROLES}
        region = data.get("region")
        ab = data.get("ab_reference")
        ab_reference = (GainState(tuple(sorted((ab.get("track_db") or {}).items())),
                                  tuple(sorted((ab.get("role_db") or {}).items()))) if ab else None)
        advice = None
        if data.get("advice"):
            try:
                advice = advice_from_dict(data["advice"])
            except Exception:  # an old or hand-edited critique is dropped, the session still opens
                advice = None
        missing = [MissingTrack(p, {k: v for k, v in e.items() if k not in ("abs_path", "missing")})
                   for e in pending.entries for p in [e["abs_path"]] if p in pending.skipped]

        self.track_db = {}
        self.muted, self.soloed = set(), set()
        self.anchor = None
        self.set_tracks(tracks, lufs, findings, notes, failed)
        self.track_db.update({k: v for k, v in track_db.items() if k in self.track_db})
        self.muted, self.soloed = muted, soloed
        self.role_db = role_db
        anchor = data.get("anchor")
        if anchor in self.anchor_choices():
            self.anchor = anchor
        self.region = None
        if region and len(region) == 2:
            self.set_region((float(region[0]), float(region[1])))
        self.missing = missing
        self.ab_reference = ab_reference
        self.applied_advice = None
        self._undo.clear()
        self._redo.clear()
        self._coalesce_key = None
        self.revision += 1
        self.advice = advice
        if advice is not None:
            self.advice_revision = self.revision  # the stored advice describes the stored mix
        self.session_path = pending.path
        self.dirty = False


# --- session parsing (no audio) ---------------------------------------------

def read_session(path: str | os.PathLike) -> PendingSession:
    """Parse and validate a session file and resolve its paths; raises InputError with one line on bad files.

    Everything is checked here, before anything is loaded, so a bad file never changes the open session.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path.name}: cannot be read ({exc.strerror or exc}).") from None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputError(f"{path.name}: not a MixingBuddy session (invalid JSON: {exc}).") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if isinstance(schema, str) and schema.startswith("mixingbuddy.session/") and schema != SESSION_SCHEMA:
        raise InputError(f"{path.name}: saved by another MixingBuddy version (schema {schema!r}); "
                         f"this version reads {SESSION_SCHEMA!r}.")
    if not isinstance(data, dict) or schema != SESSION_SCHEMA:
        raise InputError(f"{path.name}: not a MixingBuddy session (schema {schema!r}).")
    validate_session(data, path.name)
    base = path.resolve().parent
    entries = []
    missing = []
    for e in data["tracks"]:
        abs_path = resolve_session_path(e["path"], base)
        e = dict(e)
        e["abs_path"] = abs_path
        entries.append(e)
        # a relative path that leads outside the session folder (../, or a symlink inside it) is never
        # followed: it counts as missing and the user is asked to locate the file
        if escapes_session_folder(e["path"], base) or not Path(abs_path).is_file():
            if abs_path not in missing:
                missing.append(abs_path)
    return PendingSession(path, data, entries, missing)


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def validate_session(data: Mapping, name: str) -> None:
    """Check the types of every field the app reads; raises InputError naming the first bad one."""
    def bad(where: str, what: str, value: Any) -> InputError:
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return InputError(f"{name}: {where} must be {what}, not {shown}.")

    tracks = data.get("tracks")
    if "tracks" not in data:
        raise InputError(f"{name}: the session lists no tracks (no 'tracks' key).")
    if not isinstance(tracks, list):
        raise bad("'tracks'", "a list", tracks)
    for i, e in enumerate(tracks):
        where = f"tracks[{i}]"
        if not isinstance(e, dict):
            raise bad(where, "an object", e)
        if "path" not in e:
            raise InputError(f"{name}: {where} has no path.")
        if not isinstance(e["path"], str) or not e["path"].strip() or "\x00" in e["path"]:
            raise bad(f"{where}.path", "a file path", e["path"])
        for key, ok, what in (("id", lambda v: isinstance(v, str), "a string"),
                              ("role", lambda v: v in ROLES, "one of " + ", ".join(ROLES)),
                              ("role_source", lambda v: isinstance(v, str), "a string"),
                              ("gain_db", _is_num, "a finite number"),
                              ("muted", lambda v: isinstance(v, bool), "true or false"),
                              ("soloed", lambda v: isinstance(v, bool), "true or false"),
                              ("missing", lambda v: isinstance(v, bool), "true or false")):
            if key in e and e[key] is not None and not ok(e[key]):
                raise bad(f"{where}.{key}", what, e[key])
    rg = data.get("role_gains")
    if rg is not None:
        if not isinstance(rg, dict):
            raise bad("'role_gains'", "an object", rg)
        for r, v in rg.items():
            if r in ROLES and not _is_num(v):
                raise bad(f"role_gains.{r}", "a finite number", v)
    anchor = data.get("anchor")
    if anchor is not None and not isinstance(anchor, str):
        raise bad("'anchor'", "a role name", anchor)
    region = data.get("region")
    if region is not None and not (isinstance(region, list) and len(region) == 2 and all(_is_num(x) for x in region)):
        raise bad("'region'", "[start_s, end_s]", region)
    ab = data.get("ab_reference")
    if ab is not None:
        if not isinstance(ab, dict):
            raise bad("'ab_reference'", "an object", ab)
        for key in ("track_db", "role_db"):
            d = ab.get(key, {})
            if not isinstance(d, dict) or not all(isinstance(k, str) and _is_num(v) for k, v in d.items()):
                raise bad(f"ab_reference.{key}", "an object of numbers", d)
    adv = data.get("advice")
    if adv is not None and not isinstance(adv, dict):
        raise bad("'advice'", "an object", adv)


def relative_path(p: str | os.PathLike, base: Path) -> str:
    """A path relative to the session folder when the file lies inside it, else absolute (POSIX separators)."""
    p = Path(p).resolve()
    try:
        return p.relative_to(base).as_posix()
    except ValueError:
        return p.as_posix()


def resolve_session_path(stored: str, base: Path) -> str:
    """Resolve a stored path. Relative paths are confined to the session folder: one that escapes
    it (``../``) is not followed and is reported as missing under the session folder instead."""
    p = Path(stored)
    if p.is_absolute():
        return str(p)
    candidate = (base / p).resolve()
    try:
        candidate.relative_to(base)
    except ValueError:
        return str(base / p.name)  # confined: never leave the session folder through a relative path
    return str(candidate)


def escapes_session_folder(stored: str, base: Path) -> bool:
    """True when a stored relative path resolves (following ``..`` and symlinks) outside ``base``."""
    p = Path(stored)
    if p.is_absolute():
        return False
    try:
        (base / p).resolve().relative_to(base)
    except ValueError:
        return True
    return False


def _norm(p: str) -> str:
    return os.path.normcase(os.path.abspath(p))


# --- advice (de)serialisation for sessions ----------------------------------

def finite_json(x: Any) -> Any:
    """JSON-ready copy: NaN/inf -> None, tuples -> lists, mappings -> dicts (strings are never touched)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {k: finite_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite_json(v) for v in x]
    return x


def advice_to_dict(a: Advice) -> dict:
    def wv(v: WindowVerdict) -> dict:
        return {"start_s": v.window.start_s, "end_s": v.window.end_s, "gated": v.window.gated, "target": v.target,
                "direction": v.direction, "category": v.category, "low_db": v.low_db, "high_db": v.high_db,
                "text": v.text, "exact": v.exact, "delta_db": v.delta_db,
                "measured_lu": {k: float(x) for k, x in v.measured_lu.items()} if v.measured_lu else None}

    return finite_json({
        "anchor": a.anchor, "primary": asdict(a.primary) if a.primary else None,
        "suggestions": [asdict(s) for s in a.suggestions], "windows": [wv(v) for v in a.windows],
        "confidence": a.confidence, "abstained": a.abstained, "text": a.text, "advisor_id": a.advisor_id,
        "findings": [asdict(f) for f in a.findings], "measurements": a.measurements, "status": a.status,
    })


def advice_from_dict(d: Mapping) -> Advice:
    def rg(g: Mapping) -> RoleGain:
        return RoleGain(g["role"], g["direction"], g["category"], float(g["min_db"]), float(g["max_db"]),
                        float(g["delta_db"]), float(g["confidence"]))

    def wv(v: Mapping) -> WindowVerdict:
        lu = v.get("measured_lu")
        return WindowVerdict(Window(float(v["start_s"]), float(v["end_s"]), bool(v.get("gated", True))),
                             v.get("target"), v["direction"], v["category"], v.get("low_db"), v.get("high_db"),
                             v.get("text", ""),
                             {k: (float("nan") if x is None else float(x)) for k, x in lu.items()} if lu else None,
                             bool(v.get("exact", True)), v.get("delta_db"))

    return Advice(
        anchor=d["anchor"], primary=rg(d["primary"]) if d.get("primary") else None,
        suggestions=tuple(rg(s) for s in d.get("suggestions", ())), windows=tuple(wv(v) for v in d.get("windows", ())),
        confidence=float(d.get("confidence", 0.0)), abstained=bool(d.get("abstained", False)), text=d.get("text", ""),
        advisor_id=d.get("advisor_id", ""),
        findings=tuple(Finding(f["code"], f["severity"], f["message"], tuple(f.get("track_ids", ())))
                       for f in d.get("findings", ())),
        measurements=d.get("measurements") or {}, status=d.get("status", ""),
    )


# --- re-check ---------------------------------------------------------------

def recheck_verdict(applied: Advice, new: Advice) -> tuple[str, str]:
    """Compare the advice that was applied with the advice on the corrected mix.

    Returns (label, sentence) with label "resolved" | "over-corrected" | "still there" | "unclear".
    """
    p = applied.primary
    if p is None:
        return "unclear", "Nothing was applied to check."
    q = new.primary
    if new.abstained:
        return "unclear", f"Re-check: no confident verdict on the {p.role} now ({new.status or 'windows disagree'})."
    if q is None or q.role != p.role:
        extra = f" The critique now points at the {q.role}." if q is not None else ""
        return "resolved", f"Re-check: resolved. The {p.role} now sit within the typical balance.{extra}"
    if q.direction == p.direction:
        return "still there", (f"Re-check: still there. The {p.role} still need to go "
                               f"{'up' if q.direction == 'increase' else 'down'} ({q.delta_db:+.1f} dB suggested).")
    return "over-corrected", (f"Re-check: over-corrected. The {p.role} now need to go "
                              f"{'up' if q.direction == 'increase' else 'down'} by about {abs(q.delta_db):.1f} dB.")
