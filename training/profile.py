"""`mixingbuddy-train profile`: fit a balance profile on MUSDB18-HQ songs through the one fitting function.

Each track of the chosen splits is one song (its four stems, roles from the stem names); the profile
(``model.advice.profiles.fit_profile``: per-pair offsets over co-active windows, median over songs,
between-song spread) is written in the format every profile uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.advice.profiles import SongSource, fit_profile, write_profile
from model.errors import InputError
from training import config as config_mod
from training.musdb import walk


def fit(musdb_root: str | Path, cfg: config_mod.ProfileConfig, progress: bool = True, name: str = "musdb") -> dict:
    """Measure every track of the chosen splits and return the profile dict."""
    from tqdm import tqdm

    tracks = [t for t in walk(musdb_root) if t.split in cfg.splits]
    if not tracks:
        raise InputError(f"{musdb_root}: no tracks in split(s) {', '.join(cfg.splits)}")
    songs = [SongSource(t.name, tuple(str(p) for p in t.stems.values()), {p.name: role for role, p in t.stems.items()})
             for t in tracks]
    bar = tqdm(total=len(songs), desc="profile", unit="track", disable=not progress)
    profile, _ = fit_profile(songs, name, "mixingbuddy-train profile",
                             f"MUSDB18-HQ {'+'.join(cfg.splits)} tracks",
                             progress=lambda f, msg: bar.update(round(f * len(songs)) - bar.n), window_s=cfg.window_s)
    bar.close()
    profile["provenance"].update({"musdb_root": str(Path(musdb_root).resolve()), "split": "+".join(cfg.splits),
                                  "tracks": len(tracks)})
    return profile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--musdb", required=True, metavar="ROOT", help="MUSDB18-HQ folder (train/ and test/)")
    parser.add_argument("--out", required=True, metavar="FILE", help="profile JSON to write")
    parser.add_argument("--name", default="musdb", help="the profile's name (default musdb)")
    parser.add_argument("--config", action="append", default=[], metavar="FILE.toml", help="profile config file(s)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    cfg = config_mod.resolve("profile", args.config, args.set)
    profile = fit(args.musdb, cfg, progress=not args.quiet, name=args.name)
    out = write_profile(profile, args.out)
    p = profile["provenance"]
    print(f"profile '{args.name}' from {p['tracks']} tracks ({sum(p['windows_per_pair'].values())} pair windows) -> {out}")
    return 0
