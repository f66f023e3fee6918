"""Hostile paths, SQL built from input, and who may write governance files.

- Path traversal through --home / ROLLOUT_HOME, --log-dir, a link planted among the log files, report dates and
  event fields is refused with one clear line, and nothing is written outside the home.
- Every value reaching SQL from the command line or from data is a bound parameter: a scan of the code's syntax
  trees lists every piece of text interpolated into a string that reaches DuckDB (`execute`, `sql`, `query`, the
  helpers that pass SQL on) and fails on any not in ALLOWED, where each entry says why it is not input.
- Governance files (ledger, audit log, flag defaults, incident queue, lock, frozen metrics, RCA stubs, outbox) and
  everything else rolloutctl creates are writable by their owner only, even under a umask of 0 or 002.
"""
from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.reliability_support import ROLLOUTCTL, ROOT, copy_home, one_line_error, rolloutctl, warehouse_tables

# ---- path traversal


@pytest.mark.parametrize("home, shown", [
    ("/etc", "/etc"), ("../../../../../../../../etc", "../../../../../../../../etc (= /etc)"), ("/", "/"),
    ("/proc/self", None), ("/usr", "/usr"), ("/tmp", "/tmp"),
])
def test_home_in_a_system_folder_is_refused(home, shown, cli_env):
    for env_or_flag in ("flag", "env"):
        args = [*ROLLOUTCTL, "--home", home] if env_or_flag == "flag" else list(ROLLOUTCTL)
        env = {**cli_env, "ROLLOUT_HOME": home} if env_or_flag == "env" else cli_env
        proc = subprocess.run([*args, "gate", "--no-build"], env=env, cwd=ROOT, capture_output=True, text=True)
        error = one_line_error(proc)
        assert proc.returncode == 2
        assert error.startswith("Error: Invalid value for '--home' / ROLLOUT_HOME: ")
        assert error.endswith(" is a system folder; give a folder of your own")
        if shown:
            assert f": {shown} is a system folder" in error
    assert not Path("/etc/governance").exists() and not Path("/etc/warehouse").exists()


def test_home_that_is_a_file_is_refused(tmp_path, cli_env):
    afile = tmp_path / "file"
    afile.write_text("x")
    proc = rolloutctl(afile, "gate", "--no-build", env=cli_env)
    assert one_line_error(proc) == f"Error: Invalid value for '--home' / ROLLOUT_HOME: {afile} is not a folder"


EVENT = {"event": "app.session.ended", "ts": "2026-11-02T10:00:00Z", "phase": "A-0", "crashed": False,
         "event_id": "sec-1"}


@pytest.mark.parametrize("log_dir", ["/etc", "../../../../../../../../etc", "/sys/kernel"])
def test_log_dir_in_a_system_folder_is_refused(tmp_path, log_dir, cli_env):
    proc = subprocess.run([*ROLLOUTCTL, "--home", str(tmp_path), "collect", "--log-dir", log_dir],
                          input=json.dumps(EVENT) + "\n", env=cli_env, cwd=ROOT, capture_output=True, text=True)
    assert one_line_error(proc).startswith(f"Error: Invalid value for '--log-dir': {log_dir}")
    assert proc.returncode == 2
    assert not Path("/etc/app").exists()


def test_event_fields_cannot_steer_the_collector(tmp_path, cli_env):
    hostile = [
        {**EVENT, "event": "../../../../tmp/evil"},
        {**EVENT, "phase": "../../etc"},
        {**EVENT, "ts": "2026-11-02T10:00:00Z/../../../evil"},
        {**EVENT, "feature": "../../etc", "event_id": "sec-2"},     # valid (app events may name any feature)
        {**EVENT, "event_id": "../../../../etc/passwd"},            # valid: an id is only data
    ]
    logs = tmp_path / "logs"
    proc = subprocess.run([*ROLLOUTCTL, "--home", str(tmp_path), "collect", "--json", "--log-dir", str(logs)],
                          input="".join(json.dumps(e) + "\n" for e in hostile), env=cli_env, cwd=ROOT,
                          capture_output=True, text=True)
    doc = json.loads(proc.stdout)
    assert (doc["read"], doc["written"], doc["rejected"]) == (5, 2, 3)       # written: where the name and date say
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == \
        ["logs/app/2026-11-02.jsonl"]


def test_ingest_refuses_a_link_out_of_the_log_folder(tmp_path, cli_env):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$hash-of-a-password:19000:0:99999:7:::\n")
    logs = tmp_path / "logs"
    (logs / "app").mkdir(parents=True)
    (logs / "app" / "2026-11-02.jsonl").write_text(json.dumps(EVENT) + "\n")
    (logs / "app" / "shadow.jsonl").symlink_to(secret)
    home = tmp_path / "home"
    proc = rolloutctl(home, "ingest", str(logs), env=cli_env)
    assert one_line_error(proc) == (
        f"Error: {logs / 'app' / 'shadow.jsonl'} leads to {secret}, outside {logs}: refused (a folder's files must "
        f"lie in it; name that file on its own if it is meant to be loaded)")
    assert proc.returncode == 2
    assert not (home / "warehouse" / "rollout.duckdb").exists()     # refused before anything was read or written
    # a link that stays inside the folder is an ordinary file
    (logs / "app" / "shadow.jsonl").unlink()
    (logs / "again.jsonl").symlink_to(logs / "app" / "2026-11-02.jsonl")
    proc = rolloutctl(home, "ingest", "--json", str(logs), env=cli_env)
    assert proc.returncode == 0, proc.stderr
    events, rejects = warehouse_tables(home)
    assert len(events) == 1 and rejects == []


@pytest.mark.parametrize("day", ["../../etc", "2026-11-05/../../../tmp/x", "20261105", "2026-11-05T00",
                                 "../../../../../../etc/passwd\x00"])
def test_report_date_cannot_name_a_path(tmp_path, day, cli_env):
    home = tmp_path / "home"
    home.mkdir()
    proc = rolloutctl(home, "report", "--date", day.replace("\x00", ""), env=cli_env)
    assert one_line_error(proc) == f"Error: --date must be YYYY-MM-DD, not {day.replace(chr(0), '')!r}"
    assert proc.returncode == 2
    assert list(home.iterdir()) == []


# ---- SQL: bound parameters only

SQL_METHODS = {"execute", "executemany", "sql", "query", "from_query"}
SQL_HELPERS = {"_query": 1, "_rows": 1}     # functions that pass their SQL argument on to execute (argument index)
SCANNED = ("ingest", "rolloutctl", "scripts")

SNAPSHOT = "rolloutctl/warehouse/analyst_snapshot.py"
# (file, interpolated expression) → why it is not input. Anything else interpolated into SQL fails the test.
ALLOWED = {
    ("rolloutctl/simulation/gate_trials.py", "statement"):
        "gate_trials.sql (a file of this repository) with the module's constants (alpha, restart, prior, start, the "
        "burn-rate windows) substituted; no option or data reaches the SQL text (rollouts and seed go to numpy)",
    ("ingest/loader.py", "fast_path_sql(schemas, 'ingest_batch')"):
        "SQL generated from the event schemas (files of this repository); their literals go through _quoted",
    ("ingest/collector.py", "fast_path_sql(schemas, 'collect_batch')"):
        "SQL generated from the event schemas (files of this repository); their literals go through _quoted",
    ("ingest/loader.py", "sql_literal(event)"):
        "event names of the event schemas (checked by read_catalogue), quoted as SQL literals (ingest_feature macro)",
    ("ingest/loader.py", "sql_literal(columns.feature)"):
        "features of the event schemas (a plain word, events.FEATURE_NAME), quoted as SQL literals",
    ("rolloutctl/decision/charts.py", "c.metric"): "SLO_CHARTS, a constant of the module",
    ("rolloutctl/decision/charts.py", "c.dimension"): "SLO_CHARTS, a constant of the module",
    ("rolloutctl/decision/charts.py", "f.replace('m.', 'd.')"): "the constant filters above (text with ? placeholders)",
    ("rolloutctl/decision/charts.py", "filters"): "load_chart_data's constant filters (text with ? placeholders)",
    ("rolloutctl/decision/dashboard.py", "sql"): "_rows' own parameter: its callers are scanned (SQL_HELPERS)",
    ("rolloutctl/decision/verdict.py", "sql"): "_query's own parameter: its callers are scanned (SQL_HELPERS)",
    ("rolloutctl/verification/scratch.py", "table"): "loop over a constant tuple of raw/governance table names",
    ("rolloutctl/verification/scratch.py", "col"): "loop over a constant tuple of column expressions",
    ("rolloutctl/verification/scratch.py", "governance_mirror.GOVERNANCE_DDL"): "constant DDL",
    ("rolloutctl/verification/backtest.py", "table"):
        "the backtest.* tables this module created, read back from duckdb_tables()",
    ("rolloutctl/warehouse/spark_lake.py", "query"):
        "write_table's own parameter: publish_governance passes constant queries",
    ("rolloutctl/warehouse/spark_lake.py", "governance_mirror.GOVERNANCE_DDL"): "constant DDL",
    ("rolloutctl/warehouse/spark_lake.py", "test_failures.QUALITY_DDL"): "constant DDL",
    ("rolloutctl/warehouse/spark_lake.py", "name"):
        "Spark's own table names in marts, read back from its catalog (show tables)",
    ("rolloutctl/warehouse/spark_lake.py", "schema"): "marts or staging, constants of the module",
    ("rolloutctl/warehouse/spark_remote.py", "_quote(schema)"):
        "marts or staging (spark_lake's constants), backquoted with backquotes doubled (Spark's identifier quoting)",
    ("rolloutctl/warehouse/spark_remote.py", "_quote(name)"):
        "a relation name of spark_lake's constants or Spark's own catalog (show tables), backquoted, escaped",
    ("rolloutctl/warehouse/spark_remote.py", "_quote(table)"):
        "a relation name of spark_lake's constants or Spark's own catalog (show tables), backquoted, escaped",
    ("rolloutctl/warehouse/spark_remote.py", "select_expression(c, t)"):
        "column names and types from Spark's own `describe`, the names backquoted and escaped, the types only "
        "compared with constants (a fixed function of the type around the quoted name)",
    (SNAPSHOT, "_quoted(tmp)"):
        "a Parquet file this module names under the home's warehouse/, quotes escaped",
    (SNAPSHOT, "query"):
        "_write_aside's own parameter: its callers pass this module's constant queries (with ? parameters)",
    (SNAPSHOT, "_ident(schema)"):
        "a schema name read back from DuckDB's own catalog (duckdb_tables()), quoted",
    (SNAPSHOT, "_ident(name)"):
        "a table name read back from DuckDB's own catalog (duckdb_tables()), quoted",
    (SNAPSHOT, "_quoted(p.resolve())"):
        "the Parquet files this module wrote (one per load_id), quotes escaped",
    (SNAPSHOT, "sql"):
        "the views' own DDL as dbt created them, read back from duckdb_views()",
    (SNAPSHOT, "_ident(working)"):
        "the working warehouse's catalog name (current_database()), quoted",
    ("scripts/bench_ingest.py", "k"): "TYPED_COLUMNS, a constant of the benchmark",
    ("scripts/bench_ingest.py", "v"): "TYPED_COLUMNS, a constant of the benchmark",
}


class _Scope:
    """What each name of a function (or the module) is assigned, appended or extended with."""

    def __init__(self, node: ast.AST, outer: dict | None = None):
        self.values: dict[str, list[ast.AST]] = {k: list(v) for k, v in (outer or {}).items()}
        body = [node] if not isinstance(node, ast.Module) else [
            s for s in node.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        for stmt in body:
            for n in ast.walk(stmt):
                if isinstance(n, ast.Assign):
                    for t in n.targets:
                        if isinstance(t, ast.Name):
                            self.values.setdefault(t.id, []).append(n.value)
                elif isinstance(n, (ast.AugAssign, ast.AnnAssign)) and isinstance(n.target, ast.Name) and n.value:
                    self.values.setdefault(n.target.id, []).append(n.value)
                elif (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                      and n.func.attr in ("append", "extend", "insert") and isinstance(n.func.value, ast.Name)):
                    self.values.setdefault(n.func.value.id, []).extend(n.args[-1:])


def _leaves(expr: ast.AST, scope: _Scope, seen: frozenset = frozenset()) -> list[str]:
    """The expressions interpolated into a SQL text expression (constants contribute none)."""
    go = lambda e: _leaves(e, scope, seen)  # noqa: E731
    if isinstance(expr, ast.Constant):
        return []
    if isinstance(expr, ast.JoinedStr):
        return [leaf for v in expr.values if isinstance(v, ast.FormattedValue) for leaf in go(v.value)]
    if isinstance(expr, ast.BinOp):
        return go(expr.left) + go(expr.right)
    if isinstance(expr, ast.IfExp):
        return go(expr.body) + go(expr.orelse)
    if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        return [leaf for e in expr.elts for leaf in go(e)]
    if isinstance(expr, ast.Starred):
        return go(expr.value)
    if isinstance(expr, (ast.GeneratorExp, ast.ListComp)):
        return go(expr.elt)
    if isinstance(expr, ast.Name):
        if expr.id in seen or expr.id not in scope.values:
            return [expr.id]
        return [leaf for v in scope.values[expr.id] for leaf in _leaves(v, scope, seen | {expr.id})]
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in ("join", "format"):
        return go(expr.func.value) + [leaf for a in [*expr.args, *(k.value for k in expr.keywords)] for leaf in go(a)]
    return [ast.unparse(expr)]


def sql_interpolations() -> list[tuple[str, int, str]]:
    """(file, line, expression) of every value interpolated into SQL in the scanned code."""
    found = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            tree = ast.parse(path.read_text(encoding="utf-8"))
            module = _Scope(tree)
            functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            for fn, scope in [(tree, module), *((f, _Scope(f, module.values)) for f in functions)]:
                nodes = ast.walk(fn) if fn is not tree else (n for s in module_statements(tree) for n in ast.walk(s))
                for node in nodes:
                    if not isinstance(node, ast.Call):
                        continue
                    if isinstance(node.func, ast.Attribute) and node.func.attr in SQL_METHODS and node.args:
                        sql = node.args[0]
                    elif isinstance(node.func, ast.Name) and node.func.id in SQL_HELPERS and \
                            len(node.args) > SQL_HELPERS[node.func.id]:
                        sql = node.args[SQL_HELPERS[node.func.id]]
                    else:
                        continue
                    found += [(rel, node.lineno, leaf) for leaf in _leaves(sql, scope)]
    return sorted(set(found))


def module_statements(tree: ast.Module) -> list[ast.stmt]:
    return [s for s in tree.body if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def test_every_value_reaching_sql_is_a_bound_parameter_or_a_constant():
    found = sql_interpolations()
    unexplained = [f"{f}:{line}: {{{expr}}}" for f, line, expr in found if (f, expr) not in ALLOWED]
    assert not unexplained, ("text interpolated into SQL: bind it as a parameter (?/$1), or, if it is not input, "
                             "say why in ALLOWED:\n" + "\n".join(unexplained))
    # the scan sees what it must: the known interpolations are found (an allow-list entry nothing matches is stale)
    assert {(f, e) for f, _, e in found} == set(ALLOWED)


def test_the_scan_catches_a_value_interpolated_into_sql(tmp_path):
    """The scanner itself: a user value in an f-string, a .format or a + reaching execute is reported."""
    code = ast.parse(
        "def f(con, day, who):\n"
        "    con.execute(f\"select * from t where day = '{day}'\")\n"
        "    q = 'select * from t where who = ' + who\n"
        "    con.execute(q)\n"
        "    con.sql('select {}'.format(day))\n"
        "    con.execute('select * from t where day = ?', [day])\n")
    fn = code.body[0]
    scope = _Scope(fn)
    calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") in SQL_METHODS]
    assert [_leaves(c.args[0], scope) for c in calls] == [["day"], ["who"], ["day"], []]


# ---- governance files: only the owner writes

GOVERNANCE = ("governance", "flags", "incident_queue.json", "metrics/autosave_merge/snapshots", "reports/rca",
              "notifications")


@pytest.mark.parametrize("umask", [0o000, 0o002])
def test_files_are_writable_by_their_owner_only_whatever_the_umask(promote_home, tmp_path, umask, cli_env):
    home = copy_home(promote_home, tmp_path / "home")
    existing = {p for p in home.rglob("*")}
    run = lambda *args: subprocess.run([*ROLLOUTCTL, "--home", str(home), *args], env=cli_env, cwd=ROOT,  # noqa
                                       capture_output=True, text=True, preexec_fn=lambda: os.umask(umask))
    for args in (["gate", "--apply", "--no-build", "--executor", "oncall-bot"],
                 ["rollback", "--to", "A-0", "--executor", "bob", "--reason", "test", "--no-build"],
                 ["flags", "push", "--phase", "A-0"]):
        proc = run(*args)
        assert proc.returncode == 0, proc.stderr
    fresh = tmp_path / "fresh"          # a home rolloutctl creates itself: its folders and warehouse file
    proc = subprocess.run([*ROLLOUTCTL, "--home", str(fresh), "ingest", str(home / "logs")], env=cli_env, cwd=ROOT,
                          capture_output=True, text=True, preexec_fn=lambda: os.umask(umask))
    assert proc.returncode == 0, proc.stderr
    created = [p for p in home.rglob("*") if p not in existing] + [fresh, *fresh.rglob("*")]
    governance = [p for p in created if any(str(p.relative_to(home if home in p.parents else fresh)).startswith(g)
                                             for g in GOVERNANCE)]
    names = {str(p.relative_to(home)) for p in governance}
    assert {"governance/phase-ledger.yaml", "governance/.lock", "flags/defaults.json", "flags/CONFIG_FLAGS.md",
            "incident_queue.json", "reports/rca", "notifications/outbox"} <= names
    assert any(n.startswith("governance/audit/phase_rollout/") and n.endswith(".jsonl") for n in names)
    writable_by_others = [f"{p} {stat.filemode(p.stat().st_mode)}" for p in created
                          if p.stat().st_mode & (stat.S_IWGRP | stat.S_IWOTH)]
    assert writable_by_others == []
    # still readable by all, as before: reports and the warehouse are for every reader
    assert (home / "governance" / "phase-ledger.yaml").stat().st_mode & 0o777 == 0o644
