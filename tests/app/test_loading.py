"""Dropping files and folders, failures listed with reasons, role override, anchor choice."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from tests.app.conftest import load


def _mime(paths) -> QMimeData:
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return md


def _drop(window, paths) -> None:
    md = _mime(paths)
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_drop_files_fills_the_table_with_guessed_roles(qtbot, make_window, stems):
    w = make_window()
    c = w.controller
    with qtbot.waitSignal(c.loading_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        _drop(w, stems[:2])
    assert w.table.track_count() == 2
    roles = {t.name: t.role.role for t in c.project.tracks.tracks}
    assert roles == {"01 Lead Vox.wav": "vocals", "02 Kick.wav": "drums"}
    assert w.table.role_combos["01 Lead Vox.wav"].currentText() == "vocals"
    assert c.project.anchor == "vocals"
    # dropping more adds to the list
    with qtbot.waitSignal(c.loading_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        _drop(w, stems[2:])
    assert w.table.track_count() == 4
    assert c.engine.n_tracks == 4
    assert w.critique_action.isEnabled()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_drop_folder_lists_unreadable_files_and_loads_the_rest(qtbot, make_window, stems, broken_file):
    w = make_window()
    c = w.controller
    with qtbot.waitSignal(c.files_failed, timeout=15000) as blocker:
        _drop(w, [stems[0].parent])
    failed = blocker.args[0]
    assert [p for p, _ in failed] == [str(broken_file)]
    assert "05 Broken Gtr.wav" in failed[0][1]
    assert w.table.track_count() == 4
    items = [w.advice.findings.item(i).text() for i in range(w.advice.findings.count())]
    assert any("Not loaded" in t and "Broken Gtr" in t for t in items)
    assert any("Broken Gtr" in m for m in w.banners.messages())
    other = [t for t in c.project.tracks.tracks if t.name == "04 Pad.wav"][0]
    assert other.role.role == "other"
    # a plain "other" guess is not marked as a doubtful guess
    assert w.table.name_item("04 Pad.wav").text() == "04 Pad.wav"


def test_nothing_readable_shows_a_banner_and_keeps_the_window(qtbot, make_window, broken_file):
    w = make_window()
    c = w.controller
    with qtbot.waitSignal(c.error, timeout=15000) as blocker:
        c.add_paths([str(broken_file)])
    assert "could be read" in blocker.args[0].message or "Broken" in blocker.args[0].message
    assert w.isVisible() and c.project.tracks is None
    assert not w.critique_action.isEnabled()


def test_role_override_changes_the_track_and_the_request(qtbot, make_window, stems):
    w = make_window()
    c = load(qtbot, w, stems)
    combo = w.table.role_combos["04 Pad.wav"]
    combo.setCurrentText("bass")
    t = c.project.tracks.get("04 Pad.wav")
    assert t.role.role == "bass" and t.role.source == "user"
    assert w.table.name_item("04 Pad.wav").text() == "04 Pad.wav"
    assert w.table.role_row("bass") < w.table.track_row("04 Pad.wav")
    req = c.project.snapshot()
    assert req.tracks.get("04 Pad.wav").role.role == "bass"
    # the override survives adding more files
    load(qtbot, w, [stems[0]])
    assert c.project.tracks.get("04 Pad.wav").role.role == "bass"


def test_anchor_choice_from_the_role_panel(qtbot, make_window, stems):
    w = make_window()
    c = load(qtbot, w, stems)
    assert c.project.anchor == "vocals"
    assert w.roles.radios["vocals"].isChecked()
    w.roles.radios["drums"].setChecked(True)
    assert c.project.anchor == "drums"
    assert c.project.snapshot().anchor == "drums"
    assert w.table.role_lu_item("drums").text() == "anchor"       # the kick's role row
    qtbot.waitUntil(c.project.loudness_is_exact, timeout=20000)
    assert "LU" in w.table.role_lu_item("vocals").text()            # vocals now measured against the drums
    # a role with no tracks cannot be the anchor
    load(qtbot, w, stems[:2], replace=True)
    assert not w.roles.radios["bass"].isEnabled()


def test_anchor_falls_back_when_its_role_disappears(qtbot, make_window, stems):
    w = make_window()
    c = load(qtbot, w, stems)
    w.table.role_combos["01 Lead Vox.wav"].setCurrentText("other")
    assert c.project.anchor == "drums"
    assert w.roles.radios["drums"].isChecked()


def test_adding_files_decodes_and_measures_only_the_new_ones(qtbot, make_window, stems, monkeypatch):
    import mixingbuddy_app.workers as workers
    import model.audio.tracks as tracks_mod

    w = make_window()
    c = load(qtbot, w, stems[:3])
    lufs_before = dict(c.project.lufs)
    decoded, measured = [], []
    real_read = workers.read_track

    def counting_read(track, row, length, reuse, measure, cancel=None):
        if reuse is None:
            decoded.append(track.path)
        if measure:
            measured.append(track.path)
        return real_read(track, row, length, reuse, measure, cancel)

    monkeypatch.setattr(workers, "read_track", counting_read)

    load(qtbot, w, [stems[3]])  # the same length: nothing else is read or measured again
    assert decoded == [str(stems[3])] and len(measured) == 1
    assert w.table.track_count() == 4
    assert {k: c.project.lufs[k] for k in lufs_before} == lufs_before
    fresh = tracks_mod.load_tracks(stems)
    for a, b in zip(c.project.tracks.tracks, fresh.tracks.tracks):
        assert a.id == b.id
        np.testing.assert_array_equal(a.audio, b.audio)

    longer = stems[0].parent / "05 Long Gtr.wav"
    sf.write(longer, np.concatenate([sf.read(stems[3], dtype="float32")[0]] * 2), 16000)
    decoded.clear()
    measured.clear()
    load(qtbot, w, [longer])  # the session grows: padding changes, so every track is measured again
    assert decoded == [str(longer)] and len(measured) == 5


def test_a_stem_exported_from_another_start_plays_at_its_timestamp(qtbot, make_window, tmp_path):
    """A bass exported again from 4 s later (its Broadcast WAV timestamp says so) plays from there, as in the DAW:
    the preview, the meters and the critique hear it placed; the doctor's list and the file's tooltip say so."""
    from tests.model.test_doctor import SR, hits, stamped

    for name, gain, start in (("Lead Vox.wav", 0.4, 3600.0), ("Kick.wav", 0.5, 3600.0), ("Bass.wav", 0.3, 3604.0)):
        sf.write(tmp_path / name, hits(seed=3) * gain, SR)
        stamped(tmp_path / name, start)
    w = make_window()
    c = load(qtbot, w, [tmp_path])
    bass = c.project.tracks.get("Bass.wav")
    lead = 4 * SR
    assert c.project.tracks.frames == lead + 12 * SR and not bass.audio[:lead].any()
    np.testing.assert_array_equal(bass.audio[lead:, 0], sf.read(tmp_path / "Bass.wav", dtype="float32")[0])
    items = [w.advice.findings.item(i).text() for i in range(w.advice.findings.count())]
    assert any("Bass.wav: placed 4.000 s later than the others on the timeline" in text for text in items), items
    assert "starts 4.000 s into the timeline (its Broadcast WAV timestamp)" in w.table.name_item("Bass.wav").toolTip()


def test_a_surround_stem_says_its_speakers_and_plays_folded(qtbot, make_window, tmp_path):
    """A 5.1 stem's tooltip names its speakers as a DAW's I/O setup does; its centre plays on both sides."""
    from tests.model.test_doctor import SR, hits

    x = hits(seed=4)
    surround = np.zeros((len(x), 6), np.float32)
    surround[:, 2] = x * 0.5                     # the centre
    sf.write(tmp_path / "Lead Vox 5.1.wav", surround, SR)
    sf.write(tmp_path / "Kick.wav", x * 0.5, SR)
    w = make_window()
    c = load(qtbot, w, [tmp_path])
    vox = c.project.tracks.get("Lead Vox 5.1.wav")
    np.testing.assert_allclose(vox.audio[:, 0], vox.audio[:, 1])
    assert "6 ch (L R C LFE Ls Rs, folded to stereo)" in w.table.name_item("Lead Vox 5.1.wav").toolTip()
