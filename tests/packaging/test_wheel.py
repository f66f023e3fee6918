"""The built wheel carries everything the CLI reads at run time, and installed into a clean virtual environment,
outside the checkout, it decides exactly as the checkout does."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from rolloutctl.core import layout

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("rolloutctl", "ingest")
DECISION_KEYS = ("phase", "eval_at", "decision", "next_phase", "rollback_to", "reason", "deciding_rule_ids")


def _git_files(*paths: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", "--", *paths], cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built by pip through the project's build backend (hatchling, an isolated build)."""
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out),
                           str(REPO)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("rolloutctl-*.whl")
    return built


def test_the_wheel_holds_the_packages_and_every_project_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert wheel.name == f"rolloutctl-{version}-py3-none-any.whl"
    code = {f for f in _git_files(*PACKAGES) if not f.endswith((".pyc",))}
    project = {f"rolloutctl/{layout.PROJECT_PACKAGE_DIR}/{f}" for f in _git_files(*layout.PROJECT_FILES)}
    metadata = {n for n in names if n.startswith(f"rolloutctl-{version}.dist-info/")}
    assert names - metadata == code | project
    assert any(n.endswith("entry_points.txt") for n in metadata)


@pytest.mark.long
def test_an_installed_wheel_outside_the_checkout_decides_as_the_checkout(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], capture_output=True,
                               text=True, timeout=1200)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    work = tmp_path / "elsewhere"                     # an empty folder outside the checkout
    work.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ROLLOUT_HOME", "VIRTUAL_ENV")}

    def run(exe: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess:
        cmd = [str(exe), *(["--home", str(home)] if home else []), *args]
        return subprocess.run(cmd, cwd=work, env=clean, capture_output=True, text=True, timeout=1200)

    tool = env_dir / "bin" / "rolloutctl"
    where = subprocess.run([str(python), "-c", "from rolloutctl.core.layout import PROJECT_DIR; print(PROJECT_DIR)"],
                           cwd=work, env=clean, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(env_dir) and Path(where).name == layout.PROJECT_PACKAGE_DIR
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert run(tool, "--version").stdout.strip() == f"rolloutctl, version {version}"
    assert run(tool, "schema", "lint").returncode == 0
    assert run(tool, "config", "check").returncode == 0

    logs = work / "logs"
    generated = subprocess.run(
        [str(python), "-c", "import sys; from rolloutctl.simulation.telemetry import main; sys.exit(main())",
         "--events", "20000", "--days", "10", "--seed", "7", "--regression", "--out", str(logs)],
        cwd=work, env=clean, capture_output=True, text=True)
    assert generated.returncode == 0, generated.stderr
    decisions = {}
    for name, exe in (("wheel", tool), ("checkout", Path(sys.executable).with_name("rolloutctl"))):
        home = work / f"home-{name}"
        for step in (("ingest", str(logs)), ("build",)):
            proc = run(exe, *step, home=home)
            assert proc.returncode == 0, f"{name} {step}: {proc.stderr}"
        gate = run(exe, "gate", "--json", home=home)
        assert gate.returncode in (0, 3, 4), gate.stderr
        doc = json.loads(gate.stdout)
        decisions[name] = {k: doc[k] for k in DECISION_KEYS}
    assert decisions["wheel"] == decisions["checkout"]
    assert decisions["wheel"]["eval_at"] is not None
    # the installed project stays as shipped: dbt wrote its target folder and log in the home
    assert not ({"target", "logs"} & {p.name for p in Path(where).iterdir()})
    assert (work / "home-wheel" / layout.DBT_TARGET_RELDIR).is_dir()
