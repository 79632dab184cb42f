"""The records and settings of collection practice (SPEC §7–§13) through the
loader's one rule set: plans, confirmations, discounts, allowance rates,
acknowledgements; each bad value at its FILE:LINE, exit 2, no traceback."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from arledger.cli import app
from arledger.loader import load

CUSTOMERS = """\
- {id: C1, name: One, discount: {percent: 2, days: 10}, allowance_rate: 0.25}
- {id: C2, name: Two, currency: EUR}
"""
INVOICES = """\
- {id: I1, customer: C1, date: 2026-01-01, amount: 100.00}
- {id: I2, customer: C1, date: 2026-01-05, amount: 50.00, discount: {percent: 1.5, days: 5}}
- {id: I3, customer: C2, date: 2026-01-05, amount: 70.00}
"""


def problems(ledger) -> list[str]:
    result = CliRunner().invoke(app, ["check", "--ledger", str(ledger)])
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        return []
    assert result.exit_code == 2, result.output
    return [line for line in result.stderr.splitlines() if ": " in line][:-1]


def test_good_records_load(ledger_dir):
    ledger = ledger_dir(
        customers=CUSTOMERS,
        invoices=INVOICES,
        plans="""\
            - id: PL1
              customer: C1
              date: 2026-02-01
              owner: Li
              invoices: [I1, I2]
              instalments:
                - {due: 2026-02-28, amount: 75.00}
                - {due: 2026-03-31, amount: 75.00}
            """,
        contacts="""\
            - {customer: C1, date: 2026-02-02, channel: phone, acknowledged: true}
            """,
        **{
            "confirmations.csv": "customer,date,balance,status,note\n"
            "C1,2026-01-31,150.00,confirmed,\n"
            "C2,2026-01-31,-5,disputed,we paid 75\n"
        },
    )
    loaded, errors = load(ledger)
    assert errors == []
    assert loaded.customers["C1"].discount.percent == 2
    assert loaded.customers["C1"].allowance_rate == Decimal("0.25")
    assert loaded.invoices["I2"].discount.days == 5
    (plan,) = loaded.plans
    assert [i.due for i in plan.instalments] == [date(2026, 2, 28), date(2026, 3, 31)]
    assert plan.invoices == ("I1", "I2")
    assert loaded.contacts[0].acknowledged is True
    assert [c.balance for c in loaded.confirmations] == [Decimal(150), Decimal(-5)]
    assert loaded.currency_of(loaded.confirmations[1]) == "EUR"
    assert loaded.counts()["plans"] == 1
    # a view keeps what exists on its date
    assert loaded.view(date(2026, 1, 31)).plans == ()
    assert len(loaded.view(date(2026, 2, 1)).plans) == 1


def test_plans_in_csv(ledger_dir):
    ledger = ledger_dir(
        customers=CUSTOMERS,
        invoices=INVOICES,
        **{
            "plans.csv": "id,customer,date,invoices,instalments\n"
            "PL1,C1,2026-02-01,I1;I2,2026-02-28=75.00;2026-03-31=75.00\n"
            'PL2,C1,2026-02-01,,"2026-03-31=75.00;2026-02-28=75.00"\n'
        },
    )
    assert problems(ledger) == [
        "plans.csv:3: instalments: list them in the order they fall due"
    ]


def test_bad_practice_records(ledger_dir):
    ledger = ledger_dir(
        customers="""\
            - {id: C1, name: One}
            - {id: C2, name: Two, allowance_rate: 1.5}
            - {id: C3, name: Three, discount: {percent: 2}}
            - {id: C4, name: Four, discount: {percent: 100, days: 10}}
            """,
        invoices=INVOICES.replace("C2", "C1"),
        plans="""\
            - id: PL1
              customer: C1
              date: 2026-02-01
              invoices: [I9, I3]
              instalments: [{due: 2026-01-31, amount: 10}]
            - id: PL2
              customer: C1
              date: 2026-02-01
              invoices: [I9]
              instalments: [{due: 2026-02-28, amount: 10.001}]
            - {id: PL3, customer: NOBODY, date: 2026-02-01, instalments: []}
            """,
        contacts="""\
            - {customer: C1, date: 2026-02-02, channel: phone, acknowledged: maybe}
            """,
        **{
            "confirmations.csv": "customer,date,balance,status\n"
            "C1,2026-01-31,1e3,confirmed\n"
            "C1,2026-01-31,10,agreed\n"
        },
    )
    assert problems(ledger) == [
        "confirmations.csv:2: balance: not an amount ('1e3'); "
        "write plain decimals like 1234.50",
        "confirmations.csv:3: status: must be one of 'confirmed' or 'disputed' "
        "(got 'agreed')",
        "contacts.yaml:1: acknowledged: not a yes/no value (got 'maybe'); "
        "use true/false/yes/no/1/0",
        "customers.yaml:2: allowance_rate: is a fraction from 0 to 1: "
        "write 0.05 for 5% (got '1.5')",
        "customers.yaml:3: discount.days: missing (required)",
        "customers.yaml:4: discount.percent: must be less than 100 (got '100')",
        "plans.yaml:5: instalments: 2026-01-31 is before the plan's date 2026-02-01",
        "plans.yaml:9: invoices: unknown invoice 'I9'",
        "plans.yaml:10: instalments.1.amount: 10.001 has more decimals than USD allows",
        "plans.yaml:11: customer: unknown customer 'NOBODY'",
        "plans.yaml:11: instalments: list at least one `{due, amount}`",
    ]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            "allowance: {rates: {Current: 0.01, 1-30: 0.02}}\n",
            "arledger.yaml:1: allowance.rates: no rate for: 31-60, "
            "61-90, 91-120, 120+ (the buckets are Current, 1-30, 31-60, 61-90, "
            "91-120, 120+)",
        ),
        ("limitation: {years: 0}\n", "arledger.yaml:1: limitation.years:"),
        ("lint: {unapplied_days: -1}\n", "arledger.yaml:1: lint.unapplied_days:"),
        ("allowance: {disputed: 2}\n", "arledger.yaml:1: allowance.disputed:"),
    ],
)
def test_bad_practice_settings(ledger_dir, settings, expected):
    ledger = ledger_dir(customers=CUSTOMERS, settings=settings)
    (found,) = problems(ledger)
    assert found.startswith(expected), found
