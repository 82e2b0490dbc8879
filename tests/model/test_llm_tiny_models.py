"""`mixingbuddy-train tiny-models OUT` and the repository rules around the LLM stack."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LLM_MODULES = ("config", "weights", "prompt", "encoder", "projector", "multimodal", "checkpoint", "advisor")


def test_tiny_models_command(tmp_path, capsys):
    pytest.importorskip("torch")
    from training.cli import main

    assert main(["tiny-models", str(tmp_path / "out")]) == 0
    mert, qwen = tmp_path / "out" / "mert", tmp_path / "out" / "qwen2"
    cfg = json.loads((mert / "config.json").read_text())
    assert cfg["model_type"] == "mert_model" and cfg["auto_map"] and cfg["conv_stride"] == [5, 2, 2, 2, 2, 2, 2]
    assert json.loads((mert / "preprocessor_config.json").read_text())["sampling_rate"] == 24000
    assert (mert / "pytorch_model.bin").is_file()
    q = json.loads((qwen / "config.json").read_text())
    assert q["model_type"] == "qwen2" and q["num_key_value_heads"] == 2 and q["tie_word_embeddings"] is False
    assert q["rope_parameters"]["rope_theta"] == 1e6
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(qwen, local_files_only=True)
    ids = tok.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|AUDIO|>"])
    assert ids == sorted(ids) and ids[-1] < q["vocab_size"]  # Qwen2's order, inside the embedding rows
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert "tiny Qwen2" in capsys.readouterr().out


def test_import_model_does_not_import_torch():
    code = "import sys, model, model.llm.config, model.llm.weights; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_remote_code_no_pickle_no_qt():
    for name in LLM_MODULES:
        text = (REPO / "model" / "llm" / f"{name}.py").read_text()
        assert not re.search(r"trust_remote_code\s*=\s*True", text), name
        assert "import pickle" not in text and "PySide6" not in text and "resize_token_embeddings(" not in text, name
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, name
