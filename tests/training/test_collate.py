"""Collator: the model's prompt builder, labels only on the answer and <|im_end|>, stacked audio."""

from __future__ import annotations

import pytest

from model.llm.prompt import IGNORE_INDEX
from training.dataset import MixDataset


def test_labels_mask_everything_but_the_answer(tiny_run, synth_data):
    from model.llm.checkpoint import load_checkpoint
    from training.collate import Collator

    model = load_checkpoint(tiny_run, "cpu")
    ds = MixDataset(synth_data, "test")
    col = Collator(model.prompts, model.config.audio_pool)
    batch = col([ds[0], ds[1]])
    assert batch["audio"].shape == (2, 240000) and batch["index"].tolist() == [0, 1]
    for row in range(2):
        labels = batch["labels"][row]
        ids = batch["input_ids"][row]
        kept = labels != IGNORE_INDEX
        answer = model.tokenizer.decode(ids[kept][:-1].tolist())
        assert answer == ds.rows[row]["response"]
        assert int(ids[kept][-1]) == model.prompts.im_end_id
        n_audio = int((ids == model.audio_token_id).sum())
        assert n_audio == model.n_audio_tokens(240000) and not bool(kept[ids == model.audio_token_id].any())
    with pytest.raises(ValueError, match="equal length"):
        col([ds[0], {**ds[1], "audio": ds[1]["audio"][:1000]}])
