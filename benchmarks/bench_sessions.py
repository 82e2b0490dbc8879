"""Big sessions: CLI critique wall time / decoding every file once, and peak RSS (targets: <= 1.5, <= 1 GB).

Two sessions: ../shared/realdata/evr/Lithium (38 Ogg stems, 48 and 24 kHz, 5:27; skipped
where ../shared is absent) and a generated 96-track, 5-minute, 48 kHz stereo 24-bit WAV
session (four synthetic stems, each written 24 times with its own gain and time shift).
Each number comes from a fresh subprocess, side by side in one run: first every file is
decoded once, one after another (soundfile, no resampling; the faster of two passes, so
both sides read from the page cache), then ``mixingbuddy critique --json`` runs. Its peak
RSS counts every process: the CLI's own VmHWM plus, for each child process (the analysis
workers, multiprocessing's resource tracker), the last VmHWM read from /proc every 20 ms
before it ended. A sum of peaks is at least the peak of the sum, and the shared role
buffers count once per process that maps them, so the figure errs high, never low.
The load average (the machine is shared) is printed with each session.
Last, learning a profile from two real songs (``mixingbuddy profile fit Lithium Sodium``, 66 stems) against
decoding their files once, with the same targets: fitting streams each song as the critique does.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LITHIUM = REPO.parent / "shared" / "realdata" / "evr" / "Lithium"
GB = 1024**3

DECODE = """
import sys, time, soundfile as sf
from model.audio.tracks import expand_paths
files = expand_paths(sys.argv[1:])[0]
t0 = time.perf_counter()
for f in files:
    sf.read(str(f), dtype="float32")
print(time.perf_counter() - t0)
"""

# Peak RSS is VmHWM of this process image: getrusage's ru_maxrss would include the RSS of the
# parent at fork (Linux carries it across exec). Children's VmHWM is sampled while they live.
CRITIQUE = """
import contextlib, io, os, re, sys, threading, time
from mixingbuddy_app.__main__ import main

def hwm(pid):
    try:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", open(f"/proc/{pid}/status").read()).group(1)) * 1024
    except (OSError, AttributeError):
        return 0

def children(pid):
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out

peaks, done = {}, threading.Event()
def sample():
    while not done.wait(0.02):
        todo = children(os.getpid())
        while todo:
            pid = todo.pop()
            peaks[pid] = max(peaks.get(pid, 0), hwm(pid))
            todo += children(pid)
sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    rc = main(sys.argv[1:])
wall = time.perf_counter() - t0
done.set()
sampler.join()
print(wall, hwm("self") + sum(peaks.values()), rc, len(peaks))
"""

GENERATE = """
import sys
from pathlib import Path
sys.path.insert(0, "benchmarks")
from bench_sessions import write_session
write_session(Path(sys.argv[1]))
"""


def _python(code: str, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "subprocess failed")
    return out.stdout.split()


def measure(name: str, folders: list[Path], command: list[str] | None = None, what: str = "critique") -> bool:
    """``mixingbuddy COMMAND`` (default: critique the folder, --json) against decoding the folders' files once."""
    load = os.getloadavg()[0]
    decode_s = min(float(_python(DECODE, *map(str, folders))[0]) for _ in range(2))
    wall, rss, rc, processes = _python(CRITIQUE, *(command or ["critique", str(folders[0]), "--json"]))
    wall_s, peak = float(wall), int(rss)
    ratio = wall_s / decode_s
    ok = ratio <= 1.5 and peak <= GB and rc == "0"
    print(f"{name}: {what} {wall_s:.1f} s wall vs decoding every file once {decode_s:.1f} s -> "
          f"ratio {ratio:.2f} (target <= 1.5); peak RSS {peak / GB:.2f} GB, {processes} child process(es) counted "
          f"(target <= 1 GB) -> {'PASS' if ok else 'MISS'} [load average {load:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores]", flush=True)
    return ok


def write_session(folder: Path, tracks: int = 96, seconds: float = 300.0, sr: int = 48000) -> None:
    """96 stereo 24-bit WAV files: the four synthetic stems, 24 times each, each with its own gain and shift."""
    import soundfile as sf

    sys.path.insert(0, str(REPO))
    from model.synthetic import synth_stems

    stems = synth_stems(seed=5, seconds=seconds, sample_rate=sr)
    names = {"vocals": "Vox", "drums": "Drums", "bass": "Bass", "other": "Keys"}
    rng = np.random.default_rng(5)
    for i in range(tracks):
        role = list(stems)[i % 4]
        audio = np.roll(stems[role], int(rng.integers(0, sr * 20)), axis=0) * np.float32(10 ** (-rng.uniform(6, 18) / 20))
        sf.write(str(folder / f"{i + 1:02d} {names[role]} {i // 4 + 1}.wav"), audio, sr, subtype="PCM_24")


def main() -> int:
    if LITHIUM.is_dir():
        measure("Lithium (38 Ogg stems, 48/24 kHz, 5:27)", [LITHIUM])
    else:
        print(f"Lithium: skipped ({LITHIUM} is absent: ../shared holds the real-music sessions)")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _python(GENERATE, tmp)  # in a child, so this process stays small
        print(f"  (generated the 96-track session in {time.perf_counter() - t0:.0f} s)", flush=True)
        measure("generated 96 x 5 min 48 kHz stereo 24-bit WAV", [Path(tmp)])
        if LITHIUM.is_dir():
            songs = [LITHIUM, LITHIUM.parent / "Sodium"]
            measure("Lithium + Sodium (66 Ogg stems)", songs,
                    ["profile", "fit", *map(str, songs), "--name", "bench", "--out", str(Path(tmp) / "bench.json")],
                    "profile fit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
