"""The collection log (沟通记录): last contacts and promises to pay (承诺付款).

Pure: a view and its settlement in, findings out. What counts towards a promise
is what the settlement applied, never a second reading of the payments. Used by
overdue, risk, forecast, dunning and `--fail-on`, so they agree on which promise
is open or broken.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import accumulate, compress
from operator import attrgetter
from typing import TYPE_CHECKING, Literal

from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.settle import Application, Settlement

if TYPE_CHECKING:
    from arledger.model import Contact

PromiseStatus = Literal["kept", "late", "broken", "open"]

_amount = attrgetter("amount")
_customer = attrgetter("customer")
_date = attrgetter("date")
_invoice = attrgetter("invoice")
_kind = attrgetter("kind")
PAYMENT = "payment"


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
    # Per customer with a promise, and per invoice a promise names: the cash
    # applied, by date. Only the cash applied from the day of the customer's
    # first promise is read: a customer who promised may have years of
    # history, and those who promise are often the biggest (at a hundred
    # thousand invoices, 55 customers with half the applications).
    first_made: dict[str, date] = {}
    for contact in promised:
        made = first_made.get(contact.customer)
        first_made[contact.customer] = min(made or contact.date, contact.date)
    # Their payments, picked in C (their applications, then of those the
    # payments), by date (stable: on a day, in the order applied).
    applications = settlement.history_of()
    theirs = list(
        compress(
            applications, map(first_made.__contains__, map(_customer, applications))
        )
    )
    paid_by: dict[str, list[Application]] = {customer: [] for customer in first_made}
    for application in sorted(
        compress(theirs, map(PAYMENT.__eq__, map(_kind, theirs))), key=_date
    ):
        paid_by[application.customer].append(application)
    cash: dict[tuple[str, str | None], _Cash] = {}
    for customer, paid in paid_by.items():
        days = list(map(_date, paid))
        start = bisect_left(days, first_made[customer])
        cash[(customer, None)] = _Cash(paid[start:], days[start:])
    for customer, invoice in {(c.customer, c.invoice) for c in promised}:
        if invoice is not None:
            paid = cash[(customer, None)].paid
            on_invoice = list(compress(paid, map(invoice.__eq__, map(_invoice, paid))))
            cash[(customer, invoice)] = _Cash(on_invoice, list(map(_date, on_invoice)))
    result = []
    for contact in promised:
        assert contact.promise_date is not None
        found = cash[(contact.customer, contact.invoice)]
        days = found.days
        # What was applied from the day the promise was made to the as-of
        # date; of that, by the promised date.
        first = bisect_left(days, contact.date)
        end = bisect_right(days, as_of, first)
        until = bisect_right(days, min(contact.promise_date, as_of), first)
        by_due = sum(map(_amount, found.paid[first:until]), ZERO)
        wanted = contact.promise_amount
        status: PromiseStatus
        if _reaches(by_due, wanted):
            status = "kept"
        elif contact.promise_date >= as_of:
            status = "open"
        elif _reaches(found.applied(first, end), wanted):
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


class _Cash:
    """Cash applied to a customer's items (or to one invoice), by date."""

    __slots__ = ("paid", "days", "_from_on")

    def __init__(self, paid: list[Application], days: list[date]) -> None:
        self.paid = paid
        self.days = days  # of each of `paid`
        self._from_on: list[Decimal] | None = None

    def applied(self, first: int, end: int) -> Decimal:
        """What was applied by `paid[first:end]`.

        Read only for a promise not kept by its date, once that has passed:
        the sums from each entry to the last are added up (in C) the first
        time, not for every customer who promised.
        """
        if self._from_on is None:
            # from_on[i]: what was applied by paid[i:], ZERO past the end
            from_on = list(accumulate(map(_amount, reversed(self.paid)), initial=ZERO))
            from_on.reverse()
            self._from_on = from_on
        return self._from_on[first] - self._from_on[end]


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
