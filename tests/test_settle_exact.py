"""`arledger.settle.settle` returns exactly the Decimals, objects and order of
docs/columnar-kernel.md §4.3, which the oracle's comparison cannot see.

tests/test_settle_oracle.py compares amounts as numbers, so a kernel that
wrote 30 where the record says 30.00, or 20 where it must compute 20.00,
would pass it; reports print those amounts as they are. The kernel is to be
rewritten over columns (docs/columnar-kernel.md; this file is step 1 of its
§5), and its results must stay byte for byte what they are today. So, on the oracle's
generated views and for each of `history=False`, `history=True, paid=False`
and `history=True, paid=True`, this file holds that:

- an amount the settlement passes on from a record is that record's own
  Decimal (`as_tuple()` equal: 30.00 is not 30), and an amount it computes
  has the currency's minor unit as exponent (`0.00`, `14.50`; JPY `700`;
  KWD `10.250`), by the rules of §4.3's table, written out on the oracle's
  replay in `ExactEngine`;
- each tuple of `Settlement.discounts` is (`is`) one of `applications`:
  statements and the journal tell discounts apart by `id()`;
- every field of Item, Application and Credit has its declared type;
- the credits still waiting for an invoice come out, per account, after the
  unapplied ones, grouped by invoice in the order each was first named.

Hand-written ledgers below show the exponent rules on amounts written `30`,
`30.0` and `30.00`, in yen and in dinars.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from arledger.ledger import LedgerView
from arledger.model import Adjustment, Customer, Discount, Instalment, Invoice, Payment
from arledger.money import minor_units
from arledger.settle import (
    EARLY_PAYMENT,
    Application,
    Credit,
    Item,
    Settlement,
    payment_ref,
    settle,
)

from . import reference_settle as oracle
from .test_properties import Gen, ledgers
from .test_settle_oracle import (
    ORACLE,
    assert_settles_alike,
    assert_valid,
    d,
    day,
    draw_view,
    varied_ledgers,
    with_owners,
)

# Each example settles a view three ways and replays it once more in Python.
EXACT = settings(ORACLE, max_examples=150)


# ------------------------------------------------------- the rules of §4.3


def computed(amount: Decimal, currency: str) -> Decimal:
    """An amount the kernel computes: exponent minus the currency's minor
    units (`Decimal("0E-2")` is `0.00`)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)))


def made(chunk: Any) -> Any:
    """A chunk with its `amount` as made and its `own` Decimal (None: none).
    The oracle makes a payment's or adjustment's chunk with only `left`, the
    record's amount itself, until something is taken from it; a chunk set
    aside for an invoice is given both when it is made (`receive_for`)."""
    if not hasattr(chunk, "own"):
        chunk.amount = chunk.own = chunk.left
    return chunk


class ExactEngine(oracle._Engine):
    """The oracle's replay, each amount it hands on the exact Decimal §4.3
    says the kernel returns. A work's `open` and a chunk's `left` stay the
    record's object until something is applied, and are computed after.

    - An application covering the whole of a work nothing was applied to
      yet is the work's own amount (the invoice's or instalment's); else
      the chunk's own when equal to the chunk's amount; else computed.
    - A chunk's own is its payment's or adjustment's amount; set aside for
      an invoice not issued yet, the allocation's when the share is the
      whole allocation, else the record's when the share is all of it, else
      none.
    - An early-payment discount closing a work nothing was applied to is
      the work's own amount; else computed.
    """

    def receive_for(self, account, chunk, invoice_id, limit, day) -> None:
        made(chunk)
        if invoice_id in account.items:
            super().receive_for(account, chunk, invoice_id, limit, day)
            return
        share = chunk.left if limit is None else min(limit, chunk.left)
        if share <= 0:
            return
        chunk.left = computed(chunk.left - share, account.currency)
        waiting = oracle._Chunk(chunk.kind, chunk.ref, chunk.date, share, invoice_id)
        if limit is not None and share == limit:
            own = limit
        elif share == chunk.amount:
            own = chunk.own
        else:  # none: a valid ledger never gets here (allocations <= payment)
            own = None
        waiting.amount, waiting.own = share, own
        waiting.left = own if own is not None else computed(share, account.currency)
        account.waiting.setdefault(invoice_id, []).append(waiting)

    def apply(self, account, work, chunk, amount, day) -> None:
        made(chunk)
        if not getattr(work, "touched", False) and amount == work.open:
            exact = work.amount
        elif chunk.own is not None and amount == chunk.amount:
            exact = chunk.own
        else:
            exact = computed(amount, account.currency)
        work.touched = True
        super().apply(account, work, chunk, exact, day)
        work.open = computed(work.open, account.currency)
        chunk.left = computed(chunk.left, account.currency)

    def discount(self, account, invoice, day) -> None:
        works = {work.instalment: work for work in account.items[invoice.id]}
        untouched = [n for n, work in works.items() if not getattr(work, "touched", 0)]
        start = len(self.applications)
        super().discount(account, invoice, day)
        given = []
        for application in self.applications[start:]:
            work = works[application.instalment]
            if work.instalment in untouched:
                exact = work.amount
            else:
                exact = computed(application.amount, account.currency)
            work.touched = True
            work.open = computed(work.open, account.currency)
            given.append(application._replace(amount=exact))
        if given:
            self.applications[start:] = given
            self.discounts[-len(given) :] = given


def exact_reference(view: LedgerView) -> Settlement:
    """The oracle's settlement of `view` with history, every amount the
    exact Decimal of §4.3 (computed with room for 28 digits and more)."""
    with mock.patch.object(oracle, "_Engine", ExactEngine), localcontext() as ctx:
        ctx.prec = 80
        return oracle.reference_settle(view, history=True)


# ----------------------------------------------------------------- checks


NONE = type(None)
FIELD_TYPES: dict[type, dict[str, tuple[type, ...]]] = {
    Item: {
        "invoice": (str,), "instalment": (int, NONE), "customer": (str,),
        "currency": (str,), "date": (date,), "due": (date,), "amount": (Decimal,),
        "open": (Decimal,), "disputed": (bool,), "owner": (str, NONE),
    },
    Application: {
        "invoice": (str,), "instalment": (int, NONE), "customer": (str,),
        "currency": (str,), "kind": (str,), "ref": (str,), "date": (date,),
        "amount": (Decimal,), "due": (date,), "issued": (date,),
    },
    Credit: {
        "customer": (str,), "currency": (str,), "kind": (str,), "ref": (str,),
        "date": (date,), "amount": (Decimal,), "waiting_for": (str, NONE),
    },
}  # fmt: skip


def assert_field_types(settlement: Settlement) -> None:
    """Each result is of its type, each field of the type declared (exactly:
    a bool is no int, a datetime no date)."""
    lists = {Item: settlement.items, Application: settlement.applications}
    lists[Credit] = settlement.credits
    for kind, results in lists.items():
        fields = FIELD_TYPES[kind]
        assert tuple(fields) == kind._fields
        for result in results:
            assert type(result) is kind, result
            for (field, types), value in zip(fields.items(), result, strict=True):
                assert type(value) in types, (field, result)


def assert_discounts_shared(settlement: Settlement) -> None:
    """The discounts are the early-payment applications themselves, the same
    tuple objects in the same order (statement.py and journal.py pick them
    out of the applications by `id()`)."""
    given = [a for a in settlement.applications if a.ref == EARLY_PAYMENT]
    assert len(given) == len(settlement.discounts)
    assert all(a is b for a, b in zip(given, settlement.discounts, strict=True))


def assert_exactly(got: Settlement, want: Settlement) -> None:
    """Every list in the same order, every field of the same type and equal,
    a Decimal with the same sign, digits and exponent."""
    assert got.history == want.history
    for name in ("items", "applications", "credits", "discounts"):
        found, wanted = getattr(got, name), getattr(want, name)
        assert len(found) == len(wanted), (name, found, wanted)
        for n, (a, b) in enumerate(zip(found, wanted, strict=True)):
            for field, x, y in zip(a._fields, a, b, strict=True):
                assert type(x) is type(y), (f"{name}[{n}]", field, a, b)
                if isinstance(x, Decimal):
                    assert x.as_tuple() == y.as_tuple(), (f"{name}[{n}]", field, a, b)
                else:
                    assert x == y, (f"{name}[{n}]", field, a, b)


def tuples(amounts: Iterable[Decimal | None]) -> set[Any]:
    return {a.as_tuple() for a in amounts if a is not None}


def assert_amounts_are_records_or_computed(view: LedgerView, got: Settlement) -> None:
    """Without the replay: an item's amount is its record's own; any other
    amount is one of the Decimals written in the records it comes from (its
    work's, its payment's or adjustment's or one of the allocations') or has
    the currency's minor unit as exponent."""
    invoices = {i.id: i for i in view.invoices}
    records = {("payment", payment_ref(p)): p for p in view.payments}
    records.update({(a.kind, a.id): a for a in view.adjustments})

    def work_amount(invoice_id: str, instalment: int | None) -> Decimal:
        invoice = invoices[invoice_id]
        if instalment is None:
            return invoice.amount
        return invoice.schedule[instalment - 1].amount

    def written(kind: str, ref: str) -> set[Any]:
        """The record's amount and its allocations': a chunk set aside for
        one invoice keeps the allocation's as its own, waiting or not."""
        record = records.get((kind, ref))
        if record is None:  # an early-payment discount
            return set()
        return tuples([record.amount, *oracle._named(record).values()])

    def own_or_computed(amount: Decimal, currency: str, owns: set[Any]) -> bool:
        exponent = amount.as_tuple().exponent
        return exponent == -minor_units(currency) or amount.as_tuple() in owns

    for item in got.items:
        own = work_amount(item.invoice, item.instalment)
        assert item.amount.as_tuple() == own.as_tuple(), item
        assert own_or_computed(item.open, item.currency, tuples([own])), item
    for a in got.applications:
        owns = tuples([work_amount(a.invoice, a.instalment)]) | written(a.kind, a.ref)
        assert own_or_computed(a.amount, a.currency, owns), a
    for c in got.credits:
        assert own_or_computed(c.amount, c.currency, written(c.kind, c.ref)), c


def assert_waiting_in_order_named(view: LedgerView, got: Settlement) -> None:
    """Per account: credits come together, the unapplied ones first, then
    those waiting for an invoice, grouped by invoice in the order each
    invoice was first named (records in SPEC §2 order, then a payment's
    allocations as written), each group's in the order named."""
    records = {("payment", payment_ref(p)): p for p in view.payments}
    records.update({(a.kind, a.id): a for a in view.adjustments})

    def named_at(credit: Credit) -> tuple[Any, ...]:
        record = records[credit.kind, credit.ref]
        rank = 2 if credit.kind == "payment" else 1  # adjustments first
        order = list(oracle._named(record))
        return (record.date, rank, credit.ref, order.index(credit.waiting_for))

    def in_order_named(waits: list[Credit]) -> list[Credit]:
        """Grouped by invoice, the groups in the order their invoices were
        first named, each group's in the order named."""
        named = sorted(waits, key=named_at)
        rank = {
            invoice: n
            for n, invoice in enumerate(dict.fromkeys(c.waiting_for for c in named))
        }
        return sorted(named, key=lambda credit: rank[credit.waiting_for])

    accounts = [(c.customer, c.currency) for c in got.credits]
    assert accounts == sorted(accounts, key=accounts.index), "an account split"
    for account in dict.fromkeys(accounts):
        mine = [c for c in got.credits if (c.customer, c.currency) == account]
        flags = [c.waiting_for is not None for c in mine]
        assert flags == sorted(flags), ("a waiting credit before an unapplied", mine)
        waits = [c for c in mine if c.waiting_for is not None]
        assert waits == in_order_named(waits), waits


def assert_exactly_settled(view: LedgerView) -> Settlement:
    """`settle(view)` with history and paid items, without paid items, and
    without history: each exactly the exact oracle's (less what it leaves
    out), and each passing the checks above. The settlement with history."""
    want = exact_reference(view)
    lean = replace(want, items=tuple(item for item in want.items if item.open))
    aging = replace(lean, applications=(), discounts=(), history=False)
    cases = (
        (settle(view), want),
        (settle(view, paid=False), lean),
        (settle(view, history=False), aging),
    )
    for got, wanted in cases:
        assert_exactly(got, wanted)
        assert_field_types(got)
        assert_discounts_shared(got)
        assert_amounts_are_records_or_computed(view, got)
        assert_waiting_in_order_named(view, got)
    return cases[0][0]


# ------------------------------------------------------------- properties


@EXACT
@given(data=st.data())
def test_settle_is_exact_on_the_property_ledgers(data):
    """The ledgers of test_properties (cents, USD and EUR), given owners."""
    gen = data.draw(ledgers().flatmap(with_owners), label="ledger")
    assert_exactly_settled(draw_view(data, gen))


@EXACT
@given(data=st.data())
def test_settle_is_exact_on_varied_ledgers(data):
    """Currencies of 0 to 4 decimals, amounts written with fewer or more
    decimals than their currency has, huge amounts, allocations waiting for
    their invoice, anonymous payments."""
    gen = data.draw(varied_ledgers(), label="ledger")
    assert_exactly_settled(draw_view(data, gen))


@EXACT
@given(data=st.data())
def test_settle_is_exact_when_all_cash_comes_before_the_invoices(data):
    """The varied ledgers with their payments moved back, keeping their
    order, to end the day before the first invoice: whatever names an
    invoice waits for it (the allocation's amount its own), and waiting
    credits of several invoices come out in the order each was named."""
    gen = data.draw(varied_ledgers(), label="ledger")
    if gen.payments:
        back = max(p.date for p in gen.payments) - min(i.date for i in gen.invoices)
        back += timedelta(days=1)
        payments = [p.model_copy(update={"date": p.date - back}) for p in gen.payments]
        gen = replace(gen, payments=tuple(payments))
    assert_exactly_settled(draw_view(data, gen))


# ----------------------------------------------------- hand-written ledgers


def exactly_settled(
    invoices=(), payments=(), adjustments=(), *, as_of: date, customers=None
) -> Settlement:
    """The settlement of a small ledger (customer C in USD unless given) as
    of a date: valid, the oracle agreeing, and exact as above."""
    customers = customers or (Customer(id="C", name="C"),)
    gen = Gen(tuple(customers), tuple(invoices), tuple(payments), tuple(adjustments))
    ledger = gen.ledger()
    assert_valid(ledger)
    view = ledger.view(as_of)
    assert_settles_alike(view)
    return assert_exactly_settled(view)


def texts(results: Iterable[Any], *fields: str) -> list[tuple[str, ...]]:
    """Fields of each result as text: `str(Decimal)` shows its exponent."""
    return [tuple(str(getattr(r, f)) for f in fields) for r in results]


def test_usd_amounts_written_30_30_0_and_30_00_keep_their_exponent():
    """An item's amount is its record's (`30`, `30.0`, `30.00`), and so is
    its open while nothing is applied to it (I3's); an application covering
    a whole untouched item is the item's amount, not the payment's (`30`,
    though P1 is `30.0`); one equal to its payment is the payment's (`10`,
    `5.5`); what is computed has cents (`14.50`, `0.00`); a credit nothing
    was taken from is the record's (`7.0`, `2` in EUR)."""
    on = day("2025-01-01")
    invoices = [
        Invoice(id="I1", customer="C", date=on, amount=d("30")),
        Invoice(id="I2", customer="C", date=on + timedelta(1), amount=d("30.0")),
        Invoice(id="I3", customer="C", date=on + timedelta(2), amount=d("30.00")),
    ]
    paid = day("2025-01-10")
    payments = [
        Payment(id="P1", customer="C", date=paid, amount=d("30.0"), invoice="I1"),
        Payment(id="P2", customer="C", date=paid, amount=d("10"), invoice="I2"),
        Payment(id="P3", customer="C", date=paid, amount=d("5.5")),
        Payment(id="P4", customer="D", date=paid, amount=d("7.0")),
        Payment(id="P5", customer="D", date=paid, amount=d("2"), currency="EUR"),
    ]
    customers = [Customer(id="C", name="C"), Customer(id="D", name="D")]
    result = exactly_settled(
        invoices, payments, as_of=day("2025-01-31"), customers=customers
    )
    assert texts(result.items, "invoice", "amount", "open") == [
        ("I1", "30", "0.00"),
        ("I2", "30.0", "14.50"),
        ("I3", "30.00", "30.00"),
    ]
    assert texts(result.applications, "invoice", "ref", "amount") == [
        ("I1", "P1", "30"),
        ("I2", "P2", "10"),
        ("I2", "P3", "5.5"),
    ]
    assert texts(result.credits, "ref", "amount") == [("P4", "7.0"), ("P5", "2")]


def test_yen_computed_amounts_have_no_decimals_and_dinars_three():
    """JPY has no minor unit: computed amounts and zero are whole yen (`700`,
    `0`), while yen written `500.00` stay so where passed on. KWD has three:
    `10.250` and `0.000` computed, `12.5` and `10.25` passed on."""
    customers = [
        Customer(id="J", name="J", currency="JPY"),
        Customer(id="K", name="K", currency="KWD"),
    ]
    on = day("2025-03-01")
    invoices = [
        Invoice(id="J1", customer="J", date=on, amount=d("1000")),
        Invoice(id="J2", customer="J", date=on, amount=d("500.00")),
        Invoice(id="K1", customer="K", date=on, amount=d("12.5")),
    ]
    later = day("2025-03-05")
    payments = [
        Payment(id="P1", customer="J", date=later, amount=d("300"), invoice="J1"),
        Payment(id="P2", customer="J", date=later, amount=d("500.00"), invoice="J2"),
        Payment(id="P3", customer="J", date=later, amount=d("1000")),
        Payment(id="P4", customer="K", date=later, amount=d("2.25"), invoice="K1"),
    ]
    off = Adjustment(
        id="A1", customer="K", date=day("2025-03-06"), amount=d("10.25"),
        kind="write_off", invoice="K1",
    )  # fmt: skip
    result = exactly_settled(
        invoices, payments, [off], as_of=day("2025-03-31"), customers=customers
    )
    assert texts(result.items, "invoice", "amount", "open") == [
        ("J1", "1000", "0"),
        ("J2", "500.00", "0"),
        ("K1", "12.5", "0.000"),
    ]
    assert texts(result.applications, "invoice", "ref", "amount") == [
        ("J1", "P1", "300"),
        ("J2", "P2", "500.00"),
        ("J1", "P3", "700"),
        ("K1", "P4", "2.25"),
        ("K1", "A1", "10.25"),
    ]
    assert texts(result.credits, "ref", "amount") == [("P3", "300")]


def test_a_discount_closing_an_untouched_instalment_is_its_own_and_shared():
    """2/10 on 100: 98 paid in time pays instalment 1 (`98`, whole) and
    earns the discount, which closes instalment 2, untouched: `2.0`, as
    written. On 100.25 paid 98.24, the discount is computed: `2.01`. Each
    discount is the very tuple in the applications."""
    customer = Customer(id="C", name="C", discount=Discount(percent=2, days=10))
    on = day("2025-03-01")
    schedule = (
        Instalment(due=day("2025-03-11"), amount=d("98")),
        Instalment(due=day("2025-04-30"), amount=d("2.0")),
    )
    invoices = [
        Invoice(id="I1", customer="C", date=on, amount=d("100"), schedule=schedule),
        Invoice(id="I2", customer="C", date=on, amount=d("100.25")),
    ]
    paid = day("2025-03-05")
    payments = [
        Payment(id="P1", customer="C", date=paid, amount=d("98.00"), invoice="I1"),
        Payment(id="P2", customer="C", date=paid, amount=d("98.24"), invoice="I2"),
    ]
    result = exactly_settled(
        invoices, payments, as_of=day("2025-03-31"), customers=[customer]
    )
    assert texts(result.applications, "invoice", "instalment", "ref", "amount") == [
        ("I1", "1", "P1", "98"),
        ("I1", "2", EARLY_PAYMENT, "2.0"),
        ("I2", "None", "P2", "98.24"),
        ("I2", "None", EARLY_PAYMENT, "2.01"),
    ]
    assert result.discounts[0] is result.applications[1]
    assert result.discounts[1] is result.applications[3]
    assert texts(result.items, "invoice", "instalment", "open") == [
        ("I1", "1", "0.00"),
        ("I1", "2", "0.00"),
        ("I2", "None", "0.00"),
    ]


def test_waiting_credits_come_by_invoice_in_the_order_first_named():
    """P1 allocates `40` to I9, then `60.0` to I5; P2 names I9 again, P3
    allocates `5.0` of its `5.00` to it. Before either is issued, the
    credits are P0 (unapplied), then I9's (P1's, P2's, P3's: I9 was named
    first), then I5's, each share as written. Once both are issued, each
    whole untouched invoice is paid with its own amount (`50`, `40.00`);
    what exceeds one is computed (`10.00`); a share nothing was taken from
    stays as written, the allocation's when it had one (P2's `25`, P3's
    `5.0`), though it waits no more."""
    p0 = Payment(id="P0", customer="C", date=day("2025-01-01"), amount=d("10"))
    shares = {"I9": d("40"), "I5": d("60.0")}
    p1 = Payment(id="P1", customer="C", date=day("2025-01-02"), amount=d("100.00"),
                 allocations=shares)  # fmt: skip
    p2 = Payment(id="P2", customer="C", date=day("2025-01-03"), amount=d("25"),
                 invoice="I9")  # fmt: skip
    p3 = Payment(id="P3", customer="C", date=day("2025-01-04"), amount=d("5.00"),
                 allocations={"I9": d("5.0")})  # fmt: skip
    payments = [p0, p1, p2, p3]
    issued = day("2025-01-10")
    invoices = [
        Invoice(id="I9", customer="C", date=issued, amount=d("40.00")),
        Invoice(id="I5", customer="C", date=issued, amount=d("50")),
    ]
    before = exactly_settled(invoices, payments, as_of=day("2025-01-09"))
    assert texts(before.credits, "ref", "amount", "waiting_for") == [
        ("P0", "10", "None"),
        ("P1", "40", "I9"),
        ("P2", "25", "I9"),
        ("P3", "5.0", "I9"),
        ("P1", "60.0", "I5"),
    ]
    after = exactly_settled(invoices, payments, as_of=issued)
    assert texts(after.applications, "invoice", "ref", "amount") == [
        ("I5", "P1", "50"),
        ("I9", "P1", "40.00"),
    ]
    assert texts(after.credits, "ref", "amount", "waiting_for") == [
        ("P0", "10", "None"),
        ("P1", "10.00", "None"),
        ("P2", "25", "None"),
        ("P3", "5.0", "None"),
    ]
