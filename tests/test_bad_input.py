"""Issue 6 §1: a corpus of bad and odd inputs through `mixingbuddy critique`.

Each case states the expected exit code: 2 with one clear line on stderr naming the
problem for bad input, 0 (with the right note or warning) for odd but valid input.
The corpus is generated here; nothing binary is committed.
"""

from __future__ import annotations

import os
import wave

import numpy as np
import pytest
import soundfile as sf

from mixingbuddy_app.cli import main as critique_main
from model.extras import missing_modules

SR = 44100


def music(seconds=12.0, sr=SR, seed=0, amp=0.1, channels=1):
    rng = np.random.default_rng(seed)
    env = np.repeat(rng.uniform(0.3, 1.0, int(seconds * 10) + 1), sr // 10)[: int(seconds * sr)]
    x = rng.standard_normal((int(seconds * sr), channels)) * amp * env[:, None]
    return x.astype(np.float32) if channels > 1 else x[:, 0].astype(np.float32)


def base_session(d, sr=SR, seconds=12.0):
    """A minimal valid session: vocals, drums, bass."""
    for i, name in enumerate(("Lead Vox.wav", "Drums.wav", "Bass.wav")):
        sf.write(d / name, music(seconds, sr, seed=i), sr)
    return [d]


def with_extra(d, name, writer):
    args = base_session(d)
    writer(d / name)
    return args


def truncated_header(p):
    sf.write(p, music(2.0), SR)
    p.write_bytes(p.read_bytes()[:30])


def extensible_float_w64(p):
    from tests.model.test_audio_loading import _as_wave64

    sf.write(p.with_suffix(".tmp"), music(2.0), SR, format="WAVEX", subtype="FLOAT")
    _as_wave64(p.with_suffix(".tmp"), p)
    p.with_suffix(".tmp").unlink()


def truncated_data(p):
    with wave.open(str(p), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(b"\x00\x01" * 10)
    data = bytearray(p.read_bytes())
    data[40:44] = (10_000_000).to_bytes(4, "little")  # claims far more data than present
    p.write_bytes(bytes(data))


def folder_of_500(d):
    base_session(d)
    for i in range(497):
        (d / f"notes_{i:03d}.txt").write_text("x")
    return [d]


def symlink_loop(d):
    base_session(d)
    (d / "loop_a.wav").symlink_to(d / "loop_b.wav")
    (d / "loop_b.wav").symlink_to(d / "loop_a.wav")
    return [d / "loop_a.wav", d]


def odd_names(d):
    for i, name in enumerate(("Lead Vox (final) ☆.wav", "Drüms $(rm -rf ~); `x` & 'y'.wav", "Bass \"DI\" | *.wav")):
        sf.write(d / name, music(seed=i), SR)
    return [d]


def duplicate_names(d):
    for sub in ("a", "b"):
        (d / sub).mkdir()
        base_session(d / sub)
    return [d / "a", d / "b"]


def different_lengths(d):
    for i, (name, secs) in enumerate((("Lead Vox.wav", 30.0), ("Drums.wav", 12.0), ("Bass.wav", 3.0))):
        sf.write(d / name, music(secs, seed=i), SR)
    return [d]


def channels(n):
    def make(d):
        base_session(d)
        sf.write(d / f"Keys {n}ch.wav", music(12.0, channels=n, seed=9) if n > 1 else music(12.0, seed=9), SR)
        return [d]
    return make


def rate(sr):
    def make(d):
        return base_session(d, sr=sr)
    return make


def mixed_rates(d):
    base_session(d)
    sf.write(d / "Keys.wav", music(12.0, 48000, seed=5), 48000)
    return [d]


def hot_float(d):
    base_session(d)
    sf.write(d / "Synth.wav", music(12.0, amp=4.0 / 3, seed=6), SR, subtype="FLOAT")  # peaks near +12 dBFS
    return [d]


def all_silent(d):
    for name in ("Lead Vox.wav", "Drums.wav", "Bass.wav"):
        sf.write(d / name, np.zeros(SR * 12, np.float32), SR)
    return [d]


def folder_of_songs(d):
    for song in ("Song A", "Song B"):
        (d / song).mkdir()
        base_session(d / song)
    (d / "Artwork").mkdir()
    (d / "Artwork" / "cover.txt").write_text("not audio")
    return [d]


def silent_anchor(d):
    base_session(d)
    sf.write(d / "Lead Vox.wav", np.zeros(SR * 12, np.float32), SR)
    return [d]


CASES = {
    # bad input: exit 2
    "text file named .wav": (2, "not a readable audio file", lambda d: with_extra(d, "Pad.wav", lambda p: p.write_text("hi"))),
    "truncated WAV header": (2, "not a readable audio file", lambda d: with_extra(d, "Pad.wav", truncated_header)),
    "AAC stem in the folder": (2, "Pad.m4a: M4A (AAC or Apple Lossless) files cannot be read; export this stem as WAV",
                               lambda d: with_extra(d, "Pad.m4a", lambda p: p.write_bytes(b"\0\0\0\x20ftypM4A " + bytes(64)))),
    "float Wave64 of the extensible format": (2, "Pad.w64: a float Wave64 file of the extensible format", lambda d:
                                              with_extra(d, "Pad.w64", extensible_float_w64)),
    "zero frames": (2, "no audio frames", lambda d: with_extra(d, "Pad.wav", lambda p: sf.write(p, np.zeros((0, 1)), SR))),
    "every file shorter than one loudness block": (2, "The longest file is 300 ms long", lambda d: (
        [sf.write(d / n, music(0.3, seed=i), SR) for i, n in enumerate(("Lead Vox.wav", "Drums.wav"))], [d])[1]),
    "NaN samples": (2, "NaN", lambda d: with_extra(d, "Pad.wav", lambda p: sf.write(p, np.full(SR, np.nan, np.float32), SR, subtype="FLOAT"))),
    "Inf samples": (2, "infinite", lambda d: with_extra(d, "Pad.wav", lambda p: sf.write(p, np.full(SR, np.inf, np.float32), SR, subtype="FLOAT"))),
    "all-silent stems": (2, "nothing to anchor", all_silent),
    "silent anchor": (2, "anchor role 'vocals'", lambda d: silent_anchor(d) + ["--anchor", "vocals"]),
    "symlink loop": (2, "loop_a.wav", symlink_loop),
    "missing file": (2, "no such file", lambda d: [d / "ghost.wav"]),
    "empty folder": (2, "no audio files", lambda d: [d]),
    "folder of song folders": (2, "Folders inside it are not searched (Song A, Song B hold audio): give one song's",
                               folder_of_songs),
    "folder given as a .wav name": (2, "no audio files", lambda d: ((d / "Stems.wav").mkdir(), [d / "Stems.wav"])[1]),
    "no vocals drums or bass": (2, "every audible stem is another instrument (Keys.wav, Pad.wav)", lambda d: (
        sf.write(d / "Pad.wav", music(), SR), sf.write(d / "Keys.wav", music(seed=4), SR), [d])[2]),
    "stems named Audio 1, 2, 3": (2, "the file names (Audio 1.wav, Audio 2.wav, Audio 3.wav) do not say what the "
                                     "stems hold. Set the stems' roles", lambda d: (
        [sf.write(d / f"Audio {i}.wav", music(seed=i), SR) for i in (1, 2, 3)], [d])[1]),
    "anchor other": (2, "anchor", lambda d: base_session(d) + ["--anchor", "other"]),
    "unknown anchor": (2, "neither a role", lambda d: base_session(d) + ["--anchor", "piano"]),
    "anchor role absent": (2, "No file is vocals, so the vocals cannot be the anchor", lambda d: (
        sf.write(d / "Drums.wav", music(), SR), [d, "--anchor", "vocals"])[1]),
    "one stem alone": (2, "Only the vocals are audible", lambda d: (sf.write(d / "Lead Vox.wav", music(), SR), [d])[1]),
    "the anchor track alone": (2, "Only the anchor track Lead Vox.wav is audible", lambda d: (
        sf.write(d / "Lead Vox.wav", music(), SR), [d, "--anchor", "Lead Vox.wav", "--profile", "electronic"])[1]),
    "window outside the song": (2, "starts after the song ends", lambda d: base_session(d) + ["--window", "100:120"]),
    "window reversed": (2, "END must be after START", lambda d: base_session(d) + ["--window", "8:2"]),
    "bad role override": (2, "Unknown role", lambda d: base_session(d) + ["--role", "Bass.wav=guitar"]),
    "role override for an unknown file": (2, "no loaded file", lambda d: base_session(d) + ["--role", "Nope.wav=bass"]),
    "llm advisor without a checkpoint": (2, "mixingbuddy[llm]" if missing_modules("llm") else "checkpoint",
                                         lambda d: base_session(d) + ["--advisor", "llm"]),
    "model options without --advisor llm": (2, "--checkpoint, --device apply to --advisor llm only", lambda d:
                                            base_session(d) + ["--checkpoint", str(d / "none"), "--device", "cpu"]),
    "an empty --profile": (2, "--profile needs a name or a file", lambda d: base_session(d) + ["--profile", ""]),
    "llm checkpoint folder missing": (2, "", lambda d: base_session(d) + ["--advisor", "llm", "--checkpoint", str(d / "none")]),
    # odd but valid input: exit 0
    "8 kHz": (0, "", rate(8000)),
    "192 kHz": (0, "", rate(192000)),
    "mixed rates": (0, "resampled to the session's 44.1 kHz", mixed_rates),
    "mono extra track": (0, "", channels(1)),
    "stereo extra track": (0, "", channels(2)),
    "6-channel extra track": (0, "Folded to stereo", channels(6)),
    "a multiple-mono bounce (Keys.L, Keys.R)": (0, "A left/right pair of mono files (named ... L and ... R) is played",
                                               lambda d: (base_session(d), sf.write(d / "Keys.L.wav", music(seed=5), SR),
                                                          sf.write(d / "Keys.R.wav", music(seed=6), SR))[0]),
    "8-channel extra track": (0, "Folded to stereo", channels(8)),
    "float file peaking near +12 dBFS": (0, "samples above full scale", hot_float),   # kept, not flattened
    "very different lengths": (0, "padded with silence", different_lengths),
    # an interrupted copy: read as far as it goes, with the doctor's warning (its header claims 1:53)
    "WAV data shorter than its header says": (0, "Pad.wav was cut short: the file ends at 0:00 of the 1:53", lambda d:
                                              with_extra(d, "Pad.wav", truncated_data)),
    # a one-shot (a crash, a riser's hit) trimmed to its sound: it plays with the others at the song's start
    "a 0.3 s one-shot stem": (0, "Crash.wav is shorter than the longest file", lambda d: with_extra(
        d, "Crash.wav", lambda p: sf.write(p, music(0.3, seed=7), SR))),
    "a one-frame stem": (0, "Pad.wav is shorter than the longest file", lambda d: with_extra(
        d, "Pad.wav", lambda p: sf.write(p, np.full(1, 0.1), SR))),
    "duplicate names in different folders": (0, "2 folders (a, b) hold files of the same names", duplicate_names),
    "spaces, unicode and shell metacharacters": (0, "", odd_names),
    "500 files, 3 of them audio": (0, "skipped 497", folder_of_500),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cli_corpus(case, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("MIXINGBUDDY_CHECKPOINT", raising=False)
    code, needle, make = CASES[case]
    work = tmp_path / "in"
    work.mkdir()
    args = [str(a) for a in make(work)]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if not p.is_symlink())
    rc = critique_main(args)
    out, err = capsys.readouterr()
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if not p.is_symlink())
    assert before == after, "the critique must not write anything"
    assert rc == code, (out, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mixingbuddy critique: error:"), err
        assert needle.lower() in lines[0].lower(), lines[0]
        assert "Traceback" not in err
    else:
        assert err == ""
        assert needle in out


def test_unreadable_file_is_refused(tmp_path, capsys, monkeypatch):
    """Permissions: as root nothing is unreadable, so the OS answer is simulated for one file."""
    base_session(tmp_path)
    import model.audio.decode

    real_access = os.access
    monkeypatch.setattr(model.audio.decode.os, "access",
                        lambda p, mode: False if str(p).endswith("Bass.wav") else real_access(p, mode))
    assert critique_main([str(tmp_path)]) == 2
    assert "Bass.wav: permission denied" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file, so a real permission error cannot be made")
def test_unreadable_file_for_real(tmp_path, capsys):
    base_session(tmp_path)
    (tmp_path / "Bass.wav").chmod(0)
    assert critique_main([str(tmp_path)]) == 2
    assert "permission denied" in capsys.readouterr().err


@pytest.mark.slow
def test_two_hour_file_loads_within_the_memory_bound(tmp_path, capsys):
    """A 2-hour 8 kHz vocal beside short stems: loaded (230 MB as float32) and judged, or refused clearly."""
    with sf.SoundFile(tmp_path / "Lead Vox.wav", "w", 8000, 1, subtype="PCM_16") as f:
        block = music(60.0, 8000, seed=1)
        for _ in range(120):
            f.write(block)
    sf.write(tmp_path / "Drums.wav", music(60.0, 8000, seed=2), 8000)
    rc = critique_main([str(tmp_path)])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "2:00:00" in out or "120:00" in out


# --- third-party chatter: libmpg123 prints notes straight to file descriptor 2 ----------------------

def random_mp3(path):
    path.write_bytes(np.random.default_rng(11).bytes(20000))


def mp3_corrupt_in_the_middle(path):
    sf.write(path, music(6.0, 48000, seed=12), 48000, format="MP3")
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third:third + 3000] = np.random.default_rng(13).bytes(3000)
    path.write_bytes(bytes(data))


@pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile has no MP3 support")
@pytest.mark.parametrize("make", [random_mp3, mp3_corrupt_in_the_middle])
def test_corrupt_mp3_is_one_true_line_without_decoder_chatter(tmp_path, capfd, make):
    """capfd sees file descriptor 2 itself, where libmpg123's "Note: Illegal Audio-MPEG-Header" would land."""
    base_session(tmp_path)
    make(tmp_path / "Synth.mp3")
    assert critique_main([str(tmp_path)]) == 2
    out, err = capfd.readouterr()
    assert err.splitlines() == [err.strip()], err  # one line, nothing else on stderr
    assert "Synth.mp3" in err and "not a valid MP3 stream" in err, err
    assert "does not exist" not in err and "Note:" not in err and "mpg123" not in err


def test_chatter_guard_keeps_other_output_and_restores_stderr(capfd):
    """Lines that are not decoder chatter come back after the guard; fd 2 is the same file after many threads."""
    import threading

    from model.audio.decode import library_chatter_hidden

    before = os.fstat(2)
    with library_chatter_hidden():
        os.write(2, b"Note: Illegal Audio-MPEG-Header 0x00000000 at offset 19996.\n")
        os.write(2, b"a python warning printed meanwhile\n")

    def decode_like():
        for _ in range(200):
            with library_chatter_hidden():
                os.write(2, b"Note: Trying to resync...\n")

    threads = [threading.Thread(target=decode_like) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
    assert capfd.readouterr().err == "a python warning printed meanwhile\n"
