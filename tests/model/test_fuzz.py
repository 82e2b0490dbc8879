"""Property tests: the parser and the role guesser never raise and stay inside their allowed sets."""

from hypothesis import given, settings, strategies as st

from model.advice.types import parse_response
from model.audio.roles import ROLES, guess_role
from model.advice.templates import CATEGORIES, render_response

WORDS = st.sampled_from(["the", "vocals", "drums", "bass", "other", "too", "loud", "quiet", "louder", "quieter",
                         "raise", "lower", "by", "to", "between", "and", "dB", "3", "6", "12", "-4", "9.5", "balanced",
                         "no", "changes", ".", "!", "?", ",", "is", "are", "them", "it", "up", "down", "boost", "cut"])


def check(parsed):
    assert parsed.status in ("error", "balanced", "unparsed")
    if parsed.status == "error":
        assert parsed.target in ("vocals", "drums", "bass")
        assert parsed.direction in ("increase", "decrease")
        assert parsed.category in CATEGORIES or (parsed.category is None and not parsed.exact)
    else:
        assert parsed.target is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parser_survives_any_text(text):
    check(parse_response(text))


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, max_size=25).map(" ".join))
def test_parser_survives_answer_like_word_salad(text):
    check(parse_response(text))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["quiet", "very_quiet", "loud", "very_loud"]), st.sampled_from(["vocals", "drums", "bass"]),
       st.integers(0, 9), st.sampled_from(["", "  ", "\n", " Thanks"]))
def test_whitespace_and_trailing_words_never_change_the_reading(category, target, variant, suffix):
    text = render_response(category, target, variant)
    parsed = parse_response(text.replace(" ", "  ") + suffix)
    assert parsed.status == "error" and parsed.target == target


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120))
def test_role_guesser_survives_any_name(name):
    guess = guess_role(name)
    assert guess.role in ROLES and guess.source in ("name", "default")
