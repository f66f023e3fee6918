"""The fast tier runs on every core (`-n auto --dist loadgroup`); tests that share an expensive session fixture (the
demo rollout) carry one xdist_group so one worker builds it once. This checks that the installed pytest and
pytest-xdist still group (pytest 9.2 silently stopped it: pytest-xdist issue #1386)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def test_tests_of_one_xdist_group_run_on_one_worker(tmp_path):
    (tmp_path / "conftest.py").write_text(textwrap.dedent("""
        import os, pytest

        @pytest.fixture(scope="session")
        def shared():
            with open(os.environ["BUILDS"], "a") as f:
                f.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
    """))
    for module in ("a", "b"):
        (tmp_path / f"test_{module}.py").write_text(textwrap.dedent("""
            import pytest
            pytestmark = pytest.mark.xdist_group("shared")
            @pytest.mark.parametrize("i", range(4))
            def test_grouped(shared, i):
                pass
        """))
    (tmp_path / "test_other.py").write_text("import pytest\n@pytest.mark.parametrize('i', range(8))\n"
                                            "def test_free(i):\n    pass\n")
    builds = tmp_path / "builds.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
         str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "BUILDS": str(builds)},
        timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "16 passed" in proc.stdout
    assert len(builds.read_text().split()) == 1, "the group's session fixture was built on more than one worker"
