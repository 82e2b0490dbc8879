"""Audio-token pooling: tokens per 10 s and LLM prefill time, k = 1 vs k = 10 (target >= 5x faster).

Both poolings run on the same tiny random-weight MERT + Qwen2 (fp32, CPU or CUDA),
the same batch of 10 s clips and the same prompt, timed interleaved (best of
several rounds). Prefill = one forward pass of the LLM over the whole prompt
(audio + text) that keeps only the last position's logits, as generation does.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH = 16
ROUNDS = 15
SAMPLES = 240000  # 10 s at 24 kHz


def _prefill_inputs(model, audio, instruction):
    import torch

    with torch.no_grad():
        embeds, mask = model.prompt_inputs(audio, [instruction] * audio.shape[0])
    return model.n_audio_tokens(audio.shape[1]), embeds, mask


def _prefill(model, embeds, mask) -> float:
    import torch

    if embeds.is_cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    with torch.no_grad():
        model.llm(inputs_embeds=embeds, attention_mask=mask, use_cache=True, logits_to_keep=1)
    if embeds.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> int:
    import torch

    from model.llm.config import ModelConfig
    from model.llm.multimodal import MixingBuddyModel
    from model.advice.templates import render_instruction
    from training.tiny_models import write_tiny_models

    instruction = render_instruction(0, ("vocals", "drums", "bass", "other"), "vocals")
    with tempfile.TemporaryDirectory() as tmp:
        tiny = write_tiny_models(tmp)
        base = ModelConfig(encoder=str(tiny.mert), llm=str(tiny.llm), precision="fp32", projector_hidden=(64, 128, 128, 64))
        models = {k: MixingBuddyModel.build(base.replace(audio_pool=k), device="auto") for k in (1, 10)}
    torch.manual_seed(0)
    audio = torch.randn(BATCH, SAMPLES) * 0.1
    inputs = {k: _prefill_inputs(m, audio, instruction) for k, m in models.items()}
    times: dict[int, list[float]] = {1: [], 10: []}
    for k in (1, 10):  # warm-up
        _prefill(models[k], *inputs[k][1:])
    for _ in range(ROUNDS):
        for k in (1, 10):
            times[k].append(_prefill(models[k], *inputs[k][1:]))
    t0 = time.perf_counter()
    with torch.no_grad():
        models[1].encode_audio(audio)
    encode_s = time.perf_counter() - t0
    med = {k: min(v) for k, v in times.items()}  # best of ROUNDS: least disturbed by other load
    ratio = med[1] / med[10]
    device = next(iter(models.values())).device
    print(f"audio-token pooling on the tiny model ({device}, batch {BATCH} x 10 s, best of {ROUNDS}):")
    for k in (1, 10):
        n, embeds, _ = inputs[k]
        print(f"  k={k:<2}: {n} audio tokens per 10 s ({n / 10:.1f}/s), sequence {embeds.shape[1]} tokens, "
              f"prefill {med[k] * 1000:.1f} ms")
    print(f"  MERT + projector for the same batch (shared by both): {encode_s * 1000:.0f} ms")
    print(f"  k=10 prefill is {ratio:.1f}x faster than k=1 (target >= 5x) -> {'PASS' if ratio >= 5 else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
