"""The export doctor in the window: one line per finding, the files behind a Details toggle."""

from __future__ import annotations

import soundfile as sf

from tests.app.conftest import RATE, load, make_stems


def _findings(w) -> list[str]:
    return [w.advice.findings.item(i).text() for i in range(w.advice.findings.count())]


def test_file_lists_sit_behind_the_details_toggle(qtbot, make_window, tmp_path):
    stems = make_stems(tmp_path / "export", seconds=6.0)
    for p in stems[1:3]:  # two stems end early, as DAWs trim exports: an info line naming no file
        audio, _ = sf.read(p, dtype="float32")
        sf.write(p, audio[: int(4.5 * RATE)], RATE, subtype="FLOAT")
    w = make_window()
    load(qtbot, w, [stems[0].parent])
    (line,) = [t for t in _findings(w) if "shorter than the longest" in t]
    assert line.startswith("[info]") and line.endswith("(2 files)")
    assert "02 Kick.wav" not in line and not any(t.startswith("[warning]") for t in _findings(w))
    assert not any("Padded" in t for t in _findings(w))  # no second list as a note
    w.advice.findings_details.setChecked(True)
    (line,) = [t for t in _findings(w) if "shorter than the longest" in t]
    assert "2 files: 02 Kick.wav, 03 Bass DI.wav" in line
    w.advice.findings_details.setChecked(False)
    assert [t for t in _findings(w) if "shorter than the longest" in t][0].endswith("(2 files)")


def test_a_reference_track_is_muted_from_its_finding(qtbot, make_window, tmp_path):
    """The doctor says a reference track exported along counts in the mix; double-clicking the line mutes it."""
    stems = make_stems(tmp_path / "export", seconds=6.0)
    audio, _ = sf.read(stems[3], dtype="float32")
    sf.write(stems[0].parent / "Reference.wav", audio, RATE)
    w = make_window()
    c = load(qtbot, w, [stems[0].parent])
    row = next(i for i in range(w.advice.findings.count()) if "reference track" in w.advice.findings.item(i).text())
    item = w.advice.findings.item(row)
    assert item.text().startswith("[warning] Reference.wav is named like a reference track")
    assert "Double-click to mute Reference.wav." in item.toolTip()
    w.advice.findings.itemDoubleClicked.emit(item)
    assert "Reference.wav" in c.project.muted
    row = next(i for i in range(w.advice.findings.count()) if "reference track" in w.advice.findings.item(i).text())
    assert "Double-click" not in w.advice.findings.item(row).toolTip()   # muted already: nothing left to offer
