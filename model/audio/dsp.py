"""Loudness and true peak (ITU-R BS.1770 via pyebur128 = libebur128) and resampling (soxr)."""

from __future__ import annotations

import math

import numpy as np
import pyebur128 as _ebu
import soxr

from model.audio.decode import abs_peak_per_frame, linear_to_db

_M = _ebu.MeasurementMode
NEG_INF = float("-inf")
#: The longest stretch (s) handed to libebur128 in one call: it holds the interpreter lock while it runs, and
#: the audio callback must not wait long for it (0.1 s of stereo is about 0.1-0.3 ms; results are the same).
EBUR128_CALL_S = 0.1


def _interleaved(audio: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(frames,) or (frames, channels) float32 -> contiguous interleaved buffer, frames, channels."""
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    a = np.ascontiguousarray(a)
    return a.reshape(-1), a.shape[0], a.shape[1]


class Meter:
    """A streaming BS.1770 meter for one signal: integrated loudness, sample and true peak."""

    def __init__(self, channels: int, sample_rate: int, true_peak: bool = False, dual_mono: bool = False) -> None:
        mode = _M.MODE_I | _M.MODE_SAMPLE_PEAK
        if true_peak:
            mode |= _M.MODE_TRUE_PEAK
        self.channels = channels
        self._state = _ebu.R128State(channels, int(sample_rate), mode)
        self._call_frames = max(1, int(EBUR128_CALL_S * sample_rate))
        if dual_mono and channels == 1:
            # A mono track played on both speakers: BS.1770 counts it twice (+3 LU).
            self._state.set_channel(0, _ebu.ChannelType.DUAL_MONO)
        self._frames = 0

    def add(self, block: np.ndarray) -> None:
        buf, frames, channels = _interleaved(block)
        if channels != self.channels:
            raise ValueError(f"meter expects {self.channels} channels, got {channels}")
        for a in range(0, frames, self._call_frames):   # short calls (EBUR128_CALL_S)
            n = min(self._call_frames, frames - a)
            self._state.add_frames(buf[a * channels:(a + n) * channels], n)
        self._frames += frames

    def loudness(self) -> float:
        """Integrated loudness in LUFS (-inf for silence or no audio)."""
        if self._frames == 0:
            return NEG_INF
        value = _ebu.get_loudness_global(self._state)
        return value if math.isfinite(value) else NEG_INF

    def true_peak_db(self) -> float:
        """True peak (dBTP) over everything added; the meter must be built with ``true_peak=True``."""
        return linear_to_db(max(_ebu.get_true_peak(self._state, c) for c in range(self.channels)))


def combined_loudness(meters: list[Meter]) -> float:
    """Integrated loudness over several meters' blocks together (libebur128's global_multiple)."""
    states = [m._state for m in meters if m._frames]
    if not states:
        return NEG_INF
    value = _ebu.get_loudness_global_multiple(states)
    return value if math.isfinite(value) else NEG_INF


def loudness_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """BS.1770 integrated loudness of (frames,) or (frames, channels) audio, in LUFS."""
    a = np.asarray(audio)
    meter = Meter(1 if a.ndim == 1 else a.shape[1], sample_rate)
    meter.add(a)
    return meter.loudness()


def true_peak_db_full(audio: np.ndarray, sample_rate: int) -> float:
    """BS.1770 true peak (libebur128's oversampling interpolator over every sample) in dBTP."""
    a = np.asarray(audio)
    meter = Meter(1 if a.ndim == 1 else a.shape[1], sample_rate, true_peak=True)
    meter.add(a)
    return meter.true_peak_db()


# libebur128's interpolator can raise a sample by at most this factor: the largest
# reading over every +-1 pattern of its per-phase support is 1.864 (5.41 dB), measured
# exhaustively; 2.0 leaves a margin.
_INTERPOLATOR_GAIN_BOUND = 2.0
_TP_BLOCK = 2048
TRUE_PEAK_CONTEXT = 64  # frames of context for the interpolator (more than its 49 taps)


def true_peak_db(audio: np.ndarray, sample_rate: int) -> float:
    """BS.1770 true peak in dBTP, measured by libebur128 only where it can matter.

    Inter-sample peaks cannot exceed the interpolator's gain bound times the local
    sample peak, so blocks whose neighbourhood peaks below (global sample peak /
    bound) cannot raise the result; only the other blocks go through libebur128.
    The reading equals ``true_peak_db_full`` (tested) at a fraction of the cost.
    """
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    n = a.shape[0]
    if n == 0:
        return NEG_INF
    nb = -(-n // _TP_BLOCK)
    mag = abs_peak_per_frame(a)
    padded = np.zeros(nb * _TP_BLOCK, dtype=np.float32)
    padded[:n] = mag
    block_peak = padded.reshape(nb, _TP_BLOCK).max(axis=1)
    peak = float(block_peak.max())
    if peak <= 0:
        return NEG_INF
    local = block_peak.copy()
    local[1:] = np.maximum(local[1:], block_peak[:-1])
    local[:-1] = np.maximum(local[:-1], block_peak[1:])
    candidate = local * _INTERPOLATOR_GAIN_BOUND >= peak
    best = peak
    idx = np.flatnonzero(candidate)
    if idx.size:
        # Merge consecutive candidate blocks into runs.
        breaks = np.flatnonzero(np.diff(idx) > 1)
        starts = np.concatenate([[idx[0]], idx[breaks + 1]])
        ends = np.concatenate([idx[breaks], [idx[-1]]]) + 1
        for b0, b1 in zip(starts, ends):
            lo = max(0, b0 * _TP_BLOCK - TRUE_PEAK_CONTEXT)
            hi = min(n, b1 * _TP_BLOCK + TRUE_PEAK_CONTEXT)
            meter = Meter(a.shape[1], sample_rate, true_peak=True)
            meter.add(a[lo:hi])
            tp = meter.true_peak_db()
            if math.isfinite(tp):
                best = max(best, 10 ** (tp / 20))
    return linear_to_db(best)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample (frames,) or (frames, channels) float32 with soxr (very high quality) to ceil(frames * ratio) frames."""
    a = np.asarray(audio, dtype=np.float32)
    if from_rate == to_rate:
        return a
    out = soxr.resample(np.ascontiguousarray(a), int(from_rate), int(to_rate), quality="VHQ")
    want = -(-len(a) * int(to_rate) // int(from_rate))  # the length torchaudio gave (training caches rely on it)
    if len(out) < want:  # soxr rounds its length down
        out = np.concatenate([out, np.zeros((want - len(out),) + out.shape[1:], dtype=np.float32)])
    return out[:want]


class StreamResampler:
    """soxr resampling of consecutive blocks of one signal; pass ``last=True`` with the final block to flush."""

    def __init__(self, from_rate: int, to_rate: int, channels: int) -> None:
        self._stream = soxr.ResampleStream(int(from_rate), int(to_rate), channels, dtype="float32", quality="VHQ")

    def __call__(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        return self._stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32), last=last)


# --- integrated loudness from gating-block energies ---------------------------------

_ABSOLUTE_GATE_ENERGY = 10.0 ** ((-70.0 + 0.691) / 10.0)
_RELATIVE_GATE = 0.1  # -10 LU


def segment_frames(sample_rate: int) -> int:
    """Frames per 100 ms step of the gating blocks, rounded as libebur128 does."""
    return (int(sample_rate) + 5) // 10


def block_energies(audio: np.ndarray, sample_rate: int, dual_mono: bool = False) -> np.ndarray:
    """Mean-square K-weighted energy of every 400 ms gating block (one per 100 ms) of a fresh libebur128 meter.

    Integrated loudness over any set of such runs is ``gated_loudness`` of their
    blocks together, exactly what libebur128's global_multiple gives for their meters.
    Where 100 ms is a whole number of frames (every usual rate), each 100 ms step's energy
    is read once and a block is the mean of four steps: libebur128's momentary reading sums
    all 400 ms again at every step, which costs about a quarter of the metering.
    Stereo with identical channels (mono exported as stereo: most stems of a real export)
    is metered as one dual-mono channel, which libebur128 weighs twice: the same energies,
    bit for bit, at half the cost.
    """
    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 2 and a.shape[1] == 2 and _same_channels(a):
        a, dual_mono = a[:, :1], True
    buf, frames, channels = _interleaved(a)
    step = segment_frames(sample_rate)
    if frames < 4 * step or not buf.any():
        return np.zeros(max(0, frames // step - 3))
    state = _ebu.R128State(channels, int(sample_rate), _M.MODE_M)
    if dual_mono and channels == 1:
        state.set_channel(0, _ebu.ChannelType.DUAL_MONO)
    if step == int(sample_rate) * 100 // 1000:  # libebur128's 100 ms window is exactly one step
        out = np.empty(frames // step)
        for i in range(len(out)):
            at = i * step * channels
            state.add_frames(buf[at:at + step * channels], step)
            out[i] = _ebu.get_loudness_window(state, 100)
        steps = _energies(out)
        return (steps[:-3] + steps[1:-2] + steps[2:-1] + steps[3:]) / 4.0
    out = np.empty(frames // step - 3)
    for i in range(4):   # one 100 ms step a call (EBUR128_CALL_S)
        state.add_frames(buf[i * step * channels:(i + 1) * step * channels], step)
    out[0] = _ebu.get_loudness_momentary(state)
    for i in range(1, len(out)):
        at = (3 + i) * step * channels
        state.add_frames(buf[at:at + step * channels], step)
        out[i] = _ebu.get_loudness_momentary(state)
    return _energies(out)


def _same_channels(stereo: np.ndarray) -> bool:
    head = stereo[:256]
    return bool(np.array_equal(head[:, 0], head[:, 1]) and np.array_equal(stereo[:, 0], stereo[:, 1]))


def _energies(lufs: np.ndarray) -> np.ndarray:
    """libebur128's loudness readings back to mean-square energies (silence: 0)."""
    with np.errstate(over="ignore"):
        return np.where(np.isfinite(lufs), 10.0 ** ((lufs + 0.691) / 10.0), 0.0)


def gated_loudness(blocks: np.ndarray) -> float:
    """BS.1770 integrated loudness (LUFS) of gating-block energies: -70 LUFS absolute, -10 LU relative gate."""
    kept = blocks[blocks >= _ABSOLUTE_GATE_ENERGY]
    if kept.size == 0:
        return NEG_INF
    kept = kept[kept >= kept.mean() * _RELATIVE_GATE]
    return -0.691 + 10.0 * math.log10(kept.mean()) if kept.size else NEG_INF
