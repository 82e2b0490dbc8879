"""Synthesis benchmark: on-the-fly mixes from the stem cache vs writing every flawed mix as a 24-bit WAV.

Measured side by side in one run on a demo corpus (model.synthetic via `demo-data`):
disk footprint (stem cache + manifests vs one WAV per record, the reference's way)
and samples/s (rendering a mix in memory vs rendering and writing its WAV).

    .venv/bin/python benchmarks/bench_synth.py [--songs 3] [--seconds 40] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    from training import config
    from training.dataset import MixDataset
    from training.demo import write_corpus
    from training.stem_cache import StemCache
    from training.synth import render_wavs, synthesize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=3, help="train songs (test songs = songs // 2)")
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_corpus(tmp / "musdb", songs=args.songs, seconds=args.seconds, seed=1)
        cfg = config.resolve("synth")
        t0 = time.perf_counter()
        synthesize(tmp / "musdb", tmp / "data", cfg, progress=False)
        t_synth = time.perf_counter() - t0
        ours = _size(tmp / "data" / "stems") + _size(tmp / "data" / "manifest")
        records = 0
        t0 = time.perf_counter()
        for split in ("train", "val", "test"):
            ds = MixDataset(tmp / "data", split)
            for i in range(len(ds)):
                ds.mix(i)
            records += len(ds)
        t_fly = time.perf_counter() - t0
        t0 = time.perf_counter()
        written = render_wavs(tmp / "data", StemCache(tmp / "data" / "stems"), progress=False)
        t_wav = time.perf_counter() - t0
        wav_bytes = _size(tmp / "data" / "wav") + _size(tmp / "data" / "manifest")
        result = {
            "records": records, "wav_files": written,
            "disk_on_the_fly_bytes": ours, "disk_wav_bytes": wav_bytes,
            "disk_ratio": round(wav_bytes / ours, 2),
            "synth_s": round(t_synth, 2),
            "samples_per_s_on_the_fly": round(records / t_fly, 1),
            "samples_per_s_wav_write": round(written / t_wav, 1),
            "speed_ratio": round((records / t_fly) / (written / t_wav), 2),
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{records} records; disk: stem cache + manifests {ours / 1e6:.1f} MB vs every mix as 24-bit WAV "
              f"{wav_bytes / 1e6:.1f} MB -> {result['disk_ratio']}x less (target >= 20x)")
        print(f"synth (cache + gate + manifests) {t_synth:.1f} s; rendering {result['samples_per_s_on_the_fly']} "
              f"mixes/s in memory vs {result['samples_per_s_wav_write']} mixes/s written as WAV "
              f"({result['speed_ratio']}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
