"""The currencies of a view (`LedgerView.currencies`, `Ledger.currencies_of`).

Every report gives each currency with records its section (SPEC §3), so each
asks which currencies a view has. `currencies_of` finds the set without asking
`currency_of` about every record; the property holds it, and the view's
currencies under any owner, currency and customer filter, to the plain
definition: `currency_of` asked about every record, on a ledger that never
answered before (its answers are cached by record).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from arledger.ledger import Ledger, LedgerView
from arledger.model import Adjustment, Customer, Invoice, Payment, Settings

from .test_properties import PROPERTY, Gen, as_of_dates, ledgers
from .test_settle_oracle import as_rows as rows_of

OWNERS = (None, "ann", "bob")
BASES = ("USD", "EUR", "JPY")


def plain(view: LedgerView) -> frozenset[str]:
    """What `view.currencies()` means: the currency of each invoice (of the
    owner's items, with an owner), payment and adjustment (of the customers
    the owner looks after), as `currency_of` says."""
    ledger, owner = view.ledger, view.owner
    owners = {c.id: c.owner for c in ledger.customers.values()}
    found = {
        ledger.currency_of(i)
        for i in view.invoices
        if owner is None or ledger.owner_of(i) == owner
    }
    for record in (*view.payments, *view.adjustments):
        if owner is None or owners.get(record.customer) == owner:
            found.add(ledger.currency_of(record))
    return frozenset(found)


@st.composite
def odd_ledgers(draw) -> tuple[Gen, str, bool]:
    """A generated ledger, with owners on customers and invoices, some records
    of a customer the ledger does not know (theirs is the base currency), and
    payments and adjustments without a currency naming any invoices (another
    customer's, another currency's, several currencies'); its base currency,
    and whether its records are rows (as loaded) or models (as made by hand)."""
    gen = draw(ledgers())
    customers = tuple(
        c.model_copy(update={"owner": draw(st.sampled_from(OWNERS))})
        for c in gen.customers
    )
    ids = [c.id for c in customers] + ["NOBODY"]
    invoices = list(gen.invoices)
    for k in range(draw(st.integers(0, 3))):
        invoices.append(
            Invoice(
                id=f"Z{k}",
                customer=draw(st.sampled_from(ids)),
                date=date(2025, 6, 1),
                amount=Decimal("10.00"),
                currency=draw(st.sampled_from([None, None, "EUR", "GBP"])),
            )
        )
    invoices = [
        i.model_copy(update={"owner": draw(st.sampled_from(OWNERS))}) for i in invoices
    ]
    invoice_ids = [i.id for i in invoices] or ["NONE"]
    payments = list(gen.payments)
    adjustments = list(gen.adjustments)
    for k in range(draw(st.integers(0, 4))):
        named = draw(st.lists(st.sampled_from(invoice_ids), max_size=3, unique=True))
        payments.append(
            Payment(
                id=f"ZP{k}",
                customer=draw(st.sampled_from(ids)),
                date=date(2025, 7, 1),
                amount=Decimal("5.00"),
                allocations={i: Decimal("1.00") for i in named} or None,
            )
        )
        adjustments.append(
            Adjustment(
                id=f"ZA{k}",
                customer=draw(st.sampled_from(ids)),
                date=date(2025, 7, 1),
                amount=Decimal("1.00"),
                kind="credit_note",
                invoice=draw(st.sampled_from([None, *invoice_ids])),
            )
        )
    gen = Gen(customers, tuple(invoices), tuple(payments), tuple(adjustments))
    return gen, draw(st.sampled_from(BASES)), draw(st.booleans())


def ledger_of(gen: Gen, base: str, as_rows: bool) -> Ledger:
    """A new ledger each time: nothing asked of it yet."""
    ledger = replace(gen.ledger(), settings=Settings(currency=base))
    return rows_of(ledger) if as_rows else ledger


@PROPERTY
@given(
    drawn=odd_ledgers(),
    as_of=as_of_dates,
    owner=st.sampled_from(OWNERS),
    currency=st.sampled_from([None, None, "USD", "EUR", "GBP"]),
    some=st.booleans(),
)
def test_a_views_currencies_are_those_of_its_records(
    drawn, as_of, owner, currency, some
):
    gen, base, as_rows = drawn
    customers = [c.id for c in gen.customers[:1]] + ["NOBODY"] if some else None

    def view(ledger: Ledger) -> LedgerView:
        return ledger.view(as_of, owner=owner, currency=currency, customers=customers)

    assert view(ledger_of(gen, base, as_rows)).currencies() == plain(
        view(ledger_of(gen, base, as_rows))
    )


@PROPERTY
@given(drawn=odd_ledgers(), data=st.data())
def test_currencies_of_any_records_is_the_set_of_their_currencies(drawn, data):
    """Any records, of any kinds mixed, in any order, with `currency` None or
    empty (a row read from a file whose cell is empty)."""
    gen, base, as_rows = drawn
    ledger = ledger_of(gen, base, as_rows)
    records = [*ledger.invoices.values(), *ledger.payments, *ledger.adjustments]
    if as_rows:
        records = [
            r._replace(currency="")
            if not r.currency and data.draw(st.booleans())
            else r
            for r in records
        ]
    records = data.draw(st.permutations(records))
    found = ledger.currencies_of(records)
    fresh = ledger_of(gen, base, as_rows)
    assert found == {fresh.currency_of(r) for r in records}


def test_an_invoice_without_a_currency_is_asked_about_once_per_customer():
    """A hundred invoices of two customers that give no currency: two
    questions, one per customer, answered by their customers' currencies (C2
    has none: the base currency's)."""
    customers = (
        Customer(id="C1", name="One", currency="EUR"),
        Customer(id="C2", name="Two"),
    )
    invoices = tuple(
        Invoice(
            id=f"I{k}",
            customer=f"C{1 + k % 2}",
            date=date(2026, 1, 1),
            amount=Decimal("1.00"),
        )
        for k in range(100)
    )
    ledger = Gen(customers, invoices, (), ()).ledger()
    asked = []

    class Counting(Ledger):
        def currency_of(self, record):
            asked.append(record.id)
            return super().currency_of(record)

    counting = Counting(**{f: getattr(ledger, f) for f in ledger.__dataclass_fields__})
    assert counting.currencies_of(invoices) == {"EUR", "USD"}
    assert len(asked) == 2
