"""The re-export loop: a file the DAW bounces again is reloaded and re-measured alone, once it is complete."""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf
from PySide6.QtCore import QSettings

import mixingbuddy_app.workers as workers
from model.advisors import load_advisor
from tests.app.conftest import RATE, critique, load, make_stems

SETTLE_MS = 150


def _window(qtbot, make_window, tmp_path, monkeypatch, advisor=None):
    stems = make_stems(tmp_path / "export", seconds=6.0)
    w = make_window(advisor=advisor)
    c = load(qtbot, w, [stems[0].parent])
    w.reexport.watcher.settle_ms = SETTLE_MS
    measured = []
    real = workers.read_track

    def counting_read(track, row, length, reuse, measure, cancel=None):
        if measure:
            measured.append(track.path)
        return real(track, row, length, reuse, measure, cancel)

    monkeypatch.setattr(workers, "read_track", counting_read)
    loads = []
    c.loading_changed.connect(lambda busy, _m: busy and loads.append(1))
    return w, c, stems, measured, loads


def _louder(path, db=6.0):
    audio, _ = sf.read(path, dtype="float32")
    return audio * np.float32(10 ** (db / 20))


def _wait_reloaded(qtbot, c, timeout=10000):
    with qtbot.waitSignal(c.loading_changed, timeout=timeout, check_params_cb=lambda busy, _m: not busy):
        pass


def test_a_file_rewritten_in_place_is_remeasured_alone(qtbot, make_window, tmp_path, monkeypatch):
    w, c, stems, measured, loads = _window(qtbot, make_window, tmp_path, monkeypatch)
    before = dict(c.project.lufs)
    messages = []
    c.status.connect(messages.append)
    with qtbot.waitSignal(w.reexport.watcher.files_settled, timeout=10000) as settled:
        sf.write(stems[1], _louder(stems[1]), RATE, subtype="PCM_24")
    assert settled.args == [[os.path.abspath(stems[1])]]
    _wait_reloaded(qtbot, c)
    assert len(loads) == 1 and len(measured) == 1   # one reload, one track measured again
    after = c.project.lufs
    assert abs(after["02 Kick.wav"] - before["02 Kick.wav"] - 6.0) < 0.1
    assert all(after[k] == v for k, v in before.items() if k != "02 Kick.wav")
    assert any("Re-exported: 02 Kick.wav" in m for m in messages)


def test_a_file_replaced_by_rename_is_seen_and_still_watched(qtbot, make_window, tmp_path, monkeypatch):
    w, c, stems, measured, loads = _window(qtbot, make_window, tmp_path, monkeypatch)
    for round_ in (1, 2):   # the replacing file must itself be watched for the next bounce
        tmp = stems[2].with_name(f".bounce{round_}.tmp")
        sf.write(tmp, _louder(stems[2], 3.0), RATE, subtype="FLOAT", format="WAV")
        with qtbot.waitSignal(w.reexport.watcher.files_settled, timeout=10000) as settled:
            os.replace(tmp, stems[2])
        assert settled.args == [[os.path.abspath(stems[2])]]
        _wait_reloaded(qtbot, c)
    assert len(loads) == 2 and len(measured) == 2


def test_a_file_still_being_written_waits_until_it_is_complete(qtbot, make_window, tmp_path, monkeypatch):
    w, c, stems, measured, loads = _window(qtbot, make_window, tmp_path, monkeypatch)
    full = stems[0].read_bytes()
    settled = []
    w.reexport.watcher.files_settled.connect(settled.append)
    stems[0].write_bytes(full[:30])   # a header cut short: what a DAW leaves mid-write
    qtbot.wait(4 * SETTLE_MS)
    assert settled == [] and loads == []
    with qtbot.waitSignal(w.reexport.watcher.files_settled, timeout=10000):
        stems[0].write_bytes(full)   # the export completes
    _wait_reloaded(qtbot, c)
    assert len(settled) == 1 and len(loads) == 1 and len(measured) == 1


def test_recheck_on_reexport_shows_before_and_after_and_is_remembered(qtbot, make_window, tmp_path, monkeypatch):
    w, c, stems, measured, loads = _window(qtbot, make_window, tmp_path, monkeypatch, load_advisor("balance"))
    first = critique(qtbot, w)
    w.reexport.action.setChecked(True)
    with qtbot.waitSignal(c.recheck_done, timeout=20000) as done:
        sf.write(stems[1], _louder(stems[1], 12.0), RATE, subtype="PCM_24")   # drums bounced 12 dB hotter
    label, sentence = done.args
    after = c.project.advice
    assert after is not None and after is not first
    assert f"Before: {first.text}" in sentence and f"After: {after.text}" in sentence
    assert w.advice.recheck.isVisible() and "Before:" in w.advice.recheck.text()
    assert len(loads) == 1 and len(measured) == 1
    stored = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert stored.value("mix/recheck_on_reexport") == "true"
    again = make_window()
    assert again.reexport.action.isChecked()


def test_without_recheck_a_reexport_only_reloads(qtbot, make_window, tmp_path, monkeypatch):
    w, c, stems, measured, loads = _window(qtbot, make_window, tmp_path, monkeypatch, load_advisor("balance"))
    critique(qtbot, w)
    assert not w.reexport.action.isChecked()
    rechecks = []
    c.recheck_done.connect(lambda *a: rechecks.append(a))
    sf.write(stems[1], _louder(stems[1], 12.0), RATE, subtype="PCM_24")
    _wait_reloaded(qtbot, c)
    qtbot.wait(300)
    assert rechecks == [] and not c.busy and c.project.advice is None


def test_a_failed_recheck_does_not_take_a_later_critique_for_its_result(qtbot, make_window, tmp_path, monkeypatch):
    from tests.app.conftest import StubAdvisor

    stub = StubAdvisor()
    w, c, stems, measured, loads = _window(qtbot, make_window, tmp_path, monkeypatch, stub)
    critique(qtbot, w)
    w.reexport.action.setChecked(True)
    rechecks = []
    c.recheck_done.connect(lambda *a: rechecks.append(a))
    stub.raises = RuntimeError("advisor fault")   # the re-check after the re-export fails
    with qtbot.waitSignal(c.busy_changed, timeout=20000, check_params_cb=lambda busy, _m: not busy):
        sf.write(stems[1], _louder(stems[1], 12.0), RATE, subtype="PCM_24")
    assert stub.calls == 2 and c.project.advice is None and rechecks == []
    qtbot.wait(50)
    stub.raises = None
    later = critique(qtbot, w)                    # the user's own critique, later
    assert later is not None and rechecks == []


def test_a_cancelled_reload_is_not_rechecked(qtbot, make_window, tmp_path, monkeypatch):
    from tests.app.conftest import StubAdvisor

    stub = StubAdvisor()
    w, c, stems, measured, loads = _window(qtbot, make_window, tmp_path, monkeypatch, stub)
    critique(qtbot, w)
    w.reexport.action.setChecked(True)
    with qtbot.waitSignal(c.loading_changed, timeout=10000, check_params_cb=lambda busy, _m: busy):
        sf.write(stems[1], _louder(stems[1], 12.0), RATE, subtype="PCM_24")
    c.cancel()                                    # Esc while the re-exported file is read
    qtbot.wait(300)
    assert stub.calls == 1 and not c.busy
    later = critique(qtbot, w)
    assert later is not None and stub.calls == 2 and not c.busy
