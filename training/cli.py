"""mixingbuddy-train command line (subcommands are added as they land)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixingbuddy-train", description="Reproduce the MixingBuddy model headless.")
    parser.add_subparsers(dest="command", metavar="{demo-data,synth,train,eval,score,profile,tiny-models}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
