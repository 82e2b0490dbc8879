"""Our own prompt and answer pools (the text contract), versioned by TEMPLATE_VERSION.

Rules (tested for every category x target x variant): an error answer
names only the target, holds one integer range with the low bound first, puts the
target and a direction keyword in the same sentence, never uses "louder" in an
increase answer or "quieter" in a decrease answer, and balanced answers name no
stem and no direction. Placeholders: {stem} {be} (is/are) {obj} (it/them)
{subj} (it/they) {lo} {hi}.
"""

from __future__ import annotations

from typing import Literal

TEMPLATE_VERSION = "mb-1"

Category = Literal["very_quiet", "quiet", "no_error", "loud", "very_loud"]
CATEGORIES: tuple[Category, ...] = ("very_quiet", "quiet", "no_error", "loud", "very_loud")
ERROR_CATEGORIES: tuple[Category, ...] = ("very_quiet", "quiet", "loud", "very_loud")

#: Gain applied to the target in the synthetic data (dB) for each category.
GAIN_RANGE_DB: dict[str, tuple[float, float]] = {
    "very_quiet": (-12.0, -6.0),
    "quiet": (-6.0, -3.0),
    "no_error": (0.0, 0.0),
    "loud": (3.0, 6.0),
    "very_loud": (6.0, 12.0),
}
#: The correction stated in answers: a magnitude range (low, high) in dB.
CORRECTION_RANGE_DB: dict[str, tuple[int, int]] = {
    "very_quiet": (6, 12),
    "quiet": (3, 6),
    "loud": (3, 6),
    "very_loud": (6, 12),
}
DIRECTION: dict[str, str] = {
    "very_quiet": "increase",
    "quiet": "increase",
    "no_error": "none",
    "loud": "decrease",
    "very_loud": "decrease",
}

SYSTEM_PROMPT = (
    "You are an experienced mixing engineer. You listen to a short segment of a mix and give "
    "gain-balance advice: which stem is off, in which direction, and by roughly how many dB."
)

INSTRUCTIONS: tuple[str, ...] = (
    "Listen to this {duration_sec}-second mix of {stems_present}. The level of the {anchor_stem} is right. "
    "Which stem needs a gain change, and by how much?",
    "Here is a {duration_sec}-second excerpt containing {stems_present}. Using the {anchor_stem} as the reference, "
    "tell me which stem to adjust and by how many dB.",
    "This {duration_sec} s clip has {stems_present}. Take the {anchor_stem} as correctly levelled and judge the balance "
    "of the rest. What should change?",
    "Analyse the level balance of this {duration_sec}-second mix ({stems_present}). The {anchor_stem} level is correct. "
    "Which stem, if any, should be turned up or down, and by how much?",
    "The stems in this {duration_sec}-second segment are {stems_present}. Keeping the {anchor_stem} fixed as the anchor, "
    "identify the stem whose gain is off and suggest a correction in dB.",
    "Please review this {duration_sec}-second mix made of {stems_present}. Assume the {anchor_stem} level is where it should be. "
    "Is any stem too quiet or too loud, and by how much?",
    "Mix check: {duration_sec} seconds with {stems_present}. Reference stem: {anchor_stem}. Which stem needs a fader move, "
    "and what range in dB would fix it?",
    "You hear {stems_present} in this {duration_sec}-second clip. Relative to the {anchor_stem}, which stem is out of balance, "
    "and how many dB should it move?",
    "Evaluate the gain balance of this {duration_sec}-second mix containing {stems_present}, with the {anchor_stem} as the "
    "level reference. Name the stem to adjust and the amount.",
    "In this {duration_sec}-second mix ({stems_present}) the {anchor_stem} level is right. Suggest which stem to change "
    "and by how many dB, or say that no change is needed.",
)

RESPONSES: dict[str, tuple[str, ...]] = {
    "quiet": (
        "The {stem} {be} a little too quiet. Raise {obj} by {lo} to {hi} dB.",
        "The {stem} {be} slightly quiet in the mix. Bring {obj} up by {lo} to {hi} dB.",
        "The {stem} {be} somewhat quiet. Increase {obj} by between {lo} and {hi} dB.",
        "Slightly boost the {stem}, which {be} a touch quiet, by {lo} to {hi} dB.",
        "The {stem} could come up a little: raise {obj} by {lo} to {hi} dB.",
        "The {stem} {be} just under the level {subj} should have. Increase the {stem} by {lo} to {hi} dB.",
        "The {stem} could use a small boost of {lo} to {hi} dB.",
        "The {stem} {be} slightly too low in the balance. Add {lo} to {hi} dB to {obj}.",
        "The {stem} {be} sitting a little low. Bring {obj} up by {lo} to {hi} dB.",
        "Turn the {stem} up slightly, by {lo} to {hi} dB, as {subj} {be} a bit quiet.",
    ),
    "very_quiet": (
        "The {stem} {be} far too quiet. Raise {obj} by {lo} to {hi} dB.",
        "The {stem} {be} barely audible. Boost {obj} by {lo} to {hi} dB.",
        "The {stem} {be} buried and much too quiet. Increase {obj} by between {lo} and {hi} dB.",
        "The {stem} {be} almost inaudible in this mix. Bring {obj} up by {lo} to {hi} dB.",
        "The {stem} {be} way too low. Add {lo} to {hi} dB of gain to {obj}.",
        "The {stem} {be} nearly inaudible. A strong boost of {lo} to {hi} dB is needed.",
        "The {stem} could use a big boost of {lo} to {hi} dB.",
        "The {stem} {be} lost in the mix and far too quiet. Raise {obj} by {lo} to {hi} dB.",
        "Boost the {stem} heavily, by {lo} to {hi} dB, as {subj} {be} barely audible.",
        "The {stem} {be} much too quiet to be heard properly. Increase {obj} by {lo} to {hi} dB.",
    ),
    "loud": (
        "The {stem} {be} a little too loud. Lower {obj} by {lo} to {hi} dB.",
        "The {stem} {be} slightly loud in the mix. Bring {obj} down by {lo} to {hi} dB.",
        "The {stem} {be} somewhat loud. Reduce {obj} by between {lo} and {hi} dB.",
        "Slightly reduce the {stem}, which {be} a touch loud, by {lo} to {hi} dB.",
        "The {stem} could come down a little: lower {obj} by {lo} to {hi} dB.",
        "The {stem} {be} a bit too high in the balance. Pull {obj} down by {lo} to {hi} dB.",
        "The {stem} should be lower by {lo} to {hi} dB.",
        "The {stem} {be} slightly too high in the mix. Turn {obj} down by {lo} to {hi} dB.",
        "The {stem} {be} sitting a little high. Lower {obj} by {lo} to {hi} dB.",
        "Turn the {stem} down slightly, by {lo} to {hi} dB, as {subj} {be} a bit loud.",
    ),
    "very_loud": (
        "The {stem} {be} far too loud. Lower {obj} by {lo} to {hi} dB.",
        "The {stem} {be} overpowering the mix. Cut {obj} by {lo} to {hi} dB.",
        "The {stem} {be} much too loud. Reduce {obj} by between {lo} and {hi} dB.",
        "The {stem} {be} dominating the mix. Bring {obj} down by {lo} to {hi} dB.",
        "The {stem} {be} way too high. Take {lo} to {hi} dB off {obj}.",
        "The {stem} {be} excessively loud. A strong cut of {lo} to {hi} dB is needed.",
        "The {stem} should be much lower, by {lo} to {hi} dB.",
        "The {stem} {be} drowning out the mix and far too loud. Lower {obj} by {lo} to {hi} dB.",
        "Reduce the {stem} heavily, by {lo} to {hi} dB, as {subj} {be} overwhelming.",
        "The {stem} {be} much too loud and dominating. Decrease {obj} by {lo} to {hi} dB.",
    ),
    "no_error": (
        "The mix is well-balanced. No changes are needed.",
        "All stems sit at the correct level. No adjustments are necessary.",
        "The balance is correct as it is. Nothing needs to move.",
        "Every element is properly balanced. Leave the faders where they are.",
        "The levels are correct. No adjustments required.",
        "This mix is balanced, so no modifications are needed.",
        "Nothing needs to change: the balance is good.",
        "The stems are correctly balanced. Keep the current gains.",
        "All stems are at proper levels, and no changes are required.",
        "The gain balance is right. No adjustments needed.",
    ),
}

# Grammar per stem: "the bass is / it", "the drums are / them".
_GRAMMAR: dict[str, dict[str, str]] = {
    "vocals": {"be": "are", "obj": "them", "subj": "they"},
    "drums": {"be": "are", "obj": "them", "subj": "they"},
    "bass": {"be": "is", "obj": "it", "subj": "it"},
    "other": {"be": "are", "obj": "them", "subj": "they"},
}


def stem_grammar(stem: str) -> dict[str, str]:
    """The words that agree with a stem: {"be": "is"/"are", "obj": "it"/"them", "subj": "it"/"they"}."""
    return _GRAMMAR.get(stem, _GRAMMAR["other"])


def stems_phrase(stems: list[str] | tuple[str, ...]) -> str:
    """'vocals, drums, bass and other' (an English list)."""
    items = list(stems)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def render_instruction(variant: int, stems_present: tuple[str, ...] | list[str], anchor: str,
                       duration_sec: float = 10.0) -> str:
    """The user instruction for one clip (variant 0..9)."""
    duration = f"{duration_sec:g}"
    return INSTRUCTIONS[variant % len(INSTRUCTIONS)].format(
        duration_sec=duration, stems_present=stems_phrase(stems_present), anchor_stem=anchor
    )


def render_response(category: str, target: str | None = None, variant: int = 0) -> str:
    """The answer sentence for a category, a target stem and a variant (0..9)."""
    pool = RESPONSES[category]
    template = pool[variant % len(pool)]
    if category == "no_error":
        return template
    if target is None:
        raise ValueError("an error answer needs a target stem")
    lo, hi = CORRECTION_RANGE_DB[category]
    return template.format(stem=target, lo=lo, hi=hi, **_GRAMMAR[target])


def render_tentative(category: str, target: str) -> str:
    """A hedged answer for advice below 50 % confidence: "may be", "if so", never "far too"."""
    lo, hi = CORRECTION_RANGE_DB[category]
    g = _GRAMMAR[target]
    if DIRECTION[category] == "decrease":
        return (f"The {target} may be a little too loud. If so, lower {g['obj']} by {lo} to {hi} dB "
                f"and listen again; the measurement alone is not conclusive.")
    return (f"The {target} may be a little too quiet. If so, raise {g['obj']} by {lo} to {hi} dB "
            f"and listen again; the measurement alone is not conclusive.")
