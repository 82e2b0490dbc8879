"""The advice: sentence, confidence, re-check result, export-doctor findings and files that did not load."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QBrush
from PySide6.QtWidgets import QFrame, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

SEVERITY_COLOURS = {"error": "#ff8a80", "warning": "#ffd479", "info": "#a9d1ff", "failed": "#ff8a80"}
RECHECK_COLOURS = {"resolved": "#5fbf77", "over-corrected": "#e0b341", "still there": "#ff8a4a", "unclear": "#aaaaaa"}


class AdvicePanel(QFrame):
    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("advicePanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.sentence = QLabel("Drop stems (files or a folder) here, pick the anchor, then Critique.")
        self.sentence.setObjectName("adviceSentence")
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.sentence)
        self.confidence = QLabel("")
        self.confidence.setObjectName("adviceConfidence")
        layout.addWidget(self.confidence)
        self.applied = QLabel("")
        self.applied.setWordWrap(True)
        self.applied.setVisible(False)
        layout.addWidget(self.applied)
        self.recheck = QLabel("")
        self.recheck.setObjectName("recheck")
        self.recheck.setWordWrap(True)
        self.recheck.setVisible(False)
        layout.addWidget(self.recheck)
        self.findings = QListWidget()
        self.findings.setObjectName("findings")
        self.findings.setWordWrap(True)
        self.findings.setMaximumHeight(130)
        self.findings.setToolTip("Export doctor: problems in the exported files that can distort the critique")
        layout.addWidget(QLabel("<b>Export doctor</b>"))
        layout.addWidget(self.findings, 1)
        controller.advice_changed.connect(self.show_advice)
        controller.tracks_changed.connect(self._show_findings)
        controller.apply_done.connect(self._on_apply)
        controller.recheck_done.connect(self._on_recheck)
        controller.busy_changed.connect(self._on_busy)
        controller.gains_changed.connect(self._stale_check)

    def _on_busy(self, busy: bool, what: str) -> None:
        if busy:
            self.confidence.setText(what)

    def _stale_check(self) -> None:
        adv = self.controller.project.advice
        if adv is not None and not self.controller.advice_is_current():
            self.confidence.setText(self._confidence_text(adv) + "  ·  the mix changed since: Critique again")

    @staticmethod
    def _confidence_text(adv) -> str:
        conf = f"Confidence {adv.confidence:.0%}"
        if adv.agreement:
            conf += f" ({adv.agreement})"
        return f"{conf}  ·  advisor: {adv.advisor_id}  ·  anchor: {adv.anchor}"

    def show_advice(self, adv) -> None:
        if adv is None:
            self.sentence.setText("Pick the anchor, then Critique (Ctrl+Return)." if self.controller.project.tracks
                                  else "Drop stems (files or a folder) here, pick the anchor, then Critique.")
            self.confidence.setText("")
            self.recheck.setText("")
            self.recheck.setVisible(False)
            self.applied.setVisible(False)
            self._show_findings()
            return
        self.sentence.setText(adv.text)
        self.sentence.setProperty("abstained", adv.abstained)
        self.confidence.setText(self._confidence_text(adv))
        self._show_findings()

    def _show_findings(self) -> None:
        p = self.controller.project
        adv = p.advice
        self.findings.clear()
        findings = list(adv.findings) if adv is not None else list(p.load_findings)
        for path, reason in p.failed:
            self._add("failed", f"Not loaded: {reason}")
        for m in p.missing:
            self._add("warning", f"Missing (kept in the session): {m.path}")
        for f in findings:
            self._add(f.severity, f.message)
        for note in p.load_notes:
            self._add("info", note)
        if self.findings.count() == 0 and p.tracks:
            self._add("info", "No export problems found.")

    def _add(self, severity: str, text: str) -> None:
        it = QListWidgetItem(f"[{severity}] {text}")
        it.setForeground(QBrush(QColor(SEVERITY_COLOURS.get(severity, "#dddddd"))))
        it.setData(Qt.ItemDataRole.UserRole, severity)
        self.findings.addItem(it)

    def _on_apply(self, result) -> None:
        text = f"Applied: {result.describe()}."
        if result.clamped:
            text = f"<span style='color:#e0b341'>{text}</span>"
        self.applied.setText(text + "  Press B for A/B, Re-check to verify.")
        self.applied.setVisible(True)
        self.recheck.setText("")
        self.recheck.setVisible(False)

    def _on_recheck(self, label: str, sentence: str) -> None:
        colour = RECHECK_COLOURS.get(label, "#dddddd")
        self.recheck.setText(f"<b style='color:{colour}'>{label.upper()}</b> — {sentence}")
        self.recheck.setProperty("label", label)
        self.recheck.setVisible(True)
