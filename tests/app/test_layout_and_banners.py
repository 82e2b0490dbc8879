"""Layout at a small screen (1366x768) and messages that must not be stale or missing: banners of failed critiques
go when a critique succeeds, a load that adds nothing says so, a span too short to judge is not dropped silently."""

from __future__ import annotations

import numpy as np
import soundfile as sf
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

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
    # back on the Balance chart the advice gets its height back
    w.chart_tabs.setCurrentWidget(w.gain_plot)
    settle(qtbot)
    assert w.advice.scroll.viewport().height() > 150


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
