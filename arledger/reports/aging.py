"""Aging (账龄): open balances by customer and by age bucket.

Pure: settlement in, typed result out; `to_report` shapes it for the renderers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from arledger.credit import hold_reasons
from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.report import NET_AR, Column, Report, Section, Tone, every_currency
from arledger.rules import bucket_labels  # noqa: F401 (re-exported)
from arledger.settle import Item, Settlement

Basis = Literal["due", "invoice"]


def bucket_index(days: int, limits: Sequence[int], basis: Basis) -> int:
    """Which bucket `days` falls in (SPEC §2: 30 is in 1-30, 31 in 31-60)."""
    if basis == "due":
        return 0 if days <= 0 else 1 + bisect_left(limits, days)
    return bisect_left(limits, days)


def item_days(item: Item, as_of: date, basis: Basis) -> int:
    """Days past due (basis due) or days since issue (basis invoice)."""
    return (as_of - (item.due if basis == "due" else item.date)).days


@dataclass(frozen=True, slots=True)
class AgedItem:
    item: Item
    days: int
    bucket: int


@dataclass(frozen=True, slots=True)
class CustomerAging:
    customer: str
    name: str
    key_account: bool
    hold: tuple[str, ...]  # the reasons for a credit hold; empty when none
    buckets: tuple[Decimal, ...]
    unapplied: Decimal  # negative: credit in the customer's favour
    total: Decimal  # sum(buckets) + unapplied
    items: tuple[AgedItem, ...]


@dataclass(frozen=True, slots=True)
class CurrencyAging:
    currency: str
    customers: tuple[CustomerAging, ...]
    buckets: tuple[Decimal, ...]
    unapplied: Decimal
    total: Decimal


@dataclass(frozen=True)
class AgingResult:
    as_of: date
    basis: Basis
    limits: tuple[int, ...]
    labels: tuple[str, ...]
    sections: tuple[CurrencyAging, ...]
    # Every currency with records in the view (`view.currencies`, asked only
    # when the report is shaped): each has a section in the report, with zeros
    # when nothing is in it (SPEC §3; report.every_currency).
    currencies: Callable[[], Collection[str]] = field(
        default=frozenset, compare=False, repr=False
    )


def compute(
    view: LedgerView,
    settlement: Settlement,
    *,
    basis: Basis | None = None,
    limits: Sequence[int] | None = None,
) -> AgingResult:
    """Age every open item of a settlement (SPEC §2, "Aging").

    Args:
        view: the view the settlement was made from (customers, settings).
        settlement: items with open balances as of `view.as_of`.
        basis: `due` or `invoice`; default from settings.
        limits: bucket upper limits in days; default from settings.
    """
    settings = view.settings
    basis = basis or settings.aging.basis
    limits = tuple(limits or settings.aging.buckets)
    labels = bucket_labels(limits, basis)
    as_of = view.as_of
    customers = view.ledger.customers

    by_account: dict[tuple[str, str], list[AgedItem]] = {}
    max_past_due: dict[str, int] = {}
    for item in settlement.items:
        if not item.open:
            continue
        days = item_days(item, as_of, basis)
        aged = AgedItem(item, days, bucket_index(days, limits, basis))
        by_account.setdefault((item.currency, item.customer), []).append(aged)
        past_due = (as_of - item.due).days
        # Decision (README, "Disputed invoices"): a dispute alone does not put a
        # customer on credit hold; its amount still counts against the limit.
        if not item.disputed and past_due > max_past_due.get(item.customer, 0):
            max_past_due[item.customer] = past_due
    unapplied = settlement.unapplied()
    for customer_id, currency in unapplied:
        by_account.setdefault((currency, customer_id), [])

    rows: dict[str, list[CustomerAging]] = {}
    for (currency, customer_id), aged_items in by_account.items():
        amounts = [ZERO] * len(labels)
        for aged in aged_items:
            amounts[aged.bucket] += aged.item.open
        credit = -unapplied.get((customer_id, currency), ZERO)
        total = sum(amounts, ZERO) + credit
        customer = customers.get(customer_id)
        own_currency = view.ledger.customer_currency(customer_id) == currency
        reasons = hold_reasons(
            customer,
            exposure=total if own_currency else None,
            max_days_past_due=max_past_due.get(customer_id, 0),
            hold_days=settings.credit.hold_days,
        )
        aged_items.sort(
            key=lambda a: (
                a.item.due,
                a.item.date,
                a.item.invoice,
                a.item.instalment or 0,
            )
        )
        rows.setdefault(currency, []).append(
            CustomerAging(
                customer=customer_id,
                name=customer.name if customer else customer_id,
                key_account=bool(customer and customer.key_account),
                hold=reasons,
                buckets=tuple(amounts),
                unapplied=credit,
                total=total,
                items=tuple(aged_items),
            )
        )

    sections = []
    for currency in sorted(rows):
        section_rows = sorted(rows[currency], key=lambda r: (-r.total, r.customer))
        sections.append(
            CurrencyAging(
                currency=currency,
                customers=tuple(section_rows),
                buckets=tuple(
                    sum((r.buckets[i] for r in section_rows), ZERO)
                    for i in range(len(labels))
                ),
                unapplied=sum((r.unapplied for r in section_rows), ZERO),
                total=sum((r.total for r in section_rows), ZERO),
            )
        )
    return AgingResult(as_of, basis, limits, labels, tuple(sections), view.currencies)


# ---------------------------------------------------------------- to a report


def bucket_tones(count: int) -> list[Tone | None]:
    """Colour hints for `count` buckets: the first plain, then warmer with age."""
    ramp: list[Tone] = ["late", "later", "latest"]
    return [None if i == 0 else ramp[min(i - 1, len(ramp) - 1)] for i in range(count)]


def to_report(result: AgingResult, *, detail: bool = False) -> Report:
    """The aging as a `Report`: by customer, or by item with `detail`."""
    title = f"Aging as of {result.as_of.isoformat()}"
    meta = {"basis": result.basis, "buckets": list(result.labels)}
    zeros = (ZERO,) * len(result.labels)
    sections = tuple(
        _detail_section(result, s) if detail else _customer_section(result, s)
        for s in every_currency(
            result.sections,
            result.currencies(),
            lambda currency: CurrencyAging(currency, (), zeros, ZERO, ZERO),
        )
    )
    return Report("aging", title, result.as_of, sections, meta)


def _customer_section(result: AgingResult, section: CurrencyAging) -> Section:
    tones = bucket_tones(len(result.labels))
    columns = (
        Column("customer", "Customer"),
        Column("name", "Name"),
        *(
            Column(label, label, "money", tone)
            for label, tone in zip(result.labels, tones, strict=True)
        ),
        Column("unapplied", "Unapplied", "money"),
        Column("total", NET_AR, "money"),
        Column("key_account", "Key", "flag", "key", "★"),
        Column("hold", "Hold", "flag", "bad", "HOLD"),
    )
    rows = tuple(
        {
            "customer": r.customer,
            "name": r.name,
            **dict(zip(result.labels, r.buckets, strict=True)),
            "unapplied": r.unapplied,
            "total": r.total,
            "key_account": r.key_account,
            "hold": bool(r.hold),
        }
        for r in section.customers
    )
    totals = {
        **dict(zip(result.labels, section.buckets, strict=True)),
        "unapplied": section.unapplied,
        "total": section.total,
    }
    return Section(
        section.currency,
        columns,
        rows,
        totals,
        title=f"Aging as of {result.as_of.isoformat()} — {section.currency}",
    )


def _detail_section(result: AgingResult, section: CurrencyAging) -> Section:
    columns = (
        Column("customer", "Customer"),
        Column("name", "Name"),
        Column("invoice", "Invoice"),
        Column("item", "Inst.", "int"),
        Column("date", "Date", "date"),
        Column("due", "Due", "date"),
        Column("days", "Days", "days"),
        Column("bucket", "Bucket"),
        Column("open", "Open", "money"),
        Column("owner", "Owner"),
        Column("disputed", "Disputed", "flag", "bad", "disputed"),
    )
    rows = []
    for customer in section.customers:
        for aged in customer.items:
            item = aged.item
            rows.append(
                {
                    "customer": item.customer,
                    "name": customer.name,
                    "invoice": item.invoice,
                    "item": item.instalment,
                    "date": item.date,
                    "due": item.due,
                    "days": aged.days,
                    "bucket": result.labels[aged.bucket],
                    "open": item.open,
                    "owner": item.owner,
                    "disputed": item.disputed,
                }
            )
        if customer.unapplied:
            rows.append(
                {
                    "customer": customer.customer,
                    "name": customer.name,
                    "invoice": None,
                    "item": None,
                    "date": None,
                    "due": None,
                    "days": None,
                    "bucket": "unapplied",
                    "open": customer.unapplied,
                    "owner": None,
                    "disputed": False,
                }
            )
    totals = {"open": section.total}
    return Section(
        section.currency,
        columns,
        tuple(rows),
        totals,
        title=f"Open items as of {result.as_of.isoformat()} — {section.currency}",
    )
