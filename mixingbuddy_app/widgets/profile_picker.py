"""The balance-profile picker (shipped and user profiles) and the "Learn a profile from my mixes…" dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QListView, QListWidget, QProgressBar, QPushButton, QTreeView, QVBoxLayout,
                               QWidget)

from model.advice.profiles import MIN_SONGS, list_profiles, user_profile_dir
from model.audio.tracks import song_folders

from mixingbuddy_app.profile_flow import distinct_folders, learn_refusal
from mixingbuddy_app.session_file import SESSION_FILTER

LEARN_TEXT = "Learn a profile from my mixes…"


class ProfilePicker(QWidget):
    """A combo of the shipped and user profiles (the chosen one judges the next critique) and a Learn… button."""

    def __init__(self, controller, learn=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        h = QHBoxLayout(self)
        h.setContentsMargins(0, 2, 0, 2)
        label = QLabel("Profile")
        label.setToolTip("What a balanced mix sounds like: the typical loudness of each role against the anchor")
        self.combo = QComboBox()
        self.combo.setObjectName("profileCombo")
        self.combo.setToolTip("The balance profile the measured advisor judges against (from the next critique on)")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.activated.connect(lambda i: self.controller.set_profile(self.combo.itemData(i)))
        self.learn_button = QPushButton("Learn…")
        self.learn_button.setToolTip(LEARN_TEXT.rstrip("…") + ": fit a profile from finished songs (one folder of "
                                     "stems per song)")
        if learn is not None:
            self.learn_button.clicked.connect(learn)
        h.addWidget(label)
        h.addWidget(self.combo, 1)
        h.addWidget(self.learn_button)
        controller.profile_changed.connect(self._select)
        controller.profiles_changed.connect(self.refresh)
        controller.learning_changed.connect(lambda running, _what: self.learn_button.setEnabled(not running))
        self.refresh()

    def refresh(self) -> None:
        """List the profiles found now (shipped first), keeping the controller's choice selected."""
        self.combo.blockSignals(True)
        self.combo.clear()
        for entry in list_profiles():
            self.combo.addItem(entry.name + (" (yours)" if entry.source == "user" else ""), entry.name)
            self.combo.setItemData(self.combo.count() - 1, entry.description or str(entry.path),
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.blockSignals(False)
        self._select(self.controller.profile_name)

    def names(self) -> list[str]:
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def _select(self, name: str) -> None:
        i = self.combo.findData(name)
        if i < 0 and any(e.name == name for e in list_profiles()):   # a profile added since the list was made
            self.refresh()
            return
        if i >= 0 and i != self.combo.currentIndex():
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(i)
            self.combo.blockSignals(False)


class LearnProfileDialog(QDialog):
    """Song folders (add several at once or one by one), a name and a description; Learn runs the fit on a worker
    with progress and Cancel; the dialog closes when the new profile is saved and selected."""

    def __init__(self, controller, start_folder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.start_folder = start_folder or str(Path.home())
        self.setWindowTitle(LEARN_TEXT.rstrip("…"))
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        intro = QLabel(f"Choose at least {MIN_SONGS} finished songs you like the balance of, one folder of exported "
                       "stems per song, or a session saved here (then with its gains and mutes). Each song is "
                       "measured whole; the profile keeps the typical loudness of each "
                       f"role against the anchor and how far your songs disagree. It is saved in {user_profile_dir()}.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.folders = QListWidget()
        self.folders.setObjectName("songFolders")
        self.folders.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        layout.addWidget(self.folders, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add song folders…")
        self.add_button.setToolTip("Select one or more folders (Ctrl/Shift-click selects several)")
        self.add_button.clicked.connect(self.choose_folders)
        self.add_sessions_button = QPushButton("Add sessions…")
        self.add_sessions_button.setToolTip("Sessions saved by MixingBuddy: each song is learned with its gains, "
                                            "mutes and the roles you set")
        self.add_sessions_button.clicked.connect(self.choose_sessions)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_selected)
        row.addWidget(self.add_button)
        row.addWidget(self.add_sessions_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. my-house-mixes")
        self.description = QLineEdit()
        self.description.setPlaceholderText("what kind of music these songs are (optional)")
        form.addRow("Name", self.name)
        form.addRow("Description", self.description)
        layout.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.message = QLabel("")
        self.message.setObjectName("learnMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.requirement = QLabel("")   # why Learn is disabled, beside it
        self.requirement.setObjectName("learnRequirement")
        self.requirement.setWordWrap(True)
        policy = self.requirement.sizePolicy()
        policy.setRetainSizeWhenHidden(True)   # hidden, it still keeps the buttons on the right
        self.requirement.setSizePolicy(policy)
        buttons.addWidget(self.requirement, 1)
        self.learn_button = QPushButton("Learn")
        self.learn_button.setDefault(True)
        self.learn_button.clicked.connect(self.learn)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.learn_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        controller.learning_changed.connect(self._on_learning)
        controller.learn_progress.connect(self._on_progress)
        controller.profile_learned.connect(self._on_learned)
        controller.error.connect(self._on_error)
        self._running = False
        self._check_folders()

    # --- folders ------------------------------------------------------------------------
    def add_folders(self, folders) -> None:
        known = self.song_folders()
        # a folder that holds the songs' folders stands for them
        for folder in distinct_folders(known + [str(Path(f)) for f in song_folders(folders)])[len(known):]:
            self.folders.addItem(folder)
        self._check_folders()

    def song_folders(self) -> list[str]:
        return [self.folders.item(i).text() for i in range(self.folders.count())]

    def choose_folders(self) -> None:
        """A folder dialog that selects several folders at once (Qt's own dialog: native ones pick one)."""
        dlg = QFileDialog(self, "Song folders (one per song)", self.start_folder)
        dlg.setFileMode(QFileDialog.FileMode.Directory)
        dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dlg.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        for view in dlg.findChildren((QListView, QTreeView)):
            view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        if dlg.exec():
            chosen = dlg.selectedFiles()
            self.add_folders(chosen)
            if chosen:
                self.start_folder = str(Path(chosen[0]).parent)

    def choose_sessions(self) -> None:
        chosen, _ = QFileDialog.getOpenFileNames(self, "Saved sessions (one per song)", self.start_folder,
                                                 SESSION_FILTER)
        self.add_folders(chosen)
        if chosen:
            self.start_folder = str(Path(chosen[0]).parent)

    def _remove_selected(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))
        self._check_folders()

    def _check_folders(self) -> None:
        """Learn is enabled only for folders the controller would accept; otherwise the reason shows beside it."""
        why = learn_refusal(self.song_folders())
        self.learn_button.setEnabled(not why and not self._running)
        self.learn_button.setToolTip(why)
        self.requirement.setText(why)
        self.requirement.setVisible(bool(why))

    # --- learning -------------------------------------------------------------------------
    def learn(self) -> None:
        self.message.setText("")
        self.controller.learn_profile(self.song_folders(), self.name.text(), self.description.text().strip())

    def cancel(self) -> None:
        """Cancel the fit when one runs (the dialog stays open), else close."""
        if self._running:
            self.controller.cancel_learning()
            self.message.setText("Cancelling after the song being measured…")
        else:
            self.reject()

    def _on_learning(self, running: bool, what: str) -> None:
        self._running = running
        for w in (self.add_button, self.remove_button, self.name, self.description):
            w.setEnabled(not running)
        self._check_folders()
        self.progress.setVisible(running)
        if running:
            self.progress.setValue(0)
        self.message.setText(what)

    def _on_progress(self, frac: float, msg: str) -> None:
        self.progress.setValue(int(frac * 100))
        self.message.setText(msg)

    def _on_error(self, report) -> None:
        if report.title == "Learn a profile":   # bad input, or the fit failed: said here as well as in the banner
            self.message.setText(f"Could not learn the profile: {report.message}")

    def _on_learned(self, name: str) -> None:
        if name == self.name.text().strip():
            self.accept()   # saved and selected

    def done(self, r: int) -> None:
        for signal, slot in ((self.controller.learning_changed, self._on_learning),
                             (self.controller.learn_progress, self._on_progress),
                             (self.controller.profile_learned, self._on_learned),
                             (self.controller.error, self._on_error)):
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):
                pass
        super().done(r)
