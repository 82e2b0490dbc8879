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


class MissingExtra(MixingBuddyError):
    """A part of the install (a pip extra such as ``mixingbuddy[llm]``) that is not installed here (CLI exit 2)."""


class ModelRuntimeError(MixingBuddyError):
    """The model failed while running (out of memory, shape mismatch)."""


class Cancelled(MixingBuddyError):
    """The user cancelled a running critique."""

    def __init__(self, message: str = "Cancelled.", detail: str = "") -> None:
        super().__init__(message, detail)


def run_command(prog: str, action, bad_input: tuple[type[BaseException], ...] = ()) -> int:
    """Run a CLI action and map failures to exit codes with one line on stderr.

    2: bad input (InputError, CheckpointError, AdvisorUnavailable, MissingExtra, or ``bad_input``);
    1: any other error (traceback only with MIXINGBUDDY_DEBUG=1); 130: interrupted.
    """
    import os
    import sys

    try:
        return int(action() or 0)
    except (InputError, CheckpointError, AdvisorUnavailable, MissingExtra, *bad_input) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except MixingBuddyError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep Python from
        # complaining again while it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - last-resort boundary
        if os.environ.get("MIXINGBUDDY_DEBUG") == "1":
            raise
        print(f"{prog}: internal error: {type(exc).__name__}: {exc} (set MIXINGBUDDY_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 1
