"""Lint (SPEC §13) against the plain way: each check that picks the few
records it reads finds what reading every record, written out here as
directly as the rule says it, finds: the same warnings, at the same lines, in
the same order.

Ledgers are written as CSV and loaded (the rows a ledger holds when read),
or made in memory (the models of tests/test_properties.py).
"""

from __future__ import annotations

import operator
import tempfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from arledger import lint
from arledger.api import settlement
from arledger.errors import LedgerError
from arledger.loader import load
from arledger.model import Contact, Payment
from arledger.money import ZERO, grouped
from arledger.promises import promises
from arledger.settle import discount_of, discount_threshold, payment_ref, settle

from .conftest import write_ledger
from .test_properties import (
    AS_OF_END,
    PROPERTY,
    ledgers,
    promises_to_pay,
    record_days,
)

TODAY = date(2026, 10, 31)


# ----------------------------------------------------------- by hand


def duplicates_by_hand(view, settled) -> list[LedgerError]:
    """Each payment of a customer (customers in the order of their first
    payment) against every earlier one of that customer's, in date order (file
    order within a day)."""
    ledger = view.ledger
    currency = ledger.currency_of
    found = []
    for customer in dict.fromkeys(p.customer for p in view.payments):
        theirs = sorted(
            (p for p in view.payments if p.customer == customer), key=lambda p: p.date
        )
        for k, payment in enumerate(theirs):
            earlier = theirs[:k]
            same = [
                q
                for q in earlier
                if currency(q) == currency(payment) and q.amount == payment.amount
            ]
            ref = payment_ref(payment)
            twin, reason = None, ""
            if same and (payment.date - same[-1].date).days <= 3:
                twin = same[-1]
                days = (payment.date - twin.date).days
                reason = f"same amount {days} day{'s' if days != 1 else ''} apart"
            else:
                for invoice in payment.targets():
                    naming = [q for q in same if invoice in q.targets()]
                    paid_it = any(
                        a.kind == "payment"
                        and a.customer == customer
                        and a.ref == ref
                        and a.invoice == invoice
                        for a in settled.applications
                    )
                    if naming and not paid_it:
                        twin = naming[0]
                        reason = f"same amount, for {invoice}, which was paid already"
                        break
                else:
                    alike = [
                        q
                        for q in earlier
                        if payment.reference and q.reference == payment.reference
                    ]
                    if alike:
                        twin = alike[0]
                        reason = f"same reference {payment.reference!r}"
            if reason:
                amount = grouped(payment.amount, currency(payment))
                found.append(
                    warning(
                        payment.source,
                        f"payment {ref} of {customer} ({currency(payment)} "
                        f"{amount}) looks like a duplicate of {payment_ref(twin)} "
                        f"of {twin.date.isoformat()} ({reason})",
                    )
                )
    return found


def forgotten_by_hand(view, settled) -> list[LedgerError]:
    """Every promise, broken more than 14 days ago, with no contact of its
    customer after its date."""
    found = []
    for promise in promises(view, settled):
        age = (view.as_of - promise.due).days
        since = [
            c
            for c in view.contacts
            if c.customer == promise.customer and c.date > promise.due
        ]
        if promise.status == "broken" and age > 14 and not since:
            found.append(
                warning(
                    promise.contact.source,
                    f"{promise.customer}'s promise to pay by "
                    f"{promise.due.isoformat()} was broken {age} days ago and "
                    "nobody has been in touch since",
                )
            )
    return found


def unreachable_by_hand(view, settled) -> list[LedgerError]:
    owing = sorted({item.customer for item in settled.items if item.open > 0})
    customers = view.ledger.customers
    return [
        warning(
            customers[c].source,
            f"customer {c} has open items and no email, phone or address: no "
            "letter or statement can reach it",
        )
        for c in owing
        if c in customers
        and not (customers[c].email or customers[c].phone or customers[c].address)
    ]


def unearned_by_hand(view, settled) -> list[LedgerError]:
    ledger = view.ledger
    given_to = {a.invoice for a in settled.discounts}
    found = []
    for invoice_id in sorted({item.invoice for item in settled.items}):
        still = sum(
            (i.open for i in settled.items if i.invoice == invoice_id and i.open > 0),
            start=ZERO,
        )
        invoice = ledger.invoices[invoice_id]
        discount = discount_of(invoice, ledger.customers)
        if not still or invoice_id in given_to or discount is None:
            continue
        currency = ledger.currency_of(invoice)
        if invoice.amount - still != discount_threshold(
            invoice.amount, discount, currency
        ):
            continue
        last_day = invoice.date + timedelta(days=discount.days)
        found.append(
            warning(
                invoice.source,
                f"invoice {invoice_id} ({invoice.customer}): "
                f"{currency} {grouped(still, currency)} left open: the "
                f"{discount.percent.normalize():f}% discount was deducted after "
                f"its window ended on {last_day.isoformat()} (unearned; ask for "
                "it or credit it)",
            )
        )
    return found


def future_by_hand(view) -> list[LedgerError]:
    ledger = view.ledger
    found = []
    for kind, records in (
        ("invoice", ledger.invoices.values()),
        ("payment", ledger.payments),
        ("adjustment", ledger.adjustments),
        ("contact", ledger.contacts),
        ("plan", ledger.plans),
        ("confirmation", ledger.confirmations),
    ):
        for record in records:
            if record.date > view.as_of:
                if kind == "payment":
                    ref = payment_ref(record)
                else:
                    ref = getattr(record, "id", None)  # a contact has none
                named = f"{kind} {ref}" if ref else kind
                found.append(
                    warning(
                        record.source,
                        f"{named} is dated {record.date.isoformat()}, after the "
                        f"date checked ({view.as_of.isoformat()}: today, or "
                        "--as-of)",
                    )
                )
    return found


def warning(source, message: str) -> LedgerError:
    return LedgerError(source, message, warning=True)


# ----------------------------------------------------------- duplicates


INVOICES_OF = {"C1": [None, "I1", "I2"], "C2": [None, "I3"], "C3": [None]}
# Equal amounts written three ways, and two that differ in their 19th digit
# only (which a float would not tell apart).
AMOUNTS = [
    "10.00",
    "10",
    "10.0",
    "20.00",
    "30.00",
    "10000000000000000.01",
    "10000000000000000.02",
]


@st.composite
def payments_files(draw):
    """Payments that are often alike: three customers, a few amounts, a few
    days, two references (one written with spaces around it, both given by
    more than one customer), three invoices; some payments without an id
    (their ref is FILE:LINE), some in a second currency (naming no invoice)."""
    lines = []
    for n in range(draw(st.integers(0, 14))):
        customer = draw(st.sampled_from(sorted(INVOICES_OF)))
        day = draw(st.integers(1, 12))
        amount = draw(st.sampled_from(AMOUNTS))
        payment_id = draw(st.sampled_from([f"P{n}", f"P{n}", ""]))
        invoice = draw(st.sampled_from(INVOICES_OF[customer])) or ""
        currency = "" if invoice else draw(st.sampled_from(["", "", "EUR"]))
        reference = draw(st.sampled_from(["", "W1", " W1 ", "W2"]))
        fields = [payment_id, customer, f"2026-09-{day:02d}", amount, invoice]
        lines.append(",".join([*fields, currency, reference]) + "\n")
    return "id,customer,date,amount,invoice,currency,reference\n" + "".join(lines)


@settings(max_examples=200, deadline=None)
@given(payments=payments_files())
def test_duplicate_payments_are_those_found_by_hand(payments):
    with tempfile.TemporaryDirectory() as tmp:
        directory = write_ledger(
            Path(tmp) / "l",
            customers="""\
            - {id: C1, name: One}
            - {id: C2, name: Two}
            - {id: C3, name: Three}
            """,
            invoices="""\
            - {id: I1, customer: C1, date: 2026-08-01, amount: 20.00}
            - {id: I2, customer: C1, date: 2026-08-02, amount: 10.00}
            - {id: I3, customer: C2, date: 2026-08-03, amount: 30.00}
            """,
            **{"payments.csv": payments},
        )
        ledger, errors = load(directory)
    assert [e for e in errors if not e.warning] == []
    view = ledger.view(TODAY)
    settled = settlement(view)
    assert lint.duplicate_payments(view, settled) == duplicates_by_hand(view, settled)


@st.composite
def with_look_alikes(draw, gen):
    """`gen` with some payments given again (a new id, the same amount and
    invoices, a few days later or much later), and some bank references."""
    payments = list(gen.payments)
    for k in range(draw(st.integers(0, 6)) if payments else 0):
        first = draw(st.sampled_from(payments))
        later = timedelta(days=draw(st.sampled_from([0, 1, 3, 4, 40])))
        payments.append(
            first.model_copy(update={"id": f"D{k}", "date": first.date + later})
        )
    payments = [
        p.model_copy(
            update={"reference": draw(st.sampled_from([None, None, "W1", "W2"]))}
        )
        for p in payments
    ]
    return replace(gen, payments=tuple(draw(st.permutations(payments))))


@PROPERTY
@given(gen=ledgers(), data=st.data())
def test_duplicates_in_memory_are_those_found_by_hand(gen, data):
    gen = data.draw(with_look_alikes(gen))
    view = gen.ledger().view(data.draw(record_days(gen)))
    settled = settle(view)
    assert lint.duplicate_payments(view, settled) == duplicates_by_hand(view, settled)


# ----------------------------------------------------------- the other checks


@st.composite
def logged(draw, gen):
    """`gen`'s ledger with promises to pay and other contacts, and customers
    of whom some can be reached."""
    contacts = list(draw(promises_to_pay(gen)))
    for _ in range(draw(st.integers(0, 4))):
        contacts.append(
            Contact(
                customer=draw(st.sampled_from(gen.customers)).id,
                date=draw(record_days(gen)),
                channel="email",
            )
        )
    reach = st.sampled_from(
        [{}, {}, {"email": "a@b.example"}, {"phone": "1"}, {"address": "1 Main St"}]
    )
    customers = tuple(c.model_copy(update=draw(reach)) for c in gen.customers)
    ledger = replace(gen, customers=customers).ledger()
    return replace(ledger, contacts=tuple(draw(st.permutations(contacts))))


@PROPERTY
@given(gen=ledgers(), data=st.data())
def test_forgotten_promises_are_those_found_by_hand(gen, data):
    """Some days checked are 14 or 15 days after a promise's date."""
    ledger = data.draw(logged(gen))
    days = record_days(gen)
    dues = sorted({c.promise_date for c in ledger.contacts if c.promise_date})
    if dues:
        after = st.sampled_from([timedelta(days=14), timedelta(days=15)])
        days = st.one_of(days, st.builds(operator.add, st.sampled_from(dues), after))
    view = ledger.view(data.draw(days))
    settled = settle(view)
    assert lint.forgotten_promises(view, settled) == forgotten_by_hand(view, settled)


@PROPERTY
@given(gen=ledgers(), data=st.data())
def test_unreachable_customers_are_those_found_by_hand(gen, data):
    ledger = data.draw(logged(gen))
    view = ledger.view(data.draw(record_days(gen)))
    settled = settle(view)
    assert lint.unreachable_customers(view, settled) == unreachable_by_hand(
        view, settled
    )


@st.composite
def with_late_deductions(draw, gen):
    """`gen` with payments of some invoices on discount terms less their
    discount, made after the window or within it."""
    ledger = gen.ledger()
    offered = [
        (invoice, discount)
        for invoice in gen.invoices
        if (discount := discount_of(invoice, ledger.customers)) is not None
    ]
    payments = list(gen.payments)
    for k in range(draw(st.integers(0, 3)) if offered else 0):
        invoice, discount = draw(st.sampled_from(offered))
        currency = ledger.currency_of(invoice)
        net = discount_threshold(invoice.amount, discount, currency)
        if net <= 0:
            continue
        late = draw(st.sampled_from([-1, 0, 1, 20, 20]))  # days after the window
        payments.append(
            Payment(
                id=f"L{k}",
                customer=invoice.customer,
                date=invoice.date + timedelta(days=discount.days + late),
                amount=net,
                currency=currency,
                invoice=invoice.id,
            )
        )
    return replace(gen, payments=tuple(payments))


@PROPERTY
@given(gen=ledgers(), data=st.data())
def test_unearned_discounts_are_those_found_by_hand(gen, data):
    gen = data.draw(with_late_deductions(gen))
    view = gen.ledger().view(data.draw(st.one_of(record_days(gen), st.just(AS_OF_END))))
    settled = settle(view)
    assert lint.unearned_discounts(view, settled) == unearned_by_hand(view, settled)


@PROPERTY
@given(gen=ledgers(), data=st.data())
def test_future_records_are_those_found_by_hand(gen, data):
    """Whatever the view leaves out besides (a customer, a currency)."""
    ledger = data.draw(logged(gen))
    customers = data.draw(
        st.one_of(st.none(), st.sets(st.sampled_from(sorted(ledger.customers))))
    )
    currency = data.draw(st.sampled_from([None, "USD", "EUR"]))
    view = ledger.view(
        data.draw(record_days(gen)), customers=customers, currency=currency
    )
    assert lint.future_records(view, settle(view)) == future_by_hand(view)


def test_the_same_as_by_hand_on_the_lint_ledger(tmp_path):
    """The hand-worked ledger of tests/test_lint.py, on days around its
    records: every check agrees with the plain way."""
    from .test_lint import LEDGER

    ledger, errors = load(write_ledger(tmp_path / "l", **LEDGER))
    assert [e for e in errors if not e.warning] == []
    for day in (date(2026, 9, 1), date(2026, 10, 15), TODAY, date(2027, 1, 1)):
        view = ledger.view(day)
        settled = settlement(view)
        assert lint.duplicate_payments(view, settled) == duplicates_by_hand(
            view, settled
        )
        for check, by_hand in (
            (lint.forgotten_promises, forgotten_by_hand),
            (lint.unreachable_customers, unreachable_by_hand),
            (lint.unearned_discounts, unearned_by_hand),
        ):
            assert check(view, settled) == by_hand(view, settled)
        assert lint.future_records(view, settled) == future_by_hand(view)
