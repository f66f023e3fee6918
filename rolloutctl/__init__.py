"""rolloutctl: the CLI and the orchestration it calls."""
from importlib.metadata import PackageNotFoundError, version

try:
    # the installed distribution's version (pyproject.toml): what `--version` and every audit record name
    __version__ = version("rolloutctl")
except PackageNotFoundError:   # imported from a checkout that was never installed
    __version__ = "0+unknown"
