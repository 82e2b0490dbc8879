"""The advice: the headline, every suggestion with its own Apply, Apply all, the confidence, a measured second
opinion, what was applied, the re-check result, export-doctor findings and files that did not load."""

from __future__ import annotations

import html
from dataclasses import replace

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar,
                               QPushButton, QScrollArea, QSizePolicy, QToolButton, QVBoxLayout, QWidget)

from model.advice.report import CATEGORY_WORDS, TENTATIVE_BELOW, suggestion_action
from model.advice.types import advice_sentence
from model.audio.findings import listed

from mixingbuddy_app.widgets.out_of_date import STALE_COLOUR, fader

SEVERITY_COLOURS = {"error": "#ff8a80", "warning": "#ffd479", "info": "#a9d1ff", "failed": "#ff8a80"}
#: Where a findings row keeps the ids of the files its fix mutes (Finding.mutes).
_MUTES = Qt.ItemDataRole.UserRole + 1
RECHECK_COLOURS = {"resolved": "#5fbf77", "over-corrected": "#e0b341", "still there": "#ff8a4a", "unclear": "#aaaaaa"}
#: How sure a verdict looks: (lowest confidence, level, colour). A tentative verdict is amber and in italics.
CONFIDENCE_LEVELS = ((0.75, "firm", "#5fbf77"), (TENTATIVE_BELOW, "fair", "#9fb3c8"), (0.0, "tentative", "#e0b341"))


def confidence_level(confidence: float) -> tuple[str, str]:
    """("firm" | "fair" | "tentative", its colour) for a confidence 0..1."""
    for lowest, level, colour in CONFIDENCE_LEVELS:
        if confidence >= lowest:
            return level, colour
    return CONFIDENCE_LEVELS[-1][1:]


def _label(name: str = "", wrap: bool = True) -> QLabel:
    lab = QLabel("")
    if name:
        lab.setObjectName(name)
    lab.setWordWrap(wrap)   # wrapped labels never widen the panel (and never squeeze the track table)
    lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return lab


def apply_tip(s) -> str:
    """An enabled Apply button's tooltip: what it does."""
    return f"Move the {s.role} role gain by {s.delta_db:+.1f} dB"


class _ContentScroll(QScrollArea):
    """A scroll area that asks for the height its wrapped content needs at its width, so the panel gives the
    advice what it uses and the doctor's list the rest; a window too short for both scrolls the advice."""

    def __init__(self, inner: QWidget) -> None:
        super().__init__()
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._asked = -1
        inner.installEventFilter(self)

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._content_height())

    def _content_height(self) -> int:
        inner = self.widget()
        # the width the lines wrap at with the scroll bar shown, so that showing it never changes the answer
        width = self.width() - self.verticalScrollBar().sizeHint().width()
        height = inner.heightForWidth(width) if inner.hasHeightForWidth() else -1
        return max(height, inner.minimumSizeHint().height())

    def _share_anew(self) -> None:
        height = self._content_height()
        if height != self._asked:
            self._asked = height
            self.updateGeometry()   # a line appeared or went, or wraps anew: the panel shares its height anew

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._share_anew()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._share_anew()


class _DoctorList(QListWidget):
    """The doctor's findings: asks for three lines and takes whatever height the advice leaves."""

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self.minimumHeight())


class AdvicePanel(QFrame):
    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("advicePanel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        # the verdict and its suggestions scroll inside the panel when the window is small
        inner = QWidget()
        inner.setObjectName("adviceBody")
        body = QVBoxLayout(inner)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(4)
        self.sentence = _label("adviceSentence")
        self.sentence.setText("Drop stems (files or a folder) here, pick the anchor, then Critique.")
        body.addWidget(self.sentence)
        self.stale = _label("adviceStale")   # the critique no longer describes the mix: said at the top
        self.stale.setVisible(False)
        body.addWidget(self.stale)
        row = QHBoxLayout()
        self.confidence_bar = QProgressBar()
        self.confidence_bar.setObjectName("confidenceBar")
        self.confidence_bar.setRange(0, 100)
        self.confidence_bar.setTextVisible(False)
        self.confidence_bar.setFixedSize(70, 8)
        self.confidence_bar.setVisible(False)
        self.confidence = _label("adviceConfidence")
        row.addWidget(self.confidence_bar, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.confidence, 1)
        body.addLayout(row)
        self.context = _label("adviceContext")
        body.addWidget(self.context)
        self.profile_note = _label("profileNote")   # another profile would judge this confident verdict otherwise
        self.profile_note.setTextInteractionFlags(self.profile_note.textInteractionFlags()
                                                  | Qt.TextInteractionFlag.LinksAccessibleByMouse
                                                  | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.profile_note.linkActivated.connect(self._critique_with_contrast)
        self.profile_note.setVisible(False)
        self.suggestion_box = QWidget()
        self.suggestion_grid = QGridLayout(self.suggestion_box)
        self.suggestion_grid.setContentsMargins(0, 0, 0, 0)
        self.suggestion_grid.setHorizontalSpacing(6)
        self.suggestion_grid.setVerticalSpacing(2)
        self.suggestion_grid.setColumnStretch(0, 1)
        body.addWidget(self.suggestion_box)
        self._fades = [fader(self.sentence), fader(self.suggestion_box)]   # what no longer holds reads as such
        self.suggestion_labels: dict[str, QLabel] = {}
        self.apply_buttons: dict[str, QPushButton] = {}
        self.apply_all_button = QPushButton("Apply all")
        self.apply_all_button.setToolTip("Apply every suggestion above as one undoable step")
        self.apply_all_button.clicked.connect(lambda: self.controller.apply_all())
        self.apply_all_button.setVisible(False)
        body.addWidget(self.apply_all_button, 0, Qt.AlignmentFlag.AlignRight)
        body.addWidget(self.profile_note)   # under the suggestions, so their Apply shows first on a small screen
        self.second_opinion = _label("secondOpinion")
        self.second_opinion.setVisible(False)
        body.addWidget(self.second_opinion)
        self.applied = _label("applied")
        self.applied.setVisible(False)
        body.addWidget(self.applied)
        self.recheck = _label("recheck")
        self.recheck.setVisible(False)
        body.addWidget(self.recheck)
        body.addStretch(1)
        self.scroll = _ContentScroll(inner)
        layout.addWidget(self.scroll)   # the advice first, as tall as its lines; the doctor's list takes the rest
        self.findings = _DoctorList()
        self.findings.setObjectName("findings")
        self.findings.setWordWrap(True)
        self.findings.setToolTip("Export doctor: problems in the exported files that can distort the critique")
        self.findings.itemDoubleClicked.connect(self._mute_for_finding)
        self.findings_details = QToolButton()
        self.findings_details.setObjectName("findings_details")
        self.findings_details.setText("Details")
        self.findings_details.setCheckable(True)
        self.findings_details.setToolTip("List every file behind each finding")
        self.findings_details.toggled.connect(lambda _on: self._show_findings())
        doctor_head = QHBoxLayout()
        doctor_head.addWidget(QLabel("<b>Export doctor</b>"))
        doctor_head.addStretch(1)
        doctor_head.addWidget(self.findings_details)
        layout.addLayout(doctor_head)
        layout.addWidget(self.findings, 1)
        self.findings.setMinimumHeight(3 * self.findings.fontMetrics().lineSpacing() + 8)
        controller.advice_changed.connect(self.show_advice)
        controller.tracks_changed.connect(self._show_findings)
        controller.recheck_done.connect(self._on_recheck)
        controller.busy_changed.connect(self._on_busy)
        controller.gains_changed.connect(self._refresh_state)
        controller.region_changed.connect(lambda _span: self._refresh_state())
        controller.anchor_changed.connect(self._on_anchor_changed)
        controller.profile_changed.connect(lambda _name: self._refresh_state())

    # --- what the panel shows -------------------------------------------------------------
    def _on_busy(self, busy: bool, what: str) -> None:
        if busy:
            self.confidence.setText(what)
        else:
            self._refresh_state()

    def _on_anchor_changed(self, _anchor: str) -> None:
        self._clear_results()          # what was applied and re-checked belonged to the old anchor
        self._refresh_state()

    def _clear_results(self) -> None:
        self.applied.setText("")
        self.applied.setVisible(False)
        self.recheck.setText("")
        self.recheck.setVisible(False)

    def _show_applied(self) -> None:
        """What Apply did with this advice to reach the mix (Undo and Redo move it), as the project keeps it."""
        p = self.controller.project
        results = p.shown_applied()
        if not results or (p.anchor, p.anchor_track) != (p.advice.anchor, p.advice.anchor_track):  # another anchor
            self.applied.setText("")
            self.applied.setVisible(False)
            return
        lines = [f"Applied: {r.describe()}." for r in results]
        lines = [f"<span style='color:#e0b341'>{t}</span>" if r.clamped else t for r, t in zip(results, lines)]
        self.applied.setText("<br>".join(lines) + "<br>Press B for A/B, Re-check to verify.")
        self.applied.setVisible(True)

    def show_advice(self, adv) -> None:
        self._clear_results()
        self._show_suggestions(adv)
        if adv is None:
            self.sentence.setText("Pick the anchor, then Critique (Ctrl+Return)." if self.controller.project.tracks
                                  else "Drop stems (files or a folder) here, pick the anchor, then Critique.")
            self.sentence.setProperty("level", "")
            self._restyle(self.sentence)
            self.confidence.setText("")
            self.confidence_bar.setVisible(False)
            self.context.setText("")
            self.profile_note.setVisible(False)
            self.second_opinion.setVisible(False)
            self._show_findings()
            return
        level, colour = confidence_level(adv.confidence)
        tentative = level == "tentative"
        primary = None if adv.abstained else adv.primary
        # the headline the CLI, the exports and the status bar give (an advice made firm and marked unsure after,
        # as by another advisor, is worded as the tentative headline those would give it)
        self.sentence.setText(advice_sentence(replace(primary, confidence=min(primary.confidence, adv.confidence)))
                              if primary is not None and tentative else adv.text)
        self.sentence.setProperty("abstained", adv.abstained)
        self.sentence.setProperty("level", level)
        self._restyle(self.sentence)
        self.confidence_bar.setValue(int(round(adv.confidence * 100)))
        self.confidence_bar.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
        self.confidence_bar.setVisible(True)
        note = f"<span style='color:#ffd479'>{html.escape(adv.profile_note, quote=False)}</span>"
        if adv.contrast_profile:  # the action first: on a laptop screen the note's last line is below the fold
            note = (f"<span style='color:#ffd479'><b>Another profile disagrees:</b></span> "
                    f"<a href='critique' style='color:#8fc7ff'>Critique with "
                    f"'{html.escape(adv.contrast_profile, quote=False)}'</a><br>{note}")
        self.profile_note.setText(note)
        self.profile_note.setVisible(bool(adv.profile_note))
        self._show_second_opinion(adv)
        self._refresh_state()
        self._show_findings()

    def _critique_with_contrast(self, _link: str) -> None:
        """The note's link: judge against the profile it names, now."""
        c = self.controller
        adv = c.project.advice
        if adv is not None and adv.contrast_profile and c.set_profile(adv.contrast_profile):
            c.critique()

    @staticmethod
    def _restyle(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)

    def _show_suggestions(self, adv) -> None:
        """One line per suggestion, largest first after the headline, each with its own Apply."""
        grid = self.suggestion_grid
        while grid.count():
            item = grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.suggestion_labels.clear()
        self.apply_buttons.clear()
        suggestions = [] if adv is None or adv.abstained else list(adv.suggestions)
        for i, s in enumerate(suggestions):
            level, colour = confidence_level(s.confidence)
            what = CATEGORY_WORDS.get(s.category, s.category.replace("_", " "))
            text = (f"{i + 1}. {suggestion_action(s, tentative=level == 'tentative')} ({what}) "
                    f"<span style='color:{colour}'>{s.delta_db:+.1f} dB · {s.confidence:.0%}</span>")
            lab = _label()
            lab.setText(text)
            lab.setToolTip(f"{s.role}: {s.direction} by {s.min_db:g}–{s.max_db:g} dB ({s.category.replace('_', ' ')}); "
                           f"Apply moves the {s.role} role gain by {s.delta_db:+.1f} dB. "
                           f"Confidence {s.confidence:.0%}: " + (
                               "how likely the role is really off, given how far finished songs of the profile "
                               "disagree and how many windows agree." if adv.advisor_id == "balance"
                               else "the share of the windows that point the same way."))
            button = QPushButton("Apply")
            button.setToolTip(apply_tip(s))
            button.clicked.connect(lambda _=False, role=s.role: self.controller.apply(role))
            grid.addWidget(lab, i, 0)
            grid.addWidget(button, i, 1, Qt.AlignmentFlag.AlignTop)
            self.suggestion_labels[s.role] = lab
            self.apply_buttons[s.role] = button
        self.suggestion_box.setVisible(bool(suggestions))
        self.apply_all_button.setText(f"Apply all ({len(suggestions)})")
        self.apply_all_button.setVisible(len(suggestions) > 1)

    def suggestion_texts(self) -> list[str]:
        """The suggestion lines as plain text, in order (tests and screen readers)."""
        from PySide6.QtGui import QTextDocumentFragment

        return [QTextDocumentFragment.fromHtml(lab.text()).toPlainText() for lab in self.suggestion_labels.values()]

    def _show_second_opinion(self, adv) -> None:
        """When another advisor's verdict and the measurements disagree, say so and show the measured verdict."""
        opinion = self.controller.measured_opinion(adv)
        if opinion is None:
            self.second_opinion.setVisible(False)
            return
        self.second_opinion.setText(
            "<span style='color:#ffd479'><b>The measurements disagree.</b></span> Second opinion from the measured "
            f"advisor: {opinion}")
        self.second_opinion.setVisible(True)

    def _refresh_state(self) -> None:
        """The confidence line, the anchor as it is now, and which Apply buttons can act."""
        c = self.controller
        adv = c.project.advice
        if adv is None:
            if not c.busy:  # a first critique failed or was cancelled: "Critiquing…" no longer holds
                self.confidence.setText("")
            return
        conf = self.confidence_html(adv)
        current = c.advice_is_current()
        self._show_applied()
        if not current and self.recheck.isVisible():  # the verdict was on the mix as re-checked, not as it is now
            self.recheck.setText("")
            self.recheck.setVisible(False)
        why = c.advice_out_of_date()
        self.stale.setText(f"<span style='color:{STALE_COLOUR}'><b>Out of date:</b> {html.escape(why, quote=False)}. "
                           "Critique again (Ctrl+Return).</span>" if why else "")
        self.stale.setVisible(bool(why))
        for fade in self._fades:
            fade.setEnabled(bool(why))
        self.confidence.setText(conf)
        anchor = (c.project.anchor, c.project.anchor_track)
        context = f"advisor: {adv.advisor_id}"
        if adv.profile:
            context += f"  ·  profile: {adv.profile}"
        context += f"  ·  anchor: {c.project.anchor_label()}"
        if anchor == (adv.anchor, adv.anchor_track) and adv.anchor_reason:
            context += f" ({adv.anchor_reason})"
        self.context.setText(context)
        applicable = set(c.applicable_roles()) if not c.busy else set()
        by_role = {s.role: s for s in adv.suggestions}
        for role, button in self.apply_buttons.items():
            button.setEnabled(role in applicable)
            button.setToolTip(apply_tip(by_role[role]) if role in applicable
                              else f"Out of date: {why}. Critique again" if why else
                              "Applied" if role in c.project.applied_roles() else "A critique is running")
        left = len(applicable & set(self.apply_buttons))
        self.apply_all_button.setEnabled(left > 0)
        self.apply_all_button.setText(f"Apply all ({left or len(self.apply_buttons)})")   # what it would apply

    @staticmethod
    def confidence_html(adv) -> str:
        """The confidence line: one number and its windows, or, when the headline makes two claims (the main
        roles sit well, the other instruments are off), each claim's own number and windows after its words."""
        if not adv.claims:
            level, colour = confidence_level(adv.confidence)
            conf = f"<span style='color:{colour}'>Confidence {adv.confidence:.0%} · {level}</span>"
            return conf + (f" ({html.escape(adv.agreement, quote=False)})" if adv.agreement else "")
        parts = []
        for c in adv.claims:
            level, colour = confidence_level(c.confidence)
            part = (f"{html.escape(c.claim, quote=False)} <span style='color:{colour}'>{c.confidence:.0%} · "
                    f"{level}</span>")
            parts.append(part + (f" ({html.escape(c.backing, quote=False)})" if c.backing else ""))
        return "Confidence: " + "; ".join(parts)

    def _show_findings(self) -> None:
        p = self.controller.project
        adv = p.advice
        self.findings.clear()
        findings = adv.doctor_findings if adv is not None else p.load_findings
        for path, reason in p.failed:
            self._add("failed", f"Not loaded: {reason}")
        for m in p.missing:
            self._add("warning", f"Missing (kept in the session): {m.path}")
        for f in findings:
            files = f.files_line(None)
            mutes = tuple(t for t in f.mutes if t not in p.muted)
            if files and self.findings_details.isChecked():
                self._add(f.severity, f"{f.message}\n    {files}", mutes=mutes)
            else:
                self._add(f.severity, f.message + (f" ({len(f.track_ids)} files)" if files else ""), files, mutes)
        for note in p.load_notes:
            self._add("info", note)
        if self.findings.count() == 0 and p.tracks:
            self._add("info", "No export problems found.")

    def _add(self, severity: str, text: str, tooltip: str = "", mutes: tuple[str, ...] = ()) -> None:
        it = QListWidgetItem(f"[{severity}] {text}")
        if mutes:
            tooltip = "\n".join(x for x in (tooltip, f"Double-click to mute {listed(list(mutes))}.") if x)
            it.setData(_MUTES, mutes)
        if tooltip:
            it.setToolTip(tooltip)
        it.setForeground(QBrush(QColor(SEVERITY_COLOURS.get(severity, "#dddddd"))))
        it.setData(Qt.ItemDataRole.UserRole, severity)
        self.findings.addItem(it)

    def _mute_for_finding(self, item: QListWidgetItem) -> None:
        """A finding whose fix is to mute files (a reference track, a dry print): mute them on a double-click."""
        mutes = item.data(_MUTES) or ()
        if mutes:
            self.controller.set_muted(mutes, True)
            self.controller.status.emit(f"Muted {listed(list(mutes))}: critique again to judge the mix without "
                                        f"{'it' if len(mutes) == 1 else 'them'}.")
            self._show_findings()

    # --- results of Apply and Re-check --------------------------------------------------------
    def _on_recheck(self, label: str, sentence: str) -> None:
        colour = RECHECK_COLOURS.get(label, "#dddddd")
        self.recheck.setText(f"<b style='color:{colour}'>{label.upper()}</b> — {sentence}")
        self.recheck.setProperty("label", label)
        self.recheck.setVisible(True)
