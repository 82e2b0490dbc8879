"""ProjectController: the only writer of MixProject; owns the MixEngine and talks to the workers.

Widgets call its methods and listen to its ``*_changed`` signals. It never blocks: loading and
critiques run on worker threads, and results carry ids so stale ones are dropped. This module holds
loading, roles, anchor, region and gain edits; the other concerns are mixed in from
transport_control (playback, loop, A/B, overview), metering (the exact meters), critique_flow
(critique, re-check, Apply), session_io (sessions and exports), profile_flow (the balance profile, learning
one) and spectral_flow (masking and tonal analysis).
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from typing import Iterable

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal

from model.audio.cache import AnalysisCache, default_folder
from model.audio.meter_process import MeteringProcess
from model.audio.tracks import TrackSet
from model.errors import InputError

from mixingbuddy_app.critique_flow import CritiqueMixin
from mixingbuddy_app.errors import ErrorKind, ErrorReport
from mixingbuddy_app.jobs import JobKind, JobRegistry
from mixingbuddy_app.metering import MeteringMixin
from mixingbuddy_app.playback import MixEngine, NullOutput, preview_file
from mixingbuddy_app.profile_flow import ProfileMixin
from mixingbuddy_app.project import MIN_SPAN_S, MixProject
from mixingbuddy_app.session_file import PendingSession
from mixingbuddy_app.session_io import SessionFilesMixin
from mixingbuddy_app.spectral_flow import SpectralMixin
from mixingbuddy_app.transport_control import TransportMixin
from mixingbuddy_app.workers import AdvisorWorker, FileRead, ListedFile, LoadOutcome, LoadTracksJob

SHUTDOWN_WAIT_MS = 3000     # how long closing waits for cancelled background jobs to end


def _one_change(method):
    """A controller method whose signals describe one change (a burst): views that listen to several of them
    through AfterBurst update once, when it returns (one called inside another settles with the outer one)."""
    @functools.wraps(method)
    def run(self, *args, **kwargs):
        if self.in_burst:
            return method(self, *args, **kwargs)
        self.in_burst = True
        try:
            return method(self, *args, **kwargs)
        finally:
            self.in_burst = False
            self.settled.emit()
    return run


class ProjectController(TransportMixin, MeteringMixin, CritiqueMixin, SessionFilesMixin, ProfileMixin, SpectralMixin,
                        QObject):
    tracks_changed = Signal()
    gains_changed = Signal()
    anchor_changed = Signal(str)
    region_changed = Signal(object)          # (start_s, end_s) | None
    advice_changed = Signal(object)          # Advice | None
    busy_changed = Signal(bool, str)         # critique running, what
    loading_changed = Signal(bool, str)
    files_listed = Signal(object)            # (ListedFile, ...): the running load's files, before any is decoded
    file_loaded = Signal(object)             # FileRead: a file of the running load is ready (its row can show)
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
    loop_changed = Signal(bool)              # looping the span on/off
    profile_changed = Signal(str)            # the balance profile the next critique uses
    profiles_changed = Signal()              # a profile was added (learned)
    learning_changed = Signal(bool, str)     # learning a profile: running, what (or how it ended)
    profile_learned = Signal(str)            # a learned profile was saved (and is now the chosen one)
    learn_progress = Signal(float, str)
    spectral_busy = Signal(bool)             # the masking/tonal analysis is running
    spectral_changed = Signal(object)        # SpectralAnalysis
    pair_masking_changed = Signal(object)    # PairMasking between two chosen tracks (or a track and a role); None: failed
    critique_succeeded = Signal(list)        # a critique gave advice: the ErrorReports of earlier failed critiques
    settled = Signal()                       # a burst of changes is over: views that waited (AfterBurst) update

    def __init__(self, worker: AdvisorWorker, output=None, project: MixProject | None = None,
                 pool: QThreadPool | None = None, parent: QObject | None = None,
                 analysis_cache: AnalysisCache | None = None, meter_process: MeteringProcess | None = None) -> None:
        super().__init__(parent)
        self.project = project or MixProject()
        self.worker = worker
        self.output = output or NullOutput("no audio output")
        self.engine = MixEngine()
        self.pool = pool or QThreadPool.globalInstance()
        self.jobs = JobRegistry()
        self.in_burst = False                    # emitting the changes of one event (a load's end) in a row
        self._removed_paths: set[str] = set()   # files removed while a load was running stay removed
        # What each loaded file contributes to a critique (gain-independent), measured while it is loaded and
        # kept on disk by file stamp: reopening a session meters no unchanged file.
        if analysis_cache is None:
            analysis_cache = AnalysisCache(default_folder())
            threading.Thread(target=analysis_cache.prune, name="prune-analysis-cache", daemon=True).start()
        self.analysis_cache = analysis_cache
        # Meters and critiques measure the preview buffer in a process of their own: metering on a thread of
        # this process would make the audio callback wait for the interpreter lock.
        self.meter_process = meter_process or MeteringProcess(preview_file)
        self.load_processes: int | None = None   # worker processes decoding a load (None: big sessions; 0: none)
        self.last_status = ""                    # what the status bar says (restored when a job is cancelled)
        self._status_before = ""                 # the status before the running critique
        self._status_before_load = ""            # the status before the running load
        self.status.connect(self._remember_status)
        self._reporting_critique = False          # a critique is being started or its failure reported
        self.critique_failures: list[ErrorReport] = []   # reports of failed critiques since the last good one
        self.error.connect(self._remember_critique_failure)
        self.busy_changed.connect(self._critique_started)
        self._init_transport()
        self._init_metering()
        self._init_critique()
        self._init_session_files()
        self._init_profiles()
        self._init_spectral()
        worker.advice_ready.connect(self._on_advice_ready)
        worker.advice_failed.connect(self._on_advice_failed)
        worker.progress.connect(self._on_progress)
        worker.advisor_changed.connect(self._on_advisor_changed)

    @property
    def loading(self) -> bool:
        return self.jobs.running(JobKind.LOAD) is not None

    def _remember_status(self, text: str) -> None:
        self.last_status = text

    def _critique_started(self, busy: bool, _what: str) -> None:
        if busy:
            self._status_before = self.last_status   # runs before the critique's own status line

    # --- critique failures: their banners go when a later critique succeeds ---------------
    def _remember_critique_failure(self, report: ErrorReport) -> None:
        if self._reporting_critique:
            self.critique_failures.append(report)

    def critique(self, kind: str = "critique") -> int | None:
        self._reporting_critique = True      # a refused critique (no anchor, silent anchor, ...) reports here
        try:
            return super().critique(kind)
        finally:
            self._reporting_critique = False

    def _on_advice_failed(self, rid: int, report: ErrorReport) -> None:
        self._reporting_critique = True
        try:
            super()._on_advice_failed(rid, report)
        finally:
            self._reporting_critique = False

    def _on_advice_ready(self, rid: int, advice) -> None:
        pending = self._pending
        super()._on_advice_ready(rid, advice)
        if (pending is not None and rid == pending[0] and self._pending is None
                and self.project.advice is advice):   # taken (not dropped as stale): the earlier failures are over
            failures, self.critique_failures = self.critique_failures, []
            self.critique_succeeded.emit(failures)

    def cancel(self) -> None:
        """Esc: stop the running load, else the running critique, at once; the state and text from before return.

        A critique's late result is dropped when it arrives (its request is no longer the pending one).
        """
        if self.cancel_load():
            return
        if not self.busy:
            return
        if self._pending is not None:
            self.worker.cancel(self._pending[0])   # the advisor thread stops at its next check
        self._pending = self._waiting = None
        self.busy_changed.emit(False, "")
        self.status.emit(self._status_before)

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
        if not self.loading:
            self._status_before_load = self.last_status
        self.jobs.abandon(JobKind.LOAD)         # a newer load supersedes the running one
        job = self.jobs.start(JobKind.LOAD, lambda job_id: LoadTracksJob(
            job_id, paths, overrides, context, loaded, self.analysis_cache, processes=self.load_processes))
        job.signals.finished.connect(self._on_loaded)
        job.signals.failed.connect(self._on_load_failed)
        job.signals.progress.connect(self._on_load_progress)
        job.signals.files_listed.connect(self._on_files_listed)
        job.signals.file_read.connect(self._on_file_read)
        self.loading_changed.emit(True, f"Loading {len(paths)} item(s)…")
        self.pool.start(job)

    def cancel_load(self) -> bool:
        """Stop the running load now: the session stays as it was before it started. True when one ran."""
        if not self.jobs.abandon(JobKind.LOAD):    # its late result or failure (even one queued) is dropped
            return False
        self.loading_changed.emit(False, "")
        self.tracks_changed.emit()                 # rows shown while reading go
        self.status.emit(self._status_before_load)
        return True

    def _on_files_listed(self, job_id: int, files: tuple[ListedFile, ...]) -> None:
        if self.jobs.is_latest(JobKind.LOAD, job_id) and self.loading:
            self.files_listed.emit(files)

    def _on_file_read(self, job_id: int, row: FileRead) -> None:
        if self.jobs.is_latest(JobKind.LOAD, job_id) and self.loading:
            self.file_loaded.emit(row)
            self.progress.emit(0.95 * row.index / row.total, f"Read {row.index} of {row.total}: {row.name}")

    def _on_load_progress(self, job_id: int, frac: float, msg: str) -> None:
        if self.jobs.is_latest(JobKind.LOAD, job_id):
            self.progress.emit(frac, msg)

    def _finish_load(self, job_id: int) -> bool:
        """Forget a finished load; True (and loading ends) when it is the newest one. A superseded or
        cancelled load was abandoned: its end changes nothing."""
        current = self.jobs.finish(JobKind.LOAD, job_id)
        if current:
            self.loading_changed.emit(False, "")
        return current

    def _on_load_failed(self, job_id: int, report: ErrorReport) -> None:
        if not self._finish_load(job_id):
            return
        if report.kind is ErrorKind.CANCELLED:
            self.tracks_changed.emit()
            self.status.emit(self._status_before_load)
            return
        self.error.emit(report)
        self.status.emit(report.message)

    @_one_change
    def _on_loaded(self, job_id: int, outcome: LoadOutcome) -> None:
        if not self._finish_load(job_id):
            return  # a newer load superseded this one
        p = self.project
        fresh = p.tracks is None            # nothing was open: a plain load leaves nothing unsaved
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
            first = outcome.failed[0][1].rstrip(".")
            more = f" (and {len(outcome.failed) - 1} more)" if len(outcome.failed) > 1 else ""
            self.status.emit(f"Nothing was added: {first}{more}. The session is unchanged.")
            return
        self.analysis_cache.forget_shared()   # measurements of the audio loaded before hold its preview buffer
        self._loaded_from_session = isinstance(outcome.context, PendingSession)   # its mutes are the user's
        try:
            if isinstance(outcome.context, PendingSession):
                self._removed_paths.clear()
                p.apply_session(outcome.context, tracks, outcome.lufs, outcome.findings, outcome.notes,
                                outcome.failed)
                self.session_changed.emit(str(outcome.context.path))
            elif tracks.tracks:
                p.set_tracks(tracks, outcome.lufs, outcome.findings, outcome.notes, outcome.failed)
                p.set_advice(None)
                if fresh:
                    p.dirty = False
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
        profile_note = self.take_session_profile(p.advice) if self._loaded_from_session else ""
        self._overview_timer.start()
        self.schedule_measure()
        self.loudness_changed.emit(False)
        if outcome.failed:
            self._report_failed(outcome.failed)
        n = len(outcome.tracks.tracks)
        msg = f"Loaded {n} track(s) at {outcome.tracks.sample_rate} Hz, {outcome.tracks.duration_s:.1f} s"
        if outcome.notes:
            msg += " · " + " ".join(outcome.notes)
        if profile_note:
            msg += " · " + profile_note
        self.status.emit(msg)
        if was_playing and self.output.available:
            self.engine.start()

    def _report_failed(self, failed) -> None:
        self.files_failed.emit(list(failed))
        lines = "\n".join(reason if Path(path).name in reason else f"{Path(path).name}: {reason}"
                          for path, reason in failed)   # most reasons name their file already
        first = failed[0][1]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        self.error.emit(ErrorReport(f"{len(failed)} file(s) not loaded", first + more, lines, "warning"))

    # --- roles, anchor, region -------------------------------------------------------
    def set_role(self, track_id: str, role: str) -> None:
        self.set_roles([track_id], role)

    @_one_change
    def set_roles(self, track_ids: Iterable[str], role: str) -> None:
        """Give every one of ``track_ids`` the role ``role`` (a user choice), with one refresh."""
        old_anchor = self.project.anchor
        try:
            for track_id in track_ids:
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

    @_one_change
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

    @_one_change
    def set_anchor(self, role: str) -> None:
        try:
            self.project.set_anchor(role)
        except InputError as exc:
            self.error.emit(ErrorReport("Anchor", exc.message))
            return
        self.anchor_changed.emit(role)
        self.gains_changed.emit()   # LU-vs-anchor meters change

    @_one_change
    def set_anchor_track(self, track_id: str | None) -> None:
        """Anchor on one vocals track (the lead vocal), or on the whole vocals role again (None)."""
        try:
            self.project.set_anchor_track(track_id)
        except InputError as exc:
            self.error.emit(ErrorReport("Anchor", exc.message))
            return
        self._anchor_save_plays(track_id)
        self.anchor_changed.emit(self.project.anchor or "")
        self.gains_changed.emit()

    def set_region(self, region: tuple[float, float] | None) -> None:
        """The span Critique judges and playback loops; None: the whole song. A span too short to judge (or
        outside the song) clears the span, and the status bar says so: Critique then judges the whole song."""
        had = self.project.region
        why = self.project.set_region(region)
        self._apply_loop()
        self.region_changed.emit(self.project.region)
        if self.project.region != had:       # the meters read the judged span
            self.schedule_measure()
            self.loudness_changed.emit(self.project.loudness_is_exact())
        if why:
            cleared = "the span is cleared, so" if had is None else "the span was cleared, so"
            self.status.emit(f"{why}: {cleared} Critique judges the whole song. Drag a span of at least "
                             f"{MIN_SPAN_S:g} s to judge a part.")

    def new_session(self) -> None:
        """Close the tracks and the session file: an empty window."""
        p = self.project
        if p.tracks:
            self.remove_tracks(p.track_ids)
        p.session_path = None
        p.dirty = False
        self.advice_changed.emit(None)
        self.session_changed.emit("")

    # --- gains ------------------------------------------------------------------------
    def set_track_gain(self, track_id: str, db: float) -> None:
        self.project.set_track_gain(track_id, db)
        self._gains_edited()

    def end_gain_edit(self) -> None:
        self.project.end_gain_edit()

    def set_role_gain(self, role: str, db: float) -> None:
        self.project.set_role_gain(role, db)
        self._gains_edited()

    def set_muted(self, track_ids: str | Iterable[str], on: bool, by_hand: bool = True) -> None:
        self.project.set_muted(track_ids, on, by_hand)
        self._gains_edited()

    def set_soloed(self, track_ids: str | Iterable[str], on: bool) -> None:
        self.project.set_soloed(track_ids, on)
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

    # --- shutdown ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop playback, cancel every background job and wait for the pool's jobs, so none reports to objects
        that are gone."""
        self.engine.playing = False
        try:
            self.output.close()
        except Exception:
            pass
        self._overview_timer.stop()
        self._measure_timer.stop()
        self.worker.cancel()
        self.jobs.cancel()
        self.pool.clear()                       # jobs not started yet never start
        self.pool.waitForDone(SHUTDOWN_WAIT_MS)
        self.meter_process.close()

