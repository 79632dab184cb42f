"""The collection log (沟通记录): last contacts and promises to pay (承诺付款).

Pure: a view and its settlement in, findings out. What counts towards a promise
is what the settlement applied, never a second reading of the payments. Used by
overdue, risk, forecast, dunning and `--fail-on`, so they agree on which promise
is open or broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.settle import Settlement

if TYPE_CHECKING:
    from arledger.model import Contact

PromiseStatus = Literal["kept", "late", "broken", "open"]


@dataclass(frozen=True, slots=True)
class Promise:
    """A promise to pay, judged as of a date from what the settlement applied.

    What counts is the cash the settlement applied (SPEC §2) to the customer's
    items, or only to the promised `invoice` when the promise names one, from
    the day the promise was made. The promise is `kept` when what was applied by
    its date reaches the promised amount (any cash, when no amount was
    promised); `late` when that was reached only after its date (paid, but
    late: nothing left to chase); `broken` when its date has passed and it is
    still not reached; `open` otherwise.
    """

    contact: Contact
    customer: str
    made: date
    due: date
    amount: Decimal | None
    paid: Decimal  # applied from `made` to min(`due`, as-of)
    status: PromiseStatus


def promises(view: LedgerView, settlement: Settlement) -> list[Promise]:
    """Every promise in the view's contacts, oldest first, with its status.

    Args:
        view: the ledger as of a date, filtered.
        settlement: `settle(view)` with its history (the applications).
    """
    as_of = view.as_of
    promised = [c for c in view.contacts if c.promise_date is not None]
    if not promised:
        return []
    wanted_customers = {c.customer for c in promised}
    # (application date, invoice, amount) of cash, per customer with a promise
    by_customer = settlement.applications_by_customer
    applied: dict[str, list[tuple[date, str, Decimal]]] = {
        customer: [
            (a.date, a.invoice, a.amount)
            for a in by_customer.get(customer, ())
            if a.kind == "payment"
        ]
        for customer in wanted_customers
    }
    result = []
    for contact in promised:
        assert contact.promise_date is not None
        by_due = since = ZERO
        for day, invoice, amount in applied.get(contact.customer, ()):
            if day < contact.date or day > as_of:
                continue
            if contact.invoice is not None and invoice != contact.invoice:
                continue
            since += amount
            if day <= contact.promise_date:
                by_due += amount
        wanted = contact.promise_amount
        status: PromiseStatus
        if _reaches(by_due, wanted):
            status = "kept"
        elif contact.promise_date >= as_of:
            status = "open"
        elif _reaches(since, wanted):
            status = "late"
        else:
            status = "broken"
        result.append(
            Promise(
                contact,
                contact.customer,
                contact.date,
                contact.promise_date,
                wanted,
                by_due,
                status,
            )
        )
    result.sort(key=lambda p: (p.made, p.due, p.customer))
    return result


def _reaches(paid: Decimal, wanted: Decimal | None) -> bool:
    return paid >= wanted if wanted is not None else paid > 0


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
