"""The meters agree with the critique: role LU vs anchor and the A/B match use model.audio.measure.measure_session."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf

from model.advice.advisor import AdviceRequest
from model.advisors import load_advisor
from model.advice.pipeline import critique as run_critique
from model.advice.profiles import song_offsets
from model.advice.report import advice_to_json
from model.audio.measure import measure_session

from mixingbuddy_app.cli import main as cli_main
from mixingbuddy_app.jobs import JobKind
from mixingbuddy_app.workers import Metered
from mixingbuddy_app.widgets.track_table import MEASURING_TEXT

from tests.app.conftest import RATE, StubAdvisor, critique, load

REL = re.compile(r"^([+-]\d+\.\d) LU")


def sparse_session(folder, seconds: float = 24.0):
    """Vocals, two sparse drum tracks (kick, hat), bass and keys: the power-sum estimate over-reads the drums."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    vox = 0.2 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * 0.25 * t) > -0.3)
    kick = np.zeros(n)
    hat = np.zeros(n)
    for start in range(0, n, RATE // 2):
        m = min(n - start, RATE // 5)
        k = np.arange(m)
        kick[start:start + m] += 0.8 * np.exp(-k / (0.03 * RATE)) * np.sin(2 * np.pi * 55 * k / RATE)
    for start in range(RATE // 4, n, RATE // 2):
        m = min(n - start, RATE // 40)
        hat[start:start + m] += 0.3 * rng.standard_normal(m) * np.exp(-np.arange(m) / (0.005 * RATE))
    bass = 0.25 * np.sin(2 * np.pi * 50 * t)
    keys = 0.08 * np.sin(2 * np.pi * 440 * t)
    for name, x in (("Lead Vox.wav", vox), ("Kick.wav", kick), ("Hat.wav", hat), ("Bass.wav", bass),
                    ("Keys.wav", np.stack([keys, keys * 0.7], 1))):
        sf.write(str(folder / name), x.astype(np.float32), RATE, subtype="FLOAT")
    return folder


def shown(label_text: str) -> float:
    """The measured value a meter label shows (it shows none while measuring)."""
    m = REL.match(label_text.strip())
    assert m, label_text
    return float(m.group(1))


def wait_exact(qtbot, c, timeout: int = 20000) -> None:
    """Until the roles and the mix are measured at the current gains (the meters' background job is done)."""
    qtbot.waitUntil(lambda: c.project.exact_loudness() is not None and c.jobs.running(JobKind.MEASURE) is None,
                    timeout=timeout)


def test_role_lu_vs_anchor_equals_the_cli_json(qtbot, make_window, tmp_path, capsys):
    folder = sparse_session(tmp_path / "song")
    assert cli_main([str(folder)]) == 0
    cli_bands = {row.split()[0]: row.split()[4] for row in capsys.readouterr().out.splitlines()
                 if row.split()[:1] in (["drums"], ["bass"], ["other"])}
    assert cli_main([str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    cli, judged = data["measurements"], {p["role"]: p["offset_lu"] for p in data["pairs"]}
    assert cli["anchor"] == "vocals"

    w = make_window()
    c = load(qtbot, w, [folder])
    # right after the load no value is shown until it is measured: a power-sum estimate over-reads the sparse drums
    assert not c.project.loudness_is_exact()
    assert w.roles.rel_labels["drums"].text().startswith(MEASURING_TEXT)
    assert w.table.role_lu_item("drums").text().startswith(MEASURING_TEXT)
    assert c.project.lu_vs_anchor("drums") > cli["roles"]["drums"]["rel_anchor_lu"] + 0.5   # what it would show
    wait_exact(qtbot, c)
    for role in ("drums", "bass", "other"):   # the offset the critique judges: where the role and the anchor play
        value = shown(w.roles.rel_labels[role].text())
        assert value == pytest.approx(judged[role], abs=0.06), role
        assert shown(w.table.role_lu_item(role).text()) == value   # once, on the role's row
        # with the band the CLI table prints, to the same 0.1 LU as the value (never "+5.1 LU [-1..+5]" in green)
        assert w.table.role_lu_item(role).text().endswith(f"[{cli_bands[role]}]"), role
    assert w.roles.rel_labels["vocals"].text() == "anchor"


def test_meters_follow_gains_mutes_and_roles_like_the_critique(qtbot, make_window, tmp_path):
    folder = sparse_session(tmp_path / "song")
    w = make_window()
    c = load(qtbot, w, [folder])
    c.set_role_gain("drums", -3.0)
    c.set_muted("Hat.wav", True)
    c.set_role("Keys.wav", "bass")
    c.set_track_gain("Bass.wav", 2.0)
    assert w.roles.rel_labels["drums"].text().startswith(MEASURING_TEXT)
    wait_exact(qtbot, c)
    p = c.project
    request = AdviceRequest(p.tracks, p.anchor, p.gains())
    expected = {p["role"]: p["offset_lu"] for p in advice_to_json(run_critique(request, load_advisor("balance")))["pairs"]}
    for role in ("drums", "bass"):
        value = shown(w.roles.rel_labels[role].text())
        assert value == pytest.approx(expected[role], abs=0.06), role
    assert w.roles.rel_labels["other"].text() == "absent"


def test_measuring_is_debounced_and_stale_results_are_dropped(qtbot, make_window, tmp_path):
    folder = sparse_session(tmp_path / "song", seconds=12.0)
    w = make_window()
    c = load(qtbot, w, [folder])
    wait_exact(qtbot, c)
    first = c.jobs.latest(JobKind.MEASURE)
    for i in range(20):                     # one fader move: many values, one measurement
        c.set_track_gain("Kick.wav", -0.5 * i)
    wait_exact(qtbot, c)
    assert c.jobs.latest(JobKind.MEASURE) - first == 1
    p = c.project
    key = p.loudness_key()
    c.set_track_gain("Kick.wav", -12.0)
    stale_job = c.jobs.latest(JobKind.MEASURE)
    old_mix = Metered(key, p.gains(), {"vocals": 0.0, "drums": 99.0}, 0.0, {}, {}, frozenset())
    c._on_measured(stale_job, [old_mix])
    assert not p.loudness_is_exact()
    assert w.roles.rel_labels["drums"].text().startswith(MEASURING_TEXT)   # not the stale result's 99
    wait_exact(qtbot, c)
    m = measure_session(p.tracks, p.gains(), true_peak=False)
    value = shown(w.roles.rel_labels["drums"].text())
    assert value == pytest.approx(song_offsets("", m).offsets[("drums", "vocals")], abs=0.06)


def test_ab_match_uses_the_measured_mix_loudness(qtbot, make_window, tmp_path):
    folder = sparse_session(tmp_path / "song", seconds=12.0)
    w = make_window(StubAdvisor([("drums", "loud")]))
    c = load(qtbot, w, [folder])
    critique(qtbot, w)
    c.apply()
    wait_exact(qtbot, c)
    p = c.project
    assert p.loudness_is_exact(p.ab_gains())            # the "before" mix is measured too
    g0 = c.gains_vector(p.ab_gains())
    assert c.toggle_ab() == "before"
    after = measure_session(p.tracks, p.gains(), true_peak=False).mix.lufs
    before = measure_session(p.tracks, p.ab_gains(), true_peak=False).mix.lufs
    assert c.ab_offset_exact and c.ab_offset_db == pytest.approx(after - before, abs=0.01)
    assert c.ab_offset_db < 0
    assert np.allclose(c.engine.gains, g0 * 10 ** (c.ab_offset_db / 20), rtol=1e-5)
    assert "measured" in w.statusBar().currentMessage()


def test_an_estimated_ab_match_is_said_again_once_measured(qtbot, make_window, tmp_path):
    """A/B pressed before the meters read the applied mix: the status bar says the estimate, and when the meters
    finish it says the measured match, which the transport shows too (it kept the estimate before)."""
    folder = sparse_session(tmp_path / "song", seconds=12.0)
    w = make_window(StubAdvisor([("drums", "loud")]))
    c = load(qtbot, w, [folder])
    critique(qtbot, w)
    wait_exact(qtbot, c)
    c.apply()
    assert c.toggle_ab() == "before" and not c.ab_offset_exact
    assert "estimated" in w.statusBar().currentMessage()
    wait_exact(qtbot, c)
    qtbot.waitUntil(lambda: c.ab_offset_exact, timeout=30000)
    said = f"{c.ab_offset_db:+.1f} dB"
    assert w.statusBar().currentMessage() == f"A/B: hearing BEFORE the change, level-matched ({said}, measured)."
    assert said in w.transport.ab_label.text()


def resting_bass_song(folder, seed: int, backing: bool = False):
    """The vocals are 10 dB louder in the first 10 s, where the bass rests: over the whole song the bass reads
    about 6 LU lower against them than over the 20 s where both play, which is what the critique judges.
    ``backing`` adds a backing vocal that sings throughout at an even level."""
    noise = (0.05 * np.random.default_rng(seed).standard_normal((30 * RATE, 2))).astype(np.float32)
    vox, bass = noise.copy(), noise * np.float32(10 ** (-5 / 20))
    vox[10 * RATE:] *= np.float32(10 ** (-10 / 20))
    bass[: 10 * RATE] = 0.0
    folder.mkdir()
    sf.write(folder / "Lead Vox.wav", vox, RATE, subtype="FLOAT")
    sf.write(folder / "Bass.wav", bass, RATE, subtype="FLOAT")
    if backing:
        sf.write(folder / "BGV Ooh.wav", noise * np.float32(0.3), RATE, subtype="FLOAT")
    return folder


def test_a_role_that_rests_reads_as_the_critique_judges_it_and_follows_its_gain(qtbot, make_window, tmp_path, capsys):
    folder = resting_bass_song(tmp_path / "song", seed=5)
    assert cli_main([str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    judged = next(p["offset_lu"] for p in data["pairs"] if p["role"] == "bass")
    whole = data["measurements"]["roles"]["bass"]["rel_anchor_lu"]
    assert judged - whole > 4.0
    w = make_window()
    c = load(qtbot, w, [folder])
    wait_exact(qtbot, c)
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(judged, abs=0.06)
    c.set_role_gain("bass", -3.0)                 # exact at once: a role gain only shifts its offset
    assert c.project.loudness_is_exact()
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(judged - 3.0, abs=0.06)


def test_against_a_lone_vocal_track_the_meters_read_as_the_critique_judges(qtbot, make_window, tmp_path, capsys):
    # judged against the lead vocal track alone, beside a backing vocal that sings throughout
    folder = resting_bass_song(tmp_path / "song", seed=7, backing=True)
    assert cli_main([str(folder), "--profile", "electronic", "--anchor", "Lead Vox.wav", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    judged = next(p["offset_lu"] for p in data["pairs"] if p["role"] == "bass")
    w = make_window(load_advisor("balance", profile="electronic"))
    c = load(qtbot, w, [folder])
    c.set_profile("electronic")
    c.set_anchor_track("Lead Vox.wav")
    wait_exact(qtbot, c)
    p = c.project
    assert judged - (p.role_loudness("bass") - p.track_loudness("Lead Vox.wav")) > 4.0   # whole song reads otherwise
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(judged, abs=0.06)
    c.set_role_gain("vocals", 2.0)         # the lone track moves with its role gain: exact at once
    c.set_role_gain("bass", -3.0)
    assert p.loudness_is_exact()
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(judged - 5.0, abs=0.06)


def apart_song(folder, drums_play_with_the_bass: bool):
    """The vocals sing the first half, the bass plays the second; the drums play throughout, or with the vocals."""
    noise = (0.05 * np.random.default_rng(6).standard_normal((30 * RATE, 2))).astype(np.float32)
    vox, bass, drums = noise.copy(), noise * np.float32(2.0), noise.copy()
    vox[15 * RATE:] = 0.0
    bass[: 20 * RATE] = 0.0
    if not drums_play_with_the_bass:
        drums[15 * RATE:] = 0.0
    folder.mkdir()
    for name, audio in (("Lead Vox.wav", vox), ("Bass.wav", bass), ("Drums.wav", drums)):
        sf.write(folder / name, audio, RATE, subtype="FLOAT")
    return folder


def test_a_role_that_never_plays_with_the_anchor_is_marked_not_judged(qtbot, make_window, tmp_path):
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, [apart_song(tmp_path / "song", drums_play_with_the_bass=False)])
    wait_exact(qtbot, c)
    assert c.project.plays_apart_from_anchor("bass") and not c.project.plays_apart_from_anchor("drums")
    assert "not judged" in w.roles.rel_labels["bass"].text() and "not judged" in w.table.role_lu_item("bass").text()
    assert "not judged" not in w.roles.rel_labels["drums"].text()
    advice = critique(qtbot, w)
    assert next(p for p in advice.pairs if p.role == "bass").reason   # the critique says the same


def test_a_role_that_plays_with_the_anchor_only_through_another_reads_as_the_critique_judges(qtbot, make_window,
                                                                                            tmp_path):
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, [apart_song(tmp_path / "song", drums_play_with_the_bass=True)])
    wait_exact(qtbot, c)
    assert not c.project.plays_apart_from_anchor("bass")
    advice = critique(qtbot, w)
    bass = next(p for p in advice.pairs if p.role == "bass")
    assert bass.via == ("drums",) and bass.offset_lu == pytest.approx(6.0, abs=0.2)   # bass - drums + drums - vox
    assert "not judged" not in w.roles.rel_labels["bass"].text()
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(bass.offset_lu, abs=0.06)
    # the table's role row says how it was read, as the CLI's "[through drums]" does (it looked measured directly)
    assert c.project.reads_through_another_role("bass") and not c.project.reads_through_another_role("drums")
    assert "read through a role that plays with both" in w.table.role_lu_item("bass").toolTip()
    assert "read through" not in w.table.role_lu_item("drums").toolTip()
    c.set_role_gain("bass", -3.0)           # follows the fader exactly, as a direct pair does
    wait_exact(qtbot, c)
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(bass.offset_lu - 3.0, abs=0.06)


def test_a_bridged_reading_is_not_kept_once_a_track_of_the_bridging_role_changes(qtbot, make_window, tmp_path):
    """Two drum tracks: one plays with the vocals, the other with the bass; the bass reads through the drums, so
    turning the second down moves the bass's reading by as much, and the old one must not stay on show."""
    folder = apart_song(tmp_path / "song", drums_play_with_the_bass=False)   # its drums play with the vocals only
    late = (0.05 * np.random.default_rng(7).standard_normal((30 * RATE, 2))).astype(np.float32)
    late[: 15 * RATE] = 0.0
    sf.write(folder / "Drums Late.wav", late, RATE, subtype="FLOAT")
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, [folder])
    wait_exact(qtbot, c)
    before = c.project.pair_lu("bass")
    assert before is not None and not c.project.plays_apart_from_anchor("bass")
    c.set_track_gain("Drums Late.wav", -6.0)
    assert c.project.pair_lu("bass") is None        # not measured at these gains yet: no stale bridged value
    wait_exact(qtbot, c)
    bass = next(p for p in critique(qtbot, w).pairs if p.role == "bass")
    assert bass.via == ("drums",) and bass.offset_lu - before > 4.0   # (both drum tracks share one window)
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(bass.offset_lu, abs=0.06)
    c.set_track_gain("Drums Late.wav", 0.0)          # back where it was measured: known again at once
    assert c.project.pair_lu("bass") == pytest.approx(before)


def test_against_a_lone_vocal_track_a_role_that_never_plays_with_it_reads_through_another(qtbot, make_window,
                                                                                          tmp_path):
    w = make_window(load_advisor("balance", profile="electronic"))
    c = load(qtbot, w, [apart_song(tmp_path / "song", drums_play_with_the_bass=True)])
    c.set_profile("electronic")
    c.set_anchor_track("Lead Vox.wav")
    wait_exact(qtbot, c)
    advice = critique(qtbot, w)
    bass = next(p for p in advice.pairs if p.role == "bass")
    assert bass.anchor == "lead vocal" and bass.via == ("drums",) and bass.offset_lu == pytest.approx(6.0, abs=0.2)
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(bass.offset_lu, abs=0.06)


def test_with_a_span_selected_the_meters_read_the_span_as_its_critique_judges_it(qtbot, make_window, tmp_path,
                                                                                 capsys):
    # the bass is 8 dB louder in the first 15 s than in the last 15 s: the span 15-30 s reads it lower
    noise = (0.05 * np.random.default_rng(3).standard_normal((30 * RATE, 2))).astype(np.float32)
    bass = noise * np.float32(10 ** (-5 / 20))
    bass[: 15 * RATE] *= np.float32(10 ** (8 / 20))
    folder = tmp_path / "song"
    folder.mkdir()
    sf.write(folder / "Lead Vox.wav", noise, RATE, subtype="FLOAT")
    sf.write(folder / "Bass.wav", bass, RATE, subtype="FLOAT")
    offsets = {}
    for span in (None, "15:30"):
        assert cli_main([str(folder), "--json"] + (["--span", span] if span else [])) == 0
        pairs = json.loads(capsys.readouterr().out)["pairs"]
        offsets[span] = next(p["offset_lu"] for p in pairs if p["role"] == "bass")
    assert offsets[None] - offsets["15:30"] > 3.0
    w = make_window()
    c = load(qtbot, w, [folder])
    wait_exact(qtbot, c)
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(offsets[None], abs=0.06)
    c.set_region((15.0, 30.0))
    assert w.table.role_lu_item("bass").text().startswith(MEASURING_TEXT)   # not the whole song's value
    wait_exact(qtbot, c)
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(offsets["15:30"], abs=0.06)
    assert shown(w.table.role_lu_item("bass").text()) == shown(w.roles.rel_labels["bass"].text())
    span_mix = measure_session(c.project.tracks, c.project.gains(), span=(15.0, 30.0), true_peak=False).mix.lufs
    assert c.project.exact_loudness().mix == pytest.approx(span_mix, abs=0.01)   # the A/B match: what loops
    c.set_region(None)                             # the whole song again: its reading is still known
    assert c.project.loudness_is_exact()
    assert shown(w.roles.rel_labels["bass"].text()) == pytest.approx(offsets[None], abs=0.06)


def test_the_role_panels_typical_level_rounds_halves_away_from_zero():
    """The pop-rock bass band is -5.5..+0.5 around -2.5: 'typ. -2' (Python's round to even) read as off-centre."""
    from mixingbuddy_app.widgets.track_table import whole_db

    assert [whole_db(x) for x in (-2.5, 2.5, -0.4, -0.0, 1.5, -2.6)] == ["-3", "+3", "+0", "+0", "+2", "-3"]
