"""JobRegistry: the controller's thread-pool jobs by kind and id, so stale results can be told apart."""

from __future__ import annotations

from enum import Enum
from typing import Callable, TypeVar

Job = TypeVar("Job")


class JobKind(Enum):
    LOAD = "load"            # decoding and measuring files (LoadTracksJob)
    OVERVIEW = "overview"    # the overview waveform (OverviewJob)
    MEASURE = "measure"      # the exact meters (MeasureJob)
    PROFILE = "profile"      # learning a balance profile from song folders (FitProfileJob)
    SPECTRAL = "spectral"    # masking and tonal analysis for their views (SpectralJob)
    PAIR = "pair"            # masking between two chosen tracks for the Masking view (PairMaskingJob)


class JobRegistry:
    """Running jobs keyed by (kind, id). Ids count up per kind: a result is current when its id is the
    kind's newest. The registry also holds each job (and so its signals) until it finishes, abandoned
    jobs included."""

    def __init__(self) -> None:
        self._running: dict[tuple[JobKind, int], object] = {}
        self._abandoned: dict[tuple[JobKind, int], object] = {}   # cancelled, not ended yet; results are stale
        self._latest: dict[JobKind, int] = {}

    def start(self, kind: JobKind, make: Callable[[int], Job]) -> Job:
        """Build a job with the kind's next id (``make(job_id)``) and hold it until finish()."""
        job_id = self._latest.get(kind, 0) + 1
        self._latest[kind] = job_id
        job = make(job_id)
        self._running[(kind, job_id)] = job
        return job

    def finish(self, kind: JobKind, job_id: int) -> bool:
        """Forget a finished job; True when it is the newest of its kind (never for an abandoned one)."""
        self._running.pop((kind, job_id), None)
        self._abandoned.pop((kind, job_id), None)
        return self.is_latest(kind, job_id)

    def abandon(self, kind: JobKind) -> bool:
        """Cancel the running jobs of ``kind`` and make whatever they still deliver stale, even a result
        already queued: the kind's newest id moves past them. They are held until they end. True when one ran."""
        ids = [i for k, i in self._running if k == kind]
        for job_id in ids:
            job = self._running.pop((kind, job_id))
            job.cancel()
            self._abandoned[(kind, job_id)] = job
        if ids:
            self._latest[kind] = self._latest.get(kind, 0) + 1
        return bool(ids)

    def latest(self, kind: JobKind) -> int:
        """The id of the newest job of ``kind`` (0 before the first)."""
        return self._latest.get(kind, 0)

    def is_latest(self, kind: JobKind, job_id: int) -> bool:
        return job_id == self._latest.get(kind, 0)

    def cancel(self, kind: JobKind | None = None) -> None:
        """Set the cancel token of every running or abandoned job (of ``kind``; of all kinds when None)."""
        for (k, _), job in list(self._running.items()) + list(self._abandoned.items()):
            if kind is None or k == kind:
                job.cancel()

    def running(self, kind: JobKind) -> int | None:
        """The id of a running job of ``kind`` (the oldest; abandoned ones do not count), or None."""
        return next((i for k, i in self._running if k == kind), None)
