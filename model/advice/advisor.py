"""The advisor contract: AdviceRequest in, window verdicts (and optionally a song verdict) out; cancel tokens."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, runtime_checkable

from model.errors import Cancelled

if TYPE_CHECKING:
    from model.audio.findings import Finding
    from model.advice.types import RoleGain, WindowVerdict
    from model.audio.measure import Measurements
    from model.audio.segments import Window
    from model.audio.tracks import Gains, TrackSet


@dataclass(frozen=True)
class AdvisorInfo:
    """Who is advising: id (shown in outputs), kind ("balance" | "llm"), a description, a window cap."""

    id: str
    kind: str
    description: str
    max_windows: int | None = None  # preferred cap on judged windows (None: all gated windows)


@dataclass(frozen=True)
class AdviceRequest:
    """An immutable snapshot of what to judge: tracks, anchor role (or track), gains and an optional span (s)."""

    tracks: "TrackSet"
    anchor: str | None  # None: the first of vocals, drums, bass that plays in the judged span
    gains: "Gains" = field(default_factory=lambda: _default_gains())
    window_s: float = 10.0
    max_windows: int | None = None
    span: tuple[float, float] | None = None
    min_agreement: float = 0.6
    true_peak: bool = False  # also measure true peak (4x oversampled; costs about 1.5 s per 4-min stereo signal)
    #: One track (its id) whose level is right, instead of the whole anchor role: the lead vocal, as producers
    #: mean "anchor on the Lead Vox". Judged against the profile's lead-vocal statistics.
    anchor_track: str | None = None


def _default_gains():
    from model.audio.tracks import Gains

    return Gains()


class CancelToken:
    """Set from any thread; advisors check it between windows and batches."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


Progress = Callable[[float, str], None]


@runtime_checkable
class Advisor(Protocol):
    """Judges windows of a request. May raise only MixingBuddyError subclasses."""

    info: AdvisorInfo

    def judge(self, request: AdviceRequest, windows: Sequence["Window"],
              cancel: CancelToken | None = None) -> list["WindowVerdict"]:
        ...


@dataclass(frozen=True)
class SongVerdict:
    """A song-level verdict: the headline suggestion (or None), every suggestion, confidence, abstention.

    A measuring advisor may add what each (role, anchor) pair was judged on (``pairs``, objects with
    ``to_json()``), notes for the user and the name of the profile it judged against.
    """

    primary: "RoleGain | None"
    suggestions: tuple["RoleGain", ...]
    confidence: float
    abstained: bool
    pairs: tuple = ()
    notes: tuple["Finding", ...] = ()
    profile: str | None = None
    text: str = ""  # the headline, when the advisor words it itself (e.g. why it abstained)


@runtime_checkable
class MeasuringAdvisor(Advisor, Protocol):
    """An advisor that judges from the pipeline's measurements and gives its own song verdict (no voting)."""

    def judge_measured(self, request: AdviceRequest, measurements: "Measurements", windows: Sequence["Window"],
                       cancel: CancelToken | None = None) -> list["WindowVerdict"]:
        ...

    def song_verdict(self, request: AdviceRequest, measurements: "Measurements",
                     verdicts: Sequence["WindowVerdict"]) -> SongVerdict:
        ...
