"""profile: MUSDB tracks as songs, fitted by the same function as `mixingbuddy profile fit`."""

from __future__ import annotations

import json

import numpy as np

from model.advice.profiles import PROFILE_FORMAT, BalanceProfile
from training import cli


def test_profile_on_demo_corpus(fake_musdb, tmp_path):
    out = tmp_path / "profile.json"
    assert cli.main(["profile", "--musdb", str(fake_musdb), "--out", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert data["format"] == PROFILE_FORMAT and data["name"] == "musdb"
    prov = data["provenance"]
    assert prov["split"] == "train" and prov["tracks"] == 1 and len(prov["songs"]) == 1  # the val track is held out
    for key, p in data["pairs"].items():
        assert p["q25"] <= p["median"] <= p["q75"] and p["songs"] == 1 and p["windows"] == prov["windows_per_pair"][key]
        role, anchor = key.split("|")
        if role != "other":
            assert abs(data["pairs"][f"{anchor}|{role}"]["median"] + p["median"]) < 0.011
    assert BalanceProfile.load(out).typical("bass", "vocals") is not None


def test_known_offset_is_measured(tmp_path, write_track):
    rng = np.random.default_rng(0)
    n = 44100 * 20
    base = (0.05 * rng.standard_normal((n, 2))).astype(np.float32)
    stems = {"vocals": base, "drums": 2 * base, "bass": 0.5 * base,
             "other": (0.05 * rng.standard_normal((n, 2))).astype(np.float32)}
    write_track(tmp_path / "m" / "train" / "A", stems)
    write_track(tmp_path / "m" / "test" / "B", stems)
    out = tmp_path / "p.json"
    assert cli.main(["profile", "--musdb", str(tmp_path / "m"), "--out", str(out), "--quiet"]) == 0
    pairs = json.loads(out.read_text())["pairs"]
    assert abs(pairs["drums|vocals"]["median"] - 6.02) < 0.02
    assert abs(pairs["bass|drums"]["median"] + 12.04) < 0.02
