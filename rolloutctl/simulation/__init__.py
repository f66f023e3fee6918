"""Simulated rollouts: realistic telemetry (`telemetry`) and the end-to-end demo built on it (`demo`)."""
