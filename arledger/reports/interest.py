"""Late interest (逾期利息) per item, day by day (SPEC §2, Late interest).

Pure: a view, its settlement and the sent log's entries in, one row per item
that accrued out. The figure of an item is `reports.dunning.accrued_interest`,
and the letters take their interest from `compute` here, so the report and
the letters agree to the cent.

"Since the last interest charge" (SPEC §2, `interest_on_paid_late`): the last
interest charge to a customer, in a currency, is the last letter to it in
that currency that the sent log records (sent, or delivered by hand and
recorded) on or before as-of. Every letter states the interest accrued to its
date on what it demands and on what was paid late since the letter before
it; so an item paid late accrues (and is charged in the next letter) when it
was paid after that letter's date, and never again after a letter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.report import Column, Report, Section
from arledger.reports.dunning import accrued_interest
from arledger.settle import Settlement

if TYPE_CHECKING:
    from arledger.mail import LogEntry


@dataclass(frozen=True, slots=True)
class Accrual:
    """The late interest of one item from the day after its due date."""

    customer: str
    currency: str
    invoice: str
    instalment: int | None
    start: date  # the first day that accrues: the day after the due date
    end: date  # the last: as-of, or the day the item was paid
    days: int
    open: Decimal  # what is still open on it
    interest: Decimal

    @property
    def key(self) -> tuple[str, int | None]:
        """The item's key, as `settle.Item.key`."""
        return (self.invoice, self.instalment)

    @property
    def paid(self) -> bool:
        """Paid in full (it accrued until the day it was paid)."""
        return not self.open


def last_charges(sent: Sequence[LogEntry], as_of: date) -> dict[tuple[str, str], date]:
    """The date of the last interest charge per (customer, currency): its last
    letter in the sent log on or before `as_of` (a log line without a currency
    counts for every currency of the customer, under the key (customer, ""))."""
    found: dict[tuple[str, str], date] = {}
    for entry in sent:
        if entry.date <= as_of:
            key = (entry.customer, entry.currency)
            if key not in found or entry.date > found[key]:
                found[key] = entry.date
    return found


def compute(
    view: LedgerView, settlement: Settlement, sent: Sequence[LogEntry] = ()
) -> dict[str, list[Accrual]]:
    """Every item that accrues late interest as of the view's date, by currency.

    An open item accrues from the day after its due date up to and including
    as-of; with `dunning.interest_on_paid_late`, an item paid after its due
    date since the last interest charge (`last_charges`) accrues up to the
    day it was paid. Disputed items are left out (they are never demanded).
    Every currency of the view has its list, maybe empty.

    Args:
        sent: the sent log's entries (`mail.read_log`): the letters that
            charged interest.
    """
    settings = view.settings.dunning
    rate = settings.interest_rate
    as_of = view.as_of
    charged = last_charges(sent, as_of) if settings.interest_on_paid_late else {}
    applied: dict[tuple[str, int | None], list[tuple[date, Decimal]]] = {}
    for application in settlement.history_of():
        applied.setdefault((application.invoice, application.instalment), []).append(
            (application.date, application.amount)
        )
    found: dict[str, list[Accrual]] = {}
    for item in settlement.items:
        found.setdefault(item.currency, [])
        if item.disputed:
            continue
        parts = applied.get(item.key, [])
        if item.open > 0:
            end = as_of
        elif settings.interest_on_paid_late and parts:
            end = max(day for day, _ in parts)
            last = max(
                charged.get((item.customer, item.currency), date.min),
                charged.get((item.customer, ""), date.min),
            )
            if end <= last:
                continue  # paid by the last letter: that letter charged it
        else:
            continue
        if end <= item.due:
            continue
        found[item.currency].append(
            Accrual(
                customer=item.customer,
                currency=item.currency,
                invoice=item.invoice,
                instalment=item.instalment,
                start=item.due + timedelta(days=1),
                end=end,
                days=(end - item.due).days,
                open=item.open,
                interest=accrued_interest(
                    item.amount, parts, item.due, end, rate, item.currency
                ),
            )
        )
    for accruals in found.values():
        accruals.sort(key=lambda a: (a.customer, a.start, a.invoice, a.instalment or 0))
    return found


COLUMNS = (
    Column("customer", "Customer"),
    Column("invoice", "Invoice"),
    Column("item", "Item", "int"),
    Column("from", "From", "date"),
    Column("to", "To", "date"),
    Column("days", "Days", "days"),
    Column("open", "Open", "money"),
    Column("interest", "Interest", "money"),
)


def to_report(view: LedgerView, found: dict[str, list[Accrual]]) -> Report:
    rate = view.settings.dunning.interest_rate
    title = f"Late interest as of {view.as_of.isoformat()} (rate {rate:f} a year)"
    sections = tuple(
        Section(
            currency,
            COLUMNS,
            tuple(
                {
                    "customer": a.customer,
                    "invoice": a.invoice,
                    "item": a.instalment,
                    "from": a.start,
                    "to": a.end,
                    "days": a.days,
                    "open": a.open,
                    "interest": a.interest,
                }
                for a in found[currency]
            ),
            {
                "open": sum((a.open for a in found[currency]), ZERO),
                "interest": sum((a.interest for a in found[currency]), ZERO),
            },
            title=f"{title} — {currency}",
        )
        for currency in sorted(found)
    )
    return Report("interest", title, view.as_of, sections, {"rate": f"{rate:f}"})
