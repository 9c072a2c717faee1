# The README's commands. Every target sets up .venv first, so each works on a fresh clone.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export ETL_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
SAMPLE_DAYS ?= 30
SAMPLE_ROWS ?= 20000

.PHONY: run test dev sample validate lint bench bench-history backfill workers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the package's declared dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

sample: $(VENV)/.installed
	@test -f $(ETL_DATA_DIR)/landing/manifest.json || \
		$(BIN)/etl-assets sample --out $(ETL_DATA_DIR) --days $(SAMPLE_DAYS) --rows-per-day $(SAMPLE_ROWS)

run: sample $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/etl-assets run

test: $(VENV)/.installed
	$(BIN)/python -m pytest

dev: sample $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -p 3000

# make backfill FROM=2024-01-01 TO=2024-01-31: a single-run backfill of the range through the
# running webserver (make dev), as the UI launches it. See docs/operations.md.
backfill: $(VENV)/.installed
	@test -n "$(FROM)" -a -n "$(TO)" || { echo "usage: make backfill FROM=YYYY-MM-DD TO=YYYY-MM-DD"; exit 2; }
	$(BIN)/etl-assets backfill --from $(FROM) --to $(TO) --wait

# make workers [WORKERS=2]: Celery workers for ETL_EXECUTOR=celery on this machine, in the
# foreground until Ctrl-C (broker: ETL_CELERY_BROKER_URL). See docs/scale-out.md.
WORKERS ?= 2
workers: $(VENV)/.installed
	ETL_EXECUTOR=celery $(BIN)/etl-assets workers --count $(WORKERS)

# Dagster's recommended check: loads the code location as `dagster dev` would (dg check defs).
validate: $(VENV)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dg check defs

# BENCH_ROWS="1000000 10000000" make bench: one process per size, results in bench/results/.
BENCH_ROWS ?= 1000000
bench: $(VENV)/.installed
	$(BIN)/python -m bench medallion --rows $(BENCH_ROWS) --days 10

# The daily run after 1, 30, 90 and 180 days of history (long: it builds the history first).
bench-history: $(VENV)/.installed
	$(BIN)/python -m bench history

lint: $(VENV)/.installed
	$(BIN)/ruff check etl_assets etl_assets_tests bench
	$(BIN)/lint-imports

clean:
	rm -rf $(ETL_DATA_DIR) $(DAGSTER_HOME) .tmp_dagster_home_*
