"""Findings: notes about an export or a measurement (doctor checks, window fallbacks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Finding:
    """An export-doctor finding."""

    code: str
    severity: Literal["error", "warning", "info"]
    message: str
    track_ids: tuple[str, ...] = ()
