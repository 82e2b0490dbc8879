"""MixingBuddy core: audio, measurements, advice and advisors. Never imports torch or Qt at import time."""

from model.advice.types import Advice, ParsedAnswer, RoleGain, WindowVerdict, parse_response
from model.audio.findings import Finding
from model.audio.segments import Window
from model.advice.advisor import AdviceRequest, Advisor, AdvisorInfo, CancelToken
from model.advisors import load_advisor
from model.errors import (AdvisorUnavailable, AudioFormatError, Cancelled, CheckpointError, InputError,
                          MixingBuddyError, ModelRuntimeError, NoAnalysableAudio, RoleError)
from model.audio.roles import ROLES, TARGET_ROLES, RoleGuess, guess_role

__all__ = [
    "Advice", "AdviceRequest", "Advisor", "AdvisorInfo", "AdvisorUnavailable", "AudioFormatError", "Cancelled",
    "CancelToken", "CheckpointError", "Finding", "InputError", "MixingBuddyError", "ModelRuntimeError",
    "NoAnalysableAudio", "ParsedAnswer", "ROLES", "RoleError", "RoleGain", "RoleGuess", "TARGET_ROLES", "Window",
    "WindowVerdict", "guess_role", "load_advisor", "parse_response", "critique",
]


def critique(*args, **kwargs):
    """See model.advice.pipeline.critique (imported lazily)."""
    from model.advice.pipeline import critique as _critique

    return _critique(*args, **kwargs)
