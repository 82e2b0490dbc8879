"""The text contract: template rules, exact round trip, and full marks under both scorers' rules."""

import itertools
import re

import pytest

from model.advice.types import parse_response, verdict_from_text
from model.audio.segments import Window
from model.advice.keywords import DECREASE_KEYWORDS, INCREASE_KEYWORDS, read_keywords
from model.advice.templates import (CATEGORIES, CORRECTION_RANGE_DB, DIRECTION, ERROR_CATEGORIES, INSTRUCTIONS, RESPONSES,
                             render_instruction, render_response)

TARGETS = ("vocals", "drums", "bass")
ERROR_CASES = list(itertools.product(ERROR_CATEGORIES, TARGETS, range(10)))


def test_pool_sizes():
    assert len(INSTRUCTIONS) == 10
    assert all(len(RESPONSES[c]) == 10 for c in CATEGORIES)
    assert len({t for c in CATEGORIES for t in RESPONSES[c]}) == 50


@pytest.mark.parametrize("category,target,variant", ERROR_CASES)
def test_round_trip_is_exact(category, target, variant):
    text = render_response(category, target, variant)
    parsed = parse_response(text)
    lo, hi = CORRECTION_RANGE_DB[category]
    assert (parsed.status, parsed.target, parsed.direction, parsed.category) == ("error", target, DIRECTION[category], category)
    assert (parsed.min_db, parsed.max_db, parsed.exact) == (lo, hi, True)
    assert parsed.template_id == f"{category}/{variant}"


@pytest.mark.parametrize("variant", range(10))
def test_no_error_round_trip(variant):
    parsed = parse_response(render_response("no_error", None, variant))
    assert parsed.status == "balanced" and parsed.exact


@pytest.mark.parametrize("category,target,variant", ERROR_CASES)
def test_error_answers_follow_the_rules(category, target, variant):
    text = render_response(category, target, variant)
    lower = text.lower()
    others = [s for s in ("vocals", "drums", "bass", "other") if s != target]
    assert not any(re.search(rf"\b{s}\b", lower) for s in others), "names only the target"
    numbers = re.findall(r"\d+", text)
    lo, hi = CORRECTION_RANGE_DB[category]
    assert numbers == [str(lo), str(hi)], "one integer range, low bound first"
    assert text.endswith(".") and "!" not in text and "?" not in text
    assert not re.search(r"\d\.\d", text), "no decimal point that the scorer would split on"
    if DIRECTION[category] == "increase":
        assert "louder" not in lower and not any(k in lower for k in DECREASE_KEYWORDS)
    else:
        assert "quieter" not in lower and not any(k in lower for k in INCREASE_KEYWORDS)


@pytest.mark.parametrize("variant", range(10))
def test_no_error_answers_name_no_stem_and_no_direction(variant):
    lower = render_response("no_error", None, variant).lower()
    assert not any(re.search(rf"\b{s}\b", lower) for s in ("vocals", "drums", "bass", "other"))
    assert not any(k in lower for k in INCREASE_KEYWORDS + DECREASE_KEYWORDS)


@pytest.mark.parametrize("whole_word", [False, True], ids=["paper", "strict"])
@pytest.mark.parametrize("category,target,variant", ERROR_CASES)
def test_every_answer_reads_right_under_both_scorers(whole_word, category, target, variant):
    text = render_response(category, target, variant)
    reading = read_keywords(text, whole_word=whole_word)
    assert not reading.contradiction
    assert (reading.stem, reading.direction) == (target, DIRECTION[category])
    assert reading.magnitude == tuple(float(x) for x in CORRECTION_RANGE_DB[category])


@pytest.mark.parametrize("whole_word", [False, True], ids=["paper", "strict"])
@pytest.mark.parametrize("variant", range(10))
def test_balanced_answers_read_as_no_error(whole_word, variant):
    reading = read_keywords(render_response("no_error", None, variant), whole_word=whole_word)
    assert reading.direction == "none" and reading.stem is None


def test_severity_wording_differs():
    for mild, strong in (("quiet", "very_quiet"), ("loud", "very_loud")):
        for i in range(10):
            a = render_response(mild, "drums", i).split(".")[0]
            b = render_response(strong, "drums", i).split(".")[0]
            assert a != b


def test_instructions_name_stems_and_anchor():
    for i in range(10):
        text = render_instruction(i, ("vocals", "drums", "bass", "other"), "drums")
        assert "vocals, drums, bass and other" in text and "drums" in text and "{" not in text


def test_unknown_text_is_unparsed_never_guessed():
    for text in ("", "I like this song a lot", "Turn it all up to eleven", "The drums are too loud, and the drums need a boost"):
        assert parse_response(text).status == "unparsed"


def test_fallback_reads_free_text_inexactly():
    parsed = parse_response("Honestly the bass is too loud; reduce it by 3 to 6 dB")
    assert (parsed.status, parsed.target, parsed.direction, parsed.category, parsed.exact) == (
        "error", "bass", "decrease", "loud", False)


def test_unparsed_answer_becomes_an_unparsed_verdict():
    v = verdict_from_text(Window(0, 10), "la la la")
    assert v.category == "unparsed" and v.target is None
