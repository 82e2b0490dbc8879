"""Big sessions in the app: the memory-mapped preview, per-file rows, cancel, the analysis cache on disk, the add-folder
prompt and a clean quit."""

from __future__ import annotations

import mmap
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model.audio.tracks import Gains, load_tracks, mix

from tests.app.conftest import RATE, load

REPO = Path(__file__).resolve().parents[2]


def _mapped(a: np.ndarray) -> bool:
    base = a
    while base is not None:
        if isinstance(base, mmap.mmap):
            return True
        base = getattr(base, "base", None)
    return False


def test_preview_is_memory_mapped_and_mixes_like_the_loaded_tracks(qtbot, make_window, stems):
    w = make_window()
    c = load(qtbot, w, stems)
    buf = c.engine.buffer
    assert _mapped(buf)
    fresh = load_tracks(stems).tracks
    for i, t in enumerate(fresh.tracks):
        audio = t.audio if t.audio.shape[1] == 2 else np.repeat(t.audio, 2, axis=1)
        np.testing.assert_array_equal(buf[i], audio)
    gains = Gains({fresh.tracks[0].id: -3.0}, {"drums": 2.0})
    c.set_track_gain(fresh.tracks[0].id, -3.0)
    c.set_role_gain("drums", 2.0)
    vector = c.gains_vector()
    preview = np.tensordot(vector, buf, axes=(0, 0))
    np.testing.assert_allclose(preview, mix(fresh, gains), atol=1e-5)


def test_every_row_is_listed_before_decoding_and_filled_in_as_files_are_read(qtbot, make_window, stems):
    w = make_window()
    c = w.controller
    listed, rows = [], []
    c.files_listed.connect(lambda files: listed.append(
        ([f.name for f in files], w.table.rowCount(), [w.table.item(r, 5).text() for r in range(w.table.rowCount())])))
    c.file_loaded.connect(lambda read: rows.append(
        (read.index, read.total, read.name, w.table.rowCount(),
         w.table.item(w.table.rows.index(("reading", read.track_id)), 5).text())))
    load(qtbot, w, stems)
    assert len(listed) == 1
    names, count, lufs_cells = listed[0]
    assert sorted(names) == sorted(p.name for p in stems)
    assert count == 4 and lufs_cells == ["…"] * 4             # all listed from the headers, marked as being read
    assert sorted(r[0] for r in rows) == [1, 2, 3, 4] and all(r[1] == 4 for r in rows)
    assert {r[2] for r in rows} == {p.name for p in stems}
    assert all(r[3] == 4 for r in rows)                        # reading a file fills its row, adds none
    assert all(r[4] != "…" for r in rows)                      # its loudness shows as soon as it is read
    assert w.table.track_count() == 4 and "…" not in [w.table.item(r, 5).text() for r in range(w.table.rowCount())
                                                      if w.table.item(r, 5) is not None]


def test_a_big_table_gets_its_widgets_in_batches_with_the_right_values(qtbot, make_window, stems, monkeypatch):
    from mixingbuddy_app.widgets.track_table import TrackTable

    monkeypatch.setattr(TrackTable, "SYNC_ROWS", 2)      # four stems stand in for a session of many tracks
    monkeypatch.setattr(TrackTable, "WIDGET_BATCH", 1)
    w = make_window()
    c = load(qtbot, w, stems)
    t = w.table
    t.rebuild()                                           # as when the load ends (its batches may have run since)
    built = [tid for tid in c.project.track_ids if tid in t.gain_cells]
    assert not built and not t.widgets_built()            # they come on later event-loop turns
    assert all(t.item(t.track_row(tid), 5).text() for tid in c.project.track_ids)   # loudness shows at once
    last = c.project.track_ids[-1]
    c.set_track_gain(last, -4.0)                          # edits meanwhile reach the widgets built later
    c.set_muted(last, True)
    qtbot.waitUntil(t.widgets_built, timeout=5000)
    assert set(t.gain_cells) == set(c.project.track_ids)
    assert t.gain_cells[last].fader.db() == -4.0 and t.mute_buttons[last].isChecked()
    assert all(t.role_combos[tr.id].currentText() == tr.role.role for tr in c.project.tracks.tracks)


def test_a_load_end_refreshes_the_table_and_the_role_panel_once_each(qtbot, make_window, stems, monkeypatch):
    from mixingbuddy_app.controller import ProjectController
    from mixingbuddy_app.widgets.track_table import RolePanel, TrackTable

    calls: list[str] = []
    in_load_end = {"on": False}
    for cls, name in ((TrackTable, "rebuild"), (TrackTable, "refresh"), (RolePanel, "refresh")):
        real = getattr(cls, name)
        monkeypatch.setattr(cls, name, lambda self, real=real, tag=f"{cls.__name__}.{name}": (
            in_load_end["on"] and calls.append(tag), real(self))[-1])
    real_loaded = ProjectController._on_loaded

    def on_loaded(self, *args):
        in_load_end["on"] = True
        try:
            real_loaded(self, *args)
        finally:
            in_load_end["on"] = False
    monkeypatch.setattr(ProjectController, "_on_loaded", on_loaded)
    w = make_window()
    c = load(qtbot, w, stems)
    # the load's end emits tracks, anchor, region, gains, advice and loudness changes: each view updates once
    assert sorted(calls) == ["RolePanel.refresh", "TrackTable.rebuild", "TrackTable.refresh"]
    assert w.table.track_count() == len(stems) and w.table.role_lu_item(c.project.anchor).text() == "anchor"
    assert w.roles.rel_labels[c.project.anchor].text() == "anchor"
    calls.clear()
    in_load_end["on"] = True
    c.set_anchor("drums")                     # anchor and gains change: one refresh each, and it shows the change
    assert sorted(calls) == ["RolePanel.refresh", "TrackTable.refresh"]
    assert w.table.role_lu_item("drums").text() == "anchor" and w.roles.rel_labels["drums"].text() == "anchor"


def _stall_reads(monkeypatch):
    """Make every file read wait (cancel-aware) until released; returns the release event."""
    import mixingbuddy_app.workers as workers

    real_read = workers.read_track
    release = threading.Event()

    def slow_read(track, row, length, reuse, measure, cancel=None):
        while not release.wait(0.01):
            if cancel is not None:
                cancel.raise_if_cancelled()
        return real_read(track, row, length, reuse, measure, cancel)

    monkeypatch.setattr(workers, "read_track", slow_read)
    return release


def test_escape_cancels_a_load_and_restores_the_session(qtbot, make_window, stems, monkeypatch):
    w = make_window()
    c = load(qtbot, w, stems[:2])
    c.status.emit("Two stems loaded")
    ids, buffer, revision = c.project.track_ids, c.engine.buffer, c.project.revision
    release = _stall_reads(monkeypatch)
    c.add_paths([str(stems[2]), str(stems[3])])
    assert c.loading and w.cancel_action.isEnabled()
    w.cancel_action.trigger()
    assert not c.loading                           # at once: Esc does not wait for the job (bench_cancel.py times it)
    assert c.project.track_ids == ids and c.project.revision == revision and c.engine.buffer is buffer
    assert w.table.track_count() == 2 and not w.progress.isVisible()
    assert c.last_status == "Two stems loaded"
    release.set()
    qtbot.wait(300)                                # the cancelled job's late end changes nothing
    assert c.project.track_ids == ids and not c.loading
    assert not [b for b in w.banners.banners if b.report.severity == "error"]


def test_escape_drops_a_load_result_that_is_already_queued(qtbot, make_window, stems):
    w = make_window()
    c = load(qtbot, w, stems[:2])
    ids, buffer = c.project.track_ids, c.engine.buffer
    c.add_paths([str(stems[2]), str(stems[3])])
    assert c.pool.waitForDone(15000)              # the job has ended: its result waits in the event queue
    w.cancel_action.trigger()
    assert not c.loading
    qtbot.wait(200)                               # the queued result is delivered, and dropped
    assert c.project.track_ids == ids and c.engine.buffer is buffer and not c.loading
    assert w.table.track_count() == 2


def test_escape_cancels_a_critique_at_once_and_restores_the_text(qtbot, make_window, stems):
    from tests.app.conftest import StubAdvisor

    stub = StubAdvisor(delay=30.0)
    w = make_window(stub)
    c = load(qtbot, w, stems)
    c.status.emit("Ready")
    c.critique()
    qtbot.waitUntil(stub.started.is_set, timeout=10000)   # the meters read the mix first (events run)
    w.cancel_action.trigger()
    assert not c.busy                              # at once: Esc does not wait for the worker
    assert c.last_status == "Ready" and c.project.advice is None and w.critique_action.isEnabled()


def test_reopening_a_session_in_a_new_app_measures_only_the_rewritten_file(qtbot, make_window, stems, tmp_path,
                                                                          monkeypatch):
    import mixingbuddy_app.workers as workers

    c = load(qtbot, make_window(), stems)
    session = tmp_path / "song.mbsession"
    assert c.save_session(str(session))
    before = dict(c.project.lufs)
    measured = []
    real_read = workers.read_track
    monkeypatch.setattr(workers, "read_track", lambda track, row, length, reuse, measure, cancel=None: (
        measured.append(track.name) if measure else None) or real_read(track, row, length, reuse, measure, cancel))

    def reopen():   # in a new window: its analysis cache holds nothing in memory, only what is on disk
        opened = make_window().controller
        with qtbot.waitSignal(opened.loading_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
            opened.open_session(str(session))
        return opened

    again = reopen()
    assert measured == [] and again.project.lufs == before      # every file found on disk by its stamp
    assert set(again.analysis_cache.known_stats(again.project.tracks)) == set(again.project.track_ids)
    audio, _ = sf.read(stems[1], dtype="float32")
    sf.write(stems[1], audio * 0.5, RATE)          # rewritten: new stamp, 6 dB quieter
    os.utime(stems[1], ns=(time.time_ns(), time.time_ns() + 10**9))
    third = reopen()
    assert measured == [stems[1].name]
    kick = stems[1].name
    assert abs(third.project.lufs[kick] - (before[kick] - 6.02)) < 0.05
    assert all(third.project.lufs[k] == v for k, v in before.items() if k != kick)


def test_add_folder_asks_whether_to_add_or_start_a_new_session(qtbot, make_window, stems, tmp_path):
    from tests.app.conftest import make_stems

    other, extra = make_stems(tmp_path / "other song")[:2], make_stems(tmp_path / "other song")[2:]
    for p in extra:
        p.unlink()
    w = make_window()
    c = load(qtbot, w, stems[:2])
    asked = []
    w.ask_add_or_new = lambda name: (asked.append(name), "cancel")[1]
    w.add_folder_path(str(other[0].parent))
    assert asked == ["other song"] and not c.loading and len(c.project.track_ids) == 2

    w.ask_add_or_new = lambda name: "add"
    with qtbot.waitSignal(c.loading_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        w.add_folder_path(str(other[0].parent))
    assert len(c.project.track_ids) == 4

    w.ask_add_or_new = lambda name: "new"
    with qtbot.waitSignal(c.loading_changed, timeout=15000, check_params_cb=lambda busy, _m: not busy):
        w.add_folder_path(str(other[0].parent))
    assert c.project.tracks is not None, c.last_status
    assert sorted(Path(t.path).parent.name for t in c.project.tracks.tracks) == ["other song"] * 2
    assert c.project.session_path is None


def test_smoke_run_ends_with_an_empty_stderr_and_leaves_no_temporary_folder(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "mixingbuddy_app", "--smoke"], capture_output=True, text=True,
                         env=env, cwd=REPO, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ready: ")
    assert out.stderr == ""
    assert [p.name for p in tmp_path.glob("mixingbuddy-smoke-*")] == []   # its settings file went with it


QUIT_WHILE_LOADING = r"""
import sys
from PySide6.QtCore import QTimer
from mixingbuddy_app.gui import _make_app
app = _make_app()
from mixingbuddy_app.composition import balance_factory, build_main_window
from mixingbuddy_app.playback import NullOutput
w = build_main_window(balance_factory, NullOutput("test"))
w.show()
w.controller.add_paths(sys.argv[1:], replace=True)
QTimer.singleShot(30, lambda: (w.close(), app.quit()))
app.exec()
print("closed")
"""


def test_quitting_while_jobs_run_is_clean(stems):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MIXINGBUDDY_NO_AUDIO": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", QUIT_WHILE_LOADING, *map(str, stems)], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "closed"
    assert [line for line in out.stderr.splitlines() if "propagateSizeHints" not in line] == []


def test_the_preview_file_stays_open_while_a_view_lives_and_closes_with_the_last(tmp_path):
    import gc

    from mixingbuddy_app.playback import preview_buffer, preview_file

    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc to see which file a descriptor is")

    def open_in_folder(fd: int) -> bool:
        try:
            return os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path))
        except OSError:
            return False

    buf = preview_buffer(3, 4800, tmp_path)
    row = buf[1, :, :1]
    mapped = preview_file(row)
    assert mapped is not None and preview_file(buf) == mapped and preview_file(np.zeros(4)) is None
    assert open_in_folder(mapped.fd)   # open: a worker process can map it
    del buf
    gc.collect()
    assert preview_file(row) == mapped and open_in_folder(mapped.fd)
    del row
    gc.collect()
    assert not open_in_folder(mapped.fd)
    assert list(tmp_path.iterdir()) == []   # the file never had a name
