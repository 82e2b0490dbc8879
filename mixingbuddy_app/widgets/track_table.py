"""Track list (role, gain fader, mute, solo, meters) and the role panel (anchor selector, role faders)."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QBrush
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QComboBox, QGridLayout, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QRadioButton, QSlider, QTableWidget, QTableWidgetItem,
                               QToolButton, QWidget)

from model.audio.roles import ROLES, TARGET_ROLES

from mixingbuddy_app.project import GAIN_MAX_DB, GAIN_MIN_DB

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
        self.setMinimumWidth(120)

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
        self.label.setMinimumWidth(58)
        self.label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        h.addWidget(self.fader, 1)
        h.addWidget(self.label)

    def show_db(self, db: float) -> None:
        self.fader.set_db(db)
        self.label.setText(f"{db:+.1f} dB")


ESTIMATE_MARK = "≈"
ESTIMATE_TIP = ("≈: quick estimate (power sum of the tracks' loudness; it over-reads sparse parts such as drums) "
                "while the exact BS.1770 loudness of the summed role is measured in the background.")


def rel_text(rel: float | None, exact: bool) -> str:
    """'+6.4 LU' when measured, '≈+8.2 LU' while only the quick estimate is known, '—' when undefined."""
    if rel is None:
        return "—"
    return f"{'' if exact else ESTIMATE_MARK}{rel:+.1f} LU"


def band_state(rel: float | None, band) -> str:
    if rel is None or band is None:
        return "none"
    d = abs(rel - band.median)
    return "ok" if d < 3.0 else ("off" if d < 6.0 else "far")


class TrackTable(QTableWidget):
    """One row per track. Columns: file, role, gain, M, S, LUFS, LU vs anchor (with the typical band)."""

    COLUMNS = ("Track", "Role", "Gain", "M", "S", "LUFS", "LU vs anchor")

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.COLUMNS), parent)
        self.controller = controller
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.verticalHeader().setVisible(False)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(1, 90)
        self.setColumnWidth(2, 200)
        self.setColumnWidth(3, 34)
        self.setColumnWidth(4, 34)
        self.setColumnWidth(5, 70)
        self.setColumnWidth(6, 140)
        self.horizontalHeaderItem(5).setToolTip("Integrated loudness (ITU-R BS.1770) of the track with its gains")
        self.horizontalHeaderItem(6).setToolTip(
            "Loudness of the track's role minus the anchor role, in LU, with the typical band (quartiles) from the "
            "balance profile. BS.1770 is less reliable on narrow-band material (bass, hi-hats).")
        self.row_ids: list[str] = []
        self.role_combos: dict[str, QComboBox] = {}
        self.gain_cells: dict[str, _GainCell] = {}
        self.mute_buttons: dict[str, QToolButton] = {}
        self.solo_buttons: dict[str, QToolButton] = {}
        controller.tracks_changed.connect(self.rebuild)
        controller.gains_changed.connect(self.refresh)
        controller.anchor_changed.connect(lambda _a: self.refresh())
        controller.loudness_changed.connect(lambda _exact: self.refresh())

    def selected_track_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.selectionModel().selectedRows()})
        return [self.row_ids[r] for r in rows if r < len(self.row_ids)]

    def rebuild(self) -> None:
        p = self.controller.project
        tracks = p.tracks.tracks if p.tracks else ()
        self.setRowCount(0)
        self.row_ids = [t.id for t in tracks]
        self.role_combos.clear()
        self.gain_cells.clear()
        self.mute_buttons.clear()
        self.solo_buttons.clear()
        self.setRowCount(len(tracks))
        for row, t in enumerate(tracks):
            item = QTableWidgetItem(t.name)
            rate = f"{t.info.sample_rate / 1000:g} kHz" if t.info else ""
            item.setToolTip(f"{t.path}\n{t.info.channels} ch, {rate}, {t.info.subtype}" if t.info else t.path)
            self.setItem(row, 0, item)
            combo = QComboBox()
            combo.addItems(ROLES)
            combo.setCurrentText(t.role.role)
            combo.setToolTip("Role (guessed from the file name; change it if it is wrong)")
            combo.currentTextChanged.connect(lambda role, tid=t.id: self.controller.set_role(tid, role))
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
            for col in (5, 6):
                it = QTableWidgetItem("")
                it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, col, it)
        self.refresh()

    def refresh(self) -> None:
        p = self.controller.project
        if not p.tracks:
            if self.rowCount():
                self.rebuild()
            return
        if len(self.row_ids) != len(p.tracks.tracks):
            self.rebuild()
            return
        exact = p.loudness_is_exact()
        # per role, not per row: each reading sums the role's tracks
        roles = {t.role.role for t in p.tracks.tracks} - {p.anchor}
        rels = {r: p.lu_vs_anchor(r) for r in roles}
        bands = {r: self.controller.typical_band(r) for r in roles}
        for row, t in enumerate(p.tracks.tracks):
            if row >= len(self.row_ids) or self.row_ids[row] != t.id:
                self.rebuild()
                return
            combo = self.role_combos[t.id]
            if combo.currentText() != t.role.role:
                combo.blockSignals(True)
                combo.setCurrentText(t.role.role)
                combo.blockSignals(False)
            name_item = self.item(row, 0)
            default = t.role.source == "default"
            name_item.setForeground(QBrush(QColor("#e0b341")) if default else QBrush())
            name_item.setText(t.name + ("  (role?)" if default else ""))
            self.gain_cells[t.id].show_db(p.track_db.get(t.id, 0.0))
            for store, on in ((self.mute_buttons, t.id in p.muted), (self.solo_buttons, t.id in p.soloed)):
                b = store[t.id]
                if b.isChecked() != on:
                    b.blockSignals(True)
                    b.setChecked(on)
                    b.blockSignals(False)
            lufs = p.track_loudness(t.id)
            self.item(row, 5).setText(f"{lufs:.1f}" if math.isfinite(lufs) else "silent")
            it = self.item(row, 6)
            role = t.role.role
            if role == p.anchor:
                it.setText("anchor")
                it.setForeground(QBrush(QColor(BAND_COLOURS["anchor"])))
                it.setToolTip("This role is the reference the others are judged against.")
                continue
            rel, band = rels[role], bands[role]
            state = band_state(rel, band)
            text = rel_text(rel, exact)
            if band is not None and rel is not None:
                text += f"  [{band.q25:+.0f}..{band.q75:+.0f}]"
            it.setText(text)
            it.setForeground(QBrush(QColor(BAND_COLOURS[state])))
            it.setToolTip(f"{role} vs {p.anchor}: {text}. Whole-song BS.1770 loudness of the summed role minus "
                          "the anchor's, as the critique measures it. Typical band from the balance profile; "
                          "green within 3 LU of the typical median, amber 3–6, red beyond."
                          + ("" if exact else "\n" + ESTIMATE_TIP))


class RolePanel(QGroupBox):
    """Anchor selector (one radio per target role) and a gain fader per role (Apply moves these)."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__("Roles: anchor and role gain", parent)
        self.controller = controller
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
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
        grid.setColumnStretch(2, 1)
        controller.tracks_changed.connect(self.refresh)
        controller.gains_changed.connect(self.refresh)
        controller.anchor_changed.connect(lambda _a: self.refresh())
        controller.loudness_changed.connect(lambda _exact: self.refresh())
        self.refresh()

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
                lab.setText("anchor")
                lab.setStyleSheet(f"color: {BAND_COLOURS['anchor']}")
                continue
            rel = p.lu_vs_anchor(role)
            band = self.controller.typical_band(role)
            text = rel_text(rel, exact)
            if band is not None:
                text += f" (typ. {band.median:+.0f})"
            lab.setText(text)
            lab.setToolTip("Whole-song BS.1770 loudness of the role minus the anchor's (what the critique measures)."
                           + ("" if exact else "\n" + ESTIMATE_TIP))
            lab.setStyleSheet(f"color: {BAND_COLOURS[band_state(rel, band)]}")
