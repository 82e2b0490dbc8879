"""Export doctor: each check on crafted files."""

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model.audio.decode import AudioInfo
from model.audio.doctor import FileStats, check_files, check_session
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
    assert clip.message.startswith("Vox.wav: ") and re.search(r"first at \d+\.\d\d s", clip.message)


def test_a_float_file_over_full_scale_is_said_to_keep_its_peaks_not_to_flatten_them(tmp_path):
    """A float stem pushed over 0 dBFS keeps every sample (no two equal): it clips only once bounced to fixed point.
    Held at full scale (a limiter's ceiling at 0 dBFS), its peaks are flattened in the file."""
    x = hits(seed=2)
    t = session(tmp_path, {"Vox.wav": (x * 4, {"subtype": "FLOAT"}), "Kick.wav": (x * 0.5, {}),
                           "Pad.wav": (np.clip(x * 4, -1, 1), {"subtype": "FLOAT"})})
    found = {f.track_ids[0]: f.message for f in check_session(t, "vocals") if f.code == "clipping"}
    assert "samples above full scale" in found["Vox.wav"] and "flattened" not in found["Vox.wav"]
    assert "clipped run(s)" in found["Pad.wav"] and "flattened" in found["Pad.wav"]


def test_a_surround_file_folded_to_identical_halves_is_not_called_mono_saved_as_stereo(tmp_path):
    x = hits(seed=2)
    t = session(tmp_path, {"Vox.wav": (np.stack([x] * 6, axis=1) * 0.3, {}), "Kick.wav": (x * 0.5, {})})
    assert "fake_stereo" not in codes(check_session(t, "vocals"))


def test_a_surround_stem_whose_low_end_lives_in_its_lfe_is_warned_about(tmp_path):
    """The stereo fold leaves the LFE out (as a DAW's fold-down and BS.1770 do): a 5.1 bass whose sub sits in its
    LFE is judged without it, and the doctor says so with how loud it is; an LFE a tenth of the sound is not."""
    from model.audio.channels import lfe_level_db

    x = hits(seed=6)
    for name, lfe_gain in (("Bass 5.1.wav", 2.0), ("Drums 5.1.wav", 0.1 * np.sqrt(2))):
        surround = np.zeros((len(x), 6), np.float32)
        surround[:, 0] = surround[:, 1] = x * 0.3      # front pair
        surround[:, 3] = x * 0.3 * lfe_gain
        sf.write(tmp_path / name, surround, SR, subtype="FLOAT")
    sf.write(tmp_path / "Vox.wav", x * 0.4, SR)
    t = load_tracks([tmp_path]).tracks
    assert lfe_level_db(t.get("Bass 5.1.wav").info) == pytest.approx(3.01, abs=0.01)   # twice L and R together
    assert lfe_level_db(t.get("Drums 5.1.wav").info) == pytest.approx(-20.0, abs=0.01)
    assert lfe_level_db(t.get("Vox.wav").info) is None
    found = [f for f in check_session(t, "vocals") if f.code == "lfe_left_out"]
    assert [f.track_ids for f in found] == [("Bass 5.1.wav",)] and found[0].severity == "warning"
    assert "its LFE channel is +3.0 dB against what the stereo fold keeps of it; the fold leaves the LFE out" \
        in found[0].message
    from model.audio.stream import analyse_session
    from model.audio.tracks import plan_session

    streamed = analyse_session(plan_session([tmp_path]), anchor="vocals", processes=False).findings
    assert [f for f in streamed if f.code == "lfe_left_out"] == found   # the app's and the CLI's streamed read


def test_the_lfe_of_a_long_surround_file_is_measured_on_stretches_spread_over_it(tmp_path, monkeypatch):
    """The doctor asks every surround file: a long one is read on LFE_STRETCHES short stretches, not whole."""
    from model.audio import channels

    sr = 8000
    seconds = 4 * channels.LFE_STRETCHES * channels.LFE_STRETCH_S          # four times what the stretches read
    noise = np.random.default_rng(7).standard_normal((int(seconds * sr), 2)).astype(np.float32) * 0.1
    x = np.zeros((len(noise), 6), np.float32)
    x[:, 0], x[:, 1], x[:, 3] = noise[:, 0], noise[:, 1], noise[:, 0] * 0.5   # LFE 6 dB under each front side
    sf.write(tmp_path / "long 5.1.wav", x, sr, subtype="FLOAT")
    info = load_tracks([tmp_path]).tracks.tracks[0].info
    read, real_read = [], sf.SoundFile.read
    monkeypatch.setattr(sf.SoundFile, "read", lambda self, frames=-1, **kw: read.append(frames) or real_read(
        self, frames, **kw))
    assert channels.lfe_level_db(info) == pytest.approx(-9.03, abs=0.15)      # -6 dB against two sides: -9 dB
    assert read == [int(channels.LFE_STRETCH_S * sr)] * channels.LFE_STRETCHES


def test_rate_length_and_silent_files(tmp_path):
    sf.write(tmp_path / "Vox.wav", hits(seed=3), SR)
    sf.write(tmp_path / "Kick.wav", hits(seed=3)[: SR * 5], SR)
    sf.write(tmp_path / "Bass.wav", hits(seed=3, seconds=12.0)[::2], SR // 2)
    sf.write(tmp_path / "FX.wav", np.zeros(SR * 12, np.float32), SR)
    found = {f.code: f for f in check_session(load_tracks([tmp_path]).tracks, "vocals")}
    assert {"rate_mismatch", "length_mismatch", "silent_file"} <= set(found)
    rate = found["rate_mismatch"]
    assert rate.track_ids == ("Bass.wav",) and "; it carries nothing above 11.025 kHz" in rate.message
    assert "from its loudness" in rate.message and rate.message.endswith("Re-export it at 44.1 kHz.")
    assert found["length_mismatch"].severity == "info" and found["length_mismatch"].track_ids == ("Kick.wav",)


def test_misaligned_start_is_found_and_named(tmp_path):
    base = hits(seed=4)
    late = np.concatenate([np.zeros(int(0.08 * SR), np.float32), base])[: len(base)]
    t = session(tmp_path, {"Vox.wav": (base * 0.4, {}), "Kick.wav": (base * 0.5, {}), "Bass.wav": (late * 0.3, {})})
    found = [f for f in check_session(t, "vocals") if f.code == "misaligned_start"]
    assert [f.track_ids for f in found] == [("Bass.wav",)]
    assert "80 ms late" in found[0].message


def mp3_stripped_of_its_tag(path, audio):
    """Write ``audio`` as a constant-bitrate MP3, then drop its first frame (the Xing/Info tag, where LAME writes
    its delay), as an encoder that writes no tag leaves it. Skips where this libsndfile writes no MP3."""
    from model.audio.truncation import _mp3_header, _mp3_start, mp3_has_tag
    try:
        sf.write(path, audio, SR, format="MP3", bitrate_mode="CONSTANT", compression_level=0.5)
    except (sf.LibsndfileError, ValueError, TypeError) as exc:
        pytest.skip(f"this libsndfile writes no constant-bitrate MP3: {exc}")
    data = path.read_bytes()
    with open(path, "rb") as f:
        start = _mp3_start(f)
    assert mp3_has_tag(path)
    path.write_bytes(data[:start] + data[start + _mp3_header(data[start:start + 4])[0]:])
    assert mp3_has_tag(path) is False


@pytest.mark.parametrize("others", [("Vox.wav",), ("Vox.wav", "Kick.wav")])
def test_an_mp3_without_its_tag_is_said_to_start_its_encoders_delay_late(tmp_path, others):
    """The decoder cannot skip a delay no tag declares (25 ms from LAME at 44.1 kHz): that file is the late one,
    even where only one other file shares its onsets (which would read as early against it)."""
    base = hits(12.0, seed=8)
    mp3_stripped_of_its_tag(tmp_path / "Drums.mp3", base * 0.5)
    for name in others:
        sf.write(tmp_path / name, base * 0.4, SR)
    findings = check_session(load_tracks([tmp_path]).tracks, "vocals")
    found = [f for f in findings if f.code == "misaligned_start"]
    assert [f.track_ids for f in found] == [("Drums.mp3",)]
    assert "length_mismatch" not in codes(findings)   # the WAVs are not shorter: the MP3 runs its delay longer
    assert "25 ms late" in found[0].message and "encoder's delay" in found[0].message
    assert "bar 1" not in found[0].message   # exported from the same start: the tag is what is missing


def test_an_mp3_with_its_tag_lines_up(tmp_path):
    base = hits(12.0, seed=8)
    try:
        sf.write(tmp_path / "Drums.mp3", base * 0.5, SR, format="MP3")
    except (sf.LibsndfileError, ValueError) as exc:
        pytest.skip(f"this libsndfile writes no MP3: {exc}")
    sf.write(tmp_path / "Vox.wav", base * 0.4, SR)
    assert "misaligned_start" not in codes(check_session(load_tracks([tmp_path]).tracks, "vocals"))


def test_demo_session_is_clean_apart_from_nothing(tmp_path):
    from resources import DEMO_DIR

    assert codes(check_session(load_tracks([DEMO_DIR]).tracks, "vocals")) == set()


def test_silent_anchor_is_an_error(tmp_path):
    t = session(tmp_path, {"Vox.wav": (np.zeros(SR * 2, np.float32), {}), "Kick.wav": (hits(2.0), {})})
    with pytest.raises(RoleError, match="anchor"):
        check_session(t, "vocals")


# --- tolerances: what is normal in real exports stays quiet ---------------------------------------

def stats(files, session_rate=SR):
    """FileStats as the streamed analysis gathers them, without disk: ``files`` maps a name to
    (audio at the session rate, the file's own rate[, role]); every file is padded to the longest."""
    length = max(len(a) for a, *_ in files.values())
    out = []
    for name, (audio, rate, *role) in files.items():
        audio = np.asarray(audio, np.float32).reshape(len(audio), -1)
        info = AudioInfo(name, rate, audio.shape[1], round(len(audio) * rate / session_rate), "WAV", "PCM_24")
        st = FileStats(name, name, role[0] if role else "other", info, session_rate)
        st.add(np.concatenate([audio, np.zeros((length - len(audio), audio.shape[1]), np.float32)]))
        out.append(st)
    return out


def at_peak(x, peak_db):
    return x / np.max(np.abs(x)) * 10 ** (peak_db / 20)


def spread_session(peaks_db, seconds=2.0):
    """Files with the given sample peaks, all starting together."""
    return stats({f"Track {i:02d}.wav": (at_peak(hits(seconds, seed=i), p), SR) for i, p in enumerate(peaks_db)})


def test_peaks_agreeing_away_from_export_targets_are_not_normalised():
    """Lithium's -10.07/-9.97/-9.91 dBFS among peaks spread from -1 to -19 dBFS: coincidence."""
    peaks = [-10.07, -9.97, -9.91] + list(np.linspace(-1.0, -19.0, 35) + 0.37)
    assert "normalised_on_export" not in codes(check_files(spread_session(peaks), SR))


def test_two_of_many_files_at_an_export_target_is_chance():
    peaks = [-0.1, -0.12] + list(np.linspace(-1.5, -19.0, 36))
    assert "normalised_on_export" not in codes(check_files(spread_session(peaks), SR))


@pytest.mark.parametrize("target", [0.0, -0.1, -0.3, -1.0])
def test_several_files_at_one_export_target_are_normalised(target):
    peaks = [target + 0.03, target - 0.04, target, target + 0.01, target - 0.02] + list(np.linspace(-2, -19, 30))
    found = [f for f in check_files(spread_session(peaks), SR) if f.code == "normalised_on_export"]
    assert len(found) == 1
    assert found[0].track_ids == tuple(f"Track {i:02d}.wav" for i in range(5))
    assert f"5 of 35 files peak at {target:.1f} dBFS" in found[0].message and "normalisation off" in found[0].message


def test_peaks_just_outside_the_tolerance_are_not_normalised():
    peaks = [-0.36, -0.24, -0.37, -0.23] + list(np.linspace(-2, -12, 4))  # 0.06-0.07 dB from -0.3
    assert "normalised_on_export" not in codes(check_files(spread_session(peaks), SR))


def test_ends_that_differ_are_one_info_line_not_a_warning():
    """Stems that start together and end 20 ms to 2.5 s apart: how DAWs trim exports."""
    base = hits(14.0, seed=5)
    ends = {"Vox.wav": 14.0, "Kick.wav": 13.98, "Bass.wav": 12.4, "Pad.wav": 11.5}
    files = stats({n: (base[: int(s * SR)] * (0.4 + 0.01 * i), SR, "vocals" if n == "Vox.wav" else "other")
                   for i, (n, s) in enumerate(ends.items())})   # levels apart: not one file's audio twice
    found = check_files(files, SR, "vocals")
    assert [f.severity for f in found] == ["info"]
    assert found[0].code == "length_mismatch" and set(found[0].track_ids) == {"Kick.wav", "Bass.wav", "Pad.wav"}
    assert "0.02 to 2.50 s" in found[0].message and "normal" in found[0].message


def test_a_start_offset_that_explains_a_length_is_a_warning():
    base = hits(12.0, seed=6)
    late = np.concatenate([np.zeros(int(0.12 * SR), np.float32), base])[: len(base) - int(0.12 * SR) * 2]
    files = stats({"Vox.wav": (base * 0.4, SR), "Kick.wav": (base * 0.5, SR), "Bass.wav": (late * 0.3, SR)})
    found = check_files(files, SR)
    warned = [f for f in found if f.severity == "warning"]
    assert [(f.code, f.track_ids) for f in warned] == [("misaligned_start", ("Bass.wav",))]
    assert "120 ms late" in warned[0].message and "bar 1" in warned[0].message
    assert "length_mismatch" not in codes(found)  # the offset explains its length: one finding, not two


def test_a_file_shifted_without_a_length_change_is_still_found():
    base = hits(12.0, seed=7)
    late = np.concatenate([np.zeros(int(0.05 * SR), np.float32), base])[: len(base)]
    found = check_files(stats({"Vox.wav": (base * 0.4, SR), "Kick.wav": (base * 0.5, SR),
                               "Bass.wav": (late * 0.3, SR)}), SR)
    assert [f.track_ids for f in found if f.code == "misaligned_start"] == [("Bass.wav",)]
    assert "shorter" not in found[0].message


def test_a_lower_rate_says_what_it_removes():
    x = hits(4.0, seed=8)
    files = stats({"Vox.wav": (x, 48000), "HOUSE BEAT.ogg": (x, 24000), "Pad.ogg": (x, 24000)}, 48000)
    (rate,) = [f for f in check_files(files, 48000) if f.code == "rate_mismatch"]
    assert rate.severity == "warning" and rate.track_ids == ("HOUSE BEAT.ogg", "Pad.ogg")
    assert "2 files are at 24 kHz" in rate.message and "they carry nothing above 12 kHz" in rate.message
    assert rate.message.endswith("Re-export them at 48 kHz.")


def test_a_higher_rate_is_only_information():
    x = hits(4.0, seed=9)
    found = check_files(stats({"Vox.wav": (x, 48000), "Air.wav": (x, 96000)}, 48000), 48000)
    assert [(f.code, f.severity) for f in found if f.code == "rate_mismatch"] == [("rate_mismatch", "info")]


LITHIUM = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "evr" / "Lithium"


@pytest.mark.slow
@pytest.mark.skipif(not LITHIUM.is_dir(), reason="../shared/realdata (real music) is absent")
def test_lithium_export_gives_only_the_rate_warning():
    """38 real stems: 7 at 24 kHz, ends 20 ms apart, three peaks near -10 dBFS: one warning, the rates."""
    from model.audio.stream import analyse_files

    found = analyse_files([LITHIUM]).findings
    assert [f.code for f in found if f.severity == "warning"] == ["rate_mismatch"]
    assert "normalised_on_export" not in codes(found)
    rate = next(f for f in found if f.code == "rate_mismatch")
    assert len(rate.track_ids) == 7 and "nothing above 12 kHz" in rate.message


def test_a_low_session_rate_warns_about_what_the_higher_files_lose():
    """Most files at 24 kHz (evr's Hydrogen): the 48 kHz ones lose everything above 12 kHz in the analysis."""
    x = hits(4.0, seed=10)
    found = check_files(stats({"Vox.wav": (x, 24000), "Kick.wav": (x, 24000), "HH.wav": (x, 48000)}, 24000), 24000)
    (rate,) = [f for f in found if f.code == "rate_mismatch"]
    assert rate.severity == "warning" and "above 12 kHz" in rate.message and "beyond hearing" not in rate.message


def test_two_folders_of_the_same_file_names_are_called_two_songs_or_versions(tmp_path):
    for version in ("Mix v1", "Mix v2"):
        (tmp_path / version).mkdir()
        for i, name in enumerate(("Kick.wav", "Vox.wav", "Bass.wav")):
            sf.write(tmp_path / version / name, hits(seed=1) * (0.3 + 0.2 * i), SR)
    found = [f for f in check_session(load_tracks([tmp_path / "Mix v1", tmp_path / "Mix v2"]).tracks, "vocals")
             if f.code == "several_songs"]
    assert len(found) == 1 and found[0].severity == "warning" and len(found[0].track_ids) == 6
    assert "2 folders (Mix v1, Mix v2) hold files of the same names" in found[0].message
    # one song's stems split into folders by role share no names and one length: nothing to say
    for role, name in (("Drums", "Kick.wav"), ("Vocals", "Vox.wav"), ("Bass", "Bass.wav")):
        (tmp_path / role).mkdir()
        sf.write(tmp_path / role / name, hits(seed=1) * 0.3, SR)
    split = load_tracks([tmp_path / "Drums", tmp_path / "Vocals", tmp_path / "Bass"]).tracks
    assert "several_songs" not in codes(check_session(split, "vocals"))


def test_two_folders_each_of_one_length_and_the_lengths_apart_are_called_two_songs(tmp_path):
    for song, seconds in (("Song A", 12.0), ("Song B", 9.0)):
        (tmp_path / song).mkdir()
        for name in (f"{song} Kick.wav", f"{song} Vox.wav"):
            sf.write(tmp_path / song / name, hits(seconds, seed=1) * 0.3, SR)
    findings = check_session(load_tracks([tmp_path / "Song A", tmp_path / "Song B"]).tracks, "vocals")
    found = [f for f in findings if f.code == "several_songs"]
    assert len(found) == 1 and "the lengths differ (0:12, 0:09)" in found[0].message
    assert "length_mismatch" not in codes(findings)   # not "shorter, padded, normal": the warning says why
    # one file re-exported elsewhere, trimmed at its last sound, is no second song
    (tmp_path / "Later").mkdir()
    sf.write(tmp_path / "Later" / "Shaker.wav", hits(7.0, seed=2) * 0.3, SR)
    added = load_tracks([tmp_path / "Song A", tmp_path / "Later"]).tracks
    assert "several_songs" not in codes(check_session(added, "vocals"))


def test_an_effect_return_counted_in_the_other_instruments_is_named_until_its_role_is_set(tmp_path):
    from model.audio.tracks import Gains

    t = session(tmp_path, {"Kick.wav": (hits(seed=1) * 0.7, {}), "Vox.wav": (hits(seed=1) * 0.3, {}),
                           "A-Reverb.wav": (hits(seed=3) * 0.1, {}), "B-Delay.wav": (hits(seed=4) * 0.1, {})})
    found = [f for f in check_session(t, "vocals") if f.code == "effect_return"]
    assert len(found) == 1 and set(found[0].track_ids) == {"A-Reverb.wav", "B-Delay.wav"}
    assert "counted in the other instruments" in found[0].message and "mute them" in found[0].message
    muted = check_session(t, "vocals", Gains(muted=frozenset({"B-Delay.wav"})))
    assert [f.track_ids for f in muted if f.code == "effect_return"] == [("A-Reverb.wav",)]
    vocal = t.with_roles({"A-Reverb.wav": "vocals", "B-Delay.wav": "vocals"})   # the user says whose it is
    assert "effect_return" not in codes(check_session(vocal, "vocals"))


def test_a_reference_track_exported_with_the_stems_is_named_until_it_is_muted(tmp_path):
    from model.audio.tracks import Gains

    t = session(tmp_path, {"Kick.wav": (hits(seed=1) * 0.7, {}), "Vox.wav": (hits(seed=1) * 0.3, {}),
                           "REF MIX.wav": (hits(seed=3) * 0.9, {}), "Ref Vox.wav": (hits(seed=4) * 0.1, {})})
    found = [f for f in check_session(t, "vocals") if f.code == "reference_track"]
    assert len(found) == 1 and found[0].track_ids == ("REF MIX.wav",)
    assert found[0].message.startswith("REF MIX.wav is named like a reference track") and "Mute it" in found[0].message
    assert "reference_track" not in codes(check_session(t, "vocals", Gains(muted=frozenset({"REF MIX.wav"}))))


def test_a_second_copy_of_a_file_is_named_and_identical_tracks_are_noted(tmp_path):
    from model.audio.tracks import Gains

    bass, kick = hits(seed=2) * 0.3, hits(seed=1) * 0.7
    t = session(tmp_path, {"Kick.wav": (kick, {}), "Kick Layer.wav": (kick, {}), "Vox.wav": (hits(seed=3) * 0.3, {}),
                           "Bass.wav": (bass, {}), "Bass (1).wav": (bass, {}), "Copy of Bass.wav": (bass, {}),
                           "Bass Amp.wav": (bass * 0.9, {})})
    found = {f.code: f for f in check_session(t, "vocals") if f.code in ("copied_file", "same_audio")}
    copied, same = found["copied_file"], found["same_audio"]
    assert copied.severity == "warning" and set(copied.mutes) == {"Bass (1).wav", "Copy of Bass.wav"}
    assert copied.message.startswith("Bass (1).wav, Copy of Bass.wav hold exactly the audio of Bass.wav")
    assert "counts 3 times, up to 10 LU louder" in copied.message
    assert same.severity == "info" and set(same.track_ids) == {"Kick.wav", "Kick Layer.wav"} and not same.mutes
    muted = Gains(muted=frozenset({"Bass (1).wav", "Copy of Bass.wav", "Kick Layer.wav"}))
    assert not {"copied_file", "same_audio"} & codes(check_session(t, "vocals", muted))


def test_a_click_track_exported_with_the_stems_is_named_until_it_is_muted(tmp_path):
    from model.audio.tracks import Gains

    t = session(tmp_path, {"Kick.wav": (hits(seed=1) * 0.7, {}), "Vox.wav": (hits(seed=1) * 0.3, {}),
                           "Click.wav": (hits(seed=3) * 0.5, {}), "Kick Click.wav": (hits(seed=4) * 0.1, {})})
    found = [f for f in check_session(t, "vocals") if f.code == "click_track"]
    assert len(found) == 1 and found[0].track_ids == ("Click.wav",) and found[0].mutes == ("Click.wav",)
    assert found[0].message.startswith("Click.wav is named like a click track") and "Mute it" in found[0].message
    assert "click_track" not in codes(check_session(t, "vocals", Gains(muted=frozenset({"Click.wav"}))))


def test_one_track_printed_dry_and_wet_is_named_until_one_print_is_muted(tmp_path):
    from model.audio.tracks import Gains

    t = session(tmp_path, {"Kick.wav": (hits(seed=1) * 0.7, {}), "Lead Vox Dry.wav": (hits(seed=2) * 0.3, {}),
                           "Lead Vox Wet.wav": (hits(seed=3) * 0.3, {}), "Synth Dry.wav": (hits(seed=4) * 0.2, {})})
    found = [f for f in check_session(t, "vocals") if f.code == "dry_and_wet"]
    assert len(found) == 1 and found[0].track_ids == ("Lead Vox Dry.wav", "Lead Vox Wet.wav")
    assert found[0].message.startswith("One track printed both dry and with its effects (Lead Vox Dry.wav + Lead Vox "
                                       "Wet.wav): both count")
    assert "dry_and_wet" not in codes(check_session(t, "vocals", Gains(muted=frozenset({"Lead Vox Dry.wav"}))))


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_block_statistics_match_a_plain_float64_reading(channels):
    """The doctor's fast paths (complex-view channel sums, per-frame peaks only near full scale) read what
    plain numpy reads: peak, channel sums and clipped runs, block after block."""
    from model.audio.decode import channel_sums

    rng = np.random.default_rng(channels)
    x = (rng.standard_normal((SR * 3, channels)) * 0.2 + 0.003).astype(np.float32)
    x[SR + 10:SR + 20] = 1.0                               # one clipped run, in the second block
    info = AudioInfo("x.wav", SR, channels, len(x), "WAV", "PCM_24")
    stats = FileStats("x", "x.wav", "other", info, SR)
    peaks = [stats.add(x[a:a + SR]) for a in range(0, len(x), SR)]
    assert peaks == [float(np.abs(x[a:a + SR]).max()) for a in range(0, len(x), SR)]
    assert stats.peak == 1.0 and stats.clip_runs == 1
    folded = np.stack([x[:, 0::2].mean(axis=1), x[:, 1::2].mean(axis=1)], axis=1) if channels > 2 else x
    expected = folded.astype(np.float64).sum(axis=0)
    assert np.allclose(channel_sums(folded), expected, rtol=1e-6, atol=1e-3)
    assert np.allclose(stats.channel_sums, x.astype(np.float64).sum(axis=0), rtol=1e-6, atol=1e-3)


def test_left_and_right_mono_files_of_one_source_are_reported_as_played_apart(tmp_path):
    """Pro Tools' multiple-mono bounce (Kick.L/Kick.R) and mic pairs (OH L/OH R) are played each on its side; the
    doctor says so and names the four files. A lone "Gtr L" is an ordinary mono file."""
    t = session(tmp_path, {"Kick.L.wav": (hits(seed=1) * 0.5, {}), "Kick.R.wav": (hits(seed=2) * 0.5, {}),
                           "OH L.wav": (hits(seed=3) * 0.3, {}), "OH R.wav": (hits(seed=4) * 0.3, {}),
                           "Gtr L.wav": (hits(seed=5) * 0.3, {}),
                           "Vox.wav": (np.stack([hits(seed=6), hits(seed=7)], 1) * 0.3, {})})
    pair = next(f for f in check_session(t, "vocals") if f.code == "mono_pairs")
    assert pair.message.startswith("2 left/right pairs of mono files") and "each side on its own speaker" in pair.message
    assert sorted(pair.track_ids) == ["Kick.L.wav", "Kick.R.wav", "OH L.wav", "OH R.wav"]
    assert t.get("Gtr L.wav").audio.shape[1] == 1 and t.get("Kick.L.wav").info.side == "left"


def test_stereo_files_named_left_and_right_are_no_mono_pair(tmp_path):
    x = np.stack([hits(seed=1), hits(seed=2)], 1) * 0.3
    t = session(tmp_path, {"Keys L.wav": (x, {}), "Keys R.wav": (x[:, ::-1], {}), "Vox.wav": (hits(seed=3), {})})
    assert "mono_pairs" not in codes(check_session(t, "vocals"))


# --- Broadcast WAV timestamps ----------------------------------------------------------------------

def stamped(path, seconds):
    """Give a WAV that soundfile wrote a bext chunk (Broadcast WAV, EBU Tech 3285) whose TimeReference says it
    starts ``seconds`` into the DAW's timeline, as Pro Tools, Logic or Reaper write it."""
    import struct

    data = Path(path).read_bytes()
    assert data[12:16] == b"fmt "
    fmt_end = 20 + struct.unpack("<I", data[16:20])[0]
    rate = struct.unpack("<I", data[24:28])[0]
    bext = bytearray(602)
    bext[338:346] = struct.pack("<Q", round(seconds * rate))
    chunk = b"bext" + struct.pack("<I", len(bext)) + bytes(bext)
    body = data[12:fmt_end] + chunk + data[fmt_end:]
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    return path


def streamed(folder, name):
    """(the folder's file ``name`` as the streamed analysis reads it, the session's length in frames)."""
    from model.audio.stream import FileStream, session_tracks
    from model.audio.tracks import plan_session

    plan = plan_session([folder])
    return FileStream(session_tracks(plan).get(name), plan.frames), plan.frames


def test_a_stem_exported_from_another_start_is_placed_at_its_timestamp(tmp_path):
    """One stem exported again from bar 33 (64 s later) played 64 s early against the others. A DAW places it at
    its Broadcast WAV timestamp on import, and so does loading, streamed or whole; a file without a timestamp
    starts where most files do."""
    from model.audio.truncation import bwf_start_s

    base = hits(seed=5)
    t = session(tmp_path, {"Vox.wav": (base * 0.4, {}), "Kick.wav": (base * 0.5, {}), "Bass.wav": (base * 0.3, {}),
                           "Pad.flac": (base * 0.2, {})})
    assert codes(check_session(t, "vocals")) == set()
    for name, start in (("Vox.wav", 3600.0), ("Kick.wav", 3600.0), ("Bass.wav", 3664.0)):   # Pro Tools: 1:00:00
        stamped(tmp_path / name, start)
    t = load_tracks([tmp_path]).tracks
    bass = t.get("Bass.wav")
    assert bwf_start_s(bass.info) == pytest.approx(3664.0) and bwf_start_s(t.get("Pad.flac").info) is None
    assert {x.name: x.info.start_s for x in t.tracks} == {"Vox.wav": 0.0, "Kick.wav": 0.0, "Bass.wav": 64.0,
                                                           "Pad.flac": 0.0}
    lead = 64 * SR
    assert t.frames == lead + len(base) and not bass.audio[:lead].any()
    np.testing.assert_array_equal(bass.audio[lead:, 0], sf.read(tmp_path / "Bass.wav", dtype="float32")[0])
    stream, frames = streamed(tmp_path, "Bass.wav")
    read = np.concatenate([stream.read(n) for n in [lead - 1000, 3000] + [SR] * 13])[:frames]
    np.testing.assert_array_equal(read, bass.audio)          # the blocks straddle the file's start

    found = check_session(t, "vocals")
    assert [f.code for f in found if f.severity != "info"] == []
    placed = [f for f in found if f.code == "timestamp_placed"]
    assert [f.track_ids for f in placed] == [("Bass.wav",)]
    assert "placed 64.000 s later than the others on the timeline" in placed[0].message
    assert "misaligned_start" not in codes(found)

    sf.write(tmp_path / "Bass.wav", base * 0.3, SR)
    stamped(tmp_path / "Bass.wav", 3600.010)     # 10 ms: placed as well, as the DAW would
    t = load_tracks([tmp_path]).tracks
    assert t.get("Bass.wav").info.start_s == pytest.approx(0.010)
    assert [f.track_ids for f in check_session(t, "vocals") if f.code == "timestamp_placed"] == [("Bass.wav",)]
    sf.write(tmp_path / "Bass.wav", base * 0.3, SR)
    stamped(tmp_path / "Bass.wav", 0.0)          # a zero among later stamps, as a tool without a timeline writes
    t = load_tracks([tmp_path]).tracks
    assert not any(x.info.start_s for x in t.tracks) and codes(check_session(t, "vocals")) == set()


def test_a_timestamp_further_off_than_a_song_is_not_placed_and_said(tmp_path):
    """A stamp 25 minutes from the others' is no part of this song's timeline (a file of another session): that file
    plays from where most files start, with a warning, rather than after 25 minutes of silence; the files whose
    stamps do fit are placed all the same."""
    from model.audio.tracks import MAX_TIMELINE_S

    base = hits(seed=6)
    session(tmp_path, {"Vox.wav": (base * 0.4, {}), "Kick.wav": (base * 0.5, {}), "Bass.wav": (base * 0.3, {}),
                       "Gtr.wav": (base * 0.2, {})})
    far = MAX_TIMELINE_S + 300
    for name, start in (("Vox.wav", 3600.0), ("Kick.wav", 3600.0), ("Bass.wav", 3600.0 + far), ("Gtr.wav", 3602.0)):
        stamped(tmp_path / name, start)
    t = load_tracks([tmp_path]).tracks
    assert {x.name: x.info.start_s for x in t.tracks} == {"Vox.wav": 0.0, "Kick.wav": 0.0, "Bass.wav": 0.0,
                                                           "Gtr.wav": 2.0}
    assert t.frames == 2 * SR + len(base)
    found = check_session(t, "vocals")
    warned = [f for f in found if f.severity != "info"]
    assert [(f.code, f.track_ids) for f in warned] == [("timestamp_offset", ("Bass.wav",))]
    assert f"puts it {far:.3f} s later on the DAW's timeline than most files" in warned[0].message
    assert "not placed there" in warned[0].message and "bar 1" in warned[0].message
    assert [f.track_ids for f in found if f.code == "timestamp_placed"] == [("Gtr.wav",)]
    assert streamed(tmp_path, "Bass.wav")[0].read(10).any()   # from the start


def test_a_stem_at_another_rate_is_placed_at_its_timestamp(tmp_path):
    """A file resampled to the session rate starts at its timestamp too, loaded whole or streamed."""
    base = hits(seed=7)
    session(tmp_path, {"Vox.wav": (base * 0.4, {}), "Kick.wav": (base * 0.5, {})})
    sf.write(tmp_path / "Bass.wav", hits(seed=7, seconds=6.0) * 0.3, 48000)
    for name, start in (("Vox.wav", 10.0), ("Kick.wav", 10.0), ("Bass.wav", 12.5)):
        stamped(tmp_path / name, start)
    t = load_tracks([tmp_path]).tracks
    bass = t.get("Bass.wav")
    lead = round(2.5 * SR)
    assert bass.info.start_s == 2.5 and t.sample_rate == SR and t.frames == len(base)
    assert not bass.audio[:lead].any() and np.abs(bass.audio[lead:lead + SR]).max() > 0.1
    stream, frames = streamed(tmp_path, "Bass.wav")
    read = np.concatenate([stream.read(SR // 2) for _ in range(25)])[:frames]
    assert not read[:lead].any()
    np.testing.assert_allclose(read, bass.audio, atol=2e-3)   # soxr whole and streamed differ at the edges
