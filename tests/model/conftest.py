"""Tiny random-weight model folders, built once per test session (torch imported lazily)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """TinyModels(mert, llm): a MERT-style folder and a tiny Qwen2 + ChatML tokenizer folder."""
    from training.tiny_models import write_tiny_models

    return write_tiny_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="session")
def tiny_mert_dir(tiny_models):
    return tiny_models.mert


@pytest.fixture(scope="session")
def tiny_qwen2_dir(tiny_models):
    return tiny_models.llm


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_qwen2_dir):
    """The tiny ChatML tokenizer (a fresh copy per call site is not needed: it is never mutated here)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_qwen2_dir, local_files_only=True)


@pytest.fixture(scope="session")
def tiny_model_config(tiny_models):
    """A ModelConfig over the tiny folders: fp32, small projector, pool 10 (74 audio tokens per 10 s)."""
    from model.llm.config import ModelConfig

    return ModelConfig(encoder=str(tiny_models.mert), llm=str(tiny_models.llm), precision="fp32",
                       projector_hidden=(64, 128, 128, 64), audio_pool=10, max_new_tokens=24)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_config):
    """An fp32 MixingBuddyModel in inference mode (shared: tests must not train it)."""
    from model.llm.multimodal import MixingBuddyModel

    return MixingBuddyModel.build(tiny_model_config, device="cpu", training=False)
