"""LlmAdvisor: the trained MixingBuddy model behind the Advisor protocol.

Each window's mix (current gains, mono by channel mean, 24 kHz) goes into
batched greedy generation; each answer is read by the shared parser and
becomes a WindowVerdict (unreadable answers stay "unparsed").
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from model.audio.segments import Window
from model.advice.types import WindowVerdict, verdict_from_text
from model.advice.advisor import AdviceRequest, AdvisorInfo, CancelToken
from model.audio.decode import to_mono
from model.errors import AdvisorUnavailable, CheckpointError, MixingBuddyError, ModelRuntimeError
from model.advice.templates import render_instruction

SAMPLE_RATE = 24000
MIN_SAMPLES = 400  # MERT's conv stack needs at least this many samples


class LlmAdvisor:
    """Judges windows with a MixingBuddyModel; build it with :meth:`from_checkpoint`."""

    def __init__(self, model, checkpoint: str | Path | None = None, batch_size: int = 4,
                 max_new_tokens: int | None = None, instruction_variant: int = 0) -> None:
        self.model = model
        self.batch_size = max(1, int(batch_size))
        self.max_new_tokens = max_new_tokens
        self.instruction_variant = int(instruction_variant)
        name = Path(checkpoint).name if checkpoint else "model"
        device = model.device
        slow = "; running on CPU, expect minutes per song" if device.type == "cpu" else ""
        notes = "".join(f"; {note}" for note in getattr(model, "load_notes", ()))  # e.g. a changed base config
        self.info = AdvisorInfo(id=f"llm:{name}", kind="llm",
                                description=f"MixingBuddy LLM ({name}, {model.config.precision}) on {device}{slow}{notes}",
                                max_windows=8)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | None = None, mert: str | Path | None = None,
                        llm: str | Path | None = None, **options) -> "LlmAdvisor":
        """Load a run folder; ``mert``/``llm`` override the base models the manifest records."""
        from model.llm.checkpoint import load_checkpoint
        from model.llm.multimodal import out_of_memory

        known = {"batch_size", "max_new_tokens", "instruction_variant", "precision"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise AdvisorUnavailable(f"Unknown LLM advisor option(s): {', '.join(unknown)}.")
        precision = options.pop("precision", None)
        try:
            model = load_checkpoint(path, device, encoder=mert, llm=llm, precision=precision)
        except MixingBuddyError:
            raise
        except torch.cuda.OutOfMemoryError:
            raise out_of_memory() from None
        except Exception as exc:  # noqa: BLE001 - one clear line for the user
            raise CheckpointError(f"{path}: the model cannot be loaded ({type(exc).__name__}: {exc}).") from None
        return cls(model, checkpoint=path, **options)

    # --- inputs --------------------------------------------------------------------

    def window_audio(self, request: AdviceRequest, window: Window) -> np.ndarray:
        """The window's mix with the request's gains: mono float32 at 24 kHz (>= 400 samples)."""
        from model.audio.dsp import resample
        from model.audio.tracks import mix

        rate = request.tracks.sample_rate
        start, end = int(round(window.start_s * rate)), int(round(window.end_s * rate))
        mono = to_mono(mix(request.tracks, request.gains, start, end))
        audio = resample(mono, rate, SAMPLE_RATE).astype(np.float32, copy=False)
        if len(audio) < MIN_SAMPLES:
            audio = np.pad(audio, (0, MIN_SAMPLES - len(audio)))
        return audio

    def instruction(self, request: AdviceRequest, window: Window) -> str:
        """The user instruction: audible roles, the anchor and the window length."""
        return render_instruction(self.instruction_variant, request.tracks.roles_present(request.gains), request.anchor,
                                  duration_sec=round(window.duration_s, 1))

    # --- judging -------------------------------------------------------------------

    def judge(self, request: AdviceRequest, windows: Sequence[Window],
              cancel: CancelToken | None = None) -> list[WindowVerdict]:
        """Batched greedy answers for all windows (equal-length clips batched together)."""
        items = []
        for i, w in enumerate(windows):
            if cancel is not None:
                cancel.raise_if_cancelled()
            items.append((i, self.window_audio(request, w), self.instruction(request, w)))
        by_length: dict[int, list] = {}
        for item in items:
            by_length.setdefault(len(item[1]), []).append(item)
        texts: dict[int, str] = {}
        for group in by_length.values():
            for k in range(0, len(group), self.batch_size):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                batch = group[k:k + self.batch_size]
                answers = self._generate(np.stack([b[1] for b in batch]), [b[2] for b in batch], cancel)
                texts.update({b[0]: text for b, text in zip(batch, answers)})
        return [verdict_from_text(w, texts[i]) for i, w in enumerate(windows)]

    def _generate(self, audio: np.ndarray, instructions: list[str], cancel: CancelToken | None) -> list[str]:
        from model.llm.multimodal import out_of_memory

        try:
            return self.model.generate(torch.from_numpy(audio), instructions, self.max_new_tokens, cancel=cancel)
        except MixingBuddyError:
            raise
        except torch.cuda.OutOfMemoryError:
            raise out_of_memory() from None
        except RuntimeError as exc:
            raise ModelRuntimeError(f"The language model failed while generating ({type(exc).__name__}).",
                                    detail=str(exc)) from None
