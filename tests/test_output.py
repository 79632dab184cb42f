"""Where reports go: CSV that Excel opens, and the guards on --output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from arledger.cli import app

from .conftest import LEDGERS

SMALL = str(LEDGERS / "small")
BOM = b"\xef\xbb\xbf"
AS_OF = ("--as-of", "2026-10-31")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def arledger(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "arledger", *args],
        capture_output=True,
        env={**os.environ, "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


# ---------------------------------------------------------------- CSV for Excel


@pytest.mark.parametrize(
    "command", ["aging", "overdue", "collection", "risk", "forecast", "dunning"]
)
def test_a_byte_order_mark_only_when_asked(command):
    plain = arledger(command, "-l", SMALL, *AS_OF, "-f", "csv")
    assert plain.returncode == 0 and plain.stdout.startswith(b"currency,")
    marked = arledger(command, "-l", SMALL, *AS_OF, "-f", "csv", "--bom")
    assert marked.returncode == 0
    assert marked.stdout == BOM + plain.stdout


def test_a_csv_file_for_excel_keeps_chinese_text(tmp_path):
    target = tmp_path / "aging.csv"
    result = run("aging", "-l", SMALL, *AS_OF, "-o", str(target), "--bom")
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data.startswith(BOM + b"currency,customer,name,")
    assert "上海华东贸易有限公司" in data.decode("utf-8-sig")


def test_the_setting_turns_it_on_and_no_bom_off(tmp_path):
    ledger = tmp_path / "ledger"
    shutil.copytree(SMALL, ledger)
    settings = ledger / "arledger.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + "csv: {bom: true}\n", encoding="utf-8"
    )
    on = arledger("aging", "-l", str(ledger), *AS_OF, "-f", "csv")
    assert on.returncode == 0 and on.stdout.startswith(BOM + b"currency,")
    off = arledger("aging", "-l", str(ledger), *AS_OF, "-f", "csv", "--no-bom")
    assert off.stdout == on.stdout[len(BOM) :]
    statement = arledger("statement", "ACME", "-l", str(ledger), *AS_OF, "-f", "csv")
    assert statement.stdout.startswith(BOM)
    json = arledger("aging", "-l", str(ledger), *AS_OF, "-f", "json")
    assert json.stdout.startswith(b"{")  # the setting is about CSV only


def test_bom_with_another_format_is_a_usage_error():
    result = run("aging", "-l", SMALL, *AS_OF, "-f", "json", "--bom")
    assert result.exit_code == 2 and result.stdout == ""
    assert "arledger: error: --bom is for CSV" in result.stderr
