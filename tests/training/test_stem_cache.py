"""Stem cache: 24 kHz mono float16 memory-maps, resampled once, rebuilt only when the source changes."""

from __future__ import annotations

import numpy as np

from model.audio.decode import to_mono
from model.audio.dsp import resample
from training.musdb import walk
from training.stem_cache import StemCache


def test_build_once_and_memory_map(tmp_path, write_track, noise_stems):
    stems = noise_stems(1.0, seed=3)
    write_track(tmp_path / "musdb" / "train" / "A", stems)
    write_track(tmp_path / "musdb" / "test" / "B", noise_stems(1.0, seed=4))
    track = walk(tmp_path / "musdb")[0]
    cache = StemCache(tmp_path / "stems", fmt="npy")
    assert cache.build(track) is True
    assert cache.build(track) is False  # current: skipped (resumable)
    cached = cache.stems(track.key)
    assert set(cached) == {"vocals", "drums", "bass", "other"}
    vocals = cached["vocals"]
    assert isinstance(vocals, np.memmap) and vocals.dtype == np.float16 and len(vocals) == 24000
    expected = resample(to_mono(stems["vocals"]), 44100, 24000)
    np.testing.assert_allclose(np.asarray(vocals, dtype=np.float32), expected, atol=2e-3 * np.abs(expected).max())
    chunk = cache.chunk(track.key, 100, 50)
    assert chunk["bass"].dtype == np.float32 and chunk["bass"].shape == (50,)


def test_changed_source_is_rebuilt(tmp_path, write_track, noise_stems):
    write_track(tmp_path / "musdb" / "train" / "A", noise_stems(0.5, seed=1))
    write_track(tmp_path / "musdb" / "test" / "B", noise_stems(0.5, seed=2))
    cache = StemCache(tmp_path / "stems")
    track = walk(tmp_path / "musdb")[0]
    cache.build(track)
    write_track(tmp_path / "musdb" / "train" / "A", noise_stems(0.7, seed=5))
    track = walk(tmp_path / "musdb")[0]
    assert not cache.is_current(track)
    assert cache.build(track) is True
    assert len(cache.stems(track.key)["drums"]) == round(0.7 * 24000)


def test_flac_cache_matches_the_signal_and_reads_chunks_exactly(tmp_path, write_track, noise_stems):
    """16-bit FLAC: within one 16-bit step of the resampled signal; a seeked chunk equals the same slice."""
    stems = noise_stems(1.5, seed=6)
    stems["drums"] = stems["drums"] * 14.0  # peaks above full scale: stored scaled, never clipped
    write_track(tmp_path / "musdb" / "train" / "A", stems)
    write_track(tmp_path / "musdb" / "test" / "B", noise_stems(0.5, seed=7))
    track = walk(tmp_path / "musdb")[0]
    cache = StemCache(tmp_path / "stems")  # default format
    assert cache.build(track) is True and cache.meta(track.key)["format"] == "flac"
    assert (cache.folder(track.key) / "vocals.flac").is_file()
    full = cache.stems(track.key)
    for role in ("vocals", "drums"):
        expected = resample(to_mono(stems[role]), 44100, 24000)
        scale = max(1.0, float(np.abs(expected).max()) * 1.0001)
        assert np.abs(full[role] - expected).max() <= scale * 2.0 ** -15 + 1e-7
    assert np.abs(full["drums"]).max() > 1.0
    chunk = cache.chunk(track.key, 12345, 6000)
    for role, audio in chunk.items():
        assert audio.dtype == np.float32 and audio.shape == (6000,)
        np.testing.assert_array_equal(audio, full[role][12345:12345 + 6000])
    assert StemCache(tmp_path / "stems", fmt="npy").is_current(track) is False  # format change -> rebuilt
