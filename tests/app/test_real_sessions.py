"""The app on real-sized sessions: complete advice, a grouped track list that scales, files and titles."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtWidgets import QApplication, QFileDialog, QToolButton

from model.advice.types import WindowVerdict
from model.audio.segments import Window
from model.advisors import load_advisor

from tests.app.conftest import FakeOutput, StubAdvisor, critique, load


def _loud_drums_and_bass(qtbot, w, stems):
    """A session where the measured advisor finds two roles too loud (drums and bass pushed up)."""
    c = load(qtbot, w, stems)
    c.set_role_gain("drums", 10.0)
    c.set_role_gain("bass", 10.0)
    c.end_gain_edit()
    advice = critique(qtbot, w)
    assert len(advice.suggestions) >= 2, advice.suggestions
    return c, advice


def _texts(panel) -> list[str]:
    return panel.suggestion_texts()


# --- the advice panel ---------------------------------------------------------------------

def test_panel_names_every_suggestion_in_order_each_with_its_own_apply(qtbot, make_window, stems):
    w = make_window(load_advisor("balance"))
    c, advice = _loud_drums_and_bass(qtbot, w, stems)
    texts = _texts(w.advice)
    assert len(texts) == len(advice.suggestions)
    for i, (text, s) in enumerate(zip(texts, advice.suggestions)):
        verb = "Perhaps lower" if s.confidence < 0.5 else "Lower"   # tentative wording below 50 %
        assert text.startswith(f"{i + 1}. {verb} the {s.role} by {s.min_db:g} to {s.max_db:g} dB (")
        assert "too loud" in text and f"{s.delta_db:+.1f} dB" in text
    assert list(w.advice.apply_buttons) == [s.role for s in advice.suggestions]
    assert all(b.isEnabled() for b in w.advice.apply_buttons.values())
    assert w.advice.apply_all_button.isVisible() and w.advice.apply_all_button.isEnabled()
    assert w.gain_plot.bar_heights()[advice.suggestions[1].role] == pytest.approx(advice.suggestions[1].delta_db)


def test_each_apply_moves_its_own_role_and_the_others_stay_applicable(qtbot, make_window, stems):
    w = make_window(load_advisor("balance"))
    c, advice = _loud_drums_and_bass(qtbot, w, stems)
    first, second = advice.suggestions[0], advice.suggestions[1]
    before = dict(c.project.role_db)
    w.advice.apply_buttons[second.role].click()
    assert c.project.role_db[second.role] == pytest.approx(before[second.role] + second.delta_db)
    assert c.project.role_db[first.role] == before[first.role]
    assert not w.advice.apply_buttons[second.role].isEnabled()
    assert w.advice.apply_buttons[first.role].isEnabled() and w.apply_action.isEnabled()
    w.advice.apply_buttons[first.role].click()
    assert c.project.role_db[first.role] == pytest.approx(before[first.role] + first.delta_db)
    assert "Applied" in w.advice.applied.text() and first.role in w.advice.applied.text() \
        and second.role in w.advice.applied.text()
    assert not any(b.isEnabled() for b in w.advice.apply_buttons.values())


def test_undo_and_redo_step_through_what_apply_did_one_apply_at_a_time(qtbot, make_window, stems):
    """Apply one suggestion, then the other; Undo once is the mix after the first Apply: only it applied, the
    other's Apply acts again (it said 'Applied' and stayed greyed); Redo after two Undos is that mix too (it read
    as 'changed since', and Re-check judged a suggestion that was not applied)."""
    w = make_window(load_advisor("balance"))
    c, advice = _loud_drums_and_bass(qtbot, w, stems)
    first, second = advice.suggestions[0].role, advice.suggestions[1].role
    later = w.advice.apply_buttons[first]
    apply_tip = later.toolTip()

    def state():
        return (c.project.applied_roles(), later.isEnabled(), w.advice.apply_buttons[second].isEnabled(),
                w.recheck_action.isEnabled(), w.advice.applied.isVisible() and w.advice.applied.text().count("Applied:"))

    n = len(advice.suggestions)
    assert w.advice.apply_all_button.text() == f"Apply all ({n})"
    c.apply(second)
    after_one = state()
    assert after_one == ({second}, True, False, True, 1) and later.toolTip() == apply_tip
    assert w.advice.apply_all_button.text() == f"Apply all ({n - 1})"     # what it would apply now
    assert c.project.applied_advice.primary.role == second   # Re-check judges what was applied
    c.apply(first)
    assert state() == ({first, second}, False, False, True, 2) and later.toolTip() == "Applied"
    c.undo()
    assert state() == after_one and later.toolTip() == apply_tip
    assert f"Applied: {first}" not in w.advice.applied.text() and c.project.applied_advice.primary.role == second
    c.undo()                                   # the critiqued mix: nothing applied, nothing to re-check
    assert state() == (frozenset(), True, True, False, False)
    c.redo()
    assert state() == after_one
    c.redo()
    assert state() == ({first, second}, False, False, True, 2)
    with qtbot.waitSignal(c.recheck_done, timeout=30000):
        c.recheck()
    assert w.advice.recheck.isVisible()
    c.set_role_gain(first, -1.0)               # the verdict was on the mix as re-checked, not on this one
    assert not w.advice.recheck.isVisible()


def test_a_session_saved_after_applying_one_suggestion_reopens_with_the_rest_to_apply(qtbot, make_window, stems,
                                                                                       tmp_path):
    import json

    w = make_window(load_advisor("balance"))
    c, advice = _loud_drums_and_bass(qtbot, w, stems)
    first, second = advice.suggestions[0].role, advice.suggestions[1].role
    c.apply(second)
    session = tmp_path / "song.mbsession"
    assert c.save_session(str(session))
    saved = json.loads(session.read_text())
    assert saved["advice_current"] is False and [a["role"] for a in saved["applied"]] == [second]
    w2 = make_window(load_advisor("balance"))
    with qtbot.waitSignal(w2.controller.loading_changed, timeout=30000, check_params_cb=lambda busy, _m: not busy):
        w2.controller.open_session(str(session))
    c2 = w2.controller
    assert c2.project.applied_roles() == {second} and c2.project.applicable_roles() == (first,)
    assert f"Applied: {second}" in w2.advice.applied.text() and w2.recheck_action.isEnabled()
    assert not w2.advice.apply_buttons[second].isEnabled() and w2.advice.apply_buttons[first].isEnabled()
    assert c2.apply(first).applied_db == pytest.approx(advice.suggestions[0].delta_db)
    assert c2.apply_all() == []                                # nothing applies twice
    assert c2.project.role_db[second] == pytest.approx(c.project.role_db[second], abs=1e-3)   # saved to 0.001 dB


def test_a_session_saved_after_apply_and_a_mute_reopens_as_it_was_left(qtbot, make_window, stems, tmp_path):
    """Apply, then a mute, then Save: the window said what was applied and let Re-check judge it; reopened, it
    said nothing was applied and greyed Re-check ("apply a suggestion first") beside the applied fader."""
    import json

    w = make_window(load_advisor("balance"))
    c, advice = _loud_drums_and_bass(qtbot, w, stems)
    first = advice.suggestions[0].role
    c.apply(first)
    c.set_muted(c.project.track_ids[-1], True)
    before = (w.advice.applied.text(), w.advice.stale.text(), w.recheck_action.isEnabled(), c.applicable_roles())
    assert before[0].startswith(f"Applied: {first}") and "the mix changed since" in before[1] and before[2]
    session = tmp_path / "song.mbsession"
    assert c.save_session(str(session))
    saved = json.loads(session.read_text())
    assert [a["role"] for a in saved["applied"]] == [first] and saved["applied_current"] is False
    w2 = make_window(load_advisor("balance"))
    with qtbot.waitSignal(w2.controller.loading_changed, timeout=30000, check_params_cb=lambda busy, _m: not busy):
        w2.controller.open_session(str(session))
    c2 = w2.controller
    after = (w2.advice.applied.text(), w2.advice.stale.text(), w2.recheck_action.isEnabled(), c2.applicable_roles())
    assert after == before and c2.project.applied_roles() == frozenset()
    c2.set_muted(c2.project.track_ids[-1], False)   # back to the mix Apply made: nothing there to call applied
    assert c2.applicable_roles() == ()


def test_apply_all_moves_every_suggested_role_in_one_undo_step(qtbot, make_window, stems):
    w = make_window(load_advisor("balance"), FakeOutput())
    c, advice = _loud_drums_and_bass(qtbot, w, stems)
    before = dict(c.project.role_db)
    w.advice.apply_all_button.click()
    for s in advice.suggestions:
        assert c.project.role_db[s.role] == pytest.approx(before[s.role] + s.delta_db), s.role
    assert not w.advice.apply_all_button.isEnabled() and not w.apply_all_action.isEnabled()
    assert c.can_ab()
    c.undo()
    assert c.project.role_db == pytest.approx(before)


def test_a_tentative_verdict_reads_and_looks_different_from_a_firm_one(qtbot, make_window, stems):
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    c = load(qtbot, w, stems)
    firm = critique(qtbot, w)
    assert firm.confidence == 1.0
    assert w.advice.sentence.property("level") == "firm"
    assert "may be" not in w.advice.sentence.text() and "Confidence 100% · firm" in w.advice.confidence.text()
    weak = replace(firm, confidence=0.33, primary=replace(firm.primary, confidence=0.33),
                   suggestions=(replace(firm.primary, confidence=0.33),))
    c.project.set_advice(weak)
    c.advice_changed.emit(weak)
    assert w.advice.sentence.property("level") == "tentative"
    assert "may be" in w.advice.sentence.text() and "If so, raise" in w.advice.sentence.text()
    # the tentative headline the CLI and the exports give, not a second wording of it
    from model.advice.types import advice_sentence
    assert w.advice.sentence.text() == advice_sentence(weak.primary)
    assert "Confidence 33% · tentative" in w.advice.confidence.text()
    assert _texts(w.advice)[0].startswith("1. Perhaps raise the vocals")
    assert w.advice.confidence_bar.value() == 33


def test_old_results_are_cleared_on_anchor_change_and_on_a_new_critique(qtbot, make_window, stems):
    w = make_window(StubAdvisor([("vocals", "quiet"), ("drums", "loud")]))
    c = load(qtbot, w, stems)
    critique(qtbot, w)
    c.apply()
    assert w.advice.applied.isVisible()
    c.set_anchor("drums")
    assert not w.advice.applied.isVisible() and not w.advice.recheck.isVisible()
    assert "anchor: drums" in w.advice.context.text()
    assert "this critique used vocals as the anchor; the anchor changed since" in w.advice.stale.text()  # not "mix"
    assert not any(b.isEnabled() for b in w.advice.apply_buttons.values())
    c.set_anchor("vocals")
    critique(qtbot, w)
    c.apply()
    with qtbot.waitSignal(c.recheck_done, timeout=15000):
        c.recheck()
    assert w.advice.recheck.isVisible()
    critique(qtbot, w)                     # a plain new critique: the re-check line belonged to the old one
    assert not w.advice.recheck.isVisible() and not w.advice.applied.isVisible()
    assert "anchor: vocals" in w.advice.context.text() and "used" not in w.advice.context.text()


def test_when_another_advisor_disagrees_with_the_measurements_a_second_opinion_shows(qtbot, make_window, stems):
    w = make_window(StubAdvisor([(None, "no_error")]))       # says "balanced" beside drums pushed up 10 dB
    c = load(qtbot, w, stems)
    c.set_role_gain("drums", 10.0)
    advice = critique(qtbot, w)
    assert advice.primary is None
    assert w.advice.second_opinion.isVisible()
    text = w.advice.second_opinion.text()
    assert "disagree" in text and "drums" in text and "measured" in text
    # the measured advisor's own verdict needs no second opinion
    w2 = make_window(load_advisor("balance"))
    c2 = load(qtbot, w2, stems)
    c2.set_role_gain("drums", 10.0)
    critique(qtbot, w2)
    assert not w2.advice.second_opinion.isVisible()


def test_timeline_labels_never_overlap(qtbot, make_window, stems):
    w = make_window()
    c = load(qtbot, w, stems)
    advice = critique(qtbot, w)
    windows = []
    for i in range(60):                        # 60 windows of 5 s alternating verdicts: far too many labels
        target, direction, category = (("bass", "decrease", "loud") if i % 2 else ("drums", "increase", "quiet"))
        windows.append(WindowVerdict(Window(i * 5.0, i * 5.0 + 5.0), target, direction, category, 3.0, 6.0, ""))
    crowded = replace(advice, windows=tuple(windows))
    from mixingbuddy_app.jobs import JobKind
    qtbot.waitUntil(lambda: c.jobs.running(JobKind.OVERVIEW) is None and not c._overview_timer.isActive())
    QApplication.processEvents()       # the overview's own x range (the song) is set before ours
    w.overview.timeline.plot.getPlotItem().setXRange(0, 300, padding=0)
    w.overview.timeline.show_advice(crowded)
    QApplication.processEvents()
    shown = w.overview.timeline.label_extents()
    assert 1 <= len(shown) < 60
    assert all(a[1] <= b[0] for a, b in zip(shown, shown[1:])), shown


# --- the track list ------------------------------------------------------------------------

NAMES = ("KICK", "SNARE", "HAT", "TOM", "LEAD VOX", "BGVOX", "BASS", "SUB BASS", "SYNTH", "PAD", "ARP", "FX")


def _many_stems(folder: Path, n: int = 96, rate: int = 8000) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    paths = []
    for i in range(n):
        audio = (0.05 * rng.standard_normal(rate)).astype(np.float32)
        p = folder / f"{i + 1:02d} {NAMES[i % len(NAMES)]} {'LONG TAKE NAME ' * (i % 3)}{i}.wav"
        sf.write(str(p), audio, rate, subtype="PCM_16")
        paths.append(p)
    return paths


def test_96_tracks_are_grouped_under_their_roles(qtbot, make_window, tmp_path):
    w = make_window()
    w.resize(1280, 820)
    _many_stems(tmp_path / "song")
    c = load(qtbot, w, [tmp_path / "song"], timeout=120000)
    table = w.table
    assert table.track_count() == 96
    roles = [key for kind, key in table.rows if kind == "role"]
    assert roles == [r for r in ("vocals", "drums", "bass", "other") if r in c.project.roles_present()]
    wait_exact = lambda: c.project.loudness_is_exact()  # noqa: E731
    qtbot.waitUntil(wait_exact, timeout=60000)
    for role in roles:
        lu = table.role_lu_item(role).text()
        assert lu == "anchor" if role == c.project.anchor else "LU" in lu
    drums = [tid for tid in table.row_ids if c.project.tracks.get(tid).role.role == "drums"]
    assert len(drums) == 32
    assert all(table.item(table.track_row(t), 6).text() == "" for t in drums)   # the role's value is not repeated
    assert all(table.track_row(t) > table.role_row("drums") for t in drums)
    # collapsing a group hides its rows, and clicking the role row again shows them
    table._cell_clicked(table.role_row("drums"), 0)
    assert all(table.isRowHidden(table.track_row(t)) for t in drums)
    assert table.item(table.role_row("drums"), 0).text().startswith("▸ drums")
    table._cell_clicked(table.role_row("drums"), 0)
    assert not any(table.isRowHidden(table.track_row(t)) for t in drums)
    # readable rows: fixed height, names elided in the middle with the full name on hover
    assert table.verticalHeader().defaultSectionSize() <= 26
    long_id = next(tid for tid in table.row_ids if "LONG TAKE NAME LONG" in tid)
    assert long_id in table.name_item(long_id).toolTip()
    from PySide6.QtCore import Qt
    assert table.textElideMode() == Qt.TextElideMode.ElideMiddle


def test_column_widths_stay_put_after_apply_and_anchor_change(qtbot, make_window, stems):
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    w.resize(1280, 820)
    c = load(qtbot, w, stems)
    QApplication.processEvents()
    widths = [w.table.columnWidth(i) for i in range(7)]
    table_width = w.table.width()
    critique(qtbot, w)
    c.apply()
    c.set_anchor("drums")
    c.set_role_gain("bass", -3.0)
    for _ in range(5):
        QApplication.processEvents()
    assert [w.table.columnWidth(i) for i in range(7)] == widths
    assert w.table.width() == table_width
    lu_right = w.table.columnViewportPosition(6) + w.table.columnWidth(6)
    assert lu_right <= w.table.viewport().width()           # M/S/LUFS/LU stay visible


def test_layout_at_1024x700_keeps_every_toolbar_action_and_the_table_usable(qtbot, make_window, stems):
    w = make_window(StubAdvisor([("vocals", "quiet")]), FakeOutput())
    w.resize(1024, 700)
    load(qtbot, w, stems)
    critique(qtbot, w)
    for _ in range(5):
        QApplication.processEvents()
    assert w.width() == 1024 and w.height() == 700
    ext = w.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    assert ext is None or not ext.isVisible(), "a toolbar action fell into the overflow menu"
    for action in w.toolbar.actions():
        if action.isSeparator():
            continue
        button = w.toolbar.widgetForAction(action)
        assert button.isVisible() and w.toolbar.rect().contains(button.geometry()), action.iconText()
    lu_right = w.table.columnViewportPosition(6) + w.table.columnWidth(6)
    assert lu_right <= w.table.viewport().width()
    assert w.table.viewport().height() >= 8 * w.table.verticalHeader().defaultSectionSize()
    assert w.advice.findings.height() >= 50 and w.advice.sentence.isVisible()
    assert w.gain_plot.height() >= 100


# --- roles -------------------------------------------------------------------------------------

def test_only_uncertain_role_guesses_are_marked(qtbot, make_window, tmp_path):
    """A guess less sure than one clearly named role gets the mark and its tooltip asks to check it: two instruments
    in one file, and a weak word alone (a bare "Upright", "Vocoder" or "Beat", which the README says the app asks
    about). Clear names, an instrument beside a weak word and the "other" default are left unmarked."""
    folder = tmp_path / "song"
    folder.mkdir()
    rate = 8000
    names = ("MELODY BREAK.wav", "SYNTH PAD.wav", "Kick.wav", "Lead Vox.wav", "BEEPS.wav", "PAD + BASS.wav",
             "Upright.wav", "Vocoder.wav", "HOUSE BEAT.wav", "Fiddle.wav")
    for name in names:
        sf.write(str(folder / name), (0.1 * np.random.default_rng(1).standard_normal(rate)).astype(np.float32),
                 rate)
    w = make_window()
    c = load(qtbot, w, [folder])
    marked = {tid for tid in w.table.row_ids if w.table.name_item(tid).text() != c.project.tracks.get(tid).name}
    assert marked == {"PAD + BASS.wav", "Upright.wav", "Vocoder.wav", "HOUSE BEAT.wav"}
    tip = w.table.name_item("Upright.wav").toolTip()
    assert "matched “upright”); check it." in tip and "1 ch, 8 kHz" in tip   # the file's own lines are kept
    assert c.project.tracks.get("MELODY BREAK.wav").role.role == "other"
    c.set_role("Upright.wav", "bass")      # confirmed: the mark and the request go, the file's lines stay
    qtbot.waitUntil(lambda: w.table.name_item("Upright.wav").text() == "Upright.wav")
    tip = w.table.name_item("Upright.wav").toolTip()
    assert "check it" not in tip and "1 ch, 8 kHz" in tip


def test_a_selection_gets_one_role_at_once(qtbot, make_window, stems):
    from PySide6.QtCore import QItemSelectionModel

    w = make_window()
    c = load(qtbot, w, stems)
    w.table.clearSelection()
    for tid in ("04 Pad.wav", "02 Kick.wav"):
        w.table.selectionModel().select(w.table.model().index(w.table.track_row(tid), 0),
                                        QItemSelectionModel.SelectionFlag.Select
                                        | QItemSelectionModel.SelectionFlag.Rows)
    assert set(w.table.selected_track_ids()) == {"04 Pad.wav", "02 Kick.wav"}
    w.table.set_selected_roles("bass")
    for tid in ("04 Pad.wav", "02 Kick.wav"):
        t = c.project.tracks.get(tid)
        assert t.role.role == "bass" and t.role.source == "user"
    assert w.table.track_row("04 Pad.wav") > w.table.role_row("bass")


# --- files, title, disabled controls ---------------------------------------------------------

def test_save_and_export_dialogs_start_beside_the_audio_named_after_the_song(qtbot, make_window, tmp_path,
                                                                               monkeypatch):
    song = tmp_path / "Lithium"
    from tests.app.conftest import make_stems
    paths = make_stems(song)
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    load(qtbot, w, paths)
    critique(qtbot, w)
    starts = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (starts.append(a[2]), ("", ""))[1])
    w.save_session_as()
    w.export("md")
    w.export("csv")
    assert starts == [str(song / "Lithium.mbsession"), str(song / "Lithium critique.md"),
                      str(song / "Lithium gain changes.csv")]
    # stems in a generic "stems" folder: the song is the folder above
    w2 = make_window()
    load(qtbot, w2, make_stems(tmp_path / "Song B" / "stems"))
    assert w2.controller.suggested_path(".mbsession") == tmp_path / "Song B" / "stems" / "Song B.mbsession"


def test_one_title_with_the_session_name(qtbot, make_window, stems, tmp_path):
    w = make_window()
    assert w.windowTitle() == "MixingBuddy"
    c = load(qtbot, w, stems)
    song = w.controller.session_name()
    assert w.windowTitle() == f"{song}[*]" and "MixingBuddy" not in w.windowTitle()
    assert not w.isWindowModified()
    c.set_role_gain("vocals", 2.0)
    assert w.isWindowModified()
    assert c.save_session(str(tmp_path / "take two.mbsession"))
    assert w.windowTitle() == "take two[*]" and not w.isWindowModified()


def test_unsaved_changes_are_asked_about_before_quit_open_and_new(qtbot, make_window, stems, monkeypatch):
    w = make_window()
    c = load(qtbot, w, stems)
    asked = []
    w.ask_unsaved = lambda what: (asked.append(what), "cancel")[1]
    assert w.confirm_discard("quit") and asked == []    # a plain load leaves nothing unsaved
    c.set_role_gain("vocals", 2.0)
    opened = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (opened.append(a), ("", ""))[1])
    assert not w.close() and w.isVisible()
    w.open_session_dialog()
    w.new_session()
    assert asked == ["quit", "open another session", "start a new session"]
    assert opened == [] and c.project.tracks is not None
    w.ask_unsaved = lambda what: "discard"
    w.new_session()
    assert c.project.tracks is None and w.windowTitle() == "MixingBuddy"


def test_play_is_disabled_with_a_reason_without_an_output(qtbot, make_window, stems):
    from mixingbuddy_app.playback import NullOutput

    w = make_window(output=NullOutput("no output device found"))
    load(qtbot, w, stems)
    assert not w.play_action.isEnabled() and "no output device found" in w.play_action.toolTip()
    assert not w.transport.play_button.isEnabled()
    assert "no output device found" in w.transport.play_button.toolTip()
    w2 = make_window(output=FakeOutput())
    load(qtbot, w2, stems)
    assert w2.play_action.isEnabled() and w2.transport.play_button.isEnabled()
    assert "Unavailable" not in w2.play_action.toolTip()


def _noise_stems(folder: Path, db: dict[str, float], seconds: float = 12.0, rate: int = 22050) -> list[Path]:
    """Stems cut from one noise, each exactly ``db`` LU from the lead vocal."""
    base = (0.05 * np.random.default_rng(3).standard_normal((int(seconds * rate), 2))).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, gain in db.items():
        sf.write(folder / name, base * np.float32(10 ** (gain / 20)), rate, subtype="FLOAT")
        paths.append(folder / name)
    return paths


def test_a_suggestion_for_the_other_instruments_alone_is_worded_applied_and_rechecked(qtbot, make_window, tmp_path):
    # pop-rock medians vs vocals: drums -2, bass -2.5, other -1; the keys sit 13 LU over theirs, for the 30 s a
    # firm verdict needs
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, _noise_stems(tmp_path / "s", {"Lead Vox.wav": 0.0, "Drums.wav": -2.0, "Bass.wav": -2.5,
                                                     "Keys.wav": 12.0}, seconds=30.0))
    advice = critique(qtbot, w)
    assert advice.primary is None and [s.role for s in advice.suggestions] == ["other"]
    assert w.advice.sentence.text().startswith("Against the vocals, the drums and bass sit well. The other "
                                               "instruments are much too loud")
    assert c.can_apply() and w.advice.apply_buttons["other"].isEnabled()
    before = c.project.role_db.get("other", 0.0)
    w.advice.apply_buttons["other"].click()
    assert c.project.role_db["other"] == pytest.approx(before + advice.suggestions[0].delta_db)
    with qtbot.waitSignal(c.recheck_done, timeout=15000):
        c.recheck()
    assert "resolved" in w.advice.recheck.text().lower()
