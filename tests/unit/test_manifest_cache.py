"""dbt's parse kept on disk between processes (warehouse/manifest_cache): the next process reuses it instead of
parsing, and only when it is the parse of the same definitions, by the same versions, in a file only this user can
write; anything else is a cache miss, never a failure."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

from rolloutctl.core.layout import dbt_target_dir
from rolloutctl.warehouse import dbt_runner, manifest_cache
from rolloutctl.warehouse.dbt_project import definitions_hash, project_for

# a model that reads a source and one that refs it: compiled from the manifest a new process gets
COMPILE = ("from pathlib import Path; import sys; from rolloutctl.warehouse.dbt_runner import run_dbt; "
           "run_dbt(Path(sys.argv[1]), ['compile'], "
           "select=['stg_governance__phase_ledger', 'stg_telemetry__save_completed'])")


def _compile_in_a_new_process(home: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", COMPILE, str(home)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _key(home: Path) -> tuple[str, str, str]:
    project = str(project_for(home))
    return (project, "", definitions_hash(project, None))


def test_the_next_process_reuses_the_parse_instead_of_parsing(tmp_path):
    home = tmp_path / "home"
    target = dbt_target_dir(home)
    _compile_in_a_new_process(home)
    cached = target / manifest_cache.FILE_NAME
    assert cached.is_file() and cached.stat().st_mode & 0o777 == 0o600
    # dbt writes its partial-parse state whenever it parses: a process that reused the cache leaves none
    (target / "partial_parse.msgpack").unlink()
    _compile_in_a_new_process(home)
    assert not (target / "partial_parse.msgpack").exists()

    manifest = manifest_cache.load(target, _key(home))
    seeds = {n.unique_id for n in manifest.nodes.values() if n.resource_type == "seed"}
    assert "seed.rollout.metric_thresholds" in seeds
    assert len(manifest.nodes) > 100 and manifest.macros


def test_another_key_or_version_is_a_miss(tmp_path):
    target = tmp_path / "target"
    key = ("/project", "", "a" * 64)
    manifest_cache.save(target, key, {"nodes": 1})
    assert manifest_cache.load(target, key) == {"nodes": 1}
    assert manifest_cache.load(target, ("/project", "", "b" * 64)) is None     # a model, macro or seed changed
    assert manifest_cache.load(target, ("/project", "spark", "a" * 64)) is None
    stamp = manifest_cache.stamp(key)
    stamp["versions"]["dbt-core"] = "0.0.1"                                      # parsed by another dbt
    with open(target / manifest_cache.FILE_NAME, "wb") as fh:
        pickle.dump(stamp, fh)
        pickle.dump({"nodes": 1}, fh)
    os.chmod(target / manifest_cache.FILE_NAME, 0o600)
    assert manifest_cache.load(target, key) is None


def test_a_file_others_may_write_is_not_read(tmp_path):
    target = tmp_path / "target"
    key = ("/project", "", "a" * 64)
    manifest_cache.save(target, key, {"nodes": 1})
    os.chmod(target / manifest_cache.FILE_NAME, 0o620)
    assert manifest_cache.load(target, key) is None
    os.chmod(target / manifest_cache.FILE_NAME, 0o600)
    (target / manifest_cache.FILE_NAME).rename(target / "real")
    os.symlink(target / "real", target / manifest_cache.FILE_NAME)
    assert manifest_cache.load(target, key) is None                              # not through a symbolic link


def test_a_torn_file_is_parsed_again_and_replaced(tmp_path):
    home = tmp_path / "home"
    target = dbt_target_dir(home)
    target.mkdir(parents=True)
    cached = target / manifest_cache.FILE_NAME
    cached.write_bytes(b"\x80\x05not a pickle")
    cached.chmod(0o600)
    dbt_runner._MANIFESTS.clear()
    result = dbt_runner.run_dbt(home, ["ls", "--resource-type", "seed"])
    assert result.success
    assert manifest_cache.load(target, _key(home)) is not None


def test_a_folder_that_cannot_take_it_costs_only_the_next_parse(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    manifest_cache.save(blocked, ("/p", "", "a"), {"nodes": 1})                 # no exception
    assert manifest_cache.load(blocked, ("/p", "", "a")) is None
