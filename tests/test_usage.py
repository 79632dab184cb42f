"""Usage errors in one line, and shell completion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arledger.cli import app

from .conftest import LEDGERS

SMALL = str(LEDGERS / "small")


def arledger(*args: str, env: dict[str, str] | None = None):
    """The console script, as a shell runs it (completion goes by its name)."""
    return subprocess.run(
        [str(Path(sys.executable).with_name("arledger")), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["aging", "--as-off", "2026-10-31"],
         "arledger: error: aging: no such option --as-off (did you mean --as-of?)"),
        (["agin"], "arledger: error: no such command 'agin' (did you mean 'aging'?)"),
        (["forecast", "--horizon", "x"],
         "arledger: error: forecast: invalid value for '--horizon': 'x' is not a valid int"),
        (["statement"], "arledger: error: statement: missing argument 'customer' "
                        "(or --all for every customer)"),
        (["aging", "--zzz"], "arledger: error: aging: no such option --zzz"),
    ],
)  # fmt: skip
def test_a_usage_error_is_one_line_and_exit_2(args, line):
    done = arledger(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == line + "\n"
    result = CliRunner().invoke(app, args)  # the same through the app itself
    assert result.exit_code == 2 and result.stderr == line + "\n"


def test_help_version_and_no_arguments_are_as_before():
    assert arledger("--version").returncode == 0
    helped = arledger("aging", "--help")
    assert helped.returncode == 0 and "--as-of" in helped.stdout
    bare = arledger()
    assert bare.returncode == 2 and "Commands" in bare.stdout + bare.stderr


def test_exit_codes_pass_through_the_group():
    found = arledger(
        "aging", "-l", SMALL, "--as-of", "2026-10-31", "--fail-on", "overdue"
    )
    assert found.returncode == 1
    assert arledger("aging", "-l", SMALL, "--as-of", "2026-10-31").returncode == 0


def test_shell_completion_names_commands_and_options():
    commands = arledger(env={"_ARLEDGER_COMPLETE": "complete_bash",
                             "COMP_WORDS": "arledger ag", "COMP_CWORD": "1"})  # fmt: skip
    assert commands.returncode == 0 and commands.stdout.split() == ["aging"]
    options = arledger(env={"_ARLEDGER_COMPLETE": "complete_bash",
                            "COMP_WORDS": "arledger aging --as", "COMP_CWORD": "2"})  # fmt: skip
    assert options.stdout.split() == ["--as-of"]
    # The script `--show-completion` prints for bash (asked for by name: that
    # option finds the shell from the parent processes, which a test run
    # started by a daemon or an IDE need not have).
    script = arledger(env={"_ARLEDGER_COMPLETE": "source_bash"})
    assert script.returncode == 0 and "_ARLEDGER_COMPLETE" in script.stdout
