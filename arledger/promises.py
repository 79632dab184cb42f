"""The collection log (沟通记录): last contacts and promises to pay (承诺付款).

Pure: a view in (records up to as-of), findings out. Used by overdue, risk,
forecast and dunning, so they agree on which promise is open or broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from arledger.ledger import LedgerView
from arledger.model import Contact
from arledger.money import ZERO

PromiseStatus = Literal["kept", "broken", "open"]


@dataclass(frozen=True, slots=True)
class Promise:
    """A promise to pay, judged as of a date.

    A promise is kept when the customer's payments dated from the day it was made
    to its promised date add up to the promised amount (any payment, when no
    amount was promised); when the promise names an `invoice`, cash that payments
    name for other invoices does not count. Broken when the promised date has
    passed and it was not kept; open otherwise.
    """

    contact: Contact
    customer: str
    made: date
    due: date
    amount: Decimal | None
    paid: Decimal  # payments from `made` to min(`due`, as-of)
    status: PromiseStatus


def promises(view: LedgerView) -> list[Promise]:
    """Every promise in the view's contacts, oldest first, with its status."""
    as_of = view.as_of
    promised = [c for c in view.contacts if c.promise_date is not None]
    wanted_customers = {c.customer for c in promised}
    # (date, amount, what it names: {invoice: amount}) per customer with a promise
    payments: dict[str, list[tuple[date, Decimal, dict[str, Decimal]]]] = {}
    for payment in view.payments:
        if payment.customer in wanted_customers:
            named = dict(payment.allocations or {})
            if payment.invoice:
                named[payment.invoice] = payment.amount
            payments.setdefault(payment.customer, []).append(
                (payment.date, payment.amount, named)
            )
    result = []
    for contact in promised:
        assert contact.promise_date is not None
        until = min(contact.promise_date, as_of)
        window = [
            (amount, named)
            for day, amount, named in payments.get(contact.customer, ())
            if contact.date <= day <= until
        ]
        if contact.invoice:
            # What payments name for that invoice, and cash that names nothing
            # (it pays the oldest items); cash named for other invoices does not.
            paid = sum(
                (named.get(contact.invoice, ZERO) if named else amount
                 for amount, named in window),
                ZERO,
            )  # fmt: skip
        else:
            paid = sum((amount for amount, _ in window), ZERO)
        wanted = contact.promise_amount
        kept = paid >= wanted if wanted is not None else paid > 0
        if kept:
            status: PromiseStatus = "kept"
        elif contact.promise_date < as_of:
            status = "broken"
        else:
            status = "open"
        result.append(
            Promise(
                contact,
                contact.customer,
                contact.date,
                contact.promise_date,
                wanted,
                paid,
                status,
            )
        )
    result.sort(key=lambda p: (p.made, p.due, p.customer))
    return result


def latest_promise(found: list[Promise]) -> dict[str, Promise]:
    """Each customer's most recent promise (by the day it was made)."""
    latest: dict[str, Promise] = {}
    for promise in found:  # oldest first, so later ones win
        latest[promise.customer] = promise
    return latest


def last_contacts(view: LedgerView) -> dict[str, Contact]:
    """Each customer's most recent contact."""
    last: dict[str, Contact] = {}
    for contact in sorted(view.contacts, key=lambda c: c.date):
        last[contact.customer] = contact
    return last
