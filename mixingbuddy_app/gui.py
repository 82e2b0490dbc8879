"""GUI entry: ``mixingbuddy [PATHS...]`` opens the window; ``mixingbuddy --smoke`` runs offscreen and exits.

Startup imports no torch: only the advisor worker's first critique may (through ``model``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

SMOKE_GUARD_S = 120


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mixingbuddy", description="MixingBuddy: balance critique for DAW stems.")
    p.add_argument("paths", nargs="*", help="audio files, folders of stems or a .mbsession file to open")
    p.add_argument("--smoke", action="store_true",
                   help="offscreen self-test: load the demo, critique it once, print a 'ready' line, exit")
    p.add_argument("--no-audio", action="store_true", help="do not open an audio device (preview unavailable)")
    p.add_argument("--quit-when-shown", action="store_true",
                   help="open the window, print 'shown' at the first event-loop turn and exit (start-up benchmark)")
    return p


def _make_app(argv0: str = "mixingbuddy"):
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from mixingbuddy_app.resources import icon_path, style_sheet
    from mixingbuddy_app.settings import APP, ORG

    QCoreApplication.setOrganizationName(ORG)
    QCoreApplication.setApplicationName(APP)
    app = QApplication.instance() or QApplication([argv0])
    app.setApplicationDisplayName("MixingBuddy")
    qss = style_sheet()
    if qss:
        app.setStyleSheet(qss)
    icon = icon_path("mixingbuddy.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    return app


def freeze_startup_objects() -> None:
    """Keep what start-up made (modules, the window) out of the garbage collector's full passes: it lives as long
    as the app, and one full pass over it took ~100 ms of the GUI thread (a visible stall in the middle of a load)."""
    import gc

    gc.freeze()


NO_DISPLAY = ("No display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset): run `mixingbuddy critique "
              "PATH` for the command-line critique, or set QT_QPA_PLATFORM=offscreen.")


def no_display(environ=None, platform: str | None = None) -> bool:
    """True on Linux with neither an X11 nor a Wayland display and no Qt platform chosen: Qt would print its
    platform-plugin chatter and abort (SIGABRT). A QT_QPA_PLATFORM that is set (offscreen, minimal, vnc, eglfs,
    linuxfb, or xcb with a display Qt finds itself) is left to Qt."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return False
    return not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.no_audio:
        os.environ["MIXINGBUDDY_NO_AUDIO"] = "1"
    if args.smoke:
        return smoke()   # sets QT_QPA_PLATFORM=offscreen itself: needs no display
    if no_display():
        print(f"mixingbuddy: {NO_DISPLAY}", file=sys.stderr)
        return 2
    app = _make_app()
    from mixingbuddy_app.composition import build_main_window
    from mixingbuddy_app.errors import install_excepthooks

    install_excepthooks()
    window = build_main_window()
    window.show()
    freeze_startup_objects()
    if args.quit_when_shown:
        from PySide6.QtCore import QTimer

        def shown() -> None:
            print("shown", flush=True)
            window.close()

        QTimer.singleShot(0, shown)
    if args.paths:
        window.open_paths([str(Path(p)) for p in args.paths], replace=True)
    return int(app.exec())


def smoke() -> int:
    """Offscreen: load resources/demo, run one critique through the real worker, print 'ready: <advice>'."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["MIXINGBUDDY_NO_AUDIO"] = "1"
    app = _make_app()
    from PySide6.QtCore import QSettings, QTimer, qInstallMessageHandler

    def quiet(mode, context, message):  # the offscreen plugin's harmless size-hint notice
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)

    from mixingbuddy_app.composition import balance_factory, build_main_window
    from mixingbuddy_app.playback import NullOutput
    from mixingbuddy_app.resources import DEMO_DIR
    from mixingbuddy_app.settings import AppSettings

    tmp = tempfile.TemporaryDirectory(prefix="mixingbuddy-smoke-")
    settings = AppSettings(QSettings(str(Path(tmp.name) / "smoke.ini"), QSettings.Format.IniFormat))
    window = build_main_window(balance_factory, NullOutput("smoke test (offscreen)"), settings=settings)
    c = window.controller
    result = {"rc": 1}

    def finish(rc: int, line: str, stream) -> None:
        if result.get("done"):
            return
        result["done"] = True
        result["rc"] = rc
        print(line, file=stream, flush=True)
        window.close()
        app.quit()

    def on_tracks() -> None:
        if c.project.tracks and not c.busy and c.project.advice is None:
            if c.critique() is None:
                finish(1, "smoke: the critique could not start", sys.stderr)

    def on_advice(advice) -> None:
        if advice is not None:
            finish(0, f"ready: {advice.text}", sys.stdout)

    def on_error(report) -> None:
        if report.severity == "error":
            finish(1, f"smoke: {report.title}: {report.message}", sys.stderr)

    c.tracks_changed.connect(on_tracks)
    c.advice_changed.connect(on_advice)
    c.error.connect(on_error)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(lambda: finish(1, f"smoke: no advice within {SMOKE_GUARD_S} s", sys.stderr))
    guard.start(SMOKE_GUARD_S * 1000)
    window.show()
    if not Path(DEMO_DIR).is_dir():
        print(f"smoke: demo session not found at {DEMO_DIR}", file=sys.stderr)
        window.close()
        return 1
    c.add_paths([str(DEMO_DIR)], replace=True)
    app.exec()
    guard.stop()
    settings.q.sync()   # written now: QSettings would otherwise write (and recreate the folder) when destroyed
    tmp.cleanup()
    return int(result["rc"])


if __name__ == "__main__":
    sys.exit(main())
