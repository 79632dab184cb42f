"""The pure core, called directly: dates, money, settlement, aging buckets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arledger.dates import DateError, parse_ledger_date, resolve_as_of
from arledger.loader import load
from arledger.money import D, grouped, has_excess_places, plain
from arledger.render import Env, render
from arledger.reports import aging
from arledger.settle import settle

from .conftest import DEMO, write_ledger

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, date(2026, 11, 23)),
        ("today", date(2026, 11, 23)),
        ("month-end", date(2026, 10, 31)),
        ("quarter-end", date(2026, 9, 30)),
        ("2026-02-28", date(2026, 2, 28)),
        ("31 Oct 2026", date(2026, 10, 31)),
    ],
)
def test_resolve_as_of(text, expected):
    assert resolve_as_of(text, TODAY) == expected


def test_quarter_end_in_january_is_last_december():
    assert resolve_as_of("quarter-end", date(2027, 1, 5)) == date(2026, 12, 31)
    assert resolve_as_of("month-end", date(2027, 1, 5)) == date(2026, 12, 31)


def test_ledger_dates_are_iso_only_and_name_the_iso_form():
    assert parse_ledger_date("2026-03-31") == date(2026, 3, 31)
    with pytest.raises(DateError, match="YYYY-MM-DD, here 2026-03-31"):
        parse_ledger_date("31/03/2026")
    with pytest.raises(DateError, match="YYYY-MM-DD, here 2026-03-31"):
        parse_ledger_date("03/31/2026")
    with pytest.raises(DateError, match="YYYY-MM-DD"):
        parse_ledger_date("03/04/2026")  # ambiguous: no guess offered


def test_money_display():
    assert plain(D("1234.5"), "USD") == "1234.50"
    assert grouped(D("-1234567.891"), "USD") == "-1,234,567.89"
    assert plain(D("-0.001"), "USD") == "0.00"  # never "-0.00"
    assert plain(D("1000"), "JPY") == "1000"
    assert plain(D("10"), "USD") == "10.00"  # never 1E+1
    assert has_excess_places(D("10.005"), "USD")
    assert not has_excess_places(D("10.50"), "USD")
    assert has_excess_places(D("10.5"), "JPY")


def _settled(tmp_path, as_of, **files):
    ledger, errors = load(write_ledger(tmp_path / "l", **files))
    assert [e for e in errors if not e.warning] == []
    view = ledger.view(as_of)
    return view, settle(view)


def test_waiting_allocation_applies_on_the_invoice_date(tmp_path):
    view, s = _settled(
        tmp_path,
        date(2026, 3, 31),
        customers="- {id: C1, name: One}\n",
        invoices="""\
        - {id: I1, customer: C1, date: 2026-01-01, amount: 100.00}
        - {id: I2, customer: C1, date: 2026-03-01, amount: 80.00}
        """,
        payments="- {id: P1, customer: C1, date: 2026-02-01, amount: 150.00, allocations: {I2: 80.00}}\n",
    )
    by_item = {(a.invoice, a.ref): (a.amount, a.date) for a in s.applications}
    # 70 of the payment is not earmarked: it pays I1 (70 of 100) on the payment date.
    assert by_item[("I1", "P1")] == (Decimal("70.00"), date(2026, 2, 1))
    # The 80 earmarked for I2 waits until I2 exists, then is applied on its date.
    assert by_item[("I2", "P1")] == (Decimal("80.00"), date(2026, 3, 1))
    assert {i.invoice: i.open for i in s.items} == {"I1": Decimal("30.00"), "I2": 0}
    assert s.credits == ()


def test_waiting_allocation_is_credit_until_then(tmp_path):
    view, s = _settled(
        tmp_path,
        date(2026, 2, 15),
        customers="- {id: C1, name: One}\n",
        invoices="- {id: I2, customer: C1, date: 2026-03-01, amount: 80.00}\n",
        payments="- {id: P1, customer: C1, date: 2026-02-01, amount: 80.00, invoice: I2}\n",
    )
    assert [(c.ref, c.amount, c.waiting_for) for c in s.credits] == [
        ("P1", Decimal("80.00"), "I2")
    ]
    result = aging.compute(view, s)
    assert result.sections[0].customers[0].unapplied == Decimal("-80.00")


def test_instalments_are_items_paid_in_due_order(tmp_path):
    view, s = _settled(
        tmp_path,
        date(2026, 12, 31),
        customers="- {id: C1, name: One}\n",
        invoices="""\
        - id: I1
          customer: C1
          date: 2026-01-01
          amount: 300.00
          schedule:
            - {due: 2026-03-01, amount: 200.00}
            - {due: 2026-02-01, amount: 100.00}
        """,
        payments="- {id: P1, customer: C1, date: 2026-02-10, amount: 150.00, invoice: I1}\n",
    )
    opens = {(i.invoice, i.instalment): (i.due, i.open) for i in s.items}
    assert opens == {
        ("I1", 1): (date(2026, 3, 1), Decimal("150.00")),
        ("I1", 2): (date(2026, 2, 1), Decimal("0.00")),
    }


def test_demo_ledger_loads_cleanly_and_reconciles():
    ledger, errors = load(DEMO)
    assert [e for e in errors if not e.warning] == []
    view = ledger.view(date(2026, 10, 31))
    s = settle(view)
    invoiced = sum(
        (i.amount for i in ledger.invoices.values() if i.date <= view.as_of), Decimal(0)
    )
    applied = sum((a.amount for a in s.applications), Decimal(0))
    open_total = sum((i.open for i in s.items), Decimal(0))
    assert open_total + applied == invoiced  # to the cent
    received = sum((p.amount for p in view.payments), Decimal(0)) + sum(
        (a.amount for a in view.adjustments), Decimal(0)
    )
    # SPEC §9: an early-payment discount is applied without a record behind it
    given = sum((a.amount for a in s.discounts), Decimal(0))
    assert given == Decimal("90.53")  # MERIDIAN's 2% of INV-2026-0048
    applied_from_records = applied - given
    assert applied_from_records + sum((c.amount for c in s.credits), 0) == received


def test_table_colours_only_on_a_terminal():
    ledger, _ = load(DEMO)
    view = ledger.view(date(2026, 10, 31))
    report = aging.to_report(aging.compute(view, settle(view)))
    coloured = render(report, "table", Env(tty=True, color=True, width=200))
    plain_tty = render(report, "table", Env(tty=True, color=False, width=200))
    piped = render(report, "table", Env())
    assert "\x1b[" in coloured and "─" in coloured
    assert "\x1b[3" not in plain_tty  # NO_COLOR: no colours (bold may stay)
    assert "\x1b[" not in piped and "─" not in piped


def test_reports_that_read_applications_refuse_a_lean_settlement():
    """aging and overdue settle with history=False; a report that reads who
    paid what must not take that settlement for one where nothing was paid."""
    from arledger.history import payment_history
    from arledger.reports import risk

    ledger, _ = load(DEMO)
    view = ledger.view(date(2026, 10, 31))
    lean = settle(view, history=False)
    assert lean.items and all(item.open for item in lean.items)
    with pytest.raises(ValueError, match="history=False"):
        payment_history(lean)
    with pytest.raises(ValueError, match="history=False"):
        risk.compute(view, lean)
    assert payment_history(settle(view))  # the demo has paid invoices


def test_rewind_refuses_a_settlement_without_its_paid_items():
    """lint, overdue and forecast settle without the items paid in full;
    rewinding needs them (an item paid since a day was open on it)."""
    from arledger.settle import rewind

    ledger, _ = load(DEMO)
    view = ledger.view(date(2026, 10, 31))
    lean = settle(view, paid=False)
    assert lean.history_of() and all(item.open for item in lean.items)
    assert len(lean.items) < len(settle(view).items)
    with pytest.raises(ValueError, match="paid=True"):
        rewind(lean, view, date(2026, 9, 30))
    assert rewind(settle(view), view, date(2026, 9, 30)).items
