"""Run folders: round trip, manifest contents, tamper detection, atomic writes, mismatches."""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")

from model.llm import checkpoint as ckpt  # noqa: E402
from model.errors import CheckpointError  # noqa: E402
from model.llm.multimodal import MixingBuddyModel  # noqa: E402
from model.advice.templates import TEMPLATE_VERSION  # noqa: E402
from model.llm.weights import config_sha256  # noqa: E402


def _lora_state(model):
    return {k: v.detach().clone() for k, v in model.llm.named_parameters() if "lora_" in k}


@pytest.fixture(scope="module")
def saved(tiny_model_config, tmp_path_factory):
    """A trained-looking model (randomised trainables) saved once; returns (model, folder)."""
    model = MixingBuddyModel.build(tiny_model_config, device="cpu", training=True)
    with torch.no_grad():
        for _, p in model.named_parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.01)
    folder = tmp_path_factory.mktemp("runs") / "run"
    ckpt.save_checkpoint(model, folder, step=7, metrics={"val_loss": 1.5}, training={"lr": 1e-4},
                         extra={"git_sha": "abc"})
    return model, folder


def test_round_trip_restores_bit_identical_trainables(saved):
    model, folder = saved
    loaded = ckpt.load_checkpoint(folder, device="cpu")
    for k, v in model.trainable_state_dict().items():
        assert torch.equal(loaded.trainable_state_dict()[k], v), k
    want, got = _lora_state(model), _lora_state(loaded)
    assert want.keys() == got.keys() and len(want) == 28
    assert all(torch.equal(want[k], got[k]) for k in want)
    assert not loaded.training and loaded.load_notes == []


def test_manifest_records_everything_and_no_base_weights(saved, tiny_models):
    model, folder = saved
    m = json.loads((folder / "manifest.json").read_text())
    assert m["format_version"] == ckpt.FORMAT_VERSION and m["template_version"] == TEMPLATE_VERSION
    assert m["step"] == 7 and m["metrics"] == {"val_loss": 1.5} and m["training"] == {"lr": 1e-4}
    assert m["model"]["audio_pool"] == 10 and m["audio"]["tokens_per_10s"] == 74
    assert m["audio"]["token_id"] == model.audio_token_id
    assert m["base_models"]["llm"]["config_sha256"] == config_sha256(tiny_models.llm)
    assert m["base_models"]["encoder"]["ref"] == str(tiny_models.mert)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert set(m["files"]) == set(files) - {"manifest.json"}
    assert "projector.safetensors" in files and "adapter/adapter_model.safetensors" in files
    assert not any(name.endswith(("pytorch_model.bin", "/model.safetensors")) or name == "model.safetensors"
                   for name in files)
    assert not any(p.name.startswith(".run.") for p in folder.parent.iterdir())  # no temp folders left


def test_tampered_file_is_detected(saved, tmp_path):
    _, folder = saved
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    target = copy / "adapter" / "adapter_model.safetensors"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch in adapter/adapter_model.safetensors"):
        ckpt.load_checkpoint(copy, device="cpu")
    (copy / "projector.safetensors").unlink()
    with pytest.raises(CheckpointError, match="missing projector.safetensors"):
        ckpt.verify_checkpoint(copy)


def test_future_format_and_bad_manifest_are_refused(saved, tmp_path):
    _, folder = saved
    copy = tmp_path / "future"
    shutil.copytree(folder, copy)
    m = json.loads((copy / "manifest.json").read_text())
    m["format_version"] = ckpt.FORMAT_VERSION + 1
    (copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(CheckpointError, match="newer than this MixingBuddy reads"):
        ckpt.read_manifest(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="no manifest.json"):
        ckpt.read_manifest(copy)


def test_shape_mismatch_names_the_tensor(saved):
    model, _ = saved
    state = dict(model.trainable_state_dict())
    state["projector.network.16.weight"] = torch.zeros(3, 3)
    with pytest.raises(CheckpointError, match=r"projector.network.16.weight: checkpoint \(3, 3\) vs model \(64, 64\)"):
        model.load_trainable_state_dict(state)


def test_other_base_model_is_refused(saved, tmp_path):
    from training.tiny_models import TINY_QWEN2, build_tokenizer, write_qwen2_folder

    _, folder = saved
    other = write_qwen2_folder(tmp_path / "q32", build_tokenizer(), sizes={**TINY_QWEN2, "hidden_size": 32})
    with pytest.raises(CheckpointError, match="does not fit|do not fit"):
        ckpt.load_checkpoint(folder, device="cpu", llm=other)


def test_atomic_overwrite_keeps_old_checkpoint_on_failure(saved, tmp_path, monkeypatch):
    model, folder = saved
    run = tmp_path / "run"
    shutil.copytree(folder, run)
    before = (run / "manifest.json").read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "_manifest", boom)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(model, run, step=8)
    assert (run / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    monkeypatch.undo()
    ckpt.save_checkpoint(model, run, step=9)
    assert json.loads((run / "manifest.json").read_text())["step"] == 9
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    ckpt.verify_checkpoint(run)


def test_train_embeddings_round_trip(tiny_model_config, tmp_path):
    """model.train_embeddings (tiny preset): embed_tokens + lm_head train as peft copies and come back on load."""
    cfg = tiny_model_config.replace(train_embeddings=True)
    model = MixingBuddyModel.build(cfg, device="cpu", training=True)
    trainable = [n for n, p in model.llm.named_parameters() if p.requires_grad]
    copies = [n for n in trainable if ".modules_to_save." in n]
    assert len(copies) == 2 and any("embed_tokens" in n for n in copies) and any("lm_head" in n for n in copies)
    assert all("lora_" in n or ".modules_to_save." in n for n in trainable)
    assert not any(p.requires_grad for n, p in model.llm.named_parameters() if "original_module" in n)
    base_head = model.llm.get_output_embeddings().weight.detach().clone() if hasattr(
        model.llm.get_output_embeddings(), "weight") else None
    with torch.no_grad():
        for n, p in model.llm.named_parameters():
            if ".modules_to_save." in n:
                p.add_(torch.randn_like(p) * 0.1)
    ckpt.save_checkpoint(model, tmp_path / "run", step=1)
    loaded = ckpt.load_checkpoint(tmp_path / "run", device="cpu")
    assert loaded.config.train_embeddings
    want = {n: p for n, p in model.llm.named_parameters() if ".modules_to_save." in n}
    got = dict(loaded.llm.named_parameters())
    for n, p in want.items():
        assert torch.equal(got[n], p), n
    if base_head is not None:
        assert not torch.equal(loaded.llm.get_output_embeddings().weight, base_head)  # the trained copy is active
    from model.llm.config import ModelConfigError

    with pytest.raises(ModelConfigError, match="train_embeddings needs lora"):
        cfg.replace(lora={"enabled": False})
