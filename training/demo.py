"""`mixingbuddy-train demo-data`: a MUSDB18-HQ-layout corpus from the seeded generator (no MUSDB needed).

``OUT/{train,test}/<track>/{vocals,drums,bass,other}.wav``, 44.1 kHz stereo
16-bit WAV as in MUSDB18-HQ, from ``model.synthetic.synth_stems``. Each song gets its own seed and
a seeded role jitter, so songs differ in balance as real ones do.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from model.errors import InputError
from model.synthetic import SR, write_multitrack


def track_name(split: str, index: int, seed: int) -> str:
    return f"Synthetic {split.title()} - Song {index:02d} (seed {seed})"


def write_corpus(out: str | Path, songs: int = 2, test_songs: int | None = None, seconds: float = 25.0,
                 seed: int = 0, jitter_db: float = 2.0, progress: bool = False) -> list[Path]:
    """Write ``songs`` train and ``test_songs`` (default max(1, songs // 2)) test tracks; returns the folders."""
    from model.synthetic import synth_stems
    from tqdm import tqdm

    if songs < 1 or seconds <= 0:
        raise InputError("demo-data: --songs must be >= 1 and --seconds > 0")
    n_test = max(1, songs // 2) if test_songs is None else test_songs
    plan = [("train", i) for i in range(songs)] + [("test", i) for i in range(n_test)]
    folders = []
    for k, (split, i) in enumerate(tqdm(plan, desc="demo songs", unit="song", disable=not progress)):
        song_seed = seed * 1000 + k
        stems = synth_stems(song_seed, seconds, SR, jitter_db=jitter_db)
        folder = Path(out) / split / track_name(split, i, song_seed)
        write_multitrack(folder, stems, SR, subtype="PCM_16")
        folders.append(folder)
    return folders


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="OUT", help="output folder (MUSDB18-HQ layout)")
    parser.add_argument("--songs", type=int, default=2, help="train songs (default 2)")
    parser.add_argument("--test-songs", type=int, help="test songs (default max(1, songs // 2))")
    parser.add_argument("--seconds", type=float, default=25.0, help="length of each song (default 25)")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    folders = write_corpus(args.out, args.songs, args.test_songs, args.seconds, args.seed, progress=not args.quiet)
    print(f"wrote {len(folders)} tracks to {args.out}")
    return 0
