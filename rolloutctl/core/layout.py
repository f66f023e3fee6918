"""Where everything is: the project's own files (schemas, dbt project, policy, templates) and the files of a home.

The one place that knows a path. Project paths are absolute; home paths are relative to the home (`home / X`),
so messages can name them as an operator sees them.
"""
from __future__ import annotations

import os
from pathlib import Path

# The project: the dbt project (dbt_project.yml, profiles.yml, models/, macros/, data-tests/), the rollout policy
# (governance/: the dbt seeds, the RCA template, the schemas of the ledger and the audit line), the event schemas
# and the report and dashboard templates.
PROJECT_DIR = Path(__file__).resolve().parents[2]
POLICY_DIR = PROJECT_DIR / "governance"
POLICY_SCHEMA_DIR = POLICY_DIR / "schemas"
RCA_TEMPLATE = POLICY_DIR / "templates" / "rca_stub.md"
EVENT_SCHEMA_DIR = PROJECT_DIR / "schemas" / "events"
REPORT_TEMPLATE_DIR = PROJECT_DIR / "templates" / "reports"
DASHBOARD_TEMPLATE_DIR = PROJECT_DIR / "templates" / "dashboard"
# what dbt reads of the project: a scratch warehouse copies it, dbt_runner.definitions_hash hashes it
DBT_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "models", "macros", "governance",
                     "data-tests")


def policy_file(name: str) -> Path:
    """A policy seed of the project, e.g. policy_file("gate_rules") → governance/gate_rules.csv."""
    return POLICY_DIR / f"{name}.csv"


# A home (--home / ROLLOUT_HOME): the live state of one rollout.
WAREHOUSE_RELPATH = Path("warehouse") / "rollout.duckdb"          # the working warehouse
ANALYTICS_RELPATH = Path("warehouse") / "analytics.duckdb"        # the analysts' read-only snapshot
ANALYTICS_HISTORY_RELDIR = Path("warehouse") / "analytics-history"  # its raw rows: one Parquet file per load
DBT_LOG_RELDIR = Path("warehouse")                                # dbt.log: dbt's own log of its runs
SCRATCH_RELDIR = Path("warehouse") / "scratch"                    # replay and backtest warehouses
BACKTESTS_RELDIR = Path("warehouse") / "backtests"
LOGS_RELDIR = Path("logs")                                        # the Collector's output
LEDGER_RELPATH = Path("governance") / "phase-ledger.yaml"
AUDIT_RELDIR = Path("governance") / "audit" / "phase_rollout"
PENDING_RELPATH = Path("governance") / "pending-action.json"
LOCK_RELPATH = Path("governance") / ".lock"
SEED_COPIES_RELDIR = Path("governance") / "seeds"                 # the seeds each recorded decision was made with
METRICS_RELDIR = Path("metrics") / "autosave_merge"               # analyzer output
METRICS_SNAPSHOTS_RELDIR = METRICS_RELDIR / "snapshots"           # frozen by each action
REPORT_RELDIR = Path("reports") / "rollout"
RCA_RELDIR = Path("reports") / "rca"
DASHBOARD_RELDIR = Path("dashboards") / "autosave-merge"
INCIDENT_QUEUE_RELPATH = Path("incident_queue.json")
FLAGS_RELDIR = Path("flags")
FLAG_DEFAULTS_RELPATH = FLAGS_RELDIR / "defaults.json"
FLAG_TABLE_RELPATH = FLAGS_RELDIR / "CONFIG_FLAGS.md"
FLAG_OVERRIDE_RELPATH = FLAGS_RELDIR / "local-override.json"
OUTBOX_RELDIR = Path("notifications") / "outbox"
SENT_RELDIR = Path("notifications") / "sent"
SPARK_RELDIR = Path("spark")                                      # the Spark target's metastore and tables
LAKE_RELDIR = Path("lake")                                        # the Spark target's Parquet sources

# Every top-level entry a home may hold (.gitignore lists them too: a home inside a checkout is never committed).
HOME_ENTRIES = ("warehouse", "logs", "governance", "metrics", "reports", "dashboards", "flags", "notifications",
                "incident_queue.json", "spark", "lake")


def warehouse_file(home: Path) -> Path:
    return Path(home) / WAREHOUSE_RELPATH


def dbt_log_dir(home: Path) -> Path:
    return Path(home) / DBT_LOG_RELDIR


def analytics_file(home: Path) -> Path:
    return Path(home) / ANALYTICS_RELPATH


def analytics_history_dir(home: Path) -> Path:
    return Path(home) / ANALYTICS_HISTORY_RELDIR


def lake_dir(home: Path, parquet_dir: Path | str | None = None) -> Path:
    """Where the Spark target's Parquet lives: parquet_dir, else ROLLOUT_PARQUET_DIR, else <home>/lake."""
    chosen = parquet_dir or os.environ.get("ROLLOUT_PARQUET_DIR") or Path(home) / LAKE_RELDIR
    return Path(chosen).expanduser().resolve()
