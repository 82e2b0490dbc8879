"""The resumable training state in ``RUN/state/``: safetensors + JSON, never pickle (issue 6 §3).

Files (``FORMAT_VERSION`` 1)::

    trainable.safetensors        trainable parameters only (projector, layer weights, LoRA, ...), by name
    optimizer.safetensors        per-parameter optimizer tensors, ``state.<index>.<key>`` (AdamW: exp_avg, exp_avg_sq, step)
    optimizer.json               param groups (hyper-parameters, ``params`` indices), parameter names and shapes
                                 per index, non-tensor per-parameter values
    scheduler.json               the LR scheduler's ``state_dict()``
    rng-<rank>.safetensors       that process's torch CPU (and CUDA device) generator states, uint8
    rng-<rank>.json              that process's numpy and python ``random`` states
    trainer_state.json           format, step, epoch, batch_in_epoch, samples, processes and the sha256 of every
                                 file above; written last, so its presence marks a complete state

Saving (:func:`save_state`): every process contributes its RNG state (gathered in memory); only the
main process writes, after ``wait_for_everyone()``, into ``RUN/.state.tmp``; every file and the folder
are flushed and fsync'ed, then ``state -> .state.old``, ``.state.tmp -> state``, the run folder is
fsync'ed and ``.state.old`` removed. A crash between the two renames leaves ``.state.old``, which
:func:`recover_state` puts back before a resume. Loading (:func:`load_state`) checks the format, every
file's hash, the parameter names and shapes and the process count, and each rank restores its own RNG.

Base weights are never stored (they are re-read from the base model folders). FSDP and DeepSpeed shard
parameters and optimizer state differently; this format covers single-process and DDP runs.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

from model.llm.checkpoint import fsync_dir, fsync_tree, sha256_file
from model.errors import InputError

FORMAT = "mixingbuddy.train_state"
FORMAT_VERSION = 1
STATE = "state"
TRAINER_STATE = "trainer_state.json"
STATE_TMP = f".{STATE}.tmp"
STATE_OLD = f".{STATE}.old"
TRAINABLE = "trainable.safetensors"
OPTIMIZER_TENSORS = "optimizer.safetensors"
OPTIMIZER_JSON = "optimizer.json"
SCHEDULER_JSON = "scheduler.json"
POSITION_KEYS = ("step", "epoch", "batch_in_epoch", "samples")


class StateError(InputError):
    """A training state that cannot be resumed (incomplete, corrupt, or from another setup)."""


# --- writing helpers ---------------------------------------------------------------

def write_json(path: Path, obj: Any) -> None:
    """JSON (objects that are not JSON types are refused); fsync'ed with the folder before the rename."""
    path.write_text(json.dumps(obj, indent=1, allow_nan=True) + "\n", encoding="utf-8")


def write_tensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    """safetensors (CPU, contiguous copies); fsync'ed with the folder before the rename."""
    import safetensors.torch  # looked up at call time (the fault tests replace save_file)

    cpu = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
    safetensors.torch.save_file(cpu, str(path), metadata={"format": "pt", FORMAT: str(FORMAT_VERSION),
                                                          **(metadata or {})})


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: unreadable training state ({exc}).") from None


def _read_tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise StateError(f"{path}: unreadable training state ({' '.join(str(exc).split())[:200]}).") from None


# --- what is saved -----------------------------------------------------------------

def trainable_parameters(model) -> dict:
    """name -> parameter for every parameter that trains (the unwrapped model's names)."""
    return {name: p for name, p in model.named_parameters() if p.requires_grad}


def _param_names(model, optimizer) -> list[str]:
    """The name of every optimizer parameter, in the optimizer's index order."""
    names = {id(p): name for name, p in model.named_parameters()}
    out = []
    for group in optimizer.param_groups:
        for p in group["params"]:
            if id(p) not in names:
                raise StateError("an optimizer parameter is not a parameter of the model")
            out.append(names[id(p)])
    return out


def optimizer_payload(model, optimizer) -> tuple[dict, dict]:
    """(tensors, json) for ``optimizer.state_dict()``: tensors by ``state.<i>.<key>``, the rest as JSON."""
    import torch

    sd = optimizer.state_dict()
    names = _param_names(model, optimizer)
    shapes = [list(p.shape) for g in optimizer.param_groups for p in g["params"]]
    tensors, scalars = {}, {}
    for index, entry in sd["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{key}"] = value
            elif isinstance(value, (bool, int, float)) or value is None:
                scalars.setdefault(str(index), {})[key] = value
            else:
                raise StateError(f"optimizer state {key!r} of type {type(value).__name__} cannot be stored")
    groups = []
    for group in sd["param_groups"]:
        g = {}
        for key, value in group.items():
            g[key] = list(value) if isinstance(value, tuple) else value
        groups.append(g)
    meta = {"class": type(getattr(optimizer, "optimizer", optimizer)).__name__, "param_groups": groups,
            "param_names": names, "param_shapes": shapes, "scalars": scalars}
    json.dumps(meta)  # non-JSON hyper-parameters fail here, before anything is written
    return tensors, meta


def rng_payload(device=None) -> tuple[dict, dict]:
    """This process's RNG states: (uint8 tensors, JSON) — torch CPU (+ CUDA device), numpy, python."""
    import numpy as np
    import torch

    tensors = {"torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        tensors["torch_cuda"] = torch.cuda.get_rng_state(_cuda_index(device))
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    meta = {"numpy": {"kind": kind, "keys": [int(k) for k in keys], "pos": int(pos), "has_gauss": int(has_gauss),
                      "cached_gaussian": float(cached)},
            "python": {"version": version, "state": list(internal), "gauss_next": gauss_next}}
    return tensors, meta


def _cuda_index(device) -> int:
    """The CUDA device whose RNG is saved: ``device``'s index, else the current one."""
    import torch

    if device is not None and getattr(device, "type", None) == "cuda" and device.index is not None:
        return device.index
    return torch.cuda.current_device()


def set_rng(tensors: dict, meta: dict, device=None) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(tensors["torch_cpu"].to(torch.uint8))
    if "torch_cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["torch_cuda"].to(torch.uint8), _cuda_index(device))
    n = meta["numpy"]
    np.random.set_state((n["kind"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    p = meta["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss_next"]))


# --- save ------------------------------------------------------------------------

def save_state(accelerator, run: Path, position: dict, model, optimizer, scheduler) -> None:
    """Write the state of ``model`` (unwrapped), ``optimizer``, ``scheduler`` and every rank's RNG atomically."""
    from accelerate.utils import gather_object

    run = Path(run)
    tmp, final, old = run / STATE_TMP, run / STATE, run / STATE_OLD
    rng = gather_object([(accelerator.process_index, *rng_payload(accelerator.device))])
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        unwrapped = accelerator.unwrap_model(model)
        write_tensors(tmp / TRAINABLE, trainable_parameters(unwrapped))
        tensors, meta = optimizer_payload(unwrapped, optimizer)
        write_tensors(tmp / OPTIMIZER_TENSORS, tensors)
        write_json(tmp / OPTIMIZER_JSON, meta)
        write_json(tmp / SCHEDULER_JSON, scheduler.state_dict())
        for rank, rng_tensors, rng_meta in sorted(rng, key=lambda x: x[0]):
            write_tensors(tmp / f"rng-{rank}.safetensors", rng_tensors)
            write_json(tmp / f"rng-{rank}.json", rng_meta)
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
        write_json(tmp / TRAINER_STATE, {"format": FORMAT, "format_version": FORMAT_VERSION,
                                         **{k: int(position[k]) for k in POSITION_KEYS},
                                         "processes": accelerator.num_processes, "files": files})
        fsync_tree(tmp)
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
        os.replace(tmp, final)
        fsync_dir(run)
        shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


# --- load ------------------------------------------------------------------------

def read_position(run: Path) -> dict:
    """The trainer_state.json of ``RUN/state`` (format checked)."""
    folder = Path(run) / STATE
    info = _read_json(folder / TRAINER_STATE)
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise StateError(f"{folder}: not a MixingBuddy training state (written by another version?).")
    if info.get("format_version") != FORMAT_VERSION:
        raise StateError(f"{folder}: training state format {info.get('format_version')!r}; this version reads "
                         f"{FORMAT_VERSION}.")
    return info


def load_state(accelerator, run: Path, model, optimizer, scheduler) -> dict:
    """Restore weights, optimizer, scheduler and this rank's RNG from ``RUN/state``; returns the data position."""
    import torch

    folder = Path(run) / STATE
    info = read_position(run)
    if info.get("processes") != accelerator.num_processes:
        raise StateError(f"{folder}: saved by {info.get('processes')} process(es), resumed with "
                         f"{accelerator.num_processes}; resume with the same process count (the data position "
                         "and the schedule count per process).")
    files = info.get("files") or {}
    rank_files = (f"rng-{accelerator.process_index}.safetensors", f"rng-{accelerator.process_index}.json")
    needed = {TRAINABLE, OPTIMIZER_TENSORS, OPTIMIZER_JSON, SCHEDULER_JSON, *rank_files}
    missing = sorted(n for n in needed if n not in files or not (folder / n).is_file())
    if missing:
        raise StateError(f"{folder}: incomplete training state, missing {', '.join(missing)}.")
    changed = [n for n in sorted(files) if (folder / n).is_file() and sha256_file(folder / n) != files[n]]
    if changed:
        raise StateError(f"{folder}: checksum mismatch in {', '.join(changed)} (file changed or corrupt).")

    unwrapped = accelerator.unwrap_model(model)
    params = trainable_parameters(unwrapped)
    saved = _read_tensors(folder / TRAINABLE)
    problems = [f"missing {k}" for k in sorted(set(params) - set(saved))]
    problems += [f"unexpected {k}" for k in sorted(set(saved) - set(params))]
    problems += [f"{k}: saved {list(saved[k].shape)} vs model {list(params[k].shape)}"
                 for k in sorted(set(params) & set(saved)) if saved[k].shape != params[k].shape]
    if problems:
        raise StateError(f"{folder / TRAINABLE}: does not fit the model ({'; '.join(problems[:5])}).")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(saved[name].to(device=p.device, dtype=p.dtype))

    meta = _read_json(folder / OPTIMIZER_JSON)
    names = _param_names(unwrapped, optimizer)
    shapes = [list(p.shape) for g in optimizer.param_groups for p in g["params"]]
    if meta.get("param_names") != names or meta.get("param_shapes") != shapes:
        raise StateError(f"{folder / OPTIMIZER_JSON}: the optimizer's parameters differ from this model's.")
    tensors = _read_tensors(folder / OPTIMIZER_TENSORS)
    state: dict = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    for index, values in (meta.get("scalars") or {}).items():
        state.setdefault(int(index), {}).update(values)
    current = optimizer.state_dict()["param_groups"]
    if len(current) != len(meta["param_groups"]):
        raise StateError(f"{folder / OPTIMIZER_JSON}: {len(meta['param_groups'])} parameter groups, the optimizer "
                         f"has {len(current)}.")
    groups = []
    for cur, group in zip(current, meta["param_groups"]):
        groups.append({k: tuple(v) if isinstance(cur.get(k), tuple) and isinstance(v, list) else v
                       for k, v in group.items()})
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    scheduler.load_state_dict(_read_json(folder / SCHEDULER_JSON))

    rng_tensors = _read_tensors(folder / rank_files[0])
    set_rng(rng_tensors, _read_json(folder / rank_files[1]), accelerator.device)
    return {k: int(info[k]) for k in POSITION_KEYS}


# --- recovery --------------------------------------------------------------------

def recover_state(run: Path) -> None:
    """Before a resume: put back a state swapped out by an interrupted save; drop unfinished temp folders."""
    run = Path(run)
    final, old = run / STATE, run / STATE_OLD
    if not (final / TRAINER_STATE).is_file() and (old / TRAINER_STATE).is_file():
        shutil.rmtree(final, ignore_errors=True)
        os.replace(old, final)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(run / STATE_TMP, ignore_errors=True)
    ckpts = run / "checkpoints"
    if ckpts.is_dir():
        for p in ckpts.iterdir():
            if p.name.startswith(".") and (".tmp-" in p.name or ".old-" in p.name):
                shutil.rmtree(p, ignore_errors=True)
    for p in run.glob(".*.publish"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
