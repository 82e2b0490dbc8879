"""Findings: notes about an export or a measurement (doctor checks, window fallbacks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: How many file names a one-line summary shows before "and N more".
SHOWN_FILES = 3


def clock(seconds: float) -> str:
    """A time in a finding's words: m:ss."""
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"


@dataclass(frozen=True)
class Finding:
    """An export-doctor finding: one line (what, its consequence, the fix) and the files it concerns."""

    code: str
    severity: Literal["error", "warning", "info"]
    message: str
    track_ids: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The finding as the JSON outputs list it (``warnings``)."""
        return {"code": self.code, "severity": self.severity, "message": self.message, "tracks": list(self.track_ids)}

    def files_line(self, shown: int | None = SHOWN_FILES) -> str:
        """The files behind a finding about several files ("" for one or none): all, or the first ``shown``."""
        ids = self.track_ids
        if len(ids) < 2:
            return ""
        if shown is None or len(ids) <= shown:
            return f"{len(ids)} files: {', '.join(ids)}"
        return f"{len(ids)} files: {', '.join(ids[:shown])} and {len(ids) - shown} more"
