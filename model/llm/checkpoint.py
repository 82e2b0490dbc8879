"""Run folders: manifest.json + projector.safetensors + adapter/; base weights never copied.

Writes are atomic (a temp folder whose files and folder are fsync'ed, then renamed
into place, then the parent folder fsync'ed). Loading verifies the
format version, the sha256 of every listed file and the tensor names and
shapes, and names exactly what mismatched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

from model.llm.config import ModelConfig, ModelConfigError
from model.errors import CheckpointError
from model.advice.templates import TEMPLATE_VERSION
from model.llm.weights import config_sha256

FORMAT = "mixingbuddy.checkpoint"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "projector.safetensors"
ADAPTER = "adapter"

#: Upgrade hooks: format version -> function(manifest) -> manifest of the next version.
UPGRADES: dict[int, Callable[[dict], dict]] = {}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries (new names, renames) to disk; a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - filesystems that refuse fsync on folders
        pass
    finally:
        os.close(fd)


def fsync_file(path: str | os.PathLike) -> None:
    """Flush one written file to disk."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def fsync_tree(folder: str | os.PathLike) -> None:
    """Flush every file of a finished folder, then its folders, to disk (before it is renamed into place)."""
    folder = Path(folder)
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            fsync_file(p)
    for d in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        fsync_dir(d)
    fsync_dir(folder)


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)


# --- saving ---------------------------------------------------------------------

def save_checkpoint(model, out: str | os.PathLike, *, step: int = 0, metrics: Mapping[str, Any] | None = None,
                    training: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``model``'s trainable weights and manifest to the run folder ``out`` (atomic replace)."""
    from safetensors.torch import save_file

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.trainable_state_dict().items()}
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": "pt", FORMAT: str(FORMAT_VERSION)})
        if model.config.lora.enabled:
            model.llm.save_pretrained(str(tmp / ADAPTER))
        manifest = _manifest(model, tensors, step, metrics, training, extra)
        manifest["files"] = {name: sha256_file(tmp / name) for name in _files(tmp)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
        fsync_tree(tmp)
        _replace_dir(tmp, out)
        fsync_dir(out.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _manifest(model, tensors, step, metrics, training, extra) -> dict:
    cfg: ModelConfig = model.config
    bases = {}
    for role, ref, rev in (("encoder", cfg.encoder, cfg.encoder_revision), ("llm", cfg.llm, cfg.llm_revision)):
        folder = model.base_dirs.get(role)
        bases[role] = {"ref": ref, "revision": rev, "path": str(Path(folder).resolve()) if folder else None,
                       "config_sha256": config_sha256(folder) if folder else None}
    n10 = model.n_audio_tokens(240000)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": cfg.to_dict(),
        "base_models": bases,
        "audio": {"sample_rate": 24000, "pool": cfg.audio_pool, "pool_mode": cfg.audio_pool_mode,
                  "position": cfg.audio_position, "token": "<|AUDIO|>", "token_id": model.audio_token_id,
                  "tokens_per_10s": n10},
        "template_version": TEMPLATE_VERSION,
        "training": dict(training or {}),
        "step": int(step),
        "metrics": dict(metrics or {}),
        "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")} for k, v in tensors.items()},
        "extra": dict(extra or {}),
    }


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move ``tmp`` to ``out``; an existing ``out`` is swapped out first and then removed."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- reading --------------------------------------------------------------------

def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest, upgraded to the current format; refuses unknown or future formats."""
    folder = Path(path)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: checkpoint folder not found.")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{folder}: no {MANIFEST}; not a MixingBuddy checkpoint (or an incomplete one).") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder / MANIFEST}: unreadable ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{folder}: {MANIFEST} is not a MixingBuddy checkpoint manifest.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{folder}: invalid checkpoint format version {version!r}.")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{folder}: checkpoint format {version} is newer than this MixingBuddy reads "
                              f"({FORMAT_VERSION}); update MixingBuddy.")
    while version < FORMAT_VERSION:
        if version not in UPGRADES:
            raise CheckpointError(f"{folder}: no upgrade from checkpoint format {version}.")
        manifest = UPGRADES[version](manifest)
        version = manifest["format_version"]
    return manifest


def verify_checkpoint(path: str | os.PathLike) -> dict:
    """Read the manifest and check every listed file's sha256; names the first files that differ."""
    folder = Path(path)
    manifest = read_manifest(folder)
    files = manifest.get("files") or {}
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise CheckpointError(f"{folder}: incomplete checkpoint, missing {', '.join(sorted(missing))}.")
    changed = [name for name, digest in sorted(files.items()) if sha256_file(folder / name) != digest]
    if changed:
        raise CheckpointError(f"{folder}: checksum mismatch in {', '.join(changed)} (file changed or corrupt).")
    if WEIGHTS not in files:
        raise CheckpointError(f"{folder}: the manifest lists no {WEIGHTS}; incomplete checkpoint.")
    return manifest


def load_trainable(path: str | os.PathLike, manifest: dict | None = None) -> dict:
    """The projector/layer-weight tensors, checked against the manifest's names and shapes."""
    from safetensors.torch import load_file

    folder = Path(path)
    manifest = manifest if manifest is not None else verify_checkpoint(folder)
    tensors = load_file(str(folder / WEIGHTS))
    expected = manifest.get("tensors") or {}
    problems = [f"missing {k}" for k in sorted(set(expected) - set(tensors))]
    problems += [f"unexpected {k}" for k in sorted(set(tensors) - set(expected))]
    problems += [f"{k}: file {list(tensors[k].shape)} vs manifest {expected[k]['shape']}"
                 for k in sorted(set(expected) & set(tensors)) if list(tensors[k].shape) != expected[k]["shape"]]
    if problems:
        raise CheckpointError(f"{folder / WEIGHTS}: does not match the manifest ({'; '.join(problems)}).")
    return tensors


def model_config(manifest: dict) -> ModelConfig:
    try:
        return ModelConfig.from_dict(manifest["model"])
    except (KeyError, ModelConfigError) as exc:
        raise CheckpointError(f"The checkpoint's model config is invalid: {exc}") from None


def _base_ref(manifest: dict, role: str, override) -> str:
    if override is not None:
        return str(override)
    entry = (manifest.get("base_models") or {}).get(role) or {}
    path = entry.get("path")
    if path and Path(path).is_dir():
        return path
    return entry.get("ref") or manifest["model"][role]


def load_checkpoint(path: str | os.PathLike, device=None, *, encoder=None, llm=None, training: bool = False,
                    precision: str | None = None):
    """A MixingBuddyModel from a run folder. Base models default to what the manifest records.

    ``model.load_notes`` lists warnings (for example a base config that changed since training).
    """
    from model.llm.multimodal import MixingBuddyModel

    folder = Path(path)
    manifest = verify_checkpoint(folder)
    cfg = model_config(manifest)
    if precision is not None:
        cfg = cfg.replace(precision=precision)
    tensors = load_trainable(folder, manifest)
    adapter = folder / ADAPTER
    if cfg.lora.enabled and not (adapter / "adapter_config.json").is_file():
        raise CheckpointError(f"{folder}: the LoRA adapter ({ADAPTER}/) is missing; incomplete checkpoint.")
    model = MixingBuddyModel.build(cfg, device=device, training=training,
                                   adapter_dir=adapter if cfg.lora.enabled else None,
                                   encoder=_base_ref(manifest, "encoder", encoder), llm=_base_ref(manifest, "llm", llm))
    model.load_trainable_state_dict(tensors)  # copies values in place: the training flags set by build() hold
    notes = []
    for role, entry in (manifest.get("base_models") or {}).items():
        recorded, actual = entry.get("config_sha256"), config_sha256(model.base_dirs[role])
        if recorded and actual and recorded != actual:
            notes.append(f"The {role} base model's config.json differs from the one used in training.")
    model.load_notes = notes
    model.manifest = manifest
    return model
