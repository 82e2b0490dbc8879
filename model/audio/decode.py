"""Audio files: probe, decode into float32 (frames, channels), simple level helpers (numpy only)."""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from model.errors import AudioFormatError
from model.audio.channels import speaker_positions, stereo_matrix
from model.audio.roles import AUDIO_EXTENSIONS

MIN_RATE, MAX_RATE = 8000, 384000
_BLOCK = 1 << 18


@dataclass(frozen=True)
class AudioInfo:
    """What a file is: rate, channel count, length, container and sample format."""

    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str
    #: (size in bytes, modification time in ns) when probed: equal stamps mean the file was not rewritten since.
    stamp: tuple[int, int] = (0, 0)
    #: "left" or "right" for a mono file that is one side of a left/right pair (model.audio.tracks.sides_of_pairs):
    #: it decodes to stereo with the other side silent, as the DAW plays it. None: mono plays on both speakers.
    side: str | None = None
    #: Where the file starts on the session's timeline, in seconds: its Broadcast WAV timestamp against the
    #: session's (model.audio.tracks.timeline_starts). The silence before it is added as the file is read.
    start_s: float = 0.0
    #: The speaker of each channel of a file with more than two ("FL", "FC", "LFE" ...; model.audio.channels), by
    #: which they fold to stereo; () for mono and stereo files and where the layout is unknown.
    positions: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def decoded_channels(self) -> int:
        """Channels of the decoded audio: 1 for mono (it plays on both speakers), else 2 (more are folded, a side
        of a pair is placed on its speaker)."""
        return 1 if self.channels == 1 and self.side is None else 2

    @property
    def is_float(self) -> bool:
        return self.subtype in ("FLOAT", "DOUBLE")

    @property
    def may_hold_nan(self) -> bool:
        """Whether decoded samples can be NaN or infinite (integer PCM always scales to finite floats)."""
        return not self.subtype.startswith("PCM_")


#: Audio formats libsndfile cannot read, by extension: a folder's files of these kinds are taken and refused with
#: this name (a stem left out without a word would change the critique), never skipped as "not audio".
UNREADABLE_FORMATS = {
    ".m4a": "M4A (AAC or Apple Lossless)", ".aac": "AAC", ".mp4": "MP4", ".alac": "Apple Lossless",
    ".wma": "WMA", ".wv": "WavPack", ".ape": "Monkey's Audio", ".dsf": "DSD", ".dff": "DSD", ".ac3": "AC-3",
}


def is_audio_path(path: str | os.PathLike) -> bool:
    """Whether the file is named as audio: one MixingBuddy reads, or one it refuses by format (UNREADABLE_FORMATS)."""
    suffix = Path(path).suffix.lower()
    return suffix in AUDIO_EXTENSIONS or suffix in UNREADABLE_FORMATS


def probe(path: str | os.PathLike) -> AudioInfo:
    """Read a file's header; raises AudioFormatError with a one-line reason."""
    p = Path(path)
    name = p.name
    if not p.exists():
        raise AudioFormatError(f"{name}: file not found.")
    if p.is_dir():
        raise AudioFormatError(f"{name}: is a folder, not an audio file.")
    if not os.access(p, os.R_OK):
        raise AudioFormatError(f"{name}: permission denied (the file is not readable).")
    unreadable = UNREADABLE_FORMATS.get(p.suffix.lower())
    if unreadable:
        raise AudioFormatError(f"{name}: {unreadable} files cannot be read; export this stem as WAV, AIFF or FLAC.")
    try:
        with library_chatter_hidden():
            info = sf.info(str(p))
    except Exception as exc:  # libsndfile's errors are plain RuntimeErrors/LibsndfileError
        reason = decode_reason(p, exc)
        what = reason if reason.startswith("not a valid") else f"not a readable audio file ({reason})"
        raise AudioFormatError(f"{name}: {what}.", str(exc)) from None
    if info.frames <= 0:
        raise AudioFormatError(f"{name}: contains no audio frames.")
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise AudioFormatError(f"{name}: unsupported sample rate {info.samplerate} Hz.")
    if info.channels < 1:
        raise AudioFormatError(f"{name}: has no channels.")
    frames = int(info.frames)
    if info.format == "MP3":
        from model.audio.truncation import MP3_SLACK_S, untagged_mp3_seconds   # (it reads AudioInfo from here)
        held = untagged_mp3_seconds(p)    # without a length tag libsndfile guesses, and may guess too long
        if held is not None and held < frames / info.samplerate - MP3_SLACK_S:
            frames = max(1, round(held * info.samplerate))
    st = p.stat()
    positions = ()
    if info.channels > 2 or info.format == "W64":
        from model.audio.truncation import file_header   # (it reads AudioInfo from here)
        header = file_header(str(p), int(st.st_size), int(st.st_mtime_ns))
        if header.float_read_as_integers:
            raise AudioFormatError(f"{name}: a float Wave64 file of the extensible format, which the audio library "
                                   f"reads as integers (it would play as noise); export this stem as WAV or RF64.")
        positions = speaker_positions(header.speakers, info.format, info.subtype, int(info.channels))
    return AudioInfo(str(p), int(info.samplerate), int(info.channels), frames, info.format, info.subtype,
                     (int(st.st_size), int(st.st_mtime_ns)), positions=positions)


def fold_to_stereo(block: np.ndarray, positions: tuple[str, ...] = ()) -> np.ndarray:
    """(frames, n>2) -> (frames, 2): the channels at ``positions`` (AudioInfo.positions) folded as a DAW plays a
    surround stem on stereo (model.audio.channels): the front pair on its speakers, a centre on both at -3 dB, the
    LFE left out. A stem that sounds only in its front pair keeps its level."""
    return (block @ stereo_matrix(positions, block.shape[1])).astype(np.float32, copy=False)


def on_its_side(block: np.ndarray, side: str | None) -> np.ndarray:
    """A mono (frames, 1) block as stereo with only its ``side`` ("left"/"right") sounding; unchanged for None."""
    if side is None:
        return block
    out = np.zeros((len(block), 2), dtype=np.float32)
    out[:, 0 if side == "left" else 1] = block[:, 0]
    return out


def read_into(info: AudioInfo, out: np.ndarray) -> None:
    """Decode a probed file into ``out[:info.frames]`` (float32, frames x decoded_channels) block by block.

    Raises AudioFormatError when nothing decodes or on NaN/Inf samples; a file that ends early (truncated) leaves
    the rest of ``out`` silent.
    """
    name = Path(info.path).name
    ch_out = out.shape[1]
    pos = 0
    with _DecodeErrors(info.path, lambda: pos / info.sample_rate), sf.SoundFile(info.path) as f:
        while pos < info.frames:
            n = info.frames - pos if reads_whole(info) else min(_BLOCK, info.frames - pos)
            if info.channels == info.decoded_channels:
                got = f.read(n, dtype="float32", always_2d=True, out=out[pos:pos + n])
                read = len(got)
            else:
                block = f.read(n, dtype="float32", always_2d=True)
                read = len(block)
                out[pos:pos + read] = (fold_to_stereo(block, info.positions) if info.channels > 2
                                       else on_its_side(block, info.side))
            if read == 0:
                break
            if info.may_hold_nan and not np.isfinite(out[pos:pos + read]).all():
                raise AudioFormatError(f"{name}: contains NaN or infinite samples.")
            pos += read
    if pos == 0:
        raise AudioFormatError(f"{name}: contains no decodable audio (truncated file?).")
    if ch_out != info.decoded_channels:
        raise ValueError("output buffer has the wrong channel count")


def reads_whole(info: AudioInfo) -> bool:
    """Whether the file must be decoded in one read. python-soundfile seeks to its own position after every read,
    and libsndfile's MP3 decoder then starts again without the frames it had read ahead (MP3's bit reservoir): the
    audio after each read's end decodes wrong, by a few hundred samples a file (mpg123: "part2_3_length too large")
    up to seconds of silence for steady tones."""
    return info.format == "MP3"


class BlockReader:
    """Decodes a probed file in consecutive blocks of float32 (frames, decoded_channels); raises AudioFormatError.
    A file that ``reads_whole`` is decoded whole at the first read and handed out from memory."""

    def __init__(self, info: AudioInfo) -> None:
        self.info = info
        self._name = Path(info.path).name
        self.pos = 0
        self._whole: np.ndarray | None = None
        with _DecodeErrors(info.path):
            self._file = sf.SoundFile(info.path)

    def read(self, n: int) -> np.ndarray:
        """Up to n frames; fewer only at the end of the file."""
        want = min(n, max(0, self.info.frames - self.pos))
        with _DecodeErrors(self.info.path, lambda: self.pos / self.info.sample_rate):
            if not reads_whole(self.info):
                block = self._file.read(want, dtype="float32", always_2d=True)
            else:
                if self._whole is None:
                    self._whole = self._file.read(self.info.frames, dtype="float32", always_2d=True)
                block = self._whole[self.pos:self.pos + want]
        if self.info.channels > 2:
            block = fold_to_stereo(block, self.info.positions)
        elif self.info.side is not None:
            block = on_its_side(block, self.info.side)
        if self.info.may_hold_nan and not np.isfinite(block).all():
            raise AudioFormatError(f"{self._name}: contains NaN or infinite samples.")
        if self.pos == 0 and n > 0 and len(block) == 0:
            raise AudioFormatError(f"{self._name}: contains no decodable audio (truncated file?).")
        self.pos += len(block)
        return block

    def close(self) -> None:
        self._whole = None
        with library_chatter_hidden():
            self._file.close()


#: libsndfile's messages that say nothing true about a file that exists and was probed.
_VAGUE_ERRORS = ("does not exist or is not a regular file", "unspecified internal error", "error in ogg",
                 "format not recognised", "unknown format")
_CODEC = {".mp3": "MP3", ".ogg": "Ogg", ".oga": "Ogg", ".opus": "Opus", ".flac": "FLAC"}


def decode_reason(path: str | os.PathLike, exc: BaseException) -> str:
    """A true, short reason for libsndfile's exception about an existing file.

    libsndfile answers a corrupt MP3 with "File does not exist or is not a regular file
    (possibly a pipe?)" and a broken stream with "Unspecified internal error": for a file
    that exists these become "not a valid MP3 stream" (the codec named by the extension).
    """
    text = str(exc).strip()
    detail = text.split(":")[-1].strip().rstrip(".")
    if not text or any(v in text.lower() for v in _VAGUE_ERRORS):
        codec = _CODEC.get(Path(path).suffix.lower())
        if codec:
            return f"not a valid {codec} stream"
        return "format not recognised" if "not recognised" in text.lower() else "unrecognised or corrupt data"
    return detail or type(exc).__name__


class _DecodeErrors:
    """Hides the decoders' stderr chatter and turns libsndfile's exceptions into one AudioFormatError line.

    ``position_s`` (optional) says how far decoding got, for errors in the middle of a stream.
    """

    def __init__(self, path: str, position_s=None) -> None:
        self.path, self.name, self.position_s = path, Path(path).name, position_s
        self._quiet = library_chatter_hidden()

    def __enter__(self) -> None:
        self._quiet.__enter__()

    def __exit__(self, kind, exc, tb) -> bool:
        self._quiet.__exit__(kind, exc, tb)
        if exc is None or isinstance(exc, AudioFormatError) or not isinstance(exc, Exception):
            return False
        where = f" after {self.position_s():.1f} s" if self.position_s is not None and self.position_s() > 0 else ""
        raise AudioFormatError(f"{self.name}: could not be decoded{where} ({decode_reason(self.path, exc)}).",
                               str(exc)) from None


#: What libmpg123 and libsndfile print to stderr ("Note: Illegal Audio-MPEG-Header ...").
_CHATTER = re.compile(rb"^(Note: |Warning: |\[src/libmpg123/|\[[\w/.]+\.c:\w+\(\):\d+\] )")


class _StderrGuard:
    """While any thread is decoding, file descriptor 2 points at a temporary file.

    The C decoders print notes straight to fd 2, which Python cannot intercept. The first
    thread in redirects it, the last one out restores it and writes back every line that
    is not decoder chatter (a Python message printed meanwhile is kept, only later).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved = -1
        self._sink = None

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                try:
                    sys.stderr.flush()
                    if self._sink is None:
                        self._sink = tempfile.TemporaryFile()
                    self._saved = os.dup(2)
                    os.dup2(self._sink.fileno(), 2)
                except (OSError, ValueError, AttributeError):  # no fd 2 (a windowed app): nothing to hide
                    self._saved = -1
            self._depth += 1

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth or self._saved < 0:
                return
            os.dup2(self._saved, 2)
            os.close(self._saved)
            self._saved = -1
            sink = self._sink
            sink.seek(0)
            kept = [line for line in sink.read().splitlines(keepends=True) if not _CHATTER.match(line)]
            sink.seek(0)
            sink.truncate()
            if kept:
                os.write(2, b"".join(kept))


_STDERR_GUARD = _StderrGuard()


def library_chatter_hidden() -> _StderrGuard:
    """Context manager: the decoders' stderr notes are dropped while inside (thread-safe, re-entrant)."""
    return _STDERR_GUARD


def load_audio(path: str | os.PathLike) -> tuple[np.ndarray, AudioInfo]:
    """Decode one file into float32 (frames, 1 or 2)."""
    info = probe(path)
    out = np.zeros((info.frames, info.decoded_channels), dtype=np.float32)
    read_into(info, out)
    return out, info


def linear_to_db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else float("-inf")


def rms_dbfs(x: np.ndarray) -> float:
    """Raw RMS level in dBFS (full scale 1.0, so a full-scale sine reads -3.01)."""
    a = np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    if a.size == 0:
        return float("-inf")
    ms = float(np.dot(a, a)) / a.size  # BLAS: far faster than mean(square(.))
    return 10.0 * math.log10(ms) if ms > 0 else float("-inf")


def to_mono(x: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,) by channel mean."""
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 1:
        return a
    if a.shape[1] == 1:
        return a[:, 0]
    if a.shape[1] == 2:  # column arithmetic beats a reduction over a length-2 axis
        out = a[:, 0] + a[:, 1]
        out *= np.float32(0.5)
        return out
    return a.mean(axis=1, dtype=np.float32)


def abs_peak_per_frame(x: np.ndarray) -> np.ndarray:
    """max |x| over channels for each frame, (frames,) float32."""
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 1:
        return np.abs(a)
    out = np.abs(a[:, 0])
    for c in range(1, a.shape[1]):
        np.maximum(out, np.abs(a[:, c]), out=out)
    return out


def channel_sums(x: np.ndarray) -> np.ndarray:
    """Each channel's sum over the frames of (frames, channels) float32, as float64.

    Stereo is summed as one complex64 array (left real, right imaginary): numpy sums a contiguous array
    pairwise in one pass, ~3x faster than two strided column sums (BLAS would be faster still, but its
    threads fight the analysis workers for the cores). Pairwise float32 sums of one block are far finer
    than any use here (the doctor's DC limit is 1e-3 of full scale).
    """
    a = np.ascontiguousarray(x, dtype=np.float32)
    if a.ndim == 2 and a.shape[1] == 2:
        total = a.view(np.complex64).sum()
        return np.array([total.real, total.imag], dtype=np.float64)
    a = a.reshape(len(a), -1)
    return np.array([a[:, c].sum(dtype=np.float64) for c in range(a.shape[1])])


def frame_rms_db(mono: np.ndarray, frame: int) -> np.ndarray:
    """Raw RMS in dBFS of non-overlapping frames (the tail shorter than a frame is dropped)."""
    n = len(mono) // frame
    if n == 0:
        return np.empty(0)
    blocks = np.ascontiguousarray(mono[: n * frame], dtype=np.float32).reshape(n, frame)
    ms = np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64) / frame
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(ms)
