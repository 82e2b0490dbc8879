"""mixingbuddy-train command line.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; modules are imported only when their command runs.
Exit codes: 0 ok, 2 bad input or the 'train' extra not installed (one line on stderr), 1 unexpected error.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import sys
import warnings

COMMANDS: dict[str, tuple[str, str]] = {
    "demo-data": ("training.demo", "write a MUSDB18-HQ-layout corpus from the seeded generator"),
    "synth": ("training.synth", "MUSDB18-HQ -> stem cache + manifest JSONL of flawed-mix samples"),
    "train": ("training.train", "train the projector and LoRA adapters (HF Accelerate)"),
    "eval": ("training.evaluate", "run an advisor over a split -> predictions.jsonl + scores"),
    "score": ("training.scoring", "score a predictions file with the paper or strict scorer"),
    "profile": ("training.profile", "refit the BalanceAdvisor profile from MUSDB18-HQ"),
    "tiny-models": ("training.tiny_models", "write tiny random-weight MERT and Qwen2 folders for tests"),
}


def _available() -> dict[str, tuple[str, str]]:
    out = {}
    for name, (module, help_text) in COMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            out[name] = (module, help_text)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixingbuddy-train", description="Reproduce the MixingBuddy model headless.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in _available().items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


#: bitsandbytes, on CPUs with AVX512-BF16, tries an optional faster 4-bit CPU kernel from the
#: Hub and logs this when it is not installed; it then uses its own kernel, with the same results.
_BNB_KERNEL_NOTICE = "Failed to load CPU gemm_4bit_forward from kernels-community"


def _not_bnb_kernel_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(_BNB_KERNEL_NOTICE)


def quiet_known_library_noise() -> None:
    """Silence library notices that print on every run and ask nothing of the user.

    transformers' FutureWarnings announce deprecations inside its own and peft's calls
    (e.g. ``is_gradient_checkpointing``); bitsandbytes' optional-kernel notice is above.
    Other warnings and log records still print.
    """
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"transformers(\.|$)")
    logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_not_bnb_kernel_notice)


def main(argv: list[str] | None = None) -> int:
    from model.errors import run_command
    from model.extras import require_extra

    rc = run_command("mixingbuddy-train", lambda: require_extra("train", "mixingbuddy-train"))
    if rc:
        return rc
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    quiet_known_library_noise()
    return run_command(f"mixingbuddy-train {args.command}", lambda: importlib.import_module(args._module).run(args))


if __name__ == "__main__":
    sys.exit(main())
