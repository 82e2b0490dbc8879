"""The install's parts: the extras in pyproject.toml, and each entry point naming the extra it lacks.

A missing extra is simulated honestly: the child interpreter starts with a sitecustomize whose import hook
makes ``import torch`` (or any listed package) raise ModuleNotFoundError, as on a core-only install.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from model.extras import EXTRA_MODULES

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "demo"
LLM_HINT = "pip install 'mixingbuddy[llm]'"
TRAIN_HINT = "pip install 'mixingbuddy[train]'"

NOT_INSTALLED = '''
import importlib.abc, os, sys

_BLOCKED = set(os.environ["MIXINGBUDDY_TEST_NOT_INSTALLED"].split(","))


class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
'''


def run_without(blocked: tuple[str, ...], args: list[str], tmp_path: Path, timeout: int = 180):
    """Run ``python ARGS`` from the repo with the ``blocked`` packages made uninstallable."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(NOT_INSTALLED, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)]),
           "MIXINGBUDDY_TEST_NOT_INSTALLED": ",".join(blocked), "QT_QPA_PLATFORM": "offscreen",
           "MIXINGBUDDY_NO_AUDIO": "1"}
    env.pop("MIXINGBUDDY_DEBUG", None)
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=REPO)


def requirement_names(requirements: list[str]) -> list[str]:
    return [re.match(r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?", r).group(0).lower().replace("-", "_") for r in requirements]


def test_the_extras_in_pyproject_are_the_modules_the_entry_points_check():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert requirement_names(extras["llm"]) == list(EXTRA_MODULES["llm"])
    train = requirement_names(extras["train"])
    assert train[0] == "mixingbuddy[llm]"
    assert list(EXTRA_MODULES["train"]) == list(EXTRA_MODULES["llm"]) + train[1:]
    core = set(requirement_names(project["dependencies"]))
    assert not core & set(EXTRA_MODULES["train"]), "the core must not pull in the model stack"
    assert "pyside6_essentials" in core and "pyside6" not in core


def test_the_blocker_really_hides_the_package(tmp_path):
    out = run_without(("torch",), ["-c", "import torch"], tmp_path)
    assert out.returncode == 1 and "ModuleNotFoundError: No module named 'torch'" in out.stderr


@pytest.mark.parametrize("blocked", [("torch", "torchaudio"), ("peft",)])
@pytest.mark.parametrize("checkpoint", [False, True])
def test_cli_llm_advisor_without_the_llm_extra_is_one_line_exit_2(tmp_path, blocked, checkpoint):
    args = ["-m", "mixingbuddy_app", "critique", str(DEMO), "--advisor", "llm"]
    if checkpoint:
        args += ["--checkpoint", str(tmp_path / "run")]
    out = run_without(blocked, args, tmp_path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("mixingbuddy critique: error: The LLM advisor needs the 'llm' extra")
    assert LLM_HINT in lines[0] and blocked[0] in lines[0]
    assert out.stdout == ""


def test_cli_balance_advisor_needs_no_extra(tmp_path):
    out = run_without(EXTRA_MODULES["train"], ["-m", "mixingbuddy_app", "critique", str(DEMO), "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    advice = json.loads(out.stdout)
    assert advice["advisor"] == "balance" and advice["suggestions"][0]["stem"] == "drums"


@pytest.mark.parametrize("blocked", [("tqdm",), ("torch",), ("matplotlib",)])
@pytest.mark.parametrize("command", [["demo-data", "OUT"], ["--help"], []])
def test_train_cli_without_the_train_extra_is_one_line_exit_2(tmp_path, blocked, command):
    args = [a.replace("OUT", str(tmp_path / "corpus")) for a in command]
    out = run_without(blocked, ["-m", "training.cli", *args], tmp_path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("mixingbuddy-train: error: mixingbuddy-train needs the 'train' extra")
    assert TRAIN_HINT in lines[0] and blocked[0] in lines[0]
    assert not (tmp_path / "corpus").exists()


APP_WITH_LLM_SETTINGS = r'''
import json, sys, tempfile
from pathlib import Path
from PySide6.QtCore import QSettings, QTimer
from mixingbuddy_app.gui import _make_app
from mixingbuddy_app.composition import build_main_window
from mixingbuddy_app.playback import NullOutput
from mixingbuddy_app.resources import DEMO_DIR
from mixingbuddy_app.settings import AdvisorSettings, AppSettings, SettingsDialog

app = _make_app()
tmp = Path(sys.argv[1])
settings = AppSettings(QSettings(str(tmp / "app.ini"), QSettings.Format.IniFormat))
settings.set_advisor(AdvisorSettings(advisor="llm", checkpoint=str(tmp / "run")))
w = build_main_window(audio_output=NullOutput("test"), settings=settings)
dialog = SettingsDialog(settings, w.controller.worker, w)
dialog.test_load()
out = {"test_load": dialog.test_result.text()}
c = w.controller

def critique():
    if c.project.tracks and not c.busy and c.project.advice is None:
        c.critique()

def done(advice):
    if advice is not None:
        out.update(advice=advice.text, advisor=advice.advisor_id, banners=w.banners.messages(),
                   label=c.advisor_label, torch="torch" in sys.modules)
        w.close()  # stops the advisor thread
        app.quit()

c.tracks_changed.connect(critique)
c.advice_changed.connect(done)
QTimer.singleShot(90000, app.quit)
c.add_paths([str(DEMO_DIR)], replace=True)
app.exec()
print("RESULT " + json.dumps(out))
'''


def test_app_with_the_llm_chosen_but_no_llm_extra_falls_back_and_says_how_to_get_it(tmp_path):
    out = run_without(("torch",), ["-c", APP_WITH_LLM_SETTINGS, str(tmp_path)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    result = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))[7:])
    assert result["advisor"] == "balance" and "drums" in result["advice"]
    assert any(m.startswith("fell back to the measured advisor: The LLM advisor needs the 'llm' extra")
               and LLM_HINT in m for m in result["banners"]), result["banners"]
    assert LLM_HINT in result["label"]
    assert result["test_load"].startswith("Not usable: ") and LLM_HINT in result["test_load"]
    assert result["torch"] is False


def test_the_linux_desktop_entry_starts_the_app_with_its_icon():
    import configparser

    entry = configparser.ConfigParser(interpolation=None, strict=True)
    entry.optionxform = str  # keys are case-sensitive
    entry.read(REPO / "packaging" / "linux" / "mixingbuddy.desktop", encoding="utf-8")
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Name"] == "MixingBuddy" and d["Terminal"] == "false"
    assert d["Exec"].split()[0] == "mixingbuddy" and d["Exec"].split()[1] in ("%F", "%U")
    assert (REPO / "resources" / "icons" / f"{d['Icon']}.svg").is_file()
    assert d["Categories"].endswith(";") and "Audio" in d["Categories"].split(";")
