"""Open the app on the demo session, critique it, apply the suggestion, re-check, and save a screenshot.

Used by benchmarks/screenshot.sh (under Xvfb). Usage: python benchmarks/screenshot_app.py OUT.png
SHOT_VIEW=masking shows the Masking view instead, its first finding clicked (looped), after the critique.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("MIXINGBUDDY_NO_AUDIO", "1")


def main(out: str) -> int:
    from PySide6.QtCore import QSettings, QTimer

    from mixingbuddy_app.composition import balance_factory, build_main_window
    from mixingbuddy_app.gui import _make_app
    from mixingbuddy_app.playback import NullOutput
    from mixingbuddy_app.resources import DEMO_DIR
    from mixingbuddy_app.settings import AppSettings

    app = _make_app()
    tmp = tempfile.TemporaryDirectory()
    settings = AppSettings(QSettings(str(Path(tmp.name) / "shot.ini"), QSettings.Format.IniFormat))
    output = NullOutput("screenshot run")
    output.available = True  # show the transport as a user with a sound card sees it
    output.name = "default output"
    window = build_main_window(balance_factory, output, settings=settings)
    window.banners.clear_kind("Preview unavailable")
    window.ask_unsaved = lambda what: "discard"   # a looped finding changes the span: no prompt when closing
    c = window.controller
    window.resize(1360, 880)
    window.show()
    state = {"step": 0, "rc": 1}

    def shoot() -> None:
        if not c.project.loudness_is_exact():   # show the measured meters, not the quick ≈ estimate
            QTimer.singleShot(100, shoot)
            return
        c.seek(14.2)
        window.transport.tick()
        app.processEvents()
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(out)
        state["rc"] = 0 if ok else 1
        print(f"screenshot: {out} ({'ok' if ok else 'FAILED'}); advice: {c.project.advice.text if c.project.advice else None}")
        window.close()
        app.quit()

    def on_tracks() -> None:
        if state["step"] == 0:
            state["step"] = 1
            c.set_region((10.0, 20.0)) if os.environ.get("SHOT_REGION") else None
            c.critique()

    def show_masking() -> None:
        """Open the Masking view (which starts the analysis) with room for the map; shoot once it is drawn."""
        vsplit, bottom, right = window.splitters
        vsplit.setSizes([150, 730])
        bottom.setSizes([560, 800])
        right.setSizes([520, 210])
        window.chart_tabs.setCurrentWidget(window.masking_view)

    def on_spectral(analysis) -> None:
        if analysis.review.masking:
            window.masking_view.findings.setCurrentRow(0)
            window.masking_view.play_finding(analysis.review.masking[0])
        QTimer.singleShot(400, shoot)

    def on_advice(advice) -> None:
        if advice is None:
            return
        if os.environ.get("SHOT_VIEW") == "masking":
            c.spectral_changed.connect(on_spectral)
            show_masking()
            return
        if state["step"] == 1 and os.environ.get("SHOT_APPLY", "0") == "1":
            state["step"] = 2
            c.apply()
            c.recheck()
            return
        QTimer.singleShot(400, shoot)

    c.tracks_changed.connect(on_tracks)
    c.advice_changed.connect(on_advice)
    QTimer.singleShot(60000, lambda: (print("screenshot: timed out", file=sys.stderr), app.quit()))
    c.add_paths([str(DEMO_DIR)], replace=True)
    app.exec()
    settings.q.sync()   # before the folder goes: QSettings would write (and recreate it) when destroyed
    tmp.cleanup()
    return state["rc"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshot.png"))
