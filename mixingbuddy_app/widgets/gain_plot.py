"""Per-role bar chart of the suggested gain change: range as an error bar, 0 dB line, anchor marked."""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402

import pyqtgraph as pg  # noqa: E402

from model.audio.roles import ROLES  # noqa: E402

from mixingbuddy_app.widgets.overview import DIRECTION_COLOURS, adopt_menus  # noqa: E402

Y_LIMIT = 13.0


class GainPlot(QWidget):
    """One bar per role: the suggested change in dB (0 when none), its range, and the current role gain (◆)."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget(background="#1b1e23")
        adopt_menus(self.plot)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMinimumHeight(120)
        layout.addWidget(self.plot)
        pi = self.plot.getPlotItem()
        pi.setMouseEnabled(x=False, y=False)
        pi.setYRange(-Y_LIMIT, Y_LIMIT, padding=0)
        pi.setXRange(-0.6, len(ROLES) - 0.4, padding=0)
        pi.getAxis("left").setLabel("change", units="dB")
        pi.getAxis("left").setTextPen("#aaa")
        pi.getAxis("bottom").setTextPen("#ddd")
        pi.showGrid(y=True, alpha=0.15)
        pi.setTitle("<span style='color:#b9c3ce; font-size:9pt'>Suggested change per role</span>")
        self.plot.setToolTip("Bar: the suggested change in dB (fainter: not the headline) · whisker: its range · "
                             "◆: the role gain now · ⚓: the anchor")
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#bbbbbb", width=1))
        pi.addItem(self.zero)
        self.bars = pg.BarGraphItem(x=np.arange(len(ROLES)), height=np.zeros(len(ROLES)), width=0.55,
                                    brushes=[pg.mkBrush("#555")] * len(ROLES))
        pi.addItem(self.bars)
        self.errors = pg.ErrorBarItem(x=np.arange(len(ROLES)), y=np.zeros(len(ROLES)), top=np.zeros(len(ROLES)),
                                      bottom=np.zeros(len(ROLES)), beam=0.25, pen=pg.mkPen("#f0f0f0", width=2))
        pi.addItem(self.errors)
        self.current = pg.ScatterPlotItem(symbol="d", size=11, brush=pg.mkBrush("#e0b341"), pen=pg.mkPen("#222"))
        self.current.setToolTip("◆ current role gain")
        pi.addItem(self.current)
        self.anchor_text = pg.TextItem("anchor", color="#9fb3c8", anchor=(0.5, 1.0))
        pi.addItem(self.anchor_text)
        self.value_texts = [pg.TextItem("", color="#f0f0f0", anchor=(0.5, 1.0)) for _ in ROLES]
        for t in self.value_texts:
            pi.addItem(t)
        self._heights = {r: 0.0 for r in ROLES}
        self._ranges: dict[str, tuple[float, float]] = {}
        self._labels()
        controller.advice_changed.connect(self.show_advice)
        controller.anchor_changed.connect(lambda _a: self._labels())
        controller.gains_changed.connect(self._show_current)
        controller.tracks_changed.connect(self._labels)

    def _labels(self) -> None:
        anchor = self.controller.project.anchor
        ticks = [(i, f"{r} ⚓" if r == anchor else r) for i, r in enumerate(ROLES)]
        self.plot.getPlotItem().getAxis("bottom").setTicks([ticks])
        if anchor in ROLES:
            self.anchor_text.setPos(ROLES.index(anchor), Y_LIMIT - 0.5)
            self.anchor_text.setVisible(True)
        else:
            self.anchor_text.setVisible(False)
        self._show_current()

    def _show_current(self) -> None:
        p = self.controller.project
        present = set(p.roles_present())
        xs = [i for i, r in enumerate(ROLES) if r in present]
        self.current.setData(x=xs, y=[max(-Y_LIMIT, min(Y_LIMIT, p.role_db.get(ROLES[i], 0.0))) for i in xs])

    def show_advice(self, advice) -> None:
        heights = np.zeros(len(ROLES))
        y = np.zeros(len(ROLES))
        top = np.zeros(len(ROLES))
        bottom = np.zeros(len(ROLES))
        brushes = [pg.mkBrush("#555")] * len(ROLES)
        self._ranges = {}
        for t in self.value_texts:
            t.setText("")
        if advice is not None and not advice.abstained:
            for s in advice.suggestions:
                if s.role not in ROLES:
                    continue
                i = ROLES.index(s.role)
                heights[i] = s.delta_db
                lo, hi = (s.min_db, s.max_db) if s.direction == "increase" else (-s.max_db, -s.min_db)
                self._ranges[s.role] = (lo, hi)
                y[i] = s.delta_db
                top[i] = max(0.0, hi - s.delta_db)
                bottom[i] = max(0.0, s.delta_db - lo)
                c = pg.mkColor(DIRECTION_COLOURS.get(s.direction, "#777"))
                primary = advice.primary is not None and advice.primary.role == s.role
                c.setAlphaF(1.0 if primary else 0.55)
                brushes[i] = pg.mkBrush(c)
                # beyond the whisker's end, centred on the bar: never beside it (the next bar's label would
                # collide), never on the whisker, and never past the plot's edge
                self.value_texts[i].setText(f"{s.delta_db:+.1f} dB")
                up = s.delta_db >= 0
                self.value_texts[i].setAnchor((0.5, 1.0) if up else (0.5, 0.0))
                y_text = hi + 0.4 if up else lo - 0.4
                self.value_texts[i].setPos(i, max(-Y_LIMIT + 2.5, min(Y_LIMIT - 2.5, y_text)))
        self._heights = {r: float(heights[i]) for i, r in enumerate(ROLES)}
        self.bars.setOpts(height=heights, brushes=brushes)
        self.errors.setData(x=np.arange(len(ROLES)), y=y, top=top, bottom=bottom)

    def bar_heights(self) -> dict[str, float]:
        return dict(self._heights)

    def bar_ranges(self) -> dict[str, tuple[float, float]]:
        return dict(self._ranges)
