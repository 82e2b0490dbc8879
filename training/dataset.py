"""MixDataset: map-style, one manifest row -> the flawed mix rendered on the fly from the stem cache.

Training-time augmentation (the reference implementation's chain, in order): gain
U(-3, +3) dB -> white noise at SNR U(40, 60) dB relative to the post-gain RMS ->
DC U(-0.005, +0.005) -> clamp to [-1, 1]; seeded by (seed, epoch, index), so a
sample is the same in any worker and after a resume.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.errors import InputError
from training.stem_cache import StemCache
from training.synth import read_manifest, render_mix, row_chunk

GAIN_DB = 3.0
SNR_DB = (40.0, 60.0)
DC = 0.005


@dataclass(frozen=True)
class Augmentation:
    """The drawn augmentation parameters of one sample."""

    gain_db: float
    snr_db: float
    dc: float


def augment(audio: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, Augmentation]:
    """Gain -> white noise at an SNR relative to the post-gain RMS -> DC offset -> clamp."""
    params = Augmentation(float(rng.uniform(-GAIN_DB, GAIN_DB)), float(rng.uniform(*SNR_DB)),
                          float(rng.uniform(-DC, DC)))
    x = audio.astype(np.float32) * np.float32(10.0 ** (params.gain_db / 20.0))
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    noise_rms = rms / (10.0 ** (params.snr_db / 20.0))
    x = x + (rng.standard_normal(len(x)) * noise_rms).astype(np.float32)
    x = x + np.float32(params.dc)
    return np.clip(x, -1.0, 1.0).astype(np.float32), params


class MixDataset:
    """Rows of one split's manifest; ``__getitem__`` renders the mix (and augments it when ``augment``)."""

    def __init__(self, data_dir: str | Path, split: str, augment: bool = False, seed: int = 0,
                 include_copies: bool = True, limit: int | None = None) -> None:
        data_dir = Path(data_dir)
        path = data_dir / "manifest" / f"{split}.jsonl"
        if not path.is_file():
            raise InputError(f"{path}: manifest not found (run `mixingbuddy-train synth` first)")
        rows = read_manifest(path)
        if not include_copies:
            rows = [r for r in rows if "augmentation" not in r["meta"]]
        self.rows = rows[:limit] if limit else rows
        self.cache = StemCache(data_dir / "stems")
        self.split = split
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.rows)

    def mix(self, index: int) -> np.ndarray:
        """The un-augmented flawed mix of a row."""
        row = self.rows[index]
        return render_mix(row_chunk(self.cache, row), row)

    def __getitem__(self, index: int) -> dict:
        row = self.rows[index]
        audio = self.mix(index)
        if self.augment:
            audio, _ = augment(audio, np.random.default_rng([self.seed, self.epoch, int(index)]))
        meta = row["meta"]
        return {"index": int(index), "audio": audio, "instruction": row["instruction"], "response": row["response"],
                "global_uid": row["global_uid"], "target_stem": meta["target_stem"],
                "anchor_stem": meta["anchor_stem"], "error_category": meta["error_category"]}
