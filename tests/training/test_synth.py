"""synth: 30 records per gated chunk, gains in range, round-robin templates, byte-identical manifests."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from model.advice.templates import GAIN_RANGE_DB, render_instruction, render_response
from training import cli, config
from training.stem_cache import StemCache
from training.synth import read_manifest, render_mix, row_chunk, synthesize


def _rows(data, split):
    return read_manifest(data / "manifest" / f"{split}.jsonl")


def test_thirty_records_per_gated_chunk(synth_data):
    summary = json.loads((synth_data / "synth.json").read_text())
    for split in ("train", "val", "test"):
        rows = [r for r in _rows(synth_data, split) if "augmentation" not in r["meta"]]
        s = summary["splits"][split]
        assert s["gated_chunks"] > 0 and len(rows) == 30 * s["gated_chunks"]
        per_chunk = Counter((r["meta"]["track_name"], r["meta"]["chunk_idx"]) for r in rows)
        assert set(per_chunk.values()) == {30}
        combos = {(r["meta"]["anchor_stem"], r["meta"]["target_stem"], r["meta"]["error_category"]) for r in rows}
        assert len(combos) == 30 and all(a != t and a != "other" and t != "other" for a, t, _ in combos)
    assert len(summary["splits"]["val"]["tracks"]) == 1 and len(summary["splits"]["train"]["tracks"]) == 1


def test_record_fields_gains_and_text(synth_data):
    for row in _rows(synth_data, "test"):
        m = row["meta"]
        lo, hi = GAIN_RANGE_DB[m["error_category"]]
        assert lo <= m["intended_gain_db"] <= hi
        assert (m["intended_gain_db"] == 0.0) == (m["error_category"] == "no_error")
        assert row["global_uid"].endswith(f"_a-{m['anchor_stem']}_t-{m['target_stem']}_e-{m['error_category']}")
        assert m["time_ref"]["end_sec"] - m["time_ref"]["start_sec"] == 10.0
        assert m["stems_present"] == ["vocals", "drums", "bass", "other"] and m["split"] == "test"
        ids = row["template_ids"]
        assert row["instruction"] == render_instruction(ids["instruction"], m["stems_present"], m["anchor_stem"], 10.0)
        cat, variant = ids["response"].split("/")
        assert cat == m["error_category"]
        assert row["response"] == render_response(cat, m["target_stem"], int(variant))
        assert row["stem_cache_key"].startswith("test/") and row["manifest_version"] == 1 and row["seed"] == 42


def test_round_robin_templates(synth_data):
    rows = _rows(synth_data, "test")
    instr = [r["template_ids"]["instruction"] for r in rows]
    assert sorted(instr[:10]) == list(range(10)) and instr[10:20] == instr[:10]
    quiet = [r["template_ids"]["response"] for r in rows if r["meta"]["error_category"] == "quiet"]
    assert len(set(quiet[:10])) == 10 and quiet[10:12] == quiet[:2]


def test_no_error_copies_only_in_train(synth_data):
    train = _rows(synth_data, "train")
    copies = [r for r in train if "augmentation" in r["meta"]]
    originals = [r for r in train if r["meta"]["error_category"] == "no_error" and "augmentation" not in r["meta"]]
    assert len(copies) == 3 * len(originals)
    assert all(abs(r["meta"]["augmentation"]["gain_db"]) <= 3.0 and "_aug_" in r["global_uid"] for r in copies)
    assert not any("augmentation" in r["meta"] for r in _rows(synth_data, "test") + _rows(synth_data, "val"))


def test_rendered_mix_is_the_sum_formula(synth_data):
    cache = StemCache(synth_data / "stems")
    row = next(r for r in _rows(synth_data, "test") if r["meta"]["error_category"] == "very_loud")
    stems = row_chunk(cache, row)
    g = 10 ** (row["meta"]["intended_gain_db"] / 20)
    expected = sum(a * (g if role == row["meta"]["target_stem"] else 1.0) for role, a in stems.items())
    mix = render_mix(stems, row)
    assert mix.dtype == np.float32 and mix.shape == (240000,)
    np.testing.assert_allclose(mix, expected, rtol=1e-5, atol=1e-6)


def test_same_seed_byte_identical_and_resumable(fake_musdb, synth_data, tmp_path):
    cfg = config.resolve("synth")
    summary = synthesize(fake_musdb, tmp_path / "fresh", cfg, progress=False)
    assert summary["stem_cache"]["built_now"] == 3
    for split in ("train", "val", "test"):
        a = (synth_data / "manifest" / f"{split}.jsonl").read_bytes()
        assert a == (tmp_path / "fresh" / "manifest" / f"{split}.jsonl").read_bytes()
    again = synthesize(fake_musdb, tmp_path / "fresh", cfg, progress=False)  # resume: the cache is reused
    assert again["stem_cache"]["built_now"] == 0
    assert again["splits"] == summary["splits"]
    other = config.resolve("synth", sets=["seed=7"])
    synthesize(fake_musdb, tmp_path / "fresh", other, progress=False)
    assert (tmp_path / "fresh" / "manifest" / "test.jsonl").read_bytes() != \
        (synth_data / "manifest" / "test.jsonl").read_bytes()


def test_gate_skips_quiet_chunks_and_render_wav(tmp_path, write_track, noise_stems):
    root = tmp_path / "musdb"
    stems = noise_stems(21.0, seed=1)
    stems["vocals"][441000:882000] = 0.0  # chunk 1: silent vocals -> gated out
    write_track(root / "train" / "A", stems)
    write_track(root / "test" / "B", noise_stems(10.5, seed=2))
    rc = cli.main(["synth", "--musdb", str(root), "--out", str(tmp_path / "data"), "--seed", "3", "--render-wav",
                   "--quiet"])
    assert rc == 0
    train = _rows(tmp_path / "data", "train")
    assert {r["meta"]["chunk_idx"] for r in train} == {0}
    test = _rows(tmp_path / "data", "test")
    wavs = sorted((tmp_path / "data" / "wav" / "test").glob("*.wav"))
    assert len(wavs) == len(test) == 30
    row = test[7]
    audio, sr = sf.read(str(tmp_path / "data" / "wav" / "test" / f"{row['global_uid']}.wav"), dtype="float32")
    assert sr == 24000
    expected = np.clip(render_mix(row_chunk(StemCache(tmp_path / "data" / "stems"), row), row), -1, 1)
    np.testing.assert_allclose(audio, expected, atol=2 ** -22)


def test_malformed_musdb_exits_2(tmp_path, capsys, write_track, noise_stems):
    write_track(tmp_path / "train" / "A", noise_stems(0.5))
    write_track(tmp_path / "test" / "B", noise_stems(0.5))
    (tmp_path / "test" / "B" / "other.wav").unlink()
    assert cli.main(["synth", "--musdb", str(tmp_path), "--out", str(tmp_path / "d"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "B/other.wav" in err[0]


@pytest.mark.parametrize("bad", ["seed=x", "nonsense=1"])
def test_bad_config_exits_2(tmp_path, bad):
    assert cli.main(["synth", "--musdb", str(tmp_path), "--out", str(tmp_path / "d"), "--set", bad]) == 2
