"""`mixingbuddy-train profile`: refit the BalanceAdvisor profile on gated MUSDB18-HQ train windows.

Per (role, anchor) pair: median and quartiles of (role loudness - anchor loudness)
in LU, BS.1770 integrated loudness (``model.audio.dsp.loudness_lufs``) of the stereo
stems, per gated 10 s window (``model.audio.segments.passes_gate`` on the mono stems,
the gate the synthesis uses). Written in ``resources/balance_profile.json``'s format.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
from pathlib import Path

import numpy as np

from model.audio.decode import load_audio, to_mono
from model.advice.balance import PROFILE_FORMAT
from model.audio.dsp import loudness_lufs
from model.errors import AudioFormatError, InputError
from model.audio.roles import ROLES, TARGET_ROLES
from model.audio.segments import passes_gate
from training import config as config_mod
from training.musdb import walk

ANCHORS = TARGET_ROLES
STATISTIC = ("role loudness minus anchor loudness in LU: BS.1770 integrated loudness (libebur128) of the stereo "
             "role mixes, per gated 10 s window; median and quartiles over windows")


def pair_keys() -> list[str]:
    return [f"{role}|{anchor}" for anchor in ANCHORS for role in ROLES if role != anchor]


def window_offsets(stems: dict[str, np.ndarray], sample_rate: int, window_s: float) -> list[dict[str, float]]:
    """Per gated window: role -> loudness (LUFS) of the stereo stems."""
    n = min(len(a) for a in stems.values())
    size = int(round(window_s * sample_rate))
    out = []
    for start in range(0, n - size + 1, size):
        cut = {r: a[start:start + size] for r, a in stems.items()}
        if not passes_gate({r: to_mono(a) for r, a in cut.items()}, sample_rate):
            continue
        out.append({r: loudness_lufs(a, sample_rate) for r, a in cut.items()})
    return out


def fit(musdb_root: str | Path, cfg: config_mod.ProfileConfig, progress: bool = True) -> dict:
    """Measure every gated window of the chosen splits and return the profile dict."""
    from tqdm import tqdm

    tracks = [t for t in walk(musdb_root) if t.split in cfg.splits]
    if not tracks:
        raise InputError(f"{musdb_root}: no tracks in split(s) {', '.join(cfg.splits)}")
    diffs: dict[str, list[float]] = {k: [] for k in pair_keys()}
    windows = 0
    for track in tqdm(tracks, desc="profile", unit="track", disable=not progress):
        stems = {}
        for role, path in track.stems.items():
            try:
                audio, info = load_audio(path)
            except AudioFormatError as exc:
                raise InputError(f"{path}: {exc}") from None
            stems[role] = audio if audio.shape[1] == 2 else np.repeat(audio, 2, axis=1)
        for levels in window_offsets(stems, track.sample_rate, cfg.window_s):
            windows += 1
            for key in diffs:
                role, anchor = key.split("|")
                d = levels[role] - levels[anchor]
                if math.isfinite(d):
                    diffs[key].append(d)
    if windows == 0:
        raise InputError(f"{musdb_root}: no window passed the gate; cannot fit a profile")
    pairs = {}
    for key, values in diffs.items():
        q25, med, q75 = (float(v) for v in np.percentile(values, [25, 50, 75])) if values else (0.0, 0.0, 0.0)
        pairs[key] = {"median": round(med, cfg.decimals), "q25": round(q25, cfg.decimals),
                      "q75": round(q75, cfg.decimals), "n": len(values),
                      "source": f"measured: {len(values)} gated {cfg.window_s:g} s windows"}
    return {
        "format": PROFILE_FORMAT,
        "statistic": STATISTIC,
        "thresholds_db": {"ok": 3.0, "very": 6.0},
        "provenance": {
            "fitted_on": _dt.date.today().isoformat(),
            "method": "mixingbuddy-train profile",
            "musdb_root": str(Path(musdb_root).resolve()),
            "split": "+".join(cfg.splits),
            "tracks": len(tracks),
            "windows": windows,
            "window_s": cfg.window_s,
        },
        "pairs": pairs,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--musdb", required=True, metavar="ROOT", help="MUSDB18-HQ folder (train/ and test/)")
    parser.add_argument("--out", required=True, metavar="FILE", help="profile JSON to write")
    parser.add_argument("--config", action="append", default=[], metavar="FILE.toml", help="profile config file(s)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    cfg = config_mod.resolve("profile", args.config, args.set)
    profile = fit(args.musdb, cfg, progress=not args.quiet)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(profile, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    p = profile["provenance"]
    print(f"profile from {p['tracks']} tracks, {p['windows']} gated windows -> {out}")
    return 0
