"""`mixingbuddy-train train`: the training loop on HF Accelerate (the paper's optimiser and schedule).

``Accelerator(cpu=True)`` when CUDA is absent (so ``accelerate launch`` / ``torchrun``
give gloo ranks on CPU), accumulation derived from the effective batch, AdamW (no
decay on biases and norms), cosine with warmup ratio, clipping, CLM + aux loss,
an optional projector-only stage, periodic validation (loss, and strict-scored
generations on a fixed subset), JSONL metrics, checkpoints through
``model.llm.checkpoint`` plus our own resumable state (``training.state``: safetensors + JSON,
no pickle); SIGINT/SIGTERM save and exit; ``--resume`` continues the same run exactly
(seeded sampler, per-index augmentation seeds, per-rank RNG states).

Run layout: ``RUN/manifest.json + projector.safetensors + adapter/`` (the latest
checkpoint, loadable by ``mixingbuddy critique --checkpoint RUN``),
``RUN/checkpoints/step-NNNNNN/``, ``RUN/state/`` (``training.state``), ``RUN/metrics.jsonl``,
``RUN/train_config.json``. Nothing in a run folder is a pickle.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import signal
import time
from pathlib import Path

from model.errors import InputError, MixingBuddyError
from training import config as config_mod

from training.state import STATE, STATE_OLD, TRAINER_STATE, load_state, recover_state, save_state


class SaveError(MixingBuddyError):
    """A checkpoint or training state could not be written (disk full, I/O error); the previous save is intact."""


class EpochSampler:
    """A permutation per (seed, epoch): the same order in every process and after a resume."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        import numpy as np

        return iter(np.random.default_rng([self.seed, self.epoch]).permutation(self.n).tolist())


def _manifest_hash(data: Path) -> str:
    h = hashlib.sha256()
    for split in ("train", "val", "test"):
        p = data / "manifest" / f"{split}.jsonl"
        if p.is_file():
            with open(p, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def resolve_config(args: argparse.Namespace) -> config_mod.TrainConfig:
    files = [config_mod.preset_path(args.preset)] if args.preset else []
    return config_mod.resolve("train", files + list(args.config), args.set)


def save_failure_message(run: Path, step: int, exc: OSError) -> str:
    import errno

    reason = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or str(exc))
    last = None
    try:
        last = json.loads((run / STATE / TRAINER_STATE).read_text())["step"]
    except (OSError, ValueError, KeyError):
        pass
    kept = f"the last complete save (step {last}) is intact; free space and continue with --resume" \
        if last is not None else "no earlier save exists"
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    return f"saving step {step} to {run} failed: {reason}{where}; {kept}."


def publish(checkpoint: Path, run: Path) -> None:
    """Make ``run`` itself the latest checkpoint: old manifest removed first, files replaced, manifest last.

    While this runs ``RUN`` has no manifest (so it never loads half-replaced); the step folder under
    ``checkpoints/`` stays complete throughout, and a resume publishes again.
    """
    from model.llm.checkpoint import fsync_dir, fsync_file, fsync_tree

    (run / "manifest.json").unlink(missing_ok=True)
    fsync_dir(run)
    for item in sorted(checkpoint.iterdir()):
        if item.name == "manifest.json":
            continue
        tmp = run / f".{item.name}.publish"
        if item.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(item, tmp)
            fsync_tree(tmp)
            shutil.rmtree(run / item.name, ignore_errors=True)
        else:
            shutil.copy2(item, tmp)
            fsync_file(tmp)
        os.replace(tmp, run / item.name)
    shutil.copy2(checkpoint / "manifest.json", run / ".manifest.publish")
    fsync_file(run / ".manifest.publish")
    fsync_dir(run)
    os.replace(run / ".manifest.publish", run / "manifest.json")
    fsync_dir(run)


def republish_if_needed(run: Path, step: int) -> None:
    """On resume: if RUN's own manifest is missing or older than the state, publish that step's checkpoint."""
    ckpt = run / "checkpoints" / f"step-{step:06d}"
    try:
        current = json.loads((run / "manifest.json").read_text()).get("step")
    except (OSError, ValueError):
        current = None
    if current != step and (ckpt / "manifest.json").is_file():
        publish(ckpt, run)


def _check_distributed(accelerator) -> None:
    """The state format (training.state) covers one process and DDP; FSDP/DeepSpeed shard what it stores."""
    kind = str(getattr(accelerator.distributed_type, "value", accelerator.distributed_type)).upper()
    if "FSDP" in kind or "DEEPSPEED" in kind or "MEGATRON" in kind:
        raise InputError(f"training with {kind} is not supported (the resumable state covers one process and DDP); "
                         "use `accelerate launch --multi_gpu` (DDP)")


def _param_groups(model, weight_decay: float):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() or name.endswith(".bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def validate(accelerator, model, val_loader, val_ds, cfg: config_mod.TrainConfig) -> dict:
    """Validation loss (all processes) and strict-scored accuracy of greedy answers on a fixed subset (main)."""
    import torch

    from training.evaluate import llm_predictions
    from training.scoring import score_records

    unwrapped = accelerator.unwrap_model(model)
    unwrapped.eval()
    losses = []
    with torch.no_grad():
        for batch in val_loader:
            batch.pop("index")
            out = model(**batch)
            losses.append(accelerator.gather_for_metrics(out.ce_loss.detach().reshape(1)))
    metrics = {"val_loss": float(torch.cat(losses).mean()) if losses else float("nan")}
    if accelerator.is_main_process and cfg.train.val_generate > 0:
        records = list(llm_predictions("validation", val_ds, max(1, cfg.train.per_device_batch), None,
                                       progress=False, model=unwrapped, limit=cfg.train.val_generate))
        o = score_records(records, "strict")["overall_performance"]
        metrics.update(val_both=o["both_correct_percentage"], val_stem=o["stem_correct_percentage"],
                       val_dir=o["direction_correct_percentage"], val_mag=o["magnitude_correct_percentage"])
    unwrapped.train(True)
    return metrics


def train(args: argparse.Namespace, stop_at_step: int | None = None) -> dict:
    """Run (or resume) a training run; returns the final trainer state."""
    import torch
    from accelerate import Accelerator, PartialState
    from accelerate.utils import set_seed
    from torch.utils.data import DataLoader
    from transformers import get_cosine_schedule_with_warmup

    from model.llm.checkpoint import save_checkpoint
    from model.llm.multimodal import MixingBuddyModel
    from training.collate import Collator
    from training.dataset import MixDataset

    cfg = resolve_config(args)
    tc = cfg.train
    run = Path(args.out)
    data = Path(args.data)
    if not (data / "manifest" / "train.jsonl").is_file():
        raise InputError(f"{data}: no manifest/train.jsonl (run `mixingbuddy-train synth` first)")
    resume = bool(args.resume)
    cpu = not torch.cuda.is_available()
    mp = tc.mixed_precision if tc.mixed_precision != "auto" else ("no" if cpu else "bf16")
    # The process group only: a second full Accelerator would refuse the mixed precision set below.
    probe = PartialState(cpu=cpu)
    if resume and probe.is_main_process and run.is_dir():
        recover_state(run)
    probe.wait_for_everyone()
    _check_distributed(probe)
    if resume and not (run / STATE / TRAINER_STATE).is_file():
        raise InputError(f"{run}: nothing to resume (no {STATE}/{TRAINER_STATE})")
    if not resume and ((run / STATE).exists() or (run / STATE_OLD).exists()):
        raise InputError(f"{run}: already holds a run; use --resume or another --out")
    procs = probe.num_processes
    per = tc.per_device_batch
    if tc.effective_batch % (per * procs):
        raise InputError(f"effective_batch {tc.effective_batch} is not a multiple of per_device_batch {per} x "
                         f"{procs} process(es)")
    accum = tc.effective_batch // (per * procs)
    accelerator = Accelerator(cpu=cpu, gradient_accumulation_steps=accum, mixed_precision=mp)
    set_seed(tc.seed)

    mcfg = config_mod.model_config(cfg)
    if tc.tiny_models:
        from training.tiny_models import write_tiny_models

        tiny = run / "tiny_models"
        if accelerator.is_main_process and not (tiny / "qwen2" / "config.json").is_file():
            write_tiny_models(tiny, seed=tc.seed, mert_safetensors=True)
        accelerator.wait_for_everyone()
        mcfg = mcfg.replace(encoder=str((tiny / "mert").resolve()), llm=str((tiny / "qwen2").resolve()))
    run.mkdir(parents=True, exist_ok=True)
    run_config = {"kind": "train", **config_mod.to_dict(cfg), "model": mcfg.to_dict()}
    if accelerator.is_main_process:
        (run / "train_config.json").write_text(json.dumps(run_config, indent=2) + "\n")

    model = MixingBuddyModel.build(mcfg, device=accelerator.device, training=True)
    lora_params = [p for n, p in model.named_parameters() if p.requires_grad and "lora_" in n]
    optimizer = torch.optim.AdamW(_param_groups(model, cfg.optim.weight_decay), lr=cfg.optim.lr,
                                  betas=tuple(cfg.optim.betas), eps=cfg.optim.eps)
    train_ds = MixDataset(data, "train", augment=tc.augment, seed=tc.seed, include_copies=tc.no_error_copies)
    val_ds = MixDataset(data, "val", include_copies=False, limit=tc.val_samples or None)
    if len(train_ds) == 0:
        raise InputError(f"{data}: the train split is empty")
    steps_per_epoch = math.ceil(len(train_ds) / (per * procs) / accum)
    max_steps = tc.epochs * steps_per_epoch if tc.epochs > 0 else tc.max_steps
    # Accelerate steps a prepared scheduler once per process per optimizer step: count in those units.
    scheduler = get_cosine_schedule_with_warmup(optimizer, math.ceil(cfg.optim.warmup_ratio * max_steps) * procs,
                                                max_steps * procs)
    collate = Collator(model.prompts, mcfg.audio_pool)
    sampler = EpochSampler(len(train_ds), tc.seed)
    # Own generators: a DataLoader otherwise draws its worker base seed from the global torch RNG each time an
    # iterator starts, and a resume (which starts one mid-epoch) would then shift dropout's random stream.
    loader = DataLoader(train_ds, batch_size=per, sampler=sampler, collate_fn=collate, num_workers=tc.num_workers,
                        drop_last=False, generator=torch.Generator().manual_seed(tc.seed))
    val_loader = DataLoader(val_ds, batch_size=per, collate_fn=collate,
                            generator=torch.Generator().manual_seed(tc.seed)) if len(val_ds) else []
    if val_loader:
        model, optimizer, loader, val_loader, scheduler = accelerator.prepare(model, optimizer, loader, val_loader,
                                                                              scheduler)
    else:
        model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader, scheduler)
    trainable = [p for p in model.parameters() if p.requires_grad]

    state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "samples": 0}
    if resume:
        state = load_state(accelerator, run, model, optimizer, scheduler)
        if accelerator.is_main_process:
            republish_if_needed(run, state["step"])
        accelerator.wait_for_everyone()

    stop = {"signal": None}

    def _on_signal(signum, _frame):
        stop["signal"] = signal.Signals(signum).name

    handlers = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    data_hash = _manifest_hash(data) if accelerator.is_main_process else None  # only the main process saves
    metrics_path = run / "metrics.jsonl"

    def log(record: dict) -> None:
        if accelerator.is_main_process:
            with open(metrics_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")

    def save(metrics: dict) -> None:
        """Checkpoint (atomic folder) -> state (atomic swap) -> publish into RUN; any failure leaves the last save."""
        step = state["step"]
        accelerator.wait_for_everyone()
        try:
            if accelerator.is_main_process:
                save_checkpoint(accelerator.unwrap_model(model), run / "checkpoints" / f"step-{step:06d}",
                                step=step, metrics=metrics,
                                training={"config": run_config,
                                          "data": str(data.resolve()), "data_manifest_sha256": data_hash,
                                          "processes": procs, "accumulation": accum, "max_steps": max_steps})
            save_state(accelerator, run, state, model, optimizer, scheduler)
            if accelerator.is_main_process:
                publish(run / "checkpoints" / f"step-{step:06d}", run)
        except OSError as exc:
            raise SaveError(save_failure_message(run, step, exc)) from exc
        accelerator.wait_for_everyone()

    from tqdm import tqdm

    bar = tqdm(total=max_steps, initial=state["step"], desc="train", unit="step",
               disable=not accelerator.is_main_process or getattr(args, "quiet", False))
    last_metrics: dict = {}
    t0 = time.time()
    window = []
    try:
        while state["step"] < max_steps and stop["signal"] is None:
            sampler.set_epoch(state["epoch"])
            train_ds.set_epoch(state["epoch"])
            batches = loader
            if state["batch_in_epoch"]:
                batches = accelerator.skip_first_batches(loader, state["batch_in_epoch"])
            for batch in batches:
                batch.pop("index")
                with accelerator.accumulate(model):
                    out = model(**batch)
                    accelerator.backward(out.loss)
                    if accelerator.sync_gradients:
                        if state["step"] < tc.projector_only_steps:
                            for p in lora_params:
                                p.grad = None
                        accelerator.clip_grad_norm_(trainable, cfg.optim.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                state["batch_in_epoch"] += 1
                state["samples"] += per * procs
                window.append((float(out.loss.detach()), float(out.ce_loss.detach()),
                               float(out.aux_loss.detach()) if out.aux_loss is not None else 0.0))
                if not accelerator.sync_gradients:
                    continue
                state["step"] += 1
                bar.update(1)
                step = state["step"]
                if step % tc.log_every == 0 or step == max_steps:
                    loss, ce, aux = (sum(x[i] for x in window) / len(window) for i in range(3))
                    log({"step": step, "epoch": state["epoch"], "loss": loss, "ce_loss": ce, "aux_loss": aux,
                         "lr": scheduler.get_last_lr()[0], "samples": state["samples"],
                         "elapsed_s": round(time.time() - t0, 2)})
                    window = []
                if val_loader and tc.val_every and (step % tc.val_every == 0 or step == max_steps):
                    last_metrics = validate(accelerator, model, val_loader, val_ds, cfg)
                    log({"step": step, **last_metrics})
                if stop_at_step is not None and step >= stop_at_step:
                    stop["signal"] = "stop_at_step"
                if (tc.save_every and step % tc.save_every == 0) or step == max_steps or stop["signal"]:
                    save(last_metrics)
                if step >= max_steps or stop["signal"]:
                    break
            else:
                state["epoch"] += 1
                state["batch_in_epoch"] = 0
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        bar.close()
    state["stopped_by"] = stop["signal"]
    state["max_steps"] = max_steps
    return state


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=sorted(config_mod.PRESETS), help="shipped recipe (paper, tiny-cpu, ...)")
    parser.add_argument("--config", action="append", default=[], metavar="FILE.toml", help="train config file(s)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. train.max_steps=20")
    parser.add_argument("--data", required=True, metavar="DATA", help="`synth` output folder")
    parser.add_argument("--out", required=True, metavar="RUN", help="run folder (checkpoint, state, metrics)")
    parser.add_argument("--resume", action="store_true", help="continue the run in RUN from its last save")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    if not args.preset and not args.config:
        raise InputError("train: give --preset or --config")
    state = train(args)
    if state.get("stopped_by"):
        print(f"stopped by {state['stopped_by']} at step {state['step']}; saved. Continue with --resume.")
    else:
        print(f"trained {state['step']} steps -> {args.out}")
    return 0
