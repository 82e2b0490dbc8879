"""ChatML prompts, <|AUDIO|> expansion, label masks and padding."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from model.errors import CheckpointError, InputError  # noqa: E402
from model.llm.prompt import AUDIO_TOKEN, IGNORE_INDEX, PromptBuilder, ensure_audio_token  # noqa: E402
from model.advice.templates import SYSTEM_PROMPT, render_instruction, render_response  # noqa: E402

INSTRUCTION = render_instruction(0, ("vocals", "drums", "bass", "other"), "drums")
ANSWER = render_response("quiet", "vocals", 0)


def test_chatml_text_and_placeholders(tiny_tokenizer):
    b = PromptBuilder(tiny_tokenizer, "prefix")
    text = b.prompt_text(INSTRUCTION, 3)
    assert text == (AUDIO_TOKEN * 3 + f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n"
                    f"<|im_start|>user\n{INSTRUCTION}<|im_end|>\n<|im_start|>assistant\n")
    user = PromptBuilder(tiny_tokenizer, "user").prompt_text(INSTRUCTION, 2)
    assert f"<|im_start|>user\n{AUDIO_TOKEN * 2}{INSTRUCTION}" in user and user.startswith("<|im_start|>system")
    ids = b.prompt_ids(INSTRUCTION, 749)
    assert ids.count(b.audio_token_id) == 749 and ids[:749] == [b.audio_token_id] * 749
    assert ids[749] == tiny_tokenizer.convert_tokens_to_ids("<|im_start|>")
    with pytest.raises(InputError, match="must not contain"):
        b.prompt_ids("sneaky " + AUDIO_TOKEN, 2)


def test_labels_cover_exactly_the_answer_and_im_end(tiny_tokenizer):
    b = PromptBuilder(tiny_tokenizer)
    ex = b.example(INSTRUCTION, ANSWER, 5)
    prompt = b.prompt_ids(INSTRUCTION, 5)
    assert ex.input_ids[: len(prompt)] == prompt and len(ex.labels) == len(ex.input_ids)
    assert ex.labels[: len(prompt)] == [IGNORE_INDEX] * len(prompt)
    labelled = [t for t in ex.labels if t != IGNORE_INDEX]
    assert labelled == ex.input_ids[len(prompt):]
    assert labelled[-1] == b.im_end_id
    assert tiny_tokenizer.decode(labelled[:-1]) == ANSWER
    assert b.audio_token_id not in labelled


def test_padding_right_for_training_left_for_generation(tiny_tokenizer):
    b = PromptBuilder(tiny_tokenizer)
    short, long = b.example("Hi.", ANSWER, 2), b.example(INSTRUCTION, ANSWER, 2)
    batch = b.collate([short, long])
    n = len(short.input_ids)
    assert batch["input_ids"].shape == (2, len(long.input_ids))
    assert batch["attention_mask"][0, :n].all() and not batch["attention_mask"][0, n:].any()
    assert (batch["input_ids"][0, n:] == b.pad_id).all() and (batch["labels"][0, n:] == IGNORE_INDEX).all()
    assert batch["labels"][1].tolist() == long.labels
    gen = b.collate_prompts([b.prompt_ids("Hi.", 2), b.prompt_ids(INSTRUCTION, 2)])
    m = len(b.prompt_ids("Hi.", 2))
    assert not gen["attention_mask"][0, :-m].any() and gen["attention_mask"][0, -m:].all()
    assert (gen["input_ids"][0, :-m] == b.pad_id).all() and "labels" not in gen


def test_over_length_raises_never_truncates(tiny_tokenizer):
    b = PromptBuilder(tiny_tokenizer, max_length=100)
    with pytest.raises(InputError, match="limit of 100"):
        b.prompt_ids(INSTRUCTION, 749)


def test_audio_token_added_without_resizing(tmp_path):
    from training.tiny_models import build_tokenizer

    tok = build_tokenizer(audio_token=False)
    before = len(tok)
    assert ensure_audio_token(tok, embedding_rows=before + 64) == before  # like Qwen2: 151,646
    assert ensure_audio_token(tok) == before  # idempotent
    tok2 = build_tokenizer(audio_token=False)
    with pytest.raises(CheckpointError, match="outside the LLM's"):
        ensure_audio_token(tok2, embedding_rows=len(tok2))
