"""`mixingbuddy critique`: output, JSON contract and exit codes (run as a user would, in a subprocess)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

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
}


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


def test_window_is_the_hidden_old_name_of_span():
    span, window = run(DEMO_DIR, "--span", "0:20", "--json"), run(DEMO_DIR, "--window", "0:20", "--json")
    assert span.returncode == window.returncode == 0, span.stderr + window.stderr
    assert json.loads(span.stdout) == json.loads(window.stdout)
    assert "--window" not in run("--help").stdout
def run_profile(*args, env_extra=None):
    env = {**os.environ, "MIXINGBUDDY_DEBUG": "0", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "mixingbuddy_app", "profile", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


def test_critique_names_the_profile_and_unjudged_roles():
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
    used = run(songs[0], "--profile", tmp_path / "profiles" / "mine.json", "--json")
    assert used.returncode == 0, used.stderr
    assert json.loads(used.stdout)["profile"] == "mine"
