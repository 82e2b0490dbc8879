"""Loudness measurements per track, per role and for the mix, over the song and per 10 s window.

One pass over the selection: each window's audio (with the given gains, muted
tracks excluded) is metered once per signal, and only its BS.1770 gating-block
energies are kept; whole-song values gate the blocks of every window together
(what libebur128's global_multiple gives for per-window meters), so no signal is
metered twice. ``WindowBuilder`` takes one track at a time, from any thread, so the
streaming analysis (model.audio.stream) and ``measure_session`` share it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np

from model.audio.findings import Finding
from model.audio.decode import frame_rms_db, linear_to_db, to_mono
from model.audio.dsp import NEG_INF, block_energies, gated_loudness, true_peak_db
from model.audio.segments import (MIN_ACTIVE_SHARE, Window, WindowPlan, cut_windows, passes_gate, select_windows,
                                  stem_active)
from model.audio.roles import ROLES as ROLE_ORDER
from model.audio.tracks import Gains, TrackSet

ACTIVITY_BLOCK_S = 0.4
ACTIVITY_GATE_DBFS = -45.0


@dataclass
class Level:
    """One signal's readings: LUFS, sample and true peak (dB), activity ratio, and meters behind them."""

    lufs: float = NEG_INF
    sample_peak_db: float = NEG_INF
    true_peak_db: float | None = None
    active_blocks: int = 0
    blocks: int = 0

    @property
    def activity(self) -> float:
        return self.active_blocks / self.blocks if self.blocks else 0.0


@dataclass
class WindowLevels:
    """Readings for one window (``window.gated`` tells whether it passed the activity gate)."""

    window: Window
    full: bool  # a full-length window (the tail shorter than one is measured but never judged)
    tracks: dict[str, Level] = field(default_factory=dict)
    roles: dict[str, Level] = field(default_factory=dict)
    mix: Level = field(default_factory=Level)
    role_active: dict[str, bool] = field(default_factory=dict)  # each role's own share of the gate (stem_active)
    #: BS.1770 gating-block energies per signal ("t:ID", "r:ROLE", "mix") in this window.
    energies: dict[str, np.ndarray] = field(default_factory=dict, repr=False)


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 2)


class Measurements:
    """Everything measured over a span of a track set; ``windows`` cover the selection in order."""

    #: Roles that stand for one track (``with_track_as_role``): role name -> track id.
    single_track_roles: Mapping[str, str] = {}

    def __init__(self, tracks: TrackSet, gains: Gains, window_s: float, windows: list[WindowLevels]) -> None:
        self.track_set = tracks
        self.window_s = window_s
        self.windows = windows
        self.track_ids = [t.id for t in tracks.tracks if gains.audible(t)]
        self.roles_present = tracks.roles_present(gains)
        #: Unity-gain readings of each track metered on its own, one per window (what a cache keeps).
        self.track_windows: dict[str, tuple[TrackWindow, ...]] = {}
        self._whole_levels()

    def _whole_levels(self) -> None:
        self.tracks = {tid: self._whole(f"t:{tid}") for tid in self.track_ids}
        self.roles = {r: self._whole(f"r:{r}") for r in self.roles_present}
        self.mix = self._whole("mix")

    def energies(self, key: str, windows: Sequence[WindowLevels] | None = None) -> np.ndarray:
        """The gating-block energies of one signal ("t:ID", "r:ROLE", "mix") over the windows (default: all)."""
        wins = [w for w in (windows if windows is not None else self.windows) if key in w.energies]
        return np.concatenate([w.energies[key] for w in wins]) if wins else np.zeros(0)

    def _whole(self, key: str, windows: Sequence[WindowLevels] | None = None) -> Level:
        wins = [w for w in (windows if windows is not None else self.windows) if key in w.energies]
        levels = [_level_of(w, key) for w in wins]
        out = Level(lufs=gated_loudness(self.energies(key, wins)) if wins else NEG_INF)
        out.sample_peak_db = max((lv.sample_peak_db for lv in levels), default=NEG_INF)
        tps = [lv.true_peak_db for lv in levels if lv.true_peak_db is not None]
        out.true_peak_db = max(tps) if tps else None
        out.active_blocks = sum(lv.active_blocks for lv in levels)
        out.blocks = sum(lv.blocks for lv in levels)
        return out

    # --- song-level views ---------------------------------------------------
    def candidates(self) -> list[WindowLevels]:
        """Windows that may be judged: the full-length ones, or the single short one of a short song."""
        full = [w for w in self.windows if w.full]
        return full if full else self.windows[:1]

    def window_plan(self, max_windows: int | None) -> WindowPlan:
        cands = self.candidates()
        return select_windows([w.window for w in cands], [w.window.gated for w in cands],
                              [w.mix.lufs for w in cands], max_windows)

    def role_loudness(self, windows: Sequence[Window]) -> dict[str, float]:
        """Each role's loudness combined over the given windows (LUFS)."""
        starts = {round(w.start_s, 6) for w in windows}
        chosen = [w for w in self.windows if round(w.window.start_s, 6) in starts]
        return {r: self._whole(f"r:{r}", chosen).lufs for r in self.roles_present}

    def with_track_as_role(self, track_id: str, name: str) -> "Measurements":
        """A view in which one track, metered on its own, is also a role called ``name`` (a single-track anchor).

        The role has the track's readings and gating blocks in every window; it is active in a window where
        at least MIN_ACTIVE_SHARE of the track's 0.4 s activity blocks pass the activity gate. Raises
        KeyError when the track was not metered on its own (measure it with ``per_track``).
        """
        key = f"t:{track_id}"
        view = copy.copy(self)
        view.windows = [replace(w, roles={**w.roles, name: w.tracks[track_id]},
                                energies={**w.energies, f"r:{name}": w.energies[key]},
                                role_active={**w.role_active, name: w.tracks[track_id].activity >= MIN_ACTIVE_SHARE})
                        for w in self.windows]
        view.roles_present = tuple(self.roles_present) + (name,)
        view.roles = {**self.roles, name: self.tracks[track_id]}
        view.single_track_roles = {**self.single_track_roles, name: track_id}
        return view

    def levels_for(self, window: Window) -> WindowLevels:
        for w in self.windows:
            if abs(w.window.start_s - window.start_s) < 1e-6:
                return w
        raise KeyError(window)

    def findings(self, plan: WindowPlan) -> list[Finding]:
        out = []
        if plan.note:
            out.append(Finding("window_fallback", "warning", plan.note))
        if self.windows and not any(w.full for w in self.windows):
            out.append(Finding("short_selection", "warning",
                               f"The selection is shorter than {self.window_s:g} s; it is judged as one window."))
        return out

    def to_json(self, anchor_role: str) -> dict:
        tracks = {t.id: t for t in self.track_set.tracks}
        anchor = self.roles.get(anchor_role, Level()).lufs
        mix = self.mix.lufs

        def rel(x: float, ref: float) -> float | None:
            return _finite(x - ref) if math.isfinite(x) and math.isfinite(ref) else None

        def level_json(lv: Level) -> dict:
            return {"lufs": _finite(lv.lufs), "true_peak_db": _finite(lv.true_peak_db),
                    "sample_peak_db": _finite(lv.sample_peak_db), "activity": round(lv.activity, 3),
                    "rel_anchor_lu": rel(lv.lufs, anchor), "rel_mix_lu": rel(lv.lufs, mix)}

        return {
            "sample_rate": self.track_set.sample_rate,
            "duration_s": round(self.track_set.duration_s, 3),
            "anchor": anchor_role,
            "tracks": [{"id": tid, "name": tracks[tid].name, "role": tracks[tid].role.role,
                        "role_source": tracks[tid].role.source, "role_unsure": tracks[tid].role.unsure,
                        **level_json(self.tracks[tid])}
                       for tid in self.track_ids],
            "roles": {r: {"tracks": 1 if r in self.single_track_roles else
                          sum(1 for t in self.track_ids if tracks[t].role.role == r),
                          **level_json(self.roles[r])} for r in self.roles_present},
            "mix": level_json(self.mix),
            "windows": [{"start_s": round(w.window.start_s, 3), "end_s": round(w.window.end_s, 3),
                         "gated": w.window.gated, "mix_lufs": _finite(w.mix.lufs),
                         "roles_lufs": {r: _finite(lv.lufs) for r, lv in w.roles.items()}}
                        for w in self.windows],
        }


def _level_of(w: WindowLevels, key: str) -> Level:
    kind, _, name = key.partition(":")
    if key == "mix":
        return w.mix
    return (w.tracks if kind == "t" else w.roles)[name]


def _activity(mono: np.ndarray, sr: int) -> tuple[int, int]:
    levels = frame_rms_db(mono, max(1, int(ACTIVITY_BLOCK_S * sr)))
    return int(np.sum(levels > ACTIVITY_GATE_DBFS)), int(levels.size)


def _read(audio: np.ndarray, sr: int, dual_mono: bool, true_peak: bool,
          mono: np.ndarray | None = None) -> tuple[Level, np.ndarray]:
    """One signal's readings over a window and its gating-block energies."""
    energies = block_energies(audio, sr, dual_mono)
    peak = linear_to_db(max(float(audio.max()), -float(audio.min()))) if len(audio) else NEG_INF
    tp = true_peak_db(audio, sr) if true_peak else None
    active, blocks = _activity(to_mono(audio) if mono is None else mono, sr)
    return Level(gated_loudness(energies), peak, tp, active, blocks), energies


@dataclass(frozen=True)
class TrackWindow:
    """One track's readings over one window at unity gain; ``level(gain_db)`` gives them at any gain.

    Energies scale with the gain squared and peaks shift by it (BS.1770 is linear before
    the square); activity is re-gated from the 0.4 s block levels. This is what a cache keeps.
    """

    energies: np.ndarray
    peak_db: float
    block_db: np.ndarray  # raw RMS (dBFS) of each 0.4 s activity block of the mono fold

    def level(self, gain_db: float = 0.0) -> tuple[Level, np.ndarray]:
        energies = self.energies * 10.0 ** (gain_db / 10.0) if gain_db else self.energies
        active = int(np.sum(self.block_db + gain_db > ACTIVITY_GATE_DBFS))
        return Level(gated_loudness(energies), self.peak_db + gain_db, None, active, int(self.block_db.size)), energies


def read_track_window(audio: np.ndarray, sr: int, peak: float | None = None) -> TrackWindow:
    """A track's unity-gain readings over a window (a mono track counts on both speakers); ``peak`` is its sample
    peak (linear) where it is known already."""
    if not len(audio):
        peak_db = NEG_INF
    else:
        peak_db = linear_to_db(max(float(audio.max()), -float(audio.min())) if peak is None else peak)
    return TrackWindow(block_energies(audio, sr, True), peak_db,
                       frame_rms_db(to_mono(audio), max(1, int(ACTIVITY_BLOCK_S * sr))))


class Cancellable(Protocol):
    """A cancel token (model.advice.advisor.CancelToken): raises model.errors.Cancelled once cancelled."""

    def raise_if_cancelled(self) -> None: ...


def _padded(segment: np.ndarray, frames: int) -> np.ndarray:
    """The segment followed by silence up to ``frames``."""
    if len(segment) >= frames:
        return segment
    out = np.zeros((frames, segment.shape[1]), dtype=np.float32)
    out[: len(segment)] = segment
    return out


class WindowBuilder:
    """Readings of one window, built from one track segment at a time.

    ``roles`` maps each audible track id to its role; ``meter_alone`` lists the track ids
    metered on their own (every track with ``per_track``, else those alone in their role).
    Several threads may ``meter`` at once, but segments go into the role sums (``add_role_sum``)
    from one thread in one fixed order: float sums depend on their order, and the same files
    must always give the same readings.
    """

    def __init__(self, sr: int, start_s: float, end_s: float, full: bool, roles: dict[str, str],
                 meter_alone: set[str], sums: Mapping[str, np.ndarray] | None = None) -> None:
        self.sr, self.start_s, self.end_s, self.full = sr, start_s, end_s, full
        self.frames = int(round(end_s * sr)) - int(round(start_s * sr))
        self._roles = roles
        self._alone = meter_alone
        self._members = {r: [t for t, role in roles.items() if role == r] for r in set(roles.values())}
        #: Zeroed (>= frames, 2) buffers to sum each role into (shared memory of a worker process), else fresh ones.
        self._given = sums or {}
        self._sums: dict[str, np.ndarray] = {}
        self._tracks: dict[str, tuple[Level, np.ndarray]] = {}
        #: Unity-gain readings of the tracks metered alone, by id (for a cache).
        self.track_windows: dict[str, TrackWindow] = {}

    def add(self, track_id: str, segment: np.ndarray, gain: float = 1.0, known: TrackWindow | None = None) -> None:
        """A track's unity-gain (frames, 1 or 2) segment of this window (shorter: the rest is silence),
        metered and added into its role's sum (see ``meter``)."""
        self.add_role_sum(*self.meter(track_id, segment, gain, known))

    def meter(self, track_id: str, segment: np.ndarray, gain: float = 1.0, known: TrackWindow | None = None,
              peak: float | None = None) -> tuple[str, np.ndarray]:
        """Take a track's readings if it is metered alone; return (its role, its gained segment) for ``add_role_sum``.

        ``gain`` (linear) applies to its readings and its share of the sums; ``known`` are its
        readings from a cache, used instead of metering it again; ``peak`` is the segment's sample peak
        (linear, unity gain) where it was measured already.
        """
        if track_id in self._alone:
            if known is None:
                known = read_track_window(_padded(segment, self.frames), self.sr, peak)
            self.add_readings(track_id, known, gain)
        if gain != 1.0:
            segment = segment * np.float32(gain)
        return self._roles[track_id], segment

    def add_readings(self, track_id: str, readings: TrackWindow, gain: float = 1.0) -> None:
        """A track's unity-gain readings over this window, measured elsewhere (its audio goes in by add_role_sum)."""
        self.track_windows[track_id] = readings
        self._tracks[track_id] = readings.level(20.0 * math.log10(gain))

    def add_role_sum(self, role: str, segment: np.ndarray) -> None:
        """Add gained audio (frames, 1 or 2) into a role's sum: one track's, or several tracks' summed elsewhere."""
        total = self._sums.get(role)
        if total is None:
            given = self._given.get(role)
            total = self._sums[role] = (given[: self.frames] if given is not None
                                        else np.zeros((self.frames, 2), dtype=np.float32))
        total[: len(segment)] += segment  # mono (frames, 1) plays on both channels

    @property
    def first_frame(self) -> int:
        """The window's first sample in the song."""
        return int(round(self.start_s * self.sr))

    def role_sums(self) -> dict[str, np.ndarray]:
        """Each role's (frames, 2) float32 sum of its tracks at their gains, in role order."""
        return {role: self._sums.get(role, np.zeros((self.frames, 2), dtype=np.float32))
                for role in ROLE_ORDER if role in self._members}

    def finish(self, true_peak: bool,
               on_role_sums: Callable[[int, dict[str, np.ndarray]], None] | None = None) -> WindowLevels:
        """The window's readings; ``on_role_sums`` (first sample, role sums) is given the sums first."""
        if on_role_sums is not None:
            on_role_sums(self.first_frame, self.role_sums())
        wl = WindowLevels(Window(self.start_s, self.end_s, True), self.full)
        for tid in self._roles:  # in track order, whichever thread metered first
            if tid in self._tracks:
                wl.tracks[tid], wl.energies[f"t:{tid}"] = self._tracks[tid]
        mix = np.zeros((self.frames, 2), dtype=np.float32)
        mono_roles: dict[str, np.ndarray] = {}
        for role, total in self.role_sums().items():
            mono_roles[role] = to_mono(total)
            members = self._members[role]
            if len(members) == 1:  # the role is its track: share its readings
                wl.roles[role], wl.energies[f"r:{role}"] = wl.tracks[members[0]], wl.energies[f"t:{members[0]}"]
            else:
                wl.roles[role], wl.energies[f"r:{role}"] = _read(total, self.sr, False, False, mono_roles[role])
            mix += total
        wl.mix, wl.energies["mix"] = _read(mix, self.sr, False, true_peak)
        gated = passes_gate(mono_roles, self.sr) if mono_roles else False
        wl.role_active = {role: stem_active(mono, self.sr) for role, mono in mono_roles.items()}
        wl.window = Window(self.start_s, self.end_s, gated)
        return wl


def measure_session(tset: TrackSet, gains: Gains, window_s: float = 10.0, span: tuple[float, float] | None = None,
                    true_peak: bool = True, per_track: bool = True,
                    known: Mapping[str, Sequence[TrackWindow]] | None = None, cancel: Cancellable | None = None,
                    progress: Callable[[float, str], None] | None = None, also_alone: Sequence[str] = ()
                    ) -> Measurements:
    """Measure the span (default: the whole song) window by window.

    True peak (libebur128, 4x oversampled) is measured for the mix in every window and
    for each track over the measured windows (the span); roles made of one track share that track's
    readings instead of being metered again. ``per_track=False`` skips the track meters
    of roles with several tracks (for callers that need roles and mix only).

    ``known`` gives tracks' unity-gain readings, one per window of ``window_spans`` (e.g. from
    model.audio.cache): those tracks are not metered again, only summed into their role. The
    readings of every track metered on its own come back in ``Measurements.track_windows``. ``also_alone`` names
    tracks to meter on their own without ``per_track`` (e.g. a lead vocal judged as an anchor).
    ``cancel`` is checked before each track of each window; ``progress`` gets (fraction, message)
    once a window.
    """
    sr = tset.sample_rate
    audible = [t for t in tset.tracks if gains.audible(t)]
    roles = {t.id: t.role.role for t in audible}
    alone = metered_alone(roles, per_track) | (set(also_alone) & set(roles))
    spans = window_spans(tset.duration_s, window_s, span)
    known = {tid: tuple(w) for tid, w in (known or {}).items() if len(w) == len(spans)}
    windows = []
    measured: dict[str, list[TrackWindow]] = {tid: [] for tid in alone}
    for i, (start_s, end_s, full) in enumerate(spans):
        if progress:
            progress(i / len(spans), f"Measuring loudness: window {i + 1} of {len(spans)}")
        builder = WindowBuilder(sr, start_s, end_s, full, roles, alone)
        a, b = int(round(start_s * sr)), int(round(end_s * sr))
        for t in audible:
            if cancel is not None:
                cancel.raise_if_cancelled()
            builder.add(t.id, t.audio[a:b], gains.linear(t), known[t.id][i] if t.id in known else None)
        for tid, tw in builder.track_windows.items():
            measured[tid].append(tw)
        if cancel is not None:
            cancel.raise_if_cancelled()
        windows.append(builder.finish(true_peak))
    result = Measurements(tset, gains, window_s, windows)
    result.track_windows = {tid: tuple(tws) for tid, tws in measured.items()}
    if true_peak:
        a, b = int(round(spans[0][0] * sr)), int(round(spans[-1][1] * sr))
        set_track_true_peaks(result, {t.id: true_peak_db(t.audio[a:b], sr) + 20 * math.log10(gains.linear(t))
                                      for t in audible})
    return result


#: ``measure_session`` or a function that measures the same way elsewhere (model.audio.meter_process).
MeasureSession = Callable[..., Measurements]


def metered_alone(roles: dict[str, str], per_track: bool) -> set[str]:
    """Track ids metered on their own: all with ``per_track``, else those alone in their role."""
    counts: dict[str, int] = {}
    for role in roles.values():
        counts[role] = counts.get(role, 0) + 1
    return {tid for tid, role in roles.items() if per_track or counts[role] == 1}


def set_track_true_peaks(result: Measurements, peaks: dict[str, float]) -> None:
    """The span's true peaks (dBTP, gain included) into the track levels and single-track roles."""
    by_role: dict[str, list[str]] = {}
    for tid in result.track_ids:
        by_role.setdefault(result.track_set.get(tid).role.role, []).append(tid)
        result.tracks[tid].true_peak_db = peaks[tid]
    for role, members in by_role.items():
        if len(members) == 1:
            result.roles[role].true_peak_db = peaks[members[0]]


def window_spans(duration_s: float, window_s: float,
                 span: tuple[float, float] | None) -> list[tuple[float, float, bool]]:
    """The judged windows plus the tail after the last one (measured, never judged)."""
    starts = cut_windows(duration_s, window_s, span)
    if len(starts) == 1 and starts[0].duration_s < window_s - 1e-9:
        return [(starts[0].start_s, starts[0].end_s, False)]
    spans = [(w.start_s, w.end_s, True) for w in starts]
    span_end = min(duration_s, span[1]) if span else duration_s
    if starts and span_end - starts[-1].end_s > 1e-6:
        spans.append((starts[-1].end_s, span_end, False))
    return spans


def song_loudness(windows: Sequence[TrackWindow]) -> float:
    """A track's unity-gain loudness over all of its windows: their gating blocks gated together, which is
    measure_session's whole-song reading of the track (LUFS; -inf for silence)."""
    return gated_loudness(np.concatenate([w.energies for w in windows])) if windows else NEG_INF
