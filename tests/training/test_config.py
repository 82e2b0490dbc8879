"""Strict TOML configs: every shipped file parses, unknown keys and bad types are errors, --set overrides."""

from __future__ import annotations

import pytest

from model.errors import InputError
from training import config


@pytest.mark.parametrize("path", sorted(config.CONFIG_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_config_parses(path):
    cfg = config.load_file(path)
    assert type(cfg) in config.KINDS.values()


def test_presets_match_the_paper_recipe():
    paper = config.resolve("train", [config.preset_path("paper")])
    model = config.model_config(paper)
    assert (paper.optim.lr, paper.optim.warmup_ratio, paper.train.effective_batch, paper.train.per_device_batch) == (
        1e-4, 0.01, 16, 2)
    assert (model.precision, model.lora.r, model.lora.alpha, model.lora.dropout, model.audio_pool) == (
        "nf4", 16, 32, 0.1, 1)
    assert model.aux_loss_weight == 0.05 and model.projector == "mlp"
    tiny = config.resolve("train", [config.preset_path("tiny-cpu")])
    assert tiny.train.tiny_models and config.model_config(tiny).precision == "fp32"


def test_unknown_keys_are_errors(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text('kind = "train"\n[train]\nmax_stepz = 3\n')
    with pytest.raises(InputError, match="max_stepz"):
        config.resolve("train", [p])
    p.write_text('kind = "train"\n[model]\nlaura = 1\n')
    with pytest.raises(InputError, match="laura"):
        config.resolve("train", [p])


def test_types_kind_and_overrides(tmp_path):
    with pytest.raises(InputError, match="max_steps"):
        config.resolve("train", sets=["train.max_steps='many'"])
    cfg = config.resolve("train", [config.preset_path("tiny-cpu")], ["train.max_steps=7", "optim.lr=1"])
    assert cfg.train.max_steps == 7 and cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)
    with pytest.raises(InputError, match="expected 'synth'"):
        config.resolve("synth", [config.preset_path("paper")])
    with pytest.raises(InputError, match="key=value"):
        config.resolve("synth", sets=["seed"])
