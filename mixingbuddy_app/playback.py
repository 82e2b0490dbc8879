"""Preview playback: MixEngine (numpy, callback-safe), PortAudioOutput (lazy sounddevice), NullOutput.

Real-time rules for ``MixEngine.render`` (it runs in the PortAudio callback): no allocation of
sample buffers, no locks, no Qt, no logging. The tracks are preloaded as one float32 array
(tracks, frames, 2), held in a memory-mapped temporary file (``preview_buffer``); the GUI replaces the (buffer, gains) pair *by reference*, so the callback
always sees a consistent pair. Seek and transport state are plain Python values. The kernel may drop the mapped
file's pages; ``ReadAhead`` brings them back before the callback reaches them.

The preview bus has 6 dB of headroom and a soft limiter above -2 dBFS, so the output never
clips. This processing is for listening only; the critique always judges the unprocessed mix.
"""

from __future__ import annotations

import mmap
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from model.audio.processes import MappedFile

PREVIEW_HEADROOM_DB = 6.0
LIMITER_THRESHOLD = 0.8          # linear (about -1.9 dBFS); above it a tanh knee runs up to 1.0
MAX_BLOCK = 8192                 # frames; larger callback blocks are split
#: How long (s) a busy thread may keep the interpreter lock from one that waits for it (Python's default: 5 ms).
#: The callback waits for the lock each time numpy gives it back (several times a block), so the default could
#: cost a block tens of ms while the meters or a critique run on another thread. The GUI thread gains too: each
#: Qt call lets go of the lock and takes it back (one track row built during a load: ~20 ms at 5 ms, ~3 ms here).
AUDIO_SWITCH_INTERVAL_S = 0.0005
#: How long a replaced buffer is kept before it is let go (well over one callback period).
RELEASE_DELAY_S = 0.2
#: How far ahead of the play position (s) the preview's pages are read, on a thread of their own, so that the
#: callback never waits for the disk: the kernel drops a memory-mapped preview's pages under memory pressure (that
#: is what keeps a 96-track session out of the app's own memory), and a page read back inside the callback is a
#: dropout (96 tracks played from a cold preview: about 0.45 s for the first block on this repo's machine).
READ_AHEAD_S = 2.0
#: What is read at once, per track; starting to play and a seek while playing read the first one themselves.
READ_CHUNK_S = 0.25
#: A chunk read longer ago than this may have been dropped since (under memory pressure a mapped preview's pages
#: go within seconds): read it again when it comes up. It is how long a chunk stays within the read-ahead's reach,
#: so each chunk is read once per pass (a loop's next pass reads it again).
READ_AGAIN_S = READ_AHEAD_S + READ_CHUNK_S
PREVIEW_BUS_NOTE = ("Preview bus: -6 dB headroom and a soft limiter above -2 dBFS (never clips). "
                    "Listening only: the critique judges the unprocessed mix.")


class MixEngine:
    """Mixes preloaded tracks with a gains vector into an output buffer, in place."""

    def __init__(self, sample_rate: int = 48000, max_block: int = MAX_BLOCK) -> None:
        self.sample_rate = int(sample_rate)
        self.max_block = int(max_block)
        self._master = float(10.0 ** (-PREVIEW_HEADROOM_DB / 20.0))
        empty = np.zeros((0, 0, 2), dtype=np.float32)
        self._mix: tuple[np.ndarray, np.ndarray] = (empty, np.zeros(0, dtype=np.float32))
        self._a = np.zeros(self.max_block * 2, dtype=np.float32)   # limiter scratch
        self._b = np.zeros(self.max_block * 2, dtype=np.float32)
        self._knee = np.float32(1.0 / (1.0 - LIMITER_THRESHOLD))
        self._rest = np.float32(1.0 - LIMITER_THRESHOLD)
        self.position = 0                 # next frame to play (plain int, written by the callback)
        self.playing = False
        self.loop: tuple[int, int] | None = None   # (start, end) frames, replaced by reference
        self._seek: tuple[int, int] = (0, 0)       # (sequence, frame), replaced by reference
        self._seek_seen = 0
        self._read_ahead = ReadAhead(self)
        start_releaser()   # now, so that swapping in a load's buffer never waits for a thread to start

    # --- GUI side -------------------------------------------------------------
    @property
    def pending_seek(self) -> int | None:
        """The frame of a seek the audio thread has not taken yet, else None."""
        seq, frame = self._seek
        return frame if seq != self._seek_seen else None

    @property
    def frames(self) -> int:
        return self._mix[0].shape[1]

    @property
    def n_tracks(self) -> int:
        return self._mix[0].shape[0]

    @property
    def buffer(self) -> np.ndarray:
        return self._mix[0]

    @property
    def gains(self) -> np.ndarray:
        """The linear gains currently heard (without the bus headroom)."""
        return self._mix[1] / np.float32(self._master) if self._mix[1].size else self._mix[1]

    def set_buffer(self, buffer: np.ndarray, gains: np.ndarray, sample_rate: int | None = None) -> None:
        """Swap in new tracks (float32, C-contiguous (tracks, frames, 2)) with their linear gains."""
        if buffer.dtype != np.float32 or buffer.ndim != 3 or buffer.shape[2] != 2 or not buffer.flags.c_contiguous:
            raise ValueError("buffer must be C-contiguous float32 (tracks, frames, 2)")
        g = self._prepared_gains(gains, buffer.shape[0])
        if sample_rate:
            self.sample_rate = int(sample_rate)
        retired = [self._mix]
        self._mix = (buffer, g)
        release_in_background(retired)

    def set_gains(self, gains: np.ndarray) -> None:
        """Replace the gains vector by reference (heard at the next callback)."""
        buf = self._mix[0]
        self._mix = (buf, self._prepared_gains(gains, buf.shape[0]))

    def _prepared_gains(self, gains: np.ndarray, n: int) -> np.ndarray:
        g = np.asarray(gains, dtype=np.float32).reshape(-1)
        if g.shape[0] != n:
            raise ValueError(f"expected {n} gains, got {g.shape[0]}")
        return np.ascontiguousarray(g * np.float32(self._master))

    def seek(self, frame: int) -> None:
        frame = max(0, int(frame))
        if self.playing:   # the callback goes there at once: its first chunk read in first, the rest next
            self._read_ahead.read_now(self._play_ranges(frame, READ_CHUNK_S))
            _read_ahead_now.set()
        self._seek = (self._seek[0] + 1, frame)

    def start(self) -> None:
        """Play from the position (or the pending seek), its first chunk read in before the callback mixes it."""
        if not self.playing:
            self._read_ahead.read_now(self._play_ranges(self._next_frame(), READ_CHUNK_S))
        self.playing = True
        _read_ahead_now.set()   # the rest of READ_AHEAD_S now, not at the thread's next round

    def _next_frame(self) -> int:
        """Where the callback mixes next: the pending seek, else the position."""
        pending = self.pending_seek
        return self.position if pending is None else pending

    def _play_ranges(self, frame: int, seconds: float) -> list[tuple[int, int]]:
        """The (first frame, frames) ranges playing ``seconds`` from ``frame`` covers: up to the end, or round the
        loop."""
        loop = self.loop
        start, end = _play_bounds(loop, self.frames)
        if not start <= frame < end:
            frame = start
        wanted = int(seconds * self.sample_rate)
        ranges = [(frame, min(wanted, end - frame))]
        if loop is not None and wanted > end - frame:
            ranges.append((start, min(wanted - (end - frame), end - start)))
        return [r for r in ranges if r[1] > 0]

    def read_ahead(self) -> None:
        """While playing, read in what the next READ_AHEAD_S will play (the read-ahead thread calls this)."""
        if self.playing and self.frames:
            self._read_ahead.read(self._play_ranges(self._next_frame(), READ_AHEAD_S), skip_recent=True)

    def set_loop(self, start: int | None, end: int | None) -> None:
        self.loop = None if start is None or end is None or end - start < 64 else (int(start), int(end))

    # --- audio thread -----------------------------------------------------------
    def render(self, outdata: np.ndarray, frames: int) -> None:
        """Fill ``outdata`` ((frames, 2) float32, C-contiguous) with the next block. Callback-safe."""
        buf, g = self._mix
        seek = self._seek
        if seek[0] != self._seek_seen:
            self._seek_seen = seek[0]
            self.position = seek[1]
        total = buf.shape[1]
        if not self.playing or total == 0 or buf.shape[0] == 0:
            outdata.fill(0.0)
            return
        flat = outdata.reshape(-1)
        n_tracks = buf.shape[0]
        loop = self.loop
        start, end = _play_bounds(loop, total)
        pos = self.position
        if not start <= pos < end:
            pos = start
        written = 0
        while written < frames:
            n = min(frames - written, end - pos, self.max_block)
            if n <= 0:
                if loop is None:
                    break
                pos = start
                continue
            dst = flat[written * 2:(written + n) * 2]
            np.matmul(g, buf[:, pos:pos + n, :].reshape(n_tracks, n * 2), out=dst)
            if dst.max() > LIMITER_THRESHOLD or dst.min() < -LIMITER_THRESHOLD:
                self._limit(dst, n * 2)
            written += n
            pos += n
            if pos >= end:
                if loop is None:
                    break
                pos = start
        if written < frames:  # reached the end without a loop: stop
            flat[written * 2:].fill(0.0)
            self.playing = False
            pos = start
        self.position = pos

    def _limit(self, dst: np.ndarray, n: int) -> None:
        a = self._a[:n]
        b = self._b[:n]
        np.clip(dst, -LIMITER_THRESHOLD, LIMITER_THRESHOLD, out=a)
        np.subtract(dst, a, out=b)
        np.multiply(b, self._knee, out=b)
        np.tanh(b, out=b)
        np.multiply(b, self._rest, out=b)
        np.add(a, b, out=dst)


def _play_bounds(loop: tuple[int, int] | None, total: int) -> tuple[int, int]:
    """The frames playback runs between: the loop (cut at the end of the tracks), else the whole buffer."""
    return (loop[0], min(loop[1], total)) if loop is not None and loop[0] < total else (0, total)


class ReadAhead:
    """Reads a MixEngine's memory-mapped buffer into the page cache ahead of the callback, in READ_CHUNK_S chunks
    of every track, in the order they will play. Starting to play and a seek read their first chunk before the
    callback gets there; the read-ahead thread reads the next READ_AHEAD_S, skipping chunks read within
    READ_AGAIN_S. Each read is a pread, which lets go of the interpreter lock while it waits for the disk and
    returns when the pages are in. (Asking the kernel instead, posix_fadvise WILLNEED, copies nothing but returns
    before the pages are in: a cold 96-track preview, the two alternated in one run, played with a 99th-percentile
    block of 7.6-8.9 ms asked, 2.4-2.7 ms read.) A buffer in ordinary memory needs none of it."""

    def __init__(self, engine: "MixEngine") -> None:
        self._engine = weakref.ref(engine)
        self._located: tuple = (lambda: None, None)      # (weak reference to the buffer, where it lies or None)
        self._when: dict[int, float] = {}                 # chunk -> when it was last read
        _READERS.add(engine)
        start_read_ahead()

    def read(self, ranges: list[tuple[int, int]], skip_recent: bool = False) -> None:
        """Read the chunks that hold ``ranges`` ((first frame, frames), as MixEngine._play_ranges gives them) into
        memory, chunk by chunk in play order; with ``skip_recent``, not those read within READ_AGAIN_S."""
        engine = self._engine()
        if engine is None:
            return
        buf = engine.buffer
        where = self._locate(buf)
        if where is None:
            return
        fd, offset, row_stride = where
        chunk = max(1, int(READ_CHUNK_S * engine.sample_rate))
        frame_bytes = buf.strides[1]
        scratch = memoryview(bytearray(chunk * frame_bytes))   # the bytes land here, unused; one per call (two
        # threads read at once: Play or a seek on the GUI thread, the read-ahead thread)
        for first, frames in ranges:
            for c in range(first // chunk, (first + frames - 1) // chunk + 1):
                now = time.monotonic()
                if skip_recent and now - self._when.get(c, -READ_AGAIN_S) < READ_AGAIN_S:
                    continue
                self._when[c] = now
                length = (min((c + 1) * chunk, buf.shape[1]) - c * chunk) * frame_bytes
                view = scratch[:length]
                try:
                    for row in range(buf.shape[0]):
                        os.preadv(fd, [view], offset + row * row_stride + c * chunk * frame_bytes)
                except OSError:   # the file went with its buffer: nothing left to read ahead of
                    return

    def read_now(self, ranges: list[tuple[int, int]]) -> None:
        """Read the chunks that hold ``ranges`` and map their pages into this process (one value read per page):
        what the callback mixes first then neither waits for the disk nor faults its pages in (96 tracks from a
        cold preview: the first block took 5-6 ms with the pages read but not mapped, 1-4 ms at most mapped)."""
        self.read(ranges)
        engine = self._engine()
        if engine is None or self._located[1] is None:
            return
        buf = engine.buffer
        per_page = max(1, mmap.PAGESIZE // buf.strides[1])
        for first, frames in ranges:
            float(buf[:, first:first + frames:per_page, 0].sum())

    def _locate(self, buf: np.ndarray) -> tuple[int, int, int] | None:
        """(fd, byte offset of the first frame, bytes from one track to the next) of ``buf`` in its preview file;
        None in ordinary memory. A new buffer starts with no chunk read."""
        if self._located[0]() is not buf:
            from model.audio.processes import mapped_view

            mapped = preview_file(buf) if buf.size and hasattr(os, "preadv") else None
            view = mapped_view(buf, mapped) if mapped is not None else None
            self._located = (weakref.ref(buf), None if view is None else (mapped.fd, view[0], buf.strides[0]))
            self._when = {}
        return self._located[1]


_READERS: "weakref.WeakSet[MixEngine]" = weakref.WeakSet()   # the engines the read-ahead thread serves
_read_ahead_lock = threading.Lock()
_read_ahead_thread: threading.Thread | None = None
_read_ahead_now = threading.Event()   # set by a start or a seek: the thread's round begins at once


def _read_ahead_forever() -> None:
    while True:
        _read_ahead_now.wait(READ_CHUNK_S)
        _read_ahead_now.clear()
        for engine in list(_READERS):
            engine.read_ahead()


def start_read_ahead() -> None:
    """Start the read-ahead thread once (each MixEngine asks, at creation)."""
    global _read_ahead_thread
    with _read_ahead_lock:
        if _read_ahead_thread is None:
            _read_ahead_thread = threading.Thread(target=_read_ahead_forever, name="read-ahead", daemon=True)
            _read_ahead_thread.start()


_to_release: queue.SimpleQueue = queue.SimpleQueue()   # (when, holder) for the release-preview thread
_releaser_lock = threading.Lock()
_releaser: threading.Thread | None = None


def _release_forever() -> None:
    while True:
        when, holder = _to_release.get()
        time.sleep(max(0.0, when - time.monotonic()))
        holder.clear()


def start_releaser() -> None:
    """Start the release-preview thread once (MixEngine does, at creation): starting a thread waits until it
    runs, tens of ms on busy cores, which a load's end on the GUI thread should not spend."""
    global _releaser
    with _releaser_lock:
        if _releaser is None:
            _releaser = threading.Thread(target=_release_forever, name="release-preview", daemon=True)
            _releaser.start()


def release_in_background(holder: list) -> None:
    """Empty ``holder`` on the release-preview thread, so that if it held the last view of a preview buffer, the
    unmapping (about 1 s for 4.5 GB: the file's blocks are freed) happens there, not on the caller's (GUI)
    thread. It waits RELEASE_DELAY_S first, so an audio callback still mixing from the old buffer ends first."""
    start_releaser()
    _to_release.put((time.monotonic() + RELEASE_DELAY_S, holder))


def favour_the_audio_thread() -> None:
    """Let the audio callback take the interpreter lock from busy worker threads within AUDIO_SWITCH_INTERVAL_S."""
    sys.setswitchinterval(min(sys.getswitchinterval(), AUDIO_SWITCH_INTERVAL_S))


def preview_folder() -> Path:
    """Where preview buffers live: $MIXINGBUDDY_PREVIEW_DIR, else the user cache folder (not /tmp, often RAM)."""
    folder = os.environ.get("MIXINGBUDDY_PREVIEW_DIR")
    if folder:
        return Path(folder)
    from model.audio.cache import default_folder

    return default_folder().parent / "preview"


def preview_buffer(n_tracks: int, frames: int, folder: str | os.PathLike | None = None) -> np.ndarray:
    """A zeroed float32 (n_tracks, frames, 2) array for the decoded tracks, backed by a temporary file.

    The file's pages are page cache, not the app's own memory: the kernel writes them back and drops
    them under pressure, so a 100-track session does not need 100 tracks of RAM. The file has no name
    (deleted at once) and its space is reserved up front; it stays open (``preview_file``: the metering
    process maps it too) and goes when the last view of the array does.
    Falls back to ordinary memory where the folder is unusable or lacks the space.
    """
    shape = (int(n_tracks), int(frames), 2)
    size = shape[0] * shape[1] * shape[2] * 4
    if size == 0:
        return np.zeros(shape, dtype=np.float32)
    f = None
    try:
        where = Path(folder) if folder is not None else preview_folder()
        where.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(where).free < size + 512 * 1024**2:
            raise OSError("not enough free space for the preview")
        f = tempfile.TemporaryFile(dir=where, prefix="preview-")
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(f.fileno(), 0, size)   # a full disk fails here, not as SIGBUS in a write
        mapped = np.memmap(f, dtype=np.float32, mode="w+", shape=shape)
    except (OSError, ValueError):
        if f is not None:
            f.close()
        return np.zeros(shape, dtype=np.float32)
    from model.audio.processes import MappedFile

    mapping = mapped.base   # the mmap object every view of the array leads back to
    _PREVIEW_FILES[id(mapping)] = MappedFile(f.fileno(), mapped.__array_interface__["data"][0], size)
    weakref.finalize(mapping, _forget_preview_file, id(mapping), f)
    return np.asarray(mapped)   # a plain ndarray view; the mapping lives while any view does


_PREVIEW_FILES: dict[int, "MappedFile"] = {}


def _forget_preview_file(key: int, f) -> None:
    _PREVIEW_FILES.pop(key, None)
    f.close()


def preview_file(array: np.ndarray) -> "MappedFile | None":
    """The preview buffer's file that ``array`` (a view of one) lies in; None for ordinary memory."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return _PREVIEW_FILES.get(id(base)) if base is not None else None


# --- outputs --------------------------------------------------------------------

class AudioOutput(Protocol):
    available: bool
    reason: str
    name: str

    def open(self, engine: MixEngine) -> None: ...

    def close(self) -> None: ...

    @property
    def latency_s(self) -> float: ...


class OutputError(Exception):
    """The output device could not be opened."""


class NullOutput:
    """No audio device: everything works except hearing the preview."""

    def __init__(self, reason: str = "no audio output") -> None:
        self.available = False
        self.reason = reason
        self.name = "none"

    def open(self, engine: MixEngine) -> None:
        pass

    def close(self) -> None:
        pass

    @property
    def latency_s(self) -> float:
        return 0.0


class PortAudioOutput:
    """A sounddevice OutputStream whose callback only calls MixEngine.render."""

    def __init__(self, sd_module, device=None, blocksize: int = 512) -> None:
        self._sd = sd_module
        self.available = True
        self.reason = ""
        self.device = device
        self.blocksize = blocksize
        self.stream = None
        self.engine: MixEngine | None = None
        try:
            info = sd_module.query_devices(device, kind="output")
            self.name = str(info.get("name", "default output"))
        except Exception as exc:  # no device at all
            self.available = False
            self.reason = f"no audio output device ({exc})"
            self.name = "none"

    def open(self, engine: MixEngine) -> None:
        if not self.available:
            raise OutputError(self.reason)
        if self.stream is not None and self.engine is engine and int(self.stream.samplerate) == engine.sample_rate:
            return
        self.close()
        render = engine.render

        def callback(outdata, frames, time_info, status):  # audio thread: no Qt, no allocation, no logging
            render(outdata, frames)

        try:
            self.stream = self._sd.OutputStream(samplerate=engine.sample_rate, channels=2, dtype="float32",
                                                blocksize=self.blocksize, latency="low", device=self.device,
                                                callback=callback)
            self.stream.start()
        except Exception as exc:
            self.stream = None
            raise OutputError(f"cannot open the audio output at {engine.sample_rate} Hz ({exc})") from None
        self.engine = engine

    def close(self) -> None:
        if self.stream is not None:
            try:
                self.stream.stop()
                self.stream.close()
            except Exception:
                pass
        self.stream = None

    @property
    def latency_s(self) -> float:
        try:
            return float(self.stream.latency) if self.stream is not None else 0.0
        except Exception:
            return 0.0


def make_output() -> AudioOutput:
    """PortAudio when it works; otherwise a NullOutput whose reason the UI shows."""
    if os.environ.get("MIXINGBUDDY_NO_AUDIO") == "1":
        return NullOutput("audio disabled by MIXINGBUDDY_NO_AUDIO=1")
    try:
        import sounddevice as sd  # raises OSError without libportaudio2
    except OSError:
        return NullOutput("PortAudio library not found (install libportaudio2)")
    except Exception as exc:  # pragma: no cover - broken installs
        return NullOutput(f"sounddevice failed to load ({exc})")
    out = PortAudioOutput(sd)
    if not out.available:
        return NullOutput(out.reason)
    return out
