"""Truncated files: whether a file's container says it was cut short (an interrupted export, copy or download);
and, from the same chunk headers, the speakers a WAV, W64, CAF or AIFF file names and where a Broadcast WAV file starts
on its DAW's timeline (``file_header``, ``bwf_start_s``).

Only the container is read, nothing is decoded: an Ogg file's last 64 KiB (its last page must carry the
end-of-stream flag), a WAV/RF64/W64/AIFF file's chunk headers (the data chunk must fit in the file) and an
MP3's Xing/Info tag (the stream must be as long as the tag says) or, without one, its frame headers (the last
frame must be whole; a file cut exactly between two frames cannot be told from a whole one). FLAC is not checked: libsndfile's length is the STREAMINFO total itself, and a cut FLAC
stream already fails to decode.

Without a length tag libsndfile guesses an MP3's length from its first frame's bitrate, and reads no further:
``mp3_reads_short`` finds the variable-bitrate files whose end it would never read; ``untagged_mp3_seconds`` is
the length their frames hold (``model.audio.decode.probe`` takes it where the guess is longer).
"""

from __future__ import annotations

import functools
import os
import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Iterator

from model.audio.channels import apple_layout_speakers, mask_speakers
from model.audio.decode import AudioInfo
from model.audio.findings import clock

#: How much of an Ogg file's end is read: more than the largest Ogg page (65,307 bytes).
TAIL_BYTES = 1 << 16
#: Chunks walked before a PCM container's data chunk (a DAW writes a handful: fmt, bext, iXML, JUNK...).
MAX_CHUNKS = 64
#: Where a bext chunk's TimeReference (low and high 32 bits) starts: after the description, originator,
#: its reference, and the origination date and time (256 + 32 + 32 + 10 + 8 bytes).
_BEXT_TIME_REFERENCE = 338
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE       # its fmt chunk holds the channel mask at byte 20, the sub-format at 24
_WAVE_FORMAT_IEEE_FLOAT = 3
_RIFF_DATA_UNKNOWN = (0, 0xFFFFFFFF)   # streaming writers leave the size open: nothing to compare
_W64_GUID = bytes.fromhex("f3acd3118cd100c04f8edb8a")   # Wave64's chunk ids: the RIFF id, then these 12 bytes
_W64_DATA, _W64_FMT = b"data" + _W64_GUID, b"fmt " + _W64_GUID
_MAX_DESCRIPTIONS = 64                 # channel descriptions read from a CAF/AIFF channel layout
_REV8 = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


@dataclass(frozen=True)
class Cut:
    """A file cut short: where its audio ends, the length its header declares (when it does), and what is missing."""

    ends_s: float
    declared_s: float | None
    missing: str = ""

    def where(self) -> str:
        """"ends at 0:51 of the 4:10 its header declares" / "ends at 0:51 without its end-of-stream marker"."""
        if self.declared_s is not None:
            return f"ends at {clock(self.ends_s)} of the {clock(self.declared_s)} its header declares"
        return f"ends at {clock(self.ends_s)} {self.missing}".rstrip()


def cut_short(info: AudioInfo) -> Cut | None:
    """How a probed file's container shows it was cut short; None when it is whole, unreadable or not checked.

    ``info.duration_s`` is what libsndfile reads: for Ogg and the PCM containers the audio the file
    holds (it stops at the cut), for MP3 the length its Xing tag declares.
    """
    try:
        with open(info.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            magic = f.read(4)
            if magic == b"OggS":
                return Cut(info.duration_s, None, "without its end-of-stream marker") if _ogg_cut(f, size) else None
            if magic in (b"RIFF", b"RIFX", b"RF64", b"BW64", b"riff", b"FORM"):
                held = _pcm_held(f, size, magic)
                return Cut(info.duration_s, info.duration_s / held) if held is not None else None
            start = _mp3_start(f)
            tag = _mp3_tag(f, start)
            if tag is not None and tag[0] & 0x2:     # the tag says how many bytes the stream has
                held = _mp3_held(f, tag, start, size)
                return Cut(info.duration_s * held, info.duration_s) if held is not None else None
            frames = _walked(info.path)
            return Cut(frames.seconds, None, "inside an MP3 frame") if frames and frames.cut else None
    except (OSError, struct.error, ValueError):
        return None


def mp3_reads_short(info: AudioInfo) -> tuple[float, float] | None:
    """(seconds libsndfile reads, seconds the frames hold) of an MP3 whose frames hold more than it reads: a
    variable-bitrate file without a length tag. None for any other file."""
    held = untagged_mp3_seconds(info.path)
    if held is None or held - info.duration_s <= MP3_SLACK_S:
        return None
    return info.duration_s, held


def untagged_mp3_seconds(path: str | os.PathLike) -> float | None:
    """The seconds an MP3 without a length tag holds in whole frames (libsndfile can only guess them from the
    first frame's bitrate); None for a tagged MP3 or any other file."""
    if mp3_has_tag(path) is not False:
        return None
    try:
        frames = _walked(path)
    except (OSError, struct.error, ValueError):
        return None
    return None if frames is None else frames.seconds


def mp3_has_tag(path: str | os.PathLike) -> bool | None:
    """Whether an MP3's first frame holds a Xing/Info tag (None when the file starts with no layer III frame or
    cannot be read). Without one the decoder knows neither the length nor the encoder's delay: the audio starts
    that delay late (1,105 samples, 25 ms at 44.1 kHz, from LAME; the tag is where LAME writes it)."""
    try:
        with open(path, "rb") as f:
            start = _mp3_start(f)
            f.seek(start)
            if _mp3_header(f.read(4)) is None:
                return None
            return _mp3_tag(f, start) is not None
    except (OSError, struct.error, ValueError):
        return None


# --- Ogg --------------------------------------------------------------------------------------------

def ogg_crc(page: bytes) -> int:
    """Ogg's page checksum (CRC-32, polynomial 0x04C11DB7, unreflected, no init or final xor) via zlib."""
    reg = zlib.crc32(page.translate(_REV8), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reg:032b}"[::-1], 2)


def _ogg_cut(f: BinaryIO, size: int) -> bool:
    """True when the Ogg file's last page lacks the end-of-stream flag or the file ends inside a page.

    The walk starts at the first page in the tail whose checksum holds (an "OggS" inside packet data is
    no page) and follows the page lengths to the end; anything else at the end (appended data, a bad
    checksum) is not a cut and reads False.
    """
    start = max(0, size - TAIL_BYTES)
    f.seek(start)
    tail = f.read()
    pos = _first_page(tail)
    if pos is None:
        return False
    last_flags = 0
    while pos < len(tail):
        rest = tail[pos:]
        if not b"OggS\x00".startswith(rest[:5]):
            return False                      # not a page: appended data, not a cut
        length = _page_length(rest)
        if length is None or length > len(rest):
            return True                       # the file ends inside this page
        if not _page_ok(rest[:length]):
            return False
        last_flags = rest[5]
        pos += length
    return not last_flags & 0x04


def _first_page(tail: bytes) -> int | None:
    """Offset of the first whole page in ``tail`` whose checksum holds."""
    pos = tail.find(b"OggS\x00")
    while pos >= 0:
        length = _page_length(tail[pos:])
        if length is not None and pos + length <= len(tail) and _page_ok(tail[pos:pos + length]):
            return pos
        pos = tail.find(b"OggS\x00", pos + 1)
    return None


def _page_length(page: bytes) -> int | None:
    """A page's length (header, segment table and body), or None when its header is cut."""
    if len(page) < 27 or len(page) < 27 + page[26]:
        return None
    segments = page[26]
    return 27 + segments + sum(page[27:27 + segments])


def _page_ok(page: bytes) -> bool:
    stored = struct.unpack_from("<I", page, 22)[0]
    return ogg_crc(page[:22] + b"\0\0\0\0" + page[26:]) == stored


# --- WAV, RF64, W64, AIFF ----------------------------------------------------------------------------

def _pcm_held(f: BinaryIO, size: int, magic: bytes) -> float | None:
    """The share of the data chunk's declared bytes that the file holds, when below 1 (else None)."""
    found = _w64_data(f) if magic == b"riff" else _aiff_data(f) if magic == b"FORM" else _riff_data(f, magic)
    if found is None:
        return None
    start, declared = found
    held = size - start
    return held / declared if 0 < held < declared else None


def bwf_start_s(info: AudioInfo) -> float | None:
    """Where a Broadcast WAV file starts on its DAW's timeline, in seconds: its bext chunk's TimeReference (samples
    since midnight at the file's rate, EBU Tech 3285). None for a file without one (a plain WAV, any other format).
    Read once per version of the file (``file_header``): the probe, the session plan and the export doctor all ask."""
    samples = file_header(info.path, *info.stamp).time_reference
    return None if samples is None else samples / info.sample_rate


@dataclass(frozen=True)
class FileHeader:
    """What a file's chunk headers say beyond its format: the speakers of its channels in order, as a WAV file's
    channel mask or a CAF/AIFF file's channel layout names them (() without one, see model.audio.channels), and a
    Broadcast WAV file's bext TimeReference in samples (None without one)."""

    speakers: tuple[str, ...] = ()
    time_reference: int | None = None
    #: A Wave64 file of the extensible format holding float samples: libsndfile reads those as integers (its W64
    #: reader takes an extensible file's sample type from the bit width alone), so it would play as noise.
    float_read_as_integers: bool = False


@functools.lru_cache(maxsize=1024)
def file_header(path: str, size: int, mtime_ns: int) -> FileHeader:
    """A file's ``FileHeader``, read once per version of the file (its size and modification time); empty for a
    format that names neither (FLAC, Ogg, MP3 ...)."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
            if magic in (b"RIFF", b"RF64", b"BW64"):
                return _wav_header(f)
            if magic == b"riff":
                return _w64_header(f)
            if magic == b"caff":
                return FileHeader(_caf_speakers(f))
            if magic == b"FORM":
                return FileHeader(_aiff_speakers(f))
    except (OSError, struct.error):
        pass
    return FileHeader()


#: The bytes of a WAV/W64 fmt chunk's payload that hold an extensible format's channel mask and sub-format code.
_EXTENSIBLE_FMT_BYTES = 26


def _extensible(fmt: bytes) -> tuple[int, int]:
    """(channel mask, sub-format code) of a WAV/W64 fmt chunk's payload; (0, 0) unless of the extensible format."""
    if len(fmt) < _EXTENSIBLE_FMT_BYTES or struct.unpack("<H", fmt[:2])[0] != _WAVE_FORMAT_EXTENSIBLE:
        return 0, 0
    return struct.unpack("<I", fmt[20:24])[0], struct.unpack("<H", fmt[24:26])[0]


def _w64_header(f: BinaryIO) -> FileHeader:
    """A Wave64 file's speakers (its fmt chunk's channel mask, as in a WAV file; Reaper and Sonar write W64) and
    whether its extensible format holds float samples."""
    for _, cid, n in _w64_chunks(f):
        if cid == _W64_FMT:
            mask, code = _extensible(f.read(max(0, min(n - 24, _EXTENSIBLE_FMT_BYTES))))
            return FileHeader(mask_speakers(mask), float_read_as_integers=code == _WAVE_FORMAT_IEEE_FLOAT)
    return FileHeader()


def _wav_header(f: BinaryIO) -> FileHeader:
    """A RIFF/RF64/BW64 file's channel mask and bext TimeReference (what was read before a cut header counts)."""
    mask, reference, fmt_seen = 0, None, False
    try:
        for pos, cid, n in riff_chunks(f, "<"):
            if cid == b"fmt ":
                fmt_seen = True
                mask, _ = _extensible(f.read(min(n, _EXTENSIBLE_FMT_BYTES)))
            elif cid == b"bext" and n >= _BEXT_TIME_REFERENCE + 8:
                f.seek(pos + 8 + _BEXT_TIME_REFERENCE)
                reference = struct.unpack("<Q", f.read(8))[0]
            elif cid == b"data" and n == 0xFFFFFFFF:   # an RF64 data chunk's size lives in ds64: stop here
                break
            if fmt_seen and reference is not None:
                break
    except (OSError, struct.error):
        pass
    return FileHeader(mask_speakers(mask), reference)


def _chunks(f: BinaryIO, start: int, id_bytes: int, size: str, counts_header: bool,
            align: int) -> Iterator[tuple[int, bytes, int]]:
    """(offset, id, declared size) of each chunk of a chunked container from ``start``, up to MAX_CHUNKS: an id of
    ``id_bytes``, then a size in struct format ``size`` that ``counts_header`` or not, each chunk starting on a
    multiple of ``align`` bytes. Stops where the headers run out or a size is negative once its header is taken
    out (a CAF data chunk of unknown size runs to the end of the file)."""
    head_bytes = id_bytes + struct.calcsize(size)
    pos = start
    for _ in range(MAX_CHUNKS):
        f.seek(pos)
        head = f.read(head_bytes)
        if len(head) < head_bytes:
            return
        n = struct.unpack(size, head[id_bytes:])[0]
        yield pos, head[:id_bytes], n
        body = n - head_bytes if counts_header else n
        if body < 0:
            return
        pos += -(-(head_bytes + body) // align) * align


def riff_chunks(f: BinaryIO, order: str) -> Iterator[tuple[int, bytes, int]]:
    """(offset, id, declared size) of each chunk of a RIFF-style file (8-byte headers after the 12-byte form
    header, padded to even sizes)."""
    return _chunks(f, 12, 4, order + "I", False, 2)


def _w64_chunks(f: BinaryIO) -> Iterator[tuple[int, bytes, int]]:
    """(offset, 16-byte id, declared size counting its 24-byte header) of each chunk of a Sony Wave64 file."""
    return _chunks(f, 40, 16, "<Q", True, 8)


def _caf_chunks(f: BinaryIO) -> Iterator[tuple[int, bytes, int]]:
    """(offset, type, declared size) of each chunk of a CAF file (a 4-byte type and a 64-bit size after the
    8-byte file header)."""
    return _chunks(f, 8, 4, ">q", False, 1)


def _apple_layout(f: BinaryIO, n: int) -> tuple[str, ...]:
    """The speakers of a Core Audio channel layout of ``n`` bytes at the file's position (big-endian: the tag,
    the bitmap, then per channel a 20-byte description whose label comes first)."""
    data = f.read(max(0, min(n, 12 + 20 * _MAX_DESCRIPTIONS)))
    if len(data) < 12:
        return ()
    tag, bitmap, count = struct.unpack_from(">III", data)
    held = min(count, (len(data) - 12) // 20)   # a cut or lying count reads only the descriptions held
    labels = tuple(struct.unpack_from(">I", data, 12 + 20 * i)[0] for i in range(held))
    return apple_layout_speakers(tag, bitmap, labels)


def _caf_speakers(f: BinaryIO) -> tuple[str, ...]:
    """A CAF file's 'chan' chunk's speakers."""
    for _, cid, n in _caf_chunks(f):
        if cid == b"chan":
            return _apple_layout(f, n)
    return ()


def _aiff_speakers(f: BinaryIO) -> tuple[str, ...]:
    """An AIFF/AIFC file's 'CHAN' chunk's speakers (the same layout as CAF's, which Apple's writers add)."""
    for _, cid, n in riff_chunks(f, ">"):
        if cid == b"CHAN":
            return _apple_layout(f, n)
    return ()


def _riff_data(f: BinaryIO, magic: bytes) -> tuple[int, int] | None:
    """(offset, declared size) of a RIFF/RIFX/RF64/BW64 file's data chunk; RF64 keeps the size in ds64."""
    big_size = None
    for pos, cid, n in riff_chunks(f, ">" if magic == b"RIFX" else "<"):
        if cid == b"ds64":
            big_size = struct.unpack("<Q", f.read(16)[8:16])[0]
        elif cid == b"data":
            if magic in (b"RF64", b"BW64") and n == 0xFFFFFFFF:
                return (pos + 8, big_size) if big_size else None
            return None if n in _RIFF_DATA_UNKNOWN else (pos + 8, n)
    return None


def _aiff_data(f: BinaryIO) -> tuple[int, int] | None:
    """(offset, declared size) of an AIFF/AIFC file's SSND chunk (its 8-byte offset/block-size header included)."""
    for pos, cid, n in riff_chunks(f, ">"):
        if cid == b"SSND":
            return (pos + 8, n) if n else None
    return None


def _w64_data(f: BinaryIO) -> tuple[int, int] | None:
    """(offset, declared size) of a Sony Wave64 file's data chunk."""
    for pos, cid, n in _w64_chunks(f):
        if cid == _W64_DATA:
            return (pos + 24, n - 24) if n > 24 else None
    return None


# --- MP3 ---------------------------------------------------------------------------------------------

def _mp3_start(f: BinaryIO) -> int:
    """Where an MP3's audio starts: after its ID3v2 tag (a syncsafe size, plus a footer when flagged), if any."""
    f.seek(0)
    head = f.read(10)
    if head[:3] != b"ID3" or len(head) < 10:
        return 0
    return 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]) + (10 if head[5] & 0x10 else 0)


def _mp3_tag(f: BinaryIO, start: int) -> tuple[int, bytes] | None:
    """The first frame's Xing/Info tag: (flags, the 108 bytes after its id); None when the audio starts with no
    layer III frame or that frame holds no such tag."""
    f.seek(start)
    frame = f.read(4 + 32 + 8 + 4 + 4 + 100)
    if _mp3_header(frame) is None:
        return None          # no layer III frame where the audio starts
    mpeg1 = (frame[1] >> 3) & 3 == 3
    mono = frame[3] >> 6 == 3
    at = 4 + ((17 if mono else 32) if mpeg1 else (9 if mono else 17))   # the tag follows the side information
    if frame[at:at + 4] not in (b"Xing", b"Info") or len(frame) < at + 8:
        return None
    return struct.unpack_from(">I", frame, at + 4)[0], frame[at + 8:]


def _mp3_held(f: BinaryIO, tag: tuple[int, bytes], start: int, size: int) -> float | None:
    """The share of an MP3's declared length it holds, from its Xing/Info tag's stream size (and the tag's
    time-to-byte table when it has one), when below 1."""
    flags, body = tag
    at = 4 if flags & 0x1 else 0
    declared = struct.unpack_from(">I", body, at)[0]
    toc = body[at + 4:at + 104] if flags & 0x4 else b""
    held = _audio_end(f, size) - start
    if not 0 < held < declared:
        return None
    share = held / declared
    return _toc_time(toc, share) if len(toc) == 100 else share


#: How much longer than libsndfile reads an MP3's frames may run (encoder delay and padding are decoded away).
MP3_SLACK_S = 0.25
#: Layer III bitrates (kbit/s) by index, MPEG-1 and MPEG-2/2.5; sample rates by index, MPEG-1.
_L3_KBPS = ((0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
            (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160))
_MPEG1_RATES = (44100, 48000, 32000)


@dataclass(frozen=True)
class Mp3Frames:
    """What an MP3's frame headers say: the seconds its whole frames hold, and whether the file ends inside one."""

    seconds: float
    cut: bool


def _mp3_header(head: bytes) -> tuple[int, int, int] | None:
    """(frame length in bytes, samples per frame, sample rate) of a layer III frame header; None if it is none."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0 or (head[1] >> 1) & 3 != 1:
        return None
    version = (head[1] >> 3) & 3          # 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5, 1: reserved
    kbps_index, rate_index, padding = head[2] >> 4, (head[2] >> 2) & 3, (head[2] >> 1) & 1
    if version == 1 or kbps_index in (0, 15) or rate_index == 3:
        return None                       # reserved values, or a free-format stream (no length in the header)
    mpeg1 = version == 3
    rate = _MPEG1_RATES[rate_index] >> (0 if mpeg1 else 1 if version == 2 else 2)
    kbps = _L3_KBPS[0 if mpeg1 else 1][kbps_index]
    per_frame = 1152 if mpeg1 else 576
    return per_frame // 8 * kbps * 1000 // rate + padding, per_frame, rate


def _audio_end(f: BinaryIO, size: int) -> int:
    """Where an MP3's audio ends: before an ID3v1 tag and an APEv2 tag at the end of the file (neither is audio)."""
    f.seek(max(0, size - 160))
    tail = f.read()
    end = len(tail)
    if tail[end - 128:end - 125] == b"TAG":
        end -= 128
    tags = len(tail) - end
    if end >= 32 and tail[end - 32:end - 24] == b"APETAGEX":
        ape, flags = struct.unpack_from("<I4xI", tail, end - 32 + 12)
        tags += ape + (32 if flags & 0x80000000 else 0)
    return max(0, size - tags)


def _walked(path: str | os.PathLike) -> Mp3Frames | None:
    """_mp3_frames of the file as it is now (the probe, the cut check and the read-short check all ask)."""
    st = os.stat(path)
    return _walk(os.fspath(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _walk(path: str, size: int, mtime_ns: int) -> Mp3Frames | None:
    with open(path, "rb") as f:
        return _mp3_frames(f, _mp3_start(f), size)


def _mp3_frames(f: BinaryIO, start: int, size: int) -> Mp3Frames | None:
    """Walk an MP3's frame headers from ``start``; None when it starts with no layer III frame. Bytes after the
    last whole frame that are no frame header (appended data) are no cut; a header whose frame runs past the
    end of the file, or the first bytes of one, are."""
    end = _audio_end(f, size) - start
    f.seek(start)
    data = f.read(max(0, end))
    first = _mp3_header(data[:4])
    if first is None:
        return None
    _, per_frame, rate = first
    pos = frames = 0
    cut = False
    while pos < end:
        header = _mp3_header(data[pos:pos + 4])
        if header is None or header[2] != rate:
            cut = end - pos < 4 and data[pos] == 0xFF    # only a header's first bytes made it
            break
        if pos + header[0] > end:
            cut = True
            break
        frames += 1
        pos += header[0]
    return Mp3Frames(frames * per_frame / rate, cut)


def _toc_time(toc: bytes, share: float) -> float:
    """The share of the playing time at ``share`` of the stream's bytes, from the Xing table (byte share x 256
    at each 1 % of the time)."""
    marks = list(toc) + [256]
    b = share * 256
    i = max((k for k in range(100) if marks[k] <= b), default=0)
    step = marks[i + 1] - marks[i]
    return (i + (min(1.0, (b - marks[i]) / step) if step > 0 else 0.0)) / 100
