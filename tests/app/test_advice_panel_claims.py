"""The advice panel's confidence line: each number of a two-claim headline sits after the claim it belongs to."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from model.advice.types import Claim
from model.advisors import load_advisor
from tests.app.conftest import critique, load


def _noise_stems(folder: Path, db: dict[str, float], seconds: float = 30.0, rate: int = 16000) -> list[Path]:
    base = (0.05 * np.random.default_rng(3).standard_normal((int(seconds * rate), 2))).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    for name, gain in db.items():
        sf.write(folder / name, base * np.float32(10 ** (gain / 20)), rate, subtype="FLOAT")
    return [folder / name for name in db]


def test_the_confidence_line_names_the_claim_of_each_number(qtbot, make_window, tmp_path):
    # pop-rock medians vs vocals: drums -2, bass -2.5, other -1; the keys sit 13 LU over theirs
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, _noise_stems(tmp_path / "s", {"Lead Vox.wav": 0.0, "Drums.wav": -2.0, "Bass.wav": -2.5,
                                                     "Keys.wav": 12.0}))
    advice = critique(qtbot, w)
    sit_well, off = advice.claims
    assert sit_well.confidence == advice.confidence and off.confidence == advice.suggestions[0].confidence
    line = w.advice.confidence.text()
    assert line.startswith("Confidence: the drums and bass sit well <span")
    assert f"{sit_well.confidence:.0%} · " in line and f"{off.confidence:.0%} · " in line
    assert line.index("the drums and bass sit well") < line.index(f"{sit_well.confidence:.0%}") \
        < line.index("the other instruments are much too loud") < line.index(f"{off.confidence:.0%} · ")
    assert "3 of 3 windows where the other instruments and the vocals both play agree" in line

    # a firm "sit well" beside a tentative other: each level is the claim's own
    mixed = replace(advice, confidence=0.86, claims=(replace(sit_well, confidence=0.86),
                                                     Claim(off.claim, 0.42, off.backing)))
    c.project.set_advice(mixed)
    c.advice_changed.emit(mixed)
    line = w.advice.confidence.text()
    assert "the drums and bass sit well <span style='color:#5fbf77'>86% · firm</span>" in line
    assert "the other instruments are much too loud <span style='color:#e0b341'>42% · tentative</span>" in line
    assert "Confidence 86%" not in line
