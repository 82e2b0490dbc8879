"""Per-role bar chart of the suggested gain change: range as an error bar, 0 dB line, anchor marked."""

from __future__ import annotations

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QVBoxLayout, QWidget  # noqa: E402

import pyqtgraph as pg  # noqa: E402

from model.advice.report import not_judged  # noqa: E402
from model.audio.roles import ROLES  # noqa: E402

from mixingbuddy_app.widgets.out_of_date import STALE_COLOUR, on_out_of_date_change  # noqa: E402
from mixingbuddy_app.widgets.overview import DIRECTION_COLOURS, FittedTitle, adopt_menus  # noqa: E402

Y_LIMIT = 13.0       # the least the chart shows either side of 0 dB; it grows to fit a label that would not fit
X_MARGIN = 0.6       # the least the chart shows beside the first and the last bar
LABEL_GAP_PX = 4     # between a whisker's end and its value label
MAX_LABEL_SHARE = 0.5   # of the plot's height or width one label may take however small the plot gets
DIAMOND_PX = 11      # the role-gain marker's size


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
        self.title = FittedTitle(self.plot, "#b9c3ce", 9, Qt.TextElideMode.ElideRight)
        self._title(False)
        self.plot.setToolTip("Bar: the suggested change in dB (fainter: not the headline) · whisker: its range · "
                             "◆: the role gain now · ⚓: the anchor · not judged: the critique could not judge "
                             "the role (it never plays with the anchor in the span), so it suggests nothing for it")
        self.zero = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#bbbbbb", width=1))
        pi.addItem(self.zero)
        self.bars = pg.BarGraphItem(x=np.arange(len(ROLES)), height=np.zeros(len(ROLES)), width=0.55,
                                    brushes=[pg.mkBrush("#555")] * len(ROLES))
        pi.addItem(self.bars)
        self.errors = pg.ErrorBarItem(x=np.arange(len(ROLES)), y=np.zeros(len(ROLES)), top=np.zeros(len(ROLES)),
                                      bottom=np.zeros(len(ROLES)), beam=0.25, pen=pg.mkPen("#f0f0f0", width=2))
        pi.addItem(self.errors)
        self.current = pg.ScatterPlotItem(symbol="d", size=DIAMOND_PX, brush=pg.mkBrush("#e0b341"),
                                          pen=pg.mkPen("#222"))
        self.current.setToolTip("◆ current role gain")
        pi.addItem(self.current)
        self.anchor_text = pg.TextItem("anchor", color="#9fb3c8", anchor=(0.5, 0.0))   # hangs from the top
        self.value_texts = [pg.TextItem("", color="#f0f0f0", anchor=(0.5, 1.0)) for _ in ROLES]
        #: "not judged" above the zero line of a role the advice could not judge (no bar is not "no change")
        self.unjudged_texts = [pg.TextItem("not judged", color="#8a96a3", anchor=(0.5, 1.0)) for _ in ROLES]
        for t in self.unjudged_texts:
            t.setVisible(False)
        for t in (self.anchor_text, *self.value_texts, *self.unjudged_texts):
            t.textItem.document().setDocumentMargin(1)   # not Qt's 4 px: a short chart keeps more room for bars
            pi.addItem(t)
        self._heights = {r: 0.0 for r in ROLES}
        self._ranges: dict[str, tuple[float, float]] = {}
        self._label_ends: dict[int, float] = {}   # bar index -> the signed whisker end its value label sits beyond
        self._labels()
        # labels keep their size in pixels: how much of the dB scale they take depends on the plot's size
        pi.getViewBox().sigResized.connect(lambda _vb: self._fit_labels())
        controller.advice_changed.connect(self.show_advice)
        controller.anchor_changed.connect(lambda _a: self._labels())
        controller.gains_changed.connect(self._show_current)
        controller.tracks_changed.connect(self._labels)
        on_out_of_date_change(controller, self._show_out_of_date)

    def _title(self, out_of_date: bool) -> None:
        if out_of_date:   # said first, so that a title cut short for a narrow plot still says it
            self.title.set("Out of date (Critique again): suggested change per role", STALE_COLOUR)
        else:
            self.title.set("Suggested change per role")

    def _show_out_of_date(self, stale: bool) -> None:
        """The bars of a critique that no longer describes the mix fade, and the title says so."""
        for item in (self.bars, self.errors, *self.value_texts):
            item.setOpacity(0.35 if stale else 1.0)
        self._title(stale)

    def _labels(self) -> None:
        p = self.controller.project
        anchor, present = p.anchor, set(p.roles_present())
        # a role no track has gets no bar nor marker: say so, or its empty column reads as "leave it as it is"
        ticks = [(i, f"{r} ⚓" if r == anchor else r if r in present or not p.tracks else f"{r} (absent)")
                 for i, r in enumerate(ROLES)]
        self._role_labels = [text for _i, text in ticks]
        self.plot.getPlotItem().getAxis("bottom").setTicks([ticks])
        self.anchor_text.setVisible(anchor in ROLES)
        self._fit_labels()
        self._show_current()

    def _show_current(self) -> None:
        p = self.controller.project
        present = set(p.roles_present())
        xs = [i for i, r in enumerate(ROLES) if r in present]
        self.current.setData(x=xs, y=[max(-Y_LIMIT, min(Y_LIMIT, p.role_db.get(ROLES[i], 0.0))) for i in xs])
        self._place_unjudged()

    def show_advice(self, advice) -> None:
        heights = np.zeros(len(ROLES))
        y = np.zeros(len(ROLES))
        top = np.zeros(len(ROLES))
        bottom = np.zeros(len(ROLES))
        brushes = [pg.mkBrush("#555")] * len(ROLES)
        self._ranges = {}
        self._label_ends = {}
        for t in self.value_texts:
            t.setText("")
        measured = (advice.measurements or {}).get("roles", {}) if advice is not None else {}
        for i, role in enumerate(ROLES):
            self.unjudged_texts[i].setVisible(role in measured and not_judged(advice, role))
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
                self.value_texts[i].setText(f"{s.delta_db:+.1f} dB")
                self._label_ends[i] = hi if s.delta_db >= 0 else lo
        self._heights = {r: float(heights[i]) for i, r in enumerate(ROLES)}
        self.bars.setOpts(height=heights, brushes=brushes)
        self.errors.setData(x=np.arange(len(ROLES)), y=y, top=top, bottom=bottom)
        self._fit_labels()

    def _fit_labels(self) -> None:
        """Place each value label beyond its whisker's end, centred on its bar (never beside it, where the next
        bar's label would collide, nor on the whisker), and widen the view just enough that every label, bar and
        whisker lies fully inside it at the plot's current size in pixels."""
        vb = self.plot.getPlotItem().getViewBox()
        width_px, height_px = vb.width(), vb.height()
        if width_px <= 0 or height_px <= 0:   # not laid out yet: sigResized calls again
            return
        last = len(ROLES) - 1
        # symmetric about 0 dB: a label h px tall beyond |end| needs R >= |end| + h * 2R / height_px
        # (a label above the anchor's bar also leaves room for the "anchor" label hanging from the top)
        anchor = self.controller.project.anchor
        at = ROLES.index(anchor) if anchor in ROLES else None
        y_limit = Y_LIMIT
        for i, end in self._label_ends.items():
            h = self._text_size(self.value_texts[i])[1] + LABEL_GAP_PX
            if i == at and end >= 0:
                h += self._text_size(self.anchor_text)[1]
            y_limit = max(y_limit, abs(end) / (1 - min(h * 2 / height_px, MAX_LABEL_SHARE)))
        # a label w px wide centred on the first or last bar needs m >= w/2 * (last + 2m) / width_px
        margin = X_MARGIN
        shown = [(i, self.value_texts[i]) for i in self._label_ends]
        if at is not None:
            shown.append((at, self.anchor_text))
        for i, t in shown:
            if i in (0, last):
                k = min(self._text_size(t)[0] / 2 / width_px, MAX_LABEL_SHARE / 2)
                margin = max(margin, k * last / (1 - 2 * k))
        pi = self.plot.getPlotItem()
        pi.setYRange(-y_limit, y_limit, padding=0)
        pi.setXRange(-margin, last + margin, padding=0)
        gap = LABEL_GAP_PX * 2 * y_limit / height_px
        for i, end in self._label_ends.items():
            self.value_texts[i].setAnchor((0.5, 1.0) if end >= 0 else (0.5, 0.0))
            self.value_texts[i].setPos(i, end + gap if end >= 0 else end - gap)
        if at is not None:
            self.anchor_text.setPos(at, y_limit)
        self._place_unjudged()

    def _place_unjudged(self) -> None:
        """Each "not judged" label just above its role's gain marker (◆)."""
        vb = self.plot.getPlotItem().getViewBox()
        if vb.height() <= 0:
            return
        low, high = vb.viewRange()[1]
        lift = (LABEL_GAP_PX + DIAMOND_PX / 2) * (high - low) / vb.height()
        role_db = self.controller.project.role_db
        for i, (role, t) in enumerate(zip(ROLES, self.unjudged_texts)):
            t.setPos(i, max(0.0, min(Y_LIMIT, role_db.get(role, 0.0))) + lift)

    @staticmethod
    def _text_size(text: pg.TextItem) -> tuple[float, float]:
        """A label's width and height in pixels (a TextItem keeps its size whatever the view's scale)."""
        r = text.textItem.boundingRect()
        return r.width(), r.height()

    def bar_heights(self) -> dict[str, float]:
        return dict(self._heights)

    def bar_ranges(self) -> dict[str, tuple[float, float]]:
        return dict(self._ranges)

    def role_labels(self) -> list[str]:
        """The roles' names under their bars, as drawn ("vocals ⚓", "bass (absent)")."""
        return list(self._role_labels)

    def unjudged_roles(self) -> list[str]:
        """The roles marked "not judged"."""
        return [r for r, t in zip(ROLES, self.unjudged_texts) if t.isVisible()]
