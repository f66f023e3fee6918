#!/usr/bin/env python3
"""Generate realistic rolloutctl telemetry (JSONL): the generator is rolloutctl.simulation.telemetry.

    python scripts/generate_telemetry.py --events 200000 --days 10 --seed 7 --regression --out logs/
"""
import sys

from rolloutctl.simulation.telemetry import main

if __name__ == "__main__":
    sys.exit(main())
