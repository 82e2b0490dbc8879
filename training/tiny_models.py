"""Tiny random-weight base models for tests and demos (the whole stack runs on CPU).

* a MERT-style folder (``model_type: mert_model`` + ``auto_map``, legacy
  ``weight_g``/``weight_v`` names in ``pytorch_model.bin``, 24 kHz
  preprocessor config, the real conv kernels and strides so 75 Hz holds);
* a ChatML byte-level BPE tokenizer built in code with ``tokenizers``
  (trained on the template vocabulary, Qwen2 specials in Qwen2's order);
* a tiny Qwen2 (grouped KV heads, untied head) whose embedding has spare rows
  beyond the tokenizer, like Qwen2-7B's 152,064 rows for 151,646 ids.

``mixingbuddy-train tiny-models OUT`` writes ``OUT/mert`` and ``OUT/qwen2``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TINY_MERT = dict(
    hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
    conv_dim=[16] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
    num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
)
#: initializer_range 0.2 (Qwen2's is 0.02) gives the tiny head a usable logit scale, so a few training
#: steps in a test make greedy answers deterministic.
TINY_QWEN2 = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, initializer_range=0.2)

#: MERT-v1 flags; sizes come from TINY_MERT or the real 330M sizes.
MERT_FLAGS = dict(
    activation_dropout=0.0, apply_spec_augment=True, attention_dropout=0.0, attention_relax=32.0,
    conv_bias=False, deepnorm=False, do_stable_layer_norm=True, feat_extract_activation="gelu",
    feat_extract_norm="group", feat_proj_dropout=0.0, feat_proj_layer_norm=True, feature_extractor_cqt=False,
    feature_extractor_cqt_bins=336, final_dropout=0.0, hidden_act="gelu", hidden_dropout=0.0,
    initializer_range=0.02, layer_norm_eps=1e-5, layerdrop=0.0, mask_feature_length=10, mask_feature_prob=0.0,
    mask_time_length=10, mask_time_prob=0.075, num_feat_extract_layers=7, sample_rate=24000,
    use_weighted_layer_sum=False, vocab_size=32, pad_token_id=0, bos_token_id=1, eos_token_id=2,
)
MERT_330M = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                 conv_dim=[512] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
                 num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16)
QWEN2_7B = dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
                num_key_value_heads=4, vocab_size=152064, max_position_embeddings=32768)


@dataclass(frozen=True)
class TinyModels:
    """Folders written by write_tiny_models()."""

    mert: Path
    llm: Path


# --- MERT ---------------------------------------------------------------------

def mert_config_dict(sizes: dict | None = None) -> dict:
    """A MERT-style config.json (what the hub ships: remote-code model type and auto_map)."""
    cfg = {"_name_or_path": "tiny-mert", "architectures": ["MERTModel"], "model_type": "mert_model",
           "auto_map": {"AutoConfig": "configuration_MERT.MERTConfig", "AutoModel": "modeling_MERT.MERTModel"}}
    cfg.update(MERT_FLAGS)
    cfg.update(sizes or TINY_MERT)
    return cfg


def write_mert_folder(out: str | Path, sizes: dict | None = None, seed: int = 0, legacy_names: bool = True,
                      safetensors: bool = False, do_normalize: bool = False) -> Path:
    """Write a random-weight MERT-style folder; returns it."""
    import torch
    from transformers import HubertConfig, HubertModel

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = mert_config_dict(sizes)
    hub_keys = {"_name_or_path", "architectures", "model_type", "auto_map"}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = HubertModel(HubertConfig(**{k: v for k, v in cfg.items() if k not in hub_keys}))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if legacy_names:
        state = {k.replace("parametrizations.weight.original0", "weight_g")
                  .replace("parametrizations.weight.original1", "weight_v"): v for k, v in state.items()}
    if safetensors:
        from safetensors.torch import save_file

        save_file(state, str(out / "model.safetensors"))
    else:
        torch.save(state, out / "pytorch_model.bin")
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    (out / "preprocessor_config.json").write_text(json.dumps({
        "do_normalize": do_normalize, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
        "padding_side": "right", "padding_value": 0.0, "return_attention_mask": True, "sampling_rate": 24000,
    }, indent=2) + "\n")
    return out


# --- tokenizer ------------------------------------------------------------------

def tokenizer_corpus() -> list[str]:
    """Every string the prompts and answers can contain (templates, ChatML roles, digits)."""
    from model.advice.templates import CATEGORIES, INSTRUCTIONS, RESPONSES, SYSTEM_PROMPT, render_instruction, render_response

    lines = [SYSTEM_PROMPT, "system", "user", "assistant", "You are a helpful assistant.", "0123456789 10.0 dB"]
    stems = ("vocals", "drums", "bass", "other")
    for v in range(len(INSTRUCTIONS)):
        for anchor in ("vocals", "drums", "bass"):
            lines.append(render_instruction(v, stems, anchor))
            lines.append(render_instruction(v, stems[:3], anchor, 7.5))
    for category in CATEGORIES:
        for v in range(len(RESPONSES[category])):
            for target in ((None,) if category == "no_error" else ("vocals", "drums", "bass")):
                lines.append(render_response(category, target, v))
    return lines


def build_tokenizer(vocab_size: int = 1000, audio_token: bool = True):
    """A Qwen2Tokenizer (byte-level BPE, Qwen2 pre-tokenizer) with ChatML specials, built offline."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    from model.llm.prompt import CHATML_TEMPLATE, ensure_audio_token

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=1, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    bpe.train_from_iterator(tokenizer_corpus(), trainer=trainer)
    model = json.loads(bpe.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    tok = Qwen2Tokenizer(vocab=model["vocab"], merges=merges, unk_token=None, bos_token=None,
                         eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tok.eos_token = "<|im_end|>"
    if audio_token:
        ensure_audio_token(tok)
    tok.chat_template = CHATML_TEMPLATE
    tok.model_max_length = 32768
    return tok


# --- Qwen2 ----------------------------------------------------------------------

def qwen2_config(vocab_rows: int, sizes: dict | None = None, eos_id: int | None = None, pad_id: int | None = None):
    """A Qwen2Config with Qwen2-7B's flags (untied head, RoPE theta 1e6, eps 1e-6)."""
    from transformers import Qwen2Config

    sizes = dict(sizes or TINY_QWEN2)
    sizes.setdefault("vocab_size", vocab_rows)
    sizes.setdefault("max_position_embeddings", 4096)
    return Qwen2Config(tie_word_embeddings=False, rms_norm_eps=1e-6, hidden_act="silu",
                       rope_parameters={"rope_type": "default", "rope_theta": 1e6},
                       bos_token_id=pad_id, eos_token_id=eos_id, pad_token_id=pad_id, **sizes)


def write_qwen2_folder(out: str | Path, tokenizer=None, sizes: dict | None = None, seed: int = 0,
                       spare_rows: int = 64) -> Path:
    """Write a random-weight Qwen2ForCausalLM plus its tokenizer; returns the folder."""
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM

    out = Path(out)
    tok = tokenizer if tokenizer is not None else build_tokenizer()
    n = len(tok)
    rows = ((n + spare_rows + 63) // 64) * 64  # spare rows beyond the tokenizer, as in Qwen2-7B
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    pad = tok.convert_tokens_to_ids("<|endoftext|>")
    cfg = qwen2_config(rows, sizes, eos_id=eos, pad_id=pad)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(cfg)
    model.generation_config = GenerationConfig(eos_token_id=[eos, pad], pad_token_id=pad, do_sample=False)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def write_tiny_models(out: str | Path, seed: int = 0, mert_safetensors: bool = False) -> TinyModels:
    """OUT/mert and OUT/qwen2.

    ``mert_safetensors=False`` writes MERT the hub's way (a legacy ``pytorch_model.bin``, to exercise the
    production loader); training runs pass True so that nothing in a run folder is a pickle.
    """
    out = Path(out)
    return TinyModels(write_mert_folder(out / "mert", seed=seed, safetensors=mert_safetensors),
                      write_qwen2_folder(out / "qwen2", seed=seed))


# --- CLI -------------------------------------------------------------------------

def add_arguments(parser) -> None:
    parser.add_argument("out", help="output folder (mert/ and qwen2/ are written inside)")
    parser.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")


def run(args) -> int:
    models = write_tiny_models(args.out, seed=args.seed)
    print(f"tiny MERT:  {models.mert}")
    print(f"tiny Qwen2: {models.llm}")
    return 0
