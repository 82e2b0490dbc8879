"""Layout at a small screen (1366x768) and messages that must not be stale or missing: banners of failed critiques
go when a critique succeeds, a load that adds nothing says so, a span too short to judge is not dropped silently."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from mixingbuddy_app.errors import ErrorKind
from model.advisors import load_advisor

from tests.app.conftest import RATE, critique, load, make_stems


def settle(qtbot, ms: int = 200) -> None:
    qtbot.wait(ms)
    QApplication.processEvents()


# --- banners of failed critiques -------------------------------------------------------------------------------
def test_a_successful_critique_removes_the_banners_of_failed_critiques_only(qtbot, make_window, tmp_path,
                                                                            broken_file):
    stems = make_stems(tmp_path / "export", seconds=6.0)
    sf.write(stems[0], np.zeros(6 * RATE, np.float32), RATE)   # "01 Lead Vox.wav": vocals present but silent
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [stems[0].parent])                      # the folder holds the broken file too
    assert any("not loaded" in b.report.title for b in w.banners.banners)
    c.set_anchor("vocals")                                     # chosen, and silent: the critique fails
    with qtbot.waitSignal(c.busy_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        c.critique()
    assert c.project.advice is None
    failed = [b.report for b in w.banners.banners if "silent" in b.report.message]
    assert failed, [b.report for b in w.banners.banners]
    c.set_anchor("drums")
    advice = critique(qtbot, w)
    assert advice is not None and advice.anchor == "drums"
    settle(qtbot)
    reports = [b.report for b in w.banners.banners]
    assert not any("silent" in r.message for r in reports), reports      # the failed critique's banner went
    assert any("not loaded" in r.title for r in reports), reports        # the unrelated banner stays
    assert w.banners.isVisible()
    # a later failure shows again, and one more success removes it again
    c.set_anchor("vocals")
    with qtbot.waitSignal(c.busy_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        c.critique()
    assert any("silent" in b.report.message for b in w.banners.banners)
    c.set_anchor("drums")
    critique(qtbot, w)
    settle(qtbot)
    assert not any("silent" in b.report.message for b in w.banners.banners)


# --- a load that adds nothing ----------------------------------------------------------------------------------
def test_adding_only_an_unreadable_file_again_says_nothing_was_added(qtbot, make_window, stems, broken_file):
    w = make_window()
    c = load(qtbot, w, stems + [broken_file])
    before = [t.id for t in c.project.tracks.tracks]
    c.add_paths([str(broken_file)])
    assert w.statusBar().currentMessage().startswith("Loading")
    with qtbot.waitSignal(c.loading_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        pass
    settle(qtbot)
    assert [t.id for t in c.project.tracks.tracks] == before
    message = w.statusBar().currentMessage()
    assert not message.startswith("Loading"), message
    assert "Nothing was added" in message and broken_file.name in message and "unchanged" in message, message
    assert w.cancel_action.isEnabled() is False and not w.progress.isVisible()


# --- a span too short to judge -------------------------------------------------------------------------------
def test_a_span_too_short_to_judge_says_the_whole_song_is_judged(qtbot, make_window, stems):
    w = make_window()
    c = load(qtbot, w, stems)
    messages = []
    c.status.connect(messages.append)
    c.set_region((1.0, 4.0))
    assert c.project.region == (1.0, 4.0) and not messages
    c.set_region((2.0, 2.2))
    assert c.project.region is None
    assert len(messages) == 1 and "shorter than 0.5 s" in messages[0] and "whole song" in messages[0], messages
    assert "whole song" in w.statusBar().currentMessage()
    assert c.project.snapshot().span is None          # and the next critique does judge the whole song
    messages.clear()
    c.set_region((0.0, c.project.tracks.duration_s))   # the whole song on purpose: nothing to say
    c.set_region(None)
    assert not messages
    c.set_region((50.0, 60.0))                         # beyond the end of the 6 s song
    assert c.project.region is None and messages and "outside the song" in messages[-1], messages


# --- geometry at 1366x768 --------------------------------------------------------------------------------------
def small_window(qtbot, make_window, advisor=None):
    w = make_window(advisor=advisor)
    w.resize(1366, 768)
    settle(qtbot)
    assert (w.width(), w.height()) == (1366, 768)
    return w


def top_in(widget, viewport) -> int:
    return widget.mapTo(viewport, QPoint(0, 0)).y()


def test_tonal_plots_are_readable_at_1366x768(qtbot, make_window, stems):
    w = small_window(qtbot, make_window)
    c = load(qtbot, w, stems)
    view = w.tonal_view
    with qtbot.waitSignal(c.spectral_changed, timeout=60000):
        w.chart_tabs.setCurrentWidget(view)
    settle(qtbot, 300)
    assert set(view.plots) == {"vocals", "drums", "bass", "other"}
    for role, plot in view.plots.items():
        assert plot.getViewBox().height() > 100, (role, plot.getViewBox().height())
    # the first row of plots shows in full without scrolling or dragging a splitter
    viewport = view.plot_area.viewport()
    offset = top_in(view.graphics, viewport)
    first = view.plots["vocals"].sceneBoundingRect()
    assert offset + first.top() >= -1 and offset + first.bottom() <= viewport.height() + 1, (
        first, offset, viewport.height())
    assert view.findings.isVisible() and view.findings.height() >= view.findings.fontMetrics().lineSpacing() * 2
    # back on the Balance chart the advice panel gets its height back, and its lines show without scrolling
    w.chart_tabs.setCurrentWidget(w.gain_plot)
    settle(qtbot)
    assert w.advice.height() > 150
    assert not w.advice.scroll.verticalScrollBar().isVisible()


def test_suggestions_and_recheck_show_in_the_advice_at_1366x768(qtbot, make_window, stems):
    w = small_window(qtbot, make_window, advisor=load_advisor("balance"))
    c = load(qtbot, w, stems)
    c.set_role_gain("drums", -12.0)
    c.set_role_gain("bass", -12.0)
    advice = critique(qtbot, w)
    settle(qtbot)
    panel = w.advice
    viewport = panel.scroll.viewport()
    assert advice is not None and panel.apply_buttons, advice.text

    def shown(widget) -> bool:
        top = top_in(widget, viewport)
        return widget.isVisible() and top >= 0 and top + widget.height() <= viewport.height()

    assert shown(panel.sentence)
    for role, button in panel.apply_buttons.items():
        assert shown(button), role
    if panel.apply_all_button.isVisibleTo(panel):
        assert shown(panel.apply_all_button)
    c.apply()
    with qtbot.waitSignal(c.recheck_done, timeout=15000):
        c.recheck()
    settle(qtbot)
    assert shown(panel.recheck), (top_in(panel.recheck, viewport), viewport.height())
    assert panel.findings.height() >= 3 * panel.findings.fontMetrics().lineSpacing()   # the doctor keeps 3 lines


def test_the_advice_takes_the_height_its_lines_need_and_the_doctor_list_the_rest(qtbot, make_window, stems):
    w = make_window(advisor=load_advisor("balance"))
    w.resize(1600, 1000)
    c = load(qtbot, w, stems)
    c.set_role_gain("drums", -12.0)
    critique(qtbot, w)
    settle(qtbot)
    panel, scroll = w.advice, w.advice.scroll
    lines = scroll.widget().heightForWidth(scroll.viewport().width())
    assert not scroll.verticalScrollBar().isVisible()
    assert scroll.height() <= lines + 4, (scroll.height(), lines)       # no empty band under the advice
    below = panel.height() - scroll.height()
    assert panel.findings.height() >= below - 60, (panel.findings.height(), below)   # less the doctor's heading
    # a re-check adds a line: the advice grows by it, the doctor's list gives it up
    doctor_before = panel.findings.height()
    c.apply()
    with qtbot.waitSignal(c.recheck_done, timeout=15000):
        c.recheck()
    settle(qtbot)
    assert not scroll.verticalScrollBar().isVisible() and panel.recheck.isVisible()
    assert panel.findings.height() < doctor_before


# --- the chart's value labels at 1366x768 ----------------------------------------------------------------------
def big_suggestions(anchor: str):
    """Advice with the largest suggestions on every role but the anchor: up, down, at both ends of the chart."""
    from model.advice.types import Advice, RoleGain

    moves = {"vocals": ("increase", "very_quiet", 12.0), "drums": ("decrease", "very_loud", -12.0),
             "bass": ("increase", "very_quiet", 12.0), "other": ("decrease", "very_loud", -12.0)}
    suggestions = tuple(RoleGain(role, direction, category, 6.0, 12.0, delta, 0.9)
                        for role, (direction, category, delta) in moves.items() if role != anchor)
    return Advice(anchor, suggestions[0], suggestions, (), 0.9, False, "test advice", "test")


def inside(view, rect) -> bool:
    """``rect`` lies within ``view`` (to rounding)."""
    return view.adjusted(-1e-6, -1e-6, 1e-6, 1e-6).contains(rect)


def in_view(plot, text):
    """A label's rectangle in the view's coordinates (dB up, one bar per unit across)."""
    text.updateTransform(force=True)
    return plot.plot.getPlotItem().getViewBox().mapSceneToView(text.sceneBoundingRect()).boundingRect()


def test_chart_value_labels_lie_inside_the_chart_at_1366x768(qtbot, make_window, stems):
    from model.audio.roles import ROLES

    w = small_window(qtbot, make_window)
    c = load(qtbot, w, stems)
    plot = w.gain_plot
    vb = plot.plot.getPlotItem().getViewBox()
    for anchor, height in (("drums", None), ("vocals", None), ("bass", 120)):
        c.set_anchor(anchor)
        if height is not None:   # the chart as short as the splitter makes it
            w.splitters[2].setSizes([height, 2000])
            settle(qtbot)
        advice = big_suggestions(anchor)
        plot.show_advice(advice)
        settle(qtbot)
        view = vb.viewRect()
        assert plot.anchor_text.isVisible()
        anchor_rect = in_view(plot, plot.anchor_text)
        assert inside(view, anchor_rect), (anchor, vb.height(), anchor_rect, view)
        for s in advice.suggestions:
            text = plot.value_texts[ROLES.index(s.role)]
            assert text.textItem.toPlainText() == f"{s.delta_db:+.1f} dB"
            r = in_view(plot, text)
            assert inside(view, r), (anchor, vb.height(), s.role, r, view)
            # beyond the whisker's end, not on it
            assert (r.top() >= s.max_db) if s.delta_db > 0 else (r.bottom() <= -s.max_db), (s.role, r)


# --- the status bar at 1366x768 --------------------------------------------------------------------------------
def test_a_long_status_message_is_elided_in_the_middle_with_the_full_text_as_tooltip(qtbot, make_window, stems,
                                                                                    tmp_path):
    w = small_window(qtbot, make_window)
    load(qtbot, w, stems)
    long_name = "07 Lead Vocal Double (comp take 3, tuned, de-essed, printed through the bus chain) FINAL v12.wav"
    broken = tmp_path / long_name
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    load(qtbot, w, [broken])
    settle(qtbot)
    sb = w.statusBar()
    line = sb.line
    message = sb.currentMessage()
    assert message.startswith("Nothing was added") and long_name in message and message.endswith("unchanged."), (
        message)
    assert line.isVisible() and w.width() == 1366          # the message did not widen the window
    shown = line.text()
    assert line.is_elided() and "…" in shown
    assert line.fontMetrics().horizontalAdvance(shown) <= line.contentsRect().width()
    head, tail = shown.split("…")
    assert message.startswith(head) and message.endswith(tail) and tail.endswith("unchanged.")
    assert line.toolTip() == message                       # all of it, on hover
    sb.showMessage("Saved song.mbsession")                 # a short one shows whole, with no tooltip
    assert line.text() == "Saved song.mbsession" and not line.is_elided() and line.toolTip() == ""
    sb.clearMessage()
    assert sb.currentMessage() == "" and line.toolTip() == ""


# --- a full mix exported with the stems ------------------------------------------------------------------------
def test_a_full_mix_among_the_stems_is_muted_once_and_said(qtbot, make_window, tmp_path):
    """A DAW's master track in an "all tracks" export: muted on load with a banner, so the meters and the
    critique judge the stems alone; unmuted by the user it stays counted; in a saved session it is only named."""
    from tests.model.test_copies import stems, write

    parts = stems()
    folder = write(tmp_path / "export", {**parts, "Song Master.wav": sum(parts.values())})
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [folder])
    qtbot.waitUntil(lambda: "Song Master.wav" in c.project.muted and c.project.loudness_is_exact(), timeout=30000)
    said = [b.report for b in w.banners.banners if b.report.title == "Full mix among the stems"]
    assert len(said) == 1 and said[0].message.startswith("Song Master.wav looks like the full mix")
    assert "It is muted" in said[0].message and said[0].severity == "warning"
    alone = load(qtbot, make_window(advisor=load_advisor("balance")), [write(tmp_path / "stems", parts)])
    qtbot.waitUntil(lambda: alone.project.loudness_is_exact(), timeout=30000)
    for role in ("drums", "bass", "other"):   # the meters read what the stems alone give
        assert c.project.lu_vs_anchor(role) == pytest.approx(alone.project.lu_vs_anchor(role), abs=0.01), role
    c.set_muted("Song Master.wav", False)     # the user's choice stands: not muted again, not said again
    qtbot.waitUntil(lambda: c.project.loudness_is_exact(), timeout=30000)
    settle(qtbot)
    assert "Song Master.wav" not in c.project.muted
    assert len([b for b in w.banners.banners if b.report.title == "Full mix among the stems"]) == 1
    session = tmp_path / "song.mbsession"
    assert c.save_session(str(session))
    w2 = make_window(advisor=load_advisor("balance"))
    w2.controller.open_session(str(session))
    qtbot.waitUntil(lambda: w2.controller.project.tracks is not None
                    and w2.controller.project.loudness_is_exact(), timeout=30000)
    qtbot.waitUntil(lambda: any(b.report.title == "Full mix among the stems" for b in w2.banners.banners),
                    timeout=10000)
    said = [b.report for b in w2.banners.banners if b.report.title == "Full mix among the stems"]
    assert "Mute it" in said[0].message and "Song Master.wav" not in w2.controller.project.muted


def test_a_stem_saved_again_in_another_format_is_muted_and_said(qtbot, make_window, tmp_path):
    """Bass.wav and Bass.mp3 in one folder: the MP3 is muted on load, with a banner that names the WAV. The MP3 of
    the lead vocal, chosen as the anchor track, plays instead of its WAV."""
    from tests.model.test_copies import save_as, stems, write

    parts = stems()
    folder = write(tmp_path / "export", parts)
    save_as(folder / "Bass.mp3", parts["Bass.wav"], "MPEG_LAYER_III")
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [folder])
    qtbot.waitUntil(lambda: "Bass.mp3" in c.project.muted and c.project.loudness_is_exact(), timeout=30000)
    said = [b.report for b in w.banners.banners if b.report.kind is ErrorKind.COPIES]
    assert [r.title for r in said] == ["A stem saved twice"]
    assert said[0].message.startswith("Bass.mp3 holds the audio of Bass.wav") and "It is muted" in said[0].message
    assert "Bass.wav" not in c.project.muted
    save_as(folder / "Lead Vox.mp3", parts["Lead Vox.wav"], "MPEG_LAYER_III")
    w = make_window(advisor=load_advisor("balance", profile="electronic"))   # statistics against a lead vocal track
    c = load(qtbot, w, [folder])
    qtbot.waitUntil(lambda: {"Bass.mp3", "Lead Vox.mp3"} <= c.project.muted and c.project.loudness_is_exact(),
                    timeout=30000)
    with qtbot.waitSignal(c.status, timeout=5000) as told:
        c.set_anchor_track("Lead Vox.mp3")
    assert "Lead Vox.mp3" not in c.project.muted and {"Lead Vox.wav", "Bass.mp3"} <= c.project.muted
    assert told.args[0].startswith("Lead Vox.mp3 is the anchor: it plays now, and Lead Vox.wav")
    said = [b.report.message for b in w.banners.banners if b.report.kind is ErrorKind.COPIES]   # as it stands now
    assert len(said) == 1 and "Lead Vox.wav (Lead Vox.mp3 saved again)" in said[0] and "Bass.mp3" in said[0]
    advice = critique(qtbot, w)
    assert advice is not None and advice.anchor_track == "Lead Vox.mp3"
    # chosen before the meters' first reading found the copies: the anchor's save is not the one muted
    w = make_window(advisor=load_advisor("balance", profile="electronic"))
    c = load(qtbot, w, [folder])
    c.set_anchor_track("Lead Vox.mp3")        # (the meters report through the event loop, which has not run yet)
    qtbot.waitUntil(lambda: {"Lead Vox.wav", "Bass.mp3"} <= c.project.muted and c.project.loudness_is_exact(),
                    timeout=30000)
    assert "Lead Vox.mp3" not in c.project.muted


def test_the_copies_of_an_export_are_said_in_one_banner(qtbot, make_window, tmp_path):
    """An "all tracks" export with a drum group and the master: both are muted, found one after the other, and
    one banner names them both (an export with a group per part would otherwise stack a banner per group)."""
    from tests.model.test_copies import kit, write

    parts = kit()
    group = parts["Kick.wav"] + parts["Hats.wav"] + parts["Snare.wav"]
    folder = write(tmp_path / "export", {**parts, "Drum Group.wav": group, "Song Master.wav": sum(parts.values())})
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [folder])
    qtbot.waitUntil(lambda: {"Drum Group.wav", "Song Master.wav"} <= c.project.muted
                    and c.project.loudness_is_exact(), timeout=60000)
    said = [b.report for b in w.banners.banners if b.report.kind is ErrorKind.COPIES]
    assert [r.title for r in said] == ["Copies among the stems"]
    assert "Drum Group.wav (a bus of the drums)" in said[0].message
    assert "Song Master.wav (the full mix)" in said[0].message and "They are muted" in said[0].message


def test_a_mute_by_hand_is_undone_and_redone_and_the_copy_muted_on_load_stays_muted(qtbot, make_window, tmp_path):
    """Ctrl+Z after M unmutes the track (the menu says what it undoes); the master track the app muted on load is
    no undo step, so undoing past everything the user did leaves it muted, as its banner says."""
    from tests.model.test_copies import stems, write

    parts = stems()
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [write(tmp_path / "export", {**parts, "Song Master.wav": sum(parts.values())})])
    qtbot.waitUntil(lambda: "Song Master.wav" in c.project.muted and c.project.loudness_is_exact(), timeout=60000)
    stem = next(t.id for t in c.project.tracks.tracks if t.id != "Song Master.wav")
    assert not w.undo_action.isEnabled()
    w.table.mute_buttons[stem].click()
    assert stem in c.project.muted
    assert w.undo_action.isEnabled() and w.undo_action.text() == f"&Undo mute of {stem}"
    w.undo_action.trigger()
    assert stem not in c.project.muted and not w.table.mute_buttons[stem].isChecked()
    assert "Song Master.wav" in c.project.muted and w.table.mute_buttons["Song Master.wav"].isChecked()
    assert not w.undo_action.isEnabled() and w.redo_action.text() == f"&Redo mute of {stem}"
    w.redo_action.trigger()
    assert stem in c.project.muted and w.table.mute_buttons[stem].isChecked()


def test_a_critique_asked_for_during_the_first_reading_leaves_the_full_mix_out(qtbot, make_window, tmp_path):
    """Critique clicked as soon as a fresh load ends: it waits for the meters, which find the master track and
    mute it, so the advice is the stems' alone and describes the mix as it stands (not stale)."""
    from tests.model.test_copies import stems, write

    parts = stems()
    alone = make_window(advisor=load_advisor("balance"))
    load(qtbot, alone, [write(tmp_path / "stems", parts)])
    expected = critique(qtbot, alone, timeout=60000)
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [write(tmp_path / "export", {**parts, "Song Master.wav": sum(parts.values())})])
    assert c.meters_pending()                  # the first reading has not come in yet
    advice = critique(qtbot, w, timeout=60000)
    assert "Song Master.wav" in c.project.muted
    assert c.project.advice_revision == c.project.revision    # taken, and current
    assert advice.text == expected.text
    assert {s.role: s.delta_db for s in advice.suggestions} == pytest.approx(
        {s.role: s.delta_db for s in expected.suggestions}, abs=0.05)


def test_esc_stops_a_critique_waiting_for_the_meters(qtbot, make_window, tmp_path):
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, make_stems(tmp_path))
    assert c.meters_pending()
    with qtbot.waitSignal(c.busy_changed, check_params_cb=lambda busy, _m: not busy):
        assert c.critique() is not None and c.busy
        c.cancel()
    qtbot.waitUntil(lambda: c.project.loudness_is_exact(), timeout=30000)
    settle(qtbot)
    assert not c.busy and c.project.advice is None             # nothing started once the meters had read


def test_a_critique_waiting_for_the_meters_shows_their_progress(qtbot, make_window, tmp_path):
    from tests.app.test_critique_cache import _song

    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [_song(tmp_path / "long", 120.0)], timeout=60000)
    steps = []
    c.progress.connect(lambda frac, msg: steps.append(msg))
    assert critique(qtbot, w, timeout=60000) is not None
    assert any(s.startswith("Measuring loudness: window") for s in steps), steps
