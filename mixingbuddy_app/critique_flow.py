"""The critique flow for the controller: snapshot -> AdvisorWorker -> advice, re-check, Apply, the advisor in use.

CritiqueMixin is mixed into ProjectController and uses its project, worker and signals. A result is kept only
when it answers the newest request and the mix has not changed since (``revision``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from model.advice.balance import BalanceAdvisor
from model.advice.profiles import load_profile
from model.advice.report import anchor_name, recheck_verdict, span_text
from model.advice.types import Advice
from model.audio.roles import TRACK_ANCHOR
from model.audio.segments import Window
from model.errors import InputError, MixingBuddyError

from mixingbuddy_app.errors import ErrorKind, ErrorReport
from mixingbuddy_app.project import GAIN_MAX_DB, GAIN_MIN_DB, ApplyResult
from mixingbuddy_app.workers import balance_factory


BALANCE_ID = "balance"    # the measured advisor's id (model.advice.balance.BalanceAdvisor)
WAITING = 0               # critique()'s answer while the critique waits for the meters (request ids start at 1)


class CritiqueMixin:
    def _init_critique(self) -> None:
        self._pending: tuple[int, int, str] | None = None   # (request id, revision, kind) of the running critique
        self._waiting: str | None = None                    # the kind of a critique waiting for the meters
        self.dropped_results = 0
        self.advisor_label = ""
        self._profile = None                                 # the balance profile (typical bands), once read
        self.advisor_kind = ""                               # the kind of the advisor in use ("" before the first)

    @property
    def busy(self) -> bool:
        return self._pending is not None or self._waiting is not None

    @property
    def waits_for_meters(self) -> bool:
        """A critique was asked for and starts once the meters have read the mix (see ``critique``)."""
        return self._waiting is not None

    def critique(self, kind: str = "critique") -> int | None:
        """Send an immutable snapshot to the worker; returns the request id, WAITING, or None if refused.

        While the meters are reading a mix they have no reading of yet (right after a load or an edit), the
        critique waits for them (WAITING): it takes the same reading, and a full mix or a bus found among the
        files on a fresh load is muted first, so the advice never counts it (model.audio.copies).
        """
        if self.busy:
            self.status.emit("A critique is already running (Esc cancels it).")
            return None
        try:
            request = self.project.snapshot()
        except MixingBuddyError as exc:
            self.error.emit(ErrorReport("Critique", exc.message, exc.detail))
            return None
        if self.meters_pending():
            self._waiting, rid = kind, WAITING
        else:
            rid = self._submit(request, kind)
        what = "Re-checking the corrected mix…" if kind == "recheck" else "Critiquing…"
        self.busy_changed.emit(True, what)
        self.status.emit(what)
        return rid

    def _submit(self, request, kind: str) -> int:
        rid = self.worker.submit(request, self.analysis_cache, self.meter_process.measure_session)
        self._pending = (rid, self.project.revision, kind)
        return rid

    def _meters_settled(self) -> None:
        """The meters have read the current mix, or failed to: a critique waiting for them starts now."""
        if self._waiting is None:
            return
        kind, self._waiting = self._waiting, None
        try:
            request = self.project.snapshot()   # the mix as it is now (a copy found among the files muted)
        except MixingBuddyError as exc:
            self.busy_changed.emit(False, "")
            self.error.emit(ErrorReport("Critique", exc.message, exc.detail))
            return
        self._submit(request, kind)

    def recheck(self) -> int | None:
        if self.project.applied_advice is None:
            self.status.emit("Apply a suggestion first; Re-check then verifies it.")
            return self.critique()
        return self.critique("recheck")

    def _on_progress(self, rid: int, frac: float, msg: str) -> None:
        if self._pending and rid == self._pending[0]:
            self.progress.emit(frac, msg)

    def _on_advisor_changed(self, info, note: str, fell_back: bool) -> None:
        self.advisor_kind = info.kind
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
        if self.project.set_advice(advice):  # no anchor chosen: the critique's own rule picked this one
            self.anchor_changed.emit(advice.anchor)
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
        self.worker.set_factory(partial(balance_factory, self.profile_name))
        self.status.emit("The next critique uses the measured advisor (balance).")

    def balance_profile(self):
        """The chosen balance profile (typical bands), read once; None when it cannot be read."""
        if self._profile is None:
            try:
                self._profile = load_profile(self.profile_name)
            except Exception:
                self._profile = False
        return self._profile or None

    def typical_band(self, role: str):
        """The balance profile's typical (median, q25, q75) of ``role`` vs the anchor (role or track), or None."""
        anchor = TRACK_ANCHOR if self.project.anchor_track else self.project.anchor
        profile = self.balance_profile()
        if anchor is None or role == anchor or profile is None:
            return None
        return profile.typical(role, anchor)

    def measured_opinion(self, advice: Advice | None) -> str | None:
        """The measured advisor's verdict on the same measurements, when it disagrees with another advisor's.

        The BalanceAdvisor judges the role loudness the critique measured over its span; None when the advice
        is the measured advisor's own, when they agree, or when there is nothing to judge.
        """
        profile = self.balance_profile()
        if advice is None or advice.advisor_id == BALANCE_ID or profile is None:
            return None
        roles = (advice.measurements or {}).get("roles") or {}
        lufs = {r: float(v["lufs"]) for r, v in roles.items() if isinstance(v, dict) and v.get("lufs") is not None}
        if advice.anchor not in lufs:
            return None
        span = Window(0.0, float((advice.measurements or {}).get("duration_s") or 0.0))
        measured = BalanceAdvisor(profile).verdict_for_levels(span, lufs, advice.anchor)
        said = None if advice.abstained or advice.primary is None else (advice.primary.role,
                                                                         advice.primary.direction)
        found = None if measured.direction == "none" else (measured.target, measured.direction)
        if said == found:
            return None
        if found is None:
            return "the roles sit within their typical bands (no change needed)."
        lu = (measured.measured_lu or {}).get(measured.target)
        return (f"{measured.text}" + (f" (measured {lu:+.1f} LU vs the {advice.anchor})" if lu is not None else ""))

    def advice_is_current(self) -> bool:
        p = self.project
        return p.advice is not None and p.advice_revision == p.revision

    def advice_out_of_date(self) -> str:
        """Why the critique shown no longer describes the mix as it is judged now, in words ("the mix changed
        since"); "" while it does, or while the mix is what Apply made of it (Re-check judges that)."""
        p, adv = self.project, self.project.advice
        if adv is None:
            return ""
        if adv.span != p.region:
            return f"this critique judged {span_text(adv.span) or 'the whole song'}; the span changed since"
        if (p.anchor, p.anchor_track) != (adv.anchor, adv.anchor_track):
            return f"this critique used {anchor_name(adv)} as the anchor; the anchor changed since"
        if adv.profile and adv.profile != self.profile_name:   # the table and the chart's bands follow the new one
            return f"this critique used the {adv.profile} profile; the next one uses {self.profile_name}"
        if not self.advice_is_current() and not p.applied_roles():
            return "the mix changed since (a gain, a mute or a solo)"
        return ""

    def applicable_roles(self) -> tuple[str, ...]:
        """The roles whose suggestion Apply can act on now (none once the critique is out of date)."""
        return () if self.advice_out_of_date() else self.project.applicable_roles()

    # --- apply, A/B -------------------------------------------------------------------------
    def can_apply(self, role: str | None = None) -> bool:
        """Whether Apply can act now: on the headline suggestion (or on ``role``'s) of the current advice."""
        a = self.project.advice
        if a is None or not a.suggestions or a.abstained or self.busy:
            return False
        return (role or a.suggestions[0].role) in self.applicable_roles()

    def apply(self, role: str | None = None) -> ApplyResult | None:
        """Apply one suggestion (the headline one when ``role`` is None)."""
        results = self._apply(None if role is None else [role])
        return results[0] if results else None

    def apply_all(self) -> list[ApplyResult]:
        """Apply every suggestion of the advice that is not applied yet, as one undo step."""
        return self._apply(list(self.applicable_roles()))

    def _apply(self, roles: list[str] | None) -> list[ApplyResult]:
        if self.busy:
            return []
        why = self.advice_out_of_date()
        if why:
            self.status.emit(f"Nothing applied: {why}. Critique again.")
            return []
        try:
            results = self.project.apply_advice(roles)
        except InputError as exc:
            self.status.emit(exc.message)
            return []
        self.ab_state = "after"
        self._gains_edited()
        self.ab_changed.emit("after")
        for result in results:
            self.apply_done.emit(result)
        self.status.emit("Applied: " + "; ".join(r.describe() for r in results)
                         + ". A/B compares before and after; Re-check verifies it.")
        for result in (r for r in results if r.clamped):
            self.error.emit(ErrorReport("Apply", f"The suggested {result.requested_db:+.1f} dB on {result.role} was "
                                        f"clamped to {result.applied_db:+.1f} dB (fader range "
                                        f"{GAIN_MIN_DB:+.0f}..{GAIN_MAX_DB:+.0f} dB).", "", "warning"))
        return results
