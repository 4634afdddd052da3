# One entry point for setting up, running and testing the project on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
DATA_DIR ?= data
BENCH_MPANS ?= 1000000
BENCH_FORMAT ?= parquet

.PHONY: setup demo test test-fast test-scale airflow bench lock catalogue docs docs-renderer sample clean

setup: $(STAMP)

# Re-installs only when the lock or the project metadata changed. The environment is byte-compiled once
# here: with PYTHONDONTWRITEBYTECODE set (as on this machine) every mhhs, dbt and gate process would
# otherwise compile its imports again (1.4 s of each settle's start).
$(STAMP): requirements.lock pyproject.toml scripts/install-system-packages.sh
	scripts/install-system-packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e '.[airflow,dev]'
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null
	touch $(STAMP)

demo: setup
	MHHS_DATA_DIR=$(DATA_DIR) $(BIN)/mhhs demo

test: setup docs-renderer
	$(BIN)/python -m pytest

# The edit loop: the unit tier only (tests/README.md), a few minutes at most; `make test` runs every tier.
test-fast: setup
	$(BIN)/python -m pytest -q -m unit

# Times ingest, settle and the gate on generated data; writes bench/results/ and docs/benchmarks.md.
bench: setup
	$(BIN)/mhhs --data-dir $(DATA_DIR) bench --mpans $(BENCH_MPANS) --format $(BENCH_FORMAT)

# Airflow with the CeleryExecutor (Postgres, Redis, two workers) settling a day across both workers.
test-scale: setup
	MHHS_SCALE_OUT=1 $(BIN)/python -m pytest tests/test_scale_out.py -q

# Airflow on this machine against DATA_DIR (landing files in DATA_DIR/landing): UI on the printed URL,
# Ctrl-C stops it. WORKERS Celery workers; STANDING_DATA as `mhhs settle --standing-data`.
AIRFLOW_STATE ?= .airflow
WORKERS ?= 2
airflow: setup
	MHHS_DATA_DIR=$(abspath $(DATA_DIR)) $(if $(STANDING_DATA),MHHS_STANDING_DATA=$(abspath $(STANDING_DATA))) \
		scripts/airflow-cluster.sh run $(AIRFLOW_STATE) $(WORKERS)

# Regenerates the full pinned dependency tree from pyproject.toml.
lock:
	test -x $(BIN)/uv || $(MAKE) setup
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 -o requirements.lock

# Regenerates every artefact derived from the data catalogue (the drift test checks they match).
catalogue: setup
	$(BIN)/mhhs catalogue

# Regenerates every generated doc (catalogue artefacts, architecture pages, DIP JSON Schema) and builds, outside
# git under DATA_DIR/docs/, the dbt docs site and every diagram rendered offline (diagrams.html).
docs: setup docs-renderer
	$(BIN)/mhhs catalogue
	$(BIN)/mhhs docs --site $(DATA_DIR)/docs

# The pinned Mermaid that renders the diagrams (npm ci: exactly the committed package-lock.json).
RENDERER_STAMP := docs/renderer/node_modules/.installed
docs-renderer: $(RENDERER_STAMP)

$(RENDERER_STAMP): docs/renderer/package.json docs/renderer/package-lock.json
	cd docs/renderer && npm ci --no-audit --no-fund
	touch $(RENDERER_STAMP)

# Regenerates the committed sample under sample_data/.
sample: setup
	rm -rf sample_data/landing
	$(BIN)/mhhs generate --mpans 200 --days 2 --start 2026-10-24 --seed 7 --out sample_data/landing

clean:
	rm -rf $(VENV) $(DATA_DIR)
