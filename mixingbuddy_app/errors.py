"""Errors reaching the user: ErrorReport, the non-modal banner, excepthooks and the log file."""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QMessageBox, QPlainTextEdit, QToolButton, QVBoxLayout,
                               QWidget)

from model.errors import MixingBuddyError

log = logging.getLogger("mixingbuddy")


class ErrorKind(Enum):
    """What went wrong, for the code that reacts to a report (the title and message are for the user)."""

    GENERAL = "general"
    CANCELLED = "cancelled"            # the user cancelled; nothing failed
    ADVISOR_FAILED = "advisor_failed"  # the advisor raised or crashed (not a problem of the mix)
    COPIES = "copies"                  # files that copy others: the newest such banner says them all


@dataclass(frozen=True)
class ErrorReport:
    """What the user sees: a title, a one-line message and a technical detail (for the expander)."""

    title: str
    message: str
    detail: str = ""
    severity: str = "error"   # "error" | "warning" | "info"
    kind: ErrorKind = ErrorKind.GENERAL

    @classmethod
    def from_exception(cls, exc: BaseException, title: str = "Error") -> "ErrorReport":
        if isinstance(exc, MixingBuddyError):
            detail = exc.detail or ""
            return cls(title, exc.message, detail, "error")
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return cls(title, f"Internal error: {type(exc).__name__}: {msg}", tb, "error")


_COLOURS = {"error": ("#5c1f1f", "#ffb4ab"), "warning": ("#4d3d10", "#ffd479"), "info": ("#1d3550", "#a9d1ff")}


class ErrorBanner(QFrame):
    """A dismissable, non-modal banner with a Details expander."""

    dismissed = Signal()

    def __init__(self, report: ErrorReport, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report = report
        self.setObjectName("banner")
        self.setProperty("severity", report.severity)
        bg, fg = _COLOURS.get(report.severity, _COLOURS["error"])
        self.setStyleSheet(f"QFrame#banner {{ background: {bg}; border-radius: 4px; }} "
                           f"QFrame#banner QLabel {{ color: {fg}; }}")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 4, 4, 4)
        outer.setSpacing(2)
        row = QHBoxLayout()
        self.label = QLabel(f"<b>{_esc(report.title)}:</b> {_esc(report.message)}")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.label, 1)
        self.details_button = QToolButton(text="Details")
        self.details_button.setCheckable(True)
        self.details_button.setVisible(bool(report.detail))
        row.addWidget(self.details_button)
        self.close_button = QToolButton(text="✕")
        self.close_button.setToolTip("Dismiss")
        self.close_button.setAutoRaise(True)
        row.addWidget(self.close_button)
        outer.addLayout(row)
        self.details = QPlainTextEdit(report.detail)
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(160)
        self.details.setVisible(False)
        outer.addWidget(self.details)
        self.details_button.toggled.connect(self.details.setVisible)
        self.close_button.clicked.connect(self._dismiss)

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()
        self.deleteLater()


class BannerArea(QWidget):
    """A vertical stack of banners; identical messages are not repeated; a banner about the copies among the
    stems replaces the one before it (it names them all); at most five are kept."""

    MAX = 5

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 4, 6, 0)
        self._layout.setSpacing(4)
        self.banners: list[ErrorBanner] = []
        self.setVisible(False)

    def show_report(self, report: ErrorReport) -> ErrorBanner:
        for b in list(self.banners):
            if b.report.title == report.title and b.report.message == report.message:
                return b
        if report.kind is ErrorKind.COPIES:
            self.clear_where(lambda shown: shown.kind is ErrorKind.COPIES)
        banner = ErrorBanner(report, self)
        banner.dismissed.connect(lambda b=banner: self._remove(b))
        self.banners.append(banner)
        self._layout.addWidget(banner)
        while len(self.banners) > self.MAX:
            old = self.banners.pop(0)
            old.hide()
            old.deleteLater()
        self.setVisible(True)
        banner.show()
        return banner

    def clear_kind(self, title: str) -> None:
        self.clear_where(lambda report: report.title == title)

    def clear_where(self, gone: Callable[[ErrorReport], bool]) -> None:
        """Remove the banners whose report ``gone`` picks."""
        for b in list(self.banners):
            if gone(b.report):
                self.banners.remove(b)
                b.hide()
                b.deleteLater()
        self.setVisible(bool(self.banners))

    def _remove(self, banner: ErrorBanner) -> None:
        if banner in self.banners:
            self.banners.remove(banner)
        self.setVisible(bool(self.banners))

    def messages(self) -> list[str]:
        return [b.report.message for b in self.banners]


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- excepthooks (installed only from main) --------------------------------------

def log_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base or Path.home() / ".local" / "share" / "mixingbuddy-app")


class _Relay(QObject):
    report = Signal(object)


_relay: _Relay | None = None
_dialog_open = False


def install_excepthooks() -> None:
    """Route uncaught exceptions (main and other threads) to the log and at most one modal dialog.

    Call only from ``gui.main``, never in tests. MIXINGBUDDY_EXIT_ON_ERROR=1 re-raises instead.
    """
    global _relay
    try:
        d = log_dir()
        d.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(d / "mixingbuddy.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    except OSError:
        pass
    _relay = _Relay()
    _relay.report.connect(_show_dialog, Qt.ConnectionType.QueuedConnection)
    exit_on_error = os.environ.get("MIXINGBUDDY_EXIT_ON_ERROR") == "1"

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("uncaught exception", exc_info=(exc_type, exc, tb))
        if exit_on_error:
            sys.__excepthook__(exc_type, exc, tb)
            os._exit(1)
        if _relay is not None:
            _relay.report.emit(ErrorReport("Unexpected error", f"{exc_type.__name__}: {exc}",
                                           "".join(traceback.format_exception(exc_type, exc, tb))))

    def thread_hook(args):
        hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook


def _show_dialog(report: ErrorReport) -> None:
    global _dialog_open
    if _dialog_open:
        return  # one dialog at a time; the rest are in the log
    _dialog_open = True
    try:
        box = QMessageBox(QMessageBox.Icon.Critical, report.title,
                          report.message + "\n\nThe app keeps running. Details are in the log:\n" + str(log_dir()))
        box.setDetailedText(report.detail)
        box.exec()
    finally:
        _dialog_open = False
