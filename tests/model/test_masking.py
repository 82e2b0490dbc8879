"""Masking between two signals: injected band boosts are found where they are, cuts are not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.audio.masking import band_importance, masked_regions, masking_depth, masking_map
from model.audio.spectral import signal_band_frames, third_octave_bands

SR = 44100
SECONDS = 40.0
STRETCH = (12.0, 27.0)
BAND_HZ = (1000.0, 4000.0)


def sung_vowel(seconds: float = SECONDS) -> np.ndarray:
    """A bright held vowel at 440 Hz with 5.5 Hz vibrato, its formants (1.2, 2.4, 3.3 kHz) in 1 to 4 kHz."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = 440.0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    out = np.zeros_like(t)
    for k in range(1, 21):
        fk = k * 440.0
        formants = sum(1.0 / (1.0 + ((fk - fc) / bw) ** 2) for fc, bw in ((1200, 200), (2400, 250), (3300, 300)))
        out += (0.03 + formants) * np.sin(k * phase)
    return out


def pad_under(voice: np.ndarray, under_db: float, seed: int = 0) -> np.ndarray:
    """A held noise pad whose third-octave spectrum sits ``under_db`` under the voice's in every band."""
    bands = third_octave_bands(SR)
    f = np.fft.rfftfreq(len(voice), 1 / SR)
    voice_power = np.abs(np.fft.rfft(voice)) ** 2
    noise = np.fft.rfft(np.random.default_rng(seed).standard_normal(len(voice)))
    shape = np.zeros_like(f)
    for lo, hi in zip(bands.low_hz, bands.high_hz):
        inside = (f >= lo) & (f < hi)
        if inside.any():
            shape[inside] = np.sqrt(voice_power[inside].mean() / (np.abs(noise[inside]) ** 2).mean())
    return np.fft.irfft(noise * shape * 10 ** (-under_db / 20), len(voice))


def band_gain(x: np.ndarray, band_hz: tuple[float, float], gain_db: float, stretch: tuple[float, float]) -> np.ndarray:
    """x with ``gain_db`` applied to ``band_hz`` during ``stretch`` (10 ms ramps)."""
    spectrum = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / SR)
    changed = np.fft.irfft(spectrum * np.where((f >= band_hz[0]) & (f < band_hz[1]), 10 ** (gain_db / 20), 1.0), len(x))
    env = np.zeros(len(x))
    env[int(stretch[0] * SR):int(stretch[1] * SR)] = 1.0
    ramp = int(0.01 * SR)
    env = np.convolve(env, np.ones(ramp) / ramp, mode="same")
    return x + (changed - x) * env


@pytest.fixture(scope="module")
def voice_and_pad():
    voice = sung_vowel().astype(np.float32)
    return voice, pad_under(voice, 4.0)  # 4 dB under the voice everywhere: audible, not covering it


def regions_for(voice, p):
    frames = signal_band_frames({"pad": p.astype(np.float32), "voice": voice}, SR)
    depth = masking_depth(frames.power["pad"], frames.power["voice"], frames.bands)
    return frames, masked_regions(depth, band_importance(frames.power["voice"], frames.bands, frames.hop_s), frames.hop_s)


def band_index(bands, hz: float) -> int:
    return int(np.flatnonzero((bands.low_hz <= hz) & (hz < bands.high_hz))[0])


def test_a_pad_boosted_over_the_voice_band_is_found_in_that_band_and_stretch(voice_and_pad):
    voice, p = voice_and_pad
    frames, regions = regions_for(voice, band_gain(p, BAND_HZ, 12.0, STRETCH))
    assert regions, "a pad boosted 12 dB over the voice's 1-4 kHz was not reported"
    r = regions[0]
    bands, hop = frames.bands, frames.hop_s
    assert abs(r.low_band - band_index(bands, BAND_HZ[0])) <= 1, bands.centres_hz[r.low_band]
    assert abs(r.high_band - band_index(bands, BAND_HZ[1] * 0.999)) <= 1, bands.centres_hz[r.high_band]
    start_s, end_s = frames.times_s[r.start], frames.times_s[r.end - 1]
    assert abs(start_s - STRETCH[0]) <= hop and abs(end_s - STRETCH[1]) <= hop, (start_s, end_s)
    assert r.depth_db >= 3.0


def test_the_same_pad_cut_or_untouched_is_not_reported(voice_and_pad):
    voice, p = voice_and_pad
    for gain_db in (-12.0, 0.0):
        _, regions = regions_for(voice, band_gain(p, BAND_HZ, gain_db, STRETCH))
        assert regions == [], (gain_db, regions)


def test_masking_map_marks_the_boosted_cells(voice_and_pad):
    voice, p = voice_and_pad
    times, centres, depth = masking_map(band_gain(p, BAND_HZ, 12.0, STRETCH).astype(np.float32), voice, SR)
    assert depth.shape == (len(times), len(centres))
    inside = (times > STRETCH[0] + 1) & (times < STRETCH[1] - 1)
    band = (centres > BAND_HZ[0] * 1.2) & (centres < BAND_HZ[1] / 1.2)
    assert np.nanmedian(depth[inside][:, band]) > np.nanmedian(depth[~inside][:, band]) + 10


def test_wording_names_bands_by_their_nominal_centres_and_moves_the_right_side():
    from model.advice.masking import suggestion
    from model.advice.wording import Party, band_phrase, hz
    from model.audio.findings import clock

    assert band_phrase(1000.0, 3999.9) == "between 1 and 4 kHz"
    assert band_phrase(396.9, 1587.4) == "between 400 Hz and 1.6 kHz" and band_phrase(62.5, 62.5) == "around 63 Hz"
    assert hz(3174.8) == "3.17 kHz" and hz(3150.0) == "3.15 kHz" and clock(70.4) == "1:10"
    keys, vocals = Party("keys", "the keys", True), Party.role("vocals", anchor=True)
    assert suggestion(keys, vocals, 6.0, 2500.0) == "Cut the keys 3–6 dB around 2.5 kHz there, or pan them away from the vocals."
    assert "duck them under the vocals (sidechain)" in suggestion(keys, vocals, 20.0, 125.0)
    assert suggestion(keys, vocals, 20.0, 125.0).startswith("Cut the keys 6–12 dB")
    assert suggestion(vocals, keys, 8.0, 1000.0).startswith("If the keys should come through there, lift them 4–8 dB")
    assert Party.track("t", "07 keys pad.wav").subject == "“07 keys pad”"


def test_a_finding_does_not_change_with_where_the_span_around_it_starts(voice_and_pad):
    """The same stretch inside two spans is the same finding: frames lie on the song's grid, and a band's weight and
    whether the maskee plays in it are judged where it plays, not by what the span holds elsewhere.

    For its first 8 s the voice is a loud 110 Hz tone (its long-term
    spectrum over a span holding that part differs), and the second span starts 7.3 s in, off the frames' hop."""
    voice, p = voice_and_pad
    t = np.arange(len(voice)) / SR
    low = np.where(t < 8.0, 3.0 * np.sin(2 * np.pi * 110.0 * t), 0.0)
    singer = (np.where(t < 8.0, 0.0, voice) + low).astype(np.float32)
    pad = band_gain(p, BAND_HZ, 12.0, STRETCH).astype(np.float32)
    found = []
    for span in ((0.0, SECONDS), (7.3, SECONDS)):
        frames = signal_band_frames({"pad": pad, "voice": singer}, SR, span)
        depth = masking_depth(frames.power["pad"], frames.power["voice"], frames.bands)
        regions = masked_regions(depth, band_importance(frames.power["voice"], frames.bands, frames.hop_s),
                                 frames.hop_s)
        assert regions, span
        r = regions[0]
        found.append((round(frames.times_s[r.start], 3), round(frames.times_s[r.end - 1], 3), r.low_band,
                      r.high_band, round(r.depth_db, 1)))
    assert found[0] == found[1]


LITHIUM = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "evr" / "Lithium"


@pytest.mark.skipif(not LITHIUM.is_dir(), reason="../shared/realdata (real music) is absent")
def test_on_real_music_two_spans_around_the_same_stretches_find_the_same_masking():
    """Lithium (38 stems) with its drums 9 dB up: 1:30-2:30 and 1:40-2:30 both hold 1:52-2:10. Judged by the
    span's long-term spectra, the other instruments covered the vocals at 1.4-2.8 kHz in one and at 140-350 Hz in
    the other (the vocals' near-empty low bands counted as playing in the shorter span)."""
    from model.advice.masking import role_masking
    from model.audio.spectral import BandFrameStream
    from model.audio.stream import analyse_session
    from model.audio.tracks import Gains, plan_session

    plan = plan_session([LITHIUM])
    found = []
    for span in ((90.0, 150.0), (100.0, 150.0)):
        stream = BandFrameStream.over(plan.sample_rate, plan.frames, span)
        analyse_session(plan, span=span, gains=Gains(role_db={"drums": 9.0}), per_track=False,
                        on_role_sums=stream.add)
        found.append({(f.masker, f.maskee, round(f.start_s, 2), round(f.end_s, 2), f.low_hz, f.high_hz,
                       round(f.depth_db, 1)) for f in role_masking(stream.finish(), "vocals", limit=None)})
    assert found[0] and found[0] == found[1]
