"""The package type-checks (issue 12: mypy clean), so a record, a view or a
report cannot quietly become `Any` again. mypy and the stubs come with the
`test` extra; the settings are pyproject.toml's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def test_mypy_finds_nothing_in_the_package():
    pytest.importorskip("mypy", reason="mypy comes with the `test` extra")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "arledger"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
