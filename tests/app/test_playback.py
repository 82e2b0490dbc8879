"""MixEngine.render as a pure, allocation-free function; outputs; the controller's transport."""

from __future__ import annotations

import threading
import tracemalloc
import weakref

import numpy as np
import pytest

from mixingbuddy_app.playback import (LIMITER_THRESHOLD, PREVIEW_HEADROOM_DB, RELEASE_DELAY_S, MixEngine, NullOutput,
                                      make_output)

from tests.app.conftest import FakeOutput, load

BUS = 10 ** (-PREVIEW_HEADROOM_DB / 20)


def _engine(n_tracks=3, frames=4800, rate=48000):
    rng = np.random.default_rng(0)
    buf = np.ascontiguousarray((rng.standard_normal((n_tracks, frames, 2)) * 0.05).astype(np.float32))
    e = MixEngine(rate)
    e.set_buffer(buf, np.ones(n_tracks, np.float32))
    return e, buf


def test_render_is_the_gain_weighted_sum_with_bus_headroom():
    e, buf = _engine()
    g = np.array([1.0, 0.5, 0.0], np.float32)
    e.set_gains(g)
    e.playing = True
    out = np.zeros((256, 2), np.float32)
    e.render(out, 256)
    expected = np.tensordot(g, buf[:, :256], axes=(0, 0)) * BUS
    assert np.allclose(out, expected, atol=1e-6)
    assert e.position == 256
    e.render(out, 256)
    assert np.allclose(out, np.tensordot(g, buf[:, 256:512], axes=(0, 0)) * BUS, atol=1e-6)


def test_mute_and_solo_through_the_gains_vector(qtbot, make_window, stems):
    out = FakeOutput()
    w = make_window(output=out)
    c = load(qtbot, w, stems)
    ids = [t.id for t in c.project.tracks.tracks]
    c.set_muted(ids[1], True)
    assert c.engine.gains[1] == 0 and c.engine.gains[0] == pytest.approx(1.0)
    c.set_soloed(ids[2], True)
    assert list(np.nonzero(c.engine.gains)[0]) == [2]
    c.set_soloed(ids[2], False)
    c.set_muted(ids[1], False)
    assert np.allclose(c.engine.gains, 1.0)
    c.play()
    assert out.opened == 1 and c.engine.playing
    block = out.pump(2)
    mix = np.tensordot(c.engine.gains, c.engine.buffer[:, 512:1024], axes=(0, 0)) * BUS
    assert np.allclose(block, mix, atol=1e-5)
    c.set_muted(ids[0], True)                  # heard at the next block
    block = out.pump(1)
    g = np.array([0, 1, 1, 1], np.float32)
    assert np.allclose(block, np.tensordot(g, c.engine.buffer[:, 1024:1536], axes=(0, 0)) * BUS, atol=1e-5)
    c.toggle_play()
    assert not c.engine.playing
    c.seek(1.0)
    assert c.playhead_s() == pytest.approx(1.0)


def test_render_allocates_nothing_in_steady_state():
    e, buf = _engine(16, 48000 * 3)
    e.playing = True
    out = np.zeros((4096, 2), np.float32)
    out_id, ptr = id(out), out.ctypes.data
    for _ in range(5):
        e.render(out, 4096)   # warm up
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(30):
        e.render(out, 4096)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # a block is 32 KiB; only small Python objects (views, ints) may come and go
    assert peak - base < 4096, (base, current, peak)
    assert current - base < 1024
    assert id(out) == out_id and out.ctypes.data == ptr


def test_loop_wraps_and_end_stops():
    e, buf = _engine(2, 1000)
    e.set_gains(np.array([1, 0], np.float32))
    e.set_loop(100, 300)
    e.seek(250)
    e.playing = True
    out = np.zeros((100, 2), np.float32)
    e.render(out, 100)
    expected = np.concatenate([buf[0, 250:300], buf[0, 100:150]]) * BUS
    assert np.allclose(out, expected, atol=1e-6)
    assert e.position == 150
    e.set_loop(None, None)
    e.seek(950)
    e.render(out, 100)
    assert np.allclose(out[:50], buf[0, 950:1000] * BUS, atol=1e-6)
    assert not out[50:].any() and not e.playing and e.position == 0


def test_soft_limiter_never_clips():
    e = MixEngine(48000)
    loud = np.full((4, 2048, 2), 0.9, np.float32)
    loud[:, ::2] *= -1
    e.set_buffer(loud, np.full(4, 4.0, np.float32))
    e.playing = True
    out = np.zeros((2048, 2), np.float32)
    e.render(out, 2048)
    assert np.abs(out).max() <= 1.0 and np.abs(out).max() > LIMITER_THRESHOLD
    quiet = np.full((1, 64, 2), 0.1, np.float32)
    e.set_buffer(quiet, np.ones(1, np.float32))
    e.seek(0)
    e.playing = True
    out = np.zeros((64, 2), np.float32)
    e.render(out, 64)
    assert np.allclose(out, 0.1 * BUS)               # below the threshold the bus is linear


def test_not_playing_renders_silence_and_bad_buffers_are_refused():
    e, _ = _engine()
    out = np.ones((64, 2), np.float32)
    e.render(out, 64)
    assert not out.any() and e.position == 0
    with pytest.raises(ValueError):
        e.set_buffer(np.zeros((2, 10, 2), np.float64), np.ones(2))
    with pytest.raises(ValueError):
        e.set_gains(np.ones(5))


def test_no_portaudio_means_null_output(monkeypatch):
    monkeypatch.setenv("MIXINGBUDDY_NO_AUDIO", "1")
    out = make_output()
    assert isinstance(out, NullOutput) and not out.available and "MIXINGBUDDY_NO_AUDIO" in out.reason
    monkeypatch.delenv("MIXINGBUDDY_NO_AUDIO")
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *a, **k):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    out = make_output()
    assert isinstance(out, NullOutput) and "PortAudio" in out.reason


def test_preview_unavailable_banner_and_app_still_works(qtbot, make_window, stems):
    w = make_window(output=NullOutput("PortAudio library not found (install libportaudio2)"))
    assert any("Preview unavailable" == b.report.title for b in w.banners.banners)
    assert "Preview unavailable" in w.transport.note.text()
    c = load(qtbot, w, stems)
    assert not w.play_action.isEnabled() and not w.transport.play_button.isEnabled()
    c.play()
    assert not c.engine.playing
    assert w.critique_action.isEnabled()


def test_space_toggles_play_and_the_playhead_follows(qtbot, make_window, stems):
    from PySide6.QtCore import Qt

    out = FakeOutput()
    w = make_window(output=out)
    c = load(qtbot, w, stems)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert c.engine.playing
    out.pump(32)                                   # 32 blocks of 512 frames at 16 kHz = 1.024 s
    w.transport.tick()
    assert c.playhead_s() == pytest.approx(1.024 - out.latency_s, abs=1e-3)
    assert w.transport.time.text().startswith("0:01.0")
    assert w.overview.playhead.value() == pytest.approx(c.playhead_s())
    qtbot.keyClick(w, Qt.Key.Key_Space)
    assert not c.engine.playing


def test_real_sounddevice_either_opens_a_device_or_says_why(monkeypatch):
    """With the real PortAudio stack of this machine: an output with a name, or a NullOutput with a reason."""
    from mixingbuddy_app.playback import NullOutput, PortAudioOutput, make_output

    monkeypatch.delenv("MIXINGBUDDY_NO_AUDIO", raising=False)
    out = make_output()
    if isinstance(out, PortAudioOutput):
        assert out.available and out.name
    else:
        assert isinstance(out, NullOutput)
        assert any(word in out.reason for word in ("PortAudio library not found", "no audio output device"))


def test_a_replaced_buffer_is_let_go_off_the_calling_thread():
    """Unmapping a big preview buffer takes about a second: the GUI thread that swaps in a new one never waits
    for it; the old buffer goes on a release thread once a callback period has surely passed."""
    engine = MixEngine()
    old = np.zeros((2, 4800, 2), dtype=np.float32)
    gone = threading.Event()
    where = []
    weakref.finalize(old, lambda: (where.append(threading.current_thread().name), gone.set()))
    engine.set_buffer(old, np.ones(2, dtype=np.float32))
    del old
    engine.set_buffer(np.zeros((1, 4800, 2), dtype=np.float32), np.ones(1, dtype=np.float32))
    assert not gone.is_set()                       # still held while a callback could be mixing from it
    assert gone.wait(RELEASE_DELAY_S + 2.0)
    assert where == ["release-preview"]


class _Reads:
    """os.preadv, recording what each call read: {(fd, offset): bytes read}, the order of the reads and the threads
    that made them (the read-ahead thread may be serving other tests' engines too: each buffer's reads are told
    apart by its file)."""

    def __init__(self, monkeypatch):
        import os

        self.got: dict[tuple[int, int], bytes] = {}
        self.order: list[tuple[int, int]] = []
        self.threads: set[int] = set()   # the threads that read
        real = os.preadv

        def preadv(fd, buffers, offset):
            n = real(fd, buffers, offset)
            self.got[fd, offset] = bytes(buffers[0][:n])
            self.order.append((fd, offset))
            self.threads.add(threading.get_ident())
            return n

        monkeypatch.setattr("mixingbuddy_app.playback.os.preadv", preadv)

    @staticmethod
    def _where(buf: np.ndarray) -> tuple[int, int]:
        """(fd, byte offset of the first frame) of ``buf`` in its preview file."""
        from mixingbuddy_app.playback import preview_file
        from model.audio.processes import mapped_view

        mapped = preview_file(buf)
        return mapped.fd, mapped_view(buf, mapped)[0]

    def offsets_of(self, buf: np.ndarray) -> list[int]:
        """Where in ``buf``'s file each of its reads began (bytes from its first frame), in the order read."""
        fd, start = self._where(buf)
        return [offset - start for f, offset in self.order if f == fd]

    def frames_of(self, buf: np.ndarray, row: int) -> set[int]:
        """The frames of track ``row`` read (their bytes checked against the buffer's)."""
        fd, start = self._where(buf)
        start += row * buf.strides[0]
        frames = set()
        for (f, offset), data in list(self.got.items()):
            first = (offset - start) // buf.strides[1]
            n = len(data) // buf.strides[1]
            if f == fd and 0 <= first < buf.shape[1] and offset >= start:
                assert data == buf[row, first:first + n].tobytes()   # the bytes that frame range holds
                frames |= set(range(first, first + n))
        return frames


def _mapped_engine(tmp_path, n_tracks=3, seconds=12.0, rate=8000):
    from mixingbuddy_app.playback import preview_buffer

    buf = preview_buffer(n_tracks, int(seconds * rate), tmp_path)
    buf[:] = np.random.default_rng(1).standard_normal(buf.shape).astype(np.float32) * 0.05
    e = MixEngine(rate)
    e.set_buffer(buf, np.ones(n_tracks, np.float32), rate)
    return e, buf


def test_starting_to_play_reads_the_first_chunk_of_every_track_of_a_mapped_preview_first(tmp_path, monkeypatch):
    # the callback must not wait for the disk: what it mixes first is in the page cache before it starts
    from mixingbuddy_app.playback import READ_CHUNK_S

    e, buf = _mapped_engine(tmp_path)
    reads = _Reads(monkeypatch)
    e.seek(int(5.1 * 8000))
    e.start()
    assert e.playing
    chunk = int(READ_CHUNK_S * 8000)
    for row in range(3):
        assert set(range(int(5.1 * 8000), 5 * 8000 + chunk)) <= reads.frames_of(buf, row)


def test_a_seek_while_playing_and_the_loop_wrap_are_read_ahead(tmp_path, monkeypatch):
    import time

    from mixingbuddy_app.playback import READ_AHEAD_S

    e, buf = _mapped_engine(tmp_path)
    e.set_loop(8000, 4 * 8000)
    reads = _Reads(monkeypatch)
    e.start()   # from the loop's start
    e.seek(int(3.5 * 8000))   # read now, before the callback jumps there
    assert set(range(int(3.5 * 8000), int(3.6 * 8000))) <= reads.frames_of(buf, 2)
    # the read-ahead thread then reads READ_AHEAD_S from there: round the loop, back to its start
    wanted = set(range(int(3.5 * 8000), 4 * 8000)) | set(range(8000, int((1 + READ_AHEAD_S - 0.5) * 8000)))
    deadline = time.monotonic() + 5.0
    while not wanted <= reads.frames_of(buf, 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert wanted <= reads.frames_of(buf, 0)
    assert not reads.frames_of(buf, 0) & set(range(4 * 8000, buf.shape[1]))   # nothing past the loop


def test_the_read_ahead_reads_every_track_in_the_order_the_callback_plays(tmp_path, monkeypatch):
    # chunk by chunk in time, every track of a chunk before the next: what plays sooner is never queued behind
    # what plays later
    from mixingbuddy_app.playback import READ_CHUNK_S

    e, buf = _mapped_engine(tmp_path, n_tracks=4)
    reads = _Reads(monkeypatch)
    e._read_ahead.read([(int(1.1 * 8000), 2 * 8000)], skip_recent=True)   # as the read-ahead thread reads
    chunk = int(READ_CHUNK_S * 8000)
    read = [divmod(offset, buf.strides[0]) for offset in reads.offsets_of(buf)]
    chunks = [(at // buf.strides[1] // chunk, row) for row, at in read]
    assert chunks == [(c, row) for c in range(4, 13) for row in range(4)]


def test_the_read_ahead_reads_a_chunk_again_once_its_pages_may_have_been_dropped(tmp_path, monkeypatch):
    # under memory pressure a mapped preview's pages go within seconds: what was read more than the read-ahead's
    # reach ago is read again (a loop's next pass), what was read since is not read twice
    import time
    import types

    import mixingbuddy_app.playback as playback

    clock = [1000.0]
    fake = types.SimpleNamespace(**{name: getattr(time, name) for name in dir(time) if not name.startswith("_")})
    fake.monotonic = lambda: clock[0]
    monkeypatch.setattr(playback, "time", fake)
    e, buf = _mapped_engine(tmp_path)
    reads = _Reads(monkeypatch)
    first_second = [(0, 8000)]   # four chunks of each of the three tracks
    e._read_ahead.read(first_second, skip_recent=True)
    assert len(reads.offsets_of(buf)) == 12
    clock[0] += playback.READ_AGAIN_S - 0.1
    e._read_ahead.read(first_second, skip_recent=True)
    assert len(reads.offsets_of(buf)) == 12
    clock[0] += 0.2
    e._read_ahead.read(first_second, skip_recent=True)
    assert len(reads.offsets_of(buf)) == 24


def test_a_preview_in_ordinary_memory_is_not_read_ahead(monkeypatch):
    e, _ = _engine()
    reads = _Reads(monkeypatch)
    e.start()
    e.read_ahead()   # what the read-ahead thread runs, here on this thread (which may serve other tests' engines)
    assert e.playing and threading.get_ident() not in reads.threads
