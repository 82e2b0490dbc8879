"""`mixingbuddy profile fit|show` and `critique --profile` on bad input: one line on stderr, exit 2, nothing written,
and the songs are checked before any is measured (run as a user would, in a subprocess)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from resources import DEMO_DIR, PROFILES_DIR


def mb(*args, env_extra=None):
    env = {**os.environ, "MIXINGBUDDY_DEBUG": "0", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "mixingbuddy_app", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


def refused(out, *words):
    """Exit 2, exactly one stderr line naming ``words``, no Python internals (and so nothing was measured)."""
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr
    assert len(lines) == 1, out.stderr
    assert all(w in lines[0] for w in words), lines[0]
    for leak in ("Traceback", "internal error", "has no attribute", "subscriptable", "Errno", "KeyError", "unpack"):
        assert leak not in lines[0], lines[0]
    return lines[0]


def another_song(folder: Path) -> Path:
    """A second song: the demo's stems 1 dB down (a plain copy is the same song given twice, which fit refuses)."""
    import soundfile as sf

    folder.mkdir()
    for f in sorted(DEMO_DIR.glob("*.flac")):
        audio, rate = sf.read(f, always_2d=True)
        sf.write(folder / f.name, audio * 10 ** (-1 / 20), rate)
    return folder


@pytest.fixture()
def second_song(tmp_path):
    return another_song(tmp_path / "song2")


@pytest.fixture()
def fit(tmp_path):
    """fit(*args) runs `profile fit ... --name t` with the user profile folder in tmp_path."""
    def run(*args):
        return mb("profile", "fit", *args, "--name", "t",
                  env_extra={"MIXINGBUDDY_PROFILE_DIR": str(tmp_path / "profiles")})
    return run


def test_profile_without_a_command_says_which_ones_there_are():
    line = refused(mb("profile"), "give a command", "fit", "list", "show")
    assert "--help" in line
    helped = mb("profile", "--help")
    assert helped.returncode == 0 and "fit" in helped.stdout


def test_an_empty_profile_name_is_refused_also_when_out_names_the_file(tmp_path, second_song):
    out_file = tmp_path / "p.json"
    refused(mb("profile", "fit", DEMO_DIR, second_song, "--name", " ", "--out", out_file), "--name needs a name")
    assert not out_file.exists()


def test_a_profile_given_as_the_stems_is_told_apart_from_a_bad_session():
    line = refused(mb("critique", PROFILES_DIR / "electronic.json"), "is a balance profile, not a session")
    assert "--profile FILE" in line and "None" not in line


def test_one_song_is_refused_before_measuring(tmp_path, fit):
    out_file = tmp_path / "p.json"
    refused(fit(DEMO_DIR, "--out", out_file), "at least 2 songs")
    refused(fit(DEMO_DIR), "at least 2 songs")
    assert not out_file.exists() and not (tmp_path / "profiles").exists()


def test_the_same_song_twice_is_refused(tmp_path, fit):
    out_file = tmp_path / "p.json"
    (tmp_path / "link").symlink_to(DEMO_DIR, target_is_directory=True)
    for other in (DEMO_DIR, f"{DEMO_DIR}{os.sep}.", tmp_path / "link"):
        refused(fit(DEMO_DIR, other, "--out", out_file), "same song", "twice")
    assert not out_file.exists()


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux's read-only /sys")
def test_unwritable_out_is_refused_before_measuring(tmp_path, fit, second_song):
    refused(fit(DEMO_DIR, second_song, "--out", "/sys/mb_test.json"), "cannot write", "/sys")
    assert not Path("/sys/mb_test.json").exists()


def test_out_that_is_a_folder_or_in_a_missing_folder_is_refused(tmp_path, fit, second_song):
    refused(fit(DEMO_DIR, second_song, "--out", tmp_path), "is a folder")
    missing = tmp_path / "nodir"
    refused(fit(DEMO_DIR, second_song, "--out", missing / "z.json"), "the folder", "does not exist")
    assert not missing.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song2"]  # no profile, no temporary file left


def test_role_for_a_file_no_song_has_is_refused(tmp_path, fit, second_song):
    out_file = tmp_path / "p.json"
    refused(fit(DEMO_DIR, second_song, "--role", "nosuch.wav=bass", "--out", out_file), "nosuch.wav", "no song")
    assert not out_file.exists()


def test_every_song_is_checked_before_any_is_measured(tmp_path, fit):
    out_file = tmp_path / "p.json"
    (tmp_path / "empty").mkdir()
    refused(fit(DEMO_DIR, tmp_path / "empty", "--out", out_file), "empty", "no audio files")
    refused(fit(DEMO_DIR, tmp_path / "nosuch", "--out", out_file), "nosuch", "no such file or folder")
    assert not out_file.exists()


def test_a_copy_of_a_song_is_the_same_song_given_twice(tmp_path, fit):
    """A copy of a song's folder is refused (only the same path given twice was); a folder sharing most of its
    files byte for byte with another (one stem re-exported) fits, and the fit says so (it said nothing)."""
    copy = Path(shutil.copytree(DEMO_DIR, tmp_path / "copy"))
    refused(fit(DEMO_DIR, copy, "--out", tmp_path / "p.json"), "copy holds copies of", "the same song given twice")
    import soundfile as sf

    bass, rate = sf.read(copy / "04 Bass DI.flac", always_2d=True)
    sf.write(copy / "04 Bass DI.flac", bass * 0.5, rate)       # the bass re-exported 6 dB down
    out = fit(DEMO_DIR, copy, "--out", tmp_path / "p.json")
    assert out.returncode == 0, out.stderr
    said = "copy and demo share 6 of their files byte for byte (the same song twice?)"
    assert said in out.stdout and json.loads((tmp_path / "p.json").read_text())["provenance"][
        "songs_sharing_files"] == [said]


def test_good_songs_still_fit(tmp_path, fit, second_song):
    out_file = tmp_path / "p.json"
    out = fit(DEMO_DIR, second_song, "--role", "07 Keys Pad.flac=bass", "--out", out_file)
    assert out.returncode == 0, out.stderr
    assert "2 song(s): demo, song2" in out.stdout and json.loads(out_file.read_text())["pairs"]


def test_a_song_of_one_role_is_said_to_teach_nothing(tmp_path, fit):
    """A folder holding only the lead vocal fits (the demo carries the profile), and the summary says so."""
    one = another_song(tmp_path / "one")   # another song's lead vocal alone
    for f in one.iterdir():
        if f.name != "05 Lead Vox.flac":
            f.unlink()
    out = fit(DEMO_DIR, one, "--out", tmp_path / "p.json")
    assert out.returncode == 0, out.stderr
    assert "learned nothing from one: no two roles play together in it (check the roles" in out.stdout
    assert json.loads((tmp_path / "p.json").read_text())["provenance"]["songs_without_pairs"] == ["one"]
    assert "learned nothing" not in fit(DEMO_DIR, another_song(tmp_path / "two"), "--out", tmp_path / "q.json").stdout


def electronic():
    return json.loads((PROFILES_DIR / "electronic.json").read_text())


def drums_vocals(**change):
    def edit(d):
        pair = d["pairs"]["drums|vocals"]
        pair.update(change)
        for k in [k for k, v in change.items() if v is None]:
            del pair[k]
    return edit


BAD_PROFILES = {
    "tonal not an object": (lambda d: d.update(tonal=[1, 2]), '"tonal" is not an object'),
    "tonal role not an object": (lambda d: d["tonal"].update(drums=[1]), "tonal.drums is not an object"),
    "tonal NaN": (lambda d: d["tonal"]["drums"]["median_db"].__setitem__(0, float("nan")), "tonal.drums.median_db"),
    "NaN median": (drums_vocals(median=float("nan")), "pair drums|vocals has no numeric median (it is NaN)"),
    "infinite q75": (drums_vocals(q75=float("inf")), "pair drums|vocals has no numeric q75"),
    "text median": (drums_vocals(median="loud"), "pair drums|vocals has no numeric median"),
    "missing q25": (drums_vocals(q25=None), "pair drums|vocals has no numeric q25"),
    "text spread": (drums_vocals(spread_lu="wide"), "pair drums|vocals has no numeric spread_lu"),
    "negative spread": (drums_vocals(spread_lu=-1.0), "pair drums|vocals has a negative spread"),
    "song offsets a list": (drums_vocals(song_offsets=[1.0]), "pair drums|vocals has song_offsets that are not an"),
    "text song offset": (drums_vocals(song_offsets={"Hydrogen": "loud"}),
                         "pair drums|vocals song_offsets has no numeric Hydrogen"),
    "pairs a list": (lambda d: d.update(pairs=[1]), '"pairs" is not an object'),
    "pairs null": (lambda d: d.update(pairs=None), '"pairs" is not an object'),
    "pair a list": (lambda d: d["pairs"].update({"drums|vocals": [1]}), "pair drums|vocals is not an object"),
    "pair null": (lambda d: d["pairs"].update({"drums|vocals": None}), "pair drums|vocals is not an object"),
    "bad pair name": (lambda d: d["pairs"].update({"drumsvocals": {}}), "'drumsvocals' is not a role"),
    "a list": (lambda d: [d], "it is not a JSON object"),
    "some other JSON": (lambda d: {"a": 1}, 'it is not a balance profile (it has no "format"'),
}


@pytest.mark.parametrize("case", BAD_PROFILES)
def test_malformed_profile_is_refused_at_load(tmp_path, case):
    edit, words = BAD_PROFILES[case]
    data = electronic()
    data = edit(data) or data  # an edit returns new data, or changes it in place
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))  # NaN and Infinity as Python's json writes them
    for args in (("profile", "show", path), ("critique", DEMO_DIR, "--profile", path, "--json"),
                 ("critique", DEMO_DIR, "--profile", path, "--tonal")):
        line = refused(mb(*args), words)
        assert f"The profile {path} is not usable: " in line


def test_unreadable_profile_says_so_in_one_line(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{nope")
    refused(mb("profile", "show", path), f"The profile {path} is not usable: it is not valid JSON")
    path.write_bytes(b"\xff\xfe\x00")
    refused(mb("critique", DEMO_DIR, "--profile", path), "not a text file")


def test_shipped_and_format_1_profiles_still_show(tmp_path):
    old = {"format": "mixingbuddy.balance_profile/1", "pairs": {"drums|vocals": {"median": -2.0, "q25": -5.0,
                                                                                  "q75": 1.0, "n": None}}}
    (tmp_path / "old.json").write_text(json.dumps(old))
    for name in ("pop-rock", "electronic", tmp_path / "old.json"):
        out = mb("profile", "show", name)
        assert out.returncode == 0 and "drums|vocals" in out.stdout, out.stderr


def test_a_user_profile_named_like_a_shipped_one_is_said_not_to_be_listed(tmp_path):
    (tmp_path / "pop-rock.json").write_text(json.dumps(electronic()))
    (tmp_path / "club.json").write_text(json.dumps(electronic()))
    out = mb("profile", "list", env_extra={"MIXINGBUDDY_PROFILE_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    listed = [line.split()[:2] for line in out.stdout.splitlines()]
    assert ["club", "user"] in listed and ["pop-rock", "shipped"] in listed and ["pop-rock", "user"] not in listed
    assert out.stderr.strip() == (f"note: your {tmp_path / 'pop-rock.json'} is not listed: a shipped profile is "
                                  "called 'pop-rock'. Rename the file to choose it.")


def test_a_session_is_fitted_with_its_role_gains_track_gains_and_mutes(tmp_path):
    """A producer who applied a suggestion (the role faders move) and saved the session has that balance as the
    finished one: the fit learns it, not the files as exported."""
    from mixingbuddy_app.profile_cli import song_source
    from model.advice.profiles import measure_song
    from tests.app.conftest import make_stems
    from tests.app.test_cli import session_file

    folder = make_stems(tmp_path / "export", seconds=24.0)[0].parent
    names = sorted(p.name for p in folder.glob("*.wav"))
    as_exported = measure_song(song_source(str(session_file(folder, names)), {}))[0].offsets
    session = session_file(folder, names, role_gains={"drums": -6.0})
    saved = json.loads(session.read_text())
    pad = next(e for e in saved["tracks"] if e["path"] == "04 Pad.wav")
    pad["gain_db"], pad["role"], pad["role_source"] = 4.0, "bass", "user"     # the pad is the bass, 4 dB up
    next(e for e in saved["tracks"] if e["path"] == "03 Bass DI.wav")["muted"] = True
    session.write_text(json.dumps(saved))
    mixed = measure_song(song_source(str(session), {}))[0].offsets
    assert mixed[("drums", "vocals")] == pytest.approx(as_exported[("drums", "vocals")] - 6.0, abs=0.05)
    pad_alone = measure_song(song_source(str(folder), {"04 Pad.wav": "bass", "03 Bass DI.wav": "other"}))[0].offsets
    assert mixed[("bass", "vocals")] == pytest.approx(pad_alone[("bass", "vocals")] + 4.0, abs=0.05)
