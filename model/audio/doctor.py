"""Export doctor: pre-flight checks on DAW exports, reported as findings with every critique.

The checks read per-file statistics (FileStats) gathered block by block, so a streamed
analysis (model.audio.stream) and loaded tracks (check_session) give the same findings.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from model.audio.findings import Finding
from model.audio.decode import abs_peak_per_frame, linear_to_db
from model.errors import RoleError
from model.audio.decode import AudioInfo
from model.audio.tracks import Gains, Track, TrackSet

SILENT_PEAK_DB = -90.0
NORMALISED_TOLERANCE_DB = 0.1
NORMALISED_MIN_TRACKS = 3
MISALIGN_MS = 20.0
LENGTH_TOLERANCE_S = 0.010
CLIP_LEVEL = 0.999
CLIP_RUN = 3
DC_LIMIT = 0.001
FAKE_STEREO_LIMIT = 1e-6
_ENV_RATE = 1000  # onset envelope rate for alignment (1 ms)
_ALIGN_SECONDS = 30.0
_MAX_LAG_MS = 250.0


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

    def add(self, block: np.ndarray) -> None:
        """The next (frames, channels) float32 block of the file (padding included)."""
        n = len(block)
        if n == 0:
            return
        mag = abs_peak_per_frame(block)
        block_peak = float(mag.max())
        self.peak = max(self.peak, block_peak)
        # Column by column: numpy's axis-0 reduction of a (frames, 2) array is ~15x slower.
        sums = np.array([block[:, c].sum(dtype=np.float64) for c in range(block.shape[1])])
        self.channel_sums = sums if self.channel_sums is None else self.channel_sums + sums
        if block.shape[1] == 2 and self.stereo_diff < FAKE_STEREO_LIMIT:
            self.stereo_diff = max(self.stereo_diff, float(np.abs(block[:, 0] - block[:, 1]).max()))
        if block_peak >= CLIP_LEVEL or self._hot_tail.any():
            self._clips(mag)
        else:  # nothing near full scale: no run can start or continue here
            self._hot_tail = np.zeros(CLIP_RUN - 1, dtype=np.int8)
            self._in_run = False
        if self.frames < self._env_frames:
            self._envelope(mag[: self._env_frames - self.frames])
        self.frames += n

    def _clips(self, mag: np.ndarray) -> None:
        if self.info.is_float and mag.max() > 1.0:
            above = np.flatnonzero(mag > 1.0)
            if above.size and self.first_over < 0:
                self.first_over = self.frames + int(above[0])
            self.over += int(above.size)
        hot = np.concatenate([self._hot_tail, (mag >= CLIP_LEVEL).astype(np.int8)])
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


def track_stats(t: Track, sample_rate: int) -> FileStats:
    """FileStats of a loaded track (its whole audio as one block)."""
    stats = FileStats(t.id, t.name, t.role.role, t.info, sample_rate)
    stats.add(t.audio)
    return stats


def _names(tracks: Sequence[FileStats]) -> str:
    return ", ".join(t.name for t in tracks)


def check_session(tracks: TrackSet, anchor: str | None = None, gains: Gains | None = None) -> list[Finding]:
    """Run every check on loaded tracks; raises RoleError when the anchor role has no audible (non-silent) track."""
    g = gains or Gains()
    audible = {t.id for t in tracks.tracks if g.audible(t)}
    return check_files([track_stats(t, tracks.sample_rate) for t in tracks.tracks], tracks.sample_rate,
                       anchor, audible)


def check_files(files: Sequence[FileStats], sample_rate: int, anchor: str | None = None,
                audible: set[str] | None = None) -> list[Finding]:
    """Run every check on per-file statistics; ``audible`` (default: all) are the ids not muted."""
    findings: list[Finding] = []
    peaks = {t.id: t.peak_db for t in files}
    silent = [t for t in files if peaks[t.id] < SILENT_PEAK_DB]
    if silent:
        findings.append(Finding("silent_file", "warning", f"Silent file(s), left out of the sums: {_names(silent)}.",
                                tuple(t.id for t in silent)))
    if anchor is not None:
        ok = [t for t in files if t.role == anchor and (audible is None or t.id in audible)
              and peaks[t.id] >= SILENT_PEAK_DB]
        if not ok:
            raise RoleError(f"The anchor role '{anchor}' has no audible track (all its files are silent or muted).")
    findings += _normalised(files, peaks)
    findings += _rates_and_lengths(files, sample_rate)
    for t in files:
        if peaks[t.id] >= SILENT_PEAK_DB:
            findings += _clipping(t) + _dc_offset(t) + _fake_stereo(t)
    findings += _misaligned(files, peaks)
    return findings


def _normalised(tracks: Sequence[FileStats], peaks: dict[str, float]) -> list[Finding]:
    """>= 3 tracks whose sample peaks sit within 0.1 dB of each other or of 0 dBFS: normalised on export."""
    audible = sorted(((p, t) for t in tracks if math.isfinite(p := peaks[t.id]) and p > SILENT_PEAK_DB),
                     key=lambda pt: pt[0])
    best: list[FileStats] = [t for p, t in audible if p >= -NORMALISED_TOLERANCE_DB]
    for i in range(len(audible)):
        group = [t for p, t in audible[i:] if p - audible[i][0] <= NORMALISED_TOLERANCE_DB]
        if len(group) > len(best):
            best = group
    if len(best) >= NORMALISED_MIN_TRACKS:
        return [Finding("normalised_on_export", "warning",
                        f"{len(best)} files peak at the same level ({peaks[best[0].id]:.1f} dBFS): they look normalised "
                        f"on export, which destroys the balance being judged. Re-export with normalisation off: "
                        f"{_names(best)}.", tuple(t.id for t in best))]
    return []


def _rates_and_lengths(tracks: Sequence[FileStats], sample_rate: int) -> list[Finding]:
    out = []
    rates = {t.info.sample_rate for t in tracks}
    if len(rates) > 1:
        odd = [t for t in tracks if t.info.sample_rate != sample_rate]
        out.append(Finding("rate_mismatch", "warning",
                           f"Sample rates differ ({', '.join(f'{r} Hz' for r in sorted(rates))}); resampled to "
                           f"{sample_rate} Hz: {_names(odd)}.", tuple(t.id for t in odd)))
    lengths = {t.id: t.info.duration_s for t in tracks}
    longest = max(lengths.values(), default=0.0)
    short = [t for t in tracks if longest - lengths[t.id] > LENGTH_TOLERANCE_S]
    if short:
        out.append(Finding("length_mismatch", "warning",
                           f"Files have different lengths (longest {longest:.2f} s); shorter ones were padded with "
                           f"silence at the end: {_names(short)}. DAW exports should all start at bar 1 and share one length.",
                           tuple(t.id for t in short)))
    return out


def _clipping(t: FileStats) -> list[Finding]:
    if not t.clip_runs and not t.over:
        return []
    first = t.first_run if t.clip_runs else t.first_over
    what = (f"{t.clip_runs} clipped run(s) of {CLIP_RUN}+ full-scale samples" if t.clip_runs
            else f"{t.over} samples above full scale")
    return [Finding("clipping", "warning", f"{t.name}: {what}, first at {first / t.sample_rate:.2f} s.", (t.id,))]


def _dc_offset(t: FileStats) -> list[Finding]:
    worst = float(np.abs(t.channel_sums).max()) / max(1, t.frames) if t.channel_sums is not None else 0.0
    if worst > DC_LIMIT:
        return [Finding("dc_offset", "info", f"{t.name}: DC offset of {worst:.4f} (high-pass it before mixing).", (t.id,))]
    return []


def _fake_stereo(t: FileStats) -> list[Finding]:
    if t.channel_sums is not None and len(t.channel_sums) == 2 and t.stereo_diff < FAKE_STEREO_LIMIT:
        return [Finding("fake_stereo", "info", f"{t.name}: both channels are identical (mono saved as stereo).", (t.id,))]
    return []


def _misaligned(tracks: Sequence[FileStats], peaks: dict[str, float]) -> list[Finding]:
    """A track whose onsets line up best with the others at a lag > 20 ms is probably shifted."""
    active = [t for t in tracks if peaks[t.id] >= SILENT_PEAK_DB]
    if len(active) < 2:
        return []
    envs = {t.id: t.onset_envelope() for t in active}
    total = np.sum([e for e in envs.values()], axis=0)
    max_lag = int(_MAX_LAG_MS * _ENV_RATE / 1000)
    out = []
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
        if abs(lag_ms) > MISALIGN_MS and values[best] > 1.5 * max(zero, 0.0) and values[best] / norm > 0.2:
            direction = "late" if lag_ms < 0 else "early"
            out.append(Finding("misaligned_start", "warning",
                               f"{t.name}: starts about {abs(lag_ms):.0f} ms {direction} against the other files; "
                               "export every file from bar 1.", (t.id,)))
    return out
