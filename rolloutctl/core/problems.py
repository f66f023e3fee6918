"""A problem found in a file: what `audit verify` and `config check` report, one per line."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str                   # relative to the home (audit) or the project (policy)
    line: int | None            # line in the file, None for the whole file
    message: str
    severity: str = "error"     # "error" or "warning"
    code: str | None = None     # a stable identifier where callers tell problems apart, e.g. dead_warn_band

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.message}" if self.code else f"{where}: {self.message}"

    def as_json(self) -> dict:
        doc = {"file": self.file, "line": self.line, "message": self.message}
        if self.code:
            doc.update(severity=self.severity, code=self.code)
        return doc
