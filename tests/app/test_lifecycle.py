"""Window lifecycle: no leaked top-level widgets, worker thread stops, --smoke, lazy torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from tests.app.conftest import StubAdvisor, critique, load

REPO = Path(__file__).resolve().parents[2]


def _env():
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MIXINGBUDDY_NO_AUDIO": "1",
            "PYTHONPATH": str(REPO)}


def test_no_leaked_top_level_widgets(qtbot, stems, tmp_path):
    from mixingbuddy_app.composition import build_main_window
    from mixingbuddy_app.playback import NullOutput
    from mixingbuddy_app.settings import AppSettings

    before = set(QApplication.topLevelWidgets())
    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = build_main_window(lambda: StubAdvisor(), NullOutput("t"), settings=settings)
    w.show()
    load(qtbot, w, stems)
    critique(qtbot, w)
    w.open_settings()
    dialogs = [d for d in QApplication.topLevelWidgets() if d.windowTitle() == "MixingBuddy settings"]
    assert len(dialogs) == 1
    dialogs[0].reject()
    worker = w.controller.worker
    w.close()
    assert not worker.thread_.isRunning()
    w.deleteLater()
    qtbot.waitUntil(lambda: not (set(QApplication.topLevelWidgets()) - before), timeout=3000)
    leaked = [x for x in set(QApplication.topLevelWidgets()) - before]
    assert not leaked, [type(x).__name__ for x in leaked]


def test_building_the_window_does_not_import_torch():
    code = ("import sys\n"
            "from PySide6.QtWidgets import QApplication\n"
            "app = QApplication([])\n"
            "from mixingbuddy_app.composition import build_main_window\n"
            "w = build_main_window(); w.show(); app.processEvents()\n"
            "assert 'torch' not in sys.modules, 'torch imported at startup'\n"
            "w.close()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_env(),
                         cwd=REPO)
    assert out.returncode == 0, out.stderr


def test_smoke_mode_prints_the_ready_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mixingbuddy_app", "--smoke"], capture_output=True, text=True,
                         timeout=120, env={**_env(), "HOME": str(tmp_path)}, cwd=REPO)
    assert out.returncode == 0, out.stderr
    lines = [x for x in out.stdout.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("ready"), out.stdout
    assert len(lines[0]) > len("ready: ") + 10
