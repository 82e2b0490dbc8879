"""Balance profiles (fitting, storage) and the per-pair, calibrated BalanceAdvisor."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model.advice.advisor import AdviceRequest
from model.advice.balance import BalanceAdvisor, balanced_probability, flaw_probability
from model.advice.pipeline import critique
from model.advice.profiles import (BalanceProfile, PairStats, fit_profile, list_profiles, load_profile,
                                   resolve_profile, user_profile_path)
from model.advisors import load_advisor
from model.audio.tracks import load_tracks
from model.errors import InputError, NoAnalysableAudio, RoleError

SR = 22050
REAL = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "evr"


def noise_song(folder: Path, seconds: float = 30.0, db: dict | None = None, seed: int = 0,
               plays: dict | None = None) -> Path:
    """Four stems cut from one noise signal, so role offsets are exactly the dB given; ``plays`` mutes stretches."""
    rng = np.random.default_rng(seed)
    base = (0.05 * rng.standard_normal((int(seconds * SR), 2))).astype(np.float32)
    names = {"vocals": "Lead Vox.wav", "drums": "Drums.wav", "bass": "Bass.wav", "other": "Keys.wav"}
    folder.mkdir(parents=True, exist_ok=True)
    for role, name in names.items():
        audio = base * np.float32(10 ** ((db or {}).get(role, 0.0) / 20))
        if plays and role in plays:
            start, end = plays[role]
            keep = np.zeros(len(audio), dtype=bool)
            keep[int(start * SR):int(end * SR)] = True
            audio[~keep] = 0.0
        sf.write(folder / name, audio, SR, subtype="FLOAT")
    return folder


def test_a_fit_names_the_export_problems_of_the_files_it_learned_from(tmp_path):
    """A stem cut short (an interrupted copy) is learned as it is, as the critique hears it; the fit says so, as the
    critique of that song does (it said nothing)."""
    from model.advice.profiles import EXPORT_WARNINGS

    songs = [noise_song(tmp_path / f"s{i}", db={"drums": 2.0}, seed=i) for i in range(2)]
    drums = songs[1] / "Drums.wav"
    drums.write_bytes(drums.read_bytes()[:len(drums.read_bytes()) * 3 // 5])
    profile, _ = fit_profile(songs, "test")
    warned = profile["provenance"][EXPORT_WARNINGS]
    assert list(warned) == ["s1"] and any(m.startswith("Drums.wav was cut short") for m in warned["s1"])


def test_fitting_recovers_known_offsets(tmp_path):
    songs = [noise_song(tmp_path / f"s{i}", db={"drums": d, "bass": -4.0}, seed=i)
             for i, d in enumerate((6.0, 2.0, -1.0))]
    profile, per_song = fit_profile(songs, "test")
    pair = profile["pairs"]["drums|vocals"]
    assert abs(pair["median"] - 2.0) < 0.2
    assert [round(s.offsets[("drums", "vocals")], 1) for s in per_song] == [6.0, 2.0, -1.0]
    assert abs(profile["pairs"]["bass|vocals"]["median"] + 4.0) < 0.2
    assert pair["songs"] == 3 and pair["windows"] == 9 and abs(pair["between_song_sd_lu"] - 3.51) < 0.2
    assert profile["provenance"]["songs"] == ["s0", "s1", "s2"]
    loaded = BalanceProfile.from_json(profile)
    assert loaded.typical("drums", "vocals").judged and loaded.typical("drums", "vocals").spread >= 3.5


def test_a_fit_stops_inside_a_song_when_cancelled(tmp_path):
    from model.errors import Cancelled
    from tests.model.test_filepool import CancelAfter

    songs = [noise_song(tmp_path / f"s{i}", seed=i) for i in range(2)]
    cancel = CancelAfter(3)   # the check before the first song, then one per 10 s block of it
    with pytest.raises(Cancelled):
        fit_profile(songs, "never", cancel=cancel)
    assert cancel.checks == 3


def test_fitted_profile_carries_the_songs_tonal_shapes(tmp_path):
    from model.advice.profiles import write_profile
    from model.advice.tonal import tonal_for_profile

    songs = [noise_song(tmp_path / f"s{i}", db={"drums": d}, seed=i) for i, d in enumerate((3.0, 0.0))]
    profile, _ = fit_profile(songs, "mine")
    assert {"vocals", "drums"} <= set(profile["tonal"])
    assert all(v["songs"] == 2 and len(v["bands_hz"]) == len(v["median_db"]) for v in profile["tonal"].values())
    path = write_profile(profile, tmp_path / "mine.json")
    tonal, note = tonal_for_profile(path)
    assert set(tonal.roles) == set(profile["tonal"]) and "'mine' profile's tonal shapes" in note
    assert "has none of its own" in tonal_for_profile("pop-rock")[1]   # a cited prior: electronic's shapes


def test_pair_that_never_plays_together_is_bridged_through_a_third_role():
    from model.advice.profiles import SongOffsets, combine

    def song(label, bass_drums, drums_vocals, bass_vocals=None):
        offsets = {("bass", "drums"): bass_drums, ("drums", "bass"): -bass_drums,
                   ("drums", "vocals"): drums_vocals, ("vocals", "drums"): -drums_vocals}
        if bass_vocals is not None:
            offsets[("bass", "vocals")], offsets[("vocals", "bass")] = bass_vocals, -bass_vocals
        return SongOffsets(label, offsets, {}, 3)

    # only song "a" has bass and vocals together; "b" and "c" say it through the drums
    profile = combine([song("a", -2.0, 1.0, -1.5), song("b", -4.0, 2.0), song("c", 0.0, -3.0)], "t", "test")
    pair = profile["pairs"]["bass|vocals"]
    assert pair["songs"] == 3 and pair["bridged_songs"] == 2
    assert pair["song_offsets"] == {"a": -1.5, "b": -2.0, "c": -3.0}   # measured offsets win over bridges
    assert pair["median"] == -2.0
    assert BalanceProfile.from_json(profile).typical("bass", "vocals").judged


def test_a_few_songs_that_happen_to_agree_do_not_make_a_narrow_profile():
    from model.advice.profiles import PRIOR_SPREAD_LU, SongOffsets, combine

    def songs(drums_vocals: list[float]) -> list[SongOffsets]:
        return [SongOffsets(f"s{i}", {("drums", "vocals"): x, ("vocals", "drums"): -x}, {}, 3)
                for i, x in enumerate(drums_vocals)]

    def spread(drums_vocals: list[float]) -> float:
        return combine(songs(drums_vocals), "t", "test")["pairs"]["drums|vocals"]["spread_lu"]

    # three songs within 1 LU of each other (standard deviation 0.5 LU) still leave room for a song 7.7 LU
    # away, as a fourth released song of one album is: not a sure flaw (without the prior: 0.6 LU, 100 %)
    close = spread([3.0, 3.5, 4.0])
    assert close > 0.7 * PRIOR_SPREAD_LU and flaw_probability(-7.7, close) < 0.8
    # many songs that agree do narrow it, and songs that disagree widen it
    assert spread([3.0, 3.5, 4.0] * 10) < 0.5 * close
    assert spread([-5.0, 3.0, 11.0]) > 1.5 * close


def test_pair_on_one_song_is_kept_but_not_judged(tmp_path):
    profile, _ = fit_profile([noise_song(tmp_path / "a")], "one")
    stats = BalanceProfile.from_json(profile).typical("drums", "vocals")
    assert stats.songs == 1 and not stats.judged


def test_per_pair_gate_uses_windows_where_both_play(tmp_path):
    # vocals throughout, drums only in the last 20 s, bass only in the first 20 s, keys throughout
    folder = noise_song(tmp_path / "s", seconds=40.0, db={"drums": 9.0},
                        plays={"drums": (20.0, 40.0), "bass": (0.0, 20.0)})
    tracks = load_tracks([folder]).tracks
    advice = critique(AdviceRequest(tracks, "vocals"), load_advisor("balance"))
    pairs = {p.role: p for p in advice.pairs}
    assert (pairs["drums"].windows, pairs["drums"].skipped) == (2, 2)
    assert (pairs["bass"].windows, pairs["bass"].skipped) == (2, 2)
    assert pairs["other"].windows == 4
    # the old all-roles gate judged no window here; each pair now measures only where it plays
    assert abs(pairs["drums"].offset_lu - 9.0) < 0.2 and abs(pairs["bass"].offset_lu) < 0.2
    assert advice.primary.role == "drums" and advice.primary.direction == "decrease"
    assert any("skipped" in f.message for f in advice.findings)


def test_a_window_with_only_the_other_instruments_beside_the_anchor_is_not_judged(tmp_path):
    from model.advice.report import advice_from_dict, advice_markdown, advice_to_dict, advice_to_json, render_text

    # drums and bass rest in the last 10 s: keys alone play beside the vocals there
    folder = noise_song(tmp_path / "s", seconds=40.0, plays={"drums": (0.0, 30.0), "bass": (0.0, 30.0)})
    advice = critique(AdviceRequest(load_tracks([folder]).tracks, "vocals"), BalanceAdvisor(wide(0.0, 1.0)))
    assert [v.judged_no_role for v in advice.windows] == [False, False, False, True]
    assert advice.primary is None and advice.agreement == "3 of 3 judged windows agree"
    text = render_text(advice, "chosen", ())
    assert "0:30.0–0:40.0  not judged (no drums or bass beside the vocals)" in text
    assert text.count("  balanced") == 3
    timeline = advice_markdown(advice).split("## Timeline")[1].split("## Export doctor")[0]
    assert "| 30–40 s | not judged (no drums or bass beside the vocals) |" in timeline   # as the CLI says it
    assert timeline.count("| balanced |") == 3                                        # the CLI's words
    windows = advice_to_json(advice)["windows"]
    assert [w["judged_a_role"] for w in windows] == [True, True, True, False]
    assert [v.judged_no_role for v in advice_from_dict(advice_to_dict(advice)).windows] == [False, False, False, True]


def test_a_mix_whose_main_roles_were_never_judged_is_not_called_well_balanced(tmp_path):
    """The drums (8 dB over) play only where the vocals rest and no bass is there: only the other instruments are
    judged. The critique said "The mix is well-balanced. No changes are needed." (90 %); it says what it judged."""
    from model.advice.report import render_text

    folder = noise_song(tmp_path / "s", seconds=40.0, db={"drums": 8.0},
                        plays={"drums": (0.0, 20.0), "vocals": (20.0, 40.0)})
    (folder / "Bass.wav").unlink()
    advice = critique(AdviceRequest(load_tracks([folder]).tracks, "vocals"), load_advisor("balance"))
    assert advice.primary is None and not advice.suggestions
    assert advice.text == ("Against the vocals, the other instruments sit well; the drums could not be judged (the "
                           "notes say why).")
    assert advice.agreement == "2 of 2 windows where the other instruments and the vocals both play agree"
    assert "well-balanced" not in render_text(advice, "chosen", ())


def test_default_anchor_falls_back_when_vocals_rest(tmp_path):
    folder = noise_song(tmp_path / "s", seconds=40.0, plays={"vocals": (30.0, 40.0)})
    tracks = load_tracks([folder]).tracks
    advice = critique(AdviceRequest(tracks, None, span=(0.0, 30.0)), load_advisor("balance"))
    assert advice.anchor == "drums" and "vocals silent" in advice.anchor_reason
    with pytest.raises(RoleError, match="silent in the judged span"):
        critique(AdviceRequest(tracks, "vocals", span=(0.0, 30.0)), load_advisor("balance"))


def test_span_shorter_than_one_block_is_refused(tmp_path):
    tracks = load_tracks([noise_song(tmp_path / "s", seconds=12.0)]).tracks
    with pytest.raises(NoAnalysableAudio, match="400 ms"):
        critique(AdviceRequest(tracks, "vocals", span=(1.0, 1.2)), load_advisor("balance"))


def test_balanced_fallback_window_is_capped_at_half(tmp_path):
    # vocals and the other roles never play together: no pair window, the loudest window is judged alone
    folder = noise_song(tmp_path / "s", seconds=20.0,
                        plays={"vocals": (0.0, 10.0), "drums": (10.0, 20.0), "bass": (10.0, 20.0),
                               "other": (10.0, 20.0)})
    advice = critique(AdviceRequest(load_tracks([folder]).tracks, "vocals"), load_advisor("balance"))
    assert advice.confidence <= 0.5
    assert all(not v.window.gated for v in advice.windows)


def test_flaw_probability_is_calibrated_by_the_profile_spread():
    assert flaw_probability(9.0, 1.0) > 0.95
    assert flaw_probability(5.0, 1.0) > flaw_probability(5.0, 6.0)
    assert flaw_probability(5.0, 6.0) < 0.5          # songs disagree this much: tentative
    assert flaw_probability(0.0, 3.0) < 0.1 < flaw_probability(4.0, 3.0)
    assert flaw_probability(-9.0, 2.0) == pytest.approx(flaw_probability(9.0, 2.0))
    assert 0.0 <= flaw_probability(80.0, 0.3) <= 1.0


def wide(median: float, spread: float, songs: int = 4) -> BalanceProfile:
    pairs = {(r, a): PairStats(median if (r, a) == ("drums", "vocals") else 0.0, -spread, spread, spread, songs, 40)
             for a in ("vocals", "drums", "bass") for r in ("vocals", "drums", "bass", "other") if r != a}
    return BalanceProfile(pairs, name="wide")


def test_wide_profile_gives_tentative_never_far_too(tmp_path):
    folder = noise_song(tmp_path / "s", db={"drums": 7.0})
    tracks = load_tracks([folder]).tracks
    narrow = critique(AdviceRequest(tracks, "vocals"), BalanceAdvisor(wide(0.0, 1.0)))
    assert narrow.primary.category == "very_loud" and narrow.primary.confidence >= 0.8
    tentative = critique(AdviceRequest(tracks, "vocals"), BalanceAdvisor(wide(0.0, 7.0)))
    p = tentative.primary
    assert p.role == "drums" and p.confidence < 0.5 and p.category == "loud"
    assert "may be" in tentative.text and "far too" not in tentative.text
    assert all(v.category != "very_loud" for v in tentative.windows)  # windows judge on the same basis
    assert tentative.profile == "wide"


def test_balanced_probability_weighs_the_same_explanations():
    for d, spread in ((0.0, 1.0), (2.5, 3.0), (-4.0, 5.0), (9.0, 2.0)):
        # balanced, off the way d points, off the other way: three shares of one whole
        assert 0.0 < balanced_probability(d, spread) + flaw_probability(d, spread) <= 1.0
    assert balanced_probability(0.0, 1.0) > 0.95 > balanced_probability(0.0, 5.0)
    assert balanced_probability(0.0, 3.0) > balanced_probability(2.5, 3.0) > balanced_probability(9.0, 3.0)
    assert balanced_probability(9.0, 1.0) < 0.01


def test_well_balanced_is_as_sure_as_the_profile_allows(tmp_path):
    tracks = load_tracks([noise_song(tmp_path / "s")]).tracks  # every role exactly on the profiles' medians
    narrow = critique(AdviceRequest(tracks, "vocals"), BalanceAdvisor(wide(0.0, 1.0)))
    loose = critique(AdviceRequest(tracks, "vocals"), BalanceAdvisor(wide(0.0, 5.0)))
    assert narrow.primary is None and loose.primary is None
    assert narrow.confidence > 0.95  # every window agrees, and songs of the profile agree closely
    assert loose.confidence == pytest.approx(balanced_probability(0.0, 5.0), abs=0.01) and loose.confidence < 0.9


def test_well_balanced_is_worded_as_a_guess_when_most_windows_disagree(tmp_path):
    # the drums +4, -4 and 0 LU from their median in three windows: in band over the song, flagged in two windows
    folder = noise_song(tmp_path / "s")
    drums, sr = sf.read(folder / "Drums.wav", dtype="float32")
    for i, db in enumerate((4.0, -4.0, 0.0)):
        drums[i * 10 * sr:(i + 1) * 10 * sr] *= np.float32(10 ** (db / 20))
    sf.write(folder / "Drums.wav", drums, sr, subtype="FLOAT")
    advice = critique(AdviceRequest(load_tracks([folder]).tracks, "vocals"), BalanceAdvisor(wide(0.0, 1.0)))
    assert advice.primary is None and advice.confidence < 0.5
    assert advice.text.startswith("No role is clearly out of balance, but the measurement is not conclusive")


def test_a_role_guessed_from_an_ambiguous_name_stays_tentative_until_set(tmp_path):
    folder = noise_song(tmp_path / "s", db={"bass": 9.0})
    (folder / "Bass.wav").rename(folder / "Pad + Bass.wav")           # two instruments in one name: bass, unsure
    narrow = BalanceAdvisor(wide(0.0, 1.0))
    guessed = critique(AdviceRequest(load_tracks([folder]).tracks, "vocals"), narrow)
    assert guessed.primary.role == "bass" and guessed.primary.confidence < 0.5
    why = [f.message for f in guessed.findings if f.code == "tentative"]
    assert why == [f"bass: tentative ({guessed.primary.confidence:.0%}): the role of Pad + Bass.wav was guessed from "
                   "an ambiguous file name; set it to make the advice firm."]
    # the confidence line says why all its windows agreeing leaves it tentative (Potassium said only "11 of 11 … (49%)")
    assert guessed.agreement.endswith("both play agree, but the role of a file behind it was guessed from an unsure "
                                      "name, so it stays tentative")
    set_by_user = critique(AdviceRequest(load_tracks([folder], roles={"Pad + Bass.wav": "bass"}).tracks, "vocals"),
                           narrow)
    assert set_by_user.primary.role == "bass" and set_by_user.primary.confidence > 0.9


def test_advice_that_is_tentative_anyway_still_names_the_ambiguous_track_it_rests_on(tmp_path):
    folder = noise_song(tmp_path / "s", db={"bass": 5.0})
    (folder / "Bass.wav").rename(folder / "Pad + Bass.wav")
    advice = critique(AdviceRequest(load_tracks([folder]).tracks, "vocals"), BalanceAdvisor(wide(0.0, 6.0)))
    assert advice.primary.role == "bass" and advice.primary.confidence < 0.5
    assert [f.message for f in advice.findings if f.code == "tentative"] == [
        f"bass: tentative ({advice.primary.confidence:.0%}): finished songs of this kind disagree this much."]
    assert [f.message for f in advice.findings if f.code == "role_guessed"] == [
        "bass vs vocals rests on Pad + Bass.wav, whose role was guessed from an ambiguous file name: if it holds "
        "other parts too, set its role and critique again."]
    set_by_user = critique(AdviceRequest(load_tracks([folder], roles={"Pad + Bass.wav": "bass"}).tracks, "vocals"),
                           BalanceAdvisor(wide(0.0, 6.0)))
    assert not [f for f in set_by_user.findings if f.code == "role_guessed"]


def test_files_whose_names_name_no_instrument_are_called_so_not_ambiguous(tmp_path):
    """Names that name nothing ("SLIDE", "FILL BUILD") are taken for "other", unsure: the notes say that, not
    "ambiguous", in the plural where there are several."""
    def song(db: float):   # the other instruments db over the vocals, in two files named like nothing
        folder = noise_song(tmp_path / f"s{db}", db={"other": db - 6.02})   # a copy adds in phase: +6.02 dB
        (folder / "Keys.wav").rename(folder / "SLIDE.wav")
        shutil.copy(folder / "SLIDE.wav", folder / "FILL BUILD.wav")
        return load_tracks([folder]).tracks

    advice = critique(AdviceRequest(song(9.0), "vocals"), BalanceAdvisor(wide(0.0, 1.0)))
    other = next(s for s in advice.suggestions if s.role == "other")
    assert other.confidence < 0.5
    assert [f.message for f in advice.findings if f.code == "tentative"] == [
        f"other: tentative ({other.confidence:.0%}): the roles of FILL BUILD.wav, SLIDE.wav were guessed from file "
        "names that name no instrument; set them to make the advice firm."]
    advice = critique(AdviceRequest(song(5.0), "vocals"), BalanceAdvisor(wide(0.0, 6.0)))
    assert [f.message for f in advice.findings if f.code == "role_guessed"] == [
        "other vs vocals rests on FILL BUILD.wav, SLIDE.wav, whose roles were guessed from file names that name no "
        "instrument: if they are not among the other instruments, set their roles and critique again."]


def test_other_out_of_band_is_a_secondary_suggestion(write_session):
    advice = critique(AdviceRequest(load_tracks([write_session({"other": 12.0})]).tracks, "vocals"),
                      load_advisor("balance"))
    assert advice.primary is None
    assert [s.role for s in advice.suggestions] == ["other"] and advice.suggestions[0].direction == "decrease"


def test_shipped_and_user_profiles_are_listed_and_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXINGBUDDY_PROFILE_DIR", str(tmp_path))
    assert load_advisor("balance").profile.name == "pop-rock"
    assert load_advisor("balance", profile="electronic").profile.name == "electronic"
    (tmp_path / "mine.json").write_text((resolve_profile("electronic")).read_text())
    listed = {(e.name, e.source) for e in list_profiles()}
    assert {("pop-rock", "shipped"), ("electronic", "shipped"), ("mine", "user")} <= listed
    with pytest.raises(InputError, match="Unknown profile"):
        load_profile("nope")
    with pytest.raises(InputError, match="shipped"):
        user_profile_path("pop-rock")


def test_a_listed_profile_is_known_by_its_file_name(tmp_path, monkeypatch):
    monkeypatch.setenv("MIXINGBUDDY_PROFILE_DIR", str(tmp_path / "mine"))
    (tmp_path / "mine").mkdir()
    data = json.loads(resolve_profile("electronic").read_text())   # its JSON says "electronic"
    (tmp_path / "mine" / "club.json").write_text(json.dumps(data))
    (tmp_path / "elsewhere.json").write_text(json.dumps(data))
    assert load_profile("club").name == "club"           # as listed, so `--profile club` chooses it again
    assert load_advisor("balance", profile="club").profile.name == "club"
    assert load_profile(tmp_path / "elsewhere.json").name == "electronic"   # a file given by path: its own name
    data["pairs"] = {"drums|vocals": {"median": 1.0}}
    (tmp_path / "mine" / "broken.json").write_text(json.dumps(data))
    listed = {e.name: e.description for e in list_profiles()}
    assert listed["broken"].startswith("(unusable)") and "no numeric q25" in listed["broken"]
    assert not listed["club"].startswith("(unusable)")


def test_songs_in_folders_of_one_name_keep_their_own_offsets(tmp_path):
    songs = [noise_song(tmp_path / parent / "Mix", db={"drums": d}, seed=i)
             for i, (parent, d) in enumerate((("A", 4.0), ("B", 0.0)))]
    profile, _ = fit_profile(songs, "twins")
    assert profile["provenance"]["songs"] == ["A/Mix", "B/Mix"]
    offsets = profile["pairs"]["drums|vocals"]["song_offsets"]
    assert offsets == pytest.approx({"A/Mix": 4.0, "B/Mix": 0.0}, abs=0.1)
    assert profile["description"] == "Learned from 2 songs: A/Mix, B/Mix"   # none given: say what it holds


def test_format_1_profiles_still_load(tmp_path):
    old = {"format": "mixingbuddy.balance_profile/1", "thresholds_db": {"ok": 3, "very": 6},
           "pairs": {"drums|vocals": {"median": -2.0, "q25": -5.0, "q75": 1.0, "n": None}}}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    stats = BalanceProfile.load(path).typical("drums", "vocals")
    assert stats.judged and abs(stats.spread - 6.0 / 1.349) < 1e-6
    old["pairs"]["drums|vocals"]["songs"] = 1        # labelled /1, but it says one song: not judged
    path.write_text(json.dumps(old))
    assert not BalanceProfile.load(path).typical("drums", "vocals").judged


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real stems not found at {REAL} (../shared is absent)")
def test_shipped_electronic_profile_was_fitted_on_the_four_real_songs():
    data = json.loads(resolve_profile("electronic").read_text())
    assert sorted(data["provenance"]["songs"]) == sorted(p.name for p in REAL.iterdir() if p.is_dir())
    assert data["pairs"]["drums|vocals"]["songs"] == 4


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_dir(), reason=f"real stems not found at {REAL} (../shared is absent)")
def test_shipped_electronic_profile_is_what_fitting_the_real_songs_gives():
    shipped = json.loads(resolve_profile("electronic").read_text())
    songs = sorted(p for p in REAL.iterdir() if p.is_dir())
    refit, _ = fit_profile(songs, "electronic")
    assert set(refit["pairs"]) == set(shipped["pairs"])
    for pair, stats in shipped["pairs"].items():
        got = refit["pairs"][pair]
        for key in ("median", "q25", "q75", "spread_lu"):
            assert got[key] == pytest.approx(stats[key], abs=0.05), (pair, key)
        assert got["song_offsets"] == pytest.approx(stats["song_offsets"], abs=0.05), pair
        assert got["songs"] == stats["songs"] and got["windows"] == stats["windows"]
    # the files it learned from unsure names are on record, as the fit found them
    assert refit["provenance"]["unsure_roles"] == shipped["provenance"]["unsure_roles"]


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real stems not found at {REAL} (../shared is absent)")
def test_real_song_where_vocals_rest_falls_back_to_drums():
    tracks = load_tracks([REAL / "Sodium"]).tracks
    advice = critique(AdviceRequest(tracks, None, span=(90.0, 150.0)), load_advisor("balance", profile="electronic"))
    assert advice.anchor == "drums" and "vocals" in advice.anchor_reason
    assert not (advice.primary and advice.primary.confidence >= 0.5 and advice.primary.category.startswith("very"))


def test_a_confident_verdict_that_another_profile_does_not_share_says_which_profile_decides(tmp_path):
    from model.advice.report import advice_markdown, render_text

    def judged(drums_db, profile):
        tracks = load_tracks([noise_song(tmp_path / f"d{drums_db}", db={"drums": drums_db})]).tracks
        return critique(AdviceRequest(tracks, "vocals"), load_advisor("balance", profile=profile))

    # drums 7 LU over the vocals: far too loud for pop/rock, within what released electronic pop does
    pop = judged(7.0, "pop-rock")
    assert pop.primary.role == "drums" and pop.primary.confidence >= 0.5
    electronic = judged(7.0, "electronic")
    assert electronic.primary.confidence < 0.5
    note = pop.profile_note
    assert note.startswith("This advice rests on the 'pop-rock' profile. Against 'electronic'")
    assert f"the drums may be a little too loud: if so, lower them by 3 to 6 dB ({electronic.confidence:.0%})" in note
    assert note.endswith("If the song is of that kind, critique it with that profile.")   # no front end's syntax
    text = render_text(pop, "chosen", ())
    head, warnings = text.split("  Warnings:") if "  Warnings:" in text else (text, "")
    assert f"  Note: {note[:-1]} (--profile electronic)." in head and note[:-1] not in warnings   # the CLI's way
    assert f"- Note: {note}" in advice_markdown(pop)
    # the profile it names travels as data too: in the JSON and in a saved session's advice
    from model.advice.report import advice_from_dict, advice_to_dict, advice_to_json
    assert pop.contrast_profile == advice_to_json(pop)["contrast_profile"] == "electronic"
    assert advice_from_dict(advice_to_dict(pop)).contrast_profile == "electronic"
    # a tentative verdict claims nothing to contrast; where both profiles are sure of the same move, no note
    assert electronic.profile_note == "" and electronic.contrast_profile is None
    assert judged(12.0, "pop-rock").profile_note == judged(12.0, "electronic").profile_note == ""


def test_the_other_profiles_view_is_first_of_the_headlines_role():
    """Potassium, PAD + BASS as bass: pop-rock says the bass is far too loud; electronic leads with the drums (a
    little too quiet) and thinks the bass a little too loud, and the note gave only its drums, as if it disagreed
    about the bass. It says what that profile thinks of the bass first, then what it puts first."""
    from model.advice.advisor import SongVerdict
    from model.advice.pipeline import _other_view
    from model.advice.types import RoleGain

    bass = RoleGain("bass", "decrease", "loud", 3.0, 6.0, -4.5, 0.28)
    drums = RoleGain("drums", "increase", "quiet", 3.0, 6.0, 4.5, 0.29)
    alt = SongVerdict(drums, (drums, bass), 0.29, False)
    assert _other_view(alt, "bass", (), "vocals") == (
        "the bass may be a little too loud: if so, lower it by 3 to 6 dB (28%); and, first, the drums may be a "
        "little too quiet: if so, raise them by 3 to 6 dB (29%)")
    assert _other_view(alt, "drums", (), "vocals") == (
        "the drums may be a little too quiet: if so, raise them by 3 to 6 dB (29%)")


def test_the_other_profiles_headline_is_tentative_below_half_where_it_could_not_judge_the_role():
    """Where the other profile judged nothing of the headline's role, the note gives that profile's own lead;
    at 31 % it said "the drums are a little too quiet. Raise them…" as if sure, unlike every other sub-50 % line."""
    from model.advice.advisor import SongVerdict
    from model.advice.pipeline import _other_view
    from model.advice.types import RoleGain

    drums = RoleGain("drums", "increase", "quiet", 3.0, 6.0, 4.5, 0.31)
    assert _other_view(SongVerdict(drums, (drums,), 0.31, False), "bass", (), "vocals") == (
        "the drums may be a little too quiet: if so, raise them by 3 to 6 dB (31%)")
    sure = RoleGain("drums", "increase", "quiet", 3.0, 6.0, 4.5, 0.72)
    assert _other_view(SongVerdict(sure, (sure,), 0.72, False), "bass", (), "vocals").startswith(
        "the drums are a little too quiet")


def test_a_reading_beside_its_band_is_printed_on_the_side_it_is_judged_on():
    """Hydrogen's drums against the lead vocal read +5.017 LU against a band ending at +5.007: flagged, yet to
    0.1 LU they printed '+5.0' inside '-1.0..+5.0'. Near an edge the reading and band get the decimals it takes."""
    from model.advice.profiles import PairStats

    st = PairStats(median=2.007, q25=0.0, q75=4.0, spread=2.0)
    assert st.reading_texts(5.017, 3.0) == ("+5.02", "-0.99..+5.01")     # out of band, by 0.01 LU
    assert st.reading_texts(4.996, 3.0) == ("+5.0", "-1.0..+5.0")        # in band: 0.1 LU shows it
    assert st.reading_texts(-3.2, 3.0) == ("-3.2", "-1.0..+5.0")
    assert st.reading_texts(-0.9935, 3.0) == ("-0.994", "-0.993..+5.007")  # out of band by 0.0005 LU: 3 decimals
    for offset in np.linspace(-2.0, 6.0, 8001):
        reading, band = st.reading_texts(float(offset), 3.0)
        low, high = (float(x) for x in band.split(".."))
        if abs(offset - st.median) < 3.0 - 1e-3 or abs(offset - st.median) > 3.0 + 1e-3:
            assert (low <= float(reading) <= high) == (abs(offset - st.median) < 3.0), (offset, reading, band)
