"""Shared training fixtures: a tiny demo MUSDB corpus (2 train + 1 test song, 25 s) and its synthesis."""

from __future__ import annotations

import json
import struct
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


# --- issue 6 §3: no pickle in a run folder ---------------------------------------

PICKLE_SUFFIXES = {".bin", ".pkl", ".pickle", ".pt", ".pth", ".ckpt"}


def _is_safetensors(path: Path) -> bool:
    """A well-formed safetensors header: u64 length, then that many bytes of a JSON object."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            return False
        (n,) = struct.unpack("<Q", head)
        if n > path.stat().st_size - 8:
            return False
        try:
            return isinstance(json.loads(f.read(n)), dict)
        except ValueError:
            return False


def _pickle_problems(folder: Path) -> list[str]:
    """Every file in ``folder`` that is, or may hold, a pickle."""
    bad = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(folder).as_posix()
        if p.suffix.lower() in PICKLE_SUFFIXES:
            bad.append(f"{rel}: pickle-style suffix")
            continue
        with open(p, "rb") as f:
            head = f.read(4)
        if head.startswith(b"PK\x03\x04"):
            bad.append(f"{rel}: a zip archive (torch.save's format)")
        elif p.suffix == ".safetensors":
            if not _is_safetensors(p):  # (a safetensors length prefix may begin with 0x80: check the header instead)
                bad.append(f"{rel}: not a valid safetensors file")
        elif head.startswith(b"\x80"):
            bad.append(f"{rel}: starts with the pickle protocol header")
    return bad


@pytest.fixture
def pickle_problems():
    """pickle_problems(folder) -> list of files that are, or may hold, a pickle (empty when clean)."""
    return _pickle_problems
