"""Building an advisor by name. It sits above both advisors (advice/ and llm/), so neither imports the other."""

from __future__ import annotations

from pathlib import Path

from model.advice.advisor import Advisor
from model.errors import AdvisorUnavailable
from model.extras import install_hint, require_extra


def load_advisor(kind: str = "balance", checkpoint: str | Path | None = None, device: str | None = None,
                 **options) -> Advisor:
    """Build an advisor. ``balance`` needs nothing (``profile=`` a profile name or file, default pop-rock);
    ``llm`` needs a checkpoint and imports torch lazily."""
    if kind == "balance":
        from model.advice.balance import BalanceAdvisor

        return BalanceAdvisor.from_resources(options.get("profile"))
    if kind == "llm":
        require_extra("llm", "The LLM advisor")
        if checkpoint is None:
            raise AdvisorUnavailable("The LLM advisor needs a checkpoint folder (--checkpoint or MIXINGBUDDY_CHECKPOINT).")
        try:
            from model.llm.advisor import LlmAdvisor
        except ImportError as exc:
            raise AdvisorUnavailable(f"The LLM advisor's model stack does not load ({exc}); reinstall it: "
                                     f"{install_hint('llm')}") from None
        return LlmAdvisor.from_checkpoint(Path(checkpoint), device=device, **options)
    raise AdvisorUnavailable(f"Unknown advisor '{kind}': choose balance or llm.")
