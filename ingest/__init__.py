"""Read, validate and load telemetry events into the DuckDB warehouse (no CLI code here)."""
