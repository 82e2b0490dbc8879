"""What a critique's confidence and agreement describe: the claim they belong to, the windows behind it, the span
judged and the windows left out, in the human text, the Markdown export, the JSON and the session dict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model.advice.advisor import AdviceRequest
from model.advice.balance import BalanceAdvisor
from model.advice.pipeline import critique
from model.advice.report import (advice_from_dict, advice_json_text, advice_markdown, advice_to_dict,
                                 advice_to_json, render_text)
from model.audio.tracks import load_tracks
from model.errors import RoleError
from tests.model.test_profiles import noise_song, wide


def judge(folder: Path, anchor: str | None = "vocals", spread: float = 1.0, span=None):
    return critique(AdviceRequest(load_tracks([folder]).tracks, anchor, span=span),
                    BalanceAdvisor(wide(0.0, spread)))


def boost(folder: Path, name: str, start: float, end: float, db: float) -> None:
    """Raise one stem by ``db`` between ``start`` and ``end`` s."""
    audio, sr = sf.read(folder / name, dtype="float32")
    audio[int(start * sr):int(end * sr)] *= np.float32(10 ** (db / 20))
    sf.write(folder / name, audio, sr, subtype="FLOAT")


def confidence_line(text: str) -> str:
    return next(line.strip() for line in text.splitlines() if line.strip().startswith("Confidence:"))


def test_other_alone_out_of_band_is_backed_by_its_own_pair_windows_never_0_of_0(tmp_path):
    # the drums and bass play only where the vocals rest: only the keys (other) are judged, 9 LU over the median
    folder = noise_song(tmp_path / "s", seconds=40.0, db={"other": 9.0},
                        plays={"vocals": (0, 30), "other": (0, 30), "drums": (30, 40), "bass": (30, 40)})
    advice = judge(folder)
    other = advice.suggestions[0]
    assert advice.primary is None and other.role == "other" and advice.confidence == other.confidence
    assert advice.text.startswith("Against the vocals, the other instruments are much too loud")
    assert advice.agreement == "3 of 3 windows where the other instruments and the vocals both play agree"
    line = confidence_line(render_text(advice, "chosen", ()))
    assert line == f"Confidence: {advice.agreement} ({other.confidence:.0%})" and "0 of 0" not in line
    assert advice.claims == ()  # one claim: the confidence is the other instruments'


def test_a_pair_heard_together_for_less_than_30_s_is_tentative_and_says_why(tmp_path):
    """Hydrogen's opening (untouched) read "drums far too loud" at 56 % from the two windows where its drums and
    vocals both play: a few windows do not place a song inside or outside a profile's spread of whole songs."""
    from model.advice.balance import FIRM_TOGETHER_S

    def drums_over_vocals(name: str, together_s: float):
        folder = noise_song(tmp_path / name, seconds=40.0, db={"drums": 9.0},
                            plays={"vocals": (0, together_s), "bass": (0, 40), "other": (0, 40)})
        return judge(folder)

    firm = drums_over_vocals("firm", FIRM_TOGETHER_S)
    assert firm.primary.role == "drums" and firm.primary.category == "very_loud" and firm.primary.confidence > 0.9
    brief = drums_over_vocals("brief", FIRM_TOGETHER_S - 10.0)
    p = brief.primary
    assert (p.role, p.direction, p.category) == ("drums", "decrease", "loud") and p.confidence < 0.5
    assert brief.text.startswith("The drums may be a little too loud") and "6 to 12" not in brief.text
    pair = next(q for q in brief.pairs if q.role == "drums")
    assert (pair.windows, pair.together_s, pair.heard_briefly) == (2, 20.0, True) and pair.probability > 0.9
    assert brief.agreement == ("2 of 2 windows where the drums and the vocals both play agree, but they play "
                               "together for only 20 s here, so it stays tentative")
    assert any(n.message == f"drums: tentative ({p.confidence:.0%}): heard with the vocals for only 20 s here (a "
                            f"firm verdict needs 30 s)." for n in brief.findings)
    assert {q["role"]: q["together_s"] for q in json.loads(advice_json_text(brief))["pairs"]}["drums"] == 20.0


def test_each_number_of_a_two_claim_headline_says_which_claim_it_belongs_to(tmp_path):
    # drums and bass in band, the keys 9 LU over: "sit well" 84 %, the other instruments' suggestion 51 %
    advice = judge(noise_song(tmp_path / "s", db={"other": 9.0}), spread=5.0)
    other = advice.suggestions[0]
    sit_well, off = advice.claims
    assert (sit_well.claim, sit_well.confidence) == ("the drums and bass sit well", advice.confidence)
    assert (off.claim, off.confidence) == ("the other instruments are much too loud", other.confidence)
    assert round(sit_well.confidence, 2) != round(off.confidence, 2)
    backing = "3 of 3 windows where the other instruments and the vocals both play agree"
    assert (sit_well.backing, off.backing) == ("3 of 3 windows agree", backing)
    expected = (f"the drums and bass sit well {sit_well.confidence:.0%} (3 of 3 windows agree); the other "
                f"instruments are much too loud {off.confidence:.0%} ({backing})")
    assert confidence_line(render_text(advice, "chosen", ())) == f"Confidence: {expected}"
    assert f"- Confidence: {expected}" in advice_markdown(advice)
    # the agreement alone (the app's status bar, the session) names each claim before its windows
    assert advice.agreement == f"the drums and bass sit well: 3 of 3 windows agree; the other instruments are " \
                               f"much too loud: {backing}"
    data = json.loads(advice_json_text(advice))
    assert [(c["claim"], c["confidence"]) for c in data["claims"]] == [
        ("the drums and bass sit well", round(sit_well.confidence, 3)),
        ("the other instruments are much too loud", round(off.confidence, 3))]
    assert data["confidence"] == round(sit_well.confidence, 3)
    back = advice_from_dict(advice_to_dict(advice))
    assert back.claims == advice.claims and advice_to_json(back) == advice_to_json(advice)


def test_an_unsure_sit_well_is_worded_as_a_guess_and_its_pairs_count_the_windows_in_band(tmp_path):
    # each of drums and bass is 4.5 LU over in one window and in band over the song; the keys 9 LU over
    folder = noise_song(tmp_path / "s", db={"other": 9.0})
    boost(folder, "Drums.wav", 0, 10, 4.5)
    boost(folder, "Bass.wav", 10, 20, 4.5)
    advice = judge(folder)
    pairs = {p.role: p for p in advice.pairs}
    for role in ("drums", "bass"):  # in band: the windows agreeing with "in band" are the two in band
        p = pairs[role]
        assert p.suggestion is None and abs(p.deviation_lu) < 3.0
        assert (p.agreeing, p.compared, p.agreement) == (2, 3, pytest.approx(2 / 3))
    assert advice.confidence < 0.5  # one window in three judged balanced
    assert advice.text.startswith("Against the vocals, the drums and bass seem to sit well, but the measurement "
                                  "is not conclusive. The other instruments are much too loud")
    assert confidence_line(render_text(advice, "chosen", ())).startswith(
        f"Confidence: the drums and bass seem to sit well {advice.confidence:.0%}, tentative (1 of 3 windows agree)")


def test_a_pair_in_band_counts_its_windows_in_band_as_agreeing(tmp_path):
    advice = judge(noise_song(tmp_path / "s"))
    assert advice.primary is None and advice.suggestions == ()
    for p in advice_to_json(advice)["pairs"]:
        assert (p["agreeing"], p["compared"], p["agreement"]) == (3, 3, 1.0), p


def test_a_flagged_pair_still_counts_its_windows_out_of_band_that_way_and_caps_its_confidence(tmp_path):
    folder = noise_song(tmp_path / "s", db={"drums": 9.0})
    boost(folder, "Drums.wav", 0, 10, -9.0)  # the first window in band: 2 of 3 agree with "too loud"
    advice = judge(folder)
    drums = next(p for p in advice.pairs if p.role == "drums")
    assert drums.suggestion.direction == "decrease" and (drums.agreeing, drums.compared) == (2, 3)
    assert drums.suggestion.confidence == pytest.approx(min(drums.probability, 2 / 3))
    assert advice.agreement == "2 of 3 windows where the drums and the vocals both play agree"


def sparse_drums(folder: Path, seconds: float = 30.0, hits_until: float = 30.0, full_until: float = 0.0) -> Path:
    """Loud drum hits of 0.3 s once every 10 s (3 % of each window: below the activity gate) after
    ``full_until`` s, playing throughout before it."""
    drums, sr = sf.read(folder / "Drums.wav", dtype="float32")
    keep = np.zeros(len(drums), dtype=bool)
    keep[:int(full_until * sr)] = True
    for t in np.arange(full_until, hits_until, 10.0):
        keep[int(t * sr):int((t + 0.3) * sr)] = True
    drums[~keep] = 0.0
    sf.write(folder / "Drums.wav", drums * np.float32(4.0), sr, subtype="FLOAT")
    return folder


def test_a_role_that_barely_plays_is_not_called_silent(tmp_path):
    folder = sparse_drums(noise_song(tmp_path / "s", plays={"vocals": (0, 0)}))
    advice = judge(folder, anchor=None)
    assert advice.anchor == "bass"
    assert advice.anchor_reason == ("default: vocals silent in the judged span; drums barely play in the judged "
                                    "span (in under 20% of each 10 s window), so bass")
    with pytest.raises(RoleError) as chosen:
        judge(folder, anchor="drums")
    assert "The anchor role 'drums' barely plays in the judged span (0:00.0–0:30.0: in under 20% of each 10 s " \
           "window)" in str(chosen.value) and "silent" not in str(chosen.value)


def test_a_pair_note_says_why_windows_were_skipped_without_calling_a_role_silent(tmp_path):
    folder = sparse_drums(noise_song(tmp_path / "s"), full_until=20.0)
    advice = judge(folder)
    note = next(f.message for f in advice.findings if f.message.startswith("drums vs vocals: judged over"))
    assert note == ("drums vs vocals: judged over 2 window(s) where both play; 1 skipped (in each, one of them is "
                    "silent or plays in under 20% of it).")


def test_the_header_names_the_judged_span_and_the_timeline_every_window_left_out(tmp_path):
    # the vocals (the anchor) rest after 20 s; the song runs 35 s and 0-30 s is judged
    folder = noise_song(tmp_path / "s", seconds=35.0, plays={"vocals": (0, 20)})
    advice = judge(folder, span=(0.0, 30.0))
    assert advice.span == (0.0, 30.0) and [v.window.start_s for v in advice.windows] == [0.0, 10.0]
    text = render_text(advice, "chosen", ())
    assert text.splitlines()[0].startswith("MixingBuddy critique — 4 tracks, 22.05 kHz, 0:35.0, judged "
                                           "0:00.0–0:30.0 — anchor: vocals")
    assert "  Timeline (2 window(s), 1 left out):" in text
    assert "    0:20.0–0:30.0  not judged, left out: the vocals (the anchor) are silent there" in text
    data = advice_to_json(advice)
    assert data["span"] == [0.0, 30.0]
    assert data["windows_left_out"] == [{"start_s": 20.0, "end_s": 30.0,
                                         "reason": "the vocals (the anchor) are silent there", "read": []}]
    assert "| 20–30 s | not judged: the vocals (the anchor) are silent there |" in advice_markdown(advice)
    assert advice_from_dict(advice_to_dict(advice)).left_out == advice.left_out
    # the whole song: no span in the header, and the tail shorter than a window is said, not dropped
    whole = render_text(judge(folder), "chosen", ())
    assert ", judged" not in whole.splitlines()[0]
    assert "0:20.0–0:30.0  not judged, left out: the vocals (the anchor) are silent there" in whole
    assert "0:30.0–0:35.0  not judged, left out: the end of the span, shorter than one 10 s window" in whole


def test_runs_of_windows_left_out_for_one_reason_share_a_line(tmp_path):
    folder = noise_song(tmp_path / "s", seconds=50.0, plays={"vocals": (30, 50)})
    text = render_text(judge(folder), "chosen", ())
    assert "    0:00.0–0:30.0  not judged, left out: the vocals (the anchor) are silent there (3 windows)" in text
    assert "Timeline (2 window(s), 3 left out):" in text


def test_a_run_left_out_says_in_how_many_of_its_windows_an_indirect_reading_was_measured():
    from model.advice.report import left_out_runs, left_out_words
    from model.advice.types import WindowLeftOut

    why = "the vocals (the anchor) are silent there"
    left = [WindowLeftOut(0.0, 10.0, why), WindowLeftOut(10.0, 20.0, why, ("bass vs drums",)),
            WindowLeftOut(20.0, 30.0, why, ("bass vs drums",)), WindowLeftOut(40.0, 50.0, why, ("bass vs drums",))]
    runs = left_out_runs(left)
    assert [(w.start_s, w.end_s, n) for w, n, _reads in runs] == [(0.0, 30.0, 3), (40.0, 50.0, 1)]
    assert [left_out_words(*run) for run in runs] == [
        why + " (3 windows; bass vs drums read in 2 of them, for an indirect reading)",
        why + " (bass vs drums read there, for an indirect reading)"]
    assert left_out_words(*left_out_runs(left[1:3])[0]) == why + " (2 windows; bass vs drums read in each, for an " \
        "indirect reading)"


def test_a_tentative_suggestion_every_window_backs_says_the_profile_spread_holds_it_back(tmp_path):
    # the drums 7 LU over in every window: with a narrow profile it is sure; with songs 7 LU apart it is tentative,
    # and the line says why (the windows alone would read as sure)
    folder = noise_song(tmp_path / "s", db={"drums": 7.0})
    sure, tentative = judge(folder, spread=1.0), judge(folder, spread=7.0)
    assert sure.primary.confidence >= 0.8 and "differ by" not in sure.agreement
    assert tentative.primary.role == "drums" and tentative.primary.confidence < 0.5
    assert tentative.agreement == ("3 of 3 windows where the drums and the vocals both play agree, but finished "
                                   "songs of this kind differ by about 7 LU on this pair, so it stays tentative")
    assert tentative.agreement in confidence_line(render_text(tentative, "chosen", ()))
    pair = next(p for p in advice_to_json(tentative)["pairs"] if p["role"] == "drums")
    assert pair["spread_lu"] == 7.0
    assert advice_from_dict(advice_to_dict(tentative)).pairs == tentative.pairs   # a saved session keeps it


def test_no_spread_caveat_when_a_cap_not_the_profile_holds_the_confidence_back(tmp_path):
    # a window where the drums are not over: fewer windows agree, and the agreement caps the confidence
    folder = noise_song(tmp_path / "s", db={"drums": 7.0})
    boost(folder, "Drums.wav", 0.0, 20.0, -7.0)
    advice = judge(folder, spread=1.0)
    assert advice.primary is not None and advice.primary.role == "drums" and advice.primary.confidence < 0.5
    assert "differ by" not in advice.agreement
