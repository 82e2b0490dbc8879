"""Audio projector (MERT features -> LLM embeddings) and optional temporal pooling of audio tokens.

Reference key names are kept: the paper MLP is ``network.{0,4,8,12,16}``
(Linear) and ``network.{2,6,10,14}`` (LayerNorm). Xavier-uniform weights, zero
biases, set explicitly (HF's generic init would otherwise touch them).
"""

from __future__ import annotations

import torch
from torch import nn


def pool_frames(x: torch.Tensor, k: int, mode: str = "mean") -> torch.Tensor:
    """(B, T, D) -> (B, T // k, D) by mean, or (B, T // k, k * D) by stacking; the tail is dropped."""
    if k <= 1:
        return x
    b, t, d = x.shape
    n = t // k
    x = x[:, : n * k].reshape(b, n, k, d)
    if mode == "mean":
        return x.mean(dim=2)
    if mode == "stack":
        return x.reshape(b, n, k * d)
    raise ValueError(f"unknown pooling mode {mode!r}")


class AudioProjector(nn.Module):
    """Encoder frames -> LLM embedding space, with pooling by ``pool`` first."""

    def __init__(self, in_dim: int, out_dim: int, kind: str = "mlp",
                 hidden: tuple[int, ...] = (2048, 4096, 4096, 2048), dropout: float = 0.1,
                 pool: int = 1, pool_mode: str = "mean") -> None:
        super().__init__()
        self.pool, self.pool_mode = int(pool), pool_mode
        width = in_dim * (self.pool if pool_mode == "stack" else 1)
        if kind == "mlp":
            layers: list[nn.Module] = []
            for h in hidden:
                layers += [nn.Linear(width, h), nn.GELU(), nn.LayerNorm(h), nn.Dropout(dropout)]
                width = h
            layers.append(nn.Linear(width, out_dim))
        elif kind == "linear":
            layers = [nn.Linear(width, out_dim)]
        elif kind == "mlp2x_gelu":
            layers = [nn.Linear(width, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim)]
        else:
            raise ValueError(f"unknown projector {kind!r}")
        self.network = nn.Sequential(*layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.network:
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = pool_frames(frames, self.pool, self.pool_mode)
        return self.network(x.to(self.network[0].weight.dtype))
