"""ProjectController: the only writer of MixProject; owns the MixEngine and talks to the workers.

Widgets call its methods and listen to its ``*_changed`` signals. It never blocks: loading and
critiques run on worker threads, and results carry ids so stale ones are dropped.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Iterable

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from model.advice.types import Advice
from model.errors import InputError, MixingBuddyError
from model.audio.roles import ROLES
from model.audio.tracks import TrackSet

from mixingbuddy_app.cli import advice_to_json
from mixingbuddy_app.errors import ErrorReport
from mixingbuddy_app.playback import MixEngine, NullOutput, OutputError
from mixingbuddy_app.project import (GAIN_MAX_DB, GAIN_MIN_DB, ApplyResult, ExactLoudness, MixProject,
                                     PendingSession, atomic_write_text, finite_json, read_session,
                                     recheck_verdict)
from mixingbuddy_app.workers import (AdvisorWorker, LoadOutcome, LoadTracksJob, MeasureJob, OverviewJob,
                                     balance_factory)

MEASURE_DEBOUNCE_MS = 150


class ProjectController(QObject):
    tracks_changed = Signal()
    gains_changed = Signal()
    anchor_changed = Signal(str)
    region_changed = Signal(object)          # (start_s, end_s) | None
    advice_changed = Signal(object)          # Advice | None
    busy_changed = Signal(bool, str)         # critique running, what
    loading_changed = Signal(bool, str)
    progress = Signal(float, str)
    error = Signal(object)                   # ErrorReport -> banner
    status = Signal(str)                     # status bar text
    files_failed = Signal(list)              # [(path, reason)]
    files_missing = Signal(list)             # [absolute path] of a session being opened
    recheck_done = Signal(str, str)          # label, sentence
    apply_done = Signal(object)              # ApplyResult
    ab_changed = Signal(str)                 # "after" | "before"
    overview_changed = Signal(object)        # (mins, maxs, duration_s)
    session_changed = Signal(str)
    advisor_changed = Signal(str)
    transport_changed = Signal(bool)         # playing
    loudness_changed = Signal(bool)          # the meters' values changed; True when they are exact

    def __init__(self, worker: AdvisorWorker, output=None, project: MixProject | None = None,
                 pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project or MixProject()
        self.worker = worker
        self.output = output or NullOutput("no audio output")
        self.engine = MixEngine()
        self.pool = pool or QThreadPool.globalInstance()
        self._jobs: dict[int, object] = {}
        self._load_id = 0
        self._overview_id = 0
        self._pending: tuple[int, int, str] | None = None   # (request id, revision, kind)
        self._pending_session: PendingSession | None = None
        self.dropped_results = 0
        self.ab_state = "after"
        self.ab_offset_db = 0.0
        self.advisor_label = ""
        self._profile = None
        self._overview_timer = QTimer(self)
        self._overview_timer.setSingleShot(True)
        self._overview_timer.setInterval(120)
        self._overview_timer.timeout.connect(self._start_overview)
        self._engine_ids: list[str] = []     # the track id of each row of the engine's buffer
        self._removed_paths: set[str] = set()
        self._measure_id = 0
        self._measure_running: int | None = None
        self._measure_again = False
        self._measure_timer = QTimer(self)
        self._measure_timer.setSingleShot(True)
        self._measure_timer.setInterval(MEASURE_DEBOUNCE_MS)
        self._measure_timer.timeout.connect(self._start_measure)
        worker.advice_ready.connect(self._on_advice_ready)
        worker.advice_failed.connect(self._on_advice_failed)
        worker.progress.connect(self._on_progress)
        worker.advisor_changed.connect(self._on_advisor_changed)

    # --- state helpers -------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._pending is not None

    @property
    def loading(self) -> bool:
        return any(isinstance(j, LoadTracksJob) for j in self._jobs.values())

    def gains_vector(self, gains=None) -> np.ndarray:
        """Linear gains per row of the engine's buffer (0 for rows whose track was removed since)."""
        p = self.project
        if not p.tracks or not self._engine_ids:
            return np.zeros(len(self._engine_ids), dtype=np.float32)
        gains = gains or p.gains()
        by_id = {t.id: t for t in p.tracks.tracks}
        return np.array([gains.linear(by_id[i]) if i in by_id else 0.0 for i in self._engine_ids],
                        dtype=np.float32)

    def _push_gains(self) -> None:
        """Send the audible gains to the engine (swapped by reference), honouring A/B."""
        p = self.project
        if self.ab_state == "before" and p.ab_gains() is not None:
            self.ab_offset_db, self.ab_offset_exact = p.ab_match_offset()
            g = self.gains_vector(p.ab_gains()) * np.float32(10.0 ** (self.ab_offset_db / 20.0))
        else:
            g = self.gains_vector()
        if self.engine.n_tracks == len(g):
            self.engine.set_gains(g)
        self._overview_timer.start()

    ab_offset_exact = False

    # --- exact meters (model.audio.measure.measure_session on the thread pool) -------------
    def schedule_measure(self) -> None:
        """Re-measure the role and mix loudness after a debounce (the latest request wins)."""
        if self.project.loudness_key() is None:
            self._measure_timer.stop()
            return
        self._measure_timer.start()

    def _measure_requests(self) -> list:
        p = self.project
        out = []
        for gains in (p.gains(), p.ab_gains()):
            if gains is None:
                continue
            key = p.loudness_key(gains)
            if key is not None and not p.loudness_is_exact(gains) and all(k != key for k, _ in out):
                out.append((key, p.measure_request(gains)))
        return out

    def _start_measure(self) -> None:
        if self._measure_running is not None:
            self._measure_again = True       # one job at a time; the newest state is measured next
            return
        requests = self._measure_requests()
        if not requests:
            return
        self._measure_id += 1
        job = MeasureJob(self._measure_id, requests)
        job.signals.finished.connect(self._on_measured)
        job.signals.failed.connect(self._on_measure_failed)
        self._jobs[self._measure_id + 2 * 10**9] = job
        self._measure_running = self._measure_id
        self.pool.start(job)

    def _measure_done(self, job_id: int) -> None:
        self._jobs.pop(job_id + 2 * 10**9, None)
        if self._measure_running == job_id:
            self._measure_running = None
        if self._measure_again:
            self._measure_again = False
            self._measure_timer.start()

    def _on_measured(self, job_id: int, results) -> None:
        self._measure_done(job_id)
        p = self.project
        wanted = {p.loudness_key(), p.loudness_key(p.ab_gains()) if p.ab_gains() is not None else None}
        used = False
        for key, roles, mix in results:
            if key in wanted:                # results for a mix that changed since are dropped
                p.set_exact_loudness(key, ExactLoudness(roles, mix))
                used = True
        if not used:
            return                           # the mix changed while measuring: a newer job follows
        if self.ab_state == "before":
            self._push_gains()
            self.ab_changed.emit(self.ab_state)
        self.loudness_changed.emit(p.loudness_is_exact())

    def _on_measure_failed(self, job_id: int, report: ErrorReport) -> None:
        self._measure_done(job_id)
        self.status.emit(f"Meters show the quick estimate (≈): {report.message}")

    def _gains_edited(self) -> None:
        if self.ab_state == "before":
            self.ab_state = "after"
            self.ab_changed.emit("after")
        self._push_gains()
        self.schedule_measure()
        self.gains_changed.emit()

    # --- loading -------------------------------------------------------------------
    def add_paths(self, paths: Iterable[str], replace: bool = False) -> None:
        """Load files and folders (added to the current ones unless ``replace``); off the GUI thread."""
        new = [str(Path(p)) for p in paths]
        if not new:
            return
        p = self.project
        existing = [] if replace or not p.tracks else [t.path for t in p.tracks.tracks]
        seen, ordered = set(), []
        for x in existing + new:
            key = os.path.abspath(x)
            if key not in seen:
                seen.add(key)
                ordered.append(x)
        overrides = {} if replace or not p.tracks else {
            t.path: t.role.role for t in p.tracks.tracks if t.role.source == "user"}
        if replace:
            self._removed_paths.clear()
        self._removed_paths -= {os.path.abspath(x) for x in new}
        keep = None if replace else p.tracks  # files already loaded and unchanged are not decoded again
        self._start_load(ordered, overrides, None, keep)

    def _start_load(self, paths: list[str], overrides: dict, context, loaded: TrackSet | None = None) -> None:
        self._load_id += 1
        job = LoadTracksJob(self._load_id, paths, overrides, context, loaded,
                            dict(self.project.lufs) if loaded is not None else None)
        job.signals.finished.connect(self._on_loaded)
        job.signals.failed.connect(self._on_load_failed)
        job.signals.progress.connect(self._on_load_progress)
        self._jobs[self._load_id] = job
        self.loading_changed.emit(True, f"Loading {len(paths)} item(s)…")
        self.pool.start(job)

    def _on_load_progress(self, job_id: int, frac: float, msg: str) -> None:
        if job_id == self._load_id:
            self.progress.emit(frac, msg)

    def _finish_job(self, job_id: int) -> bool:
        self._jobs.pop(job_id, None)
        current = job_id == self._load_id
        if current:
            self.loading_changed.emit(False, "")
        return current

    def _on_load_failed(self, job_id: int, report: ErrorReport) -> None:
        if not self._finish_job(job_id):
            return
        self.error.emit(report)
        self.status.emit(report.message)

    def _on_loaded(self, job_id: int, outcome: LoadOutcome) -> None:
        if not self._finish_job(job_id):
            return  # a newer load superseded this one
        p = self.project
        tracks = outcome.tracks
        if not isinstance(outcome.context, PendingSession) and self._removed_paths:
            # tracks removed while this load was running stay removed (their buffer rows get gain 0)
            keep = tuple(t for t in tracks.tracks if os.path.abspath(t.path) not in self._removed_paths)
            if len(keep) != len(tracks.tracks):
                tracks = type(tracks)(keep, tracks.sample_rate)
        if (not isinstance(outcome.context, PendingSession) and p.tracks and outcome.failed
                and [(t.id, os.path.abspath(t.path)) for t in tracks.tracks]
                == [(t.id, os.path.abspath(t.path)) for t in p.tracks.tracks]):
            # nothing new could be loaded: the open session stays exactly as it was (advice, undo, revision)
            p.failed = tuple(outcome.failed)
            self.tracks_changed.emit()
            self._report_failed(outcome.failed)
            return
        try:
            if isinstance(outcome.context, PendingSession):
                self._removed_paths.clear()
                p.apply_session(outcome.context, tracks, outcome.lufs, outcome.findings, outcome.notes,
                                outcome.failed)
                self.session_changed.emit(str(outcome.context.path))
            elif tracks.tracks:
                p.set_tracks(tracks, outcome.lufs, outcome.findings, outcome.notes, outcome.failed)
                p.set_advice(None)
            else:
                p.clear_tracks()
        except Exception as exc:   # never let a bad session or load take the window down
            self.error.emit(ErrorReport.from_exception(exc, "Loading failed"))
            return
        was_playing = self.engine.playing
        self._engine_ids = [t.id for t in outcome.tracks.tracks] if p.tracks else []
        self.engine.set_buffer(outcome.buffer if p.tracks else np.zeros((0, 0, 2), dtype=np.float32),
                               self.gains_vector(), outcome.tracks.sample_rate)
        if self.engine.position >= self.engine.frames:
            self.engine.seek(0)
        self._apply_loop()
        self.ab_state = "after"
        self.tracks_changed.emit()
        self.anchor_changed.emit(p.anchor or "")
        self.region_changed.emit(p.region)
        self.gains_changed.emit()
        self.advice_changed.emit(p.advice)
        self._overview_timer.start()
        self.schedule_measure()
        self.loudness_changed.emit(False)
        if outcome.failed:
            self._report_failed(outcome.failed)
        n = len(outcome.tracks.tracks)
        msg = f"Loaded {n} track(s) at {outcome.tracks.sample_rate} Hz, {outcome.tracks.duration_s:.1f} s"
        if outcome.notes:
            msg += " · " + " ".join(outcome.notes)
        self.status.emit(msg)
        if was_playing and self.output.available:
            self.engine.playing = True

    def _report_failed(self, failed) -> None:
        self.files_failed.emit(list(failed))
        lines = "\n".join(f"{Path(path).name}: {reason}" for path, reason in failed)
        first = failed[0][1]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        self.error.emit(ErrorReport(f"{len(failed)} file(s) not loaded", first + more, lines, "warning"))

    # --- roles, anchor, region -------------------------------------------------------
    def set_role(self, track_id: str, role: str) -> None:
        old_anchor = self.project.anchor
        try:
            self.project.set_role(track_id, role)
        except (InputError, KeyError) as exc:
            self.error.emit(ErrorReport("Role", str(exc)))
            return
        self._push_gains()  # role gains follow the track's new role
        self.schedule_measure()
        self.tracks_changed.emit()
        self.gains_changed.emit()
        if self.project.anchor != old_anchor:
            self.anchor_changed.emit(self.project.anchor or "")

    def remove_tracks(self, track_ids: Iterable[str]) -> list[str]:
        """Remove tracks now: the engine keeps its buffer and plays the removed rows at gain 0."""
        p = self.project
        paths = {t.id: t.path for t in p.tracks.tracks} if p.tracks else {}
        old_anchor = p.anchor
        gone = p.remove_tracks(track_ids)
        if not gone:
            return []
        self._removed_paths |= {os.path.abspath(paths[i]) for i in gone}
        if p.tracks is None:
            self._engine_ids = []
            self.engine.playing = False
            self.engine.set_buffer(np.zeros((0, 0, 2), dtype=np.float32), np.zeros(0, dtype=np.float32))
            self.engine.seek(0)
            self.transport_changed.emit(False)
        self.tracks_changed.emit()
        self._gains_edited()
        self.advice_changed.emit(p.advice)
        if p.anchor != old_anchor:
            self.anchor_changed.emit(p.anchor or "")
        self.region_changed.emit(p.region)
        self.status.emit(f"Removed {len(gone)} track(s)" + ("" if p.tracks else "; no tracks left"))
        return gone

    def set_anchor(self, role: str) -> None:
        try:
            self.project.set_anchor(role)
        except InputError as exc:
            self.error.emit(ErrorReport("Anchor", exc.message))
            return
        self.anchor_changed.emit(role)
        self.gains_changed.emit()   # LU-vs-anchor meters change

    def set_region(self, region: tuple[float, float] | None) -> None:
        self.project.set_region(region)
        self._apply_loop()
        self.region_changed.emit(self.project.region)

    def _apply_loop(self) -> None:
        r = self.project.region
        rate = self.engine.sample_rate
        if r is None:
            self.engine.set_loop(None, None) if not self.loop_enabled else self.engine.set_loop(0, self.engine.frames)
        elif self.loop_enabled:
            self.engine.set_loop(int(r[0] * rate), int(r[1] * rate))
        else:
            self.engine.set_loop(None, None)

    loop_enabled = False

    def set_loop_enabled(self, on: bool) -> None:
        self.loop_enabled = bool(on)
        self._apply_loop()

    # --- gains ------------------------------------------------------------------------
    def set_track_gain(self, track_id: str, db: float) -> None:
        self.project.set_track_gain(track_id, db)
        self._gains_edited()

    def end_gain_edit(self) -> None:
        self.project.end_gain_edit()

    def set_role_gain(self, role: str, db: float) -> None:
        self.project.set_role_gain(role, db)
        self._gains_edited()

    def set_muted(self, track_id: str, on: bool) -> None:
        self.project.set_muted(track_id, on)
        self._gains_edited()

    def set_soloed(self, track_id: str, on: bool) -> None:
        self.project.set_soloed(track_id, on)
        self._gains_edited()

    def undo(self) -> None:
        label = self.project.undo()
        if label:
            self.status.emit(f"Undid {label}")
            self._gains_edited()

    def redo(self) -> None:
        label = self.project.redo()
        if label:
            self.status.emit(f"Redid {label}")
            self._gains_edited()

    # --- critique ------------------------------------------------------------------------
    def critique(self, kind: str = "critique") -> int | None:
        """Send an immutable snapshot to the worker; returns the request id (None if refused)."""
        if self._pending is not None:
            self.status.emit("A critique is already running (Esc cancels it).")
            return None
        try:
            request = self.project.snapshot()
        except MixingBuddyError as exc:
            self.error.emit(ErrorReport("Critique", exc.message, exc.detail))
            return None
        rid = self.worker.submit(request)
        self._pending = (rid, self.project.revision, kind)
        what = "Re-checking the corrected mix…" if kind == "recheck" else "Critiquing…"
        self.busy_changed.emit(True, what)
        self.status.emit(what)
        return rid

    def recheck(self) -> int | None:
        if self.project.applied_advice is None:
            self.status.emit("Apply a suggestion first; Re-check then verifies it.")
            return self.critique()
        return self.critique("recheck")

    def cancel(self) -> None:
        if self._pending is not None:
            self.worker.cancel(self._pending[0])   # sets the token directly from the GUI thread
            self.status.emit("Cancelling…")

    def _on_progress(self, rid: int, frac: float, msg: str) -> None:
        if self._pending and rid == self._pending[0]:
            self.progress.emit(frac, msg)

    def _on_advisor_changed(self, info, note: str) -> None:
        label = f"Advisor: {info.id}" + (f" ({note})" if note else "")
        self.advisor_label = label
        self.advisor_changed.emit(label)
        if note and ("fell back" in note.lower() or "fall" in note.lower()):
            self.error.emit(ErrorReport("Advisor", note, "", "warning"))

    def _on_advice_ready(self, rid: int, advice: Advice) -> None:
        self.worker.forget(rid)
        if self._pending is None or rid != self._pending[0]:
            self.dropped_results += 1
            return
        _, revision, kind = self._pending
        self._pending = None
        self.busy_changed.emit(False, "")
        if revision != self.project.revision:
            self.dropped_results += 1
            self.status.emit("The mix changed during the critique, so the result was discarded. Critique again.")
            return
        self.project.set_advice(advice)
        self.advice_changed.emit(advice)
        self.status.emit(f"{advice.text} ({advice.status or f'confidence {advice.confidence:.0%}'})")
        if kind == "recheck" and self.project.applied_advice is not None:
            label, sentence = recheck_verdict(self.project.applied_advice, advice)
            self.recheck_done.emit(label, sentence)
            self.status.emit(sentence)

    def _on_advice_failed(self, rid: int, report: ErrorReport) -> None:
        self.worker.forget(rid)
        if self._pending is None or rid != self._pending[0]:
            self.dropped_results += 1
            return
        self._pending = None
        self.busy_changed.emit(False, "")
        if report.severity == "info":
            self.status.emit("Critique cancelled.")
            return
        if report.title == "Critique failed":
            report = ErrorReport(report.title, report.message + " The app still works: critique again, or use "
                                 "Mix → Use the measured advisor.", report.detail, report.severity)
        self.error.emit(report)
        self.status.emit(report.message)

    def use_balance_advisor(self) -> None:
        """Switch the worker to the measured BalanceAdvisor (always available; no model, no GPU)."""
        self.worker.set_factory(balance_factory)
        self.status.emit("The next critique uses the measured advisor (balance).")

    def typical_band(self, role: str):
        """The balance profile's typical (median, q25, q75) of ``role`` vs the anchor, or None."""
        anchor = self.project.anchor
        if anchor is None or role == anchor:
            return None
        if self._profile is None:
            try:
                from model.advice.profiles import BalanceProfile
                from resources import BALANCE_PROFILE

                self._profile = BalanceProfile.load(BALANCE_PROFILE)
            except Exception:
                self._profile = False
        return self._profile.typical(role, anchor) if self._profile else None

    def advice_is_current(self) -> bool:
        p = self.project
        return p.advice is not None and p.advice_revision == p.revision

    # --- apply, A/B -------------------------------------------------------------------------
    def can_apply(self) -> bool:
        a = self.project.advice
        return a is not None and a.primary is not None and not a.abstained and not self.busy

    def apply(self) -> ApplyResult | None:
        if self.busy:
            return None
        try:
            result = self.project.apply_advice()
        except InputError as exc:
            self.status.emit(exc.message)
            return None
        self.ab_state = "after"
        self._gains_edited()
        self.ab_changed.emit("after")
        self.apply_done.emit(result)
        self.status.emit(f"Applied: {result.describe()}. A/B compares before and after; Re-check verifies it.")
        if result.clamped:
            self.error.emit(ErrorReport("Apply", f"The suggested {result.requested_db:+.1f} dB on {result.role} was "
                                        f"clamped to {result.applied_db:+.1f} dB (fader range "
                                        f"{GAIN_MIN_DB:+.0f}..{GAIN_MAX_DB:+.0f} dB).", "", "warning"))
        return result

    def can_ab(self) -> bool:
        return self.project.ab_reference is not None

    def toggle_ab(self) -> str:
        if not self.can_ab():
            self.status.emit("A/B needs an applied suggestion (before vs after).")
            return self.ab_state
        self.ab_state = "before" if self.ab_state == "after" else "after"
        self._push_gains()
        self.ab_changed.emit(self.ab_state)
        if self.ab_state == "before":
            how = "measured" if self.ab_offset_exact else "estimated; refined when the meters finish"
            self.status.emit(f"A/B: hearing BEFORE the change, level-matched ({self.ab_offset_db:+.1f} dB, {how}).")
        else:
            self.status.emit("A/B: hearing AFTER the change.")
        return self.ab_state

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
        self.engine.playing = True
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
        self._overview_id += 1
        job = OverviewJob(self._overview_id, self.engine.buffer, self.gains_vector())
        job.signals.finished.connect(self._on_overview)
        job.signals.failed.connect(lambda i, r: self._jobs.pop(i + 10**9, None))
        self._jobs[self._overview_id + 10**9] = job
        self.pool.start(job)

    def _on_overview(self, job_id: int, result) -> None:
        self._jobs.pop(job_id + 10**9, None)
        if job_id != self._overview_id:
            return
        mins, maxs = result
        self.overview_changed.emit((mins, maxs, self.engine.frames / self.engine.sample_rate))

    # --- sessions ------------------------------------------------------------------------------
    def save_session(self, path: str) -> bool:
        try:
            saved = self.project.save(path)
        except OSError as exc:
            self.error.emit(ErrorReport("Save failed", f"{Path(path).name}: {exc.strerror or exc}; "
                                        "the previous file (if any) is unchanged.", str(exc)))
            return False
        except Exception as exc:   # e.g. something in the state that JSON cannot hold
            self.error.emit(ErrorReport.from_exception(exc, "Save failed"))
            return False
        self.session_changed.emit(str(saved))
        self.status.emit(f"Saved {saved.name}")
        return True

    def open_session(self, path: str) -> None:
        try:
            pending = read_session(path)
        except MixingBuddyError as exc:
            self.error.emit(ErrorReport("Open session", exc.message, exc.detail))
            return
        if pending.unresolved():
            self._pending_session = pending
            self.files_missing.emit(pending.unresolved())
            return
        self._load_session(pending)

    def relocate(self, missing_path: str, new_path: str | None) -> None:
        """Point a missing file of the session being opened at a new location (None: skip it)."""
        pending = self._pending_session
        if pending is None:
            return
        if new_path:
            pending.relocated[missing_path] = str(new_path)
        else:
            pending.skipped.add(missing_path)

    def finish_relocation(self) -> None:
        """Load the session being opened; files still unresolved are skipped (and kept in the session)."""
        pending, self._pending_session = self._pending_session, None
        if pending is None:
            return
        for p in pending.unresolved():
            pending.skipped.add(p)
        self._load_session(pending)

    def _load_session(self, pending: PendingSession) -> None:
        paths = pending.resolved_paths()
        if not paths:
            self.error.emit(ErrorReport("Open session", "None of the session's audio files could be found."))
            return
        overrides = {}
        for e in pending.entries:
            if e.get("role_source") == "user" and e.get("role") in ROLES:
                overrides[pending.relocated.get(e["abs_path"], e["abs_path"])] = e["role"]
        self._start_load(paths, overrides, pending)

    # --- exports -------------------------------------------------------------------------------
    def export(self, path: str, fmt: str | None = None) -> bool:
        adv = self.project.advice
        if adv is None:
            self.error.emit(ErrorReport("Export", "There is no critique to export yet."))
            return False
        fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
        try:
            if fmt in ("md", "markdown"):
                text = advice_markdown(adv, self.project)
            elif fmt == "json":
                text = json.dumps(advice_json(adv), indent=2, allow_nan=False, default=_json_default) + "\n"
            elif fmt == "csv":
                text = advice_csv(adv, self.project)
            else:
                raise InputError(f"Unknown export format '{fmt}': use .md, .json or .csv.")
            atomic_write_text(Path(path), text)
        except MixingBuddyError as exc:
            self.error.emit(ErrorReport("Export", exc.message))
            return False
        except (OSError, ValueError) as exc:
            self.error.emit(ErrorReport("Export failed", f"{Path(path).name}: {exc}", str(exc)))
            return False
        self.status.emit(f"Exported {Path(path).name}")
        return True

    # --- shutdown ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.engine.playing = False
        try:
            self.output.close()
        except Exception:
            pass
        self._overview_timer.stop()
        self._measure_timer.stop()
        self.worker.cancel()


# --- export formats -------------------------------------------------------------------------

def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def advice_json(advice: Advice) -> dict:
    """The CLI's --json schema ("mixingbuddy.advice/1")."""
    return finite_json(advice_to_json(advice))


def advice_markdown(a: Advice, project: MixProject) -> str:
    lines = ["# MixingBuddy critique", "", f"**{a.text}**", ""]
    lines.append(f"- Anchor: {a.anchor}")
    lines.append(f"- Advisor: {a.advisor_id}")
    lines.append(f"- Confidence: {a.confidence:.0%}" + (f" ({a.status})" if a.status else ""))
    if a.abstained:
        lines.append("- The advice abstains: no confident issue.")
    if project.region:
        lines.append(f"- Region: {project.region[0]:.1f}–{project.region[1]:.1f} s")
    lines += ["", "## Suggested gain changes", "", "| role | direction | change (dB) | range (dB) | confidence |",
              "|---|---|---|---|---|"]
    for s in a.suggestions:
        lines.append(f"| {s.role} | {s.direction} | {s.delta_db:+.1f} | {s.min_db:g}–{s.max_db:g} | {s.confidence:.0%} |")
    if not a.suggestions:
        lines.append("| – | none | 0 | – | – |")
    lines += ["", "## Timeline", "", "| window | verdict |", "|---|---|"]
    for v in a.windows:
        gate = "" if v.window.gated else " (ungated)"
        lines.append(f"| {v.window.start_s:.0f}–{v.window.end_s:.0f} s{gate} | {v.text or v.category} |")
    lines += ["", "## Export doctor", ""]
    if a.findings:
        lines += [f"- **{f.severity}** `{f.code}`: {f.message}" for f in a.findings]
    else:
        lines.append("- No findings.")
    if project.tracks:
        lines += ["", "## Tracks", "", "| file | role | gain (dB) |", "|---|---|---|"]
        for t in project.tracks.tracks:
            g = project.track_db.get(t.id, 0.0) + project.role_db.get(t.role.role, 0.0)
            lines.append(f"| {t.name} | {t.role.role} | {g:+.1f} |")
    lines += ["", "_Loudness: ITU-R BS.1770 (libebur128); less reliable on narrow-band material such as bass and hi-hats._", ""]
    return "\n".join(lines)


def advice_csv(a: Advice, project: MixProject) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["role", "is_anchor", "current_role_gain_db", "suggested_change_db", "min_db", "max_db", "direction",
                "confidence", "primary"])
    by_role = {s.role: s for s in a.suggestions}
    for role in ROLES:
        s = by_role.get(role)
        w.writerow([role, int(role == a.anchor), f"{project.role_db.get(role, 0.0):.2f}",
                    f"{s.delta_db:.2f}" if s else "0.00", f"{s.min_db:g}" if s else "", f"{s.max_db:g}" if s else "",
                    s.direction if s else "none", f"{s.confidence:.3f}" if s else "",
                    int(a.primary is not None and a.primary.role == role)])
    return buf.getvalue()
