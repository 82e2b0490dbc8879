"""`mixingbuddy critique` (advice for a folder of DAW stems) and `mixingbuddy masking` on the command line. No Qt.

Exit codes: 0 ok (an abstention is ok), 2 bad input (one line on stderr),
1 unexpected error (traceback only with MIXINGBUDDY_DEBUG=1).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from dataclasses import dataclass, replace
from typing import Sequence


class CliInputError(Exception):
    """Bad command-line arguments (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise CliInputError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mixingbuddy critique",
                description="Critique the gain balance of DAW stems against an anchor role.")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="audio files and/or folders of stems (non-recursive), or one session saved by the app "
                        "(.mbsession: its roles, gains, mutes, span and anchor)")
    p.add_argument("--anchor", metavar="ROLE|FILE",
                   help="the role whose level is right: vocals, drums or bass (default: vocals, else drums, else "
                        "bass); or one file, the lead vocal (e.g. 'Lead Vox.wav'), judged against the profile's "
                        "lead-vocal statistics")
    p.add_argument("--advisor", choices=("balance", "llm"), default="balance",
                   help="balance: measured loudness vs a reference profile (default); llm: the MixingBuddy model")
    p.add_argument("--profile", metavar="NAME|FILE",
                   help="balance profile: a name from `mixingbuddy profile list` or a profile .json (default pop-rock)")
    p.add_argument("--checkpoint", metavar="RUN", default=os.environ.get("MIXINGBUDDY_CHECKPOINT"),
                   help="trained run folder for --advisor llm (or MIXINGBUDDY_CHECKPOINT)")
    p.add_argument("--mert", metavar="ID|DIR", help="MERT base model (default: what the checkpoint records)")
    p.add_argument("--llm", metavar="ID|DIR", help="Qwen2 base model (default: what the checkpoint records)")
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto")
    p.add_argument("--span", metavar="START:END",
                   help="judge only this span: seconds (e.g. 90:150) or m:ss (e.g. 1:30-2:30; 1:30- to the end)")
    p.add_argument("--window", metavar="START:END", help=argparse.SUPPRESS)  # the old name of --span
    p.add_argument("--role", action="append", default=[], metavar="FILE=ROLE",
                   help="override a file's guessed role, e.g. --role 'Synth 1.wav=bass' (repeatable)")
    p.add_argument("--true-peak", action="store_true",
                   help="also measure true peak (dBTP) of every track and the mix (slower)")
    p.add_argument("--masking", action="store_true",
                   help="also report where one role covers another (band, stretch, depth) and what to do")
    p.add_argument("--tonal", action="store_true",
                   help="also compare each role's spectral shape with the profile's tonal shapes (the electronic "
                        "profile's when it has none)")
    p.add_argument("--json", action="store_true", help="print one JSON object (schema mixingbuddy.advice/1)")
    return p


def parse_anchor(value: str, tracks) -> tuple[str, str | None]:
    """--anchor ROLE|FILE -> (role, None) or (the file's role, its track id); CliInputError or RoleError."""
    from model.audio.roles import ROLES, check_role, normalise_name

    if value.strip().lower() in ROLES:
        role = check_role(value)
        if role == "other":
            raise CliInputError("--anchor other is not allowed: the anchor must be vocals, drums or bass.")
        return role, None
    for match in (lambda t: value in (t.name, t.id), lambda t: normalise_name(value) == normalise_name(t.name)):
        found = [t for t in tracks.tracks if match(t)]
        if len(found) == 1:
            return found[0].role.role, found[0].id
        if len(found) > 1:
            raise CliInputError(f"--anchor: '{value}' names {len(found)} files: give one of them as "
                                f"{' or '.join(repr(t.id) for t in found)}.")
    raise CliInputError(f"--anchor: '{value}' is neither a role (vocals, drums, bass) nor one loaded file's name "
                        f"({tracks.names_hint(value)})")


def check_advisor_options(args) -> None:
    """Options the chosen advisor would ignore are refused (CliInputError), never dropped unsaid."""
    if args.profile is not None and not args.profile.strip():
        raise CliInputError("--profile needs a name or a file (`mixingbuddy profile list` shows the names).")
    if args.advisor == "llm":
        if args.profile:
            raise CliInputError("--profile applies to --advisor balance only")
        return
    model_options = [option for option, given in (
        ("--checkpoint", args.checkpoint != os.environ.get("MIXINGBUDDY_CHECKPOINT")), ("--mert", args.mert),
        ("--llm", args.llm), ("--device", args.device != "auto")) if given]
    if model_options:
        raise CliInputError(f"{', '.join(model_options)} {'applies' if len(model_options) == 1 else 'apply'} to "
                            "--advisor llm only: the balance advisor (the default) runs no model.")


def parse_role_overrides(items: Sequence[str]) -> dict[str, str]:
    """--role FILE=ROLE items -> {file name: role}; CliInputError or RoleError on a bad item."""
    from model.audio.roles import check_role

    overrides = {}
    for item in items:
        name, sep, role = item.rpartition("=")
        if not sep or not name:
            raise CliInputError(f"--role expects FILE=ROLE, got '{item}'")
        overrides[name] = check_role(role)
    return overrides


SPAN_FORMS = "START:END in seconds (30:60) or START-END in m:ss (1:30-2:30, or 1:30- to the end)"


def _seconds(text: str) -> float:
    """'95', '95.5', '1:35' or '0:01:35' -> seconds (ValueError otherwise)."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or any(not p.strip() for p in parts):
        raise ValueError(text)
    *whole, last = parts
    if any(not p.strip().isdigit() for p in whole) or (whole and not 0 <= float(last) < 60):
        raise ValueError(text)
    value = 0.0
    for p in whole:
        value = value * 60 + int(p)
    return value * 60 + float(last) if whole else float(last)


def _span_ends(text: str) -> tuple[float, float | None]:
    """A span's two ends in seconds: 'A:B' (both in seconds) or 'A-B' (each m:ss or seconds; 'A-': to the end,
    None)."""
    dash = text.find("-", 1)   # a leading '-' is a negative START, not the separator
    if dash > 0:
        end = text[dash + 1:]
        return _seconds(text[:dash]), _seconds(end) if end.strip() else None
    start, end = text.split(":")
    return float(start), float(end)


def parse_span(text: str | None, duration: float, option: str = "--span") -> tuple[float, float] | None:
    """A span ('30:60' seconds, '1:30-2:30' or '1:30-' to the end) -> (start, end) inside the song, else
    InputError naming ``option``. An END the song's shown length rounds to (5:16.4 for 316.37 s) is its end."""
    from model.advice.report import clock
    from model.errors import InputError

    if not text:
        return None
    try:
        start_s, end_s = _span_ends(text)
    except ValueError:
        raise InputError(f"{option} expects {SPAN_FORMS}, got '{text}'.") from None
    song = f"the song runs 0 to {duration:.1f} s, {clock(duration)}"
    if end_s is None or duration < end_s <= duration + 0.05:
        end_s = duration
    if not (math.isfinite(start_s) and math.isfinite(end_s)):
        raise InputError(f"{option} expects {SPAN_FORMS}, got '{text}'.")
    if start_s < 0:
        raise InputError(f"{option} {text}: START must be 0 or more ({song}).")
    if end_s <= start_s:
        raise InputError(f"{option} {text}: END must be after START.")
    if start_s >= duration:
        raise InputError(f"{option} {text} starts after the song ends ({song}).")
    if end_s > duration + 1e-6:
        raise InputError(f"{option} {text} ends after the song ({song}): give END {duration:.1f} "
                         f"({clock(duration)}) or less, or leave END out (START-) to judge to the end.")
    return start_s, end_s


def span_reading(text: str | None) -> tuple[str, ...]:
    """A note when a span in seconds reads like m:ss ('1:30' is 1 s to 30 s, not from 1:30 on)."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text or "")
    if not match or int(match[2]) >= 60:
        return ()
    a, b = match[1], match[2]
    return (f"--span {a}:{b} is read as seconds, {int(a)} s to {int(b)} s (START:END); from {a}:{b} to the end "
            f"is --span {a}:{b}-.",)


def run(argv: Sequence[str]) -> int:
    from model.errors import MixingBuddyError

    args = build_parser().parse_args(list(argv))
    try:
        return _critique(args)
    except MixingBuddyError as exc:   # a span meant as m:ss may be why (no role plays in 1 s to 30 s)
        if reading := span_reading(args.span or args.window):
            exc.message = f"{exc.message} (Note: {reading[0]})"
        raise


def _critique(args: argparse.Namespace) -> int:
    from model.advice.advisor import AdviceRequest
    from model.advice.pipeline import critique
    from model.advice.report import advice_to_json, render_text
    from model.advisors import load_advisor

    check_advisor_options(args)
    overrides = parse_role_overrides(args.role)
    session = session_given(args.paths)
    paths = session.resolved_paths() if session else args.paths
    if args.advisor == "llm":  # the model hears the audio
        from model.audio.tracks import load_tracks

        loaded = load_tracks(paths, strict=True)
        tracks, notes, analyse = loaded.tracks, loaded.notes, None
    else:  # the balance advisor judges measurements: stream the files once, hold no track
        from model.audio.stream import analyse_session, session_tracks
        from model.audio.tracks import plan_session

        plan = plan_session(paths, strict=True)
        tracks, notes = session_tracks(plan), ()
        analyse = plan
    user_roles = {}
    if session:
        from mixingbuddy_app.session_file import user_track_roles

        user_roles = user_track_roles(session, tracks)
    if overrides:
        ids_of: dict[str, set[str]] = {}   # a name sets every file of that name (one in each folder given)
        for t in tracks.tracks:
            for key in (t.name, t.id, os.path.splitext(t.name)[0]):   # with or without its extension
                ids_of.setdefault(key, set()).add(t.id)
        unknown = [n for n in overrides if n not in ids_of]
        if unknown:
            raise CliInputError(f"--role: no loaded file is named {unknown[0]!r} ({tracks.names_hint(unknown[0])})")
        user_roles |= {tid: r for n, r in overrides.items() for tid in ids_of[n]}
    if user_roles:
        tracks = tracks.with_roles(user_roles)
    saved = as_saved(session, tracks, profile_given=bool(args.profile)) if session else None
    # no anchor: the pipeline picks the first of vocals, drums, bass that plays
    anchor, anchor_track = (saved.anchor, saved.anchor_track) if saved else (None, None)
    if args.anchor:
        anchor, anchor_track = parse_anchor(args.anchor, tracks)
    if args.span and args.window:
        raise CliInputError("--window is the old name of --span: give only --span")
    span = (parse_span(args.window, tracks.duration_s, "--window") if args.window else
            parse_span(args.span, tracks.duration_s) if args.span or not saved else saved.span)
    options, profile = {}, args.profile or (saved.profile if saved else None)
    if args.advisor == "llm":
        options = {k: v for k, v in (("mert", args.mert), ("llm", args.llm)) if v}
    elif profile:
        options = {"profile": profile}
    advisor = load_advisor(args.advisor, checkpoint=args.checkpoint,
                           device=None if args.device == "auto" else args.device, **options)
    request = AdviceRequest(tracks, anchor, span=span, true_peak=args.true_peak, anchor_track=anchor_track,
                            **({"gains": saved.gains} if saved else {}))
    from model.advice.pipeline import (check_anchor, check_span, check_track_anchor_statistics, doctor_request,
                                       measure_request)
    from model.audio.cache import AnalysisCache
    from model.audio.copies import without_copies
    from model.audio.spectral import BandFrameStream
    from model.audio.stream import SessionAnalysis
    from model.audio.tracks import Gains

    check_span(request)  # before measuring anything
    check_anchor(request)
    if anchor_track is not None:
        check_track_anchor_statistics(advisor)

    def stream(gains: Gains):
        if analyse is None:   # the model hears the loaded tracks: measured and checked as the critique would
            heard = replace(request, gains=gains)
            return SessionAnalysis(measure_request(heard, args.true_peak, cache=cache),
                                   tuple(doctor_request(heard, cache)), tuple(notes)), None
        # the band frames of the role sums (masking, tonal) are built as the files stream by
        frames = BandFrameStream.over(analyse.sample_rate, analyse.frames, span) if spectral else None
        return analyse_session(analyse, user_roles, request.window_s, span, args.true_peak, anchor, gains,
                               cache=cache, on_role_sums=frames.add if frames else None), frames

    spectral, cache = args.masking or args.tonal, AnalysisCache()   # the cache spares a second pass re-metering
    # a full mix or a role's bus among the files counts its sources twice: left out (a role set by hand, the anchor
    # track: kept); a session's mutes are the producer's, as in the app: there it is only said
    keep = set(user_roles) | ({anchor_track} if anchor_track else set())
    (analysis, bands), gains, copies = without_copies(stream, request.gains, keep=keep, leave_out=not saved)
    request = replace(request, gains=gains)
    said = tuple(c.finding(PLAYED_BY_SESSION if saved else f"It is left out of this critique; to count it, set its "
                           f"role (--role '{c.name}={c.role or 'other'}').") for c in copies)
    said = ((saved.note,) if saved else ()) + said
    analysis = replace(analysis, findings=said + tuple(analysis.findings))
    notes = tuple(analysis.notes) + span_reading(args.span or args.window)
    advice = critique(request, advisor, analysis=analysis)
    review = None
    if args.masking or args.tonal:
        from model.advice.spectrum import review_frames, review_spectrum
        from model.advice.tonal import tonal_for_profile

        tonal, tonal_note = tonal_for_profile(profile) if args.tonal else (None, "")
        if bands is not None:
            review = review_frames(bands.finish(), advice.anchor, args.masking, tonal)
        else:
            judged = replace(request, anchor=advice.anchor)  # the anchor the critique used
            review = review_spectrum(judged, args.masking, tonal)
    if args.json:
        data = advice_to_json(advice)
        if args.masking:
            data["masking"] = [f.to_json() for f in review.masking]
        if args.tonal:
            data["tonal"] = [f.to_json() for f in review.tonal]
            data["tonal_shapes"] = tonal.genre            # whose shapes: not data["profile"] when it has none
            data["tonal_note"] = tonal_note
            data["tonal_not_compared"] = list(review.tonal_not_compared)
        print(json.dumps(data, indent=2, allow_nan=False))
    else:
        text = render_text(advice, advice.anchor_reason, notes, getattr(advisor, "profile", None))
        print(text + "\n" + render_review(review, args.masking, args.tonal, tonal_note) if review else text)
    return 0


#: What a critique or masking check of a saved session says of a copy (a bus, the full mix) the session plays.
PLAYED_BY_SESSION = "The session plays it, so it counts here: mute it in the app (M) to leave it out."


def session_given(paths: Sequence[str]):
    """The PendingSession when the one PATH is a saved session (.mbsession) whose files are all there, else None."""
    from pathlib import Path

    from mixingbuddy_app.session_file import is_session_path, read_session, require_all_files

    sessions = [p for p in paths if is_session_path(p)]
    if not sessions:
        return None
    if len(paths) > 1:
        raise CliInputError(f"{Path(sessions[0]).name}: a saved session stands for all its files: give it as the "
                            "only PATH")

    return require_all_files(read_session(sessions[0]))


@dataclass(frozen=True)
class SavedMix:
    """What a saved session sets beside the files and roles: the mix the app would critique."""

    gains: object                       # model.audio.tracks.Gains: track and role gains, mutes, solos
    anchor: str | None                  # None: the default rule
    anchor_track: str | None
    span: tuple[float, float] | None
    profile: str | None                 # the balance profile of its last critique, where installed here
    note: object                        # the info Finding that says what the session set


def as_saved(session, tracks, profile_given: bool = False) -> SavedMix:
    """The session's gains, mutes, solos, anchor and span for ``tracks``, and
    the profile its last critique used (unless ``profile_given``): the critique the app would make of it."""
    from model.audio.findings import Finding, clock
    from model.audio.roles import TARGET_ROLES
    from model.audio.tracks import Gains
    from model.errors import InputError

    from mixingbuddy_app.session_file import last_critique_profile, session_state, user_roles

    state = session_state(session, tracks)
    gains = Gains(state.track_db, state.role_db, frozenset(state.muted), frozenset(state.soloed))
    name, duration = session.path.name, tracks.duration_s
    lead = tracks.get(state.anchor_track) if state.anchor_track else None
    roles = {t.role.role for t in tracks.tracks}
    anchor = (lead.role.role if lead else
              state.anchor if state.anchor_chosen and state.anchor in TARGET_ROLES and state.anchor in roles else None)
    span = None
    if state.region:
        a, b = sorted(state.region)
        lo, hi = max(0.0, a), min(duration, b)
        if hi <= lo:
            raise InputError(f"{name}: its span {a:.1f}-{b:.1f} s lies outside the song (0-{duration:.1f} s); "
                             "give --span to judge another one")
        span = None if lo <= 0.0 and hi >= duration - 1e-3 else (lo, hi)
    what = [f"{n} {label}" for n, label in (
        (len(user_roles(session)), "role(s) set"),
        (sum(1 for db in gains.track_db.values() if db), "track gain(s)"),
        (sum(1 for db in gains.role_db.values() if db), "role gain(s)"),
        (len(gains.muted), "muted"), (len(gains.soloed), "soloed")) if n]
    what += [f"the span {clock(span[0])}-{clock(span[1])}"] if span else []
    what += [f"the anchor {lead.name if lead else anchor}"] if anchor else []
    profile, installed = last_critique_profile(state.advice) if not profile_given else (None, False)
    if profile:
        what.append(f"the profile {profile} of its last critique" if installed else
                    f"its last critique's profile {profile}, not installed here, so the default profile")
        profile = profile if installed else None
    note = Finding("session", "info", f"As saved in {name}: " + (", ".join(what) if what else
                                                                 "no gains, mutes, span or anchor set") + ".")
    return SavedMix(gains, anchor, lead.id if lead else None, span, profile, note)


def render_review(review, masking: bool, tonal: bool, tonal_note: str = "") -> str:
    """The masking and tonal sections of the human output (empty sections say so); ``tonal_note`` says which
    tonal shapes the roles were compared with (tonal_for_profile)."""
    from model.advice.tonal import not_compared_text, within_band_text

    lines = []
    if masking:
        lines += ["", f"  Masking ({len(review.masking)} finding(s)):"]
        lines += [f"    - {f.text}\n      {f.suggestion}" for f in review.masking] or ["    None strong and lasting."]
    if tonal:
        lines += ["", f"  Tonal balance ({len(review.tonal)} finding(s)):"]
        lines += [f"    Compared with {tonal_note}."] if tonal_note else []
        lines += [f"    - {f.text}" for f in review.tonal] or [
            f"    {within_band_text(review.tonal_not_compared).capitalize()}."]
        lines += [f"    - {not_compared_text(role)}" for role in review.tonal_not_compared]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI boundary: maps errors to exit codes with one line on stderr."""
    return _boundary("mixingbuddy critique", build_parser, run, argv)


def _boundary(prog: str, build, action, argv: Sequence[str] | None) -> int:
    """Help, or the action with errors mapped to exit codes (one line on stderr)."""
    from model.errors import run_command

    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        build().print_help()
        return 0
    return run_command(prog, lambda: action(argv), bad_input=(CliInputError,))


MASKING_SCHEMA = "mixingbuddy.masking/1"


def build_masking_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mixingbuddy masking",
                description="Where track A covers track B and B covers A: band, stretch, depth and what to do.")
    p.add_argument("first", metavar="A", help="a track (file name, with or without extension) or a role")
    p.add_argument("second", metavar="B", help="another track or role")
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="audio files and/or folders of stems (non-recursive), or one session saved by the app")
    p.add_argument("--span", metavar="START:END",
                   help="look only at this span: seconds (e.g. 90:150) or m:ss (e.g. 1:30-2:30; 1:30- to the end)")
    p.add_argument("--json", action="store_true", help=f"print one JSON object (schema {MASKING_SCHEMA})")
    return p


def run_masking(argv: Sequence[str]) -> int:
    from model.advice.report import clock, span_text
    from model.advice.spectrum import pair_masking
    from model.audio.tracks import load_tracks

    args = build_masking_parser().parse_args(list(argv))
    session = session_given(args.paths)
    tracks = load_tracks(session.resolved_paths() if session else args.paths, strict=True).tracks
    saved = None
    if session:
        from mixingbuddy_app.session_file import user_track_roles

        tracks = tracks.with_roles(user_track_roles(session, tracks))
        saved = as_saved(session, tracks, profile_given=True)
    span = parse_span(args.span, tracks.duration_s) if args.span or not saved else saved.span
    gains, left_out = _without_copies(tracks, span, (args.first, args.second), saved.gains if saved else None)
    left_out = ([saved.note] if saved else []) + left_out
    findings, a, b = pair_masking(tracks, args.first, args.second, gains, span=span)
    if args.json:
        print(json.dumps({"schema": MASKING_SCHEMA, "a": a.key, "b": b.key,
                          "span": None if span is None else [round(x, 3) for x in span],
                          "masking": [f.to_json() for f in findings],
                          "warnings": [f.to_json() for f in left_out]}, indent=2, allow_nan=False))
        return 0
    judged = f", judged {span_text(span)}" if span else ""
    lines = [f"MixingBuddy masking — {a.words} and {b.words} — {clock(tracks.duration_s)}{judged}", ""]
    lines += [f"  - {f.text}\n    {f.suggestion}" for f in findings] or [
        "  Neither covers the other strongly and lastingly."]
    lines += [f"\n  [{f.severity}] {f.message}" for f in left_out]
    print("\n".join(lines))
    return 0


def _without_copies(tracks, span, named: Sequence[str], played=None):
    """Gains that leave out a full mix or a group's bus found among the files (a track named A or B stays), and
    their findings. Only a role sums files: with two tracks named, nothing is looked for. ``played``: a saved
    session's gains, whose mutes are the producer's: a copy it plays is only said."""
    from model.advice.spectrum import named_track
    from model.audio.copies import without_copies
    from model.audio.measure import measure_session
    from model.audio.stream import SessionAnalysis
    from model.audio.tracks import Gains

    def stream(gains: Gains):
        return SessionAnalysis(measure_session(tracks, gains, 10.0, span, true_peak=False), (), ()), None

    keep = {t.id for text in named if (t := named_track(tracks, text)) is not None}
    if len(keep) == len(named):
        return played or Gains(), []
    _, gains, copies = without_copies(stream, played or Gains(), keep, leave_out=played is None)
    return gains, [c.finding(PLAYED_BY_SESSION if played else "It is left out of both sides; to count it, name it as "
                             "A or B.") for c in copies]


def masking_main(argv: Sequence[str] | None = None) -> int:
    """`mixingbuddy masking A B PATH...`: the CLI boundary, as for critique."""
    return _boundary("mixingbuddy masking", build_masking_parser, run_masking, argv)


if __name__ == "__main__":
    sys.exit(main())
