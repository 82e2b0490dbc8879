"""Transport: play/pause, stop, loop the span, a 10 s span, time display; a 30 Hz playhead timer."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QToolButton, QWidget

from model.advice.report import clock

from mixingbuddy_app.playback import PREVIEW_BUS_NOTE


class Transport(QWidget):
    @staticmethod
    def _button(text: str, tip: str, slot) -> QToolButton:
        """A transport button that never takes keyboard focus (Space must reach the window)."""
        button = QToolButton(text=text)
        button.setToolTip(tip)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.clicked.connect(slot)
        return button

    def __init__(self, controller, overview=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.overview = overview
        h = QHBoxLayout(self)
        h.setContentsMargins(6, 2, 6, 2)
        self.play_button = self._button("▶ Play", "Play / pause (Space)", controller.toggle_play)
        self.stop_button = self._button("■ Stop", "Stop and return to the span start", controller.stop)
        self.loop_box = QCheckBox("Loop span")
        self.loop_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.loop_box.toggled.connect(controller.set_loop_enabled)
        controller.loop_changed.connect(self._show_loop)
        self.window_button = self._button("10 s span", "Set the span to 10 s from the playhead (drag it in the "
                                          "overview)", self._ten_seconds)
        self.whole_button = self._button("Whole song", "Set the span to the whole song",
                                         lambda: controller.set_region(None))
        self.time = QLabel("0:00.0 / 0:00.0")
        self.time.setObjectName("clock")
        self.time.setMinimumWidth(120)
        self.ab_label = QLabel("")
        self.ab_label.setObjectName("abLabel")
        self.note = QLabel("")
        self.note.setObjectName("busNote")
        self.note.setWordWrap(True)
        for w in (self.play_button, self.stop_button, self.loop_box, self.window_button, self.whole_button,
                  self.time, self.ab_label):
            h.addWidget(w)
        h.addWidget(self.note, 1)
        self._update_note()
        self.timer = QTimer(self)
        self.timer.setInterval(33)   # ~30 Hz
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        controller.transport_changed.connect(self._on_transport)
        controller.ab_changed.connect(self._on_ab)
        controller.gains_changed.connect(lambda: self._on_ab(controller.ab_state))  # Undo of an Apply: no A/B
        controller.tracks_changed.connect(self.tick)

    def _update_note(self) -> None:
        out = self.controller.output
        if out.available:
            self.note.setText(f"Output: {out.name} (preview bus: -6 dB headroom, soft limiter)")
            self.note.setToolTip(PREVIEW_BUS_NOTE)
            self.play_button.setEnabled(True)
            self.stop_button.setEnabled(True)
            self.play_button.setToolTip("Play / pause (Space)")
            self.stop_button.setToolTip("Stop and return to the span start")
        else:
            self.note.setText(f"Preview unavailable: {out.reason}. Everything else works.")
            why = f"Unavailable: no audio output ({out.reason}). Critique, Apply and sessions still work."
            for button in (self.play_button, self.stop_button):
                button.setEnabled(False)
                button.setToolTip(why)

    def _ten_seconds(self) -> None:
        p = self.controller.project
        if not p.tracks:
            return
        dur = p.tracks.duration_s
        start = min(self.controller.playhead_s(), max(0.0, dur - 10.0))
        self.controller.set_region((start, min(dur, start + 10.0)))

    def _show_loop(self, on: bool) -> None:
        """The controller turned the loop on or off (e.g. a masking finding was clicked)."""
        if self.loop_box.isChecked() != on:
            self.loop_box.blockSignals(True)
            self.loop_box.setChecked(on)
            self.loop_box.blockSignals(False)

    def _on_transport(self, playing: bool) -> None:
        self.play_button.setText("⏸ Pause" if playing else "▶ Play")

    def _on_ab(self, state: str) -> None:
        if state == "before":
            self.ab_label.setText(f"A/B: BEFORE ({self.controller.ab_offset_db:+.1f} dB level-matched)")
        else:
            self.ab_label.setText("A/B: after" if self.controller.can_ab() else "")

    def tick(self) -> None:
        c = self.controller
        pos = c.playhead_s()
        p = c.project
        dur = p.tracks.duration_s if p.tracks else 0.0
        self.time.setText(f"{clock(pos)} / {clock(dur)}")
        if self.overview is not None:
            self.overview.set_playhead(pos)
        playing = c.engine.playing
        if ("Pause" in self.play_button.text()) != playing:
            self._on_transport(playing)
        self._update_note() if not c.output.available and self.play_button.isEnabled() else None
