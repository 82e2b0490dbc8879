"""ChatML prompts with audio placeholders, shared by training and inference.

One ``<|AUDIO|>`` placeholder is expanded into exactly ``n_audio_tokens()``
positions *before* tokenising; the model later scatters the projected audio
into those positions after a count check. Labels are -100 everywhere except
the assistant answer and its ``<|im_end|>``. Training pads right, generation
pads left; padding is masked and never labelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from model.errors import CheckpointError, InputError
from model.advice.templates import SYSTEM_PROMPT

AUDIO_TOKEN = "<|AUDIO|>"
IM_END, ENDOFTEXT = "<|im_end|>", "<|endoftext|>"
IGNORE_INDEX = -100

#: MERT-v1 feature-extractor convolutions (kernel, stride): 320x downsampling, 75 Hz at 24 kHz.
MERT_CONV = ((10, 5), (3, 2), (3, 2), (3, 2), (3, 2), (2, 2), (2, 2))

#: ChatML as Qwen2-Instruct writes it (default system prompt when none is given).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}"
    "{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def encoder_frames(num_samples: int, conv: Sequence[tuple[int, int]] = MERT_CONV) -> int:
    """Frames out of the conv feature extractor (no padding): 240,000 samples -> 749."""
    length = int(num_samples)
    for kernel, stride in conv:
        length = (length - kernel) // stride + 1
        if length < 1:
            return 0
    return length


def n_audio_tokens(num_samples: int, pool: int = 1, conv: Sequence[tuple[int, int]] = MERT_CONV) -> int:
    """Audio positions in the prompt: conv length, then floor(T / pool)."""
    return encoder_frames(num_samples, conv) // max(1, int(pool))


def ensure_audio_token(tokenizer, embedding_rows: int | None = None) -> int:
    """The id of ``<|AUDIO|>``, added as a special token if missing; it must fit the embedding (no resize)."""
    token_id = tokenizer.convert_tokens_to_ids(AUDIO_TOKEN)
    unk = getattr(tokenizer, "unk_token_id", None)
    if token_id is None or (unk is not None and token_id == unk):
        from tokenizers import AddedToken

        tokenizer.add_tokens([AddedToken(AUDIO_TOKEN, special=True, normalized=False)], special_tokens=True)
        token_id = tokenizer.convert_tokens_to_ids(AUDIO_TOKEN)
    if embedding_rows is not None and token_id >= embedding_rows:
        raise CheckpointError(
            f"The audio token id {token_id} lies outside the LLM's {embedding_rows} embedding rows; "
            "this tokenizer does not match the model (embeddings are never resized)."
        )
    return int(token_id)


@dataclass(frozen=True)
class Example:
    """One tokenised sample: ids and labels of equal length (labels -100 outside the answer)."""

    input_ids: list[int]
    labels: list[int]


class PromptBuilder:
    """Builds token ids for training examples and generation prompts from one tokenizer."""

    def __init__(self, tokenizer, audio_position: str = "prefix", system_prompt: str = SYSTEM_PROMPT,
                 max_length: int | None = None, embedding_rows: int | None = None) -> None:
        if audio_position not in ("prefix", "user"):
            raise ValueError(f"audio_position must be prefix or user, not {audio_position!r}")
        self.tokenizer = tokenizer
        self.audio_position = audio_position
        self.system_prompt = system_prompt
        self.max_length = max_length
        self.audio_token_id = ensure_audio_token(tokenizer, embedding_rows)
        self.im_end_id = self._special_id(IM_END)
        self.pad_id = self._special_id(ENDOFTEXT)
        if not getattr(tokenizer, "chat_template", None):
            tokenizer.chat_template = CHATML_TEMPLATE

    def _special_id(self, token: str) -> int:
        token_id = self.tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == getattr(self.tokenizer, "unk_token_id", None):
            raise CheckpointError(f"The tokenizer has no {token} token: it is not a ChatML (Qwen2) tokenizer.")
        return int(token_id)

    @property
    def stop_ids(self) -> list[int]:
        """Generation stops at <|im_end|> (and <|endoftext|>)."""
        return [self.im_end_id, self.pad_id]

    # --- text ------------------------------------------------------------------

    def prompt_text(self, instruction: str, n_audio: int) -> str:
        """ChatML up to the assistant header, with ``n_audio`` placeholders at the configured position."""
        if AUDIO_TOKEN in instruction or AUDIO_TOKEN in self.system_prompt:
            raise InputError(f"The instruction must not contain {AUDIO_TOKEN} itself.")
        audio = AUDIO_TOKEN * int(n_audio)
        user = (audio + instruction) if self.audio_position == "user" else instruction
        messages = [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": user}]
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return (audio + text) if self.audio_position == "prefix" else text

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # --- ids ---------------------------------------------------------------------

    def prompt_ids(self, instruction: str, n_audio: int) -> list[int]:
        """Token ids of the generation prompt; the placeholder count is checked."""
        ids = self._encode(self.prompt_text(instruction, n_audio))
        found = sum(1 for i in ids if i == self.audio_token_id)
        if found != n_audio:
            raise InputError(f"The prompt holds {found} audio placeholders, expected {n_audio}.")
        self._check_length(len(ids))
        return ids

    def example(self, instruction: str, answer: str, n_audio: int) -> Example:
        """A training example: prompt (labels -100) + answer + <|im_end|> (labelled)."""
        prompt = self.prompt_ids(instruction, n_audio)
        answer_ids = self._encode(answer.strip()) + [self.im_end_id]
        ids = prompt + answer_ids
        self._check_length(len(ids))
        return Example(ids, [IGNORE_INDEX] * len(prompt) + answer_ids)

    def _check_length(self, n: int) -> None:
        if self.max_length is not None and n > self.max_length:
            raise InputError(f"The prompt is {n} tokens long, more than the limit of {self.max_length} (never truncated).")

    # --- batches -----------------------------------------------------------------

    def collate(self, examples: Sequence[Example]) -> dict:
        """Right-padded training batch: input_ids, attention_mask, labels (torch.long)."""
        return pad_batch([e.input_ids for e in examples], self.pad_id, "right",
                         labels=[e.labels for e in examples])

    def collate_prompts(self, prompts: Sequence[Sequence[int]]) -> dict:
        """Left-padded generation batch: input_ids, attention_mask."""
        return pad_batch(prompts, self.pad_id, "left")


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int, side: str = "right",
              labels: Sequence[Sequence[int]] | None = None) -> dict:
    """Pad id lists into tensors; padding has attention 0 and label -100."""
    import torch

    if not sequences:
        raise ValueError("empty batch")
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    lab = torch.full((len(sequences), width), IGNORE_INDEX, dtype=torch.long) if labels is not None else None
    for row, seq in enumerate(sequences):
        n = len(seq)
        cols = slice(0, n) if side == "right" else slice(width - n, width)
        ids[row, cols] = torch.as_tensor(list(seq), dtype=torch.long)
        mask[row, cols] = 1
        if lab is not None:
            lab[row, cols] = torch.as_tensor(list(labels[row]), dtype=torch.long)
    out = {"input_ids": ids, "attention_mask": mask}
    if lab is not None:
        out["labels"] = lab
    return out
