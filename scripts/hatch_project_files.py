"""Hatchling build hook: the dbt project's top-level files go into the wheel under rolloutctl/project/ (beside the
folders pyproject.toml's `sources` moves there). An editable install reads them in the checkout: nothing to add."""
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

TOP_LEVEL_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml")


class ProjectFilesHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if version != "editable":
            for name in TOP_LEVEL_FILES:
                build_data["force_include"][name] = f"rolloutctl/project/{name}"
