"""Advice types and the text contract: render answers, parse them back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Mapping

from model.advice.keywords import read_keywords
from model.audio.findings import Finding
from model.audio.segments import Window
from model.audio.roles import TARGET_ROLES, TRACK_ANCHOR
from model.advice.templates import CORRECTION_RANGE_DB, DIRECTION, RESPONSES, render_response, render_tentative

Direction = Literal["increase", "decrease", "none"]
#: Advice below this confidence is worded as tentative and never names the 6-12 dB correction.
TENTATIVE_BELOW = 0.5


@dataclass(frozen=True)
class ParsedAnswer:
    """An answer read back: ``status`` is "error", "balanced" or "unparsed"."""

    status: Literal["error", "balanced", "unparsed"]
    target: str | None = None
    direction: Direction = "none"
    category: str | None = None
    min_db: float | None = None
    max_db: float | None = None
    template_id: str | None = None
    exact: bool = False


@dataclass(frozen=True)
class WindowVerdict:
    """One window's verdict. ``direction`` is "none" for balanced; ``category`` "unparsed" when unreadable."""

    window: Window
    target: str | None
    direction: Direction
    category: str
    min_db: float | None
    max_db: float | None
    text: str
    measured_lu: Mapping[str, float] | None = None
    exact: bool = True
    delta_db: float | None = None  # the advisor's own signed correction, when it measures one

    @property
    def judged_no_role(self) -> bool:
        """Measured, but only the other instruments (or nothing) played beside the anchor: nothing to flag."""
        return self.measured_lu is not None and not set(self.measured_lu) - {"other"}


#: The finding that says another profile would judge a confident verdict otherwise (shown with the headline).
PROFILE_DECIDES = "profile_decides"


@dataclass(frozen=True)
class RoleGain:
    """A suggested gain change for a role: signed ``delta_db`` and the magnitude range."""

    role: str
    direction: Direction
    category: str
    min_db: float
    max_db: float
    delta_db: float
    confidence: float


@dataclass(frozen=True)
class Claim:
    """One claim of the headline, how sure it is and what backs it.

    A headline that says two things ("the drums and bass sit well" and "the other instruments may be a little
    too quiet") has one claim each, so a confidence is never read as the other claim's.
    """

    claim: str          # "the drums and bass sit well", "the other instruments may be a little too quiet"
    confidence: float
    backing: str = ""   # the windows behind it, e.g. "3 of 4 windows where the other instruments and the vocals
                        # both play agree" ("" when none are counted)


@dataclass(frozen=True)
class WindowLeftOut:
    """A window of the judged span that no verdict covers, and why (e.g. the anchor barely plays there)."""

    start_s: float
    end_s: float
    reason: str
    #: The legs of indirect readings measured there all the same ("bass vs drums": the bass never plays with the
    #: anchor, so it is read against the drums wherever those two play, PairJudgement.legs).
    read: tuple[str, ...] = ()


@dataclass(frozen=True)
class Advice:
    """The song-level advice: primary suggestion (or none), timeline, confidence and findings.

    ``suggestions`` starts with ``primary`` and is empty when there is none (balanced or abstained).
    """

    anchor: str
    primary: RoleGain | None
    suggestions: tuple[RoleGain, ...]
    windows: tuple[WindowVerdict, ...]
    confidence: float
    abstained: bool
    text: str
    advisor_id: str
    findings: tuple[Finding, ...] = ()
    measurements: Mapping = field(default_factory=dict)
    agreement: str = ""    # how many windows agree with the verdict, e.g. "5 of 6 windows agree"
    anchor_reason: str = ""       # why this anchor ("chosen", or which role the default fell back to)
    profile: str | None = None    # the balance profile judged against (None for advisors without one)
    pairs: tuple = ()             # per (role, anchor) pair: windows used and skipped, offset, verdict
    anchor_track: str | None = None  # the id of the one track judged against (the lead vocal), else None
    #: The headline's claims, each with its own confidence and backing: two when it says the main roles sit well
    #: and the other instruments are off (``confidence`` is then the first one's, and ``agreement`` names each
    #: claim before its windows); () when it makes one claim (``confidence`` and ``agreement`` are that one's).
    claims: tuple[Claim, ...] = ()
    span: tuple[float, float] | None = None  # the judged span (s) when one was asked for, else None (the song)
    left_out: tuple[WindowLeftOut, ...] = ()  # the span's windows that no verdict covers, and why
    contrast_profile: str | None = None  # the profile the profile note names (it would judge this song otherwise)

    @property
    def doctor_findings(self) -> tuple[Finding, ...]:
        """The findings listed as warnings: all but the profile note, which is shown with the headline."""
        return tuple(f for f in self.findings if f.code != PROFILE_DECIDES)

    @property
    def profile_note(self) -> str:
        """What another profile would say where it disagrees with a confident verdict ("" when none does)."""
        return next((f.message for f in self.findings if f.code == PROFILE_DECIDES), "")

    @property
    def judged_anchor(self) -> str:
        """What each role was measured against: the anchor role, or the lead-vocal track's pseudo-role."""
        return TRACK_ANCHOR if self.anchor_track else self.anchor


# --- parsing -----------------------------------------------------------------

_PLACEHOLDER_RE = {
    "stem": r"(?P<stem>" + "|".join(TARGET_ROLES) + ")",
    "be": r"(?:is|are)",
    "obj": r"(?:it|them)",
    "subj": r"(?:it|they)",
    "lo": r"(?P<lo>\d+(?:\.\d+)?)",
    "hi": r"(?P<hi>\d+(?:\.\d+)?)",
}


def _compile_template(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", template)
    out: list[str] = []
    seen: set[str] = set()
    for part in parts:
        m = re.fullmatch(r"\{(\w+)\}", part)
        if m:
            name = m.group(1)
            pat = _PLACEHOLDER_RE[name]
            if name in seen and "?P<" in pat:  # a repeated named group: back-reference it
                pat = f"(?P={name})"
            seen.add(name)
            out.append(pat)
        else:
            out.append(r"\s+".join(re.escape(w) for w in part.split(" ")) if part.strip() else re.escape(part))
    return re.compile("".join(out), re.IGNORECASE)


@lru_cache(maxsize=1)
def _compiled_pool() -> tuple[tuple[str, int, re.Pattern[str]], ...]:
    return tuple(
        (category, i, _compile_template(t))
        for category, pool in RESPONSES.items()
        for i, t in enumerate(pool)
    )


def category_for(direction: str, low: float, high: float) -> str | None:
    """The paper category whose correction range is exactly (low, high) in that direction."""
    for category, (lo, hi) in CORRECTION_RANGE_DB.items():
        if DIRECTION[category] == direction and abs(lo - low) < 1e-6 and abs(hi - high) < 1e-6:
            return category
    return None


def parse_response(text: str) -> ParsedAnswer:
    """Read an answer back into (target, direction, range) or balanced; never guesses.

    Exact template matches give ``exact=True``; otherwise the strict scorer's keyword
    rules are tried (``exact=False``); anything else is "unparsed".
    """
    clean = " ".join((text or "").split())
    for category, i, pattern in _compiled_pool():
        m = pattern.fullmatch(clean)
        if not m:
            continue
        template_id = f"{category}/{i}"
        if category == "no_error":
            return ParsedAnswer("balanced", template_id=template_id, exact=True)
        low, high = float(m.group("lo")), float(m.group("hi"))
        direction = DIRECTION[category]
        exact_range = CORRECTION_RANGE_DB[category] == (low, high)
        cat = category if exact_range else (category_for(direction, low, high) or category)
        return ParsedAnswer("error", m.group("stem").lower(), direction, cat, low, high, template_id, exact_range)
    reading = read_keywords(clean, whole_word=True)
    if reading.contradiction or reading.direction is None:
        return ParsedAnswer("unparsed")
    if reading.direction == "none":
        return ParsedAnswer("balanced", exact=False)
    if reading.stem not in TARGET_ROLES:
        return ParsedAnswer("unparsed")
    low = high = None
    category = None
    if reading.magnitude:
        low, high = reading.magnitude
        category = category_for(reading.direction, low, high)
    return ParsedAnswer("error", reading.stem, reading.direction, category, low, high, None, False)  # type: ignore[arg-type]


def verdict_from_text(window: Window, text: str) -> WindowVerdict:
    """Turn a model answer for one window into a WindowVerdict (unparsed answers kept as such)."""
    parsed = parse_response(text)
    if parsed.status == "balanced":
        return WindowVerdict(window, None, "none", "no_error", None, None, text, exact=parsed.exact)
    if parsed.status == "unparsed":
        return WindowVerdict(window, None, "none", "unparsed", None, None, text, exact=False)
    # Direction and stem known but no paper range: the milder category of that direction.
    category = parsed.category or ("quiet" if parsed.direction == "increase" else "loud")
    return WindowVerdict(window, parsed.target, parsed.direction, category, parsed.min_db, parsed.max_db, text,
                         exact=parsed.exact)


def advice_sentence(primary: RoleGain | None, abstained: bool = False, variant: int = 0,
                    confidence: float = 1.0) -> str:
    """The sentence shown to the user for a song-level verdict; below 50 % confidence it is tentative."""
    if abstained:
        return "No confident issue: the windows disagree, so no change is suggested."
    if primary is None:
        if confidence < TENTATIVE_BELOW:
            return ("No role is clearly out of balance, but the measurement is not conclusive: listen before "
                    "leaving the faders where they are.")
        return render_response("no_error", None, variant)
    if primary.confidence < TENTATIVE_BELOW:
        return render_tentative(primary.category, primary.role)
    return render_response(primary.category, primary.role, variant)
