"""MixingBuddyModel: MERT -> layer mix -> pooling -> projector -> Qwen2 (+LoRA).

Audio is scattered into the ``<|AUDIO|>`` positions of the prompt after a
count check (the Qwen2-Audio pattern). Qwen2 loads through
``AutoModelForCausalLM`` from a local folder (no remote code) in nf4, bf16 or
fp32; LoRA comes from peft; the auxiliary loss is the reference implementation's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn
from transformers import StoppingCriteria

from model.llm.config import LoraSettings, ModelConfig
from model.llm.encoder import MertEncoder
from model.errors import AdvisorUnavailable, Cancelled, CheckpointError, ModelRuntimeError
from model.llm.projector import AudioProjector
from model.llm.prompt import Example, PromptBuilder, n_audio_tokens
from model.llm.weights import LLM_FILES, MERT_FILES, resolve_weights


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/"auto": CUDA when available, else CPU. Asking for CUDA without one is an error."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise AdvisorUnavailable("CUDA was requested but no CUDA device is available; use --device cpu or auto.")
    return dev


def nf4_quantization():
    """4-bit NF4, double quantisation, bf16 compute (the paper's quantisation)."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=torch.bfloat16)


def load_llm(folder: str | Path, precision: str, device: torch.device, training: bool = False,
             gradient_checkpointing: bool = True):
    """(Qwen2ForCausalLM, tokenizer) from a local folder; never remote code, never resized."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder}: no config.json; not a language-model folder.")
    if device.type == "cuda":
        device_map = {"": device.index if device.index is not None else torch.cuda.current_device()}
    else:
        device_map = {"": str(device)}
    kwargs: dict = {"local_files_only": True, "device_map": device_map}
    if precision == "nf4":
        kwargs.update(quantization_config=nf4_quantization(), dtype=torch.bfloat16)
    else:
        kwargs["dtype"] = torch.bfloat16 if precision == "bf16" else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        llm = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder}: the language model cannot be loaded ({_one_line(exc)}).") from None
    except torch.cuda.OutOfMemoryError:
        raise out_of_memory() from None
    gc = {"use_reentrant": False}
    if training and precision == "nf4":
        from peft import prepare_model_for_kbit_training

        llm = prepare_model_for_kbit_training(llm, use_gradient_checkpointing=gradient_checkpointing,
                                              gradient_checkpointing_kwargs=gc)
    elif training and gradient_checkpointing:
        if hasattr(llm, "activation_checkpointing_enable"):  # newer transformers 5.x (5.24 has it, 5.17 does not)
            llm.activation_checkpointing_enable(activation_checkpointing_kwargs=gc)
        else:
            llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs=gc)
    return llm, tokenizer


#: Modules trained in full (peft ``modules_to_save``) when ``ModelConfig.train_embeddings`` is on.
EMBEDDING_MODULES = ("embed_tokens", "lm_head")


def attach_lora(llm, settings: LoraSettings, adapter_dir: str | Path | None = None, trainable: bool = True,
                train_embeddings: bool = False):
    """A fresh peft LoRA (r 16, alpha 32, dropout 0.1 on q,k,v,o,gate,up,down) or a saved adapter.

    ``train_embeddings`` also trains full copies of the input embeddings and the output head (peft
    ``modules_to_save``); a saved adapter brings its own setting.
    """
    from peft import LoraConfig, PeftModel, get_peft_model

    if adapter_dir is not None:
        try:
            return PeftModel.from_pretrained(llm, str(adapter_dir), is_trainable=trainable)
        except RuntimeError as exc:  # size mismatch against the base model
            raise CheckpointError(f"The LoRA adapter does not fit the base model: {_one_line(exc)}") from None
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{adapter_dir}: the LoRA adapter cannot be loaded ({_one_line(exc)}).") from None
    cfg = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout, bias="none",
                     task_type="CAUSAL_LM", target_modules=list(settings.targets),
                     modules_to_save=list(EMBEDDING_MODULES) if train_embeddings else None)
    return get_peft_model(llm, cfg)


def out_of_memory() -> ModelRuntimeError:
    return ModelRuntimeError("Out of GPU memory: use precision nf4, fewer windows per batch, or a shorter selection.")


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


class CancelCriteria(StoppingCriteria):
    """A generation StoppingCriteria that stops every sequence once the CancelToken is set."""

    def __init__(self, cancel) -> None:
        self.cancel = cancel

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        stop = bool(self.cancel is not None and self.cancel.cancelled)
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


@dataclass
class MixingBuddyOutput:
    """loss = ce_loss + aux_loss_weight * aux_loss (aux only in training)."""

    loss: torch.Tensor | None
    ce_loss: torch.Tensor | None
    aux_loss: torch.Tensor | None
    logits: torch.Tensor | None


class MixingBuddyModel(nn.Module):
    """The multimodal model; build it with :meth:`build` (or ``model.llm.checkpoint.load_checkpoint``)."""

    def __init__(self, config: ModelConfig, encoder: MertEncoder, projector: AudioProjector, llm, tokenizer) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        self.projector = projector
        self.llm = llm
        self.tokenizer = tokenizer
        rows = llm.get_input_embeddings().weight.shape[0]
        self.prompts = PromptBuilder(tokenizer, config.audio_position, embedding_rows=rows)
        self.audio_token_id = self.prompts.audio_token_id
        self.base_dirs: dict[str, Path] = {}
        # Greedy only: Qwen2-Instruct's shipped sampling/repetition defaults must not leak into generate().
        llm.generation_config = self.greedy_config(config.max_new_tokens)

    # --- construction --------------------------------------------------------------

    @classmethod
    def build(cls, config: ModelConfig, device: str | torch.device | None = None, training: bool = False,
              adapter_dir: str | Path | None = None, encoder: str | Path | None = None,
              llm: str | Path | None = None) -> "MixingBuddyModel":
        """Load the base models named by ``config`` (or the ``encoder``/``llm`` overrides) and add a projector."""
        dev = resolve_device(device)
        enc_dir = resolve_weights(encoder or config.encoder, MERT_FILES, config.encoder_revision)
        llm_dir = resolve_weights(llm or config.llm, LLM_FILES, config.llm_revision)
        enc = MertEncoder.from_folder(enc_dir, layer_norm=config.layer_norm_per_layer)
        enc.hubert.to(device=dev, dtype=torch.bfloat16 if dev.type == "cuda" else torch.float32)
        enc.layer_weights.data = enc.layer_weights.data.to(dev)
        lm, tok = load_llm(llm_dir, config.precision, dev, training, config.gradient_checkpointing)
        proj = AudioProjector(enc.hidden_size, lm.config.hidden_size, config.projector, config.projector_hidden,
                              config.projector_dropout, config.audio_pool, config.audio_pool_mode).to(dev)
        if config.lora.enabled:
            lm = attach_lora(lm, config.lora, adapter_dir, trainable=training,
                             train_embeddings=config.train_embeddings)
        elif adapter_dir is not None:
            raise CheckpointError("The checkpoint has a LoRA adapter but its config disables LoRA.")
        model = cls(config, enc, proj, lm, tok)
        model.base_dirs = {"encoder": enc_dir, "llm": llm_dir}
        model.set_training(training)
        return model

    def set_training(self, training: bool) -> None:
        """Trainable = projector + layer weights (+ LoRA, + embedding/head copies); the bases stay frozen."""
        for name, p in self.llm.named_parameters():
            p.requires_grad_(training and ("lora_" in name or
                                           (self.config.train_embeddings and ".modules_to_save." in name)))
        self.projector.requires_grad_(training)
        self.encoder.layer_weights.requires_grad_(training)
        self.llm.config.use_cache = not training
        self.train(training)

    @property
    def device(self) -> torch.device:
        """Where inputs go (the projector's device; follows ``.to()`` and Accelerate)."""
        return self.projector.network[0].weight.device

    # --- pieces --------------------------------------------------------------------

    def n_audio_tokens(self, num_samples: int) -> int:
        return n_audio_tokens(num_samples, self.config.audio_pool)

    def prompt_inputs(self, audio: torch.Tensor, instructions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Left-padded generation inputs for equal-length clips: (inputs_embeds, attention_mask).

        Each distinct instruction is tokenised once, however many clips share it.
        """
        n = self.n_audio_tokens(audio.shape[1])
        ids_for = {text: self.prompts.prompt_ids(text, n) for text in dict.fromkeys(instructions)}
        batch = self.prompts.collate_prompts([ids_for[text] for text in instructions])
        mask = batch["attention_mask"].to(self.device)
        return self.embed(batch["input_ids"].to(self.device), self.encode_audio(audio)), mask

    def encode_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, samples) 24 kHz mono -> (B, N, llm hidden) projected audio tokens."""
        return self.projector(self.encoder(audio.to(self.device)))

    def embed(self, input_ids: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Token embeddings with the audio features scattered into the placeholder positions."""
        mask = input_ids == self.audio_token_id
        per_row = mask.sum(dim=1)
        expected = features.shape[1]
        if features.shape[0] != input_ids.shape[0] or bool((per_row != expected).any()):
            raise ModelRuntimeError(
                f"Audio placeholder count mismatch: the prompt holds {int(mask.sum())} placeholders "
                f"but the audio gives {features.shape[0] * features.shape[1]} vectors "
                f"({features.shape[0]} x {expected})."
            )
        embeds = self.llm.get_input_embeddings()(input_ids)
        feats = features.to(embeds.dtype).reshape(-1, features.shape[-1])
        return embeds.masked_scatter(mask.unsqueeze(-1).expand_as(embeds), feats)

    def aux_loss(self, input_ids: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """(a - stopgrad(b))^2: mean audio-vector norm vs mean embedding norm over all ids, both / hidden."""
        hidden = features.shape[-1]
        a = features.float().norm(dim=-1).mean() / hidden
        with torch.no_grad():
            ids = input_ids.masked_fill(input_ids == self.audio_token_id, self.prompts.pad_id)
            b = self.llm.get_input_embeddings()(ids).float().norm(dim=-1).mean() / hidden
        return (a - b) ** 2

    # --- training ------------------------------------------------------------------

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, audio: torch.Tensor,
                labels: torch.Tensor | None = None) -> MixingBuddyOutput:
        input_ids = input_ids.to(self.device)
        attention_mask = attention_mask.to(self.device)
        features = self.encode_audio(audio)
        embeds = self.embed(input_ids, features)
        out = self.llm(inputs_embeds=embeds, attention_mask=attention_mask,
                       labels=labels.to(self.device) if labels is not None else None, use_cache=False)
        ce = out.loss
        aux = None
        loss = ce
        if self.training and labels is not None:
            aux = self.aux_loss(input_ids, features)
            if self.config.aux_loss_weight > 0:
                loss = ce + self.config.aux_loss_weight * aux
        return MixingBuddyOutput(loss, ce, aux, out.logits)

    def collate(self, examples: Sequence[Example], audio: torch.Tensor) -> dict:
        """A right-padded training batch with its audio: kwargs for :meth:`forward`."""
        batch = self.prompts.collate(examples)
        batch["audio"] = audio
        return batch

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """Projector and layer weights (the LoRA adapter is saved by peft)."""
        out = {f"projector.{k}": v for k, v in self.projector.state_dict().items()}
        out["encoder.layer_weights"] = self.encoder.layer_weights
        return {k: v.detach() for k, v in out.items()}

    def load_trainable_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        own = self.trainable_state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
        if missing or unexpected or wrong:
            parts = []
            if missing:
                parts.append("missing " + ", ".join(missing))
            if unexpected:
                parts.append("unexpected " + ", ".join(unexpected))
            for k in wrong:
                parts.append(f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}")
            raise CheckpointError("The trainable weights do not fit the model: " + "; ".join(parts) + ".")
        with torch.no_grad():
            self.projector.load_state_dict({k[len("projector."):]: v for k, v in state.items()
                                            if k.startswith("projector.")})
            self.encoder.layer_weights.copy_(state["encoder.layer_weights"])

    # --- generation ----------------------------------------------------------------

    def greedy_config(self, max_new_tokens: int):
        """Plain greedy decoding that stops at <|im_end|> (or <|endoftext|>)."""
        from transformers import GenerationConfig

        return GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False, num_beams=1, repetition_penalty=1.0,
                                temperature=1.0, top_p=1.0, top_k=50, eos_token_id=self.prompts.stop_ids,
                                pad_token_id=self.prompts.pad_id)

    @torch.no_grad()
    def generate(self, audio: torch.Tensor, instructions: Sequence[str], max_new_tokens: int | None = None,
                 cancel=None) -> list[str]:
        """Greedy, batched answers for equal-length clips (B, samples); raises Cancelled when cancelled."""
        from transformers import StoppingCriteriaList

        if audio.shape[0] != len(instructions):
            raise ValueError("one instruction per clip")
        embeds, mask = self.prompt_inputs(audio, instructions)
        gen = self.greedy_config(max_new_tokens or self.config.max_new_tokens)
        stop = CancelCriteria(cancel)
        out = self.llm.generate(inputs_embeds=embeds, attention_mask=mask, generation_config=gen,
                                stopping_criteria=StoppingCriteriaList([stop]))
        if cancel is not None and cancel.cancelled:
            raise Cancelled()
        return [t.strip() for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]
