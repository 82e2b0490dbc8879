"""ModelConfig: what the multimodal model is made of (strict: unknown keys are errors).

No torch here: configs are read by the CLI, the trainer and checkpoint manifests.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from model.errors import InputError

PRECISIONS = ("nf4", "bf16", "fp32")
PROJECTORS = ("mlp", "linear", "mlp2x_gelu")
POOL_MODES = ("mean", "stack")
AUDIO_POSITIONS = ("prefix", "user")
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

DEFAULT_ENCODER = "m-a-p/MERT-v1-330M"
DEFAULT_LLM = "Qwen/Qwen2-7B-Instruct"


class ModelConfigError(InputError, ValueError):
    """A model config with an unknown key or a value out of range."""


@dataclass(frozen=True)
class LoraSettings:
    """peft LoRA on the LLM (the paper: r 16 on every attention and MLP projection). ``enabled=False`` trains the projector only."""

    enabled: bool = True
    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    targets: tuple[str, ...] = LORA_TARGETS

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        if self.r < 1 or self.alpha <= 0:
            raise ModelConfigError(f"model config: lora.r must be >= 1 and lora.alpha > 0 (got {self.r}, {self.alpha})")
        if not 0.0 <= self.dropout < 1.0:
            raise ModelConfigError(f"model config: lora.dropout must be in [0, 1) (got {self.dropout})")
        if not self.targets:
            raise ModelConfigError("model config: lora.targets is empty")


@dataclass(frozen=True)
class ModelConfig:
    """MERT encoder -> layer mix -> pooling -> projector -> Qwen2 (+LoRA). Paper defaults."""

    encoder: str = DEFAULT_ENCODER          # local folder or hub id
    encoder_revision: str | None = None
    llm: str = DEFAULT_LLM                  # local folder or hub id
    llm_revision: str | None = None
    precision: str = "nf4"                  # nf4 | bf16 | fp32 (LLM weights)
    projector: str = "mlp"                  # mlp | linear | mlp2x_gelu
    projector_hidden: tuple[int, ...] = (2048, 4096, 4096, 2048)
    projector_dropout: float = 0.1
    audio_pool: int = 1                     # k: 1 = paper (749 tokens per 10 s)
    audio_pool_mode: str = "mean"           # mean | stack
    audio_position: str = "prefix"          # prefix (before the system turn) | user
    layer_norm_per_layer: bool = False      # non-affine LayerNorm per MERT layer before mixing (off for parity)
    lora: LoraSettings = field(default_factory=LoraSettings)
    # Also train the LLM's input embeddings and output head (peft modules_to_save, saved in the adapter).
    # Off for the paper (a full copy of 2 x 152k x 3584 weights); on in the tiny-cpu preset, whose random
    # head otherwise cannot be steered towards the answer templates in a few hundred steps.
    train_embeddings: bool = False
    aux_loss_weight: float = 0.05
    gradient_checkpointing: bool = True
    max_new_tokens: int = 48

    def __post_init__(self) -> None:
        object.__setattr__(self, "projector_hidden", tuple(int(h) for h in self.projector_hidden))
        if isinstance(self.lora, Mapping):
            object.__setattr__(self, "lora", _lora_from(self.lora))
        elif not isinstance(self.lora, LoraSettings):
            raise ModelConfigError("model config: lora must be a table")
        _choice("precision", self.precision, PRECISIONS)
        _choice("projector", self.projector, PROJECTORS)
        _choice("audio_pool_mode", self.audio_pool_mode, POOL_MODES)
        _choice("audio_position", self.audio_position, AUDIO_POSITIONS)
        if not isinstance(self.audio_pool, int) or self.audio_pool < 1:
            raise ModelConfigError(f"model config: audio_pool must be an integer >= 1 (got {self.audio_pool!r})")
        if self.projector == "mlp" and (not self.projector_hidden or min(self.projector_hidden) < 1):
            raise ModelConfigError("model config: projector_hidden needs at least one positive width for 'mlp'")
        if not 0.0 <= self.projector_dropout < 1.0:
            raise ModelConfigError(f"model config: projector_dropout must be in [0, 1) (got {self.projector_dropout})")
        if self.aux_loss_weight < 0:
            raise ModelConfigError(f"model config: aux_loss_weight must be >= 0 (got {self.aux_loss_weight})")
        if self.max_new_tokens < 1:
            raise ModelConfigError(f"model config: max_new_tokens must be >= 1 (got {self.max_new_tokens})")
        if self.train_embeddings and not self.lora.enabled:
            raise ModelConfigError("model config: train_embeddings needs lora.enabled (they are saved with the adapter)")
        if not self.encoder or not self.llm:
            raise ModelConfigError("model config: encoder and llm must name a folder or a hub id")

    # --- (de)serialisation -------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ModelConfig":
        """Strict: every key must be a field (``lora`` may be a table)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelConfigError(f"model config: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ModelConfigError(f"model config: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON/TOML-friendly dict (tuples become lists; None values are kept)."""
        out = dataclasses.asdict(self)
        out["projector_hidden"] = list(self.projector_hidden)
        out["lora"]["targets"] = list(self.lora.targets)
        return out

    def replace(self, **changes: Any) -> "ModelConfig":
        """A copy with some fields changed (validated again)."""
        if isinstance(changes.get("lora"), Mapping):
            changes["lora"] = dataclasses.replace(self.lora, **changes["lora"])
        return dataclasses.replace(self, **changes)


def _lora_from(table: Mapping[str, Any]) -> LoraSettings:
    known = {f.name for f in dataclasses.fields(LoraSettings)}
    bad = sorted(set(table) - known)
    if bad:
        raise ModelConfigError(f"model config: unknown key(s) lora.{', lora.'.join(bad)} (known: {', '.join(sorted(known))})")
    return LoraSettings(**table)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ModelConfigError(f"model config: {name} must be one of {', '.join(allowed)} (got {value!r})")
