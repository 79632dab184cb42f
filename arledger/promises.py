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
from operator import and_, attrgetter
from typing import TYPE_CHECKING, Literal

from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.settle import Application, Settlement

if TYPE_CHECKING:
    from arledger.model import Contact

PromiseStatus = Literal["kept", "late", "broken", "open"]

_amount = attrgetter("amount")
_date = attrgetter("date")
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
    # applied, by date, with what was applied from each one on (added up
    # from the last), so that a promise reads what was applied since it was
    # made at once. Only the cash applied from the day of the customer's first
    # promise is read: a customer who promised may have years of history.
    first_made: dict[str, date] = {}
    for contact in promised:
        made = first_made.get(contact.customer)
        first_made[contact.customer] = min(made or contact.date, contact.date)
    by_customer = settlement.applications_by_customer
    cash: dict[tuple[str, str | None], _Cash] = {}
    for customer, made in first_made.items():
        applied = by_customer.get(customer, ())
        # The payments from that day on, picked in C.
        picked = map(
            and_,
            map(PAYMENT.__eq__, map(_kind, applied)),
            map(made.__le__, map(_date, applied)),
        )
        cash[(customer, None)] = _Cash(sorted(compress(applied, picked), key=_date))
    for customer, invoice in {(c.customer, c.invoice) for c in promised}:
        if invoice is not None:
            paid = [a for a in cash[(customer, None)].paid if a.invoice == invoice]
            cash[(customer, invoice)] = _Cash(paid)
    result = []
    for contact in promised:
        assert contact.promise_date is not None
        found = cash[(contact.customer, contact.invoice)]
        days = found.days
        # What was applied from the day the promise was made to the as-of
        # date; of that, by the promised date.
        first = bisect_left(days, contact.date)
        end = bisect_right(days, as_of, first)
        since = found.from_on[first] - found.from_on[end]
        until = bisect_right(days, min(contact.promise_date, as_of), first)
        by_due = sum(map(_amount, found.paid[first:until]), ZERO)
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


class _Cash:
    """Cash applied to a customer's items (or to one invoice), by date."""

    __slots__ = ("paid", "days", "from_on")

    def __init__(self, paid: list[Application]) -> None:
        self.paid = paid
        self.days = list(map(_date, paid))
        # from_on[i]: what was applied by paid[i:], ZERO past the end (added
        # up from the last, in C)
        from_on = list(accumulate(map(_amount, reversed(paid)), initial=ZERO))
        from_on.reverse()
        self.from_on = from_on


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
