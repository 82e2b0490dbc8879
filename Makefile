# The README's two commands: `make run` and `make test`.
# Each creates .venv when missing and installs the project into it once
# (the stamp file is refreshed only when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mixingbuddy-installed
DEMO := resources/demo

.PHONY: run test bench install demo screenshot gpu-wheels clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
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
	rm -rf $(VENV) .pytest_cache
