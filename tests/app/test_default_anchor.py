"""Without a chosen anchor the app follows the pipeline's rule (the first of vocals, drums, bass that plays)."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from model.advisors import load_advisor
from mixingbuddy_app.session_file import session_dict
from tests.app.conftest import RATE, critique, load, make_stems


def silent_vocals_session(tmp_path):
    stems = make_stems(tmp_path / "export", seconds=6.0)
    sf.write(stems[0], np.zeros(6 * RATE, np.float32), RATE)  # "01 Lead Vox.wav": vocals present but silent
    return stems


def test_silent_vocals_fall_back_to_drums_and_say_why(qtbot, make_window, tmp_path):
    stems = silent_vocals_session(tmp_path)
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [stems[0].parent])
    assert c.project.anchor == "vocals" and not c.project.anchor_chosen
    assert not any("anchor" in w.advice.findings.item(i).text() for i in range(w.advice.findings.count()))
    with qtbot.waitSignal(c.anchor_changed, timeout=15000) as changed:
        advice = critique(qtbot, w)
    assert changed.args == ["drums"] and advice.anchor == "drums"
    assert advice.anchor_reason == "default: vocals silent in the judged span, so drums"
    assert c.project.anchor == "drums" and not c.project.anchor_chosen
    assert "anchor: drums (default: vocals silent in the judged span, so drums)" in w.advice.context.text()
    assert w.roles.radios["drums"].isChecked() and not w.roles.radios["vocals"].isChecked()
    assert session_dict(c.project, tmp_path / "x.mbsession")["anchor_chosen"] is False


def test_a_chosen_anchor_is_kept_and_its_silence_is_an_error(qtbot, make_window, tmp_path):
    stems = silent_vocals_session(tmp_path)
    w = make_window(advisor=load_advisor("balance"))
    c = load(qtbot, w, [stems[0].parent])
    c.set_anchor("vocals")  # the current default, now picked by the user
    assert c.project.anchor_chosen and c.project.snapshot().anchor == "vocals"
    reports = []
    c.error.connect(reports.append)
    with qtbot.waitSignal(c.busy_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        c.critique()
    assert c.project.anchor == "vocals" and c.project.advice is None
    assert reports and "anchor role 'vocals'" in reports[-1].message
