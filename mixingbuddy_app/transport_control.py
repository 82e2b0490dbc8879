"""Playback for the controller: transport, loop over the region, A/B (level-matched) and the overview waveform.

TransportMixin is mixed into ProjectController and uses its project, engine, output, jobs and signals.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer

from mixingbuddy_app.errors import ErrorReport
from mixingbuddy_app.jobs import JobKind
from mixingbuddy_app.playback import NullOutput, OutputError
from mixingbuddy_app.workers import OverviewJob


class TransportMixin:
    def _init_transport(self) -> None:
        self.ab_state = "after"                 # "after" | "before": which gains A/B plays
        self.ab_offset_db = 0.0                 # level match added to the "before" gains
        self.ab_offset_exact = False
        self.loop_enabled = False
        self._engine_ids: list[str] = []        # the track id of each row of the engine's buffer
        self._overview_timer = QTimer(self)
        self._overview_timer.setSingleShot(True)
        self._overview_timer.setInterval(120)
        self._overview_timer.timeout.connect(self._start_overview)

    # --- gains to the engine ---------------------------------------------------------------
    def gains_vector(self, gains=None) -> np.ndarray:
        """Linear gains per row of the engine's buffer (0 for rows whose track was removed since)."""
        p = self.project
        if not p.tracks or not self._engine_ids:
            return np.zeros(len(self._engine_ids), dtype=np.float32)
        gains = gains or p.gains()
        by_id = {t.id: t for t in p.tracks.tracks}
        return np.array([gains.linear(by_id[i]) if i in by_id else 0.0 for i in self._engine_ids],
                        dtype=np.float32)

    def _push_gains(self, say_refined: bool = True) -> None:
        """Send the audible gains to the engine (swapped by reference), honouring A/B (``say_refined``: say when
        the level match, said as estimated, is now measured)."""
        p = self.project
        if self.ab_state == "before" and p.ab_gains() is not None:
            estimated = not self.ab_offset_exact
            self.ab_offset_db, self.ab_offset_exact = p.ab_match_offset()
            if say_refined and estimated and self.ab_offset_exact:   # the meters finished
                self.status.emit(f"A/B: hearing BEFORE the change, level-matched ({self.ab_offset_db:+.1f} dB, "
                                 "measured).")
            g = self.gains_vector(p.ab_gains()) * np.float32(10.0 ** (self.ab_offset_db / 20.0))
        else:
            g = self.gains_vector()
        if self.engine.n_tracks == len(g):
            self.engine.set_gains(g)
        self._overview_timer.start()

    # --- A/B ---------------------------------------------------------------------------------
    def can_ab(self) -> bool:
        """A/B needs a 'before' that differs from the mix (Undo of the Apply leaves nothing to compare)."""
        ref = self.project.ab_reference
        return ref is not None and ref != self.project.gain_state()

    def toggle_ab(self) -> str:
        if not self.can_ab():
            self.status.emit("A/B needs an applied suggestion (before vs after).")
            return self.ab_state
        self.ab_state = "before" if self.ab_state == "after" else "after"
        self._push_gains(say_refined=False)
        self.ab_changed.emit(self.ab_state)
        if self.ab_state == "before":
            how = "measured" if self.ab_offset_exact else "estimated; refined when the meters finish"
            self.status.emit(f"A/B: hearing BEFORE the change, level-matched ({self.ab_offset_db:+.1f} dB, {how}).")
        else:
            self.status.emit("A/B: hearing AFTER the change.")
        return self.ab_state

    # --- loop ----------------------------------------------------------------------------------
    def _apply_loop(self) -> None:
        r = self.project.region
        rate = self.engine.sample_rate
        if r is None:
            self.engine.set_loop(None, None) if not self.loop_enabled else self.engine.set_loop(0, self.engine.frames)
        elif self.loop_enabled:
            self.engine.set_loop(int(r[0] * rate), int(r[1] * rate))
        else:
            self.engine.set_loop(None, None)

    def set_loop_enabled(self, on: bool) -> None:
        changed = self.loop_enabled != bool(on)
        self.loop_enabled = bool(on)
        self._apply_loop()
        if changed:
            self.loop_changed.emit(self.loop_enabled)

    # --- transport ---------------------------------------------------------------------------
    def play(self) -> None:
        if not self.output.available:
            self.status.emit(f"Preview unavailable: {self.output.reason}.")
            return
        if self.engine.frames == 0:
            return
        try:
            self.output.open(self.engine)
        except OutputError as exc:
            self.output = NullOutput(str(exc))
            self.error.emit(ErrorReport("Preview unavailable", str(exc), "", "warning"))
            return
        if self.project.region and not self.loop_enabled:
            pos = self.engine.position
            a, b = (int(x * self.engine.sample_rate) for x in self.project.region)
            if not a <= pos < b:
                self.engine.seek(a)
        self.engine.start()
        self.transport_changed.emit(True)

    def pause(self) -> None:
        self.engine.playing = False
        self.transport_changed.emit(False)

    def toggle_play(self) -> None:
        self.pause() if self.engine.playing else self.play()

    def stop(self) -> None:
        self.engine.playing = False
        start = self.project.region[0] if self.project.region else 0.0
        self.engine.seek(int(start * self.engine.sample_rate))
        self.transport_changed.emit(False)

    def seek(self, seconds: float) -> None:
        self.engine.seek(int(max(0.0, seconds) * self.engine.sample_rate))

    def playhead_s(self) -> float:
        """Frame counter minus the output latency, in seconds."""
        e = self.engine
        if e.frames == 0:
            return 0.0
        pending = e.pending_seek
        pos = e.position if pending is None else pending
        if e.playing and pending is None:
            pos -= int(self.output.latency_s * e.sample_rate)
        return max(0.0, pos / e.sample_rate)

    # --- overview ------------------------------------------------------------------------------
    def _start_overview(self) -> None:
        if self.engine.frames == 0:
            return
        job = self.jobs.start(JobKind.OVERVIEW,
                              lambda job_id: OverviewJob(job_id, self.engine.buffer, self.gains_vector()))
        job.signals.finished.connect(self._on_overview)
        job.signals.failed.connect(lambda job_id, report: self.jobs.finish(JobKind.OVERVIEW, job_id))
        self.pool.start(job)

    def _on_overview(self, job_id: int, result) -> None:
        if not self.jobs.finish(JobKind.OVERVIEW, job_id):
            return
        mins, maxs = result
        self.overview_changed.emit((mins, maxs, self.engine.frames / self.engine.sample_rate))

