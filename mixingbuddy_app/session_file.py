"""The session file (schema ``mixingbuddy.session/1``): a MixProject's state as JSON and back.

Writing: paths relative to the session folder when the file lies inside it, atomic writes (never a
half-written file). Reading: the whole file is parsed and validated before anything is loaded, relative
paths never leave the session folder, and missing files are located or skipped (kept in the session).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from model.advice.report import advice_from_dict, advice_to_dict
from model.advice.types import Advice
from model.audio.roles import ROLES
from model.audio.tracks import TrackSet, clamp_gain
from model.errors import InputError
from model.files import atomic_write_text

if TYPE_CHECKING:
    from model.advice.profiles import SongSource

    from mixingbuddy_app.project import MixProject

SESSION_SCHEMA = "mixingbuddy.session/1"
#: What a saved session's file name ends with (Save also takes .json): such a path is opened as a session, never
#: as audio, wherever a path may be either.
SESSION_SUFFIXES = (".mbsession", ".json")
#: The file dialogs' filter for sessions.
SESSION_FILTER = f"MixingBuddy session ({' '.join('*' + x for x in SESSION_SUFFIXES)})"


def is_session_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in SESSION_SUFFIXES


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


# --- writing ------------------------------------------------------------------

def session_dict(project: "MixProject", session_path: Path) -> dict:
    """The session JSON of ``project`` as it would be saved at ``session_path``."""
    base = Path(session_path).resolve().parent
    entries = []
    if project.tracks:
        for t in project.tracks.tracks:
            entries.append({
                "id": t.id,
                "path": relative_path(t.path, base),
                "role": t.role.role,
                "role_source": t.role.source,
                "gain_db": round(project.track_db.get(t.id, 0.0), 3),
                "muted": t.id in project.muted,
                "soloed": t.id in project.soloed,
                "anchor": t.id == project.anchor_track,
            })
    for m in project.missing:
        e = dict(m.entry)
        e["path"] = relative_path(m.path, base)
        e["missing"] = True
        entries.append(e)
    ab = project.ab_reference
    return {
        "schema": SESSION_SCHEMA,
        "tracks": entries,
        "role_gains": {r: round(v, 3) for r, v in project.role_db.items()},
        "anchor": project.anchor,
        "anchor_chosen": project.anchor_chosen,
        "region": list(project.region) if project.region else None,
        "advice": advice_to_dict(project.advice) if project.advice else None,
        # whether that critique judged the mix as saved (not before an Apply or any change since)
        "advice_current": project.advice is not None and project.advice_revision == project.revision,
        # what Apply did with that critique (Re-check judges it), and whether the mix as saved is what it made
        # (saved right after Apply: the rest of the suggestions can still be applied)
        "applied": [asdict(r) for r in project.shown_applied()] or None,
        "applied_current": bool(project.applied_roles()),
        "ab_reference": {"track_db": dict(ab.track_db), "role_db": dict(ab.role_db)} if ab else None,
    }


def write_session(project: "MixProject", path: Path) -> None:
    """Save ``project`` to ``path`` atomically."""
    atomic_write_text(path, json.dumps(session_dict(project, path), indent=2, sort_keys=False) + "\n")


# --- reading ------------------------------------------------------------------

@dataclass
class SessionState:
    """What a session restores besides the audio, matched to the loaded tracks (gains clamped to the faders')."""

    track_db: dict[str, float]                  # by track id
    muted: set[str]
    soloed: set[str]
    role_db: dict[str, float]                   # every role
    anchor: str | None
    region: tuple[float, float] | None
    ab_reference: tuple[dict, dict] | None      # (track_db, role_db) before the last Apply
    advice: Advice | None
    missing: list[MissingTrack]
    anchor_chosen: bool = True                  # sessions saved before the default rule: the anchor was picked
    anchor_track: str | None = None             # the track anchored on alone (the lead vocal), by track id
    advice_current: bool = True                 # the advice judged the mix as saved (older sessions: assumed)
    applied: tuple = ()                         # ApplyResult fields of each Apply of the advice
    applied_current: bool = True                # the mix as saved is what they made (older sessions: assumed)


def session_state(pending: PendingSession, tracks: TrackSet) -> SessionState:
    """Read everything but the audio from a validated session, for the tracks that were loaded."""
    data = pending.data
    by_path: dict[str, dict] = {}
    for e in pending.entries:
        p = pending.relocated.get(e["abs_path"], e["abs_path"])
        by_path[_norm(p)] = e
    track_db: dict[str, float] = {}
    muted, soloed = set(), set()
    anchor_track = None
    for t in tracks.tracks:
        e = by_path.get(_norm(t.path))
        if e is None:
            continue
        if e.get("anchor"):
            anchor_track = t.id
        track_db[t.id] = clamp_gain(e.get("gain_db") or 0.0)
        if e.get("muted"):
            muted.add(t.id)
        if e.get("soloed"):
            soloed.add(t.id)
    # the user's roles arrived with the tracks (LoadTracksJob applies the session's role overrides)
    role_db = role_gains(data)
    region = data.get("region")
    ab = data.get("ab_reference")
    advice = None
    if data.get("advice"):
        try:
            advice = advice_from_dict(data["advice"])
        except Exception:  # an old or hand-edited critique is dropped, the session still opens
            advice = None
    missing = [MissingTrack(p, {k: v for k, v in e.items() if k not in ("abs_path", "missing")})
               for e in pending.entries for p in [e["abs_path"]] if p in pending.skipped]
    return SessionState(
        track_db, muted, soloed, role_db, data.get("anchor"),
        (float(region[0]), float(region[1])) if region and len(region) == 2 else None,
        (ab.get("track_db") or {}, ab.get("role_db") or {}) if ab else None,
        advice, missing, data.get("anchor_chosen") is not False, anchor_track, data.get("advice_current") is not False,
        tuple(dict(a) for a in data.get("applied") or ()), data.get("applied_current") is not False)


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
    fmt = data.get("format") if isinstance(data, dict) else None   # a balance profile names its "format"
    if isinstance(fmt, str) and fmt.startswith("mixingbuddy.balance_profile/"):
        raise InputError(f"{path.name} is a balance profile, not a session: judge with it through --profile FILE, "
                         f"with the stems or a session as the paths.")
    if not isinstance(data, dict) or schema != SESSION_SCHEMA:
        raise InputError(f"{path.name}: not a MixingBuddy session "
                         f"({'no schema' if schema is None else f'schema {schema!r}'}).")
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


def role_gains(data: Mapping) -> dict[str, float]:
    """A validated session's role gains (Apply moves these faders), every role, in the faders' range."""
    rg = data.get("role_gains") or {}
    return {r: clamp_gain(rg.get(r) or 0.0) for r in ROLES}


def user_roles(pending: PendingSession) -> dict[str, str]:
    """The roles the user set in the session, by audio path (a located file's new path)."""
    return {pending.relocated.get(e["abs_path"], e["abs_path"]): e["role"] for e in pending.entries
            if e.get("role_source") == "user" and e.get("role") in ROLES}


def user_track_roles(pending: PendingSession, tracks: TrackSet) -> dict[str, str]:
    """The roles the user set in the session, by the id of the loaded track of each file."""
    roles = {_norm(p): r for p, r in user_roles(pending).items()}
    return {t.id: roles[_norm(t.path)] for t in tracks.tracks if _norm(t.path) in roles}


def last_critique_profile(advice: Advice | None) -> tuple[str | None, bool]:
    """The balance profile a session's last critique used (None: none), and whether it is installed here."""
    from model.advice.profiles import resolve_profile

    name = advice.profile if advice is not None else None
    if not name:
        return None, False
    try:
        resolve_profile(name)
    except InputError:
        return name, False
    return name, True


def require_all_files(pending: PendingSession) -> PendingSession:
    """The session, when every audio file it lists is where it says; InputError otherwise (a command line
    cannot ask where a file went, as the app does)."""
    if pending.missing:
        raise InputError(f"{pending.path.name}: {len(pending.missing)} audio file(s) are missing, "
                         f"e.g. {pending.missing[0]}")
    return pending


def session_song(path: str | os.PathLike, overrides: Mapping[str, str] | None = None) -> "SongSource":
    """A saved session as one finished song to learn a profile from: its files, the roles set (then
    ``overrides``, file name -> role), its track and role gains, mutes and anchor track (the lead vocal)."""
    from model.advice.profiles import SongSource

    pending = require_all_files(read_session(path))
    names = {e["abs_path"]: Path(e["abs_path"]).name for e in pending.entries}
    roles = {names[p]: role for p, role in user_roles(pending).items()}
    track_db = {names[e["abs_path"]]: clamp_gain(e.get("gain_db") or 0.0) for e in pending.entries}
    muted = frozenset(names[e["abs_path"]] for e in pending.entries if e.get("muted"))
    lead = next((names[e["abs_path"]] for e in pending.entries if e.get("anchor")), None)
    return SongSource(pending.path.stem, tuple(pending.resolved_paths()), roles | dict(overrides or {}), track_db,
                      muted, lead, role_gains(pending.data))


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
                              ("anchor", lambda v: isinstance(v, bool), "true or false"),
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
    if data.get("anchor_chosen") is not None and not isinstance(data["anchor_chosen"], bool):
        raise bad("'anchor_chosen'", "true or false", data["anchor_chosen"])
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
    for key in ("advice_current", "applied_current"):
        if data.get(key) is not None and not isinstance(data[key], bool):
            raise bad(f"'{key}'", "true or false", data[key])
    applied = data.get("applied")
    if applied is not None:
        if not isinstance(applied, list):
            raise bad("'applied'", "a list", applied)
        for i, a in enumerate(applied):
            if not (isinstance(a, dict) and a.get("role") in ROLES
                    and all(_is_num(a.get(k)) for k in ("requested_db", "applied_db", "before_db", "after_db"))):
                raise bad(f"applied[{i}]", "a role and its requested_db, applied_db, before_db and after_db", a)


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


