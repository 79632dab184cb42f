"""Aging (账龄): open balances by customer and by age bucket.

Pure: settlement in, typed result out; `to_report` shapes it for the renderers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import chain, groupby, repeat
from operator import attrgetter
from typing import Literal, NamedTuple

from arledger.credit import days_past_due, hold_reasons
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


# The date an item is aged from, by basis: its due date, or its issue date.
_AGED_FROM: dict[Basis, Literal["due", "date"]] = {"due": "due", "invoice": "date"}


def days_on(day: date, as_of: date) -> int:
    """The days from an item's date it is aged from to `as_of`."""
    return (as_of - day).days


def day_bucket(day: date, as_of: date, limits: Sequence[int], basis: Basis) -> int:
    """The bucket of an item aged from `day` (its due or issue date)."""
    return bucket_index(days_on(day, as_of), limits, basis)


def item_days(item: Item, as_of: date, basis: Basis) -> int:
    """Days past due (basis due) or days since issue (basis invoice)."""
    return days_on(getattr(item, _AGED_FROM[basis]), as_of)


class AgedItem(NamedTuple):
    """An open item with its age and bucket. A NamedTuple, as settle's Item is:
    as immutable as a frozen dataclass and a third of the cost to make, which
    counts at 100k open items."""

    item: Item
    days: int
    bucket: int


class CustomerAging(NamedTuple):
    """A customer's aging in one currency. A NamedTuple, as AgedItem: made in
    C, where a frozen dataclass sets each field in Python (12,000 rows at
    1M invoices)."""

    customer: str
    name: str
    key_account: bool
    hold: tuple[str, ...]  # the reasons for a credit hold; empty when none
    buckets: tuple[Decimal, ...]
    unapplied: Decimal  # negative: credit in the customer's favour
    total: Decimal  # sum(buckets) + unapplied
    items: tuple[AgedItem, ...]  # empty unless `AgingResult.itemized`


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
    # False: each customer's `items` were not asked for and are empty
    # (`compute(itemized=False)`); the sums are the same.
    itemized: bool = True


def compute(
    view: LedgerView,
    settlement: Settlement,
    *,
    basis: Basis | None = None,
    limits: Sequence[int] | None = None,
    itemized: bool = True,
) -> AgingResult:
    """Age every open item of a settlement (SPEC §2, "Aging").

    Args:
        view: the view the settlement was made from (customers, settings).
        settlement: items with open balances as of `view.as_of`.
        basis: `due` or `invoice`; default from settings.
        limits: bucket upper limits in days; default from settings.
        itemized: False: each customer's `items` are left empty (a report by
            customer reads only the sums, which the settlement folds
            without making its items).
    """
    settings = view.settings
    basis = basis or settings.aging.basis
    limits = tuple(limits or settings.aging.buckets)
    labels = bucket_labels(limits, basis)
    as_of = view.as_of
    ledger = view.ledger
    customers = ledger.customers
    hold_days = settings.credit.hold_days
    count = len(labels)

    # An item's bucket depends on one of its dates alone: found once per date.
    def bucket_of(day: date, _disputed: bool) -> int:
        return day_bucket(day, as_of, limits, basis)

    sums = settlement.fold_open(bucket_of, count, key=_AGED_FROM[basis])
    max_past_due = days_past_due(settlement, as_of)
    unapplied = settlement.unapplied()
    accounts = list(sums)
    accounts += [account for account in unapplied if account not in sums]
    aged = _aged_items(settlement, as_of, basis, limits) if itemized else {}
    zeros = (ZERO,) * count

    rows: dict[str, list[CustomerAging]] = {}
    for customer_id, currency in accounts:
        amounts = sums.get((customer_id, currency), zeros)
        credit = -unapplied.get((customer_id, currency), ZERO)
        total = sum(amounts, ZERO) + credit
        customer = customers.get(customer_id)
        own_currency = ledger.customer_currency(customer_id) == currency
        reasons = hold_reasons(
            customer,
            exposure=total if own_currency else None,
            max_days_past_due=max_past_due.get(customer_id, 0),
            hold_days=hold_days,
        )
        found_rows = rows.get(currency)
        if found_rows is None:
            found_rows = rows[currency] = []
        found_rows.append(
            CustomerAging(
                customer=customer_id,
                name=customer.name if customer else customer_id,
                key_account=bool(customer and customer.key_account),
                hold=reasons,
                buckets=amounts,
                unapplied=credit,
                total=total,
                items=aged.get((customer_id, currency), ()),
            )
        )

    sections = []
    for currency in sorted(rows):
        section_rows = rows[currency]
        # SPEC §3: the biggest balance first, then by id (two stable sorts).
        section_rows.sort(key=_customer_id)
        section_rows.sort(key=_total, reverse=True)
        sections.append(
            CurrencyAging(
                currency=currency,
                customers=tuple(section_rows),
                buckets=tuple(
                    sum(column, ZERO)
                    for column in zip(*(r.buckets for r in section_rows), strict=True)
                ),
                unapplied=sum(map(_unapplied, section_rows), ZERO),
                total=sum(map(_total, section_rows), ZERO),
            )
        )
    return AgingResult(
        as_of, basis, limits, labels, tuple(sections), view.currencies, itemized
    )


def _aged_items(
    settlement: Settlement, as_of: date, basis: Basis, limits: tuple[int, ...]
) -> dict[tuple[str, str], tuple[AgedItem, ...]]:
    """Each account's open items with their ages and buckets, in SPEC §2
    order: by (customer, currency)."""
    # The open items of each account, a run at a time: settle makes an
    # account's items one after another (any order gives the same result;
    # runs only make it cheaper).
    by_account: dict[tuple[str, str], list[Item]] = {}  # by (customer, currency)
    for account, run in groupby(filter(_is_open, settlement.items), _account):
        found = by_account.get(account)
        if found is None:
            by_account[account] = list(run)
        else:
            found += run
    # Every open item in account order, each account's in SPEC §2 order,
    # aged a column at a time: an item's age and bucket depend on one of its
    # dates alone, found once per date (850 at 1M items).
    for items in by_account.values():
        _sort_items(items)
    ordered = list(chain.from_iterable(by_account.values()))
    dates = list(map(attrgetter(_AGED_FROM[basis]), ordered))
    days_of: dict[date, int] = {}
    bucket_of: dict[date, int] = {}
    for day in dict.fromkeys(dates):
        days_of[day] = days_on(day, as_of)
        bucket_of[day] = day_bucket(day, as_of, limits, basis)
    aged = list(
        map(
            _new,
            repeat(AgedItem),
            zip(
                ordered,
                map(days_of.__getitem__, dates),
                map(bucket_of.__getitem__, dates),
                strict=True,
            ),
        )
    )
    by_customer: dict[tuple[str, str], tuple[AgedItem, ...]] = {}
    end = 0
    for account, items in by_account.items():
        start, end = end, end + len(items)
        by_customer[account] = tuple(aged[start:end])
    return by_customer


_new = tuple.__new__
_is_open = attrgetter("open")
_account = attrgetter("customer", "currency")
_customer_id = attrgetter("customer")
_total = attrgetter("total")
_unapplied = attrgetter("unapplied")
# SPEC §2: oldest due first, then issue date, then id and instalment. An
# invoice's items all have an instalment or none has one, so None is never
# compared with a number; were it, the key that reads None as 0 decides.
_ITEM_ORDER = attrgetter("due", "date", "invoice", "instalment")


def _item_order(item: Item) -> tuple[date, date, str, int]:
    """SPEC §2: oldest due first, then issue date, then id and instalment."""
    return (item.due, item.date, item.invoice, item.instalment or 0)


def _sort_items(items: list[Item]) -> None:
    """Sort an account's items in SPEC §2 order, with a key made in C (a
    failed sort leaves `items` as they were: the fallback sees their order)."""
    try:
        items[:] = sorted(items, key=_ITEM_ORDER)
    except TypeError:  # an instalment and None met: None as 0
        items.sort(key=_item_order)


# ---------------------------------------------------------------- to a report


def bucket_tones(count: int) -> list[Tone | None]:
    """Colour hints for `count` buckets: the first plain, then warmer with age."""
    ramp: list[Tone] = ["late", "later", "latest"]
    return [None if i == 0 else ramp[min(i - 1, len(ramp) - 1)] for i in range(count)]


def to_report(result: AgingResult, *, detail: bool = False) -> Report:
    """The aging as a `Report`: by customer, or by item with `detail` (of a
    result with its items)."""
    if detail and not result.itemized:
        raise ValueError("aging by item: compute the result with its items")
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
    # a row's keys in the columns' order, its values zipped to them (12,000
    # rows at a million invoices)
    keys = tuple(column.key for column in columns)
    rows = tuple(
        dict(
            zip(
                keys,
                (
                    r.customer,
                    r.name,
                    *r.buckets,
                    r.unapplied,
                    r.total,
                    r.key_account,
                    bool(r.hold),
                ),
                strict=True,
            )
        )
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
