"""The main window: menus, toolbar, drag and drop, banners, status bar; lays out the other widgets."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, QSplitter, QTabWidget,
                               QToolBar, QVBoxLayout, QWidget)

from model.audio.decode import AUDIO_EXTENSIONS

from mixingbuddy_app.errors import BannerArea, ErrorReport
from mixingbuddy_app.session_file import SESSION_FILTER, is_session_path
from mixingbuddy_app.settings import AppSettings, SettingsDialog
from mixingbuddy_app.workers import balance_factory
from mixingbuddy_app.widgets.advice_panel import AdvicePanel
from mixingbuddy_app.widgets.gain_plot import GainPlot
from mixingbuddy_app.widgets.overview import MixOverview
from mixingbuddy_app.widgets.profile_picker import LEARN_TEXT, LearnProfileDialog, ProfilePicker
from mixingbuddy_app.widgets.spectral_views import MaskingView, TonalView
from mixingbuddy_app.widgets.status_bar import MessageBar
from mixingbuddy_app.widgets.track_table import RolePanel, TrackTable
from mixingbuddy_app.widgets.transport import Transport

ADVICE_KEEP_H = 270   # a Masking or Tonal view grows the chart area fully only when the advice keeps this much
PROGRESS_WIDEST = "Measuring loudness: window 888 of 888"   # the progress bar's longest usual step
AUDIO_FILTER = "Audio files (" + " ".join(f"*{e}" for e in sorted(AUDIO_EXTENSIONS)) + ");;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self, controller, settings: AppSettings | None = None, advisor_factory_builder=None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings = settings or AppSettings()
        self.advisor_factory_builder = advisor_factory_builder
        self.setWindowTitle("MixingBuddy")
        # no fixed minimum size: the layouts' own (about 1020 x 600) keeps every column and control in the window
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self._closing = False
        self._loading_message = ""   # the status line a running load shows (cleared when it ends)

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.banners = BannerArea()
        outer.addWidget(self.banners)
        self.overview = MixOverview(controller)
        self.transport = Transport(controller, self.overview)
        self.table = TrackTable(controller)
        self.roles = RolePanel(controller)
        self.gain_plot = GainPlot(controller)
        self.advice = AdvicePanel(controller)
        self.profile_picker = ProfilePicker(controller, self.learn_profile)
        self.roles.add_footer(self.profile_picker)
        self.masking_view = MaskingView(controller)
        self.tonal_view = TonalView(controller)
        self.chart_tabs = QTabWidget()
        self.chart_tabs.setObjectName("chartTabs")
        self.chart_tabs.addTab(self.gain_plot, "Balance")
        self.chart_tabs.addTab(self.masking_view, "Masking")
        self.chart_tabs.addTab(self.tonal_view, "Tonal")
        self.chart_tabs.setTabToolTip(1, "Where one role covers another, in time and frequency (analysed when opened)")
        self.chart_tabs.setTabToolTip(2, "Each role's tonal shape against the profile's typical band")

        top = QWidget()
        tv = QVBoxLayout(top)
        tv.setContentsMargins(6, 4, 6, 0)
        tv.setSpacing(2)
        tv.addWidget(self.overview, 1)
        tv.addWidget(self.transport)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(6, 0, 0, 6)
        lv.addWidget(self.table, 1)
        lv.addWidget(self.roles)
        right = QSplitter(Qt.Orientation.Vertical)
        right.setContentsMargins(0, 0, 6, 6)
        right.setChildrenCollapsible(False)
        right.addWidget(self.chart_tabs)
        right.addWidget(self.advice)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 3)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.setChildrenCollapsible(False)
        bottom.addWidget(left)
        bottom.addWidget(right)
        bottom.setStretchFactor(0, 3)
        bottom.setStretchFactor(1, 2)
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.setChildrenCollapsible(False)
        vsplit.addWidget(top)
        vsplit.addWidget(bottom)
        vsplit.setStretchFactor(0, 1)
        vsplit.setStretchFactor(1, 3)
        vsplit.setSizes([170, 650])    # the overview needs little height; the table and the advice need it all
        bottom.setSizes([760, 520])
        right.setSizes([400, 600])     # the advice (headline, suggestions, Apply, re-check) before the chart
        self.splitters = (vsplit, bottom, right)
        self.controller.recheck_done.connect(lambda *_a: self._reveal_advice(self.advice.recheck))
        self.controller.advice_changed.connect(lambda _a: self._unfold_advice())
        self._sizes_before_view: tuple[list[int], list[int]] | None = None   # (before, after) a view grew
        self.chart_tabs.currentChanged.connect(lambda _i: self._fit_chart_to_view())
        # the plots a view draws are known once its analysis is shown (the view's slot runs first)
        controller.spectral_changed.connect(lambda _a: QTimer.singleShot(0, self._fit_chart_to_view))
        outer.addWidget(vsplit, 1)
        self.setCentralWidget(central)

        self._build_actions()
        self._build_menus()
        self._build_status()
        self._connect()
        if not controller.set_profile(self.settings.advisor().profile):   # gone since: the default, and a banner
            self._on_profile_changed(controller.profile_name)
        self.update_actions()
        if not controller.output.available:
            self.banners.show_report(ErrorReport("Preview unavailable", controller.output.reason +
                                                 ". Critique, Apply and sessions work; you just cannot listen here.",
                                                 "", "warning"))
        geometry = self.settings.geometry()
        if geometry is not None:
            try:
                self.restoreGeometry(geometry)
            except (TypeError, ValueError):
                pass

    # --- construction ----------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut:
            a.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        c = self.controller
        K = QKeySequence
        self.new_action = self._action("&New session", self.new_session, K(K.StandardKey.New),
                                       "Close the tracks and start an empty session")
        self.open_action = self._action("&Open files…", self.open_files, K(K.StandardKey.Open),
                                        "Open audio files (replaces the current tracks)")
        self.open_action.setIconText("Open")
        self.add_action = self._action("&Add files…", self.add_files, K("Ctrl+Shift+O"), "Add audio files")
        self.add_folder_action = self._action("Add &folder…", self.add_folder, K("Ctrl+Shift+F"),
                                              "Add every audio file of a folder (e.g. a DAW export folder)")
        self.add_folder_action.setIconText("Add folder")
        self.open_session_action = self._action("Open &session…", self.open_session_dialog, K("Ctrl+Alt+O"))
        self.save_action = self._action("&Save session", self.save_session, K(K.StandardKey.Save))
        self.save_as_action = self._action("Save session &as…", self.save_session_as, K("Ctrl+Shift+S"))
        self.export_md_action = self._action("Export critique as &Markdown…", lambda: self.export("md"))
        self.export_json_action = self._action("Export critique as &JSON…", lambda: self.export("json"))
        self.export_csv_action = self._action("Export gain changes as &CSV…", lambda: self.export("csv"))
        self.settings_action = self._action("Se&ttings…", self.open_settings, K("Ctrl+,"),
                                            "Advisor (measured or LLM), checkpoint, device")
        self.settings_action.setIconText("Settings")
        self.quit_action = self._action("&Quit", self.close, K(K.StandardKey.Quit))
        self.critique_action = self._action("&Critique", lambda: c.critique(), [K("Ctrl+Return"), K("F5")],
                                            "Critique the balance of the span (Ctrl+Return)")
        self.cancel_action = self._action("Cancel", c.cancel, K("Esc"), "Cancel the running critique or load (Esc)")
        self.apply_action = self._action("&Apply", lambda: c.apply(), K("Ctrl+Shift+A"),
                                         "Move the suggested role's gain by the suggested change (Ctrl+Shift+A)")
        self.apply_all_action = self._action("Apply a&ll suggestions", lambda: c.apply_all(), None,
                                             "Apply every suggestion of the critique as one undoable step")
        self.ab_action = self._action("A/B", lambda: c.toggle_ab(), K("B"),
                                      "Switch between before and after the change, at matched loudness (B)")
        self.ab_action.setCheckable(True)
        self.recheck_action = self._action("&Re-check", lambda: c.recheck(), K("Ctrl+Shift+Return"),
                                           "Critique the corrected mix and say whether the issue is resolved")
        self.remove_action = self._action("Re&move selected tracks", self.remove_selected, K(K.StandardKey.Delete),
                                          "Remove the selected tracks from the session (Del)")
        self.balance_action = self._action("Use the &measured advisor", c.use_balance_advisor, None,
                                           "Critique with the BalanceAdvisor (measured loudness; no model needed)")
        self.learn_action = self._action(LEARN_TEXT, self.learn_profile, None,
                                         "Fit a balance profile from your finished songs (one folder of stems each)")
        self.masking_action = self._action("&Masking view", lambda: self.chart_tabs.setCurrentWidget(
            self.masking_view), K("Ctrl+M"), "Where one role covers another (analysed when opened)")
        self.tonal_action = self._action("&Tonal view", lambda: self.chart_tabs.setCurrentWidget(self.tonal_view),
                                         K("Ctrl+T"), "Each role's tonal shape against the profile")
        self.undo_action = self._action("&Undo", c.undo, K(K.StandardKey.Undo))
        self.undo_action.setIconText("Undo")
        self.redo_action = self._action("&Redo", c.redo, K(K.StandardKey.Redo))
        self.redo_action.setIconText("Redo")
        self.play_action = self._action("Play / Pause", c.toggle_play, K("Space"), "Play / pause (Space)")
        self.stop_action = self._action("Stop", c.stop, K("Ctrl+."))

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        for a in (self.new_action, self.open_action, self.add_action, self.add_folder_action):
            f.addAction(a)
        f.addSeparator()
        f.addAction(self.open_session_action)
        self.recent_menu = f.addMenu("Recent sessions")
        f.addAction(self.save_action)
        f.addAction(self.save_as_action)
        f.addSeparator()
        exp = f.addMenu("Export critique")
        for a in (self.export_md_action, self.export_json_action, self.export_csv_action):
            exp.addAction(a)
        f.addSeparator()
        f.addAction(self.settings_action)
        f.addAction(self.quit_action)
        e = mb.addMenu("&Edit")
        e.addAction(self.undo_action)
        e.addAction(self.redo_action)
        e.addSeparator()
        e.addAction(self.remove_action)
        m = self.mix_menu = mb.addMenu("&Mix")
        for a in (self.critique_action, self.cancel_action, self.apply_action, self.apply_all_action, self.ab_action,
                  self.recheck_action):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.balance_action)
        m.addAction(self.learn_action)
        m.addSeparator()
        m.addAction(self.masking_action)
        m.addAction(self.tonal_action)
        p = mb.addMenu("&Playback")
        p.addAction(self.play_action)
        p.addAction(self.stop_action)
        tb = QToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for a in (self.open_action, self.add_folder_action, None, self.critique_action, self.cancel_action,
                  self.apply_action, self.ab_action, self.recheck_action, None, self.undo_action, self.redo_action,
                  None, self.settings_action):
            tb.addSeparator() if a is None else tb.addAction(a)
        for w in tb.findChildren(QWidget):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.addToolBar(tb)
        self.toolbar = tb
        self._rebuild_recent()

    def _build_status(self) -> None:
        sb = MessageBar()
        self.setStatusBar(sb)
        self.progress = QProgressBar()
        # wide enough for the longest step it names, which a narrower bar cuts at both ends
        self.progress.setFixedWidth(self.progress.fontMetrics().horizontalAdvance(PROGRESS_WIDEST) + 24)
        self.progress.setRange(0, 100)
        self.progress.setVisible(False)
        self.advisor_label = QLabel(self._advisor_hint())
        self.advisor_label.setObjectName("advisorLabel")
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.advisor_label)

    def _advisor_hint(self) -> str:
        s = self.settings.advisor()
        if s.wants_llm():
            return f"Advisor: LLM from {Path(s.checkpoint).name or '?'} (loads at the first critique)"
        return "Advisor: balance (measured; no LLM checkpoint configured)"

    def _connect(self) -> None:
        c = self.controller
        c.error.connect(self.banners.show_report)
        c.status.connect(lambda m: self.statusBar().showMessage(m, 15000))
        c.busy_changed.connect(self._on_busy)
        c.loading_changed.connect(self._on_loading)
        c.progress.connect(lambda f, m: (self.progress.setValue(int(f * 100)), self.progress.setFormat(m[:40])))
        c.advice_changed.connect(lambda _a: self.update_actions())
        c.tracks_changed.connect(self.update_actions)
        c.gains_changed.connect(self.update_actions)
        c.region_changed.connect(lambda _span: self.update_actions())   # a critique judged its span only
        c.ab_changed.connect(lambda s: (self.ab_action.setChecked(s == "before"), self.update_actions()))
        c.apply_done.connect(lambda _r: self.update_actions())
        c.advisor_changed.connect(self.advisor_label.setText)
        c.files_missing.connect(self._locate_missing)
        c.session_changed.connect(self._on_session_changed)
        c.profile_changed.connect(self._on_profile_changed)
        c.profile_changed.connect(lambda _name: self.update_actions())   # a critique judged with its profile
        c.anchor_changed.connect(lambda _anchor: self.update_actions())   # … and against its anchor
        c.critique_succeeded.connect(self._clear_failed_critique_banners)

    # --- state ---------------------------------------------------------------------------
    @staticmethod
    def _enable(action: QAction, why_not: str) -> None:
        """Enable ``action`` when ``why_not`` is empty; otherwise disable it and say why in its tooltip."""
        base = action.property("base_tip")
        if base is None:
            base = action.toolTip()
            action.setProperty("base_tip", base)
        action.setEnabled(not why_not)
        action.setToolTip(base if not why_not else f"{base}\nUnavailable: {why_not}")

    def update_actions(self) -> None:
        c = self.controller
        p = c.project
        has_tracks = bool(p.tracks and p.tracks.tracks)
        busy = c.busy
        no_tracks = "" if has_tracks else "load stems first"
        self._enable(self.critique_action, no_tracks or ("a critique is running" if busy else "") or
                     ("" if p.anchor is not None else "no vocals, drums or bass track to use as the anchor"))
        self._enable(self.cancel_action, "" if busy or c.loading else "nothing is running")
        no_advice = "" if p.advice is not None else "critique first"
        not_applicable = c.advice_out_of_date() or ("a critique is running" if busy else "applied")
        self._enable(self.apply_action, no_advice or ("" if c.can_apply() else not_applicable))
        self._enable(self.apply_all_action, no_advice or ("" if c.applicable_roles() and not busy else
                                                          not_applicable))
        self._enable(self.ab_action, "" if c.can_ab() else "apply a suggestion first")
        self._enable(self.recheck_action, no_tracks or ("a critique is running" if busy else "") or
                     ("" if p.applied_advice is not None else "apply a suggestion first"))
        self._enable(self.undo_action, "" if p.can_undo() else "nothing to undo")
        self._enable(self.redo_action, "" if p.can_redo() else "nothing to redo")
        self.undo_action.setText(" ".join(filter(None, ("&Undo", p.undo_label()))))
        self.redo_action.setText(" ".join(filter(None, ("&Redo", p.redo_label()))))
        for a in (self.export_md_action, self.export_json_action, self.export_csv_action):
            self._enable(a, no_advice)
        self._enable(self.remove_action, no_tracks)
        self._enable(self.save_action, no_tracks)
        self._enable(self.save_as_action, no_tracks)
        no_output = "" if c.output.available else f"no audio output ({c.output.reason})"
        self._enable(self.play_action, no_output or no_tracks)
        self._enable(self.stop_action, no_output or no_tracks)
        self._update_title()

    def _update_title(self) -> None:
        """The session's name once; the platform adds " — MixingBuddy" (the application's display name)."""
        name = self.controller.session_name()
        self.setWindowTitle(f"{name}[*]" if name else "MixingBuddy")
        self.setWindowModified(bool(name) and self.controller.project.dirty)

    def _on_busy(self, busy: bool, what: str) -> None:
        if busy:
            self._reset_progress(what)
        self.progress.setVisible(busy or self.controller.loading)
        self.update_actions()

    def _reset_progress(self, what: str) -> None:
        # before the bar shows: a visible QProgressBar repaints at once on setValue (10-25 ms on the GUI thread)
        self.progress.setValue(0)
        self.progress.setFormat(what)

    def _on_loading(self, loading: bool, what: str) -> None:
        sb = self.statusBar()
        if loading:
            self._reset_progress(what)
            sb.showMessage(what)
            self._loading_message = what
        elif sb.currentMessage() and sb.currentMessage() == self._loading_message:
            sb.clearMessage()   # never left saying "Loading…" (the load's own outcome follows, when it has one)
        self.progress.setVisible(loading or self.controller.busy)
        self.update_actions()

    # --- layout of the right side: the advice first, the chart as tall as its view needs -----------------
    def _reveal_advice(self, widget: QWidget) -> None:
        """Scroll the advice so a result line that just appeared shows (after the panel laid it out)."""
        self._unfold_advice()
        QTimer.singleShot(0, lambda: widget.isVisible() and self.advice.scroll.ensureWidgetVisible(widget, 0, 4))

    def _unfold_advice(self) -> None:
        """A critique or re-check came in while a view folded the advice away: show it, with its chart."""
        if self.splitters[2].sizes()[1] == 0:
            self.chart_tabs.setCurrentWidget(self.gain_plot)

    def _fit_chart_to_view(self) -> None:
        """Opening the Masking or Tonal view in a short chart area makes the area as tall as the view needs to be
        readable (the advice below scrolls); a window too short for that and the advice's least height folds the
        advice away (the status bar keeps its headline, the toolbar its actions, the splitter handle opens it).
        Going back to the Balance chart gives the advice its height back unless the user moved the splitter in
        between."""
        right = self.splitters[2]
        page = self.chart_tabs.currentWidget()
        sizes = right.sizes()
        if not hasattr(page, "comfortable_height"):
            if self._sizes_before_view is not None:
                before, after = self._sizes_before_view
                self._sizes_before_view = None
                if sizes == after or sizes[1] == 0:
                    right.setSizes(before)
            right.setCollapsible(1, False)
            return
        total = sum(sizes)
        chrome = self.chart_tabs.tabBar().sizeHint().height() + 6   # the tab bar and the frame
        # the whole drawing when the advice keeps ADVICE_KEEP_H; else what is readable (the advice scrolls, or folds)
        full = page.comfortable_height(full=True) + chrome
        readable = page.comfortable_height() + chrome
        if total - full >= ADVICE_KEEP_H:
            top = full
        else:
            top = readable if total - readable >= self.advice.minimumSizeHint().height() else total
        if total <= 0 or top <= sizes[0]:
            return
        before = self._sizes_before_view[0] if self._sizes_before_view is not None else sizes
        right.setCollapsible(1, top == total)     # only a view folds the advice (a drag never does)
        right.setSizes([top, total - top])
        self._sizes_before_view = (before, right.sizes())

    def _clear_failed_critique_banners(self, reports: list) -> None:
        """A critique succeeded: the banners of the critiques that failed before it are out of date (banners of
        other problems, such as files that did not load, stay)."""
        self.banners.clear_where(lambda report: report in reports)

    def _on_session_changed(self, path: str) -> None:
        self._update_title()
        if path:
            self.settings.add_recent_session(path)
            self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        items = self.settings.recent_sessions()
        for path in items:
            a = self.recent_menu.addAction(Path(path).name)
            a.setToolTip(path)
            a.triggered.connect(lambda _=False, p=path: self.confirm_discard("open another session")
                                and self.controller.open_session(p))
        self.recent_menu.setEnabled(bool(items))

    # --- files -----------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt)
        md = event.mimeData()
        if md.hasUrls() and any(u.isLocalFile() for u in md.urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        event.acceptProposedAction()
        self.open_paths(paths)

    def open_paths(self, paths: list[str], replace: bool = False) -> None:
        """Files and folders: sessions are opened, audio is added."""
        sessions = [p for p in paths if is_session_path(p)]
        audio = [p for p in paths if not is_session_path(p)]
        if (sessions or replace) and not self.confirm_discard("open other files"):
            return
        if sessions:
            self.controller.open_session(sessions[0])
        if audio:
            self.controller.add_paths(audio, replace=replace)

    def remove_selected(self) -> None:
        ids = self.table.selected_track_ids()
        if ids:
            self.controller.remove_tracks(ids)
        else:
            self.statusBar().showMessage("Select the tracks to remove in the track list first.", 5000)

    def open_files(self) -> None:
        if not self.confirm_discard("open other files"):
            return
        files, _ = QFileDialog.getOpenFileNames(self, "Open audio files", self.settings.last_folder(), AUDIO_FILTER)
        if files:
            self.settings.set_last_folder(str(Path(files[0]).parent))
            self.controller.add_paths(files, replace=True)

    def add_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add audio files", self.settings.last_folder(), AUDIO_FILTER)
        if files:
            self.settings.set_last_folder(str(Path(files[0]).parent))
            self.controller.add_paths(files)

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of stems", self.settings.last_folder())
        if folder:
            self.settings.set_last_folder(folder)
            self.add_folder_path(folder)

    def add_folder_path(self, folder: str) -> None:
        """Add a folder's stems; with a session open, ask first whether they join it or start a new one."""
        p = self.controller.project
        answer = self.ask_add_or_new(Path(folder).name) if p.tracks and p.tracks.tracks else "add"
        if answer == "new":
            if not self.confirm_discard("start a new session"):
                return
            self.controller.new_session()
        elif answer != "add":
            return
        self.controller.add_paths([folder], replace=answer == "new")

    def ask_add_or_new(self, folder_name: str) -> str:
        """Ask whether a folder's files join the open session: "add", "new" or "cancel" (tests replace this)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Add folder",
                          f"A session is open. Add the files of “{folder_name}” to it, or open them as a new "
                          "session?", parent=self)
        add = box.addButton("Add to this session", QMessageBox.ButtonRole.AcceptRole)
        new = box.addButton("New session", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(add)
        box.exec()
        clicked = box.clickedButton()
        return "add" if clicked is add else "new" if clicked is new else "cancel"

    def new_session(self) -> None:
        if self.confirm_discard("start a new session"):
            self.controller.new_session()

    def open_session_dialog(self) -> None:
        if not self.confirm_discard("open another session"):
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open session", self.settings.last_folder(), SESSION_FILTER)
        if path:
            self.controller.open_session(path)

    def save_session(self) -> bool:
        path = self.controller.project.session_path
        if path is None:
            return self.save_session_as()
        return self.controller.save_session(str(path))

    def save_session_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", self.start_path(".mbsession"), SESSION_FILTER)
        if not path:
            return False
        if not is_session_path(path):
            path += ".mbsession"
        return self.controller.save_session(path)

    def export(self, fmt: str) -> None:
        ext = {"md": "Markdown (*.md)", "json": "JSON (*.json)", "csv": "CSV (*.csv)"}[fmt]
        suffix = " gain changes.csv" if fmt == "csv" else f" critique.{fmt}"
        path, _ = QFileDialog.getSaveFileName(self, "Export critique", self.start_path(suffix), ext)
        if path:
            if not path.endswith("." + fmt):
                path += "." + fmt
            self.controller.export(path, fmt)

    def start_path(self, suffix: str) -> str:
        """Where a save or export dialog starts: beside the session's audio, named after the song."""
        path = self.controller.suggested_path(suffix)
        return str(path) if path is not None else self.settings.last_folder()

    def ask_unsaved(self, what: str) -> str:
        """Ask what to do with unsaved changes before ``what``: "save", "discard" or "cancel" (tests replace this)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved changes",
                          f"The session has changes that are not saved. Save them before you {what}?", parent=self)
        save = box.addButton(QMessageBox.StandardButton.Save)
        discard = box.addButton(QMessageBox.StandardButton.Discard)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(save)
        box.exec()
        clicked = box.clickedButton()
        return "save" if clicked is save else "discard" if clicked is discard else "cancel"

    def confirm_discard(self, what: str) -> bool:
        """True when the current session may be replaced or closed: nothing unsaved, saved now, or discarded."""
        p = self.controller.project
        if not (p.tracks and p.dirty):
            return True
        answer = self.ask_unsaved(what)
        if answer == "save":
            return self.save_session()
        return answer == "discard"

    def locate_file(self, missing: str) -> str | None:
        """Ask the user where a moved file is (tests replace this)."""
        box = QMessageBox(QMessageBox.Icon.Question, "File not found",
                          f"The session's file\n{missing}\nis missing or was moved.", parent=self)
        locate = box.addButton("Locate…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Skip (keep it in the session)", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        if box.clickedButton() is not locate:
            return None
        path, _ = QFileDialog.getOpenFileName(self, f"Locate {Path(missing).name}", str(Path(missing).parent),
                                              AUDIO_FILTER)
        return path or None

    def _locate_missing(self, missing: list[str]) -> None:
        for path in missing:
            self.controller.relocate(path, self.locate_file(path))
        self.controller.finish_relocation()

    def open_settings(self) -> None:
        dlg = SettingsDialog(self.settings, self.controller.worker, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.accepted.connect(self._settings_changed)
        dlg.open()

    def _settings_changed(self) -> None:
        self.advisor_label.setText(self._advisor_hint())
        if self.advisor_factory_builder is not None:
            self.controller.worker.set_factory(self.advisor_factory_builder(self.settings))

    # --- balance profiles ---------------------------------------------------------------------
    def learn_profile(self) -> None:
        """Open the "Learn a profile from my mixes…" dialog (fitting runs on a worker; Cancel stops it)."""
        dlg = LearnProfileDialog(self.controller, self.settings.last_folder(), self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.learn_dialog = dlg
        dlg.open()

    def _on_profile_changed(self, name: str) -> None:
        """Remember the profile and give the measured advisor the new one for the next critique."""
        self.settings.set_profile(name)
        c = self.controller
        if c.advisor_kind == "llm":   # the LLM does not use a profile: keep it loaded
            self.statusBar().showMessage(f"Profile {name}: the chart and the measured second opinion use it; the "
                                         "LLM advisor judges without a profile.", 15000)
        elif c.advisor_kind == "balance" and self.settings.advisor().wants_llm():
            c.worker.set_factory(partial(balance_factory, name))   # the measured advisor still stands in
        elif self.advisor_factory_builder is not None:
            c.worker.set_factory(self.advisor_factory_builder(self.settings))

    # --- shutdown ---------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802 (Qt)
        if not self._closing and not self.confirm_discard("quit"):
            event.ignore()
            return
        if not self._closing:
            self._closing = True
            try:
                self.settings.set_geometry(self.saveGeometry())
            except Exception:
                pass
            self.transport.timer.stop()
            self.controller.shutdown()
            self.controller.worker.shutdown()
        super().closeEvent(event)
