"""The report's charts: SVG files next to the report that show exactly the rows of the day, against their lines."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
from altair.vegalite.v6.schema import core as vega_lite

from ingest.errors import UsageError
from ingest.warehouse import connect
from rolloutctl.decision.charts import (
    CHART_NAMES,
    SLO_CHARTS,
    chart_markdown,
    day_range,
    decision_runs,
    load_chart_data,
    render_report_charts,
    report_specs,
    slo_spec,
    timeline_spec,
)
from tests.support.svg_marks import read_svg

DAY = "2026-11-02"          # the synthetic rollout's A-1 → A-2 day, with the regression and the rollback
START = datetime(2026, 11, 2, tzinfo=UTC)


def _rows(home: Path, metric: str, dimension: str, *, phase: str | None = None) -> int:
    """Metric rows with a value among the evaluation times of DAY (T's day: 00:15 … next 00:00)."""
    con = connect(home, read_only=True)
    try:
        sql = """select count(*) from marts.metrics_windowed
                 where metric = ? and dimension = ? and value is not null and eval_at > ? and eval_at <= ?"""
        params = [metric, dimension, START, START + timedelta(days=1)]
        if phase:
            sql += " and phase = ?"
            params.append(phase)
        return con.execute(sql, params).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def charts(synthetic: Path) -> dict[str, Path]:
    return render_report_charts(synthetic, DAY)


def test_every_chart_is_an_svg_file_next_to_the_report(synthetic, charts):
    assert set(charts) == set(CHART_NAMES)
    for name, path in charts.items():
        assert path == synthetic / "reports" / "rollout" / DAY / f"{name}.svg"
        root = ET.parse(path).getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_latency_chart_has_a_point_for_every_row_of_the_day(synthetic, charts):
    chart = read_svg(charts["autosave_p95"].read_text())
    expected = _rows(synthetic, "autosave_p95", "all")
    assert expected == 96 * 3  # every quarter hour of the day, in three windows
    assert chart.count("metric_points") == expected
    # one line per window and phase: the day holds the end of A-1 and the start of A-2
    assert chart.count("metric_lines") == 3 * 2


def test_latency_chart_draws_its_warn_and_critical_lines(charts):
    chart = read_svg(charts["autosave_p95"].read_text())
    labels = chart.labels("threshold_labels")
    assert "warn 700 ms (1h)" in labels
    assert "critical 900 ms (1h)" in labels
    assert any(label.startswith("gate 2500 ms") for label in labels)   # the A-1 rollback / breach-hour line
    assert chart.count("threshold_rules") == len(labels) == 3


def test_latency_chart_reaches_the_regression(charts):
    text = charts["autosave_p95"].read_text()
    # the regression's 1h p95 sits near 3000 ms: the y axis runs that far
    assert ">3,000<" in text


def test_null_values_are_not_drawn(synthetic, charts):
    chart = read_svg(charts["restore_success_rate"].read_text())
    expected = _rows(synthetic, "restore_success_rate", "overall")
    assert expected < 96 * 3  # some 1h windows of the synthetic day hold no restore
    assert chart.count("metric_points") == expected


def test_rate_charts_draw_their_levels(charts):
    restore = read_svg(charts["restore_success_rate"].read_text()).labels("threshold_labels")
    merge = read_svg(charts["merge_auto_success_rate"].read_text()).labels("threshold_labels")
    assert restore == ["warn 97% (24h)", "critical 99.5% (24h)"]
    assert merge == ["warn 85% (24h)", "critical 80% (24h)"]


def test_charts_mark_the_days_promotion_and_rollback(charts):
    for name in ("autosave_p95", "restore_success_rate", "merge_auto_success_rate"):
        chart = read_svg(charts[name].read_text())
        labels = chart.labels("ledger_labels_left") + chart.labels("ledger_labels_right")
        assert sorted(labels) == ["promote A-1→A-2", "rollback A-2→A-1"], name
        assert chart.count("ledger_rules") == 2


def test_timeline_shows_decisions_and_every_ledger_action_up_to_the_day(synthetic, charts):
    chart = read_svg(charts["phase_timeline"].read_text())
    con = connect(synthetic, read_only=True)
    try:
        data = load_chart_data(con, synthetic, end=START + timedelta(days=1))
    finally:
        con.close()
    assert chart.count("decision_runs") == len(decision_runs(data))
    assert chart.count("ledger_marks") == 3   # promote A-0→A-1, promote A-1→A-2, rollback A-2→A-1
    labels = chart.labels("ledger_labels_left") + chart.labels("ledger_labels_right")
    assert "rollback A-2→A-1" in labels
    assert chart.count("highlight_band") == 1


def test_phase_filter_draws_only_that_phase(synthetic, tmp_path):
    paths = render_report_charts(synthetic, DAY, phase="A-2", out_dir=tmp_path)
    chart = read_svg(paths["autosave_p95"].read_text())
    assert chart.count("metric_points") == _rows(synthetic, "autosave_p95", "all", phase="A-2")
    assert chart.count("metric_lines") == 3


def test_a_day_without_evaluations_still_renders_and_says_so(synthetic, tmp_path):
    paths = render_report_charts(synthetic, "2026-12-01", out_dir=tmp_path)
    text = paths["autosave_p95"].read_text()
    assert "no evaluations with data in this range" in text
    assert read_svg(text).count("metric_points") == 0


def test_markdown_links_are_relative_to_the_report(synthetic, charts):
    report = synthetic / "reports" / "rollout" / f"{DAY}.md"
    links = chart_markdown(charts, report)
    assert links["autosave_p95"] == f"![AutoSave save latency p95]({DAY}/autosave_p95.svg)"
    assert links["phase_timeline"] == f"![Phase timeline]({DAY}/phase_timeline.svg)"


def test_a_bad_date_is_a_usage_error(synthetic):
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        render_report_charts(synthetic, "02/11/2026")


def test_every_spec_the_builders_make_is_valid_vega_lite(synthetic):
    """The builders skip altair's schema check at run time (charts._unvalidated): it is made here, on the report's
    specs of a whole day, of one phase and of an empty day, and on the dashboard's per-phase and timeline specs."""
    con = connect(synthetic, read_only=True)
    try:
        specs = []
        for day, phase in ((DAY, None), (DAY, "A-2"), ("2026-12-01", None)):
            date, start, end = day_range(day)
            data = load_chart_data(con, synthetic, phase=phase, start=start, end=end)
            history = load_chart_data(con, synthetic, end=end)
            specs += report_specs(data, history, date, phase).values()
        everything = load_chart_data(con, synthetic)
    finally:
        con.close()
    specs += [slo_spec(c, everything, phase="A-1", width=470, height=200) for c in SLO_CHARTS]
    specs.append(timeline_spec(everything, width=1000))
    for spec in specs:
        vega_lite.Root.validate(spec)
    broken = {**specs[0], "mark": "no-such-mark"}          # the check does catch a spec Vega-Lite refuses
    with pytest.raises(jsonschema.ValidationError):
        vega_lite.Root.validate(broken)
