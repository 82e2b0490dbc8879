"""Dependency rules (import-linter) and lazy imports checked at runtime."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MIXINGBUDDY_NO_AUDIO": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=REPO)


def test_import_model_does_not_import_torch_or_qt():
    out = run_python("import sys, model, model.advice.pipeline, model.advice.balance, model.audio.tracks, "
                     "model.audio.doctor, model.audio.measure, model.advisors; "
                     "bad = [m for m in ('torch', 'PySide6', 'transformers') if m in sys.modules]; "
                     "assert not bad, bad")
    assert out.returncode == 0, out.stderr


def test_model_critique_stays_the_function_after_the_pipeline_is_imported():
    out = run_python("import model, model.advice.pipeline; from model import critique, AdviceRequest, load_advisor; "
                     "from model.audio.tracks import load_tracks; from resources import DEMO_DIR; "
                     "advice = critique(AdviceRequest(load_tracks([DEMO_DIR]).tracks, None), load_advisor('balance')); "
                     "assert advice.primary.role == 'drums', advice.text")
    assert out.returncode == 0, out.stderr


def test_critique_cli_does_not_import_qt():
    out = run_python("import sys; import mixingbuddy_app.cli; assert 'PySide6' not in sys.modules")
    assert out.returncode == 0, out.stderr


def test_import_linter_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    out = subprocess.run([lint, str(REPO / "pyproject.toml")], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_remote_code_and_no_unsafe_pickle_in_the_source():
    offenders = []
    for path in list(REPO.glob("model/**/*.py")) + list(REPO.glob("training/**/*.py")) + \
            list(REPO.glob("mixingbuddy_app/**/*.py")) + list(REPO.glob("benchmarks/**/*.py")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"trust_remote_code\s*=\s*True", text):
            offenders.append(f"{path}: trust_remote_code=True")
        if re.search(r"\bimport pickle\b|pickle\.loads?\(", text):
            offenders.append(f"{path}: pickle")
        for m in re.finditer(r"torch\.load\(([^)]*)\)", text):
            if "weights_only=True" not in m.group(1):
                offenders.append(f"{path}: torch.load without weights_only=True")
    assert not offenders, offenders


def test_the_source_cites_no_documents_outside_the_repository():
    """Docstrings and data state their facts; SPEC/ARCHITECTURE/FIELD documents are not part of this repository."""
    offenders = []
    paths = [p for d in ("model", "training", "mixingbuddy_app", "benchmarks")
             for p in REPO.glob(f"{d}/**/*") if p.suffix in (".py", ".toml")]
    paths += list(REPO.glob("resources/*.json"))
    for path in paths:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"\b(SPEC|ARCHITECTURE|FIELD)(\.md)?\b", line):
                offenders.append(f"{path.relative_to(REPO)}:{i}: {line.strip()[:80]}")
    assert not offenders, offenders
def test_weights_free_critique_of_mixed_rates_never_imports_torch(tmp_path):
    """The balance critique resamples (soxr) and measures without torch anywhere in the process."""
    import numpy as np
    import soundfile as sf

    t = np.arange(48000 * 3) / 48000
    sf.write(tmp_path / "Lead Vox.wav", 0.3 * np.sin(2 * np.pi * 220 * t), 48000)
    sf.write(tmp_path / "Kick.wav", 0.3 * np.sin(2 * np.pi * 60 * t[::2]), 24000)
    sf.write(tmp_path / "Bass.flac", 0.2 * np.sin(2 * np.pi * 110 * t[: 44100 * 3]), 44100)
    out = run_python("import sys, json, contextlib, io\n"
                     "import model.audio, model.advice\n"
                     "from mixingbuddy_app.cli import main\n"
                     "buf = io.StringIO()\n"
                     "with contextlib.redirect_stdout(buf):\n"
                     f"    rc = main([{str(tmp_path)!r}, '--json'])\n"
                     "assert rc == 0, rc\n"
                     "assert any(w['code'] == 'rate_mismatch' for w in json.loads(buf.getvalue())['warnings'])\n"
                     "bad = [m for m in ('torch', 'torchaudio', 'transformers') if m in sys.modules]\n"
                     "assert not bad, bad")
    assert out.returncode == 0, out.stderr
