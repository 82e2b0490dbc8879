"""The profile picker next to the anchor and "Learn a profile from my mixes…" in the app."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from model.synthetic import synth_multitrack, typical_offsets, write_multitrack

from tests.app.conftest import critique, load

SONG_RATE = 16000
DRUM_FLAWS = (6.0, 2.0, -1.0)   # each song's drums vs their typical level (dB)


@pytest.fixture
def user_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "profiles"
    monkeypatch.setenv("MIXINGBUDDY_PROFILE_DIR", str(folder))
    monkeypatch.delenv("MIXINGBUDDY_CHECKPOINT", raising=False)
    return folder


@pytest.fixture
def real_window(qtbot, tmp_path, user_dir):
    """A window whose advisor comes from its settings (the measured advisor: no checkpoint), as the app builds it."""
    from PySide6.QtCore import QSettings

    from mixingbuddy_app.composition import build_main_window
    from mixingbuddy_app.playback import NullOutput
    from mixingbuddy_app.settings import AppSettings

    def factory():
        settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        window = build_main_window(None, NullOutput("tests"), settings=settings)
        window.ask_unsaved = lambda what: "discard"
        qtbot.addWidget(window)
        window.show()
        return window

    return factory


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> list[Path]:
    """Three synthetic songs whose drums sit +6, +2 and -1 dB from their typical level against the vocals."""
    root = tmp_path_factory.mktemp("songs")
    folders = []
    for seed, flaw in enumerate(DRUM_FLAWS):
        folder = root / f"song{seed}"
        write_multitrack(folder, synth_multitrack(seed, 20.0, SONG_RATE, role_offsets_db={"drums": flaw}), SONG_RATE)
        folders.append(folder)
    return folders


def choose(window, name: str) -> None:
    """Pick a profile in the combo as a user does."""
    combo = window.profile_picker.combo
    i = combo.findData(name)
    assert i >= 0, f"{name} is not offered"
    combo.setCurrentIndex(i)
    combo.activated.emit(i)


def test_picker_lists_shipped_and_user_profiles(real_window, user_dir):
    from resources import PROFILES_DIR

    user_dir.mkdir(parents=True)
    mine = json.loads((PROFILES_DIR / "electronic.json").read_text())
    mine["name"], mine["description"] = "my-mixes", "my own songs"
    (user_dir / "my-mixes.json").write_text(json.dumps(mine))
    w = real_window()
    picker = w.profile_picker
    assert picker.names() == ["electronic", "pop-rock", "my-mixes"]   # shipped first; no tonal companion files
    combo = picker.combo
    assert combo.itemText(combo.findData("my-mixes")) == "my-mixes (yours)"
    assert combo.currentData() == "pop-rock" == w.controller.profile_name   # the default
    # the picker sits in the roles box, beside the anchor choice
    assert picker.parent() is w.roles


def test_a_role_the_profile_cannot_judge_reads_not_judged_over_the_span_as_in_the_cli(qtbot, real_window, stems,
                                                                                      user_dir):
    """A learned profile whose bass-vs-vocals pair comes from one song: the critique leaves the bass unjudged, yet
    the role panel showed '+1.7 LU (typ. +8)' in the 'far' red and the CLI table '+2.5 … not judged'."""
    from resources import PROFILES_DIR

    user_dir.mkdir(parents=True)
    thin = json.loads((PROFILES_DIR / "electronic.json").read_text())
    thin["name"] = "thin"
    thin["pairs"]["bass|vocals"]["songs"] = 1
    (user_dir / "thin.json").write_text(json.dumps(thin))
    w = real_window()
    choose(w, "thin")
    c = load(qtbot, w, stems)
    advice = critique(qtbot, w)
    assert next(p for p in advice.pairs if p.role == "bass").reason.startswith("the profile measured bass vs vocals")
    qtbot.waitUntil(lambda: c.project.loudness_is_exact(), timeout=15000)
    span = advice.measurements["roles"]["bass"]["rel_anchor_lu"]       # what the CLI table prints for it
    for text in (w.roles.rel_labels["bass"].text(), w.table.role_lu_item("bass").text()):
        assert "not judged" in text and f"{span:+.1f} LU" in text, text
    assert "[" not in w.table.role_lu_item("bass").text()    # no band beside it: it judges nothing there
    assert "on 1 song(s) only" in w.roles.rel_labels["bass"].toolTip()
    assert "not judged" not in w.roles.rel_labels["drums"].text()


def test_critique_uses_the_chosen_profile_and_it_is_remembered(qtbot, real_window, stems):
    w = real_window()
    load(qtbot, w, stems)
    choose(w, "electronic")
    assert w.controller.profile_name == "electronic"
    assert w.settings.advisor().profile == "electronic"
    advice = critique(qtbot, w)
    assert advice.profile == "electronic"
    assert "profile: electronic" in w.advice.context.text()
    # the typical bands of the roles box follow the profile
    from model.advice.profiles import load_profile

    assert w.controller.typical_band("drums") == load_profile("electronic").typical("drums", "vocals")
    choose(w, "pop-rock")
    assert "this critique used the electronic profile; the next one uses pop-rock" in w.advice.stale.text()
    assert w.controller.applicable_roles() == ()     # the table and the chart's bands judge with pop-rock now
    assert critique(qtbot, w).profile == "pop-rock"
    w.close()
    again = real_window()
    assert again.profile_picker.combo.currentData() == "pop-rock" == again.controller.profile_name
    choose(again, "electronic")
    again.close()
    assert real_window().controller.profile_name == "electronic"


def open_learn_dialog(window, folders, name: str):
    window.learn_profile()
    dlg = window.learn_dialog
    dlg.add_folders([str(f) for f in folders])
    dlg.name.setText(name)
    return dlg


def test_learning_a_profile_saves_and_selects_it(qtbot, real_window, songs, user_dir):
    w = real_window()
    c = w.controller
    dlg = open_learn_dialog(w, songs, "mine")
    assert dlg.song_folders() == [str(f) for f in songs]
    steps = []
    c.learn_progress.connect(lambda frac, msg: steps.append(msg))
    with qtbot.waitSignal(c.profile_learned, timeout=60000):
        dlg.learn_button.click()
        assert not dlg.learn_button.isEnabled() and dlg.progress.isVisible()
    saved = user_dir / "mine.json"
    assert saved.is_file()
    profile = json.loads(saved.read_text())
    assert profile["provenance"]["songs"] == ["song0", "song1", "song2"]
    # the middle song's drums sit +2 dB over their typical level: the median comes back within 0.2 LU
    assert abs(profile["pairs"]["drums|vocals"]["median"] - (typical_offsets()["drums"] + 2.0)) < 0.2
    assert any("3 of 3" in s for s in steps)
    assert c.profile_name == "mine"
    assert w.profile_picker.combo.currentData() == "mine"
    assert w.settings.advisor().profile == "mine"
    assert not dlg.isVisible()


def test_cancel_stops_learning_and_saves_nothing(qtbot, real_window, songs, user_dir):
    w = real_window()
    c = w.controller
    dlg = open_learn_dialog(w, songs, "cancelled")
    with qtbot.waitSignal(c.learning_changed, timeout=60000, check_params_cb=lambda running, _m: not running) as sig:
        dlg.learn_button.click()
        dlg.cancel_button.click()     # while the first song is being measured
    assert sig.args[1] == "Profile fit cancelled; nothing was saved."
    assert not (user_dir / "cancelled.json").exists()
    assert not any(user_dir.glob("*")) if user_dir.exists() else True   # no half-written file either
    assert c.profile_name == "pop-rock" and "cancelled" not in w.profile_picker.names()
    assert dlg.isVisible() and "nothing was saved" in dlg.message.text()
    assert dlg.learn_button.isEnabled()


def test_closing_the_app_cancels_a_running_fit(qtbot, real_window, songs, user_dir):
    """The shutdown path cancels every job through the registry; the fit job answers it like any pool job."""
    w = real_window()
    c = w.controller
    dlg = open_learn_dialog(w, songs, "closing")
    with qtbot.waitSignal(c.learning_changed, timeout=60000, check_params_cb=lambda running, _m: not running) as sig:
        dlg.learn_button.click()
        c.jobs.cancel()               # what closing the window does to every running job
    assert sig.args[1] == "Profile fit cancelled; nothing was saved."
    assert not (user_dir / "closing.json").exists()


def test_learn_is_disabled_until_two_different_songs_are_picked(qtbot, real_window, songs, tmp_path):
    w = real_window()
    dlg = open_learn_dialog(w, [], "mine")

    def refused(so_far: int) -> bool:
        why = dlg.requirement.text()
        return (not dlg.learn_button.isEnabled() and dlg.requirement.isVisible()
                and why.startswith("Pick at least 2 finished songs") and f"({so_far} so far)" in why)

    assert refused(0)
    dlg.add_folders([songs[0]])
    assert refused(1)
    link = tmp_path / "link to song0"
    link.symlink_to(songs[0], target_is_directory=True)
    dlg.add_folders([songs[0], songs[0] / ".." / songs[0].name, link])   # the same song, spelled three ways
    assert dlg.song_folders() == [str(songs[0])] and refused(1)
    dlg.add_folders([songs[1]])
    assert dlg.learn_button.isEnabled() and not dlg.requirement.isVisible()
    dlg.folders.setCurrentRow(1)
    dlg.remove_button.click()
    assert refused(1)
    dlg.add_folders([songs[0].parent])     # the folder that holds the songs stands for them
    assert dlg.song_folders() == [str(f) for f in songs] and dlg.learn_button.isEnabled()


def test_the_controller_refuses_fewer_than_two_songs_in_one_line(qtbot, real_window, songs, user_dir):
    w = real_window()
    c = w.controller
    reports = []
    c.error.connect(reports.append)
    for folders in ([], [songs[0]], [songs[0], songs[0].parent / ".." / songs[0].parent.name / songs[0].name]):
        assert c.learn_profile([str(f) for f in folders], "one") is None
        assert not c.learning
    assert [r.title for r in reports] == ["Learn a profile"] * 3
    for r, so_far in zip(reports, (0, 1, 1)):
        assert r.message.startswith("Pick at least 2 finished songs") and f"({so_far} so far)" in r.message
        assert "\n" not in r.message and not r.detail
    assert any(m.startswith("Pick at least 2 finished songs") for m in w.banners.messages())
    assert not user_dir.exists() or not any(user_dir.iterdir())


def test_a_bad_song_folder_is_one_line(qtbot, real_window, songs, tmp_path):
    w = real_window()
    empty = tmp_path / "empty song"
    empty.mkdir()
    dlg = open_learn_dialog(w, [songs[1], empty], "bad")
    assert dlg.learn_button.isEnabled()
    with qtbot.waitSignal(w.controller.learning_changed, timeout=60000,
                          check_params_cb=lambda running, _m: not running):
        dlg.learn_button.click()
    assert dlg.message.text().startswith("Could not learn the profile: ")
    assert "\n" not in dlg.message.text() and "Traceback" not in dlg.message.text()
    assert w.controller.profile_name == "pop-rock"


def test_a_missing_chosen_profile_falls_back_to_the_default(qtbot, real_window, stems, user_dir):
    user_dir.mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[2] / "resources" / "profiles" / "electronic.json",
                user_dir / "gone.json")
    w = real_window()
    choose(w, "gone")
    w.close()
    (user_dir / "gone.json").unlink()
    again = real_window()   # the remembered profile no longer exists: the default is used, and a banner says so
    assert again.controller.profile_name == "pop-rock" == again.profile_picker.combo.currentData()
    assert any("Unknown profile 'gone'" in m for m in again.banners.messages())
    assert again.settings.advisor().profile == "pop-rock"
    load(qtbot, again, stems)
    assert critique(qtbot, again).profile == "pop-rock"


def test_the_advice_says_when_another_profile_would_not_back_a_confident_verdict(qtbot, real_window, tmp_path):
    folder = tmp_path / "loud drums"
    write_multitrack(folder, synth_multitrack(7, 30.0, SONG_RATE, role_offsets_db={"drums": 9.0}), SONG_RATE)
    w = real_window()
    w.resize(1366, 768)
    load(qtbot, w, sorted(folder.iterdir()))
    advice = critique(qtbot, w)
    assert advice.profile == "pop-rock" and advice.primary.role == "drums" and advice.primary.confidence >= 0.5
    assert "Against 'electronic'" in advice.profile_note
    assert w.advice.profile_note.isVisible() and "Against 'electronic'" in w.advice.profile_note.text()
    qtbot.wait(100)
    viewport = w.advice.scroll.viewport()
    apply = w.advice.apply_buttons["drums"]    # the suggestion's Apply shows before the note, without scrolling
    top = apply.mapTo(viewport, QPoint(0, 0)).y()
    assert 0 <= top and top + apply.height() <= viewport.height(), (top, viewport.height())
    assert w.advice.profile_note.mapTo(viewport, QPoint(0, 0)).y() > top
    doctor = [w.advice.findings.item(i).text() for i in range(w.advice.findings.count())]
    assert not any("Against 'electronic'" in line for line in doctor)   # shown once, with the advice
    note = w.advice.profile_note.text()
    # the link first (the note's end falls below the fold at 1280 x 720), and no command-line flag in the app
    assert note.index("Critique with 'electronic'") < note.index("This advice rests on")
    assert "--profile" not in note and "--profile" not in advice.profile_note
    # picking the other profile without critiquing: the pop-rock suggestion no longer applies (the table and the
    # chart's bands judge with electronic now), and the panel and the chart say so; back to pop-rock, it applies
    assert w.apply_action.isEnabled() and apply.isEnabled()
    choose(w, "electronic")
    assert not w.apply_action.isEnabled() and not apply.isEnabled() and w.controller.apply() is None
    assert "this critique used the pop-rock profile; the next one uses electronic" in w.advice.stale.text()
    assert "out of date" in w.gain_plot.plot.getPlotItem().titleLabel.text.lower()
    assert w.controller.project.role_db["drums"] == 0.0
    choose(w, "pop-rock")
    assert w.apply_action.isEnabled() and apply.isEnabled() and w.advice.stale.isHidden()
    with qtbot.waitSignal(w.controller.advice_changed, timeout=15000):
        w.advice.profile_note.linkActivated.emit("critique")    # the note's link: that profile, judged at once
    assert w.profile_picker.combo.currentData() == "electronic" == w.controller.profile_name
    assert w.controller.project.advice.profile == "electronic" and not w.advice.profile_note.isVisible()
    choose(w, "pop-rock")
    assert critique(qtbot, w).profile_note and w.advice.profile_note.isVisible()


def learn_from(qtbot, window, tmp_path, second) -> list:
    """Learn "mine" from two songs of the copies tests' stems, the second (1 dB down: a copy would be the same song
    given twice) as ``second`` makes it; what Learn said."""
    from tests.model.test_copies import stems, write

    parts = stems()
    other = {name: x * np.float32(10 ** (-1 / 20)) for name, x in parts.items()}
    folders = [write(tmp_path / "song0", parts), write(tmp_path / "song1", second(other))]
    reports = []
    window.controller.error.connect(reports.append)
    with qtbot.waitSignal(window.controller.profile_learned, timeout=60000):
        window.controller.learn_profile([str(f) for f in folders], "mine")
    return [r for r in reports if r.title == "Learn a profile"]


def test_learning_from_a_folder_with_its_full_mix_says_the_mix_was_left_out(qtbot, real_window, user_dir, tmp_path):
    said = learn_from(qtbot, real_window(), tmp_path, lambda parts: {**parts, "Mixdown.wav": sum(parts.values())})
    assert len(said) == 1 and said[0].severity == "warning" and "Mixdown.wav in song1" in said[0].message


def test_learning_from_folders_says_which_roles_rest_on_unsure_names(qtbot, real_window, user_dir, tmp_path):
    """A folder's roles are guessed where the user never sees them, and the profile keeps them: Learn says which
    files an unsure name put in a role, and how to set them."""
    said = learn_from(qtbot, real_window(), tmp_path, lambda parts: {
        ("HOUSE BEAT.wav" if name == "Hats.wav" else name): x for name, x in parts.items()})
    assert len(said) == 1 and said[0].severity == "warning"
    assert said[0].message.startswith("Learned with roles guessed from unsure names")
    assert "song1: HOUSE BEAT.wav (drums)" in said[0].message and "save it as a session" in said[0].message


def test_learning_from_a_song_of_one_role_says_it_taught_nothing(qtbot, real_window, user_dir, tmp_path):
    said = learn_from(qtbot, real_window(), tmp_path, lambda parts: {"Lead Vox.wav": parts["Lead Vox.wav"]})
    assert len(said) == 1 and said[0].severity == "warning"
    assert said[0].message == "Learned nothing from song1: no two roles play together in it (check its roles)."


def test_learning_from_saved_sessions_learns_their_gains_as_profile_fit_does(qtbot, real_window, songs, user_dir,
                                                                              tmp_path):
    from tests.app.test_cli import run_profile, session_file

    folders = [Path(shutil.copytree(f, tmp_path / f.name)) for f in songs]
    sessions = [session_file(f, sorted(p.name for p in f.iterdir()), name=f"{f.name}.mbsession",
                             role_gains={"drums": -4.0}) for f in folders]   # Apply lowered every song's drums
    w = real_window()
    c = w.controller
    dlg = open_learn_dialog(w, sessions, "mine")
    assert dlg.song_folders() == [str(s) for s in sessions] and dlg.learn_button.isEnabled()
    with qtbot.waitSignal(c.profile_learned, timeout=60000):
        dlg.learn_button.click()
    learned = json.loads((user_dir / "mine.json").read_text())
    assert learned["provenance"]["songs"] == ["song0", "song1", "song2"]
    assert abs(learned["pairs"]["drums|vocals"]["median"] - (typical_offsets()["drums"] + 2.0 - 4.0)) < 0.2
    out = run_profile("fit", *sessions, "--name", "cli", "--out", tmp_path / "cli.json")
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "cli.json").read_text())["pairs"] == learned["pairs"]
    # a session whose audio is gone is refused before anything is measured, in one line
    next(folders[0].glob("*.wav")).unlink()
    dlg = open_learn_dialog(w, sessions, "again")
    assert not dlg.learn_button.isEnabled() and "song0.mbsession: 1 audio file(s) are missing" in dlg.requirement.text()
