"""Checks of the dbt seeds that configure the metrics and the gate (`rolloutctl config check`).

    problems = check_seeds(project_dir)        # [] when all is well
    for p in problems: print(p)                # governance/metric_thresholds.csv:3: warning: …

Errors make a seed wrong (the build would fail, or a threshold/rule could never apply); warnings flag something
that works but cannot be what was meant — such as the seed's restore threshold, whose warn level (0.97) lies on
the wrong side of its critical level (0.995): status is decided critical-first, so its warn band is dead.
"""
from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from rolloutctl.core.layout import PROJECT_DIR
from rolloutctl.core.phases import PHASES
from rolloutctl.core.problems import Problem
from rolloutctl.core.windows import WINDOWS

KINDS = ("quantile", "rate", "count")
BREACH_DIRECTIONS = ("above", "below")
PRECISIONS = ("legacy", "beta", "stable")
# gate rule measures that read a metrics_windowed / metric_status row of (metric, dimension, window)
METRIC_MEASURES = ("metric_value", "metric_critical", "daily_breach_hours")

REQUIRED_COLUMNS = {
    "phase_flags.csv": ("phase", "phase_order", "autosave_enabled", "autosave_audience", "merge_precision", "audience",
                        "description"),
    "metric_catalog.csv": ("metric", "dimension", "feature", "kind", "source_event", "description"),
    "metric_thresholds.csv": ("metric", "dimension", "window", "breach_when", "warn_level", "critical_level",
                              "min_samples", "applies_from_phase", "description"),
}


class _Report:
    def __init__(self):
        self.problems: list[Problem] = []

    def error(self, file: str, line: int | None, code: str, message: str) -> None:
        self.problems.append(Problem(file, line, message, "error", code))

    def warning(self, file: str, line: int | None, code: str, message: str) -> None:
        self.problems.append(Problem(file, line, message, "warning", code))


def check_seeds(project_dir: Path | str | None = None) -> list[Problem]:
    """Every problem found in the metric and gate seeds of the dbt project at `project_dir` (default: this repo)."""
    project = Path(project_dir) if project_dir else PROJECT_DIR
    report = _Report()
    seeds = project / "governance"
    windows = metric_windows(project)

    phases = _check_phase_flags(report, seeds)
    catalog = _check_catalog(report, seeds)
    thresholds = _check_thresholds(report, seeds, catalog, windows, phases)
    _check_gate_rules(report, seeds, catalog, windows, phases, thresholds)
    return report.problems


def metric_windows(project: Path) -> tuple[str, ...]:
    """The window names of macros/metric_windows.sql (the models' single definition), or the SPEC's three."""
    try:
        text = (project / "macros" / "metric_windows.sql").read_text(encoding="utf-8")
    except OSError:
        return WINDOWS
    names = re.findall(r"'name'\s*:\s*'([^']+)'", text)
    return tuple(names) or WINDOWS


def _read(report: _Report, seeds: Path, name: str, *, required: bool = True) -> list[tuple[int, dict]] | None:
    rel = f"governance/{name}"
    path = seeds / name
    if not path.exists():
        if required:
            report.error(rel, None, "missing_seed", "file not found")
        return None
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        report.error(rel, None, "unreadable_seed", f"cannot read: {exc}")
        return None
    missing = [c for c in REQUIRED_COLUMNS.get(name, ()) if c not in header]
    if missing:
        report.error(rel, 1, "missing_columns", f"missing column(s): {', '.join(missing)}")
        return None
    return [(line, {k: (v or "").strip() for k, v in row.items() if k is not None}) for line, row in rows]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _check_phase_flags(report: _Report, seeds: Path) -> dict[str, int]:
    rel = "governance/phase_flags.csv"
    rows = _read(report, seeds, "phase_flags.csv")
    if rows is None:
        return {p: i + 1 for i, p in enumerate(PHASES)}
    orders: dict[str, int] = {}
    seen_orders: dict[int, str] = {}
    for line, row in rows:
        phase = row["phase"]
        if phase not in PHASES:
            report.error(rel, line, "unknown_phase", f"unknown phase {phase!r} (phases are {', '.join(PHASES)})")
            continue
        if phase in orders:
            report.error(rel, line, "duplicate_phase", f"phase {phase} is listed twice")
            continue
        try:
            order = int(row["phase_order"])
        except ValueError:
            report.error(rel, line, "bad_phase_order", f"phase_order {row['phase_order']!r} is not an integer")
            continue
        if order in seen_orders:
            report.error(rel, line, "duplicate_phase_order", f"phase_order {order} is also {seen_orders[order]}'s")
        seen_orders[order] = phase
        orders[phase] = order
        if row["autosave_enabled"].lower() not in ("true", "false"):
            report.error(rel, line, "bad_flag",
                         f"autosave_enabled must be true or false, not {row['autosave_enabled']!r}")
        if row["merge_precision"] not in PRECISIONS:
            report.error(rel, line, "bad_flag",
                         f"merge_precision must be one of {', '.join(PRECISIONS)}, not {row['merge_precision']!r}")
    for phase in PHASES:
        if phase not in orders:
            report.error(rel, None, "missing_phase", f"phase {phase} has no row")
    listed = sorted(orders, key=orders.get)
    if len(listed) == len(PHASES) and tuple(listed) != PHASES:
        report.error(rel, None, "phase_order", f"phase_order gives {' → '.join(listed)}, not {' → '.join(PHASES)}")
    return orders or {p: i + 1 for i, p in enumerate(PHASES)}


def _check_catalog(report: _Report, seeds: Path) -> dict[str, dict[str, str]]:
    """metric → {dimension: kind}."""
    rel = "governance/metric_catalog.csv"
    rows = _read(report, seeds, "metric_catalog.csv")
    catalog: dict[str, dict[str, str]] = {}
    if rows is None:
        return catalog
    kinds: dict[str, str] = {}
    for line, row in rows:
        metric, dimension, kind = row["metric"], row["dimension"], row["kind"]
        if not metric or not dimension:
            report.error(rel, line, "empty_key", "metric and dimension must not be empty")
            continue
        if kind not in KINDS:
            report.error(rel, line, "unknown_kind", f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if dimension in catalog.get(metric, {}):
            report.error(rel, line, "duplicate_metric", f"{metric} / {dimension} is listed twice")
            continue
        if metric in kinds and kinds[metric] != kind:
            report.error(rel, line, "mixed_kinds", f"{metric} is a {kinds[metric]} on another row, a {kind} here")
        kinds.setdefault(metric, kind)
        catalog.setdefault(metric, {})[dimension] = kind
    return catalog


def _check_thresholds(report: _Report, seeds: Path, catalog: dict, windows: tuple[str, ...],
                      phases: dict[str, int]) -> set[tuple[str, str, str]]:
    rel = "governance/metric_thresholds.csv"
    rows = _read(report, seeds, "metric_thresholds.csv")
    keys: set[tuple[str, str, str]] = set()
    if rows is None:
        return keys
    for line, row in rows:
        metric, dimension, window = row["metric"], row["dimension"], row["window"]
        key = (metric, dimension, window)
        where = f"{metric} / {dimension} / {window}"
        kind = None
        if catalog and metric not in catalog:
            report.error(rel, line, "unknown_metric", f"unknown metric {metric!r} (see governance/metric_catalog.csv)")
        elif catalog and dimension not in catalog[metric]:
            report.error(rel, line, "unknown_dimension",
                         f"{metric} has no dimension {dimension!r} (it has {', '.join(catalog[metric])})")
        elif catalog:
            kind = catalog[metric][dimension]
        if window not in windows:
            report.error(rel, line, "unknown_window", f"unknown window {window!r} (windows are {', '.join(windows)})")
        if key in keys:
            report.error(rel, line, "duplicate_threshold", f"{where} has two thresholds")
        keys.add(key)

        direction = row["breach_when"]
        if direction not in BREACH_DIRECTIONS:
            report.error(rel, line, "bad_breach_when", f"breach_when must be above or below, not {direction!r}")
        warn, critical = _number(row["warn_level"]), _number(row["critical_level"])
        if warn is None:
            report.error(rel, line, "bad_level", f"warn_level {row['warn_level']!r} is not a finite number")
        if critical is None:
            report.error(rel, line, "bad_level", f"critical_level {row['critical_level']!r} is not a finite number")

        min_samples = row["min_samples"]
        try:
            count = int(min_samples)
        except ValueError:
            report.error(rel, line, "bad_min_samples", f"min_samples {min_samples!r} is not an integer")
        else:
            if count < 0:
                report.error(rel, line, "negative_min_samples", f"min_samples is {count}: it must be 0 or more")

        if "critical_budget_share" in row:          # optional: older files lack it (read with the defaults)
            budget = _number(row["critical_budget_share"])
            if budget is None or not 0 <= budget <= 1:
                report.error(rel, line, "bad_budget_share",
                             f"critical_budget_share {row['critical_budget_share']!r} is not a share in [0, 1]")

        first_phase = row["applies_from_phase"]
        if first_phase not in phases:
            report.error(rel, line, "unknown_phase",
                         f"applies_from_phase {first_phase!r} is not a phase ({', '.join(PHASES)})")

        if warn is None or critical is None or direction not in BREACH_DIRECTIONS:
            continue
        if (direction == "above" and warn >= critical) or (direction == "below" and warn <= critical):
            side = "at or above" if direction == "above" else "at or below"
            report.warning(
                rel, line, "dead_warn_band",
                f"{where}: warn level {warn:g} is {side} the critical level {critical:g} of a '{direction}' threshold, "
                f"so every value that breaches warn breaches critical first: status never says warn (dead warn band)")
        if kind == "rate":
            for name, level in (("warn_level", warn), ("critical_level", critical)):
                if not 0 <= level <= 1:
                    report.warning(rel, line, "level_out_of_range",
                                   f"{where}: {name} {level:g} is outside [0, 1], where a rate lives")
        elif kind in ("quantile", "count"):
            for name, level in (("warn_level", warn), ("critical_level", critical)):
                if level < 0:
                    report.warning(rel, line, "level_out_of_range", f"{where}: {name} {level:g} is negative")
    return keys


def _check_gate_rules(report: _Report, seeds: Path, catalog: dict, windows: tuple[str, ...], phases: dict[str, int],
                      thresholds: set[tuple[str, str, str]]) -> None:
    """Cross-seed references of the gate rules that read metric rows (the rest is the gate's own business)."""
    rel = "governance/gate_rules.csv"
    path = seeds / "gate_rules.csv"
    if not path.exists():
        return
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        report.error(rel, None, "unreadable_seed", f"cannot read: {exc}")
        return
    for line, row in rows:
        if row.get("measure") not in METRIC_MEASURES:
            continue
        metric, dimension, window = row.get("metric", ""), row.get("dimension", ""), row.get("window", "")
        rule = row.get("rule_id") or f"line {line}"
        if catalog and metric not in catalog:
            report.error(rel, line, "unknown_metric", f"rule {rule}: unknown metric {metric!r}")
        elif catalog and dimension not in catalog[metric]:
            report.error(rel, line, "unknown_dimension", f"rule {rule}: {metric} has no dimension {dimension!r}")
        if window not in windows:
            report.error(rel, line, "unknown_window", f"rule {rule}: unknown window {window!r}")
        if row.get("measure") == "metric_critical" and (metric, dimension, window) not in thresholds:
            report.error(rel, line, "no_threshold",
                         f"rule {rule}: no metric_thresholds row for {metric} / {dimension} / {window}, "
                         f"so its status is never critical")
        if row.get("phase") and row["phase"] not in phases:
            report.error(rel, line, "unknown_phase", f"rule {rule}: unknown phase {row['phase']!r}")
