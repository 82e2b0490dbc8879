"""The one-folder desktop bundle (`make bundle`, PyInstaller): it starts, critiques the demo and holds no torch.

Builds the bundle first when dist/mixingbuddy/ is missing or older than the code it bundles (a few minutes: a
core-only venv, then PyInstaller), so a test never passes on a bundle of older code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLE_DIR = REPO / "dist" / "mixingbuddy"
BUNDLE = BUNDLE_DIR / "mixingbuddy"

#: What the bundle is built from: a change to any of these makes a built bundle stale.
BUNDLED = ("mixingbuddy_app", "model", "resources", "packaging", "pyproject.toml")

pytestmark = pytest.mark.slow


def newest_source_mtime() -> float:
    paths = (REPO / name for name in BUNDLED)
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()
             and "__pycache__" not in f.parts]
    return max(f.stat().st_mtime for f in files)


@pytest.fixture(scope="module")
def bundle() -> Path:
    if not BUNDLE.is_file() or BUNDLE.stat().st_mtime < newest_source_mtime():
        if shutil.which("make") is None:
            pytest.skip("the bundle is missing or older than the code, and `make` is not installed to build it "
                        "(make bundle)")
        out = subprocess.run(["make", "--no-print-directory", "bundle"], cwd=REPO, capture_output=True, text=True,
                             timeout=1500)
        assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return BUNDLE


def run_bundle(bundle: Path, *args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env.update(QT_QPA_PLATFORM="offscreen", MIXINGBUDDY_NO_AUDIO="1", HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"), TMPDIR=str(tmp_path / "tmp"))
    return subprocess.run([str(bundle), *args], capture_output=True, text=True, timeout=300, env=env,
                          cwd=tmp_path)


def test_the_bundle_smoke_run_critiques_the_demo(bundle, tmp_path):
    out = run_bundle(bundle, "--smoke", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ready: The drums are far too loud. Lower them by 6 to 12 dB.", out.stdout
    assert list((tmp_path / "tmp").iterdir()) == []    # its temporary settings folder went with it


def test_the_bundle_opens_its_window(bundle, tmp_path):
    out = run_bundle(bundle, "--quit-when-shown", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "shown"


def test_the_bundle_holds_the_core_only_and_says_so_for_the_llm(bundle, tmp_path):
    assert not list(BUNDLE_DIR.rglob("torch")) and not list(BUNDLE_DIR.rglob("libtorch*"))
    out = run_bundle(bundle, "critique", str(REPO / "resources" / "demo"), "--advisor", "llm", tmp_path=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "this bundle holds the core only" in lines[0]
    assert "pip install 'mixingbuddy[llm]'" in lines[0]
