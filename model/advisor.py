"""The Advisor protocol shared by the measured and the LLM advisors, cancel tokens, and load_advisor()."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, runtime_checkable

from model.errors import AdvisorUnavailable, Cancelled

if TYPE_CHECKING:
    from model.advice import Window, WindowVerdict
    from model.tracks import Gains, TrackSet


@dataclass(frozen=True)
class AdvisorInfo:
    """Who is advising: id (shown in outputs), kind ("balance" | "llm"), a description, a window cap."""

    id: str
    kind: str
    description: str
    max_windows: int | None = None  # preferred cap on judged windows (None: all gated windows)


@dataclass(frozen=True)
class AdviceRequest:
    """An immutable snapshot of what to judge: tracks, anchor role, gains and an optional span (s)."""

    tracks: "TrackSet"
    anchor: str
    gains: "Gains" = field(default_factory=lambda: _default_gains())
    window_s: float = 10.0
    max_windows: int | None = None
    span: tuple[float, float] | None = None
    min_agreement: float = 0.6
    true_peak: bool = False  # also measure true peak (4x oversampled; costs about 1.5 s per 4-min stereo signal)


def _default_gains():
    from model.tracks import Gains

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


def load_advisor(kind: str = "balance", checkpoint: str | Path | None = None, device: str | None = None,
                 **options) -> Advisor:
    """Build an advisor. ``balance`` needs nothing; ``llm`` needs a checkpoint and imports torch lazily."""
    if kind == "balance":
        from model.balance import BalanceAdvisor

        return BalanceAdvisor.from_resources(**options)
    if kind == "llm":
        if checkpoint is None:
            raise AdvisorUnavailable("The LLM advisor needs a checkpoint folder (--checkpoint or MIXINGBUDDY_CHECKPOINT).")
        try:
            from model.llm_advisor import LlmAdvisor
        except ImportError as exc:
            raise AdvisorUnavailable(f"The LLM advisor is not available in this build ({exc}).") from None
        return LlmAdvisor.from_checkpoint(Path(checkpoint), device=device, **options)
    raise AdvisorUnavailable(f"Unknown advisor '{kind}': choose balance or llm.")
