"""The roll-forward's fast path held to its plain definition (SPEC §2, §7).

`collection._tallies` adds up runs of alike parts of items (what is open now,
what each application took) sorted in C, instead of walking each item's
balance from one span end to the next. Here every figure of every span is
worked out the slow, obvious way, item by item and day by day, from the same
settlement, for any consecutive spans, grouped as the report groups them
(one group, by customer, by owner), and the two must agree to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from arledger.dates import Period
from arledger.errors import Source
from arledger.ledger import Ledger, LedgerView
from arledger.model import Customer, Invoice, Payment, Settings
from arledger.reports import collection
from arledger.settle import Item, Settlement, payment_ref, settle
from tests.test_properties import PROPERTY, WINDOW_START, Gen, as_of_dates, ledgers

ZERO = Decimal(0)
OWNERS = (None, "ann", "bob")


def plain_roll_forward(
    view: LedgerView,
    settlement: Settlement,
    spans: Sequence[Period],
    item_key: Callable[[Item], Hashable],
    customer_key: Callable[[str], Hashable],
) -> dict[tuple[str, Hashable], tuple[list[collection.RollForward], Decimal]]:
    """Per (currency, group): each span's roll-forward and what was due in all
    of them as one, by the definitions of SPEC §2 and §7."""
    applied = defaultdict(list)
    for application in settlement.applications:
        applied[(application.invoice, application.instalment)].append(application)
    paid_on = {payment_ref(p): p.date for p in view.payments}

    def open_on(item: Item, day: date) -> Decimal:
        """What the item had open at the end of `day` (nothing before issue)."""
        if item.date > day:
            return ZERO
        taken = sum((a.amount for a in applied[item.key] if a.date <= day), ZERO)
        return item.amount - taken

    def due_in(items: list[Item], start: date, end: date) -> Decimal:
        """SPEC §7: of the items due by `end`, what was open at `start` (or on
        issue, for those issued in start..end)."""
        total = ZERO
        for item in items:
            if item.due > end:
                continue
            if item.date < start:
                total += open_on(item, start - timedelta(days=1))
            elif item.date <= end:
                total += item.amount
        return total

    grouped: dict[tuple[str, Hashable], list[Item]] = defaultdict(list)
    for item in settlement.items:
        grouped[(item.currency, item_key(item))].append(item)
    unapplied: dict[tuple[str, Hashable], list] = defaultdict(list)
    for credit in settlement.credits:
        if credit.kind == "payment":
            unapplied[(credit.currency, customer_key(credit.customer))].append(credit)
    found = {}
    for group in {*grouped, *unapplied}:
        items = grouped.get(group, [])
        rows = []
        for span in spans:
            before, end = span.start - timedelta(days=1), span.end

            def within(day: date, span: Period = span) -> bool:
                return span.start <= day <= span.end

            taken = [a for i in items for a in applied[i.key] if within(a.date)]
            by_kind: dict[str, Decimal] = defaultdict(lambda: ZERO)
            for application in taken:
                by_kind[application.kind] += application.amount
            payments = [a for a in taken if a.kind == "payment"]
            item_of = {i.key: i for i in items}
            held = [i for i in items if open_on(i, end)]
            late = [(end - i.due).days for i in held if i.due < end]
            received = sum(
                (
                    a.amount
                    for i in items
                    for a in applied[i.key]
                    if a.kind == "payment" and within(paid_on[a.ref])
                ),
                ZERO,
            ) + sum(
                (c.amount for c in unapplied.get(group, []) if within(c.date)), ZERO
            )
            rows.append(
                collection.RollForward(
                    span.days,
                    sum((open_on(i, before) for i in items), ZERO),
                    sum((i.amount for i in items if within(i.date)), ZERO),
                    by_kind["payment"],
                    by_kind["credit_note"] + by_kind["discount"],
                    by_kind["write_off"],
                    sum((open_on(i, end) for i in items), ZERO),
                    sum((open_on(i, end) for i in held if i.due >= end), ZERO),
                    received,
                    sum(
                        (
                            a.amount * (a.date - item_of[a[:2]].date).days
                            for a in payments
                        ),
                        ZERO,
                    ),
                    sum(
                        (
                            a.amount * (a.date - item_of[a[:2]].due).days
                            for a in payments
                        ),
                        ZERO,
                    ),
                    max(late) if late else None,
                    due=due_in(items, span.start, span.end),
                    discounts=by_kind["discount"],
                )
            )
        found[group] = (rows, due_in(items, spans[0].start, spans[-1].end))
    return found


@st.composite
def owned(draw, gen: Gen) -> Gen:
    """The ledger with owners on some customers and invoices, and some
    payments without an id (known by where they were written)."""
    customers = tuple(
        c.model_copy(update={"owner": draw(st.sampled_from(OWNERS))})
        for c in gen.customers
    )
    invoices = tuple(
        i.model_copy(update={"owner": draw(st.sampled_from((None, None, "cat")))})
        for i in gen.invoices
    )
    payments = tuple(
        p.model_copy(update={"id": None, "source": Source("payments.yaml", k + 1)})
        if draw(st.booleans())
        else p
        for k, p in enumerate(gen.payments)
    )
    return Gen(customers, invoices, payments, gen.adjustments)


@st.composite
def consecutive_spans(draw, as_of: date) -> list[Period]:
    """One to five spans, each starting the day after the last ended, the
    last ending on or before `as_of`."""
    lengths = draw(st.lists(st.integers(1, 120), min_size=1, max_size=5))
    end = as_of - timedelta(days=draw(st.integers(0, 200)))
    start = end - timedelta(days=sum(lengths) - 1)
    spans = []
    for k, length in enumerate(lengths):
        last = start + timedelta(days=length - 1)
        spans.append(Period(start, last, f"S{k}"))
        start = last + timedelta(days=1)
    return spans


GROUPINGS = {
    "one": (collection._no_group, collection._no_group),
    "customer": (collection._customer_of, collection._same_customer),
    "owner": (collection._owner_of, None),  # the customer's owner, below
}


@PROPERTY
@given(
    gen=ledgers(),
    as_of=as_of_dates.filter(lambda day: day > WINDOW_START),
    grouping=st.sampled_from(sorted(GROUPINGS)),
    by_owner=st.sampled_from([None, None, "ann", "cat"]),
    data=st.data(),
)
def test_the_fast_roll_forward_is_the_plain_one(gen, as_of, grouping, by_owner, data):
    gen = data.draw(owned(gen))
    spans = data.draw(consecutive_spans(as_of))
    ledger = gen.ledger()
    view = ledger.view(as_of, owner=by_owner)
    settlement = settle(view)
    item_key, customer_key = GROUPINGS[grouping]
    if customer_key is None:

        def customer_key(customer_id: str) -> str | None:
            customer = ledger.customers.get(customer_id)
            return customer.owner if customer is not None else None

    fast = collection._tallies(view, settlement, spans, item_key, customer_key)
    plain = plain_roll_forward(view, settlement, spans, item_key, customer_key)
    nothing = ([collection.combine([], span.days) for span in spans], ZERO)
    for group in {*fast, *plain}:
        tally = fast.get(group)
        got = (tally.freeze(spans), tally.due_whole) if tally else nothing
        assert got == plain.get(group, nothing), group


def test_a_due_date_on_a_span_end_is_not_yet_due_there_and_due_in_that_span():
    """An item due on the last day of a span is current at that span's end
    (SPEC §2: days past due <= 0) and due in it (SPEC §7); one day later it
    is overdue by one day."""
    ledger = Ledger(
        root=Path("."),
        settings=Settings(),
        customers={"C": Customer(id="C", name="C")},
        invoices={
            "I": Invoice(
                id="I",
                customer="C",
                date=date(2026, 1, 10),
                due=date(2026, 1, 31),
                amount=Decimal("100.00"),
            )
        },
        payments=(
            Payment(
                id="P",
                customer="C",
                date=date(2026, 3, 5),
                amount=Decimal("40.00"),
            ),
        ),
        adjustments=(),
        contacts=(),
    )
    view = ledger.view(date(2026, 3, 31))
    spans = [
        Period(date(2026, 1, 1), date(2026, 1, 31), "Jan"),
        Period(date(2026, 2, 1), date(2026, 2, 28), "Feb"),
        Period(date(2026, 3, 1), date(2026, 3, 31), "Mar"),
    ]
    jan, feb, mar = collection.roll_forward(view, settle(view), spans)[("USD", None)]
    assert (jan.closing_current, jan.oldest_days, jan.due) == (
        Decimal("100.00"),
        None,
        Decimal("100.00"),
    )
    assert (feb.closing_current, feb.oldest_days, feb.due) == (
        ZERO,
        28,
        Decimal("100.00"),
    )
    assert (mar.collected, mar.closing, mar.oldest_days) == (
        Decimal("40.00"),
        Decimal("60.00"),
        59,
    )
    assert mar.days_to_pay_weighted == Decimal("40.00") * 54
    assert mar.days_late_weighted == Decimal("40.00") * 33
