"""Base weights: a local folder or a hub id, resolved offline-aware.

A folder is used as is. A hub id (``owner/name``) is looked up under
``MIXINGBUDDY_MODELS_DIR`` first, then in the huggingface_hub cache, and
downloaded only when online (``HF_HUB_OFFLINE`` respected). Only the listed
files are fetched: no remote code ever.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Sequence

from model.errors import CheckpointError

MERT_FILES = ("config.json", "preprocessor_config.json", "model.safetensors", "pytorch_model.bin")
LLM_FILES = ("*.json", "*.safetensors", "merges.txt", "vocab.json", "tokenizer*")

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_offline() -> bool:
    """True when HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set to a true value."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on"):
            return True
    return False


def looks_like_hub_id(ref: str) -> bool:
    """``owner/name`` without a leading ``/``, ``.`` or ``~``."""
    return bool(_HUB_ID.match(ref)) and not ref.startswith((".", "~"))


def resolve_weights(ref: str | os.PathLike, files: Sequence[str] = (), revision: str | None = None) -> Path:
    """The local folder holding ``ref``'s files; raises CheckpointError with one clear line."""
    text = str(ref)
    path = Path(text).expanduser()
    if path.is_dir():
        return path
    if not looks_like_hub_id(text):
        raise CheckpointError(f"{text}: model folder not found.")
    root = os.environ.get("MIXINGBUDDY_MODELS_DIR")
    if root:
        for candidate in (Path(root) / text, Path(root) / text.split("/")[-1]):
            if candidate.is_dir():
                return candidate
    return _from_hub(text, files, revision)


def _from_hub(repo_id: str, files: Sequence[str], revision: str | None) -> Path:
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:  # pragma: no cover - a dependency of transformers
        raise CheckpointError(f"{repo_id}: huggingface_hub is not installed; pass a local folder.") from None
    offline = is_offline()
    try:
        folder = snapshot_download(repo_id, revision=revision, allow_patterns=list(files) or None,
                                   local_files_only=offline)
    except LocalEntryNotFoundError:
        if offline:
            raise CheckpointError(f"{repo_id} not in the local cache; offline") from None
        raise CheckpointError(f"{repo_id} could not be downloaded (no connection?)") from None
    except Exception as exc:  # noqa: BLE001 - hub errors become one line
        raise CheckpointError(f"{repo_id} could not be fetched: {type(exc).__name__}: {exc}") from None
    return Path(folder)


def config_sha256(folder: str | os.PathLike) -> str | None:
    """sha256 of a model folder's config.json (None when absent): pins base weights in manifests."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()
