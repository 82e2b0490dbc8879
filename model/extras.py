"""The optional parts of the install (pip extras) and the one line that says how to get a missing one.

``pip install mixingbuddy`` is the core: the app and ``mixingbuddy critique`` with the measured advisor.
``mixingbuddy[llm]`` adds the model stack, ``mixingbuddy[train]`` what ``mixingbuddy-train`` needs on top.
"""

from __future__ import annotations

import importlib.util
import sys

from model.errors import MissingExtra

# The import names of each extra's distributions (tests check them against pyproject.toml).
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "llm": ("torch", "torchaudio", "transformers", "peft", "bitsandbytes", "accelerate", "safetensors"),
}
EXTRA_MODULES["train"] = EXTRA_MODULES["llm"] + ("tqdm", "matplotlib")


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be found here (nothing is imported)."""
    missing = []
    for name in EXTRA_MODULES[extra]:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or half-removed install counts as missing
            found = False
        if not found:
            missing.append(name)
    return missing


def install_hint(extra: str) -> str:
    """The command that installs ``extra``."""
    hint = f"pip install 'mixingbuddy[{extra}]'"
    if getattr(sys, "frozen", False):  # the PyInstaller bundle cannot grow extras
        return f"this bundle holds the core only; install MixingBuddy with {hint}"
    return hint


def require_extra(extra: str, what: str) -> None:
    """Raise MissingExtra (one line naming the extra to install) unless every module of ``extra`` is installed."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtra(f"{what} needs the '{extra}' extra, which is not installed here "
                           f"(missing: {', '.join(missing)}): {install_hint(extra)}")
