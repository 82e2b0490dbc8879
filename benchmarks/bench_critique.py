"""Critique speed: a 4-minute, 4-stem, 44.1 kHz stereo session (target: < 5 s wall, >= 50x real time).

Measured side by side in one run: the whole CLI pipeline (load + doctor + measure +
advise) and, for reference, the same loudness work done with torchaudio's BS.1770
implementation instead of libebur128.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.advice.advisor import AdviceRequest  # noqa: E402
from model.advisors import load_advisor  # noqa: E402
from model.advice.pipeline import critique  # noqa: E402
from model.synthetic import synth_stems, write_multitrack  # noqa: E402
from model.audio.stream import analyse_files  # noqa: E402
from model.audio.tracks import load_tracks  # noqa: E402

SECONDS = 240.0
SR = 44100


def main() -> int:
    stems = synth_stems(seed=11, seconds=SECONDS, sample_rate=SR, role_offsets_db={"bass": -7.0})
    with tempfile.TemporaryDirectory() as tmp:
        write_multitrack(tmp, stems, SR, subtype="PCM_24")
        t0 = time.perf_counter()
        loaded = load_tracks([tmp])
        t1 = time.perf_counter()
        advice = critique(AdviceRequest(loaded.tracks, "vocals"), load_advisor("balance"))
        t2 = time.perf_counter()
        critique(AdviceRequest(loaded.tracks, "vocals", true_peak=True), load_advisor("balance"))
        t3 = time.perf_counter()
        analysis = analyse_files([tmp], anchor="vocals")
        streamed = critique(AdviceRequest(analysis.tracks, "vocals"), load_advisor("balance"), analysis=analysis)
        t4 = time.perf_counter()
    total = t2 - t0
    print(f"critique of a {SECONDS / 60:.0f}-min 4-stem {SR / 1000:g} kHz stereo session: "
          f"load {t1 - t0:.2f} s + critique {t2 - t1:.2f} s = {total:.2f} s wall "
          f"({SECONDS / total:.0f}x real time; target < 5 s, >= 50x) -> {'PASS' if total < 5 else 'MISS'}")
    print(f"  advice: {advice.text} ({advice.agreement})")
    print(f"  streamed (the CLI's path: each file decoded once, no track held): {t4 - t3:.2f} s "
          f"({SECONDS / (t4 - t3):.0f}x real time; target >= 50x) -> {'PASS' if SECONDS / (t4 - t3) >= 50 else 'MISS'}; "
          f"same advice: {streamed.text == advice.text}")
    print(f"  with --true-peak (every track and the mix, 4x oversampled): critique {t3 - t2:.2f} s "
          f"({(t3 - t2) / (t2 - t1):.1f}x the default)")

    import torch
    import torchaudio.functional as F

    role = stems["drums"]
    t0 = time.perf_counter()
    from model.audio.dsp import loudness_lufs
    ours = loudness_lufs(role, SR)
    t1 = time.perf_counter()
    theirs = float(F.loudness(torch.from_numpy(np.ascontiguousarray(role.T)), SR))
    t2 = time.perf_counter()
    print(f"  loudness of one 4-min stereo stem: pyebur128 {t1 - t0:.2f} s ({ours:.2f} LUFS) vs "
          f"torchaudio {t2 - t1:.2f} s ({theirs:.2f} LUFS): {((t2 - t1) / (t1 - t0)):.1f}x faster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
