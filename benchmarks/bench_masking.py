"""Masking and tonal balance on the real songs in ../shared/realdata/evr (released mixes, CC0).

Speed and memory (targets), on the 38-stem song Lithium: ``mixingbuddy critique --json --masking --tonal``
takes at most 1.3 x the plain ``critique --json`` (masking and tonal add at most 30 %), and its peak RSS
stays within the big-session bound (1 GB): the band analysis is fed by the streamed role sums, no track is
loaded. Both commands run in fresh subprocesses side by side, alternated twice, the faster run of each
counting (the machine's other load evens out); peak RSS is VmHWM of the process at exit.
Report: masking and tonal findings per song at default settings (a released mix should get few),
the strongest masking findings with their stretch (so a listener can check them), and the tonal
findings against the shipped profile (fitted on these four songs, so in-sample) and against a
profile fitted on the other three (leave-one-out, the honest count).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.advice.masking import role_masking  # noqa: E402
from model.advice.tonal import TonalProfile, aligned, compare_tonal, fit_tonal_shapes, role_shapes  # noqa: E402
from model.audio.spectral import BandFrameStream, third_octave_bands  # noqa: E402
from model.audio.stream import analyse_session  # noqa: E402
from model.audio.tracks import plan_session  # noqa: E402
from resources import TONAL_PROFILE  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EVR = REPO.parent / "shared" / "realdata" / "evr"
SONGS = ("Hydrogen", "Lithium", "Potassium", "Sodium")
SPEED_SONG = "Lithium"
TARGET_RATIO = 1.3
TARGET_RSS = 1024**3
SHOWN = 3

# Peak RSS is VmHWM of this process image (getrusage's ru_maxrss would include the parent's RSS at fork).
CRITIQUE = """
import contextlib, io, re, sys, time
from mixingbuddy_app.cli import main
t0, cpu0 = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(io.StringIO()):
    rc = main(sys.argv[1:])
wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
print(wall, cpu, hwm, rc)
"""


def run_critique(*args: str) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS bytes) of `mixingbuddy critique ARGS` in a fresh process; raises if it fails."""
    out = subprocess.run([sys.executable, "-c", CRITIQUE, *args], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    wall, cpu, rss, rc = out.stdout.split() if out.returncode == 0 and out.stdout.strip() else ("0", "0", "0", "?")
    if rc != "0":
        raise RuntimeError(f"critique {' '.join(args)} failed: {out.stderr.strip()[-300:]}")
    return float(wall), float(cpu), int(rss)


def speed_and_memory(folder: Path) -> bool:
    """Plain critique vs critique --masking --tonal: wall-time ratio and peak RSS (see the module docstring)."""
    plain, spectral = [], []
    for _ in range(2):
        plain.append(run_critique(str(folder), "--json"))
        spectral.append(run_critique(str(folder), "--json", "--masking", "--tonal"))
    (plain_s, plain_cpu, plain_rss), (spectral_s, spectral_cpu, _) = min(plain), min(spectral)
    ratio = spectral_s / plain_s
    peak = max(rss for _, _, rss in spectral)
    ok = ratio <= TARGET_RATIO and peak <= TARGET_RSS
    print(f"{folder.name}: critique {plain_s:.1f} s (peak RSS {plain_rss / 1024**3:.2f} GB), "
          f"with --masking --tonal {spectral_s:.1f} s -> ratio {ratio:.2f} (target <= {TARGET_RATIO}); "
          f"peak RSS {peak / 1024**3:.2f} GB (target <= 1 GB) -> {'PASS' if ok else 'MISS'}", flush=True)
    print(f"  (CPU time, less swayed by other load: {plain_cpu:.1f} s vs {spectral_cpu:.1f} s, "
          f"ratio {spectral_cpu / plain_cpu:.2f})", flush=True)
    return ok


def main() -> int:
    if not all((EVR / s).is_dir() for s in SONGS):
        print(f"skipped: the real songs are not at {EVR} (they live beside the repo, never in it)")
        return 0
    ok = speed_and_memory(EVR / SPEED_SONG)
    profile = TonalProfile.load(TONAL_PROFILE)
    bands_hz = [float(f) for f in third_octave_bands(48000).centres_hz]
    masking, shapes, band_centres = {}, {}, {}
    for song in SONGS:
        plan = plan_session([EVR / song])  # streamed as the CLI does: no track is loaded
        stream = BandFrameStream.over(plan.sample_rate, plan.frames)
        analyse_session(plan, per_track=False, on_role_sums=stream.add)
        frames = stream.finish()
        masking[song] = role_masking(frames, "vocals", limit=None)
        shapes[song] = role_shapes(frames)
        band_centres[song] = frames.bands.centres_hz
    for song in SONGS:
        others = [{r: aligned(v, band_centres[o], bands_hz) for r, v in shapes[o].items()} for o in SONGS if o != song]
        held_out = TonalProfile("electronic", fit_tonal_shapes(others, bands_hz))
        in_sample = compare_tonal(shapes[song], band_centres[song], profile)
        out_of_sample = compare_tonal(shapes[song], band_centres[song], held_out)
        found = masking[song]
        print(f"\n{song}: {len(found)} masking finding(s); tonal {len(out_of_sample)} leave-one-out, "
              f"{len(in_sample)} in-sample")
        for f in found[:SHOWN]:
            print(f"  masking {f.masker} over {f.maskee}, {f.start_s:.0f}-{f.end_s:.0f} s, "
                  f"{f.low_hz:.0f}-{f.high_hz:.0f} Hz, {f.depth_db:.0f} dB: {f.text}")
        for f in out_of_sample:
            print(f"  tonal (leave-one-out) {f.text}")
        for f in in_sample:
            print(f"  tonal (in-sample) {f.text}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
