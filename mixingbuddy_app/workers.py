"""Background work: the AdvisorWorker (one QThread for the app's lifetime) and QThreadPool jobs.

Nothing is raised across threads: every job ends in exactly one result or failure signal carrying
an ErrorReport. Cancel tokens are set directly from the GUI thread (a queued slot would wait
behind the running critique).
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, NamedTuple

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThread, Signal, Slot

from model.audio.findings import Finding
from model.advice.advisor import AdviceRequest, Advisor, CancelToken
from model.errors import Cancelled, InputError, MixingBuddyError
from model.audio.tracks import TrackSet

from mixingbuddy_app.errors import ErrorKind, ErrorReport
from mixingbuddy_app.playback import stack_tracks

OVERVIEW_COLUMNS = 2400


class AdvisorChoice(NamedTuple):
    """The advisor a factory built, why (shown beside its name), and whether it stands in for the one asked for."""

    advisor: Advisor
    note: str = ""
    fell_back: bool = False


AdvisorFactory = Callable[[], Any]   # -> Advisor or AdvisorChoice


def balance_factory(profile: str | None = None) -> AdvisorChoice:
    """The measured advisor with a balance profile (name or file; default pop-rock): always available.

    A profile that cannot be read falls back to the default one, saying why.
    """
    from model.advisors import load_advisor
    from model.errors import MixingBuddyError

    try:
        return AdvisorChoice(load_advisor("balance", profile=profile or None), "measured advisor")
    except MixingBuddyError as exc:
        return AdvisorChoice(load_advisor("balance"), f"{exc.message} Using the default profile.", True)


# --- the advisor thread -------------------------------------------------------------

class AdvisorWorker(QObject):
    """Owns the advisor (and, for the LLM, torch/CUDA) on one long-lived QThread; serialises requests."""

    advice_ready = Signal(int, object)        # request id, Advice
    advice_failed = Signal(int, object)       # request id, ErrorReport (Cancelled -> severity "info")
    progress = Signal(int, float, str)        # request id, fraction, message
    advisor_changed = Signal(object, str, bool)   # AdvisorInfo, why this advisor, fell back
    test_load_done = Signal(object)           # dict(ok, message, detail)
    _advise = Signal(int, object, object)
    _test_load = Signal(object)
    _set_factory = Signal(object)

    def __init__(self, advisor_factory: AdvisorFactory,
                 critique_fn: Callable[..., Any] | None = None) -> None:
        super().__init__()
        self._factory = advisor_factory
        self._critique_fn = critique_fn
        self._advisor: Advisor | None = None
        self._tokens: dict[int, CancelToken] = {}    # GUI thread only
        self._next_id = 0
        self.thread_ = QThread()
        self.thread_.setObjectName("AdvisorWorker")
        self.moveToThread(self.thread_)
        self._advise.connect(self._run)
        self._test_load.connect(self._run_test_load)
        self._set_factory.connect(self._replace_factory)
        self.thread_.start()

    # GUI thread -------------------------------------------------------------------
    def submit(self, request: AdviceRequest) -> int:
        """Queue a critique; returns its request id. Older pending requests are cancelled."""
        for token in self._tokens.values():
            token.cancel()
        self._next_id += 1
        rid = self._next_id
        token = CancelToken()
        self._tokens[rid] = token
        self._advise.emit(rid, request, token)
        return rid

    def cancel(self, request_id: int | None = None) -> None:
        """Set the cancel token(s) directly from the calling thread."""
        if request_id is None:
            for t in self._tokens.values():
                t.cancel()
        elif request_id in self._tokens:
            self._tokens[request_id].cancel()

    def forget(self, request_id: int) -> None:
        self._tokens.pop(request_id, None)

    def test_load(self, options: Mapping[str, Any]) -> None:
        self._test_load.emit(dict(options))

    def set_factory(self, factory: AdvisorFactory) -> None:
        """Use another advisor from the next critique on (e.g. after the settings changed)."""
        self._set_factory.emit(factory)

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        self.cancel()
        self.thread_.quit()
        return self.thread_.wait(timeout_ms)

    # worker thread ------------------------------------------------------------------
    @Slot(object)
    def _replace_factory(self, factory: AdvisorFactory) -> None:
        self._factory = factory
        self._advisor = None

    def _ensure_advisor(self) -> Advisor:
        if self._advisor is None:
            made = self._factory()
            choice = AdvisorChoice(*made) if isinstance(made, tuple) else AdvisorChoice(made)
            self._advisor = choice.advisor
            self.advisor_changed.emit(choice.advisor.info, choice.note, choice.fell_back)
        return self._advisor

    @Slot(int, object, object)
    def _run(self, rid: int, request: AdviceRequest, token: CancelToken) -> None:
        try:
            if token.cancelled:
                raise Cancelled()
            advisor = self._ensure_advisor()
            token.raise_if_cancelled()
            fn = self._critique_fn
            if fn is None:
                from model.advice.pipeline import critique as fn  # may import heavy modules on first use
            advice = fn(request, advisor, token, lambda f, msg: self.progress.emit(rid, float(f), str(msg)))
            if token.cancelled:
                raise Cancelled()
        except Cancelled:
            self.advice_failed.emit(rid, ErrorReport("Critique", "Cancelled.", "", "info", ErrorKind.CANCELLED))
            return
        except InputError as exc:      # something about the mix itself (e.g. a muted anchor): no fault
            self.advice_failed.emit(rid, ErrorReport.from_exception(exc, "Critique"))
            return
        except MixingBuddyError as exc:
            self.advice_failed.emit(rid, replace(ErrorReport.from_exception(exc, "Critique failed"),
                                                 kind=ErrorKind.ADVISOR_FAILED))
            return
        except Exception as exc:  # a crashing advisor never takes the window down
            self.advice_failed.emit(rid, ErrorReport(
                "Critique failed", f"The advisor crashed: {type(exc).__name__}: {exc}",
                "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)), "error",
                ErrorKind.ADVISOR_FAILED))
            return
        self.advice_ready.emit(rid, advice)

    @Slot(object)
    def _run_test_load(self, options: dict) -> None:
        """Try to build the LLM advisor with the given settings and say what is missing."""
        from model.advisors import load_advisor

        checkpoint = options.pop("checkpoint", None) or None
        device = options.pop("device", None) or None
        if device == "auto":
            device = None
        extra = {k: v for k, v in options.items() if v not in (None, "")}
        try:
            adv = load_advisor("llm", checkpoint, device, **extra)
        except MixingBuddyError as exc:
            self.test_load_done.emit({"ok": False, "message": exc.message, "detail": exc.detail})
            return
        except Exception as exc:
            self.test_load_done.emit({"ok": False, "message": f"{type(exc).__name__}: {exc}",
                                      "detail": traceback.format_exc()})
            return
        self.test_load_done.emit({"ok": True, "message": f"Loaded {adv.info.id}: {adv.info.description}",
                                  "detail": ""})


# --- thread-pool jobs --------------------------------------------------------------

class JobSignals(QObject):
    finished = Signal(int, object)
    failed = Signal(int, object)
    progress = Signal(int, float, str)


@dataclass
class LoadOutcome:
    """What a LoadTracksJob produced (all of it computed off the GUI thread)."""

    tracks: TrackSet
    buffer: np.ndarray                    # (tracks, frames, 2) float32 for the MixEngine
    lufs: dict[str, float]
    notes: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    findings: tuple[Finding, ...] = ()
    context: Any = None                   # e.g. the PendingSession being opened


class LoadTracksJob(QRunnable):
    """Decode, probe, bring rates together, guess roles, measure loudness, run the doctor."""

    def __init__(self, job_id: int, paths: list[str], role_overrides: Mapping[str, str] | None = None,
                 context: Any = None, loaded: TrackSet | None = None, loaded_lufs: Mapping[str, float] | None = None
                 ) -> None:
        super().__init__()
        self.job_id = job_id
        self.paths = list(paths)
        self.role_overrides = dict(role_overrides or {})   # by absolute path
        self.context = context
        # Tracks already loaded (and their loudness by id): unchanged files are not decoded or measured again.
        self.loaded = loaded
        self.loaded_lufs = dict(loaded_lufs or {})
        self.signals = JobSignals()

    def run(self) -> None:
        try:
            outcome = self._load()
        except MixingBuddyError as exc:
            self.signals.failed.emit(self.job_id, ErrorReport.from_exception(exc, "Loading failed"))
            return
        except MemoryError:
            self.signals.failed.emit(self.job_id, ErrorReport("Loading failed", "Not enough memory for these files."))
            return
        except Exception as exc:
            self.signals.failed.emit(self.job_id, ErrorReport.from_exception(exc, "Loading failed"))
            return
        self.signals.finished.emit(self.job_id, outcome)

    def _load(self) -> LoadOutcome:
        from model.audio.tracks import load_tracks

        self.signals.progress.emit(self.job_id, 0.05, f"Reading {len(self.paths)} item(s)")
        before = {os.path.abspath(t.path): t for t in self.loaded.tracks} if self.loaded else {}
        # bad paths and files come back in result.failed
        result = load_tracks(self.paths, strict=False, reuse=before)
        tracks = result.tracks
        # Padding a track with more silence can move its BS.1770 reading slightly (blocks straddling the end),
        # so earlier readings are kept only while the session length is unchanged.
        same_length = self.loaded is not None and self.loaded.frames == tracks.frames
        old_lufs = {p: self.loaded_lufs[t.id] for p, t in before.items() if t.id in self.loaded_lufs}

        by_path = {os.path.abspath(p): r for p, r in self.role_overrides.items()}
        roles = {t.id: by_path[os.path.abspath(t.path)] for t in tracks.tracks if os.path.abspath(t.path) in by_path}
        if roles:
            tracks = tracks.with_roles(roles)
        lufs: dict[str, float] = {}
        n = len(tracks.tracks)
        for i, t in enumerate(tracks.tracks):
            known = old_lufs.get(os.path.abspath(t.path))
            if same_length and t.id in result.reused and known is not None:
                lufs[t.id] = known
                continue
            self.signals.progress.emit(self.job_id, 0.3 + 0.5 * i / max(1, n), f"Measuring {t.name}")
            lufs[t.id] = track_loudness(t.audio, t.sample_rate)  # -inf for silence
        self.signals.progress.emit(self.job_id, 0.85, "Preparing preview")
        buffer = stack_tracks(tracks)
        # The tracks keep views of the preview buffer, so every sample is held once.
        tracks = TrackSet(tuple(replace(t, audio=buffer[i] if t.audio.shape[1] == 2 else buffer[i, :, :1])
                                for i, t in enumerate(tracks.tracks)), tracks.sample_rate)
        findings = tuple(run_doctor(tracks))
        return LoadOutcome(tracks, buffer, lufs, tuple(result.notes), tuple(result.failed), findings,
                           self.context)


def track_loudness(audio: np.ndarray, sample_rate: int, block_s: float = 0.25) -> float:
    """BS.1770 loudness of a track as played (mono counts on both speakers), metered in short blocks.

    libebur128 holds the GIL while it runs, so short blocks keep the GUI thread responsive.
    """
    from model.audio.dsp import Meter

    meter = Meter(audio.shape[1], sample_rate, dual_mono=True)
    step = max(1, int(block_s * sample_rate))
    for i in range(0, audio.shape[0], step):
        meter.add(audio[i:i + step])
    return float(meter.loudness())


def run_doctor(tracks: TrackSet) -> list[Finding]:
    """The export doctor on freshly loaded tracks (findings only; errors become findings here)."""
    from model.audio.doctor import check_session
    from model.advice.pipeline import default_anchor

    try:
        default_anchor(tracks.roles_present())  # some anchor role exists; which one plays is the critique's rule
    except MixingBuddyError as exc:
        return [Finding("no_anchor", "warning", exc.message)]
    try:
        return list(check_session(tracks))
    except MixingBuddyError as exc:
        return [Finding("doctor", "error", exc.message)]
    except Exception as exc:  # the doctor must never block loading
        return [Finding("doctor", "info", f"The export doctor failed: {type(exc).__name__}: {exc}")]


class MeasureJob(QRunnable):
    """Exact whole-song loudness of the roles and the mix for one or more gain settings.

    Runs ``model.advice.pipeline.measure_request`` (true_peak=False), the same measurement the critique
    and the CLI's JSON use, so the meters agree with them. ``requests`` is [(key, AdviceRequest)].
    """

    def __init__(self, job_id: int, requests: list[tuple[tuple, AdviceRequest]]) -> None:
        super().__init__()
        self.job_id = job_id
        self.requests = list(requests)
        self.signals = JobSignals()

    def run(self) -> None:
        try:
            from model.advice.pipeline import measure_request

            out = []
            for key, request in self.requests:
                m = measure_request(request, per_track=False)
                out.append((key, {r: float(lv.lufs) for r, lv in m.roles.items()}, float(m.mix.lufs)))
        except MemoryError:
            self.signals.failed.emit(self.job_id, ErrorReport("Meters", "Not enough memory to measure the mix.",
                                                              "", "warning"))
            return
        except Exception as exc:
            self.signals.failed.emit(self.job_id, ErrorReport.from_exception(exc, "Meters"))
            return
        self.signals.finished.emit(self.job_id, out)


class OverviewJob(QRunnable):
    """Min/max per pixel column of the mono mix at the given gains (for the overview waveform)."""

    def __init__(self, job_id: int, buffer: np.ndarray, gains: np.ndarray, columns: int = OVERVIEW_COLUMNS) -> None:
        super().__init__()
        self.job_id = job_id
        self.buffer = buffer
        self.gains = np.asarray(gains, dtype=np.float32)
        self.columns = columns
        self.signals = JobSignals()

    def run(self) -> None:
        try:
            result = overview_minmax(self.buffer, self.gains, self.columns)
        except Exception as exc:
            self.signals.failed.emit(self.job_id, ErrorReport.from_exception(exc, "Overview"))
            return
        self.signals.finished.emit(self.job_id, result)


def overview_minmax(buffer: np.ndarray, gains: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """(mins, maxs) of the mono mix per column, computed in chunks of whole columns."""
    n_tracks, frames, _ = buffer.shape
    columns = max(1, min(columns, frames))
    edges = np.linspace(0, frames, columns + 1).astype(np.int64)
    mins = np.zeros(columns, dtype=np.float32)
    maxs = np.zeros(columns, dtype=np.float32)
    if n_tracks == 0 or frames == 0:
        return mins, maxs
    g = np.asarray(gains, dtype=np.float32) * np.float32(0.5)
    step = max(1, columns // 64)
    for c0 in range(0, columns, step):
        c1 = min(columns, c0 + step)
        a, b = int(edges[c0]), int(edges[c1])
        seg = np.tensordot(g, buffer[:, a:b, :], axes=(0, 0)).sum(axis=1)  # mono = (L + R) / 2
        idx = edges[c0:c1] - a
        mins[c0:c1] = np.minimum.reduceat(seg, idx)
        maxs[c0:c1] = np.maximum.reduceat(seg, idx)
    return mins, maxs
