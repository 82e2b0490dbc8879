"""Critique through the worker: bars equal the advice, Apply, A/B, Re-check, Cancel, stale results, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from model.errors import ModelRuntimeError
from model.extras import missing_modules

needs_llm_extra = pytest.mark.skipif(
    bool(missing_modules("llm")), reason="the llm extra is not installed, so the app falls back before it reads a "
    "checkpoint (tests/test_install.py checks that fallback)")

from tests.app.conftest import FakeOutput, StubAdvisor, critique, load


def _role_linear(c, role):
    p = c.project
    return {t.id: 10 ** ((p.track_db.get(t.id, 0) + p.role_db.get(role, 0)) / 20)
            for t in p.tracks.tracks if t.role.role == role}


def test_the_chart_marks_a_role_the_critique_could_not_judge(qtbot, make_window, tmp_path):
    from model.advisors import load_advisor
    from tests.app.test_cli import stems_from_one_noise

    # the bass plays only where the vocals (the anchor) and the drums rest: nothing to judge it against
    song = stems_from_one_noise(tmp_path / "song", {"Lead Vox.wav": 0.0, "Drums.wav": -2.0, "Bass.wav": -3.0,
                                                      "Keys.wav": 12.0},
                                plays={"Lead Vox.wav": (0, 15), "Drums.wav": (0, 15), "Keys.wav": (0, 15),
                                       "Bass.wav": (20, 30)})
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, [song])
    critique(qtbot, w)
    advice = c.project.advice
    assert [s.role for s in advice.suggestions] == ["other"]
    assert w.gain_plot.unjudged_roles() == ["bass"]      # its zero bar is no "leave it as it is"
    assert w.gain_plot.bar_heights()["bass"] == 0.0 and w.gain_plot.bar_heights()["drums"] == 0.0
    qtbot.waitUntil(lambda: c.project.loudness_is_exact(), timeout=15000)
    assert "not judged" in w.table.role_lu_item("bass").text()   # as the table says
    c.set_anchor("bass")                                # nothing plays with the bass: no role can be judged
    critique(qtbot, w)
    assert c.project.advice.abstained and w.gain_plot.unjudged_roles() == ["vocals", "drums", "other"]


def test_the_chart_says_which_role_the_song_has_no_track_of(qtbot, make_window, tmp_path):
    """Hydrogen has no bass stem: its empty column read like 'leave the bass as it is'."""
    from model.advisors import load_advisor
    from tests.app.test_cli import stems_from_one_noise

    song = stems_from_one_noise(tmp_path / "song", {"Lead Vox.wav": 0.0, "Drums.wav": -2.0, "Keys.wav": -4.0})
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, [song])
    assert w.gain_plot.role_labels() == ["vocals ⚓", "drums", "bass (absent)", "other"]
    c.set_role("Keys.wav", "bass")
    assert w.gain_plot.role_labels() == ["vocals ⚓", "drums", "bass", "other (absent)"]


def test_at_the_smallest_window_an_out_of_date_chart_says_so_first_and_stays_inside_its_widget(
        qtbot, make_window, stems):
    """pyqtgraph makes a title's width the plot's least width, and a plot wider than its widget is cut off on the
    right (the out-of-date title once hid the last role's bar). The title is cut short instead, its news first."""
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    c = load(qtbot, w, stems)
    critique(qtbot, w)
    w.resize(1, 1)
    c.set_region((1.0, 4.0))
    for _ in range(3):
        QApplication.processEvents()
    plot = w.gain_plot.plot
    item = plot.getPlotItem()
    assert item.titleLabel.text.startswith("Out of date")
    assert item.geometry().width() <= plot.width() + 0.5
    assert item.titleLabel.toolTip() in ("", "Out of date (Critique again): suggested change per role")


def test_a_new_span_says_the_critique_judged_another_and_greys_apply_at_once(qtbot, make_window, stems):
    w = make_window(StubAdvisor([("vocals", "quiet")]))
    c = load(qtbot, w, stems)
    c.set_region((1.0, 4.0))
    critique(qtbot, w)
    assert w.apply_action.isEnabled() and w.advice.apply_buttons["vocals"].isEnabled()
    c.set_region((2.0, 5.0))                           # nothing else happens: the panel and the toolbar follow
    assert not w.apply_action.isEnabled() and not w.advice.apply_buttons["vocals"].isEnabled()
    assert "this critique judged 0:01.0–0:04.0; the span changed since" in w.advice.stale.text()
    assert not w.advice.stale.isHidden() and w.advice.sentence.graphicsEffect().isEnabled()   # the headline fades
    assert "out of date" in w.gain_plot.plot.getPlotItem().titleLabel.text.lower() and w.gain_plot.bars.opacity() < 1
    assert w.overview.timeline.graphicsEffect().isEnabled()                  # the window verdicts fade too
    c.set_region(None)
    assert "this critique judged 0:01.0–0:04.0" in w.advice.stale.text()
    critique(qtbot, w)
    assert w.advice.stale.isHidden() and not w.advice.sentence.graphicsEffect().isEnabled()
    assert "out of date" not in w.gain_plot.plot.getPlotItem().titleLabel.text.lower() and w.gain_plot.bars.opacity() == 1
    assert not w.overview.timeline.graphicsEffect().isEnabled()
    c.set_track_gain("01 Lead Vox.wav", -3.0)
    text = w.advice.stale.text()
    assert "the mix changed since" in text and "this critique judged" not in text


def test_critique_bars_timeline_and_panel_equal_the_advice(qtbot, make_window, stems):
    stub = StubAdvisor([("vocals", "quiet")])
    w = make_window(stub)
    c = load(qtbot, w, stems)
    with qtbot.waitSignal(c.worker.advice_ready, timeout=15000) as blocker:
        c.critique()
    qtbot.waitUntil(lambda: not c.busy, timeout=5000)
    advice = blocker.args[1]
    assert c.project.advice is advice
    assert stub.thread_names and stub.thread_names[0] != "MainThread"
    assert advice.primary.role == "vocals" and advice.primary.direction == "increase"
    expected = {r: 0.0 for r in ("vocals", "drums", "bass", "other")}
    for s in advice.suggestions:
        expected[s.role] = s.delta_db
    assert w.gain_plot.bar_heights() == pytest.approx(expected)
    assert w.gain_plot.bar_heights()["vocals"] == pytest.approx(4.5)
    assert w.gain_plot.bar_ranges()["vocals"] == (3.0, 6.0)
    assert len(w.overview.timeline.colours) == len(advice.windows) >= 1
    assert w.advice.sentence.text() == advice.text
    assert "Confidence 100%" in w.advice.confidence.text()
    assert w.apply_action.isEnabled() and w.critique_action.isEnabled() and not w.cancel_action.isEnabled()
    assert c.advisor_label.startswith("Advisor: stub")


def test_apply_changes_the_engine_gains_and_undo_restores_them(qtbot, make_window, stems):
    out = FakeOutput()
    w = make_window(StubAdvisor([("vocals", "quiet")]), out)
    c = load(qtbot, w, stems)
    critique(qtbot, w)
    ids = [t.id for t in c.project.tracks.tracks]
    vox = ids.index("01 Lead Vox.wav")
    before = c.engine.gains.copy()
    result = c.apply()
    assert result.applied_db == pytest.approx(4.5) and not result.clamped
    after = c.engine.gains
    assert after[vox] == pytest.approx(before[vox] * 10 ** (4.5 / 20), rel=1e-5)
    others = [i for i in range(len(ids)) if i != vox]
    assert np.allclose(after[others], before[others])
    assert w.roles.faders["vocals"].label.text() == "+4.5 dB"
    assert "Applied" in w.advice.applied.text()
    assert not w.apply_action.isEnabled()      # the advice now describes the old mix
    assert c.can_ab() and w.transport.ab_label.text() == "A/B: after"
    c.undo()
    assert np.allclose(c.engine.gains, before)
    # back at the critiqued mix: nothing is applied, the advice describes the mix again, Apply acts again
    assert not w.advice.applied.isVisible() and "Applied" not in w.advice.applied.text()
    assert "changed since" not in w.advice.confidence.text()
    assert w.apply_action.isEnabled() and w.advice.apply_buttons["vocals"].isEnabled()
    assert not c.can_ab() and w.transport.ab_label.text() == ""
    c.redo()
    assert c.engine.gains[vox] == pytest.approx(before[vox] * 10 ** (4.5 / 20), rel=1e-5)
    assert not w.apply_action.isEnabled() and c.project.applied_roles() == {"vocals"} and c.can_ab()
    c.undo()
    assert c.apply().applied_db == pytest.approx(4.5)       # once, not twice: the mix is the critiqued one + 4.5
    assert c.project.role_db["vocals"] == pytest.approx(4.5)


def test_apply_is_clamped_to_the_fader_range_and_says_so(qtbot, make_window, stems):
    w = make_window(StubAdvisor([("vocals", "very_quiet")]))
    c = load(qtbot, w, stems)
    c.set_role_gain("vocals", 10.0)
    critique(qtbot, w)
    with qtbot.waitSignal(c.error) as blocker:
        result = c.apply()
    assert result.clamped and result.after_db == 12.0 and result.applied_db == pytest.approx(2.0)
    assert blocker.args[0].severity == "warning" and "clamped" in blocker.args[0].message
    assert c.project.role_db["vocals"] == 12.0


def test_ab_switches_before_and_after_at_matched_loudness(qtbot, make_window, stems):
    out = FakeOutput()
    w = make_window(StubAdvisor([("drums", "loud")]), out)
    c = load(qtbot, w, stems)
    critique(qtbot, w)
    assert not w.ab_action.isEnabled()
    g0 = c.engine.gains.copy()
    c.apply()
    g_after = c.engine.gains.copy()
    assert w.ab_action.isEnabled()
    assert c.toggle_ab() == "before"
    p = c.project
    offset, _exact = p.ab_match_offset()   # measured or estimated, both sides alike (test_meters checks exact)
    assert math.isfinite(offset) and offset < 0     # lowering the drums makes the mix quieter
    assert c.ab_offset_db == pytest.approx(offset)
    assert np.allclose(c.engine.gains, g0 * 10 ** (offset / 20), rtol=1e-5)
    assert "BEFORE" in w.transport.ab_label.text()
    assert w.ab_action.isChecked()
    assert c.toggle_ab() == "after"
    assert np.allclose(c.engine.gains, g_after)
    # a fader move while hearing "before" returns to "after" (edits always apply to the real mix)
    c.toggle_ab()
    c.set_track_gain("02 Kick.wav", -1.0)
    assert c.ab_state == "after"


@pytest.mark.parametrize("second, label", [
    (("vocals", "no_error"), "resolved"),
    (("vocals", "loud"), "over-corrected"),
    (("vocals", "quiet"), "still there"),
])
def test_recheck_says_resolved_overcorrected_or_still_there(qtbot, make_window, stems, second, label):
    stub = StubAdvisor([("vocals", "quiet"), second])
    w = make_window(stub)
    c = load(qtbot, w, stems)
    critique(qtbot, w)
    c.apply()
    assert w.recheck_action.isEnabled()
    with qtbot.waitSignal(c.recheck_done, timeout=15000) as blocker:
        c.recheck()
    assert blocker.args[0] == label
    assert label.upper() in w.advice.recheck.text()
    # the second critique judged the corrected mix
    assert stub.requests[1].gains.role_db["vocals"] == pytest.approx(4.5)


def test_cancel_stops_a_slow_critique_and_reenables_the_controls(qtbot, make_window, stems):
    stub = StubAdvisor(delay=30.0)
    w = make_window(stub)
    c = load(qtbot, w, stems)
    c.critique()
    assert c.busy and w.cancel_action.isEnabled() and not w.critique_action.isEnabled()
    qtbot.waitUntil(stub.started.is_set, timeout=10000)   # the meters read the mix first (events run)
    with qtbot.waitSignal(c.busy_changed, timeout=3000, check_params_cb=lambda busy, _m: not busy):
        w.cancel_action.trigger()
    assert c.project.advice is None
    assert w.critique_action.isEnabled() and not w.cancel_action.isEnabled()
    assert not [b for b in w.banners.banners if b.report.severity == "error"]   # a cancel is not an error


def test_stale_result_is_dropped_when_the_mix_changed(qtbot, make_window, stems):
    stub = StubAdvisor(delay=0.6)
    w = make_window(stub)
    c = load(qtbot, w, stems)
    c.critique()
    qtbot.waitUntil(stub.started.is_set, timeout=10000)   # the meters read the mix first (events run)
    c.set_track_gain("02 Kick.wav", -3.0)        # revision changes while the worker runs
    qtbot.waitUntil(lambda: not c.busy, timeout=10000)
    assert c.project.advice is None and c.dropped_results == 1
    # a result for an unknown or superseded request id is ignored too
    critique(qtbot, w)
    advice = c.project.advice
    c._on_advice_ready(12345, advice.__class__(**{**advice.__dict__, "text": "stale"}))
    assert c.project.advice is advice and c.dropped_results == 2


@pytest.mark.parametrize("exc, needle", [
    (ModelRuntimeError("The model ran out of memory."), "ran out of memory"),
    (RuntimeError("segfault-ish"), "The advisor crashed"),
])
def test_advisor_error_shows_a_banner_and_reenables_the_controls(qtbot, make_window, stems, exc, needle):
    w = make_window(StubAdvisor(raises=exc))
    c = load(qtbot, w, stems)
    with qtbot.waitSignal(c.error, timeout=15000) as blocker:
        c.critique()
    assert needle in blocker.args[0].message
    qtbot.waitUntil(lambda: not c.busy, timeout=5000)
    assert any(needle in m for m in w.banners.messages())
    banner = w.banners.banners[-1]
    if blocker.args[0].detail:
        assert banner.details_button.isVisible()
        banner.details_button.setChecked(True)
        assert banner.details.isVisible()
    assert w.critique_action.isEnabled() and not w.cancel_action.isEnabled()
    assert w.isVisible()


@needs_llm_extra
def test_llm_settings_fall_back_to_the_measured_advisor(monkeypatch, tmp_path):
    import model.advisors
    from model.errors import CheckpointError

    from mixingbuddy_app.composition import advisor_factory_for
    from mixingbuddy_app.settings import AdvisorSettings

    real = model.advisors.load_advisor

    def fake(kind="balance", checkpoint=None, device=None, **options):
        if kind == "llm":
            raise CheckpointError(f"{checkpoint}: manifest.json is missing.")
        return real(kind)

    monkeypatch.setattr(model.advisors, "load_advisor", fake)
    factory = advisor_factory_for(AdvisorSettings(advisor="auto", checkpoint=str(tmp_path / "ckpt")))
    adv, note, fell_back = factory()
    assert adv.info.id == "balance" and fell_back
    assert note.startswith("fell back to the measured advisor") and "manifest.json" in note
    adv, note, fell_back = advisor_factory_for(AdvisorSettings())()
    assert adv.info.id == "balance" and "no LLM checkpoint" in note and not fell_back


@needs_llm_extra
def test_settings_dialog_test_load_reports_what_is_missing(qtbot, make_window, monkeypatch, tmp_path):
    import model.advisors
    from model.errors import CheckpointError

    from mixingbuddy_app.settings import SettingsDialog

    def fake(kind="balance", checkpoint=None, device=None, **options):
        raise CheckpointError(f"{checkpoint}: manifest.json is missing.")

    monkeypatch.setattr(model.advisors, "load_advisor", fake)
    w = make_window()
    dlg = SettingsDialog(w.settings, w.controller.worker, w)
    qtbot.addWidget(dlg)
    dlg.test_load()
    assert "Missing: a checkpoint folder" in dlg.test_result.text()
    dlg.checkpoint.setText(str(tmp_path / "ckpt"))
    dlg.precision.setCurrentText("bf16")
    dlg.test_load()
    qtbot.waitUntil(lambda: not dlg.test_result.text().startswith("Loading"), timeout=10000)
    assert dlg.test_result.text().startswith("Not usable:") and "manifest.json" in dlg.test_result.text()
    dlg.accept()
    s = w.settings.advisor()
    assert s.checkpoint == str(tmp_path / "ckpt") and s.precision == "bf16" and s.wants_llm()


class WindowScriptAdvisor(StubAdvisor):
    """One verdict per window, in order (for the per-window timeline)."""

    def __init__(self, per_window):
        super().__init__()
        self.per_window = list(per_window)

    def judge(self, request, windows, cancel=None):
        from tests.app.conftest import verdict

        self.requests.append(request)
        return [verdict(w, *self.per_window[i % len(self.per_window)]) for i, w in enumerate(windows)]


def test_verdict_strip_opacity_follows_each_windows_agreement(qtbot, make_window, tmp_path):
    from mixingbuddy_app.widgets.overview import window_agreement

    from tests.app.conftest import make_stems

    stems = make_stems(tmp_path / "long", seconds=45.0)
    w = make_window(WindowScriptAdvisor([("vocals", "quiet"), ("vocals", "quiet"), ("vocals", "very_quiet"),
                                         (None, "no_error")]))
    load(qtbot, w, stems)
    advice = critique(qtbot, w)
    assert len(advice.windows) == 4
    assert advice.primary.role == "vocals" and advice.primary.category == "quiet"
    agreement = [window_agreement(v, advice) for v in advice.windows]
    assert agreement == [1.0, 1.0, 0.8, 0.3]
    strip = w.overview.timeline
    expected = [(0.25 + 0.75 * a) * (1.0 if v.window.gated else 0.5) for a, v in zip(agreement, advice.windows)]
    assert strip.alphas == pytest.approx(expected)
    assert [round(c.alphaF(), 2) for c in strip.colours] == [round(min(1.0, max(0.1, a)), 2) for a in expected]
    # agreeing windows are more opaque than the dissenting one, whatever the song's overall confidence
    assert strip.alphas[0] > strip.alphas[2] > strip.alphas[3]


def test_verdict_strip_greys_a_window_where_no_role_was_judged(qtbot):
    from mixingbuddy_app.widgets.overview import DIRECTION_COLOURS, VerdictStrip
    from model.advice.types import Advice, WindowVerdict
    from model.audio.segments import Window

    def window(i, measured):
        return WindowVerdict(Window(10.0 * i, 10.0 * (i + 1), True), None, "none", "no_error", None, None, "",
                             measured)

    # the balance advisor measured drums in the first window, only the other instruments in the second
    advice = Advice("vocals", None, (), (window(0, {"drums": 0.5, "other": -1.0}), window(1, {"other": -1.0})),
                    0.9, False, "", "balance")
    strip = VerdictStrip()
    qtbot.addWidget(strip)
    strip.show_advice(advice)
    assert [c.name() for c in strip.colours] == [DIRECTION_COLOURS["none"], DIRECTION_COLOURS["not_judged"]]
    assert [text for _, text, _ in strip.labels] == ["ok", "–"]
    assert "judged over the span" not in strip.toolTip()
    # a suggestion for the other instruments: its windows read "ok", and the tooltip says why no window names it
    from dataclasses import replace

    from model.advice.types import RoleGain

    strip.show_advice(replace(advice, suggestions=(RoleGain("other", "increase", "quiet", 3.0, 6.0, 4.5, 0.2),)))
    assert "The other instruments are judged over the span, not window by window." in strip.toolTip()


def test_verdict_strip_outlines_the_windows_left_out_and_says_why(qtbot):
    from mixingbuddy_app.widgets.overview import VerdictStrip
    from model.advice.types import Advice, WindowLeftOut, WindowVerdict
    from model.audio.segments import Window

    judged = WindowVerdict(Window(20.0, 30.0, True), None, "none", "no_error", None, None, "", {"drums": 0.5})
    left = (WindowLeftOut(0.0, 10.0, "the vocals (the anchor) are silent there"),
            WindowLeftOut(10.0, 20.0, "the vocals (the anchor) are silent there"))
    advice = Advice("vocals", None, (), (judged,), 0.9, False, "", "balance", left_out=left)
    strip = VerdictStrip()
    qtbot.addWidget(strip)
    strip.show_advice(advice)
    assert [text for _, text, _ in strip.labels] == ["ok"] and len(strip.colours) == 1   # judged windows only
    assert strip.left_out == [(0.0, 10.0, left[0].reason), (10.0, 20.0, left[1].reason)]
    assert "0:00–0:20: the vocals (the anchor) are silent there" in strip.toolTip()
    strip.show_advice(Advice("vocals", None, (), (judged,), 0.9, False, "", "balance"))
    assert strip.left_out == [] and "Left out" not in strip.toolTip()
    # where an indirect reading was measured in a window left out, the run says so, as the CLI's timeline does
    read = (left[0], WindowLeftOut(10.0, 20.0, left[1].reason, ("bass vs drums",)))
    strip.show_advice(Advice("vocals", None, (), (judged,), 0.9, False, "", "balance", left_out=read))
    assert ("0:00–0:20: the vocals (the anchor) are silent there (2 windows; bass vs drums read in 1 of them, for an "
            "indirect reading)") in strip.toolTip()
