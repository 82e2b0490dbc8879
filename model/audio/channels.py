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
from typing import Sequence

import numpy as np

#: The speakers of WAVE_FORMAT_EXTENSIBLE's channel mask, bit 0 first; a file's channels take the set bits in order.
MASK_SPEAKERS = ("FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC", "TFR",
                 "TBL", "TBC", "TBR")
#: Core Audio's channel layout tags (the tag's upper 16 bits; its lower 16 are the channel count) with their channels
#: in order, written as Apple's headers (CoreAudioBaseTypes.h) write them: the CAF specification's tags, the WAVE,
#: Atmos, codec (AC-3, E-AC-3, DTS, AAC, Ogg), CICP and Logic tags that came later. Left out: SMPTE DTV (130: 5.1
#: plus its own matrixed stereo mix), TMH 10.2 (145, 146), the two-channel C LFE (149) and CICP 13 and 15-18, 20
#: (second LFEs, bottom and screen-edge speakers).
APPLE_ORDERS = {
    108: "L R Ls Rs", 109: "L R Ls Rs C", 110: "L R Ls Rs C Cs", 111: "L R Ls Rs C Cs Lw Rw",
    112: "L R Rls Rrs Vhl Vhr Ltr Rtr",   # the cube, in words there: left, right, rear left, rear right, four tops
    113: "L R C", 114: "C L R", 115: "L R C Cs", 116: "C L R Cs", 117: "L R C Ls Rs", 118: "L R Ls Rs C",
    119: "L C R Ls Rs", 120: "C L R Ls Rs", 121: "L R C LFE Ls Rs", 122: "L R Ls Rs C LFE", 123: "L C R Ls Rs LFE",
    124: "C L R Ls Rs LFE", 125: "L R C LFE Ls Rs Cs", 126: "L R C LFE Ls Rs Lc Rc", 127: "C Lc Rc L R Ls Rs LFE",
    128: "L R C LFE Ls Rs Rls Rrs", 129: "L R Ls Rs C LFE Lc Rc",
    131: "L R Cs", 132: "L R Ls Rs", 133: "L R LFE", 134: "L R LFE Cs", 135: "L R LFE Ls Rs", 136: "L R C LFE",
    137: "L R C LFE Cs", 138: "L R Ls Rs LFE", 139: "L R Ls Rs C Cs", 140: "L R Ls Rs C Rls Rrs",
    141: "C L R Ls Rs Cs", 142: "C L R Ls Rs Cs LFE", 143: "C L R Ls Rs Rls Rrs", 144: "C L R Ls Rs Rls Rrs Cs",
    148: "L R Ls Rs C Lc Rc",
    # AC-3, E-AC-3 and DTS
    150: "L C R", 151: "L C R Cs", 152: "L C R LFE", 153: "L R Cs LFE", 154: "L C R Cs LFE", 155: "L C R Ls Rs Cs",
    156: "L C R Ls Rs Rls Rrs", 157: "L C R Ls Rs LFE Cs", 158: "L C R Ls Rs LFE Ts", 159: "L C R Ls Rs LFE Vhc",
    160: "L C R Ls Rs LFE Rls Rrs", 161: "L C R Ls Rs LFE Lc Rc", 162: "L C R Ls Rs LFE Lsd Rsd",
    163: "L C R Ls Rs LFE Lw Rw", 164: "L C R Ls Rs LFE Vhl Vhr", 165: "L C R Ls Rs LFE Cs Ts",
    166: "L C R Ls Rs LFE Cs Vhc", 167: "L C R Ls Rs LFE Ts Vhc",
    168: "C L R LFE", 169: "C L R Cs LFE", 170: "Lc Rc L R Ls Rs", 171: "C L R Rls Rrs Ts", 172: "C Cs L R Rls Rrs",
    173: "Lc Rc L R Ls Rs LFE", 174: "C L R Rls Rrs Ts LFE", 175: "C Cs L R Rls Rrs LFE", 176: "Lc C Rc L R Ls Rs",
    177: "Lc C Rc L R Ls Rs LFE", 178: "Lc Rc L R Ls Rs Rls Rrs", 179: "Lc C Rc L R Ls Cs Rs",
    180: "Lc Rc L R Ls Rs Rls Rrs LFE", 181: "Lc C Rc L R Ls Cs Rs LFE", 182: "C L R Ls Rs LFE Cs",
    183: "C L R Ls Rs Rls Rrs LFE", 184: "C L R Ls Rs LFE Vhl Vhr",
    # WAVE: WAV's own orders, rear surrounds where WAV's mask puts Ls/Rs
    185: "L R Rls Rrs", 186: "L R C Rls Rrs", 187: "L R C LFE Rls Rrs", 188: "L R C LFE Cs Ls Rs",
    189: "L R C LFE Rls Rrs Ls Rs",
    # Dolby Atmos beds: 7.1.4, 9.1.6, 5.1.2, 5.1.4, 7.1.2 (heights after the bed)
    192: "L R C LFE Ls Rs Rls Rrs Vhl Vhr Ltr Rtr", 193: "L R C LFE Ls Rs Rls Rrs Lw Rw Vhl Vhr Ltm Rtm Ltr Rtr",
    194: "L R C LFE Ls Rs Ltm Rtm", 195: "L R C LFE Ls Rs Vhl Vhr Ltr Rtr", 196: "L R C LFE Ls Rs Rls Rrs Ltm Rtm",
    # Logic's own orders
    197: "L R Cs C", 198: "L R Ls Rs Cs C", 199: "L R Ls Rs Cs C LFE", 200: "L C R Ls Cs Rs LFE",
    201: "L R Ls Rs Rls Rrs C LFE", 202: "L R Rls Rrs Ls Rs C LFE Vhl Vhr Ltr Rtr",
    203: "L R Rls Rrs Ls Rs C LFE Vhl Vhr Ltm Rtm Ltr Rtr",
    # CICP 14 and 19, Ogg, MPEG 5.0 E to 7.1 D
    205: "L R C LFE Ls Rs Vhl Vhr", 210: "L R C LFE Rls Rrs Lss Rss Vhl Vhr Ltr Rtr",
    212: "L C R Rls Rrs", 213: "L C R Rls Rrs LFE", 214: "L C R Ls Rs Cs LFE", 215: "L C R Ls Rs Rls Rrs LFE",
    216: "L R Rls Rrs C", 217: "L R Rls Rrs C LFE", 218: "L R Ls Rs C Cs LFE", 219: "L R Rls Rrs Ls Rs C LFE",
}
#: Apple's speaker names as the mask's (and the heights' and wides') speakers. Its Ls/Rs are the mask's BL/BR,
#: except beside rear surrounds (Rls/Rrs = BL/BR), where they are the sides (SL/SR), as a 7.1 WAV file's mask has them.
_APPLE_NAMES = {"L": "FL", "R": "FR", "C": "FC", "LFE": "LFE", "Ls": "BL", "Rs": "BR", "Cs": "BC", "Rls": "BL",
                "Rrs": "BR", "Lc": "FLC", "Rc": "FRC", "Lw": "FLW", "Rw": "FRW", "Lsd": "SL", "Rsd": "SR",
                "Lss": "SL", "Rss": "SR", "Ts": "TC", "Vhl": "TFL", "Vhc": "TFC", "Vhr": "TFR", "Ltm": "TSL",
                "Rtm": "TSR", "Ltr": "TBL", "Ctr": "TBC", "Rtr": "TBR"}


def _apple_speakers(names: Sequence[str]) -> tuple[str, ...]:
    """Apple's names of a layout's channels, in order, as the mask's speakers (the one reading of Ls/Rs)."""
    sides = {"Ls": "SL", "Rs": "SR"} if {"Rls", "Rrs"} & set(names) else {}
    return tuple(sides.get(n, _APPLE_NAMES[n]) for n in names)


#: The speakers of each layout tag's channels, in order.
APPLE_LAYOUTS = {tag: _apple_speakers(order.split()) for tag, order in APPLE_ORDERS.items()}
#: The layout tags that defer to the bitmap or to one description per channel.
APPLE_USE_DESCRIPTIONS, APPLE_USE_BITMAP = 0, 1 << 16
#: Core Audio's channel labels by Apple's names: 1..18 are the mask's speakers in bit order; rear surrounds, front
#: wides, a second LFE, a mono channel, a direct back centre and the Atmos heights (top middle and top rear) are the
#: others a surround stem holds.
APPLE_LABELS = {1: "L", 2: "R", 3: "C", 4: "LFE", 5: "Ls", 6: "Rs", 7: "Lc", 8: "Rc", 9: "Cs", 10: "Lsd", 11: "Rsd",
                12: "Ts", 13: "Vhl", 14: "Vhc", 15: "Vhr", 16: "Ltr", 17: "Ctr", 18: "Rtr", 33: "Rls", 34: "Rrs",
                35: "Lw", 36: "Rw", 37: "LFE", 42: "C", 44: "Cs", 49: "Ltm", 51: "Rtm", 52: "Ltr", 53: "Ctr", 54: "Rtr"}
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
    return _apple_speakers([APPLE_LABELS[label] for label in labels])


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
