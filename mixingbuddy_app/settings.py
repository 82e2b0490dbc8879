"""Settings (QSettings): advisor, checkpoint, base weights, device, precision, folders, recent sessions.

The dialog validates the LLM settings with a "Test load" button that builds the advisor on the
AdvisorWorker thread and reports what is missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QVBoxLayout, QWidget)

ORG = "MixingBuddyProject"   # not "Mixing Buddy": another app keeps its data in ~/.mixing-buddy
APP = "mixingbuddy"
DEVICES = ("auto", "cuda", "cpu")
PRECISIONS = ("nf4", "bf16", "fp32")
ADVISORS = ("auto", "balance", "llm")
ADVISOR_HELP = {
    "auto": "The LLM advisor when a checkpoint is set and loads; otherwise the measured advisor.",
    "balance": "The measured advisor: BS.1770 loudness of each role against a reference balance profile. "
               "Needs no model and no GPU; a critique takes seconds.",
    "llm": "A trained checkpoint listens to the mix (needs its weights; a GPU is much faster). If it cannot "
           "load, the measured advisor stands in and a banner says why.",
}
MAX_RECENT = 8


@dataclass
class AdvisorSettings:
    advisor: str = "auto"          # auto: the LLM when a checkpoint is configured, else balance
    checkpoint: str = ""
    llm_base: str = ""             # local folder or hub id
    encoder_base: str = ""
    device: str = "auto"
    precision: str = "nf4"
    profile: str = ""              # the measured advisor's balance profile (name or file; "" = the default)

    def llm_options(self) -> dict:
        opts = {"checkpoint": self.checkpoint, "device": self.device}
        if self.llm_base:
            opts["llm"] = self.llm_base
        if self.encoder_base:
            opts["mert"] = self.encoder_base
        if self.precision and self.precision != "nf4":
            opts["precision"] = self.precision
        return opts

    def wants_llm(self) -> bool:
        if self.advisor == "balance":
            return False
        return self.advisor == "llm" or bool(self.checkpoint)


class AppSettings:
    """Typed access to QSettings (a custom ``QSettings`` instance can be passed in tests)."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings or QSettings(ORG, APP)

    def advisor(self) -> AdvisorSettings:
        q = self.q
        s = AdvisorSettings(
            advisor=str(q.value("advisor/kind", "auto")),
            checkpoint=str(q.value("advisor/checkpoint", "") or os.environ.get("MIXINGBUDDY_CHECKPOINT", "")),
            llm_base=str(q.value("advisor/llm_base", "")),
            encoder_base=str(q.value("advisor/encoder_base", "")),
            device=str(q.value("advisor/device", "auto")),
            precision=str(q.value("advisor/precision", "nf4")),
            profile=str(q.value("advisor/profile", "") or ""),
        )
        if s.advisor not in ADVISORS:
            s.advisor = "auto"
        if s.device not in DEVICES:
            s.device = "auto"
        if s.precision not in PRECISIONS:
            s.precision = "nf4"
        return s

    def set_advisor(self, s: AdvisorSettings) -> None:
        for key, value in (("kind", s.advisor), ("checkpoint", s.checkpoint), ("llm_base", s.llm_base),
                           ("encoder_base", s.encoder_base), ("device", s.device), ("precision", s.precision),
                           ("profile", s.profile)):
            self.q.setValue(f"advisor/{key}", value)
        self.q.sync()

    def set_profile(self, name: str) -> None:
        """Remember the balance profile the measured advisor uses."""
        self.q.setValue("advisor/profile", name)
        self.q.sync()

    def last_folder(self) -> str:
        return str(self.q.value("paths/last_folder", str(Path.home())))

    def set_last_folder(self, folder: str) -> None:
        self.q.setValue("paths/last_folder", folder)

    def recent_sessions(self) -> list[str]:
        v = self.q.value("sessions/recent", [])
        if isinstance(v, str):
            v = [v]
        return [str(x) for x in (v or []) if x]

    def add_recent_session(self, path: str) -> list[str]:
        path = str(Path(path).resolve())
        items = [p for p in self.recent_sessions() if p != path]
        items.insert(0, path)
        items = items[:MAX_RECENT]
        self.q.setValue("sessions/recent", items)
        return items

    def geometry(self):
        return self.q.value("window/geometry")

    def set_geometry(self, data) -> None:
        self.q.setValue("window/geometry", data)


class SettingsDialog(QDialog):
    """Advisor settings with a Test load button (runs on the advisor worker)."""

    def __init__(self, settings: AppSettings, worker=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("MixingBuddy settings")
        self.settings = settings
        self.worker = worker
        s = settings.advisor()
        form = QFormLayout()
        self.setMinimumWidth(760)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.advisor = QComboBox()
        for i, name in enumerate(ADVISORS):
            self.advisor.addItem(name)
            self.advisor.setItemData(i, ADVISOR_HELP[name], Qt.ItemDataRole.ToolTipRole)
        self.advisor.setCurrentText(s.advisor)
        self.advisor.setToolTip("\n".join(f"{k}: {v}" for k, v in ADVISOR_HELP.items()))
        form.addRow("Advisor", self.advisor)
        self.advisor_help = QLabel(ADVISOR_HELP.get(s.advisor, ""))
        self.advisor_help.setObjectName("advisorHelp")
        self.advisor_help.setWordWrap(True)
        self.advisor.currentTextChanged.connect(lambda name: self.advisor_help.setText(ADVISOR_HELP.get(name, "")))
        form.addRow("", self.advisor_help)
        self.checkpoint = QLineEdit(s.checkpoint)
        self.checkpoint.setPlaceholderText("a trained checkpoint folder (only for the LLM advisor)")
        form.addRow("Checkpoint folder", self._with_browse(self.checkpoint))
        self.llm_base = QLineEdit(s.llm_base)
        self.llm_base.setPlaceholderText("Qwen/Qwen2-7B-Instruct or a local folder (default: from the manifest)")
        form.addRow("LLM base weights", self._with_browse(self.llm_base))
        self.encoder_base = QLineEdit(s.encoder_base)
        self.encoder_base.setPlaceholderText("m-a-p/MERT-v1-330M or a local folder (default: from the manifest)")
        form.addRow("Audio encoder weights", self._with_browse(self.encoder_base))
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(s.device)
        self.device.setToolTip("Where the LLM advisor runs: auto picks the GPU (CUDA) when there is one")
        form.addRow("Device", self.device)
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setCurrentText(s.precision)
        self.precision.setToolTip("LLM weights precision: nf4 (4-bit, least GPU memory), bf16 (GPU), fp32 (CPU)")
        form.addRow("Precision", self.precision)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.test_button = QPushButton("Test load")
        self.test_button.setToolTip("Build the LLM advisor with these settings on the worker thread")
        self.test_button.clicked.connect(self.test_load)
        self.test_result = QLabel("")
        self.test_result.setWordWrap(True)
        row.addWidget(self.test_button)
        row.addWidget(self.test_result, 1)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        if worker is not None:
            worker.test_load_done.connect(self._on_test_done)
        else:
            self.test_button.setEnabled(False)

    def _with_browse(self, edit: QLineEdit) -> QWidget:
        edit.setMinimumWidth(460)    # the placeholders and paths stay readable
        edit.setToolTip(edit.placeholderText())
        w = QWidget()
        h = QHBoxLayout(w)
        h.setContentsMargins(0, 0, 0, 0)
        h.addWidget(edit, 1)
        b = QPushButton("…")
        b.setFixedWidth(28)
        b.clicked.connect(lambda: self._browse(edit))
        h.addWidget(b)
        return w

    def _browse(self, edit: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)

    def values(self) -> AdvisorSettings:
        return AdvisorSettings(self.advisor.currentText(), self.checkpoint.text().strip(), self.llm_base.text().strip(),
                               self.encoder_base.text().strip(), self.device.currentText(),
                               self.precision.currentText(), self.settings.advisor().profile)

    def test_load(self) -> None:
        from model.errors import MissingExtra
        from model.extras import require_extra

        v = self.values()
        try:
            require_extra("llm", "The LLM advisor")
        except MissingExtra as exc:
            self.test_result.setText(f"Not usable: {exc}")
            return
        if not v.checkpoint:
            self.test_result.setText("Missing: a checkpoint folder (manifest.json, projector.safetensors, adapter/).")
            return
        self.test_button.setEnabled(False)
        self.test_result.setText("Loading… (this can take minutes on a CPU)")
        self.worker.test_load(v.llm_options())

    def _on_test_done(self, result: dict) -> None:
        self.test_button.setEnabled(True)
        prefix = "OK: " if result.get("ok") else "Not usable: "
        self.test_result.setText(prefix + str(result.get("message", "")))
        self.test_result.setToolTip(str(result.get("detail", "")))

    def accept(self) -> None:
        self.settings.set_advisor(self.values())
        super().accept()

    def done(self, r: int) -> None:
        if self.worker is not None:
            try:
                self.worker.test_load_done.disconnect(self._on_test_done)
            except (RuntimeError, TypeError):
                pass
        super().done(r)
