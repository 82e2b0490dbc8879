"""The streamed analysis (model.audio.stream) against loading everything, libebur128 itself, and the cache."""

import math
import os
import threading
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model.advice.advisor import AdviceRequest
from model.advice.pipeline import critique
from model.advisors import load_advisor
from model.audio.cache import AnalysisCache, FileKey
from model.audio.doctor import check_session
from model.audio.dsp import Meter, combined_loudness, resample
from model.audio.measure import measure_session, window_spans
from model.audio.spectral import BandFrameStream, band_frames, power_db, role_band_frames
from model.audio import stream
from model.audio.stream import analyse_session
from model.audio.tracks import Gains, load_tracks, mix, plan_session, role_mix
from model.synthetic import synth_multitrack

LITHIUM = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "evr" / "Lithium"
TOLERANCE_LU = 0.05


def _close(a, b, tol=TOLERANCE_LU):
    if a is None or b is None:
        return a is None and b is None
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b
    return abs(a - b) <= tol


def mixed_session(folder: Path, seconds: float = 34.0, offsets=None) -> Path:
    """A synthetic multitrack with the awkward parts of real exports: 24 and 44.1 kHz files among
    48 kHz ones, a shorter file, a 4-channel file, a float file that clips, DC, fake stereo."""
    sr = 48000
    tracks = synth_multitrack(seed=3, seconds=seconds, sample_rate=sr, role_offsets_db=offsets or {})
    for name, audio in tracks.items():
        if name == "04 Bass DI":
            sf.write(folder / f"{name}.wav", resample(audio, sr, 24000), 24000, subtype="PCM_24")
        elif name == "03 Hi Hat":
            sf.write(folder / f"{name}.flac", resample(audio, sr, 44100)[: 44100 * 20], 44100)
        elif name == "07 Keys Pad":
            quad = np.concatenate([audio, audio * 0.5], axis=1)
            sf.write(folder / f"{name}.wav", quad, sr, subtype="PCM_24")
        elif name == "02 Snare Top":  # a few samples above full scale, and DC
            hot = audio + np.float32(0.01)
            hot[int(sr * 12.5) - 2:int(sr * 12.5) + 6] = 1.2
            sf.write(folder / f"{name}.wav", hot, sr, subtype="FLOAT")
        elif name == "06 BGV 2":
            sf.write(folder / f"{name}.wav", np.stack([audio[:, 0], audio[:, 0]], axis=1), sr, subtype="PCM_24")
        else:
            sf.write(folder / f"{name}.wav", audio, sr, subtype="PCM_24")
    return folder


def assert_same_analysis(streamed, measured, findings):
    m = streamed.measurements
    for tid, level in measured.tracks.items():
        got = m.tracks[tid]
        assert _close(got.lufs, level.lufs) and _close(got.sample_peak_db, level.sample_peak_db), tid
        assert _close(got.true_peak_db, level.true_peak_db, 0.1), tid
        assert got.activity == pytest.approx(level.activity, abs=0.02), tid
    for role, level in measured.roles.items():
        assert _close(m.roles[role].lufs, level.lufs), role
    assert _close(m.mix.lufs, measured.mix.lufs)
    assert [w.window for w in m.windows] == [w.window for w in measured.windows]
    for got, want in zip(m.windows, measured.windows):
        assert got.role_active == want.role_active
        assert _close(got.mix.lufs, want.mix.lufs)
        for role in want.roles:
            assert _close(got.roles[role].lufs, want.roles[role].lufs), (got.window, role)
    assert [(f.code, f.track_ids) for f in streamed.findings] == [(f.code, f.track_ids) for f in findings]


@pytest.mark.parametrize("span", [None, (7.5, 29.0)])
def test_streamed_analysis_equals_loading_everything(tmp_path, span):
    folder = mixed_session(tmp_path)
    loaded = load_tracks([folder])
    gains = Gains(track_db={"05 Lead Vox.wav": -4.0}, muted=frozenset({"01 Kick.wav"}))
    measured = measure_session(loaded.tracks, gains, 10.0, span, true_peak=True)
    streamed = analyse_session(plan_session([folder]), window_s=10.0, span=span, true_peak=True, gains=gains)
    assert_same_analysis(streamed, measured, check_session(loaded.tracks, None, gains))
    assert streamed.notes == loaded.notes
    assert {"rate_mismatch", "length_mismatch", "clipping", "dc_offset", "fake_stereo"} <= {
        f.code for f in streamed.findings}


@pytest.mark.parametrize("threads", [True, False])
def test_a_tracks_true_peak_is_the_judged_spans_as_the_mixs(tmp_path, threads):
    """A hit outside the span is not the span's peak: the track's true peak follows the span, as the mix's does,
    read from the files as they stream or from the loaded audio."""
    sr = 48000
    t = np.arange(sr * 20) / sr
    audio = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    audio[sr * 2:sr * 2 + 100] = 0.9   # a hit at 2 s
    sf.write(tmp_path / "Vox.wav", audio, sr, subtype="FLOAT")
    span = (5.0, 15.0)
    if threads:
        m = analyse_session(plan_session([tmp_path]), span=span, true_peak=True, processes=False).measurements
    else:
        m = measure_session(load_tracks([tmp_path]).tracks, Gains(), 10.0, span, true_peak=True)
    assert m.tracks["Vox.wav"].true_peak_db == pytest.approx(20 * math.log10(0.1), abs=0.1)
    assert m.mix.true_peak_db == pytest.approx(20 * math.log10(0.1), abs=0.1)


def test_every_streamed_reading_is_libebur128_on_the_same_window(tmp_path):
    """Independent reference: one pyebur128 meter per window on the loaded role sums and mix."""
    folder = mixed_session(tmp_path)
    tracks = load_tracks([folder]).tracks
    streamed = analyse_session(plan_session([folder])).measurements
    _check_against_meters(streamed, tracks)


def _check_against_meters(streamed, tracks, span=None):
    sr, gains = tracks.sample_rate, Gains()
    spans = window_spans(tracks.duration_s, 10.0, span)
    assert len(spans) == len(streamed.windows)
    role_meters = {r: [] for r in tracks.roles_present()}
    for (start_s, end_s, _), wl in zip(spans, streamed.windows):
        a, b = int(round(start_s * sr)), int(round(end_s * sr))
        for role in role_meters:
            meter = Meter(2, sr)
            meter.add(role_mix(tracks, gains, role, a, b))
            role_meters[role].append(meter)
            if len([t for t in tracks.tracks if t.role.role == role]) > 1:
                assert _close(wl.roles[role].lufs, meter.loudness()), (start_s, role)
        meter = Meter(2, sr)
        meter.add(mix(tracks, gains, a, b))
        assert _close(wl.mix.lufs, meter.loudness()), start_s
    for role, meters in role_meters.items():
        if len([t for t in tracks.tracks if t.role.role == role]) > 1:
            assert _close(streamed.roles[role].lufs, combined_loudness(meters)), role
    for t in tracks.tracks:
        meters = []
        for start_s, end_s, _ in spans:
            meter = Meter(t.audio.shape[1], sr, dual_mono=True)
            meter.add(t.audio[int(round(start_s * sr)):int(round(end_s * sr))])
            meters.append(meter)
        assert _close(streamed.tracks[t.id].lufs, combined_loudness(meters)), t.id


@pytest.mark.skipif(not LITHIUM.is_dir(), reason="../shared/realdata (real music) is absent")
def test_streamed_readings_match_libebur128_on_real_music():
    names = ["HOUSE BEAT.ogg", "KICK.ogg", "SY BASS.ogg", "VOX LEAD.ogg", "VOX ECHO.ogg", "BGVOX MAIN.ogg",
             "PLUCK.ogg"]  # 24 and 48 kHz files
    paths = [LITHIUM / n for n in names]
    span = (120.0, 160.0)
    tracks = load_tracks(paths).tracks
    streamed = analyse_session(plan_session(paths), span=span)
    _check_against_meters(streamed.measurements, tracks, span)
    assert_same_analysis(streamed, measure_session(tracks, Gains(), 10.0, span, true_peak=False),
                         check_session(tracks))


@pytest.mark.parametrize("offsets, anchor", [({}, "vocals"), ({"drums": 9.0}, "vocals"),
                                             ({"vocals": -4.0}, "drums"), ({"bass": -7.0}, "vocals")])
def test_same_verdicts_as_loading_everything(tmp_path, offsets, anchor):
    folder = mixed_session(tmp_path, seconds=40.0, offsets=offsets)
    advisor = load_advisor("balance")
    loaded = critique(AdviceRequest(load_tracks([folder]).tracks, anchor), advisor)
    plan = plan_session([folder])
    analysis = analyse_session(plan, anchor=anchor)
    streamed = critique(AdviceRequest(analysis.tracks, anchor), advisor, analysis=analysis)
    assert streamed.text == loaded.text
    assert streamed.suggestions == loaded.suggestions
    assert [(v.target, v.direction, v.category) for v in streamed.windows] == [
        (v.target, v.direction, v.category) for v in loaded.windows]
    if offsets:
        assert streamed.primary is not None and streamed.primary.role == next(iter(offsets))


def test_the_same_files_give_the_same_readings_whichever_thread_finishes_first(tmp_path, monkeypatch):
    """Float sums depend on their order: the role sums must not follow the threads' finishing order."""
    folder = mixed_session(tmp_path, seconds=25.0, offsets={"drums": 3.0})  # three drum files, one role
    in_order = analyse_session(plan_session([folder]), anchor="vocals", workers=1, processes=False)
    ids = plan_session([folder]).ids
    done: dict[tuple[float, str], threading.Event] = defaultdict(threading.Event)
    step = stream.BlockJob.step

    def last_file_first(job, s, n, builder, index):  # each file's block is done after the next file's
        k = ids.index(s.track.id)
        if builder is not None and k + 1 < len(ids):
            assert done[builder.start_s, ids[k + 1]].wait(10.0)
        try:
            return step(job, s, n, builder, index)
        finally:
            if builder is not None:
                done[builder.start_s, s.track.id].set()

    monkeypatch.setattr(stream.BlockJob, "step", last_file_first)
    reversed_ = analyse_session(plan_session([folder]), anchor="vocals", workers=len(ids), processes=False)
    for a, b in zip(in_order.measurements.windows, reversed_.measurements.windows, strict=True):
        assert {r: level.lufs for r, level in a.roles.items()} == {r: level.lufs for r, level in b.roles.items()}
        assert a.mix.lufs == b.mix.lufs


def test_cache_reuses_unchanged_files_and_measures_a_rewritten_one_again(tmp_path):
    (tmp_path / "song").mkdir()
    folder = mixed_session(tmp_path / "song", seconds=25.0)
    cache = AnalysisCache(tmp_path / "cache")
    first = analyse_session(plan_session([folder]), cache=cache)
    plan = plan_session([folder])
    keys = {tid: FileKey.of(info, plan.sample_rate, plan.frames, 10.0, None) for tid, info in zip(plan.ids, plan.infos)}
    assert all(cache.get(k) is not None for k in keys.values())

    vox = folder / "05 Lead Vox.wav"
    audio, sr = sf.read(vox, dtype="float32")
    sf.write(vox, audio * 0.5, sr, subtype="PCM_24")  # -6 dB, same length and header
    st = vox.stat()
    os.utime(vox, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    plan = plan_session([folder])
    new_key = FileKey.of(plan.infos[plan.ids.index(vox.name)], plan.sample_rate, plan.frames, 10.0, None)
    assert new_key != keys[vox.name] and cache.get(new_key) is None
    assert AnalysisCache(tmp_path / "cache").get(keys["01 Kick.wav"]) is not None  # found again on disk

    again = analyse_session(plan, cache=cache)
    fresh = analyse_session(plan)
    assert again.measurements.to_json("vocals") == fresh.measurements.to_json("vocals")
    assert again.measurements.tracks[vox.name].lufs == pytest.approx(
        first.measurements.tracks[vox.name].lufs - 6.02, abs=0.05)
    assert cache.get(new_key) is not None


def test_a_file_shorter_than_its_header_says_ends_the_stream_when_resampled(tmp_path):
    """A header can overstate the length (an estimated MP3 length, a cut file): the stream stops where the audio does."""
    import dataclasses
    import threading

    rng = np.random.default_rng(3)
    for name in ("Lead Vox.wav", "Drums.wav"):
        sf.write(tmp_path / name, (0.1 * rng.standard_normal((48000 * 3, 2))).astype(np.float32), 48000)
    sf.write(tmp_path / "Bass.wav", (0.1 * rng.standard_normal((24000 * 2, 2))).astype(np.float32), 24000)
    plan = plan_session([tmp_path], strict=True)
    i = next(k for k, info in enumerate(plan.infos) if info.sample_rate == 24000)
    overstated = dataclasses.replace(plan.infos[i], frames=24000 * 3)   # the header claims 3 s; 2 s decode
    plan = dataclasses.replace(plan, infos=plan.infos[:i] + (overstated,) + plan.infos[i + 1:])
    done = {}
    worker = threading.Thread(target=lambda: done.setdefault("analysis", analyse_session(plan)), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert "analysis" in done, "the streamed analysis did not end"
    assert done["analysis"].measurements.roles["bass"].lufs > -40


def _assert_same_band_frames(got, want, tol_db):
    """Same frames, roles and band levels (dB) within ``tol_db`` wherever either side is above the level floor."""
    assert (got.start_s, got.hop_s, got.frames, set(got.power)) == (want.start_s, want.hop_s, want.frames,
                                                                    set(want.power))
    for role, power in want.power.items():
        a, b = power_db(got.power[role]), power_db(power)
        audible = np.maximum(a, b) > -120.0  # float32 rounding of a near-silent sum is not a difference
        assert np.max(np.abs(a - b)[audible], initial=0.0) <= tol_db, role


@pytest.mark.parametrize("span", [None, (7.5, 29.3)])
def test_streamed_band_frames_equal_the_one_shot_pass(tmp_path, span):
    """The role sums handed out by the streamed analysis give the band frames of the loaded tracks (same gains,
    mutes, span), though the 10 s windows cut the song where the one-shot pass does not."""
    sr = 48000
    for name, audio in synth_multitrack(seed=4, seconds=33.7, sample_rate=sr).items():
        sf.write(tmp_path / f"{name}.wav", audio[: int(sr * 30.1)] if name == "03 Hi Hat" else audio, sr,
                 subtype="FLOAT")
    plan = plan_session([tmp_path])
    tracks = load_tracks([tmp_path]).tracks
    ids = [t.id for t in tracks.tracks]
    gains = Gains(track_db={ids[0]: -4.5}, role_db={"other": 3.0}, muted=frozenset({ids[5]}))
    stream = BandFrameStream.over(sr, plan.frames, span)
    analyse_session(plan, span=span, gains=gains, on_role_sums=stream.add)
    _assert_same_band_frames(stream.finish(), role_band_frames(tracks, gains, span), 1e-4)


def test_band_frame_stream_carries_frames_across_any_piece_boundaries():
    rng = np.random.default_rng(2)
    sr = 44100
    left_only = np.zeros((sr * 6 + 77, 2), dtype=np.float32)
    left_only[:, 0] = rng.standard_normal(len(left_only)) * 0.1
    mono = (rng.standard_normal((sr * 5, 1)) * 0.2).astype(np.float32)
    one_shot = band_frames({"a": [(left_only, 1.0)], "b": [(mono, 1.0)]}, sr, (0.4, 5.9))
    stream = BandFrameStream.over(sr, len(left_only), (0.4, 5.9))
    pos = 0
    for size in (1, 4095, 3, 20000, 9000, 100000, 200000, len(left_only)):  # odd sizes, then the rest
        pieces = {"a": left_only[pos: pos + size], "b": mono[pos: pos + size]}
        stream.add(pos, {k: v for k, v in pieces.items() if len(v)})  # "b" ends before "a"
        pos += size
    _assert_same_band_frames(stream.finish(), one_shot, 0.0)
    with pytest.raises(ValueError, match="gap"):
        BandFrameStream.over(sr, sr * 4).add(1000, {"a": left_only[:10]})
