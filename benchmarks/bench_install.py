"""Install footprint: a fresh core-only venv (`pip install .`, no extras) and the one-folder bundle, next to the
full venv this benchmark runs in (every extra); and the bundle's cold start to its window, next to the full venv's.

Targets: core venv <= 500 MiB, bundle <= 250 MiB, bundle cold start to window <= 2 s.
Needs the package index pip is configured with (the core's wheels); builds the bundle when dist/ lacks it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLE_DIR = REPO / "dist" / "mixingbuddy"
BUNDLE = BUNDLE_DIR / "mixingbuddy"

CORE_TARGET_MB = 500
BUNDLE_TARGET_MB = 250
START_TARGET_S = 2.0
MIB = 1024 * 1024


def size_mb(path: Path) -> float:
    """Bytes on disk of a folder tree (as `du -s`, links not followed), in MiB."""
    total = path.lstat().st_blocks
    for root, dirs, files in os.walk(path):
        total += sum((Path(root) / name).lstat().st_blocks for name in files + dirs)
    return total * 512 / MIB


def fresh_core_venv(folder: Path) -> tuple[float, float]:
    """Create a venv and `pip install .` into it: (seconds, MiB)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    subprocess.run([str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet", str(REPO)], check=True,
                   cwd=folder, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, size_mb(folder)


def start_to_window(command: list[str], cwd: Path | None = None, runs: int = 3) -> tuple[list[float], list[float]]:
    """Seconds from exec to the window's first event-loop turn (`--quit-when-shown` prints 'shown'), per run, and
    the CPU seconds each run used in all (on a busy machine the wall time is mostly waiting for a core)."""
    times, cpu = [], []
    with tempfile.TemporaryDirectory(prefix="mixingbuddy-start-") as home:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), MIXINGBUDDY_NO_AUDIO="1",
                   HOME=home, XDG_CONFIG_HOME=str(Path(home) / "config"))
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.Popen([*command, "--quit-when-shown"], stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, env=env, cwd=cwd or home)
            line = proc.stdout.readline().strip()
            proc.stdout.close()
            shown = time.perf_counter() - t0
            _, status, usage = os.wait4(proc.pid, 0)
            if line != "shown":
                raise SystemExit(f"{command[0]} did not show its window (printed {line!r}, status {status})")
            times.append(shown)
            cpu.append(usage.ru_utime + usage.ru_stime)
    return times, cpu


def verdict(good: bool) -> str:
    return "PASS" if good else "MISS"


def main() -> int:
    ok = True
    full_mb = size_mb(Path(sys.prefix))
    with tempfile.TemporaryDirectory(prefix="mixingbuddy-core-venv-") as tmp:
        core_s, core_mb = fresh_core_venv(Path(tmp) / "venv")
    if not BUNDLE.is_file():
        subprocess.run(["make", "--no-print-directory", "bundle"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    bundle_mb = size_mb(BUNDLE_DIR)

    good = core_mb <= CORE_TARGET_MB
    ok &= good
    print(f"fresh core venv (pip install ., no extras, {core_s:.0f} s to create): {core_mb:.0f} MiB vs the full venv "
          f"{full_mb:.0f} MiB ({core_mb / full_mb:.1%}); target <= {CORE_TARGET_MB} MiB, ratio "
          f"{core_mb / CORE_TARGET_MB:.2f} -> {verdict(good)}")
    good = bundle_mb <= BUNDLE_TARGET_MB
    ok &= good
    print(f"one-folder bundle dist/mixingbuddy: {bundle_mb:.0f} MiB ({bundle_mb / full_mb:.1%} of the full venv); "
          f"target <= {BUNDLE_TARGET_MB} MiB, ratio {bundle_mb / BUNDLE_TARGET_MB:.2f} -> {verdict(good)}")

    bundle_runs, bundle_cpu = start_to_window([str(BUNDLE)])
    venv_runs, venv_cpu = start_to_window([sys.executable, "-m", "mixingbuddy_app"], cwd=REPO)  # the full venv
    best = min(bundle_runs)
    good = best <= START_TARGET_S
    ok &= good
    side = (f", CPU {min(bundle_cpu):.2f} s; the full venv: best {min(venv_runs):.2f} s (runs "
            f"{[round(t, 2) for t in venv_runs]}), CPU {min(venv_cpu):.2f} s")
    print(f"bundle cold start to window: best {best:.2f} s, first {bundle_runs[0]:.2f} s (runs "
          f"{[round(t, 2) for t in bundle_runs]}){side}; target <= {START_TARGET_S:g} s, ratio "
          f"{best / START_TARGET_S:.2f} -> {verdict(good)}")
    return 0 if ok else 1


if __name__ == "__main__":
    if shutil.which("make") is None and not BUNDLE.is_file():
        raise SystemExit("bench_install: the bundle is not built and `make` is missing (run make bundle)")
    raise SystemExit(main())
