"""`mixingbuddy-train` on CUDA: the Accelerate loop with bf16 mixed precision and NF4, then eval on the GPU."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

pytestmark = pytest.mark.gpu

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory):
    from training import config
    from training.demo import write_corpus
    from training.synth import synthesize

    root = tmp_path_factory.mktemp("gpu-data")
    write_corpus(root / "musdb", songs=2, test_songs=1, seconds=25.0, seed=0)
    synthesize(root / "musdb", root / "data", config.resolve("synth"), progress=False)
    return root / "data"


def _cli(*args: str) -> subprocess.CompletedProcess:
    """One `mixingbuddy-train` command in its own process (Accelerate's state is per process)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "training.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"{args[0]} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


def test_bf16_nf4_training_then_eval_on_cuda(synth_data, tmp_path):
    from model.advice.types import parse_response
    from training.scoring import load_predictions

    run = tmp_path / "run"
    sets = ["train.max_steps=6", "train.val_every=3", "train.val_samples=4", "train.val_generate=2",
            "train.save_every=3", "train.log_every=1", "train.mixed_precision=\"bf16\"", "model.precision=\"nf4\""]
    _cli("train", "--preset", "tiny-cpu", "--data", str(synth_data), "--out", str(run), "--quiet",
         *[x for s in sets for x in ("--set", s)])
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["step"] == 6 and manifest["model"]["precision"] == "nf4"
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [m["loss"] for m in metrics if "loss" in m]
    assert len(losses) == 6 and all(math.isfinite(x) for x in losses)

    out = tmp_path / "eval"
    _cli("eval", "--checkpoint", str(run), "--data", str(synth_data), "--limit", "8", "--batch-size", "4",
         "--device", "cuda", "--out", str(out), "--quiet")
    preds = load_predictions(out / "predictions.jsonl")
    assert len(preds) == 8 and all(isinstance(p["generated"], str) for p in preds)
    print(f"{sum(parse_response(p['generated']).status != 'unparsed' for p in preds)}/8 answers parse after 6 steps")
