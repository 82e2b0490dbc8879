"""Files cut short (an interrupted export, copy or download): found from the container, reported as a warning."""

import re
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model.audio.decode import probe
from model.audio.doctor import check_session
from model.audio.stream import analyse_files
from model.audio.tracks import load_tracks
from model.audio.truncation import _mp3_header, cut_short, mp3_reads_short, ogg_crc

SR = 48000
REAL = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "evr" / "Potassium"


def music(seconds, seed=0):
    """Stereo noise bursts: audible everywhere, so the doctor has something to read."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((int(seconds * SR), 2)).astype(np.float32) * 0.1
    x *= (0.5 + 0.5 * np.sin(np.arange(len(x)) / SR * 2 * np.pi * 2))[:, None].astype(np.float32)
    return x


def write(path, seconds, keep=None, seed=0, **kw):
    """Write ``seconds`` of audio, then keep only the first ``keep`` share of the file's bytes."""
    sf.write(path, music(seconds, seed), SR, **kw)
    if keep is not None:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
    return path


def cut_findings(findings):
    return [f for f in findings if f.code == "truncated_file"]


def test_a_cut_ogg_file_is_a_warning_naming_it_and_where_it_stops(tmp_path):
    write(tmp_path / "Kick.ogg", 10.0, keep=0.4, seed=1)
    write(tmp_path / "Snare.ogg", 10.0, seed=2)
    found = check_session(load_tracks([tmp_path]).tracks)
    (cut,) = cut_findings(found)
    assert cut.severity == "warning" and cut.track_ids == ("Kick.ogg",)
    assert cut.message.startswith("Kick.ogg was cut short: the file ends at ")
    assert re.search(r"ends at 0:0[2-5] without its end-of-stream marker", cut.message), cut.message
    # its shortness is the cut, not the "shorter, padded, this is normal" note
    assert not any(f.code == "length_mismatch" for f in found)


def test_the_streamed_analysis_reports_the_cut_too(tmp_path):
    write(tmp_path / "Kick.opus", 6.0, keep=0.5, seed=1, format="OGG", subtype="OPUS")
    write(tmp_path / "Snare.ogg", 6.0, seed=2)
    found = analyse_files([tmp_path]).findings
    assert [f.track_ids for f in cut_findings(found)] == [("Kick.opus",)]
    assert "length_mismatch" not in {f.code for f in found}


def test_intact_files_and_an_intact_shorter_file_are_not_cut(tmp_path):
    write(tmp_path / "Vox.ogg", 10.0, seed=1)
    write(tmp_path / "Kick.ogg", 4.0, seed=2)      # ends early on purpose, as DAWs trim exports
    write(tmp_path / "Bass.wav", 4.0, seed=3)
    found = check_session(load_tracks([tmp_path]).tracks)
    assert cut_findings(found) == []
    (short,) = [f for f in found if f.code == "length_mismatch"]
    assert set(short.track_ids) == {"Kick.ogg", "Bass.wav"} and short.severity == "info"


@pytest.mark.parametrize("name, kw", [("a.wav", {}), ("a.aiff", {}), ("a.w64", {}), ("a.rf64", {}),
                                      ("a.aifc", {"format": "AIFF", "subtype": "FLOAT"})])
def test_a_pcm_data_chunk_longer_than_the_file_is_a_cut(tmp_path, name, kw):
    whole = write(tmp_path / name, 10.0, **kw)
    assert cut_short(probe(whole)) is None
    cut = cut_short(probe(write(tmp_path / f"cut_{name}", 10.0, keep=0.4, **kw)))
    assert cut is not None and cut.declared_s == pytest.approx(10.0, abs=0.01)
    assert cut.ends_s == pytest.approx(4.0, abs=0.05)
    assert cut.where() == "ends at 0:04 of the 0:10 its header declares"


def test_a_cut_wav_names_the_length_its_header_declares(tmp_path):
    write(tmp_path / "Kick.wav", 10.0, keep=0.3, seed=1)
    write(tmp_path / "Snare.wav", 10.0, seed=2)
    (cut,) = cut_findings(check_session(load_tracks([tmp_path]).tracks))
    assert "Kick.wav was cut short: the file ends at 0:03 of the 0:10 its header declares" in cut.message


def test_an_mp3_shorter_than_its_xing_tag_is_a_cut(tmp_path):
    """libsndfile takes an MP3's length from its Xing tag: a cut one reads full length and decodes short."""
    kw = {"format": "MP3", "subtype": "MPEG_LAYER_III"}
    try:
        whole = write(tmp_path / "a.mp3", 10.0, **kw)
    except (sf.LibsndfileError, TypeError, ValueError) as exc:
        pytest.skip(f"this libsndfile writes no MP3: {exc}")
    assert cut_short(probe(whole)) is None
    cut = cut_short(probe(write(tmp_path / "cut.mp3", 10.0, keep=0.5, **kw)))
    assert cut is not None and cut.declared_s == pytest.approx(10.0, abs=0.1)
    assert cut.ends_s == pytest.approx(5.0, abs=0.5)


def untagged_mp3(path, seconds, seed=0):
    """An MP3 without a length tag: libsndfile writes a variable-bitrate one whose first frame holds the Xing
    tag; that frame is dropped (it decodes to silence)."""
    try:
        write(path, seconds, seed=seed, format="MP3", subtype="MPEG_LAYER_III")
    except (sf.LibsndfileError, TypeError, ValueError) as exc:
        pytest.skip(f"this libsndfile writes no MP3: {exc}")
    data = path.read_bytes()
    tag = data.find(b"Xing")
    assert 0 < tag < 64, "libsndfile's MP3 starts with a Xing frame"
    second = data.find(data[:2], tag)      # the next frame's sync word and version bits
    path.write_bytes(data[second:])
    return path


def test_an_mp3_without_a_length_tag_cut_inside_a_frame_is_a_cut(tmp_path):
    whole = untagged_mp3(tmp_path / "a.mp3", 10.0)
    data = whole.read_bytes()
    ape = b"\0" * 2016 + b"APETAGEX" + struct.pack("<4I8x", 2000, 2048, 0, 0)   # an APEv2 tag, longer than a frame
    tags = ape + b"TAG" + b"\0" * 125                                               # and an ID3v1 tag
    (tmp_path / "cut.mp3").write_bytes(data[: len(data) // 2 + 101])
    (tmp_path / "cut_tags.mp3").write_bytes(data[: len(data) // 2 + 101] + tags)
    (tmp_path / "tags.mp3").write_bytes(data + tags)
    (tmp_path / "junk.mp3").write_bytes(data + b"\0" * 300)
    for name in ("cut.mp3", "cut_tags.mp3"):
        cut = cut_short(probe(tmp_path / name))
        assert cut is not None and cut.declared_s is None and cut.ends_s == pytest.approx(5.0, abs=0.6)
        assert re.fullmatch(r"ends at 0:0[4-6] inside an MP3 frame", cut.where())
    for intact in ("a.mp3", "tags.mp3", "junk.mp3"):   # whole, with end tags, with bytes after the last frame
        assert cut_short(probe(tmp_path / intact)) is None, intact


def test_a_variable_bitrate_mp3_without_a_length_tag_says_its_end_cannot_be_read(tmp_path):
    """libsndfile guesses such a file's length from its first frame's bitrate and reads no further."""
    untagged_mp3(tmp_path / "Pad.mp3", 10.0, seed=1)
    write(tmp_path / "Vox.wav", 10.0, seed=2)
    write(tmp_path / "Tagged.mp3", 10.0, seed=3, format="MP3", subtype="MPEG_LAYER_III")
    info = probe(tmp_path / "Pad.mp3")
    assert info.duration_s < 9.0                    # what libsndfile reads of it (the guess)
    assert mp3_reads_short(info) == (info.duration_s, pytest.approx(10.0, abs=0.1))
    assert mp3_reads_short(probe(tmp_path / "Tagged.mp3")) is None
    found = check_session(load_tracks([tmp_path]).tracks)
    (short,) = [f for f in found if f.code == "mp3_length_guessed"]
    assert short.severity == "warning" and short.track_ids == ("Pad.mp3",)
    assert re.match(r"Pad.mp3 is a variable-bitrate MP3 without a length tag: only its first 0:0\d of 0:10 can be "
                    r"read", short.message), short.message
    assert "length_mismatch" not in {f.code for f in found}   # its shortness is explained, not "normal"


def test_an_untagged_mp3_libsndfile_guesses_too_long_is_as_long_as_its_frames(tmp_path):
    """Starting on a low-bitrate frame, the guess from the first frame runs past the end: the probe takes the
    frames' length, so the file is neither padded with silence nor makes the others look short."""
    data = untagged_mp3(tmp_path / "a.mp3", 10.0).read_bytes()
    starts, pos = [], 0
    while (header := _mp3_header(data[pos:pos + 4])) is not None:
        starts.append((header[0], pos))
        pos += header[0]
    _, low = min(starts[5:])                       # the smallest (lowest-bitrate) frame past the start
    (tmp_path / "low.mp3").write_bytes(data[low:])
    guessed = sf.info(str(tmp_path / "low.mp3")).duration
    decoded = len(sf.read(str(tmp_path / "low.mp3"))[0]) / SR
    assert guessed > decoded + 0.5                 # what libsndfile's header guess says vs what it decodes
    assert probe(tmp_path / "low.mp3").duration_s == pytest.approx(decoded, abs=0.001)
    assert cut_short(probe(tmp_path / "low.mp3")) is None and mp3_reads_short(probe(tmp_path / "low.mp3")) is None


def test_what_follows_the_last_ogg_page_decides(tmp_path):
    """A page cut at its end misses the end-of-stream flag; bytes appended to a whole file are no cut."""
    whole = write(tmp_path / "a.ogg", 4.0)
    data = whole.read_bytes()
    last = data.rfind(b"OggS")
    (tmp_path / "page.ogg").write_bytes(data[:last])              # ends on a page boundary, before the last page
    (tmp_path / "junk.ogg").write_bytes(data + b"\0" * 300)       # a whole file with padding after it
    assert cut_short(probe(whole)) is None
    assert cut_short(probe(tmp_path / "page.ogg")) is not None
    assert cut_short(probe(tmp_path / "junk.ogg")) is None


def test_ogg_crc_matches_the_pages_a_real_encoder_writes(tmp_path):
    data = write(tmp_path / "a.ogg", 1.0).read_bytes()
    length = 27 + data[26] + sum(data[27:27 + data[26]])
    page = data[:length]
    assert ogg_crc(page[:22] + b"\0\0\0\0" + page[26:]) == int.from_bytes(page[22:26], "little")


def test_an_unreadable_or_unknown_file_is_not_called_cut(tmp_path):
    info = probe(write(tmp_path / "a.flac", 2.0))
    assert cut_short(info) is None
    (tmp_path / "a.flac").unlink()
    assert cut_short(info) is None


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/realdata (real music) is absent")
def test_the_real_kick_cut_at_300000_bytes_is_reported(tmp_path):
    """Potassium's KICK.ogg cut to its first 300,000 bytes (0:51 of 4:10) beside the whole SNARE.ogg."""
    (tmp_path / "KICK.ogg").write_bytes((REAL / "KICK.ogg").read_bytes()[:300000])
    (tmp_path / "SNARE.ogg").symlink_to(REAL / "SNARE.ogg")
    found = analyse_files([tmp_path]).findings
    (cut,) = cut_findings(found)
    assert cut.track_ids == ("KICK.ogg",) and cut.severity == "warning"
    assert "KICK.ogg was cut short: the file ends at 0:51 without its end-of-stream marker" in cut.message
    assert "length_mismatch" not in {f.code for f in found}
