"""Mix overview (min/max waveform per pixel column, selectable span, playhead) and the verdict timeline."""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
from PySide6.QtCore import QEvent, QObject, Qt  # noqa: E402
from PySide6.QtGui import QColor, QFont, QFontMetrics  # noqa: E402
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402

import pyqtgraph as pg  # noqa: E402

from model.advice.report import left_out_runs, left_out_words, timeline_notes  # noqa: E402
from model.audio.findings import clock  # noqa: E402

from mixingbuddy_app.widgets.out_of_date import fader, on_out_of_date_change  # noqa: E402

DIRECTION_COLOURS = {"increase": "#4aa3ff", "decrease": "#ff8a4a", "none": "#6c8a7a", "unparsed": "#555555",
                     "not_judged": "#555555"}
ARROWS = {"increase": "↑", "decrease": "↓", "none": "✓"}


def adopt_menus(widget: QWidget, plot_item: pg.PlotItem | None = None) -> None:
    """pyqtgraph creates its context menus without a parent; give them one so they die with the window.

    ``plot_item``: a plot inside ``widget`` (default: the PlotWidget's own), e.g. a ColorBarItem or a layout's plot.
    """
    pi = plot_item if plot_item is not None else widget.getPlotItem()
    roots = [getattr(pi, "ctrlMenu", None), getattr(pi.getViewBox(), "menu", None)]
    seen: set[int] = set()
    stack = [m for m in roots if m is not None]
    while stack:
        m = stack.pop()
        if id(m) in seen:
            continue
        seen.add(id(m))
        if m.parent() is None:
            m.setParent(widget, m.windowFlags())
        stack.extend(a.menu() for a in m.actions() if a.menu() is not None)
    for m in getattr(pi, "subMenus", []) or []:
        if m.parent() is None:
            m.setParent(widget, m.windowFlags())


class FittedTitle(QObject):
    """A plot's one-line title, elided to the width the plot has (whole in the title's tooltip).

    pyqtgraph makes a title's text width the plot's minimum width, and a PlotWidget narrower than its plot cuts
    the plot off on the right: at 1024 px the masking map's title hid its colour bar's scale.
    """

    def __init__(self, plot: pg.PlotWidget, color: str, points: float,
                 elide: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle) -> None:
        super().__init__(plot)
        self.plot, self.color, self.points, self.elide = plot, color, points, elide
        self.text: str | None = None
        self.shown_color = color
        self.shown: str | None = None
        plot.installEventFilter(self)                            # the widget resized
        plot.getPlotItem().getViewBox().sigResized.connect(self._fit)   # the plot laid out again

    def set(self, text: str | None, color: str | None = None) -> None:
        """Show ``text`` (None: no title), in ``color`` (default: the title's own)."""
        self.text, self.shown_color = text, color or self.color
        self.shown = None
        self._fit()

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._fit()
        return False

    def _fit(self, *_args) -> None:
        item = self.plot.getPlotItem()
        if self.text is None:
            self.shown = None
            item.setTitle(None)
            return
        beside = item.width() - item.getViewBox().width()   # axes and anything else beside the view box
        room = max(40, int(self.plot.width() - beside - 8))
        font = QFont(self.plot.font())
        font.setPointSizeF(self.points)
        shown = QFontMetrics(font).elidedText(self.text, self.elide, room)
        if shown != self.shown:   # (set() forgets what was shown, so a new text is always set)
            self.shown = shown
            item.setTitle(shown, color=self.shown_color, size=f"{self.points:g}pt")
            item.setGeometry(self.plot.range)   # laid out again now: a shorter title may let the plot fit the view
            item.titleLabel.setToolTip(self.text if shown != self.text else "")   # the plot keeps its own


def _plot(height: int | None = None) -> pg.PlotWidget:
    w = pg.PlotWidget(background="#1b1e23")
    adopt_menus(w)
    w.setMenuEnabled(False)
    w.hideButtons()
    pi = w.getPlotItem()
    pi.setMouseEnabled(x=False, y=False)
    pi.hideAxis("left")
    if height:
        w.setFixedHeight(height)
    return w


class MixOverview(QWidget):
    """Waveform of the mix with a draggable span (default: the whole song) and the playhead."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.duration = 0.0
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.plot = _plot()
        self.plot.setMinimumHeight(90)
        pi = self.plot.getPlotItem()
        pi.getAxis("bottom").setPen("#888")
        pi.getAxis("bottom").setTextPen("#aaa")
        pi.setYRange(-1.0, 1.0, padding=0.02)
        pi.getAxis("bottom").setLabel("time", units="s")
        # one vertical segment per pixel column, from its min to its max (cheap to draw, exact envelope)
        self.wave = pg.PlotCurveItem(pen=pg.mkPen("#6fa8d6", width=1), connect="pairs", antialias=False,
                                     skipFiniteCheck=True)
        pi.addItem(self.wave)
        self.region = pg.LinearRegionItem(values=(0, 1), brush=pg.mkBrush(255, 255, 255, 22),
                                          pen=pg.mkPen("#e0b341", width=2))
        self.region.setZValue(5)
        self.region.setToolTip("Span judged by Critique and looped by playback. Drag the edges or the body; "
                               "double-click the overview for the whole song.")
        pi.addItem(self.region)
        self.playhead = pg.InfiniteLine(pos=0, angle=90, movable=False, pen=pg.mkPen("#ffffff", width=2))
        self.playhead.setZValue(10)
        pi.addItem(self.playhead)
        self.timeline = VerdictStrip(self)
        self.timeline.plot.setXLink(self.plot)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.timeline)
        self.region.sigRegionChangeFinished.connect(self._region_moved)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        controller.overview_changed.connect(self.set_overview)
        controller.region_changed.connect(self.show_region)
        controller.tracks_changed.connect(self._tracks_changed)
        controller.advice_changed.connect(self.timeline.show_advice)
        on_out_of_date_change(controller, fader(self.timeline, 0.4).setEnabled)   # its verdicts no longer hold

    def _tracks_changed(self) -> None:
        p = self.controller.project
        self.duration = p.tracks.duration_s if p.tracks else 0.0
        self.plot.getPlotItem().setXRange(0, max(self.duration, 1.0), padding=0)
        self.region.setBounds((0, max(self.duration, 1.0)))
        self.show_region(p.region)

    def set_overview(self, data) -> None:
        mins, maxs, duration = data
        self.duration = duration
        x = np.linspace(0.0, duration, len(maxs))
        peak = float(max(np.max(np.abs(maxs)) if len(maxs) else 0.0, np.max(np.abs(mins)) if len(mins) else 0.0, 1e-6))
        scale = 1.0 / peak if peak > 1.0 else 1.0
        xs = np.repeat(x, 2)
        ys = np.empty(2 * len(maxs), dtype=np.float32)
        ys[0::2] = mins * scale
        ys[1::2] = maxs * scale
        self.wave.setData(xs, ys)
        self.plot.getPlotItem().setXRange(0, max(duration, 1.0), padding=0)

    def show_region(self, region) -> None:
        lo, hi = region if region else (0.0, max(self.duration, 1.0))
        self.region.blockSignals(True)
        self.region.setRegion((lo, hi))
        self.region.blockSignals(False)

    def _region_moved(self) -> None:
        lo, hi = self.region.getRegion()
        self.controller.set_region((float(lo), float(hi)))

    def _clicked(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or self.duration <= 0:
            return
        vb = self.plot.getPlotItem().getViewBox()
        x = vb.mapSceneToView(ev.scenePos()).x()
        if ev.double():
            self.controller.set_region(None)
            return
        self.controller.seek(min(max(0.0, x), self.duration))

    def set_playhead(self, seconds: float) -> None:
        self.playhead.setValue(seconds)


def window_agreement(v, advice) -> float:
    """How well one window's verdict agrees with the song verdict, 0..1 (the strip's opacity).

    Same role and direction: 1.0, or 0.8 when the severity category differs. A window that sees no
    issue while the song has one: 0.3; one pointing at another role: 0.15; the opposite direction
    on the same role, or an unparseable answer: 0. When the song verdict is "no issue" (or the
    advice abstains), balanced windows agree (1.0) and the rest score 0.3.
    """
    if v.category == "unparsed":
        return 0.0
    p = None if advice.abstained else advice.primary
    if p is None:
        return 1.0 if v.direction == "none" else 0.3
    if v.target == p.role and v.direction == p.direction:
        return 1.0 if v.category == p.category else 0.8
    if v.direction == "none":
        return 0.3
    if v.target == p.role:
        return 0.0
    return 0.15


class VerdictStrip(QWidget):
    """One block per judged window: colour by direction, opacity by confidence; the label names the verdict."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = _plot(34)
        pi = self.plot.getPlotItem()
        pi.hideAxis("bottom")
        pi.setYRange(0, 1, padding=0)
        layout.addWidget(self.plot)
        self.items: list = []
        self.colours: list[QColor] = []   # per window, for tests and screenshots
        self.alphas: list[float] = []
        self.labels: list[tuple[float, str, pg.TextItem]] = []   # (centre in s, text, item), left to right
        self.left_out: list[tuple[float, float, str]] = []        # windows no verdict covers: (start, end, why)
        vb = pi.getViewBox()
        vb.sigResized.connect(self.thin_labels)
        vb.sigXRangeChanged.connect(self.thin_labels)
        self.setToolTip(self.TOOLTIP)

    TOOLTIP = ("Per-window verdicts: blue = raise, orange = lower, green = balanced, grey = not judged (only the other "
               "instruments played beside the anchor); opacity = how well the window agrees with the song's verdict "
               "(fainter: disagrees, or below the activity gate). An outline only: a window left out.")

    def show_advice(self, advice) -> None:
        pi = self.plot.getPlotItem()
        for it in self.items:
            pi.removeItem(it)
        self.items.clear()
        self.colours = []
        self.alphas = []
        self.labels = []
        self.left_out = []
        self.setToolTip(self.TOOLTIP)
        if advice is None or not advice.windows:
            return
        if notes := timeline_notes(advice):   # what the suggestions rest on that no window verdict shows
            self.setToolTip(self.TOOLTIP + "\n" + "; ".join(f"{n[0].upper()}{n[1:]}" for n in notes) + ".")
        self._show_left_out(advice.left_out)
        runs: list = []
        for v in advice.windows:
            key = "unparsed" if v.category == "unparsed" else "not_judged" if v.judged_no_role else v.direction
            alpha = 0.5 if key == "not_judged" else 0.25 + 0.75 * window_agreement(v, advice)
            if not v.window.gated:
                alpha *= 0.5
            if not v.exact:
                alpha *= 0.8      # the parser's keyword fallback, not a template match
            self.alphas.append(alpha)
            c = QColor(DIRECTION_COLOURS.get(key, "#555555"))
            c.setAlphaF(max(0.1, min(1.0, alpha)))
            self.colours.append(c)
            bar = pg.BarGraphItem(x0=[v.window.start_s], x1=[v.window.end_s - 0.05], y0=[0.05], height=[0.9],
                                  brush=pg.mkBrush(c), pen=pg.mkPen(None))
            pi.addItem(bar)
            self.items.append(bar)
            label = ("?" if key == "unparsed" else "–" if key == "not_judged" else
                     "ok" if v.direction == "none" else f"{v.target} {ARROWS[v.direction]}")
            runs.append([v.window.start_s, v.window.end_s, label])
        for start, end, label in self._merge_runs(runs):
            t = pg.TextItem(label, color="#f0f0f0", anchor=(0.5, 0.5))
            t.setPos((start + end) / 2, 0.5)
            pi.addItem(t)
            self.items.append(t)
            self.labels.append(((start + end) / 2, label, t))
        self.thin_labels()

    def _show_left_out(self, left_out) -> None:
        """An outline for each window of the span that no verdict covers; the tooltip says why, run by run."""
        pi = self.plot.getPlotItem()
        for w in left_out:
            box = pg.BarGraphItem(x0=[w.start_s], x1=[w.end_s - 0.05], y0=[0.2], height=[0.6], brush=pg.mkBrush(None),
                                  pen=pg.mkPen(DIRECTION_COLOURS["not_judged"], width=1, style=Qt.PenStyle.DotLine))
            pi.addItem(box)
            self.items.append(box)
            self.left_out.append((w.start_s, w.end_s, w.reason))
        if self.left_out:
            lines = [f"{clock(w.start_s)}–{clock(w.end_s)}: {left_out_words(w, n, reads)}"
                     for w, n, reads in left_out_runs(left_out)]
            shown = lines[:8] + ([f"… and {len(lines) - 8} more"] if len(lines) > 8 else [])
            self.setToolTip(self.TOOLTIP + "\n\nLeft out, not judged:\n" + "\n".join(shown))

    @staticmethod
    def _merge_runs(runs: list) -> list:
        """Neighbouring windows with the same verdict share one label (centred on the run)."""
        merged: list = []
        for start, end, label in runs:
            if merged and merged[-1][2] == label and start - merged[-1][1] < 1.0:
                merged[-1][1] = end
            else:
                merged.append([start, end, label])
        return merged

    def thin_labels(self, *_args) -> None:
        """Show a label only where it does not overlap the one shown before it (left to right)."""
        if not self.labels:
            return
        vb = self.plot.getPlotItem().getViewBox()
        (x0, x1), _ = vb.viewRange()
        px_per_s = vb.width() / max(x1 - x0, 1e-9)
        fm = QFontMetrics(self.labels[0][2].textItem.font())
        right_edge = float("-inf")
        for x, text, item in self.labels:
            half = (fm.horizontalAdvance(text) + 8) / 2
            centre = (x - x0) * px_per_s
            show = centre - half >= right_edge
            item.setVisible(show)
            if show:
                right_edge = centre + half

    def label_extents(self) -> list[tuple[float, float, str]]:
        """(left px, right px, text) of every label shown (tests: they never overlap)."""
        vb = self.plot.getPlotItem().getViewBox()
        (x0, x1), _ = vb.viewRange()
        px_per_s = vb.width() / max(x1 - x0, 1e-9)
        out = []
        for x, text, item in self.labels:
            if item.isVisible():
                half = QFontMetrics(item.textItem.font()).horizontalAdvance(text) / 2
                out.append(((x - x0) * px_per_s - half, (x - x0) * px_per_s + half, text))
        return out
