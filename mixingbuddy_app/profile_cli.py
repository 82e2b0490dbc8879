"""`mixingbuddy profile fit|list|show`: learn a balance profile from finished songs, list and show profiles.

Exit codes as `mixingbuddy critique`: 0 ok, 2 bad input (one line on stderr), 1 unexpected error.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from mixingbuddy_app.cli import CliInputError, _Parser, parse_role_overrides


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mixingbuddy profile", description="Balance profiles: learn one from your finished mixes, "
                                                        "list them, show one.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    fit = sub.add_parser("fit", help="fit a profile from finished songs (one folder or .mbsession per song)")
    fit.add_argument("paths", nargs="+", metavar="PATH", help="one folder of stems, or one .mbsession, per song "
                                                            "(or a folder that holds the songs' folders)")
    fit.add_argument("--name", required=True, help="the profile's name")
    fit.add_argument("--out", metavar="FILE",
                     help="profile JSON to write (default: your profile folder, listed by `mixingbuddy profile list`)")
    fit.add_argument("--description", default="", help="one line saying what kind of music the songs are")
    fit.add_argument("--role", action="append", default=[], metavar="FILE=ROLE",
                     help="override a file's guessed role in every song, e.g. --role 'SY BASS.ogg=bass' (repeatable)")
    fit.add_argument("--json", action="store_true", help="print the profile JSON instead of the summary")
    sub.add_parser("list", help="list shipped and user profiles")
    show = sub.add_parser("show", help="show a profile's pairs and provenance")
    show.add_argument("name", metavar="NAME|FILE")
    return p


def song_source(path: str, overrides: dict[str, str]):
    """A folder of stems, or a saved session (session_file.session_song) -> SongSource."""
    from model.advice.profiles import SongSource

    from mixingbuddy_app.session_file import is_session_path, session_song

    p = Path(path)
    if is_session_path(p):
        return session_song(p, overrides)
    if p.exists() and not p.is_dir():   # a missing path is refused with the others' checks (expand_paths)
        raise CliInputError(f"{path}: give one folder of stems or one .mbsession per song")
    return SongSource(p.name, (str(p),), overrides)


def summary(profile, out: Path | None) -> str:
    """n songs, then per pair: songs, windows, median and spread (of a checked BalanceProfile)."""
    from model.advice.profiles import (EXPORT_WARNINGS, LEFT_OUT_AS_COPIES, SHARED_FILES, SONGS_WITHOUT_PAIRS,
                                       UNSURE_ROLES)

    prov = profile.provenance
    width = max(14, *(len(f"{r}|{a}") for r, a in profile.pairs))
    songs = prov.get("songs")
    songs = [str(s) for s in songs] if isinstance(songs, list) else []
    lines = [f"Profile '{profile.name}': {len(songs)} song(s): {', '.join(songs)}" if songs else
             f"Profile '{profile.name}': {prov.get('method') or 'no provenance given'}", "",
             f"  {'pair':<{width}} {'songs':>5} {'windows':>7} {'median':>7} {'song range':>13} {'window IQR':>13} "
             f"{'spread':>7}  judged"]
    for (role, anchor), st in profile.pairs.items():
        judged = "yes" if st.judged else "no (too few songs)"
        songs_range = f"{st.song_range[0]:>+6.1f}..{st.song_range[1]:<+6.1f}" if st.song_range else f"{'—':>6}{'':7}"
        lines.append(f"  {role + '|' + anchor:<{width}} {st.songs if st.songs is not None else '—':>5} "
                     f"{st.windows or '—':>7} {st.median:>+7.1f} {songs_range} {st.q25:>+6.1f}..{st.q75:<+6.1f} "
                     f"{st.spread:>7.1f}  {judged}")
    lines += ["",
              "  song range: the lowest and highest of the fitted songs' own offsets (the median lies between them)",
              "  window IQR: quartiles over all the songs' windows pooled, so songs with more windows weigh more",
              "  spread: how far a finished song of this kind may sit from the median (LU); it sets the confidence"]
    for key, what in ((LEFT_OUT_AS_COPIES, "left out as copies of a song's other files (a full mix or a group's bus: "
                                           "it would count them twice; set its role with --role to count it)"),
                      (UNSURE_ROLES, "roles guessed from unsure names, learned as guessed (check them; --role "
                                     "'FILE=ROLE' sets one in every song)"),
                      (EXPORT_WARNINGS, "export problems, learned as the files are (re-export and fit again if they "
                                        "matter)")):
        per_song = prov.get(key)   # {song: [file, ...]}
        if isinstance(per_song, dict) and per_song:
            lines += ["", f"  {what}: " + "; ".join(f"{song}: {', '.join(map(str, names))}"
                                                   for song, names in per_song.items())]
    if isinstance(shared := prov.get(SHARED_FILES), list) and shared:
        lines += ["", f"  {'; '.join(map(str, shared))}: a profile learns how far finished songs sit apart, so "
                      "each song should count once"]
    if isinstance(empty := prov.get(SONGS_WITHOUT_PAIRS), list) and empty:
        lines += ["", f"  learned nothing from {', '.join(map(str, empty))}: no two roles play together in "
                      f"{'it' if len(empty) == 1 else 'them'} (check the roles: --role 'FILE=ROLE')"]
    if out is not None:
        lines += ["", f"  written to {out}"]
    return "\n".join(lines)


def check_out(out: Path, create: bool) -> None:
    """Refuse, before any song is measured, a profile file that cannot be written there (``create``: make the
    user's profile folder)."""
    folder = out.parent
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        if out.is_dir():
            raise CliInputError(f"--out {out} is a folder: give the profile's .json file name")
        if not folder.is_dir():
            raise CliInputError(f"--out {out}: {folder} is not a folder" if folder.exists() else
                                f"--out {out}: the folder {folder} does not exist")
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{out.name}.", suffix=".tmp"):
            pass  # the profile is written the same way, via a temporary file beside it
    except OSError as exc:
        raise CliInputError(f"cannot write the profile in {folder}: {exc.strerror or exc}") from None


def run(argv: Sequence[str]) -> int:
    from model.advice.profiles import (MIN_SONGS, BalanceProfile, fit_profile, hidden_user_profiles, list_profiles,
                                       read_profile_file, resolve_profile, user_profile_path, write_profile)
    from model.audio.tracks import song_folders

    args = build_parser().parse_args(list(argv))
    if args.command == "list":
        for e in list_profiles():
            print(f"{e.name:<16} {e.source:<8} {e.description}  ({e.path})")
        for path in hidden_user_profiles():
            print(f"note: your {path} is not listed: a shipped profile is called '{path.stem}'. Rename the file "
                  "to choose it.", file=sys.stderr)
        return 0
    if args.command == "show":
        print(summary(read_profile_file(resolve_profile(args.name))[0], None))
        return 0
    if args.command != "fit":
        raise CliInputError("choose a command: fit, list or show")
    if not args.name.strip():   # the name goes into the profile, which critiques name (also when --out saves it)
        raise CliInputError("--name needs a name: the profile goes by it, and each critique judged with it names it")
    out = Path(args.out) if args.out else user_profile_path(args.name)
    overrides = parse_role_overrides(args.role)
    paths = song_folders(args.paths)   # a folder of song folders stands for its songs
    if len(paths) < MIN_SONGS:
        raise CliInputError(f"give at least {MIN_SONGS} songs (one folder or .mbsession each): a profile learns how "
                            "far finished songs sit apart, which one song cannot tell")
    check_out(out, create=not args.out)
    songs = [song_source(p, overrides) for p in paths]
    progress = (lambda f, msg: print(f"  {msg}", file=sys.stderr)) if not args.json else None
    profile, _ = fit_profile(songs, args.name, "mixingbuddy profile fit", args.description, progress=progress)
    write_profile(profile, out)
    print(json.dumps(profile, indent=2) if args.json else summary(BalanceProfile.from_json(profile), out))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from model.errors import run_command

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        build_parser().print_help()
        return 0
    if not argv:  # a command left out is a mistake in a script, not a request for help
        print("mixingbuddy profile: give a command: fit PATH... --name NAME (learn a profile from finished songs), "
              "list, or show NAME (see mixingbuddy profile --help).", file=sys.stderr)
        return 2
    return run_command("mixingbuddy profile", lambda: run(argv), bad_input=(CliInputError,))
