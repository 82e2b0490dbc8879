"""MERT loaded as a stock transformers.HubertModel, without remote code.

The encoder is frozen and locked in eval (SpecAugment never runs, even when a
parent module trains). Its 25 hidden states are mixed by learnable softmax
weights (init uniform), computed outside ``no_grad`` so the weights train.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from model.errors import CheckpointError

#: On CPU a batch goes through the encoder a few clips at a time, so that the conv front end's first
#: activation (channels x samples / 5, float32) stays within this many bytes: a whole batch at once thrashes
#: the cache (tiny MERT, 2 cores: 12.2 ms per clip at 16 clips, 6.9 at 4). Real MERT goes one clip at a time.
CPU_CHUNK_BYTES = 16 * 2**20

_HUB_ONLY_KEYS = ("model_type", "auto_map", "architectures", "_name_or_path", "transformers_version")


def hubert_config(config: dict):
    """MERT config.json -> HubertConfig; refuses what stock Hubert cannot represent."""
    from transformers import HubertConfig

    if config.get("feature_extractor_cqt"):
        raise CheckpointError("This MERT config uses the CQT feature branch, which the stock encoder cannot load "
                              "(feature_extractor_cqt: true).")
    if config.get("deepnorm") and not config.get("do_stable_layer_norm"):
        raise CheckpointError("This MERT config uses the deepnorm encoder, which the stock encoder cannot load "
                              "(deepnorm without do_stable_layer_norm).")
    rest = {k: v for k, v in config.items() if k not in _HUB_ONLY_KEYS}
    rest["tie_last_hidden_states"] = True  # hidden_states[-1] = final LayerNorm output, as MERT's code returned
    return HubertConfig(**rest)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path.parent}: no {path.name}; not a MERT folder.") from None
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable ({exc}).") from None


def _read_state(folder: Path) -> dict:
    st, binf = folder / "model.safetensors", folder / "pytorch_model.bin"
    try:
        if st.is_file():
            from safetensors.torch import load_file

            return load_file(str(st))
        if binf.is_file():
            return torch.load(binf, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt or truncated files
        raise CheckpointError(f"{folder}: the MERT weights cannot be read ({type(exc).__name__}: {exc}).") from None
    raise CheckpointError(f"{folder}: no model.safetensors or pytorch_model.bin; the MERT weights are incomplete.")


def load_hubert(folder: str | Path):
    """(HubertModel strictly loaded, do_normalize) from a MERT-style folder."""
    from transformers import HubertModel

    folder = Path(folder)
    cfg = hubert_config(_read_json(folder / "config.json"))
    model = HubertModel(cfg)
    state = _read_state(folder)
    try:
        result = model.load_state_dict(state, strict=False)  # legacy weight_g/weight_v mapped by torch's hook
    except RuntimeError as exc:  # size mismatches
        raise CheckpointError(f"{folder}: MERT weights do not match config.json: {_first_line(exc)}") from None
    if result.missing_keys or result.unexpected_keys:
        parts = []
        if result.missing_keys:
            parts.append("missing " + ", ".join(result.missing_keys[:8]))
        if result.unexpected_keys:
            parts.append("unexpected " + ", ".join(result.unexpected_keys[:8]))
        raise CheckpointError(f"{folder}: MERT weights do not match the encoder ({'; '.join(parts)}).")
    pre = folder / "preprocessor_config.json"
    do_normalize = bool(_read_json(pre).get("do_normalize", False)) if pre.is_file() else False
    return model, do_normalize


def _first_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[1] if len(lines) > 1 and lines[0].startswith("Error(s)") else (lines[0] if lines else type(exc).__name__)


class MertEncoder(nn.Module):
    """Frozen MERT + learnable softmax layer weights: (B, samples) at 24 kHz -> (B, T, hidden)."""

    sample_rate = 24000

    def __init__(self, hubert: nn.Module, do_normalize: bool = False, layer_norm: bool = False) -> None:
        super().__init__()
        self.hubert = hubert
        self.hubert.config.apply_spec_augment = False
        self.hubert.requires_grad_(False)
        self.hubert.eval()
        self.do_normalize = do_normalize
        self.layer_norm = layer_norm
        self.num_layers = hubert.config.num_hidden_layers + 1
        self.hidden_size = hubert.config.hidden_size
        self.layer_weights = nn.Parameter(torch.full((self.num_layers,), 1.0 / self.num_layers))

    @classmethod
    def from_folder(cls, folder: str | Path, layer_norm: bool = False) -> "MertEncoder":
        hubert, do_normalize = load_hubert(folder)
        return cls(hubert, do_normalize, layer_norm)

    def train(self, mode: bool = True) -> "MertEncoder":
        """Layer weights follow ``mode``; the encoder itself always stays in eval."""
        super().train(mode)
        self.hubert.eval()
        return self

    def hidden_states(self, audio: torch.Tensor) -> torch.Tensor:
        """(L, B, T, H) hidden states of the frozen encoder (no grad)."""
        if audio.dim() != 2:
            raise ValueError(f"audio must be (batch, samples), got {tuple(audio.shape)}")
        if audio.shape[1] < 400:
            raise ValueError(f"MERT needs at least 400 samples (got {audio.shape[1]})")
        param = next(self.hubert.parameters())
        x = audio.to(device=param.device, dtype=param.dtype)
        if self.do_normalize:
            x = (x - x.mean(dim=1, keepdim=True)) / torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + 1e-7)
        step = self._cpu_chunk(x.shape[1]) if x.device.type == "cpu" else x.shape[0]
        with torch.no_grad():
            parts = [torch.stack(self.hubert(x[i:i + step], output_hidden_states=True).hidden_states, dim=0)
                     for i in range(0, x.shape[0], step)]
        states = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        if states.shape[0] != self.num_layers:
            raise RuntimeError(f"MERT returned {states.shape[0]} hidden states, expected {self.num_layers}")
        return states

    def _cpu_chunk(self, num_samples: int) -> int:
        """Clips per encoder call on CPU (see CPU_CHUNK_BYTES)."""
        cfg = self.hubert.config
        first = cfg.conv_dim[0] * (num_samples // cfg.conv_stride[0]) * 4
        return max(1, CPU_CHUNK_BYTES // max(1, first))

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        states = self.hidden_states(audio)
        if self.layer_norm:
            states = nn.functional.layer_norm(states, states.shape[-1:])
        weights = torch.softmax(self.layer_weights, dim=0).to(states.dtype)
        return torch.einsum("l,lbth->bth", weights, states)
