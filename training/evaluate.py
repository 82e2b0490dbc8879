"""`mixingbuddy-train eval`: an advisor over a split -> predictions.jsonl (reference schema + extras) -> scores.

``--checkpoint RUN``: batched greedy generation with the trained model.
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
from model.templates import CORRECTION_RANGE_DB
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


def llm_predictions(checkpoint: str | Path, ds: MixDataset, batch_size: int, max_new_tokens: int | None,
                    device: str | None = None, progress: bool = True) -> Iterator[dict]:
    import torch
    from tqdm import tqdm

    from model.checkpoint import load_checkpoint

    model = load_checkpoint(checkpoint, device)
    model.eval()
    for idx in tqdm(list(_batches(len(ds), batch_size)), desc="eval", unit="batch", disable=not progress):
        audio = torch.from_numpy(np.stack([ds.mix(i) for i in idx]))
        texts = model.generate(audio, [ds.rows[i]["instruction"] for i in idx], max_new_tokens=max_new_tokens)
        for i, text in zip(idx, texts):
            yield prediction_record(ds.rows[i], text, f"llm:{Path(checkpoint).name}", str(checkpoint), "greedy")


def balance_predictions(ds: MixDataset, profile: str | Path | None = None, progress: bool = True) -> Iterator[dict]:
    """The BalanceAdvisor's verdict per record from BS.1770 loudness of the flawed (mono 24 kHz) stems."""
    from tqdm import tqdm

    from model.advice import Window
    from model.balance import BalanceAdvisor
    from model.dsp import loudness_lufs

    advisor = BalanceAdvisor.from_resources(profile)
    sr = ds.cache.sample_rate
    for i in tqdm(range(len(ds)), desc="eval balance", unit="sample", disable=not progress):
        row = ds.rows[i]
        meta = row["meta"]
        stems = row_chunk(ds.cache, row)
        g = 10.0 ** (meta["intended_gain_db"] / 20.0)
        lufs = {r: loudness_lufs(a * (g if r == meta["target_stem"] else 1.0), sr) for r, a in stems.items()}
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
    parser.add_argument("--device", help="cpu, cuda, auto (default auto)")
    parser.add_argument("--out", required=True, metavar="EVAL", help="output folder")
    parser.add_argument("--config", action="append", default=[], metavar="FILE.toml", help="eval config file(s)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    sets = list(args.set)
    for key, value in (("split", args.split), ("limit", args.limit), ("batch_size", args.batch_size)):
        if value is not None:
            sets.append(f"{key}={json.dumps(value)}")
    cfg = config_mod.resolve("eval", args.config, sets)
    if cfg.decoding != "greedy":
        raise InputError(f"eval: decoding {cfg.decoding!r} is not implemented yet (use greedy)")
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
                                progress=not args.quiet)
    tmp = out / ".predictions.jsonl.tmp"
    records = []
    with open(tmp, "w", encoding="utf-8") as f:
        for rec in preds:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            records.append(rec)
    os.replace(tmp, out / "predictions.jsonl")
    elapsed = time.perf_counter() - t0
    config_mod.dump_json(cfg, out / "eval_config.json", "eval")
    results = write_report(records, out, "paper", source=f"{args.advisor} on {cfg.split}")
    strict = json.loads((out / "evaluation_results_strict.json").read_text())["overall_performance"]
    o = results["overall_performance"]
    print(f"{len(records)} samples in {elapsed:.1f} s ({len(records) / max(elapsed, 1e-9):.1f}/s); paper: both "
          f"{o['both_correct_percentage']:.2f} % stem {o['stem_correct_percentage']:.2f} % dir "
          f"{o['direction_correct_percentage']:.2f} %; strict: both {strict['both_correct_percentage']:.2f} % -> {out}")
    return 0
