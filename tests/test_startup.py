"""Start-up stays fast: heavy modules are imported only by the commands using them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("openpyxl", "jinja2", "dateutil.parser")


def _imported_after(code: str) -> set[str]:
    probe = (
        f"{code}\nimport sys\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                         text=True, check=True).stdout
    line = [x for x in out.splitlines() if x.startswith("HEAVY=")][-1]
    return set(filter(None, line.removeprefix("HEAVY=").split(",")))


def test_cli_import_is_light():
    assert _imported_after("import arledger.cli") == set()


def test_aging_run_does_not_import_heavy_modules():
    code = (
        "import sys\nfrom arledger.cli import app\n"
        "sys.argv = ['arledger', 'aging', '-l', 'tests/ledgers/small', "
        "'--as-of', '2026-10-31', '-f', 'json']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert _imported_after(code) == set()
