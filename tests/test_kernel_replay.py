"""The replay over columns (docs/columnar-kernel.md §4.3) gives the records'
own Decimals where it passes amounts on, and the same Decimals when it
rebuilds them from minor units and exponents instead.

Since step 4 `settle` reads the records into columns with `_settle.read`,
then replays those with `_settle.run`. Amounts it passes on come from
the lists of the records' own Decimals that `read` returns; without those
lists (None, as a ledger read from pyarrow arrays will have no record
objects) each is rebuilt from its minor units and exponent.
The oracle (tests/test_settle_oracle.py) compares amounts as numbers; here
the two ways must agree on the text of every field, 30 and 30.00 apart, and
share each discount application with the applications by identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from arledger import settle as settle_module
from arledger.ledger import LedgerView
from arledger.settle import Settlement, settle

from .test_properties import ledgers
from .test_settle_oracle import ORACLE, draw_view, varied_ledgers, with_owners


@contextmanager
def rebuilt_amounts() -> Iterator[None]:
    """`settle` with the records' Decimals rebuilt from the columns."""
    real = settle_module._settle.run
    lists = (
        "inv_amounts",
        "ins_amounts",
        "pay_amounts",
        "adj_amounts",
        "alloc_amounts",
    )

    def run(columns: dict[str, Any], context: dict[str, Any]) -> Any:
        columns.update(dict.fromkeys(lists))
        return real(columns, context)

    with mock.patch.object(settle_module._settle, "run", run):
        yield


def fields_of(settlement: Settlement) -> dict[str, list[list[str]]]:
    """Every field of every result as its type and its repr."""
    return {
        name: [
            [f"{type(x).__name__} {x!r}" for x in row]
            for row in getattr(settlement, name)
        ]
        for name in ("items", "applications", "credits", "discounts")
    }


def assert_discounts_shared(settlement: Settlement) -> None:
    """statement.py and journal.py tell discounts apart by id()."""
    applications = {id(a) for a in settlement.applications}
    assert all(id(d) in applications for d in settlement.discounts)


def assert_own_amounts(view: LedgerView, settlement: Settlement) -> None:
    """An item's amount is its invoice's or instalment's own object, and
    open while untouched the same one (§4.3)."""
    invoices = {invoice.id: invoice for invoice in view.invoices}
    for item in settlement.items:
        invoice = invoices[item.invoice]
        if item.instalment is None:
            assert item.amount is invoice.amount, item
        else:
            assert item.amount is invoice.schedule[item.instalment - 1].amount, item
        if item.open == item.amount and not any(
            a.invoice == item.invoice and a.instalment == item.instalment
            for a in settlement.applications
        ):
            assert item.open is item.amount, item


def assert_both_ways_alike(view: LedgerView) -> None:
    for history, paid in ((True, True), (True, False), (False, True)):
        own = settle(view, history=history, paid=paid)
        with rebuilt_amounts():
            rebuilt = settle(view, history=history, paid=paid)
        assert fields_of(rebuilt) == fields_of(own)
        assert rebuilt.accounts == own.accounts
        for settlement in (own, rebuilt):
            assert_discounts_shared(settlement)
        if history:
            assert_own_amounts(view, own)


@settings(ORACLE, max_examples=150)
@given(data=st.data())
def test_rebuilt_amounts_are_the_records_own_on_the_property_ledgers(data):
    gen = data.draw(ledgers().flatmap(with_owners), label="ledger")
    assert_both_ways_alike(draw_view(data, gen))


@settings(ORACLE, max_examples=150)
@given(data=st.data())
def test_rebuilt_amounts_are_the_records_own_on_varied_ledgers(data):
    """Exponents from 4 decimals to none, and above the currency's places
    (30 in a currency of cents); amounts beyond 64 bits."""
    gen = data.draw(varied_ledgers(), label="ledger")
    assert_both_ways_alike(draw_view(data, gen))
