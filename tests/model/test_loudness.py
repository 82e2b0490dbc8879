"""BS.1770 properties through pyebur128, and torchaudio resampling."""

import numpy as np
import pytest

from model.audio.dsp import Meter, combined_loudness, loudness_lufs, resample, true_peak_db

SR = 48000


def sine(freq=997.0, seconds=10.0, amp=1.0, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_full_scale_997hz_mono_sine_reads_minus_3_01():
    assert loudness_lufs(sine(), SR) == pytest.approx(-3.01, abs=0.05)


def test_doubling_amplitude_adds_6_02_lu():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((SR * 10, 2))).astype(np.float32)
    assert loudness_lufs(2 * x, SR) - loudness_lufs(x, SR) == pytest.approx(6.02, abs=0.05)


def test_appended_silence_is_gated_out():
    x = sine(440, 10.0, 0.3)
    padded = np.concatenate([x, np.zeros(SR * 10, np.float32)])
    assert abs(loudness_lufs(padded, SR) - loudness_lufs(x, SR)) < 0.2


def test_measure_gain_measure_within_0_3_db():
    rng = np.random.default_rng(1)
    x = (0.05 * rng.standard_normal(SR * 5)).astype(np.float32)
    before = loudness_lufs(x, SR)
    after = loudness_lufs(x * np.float32(10 ** (-7.5 / 20)), SR)
    assert before - after == pytest.approx(7.5, abs=0.3)


def test_silence_is_minus_infinity():
    assert loudness_lufs(np.zeros(SR, np.float32), SR) == float("-inf")


def test_true_peak_sees_inter_sample_peaks():
    # A sine at fs/4 with a 45 degree phase never hits its peak on a sample.
    n = np.arange(SR)
    x = (0.5 * np.sin(np.pi / 2 * n + np.pi / 4)).astype(np.float32)
    sample_peak = 20 * np.log10(np.max(np.abs(x)))
    assert true_peak_db(x, SR) > sample_peak + 2.5
    assert true_peak_db(x, SR) == pytest.approx(20 * np.log10(0.5), abs=0.3)


def test_dual_mono_meter_counts_a_mono_track_on_both_speakers():
    x = sine(997, 5.0, 0.5)
    mono = Meter(1, SR)
    mono.add(x)
    dual = Meter(1, SR, dual_mono=True)
    dual.add(x)
    stereo = Meter(2, SR)
    stereo.add(np.stack([x, x], axis=1))
    assert dual.loudness() == pytest.approx(stereo.loudness(), abs=0.01)
    assert dual.loudness() - mono.loudness() == pytest.approx(3.01, abs=0.02)


def test_window_meters_combine_to_the_whole():
    rng = np.random.default_rng(2)
    x = (0.1 * rng.standard_normal((SR * 30, 2)) * np.repeat([1.0, 0.3, 0.6], SR * 10)[:, None]).astype(np.float32)
    meters = []
    for i in range(3):
        m = Meter(2, SR)
        m.add(x[i * SR * 10:(i + 1) * SR * 10])
        meters.append(m)
    assert combined_loudness(meters) == pytest.approx(loudness_lufs(x, SR), abs=0.1)


def test_resample_keeps_level_and_length():
    x = sine(1000, 1.0, 0.5, 44100)
    y = resample(x, 44100, 48000)
    assert len(y) == 48000
    assert loudness_lufs(y, 48000) == pytest.approx(loudness_lufs(x, 44100), abs=0.05)
    stereo = resample(np.stack([x, x], 1), 44100, 24000)
    assert stereo.shape == (24000, 2)


@pytest.mark.parametrize("seed", range(4))
def test_fast_true_peak_equals_the_full_measurement(seed):
    from model.audio.dsp import true_peak_db_full

    rng = np.random.default_rng(seed)
    n = SR * 6
    env = np.repeat(rng.uniform(0.01, 1.0, 60), n // 60)
    x = (rng.standard_normal((n, 2)) * env[:, None] * 0.3).astype(np.float32)
    hits = rng.integers(0, n - 100, 5)
    x[hits] = 0.9 * np.sign(rng.standard_normal((5, 2)))
    assert true_peak_db(x, SR) == pytest.approx(true_peak_db_full(x, SR), abs=1e-4)


@pytest.mark.parametrize("channels,sr", [(1, 44100), (2, 48000)])
def test_short_libebur128_calls_read_like_one_call(channels, sr):
    """Meter and block_energies feed libebur128 at most EBUR128_CALL_S at a time (the audio callback waits for
    each call): the readings equal one call over the whole signal."""
    import pyebur128 as ebu

    from model.audio.dsp import EBUR128_CALL_S, block_energies, gated_loudness

    rng = np.random.default_rng(channels)
    n = int(sr * 7.3) + 17
    x = (rng.standard_normal((n, channels)) * np.linspace(0.01, 0.5, n)[:, None]).astype(np.float32)
    one = ebu.R128State(channels, sr, ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_TRUE_PEAK)
    one.add_frames(np.ascontiguousarray(x).reshape(-1), n)
    meter = Meter(channels, sr, true_peak=True)
    meter.add(x)
    assert meter._call_frames == int(EBUR128_CALL_S * sr) < n
    assert meter.loudness() == ebu.get_loudness_global(one)
    assert meter.true_peak_db() == pytest.approx(
        20 * np.log10(max(ebu.get_true_peak(one, c) for c in range(channels))), abs=1e-9)
    assert gated_loudness(block_energies(x, sr)) == pytest.approx(ebu.get_loudness_global(one), abs=1e-6)


@pytest.mark.parametrize("sr", [48000, 44100, 11025])  # 11025 Hz: 100 ms is no whole frame count (the other path)
@pytest.mark.parametrize("channels", [1, 2, "identical 2"])  # identical channels are metered as dual mono
def test_gating_block_energies_are_libebur128_momentary_readings(sr, channels):
    """Every 400 ms block (100 ms hop) equals a fresh libebur128 meter's momentary loudness at that point."""
    import pyebur128 as ebu

    from model.audio.dsp import block_energies, segment_frames

    rng = np.random.default_rng(sr)
    frames = int(sr * 6.3)
    x = (0.2 * rng.standard_normal((frames, 2 if channels == 2 else 1))
         * np.linspace(0, 1, frames)[:, None] ** 3).astype(np.float32)
    if channels == "identical 2":
        x, channels = np.repeat(x, 2, axis=1), 2
    x[: sr // 2] = 0.0  # silent blocks read 0
    got = block_energies(x, sr, dual_mono=True)
    step = segment_frames(sr)
    assert len(got) == frames // step - 3
    state = ebu.R128State(channels, sr, ebu.MeasurementMode.MODE_M)
    if channels == 1:
        state.set_channel(0, ebu.ChannelType.DUAL_MONO)
    state.add_frames(np.ascontiguousarray(x[: 3 * step]).reshape(-1), 3 * step)
    for i, energy in enumerate(got):
        state.add_frames(np.ascontiguousarray(x[(3 + i) * step:(4 + i) * step]).reshape(-1), step)
        want = ebu.get_loudness_momentary(state)
        if np.isfinite(want):
            assert -0.691 + 10 * np.log10(energy) == pytest.approx(want, abs=1e-9), i
        else:
            assert energy == 0.0, i
