"""`make bench`: run every benchmark script in this folder, one after another, and summarise.

Each script measures its targets side by side in one run and prints PASS/MISS lines.
GPU checks (gpu_check.py) say "skipped" on machines without CUDA.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["bench_critique.py", "bench_sessions.py", "bench_masking.py", "bench_memory.py", "bench_app.py", "bench_app_sessions.py", "bench_cancel.py", "bench_pooling.py",
         "bench_synth.py", "bench_eval.py", "bench_realstems.py", "bench_install.py", "gpu_check.py"]


def main(argv: list[str]) -> int:
    wanted = argv or [n for n in ORDER if (HERE / n).exists()]
    failures = 0
    for name in wanted:
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(HERE / name)], cwd=HERE.parent)
        print(f"   ({time.perf_counter() - t0:.1f} s, exit {rc})", flush=True)
        failures += rc != 0
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
