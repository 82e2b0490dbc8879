"""Export doctor: pre-flight checks on DAW exports, reported as findings with every critique.

The checks read per-file statistics (FileStats) gathered block by block, so a streamed
analysis (model.audio.stream) and loaded tracks (check_session) give the same findings;
only the cut-short check reads the files themselves, their container's header and tail
(model.audio.truncation).
"""

from __future__ import annotations

import math
import re
from pathlib import PurePath
from typing import Sequence

import numpy as np

from model.audio.channels import lfe_level_db
from model.audio.findings import Finding, clock, listed
from model.audio.decode import abs_peak_per_frame, channel_sums, linear_to_db
from model.errors import RoleError
from model.audio.decode import AudioInfo
from model.audio.tracks import MAX_TIMELINE_S, Gains, Track, TrackSet, placed_by, timestamp_offsets
from model.audio.roles import dry_wet_pairs, named_like_click_track, named_like_effect_return, named_like_reference
from model.audio.truncation import bwf_start_s, cut_short, mp3_has_tag, mp3_reads_short

SILENT_PEAK_DB = -90.0
#: Peak levels an export dialog normalises to (dBFS).
EXPORT_TARGETS_DB = (0.0, -0.1, -0.3, -1.0)
NORMALISED_TOLERANCE_DB = 0.05
#: The range unnormalised stems' peaks spread over (dB): the chance model of _normalised.
PEAK_SPREAD_DB = 12.0
NORMALISED_MAX_CHANCE = 1e-3
AUDIBLE_LIMIT_HZ = 20000
MISALIGN_MS = 20.0
ALIGN_PROMINENCE = 8.0  # standard deviations above the median correlation over the lags tried
LENGTH_TOLERANCE_S = 0.010
CLIP_LEVEL = 0.999
CLIP_RUN = 3
DC_LIMIT = 0.001
FAKE_STEREO_LIMIT = 1e-6
#: An LFE channel at least this loud against what the stereo fold keeps of its file (dB of energy: a tenth of the
#: sound or more) is warned about: the fold leaves it out.
LFE_NOTE_DB = -10.0
_ENV_RATE = 1000  # onset envelope rate for alignment (1 ms)
_ALIGN_SECONDS = 30.0
_MAX_LAG_MS = 250.0
#: How far the lengths of one export's files may differ (s): the evr songs' files end within 0.02 s of each other.
ONE_EXPORT_SPREAD_S = 0.1
#: Folders, each of one length, whose lengths differ by more than this (s) hold different songs (or cuts).
SONG_LENGTHS_DIFFER_S = 1.0


class FileStats:
    """What the doctor needs from one file at the session rate, gathered block by block (``add``).

    Peak, clipped runs, samples above full scale, channel sums (DC), the largest
    left/right difference (fake stereo) and the onset envelope of the first 30 s.
    """

    def __init__(self, track_id: str, name: str, role: str, info: AudioInfo, sample_rate: int) -> None:
        self.id, self.name, self.role, self.info, self.sample_rate = track_id, name, role, info, sample_rate
        self.frames = 0
        self.peak = 0.0
        self.clip_runs = 0
        self.first_run = -1
        self.over = 0
        self.first_over = -1
        self.channel_sums: np.ndarray | None = None
        self.stereo_diff = 0.0
        self._hot_tail = np.zeros(0, dtype=np.int8)
        self._in_run = False
        self._hop = max(1, sample_rate // _ENV_RATE)
        self._env_frames = int(_ALIGN_SECONDS * sample_rate)
        self._env: list[np.ndarray] = []
        self._env_rest = np.zeros(0, dtype=np.float32)

    def add(self, block: np.ndarray) -> float:
        """The next (frames, channels) float32 block of the file (padding included); returns its sample peak."""
        n = len(block)
        if n == 0:
            return 0.0
        block_peak = max(float(block.max()), -float(block.min()))
        self.peak = max(self.peak, block_peak)
        # the per-frame peaks only where they are needed: near full scale, and for the first seconds' envelope
        hot = block_peak >= CLIP_LEVEL or bool(self._hot_tail.any())
        mag = abs_peak_per_frame(block) if hot or self.frames < self._env_frames else None
        sums = channel_sums(block)
        self.channel_sums = sums if self.channel_sums is None else self.channel_sums + sums
        if block.shape[1] == 2 and self.stereo_diff < FAKE_STEREO_LIMIT:
            self.stereo_diff = max(self.stereo_diff, float(np.abs(block[:, 0] - block[:, 1]).max()))
        if hot:
            self._clips(mag)
        else:  # nothing near full scale: no run can start or continue here
            self._hot_tail = np.zeros(CLIP_RUN - 1, dtype=np.int8)
            self._in_run = False
        if self.frames < self._env_frames:
            self._envelope(mag[: self._env_frames - self.frames])
        self.frames += n
        return block_peak

    def _clips(self, mag: np.ndarray) -> None:
        if self.info.is_float and mag.max() > 1.0:
            above = np.flatnonzero(mag > 1.0)
            if above.size and self.first_over < 0:
                self.first_over = self.frames + int(above[0])
            self.over += int(above.size)
        at_full_scale = mag >= CLIP_LEVEL
        if self.info.is_float:   # a float file keeps what goes over: only a run held at full scale is flattened
            at_full_scale &= mag <= 1.0
        hot = np.concatenate([self._hot_tail, at_full_scale.astype(np.int8)])
        origin = self.frames - len(self._hot_tail)
        self._hot_tail = hot[-(CLIP_RUN - 1):].copy()
        if not hot.any():
            self._in_run = False
            return
        if len(hot) < CLIP_RUN:
            return
        runs = np.convolve(hot, np.ones(CLIP_RUN, dtype=np.int8), mode="valid") >= CLIP_RUN
        # Count runs (rising edges), not samples; a run may continue from the previous block.
        starts = np.flatnonzero(np.diff(runs.astype(np.int8), prepend=np.int8(self._in_run)) == 1)
        if starts.size and self.first_run < 0:
            self.first_run = origin + int(starts[0])
        self.clip_runs += int(starts.size)
        self._in_run = bool(runs[-1])

    def _envelope(self, mag: np.ndarray) -> None:
        m = np.concatenate([self._env_rest, mag])
        whole = len(m) // self._hop * self._hop
        if whole:
            self._env.append(m[:whole].reshape(-1, self._hop).max(axis=1))
        self._env_rest = m[whole:].copy()

    @property
    def peak_db(self) -> float:
        return linear_to_db(self.peak)

    def envelope(self) -> np.ndarray:
        """The 1 ms peak envelope of the first 30 s."""
        return np.concatenate(self._env) if self._env else np.zeros(0, dtype=np.float32)

    def restore_envelope(self, env: np.ndarray) -> None:
        """Set the envelope of a file already read (from a cache)."""
        self._env = [np.asarray(env, dtype=np.float32)]
        self._env_rest = np.zeros(0, dtype=np.float32)

    def onset_envelope(self) -> np.ndarray:
        """Positive change of the 1 ms peak envelope over the first 30 s."""
        env = self.envelope()
        if len(env) < 2:
            return np.zeros(0)
        env = np.log1p(1000 * env)
        return np.maximum(np.diff(env, prepend=env[0]), 0.0)


#: Frames of a loaded track's statistics gathered at a time (short numpy calls, little scratch memory).
STATS_BLOCK = 1 << 16


def track_stats(t: Track, sample_rate: int, cancel=None) -> FileStats:
    """FileStats of a loaded track, gathered block by block as a stream would; ``cancel`` (a CancelToken)
    is checked between blocks."""
    stats = FileStats(t.id, t.name, t.role.role, t.info, sample_rate)
    for a in range(0, max(1, len(t.audio)), STATS_BLOCK):
        if cancel is not None:
            cancel.raise_if_cancelled()
        stats.add(t.audio[a:a + STATS_BLOCK])
    return stats


def check_session(tracks: TrackSet, anchor: str | None = None, gains: Gains | None = None,
                  stats: Sequence[FileStats] | None = None) -> list[Finding]:
    """Run every check on loaded tracks; raises RoleError when the anchor role has no audible (non-silent) track.

    ``stats`` are the tracks' statistics when already gathered (in track order), else they are gathered here.
    """
    g = gains or Gains()
    audible = {t.id for t in tracks.tracks if g.audible(t)}
    if stats is None:
        stats = [track_stats(t, tracks.sample_rate) for t in tracks.tracks]
    return check_files(stats, tracks.sample_rate, anchor, audible)


def check_files(files: Sequence[FileStats], sample_rate: int, anchor: str | None = None,
                audible: set[str] | None = None) -> list[Finding]:
    """Run every check on per-file statistics; ``audible`` (default: all) are the ids not muted.

    Each finding is one line saying what was found, what it does to the critique and the
    fix; the files it concerns are its ``track_ids`` (the interfaces list them on demand).
    """
    findings: list[Finding] = []
    peaks = {t.id: t.peak_db for t in files}
    silent = [t for t in files if peaks[t.id] < SILENT_PEAK_DB]
    if silent:
        findings.append(Finding("silent_file", "warning",
                                f"{_count(silent)} silent: left out of the role sums; check the export's track "
                                "selection if they should play.", _ids(silent)))
    if anchor is not None:
        ok = [t for t in _heard(files, audible) if t.role == anchor and peaks[t.id] >= SILENT_PEAK_DB]
        if not ok:
            raise RoleError(f"The anchor role '{anchor}' has no audible track (all its files are silent or muted).")
    songs = _several_songs(files)
    findings += songs
    findings += _effect_returns(files, audible)
    findings += _references(files, audible)
    findings += _click_tracks(files, audible)
    findings += _dry_and_wet(files, audible)
    findings += _same_audio(files, audible)
    findings += _mono_pairs(files)
    findings += _normalised(files, peaks)
    findings += _rates(files, sample_rate)
    cut = _cut_short(files)
    findings += cut
    findings += _lfe_left_out(files)
    for t in files:
        if peaks[t.id] >= SILENT_PEAK_DB:
            findings += _clipping(t) + _dc_offset(t) + _fake_stereo(t)
    stamped = _timestamps(files)
    unplaced = {f.track_ids[0] for f in stamped if f.code == "timestamp_offset"}
    misaligned = [f for f in _misaligned(files, peaks) if f.track_ids[0] not in unplaced]
    findings += stamped + misaligned
    findings += _ends(files, {f.track_ids[0] for f in misaligned + cut} | unplaced |
                      {t for f in songs for t in f.track_ids})
    return findings


def _ids(tracks: Sequence[FileStats]) -> tuple[str, ...]:
    return tuple(t.id for t in tracks)


def _count(tracks: Sequence[FileStats]) -> str:
    """"Vox.wav is" for one file, "3 files are" for more (the names go in the finding's track ids)."""
    return f"{tracks[0].name} is" if len(tracks) == 1 else f"{len(tracks)} files are"


def _several_songs(tracks: Sequence[FileStats]) -> list[Finding]:
    """Folders that look like different songs (or versions of one) given together, which are judged as one mix.

    Either their files go by the same names (at least two, and half of the smaller folder's), or each folder's
    files (two or more) share one length, as one export of a song does, and the folders' lengths differ. Stems of
    one song split into folders by role share neither; one file added from elsewhere is no export of its own.
    """
    folders: dict[str, list[FileStats]] = {}
    for t in tracks:
        folders.setdefault(str(PurePath(t.info.path).parent), []).append(t)
    names = {f: {PurePath(t.info.path).name.lower() for t in ts} for f, ts in folders.items()}
    alike = [f for f in folders if any(
        g != f and len(names[f] & names[g]) >= max(2, min(len(names[f]), len(names[g])) / 2) for g in folders)]
    why = "hold files of the same names"
    if not alike:
        spans = {f: [t.info.duration_s for t in ts] for f, ts in folders.items()}
        length = {f: max(d) for f, d in spans.items() if len(d) > 1 and max(d) - min(d) <= ONE_EXPORT_SPREAD_S}
        alike = [f for f in length if any(abs(length[f] - length[g]) > SONG_LENGTHS_DIFFER_S for g in length)]
        why = f"each hold files of one length, and the lengths differ ({', '.join(clock(length[f]) for f in alike)})"
    if not alike:
        return []
    named = listed([PurePath(f).name for f in alike])
    return [Finding("several_songs", "warning",
                    f"{len(alike)} folders ({named}) {why}: if they are different songs or versions, critique each "
                    "on its own; given together, they are judged as one mix.",
                    tuple(t.id for f in alike for t in folders[f]))]


def _references(tracks: Sequence[FileStats], audible: set[str] | None) -> list[Finding]:
    """Audible "other" files named like a reference track: a DAW's "export all tracks" takes the reference song
    kept in the session along, and its whole mix would count in the other instruments."""
    return _named_to_mute(tracks, audible, named_like_reference, "reference_track", lambda one: (
        f"a reference track: if {'it is' if one else 'they are'} another song or mix kept to compare with, its whole "
        "mix counts in the other instruments and skews the balance."))


def _click_tracks(tracks: Sequence[FileStats], audible: set[str] | None) -> list[Finding]:
    """Audible "other" files named like a click track: the metronome, printed by an "export all tracks" (a Pro
    Tools session's click track), plays on every beat and is never part of the mix."""
    return _named_to_mute(tracks, audible, named_like_click_track, "click_track", lambda one: (
        f"a click track (the metronome printed as a track): {'it is' if one else 'they are'} not part of the mix, "
        f"yet {'it counts' if one else 'they count'} in the other instruments."))


def _named_to_mute(tracks: Sequence[FileStats], audible: set[str] | None, named, code: str, like) -> list[Finding]:
    """One warning for the audible "other" files ``named`` says are no part of the mix: "X is named like
    {like(one file)} Mute it (or leave it out) and critique again."; muting them is its fix."""
    found = _audible_others_named(tracks, audible, named)
    if not found:
        return []
    it = "it" if len(found) == 1 else "them"
    return [Finding(code, "warning", f"{_count(found)} named like {like(len(found) == 1)} Mute {it} (or leave {it} "
                    "out) and critique again.", _ids(found), _ids(found))]


def _audible_others_named(tracks: Sequence[FileStats], audible: set[str] | None, named) -> list[FileStats]:
    return [t for t in _heard(tracks, audible) if t.role == "other" and named(t.name)]


def _heard(tracks: Sequence[FileStats], audible: set[str] | None) -> list[FileStats]:
    """The files not muted (``audible`` None: all of them)."""
    return [t for t in tracks if audible is None or t.id in audible]


#: What a file manager or a browser adds to the name of a second copy of a file: "Bass copy", "Bass copy 2",
#: "Bass (1)", "Copy of Bass".
_COPY_MARK = re.compile(r"^(?:copy of )?(.*?)(?:[ _-]copy(?: \d+)?| ?\(\d+\))?$", re.IGNORECASE)


def _same_audio(files: Sequence[FileStats], audible: set[str] | None) -> list[Finding]:
    """Audible files that hold exactly the same audio (the same length, peak, channel sums and first 30 s): a
    second copy of a file (its name says so: "Bass (1)", "Bass copy") counts its track twice, 6 LU louder than
    in the mix; two tracks the DAW plays both (a duplicated layer) count as it plays them, so those only get an
    [info] line."""
    groups: dict[tuple, list[FileStats]] = {}
    for t in _heard(files, audible):
        if t.peak_db >= SILENT_PEAK_DB and t.channel_sums is not None:
            groups.setdefault((t.frames, t.peak, t.envelope().tobytes()), []).append(t)
    findings = []
    for same in groups.values():
        same = [t for t in same if np.allclose(t.channel_sums, same[0].channel_sums, rtol=1e-5, atol=1e-6)]
        if len(same) < 2:
            continue
        original = min(same, key=lambda t: (len(t.name), t.name))
        copies = [t for t in same if t is not original and _copied_from(t.name) == PurePath(original.name).stem.lower()]
        one = len(copies) == 1
        if copies:
            findings.append(Finding(
                "copied_file", "warning",
                f"{listed([t.name for t in copies])} {'holds' if one else 'hold'} exactly the audio of "
                f"{original.name}, and the name{'' if one else 's'} say{'s' if one else ''} copy: the track counts "
                f"{'twice' if one else f'{len(copies) + 1} times'}, up to "
                f"{10 * np.log10((len(copies) + 1) ** 2):.0f} LU louder than in the mix. Mute "
                f"{'the copy' if one else 'the copies'} (or remove {'it' if one else 'them'}) and critique again.",
                _ids([original, *copies]), _ids(copies)))
        else:
            findings.append(Finding(
                "same_audio", "info",
                f"{listed([t.name for t in same])} hold exactly the same audio: if the DAW plays "
                f"{'both' if len(same) == 2 else 'them all'} (a duplicated track), they count as it plays them; if "
                "one is a second copy of the file, mute it.", _ids(same)))
    return findings


def _copied_from(name: str) -> str | None:
    """The (lower-case) name a copy's name was made from ("bass" for "Bass (1).wav"); None when it has no copy mark."""
    stem = PurePath(name).stem
    source = _COPY_MARK.match(stem).group(1)
    return source.lower() if source != stem else None


def _dry_and_wet(tracks: Sequence[FileStats], audible: set[str] | None) -> list[Finding]:
    """One track printed twice, dry and with its effects, both audible: it counts twice."""
    heard = _heard(tracks, audible)
    pairs = [(heard[d], heard[w]) for d, w in dry_wet_pairs([t.name for t in heard])]
    if not pairs:
        return []
    named = listed([f"{dry.name} + {wet.name}" for dry, wet in pairs])
    what = "one track" if len(pairs) == 1 else f"{len(pairs)} tracks"
    return [Finding("dry_and_wet", "warning",
                    f"{what.capitalize()} printed both dry and with {'its' if len(pairs) == 1 else 'their'} effects "
                    f"({named}): both count, so {'it reads' if len(pairs) == 1 else 'they read'} up to 6 LU louder "
                    "than in the mix. Mute the dry print (the wet one is what the mix plays) and critique again.",
                    tuple(t.id for pair in pairs for t in pair), tuple(dry.id for dry, _ in pairs))]


def _mono_pairs(tracks: Sequence[FileStats]) -> list[Finding]:
    """The left/right pairs of mono files (model.audio.tracks.sides_of_pairs), each side played on its speaker."""
    left = [t for t in tracks if t.info.side == "left"]
    if not left:
        return []
    what = "a left/right pair" if len(left) == 1 else f"{len(left)} left/right pairs"
    files = tuple(t.id for t in tracks if t.info.side is not None)
    return [Finding("mono_pairs", "info",
                    f"{what.capitalize()} of mono files (named ... L and ... R) {'is' if len(left) == 1 else 'are'} "
                    "played as the DAW plays them, each side on its own speaker "
                    "(played on both, a pair reads 3 to 6 LU louder). If they were panned otherwise in the mix, "
                    "export them as stereo files.", files)]


def _effect_returns(tracks: Sequence[FileStats], audible: set[str] | None) -> list[Finding]:
    """Audible "other" files named like an effect return: a reverb or delay fed from several tracks, whose wet sound
    is counted in the other instruments (the tracks it came from are exported dry of it)."""
    returns = _audible_others_named(tracks, audible, named_like_effect_return)
    if not returns:
        return []
    if len(returns) == 1:
        said = (f"{returns[0].name} is named like an effect return (a reverb or delay fed from several tracks): its "
                "wet sound is counted in the other instruments. If it carries mostly one role's sound (a vocal "
                "reverb), set its role to that role; to judge the dry balance, mute it.")
    else:
        said = (f"{len(returns)} files are named like effect returns (a reverb or delay fed from several tracks): "
                "their wet sound is counted in the other instruments. Where one carries mostly one role's sound (a "
                "vocal reverb), set its role to that role; to judge the dry balance, mute them.")
    return [Finding("effect_return", "info", said, _ids(returns), _ids(returns))]


def _normalised(tracks: Sequence[FileStats], peaks: dict[str, float]) -> list[Finding]:
    """Several files peaking at one usual export target (within 0.05 dB): normalised on export.

    A file peaks inside one target's 0.1 dB window by chance with probability
    ``p = 0.1 / PEAK_SPREAD_DB``: unnormalised stems' peaks spread over at least ~12 dB
    (the four evr songs: 17 to 25 dB), assumed uniform. The chance that k or more of the
    n audible files land in the window is the binomial tail P(X >= k), times the four
    targets tried. The finding fires for the target with the most files when k >= 2 and
    that chance is below 1/1000: e.g. 2 of 3 files, 3 of 9, 5 of 40. Peaks that merely
    agree with each other away from every target (-10.07/-9.97/-9.91 dBFS) never fire.
    """
    audible = [t for t in tracks if math.isfinite(peaks[t.id]) and peaks[t.id] >= SILENT_PEAK_DB]
    n = len(audible)
    p = 2 * NORMALISED_TOLERANCE_DB / PEAK_SPREAD_DB
    best: tuple[float, float, list[FileStats]] | None = None
    for target in EXPORT_TARGETS_DB:
        at = [t for t in audible if abs(peaks[t.id] - target) <= NORMALISED_TOLERANCE_DB]
        chance = len(EXPORT_TARGETS_DB) * _binomial_tail(n, len(at), p)
        if len(at) >= 2 and chance < NORMALISED_MAX_CHANCE and (best is None or chance < best[0]):
            best = (chance, target, at)
    if best is None:
        return []
    _, target, at = best
    return [Finding("normalised_on_export", "warning",
                    f"{len(at)} of {n} files peak at {target:.1f} dBFS (within {NORMALISED_TOLERANCE_DB:g} dB), "
                    f"a usual export target: they look normalised on export, so each was turned up or down by its own "
                    f"amount and the balance judged is not your mix's. Turn normalisation off in the export dialog "
                    f"and re-export them.", _ids(at))]


def _binomial_tail(n: int, k: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return float(sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1)))


def _khz(rate: int) -> str:
    return f"{rate / 1000:g} kHz"


def _rates(tracks: Sequence[FileStats], sample_rate: int) -> list[Finding]:
    """One finding per foreign rate, saying what the resampling means for the sound judged."""
    out = []
    for rate in sorted({t.info.sample_rate for t in tracks} - {sample_rate}):
        odd = [t for t in tracks if t.info.sample_rate == rate]
        one = len(odd) == 1
        they, them, their = ("it", "it", "its") if one else ("they", "them", "their")
        if rate < sample_rate:
            lost, severity = rate // 2, "warning"
            meaning = (f"{they} {'carries' if one else 'carry'} nothing above {_khz(lost)} (cymbal air, sibilance), "
                       f"so those highs are missing from {their} loudness and from the mix judged. Re-export {them} "
                       f"at {_khz(sample_rate)}")
        elif sample_rate // 2 < AUDIBLE_LIMIT_HZ:
            lost, severity = sample_rate // 2, "warning"
            meaning = (f"{their} content above {_khz(lost)} (cymbal air, sibilance) is left out of the analysis, so "
                       f"{their} loudness may read low. Export every file at {_khz(rate)} to judge the full band")
        else:
            severity = "info"
            meaning = (f"only content above {_khz(sample_rate // 2)}, beyond hearing, is dropped: the critique is "
                       "unaffected. Export every file at one rate to avoid the conversion")
        out.append(Finding("rate_mismatch", severity,
                           f"Sample rates differ: {_count(odd)} at {_khz(rate)}, resampled to the session's "
                           f"{_khz(sample_rate)}; {meaning}.", _ids(odd)))
    return out


def _cut_short(tracks: Sequence[FileStats]) -> list[Finding]:
    """Files whose container says they were cut short (model.audio.truncation: the container, never decoded), and
    MP3s whose end libsndfile never reads.

    Their audio stops where the file does, so the critique hears them fall silent there: a warning,
    never the "shorter, padded, normal" note of ``_ends``.
    """
    out = []
    for t in tracks:
        short = mp3_reads_short(t.info) if t.info.format == "MP3" else None
        if short is not None:
            out.append(Finding("mp3_length_guessed", "warning",
                               f"{t.name} is a variable-bitrate MP3 without a length tag: only its first "
                               f"{clock(short[0])} of {clock(short[1])} can be read, so the critique hears it stop "
                               "there. Re-export it as WAV or FLAC (or as MP3 with a Xing tag).", (t.id,)))
        cut = cut_short(t.info)
        if cut is not None and (cut.declared_s is None or cut.declared_s - cut.ends_s > LENGTH_TOLERANCE_S):
            out.append(Finding("truncated_file", "warning",
                               f"{t.name} was cut short: the file {cut.where()} (an interrupted export or copy), "
                               "so the critique hears it stop there. Re-export it (or copy it again).", (t.id,)))
    return out


def _lfe_left_out(tracks: Sequence[FileStats]) -> list[Finding]:
    """Surround files whose LFE channel carries sound the stereo fold leaves out (model.audio.channels), from
    LFE_NOTE_DB against what the fold keeps: the critique judges such a stem without its low-frequency channel."""
    out = []
    for t in tracks:
        db = lfe_level_db(t.info)
        if db is None or db < LFE_NOTE_DB:
            continue
        how = ("all of its sound is in its LFE channel" if math.isinf(db) else
               f"its LFE channel is {round(db, 1) + 0.0:+.1f} dB against what the stereo fold keeps of it")
        out.append(Finding("lfe_left_out", "warning",
                           f"{t.name}: {how}; the fold leaves the LFE out (as a DAW's fold-down and BS.1770 "
                           "loudness do), so the critique judges it without that low end. If the stem's bass lives "
                           "there, export it as stereo.", (t.id,)))
    return out


def _ends(tracks: Sequence[FileStats], explained: set[str]) -> list[Finding]:
    """Files that start together but end early: normal (DAWs trim each export after its last sound).

    ``explained`` are the files another finding already accounts for (shifted, or cut short).
    """
    lengths = {t.id: t.info.start_s + t.info.duration_s for t in tracks}   # where each ends on the timeline
    # a shifted file (an untagged MP3 carries its encoder's delay) runs past the others: not the length to meet
    longest = max((n for i, n in lengths.items() if i not in explained), default=0.0)
    short = [t for t in tracks if longest - lengths[t.id] > LENGTH_TOLERANCE_S and t.id not in explained]
    if not short:
        return []
    gaps = [longest - lengths[t.id] for t in short]
    by = f"{min(gaps):.2f} s" if max(gaps) - min(gaps) < 0.005 else f"{min(gaps):.2f} to {max(gaps):.2f} s"
    return [Finding("length_mismatch", "info",
                    f"{_count(short)} shorter than the longest file (by {by}), padded with silence at the end. "
                    "No start offset shows in the audio, so this is normal (many DAWs end each export at its last sound) and "
                    "it does not change the critique.", _ids(short))]


def _clipping(t: FileStats) -> list[Finding]:
    if not t.clip_runs and not t.over:
        return []
    first = f"first at {(t.first_run if t.clip_runs else t.first_over) / t.sample_rate:.2f} s"
    if t.clip_runs:
        what = (f"{t.clip_runs} clipped run(s) of {CLIP_RUN}+ full-scale samples, {first}: the distortion is in "
                "the file and its peaks are flattened. Lower the track (or its limiter's ceiling) and re-export")
    else:
        what = (f"{t.over} samples above full scale, {first}: kept in this float file and measured as they are, "
                "but they clip in any fixed-point bounce. Lower the track before the final export")
    return [Finding("clipping", "warning", f"{t.name}: {what}.", (t.id,))]


def _dc_offset(t: FileStats) -> list[Finding]:
    worst = float(np.abs(t.channel_sums).max()) / max(1, t.frames) if t.channel_sums is not None else 0.0
    if worst > DC_LIMIT:
        return [Finding("dc_offset", "info", f"{t.name}: DC offset of {worst:.4f}: it costs headroom and clicks at "
                        "edits, but barely moves loudness. High-pass the track (20 Hz) before mixing.", (t.id,))]
    return []


def _fake_stereo(t: FileStats) -> list[Finding]:
    if t.info.channels == 2 and t.channel_sums is not None and t.stereo_diff < FAKE_STEREO_LIMIT:
        return [Finding("fake_stereo", "info", f"{t.name}: both channels are identical (mono saved as stereo): "
                        "harmless for the critique; export it as mono to halve the file.", (t.id,))]
    return []


def _timestamps(tracks: Sequence[FileStats]) -> list[Finding]:
    """Broadcast WAV files whose timestamp places them elsewhere on the DAW's timeline than most (a stem exported
    again later from another start, a clip exported on its own). Loading places them there (AudioInfo.start_s),
    as a DAW imports them, so they play in time: an info line. A stamp further off than one song lasts is not
    placed, so that file plays from where most files start, out of time by however much (``_misaligned`` hears
    250 ms at most): a warning."""
    stamps = [bwf_start_s(t.info) for t in tracks]
    offsets = timestamp_offsets(stamps)
    known = [off for s, off in zip(stamps, offsets) if s is not None]
    than = "the others" if known.count(0.0) == len(known) - 1 else "most files"
    out = []
    for t, off in zip(tracks, offsets):
        where = f"{abs(off):.3f} s {'later' if off > 0 else 'earlier'}"
        if not placed_by(off):
            out.append(Finding("timestamp_offset", "warning",
                               f"{t.name}: its Broadcast WAV timestamp puts it {where} on the DAW's timeline than "
                               f"{than}, further than one song lasts ({MAX_TIMELINE_S / 60:.0f} min), so it is not "
                               "placed there and plays from where most files start, probably out of time. Check that "
                               "it belongs to this export, or export every file from the same start (bar 1).",
                               (t.id,)))
        elif off:
            out.append(Finding("timestamp_placed", "info",
                               f"{t.name}: placed {where} than {than} on the timeline, where its Broadcast WAV "
                               "timestamp puts it, as a DAW places it on import.", (t.id,)))
    return out


def _misaligned(tracks: Sequence[FileStats], peaks: dict[str, float]) -> list[Finding]:
    """A track whose onsets line up best with the others at a lag > 20 ms is probably shifted.

    This is the check behind every alignment warning: a length difference alone is not one
    (DAWs end exports at different times), but a file whose audio is shifted is, and when its
    length differs from the longest by about the lag too, the message says so.
    """
    active = [t for t in tracks if peaks[t.id] >= SILENT_PEAK_DB]
    if len(active) < 2:
        return []
    envs = {t.id: t.onset_envelope() for t in active}
    total = np.sum([e for e in envs.values()], axis=0)
    max_lag = int(_MAX_LAG_MS * _ENV_RATE / 1000)
    longest = max(t.info.duration_s for t in tracks)
    shifted: dict[str, float] = {}     # track id -> lag (ms; negative: late)
    for t in active:
        own = envs[t.id]
        rest = total - own
        if own.size < 4 * max_lag or not own.any() or not rest.any():
            continue
        size = 1 << int(np.ceil(np.log2(2 * own.size)))
        xc = np.fft.irfft(np.fft.rfft(rest, size) * np.conj(np.fft.rfft(own, size)), size)
        lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
        values = np.concatenate([xc[: max_lag + 1], xc[-max_lag:]])
        best = int(np.argmax(values))
        lag_ms = lags[best] * 1000.0 / _ENV_RATE
        zero = xc[0]
        norm = math.sqrt(float(np.dot(own, own)) * float(np.dot(rest, rest))) or 1.0
        # The best lag must stand out from the correlation at every other lag: files without
        # shared onsets (a steady pad against a periodic kick) peak somewhere by chance.
        prominence = (values[best] - float(np.median(values))) / (float(values.std()) or 1.0)
        if (abs(lag_ms) > MISALIGN_MS and values[best] > 1.5 * max(zero, 0.0) and values[best] / norm > 0.2
                and prominence > ALIGN_PROMINENCE):
            shifted[t.id] = lag_ms
    delayed = {t.id for t in active if shifted.get(t.id, 0.0) < 0 and _mp3_without_tag(t)}
    out = []
    for t in active:
        if t.id not in shifted:
            continue
        lag_ms = shifted[t.id]
        if lag_ms > 0 and any(abs(shifted[d] + lag_ms) <= MISALIGN_MS for d in delayed):
            continue   # early only against an MP3 the encoder's delay made late: that file is the one said
        direction = "late" if lag_ms < 0 else "early"
        shorter_ms = (longest - t.info.duration_s) * 1000.0
        length = (f" (and it is {shorter_ms:.0f} ms shorter, as a start offset makes it)"
                  if abs(shorter_ms - abs(lag_ms)) <= MISALIGN_MS else "")
        if t.id in delayed:
            why, fix = (": an MP3 without a Xing/Info tag starts with its encoder's delay (25 ms from LAME at 44.1 "
                        "kHz), which only that tag tells a decoder to skip, so it plays",
                        "Export it as WAV or FLAC, or as MP3 with that tag (the gapless or LAME tag).")
        else:
            why, fix = f"{length}, so it plays", "Export every file from the same start (bar 1)."
        out.append(Finding("misaligned_start", "warning",
                           f"{t.name}: starts about {abs(lag_ms):.0f} ms {direction} against the other files{why} out "
                           f"of time and each window compares it with the wrong moment of the others. {fix}", (t.id,)))
    return out


def _mp3_without_tag(t: FileStats) -> bool:
    return t.info.format == "MP3" and mp3_has_tag(t.info.path) is False
