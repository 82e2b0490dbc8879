"""`mixingbuddy-train` on CUDA: the Accelerate loop with bf16 mixed precision and NF4, then eval on the GPU."""

from __future__ import annotations

import argparse
import json
import math

import pytest

pytest.importorskip("torch")

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory):
    from training import config
    from training.demo import write_corpus
    from training.synth import synthesize

    root = tmp_path_factory.mktemp("gpu-data")
    write_corpus(root / "musdb", songs=2, test_songs=1, seconds=25.0, seed=0)
    synthesize(root / "musdb", root / "data", config.resolve("synth"), progress=False)
    return root / "data"


def test_bf16_nf4_training_then_eval_on_cuda(synth_data, tmp_path):
    from model.advice import parse_response
    from training import cli
    from training.scoring import load_predictions
    from training.train import train

    run = tmp_path / "run"
    sets = ["train.max_steps=6", "train.val_every=3", "train.val_samples=4", "train.val_generate=2",
            "train.save_every=3", "train.log_every=1", "train.mixed_precision=\"bf16\"", "model.precision=\"nf4\""]
    train(argparse.Namespace(preset="tiny-cpu", config=[], set=sets, data=str(synth_data), out=str(run),
                             resume=False, quiet=True))
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["step"] == 6 and manifest["model"]["precision"] == "nf4"
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [m["loss"] for m in metrics if "loss" in m]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses)

    out = tmp_path / "eval"
    assert cli.main(["eval", "--checkpoint", str(run), "--data", str(synth_data), "--limit", "8", "--batch-size", "4",
                     "--device", "cuda", "--out", str(out), "--quiet"]) == 0
    preds = load_predictions(out / "predictions.jsonl")
    assert len(preds) == 8 and all(isinstance(p["generated"], str) for p in preds)
    print(f"{sum(parse_response(p['generated']).status != 'unparsed' for p in preds)}/8 answers parse after 6 steps")
