"""Track list (role, gain fader, mute, solo, meters) and the role panel (anchor selector, role faders)."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QBrush
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QGridLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QMenu, QRadioButton, QSlider, QTableWidget, QTableWidgetItem,
                               QToolButton, QWidget)

from model.audio.channels import layout_words
from model.audio.roles import ROLES, TARGET_ROLES

from mixingbuddy_app.project import GAIN_MAX_DB, GAIN_MIN_DB
from mixingbuddy_app.widgets.after_burst import AfterBurst

STEP = 10  # slider units per dB
BAND_COLOURS = {"ok": "#5fbf77", "off": "#e0b341", "far": "#e06c5a", "anchor": "#9fb3c8", "none": "#777777"}


class GainFader(QSlider):
    """A horizontal dB fader (−24..+12 dB, 0.1 dB steps); double-click resets to 0 dB."""

    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setRange(int(GAIN_MIN_DB * STEP), int(GAIN_MAX_DB * STEP))
        self.setSingleStep(STEP // 2)
        self.setPageStep(STEP * 3)
        self.setValue(0)
        self.setToolTip("Gain in dB (−24 to +12). Double-click resets to 0 dB.")
        self.setMinimumWidth(60)

    def db(self) -> float:
        return self.value() / STEP

    def set_db(self, db: float) -> None:
        self.blockSignals(True)
        self.setValue(int(round(db * STEP)))
        self.blockSignals(False)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.setValue(0)
        self.reset_requested.emit()
        event.accept()


class _GainCell(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        h = QHBoxLayout(self)
        h.setContentsMargins(4, 0, 4, 0)
        self.fader = GainFader(self)
        self.label = QLabel("+0.0 dB")
        self.label.setMinimumWidth(54)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        h.addWidget(self.fader, 1)
        h.addWidget(self.label)

    def show_db(self, db: float) -> None:
        self.fader.set_db(db)
        self.label.setText(f"{db:+.1f} dB")


MEASURING_TEXT = "measuring…"
MEASURING_TIP = ("The exact BS.1770 loudness of the summed role is being measured in the background. No estimate is "
                 "shown meanwhile: a quick one (a power sum of the tracks) can be several LU off on sparse parts "
                 "such as drums.")


def rel_text(rel: float | None, exact: bool) -> str:
    """'+6.4 LU' when measured, 'measuring…' until then, '—' when undefined."""
    if rel is None:
        return "—"
    return f"{rel:+.1f} LU" if exact else MEASURING_TEXT


def whole_db(x: float) -> str:
    """A signed whole number of dB/LU, halves away from zero, with no negative zero: -0.4 -> "+0", -2.5 -> "-3"."""
    return f"{int(math.copysign(math.floor(abs(x) + 0.5), x)):+d}"


#: Said beside a role that never plays with the anchor nor with a role that does: its reading over the whole span,
#: which the critique cannot judge.
APART = "not judged"
OVER_THE_SPAN = "the value is over the whole judged span (the song, or the span you selected)."
APART_TIP = ("This role never plays together with the anchor, nor with another role that does, so the critique "
             f"cannot judge it; {OVER_THE_SPAN}")
THROUGH_TIP = ("This role never plays with the anchor in the judged span: it is read through a role that plays "
               "with both (the critique says which), an indirect reading that stays tentative.")
LU_TIP = ("BS.1770 loudness of the summed role minus the anchor's over the windows of the judged span (the song, or "
          "the span you selected) where both play, as the critique judges it (where they never play together: "
          "through a role that plays with both, e.g. bass vs drums plus drums vs vocals).")


def role_reading(controller, role: str, exact: bool):
    """(LU vs anchor, the profile's PairStats or None, why the critique cannot judge the role or "", colour state)
    of a role that is not the anchor, as the track table and the role panel show it. The state follows the
    profile's own categories: "ok" in band, "off" for the smaller correction, "far" for the larger. A role the
    critique cannot judge (it never plays with the anchor, or the profile lacks the pair) reads over the whole
    span, as the CLI table gives it, in no band colour."""
    p = controller.project
    band, profile = controller.typical_band(role), controller.balance_profile()
    anchor = "lead vocal" if p.anchor_track else p.anchor
    why_not = (APART_TIP if p.plays_apart_from_anchor(role) else
               "" if profile is None or anchor is None else
               f"The profile has no {role}-vs-{anchor} statistics, so the critique cannot judge it; "
               f"{OVER_THE_SPAN}" if band is None else
               f"The profile measured {role} vs {anchor} on {band.songs} song(s) only, too few to judge it; "
               f"{OVER_THE_SPAN}" if not band.judged else "")
    rel = p.span_lu_vs_anchor(role) if why_not else p.lu_vs_anchor(role)
    if not exact or why_not or rel is None or band is None:
        return rel, band, why_not, "none"
    category = profile.category(rel - band.median)
    return rel, band, why_not, "ok" if category == "no_error" else "far" if category.startswith("very") else "off"


UNCERTAIN_MARK = "?"


def track_tooltip(t) -> str:
    """A track name's tooltip: the file, how it is heard (channels, fold, side), its rate, format and timestamp,
    and, for a guess the table marks, what it was guessed from."""
    lines = [t.name, t.path]
    if t.info:
        rate = f"{t.info.sample_rate / 1000:g} kHz"
        heard = (f" ({layout_words(t.info.positions)}, folded to stereo)" if t.info.channels > 2 else
                 f" (played on the {t.info.side})" if t.info.side else "")
        lines.append(f"{t.info.channels} ch{heard}, {rate}, {t.info.subtype}")
        if t.info.start_s:
            lines.append(f"starts {t.info.start_s:.3f} s into the timeline (its Broadcast WAV timestamp)")
    if t.role.unsure:
        why = f"matched “{t.role.matched}”" if t.role.matched else "a weak match"
        lines.append(f"Role guessed from the name ({why}); check it.")
    return "\n".join(lines)


class TrackTable(QTableWidget):
    """Tracks grouped under their role. A role's row (collapsible) carries its LU vs anchor once; each track row has
    file, role, gain, M, S and LUFS. Column widths are fixed so nothing jumps when values change."""

    COLUMNS = ("Track", "Role", "Gain", "M", "S", "LUFS", "LU vs anchor")
    WIDTHS = {1: 80, 2: 150, 3: 28, 4: 28, 5: 50, 6: 124}   # the name column takes the rest
    ROW_HEIGHT = 24
    MIN_NAME_WIDTH = 110
    READING_COLOUR = "#8a8f98"    # rows of files the running load is still reading

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.controller = controller
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(self.ROW_HEIGHT)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        hh = self.horizontalHeader()
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in self.WIDTHS.items():
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            self.setColumnWidth(col, width)
        self.setMinimumWidth(self.MIN_NAME_WIDTH + sum(self.WIDTHS.values()) + 24)
        self.horizontalHeaderItem(5).setToolTip("Integrated loudness (ITU-R BS.1770) of the track with its gains, over "
                                                "the whole file (a selected span changes only LU vs anchor)")
        self.horizontalHeaderItem(6).setToolTip(
            "Loudness of the role minus the anchor role, in LU, with the band the critique calls in band (within a "
            "few LU of the balance profile's median); shown once on each role's row. BS.1770 is less reliable on "
            "narrow-band material (bass, hi-hats).")
        self.rows: list[tuple[str, str]] = []          # ("role", role) or ("track", track id), one per table row
        self._unbuilt: list[str] = []                   # track rows still waiting for their widgets
        self._build_timer = QTimer(self)
        self._build_timer.setInterval(0)
        self._build_timer.timeout.connect(self._build_next_widgets)
        self.collapsed: set[str] = set()
        self.role_combos: dict[str, QComboBox] = {}
        self.gain_cells: dict[str, _GainCell] = {}
        self.mute_buttons: dict[str, QToolButton] = {}
        self.solo_buttons: dict[str, QToolButton] = {}
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._context_menu)
        self.cellClicked.connect(self._cell_clicked)
        later = AfterBurst(controller)
        refresh = later.slot(self.refresh, covered_by=self.rebuild)
        controller.tracks_changed.connect(later.slot(self.rebuild))
        controller.files_listed.connect(self.show_listed)
        controller.file_loaded.connect(self.show_reading)
        controller.loading_changed.connect(lambda busy, _m: busy or refresh())
        controller.gains_changed.connect(refresh)
        controller.anchor_changed.connect(refresh)
        controller.loudness_changed.connect(refresh)
        controller.profile_changed.connect(refresh)   # the typical bands follow the profile

    # --- rows --------------------------------------------------------------------------
    @property
    def row_ids(self) -> list[str]:
        """Track ids in the order they appear."""
        return [key for kind, key in self.rows if kind == "track"]

    def track_count(self) -> int:
        return sum(1 for kind, _ in self.rows if kind == "track")

    def track_row(self, track_id: str) -> int:
        return self.rows.index(("track", track_id))

    def role_row(self, role: str) -> int:
        return self.rows.index(("role", role))

    def name_item(self, track_id: str) -> QTableWidgetItem:
        return self.item(self.track_row(track_id), 0)

    def role_lu_item(self, role: str) -> QTableWidgetItem:
        return self.item(self.role_row(role), 3)

    def selected_track_ids(self) -> list[str]:
        """Selected tracks in table order; a selected role row stands for all its tracks."""
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        picked: list[str] = []
        for r in rows:
            if r >= len(self.rows):
                continue
            kind, key = self.rows[r]
            if kind == "track":
                picked.append(key)
            else:
                picked += [tid for tid in self._tracks_of(key)]
        return list(dict.fromkeys(picked))

    def _tracks_of(self, role: str) -> list[str]:
        p = self.controller.project
        return [t.id for t in p.tracks.tracks if t.role.role == role] if p.tracks else []

    def set_collapsed(self, role: str, collapsed: bool) -> None:
        (self.collapsed.add if collapsed else self.collapsed.discard)(role)
        if ("role", role) not in self.rows:
            return
        for r, (kind, key) in enumerate(self.rows):
            if kind == "track" and self.controller.project.tracks.get(key).role.role == role:
                self.setRowHidden(r, collapsed)
        self._show_role_title(role)

    def _cell_clicked(self, row: int, col: int) -> None:
        if col == 0 and row < len(self.rows) and self.rows[row][0] == "role":
            role = self.rows[row][1]
            self.set_collapsed(role, role not in self.collapsed)

    def _show_role_title(self, role: str) -> None:
        n = len(self._tracks_of(role))
        arrow = "▸" if role in self.collapsed else "▾"
        item = self.item(self.role_row(role), 0)
        item.setText(f"{arrow} {role}  ·  {n} track{'s' if n != 1 else ''}")
        item.setToolTip(f"Click to {'show' if role in self.collapsed else 'hide'} the {role} tracks; select the "
                        f"row to select them all (right-click: set their role)")

    # --- building ----------------------------------------------------------------------------
    #: A table of up to SYNC_ROWS tracks gets its widgets (role box, fader, mute, solo) at once; a bigger one gets
    #: them WIDGET_BATCH rows per event-loop turn from the next one on, so it never holds the GUI thread for long
    #: (3-9 ms a row; the rebuild itself comes at a load's end, beside everything else the load's end updates).
    SYNC_ROWS = 8
    WIDGET_BATCH = 4

    def rebuild(self) -> None:
        p = self.controller.project
        tracks = p.tracks.tracks if p.tracks else ()
        scroll = self.verticalScrollBar().value()
        self.setUpdatesEnabled(False)
        try:
            self.clearSpans()
            self.setRowCount(0)
            self.role_combos.clear()
            self.gain_cells.clear()
            self.mute_buttons.clear()
            self.solo_buttons.clear()
            self.rows = self._layout(tracks)
            self.setRowCount(len(self.rows))
            by_id = {t.id: t for t in tracks}
            self._unbuilt = []
            for row, (kind, key) in enumerate(self.rows):
                if kind == "role":
                    self._build_role_row(row, key)
                else:
                    self._build_track_items(row, by_id[key])
                    self._unbuilt.append(key)
                    self.setRowHidden(row, by_id[key].role.role in self.collapsed)
            self._build_widgets(len(self._unbuilt) if len(self._unbuilt) <= self.SYNC_ROWS else 0)
        finally:
            self.setUpdatesEnabled(True)
        self.refresh()
        self.verticalScrollBar().setValue(scroll)
        if self._unbuilt:
            self._build_timer.start()

    def widgets_built(self) -> bool:
        """Whether every track row has its widgets (a big table gets them over a few event-loop turns)."""
        return not self._unbuilt

    def _build_widgets(self, count: int) -> list[str]:
        """Build the widgets of the next ``count`` track rows waiting for them; returns their ids."""
        batch, self._unbuilt = self._unbuilt[:count], self._unbuilt[count:]
        p = self.controller.project
        for tid in batch:
            self._build_track_widgets(self.track_row(tid), p.tracks.get(tid))
        return batch

    def _build_next_widgets(self) -> None:
        p = self.controller.project
        if p.tracks is None:   # the tracks went without a rebuild: nothing left to build
            self._unbuilt = []
        batch = self._build_widgets(self.WIDGET_BATCH)
        for tid in batch:
            self._refresh_track(p.tracks.get(tid))
        if not self._unbuilt:
            self._build_timer.stop()

    @staticmethod
    def _layout(tracks) -> list[tuple[str, str]]:
        """The table's rows: each present role, then its tracks in load order."""
        rows: list[tuple[str, str]] = []
        for role in ROLES:
            members = [t.id for t in tracks if t.role.role == role]
            if members:
                rows.append(("role", role))
                rows += [("track", tid) for tid in members]
        return rows

    def _build_role_row(self, row: int, role: str) -> None:
        title = QTableWidgetItem("")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        title.setBackground(QBrush(QColor("#2a3038")))
        self.setItem(row, 0, title)
        self.setSpan(row, 0, 1, 3)
        lu = QTableWidgetItem("")
        lu.setFont(font)
        lu.setBackground(QBrush(QColor("#2a3038")))
        lu.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setItem(row, 3, lu)
        self.setSpan(row, 3, 1, 4)     # the role's LU vs anchor and its band get the M..LU columns
        self._show_role_title(role)

    def _build_track_items(self, row: int, t) -> None:
        self.setItem(row, 0, QTableWidgetItem(t.name))   # its mark and tooltip: _refresh_track, which rebuild runs
        for col in (5, 6):
            it = QTableWidgetItem("")
            it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(row, col, it)

    def _build_track_widgets(self, row: int, t) -> None:
        combo = QComboBox()
        combo.addItems(ROLES)
        combo.setCurrentText(t.role.role)
        combo.setToolTip("Role (guessed from the file name; change it if it is wrong). With several rows "
                         "selected, the change applies to all of them.")
        combo.currentTextChanged.connect(lambda role, tid=t.id: self._role_chosen(tid, role))
        self.setCellWidget(row, 1, combo)
        self.role_combos[t.id] = combo
        cell = _GainCell()
        cell.fader.valueChanged.connect(lambda v, tid=t.id: self.controller.set_track_gain(tid, v / STEP))
        cell.fader.sliderReleased.connect(self.controller.end_gain_edit)
        cell.fader.reset_requested.connect(self.controller.end_gain_edit)
        self.setCellWidget(row, 2, cell)
        self.gain_cells[t.id] = cell
        for col, text, store, slot in ((3, "M", self.mute_buttons, self.controller.set_muted),
                                       (4, "S", self.solo_buttons, self.controller.set_soloed)):
            b = QToolButton()
            b.setText(text)
            b.setCheckable(True)
            b.setObjectName("mute" if text == "M" else "solo")
            b.setToolTip("Mute (excluded from preview and analysis)" if text == "M" else
                         "Solo (only soloed tracks are heard and judged)")
            b.toggled.connect(lambda on, tid=t.id, s=slot: s(tid, on))
            self.setCellWidget(row, col, b)
            store[t.id] = b

    def show_listed(self, files) -> None:
        """List the files of the running load from their headers, before any is decoded: grey rows marked as
        being read, filled in by show_reading (the full rows come with the load). Files already shown stay."""
        new = [f for f in files if ("track", f.track_id) not in self.rows and ("reading", f.track_id) not in self.rows]
        if not new:
            return
        self.setUpdatesEnabled(False)
        try:
            first = self.rowCount()
            self.setRowCount(first + len(new))
            for row, f in enumerate(new, start=first):
                self.rows.append(("reading", f.track_id))
                for col, text in ((0, f.name), (1, f.role), (5, "…")):
                    self._set_reading_item(row, col, text, f"{f.name}: waiting to be read…")
        finally:
            self.setUpdatesEnabled(True)

    def show_reading(self, read) -> None:
        """Fill in a file of the running load as soon as it is read (its row is added if it was not listed)."""
        if ("track", read.track_id) in self.rows:
            return   # a file of the session being added to
        tip = f"{read.name}: read ({read.index} of {read.total}); loading the rest…"
        if ("reading", read.track_id) in self.rows:
            row = self.rows.index(("reading", read.track_id))
        else:
            row = self.rowCount()
            self.insertRow(row)
            self.rows.append(("reading", read.track_id))
            for col, text in ((0, read.name), (1, read.role)):
                self._set_reading_item(row, col, text, tip)
        self._set_reading_item(row, 5, f"{read.lufs:.1f}" if math.isfinite(read.lufs) else "silent", tip)
        for col in (0, 1):
            self.item(row, col).setToolTip(tip)

    def _set_reading_item(self, row: int, col: int, text: str, tip: str) -> None:
        item = QTableWidgetItem(text)
        item.setForeground(QBrush(QColor(self.READING_COLOUR)))
        item.setToolTip(tip)
        if col == 5:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setItem(row, col, item)

    # --- roles for a selection ---------------------------------------------------------------
    def _role_chosen(self, track_id: str, role: str) -> None:
        selected = self.selected_track_ids()
        ids = selected if track_id in selected and len(selected) > 1 else [track_id]
        self.controller.set_roles(ids, role)

    def set_selected_roles(self, role: str) -> None:
        ids = self.selected_track_ids()
        if ids:
            self.controller.set_roles(ids, role)

    def _context_menu(self, pos) -> None:
        ids = self.selected_track_ids()
        if not ids:
            return
        menu = QMenu(self)
        sub = menu.addMenu(f"Set the role of {len(ids)} selected track{'s' if len(ids) != 1 else ''}")
        for role in ROLES:
            sub.addAction(role, lambda r=role: self.set_selected_roles(r))
        menu.exec(self.viewport().mapToGlobal(pos))

    # --- values ------------------------------------------------------------------------------
    def refresh(self) -> None:
        p = self.controller.project
        tracks = p.tracks.tracks if p.tracks else ()
        reading = any(r[0] == "reading" for r in self.rows)
        if self._layout(tracks) != [r for r in self.rows if r[0] != "reading"] or (
                reading and not self.controller.loading):   # a load ended or was cancelled: its listed files go
            self.rebuild()
            return
        exact = p.loudness_is_exact()
        for t in tracks:
            self._refresh_track(t)
        for kind, role in self.rows:
            if kind == "role":
                self._show_role_lu(role, exact)

    def _refresh_track(self, t) -> None:
        """Show one track's values: its name mark and loudness, and its widgets once they are built."""
        p = self.controller.project
        row = self.track_row(t.id)
        name_item = self.item(row, 0)
        uncertain = t.role.unsure
        name_item.setForeground(QBrush(QColor("#e0b341")) if uncertain else QBrush())
        name_item.setText(t.name if not uncertain else f"{UNCERTAIN_MARK} {t.name}")
        name_item.setToolTip(track_tooltip(t))
        lufs = p.track_loudness(t.id)
        self.item(row, 5).setText(f"{lufs:.1f}" if math.isfinite(lufs) else "silent")
        combo = self.role_combos.get(t.id)
        if combo is None:
            return   # its widgets come in a later batch
        if combo.currentText() != t.role.role:
            combo.blockSignals(True)
            combo.setCurrentText(t.role.role)
            combo.blockSignals(False)
        self.gain_cells[t.id].show_db(p.track_db.get(t.id, 0.0))
        for store, on in ((self.mute_buttons, t.id in p.muted), (self.solo_buttons, t.id in p.soloed)):
            b = store[t.id]
            if b.isChecked() != on:
                b.blockSignals(True)
                b.setChecked(on)
                b.blockSignals(False)

    def _show_role_lu(self, role: str, exact: bool) -> None:
        p = self.controller.project
        it = self.role_lu_item(role)
        if role == p.anchor:
            it.setText(f"anchor: {p.tracks.get(p.anchor_track).name}" if p.anchor_track else "anchor")
            it.setForeground(QBrush(QColor(BAND_COLOURS["anchor"])))
            it.setToolTip("One track of this role is the reference the others are judged against." if p.anchor_track
                          else "This role is the reference the others are judged against.")
            return
        rel, band, why_not, state = role_reading(self.controller, role, exact)
        text = rel_text(rel, exact) + (f" ({APART})" if why_not else "")
        bands = ""
        if band is not None:
            profile = self.controller.balance_profile()
            # to 0.1 LU like the reading ("+5.1 LU [-1..+5]" shown green, in band -0.7..+5.3, reads as a
            # contradiction), and finer near an edge ("+5.0 LU [-1.0..+5.0]" shown amber did too)
            if rel is not None and exact and not why_not:
                reading, band_words = band.reading_texts(rel, profile.ok_db)
                text = f"{reading} LU  [{band_words}]"
            elif rel is not None and not why_not:   # a band judges nothing of a role not judged (and cut its row)
                text += f"  [{band.band_text(profile.ok_db)}]"
            bands = (f" In band: within {profile.ok_db:g} LU of the profile's median (green); amber up to "
                     f"{profile.very_db:g}, red beyond.")
        it.setText(text)
        it.setForeground(QBrush(QColor(BAND_COLOURS[state])))
        through = "\n" + THROUGH_TIP if p.reads_through_another_role(role) else ""
        it.setToolTip(f"{role} vs {p.anchor_label()}: {text}. {LU_TIP}{bands}{through}"
                      + ("\n" + why_not if why_not else "") + ("" if exact else "\n" + MEASURING_TIP))


ANCHOR_TRACK_TIP = ("Judge the other roles against one vocals track (the lead vocal, as in \"anchor on the Lead "
                    "Vox\") instead of all the vocals: for when the backing vocals' own level is in question. It "
                    "needs a profile that measured a lead vocal (electronic, or one learned from your mixes).")


class RolePanel(QGroupBox):
    """Anchor selector (one radio per target role) and a gain fader per role (Apply moves these)."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__("Roles: anchor and role gain", parent)
        self.controller = controller
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 2, 8, 2)
        grid.setVerticalSpacing(0)
        grid.addWidget(QLabel("<b>Role</b>"), 0, 0)
        grid.addWidget(QLabel("<b>Anchor</b>"), 0, 1)
        grid.addWidget(QLabel("<b>Role gain</b>"), 0, 2)
        grid.addWidget(QLabel("<b>LU vs anchor</b>"), 0, 3)
        self.group = QButtonGroup(self)
        self.radios: dict[str, QRadioButton] = {}
        self.faders: dict[str, _GainCell] = {}
        self.rel_labels: dict[str, QLabel] = {}
        for i, role in enumerate(ROLES, start=1):
            grid.addWidget(QLabel(role), i, 0)
            if role in TARGET_ROLES:
                r = QRadioButton()
                r.setToolTip(f"Judge the other roles relative to the {role}")
                r.toggled.connect(lambda on, role=role: on and self.controller.set_anchor(role))
                self.group.addButton(r)
                self.radios[role] = r
                grid.addWidget(r, i, 1, alignment=Qt.AlignmentFlag.AlignCenter)
            cell = _GainCell()
            cell.fader.valueChanged.connect(lambda v, role=role: self.controller.set_role_gain(role, v / STEP))
            cell.fader.sliderReleased.connect(self.controller.end_gain_edit)
            cell.fader.reset_requested.connect(self.controller.end_gain_edit)
            self.faders[role] = cell
            grid.addWidget(cell, i, 2)
            lab = QLabel("—")
            lab.setMinimumWidth(120)
            self.rel_labels[role] = lab
            grid.addWidget(lab, i, 3)
        row = len(ROLES) + 1
        grid.addWidget(QLabel("Anchor on"), row, 0)
        self.anchor_track_box = QComboBox()
        self.anchor_track_box.setObjectName("anchorTrackCombo")
        self.anchor_track_box.setToolTip(ANCHOR_TRACK_TIP)
        self.anchor_track_box.activated.connect(
            lambda i: self.controller.set_anchor_track(self.anchor_track_box.itemData(i)))
        grid.addWidget(self.anchor_track_box, row, 1, 1, 3)
        grid.setColumnStretch(2, 1)
        later = AfterBurst(controller)
        refresh = later.slot(self.refresh)
        for changed in (controller.tracks_changed, controller.gains_changed, controller.anchor_changed,
                        controller.loudness_changed, controller.profile_changed):   # the bands follow the profile
            changed.connect(refresh)
        # the anchor-on choice depends on the tracks' roles, the anchor and the profile only (not on every fader step)
        refresh_anchor_track = later.slot(self._refresh_anchor_track)
        for changed in (controller.tracks_changed, controller.anchor_changed, controller.profile_changed):
            changed.connect(refresh_anchor_track)
        self._refresh_anchor_track()
        self.refresh()

    def add_footer(self, widget: QWidget) -> None:
        """A full-width row under the roles (the profile picker sits next to the anchor choice)."""
        grid = self.layout()
        grid.addWidget(widget, grid.rowCount(), 0, 1, grid.columnCount())

    def _refresh_anchor_track(self) -> None:
        """The anchor-on choice: the whole anchor role, or one of the vocals tracks when the vocals anchor."""
        p = self.controller.project
        box = self.anchor_track_box
        box.blockSignals(True)
        box.clear()
        box.addItem(f"all {p.anchor} tracks" if p.anchor else "—", None)
        if p.anchor == "vocals":
            for tid in p.anchor_track_choices():
                box.addItem(f"one track: {p.tracks.get(tid).name}", tid)
        box.setCurrentIndex(max(0, box.findData(p.anchor_track)) if p.anchor_track else 0)
        profile = self.controller.balance_profile()
        judges = profile is not None and profile.judges_track_anchor
        box.setEnabled(box.count() > 1 and (judges or p.anchor_track is not None))  # a chosen track can be undone
        box.setToolTip(ANCHOR_TRACK_TIP if judges or profile is None else
                       f"The '{profile.name}' profile has no statistics against a lead vocal track: choose a profile "
                       "that has (electronic, or one learned from your mixes) to anchor on one track.")
        box.blockSignals(False)

    def refresh(self) -> None:
        p = self.controller.project
        present = set(p.roles_present())
        exact = p.loudness_is_exact()
        for role, r in self.radios.items():
            r.setEnabled(role in present)
            if (p.anchor == role) != r.isChecked():
                r.blockSignals(True)
                self.group.setExclusive(False)
                r.setChecked(p.anchor == role)
                self.group.setExclusive(True)
                r.blockSignals(False)
        for role, cell in self.faders.items():
            cell.show_db(p.role_db.get(role, 0.0))
            cell.setEnabled(role in present)
            lab = self.rel_labels[role]
            if role not in present:
                lab.setText("absent")
                lab.setStyleSheet(f"color: {BAND_COLOURS['none']}")
                continue
            if role == p.anchor:
                lab.setText("anchor: one track" if p.anchor_track else "anchor")
                lab.setStyleSheet(f"color: {BAND_COLOURS['anchor']}")
                continue
            rel, band, why_not, state = role_reading(self.controller, role, exact)
            text = rel_text(rel, exact)
            if why_not:
                text += f" ({APART})"
            elif band is not None:
                text += f" (typ. {whole_db(band.median)})"
            lab.setText(text)
            lab.setToolTip(LU_TIP + ("\n" + why_not if why_not else "") + ("" if exact else "\n" + MEASURING_TIP))
            lab.setStyleSheet(f"color: {BAND_COLOURS[state]}")
