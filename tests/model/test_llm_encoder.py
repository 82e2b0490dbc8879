"""MERT through the production loader: strict, legacy names, eval-locked, 75 Hz, layer mixing."""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")

from model.llm.encoder import MertEncoder, load_hubert  # noqa: E402
from model.errors import CheckpointError  # noqa: E402
from training.tiny_models import TINY_MERT, write_mert_folder  # noqa: E402


@pytest.fixture(scope="module")
def mert24(tmp_path_factory):
    """A MERT-style folder with MERT-v1-330M's 24 layers (tiny width): 25 hidden states."""
    return write_mert_folder(tmp_path_factory.mktemp("mert24"), sizes={**TINY_MERT, "num_hidden_layers": 24}, seed=1)


def test_mert_style_folder_loads_without_remote_code(tiny_mert_dir):
    cfg = json.loads((tiny_mert_dir / "config.json").read_text())
    assert cfg["model_type"] == "mert_model" and "auto_map" in cfg
    state = torch.load(tiny_mert_dir / "pytorch_model.bin", weights_only=True)
    assert "encoder.pos_conv_embed.conv.weight_g" in state and "encoder.pos_conv_embed.conv.weight_v" in state
    model, do_normalize = load_hubert(tiny_mert_dir)
    assert type(model).__name__ == "HubertModel" and do_normalize is False
    assert model.config.tie_last_hidden_states is True
    conv = model.encoder.pos_conv_embed.conv
    assert torch.equal(conv.parametrizations.weight.original0, state["encoder.pos_conv_embed.conv.weight_g"])
    assert torch.equal(conv.parametrizations.weight.original1, state["encoder.pos_conv_embed.conv.weight_v"])


def test_25_hidden_states_and_749_frames_for_10_s(mert24):
    enc = MertEncoder.from_folder(mert24)
    states = enc.hidden_states(torch.randn(1, 240000) * 0.1)
    assert states.shape == (25, 1, 749, 32)
    # tie_last_hidden_states: the last state is the final LayerNorm output (what MERT's code returned)
    with torch.no_grad():
        out = enc.hubert(torch.zeros(1, 8000), output_hidden_states=True)
    assert torch.equal(out.hidden_states[-1], out.last_hidden_state)


def test_renamed_key_fails_and_names_it(tiny_mert_dir, tmp_path):
    bad = tmp_path / "bad-mert"
    shutil.copytree(tiny_mert_dir, bad)
    state = torch.load(bad / "pytorch_model.bin", weights_only=True)
    state["encoder.layer_norm.weight_renamed"] = state.pop("encoder.layer_norm.weight")
    torch.save(state, bad / "pytorch_model.bin")
    with pytest.raises(CheckpointError) as err:
        load_hubert(bad)
    assert "missing encoder.layer_norm.weight" in str(err.value)
    assert "unexpected encoder.layer_norm.weight_renamed" in str(err.value)


def test_safetensors_preferred_and_missing_weights(tmp_path):
    folder = write_mert_folder(tmp_path / "st", safetensors=True, legacy_names=False, do_normalize=True)
    model, do_normalize = load_hubert(folder)
    assert do_normalize is True
    (folder / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="incomplete"):
        load_hubert(folder)


@pytest.mark.parametrize("patch, words", [({"feature_extractor_cqt": True}, "CQT"),
                                          ({"deepnorm": True, "do_stable_layer_norm": False}, "deepnorm")])
def test_unrepresentable_configs_are_refused(tiny_mert_dir, tmp_path, patch, words):
    folder = tmp_path / "m"
    shutil.copytree(tiny_mert_dir, folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(patch)
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=words):
        load_hubert(folder)


def test_eval_locked_frozen_and_layer_weights_train(tiny_mert_dir):
    enc = MertEncoder.from_folder(tiny_mert_dir)
    parent = torch.nn.Sequential(enc)
    parent.train()
    assert enc.training and not enc.hubert.training
    assert not any(p.requires_grad for p in enc.hubert.parameters())
    assert torch.allclose(torch.softmax(enc.layer_weights, 0), torch.full((3,), 1 / 3))
    audio = torch.randn(2, 4000) * 0.1
    a, b = enc(audio), enc(audio)  # SpecAugment would make these differ
    assert torch.equal(a, b)
    a.square().mean().backward()
    assert enc.layer_weights.grad is not None and enc.layer_weights.grad.abs().sum() > 0


def test_batched_equals_single(tiny_mert_dir):
    enc = MertEncoder.from_folder(tiny_mert_dir).eval()
    audio = torch.randn(3, 6000) * 0.1
    with torch.no_grad():
        batched = enc(audio)
        single = torch.cat([enc(audio[i:i + 1]) for i in range(3)])
    assert batched.shape == (3, 18, 32)
    assert torch.allclose(batched, single, atol=1e-5)
    with pytest.raises(ValueError, match="400 samples"):
        enc(torch.zeros(1, 399))


def test_cpu_batches_are_encoded_in_chunks_with_the_same_result(tiny_mert_dir, monkeypatch):
    import model.llm.encoder as encoder_llm

    enc = MertEncoder.from_folder(tiny_mert_dir).eval()
    audio = torch.randn(5, 24000) * 0.1
    calls = []
    enc.hubert.register_forward_hook(lambda _m, args, _out: calls.append(args[0].shape[0]))
    with torch.no_grad():
        whole = enc(audio)
        assert calls == [5]  # 16 ch x 4,800 frames x 4 B per clip: all five fit the default budget
        monkeypatch.setattr(encoder_llm, "CPU_CHUNK_BYTES", 2 * 16 * (24000 // 5) * 4)  # two clips per call
        calls.clear()
        chunked = enc(audio)
    assert calls == [2, 2, 1]
    assert chunked.shape == whole.shape == (5, 74, 32)
    assert torch.allclose(chunked, whole, atol=1e-5)
