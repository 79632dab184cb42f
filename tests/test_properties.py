"""Hypothesis properties of payment application and aging (SPEC §2, STYLE §10).

Ledgers are generated in memory (no files): one to four customers (some on
early-payment terms), up to fifteen invoices (some due-dated, some disputed,
some with a schedule, some with their own discount), up to fifteen payments
(unallocated, naming one invoice, or split by `allocations`) and up to five
adjustments. Every assertion is on `Decimal`, to the cent.

Lead decision (deviates from SPEC on purpose): automatic (oldest-first)
application skips disputed invoices; only a payment or adjustment that names a
disputed invoice is applied to it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from arledger.ledger import Ledger
from arledger.model import (
    Adjustment,
    Contact,
    Customer,
    Discount,
    Instalment,
    Invoice,
    Payment,
    Settings,
)
from arledger.reports import aging
from arledger.rows import ADJUSTMENT
from arledger.settle import (
    Settlement,
    discount_of,
    discount_threshold,
    settle,
)

ZERO = Decimal(0)
CENT = Decimal("0.01")
KINDS = ("payment", "credit_note", "write_off", "discount")
BASE = Settings()  # base currency USD, terms 30, buckets 30/60/90/120

WINDOW_START = date(2025, 1, 1)
WINDOW_END = date(2026, 12, 31)
AS_OF_END = date(2027, 6, 30)  # as-of dates may fall after every record

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

amounts = st.decimals(
    places=2,
    min_value=Decimal("0.01"),
    max_value=Decimal("100000"),
    allow_nan=False,
    allow_infinity=False,
)
window = st.dates(WINDOW_START, WINDOW_END)
as_of_dates = st.dates(WINDOW_START - timedelta(days=30), AS_OF_END)
# SPEC §9: mostly none; else a few usual terms (0 days: the invoice date only).
discounts = st.one_of(
    st.none(),
    st.none(),
    st.builds(
        Discount,
        percent=st.sampled_from(
            [Decimal("1"), Decimal("2"), Decimal("2.5"), Decimal("10")]
        ),
        days=st.sampled_from([0, 10, 30]),
    ),
)
limits_strategy = st.lists(
    st.integers(1, 400), min_size=1, max_size=6, unique=True
).map(lambda xs: tuple(sorted(xs)))


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class Gen:
    """A generated ledger as plain lists, easy to filter, extend and shuffle."""

    customers: tuple[Customer, ...]
    invoices: tuple[Invoice, ...]
    payments: tuple[Payment, ...]
    adjustments: tuple[Adjustment, ...]

    def ledger(self) -> Ledger:
        return Ledger(
            root=Path("."),
            settings=BASE,
            customers={c.id: c for c in self.customers},
            invoices={i.id: i for i in self.invoices},
            payments=tuple(self.payments),
            adjustments=tuple(self.adjustments),
            contacts=(),
        )

    def until(self, day: date) -> Gen:
        """The same ledger with every record dated after `day` removed.

        A payment or adjustment without a currency takes it from the invoices it
        names; one naming an invoice dated after `day` would lose it with the cut
        (and would name an unknown invoice, which the loader refuses), so each
        kept record's currency is first written out as the full ledger reads it.
        """
        ledger = self.ledger()

        def pin(record):
            return record.model_copy(update={"currency": ledger.currency_of(record)})

        return replace(
            self,
            invoices=tuple(i for i in self.invoices if i.date <= day),
            payments=tuple(pin(p) for p in self.payments if p.date <= day),
            adjustments=tuple(pin(a) for a in self.adjustments if a.date <= day),
        )


def invoice_currency(invoice: Invoice, customers: dict[str, Customer]) -> str:
    """What the engine will use: the invoice's, else the customer's, else USD."""
    return invoice.currency or customers[invoice.customer].currency or BASE.currency


def _clip(day: date) -> date:
    return min(max(day, WINDOW_START), WINDOW_END)


def _near(draw, anchor: date | None, after: date | None) -> date:
    """A date in the window, often close to `anchor`, always after `after` if given."""
    if anchor is not None and draw(st.booleans()):
        day = _clip(anchor + timedelta(days=draw(st.integers(-60, 120))))
    else:
        day = draw(window)
    if after is not None and day <= after:
        day = after + timedelta(days=draw(st.integers(1, 120)))
    return day


def _split(draw, amount: Decimal, parts: int) -> list[Decimal] | None:
    """`parts` positive amounts adding up exactly to `amount` (None if too small)."""
    cents = int(amount / CENT)
    if cents < parts:
        return None
    cuts = sorted(
        draw(st.sets(st.integers(1, cents - 1), min_size=parts - 1, max_size=parts - 1))
    )
    bounds = [0, *cuts, cents]
    return [Decimal(b - a) * CENT for a, b in zip(bounds, bounds[1:], strict=False)]


def draw_invoices(draw, customers, n: int, prefix: str, after: date | None):
    invoices = []
    for k in range(n):
        customer = draw(st.sampled_from(customers))
        day = _near(draw, None, after)
        amount = draw(amounts)
        # Mostly the customer's currency; now and then an explicit one.
        currency = draw(st.sampled_from([None] * 6 + ["USD", "EUR"]))
        disputed = draw(st.sampled_from([False, False, False, True]))
        schedule = None
        due = None
        shape = draw(st.sampled_from(["terms", "due", "schedule"]))
        if shape == "schedule":
            parts = _split(draw, amount, draw(st.integers(2, 3)))
            if parts is not None:
                schedule = tuple(
                    Instalment(
                        due=day + timedelta(days=draw(st.integers(0, 200))),
                        amount=part,
                    )
                    for part in parts
                )
                if draw(st.booleans()):
                    due = max(i.due for i in schedule)  # allowed when it agrees
        elif shape == "due":
            due = day + timedelta(days=draw(st.integers(0, 120)))
        invoices.append(
            Invoice(
                id=f"{prefix}I{k}",
                customer=customer.id,
                date=day,
                due=due,
                amount=amount,
                currency=currency,
                disputed=disputed,
                schedule=schedule,
                discount=draw(st.one_of(st.none(), st.none(), discounts)),
            )
        )
    return invoices


def draw_payments(draw, customers, invoices, n: int, prefix: str, after: date | None):
    by_id = {c.id: c for c in customers}
    payments = []
    for k in range(n):
        mode = draw(st.sampled_from(["free", "invoice", "allocations"]))
        if mode != "free" and not invoices:
            mode = "free"
        invoice = allocations = None
        if mode == "free":
            customer = draw(st.sampled_from(customers)).id
            day = _near(draw, None, after)
            amount = draw(amounts)
            currency = draw(st.sampled_from([None, None, None, "USD", "EUR"]))
        else:
            first = draw(st.sampled_from(invoices))
            customer = first.customer
            currency = invoice_currency(first, by_id)
            day = _near(draw, first.date, after)  # may precede the invoice
            if mode == "invoice":
                invoice = first.id
                choices = [st.just(first.amount), amounts]
                terms = first.discount or by_id[customer].discount
                if terms is not None:  # what a customer taking it pays
                    net = discount_threshold(first.amount, terms, currency)
                    if net > 0:
                        choices.append(st.just(net))
                amount = draw(st.one_of(*choices))
            else:
                same = [
                    i
                    for i in invoices
                    if i.id != first.id
                    and i.customer == customer
                    and invoice_currency(i, by_id) == currency
                ]
                named = [first]
                if same and draw(st.booleans()):
                    named.append(draw(st.sampled_from(same)))
                allocations = {
                    i.id: draw(st.one_of(st.just(i.amount), amounts)) for i in named
                }
                extra = draw(st.one_of(st.just(ZERO), amounts))
                amount = sum(allocations.values(), ZERO) + extra
            # The currency is that of the invoices named: given or inferred.
            currency = draw(st.sampled_from([None, currency]))
        payments.append(
            Payment(
                id=f"{prefix}P{k}",
                customer=customer,
                date=day,
                amount=amount,
                currency=currency,
                invoice=invoice,
                allocations=allocations,
            )
        )
    return payments


def draw_adjustments(
    draw, customers, invoices, n: int, prefix: str, after: date | None
):
    by_id = {c.id: c for c in customers}
    adjustments = []
    for k in range(n):
        kind = draw(st.sampled_from(["credit_note", "write_off", "discount"]))
        if invoices and draw(st.booleans()):
            target = draw(st.sampled_from(invoices))
            customer = target.customer
            invoice = target.id
            currency = draw(st.sampled_from([None, invoice_currency(target, by_id)]))
            day = _near(draw, target.date, after)
            amount = draw(st.one_of(st.just(target.amount), amounts))
        else:
            customer = draw(st.sampled_from(customers)).id
            invoice = None
            currency = draw(st.sampled_from([None, None, "USD", "EUR"]))
            day = _near(draw, None, after)
            amount = draw(amounts)
        adjustments.append(
            Adjustment(
                id=f"{prefix}A{k}",
                customer=customer,
                date=day,
                amount=amount,
                kind=kind,
                invoice=invoice,
                currency=currency,
            )
        )
    return adjustments


@st.composite
def ledgers(draw) -> Gen:
    customers = tuple(
        Customer(
            id=f"C{k}",
            name=f"Customer {k}",
            currency=draw(st.sampled_from(["USD", "USD", "EUR", None])),
            terms=draw(st.one_of(st.none(), st.integers(0, 90))),
            discount=draw(discounts),
        )
        for k in range(draw(st.integers(1, 4)))
    )
    invoices = draw_invoices(draw, customers, draw(st.integers(0, 15)), "", None)
    payments = draw_payments(
        draw, customers, invoices, draw(st.integers(0, 15)), "", None
    )
    adjustments = draw_adjustments(
        draw, customers, invoices, draw(st.integers(0, 5)), "", None
    )
    return Gen(customers, tuple(invoices), tuple(payments), tuple(adjustments))


@st.composite
def with_later_records(draw, gen: Gen, after: date) -> Gen:
    """`gen` plus random records all dated after `after` (ids prefixed X)."""
    new_invoices = draw_invoices(
        draw, gen.customers, draw(st.integers(0, 6)), "X", after
    )
    pool = [*gen.invoices, *new_invoices]
    new_payments = draw_payments(
        draw, gen.customers, pool, draw(st.integers(0, 6)), "X", after
    )
    new_adjustments = draw_adjustments(
        draw, gen.customers, pool, draw(st.integers(0, 3)), "X", after
    )
    return Gen(
        gen.customers,
        (*gen.invoices, *new_invoices),
        (*gen.payments, *new_payments),
        (*gen.adjustments, *new_adjustments),
    )


# --------------------------------------------------------------------------- helpers


def run(gen: Gen, as_of: date, **kwargs):
    ledger = gen.ledger()
    view = ledger.view(as_of)
    settlement = settle(view)
    return ledger, view, settlement, aging.compute(view, settlement, **kwargs)


def expected_bucket(days: int, limits: tuple[int, ...], basis: str) -> int:
    """SPEC §2 read independently: Current holds days <= 0; 1-30 holds 1..30."""
    offset = 0
    if basis == "due":
        if days <= 0:
            return 0
        offset = 1
    for n, limit in enumerate(limits):
        if days <= limit:
            return offset + n
    return offset + len(limits)


def from_records(settlement: Settlement) -> list:
    """The applications of payments and adjustments: all but the early-payment
    discounts the engine gave (SPEC §9), which no record stands behind."""
    given = {id(a) for a in settlement.discounts}
    return [a for a in settlement.applications if id(a) not in given]


def applied_by_ref(settlement: Settlement) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for application in from_records(settlement):
        totals[application.ref] += application.amount
    return totals


def net_by_account(result: aging.AgingResult) -> dict[tuple[str, str], Decimal]:
    """(customer, currency) -> open items minus unapplied cash, from the aging."""
    return {
        (row.customer, section.currency): row.total
        for section in result.sections
        for row in section.customers
    }


# --------------------------------------------------------------------------- properties


@PROPERTY
@given(
    gen=ledgers(),
    as_of=as_of_dates,
    basis=st.sampled_from(["due", "invoice"]),
    limits=st.one_of(st.none(), limits_strategy),
)
def test_buckets_add_up_to_totals(gen, as_of, basis, limits):
    """1. Row: buckets + unapplied = total; section totals = sum of rows."""
    _, view, settlement, result = run(gen, as_of, basis=basis, limits=limits)
    limits = limits or BASE.aging.buckets
    assert result.limits == tuple(limits)
    assert len(result.labels) == len(limits) + (2 if basis == "due" else 1)
    open_by_account: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for item in settlement.items:
        open_by_account[(item.customer, item.currency)] += item.open
    unapplied = settlement.unapplied()
    for section in result.sections:
        rows = section.customers
        for row in rows:
            assert len(row.buckets) == len(result.labels)
            assert sum(row.buckets, ZERO) + row.unapplied == row.total, row
            key = (row.customer, section.currency)
            assert sum(row.buckets, ZERO) == open_by_account[key]
            assert row.unapplied == -unapplied.get(key, ZERO)
            for aged in row.items:
                assert aged.bucket == expected_bucket(aged.days, limits, basis)
                assert row.buckets[aged.bucket] >= aged.item.open
        for n in range(len(result.labels)):
            assert section.buckets[n] == sum((r.buckets[n] for r in rows), ZERO)
        assert section.unapplied == sum((r.unapplied for r in rows), ZERO)
        assert section.total == sum((r.total for r in rows), ZERO)
        assert section.total == sum(section.buckets, ZERO) + section.unapplied
    # Every account with an open item or credit has a row, and only those.
    with_rows = set(net_by_account(result))
    expected = {k for k, v in open_by_account.items() if v} | {
        k for k, v in unapplied.items() if v
    }
    assert with_rows == expected


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates)
def test_items_conserve_their_amount(gen, as_of):
    """2. Per account: sum of amounts = sum of open + sum of applications."""
    _, _, settlement, _ = run(gen, as_of)
    amount: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    still_open: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    applied: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(KINDS, ZERO)
    )
    items = {item.key: item for item in settlement.items}
    assert len(items) == len(settlement.items), "an item appears twice"
    for item in settlement.items:
        key = (item.customer, item.currency)
        amount[key] += item.amount
        still_open[key] += item.open
    for application in settlement.applications:
        item = items[(application.invoice, application.instalment)]
        assert (application.customer, application.currency) == (
            item.customer,
            item.currency,
        )
        applied[(item.customer, item.currency)][application.kind] += application.amount
    for key in amount:
        by_kind = applied[key]
        assert amount[key] == still_open[key] + sum(by_kind.values(), ZERO), (
            key,
            by_kind,
        )
    # Each invoice's items add up to the invoice (schedules split it exactly).
    ledger = gen.ledger()
    per_invoice: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for item in settlement.items:
        per_invoice[item.invoice] += item.amount
    for invoice_id, total in per_invoice.items():
        assert total == ledger.invoices[invoice_id].amount


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates)
def test_cash_is_applied_or_left_as_credit(gen, as_of):
    """3. For each payment/adjustment: applied + remaining credit = its amount."""
    _, view, settlement, _ = run(gen, as_of)
    records = {p.id: p for p in view.payments} | {a.id: a for a in view.adjustments}
    applied = applied_by_ref(settlement)
    credit: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for c in settlement.credits:
        assert c.amount > 0, c
        credit[c.ref] += c.amount
    assert set(applied) | set(credit) <= set(records)
    for ref, record in records.items():
        assert applied[ref] + credit[ref] == record.amount, (
            ref,
            applied[ref],
            credit[ref],
        )
    # Kinds follow the record: a payment applies as "payment", an adjustment as its kind.
    for application in from_records(settlement):
        record = records[application.ref]
        expected = record.kind if isinstance(record, ADJUSTMENT) else "payment"
        assert application.kind == expected


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates)
def test_no_negative_or_over_applied_item(gen, as_of):
    """4. 0 <= open <= amount; applications > 0, dated after both records."""
    _, view, settlement, _ = run(gen, as_of)
    for item in settlement.items:
        assert ZERO <= item.open <= item.amount, item
        assert item.date <= as_of
    invoice_date = {i.id: i.date for i in view.invoices}
    record_date = {p.id: p.date for p in view.payments} | {
        a.id: a.date for a in view.adjustments
    }
    named = {p.id: set(p.targets()) for p in view.payments} | {
        a.id: {a.invoice} if a.invoice else set() for a in view.adjustments
    }
    for application in settlement.discounts:
        assert application.amount > 0, application
        assert application.date >= invoice_date[application.invoice], application
    for application in from_records(settlement):
        assert application.amount > 0, application
        assert application.date >= invoice_date[application.invoice], application
        assert application.date >= record_date[application.ref], application
        assert application.date <= as_of
        # SPEC §2 says "the later of the payment's and the invoice's"; cash that
        # waited for a named invoice is freed on that invoice's date, so its
        # excess may be applied (to an older item) on that date instead.
        assert application.date in {
            invoice_date[application.invoice],
            record_date[application.ref],
            *(invoice_date[i] for i in named[application.ref] if i in invoice_date),
        }, application


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates, data=st.data())
def test_later_records_change_nothing(gen, as_of, data):
    """5. Aging as of D: same from the full ledger, the ledger cut at D, and the
    ledger with extra records dated after D."""
    _, _, settlement, full = run(gen, as_of)
    _, _, cut_settlement, cut = run(gen.until(as_of), as_of)
    assert cut == full
    assert sorted(cut_settlement.items, key=lambda i: i.key) == sorted(
        settlement.items, key=lambda i: i.key
    )
    more = data.draw(with_later_records(gen, as_of))
    _, _, more_settlement, extended = run(more, as_of)
    assert extended == full
    assert sorted(more_settlement.items, key=lambda i: i.key) == sorted(
        settlement.items, key=lambda i: i.key
    )


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates, data=st.data())
def test_input_order_changes_nothing(gen, as_of, data):
    """6. Shuffling customers, invoices, payments and adjustments changes nothing."""
    shuffled = Gen(
        data.draw(st.permutations(gen.customers)),
        data.draw(st.permutations(gen.invoices)),
        data.draw(st.permutations(gen.payments)),
        data.draw(st.permutations(gen.adjustments)),
    )
    _, _, settlement, result = run(gen, as_of)
    _, _, shuffled_settlement, shuffled_result = run(shuffled, as_of)
    assert shuffled_result == result
    assert sorted(shuffled_settlement.items, key=lambda i: i.key) == sorted(
        settlement.items, key=lambda i: i.key
    )
    assert sorted(shuffled_settlement.applications, key=repr) == sorted(
        settlement.applications, key=repr
    )
    assert sorted(shuffled_settlement.credits, key=repr) == sorted(
        settlement.credits, key=repr
    )


@PROPERTY
@given(gen=ledgers(), first=as_of_dates, second=as_of_dates)
def test_balance_rises_only_by_new_invoices(gen, first, second):
    """7. From as-of D1 to D2 >= D1, open - unapplied grows by at most the amount
    invoiced in (D1, D2]; exactly, by invoiced - received in between."""
    early, late = sorted((first, second))
    ledger, _, _, before = run(gen, early)
    _, _, settled, after = run(gen, late)
    net_before = net_by_account(before)
    net_after = net_by_account(after)
    invoiced: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    received: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for invoice in gen.invoices:
        if early < invoice.date <= late:
            invoiced[(invoice.customer, ledger.currency_of(invoice))] += invoice.amount
    for record in (*gen.payments, *gen.adjustments):
        if early < record.date <= late:
            received[(record.customer, ledger.currency_of(record))] += record.amount
    for gift in settled.discounts:  # SPEC §9: credited without a record
        if early < gift.date <= late:
            received[(gift.customer, gift.currency)] += gift.amount
    for key in set(net_before) | set(net_after) | set(invoiced) | set(received):
        change = net_after.get(key, ZERO) - net_before.get(key, ZERO)
        assert change <= invoiced[key], (key, change, invoiced[key])
        assert change == invoiced[key] - received[key], key


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates)
def test_disputed_items_only_take_named_cash(gen, as_of):
    """8. Disputed items are applied only cash that names their invoice."""
    _, view, settlement, _ = run(gen, as_of)
    named: dict[str, set[str]] = {}
    for payment in view.payments:
        named[payment.id] = set(payment.targets())
    for adjustment in view.adjustments:
        named[adjustment.id] = {adjustment.invoice} if adjustment.invoice else set()
    disputed = {i.id for i in view.invoices if i.disputed}
    assert {i.invoice for i in settlement.items if i.disputed} == disputed
    for application in from_records(settlement):
        if application.invoice in disputed:
            assert application.invoice in named[application.ref], application


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates)
def test_settling_without_history_keeps_open_balances(gen, as_of):
    """9. `settle(view, history=False)` (aging, overdue) gives the same open items,
    in the same order, and the same credits; it drops only paid items and the
    applications."""
    view = gen.ledger().view(as_of)
    full = settle(view)
    lean = settle(view, history=False)
    assert lean.items == tuple(item for item in full.items if item.open)
    assert lean.credits == full.credits
    assert lean.applications == ()
    assert (full.history, lean.history) == (True, False)
    assert aging.compute(view, lean) == aging.compute(view, full)


@PROPERTY
@given(
    gen=ledgers(),
    first=as_of_dates,
    second=as_of_dates,
    currency=st.sampled_from([None, "USD"]),
)
def test_rewinding_a_settlement_gives_the_settlement_of_that_day(
    gen, first, second, currency
):
    """10. The workbook's trend reads earlier month-ends from one settlement:
    `rewind(settle(as of D2), D1)` has the same open items and unapplied cash
    per account as `settle(as of D1)`, and the same aging totals."""
    from arledger.settle import rewind

    early, late = sorted((first, second))
    ledger = gen.ledger()
    late_view = ledger.view(late, currency=currency)
    rewound = rewind(settle(late_view), late_view, early)
    early_view = ledger.view(early, currency=currency)
    direct = settle(early_view, history=False)
    assert {i.key: i.open for i in rewound.items} == {
        i.key: i.open for i in direct.items if i.open
    }
    assert {k: v for k, v in rewound.unapplied().items() if v} == {
        k: v for k, v in direct.unapplied().items() if v
    }
    assert aging.compute(early_view, rewound) == aging.compute(early_view, direct)


@PROPERTY
@given(
    gen=ledgers(),
    days=st.lists(as_of_dates, min_size=1, max_size=6),
    currency=st.sampled_from([None, "USD"]),
)
def test_rewinding_to_many_days_in_one_pass_gives_each_days_settlement(
    gen, days, currency
):
    """10b. The trend's one pass, `rewind_each(settle(as of D), [D1..Dn])`,
    gives for each Di what `rewind` gives for it alone and what `settle` as of
    Di gives: the same open items (in the order of the settlement read back),
    the same unapplied cash per customer, currency and kind, the same aging."""
    from arledger.settle import rewind, rewind_each

    *earlier, late = sorted(days)
    ledger = gen.ledger()
    late_view = ledger.view(late, currency=currency)
    settled = settle(late_view)
    swept = list(rewind_each(settled, late_view, earlier))
    assert len(swept) == len(earlier)
    for day, rewound in zip(earlier, swept, strict=True):
        assert rewound == rewind(settled, late_view, day)
        assert rewound.as_of == day and not rewound.history
        keys = [i.key for i in settled.items]
        assert [i.key for i in rewound.items] == sorted(
            (i.key for i in rewound.items), key=keys.index
        )
        day_view = ledger.view(day, currency=currency)
        direct = settle(day_view, history=False)
        assert {i.key: i for i in rewound.items} == {
            i.key: i for i in direct.items if i.open
        }
        by_kind: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
        for credit in direct.credits:
            by_kind[(credit.customer, credit.currency, credit.kind)] += credit.amount
        assert {
            (c.customer, c.currency, c.kind): c.amount for c in rewound.credits
        } == {k: v for k, v in by_kind.items() if v}
        assert aging.compute(day_view, rewound) == aging.compute(day_view, direct)


def record_days(gen: Gen) -> st.SearchStrategy[date]:
    """Any day, or (as often) the day of one of `gen`'s records, where an
    application is: a promise made, due or judged on such a day tells `<`
    from `<=`."""
    days = sorted({r.date for r in (*gen.invoices, *gen.payments, *gen.adjustments)})
    return st.one_of(as_of_dates, st.sampled_from(days)) if days else as_of_dates


@st.composite
def promises_to_pay(draw, gen: Gen) -> tuple[Contact, ...]:
    """Up to eight promises of `gen`'s customers, some naming an invoice."""
    found = []
    for _ in range(draw(st.integers(0, 8))):
        customer = draw(st.sampled_from(gen.customers))
        own = [i.id for i in gen.invoices if i.customer == customer.id]
        made = draw(record_days(gen))
        due = draw(st.one_of(record_days(gen), st.integers(0, 60).map(
            lambda days, made=made: made + timedelta(days=days))))  # fmt: skip
        found.append(
            Contact(
                customer=customer.id,
                date=made,
                channel="phone",
                promise_date=max(due, made),
                promise_amount=draw(st.one_of(st.none(), amounts)),
                invoice=draw(st.one_of(st.none(), st.sampled_from(own)))
                if own
                else None,
            )
        )
    return tuple(found)


@PROPERTY
@given(gen=ledgers(), data=st.data())
def test_a_promise_counts_the_cash_applied_from_its_date(gen, data):
    """10c. A promise reads the settlement's payments applied to its customer
    (to its invoice, when it names one) from the day it was made: `paid` is
    what was applied by its date (and the as-of date), and its status follows
    from that and from what was applied by the as-of date."""
    from arledger.promises import promises

    contacts = data.draw(promises_to_pay(gen))
    as_of = data.draw(record_days(gen))
    ledger = replace(gen.ledger(), contacts=contacts)
    view = ledger.view(as_of)
    settlement = settle(view)
    found = promises(view, settlement)
    assert len(found) == sum(1 for c in contacts if c.date <= as_of)
    for promise in found:
        contact = promise.contact
        cash = [
            a
            for a in settlement.applications
            if a.kind == "payment"
            and a.customer == contact.customer
            and contact.date <= a.date <= as_of
            and (contact.invoice is None or a.invoice == contact.invoice)
        ]
        by_due = sum((a.amount for a in cash if a.date <= contact.promise_date), ZERO)
        since = sum((a.amount for a in cash), ZERO)
        wanted = contact.promise_amount

        def reaches(paid: Decimal, wanted: Decimal | None = wanted) -> bool:
            return paid >= wanted if wanted is not None else paid > 0

        assert str(promise.paid) == str(by_due)
        if reaches(by_due):
            assert promise.status == "kept"
        elif contact.promise_date >= as_of:
            assert promise.status == "open"
        else:
            assert promise.status == ("late" if reaches(since) else "broken")


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates)
def test_discounts_are_earned_in_the_window_and_never_more(gen, as_of):
    """11. SPEC §9: a discount is given only to an invoice with terms, on a day
    of its window, once what records applied to it by then reaches the
    threshold; it closes the invoice, and is never more than its percent."""
    ledger, view, settlement, _ = run(gen, as_of)
    gifts: dict[str, list] = defaultdict(list)
    for application in settlement.discounts:
        assert application.kind == "discount"
        gifts[application.invoice].append(application)
    by_invoice: dict[str, list] = defaultdict(list)
    for application in from_records(settlement):
        by_invoice[application.invoice].append(application)
    open_of: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for item in settlement.items:
        open_of[item.invoice] += item.open
    for invoice_id, parts in gifts.items():
        invoice = ledger.invoices[invoice_id]
        terms = discount_of(invoice, ledger.customers)
        assert terms is not None, invoice_id
        day = parts[0].date
        assert {a.date for a in parts} == {day}
        assert invoice.date <= day <= invoice.date + timedelta(days=terms.days)
        currency = ledger.currency_of(invoice)
        threshold = discount_threshold(invoice.amount, terms, currency)
        paid = sum((a.amount for a in by_invoice[invoice_id] if a.date <= day), ZERO)
        assert paid >= threshold
        assert paid + sum((a.amount for a in parts), ZERO) == invoice.amount
        assert invoice.amount - threshold >= sum((a.amount for a in parts), ZERO)
        assert open_of[invoice_id] == 0


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates)
def test_discounts_are_never_counted_as_collected(gen, as_of):
    """12. Collection counts only payments as collected (SPEC §2, §9): over a
    period holding every record, collected is what payments applied, and the
    discounts (the engine's and adjustments of kind discount) are in credited,
    as `discounts`; payment history (risk, forecast) sees payments only."""
    from arledger.dates import Period
    from arledger.history import payment_history
    from arledger.reports import collection

    ledger, view, settlement, _ = run(gen, as_of)
    start = WINDOW_START - timedelta(days=60)
    if as_of < start:
        return
    period = Period(start, as_of, "all")
    result = collection.compute(view, settlement, period)
    for section in result.sections:
        mine = [a for a in settlement.applications if a.currency == section.currency]
        paid = sum((a.amount for a in mine if a.kind == "payment"), ZERO)
        discounted = sum((a.amount for a in mine if a.kind == "discount"), ZERO)
        total = section.total
        assert total.collected == paid
        assert total.discounts == discounted
        assert total.credited >= total.discounts
    history = payment_history(settlement)
    for customer, record in history.items():
        assert record.collected == sum(
            (
                a.amount
                for a in settlement.applications
                if a.customer == customer and a.kind == "payment"
            ),
            ZERO,
        )


DUE_YESTERDAY = Gen(  # overdue since as-of alone: an episode of one day
    (Customer(id="C0", name="C"),),
    (
        Invoice(
            id="I1",
            customer="C0",
            date=date(2026, 1, 2),
            due=date(2026, 3, 31),
            amount=Decimal("10.00"),
        ),
    ),
    (),
    (),
)


@settings(max_examples=300, deadline=None)
@given(gen=ledgers(), as_of=as_of_dates)
@example(gen=DUE_YESTERDAY, as_of=date(2026, 4, 1))
def test_episode_starts_are_the_merged_overdue_runs_of_every_item(gen, as_of):
    """`dunning.episode_starts` walks only the customers with an item open
    and past due: it gives what SPEC §2 says read over every item, each
    overdue from the day after its due date to the day before its last
    application (still open: to as-of), merged as `episodes_of` merges them
    (an episode is the run that reaches as-of)."""
    from arledger.reports.dunning import episode_starts, episodes_of

    _, view, settlement, _ = run(gen, as_of)
    one = timedelta(days=1)
    last_paid: dict[tuple[str, int | None], date] = {}
    for application in settlement.applications:
        key = (application.invoice, application.instalment)
        last_paid[key] = max(last_paid.get(key, application.date), application.date)
    runs: dict[tuple[str, str], list[tuple[date, date]]] = {}
    for item in settlement.items:
        if item.open > 0:
            end = as_of
        elif item.key in last_paid:
            end = min(last_paid[item.key] - one, as_of)
        else:
            continue
        if item.due + one <= end:
            runs.setdefault((item.customer, item.currency), []).append(
                (item.due + one, end)
            )
    assert episode_starts(settlement) == episodes_of(runs, as_of)
    # Settled without the items paid in full, as `dunning` settles: the same.
    assert episode_starts(settle(view, paid=False)) == episodes_of(runs, as_of)


@PROPERTY
@given(
    gen=ledgers(),
    as_of=as_of_dates,
    data=st.data(),
    currency=st.sampled_from([None, "USD", "EUR"]),
)
def test_a_view_keeps_the_records_its_filters_say(gen, as_of, data, currency):
    """`Ledger.view` keeps, in their order, exactly the records dated on or
    before the as-of, of the customers and currency asked for (contacts: no
    currency of their own) - the filters as one reads them, record by record."""
    ledger = gen.ledger()
    ids = [c.id for c in gen.customers]
    customers = data.draw(st.one_of(st.none(), st.lists(st.sampled_from(ids))))
    view = ledger.view(as_of, customers=customers, currency=currency)

    def wanted(record, by_currency=True):
        return (
            record.date <= as_of
            and (not customers or record.customer in customers)
            and (
                not by_currency
                or currency is None
                or ledger.currency_of(record) == currency
            )
        )

    assert view.invoices == tuple(filter(wanted, ledger.invoices.values()))
    assert view.payments == tuple(filter(wanted, ledger.payments))
    assert view.adjustments == tuple(filter(wanted, ledger.adjustments))
    assert view.contacts == tuple(
        c for c in ledger.contacts if wanted(c, by_currency=False)
    )


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates)
def test_reports_read_alike_without_the_items_paid_in_full(gen, as_of):
    """lint, overdue, forecast, dunning, risk and collection (but by customer
    or owner) settle without the items paid in full (`settle(view,
    paid=False)`): each gives from that settlement what it gives from the one
    with every item."""
    from arledger import lint
    from arledger.dates import Period
    from arledger.reports import collection, dunning, forecast, overdue, risk

    view = gen.ledger().view(as_of)
    full, lean = settle(view), settle(view, paid=False)
    period = Period(as_of.replace(month=1, day=1), as_of, "year to date")
    for by in (None, "month"):
        alike = collection.compute(view, lean, period, by=by)
        assert alike == collection.compute(view, full, period, by=by)
    assert risk.compute(view, lean) == risk.compute(view, full)
    assert overdue.compute(view, lean) == overdue.compute(view, full)
    assert forecast.compute(view, lean) == forecast.compute(view, full)
    assert dunning.compute(view, lean) == dunning.compute(view, full)
    for check in lint.CHECKS:
        assert check(view, lean) == check(view, full), check.__name__
