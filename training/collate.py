"""Collator: dataset items -> model batch through the model's own prompt builder (train = inference prompts).

Labels are -100 except the answer and ``<|im_end|>`` (``PromptBuilder.example``);
clips in a batch have equal length, so audio stacks into (B, samples).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class Collator:
    """Callable for ``DataLoader(collate_fn=...)``; picklable for worker processes."""

    def __init__(self, prompts, audio_pool: int = 1) -> None:
        self.prompts = prompts
        self.audio_pool = int(audio_pool)

    def n_audio(self, num_samples: int) -> int:
        from model.llm.prompt import n_audio_tokens

        return n_audio_tokens(num_samples, self.audio_pool)

    def __call__(self, items: Sequence[dict]) -> dict:
        import torch

        lengths = {len(it["audio"]) for it in items}
        if len(lengths) != 1:
            raise ValueError(f"clips in a batch must have equal length (got {sorted(lengths)})")
        n = self.n_audio(lengths.pop())
        examples = [self.prompts.example(it["instruction"], it["response"], n) for it in items]
        batch = self.prompts.collate(examples)
        batch["audio"] = torch.from_numpy(np.stack([it["audio"] for it in items]).astype(np.float32))
        batch["index"] = torch.tensor([it["index"] for it in items], dtype=torch.long)
        return batch
