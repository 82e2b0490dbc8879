"""The bundle's entry script: the same `mixingbuddy` command as the console script."""

import sys

from mixingbuddy_app.__main__ import main

sys.exit(main())
