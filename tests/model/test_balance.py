"""BalanceAdvisor end to end on synthetic sessions with known flaws."""

import json
from dataclasses import replace

import pytest

from model.advice.advisor import AdviceRequest
from model.advisors import load_advisor
from model.advice.profiles import BalanceProfile
from model.advice.pipeline import critique
from model.errors import AdvisorUnavailable, RoleError
from model.audio.roles import RoleGuess
from model.audio.tracks import Gains, TrackSet, load_tracks


def advise(folder, anchor="vocals", gains=None):
    tracks = load_tracks([folder]).tracks
    return critique(AdviceRequest(tracks, anchor, gains or Gains()), load_advisor("balance"))


def test_untouched_session_gets_no_suggestion(write_session):
    advice = advise(write_session())
    assert advice.primary is None and advice.suggestions == () and not advice.abstained
    assert all(v.direction == "none" for v in advice.windows)
    assert "balance" in advice.text.lower()


def test_drums_plus_9_db_are_very_loud(write_session):
    advice = advise(write_session({"drums": 9.0}))
    p = advice.primary
    assert (p.role, p.direction, p.category, p.min_db, p.max_db) == ("drums", "decrease", "very_loud", 6, 12)
    assert -12 <= p.delta_db <= -6
    assert advice.text == "The drums are far too loud. Lower them by 6 to 12 dB."
    assert advice.confidence >= 0.6


def test_vocals_minus_4_db_are_quiet_against_the_drums(write_session):
    advice = advise(write_session({"vocals": -4.0}), anchor="drums")
    p = advice.primary
    assert (p.role, p.direction, p.category, p.min_db, p.max_db) == ("vocals", "increase", "quiet", 3, 6)
    assert 3 <= p.delta_db <= 6


def test_applying_the_suggestion_resolves_it(write_session):
    folder = write_session({"bass": -8.0})
    first = advise(folder)
    assert first.primary.role == "bass" and first.primary.direction == "increase"
    fixed = Gains(role_db={"bass": first.primary.delta_db})
    second = advise(folder, gains=fixed)
    assert second.primary is None


def test_muted_tracks_are_not_judged(write_session):
    folder = write_session({"drums": 9.0})
    tracks = load_tracks([folder]).tracks
    drums = frozenset(t.id for t in tracks.tracks if t.role.role == "drums")
    advice = critique(AdviceRequest(tracks, "vocals", Gains(muted=drums)), load_advisor("balance"))
    assert "drums" not in advice.measurements["roles"]
    assert advice.primary is None or advice.primary.role != "drums"


def test_other_is_never_primary(write_session):
    advice = advise(write_session({"other": 12.0}))
    assert advice.primary is None


def test_anchor_other_is_refused(write_session):
    with pytest.raises(RoleError):
        advise(write_session(), anchor="other")


def test_an_anchor_with_nothing_audible_beside_it_is_refused(write_session):
    folder = write_session()
    tracks = load_tracks([folder]).tracks
    others = frozenset(t.id for t in tracks.tracks if t.role.role != "vocals")
    for anchor in ("vocals", None):  # chosen, or the default the pipeline would pick
        with pytest.raises(RoleError, match="Only the vocals are audible: there is nothing to judge them against"):
            advise(folder, anchor=anchor, gains=Gains(muted=others))
    lead = next(t.id for t in tracks.tracks if t.role.role == "vocals")
    alone = frozenset(t.id for t in tracks.tracks if t.id != lead)
    with pytest.raises(RoleError, match="Only the anchor track .* is audible"):
        critique(AdviceRequest(tracks, "vocals", Gains(muted=alone), anchor_track=lead),
                 load_advisor("balance", profile="electronic"))


def test_with_no_vocals_drums_or_bass_audible_the_refusal_says_why(write_session):
    folder = write_session()
    tracks = load_tracks([folder]).tracks
    targets = frozenset(t.id for t in tracks.tracks if t.role.role != "other")
    with pytest.raises(RoleError, match=r"No audible stem is vocals, drums or bass.*(05 Lead Vox|01 Kick).* muted"):
        critique(AdviceRequest(tracks, None, Gains(muted=targets)), load_advisor("balance"))
    unnamed = TrackSet(tuple(replace(t, role=RoleGuess("other", "default", None, 0.3)) for t in tracks.tracks),
                       tracks.sample_rate)
    with pytest.raises(RoleError, match=r"the file names \(01 Kick.wav, .* and \d more\) do not say what the stems"):
        critique(AdviceRequest(unnamed, None, Gains()), load_advisor("balance"))


def test_profile_pairs_cover_every_role_and_anchor_with_provenance():
    from resources import BALANCE_PROFILE

    data = json.loads(BALANCE_PROFILE.read_text())
    for anchor in ("vocals", "drums", "bass"):
        for role in ("vocals", "drums", "bass", "other"):
            if role != anchor:
                pair = data["pairs"][f"{role}|{anchor}"]
                assert pair["q25"] <= pair["median"] <= pair["q75"] and pair["source"]
    assert data["provenance"]["method"]


def test_broken_profile_is_a_clear_error(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(AdvisorUnavailable, match="p.json"):
        BalanceProfile.load(bad)


def test_when_no_role_plays_beside_the_anchor_the_gate_fallback_is_not_said_to_judge(tmp_path):
    """Vocals, then silence, then drums: no window holds both, so nothing is judged, and the note that the loudest
    window is judged instead (a fallback that judged nothing) is left out."""
    import numpy as np
    import soundfile as sf

    sr = 24000
    rng = np.random.default_rng(4)
    part = lambda a, b: np.concatenate([np.zeros(a * sr), rng.standard_normal((b - a) * sr) * 0.1,   # noqa: E731
                                        np.zeros((30 - b) * sr)]).astype(np.float32)
    sf.write(tmp_path / "Lead Vox.wav", part(0, 10), sr)
    sf.write(tmp_path / "Kick.wav", part(20, 30), sr)
    advice = advise(tmp_path)
    assert advice.abstained and advice.suggestions == ()
    assert "window_fallback" not in {f.code for f in advice.findings}


@pytest.mark.parametrize("vocal_gain", [0.02, 0.5])
def test_the_gate_fallback_says_it_judged_the_loudest_window_not_windows_where_both_play(tmp_path, vocal_gain):
    """The bass plays throughout, the vocals 1 s in each 10 s window (under the 20 % activity gate): no window
    passes, the loudest is judged anyway (capped), and the confidence line says so rather than '1 of 1 windows
    where the vocals and the bass both play agree' (Potassium 3:50-4:09.8: the vocals barely play there)."""
    import numpy as np
    import soundfile as sf

    sr = 24000
    rng = np.random.default_rng(5)
    t = np.arange(30 * sr) / sr
    sf.write(tmp_path / "Bass.wav", (0.2 * np.sin(2 * np.pi * 55 * t)).astype(np.float32), sr)
    vocal = rng.standard_normal(len(t)) * vocal_gain * ((t % 10) < 1.0)
    sf.write(tmp_path / "Lead Vox.wav", vocal.astype(np.float32), sr)
    advice = advise(tmp_path, anchor="bass")
    assert [v.window.gated for v in advice.windows] == [False]
    assert "judged in the loudest window only" in advice.agreement, advice.agreement
    assert "both play agree" not in advice.agreement and "windows agree" not in advice.agreement


def test_windows_that_move_the_headlines_role_the_other_way_are_not_called_another_size():
    """Hydrogen anchored on BGVOX ECHO: one window said "drums up (very quiet)" under "lower the drums 3-6 dB", and
    the note called it a window naming "a different correction" as if only the size differed."""
    from model.advice.balance import BalanceAdvisor
    from model.advice.types import RoleGain, WindowVerdict
    from model.audio.segments import Window

    def window(i, direction, category):
        return WindowVerdict(Window(10.0 * i, 10.0 * (i + 1), True), "drums", direction, category, None, None, "")

    lower = RoleGain("drums", "decrease", "loud", 3.0, 6.0, -4.5, 0.4)
    from model.advice.profiles import load_profile

    verdicts = [window(0, "decrease", "loud"), window(1, "increase", "very_quiet"), window(2, "decrease", "very_loud")]
    notes = BalanceAdvisor(load_profile("pop-rock"))._notes([], lower, verdicts, False, {})
    said = {n.code: n.message for n in notes}
    assert said["window_size_differs"].startswith("1 window(s) judged alone name a different correction")
    assert said["window_direction_differs"].startswith("1 window(s) judged alone move the drums the other way (up)")
