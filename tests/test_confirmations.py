"""`arledger confirmations` (对账确认, SPEC §10): the last statement sent per
customer and currency, the balance it showed, and the answer.

Every expected figure is worked out by hand in the test's docstring.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from arledger import mail
from arledger.cli import app
from arledger.loader import load
from arledger.mail import StatementEntry
from arledger.reports import confirmations

from .conftest import DEMO

D = Decimal

CUSTOMERS = """\
- {id: EQUAL, name: Equal Co, owner: Ann}
- {id: DIFF, name: Diff Co, owner: Ann, key_account: true}
- {id: DISP, name: Disp Co, owner: Bob}
- {id: SILENT, name: Silent Co, owner: Bob}
- {id: NEW, name: New Co, owner: Bob}
- {id: EURO, name: Euro BV, currency: EUR}
- {id: OUTSIDE, name: Outside Ltd}
"""
INVOICES = """\
- {id: E1, customer: EQUAL, date: 2026-09-01, amount: 1000.00}
- {id: F1, customer: DIFF, date: 2026-09-05, amount: 700.00}
- {id: F2, customer: DIFF, date: 2026-09-25, amount: 300.00}
- {id: G1, customer: DISP, date: 2026-08-01, amount: 500.00}
- {id: S1, customer: SILENT, date: 2026-09-10, amount: 250.00}
- {id: N1, customer: NEW, date: 2026-10-20, amount: 90.00}
- {id: X1, customer: EURO, date: 2026-09-02, amount: 410.00}
- {id: O1, customer: OUTSIDE, date: 2026-08-15, amount: 600.00}
"""
PAYMENTS = """\
- {id: P1, customer: EQUAL, date: 2026-09-20, amount: 400.00, invoice: E1}
- {id: P2, customer: OUTSIDE, date: 2026-09-10, amount: 100.00, invoice: O1}
- {id: P3, customer: OUTSIDE, date: 2026-10-10, amount: 200.00, invoice: O1}
"""
# The answers, each to the statement of 2026-09-30.
CONFIRMATIONS = """\
- {customer: EQUAL, date: 2026-09-30, balance: 600.00, status: confirmed}
- {customer: DIFF, date: 2026-09-30, balance: 700.00, status: confirmed, note: F2 not booked}
- {customer: DISP, date: 2026-09-30, balance: 0.00, status: disputed, note: goods returned}
- {customer: EURO, date: 2026-09-30, currency: EUR, balance: 410.00, status: confirmed}
- {customer: OUTSIDE, date: 2026-09-30, balance: 500.00, status: confirmed}
"""
# What statement --all --send recorded: sent 2026-10-02 (SILENT: 2026-10-10),
# NEW's October statement on 2026-11-02 (after the report's date).
LOG = """\
date,customer,currency,statement_date,balance,message_id
2026-10-02,EQUAL,USD,2026-09-30,600.00,<a@x>
2026-10-02,DIFF,USD,2026-09-30,1000.00,<b@x>
2026-10-02,DISP,USD,2026-09-30,500.00,<c@x>
2026-10-10,SILENT,USD,2026-09-30,250.00,<d@x>
2026-10-02,EURO,EUR,2026-09-30,410.00,<e@x>
2026-11-02,NEW,USD,2026-10-31,90.00,<f@x>
"""


def make(ledger_dir, settings: str = "currency: USD\n"):
    path = ledger_dir(
        settings=settings,
        customers=CUSTOMERS,
        invoices=INVOICES,
        payments=PAYMENTS,
        confirmations=CONFIRMATIONS,
    )
    (path / "statement-log.csv").write_text(LOG, encoding="utf-8")
    return path


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def report(path, as_of: str = "2026-10-31", *args: str) -> dict:
    result = run("confirmations", "-l", str(path), "--as-of", as_of, "-f", "json",
                 *args)  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rows(data: dict) -> dict[tuple[str, str], dict]:
    return {
        (r["customer"], s["currency"]): r for s in data["sections"] for r in s["rows"]
    }


def test_answers_worked_out_by_hand(ledger_dir):
    """As of 2026-10-31, reply_days 14 (the default):
    EQUAL: statement showed 1000 - 400 = 600.00, confirmed 600.00: confirmed,
      difference 0.00; reply by 10-02 + 14 = 10-16.
    DIFF: showed 700 + 300 = 1000.00, confirmed 700.00: different, 700 - 1000
      = -300.00.
    DISP: showed 500.00, disputed (at 0.00): disputed, difference -500.00.
    SILENT: sent 10-10, no answer; 10-10 + 14 = 10-24 < 10-31: no answer.
    NEW: its statement went out 11-02, after the report's date: no row.
    EURO: EUR section, confirmed 410.00 = 410.00.
    OUTSIDE: no statement in the log (sent outside arledger); the ledger's
      balance on 09-30 is 600 - 100 = 500.00 (the 10-10 payment comes later);
      confirmed 500.00: confirmed, nothing sent on record.
    Rows: disputed, different, no answer, waiting, confirmed; then by id."""
    data = report(make(ledger_dir))
    assert data["reply_days"] == 14
    assert [s["currency"] for s in data["sections"]] == ["EUR", "USD"]
    found = rows(data)
    usd = [r["customer"] for r in data["sections"][1]["rows"]]
    assert usd == ["DISP", "DIFF", "SILENT", "EQUAL", "OUTSIDE"]
    got = {
        key: (r["balance"], r["answer"], r["their_balance"], r["difference"])
        for key, r in found.items()
    }
    assert got == {
        ("EQUAL", "USD"): ("600.00", "confirmed", "600.00", "0.00"),
        ("DIFF", "USD"): ("1000.00", "different", "700.00", "-300.00"),
        ("DISP", "USD"): ("500.00", "disputed", "0.00", "-500.00"),
        ("SILENT", "USD"): ("250.00", "no answer", None, None),
        ("EURO", "EUR"): ("410.00", "confirmed", "410.00", "0.00"),
        ("OUTSIDE", "USD"): ("500.00", "confirmed", "500.00", "0.00"),
    }
    assert found[("EQUAL", "USD")]["sent"] == "2026-10-02"
    assert found[("EQUAL", "USD")]["reply_by"] == "2026-10-16"
    assert found[("SILENT", "USD")]["reply_by"] == "2026-10-24"
    assert found[("OUTSIDE", "USD")]["sent"] is None
    assert found[("DIFF", "USD")]["note"] == "F2 not booked"
    usd_section = data["sections"][1]
    assert (usd_section["disputed"], usd_section["different"],
            usd_section["no_answer"], usd_section["waiting"],
            usd_section["confirmed"]) == (1, 1, 1, 0, 2)  # fmt: skip


def test_waiting_until_reply_days_have_passed(ledger_dir):
    """SILENT was sent 2026-10-10: waiting up to and including 10-24 (the last
    day to reply), no answer from 10-25. With reply_days 30, waiting on 10-31."""
    path = make(ledger_dir)
    assert rows(report(path, "2026-10-24"))[("SILENT", "USD")]["answer"] == "waiting"
    assert rows(report(path, "2026-10-25"))[("SILENT", "USD")]["answer"] == (
        "no answer"
    )
    slow = make(ledger_dir, "currency: USD\nstatement: {reply_days: 30}\n")
    data = report(slow)
    assert data["reply_days"] == 30
    assert rows(data)[("SILENT", "USD")]["answer"] == "waiting"


def test_a_newer_statement_replaces_the_answered_one(ledger_dir):
    """On 2026-11-05 NEW's October statement (sent 11-02) is waiting; EQUAL's
    October statement, sent too, has no answer yet: the September answer no
    longer counts."""
    path = make(ledger_dir)
    with (path / "statement-log.csv").open("a", encoding="utf-8") as log:
        log.write("2026-11-02,EQUAL,USD,2026-10-31,600.00,<g@x>\n")
    found = rows(report(path, "2026-11-05"))
    assert found[("NEW", "USD")]["answer"] == "waiting"
    assert found[("NEW", "USD")]["statement_date"] == "2026-10-31"
    assert found[("EQUAL", "USD")]["statement_date"] == "2026-10-31"
    assert found[("EQUAL", "USD")]["answer"] == "waiting"
    assert found[("EQUAL", "USD")]["their_balance"] is None


def test_filters(ledger_dir):
    path = make(ledger_dir)
    assert set(rows(report(path, "2026-10-31", "--owner", "Ann"))) == {
        ("EQUAL", "USD"),
        ("DIFF", "USD"),
    }
    assert set(rows(report(path, "2026-10-31", "--key-accounts"))) == {("DIFF", "USD")}
    assert set(rows(report(path, "2026-10-31", "--currency", "EUR"))) == {
        ("EURO", "EUR")
    }
    assert set(rows(report(path, "2026-10-31", "--customer", "SILENT"))) == {
        ("SILENT", "USD")
    }


def test_the_python_api_agrees(ledger_dir):
    path = make(ledger_dir)
    ledger, errors = load(path)
    assert not errors
    view = ledger.view(date(2026, 10, 31))
    sent = mail.read_statement_log(path / "statement-log.csv")
    assert sent[0] == StatementEntry(
        date(2026, 10, 2), "EQUAL", "USD", date(2026, 9, 30), D("600.00"), "<a@x>"
    )
    result = confirmations.compute(view, sent)
    usd = next(s for s in result.sections if s.currency == "USD")
    diff = next(r for r in usd.rows if r.customer == "DIFF")
    assert diff.difference == D("-300.00") and diff.answer == "different"
    quick = confirmations.compute(view, sent, reply_days=100)
    silent = next(r for s in quick.sections for r in s.rows if r.customer == "SILENT")
    assert silent.answer == "waiting"


@pytest.mark.parametrize("fmt", ["table", "csv", "md", "xlsx"])
def test_every_format(ledger_dir, tmp_path, fmt):
    path = make(ledger_dir)
    if fmt == "xlsx":
        target = tmp_path / "c.xlsx"
        result = run("confirmations", "-l", str(path), "--as-of", "2026-10-31",
                     "-o", str(target))  # fmt: skip
        assert result.exit_code == 0, result.output
        from openpyxl import load_workbook

        book = load_workbook(target)
        assert book.sheetnames == ["Confirmations EUR", "Confirmations USD"]
        sheet = book["Confirmations USD"]
        header = [c.value for c in sheet[1]]
        assert header[:6] == ["Customer", "Name", "Statement", "Sent",
                              "Balance shown", "Answer"]  # fmt: skip
        diff = next(r for r in sheet.iter_rows(values_only=True) if r[0] == "DIFF")
        assert diff[header.index("Difference")] == -300
        return
    result = run("confirmations", "-l", str(path), "--as-of", "2026-10-31",
                 "-f", fmt)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "-300.00" in result.stdout and "no answer" in result.stdout


def test_answers_come_from_a_statement_recorded_with_out(ledger_dir, tmp_path):
    """statement --all --out --record puts the statements on record; a
    confirmation of one of them is then matched to it."""
    path = ledger_dir(
        settings="currency: USD\n",
        customers="- {id: A, name: A Co}\n",
        invoices="- {id: I1, customer: A, date: 2026-09-10, amount: 120.00}\n",
        confirmations="- {customer: A, date: 2026-09-30, balance: 100.00, "
        "status: confirmed}\n",
    )
    written = run("statement", "--all", "-l", str(path), "--as-of", "2026-09-30",
                  "--out", str(tmp_path / "out"), "--record")  # fmt: skip
    assert written.exit_code == 0, written.output
    found = rows(report(path, "2099-01-01"))[("A", "USD")]
    assert (found["balance"], found["answer"], found["difference"]) == (
        "120.00",
        "different",
        "-20.00",
    )
    assert found["sent"] is not None


def test_the_demo(tmp_path):
    """The demo's answers to its September statements: HUADONG and VDBERG
    confirmed as sent, ACME short of INV-2026-0078 (16,668.90), NORTHWIND
    disputes INV-2026-0051 (8,187.10)."""
    found = rows(report(DEMO))
    assert {k: (r["answer"], r["difference"]) for k, r in found.items()} == {
        ("HUADONG", "USD"): ("confirmed", "0.00"),
        ("VDBERG", "EUR"): ("confirmed", "0.00"),
        ("ACME", "USD"): ("different", "-16668.90"),
        ("NORTHWIND", "USD"): ("disputed", "-8187.10"),
    }
    # the balance shown is the September statement's closing balance
    statement = run("statement", "ACME", "-l", str(DEMO), "--period", "2026-09",
                    "--as-of", "2026-10-31", "-f", "json")  # fmt: skip
    closing = json.loads(statement.stdout)["sections"][0]["closing_balance"]
    assert found[("ACME", "USD")]["balance"] == closing


def test_a_bad_confirmation_is_file_line(ledger_dir):
    path = ledger_dir(
        settings="currency: USD\n",
        customers="- {id: A, name: A Co}\n",
        invoices="- {id: I1, customer: A, date: 2026-09-10, amount: 120.00}\n",
        confirmations="- {customer: A, date: 2026-09-30, balance: 100.00,\n"
        "   status: agreed}\n",
    )
    result = run("confirmations", "-l", str(path), "--as-of", "2026-10-31")
    assert result.exit_code == 2
    assert "confirmations.yaml:2:" in result.stderr and "Traceback" not in result.output


def test_a_damaged_log_is_file_line(ledger_dir):
    path = make(ledger_dir)
    (path / "statement-log.csv").write_bytes(LOG.encode() + b"2026-10-02,\xc4\xe3\n")
    result = run("confirmations", "-l", str(path), "--as-of", "2026-10-31")
    assert result.exit_code == 2
    assert "statement-log.csv:8: not UTF-8" in result.stderr


def test_help_and_exit_code_through_a_process(ledger_dir):
    import subprocess
    import sys

    path = make(ledger_dir)
    done = subprocess.run(
        [sys.executable, "-m", "arledger", "confirmations", "-l", str(path),
         "--as-of", "2026-10-31", "--format", "csv"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith("currency,customer,name,statement")
    assert "Usage" in run("confirmations", "--help").stdout
