"""Composition of receivables (应收构成): what the net AR is made of, per currency,
and the customers with the most overdue.

Net AR = open items + unapplied cash (negative); open items = not yet due +
overdue. The figures are read from the aging and the overdue report of the same
settlement, so they agree with them to the cent; the workbook's Summary shows
them (linked to those sheets' totals) with the top overdue customers.

Pure: typed results in, typed result out; `to_report` shapes it for the
renderers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arledger.money import ZERO
from arledger.report import NET_AR_LONG, OPEN_ITEMS, Column, Report, Section

if TYPE_CHECKING:
    from arledger.reports.aging import AgingResult
    from arledger.reports.overdue import CurrencyOverdue, OverdueResult

TOP_OVERDUE = 10  # customers in the top list


@dataclass(frozen=True, slots=True)
class OverdueCustomer:
    """One customer's overdue items taken together."""

    customer: str
    name: str
    overdue: Decimal
    share: Decimal | None  # of the currency's overdue; None when that is zero
    oldest_days: int  # days past due of the oldest overdue item
    items: int  # overdue items
    owners: tuple[str, ...]  # the items' owners, sorted


@dataclass(frozen=True, slots=True)
class CurrencyComposition:
    """One currency's net AR, taken apart."""

    currency: str
    net_ar: Decimal  # open items + unapplied
    open_items: Decimal
    unapplied: Decimal  # negative
    not_due: Decimal
    overdue: Decimal
    overdue_rate: Decimal | None  # overdue / open items; None when nothing is open
    top: tuple[OverdueCustomer, ...]  # the most overdue first


@dataclass(frozen=True, slots=True)
class CompositionResult:
    as_of: date
    sections: tuple[CurrencyComposition, ...]


def compute(
    aging: AgingResult, overdue: OverdueResult, *, top: int = TOP_OVERDUE
) -> CompositionResult:
    """The composition of each currency's net AR, from the aging and the
    overdue report of one settlement.

    Args:
        aging: `aging.compute` as of the date.
        overdue: `overdue.compute` from the same settlement.
        top: how many customers the top overdue list keeps.
    """
    aged = {s.currency: s for s in aging.sections}
    late = {s.currency: s for s in overdue.sections}
    sections = []
    for currency in sorted(aged.keys() | late.keys()):
        section = aged.get(currency)
        found = late.get(currency)
        open_items = sum(section.buckets, ZERO) if section else ZERO
        unapplied = section.unapplied if section else ZERO
        past_due = found.overdue if found else ZERO
        # The overdue report's open total (every open item, due or not) less
        # its overdue; without it, all that is open is not yet due.
        not_due = found.total_open - found.overdue if found else open_items
        sections.append(
            CurrencyComposition(
                currency=currency,
                net_ar=section.total if section else ZERO,
                open_items=open_items,
                unapplied=unapplied,
                not_due=not_due,
                overdue=past_due,
                overdue_rate=past_due / open_items if open_items else None,
                top=top_overdue(found, top) if found else (),
            )
        )
    return CompositionResult(aging.as_of, tuple(sections))


def top_overdue(section: CurrencyOverdue, count: int) -> tuple[OverdueCustomer, ...]:
    """The `count` customers with the most overdue (ties by id), with their
    oldest item, how many items and their owners."""
    by_customer: dict[str, list[Any]] = {}
    for o in section.items:
        entry = by_customer.setdefault(o.item.customer, [o.name, ZERO, 0, 0, set()])
        entry[1] += o.item.open
        entry[2] = max(entry[2], o.days)
        entry[3] += 1
        if o.item.owner:
            entry[4].add(o.item.owner)
    ranked = sorted(by_customer.items(), key=lambda kv: (-kv[1][1], kv[0]))
    total = section.overdue
    return tuple(
        OverdueCustomer(
            customer=customer,
            name=name,
            overdue=amount,
            share=amount / total if total else None,
            oldest_days=oldest,
            items=items,
            owners=tuple(sorted(owners)),
        )
        for customer, (name, amount, oldest, items, owners) in ranked[:count]
    )


# ---------------------------------------------------------------- to a report


def to_report(result: CompositionResult) -> Report:
    """The composition as a `Report`: per currency, the top overdue customers
    as rows and the net AR taken apart as the section's summary."""
    as_of = result.as_of.isoformat()
    columns = (
        Column("customer", "Customer"),
        Column("name", "Name"),
        Column("overdue", "Overdue", "money"),
        Column("share", "% of overdue", "ratio"),
        Column("oldest_days", "Oldest (days)", "int"),
        Column("items", "Items", "int"),
        Column("owners", "Owner"),
    )
    sections = []
    for s in result.sections:
        rows = tuple(
            {
                "customer": c.customer,
                "name": c.name,
                "overdue": c.overdue,
                "share": c.share,
                "oldest_days": c.oldest_days,
                "items": c.items,
                "owners": ", ".join(c.owners) or None,
            }
            for c in s.top
        )
        summary = (
            (Column("net_ar", NET_AR_LONG, "money"), s.net_ar),
            (Column("open_items", OPEN_ITEMS, "money"), s.open_items),
            (Column("unapplied", "Unapplied credit", "money"), s.unapplied),
            (Column("not_due", "Not yet due", "money"), s.not_due),
            (Column("overdue", "Overdue", "money"), s.overdue),
            (Column("overdue_rate", "Overdue rate", "ratio"), s.overdue_rate),
        )
        totals = {
            "overdue": sum((c.overdue for c in s.top), ZERO),
            "share": sum((c.share for c in s.top if c.share is not None), ZERO),
            "items": sum(c.items for c in s.top),
        }
        sections.append(
            Section(
                s.currency,
                columns,
                rows,
                totals,
                title=(
                    f"Top {len(s.top)} overdue customers — {s.currency}"
                    if s.top
                    else f"No overdue customers — {s.currency}"
                ),
                summary=summary,
            )
        )
    title = f"Composition of receivables as of {as_of}"
    return Report("composition", title, result.as_of, tuple(sections))
