"""Limitation watch (诉讼时效, SPEC §11): open items nearing or past the end of
their limitation period.

An open item's limitation date is `limitation.years` after the latest of its
due date and the last event that renews it: a letter recorded as sent to the
customer (in the item's currency) while the item was open and overdue, a
contact of channel `legal`, a contact with `acknowledged: true`, or a payment
applied to the item. Pure: the view, its settlement and the sent log's entries
(read by the command through `mail.read_log`, as `dunning` reads them) in.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.report import Column, Report, Section
from arledger.settle import Settlement

if TYPE_CHECKING:
    from arledger.mail import LogEntry

DEFAULT_WITHIN = 90  # days: SPEC §11, `--within`


@dataclass(frozen=True, slots=True)
class Limitation:
    """One open item's limitation date and what last renewed it."""

    customer: str
    currency: str
    invoice: str
    instalment: int | None
    due: date
    renewed: date | None  # the last renewing event after the due date, if any
    renewed_by: str | None  # "letter", "legal", "acknowledged" or "payment"
    limitation_date: date
    days_left: int  # negative once passed
    open: Decimal


def add_years(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February."""
    year = day.year + years
    last = calendar.monthrange(year, day.month)[1]
    return day.replace(year=year, day=min(day.day, last))


def compute(
    view: LedgerView,
    settlement: Settlement,
    sent: Sequence[LogEntry] = (),
    within: int | None = DEFAULT_WITHIN,
) -> dict[str, list[Limitation]]:
    """Open items whose limitation date has passed or falls within `within`
    days of the view's date (None: every open item), by currency, earliest
    limitation date first.

    Args:
        view: the ledger as of a date, filtered.
        settlement: `settle(view)` with its history (payments renew).
        sent: the sent log's entries (`mail.read_log`): letters renew.
        within: days ahead to look.
    """
    as_of = view.as_of
    years = view.settings.limitation.years
    # Per customer: the dated events that renew every one of its items.
    contacts: dict[str, list[tuple[date, str]]] = {}
    letters: dict[str, list[tuple[date, str]]] = {}
    for contact in view.contacts:
        if contact.channel == "letter":
            # A letter the collection log records as sent (by post, by hand)
            # is a demand as much as one in the sent log is: in any currency.
            letters.setdefault(contact.customer, []).append((contact.date, ""))
        if contact.channel == "legal":
            contacts.setdefault(contact.customer, []).append((contact.date, "legal"))
        if contact.acknowledged:
            contacts.setdefault(contact.customer, []).append(
                (contact.date, "acknowledged")
            )
    for entry in sent:
        if entry.date <= as_of:
            letters.setdefault(entry.customer, []).append((entry.date, entry.currency))
    paid: dict[tuple[str, int | None], date] = {}
    for application in settlement.history_of():
        if application.kind == "payment":
            key = (application.invoice, application.instalment)
            if application.date > paid.get(key, date.min):
                paid[key] = application.date

    found: dict[str, list[Limitation]] = {}
    for item in settlement.items:
        if item.open <= 0:
            continue
        # An item open now was open on every day since its issue (an open
        # balance never grows), so a letter after its due date was sent
        # while it was open and overdue.
        events: Iterable[tuple[date, str]] = [
            *contacts.get(item.customer, ()),
            *(
                (day, "letter")
                for day, currency in letters.get(item.customer, ())
                if currency in ("", item.currency)
            ),
        ]
        last_paid = paid.get(item.key)
        if last_paid is not None:
            events = [*events, (last_paid, "payment")]
        renewed, renewed_by = max(events, default=(None, None))
        if renewed is not None and renewed <= item.due:
            renewed, renewed_by = None, None  # nothing renews before the start
        start = renewed if renewed is not None else item.due
        limitation_date = add_years(start, years)
        days_left = (limitation_date - as_of).days
        if within is not None and days_left > within:
            continue
        found.setdefault(item.currency, []).append(
            Limitation(
                customer=item.customer,
                currency=item.currency,
                invoice=item.invoice,
                instalment=item.instalment,
                due=item.due,
                renewed=renewed,
                renewed_by=renewed_by,
                limitation_date=limitation_date,
                days_left=days_left,
                open=item.open,
            )
        )
    for rows in found.values():
        rows.sort(
            key=lambda r: (r.limitation_date, r.customer, r.invoice, r.instalment or 0)
        )
    return found


COLUMNS = (
    Column("customer", "Customer"),
    Column("invoice", "Invoice"),
    Column("item", "Item", "int"),
    Column("due", "Due", "date"),
    Column("renewed", "Renewed", "date"),
    Column("renewed_by", "By"),
    Column("limitation_date", "Limitation date", "date"),
    Column("days_left", "Days left", "days", "late"),
    Column("open", "Open", "money"),
)


def to_report(
    view: LedgerView,
    found: dict[str, list[Limitation]],
    within: int | None = DEFAULT_WITHIN,
) -> Report:
    """The limitation watch: one section per currency with records."""
    years = view.settings.limitation.years
    ahead = "every open item" if within is None else f"passed or within {within} days"
    title = (
        f"Limitation watch as of {view.as_of.isoformat()} "
        f"({years} year{'s' if years != 1 else ''}; {ahead})"
    )

    def section(currency: str, rows: Sequence[Limitation]) -> Section:
        return Section(
            currency,
            COLUMNS,
            tuple(
                {
                    "customer": r.customer,
                    "invoice": r.invoice,
                    "item": r.instalment,
                    "due": r.due,
                    "renewed": r.renewed,
                    "renewed_by": r.renewed_by,
                    "limitation_date": r.limitation_date,
                    "days_left": r.days_left,
                    "open": r.open,
                }
                for r in rows
            ),
            {"open": sum((r.open for r in rows), ZERO)},
            title=f"{title} — {currency}",
        )

    # Every currency with records has its section, empty or not (SPEC §3).
    sections = tuple(
        section(currency, found.get(currency, ()))
        for currency in sorted(found.keys() | view.currencies())
    )
    meta = {"years": years, "within": within}
    return Report("limitation", title, view.as_of, sections, meta)
