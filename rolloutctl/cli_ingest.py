"""Commands: schema lint, ingest, collect."""
from .cli import cli  # noqa: F401
