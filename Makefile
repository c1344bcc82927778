# Two commands for a fresh machine (README):
#   make lab    set up, start the local model, open JupyterLab on notebooks/
#   make test   set up, run every test (unit tests, notebooks, lint)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup lab test lint notebooks preflight stop benchmark clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@echo ">>> Installing the course. The first time, llama.cpp compiles from source:"
	@echo ">>> about 5 minutes on 2 CPU cores (pip prints 'still running...' while it builds)."
	$(PY) -m pip install --progress-bar on -e '.[lab,local,test]'
	@touch $(STAMP)

lab: setup
	$(PY) -m utils.local_server start
	$(VENV)/bin/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

# Re-run every notebook top to bottom and commit-ready its outputs (see tests/README.md).
notebooks: setup
	$(PY) tools/execute_notebooks.py

# Is this machine ready for a workshop? Checks packages, data, backend, and one real call.
preflight: setup
	$(PY) -m utils.preflight

stop:
	$(PY) -m utils.local_server stop

benchmark: setup
	$(PY) benchmarks/local_throughput.py

clean:
	rm -rf $(VENV)
