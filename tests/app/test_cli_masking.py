"""`mixingbuddy critique --masking --tonal` and `mixingbuddy masking A B`: the demo's deliberate masking case."""

import json
import os
import subprocess
import sys

from model.synthetic import DEMO_MASKING
from resources import DEMO_DIR


def run(*args):
    env = {**os.environ, "MIXINGBUDDY_DEBUG": "0"}
    return subprocess.run([sys.executable, "-m", "mixingbuddy_app", *map(str, args)],
                          capture_output=True, text=True, timeout=180, env=env)


def covers_the_demo_case(f: dict) -> bool:
    """A finding within one third-octave band of the injected 1-4 kHz and within a beat or two of 12-22 s
    (the stretch ends where the vocal phrase does, which can be a rest before the layer stops)."""
    third, sixth = 2 ** (1 / 3), 2 ** (1 / 6)
    low_centre, high_centre = f["low_hz"] * sixth, f["high_hz"] / sixth
    return (low_centre >= DEMO_MASKING.band_hz[0] / third * 0.99 and high_centre <= DEMO_MASKING.band_hz[1] * 1.01
            and abs(f["start_s"] - DEMO_MASKING.start_s) <= 1.5 and abs(f["end_s"] - DEMO_MASKING.end_s) <= 1.5)


def test_critique_json_reports_the_keys_covering_the_vocals_and_keeps_the_balance_verdict():
    out = run("critique", DEMO_DIR, "--json", "--masking", "--tonal")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["suggestions"][0]["stem"] == "drums" and len(data["suggestions"]) == 1
    first = data["masking"][0]
    assert set(first) >= {"masker", "maskee", "start_s", "end_s", "low_hz", "high_hz", "depth_db", "suggestion"}
    assert (first["masker"], first["maskee"]) == ("other", "vocals")
    assert covers_the_demo_case(first), first
    assert first["depth_db"] >= 6 and first["suggestion"].startswith("Cut the other instruments")
    assert all({"role", "low_hz", "high_hz", "deviation_db", "text"} <= set(t) for t in data["tonal"])
    # the default profile has no shapes of its own: the JSON and the text say whose were used
    assert (data["profile"], data["tonal_shapes"], data["tonal_not_compared"]) == ("pop-rock", "electronic", [])
    assert data["tonal_note"] == "the electronic profile's tonal shapes (the pop-rock profile has none of its own)"
    assert f"    Compared with {data['tonal_note']}." in run("critique", DEMO_DIR, "--tonal").stdout


def test_critique_text_lists_the_finding_and_plain_critique_json_has_no_new_keys():
    out = run("critique", DEMO_DIR, "--masking")
    assert out.returncode == 0, out.stderr
    assert "Masking (1 finding(s)):" in out.stdout and "The other instruments cover the vocals" in out.stdout
    plain = json.loads(run("critique", DEMO_DIR, "--json").stdout)
    assert "masking" not in plain and "tonal" not in plain


def test_masking_between_two_chosen_tracks():
    out = run("masking", "07 Keys Pad", "05 Lead Vox.flac", DEMO_DIR, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["schema"] == "mixingbuddy.masking/1"
    covering = [f for f in data["masking"] if f["masker"] == "07 Keys Pad.flac"]
    assert covering and all(f["maskee"] == "05 Lead Vox.flac" for f in covering)
    assert DEMO_MASKING.start_s - 1 <= covering[0]["start_s"] < covering[0]["end_s"] <= DEMO_MASKING.end_s + 1
    text = run("masking", "07 Keys Pad", "05 Lead Vox", DEMO_DIR)
    assert text.returncode == 0 and "“07 Keys Pad” covers “05 Lead Vox”" in text.stdout
    assert data["span"] is None and ", judged" not in text.stdout.splitlines()[0]
    spanned = run("masking", "07 Keys Pad", "05 Lead Vox", DEMO_DIR, "--span", "0:05-", "--json")
    assert json.loads(spanned.stdout)["span"] == [5.0, 30.0], spanned.stderr
    header = run("masking", "07 Keys Pad", "05 Lead Vox", DEMO_DIR, "--span", "5:20").stdout.splitlines()[0]
    assert header.endswith("— 0:30.0, judged 0:05.0–0:20.0"), header


def test_masking_with_an_unknown_track_is_one_line_exit_2():
    out = run("masking", "Tuba", "05 Lead Vox", DEMO_DIR)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "No track or role named 'Tuba'" in out.stderr
    same = run("masking", "vocals", "vocals", DEMO_DIR)
    assert same.returncode == 2 and "same signal" in same.stderr
    # a track against the role that holds it: no pair (it said "Neither covers the other strongly and lastingly.")
    nested = run("masking", "05 Lead Vox", "vocals", DEMO_DIR)
    assert nested.returncode == 2 and nested.stderr.strip().count("\n") == 0
    assert "05 Lead Vox is one of the vocals, so it cannot cover them nor they it" in nested.stderr
    misspelt = run("masking", "05 Lead Voc", "vocals", DEMO_DIR)
    assert "(did you mean '05 Lead Vox'?)" in misspelt.stderr


def test_masking_and_tonal_stream_the_files_and_equal_the_review_of_the_loaded_tracks(monkeypatch, capsys):
    """--masking --tonal no longer load the tracks: the band frames are built from the streamed role sums, and
    the findings equal the review of the loaded tracks (span and a role override included)."""
    import model.audio.tracks
    from mixingbuddy_app.cli import main
    from model.advice.advisor import AdviceRequest
    from model.advice.spectrum import review_spectrum
    from model.advice.tonal import tonal_for_profile

    load_tracks = model.audio.tracks.load_tracks

    def no_loading(*_args, **_kwargs):
        raise AssertionError("critique --masking --tonal loaded every track")

    monkeypatch.setattr(model.audio.tracks, "load_tracks", no_loading)
    args = [DEMO_DIR, "--json", "--masking", "--tonal", "--span", "3.3:27.1", "--role", "03 Hi Hat.flac=other"]
    assert main(list(map(str, args))) == 0
    data = json.loads(capsys.readouterr().out)
    tracks = load_tracks([DEMO_DIR]).tracks.with_roles({"03 Hi Hat.flac": "other"})
    review = review_spectrum(AdviceRequest(tracks, data["anchor"], span=(3.3, 27.1)), True,
                             tonal_for_profile(None)[0])
    assert data["masking"] == [f.to_json() for f in review.masking] and data["masking"]
    assert data["tonal"] == [f.to_json() for f in review.tonal]


def test_a_full_mix_among_the_files_is_left_out_of_a_role(tmp_path):
    """The master track exported with the stems would put the whole mix into "other": it is left out, said once,
    and the findings are those of the stems alone; named as a side itself, it stays."""
    import soundfile as sf

    from model.audio.tracks import load_tracks

    tracks = load_tracks([DEMO_DIR]).tracks
    folder = tmp_path / "export"
    folder.mkdir()
    for t in tracks.tracks:
        (folder / t.name).symlink_to(t.path)
    mix = sum(t.audio if t.audio.shape[1] == 2 else t.audio.repeat(2, axis=1) for t in tracks.tracks)
    sf.write(str(folder / "Song Master.wav"), mix, tracks.sample_rate, subtype="FLOAT")
    alone = json.loads(run("masking", "other", "vocals", DEMO_DIR, "--json").stdout)
    out = run("masking", "other", "vocals", folder, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["masking"] == alone["masking"] and alone["warnings"] == []
    assert [(w["code"], w["tracks"]) for w in data["warnings"]] == [("mix_file", ["Song Master.wav"])]
    text = run("masking", "other", "vocals", folder)
    assert text.stdout.count("looks like the full mix") == 1 and "left out of both sides" in text.stdout
    named = json.loads(run("masking", "Song Master", "vocals", folder, "--json").stdout)
    assert named["warnings"] == [] and named["a"] == "Song Master.wav"


def test_a_drum_group_among_the_files_is_left_out_of_the_drums(tmp_path):
    """A drum group's bus exported beside its drums would count them twice: the drums' side is the stems'."""
    import soundfile as sf

    from model.audio.tracks import load_tracks

    tracks = load_tracks([DEMO_DIR]).tracks
    folder = tmp_path / "export"
    folder.mkdir()
    for t in tracks.tracks:
        (folder / t.name).symlink_to(t.path)
    drums = [t.audio if t.audio.shape[1] == 2 else t.audio.repeat(2, axis=1)
             for t in tracks.tracks if t.role.role == "drums"]
    sf.write(str(folder / "Drum Group.wav"), sum(drums), tracks.sample_rate, subtype="FLOAT")
    alone = json.loads(run("masking", "drums", "vocals", DEMO_DIR, "--json").stdout)
    out = run("masking", "drums", "vocals", folder, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["masking"] == alone["masking"]
    assert [(w["code"], w["tracks"]) for w in data["warnings"]] == [("bus_file", ["Drum Group.wav"])]


def test_masking_reads_a_saved_session_as_the_app_has_it(tmp_path):
    """A session's span is the stretch looked at, and its gains are the mix's: the keys 18 dB down cover less."""
    import shutil

    from tests.app.test_cli import session_file

    folder = tmp_path / "demo"
    shutil.copytree(DEMO_DIR, folder)
    session = session_file(folder, sorted(p.name for p in folder.glob("*.flac")), region=[10.0, 24.0])
    plain = json.loads(run("masking", "other", "vocals", folder, "--json", "--span", "10:24").stdout)
    out = run("masking", "other", "vocals", session, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["masking"] == plain["masking"] and any(f["masker"] == "other" for f in data["masking"])
    assert [w["code"] for w in data["warnings"]] == ["session"]
    assert "the span 0:10-0:24" in data["warnings"][0]["message"]
    saved = json.loads(session.read_text())
    next(e for e in saved["tracks"] if e["path"] == "07 Keys Pad.flac")["gain_db"] = -18.0
    session.write_text(json.dumps(saved))
    quieter = json.loads(run("masking", "other", "vocals", session, "--json").stdout)["masking"]
    deepest = max(f["depth_db"] for f in data["masking"] if f["masker"] == "other")
    assert max((f["depth_db"] for f in quieter if f["masker"] == "other"), default=0.0) < deepest - 6
