"""rolloutctl: the CLI and the orchestration it calls."""

__version__ = "0.1.0"
