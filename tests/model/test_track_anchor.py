"""The single-track anchor: the lead vocal as the reference ("anchor on the Lead Vox"), from fitting to advice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from model.advice.advisor import AdviceRequest, AdvisorInfo
from model.advice.balance import BalanceAdvisor
from model.advice.pipeline import critique, measure_request
from model.advice.profiles import BalanceProfile, fit_profile, load_profile, write_profile
from model.advice.report import advice_from_dict, advice_to_dict, advice_to_json, render_text
from model.audio.roles import TRACK_ANCHOR, lead_vocal_of
from model.audio.tracks import Gains, load_tracks
from model.errors import RoleError

SR = 22050
NAMES = {"lead": "Lead Vox.wav", "backing": "BGV Harmony.wav", "drums": "Drums.wav", "bass": "Bass.wav",
         "other": "Keys.wav"}


def song(folder: Path, db: dict, seed: int = 0, seconds: float = 30.0, lead_plays: tuple | None = None) -> Path:
    """Stems cut from one noise signal, so every offset is exactly the dB given (lead vocal at 0 dB)."""
    rng = np.random.default_rng(seed)
    base = (0.05 * rng.standard_normal((int(seconds * SR), 2))).astype(np.float32)
    folder.mkdir(parents=True, exist_ok=True)
    for part, name in NAMES.items():
        audio = base * np.float32(10 ** (db.get(part, 0.0) / 20))
        if part == "lead" and lead_plays is not None:
            keep = np.zeros(len(audio), dtype=bool)
            keep[int(lead_plays[0] * SR):int(lead_plays[1] * SR)] = True
            audio[~keep] = 0.0
        sf.write(folder / name, audio, SR, subtype="FLOAT")
    return folder


@pytest.fixture(scope="module")
def lead_profile_file(tmp_path_factory) -> Path:
    """Three finished songs: drums 1, 0, -1 dB over the lead vocal, backing vocals 6 dB under it."""
    root = tmp_path_factory.mktemp("fit")
    songs = [song(root / f"s{i}", {"drums": d, "backing": -6.0, "bass": -3.0, "other": -4.0}, seed=i)
             for i, d in enumerate((1.0, 0.0, -1.0))]
    data, _ = fit_profile(songs, "leads")
    return write_profile(data, root / "leads.json")


@pytest.fixture(scope="module")
def lead_profile(lead_profile_file) -> BalanceProfile:
    return BalanceProfile.load(lead_profile_file)


def names(pairs) -> dict:
    return {p.role: p for p in pairs}


def test_the_lead_vocal_is_found_by_its_name():
    def t(name, role="vocals"):
        return SimpleNamespace(id=name, name=name, role=SimpleNamespace(role=role))

    assert lead_vocal_of([t("VOX LEAD.ogg"), t("BGVOX MAIN.ogg"), t("BGVOX ECHO.ogg"), t("KICK", "drums")]) \
        == "VOX LEAD.ogg"
    assert lead_vocal_of([t("Vocals.wav"), t("Kick.wav", "drums")]) is None          # may hold backing vocals too
    assert lead_vocal_of([t("Lead.wav", "other"), t("Vocals.wav")]) is None            # a lead synth is no vocal
    assert lead_vocal_of([t("Vox 1.wav"), t("Vox 2.wav")]) is None                   # not clear: none
    assert lead_vocal_of([t("Lead Vox.wav"), t("Lead Vox Dbl.wav")]) == "Lead Vox.wav"  # a double is backing
    assert lead_vocal_of([t("Main Vox.wav"), t("LeadVocal.wav")]) is None


def test_fitting_recovers_known_offsets_against_the_lead_vocal(tmp_path):
    songs = [song(tmp_path / f"s{i}", {"drums": d, "backing": -6.0, "bass": -3.0}, seed=i)
             for i, d in enumerate((4.0, 2.0, -1.0))]
    data, per_song = fit_profile(songs, "leads")
    pair = data["pairs"]["drums|lead vocal"]
    assert abs(pair["median"] - 2.0) < 0.2 and pair["songs"] == 3
    assert [round(s.offsets[("drums", TRACK_ANCHOR)], 1) for s in per_song] == [4.0, 2.0, -1.0]
    assert abs(data["pairs"]["bass|lead vocal"]["median"] + 3.0) < 0.2
    assert "vocals|lead vocal" not in data["pairs"]          # the vocals hold the track: no pair
    assert data["provenance"]["lead_vocal_tracks"] == {"s0": "Lead Vox.wav", "s1": "Lead Vox.wav",
                                                       "s2": "Lead Vox.wav"}
    # the role pairs are what they were: drums against all the vocals (lead + backing 6 dB under)
    vocals_db = 20 * np.log10(1 + 10 ** (-6 / 20))
    assert abs(data["pairs"]["drums|vocals"]["median"] - (2.0 - vocals_db)) < 0.2


def test_loud_backing_vocals_move_a_role_anchor_but_not_the_lead_vocal(tmp_path, lead_profile):
    """The producer's case for a track anchor: the backing vocals are 12 dB too loud, the drums are right."""
    tracks = load_tracks([song(tmp_path / "mix", {"drums": 0.0, "backing": 6.0, "bass": -3.0, "other": -4.0},
                               seed=9)]).tracks
    lead = next(t.id for t in tracks.tracks if t.name == NAMES["lead"])
    advisor = BalanceAdvisor(lead_profile)
    by_role = critique(AdviceRequest(tracks, "vocals"), advisor)
    against_all = names(by_role.pairs)       # every role "too quiet" against all the vocals
    assert {r: against_all[r].suggestion.direction for r in ("drums", "bass", "other")} == dict.fromkeys(
        ("drums", "bass", "other"), "increase")
    by_track = critique(AdviceRequest(tracks, None, anchor_track=lead), advisor)
    assert by_track.anchor == "vocals" and by_track.anchor_track == lead and by_track.judged_anchor == TRACK_ANCHOR
    judged = names(by_track.pairs)
    assert judged["drums"].suggestion is None and abs(judged["drums"].offset_lu) < 0.2
    assert judged["drums"].anchor == TRACK_ANCHOR and judged["vocals"].reason.startswith("the anchor")
    assert by_track.primary is None and not by_track.suggestions


def test_a_role_too_loud_against_the_lead_vocal_is_flagged(tmp_path, lead_profile):
    tracks = load_tracks([song(tmp_path / "mix", {"drums": 9.0, "backing": -6.0, "bass": -3.0, "other": -4.0},
                               seed=5)]).tracks
    lead = next(t.id for t in tracks.tracks if t.name == NAMES["lead"])
    advice = critique(AdviceRequest(tracks, "vocals", anchor_track=lead), BalanceAdvisor(lead_profile))
    p = advice.primary
    assert (p.role, p.direction) == ("drums", "decrease") and abs(names(advice.pairs)["drums"].deviation_lu - 9) < 0.3
    text = render_text(advice, advice.anchor_reason, [], lead_profile)
    assert "anchor: Lead Vox.wav, the lead vocal track (chosen)" in text
    assert "vocals not judged: the anchor, the lead vocal track, is one of the vocals." in text
    row = next(line for line in text.splitlines() if line.strip().startswith("lead vocal"))
    assert row.split()[-1] == "anchor"
    vocals = next(line for line in text.splitlines() if line.strip().startswith("vocals "))
    assert vocals.split()[3:] == ["—", "—", "holds", "the", "anchor"]   # no offset of a sum against its own part
    data = advice_to_json(advice)
    assert data["anchor"] == "vocals" and data["anchor_track"] == lead
    assert data["measurements"]["roles"][TRACK_ANCHOR]["tracks"] == 1
    back = advice_from_dict(json.loads(json.dumps(advice_to_dict(advice))))
    assert back.anchor_track == lead and back.judged_anchor == TRACK_ANCHOR


def test_the_track_view_is_the_track_measured_alone(tmp_path):
    tracks = load_tracks([song(tmp_path / "mix", {"drums": 3.0, "backing": -6.0}, lead_plays=(0.0, 10.0))]).tracks
    lead = next(t.id for t in tracks.tracks if t.name == NAMES["lead"])
    m = measure_request(AdviceRequest(tracks, "vocals"))
    view = m.with_track_as_role(lead, TRACK_ANCHOR)
    assert view.roles[TRACK_ANCHOR].lufs == m.tracks[lead].lufs and TRACK_ANCHOR not in m.roles_present
    active = [w.role_active[TRACK_ANCHOR] for w in view.windows if w.full]
    assert active == [True, False, False]        # the lead sings in the first 10 s window only
    assert [w.role_active["vocals"] for w in view.windows if w.full] == [True, True, True]


def test_what_cannot_be_a_track_anchor_is_one_line(tmp_path, lead_profile):
    tracks = load_tracks([song(tmp_path / "mix", {"drums": 0.0, "backing": -6.0}, lead_plays=(0.0, 12.0))]).tracks
    ids = {t.name: t.id for t in tracks.tracks}
    advisor = BalanceAdvisor(lead_profile)
    cases = {
        "is a drums track": AdviceRequest(tracks, None, anchor_track=ids["Drums.wav"]),
        "is muted": AdviceRequest(tracks, None, Gains(muted=frozenset({ids[NAMES["lead"]]})),
                                  anchor_track=ids[NAMES["lead"]]),
        "No loaded track": AdviceRequest(tracks, None, anchor_track="nope"),
        "is silent in the judged span": AdviceRequest(tracks, None, span=(15.0, 30.0),
                                                      anchor_track=ids[NAMES["lead"]]),
    }
    for words, request in cases.items():
        with pytest.raises(RoleError, match=words):
            critique(request, advisor)
    with pytest.raises(RoleError, match="'pop-rock' profile has no statistics against a lead vocal"):
        critique(AdviceRequest(tracks, None, anchor_track=ids[NAMES["lead"]]), BalanceAdvisor(load_profile()))
    no_profile = SimpleNamespace(info=AdvisorInfo("llm", "llm", "a model"), judge=lambda *a, **k: [])
    with pytest.raises(RoleError, match="judges against a whole role only"):
        critique(AdviceRequest(tracks, None, anchor_track=ids[NAMES["lead"]]), no_profile)


def test_the_shipped_electronic_profile_knows_the_lead_vocal():
    profile = load_profile("electronic")
    for role in ("drums", "bass", "other"):
        stats = profile.typical(role, TRACK_ANCHOR)
        assert stats is not None and stats.judged and stats.songs >= 3
    assert profile.typical("vocals", TRACK_ANCHOR) is None
    assert set(profile.provenance["lead_vocal_tracks"]) == set(profile.provenance["songs"])


def run_cli(*args):
    env = {**os.environ, "MIXINGBUDDY_DEBUG": "0"}
    return subprocess.run([sys.executable, "-m", "mixingbuddy_app", "critique", *map(str, args)],
                          capture_output=True, text=True, timeout=180, env=env)


def test_cli_anchor_accepts_one_file(tmp_path, lead_profile_file):
    folder = song(tmp_path / "mix", {"drums": 9.0, "backing": -6.0, "bass": -3.0, "other": -4.0}, seed=3)
    profile = lead_profile_file
    out = run_cli(folder, "--anchor", "Lead Vox", "--profile", profile, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["anchor_track"] and data["suggestions"][0]["stem"] == "drums"
    assert data["suggestions"][0]["direction"] == "decrease"
    for args, words in ((("--anchor", "Keys.wav", "--profile", profile), "is a other track"),
                        (("--anchor", "nope.wav"), "neither a role"),
                        (("--anchor", "Lead Voc"), "(did you mean 'Lead Vox'?)"),
                        (("--role", "Kyes=other"), "no loaded file is named 'Kyes' (did you mean 'Keys'?)"),
                        (("--anchor", "Lead Vox.wav"), "'pop-rock' profile has no statistics")):
        bad = run_cli(folder, *args)
        assert bad.returncode == 2 and words in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
        assert bad.stdout == ""
    by_stem = run_cli(folder, "--role", "Keys=bass", "--json")   # a file name without its extension, as --anchor
    assert by_stem.returncode == 0, by_stem.stderr
    assert {t["name"]: t["role"] for t in json.loads(by_stem.stdout)["measurements"]["tracks"]}["Keys.wav"] == "bass"

