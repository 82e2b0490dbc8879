"""demo-data: MUSDB18-HQ layout, 44.1 kHz stereo, deterministic per seed."""

from __future__ import annotations

import soundfile as sf

from training import cli
from training.musdb import STEMS


def test_layout_and_format(fake_musdb):
    train = sorted(p for p in (fake_musdb / "train").iterdir())
    test = sorted(p for p in (fake_musdb / "test").iterdir())
    assert len(train) == 2 and len(test) == 1
    for track in train + test:
        assert sorted(p.name for p in track.iterdir()) == sorted(f"{r}.wav" for r in STEMS)
        for role in STEMS:
            info = sf.info(str(track / f"{role}.wav"))
            assert (info.samplerate, info.channels) == (44100, 2)
            assert abs(info.frames / info.samplerate - 25.0) < 0.01


def test_same_seed_same_bytes(tmp_path):
    for name in ("a", "b"):
        assert cli.main(["demo-data", str(tmp_path / name), "--songs", "1", "--seconds", "2", "--seed", "5",
                         "--quiet"]) == 0
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.wav"))
    assert len(files_a) == 8
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert cli.main(["demo-data", str(tmp_path / "x"), "--songs", "0"]) == 2
    assert "--songs" in capsys.readouterr().err
