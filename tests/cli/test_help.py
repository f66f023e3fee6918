"""Every command has help with an example (sqlite-utils' test_docs idea)."""
import click
import pytest
from click.testing import CliRunner

from rolloutctl.cli import cli


def _commands(group: click.Group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        yield prefix + (name,), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + (name,))


COMMANDS = list(_commands(cli))


def test_the_expected_commands_exist():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"ingest", "collect", "schema lint"} <= names


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_has_help_with_example(path, cmd):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    if not isinstance(cmd, click.Group):
        assert "Example" in result.output, f"`rolloutctl {' '.join(path)} --help` has no example"
