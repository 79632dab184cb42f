"""A settlement's items as the kernel leaves them (`SettledItems`): made into
Item tuples when first read, and folded by account before that
(`Settlement.fold_open`) to the same values as folded from the items made.

`aging` by customer reads only the folds: at a million invoices, the 95,000
open items are then never made (docs/columnar-kernel.md §4.5)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arledger import _settle, api
from arledger.credit import days_past_due
from arledger.reports import aging
from arledger.settle import SettledItems, Settlement, settle
from tests.test_properties import PROPERTY, as_of_dates, ledgers


def folded_from_the_items(settlement: Settlement, *args, **kwargs):
    """`fold_open` as it reads items that are made (a tuple of them)."""
    made = Settlement(
        settlement.as_of,
        tuple(settlement.items),
        settlement.applications,
        settlement.credits,
        settlement.history,
        settlement.discounts,
        settlement.paid,
        settlement.accounts,
    )
    return made.fold_open(*args, **kwargs)


# A group by day and flag, as a report would ask: -1 leaves an item out.
groupings = st.fixed_dictionaries(
    {
        "count": st.integers(1, 4),
        "modulus": st.integers(1, 9),
        "skip_disputed": st.booleans(),
    }
)


def grouping(count: int, modulus: int, skip_disputed: bool):
    def group_of(day: date, disputed: bool) -> int:
        if disputed and skip_disputed:
            return -1
        return day.toordinal() % modulus % count

    return group_of


@PROPERTY
@given(
    gen=ledgers(),
    as_of=as_of_dates,
    asked=groupings,
    key=st.sampled_from(["due", "date"]),
    least=st.booleans(),
    history=st.booleans(),
)
def test_the_kernel_folds_as_the_items_made_fold(
    gen, as_of, asked, key, least, history
):
    """Sums and earliest days by account and group: the kernel's, before an
    item is made, equal those of the items once made, account by account in
    the same order."""
    view = gen.ledger().view(as_of)
    settlement = settle(view, history=history)
    assert isinstance(settlement.items, SettledItems)
    group_of = grouping(**asked)
    count = asked["count"]
    kernel = settlement.fold_open(group_of, count, key=key, least=least)
    want = folded_from_the_items(settlement, group_of, count, key=key, least=least)
    assert list(kernel.items()) == list(want.items())
    # once made, the settlement folds its items: the same again
    assert settlement.fold_open(group_of, count, key=key, least=least) == want


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates, basis=st.sampled_from(["due", "invoice"]))
def test_aging_by_customer_makes_no_item_and_agrees_with_the_items(gen, as_of, basis):
    """`aging` by customer folds the settlement without making its items; its
    sums, holds and totals are those of an aging of the items made."""
    view = gen.ledger().view(as_of)
    lean = settle(view, history=False)
    by_customer = aging.compute(view, lean, basis=basis, itemized=False)
    assert not lean.items.made  # type: ignore[attr-defined]  # none made
    itemized = aging.compute(view, settle(view, history=False), basis=basis)
    assert not by_customer.itemized and itemized.itemized
    for mine, theirs in zip(by_customer.sections, itemized.sections, strict=True):
        assert (mine.currency, mine.buckets, mine.unapplied, mine.total) == (
            theirs.currency,
            theirs.buckets,
            theirs.unapplied,
            theirs.total,
        )
        assert [r._replace(items=()) for r in mine.customers] == [
            r._replace(items=()) for r in theirs.customers
        ]
        assert all(r.items == () for r in mine.customers)


CUSTOMER = """
    - id: C1
      name: One
      currency: USD
      terms: 30
"""


def test_a_disputed_item_is_not_late_but_counts_in_its_bucket(ledger_dir):
    """The days past due leave out a disputed item (credit.days_past_due); its
    open balance is still aged, folded by the kernel."""
    root = ledger_dir(
        customers=CUSTOMER,
        invoices="""
        - {id: I1, customer: C1, date: 2026-01-01, amount: "100.00", disputed: true}
        - {id: I2, customer: C1, date: 2026-03-01, amount: "50.00"}
        """,
    )
    view = api.view(api.load(root), date(2026, 4, 15))
    settlement = settle(view, history=False)
    assert days_past_due(settlement, view.as_of) == {"C1": 15}  # I2, due 03-31
    result = aging.compute(view, settlement, itemized=False)
    (row,) = result.sections[0].customers
    assert row.buckets == (0, Decimal("50.00"), 0, Decimal("100.00"), 0, 0)


def one_invoice(ledger_dir) -> Path:
    return ledger_dir(
        customers=CUSTOMER,
        invoices='- {id: I1, customer: C1, date: 2026-01-01, amount: "100.00"}',
    )


def test_the_items_are_taken_once(ledger_dir):
    """`take` makes the items and lets the rows go: a second take, or a fold
    after it, is refused; `SettledItems` takes them once and keeps them."""
    view = api.view(api.load(one_invoice(ledger_dir)), date(2026, 4, 15))
    settlement = settle(view, history=False)
    items = settlement.items
    assert isinstance(items, SettledItems)
    kernel = items._kernel
    assert isinstance(kernel, _settle.Items) and len(kernel) == 1 == len(items)
    assert repr(items) == "<records not read yet>" and not items.made
    ((item,),) = [tuple(items)]
    assert (item.invoice, item.open) == ("I1", Decimal("100.00"))
    assert items == (item,) and (item,) == items and item in items
    with pytest.raises(RuntimeError, match="taken already"):
        kernel.take()
    with pytest.raises(RuntimeError, match="taken already"):
        kernel.fold(lambda day, disputed: 0, 1, True, False)


def test_a_fold_refuses_a_group_out_of_range_and_passes_errors_on(ledger_dir):
    view = api.view(api.load(one_invoice(ledger_dir)), date(2026, 4, 15))
    kernel = settle(view, history=False).items._kernel  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="group_of gave 3, not -1 to 1"):
        kernel.fold(lambda day, disputed: 3, 2, True, False)
    with pytest.raises(ValueError, match="count: 0"):
        kernel.fold(lambda day, disputed: 0, 0, True, False)

    def broken(day: date, disputed: bool) -> int:
        raise KeyError(day)

    with pytest.raises(KeyError):
        kernel.fold(broken, 1, True, False)
    assert kernel.fold(lambda day, disputed: 0, 1, True, True) == [(date(2026, 1, 31),)]
