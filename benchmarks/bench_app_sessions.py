"""The app (offscreen) on big sessions: time to the first row and to ready, memory, critique, Apply, re-check,
the event loop's longest stall while loading, and the audio callback with 96 tracks.

Sessions: ../shared/realdata/evr/Lithium (38 Ogg stems, 5:27; skipped where ../shared is absent) and the
generated 96-track, 5-minute, 48 kHz stereo session of bench_sessions.py. Each runs in a fresh process
that samples /proc/self/status every 20 ms: VmRSS and RssAnon (the app's own memory, its worker
processes' added) with RssFile (the
memory-mapped preview, page cache the kernel can drop) reported apart. The files are dropped on the window
once it is shown; the first row is the moment the track table lists one (from the file headers), and the
longest stall counts the event-loop tick that spans the load's end (the rows are built then), split into the
GUI thread's time on a CPU and its wait for one (other processes on a shared machine). Targets: first row
<= 1 s, longest stall while loading <= 100 ms, anonymous memory <= 3 GB for the 96-track session; the
callback's maximum under half its period while the app's meters (measure_request, as MeasureJob runs it: in the
metering process) measure; for comparison, the metering on a thread of the app, as before the metering process; and played from a cold preview (its pages
dropped first, as memory pressure drops them), with the engine's read-ahead and, for comparison, without it.

The load keeps each file's window readings and doctor statistics in the analysis cache (on disk, by file
stamp), so critique, re-check and Apply measure only the role sums and the mix, and a critique started beside
the meters waits for their measurement instead of repeating it. A session of 16 files and 60 s or more is
decoded in worker processes. A load's end updates each view once (the controller's signals come as one burst)
and the worker processes run at nice 5, so the GUI thread gets a core first. Last run (2 cores, no other work,
at the read-ahead's commit): Lithium first row 0.04 s, ready 13.9 s, stall 61 ms (the GUI thread waited for a
core), anonymous 0.19 + 0.07 GB (worker processes), critique 3.5 s, Apply exact at once, re-check 3.5 s;
reopened: ready 9.2 s, stall 35 ms; 96 tracks: first row 0.02 s, ready 33.8 s, stall 41 ms, anonymous 0.31 +
0.07 GB, critique 7.0 s (6.5 s the run before). Callback maximum beside the meters 0.9-1.0 ms (0.8-3.3 ms with
the limiter) of a 10.7 ms period over two runs, alone 0.3-0.8 ms (an earlier run reached 87 ms once, straight
after the app's 10 GB sessions were deleted; the same measurement run by itself, 0.3 ms), with the meters on a
thread of the app 2.4-3.0 ms (5.2-5.4 ms at Python's default switch interval). Played cold (the preview's pages
dropped first), with the read-ahead: max 2.5 and 4.1 ms (0.5-0.8 ms in three runs of that case alone); without
it the first block waited 461-470 ms for the disk. (The first read-ahead waited for its thread's next round after
the first chunk: 263-438 ms at the second chunk, cold.) A later day, with the machine at about half its speed (the
same critique 7.5 s, even warm playback peaking at 4-12 ms), the read-ahead that asked the kernel (posix_fadvise)
played cold at a 99th-percentile block of 7.6-8.9 ms, max 13.5-20.5 ms, and the read-ahead that reads in play
order, alternated with it in one run, 2.4-2.7 ms, max 5.7-12.2 ms; the whole benchmark then gave 6.4 and 6.0 ms
cold (0.54 and 0.66 s without reading ahead). The cold cases play at the app's switch interval (they ran at
Python's default before). Back at its usual speed (callback cases alone, three runs): cold max 0.69, 1.87 and
1.47 ms, without reading ahead 484-536 ms; the first run, straight after a 5.8 GB install had been written, had the
"alone" cases peak at 12.8 and 36.6 ms (p99 0.2 ms), the next two 0.27-4.5 ms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LITHIUM = REPO.parent / "shared" / "realdata" / "evr" / "Lithium"
GB = 1024**3
FIRST_ROW_TARGET_S = 1.0
STALL_TARGET_MS = 100.0
ANON_TARGET = 3 * GB
BLOCK, RATE, CALLBACK_TRACKS = 512, 48000, 96

CHILD = r"""
import json, os, re, sys, threading, time
from PySide6.QtCore import QTimer
from mixingbuddy_app.gui import _make_app, freeze_startup_objects
app = _make_app()
from mixingbuddy_app.composition import balance_factory, build_main_window
from mixingbuddy_app.playback import NullOutput

peaks = {"VmRSS": 0, "RssAnon": 0, "RssFile": 0, "RssShmem": 0, "children_RssAnon": 0}
stop = threading.Event()
def anon_kb(pid):
    try:
        m = re.search(r"RssAnon:\s+(\d+) kB", open(f"/proc/{pid}/status").read())
    except OSError:   # it has just ended
        return 0
    return int(m.group(1)) if m else 0
def child_pids():
    pids = set()
    for task in os.listdir("/proc/self/task"):
        try:
            pids.update(open(f"/proc/self/task/{task}/children").read().split())
        except OSError:
            pass
    return pids
def sample():
    while not stop.is_set():
        text = open("/proc/self/status").read()
        for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
            m = re.search(k + r":\s+(\d+) kB", text)
            if m:
                peaks[k] = max(peaks[k], int(m.group(1)) * 1024)
        # the app's worker processes (the load's decoders, the metering process) count as the app's memory too
        children = sum(anon_kb(pid) for pid in child_pids()) * 1024
        peaks["children_RssAnon"] = max(peaks["children_RssAnon"], children)
        time.sleep(0.02)
threading.Thread(target=sample, daemon=True).start()
gui_thread, collecting = threading.get_native_id(), {}
def on_gc(phase, info):   # the longest garbage collection on the GUI thread after the drop (a stall suspect)
    if threading.get_native_id() != gui_thread or "t0" not in res:
        return
    if phase == "start":
        collecting["t"] = time.perf_counter()
    elif "t" in collecting:
        ms = (time.perf_counter() - collecting.pop("t")) * 1000
        if ms > res.get("gc_ms", 0.0):
            res.update(gc_ms=ms, gc_generation=info["generation"], gc_at_s=time.perf_counter() - res["t0"])

w = build_main_window(balance_factory, NullOutput("bench"))
w.ask_add_or_new = lambda name: "add"
w.ask_unsaved = lambda what: "discard"
w.show()
freeze_startup_objects()   # as mixingbuddy_app.gui.main does
c = w.controller
res = {"stall_ms": 0.0}
import gc
gc.callbacks.append(on_gc)
# The GUI thread's time on a CPU and waiting for one (ns, /proc/.../schedstat) per tick, so the longest stall
# can be split into the app's own work and the machine's other load (the kernel's run queue).
gui_task = f"/proc/self/task/{threading.get_native_id()}/schedstat"
def sched():
    on_cpu, queued = open(gui_task).read().split()[:2]
    return int(on_cpu) / 1e6, int(queued) / 1e6
tick = {"last": None, "loading": False}
def on_tick():
    now, (cpu, queued) = time.perf_counter(), sched()
    # a tick counts while a load runs, and the one spanning its end too (the rows are built then)
    if tick["last"] is not None and (c.loading or tick["loading"]):
        stall = (now - tick["last"]) * 1000 - 10
        if stall > res["stall_ms"]:
            res.update(stall_ms=stall, stall_at_s=tick["last"] - res["t0"], stall_cpu_ms=cpu - tick["cpu"],
                       stall_queued_ms=queued - tick["queued"])
    tick.update(last=now, loading=c.loading, cpu=cpu, queued=queued)
ticker = QTimer(); ticker.setInterval(10); ticker.timeout.connect(on_tick); ticker.start()

def listed(files):   # connected after the table's own slot: the rows are there now
    if w.table.rowCount():
        res.setdefault("first_row_s", time.perf_counter() - res["t0"])
def first_read(read):
    res.setdefault("first_read_s", time.perf_counter() - res["t0"])
def loading(busy, _m):
    if not busy and "ready_s" not in res:
        res["ready_s"] = time.perf_counter() - res["t0"]
        QTimer.singleShot(0, start_critique)
def start_critique():
    res["tracks"] = len(c.project.tracks.tracks) if c.project.tracks else 0
    res["t1"] = time.perf_counter()
    c.critique()
def advice(a):
    if a is None:
        return
    if "critique_s" not in res:
        res["critique_s"] = time.perf_counter() - res.pop("t1")
        res["advice"] = a.text
        if c.can_apply():
            t = time.perf_counter()
            c.apply()
            res["apply_s"] = time.perf_counter() - t
            res["exact_after_apply"] = c.project.loudness_is_exact()
            res["t1"] = time.perf_counter()
            c.recheck()
        else:
            done()
    else:
        res["recheck_s"] = time.perf_counter() - res.pop("t1")
        done()
def done():
    stop.set()
    res["peaks"] = dict(peaks)
    w.close(); app.quit()
c.files_listed.connect(listed)
c.file_loaded.connect(first_read)
c.loading_changed.connect(loading)
c.advice_changed.connect(advice)
c.error.connect(lambda r: r.severity == "error" and (res.setdefault("error", r.message), done()))
def go():
    res["t0"] = time.perf_counter()
    c.add_paths([sys.argv[1]], replace=True)
# the files are dropped on a window that is already shown and painted, as a user would
QTimer.singleShot(500, go)
QTimer.singleShot(900000, done)
app.exec()
print("BENCH " + json.dumps(res))
"""

GENERATE = """
import sys
from pathlib import Path
sys.path.insert(0, "benchmarks")
from bench_sessions import write_session
write_session(Path(sys.argv[1]))
"""


def run_app(folder: Path, preview_dir: str) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MIXINGBUDDY_NO_AUDIO": "1", "PYQTGRAPH_QT_LIB": "PySide6",
           "PYTHONPATH": str(REPO), "MIXINGBUDDY_PREVIEW_DIR": preview_dir, "XDG_CACHE_HOME": preview_dir}
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=1200)
    line = [x for x in out.stdout.splitlines() if x.startswith("BENCH ")]
    if out.returncode != 0 or not line:
        raise SystemExit(f"app child failed: {out.stderr[-2000:]}")
    r = json.loads(line[0][6:])
    r["stderr"] = out.stderr.strip()
    return r


def report(name: str, r: dict, anon_target: float | None) -> bool:
    p = r["peaks"]
    ok = r.get("first_row_s", 1e9) <= FIRST_ROW_TARGET_S and r["stall_ms"] <= STALL_TARGET_MS and "error" not in r
    print(f"{name}: {r.get('tracks')} tracks; first row {r.get('first_row_s', float('nan')):.2f} s "
          f"(target <= {FIRST_ROW_TARGET_S:g} s; first file read {r.get('first_read_s', float('nan')):.2f} s), "
          f"ready {r['ready_s']:.1f} s; longest event-loop stall while loading {r['stall_ms']:.0f} ms "
          f"(target <= {STALL_TARGET_MS:g} ms) at {r.get('stall_at_s', float('nan')):.1f} s: the GUI thread ran "
          f"{r.get('stall_cpu_ms', float('nan')):.0f} ms and waited {r.get('stall_queued_ms', float('nan')):.0f} ms "
          f"for a CPU meanwhile; longest garbage collection on the GUI thread {r.get('gc_ms', 0.0):.0f} ms "
          f"(generation {r.get('gc_generation', '-')}) at {r.get('gc_at_s', float('nan')):.1f} s", flush=True)
    anon = p["RssAnon"] + p["children_RssAnon"]
    ok &= anon_target is None or anon <= anon_target
    print(f"   peak RSS {p['VmRSS'] / GB:.2f} GB = anonymous {p['RssAnon'] / GB:.2f} GB + "
          f"{p['children_RssAnon'] / GB:.2f} GB in its worker processes = {anon / GB:.2f} GB (sum of the peaks)"
          + (f" (target <= {anon_target / GB:g} GB)" if anon_target else " (reported)")
          + f" + file-backed {p['RssFile'] / GB:.2f} GB (the memory-mapped preview: reclaimable page cache)"
          + f" + shared {p['RssShmem'] / GB:.2f} GB", flush=True)
    print(f"   critique {r.get('critique_s', float('nan')):.1f} s; Apply {r.get('apply_s', float('nan')) * 1000:.0f} ms "
          f"(meters exact right after: {r.get('exact_after_apply')}); re-check {r.get('recheck_s', float('nan')):.1f} s"
          f"; advice: {r.get('advice', r.get('error'))} -> {'PASS' if ok else 'MISS'}", flush=True)
    return ok


def callback_with_measurement(seconds: float = 20.0, blocks: int = 3000) -> dict:
    """MixEngine.render with 96 stereo tracks in a memory-mapped preview buffer while the app's meters run
    (model.advice.pipeline.measure_request on those tracks, as MeasureJob does: the metering in the
    metering process, a thread here waiting for it); for comparison, the metering on a thread of this
    process, at the app's switch interval and at Python's default one."""
    import threading

    from mixingbuddy_app.playback import AUDIO_SWITCH_INTERVAL_S, MixEngine, preview_buffer, preview_file
    from model.advice.advisor import AdviceRequest, CancelToken
    from model.advice.pipeline import measure_request
    from model.audio.decode import AudioInfo
    from model.audio.meter_process import MeteringProcess
    from model.audio.roles import ROLES, RoleGuess
    from model.audio.tracks import Track, TrackSet
    from model.errors import Cancelled

    frames = int(seconds * RATE)
    default_interval = sys.getswitchinterval()
    process = MeteringProcess(preview_file)
    with tempfile.TemporaryDirectory() as tmp:
        buf = preview_buffer(CALLBACK_TRACKS, frames, tmp)
        rng = np.random.default_rng(0)
        noise = (rng.standard_normal((RATE, 2)) * 0.05).astype(np.float32)
        for i in range(CALLBACK_TRACKS):
            for s in range(0, frames, RATE):
                buf[i, s:s + RATE] = noise[: min(RATE, frames - s)]
        os.sync()   # the buffer's pages written back before timing, as after a load
        tracks = TrackSet(tuple(
            Track(f"t{i}", f"t{i}.wav", f"t{i}.wav", RoleGuess(ROLES[i % len(ROLES)], "user", None), buf[i], RATE,
                  AudioInfo(f"t{i}.wav", RATE, 2, frames, "WAV", "FLOAT", stamp=(i, i)))
            for i in range(CALLBACK_TRACKS)), RATE)
        engine = MixEngine(RATE)
        out = np.zeros((BLOCK, 2), np.float32)

        def meter(token: CancelToken, request: AdviceRequest, measure_with) -> None:   # the meters' job, repeated
            try:
                while True:
                    measure_request(request, per_track=False, cancel=token, measure_with=measure_with)
            except Cancelled:
                pass

        result, period = {}, BLOCK / RATE
        measuring = {"process": process.measure_session, "thread": None}   # where the meters meter
        for label, gain, where, interval in (
                ("alone, normal", 0.3, None, AUDIO_SWITCH_INTERVAL_S),
                ("alone, limiter active", 3.0, None, AUDIO_SWITCH_INTERVAL_S),
                ("the meters running, normal", 0.3, "process", AUDIO_SWITCH_INTERVAL_S),
                ("the meters running, limiter active", 3.0, "process", AUDIO_SWITCH_INTERVAL_S),
                ("the meters on a thread of this process, limiter active", 3.0, "thread", AUDIO_SWITCH_INTERVAL_S),
                ("the meters on a thread of this process, limiter active, Python's default switch interval", 3.0,
                 "thread", default_interval)):
            sys.setswitchinterval(interval)
            engine.set_buffer(buf, np.full(CALLBACK_TRACKS, gain, np.float32), RATE)
            engine.set_loop(0, frames)
            engine.seek(0)
            engine.start()
            token = CancelToken()
            t = None
            if where is not None:
                t = threading.Thread(target=meter, args=(token, AdviceRequest(tracks, None), measuring[where]))
                t.start()
                time.sleep(1.0)   # the metering under way (the process started) before timing
            result[label] = _played(engine, out, blocks, period)
            token.cancel()
            if t is not None:
                t.join()
        sys.setswitchinterval(AUDIO_SWITCH_INTERVAL_S)   # as the app plays
        for label, read_ahead in (("cold: the preview's pages dropped, then played", True),
                                  ("cold, without reading ahead (as before)", False)):
            engine = MixEngine(RATE)
            if not read_ahead:
                engine._read_ahead.read = lambda ranges, skip_recent=False: None
                engine._read_ahead.read_now = lambda ranges: None
            engine.set_buffer(buf, np.full(CALLBACK_TRACKS, 0.3, np.float32), RATE)
            if not _drop_pages(buf):
                print(f"audio callback ({label}): skipped (this kernel cannot drop a mapping's pages)")
                continue
            engine.start()
            result[label] = _played(engine, out, blocks, period)
        sys.setswitchinterval(default_interval)
        process.close()
        del buf, engine, tracks
    return result


def _played(engine, out: np.ndarray, blocks: int, period: float) -> dict:
    """Render ``blocks`` blocks as the audio callback would, one each half period or so, then stop: how long each
    render took."""
    times = np.empty(blocks)
    for i in range(blocks):
        t0 = time.perf_counter()
        engine.render(out, BLOCK)
        times[i] = time.perf_counter() - t0
        time.sleep(max(0.0, period - times[i]) * 0.5)
    engine.playing = False
    return {"mean_us": times.mean() * 1e6, "p99_us": float(np.percentile(times, 99)) * 1e6,
            "max_us": times.max() * 1e6, "period_us": period * 1e6}


def _drop_pages(buf: np.ndarray) -> bool:
    """Drop the memory-mapped ``buf``'s pages from memory (madvise MADV_PAGEOUT, Linux 5.4+), as memory pressure
    does: the next read of each comes from the disk."""
    import mmap

    base = buf
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.base
    try:
        base.madvise(getattr(mmap, "MADV_PAGEOUT", 21))
    except (AttributeError, OSError, ValueError):
        return False
    return True


def main() -> int:
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-app-preview-") as preview:
        if LITHIUM.is_dir():
            ok &= report("Lithium (38 Ogg stems, 5:27)", run_app(LITHIUM, preview), None)
            again = run_app(LITHIUM, preview)   # every unchanged file's analysis comes from the cache on disk
            print(f"   reopened with the cache: first row {again.get('first_row_s', float('nan')):.2f} s, ready "
                  f"{again['ready_s']:.1f} s, longest stall {again['stall_ms']:.0f} ms, critique "
                  f"{again['critique_s']:.1f} s, re-check {again.get('recheck_s', float('nan')):.1f} s")
        else:
            print(f"Lithium: skipped ({LITHIUM} is absent: ../shared holds the real-music sessions)")
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", GENERATE, tmp], check=True, cwd=REPO,
                           env={**os.environ, "PYTHONPATH": str(REPO)})
            print(f"  (generated the 96-track session in {time.perf_counter() - t0:.0f} s)", flush=True)
            ok &= report("generated 96 x 5 min 48 kHz stereo", run_app(Path(tmp), preview), ANON_TARGET)
    for label, r in callback_with_measurement().items():
        good = r["max_us"] <= r["period_us"] / 2
        baseline = "on a thread of this process" in label or "as before" in label   # for comparison only
        ok &= good or baseline
        print(f"audio callback, {CALLBACK_TRACKS} stereo tracks (memory-mapped), {BLOCK}-frame blocks "
              f"({label}): mean {r['mean_us']:.0f} us, p99 {r['p99_us']:.0f} us, max "
              f"{r['max_us']:.0f} us of a {r['period_us']:.0f} us period (target: max <= half, ratio "
              f"{r['max_us'] / (r['period_us'] / 2):.2f}) -> "
              f"{'for comparison' if baseline else 'PASS' if good else 'MISS'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
