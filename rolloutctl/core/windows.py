"""The metric windows (macros/metric_windows.sql defines them for the models; `config check` checks the two agree)."""

WINDOWS = ("1h", "24h", "7d")
