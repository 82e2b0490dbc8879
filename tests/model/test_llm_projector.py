"""Projector key names, sizes, init and temporal pooling."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from model.llm.projector import AudioProjector, pool_frames  # noqa: E402


def test_paper_mlp_keys_and_param_count():
    with torch.device("meta"):
        proj = AudioProjector(1024, 3584)
    keys = set(proj.state_dict())
    for i in (0, 4, 8, 12, 16):
        assert {f"network.{i}.weight", f"network.{i}.bias"} <= keys
    for i in (2, 6, 10, 14):
        assert isinstance(proj.network[i], torch.nn.LayerNorm)
    assert sum(p.numel() for p in proj.parameters()) == 43_032_064
    assert [type(m).__name__ for m in proj.network[:4]] == ["Linear", "GELU", "LayerNorm", "Dropout"]
    assert proj.network[3].p == 0.1


def test_xavier_init_zero_bias():
    proj = AudioProjector(32, 64, hidden=(128, 128))
    w = proj.network[0].weight
    bound = (6 / (32 + 128)) ** 0.5
    assert w.abs().max() <= bound and w.abs().max() > 0.8 * bound
    assert all(m.bias.abs().sum() == 0 for m in proj.network if isinstance(m, torch.nn.Linear))


def test_other_kinds():
    x = torch.randn(2, 7, 32)
    assert AudioProjector(32, 64, "linear")(x).shape == (2, 7, 64)
    p = AudioProjector(32, 64, "mlp2x_gelu")
    assert p(x).shape == (2, 7, 64) and set(p.state_dict()) == {
        "network.0.weight", "network.0.bias", "network.2.weight", "network.2.bias"}


def test_pooling():
    x = torch.arange(2 * 749 * 3, dtype=torch.float32).reshape(2, 749, 3)
    mean = pool_frames(x, 10, "mean")
    assert mean.shape == (2, 74, 3) and torch.allclose(mean[0, 0], x[0, :10].mean(0))
    stack = pool_frames(x, 10, "stack")
    assert stack.shape == (2, 74, 30) and torch.equal(stack[1, 3], x[1, 30:40].reshape(-1))
    assert pool_frames(x, 1) is x
    proj = AudioProjector(3, 8, "linear", pool=10, pool_mode="stack")
    assert proj.network[0].in_features == 30 and proj(x).shape == (2, 74, 8)
