"""MixingBuddyModel on tiny models: scatter, count check, losses, generation, NF4 + LoRA on CPU."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from model.errors import ModelRuntimeError  # noqa: E402
from model.llm.multimodal import MixingBuddyModel  # noqa: E402
from model.advice.templates import render_instruction, render_response  # noqa: E402

INSTRUCTION = render_instruction(0, ("vocals", "drums", "bass", "other"), "drums")
ANSWER = render_response("loud", "bass", 1)
SAMPLES = 4000  # 1/6 s at 24 kHz: 12 frames -> 1 token at pool 10


def _batch(model, n_rows=2, samples=SAMPLES):
    n = model.n_audio_tokens(samples)
    examples = [model.prompts.example(INSTRUCTION if i % 2 == 0 else "Hi.", ANSWER, n) for i in range(n_rows)]
    return model.collate(examples, torch.randn(n_rows, samples) * 0.1)


def test_scatter_puts_audio_exactly_in_the_placeholders(tiny_model):
    m = tiny_model
    ids = m.prompts.collate_prompts([m.prompts.prompt_ids(INSTRUCTION, 7), m.prompts.prompt_ids("Hi.", 7)])["input_ids"]
    feats = torch.randn(2, 7, m.llm.config.hidden_size)
    embeds = m.embed(ids, feats)
    mask = ids == m.audio_token_id
    assert torch.equal(embeds[mask], feats.reshape(-1, feats.shape[-1]))
    plain = m.llm.get_input_embeddings()(ids)
    assert torch.equal(embeds[~mask], plain[~mask])


def test_placeholder_count_mismatch_raises_with_both_numbers(tiny_model):
    m = tiny_model
    ids = torch.tensor([m.prompts.prompt_ids("Hi.", 749)])
    with pytest.raises(ModelRuntimeError, match=r"holds 749 placeholders but the audio gives 750 vectors"):
        m.embed(ids, torch.zeros(1, 750, m.llm.config.hidden_size))


def test_encoder_stays_in_eval_under_model_train(tiny_model_config):
    m = MixingBuddyModel.build(tiny_model_config, device="cpu", training=True)
    m.train()
    assert m.training and m.projector.training and not m.encoder.hubert.training
    assert m.llm.config.use_cache is False


def test_fp32_losses_and_aux_formula(tiny_model_config):
    m = MixingBuddyModel.build(tiny_model_config.replace(projector_dropout=0.0, lora={"dropout": 0.0}),
                               device="cpu", training=True)
    batch = _batch(m)
    out = m(**batch)
    feats = m.encode_audio(batch["audio"])
    hidden = feats.shape[-1]
    ids = batch["input_ids"].masked_fill(batch["input_ids"] == m.audio_token_id, m.prompts.pad_id)
    a = feats.norm(dim=-1).mean() / hidden
    b = m.llm.get_input_embeddings()(ids).norm(dim=-1).mean() / hidden
    assert torch.allclose(out.aux_loss, (a - b) ** 2, rtol=1e-5)
    assert torch.allclose(out.loss, out.ce_loss + 0.05 * out.aux_loss)
    out.loss.backward()
    assert m.projector.network[0].weight.grad is not None and m.encoder.layer_weights.grad is not None
    m.eval()
    assert m(**batch).aux_loss is None  # aux only in training


def test_batched_generation_matches_single_and_returns_only_new_tokens(tiny_model):
    m = tiny_model
    audio = torch.randn(2, SAMPLES) * 0.1
    prompts = [INSTRUCTION, "Hi."]
    both = m.generate(audio, prompts, max_new_tokens=5)
    single = [m.generate(audio[i:i + 1], prompts[i:i + 1], max_new_tokens=5)[0] for i in range(2)]
    assert both == single
    n = m.n_audio_tokens(SAMPLES)
    batch = m.prompts.collate_prompts([m.prompts.prompt_ids(p, n) for p in prompts])
    embeds = m.embed(batch["input_ids"], m.encode_audio(audio))
    out = m.llm.generate(inputs_embeds=embeds, attention_mask=batch["attention_mask"], max_new_tokens=3,
                         min_new_tokens=3, do_sample=False, pad_token_id=m.prompts.pad_id)
    assert out.shape == (2, 3)


def test_nf4_lora_forward_backward_generate_on_cpu(tiny_model_config):
    import bitsandbytes as bnb

    m = MixingBuddyModel.build(tiny_model_config.replace(precision="nf4"), device="cpu", training=True)
    assert any(isinstance(mod, bnb.nn.Linear4bit) for mod in m.llm.modules())
    base = m.llm.base_model.model
    assert getattr(base, "is_activation_checkpointing", None) or base.is_gradient_checkpointing
    out = m(**_batch(m))
    assert torch.isfinite(out.loss)
    out.loss.backward()
    trainable = {k: p for k, p in m.named_parameters() if p.requires_grad}
    assert all(("lora_" in k) or k.startswith(("projector.", "encoder.layer_weights")) for k in trainable)
    lora_b = [p for k, p in trainable.items() if "lora_B" in k]
    assert len(lora_b) == 14 and all(p.grad is not None and p.grad.abs().sum() > 0 for p in lora_b)
    assert m.projector.network[16].weight.grad.abs().sum() > 0
    m.set_training(False)
    texts = m.generate(torch.randn(2, SAMPLES) * 0.1, [INSTRUCTION, "Hi."], max_new_tokens=3)
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)


def test_greedy_ignores_the_checkpoints_sampling_defaults(tiny_model, monkeypatch):
    """Qwen2-Instruct ships sampling + repetition_penalty 1.05; our decoding is plain argmax."""
    from transformers import GenerationConfig

    m = tiny_model
    qwen_like = GenerationConfig(do_sample=True, temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.5,
                                 eos_token_id=m.prompts.stop_ids, pad_token_id=m.prompts.pad_id)
    monkeypatch.setattr(m.llm, "generation_config", qwen_like)
    audio = torch.randn(1, SAMPLES) * 0.1
    text = m.generate(audio, ["Hi."], max_new_tokens=10)[0]
    ids = torch.tensor([m.prompts.prompt_ids("Hi.", m.n_audio_tokens(SAMPLES))])
    with torch.no_grad():
        embeds = m.embed(ids, m.encode_audio(audio))
        out = []
        for _ in range(10):
            token = int(m.llm(inputs_embeds=embeds).logits[0, -1].argmax())
            out.append(token)
            if token in m.prompts.stop_ids:
                break
            embeds = torch.cat([embeds, m.llm.get_input_embeddings()(torch.tensor([[token]]))], dim=1)
    assert text == m.tokenizer.decode(out, skip_special_tokens=True).strip()


def test_paper_sizes_on_meta_device():
    """Qwen2-7B + LoRA r16 on q,k,v,o,gate,up,down + paper projector + 25 layer weights = 83,402,265 (the paper's count)."""
    from transformers import HubertConfig, HubertModel, Qwen2ForCausalLM

    from model.llm.config import ModelConfig
    from model.llm.encoder import hubert_config
    from model.llm.multimodal import attach_lora
    from model.llm.projector import AudioProjector
    from training import tiny_models as tm

    with torch.device("meta"):
        llm = Qwen2ForCausalLM(tm.qwen2_config(152064, tm.QWEN2_7B))
        assert sum(p.numel() for p in llm.parameters()) == 7_615_616_512
        lora = sum(p.numel() for n, p in attach_lora(llm, ModelConfig().lora).named_parameters() if "lora_" in n)
        proj = sum(p.numel() for p in AudioProjector(1024, 3584).parameters())
        mert = HubertModel(hubert_config(tm.mert_config_dict(tm.MERT_330M)))
    assert lora == 40_370_176 and lora + proj + 25 == 83_402_265
    assert sum(p.numel() for p in mert.parameters()) == 315_428_992
    assert mert.config.num_hidden_layers + 1 == 25 and isinstance(mert.config, HubertConfig)
