"""Filters and dates on the command line: what matches nothing, and what could be
misread, is an error (exit 2) that says what to write instead (SPEC §3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from arledger.cli import app
from arledger.dates import DateError, parse_date

from .conftest import DEMO, LEDGERS

SMALL = str(LEDGERS / "small")
REPORTS = ("aging", "overdue", "collection", "risk", "forecast", "dunning")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def one_error(result) -> str:
    """The one `arledger: error:` line of a usage error, with nothing on stdout."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("arledger: error: "), lines
    return lines[0].removeprefix("arledger: error: ")


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize("command", REPORTS)
def test_an_owner_in_the_wrong_case_suggests_the_right_one(command):
    result = run(command, "-l", str(DEMO), "--as-of", "2026-10-31", "--owner", "li wei")
    assert one_error(result) == (
        "--owner: 'li wei' matches nothing in the ledger (did you mean 'Li Wei'?)"
    )


def test_an_unknown_owner_lists_the_owners():
    result = run("aging", "-l", str(DEMO), "--owner", "Nobody")
    assert one_error(result) == (
        "--owner: 'Nobody' matches nothing in the ledger; the ledger's owners: "
        "'Dana Brooks', 'Li Wei', 'Marco Alvarez'"
    )


def test_an_unknown_currency_lists_the_currencies():
    result = run("overdue", "-l", SMALL, "--currency", "XYZ")
    assert one_error(result) == (
        "--currency: 'XYZ' matches nothing in the ledger; the ledger's currencies: "
        "EUR, USD"
    )
    near = run("overdue", "-l", SMALL, "--currency", "EU")
    assert one_error(near).endswith("(did you mean 'EUR'?)")
    statement = run("statement", "ACME", "-l", SMALL, "--currency", "XYZ")
    assert one_error(statement).startswith("--currency: 'XYZ' matches nothing")


def test_customers_by_id_or_name_any_case_and_suggestions():
    wrong_case = run("aging", "-l", SMALL, "--customer", "acme")
    assert one_error(wrong_case) == (
        "--customer: unknown customer 'acme' (did you mean 'ACME'?)"
    )
    by_name = run("aging", "-l", SMALL, "--customer", "acme ltd", "-f", "json")
    assert by_name.exit_code == 0
    rows = [
        r["customer"] for s in json.loads(by_name.stdout)["sections"] for r in s["rows"]
    ]
    assert rows == ["ACME"]
    name_near = run("aging", "-l", SMALL, "--customer", "Acme Ltf")
    assert one_error(name_near).endswith("(did you mean 'ACME'?)")
    nobody = run("aging", "-l", SMALL, "--customer", "Nobody")
    assert one_error(nobody) == (
        "--customer: unknown customer 'Nobody'; the ledger's customers: ACME, BETA, HUA"
    )
    statement = run("statement", "acme", "-l", SMALL, "--as-of", "2026-10-31")
    assert one_error(statement) == "unknown customer 'acme' (did you mean 'ACME'?)"
    preview = run("dunning", "-l", SMALL, "--as-of", "2026-10-31", "--preview", "hua")
    assert (
        one_error(preview) == "--preview: unknown customer 'hua' (did you mean 'HUA'?)"
    )


def test_a_valid_owner_with_nothing_open_is_a_normal_report(ledger_dir):
    """'Matches nothing' is judged against the whole ledger, not the as-of date."""
    folder = ledger_dir(
        customers="""
            - {id: A, name: Alpha, owner: Ann}
            - {id: B, name: Beta, owner: Bob}
        """,
        invoices="""
            - {id: I1, customer: A, date: 2026-09-01, amount: 100.00}
            - {id: I2, customer: B, date: 2026-11-15, amount: 50.00}
        """,
        payments="""
            - {id: P1, customer: A, date: 2026-09-20, amount: 100.00}
        """,
    )
    paid = run("aging", "-l", str(folder), "--as-of", "2026-10-31", "--owner", "Ann")
    assert paid.exit_code == 0, paid.output
    not_yet = run(
        "overdue", "-l", str(folder), "--as-of", "2026-10-31", "--owner", "Bob"
    )
    assert not_yet.exit_code == 0, not_yet.output


def test_an_owner_named_only_on_an_invoice_is_known(ledger_dir):
    folder = ledger_dir(
        customers="- {id: A, name: Alpha, owner: Ann}\n",
        invoices="- {id: I1, customer: A, date: 2026-09-01, amount: 100.00, owner: Cy}\n",
    )
    result = run("aging", "-l", str(folder), "--as-of", "2026-10-31", "--owner", "Cy")
    assert result.exit_code == 0, result.output
    assert "I1" not in result.stdout and "100.00" in result.stdout


def test_a_filter_that_matches_nothing_fails_in_a_real_process():
    """What a cron job sees: exit 2 and one line, not a clean empty report."""
    done = subprocess.run(
        [sys.executable, "-m", "arledger", "aging", "-l", SMALL, "--owner", "Nobody"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("arledger: error: --owner: 'Nobody' matches nothing")


# ---------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "text",
    ["2026-10-31", "31 Oct 2026", "Oct 31 2026", "October 31, 2026", "31-Oct-2026",
     "2026 oct 31", "31st October 2026", "SEPT 30 2026"],
)  # fmt: skip
def test_unambiguous_dates_are_read(text):
    expected = date(2026, 9, 30) if "SEPT" in text else date(2026, 10, 31)
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("01/02/2026", "'01/02/2026' is ambiguous or not ISO: write YYYY-MM-DD, or"),
        ("1.2.2026", "'1.2.2026' is ambiguous or not ISO: write YYYY-MM-DD, or"),
        ("31/10/2026", "write YYYY-MM-DD, here 2026-10-31, or the month as a word"),
        ("2026/10/31", "'2026/10/31' is not a date: write YYYY-MM-DD"),
        ("Oct 2026", "'Oct 2026' is not a date"),  # no day: never guessed
        ("31 Oct 26", "'31 Oct 26' is not a date"),  # a two-digit year
        ("30 Feb 2026", "'30 Feb 2026' is not a valid date"),
        ("yesterday", "'yesterday' is not a date"),
    ],
)
def test_ambiguous_or_unknown_dates_are_refused(text, message):
    with pytest.raises(DateError) as caught:
        parse_date(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "args",
    [
        ("aging", "--as-of", "01/02/2026"),
        ("collection", "--from", "1.2.2026"),
        ("collection", "--to", "01/02/2026"),
        ("statement", "ACME", "--from", "01/02/2026"),
    ],
)
def test_every_date_option_refuses_what_could_be_misread(args):
    message = one_error(run(*args, "-l", SMALL))
    assert "is ambiguous or not ISO: write YYYY-MM-DD" in message
    assert message.startswith(("--as-of:", "--from:", "--to:", "--from/--to:"))


def test_as_of_with_a_month_name_in_a_real_process():
    done = subprocess.run(
        [sys.executable, "-m", "arledger", "aging", "-l", SMALL, "--as-of",
         "31 Oct 2026", "-f", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0 and json.loads(done.stdout)["as_of"] == "2026-10-31"
    refused = subprocess.run(
        [sys.executable, "-m", "arledger", "aging", "-l", SMALL, "--as-of", "01/02/2026"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and refused.stdout == ""
    assert "--as-of: '01/02/2026' is ambiguous" in refused.stderr


# ---------------------------------------------------------------- key accounts

KEY_ACCOUNTS = {"ACME", "HUADONG", "NORTHWIND"}  # key_account: true in the demo


@pytest.mark.parametrize("command", (*REPORTS, "interest"))
def test_key_accounts_keep_only_key_accounts(command):
    result = run(
        command, "--ledger", str(DEMO), "--as-of", "2026-10-31",
        "--key-accounts", "--format", "json",
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    found = {
        row["customer"]
        for section in report["sections"]
        for row in section["rows"]
        if "customer" in row
    }
    assert found <= KEY_ACCOUNTS, found
    if command not in ("collection", "forecast"):  # totals only, no customers
        assert found, report


def test_key_accounts_total_is_the_sum_of_the_key_accounts():
    def total(*args: str) -> str:
        result = run("aging", "--ledger", str(DEMO), "--as-of", "2026-10-31",
                     "--currency", "USD", "--format", "json", *args)  # fmt: skip
        return json.loads(result.stdout)["sections"][0]["totals"]["total"]

    each = [total("--customer", c) for c in sorted(KEY_ACCOUNTS)]
    assert total("--key-accounts") == str(sum(map(Decimal, each)))


def test_key_accounts_refuse_a_customer_that_is_not_one():
    message = one_error(
        run("aging", "--ledger", str(DEMO), "--key-accounts", "-c", "REDWOOD")
    )
    assert message == (
        "--key-accounts: REDWOOD is not a key account; "
        "the key accounts: ACME, HUADONG, NORTHWIND"
    )


def test_key_accounts_in_a_ledger_without_any(tmp_path):
    (tmp_path / "customers.yaml").write_text("- {id: C1, name: One}\n")
    message = one_error(run("aging", "--ledger", str(tmp_path), "--key-accounts"))
    assert message.startswith("--key-accounts: no customer is a key account")
