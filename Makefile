# `make run` installs everything into .venv and opens the dashboard; `make test` runs the tests.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint format bench screenshots clean

run: $(STAMP)
	$(BIN)/vibes tui

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2

test-fast: $(STAMP)  # the quick local loop: no MCMC fits, no PostgreSQL or S3; CI runs `test`
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 -m "not mcmc and not services"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || "$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --config-settings editable_mode=compat -e '.[dev]'
	$(BIN)/python -m compileall -q vibes_core vibes_tui  # start-up reads bytecode, even with PYTHONDONTWRITEBYTECODE
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/list_latency.py
	$(BIN)/python bench/upload_throughput.py
	$(BIN)/python bench/tui_launch.py
	$(BIN)/python bench/fit_speed.py  # its naive baseline takes minutes: --skip-baseline
	$(BIN)/python bench/exact_groups.py
	$(BIN)/python bench/revenue_reference.py

screenshots: $(STAMP)
	scripts/screenshots

clean:
	rm -rf $(VENV)
