"""BalanceAdvisor: weights-free advice from BS.1770 loudness relative to the anchor.

For each role: d = (role LU - anchor LU) - typical offset for that (role, anchor)
pair from resources/balance_profile.json. |d| < 3 is fine, 3..6 quiet/loud,
>= 6 very quiet/very loud (the paper's categories); d > 0 means too loud. The
song-level verdict uses role loudness combined over all judged windows; each
window's own verdict feeds the timeline and the confidence.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from model.advice.types import RoleGain, WindowVerdict
from model.audio.segments import Window
from model.advice.advisor import AdviceRequest, AdvisorInfo, CancelToken, SongVerdict
from model.errors import AdvisorUnavailable
from model.advice.templates import CORRECTION_RANGE_DB, DIRECTION, render_response

PROFILE_FORMAT = "mixingbuddy.balance_profile/1"


@dataclass(frozen=True)
class PairStats:
    """Typical loudness of a role relative to an anchor: median and quartiles (LU)."""

    median: float
    q25: float
    q75: float


@dataclass(frozen=True)
class BalanceProfile:
    """Per (role, anchor) typical offsets, plus the category thresholds."""

    pairs: Mapping[tuple[str, str], PairStats]
    ok_db: float = 3.0
    very_db: float = 6.0
    provenance: Mapping = None  # type: ignore[assignment]

    @classmethod
    def load(cls, path: str | Path) -> "BalanceProfile":
        """Read a profile JSON file; raises AdvisorUnavailable naming what is wrong."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format") != PROFILE_FORMAT:
                raise ValueError(f"format is {data.get('format')!r}, expected {PROFILE_FORMAT!r}")
            pairs = {}
            for key, v in data["pairs"].items():
                role, anchor = key.split("|")
                pairs[(role, anchor)] = PairStats(float(v["median"]), float(v["q25"]), float(v["q75"]))
            th = data.get("thresholds_db", {})
            return cls(pairs, float(th.get("ok", 3.0)), float(th.get("very", 6.0)), data.get("provenance", {}))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise AdvisorUnavailable(f"Balance profile {Path(path).name} is unreadable: {exc}") from None

    def typical(self, role: str, anchor: str) -> PairStats | None:
        return self.pairs.get((role, anchor))

    def category(self, deviation: float) -> str:
        """Paper category for a deviation d in LU (d > 0: too loud)."""
        size = abs(deviation)
        if size < self.ok_db:
            return "no_error"
        if deviation > 0:
            return "very_loud" if size >= self.very_db else "loud"
        return "very_quiet" if size >= self.very_db else "quiet"


def deviations(profile: BalanceProfile, role_lufs: Mapping[str, float], anchor: str) -> dict[str, float]:
    """d per non-anchor role: (role - anchor) minus the typical offset; silent roles are left out."""
    ref = role_lufs.get(anchor, float("-inf"))
    out = {}
    if not math.isfinite(ref):
        return out
    for role, value in role_lufs.items():
        stats = profile.typical(role, anchor)
        if role == anchor or stats is None or not math.isfinite(value):
            continue
        out[role] = (value - ref) - stats.median
    return out


def _suggestion(profile: BalanceProfile, role: str, d: float, confidence: float) -> RoleGain | None:
    category = profile.category(d)
    if category == "no_error":
        return None
    low, high = CORRECTION_RANGE_DB[category]
    sign = -1.0 if d > 0 else 1.0
    delta = sign * min(max(abs(d), low), high)
    return RoleGain(role, DIRECTION[category], category, float(low), float(high), delta, confidence)  # type: ignore[arg-type]


def _primary_role(profile: BalanceProfile, devs: Mapping[str, float]) -> str | None:
    """The vocals/drums/bass role furthest outside its band (|d| >= ok threshold); "other" is never primary."""
    candidates = [(abs(d), r) for r, d in devs.items() if r != "other" and abs(d) >= profile.ok_db]
    return max(candidates)[1] if candidates else None


class BalanceAdvisor:
    """The embedded default advisor: measured loudness against a reference balance profile."""

    def __init__(self, profile: BalanceProfile) -> None:
        self.profile = profile
        self.info = AdvisorInfo(
            id="balance",
            kind="balance",
            description="measured BS.1770 loudness of each role vs the anchor, against a reference balance profile",
            max_windows=None,
        )

    @classmethod
    def from_resources(cls, profile_path: str | Path | None = None) -> "BalanceAdvisor":
        from resources import BALANCE_PROFILE

        return cls(BalanceProfile.load(profile_path or BALANCE_PROFILE))

    # --- Advisor protocol -----------------------------------------------------
    def judge(self, request: AdviceRequest, windows: Sequence[Window],
              cancel: CancelToken | None = None) -> list[WindowVerdict]:
        from model.advice.pipeline import measure_request

        return self.judge_measured(request, measure_request(request), windows, cancel)

    def judge_measured(self, request: AdviceRequest, measurements, windows: Sequence[Window],
                       cancel: CancelToken | None = None) -> list[WindowVerdict]:
        """Per-window verdicts from already-measured window loudness."""
        verdicts = []
        for window in windows:
            if cancel:
                cancel.raise_if_cancelled()
            levels = measurements.levels_for(window)
            lufs = {r: lv.lufs for r, lv in levels.roles.items()}
            verdicts.append(self.verdict_for_levels(window, lufs, request.anchor))
        return verdicts

    def verdict_for_levels(self, window: Window, role_lufs: Mapping[str, float], anchor: str) -> WindowVerdict:
        """One window's verdict from its role loudness (LUFS per role)."""
        devs = deviations(self.profile, role_lufs, anchor)
        measured = {r: role_lufs[r] - role_lufs[anchor] for r in devs}
        role = _primary_role(self.profile, devs)
        if role is None:
            return WindowVerdict(window, None, "none", "no_error", None, None,
                                 render_response("no_error"), measured)
        s = _suggestion(self.profile, role, devs[role], 1.0)
        assert s is not None
        return WindowVerdict(window, role, s.direction, s.category, s.min_db, s.max_db,
                             render_response(s.category, role), measured, True, s.delta_db)

    def song_verdict(self, request: AdviceRequest, measurements,
                     verdicts: Sequence[WindowVerdict]) -> SongVerdict:
        """Song-level advice from role loudness combined over the judged windows."""
        lufs = measurements.role_loudness([v.window for v in verdicts])
        devs = deviations(self.profile, lufs, request.anchor)
        role = _primary_role(self.profile, devs)
        total = len(verdicts) or 1
        if role is None:
            agree = sum(1 for v in verdicts if v.direction == "none")
            return SongVerdict(None, (), agree / total, False)
        direction = "decrease" if devs[role] > 0 else "increase"
        agree = sum(1 for v in verdicts if v.target == role and v.direction == direction)
        confidence = agree / total
        if any(not v.window.gated for v in verdicts):
            confidence = min(confidence, 0.5)
        primary = _suggestion(self.profile, role, devs[role], confidence)
        others = self._others(devs, role, request.anchor, verdicts)
        return SongVerdict(primary, (primary,) + others, confidence, False)  # type: ignore[operator]

    def _others(self, devs: Mapping[str, float], primary: str | None, anchor: str,
                verdicts: Sequence[WindowVerdict]) -> tuple[RoleGain, ...]:
        """Secondary suggestions (other roles outside their band), largest first.

        Each one's confidence is the share of windows whose own deviation points the same way.
        """
        out = []
        total = len(verdicts) or 1
        for role, d in sorted(devs.items(), key=lambda kv: -abs(kv[1])):
            stats = self.profile.typical(role, anchor)
            if role == primary or stats is None:
                continue
            agree = 0
            for v in verdicts:
                if v.measured_lu and role in v.measured_lu:
                    wd = v.measured_lu[role] - stats.median
                    agree += abs(wd) >= self.profile.ok_db and (wd > 0) == (d > 0)
            s = _suggestion(self.profile, role, d, agree / total)
            if s is not None:
                out.append(s)
        return tuple(out)
