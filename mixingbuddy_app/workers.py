"""Background work: the AdvisorWorker (one QThread for the app's lifetime) and QThreadPool jobs.

Nothing is raised across threads: every job ends in exactly one result or failure signal carrying
an ErrorReport. Cancel tokens are set directly from the GUI thread (a queued slot would wait
behind the running critique).
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThread, Signal, Slot

from model.audio.findings import Finding
from model.advice.advisor import AdviceRequest, Advisor, CancelToken
from model.errors import AudioFormatError, Cancelled, InputError, MixingBuddyError, NoAnalysableAudio
from model.audio.preview import SONG_WINDOW_S, can_fill_in_processes, fill_rows_in_processes, read_track
from model.audio.stream import worker_processes
from model.audio.tracks import TrackSet

from mixingbuddy_app.errors import ErrorKind, ErrorReport
from mixingbuddy_app.playback import preview_buffer, preview_file

if TYPE_CHECKING:
    from model.audio.cache import AnalysisCache, FileAnalysis

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
    _advise = Signal(int, object, object, object)
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
    def submit(self, request: AdviceRequest, cache: Any = None, measure_with: Any = None) -> int:
        """Queue a critique; returns its request id. Older pending requests are cancelled.

        ``cache`` (model.audio.cache.AnalysisCache) holds what is known of the tracks' files;
        ``measure_with`` measures instead of model.audio.measure.measure_session (the metering process).
        """
        for token in self._tokens.values():
            token.cancel()
        self._next_id += 1
        rid = self._next_id
        token = CancelToken()
        self._tokens[rid] = token
        self._advise.emit(rid, request, token, (cache, measure_with))
        return rid

    def cancel(self, request_id: int | None = None) -> None:
        """Set the cancel token(s) directly from the calling thread (all of them when None)."""
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

    @Slot(int, object, object, object)
    def _run(self, rid: int, request: AdviceRequest, token: CancelToken, context: Any = (None, None)) -> None:
        try:
            if token.cancelled:
                raise Cancelled()
            advisor = self._ensure_advisor()
            token.raise_if_cancelled()
            fn = self._critique_fn
            if fn is None:
                from model.advice.pipeline import critique as fn  # may import heavy modules on first use
            cache, measure_with = context
            known = {k: v for k, v in (("cache", cache), ("measure_with", measure_with)) if v is not None}
            advice = fn(request, advisor, token, lambda f, msg: self.progress.emit(rid, float(f), str(msg)), **known)
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
    files_listed = Signal(int, object)   # job id, (ListedFile, ...): a load's files, known from their headers
    file_read = Signal(int, object)      # job id, FileRead: one file of a load is ready


class PoolJob(QRunnable):
    """A thread-pool job with a cancel token, whose results are dropped once nobody can receive them.

    The controller cancels its jobs and waits for them when the app closes; a job that still ends
    after its signals object is gone drops its result instead of raising in the pool's thread.
    """

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        self.token = CancelToken()
        self.signals = JobSignals()

    def cancel(self) -> None:
        self.token.cancel()

    def emit(self, name: str, *args: Any) -> None:
        try:
            getattr(self.signals, name).emit(self.job_id, *args)
        except RuntimeError:   # "Signal source has been deleted": the app is closing
            pass

    def fail(self, report: ErrorReport) -> None:
        self.emit("failed", report)


def cancelled_report(title: str) -> ErrorReport:
    return ErrorReport(title, "Cancelled.", "", "info", ErrorKind.CANCELLED)


@dataclass(frozen=True)
class ListedFile:
    """One file of a load, known from its header: its row can be listed before it is decoded."""

    track_id: str
    name: str
    role: str


@dataclass(frozen=True)
class FileRead:
    """One file of a load, decoded and measured: enough for its row in the track list while the rest load."""

    index: int            # files read so far (1-based)
    total: int
    track_id: str
    name: str
    role: str
    lufs: float


@dataclass
class LoadOutcome:
    """What a LoadTracksJob produced (all of it computed off the GUI thread)."""

    tracks: TrackSet
    buffer: np.ndarray                    # (tracks, frames, 2) float32 for the MixEngine (memory-mapped)
    lufs: dict[str, float]
    notes: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    findings: tuple[Finding, ...] = ()
    context: Any = None                   # e.g. the PendingSession being opened


class LoadTracksJob(PoolJob):
    """Probe the files and list them (from their headers), then decode each one once into the preview buffer
    while measuring it (its unity-gain window readings and the export doctor's statistics), reporting every
    file as it is read. Files the ``cache`` knows (same stamp, session rate and length) are decoded for the
    preview but not measured again; what is measured goes into the cache. Cancel stops it within a block."""

    def __init__(self, job_id: int, paths: list[str], role_overrides: Mapping[str, str] | None = None,
                 context: Any = None, loaded: TrackSet | None = None, cache: "AnalysisCache | None" = None,
                 workers: int | None = None, processes: int | None = None) -> None:
        super().__init__(job_id)
        self.paths = list(paths)
        self.role_overrides = dict(role_overrides or {})   # by absolute path
        self.context = context
        self.loaded = loaded     # tracks already loaded: their audio is copied, not decoded again
        self.cache = cache
        # one core stays with the GUI thread: the decoders and meters share the interpreter lock with it
        self.workers = workers or max(1, min(4, (os.cpu_count() or 1) - 1))
        # big sessions are decoded in worker processes (at a lower priority than the GUI): None chooses, 0 never
        self.processes = processes

    def run(self) -> None:
        try:
            outcome = self._load()
        except Cancelled:
            self.fail(cancelled_report("Loading"))
            return
        except MixingBuddyError as exc:
            self.fail(ErrorReport.from_exception(exc, "Loading failed"))
            return
        except MemoryError:
            self.fail(ErrorReport("Loading failed", "Not enough memory for these files."))
            return
        except Exception as exc:
            self.fail(ErrorReport.from_exception(exc, "Loading failed"))
            return
        self.emit("finished", outcome)

    def _load(self) -> LoadOutcome:
        from model.audio.cache import FileKey
        from model.audio.measure import song_loudness
        from model.audio.stream import session_tracks
        from model.audio.tracks import conversion_notes, plan_session

        self.emit("progress", 0.0, f"Reading {len(self.paths)} item(s)")
        plan = plan_session(self.paths, strict=False)   # headers only; bad paths come back in plan.failed
        self.token.raise_if_cancelled()
        by_path = {os.path.abspath(p): r for p, r in self.role_overrides.items()}
        roles = {tid: by_path[os.path.abspath(p)] for tid, p in zip(plan.ids, plan.paths)
                 if os.path.abspath(p) in by_path}
        planned = session_tracks(plan, roles).tracks
        self.emit("files_listed", tuple(ListedFile(t.id, t.name, t.role.role) for t in planned))
        n, length, rate = len(planned), plan.frames, plan.sample_rate
        before = {os.path.abspath(t.path): t for t in self.loaded.tracks} if self.loaded else {}
        buffer = preview_buffer(n, length)
        read: dict[int, tuple[Any, float]] = {}
        failed = list(plan.failed)
        keys, known, reuse = {}, {}, {}
        for i, t in enumerate(planned):
            old = before.get(os.path.abspath(t.path))
            if old is not None and old.info == t.info and old.sample_rate == rate:
                reuse[i] = old
            # The key holds the session length: padding a track with more silence can move its readings
            # slightly (blocks straddling the end), so a session that grew measures every file again.
            keys[i] = FileKey.of(t.info, rate, length, SONG_WINDOW_S, None)
            hit = self.cache.get(keys[i]) if self.cache is not None else None
            if hit is not None and hit.stats is not None and hit.windows:   # complete, not a critique's readings
                known[i] = hit

        def done(i: int, result: "FileAnalysis | None | AudioFormatError") -> None:   # in this thread
            t = planned[i]
            if isinstance(result, AudioFormatError):
                failed.append((t.path, str(result)))
                return
            if result is None:
                result = known[i]
            elif self.cache is not None:
                self.cache.put(keys[i], result)
            read[i] = (result.for_track(t.id, t.name, t.role.role), song_loudness(result.windows))
            # the GUI shows the progress from this too: one call into the GUI thread a file
            self.emit("file_read", FileRead(len(read), n, t.id, t.name, t.role.role, read[i][1]))

        decode = [i for i in range(n) if i not in reuse]
        processes = self.processes if self.processes is not None else worker_processes(len(decode), length, rate)
        mapped = preview_file(buffer)
        in_processes = decode if processes > 1 and can_fill_in_processes(buffer, mapped) else []
        in_thread = sorted(set(range(n)) - set(in_processes))   # copies from ``reuse``, or everything
        self._fill_in_threads(buffer, planned, in_thread, reuse, known, length, done)
        fill_rows_in_processes(buffer, mapped, [(i, planned[i], i not in known) for i in in_processes], length,
                               processes, done, self.token)
        self.token.raise_if_cancelled()
        if not read:
            raise NoAnalysableAudio("None of the files could be decoded: " + "; ".join(r for _, r in failed))
        kept = sorted(read)
        for row, i in enumerate(kept):   # close the gaps of failed files in place (no copy of the buffer)
            if row != i:
                buffer[row] = buffer[i]
        buffer = buffer[: len(kept)]
        tracks = TrackSet(tuple(replace(planned[i], audio=buffer[row, :, :planned[i].info.decoded_channels])
                                for row, i in enumerate(kept)), rate)
        lufs = {planned[i].id: read[i][1] for i in kept}
        self.emit("progress", 0.97, "Checking the export")
        findings = tuple(run_doctor([read[i][0] for i in kept], rate, tracks.roles_present()))
        notes = tuple(plan.notes) + tuple(conversion_notes([(t.name, t.info) for t in tracks.tracks], rate, length))
        return LoadOutcome(tracks, buffer, lufs, notes, tuple(failed), findings, self.context)

    def _fill_in_threads(self, buffer, planned, rows, reuse, known, length, done) -> None:
        """``read_track`` for these rows on ``self.workers`` threads (files copied from ``reuse`` or decoded)."""
        from concurrent.futures import ThreadPoolExecutor, as_completed

        def one(i: int):
            return read_track(planned[i], buffer[i], length, reuse.get(i), i not in known, self.token)

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            futures = {pool.submit(one, i): i for i in rows}
            try:
                for future in as_completed(futures):
                    try:
                        result = future.result()
                    except AudioFormatError as exc:
                        result = exc
                    done(futures[future], result)
            except BaseException:
                self.token.cancel()   # the other files stop at their next block
                raise


def run_doctor(stats: list, sample_rate: int, roles_present: tuple[str, ...]) -> list[Finding]:
    """The export doctor on the statistics gathered while loading (findings only; errors become findings here)."""
    from model.audio.doctor import check_files
    from model.advice.pipeline import default_anchor

    try:
        default_anchor(roles_present)  # some anchor role exists; which one plays is the critique's rule
    except MixingBuddyError as exc:
        return [Finding("no_anchor", "warning", exc.message)]
    try:
        return list(check_files(stats, sample_rate))
    except MixingBuddyError as exc:
        return [Finding("doctor", "error", exc.message)]
    except Exception as exc:  # the doctor must never block loading
        return [Finding("doctor", "info", f"The export doctor failed: {type(exc).__name__}: {exc}")]


class Metered(NamedTuple):
    """What MeasureJob measured for one gain setting (see MeasureJob)."""

    key: tuple
    gains: Any
    roles: Mapping[str, float]
    mix: float
    blocks: Mapping[str, np.ndarray]
    pairs: Mapping[tuple[str, str], float]
    bridged: frozenset
    copies: tuple = ()     # model.audio.copies.CopyFile: files that copy others (a role's bus, the full mix)


class MeasureJob(PoolJob):
    """Exact whole-song loudness of the roles and the mix for one or more gain settings.

    Runs ``model.advice.pipeline.measure_request`` (true_peak=False), the same measurement the critique
    and the CLI's JSON use, so the meters agree with them; tracks the ``cache`` knows are not metered
    again, and a critique asking for the same measurement meanwhile waits for this one. ``measure_with``
    measures instead of measure_session (the controller's metering process). ``requests`` is
    [(key, AdviceRequest)]; the result is [Metered(key, gains, roles' LUFS, mix LUFS,
    each role's block energies with its role gain taken out, each (role, anchor role) offset over the windows
    where both play (through a role that plays with both where the two never do) with both role gains taken
    out, and each (role, "t:<id>") offset against every vocals track as a lone anchor, with the role gains out
    and that track's own gain in, the set of those pairs that were bridged, and the files that copy others:
    a role's bus or the full mix (model.audio.copies))]. It reports progress as the critique does; cancel stops it
    within a track's window.
    """

    def __init__(self, job_id: int, requests: list[tuple[tuple, AdviceRequest]], cache: Any = None,
                 measure_with: Any = None) -> None:
        super().__init__(job_id)
        self.requests = list(requests)
        self.cache = cache
        self.measure_with = measure_with

    def run(self) -> None:
        try:
            from model.advice.pipeline import measure_request
            from model.advice.profiles import SongOffsets, profile_pairs, song_offsets, with_bridges
            from model.audio.copies import find_copies
            from model.audio.roles import TRACK_ANCHOR

            out = []
            for key, request in self.requests:
                self.token.raise_if_cancelled()
                m = measure_request(request, cache=self.cache, cancel=self.token, measure_with=self.measure_with,
                                    progress=lambda f, msg: self.emit("progress", float(f), str(msg)))
                role_db = request.gains.role_db
                blocks = {r: m.energies(f"r:{r}") / 10.0 ** (role_db.get(r, 0.0) / 10.0) for r in m.roles}
                # as the critique judges: over the windows where both play, else through a role playing with both
                song = song_offsets("", m)
                pairs = {(r, a): d - role_db.get(r, 0.0) + role_db.get(a, 0.0)
                         for (r, a), d in with_bridges(song).items()}
                bridged = {k for k in pairs if k not in song.offsets}
                against_track = [(r, a) for r, a in profile_pairs() if a == TRACK_ANCHOR]
                for t in request.tracks.tracks:   # each vocals track, should the user anchor on it alone
                    if t.role.role == "vocals" and t.id in m.tracks:
                        lead = SongOffsets("", {**song.offsets, **song_offsets("", m, t.id, against_track).offsets},
                                           {}, 0)
                        for (r, a), d in with_bridges(lead).items():
                            if a == TRACK_ANCHOR:
                                pairs[(r, f"t:{t.id}")] = d - role_db.get(r, 0.0) + role_db.get("vocals", 0.0)
                                if (r, a) not in lead.offsets:
                                    bridged.add((r, f"t:{t.id}"))
                out.append(Metered(key, request.gains, {r: float(lv.lufs) for r, lv in m.roles.items()},
                                   float(m.mix.lufs), blocks, pairs, frozenset(bridged), tuple(find_copies(m))))
        except Cancelled:
            self.fail(cancelled_report("Meters"))
            return
        except MemoryError:
            self.fail(ErrorReport("Meters", "Not enough memory to measure the mix.", "", "warning"))
            return
        except Exception as exc:
            self.fail(ErrorReport.from_exception(exc, "Meters"))
            return
        self.emit("finished", out)


class OverviewJob(PoolJob):
    """Min/max per pixel column of the mono mix at the given gains (for the overview waveform)."""

    def __init__(self, job_id: int, buffer: np.ndarray, gains: np.ndarray, columns: int = OVERVIEW_COLUMNS) -> None:
        super().__init__(job_id)
        self.buffer = buffer
        self.gains = np.asarray(gains, dtype=np.float32)
        self.columns = columns

    def run(self) -> None:
        try:
            result = overview_minmax(self.buffer, self.gains, self.columns, self.token)
        except Cancelled:
            self.fail(cancelled_report("Overview"))
            return
        except Exception as exc:
            self.fail(ErrorReport.from_exception(exc, "Overview"))
            return
        self.emit("finished", result)


def overview_minmax(buffer: np.ndarray, gains: np.ndarray, columns: int, cancel: CancelToken | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
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
        if cancel is not None:
            cancel.raise_if_cancelled()
        c1 = min(columns, c0 + step)
        a, b = int(edges[c0]), int(edges[c1])
        seg = np.tensordot(g, buffer[:, a:b, :], axes=(0, 0)).sum(axis=1)  # mono = (L + R) / 2
        idx = edges[c0:c1] - a
        mins[c0:c1] = np.minimum.reduceat(seg, idx)
        maxs[c0:c1] = np.maximum.reduceat(seg, idx)
    return mins, maxs
