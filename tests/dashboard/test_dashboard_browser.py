"""The dashboard in a real browser: headless Chromium opens index.html from file:// and every chart renders.

Chromium is driven through the DevTools protocol (dashboard_browser.py): the test waits for the page's charts,
then reads the rendered DOM, the console, uncaught exceptions and network requests, and saves screenshots to
test-artifacts/dashboard.png (the top of the page) and test-artifacts/dashboard-full.png.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from rolloutctl.cli import cli
from rolloutctl.decision.charts import SLO_CHARTS
from tests.support.dashboard_browser import chromium, open_page
from tests.support.svg_marks import read_page

# one worker builds the pipeline home (conftest.py) and opens the page, once
pytestmark = pytest.mark.xdist_group("dashboard")

if chromium() is None:
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing on CI: .ci/run installs it (apt-get install -y chromium)")
    pytest.skip("chromium is not installed here: apt-get install -y chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def written(rollout_home: Path, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("dashboard")
    result = CliRunner().invoke(cli, ["--home", str(rollout_home), "dashboard", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def visit(written, tmp_path_factory, artifacts):
    page = open_page(Path(written["path"]).as_uri(), tmp_path_factory.mktemp("chromium-profile"))
    (artifacts / "dashboard.png").write_bytes(page.screenshot)
    (artifacts / "dashboard-full.png").write_bytes(page.full_screenshot)
    (artifacts / "dashboard-dom.html").write_text(page.dom, encoding="utf-8")
    return page


def test_every_chart_reports_rendered(written, visit):
    assert visit.ready == {"charts": len(written["charts"]), "failed": 0}
    assert 'data-charts="rendered"' in visit.dom


def test_no_console_errors_exceptions_or_network(visit):
    assert visit.console_errors == []
    assert visit.exceptions == []
    assert visit.log_errors == []
    assert visit.console_warnings == []     # Vega logs its spec warnings here
    assert visit.requests == []             # nothing fetched: everything is inline


def test_every_chart_container_holds_a_rendered_svg(written, visit):
    ids = set(written["charts"])
    charts = read_page(visit.dom, ids)
    for chart_id, chart in charts.items():
        assert chart.svgs == 1, f"{chart_id} has no rendered <svg class=marks>"
        assert re.search(rf'id="{re.escape(chart_id)}"[^>]*data-rendered="true"', visit.dom), chart_id


def test_slo_charts_show_points_and_threshold_lines(written, visit):
    slo_ids = {i for i in written["charts"] if i != "chart-timeline"}
    assert len(slo_ids) == len(SLO_CHARTS) * len(written["phases"])
    for chart_id, chart in read_page(visit.dom, slo_ids).items():
        assert chart.count("metric_points") > 0, chart_id
        assert chart.count("threshold_rules") >= 2, chart_id
        labels = chart.labels("threshold_labels")
        assert any(label.startswith("warn ") for label in labels), chart_id
        assert any(label.startswith("critical ") for label in labels), chart_id


def test_timeline_shows_decisions_and_the_rollback(visit):
    timeline = read_page(visit.dom, {"chart-timeline"})["chart-timeline"]
    assert timeline.count("decision_runs") > 0
    assert timeline.count("ledger_marks") == 6
    labels = timeline.labels("ledger_labels_left") + timeline.labels("ledger_labels_right")
    assert "rollback A-2→A-1" in labels


def test_page_shows_decision_rules_qa_incidents_and_rca_links(written, visit):
    dom = visit.dom
    assert f'id="current-decision">{written["decision"]}<' in dom
    assert 'id="rules"' in dom and "<code>b1_" in dom
    assert "restore_qa" in dom
    rca_links = re.findall(r'<a class="rca" href="([^"]+)"', dom)
    assert rca_links and all(link.startswith("../") and link.endswith(".md") for link in rca_links)
    page_dir = Path(written["path"]).parent
    assert all((page_dir / link).resolve().exists() for link in rca_links)


def test_screenshots_are_saved(visit, artifacts):
    png = (artifacts / "dashboard.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    assert (width, height) == (1400, 2200)


def test_page_shows_each_phases_error_budget(written, visit):
    dom = visit.dom
    for phase in written["phases"]:
        if phase == "A-0":          # no threshold applies before A-1: no budget
            assert f'id="budget-{phase}"' not in dom
            continue
        table = re.search(rf'<table class="budget" id="budget-{phase}">(.*?)</table>', dom, re.S)
        assert table, f"no error budget for {phase}"
        rows = re.findall(r"<tr><td><code>(\w+)</code></td><td>(\w+)</td><td>(\w+)</td>\s*"
                          r'<td class="num">([\d,]+) of ([\d,]+)</td>\s*<td class="num">([\d.]+)%</td>'
                          r'<td class="num">([\d.]+)%</td>', table.group(1))
        assert ("autosave_p95", "all", "1h") in {r[:3] for r in rows}, phase
        for *_, critical, grid, share, _budget in rows:
            n, d = int(critical.replace(",", "")), int(grid.replace(",", ""))
            assert float(share) == pytest.approx(100 * n / d, abs=0.005)
    # the regression spends A-2's save-latency budget
    a2 = re.search(r'id="budget-A-2">(.*?)</table>', dom, re.S).group(1)
    assert re.search(r"<code>autosave_p95</code>.*?exhausted</span>", a2, re.S)


def test_page_shows_rate_intervals_watermarks_and_finality(visit):
    dom = visit.dom
    intervals = re.findall(r'<td class="num interval">([^<]*)</td>', dom)
    bounds = [tuple(map(float, i.split(" – "))) for i in intervals if i != "—"]
    assert bounds and all(0 <= lo <= hi <= 1 for lo, hi in bounds)        # rates: a Wilson interval in [0, 1]
    table = re.search(r'<table id="watermarks">(.*?)</table>', dom, re.S)
    assert table and {"autosave", "merge", "app"} <= set(re.findall(r"<tr><td>(\w+)</td>", table.group(1)))
    assert re.search(r'<p id="finality">[^<]*latest grid time [^<]* is\s*<span class="badge s-(ok|warn)">'
                     r"(final|not final)</span>", dom)
