"""`arledger interest`: late interest per item, day by day, the figures the
dunning letters charge (SPEC §2, Late interest)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal

from typer.testing import CliRunner

from arledger.cli import app
from arledger.loader import load
from arledger.reports import dunning
from arledger.settle import settle

D = Decimal
AS_OF = "2026-10-31"
CUSTOMERS = "- {id: C, name: Customer Ltd}\n"
# 3.65% a year: 0.10 a day on 1000.00
INVOICES = """\
- {id: I1, customer: C, date: 2026-09-01, due: 2026-09-30, amount: 1000.00}
- {id: I2, customer: C, date: 2026-09-01, due: 2026-09-21, amount: 1000.00}
- {id: I3, customer: C, date: 2026-09-01, due: 2026-11-30, amount: 1000.00}
"""
PAYMENTS = """\
- {customer: C, date: 2026-10-10, amount: 400.00, invoice: I1}
- {customer: C, date: 2026-10-31, amount: 1000.00, invoice: I2}
"""


def interest_json(path, as_of: str = AS_OF):
    result = CliRunner().invoke(
        app, ["interest", "--ledger", str(path), "--as-of", as_of, "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_interest_per_item_worked_by_hand(ledger_dir):
    """I1: 10 days × 1000.00 + 21 days × 600.00 = 22600 → 2.26 (a part payment
    mid-way lowers the base from the next day). I2 was paid, 40 days late, on
    10-31: not listed unless interest_on_paid_late. I3 is not due."""
    path = ledger_dir(
        settings="currency: USD\ndunning: {interest_rate: 0.0365}\n",
        customers=CUSTOMERS,
        invoices=INVOICES,
        payments=PAYMENTS,
    )
    data = interest_json(path)
    assert data["rate"] == "0.0365"
    (section,) = data["sections"]
    assert section["rows"] == [
        {"customer": "C", "invoice": "I1", "item": None, "from": "2026-10-01",
         "to": "2026-10-31", "days": 31, "open": "600.00", "interest": "2.26"},
    ]  # fmt: skip
    assert section["totals"] == {"open": "600.00", "interest": "2.26"}


def test_items_paid_late_accrue_to_the_day_paid(ledger_dir):
    """I2: 1000.00 due 09-21, paid on 10-31: 40 days × 1000.00 → 4.00, the
    same as an item 40 days past due and unpaid."""
    path = ledger_dir(
        settings="currency: USD\n"
        "dunning: {interest_rate: 0.0365, interest_on_paid_late: true}\n",
        customers=CUSTOMERS,
        invoices=INVOICES,
        payments=PAYMENTS,
    )
    rows = interest_json(path)["sections"][0]["rows"]
    assert [
        (r["invoice"], r["from"], r["to"], r["days"], r["interest"]) for r in rows
    ] == [
        ("I2", "2026-09-22", "2026-10-31", 40, "4.00"),
        ("I1", "2026-10-01", "2026-10-31", 31, "2.26"),
    ]


def test_the_letter_charges_the_same_figures(ledger_dir):
    path = ledger_dir(
        settings="currency: USD\ndunning: {interest_rate: 0.0365}\n",
        customers=CUSTOMERS,
        invoices=INVOICES,
        payments=PAYMENTS,
    )
    ledger, _ = load(path)
    view = ledger.view(date.fromisoformat(AS_OF))
    (letter,) = dunning.compute(view, settle(view)).letters
    report = interest_json(path)["sections"][0]["rows"]
    assert {(i.invoice, str(i.interest)) for i in letter.items} == {
        (r["invoice"], r["interest"]) for r in report
    }


def test_every_currency_has_its_section_and_a_zero_rate_charges_nothing(ledger_dir):
    path = ledger_dir(
        settings="currency: USD\n",
        customers=CUSTOMERS + "- {id: E, name: Euro GmbH, currency: EUR}\n",
        invoices=INVOICES
        + "- {id: E1, customer: E, date: 2026-10-01, due: 2026-12-01, amount: 5.00}\n",
    )
    sections = {s["currency"]: s for s in interest_json(path)["sections"]}
    assert sections["EUR"]["rows"] == []
    assert sections["EUR"]["totals"] == {"open": "0.00", "interest": "0.00"}
    assert {r["interest"] for r in sections["USD"]["rows"]} == {"0.00"}


# ------------------------------------------- paid late, since the last interest charge

PAID_LATE = "dunning: {interest_rate: 0.0365, interest_on_paid_late: true}\n"
# I4: 500.00 due 09-10, paid 09-20: 10 days × 500.00 = 5000 → 0.50
I4 = "- {id: I4, customer: C, date: 2026-08-01, due: 2026-09-10, amount: 500.00}\n"
P4 = "- {customer: C, date: 2026-09-20, amount: 500.00, invoice: I4}\n"
LOG_HEADER = "date,customer,level,currency,amount,message_id\n"


def paid_late_ledger(ledger_dir, log: str | None):
    path = ledger_dir(
        settings="currency: USD\n" + PAID_LATE,
        customers=CUSTOMERS,
        invoices=INVOICES + I4,
        payments=PAYMENTS + P4,
    )
    if log is not None:
        (path / "dunning-log.csv").write_text(LOG_HEADER + log, encoding="utf-8")
    return path


def paid_rows(path):
    return [
        (r["invoice"], r["to"], r["days"], r["interest"])
        for r in interest_json(path)["sections"][0]["rows"]
        if r["open"] == "0.00"
    ]


def test_with_no_letter_on_record_every_item_paid_late_accrues(ledger_dir):
    """I4: 10 days × 500.00 → 0.50; I2: 40 days × 1000.00 → 4.00."""
    path = paid_late_ledger(ledger_dir, None)
    assert sorted(paid_rows(path)) == [
        ("I2", "2026-10-31", 40, "4.00"),
        ("I4", "2026-09-20", 10, "0.50"),
    ]


def test_items_paid_late_accrue_only_since_the_last_letter(ledger_dir):
    """The letter of 10-01 charged I4 (paid 09-20); I2, paid 10-31, comes after
    it. A letter in another currency is no charge on USD items."""
    path = paid_late_ledger(
        ledger_dir,
        "2026-10-01,C,first,USD,1000.00,<a@x>\n2026-10-20,C,first,EUR,5.00,<b@x>\n",
    )
    assert paid_rows(path) == [("I2", "2026-10-31", 40, "4.00")]


def test_an_item_paid_on_the_day_of_a_letter_was_charged_by_it(ledger_dir):
    path = paid_late_ledger(ledger_dir, "2026-10-31,C,second,USD,1000.00,<a@x>\n")
    assert paid_rows(path) == []
    # As of the day before that letter, it is not in the ledger's books yet:
    # I2 unpaid, I4 paid before any letter.
    rows = interest_json(path, "2026-10-30")["sections"][0]["rows"]
    assert {(r["invoice"], r["interest"]) for r in rows if r["open"] == "0.00"} == {
        ("I4", "0.50")
    }


def test_the_letter_charges_what_was_paid_late_since_the_last_letter(ledger_dir):
    """As of 10-31 after a letter on 10-01: I1 open 600.00 with 2.26 (above),
    and I2 paid 40 days late, 4.00: interest 6.26, total 606.26; the letter
    lists I2 apart, paid on 10-31."""
    from arledger import mail
    from arledger.letters import render_letter

    path = paid_late_ledger(ledger_dir, "2026-10-01,C,first,USD,1000.00,<a@x>\n")
    ledger, _ = load(path)
    view = ledger.view(date.fromisoformat(AS_OF))
    sent = mail.read_log(path / "dunning-log.csv")
    (letter,) = dunning.compute(view, settle(view), sent=sent).letters
    assert [(i.invoice, i.interest) for i in letter.items] == [("I1", D("2.26"))]
    assert [(i.invoice, i.days, i.paid, i.interest) for i in letter.paid_late] == [
        ("I2", 40, date(2026, 10, 31), D("4.00"))
    ]
    assert letter.interest == D("6.26")
    assert letter.total == D("606.26")
    assert dunning.letter_note(letter) == "interest 4.00 on 1 paid late"
    report = interest_json(path)["sections"][0]
    assert report["totals"]["interest"] == "6.26"  # the same figures
    text = render_letter(letter, "txt", settings=ledger.settings, ledger_root=path)
    assert "includes interest on this invoice, paid after its due" in text
    assert "I2       2026-09-21  2026-10-31         40            4.00" in text
    assert "Late interest (3.65% a year)" in text and "606.26" in text
    zh = render_letter(
        dataclasses.replace(letter, language="zh"), "txt", settings=ledger.settings
    )
    assert "付款日晚于到期日" in zh and "逾期利息（USD）" in zh


def test_a_damaged_sent_log_is_an_error_at_its_line(ledger_dir):
    path = paid_late_ledger(ledger_dir, "2026-13-01,C,first,USD,1.00,<a@x>\n")
    result = CliRunner().invoke(
        app, ["interest", "--ledger", str(path), "--as-of", AS_OF]
    )
    assert result.exit_code == 2
    assert "dunning-log.csv:2:" in result.stderr
    assert "Traceback" not in result.stderr
