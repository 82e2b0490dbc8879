"""The single wiring point: advisor factory + audio output -> worker, controller, main window."""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from typing import Any, Callable  # noqa: E402

from mixingbuddy_app.controller import ProjectController  # noqa: E402
from mixingbuddy_app.playback import NullOutput, favour_the_audio_thread, make_output  # noqa: E402
from mixingbuddy_app.settings import AdvisorSettings, AppSettings  # noqa: E402
from mixingbuddy_app.workers import AdvisorChoice, AdvisorWorker, balance_factory  # noqa: E402,F401


def advisor_factory_for(settings: AppSettings | AdvisorSettings) -> Callable[[], Any]:
    """The advisor the settings ask for; the LLM falls back to the measured advisor, saying why.

    The settings are read now (GUI thread); the returned factory runs on the worker thread.
    """
    s = settings.advisor() if isinstance(settings, AppSettings) else settings

    def factory():
        from model.advisors import load_advisor
        from model.errors import MixingBuddyError
        from model.extras import require_extra

        def fall_back(why: str) -> AdvisorChoice:
            measured = balance_factory(s.profile)
            return AdvisorChoice(measured.advisor, f"fell back to the measured advisor: {why}", True)

        if not s.wants_llm():
            measured = balance_factory(s.profile)
            return measured if measured.fell_back else AdvisorChoice(measured.advisor,
                                                                     "measured; no LLM checkpoint configured")
        device = None if s.device == "auto" else s.device
        opts = {k: v for k, v in s.llm_options().items() if k not in ("checkpoint", "device")}
        try:
            require_extra("llm", "The LLM advisor")  # says how to install it before asking for a checkpoint
            if not s.checkpoint:
                return fall_back("no LLM checkpoint folder is set")
            adv = load_advisor("llm", s.checkpoint, device, **opts)
            return AdvisorChoice(adv, f"LLM checkpoint {os.path.basename(s.checkpoint.rstrip('/'))}")
        except MixingBuddyError as exc:
            return fall_back(exc.message)
        except Exception as exc:  # a broken LLM install must not take the app down
            return fall_back(f"{type(exc).__name__}: {exc}")

    return factory


def build_main_window(advisor_factory: Callable[[], Any] | None = None, audio_output=None, *,
                      settings: AppSettings | None = None, critique_fn: Callable[..., Any] | None = None):
    """Build the worker (its own QThread), the controller and the main window. Imports no torch."""
    from mixingbuddy_app.widgets.main_window import MainWindow

    settings = settings or AppSettings()
    favour_the_audio_thread()
    factory = advisor_factory or advisor_factory_for(settings)
    output = audio_output if audio_output is not None else make_output()
    if output is None:
        output = NullOutput()
    worker = AdvisorWorker(factory, critique_fn)
    controller = ProjectController(worker, output)
    window = MainWindow(controller, settings, advisor_factory_for if advisor_factory is None else None)
    controller.setParent(window)
    from mixingbuddy_app.file_watch import ReexportLoop

    window.reexport = ReexportLoop(controller, settings.q)   # watches the stems for a DAW's re-export
    window.mix_menu.addAction(window.reexport.action)
    return window
