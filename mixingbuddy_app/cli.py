"""`mixingbuddy critique`: advice for a folder of DAW stems on the command line. Imports no Qt.

Exit codes: 0 ok (an abstention is ok), 2 bad input (one line on stderr),
1 unexpected error (traceback only with MIXINGBUDDY_DEBUG=1).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Sequence

SCHEMA = "mixingbuddy.advice/1"
ARROWS = {"increase": "up", "decrease": "down", "none": "ok"}


class CliInputError(Exception):
    """Bad command-line arguments (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise CliInputError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mixingbuddy critique",
                description="Critique the gain balance of DAW stems against an anchor role.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files and/or folders of stems (non-recursive)")
    p.add_argument("--anchor", metavar="ROLE",
                   help="the role whose level is right: vocals, drums or bass (default: vocals, else drums, else bass)")
    p.add_argument("--advisor", choices=("balance", "llm"), default="balance",
                   help="balance: measured loudness vs a reference profile (default); llm: the MixingBuddy model")
    p.add_argument("--checkpoint", metavar="RUN", default=os.environ.get("MIXINGBUDDY_CHECKPOINT"),
                   help="trained run folder for --advisor llm (or MIXINGBUDDY_CHECKPOINT)")
    p.add_argument("--mert", metavar="ID|DIR", help="MERT base model (default: what the checkpoint records)")
    p.add_argument("--llm", metavar="ID|DIR", help="Qwen2 base model (default: what the checkpoint records)")
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    p.add_argument("--window", metavar="START:END", help="judge only this span, in seconds (e.g. 30:60)")
    p.add_argument("--role", action="append", default=[], metavar="FILE=ROLE",
                   help="override a file's guessed role, e.g. --role 'Synth 1.wav=bass' (repeatable)")
    p.add_argument("--true-peak", action="store_true",
                   help="also measure true peak (dBTP) of every track and the mix (slower)")
    p.add_argument("--json", action="store_true", help="print one JSON object (schema mixingbuddy.advice/1)")
    return p


def parse_span(text: str | None, duration: float) -> tuple[float, float] | None:
    """'START:END' in seconds -> (start, end) inside the song, else CliInputError."""
    from model.errors import InputError

    if not text:
        return None
    try:
        start_s, end_s = (float(x) for x in text.split(":"))
    except ValueError:
        raise InputError(f"--window expects START:END in seconds, got '{text}'.") from None
    if not (math.isfinite(start_s) and math.isfinite(end_s)) or start_s < 0 or end_s <= start_s:
        raise InputError(f"--window {text}: END must be after START, both >= 0.")
    if start_s >= duration or end_s > duration + 1e-6:
        raise InputError(f"--window {text} is outside the song (0 to {duration:.1f} s).")
    return start_s, end_s


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "-inf" if x is not None else "—"
    return f"{x:+.1f}" if signed else f"{x:.1f}"


def clock(s: float) -> str:
    """Seconds as m:ss.s."""
    return f"{int(s // 60)}:{s % 60:04.1f}"


def advice_to_json(advice) -> dict:
    """The public JSON contract (schema mixingbuddy.advice/1) for an Advice."""
    return {
        "schema": SCHEMA,
        "anchor": advice.anchor,
        "advisor": advice.advisor_id,
        "text": advice.text,
        "suggestions": [s.to_json() for s in advice.suggestions],  # empty when balanced or abstained
        "confidence": round(advice.confidence, 3),
        "abstained": advice.abstained,
        "measurements": advice.measurements,
        "windows": [
            {"start_s": round(v.window.start_s, 3), "end_s": round(v.window.end_s, 3), "gated": v.window.gated,
             "target": v.target, "direction": v.direction, "category": v.category,
             "min_db": v.low_db, "max_db": v.high_db, "text": v.text,
             "measured_lu": {k: round(x, 2) for k, x in (v.measured_lu or {}).items()}}
            for v in advice.windows
        ],
        "warnings": [{"code": f.code, "severity": f.severity, "message": f.message, "tracks": list(f.track_ids)}
                     for f in advice.findings],
    }


def render_text(advice, anchor_reason: str, notes: Sequence[str], profile=None) -> str:
    """Human-readable critique: sentence, confidence, role table, timeline, warnings."""
    m = advice.measurements
    lines = [f"MixingBuddy critique — {len(m['tracks'])} tracks, {m['sample_rate'] / 1000:g} kHz, "
             f"{clock(m['duration_s'])} — anchor: {advice.anchor} ({anchor_reason}) — advisor: {advice.advisor_id}",
             "", f"  {advice.text}"]
    agree = advice.status or ""
    lines.append(f"  Confidence: {agree} ({advice.confidence:.0%})" if agree else f"  Confidence: {advice.confidence:.0%}")
    for s in advice.suggestions[1:]:
        verb = "raise" if s.direction == "increase" else "lower"
        lines.append(f"  Also: {verb} {s.role} by {s.min_db:g} to {s.max_db:g} dB ({s.category.replace('_', ' ')}).")
    lines += ["", f"  {'role':<7} {'tracks':>6} {'LUFS':>7} {'LU vs anchor':>13} {'typical band':>14}  verdict"]
    verdicts = {s.role: s for s in advice.suggestions}
    for role, r in m["roles"].items():
        band = "—"
        if profile is not None and role != advice.anchor:
            st = profile.typical(role, advice.anchor)
            if st:
                band = f"{st.q25:+.1f}..{st.q75:+.1f}"
        if role == advice.anchor:
            verdict, rel = "anchor", "anchor"
        else:
            s = verdicts.get(role)
            verdict = (f"{'raise' if s.direction == 'increase' else 'lower'} {s.min_db:g}–{s.max_db:g} dB"
                       if s else "in band")
            rel = _fmt(r["rel_anchor_lu"], signed=True)
        lines.append(f"  {role:<7} {r['tracks']:>6} {_fmt(r['lufs']):>7} {rel:>13} {band:>14}  {verdict}")
    lines += ["", f"  Timeline ({len(advice.windows)} window(s)):"]
    for v in advice.windows:
        what = ("unparsed answer" if v.category == "unparsed" else
                "balanced" if v.direction == "none" else
                f"{v.target} {ARROWS[v.direction]} ({v.category.replace('_', ' ')})")
        gate = "" if v.window.gated else "  [below the activity gate]"
        lines.append(f"    {clock(v.window.start_s)}–{clock(v.window.end_s)}  {what}{gate}")
    warnings = [(f.severity, f.message) for f in advice.findings] + [("note", n) for n in notes]
    if warnings:
        lines += ["", "  Warnings:"]
        lines += [f"    - [{severity}] {message}" for severity, message in warnings]
    return "\n".join(lines)


def run(argv: Sequence[str]) -> int:
    from model.advice.advisor import AdviceRequest
    from model.advisors import load_advisor
    from model.advice.pipeline import critique, default_anchor
    from model.audio.roles import check_role

    args = build_parser().parse_args(list(argv))
    overrides = {}
    for item in args.role:
        name, sep, role = item.rpartition("=")
        if not sep or not name:
            raise CliInputError(f"--role expects FILE=ROLE, got '{item}'")
        overrides[name] = check_role(role)
    if args.advisor == "llm":  # the model listens to the audio: load every track
        from model.audio.tracks import load_tracks

        loaded = load_tracks(args.paths, strict=True)
        tracks, notes, analyse = loaded.tracks, loaded.notes, None
    else:  # the balance advisor judges measurements: stream the files once, hold no track
        from model.audio.stream import analyse_session, session_tracks
        from model.audio.tracks import plan_session

        plan = plan_session(args.paths, strict=True)
        tracks, notes = session_tracks(plan), ()
        analyse = plan
    user_roles = {}
    if overrides:
        by_name = {t.name: t.id for t in tracks.tracks} | {t.id: t.id for t in tracks.tracks}
        unknown = [n for n in overrides if n not in by_name]
        if unknown:
            raise CliInputError(f"--role: no loaded file is named {unknown[0]!r}")
        user_roles = {by_name[n]: r for n, r in overrides.items()}
        tracks = tracks.with_roles(user_roles)
    if args.anchor:
        anchor = check_role(args.anchor)
        reason = "chosen"
        if anchor == "other":
            raise CliInputError("--anchor other is not allowed: the anchor must be vocals, drums or bass")
    else:
        anchor = default_anchor(tracks.roles_present())
        reason = f"default: {anchor} present" if anchor == "vocals" else f"default: no vocals, using {anchor}"
    span = parse_span(args.window, tracks.duration_s)
    options = {}
    if args.advisor == "llm":
        options = {k: v for k, v in (("mert", args.mert), ("llm", args.llm)) if v}
    advisor = load_advisor(args.advisor, checkpoint=args.checkpoint,
                           device=None if args.device == "auto" else args.device, **options)
    request = AdviceRequest(tracks, anchor, span=span, true_peak=args.true_peak)
    analysis = None
    if analyse is not None:
        from model.advice.pipeline import check_anchor

        check_anchor(request)  # before decoding anything
        analysis = analyse_session(analyse, user_roles, request.window_s, span,
                                   args.true_peak, anchor)
        notes = analysis.notes
    advice = critique(request, advisor, analysis=analysis)
    if args.json:
        print(json.dumps(advice_to_json(advice), indent=2, allow_nan=False))
    else:
        print(render_text(advice, reason, notes, getattr(advisor, "profile", None)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """CLI boundary: maps errors to exit codes with one line on stderr."""
    from model.errors import run_command

    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        build_parser().print_help()
        return 0
    return run_command("mixingbuddy critique", lambda: run(argv), bad_input=(CliInputError,))


if __name__ == "__main__":
    sys.exit(main())
