"""Synthesis benchmark: on-the-fly mixes from the stem cache vs writing every flawed mix as a 24-bit WAV.

Measured side by side in one run on a demo corpus (model.synthetic via `demo-data`):
disk footprint (stem cache + manifests vs one WAV per record, the reference's way)
and samples/s (rendering a mix in memory vs rendering and writing its WAV), for both
stem-cache formats: 16-bit FLAC (the default) and float16 memory-maps (``npy``).
Both formats must give byte-identical manifests here (checked).

Caveat: the demo stems are synthetic; FLAC's gain on real MUSDB18-HQ stems differs
(real stems have silences, which FLAC compresses well, and denser spectra, which it
compresses less well). The WAV side is format-independent: 3 bytes x 240,000 per record.

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

TARGET = 20.0


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _fly(data: Path) -> tuple[int, float]:
    from training.dataset import MixDataset

    records = 0
    t0 = time.perf_counter()
    for split in ("train", "val", "test"):
        ds = MixDataset(data, split)
        for i in range(len(ds)):
            ds.mix(i)
        records += len(ds)
    return records, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    from training import config
    from training.demo import write_corpus
    from training.stem_cache import StemCache
    from training.synth import render_wavs, synthesize

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=3, help="train songs (test songs = songs // 2)")
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_corpus(tmp / "musdb", songs=args.songs, seconds=args.seconds, seed=1)
        manifests = {}
        for fmt in ("flac", "npy"):
            data = tmp / f"data-{fmt}"
            t0 = time.perf_counter()
            synthesize(tmp / "musdb", data, config.resolve("synth", sets=[f'cache_format="{fmt}"']), progress=False)
            t_synth = time.perf_counter() - t0
            disk = _size(data / "stems") + _size(data / "manifest")
            records, t_fly = _fly(data)
            manifests[fmt] = [(data / "manifest" / f"{s}.jsonl").read_bytes() for s in ("train", "val", "test")]
            result[fmt] = {"disk_bytes": disk, "stem_cache_bytes": _size(data / "stems"), "synth_s": round(t_synth, 2),
                           "samples_per_s": round(records / t_fly, 1)}
        data = tmp / "data-flac"
        t0 = time.perf_counter()
        written = render_wavs(data, StemCache(data / "stems"), progress=False)
        t_wav = time.perf_counter() - t0
        wav_bytes = _size(data / "wav") + _size(data / "manifest")
        wav_rate = written / t_wav
    result.update({
        "records": records, "wav_files": written, "disk_wav_bytes": wav_bytes,
        "samples_per_s_wav_write": round(wav_rate, 1),
        "manifests_identical_across_formats": manifests["flac"] == manifests["npy"],
    })
    for fmt in ("flac", "npy"):
        r = result[fmt]
        r["disk_ratio"] = round(wav_bytes / r["disk_bytes"], 2)
        r["speed_ratio"] = round(r["samples_per_s"] / wav_rate, 2)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{records} records; every mix as 24-bit WAV (+ manifests): {wav_bytes / 1e6:.1f} MB, "
              f"{result['samples_per_s_wav_write']} mixes/s rendered and written")
        for fmt, label in (("flac", "16-bit FLAC stem cache (default)"), ("npy", "float16 npy stem cache")):
            r = result[fmt]
            verdict = "PASS" if r["disk_ratio"] >= TARGET else "MISS"
            print(f"  {label}: {r['disk_bytes'] / 1e6:.2f} MB -> {r['disk_ratio']}x less disk [{verdict} >= "
                  f"{TARGET:g}x]; {r['samples_per_s']} mixes/s on the fly ({r['speed_ratio']}x the WAV writer); "
                  f"synth {r['synth_s']} s")
        print(f"  manifests identical across cache formats: {result['manifests_identical_across_formats']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
