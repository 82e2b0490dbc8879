"""Esc in the app (offscreen) on the 38-stem Lithium session: how soon a load and a critique stop.

Each is measured twice: the window's state (Esc returns with the session restored and the buttons enabled)
and the work behind it (the load's job and its worker processes ended; the critique's worker thread idle
again, its cancellation reported). Target: both within 0.5 s, as the README promises. The load is cancelled
3 s after the files are listed (decoding under way), the critique 1 s after it starts (measuring).
Skipped, with the reason, where ../shared/realdata is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LITHIUM = REPO.parent / "shared" / "realdata" / "evr" / "Lithium"
TARGET_S = 0.5

CHILD = r"""
import json, multiprocessing, sys, time
from PySide6.QtCore import QTimer, Qt
from mixingbuddy_app.gui import _make_app
app = _make_app()
from mixingbuddy_app.composition import balance_factory, build_main_window
from mixingbuddy_app.playback import NullOutput
w = build_main_window(balance_factory, NullOutput("bench"))
w.show()
c = w.controller
res = {}
children_before = set()

def poll(until, then, t0, key, limit_s=30.0):
    if until():
        res[key] = time.monotonic() - t0
        then()
    elif time.monotonic() - t0 > limit_s:
        res[key] = None
        then()
    else:
        QTimer.singleShot(5, lambda: poll(until, then, t0, key, limit_s))

def load_ended():
    return c.pool.activeThreadCount() == 0 and {p.pid for p in multiprocessing.active_children()} <= children_before

def start():
    children_before.update(p.pid for p in multiprocessing.active_children())
    c.files_listed.connect(lambda files: QTimer.singleShot(3000, cancel_load))
    c.add_paths([sys.argv[1]], replace=True)

def cancel_load():
    if "load_esc_s" in res:
        return
    res["loading_when_cancelled"] = c.loading
    t0 = time.monotonic()
    w.cancel_action.trigger()
    res["load_esc_s"] = time.monotonic() - t0
    res["load_restored"] = not c.loading
    poll(load_ended, reload, t0, "load_work_s")

def reload():
    c.loading_changed.connect(lambda busy, _m: (not busy and "critique_esc_s" not in res
                                                and QTimer.singleShot(0, critique)))
    c.add_paths([sys.argv[1]], replace=True)

ended = []
def critique():
    if "critique_started" in res:
        return
    res["critique_started"] = True
    c.worker.advice_failed.connect(lambda rid, report: ended.append((time.monotonic(), report.kind.name)),
                                   Qt.ConnectionType.DirectConnection)
    c.critique()
    QTimer.singleShot(1000, cancel_critique)

def cancel_critique():
    res["busy_when_cancelled"] = c.busy
    t0 = time.monotonic()
    w.cancel_action.trigger()
    res["critique_esc_s"] = time.monotonic() - t0
    res["critique_restored"] = not c.busy and w.critique_action.isEnabled()
    poll(lambda: bool(ended), finish, t0, "critique_work_s")

def finish():
    res["critique_end"] = ended[0][1] if ended else None
    w.close(); app.quit()

QTimer.singleShot(500, start)
QTimer.singleShot(600000, app.quit)
app.exec()
print("BENCH " + json.dumps(res))
"""


def main() -> int:
    if not LITHIUM.is_dir():
        print(f"skipped: {LITHIUM} is absent (../shared holds the real-music sessions)")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-cancel-") as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MIXINGBUDDY_NO_AUDIO": "1", "PYTHONPATH": str(REPO),
               "MIXINGBUDDY_PREVIEW_DIR": tmp, "XDG_CACHE_HOME": tmp}
        out = subprocess.run([sys.executable, "-c", CHILD, str(LITHIUM)], capture_output=True, text=True, env=env,
                             cwd=REPO, timeout=900)
    line = [x for x in out.stdout.splitlines() if x.startswith("BENCH ")]
    if out.returncode != 0 or not line:
        print(f"app child failed: {out.stderr[-2000:]}")
        return 1
    r = json.loads(line[0][6:])
    ok = True
    for what, esc, work, state, running in (
            ("load", "load_esc_s", "load_work_s", "load_restored", "loading_when_cancelled"),
            ("critique", "critique_esc_s", "critique_work_s", "critique_restored", "busy_when_cancelled")):
        good = (r.get(running) and r.get(state) and r.get(work) is not None
                and max(r[esc], r[work]) <= TARGET_S)
        ok &= bool(good)
        work_s = "never (30 s)" if r.get(work) is None else f"{r[work]:.3f} s"
        print(f"Lithium (38 stems): Esc during the {what}: window restored in {r[esc]:.3f} s "
              f"({'yes' if r.get(state) else 'NO'}), the work behind it ended in {work_s} "
              f"(target <= {TARGET_S:g} s; it was running: {bool(r.get(running))}) -> {'PASS' if good else 'MISS'}",
              flush=True)
    print(f"   the critique's worker reported: {r.get('critique_end')}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
