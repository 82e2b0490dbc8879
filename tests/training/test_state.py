"""The resumable training state (training.state): safetensors + JSON only, exact round trip, refusals.

Issue 6 §3: nothing in a run folder is a pickle. The round trip (weights, AdamW, cosine
schedule, torch/numpy/python RNG) is checked bit for bit on a small module; the whole
loop's resume equality is in test_train.py and test_faults.py.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from training.state import (OPTIMIZER_JSON, OPTIMIZER_TENSORS, SCHEDULER_JSON, STATE, TRAINABLE, TRAINER_STATE,
                            StateError, load_state, save_state)

def test_a_run_folder_holds_no_pickle(tiny_run, pickle_problems):
    assert (tiny_run / STATE / TRAINER_STATE).is_file()
    files = sorted(p.name for p in (tiny_run / STATE).iterdir())
    assert files == sorted([TRAINABLE, OPTIMIZER_TENSORS, OPTIMIZER_JSON, SCHEDULER_JSON, "rng-0.json",
                            "rng-0.safetensors", TRAINER_STATE])
    assert pickle_problems(tiny_run) == []
    assert any(p.suffix == ".safetensors" for p in tiny_run.rglob("*")) and (tiny_run / "tiny_models").is_dir()


def test_the_scan_finds_pickles(tmp_path, pickle_problems):
    torch.save({"a": torch.zeros(2)}, tmp_path / "x.data")                                # zip + pickle
    torch.save({"a": 1}, tmp_path / "y.data", _use_new_zipfile_serialization=False)       # raw pickle
    import pickle  # noqa: S403 - the test writes one to prove the scan catches it

    (tmp_path / "z.json").write_bytes(pickle.dumps({"a": 1}, protocol=4))
    (tmp_path / "w.bin").write_bytes(b"")
    (tmp_path / "v.safetensors").write_bytes(b"\x80\x04junk")
    assert len(pickle_problems(tmp_path)) == 5


def test_trainable_weights_only(tiny_run):
    from safetensors.torch import load_file

    saved = load_file(str(tiny_run / STATE / TRAINABLE))
    assert saved and all(k.startswith(("projector.", "encoder.layer_weights", "llm.")) for k in saved)
    assert all("lora_" in k for k in saved if k.startswith("llm.") and "modules_to_save" not in k)
    meta = json.loads((tiny_run / STATE / OPTIMIZER_JSON).read_text())
    assert sorted(meta["param_names"]) == sorted(saved)


# --- round trip on a small module ------------------------------------------------

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(6, 8)
        self.b = torch.nn.Linear(8, 1)
        self.frozen = torch.nn.Linear(6, 6)
        self.frozen.requires_grad_(False)

    def forward(self, x):
        return self.b(torch.nn.functional.dropout(torch.tanh(self.a(x)), 0.3, training=True))


def _setup(seed):
    from transformers import get_cosine_schedule_with_warmup

    torch.manual_seed(seed)
    net = Net()
    decay = [net.a.weight, net.b.weight]
    other = [net.a.bias, net.b.bias]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-2, betas=(0.8, 0.99))
    sched = get_cosine_schedule_with_warmup(opt, 2, 10)
    return net, opt, sched


def _steps(net, opt, sched, n):
    for _ in range(n):
        x = torch.randn(4, 6) + float(np.random.rand()) + random.random()  # every RNG feeds the loss
        net(x).pow(2).mean().backward()
        opt.step()
        sched.step()
        opt.zero_grad()


@pytest.fixture(scope="module")
def accelerator():
    from accelerate import Accelerator

    return Accelerator(cpu=True)


def test_round_trip_is_exact(accelerator, tmp_path):
    net, opt, sched = _setup(0)
    random.seed(1)
    np.random.seed(2)
    _steps(net, opt, sched, 3)
    save_state(accelerator, tmp_path, {"step": 3, "epoch": 0, "batch_in_epoch": 3, "samples": 12}, net, opt, sched)
    _steps(net, opt, sched, 3)
    expected = {k: v.clone() for k, v in net.state_dict().items()}
    lr = sched.get_last_lr()

    net2, opt2, sched2 = _setup(99)  # other weights, other RNG position
    frozen = {k: v.clone() for k, v in net2.frozen.state_dict().items()}
    position = load_state(accelerator, tmp_path, net2, opt2, sched2)
    assert position == {"step": 3, "epoch": 0, "batch_in_epoch": 3, "samples": 12}
    assert opt2.param_groups[0]["betas"] == (0.8, 0.99)
    _steps(net2, opt2, sched2, 3)
    for k, v in net2.state_dict().items():
        if k.startswith("frozen."):
            assert torch.equal(v, frozen[k[len("frozen."):]]), "frozen weights are not part of the state"
        else:
            assert torch.equal(v, expected[k]), k
    assert sched2.get_last_lr() == lr


def test_refuses_a_changed_state(accelerator, tmp_path):
    net, opt, sched = _setup(0)
    _steps(net, opt, sched, 1)
    save_state(accelerator, tmp_path, {"step": 1, "epoch": 0, "batch_in_epoch": 1, "samples": 4}, net, opt, sched)
    folder = tmp_path / STATE

    info = json.loads((folder / TRAINER_STATE).read_text())
    (folder / TRAINER_STATE).write_text(json.dumps({**info, "processes": 2}))
    with pytest.raises(StateError, match="same process count"):
        load_state(accelerator, tmp_path, *_setup(0))
    (folder / TRAINER_STATE).write_text(json.dumps(info))

    data = bytearray((folder / OPTIMIZER_TENSORS).read_bytes())
    data[-1] ^= 0xFF
    (folder / OPTIMIZER_TENSORS).write_bytes(bytes(data))
    with pytest.raises(StateError, match="checksum mismatch in optimizer.safetensors"):
        load_state(accelerator, tmp_path, *_setup(0))

    save_state(accelerator, tmp_path, {"step": 1, "epoch": 0, "batch_in_epoch": 1, "samples": 4}, net, opt, sched)
    other, opt3, sched3 = _setup(0)
    other.b = torch.nn.Linear(8, 2)
    with pytest.raises(StateError, match="does not fit the model"):
        load_state(accelerator, tmp_path, other, opt3, sched3)
    assert sorted(p.name for p in tmp_path.iterdir()) == [STATE]  # no temp folders left behind
