"""Shared training fixtures: a tiny demo MUSDB corpus (2 train + 1 test song, 25 s) and its synthesis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="session")
def fake_musdb(tmp_path_factory) -> Path:
    """MUSDB18-HQ-layout corpus from model.synthetic (2 train + 1 test song of 25 s)."""
    from training.demo import write_corpus

    root = tmp_path_factory.mktemp("musdb")
    write_corpus(root, songs=2, test_songs=1, seconds=25.0, seed=0)
    return root


@pytest.fixture(scope="session")
def synth_data(fake_musdb, tmp_path_factory) -> Path:
    """`synth` output (stem cache + manifests) for fake_musdb with the default config."""
    from training import config
    from training.synth import synthesize

    out = tmp_path_factory.mktemp("data")
    synthesize(fake_musdb, out, config.resolve("synth"), progress=False)
    return out


def _write_track(folder: Path, stems: dict[str, np.ndarray], sample_rate: int = 44100) -> Path:
    """Write one MUSDB track folder from role -> (frames, 2) arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    for role, audio in stems.items():
        sf.write(str(folder / f"{role}.wav"), audio, sample_rate, subtype="FLOAT")
    return folder


def _noise_stems(seconds: float, seed: int = 0, sample_rate: int = 44100, level: float = 0.1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    return {r: (level * rng.standard_normal((n, 2))).astype(np.float32) for r in ("vocals", "drums", "bass", "other")}


@pytest.fixture
def write_track():
    """write_track(folder, stems, sample_rate=44100): one MUSDB track folder."""
    return _write_track


@pytest.fixture
def noise_stems():
    """noise_stems(seconds, seed=0, sample_rate=44100, level=0.1): four stereo white-noise stems."""
    return _noise_stems


TINY_SETS = ["train.max_steps=4", "train.effective_batch=2", "train.per_device_batch=1", "train.log_every=1",
             "train.val_samples=2", "train.val_generate=2", "train.val_every=2", "train.save_every=2"]


@pytest.fixture(scope="session")
def tiny_run(synth_data, tmp_path_factory) -> Path:
    """A 4-step tiny-cpu run through the CLI (validation and checkpoints every 2 steps)."""
    from training import cli

    run = tmp_path_factory.mktemp("run") / "run"
    args = ["train", "--preset", "tiny-cpu", "--data", str(synth_data), "--out", str(run), "--quiet"]
    for s in TINY_SETS:
        args += ["--set", s]
    assert cli.main(args) == 0
    return run
