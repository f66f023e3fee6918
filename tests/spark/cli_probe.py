"""Run `rolloutctl ARGS...` in this process, then write what ran inside it to EVIDENCE (a JSON file):

    python tests/spark/cli_probe.py EVIDENCE ARGS...

    {"exit_code", "pyspark_imported", "spark_session", "java_descendants"}

pyspark_imported: any pyspark module was imported (without it there is no SparkSession, hence no local JVM);
spark_session: pyspark's active or instantiated session exists; java_descendants: the command lines of the java
processes below this one, sampled while the command ran (a local PySpark starts its JVM as a child). The
cluster tests (test_cluster.py) assert that a network Spark target leaves all three empty.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path


def _descendant_javas(root: int) -> set[str]:
    found, stack = set(), [root]
    while stack:
        pid = stack.pop()
        try:
            for task in Path(f"/proc/{pid}/task").iterdir():
                for child in (task / "children").read_text().split():
                    stack.append(int(child))
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
                    if cmdline and Path(cmdline[0].decode(errors="replace")).name == "java":
                        found.add(" ".join(a.decode(errors="replace") for a in cmdline)[:300])
        except (OSError, ValueError):
            continue
    return found


def main() -> None:
    evidence, args = Path(sys.argv[1]), sys.argv[2:]
    javas: set[str] = set()
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            javas.update(_descendant_javas(os.getpid()))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sys.argv = ["rolloutctl", *args]
    code = 0
    try:
        from rolloutctl.cli import main as cli_main

        cli_main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        done.set()
        sampler.join()
        javas.update(_descendant_javas(os.getpid()))
        imported = sorted(m for m in sys.modules if m == "pyspark" or m.startswith("pyspark."))
        session = False
        if "pyspark.sql" in sys.modules:
            from pyspark.sql import SparkSession

            session = SparkSession._instantiatedSession is not None or SparkSession.getActiveSession() is not None
        evidence.write_text(json.dumps({"exit_code": code, "pyspark_imported": imported, "spark_session": session,
                                        "java_descendants": sorted(javas)}))
    sys.exit(code)


if __name__ == "__main__":
    main()
