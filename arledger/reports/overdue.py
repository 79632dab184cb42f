"""Overdue items (逾期), worst first: what to chase today.

Each item carries where collection stands with its customer: the last contact
(沟通记录) and any open or broken promise to pay (承诺付款).
Pure: settlement in, typed result out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.promises import Promise, last_contacts, promises
from arledger.report import OPEN_ITEMS, Column, Report, Section, every_currency
from arledger.settle import Item, Settlement

if TYPE_CHECKING:
    from arledger.model import Contact, Customer


@dataclass(frozen=True, slots=True)
class FollowUp:
    """Where collection stands with a customer, from the contact log."""

    last_contact: Contact | None
    promise: Promise | None  # an open promise, else the latest if broken
    broken: int  # promises broken so far


NO_FOLLOW_UP = FollowUp(None, None, 0)


def promise_to_show(found: list[Promise]) -> Promise | None:
    """The promise a collector must watch: the latest open one, else the latest
    promise if it was broken (a kept one needs nothing)."""
    open_ones = [p for p in found if p.status == "open"]
    if open_ones:
        return open_ones[-1]
    if found and found[-1].status == "broken":
        return found[-1]
    return None


def follow_ups(
    view: LedgerView,
    settlement: Settlement,
    promised: Sequence[Promise] | None = None,
) -> dict[str, FollowUp]:
    """Each customer's last contact and the promise to watch (SPEC §1 contacts).

    `promised`: `promises(view, settlement)`, when already made."""
    if promised is None:
        promised = promises(view, settlement)
    by_customer: dict[str, list[Promise]] = {}
    for promise in promised:  # oldest first
        by_customer.setdefault(promise.customer, []).append(promise)
    contacts = last_contacts(view)
    result = {}
    for customer_id in contacts.keys() | by_customer.keys():
        found = by_customer.get(customer_id, [])
        result[customer_id] = FollowUp(
            contacts.get(customer_id),
            promise_to_show(found),
            sum(1 for p in found if p.status == "broken"),
        )
    return result


def follow_up_row(follow_up: FollowUp) -> dict[str, object]:
    """The follow-up columns of a row (see FOLLOW_UP_COLUMNS)."""
    contact = follow_up.last_contact
    promise = follow_up.promise
    return {
        "last_contact": contact.date if contact else None,
        "channel": contact.channel if contact else None,
        "promise": promise.status if promise else None,
        "promise_date": promise.due if promise else None,
        "promise_amount": promise.amount if promise else None,
    }


FOLLOW_UP_COLUMNS = (
    Column("last_contact", "Last contact", "date"),
    Column("channel", "Via"),
    Column("promise", "Promise"),
    Column("promise_date", "Promised for", "date"),
    Column("promise_amount", "Promised", "money"),
)


@dataclass(frozen=True, slots=True)
class OverdueItem:
    item: Item
    days: int  # days past due, > 0
    name: str
    contact: str | None
    follow_up: FollowUp = NO_FOLLOW_UP


@dataclass(frozen=True, slots=True)
class CurrencyOverdue:
    currency: str
    items: tuple[OverdueItem, ...]
    overdue: Decimal
    total_open: Decimal  # every open item, due or not (unapplied cash not deducted)

    @property
    def overdue_rate(self) -> Decimal | None:
        """Overdue rate (逾期率) = overdue / total open; None when nothing is open."""
        return self.overdue / self.total_open if self.total_open else None


@dataclass(frozen=True)
class OverdueResult:
    as_of: date
    sections: tuple[CurrencyOverdue, ...]
    # Every currency with records in the view (`view.currencies`, asked only
    # when the report is shaped): each has a section in the report, with zeros
    # when nothing is in it (SPEC §3; report.every_currency).
    currencies: Callable[[], Collection[str]] = field(
        default=frozenset, compare=False, repr=False
    )


def contact_line(customer: Customer | None) -> str | None:
    """Who to call: the contact's name, email and phone, as far as known."""
    if customer is None:
        return None
    parts = [p for p in (customer.contact, customer.email, customer.phone) if p]
    return ", ".join(parts) or None


def compute(
    view: LedgerView,
    settlement: Settlement,
    follow: Mapping[str, FollowUp] | None = None,
) -> OverdueResult:
    """Open items whose due date is before as-of, worst (days × amount) first.

    `follow`: `follow_ups(view, settlement)`, when already made (the
    workbook's risk sheet reads them too)."""
    as_of = view.as_of
    customers = view.ledger.customers
    if follow is None:
        follow = follow_ups(view, settlement)
    found: dict[str, list[OverdueItem]] = {}
    open_total: dict[str, Decimal] = {}
    for item in settlement.items:
        if not item.open:
            continue
        open_total[item.currency] = open_total.get(item.currency, ZERO) + item.open
        days = (as_of - item.due).days
        if days > 0:
            customer = customers.get(item.customer)
            found.setdefault(item.currency, []).append(
                OverdueItem(
                    item,
                    days,
                    customer.name if customer else item.customer,
                    contact_line(customer),
                    follow.get(item.customer, NO_FOLLOW_UP),
                )
            )
    sections = []
    for currency in sorted(found):
        items = sorted(
            found[currency],
            key=lambda o: (
                -(o.days * o.item.open),
                o.item.due,
                o.item.invoice,
                o.item.instalment or 0,
            ),
        )
        sections.append(
            CurrencyOverdue(
                currency,
                tuple(items),
                sum((o.item.open for o in items), ZERO),
                open_total[currency],
            )
        )
    return OverdueResult(as_of, tuple(sections), view.currencies)


COLUMNS = (
    Column("customer", "Customer"),
    Column("name", "Name"),
    Column("invoice", "Invoice"),
    Column("item", "Inst.", "int"),
    Column("date", "Date", "date"),
    Column("due", "Due", "date"),
    Column("days", "Days", "days", "late"),
    Column("open", "Open", "money"),
    Column("owner", "Owner"),
    Column("contact", "Contact"),
    Column("disputed", "Disputed", "flag", "bad", "disputed"),
    *FOLLOW_UP_COLUMNS,
)


def to_report(result: OverdueResult) -> Report:
    sections = []
    for section in every_currency(
        result.sections,
        result.currencies(),
        lambda currency: CurrencyOverdue(currency, (), ZERO, ZERO),
    ):
        rows = tuple(
            {
                "customer": o.item.customer,
                "name": o.name,
                "invoice": o.item.invoice,
                "item": o.item.instalment,
                "date": o.item.date,
                "due": o.item.due,
                "days": o.days,
                "open": o.item.open,
                "owner": o.item.owner,
                "contact": o.contact,
                "disputed": o.item.disputed,
                **follow_up_row(o.follow_up),
            }
            for o in section.items
        )
        sections.append(
            Section(
                section.currency,
                COLUMNS,
                rows,
                {"open": section.overdue},
                title=f"Overdue as of {result.as_of.isoformat()} — {section.currency}",
                summary=(
                    (Column("total_open", OPEN_ITEMS, "money"), section.total_open),
                    (
                        Column("overdue_rate", "Overdue rate", "ratio"),
                        section.overdue_rate,
                    ),
                ),
            )
        )
    title = f"Overdue as of {result.as_of.isoformat()}"
    return Report("overdue", title, result.as_of, tuple(sections))
