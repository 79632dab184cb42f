"""Late interest (逾期利息) per item, day by day (SPEC §2, Late interest).

Pure: a view and its settlement in, one row per item that accrued out. The
figure of an item is `reports.dunning.accrued_interest`, the one the letters
charge, so the report and the letters agree to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.report import Column, Report, Section
from arledger.reports.dunning import accrued_interest
from arledger.settle import Settlement


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


def compute(view: LedgerView, settlement: Settlement) -> dict[str, list[Accrual]]:
    """Every item that accrues late interest as of the view's date, by currency.

    An open item accrues from the day after its due date up to and including
    as-of; with `dunning.interest_on_paid_late`, an item paid after its due
    date accrues up to the day it was paid. Disputed items are left out (they
    are never demanded). Every currency of the view has its list, maybe empty.
    """
    settings = view.settings.dunning
    rate = settings.interest_rate
    as_of = view.as_of
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
