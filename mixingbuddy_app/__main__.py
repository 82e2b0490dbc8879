"""Entry point: `mixingbuddy critique|masking ...` run the CLI (no Qt); anything else opens the app."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "critique":
        from mixingbuddy_app.cli import main as cli_main

        return cli_main(args[1:])
    if args and args[0] == "masking":
        from mixingbuddy_app.cli import masking_main

        return masking_main(args[1:])
    if args and args[0] == "profile":
        from mixingbuddy_app.profile_cli import main as profile_main

        return profile_main(args[1:])
    if args and args[0] in ("-h", "--help"):
        print("usage: mixingbuddy [PATH ...] [--smoke]\n       mixingbuddy critique PATH... [options]  "
              "(see `mixingbuddy critique --help`)\n"
              "       mixingbuddy masking A B PATH... [options]  (where track A covers track B and back)\n"
              "       mixingbuddy profile fit|list|show ...  (balance profiles; see `mixingbuddy profile --help`)")
        return 0
    try:
        from mixingbuddy_app.gui import main as gui_main
    except ImportError as exc:
        print(f"mixingbuddy: the desktop app is not available ({exc}); use `mixingbuddy critique PATH...`.",
              file=sys.stderr)
        return 1
    return gui_main(args)


if __name__ == "__main__":
    sys.exit(main())
