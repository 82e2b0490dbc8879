"""Evaluation speed: batched greedy (our protocol) vs the reference protocol, side by side on one tiny checkpoint.

Reference protocol: batch 1, sampling (T 0.7, top_p 0.8, top_k 20, repetition 1.05),
max_new_tokens 1024, here with a fixed seed per record (`eval --decoding reference`). Ours:
batched greedy, left padding, cap 48 tokens. Both run on the same records of the same checkpoint,
in this process, one after the other; the ratio of samples/s is the result (target >= 10x).

The ratio depends on how long the model talks: an untrained tiny model rarely samples
<|im_end|>, so the reference protocol runs to its 1024-token cap; the mean number of
generated tokens per answer is printed for both, so the number can be read honestly.

It also depends on the frozen encoder, whose work is the same in both protocols (one
forward per clip). The encoder alone is timed on the same clips, batch 1 and batched, and
the script prints its share of each protocol and the ratio it leaves for decoding: with a
real-stride tiny MERT on 2 CPU cores the encoder costs about as much per clip as a whole
batched answer, which caps the end-to-end ratio well below 10x there.

    .venv/bin/python benchmarks/bench_eval.py [--checkpoint RUN --data DATA] [--samples 16] [--batch-size 8]

Without --checkpoint, a demo corpus is synthesised and the tiny-cpu preset trained for 8 steps (about a minute).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 10.0


def _tiny_run(tmp: Path) -> tuple[Path, Path]:
    from training import config
    from training.demo import write_corpus
    from training.synth import synthesize
    from training.train import train

    write_corpus(tmp / "musdb", songs=2, test_songs=1, seconds=30.0, seed=5)
    synthesize(tmp / "musdb", tmp / "data", config.resolve("synth"), progress=False)
    args = argparse.Namespace(preset="tiny-cpu", config=[], data=str(tmp / "data"), out=str(tmp / "run"), resume=False,
                              quiet=True, set=["train.max_steps=8", "train.val_every=0", "train.save_every=0"])
    train(args)
    return tmp / "run", tmp / "data"


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch

    from model.llm.checkpoint import load_checkpoint
    from training.dataset import MixDataset
    from training.evaluate import REFERENCE_MAX_NEW_TOKENS, generate_reference, sample_seed

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", help="trained run (default: train a tiny one)")
    ap.add_argument("--data", help="`synth` output with a test split (with --checkpoint)")
    ap.add_argument("--samples", type=int, default=16, help="records evaluated by both protocols")
    ap.add_argument("--batch-size", type=int, default=8, help="greedy batch size")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from model.llm.multimodal import resolve_device

    resolve_device(args.device)  # a missing CUDA device fails here, before the tiny run is trained
    with tempfile.TemporaryDirectory() as tmp:
        if args.checkpoint:
            run, data = Path(args.checkpoint), Path(args.data)
        else:
            run, data = _tiny_run(Path(tmp))
        model = load_checkpoint(run, args.device)
        model.eval()
        ds = MixDataset(data, "test", include_copies=False, limit=args.samples)
        n = len(ds)
        audio = [ds.mix(i) for i in range(n)]
        tok = model.tokenizer

        def ntok(text: str) -> int:
            return len(tok(text, add_special_tokens=False)["input_ids"])

        model.generate(torch.from_numpy(np.stack(audio[:1])), [ds.rows[0]["instruction"]])  # warm-up, both sides
        t0 = time.perf_counter()
        greedy = []
        for s in range(0, n, args.batch_size):
            idx = range(s, min(n, s + args.batch_size))
            greedy += model.generate(torch.from_numpy(np.stack([audio[i] for i in idx])),
                                     [ds.rows[i]["instruction"] for i in idx])
        t_greedy = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref_tokens = []
        for i in range(n):
            _, k = generate_reference(model, torch.from_numpy(audio[i]), ds.rows[i]["instruction"],
                                      sample_seed(0, ds.rows[i]["global_uid"]), REFERENCE_MAX_NEW_TOKENS)
            ref_tokens.append(k)
        t_ref = time.perf_counter() - t0
        with torch.no_grad():  # the encoder alone, on the same clips, as each protocol runs it
            t0 = time.perf_counter()
            for i in range(n):
                model.encode_audio(torch.from_numpy(audio[i][None]))
            enc_ref = time.perf_counter() - t0
            t0 = time.perf_counter()
            for s in range(0, n, args.batch_size):
                model.encode_audio(torch.from_numpy(np.stack(audio[s:s + args.batch_size])))
            enc_greedy = time.perf_counter() - t0
    result = {
        "samples": n, "device": str(model.device), "batch_size": args.batch_size,
        "greedy_samples_per_s": round(n / t_greedy, 2), "reference_samples_per_s": round(n / t_ref, 3),
        "ratio": round(t_ref / t_greedy, 1),
        "greedy_mean_tokens": round(float(np.mean([ntok(t) for t in greedy])), 1),
        "reference_mean_tokens": round(float(np.mean(ref_tokens)), 1),
        "reference_hit_cap": int(sum(k >= REFERENCE_MAX_NEW_TOKENS for k in ref_tokens)),
        "encoder_share_greedy": round(min(1.0, enc_greedy / t_greedy), 3),
        "encoder_share_reference": round(min(1.0, enc_ref / t_ref), 3),
        "ratio_without_encoder": round((t_ref - enc_ref) / max(t_greedy - enc_greedy, 1e-9), 1),
        "ratio_ceiling_from_encoder": round(t_ref / max(enc_greedy, 1e-9), 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{n} test records on {result['device']}: batched greedy (batch {args.batch_size}, cap 48) "
              f"{result['greedy_samples_per_s']} samples/s, mean {result['greedy_mean_tokens']} tokens; reference "
              f"protocol (batch 1, sampling, cap 1024) {result['reference_samples_per_s']} samples/s, mean "
              f"{result['reference_mean_tokens']} tokens ({result['reference_hit_cap']}/{n} hit the cap)")
        print(f"  ratio {result['ratio']}x (target >= {TARGET:g}x) -> {'PASS' if result['ratio'] >= TARGET else 'MISS'}")
        print(f"  frozen encoder (same work in both): {100 * result['encoder_share_greedy']:.0f} % of batched greedy, "
              f"{100 * result['encoder_share_reference']:.0f} % of the reference protocol; decoding alone "
              f"{result['ratio_without_encoder']}x; with this encoder the end-to-end ratio can't exceed "
              f"{result['ratio_ceiling_from_encoder']}x on {result['device']}")
        g, r = result["greedy_mean_tokens"], result["reference_mean_tokens"]
        if not (0.5 * r <= g <= 2 * r):
            print(f"  note: answer lengths differ ({g} vs {r} tokens), so part of the ratio is the decoding's "
                  f"length, not batching; a better-trained checkpoint gives a smaller ratio on CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
