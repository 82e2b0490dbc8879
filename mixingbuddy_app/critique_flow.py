"""The critique flow for the controller: snapshot -> AdvisorWorker -> advice, re-check, Apply, the advisor in use.

CritiqueMixin is mixed into ProjectController and uses its project, worker and signals. A result is kept only
when it answers the newest request and the mix has not changed since (``revision``).
"""

from __future__ import annotations

from dataclasses import replace

from model.advice.report import recheck_verdict
from model.advice.types import Advice
from model.errors import InputError, MixingBuddyError

from mixingbuddy_app.errors import ErrorKind, ErrorReport
from mixingbuddy_app.project import GAIN_MAX_DB, GAIN_MIN_DB, ApplyResult
from mixingbuddy_app.workers import balance_factory


class CritiqueMixin:
    def _init_critique(self) -> None:
        self._pending: tuple[int, int, str] | None = None   # (request id, revision, kind) of the running critique
        self.dropped_results = 0
        self.advisor_label = ""
        self._profile = None                                 # the balance profile (typical bands), once read

    @property
    def busy(self) -> bool:
        return self._pending is not None

    def critique(self, kind: str = "critique") -> int | None:
        """Send an immutable snapshot to the worker; returns the request id (None if refused)."""
        if self._pending is not None:
            self.status.emit("A critique is already running (Esc cancels it).")
            return None
        try:
            request = self.project.snapshot()
        except MixingBuddyError as exc:
            self.error.emit(ErrorReport("Critique", exc.message, exc.detail))
            return None
        rid = self.worker.submit(request)
        self._pending = (rid, self.project.revision, kind)
        what = "Re-checking the corrected mix…" if kind == "recheck" else "Critiquing…"
        self.busy_changed.emit(True, what)
        self.status.emit(what)
        return rid

    def recheck(self) -> int | None:
        if self.project.applied_advice is None:
            self.status.emit("Apply a suggestion first; Re-check then verifies it.")
            return self.critique()
        return self.critique("recheck")

    def cancel(self) -> None:
        if self._pending is not None:
            self.worker.cancel(self._pending[0])   # sets the token directly from the GUI thread
            self.status.emit("Cancelling…")

    def _on_progress(self, rid: int, frac: float, msg: str) -> None:
        if self._pending and rid == self._pending[0]:
            self.progress.emit(frac, msg)

    def _on_advisor_changed(self, info, note: str, fell_back: bool) -> None:
        label = f"Advisor: {info.id}" + (f" ({note})" if note else "")
        self.advisor_label = label
        self.advisor_changed.emit(label)
        if fell_back:
            self.error.emit(ErrorReport("Advisor", note, "", "warning"))

    def _on_advice_ready(self, rid: int, advice: Advice) -> None:
        self.worker.forget(rid)
        if self._pending is None or rid != self._pending[0]:
            self.dropped_results += 1
            return
        _, revision, kind = self._pending
        self._pending = None
        self.busy_changed.emit(False, "")
        if revision != self.project.revision:
            self.dropped_results += 1
            self.status.emit("The mix changed during the critique, so the result was discarded. Critique again.")
            return
        self.project.set_advice(advice)
        self.advice_changed.emit(advice)
        self.status.emit(f"{advice.text} ({advice.agreement or f'confidence {advice.confidence:.0%}'})")
        if kind == "recheck" and self.project.applied_advice is not None:
            label, sentence = recheck_verdict(self.project.applied_advice, advice)
            self.recheck_done.emit(label, sentence)
            self.status.emit(sentence)

    def _on_advice_failed(self, rid: int, report: ErrorReport) -> None:
        self.worker.forget(rid)
        if self._pending is None or rid != self._pending[0]:
            self.dropped_results += 1
            return
        self._pending = None
        self.busy_changed.emit(False, "")
        if report.kind is ErrorKind.CANCELLED:
            self.status.emit("Critique cancelled.")
            return
        if report.kind is ErrorKind.ADVISOR_FAILED:
            report = replace(report, message=report.message + " The app still works: critique again, or use "
                             "Mix → Use the measured advisor.")
        self.error.emit(report)
        self.status.emit(report.message)

    def use_balance_advisor(self) -> None:
        """Switch the worker to the measured BalanceAdvisor (always available; no model, no GPU)."""
        self.worker.set_factory(balance_factory)
        self.status.emit("The next critique uses the measured advisor (balance).")

    def typical_band(self, role: str):
        """The balance profile's typical (median, q25, q75) of ``role`` vs the anchor, or None."""
        anchor = self.project.anchor
        if anchor is None or role == anchor:
            return None
        if self._profile is None:
            try:
                from model.advice.profiles import BalanceProfile
                from resources import BALANCE_PROFILE

                self._profile = BalanceProfile.load(BALANCE_PROFILE)
            except Exception:
                self._profile = False
        return self._profile.typical(role, anchor) if self._profile else None

    def advice_is_current(self) -> bool:
        p = self.project
        return p.advice is not None and p.advice_revision == p.revision

    # --- apply, A/B -------------------------------------------------------------------------
    def can_apply(self) -> bool:
        a = self.project.advice
        return a is not None and a.primary is not None and not a.abstained and not self.busy

    def apply(self) -> ApplyResult | None:
        if self.busy:
            return None
        try:
            result = self.project.apply_advice()
        except InputError as exc:
            self.status.emit(exc.message)
            return None
        self.ab_state = "after"
        self._gains_edited()
        self.ab_changed.emit("after")
        self.apply_done.emit(result)
        self.status.emit(f"Applied: {result.describe()}. A/B compares before and after; Re-check verifies it.")
        if result.clamped:
            self.error.emit(ErrorReport("Apply", f"The suggested {result.requested_db:+.1f} dB on {result.role} was "
                                        f"clamped to {result.applied_db:+.1f} dB (fader range "
                                        f"{GAIN_MIN_DB:+.0f}..{GAIN_MAX_DB:+.0f} dB).", "", "warning"))
        return result

