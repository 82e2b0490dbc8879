"""Masking and tonal balance on the real songs in ../shared/realdata/evr (released mixes, CC0).

Speed (target): masking + tonal analysis add at most 30 % to the critique of the 38-stem song
Lithium, both timed side by side in this run on the same loaded session.
Report: masking and tonal findings per song at default settings (a released mix should get few),
the strongest masking findings with their stretch (so a listener can check them), and the tonal
findings against the shipped profile (fitted on these four songs, so in-sample) and against a
profile fitted on the other three (leave-one-out, the honest count).
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.advice.advisor import AdviceRequest  # noqa: E402
from model.advice.masking import role_masking  # noqa: E402
from model.advice.pipeline import critique  # noqa: E402
from model.advice.spectrum import review_spectrum  # noqa: E402
from model.advice.tonal import TonalProfile, aligned, compare_tonal, fit_tonal_shapes, role_shapes  # noqa: E402
from model.advisors import load_advisor  # noqa: E402
from model.audio.spectral import role_band_frames, third_octave_bands  # noqa: E402
from model.audio.tracks import Gains, load_tracks  # noqa: E402
from resources import TONAL_PROFILE  # noqa: E402

EVR = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "evr"
SONGS = ("Hydrogen", "Lithium", "Potassium", "Sodium")
SPEED_SONG = "Lithium"
TARGET_RATIO = 0.30
SHOWN = 3


def main() -> int:
    if not all((EVR / s).is_dir() for s in SONGS):
        print(f"skipped: the real songs are not at {EVR} (they live beside the repo, never in it)")
        return 0
    profile = TonalProfile.load(TONAL_PROFILE)
    bands_hz = [float(f) for f in third_octave_bands(48000).centres_hz]
    masking, shapes, band_centres = {}, {}, {}
    ratio = None
    for song in SONGS:
        tracks = load_tracks([EVR / song]).tracks
        request = AdviceRequest(tracks, "vocals")
        if song == SPEED_SONG:
            t0 = time.perf_counter()
            critique(request, load_advisor("balance"))
            t1 = time.perf_counter()
            review_spectrum(request, masking=True, tonal=profile)
            t2 = time.perf_counter()
            ratio = (t2 - t1) / (t1 - t0)
            print(f"{song} ({len(tracks.tracks)} stems, {tracks.duration_s / 60:.1f} min): critique {t1 - t0:.1f} s, "
                  f"masking + tonal {t2 - t1:.1f} s = +{ratio:.0%} (target <= {TARGET_RATIO:.0%}) -> "
                  f"{'PASS' if ratio <= TARGET_RATIO else 'MISS'}", flush=True)
        frames = role_band_frames(tracks, Gains())
        masking[song] = role_masking(frames, "vocals", limit=None)
        shapes[song] = role_shapes(frames)
        band_centres[song] = frames.bands.centres_hz
        del tracks, request, frames
        gc.collect()
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
    return 0 if ratio is not None and ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
