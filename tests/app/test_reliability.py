"""Issue 6 through the GUI: bad input, bad session files, interrupted saves, advisor faults, a monkey test.

Every case starts from a window that already holds an edited session and checks that the bad
thing ends in a banner (never an exception), that what could be loaded is loaded, and that the
open session is unchanged. The corpus is generated here (builders shared with
tests/test_bad_input.py); nothing binary is committed.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtWidgets import QApplication

from model.errors import ModelRuntimeError
from model.extras import missing_modules
from model.audio.roles import ROLES

from mixingbuddy_app.widgets.track_table import rel_text

from tests.app.conftest import RATE, StubAdvisor, critique, load, make_stems, verdict
from tests.app.test_loading import _drop
from tests.test_bad_input import truncated_header

SR = RATE


# --- helpers ------------------------------------------------------------------------

def state(c) -> dict:
    """Everything a user would lose: tracks, roles, gains, mutes, solos, anchor, region, advice, history."""
    p = c.project
    tracks = p.tracks.tracks if p.tracks else ()
    return {
        "tracks": [(t.id, os.path.abspath(t.path), t.role.role, t.role.source) for t in tracks],
        "track_db": dict(p.track_db), "role_db": dict(p.role_db),
        "muted": set(p.muted), "soloed": set(p.soloed), "anchor": p.anchor, "region": p.region,
        "advice": p.advice.text if p.advice else None, "advice_current": c.advice_is_current(),
        "can_undo": p.can_undo(), "session_path": p.session_path,
    }


def track_state(c, ids) -> dict:
    p = c.project
    return {i: (p.tracks.get(i).role.role, p.track_db.get(i), i in p.muted, i in p.soloed) for i in ids}


@pytest.fixture
def session_window(qtbot, make_window, tmp_path):
    """A window holding four stems with edits (role override, anchor, gains, mute, region) and a critique."""
    def build(advisor=None):
        stems = make_stems(tmp_path / "session")
        w = make_window(advisor or StubAdvisor([("vocals", "quiet")]))
        c = load(qtbot, w, stems)
        w.table.role_combos["04 Pad.wav"].setCurrentText("bass")
        c.set_anchor("drums")
        c.set_track_gain("01 Lead Vox.wav", -2.5)
        c.set_role_gain("vocals", 1.5)
        c.set_muted("03 Bass DI.wav", True)
        c.set_region((1.0, 4.0))
        critique(qtbot, w)
        assert c.advice_is_current()
        return w, c
    return build


def error_banners(w):
    return [b.report for b in w.banners.banners if b.report.severity in ("error", "warning")]


def no_internal_errors(w):
    bad = [r for r in error_banners(w) if r.message.startswith("Internal error") or r.title == "Unexpected error"]
    assert not bad, bad


def noise(seconds=3.0, seed=0, amp=0.1):
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


# --- (a) the bad-input corpus dropped into a loaded session ---------------------------

def _in_folder(writer, name="Pad.wav"):
    """A folder holding one good new stem and the bad file: the folder is dropped."""
    def make(d):
        sf.write(d / "Keys 2.wav", noise(), SR)
        writer(d / name)
        return [d]
    return make


def _beside(make_bad):
    """The good new stem and a bad path dropped together."""
    def make(d):
        sf.write(d / "Keys 2.wav", noise(), SR)
        return [d / "Keys 2.wav", make_bad(d)]
    return make


def _symlink_loop(d):
    (d / "loop_a.wav").symlink_to(d / "loop_b.wav")
    (d / "loop_b.wav").symlink_to(d / "loop_a.wav")
    return d / "loop_a.wav"


def _empty_folder(d):
    (d / "empty").mkdir()
    return d / "empty"


def _folder_named_wav(d):
    (d / "Stems.wav").mkdir()
    return d / "Stems.wav"


# name -> (builder, needle in the banner); the same cases exit 2 in tests/test_bad_input.py
FILE_CASES = {
    "text file named .wav": (_in_folder(lambda p: p.write_text("hi")), "not a readable audio file"),
    "truncated WAV header": (_in_folder(truncated_header), "not a readable audio file"),
    "AAC stem in the folder": (_in_folder(lambda p: p.write_bytes(b"\0\0\0\x20ftypM4A " + bytes(64)), "Pad.m4a"),
                               "M4A (AAC or Apple Lossless) files cannot be read"),
    "zero frames": (_in_folder(lambda p: sf.write(p, np.zeros((0, 1)), SR)), "no audio frames"),
    "NaN samples": (_in_folder(lambda p: sf.write(p, np.full(SR, np.nan, np.float32), SR, subtype="FLOAT")), "NaN"),
    "Inf samples": (_in_folder(lambda p: sf.write(p, np.full(SR, np.inf, np.float32), SR, subtype="FLOAT")),
                    "infinite"),
    "symlink loop": (_beside(_symlink_loop), "loop_a.wav"),
    "missing file": (_beside(lambda d: d / "ghost.wav"), "no such file"),
    "empty folder": (_beside(_empty_folder), "no audio files"),
    "folder given as a .wav name": (_beside(_folder_named_wav), "no audio files"),
}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("case", list(FILE_CASES))
def test_bad_file_dropped_into_a_loaded_session(qtbot, session_window, tmp_path, case):
    w, c = session_window()
    before = state(c)
    old_ids = [t[0] for t in before["tracks"]]
    old_tracks = track_state(c, old_ids)
    old_audio = {t.id: t.audio for t in c.project.tracks.tracks}
    make, needle = FILE_CASES[case]
    drop = tmp_path / "drop"
    drop.mkdir()
    paths = make(drop)
    with qtbot.waitSignal(c.files_failed, timeout=15000) as blocker:
        _drop(w, paths)
    qtbot.waitUntil(lambda: not c.loading, timeout=15000)
    reasons = " ".join(r for _, r in blocker.args[0])
    assert needle.lower() in reasons.lower(), reasons
    banners = [r for r in error_banners(w) if "not loaded" in r.title]
    assert banners and needle.lower() in (banners[-1].message + banners[-1].detail).lower()
    # the good new stem loaded beside the existing ones
    p = c.project
    assert p.track_ids[:4] == old_ids and "Keys 2.wav" in p.track_ids and len(p.track_ids) == 5
    # the open session is unchanged: roles, gains, mutes, anchor, region, audio
    assert track_state(c, old_ids) == old_tracks
    assert p.role_db == before["role_db"] and p.anchor == before["anchor"] and p.region == before["region"]
    assert all(np.array_equal(p.tracks.get(i).audio, old_audio[i]) for i in old_ids)
    assert w.table.track_count() == 5 and w.isVisible() and w.critique_action.isEnabled()
    items = [w.advice.findings.item(i).text() for i in range(w.advice.findings.count())]
    assert any("Not loaded" in t for t in items)
    no_internal_errors(w)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_nothing_new_loads_and_the_session_keeps_its_critique(qtbot, session_window, tmp_path):
    """Only bad files dropped: banner; the session, its critique and its undo history are untouched."""
    w, c = session_window()
    before = state(c)
    revision = c.project.revision
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with qtbot.waitSignal(c.files_failed, timeout=15000):
        _drop(w, [bad, tmp_path / "ghost.wav"])
    qtbot.waitUntil(lambda: not c.loading, timeout=15000)
    assert state(c) == before and c.project.revision == revision
    assert c.advice_is_current() and w.apply_action.isEnabled()
    msgs = " ".join(r.message + r.detail for r in error_banners(w))
    assert "bad.wav" in msgs and "ghost.wav" in msgs


def test_unreadable_file_is_listed_and_the_rest_loads(qtbot, session_window, tmp_path, monkeypatch):
    """Permissions: as root nothing is unreadable, so the OS answer is simulated for one file."""
    import model.audio.decode

    w, c = session_window()
    old = track_state(c, c.project.track_ids)
    d = tmp_path / "perm"
    d.mkdir()
    sf.write(d / "Keys 2.wav", noise(), SR)
    sf.write(d / "Locked.wav", noise(seed=1), SR)
    real_access = os.access
    monkeypatch.setattr(model.audio.decode.os, "access",
                        lambda p, mode: False if str(p).endswith("Locked.wav") else real_access(p, mode))
    with qtbot.waitSignal(c.files_failed, timeout=15000) as blocker:
        c.add_paths([str(d)])
    assert "permission denied" in blocker.args[0][0][1]
    qtbot.waitUntil(lambda: not c.loading, timeout=15000)
    assert "Keys 2.wav" in c.project.track_ids and "Locked.wav" not in c.project.track_ids
    assert track_state(c, list(old)) == old


def test_silent_stems_load_and_critique_says_why_it_cannot_judge(qtbot, make_window, session_window, tmp_path):
    # all-silent stems: they load (silence is valid audio); the critique explains, the app stays usable
    d = tmp_path / "silent"
    d.mkdir()
    for name in ("Lead Vox.wav", "Drums.wav", "Bass.wav"):
        sf.write(d / name, np.zeros(SR * 3, np.float32), SR)
    w = make_window()
    c = load(qtbot, w, [d])
    assert len(c.project.track_ids) == 3
    with qtbot.waitSignal(c.error, timeout=15000) as blocker:
        c.critique()
    message = blocker.args[0].message.lower()
    assert "nothing to anchor" in message or "plays in the judged span" in message, message  # no anchor picked: the pipeline finds none
    qtbot.waitUntil(lambda: not c.busy, timeout=5000)
    assert w.critique_action.isEnabled() and c.project.advice is None
    assert w.advice.confidence.text() == ""  # the first critique failed: the panel no longer says "Critiquing…"
    # a silent anchor in a real session: same message, the rest of the session intact
    w2, c2 = session_window()
    sil = tmp_path / "Drums Silent.wav"
    sf.write(sil, np.zeros(SR * 6, np.float32), SR)
    load(qtbot, w2, [sil])
    c2.set_muted("02 Kick.wav", True)            # only the silent drum track is left on the anchor
    with qtbot.waitSignal(c2.error, timeout=15000) as blocker:
        c2.critique()
    message = blocker.args[0].message.lower()
    assert "no audible" in message or "silent in the judged span" in message, message
    qtbot.waitUntil(lambda: not c2.busy, timeout=5000)
    no_internal_errors(w2)


def test_role_and_anchor_mistakes_are_banners_and_change_nothing(qtbot, session_window, make_window, stems):
    w, c = session_window()
    before = state(c)
    for bad in ("other", "piano"):
        with qtbot.waitSignal(c.error) as blocker:
            c.set_anchor(bad)
        assert "vocals, drums or bass" in blocker.args[0].message
    c.set_role("03 Bass DI.wav", "other")
    c.set_role("04 Pad.wav", "other")              # no bass left
    before = state(c)
    with qtbot.waitSignal(c.error) as blocker:
        c.set_anchor("bass")                       # the anchor role is absent
    assert "no tracks" in blocker.args[0].message
    with qtbot.waitSignal(c.error) as blocker:
        c.set_role("01 Lead Vox.wav", "guitar")
    assert "Unknown role" in blocker.args[0].message
    with qtbot.waitSignal(c.error):
        c.set_role("Nope.wav", "bass")             # an unknown track
    assert state(c) == before
    # a region outside the song or reversed is clamped to the song, never an error
    c.set_region((100.0, 120.0))
    assert c.project.region is None
    c.set_region((4.0, 2.0))
    assert c.project.region == (2.0, 4.0)
    # no vocals, drums or bass at all: no anchor, Critique is disabled and says why
    w2 = make_window()
    c2 = load(qtbot, w2, [stems[3]])
    assert c2.project.anchor is None and not w2.critique_action.isEnabled()
    with qtbot.waitSignal(c2.error) as blocker:
        c2.critique()
    assert "No vocals, drums or bass" in blocker.args[0].message
    no_internal_errors(w)


def test_llm_without_a_checkpoint_falls_back_to_the_measured_advisor(qtbot, tmp_path, stems):
    from PySide6.QtCore import QSettings

    from mixingbuddy_app.composition import advisor_factory_for, build_main_window
    from mixingbuddy_app.playback import NullOutput
    from mixingbuddy_app.settings import AdvisorSettings, AppSettings

    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = build_main_window(advisor_factory_for(AdvisorSettings(advisor="llm")), NullOutput("t"), settings=settings)
    qtbot.addWidget(w)
    w.show()
    load(qtbot, w, stems)
    advice = critique(qtbot, w)
    assert advice.advisor_id == "balance"
    why = "pip install 'mixingbuddy[llm]'" if missing_modules("llm") else "no LLM checkpoint"  # the core-only venv
    assert any(why in m for m in w.banners.messages())


# --- (b) session files ----------------------------------------------------------------

def _valid_session(stems_dir: Path) -> dict:
    return {"schema": "mixingbuddy.session/1",
            "tracks": [{"id": "01 Lead Vox.wav", "path": "01 Lead Vox.wav", "role": "vocals", "role_source": "name",
                        "gain_db": 0.0, "muted": False, "soloed": False}],
            "role_gains": {"vocals": 0.0}, "anchor": "vocals", "region": None, "advice": None}


def _with(**changes):
    def make(d):
        s = _valid_session(d)
        for k, v in changes.items():
            if k.startswith("track_"):
                s["tracks"][0][k[len("track_"):]] = v
            elif v is _DROP:
                s.pop(k)
            else:
                s[k] = v
        return json.dumps(s)
    return make


_DROP = object()

SESSION_CASES = {
    # wrong types
    "tracks is a string": (_with(tracks="01 Lead Vox.wav"), "'tracks' must be a list"),
    "a track entry is a string": (_with(tracks=["01 Lead Vox.wav"]), "tracks[0] must be an object"),
    "gain is a string": (_with(track_gain_db="loud"), "gain_db must be a finite number"),
    "gain is NaN": (lambda d: _with()(d).replace('"gain_db": 0.0', '"gain_db": NaN'), "gain_db must be a finite"),
    "muted is a string": (_with(track_muted="yes"), "muted must be true or false"),
    "unknown role": (_with(track_role="guitar"), "role must be one of"),
    "path is a number": (_with(track_path=7), "path must be a file path"),
    "role_gains is a list": (_with(role_gains=[1, 2]), "'role_gains' must be an object"),
    "role gain is a string": (_with(role_gains={"vocals": "+3"}), "role_gains.vocals must be"),
    "region is a string": (_with(region="1-4"), "'region' must be [start_s, end_s]"),
    "region has three numbers": (_with(region=[1, 2, 3]), "'region' must be"),
    "anchor is a number": (_with(anchor=5), "'anchor' must be a role name"),
    "ab_reference is a list": (_with(ab_reference=[]), "'ab_reference' must be an object"),
    "advice is a string": (_with(advice="louder"), "'advice' must be an object"),
    # missing keys
    "no tracks key": (_with(tracks=_DROP), "lists no tracks"),
    "no schema": (_with(schema=_DROP), "not a MixingBuddy session"),
    "a track without a path": (lambda d: json.dumps({**_valid_session(d), "tracks": [{"id": "x"}]}), "has no path"),
    # not JSON / not a session
    "not JSON": (lambda d: "{not json", "invalid JSON"),
    "empty file": (lambda d: "", "invalid JSON"),
    "binary garbage": (lambda d: b"\x00\xff\xfe RIFF", "not a MixingBuddy session"),
    "a JSON list": (lambda d: "[1, 2, 3]", "not a MixingBuddy session"),
    "deeply nested JSON": (lambda d: "[" * 100000 + "]" * 100000, "not a MixingBuddy session"),
    "another program's JSON": (lambda d: json.dumps({"schema": "other/1", "tracks": []}), "not a MixingBuddy session"),
    # a future version
    "future schema version": (lambda d: json.dumps({**_valid_session(d), "schema": "mixingbuddy.session/2"}),
                              "another MixingBuddy version"),
}


@pytest.mark.parametrize("case", list(SESSION_CASES))
def test_bad_session_file_is_a_banner_and_nothing_is_lost(qtbot, session_window, tmp_path, case):
    w, c = session_window()
    before = state(c)
    make, needle = SESSION_CASES[case]
    folder = c.project.tracks.tracks[0].path
    path = Path(folder).parent / "bad.mbsession"
    content = make(Path(folder).parent)
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    with qtbot.waitSignal(c.error, timeout=5000) as blocker:
        w.open_paths([str(path)])
    report = blocker.args[0]
    assert report.title == "Open session" and needle in report.message, report.message
    assert "bad.mbsession" in report.message and "\n" not in report.message
    assert any(needle in m for m in w.banners.messages())
    assert not c.loading and state(c) == before
    no_internal_errors(w)


def test_session_paths_cannot_escape_the_session_folder(qtbot, session_window, tmp_path):
    w, c = session_window()
    before = state(c)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "Lead Vox.wav"
    sf.write(secret, noise(seconds=2.0), SR)
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "link.wav").symlink_to(secret)           # a link inside that points outside
    data = {**_valid_session(sessions), "tracks": [
        {"path": "../outside/Lead Vox.wav", "role": "vocals"},
        {"path": "link.wav", "role": "drums"},
        {"path": "sub/../../outside/Lead Vox.wav"}]}
    session = sessions / "escape.mbsession"
    session.write_text(json.dumps(data))
    asked = []
    w.locate_file = lambda missing: asked.append(missing) or None   # the user skips them
    with qtbot.waitSignal(c.error, timeout=5000) as blocker:
        c.open_session(str(session))
    # nothing outside the folder was followed: the user was asked about paths inside it
    assert asked and all(Path(a).parent == sessions for a in asked)
    assert not any("outside" in a for a in asked)
    assert "None of the session's audio files could be found" in blocker.args[0].message
    assert state(c) == before


def test_interrupted_session_save_keeps_the_old_file(qtbot, session_window, tmp_path, monkeypatch):
    import mixingbuddy_app.session_file as session_file

    w, c = session_window()
    target = tmp_path / "song.mbsession"
    assert c.save_session(str(target))
    old = target.read_bytes()
    c.set_track_gain("02 Kick.wav", -6.0)
    real_fdopen = os.fdopen

    class HalfWriter:
        """Writes half of the text, then the disk is 'full'."""

        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()
            return False

        def write(self, text):
            self.f.write(text[: len(text) // 2])
            self.f.flush()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(session_file.os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    with qtbot.waitSignal(c.error) as blocker:
        assert not c.save_session(str(target))
    assert blocker.args[0].title == "Save failed" and "No space left" in blocker.args[0].message
    assert target.read_bytes() == old and sorted(p.name for p in tmp_path.glob(".*")) == []
    assert c.project.dirty and w.isVisible()

    # killed between the write and the rename (simulated with KeyboardInterrupt at fsync)
    monkeypatch.setattr(session_file.os, "fdopen", real_fdopen)

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(session_file.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        c.project.save(target)
    assert target.read_bytes() == old and sorted(p.name for p in tmp_path.glob(".*")) == []
    json.loads(target.read_text())                       # still a valid session
    monkeypatch.undo()
    assert c.save_session(str(target)) and json.loads(target.read_text())["tracks"][1]["gain_db"] == -6.0


# --- (c) advisor faults ---------------------------------------------------------------

class HangingAdvisor(StubAdvisor):
    """Hangs: until cancelled (cooperative), or for a while ignoring the token (non-cooperative)."""

    def __init__(self, ignore_cancel_s: float = 0.0):
        super().__init__()
        self.hang = True
        self.ignore_cancel_s = ignore_cancel_s
        self.release = threading.Event()

    def judge(self, request, windows, cancel=None):
        self.calls += 1
        self.started.set()
        if self.hang:
            if self.ignore_cancel_s:
                time.sleep(self.ignore_cancel_s)          # deaf to Cancel while it sleeps
            while not (cancel is not None and cancel.cancelled) and not self.release.wait(0.01):
                pass
        return [verdict(w, "vocals", "quiet") for w in windows]


def _balance_still_works(qtbot, w, c):
    c.use_balance_advisor()
    advice = critique(qtbot, w, timeout=30000)
    assert advice is not None and advice.advisor_id == "balance"
    assert w.critique_action.isEnabled() and not w.cancel_action.isEnabled()


@pytest.mark.parametrize("exc, needle", [
    (RuntimeError("index out of range in self"), "The advisor crashed: RuntimeError"),
    (ModelRuntimeError("CUDA out of memory while generating: tried to allocate 2.00 GiB.",
                       "torch.OutOfMemoryError: CUDA out of memory."), "CUDA out of memory"),
])
def test_advisor_fault_is_a_banner_and_the_measured_advisor_still_works(qtbot, session_window, exc, needle):
    stub = StubAdvisor(raises=exc)
    w, c = session_window(StubAdvisor([("vocals", "quiet")]))
    c.worker.set_factory(lambda: stub)
    before = state(c)
    c.set_region(None)
    with qtbot.waitSignal(c.error, timeout=15000) as blocker:
        c.critique()
    report = blocker.args[0]
    assert needle in report.message and "measured advisor" in report.message
    assert report.detail                                # the Details expander has the technical part
    qtbot.waitUntil(lambda: not c.busy, timeout=5000)
    assert w.critique_action.isEnabled() and not w.cancel_action.isEnabled() and w.isVisible()
    assert c.project.advice is not None and c.project.advice.text == before["advice"]   # the last critique stays
    # the same advisor fails the same way again, cleanly
    with qtbot.waitSignal(c.error, timeout=15000):
        c.critique()
    qtbot.waitUntil(lambda: not c.busy, timeout=5000)
    _balance_still_works(qtbot, w, c)


@pytest.mark.parametrize("deaf_s", [0.0, 1.5], ids=["cooperative", "ignores-cancel-for-1.5s"])
def test_hanging_advisor_cancel_recovers_and_the_next_critique_works(qtbot, session_window, deaf_s):
    stub = HangingAdvisor(ignore_cancel_s=deaf_s)
    w, c = session_window()
    c.worker.set_factory(lambda: stub)
    c.critique()
    qtbot.waitUntil(stub.started.is_set, timeout=10000)   # the meters read the mix first (events run)
    qtbot.wait(100)
    assert c.busy and w.cancel_action.isEnabled()
    with qtbot.waitSignal(c.busy_changed, timeout=int(deaf_s * 1000) + 3000,
                          check_params_cb=lambda busy, _m: not busy):
        w.cancel_action.trigger()
    assert not [b for b in w.banners.banners if b.report.severity == "error"]
    stub.hang = False
    advice = critique(qtbot, w)
    assert advice.advisor_id == "stub" and stub.calls == 2
    _balance_still_works(qtbot, w, c)


# --- (d) the monkey test --------------------------------------------------------------

class RandomAdvisor(StubAdvisor):
    """Seeded random verdicts per window, with a short cancel-aware delay."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def judge(self, request, windows, cancel=None):
        with self.lock:
            choices = [self.rng.choice([("vocals", "quiet"), ("drums", "loud"), ("bass", "very_quiet"),
                                        ("other", "very_loud"), (None, "no_error")]) for _ in windows]
            delay = self.rng.choice([0.0, 0.0, 0.02, 0.1])
        end = time.monotonic() + delay
        while time.monotonic() < end:
            if cancel is not None and cancel.cancelled:
                from model.errors import Cancelled

                raise Cancelled()
            time.sleep(0.005)
        return [verdict(w, t if cat != "no_error" else None, cat) for w, (t, cat) in zip(windows, choices)]


def check_view_matches_model(w) -> None:
    c = w.controller
    p = c.project
    tracks = p.tracks.tracks if p.tracks else ()
    ids = [t.id for t in tracks]
    t = w.table
    # grouped by role: a row per role present, then its tracks in load order
    expected_rows = [row for role in ("vocals", "drums", "bass", "other") if any(x.role.role == role for x in tracks)
                     for row in [("role", role)] + [("track", x.id) for x in tracks if x.role.role == role]]
    reading = [r for r in t.rows if r[0] == "reading"]     # files of a running load, listed as they are read
    assert not reading or c.loading
    assert t.rows[:len(t.rows) - len(reading)] == expected_rows and t.rowCount() == len(t.rows)
    assert sorted(t.row_ids) == sorted(ids)
    for tr in tracks:
        assert t.name_item(tr.id).text().endswith(tr.name)
        assert t.role_combos[tr.id].currentText() == tr.role.role
        assert t.gain_cells[tr.id].fader.value() == int(round(p.track_db.get(tr.id, 0.0) * 10))
        assert t.mute_buttons[tr.id].isChecked() == (tr.id in p.muted)
        assert t.solo_buttons[tr.id].isChecked() == (tr.id in p.soloed)
    assert set(p.track_db) == set(ids) and p.muted <= set(ids) and p.soloed <= set(ids)
    for role in ROLES:
        assert w.roles.faders[role].fader.value() == int(round(p.role_db[role] * 10))
    for role, radio in w.roles.radios.items():
        assert radio.isChecked() == (p.anchor == role)
    choices = p.anchor_choices()
    assert (p.anchor in choices) if choices else p.anchor is None
    assert c.engine.n_tracks == len(c._engine_ids) and set(ids) <= set(c._engine_ids)
    if c.ab_state == "after" and c.engine.n_tracks:
        assert np.allclose(c.engine.gains, c.gains_vector(), rtol=1e-5, atol=1e-7)
    has = bool(ids)
    assert w.critique_action.isEnabled() == (has and not c.busy and p.anchor is not None)
    assert w.cancel_action.isEnabled() == (c.busy or c.loading)   # Esc cancels a critique or a load
    assert w.undo_action.isEnabled() == p.can_undo()
    if p.advice is not None and not p.advice.abstained:
        bars = w.gain_plot.bar_heights()
        for s in p.advice.suggestions:
            assert bars[s.role] == pytest.approx(s.delta_db)


@pytest.mark.slow
def test_gui_monkey_2000_random_actions(qtbot, make_window, tmp_path, monkeypatch):
    rng = random.Random(6)
    escaped: list[str] = []
    monkeypatch.setattr(sys, "excepthook", lambda t, e, tb: escaped.append(f"{t.__name__}: {e}"))
    monkeypatch.setattr(threading, "excepthook", lambda a: escaped.append(f"{a.exc_type.__name__}: {a.exc_value}"))
    pool = make_stems(tmp_path / "a", seconds=4.0) + make_stems(tmp_path / "b", seconds=3.0)  # duplicate names
    broken = tmp_path / "a" / "Broken.wav"
    broken.write_text("not audio")
    pool.append(broken)
    w = make_window(RandomAdvisor(seed=6))
    c = w.controller
    w.locate_file = lambda missing: None
    sessions: list[Path] = []
    counts: dict[str, int] = {}

    def some_track():
        ids = c.project.track_ids
        return rng.choice(ids) if ids else None

    def act_add():
        picks = rng.sample(pool, rng.randint(1, 3))
        if rng.random() < 0.15:
            w.open_paths([str(p) for p in picks], replace=True)
        else:
            c.add_paths([str(p) for p in picks])

    def act_remove():
        ids = c.project.track_ids
        if not ids:
            return
        if rng.random() < 0.5:
            rows = rng.sample(range(len(ids)), rng.randint(1, min(2, len(ids))))
            w.table.clearSelection()
            for r in (w.table.track_row(ids[i]) for i in rows):
                w.table.selectRow(r) if len(rows) == 1 else w.table.selectionModel().select(
                    w.table.model().index(r, 0),
                    w.table.selectionModel().SelectionFlag.Select | w.table.selectionModel().SelectionFlag.Rows)
            w.remove_action.trigger()
        else:
            c.remove_tracks([rng.choice(ids)])

    def act_role():
        tid = some_track()
        if tid:
            w.table.role_combos[tid].setCurrentText(rng.choice(ROLES))

    def act_gain():
        tid = some_track()
        if tid:
            fader = w.table.gain_cells[tid].fader
            fader.setValue(rng.randint(fader.minimum(), fader.maximum()))
            if rng.random() < 0.5:
                fader.sliderReleased.emit()

    def act_role_gain():
        fader = w.roles.faders[rng.choice(ROLES)].fader
        if fader.isEnabled():
            fader.setValue(rng.randint(fader.minimum(), fader.maximum()))

    def act_mute():
        tid = some_track()
        if tid:
            w.table.mute_buttons[tid].click()

    def act_solo():
        tid = some_track()
        if tid:
            w.table.solo_buttons[tid].click()

    def act_anchor():
        if rng.random() < 0.8:
            radio = w.roles.radios[rng.choice(list(w.roles.radios))]
            if radio.isEnabled():
                radio.click()
        else:
            c.set_anchor(rng.choice(ROLES + ("piano",)))

    def act_region():
        if c.project.tracks and rng.random() < 0.7:
            a = rng.uniform(-1, c.project.tracks.duration_s + 1)
            c.set_region((a, a + rng.uniform(-3, 6)))
        else:
            c.set_region(None)

    def act_save():
        path = tmp_path / "sessions" / f"s{rng.randint(0, 4)}.mbsession"
        if w.save_action.isEnabled():
            c.save_session(str(path))
            if path.exists() and path not in sessions:
                sessions.append(path)

    def act_open():
        if sessions:
            c.open_session(str(rng.choice(sessions)))

    def act_wait():
        qtbot.wait(rng.choice([5, 20, 60]))

    def act_settle():
        """Let everything finish; then the meters are exact and show the measured values."""
        qtbot.waitUntil(lambda: not c.loading and not c.busy, timeout=20000)
        p = c.project
        qtbot.waitUntil(lambda: p.loudness_key() is None or p.loudness_is_exact(), timeout=20000)
        for role, label in w.roles.rel_labels.items():
            if role in p.roles_present() and role != p.anchor:
                assert label.text().split(" (")[0] == rel_text(p.lu_vs_anchor(role), True)

    def trigger(action):
        def act():
            action.trigger()
        act.__name__ = "trigger " + action.text().replace("&", "")
        return act

    def act_critique_and_wait():
        """Like a user: let the files finish loading, critique, and wait for the result."""
        qtbot.waitUntil(lambda: not c.loading, timeout=20000)
        w.critique_action.trigger()
        qtbot.waitUntil(lambda: not c.busy, timeout=20000)

    def act_apply_flow():
        """Critique, Apply, A/B twice, Re-check: the workflow the app is for."""
        act_critique_and_wait()
        w.apply_action.trigger()
        w.ab_action.trigger()
        QApplication.processEvents()
        w.ab_action.trigger()
        w.recheck_action.trigger()
        qtbot.waitUntil(lambda: not c.busy, timeout=20000)

    def act_critique_direct():
        c.critique()           # bypasses the disabled action: refusals must be banners or status lines

    actions = [
        (act_add, 8), (act_remove, 4), (act_role, 8), (act_gain, 12), (act_role_gain, 6), (act_mute, 5),
        (act_solo, 4), (act_anchor, 5), (trigger(w.critique_action), 4), (act_critique_direct, 2),
        (act_critique_and_wait, 4), (act_apply_flow, 3),
        (trigger(w.cancel_action), 3), (trigger(w.apply_action), 5), (trigger(w.recheck_action), 2),
        (trigger(w.undo_action), 4), (trigger(w.redo_action), 2), (trigger(w.ab_action), 3), (act_region, 3),
        (act_save, 2), (act_open, 2), (act_wait, 6), (act_settle, 2),
    ]
    funcs = [a for a, _ in actions]
    weights = [k for _, k in actions]
    happened = {"advice": 0, "apply": 0, "loaded": 0, "session": 0, "exact": 0, "recheck": 0}

    def bump(key):
        def slot(*_a):
            happened[key] += 1
        return slot

    c.advice_changed.connect(lambda a: a is not None and bump("advice")())
    c.apply_done.connect(bump("apply"))
    c.tracks_changed.connect(bump("loaded"))
    c.session_changed.connect(bump("session"))
    c.loudness_changed.connect(lambda exact: exact and bump("exact")())
    reports = []
    c.error.connect(reports.append)
    c.recheck_done.connect(bump("recheck"))
    t0 = time.monotonic()
    for i in range(2000):
        act = rng.choices(funcs, weights)[0]
        name = act.__name__
        counts[name] = counts.get(name, 0) + 1
        act()
        QApplication.processEvents()
        assert not escaped, (i, name, escaped)
        internal = [r for r in reports if r.message.startswith("Internal error") or "crashed" in r.message]
        assert not internal, (i, name, internal)
        try:
            check_view_matches_model(w)
        except AssertionError as exc:
            raise AssertionError(f"after action {i} ({name}): {exc}") from exc
    qtbot.waitUntil(lambda: not c.loading and not c.busy, timeout=20000)
    check_view_matches_model(w)
    no_internal_errors(w)
    assert not escaped
    # the run really exercised the app: critiques landed, Apply moved faders, sessions reopened, meters measured.
    # How many Applies land depends on how many critiques end before a random Apply (17-25 in a quiet run here,
    # 9 on a loaded machine), so the floor only says that Apply ran at all, many times.
    assert happened["advice"] >= 20 and happened["apply"] >= 5 and happened["loaded"] >= 50, happened
    assert happened["session"] >= 5 and happened["exact"] >= 5 and happened["recheck"] >= 1, happened
    from collections import Counter

    print(happened, Counter(f"{r.title}: {r.message[:50]}" for r in reports).most_common(12))
    print(f"monkey: 2000 actions in {time.monotonic() - t0:.1f} s; {len(c.project.track_ids)} tracks at the end;",
          dict(sorted(counts.items())))


ODD_BUT_VALID = [name for name, (code, _, _) in __import__("tests.test_bad_input", fromlist=["CASES"]).CASES.items()
                 if code == 0]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("case", ODD_BUT_VALID)
def test_odd_but_valid_exports_load_and_critique_in_the_gui(qtbot, make_window, tmp_path, case):
    """The CLI corpus's exit-0 cases (rates, channel counts, lengths, names, big folders) through the GUI."""
    from model.audio.decode import is_audio_path
    from model.advisors import load_advisor
    from tests.test_bad_input import CASES

    _, _, make = CASES[case]
    work = tmp_path / "in"
    work.mkdir()
    paths = [p for p in make(work) if not str(p).startswith("--")]
    expected = sum(1 for p in work.rglob("*") if p.is_file() and is_audio_path(p))
    w = make_window(load_advisor("balance"))
    c = load(qtbot, w, paths)
    assert len(c.project.track_ids) == expected and w.table.track_count() == expected
    assert not [r for r in error_banners(w) if "not loaded" in r.title]
    advice = critique(qtbot, w, timeout=60000)
    assert advice is not None and advice.text
    no_internal_errors(w)
