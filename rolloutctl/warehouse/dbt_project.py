"""The dbt project a home builds with, and the hash of what dbt parses of it.

Without a policy of its own, a home builds with the project as installed (layout.PROJECT_DIR: the checkout, or the
copy inside the wheel). A home holding its own policy seeds (<home>/governance/<seed>.csv, layered over the
packaged ones) builds with a copy of the project whose governance/ has them, kept at
<home>/warehouse/dbt-project/ and remade only when the installed project or the home's seeds change: dbt reads one
seed folder, and the installed files stay as shipped.

    project = project_for(home)          # where dbt's --project-dir and --profiles-dir point
    definitions_hash(project, target)    # equal: the same views, seeds and parse as the last build
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from rolloutctl.core.layout import DBT_PROJECT_FILES, DBT_PROJECT_RELDIR, PROJECT_DIR, policy_overrides

_SOURCE_STAMP = ".source-sha256"   # in the copy: the hash of what it was made from


def definitions_hash(project_dir: Path | str | None = None, target: str | None = None) -> str:
    """One sha256 over what dbt parses: the project's files, models/, macros/, the seeds (governance/), data-tests/
    and the target. Equal hashes: a build's views and seeds are those of the last one, and a parse is reusable."""
    root = Path(project_dir).resolve() if project_dir else PROJECT_DIR
    digest = hashlib.sha256(f"target={target or ''}\0".encode())
    entries = [root / name for name in DBT_PROJECT_FILES]
    files = [e for e in entries if e.is_file()]
    files += sorted(p for e in entries if e.is_dir() for p in e.rglob("*") if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def copy_project(source: Path, dest: Path) -> None:
    """Copy what dbt reads of the project at `source` (layout.DBT_PROJECT_FILES) into the folder `dest`."""
    for name in DBT_PROJECT_FILES:
        path = Path(source) / name
        (shutil.copytree if path.is_dir() else shutil.copyfile)(path, Path(dest) / name)


def project_for(home: Path) -> Path:
    """The dbt project `home` builds with: the installed one, or the home's copy with its own policy seeds."""
    overrides = policy_overrides(home)
    if not overrides:
        return PROJECT_DIR
    digest = hashlib.sha256(definitions_hash(PROJECT_DIR).encode())
    for name, path in sorted(overrides.items()):
        digest.update(b"\0" + name.encode() + b"\0" + path.read_bytes())
    wanted = digest.hexdigest()
    copy = Path(home) / DBT_PROJECT_RELDIR
    stamp = copy / _SOURCE_STAMP
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        return copy
    # made beside it, then swapped in: a reader never sees half a project
    copy.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=".dbt-project-", dir=copy.parent))
    copy_project(PROJECT_DIR, fresh)
    for name, path in overrides.items():
        shutil.copyfile(path, fresh / "governance" / f"{name}.csv")
    (fresh / _SOURCE_STAMP).write_text(wanted, encoding="utf-8")
    fresh.chmod(0o755)
    old = None
    if copy.exists():
        old = Path(tempfile.mkdtemp(prefix=".dbt-project-old-", dir=copy.parent))
        os.replace(copy, old / "project")
    os.replace(fresh, copy)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return copy
