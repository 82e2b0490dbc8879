"""Balance profiles for the controller: the profile the measured advisor judges against, and learning a new one
from the user's finished songs on a thread-pool job (progress, Cancel; saved to the user's profile folder).

ProfileMixin is mixed into ProjectController and uses its pool, jobs and signals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from model.advice.profiles import (DEFAULT_PROFILE, EXPORT_WARNINGS, LEFT_OUT_AS_COPIES, MIN_SONGS, SHARED_FILES,
                                   SONGS_WITHOUT_PAIRS, UNSURE_ROLES, fit_profile, resolve_profile, user_profile_path,
                                   write_profile)
from model.audio.tracks import path_key
from model.errors import Cancelled, InputError, MixingBuddyError

from mixingbuddy_app.errors import ErrorKind, ErrorReport
from mixingbuddy_app.jobs import JobKind
from mixingbuddy_app.session_file import (is_session_path, last_critique_profile, read_session, require_all_files,
                                          session_song)
from mixingbuddy_app.workers import PoolJob, cancelled_report

LEARN_METHOD = "MixingBuddy app: Learn a profile from my mixes"


def distinct_folders(folders: Sequence[str]) -> list[str]:
    """Each folder once, as first written, however it is spelled (relative, with '..', through a link)."""
    seen: dict[str, str] = {}
    for folder in folders:
        seen.setdefault(path_key(folder), str(folder))
    return list(seen.values())


def learn_refusal(folders: Sequence[str]) -> str:
    """Why a profile cannot be learned from ``folders`` (one folder of stems or one saved session per song), in
    one line; "" if it can."""
    songs = len(distinct_folders(folders))
    if songs < MIN_SONGS:
        return (f"Pick at least {MIN_SONGS} finished songs, one folder of stems or saved session each ({songs} so "
                "far): a profile learns how far songs sit apart.")
    for f in folders:
        if is_session_path(f) and Path(f).is_file():
            try:
                require_all_files(read_session(f))
            except InputError as exc:
                return exc.message
        elif not Path(f).is_dir():
            return f"{f} is neither a folder nor a saved session."
    return ""


def song_of(path: str):
    """What fit_profile learns from for one picked song: a session's SongSource, or the folder as it is."""
    return session_song(path) if is_session_path(path) else path


class FitProfileJob(PoolJob):
    """Measure each song folder, fit a profile and write it to ``out`` (atomically); finished -> (name, path)."""

    def __init__(self, job_id: int, folders: Sequence[str], name: str, description: str, out: Path) -> None:
        super().__init__(job_id)
        self.folders = list(folders)
        self.name = name
        self.description = description
        self.out = out

    def run(self) -> None:
        try:
            profile, _ = fit_profile([song_of(f) for f in self.folders], self.name, LEARN_METHOD, self.description,
                                     progress=lambda f, msg: self.emit("progress", float(f), msg),
                                     cancel=self.token)
            self.token.raise_if_cancelled()   # cancelled during the last song: nothing is written
            write_profile(profile, self.out)
        except Cancelled:
            self.fail(cancelled_report("Learn a profile"))
            return
        except MixingBuddyError as exc:
            self.fail(ErrorReport.from_exception(exc, "Learn a profile"))
            return
        except MemoryError:
            self.fail(ErrorReport("Learn a profile", "Not enough memory for these songs."))
            return
        except Exception as exc:  # never let a bad song take the window down
            self.fail(ErrorReport.from_exception(exc, "Learn a profile"))
            return
        self.emit("finished", (self.name, self.out, profile["provenance"]))


class ProfileMixin:
    def _init_profiles(self) -> None:
        self.profile_name = DEFAULT_PROFILE

    @property
    def learning(self) -> bool:
        return self.jobs.running(JobKind.PROFILE) is not None

    def set_profile(self, name: str) -> bool:
        """Judge against the profile ``name`` (shipped or user) from the next critique on; False if it is unknown."""
        name = name or DEFAULT_PROFILE
        try:
            resolve_profile(name)
        except InputError as exc:
            self.error.emit(ErrorReport("Profile", exc.message, "", "warning"))
            return False
        if name != self.profile_name:
            self.profile_name = name
            self._profile = None    # the typical bands of the chart and the second opinion follow
            self.profile_changed.emit(name)
        return True

    def take_session_profile(self, advice) -> str:
        """Choose the profile a reopened session's last critique used, as `mixingbuddy critique song.mbsession`
        does (a profile is the song's genre, not the app's); what changed, for the status bar ("" if nothing)."""
        name, installed = last_critique_profile(advice)
        if not name or name == self.profile_name:
            return ""
        if not installed:
            return (f"its last critique's profile {name} is not installed here: the next critique uses "
                    f"{self.profile_name}")
        self.set_profile(name)
        return f"the profile {name} of its last critique is chosen again"

    def learn_profile(self, folders: Sequence[str], name: str, description: str = "") -> int | None:
        """Fit a profile called ``name`` from one folder of stems or saved session per song, on a worker; returns
        the job id."""
        if self.learning:
            self.status.emit("A profile is already being learned.")
            return None
        folders = [str(f) for f in folders]
        try:
            refusal = learn_refusal(folders)
            if refusal:
                raise InputError(refusal)
            out = user_profile_path(name)
        except InputError as exc:
            self.error.emit(ErrorReport("Learn a profile", exc.message))
            return None
        job = self.jobs.start(JobKind.PROFILE, lambda job_id: FitProfileJob(job_id, folders, name.strip(), description,
                                                                             out))
        job.signals.progress.connect(self._on_learn_progress)
        job.signals.finished.connect(self._on_learned)
        job.signals.failed.connect(self._on_learn_failed)
        self.learning_changed.emit(True, f"Learning '{name.strip()}' from {len(folders)} songs…")
        self.pool.start(job)
        return job.job_id

    def cancel_learning(self) -> None:
        """Stop the running fit at the next song (set from the GUI thread; nothing is written)."""
        if self.learning:
            self.jobs.cancel(JobKind.PROFILE)
            self.status.emit("Cancelling the profile fit…")

    def _on_learn_progress(self, job_id: int, frac: float, msg: str) -> None:
        if self.jobs.is_latest(JobKind.PROFILE, job_id):
            self.learn_progress.emit(frac, msg)

    def _finish_learning(self, job_id: int, outcome: str) -> bool:
        current = self.jobs.finish(JobKind.PROFILE, job_id)
        if current:
            self.learning_changed.emit(False, outcome)
            self.status.emit(outcome)
        return current

    def _on_learned(self, job_id: int, result) -> None:
        name, path, provenance = result
        left_out, unsure = provenance.get(LEFT_OUT_AS_COPIES, {}), provenance.get(UNSURE_ROLES, {})
        warned, shared = provenance.get(EXPORT_WARNINGS, {}), provenance.get(SHARED_FILES, [])
        empty = provenance.get(SONGS_WITHOUT_PAIRS, [])
        if not self._finish_learning(job_id, f"Learned the profile '{name}' ({path}); the next critique judges "
                                             f"against it."):
            return
        if left_out:   # a song folder held a copy of its files (its full mix): left out, and the user should know
            files = ", ".join(f"{file} in {song}" for song, files in left_out.items() for file in files)
            self.error.emit(ErrorReport("Learn a profile", "Left out as copies of a song's other files (a full mix "
                                        f"or a group's bus would count them twice): {files}.", "", "warning"))
        if unsure:     # folders' roles are guessed: the user never saw these guesses, and the profile keeps them
            files = "; ".join(f"{song}: {', '.join(names)}" for song, names in unsure.items())
            self.error.emit(ErrorReport("Learn a profile", "Learned with roles guessed from unsure names (to set "
                                        "them, open the song, set the roles, save it as a session and learn from the "
                                        f"session): {files}.", "", "warning"))
        if warned:     # a file cut short (say) is learned as it is: the user decides whether to re-export
            said = "; ".join(f"{song}: {' '.join(messages)}" for song, messages in warned.items())
            self.error.emit(ErrorReport("Learn a profile", f"Learned from files with export problems (re-export them "
                                        f"and learn again if they matter): {said}", "", "warning"))
        if shared:     # one song re-exported: it counts twice
            self.error.emit(ErrorReport("Learn a profile", f"{'; '.join(shared)}: each song should count once.", "",
                                        "warning"))
        if empty:      # a song of one role (or roles that never meet) adds nothing; its roles may be wrong
            self.error.emit(ErrorReport("Learn a profile", f"Learned nothing from {', '.join(empty)}: no two roles "
                                        "play together in it (check its roles).", "", "warning"))
        self.profiles_changed.emit()
        self.set_profile(name)
        self.profile_learned.emit(name)

    def _on_learn_failed(self, job_id: int, report: ErrorReport) -> None:
        cancelled = report.kind is ErrorKind.CANCELLED
        if not self._finish_learning(job_id, "Profile fit cancelled; nothing was saved." if cancelled else
                                     f"Could not learn the profile: {report.message}"):
            return
        if not cancelled:
            self.error.emit(report)
