"""Which dbt targets of profiles.yml run on Spark, and how each reaches it.

    spark_target("spark", project)          -> SparkTarget("spark", "session")   a local PySpark in this process
    spark_target("spark_cluster", project)  -> SparkTarget("spark_cluster", "thrift")   a Thrift Server, a cluster
    spark_target(None or "duckdb", project) -> None

The answer comes from the profile itself (`type: spark` and its `method`), so an operator's own output (another
cluster, under another name) is a Spark target too, with no list to keep in step. `credentials` renders a target as
dbt does (its env_var()s) and returns dbt-spark's own credentials, which spark_remote connects with: the same
endpoint, user and authentication as the build's.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from ingest.errors import ConfigError

PROFILE = "rollout"            # dbt_project.yml's profile
IN_PROCESS = "session"         # dbt-spark's method that runs Spark inside this process


@dataclass(frozen=True)
class SparkTarget:
    name: str
    method: str                # dbt-spark's: session, thrift, http, odbc

    @property
    def remote(self) -> bool:
        """Reached over the network: nothing of Spark runs in this process."""
        return self.method != IN_PROCESS


def _outputs(project_dir: Path | str) -> tuple[dict, str | None]:
    """The profile's outputs and default target; none when the file is missing or broken (dbt itself then reports
    what is wrong with it, as for any target)."""
    try:
        profile = (yaml.safe_load((Path(project_dir) / "profiles.yml").read_text(encoding="utf-8")) or {})
        profile = profile.get(PROFILE) or {}
    except (OSError, yaml.YAMLError, AttributeError):
        return {}, None
    if not isinstance(profile, dict):
        return {}, None
    return profile.get("outputs") or {}, profile.get("target")


def spark_target(target: str | None, project_dir: Path | str) -> SparkTarget | None:
    """The Spark target `target` names (None: the profile's default), or None when it is not a Spark target. The
    `type` and `method` keys are read as written (they are not templated in our profile; rendering the whole
    profile would ask for every target's environment variables)."""
    outputs, default = _outputs(project_dir)
    output = outputs.get(target or default)
    if not isinstance(output, dict) or output.get("type") != "spark":
        return None
    return SparkTarget(target or default, str(output.get("method", "")))


def credentials(target: SparkTarget, project_dir: Path | str):
    """dbt-spark's SparkCredentials for `target`, rendered as dbt renders the profile (env_var() from this
    process's environment)."""
    from argparse import Namespace

    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt.flags import get_flags, set_from_args
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ)              # env_var() reads the invocation's environment
    if not hasattr(get_flags(), "LOG_CACHE_EVENTS"):
        set_from_args(Namespace(), {})              # dbt's defaults, when no dbt command ran in this process yet
    try:
        raw = read_profile(str(project_dir))
        profile = Profile.from_raw_profiles(raw, PROFILE, ProfileRenderer({}), target_override=target.name)
    except Exception as exc:  # noqa: BLE001 — dbt's profile errors carry their own message
        raise ConfigError(f"profiles.yml, target {target.name}: {' '.join(str(exc).split())}") from None
    return profile.credentials
