"""The main window's status bar: a message too long for it is elided in the middle, never cut off, and its full
text is the tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget


class ElidedLabel(QLabel):
    """One line that shows as much of its message as fits, with "…" in the middle (a file name's end and a
    summary's last clause stay readable); the full message is its tooltip whenever part of it is hidden."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._message = ""
        # as wide as the bar gives it, never wider: a long message must not widen the window
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def message(self) -> str:
        return self._message

    def set_message(self, text: str) -> None:
        self._message = text
        self._fit()

    def is_elided(self) -> bool:
        return super().text() != self._message

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        shown = self.fontMetrics().elidedText(self._message, Qt.TextElideMode.ElideMiddle, self.contentsRect().width())
        super().setText(shown)
        self.setToolTip(self._message if shown != self._message else "")


class MessageBar(QStatusBar):
    """QStatusBar's showMessage / clearMessage / currentMessage, shown in an ElidedLabel instead of drawn clipped.

    Qt's own status tips (an action's statusTip while the mouse is over it) still use the base class's drawing and
    hide the label meanwhile, as they hide any normal status bar widget."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.line = ElidedLabel()
        self.line.setObjectName("statusMessage")
        self.addWidget(self.line, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clearMessage)

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 (Qt)
        self.line.set_message(text)
        self._timer.stop()
        if timeout > 0:
            self._timer.start(timeout)
        self.messageChanged.emit(text)

    def clearMessage(self) -> None:  # noqa: N802 (Qt)
        self.showMessage("")

    def currentMessage(self) -> str:  # noqa: N802 (Qt)
        return self.line.message()
