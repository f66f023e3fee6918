"""Jinja2 templates: the daily report (templates/reports/) and the RCA stub (the policy's governance/templates/)."""
from __future__ import annotations

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from rolloutctl.core.layout import RCA_TEMPLATE, REPORT_TEMPLATE_DIR

_env = Environment(
    loader=FileSystemLoader([str(REPORT_TEMPLATE_DIR), str(RCA_TEMPLATE.parent)]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)


def render(name: str, **context) -> str:
    return _env.get_template(name).render(**context)
