"""`rolloutctl dashboard`: where it writes, what it answers, and that the page needs no network."""
from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from rolloutctl.cli import cli
from rolloutctl.cli.console import dashboard_summary


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def test_default_folder_is_dashboards_autosave_merge(synthetic):
    result = _run("--home", str(synthetic), "dashboard", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert Path(out["path"]) == synthetic / "dashboards" / "autosave-merge" / "index.html"
    assert out["url"].startswith("file://")
    assert out["current_phase"] == "B-1"
    assert out["decision"] in ("promote", "hold", "review", "rollback")
    assert out["phases"] == ["A-0", "A-1", "A-2", "B-0", "B-1"]
    assert len(out["charts"]) == 1 + 3 * 5
    assert out["source"] == "warehouse/rollout.duckdb"


def test_page_fetches_nothing(synthetic, tmp_path):
    result = _run("--home", str(synthetic), "dashboard", "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "vegaEmbed" in html


def test_human_output_names_the_file_and_decision(synthetic, tmp_path):
    result = _run("--home", str(synthetic), "dashboard", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert f"Dashboard written: {tmp_path / 'index.html'}" in result.output
    assert "current phase B-1" in result.output
    assert "\x1b[" not in result.output   # plain text when not a terminal


def test_missing_warehouse_says_what_to_do(tmp_path):
    result = _run("--home", str(tmp_path), "dashboard")
    assert result.exit_code == 1
    assert f"Error: no warehouse at {tmp_path / 'warehouse' / 'rollout.duckdb'}: run `rolloutctl ingest` first" \
        in result.output


def _capture(fn, obj, *, terminal: bool) -> str:
    from io import StringIO

    from rich.console import Console

    buf = StringIO()
    fn(obj, Console(file=buf, force_terminal=terminal, color_system="standard" if terminal else None, width=100))
    return buf.getvalue()


def test_dashboard_summary_mentions_warnings():
    text = _capture(dashboard_summary, {"path": "/x/index.html", "url": "file:///x/index.html", "charts": ["a"],
                                        "phases": ["A-0"], "bytes": 10, "source": "s", "current_phase": "A-0",
                                        "decision": None, "warnings": ["incident_queue.json could not be read"]},
                    terminal=False)
    assert "warning: incident_queue.json could not be read" in text
