"""Typed errors. Each carries a one-line user message and an optional technical detail."""

from __future__ import annotations


class MixingBuddyError(Exception):
    """Base class: ``str(err)`` is the one-line message shown to users."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class InputError(MixingBuddyError):
    """Bad input from the user: files, arguments, sessions (CLI exit 2)."""


class AudioFormatError(InputError):
    """A file that cannot be decoded as audio, or whose audio is unusable."""


class RoleError(InputError):
    """An unknown role, or an anchor role without audible tracks."""


class NoAnalysableAudio(InputError):
    """Nothing audible to judge (no tracks, all silent, empty selection)."""


class CheckpointError(MixingBuddyError):
    """A model checkpoint or base weights that are missing, tampered or mismatched (CLI exit 2)."""


class AdvisorUnavailable(MixingBuddyError):
    """The requested advisor cannot be built here (missing weights, no device)."""


class ModelRuntimeError(MixingBuddyError):
    """The model failed while running (out of memory, shape mismatch)."""


class Cancelled(MixingBuddyError):
    """The user cancelled a running critique."""

    def __init__(self, message: str = "Cancelled.", detail: str = "") -> None:
        super().__init__(message, detail)
