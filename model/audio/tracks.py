"""Tracks, the frozen TrackSet, gains, role mixes and loading a whole DAW export."""

from __future__ import annotations

import difflib
import os
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from model.audio.decode import AudioInfo, is_audio_path, probe, read_into
from model.audio.truncation import bwf_start_s
from model.audio.findings import listed
from model.errors import AudioFormatError, InputError, NoAnalysableAudio
from model.audio.roles import ROLES, RoleGuess, guess_roles, one_of_each

#: Refuse sessions whose decoded audio would not fit comfortably in memory.
MAX_SESSION_BYTES = 6 * 1024**3
#: How many names a loading note lists before "and N more".
NAMES_SHOWN = 8


@dataclass(frozen=True, eq=False)
class Track:
    """One file: float32 audio (frames, 1 or 2) at the session rate, and its role."""

    id: str
    path: str
    name: str
    role: RoleGuess
    audio: np.ndarray
    sample_rate: int
    info: AudioInfo

    @property
    def frames(self) -> int:
        return self.audio.shape[0]

    def with_role(self, role: str) -> "Track":
        return replace(self, role=RoleGuess(role, "user", None))  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class TrackSet:
    """An immutable set of tracks at one sample rate and one length (safe to share across threads)."""

    tracks: tuple[Track, ...]
    sample_rate: int

    def __post_init__(self) -> None:
        rates = {t.sample_rate for t in self.tracks}
        if len(rates) > 1:
            raise ValueError("all tracks of a TrackSet share one sample rate")

    @property
    def frames(self) -> int:
        return max((t.frames for t in self.tracks), default=0)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def roles_present(self, gains: "Gains | None" = None) -> tuple[str, ...]:
        """Roles with at least one track (with ``gains``: one audible track), in ROLES order."""
        present = {t.role.role for t in self.tracks if gains is None or gains.audible(t)}
        return tuple(r for r in ROLES if r in present)

    def get(self, track_id: str) -> Track:
        for t in self.tracks:
            if t.id == track_id:
                return t
        raise KeyError(track_id)

    def replace(self, track: Track) -> "TrackSet":
        return TrackSet(tuple(track if t.id == track.id else t for t in self.tracks), self.sample_rate)

    def without(self, track_id: str) -> "TrackSet":
        return TrackSet(tuple(t for t in self.tracks if t.id != track_id), self.sample_rate)

    def with_roles(self, roles: Mapping[str, str]) -> "TrackSet":
        """Override roles by track id (user choice)."""
        return TrackSet(tuple(t.with_role(roles[t.id]) if t.id in roles else t for t in self.tracks),
                        self.sample_rate)

    def names_hint(self, text: str) -> str:
        """For a one-line error about a name no track has: the loaded names closest to ``text`` ("did you mean
        'VOX LEAD'?"), else the first few names."""
        stems = [Path(t.name).stem for t in self.tracks]
        close = difflib.get_close_matches(text.strip(), stems, n=3, cutoff=0.6)
        return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else f"tracks: {listed(stems, 6)}"


#: The range a track's or a role's gain is set in (the app's faders; a saved session's gains are read into it).
GAIN_MIN_DB = -24.0
GAIN_MAX_DB = 12.0


def clamp_gain(db: float) -> float:
    return max(GAIN_MIN_DB, min(GAIN_MAX_DB, float(db)))


@dataclass(frozen=True)
class Gains:
    """Per-track and per-role gains in dB, mutes and solos. Effective gain = track + role."""

    track_db: Mapping[str, float] = field(default_factory=dict)
    role_db: Mapping[str, float] = field(default_factory=dict)
    muted: frozenset[str] = frozenset()
    soloed: frozenset[str] = frozenset()

    def audible(self, track: Track) -> bool:
        if track.id in self.muted:
            return False
        return not self.soloed or track.id in self.soloed

    def linear(self, track: Track) -> float:
        """The linear gain applied to a track (0 when muted or not soloed)."""
        if not self.audible(track):
            return 0.0
        db = self.track_db.get(track.id, 0.0) + self.role_db.get(track.role.role, 0.0)
        return float(10.0 ** (db / 20.0))


def role_mix(tracks: TrackSet, gains: Gains, role: str, start: int = 0, end: int | None = None) -> np.ndarray | None:
    """Stereo float32 (frames, 2) sum of a role's audible tracks over [start, end); None if none is audible."""
    end = tracks.frames if end is None else end
    out: np.ndarray | None = None
    for t in tracks.tracks:
        if t.role.role != role:
            continue
        g = gains.linear(t)
        if g == 0.0:
            continue
        if out is None:
            out = np.zeros((end - start, 2), dtype=np.float32)
        seg = t.audio[start:end]
        out[: len(seg)] += seg * np.float32(g)  # mono (frames, 1) broadcasts to both channels
    return out


def mix(tracks: TrackSet, gains: Gains, start: int = 0, end: int | None = None) -> np.ndarray:
    """The full stereo mix over [start, end)."""
    end = tracks.frames if end is None else end
    out = np.zeros((end - start, 2), dtype=np.float32)
    for role in ROLES:
        part = role_mix(tracks, gains, role, start, end)
        if part is not None:
            out += part
    return out


# --- loading -----------------------------------------------------------------

@dataclass(frozen=True)
class LoadResult:
    """Loaded tracks plus what happened on the way (notes) and what failed (path, reason)."""

    tracks: TrackSet
    notes: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    reused: frozenset[str] = frozenset()   # ids of tracks taken from ``reuse`` instead of decoded again


def expand_paths(paths: Iterable[str | os.PathLike], strict: bool = True
                 ) -> tuple[list[Path], list[str], list[tuple[str, str]]]:
    """Files and folders (non-recursive) -> audio files in a stable order, notes, and refused paths.

    A missing path, a symlink loop or a folder without audio raises InputError with
    ``strict``; otherwise it is returned as (path, reason) and the rest go on.
    A file or folder given more than once (the same resolved path: a symlink or ``./x`` counts)
    is counted once, where it first appears, and a note names it.
    """
    files: list[Path] = []
    notes: list[str] = []
    refused: list[tuple[str, str]] = []
    seen: set[str] = set()       # resolved paths of the files and folders taken
    repeated: list[str] = []     # names of those given again, in order of first repeat

    def first_time(p: Path, label: str) -> bool:
        key = path_key(p)
        if key not in seen:
            seen.add(key)
            return True
        if label not in repeated:
            repeated.append(label)
        return False

    def refuse(p: Path, reason: str) -> None:
        if strict:
            raise InputError(reason)
        refused.append((str(p), reason))

    for raw in paths:
        p = Path(raw)
        try:
            is_dir = p.is_dir()
            exists = p.exists()
        except OSError as exc:  # symlink loops, permission problems
            refuse(p, f"{p.name}: cannot be opened ({exc.strerror or exc}).")
            continue
        if is_dir:
            if not first_time(p, f"{p.name or p} (folder)"):
                continue
            try:
                entries = sorted(p.iterdir(), key=lambda q: q.name.lower())
            except OSError as exc:
                refuse(p, f"{p}: folder cannot be read ({exc.strerror or exc}).")
                continue
            audio: list[Path] = []
            skipped: list[str] = []
            for q in entries:
                if q.name.startswith("."):
                    continue   # hidden: .DS_Store, and the ._Kick.wav resource forks a Mac leaves on other disks
                try:
                    is_audio = q.is_file() and is_audio_path(q)
                except OSError:
                    is_audio = False
                if is_audio:
                    audio.append(q)
                else:
                    skipped.append(q.name)
            if skipped:
                notes.append(f"{p.name}: skipped {len(skipped)} non-audio entr{'y' if len(skipped) == 1 else 'ies'} "
                             f"({listed(skipped, NAMES_SHOWN)}).")
            if not audio:
                inside = [q.name for q in subfolders_with_audio(p)]
                verb = "holds" if len(inside) == 1 else "hold"
                refuse(p, f"{p}: folder contains no audio files." + (
                    f" Folders inside it are not searched ({listed(inside, NAMES_SHOWN)} {verb} audio): give one "
                    "song's stems, in one folder or several." if inside else ""))
            files.extend(q for q in audio if first_time(q, q.name))
        elif exists:
            if first_time(p, p.name):
                files.append(p)
        else:
            refuse(p, f"{p}: no such file or folder.")
    if repeated:
        notes.append(_repeated_note(repeated))
    if not files:
        reasons = "; ".join(r for _, r in refused)
        raise NoAnalysableAudio(f"No audio files given{': ' + reasons if reasons else '.'}")
    return files, notes, refused


def path_key(p: str | os.PathLike) -> str:
    """The key two spellings of one file or folder share (symlinks and ``..`` resolved, case folded where the OS
    does)."""
    try:
        return os.path.normcase(os.path.realpath(p))
    except (OSError, ValueError):
        return os.path.normcase(os.path.abspath(p))


def _repeated_note(names: Sequence[str]) -> str:
    return f"Given more than once, counted once: {listed(names, NAMES_SHOWN)}."


def subfolders_with_audio(folder: str | os.PathLike) -> list[Path]:
    """The folders inside ``folder`` that hold an audio file, by name (hidden and unreadable ones skipped)."""
    try:
        entries = sorted(Path(folder).iterdir(), key=lambda q: q.name.lower())
    except OSError:
        return []
    return [q for q in entries if not q.name.startswith(".") and q.is_dir() and _holds_audio(q)]


def song_folders(paths: Iterable[str | os.PathLike]) -> list[str]:
    """One path per song: each path as given, except a folder with no audio files of its own whose folders hold
    some, which stands for those folders (a producer points at the folder that holds the songs)."""
    out = []
    for raw in paths:
        inside = [] if _holds_audio(raw) else subfolders_with_audio(raw)   # a file or a missing path: neither
        out += [str(q) for q in inside] or [str(raw)]
    return out


def _holds_audio(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds an audio file of its own (False for a file, or a path that cannot be listed)."""
    try:
        return any(q.is_file() and is_audio_path(q) for q in Path(folder).iterdir())
    except OSError:
        return False


def _unique_ids(paths: Sequence[Path]) -> list[str]:
    names = [p.name for p in paths]
    counts = Counter(names)
    seen: Counter[str] = Counter()
    ids = []
    for p, name in zip(paths, names):
        if counts[name] == 1:
            ids.append(name)
        else:
            seen[name] += 1
            ids.append(f"{p.parent.name}/{name}" if p.parent.name else f"{name} ({seen[name]})")
    # Parent folder names can still collide: fall back to numbering.
    if len(set(ids)) != len(ids):
        ids = [f"{i + 1:02d} {n}" for i, n in enumerate(names)]
    return ids


@dataclass(frozen=True)
class SessionPlan:
    """Probed files of a session: ids, paths, headers, the session rate and length (frames at that rate)."""

    ids: tuple[str, ...]
    paths: tuple[Path, ...]
    infos: tuple[AudioInfo, ...]
    sample_rate: int
    frames: int
    notes: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]


def plan_session(paths: Iterable[str | os.PathLike], strict: bool = True) -> SessionPlan:
    """Expand and probe the paths; the session rate is the most common one, the length reaches the last file's end
    on the timeline."""
    files, notes, failed = expand_paths(paths, strict)
    infos: list[AudioInfo] = []
    good: list[Path] = []
    for f in files:
        try:
            infos.append(probe(f))
            good.append(f)
        except AudioFormatError as exc:
            if strict:
                raise
            failed.append((str(f), str(exc)))
    if not infos:
        raise NoAnalysableAudio("None of the files could be read: " + "; ".join(r for _, r in failed))
    infos = [replace(i, side=side, start_s=start)
             for i, side, start in zip(infos, sides_of_pairs(infos), timeline_starts(infos))]
    rate = Counter(i.sample_rate for i in infos).most_common(1)[0][0]
    length = max(frames_at(i, rate) for i in infos)
    return SessionPlan(tuple(_unique_ids(good)), tuple(good), tuple(infos), rate, length, tuple(notes), tuple(failed))


#: A file name that ends in a side: "Kick.L", "OH R", "Gtr_Left" (a multiple-mono bounce, a mic pair, a double).
_SIDE = re.compile(r"^(?P<base>.+?)[ ._-]+(?P<side>l|r|left|right)$", re.IGNORECASE)


def sides_of_pairs(infos: Sequence[AudioInfo]) -> list[str | None]:
    """"left"/"right" for each mono file that is one side of a left/right pair, else None.

    A pair is two mono files of one folder whose names differ only in a final L/R (or Left/Right): Pro Tools'
    multiple-mono bounce of a stereo track ("Kick.L", "Kick.R"), a mic pair or a double ("OH L", "Gtr R").
    The DAW plays them apart; played on both speakers each, the pair would read 3 to 6 LU louder.
    """
    entries = []
    for i, info in enumerate(infos):
        m = _SIDE.match(Path(info.path).stem)
        if m and info.channels == 1:
            folder = os.path.dirname(os.path.abspath(info.path))
            entries.append(((folder, m["base"].strip().lower()), m["side"][0].lower(), i))
    out: list[str | None] = [None] * len(infos)
    for left, right in one_of_each(entries, "l", "r"):
        out[left], out[right] = "left", "right"
    return out


#: A file whose Broadcast WAV timestamp lies further than this from most files' is not placed by it: no song's
#: timeline is that long, so the stamp is not this session's (it plays from where most files start; the export
#: doctor says so).
MAX_TIMELINE_S = 20 * 60.0


def timestamp_offsets(stamps: Sequence[float | None]) -> list[float]:
    """How far each file's Broadcast WAV timestamp lies from the one most files carry (the earliest of equals), in
    seconds to the millisecond, as a DAW's timeline is read: 0.0 for a file without one, or stamped 0 among later
    stamps (what a tool writes that keeps no timeline), and for all when the files carry fewer than two different
    stamps. An offset beyond MAX_TIMELINE_S places nothing (``placed_by``)."""
    groups = Counter(round(s * 1000) for s in stamps if s is not None)
    if len(groups) < 2:
        return [0.0] * len(stamps)
    common = max(groups, key=lambda ms: (groups[ms], -ms))
    return [0.0 if s is None or (s == 0 and common != 0) else (round(s * 1000) - common) / 1000 for s in stamps]


def placed_by(offset: float) -> bool:
    """Whether a timestamp this far from most files' places its file (timestamp_offsets)."""
    return abs(offset) <= MAX_TIMELINE_S


def timeline_starts(infos: Sequence[AudioInfo]) -> list[float]:
    """Where each file starts on the session's timeline, in seconds, placed by its Broadcast WAV timestamp (bext
    TimeReference, which Pro Tools, Logic and Reaper write) as a DAW places files on import; a file without one,
    or whose stamp places nothing, starts where most files do. The earliest file starts the timeline at 0."""
    offsets = [off if placed_by(off) else 0.0 for off in timestamp_offsets([bwf_start_s(i) for i in infos])]
    first = min(offsets, default=0.0)
    return [off - first for off in offsets]


def frames_at(info: AudioInfo, rate: int) -> int:
    """A file's length in frames at the session rate, from the timeline's start to the file's end."""
    return lead_frames(info, rate) + round(info.frames * rate / info.sample_rate)


def lead_frames(info: AudioInfo, rate: int) -> int:
    """The silence before a file's start on the session's timeline, in frames at the session rate."""
    return round(info.start_s * rate)


def conversion_notes(files: Sequence[tuple[str, AudioInfo]], rate: int, length: int) -> list[str]:
    """What loading did to the files that the export doctor does not report: folded to stereo.

    Resampling and padding are the doctor's rate and length findings (with what they mean).
    """
    placed = [name for name, info in files if info.channels > 2 and info.positions]
    unknown = [name for name, info in files if info.channels > 2 and not info.positions]
    notes = [f"Folded to stereo as a surround stem plays on two speakers (each front side on its own, centre "
             f"channels on both at -3 dB, the LFE left out): {', '.join(placed)}."] if placed else []
    return notes + ([f"Folded to stereo (more than 2 channels whose speakers are not known: even channels to the "
                     f"left, odd to the right): {', '.join(unknown)}."] if unknown else [])


def load_tracks(paths: Iterable[str | os.PathLike], strict: bool = True,
                max_bytes: int = MAX_SESSION_BYTES, roles: Mapping[str, str] | None = None,
                reuse: Mapping[str, Track] | None = None) -> LoadResult:
    """Load a DAW export: probe, pick the session rate, decode into preallocated buffers.

    Files start together, or where their Broadcast WAV timestamps place them (timeline_starts), and are
    padded with silence to the longest one; rates differing from the most common one are resampled with soxr.
    With ``strict`` the first bad file raises AudioFormatError; otherwise bad files are
    returned in ``failed`` and the rest load.
    ``reuse`` maps absolute paths to tracks loaded before: a file whose header and stamp
    are unchanged, at an unchanged session rate, keeps that audio instead of being decoded
    again (the result is the same as a fresh load).
    """
    plan = plan_session(paths, strict)
    notes, failed = list(plan.notes), list(plan.failed)
    rate, length, infos, good = plan.sample_rate, plan.frames, plan.infos, plan.paths
    need = sum(length * i.decoded_channels * 4 for i in infos)
    if need > max_bytes:
        minutes = length / rate / 60
        raise InputError(
            f"Session too large to load: {len(infos)} files of up to {minutes:.0f} min need "
            f"{need / 1024**3:.1f} GB of memory (limit {max_bytes / 1024**3:.1f} GB). Trim or split the export."
        )
    tracks: list[Track] = []
    reused: set[str] = set()
    for tid, path, info, guess in zip(plan.ids, good, infos, guess_roles([path.name for path in good])):
        before = (reuse or {}).get(os.path.abspath(path))
        if before is not None and before.info == info and before.sample_rate == rate:
            audio = _fit_length(before.audio, length)
            reused.add(tid)
        else:
            try:
                audio = _decode_at_rate(info, rate, length)
            except AudioFormatError as exc:
                if strict:
                    raise
                failed.append((str(path), str(exc)))
                continue
        role = guess
        if roles and tid in roles:
            role = RoleGuess(roles[tid], "user", None)  # type: ignore[arg-type]
        tracks.append(Track(tid, str(path), path.name, role, audio, rate, info))
    if not tracks:
        raise NoAnalysableAudio("None of the files could be decoded: " + "; ".join(r for _, r in failed))

    notes += conversion_notes([(t.name, t.info) for t in tracks], rate, length)
    return LoadResult(TrackSet(tuple(tracks), rate), tuple(notes), tuple(failed), frozenset(reused))


def _fit_length(audio: np.ndarray, length: int) -> np.ndarray:
    """Audio loaded for another session length: cut (only padding lies past the content) or zero-padded."""
    if audio.shape[0] >= length:
        return audio[:length]
    out = np.zeros((length, audio.shape[1]), dtype=np.float32)
    out[: audio.shape[0]] = audio
    return out


def _decode_at_rate(info: AudioInfo, rate: int, length: int) -> np.ndarray:
    channels = info.decoded_channels
    lead = lead_frames(info, rate)
    if info.sample_rate == rate:
        out = np.zeros((length, channels), dtype=np.float32)
        read_into(info, out[lead:])
        return out
    from model.audio.dsp import resample

    native = np.zeros((info.frames, channels), dtype=np.float32)
    read_into(info, native)
    converted = resample(native, info.sample_rate, rate)
    del native
    out = np.zeros((length, channels), dtype=np.float32)
    n = max(0, min(length - lead, len(converted)))
    out[lead:lead + n] = converted[:n]
    return out
