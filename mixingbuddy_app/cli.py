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
    p.add_argument("--span", metavar="START:END", help="judge only this span, in seconds (e.g. 30:60)")
    p.add_argument("--window", metavar="START:END", help=argparse.SUPPRESS)  # the old name of --span
    p.add_argument("--role", action="append", default=[], metavar="FILE=ROLE",
                   help="override a file's guessed role, e.g. --role 'Synth 1.wav=bass' (repeatable)")
    p.add_argument("--true-peak", action="store_true",
                   help="also measure true peak (dBTP) of every track and the mix (slower)")
    p.add_argument("--json", action="store_true", help="print one JSON object (schema mixingbuddy.advice/1)")
    return p


def parse_span(text: str | None, duration: float, option: str = "--span") -> tuple[float, float] | None:
    """'START:END' in seconds -> (start, end) inside the song, else InputError naming ``option``."""
    from model.errors import InputError

    if not text:
        return None
    try:
        start_s, end_s = (float(x) for x in text.split(":"))
    except ValueError:
        raise InputError(f"{option} expects START:END in seconds, got '{text}'.") from None
    if not (math.isfinite(start_s) and math.isfinite(end_s)) or start_s < 0 or end_s <= start_s:
        raise InputError(f"{option} {text}: END must be after START, both >= 0.")
    if start_s >= duration or end_s > duration + 1e-6:
        raise InputError(f"{option} {text} is outside the song (0 to {duration:.1f} s).")
    return start_s, end_s


def run(argv: Sequence[str]) -> int:
    from model.advice.advisor import AdviceRequest
    from model.advice.pipeline import critique, default_anchor
    from model.advice.report import advice_to_json, render_text
    from model.advisors import load_advisor
    from model.audio.roles import check_role
    from model.audio.tracks import load_tracks

    args = build_parser().parse_args(list(argv))
    overrides = {}
    for item in args.role:
        name, sep, role = item.rpartition("=")
        if not sep or not name:
            raise CliInputError(f"--role expects FILE=ROLE, got '{item}'")
        overrides[name] = check_role(role)
    loaded = load_tracks(args.paths, strict=True)
    tracks = loaded.tracks
    if overrides:
        by_name = {t.name: t.id for t in tracks.tracks} | {t.id: t.id for t in tracks.tracks}
        unknown = [n for n in overrides if n not in by_name]
        if unknown:
            raise CliInputError(f"--role: no loaded file is named {unknown[0]!r}")
        tracks = tracks.with_roles({by_name[n]: r for n, r in overrides.items()})
    if args.anchor:
        anchor = check_role(args.anchor)
        reason = "chosen"
        if anchor == "other":
            raise CliInputError("--anchor other is not allowed: the anchor must be vocals, drums or bass")
    else:
        anchor = default_anchor(tracks.roles_present())
        reason = f"default: {anchor} present" if anchor == "vocals" else f"default: no vocals, using {anchor}"
    if args.span and args.window:
        raise CliInputError("--window is the old name of --span: give only --span")
    span = (parse_span(args.window, tracks.duration_s, "--window") if args.window else
            parse_span(args.span, tracks.duration_s))
    options = {}
    if args.advisor == "llm":
        options = {k: v for k, v in (("mert", args.mert), ("llm", args.llm)) if v}
    advisor = load_advisor(args.advisor, checkpoint=args.checkpoint,
                           device=None if args.device == "auto" else args.device, **options)
    request = AdviceRequest(tracks, anchor, span=span, true_peak=args.true_peak)
    advice = critique(request, advisor)
    if args.json:
        print(json.dumps(advice_to_json(advice), indent=2, allow_nan=False))
    else:
        print(render_text(advice, reason, loaded.notes, getattr(advisor, "profile", None)))
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
