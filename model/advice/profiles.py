"""Balance profiles: the typical loudness of each role against each anchor, how far songs disagree, and
how a profile is fitted (one function for every way of fitting), stored and found.

A pair's offset for one song is (role loudness - anchor loudness) in LU, BS.1770 loudness combined over
every window of the song where both roles are active (``pair_windows``). A profile keeps, per pair, the
median over songs, the quartiles over all those windows, the between-song spread and the decision spread
(``PairStats.spread``): how far a finished song of this kind may sit from the median.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, NamedTuple, Sequence

import numpy as np

from model.audio.roles import ROLES, TARGET_ROLES, TRACK_ANCHOR, lead_vocal_of
from model.errors import AdvisorUnavailable, InputError

if TYPE_CHECKING:
    from model.advice.advisor import CancelToken, Progress
    from model.audio.measure import Measurements, WindowLevels

PROFILE_FORMAT = "mixingbuddy.balance_profile/2"
PROFILE_FORMAT_V1 = "mixingbuddy.balance_profile/1"
DEFAULT_PROFILE = "pop-rock"
STATISTIC = ("role loudness minus anchor loudness in LU: BS.1770 integrated loudness (libebur128) of the stereo "
             "role mixes, combined over the 10 s windows where both roles are active (each role's own gate)")
#: A pair fitted on fewer songs has no measured between-song spread: it is kept but not judged.
MIN_SONGS = 2
#: How far finished mixes disagree on a pair's balance (LU, one standard deviation) before any song of a kind
#: is measured: the spread of the cited pop/rock prior (quartiles 3 LU either side of the median). Four released
#: songs of one electronic album measure 4.2 LU pooled over their pairs.
PRIOR_SPREAD_LU = 4.5
#: Weight, in songs, of PRIOR_SPREAD_LU against a pair's own between-song spread: three songs that happen to
#: agree cannot make a profile sure that every song of the kind will.
PRIOR_SONGS = 2
#: Interquartile range of a normal distribution in standard deviations.
IQR_PER_SD = 1.349
USER_DIR_ENV = "MIXINGBUDDY_PROFILE_DIR"
#: Everything a profile's pairs may be measured against: the target roles, then the lead vocal track.
ANCHORS = TARGET_ROLES + (TRACK_ANCHOR,)


@dataclass(frozen=True)
class PairStats:
    """One (role, anchor) pair: median offset, window quartiles, decision spread (LU) and how it was fitted.

    ``songs`` is None for a cited prior (no songs measured); such a pair is judged with its quartile band.
    ``song_range`` is the lowest and highest of the fitted songs' own offsets (the median lies between them,
    which the window quartiles, dominated by the songs with the most windows, need not), None when not recorded.
    """

    median: float
    q25: float
    q75: float
    spread: float
    songs: int | None = None
    windows: int | None = None
    song_range: tuple[float, float] | None = None

    @property
    def judged(self) -> bool:
        return self.songs is None or self.songs >= MIN_SONGS

    def band(self, ok_db: float) -> tuple[float, float]:
        """The offsets judged in band: within ``ok_db`` of the median (a role outside it is flagged)."""
        return self.median - ok_db, self.median + ok_db

    def band_text(self, ok_db: float) -> str:
        """The band as every view prints it ("-0.6..+5.3"): to 0.1 LU, like the readings judged against it."""
        low, high = self.band(ok_db)
        return f"{low:+.1f}..{high:+.1f}"

    def reading_texts(self, offset: float, ok_db: float) -> tuple[str, str]:
        """A reading and the band, to 0.1 LU or, near an edge, to as many decimals as it takes (up to 3) for the
        printed reading to sit on the side of the band that it is judged on: +5.017 against a band ending at
        +5.007 is flagged, and reads "+5.02" beside "-0.99..+5.01", not "+5.0" inside "-1.0..+5.0"."""
        low, high = self.band(ok_db)
        inside = abs(offset - self.median) < ok_db
        for digits in (1, 2, 3):
            if (round(low, digits) <= round(offset, digits) <= round(high, digits)) == inside:
                break
        return f"{offset:+.{digits}f}", f"{low:+.{digits}f}..{high:+.{digits}f}"


@dataclass(frozen=True)
class BalanceProfile:
    """Per (role, anchor) typical offsets with their spread, the category thresholds, name and provenance."""

    pairs: Mapping[tuple[str, str], PairStats]
    ok_db: float = 3.0
    very_db: float = 6.0
    provenance: Mapping = field(default_factory=dict)
    name: str = ""
    description: str = ""

    @classmethod
    def load(cls, path: str | Path) -> "BalanceProfile":
        """Read a profile JSON file (format /2, or /1 whose spread comes from its quartiles).

        Raises ProfileError naming the file and what is wrong.
        """
        return read_profile_file(path)[0]

    @classmethod
    def from_json(cls, data: Mapping, default_name: str = "") -> "BalanceProfile":
        """A profile from its JSON, checked: ValueError says in plain words what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError("it is not a JSON object")
        fmt = data.get("format")
        if fmt is None:
            raise ValueError(f"it is not a balance profile (it has no \"format\": {PROFILE_FORMAT!r})")
        if fmt not in (PROFILE_FORMAT, PROFILE_FORMAT_V1):
            raise ValueError(f"format is {fmt!r}, expected {PROFILE_FORMAT!r}")
        raw = data.get("pairs")
        if not isinstance(raw, Mapping) or not raw:
            raise ValueError('"pairs" is not an object of role|anchor pairs' if raw != {} else "it has no pairs")
        pairs = {_pair_key(key): _pair_stats(key, v) for key, v in raw.items()}
        th = data.get("thresholds_db") or {}
        if not isinstance(th, Mapping):
            raise ValueError('"thresholds_db" is not an object')
        ok = checked_number(th, "ok", "thresholds_db") if "ok" in th else 3.0
        very = checked_number(th, "very", "thresholds_db") if "very" in th else 6.0
        if not 0 < ok <= very:
            raise ValueError(f"thresholds_db must have 0 < ok <= very (ok {ok}, very {very})")
        provenance = data.get("provenance") or {}
        if not isinstance(provenance, Mapping):
            raise ValueError('"provenance" is not an object')
        if "tonal" in data:
            from model.advice.tonal import TonalProfile

            TonalProfile.from_dict(data)  # its tonal shapes must read too
        return cls(pairs, ok, very, provenance, str(data.get("name") or default_name),
                   str(data.get("description") or ""))

    def typical(self, role: str, anchor: str) -> PairStats | None:
        return self.pairs.get((role, anchor))

    @property
    def judges_track_anchor(self) -> bool:
        """Whether roles can be judged against one lead vocal track (the profile measured some against it)."""
        return any(a == TRACK_ANCHOR and st.judged for (_r, a), st in self.pairs.items())

    def category(self, deviation: float) -> str:
        """Paper category for a deviation d in LU (d > 0: too loud)."""
        size = abs(deviation)
        if size < self.ok_db:
            return "no_error"
        if deviation > 0:
            return "very_loud" if size >= self.very_db else "loud"
        return "very_quiet" if size >= self.very_db else "quiet"


# --- reading a profile file ----------------------------------------------------------

class ProfileError(InputError, AdvisorUnavailable):
    """A profile file that cannot be read or used (bad input: CLI exit 2; no advisor can be built on it)."""


def read_profile_file(path: str | os.PathLike) -> tuple[BalanceProfile, dict]:
    """A profile file, checked, and its JSON; ProfileError names the file and what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        profile = BalanceProfile.from_json(data, path.stem)
        if path.parent.resolve() in (shipped_profile_dir().resolve(), user_profile_dir().resolve()):
            profile = replace(profile, name=path.stem)  # listed by its file name, so chosen by that name too
        return profile, data
    except OSError as exc:
        raise ProfileError(f"The profile {path} cannot be read: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise ProfileError(f"The profile {path} is not usable: it is not a text file.") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(f"The profile {path} is not usable: it is not valid JSON "
                           f"(line {exc.lineno}, column {exc.colno}).") from None
    except ValueError as exc:
        raise ProfileError(f"The profile {path} is not usable: {exc}.") from None


def checked_number(obj: Mapping, name: str, where: str) -> float:
    """``obj[name]`` as a float; ValueError when it is missing, not a number, NaN or infinite."""
    x = obj.get(name)
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        got = f" (it is {json.dumps(x)[:24]})" if name in obj else ""
        raise ValueError(f"{where} has no numeric {name}{got}")
    return float(x)


def checked_count(x, name: str, where: str) -> int | None:
    """``x`` when it is None or a count (an int, not negative); ValueError otherwise."""
    if x is not None and (isinstance(x, bool) or not isinstance(x, int) or x < 0):
        raise ValueError(f"{where} has no count of {name} (it is {json.dumps(x)[:24]})")
    return x


def _pair_key(key: str) -> tuple[str, str]:
    role, _, anchor = key.partition("|")
    if (role, anchor) not in profile_pairs():
        raise ValueError(f"pair {key!r} is not a role ({', '.join(ROLES)}) against an anchor ({', '.join(ANCHORS)})")
    return role, anchor


def _pair_stats(key: str, v) -> PairStats:
    """One pair's JSON -> PairStats; ValueError in plain words. A song count is read wherever it is given (format
    /1 had none, but a /1 file edited by hand may carry one, and a pair of one song must stay unjudged)."""
    where = f"pair {key}"
    if not isinstance(v, Mapping):
        raise ValueError(f"{where} is not an object")
    median, q25, q75 = (checked_number(v, k, where) for k in ("median", "q25", "q75"))
    if q25 > q75:
        raise ValueError(f"{where} has q25 above q75")
    spread = checked_number(v, "spread_lu", where) if v.get("spread_lu") is not None else (q75 - q25) / IQR_PER_SD
    if spread < 0:
        raise ValueError(f"{where} has a negative spread_lu")
    songs = checked_count(v.get("songs"), "songs", where)
    per_song = v.get("song_offsets")
    if per_song is not None and not isinstance(per_song, Mapping):
        raise ValueError(f"{where} has song_offsets that are not an object")
    offsets = [checked_number(per_song, k, f"{where} song_offsets") for k in per_song or ()]
    return PairStats(median, q25, q75, spread, songs, checked_count(v.get("n") or v.get("windows"), "windows", where),
                     (min(offsets), max(offsets)) if offsets else None)


# --- per-pair gate -------------------------------------------------------------

def pair_windows(windows: Iterable["WindowLevels"], role: str, anchor: str) -> list["WindowLevels"]:
    """The windows where both roles are active (each role's own activity gate)."""
    return [w for w in windows if w.role_active.get(role) and w.role_active.get(anchor)]


def pair_offset(measurements: "Measurements", windows: Sequence["WindowLevels"], role: str,
                anchor: str) -> float | None:
    """Role loudness minus anchor loudness (LU) combined over ``windows``; None when either is silent."""
    if not windows:
        return None
    lufs = measurements.role_loudness([w.window for w in windows])
    d = lufs.get(role, -math.inf) - lufs.get(anchor, -math.inf)
    return d if math.isfinite(d) else None


# --- fitting ---------------------------------------------------------------------

@dataclass(frozen=True)
class SongSource:
    """One finished song to learn from: its audio files, optional role overrides (file name -> role), a label."""

    label: str
    paths: tuple[str, ...]
    roles: Mapping[str, str] = field(default_factory=dict)
    track_db: Mapping[str, float] = field(default_factory=dict)  # file name -> gain the song was mixed with
    muted: frozenset[str] = frozenset()                            # file names left out of the mix
    lead: str | None = None  # file name of the lead vocal (e.g. a session's anchor track); None: found by name
    role_db: Mapping[str, float] = field(default_factory=dict)   # role -> gain (a session's role faders)


@dataclass(frozen=True)
class SongOffsets:
    """One song's measured pair offsets (LU) and the per-window offsets behind each."""

    label: str
    offsets: Mapping[tuple[str, str], float]
    window_offsets: Mapping[tuple[str, str], tuple[float, ...]]
    windows: int


def profile_pairs() -> list[tuple[str, str]]:
    """Every (role, anchor) pair a profile may hold, in a fixed order. Against the lead vocal track the
    vocals role is no pair: it holds the track."""
    return [(r, a) for a in ANCHORS for r in ROLES if r != a and not (a == TRACK_ANCHOR and r == "vocals")]


def bridge_roles(role: str, anchor: str) -> list[str]:
    """The roles a pair that never plays together can be measured through: ``role`` vs each of them plus it vs
    ``anchor`` (offsets add up), each leg a pair a profile holds."""
    pairs = set(profile_pairs())
    return [m for m in ROLES if m not in (role, anchor) and (role, m) in pairs and (m, anchor) in pairs]


def bridge(offsets: Mapping[tuple[str, str], float], role: str, anchor: str) -> tuple[float, tuple[str, ...]] | None:
    """``role`` vs ``anchor`` through every role ``offsets`` holds both legs of (offsets add up: role - middle plus
    middle - anchor; several bridges averaged), and those roles; None when no role bridges them."""
    via = tuple(m for m in bridge_roles(role, anchor) if (role, m) in offsets and (m, anchor) in offsets)
    if not via:
        return None
    return float(np.mean([offsets[(role, m)] + offsets[(m, anchor)] for m in via])), via


def bridge_legs(role: str, anchor: str) -> list[tuple[str, str]]:
    """The pairs whose offsets can bridge ``role`` vs ``anchor``."""
    return [leg for m in bridge_roles(role, anchor) for leg in ((role, m), (m, anchor))]


def song_offsets(label: str, measurements: "Measurements", lead: str | None = None,
                 pairs: Sequence[tuple[str, str]] | None = None) -> SongOffsets:
    """Every (role, anchor) pair's offset (or only ``pairs``') over the song's co-active windows; with ``lead``
    (the id of the lead vocal track, metered on its own) also each role against that track."""
    if lead is not None:
        measurements = measurements.with_track_as_role(lead, TRACK_ANCHOR)
    candidates = measurements.candidates()
    offsets, per_window = {}, {}
    for role, anchor in profile_pairs() if pairs is None else pairs:
        co = pair_windows(candidates, role, anchor)
        d = pair_offset(measurements, co, role, anchor)
        if d is None:
            continue
        offsets[(role, anchor)] = d
        per_window[(role, anchor)] = tuple(
            w.roles[role].lufs - w.roles[anchor].lufs for w in co
            if math.isfinite(w.roles[role].lufs - w.roles[anchor].lufs))
    return SongOffsets(label, offsets, per_window, len(candidates))


def with_bridges(song: SongOffsets) -> dict[tuple[str, str], float]:
    """The song's measured offsets, and for each pair that never plays together in it, the offset bridged through
    a third role that plays with both (``bridge``): a song whose bass rests whenever the vocals sing still says
    where its bass sits against its vocals."""
    out = dict(song.offsets)
    for role, anchor in profile_pairs():
        bridged = None if (role, anchor) in song.offsets else bridge(song.offsets, role, anchor)
        if bridged is not None:
            out[(role, anchor)] = bridged[0]
    return out


def combine(songs: Sequence[SongOffsets], name: str, method: str, description: str = "",
            window_s: float = 10.0, ok_db: float = 3.0, very_db: float = 6.0) -> dict:
    """A profile (format /2) from measured songs: the one place where offsets become a profile.

    Per pair: median over songs (a song where the two roles never play together counts through a role that
    plays with both: ``with_bridges``); quartiles over all co-active windows; the between-song standard
    deviation; and the decision spread, the larger of the windows' spread (IQR / 1.349) and the
    between-song spread expected for a new song (the pair's own, shrunk toward PRIOR_SPREAD_LU with the weight
    of PRIOR_SONGS songs, times sqrt(1 + 1/n) for the median's own uncertainty). The pooled spread, recorded
    in the provenance, comes from the role pairs only: the lead-vocal pairs repeat the vocals pairs.
    """
    keys = profile_pairs()
    song_offsets_of = [with_bridges(s) for s in songs]
    by_pair = {k: [o[k] for o in song_offsets_of if k in o] for k in keys}
    between = {k: statistics.stdev(v) for k, v in by_pair.items() if len(v) >= 2}
    role_pairs = [x for k, x in between.items() if k[1] != TRACK_ANCHOR]
    pooled = math.sqrt(sum(x * x for x in role_pairs) / len(role_pairs)) if role_pairs else None
    pairs = {}
    for key in keys:
        values = by_pair[key]
        if not values:
            continue
        windows = [x for s in songs for x in s.window_offsets.get(key, ())]
        q25, q75 = (float(x) for x in np.percentile(windows or values, [25, 75]))
        n = len(values)
        sd = between.get(key)
        own = (n - 1) * (sd or 0.0) ** 2
        spread_song = math.sqrt((PRIOR_SONGS * PRIOR_SPREAD_LU ** 2 + own) / (PRIOR_SONGS + n - 1)) * math.sqrt(1 + 1 / n)
        spread = max((q75 - q25) / IQR_PER_SD, spread_song)
        pairs["|".join(key)] = {
            "median": round(float(np.median(values)), 2), "q25": round(q25, 2), "q75": round(q75, 2),
            "spread_lu": round(spread, 2), "between_song_sd_lu": None if sd is None else round(sd, 2),
            "songs": n, "windows": len(windows),
            "bridged_songs": sum(1 for s, o in zip(songs, song_offsets_of) if key in o and key not in s.offsets),
            "song_offsets": {s.label: round(o[key], 2) for s, o in zip(songs, song_offsets_of) if key in o},
        }
    if not pairs:
        raise InputError("No song had two roles playing together (vocals, drums or bass with another role): "
                         "nothing to fit. Check the files' roles.")
    return {
        "format": PROFILE_FORMAT,
        "name": name,
        "description": description or f"Learned from {len(songs)} songs: {', '.join(s.label for s in songs)}",
        "statistic": STATISTIC,
        "thresholds_db": {"ok": ok_db, "very": very_db},
        "provenance": {
            "method": method,
            "fitted_on": _dt.date.today().isoformat(),
            "songs": [s.label for s in songs],
            "window_s": window_s,
            "windows_per_pair": {k: v["windows"] for k, v in pairs.items()},
            "pooled_between_song_sd_lu": None if pooled is None else round(pooled, 2),
            "min_songs_to_judge": MIN_SONGS,
            **({SONGS_WITHOUT_PAIRS: empty} if (empty := [s.label for s in songs if not s.offsets]) else {}),
        },
        "pairs": pairs,
    }


class MeasuredSong(NamedTuple):
    """What a profile learns from one finished song (``measure_song``)."""

    offsets: SongOffsets
    shapes: dict[str, np.ndarray]      # each role's tonal shape
    lead: str | None                   # the file name of its lead vocal
    copies: list[str]                  # files left out as copies of others (a full mix or a role's bus)
    unsure: list[str]                  # "FILE (role)" of each audible file whose role a name guessed unsurely
    warnings: list[str]                # the export doctor's warnings about its files (a file cut short, ...)


def measure_song(song: SongSource, window_s: float = 10.0, cancel: "CancelToken | None" = None) -> MeasuredSong:
    """One finished song, its files streamed once and never held whole (a 38-stem song fits in a few hundred MB):
    its pair offsets, each role's tonal shape, the file name of its lead vocal (None when it has none), the
    names of the files left out as copies of others (a full mix or a role's bus: model.audio.copies) and the files
    counted in the role an unsure name gave them (``RoleGuess.unsure``: a profile keeps what it learns).

    Roles are guessed from the file names unless ``song.roles`` sets them (by file name or track id); the song
    is mixed with its own gains (``track_db``, ``role_db``, ``muted``). ``cancel`` is checked before each 10 s
    block. Each file is metered on its own, as the critique does, so that a full mix or a group's bus among them is
    found (model.audio.copies); the song is then streamed again without it. A profile keeps what it learns, so a
    drum group left in would skew every later critique against it: on Lithium with its drum group and a kick
    group inside it, the drums-vocals median read +8.6 LU instead of +4.6.
    """
    from model.advice.tonal import song_tonal_shapes
    from model.audio.copies import without_copies
    from model.audio.spectral import BandFrameStream
    from model.audio.stream import analyse_session, session_tracks
    from model.audio.tracks import Gains, plan_session

    plan = plan_session(song.paths, strict=True)
    ids = {path.name: tid for tid, path in zip(plan.ids, plan.paths)} | {tid: tid for tid in plan.ids}
    roles = {ids[n]: r for n, r in song.roles.items() if n in ids}
    gains = Gains(track_db={ids[n]: db for n, db in song.track_db.items() if n in ids}, role_db=dict(song.role_db),
                  muted=frozenset(ids[n] for n in song.muted if n in ids))
    tracks = session_tracks(plan, roles)
    audible = [t for t in tracks.tracks if gains.audible(t)]
    lead = next((t.id for t in audible if t.name == song.lead and t.role.role == "vocals"), None) \
        if song.lead else lead_vocal_of(audible)

    def stream(gains: Gains):
        bands = BandFrameStream.over(plan.sample_rate, plan.frames)
        return analyse_session(plan, roles, window_s, gains=gains, on_role_sums=bands.add, cancel=cancel), bands

    keep = set(roles) | ({lead} if lead else set())   # a file given a role, and the lead: stems
    (analysis, bands), gains, copies = without_copies(stream, gains, keep)
    unsure = [f"{t.name} ({t.role.role})" for t in tracks.tracks if t.role.unsure and gains.audible(t)]  # copies out
    left_out = {c.track_id for c in copies}   # the files learned from as they are; not those left out
    warnings = [f.message for f in analysis.findings
                if f.severity in ("warning", "error") and not (f.track_ids and set(f.track_ids) <= left_out)]
    return MeasuredSong(song_offsets(song.label, analysis.measurements, lead), song_tonal_shapes(bands.finish()),
                        tracks.get(lead).name if lead else None, [c.name for c in copies], unsure, warnings)


def check_songs(sources: Sequence[SongSource]) -> list[str]:
    """Before anything is measured: every song's files exist (listed, not decoded), no song is given twice (by
    path, or as a copy: every file of one is a file of another byte for byte), and every file given a role is a file
    of some song. Raises InputError in one line; returns a note for each two songs that share most of their files
    byte for byte (a song re-exported with one stem changed counts twice)."""
    from model.audio.tracks import expand_paths, path_key

    if not sources:
        raise InputError("No songs given to fit a profile from.")
    seen: dict[frozenset[str], SongSource] = {}
    contents: list[tuple[set[tuple], SongSource]] = []
    shared_notes: list[str] = []
    names: set[str] = set()
    for song in sources:
        files = expand_paths(song.paths, strict=True)[0]
        key = frozenset(path_key(f) for f in files)
        if key in seen:
            raise InputError(f"The same song is given twice: {_where(seen[key])} and {_where(song)}. "
                             "Give each song once.")
        seen[key] = song
        mine = {_fingerprint(f) for f in files}
        for theirs, other in contents:
            shared = len(mine & theirs)
            if shared == min(len(mine), len(theirs)):   # a copy of a song's folder
                raise InputError(f"{_where(song)} holds copies of {_where(other)}'s files: the same song given "
                                 "twice. Give each song once.")
            if 2 * shared > min(len(mine), len(theirs)):
                shared_notes.append(f"{song.label} and {other.label} share {shared} of their files byte for byte "
                                    "(the same song twice?)")
        contents.append((mine, song))
        names |= {f.name for f in files}
    unknown = sorted(n for s in sources for n in s.roles if n not in names)
    if unknown:
        raise InputError(f"A role is given for {unknown[0]!r}, but no song has a file of that name.")
    return shared_notes


def _fingerprint(path: Path) -> tuple[str, int, str]:
    """A file's name, size and a hash of 64 KiB from its middle: equal for a copy, unequal for another song's stem
    of the same name (whose size may match: uncompressed exports of equal length)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(size // 2)
        return path.name, size, hashlib.sha1(f.read(1 << 16)).hexdigest()


def distinct_labels(sources: Sequence[SongSource]) -> list[SongSource]:
    """The songs, those sharing a label (two folders called ``Mix``) labelled with their parent folder too
    (``A/Mix``, ``B/Mix``): the provenance keeps each song's offsets by label."""
    labels = [s.label for s in sources]
    return [replace(s, label=f"{Path(s.paths[0]).resolve().parent.name}/{s.label}") if labels.count(s.label) > 1
            else s for s in sources]


def _where(song: SongSource) -> str:
    return str(song.paths[0]) if len(song.paths) == 1 else song.label


#: The provenance key naming, per song, the files left out as copies of its other files (model.audio.copies).
LEFT_OUT_AS_COPIES = "left_out_as_copies"
#: The provenance key naming, per song, the files counted in the role an unsure name gave them ("FILE (role)").
UNSURE_ROLES = "unsure_roles"
#: The provenance key naming, per song, the export doctor's warnings about its files, learned as they are.
EXPORT_WARNINGS = "export_warnings"
#: The provenance key listing, per two songs that share most of their files byte for byte, a note saying so.
SHARED_FILES = "songs_sharing_files"
#: The provenance key listing the songs where no two roles play together: the profile learned nothing from them.
SONGS_WITHOUT_PAIRS = "songs_without_pairs"


def fit_profile(songs: Sequence[SongSource | str | os.PathLike], name: str, method: str = "mixingbuddy profile fit",
                description: str = "", progress: "Progress | None" = None, cancel: "CancelToken | None" = None,
                window_s: float = 10.0) -> tuple[dict, list[SongOffsets]]:
    """Measure each finished song and fit a profile; a song is a folder of stems or a SongSource.

    The profile also carries each role's tonal shape (its "tonal" key: median band levels relative to the
    role's loudness, and their spread over the songs), measured from the same songs.
    Returns the profile (format /2, ready for ``write_profile``) and the per-song offsets behind it.
    """
    from model.advice.tonal import TonalProfile, fit_tonal_shapes, tonal_bands_hz

    sources = [s if isinstance(s, SongSource) else SongSource(Path(s).name, (str(s),)) for s in songs]
    shared = check_songs(sources)
    sources = distinct_labels(sources)
    measured, shapes, leads, left_out, unsure, warned = [], [], {}, {}, {}, {}
    for i, song in enumerate(sources):
        if cancel:
            cancel.raise_if_cancelled()
        if progress:
            progress(i / len(sources), f"Measuring {song.label} ({i + 1} of {len(sources)})")
        m = measure_song(song, window_s, cancel)
        measured.append(m.offsets)
        shapes.append(m.shapes)
        leads[song.label] = m.lead
        if m.copies:
            left_out[song.label] = m.copies
        if m.unsure:
            unsure[song.label] = m.unsure
        if m.warnings:
            warned[song.label] = m.warnings
    if progress:
        progress(1.0, "Fitted")
    profile = combine(measured, name, method, description, window_s)
    profile["provenance"]["lead_vocal_tracks"] = leads
    if left_out:
        profile["provenance"][LEFT_OUT_AS_COPIES] = left_out
    if unsure:
        profile["provenance"][UNSURE_ROLES] = unsure
    if warned:
        profile["provenance"][EXPORT_WARNINGS] = warned
    if shared:
        profile["provenance"][SHARED_FILES] = shared
    tonal = TonalProfile(name, fit_tonal_shapes(shapes, tonal_bands_hz()), {
        "songs": [s.label for s in sources],
        "shape": "third-octave band level minus the role's K-weighted level, whole song, the song's own gains",
        "spread": "IQR / 1.349 over songs, floored"})
    if tonal.roles:
        profile["tonal"] = tonal.to_dict()["tonal"]
    return profile, measured


# --- where profiles live -----------------------------------------------------------

@dataclass(frozen=True)
class ProfileEntry:
    """A profile found on disk: its name, file, "shipped" or "user", and description."""

    name: str
    path: Path
    source: str
    description: str


def shipped_profile_dir() -> Path:
    from resources import PROFILES_DIR

    return PROFILES_DIR


def user_profile_dir() -> Path:
    """$MIXINGBUDDY_PROFILE_DIR, else $XDG_CONFIG_HOME/mixingbuddy/profiles (default ~/.config)."""
    if os.environ.get(USER_DIR_ENV):
        return Path(os.environ[USER_DIR_ENV])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mixingbuddy" / "profiles"


def list_profiles() -> list[ProfileEntry]:
    """Shipped profiles, then the user's (a user file named like a shipped profile is left out)."""
    out: list[ProfileEntry] = []
    for source, folder in (("shipped", shipped_profile_dir()), ("user", user_profile_dir())):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            if any(e.name == path.stem for e in out):
                continue
            try:
                description = read_profile_file(path)[0].description
            except InputError as exc:
                description = f"(unusable) {exc.message}"
            out.append(ProfileEntry(path.stem, path, source, description))
    return out


def hidden_user_profiles() -> list[Path]:
    """The user's profile files named like a shipped profile: not listed (the shipped one wins), so said apart."""
    folder = user_profile_dir()
    return sorted(p for p in folder.glob("*.json") if (shipped_profile_dir() / p.name).is_file()) \
        if folder.is_dir() else []


def resolve_profile(name_or_path: str | os.PathLike | None = None) -> Path:
    """A profile name (shipped or user) or a JSON file path -> the file; InputError when there is none."""
    text = str(name_or_path or DEFAULT_PROFILE)
    path = Path(text)
    if path.suffix == ".json" or path.is_file():
        if not path.is_file():
            raise InputError(f"Profile file {text} does not exist.")
        return path
    for entry in list_profiles():
        if entry.name == text:
            return entry.path
    names = ", ".join(e.name for e in list_profiles())
    raise InputError(f"Unknown profile '{text}': choose one of {names}, or give a profile .json file.")


def load_profile(name_or_path: str | os.PathLike | None = None) -> BalanceProfile:
    """Load a profile by name or path (default: pop-rock)."""
    return BalanceProfile.load(resolve_profile(name_or_path))


def load_listed_profiles() -> Iterator[BalanceProfile]:
    """Every profile the user can choose (shipped, then theirs), skipping a file that cannot be read."""
    for entry in list_profiles():
        try:
            yield BalanceProfile.load(entry.path)
        except InputError:  # an unreadable user file: the profile list says so, not the critique
            continue


def write_profile(profile: Mapping, path: str | os.PathLike) -> Path:
    """Write a profile JSON atomically (never a half-written file)."""
    from model.files import atomic_write_text

    path = Path(path)
    atomic_write_text(path, json.dumps(profile, indent=2) + "\n")
    return path


def user_profile_path(name: str) -> Path:
    """Where a user profile called ``name`` is saved; shipped names and odd characters are refused."""
    clean = name.strip()
    if not clean or any(c in clean for c in '/\\:*?"<>|') or clean.startswith("."):
        raise InputError(f"Profile name {name!r} cannot be a file name: use letters, digits, '-' or '_'.")
    if (shipped_profile_dir() / f"{clean}.json").is_file():
        raise InputError(f"'{clean}' is a shipped profile: choose another name.")
    return user_profile_dir() / f"{clean}.json"
