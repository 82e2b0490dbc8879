"""Session save/open round trip, missing-file relocation, atomic writes, exports."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from mixingbuddy_app.project import MixProject
from mixingbuddy_app.session_file import read_session, resolve_session_path
from model.files import atomic_write_text

from tests.app.conftest import StubAdvisor, critique, load


def _open(qtbot, w, path):
    c = w.controller
    with qtbot.waitSignal(c.loading_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        c.open_session(str(path))
    return c


def _prepare(qtbot, w, stems):
    c = load(qtbot, w, stems)
    w.table.role_combos["04 Pad.wav"].setCurrentText("bass")
    c.set_anchor("drums")
    c.set_track_gain("01 Lead Vox.wav", -2.5)
    c.set_muted("03 Bass DI.wav", True)
    c.set_region((1.0, 4.0))
    critique(qtbot, w)
    c.apply()
    return c


def test_session_round_trip(qtbot, make_window, stems, tmp_path):
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    c = _prepare(qtbot, w, stems)
    session = stems[0].parent / "song.mbsession"
    assert c.save_session(str(session))
    data = json.loads(session.read_text())
    assert data["schema"] == "mixingbuddy.session/1"
    assert [e["path"] for e in data["tracks"]] == [p.name for p in stems]   # relative to the session file
    assert not list(session.parent.glob(".*.tmp"))                          # atomic write left nothing behind
    p0 = c.project

    w2 = make_window(StubAdvisor())
    c2 = _open(qtbot, w2, session)
    p = c2.project
    assert [t.id for t in p.tracks.tracks] == [t.id for t in p0.tracks.tracks]
    assert p.tracks.get("04 Pad.wav").role.role == "bass"
    assert p.anchor == "drums" and w2.roles.radios["drums"].isChecked()
    assert p.track_db["01 Lead Vox.wav"] == pytest.approx(-2.5)
    assert p.role_db == pytest.approx(p0.role_db)
    assert p.muted == {"03 Bass DI.wav"}
    assert p.region == pytest.approx((1.0, 4.0))
    assert p.advice is not None and p.advice.text == p0.advice.text
    assert p.advice.primary == p0.advice.primary
    assert w2.advice.sentence.text() == p0.advice.text
    assert w2.gain_plot.bar_heights() == w.gain_plot.bar_heights()
    assert c2.can_ab()
    assert w2.settings.recent_sessions()[0] == str(session.resolve())
    # saved after its Apply: the critique judged the mix before it, so it cannot be applied a second time
    assert data["advice_current"] is False
    assert not c2.advice_is_current() and not c2.can_apply() and not w2.apply_action.isEnabled()
    # it reads as in the window it was saved from: applied (Re-check judges it), not out of date
    assert w2.advice.stale.text() == "" and w2.advice.applied.text().startswith("Applied: vocals")


def test_a_session_saved_right_after_its_critique_reopens_with_the_advice_to_apply(qtbot, make_window, stems,
                                                                                     tmp_path):
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    c = load(qtbot, w, stems)
    critique(qtbot, w)
    session = tmp_path / "song.mbsession"
    assert c.save_session(str(session))
    assert json.loads(session.read_text())["advice_current"] is True
    w2 = make_window(StubAdvisor())
    c2 = _open(qtbot, w2, session)
    assert c2.advice_is_current() and c2.can_apply()
    assert c2.apply().applied_db == pytest.approx(4.5)


def test_moved_file_is_located_and_nothing_else_is_lost(qtbot, make_window, stems, tmp_path):
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    c = _prepare(qtbot, w, stems)
    session = stems[0].parent / "song.mbsession"
    c.save_session(str(session))
    moved_dir = tmp_path / "moved"
    moved_dir.mkdir()
    moved = moved_dir / stems[0].name
    shutil.move(str(stems[0]), str(moved))

    w2 = make_window()
    asked = []
    w2.locate_file = lambda missing: asked.append(missing) or str(moved)
    c2 = _open(qtbot, w2, session)
    assert asked == [str(stems[0].resolve())]
    p = c2.project
    assert len(p.tracks.tracks) == 4 and not p.missing
    assert p.track_db["01 Lead Vox.wav"] == pytest.approx(-2.5)
    assert p.tracks.get("04 Pad.wav").role.role == "bass"
    assert p.anchor == "drums" and p.region == pytest.approx((1.0, 4.0))


def test_skipped_missing_file_is_kept_in_the_session(qtbot, make_window, stems, tmp_path):
    w = make_window()
    c = load(qtbot, w, stems)
    c.set_track_gain("02 Kick.wav", 3.0)
    session = tmp_path / "s.mbsession"
    c.save_session(str(session))
    stems[1].unlink()
    w2 = make_window()
    w2.locate_file = lambda missing: None
    c2 = _open(qtbot, w2, session)
    assert len(c2.project.tracks.tracks) == 3
    assert [m.path for m in c2.project.missing] == [str(stems[1].resolve())]
    items = [w2.advice.findings.item(i).text() for i in range(w2.advice.findings.count())]
    assert any("Missing" in t for t in items)
    again = tmp_path / "s2.mbsession"
    c2.save_session(str(again))
    entries = json.loads(again.read_text())["tracks"]
    kick = [e for e in entries if e.get("missing")]
    assert len(kick) == 1 and kick[0]["gain_db"] == 3.0


def test_bad_session_file_gives_a_banner(qtbot, make_window, tmp_path):
    w = make_window()
    bad = tmp_path / "bad.mbsession"
    bad.write_text("{not json")
    with qtbot.waitSignal(w.controller.error) as blocker:
        w.controller.open_session(str(bad))
    assert "not a MixingBuddy session" in blocker.args[0].message


def test_relative_paths_are_confined_to_the_session_folder(tmp_path):
    base = tmp_path / "sessions"
    base.mkdir()
    assert resolve_session_path("stems/a.wav", base) == str(base / "stems" / "a.wav")
    assert resolve_session_path("../../etc/passwd", base) == str(base / "passwd")
    assert resolve_session_path("/abs/x.wav", base) == "/abs/x.wav"


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a.mbsession"
    atomic_write_text(target, "old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_save_failure_is_a_banner_not_a_crash(qtbot, make_window, stems, tmp_path):
    w = make_window()
    c = load(qtbot, w, stems)
    blocker_path = tmp_path / "file"
    blocker_path.write_text("x")
    with qtbot.waitSignal(c.error) as blocker:
        assert not c.save_session(str(blocker_path / "sub" / "s.mbsession"))
    assert blocker.args[0].title == "Save failed"


def test_exports_markdown_json_csv(qtbot, make_window, stems, tmp_path):
    w = make_window(StubAdvisor([("bass", "loud")]))
    c = load(qtbot, w, stems)
    advice = critique(qtbot, w)
    assert c.export(str(tmp_path / "c.md"))
    md = (tmp_path / "c.md").read_text()
    assert advice.text in md and "| bass | decrease | -4.5 |" in md
    assert c.export(str(tmp_path / "c.json"))
    data = json.loads((tmp_path / "c.json").read_text())
    assert {"schema", "anchor", "advisor", "text", "suggestions", "confidence", "abstained", "measurements",
            "windows", "warnings"} <= set(data)
    assert data["schema"] == "mixingbuddy.advice/1" and data["advisor"] == "stub"
    s = data["suggestions"][0]
    assert {"stem", "direction", "min_db", "max_db", "delta_db", "confidence"} <= set(s)
    assert s["stem"] == "bass" and s["direction"] == "decrease" and s["delta_db"] == -4.5
    assert c.export(str(tmp_path / "c.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "c.csv").read_text())))
    bass = [r for r in rows if r["role"] == "bass"][0]
    assert float(bass["suggested_change_db"]) == -4.5 and bass["primary"] == "1"
    assert [r["role"] for r in rows] == ["vocals", "drums", "bass", "other"]


def test_markdown_export_names_the_roles_guessed_from_unsure_names(qtbot, make_window, stems, tmp_path):
    """The track table marks them '?'; the report a producer passes on says which judged roles rest on them."""
    upright = stems[2].with_name("05 Upright.wav")
    upright.write_bytes(stems[2].read_bytes())
    w = make_window(StubAdvisor([("bass", "loud")]))
    c = load(qtbot, w, [*stems, upright])
    critique(qtbot, w)
    assert c.export(str(tmp_path / "c.md"))
    assert ("- Roles guessed from unsure names (check them; set a track's role in its Role column): "
            "05 Upright.wav (bass)\n") in (tmp_path / "c.md").read_text()
    c.set_role(next(t.id for t in c.project.tracks.tracks if t.name == upright.name), "bass")
    critique(qtbot, w)
    assert c.export(str(tmp_path / "c.md"))
    assert "unsure" not in (tmp_path / "c.md").read_text()


def test_undo_redo_in_the_project_coalesces_one_fader_move():
    p = MixProject()
    p.track_db = {"a": 0.0}
    for v in (1.0, 2.0, 3.0):
        p.set_track_gain("a", v)
    p.end_gain_edit()
    p.set_track_gain("a", 5.0)
    assert p.undo() and p.track_db["a"] == 3.0
    assert p.undo() and p.track_db["a"] == 0.0
    assert p.undo() is None
    p.redo()
    assert p.track_db["a"] == 3.0
    assert p.set_track_gain("a", 99) == 12.0 and p.set_track_gain("a", -99) == -24.0


def test_mutes_and_solos_are_undo_steps_among_the_gain_moves():
    p = MixProject()
    p.track_db = {"a": 0.0, "b": 0.0}
    p.set_track_gain("a", 2.0)
    p.set_muted("b", True)
    p.set_soloed(["a", "b"], True)            # one step for both
    assert p.undo_label() == "solo of a, b"
    assert p.undo() and p.soloed == set() and p.muted == {"b"}
    assert p.undo() == "mute of b" and p.muted == set() and p.track_db["a"] == 2.0
    assert p.undo() and p.track_db["a"] == 0.0 and p.undo() is None
    p.redo()
    p.redo()
    assert p.muted == {"b"} and p.track_db["a"] == 2.0 and p.redo_label() == "solo of a, b"


def test_a_mute_the_app_makes_itself_holds_in_every_state_undo_goes_back_to():
    """A copy of the stems found after the user moved a fader: muted, and Undo of the fader keeps it muted
    (the banner says it is muted); Redo too."""
    p = MixProject()
    p.track_db = {"a": 0.0, "master": 0.0}
    p.set_track_gain("a", 3.0)
    p.end_gain_edit()
    p.set_track_gain("a", 4.0)
    p.undo()
    p.set_muted("master", True, by_hand=False)
    assert p.undo_label() == "gain of a"          # no step of its own
    p.undo()
    assert p.track_db["a"] == 0.0 and p.muted == {"master"}
    p.redo()
    p.redo()
    assert p.track_db["a"] == 4.0 and p.muted == {"master"}


def test_read_session_rejects_other_schemas(tmp_path):
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"schema": "other/1", "tracks": []}))
    from model.errors import InputError

    with pytest.raises(InputError):
        read_session(f)


def test_the_command_line_critiques_a_saved_session_as_the_app_does(qtbot, make_window, tmp_path):
    from model.advisors import load_advisor
    from tests.app.conftest import make_stems
    from tests.app.test_cli import run

    stems = make_stems(tmp_path / "export", seconds=24.0)
    w = make_window(advisor=load_advisor("balance", profile="electronic"))   # as the profile picker builds it
    c = load(qtbot, w, stems)
    w.table.role_combos["04 Pad.wav"].setCurrentText("bass")     # a role set by hand
    c.set_anchor("drums")
    c.set_profile("electronic")                                   # the app's choice, kept in the saved critique
    c.set_track_gain("01 Lead Vox.wav", 7.5)
    c.set_region((2.0, 22.0))
    critique(qtbot, w)
    c.apply()                                                     # role gains
    c.set_muted("03 Bass DI.wav", True)
    advice = critique(qtbot, w)
    session = stems[0].parent / "song.mbsession"
    assert c.save_session(str(session))
    assert c.project.role_db != {r: 0.0 for r in c.project.role_db}   # Apply moved a role fader

    out = run(session, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["text"] == advice.text and data["anchor"] == "drums" and data["span"] == [2.0, 22.0]
    judged = {p["role"]: p["offset_lu"] for p in data["pairs"]}
    assert judged == pytest.approx({p.role: p.offset_lu for p in advice.pairs}, abs=5e-4)   # JSON: 3 decimals
    tracks = {t["name"]: t for t in data["measurements"]["tracks"]}
    assert tracks["04 Pad.wav"]["role"] == "bass" and "03 Bass DI.wav" not in tracks    # the mute holds
    note = next(f["message"] for f in data["warnings"] if f["code"] == "session")
    assert note.startswith("As saved in song.mbsession: 1 role(s) set, 1 track gain(s)") and "1 muted" in note
    assert "the profile electronic of its last critique" in note and data["profile"] == "electronic"

    out = run(session, "--anchor", "vocals", "--span", "0:24", "--profile", "pop-rock", "--json")  # options win
    data = json.loads(out.stdout)
    assert out.returncode == 0 and data["anchor"] == "vocals" and data["span"] == [0.0, 24.0]
    assert data["profile"] == "pop-rock"
    saved = json.loads(session.read_text())
    saved["advice"]["profile"] = "my-band"                         # learned on another computer
    session.write_text(json.dumps(saved))
    data = json.loads(run(session, "--json").stdout)
    note = next(f["message"] for f in data["warnings"] if f["code"] == "session")
    assert data["profile"] == "pop-rock" and "its last critique's profile my-band, not installed here" in note
    as_json = stems[0].parent / "song.json"                       # Save takes .json too: it is a session everywhere
    assert c.save_session(str(as_json))
    assert json.loads(run(as_json, "--json").stdout)["text"] == advice.text
    w2 = make_window(advisor=load_advisor("balance", profile="electronic"))
    with qtbot.waitSignal(w2.controller.loading_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        w2.open_paths([str(as_json)])                             # as a drop or `mixingbuddy song.json` opens it
    assert w2.controller.project.anchor == "drums" and w2.controller.project.muted == {"03 Bass DI.wav"}


def test_a_reopened_session_is_judged_with_the_profile_of_its_last_critique(qtbot, make_window, tmp_path):
    """As `mixingbuddy critique song.mbsession` does: the profile is the song's (its genre), not the app's."""
    from model.advisors import load_advisor
    from tests.app.conftest import make_stems

    stems = make_stems(tmp_path / "export", seconds=12.0)
    w = make_window(advisor=load_advisor("balance", profile="electronic"))
    c = load(qtbot, w, stems)
    c.set_profile("electronic")
    assert critique(qtbot, w).profile == "electronic"
    session = stems[0].parent / "song.mbsession"
    assert c.save_session(str(session))

    def reopen():
        w2 = make_window()
        said = []
        w2.controller.status.connect(said.append)
        w2.controller.set_profile("pop-rock")        # the app's choice when the session is opened
        _open(qtbot, w2, session)
        return w2, said[-1]

    w2, said = reopen()
    c2 = w2.controller
    assert c2.profile_name == "electronic" == w2.profile_picker.combo.currentData()
    assert w2.settings.advisor().profile == "electronic"       # the app remembers it as any choice of the picker
    assert "the profile electronic of its last critique is chosen again" in said

    saved = json.loads(session.read_text())
    saved["advice"]["profile"] = "my-band"           # learned on another computer
    session.write_text(json.dumps(saved))
    w3, said = reopen()
    c3 = w3.controller
    assert c3.profile_name == "pop-rock" and c3.project.advice.profile == "my-band"
    assert "its last critique's profile my-band is not installed here: the next critique uses pop-rock" in said


def test_a_hand_edited_gain_is_read_into_the_fader_range(tmp_path):
    """The app and the command line read a session's gains the same way: into the faders' range."""
    from mixingbuddy_app.session_file import session_state
    from model.audio.stream import session_tracks
    from model.audio.tracks import GAIN_MAX_DB, GAIN_MIN_DB, plan_session
    from tests.app.conftest import make_stems
    from tests.app.test_cli import session_file

    stems = make_stems(tmp_path / "export")
    session = session_file(stems[0].parent, [p.name for p in stems], role_gains={"drums": -99.0, "bass": 3.0})
    saved = json.loads(session.read_text())
    saved["tracks"][0]["gain_db"] = 40.0
    session.write_text(json.dumps(saved))
    pending = read_session(session)
    state = session_state(pending, session_tracks(plan_session(pending.resolved_paths())))
    assert state.track_db[stems[0].name] == GAIN_MAX_DB and state.track_db[stems[1].name] == 0.0
    assert state.role_db["drums"] == GAIN_MIN_DB and state.role_db["bass"] == 3.0
