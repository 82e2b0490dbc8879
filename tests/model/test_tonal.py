"""Tonal balance: a role tilted in its low band is reported there; an untouched one is not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.advice.tonal import (TonalProfile, aligned, compare_tonal, fit_tonal_shapes, not_compared_text,
                                 role_shapes)
from model.audio.spectral import signal_band_frames, third_octave_bands

SR = 44100
SECONDS = 20.0
TILT_BELOW_HZ = 250.0


def shapes_of(stems: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    frames = signal_band_frames(stems, SR)
    return role_shapes(frames), frames.bands.centres_hz


def tilt_low(x: np.ndarray, db_per_octave: float, below_hz: float) -> np.ndarray:
    """x with db_per_octave more gain per octave down from ``below_hz`` (0 dB above it)."""
    spectrum = np.fft.rfft(x, axis=0)
    f = np.maximum(np.fft.rfftfreq(len(x), 1 / SR), 1.0)
    gain_db = np.where(f < below_hz, db_per_octave * np.log2(below_hz / f), 0.0)
    return np.fft.irfft(spectrum * (10 ** (gain_db / 20))[:, None], len(x), axis=0).astype(np.float32)


def broadband_role(seed: int, wobble_db: float = 1.5) -> np.ndarray:
    """Stereo pink noise (a pad or a room mic: something in every band) with a seeded gentle
    spectral wobble of +-``wobble_db`` per octave, so songs differ as real ones do."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * SR)
    f = np.maximum(np.fft.rfftfreq(n, 1 / SR), 10.0)
    octaves = np.log2(f / 10.0)
    wobble = np.interp(octaves, np.arange(12), rng.uniform(-wobble_db, wobble_db, 12))
    spectrum = np.fft.rfft(rng.standard_normal((n, 2)), axis=0) * (10 ** (wobble / 20) / np.sqrt(f))[:, None]
    x = np.fft.irfft(spectrum, n, axis=0)
    return (0.1 * x / np.sqrt(np.mean(x ** 2))).astype(np.float32)


@pytest.fixture(scope="module")
def profile():
    songs = [shapes_of({"other": broadband_role(seed)})[0] for seed in range(1, 7)]
    return TonalProfile("synthetic", fit_tonal_shapes(songs, third_octave_bands(SR).centres_hz))


def test_a_role_tilted_6_db_per_octave_below_250_hz_is_reported_in_that_band(profile):
    role = broadband_role(11)
    for tilt, word in ((6.0, "more"), (-6.0, "less")):
        shapes, bands_hz = shapes_of({"other": tilt_low(role, tilt, TILT_BELOW_HZ)})
        found = compare_tonal(shapes, bands_hz, profile)
        assert found, f"a {tilt:+g} dB/octave tilt below {TILT_BELOW_HZ:g} Hz was not reported"
        f = found[0]
        assert np.sign(f.deviation_db) == np.sign(tilt) and f" {word} below " in f.text, f.text
        assert f.high_hz <= TILT_BELOW_HZ * 2 ** (1 / 3), f  # within one band of the tilted range
        assert f.text.startswith("The other instruments carry") and f.text.endswith("than typical synthetic mixes.")


def test_an_untouched_role_is_not_reported(profile):
    shapes, bands_hz = shapes_of({"other": broadband_role(11)})
    assert compare_tonal(shapes, bands_hz, profile) == []


def test_fit_keeps_bands_two_songs_share_and_the_profile_round_trips(tmp_path):
    bands_hz = [100.0, 200.0, 400.0]
    songs = [{"bass": np.array([-5.0, -10.0, np.nan])}, {"bass": np.array([-7.0, -12.0, np.nan])},
             {"bass": np.array([-6.0, -11.0, -20.0]), "vocals": np.array([-30.0, -10.0, -5.0])}]
    roles = fit_tonal_shapes(songs, bands_hz)
    assert set(roles) == {"bass"}  # vocals come from one song only
    assert roles["bass"].bands_hz == (100.0, 200.0) and roles["bass"].median_db == (-6.0, -11.0)
    assert min(roles["bass"].spread_db) >= 3.0
    path = tmp_path / "p.tonal.json"
    path.write_text(json.dumps(TonalProfile("test", roles).to_dict()))
    assert TonalProfile.load(path).roles == roles
    assert list(aligned(np.array([1.0, 2.0]), [200.0, 400.0], bands_hz)[1:]) == [1.0, 2.0]


def test_a_role_is_compared_only_where_it_plays(profile):
    """Dither or a role under the activity gate has no shape to judge; one that plays in one window of four has."""
    from model.advice.spectrum import review_frames
    from model.audio.segments import FRAME_ACTIVE_DBFS

    def review(x: np.ndarray):
        return review_frames(signal_band_frames({"other": x}, SR), None, masking=False, tonal=profile)

    plain = broadband_role(11)   # -20 dBFS RMS
    tilted = tilt_low(plain, 6.0, TILT_BELOW_HZ)   # reported when it plays (first test)
    dither = np.random.default_rng(5).standard_normal(tilted.shape).astype(np.float32) * 10 ** (-90 / 20)
    for quiet in (dither, plain * 10 ** ((FRAME_ACTIVE_DBFS - 5 + 20) / 20)):
        r = review(quiet)
        assert r.tonal == () and r.tonal_not_compared == ("other",), r
    assert not_compared_text("other") == ("The other instruments barely play in the judged span, so they are not "
                                          "compared.")
    assert review(plain * 10 ** ((FRAME_ACTIVE_DBFS + 5 + 20) / 20)).tonal_not_compared == ()   # over the gate

    ten_s = int(10 * SR)
    r = review(np.concatenate([tilted[:ten_s], dither, dither[:ten_s]]))   # 40 s, playing in the first 10 s only
    assert r.tonal and r.tonal[0].deviation_db > 0 and r.tonal_not_compared == (), r


def test_findings_and_note_name_whose_shapes_they_compare_with(profile, tmp_path):
    """A shipped profile's name is a genre; a user's ('two') is named as a profile; pop-rock's fallback is said."""
    from resources import TONAL_PROFILE

    from model.advice.tonal import tonal_for_profile

    data = json.loads(TONAL_PROFILE.read_text(encoding="utf-8"))
    data.update(name="two", tonal=profile.to_dict()["tonal"])
    (tmp_path / "two.json").write_text(json.dumps(data))
    two, note = tonal_for_profile(tmp_path / "two.json")
    shapes, bands_hz = shapes_of({"other": tilt_low(broadband_role(11), 6.0, TILT_BELOW_HZ)})
    found = compare_tonal(shapes, bands_hz, two)
    assert found and all(f.text.endswith(" than the 'two' profile's mixes.") for f in found), found
    assert note == "the 'two' profile's tonal shapes"

    electronic, note = tonal_for_profile("pop-rock")
    assert electronic.genre == "electronic" and note == ("the electronic profile's tonal shapes "
                                                         "(the pop-rock profile has none of its own)")
    assert tonal_for_profile("electronic")[1] == "the electronic profile's tonal shapes"
    shapes, bands_hz = shapes_of({"other": tilt_low(broadband_role(11), 12.0, TILT_BELOW_HZ)})
    found = compare_tonal(shapes, bands_hz, electronic)
    assert found and all(f.text.endswith(" than typical electronic mixes.") for f in found), found
