"""Band levels per short frame: third-octave bands over a numpy STFT, streamed over a session.

Why third-octave bands (ISO 266, base-2 centres 1000 * 2**(k/3) Hz, 25 Hz to 16 kHz) rather than
ERB bands: above about 500 Hz a third of an octave is within a factor 1.4 of the ear's critical
bandwidth (ERB), so it is a fair stand-in for masking; it is the unit producers read on analysers
and graphic EQs, so a finding "between 1 and 4 kHz" maps straight onto an EQ move; and the same
bands serve the tonal-balance profiles, which are conventionally third-octave. Below 500 Hz the
bands are narrower than the ERB, which only makes the masking view finer than the ear there.

The STFT uses a Hann window of about 85 ms (the nearest power of two in samples: 4096 at 44.1 and
48 kHz), hopped by a whole window (93 ms at 44.1 kHz): overlapping frames would double the FFT work
(the largest cost here) for detail that the one-second smoothing of the masking stretches and the
long-term averages of the tonal shapes do not use. Each FFT bin's power is split over the bands
its width overlaps, so even the 25 Hz band (6 Hz wide, under one bin) gets its share. Levels are
mean-square per band in dBFS terms (a full-scale sine reads -3 dB in its band).

Left and right are kept apart: masking between a centred vocal and hard-panned keys depends on
which side the keys sit, so the masking map compares channel by channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

FRAME_S = 0.085
LOWEST_CENTRE_HZ = 25.0
HIGHEST_CENTRE_HZ = 16000.0
CHUNK_FRAMES = 256  # frames per streamed block: bounds the working memory to a few MB per signal
LEVEL_FLOOR_DB = -150.0


@dataclass(frozen=True, eq=False)
class Bands:
    """Third-octave bands: centre, lower and upper edge (Hz), one entry per band, low to high."""

    centres_hz: np.ndarray
    low_hz: np.ndarray
    high_hz: np.ndarray

    def __len__(self) -> int:
        return len(self.centres_hz)


def third_octave_bands(sample_rate: int) -> Bands:
    """The bands from 25 Hz up to 16 kHz whose upper edge lies below Nyquist."""
    k = np.arange(round(3 * math.log2(LOWEST_CENTRE_HZ / 1000)), round(3 * math.log2(HIGHEST_CENTRE_HZ / 1000)) + 1)
    centres = 1000.0 * 2.0 ** (k / 3.0)
    low, high = centres * 2.0 ** (-1 / 6), centres * 2.0 ** (1 / 6)
    keep = high < sample_rate / 2
    return Bands(centres[keep], low[keep], high[keep])


def frame_size(sample_rate: int) -> tuple[int, int]:
    """(FFT length, hop) in samples: the power of two nearest FRAME_S, hopped by a whole frame."""
    n_fft = 2 ** int(round(math.log2(FRAME_S * sample_rate)))
    return n_fft, n_fft


class BandSummer:
    """Sums rfft bin powers into bands, splitting each bin's width over the bands it overlaps.

    Equivalent to a (bins x bands) overlap matrix, computed as contiguous bin sums plus the two
    partial edge bins of each band: no BLAS call (a threaded matrix product on a busy machine
    costs more than the FFT).
    """

    def __init__(self, n_fft: int, sample_rate: int, bands: Bands) -> None:
        df = sample_rate / n_fft
        # Bin k covers [k - 1/2, k + 1/2) in bin units; shifted by 1/2 it covers [k, k + 1).
        lo, hi = bands.low_hz / df + 0.5, bands.high_hz / df + 0.5
        self.first, self.last = np.floor(lo).astype(np.intp), np.floor(hi).astype(np.intp)
        self.frac_lo = (lo - self.first).astype(np.float32)
        self.frac_hi = (hi - self.last).astype(np.float32)
        self.empty = self.first == self.last  # the band lies inside one bin

    def __call__(self, power: np.ndarray) -> np.ndarray:
        """(frames, bins) -> (frames, bands)."""
        whole = np.add.reduceat(power, self.first, axis=1)  # bins first[i] .. first[i+1]-1 (= last[i]-1)
        whole[:, self.empty] = 0.0
        whole[:, -1] = power[:, self.first[-1]:self.last[-1]].sum(axis=1)
        whole += self.frac_hi * power[:, self.last] - self.frac_lo * power[:, self.first]
        return np.maximum(whole, 0.0, out=whole)


def k_weighting_db(freqs_hz: np.ndarray) -> np.ndarray:
    """Power gain (dB) of the BS.1770 K-weighting pre-filter (shelf + RLB high-pass, 48 kHz design)."""
    z = np.exp(-2j * np.pi * np.asarray(freqs_hz, dtype=float) / 48000.0)

    def biquad(b, a):
        return (b[0] + b[1] * z + b[2] * z * z) / (a[0] + a[1] * z + a[2] * z * z)

    shelf = biquad((1.53512485958697, -2.69169618940638, 1.19839281085285), (1.0, -1.69065929318241, 0.73248077421585))
    highpass = biquad((1.0, -2.0, 1.0), (1.0, -1.99004745483398, 0.99007225036621))
    return 20.0 * np.log10(np.abs(shelf * highpass))


def power_db(power: np.ndarray) -> np.ndarray:
    """Linear band power -> dB, with silence at LEVEL_FLOOR_DB instead of -inf."""
    return 10.0 * np.log10(np.maximum(power, 10 ** (LEVEL_FLOOR_DB / 10)))


@dataclass(frozen=True, eq=False)
class BandFrames:
    """Band power per frame and channel for several named signals (roles or tracks).

    ``power[name]`` is float32 (frames, 2, bands), mean-square per band (left, right);
    frame ``i`` is centred at ``start_s + i * hop_s``.
    """

    bands: Bands
    sample_rate: int
    start_s: float
    hop_s: float
    power: Mapping[str, np.ndarray]

    @property
    def frames(self) -> int:
        return next(iter(self.power.values())).shape[0] if self.power else 0

    @property
    def times_s(self) -> np.ndarray:
        return self.start_s + np.arange(self.frames) * self.hop_s


def _frames_power(block: np.ndarray, window: np.ndarray, hop: int, to_bands: BandSummer) -> np.ndarray:
    """(samples,) block -> (frames, bands) mean-square band power of its hop-spaced windowed frames."""
    frames = np.lib.stride_tricks.sliding_window_view(block, len(window))[::hop] * window
    spec = np.fft.rfft(frames, axis=1)
    power = spec.real * spec.real
    power += spec.imag * spec.imag
    return to_bands(power)


class BandFrameStream:
    """Band power per frame of named signals fed piece by piece in time order: ``band_frames`` without the audio.

    The frames cover samples ``start`` to ``end`` (frame ``k`` is centred at ``start + k * hop``);
    samples outside them are silence. ``add`` takes the next consecutive piece of every signal
    (a name missing from a piece is silent there) and computes every frame the samples received
    complete; the tail of a frame not yet complete is carried to the next piece, so the frames
    equal one pass over the whole signals whatever the piece boundaries. Memory: one frame of
    carry per signal plus the band powers.
    """

    def __init__(self, sample_rate: int, start: int, end: int) -> None:
        self.sample_rate, self.start, self.end = sample_rate, start, max(start, end)
        self.n_fft, self.hop = frame_size(sample_rate)
        self.bands = third_octave_bands(sample_rate)
        self.n_frames = max(1, -(-(self.end - start) // self.hop))
        self._window = np.hanning(self.n_fft + 1)[:-1].astype(np.float32)
        self._to_bands = BandSummer(self.n_fft, sample_rate, self.bands)
        # Parseval: one-sided bins count twice (the bands never reach DC or Nyquist), over N * sum(w^2).
        self._scale = np.float32(2.0 / (self.n_fft * float(np.sum(self._window * self._window))))
        self._carry_from = start - self.n_fft // 2  # the sample the carried tails begin at (the next frame's first)
        self._received = start  # samples before this have been added (or lie before the span)
        self._done = 0  # frames computed
        self._carry: dict[str, np.ndarray] = {}
        self.power: dict[str, np.ndarray] = {}

    @classmethod
    def over(cls, sample_rate: int, length: int, span: tuple[float, float] | None = None) -> "BandFrameStream":
        """A stream over the span (seconds; default the whole ``length`` samples) of a song.

        Its frames lie on the song's grid (centres at multiples of the hop from the song's start),
        so a moment is measured by the same frame whichever span holds it: findings inside two
        overlapping spans agree instead of moving with the frames' phase.
        """
        hop = frame_size(sample_rate)[1]
        start = -(-int(round(span[0] * sample_rate)) // hop) * hop if span else 0
        end = min(length, int(round(span[1] * sample_rate))) if span else length
        return cls(sample_rate, start, end)

    def add(self, first: int, pieces: Mapping[str, np.ndarray]) -> None:
        """The signals' (frames, 1 | 2) float32 samples from sample ``first`` on (the piece after the last one)."""
        if self._received < first < self.end:
            raise ValueError(f"band frames: a piece at sample {first} leaves a gap after sample {self._received}")
        for name in pieces:
            if name not in self._carry:  # silent so far
                self._carry[name] = np.zeros((self._received - self._carry_from, 2), dtype=np.float32)
        length = max((len(p) for p in pieces.values()), default=0)
        a, b = max(first, self._received), min(first + length, self.end)
        if b <= a:
            return
        for name, carry in self._carry.items():
            joined = np.zeros((len(carry) + b - a, 2), dtype=np.float32)
            joined[: len(carry)] = carry
            piece = pieces.get(name)
            if piece is not None:
                seg = piece[a - first: b - first]
                joined[len(carry): len(carry) + len(seg)] = seg if seg.ndim == 2 else seg[:, None]
            self._carry[name] = joined
        self._received = b
        self._compute(self._received)

    def finish(self) -> BandFrames:
        """The band frames, the frames reaching past ``end`` seeing silence."""
        self._received = self.end
        last_needed = self.start + (self.n_frames - 1) * self.hop + self.n_fft // 2
        for name, carry in self._carry.items():
            missing = max(0, last_needed - self._carry_from - len(carry))
            self._carry[name] = np.concatenate([carry, np.zeros((missing, 2), dtype=np.float32)])
        self._compute(last_needed)
        return BandFrames(self.bands, self.sample_rate, self.start / self.sample_rate, self.hop / self.sample_rate,
                          {name: self._power_of(name) for name in self._carry})

    def _power_of(self, name: str) -> np.ndarray:
        power = self.power.get(name)
        if power is None:
            power = self.power[name] = np.zeros((self.n_frames, 2, len(self.bands)), dtype=np.float32)
        return power

    def _compute(self, available: int) -> None:
        """Every frame not yet computed whose samples lie before ``available``; keeps the rest as carry."""
        ready = min(self.n_frames, self._done + (available - self._carry_from - self.n_fft) // self.hop + 1)
        if ready <= self._done:
            return
        count = ready - self._done
        used = (count - 1) * self.hop + self.n_fft
        for name, carry in self._carry.items():
            block = carry[:used]
            left = _frames_power(block[:, 0], self._window, self.hop, self._to_bands) * self._scale
            power = self._power_of(name)
            power[self._done: ready, 0] = left
            power[self._done: ready, 1] = (left if np.array_equal(block[:, 0], block[:, 1]) else
                                           _frames_power(block[:, 1], self._window, self.hop, self._to_bands)
                                           * self._scale)
            self._carry[name] = carry[count * self.hop:].copy()
        self._carry_from += count * self.hop
        self._done = ready


def band_frames(sources: Mapping[str, Sequence[tuple[np.ndarray, float]]], sample_rate: int,
                span: tuple[float, float] | None = None) -> BandFrames:
    """Band power per frame of each named sum of signals, streamed in blocks of CHUNK_FRAMES frames.

    ``sources`` maps a name to (audio, linear gain) pairs summed into that signal; audio is
    (frames,) or (frames, 1 | 2) float32 at ``sample_rate`` (mono plays on both sides). Only the
    span (seconds; default the whole length) is analysed; frames reaching past it see silence.
    """
    length = max((len(a) for members in sources.values() for a, _ in members), default=0)
    stream = BandFrameStream.over(sample_rate, length, span)
    block = CHUNK_FRAMES * stream.hop
    for a in range(stream.start, stream.end, block):
        b = min(stream.end, a + block)
        sums = {}
        for name, members in sources.items():
            total = sums[name] = np.zeros((b - a, 2), dtype=np.float32)
            for audio, gain in members:
                seg = audio[a:b]
                if gain != 0.0 and len(seg):
                    total[: len(seg)] += (seg if seg.ndim == 2 else seg[:, None]) * np.float32(gain)
        stream.add(a, sums)
    stream.add(stream.end, {name: np.zeros((0, 2), dtype=np.float32) for name in sources})  # names of silent signals
    return stream.finish()


def signal_band_frames(signals: Mapping[str, np.ndarray], sample_rate: int,
                       span: tuple[float, float] | None = None) -> BandFrames:
    """Band power per frame of plain arrays: name -> (frames,) or (frames, channels) float32."""
    return band_frames({name: [(np.asarray(a, dtype=np.float32), 1.0)] for name, a in signals.items()},
                       sample_rate, span)


def role_band_frames(tracks, gains, span: tuple[float, float] | None = None) -> BandFrames:
    """Band power per frame of each role's audible tracks summed with their gains (a TrackSet, Gains)."""
    sources: dict[str, list[tuple[np.ndarray, float]]] = {}
    for t in tracks.tracks:
        if gains.audible(t):
            sources.setdefault(t.role.role, []).append((t.audio, gains.linear(t)))
    return band_frames(sources, tracks.sample_rate, span)


def tonal_shape(power: np.ndarray, bands: Bands) -> np.ndarray:
    """Long-term band levels (dB) relative to the signal's K-weighted level: its spectral shape.

    ``power`` is (frames, channels, bands). The reference is the band powers summed through the
    BS.1770 K-weighting curve, so a shape reads "this band against how loud the signal sounds"
    and a boosted sub band does not pull every other band down by its own weight.
    """
    mean = power.mean(axis=(0, 1), dtype=np.float64)
    weighted = float(np.sum(mean * 10 ** (k_weighting_db(bands.centres_hz) / 10)))
    if weighted <= 0:
        return np.full(len(bands), LEVEL_FLOOR_DB)
    return power_db(mean) - 10.0 * math.log10(weighted)
