"""Real-size GPU check: random-weight MERT-330M + Qwen2-7B (the paper's configs) in NF4 with LoRA.

On CUDA it writes both as local folders (MERT in the hub's format, Qwen2 as
bf16 safetensors), loads them through the production loaders, runs one
training step at the paper's batch (2 x 10 s, bf16 autocast) and one batched
greedy generation over 10 s windows, and prints seconds per window, samples/s
and peak GPU memory. Without CUDA it prints that it was skipped and exits 0.
``--tiny`` runs the same procedure with the tiny sizes (CPU is fine) to check the script.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PAPER_TRAINABLE = 83_402_265  # LoRA 40,370,176 + projector 43,032,064 + 25 layer weights (the paper's count)


def write_bases(root: Path, tiny: bool, device) -> tuple[Path, Path]:
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM

    from training import tiny_models as tm

    mert = tm.write_mert_folder(root / "mert", sizes=None if tiny else tm.MERT_330M)
    tok = tm.build_tokenizer()
    eos, pad = tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")
    if tiny:
        return mert, tm.write_qwen2_folder(root / "qwen2", tok)
    cfg = tm.qwen2_config(152064, tm.QWEN2_7B, eos_id=eos, pad_id=pad)
    with torch.device(device):
        llm = Qwen2ForCausalLM._from_config(cfg, dtype=torch.bfloat16)
    llm.generation_config = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad, do_sample=False)
    llm.save_pretrained(root / "qwen2", max_shard_size="5GB")
    tok.save_pretrained(root / "qwen2")
    del llm
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return mert, root / "qwen2"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (runs on CPU): checks the script itself")
    parser.add_argument("--windows", type=int, default=8, help="10 s windows generated in one batch (default 8)")
    parser.add_argument("--workdir", help="where to write the random base folders (default: a temp folder)")
    args = parser.parse_args(argv)

    import torch

    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        print("gpu_check: skipped (no CUDA device on this machine)")
        return 0
    from model.llm.config import ModelConfig
    from model.llm.multimodal import MixingBuddyModel
    from model.advice.templates import render_instruction, render_response

    device = torch.device("cuda" if cuda else "cpu")
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        t0 = time.perf_counter()
        mert, qwen = write_bases(Path(tmp), args.tiny, device)
        print(f"random base folders written in {time.perf_counter() - t0:.0f} s")
        extra = {"projector_hidden": (64, 128, 128, 64)} if args.tiny else {}
        cfg = ModelConfig(encoder=str(mert), llm=str(qwen), precision="nf4", **extra)
        t0 = time.perf_counter()
        model = MixingBuddyModel.build(cfg, device=device, training=True)
        print(f"loaded (NF4 + LoRA, production loaders) in {time.perf_counter() - t0:.0f} s")

    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    verdict = "" if args.tiny else (" (paper: 83,402,265 -> " + ("PASS" if trainable == PAPER_TRAINABLE else "MISS") + ")")
    print(f"trainable parameters: {trainable:,}{verdict}")
    instruction = render_instruction(0, ("vocals", "drums", "bass", "other"), "vocals")
    answer = render_response("very_loud", "bass", 0)
    n = model.n_audio_tokens(240000)
    batch = model.collate([model.prompts.example(instruction, answer, n)] * 2, torch.randn(2, 240000) * 0.1)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda)

    def step() -> float:
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        with autocast:
            out = model(**batch)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - t

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    first = step()
    second = step()
    peak_train = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    print(f"training step, batch 2 x 10 s ({batch['input_ids'].shape[1]} tokens): first {first:.2f} s, "
          f"second {second:.2f} s -> {2 / second:.2f} samples/s; peak GPU memory {peak_train:.1f} GiB")

    model.set_training(False)
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    audio = torch.randn(args.windows, 240000) * 0.1
    if cuda:
        torch.cuda.synchronize()
    t = time.perf_counter()
    texts = model.generate(audio, [instruction] * args.windows, max_new_tokens=48)
    if cuda:
        torch.cuda.synchronize()
    gen = time.perf_counter() - t
    peak_gen = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    print(f"batched greedy generation, {args.windows} x 10 s windows, <= 48 new tokens: {gen:.2f} s "
          f"-> {gen / args.windows:.2f} s per window; peak GPU memory {peak_gen:.1f} GiB")
    print(f"  sample answer (random weights): {texts[0][:60]!r}")
    print("gpu_check: done")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
