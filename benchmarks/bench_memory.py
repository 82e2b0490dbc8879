"""Loading memory: a 5-minute, 16-file, 48 kHz stereo session (target: peak RSS <= 2.5 GB).

Reports peak RSS of a fresh process that loads the session, and its ratio to the
decoded float32 audio (1.0 would be a single copy and nothing else). Then, side by side,
the app's load job (decode + loudness + preview buffer) for the whole session vs adding a
17th file to it, where the 16 unchanged files are neither decoded nor measured again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
FILES, SECONDS, SR = 16, 300, 48000

PROBE = """
import resource, sys
from model.audio.tracks import load_tracks
r = load_tracks([sys.argv[1]])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, r.tracks.frames)
"""


def main() -> int:
    rng = np.random.default_rng(0)
    block = (0.1 * rng.standard_normal((SR * 10, 2))).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(FILES):
            with sf.SoundFile(os.path.join(tmp, f"{i:02d} Track.wav"), "w", SR, 2, subtype="PCM_24") as f:
                for _ in range(SECONDS // 10):
                    f.write(block * (0.5 + 0.03 * i))
        out = subprocess.run([sys.executable, "-c", PROBE, tmp], capture_output=True, text=True, check=True,
                             cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        full_s, add_s = add_one_file(Path(tmp), block)
    peak, frames = (int(x) for x in out.stdout.split())
    audio = FILES * frames * 2 * 4
    print(f"load {FILES} x {SECONDS / 60:.0f} min 48 kHz stereo: peak RSS {peak / 1024**3:.2f} GB "
          f"(decoded audio {audio / 1024**3:.2f} GB, ratio {peak / audio:.2f}; target <= 2.5 GB) -> "
          f"{'PASS' if peak <= 2.5 * 1024**3 else 'MISS'}")
    print(f"app load job, {FILES} files: {full_s:.1f} s; adding a 17th file to the loaded session: {add_s:.1f} s "
          f"({full_s / add_s:.1f}x less than loading everything again)")
    return 0


def add_one_file(folder: Path, block: np.ndarray) -> tuple[float, float]:
    """Seconds for the app's load job over the session, then for the same session plus one new file."""
    sys.path.insert(0, str(REPO))
    from mixingbuddy_app.workers import LoadTracksJob
    from model.audio.cache import AnalysisCache

    paths = sorted(str(p) for p in folder.glob("*.wav"))
    extra = folder / "new" / "17 Extra.wav"
    extra.parent.mkdir()
    with sf.SoundFile(str(extra), "w", SR, 2, subtype="PCM_24") as f:
        for _ in range(SECONDS // 10):
            f.write(block * 0.4)
    cache = AnalysisCache()   # what the app keeps of each file it has measured (in memory here)
    t0 = time.perf_counter()
    first = LoadTracksJob(1, paths, cache=cache)._load()
    full_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    LoadTracksJob(2, paths + [str(extra)], loaded=first.tracks, cache=cache)._load()
    return full_s, time.perf_counter() - t0


if __name__ == "__main__":
    raise SystemExit(main())
