"""Issue 4 "done when": the whole pipeline through the real command lines, in subprocesses, on the tiny preset.

demo-data -> synth -> train (tiny-cpu preset, 240 steps, ~1 min) -> eval -> score, then the
trained run behind `mixingbuddy critique --advisor llm --checkpoint RUN --json` on the demo
session. The tiny preset learns the answer templates (its random head and embeddings train
too), so most answers must parse; accuracy is near chance with a random tiny encoder and is
not asserted. Answers that do not parse must come back as "unparsed" windows (never a crash,
never a made-up suggestion).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "resources" / "demo"
ADVICE_KEYS = {"schema", "anchor", "advisor", "text", "suggestions", "confidence", "abstained", "measurements",
               "windows", "warnings"}
CATEGORIES = {"no_error", "quiet", "very_quiet", "loud", "very_loud", "unparsed"}

pytestmark = pytest.mark.slow

N_EVAL = 16
#: Measured: 16/16 parse on this corpus (and 60/60 on the 25 s demo corpus's whole test split at train
#: seeds 1234, 7 and 99; docs/REPRODUCE.md §7). The floor leaves margin for other CPUs' float rounding.
PARSE_FLOOR = 12


def _run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="2", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               MIXINGBUDDY_NO_AUDIO="1", PYTHONUNBUFFERED="1")
    env.pop("MIXINGBUDDY_CHECKPOINT", None)
    proc = subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{args[:2]} exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def test_demo_synth_train_eval_score_critique(tmp_path):
    from model.advice.types import parse_response
    from training.scoring import load_predictions

    musdb, data, run, ev = tmp_path / "musdb", tmp_path / "data", tmp_path / "run", tmp_path / "eval"
    _run("training.cli", "demo-data", str(musdb), "--songs", "2", "--seconds", "20", "--quiet")
    assert sorted(p.name for p in musdb.iterdir()) == ["test", "train"]

    _run("training.cli", "synth", "--musdb", str(musdb), "--out", str(data), "--quiet")
    synth = json.loads((data / "synth.json").read_text())
    for split in ("train", "val", "test"):
        n = synth["splits"][split]["records"]
        assert n > 0 and n == len((data / "manifest" / f"{split}.jsonl").read_text().splitlines())

    _run("training.cli", "train", "--preset", "tiny-cpu", "--data", str(data), "--out", str(run), "--quiet")
    manifest = json.loads((run / "manifest.json").read_text())
    max_steps = manifest["training"]["config"]["train"]["max_steps"]
    assert manifest["step"] == max_steps >= 20
    metrics = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [m["loss"] for m in metrics if "loss" in m]
    assert losses and all(x == x and x > 0 for x in losses)  # finite, positive
    assert (run / "train_config.json").is_file() and (run / "checkpoints" / f"step-{max_steps:06d}").is_dir()

    _run("training.cli", "eval", "--checkpoint", str(run), "--data", str(data), "--split", "test", "--limit", str(N_EVAL),
         "--batch-size", "8", "--out", str(ev), "--quiet")
    preds = load_predictions(ev / "predictions.jsonl")
    assert len(preds) == N_EVAL and all(isinstance(p["generated"], str) for p in preds)
    assert {p["decoding"] for p in preds} == {"greedy"}
    parsed = sum(parse_response(p["generated"]).status != "unparsed" for p in preds)
    print(f"tiny run after {max_steps} steps: {parsed}/{N_EVAL} test answers parse")  # shown with -s
    assert parsed >= PARSE_FLOOR, [p["generated"] for p in preds]

    score = _run("training.cli", "score", str(ev / "predictions.jsonl"), "--scorer", "strict", "--json")
    results = json.loads(score.stdout)
    assert results["overall_performance"]["total_predictions"] == N_EVAL
    assert {"overall_performance", "false_positives_negatives", "by_error_category", "by_target_stem",
            "by_direction_type", "macro_accuracies"} <= set(results)

    crit = _run("mixingbuddy_app", "critique", str(DEMO), "--advisor", "llm", "--checkpoint", str(run), "--json")
    advice = json.loads(crit.stdout)
    assert ADVICE_KEYS <= set(advice) and advice["schema"] == "mixingbuddy.advice/1"
    assert advice["advisor"].startswith("llm:")
    assert advice["windows"], "the demo session has gated windows"
    for w in advice["windows"]:
        assert w["category"] in CATEGORIES and isinstance(w["text"], str)
        # the window's category is what the shared parser reads from the model's own text
        status = parse_response(w["text"]).status
        assert (w["category"] == "unparsed") == (status == "unparsed")
    unparsed = sum(w["category"] == "unparsed" for w in advice["windows"])
    if unparsed == len(advice["windows"]):
        assert advice["suggestions"] == [] and advice["abstained"] is True
    for s in advice["suggestions"]:
        assert s["direction"] in ("increase", "decrease") and s["stem"] in ("vocals", "drums", "bass")
