# The README's two commands: `make run` and `make test`.
# Each creates .venv when missing and installs the project into it once
# (the stamp file is refreshed only when pyproject.toml changes).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mixingbuddy-installed
DEMO := resources/demo

.PHONY: run test bench install demo screenshot clean

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

clean:
	rm -rf $(VENV) .pytest_cache
