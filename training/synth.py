"""`mixingbuddy-train synth`: MUSDB18-HQ -> stem cache + manifest JSONL of flawed-mix samples (the paper's recipe).

Per gated 10 s chunk: 3 anchors x 2 targets x 5 categories = 30 records, a gain
drawn uniformly in the category range from a generator seeded by (seed, split,
track, chunk, anchor, target, category), and template variants assigned
round-robin over one seeded shuffle per split. Mixes are not
written: ``render_mix`` builds them from the cache on demand (``--render-wav``
writes them for inspection). Same seed and tree -> byte-identical manifests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from model.advice.templates import GAIN_RANGE_DB, INSTRUCTIONS, RESPONSES, TEMPLATE_VERSION, render_instruction, \
    render_response
from model.audio.segments import passes_gate
from training import config as config_mod
from training.musdb import SPLITS, MusdbTrack, by_split, walk
from training.stem_cache import StemCache

MANIFEST_VERSION = 1
GAIN_CLAMP_DB = 15.0


def _hash_int(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def record_rng(seed: int, *key: object) -> np.random.Generator:
    """A generator seeded by the seed and the record's identity (independent of order and of other splits)."""
    return np.random.default_rng([int(seed), _hash_int(*key)])


def draw_gain(seed: int, split: str, track: str, chunk: int, anchor: str, target: str, category: str) -> float:
    lo, hi = GAIN_RANGE_DB[category]
    if category == "no_error":
        return 0.0
    g = float(record_rng(seed, split, track, chunk, anchor, target, category).uniform(lo, hi))
    return max(-GAIN_CLAMP_DB, min(GAIN_CLAMP_DB, g))


def gated_chunks(cache: StemCache, key: str, chunk_len: int, sample_rate: int) -> list[tuple[int, bool]]:
    """(chunk_idx, passes_gate) for every full chunk; chunk_idx counts gated-out chunks too."""
    stems = cache.stems(key)
    n = min(len(a) for a in stems.values()) // chunk_len
    out = []
    for c in range(n):
        chunk = {r: np.asarray(a[c * chunk_len:(c + 1) * chunk_len], dtype=np.float32) for r, a in stems.items()}
        out.append((c, bool(passes_gate(chunk, sample_rate))))
    return out


class TemplateAssigner:
    """Round-robin template variants over one seeded shuffle per split (instructions; responses per category)."""

    def __init__(self, seed: int, split: str) -> None:
        rng = random.Random(f"mixingbuddy-templates-{seed}-{split}")
        self.instr = list(range(len(INSTRUCTIONS)))
        rng.shuffle(self.instr)
        self.resp = {}
        for category in sorted(RESPONSES):
            perm = list(range(len(RESPONSES[category])))
            rng.shuffle(perm)
            self.resp[category] = perm
        self.i = 0
        self.k = {c: 0 for c in RESPONSES}

    def next(self, category: str) -> tuple[int, int]:
        inst = self.instr[self.i % len(self.instr)]
        resp = self.resp[category][self.k[category] % len(self.resp[category])]
        self.i += 1
        self.k[category] += 1
        return inst, resp


def split_records(cfg: config_mod.SynthConfig, split: str, tracks: Sequence[MusdbTrack],
                  gates: dict[str, list[tuple[int, bool]]]) -> Iterator[dict]:
    """Manifest rows of one split, in file order."""
    assign = TemplateAssigner(cfg.seed, split)
    chunk_s = cfg.chunk_s
    for t_idx, track in enumerate(tracks):
        for chunk_idx, ok in gates[track.key]:
            if not ok:
                continue
            start = chunk_idx * chunk_s
            for anchor in cfg.anchors:
                for target in [t for t in cfg.targets if t != anchor]:
                    for category in cfg.categories:
                        gain = draw_gain(cfg.seed, split, track.name, chunk_idx, anchor, target, category)
                        i_var, r_var = assign.next(category)
                        uid = f"{split}_track{t_idx:03d}_chunk{chunk_idx:03d}_a-{anchor}_t-{target}_e-{category}"
                        row = {
                            "global_uid": uid,
                            "instruction": render_instruction(i_var, cfg.stems_present, anchor, chunk_s),
                            "response": render_response(category, target, r_var),
                            "meta": {
                                "track_name": track.name, "split": split, "chunk_idx": chunk_idx,
                                "time_ref": {"start_sec": start, "end_sec": start + chunk_s},
                                "target_stem": target, "anchor_stem": anchor, "error_category": category,
                                "intended_gain_db": gain, "stems_present": list(cfg.stems_present),
                            },
                            "stem_cache_key": track.key,
                            "template_ids": {"instruction": i_var, "response": f"{category}/{r_var}",
                                             "version": TEMPLATE_VERSION},
                            "seed": cfg.seed,
                            "manifest_version": MANIFEST_VERSION,
                        }
                        yield row
                        if split == "train" and category == "no_error":
                            yield from no_error_copies(cfg, row)


def no_error_copies(cfg: config_mod.SynthConfig, row: dict) -> Iterator[dict]:
    """The reference's gain-shifted no_error copies (whole mix x U(-3, +3) dB), seeded, rendered on the fly."""
    for i in range(cfg.no_error_copies):
        rng = record_rng(cfg.seed, row["global_uid"], "copy", i)
        gain = float(rng.uniform(-cfg.no_error_copy_db, cfg.no_error_copy_db))
        copy = json.loads(json.dumps(row))
        copy["global_uid"] = f"{row['global_uid']}_aug_{i}"
        copy["meta"]["augmentation"] = {"type": "gain_shift", "gain_db": gain}
        yield copy


def render_mix(stems: dict[str, np.ndarray], row: dict) -> np.ndarray:
    """The flawed mix: target x 10^(g/20), plain sum of the stems (no normalisation); copies shift the whole mix."""
    meta = row["meta"]
    gain = 10.0 ** (float(meta["intended_gain_db"]) / 20.0)
    mix = np.zeros(len(next(iter(stems.values()))), dtype=np.float32)
    for role, audio in stems.items():
        mix += np.asarray(audio, dtype=np.float32) * (np.float32(gain) if role == meta["target_stem"] else 1)
    aug = meta.get("augmentation")
    if aug and aug.get("type") == "gain_shift":
        mix = np.clip(mix * np.float32(10.0 ** (aug["gain_db"] / 20.0)), -1.0, 1.0)
    return mix


def row_chunk(cache: StemCache, row: dict) -> dict[str, np.ndarray]:
    """The untouched stems of a row's chunk (float32)."""
    ref = row["meta"]["time_ref"]
    sr = cache.sample_rate
    start = int(round(ref["start_sec"] * sr))
    length = int(round((ref["end_sec"] - ref["start_sec"]) * sr))
    return cache.chunk(row["stem_cache_key"], start, length)


def read_manifest(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write_jsonl(path: Path, rows: Iterable[dict]) -> tuple[int, str]:
    tmp = path.with_name(f".{path.name}.tmp")
    h = hashlib.sha256()
    n = 0
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            line = json.dumps(row, ensure_ascii=False) + "\n"
            f.write(line)
            h.update(line.encode("utf-8"))
            n += 1
    os.replace(tmp, path)
    return n, h.hexdigest()


def synthesize(musdb_root: str | Path, out: str | Path, cfg: config_mod.SynthConfig, progress: bool = True) -> dict:
    """Build the stem cache (resumable), gate chunks and write the manifests; returns the summary."""
    from tqdm import tqdm

    out = Path(out)
    tracks = walk(musdb_root, cfg.val_tracks, cfg.seed, cfg.val_share)
    cache = StemCache(out / "stems", cfg.sample_rate, cfg.cache_format)
    chunk_len = int(round(cfg.chunk_s * cfg.sample_rate))
    gates: dict[str, list[tuple[int, bool]]] = {}
    built = 0
    for track in tqdm(tracks, desc="stem cache + gate", unit="track", disable=not progress):
        built += cache.build(track)
        gates[track.key] = gated_chunks(cache, track.key, chunk_len, cfg.sample_rate)
    (out / "manifest").mkdir(parents=True, exist_ok=True)
    summary: dict = {"manifest_version": MANIFEST_VERSION, "template_version": TEMPLATE_VERSION,
                     "seed": cfg.seed, "musdb_root": str(Path(musdb_root).resolve()), "splits": {}}
    for split, split_tracks in by_split(tracks).items():
        rows = split_records(cfg, split, split_tracks, gates)
        n, digest = _write_jsonl(out / "manifest" / f"{split}.jsonl", rows)
        summary["splits"][split] = {
            "tracks": [t.name for t in split_tracks], "records": n, "sha256": digest,
            "chunks": sum(len(gates[t.key]) for t in split_tracks),
            "gated_chunks": sum(ok for t in split_tracks for _, ok in gates[t.key]),
        }
    summary["stem_cache"] = {"tracks": len(tracks), "built_now": built, "sample_rate": cfg.sample_rate,
                             "format": cfg.cache_format}
    config_mod.dump_json(cfg, out / "synth_config.json", "synth")
    (out / "synth.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if cfg.render_wav:
        render_wavs(out, cache, progress)
    return summary


def render_wavs(out: Path, cache: StemCache, progress: bool = True, subtype: str = "PCM_24") -> int:
    """Write every flawed mix as a WAV under ``out/wav/<split>/`` (inspection only; the reference's way)."""
    import soundfile as sf
    from tqdm import tqdm

    n = 0
    for split in SPLITS:
        path = out / "manifest" / f"{split}.jsonl"
        if not path.is_file():
            continue
        folder = out / "wav" / split
        folder.mkdir(parents=True, exist_ok=True)
        for row in tqdm(read_manifest(path), desc=f"render {split}", unit="mix", disable=not progress):
            sf.write(str(folder / f"{row['global_uid']}.wav"), render_mix(row_chunk(cache, row), row),
                     cache.sample_rate, subtype=subtype)
            n += 1
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--musdb", required=True, metavar="ROOT", help="MUSDB18-HQ folder (train/ and test/)")
    parser.add_argument("--out", required=True, metavar="DATA", help="output folder (stem cache + manifests)")
    parser.add_argument("--seed", type=int, help="synthesis seed (default from the config: 42)")
    parser.add_argument("--render-wav", action="store_true", help="also write every flawed mix as WAV (inspection)")
    parser.add_argument("--config", action="append", default=[], metavar="FILE.toml", help="synth config file(s)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    sets = list(args.set)
    if args.seed is not None:
        sets.append(f"seed={args.seed}")
    if args.render_wav:
        sets.append("render_wav=true")
    cfg = config_mod.resolve("synth", args.config, sets)
    summary = synthesize(args.musdb, args.out, cfg, progress=not args.quiet)
    for split, s in summary["splits"].items():
        print(f"{split}: {len(s['tracks'])} tracks, {s['gated_chunks']}/{s['chunks']} chunks gated, "
              f"{s['records']} records")
    print(f"manifests in {Path(args.out) / 'manifest'}")
    return 0
