"""The exact meters for the controller: model.advice.pipeline.measure_request on the thread pool, debounced
(the metering itself in the controller's metering process).

MeteringMixin is mixed into ProjectController and uses its project, jobs, pool, analysis cache and signals.
One measurement runs at a time; edits made meanwhile are measured next, and results for a mix that changed
since are dropped. A change of role gains only (Apply) needs no measurement for the meters: each role's
loudness follows exactly from its measured blocks; the mix (for A/B) is measured in the background, after
a running critique (a re-check right after Apply) rather than beside it.
"""

from __future__ import annotations

import os
from dataclasses import replace

from PySide6.QtCore import QTimer

from mixingbuddy_app.errors import ErrorKind, ErrorReport
from mixingbuddy_app.jobs import JobKind
from mixingbuddy_app.project import ExactLoudness
from mixingbuddy_app.workers import MeasureJob

MEASURE_DEBOUNCE_MS = 150


class MeteringMixin:
    def _init_metering(self) -> None:
        self._measure_again = False
        self._measure_timer = QTimer(self)
        self._measure_timer.setSingleShot(True)
        self._measure_timer.setInterval(MEASURE_DEBOUNCE_MS)
        self._measure_timer.timeout.connect(self._start_measure)
        self._measure_after_critique = False
        self.busy_changed.connect(self._critique_busy)
        self._copies_seen: dict[str, object] = {}   # path -> model.audio.copies.CopyFile found there: said once
        self._loaded_from_session = False

    def _critique_busy(self, busy: bool, _what: str) -> None:
        if not busy and self._measure_after_critique:
            self._measure_after_critique = False
            self.schedule_measure()

    def schedule_measure(self) -> None:
        """Re-measure the role and mix loudness after a debounce (the latest request wins)."""
        if self.project.loudness_key() is None:
            self._measure_timer.stop()
            self._settle_unless_pending()
            return
        self._measure_timer.start()

    def meters_pending(self) -> bool:
        """Whether the meters are about to read, or are reading, a mix they have no exact reading of."""
        p = self.project
        return (p.loudness_key() is not None and not p.loudness_is_exact()
                and (self._measure_timer.isActive() or self.jobs.running(JobKind.MEASURE) is not None))

    def _settle_unless_pending(self) -> None:
        if not self.meters_pending():
            self._meters_settled()

    def _measure_requests(self) -> list:
        p = self.project
        out = []
        for gains in (p.gains(), p.ab_gains()):
            if gains is None:
                continue
            key = p.loudness_key(gains)
            if key is not None and p.exact_loudness(gains) is None and all(k != key for k, _ in out):
                out.append((key, p.measure_request(gains)))
        return out

    def _start_measure(self) -> None:
        if self.jobs.running(JobKind.MEASURE) is not None:
            self._measure_again = True       # one job at a time; the newest state is measured next
            return
        if self.busy and self.project.loudness_is_exact():
            self._measure_after_critique = True   # only the mix (A/B) is missing: the critique goes first
            self._settle_unless_pending()         # (one waiting for the meters starts now)
            return
        requests = self._measure_requests()
        if not requests:
            self._settle_unless_pending()
            return
        job = self.jobs.start(JobKind.MEASURE, lambda job_id: MeasureJob(job_id, requests, self.analysis_cache,
                                                                           self.meter_process.measure_session))
        job.signals.finished.connect(self._on_measured)
        job.signals.failed.connect(self._on_measure_failed)
        job.signals.progress.connect(self._on_measure_progress)
        self.pool.start(job)

    def _measure_done(self, job_id: int) -> None:
        self.jobs.finish(JobKind.MEASURE, job_id)
        if self._measure_again:
            self._measure_again = False
            self._measure_timer.start()

    def _on_measure_progress(self, _job_id: int, frac: float, msg: str) -> None:
        if self.waits_for_meters:            # a critique waits for this reading: it is the critique's progress
            self.progress.emit(frac, msg)

    def _on_measured(self, job_id: int, results) -> None:
        self._measure_done(job_id)
        p = self.project
        wanted = {p.loudness_key(), p.loudness_key(p.ab_gains()) if p.ab_gains() is not None else None}
        used = False
        for r in results:
            if r.key in wanted:              # results for a mix that changed since are dropped
                p.set_exact_loudness(r.key, ExactLoudness(r.roles, r.mix, r.blocks, r.pairs, r.bridged), r.gains)
                used = True
                if r.key == p.loudness_key():
                    for copy in r.copies:
                        self._found_copy(copy)
        if used:                             # else the mix changed while measuring: a newer job follows
            if self.ab_state == "before":
                self._push_gains()
                self.ab_changed.emit(self.ab_state)
            self.loudness_changed.emit(p.loudness_is_exact())
        self._settle_unless_pending()        # (a copy muted above: a waiting critique waits for the mix without it)

    def _found_copy(self, copy) -> None:
        """A file copies others (a DAW's master track or a group's bus exported with the stems): on a fresh load,
        mute it and say so; in a saved session, where the mutes are the user's, only say so. Once per file; one
        banner says all the copies of the loaded song (an export may hold a group per part). Of a stem saved
        twice, the save chosen as the anchor track plays and the other one is the copy."""
        if copy.twin_id is not None and copy.track_id == self.project.anchor_track:
            copy = self._other_save(copy)
        track = self.project.tracks.get(copy.track_id)
        path = os.path.abspath(track.path)
        if path in self._copies_seen or track.role.source == "user":   # a role set by hand: a stem
            return
        self._copies_seen[path] = copy
        if not self._loaded_from_session:
            self.set_muted(copy.track_id, True, by_hand=False)
        self._say_copies(copy)

    def _say_copies(self, copy) -> None:
        """The banner about the copies found in the loaded song (``copy`` the newest): one for them all."""
        loaded = {os.path.abspath(t.path) for t in self.project.tracks.tracks}
        said = [c for p, c in self._copies_seen.items() if p in loaded]
        if len(said) == 1:
            what = (f"Mute it (M), or it counts {copy.counts_twice} twice." if self._loaded_from_session else
                    "It is muted, so the meters and the critique leave it out: unmute it (M) to count it.")
            report = ErrorReport(copy.title, copy.finding(what).message, "", "warning", ErrorKind.COPIES)
        else:
            what = ("Mute them (M), or each counts its files twice." if self._loaded_from_session else
                    "They are muted, so the meters and the critique leave them out: unmute one (M) to count it.")
            report = ErrorReport("Copies among the stems", f"{len(said)} files look like copies of others: "
                                 f"{'; '.join(f'{c.name} ({c.what})' for c in said)}. "
                                 f"{what}", "", "warning", ErrorKind.COPIES)
        self.error.emit(report)

    def _anchor_save_plays(self, track_id: str | None) -> None:
        """The anchor track chosen is a save the meters muted as a copy (a stem saved twice): it plays, and the
        save they kept is muted instead, as the CLI keeps the anchor's save."""
        track = self.project.tracks.get(track_id) if track_id and self.project.tracks else None
        path = os.path.abspath(track.path) if track else None
        copy = self._copies_seen.get(path)
        if copy is None or copy.twin_id is None or track_id not in self.project.muted:
            return
        kept = self.project.tracks.get(copy.twin_id)
        del self._copies_seen[path]
        self._copies_seen[os.path.abspath(kept.path)] = swapped = self._other_save(copy)
        self.set_muted(track_id, False, by_hand=False)
        self.set_muted(kept.id, True, by_hand=False)
        self._say_copies(swapped)
        self.status.emit(f"{track.name} is the anchor: it plays now, and {kept.name}, the same export saved again, "
                         "is muted instead.")

    def _other_save(self, copy):
        """A stem saved twice seen the other way round: the save ``copy`` names as kept is the copy."""
        kept = self.project.tracks.get(copy.twin_id)
        return replace(copy, track_id=kept.id, name=kept.name, twin=copy.name, twin_id=copy.track_id)

    def _on_measure_failed(self, job_id: int, report: ErrorReport) -> None:
        self._measure_done(job_id)
        self.status.emit(f"The meters could not measure the mix: {report.message}")
        self._meters_settled()               # a waiting critique measures for itself and reports what fails

