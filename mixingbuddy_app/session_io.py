"""Files for the controller: save and open sessions (locating missing files), and export the critique.

SessionFilesMixin is mixed into ProjectController and uses its project, loading and signals. The session
format is session_file.py; the export formats are model.advice.report.
"""

from __future__ import annotations

import os
from pathlib import Path

from model.advice.report import advice_csv, advice_json_text, advice_markdown
from model.errors import InputError, MixingBuddyError

from mixingbuddy_app.errors import ErrorReport
from mixingbuddy_app.session_file import PendingSession, read_session, user_roles
from model.files import atomic_write_text


#: Folder names DAWs and users give export folders; the song is then named after the folder above.
GENERIC_FOLDERS = frozenset({"stems", "stem", "export", "exports", "bounce", "bounces", "audio", "audio files",
                             "multitracks", "tracks", "mixdown", "renders", "render"})


def audio_folder(paths) -> Path | None:
    """The folder holding all of ``paths`` (their deepest common folder), or None when there are none."""
    parents = [os.path.dirname(os.path.abspath(p)) for p in paths]
    if not parents:
        return None
    try:
        return Path(os.path.commonpath(parents))
    except ValueError:          # different drives
        return Path(parents[0])


def song_name(folder: Path) -> str:
    """The song's name from its stems' folder ("Lithium"), skipping generic names such as "stems"."""
    if folder.name.lower() in GENERIC_FOLDERS and folder.parent.name:
        return folder.parent.name
    return folder.name or "mix"


class SessionFilesMixin:
    def _init_session_files(self) -> None:
        self._pending_session: PendingSession | None = None   # a session waiting for its missing files

    def session_name(self) -> str:
        """What the window title calls the session: the session file's name, else the song's; "" when empty."""
        p = self.project
        if p.session_path is not None:
            return Path(p.session_path).stem
        folder = audio_folder(t.path for t in p.tracks.tracks) if p.tracks else None
        return song_name(folder) if folder is not None else ""

    def suggested_path(self, suffix: str) -> Path | None:
        """Where a save or export dialog starts: beside the session file, else beside the stems, named after
        the song ("Lithium" + suffix). None when nothing is open."""
        p = self.project
        if p.session_path is not None:
            return Path(p.session_path).with_name(Path(p.session_path).stem + suffix)
        folder = audio_folder(t.path for t in p.tracks.tracks) if p.tracks else None
        return None if folder is None else folder / (song_name(folder) + suffix)

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
        self._start_load(paths, user_roles(pending), pending)

    # --- exports -------------------------------------------------------------------------------
    def export(self, path: str, fmt: str | None = None) -> bool:
        adv = self.project.advice
        if adv is None:
            self.error.emit(ErrorReport("Export", "There is no critique to export yet."))
            return False
        fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
        try:
            if fmt in ("md", "markdown"):
                text = advice_markdown(adv, self.project.track_gains())
            elif fmt == "json":
                text = advice_json_text(adv)
            elif fmt == "csv":
                text = advice_csv(adv, self.project.role_db)
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

