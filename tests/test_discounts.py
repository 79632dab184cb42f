"""Early-payment discounts (现金折扣, SPEC §9), given by the settlement engine.

The fixture: customer C1 has "2/10" (2% off when paid within 10 days of the
invoice date). I1 is USD 1,000.00 issued 2026-03-02, so its window ends
2026-03-12 (that day included) and the threshold is 1,000.00 − 20.00 = 980.00.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from arledger.cli import app
from arledger.loader import load
from arledger.model import Discount
from arledger.money import D
from arledger.settle import EARLY_PAYMENT, discount_threshold, rewind, settle

from .conftest import write_ledger

CUSTOMERS = """\
- {id: C1, name: One, discount: {percent: 2, days: 10}}
- {id: C2, name: Two}
"""
I1 = "- {id: I1, customer: C1, date: 2026-03-02, amount: 1000.00}\n"


def settled(tmp_path, payments: str, *, invoices: str = I1, as_of=date(2026, 4, 30)):
    directory = write_ledger(
        tmp_path / "l", customers=CUSTOMERS, invoices=invoices, payments=payments
    )
    ledger, errors = load(directory)
    assert [e for e in errors if not e.warning] == []
    view = ledger.view(as_of)
    return view, settle(view)


def rows(settlement):
    return [(a.invoice, a.instalment, a.kind, a.ref, a.date, a.amount)
            for a in settlement.applications]  # fmt: skip


def open_of(settlement, invoice="I1"):
    return sum(i.open for i in settlement.items if i.invoice == invoice)


def test_paid_inside_the_window_closes_the_rest_as_a_discount(tmp_path):
    _, s = settled(
        tmp_path, "- {id: P1, customer: C1, date: 2026-03-05, amount: 980.00}\n"
    )
    assert rows(s) == [
        ("I1", None, "payment", "P1", date(2026, 3, 5), D("980.00")),
        ("I1", None, "discount", EARLY_PAYMENT, date(2026, 3, 5), D("20.00")),
    ]
    assert open_of(s) == 0
    assert s.discounts == (s.applications[1],)
    assert s.credits == ()


def test_the_window_includes_its_last_day(tmp_path):
    _, s = settled(
        tmp_path,
        "- {id: P1, customer: C1, date: 2026-03-12, amount: 980.00, invoice: I1}\n",
    )
    assert [(a.kind, a.date, a.amount) for a in s.discounts] == [
        ("discount", date(2026, 3, 12), D("20.00"))
    ]
    assert open_of(s) == 0


def test_after_the_window_nothing_is_given(tmp_path):
    _, s = settled(
        tmp_path,
        "- {id: P1, customer: C1, date: 2026-03-13, amount: 980.00, invoice: I1}\n",
    )
    assert s.discounts == ()
    assert [a.kind for a in s.applications] == ["payment"]
    assert open_of(s) == D("20.00")  # the unearned remainder stays open


def test_partial_payments_count_once_they_reach_the_threshold(tmp_path):
    """500.00 on 03-05 and 479.99 on 03-10 make 979.99 < 980.00: nothing yet,
    20.01 open. 0.01 more on 03-12 makes 980.00: the rest, 20.00, is given on
    03-12. Had the cent come on 03-13, 20.00 would stay open."""
    payments = """\
    - {id: P1, customer: C1, date: 2026-03-05, amount: 500.00}
    - {id: P2, customer: C1, date: 2026-03-10, amount: 479.99}
    """
    _, s = settled(tmp_path, payments, as_of=date(2026, 3, 11))
    assert s.discounts == ()
    assert open_of(s) == D("20.01")
    _, s = settled(
        tmp_path,
        payments + "- {id: P3, customer: C1, date: 2026-03-12, amount: 0.01}\n",
    )
    assert [(a.date, a.amount) for a in s.discounts] == [
        (date(2026, 3, 12), D("20.00"))
    ]
    assert open_of(s) == 0
    _, s = settled(
        tmp_path,
        payments + "- {id: P3, customer: C1, date: 2026-03-13, amount: 0.01}\n",
    )
    assert s.discounts == ()
    assert open_of(s) == D("20.00")


def test_a_payment_below_the_threshold_earns_nothing(tmp_path):
    _, s = settled(
        tmp_path, "- {id: P1, customer: C1, date: 2026-03-05, amount: 600.00}\n"
    )
    assert s.discounts == ()
    assert open_of(s) == D("400.00")


def test_paid_in_full_inside_the_window_leaves_nothing_to_give(tmp_path):
    _, s = settled(
        tmp_path, "- {id: P1, customer: C1, date: 2026-03-05, amount: 1000.00}\n"
    )
    assert s.discounts == ()
    assert open_of(s) == 0


def test_more_than_the_threshold_gives_only_what_is_left(tmp_path):
    _, s = settled(
        tmp_path, "- {id: P1, customer: C1, date: 2026-03-05, amount: 990.00}\n"
    )
    assert [a.amount for a in s.discounts] == [D("10.00")]


def test_the_invoice_s_own_discount_wins_and_others_have_none(tmp_path):
    """I1 has its own 1/5: threshold 990.00, window to 03-07. C2 has none."""
    invoices = """\
    - {id: I1, customer: C1, date: 2026-03-02, amount: 1000.00, discount: {percent: 1, days: 5}}
    - {id: J1, customer: C2, date: 2026-03-02, amount: 1000.00}
    """
    payments = """\
    - {id: P1, customer: C1, date: 2026-03-07, amount: 990.00}
    - {id: P2, customer: C2, date: 2026-03-03, amount: 980.00}
    """
    _, s = settled(tmp_path, payments, invoices=invoices)
    assert [(a.invoice, a.amount) for a in s.discounts] == [("I1", D("10.00"))]
    assert open_of(s, "J1") == D("20.00")


def test_a_schedule_is_discounted_as_a_whole(tmp_path):
    """Decision (README): the discount is on the invoice as a whole. 400.00 +
    600.00 due later; 980.00 within the window pays instalment 1 and 580.00 of
    instalment 2; the 20.00 left on instalment 2 is the discount."""
    invoices = """\
    - id: I1
      customer: C1
      date: 2026-03-02
      amount: 1000.00
      schedule: [{due: 2026-04-01, amount: 400.00}, {due: 2026-05-01, amount: 600.00}]
    """
    _, s = settled(
        tmp_path,
        "- {id: P1, customer: C1, date: 2026-03-09, amount: 980.00, invoice: I1}\n",
        invoices=invoices,
    )
    assert rows(s) == [
        ("I1", 1, "payment", "P1", date(2026, 3, 9), D("400.00")),
        ("I1", 2, "payment", "P1", date(2026, 3, 9), D("580.00")),
        ("I1", 2, "discount", EARLY_PAYMENT, date(2026, 3, 9), D("20.00")),
    ]


def test_cash_on_account_before_the_invoice_counts_on_its_date(tmp_path):
    """980.00 paid on 02-20 waits as unapplied cash and meets I1 on its issue
    date, 03-02, inside the window."""
    _, s = settled(
        tmp_path, "- {id: P1, customer: C1, date: 2026-02-20, amount: 980.00}\n"
    )
    assert [(a.date, a.amount) for a in s.discounts] == [(date(2026, 3, 2), D("20.00"))]
    assert open_of(s) == 0 and s.credits == ()


def test_threshold_rounds_the_discount_half_up_to_minor_units():
    two = Discount(percent=D("2"), days=10)
    # 2% of 100.25 is 2.005 -> 2.01: paying 98.24 earns it
    assert discount_threshold(D("100.25"), two, "USD") == D("98.24")
    # yen have no minor unit: 2% of 10,025 is 200.5 -> 201
    assert discount_threshold(D("10025"), two, "JPY") == D("9824")


def test_without_history_the_open_balances_are_the_same(tmp_path):
    view, s = settled(
        tmp_path, "- {id: P1, customer: C1, date: 2026-03-05, amount: 980.00}\n"
    )
    lean = settle(view, history=False)
    assert lean.items == () and lean.discounts == ()
    assert lean.credits == s.credits


def test_rewind_keeps_the_discount_out_of_unapplied_cash(tmp_path):
    view, s = settled(
        tmp_path, "- {id: P1, customer: C1, date: 2026-03-05, amount: 980.00}\n"
    )
    for day in (date(2026, 3, 4), date(2026, 3, 5), date(2026, 4, 1)):
        back = rewind(s, view, day)
        again = settle(view.ledger.view(day), history=False)
        assert back.credits == again.credits == ()
        assert {i.key: i.open for i in back.items} == {
            i.key: i.open for i in again.items
        }


# ---------------------------------------------------------------- reports

LEDGER = dict(
    customers=CUSTOMERS,
    invoices="""\
    - {id: I1, customer: C1, date: 2026-03-02, amount: 1000.00}
    - {id: I2, customer: C1, date: 2026-03-20, amount: 500.00}
    """,
    payments="""\
    - {id: P1, customer: C1, date: 2026-03-10, amount: 980.00, invoice: I1}
    - {id: P2, customer: C1, date: 2026-04-06, amount: 490.00, invoice: I2}
    """,
)


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def reports_ledger(tmp_path):
    return write_ledger(tmp_path / "r", **LEDGER)


def test_collection_shows_discounts_as_credited_never_collected(reports_ledger):
    """March: invoiced 1,500.00; P1 980.00 collected; I1's 20.00 discount
    credited. I2's window ended 03-30, so P2's 490.00 on 04-06 leaves 10.00
    open. Closing 1,500 − 980 − 20 = 500.00."""
    result = run("collection", "-l", reports_ledger, "--as-of", "2026-03-31",
                 "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    [section] = json.loads(result.stdout)["sections"]
    assert (section["collected"], section["credited"], section["discounts"]) == (
        "980.00",
        "20.00",
        "20.00",
    )
    assert section["closing"] == "500.00"
    result = run("collection", "-l", reports_ledger, "--as-of", "2026-04-30",
                 "-f", "json")  # fmt: skip
    [section] = json.loads(result.stdout)["sections"]
    assert (section["collected"], section["discounts"], section["closing"]) == (
        "490.00",
        "0.00",
        "10.00",
    )


def test_statement_shows_the_discount_as_a_credit_line(reports_ledger):
    result = run("statement", "C1", "-l", reports_ledger, "--as-of", "2026-04-30",
                 "--period", "all", "-f", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    activity = json.loads(result.stdout)["sections"][0]
    lines = [(r["date"], r["type"], r["reference"], r["credit"], r["balance"])
             for r in activity["rows"][1:]]  # fmt: skip
    assert lines == [
        ("2026-03-02", "invoice", "I1", None, "1000.00"),
        ("2026-03-10", "payment", "P1", "980.00", "20.00"),
        ("2026-03-10", "discount", "I1", "20.00", "0.00"),
        ("2026-03-20", "invoice", "I2", None, "500.00"),
        ("2026-04-06", "payment", "P2", "490.00", "10.00"),
    ]
    assert activity["rows"][3]["details"] == "2/10; applied to I1"
    assert activity["closing_balance"] == "10.00"  # the aging total


def test_journal_posts_the_discount_and_balances_to_the_aging(reports_ledger):
    result = run("journal", "-l", reports_ledger, "--to", "2026-04-30")
    assert result.exit_code == 0, result.output
    assert (
        "2026-03-10 One | Early-payment discount on I1\n"
        "    ; applied 20.00 to I1 on 2026-03-10\n"
        "    Expenses:Discounts             20.00 USD\n"
        "    Assets:Receivable:C1          -20.00 USD\n"
    ) in result.stdout
    balance = sum(
        Decimal(line.split()[1])
        for line in result.stdout.splitlines()
        if line.startswith("    Assets:Receivable:C1")
    )
    assert balance == Decimal("10.00")
    # From a later start, the discount is inside the opening balance.
    result = run("journal", "-l", reports_ledger, "--to", "2026-04-30",
                 "--from", "2026-03-15")  # fmt: skip
    assert "Assets:Receivable:C1               0.00 USD" not in result.stdout
    assert "Early-payment discount" not in result.stdout
    assert "2026-03-14 One | Opening balance" not in result.stdout  # nothing owed


def test_promises_never_count_a_discount(tmp_path):
    """A promise of 1,000.00 by 03-10 met by 980.00 and a 20.00 discount is
    not kept: only cash counts towards a promise."""
    from arledger.promises import promises

    directory = write_ledger(
        tmp_path / "p",
        customers=CUSTOMERS,
        invoices=I1,
        payments="- {id: P1, customer: C1, date: 2026-03-05, amount: 980.00}\n",
        contacts="""\
        - {customer: C1, date: 2026-03-03, channel: phone, promise_date: 2026-03-10, promise_amount: 1000.00}
        """,
    )
    ledger, _ = load(directory)
    view = ledger.view(date(2026, 3, 31))
    [promise] = promises(view, settle(view))
    assert (promise.paid, promise.status) == (D("980.00"), "broken")
