"""Loading memory: a 5-minute, 16-file, 48 kHz stereo session (target: peak RSS <= 2.5 GB).

Reports peak RSS of a fresh process that loads the session, and its ratio to the
decoded float32 audio (1.0 would be a single copy and nothing else).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
FILES, SECONDS, SR = 16, 300, 48000

PROBE = """
import resource, sys
from model.tracks import load_tracks
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
    peak, frames = (int(x) for x in out.stdout.split())
    audio = FILES * frames * 2 * 4
    print(f"load {FILES} x {SECONDS / 60:.0f} min 48 kHz stereo: peak RSS {peak / 1024**3:.2f} GB "
          f"(decoded audio {audio / 1024**3:.2f} GB, ratio {peak / audio:.2f}; target <= 2.5 GB) -> "
          f"{'PASS' if peak <= 2.5 * 1024**3 else 'MISS'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
