"""Loading DAW exports: formats, rates, channels, alignment, bad files, memory."""

import os
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from model.errors import AudioFormatError, InputError, NoAnalysableAudio
from model.audio.tracks import load_tracks

SR = 44100


def tone(seconds=1.0, sr=SR, channels=1, freq=220.0, amp=0.5):
    t = np.arange(int(seconds * sr)) / sr
    x = amp * np.sin(2 * np.pi * freq * t)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32) if channels > 1 else x.astype(np.float32)


FORMATS = [
    ("a.wav", "WAV", "PCM_16"), ("b.wav", "WAV", "PCM_24"), ("c.wav", "WAV", "FLOAT"), ("d.aiff", "AIFF", "PCM_24"),
    ("e.flac", "FLAC", "PCM_24"), ("f.ogg", "OGG", "VORBIS"), ("g.mp3", "MP3", "MPEG_LAYER_III"),
]


@pytest.mark.parametrize("name,fmt,subtype", FORMATS)
def test_every_libsndfile_format_loads(tmp_path, name, fmt, subtype):
    x = tone(1.0, channels=2)
    sf.write(tmp_path / name, x, SR, format=fmt, subtype=subtype)
    res = load_tracks([tmp_path / name])
    (track,) = res.tracks.tracks
    assert track.audio.dtype == np.float32 and track.audio.shape[1] == 2
    assert abs(len(track.audio) - len(x)) < 3000  # lossy codecs add a little padding
    assert np.max(np.abs(track.audio)) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000, 96000, 192000])
def test_any_rate_loads(tmp_path, rate):
    sf.write(tmp_path / "x.wav", tone(0.5, rate), rate, subtype="PCM_24")
    assert load_tracks([tmp_path / "x.wav"]).tracks.sample_rate == rate


def test_mixed_rates_resample_to_the_most_common(tmp_path):
    sf.write(tmp_path / "a.wav", tone(2.0, 48000), 48000)
    sf.write(tmp_path / "b.wav", tone(2.0, 48000), 48000)
    sf.write(tmp_path / "c.wav", tone(2.0, 44100), 44100)
    res = load_tracks([tmp_path])
    assert res.tracks.sample_rate == 48000
    assert all(t.frames == 96000 for t in res.tracks.tracks)
    assert not any("c.wav" in n for n in res.notes)  # the doctor's rate finding says it, once
    c = res.tracks.get("c.wav").audio[:, 0]
    assert np.sqrt(np.mean(c[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_different_lengths_are_padded_not_truncated(tmp_path):
    sf.write(tmp_path / "long.wav", tone(3.0), SR)
    sf.write(tmp_path / "short.wav", tone(1.0), SR)
    res = load_tracks([tmp_path])
    short = res.tracks.get("short.wav")
    assert short.frames == 3 * SR and not short.audio[SR + 10:].any()
    assert not any("short.wav" in n for n in res.notes)  # the doctor's length finding says it, once


@pytest.mark.parametrize("channels", range(1, 9))
def test_channel_counts(tmp_path, channels):
    x = np.tile(tone(0.5)[:, None], (1, channels)) * np.linspace(0.2, 1.0, channels)
    sf.write(tmp_path / "m.wav", x.astype(np.float32), SR, subtype="FLOAT")
    res = load_tracks([tmp_path / "m.wav"])
    track = res.tracks.tracks[0]
    assert track.audio.shape[1] == (1 if channels == 1 else 2)
    assert any("Folded to stereo" in n for n in res.notes) == (channels > 2)


@pytest.mark.parametrize("channels", [3, 4, 6, 8])
def test_a_multichannel_stem_sounding_in_its_front_pair_keeps_its_level(tmp_path, channels):
    x = np.zeros((SR, channels), np.float32)
    x[:, 0], x[:, 1] = tone(1.0, amp=0.5), tone(1.0, amp=0.25)
    sf.write(tmp_path / "surround.wav", x, SR, subtype="FLOAT")
    audio = load_tracks([tmp_path / "surround.wav"]).tracks.tracks[0].audio
    assert np.allclose(audio, x[:, :2], atol=1e-6)


def _with_channel_mask(path, mask: int) -> None:
    """Rewrite an extensible WAV file's channel mask (libsndfile writes the default one for its channel count)."""
    data = bytearray(path.read_bytes())
    at = data.index(b"fmt ") + 8
    assert int.from_bytes(data[at:at + 2], "little") == 0xFFFE
    data[at + 20:at + 24] = mask.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def _as_wave64(wav, out) -> None:
    """Rewrite a WAV file as Sony Wave64 with the same fmt chunk (libsndfile writes W64 without a channel mask)."""
    guid = bytes.fromhex("f3acd3118cd100c04f8edb8a")
    data = wav.read_bytes()
    chunks, pos = {}, 12
    while pos < len(data):
        n = int.from_bytes(data[pos + 4:pos + 8], "little")
        chunks[data[pos:pos + 4]] = data[pos + 8:pos + 8 + n]
        pos += 8 + n + (n & 1)

    def chunk(cid: bytes, body: bytes) -> bytes:
        return cid + guid + struct.pack("<Q", 24 + len(body)) + body + b"\0" * (-len(body) % 8)

    body = bytes.fromhex("77617665f3acd3118cd100c04f8edb8a") + chunk(b"fmt ", chunks[b"fmt "]) + \
        chunk(b"data", chunks[b"data"])
    out.write_bytes(bytes.fromhex("72696666") + bytes.fromhex("2e91cf11a5d628db04c10000") +
                    struct.pack("<Q", 24 + len(body)) + body)


def _level_db(x) -> float:
    """Mean-square level of a signal, its channels' energies added (as BS.1770 adds them)."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return 10 * np.log10(np.square(x).mean(axis=0).sum())


@pytest.mark.parametrize("name, fmt, subtype, centre, lfe, left_surround", [
    ("51.wav", "WAV", "FLOAT", 2, 3, 4),          # WAV, FLAC, AIFF: L R C LFE Ls Rs
    ("51.flac", "FLAC", "PCM_24", 2, 3, 4),
    ("51.ogg", "OGG", "VORBIS", 1, 5, 3),         # Vorbis: L C R Ls Rs LFE
])
def test_a_surround_stem_folds_to_stereo_as_a_daw_plays_it(tmp_path, name, fmt, subtype, centre, lfe,
                                                            left_surround):
    """A 5.1 stem's centre (a lead vocal) sounded on the left speaker only and its LFE on the right: each
    channel now goes where its speaker is, the centre on both at -3 dB (its loudness kept), the LFE left out
    as BS.1770 leaves it out, a surround channel on its side at -3 dB. Whole and streamed reads agree."""
    from tests.model.test_doctor import streamed

    n = 2 * SR
    x = np.zeros((n, 6), np.float32)
    x[:SR // 2, centre] = tone(0.5, amp=0.5)
    x[SR // 2:SR, lfe] = tone(0.5, amp=0.5, freq=50.0)
    x[SR:3 * SR // 2, left_surround] = tone(0.5, amp=0.5)
    sf.write(tmp_path / name, x, SR, format=fmt, subtype=subtype)
    res = load_tracks([tmp_path / name])
    track = res.tracks.tracks[0]
    assert track.info.positions[centre] == "FC" and track.info.positions[lfe] == "LFE"
    out = track.audio
    lossy = 0.3 if fmt == "OGG" else 0.01
    c = out[1000:SR // 2 - 1000]
    assert abs(_level_db(c[:, 0]) - _level_db(c[:, 1])) < lossy                   # on both speakers
    assert abs(_level_db(c) - _level_db(x[1000:SR // 2 - 1000, centre])) < lossy  # its energy kept: -3 dB a side
    assert np.abs(out[SR // 2 + 1000:SR - 1000]).max() < 1e-3                     # the LFE left out
    ls = out[SR + 1000:3 * SR // 2 - 1000]
    assert abs(_level_db(ls[:, 0]) - (_level_db(x[SR + 1000:3 * SR // 2 - 1000, left_surround]) - 3.01)) < lossy
    assert np.abs(ls[:, 1]).max() < 1e-3
    assert any("Folded to stereo as a surround stem plays" in note and name in note for note in res.notes)
    stream, frames = streamed(tmp_path, name)
    np.testing.assert_allclose(np.concatenate([stream.read(SR // 3) for _ in range(7)])[:frames], out, atol=1e-6)


def test_an_extensible_wav_folds_by_the_speakers_its_channel_mask_names(tmp_path):
    """A 3.1 file (L R C LFE, mask 0x0F) has four channels, which without the mask read as quad (L R Ls Rs)."""
    x = np.zeros((SR, 4), np.float32)
    x[:, 2] = tone(1.0, amp=0.5)
    x[:, 3] = tone(1.0, amp=0.5, freq=50.0)
    sf.write(tmp_path / "quad.wav", x, SR, format="WAVEX", subtype="FLOAT")
    sf.write(tmp_path / "three-one.wav", x, SR, format="WAVEX", subtype="FLOAT")
    _with_channel_mask(tmp_path / "three-one.wav", 0x0F)
    tracks = load_tracks([tmp_path]).tracks
    quad, three_one = tracks.get("quad.wav"), tracks.get("three-one.wav")
    assert quad.info.positions == ("FL", "FR", "BL", "BR") and three_one.info.positions == ("FL", "FR", "FC", "LFE")
    np.testing.assert_allclose(three_one.audio, np.stack([x[:, 2], x[:, 2]], axis=1) * np.sqrt(0.5), atol=1e-6)
    np.testing.assert_allclose(quad.audio, x[:, 2:] * np.sqrt(0.5), atol=1e-6)


def _with_apple_layout(path, tag: int, bitmap: int = 0, labels: tuple[int, ...] = ()) -> None:
    """Add a Core Audio channel layout to a CAF ('chan') or AIFF ('CHAN') file before its audio, as Apple's audio
    APIs write one (libsndfile writes none unless told)."""
    layout = struct.pack(">III", tag, bitmap, len(labels)) + b"".join(struct.pack(">II3f", x, 0, 0, 0, 0)
                                                                       for x in labels)
    data = bytearray(path.read_bytes())
    if data[:4] == b"caff":
        at = data.index(b"data", 8)
        data[at:at] = b"chan" + struct.pack(">q", len(layout)) + layout
    else:
        at = data.index(b"SSND", 12)
        data[at:at] = b"CHAN" + struct.pack(">I", len(layout)) + layout
        data[4:8] = struct.pack(">I", len(data) - 8)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name, fmt, how", [
    ("tag.caf", "CAF", dict(tag=122 << 16 | 6)),                           # MPEG_5_1_B: L R Ls Rs C LFE
    ("bitmap.aiff", "AIFF", dict(tag=1 << 16, bitmap=0x0F)),               # the mask's bits: L R C LFE (no quad)
    ("labels.aiff", "AIFF", dict(tag=0, labels=(1, 2, 5, 6, 3, 4))),       # one label a channel
    ("labels.caf", "CAF", dict(tag=0, labels=(1, 2, 10, 11, 3, 4, 33, 34))),  # 7.1: sides, then rear surrounds
])
def test_a_caf_or_aiff_file_folds_by_the_speakers_its_channel_layout_names(tmp_path, name, fmt, how):
    """A layout such as Logic's own 5.1 order, L R Ls Rs C LFE, is not the SMPTE order a CAF/AIFF file without
    one is read in: the layout chunk's speakers are the ones folded, so the centre (a lead vocal) plays on both
    sides and the LFE is left out."""
    expect = {"tag.caf": ("FL", "FR", "BL", "BR", "FC", "LFE"),
              "bitmap.aiff": ("FL", "FR", "FC", "LFE"),
              "labels.aiff": ("FL", "FR", "BL", "BR", "FC", "LFE"),
              "labels.caf": ("FL", "FR", "SL", "SR", "FC", "LFE", "BL", "BR")}[name]
    centre = expect.index("FC")
    x = np.zeros((SR, len(expect)), np.float32)
    x[:, centre] = tone(1.0, amp=0.5)
    x[:, expect.index("LFE")] = tone(1.0, amp=0.5, freq=50.0)
    sf.write(tmp_path / name, x, SR, format=fmt, subtype="PCM_24")
    _with_apple_layout(tmp_path / name, **how)
    track = load_tracks([tmp_path / name]).tracks.tracks[0]
    assert track.info.positions == expect
    np.testing.assert_allclose(track.audio, np.stack([x[:, centre]] * 2, axis=1) * np.sqrt(0.5), atol=1e-4)


@pytest.mark.parametrize("how, channels, sounding, speaker, side", [
    (dict(tag=192 << 16 | 12), 12, 10, "TBL", "left"),    # Atmos 7.1.4: L R C LFE Lss Rss Lrs Rrs Ltf Rtf Ltr Rtr
    (dict(tag=193 << 16 | 16), 16, 9, "FRW", "right"),    # Atmos 9.1.6: ... Lrs Rrs Lw Rw Ltf Rtf Ltm Rtm Ltr Rtr
    (dict(tag=194 << 16 | 8), 8, 6, "TSL", "left"),       # Atmos 5.1.2: L R C LFE Ls Rs Ltm Rtm
    (dict(tag=189 << 16 | 8), 8, 5, "BR", "right"),       # WAVE 7.1: L R C LFE Rls Rrs Ls Rs
    (dict(tag=0, labels=(1, 2, 3, 4, 5, 6, 33, 34, 35, 36, 13, 15, 49, 51, 52, 54)), 16, 12, "TSL", "left"),
])
def test_atmos_beds_and_wave_layouts_fold_each_height_and_wide_to_its_side(tmp_path, how, channels, sounding,
                                                                           speaker, side):
    """An Atmos bed bounced to CAF (Logic, Apple's APIs) names its speakers by a tag Core Audio added after the CAF
    specification, or by one label a channel: a height or a wide channel plays on its side at -3 dB, as the other
    channels of a side do, and the LFE (channel 4) is left out."""
    x = np.zeros((SR, channels), np.float32)
    x[:, sounding] = tone(1.0, amp=0.5)
    x[:, 3] = tone(1.0, amp=0.5)        # the LFE
    sf.write(tmp_path / "bed.caf", x, SR, format="CAF", subtype="PCM_24")
    _with_apple_layout(tmp_path / "bed.caf", **how)
    track = load_tracks([tmp_path / "bed.caf"]).tracks.tracks[0]
    assert len(track.info.positions) == channels and track.info.positions[3] == "LFE"
    assert track.info.positions[sounding] == speaker
    heard = x[:, sounding] * np.sqrt(0.5)
    expect = np.stack([heard, 0 * heard] if side == "left" else [0 * heard, heard], axis=1)
    np.testing.assert_allclose(track.audio, expect, atol=1e-4)


@pytest.mark.parametrize("tag, order", [
    (201, "L R Ls Rs Rls Rrs C LFE"),                     # Logic 7.1 B
    (203, "L R Rls Rrs Ls Rs C LFE Vhl Vhr Ltm Rtm Ltr Rtr"),   # Logic Atmos 7.1.6
    (197, "L R Cs C"),                                    # Logic 4.0 C
    (162, "L C R Ls Rs LFE Lsd Rsd"),                     # E-AC-3 7.1 C
    (177, "Lc C Rc L R Ls Rs LFE"),                       # DTS 7.1
    (215, "L C R Ls Rs Rls Rrs LFE"),                     # Ogg 7.1
])
def test_logic_codec_and_ogg_layout_tags_put_the_centre_and_lfe_where_core_audio_says(tmp_path, tag, order):
    """Logic bounces surround stems in its own orders (7.1 B puts the centre seventh): read in the format's order
    instead, the lead vocal in the centre would play on one side and the LFE would be heard."""
    names = order.split()
    x = np.zeros((SR, len(names)), np.float32)
    x[:, names.index("C")] = tone(1.0, amp=0.5)
    if "LFE" in names:
        x[:, names.index("LFE")] = tone(1.0, amp=0.5, freq=50.0)
    sf.write(tmp_path / "bed.caf", x, SR, format="CAF", subtype="PCM_24")
    _with_apple_layout(tmp_path / "bed.caf", tag=tag << 16 | len(names))
    track = load_tracks([tmp_path / "bed.caf"]).tracks.tracks[0]
    assert track.info.positions[names.index("C")] == "FC"
    assert ("LFE" in names) == ("LFE" in track.info.positions)
    centre = x[:, names.index("C")] * np.sqrt(0.5)
    np.testing.assert_allclose(track.audio, np.stack([centre, centre], axis=1), atol=1e-4)


def test_a_channel_layout_this_table_does_not_know_leaves_the_format_order():
    from model.audio.channels import APPLE_LAYOUTS, apple_layout_speakers, speaker_positions

    assert all(len(speakers) >= 3 for speakers in APPLE_LAYOUTS.values())
    assert apple_layout_speakers(130 << 16 | 8, 0, ()) == ()     # SMPTE DTV: 5.1 plus its own stereo mix
    assert apple_layout_speakers(121 << 16 | 8, 0, ()) == ()     # a tag whose count is not its layout's
    assert apple_layout_speakers(0, 0, (1, 2, 200, 201)) == ()   # ambisonic labels
    assert speaker_positions((), "CAF", "PCM_24", 6) == ("FL", "FR", "FC", "LFE", "BL", "BR")


def test_a_cut_channel_layout_leaves_the_format_order(tmp_path):
    """A layout chunk that says it describes 6 channels but holds 2 descriptions names nothing: the file still
    loads, in its format's order."""
    sf.write(tmp_path / "cut.caf", np.zeros((SR, 6), np.float32), SR, format="CAF", subtype="PCM_24")
    _with_apple_layout(tmp_path / "cut.caf", tag=0, labels=(1, 2))
    data = bytearray((tmp_path / "cut.caf").read_bytes())
    at = data.index(b"chan") + 12 + 8
    data[at:at + 4] = struct.pack(">I", 6)
    (tmp_path / "cut.caf").write_bytes(bytes(data))
    assert load_tracks([tmp_path / "cut.caf"]).tracks.tracks[0].info.positions == (
        "FL", "FR", "FC", "LFE", "BL", "BR")


def test_a_wave64_file_folds_by_its_channel_mask(tmp_path):
    """Wave64 (as Reaper and Sonar write it for big renders) holds the extensible format's mask as WAV does."""
    x = np.zeros((SR, 4), np.float32)
    x[:, 2] = tone(1.0, amp=0.5)
    sf.write(tmp_path / "three-one.wav", x, SR, format="WAVEX", subtype="PCM_24")
    _with_channel_mask(tmp_path / "three-one.wav", 0x0F)
    _as_wave64(tmp_path / "three-one.wav", tmp_path / "three-one.w64")
    track = load_tracks([tmp_path / "three-one.w64"]).tracks.tracks[0]
    assert track.info.format == "W64" and track.info.positions == ("FL", "FR", "FC", "LFE")
    np.testing.assert_allclose(track.audio, np.stack([x[:, 2], x[:, 2]], axis=1) * np.sqrt(0.5), atol=1e-4)


def test_a_float_wave64_file_of_the_extensible_format_is_refused_not_played_as_noise(tmp_path):
    """libsndfile reads its float samples as 32-bit integers (noise near full scale); a float W64 of the plain
    float format, as libsndfile writes one, reads right and loads."""
    x = tone(1.0, amp=0.25)
    sf.write(tmp_path / "Pad.wav", x, SR, format="WAVEX", subtype="FLOAT")
    _as_wave64(tmp_path / "Pad.wav", tmp_path / "Pad.w64")
    with pytest.raises(AudioFormatError, match=r"^Pad\.w64: a float Wave64 file of the extensible format"):
        load_tracks([tmp_path / "Pad.w64"])
    sf.write(tmp_path / "Keys.w64", x, SR, format="W64", subtype="FLOAT")
    np.testing.assert_allclose(load_tracks([tmp_path / "Keys.w64"]).tracks.tracks[0].audio[:, 0], x, atol=1e-6)


def test_every_speaker_a_channel_mask_names_folds_to_its_side():
    from model.audio.channels import MASK_SPEAKERS, stereo_matrix

    m = stereo_matrix(MASK_SPEAKERS, len(MASK_SPEAKERS))
    for speaker, (left, right) in zip(MASK_SPEAKERS, m):
        side = "none" if speaker == "LFE" else "left" if "L" in speaker else "right" if "R" in speaker else "both"
        assert {"none": (0, 0), "left": (left, 0), "right": (0, right), "both": (left, left)}[side] == (left, right)
        assert (left + right > 0) == (side != "none") and max(left, right) <= 1.0


def test_more_channels_than_a_known_layout_fold_even_left_odd_right(tmp_path):
    x = np.zeros((SR, 10), np.float32)
    x[:, 4], x[:, 7] = tone(1.0, amp=0.5), tone(1.0, amp=0.25)
    sf.write(tmp_path / "ten.wav", x, SR, subtype="FLOAT")
    res = load_tracks([tmp_path / "ten.wav"])
    assert res.tracks.tracks[0].info.positions == ()
    np.testing.assert_allclose(res.tracks.tracks[0].audio, x[:, [4, 7]], atol=1e-6)
    assert any("speakers are not known" in note for note in res.notes)


def test_float_file_above_full_scale_is_kept(tmp_path):
    sf.write(tmp_path / "hot.wav", tone(1.0, amp=4.0), SR, subtype="FLOAT")
    track = load_tracks([tmp_path / "hot.wav"]).tracks.tracks[0]
    assert np.max(np.abs(track.audio)) == pytest.approx(4.0, rel=1e-3)


BAD = {
    "text.wav": lambda p: p.write_text("this is not audio"),
    "truncated.wav": lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt "),
    "empty.wav": lambda p: sf.write(p, np.zeros((0, 1), np.float32), SR),
    "nan.wav": lambda p: sf.write(p, np.full(SR, np.nan, np.float32), SR, subtype="FLOAT"),
    "inf.wav": lambda p: sf.write(p, np.full(SR, np.inf, np.float32), SR, subtype="FLOAT"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_give_one_line_errors_naming_the_file(tmp_path, name):
    BAD[name](tmp_path / name)
    with pytest.raises(AudioFormatError) as err:
        load_tracks([tmp_path / name])
    message = str(err.value)
    assert message.startswith(name) and "\n" not in message


def test_a_file_shorter_than_one_loudness_block_loads_padded_to_the_session(tmp_path):
    # a one-shot trimmed to its sound is part of the song (it plays at the start with the rest)
    sf.write(tmp_path / "Vox.wav", tone(2.0), SR)
    sf.write(tmp_path / "Crash.wav", tone(0.1), SR)
    sf.write(tmp_path / "Blip.wav", np.full((1, 1), 0.5, np.float32), SR)
    tracks = {t.name: t for t in load_tracks([tmp_path]).tracks.tracks}
    assert {name: len(t.audio) for name, t in tracks.items()} == {"Vox.wav": 2 * SR, "Crash.wav": 2 * SR,
                                                                   "Blip.wav": 2 * SR}
    np.testing.assert_allclose(tracks["Crash.wav"].audio[:SR // 10, 0], tone(0.1), atol=1e-4)   # 16-bit file
    assert not tracks["Crash.wav"].audio[SR // 10:].any() and tracks["Blip.wav"].audio[0, 0] == 0.5


def test_non_strict_loading_keeps_the_good_files(tmp_path):
    sf.write(tmp_path / "good.wav", tone(1.0), SR)
    (tmp_path / "bad.wav").write_text("nope")
    res = load_tracks([tmp_path], strict=False)
    assert [t.name for t in res.tracks.tracks] == ["good.wav"]
    assert res.failed[0][0].endswith("bad.wav")


def test_folders_skip_non_audio_and_empty_folders_are_errors(tmp_path):
    sf.write(tmp_path / "a.wav", tone(1.0), SR)
    (tmp_path / "notes.txt").write_text("x")
    res = load_tracks([tmp_path])
    assert len(res.tracks.tracks) == 1 and any("skipped 1" in n for n in res.notes)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no audio"):
        load_tracks([empty])
    with pytest.raises(NoAnalysableAudio):
        load_tracks([])


def test_duplicate_names_in_different_folders_get_distinct_ids(tmp_path):
    for folder in ("take1", "take2"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "Kick.wav", tone(1.0), SR)
    res = load_tracks([tmp_path / "take1", tmp_path / "take2"])
    ids = [t.id for t in res.tracks.tracks]
    assert len(set(ids)) == 2 and all("Kick.wav" in i for i in ids)


def test_too_large_sessions_are_refused_before_decoding(tmp_path):
    sf.write(tmp_path / "a.wav", tone(2.0), SR)
    with pytest.raises(InputError, match="too large"):
        load_tracks([tmp_path], max_bytes=1000)


@pytest.mark.slow
def test_loading_costs_about_one_copy_of_the_audio(tmp_path):
    """Peak RSS grows by the float32 audio plus a small overhead, not by several copies."""
    files, seconds, channels = 8, 60, 2
    for i in range(files):
        sf.write(tmp_path / f"t{i}.wav", (0.1 * np.random.default_rng(i).standard_normal((48000 * seconds, channels))).astype(np.float32),
                 48000, subtype="PCM_16")
    audio_bytes = files * 48000 * seconds * channels * 4
    script = textwrap.dedent(f"""
        import resource, numpy, soundfile, pyebur128
        from model.audio.tracks import load_tracks
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        r = load_tracks([{str(tmp_path)!r}])
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((after - before) * 1024)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": os.getcwd()})
    grown = int(out.stdout.strip())
    assert grown < 1.15 * audio_bytes + 64 * 1024**2, (grown, audio_bytes)


def test_non_strict_loading_lists_bad_paths_and_loads_the_rest(tmp_path):
    sf.write(tmp_path / "good.wav", tone(1.0), SR)
    (tmp_path / "loop.wav").symlink_to(tmp_path / "loop.wav")
    empty = tmp_path / "empty"
    empty.mkdir()
    res = load_tracks([tmp_path / "good.wav", tmp_path / "ghost.wav", tmp_path / "loop.wav", empty], strict=False)
    assert [t.name for t in res.tracks.tracks] == ["good.wav"]
    reasons = dict(res.failed)
    assert set(reasons) == {str(tmp_path / "ghost.wav"), str(tmp_path / "loop.wav"), str(empty)}
    assert "no audio files" in reasons[str(empty)]
    with pytest.raises(InputError):
        load_tracks([tmp_path / "good.wav", tmp_path / "ghost.wav"])


def _count_decodes(monkeypatch) -> list[str]:
    import model.audio.tracks as tracks_mod

    decoded: list[str] = []
    real = tracks_mod._decode_at_rate

    def counting(info, rate, length):
        decoded.append(os.path.basename(info.path))
        return real(info, rate, length)

    monkeypatch.setattr(tracks_mod, "_decode_at_rate", counting)
    return decoded


def _same_as_fresh(result, paths):
    fresh = load_tracks(paths)
    assert [t.id for t in result.tracks.tracks] == [t.id for t in fresh.tracks.tracks]
    assert result.tracks.sample_rate == fresh.tracks.sample_rate
    for a, b in zip(result.tracks.tracks, fresh.tracks.tracks):
        assert a.info == b.info and a.role == b.role
        np.testing.assert_array_equal(a.audio, b.audio)
    assert result.notes == fresh.notes


@pytest.mark.parametrize("new_seconds", [0.5, 3.0])  # shorter than the session, and longer (more padding)
def test_adding_a_file_reuses_the_unchanged_ones(tmp_path, monkeypatch, new_seconds):
    sf.write(tmp_path / "Kick.wav", tone(1.5, channels=1), SR)
    sf.write(tmp_path / "Bass.wav", tone(1.0, channels=2, freq=55), SR)
    sf.write(tmp_path / "Pad 48k.wav", tone(1.2, sr=48000, channels=2, freq=330), 48000)  # resampled
    first = load_tracks([tmp_path])
    (tmp_path / "more").mkdir()
    new = tmp_path / "more" / "Vox.flac"
    sf.write(new, tone(new_seconds, channels=2, freq=440), SR)
    decoded = _count_decodes(monkeypatch)
    paths = [t.path for t in first.tracks.tracks] + [str(new)]
    again = load_tracks(paths, reuse={os.path.abspath(t.path): t for t in first.tracks.tracks})
    assert decoded == ["Vox.flac"]
    assert again.reused == {"Kick.wav", "Bass.wav", "Pad 48k.wav"}
    _same_as_fresh(again, paths)


def test_a_rewritten_file_or_a_new_session_rate_is_decoded_again(tmp_path, monkeypatch):
    kick, bass = tmp_path / "Kick.wav", tmp_path / "Bass.wav"
    sf.write(kick, tone(1.0), SR)
    sf.write(bass, tone(1.0, freq=55), SR)
    first = load_tracks([kick, bass])
    before = {os.path.abspath(t.path): t for t in first.tracks.tracks}
    stat = os.stat(kick)
    sf.write(kick, tone(1.0, freq=880), SR)  # same header, other samples: a re-export
    os.utime(kick, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    decoded = _count_decodes(monkeypatch)
    again = load_tracks([kick, bass], reuse=before)
    assert decoded == ["Kick.wav"] and again.reused == {"Bass.wav"}
    _same_as_fresh(again, [kick, bass])

    # two 48 kHz files outvote the 44.1 kHz ones: the session rate changes and nothing is reused
    extra = [tmp_path / "A.wav", tmp_path / "B.wav", tmp_path / "C.wav"]
    for p in extra:
        sf.write(p, tone(1.0, sr=48000), 48000)
    decoded.clear()
    paths = [kick, bass, *extra]
    third = load_tracks(paths, reuse={os.path.abspath(t.path): t for t in again.tracks.tracks})
    assert third.tracks.sample_rate == 48000 and third.reused == frozenset()
    assert sorted(decoded) == ["A.wav", "B.wav", "Bass.wav", "C.wav", "Kick.wav"]
    _same_as_fresh(third, paths)


def test_a_song_title_before_each_track_name_does_not_decide_the_roles(tmp_path):
    """FL Studio names split-mixer stems "Project_Track": a title with a drum word must not make every file a drum,
    whether the files are loaded or streamed."""
    from model.audio.stream import session_tracks
    from model.audio.tracks import plan_session

    names = {"Drum Love_Voz.wav": "vocals", "Drum Love_Batería.wav": "drums", "Drum Love_Bajo.wav": "bass",
             "Drum Love_Piano.wav": "other"}
    for name in names:
        sf.write(tmp_path / name, tone(), SR)
    loaded = {t.name: t.role.role for t in load_tracks([tmp_path]).tracks.tracks}
    streamed = {t.name: t.role.role for t in session_tracks(plan_session([tmp_path])).tracks}
    assert loaded == streamed == names


def test_a_left_right_pair_of_mono_files_reads_as_the_stereo_file_it_was_bounced_from(tmp_path):
    """Kick.L/Kick.R (a multiple-mono bounce) play each on its side: loaded, streamed and previewed they give the
    role the loudness of the interleaved stereo file, not that of both sides on both speakers (3-6 LU more)."""
    from model.audio.dsp import loudness_lufs
    from model.audio.stream import analyse_session
    from model.audio.tracks import Gains, plan_session, role_mix

    rng = np.random.default_rng(0)
    left, right = (rng.standard_normal(SR * 12) * 0.1).astype(np.float32), (rng.standard_normal(SR * 12) * 0.05)
    pair, stereo = tmp_path / "pair", tmp_path / "stereo"
    pair.mkdir(), stereo.mkdir()
    sf.write(pair / "Kick.L.wav", left, SR, subtype="FLOAT")
    sf.write(pair / "Kick.R.wav", right.astype(np.float32), SR, subtype="FLOAT")
    sf.write(stereo / "Kick.wav", np.stack([left, right], 1).astype(np.float32), SR, subtype="FLOAT")
    for folder in (pair, stereo):
        sf.write(folder / "Lead Vox.wav", tone(12.0), SR)
    loaded = load_tracks([pair]).tracks
    drums = role_mix(loaded, Gains(), "drums")
    assert np.array_equal(drums, np.stack([left, right.astype(np.float32)], 1))
    expected = loudness_lufs(np.stack([left, right], 1).astype(np.float32), SR)
    assert abs(loudness_lufs(drums, SR) - expected) < 1e-6
    for folder in (pair, stereo):
        m = analyse_session(plan_session([folder]), processes=False).measurements
        assert abs(m.role_loudness([w.window for w in m.windows])["drums"] - expected) < 0.01


def test_an_mp3_decodes_the_same_read_whole_or_block_by_block(tmp_path):
    # python-soundfile seeks after each read, and libsndfile's MP3 decoder lost its bit reservoir there: a steady
    # bass decoded block by block fell to silence after the first block
    from model.audio.decode import BlockReader, probe, read_into

    x = np.stack([tone(20.0, 48000, freq=55.0, amp=0.25), tone(20.0, 48000, freq=82.5, amp=0.2)], axis=1)
    path = tmp_path / "Bass.mp3"
    with sf.SoundFile(str(path), "w", 48000, 2, "MPEG_LAYER_III") as out:
        for i in range(0, len(x), 8192):
            out.write(x[i:i + 8192])
    whole, _ = sf.read(str(path), dtype="float32", always_2d=True)
    info = probe(path)
    reader = BlockReader(info)
    blocks = np.concatenate([reader.read(12000) for _ in range(len(whole) // 12000 + 2)])
    reader.close()
    into = np.zeros((info.frames, 2), np.float32)
    read_into(info, into)
    assert len(blocks) == len(whole) and np.array_equal(blocks, whole) and np.array_equal(into[:len(whole)], whole)
    assert np.sqrt(np.mean(whole[48000:] ** 2)) > 0.1   # the tones play all through
