"""`mixingbuddy critique`: output, JSON contract and exit codes (run as a user would, in a subprocess)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from mixingbuddy_app.cli import parse_span
from model.errors import InputError
from resources import DEMO_DIR


def run(*args, cwd=None):
    env = {**os.environ, "MIXINGBUDDY_DEBUG": "0"}
    return subprocess.run([sys.executable, "-m", "mixingbuddy_app", "critique", *map(str, args)],
                          capture_output=True, text=True, timeout=180, cwd=cwd, env=env)


def test_demo_critique_names_the_deliberate_imbalance():
    out = run(DEMO_DIR)
    assert out.returncode == 0, out.stderr
    assert "The drums are far too loud. Lower them by 6 to 12 dB." in out.stdout
    assert "anchor: vocals" in out.stdout and "Timeline" in out.stdout


def test_json_contract():
    out = run(DEMO_DIR, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["schema"] == "mixingbuddy.advice/1"
    assert {"anchor", "advisor", "text", "suggestions", "confidence", "abstained", "measurements", "windows",
            "warnings"} <= set(data)
    first = data["suggestions"][0]
    assert set(first) >= {"stem", "direction", "min_db", "max_db", "delta_db", "confidence"}
    assert (first["stem"], first["direction"], first["min_db"], first["max_db"]) == ("drums", "decrease", 6, 12)
    assert data["advisor"] == "balance" and data["anchor"] == "vocals"
    assert len(data["windows"]) == 3 and data["measurements"]["roles"]["drums"]["tracks"] == 3


def test_anchor_span_and_role_override(tmp_path):
    out = run(DEMO_DIR, "--anchor", "drums", "--span", "0:20", "--json", "--role", "07 Keys Pad.flac=bass")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["anchor"] == "drums" and len(data["windows"]) == 2
    keys = next(t for t in data["measurements"]["tracks"] if t["name"] == "07 Keys Pad.flac")
    assert keys["role"] == "bass" and keys["role_source"] == "user"


def write(path, seconds=2.0, value=None):
    x = np.full(int(44100 * seconds), value, np.float32) if value is not None else \
        (0.1 * np.random.default_rng(0).standard_normal(int(44100 * seconds))).astype(np.float32)
    sf.write(path, x, 44100, subtype="FLOAT")


BAD_CASES = {
    "text file": lambda d: ((d / "Vox.wav").write_text("hello"), [d / "Vox.wav"])[1],
    "missing path": lambda d: [d / "nope.wav"],
    "empty folder": lambda d: [d],
    "unknown anchor": lambda d: (write(d / "Vox.wav"), [d, "--anchor", "guitar"])[1],
    "anchor other": lambda d: (write(d / "Vox.wav"), [d, "--anchor", "other"])[1],
    "anchor without tracks": lambda d: (write(d / "Vox.wav"), [d, "--anchor", "bass"])[1],
    "span outside": lambda d: (write(d / "Vox.wav"), [d, "--span", "50:60"])[1],
    "span malformed": lambda d: (write(d / "Vox.wav"), [d, "--span", "abc"])[1],
    "old --window outside": lambda d: (write(d / "Vox.wav"), [d, "--window", "50:60"])[1],
    "both --span and --window": lambda d: (write(d / "Vox.wav"), [d, "--span", "0:1", "--window", "0:1"])[1],
    "no anchor role at all": lambda d: (write(d / "Pad.wav"), [d])[1],
    "nan samples": lambda d: (write(d / "Vox.wav", value=np.nan), [d])[1],
    "bad option": lambda d: (write(d / "Vox.wav"), [d, "--advisor", "magic"])[1],
    "llm without checkpoint": lambda d: (write(d / "Vox.wav"), [d, "--advisor", "llm"])[1],
    "anchor naming two files": lambda d: (write(d / "Vox.wav"), write(d / "Vox.aiff"), [d, "--anchor", "Vox"])[2],
    "session beside other paths": lambda d: (write(d / "Vox.wav"), session_file(d, ["Vox.wav"]),
                                            [d / "s.mbsession", d])[2],
    "session with a missing file": lambda d: (write(d / "Vox.wav"), session_file(d, ["Vox.wav", "Kick.wav"]),
                                             [d / "s.mbsession"])[2],
    "session not valid": lambda d: ((d / "s.mbsession").write_text('{"schema": 3}'), [d / "s.mbsession"])[1],
}


def session_file(folder, names, name="s.mbsession", **saved):
    """A session (as the app saves it) of the files ``names`` in ``folder``, with the ``saved`` keys set."""
    tracks = [{"path": n, "role_source": "guess", "gain_db": 0.0, "muted": False, "soloed": False, "anchor": False}
              for n in names]
    data = {"schema": "mixingbuddy.session/1", "tracks": tracks, "anchor": None, "anchor_chosen": False} | saved
    (folder / name).write_text(json.dumps(data))
    return folder / name


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_exits_2_with_one_line(tmp_path, case):
    args = BAD_CASES[case](tmp_path)
    env_cp = os.environ.pop("MIXINGBUDDY_CHECKPOINT", None)
    try:
        out = run(*args)
    finally:
        if env_cp is not None:
            os.environ["MIXINGBUDDY_CHECKPOINT"] = env_cp
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mixingbuddy critique: error:"), out.stderr
    assert "Traceback" not in out.stderr


def test_help_and_no_qt_import():
    code = ("import sys; from mixingbuddy_app.__main__ import main; rc = main(['critique', '--help']); "
            "assert 'PySide6' not in sys.modules and 'torch' not in sys.modules; sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "--anchor" in out.stdout


def test_closed_pipe_is_quiet():
    proc = subprocess.Popen([sys.executable, "-m", "mixingbuddy_app", "critique", str(DEMO_DIR), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "internal error" not in err


def test_a_span_in_minutes_and_seconds_judges_the_same_stretch_as_in_seconds():
    seconds, clock = run(DEMO_DIR, "--span", "5:20", "--json"), run(DEMO_DIR, "--span", "0:05-0:20", "--json")
    assert seconds.returncode == clock.returncode == 0, seconds.stderr + clock.stderr
    assert json.loads(seconds.stdout) == json.loads(clock.stdout)
    said = "--span 5:20 is read as seconds, 5 s to 20 s (START:END); from 5:20 to the end is --span 5:20-."
    assert said in run(DEMO_DIR, "--span", "5:20").stdout   # it reads like m:ss: how it was read is said
    assert "is read as seconds" not in run(DEMO_DIR, "--span", "0:05-0:20").stdout


def test_a_span_read_as_seconds_that_judges_nothing_says_how_it_was_read(tmp_path):
    """'--span 0:30' on a song whose parts start at 0:40: the one line says why nothing played (it said only
    "None of vocals, drums or bass plays in the judged span")."""
    from tests.model.test_profiles import noise_song

    folder = noise_song(tmp_path / "song", seconds=60.0, plays={r: (40.0, 60.0) for r in ("vocals", "drums", "bass",
                                                                                          "other")})
    out = run(folder, "--span", "0:30")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert out.stderr.strip().endswith("(Note: --span 0:30 is read as seconds, 0 s to 30 s (START:END); from 0:30 "
                                       "to the end is --span 0:30-.)")


@pytest.mark.parametrize("text,span", [("90:150", (90.0, 150.0)), ("1:30-2:30", (90.0, 150.0)),
                                       ("90-150.5", (90.0, 150.5)), ("0:01:30-0:02:00", (90.0, 120.0)),
                                       ("1:1.2", (1.0, 1.2)), ("4:00-", (240.0, 300.0)), ("240-", (240.0, 300.0)),
                                       ("4:00-5:00.04", (240.0, 300.0))])
def test_span_forms(text, span):
    """'START-' judges to the end; an END the song's shown length rounds to (5:00.0 here) is its end."""
    assert parse_span(text, 300.0) == span


def test_a_span_past_the_end_names_an_end_that_is_accepted():
    with pytest.raises(InputError, match=r"give END 316\.4 \(5:16\.4\) or less, or leave END out"):
        parse_span("4:16.4-5:17", 316.372)
    assert parse_span("4:16.4-5:16.4", 316.372) == parse_span("256.4:316.4", 316.372) == (256.4, 316.372)


@pytest.mark.parametrize("text", ["abc", "1:2:3", "1:75-2:00", "1:30:", "nan:5", "1:x-2:00"])
def test_a_malformed_span_names_both_forms(text):
    with pytest.raises(InputError, match="1:30-2:30"):
        parse_span(text, 300.0)


def test_window_is_the_hidden_old_name_of_span():
    span, window = run(DEMO_DIR, "--span", "0:20", "--json"), run(DEMO_DIR, "--window", "0:20", "--json")
    assert span.returncode == window.returncode == 0, span.stderr + window.stderr
    assert json.loads(span.stdout) == json.loads(window.stdout)
    assert "--window" not in run("--help").stdout
def run_profile(*args, env_extra=None):
    env = {**os.environ, "MIXINGBUDDY_DEBUG": "0", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "mixingbuddy_app", "profile", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


def test_critique_names_the_profile_it_used():
    out = run(DEMO_DIR, "--profile", "electronic", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["profile"] == "electronic" and data["anchor_reason"].startswith("default")
    assert {p["role"] for p in data["pairs"]} == {"drums", "bass", "other"}
    assert all(p["windows"] >= 1 for p in data["pairs"])
    text = run(DEMO_DIR, "--profile", "pop-rock")
    assert "profile: pop-rock" in text.stdout and "[3 window(s)]" in text.stdout
    bad = run(DEMO_DIR, "--profile", "nope")
    assert bad.returncode == 2 and "Unknown profile 'nope'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def stems_from_one_noise(folder, db, plays=None, seconds=30, sr=22050):
    """Stems cut from one noise, so each role sits exactly ``db`` LU from the vocals; ``plays`` = (start, end) s."""
    base = (0.05 * np.random.default_rng(0).standard_normal((seconds * sr, 2))).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    for name, gain in db.items():
        audio = base * np.float32(10 ** (gain / 20))
        start, end = (plays or {}).get(name, (0, seconds))
        audio[: start * sr] = 0.0
        audio[end * sr:] = 0.0
        sf.write(folder / name, audio, sr, subtype="FLOAT")
    return folder


def test_unjudged_role_and_an_out_of_band_other_are_said_as_such(tmp_path):
    # pop-rock medians vs vocals: drums -2, bass -2.5, other -1. The bass plays alone (never with the vocals, nor
    # with a role that plays with them), the drums sit on their median, the keys (other) 13 LU over theirs.
    song = stems_from_one_noise(tmp_path / "song", {"Lead Vox.wav": 0.0, "Drums.wav": -2.0, "Bass.wav": -3.0,
                                                      "Keys.wav": 12.0},
                                plays={"Lead Vox.wav": (0, 30), "Drums.wav": (0, 30), "Keys.wav": (0, 30),
                                       "Bass.wav": (35, 45)}, seconds=45)
    out = run(song)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if line.startswith("  ") and line.split()
            and line.split()[0] in ("drums", "bass", "other")}
    assert rows["bass"].rstrip().endswith("not judged") and "in band" not in rows["bass"]
    assert "in band" in rows["drums"] and "lower 6–12 dB" in rows["other"]
    assert "well-balanced" not in out.stdout
    assert ("Against the vocals, the drums sit well. The other instruments are much too loud: lower them by 6 to "
            "12 dB.") in out.stdout
    assert "bass not judged: bass and vocals never play together in the judged span." in out.stdout
    data = json.loads(run(song, "--json").stdout)
    pairs = {p["role"]: p for p in data["pairs"]}
    assert pairs["bass"]["judged"] is False and pairs["bass"]["windows"] == 0 and pairs["bass"]["reason"]
    assert pairs["drums"]["judged"] and pairs["other"]["judged"]
    assert [(s["stem"], s["direction"]) for s in data["suggestions"]] == [("other", "decrease")]
    # "the drums sit well" is no surer than the drums' own fit to the profile: under 100 % even at its median
    assert 0.5 < data["confidence"] < 1.0


def test_a_role_that_never_plays_with_the_anchor_is_judged_through_one_that_plays_with_both(tmp_path):
    # the bass (8 LU over the drums) plays only where the vocals rest; the drums play with both
    song = stems_from_one_noise(tmp_path / "song", {"Lead Vox.wav": 0.0, "Drums.wav": -2.0, "Bass.wav": 6.0},
                                plays={"Lead Vox.wav": (0, 15), "Bass.wav": (20, 30)})
    data = json.loads(run(song, "--json").stdout)
    bass = next(p for p in data["pairs"] if p["role"] == "bass")
    assert bass["judged"] and bass["via"] == ["drums"] and bass["windows"] == 0
    assert bass["offset_lu"] == pytest.approx(6.0, abs=0.2)       # (bass - drums) + (drums - vocals)
    # the bass plays in 20-30 s only, the vocals in 0-15 s (the 10-20 s window too: over a fifth of it)
    assert bass["legs"] == [{"role": "bass", "anchor": "drums", "windows": 1},
                            {"role": "drums", "anchor": "vocals", "windows": 2}]
    # the window the first leg was read in is no verdict of its own (the vocals rest there), and says so
    assert data["windows_left_out"] == [{"start_s": 20.0, "end_s": 30.0, "reason": "the vocals (the anchor) are "
                                         "silent there", "read": ["bass vs drums"]}]
    # 8.5 LU over pop-rock's median: a confident flaw if measured directly, but an indirect reading stays tentative
    assert bass["probability"] > 0.5 and data["suggestions"][0]["stem"] == "bass" and data["confidence"] < 0.5
    out = run(song).stdout
    assert "[through drums]" in out and "Confidence: no window has both the bass and the vocals; measured through " \
        "the drums (49%)" in out and "bass vs vocals: never play together in the judged span; measured through " \
        "the drums (bass vs drums over 1 window(s) plus drums vs vocals over 2 window(s))" in out \
        and "far too" not in out
    assert "0:20.0–0:30.0  not judged, left out: the vocals (the anchor) are silent there (bass vs drums read " \
        "there, for an indirect reading)" in out
    # in band, the balanced verdict's windows judged the drums alone: the count says the bass was read otherwise
    song = stems_from_one_noise(tmp_path / "balanced", {"Lead Vox.wav": 0.0, "Drums.wav": -2.0, "Bass.wav": -4.0},
                                plays={"Lead Vox.wav": (0, 15), "Bass.wav": (20, 30)})
    assert "Confidence: 2 of 2 windows agree; the bass measured through the drums (" in run(song).stdout


def test_a_second_out_of_band_role_is_listed_under_the_headline(tmp_path):
    song = stems_from_one_noise(tmp_path / "song", {"Lead Vox.wav": 0.0, "Drums.wav": 8.0, "Bass.wav": -2.5,
                                                      "Keys.wav": 12.0})
    out = run(song)
    assert out.returncode == 0, out.stderr
    assert "The drums are far too loud. Lower them by 6 to 12 dB." in out.stdout
    assert "Also: lower the other instruments by 6 to 12 dB (very loud, 9" in out.stdout   # confident: not hedged


def test_short_span_and_silent_anchor_exit_2(tmp_path):
    out = run(DEMO_DIR, "--span", "1:1.2")
    assert out.returncode == 2 and "400 ms" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    sr = 22050
    noise = (0.05 * np.random.default_rng(0).standard_normal(sr * 25)).astype(np.float32)
    vox = noise.copy()
    vox[: sr * 20] = 0.0  # the vocals only come in at 20 s
    sf.write(tmp_path / "Lead Vox.wav", vox, sr)
    sf.write(tmp_path / "Drums.wav", noise, sr)
    silent = run(tmp_path, "--anchor", "vocals", "--span", "0:15")
    assert silent.returncode == 2 and "silent in the judged span" in silent.stderr
    fallback = run(tmp_path, "--span", "0:15")
    assert fallback.returncode == 0 and "anchor: drums (default: vocals silent in the judged span" in fallback.stdout


def test_profile_fit_list_show(tmp_path, write_session):
    songs = [write_session({"drums": d}, name=f"song{i}") for i, d in enumerate((0.0, 2.0, 4.0))]
    env = {"MIXINGBUDDY_PROFILE_DIR": str(tmp_path / "profiles")}
    out = run_profile("fit", *songs, "--name", "mine", env_extra=env)
    assert out.returncode == 0, out.stderr
    assert "3 song(s): song0, song1, song2" in out.stdout and "drums|vocals" in out.stdout
    saved = json.loads((tmp_path / "profiles" / "mine.json").read_text())
    assert saved["pairs"]["drums|vocals"]["songs"] == 3
    listed = run_profile("list", env_extra=env)
    assert "mine" in listed.stdout and "user" in listed.stdout and "electronic" in listed.stdout
    shown = run_profile("show", "mine", env_extra=env)
    assert shown.returncode == 0 and "drums|vocals" in shown.stdout
    # the songs' own range holds the median (the pooled window quartiles need not)
    per_song = saved["pairs"]["drums|vocals"]["song_offsets"].values()
    row = next(line.split() for line in shown.stdout.splitlines() if line.strip().startswith("drums|vocals"))
    assert row[4] == f"{min(per_song):+.1f}..{max(per_song):+.1f}"
    assert min(per_song) <= float(row[3]) <= max(per_song)
    used = run(songs[0], "--profile", tmp_path / "profiles" / "mine.json", "--json")
    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout)["profile"] == "mine"


def test_true_peak_is_printed_only_when_asked_for(tmp_path):
    song = stems_from_one_noise(tmp_path / "song", {"Lead Vox.wav": 0.0, "Drums.wav": 6.0})
    data = json.loads(run(song, "--true-peak", "--json").stdout)
    mix = data["measurements"]["mix"]["true_peak_db"]
    assert mix is not None and mix >= data["measurements"]["mix"]["sample_peak_db"] - 0.01
    text = run(song, "--true-peak").stdout
    assert f"True peak: mix {mix:+.1f} dBTP; highest track Drums.wav" in text
    assert "True peak" not in run(song).stdout


def test_roles_guessed_from_unsure_names_are_listed_to_check_until_set(tmp_path):
    """The app marks these tracks; the CLI names them under the role table, and the JSON says which they are."""
    song = stems_from_one_noise(tmp_path / "song", {"Lead Vox.wav": 0.0, "Kick.wav": 3.0, "Upright.wav": -3.0,
                                                    "HOUSE BEAT.wav": 0.0, "SLIDE.wav": -6.0})
    text = run(song).stdout
    assert ("Roles guessed from unsure names (check them; --role 'FILE=ROLE' sets one): HOUSE BEAT.wav (drums), "
            "Upright.wav (bass).") in text
    data = json.loads(run(song, "--json", "--role", "Upright.wav=bass").stdout)
    assert {t["name"] for t in data["measurements"]["tracks"] if t["role_unsure"]} == {"HOUSE BEAT.wav"}
    assert "Roles guessed" not in run(song, "--role", "Upright.wav=bass", "--role", "HOUSE BEAT.wav=drums").stdout


@pytest.mark.parametrize("span,words", [("25:40", "ends after the song (the song runs 0 to 30.0 s, 0:30.0): give END 30.0 (0:30.0) or less"),
                                        ("31:40", "starts after the song ends"),
                                        ("-5:10", "START must be 0 or more"),
                                        ("10:5", "END must be after START")])
def test_a_span_the_song_cannot_give_says_what_is_wrong(span, words):
    out = run(DEMO_DIR, f"--span={span}")   # "=": a span starting with "-" is not an option
    assert out.returncode == 2 and words in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_a_span_too_short_is_refused_before_any_file_is_decoded(monkeypatch, capsys):
    import model.audio.stream
    from mixingbuddy_app.cli import main

    def decode(*args, **kwargs):
        raise AssertionError("the files were decoded for a span that cannot be judged")

    monkeypatch.setattr(model.audio.stream, "analyse_session", decode)
    assert main([str(DEMO_DIR), "--span", "1:1.2"]) == 2
    assert "400 ms" in capsys.readouterr().err


def test_a_stem_saved_again_as_mp3_is_left_out_and_said(tmp_path):
    """One stem exported twice (WAV, then MP3) would count the bass twice: the copy is left out and said, and the
    critique is the stems' alone."""
    from tests.model.test_copies import save_as, stems, write

    parts = stems()
    plain = json.loads(run(write(tmp_path / "stems", parts), "--json").stdout)
    twice = write(tmp_path / "export", parts)
    save_as(twice / "Bass.mp3", parts["Bass.wav"], "MPEG_LAYER_III")
    out = run(twice, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    warned = [w for w in data["warnings"] if w["code"] == "saved_twice"]
    assert len(warned) == 1 and warned[0]["tracks"] == ["Bass.mp3"]
    assert "holds the audio of Bass.wav" in warned[0]["message"] and "--role 'Bass.mp3=bass'" in warned[0]["message"]
    assert [(p["role"], p["offset_lu"]) for p in data["pairs"]] == [(p["role"], p["offset_lu"]) for p in plain["pairs"]]
    assert data["text"] == plain["text"]
    # the save chosen as the anchor track stays, and its twin goes
    save_as(twice / "Lead Vox.mp3", parts["Lead Vox.wav"], "MPEG_LAYER_III")
    out = run(twice, "--json", "--profile", "electronic", "--anchor", "Lead Vox.mp3")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["anchor_track"] == "Lead Vox.mp3"
    assert sorted(w["tracks"][0] for w in data["warnings"] if w["code"] == "saved_twice") == ["Bass.mp3", "Lead Vox.wav"]
    both = run(twice, "--profile", "electronic", "--anchor", "Lead Vox")   # which save? it is asked for
    assert both.returncode == 2 and "'Lead Vox' names 2 files: give one of them as 'Lead Vox.mp3' or 'Lead Vox.wav'." in both.stderr


def test_a_name_two_folders_share_sets_the_role_of_both_and_the_anchor_asks_for_its_folder(tmp_path):
    for song in ("a", "b"):
        shutil.copytree(DEMO_DIR, tmp_path / song)
    out = run(tmp_path / "a", tmp_path / "b", "--json", "--role", "07 Keys Pad.flac=bass")
    assert out.returncode == 0, out.stderr
    roles = {t["id"]: t["role"] for t in json.loads(out.stdout)["measurements"]["tracks"] if "Keys" in t["id"]}
    assert len(roles) == 2 and set(roles.values()) == {"bass"}, roles
    both = run(tmp_path / "a", tmp_path / "b", "--anchor", "05 Lead Vox.flac")
    assert both.returncode == 2 and "give one of them as 'a/05 Lead Vox.flac' or 'b/05 Lead Vox.flac'." in both.stderr
    chosen = run(tmp_path / "a", tmp_path / "b", "--anchor", "a/05 Lead Vox.flac", "--profile", "electronic", "--json")
    assert chosen.returncode == 0 and json.loads(chosen.stdout)["anchor_track"] == "a/05 Lead Vox.flac", chosen.stderr


def test_a_full_mix_among_the_stems_is_left_out_and_said(tmp_path):
    """A DAW's master track exported with the stems would count everything twice: the critique leaves it out,
    says so in one warning, and judges exactly what the stems alone give."""
    from tests.model.test_copies import stems, write

    parts = stems()
    alone = write(tmp_path / "stems", parts)
    with_mix = write(tmp_path / "export", {**parts, "Song Master.wav": sum(parts.values())})
    plain, out = run(alone, "--json"), run(with_mix, "--json")
    assert plain.returncode == 0 and out.returncode == 0, out.stderr
    plain, data = json.loads(plain.stdout), json.loads(out.stdout)
    warned = [w for w in data["warnings"] if w["code"] == "mix_file"]
    assert len(warned) == 1 and warned[0]["tracks"] == ["Song Master.wav"]
    message = warned[0]["message"]
    assert "looks like the full mix" in message and "--role 'Song Master.wav=other'" in message
    assert not any(w["code"] == "mix_file" for w in plain["warnings"])
    assert [(p["role"], p["offset_lu"]) for p in data["pairs"]] == [(p["role"], p["offset_lu"]) for p in plain["pairs"]]
    assert data["text"] == plain["text"]
    text = run(with_mix)
    assert text.returncode == 0 and text.stdout.count("looks like the full mix") == 1
    # a drum group beside its drums, and the mix beside both: the group goes first, then the mix
    parts_and_group = {**parts, "Drum Group.wav": parts["Kick.wav"] + parts["Hats.wav"]}
    both = json.loads(run(write(tmp_path / "both", {**parts_and_group, "Mix.wav": sum(parts.values())}),
                          "--json").stdout)
    said = [(w["code"], w["tracks"]) for w in both["warnings"] if w["code"] in ("mix_file", "bus_file")]
    assert said == [("bus_file", ["Drum Group.wav"]), ("mix_file", ["Mix.wav"])]
    assert [(p["role"], p["offset_lu"]) for p in both["pairs"]] == [(p["role"], p["offset_lu"]) for p in plain["pairs"]]
    # a role set by hand says the file is a stem: it is counted, and nothing is said
    kept = json.loads(run(with_mix, "--json", "--role", "Song Master.wav=other").stdout)
    assert not any(w["code"] == "mix_file" for w in kept["warnings"])
    assert next(p for p in kept["pairs"] if p["role"] == "other")["offset_lu"] > \
        next(p for p in plain["pairs"] if p["role"] == "other")["offset_lu"] + 6


def test_a_profile_learns_nothing_from_a_full_mix_or_a_bus_in_a_song_folder(tmp_path):
    """A song folder holding its own full mix, or a drum group's bus, is fitted as if the file were not there, and
    the fit says so."""
    from tests.model.test_copies import kit, write

    songs, with_mix = [], []
    for i, bass_db in enumerate((0.0, 3.0)):
        parts = kit()
        parts["Bass.wav"] = parts["Bass.wav"] * np.float32(10 ** (bass_db / 20))
        songs.append(write(tmp_path / "plain" / f"song{i}", parts))
        copy = ({"Song Master.wav": sum(parts.values())} if i == 1 else
                {"Drum Group.wav": parts["Kick.wav"] + parts["Hats.wav"] + parts["Snare.wav"]})
        with_mix.append(write(tmp_path / "export" / f"song{i}", {**parts, **copy}))
    fits = [run_profile("fit", *folders, "--name", "mine", "--out", tmp_path / f"{kind}.json")
            for kind, folders in (("plain", songs), ("export", with_mix))]
    assert all(f.returncode == 0 for f in fits), fits[1].stderr
    plain, export = (json.loads((tmp_path / f"{kind}.json").read_text()) for kind in ("plain", "export"))
    assert export["provenance"]["left_out_as_copies"] == {"song0": ["Drum Group.wav"], "song1": ["Song Master.wav"]}
    assert "left_out_as_copies" not in plain["provenance"]
    assert {k: v["median"] for k, v in export["pairs"].items()} == {k: v["median"] for k, v in plain["pairs"].items()}
    assert "left out as copies" in fits[1].stdout and "song1: Song Master.wav" in fits[1].stdout


def test_a_profile_fit_names_the_roles_it_learned_from_unsure_names(tmp_path):
    """A profile keeps what it learns, and a folder's roles are guessed unseen: the fit says which files an unsure
    name put in a role, per song, in its summary and its provenance; a role set with --role is sure."""
    from tests.model.test_copies import kit, write

    songs = []
    for i in range(2):
        parts = kit()
        if i == 1:
            parts["HOUSE BEAT.wav"] = parts.pop("Hats.wav")
        songs.append(write(tmp_path / f"song{i}", parts))
    fit = run_profile("fit", *songs, "--name", "mine", "--out", tmp_path / "mine.json")
    assert fit.returncode == 0, fit.stderr
    assert json.loads((tmp_path / "mine.json").read_text())["provenance"]["unsure_roles"] == {
        "song1": ["HOUSE BEAT.wav (drums)"]}
    assert "roles guessed from unsure names, learned as guessed" in fit.stdout
    assert "song1: HOUSE BEAT.wav (drums)" in fit.stdout
    fit = run_profile("fit", *songs, "--name", "mine", "--out", tmp_path / "set.json", "--role", "HOUSE BEAT.wav=drums")
    assert fit.returncode == 0, fit.stderr
    assert "unsure_roles" not in json.loads((tmp_path / "set.json").read_text())["provenance"]
    assert "unsure names" not in fit.stdout


def test_a_folder_of_song_folders_is_fitted_as_its_songs(tmp_path):
    """`profile fit ALBUM/` learns from the song folders inside it, as if each were given."""
    from tests.model.test_copies import kit, write

    album = tmp_path / "album"
    for i, bass_db in enumerate((0.0, 3.0)):
        parts = kit()
        parts["Bass.wav"] = parts["Bass.wav"] * np.float32(10 ** (bass_db / 20))
        write(album / f"song{i}", parts)
    (album / "notes.txt").write_text("mastered 2026")
    whole = run_profile("fit", album, "--name", "album", "--out", tmp_path / "album.json")
    each = run_profile("fit", album / "song0", album / "song1", "--name", "album", "--out", tmp_path / "each.json")
    assert whole.returncode == 0 and each.returncode == 0, whole.stderr
    assert "2 song(s): song0, song1" in whole.stdout
    fitted = [json.loads((tmp_path / f"{k}.json").read_text()) for k in ("album", "each")]
    assert fitted[0]["pairs"] == fitted[1]["pairs"]


def test_a_session_plays_a_full_mix_it_left_unmuted_and_says_so(tmp_path):
    """In a saved session the mutes are the producer's (the app only says what looks like a copy): the command
    line counts the mix file as the app would, and warns; muted, it judges what the stems alone give."""
    from tests.model.test_copies import stems, write as write_stems

    parts = stems()
    plain = json.loads(run(write_stems(tmp_path / "stems", parts), "--json").stdout)
    folder = write_stems(tmp_path / "export", {**parts, "Song Master.wav": sum(parts.values())})
    session = session_file(folder, sorted(p.name for p in folder.iterdir()))
    out = run(session, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    warned = [w for w in data["warnings"] if w["code"] == "mix_file"]
    assert len(warned) == 1 and "The session plays it" in warned[0]["message"]
    assert next(p for p in data["pairs"] if p["role"] == "other")["offset_lu"] > \
        next(p for p in plain["pairs"] if p["role"] == "other")["offset_lu"] + 6
    entries = json.loads(session.read_text())
    next(e for e in entries["tracks"] if e["path"] == "Song Master.wav")["muted"] = True
    session.write_text(json.dumps(entries))
    muted = json.loads(run(session, "--json").stdout)
    assert not any(w["code"] == "mix_file" for w in muted["warnings"]) and muted["text"] == plain["text"]
    assert [(p["role"], p["offset_lu"]) for p in muted["pairs"]] == [(p["role"], p["offset_lu"]) for p in plain["pairs"]]
