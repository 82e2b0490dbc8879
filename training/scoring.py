"""`mixingbuddy-train score`: the paper scorer (bit-compatible with the reference's detailed_evaluation.py) and the strict scorer.

``score_records`` returns a dict with exactly the keys of the reference's
``evaluation_results.json``; ``write_report`` adds Tables I–IV (markdown) and PNG plots.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from model.errors import InputError
from model.advice.keywords import read_keywords
from model.advice.templates import CATEGORIES, CORRECTION_RANGE_DB, DIRECTION

SCORERS = ("paper", "strict")
DIRECTION_GROUP = {c: "no_error" if d == "none" else d for c, d in DIRECTION.items()}
REQUIRED_KEYS = ("target_stem", "error_category")
MAG_TOL = 1e-3
N_ERROR_EXAMPLES = 20


@dataclass(frozen=True)
class RecordScore:
    """One record read by a scorer."""

    uid: str
    target_stem: str
    error_category: str
    text: str
    pred_stem: str | None
    pred_dir: str | None  # "increase" | "decrease" | "none" | None
    contradiction: bool
    both: bool
    stem_ok: bool
    dir_ok: bool
    mag_ok: bool
    expected_range: tuple[float | None, float | None]
    predicted_range: tuple[float | None, float | None]

    @property
    def expected_dir(self) -> str:
        return DIRECTION[self.error_category]

    @property
    def mag_eligible(self) -> bool:
        return self.error_category != "no_error"


def _expected_range(record: dict) -> tuple[float | None, float | None]:
    """The record's expected magnitude; derived from the category when the fields are absent."""
    if "expected_magnitude_min_db" in record or "expected_magnitude_max_db" in record:
        lo, hi = record.get("expected_magnitude_min_db"), record.get("expected_magnitude_max_db")
        return (None if lo is None else float(lo), None if hi is None else float(hi))
    rng = CORRECTION_RANGE_DB.get(record["error_category"])
    return (float(rng[0]), float(rng[1])) if rng else (None, None)


def score_record(record: dict, scorer: str = "paper", field: str = "generated") -> RecordScore:
    """Apply the paper or strict per-record rules (the paper scorer's four steps, or the strict ones)."""
    if scorer not in SCORERS:
        raise ValueError(f"unknown scorer {scorer!r}")
    strict = scorer == "strict"
    text = record.get(field) or ""
    target, category = record["target_stem"], record["error_category"]
    reading = read_keywords(text, whole_word=strict)
    expected = DIRECTION[category]
    exp_lo, exp_hi = _expected_range(record)
    magnitude = reading.magnitude
    if reading.contradiction and not strict:
        magnitude = None  # the paper scorer returns early: everything False
    pred_stem, pred_dir = reading.stem, reading.direction
    if reading.no_error_hit and not strict:
        pred_stem = target  # the paper's quirk: a no-error reply "names" the target
    if reading.contradiction:
        dir_ok = stem_ok = False
    else:
        dir_ok = pred_dir == expected
        stem_ok = dir_ok if category == "no_error" else pred_stem == target
    mag_ok = (
        category != "no_error" and magnitude is not None and exp_lo is not None and exp_hi is not None
        and abs(magnitude[0] - exp_lo) <= MAG_TOL and abs(magnitude[1] - exp_hi) <= MAG_TOL
    )
    return RecordScore(
        uid=str(record.get("global_uid", "unknown")), target_stem=target, error_category=category, text=text,
        pred_stem=pred_stem, pred_dir=pred_dir, contradiction=reading.contradiction,
        both=stem_ok and dir_ok, stem_ok=stem_ok, dir_ok=dir_ok, mag_ok=bool(mag_ok),
        expected_range=(exp_lo, exp_hi), predicted_range=magnitude if magnitude else (None, None),
    )


# --- aggregation ---------------------------------------------------------------

def _pct(count: int, total: int) -> float:
    return round(count / total * 100, 2) if total > 0 else 0.0


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision and recall rounded to 2 dp; F1 from the rounded values, then rounded."""
    p = round(tp / (tp + fp) * 100, 2) if tp + fp else 0.0
    r = round(tp / (tp + fn) * 100, 2) if tp + fn else 0.0
    f1 = round(2 * p * r / (p + r), 2) if p + r else 0.0
    return p, r, f1


def _confusions(scores: Sequence[RecordScore]) -> dict[str, dict[str, int]]:
    ed = dict(tp=0, tn=0, fp=0, fn=0)
    st = dict(tp=0, fp=0, fn=0)
    dr = dict(tp=0, tn=0, fp=0, fn=0)
    for s in scores:
        predicted_error = s.pred_dir not in (None, "none")
        actual_error = s.error_category != "no_error"
        key = ("tp" if predicted_error else "fn") if actual_error else ("fp" if predicted_error else "tn")
        ed[key] += 1
        if actual_error:
            st["tp" if s.pred_stem == s.target_stem else ("fn" if s.pred_stem is None else "fp")] += 1
        if s.pred_dir == s.expected_dir:
            dr["tn" if s.expected_dir == "none" else "tp"] += 1
        elif s.pred_dir is None:
            dr["fn"] += 1
        elif s.expected_dir == "none":
            dr["fp"] += 1
        elif s.pred_dir == "none":
            dr["fn"] += 1
        else:
            dr["fp"] += 1
    return {"error_detection": ed, "stem_identification": st, "direction_prediction": dr}


def _count_block(c: dict[str, int], with_tn: bool) -> dict[str, int]:
    out = {"true_positives": c["tp"]}
    if with_tn:
        out["true_negatives"] = c["tn"]
    out["false_positives"] = c["fp"]
    out["false_negatives"] = c["fn"]
    return out


def _accuracy_block(scores: Sequence[RecordScore]) -> dict:
    total = len(scores)
    both = sum(s.both for s in scores)
    stem = sum(s.stem_ok for s in scores)
    direction = sum(s.dir_ok for s in scores)
    eligible = sum(s.mag_eligible for s in scores)
    mag = sum(s.mag_ok for s in scores if s.mag_eligible)
    return {
        "total": total,
        "both_correct": both, "both_correct_percentage": _pct(both, total),
        "stem_correct": stem, "stem_correct_percentage": _pct(stem, total),
        "direction_correct": direction, "direction_correct_percentage": _pct(direction, total),
        "magnitude_correct": mag, "magnitude_eligible": eligible,
        "magnitude_correct_percentage": round(mag / eligible * 100, 2) if eligible else None,
    }


def _group(scores: Sequence[RecordScore], key) -> dict:
    groups: dict[str, list[RecordScore]] = {}
    for s in scores:
        groups.setdefault(key(s), []).append(s)
    out = {}
    for name in sorted(groups):
        block = _accuracy_block(groups[name])
        conf = _confusions(groups[name])
        block["error_detection"] = _count_block(conf["error_detection"], True)
        block["stem_identification"] = _count_block(conf["stem_identification"], False)
        block["direction_prediction"] = _count_block(conf["direction_prediction"], True)
        out[name] = block
    return out


def _macro(groups: dict) -> dict:
    def mean(key: str, skip_none: bool = False) -> float:
        values = [g[key] for g in groups.values() if not (skip_none and g[key] is None)]
        return round(sum(values) / len(values), 2) if values else 0.0

    return {
        "both_correct_macro": mean("both_correct_percentage"),
        "stem_correct_macro": mean("stem_correct_percentage"),
        "direction_correct_macro": mean("direction_correct_percentage"),
        "magnitude_correct_macro": mean("magnitude_correct_percentage", skip_none=True),
    }


def solution_sentence(text: str) -> str:
    """Informational: the sentence holding the first dB range, else the last sentence."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text or "") if s.strip()]
    if not sentences:
        return ""
    for s in sentences:
        if re.search(r"\d\s*(?:to|and|[-–])\s*-?\d+(?:\.\d+)?\s*dB", s, re.IGNORECASE):
            return s
    return sentences[-1]


def aggregate(scores: Sequence[RecordScore]) -> dict:
    """The reference's evaluation_results.json structure, same keys and order."""
    overall_block = _accuracy_block(scores)
    overall = {k: v for k, v in overall_block.items() if k != "total"}
    overall = {"total_predictions": overall_block["total"], **overall}
    if overall["magnitude_correct_percentage"] is None:
        overall["magnitude_correct_percentage"] = 0.0
    conf = _confusions(scores)
    fpn = {}
    for task in ("error_detection", "stem_identification", "direction_prediction"):
        c = conf[task]
        block = _count_block(c, task != "stem_identification")
        block["precision"], block["recall"], block["f1_score"] = _prf(c["tp"], c["fp"], c["fn"])
        fpn[task] = block
    by_cat = _group(scores, lambda s: s.error_category)
    by_stem = _group(scores, lambda s: s.target_stem)
    by_dir = _group(scores, lambda s: DIRECTION_GROUP[s.error_category])
    errors = [s for s in scores if not s.both]
    examples = [
        {
            "uid": s.uid, "target_stem": s.target_stem, "error_category": s.error_category,
            "generated": s.text[:100], "solution_sentence": solution_sentence(s.text),
            "expected_min_db": s.expected_range[0], "expected_max_db": s.expected_range[1],
            "predicted_min_db": s.predicted_range[0], "predicted_max_db": s.predicted_range[1],
            "magnitude_correct": s.mag_ok,
        }
        for s in errors[:N_ERROR_EXAMPLES]
    ]
    return {
        "overall_performance": overall,
        "false_positives_negatives": fpn,
        "by_error_category": by_cat,
        "by_target_stem": by_stem,
        "by_direction_type": by_dir,
        "error_analysis": {"total_errors": len(errors), "error_examples": examples},
        "macro_accuracies": {
            "by_error_category": _macro(by_cat),
            "by_target_stem": _macro(by_stem),
            "by_direction_type": _macro(by_dir),
        },
    }


def score_records(records: Iterable[dict], scorer: str = "paper", field: str = "generated") -> dict:
    """Score prediction records; returns the evaluation_results dict."""
    return aggregate([score_record(r, scorer, field) for r in records])


# --- I/O -------------------------------------------------------------------------

def load_predictions(path: str | Path, field: str = "generated") -> list[dict]:
    """Read a predictions JSONL; raises InputError naming the file and line on bad input."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: predictions file not found.")
    records = []
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{p}:{n}: not valid JSON ({exc.msg}).") from None
            if not isinstance(rec, dict):
                raise InputError(f"{p}:{n}: each line must be a JSON object.")
            missing = [k for k in (*REQUIRED_KEYS, field) if k not in rec]
            if missing:
                raise InputError(f"{p}:{n}: missing field(s) {', '.join(missing)}.")
            if rec["error_category"] not in DIRECTION:
                raise InputError(f"{p}:{n}: unknown error_category {rec['error_category']!r}.")
            records.append(rec)
    if not records:
        raise InputError(f"{p}: no prediction records.")
    return records


def category_confusion(records: Sequence[dict], field: str = "generated") -> dict:
    """Predicted vs true category through our parser (model.advice.types.parse_response), plus its exact-match rate."""
    from model.advice.types import parse_response

    labels = list(CATEGORIES) + ["unparsed"]
    matrix = {t: {p: 0 for p in labels} for t in CATEGORIES}
    exact = 0
    for rec in records:
        parsed = parse_response(rec.get(field) or "")
        exact += parsed.exact
        if parsed.status == "balanced":
            pred = "no_error"
        elif parsed.status == "error" and parsed.category in DIRECTION:
            pred = parsed.category
        else:
            pred = "unparsed"
        matrix[rec["error_category"]][pred] += 1
    return {"labels": labels, "matrix": matrix, "parser_exact": exact, "total": len(records),
            "parser_exact_percentage": _pct(exact, len(records))}


# --- report ----------------------------------------------------------------------

def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def tables_markdown(results: dict, title: str) -> str:
    """Tables I–IV in the paper's layout."""
    lines = [f"# {title}", ""]
    o = results["overall_performance"]
    lines += [
        f"N = {o['total_predictions']:,}: both {o['both_correct_percentage']:.2f} % ({o['both_correct']:,}) · "
        f"stem {o['stem_correct_percentage']:.2f} % ({o['stem_correct']:,}) · direction "
        f"{o['direction_correct_percentage']:.2f} % ({o['direction_correct']:,}) · magnitude "
        f"{_fmt(o['magnitude_correct_percentage'])} % ({o['magnitude_correct']:,} of {o['magnitude_eligible']:,})", "",
        "## Table I: detection, stem and direction", "",
        "| task | TP | TN | FP | FN | P % | R % | F1 % |", "|---|---|---|---|---|---|---|---|",
    ]
    names = {"error_detection": "error detection", "stem_identification": "stem identification",
             "direction_prediction": "direction prediction"}
    for key, name in names.items():
        b = results["false_positives_negatives"][key]
        tn = _fmt(b["true_negatives"]) if "true_negatives" in b else "–"
        lines.append(f"| {name} | {_fmt(b['true_positives'])} | {tn} | {_fmt(b['false_positives'])} | "
                     f"{_fmt(b['false_negatives'])} | {b['precision']:.2f} | {b['recall']:.2f} | {b['f1_score']:.2f} |")
    sections = [("Table II: by error category", "by_error_category", "category"),
                ("Table III: by target stem", "by_target_stem", "stem"),
                ("Table IV: by direction", "by_direction_type", "direction")]
    for heading, key, label in sections:
        lines += ["", f"## {heading}", "", f"| {label} | N | both | stem | dir | mag |", "|---|---|---|---|---|---|"]
        order = [c for c in CATEGORIES if c in results[key]] if key == "by_error_category" else list(results[key])
        for name in order:
            g = results[key][name]
            lines.append(f"| {name} | {g['total']:,} | {g['both_correct_percentage']:.2f} | "
                         f"{g['stem_correct_percentage']:.2f} | {g['direction_correct_percentage']:.2f} | "
                         f"{_fmt(g['magnitude_correct_percentage'])} |")
        m = results["macro_accuracies"][key]
        lines.append(f"| *macro* | | {m['both_correct_macro']:.2f} | {m['stem_correct_macro']:.2f} | "
                     f"{m['direction_correct_macro']:.2f} | {m['magnitude_correct_macro']:.2f} |")
    return "\n".join(lines) + "\n"


def report_markdown(results: dict, other: dict, confusion: dict, scorer: str, source: str) -> str:
    """Tables for the chosen scorer, paper vs strict side by side, and the category confusion matrix."""
    other_name = "strict" if scorer == "paper" else "paper"
    out = [tables_markdown(results, f"Evaluation of {source} ({scorer} scorer)")]
    paper, strict = (results, other) if scorer == "paper" else (other, results)
    out += ["## Paper vs strict scorer", "", "| scorer | both | stem | dir | mag |", "|---|---|---|---|---|"]
    for name, r in (("paper", paper), ("strict", strict)):
        o = r["overall_performance"]
        out.append(f"| {name} | {o['both_correct']} ({o['both_correct_percentage']:.2f}) | {o['stem_correct']} "
                   f"({o['stem_correct_percentage']:.2f}) | {o['direction_correct']} "
                   f"({o['direction_correct_percentage']:.2f}) | {o['magnitude_correct']}/{o['magnitude_eligible']} |")
    labels = confusion["labels"]
    out += ["", f"## Category confusion (rows: true, columns: predicted by our parser; "
                f"exact template matches {confusion['parser_exact']}/{confusion['total']})", "",
            "| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    for t in CATEGORIES:
        out.append(f"| {t} | " + " | ".join(str(confusion["matrix"][t][p]) for p in labels) + " |")
    out.append(f"\n({other_name} scorer results are in evaluation_results_{other_name}.json)\n")
    return "\n".join(out)


def write_plots(results: dict, confusion: dict, out_dir: Path) -> list[Path]:
    """Accuracy bars per category/stem/direction and the confusion-matrix heat map (PNG, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    metrics = [("both_correct_percentage", "both"), ("stem_correct_percentage", "stem"),
               ("direction_correct_percentage", "direction"), ("magnitude_correct_percentage", "magnitude")]
    for key, label in (("by_error_category", "category"), ("by_target_stem", "stem"),
                       ("by_direction_type", "direction")):
        groups = results[key]
        names = [c for c in CATEGORIES if c in groups] if key == "by_error_category" else list(groups)
        fig, ax = plt.subplots(figsize=(7, 3.5))
        x = np.arange(len(names))
        width = 0.2
        for i, (mkey, mlabel) in enumerate(metrics):
            vals = [groups[n][mkey] or 0.0 for n in names]
            ax.bar(x + (i - 1.5) * width, vals, width, label=mlabel)
        ax.set_xticks(x, names)
        ax.set_ylim(0, 100)
        ax.set_ylabel("accuracy %")
        ax.set_title(f"Accuracy per {label}")
        ax.legend(fontsize=8, ncols=4, loc="upper center")
        fig.tight_layout()
        path = out_dir / f"accuracy_by_{label}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    labels = confusion["labels"]
    mat = np.array([[confusion["matrix"][t][p] for p in labels] for t in CATEGORIES])
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.imshow(mat, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(CATEGORIES)), CATEGORIES)
    for i in range(mat.shape[0]):
        for j in range(mat.shape[1]):
            ax.text(j, i, str(mat[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xlabel("predicted category")
    ax.set_ylabel("true category")
    fig.tight_layout()
    path = out_dir / "confusion_category.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
    return written


def write_report(records: Sequence[dict], out_dir: str | Path, scorer: str = "paper", field: str = "generated",
                 source: str = "predictions", plots: bool = True) -> tuple[dict, dict]:
    """Write evaluation_results.json (+ the other scorer's), report.md and PNG plots; return both results."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = score_records(records, scorer, field)
    other_name = "strict" if scorer == "paper" else "paper"
    other = score_records(records, other_name, field)
    confusion = category_confusion(records, field)
    (out / "evaluation_results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / f"evaluation_results_{other_name}.json").write_text(json.dumps(other, indent=2) + "\n", encoding="utf-8")
    (out / "confusion.json").write_text(json.dumps(confusion, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(report_markdown(results, other, confusion, scorer, source), encoding="utf-8")
    if plots:
        write_plots(results, confusion, out)
    return results, other


# --- CLI -------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("predictions", metavar="PRED.jsonl", help="predictions JSONL (ours or the reference's)")
    parser.add_argument("--scorer", choices=SCORERS, default="paper", help="paper (bit-compatible) or strict")
    parser.add_argument("--field", default="generated",
                        help="record field holding the answer (e.g. ground_truth to score the references)")
    parser.add_argument("--json", action="store_true", help="print evaluation_results JSON on stdout")
    parser.add_argument("--out", metavar="DIR", help="write evaluation_results.json, report.md and PNG plots here")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots with --out")


def run(args: argparse.Namespace) -> int:
    records = load_predictions(args.predictions, args.field)
    if args.out:
        results, _ = write_report(records, args.out, args.scorer, args.field, Path(args.predictions).name,
                                  plots=not args.no_plots)
    else:
        results = score_records(records, args.scorer, args.field)
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(tables_markdown(results, f"{Path(args.predictions).name} ({args.scorer} scorer)"))
    return 0
