"""Findings: notes about an export or a measurement (doctor checks, window fallbacks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

#: How many file names a one-line summary shows before "and N more".
SHOWN_FILES = 3


def clock(seconds: float) -> str:
    """A time in a finding's words: m:ss."""
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


def listed(names: Sequence[str], shown: int | None = SHOWN_FILES) -> str:
    """Names joined by commas: all of them, or the first ``shown`` and how many more."""
    if shown is None or len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


@dataclass(frozen=True)
class Finding:
    """An export-doctor finding: one line (what, its consequence, the fix) and the files it concerns."""

    code: str
    severity: Literal["error", "warning", "info"]
    message: str
    track_ids: tuple[str, ...] = ()
    #: The files its fix mutes, where the fix is to mute them (the app offers it on a double-click).
    mutes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The finding as the JSON outputs list it (``warnings``)."""
        return {"code": self.code, "severity": self.severity, "message": self.message, "tracks": list(self.track_ids)}

    def files_line(self, shown: int | None = SHOWN_FILES) -> str:
        """The files behind a finding about several files ("" for one or none): all, or the first ``shown``."""
        ids = self.track_ids
        return f"{len(ids)} files: {listed(ids, shown)}" if len(ids) >= 2 else ""
