"""The streamed analysis over worker processes (model.audio.filepool) against the thread path; errors and cleanup."""

import multiprocessing
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from model.audio.cache import AnalysisCache
from model.audio.measure import WindowBuilder
from model.audio.stream import PROCESS_MIN_FILES, PROCESS_MIN_S, analyse_session
from model.audio.tracks import Gains, plan_session
from model.errors import AudioFormatError, MixingBuddyError
from tests.model.test_stream import LITHIUM, assert_same_analysis, mixed_session

REPO = Path(__file__).resolve().parents[2]


def _children() -> list[int]:
    """Ids of this process's live child processes (the pool's workers would be among them).

    multiprocessing's resource tracker is left out: one per program, it ends with it.
    """
    kids = [p.pid for p in multiprocessing.active_children()]
    if os.path.isdir("/proc"):
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[1]) == os.getpid() and fields[0] != "Z" and b"resource_tracker" not in cmdline:
                    kids.append(int(entry))
    return kids


def _shared_memory_files() -> set[str]:
    return set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()


def big_session(folder: Path, files: int = PROCESS_MIN_FILES + 1, seconds: float = PROCESS_MIN_S + 1,
                sr: int = 16000) -> Path:
    """Enough files, long enough, for analyse_session to choose processes by itself (low rate: quick)."""
    names = ["Lead Vox", "Kick", "Snare", "Bass", "Keys", "Pad", "BGV", "Hat", "Guitar", "Strings", "Perc", "FX"]
    rng = np.random.default_rng(7)
    for i in range(files):
        env = np.repeat(rng.uniform(0.2, 1.0, int(seconds * 10) + 1), sr // 10)[: int(seconds * sr)]
        audio = (0.1 * rng.standard_normal((int(seconds * sr), 1 + i % 2)) * env[:, None]).astype(np.float32)
        sf.write(folder / f"{i + 1:02d} {names[i % len(names)]}.wav", audio, sr, subtype="PCM_16")
    return folder


def _nan_in_the_middle(path: Path, seconds: float, sr: int = 16000) -> None:
    audio = (0.05 * np.random.default_rng(1).standard_normal((int(seconds * sr), 2))).astype(np.float32)
    audio[int(sr * seconds / 2)] = np.nan  # the header is fine: only decoding, in a worker, finds it
    sf.write(path, audio, sr, subtype="FLOAT")


@pytest.mark.parametrize("span", [None, (7.5, 29.0)])
def test_process_pool_gives_the_thread_paths_readings_and_findings(tmp_path, span):
    folder = mixed_session(tmp_path)  # 24/44.1/48 kHz, a short file, 4 channels, clipping float, DC, fake stereo
    gains = Gains(track_db={"05 Lead Vox.wav": -4.0}, muted=frozenset({"01 Kick.wav"}))
    threads = analyse_session(plan_session([folder]), span=span, true_peak=True, gains=gains, processes=False)
    pooled = analyse_session(plan_session([folder]), span=span, true_peak=True, gains=gains, processes=True,
                             workers=3)
    assert_same_analysis(pooled, threads.measurements, threads.findings)
    assert pooled.notes == threads.notes
    assert _children() == []


def test_process_pool_uses_and_fills_the_cache(tmp_path):
    (tmp_path / "song").mkdir()
    folder = mixed_session(tmp_path / "song", seconds=25.0)
    cache = AnalysisCache()
    first = analyse_session(plan_session([folder]), cache=cache, processes=True, workers=2)
    gains = Gains(track_db={"02 Snare Top.wav": 3.0}, muted=frozenset({"06 BGV 2.wav"}))
    again = analyse_session(plan_session([folder]), cache=cache, processes=True, workers=2, gains=gains)
    fresh = analyse_session(plan_session([folder]), processes=False, gains=gains)
    assert_same_analysis(again, fresh.measurements, fresh.findings)
    assert again.measurements.tracks["02 Snare Top.wav"].lufs == pytest.approx(
        first.measurements.tracks["02 Snare Top.wav"].lufs + 3.0, abs=0.01)


@pytest.mark.skipif(not LITHIUM.is_dir(), reason="../shared/realdata (real music) is absent")
def test_process_pool_gives_the_thread_paths_readings_on_real_music():
    names = ["HOUSE BEAT.ogg", "KICK.ogg", "SY BASS.ogg", "VOX LEAD.ogg", "VOX ECHO.ogg", "BGVOX MAIN.ogg",
             "PLUCK.ogg", "BGVOX 1.ogg", "BGVOX 2.ogg", "ALT HH.ogg", "ARP DIST.ogg", "BEEP.ogg"]  # 24 and 48 kHz
    paths = [LITHIUM / n for n in names]
    threads = analyse_session(plan_session(paths), processes=False)
    pooled = analyse_session(plan_session(paths), processes=True, workers=2)
    assert_same_analysis(pooled, threads.measurements, threads.findings)


def test_an_undecodable_file_in_a_worker_is_one_audio_format_error_and_no_process_is_left(tmp_path):
    folder = big_session(tmp_path)
    _nan_in_the_middle(folder / "13 Bad Pad.wav", PROCESS_MIN_S + 1)
    with pytest.raises(AudioFormatError, match=r"^13 Bad Pad.wav: contains NaN or infinite samples\.$"):
        analyse_session(plan_session([folder]), processes=True, workers=2)
    assert _children() == []


def test_an_interrupt_in_the_main_process_stops_every_worker_and_leaves_no_shared_memory(tmp_path, monkeypatch):
    folder = big_session(tmp_path)
    before = _shared_memory_files()

    def interrupted(self, true_peak, on_role_sums=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(WindowBuilder, "finish", interrupted)  # runs in the main process only
    with pytest.raises(KeyboardInterrupt):
        analyse_session(plan_session([folder]), processes=True, workers=2)
    assert _children() == []
    assert _shared_memory_files() <= before


def test_cli_undecodable_file_through_the_pool_is_one_line_exit_2_and_leaves_no_process(tmp_path):
    """The CLI in its own process: one line on stderr, exit 2, and no worker outlives it (found by a marker)."""
    folder = big_session(tmp_path)
    _nan_in_the_middle(folder / "13 Bad Pad.wav", PROCESS_MIN_S + 1)
    marker = f"MIXINGBUDDY_TEST_{uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONPATH": str(REPO), marker: "1"}
    out = subprocess.run([sys.executable, "-m", "mixingbuddy_app", "critique", str(folder)], capture_output=True,
                         text=True, env=env, cwd=REPO, timeout=300)
    assert out.returncode == 2, out.stderr
    assert out.stderr.splitlines() == ["mixingbuddy critique: error: 13 Bad Pad.wav: contains NaN or infinite samples."]
    if os.path.isdir("/proc"):
        left = []
        for entry in filter(str.isdigit, os.listdir("/proc")):
            try:
                if marker.encode() in Path(f"/proc/{entry}/environ").read_bytes():
                    left.append(entry)
            except OSError:
                continue
        assert left == []


def test_a_worker_that_has_ended_is_reported_once_not_as_a_broken_pipe():
    """A worker ends after sending its error; a command sent to it meanwhile must not raise BrokenPipeError
    (the CLI would take that for `| head` and exit 1 silently): the error it left is what the main process raises."""
    from model.audio.filepool import _command, _receive

    mine, theirs = multiprocessing.Pipe()
    theirs.send(("error", "AudioFormatError", "Pad.wav: contains NaN or infinite samples.", ""))
    theirs.close()
    _command(mine, ("block", 480000, None, 0, 0))
    with pytest.raises(AudioFormatError, match="Pad.wav"):
        _receive(mine)
    with pytest.raises(MixingBuddyError, match="ended unexpectedly"):
        _receive(mine)


def test_role_sums_reach_the_spectral_stream_from_the_pool_as_from_threads(tmp_path):
    """--masking/--tonal on a big session: the band frames built from the pool's role sums equal the threads'."""
    from model.audio.spectral import BandFrameStream

    plan = plan_session([big_session(tmp_path)])
    frames = {}
    for processes in (False, True):
        bands = BandFrameStream.over(plan.sample_rate, plan.frames, (5.0, 45.0))
        analyse_session(plan, span=(5.0, 45.0), processes=processes, workers=2, on_role_sums=bands.add)
        frames[processes] = bands.finish()
    assert frames[True].power.keys() == frames[False].power.keys()
    for name, power in frames[False].power.items():
        np.testing.assert_allclose(frames[True].power[name], power, rtol=1e-5, atol=1e-12)


class CancelAfter:
    """A cancel token that trips on its ``n``-th check: a user pressing Cancel in the middle of a song."""

    def __init__(self, n: int) -> None:
        self.n, self.checks = n, 0

    def raise_if_cancelled(self) -> None:
        from model.errors import Cancelled

        self.checks += 1
        if self.checks >= self.n:
            raise Cancelled()


@pytest.mark.parametrize("processes", [False, True])
def test_a_streamed_analysis_stops_at_the_next_block_when_cancelled_and_leaves_no_process(tmp_path, processes):
    from model.errors import Cancelled

    folder = big_session(tmp_path)
    cancel = CancelAfter(3)
    with pytest.raises(Cancelled):
        analyse_session(plan_session([folder]), processes=processes, workers=2, cancel=cancel)
    assert cancel.checks == 3 and _children() == []
