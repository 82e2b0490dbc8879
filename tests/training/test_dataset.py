"""MixDataset: on-the-fly mixes, augmentation only in training, seeded by (seed, epoch, index)."""

from __future__ import annotations

import numpy as np
import pytest

from model.errors import InputError
from training.dataset import MixDataset, augment


def test_eval_split_is_the_plain_mix(synth_data):
    ds = MixDataset(synth_data, "test")
    item = ds[3]
    assert item["audio"].dtype == np.float32 and item["audio"].shape == (240000,)
    np.testing.assert_array_equal(item["audio"], ds.mix(3))
    assert item["response"] == ds.rows[3]["response"] and item["global_uid"] == ds.rows[3]["global_uid"]


def test_augmentation_seeded_per_seed_epoch_index(synth_data):
    ds = MixDataset(synth_data, "train", augment=True, seed=5)
    a = ds[2]["audio"]
    np.testing.assert_array_equal(a, MixDataset(synth_data, "train", augment=True, seed=5)[2]["audio"])
    assert not np.array_equal(a, ds.mix(2))
    assert np.abs(a).max() <= 1.0
    ds.set_epoch(1)
    assert not np.array_equal(a, ds[2]["audio"])
    assert not np.array_equal(a, MixDataset(synth_data, "train", augment=True, seed=6)[2]["audio"])


def test_augmentation_chain_order():
    """gain -> noise at SNR relative to the post-gain RMS -> DC -> clamp, as the reference."""
    x = (0.5 * np.sin(np.linspace(0, 200, 24000))).astype(np.float32)
    y, p = augment(x, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    gain, snr, dc = rng.uniform(-3, 3), rng.uniform(40, 60), rng.uniform(-0.005, 0.005)
    assert (p.gain_db, p.snr_db, p.dc) == (gain, snr, dc)
    g = x * np.float32(10 ** (gain / 20))
    noise = rng.standard_normal(len(x)) * (np.sqrt(np.mean(g.astype(np.float64) ** 2)) / 10 ** (snr / 20))
    np.testing.assert_allclose(y, np.clip(g + noise.astype(np.float32) + np.float32(dc), -1, 1), atol=1e-6)
    loud, _ = augment(np.full(100, 0.999, np.float32), np.random.default_rng(1))
    assert loud.max() <= 1.0


def test_copies_flag_and_missing_manifest(synth_data, tmp_path):
    full = MixDataset(synth_data, "train")
    plain = MixDataset(synth_data, "train", include_copies=False)
    assert len(full) > len(plain) and all("augmentation" not in r["meta"] for r in plain.rows)
    copy_idx = next(i for i, r in enumerate(full.rows) if "augmentation" in r["meta"])
    original = full.rows[copy_idx - 1 - int(full.rows[copy_idx]["global_uid"][-1])]
    g = 10 ** (full.rows[copy_idx]["meta"]["augmentation"]["gain_db"] / 20)
    np.testing.assert_allclose(full.mix(copy_idx), np.clip(full.mix(full.rows.index(original)) * g, -1, 1),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="manifest not found"):
        MixDataset(tmp_path, "train")
