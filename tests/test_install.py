"""The install route the README gives an accountant, without the clone: a wheel
built with `pip wheel .`, installed into a fresh virtual environment, then the
README's crontab run with it under cron's bare environment
(scripts/cron-check.sh), on the settlement kernel compiled for it. It builds and installs, so it takes about a minute:
it runs in CI (CI=true, as .ci/run has it) and where ARLEDGER_INSTALL_CHECK=1.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

WANTED = bool(os.environ.get("CI") or os.environ.get("ARLEDGER_INSTALL_CHECK"))


@pytest.mark.skipif(
    not WANTED, reason="builds a wheel: set CI=true or ARLEDGER_INSTALL_CHECK=1"
)
def test_a_wheel_installed_without_the_clone_runs_the_readme_crontab():
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(
        ["sh", str(ROOT / "scripts" / "cron-check.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cron-check: ok" in done.stdout
    (line,) = [
        x for x in done.stdout.splitlines() if x.startswith("cron-check: kernel")
    ]
    path, built_from = line.removeprefix("cron-check: kernel ").split()
    kernel = Path(path)  # compiled, in the fresh environment's site-packages
    assert kernel.name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert kernel.parent.name == "arledger"
    assert kernel.parent.parent.name == "site-packages"
    assert not kernel.is_relative_to(ROOT)
    source = (ROOT / "arledger" / "_settle.c").read_bytes()
    assert built_from == hashlib.sha256(source).hexdigest()
