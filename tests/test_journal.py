"""`arledger journal`: hledger and beancount transactions whose receivable
balances per customer equal arledger's aging totals."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from arledger.api import load
from arledger.cli import app
from arledger.journal import customer_accounts, journal

from .conftest import DEMO, write_ledger

AS_OF = "2026-10-31"


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def aging_totals(ledger_dir) -> dict[tuple[str, str], Decimal]:
    result = run("aging", "--ledger", ledger_dir, "--as-of", AS_OF, "-f", "json")
    assert result.exit_code == 0, result.output
    totals = {}
    for section in json.loads(result.output)["sections"]:
        for row in section["rows"]:
            totals[(row["customer"], section["currency"])] = Decimal(row["total"])
    return {k: v for k, v in totals.items() if v}


def hledger_totals(text: str) -> dict[tuple[str, str], Decimal]:
    """Per customer and currency, the receivable balances read from the text
    as a journal (postings summed by account)."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("    Assets:Receivable:"):
            customer = parts[0].split(":")[2]
            totals[(customer, parts[2])] += Decimal(parts[1])
    return {k: v for k, v in totals.items() if v}


@pytest.mark.parametrize("start", [None, "2026-10-01"])
def test_receivable_balances_equal_the_aging(start):
    extra = ["--from", start] if start else []
    result = run("journal", "--ledger", DEMO, "--to", AS_OF, *extra)
    assert result.exit_code == 0, result.output
    assert hledger_totals(result.output) == aging_totals(DEMO)
    if start:
        assert "Opening balance" in result.output
        dates = [line[:10] for line in result.output.splitlines() if line[:2] == "20"]
        assert min(dates) == "2026-09-30"


@pytest.mark.skipif(shutil.which("hledger") is None, reason="hledger not installed")
def test_hledger_accepts_it_and_agrees():
    text = run("journal", "--ledger", DEMO, "--to", AS_OF).output
    done = subprocess.run(
        ["hledger", "-f", "-", "bal", "Assets:Receivable", "--flat", "-N",
         "-O", "csv"],
        input=text, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = {}
    for line in done.stdout.splitlines()[1:]:
        account, balance = [c.strip('"') for c in line.split('","')]
        amount, currency = balance.split()
        found[(account.split(":")[2], currency)] = Decimal(amount.replace(",", ""))
    assert found == aging_totals(DEMO)


def test_beancount_accepts_it_and_agrees(tmp_path):
    loader = pytest.importorskip("beancount.loader")
    result = run("journal", "--ledger", DEMO, "--to", AS_OF, "-f", "beancount")
    assert result.exit_code == 0, result.output
    path = tmp_path / "ar.beancount"
    path.write_text(result.output, encoding="utf-8")
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for entry in entries:
        for posting in getattr(entry, "postings", ()):
            if posting.account.startswith("Assets:Receivable:"):
                key = (posting.account.split(":")[2], posting.units.currency)
                totals[key] += posting.units.number
    assert {k: v for k, v in totals.items() if v} == aging_totals(DEMO)


def test_payments_show_their_applications():
    text = journal(load(DEMO), "hledger", None, date(2026, 10, 31))
    assert "    ; applied " in text
    block = next(b for b in text.split("\n\n") if "| Payment " in b)
    assert "Assets:Bank" in block and "; applied" in block


def test_account_names_from_settings_and_odd_ids(tmp_path):
    root = write_ledger(
        tmp_path / "books",
        settings="journal: {receivable: 'Assets:AR', income: 'Income:Revenue'}\n",
        customers="- {id: acme co, name: Acme}\n- {id: acme-co, name: Other}\n"
        "- {id: 0101, name: 上海华东机电有限公司}\n",
        invoices="- {id: I1, customer: acme co, date: 2026-10-01, amount: 5}\n",
    )
    ledger = load(root)
    assert customer_accounts(ledger, "Assets:AR") == {
        "0101": "Assets:AR:0101",
        "acme co": "Assets:AR:Acme-co",
        "acme-co": "Assets:AR:Acme-co-2",
    }
    result = run("journal", "--ledger", root, "--to", AS_OF)
    assert result.output.splitlines()[1:3] == [
        "    Assets:AR:Acme-co               5 USD",
        "    Income:Revenue                 -5 USD",
    ]


def test_bad_period_is_a_usage_error():
    result = run("journal", "--ledger", DEMO, "--from", "2026-11-01", "--to", AS_OF)
    assert result.exit_code == 2
    assert "--from 2026-11-01 is after --to 2026-10-31" in result.output
    result = run("journal", "--ledger", DEMO, "--to", "someday")
    assert result.exit_code == 2
    assert "--to:" in result.output
    result = run("journal", "--ledger", DEMO, "-f", "ledger")
    assert result.exit_code == 2
