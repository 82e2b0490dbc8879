"""App test fixtures: synthetic stems, a stub advisor, a fake output stream, a window factory."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Sequence

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MIXINGBUDDY_NO_AUDIO", "1")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# the preview buffers and the analysis cache go to a folder of this test run, not the user's cache
if "XDG_CACHE_HOME" not in os.environ:
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="mixingbuddy-tests-cache-")
    atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from model.audio.segments import Window
from model.advice.types import WindowVerdict  # noqa: E402
from model.advice.advisor import AdviceRequest, AdvisorInfo, CancelToken  # noqa: E402
from model.errors import Cancelled  # noqa: E402
from model.advice.templates import CORRECTION_RANGE_DB, DIRECTION, render_response  # noqa: E402

RATE = 16000


def _write(path: Path, audio: np.ndarray, subtype: str = "PCM_24") -> Path:
    sf.write(str(path), audio, RATE, subtype=subtype)
    return path


def make_stems(folder: Path, seconds: float = 6.0) -> list[Path]:
    """Four small stems named the way DAWs name them (vocals, drums, bass, other), mono and stereo."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    vox = 0.25 * np.sin(2 * np.pi * 330 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t) ** 2)
    kick = np.zeros(n)
    for start in range(0, n, RATE // 2):
        m = min(n - start, RATE // 4)
        kick[start:start + m] += 0.6 * np.exp(-np.arange(m) / (0.04 * RATE)) * np.sin(2 * np.pi * 60 * np.arange(m) / RATE)
    bass = 0.3 * np.sin(2 * np.pi * 55 * t)
    keys = 0.1 * (np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 554 * t)) + 0.01 * rng.standard_normal(n)
    keys_st = np.stack([keys, 0.9 * keys], axis=1)
    return [
        _write(folder / "01 Lead Vox.wav", vox.astype(np.float32)),
        _write(folder / "02 Kick.wav", kick.astype(np.float32)),
        _write(folder / "03 Bass DI.wav", bass.astype(np.float32), "FLOAT"),
        _write(folder / "04 Pad.wav", keys_st.astype(np.float32)),
    ]


@pytest.fixture
def stems(tmp_path) -> list[Path]:
    return make_stems(tmp_path / "export")


@pytest.fixture
def broken_file(tmp_path) -> Path:
    p = tmp_path / "export" / "05 Broken Gtr.wav"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    return p


def verdict(window: Window, target: str | None, category: str) -> WindowVerdict:
    if category == "no_error":
        return WindowVerdict(window, None, "none", "no_error", None, None, render_response("no_error", None, 0))
    lo, hi = CORRECTION_RANGE_DB[category]
    return WindowVerdict(window, target, DIRECTION[category], category, float(lo), float(hi),  # type: ignore[arg-type]
                         render_response(category, target, 0))


class StubAdvisor:
    """Fixed verdicts per call (the last entry repeats), optional delay (cancel-aware) or exception."""

    def __init__(self, script: Sequence[tuple[str | None, str]] = (("vocals", "quiet"),), delay: float = 0.0,
                 raises: BaseException | None = None) -> None:
        self.info = AdvisorInfo("stub", "stub", "test advisor with fixed verdicts")
        self.script = list(script)
        self.delay = delay
        self.raises = raises
        self.calls = 0
        self.requests: list[AdviceRequest] = []
        self.thread_names: list[str] = []
        self.started = threading.Event()

    def judge(self, request: AdviceRequest, windows: Sequence[Window],
              cancel: CancelToken | None = None) -> list[WindowVerdict]:
        self.requests.append(request)
        self.thread_names.append(threading.current_thread().name)
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        self.started.set()
        end = time.monotonic() + self.delay
        while time.monotonic() < end:
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            time.sleep(0.01)
        if self.raises is not None:
            raise self.raises
        target, category = step
        return [verdict(w, target, category) for w in windows]


class FakeOutput:
    """A fake output stream: `pump()` plays blocks through MixEngine.render like the PortAudio callback."""

    def __init__(self, blocksize: int = 512) -> None:
        self.available = True
        self.reason = ""
        self.name = "fake output"
        self.engine = None
        self.blocksize = blocksize
        self.opened = 0
        self.buffer = np.zeros((blocksize, 2), dtype=np.float32)

    def open(self, engine) -> None:
        self.engine = engine
        self.opened += 1

    def close(self) -> None:
        self.engine = None

    @property
    def latency_s(self) -> float:
        return 0.01

    def pump(self, blocks: int = 1) -> np.ndarray:
        for _ in range(blocks):
            self.engine.render(self.buffer, self.blocksize)
        return self.buffer


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Build a main window around a given advisor and output; closed (and its worker stopped) at teardown."""
    from PySide6.QtCore import QSettings

    from mixingbuddy_app.composition import build_main_window
    from mixingbuddy_app.playback import NullOutput
    from mixingbuddy_app.settings import AppSettings

    def factory(advisor=None, output=None):
        advisor = advisor or StubAdvisor()
        settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        window = build_main_window(lambda: advisor, output or NullOutput("tests"), settings=settings)
        window.ask_unsaved = lambda what: "discard"   # no modal prompt when a test closes a window
        window.ask_add_or_new = lambda folder: "add"  # nor when a test adds a folder to an open session
        qtbot.addWidget(window)
        window.show()
        return window

    return factory


def load(qtbot, window, paths, timeout: int = 15000, replace: bool = False):
    c = window.controller
    with qtbot.waitSignal(c.loading_changed, timeout=timeout, check_params_cb=lambda busy, _m: not busy):
        c.add_paths([str(p) for p in paths], replace=replace)
    return c


def critique(qtbot, window, timeout: int = 15000):
    c = window.controller
    with qtbot.waitSignal(c.busy_changed, timeout=timeout, check_params_cb=lambda busy, _m: not busy):
        rid = c.critique()
        assert rid is not None
    return c.project.advice
