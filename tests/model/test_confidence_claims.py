"""What a critique's agreement and anchor reasons describe: the windows agreeing with each pair's verdict, and a
role that barely plays told from a silent one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model.advice.advisor import AdviceRequest
from model.advice.balance import BalanceAdvisor
from model.advice.pipeline import critique
from model.advice.report import advice_to_json
from model.audio.tracks import load_tracks
from model.errors import RoleError
from tests.model.test_profiles import SR, noise_song, wide


def judge(folder: Path, anchor: str | None = "vocals", spread: float = 1.0, span=None):
    return critique(AdviceRequest(load_tracks([folder]).tracks, anchor, span=span),
                    BalanceAdvisor(wide(0.0, spread)))


def boost(folder: Path, name: str, start: float, end: float, db: float) -> None:
    """Raise one stem by ``db`` between ``start`` and ``end`` s."""
    audio, sr = sf.read(folder / name, dtype="float32")
    audio[int(start * sr):int(end * sr)] *= np.float32(10 ** (db / 20))
    sf.write(folder / name, audio, sr, subtype="FLOAT")


def test_a_pair_in_band_counts_its_windows_in_band_as_agreeing(tmp_path):
    advice = judge(noise_song(tmp_path / "s"))
    assert advice.primary is None and advice.suggestions == ()
    for p in advice_to_json(advice)["pairs"]:
        assert (p["agreeing"], p["compared"], p["agreement"]) == (3, 3, 1.0), p


def test_a_flagged_pair_still_counts_its_windows_out_of_band_that_way_and_caps_its_confidence(tmp_path):
    folder = noise_song(tmp_path / "s", db={"drums": 9.0})
    boost(folder, "Drums.wav", 0, 10, -9.0)  # the first window in band: 2 of 3 agree with "too loud"
    advice = judge(folder)
    drums = next(p for p in advice.pairs if p.role == "drums")
    assert drums.suggestion.direction == "decrease" and (drums.agreeing, drums.compared) == (2, 3)
    assert drums.suggestion.confidence == pytest.approx(min(drums.probability, 2 / 3))
    assert advice.agreement == "2 of 3 windows where the drums and the vocals both play agree"


def sparse_drums(folder: Path, seconds: float = 30.0, hits_until: float = 30.0, full_until: float = 0.0) -> Path:
    """Loud drum hits of 0.3 s once every 10 s (3 % of each window: below the activity gate) after
    ``full_until`` s, playing throughout before it."""
    drums, sr = sf.read(folder / "Drums.wav", dtype="float32")
    keep = np.zeros(len(drums), dtype=bool)
    keep[:int(full_until * sr)] = True
    for t in np.arange(full_until, hits_until, 10.0):
        keep[int(t * sr):int((t + 0.3) * sr)] = True
    drums[~keep] = 0.0
    sf.write(folder / "Drums.wav", drums * np.float32(4.0), sr, subtype="FLOAT")
    return folder


def test_a_role_that_barely_plays_is_not_called_silent(tmp_path):
    folder = sparse_drums(noise_song(tmp_path / "s", plays={"vocals": (0, 0)}))
    advice = judge(folder, anchor=None)
    assert advice.anchor == "bass"
    assert advice.anchor_reason == ("default: vocals silent in the judged span; drums barely play in the judged "
                                    "span (in under 20% of each 10 s window), so bass")
    with pytest.raises(RoleError) as chosen:
        judge(folder, anchor="drums")
    assert "The anchor role 'drums' barely plays in the judged span (0.0-30.0 s: in under 20% of each 10 s " \
           "window)" in str(chosen.value) and "silent" not in str(chosen.value)


def test_a_pair_note_says_why_windows_were_skipped_without_calling_a_role_silent(tmp_path):
    folder = sparse_drums(noise_song(tmp_path / "s"), full_until=20.0)
    advice = judge(folder)
    note = next(f.message for f in advice.findings if f.message.startswith("drums vs vocals: judged over"))
    assert note == ("drums vs vocals: judged over 2 window(s) where both play; 1 skipped (in each, one of them is "
                    "silent or plays in under 20% of it).")