"""Where a multichannel file's channels sound, and how they fold to the stereo the session plays.

A file's header may name its speakers (read by model.audio.truncation.file_header): a WAV file of the extensible
format by its channel mask, a CAF or AIFF file by the Core Audio channel layout Apple's audio APIs write into them
(a layout tag, a bitmap of the mask's bits, or one label per channel). Other files hold them in their format's
order: WAV, FLAC, AIFF and CAF in the SMPTE/ITU order (L R C LFE Ls Rs for 5.1), Ogg Vorbis and Opus in Vorbis's
(L C R Ls Rs LFE). The fold is the ITU-R BS.775 stereo downmix a DAW plays a surround stem with: each front side on
its speaker, centre channels on both at -3 dB, the other channels of a side on it at -3 dB, the LFE left out (as
BS.1770 leaves it out of loudness; ``lfe_level_db`` says how much sound that leaves out). A file whose layout is
unknown (more than 8 channels and none named) folds even channels to the left and odd ones to the right.
"""

from __future__ import annotations

import functools
import math

import numpy as np

#: The speakers of WAVE_FORMAT_EXTENSIBLE's channel mask, bit 0 first; a file's channels take the set bits in order.
MASK_SPEAKERS = ("FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC", "TFR",
                 "TBL", "TBC", "TBR")
#: Core Audio's channel layout tags (the tag's upper 16 bits; its lower 16 are the channel count) with the speakers
#: of their channels in order, from Apple's CAF specification and Core Audio's headers (the WAVE and Atmos tags, which
#: came later; Logic's own tags are not listed). Its Ls/Rs are the mask's BL/BR, except beside rear
#: surrounds (Rls/Rrs = BL/BR), where they are the sides (SL/SR), as a 7.1 WAV file's mask has them.
APPLE_LAYOUTS = {
    108: ("FL", "FR", "BL", "BR"), 109: ("FL", "FR", "BL", "BR", "FC"), 110: ("FL", "FR", "BL", "BR", "FC", "BC"),
    111: ("FL", "FR", "BL", "BR", "FC", "BC", "SL", "SR"),
    112: ("FL", "FR", "BL", "BR", "TFL", "TFR", "TBL", "TBR"),
    113: ("FL", "FR", "FC"), 114: ("FC", "FL", "FR"), 115: ("FL", "FR", "FC", "BC"), 116: ("FC", "FL", "FR", "BC"),
    117: ("FL", "FR", "FC", "BL", "BR"), 118: ("FL", "FR", "BL", "BR", "FC"), 119: ("FL", "FC", "FR", "BL", "BR"),
    120: ("FC", "FL", "FR", "BL", "BR"), 121: ("FL", "FR", "FC", "LFE", "BL", "BR"),
    122: ("FL", "FR", "BL", "BR", "FC", "LFE"), 123: ("FL", "FC", "FR", "BL", "BR", "LFE"),
    124: ("FC", "FL", "FR", "BL", "BR", "LFE"), 125: ("FL", "FR", "FC", "LFE", "BL", "BR", "BC"),
    126: ("FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC"), 127: ("FC", "FLC", "FRC", "FL", "FR", "BL", "BR", "LFE"),
    128: ("FL", "FR", "FC", "LFE", "SL", "SR", "BL", "BR"), 129: ("FL", "FR", "BL", "BR", "FC", "LFE", "FLC", "FRC"),
    131: ("FL", "FR", "BC"), 132: ("FL", "FR", "BL", "BR"), 133: ("FL", "FR", "LFE"), 134: ("FL", "FR", "LFE", "BC"),
    135: ("FL", "FR", "LFE", "BL", "BR"), 136: ("FL", "FR", "FC", "LFE"), 137: ("FL", "FR", "FC", "LFE", "BC"),
    138: ("FL", "FR", "BL", "BR", "LFE"), 139: ("FL", "FR", "BL", "BR", "FC", "BC"),
    140: ("FL", "FR", "SL", "SR", "FC", "BL", "BR"), 141: ("FC", "FL", "FR", "BL", "BR", "BC"),
    142: ("FC", "FL", "FR", "BL", "BR", "BC", "LFE"), 143: ("FC", "FL", "FR", "SL", "SR", "BL", "BR"),
    144: ("FC", "FL", "FR", "SL", "SR", "BL", "BR", "BC"),
    # the WAVE_* tags: WAV's own orders, rear surrounds where WAV's mask puts Ls/Rs
    185: ("FL", "FR", "BL", "BR"), 186: ("FL", "FR", "FC", "BL", "BR"), 187: ("FL", "FR", "FC", "LFE", "BL", "BR"),
    188: ("FL", "FR", "FC", "LFE", "BC", "BL", "BR"), 189: ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"),
    # Dolby Atmos beds: 7.1.4, 9.1.6, 5.1.2, 5.1.4, 7.1.2 (heights after the bed)
    192: ("FL", "FR", "FC", "LFE", "SL", "SR", "BL", "BR", "TFL", "TFR", "TBL", "TBR"),
    193: ("FL", "FR", "FC", "LFE", "SL", "SR", "BL", "BR", "FLW", "FRW", "TFL", "TFR", "TSL", "TSR", "TBL", "TBR"),
    194: ("FL", "FR", "FC", "LFE", "BL", "BR", "TSL", "TSR"),
    195: ("FL", "FR", "FC", "LFE", "BL", "BR", "TFL", "TFR", "TBL", "TBR"),
    196: ("FL", "FR", "FC", "LFE", "SL", "SR", "BL", "BR", "TSL", "TSR"),
}
#: The layout tags that defer to the bitmap or to one description per channel.
APPLE_USE_DESCRIPTIONS, APPLE_USE_BITMAP = 0, 1 << 16
#: Core Audio's channel labels: 1..18 are the mask's speakers in bit order; rear surrounds, front wides, a second
#: LFE, a direct back centre, a mono channel and the Atmos heights (top middle and top rear) are the others a
#: surround stem holds.
APPLE_LABELS = {**{i + 1: s for i, s in enumerate(MASK_SPEAKERS)}, 33: "BL", 34: "BR", 35: "FLW", 36: "FRW",
                37: "LFE", 42: "FC", 44: "BC", 49: "TSL", 51: "TSR", 52: "TBL", 53: "TBC", 54: "TBR"}
#: The channel order of WAV, FLAC, AIFF and CAF files whose header names no speakers, by channel count (SMPTE / ITU).
SMPTE_ORDER = {
    3: ("FL", "FR", "FC"), 4: ("FL", "FR", "BL", "BR"), 5: ("FL", "FR", "FC", "BL", "BR"),
    6: ("FL", "FR", "FC", "LFE", "BL", "BR"), 7: ("FL", "FR", "FC", "LFE", "BC", "SL", "SR"),
    8: ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"),
}
#: The channel order of Ogg Vorbis and Opus files (the Vorbis I specification's, section 4.3.9).
VORBIS_ORDER = {
    3: ("FL", "FC", "FR"), 4: ("FL", "FR", "BL", "BR"), 5: ("FL", "FC", "FR", "BL", "BR"),
    6: ("FL", "FC", "FR", "BL", "BR", "LFE"), 7: ("FL", "FC", "FR", "SL", "SR", "BC", "LFE"),
    8: ("FL", "FC", "FR", "SL", "SR", "BL", "BR", "LFE"),
}
#: How mixing engineers name the speakers (a DAW's I/O setup: L R C LFE Ls Rs).
SPEAKER_NAMES = {"FL": "L", "FR": "R", "FC": "C", "LFE": "LFE", "BL": "Ls", "BR": "Rs", "FLC": "Lc", "FRC": "Rc",
                 "BC": "Cs", "SL": "Lss", "SR": "Rss", "TC": "Tc", "TFL": "Ltf", "TFC": "Ctf", "TFR": "Rtf",
                 "TBL": "Ltr", "TBC": "Ctr", "TBR": "Rtr", "FLW": "Lw", "FRW": "Rw", "TSL": "Ltm", "TSR": "Rtm"}
_HALF_POWER = float(np.sqrt(0.5))   # -3 dB
#: (left, right) gain of each speaker in the fold.
_GAINS = {
    "FL": (1.0, 0.0), "FR": (0.0, 1.0), "LFE": (0.0, 0.0),
    **{p: (_HALF_POWER, _HALF_POWER) for p in ("FC", "BC", "TC", "TFC", "TBC")},
    **{p: (_HALF_POWER, 0.0) for p in ("FLC", "BL", "SL", "TFL", "TBL", "FLW", "TSL")},
    **{p: (0.0, _HALF_POWER) for p in ("FRC", "BR", "SR", "TFR", "TBR", "FRW", "TSR")},
}


def mask_speakers(mask: int) -> tuple[str, ...]:
    """The speakers a WAV channel mask (or a Core Audio channel bitmap, the same bits) names, in channel order."""
    return tuple(s for bit, s in enumerate(MASK_SPEAKERS) if mask >> bit & 1)


def apple_layout_speakers(tag: int, bitmap: int, labels: tuple[int, ...]) -> tuple[str, ...]:
    """The speakers a Core Audio channel layout (a CAF 'chan' or AIFF 'CHAN' chunk) names in channel order: by its
    tag, else its bitmap, else its channel descriptions' labels; () for a layout this table does not know."""
    if tag == APPLE_USE_BITMAP:
        return mask_speakers(bitmap)
    if tag != APPLE_USE_DESCRIPTIONS:
        named = APPLE_LAYOUTS.get(tag >> 16, ())
        return named if len(named) == tag & 0xFFFF else ()
    if not labels or any(label not in APPLE_LABELS for label in labels):
        return ()
    named = [APPLE_LABELS[label] for label in labels]
    if {33, 34} & set(labels):   # beside rear surrounds, Ls/Rs are the sides
        named = [{5: "SL", 6: "SR"}.get(label, s) for label, s in zip(labels, named)]
    return tuple(named)


def speaker_positions(named: tuple[str, ...], container: str, subtype: str, channels: int) -> tuple[str, ...]:
    """The speaker of each channel of a file with more than two ("FL", "FC", "LFE" ...), () when unknown: the
    speakers its header ``named`` (model.audio.truncation.file_header; () for none), else its format's order."""
    if channels <= 2:
        return ()
    if len(named) >= channels:
        return named[:channels]
    order = VORBIS_ORDER if container == "OGG" and subtype in ("VORBIS", "OPUS") else SMPTE_ORDER
    return order.get(channels, ())


def layout_words(positions: tuple[str, ...]) -> str:
    """"L R C LFE Ls Rs" for a 5.1 file's positions; "speakers unknown" for ()."""
    return " ".join(SPEAKER_NAMES[p] for p in positions) if positions else "speakers unknown"


@functools.lru_cache(maxsize=64)
def stereo_matrix(positions: tuple[str, ...], channels: int) -> np.ndarray:
    """(channels, 2) gains folding the channels at ``positions`` to left and right (see the module's docstring)."""
    if len(positions) != channels:   # no layout known: even channels to the left, odd to the right
        m = np.zeros((channels, 2), np.float32)
        m[0::2, 0] = m[1::2, 1] = 1.0
        return m
    return np.asarray([_GAINS[p] for p in positions], np.float32)


#: The LFE's level is measured on this many stretches of this many seconds spread over the file (the whole of a
#: shorter file): the doctor asks it of every surround file, so it must cost a fraction of the file's decode.
LFE_STRETCHES, LFE_STRETCH_S = 12, 2.5


def lfe_level_db(info) -> float | None:
    """How loud a surround file's LFE channel is against what its fold keeps (dB of energy, over LFE_STRETCHES
    stretches spread over the file; inf when only the LFE sounds), None for a file without one or that does not
    decode. Read once per version of the file."""
    if "LFE" not in info.positions:
        return None
    return _lfe_level_db(info.path, *info.stamp, tuple(info.positions))


@functools.lru_cache(maxsize=256)
def _lfe_level_db(path: str, size: int, mtime_ns: int, positions: tuple[str, ...]) -> float | None:
    import soundfile as sf

    from model.audio.decode import library_chatter_hidden

    m = stereo_matrix(positions, len(positions))
    lfe = positions.index("LFE")
    left_out = kept = 0.0
    try:
        with library_chatter_hidden(), sf.SoundFile(path) as f:
            stretch = int(LFE_STRETCH_S * f.samplerate)
            whole = f.frames <= LFE_STRETCHES * stretch
            starts = [0] if whole else np.linspace(0, f.frames - stretch, LFE_STRETCHES).astype(int)
            for start in starts:
                f.seek(int(start))
                block = f.read(f.frames if whole else stretch, dtype="float32", always_2d=True)
                left_out += float(np.square(block[:, lfe], dtype=np.float64).sum())
                kept += float(np.square(block @ m, dtype=np.float64).sum())
    except Exception:   # a file that does not decode is the loader's to report
        return None
    if left_out == 0.0:
        return -math.inf
    return math.inf if kept == 0.0 else 10 * math.log10(left_out / kept)
