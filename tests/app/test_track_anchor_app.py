"""The app's single-track anchor: "Anchor on" one vocals track (the lead vocal) beside the role's anchor radio."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from model.advisors import load_advisor
from model.audio.roles import TRACK_ANCHOR
from tests.app.conftest import RATE, critique, load, make_stems
from tests.app.test_cli import run_profile

LEAD = "01 Lead Vox.wav"


def lead_and_backing(tmp_path):
    """The test stems plus a backing vocal, so the vocals role holds two tracks."""
    stems = make_stems(tmp_path / "export", seconds=6.0)
    t = np.arange(6 * RATE) / RATE
    sf.write(stems[0].parent / "05 BGV Ooh.wav", (0.08 * np.sin(2 * np.pi * 494 * t)).astype(np.float32), RATE)
    return stems[0].parent


def test_anchor_on_the_lead_vocal_judges_against_that_track(qtbot, make_window, tmp_path):
    w = make_window(advisor=load_advisor("balance", profile="electronic"))
    c = load(qtbot, w, [lead_and_backing(tmp_path)])
    box = w.roles.anchor_track_box
    assert [box.itemText(i) for i in range(box.count())] == [
        "all vocals tracks", f"one track: {LEAD}", "one track: 05 BGV Ooh.wav"]
    assert not box.isEnabled() and "'pop-rock' profile has no statistics" in box.toolTip()   # the default
    c.set_profile("electronic")                                   # the chart's and meters' bands follow it
    assert box.isEnabled()
    box.activated.emit(1)                                         # the user picks the lead vocal
    p = c.project
    assert p.anchor == "vocals" and p.anchor_chosen and p.anchor_track == LEAD
    assert p.snapshot().anchor_track == LEAD and box.currentIndex() == 1
    assert w.roles.rel_labels["vocals"].text() == "anchor: one track"
    assert w.table.role_lu_item("vocals").text() == f"anchor: {LEAD}"
    assert c.typical_band("drums") == c.balance_profile().typical("drums", TRACK_ANCHOR)
    advice = critique(qtbot, w)
    assert advice.anchor_track == LEAD and advice.judged_anchor == TRACK_ANCHOR
    assert {pair.anchor for pair in advice.pairs} == {TRACK_ANCHOR}
    qtbot.waitUntil(lambda: p.pair_lu("drums") is not None, timeout=20000)   # the meters' measurement
    drums = next(pair for pair in advice.pairs if pair.role == "drums")
    assert p.lu_vs_anchor("drums") == pytest.approx(drums.offset_lu, abs=1e-6)   # the meter reads the judged pair
    assert f"anchor: {LEAD} (lead vocal) (chosen)" in w.advice.context.text()
    c.set_anchor("drums")                                         # a role anchor again: the track choice goes
    assert p.anchor_track is None and not box.isEnabled()


def test_a_profile_without_lead_statistics_is_a_banner(qtbot, make_window, tmp_path):
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [lead_and_backing(tmp_path)])
    c.set_anchor_track(LEAD)                    # default profile pop-rock (e.g. a session saved with a track)
    assert w.roles.anchor_track_box.isEnabled()                  # so that it can be set back to the role
    reports = []
    c.error.connect(reports.append)
    with qtbot.waitSignal(c.busy_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        c.critique()
    assert c.project.advice is None
    assert reports and "'pop-rock' profile has no statistics against a lead vocal" in reports[-1].message


def test_the_anchor_track_follows_roles_and_sessions(qtbot, make_window, tmp_path):
    w = make_window(advisor=load_advisor("balance"))
    folder = lead_and_backing(tmp_path)
    c = load(qtbot, w, [folder])
    reports = []
    c.error.connect(reports.append)
    c.set_anchor_track("02 Kick.wav")                              # not a vocal: refused, one line
    assert c.project.anchor_track is None and "Only a vocals track" in reports[-1].message
    c.set_anchor_track(LEAD)
    session = folder / "song.mbsession"
    assert c.save_session(str(session))
    entries = {e["path"]: e for e in json.loads(session.read_text())["tracks"]}
    assert entries[LEAD]["anchor"] is True and entries["05 BGV Ooh.wav"]["anchor"] is False

    w2 = make_window(advisor=load_advisor("balance"))
    c2 = w2.controller
    with qtbot.waitSignal(c2.loading_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        c2.open_session(str(session))
    assert c2.project.anchor_track == LEAD and w2.roles.anchor_track_box.currentData() == LEAD
    w2.table.role_combos[LEAD].setCurrentText("other")           # no longer a vocal: the whole role again
    assert c2.project.anchor_track is None and c2.project.anchor == "vocals"


def test_a_saved_anchor_track_is_the_lead_when_a_profile_learns_from_the_session(qtbot, make_window, tmp_path):
    from mixingbuddy_app.profile_cli import song_source
    from model.advice.profiles import fit_profile

    w = make_window(advisor=load_advisor("balance"))
    folder = lead_and_backing(tmp_path)
    c = load(qtbot, w, [folder])
    c.set_anchor_track("05 BGV Ooh.wav")          # the producer says this one is the lead, whatever its name
    session = folder / "song.mbsession"
    assert c.save_session(str(session))
    song = song_source(str(session), {})
    assert song.lead == "05 BGV Ooh.wav"
    profile, offsets = fit_profile([song], "one")
    assert profile["provenance"]["lead_vocal_tracks"] == {"song": "05 BGV Ooh.wav"}
    assert ("drums", TRACK_ANCHOR) in offsets[0].offsets
    other = lead_and_backing(tmp_path / "second")           # a profile learns from two songs or more
    for f in other.glob("*.wav"):                             # another song: not the same files byte for byte
        audio, rate = sf.read(f, dtype="float32")
        sf.write(f, audio * np.float32(0.9), rate)
    out = run_profile("fit", session, other, "--name", "two", "--out", tmp_path / "two.json")   # as a user runs it
    assert out.returncode == 0, out.stderr
    saved = json.loads((tmp_path / "two.json").read_text())
    assert saved["provenance"]["lead_vocal_tracks"] == {"song": "05 BGV Ooh.wav", "export": "01 Lead Vox.wav"}
    assert "drums|lead vocal" in saved["pairs"]
