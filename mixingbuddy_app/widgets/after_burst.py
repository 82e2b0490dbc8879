"""AfterBurst: a view's updates that wait for the end of the controller's burst of changes."""

from __future__ import annotations

from typing import Callable


class AfterBurst:
    """A view's updates, run at once, or once each when the controller's burst of changes has settled.

    A load's end emits tracks_changed, anchor_changed, gains_changed, loudness_changed... in a row; a view that
    refreshes on each of them would refresh a 96-row table four times on the GUI thread.
    """

    def __init__(self, controller) -> None:
        self._controller = controller
        self._pending: dict[Callable[[], None], Callable[[], None] | None] = {}   # update -> the one that covers it
        controller.settled.connect(self._flush)

    def slot(self, update: Callable[[], None], covered_by: Callable[[], None] | None = None) -> Callable[..., None]:
        """A slot (any signal arguments) that runs ``update``; inside a burst, once at its end and not at all
        when ``covered_by`` (e.g. a rebuild that refreshes too) runs then."""
        def run(*_args) -> None:
            if self._controller.in_burst:
                self._pending[update] = covered_by
            else:
                update()
        return run

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        for update, covered_by in pending.items():
            if covered_by is None or covered_by not in pending:
                update()
