"""Strict TOML configs for the training commands: unknown keys are errors; ``--set key=value`` overrides.

Each shipped file in ``training/configs`` names its kind (``kind = "train"`` ...) and
holds tables matching the nested dataclasses below. ``resolve(kind, path, sets)``
loads defaults < file < overrides and returns the dataclass; ``to_dict`` /
``dump_json`` write the resolved config into a run or data folder.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.errors import InputError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


@dataclass
class SynthConfig:
    """Data synthesis (the paper's recipe): gate, 30 combinations per gated chunk, gains, templates."""

    seed: int = 42
    sample_rate: int = 24000
    chunk_s: float = 10.0
    anchors: list[str] = field(default_factory=lambda: ["bass", "drums", "vocals"])
    targets: list[str] = field(default_factory=lambda: ["vocals", "drums", "bass"])
    categories: list[str] = field(default_factory=lambda: ["no_error", "quiet", "very_quiet", "loud", "very_loud"])
    stems_present: list[str] = field(default_factory=lambda: ["vocals", "drums", "bass", "other"])
    val_tracks: list[str] = field(default_factory=list)  # empty: MUSDB18's official list, else a seeded share
    val_share: float = 0.14  # used only when no official validation track is present
    no_error_copies: int = 3  # reference parity: 3 gain-shifted copies per train no_error record
    no_error_copy_db: float = 3.0
    render_wav: bool = False
    cache_format: str = "flac"  # flac: 16-bit FLAC per stem (about 3x smaller) | npy: float16 memory-maps


@dataclass
class OptimConfig:
    """AdamW + cosine with warmup ratio (the paper's schedule)."""

    lr: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.05
    warmup_ratio: float = 0.01
    max_grad_norm: float = 1.0


@dataclass
class TrainSection:
    """Loop: batch sizes, steps, stages, validation and checkpoints."""

    effective_batch: int = 16
    per_device_batch: int = 2
    max_steps: int = 1000
    epochs: int = 0  # >0: steps from the data size instead of max_steps
    projector_only_steps: int = 0  # optional stage 1 (projector + layer weights only)
    val_every: int = 200
    val_samples: int = 64
    val_generate: int = 16  # validation accuracy: generate + parse + strict score on this many
    save_every: int = 200
    log_every: int = 10
    seed: int = 1234
    augment: bool = True
    no_error_copies: bool = True
    num_workers: int = 0
    mixed_precision: str = "auto"  # auto: bf16 on CUDA, no on CPU
    tiny_models: bool = False  # write tiny random MERT + Qwen2 folders into the run and train those (CPU tests)


@dataclass
class TrainConfig:
    """``train``: model (``model.llm.config.ModelConfig`` keys) + optimiser + loop."""

    model: dict[str, Any] = field(default_factory=dict)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainSection = field(default_factory=TrainSection)


@dataclass
class EvalConfig:
    """``eval``: batched greedy generation over a split."""

    split: str = "test"
    batch_size: int = 8
    limit: int = 0
    decoding: str = "greedy"  # greedy | reference (sampling with per-sample seeds)
    max_new_tokens: int = 0  # 0: longest template + 16
    seed: int = 0


@dataclass
class ProfileConfig:
    """``profile``: refit the BalanceAdvisor profile on gated MUSDB train windows."""

    splits: list[str] = field(default_factory=lambda: ["train"])
    window_s: float = 10.0


KINDS: dict[str, type] = {"synth": SynthConfig, "train": TrainConfig, "eval": EvalConfig, "profile": ProfileConfig}
PRESETS = {"tiny-cpu": "tiny_cpu.toml", "paper": "paper_qlora.toml", "reference": "reference_final.toml"}


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check a TOML value against a dataclass field type (ints are accepted for floats)."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a table")
        return _build(tp, value, where)
    if tp is Any:
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise InputError(f"{where}: expected a list")
        (item,) = typing.get_args(tp)[:1] or (Any,)
        return [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{where}: expected a table")
        return dict(value)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is type(None) and value is None:
                return None
            try:
                return _coerce(value, arg, where)
            except InputError:
                continue
        raise InputError(f"{where}: {value!r} has the wrong type")
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is bool and not isinstance(value, bool):
        raise InputError(f"{where}: expected true or false, got {value!r}")
    if tp in (int, float, str) and (not isinstance(value, tp) or isinstance(value, bool)):
        raise InputError(f"{where}: expected {tp.__name__}, got {value!r}")
    return value


def _build(cls: type, data: dict, where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in data.items()}
    return cls(**kwargs)


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_set(item: str) -> dict:
    """'train.max_steps=20' -> {'train': {'max_steps': 20}}; the value is parsed as TOML, else kept as a string."""
    if "=" not in item:
        raise InputError(f"--set {item!r}: expected key=value")
    key, raw = item.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    out: dict = {}
    node = out
    parts = key.strip().split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def read_toml(path: str | Path) -> dict:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: config file not found")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: invalid TOML ({exc})") from None


def preset_path(name: str) -> Path:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    return CONFIG_DIR / PRESETS[name]


def resolve(kind: str, files: list[str | Path] | None = None, sets: list[str] | None = None) -> Any:
    """Defaults < each file in order < ``--set`` overrides; returns the kind's dataclass."""
    cls = KINDS[kind]
    data: dict = {}
    for path in files or []:
        raw = read_toml(path)
        file_kind = raw.pop("kind", kind)
        if file_kind != kind:
            raise InputError(f"{path}: is a {file_kind!r} config, expected {kind!r}")
        data = _merge(data, raw)
    for item in sets or []:
        data = _merge(data, parse_set(item))
    cfg = _build(cls, data, "")
    if kind == "train":
        model_config(cfg)  # validate the [model] table now (strict)
    return cfg


def model_config(cfg: "TrainConfig"):
    """The ``[model]`` table as a validated ``model.llm.config.ModelConfig``."""
    from model.llm.config import ModelConfig

    return ModelConfig.from_dict(cfg.model)


def load_file(path: str | Path) -> Any:
    """Parse one config file of any kind (its ``kind`` key decides)."""
    raw = read_toml(path)
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(f"{path}: missing or unknown kind {kind!r}")
    return resolve(kind, [path])


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def dump_json(cfg: Any, path: str | Path, kind: str) -> None:
    """Write the resolved config (JSON, with its kind) next to the outputs it produced."""
    Path(path).write_text(json.dumps({"kind": kind, **to_dict(cfg)}, indent=2, sort_keys=True) + "\n",
                          encoding="utf-8")
