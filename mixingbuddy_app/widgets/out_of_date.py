"""Showing that a critique no longer describes the mix: the signals that can make it so, and a fade."""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QGraphicsOpacityEffect, QWidget

#: What says a critique is out of date is written in the warning amber.
STALE_COLOUR = "#ffd479"


def on_out_of_date_change(controller, show: Callable[[bool], None]) -> None:
    """Call ``show(out_of_date)`` whenever the critique may have gone out of date or become current again."""
    for signal in (controller.advice_changed, controller.anchor_changed, controller.gains_changed,
                   controller.region_changed, controller.profile_changed):
        signal.connect(lambda *_a: show(bool(controller.advice_out_of_date())))


def fader(widget: QWidget, opacity: float = 0.5) -> QGraphicsOpacityEffect:
    """An opacity effect on ``widget``, off until enabled (the widget owns it)."""
    effect = QGraphicsOpacityEffect(widget)
    effect.setOpacity(opacity)
    effect.setEnabled(False)
    widget.setGraphicsEffect(effect)
    return effect
