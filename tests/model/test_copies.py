"""A file that is the full mix among its own stems: found by how it adds to them, and only then."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from model.audio.measure import measure_session
from model.audio.copies import find_copies, without_copies
from model.audio.tracks import Gains, load_tracks

RATE = 16000
SECONDS = 30
REAL = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "evr" / "Hydrogen"


def stems() -> dict[str, np.ndarray]:
    """Five independent parts that come and go like a song's (mono, float32)."""
    rng = np.random.default_rng(3)
    n = RATE * SECONDS
    t = np.arange(n) / RATE
    gate = lambda period, duty, phase=0.0: ((t / period + phase) % 1.0 < duty).astype(np.float32)  # noqa: E731
    kick = np.zeros(n)
    for start in range(0, n, RATE // 2):
        k = np.arange(min(n - start, RATE // 5))
        kick[start:start + len(k)] = 0.8 * np.exp(-k / (0.03 * RATE)) * np.sin(2 * np.pi * 55 * k / RATE)
    parts = {
        "Lead Vox.wav": 0.2 * np.sin(2 * np.pi * 330 * t + 3 * np.sin(2 * np.pi * 5 * t)) * gate(8.0, 0.6),
        "Kick.wav": kick,
        "Hats.wav": 0.1 * rng.standard_normal(n) * gate(0.25, 0.2),
        "Bass.wav": 0.25 * np.sin(2 * np.pi * 55 * t) * gate(4.0, 0.75, 0.3),
        "Pad.wav": 0.05 * rng.standard_normal(n) * (0.5 + 0.5 * np.sin(2 * np.pi * t / 12.0)),
    }
    return {name: x.astype(np.float32) for name, x in parts.items()}


def write(folder: Path, files: dict[str, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, x in files.items():
        sf.write(str(folder / name), x, RATE, subtype="FLOAT")
    return folder


def found(folder: Path, gains: Gains = Gains()):
    """The file found to be the full mix, or None (and no other copy)."""
    copies = find_copies(measured(folder, gains))
    assert all(c.role is None for c in copies), copies
    return copies[0] if copies else None


def measured(folder: Path, gains: Gains = Gains()):
    return measure_session(load_tracks([folder]).tracks, gains, 10.0, None, true_peak=False, per_track=True)


def linked_song(tmp_path: Path):
    """The released song's tracks, loaded, and a folder of links to its files (to add files to)."""
    tracks = load_tracks([REAL]).tracks
    folder = tmp_path / REAL.name
    folder.mkdir()
    for t in tracks.tracks:
        (folder / t.name).symlink_to(Path(t.path).resolve())
    return tracks, folder


def test_stems_alone_have_no_mix_file(tmp_path):
    assert found(write(tmp_path / "song", stems())) is None


def test_the_sum_of_the_stems_is_found_as_the_mix_file(tmp_path):
    parts = stems()
    mix = found(write(tmp_path / "song", {**parts, "Song Master.wav": sum(parts.values())}))
    assert mix is not None and mix.track_id == "Song Master.wav" and mix.others == 5
    assert mix.excess_db == pytest.approx(3.0, abs=0.1)   # a copy at unity adds in phase: +3 dB over the powers
    assert "Song Master.wav looks like the full mix" in mix.finding("It is left out.").message


def test_a_mastered_mix_file_louder_and_limited_is_found(tmp_path):
    parts = stems()
    master = np.tanh(2.5 * sum(parts.values())) * 0.9
    mix = found(write(tmp_path / "song", {**parts, "Mixdown.wav": master.astype(np.float32)}))
    assert mix is not None and mix.track_id == "Mixdown.wav"


def test_a_muted_mix_file_is_not_found(tmp_path):
    parts = stems()
    folder = write(tmp_path / "song", {**parts, "Song Master.wav": sum(parts.values())})
    assert found(folder, Gains(muted=frozenset({"Song Master.wav"}))) is None


def save_as(path: Path, x: np.ndarray, subtype: str, rate: int = RATE) -> None:
    """Save ``x`` in the format ``path``'s suffix names (libsndfile writes Ogg and MP3 block by block)."""
    with sf.SoundFile(str(path), "w", rate, 1 if x.ndim == 1 else x.shape[1], subtype) as out:
        for i in range(0, len(x), 8192):
            out.write(x[i:i + 8192])


def test_a_stem_saved_again_in_another_format_is_its_copy_and_the_best_kept_file_stays(tmp_path):
    # not the same audio to the bit (16-bit, MP3): the doctor's exact check misses these; the loudness does not
    parts = stems()
    folder = write(tmp_path / "song", parts)
    save_as(folder / "Bass.flac", parts["Bass.wav"], "PCM_16")
    save_as(folder / "Bass.mp3", parts["Bass.wav"], "MPEG_LAYER_III")
    copies = find_copies(measured(folder))
    assert sorted((c.track_id, c.twin, c.role) for c in copies) == [("Bass.flac", "Bass.wav", "bass"),
                                                                   ("Bass.mp3", "Bass.wav", "bass")]
    assert all(c.tracking_db < 1.0 and not c.is_full_mix for c in copies)
    said = copies[0].finding("It is left out.")
    assert said.code == "saved_twice" and said.track_ids == (copies[0].track_id,)
    assert said.message.startswith(f"{copies[0].name} holds the audio of Bass.wav") and "(in another format)" in \
        said.message and said.message.endswith("It is left out.")
    # a save the user chose (the anchor track, a role set by hand) is the one kept
    keep = {c.track_id: c.twin for c in find_copies(measured(folder), keep={"Bass.mp3"})}
    assert keep == {"Bass.wav": "Bass.mp3", "Bass.flac": "Bass.mp3"}
    # without the float WAV, the 16-bit FLAC is kept (lossless) and the MP3 is its copy
    (folder / "Bass.wav").unlink()
    assert [(c.track_id, c.twin) for c in find_copies(measured(folder))] == [("Bass.mp3", "Bass.flac")]


def test_the_same_name_with_other_audio_is_no_copy(tmp_path):
    # an older export 3 dB lower, and another part under a stem's name: both may be meant, and neither is a copy
    parts = stems()
    folder = write(tmp_path / "song", parts)
    save_as(folder / "Bass.flac", parts["Bass.wav"] * np.float32(10 ** (-3 / 20)), "PCM_24")
    save_as(folder / "Pad.flac", parts["Hats.wav"], "PCM_24")
    assert find_copies(measured(folder)) == []


def test_a_stem_saved_again_in_another_folder_is_its_copy(tmp_path):
    parts = stems()
    song, bounced = write(tmp_path / "song", parts), write(tmp_path / "bounced", {"Bass.wav": parts["Bass.wav"]})
    tracks = load_tracks([song, bounced]).tracks
    copies = find_copies(measure_session(tracks, Gains(), 10.0, None, true_peak=False))
    assert [(tracks.get(c.track_id).path, c.twin, c.role) for c in copies] == [(str(bounced / "Bass.wav"), "Bass.wav",
                                                                                "bass")]
    assert "(in another folder)" in copies[0].finding("").message


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/realdata (real music) is absent")
def test_a_released_songs_stem_saved_again_lossy_and_in_16_bits_is_found_and_nothing_else(tmp_path):
    tracks, folder = linked_song(tmp_path)
    drums = next(t for t in tracks.tracks if t.name == "MAIN DRUMS.ogg")
    save_as(folder / "MAIN DRUMS.flac", drums.audio, "PCM_16", tracks.sample_rate)
    save_as(folder / "MAIN DRUMS.mp3", drums.audio, "MPEG_LAYER_III", tracks.sample_rate)
    del tracks, drums
    # the Ogg original is lossy: the 16-bit FLAC made of it is the file kept
    assert sorted((c.track_id, c.twin) for c in find_copies(measured(folder))) == [
        ("MAIN DRUMS.mp3", "MAIN DRUMS.flac"), ("MAIN DRUMS.ogg", "MAIN DRUMS.flac")]


@pytest.mark.parametrize("extra", ["a stem twice", "a late copy"])
def test_no_file_is_taken_for_the_mix_when_it_is_not_a_copy_of_all_the_others(tmp_path, extra):
    parts = stems()
    add = {
        "a stem twice": {"Bass copy.wav": parts["Bass.wav"]},
        # 64 ms late (a room mic hears the band late): it no longer adds in phase, so nothing is claimed
        "a late copy": {"Room.wav": np.concatenate([np.zeros(RATE * 64 // 1000, np.float32),
                                                    sum(parts.values())[:-(RATE * 64 // 1000)]])},
    }[extra]
    assert found(write(tmp_path / "song", {**parts, **add})) is None


def test_a_bus_of_a_roles_files_is_found_as_that_roles_copy(tmp_path):
    parts = stems()
    parts["Snare.wav"] = np.roll(parts["Hats.wav"], RATE // 8) * np.float32(2.0)
    bus = parts["Kick.wav"] + parts["Hats.wav"] + parts["Snare.wav"]
    copies = find_copies(measured(write(tmp_path / "song", {**parts, "Drum Group.wav": bus})))
    assert [(c.track_id, c.role, c.others) for c in copies] == [("Drum Group.wav", "drums", 3)]
    said = copies[0].finding("It is left out.")
    assert said.code == "bus_file" and said.message.startswith("Drum Group.wav looks like a bus of the drums")
    assert find_copies(measured(write(tmp_path / "stems", parts))) == []
    # with the bus left out, a full mix beside it is found next
    folder = write(tmp_path / "both", {**parts, "Drum Group.wav": bus, "Mix.wav": sum(parts.values())})
    assert [c.track_id for c in find_copies(measured(folder))] == ["Drum Group.wav"]
    assert [(c.track_id, c.role) for c in find_copies(measured(folder, Gains(muted=frozenset({"Drum Group.wav"}))))] \
        == [("Mix.wav", None)]


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/realdata (real music) is absent")
def test_a_released_song_has_no_mix_file_until_its_sum_is_added(tmp_path):
    tracks, folder = linked_song(tmp_path)
    assert find_copies(measure_session(tracks, Gains(), 10.0, None, true_peak=False)) == []
    stereo = {t.name: t.audio if t.audio.ndim == 2 else np.repeat(t.audio[:, None], 2, axis=1) for t in tracks.tracks}
    drums = [t.name for t in tracks.tracks if t.role.role == "drums"]
    sf.write(str(folder / "Hydrogen Master.wav"), sum(stereo.values()), tracks.sample_rate, subtype="FLOAT")
    sf.write(str(folder / "DRUM GROUP.wav"), sum(stereo[n] for n in drums), tracks.sample_rate, subtype="FLOAT")
    del tracks, stereo
    copies = find_copies(measured(folder, Gains(muted=frozenset({"DRUM GROUP.wav"}))))
    assert [(c.track_id, c.role, c.others) for c in copies] == [("Hydrogen Master.wav", None, 12)]
    copies = find_copies(measured(folder, Gains(muted=frozenset({"Hydrogen Master.wav"}))))
    assert [(c.track_id, c.role, c.others) for c in copies] == [("DRUM GROUP.wav", "drums", len(drums))]


def test_one_signal_at_several_levels_names_no_file_as_the_mix(tmp_path):
    # every file a copy of every other (a test-tone session): any of them could be "the sum", so none is named
    noise = np.random.default_rng(5).standard_normal(RATE * SECONDS).astype(np.float32) * 0.05
    levels = {"Lead Vox.wav": 0.0, "Drums.wav": 8.0, "Bass.wav": -2.5, "Keys.wav": 12.0}
    assert found(write(tmp_path / "song", {n: noise * np.float32(10 ** (db / 20)) for n, db in levels.items()})) is None


def kit() -> dict[str, np.ndarray]:
    """The stems with a snare, and drum parts that come and go over seconds, as a song's sections do (parts
    that play evenly all through would follow each other's loudness and look like copies of each other)."""
    parts = stems()
    t = np.arange(RATE * SECONDS) / RATE
    section = lambda period, duty, phase: ((t / period + phase) % 1.0 < duty).astype(np.float32)  # noqa: E731
    parts["Snare.wav"] = np.roll(parts["Hats.wav"], RATE // 8) * section(9.0, 0.6, 0.5)
    parts["Kick.wav"] = parts["Kick.wav"] * (0.3 + section(12.0, 0.6, 0.0))
    parts["Hats.wav"] = parts["Hats.wav"] * section(7.0, 0.5, 0.3)
    return parts


def test_a_group_inside_the_drum_group_is_found_once_the_outer_one_is_out(tmp_path):
    # the inner group holds a small share of the drums, as a kick or a tops group does; one with much more
    # makes the outer one add in phase over IN_PHASE, and neither is named
    parts = {name: x * np.float32(0.4 if name in ("Hats.wav", "Snare.wav") else 1.0) for name, x in kit().items()}
    tops = parts["Hats.wav"] + parts["Snare.wav"]
    folder = write(tmp_path / "song", {**parts, "Tops Bus.wav": tops, "Drum Group.wav": tops + parts["Kick.wav"]})
    analysis = lambda gains: (SimpleNamespace(measurements=measured(folder, gains)), None)  # noqa: E731
    _, gains, left_out = without_copies(analysis, Gains())
    assert [(c.track_id, c.role, c.part) for c in left_out] == [("Drum Group.wav", "drums", False),
                                                                ("Tops Bus.wav", "drums", True)]
    assert gains.muted == {"Drum Group.wav", "Tops Bus.wav"}
    said = left_out[1].finding("It is left out.").message
    assert said.startswith("Tops Bus.wav looks like a bus of some of the drums") and "those drums twice" in said


@pytest.mark.parametrize("gain_db", [0.0, -3.0])
def test_a_group_of_some_of_a_roles_files_is_found_at_its_fader(tmp_path, gain_db):
    parts = kit()
    group = (parts["Hats.wav"] + parts["Snare.wav"]) * np.float32(10 ** (gain_db / 20))
    copies = find_copies(measured(write(tmp_path / "song", {**parts, "Tops Bus.wav": group})))
    assert [(c.track_id, c.role, c.part) for c in copies] == [("Tops Bus.wav", "drums", True)]


@pytest.mark.parametrize("stops_s", [None, 14.95])
def test_a_layer_printed_twice_is_not_a_group(tmp_path, stops_s):
    # the same hats on two tracks play twice as loud in the DAW's mix too: nothing is counted twice by the export;
    # a layer that stops halfway, within a block, differs from the hats by any amount in that block only
    parts = kit()
    layer = parts["Hats.wav"].copy()
    if stops_s is not None:
        layer[int(stops_s * RATE):] = 0.0
    assert find_copies(measured(write(tmp_path / "song", {**parts, "Hats Layer.wav": layer}))) == []


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/realdata (real music) is absent")
def test_groups_of_some_of_a_released_songs_files_are_found(tmp_path):
    tracks, folder = linked_song(tmp_path)
    stereo = {t.name: t.audio if t.audio.ndim == 2 else np.repeat(t.audio[:, None], 2, axis=1) for t in tracks.tracks}
    groups = {"BGVOX GROUP.wav": [n for n in stereo if n.startswith("BGVOX")],
              "BREAKS GROUP.wav": [n for n in stereo if n.startswith("DRUMS BREAK")]}
    for name, parts in groups.items():
        sf.write(str(folder / name), sum(stereo[n] for n in parts), tracks.sample_rate, subtype="FLOAT")
    del tracks, stereo
    copies = find_copies(measured(folder))
    assert sorted((c.track_id, c.role, c.part) for c in copies) == [("BGVOX GROUP.wav", "vocals", True),
                                                                   ("BREAKS GROUP.wav", "drums", True)]


def test_a_group_of_files_from_several_roles_is_found_over_the_mix(tmp_path):
    parts = kit()
    music = parts["Bass.wav"] + parts["Pad.wav"]
    copies = find_copies(measured(write(tmp_path / "song", {**parts, "Music Bus.wav": music})))
    assert [(c.track_id, c.role, c.part) for c in copies] == [("Music Bus.wav", None, True)]
    said = copies[0].finding("It is left out.")
    assert said.code == "bus_file" and said.message.startswith("Music Bus.wav looks like a bus of files from several")
    assert copies[0].title == "A bus of several roles among the stems" and not copies[0].is_full_mix


@pytest.mark.parametrize("gated", [False, True])
def test_a_track_printed_dry_and_wet_is_not_taken_for_the_mix_nor_makes_another_file_one(tmp_path, gated):
    # the wet print adds in phase with its dry twin, as a copy of the mix adds with the stems; in a session of a
    # few files the twin is much of the others' sum, and the pair's excess must not be laid on a third file
    # either. Parts that play throughout (a loop) follow each other's loudness as a copy does.
    rng = np.random.default_rng(5)
    n = RATE * SECONDS

    def part(seed_gain: float) -> np.ndarray:   # noise whose level drifts by up to 3 dB from block to block
        drift = np.repeat(rng.uniform(-3.0, 3.0, n // (RATE // 5) + 1), RATE // 5)[:n]
        return (seed_gain * rng.standard_normal(n) * 10 ** (drift / 20)).astype(np.float32)

    parts = stems() if gated else {"Kick.wav": part(0.1), "Bass.wav": part(0.1), "Lead Vox.wav": part(0.1)}
    dry = parts["Lead Vox.wav"]
    tail = np.exp(-np.arange(RATE // 2) / (0.15 * RATE)) * rng.standard_normal(RATE // 2)
    wet = dry + 0.5 * np.convolve(dry, tail / np.sqrt(np.sum(tail ** 2)))[:n].astype(np.float32)
    session = {"Kick.wav": parts["Kick.wav"], "Bass.wav": parts["Bass.wav"], "Lead Vox Dry.wav": dry,
               "Lead Vox Wet.wav": wet}
    assert find_copies(measured(write(tmp_path / "song", session))) == []
