"""MUSDB18-HQ walk: sorted, official split + validation, malformed trees named in InputError."""

from __future__ import annotations

import pytest

from model.errors import InputError
from training import musdb


def _tree(write_track, noise_stems, root, train_names, test_names, seconds=0.5):
    for split, names in (("train", train_names), ("test", test_names)):
        for name in names:
            write_track(root / split / name, noise_stems(seconds))
    return root


def test_sorted_walk_with_official_validation(tmp_path, write_track, noise_stems):
    official = musdb.OFFICIAL_VALIDATION[0]
    _tree(write_track, noise_stems, tmp_path, ["Zed - Song", official, "Abc - Song"], ["B - Test", "A - Test"])
    tracks = musdb.walk(tmp_path)
    assert [(t.split, t.name) for t in tracks] == [
        ("train", "Abc - Song"), ("train", "Zed - Song"), ("val", official), ("test", "A - Test"), ("test", "B - Test")]
    assert tracks[2].key == f"train/{official}" and tracks[0].sample_rate == 44100


def test_seeded_validation_without_official_tracks(tmp_path):
    names = [f"T{i:02d}" for i in range(10)]
    a = musdb.validation_names(names, seed=1)
    assert a == musdb.validation_names(list(reversed(names)), seed=1)
    assert len(a) == 1 and set(a) <= set(names)
    assert musdb.validation_names(["only"], seed=1) == []
    assert musdb.validation_names(names, fixed=["T03"]) == ["T03"]
    with pytest.raises(InputError, match="nope"):
        musdb.validation_names(names, fixed=["nope"])


def test_malformed_trees_name_the_path(tmp_path, write_track, noise_stems):
    with pytest.raises(InputError, match="not found"):
        musdb.walk(tmp_path / "absent")
    _tree(write_track, noise_stems, tmp_path, ["A"], [])
    with pytest.raises(InputError, match="test"):
        musdb.walk(tmp_path)
    _tree(write_track, noise_stems, tmp_path, [], ["T"])
    (tmp_path / "train" / "A" / "bass.wav").unlink()
    with pytest.raises(InputError, match=r"A/bass\.wav: missing stem"):
        musdb.walk(tmp_path)
    (tmp_path / "train" / "A" / "bass.wav").write_bytes(b"not audio at all")
    with pytest.raises(InputError, match=r"A/bass\.wav: unreadable"):
        musdb.walk(tmp_path)
    write_track(tmp_path / "train" / "A", noise_stems(0.5))
    (tmp_path / "test" / "stray.txt").write_text("x")
    with pytest.raises(InputError, match="stray.txt"):
        musdb.walk(tmp_path)
