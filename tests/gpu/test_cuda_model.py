"""The model on CUDA: NF4 + LoRA training step under bf16 autocast, batched greedy, checkpoint reload."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from model.advice.templates import render_instruction, render_response  # noqa: E402

pytestmark = pytest.mark.gpu

INSTRUCTION = render_instruction(0, ("vocals", "drums", "bass", "other"), "vocals")
ANSWER = render_response("very_loud", "bass", 0)


@pytest.fixture(scope="module")
def nf4_model(tiny_models):
    from model.llm.config import ModelConfig
    from model.llm.multimodal import MixingBuddyModel

    cfg = ModelConfig(encoder=str(tiny_models.mert), llm=str(tiny_models.llm), precision="nf4",
                      projector_hidden=(64, 128), audio_pool=10, max_new_tokens=24)
    torch.manual_seed(0)
    return MixingBuddyModel.build(cfg, device="cuda", training=True)


def test_nf4_lora_step_under_bf16_autocast(nf4_model):
    import bitsandbytes as bnb

    model = nf4_model
    assert model.device.type == "cuda"
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in model.llm.modules()), "the LLM's linears are not NF4"
    n = model.n_audio_tokens(240000)
    batch = model.collate([model.prompts.example(INSTRUCTION, ANSWER, n)] * 2, torch.randn(2, 240000) * 0.1)
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    before = {name: p.detach().clone() for name, p in trainable.items()}
    opt = torch.optim.AdamW(trainable.values(), lr=1e-3)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(**batch)
    assert torch.isfinite(out.loss) and torch.isfinite(out.aux_loss)
    out.loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable.values())
    opt.step()
    moved = [name for name, p in trainable.items() if not torch.equal(p.detach(), before[name])]
    assert any("lora_" in name for name in moved) and any(name.startswith("projector.") for name in moved)


def test_batched_greedy_on_cuda_returns_one_answer_per_clip(nf4_model):
    model = nf4_model
    model.set_training(False)
    try:
        texts = model.generate(torch.randn(3, 240000) * 0.1, [INSTRUCTION] * 3, max_new_tokens=12)
    finally:
        model.set_training(True)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)


def test_checkpoint_saved_on_cuda_reloads_on_cuda_and_cpu(nf4_model, tmp_path):
    from model.llm.checkpoint import load_checkpoint, save_checkpoint

    run = save_checkpoint(nf4_model, tmp_path / "run", step=1, training={"note": "gpu test"})
    saved = {k: v.float().cpu() for k, v in nf4_model.trainable_state_dict().items()}
    for device in ("cuda", "cpu"):
        loaded = load_checkpoint(run, device)
        assert loaded.device.type == device
        for k, v in loaded.trainable_state_dict().items():
            assert torch.equal(v.float().cpu(), saved[k]), k
