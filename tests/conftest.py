"""Test setup: offscreen Qt, offline hubs, no network, shared fixtures."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("MIXINGBUDDY_NO_AUDIO", "1")
# the user's own profiles (~/.config/mixingbuddy/profiles) must not change what a test sees
os.environ["MIXINGBUDDY_PROFILE_DIR"] = tempfile.mkdtemp(prefix="mixingbuddy-test-profiles-")
atexit.register(shutil.rmtree, os.environ["MIXINGBUDDY_PROFILE_DIR"], True)

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures" / "upstream"

_real_connect = socket.socket.connect


def _loopback_only(self, address):  # pragma: no cover - only trips on a bug
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")):
        return _real_connect(self, address)
    if self.family == socket.AF_UNIX:
        return _real_connect(self, address)
    raise RuntimeError(f"tests must not open network connections (tried {address!r})")


socket.socket.connect = _loopback_only  # type: ignore[assignment]


@pytest.fixture(scope="session")
def upstream_fixtures() -> Path:
    """../shared/fixtures/upstream, or skip when the shared folder is absent."""
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES} (they live beside the repo, never in it)")
    return FIXTURES


@pytest.fixture(scope="session")
def balanced_multitrack():
    """A 30 s synthetic 7-track session balanced to the profile (name -> audio), generated once."""
    from model.synthetic import synth_multitrack

    return synth_multitrack(seed=3, seconds=30.0, sample_rate=44100)


@pytest.fixture
def write_session(tmp_path, balanced_multitrack):
    """write_session(role_gain_db={...}, subtype=...) -> folder of WAVs with role gains applied."""
    from model.synthetic import DEMO_TRACKS, write_multitrack

    roles = {s.name: s.role for s in DEMO_TRACKS}

    def make(role_gain_db=None, name="session", subtype="PCM_24"):
        gains = role_gain_db or {}
        tracks = {n: (a * 10 ** (gains.get(roles[n], 0.0) / 20)).astype("float32")
                  for n, a in balanced_multitrack.items()}
        folder = tmp_path / name
        write_multitrack(folder, tracks, 44100, subtype=subtype)
        return folder

    return make
