"""Files that copy other files: the whole mix exported beside its own stems (a DAW's master track in an "all
tracks" export), or a role's bus beside the files it sums (a drum group beside the kick, snare and hats).

Such a file counts its sources twice: every role reads too loud against a copy of the mix, and a role with
its own bus reads 6 dB too loud. Two readings of the BS.1770 gating-block energies the measurement already
has give it away (said here of the mix; a bus is the same within its role's sum):

* Independent stems add as powers, so the mix's energy equals the sum of the files' energies: over four
  released electronic-pop songs (12 to 38 stems each) the median excess is 0.00 dB, with 80 % of blocks
  within +-0.25 dB. A copy of the other files adds in phase: the mix reads 3 dB over at unity, still 2 dB
  over for a copy clipped 10 dB hotter. The excess says that something is a copy.
* Which file: the one that sounds wherever the mix does, adds in phase with the others itself, and whose
  block loudness follows the power sum of all the others, block by block: the difference spreads by 10 to
  16 dB (standard deviation) for the stems of those songs that sound in half their blocks or more, by 0.1 to
  0.7 dB for a copy, limited or clipped.
Within each role of those songs, too, the role's sum reads 0.00 dB over its files' power sum. A copy a few
milliseconds late no longer adds in phase, so it is not found: the check rather misses a copy than takes a
stem for one.

A group inside a role's group (a "Kicks" bus inside the drum bus) sums only some of the role's files. Its own
energy explains what the role's sum reads over the power sum wherever it sounds: that excess is twice its
energy, block by block, as it is for any file added to exact copies of its parts. A file that merely doubles
one other file (a layer printed twice) is not a bus: it is left alone, as are its parts, which follow the bus
alone wherever they sound. A group of files from several roles (a "music" group of the bass and the synths) is
found the same way over the mix, once no role has a bus and no file is the full mix.

One export saved twice ("Bass.wav" and "Bass.mp3", or the same name in two folders) is found before any of
that, by its name and its loudness: block by block the two read within FORMAT_COPY_DB of each other. A lossy or
16-bit copy of a stem is not the same audio to the bit, so the doctor's exact check misses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import Callable, Iterable, NamedTuple, TypeVar

import numpy as np

from model.audio.findings import Finding
from model.audio.tracks import Gains

T = TypeVar("T")

#: The mix must read at least this far over the power sum of its files (dB, median over its blocks).
MIX_EXCESS_DB = 1.0
#: The share of the mix's blocks the file must sound in: the whole mix plays wherever anything does.
MIN_PRESENCE = 0.9
#: How closely the file's block loudness must follow the power sum of the other files: the standard deviation
#: of the difference (dB).
MAX_TRACKING_DB = 2.0
#: The file itself must add in phase with the others: the median of (mix - power sum) / (2 sqrt(its energy x
#: the others')), 1 for an exact copy, 0.46 for one 0.2 ms late; near 0 for a room mic that hears the band late
#: (other in-phase pairs, such as a kit's close mics, can make the excess without it). Above the upper bound
#: the others add in phase among themselves too (one signal at several levels, as in a test tone session):
#: then any of them could be "the mix", and none is named.
IN_PHASE = (0.3, 1.3)
#: Over the mix, a copy of it adds in phase with the files of the roles it is not in: the mix must read at least
#: this far over the sum of its roles' energies (dB, median over its blocks; 0.00 over four released songs, +0.6 for
#: a copy of the mix at unity in a role that holds three quarters of the mix's energy, up to +3 in one that holds
#: little of it). A pair inside one role that adds in phase (dry and wet prints) leaves it at 0.
CROSS_ROLE_EXCESS_DB = 0.5
#: A bus of some of its role's files: what the role's sum reads over the power sum, over twice the bus's own
#: energy, block by block (1 for a bus of exact copies; a compressor on the bus moves it by its gain reduction).
PART_BUS_RATIO = (0.5, 2.0)
#: Rounds of looking, each after leaving out what the last found: a role's bus, a group inside it, the mix.
COPY_ROUNDS = 4
#: A file named as another but for its folder or format is that file saved again when their block loudness is
#: this close (dB) in nearly all the blocks where either sounds (MIN_PRESENCE). Eight real stems (Ogg) saved as
#: 24-bit WAV, 16-bit FLAC, MP3 and Ogg again: the 90th percentile of the difference is 0.00 dB (FLAC), up to 0.22 dB
#: (MP3), up to 0.93 dB (Ogg again, hats and breakbeats: their highs go); other stems of the song differ by 4 dB
#: (median) in the few blocks where both sound.
FORMAT_COPY_DB = 1.0
#: Blocks quieter than BS.1770's absolute gate (-70 LUFS) say nothing.
_GATE = 10.0 ** ((-70.0 + 0.691) / 10.0)


@dataclass(frozen=True)
class CopyFile:
    """A file that carries the sum of others: its id and name, the role whose bus it is (None: the whole mix),
    how many files it sums, the sum's excess over their power sum (dB) and how closely (dB) the file's
    loudness follows the others'. A file saved twice names the file it copies (``twin``): it sums one file,
    with no excess measured (nan)."""

    track_id: str
    name: str
    others: int
    excess_db: float
    tracking_db: float
    role: str | None = None
    part: bool = False     # it sums only some of the other files (of its role; of several roles: role None)
    twin: str | None = None   # the name of the file it is a second save of
    twin_id: str | None = None   # and that file's track id

    @property
    def is_full_mix(self) -> bool:
        return self.role is None and not self.part and self.twin is None

    @property
    def _role_words(self) -> str:
        return "other instruments" if self.role == "other" else str(self.role)

    @property
    def counts_twice(self) -> str:
        """What the file would count twice: "everything", "the drums", "those drums", "those files", "that track"."""
        if self.twin:
            return "that track"
        if self.is_full_mix:
            return "everything"
        return f"{'those' if self.part else 'the'} {self._role_words if self.role else 'files'}"

    @property
    def title(self) -> str:
        """A short heading: "Full mix among the stems", "A bus among the drums", "A stem saved twice"."""
        if self.twin:
            return "A stem saved twice"
        if self.is_full_mix:
            return "Full mix among the stems"
        return f"A bus among the {self._role_words}" if self.role else "A bus of several roles among the stems"

    @property
    def what(self) -> str:
        """What it looks like: "the full mix", "a bus of the drums", "a bus of some of the drums", "Bass.wav saved
        again"."""
        if self.twin:
            return f"{self.twin} saved again"
        if self.is_full_mix:
            return "the full mix"
        if self.role is None:
            return "a bus of files from several roles"
        return f"a bus of {'some of ' if self.part else ''}the {self._role_words}"

    def finding(self, what_now: str) -> Finding:
        """The doctor's line about it; ``what_now`` says what was done and how to count it anyway."""
        if self.twin:
            other = "in another format" if PurePath(self.name).suffix.lower() != PurePath(self.twin).suffix.lower() \
                else "in another folder"
            return Finding("saved_twice", "warning",
                           f"{self.name} holds the audio of {self.twin}: the same name and, moment by moment, the "
                           f"same loudness, so it is one export saved twice ({other}) and would count that track "
                           f"twice, up to 6 LU louder. {what_now}", (self.track_id,))
        files = "files of the other instruments" if self.role == "other" else f"{self.role} files"
        if self.is_full_mix:
            sums = f"the other {self.others} files"
        elif self.role is None:
            sums = "some of the other files"
        else:
            sums = f"some of the other {files}" if self.part else f"the other {self.others} {files}"
        return Finding("mix_file" if self.is_full_mix else "bus_file", "warning",
                       f"{self.name} looks like {self.what}: its loudness follows the sum of {sums} moment by "
                       f"moment and adds to them in phase, as a copy does, so it would count {self.counts_twice} "
                       f"twice. {what_now}", (self.track_id,))


def find_copies(measurements, keep: Iterable[str] = ()) -> list[CopyFile]:
    """Files saved twice (``saved_twice``, which keeps the save in ``keep``); where there are none, each role's bus
    (a file that is the sum of its role's other files, or of some of them); where there is none, the full mix (a
    file that is a copy of the sum of all the other audible files). Leave out what it finds, measure again and ask
    again: with a bus in the mix, the bus's own files add in phase with the mix too, so the mix is judged only
    once the buses are out, and a group inside a group once the outer one is.

    Reads the per-track energies of ``measurements`` (model.audio.measure.Measurements measured per track);
    windows where a track was not metered on its own are skipped.
    """
    twice = saved_twice(measurements, keep)
    if twice:
        return twice
    buses = [_copy_among(measurements, _ids_of(measurements, role), f"r:{role}", role)
             for role in measurements.roles_present]
    buses = [b for b in buses if b is not None]
    if buses:
        return buses
    mix = _copy_among(measurements, list(measurements.track_ids), "mix", None)
    return [mix] if mix else []


def without_copies(stream: Callable[[Gains], tuple[object, T]], gains: Gains, keep: Iterable[str] = (),
                   leave_out: bool = True) -> tuple[tuple[object, T], Gains, list[CopyFile]]:
    """``stream(gains)`` -> (a model.audio.stream.SessionAnalysis, anything made beside it), then again with the
    copies find_copies names in its measurements muted (buses first, outer groups before inner ones, then the
    mix; COPY_ROUNDS at most), but never a track in ``keep`` (one whose role the user set: a stem): the last
    result, the gains it was made with and the copies left out. Of a file saved twice, the save in ``keep`` stays.
    Without ``leave_out`` (a saved session, whose mutes are the producer's) the first copies found are only
    named: the first result, the gains as given and those copies."""
    keep = set(keep)
    result, left_out = stream(gains), []
    for _ in range(COPY_ROUNDS):
        copies = [c for c in find_copies(result[0].measurements, keep) if c.track_id not in keep]
        if not copies or not leave_out:
            return result, gains, left_out + copies
        gains = replace(gains, muted=gains.muted | {c.track_id for c in copies})
        result, left_out = stream(gains), left_out + copies
    return result, gains, left_out


def saved_twice(measurements, keep: Iterable[str] = ()) -> list[CopyFile]:
    """Files that are another file saved again, in another format or folder ("Bass.mp3" beside "Bass.wav"): the
    same name, and block loudness within FORMAT_COPY_DB of the other's in nearly all blocks. Of each such group
    the file in ``keep`` (a track chosen as the anchor, one whose role was set) stays, else the best kept one
    (lossless before lossy, then the most bits); the others are its copies."""
    keep = set(keep)
    by_name: dict[str, list] = {}
    for tid in measurements.track_ids:
        t = measurements.track_set.get(tid)
        by_name.setdefault(PurePath(t.path).stem.casefold(), []).append(t)
    copies = []
    for same in by_name.values():
        kept: list = []
        for t in sorted(same, key=lambda t: (t.id not in keep, *_kept_first(t))):
            twin = next(((k, close) for k in kept if (close := _follows(measurements, t.id, k.id)) is not None), None)
            if twin is None:
                kept.append(t)
            else:
                copies.append(CopyFile(t.id, t.name, 1, float("nan"), twin[1], t.role.role, twin=twin[0].name,
                                       twin_id=twin[0].id))
    return copies


def _kept_first(track) -> tuple:
    """Sort key: lossless before lossy, then more bits, then the shorter path."""
    subtype = track.info.subtype
    digits = re.search(r"(\d+)$", subtype)
    bits = 64 if subtype == "DOUBLE" else 32 if subtype == "FLOAT" else int(digits.group(1)) if digits else 0
    lossless = subtype.startswith(("PCM", "FLOAT", "DOUBLE", "ALAC"))
    return not lossless, -bits, len(track.path), track.path


def _follows(measurements, a: str, b: str) -> float | None:
    """How closely (dB, 90th percentile) track ``a``'s block loudness follows track ``b``'s, if both sound in nearly
    all the blocks where either does and they read within FORMAT_COPY_DB in nearly all of those; else None."""
    keys = (f"t:{a}", f"t:{b}")
    windows = [w for w in measurements.windows if all(k in w.energies for k in keys)]
    if not windows:
        return None
    ea, eb = (np.concatenate([w.energies[k] for w in windows]) for k in keys)
    both = (ea > _GATE) & (eb > _GATE)
    if both.sum() < 3 or both.sum() < MIN_PRESENCE * ((ea > _GATE) | (eb > _GATE)).sum():
        return None
    apart = np.abs(10.0 * np.log10(ea[both] / eb[both]))
    return float(np.percentile(apart, 90)) if np.mean(apart <= FORMAT_COPY_DB) >= MIN_PRESENCE else None


def _ids_of(measurements, role: str) -> list[str]:
    return [tid for tid in measurements.track_ids if measurements.track_set.get(tid).role.role == role]


def _copy_among(measurements, ids: list[str], total: str, role: str | None) -> CopyFile | None:
    """The one of ``ids`` (which together make the signal ``total``: a role's sum, or the mix) that copies the sum
    of all the others, else the one that sums some of them (over the mix: a group of files from several roles)."""
    groups = None if role else [[ids.index(tid) for tid in _ids_of(measurements, r)]
                                for r in measurements.roles_present]
    read = _blocks(measurements, [f"t:{tid}" for tid in ids], total, groups) if len(ids) >= 3 else None  # 1 + 1: a pair
    if read is None:
        return None
    found, part = _copy_of_the_rest(read), False
    if found is None:
        found, part = _bus_of_some(read), True
    if found is None:
        return None
    tid = ids[found[0]]
    return CopyFile(tid, measurements.track_set.get(tid).name, len(ids) - 1, read.excess_db, found[1], role, part=part)


def _copy_of_the_rest(read: _Reading) -> tuple[int, float] | None:
    """The row of ``_blocks``'s reading that copies the sum of the others, and how closely (dB) it follows them.
    Over the mix, files of different roles must add in phase (CROSS_ROLE_EXCESS_DB): a track printed dry and wet
    adds in phase with its twin inside its role only, and in a session of a few files the twin is much of the
    others' sum."""
    tracks, mix, power_sum, excess, elsewhere, across = read
    if excess < MIX_EXCESS_DB or across is not None and across < CROSS_ROLE_EXCESS_DB:
        return None
    best = None
    for i in range(len(tracks)):
        own, rest = tracks[i], power_sum - tracks[i]
        both = (own > _GATE) & (rest > _GATE)
        if both.mean() < MIN_PRESENCE or both.sum() < 3:
            continue
        own, rest = own[both], rest[both]
        tracking = float(np.std(10.0 * np.log10(own / rest)))
        in_phase = float(np.median((mix - power_sum - elsewhere[i])[both] / (2.0 * np.sqrt(own * rest))))
        copy = tracking <= MAX_TRACKING_DB and IN_PHASE[0] <= in_phase <= IN_PHASE[1]
        if copy and (best is None or tracking < best[1]):
            best = (i, tracking)
    return best


def _bus_of_some(read: _Reading) -> tuple[int, float] | None:
    """The row of ``_blocks``'s reading that sums some of the others: the total reads twice its energy over the
    power sum wherever it sounds (PART_BUS_RATIO, within MAX_TRACKING_DB), and no other file holds it
    (``_inside_another_file``); with how closely (dB) that excess follows it."""
    tracks, summed, power_sum, _, elsewhere, _ = read
    best = None
    for i in range(len(tracks)):
        sounds = tracks[i] > _GATE
        if sounds.sum() < 3:
            continue
        ratio = (summed - power_sum - elsewhere[i])[sounds] / (2.0 * tracks[i][sounds])
        inside = (ratio >= PART_BUS_RATIO[0]) & (ratio <= PART_BUS_RATIO[1])
        if inside.mean() < MIN_PRESENCE:
            continue
        tracking = float(np.std(10.0 * np.log10(ratio[inside])))
        if tracking <= MAX_TRACKING_DB and not _inside_another_file(tracks, i, sounds) and \
                (best is None or tracking < best[1]):
            best = (i, tracking)
    return best


def _inside_another_file(tracks: np.ndarray, i: int, sounds: np.ndarray) -> bool:
    """Whether one other row of ``tracks`` sounds in nearly all of row ``i``'s blocks (MIN_PRESENCE) and, in
    nearly all of them, either follows its loudness (within MAX_TRACKING_DB of their usual difference: a layer
    printed twice, or one of a bus's parts beside it) or is louder (it may hold row ``i``: a full mix in the
    role, with whose copy of it row ``i`` adds in phase). Nearly all, not a spread: the blocks where one of
    them starts or stops differ by any amount."""
    for j in range(len(tracks)):
        both = sounds & (tracks[j] > _GATE)
        if j == i or both.sum() < MIN_PRESENCE * sounds.sum():
            continue
        own, other = tracks[i][both], tracks[j][both]
        apart = 10.0 * np.log10(own / other)
        if np.mean(np.abs(apart - np.median(apart)) <= MAX_TRACKING_DB) >= MIN_PRESENCE or \
                np.mean(other > own) >= MIN_PRESENCE:
            return True
    return False


class _Reading(NamedTuple):
    """Energies over the blocks where a total and its files sound (see ``_blocks``)."""

    tracks: np.ndarray        # one row per file
    total: np.ndarray
    power_sum: np.ndarray     # of the files
    excess_db: float          # the total's median excess over the power sum
    elsewhere: np.ndarray     # per row: the part of that excess made inside the roles the file is not in
    across_db: float | None   # over the mix: its median excess over the sum of its roles' energies


def _blocks(measurements, keys, total: str, groups: list[list[int]] | None = None) -> _Reading | None:
    """Over the blocks where the signal ``total`` ("mix" or "r:ROLE") and the signals ``keys`` sound: their
    energies, the total's, their power sum and the total's median excess over it (dB); with ``groups`` (the rows
    of each role, in measurements.roles_present's order: the total is the mix), for each row the part of that
    excess made inside the roles it is not in (two files of one role that add in phase, a track printed dry and
    wet, say nothing about a file elsewhere, which a copy of the mix must explain by itself) and the mix's
    median excess over its roles' sums (what files of different roles add in phase). None when no block sounds."""
    keys = list(keys)
    roles = [f"r:{r}" for r in measurements.roles_present] if groups else []
    windows = [w for w in measurements.windows if all(k in w.energies for k in [total, *keys, *roles])]
    if not keys or not windows:
        return None
    parts = np.concatenate([np.stack([w.energies[k] for k in keys]) for w in windows], axis=1)
    mix = np.concatenate([w.energies[total] for w in windows])
    power_sum = parts.sum(axis=0)
    sounding = (mix > _GATE) & (power_sum > _GATE)
    if not sounding.any():
        return None
    parts, mix, power_sum = parts[:, sounding], mix[sounding], power_sum[sounding]
    elsewhere, across = np.zeros_like(parts), None
    if groups:
        sums = [np.concatenate([w.energies[key] for w in windows])[sounding] for key in roles]
        inside = [role_sum - parts[rows].sum(axis=0) for role_sum, rows in zip(sums, groups)]
        for role, rows in enumerate(groups):
            elsewhere[rows] = sum(inside) - inside[role]
        across = float(np.median(10.0 * np.log10(mix / np.maximum(sum(sums), _GATE))))
    return _Reading(parts, mix, power_sum, float(np.median(10.0 * np.log10(mix / power_sum))), elsewhere, across)
