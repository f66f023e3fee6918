# Everything installs from nothing: a fresh clone with Python 3.11+ and make is enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo lint test test-python test-long test-all test-dbt test-spark test-spark-cluster bench clean
.PHONY: spark-cluster-start spark-cluster-stop spark-cluster-status

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install
	rm -rf demo-home
	$(BIN)/rolloutctl --home demo-home demo

# Python (ruff), the event schemas and the policy seeds (lint-fast, seconds: part of `make test`), and the dbt SQL
# (lint-sql: sqlfluff with the dbt templater, which compiles the project, so it needs a home; its own target folder
# keeps it away from a build's; one process per core; about a minute of CPU: part of `make test-long`, CI runs both).
.PHONY: lint-fast lint-sql
lint: lint-fast lint-sql

lint-fast: install
	$(BIN)/ruff check rolloutctl ingest tests scripts
	$(BIN)/rolloutctl schema lint
	$(BIN)/rolloutctl config check

lint-sql: install
	mkdir -p build/lint-home/warehouse
	ROLLOUT_HOME=build/lint-home ROLLOUT_DBT_TARGET_PATH=build/lint-target $(BIN)/sqlfluff lint --processes 0 models data-tests

# Two tiers (README "Tests"). `make test`, the everyday one: the fast lint, every behaviour at least once (pytest in
# parallel on the machine's cores, the long forms deselected), and `dbt build` as metric regression tests — the three
# at once (each with its own homes and dbt target folder; pytest alone leaves part of the cores idle while its workers
# wait on subprocesses and files), each one's output printed whole when it ends. `make test-long`, which CI runs after
# it: the SQL lint, the long forms (every crash point, more hypothesis examples and soak cycles, the demo's whole
# audit replayed, the large oracle rollout, the wheel installed outside the checkout) and the Spark parity tests (the
# in-process session, then the local cluster topology).
JOBS ?= auto
PYTEST := $(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup --durations=15 --ignore=tests/spark

test: install
	$(MAKE) --jobs=3 --output-sync=target lint-fast test-python test-dbt

test-python: install
	$(PYTEST) -m "not long" tests

test-long: install
	$(MAKE) lint-sql
	ROLLOUT_TEST_TIER=long $(PYTEST) -m "long or scaled" tests
	$(MAKE) test-spark
	$(MAKE) test-spark-cluster

test-all: test test-long

# `dbt build` as metric regression tests: every unit test and data test on a generated warehouse (the full build,
# not the operational cycle's subset). Its own dbt target folder: it runs beside pytest in `make test`.
test-dbt: install
	rm -rf build/dbt-test-home build/dbt-test-target
	$(BIN)/python scripts/generate_telemetry.py --events 20000 --days 10 --seed 7 --regression --out build/dbt-test-home/logs
	$(BIN)/rolloutctl --home build/dbt-test-home ingest build/dbt-test-home/logs
	ROLLOUT_DBT_TARGET_PATH=build/dbt-test-target ROLLOUT_DBT_THREADS=1 $(BIN)/rolloutctl --home build/dbt-test-home build --all-tests

# The same models on Spark (dbt-spark, local PySpark; needs Java 17): the optional extra `.[spark]`, then the parity
# test (generated events built on both engines, marts equal row for row). Part of `make test-long` (3 minutes on a
# quiet machine here, 15 under heavy load); alone, it installs only what it needs.
SPARK_STAMP := $(VENV)/.installed-spark

$(SPARK_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(SPARK_STAMP)

test-spark: $(SPARK_STAMP)
	mkdir -p build
	ROLLOUT_SPARK_TESTS=1 $(BIN)/python -m pytest -q --durations=15 --basetemp=build/spark-parity tests/spark/test_parity.py

# The same parity test on a real topology (issue 17): scripts/spark_cluster.py starts a standalone master, a worker
# and a Spark Thrift Server (three JVMs on loopback ports, from the pyspark wheel's jars; state and logs in
# build/spark-cluster/, a fresh catalog each run), the tests build and decide over dbt-spark's thrift method
# (profiles.yml spark_cluster), and the topology is stopped afterwards, whatever happened. Part of `make test-long`.
# By hand: `make spark-cluster-start`, then `rolloutctl gate --target spark_cluster`, `make spark-cluster-stop`.
SPARK_CLUSTER_STAMP := $(VENV)/.installed-spark-cluster
SPARK_CLUSTER := $(BIN)/python scripts/spark_cluster.py

$(SPARK_CLUSTER_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,spark-cluster]'
	touch $(SPARK_CLUSTER_STAMP)

test-spark-cluster: $(SPARK_CLUSTER_STAMP)
	mkdir -p build
	$(SPARK_CLUSTER) run --fresh -- env ROLLOUT_SPARK_TESTS=1 ROLLOUT_SPARK_CLUSTER_TESTS=1 \
	    ROLLOUT_SPARK_TARGET=spark_cluster $(BIN)/python -m pytest -q --durations=15 \
	    --basetemp=build/spark-cluster-parity tests/spark/test_parity.py tests/spark/test_cluster.py

spark-cluster-start: $(SPARK_CLUSTER_STAMP)
	$(SPARK_CLUSTER) start

spark-cluster-stop:
	$(SPARK_CLUSTER) stop

spark-cluster-status:
	$(SPARK_CLUSTER) status

bench: install
	$(BIN)/python scripts/bench_ingest.py
	$(BIN)/python scripts/bench_metrics.py

clean:
	rm -rf $(VENV) build target
