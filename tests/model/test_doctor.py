"""Export doctor: each check on crafted files."""

import numpy as np
import pytest
import soundfile as sf

from model.audio.doctor import check_session
from model.errors import RoleError
from model.audio.tracks import load_tracks

SR = 44100


def hits(seconds=12.0, period=0.5, offset=0.0, seed=0, amp=0.5):
    """Decaying noise bursts every `period` seconds (onsets for the alignment check)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = np.zeros(n, np.float32)
    shot = (rng.standard_normal(int(0.1 * SR)) * np.exp(-np.arange(int(0.1 * SR)) / (0.02 * SR))).astype(np.float32)
    t = offset
    while t < seconds - 0.2:
        i = int(t * SR)
        x[i:i + len(shot)] += amp * shot / np.max(np.abs(shot))
        t += period * (1 + 0.3 * rng.random())  # irregular, so only lag 0 lines up
    return x


def session(tmp_path, files):
    for name, (audio, kw) in files.items():
        sf.write(tmp_path / name, audio, SR, **kw)
    return load_tracks([tmp_path]).tracks


def codes(findings):
    return {f.code for f in findings}


def test_clean_session_has_no_findings(tmp_path):
    t = session(tmp_path, {"Kick.wav": (hits(seed=1) * 0.7, {}), "Vox.wav": (hits(seed=1) * 0.3, {}),
                           "Bass.wav": (hits(seed=1) * 0.2, {})})
    assert codes(check_session(t, "vocals")) == set()


def test_normalised_exports_are_flagged(tmp_path):
    files = {}
    for i, name in enumerate(("Kick.wav", "Vox.wav", "Bass.wav")):
        x = hits(seed=1 + i)
        files[name] = (x / np.max(np.abs(x)), {})
    assert "normalised_on_export" in codes(check_session(session(tmp_path, files), "vocals"))


def test_clipping_dc_and_fake_stereo(tmp_path):
    x = hits(seed=2)
    clipped = np.clip(x * 4, -1, 1)
    stereo = np.stack([x, x], axis=1)
    t = session(tmp_path, {"Vox.wav": (clipped, {"subtype": "FLOAT"}), "Kick.wav": (x * 0.5 + 0.01, {}),
                           "Keys.wav": (stereo * 0.3, {})})
    found = check_session(t, "vocals")
    assert {"clipping", "dc_offset", "fake_stereo"} <= codes(found)
    clip = next(f for f in found if f.code == "clipping")
    assert "Vox.wav" in clip.message and " s." in clip.message


def test_rate_length_and_silent_files(tmp_path):
    sf.write(tmp_path / "Vox.wav", hits(seed=3), SR)
    sf.write(tmp_path / "Kick.wav", hits(seed=3)[: SR * 5], SR)
    sf.write(tmp_path / "Bass.wav", hits(seed=3, seconds=12.0)[::2], SR // 2)
    sf.write(tmp_path / "FX.wav", np.zeros(SR * 12, np.float32), SR)
    found = codes(check_session(load_tracks([tmp_path]).tracks, "vocals"))
    assert {"rate_mismatch", "length_mismatch", "silent_file"} <= found


def test_misaligned_start_is_found_and_named(tmp_path):
    base = hits(seed=4)
    late = np.concatenate([np.zeros(int(0.08 * SR), np.float32), base])[: len(base)]
    t = session(tmp_path, {"Vox.wav": (base * 0.4, {}), "Kick.wav": (base * 0.5, {}), "Bass.wav": (late * 0.3, {})})
    found = [f for f in check_session(t, "vocals") if f.code == "misaligned_start"]
    assert [f.track_ids for f in found] == [("Bass.wav",)]
    assert "80 ms late" in found[0].message


def test_demo_session_is_clean_apart_from_nothing(tmp_path):
    from resources import DEMO_DIR

    assert codes(check_session(load_tracks([DEMO_DIR]).tracks, "vocals")) == set()


def test_silent_anchor_is_an_error(tmp_path):
    t = session(tmp_path, {"Vox.wav": (np.zeros(SR * 2, np.float32), {}), "Kick.wav": (hits(2.0), {})})
    with pytest.raises(RoleError, match="anchor"):
        check_session(t, "vocals")
