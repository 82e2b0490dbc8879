"""Paper and strict scorers against the published fixtures and our templates."""

from __future__ import annotations

import json

import pytest

from model.advice.templates import CATEGORIES, CORRECTION_RANGE_DB, RESPONSES, render_response
from training import cli, scoring

PRED = "predictions.jsonl"
CKPT = "predictions-checkpoint-4600.jsonl"


def _overall(results):
    o = results["overall_performance"]
    return o["both_correct"], o["stem_correct"], o["direction_correct"], o["magnitude_correct"], o["magnitude_eligible"]


def _tasks(results):
    f = results["false_positives_negatives"]
    return tuple(tuple(f[t].values()) for t in ("error_detection", "stem_identification", "direction_prediction"))


def _by_cat(results):
    return {k: (v["both_correct_percentage"], v["stem_correct_percentage"], v["direction_correct_percentage"],
                v["magnitude_correct_percentage"]) for k, v in results["by_error_category"].items()}


def _macro(results, key):
    m = results["macro_accuracies"][key]
    return m["both_correct_macro"], m["stem_correct_macro"], m["direction_correct_macro"], m["magnitude_correct_macro"]


def _key_tree(obj, prefix=""):
    """Paths of keys; group names under by_* and list items are abstracted."""
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(prefix + "/" + k)
            out |= _key_tree(v, prefix + "/" + k)
    elif isinstance(obj, list) and obj:
        out |= _key_tree(obj[0], prefix + "[]")
    return out


@pytest.fixture(scope="module")
def records(upstream_fixtures):
    return {name: scoring.load_predictions(upstream_fixtures / name) for name in (PRED, CKPT)}


def test_paper_scorer_predictions_fixture(records):
    r = scoring.score_records(records[PRED], "paper")
    assert r["overall_performance"]["total_predictions"] == 100
    assert _overall(r) == (19, 35, 47, 65, 80)
    assert _tasks(r) == ((76, 1, 19, 4, 80.0, 95.0, 86.86), (35, 42, 3, 45.45, 92.11, 60.87),
                         (47, 0, 48, 5, 49.47, 90.38, 63.94))
    assert _by_cat(r) == {"loud": (12.5, 31.25, 62.5, 68.75), "no_error": (0.0, 0.0, 0.0, None),
                          "quiet": (25.0, 37.5, 43.75, 50.0), "very_loud": (33.33, 56.67, 63.33, 93.33),
                          "very_quiet": (16.67, 38.89, 61.11, 100.0)}
    assert _macro(r, "by_error_category") == (17.5, 32.86, 46.14, 78.02)
    assert _macro(r, "by_target_stem") == (18.42, 35.04, 45.44, 80.37)
    assert _macro(r, "by_direction_type") == (15.56, 28.69, 38.66, 80.62)


def test_paper_scorer_checkpoint_4600_fixture(records):
    r = scoring.score_records(records[CKPT], "paper")
    assert _overall(r) == (51, 63, 59, 59, 80)
    assert _tasks(r) == ((66, 3, 17, 14, 79.52, 82.5, 80.98), (60, 14, 6, 81.08, 90.91, 85.71),
                         (56, 3, 27, 14, 67.47, 80.0, 73.2))
    assert _by_cat(r) == {"loud": (25.0, 56.25, 31.25, 37.5), "no_error": (15.0, 15.0, 15.0, None),
                          "quiet": (56.25, 87.5, 62.5, 31.25), "very_loud": (76.67, 83.33, 83.33, 100.0),
                          "very_quiet": (66.67, 66.67, 88.89, 100.0)}
    assert _macro(r, "by_error_category") == (47.92, 61.75, 56.19, 67.19)


def test_fixture_group_sizes(records):
    r = scoring.score_records(records[PRED], "paper")
    assert {k: v["total"] for k, v in r["by_error_category"].items()} == {
        "very_loud": 30, "no_error": 20, "very_quiet": 18, "loud": 16, "quiet": 16}
    assert {k: v["total"] for k, v in r["by_target_stem"].items()} == {"bass": 40, "vocals": 37, "drums": 23}


def test_strict_scorer_fixtures(records):
    assert _overall(scoring.score_records(records[PRED], "strict")) == (21, 36, 49, 68, 80)
    assert _overall(scoring.score_records(records[CKPT], "strict")) == (57, 61, 65, 65, 80)


@pytest.mark.parametrize("name", [PRED, CKPT])
def test_ground_truth_field(records, name):
    assert _overall(scoring.score_records(records[name], "paper", "ground_truth")) == (97, 97, 97, 77, 80)
    assert _overall(scoring.score_records(records[name], "strict", "ground_truth")) == (100, 100, 100, 80, 80)


def test_key_tree_equals_reference_json(records, upstream_fixtures):
    reference = json.loads((upstream_fixtures / "evaluation_results.json").read_text())
    ours = scoring.score_records(records[CKPT], "paper")
    assert list(ours) == list(reference)
    assert _key_tree(ours) == _key_tree(reference)
    for section in ("by_error_category", "by_target_stem", "by_direction_type"):
        assert list(ours[section]) == list(reference[section])  # same groups, same (sorted) order


def test_rounding_rules_reproduce_reference_json(upstream_fixtures):
    """P/R/F1 and macros recomputed from the committed JSON's counts equal its published values."""
    ref = json.loads((upstream_fixtures / "evaluation_results.json").read_text())
    for block in ref["false_positives_negatives"].values():
        prf = scoring._prf(block["true_positives"], block["false_positives"], block["false_negatives"])
        assert prf == (block["precision"], block["recall"], block["f1_score"])
    for key in ("by_error_category", "by_target_stem", "by_direction_type"):
        assert scoring._macro(ref[key]) == ref["macro_accuracies"][key]
        for g in ref[key].values():
            assert scoring._pct(g["both_correct"], g["total"]) == g["both_correct_percentage"]


def _template_records():
    out = []
    for category in CATEGORIES:
        for target in ("vocals", "drums", "bass"):
            for variant in range(len(RESPONSES[category])):
                lo, hi = CORRECTION_RANGE_DB.get(category, (None, None))
                out.append({"global_uid": f"{category}-{target}-{variant}", "target_stem": target,
                            "error_category": category, "generated": render_response(category, target, variant),
                            "expected_magnitude_min_db": lo, "expected_magnitude_max_db": hi})
    return out


@pytest.mark.parametrize("scorer", scoring.SCORERS)
def test_every_template_answer_scores_100(scorer):
    recs = _template_records()
    for rec in recs:
        s = scoring.score_record(rec, scorer)
        assert s.both and s.stem_ok and s.dir_ok, (scorer, rec["generated"])
        assert s.mag_ok == (rec["error_category"] != "no_error"), rec["generated"]
    o = scoring.score_records(recs, scorer)["overall_performance"]
    assert o["both_correct_percentage"] == o["magnitude_correct_percentage"] == 100.0


def test_strict_differs_from_paper_on_collision_and_no_error_credit():
    loud = {"target_stem": "bass", "error_category": "loud", "expected_magnitude_min_db": 3.0,
            "expected_magnitude_max_db": 6.0, "generated": "The bass is too loud, make the bass quieter by 3 to 6 dB."}
    paper, strict = scoring.score_record(loud, "paper"), scoring.score_record(loud, "strict")
    assert paper.contradiction and not paper.both and not paper.mag_ok  # 'quieter' contains 'quiet'
    assert strict.both and strict.mag_ok
    balanced = dict(loud, generated="The mix is well-balanced.")
    assert scoring.score_record(balanced, "paper").stem_ok  # the quirk: stem credit for a no-error reply
    assert not scoring.score_record(balanced, "strict").stem_ok


def test_cli_score_writes_report(upstream_fixtures, tmp_path, capsys):
    out = tmp_path / "eval"
    rc = cli.main(["score", str(upstream_fixtures / CKPT), "--scorer", "paper", "--json", "--out", str(out)])
    assert rc == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["overall_performance"]["both_correct"] == 51
    assert json.loads((out / "evaluation_results.json").read_text()) == printed
    strict = json.loads((out / "evaluation_results_strict.json").read_text())
    assert strict["overall_performance"]["both_correct"] == 57
    report = (out / "report.md").read_text()
    for heading in ("Table I", "Table II", "Table III", "Table IV", "Paper vs strict"):
        assert heading in report
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["accuracy_by_category.png", "accuracy_by_direction.png", "accuracy_by_stem.png",
                    "confusion_category.png"]
    assert all((out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_cli_bad_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"target_stem": "bass", "error_category": "loud", "generated": "x"}\nnot json\n')
    assert cli.main(["score", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.jsonl:2" in err[0]
    assert cli.main(["score", str(tmp_path / "missing.jsonl")]) == 2
