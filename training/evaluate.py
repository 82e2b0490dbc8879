"""`mixingbuddy-train eval`: an advisor over a split -> predictions.jsonl (reference schema + extras) -> scores.

``--checkpoint RUN``: batched greedy generation with the trained model (ours), or
``--decoding reference``: the reference's protocol (sampling T 0.7 / top_p 0.8 /
top_k 20 / repetition 1.05, batch 1, max_new_tokens 1024) with a fixed seed per
record, so a sampled evaluation is repeatable.
``--advisor balance``: the BalanceAdvisor on the same samples (loudness of the
flawed stems themselves), so both advisors are compared on the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from model.errors import InputError
from model.advice.templates import CORRECTION_RANGE_DB
from training import config as config_mod
from training.dataset import MixDataset
from training.scoring import write_report
from training.synth import row_chunk


def prediction_record(row: dict, generated: str, advisor_id: str, checkpoint: str | None, decoding: str) -> dict:
    """One predictions.jsonl line: the reference's fields plus ours."""
    meta = row["meta"]
    lo, hi = CORRECTION_RANGE_DB.get(meta["error_category"], (None, None))
    return {
        "global_uid": row["global_uid"], "instruction": row["instruction"],
        "modified_instruction": row["instruction"], "ground_truth": row["response"], "generated": generated,
        "generated_only": generated, "target_stem": meta["target_stem"], "error_category": meta["error_category"],
        "intended_gain_db": meta["intended_gain_db"], "start_sec": meta["time_ref"]["start_sec"],
        "end_sec": meta["time_ref"]["end_sec"],
        "expected_magnitude_min_db": None if lo is None else float(lo),
        "expected_magnitude_max_db": None if hi is None else float(hi),
        "anchor_stem": meta["anchor_stem"], "track_name": meta["track_name"], "advisor_id": advisor_id,
        "checkpoint": checkpoint, "decoding": decoding,
    }


def _batches(n: int, size: int) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


#: The reference protocol: Qwen2-Instruct's shipped sampling defaults, batch 1, a 1024-token cap.
REFERENCE_SAMPLING = dict(do_sample=True, temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.05)
REFERENCE_MAX_NEW_TOKENS = 1024


def sample_seed(seed: int, uid: str) -> int:
    """The fixed sampling seed of one record: the same answer for the same (seed, uid) in any order or batch."""
    from training.synth import _hash_int

    return _hash_int("eval-sampling", int(seed), uid) % (2 ** 63)


def generate_reference(model, audio, instruction: str, seed: int, max_new_tokens: int = REFERENCE_MAX_NEW_TOKENS):
    """One answer with the reference's decoding (sampling, batch 1), seeded; returns (text, new tokens)."""
    import torch
    from transformers import GenerationConfig

    if audio.ndim == 1:
        audio = audio.unsqueeze(0)
    if audio.shape[0] != 1:
        raise ValueError("the reference protocol decodes one clip at a time")
    gen = GenerationConfig(max_new_tokens=int(max_new_tokens), num_beams=1, eos_token_id=model.prompts.stop_ids,
                           pad_token_id=model.prompts.pad_id, **REFERENCE_SAMPLING)
    dev = model.device
    cuda = [dev.index if dev.index is not None else torch.cuda.current_device()] if dev.type == "cuda" else []
    with torch.no_grad(), torch.random.fork_rng(devices=cuda):
        torch.manual_seed(int(seed))
        embeds, mask = model.prompt_inputs(audio, [instruction])
        out = model.llm.generate(inputs_embeds=embeds, attention_mask=mask, generation_config=gen)
    tokens = out[0]
    n_new = int((~torch.isin(tokens, torch.tensor(model.prompts.stop_ids, device=tokens.device))).sum())
    return model.tokenizer.decode(tokens, skip_special_tokens=True).strip(), n_new


def llm_predictions(checkpoint: str | Path, ds: MixDataset, batch_size: int, max_new_tokens: int | None,
                    device: str | None = None, progress: bool = True, decoding: str = "greedy", seed: int = 0,
                    model=None, limit: int | None = None) -> Iterator[dict]:
    """Predictions of a trained run: batched greedy (ours) or the reference's sampling, batch 1, seeded per record.

    ``model``: an already loaded model (else the checkpoint is loaded); ``limit``: the first N records only.
    """
    import torch
    from tqdm import tqdm

    from model.llm.checkpoint import load_checkpoint

    if decoding not in ("greedy", "reference"):
        raise InputError(f"eval: unknown decoding {decoding!r} (greedy or reference)")
    if model is None:
        model = load_checkpoint(checkpoint, device)
    model.eval()
    n = len(ds) if limit is None else min(limit, len(ds))
    advisor_id = f"llm:{Path(checkpoint).name}"
    if decoding == "reference":
        cap = max_new_tokens or REFERENCE_MAX_NEW_TOKENS
        for i in tqdm(range(n), desc="eval (reference sampling)", unit="sample", disable=not progress):
            row = ds.rows[i]
            text, _ = generate_reference(model, torch.from_numpy(ds.mix(i)), row["instruction"],
                                         sample_seed(seed, row["global_uid"]), cap)
            yield prediction_record(row, text, advisor_id, str(checkpoint), "reference")
        return
    for idx in tqdm(list(_batches(n, batch_size)), desc="eval", unit="batch", disable=not progress):
        audio = torch.from_numpy(np.stack([ds.mix(i) for i in idx]))
        texts = model.generate(audio, [ds.rows[i]["instruction"] for i in idx], max_new_tokens=max_new_tokens)
        for i, text in zip(idx, texts):
            yield prediction_record(ds.rows[i], text, advisor_id, str(checkpoint), "greedy")


def balance_predictions(ds: MixDataset, profile: str | Path | None = None, progress: bool = True) -> Iterator[dict]:
    """The BalanceAdvisor's verdict per record from BS.1770 loudness of the flawed (mono 24 kHz) stems."""
    from tqdm import tqdm

    from model.audio.segments import Window
    from model.advice.balance import BalanceAdvisor
    from model.audio.dsp import loudness_lufs

    advisor = BalanceAdvisor.from_resources(profile)
    sr = ds.cache.sample_rate
    chunk_key, stems, untouched = None, {}, {}
    for i in tqdm(range(len(ds)), desc="eval balance", unit="sample", disable=not progress):
        row = ds.rows[i]
        meta = row["meta"]
        key = (row["stem_cache_key"], meta["time_ref"]["start_sec"], meta["time_ref"]["end_sec"])
        if key != chunk_key:  # rows come in blocks of 30 per chunk: decode and meter each chunk once
            chunk_key, stems = key, row_chunk(ds.cache, row)
            untouched = {r: loudness_lufs(a, sr) for r, a in stems.items()}
        g = 10.0 ** (meta["intended_gain_db"] / 20.0)
        target = meta["target_stem"]
        lufs = dict(untouched)
        if g != 1.0:
            lufs[target] = loudness_lufs(stems[target] * g, sr)
        window = Window(meta["time_ref"]["start_sec"], meta["time_ref"]["end_sec"])
        verdict = advisor.verdict_for_levels(window, lufs, meta["anchor_stem"])
        yield prediction_record(row, verdict.text, advisor.info.id, None, "measured")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", metavar="RUN", help="trained run folder (for the LLM advisor)")
    parser.add_argument("--advisor", choices=("llm", "balance"), default="llm")
    parser.add_argument("--profile", metavar="FILE", help="balance profile JSON (default: the shipped one)")
    parser.add_argument("--data", required=True, metavar="DATA", help="`synth` output folder")
    parser.add_argument("--split", choices=("test", "val"), help="split to evaluate (default test)")
    parser.add_argument("--limit", type=int, help="first N records only")
    parser.add_argument("--batch-size", type=int, help="generation batch size")
    parser.add_argument("--decoding", choices=("greedy", "reference"),
                        help="greedy (default, batched) or reference: the reference's sampling (T 0.7, top_p 0.8, "
                             "top_k 20, repetition 1.05), batch 1, max_new_tokens 1024, a fixed seed per record")
    parser.add_argument("--seed", type=int, help="sampling seed for --decoding reference (default 0)")
    parser.add_argument("--max-new-tokens", type=int, help="generation cap (default: greedy 48, reference 1024)")
    parser.add_argument("--device", help="cpu, cuda, auto (default auto)")
    parser.add_argument("--out", required=True, metavar="EVAL", help="output folder")
    parser.add_argument("--config", action="append", default=[], metavar="FILE.toml", help="eval config file(s)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    sets = list(args.set)
    for key, value in (("split", args.split), ("limit", args.limit), ("batch_size", args.batch_size),
                       ("decoding", args.decoding), ("seed", args.seed), ("max_new_tokens", args.max_new_tokens)):
        if value is not None:
            sets.append(f"{key}={json.dumps(value)}")
    cfg = config_mod.resolve("eval", args.config, sets)
    if cfg.decoding not in ("greedy", "reference"):
        raise InputError(f"eval: unknown decoding {cfg.decoding!r} (greedy or reference)")
    if args.advisor == "llm" and not args.checkpoint:
        raise InputError("eval: --checkpoint RUN is needed for the LLM advisor (or use --advisor balance)")
    ds = MixDataset(args.data, cfg.split, include_copies=False, limit=cfg.limit or None)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if args.advisor == "balance":
        preds = balance_predictions(ds, args.profile, progress=not args.quiet)
    else:
        preds = llm_predictions(args.checkpoint, ds, cfg.batch_size, cfg.max_new_tokens or None, args.device,
                                progress=not args.quiet, decoding=cfg.decoding, seed=cfg.seed)
    tmp = out / ".predictions.jsonl.tmp"
    records = []
    with open(tmp, "w", encoding="utf-8") as f:
        for rec in preds:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            records.append(rec)
    os.replace(tmp, out / "predictions.jsonl")
    elapsed = time.perf_counter() - t0
    config_mod.dump_json(cfg, out / "eval_config.json", "eval")
    results, other = write_report(records, out, "paper", source=f"{args.advisor} on {cfg.split}")
    strict = other["overall_performance"]
    o = results["overall_performance"]
    print(f"{len(records)} samples in {elapsed:.1f} s ({len(records) / max(elapsed, 1e-9):.1f}/s); paper: both "
          f"{o['both_correct_percentage']:.2f} % stem {o['stem_correct_percentage']:.2f} % dir "
          f"{o['direction_correct_percentage']:.2f} %; strict: both {strict['both_correct_percentage']:.2f} % -> {out}")
    return 0
