# Two commands on a fresh machine: `make demo` (sample data -> Airflow DAG run -> published table) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Airflow state stays inside the project (git-ignored); the project's DAGs only, no examples. `make airflow-home`
# (run by `make airflow` and `make demo`) writes these [core] settings into $(AIRFLOW_HOME)/airflow.cfg too, so an
# `airflow ...` command with only AIRFLOW_HOME set reads the same ones (python -m jobs.airflow_home).
export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := False
# 2 cores: a few tasks at once, not the default 32.
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG := 4
export RECS_HOME ?= $(CURDIR)
# `airflow standalone` starts its components as `airflow ...` subprocesses: they must be on the PATH.
export PATH := $(BIN):$(PATH)

# The sample data ends on SAMPLE_END. A manual run at DEMO_DATE processes the day before it (the data
# interval [SAMPLE_END, DEMO_DATE)), so the demo's run covers the sample's last day.
SAMPLE_END ?= 2026-11-20
DEMO_DATE ?= 2026-11-21

.PHONY: install demo test test-fast sample airflow airflow-home airflow-celery airflow-celery-down lint bench bench-quality bench-protocols bench-executors bench-serve bench-costs clean lock

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,celery]'
	@touch $@

sample: install
	$(BIN)/recs sample --end-date $(SAMPLE_END)

# `airflow dags test recs_nightly $(DEMO_DATE)`, through jobs.dagtest: Airflow 3.3 would record the run as started at
# its logical date (apache/airflow#66127), days before it ran; jobs.dagtest records its real start.
demo: install sample airflow-home
	$(BIN)/airflow db migrate > /dev/null
	$(BIN)/airflow dags reserialize > /dev/null 2>&1 || true
	$(BIN)/python -m jobs.dagtest recs_nightly $(DEMO_DATE)
	$(BIN)/recs query --sql-file sql/examples/top10_for_a_few_users.sql
	$(BIN)/recs query --sql-file sql/examples/placement_for_a_few_users.sql

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check .

airflow-home: install
	@$(BIN)/python -m jobs.airflow_home

airflow: install airflow-home
	$(BIN)/airflow db migrate > /dev/null
	@echo "Airflow UI: http://localhost:8080  (user admin; password in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated)"
	$(BIN)/airflow standalone

# The CeleryExecutor stack on this machine (no containers): PostgreSQL and Redis from Debian's packages (installed
# with apt-get when missing), the API server, scheduler, DAG processor, triggerer and two Celery workers, with the
# settings of airflow.env (which docker-compose.yml reads too). State in airflow_celery/; Ctrl-C stops it all.
airflow-celery: install
	$(BIN)/python -m jobs.stack up

# Stops a stack started with `python -m jobs.stack up --detach`.
airflow-celery-down: install
	$(BIN)/python -m jobs.stack down

# Scale benchmark (docs/benchmarks.md, section "Scale"): implicit is its baseline, installed here only (not a
# runtime or test dependency). About an hour on the 2-core machine, half of it the 100M night (its data: 2.5 GB of
# CSV, and its home about 10 GB, under outputs/bench); run it on a quiet machine.
bench: install
	$(BIN)/pip install --quiet --disable-pip-version-check implicit==0.7.3
	$(BIN)/python -m jobs.bench --sizes 1M,5M,20M,100M --out docs/benchmarks.md

# Quality (a), diversity, (a) again through the recs commands with only the two holdout keys, (b) time-ordered
# with implicit's ALS as a peer, and the hybrid's rankers on both (implicit and lightgbm installed here only, as for
# `make bench`: lightgbm is an option of the hybrid, not a dependency).
bench-quality: install
	$(BIN)/python -m jobs.bench.quality --out docs/benchmarks.md
	$(BIN)/python -m jobs.bench.diversity --out docs/benchmarks.md
	$(BIN)/python -m jobs.bench.two_keys --out docs/benchmarks.md
	$(BIN)/pip install --quiet --disable-pip-version-check implicit==0.7.3
	$(BIN)/python -m jobs.bench.timeorder --out docs/benchmarks.md
	$(BIN)/pip install --quiet --disable-pip-version-check lightgbm==4.7.0
	$(BIN)/python -m jobs.bench.ranker --out docs/benchmarks.md

# Does the pipeline's time-based holdout rank the families as the random test split does? (after bench-quality)
bench-protocols: install
	$(BIN)/python -m jobs.bench.protocols --out docs/benchmarks.md

# The 5M night in process, on LocalExecutor and on Celery with two workers (the native stack), per step.
bench-executors: install
	$(BIN)/python -m jobs.bench.executors --size 5M --out docs/benchmarks.md

# Each family's fit-time estimate (models/cost.py, what [train] night_budget_minutes charges) against the fit, measured.
bench-costs: install
	$(BIN)/python -m jobs.bench.costs --out docs/benchmarks.md

# `recs serve` under 16 connections: steady, then while 20 versions are published (errors, mixed versions).
bench-serve: install
	$(BIN)/python -m jobs.bench.serve --out docs/benchmarks.md

# Refresh the constraints file from the current venv (run after changing dependencies and passing the tests).
lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^recs-batch' > constraints.txt

clean:
	rm -rf outputs/warehouse.duckdb* outputs/recs.duckdb* outputs/versions outputs/parquet outputs/runs outputs/reports landing
