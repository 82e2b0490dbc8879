"""The bundle's entry script: the same `mixingbuddy` command as the console script."""

import multiprocessing
import sys

from mixingbuddy_app.__main__ import main

if __name__ == "__main__":
    # A frozen program is also what the analysis spawns for its worker processes: those run the worker, not main().
    multiprocessing.freeze_support()
    sys.exit(main())
