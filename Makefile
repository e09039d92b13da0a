# Two commands on a fresh clone: `make run` and `make test`. Only Python 3.11+ is needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=
# Static checks import the settings: give them the development defaults, not the local .env.
CHECK_ENV := ENV_FILE= DEBUG=true

.DEFAULT_GOAL := help
.PHONY: help run test lint lint-deploy format migrate clean screenshots

# Double-colon: a block further down may add lines of its own.
help::
	@echo "make run     start the development server on 127.0.0.1:$(PORT) (SQLite, memory cache)"
	@echo "make test    run the test suite (uses DATABASE_URL / REDIS_URL when set)"
	@echo "make lint    ruff, mypy, import contracts, migrations check"
	@echo "make lint-deploy  Dockerfile, shell scripts, workflow, compose, Kubernetes (needs npm)"
	@echo "make format  format the code with ruff"
	@echo "make migrate apply migrations to the configured database"
	@echo "make clean   remove the virtualenv, the tools' caches and build leftovers"
	@echo "make screenshots  the README's CMS screenshots, by the browser tests (needs chromium)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version 2>&1))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.txt
	$(BIN)/pip install -qq -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install -qq -r requirements-dev.txt
	@touch $@

# The deployment-file checkers (.ci/lint-deploy); big, so only for those who run them.
$(VENV)/.ci: $(VENV)/.runtime requirements-ci.txt
	$(BIN)/pip install -qq -r requirements-ci.txt
	@touch $@

.env:
	cp .env.example .env

run: $(VENV)/.runtime .env
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.dev
	$(BIN)/pytest $(PYTEST_ARGS)

# Migrations are checked under tests.settings: the project's apps and the tests' own (tests/subjects).
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(CHECK_ENV) $(BIN)/mypy .
	$(BIN)/lint-imports
	$(CHECK_ENV) DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python manage.py makemigrations --check --dry-run

lint-deploy: $(VENV)/.ci
	.ci/lint-deploy

# The README's CMS screenshots (docs/screenshots/), taken by the browser tests.
screenshots: $(VENV)/.dev
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest tests/browser

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.runtime .env
	$(BIN)/python manage.py migrate --noinput

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .hypothesis staticfiles \
		.ci/node_modules clients/python/build clients/python/*.egg-info

# --- Benchmark (bench/README.md); it goes with the example (README, "Deleting the example") ---
.PHONY: bench bench-cpu

help::
	@echo "make bench   benchmark against stock DRF + simplejwt (bench/README.md; ~15 min)"
	@echo "make bench-cpu  CPU per request of the project's code, in one process (~2 min)"

# The benchmark's extras: the MySQL driver the image uses, and the profiler.
$(VENV)/.bench: $(VENV)/.runtime requirements-mysql.txt bench/requirements.txt
	$(BIN)/pip install -qq -r bench/requirements.txt
	@touch $@

# BENCH_DATABASE_URL (its <name>_app and <name>_peer are recreated) and BENCH_REDIS_URL (emptied)
# choose the services; BENCH_ARGS passes options to bench/run.py (--help lists them).
bench: $(VENV)/.bench
	@command -v wrk >/dev/null || { sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && $$sudo apt-get install -y -qq wrk; }
	PYTHONPATH=clients/python $(BIN)/python -m bench.run $(BENCH_ARGS)

# CPU per request of the project's code, in one process (bench/cpu.py): low noise, for before/after.
bench-cpu: $(VENV)/.bench
	PYTHONPATH=clients/python $(BIN)/python -m bench.cpu $(BENCH_ARGS)
# --- End of the benchmark ---
