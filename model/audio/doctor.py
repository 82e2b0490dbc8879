"""Export doctor: pre-flight checks on DAW exports, reported as findings with every critique."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from model.audio.findings import Finding
from model.audio.decode import abs_peak_per_frame, linear_to_db
from model.errors import RoleError
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


def _peak_db(audio: np.ndarray) -> float:
    return linear_to_db(float(max(audio.max(), -audio.min())) if audio.size else 0.0)


def _names(tracks: Sequence[Track]) -> str:
    return ", ".join(t.name for t in tracks)


def check_session(tracks: TrackSet, anchor: str | None = None, gains: Gains | None = None) -> list[Finding]:
    """Run every check; raises RoleError when the anchor role has no audible (non-silent) track."""
    findings: list[Finding] = []
    peaks = {t.id: _peak_db(t.audio) for t in tracks.tracks}
    silent = [t for t in tracks.tracks if peaks[t.id] < SILENT_PEAK_DB]
    if silent:
        findings.append(Finding("silent_file", "warning", f"Silent file(s), left out of the sums: {_names(silent)}.",
                                tuple(t.id for t in silent)))
    if anchor is not None:
        g = gains or Gains()
        audible = [t for t in tracks.tracks if t.role.role == anchor and g.audible(t) and peaks[t.id] >= SILENT_PEAK_DB]
        if not audible:
            raise RoleError(f"The anchor role '{anchor}' has no audible track (all its files are silent or muted).")
    findings += _normalised(tracks, peaks)
    findings += _rates_and_lengths(tracks)
    for t in tracks.tracks:
        if peaks[t.id] >= SILENT_PEAK_DB:
            findings += _clipping(t) + _dc_offset(t) + _fake_stereo(t)
    findings += _misaligned(tracks, peaks)
    return findings


def _normalised(tracks: TrackSet, peaks: dict[str, float]) -> list[Finding]:
    """>= 3 tracks whose sample peaks sit within 0.1 dB of each other or of 0 dBFS: normalised on export."""
    audible = sorted(((p, t) for t in tracks.tracks if math.isfinite(p := peaks[t.id]) and p > SILENT_PEAK_DB),
                     key=lambda pt: pt[0])
    best: list[Track] = [t for p, t in audible if p >= -NORMALISED_TOLERANCE_DB]
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


def _rates_and_lengths(tracks: TrackSet) -> list[Finding]:
    out = []
    rates = {t.info.sample_rate for t in tracks.tracks}
    if len(rates) > 1:
        odd = [t for t in tracks.tracks if t.info.sample_rate != tracks.sample_rate]
        out.append(Finding("rate_mismatch", "warning",
                           f"Sample rates differ ({', '.join(f'{r} Hz' for r in sorted(rates))}); resampled to "
                           f"{tracks.sample_rate} Hz: {_names(odd)}.", tuple(t.id for t in odd)))
    lengths = {t.id: t.info.duration_s for t in tracks.tracks}
    longest = max(lengths.values(), default=0.0)
    short = [t for t in tracks.tracks if longest - lengths[t.id] > LENGTH_TOLERANCE_S]
    if short:
        out.append(Finding("length_mismatch", "warning",
                           f"Files have different lengths (longest {longest:.2f} s); shorter ones were padded with "
                           f"silence at the end: {_names(short)}. DAW exports should all start at bar 1 and share one length.",
                           tuple(t.id for t in short)))
    return out


def _clipping(t: Track) -> list[Finding]:
    mag = abs_peak_per_frame(t.audio)
    over = int(np.sum(mag > 1.0)) if t.info.is_float else 0
    hot = mag >= CLIP_LEVEL
    if not hot.any():
        return []
    runs = np.convolve(hot.astype(np.int8), np.ones(CLIP_RUN, dtype=np.int8), mode="valid") >= CLIP_RUN
    # Count runs (rising edges), not samples.
    n_runs = int(np.sum(np.diff(runs.astype(np.int8), prepend=0) == 1))
    if not n_runs and not over:
        return []
    first = int(np.argmax(runs)) if n_runs else int(np.argmax(mag > 1.0))
    what = f"{n_runs} clipped run(s) of {CLIP_RUN}+ full-scale samples" if n_runs else f"{over} samples above full scale"
    return [Finding("clipping", "warning", f"{t.name}: {what}, first at {first / t.sample_rate:.2f} s.", (t.id,))]


def _dc_offset(t: Track) -> list[Finding]:
    worst = max(abs(float(np.sum(t.audio[:, c], dtype=np.float64))) / max(1, t.frames) for c in range(t.audio.shape[1]))
    if worst > DC_LIMIT:
        return [Finding("dc_offset", "info", f"{t.name}: DC offset of {worst:.4f} (high-pass it before mixing).", (t.id,))]
    return []


def _fake_stereo(t: Track) -> list[Finding]:
    if t.audio.shape[1] == 2 and float(np.abs(t.audio[:, 0] - t.audio[:, 1]).max()) < FAKE_STEREO_LIMIT:
        return [Finding("fake_stereo", "info", f"{t.name}: both channels are identical (mono saved as stereo).", (t.id,))]
    return []


def _onset_envelope(audio: np.ndarray, sr: int) -> np.ndarray:
    """Positive change of a 1 ms peak envelope over the first 30 s."""
    n = min(len(audio), int(_ALIGN_SECONDS * sr))
    hop = max(1, sr // _ENV_RATE)
    frames = n // hop
    if frames < 2:
        return np.zeros(0)
    env = abs_peak_per_frame(audio[: frames * hop]).reshape(frames, hop).max(axis=1)
    env = np.log1p(1000 * env)
    return np.maximum(np.diff(env, prepend=env[0]), 0.0)


def _misaligned(tracks: TrackSet, peaks: dict[str, float]) -> list[Finding]:
    """A track whose onsets line up best with the others at a lag > 20 ms is probably shifted."""
    active = [t for t in tracks.tracks if peaks[t.id] >= SILENT_PEAK_DB]
    if len(active) < 2:
        return []
    envs = {t.id: _onset_envelope(t.audio, tracks.sample_rate) for t in active}
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
