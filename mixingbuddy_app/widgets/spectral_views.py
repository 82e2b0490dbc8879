"""The Masking view (time x band map of how far one role or track sits under another, with the masking findings)
and the Tonal view (each role's spectral shape against the profile's typical band, with the tonal findings).

Both show the controller's SpectralAnalysis; opening a view (or Analyse) starts the analysis when there is none
for the current mix. Clicking a masking finding seeks the preview to its stretch and loops it. A pair with a track
in it is analysed when chosen (a band pass over those two signals only).
"""

from __future__ import annotations

import math
from pathlib import PurePath

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import (QComboBox, QFrame, QGraphicsRectItem, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPushButton, QScrollArea, QSizePolicy, QSplitter, QVBoxLayout, QWidget)

from model.advice.spectrum import nested_pair
from model.advice.tonal import not_compared_text, within_band_text
from model.advice.wording import hz, nominal_hz

from mixingbuddy_app.widgets.overview import FittedTitle, adopt_menus

BACKGROUND = "#1b1e23"
#: Depth colours (dB the maskee sits under the masker): clear (blue) .. level (grey) .. masked by the margin
#: (amber) .. buried (red).
DEPTH_STOPS = ((-12.0, "#2b5c8a"), (0.0, "#3a3d42"), (6.0, "#e0b341"), (18.0, "#ff4a3d"))
DEPTH_LEVELS = (DEPTH_STOPS[0][0], DEPTH_STOPS[-1][0])
#: The masking map's least width: its axes and colour bar take about 130 px, the map itself keeps the rest.
MAP_MIN_W = 210
#: Steps of the masking map's time labels (s); the shortest that leaves TIME_LABEL_PX per label is used.
TIME_STEPS_S = (5, 10, 20, 30, 60, 120, 300, 600, 1200)
TIME_LABEL_PX = 45
HZ_TICKS = (31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)
#: The frequency labels always shown; the others (HZ_TICKS) are labelled only when the plot is wide enough.
HZ_MAJOR = (63, 250, 1000, 4000, 16000)
#: Tick text may fill this much of the axis before a level's labels are dropped (instead of running together).
TICK_FILL_LIMITS = [(0, 0.8), (2, 0.62), (4, 0.62), (6, 0.62)]
#: The least height of one role's tonal plot (its curve area then stays about 100 px tall or more); when the view
#: is shorter than its rows, the plots scroll instead of shrinking to flat lines.
TONAL_PLOT_MIN_H = 140
ROLE_COLOURS = {"vocals": "#e0b341", "drums": "#ff8a4a", "bass": "#5fbf77", "other": "#a9d1ff"}


def _hz_tick(f: float) -> str:
    return hz(nominal_hz(f)).replace(" Hz", "").replace(" kHz", "k")


class SpectralView(QWidget):
    """A view of the spectral analysis: a bar with Analyse and a status line; subclasses draw the analysis."""


    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(4, 4, 4, 4)
        self.bar = QHBoxLayout()
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.setToolTip("Measure masking and tonal balance of the whole song at the current gains "
                                       "(about a tenth of a critique)")
        self.analyse_button.clicked.connect(self.controller.analyse_spectrum)
        self.status = QLabel("")
        self.status.setObjectName("spectralStatus")
        self.status.setWordWrap(True)
        self.layout_.addLayout(self.bar)
        self.analysis = None
        controller.spectral_changed.connect(self.show_analysis)
        controller.spectral_busy.connect(self._on_busy)
        controller.tracks_changed.connect(self._on_mix_changed)
        controller.gains_changed.connect(self._on_mix_changed)
        controller.anchor_changed.connect(lambda _a: self._on_mix_changed())
        controller.profile_changed.connect(lambda _n: self._on_mix_changed())

    def _finish_bar(self, status_below: bool = False) -> None:
        """Analyse at the end of the bar; the status line beside it, or on a row of its own (a crowded bar)."""
        self.bar.addWidget(self.analyse_button)
        if status_below:
            self.layout_.addWidget(self.status)
        else:
            self.bar.addWidget(self.status, 1)

    #: The least height of the view's drawing (MaskingView: the map; TonalView: one row of plots).
    BODY_MIN_H = 180

    def comfortable_height(self, full: bool = False) -> int:
        """The height at which the drawing is readable: the bar (and status row) plus BODY_MIN_H (``full``: the
        height the whole drawing wants, e.g. every row of plots) and whatever else sits below it. The main window
        gives a shorter chart area this much when the view opens."""
        lay = self.layout_
        m = lay.contentsMargins()
        h = m.top() + m.bottom() + (self._full_body_h() if full else self.BODY_MIN_H)
        items = [lay.itemAt(i) for i in range(lay.count())]
        body = self._body()
        others = [it for it in items if it.widget() is not body]
        h += sum(0 if it.widget() is not None and not it.widget().isVisibleTo(self) else it.sizeHint().height()
                 for it in others)
        h += lay.spacing() * (len(items) - 1)
        return h

    def _body(self) -> QWidget | None:
        """The widget that gets the height left (the map, or the plots)."""
        return None

    def _full_body_h(self) -> int:
        return self.BODY_MIN_H

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self.ensure_analysis()

    def ensure_analysis(self) -> None:
        """Start the analysis when the view is open and has none for the current mix."""
        c = self.controller
        if c.spectral is not None and c.spectral is not self.analysis:
            self.show_analysis(c.spectral)
        if self.isVisible() and not c.analysing and not c.spectral_is_current() and c.project.tracks:
            c.analyse_spectrum()

    def _on_busy(self, busy: bool) -> None:
        self.analyse_button.setEnabled(not busy)
        if busy:
            self.status.setText("Analysing masking and tonal balance…")
        else:
            self._show_status()

    def _on_mix_changed(self) -> None:
        if self.analysis is not None and self.analysis.tracks() is not self.controller.project.tracks:
            self.clear()
            if self.isVisible():   # other songs or roles: analyse again while the view is open
                self.ensure_analysis()
                return
        self._show_status()

    def _show_status(self) -> None:
        c = self.controller
        if c.analysing:
            return
        if self.analysis is None:
            self.status.setText("Load stems; the analysis runs when this view opens." if not c.project.tracks else
                                "Press Analyse.")
        elif not c.spectral_is_current():
            self.status.setText("<span style='color:#ffd479'>The mix changed since this analysis: Analyse again."
                                "</span>")
        else:
            self.status.setText(self.summary())

    def summary(self) -> str:
        return ""

    def show_analysis(self, analysis) -> None:
        self.analysis = analysis
        self._show_status()

    def clear(self) -> None:
        self.analysis = None


class MaskingView(SpectralView):
    """Time x third-octave band map of the chosen pair (colour: dB the maskee sits under the masker) beside the list
    of masking findings; the pair defaults to the worst one against the anchor.

    Each side is a role or a track (the combos list the roles, then the tracks; item data: the role, or the track
    id). Role pairs come from the controller's analysis, whose findings the list shows; a pair with a track comes
    from the controller's pair analysis, started when chosen, and the list shows that pair's findings both ways.
    """


    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self.masker = QComboBox()
        self.masker.setObjectName("maskerCombo")
        self.masker.setToolTip("The role or track that covers")
        self.maskee = QComboBox()
        self.maskee.setObjectName("maskeeCombo")
        self.maskee.setToolTip("The role or track that is covered")
        for combo in (self.masker, self.maskee):
            combo.activated.connect(lambda _i: self.show_pair(self.masker.currentData(), self.maskee.currentData()))
            # long track names must not widen the bar (and squeeze the status line to a column of words)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
            combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.bar.addWidget(QLabel("Masker"))
        self.bar.addWidget(self.masker, 1)
        self.bar.addWidget(QLabel("over"))
        self.bar.addWidget(self.maskee, 1)
        self._finish_bar(status_below=True)
        self.plot = pg.PlotWidget(background=BACKGROUND)
        adopt_menus(self.plot)
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "time (s)")
        self.plot.setLabel("left", "band (Hz)")
        self.plot.showGrid(x=False, y=False)
        self.title = FittedTitle(self.plot, "#dddddd", 10)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        self.colour_map = pg.ColorMap([(v - DEPTH_LEVELS[0]) / (DEPTH_LEVELS[1] - DEPTH_LEVELS[0])
                                       for v, _ in DEPTH_STOPS], [c for _, c in DEPTH_STOPS])
        self.colour_bar = pg.ColorBarItem(values=DEPTH_LEVELS, colorMap=self.colour_map, interactive=False,
                                          label="dB under the masker", width=14)   # narrow: room for the map
        self.plot.getPlotItem().getViewBox().sigResized.connect(self._space_time_ticks)
        adopt_menus(self.plot, self.colour_bar)
        self.colour_bar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        self.regions: list[QGraphicsRectItem] = []
        self.findings = QListWidget()
        self.findings.setObjectName("maskingFindings")
        self.findings.setWordWrap(True)
        self.findings.setToolTip("Click a finding to loop its stretch")
        self.findings.itemClicked.connect(self._on_finding_clicked)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(self.plot)
        split.addWidget(self.findings)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([600, 400])   # the list gets two fifths of the width (its words wrap), the map the rest
        self.findings.setMinimumWidth(160)
        self.plot.setMinimumWidth(MAP_MIN_W)
        self.split = split
        self.layout_.addWidget(split, 1)
        self.pair: tuple[str, str] | None = None
        self.depth: np.ndarray | None = None
        self.listed = None        # the analysis whose masking findings the list shows (roles' or a pair's)
        self._wanted: tuple[str, str] | None = None   # a pair with a track, waiting for its analysis
        controller.pair_masking_changed.connect(self._on_pair_masking)
        self._clear_map()
        self._show_status()

    def _clear_map(self) -> None:
        """No map drawn: no image, and no axes or colour bar around nothing (pyqtgraph's default axes read
        like a map of -400..400 s)."""
        self.image.clear()
        self._show_frame(False)

    def _show_frame(self, shown: bool) -> None:
        item = self.plot.getPlotItem()
        for axis in ("left", "bottom"):
            item.showAxis(axis, shown)
        self.colour_bar.setVisible(shown)
        if not shown:
            self.title.set(None)

    def _body(self) -> QWidget:
        return self.split

    # --- drawing ----------------------------------------------------------------------------
    def summary(self) -> str:
        listed = self.listed if self.listed is not None else self.analysis
        n = len(listed.masking)
        if listed is not self.analysis:
            pair = f"{listed.first.words} and {listed.second.words}"
            return (f"{n} masking finding(s) between {pair}; click one to loop it." if n else
                    f"Neither of {pair} covers the other strongly and lastingly.")
        return (f"{n} masking finding(s) over the whole song; click one to loop it." if n else
                "No strong, lasting masking between the roles.")

    def show_analysis(self, analysis) -> None:
        self.analysis = analysis
        roles = analysis.roles
        tracks = analysis.tracks()
        for combo in (self.masker, self.maskee):
            combo.clear()
            for role in roles:
                combo.addItem(role, role)
            if tracks is not None and tracks.tracks:
                combo.insertSeparator(combo.count())
                for t in tracks.tracks:
                    combo.addItem(PurePath(t.name).stem, t.id)
        bands = analysis.frames.bands
        ticks = []
        for f in HZ_TICKS:
            i = int(np.argmin(np.abs(np.log(bands.centres_hz / f))))
            if abs(math.log(bands.centres_hz[i] / f)) < 0.1:
                ticks.append((i, _hz_tick(f)))
        self.plot.getAxis("left").setTicks([ticks])
        self._list_findings(analysis)
        keys = {self.masker.itemData(i) for i in range(self.masker.count())} - {None}
        pair = self.pair if self.pair and all(k in keys for k in self.pair) and self.pair[0] != self.pair[1] \
            else analysis.default_pair()
        if pair is not None:
            self.show_pair(*pair)
        self._show_status()

    def _list_findings(self, source) -> None:
        """List the masking findings of ``source`` (the roles' analysis or a pair's) unless they are listed."""
        if source is self.listed:
            return
        self.listed = source
        self.findings.clear()
        for f in source.masking:
            item = QListWidgetItem(f"{f.text}\n→ {f.suggestion}")
            item.setData(Qt.ItemDataRole.UserRole, f)
            item.setToolTip("Click to loop this stretch")
            self.findings.addItem(item)

    def _space_time_ticks(self, *_args) -> None:
        """Time labels far enough apart to read at the map's width (pyqtgraph's own run together when narrow)."""
        seconds = self.image.mapRectToParent(self.image.boundingRect()).width()   # 0 with no map drawn
        width_px = self.plot.getPlotItem().getViewBox().width()
        if seconds <= 0 or width_px <= 0:
            return
        fits = [s for s in TIME_STEPS_S if seconds / s <= max(1.0, width_px / TIME_LABEL_PX)]
        step = fits[0] if fits else TIME_STEPS_S[-1]
        self.plot.getAxis("bottom").setTickSpacing(step, step / 2)

    def show_pair(self, masker: str, maskee: str) -> None:
        """Draw the map of ``maskee`` under ``masker`` (role names or track ids) and outline that pair's findings.

        A pair with a track is analysed first when its analysis is not current; it is drawn when that ends.
        """
        a, c = self.analysis, self.controller
        if a is None or masker is None or maskee is None:
            return
        for combo, key in ((self.masker, masker), (self.maskee, maskee)):
            combo.setCurrentIndex(combo.findData(key))
        for r in self.regions:
            self.plot.removeItem(r)
        self.regions = []
        self._wanted = None
        why = "Choose two different roles or tracks." if masker == maskee else \
            nested_pair(c.project.tracks, masker, maskee) if c.project.tracks else ""
        if why:
            self.pair, self.depth = None, None
            self._clear_map()
            self.status.setText(why)
            return
        if masker in a.frames.power and maskee in a.frames.power:
            source = a
        elif c.pair_masking_is_current(masker, maskee):
            source = c.pair_masking
        else:
            self.pair, self.depth, self._wanted = None, None, (masker, maskee)
            self._clear_map()
            c.analyse_pair(masker, maskee)
            self.status.setText(f"Analysing masking between {self.masker.currentText()} and "
                                f"{self.maskee.currentText()}…")
            return
        self._list_findings(source)
        self.pair = (masker, maskee)
        frames = source.frames
        self.depth = source.depth(masker, maskee)
        hop = frames.hop_s
        self.image.setImage(self.depth, levels=DEPTH_LEVELS, autoLevels=False)
        self._show_frame(True)
        self.image.setRect(QRectF(frames.start_s - hop / 2, -0.5, frames.frames * hop, len(frames.bands)))
        self._space_time_ticks()
        for f in source.masking:
            if (f.masker, f.maskee) == self.pair:
                self.regions.append(self._outline(f))
        self.title.set(f"{self.maskee.currentText()} under {self.masker.currentText()}")
        self._show_status()

    def _on_pair_masking(self, result) -> None:
        if self._wanted is None:
            return
        if result is None:   # it failed (the banner says why)
            self._wanted = None
            self.status.setText("The masking between these two could not be analysed: choose another pair.")
        elif result.covers(*self._wanted):
            self.show_pair(*self._wanted)

    def _band_index(self, edge_hz: float, edges: np.ndarray) -> int:
        return int(np.argmin(np.abs(np.log(edges / edge_hz))))

    def _outline(self, finding) -> QGraphicsRectItem:
        bands = self.analysis.frames.bands
        hop = self.analysis.frames.hop_s
        low = self._band_index(finding.low_hz, bands.low_hz)
        high = self._band_index(finding.high_hz, bands.high_hz)
        rect = QGraphicsRectItem(QRectF(finding.start_s - hop / 2, low - 0.5, finding.end_s - finding.start_s + hop,
                                        high - low + 1))
        pen = QPen(QColor("#ffffff"))
        pen.setWidthF(2.0)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DashLine)
        rect.setPen(pen)
        rect.setBrush(QBrush(Qt.BrushStyle.NoBrush))
        self.plot.addItem(rect)
        return rect

    def clear(self) -> None:
        super().clear()
        self._clear_map()
        self.findings.clear()
        for r in self.regions:
            self.plot.removeItem(r)
        self.regions = []
        self.depth = None
        self.listed, self._wanted = None, None

    # --- a finding clicked: its pair on the map, its stretch looped ----------------------------------
    def _on_finding_clicked(self, item: QListWidgetItem) -> None:
        self.play_finding(item.data(Qt.ItemDataRole.UserRole))

    def play_finding(self, finding) -> None:
        self.show_pair(finding.masker, finding.maskee)
        hop = self.analysis.frames.hop_s if self.analysis is not None else 0.0
        self.controller.loop_stretch(finding.start_s, finding.end_s + hop)


class TonalView(SpectralView):
    """One small plot per role: its band levels relative to its loudness against the profile's median +- spread,
    with the tonal findings listed (and shaded on the role's plot).

    The plots sit two to a row in a scroll area and never get shorter than TONAL_PLOT_MIN_H: in a short view the
    first row shows and the others scroll into view (the role name is the plot's left label, so no title row costs
    height). The findings list below is a few lines tall and scrolls.
    """

    COLUMNS = 2

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(controller, parent)
        self._finish_bar()
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.setMinimumHeight(TONAL_PLOT_MIN_H)
        self.plot_area = QScrollArea()
        self.plot_area.setObjectName("tonalPlots")
        self.plot_area.setWidget(self.graphics)
        self.plot_area.setWidgetResizable(True)
        self.plot_area.setFrameShape(QFrame.Shape.NoFrame)
        self.plot_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.findings = QListWidget()
        self.findings.setObjectName("tonalFindings")
        self.findings.setWordWrap(True)
        lines = self.findings.fontMetrics().lineSpacing()
        self.findings.setMinimumHeight(2 * lines + 8)     # two lines: a finding is one or two lines long
        self.findings.setMaximumHeight(4 * lines + 10)
        self.findings.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.findings.currentRowChanged.connect(self._show_finding_plot)
        self.layout_.addWidget(self.plot_area, 1)
        self.layout_.addWidget(self.findings)
        self.plots: dict[str, pg.PlotItem] = {}   # kept while the roles stay the same (each owns its menus)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.bands: dict[str, pg.FillBetweenItem] = {}
        self._show_status()

    BODY_MIN_H = TONAL_PLOT_MIN_H

    def _body(self) -> QWidget:
        return self.plot_area

    def _full_body_h(self) -> int:
        return max(self.BODY_MIN_H, self.graphics.minimumHeight())   # every row of plots

    def summary(self) -> str:
        a = self.analysis
        n = len(a.review.tonal)
        head = f"{n} tonal finding(s)" if n else within_band_text(a.review.tonal_not_compared).capitalize()
        return " ".join([f"{head}; compared with {a.tonal_note}."] +
                        [not_compared_text(role) for role in a.review.tonal_not_compared])

    def show_analysis(self, analysis) -> None:
        self.clear()
        self.analysis = analysis
        bands_hz = analysis.frames.bands.centres_hz
        x = np.log10(bands_hz)
        shown = [f for f in HZ_TICKS if bands_hz[0] <= f <= bands_hz[-1] * 1.01]
        ticks = [[(math.log10(f), _hz_tick(f)) for f in shown if f in HZ_MAJOR],      # always labelled
                 [(math.log10(f), _hz_tick(f)) for f in shown if f not in HZ_MAJOR]]  # labelled when they fit
        roles = [r for r in ROLE_COLOURS if r in analysis.shapes] + [r for r in analysis.shapes
                                                                       if r not in ROLE_COLOURS]
        if list(self.plots) != roles:
            self.graphics.clear()
            self.plots = {}
        rows = max(1, math.ceil(len(roles) / self.COLUMNS))
        self.graphics.setMinimumHeight(rows * TONAL_PLOT_MIN_H)
        for i, role in enumerate(roles):
            plot = self._plot(role, i)
            plot.getAxis("bottom").setTicks(ticks)
            tone = analysis.tonal.roles.get(role) if analysis.tonal is not None else None
            if tone is not None:
                tx = np.log10(np.asarray(tone.bands_hz))
                median, spread = np.asarray(tone.median_db), np.asarray(tone.spread_db)
                low = pg.PlotDataItem(tx, median - spread, pen=pg.mkPen("#6c7a89", width=1))
                high = pg.PlotDataItem(tx, median + spread, pen=pg.mkPen("#6c7a89", width=1))
                band = pg.FillBetweenItem(low, high, brush=pg.mkBrush(108, 122, 137, 70))
                for item in (low, high, band):
                    plot.addItem(item)
                plot.plot(tx, median, pen=pg.mkPen("#9fb3c8", width=1, style=Qt.PenStyle.DashLine))
                self.bands[role] = band
            for f in analysis.review.tonal:
                if f.role == role:
                    shade = pg.LinearRegionItem((math.log10(f.low_hz), math.log10(f.high_hz)), movable=False,
                                                brush=pg.mkBrush(255, 138, 74, 50))
                    plot.addItem(shade)
            self.curves[role] = plot.plot(x, analysis.shapes[role], pen=pg.mkPen(ROLE_COLOURS.get(role, "#dddddd"),
                                                                                 width=2), name=role)
        for f in analysis.review.tonal:
            item = QListWidgetItem(f.text)
            item.setData(Qt.ItemDataRole.UserRole, f.role)
            self.findings.addItem(item)
        if not analysis.review.tonal:
            self.findings.addItem(QListWidgetItem("No role leaves its typical band by more than the margin."))
        self._show_status()
        if analysis.review.tonal:   # the first finding's plot in view, though its role is on a later row
            QTimer.singleShot(0, lambda: self.findings.setCurrentRow(0))

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        """An analysis shown while the tab was hidden laid its plots out at no height: scroll once they have one."""
        super().showEvent(event)
        QTimer.singleShot(0, lambda: self._show_finding_plot(self.findings.currentRow()))

    def _show_finding_plot(self, row: int) -> None:
        """Scroll the plots to the role of the finding chosen in the list."""
        item = self.findings.item(row) if row >= 0 else None
        role = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        if role not in self.plots:
            return
        roles = list(self.plots)
        rows = max(1, math.ceil(len(roles) / self.COLUMNS))
        height = self.graphics.height() / rows
        top = (roles.index(role) // self.COLUMNS) * height
        self.plot_area.ensureVisible(0, int(top + height / 2), 0, int(height / 2))

    def _plot(self, role: str, i: int) -> pg.PlotItem:
        """The role's plot, emptied (made once per set of roles)."""
        plot = self.plots.get(role)
        if plot is not None:
            plot.clear()
            return plot
        plot = self.graphics.addPlot(row=i // self.COLUMNS, col=i % self.COLUMNS)
        adopt_menus(self.graphics, plot)
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)   # the wheel scrolls the plots, it does not zoom one
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setYRange(-45, 15, padding=0.02)
        # no title row: height for the curve; dB against the role's own loudness (K-weighted), so 0 is its level
        plot.setLabel("left", f"{role} (dB)", color=ROLE_COLOURS.get(role, "#dddddd"))
        plot.getAxis("bottom").setStyle(textFillLimits=TICK_FILL_LIMITS)
        plot.getAxis("left").setTicks([[(v, str(v)) for v in (-40, -20, 0)], [(v, str(v)) for v in (-30, -10, 10)]])
        plot.getAxis("left").setStyle(textFillLimits=TICK_FILL_LIMITS)
        self.plots[role] = plot
        return plot

    def clear(self) -> None:
        super().clear()
        for plot in self.plots.values():
            plot.clear()
        self.curves.clear()
        self.bands.clear()
        self.findings.clear()
