"""Overdue items (逾期), worst first: what to chase today.

Pure: settlement in, typed result out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from arledger.ledger import LedgerView
from arledger.model import Customer
from arledger.money import ZERO
from arledger.report import Column, Report, Section
from arledger.settle import Item, Settlement


@dataclass(frozen=True, slots=True)
class OverdueItem:
    item: Item
    days: int  # days past due, > 0
    name: str
    contact: str | None


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


def contact_line(customer: Customer | None) -> str | None:
    """Who to call: the contact's name, email and phone, as far as known."""
    if customer is None:
        return None
    parts = [p for p in (customer.contact, customer.email, customer.phone) if p]
    return ", ".join(parts) or None


def compute(view: LedgerView, settlement: Settlement) -> OverdueResult:
    """Open items whose due date is before as-of, worst (days × amount) first."""
    as_of = view.as_of
    customers = view.ledger.customers
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
    return OverdueResult(as_of, tuple(sections))


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
)


def to_report(result: OverdueResult) -> Report:
    sections = []
    for section in result.sections:
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
                    (Column("total_open", "Total open", "money"), section.total_open),
                    (
                        Column("overdue_rate", "Overdue rate", "ratio"),
                        section.overdue_rate,
                    ),
                ),
            )
        )
    title = f"Overdue as of {result.as_of.isoformat()}"
    return Report("overdue", title, result.as_of, tuple(sections))
