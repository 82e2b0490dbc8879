"""Every serialisation of advice, Qt-free: the public JSON, the CLI's text, Markdown and CSV exports,
the session dict (advice <-> dict) and the re-check verdict, plus the clock and dB formatting they share.

The JSON field names (schema ``mixingbuddy.advice/1``) are a contract users read: they never change here.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from dataclasses import asdict
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from model.advice.balance import PairJudgement
from model.advice.templates import stem_grammar, stems_phrase
from model.advice.types import TENTATIVE_BELOW, Advice, Claim, RoleGain, WindowLeftOut, WindowVerdict
from model.advice.wording import Party
from model.audio.findings import Finding, listed
from model.audio.roles import ROLES, TARGET_ROLES
from model.audio.segments import Window

SCHEMA = "mixingbuddy.advice/1"
ARROWS = {"increase": "up", "decrease": "down", "none": "ok"}


# --- formatting shared by the CLI and the app ------------------------------------------

def _verb(s: RoleGain) -> str:
    return "raise" if s.direction == "increase" else "lower"


def clock(s: float) -> str:
    """Seconds as m:ss.s."""
    return f"{int(s // 60)}:{s % 60:04.1f}"


def fmt_db(x: float | None, signed: bool = False) -> str:
    """A level in dB/LU/LUFS with one decimal; '-inf' for silence, '—' when unknown."""
    if x is None or not math.isfinite(x):
        return "-inf" if x is not None else "—"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


CATEGORY_WORDS = {"quiet": "a little too quiet", "very_quiet": "much too quiet",
                  "loud": "a little too loud", "very_loud": "much too loud"}
# Below TENTATIVE_BELOW a suggestion is worded as a guess ("may be", "if so", "perhaps"): never "probably".


def suggestion_action(s: RoleGain, tentative: bool = False) -> str:
    """What to do about one suggestion: "Lower the drums by 3 to 6 dB" ("Perhaps lower …" when tentative)."""
    verb = _verb(s)
    text = f"{'perhaps ' if tentative else ''}{verb} {Party.role(s.role).words} by {s.min_db:g} to {s.max_db:g} dB"
    return text[0].upper() + text[1:]


def suggestion_claim(s: RoleGain, tentative: bool = False) -> str:
    """What a suggestion claims, without the fix: "the drums are a little too loud" ("may be" when tentative)."""
    what = CATEGORY_WORDS.get(s.category, s.category.replace("_", " "))
    return f"{Party.role(s.role).words} {'may be' if tentative else stem_grammar(s.role)['be']} {what}"


def suggestion_sentence(s: RoleGain, tentative: bool = False) -> str:
    """One suggestion in words: "The drums are a little too loud: lower them by 3 to 6 dB.".

    ``tentative`` words it as a guess: "The drums may be a little too loud: if so, lower them by 3 to 6 dB.".
    """
    claim = suggestion_claim(s, tentative)
    return (f"{claim[0].upper()}{claim[1:]}: {'if so, ' if tentative else ''}{_verb(s)} "
            f"{stem_grammar(s.role)['obj']} by {s.min_db:g} to {s.max_db:g} dB.")


def sit_well_claim(sit_well: Sequence[str], tentative: bool = False) -> str:
    """"the drums and bass sit well", "the bass sits well", "the other instruments sit well": judged roles that
    are in band.

    ``tentative`` (a balanced verdict below 50 %) words it as a guess: "the drums and bass seem to sit well".
    """
    single = len(sit_well) == 1 and stem_grammar(sit_well[0])["be"] == "is"
    verb = ("seems to sit" if single else "seem to sit") if tentative else ("sits" if single else "sit")
    return f"the {stems_phrase(['other instruments' if r == 'other' else r for r in sit_well])} {verb} well"


def balanced_but_sentence(anchor: str, sit_well: Sequence[str], s: RoleGain, confidence: float = 1.0) -> str:
    """The headline when the judged main roles are in band and only a secondary role (other) is off.

    "Against the vocals, the drums and bass sit well. The other instruments are much too loud: lower them …".
    ``confidence`` is the balanced verdict's: below 50 % "sit well" is worded as a guess, as "well-balanced" is.
    """
    said = suggestion_sentence(s, tentative=s.confidence < TENTATIVE_BELOW)
    if not sit_well:
        return f"Against the {anchor}, {said[0].lower()}{said[1:]}"
    if confidence < TENTATIVE_BELOW:
        return (f"Against the {anchor}, {sit_well_claim(sit_well, True)}, but the measurement is not conclusive. "
                f"{said}")
    return f"Against the {anchor}, {sit_well_claim(sit_well)}. {said}"


def finite_json(x: Any) -> Any:
    """JSON-ready copy: NaN/inf -> None, tuples -> lists, mappings -> dicts (strings are never touched)."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, Mapping):
        return {k: finite_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite_json(v) for v in x]
    return x


# --- the public JSON (CLI --json and the app's JSON export) -----------------------------

def advice_to_json(advice: Advice) -> dict:
    """The public JSON contract (schema mixingbuddy.advice/1) for an Advice."""
    return {
        "schema": SCHEMA,
        "anchor": advice.anchor,
        "anchor_track": advice.anchor_track,
        "anchor_reason": advice.anchor_reason,
        "advisor": advice.advisor_id,
        "profile": advice.profile,
        "contrast_profile": advice.contrast_profile,  # the profile the note under the headline names, else None
        "text": advice.text,
        "suggestions": [suggestion_to_json(s) for s in advice.suggestions],  # empty when balanced or abstained
        "confidence": round(advice.confidence, 3),
        "abstained": advice.abstained,
        "measurements": advice.measurements,
        "windows": [
            {"start_s": round(v.window.start_s, 3), "end_s": round(v.window.end_s, 3), "gated": v.window.gated,
             "target": v.target, "direction": v.direction, "category": v.category,
             "min_db": v.min_db, "max_db": v.max_db, "text": no_role_words(advice) if v.judged_no_role else v.text,
             "measured_lu": {k: round(x, 2) for k, x in (v.measured_lu or {}).items()},
             "judged_a_role": not v.judged_no_role}
            for v in advice.windows
        ],
        "pairs": [p.to_json() for p in advice.pairs],
        "claims": [{"claim": c.claim, "confidence": round(c.confidence, 3), "backing": c.backing or None}
                   for c in advice.claims],  # empty when the headline makes one claim (confidence is its)
        "span": None if advice.span is None else [round(x, 3) for x in advice.span],
        "windows_left_out": [{"start_s": round(w.start_s, 3), "end_s": round(w.end_s, 3), "reason": w.reason,
                              "read": list(w.read)} for w in advice.left_out],
        "warnings": [f.to_json() for f in advice.findings],
    }


def suggestion_to_json(s: RoleGain) -> dict:
    """One suggested gain change in the public JSON (the role is called "stem" there)."""
    return {
        "stem": s.role,
        "direction": s.direction,
        "category": s.category,
        "min_db": s.min_db,
        "max_db": s.max_db,
        "delta_db": round(s.delta_db, 2),
        "confidence": round(s.confidence, 3),
    }


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return str(o)


def advice_json_text(advice: Advice) -> str:
    """The JSON export file: the public JSON with NaN/inf as null."""
    return json.dumps(finite_json(advice_to_json(advice)), indent=2, allow_nan=False, default=_json_default) + "\n"


# --- human text (the CLI) -----------------------------------------------------------------

def anchor_name(advice: Advice) -> str:
    """The anchor as the user chose it: a role, or "VOX LEAD.wav, the lead vocal track" for a single track."""
    if not advice.anchor_track:
        return advice.anchor
    names = {t["id"]: t["name"] for t in advice.measurements.get("tracks", ())}
    return f"{names.get(advice.anchor_track, advice.anchor_track)}, the {advice.judged_anchor} track"


def true_peak_lines(m: Mapping) -> list[str]:
    """The true-peak readings (--true-peak): the mix and the highest track; nothing when they were not measured."""
    mix = (m.get("mix") or {}).get("true_peak_db")
    if mix is None:
        return []
    peaks = [(t["true_peak_db"], t["name"]) for t in m.get("tracks", ()) if t.get("true_peak_db") is not None]
    line = f"  True peak: mix {fmt_db(mix, signed=True)} dBTP"
    if peaks:
        top, name = max(peaks)
        line += f"; highest track {name} {fmt_db(top, signed=True)} dBTP"
    if math.isfinite(mix) and mix > 0.0:
        line += " (the mix goes over 0 dBTP: it clips once converted or encoded; lower its level)"
    return ["", line]


def confidence_text(a: Advice, levels: Callable[[float], str] | None = None) -> str:
    """The confidence and what backs it, for the CLI and the Markdown export.

    One claim: "3 of 4 windows agree (75%)". Two (the main roles sit well, the other instruments are off): each
    number after the claim it belongs to, "the drums and bass sit well 86% (2 of 2 judged windows agree); the
    other instruments may be a little too quiet 42%, tentative (3 of 4 windows where … agree)".
    ``levels`` words a confidence's level after the number (default: ", tentative" below 50%).
    """
    level = levels or (lambda c: ", tentative" if c < TENTATIVE_BELOW else "")
    if not a.claims:
        return f"{a.agreement} ({a.confidence:.0%})" if a.agreement else f"{a.confidence:.0%}"
    return "; ".join(f"{c.claim} {c.confidence:.0%}{level(c.confidence)}" + (f" ({c.backing})" if c.backing else "")
                     for c in a.claims)


def span_text(span: tuple[float, float] | None) -> str:
    """The judged span as the CLI takes it: "1:30.0–2:30.0" ("" for the whole song)."""
    return f"{clock(span[0])}–{clock(span[1])}" if span else ""


def no_role_words(a: Advice) -> str:
    """What a window where only the other instruments played beside the anchor says: no main role to judge (the
    other instruments are read over the song, never window by window)."""
    anchor = a.judged_anchor
    beside = " or ".join(r for r in TARGET_ROLES if r not in (anchor, "vocals" if a.anchor_track else anchor))
    return f"not judged (no {beside} beside the {anchor})"


def window_words(a: Advice, v: WindowVerdict) -> str:
    """One window's verdict in the timeline's words: "balanced", "drums down (very loud)" (the main roles only)."""
    return ("unparsed answer" if v.category == "unparsed" else
            no_role_words(a) if v.judged_no_role else
            "balanced" if v.direction == "none" else
            f"{v.target} {ARROWS[v.direction]} ({v.category.replace('_', ' ')})")


def timeline_notes(a: Advice) -> list[str]:
    """What the window verdicts cannot show of the suggestions: the other instruments are read over the span
    (their windows agree, yet no window verdict names them), and a role no window has beside the anchor is
    read through another role."""
    notes = []
    if any(s.role == "other" for s in a.suggestions):
        notes.append("the other instruments are judged over the span, not window by window")
    pairs = {p.role: p for p in a.pairs}
    for s in a.suggestions:
        pair = pairs.get(s.role)
        if pair is not None and pair.via and not pair.reason:
            notes.append(f"no window has the {s.role} beside the {a.anchor}: read through the {' and '.join(pair.via)}")
    return notes


def _timeline(a: Advice) -> list[str]:
    """The timeline's lines: each judged window's verdict, and the windows left out (runs of them with one
    reason on one line), in time order."""
    rows: list[tuple[float, float, str]] = []
    for v in a.windows:
        gate = "" if v.window.gated else "  [below the activity gate]"
        rows.append((v.window.start_s, v.window.end_s, window_words(a, v) + gate))
    for w, n, reads in left_out_runs(a.left_out):
        rows.append((w.start_s, w.end_s, f"not judged, left out: {left_out_words(w, n, reads)}"))
    return [f"    {clock(start)}–{clock(end)}  {what}" for start, end, what in sorted(rows, key=lambda r: r[0])]


def left_out_runs(left_out: Sequence[WindowLeftOut]) -> list[tuple[WindowLeftOut, int, Counter]]:
    """Neighbouring windows left out for one reason, each run as one span with how many windows it holds and in
    how many each leg of an indirect reading was measured (``WindowLeftOut.read``)."""
    runs: list[tuple[WindowLeftOut, int, Counter]] = []
    for w in sorted(left_out, key=lambda w: w.start_s):
        if runs and runs[-1][0].reason == w.reason and abs(runs[-1][0].end_s - w.start_s) < 1e-6:
            first, n, reads = runs[-1]
            runs[-1] = (WindowLeftOut(first.start_s, w.end_s, w.reason, tuple(dict.fromkeys(first.read + w.read))),
                        n + 1, reads + Counter(w.read))
        else:
            runs.append((w, 1, Counter(w.read)))
    return runs


def left_out_words(run: WindowLeftOut, n: int, reads: Counter) -> str:
    """A run of left-out windows in words: "the vocals (the anchor) are silent there (18 windows; bass vs drums
    read in 6 of them, for an indirect reading)"."""
    legs = [f"{leg} read " + ("there" if n == 1 else "in each" if k == n else f"in {k} of them")
            for leg, k in reads.items()]
    said = ([f"{n} windows"] if n > 1 else []) + ([", ".join(legs) + ", for an indirect reading"] if legs else [])
    return run.reason + (f" ({'; '.join(said)})" if said else "")


def not_judged(advice: Advice, role: str) -> bool:
    """Whether the critique could not judge ``role`` against the anchor (they never play together in the span, or
    too little), so it says nothing of it: the table's "not judged", a chart bar that is not a zero."""
    if role == advice.judged_anchor or (advice.anchor_track and role == "vocals") or not advice.pairs:
        return False
    if any(s.role == role for s in advice.suggestions):
        return False
    pair = next((p for p in advice.pairs if p.role == role), None)
    return pair is None or bool(pair.reason)


def unsure_role_files(advice: Advice) -> list[str]:
    """"FILE (role)" of each track the judged roles took from a name guessed unsurely (``RoleGuess.unsure``)."""
    return [f"{t['name']} ({t['role']})" for t in advice.measurements.get("tracks", ()) if t.get("role_unsure")]


def render_text(advice: Advice, anchor_reason: str, notes: Sequence[str], profile=None) -> str:
    """Human-readable critique: sentence, confidence, role table, timeline, warnings."""
    m = advice.measurements
    used = f" — profile: {advice.profile}" if advice.profile else ""
    anchor = advice.judged_anchor
    span = f", judged {span_text(advice.span)}" if advice.span else ""
    lines = [f"MixingBuddy critique — {len(m['tracks'])} tracks, {m['sample_rate'] / 1000:g} kHz, "
             f"{clock(m['duration_s'])}{span} — anchor: {anchor_name(advice)} ({anchor_reason}) — advisor: "
             f"{advice.advisor_id}{used}",
             "", f"  {advice.text}"]
    lines.append(f"  Confidence: {confidence_text(advice)}")
    for s in advice.suggestions[1:]:
        tentative = s.confidence < TENTATIVE_BELOW
        action = suggestion_action(s, tentative)
        lines.append(f"  Also: {action[0].lower()}{action[1:]} ({s.category.replace('_', ' ')}, {s.confidence:.0%}"
                     f"{', tentative' if tentative else ''}).")
    if advice.profile_note:
        how = f" (--profile {advice.contrast_profile})" if advice.contrast_profile else ""
        lines.append(f"  Note: {advice.profile_note[:-1]}{how}." if how else f"  Note: {advice.profile_note}")
    width = max(7, *(len(r) for r in m["roles"]))
    lines += ["", f"  {'role':<{width}} {'tracks':>6} {'LUFS':>7} {'LU vs anchor':>13} {'typical band':>14}  verdict"]
    verdicts = {s.role: s for s in advice.suggestions}
    pairs = {p.role: p for p in advice.pairs}
    for role, r in m["roles"].items():
        band = "—"
        st = profile.typical(role, anchor) if profile is not None and role != anchor else None
        if st:
            band = st.band_text(profile.ok_db)
        if role == anchor:
            verdict, rel = "anchor", "anchor"
        elif advice.anchor_track and role == "vocals":  # its sum holds the anchor track: no offset to read
            verdict, rel = "holds the anchor", "—"
        else:
            s = verdicts.get(role)
            pair = pairs.get(role)
            if s:
                verdict = f"{_verb(s)} {s.min_db:g}–{s.max_db:g} dB"
                verdict += f" ({s.confidence:.0%}{', tentative' if s.confidence < TENTATIVE_BELOW else ''})"
            elif not_judged(advice, role):
                verdict = "not judged"
            else:
                verdict = "in band"
            judged = pair is not None and not pair.reason
            if judged:
                verdict += f" [through {' and '.join(pair.via)}]" if pair.via else f" [{pair.windows} window(s)]"
            # the number the verdict judged: over the windows where both play (else the whole span)
            rel = fmt_db(pair.offset_lu if judged else r["rel_anchor_lu"], signed=True)
            if judged and st and pair.offset_lu is not None:   # near an edge: the decimals that show the verdict
                rel, band = st.reading_texts(pair.offset_lu, profile.ok_db)
        lines.append(f"  {role:<{width}} {r['tracks']:>6} {fmt_db(r['lufs']):>7} {rel:>13} {band:>14}  {verdict}")
    lines += true_peak_lines(m)
    if unsure := unsure_role_files(advice):
        lines += ["", f"  Roles guessed from unsure names (check them; --role 'FILE=ROLE' sets one): "
                      f"{listed(unsure, 6)}."]
    left = f", {len(advice.left_out)} left out" if advice.left_out else ""
    left += "".join(f"; {note}" for note in timeline_notes(advice))
    lines += ["", f"  Timeline ({len(advice.windows)} window(s){left}):"] + _timeline(advice)
    warnings = [(f.severity, f.message, f.files_line()) for f in advice.doctor_findings] + [("note", n, "") for n in notes]
    if warnings:
        lines += ["", "  Warnings:"]
        for severity, message, files in warnings:  # --json lists every file
            lines.append(f"    - [{severity}] {message}" + (f"\n      ({files})" if files else ""))
    return "\n".join(lines)


# --- exports (the app's Export menu) -----------------------------------------------------------

def advice_markdown(a: Advice, track_gains: Iterable[tuple[str, str, float]] = ()) -> str:
    """Markdown report (the span is the one the advice judged). ``track_gains``: (file name, role, track + role
    gain in dB) per loaded track."""
    lines = ["# MixingBuddy critique", "", f"**{a.text}**", ""]
    lines.append(f"- Anchor: {anchor_name(a)}")
    lines.append(f"- Advisor: {a.advisor_id}" + (f", profile {a.profile}" if a.profile else ""))
    lines.append(f"- Confidence: {confidence_text(a)}" if a.claims else
                 f"- Confidence: {a.confidence:.0%}" + (f" ({a.agreement})" if a.agreement else ""))
    if a.profile_note:
        lines.append(f"- Note: {a.profile_note}")
    if a.abstained:
        lines.append("- The advice abstains: no confident issue.")
    if unsure := unsure_role_files(a):
        lines.append(f"- Roles guessed from unsure names (check them; set a track's role in its Role column): "
                     f"{', '.join(unsure)}")
    if a.span:
        lines.append(f"- Span: {a.span[0]:.1f}–{a.span[1]:.1f} s")
    lines += ["", "## Suggested gain changes", "", "| role | direction | change (dB) | range (dB) | confidence |",
              "|---|---|---|---|---|"]
    for s in a.suggestions:
        lines.append(f"| {s.role} | {s.direction} | {s.delta_db:+.1f} | {s.min_db:g}–{s.max_db:g} | {s.confidence:.0%} |")
    if not a.suggestions:
        lines.append("| – | none | 0 | – | – |")
    notes = [f"_Note: {note[0].upper()}{note[1:]}._" for note in timeline_notes(a)]
    lines += ["", "## Timeline", ""] + (notes + [""] if notes else []) + ["| window | verdict |", "|---|---|"]
    rows = [(v.window.start_s, f"| {v.window.start_s:.0f}–{v.window.end_s:.0f} s"
                               f"{'' if v.window.gated else ' (ungated)'} | {window_words(a, v)} |")
            for v in a.windows]
    rows += [(w.start_s, f"| {w.start_s:.0f}–{w.end_s:.0f} s | not judged: {left_out_words(w, 1, Counter(w.read))} |")
             for w in a.left_out]
    lines += [row for _, row in sorted(rows, key=lambda r: r[0])]
    lines += ["", "## Export doctor", ""]
    if a.doctor_findings:
        lines += [f"- **{f.severity}** `{f.code}`: {f.message}" + (f" ({files})" if (files := f.files_line(None)) else "")
                  for f in a.doctor_findings]
    else:
        lines.append("- No findings.")
    track_gains = list(track_gains)
    if track_gains:
        lines += ["", "## Tracks", "", "| file | role | gain (dB) |", "|---|---|---|"]
        lines += [f"| {name} | {role} | {g:+.1f} |" for name, role, g in track_gains]
    lines += ["", "_Loudness: ITU-R BS.1770 (libebur128); less reliable on narrow-band material such as bass and hi-hats._", ""]
    return "\n".join(lines)


def advice_csv(a: Advice, role_db: Mapping[str, float]) -> str:
    """One CSV row per role: its current role gain and the suggested change (empty cells when none)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["role", "is_anchor", "current_role_gain_db", "suggested_change_db", "min_db", "max_db", "direction",
                "confidence", "primary"])
    by_role = {s.role: s for s in a.suggestions}
    for role in ROLES:
        s = by_role.get(role)
        w.writerow([role, int(role == a.anchor), f"{role_db.get(role, 0.0):.2f}",
                    f"{s.delta_db:.2f}" if s else "0.00", f"{s.min_db:g}" if s else "", f"{s.max_db:g}" if s else "",
                    s.direction if s else "none", f"{s.confidence:.3f}" if s else "",
                    int(a.primary is not None and a.primary.role == role)])
    return buf.getvalue()


# --- the session dict (the "advice" of a saved session) ------------------------------------

def advice_to_dict(a: Advice) -> dict:
    """Everything of an Advice, for a session file (read back by advice_from_dict).

    The keys are those of saved sessions: a window's range is "low_db"/"high_db" and the agreement is "status".
    """
    def wv(v: WindowVerdict) -> dict:
        return {"start_s": v.window.start_s, "end_s": v.window.end_s, "gated": v.window.gated, "target": v.target,
                "direction": v.direction, "category": v.category, "low_db": v.min_db, "high_db": v.max_db,
                "text": v.text, "exact": v.exact, "delta_db": v.delta_db,
                "measured_lu": None if v.measured_lu is None else {k: float(x) for k, x in v.measured_lu.items()}}

    return finite_json({
        "anchor": a.anchor, "primary": asdict(a.primary) if a.primary else None,
        "suggestions": [asdict(s) for s in a.suggestions], "windows": [wv(v) for v in a.windows],
        "confidence": a.confidence, "abstained": a.abstained, "text": a.text, "advisor_id": a.advisor_id,
        "findings": [asdict(f) for f in a.findings], "measurements": a.measurements, "status": a.agreement,
        "anchor_reason": a.anchor_reason, "profile": a.profile, "pairs": [asdict(p) for p in a.pairs],
        "anchor_track": a.anchor_track, "claims": [asdict(c) for c in a.claims],
        "span": None if a.span is None else list(a.span), "left_out": [asdict(w) for w in a.left_out],
        "contrast_profile": a.contrast_profile,
    })


def advice_from_dict(d: Mapping) -> Advice:
    """An Advice back from advice_to_dict's dict (raises on a malformed one)."""
    def rg(g: Mapping) -> RoleGain:
        return RoleGain(g["role"], g["direction"], g["category"], float(g["min_db"]), float(g["max_db"]),
                        float(g["delta_db"]), float(g["confidence"]))

    def wv(v: Mapping) -> WindowVerdict:
        lu = v.get("measured_lu")
        return WindowVerdict(Window(float(v["start_s"]), float(v["end_s"]), bool(v.get("gated", True))),
                             v.get("target"), v["direction"], v["category"], v.get("low_db"), v.get("high_db"),
                             v.get("text", ""),
                             None if lu is None else {k: (float("nan") if x is None else float(x)) for k, x in lu.items()},
                             bool(v.get("exact", True)), v.get("delta_db"))

    return Advice(
        anchor=d["anchor"], primary=rg(d["primary"]) if d.get("primary") else None,
        suggestions=tuple(rg(s) for s in d.get("suggestions", ())), windows=tuple(wv(v) for v in d.get("windows", ())),
        confidence=float(d.get("confidence", 0.0)), abstained=bool(d.get("abstained", False)), text=d.get("text", ""),
        advisor_id=d.get("advisor_id", ""),
        findings=tuple(Finding(f["code"], f["severity"], f["message"], tuple(f.get("track_ids", ())),
                               tuple(f.get("mutes", ())))
                       for f in d.get("findings", ())),
        measurements=d.get("measurements") or {}, agreement=d.get("status", ""),
        anchor_reason=d.get("anchor_reason", ""), profile=d.get("profile"),
        pairs=tuple(PairJudgement.from_dict(p, rg(p["suggestion"]) if p.get("suggestion") else None)
                    for p in d.get("pairs", ())),
        anchor_track=d.get("anchor_track"),
        claims=tuple(Claim(c["claim"], float(c["confidence"]), c.get("backing", "")) for c in d.get("claims", ())),
        span=None if d.get("span") is None else (float(d["span"][0]), float(d["span"][1])),
        left_out=tuple(WindowLeftOut(float(w["start_s"]), float(w["end_s"]), w["reason"], tuple(w.get("read", ())))
                       for w in d.get("left_out", ())),
        contrast_profile=d.get("contrast_profile"),
    )


# --- re-check ---------------------------------------------------------------------------------

def recheck_verdict(applied: Advice, new: Advice) -> tuple[str, str]:
    """Compare the advice that was applied with the advice on the corrected mix.

    Returns (label, sentence) with label "resolved" | "over-corrected" | "still there" | "unclear". When the two
    were judged over different spans the sentence says so: a verdict over another part of the song is no check.
    """
    label, sentence = _recheck(applied, new)
    if applied.primary is not None and applied.span != new.span:
        sentence += (f" (Judged over {span_text(new.span) or 'the whole song'}; the advice you applied judged "
                     f"{span_text(applied.span) or 'the whole song'}.)")
    return label, sentence


def _recheck(applied: Advice, new: Advice) -> tuple[str, str]:
    p = applied.primary
    if p is None:
        return "unclear", "Nothing was applied to check."
    # the role's own suggestion now, headline or not (the other instruments are never the headline)
    q = next((s for s in new.suggestions if s.role == p.role), new.primary)
    if new.abstained:
        return "unclear", f"No confident verdict on the {p.role} now ({new.agreement or 'windows disagree'})."
    g, who = stem_grammar(p.role), Party.role(p.role).subject
    plural = g["be"] == "are"
    if q is None or q.role != p.role:
        extra = f" The critique now points at the {q.role}." if q is not None else ""
        return "resolved", (f"{who} now {'sit' if plural else 'sits'} within the "
                            f"typical balance.{extra}")
    way = "up" if q.direction == "increase" else "down"
    need = "need" if plural else "needs"
    if q.direction == p.direction:
        return "still there", (f"{who} still {need} to go {way} "
                               f"({q.delta_db:+.1f} dB suggested).")
    return "over-corrected", (f"{who} now {need} to go {way} "
                              f"by about {abs(q.delta_db):.1f} dB.")
