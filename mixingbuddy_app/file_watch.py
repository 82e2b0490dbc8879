"""The re-export loop: watch the session's audio files, and when the DAW bounces them again, reload what changed.

ExportWatcher reports files that were rewritten in place or replaced (written elsewhere and renamed
over the old name, as many DAWs and editors do) once they are complete: their size and modification
time have stopped changing for ``settle_ms`` and their header reads. ReexportLoop wires it to the
controller: it says what was re-exported, reloads through the normal load path (which decodes and
measures only files whose stamp changed) and, when "Re-check on re-export" is on, critiques again and
shows the verdict before and after.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal
from PySide6.QtGui import QAction

from model.advice.report import recheck_verdict
from model.advice.types import Advice
from model.audio.findings import listed
from model.errors import MixingBuddyError

SETTLE_MS = 1000


def file_stamp(path: str) -> tuple[int, int] | None:
    """(size in bytes, modification time in ns) as AudioInfo.stamp records it; None when the file is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return int(st.st_size), int(st.st_mtime_ns)


def _readable(path: str) -> bool:
    """The header reads and promises frames: a file still being written usually fails this."""
    from model.audio.decode import probe

    try:
        probe(path)
    except MixingBuddyError:
        return False
    return True


class ExportWatcher(QObject):
    """Reports watched files that changed on disk, once each is complete (``files_settled``, absolute paths)."""

    files_changing = Signal(list)   # first notice of a change (the files may still be being written)
    files_settled = Signal(list)    # rewritten and stable: ready to be read again

    def __init__(self, parent: QObject | None = None, settle_ms: int = SETTLE_MS) -> None:
        super().__init__(parent)
        self._fs = QFileSystemWatcher(self)
        self._fs.fileChanged.connect(self._on_event)
        self._fs.directoryChanged.connect(self._on_folder_event)
        self._known: dict[str, tuple[int, int]] = {}     # path -> stamp of the version loaded
        self._pending: dict[str, tuple[int, int] | None] = {}   # path -> stamp at the last look
        self.settle_ms = settle_ms
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._settle)

    def watch(self, stamps: Mapping[str, tuple[int, int]]) -> None:
        """Watch exactly these files (absolute paths -> the stamp of the version loaded) and their folders."""
        self._known = {os.path.abspath(p): tuple(s) for p, s in stamps.items()}
        self._pending = {p: s for p, s in self._pending.items() if p in self._known}
        for old in self._fs.files() + self._fs.directories():
            self._fs.removePath(old)
        if self._known:
            self._fs.addPaths(sorted(self._known))
            self._fs.addPaths(sorted({os.path.dirname(p) for p in self._known}))

    def watched(self) -> list[str]:
        return sorted(self._known)

    def _on_event(self, path: str) -> None:
        self._note([os.path.abspath(path)])

    def _on_folder_event(self, folder: str) -> None:
        # A rename over a watched name replaces the file: the watcher drops it, only the folder reports.
        folder = os.path.abspath(folder)
        self._note([p for p, s in self._known.items() if os.path.dirname(p) == folder and file_stamp(p) != s])

    def _note(self, paths: list[str]) -> None:
        fresh = [p for p in paths if p in self._known and p not in self._pending]
        for p in paths:
            if p in self._known:
                self._pending[p] = file_stamp(p)
        if fresh:
            self.files_changing.emit(fresh)
        if self._pending:
            self._timer.start(self.settle_ms)   # restarts: settle only after the last change

    def _settle(self) -> None:
        done, waiting = [], False
        for p, seen in list(self._pending.items()):
            now = file_stamp(p)
            if now is not None and p not in self._fs.files():
                self._fs.addPath(p)   # the replacing file, watched from now on
            if now is None or now != seen or not _readable(p):
                self._pending[p] = now   # still being written (or renamed into place): look again later
                waiting = True
                continue
            del self._pending[p]
            if now != self._known[p]:
                self._known[p] = now
                done.append(p)
        if waiting:
            self._timer.start(self.settle_ms)
        if done:
            self.files_settled.emit(sorted(done))


class ReexportLoop(QObject):
    """Keeps the watcher on the loaded tracks and reloads, and optionally re-checks, after a re-export."""

    SETTINGS_KEY = "mix/recheck_on_reexport"

    def __init__(self, controller, qsettings=None, settle_ms: int = SETTLE_MS) -> None:
        super().__init__(controller)
        self.controller = controller
        self._q = qsettings
        self.watcher = ExportWatcher(self, settle_ms)
        self.watcher.files_changing.connect(self._on_changing)
        self.watcher.files_settled.connect(self._on_settled)
        self.action = QAction("Re-check on re-export", self)
        self.action.setCheckable(True)
        self.action.setToolTip("When the DAW bounces the stems again, critique again and show before and after")
        self.action.setChecked(bool(qsettings is not None and str(qsettings.value(self.SETTINGS_KEY, "false"))
                                    .lower() == "true"))
        self.action.toggled.connect(self._remember)
        self._before: Advice | None = None
        self._stage = ""          # "" | "loading" | "critiquing"
        self._tracks_before = None   # the tracks before the reload: still there after it means it failed
        controller.tracks_changed.connect(self._rewatch)
        controller.loading_changed.connect(self._on_loading)
        controller.busy_changed.connect(self._on_busy)
        controller.advice_changed.connect(self._on_advice)

    def _remember(self, on: bool) -> None:
        if self._q is not None:
            self._q.setValue(self.SETTINGS_KEY, "true" if on else "false")

    def _rewatch(self) -> None:
        tracks = self.controller.project.tracks
        self.watcher.watch({t.path: t.info.stamp for t in tracks.tracks} if tracks else {})

    def _on_changing(self, paths: list[str]) -> None:
        self.controller.status.emit(f"{_names(paths)} changed on disk; waiting until the export is complete…")

    def _on_settled(self, paths: list[str]) -> None:
        c = self.controller
        p = c.project
        if p.tracks is None:
            return
        self._before = p.advice if p.advice is not None and p.advice_revision == p.revision else None
        self._tracks_before = p.tracks
        self._stage = "loading"
        c.status.emit(f"Re-exported: {_names(paths)}. Re-measuring the changed file(s)…")
        c.add_paths(paths)   # the load reuses every file whose stamp is unchanged

    def _on_loading(self, busy: bool, _message: str) -> None:
        if not busy and self._stage == "loading":
            # the load's result is applied after loading ends; with self as context, a closed window's loop
            # (its action already deleted) is not called
            QTimer.singleShot(0, self, self._recheck)

    def _recheck(self) -> None:
        tracks = self.controller.project.tracks
        # nothing to re-check when the reload failed or was cancelled (the tracks are the ones from before)
        if not self.action.isChecked() or tracks is None or tracks is self._tracks_before:
            self._reset()
            return
        self._stage = "critiquing"
        if self.controller.critique() is None:
            self._reset()

    def _on_busy(self, busy: bool, _what: str) -> None:
        if not busy and self._stage == "critiquing":
            # a re-check that succeeded reports its advice right after this; one that failed or was
            # cancelled reports nothing, and must not take a later critique for its result
            QTimer.singleShot(0, self, lambda: self._stage == "critiquing" and self._reset())

    def _reset(self) -> None:
        self._stage = ""
        self._before = self._tracks_before = None

    def _on_advice(self, advice: Advice | None) -> None:
        if self._stage != "critiquing" or advice is None:
            return
        before = self._before
        self._reset()
        if before is None:
            label, sentence = "unclear", f"Re-checked after the re-export: {advice.text}"
        elif before.primary is None:
            label = "resolved" if advice.primary is None else "unclear"
            sentence = f"Re-checked after the re-export. Before: {before.text} After: {advice.text}"
        else:
            label = recheck_verdict(before, advice)[0]
            sentence = f"Re-checked after the re-export. Before: {before.text} After: {advice.text} ({label})"
        self.controller.recheck_done.emit(label, sentence)
        self.controller.status.emit(sentence)


def _names(paths: list[str]) -> str:
    return listed([Path(p).name for p in paths])
