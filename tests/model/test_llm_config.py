"""ModelConfig (strict), base-weight resolution (offline-aware) and audio token counts."""

from __future__ import annotations

import pytest

from model.llm.config import LORA_TARGETS, ModelConfig, ModelConfigError
from model.errors import CheckpointError, InputError
from model.llm.prompt import encoder_frames, n_audio_tokens
from model.llm.weights import config_sha256, looks_like_hub_id, resolve_weights


def test_defaults_are_the_paper_model():
    cfg = ModelConfig()
    assert (cfg.encoder, cfg.llm) == ("m-a-p/MERT-v1-330M", "Qwen/Qwen2-7B-Instruct")
    assert cfg.precision == "nf4" and cfg.projector == "mlp" and cfg.audio_pool == 1
    assert cfg.projector_hidden == (2048, 4096, 4096, 2048) and cfg.projector_dropout == 0.1
    assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout, cfg.lora.targets) == (16, 32, 0.1, LORA_TARGETS)
    assert cfg.aux_loss_weight == 0.05 and cfg.audio_position == "prefix"


def test_round_trip_and_strict_keys():
    cfg = ModelConfig(precision="bf16", audio_pool=10, audio_pool_mode="stack").replace(lora={"r": 8})
    assert cfg.lora.r == 8 and cfg.lora.alpha == 32
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert ModelConfig.from_dict({"lora": {"r": 8}}).lora.r == 8
    with pytest.raises(ModelConfigError, match="unknown key.*pool_size"):
        ModelConfig.from_dict({"pool_size": 3})
    with pytest.raises(ModelConfigError, match="lora.rank"):
        ModelConfig.from_dict({"lora": {"rank": 8}})
    assert issubclass(ModelConfigError, InputError)


@pytest.mark.parametrize("changes", [
    {"precision": "fp16"}, {"projector": "qformer"}, {"audio_pool": 0}, {"audio_pool_mode": "max"},
    {"audio_position": "suffix"}, {"aux_loss_weight": -1.0}, {"projector_dropout": 1.0},
])
def test_bad_values_are_refused(changes):
    with pytest.raises(ModelConfigError):
        ModelConfig.from_dict(changes)


def test_audio_token_counts():
    assert encoder_frames(240000) == 749  # 10 s at 24 kHz, 75 Hz
    assert encoder_frames(120000) == 374 and encoder_frames(720000) == 2249
    assert n_audio_tokens(240000, 1) == 749
    assert n_audio_tokens(240000, 3) == 249 and n_audio_tokens(240000, 10) == 74
    assert n_audio_tokens(240000, 15) == 49 and n_audio_tokens(240000, 25) == 29
    assert encoder_frames(399) == 0 and encoder_frames(400) == 1


def test_weights_local_folder_and_offline_hub(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_weights(tmp_path) == tmp_path
    assert config_sha256(tmp_path) and config_sha256(tmp_path / "nope") is None
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.delenv("MIXINGBUDDY_MODELS_DIR", raising=False)
    with pytest.raises(CheckpointError, match=r"^m-a-p/MERT-v1-330M not in the local cache; offline$"):
        resolve_weights("m-a-p/MERT-v1-330M")
    with pytest.raises(CheckpointError, match="folder not found"):
        resolve_weights(str(tmp_path / "missing" / "deeper" / "dir"))
    assert looks_like_hub_id("Qwen/Qwen2-7B-Instruct") and not looks_like_hub_id("./a/b")


def test_models_dir_search_root(tmp_path, monkeypatch):
    (tmp_path / "MERT-v1-330M").mkdir()
    monkeypatch.setenv("MIXINGBUDDY_MODELS_DIR", str(tmp_path))
    assert resolve_weights("m-a-p/MERT-v1-330M") == tmp_path / "MERT-v1-330M"
