# The README's two commands: `make run` and `make test`.
# Each creates .venv when missing and installs the project with every extra into it once
# (the stamp file is refreshed only when pyproject.toml changes).
# `make test` also checks the core-only install in build/core-venv (`pip install .`, no llm/train extras);
# `make bundle` freezes that install into dist/mixingbuddy/ with PyInstaller.

ifeq ($(OS),Windows_NT)   # (untested) make from Git Bash or MSYS2: venvs keep their programs in Scripts/
PYTHON ?= python
VENV_BIN := Scripts
EXE := .exe
else
PYTHON ?= python3
VENV_BIN := bin
EXE :=
endif
VENV := .venv
BIN := $(VENV)/$(VENV_BIN)
STAMP := $(VENV)/.mixingbuddy-installed
DEMO := resources/demo

CORE_VENV := build/core-venv
CORE_BIN := $(CORE_VENV)/$(VENV_BIN)
CORE_STAMP := $(CORE_VENV)/.mixingbuddy-deps-installed
# What the core install must pass: everything but the LLM's and the trainer's tests.
WEIGHTS_FREE_TESTS := tests/app tests/model tests/test_architecture.py tests/test_bad_input.py tests/test_install.py \
	--ignore-glob='tests/model/test_llm_*'
BUNDLE := dist/mixingbuddy/mixingbuddy$(EXE)
DESKTOP_DIR ?= $(HOME)/.local/share

.PHONY: run test bench install demo screenshot gpu-wheels clean core-venv core-check bundle install-desktop

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[llm,train,test]'
	@touch $(STAMP)

run: $(STAMP)
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
		$(BIN)/mixingbuddy $(DEMO); \
	else \
		echo "No display found: printing the command-line critique of the demo session instead of opening the app."; \
		$(BIN)/mixingbuddy critique $(DEMO); \
	fi

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)
	$(MAKE) --no-print-directory core-check

# The core's dependencies (plus the test and bundle tools, which pull in no torch), installed once per pyproject.toml.
$(CORE_STAMP): pyproject.toml
	rm -rf $(CORE_VENV)
	$(PYTHON) -m venv $(CORE_VENV)
	$(CORE_BIN)/python -m pip install --quiet '.[test,bundle]'
	@touch $(CORE_STAMP)

# This tree's code over those dependencies (a regular, non-editable install, as a user gets it).
core-venv: $(CORE_STAMP)
	$(CORE_BIN)/python -m pip install --quiet --no-deps --force-reinstall .
	@rm -rf build/lib build/bdist.*

core-check: core-venv
	@echo "== the core-only install ($(CORE_VENV)): no torch, the demo critique, the app smoke run, weights-free tests"
	@if $(CORE_BIN)/python -c "import torch" 2>/dev/null; then echo "$(CORE_VENV) has torch"; exit 1; fi
	$(CORE_BIN)/mixingbuddy critique $(DEMO) > /dev/null
	QT_QPA_PLATFORM=offscreen $(CORE_BIN)/mixingbuddy --smoke
	QT_QPA_PLATFORM=offscreen $(CORE_BIN)/python -m pytest -q -p no:cacheprovider $(WEIGHTS_FREE_TESTS)

bundle: core-venv
	$(CORE_BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/mixingbuddy.spec
	@du -sh dist/mixingbuddy

# Linux: a menu entry and icon for the bundle, for the current user.
install-desktop: $(BUNDLE)
	install -Dm644 resources/icons/mixingbuddy.svg $(DESKTOP_DIR)/icons/hicolor/scalable/apps/mixingbuddy.svg
	sed 's|^Exec=.*|Exec="$(abspath $(BUNDLE))" %F|' packaging/linux/mixingbuddy.desktop > mixingbuddy.desktop.tmp
	install -Dm644 mixingbuddy.desktop.tmp $(DESKTOP_DIR)/applications/mixingbuddy.desktop
	@rm -f mixingbuddy.desktop.tmp

$(BUNDLE):
	$(MAKE) --no-print-directory bundle

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

demo: $(STAMP)
	$(BIN)/python -m model.synthetic demo $(DEMO)

screenshot: $(STAMP)
	bash benchmarks/screenshot.sh

# Wheels the GPU machine's image lacks (Python 3.12, x86-64), for benchmarks/gpu_session.sh; .whl/ is git-ignored.
GPU_WHEELS := bitsandbytes==0.50.2 soundfile==0.14.0 pyebur128==0.1.1 cffi==2.1.1 pycparser==3.12 peft==0.21.2
gpu-wheels:
	$(PYTHON) -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 \
		--platform manylinux2014_x86_64 -d .whl $(GPU_WHEELS)

clean:
	rm -rf $(VENV) .pytest_cache build dist
