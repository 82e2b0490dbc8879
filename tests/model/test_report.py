"""model.advice.report: the session dict round trip, the re-check verdict and the shared formatting."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from model.advice.report import (advice_csv, advice_from_dict, advice_to_dict, advice_to_json, clock, fmt_db,
                                 recheck_verdict, suggestion_action, suggestion_sentence)
from model.advice.types import Advice, RoleGain
from resources import DEMO_DIR


@pytest.fixture(scope="module")
def demo_advice() -> Advice:
    from model.advice.advisor import AdviceRequest
    from model.advice.pipeline import critique
    from model.advisors import load_advisor
    from model.audio.tracks import load_tracks

    tracks = load_tracks([str(DEMO_DIR)], strict=True).tracks
    return critique(AdviceRequest(tracks, "vocals"), load_advisor("balance"))


def test_session_dict_round_trip_keeps_everything(demo_advice):
    back = advice_from_dict(advice_to_dict(demo_advice))
    assert advice_to_json(back) == advice_to_json(demo_advice)
    assert back.agreement == demo_advice.agreement and back.primary == demo_advice.primary
    assert [w.min_db for w in back.windows] == [w.min_db for w in demo_advice.windows]


def test_a_bridged_pair_keeps_its_legs_through_a_session_file_and_older_files_still_read(demo_advice):
    from model.advice.balance import PairJudgement

    bass = PairJudgement("bass", "vocals", 0, 30, 2.7, 0.1, 0.07, None, None, "", via=("drums",), spread_lu=4.6,
                         legs=(("bass", "drums", 6), ("drums", "vocals", 11)))
    advice = replace(demo_advice, pairs=(bass,))
    saved = advice_to_dict(advice)
    assert advice_from_dict(saved).pairs == (bass,)
    older = {**saved, "pairs": [{k: v for k, v in p.items() if k != "legs"} for p in saved["pairs"]]}
    assert advice_from_dict(older).pairs == (replace(bass, legs=()),)   # saved before legs were kept


def test_csv_has_one_row_per_role_and_marks_the_primary(demo_advice):
    rows = advice_csv(demo_advice, {"drums": -3.0}).splitlines()
    assert rows[0].startswith("role,is_anchor,current_role_gain_db") and len(rows) == 5
    drums = next(r for r in rows if r.startswith("drums,"))
    assert drums.split(",")[2] == "-3.00" and drums.endswith(",1")


def _advice(primary: RoleGain | None, abstained: bool = False) -> Advice:
    return Advice("vocals", primary, (primary,) if primary else (), (), 0.8, abstained, "", "balance",
                  agreement="2 of 3 windows agree")


def test_recheck_verdict_labels():
    down = RoleGain("drums", "decrease", "loud", 3.0, 6.0, -4.5, 0.9)
    up = RoleGain("drums", "increase", "quiet", 3.0, 6.0, 4.5, 0.9)
    applied = _advice(down)
    assert recheck_verdict(applied, _advice(None))[0] == "resolved"
    assert recheck_verdict(applied, _advice(down))[0] == "still there"
    assert recheck_verdict(applied, _advice(up))[0] == "over-corrected"
    label, sentence = recheck_verdict(applied, _advice(None, abstained=True))
    assert label == "unclear" and "2 of 3 windows agree" in sentence


def test_recheck_of_the_other_instruments_reads_their_own_suggestion():
    # the other instruments are never the headline: their suggestion after the re-check is a secondary one
    other = RoleGain("other", "decrease", "very_loud", 6.0, 12.0, -9.0, 0.9)
    applied = Advice("vocals", None, (other,), (), 0.8, False, "", "balance")
    still = Advice("vocals", None, (replace(other, category="loud", min_db=3.0, max_db=6.0, delta_db=-4.0),), (),
                   0.8, False, "", "balance")
    assert recheck_verdict(replace(applied, primary=other), still)[0] == "still there"
    assert recheck_verdict(replace(applied, primary=other), _advice(None))[0] == "resolved"


def test_formatting():
    assert clock(75.25) == "1:15.2" and clock(0) == "0:00.0"
    assert fmt_db(-3.04, signed=True) == "-3.0" and fmt_db(2.0, signed=True) == "+2.0"
    assert fmt_db(-math.inf) == "-inf" and fmt_db(None) == "—"


def test_recheck_and_suggestion_sentences_agree_with_the_role():
    bass = RoleGain("bass", "decrease", "loud", 3.0, 6.0, -4.5, 0.9)
    drums = RoleGain("drums", "decrease", "loud", 3.0, 6.0, -4.5, 0.9)
    assert "The bass now sits within" in recheck_verdict(_advice(bass), _advice(None))[1]
    assert "The drums now sit within" in recheck_verdict(_advice(drums), _advice(None))[1]
    assert "The bass still needs to go down" in recheck_verdict(_advice(bass), _advice(bass))[1]
    assert suggestion_sentence(bass) == "The bass is a little too loud: lower it by 3 to 6 dB."
    assert suggestion_sentence(drums, tentative=True) == ("The drums may be a little too loud: if so, lower them "
                                                          "by 3 to 6 dB.")
    assert suggestion_action(drums, tentative=True) == "Perhaps lower the drums by 3 to 6 dB"   # never "probably"


def test_a_recheck_over_another_span_says_so():
    down = RoleGain("drums", "decrease", "loud", 3.0, 6.0, -4.5, 0.9)
    applied, now = replace(_advice(down), span=(90.0, 150.0)), _advice(None)
    label, sentence = recheck_verdict(applied, now)
    assert label == "resolved"
    assert sentence.endswith("(Judged over the whole song; the advice you applied judged 1:30.0–2:30.0.)")
    assert "Judged over" not in recheck_verdict(applied, replace(now, span=(90.0, 150.0)))[1]


def test_a_window_where_only_the_other_instruments_played_says_so_in_json_too(demo_advice):
    from model.advice.report import render_text
    from model.advice.types import WindowVerdict

    only_other = WindowVerdict(demo_advice.windows[0].window, None, "none", "no_error", None, None,
                               "The mix is well-balanced. No changes are needed.", {"other": -12.0})
    advice = replace(demo_advice, windows=(only_other,))
    text = advice_to_json(advice)["windows"][0]["text"]
    assert text.startswith("not judged (no ") and text in render_text(advice, "", ())


def test_the_timeline_says_the_other_instruments_are_judged_over_the_span(demo_advice):
    """In the CLI and the Markdown export alike: a window verdict names the main roles only (the Markdown export
    said "The mix is well-balanced. No changes are needed." for each window the other instruments' suggestion
    counted as agreeing)."""
    from model.advice.report import advice_markdown, render_text

    other = RoleGain("other", "decrease", "loud", 3.0, 6.0, -4.5, 0.6)
    assert "judged over the span, not window by window" not in render_text(demo_advice, "", ())
    advice = replace(demo_advice, suggestions=(other,))
    assert "judged over the span, not window by window" in render_text(advice, "", ())
    timeline = advice_markdown(advice).split("## Timeline")[1].split("## Export doctor")[0]
    assert "_Note: The other instruments are judged over the span, not window by window._" in timeline
    assert "No changes are needed" not in timeline and "well-balanced" not in timeline
