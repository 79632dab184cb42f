"""`arledger interest`: late interest per item, day by day, the figures the
dunning letters charge (SPEC §2, Late interest)."""

from __future__ import annotations

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
