"""People-facing summaries with rich: colours and tables on a terminal, plain text when piped.

Commands call these with the same dict they print for `--json`, so the two never drift apart:

    from .present import gate_summary
    result = run_gate(...)                 # the --json dict of SPEC §8
    if as_json: emit_json(result) else: gate_summary(result)

- `gate_summary(result)`: the decision as a coloured headline, the rules (fired and blocking first), the files
  written, and what to do next;
- `ingest_summary(result)`: the load's counts, rejects highlighted with where to look;
- `dashboard_summary(result)`: where the dashboard is and what it shows.

On a terminal rich adds colours and boxes; piped (or NO_COLOR set), the same text comes out without escape codes
and with plain rules, so `grep` and logs stay readable.
"""
from __future__ import annotations

from typing import Iterable

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

DECISION_STYLE = {"promote": "bold green", "hold": "bold blue", "review": "bold yellow", "rollback": "bold red"}
STATUS_STYLE = {
    "passed": "green", "clear": "green", "ok": "green", "complete": "green",
    "not_met": "blue", "hold": "blue",
    "warn": "yellow", "insufficient_data": "yellow", "review": "yellow",
    "fired": "bold red", "critical": "bold red", "rollback": "bold red",
    "not_applicable": "dim",
}
# Fired rollback/review rules first, then promote rules that block, then the rest.
STATUS_ORDER = {"fired": 0, "not_met": 1, "insufficient_data": 2, "passed": 3, "clear": 4}
KIND_ORDER = {"rollback": 0, "review": 1, "promote": 2}


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)  # paths and URLs stay on one line


def _box(con: Console):
    return box.ROUNDED if con.is_terminal else box.SIMPLE_HEAD


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        v = float(value)
        return f"{int(v):,}" if v.is_integer() and abs(v) >= 1 else f"{v:.4g}"
    return str(value)


def styled(value: str | None, styles: dict[str, str] = STATUS_STYLE) -> Text:
    text = value or "—"
    return Text(text, style=styles.get(text, ""))


def rules_table(rules: Iterable[dict], con: Console | None = None, title: str | None = None) -> Table:
    """The gate's rules as a table: fired rollback/review rules and blocking promote rules first."""
    con = con or console()
    table = Table(title=title, box=_box(con), title_justify="left", header_style="bold")
    for name, justify in (("rule", "left"), ("kind", "left"), ("value", "right"), ("", "center"),
                          ("threshold", "right"), ("status", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "rule")
    ordered = sorted(rules, key=lambda r: (STATUS_ORDER.get(r.get("status"), 9), KIND_ORDER.get(r.get("kind"), 9),
                                           str(r.get("rule_id"))))
    for r in ordered:
        table.add_row(str(r.get("rule_id", "")), str(r.get("kind", "")), _fmt(r.get("value")),
                      str(r.get("comparator") or ""), _fmt(r.get("threshold")), styled(r.get("status")))
    return table


NEXT_STEPS = {
    "rollback": "roll back: `rolloutctl gate --apply --executor NAME` (or `rolloutctl rollback --to {rollback_to} "
                "--executor NAME --reason TEXT`)",
    "review": "hold a rollback judgment meeting; the gate keeps the phase until no review rule fires",
    "promote": "promote: `rolloutctl gate --apply --executor NAME` (or `rolloutctl promote --to {next_phase} "
               "--executor NAME --reason TEXT`)",
    "hold": "nothing to do yet: the phase holds until every promote rule passes",
}


def gate_summary(result: dict, con: Console | None = None) -> None:
    """Print the gate's answer (the dict of `rolloutctl gate --json`) for a person."""
    con = con or console()
    decision = str(result.get("decision") or "unknown")
    head = Text()
    head.append(f"{result.get('phase', '?')} ", style="bold")
    head.append(f"@ {result.get('eval_at', '?')}  ")
    head.append(decision.upper(), style=DECISION_STYLE.get(decision, "bold"))
    if result.get("next_phase") and decision == "promote":
        head.append(f" → {result['next_phase']}", style="green")
    if result.get("rollback_to") and decision == "rollback":
        head.append(f" → {result['rollback_to']}", style="red")
    con.print(head)
    rules = result.get("rules") or []
    if rules:
        con.print(rules_table(rules, con))
    lacking = [r["rule_id"] for r in rules if r.get("status") == "insufficient_data"]
    if lacking:
        con.print(Text(f"Lacking data (neither promote nor roll back): {', '.join(lacking)}", style="yellow"))
    for key, label in (("report", "report"), ("metrics_file", "metrics"), ("dashboard", "dashboard")):
        if result.get(key):
            con.print(Text.assemble((f"{label:>9}: ", "dim"), str(result[key])), soft_wrap=True)
    hint = NEXT_STEPS.get(decision)
    if hint:
        try:
            hint = hint.format(**{k: result.get(k) or "?" for k in ("next_phase", "rollback_to")})
        except (KeyError, IndexError):
            pass
        con.print(Text.assemble(("next: ", "dim"), hint))


def ingest_summary(result: dict, con: Console | None = None) -> None:
    """Print an ingest's counts (the dict of `rolloutctl ingest --json`) for a person."""
    con = con or console()
    table = Table(box=_box(con), show_header=False)
    table.add_column(justify="right", style="dim")
    table.add_column(justify="right")
    rejected = int(result.get("rejected") or 0)
    for key in ("files", "lines", "loaded", "rejected", "duplicates", "pending_partial"):
        value = result.get(key)
        style = "bold red" if key == "rejected" and rejected else ("green" if key == "loaded" else "")
        table.add_row(key.replace("_", " "), Text(_fmt(value), style=style))
    if result.get("seconds") is not None:
        seconds = float(result["seconds"])
        rate = (int(result.get("lines") or 0) / seconds) if seconds > 0 else None
        table.add_row("seconds", f"{seconds:.2f}" + (f"  ({rate:,.0f} lines/s)" if rate else ""))
    con.print(table)
    if rejected:
        con.print(Text.assemble(("next: ", "dim"), "see why with `duckdb warehouse/rollout.duckdb "
                                "\"select source_file, line_no, message from raw.rejected_events\"`"))


def dashboard_summary(result: dict, con: Console | None = None) -> None:
    """Print where the dashboard was written (the dict of `rolloutctl dashboard --json`)."""
    con = con or console()
    decision = result.get("decision")
    head = Text.assemble(("Dashboard written: ", "bold"), str(result.get("path")))
    con.print(head, soft_wrap=True)
    line = Text.assemble(("  open ", "dim"), (str(result.get("url")), "underline"))
    con.print(line, soft_wrap=True)
    state = Text.assemble(("  current phase ", "dim"), (str(result.get("current_phase")), "bold"))
    if decision:
        state.append("  decision ", style="dim")
        state.append(str(decision).upper(), style=DECISION_STYLE.get(decision, "bold"))
        state.append(f" at {result.get('eval_at')}", style="dim")
    con.print(state)
    con.print(Text(f"  {len(result.get('charts') or [])} charts over {len(result.get('phases') or [])} phase(s), "
                   f"{int(result.get('bytes') or 0) / 1e6:.1f} MB, data from {result.get('source')}", style="dim"))
    for w in result.get("warnings") or []:
        con.print(Text(f"  warning: {w}", style="yellow"))
