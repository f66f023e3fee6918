"""marts.metric_confidence: a 95% Wilson interval for every rate row of metrics_windowed; a rule may compare a bound
instead of the point value (gate_rules.bound); the report shows the intervals."""
from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from ingest.loader import ingest
from ingest.warehouse import warehouse_path
from rolloutctl.cli import cli
from rolloutctl.core.layout import PROJECT_DIR
from rolloutctl.warehouse.dbt_runner import run_dbt

Z = 1.959963984540054
MODELS = ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
DAY = datetime(2026, 4, 1, tzinfo=UTC)
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "governance", "data-tests")


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Written out here, independently of the macro."""
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))


def restores(count: int, failures: int, start: datetime, minutes: int) -> list[dict]:
    out = []
    for i in range(count):
        ok = i < count - failures
        e = {"event": "autosave.restore.result", "ts": (start + timedelta(seconds=i * minutes * 60 / count))
             .strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "phase": "A-1", "feature": "autosave", "success": ok,
             "source": "current" if i % 2 else "history", "duration_ms": 40}
        out.append(e if ok else {**e, "retryable": False})
    return out


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    h = tmp_path_factory.mktemp("confidence")
    # 24 h to 02:00: 400 restores, 3 failures → 0.9925 (below 0.995), yet the interval reaches 0.9974
    events = restores(200, 0, DAY, 60) + restores(200, 3, DAY + timedelta(hours=1), 60)
    (h / "logs").mkdir()
    (h / "logs" / "r.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    ingest(h, [h / "logs"])
    return h


def query(home: Path, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_every_rate_row_has_its_wilson_interval(home, dbt_target):
    run_dbt(home, MODELS, select="+metric_confidence", target_path=dbt_target)
    rates = query(home, """select phase, eval_at, metric, dimension, "window", value, sample_count
                           from marts.metrics_windowed where metric like '%_rate'""")
    bounds = {r[:5]: r[5:] for r in query(home, """select phase, eval_at, metric, dimension, "window", lower_bound,
                                                          upper_bound from marts.metric_confidence""")}
    assert len(bounds) == len(rates) > 0
    checked = 0
    for phase, t, metric, dimension, window, value, n in rates:
        lower, upper = bounds[(phase, t, metric, dimension, window)]
        if n == 0:
            assert (value, lower, upper) == (None, None, None)
            continue
        expected = wilson(round(value * n), n)
        assert (lower, upper) == (pytest.approx(expected[0], abs=1e-12), pytest.approx(expected[1], abs=1e-12))
        assert lower <= value <= upper
        checked += 1
    assert checked > 0
    at_two = [b for k, b in bounds.items()
              if k[1] == DAY + timedelta(hours=2) and k[2:] == ("restore_success_rate", "overall", "24h")]
    assert at_two == [pytest.approx(wilson(397, 400))]


def project_with_rules(tmp_path: Path, edit: tuple[str, str]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        src = PROJECT_DIR / name
        (shutil.copytree if src.is_dir() else shutil.copyfile)(src, project / name)
    rules = project / "governance" / "gate_rules.csv"
    text = rules.read_text()
    assert edit[0] in text
    rules.write_text(text.replace(edit[0], edit[1]))
    return project


def test_a_rule_may_compare_a_bound_instead_of_the_value(home, tmp_path, dbt_target):
    point = "A-1,a1_rollback_restore_24h,rollback,metric_value,restore_success_rate,overall,24h,,<"
    # roll back only once even the upper bound of the interval is below 0.995
    project = project_with_rules(tmp_path, (point, point.replace("24h,,<", "24h,upper_bound,<")))
    run_dbt(home, MODELS, select="+gate_rule_results", project_dir=project, target_path=tmp_path / "target")
    (value, status, detail), = query(home, """
        select value, status, detail from marts.gate_rule_results
        where rule_id = 'a1_rollback_restore_24h' and eval_at = ?""", [DAY + timedelta(hours=2)])
    assert value == pytest.approx(wilson(397, 400)[1])
    assert status == "clear"                    # 0.9925 would fire; its upper bound 0.9974 does not
    assert "upper bound (95%)" in detail


def test_the_shipped_rules_compare_the_point_value(home, dbt_target):
    run_dbt(home, MODELS, select="+gate_verdicts", target_path=dbt_target)
    (value, status, bound), = query(home, """
        select value, status, bound from marts.gate_rule_results
        where rule_id = 'a1_rollback_restore_24h' and eval_at = ?""", [DAY + timedelta(hours=2)])
    assert (value, status, bound) == (pytest.approx(0.9925), "fired", "value")


def test_the_report_and_analyzer_output_show_the_intervals(home, dbt_target):
    run_dbt(home, MODELS, select="+gate_verdicts +ingest_watermarks", target_path=dbt_target)
    result = CliRunner().invoke(cli, ["--home", str(home), "gate", "--no-build", "--phase", "A-1", "--json",
                                      "--at", "2026-04-01T02:00:00Z"])
    assert result.exit_code == 3, result.output
    doc = json.loads(result.stdout)
    analyzer = json.loads((home / doc["metrics_file"]).read_text())
    row = next(m for m in analyzer["evaluations"][-1]["metrics"]
               if (m["metric"], m["dimension"], m["window"]) == ("restore_success_rate", "overall", "24h"))
    assert (row["lower_bound"], row["upper_bound"]) == pytest.approx(wilson(397, 400))
    report = (home / doc["report"]).read_text()
    assert "| restore_success_rate | overall | 24h | 0.9925 | 0.9782 – 0.9974 | 400 |" in report
