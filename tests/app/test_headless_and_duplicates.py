"""Bad input at the edges: no display for the window, the same file or folder given twice, a backing vocal
given as the lead-vocal anchor. Each gets one true line (exit 2) or a note, and nothing is lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from resources import DEMO_DIR
from tests.app.conftest import load, make_stems

REPO = Path(__file__).resolve().parents[2]
RATE = 44100


def _clean_env(**extra: str) -> dict[str, str]:
    """The user's environment without a display or a Qt platform (a server, a container, an ssh session)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["MIXINGBUDDY_DEBUG"] = "0"
    env.update(extra)
    return env


def _mixingbuddy(*args, env=None, timeout=180, cwd=None):
    return subprocess.run([sys.executable, "-m", "mixingbuddy_app", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd or REPO, env=env or _clean_env())


def _tone(path: Path, freq: float, amp: float, seconds: float = 4.0) -> Path:
    t = np.arange(int(RATE * seconds)) / RATE
    sf.write(str(path), (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32), RATE, subtype="FLOAT")
    return path


def _kick(path: Path, seconds: float = 4.0) -> Path:
    n = int(RATE * seconds)
    x = np.zeros(n)
    for start in range(0, n, RATE // 2):
        m = min(n - start, RATE // 4)
        x[start:start + m] = 0.6 * np.exp(-np.arange(m) / (0.04 * RATE)) * np.sin(2 * np.pi * 60 * np.arange(m) / RATE)
    sf.write(str(path), x.astype(np.float32), RATE, subtype="FLOAT")
    return path


# --- 1. the window with no display ------------------------------------------------------------------------

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY/WAYLAND_DISPLAY are how Linux finds one")
def test_no_display_is_one_line_and_exit_2_not_an_abort():
    out = _mixingbuddy(DEMO_DIR, timeout=60)
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "No display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset)" in lines[0]
    assert "mixingbuddy critique PATH" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0]
    assert "qt.qpa" not in out.stderr and "Traceback" not in out.stderr and out.stdout == ""


def test_no_display_rule_leaves_a_chosen_platform_to_qt():
    from mixingbuddy_app.gui import no_display

    assert no_display({}, "linux")
    assert no_display({"DISPLAY": "", "WAYLAND_DISPLAY": ""}, "linux")
    for platform in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "xcb"):
        assert not no_display({"QT_QPA_PLATFORM": platform}, "linux"), platform
    assert not no_display({"DISPLAY": ":0"}, "linux")
    assert not no_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not no_display({}, "darwin") and not no_display({}, "win32")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the no-display case is Linux's")
def test_offscreen_platform_still_opens_the_window_without_a_display():
    out = _mixingbuddy("--quit-when-shown", env=_clean_env(QT_QPA_PLATFORM="offscreen", MIXINGBUDDY_NO_AUDIO="1"),
                       timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "shown"
    assert "No display" not in out.stderr


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the no-display case is Linux's")
def test_smoke_needs_no_display():
    out = _mixingbuddy("--smoke", timeout=300)   # --smoke picks the offscreen platform itself
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ready: ")


# --- 2. the same input given more than once ------------------------------------------------------------------

def test_folder_given_twice_counts_its_tracks_once_and_says_so():
    once, twice = _mixingbuddy("critique", DEMO_DIR), _mixingbuddy("critique", DEMO_DIR, DEMO_DIR)
    assert once.returncode == 0 and twice.returncode == 0, twice.stderr
    assert "7 tracks" in once.stdout.splitlines()[0]
    assert "7 tracks" in twice.stdout.splitlines()[0], twice.stdout.splitlines()[0]
    assert "Given more than once, counted once: demo (folder)." in twice.stdout
    assert "Given more than once" not in once.stdout
    assert twice.stderr == ""


def _kick_session(folder: Path) -> Path:
    folder.mkdir()
    _tone(folder / "Lead Vox.wav", 330, 0.2)
    _kick(folder / "Kick.wav")
    return folder


def _drums_vs_anchor(out) -> tuple[int, float]:
    data = json.loads(out.stdout)
    drums = data["measurements"]["roles"]["drums"]
    return drums["tracks"], drums["rel_anchor_lu"]


def test_same_file_twice_does_not_double_its_level(tmp_path):
    folder = _kick_session(tmp_path / "song")
    kick = folder / "Kick.wav"
    once = _mixingbuddy("critique", folder, "--json")
    assert once.returncode == 0, once.stderr
    tracks, level = _drums_vs_anchor(once)
    assert tracks == 1
    for again in ([folder, kick], [kick, folder], [folder, folder / ".." / "song" / "Kick.wav"]):
        out = _mixingbuddy("critique", *again, "--json")
        assert out.returncode == 0, out.stderr
        assert _drums_vs_anchor(out) == (1, level), again   # not +6 LU for a kick counted twice
        text = _mixingbuddy("critique", *again)
        assert "Given more than once, counted once: Kick.wav." in text.stdout, again


def test_a_symlink_or_relative_spelling_of_a_given_file_counts_once(tmp_path):
    folder = _kick_session(tmp_path / "song")
    link = tmp_path / "kick link.wav"
    try:
        link.symlink_to(folder / "Kick.wav")
    except OSError:
        pytest.skip("no symlinks here")
    out = _mixingbuddy("critique", "song/Kick.wav", "./song/Lead Vox.wav", link, tmp_path / "song" / "Kick.wav",
                       cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "2 tracks" in out.stdout.splitlines()[0], out.stdout.splitlines()[0]
    assert "Given more than once, counted once: kick link.wav, Kick.wav." in out.stdout


def test_loader_keeps_the_first_spelling_and_notes_the_rest(tmp_path):
    from model.audio.tracks import expand_paths, load_tracks

    folder = _kick_session(tmp_path / "song")
    (folder / "notes.txt").write_text("not audio")
    (folder / "._Kick.wav").write_bytes(b"\x00\x05\x16\x07" + bytes(80))   # a Mac's resource fork of Kick.wav
    files, notes, refused = expand_paths([folder / "Kick.wav", folder, str(folder) + "/", folder / "Kick.wav"])
    assert files == [folder / "Kick.wav", folder / "Lead Vox.wav"] and refused == []
    assert notes == ["song: skipped 1 non-audio entry (notes.txt).",
                     "Given more than once, counted once: Kick.wav, song (folder)."]
    loaded = load_tracks([folder, folder])
    assert [t.name for t in loaded.tracks.tracks] == ["Kick.wav", "Lead Vox.wav"]
    assert "Given more than once, counted once: song (folder)." in loaded.notes


def test_app_adding_the_same_folder_again_does_not_double_the_tracks(qtbot, make_window, tmp_path):
    make_stems(tmp_path / "export")
    w = make_window()
    c = load(qtbot, w, [tmp_path / "export"])
    assert len(c.project.tracks.tracks) == 4
    load(qtbot, w, [tmp_path / "export"])          # dropped again, added to the open session
    names = [t.name for t in c.project.tracks.tracks]
    assert len(names) == 4 and len(set(names)) == 4, names
    assert any(n.startswith("Given more than once, counted once:") for n in c.project.load_notes)


# --- 3. a backing vocal as the lead-vocal anchor ----------------------------------------------------------------

@pytest.fixture
def vocal_session(tmp_path) -> Path:
    folder = tmp_path / "song"
    folder.mkdir()
    _tone(folder / "Lead Vox.wav", 330, 0.2)
    _tone(folder / "BGV Echo.wav", 440, 0.05)
    _kick(folder / "Drums.wav")
    return folder


def test_backing_vocal_anchor_is_judged_as_asked_with_a_warning(vocal_session):
    # the app lets a producer anchor on any vocals track; the CLI does too, and says what the name suggests
    out = _mixingbuddy("critique", vocal_session, "--profile", "electronic", "--anchor", "bgv echo", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["anchor_track"] == "BGV Echo.wav"
    warned = [w for w in data["warnings"] if "named like a backing vocal" in w["message"]]
    assert len(warned) == 1 and warned[0]["severity"] == "warning"
    lead = json.loads(_mixingbuddy("critique", vocal_session, "--profile", "electronic", "--anchor", "Lead Vox",
                                   "--json").stdout)
    assert not [w for w in lead["warnings"] if "backing" in w["message"]]


def test_lead_and_neutrally_named_vocals_stay_valid_anchors(vocal_session):
    out = _mixingbuddy("critique", vocal_session, "--profile", "electronic", "--anchor", "Lead Vox.wav", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["anchor_track"] == "Lead Vox.wav" and data["measurements"]["anchor"] == "lead vocal"
    (vocal_session / "Lead Vox.wav").rename(vocal_session / "Vox.wav")
    out = _mixingbuddy("critique", vocal_session, "--profile", "electronic", "--anchor", "Vox", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["anchor_track"] == "Vox.wav"
    out = _mixingbuddy("critique", vocal_session, "--profile", "electronic", "--anchor", "vocals", "--json")
    assert out.returncode == 0, out.stderr   # the role, backing vocal and all, stays a valid anchor


def test_backing_vocal_names_are_read_as_the_lead_vocal_finder_reads_them():
    from model.audio.roles import named_like_backing_vocal

    for backing in ("BGVOX ECHO.ogg", "Harmony Vox.wav", "Lead Vox Dbl.wav", "Choir.wav", "Backing Vocals.wav"):
        assert named_like_backing_vocal(backing), backing
    for neutral in ("Vocal.wav", "Vox.wav", "VOX LEAD.ogg", "Main Vox.wav"):
        assert not named_like_backing_vocal(neutral), neutral
