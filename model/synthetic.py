"""Seeded procedural multitracks: the bundled demo, test sessions and the training demo corpus.

Everything is additive synthesis in numpy (no samples, no SoundFonts), so the
output is reproducible from the seed alone. Roles are balanced against the
shipped balance profile's typical offsets (the generator's convention), so an
untouched session is balanced by construction and a known gain change is a
known flaw.

    python -m model.synthetic demo resources/demo   # regenerate the bundled demo
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SR = 44100

# Semitone offsets of chords in a major key: I, V, vi, IV and friends.
PROGRESSIONS = (
    ((0, 4, 7), (7, 11, 14), (9, 12, 16), (5, 9, 12)),
    ((9, 12, 16), (5, 9, 12), (0, 4, 7), (7, 11, 14)),
    ((0, 4, 7), (5, 9, 12), (9, 12, 16), (7, 11, 14)),
)
VOWELS = {  # formant centre frequencies and bandwidths (Hz)
    "a": ((800, 80), (1150, 90), (2900, 120)),
    "e": ((400, 60), (1700, 100), (2600, 120)),
    "o": ((450, 70), (800, 80), (2830, 100)),
    "u": ((325, 50), (700, 60), (2530, 170)),
}


@dataclass(frozen=True)
class TrackSpec:
    """A generated track: DAW-style file name, its role and whether it is stereo."""

    name: str
    role: str
    stereo: bool


DEMO_TRACKS = (
    TrackSpec("01 Kick", "drums", False),
    TrackSpec("02 Snare Top", "drums", False),
    TrackSpec("03 Hi Hat", "drums", False),
    TrackSpec("04 Bass DI", "bass", False),
    TrackSpec("05 Lead Vox", "vocals", False),
    TrackSpec("06 BGV 2", "vocals", True),
    TrackSpec("07 Keys Pad", "other", True),
)
#: Level of each track within its role (dB), before role balancing.
TRACK_TRIM_DB = {"01 Kick": 0.0, "02 Snare Top": -2.0, "03 Hi Hat": -9.0, "05 Lead Vox": 0.0, "06 BGV 2": -8.0}


def _midi_hz(note: float) -> np.ndarray | float:
    return 440.0 * 2.0 ** ((np.asarray(note) - 69.0) / 12.0)


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    """Moving average of length n (cumulative-sum, O(len))."""
    if n <= 1:
        return x
    c = np.cumsum(np.concatenate([[0.0], x]))
    out = (c[n:] - c[:-n]) / n
    return np.concatenate([np.full(n - 1, out[0]), out])


def _place(buffer: np.ndarray, shot: np.ndarray, start: int, gain: float = 1.0) -> None:
    end = min(len(buffer), start + len(shot))
    if start < end:
        buffer[start:end] += gain * shot[: end - start]


class _Song:
    """Shared musical plan for one seed: tempo, key, chords, sections."""

    def __init__(self, seed: int, seconds: float, sr: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.sr = sr
        self.n = int(round(seconds * sr))
        self.bpm = float(self.rng.uniform(88, 126))
        self.beat = 60.0 / self.bpm
        self.key = int(self.rng.integers(0, 12))
        self.chords = PROGRESSIONS[int(self.rng.integers(0, len(PROGRESSIONS)))]
        self.bars = int(np.ceil(seconds / (4 * self.beat))) + 1

    def chord(self, bar: int) -> tuple[int, ...]:
        return self.chords[bar % len(self.chords)]

    def chorus(self, bar: int) -> bool:
        return (bar // 4) % 2 == 1

    def beats(self, per_beat: int = 1):
        """(sample index, bar, beat-in-bar, sub-index) for every grid point."""
        step = self.beat / per_beat
        for i in range(int(self.n / self.sr / step) + 1):
            t = i * step
            start = int(round(t * self.sr))
            if start >= self.n:
                break
            bar, pos = divmod(i, 4 * per_beat)
            yield start, bar, pos // per_beat, pos % per_beat


def _kick(song: _Song) -> np.ndarray:
    sr, out = song.sr, np.zeros(song.n)
    t = np.arange(int(0.45 * sr)) / sr
    freq = 45 + 90 * np.exp(-t / 0.04)
    shot = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / 0.16)
    shot[: int(0.003 * sr)] += song.rng.normal(0, 0.3, int(0.003 * sr))
    for start, bar, beat, _ in song.beats():
        if beat in (0, 2) or (song.chorus(bar) and beat == 3 and bar % 2):
            _place(out, shot, start, 0.9 + 0.1 * song.rng.random())
    return out


def _snare(song: _Song) -> np.ndarray:
    sr, out = song.sr, np.zeros(song.n)
    t = np.arange(int(0.3 * sr)) / sr
    noise = song.rng.normal(0, 1, len(t))
    noise = noise - _smooth(noise, 6)
    shot = 0.6 * noise * np.exp(-t / 0.07) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
    for start, _, beat, _ in song.beats():
        if beat in (1, 3):
            _place(out, shot, start, 0.85 + 0.15 * song.rng.random())
    return out


def _hats(song: _Song) -> np.ndarray:
    sr, out = song.sr, np.zeros(song.n)
    t = np.arange(int(0.08 * sr)) / sr
    for start, _, _, sub in song.beats(per_beat=2):
        noise = song.rng.normal(0, 1, len(t))
        shot = (noise - _smooth(noise, 3)) * np.exp(-t / 0.018)
        _place(out, shot, start, 0.7 if sub else 1.0)
    return out


def _bass(song: _Song) -> np.ndarray:
    sr, out = song.sr, np.zeros(song.n)
    length = int(song.beat * sr * 0.95)
    t = np.arange(length) / sr
    env = np.exp(-t / 0.5) * np.minimum(1.0, t / 0.005) * np.minimum(1.0, (length - np.arange(length)) / (0.01 * sr))
    for start, bar, beat, sub in song.beats(per_beat=2):
        if sub and not song.chorus(bar):
            continue
        root = 36 + song.key % 12 + song.chord(bar)[0] % 12
        if beat == 3 and sub:
            root += 7
        f = float(_midi_hz(root))
        shot = sum(np.sin(2 * np.pi * k * f * t) / k ** 1.3 for k in range(1, 7)) * env
        _place(out, shot, start)
    return out


def _keys(song: _Song) -> np.ndarray:
    sr, n = song.sr, song.n
    out = np.zeros((n, 2))
    bar_len = int(4 * song.beat * sr)
    t = np.arange(bar_len) / sr
    env = np.minimum(1.0, t / 0.35) * np.minimum(1.0, (bar_len - np.arange(bar_len)) / (0.3 * sr))
    for bar in range(song.bars):
        start = bar * bar_len
        for i, semis in enumerate(song.chord(bar)):
            f = float(_midi_hz(60 + song.key % 12 + semis - 12 * (i == 0)))
            for ch, detune in ((0, 0.998), (1, 1.002)):
                tone = sum(np.sin(2 * np.pi * k * f * detune * t + ch * k) / k ** 2 for k in range(1, 5))
                _place(out[:, ch], tone * env, start, 0.6 if song.chorus(bar) else 0.45)
    return out


def _voice(song: _Song, notes: list[tuple[int, int, float, str]], breath: float) -> np.ndarray:
    """Additive formant voice: notes are (start, end, midi, vowel)."""
    sr, n = song.sr, song.n
    f0 = np.zeros(n)
    amp = np.zeros(n)
    formants = {i: (np.full(n, 500.0), np.full(n, 80.0)) for i in range(3)}
    for start, end, midi, vowel in notes:
        end = min(end, n)
        if start >= end:
            continue
        f0[start:end] = _midi_hz(midi)
        length = end - start
        ramp = np.minimum(1.0, np.arange(length) / (0.04 * sr))
        amp[start:end] = ramp * np.minimum(1.0, (length - np.arange(length)) / (0.06 * sr))
        for i, (fc, bw) in enumerate(VOWELS[vowel]):
            formants[i][0][start:end] = fc
            formants[i][1][start:end] = bw
    voiced = f0 > 0
    f0 = np.where(voiced, f0, np.maximum.accumulate(np.where(voiced, f0, 0.0)) + 1e-3)
    f0 = _smooth(f0, int(0.03 * sr))
    t = np.arange(n) / sr
    f0 = f0 * (1 + 0.012 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    out = np.zeros(n)
    for k in range(1, 30):
        fk = k * f0
        gain = sum(1.0 / (1.0 + ((fk - fc) / bw) ** 2) for fc, bw in formants.values())
        gain = gain * (fk < sr / 2 - 500) / k ** 0.6
        out += gain * np.sin(k * phase)
    noise = song.rng.normal(0, 1, n)
    out += breath * (noise - _smooth(noise, 4))
    return out * _smooth(amp, int(0.01 * sr))


def _melody(song: _Song, harmony: bool = False) -> list[tuple[int, int, float, str]]:
    notes = []
    scale = (0, 2, 4, 5, 7, 9, 11, 12)
    vowels = tuple(VOWELS)
    for start, bar, beat, _ in song.beats():
        if harmony and not song.chorus(bar):
            continue
        if not harmony and beat == 3 and bar % 2:
            continue  # a breath every other bar
        chord = song.chord(bar)
        degree = chord[int(song.rng.integers(0, 3))] if beat == 0 else scale[int(song.rng.integers(0, len(scale)))]
        midi = 64 + song.key % 12 + degree + (4 if harmony else 0) - (12 if degree > 9 else 0)
        end = start + int(song.beat * song.sr * (0.95 if not harmony else 1.0))
        notes.append((start, end, float(midi), vowels[(bar + beat) % len(vowels)] if not harmony else "u"))
    return notes


def _render(song: _Song) -> dict[str, np.ndarray]:
    lead = _voice(song, _melody(song), 0.02)
    bgv_mono = _voice(song, _melody(song, harmony=True), 0.01)
    bgv = np.stack([bgv_mono, np.roll(bgv_mono, int(0.012 * song.sr))], axis=1)
    return {
        "01 Kick": _kick(song),
        "02 Snare Top": _snare(song),
        "03 Hi Hat": _hats(song),
        "04 Bass DI": _bass(song),
        "05 Lead Vox": lead,
        "06 BGV 2": bgv,
        "07 Keys Pad": _keys(song),
    }


def _stereo(x: np.ndarray) -> np.ndarray:
    return np.stack([x, x], axis=1) if x.ndim == 1 else x


def typical_offsets() -> dict[str, float]:
    """Role loudness relative to the vocals (LU) the generator aims for: the profile's medians."""
    from model.advice.profiles import BalanceProfile
    from resources import BALANCE_PROFILE

    profile = BalanceProfile.load(BALANCE_PROFILE)
    return {"vocals": 0.0, **{r: float(profile.typical(r, "vocals").median) for r in ("drums", "bass", "other")}}


@dataclass(frozen=True)
class MaskingCase:
    """A quiet verse under a bright synth: over a stretch the vocals drop ``vocal_drop_db`` and the
    keys gain a bright layer ``over_db`` above the (lowered) vocals in each third-octave band of ``band_hz``."""

    start_s: float
    end_s: float
    band_hz: tuple[float, float] = (1000.0, 4000.0)
    over_db: float = 10.0
    vocal_drop_db: float = 8.0


def synth_multitrack(seed: int, seconds: float = 30.0, sample_rate: int = SR,
                     role_offsets_db: dict[str, float] | None = None, jitter_db: float = 0.0,
                     peak_dbfs: float = -3.0, masking: MaskingCase | None = None) -> dict[str, np.ndarray]:
    """A DAW-style multitrack: file name -> float32 (frames,) mono or (frames, 2) stereo.

    Roles are balanced to the profile medians (plus a seeded uniform jitter of
    ±``jitter_db``), then ``role_offsets_db`` (deliberate flaws, dB per role) is
    applied, then ``masking`` (a deliberate masking case) is added to the keys,
    then everything is scaled together so the mix peaks at ``peak_dbfs``.
    """
    from model.audio.dsp import loudness_lufs

    song = _Song(seed, seconds, sample_rate)
    raw = _render(song)
    tracks = {name: x * 10 ** (TRACK_TRIM_DB.get(name, 0.0) / 20) for name, x in raw.items()}
    roles = {spec.name: spec.role for spec in DEMO_TRACKS}
    sums = {r: sum(_stereo(x) for name, x in tracks.items() if roles[name] == r) for r in set(roles.values())}
    loud = {r: loudness_lufs(s.astype(np.float32), sample_rate) for r, s in sums.items()}
    target = typical_offsets()
    flaws = role_offsets_db or {}
    for name in tracks:
        r = roles[name]
        jitter = song.rng.uniform(-jitter_db, jitter_db) if jitter_db and r != "vocals" else 0.0
        gain_db = (loud["vocals"] + target[r] + jitter) - loud[r] + flaws.get(r, 0.0)
        tracks[name] = tracks[name] * 10 ** (gain_db / 20)
    if masking is not None:
        for name in tracks:
            if roles[name] == "vocals":
                tracks[name] = _dipped(tracks[name], sample_rate, masking)
        vocals = sum(_stereo(x) for name, x in tracks.items() if roles[name] == "vocals")
        tracks["07 Keys Pad"] = _with_bright_layer(song, tracks["07 Keys Pad"], vocals, masking)
    mix = sum(_stereo(x) for x in tracks.values())
    scale = 10 ** (peak_dbfs / 20) / max(1e-9, float(np.max(np.abs(mix))))
    return {name: (x * scale).astype(np.float32) for name, x in tracks.items()}


def _stretch_envelope(n: int, sr: int, case: MaskingCase) -> np.ndarray:
    """1 inside the case's stretch, 0 outside, with 50 ms ramps."""
    t = np.arange(n) / sr
    inside = np.minimum(t - case.start_s, case.end_s - t)
    return np.clip(inside / 0.05 + 0.5, 0.0, 1.0)


def _dipped(vocal: np.ndarray, sr: int, case: MaskingCase) -> np.ndarray:
    """A vocal track ``vocal_drop_db`` lower over the case's stretch."""
    env = 1.0 + (10 ** (-case.vocal_drop_db / 20) - 1.0) * _stretch_envelope(len(vocal), sr, case)
    return vocal * (env if vocal.ndim == 1 else env[:, None])


def _with_bright_layer(song: _Song, keys: np.ndarray, vocals: np.ndarray, case: MaskingCase) -> np.ndarray:
    """The keys plus a bright layer over the case's stretch: a detuned saw chord an octave up with a breath
    of noise, shaped so that each third-octave band of ``case.band_hz`` sits ``over_db`` above the
    vocals' power in that band over the stretch (nothing outside the band)."""
    from model.audio.spectral import third_octave_bands

    sr = song.sr
    a, b = int(case.start_s * sr), int(case.end_s * sr)
    t = np.arange(b - a) / sr
    layer = 0.3 * song.rng.normal(0, 1, (b - a, 2))
    bar = int(case.start_s / (4 * song.beat))
    for semis in song.chord(bar):
        f0 = float(_midi_hz(72 + song.key % 12 + semis))
        for ch in (0, 1):
            for cents in (-12, -4, 4, 12):
                f = f0 * 2 ** ((cents + 3 * ch) / 1200)
                for k in range(1, int(case.band_hz[1] * 1.2 / f) + 1):
                    layer[:, ch] += np.sin(2 * np.pi * k * f * t + song.rng.uniform(0, 2 * np.pi)) / k
    freqs = np.fft.rfftfreq(b - a, 1 / sr)
    spectrum = np.fft.rfft(layer, axis=0)
    voice_power = np.abs(np.fft.rfft(_stereo(vocals)[a:b], axis=0)) ** 2
    gain = np.zeros(len(freqs))
    bands = third_octave_bands(sr)
    for lo, hi in zip(bands.low_hz, bands.high_hz):
        inside = (freqs >= max(lo, case.band_hz[0])) & (freqs < min(hi, case.band_hz[1]))
        if inside.any():
            ratio = voice_power[inside].mean() / max((np.abs(spectrum[inside]) ** 2).mean(), 1e-30)
            gain[inside] = np.sqrt(ratio * 10 ** (case.over_db / 10))
    layer = np.fft.irfft(spectrum * gain[:, None], b - a, axis=0)
    out = _stereo(keys).copy()
    out[a:b] += layer * _stretch_envelope(len(out), sr, case)[a:b, None]
    return out


def synth_stems(seed: int, seconds: float = 30.0, sample_rate: int = SR, **kwargs) -> dict[str, np.ndarray]:
    """MUSDB-style stems: role -> float32 stereo (frames, 2), the sums of a synthetic multitrack."""
    tracks = synth_multitrack(seed, seconds, sample_rate, **kwargs)
    roles = {spec.name: spec.role for spec in DEMO_TRACKS}
    out = {}
    for role in ("vocals", "drums", "bass", "other"):
        out[role] = sum(_stereo(x) for name, x in tracks.items() if roles[name] == role).astype(np.float32)
    return out


def write_multitrack(folder: str | Path, tracks: dict[str, np.ndarray], sample_rate: int = SR,
                     fmt: str = "WAV", subtype: str = "PCM_24", ext: str = ".wav") -> list[Path]:
    """Write each track as a file named like a DAW export."""
    import soundfile as sf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, audio in tracks.items():
        path = folder / f"{name}{ext}"
        sf.write(str(path), audio, sample_rate, format=fmt, subtype=subtype)
        paths.append(path)
    return paths


DEMO_SEED = 7
DEMO_SECONDS = 30.0
DEMO_FLAW = {"drums": 8.0}  # the deliberate imbalance the demo critique should find
DEMO_MASKING = MaskingCase(12.0, 22.0)  # the deliberate masking case: bright keys over the vocals


def write_demo(folder: str | Path) -> list[Path]:
    """Regenerate the bundled demo session (FLAC, 16-bit, 44.1 kHz)."""
    tracks = synth_multitrack(DEMO_SEED, DEMO_SECONDS, SR, role_offsets_db=DEMO_FLAW, jitter_db=1.0,
                              masking=DEMO_MASKING)
    paths = write_multitrack(folder, tracks, SR, fmt="FLAC", subtype="PCM_16", ext=".flac")
    (Path(folder).parent / "demo.md").write_text(
        "# Demo session\n\n"
        f"Generated by `python -m model.synthetic demo resources/demo` (seed {DEMO_SEED}, {DEMO_SECONDS:g} s, "
        "procedural additive synthesis; no samples, no third-party material).\n\n"
        f"Deliberate imbalance: the drums (kick, snare, hi-hat) are {DEMO_FLAW['drums']:+g} dB above their typical "
        "level relative to the vocals, so the critique should ask to lower the drums by 6 to 12 dB.\n\n"
        f"Deliberate masking: from {DEMO_MASKING.start_s:g} s to {DEMO_MASKING.end_s:g} s the vocals drop "
        f"{DEMO_MASKING.vocal_drop_db:g} dB (a quiet verse) while the keys pad (`07 Keys Pad`) gains a bright layer "
        "(a detuned saw chord an octave up with a breath of noise) confined to "
        f"{DEMO_MASKING.band_hz[0] / 1000:g}-{DEMO_MASKING.band_hz[1] / 1000:g} kHz, each third-octave band of it "
        f"{DEMO_MASKING.over_db:g} dB above the vocals' power in that band over the stretch. "
        "`mixingbuddy critique resources/demo --masking` reports the other instruments (the keys) covering the "
        "vocals in about that band and stretch (measured: between 800 Hz and 3.15 kHz from 0:12 to 0:21, the "
        "vocals 10 dB under), and `mixingbuddy masking \"07 Keys Pad\" \"05 Lead Vox\" resources/demo` the keys "
        "covering the lead vocal. The role balance stays inside its typical band apart from the drums.\n"
    )
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.synthetic", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write the bundled demo session")
    demo.add_argument("folder")
    args = parser.parse_args(argv)
    for path in write_demo(args.folder):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
