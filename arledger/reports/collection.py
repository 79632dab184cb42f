"""Collection performance (回款): a period's AR roll-forward and what it says.

Opening AR + invoiced − collected − credited − written off = closing AR, per
currency (SPEC §2, "Roll-forward"), with the collection rate (回款率), sales
collection rate, DSO, CEI, average days to pay (回款周期) and average days late.
Pure: settlement in, typed result out. Every figure comes from the settlement's
dated applications, so one settlement as of the period's end (or any later
date) gives the opening, the flows and the closing; cash is never re-applied here.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import compress
from operator import attrgetter
from typing import Literal

from arledger.dates import Period, months
from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.report import OPEN_ITEMS, Column, Report, Section, every_currency
from arledger.settle import Item, Settlement, key_of, payment_ref

By = Literal["customer", "owner", "month"]
BY: tuple[By, ...] = ("customer", "owner", "month")


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """numerator / denominator, or None when the denominator is zero (SPEC §2)."""
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class RollForward:
    """A period's AR movements (one currency, one group) and the ratios they give.

    `collected`, `credited` and `written_off` are amounts applied to items with an
    application date in the period; `received` is cash from payments dated in it,
    applied or not. Write-offs are never collected.
    """

    days: int  # days in the period
    opening: Decimal  # open at the start: items issued before it, less earlier cash
    invoiced: Decimal  # items issued in the period
    collected: Decimal  # payments applied in the period
    credited: Decimal  # credit notes and discounts applied in the period
    written_off: Decimal  # write-offs (坏账核销) applied in the period
    closing: Decimal  # open at the end of the period
    closing_current: Decimal  # of which not yet due at the end (due >= end)
    received: Decimal  # payments dated in the period (sales collection rate)
    days_to_pay_weighted: Decimal  # Σ collected × (application date − issue date)
    days_late_weighted: Decimal  # Σ collected × (application date − due date)
    oldest_days: int | None  # days past due of the oldest item open at the end
    # SPEC §7, due in the period (应回款): what was open at its start (or on
    # issue, for items issued in it) of the items due by its end, that is what
    # fell due in it plus what was already overdue when it began
    due: Decimal = ZERO
    # Of `credited`: discounts (early-payment, SPEC §9, and adjustments of
    # kind discount) applied in the period; never collected.
    discounts: Decimal = ZERO

    @property
    def collection_rate(self) -> Decimal | None:
        """Collection rate (回款率) = collected / (opening + invoiced)."""
        return ratio(self.collected, self.opening + self.invoiced)

    @property
    def due_collection_rate(self) -> Decimal | None:
        """Collected / due in the period (实际回款 / 应回款, SPEC §7)."""
        return ratio(self.collected, self.due)

    @property
    def sales_collection_rate(self) -> Decimal | None:
        """Cash received in the period / invoiced in the period."""
        return ratio(self.received, self.invoiced)

    @property
    def dso(self) -> Decimal | None:
        """DSO = closing / invoiced × days in the period."""
        share = ratio(self.closing, self.invoiced)
        return share * self.days if share is not None else None

    @property
    def cei(self) -> Decimal | None:
        """CEI = (opening + invoiced − closing) / (opening + invoiced − current)."""
        base = self.opening + self.invoiced
        return ratio(base - self.closing, base - self.closing_current)

    @property
    def avg_days_to_pay(self) -> Decimal | None:
        """Average days to pay (回款周期): amount-weighted, issue to application."""
        return ratio(self.days_to_pay_weighted, self.collected)

    @property
    def avg_days_late(self) -> Decimal | None:
        """Amount-weighted days from due date to application (negative = early)."""
        return ratio(self.days_late_weighted, self.collected)

    def is_empty(self) -> bool:
        return not any(
            (
                self.opening,
                self.invoiced,
                self.collected,
                self.credited,
                self.written_off,
                self.closing,
                self.received,
            )
        )


@dataclass(frozen=True, slots=True)
class CollectionRow:
    """One row of the breakdown: a customer, an owner, a month, or the period."""

    key: str | None  # customer id, owner (None: no owner), month or period label
    name: str | None  # the customer's name (by customer only)
    figures: RollForward
    below_target: bool


@dataclass(frozen=True, slots=True)
class CurrencyCollection:
    currency: str
    total: RollForward  # the whole period (customer, owner rows add up to it)
    rows: tuple[CollectionRow, ...]


@dataclass(frozen=True)
class CollectionResult:
    as_of: date
    period: Period
    by: By | None
    target: Decimal | None
    sections: tuple[CurrencyCollection, ...]
    # Every currency with records in the view (`view.currencies`, asked only
    # when the report is shaped): each has a section in the report, with zeros
    # when nothing is in it (SPEC §3; report.every_currency).
    currencies: Callable[[], Collection[str]] = field(
        default=frozenset, compare=False, repr=False
    )


# ---------------------------------------------------------------- the tally


class _Tally:
    """One group's roll-forward over consecutive spans while it is summed.

    `open_at[0]` is what was open the day before the first span starts, and
    `open_at[k + 1]` what was open at the end of span k: span k opens with
    `open_at[k]` and closes with `open_at[k + 1]`.
    """

    __slots__ = (
        "open_at",
        "invoiced",
        "collected",
        "credited",
        "written_off",
        "current",
        "received",
        "days_to_pay",
        "days_late",
        "oldest",
        "due",
        "due_whole",
        "discounts",
    )

    def __init__(self, spans: int) -> None:
        self.open_at = [ZERO] * (spans + 1)
        self.invoiced = [ZERO] * spans
        self.collected = [ZERO] * spans
        self.credited = [ZERO] * spans
        self.written_off = [ZERO] * spans
        self.current = [ZERO] * spans
        self.received = [ZERO] * spans
        self.days_to_pay = [ZERO] * spans
        self.days_late = [ZERO] * spans
        self.oldest: list[int | None] = [None] * spans
        self.due = [ZERO] * spans
        self.due_whole = ZERO  # due in all the spans as one period
        self.discounts = [ZERO] * spans

    def freeze(self, spans: Sequence[Period]) -> list[RollForward]:
        return [
            RollForward(
                span.days,
                self.open_at[k],
                self.invoiced[k],
                self.collected[k],
                self.credited[k],
                self.written_off[k],
                self.open_at[k + 1],
                self.current[k],
                self.received[k],
                self.days_to_pay[k],
                self.days_late[k],
                self.oldest[k],
                due=self.due[k],
                discounts=self.discounts[k],
            )
            for k, span in enumerate(spans)
        ]


ItemKey = Callable[[Item], Hashable]
CustomerKey = Callable[[str], Hashable]


def _no_group(_: object) -> None:
    return None


_date = attrgetter("date")
_invoice = attrgetter("invoice")
_open = attrgetter("open")


def _day(applied: tuple[date, Decimal]) -> date:
    return applied[0]


def roll_forward(
    view: LedgerView,
    settlement: Settlement,
    spans: Sequence[Period],
    item_key: ItemKey = _no_group,
    customer_key: CustomerKey = _no_group,
) -> dict[tuple[str, Hashable], list[RollForward]]:
    return {
        key: t.freeze(spans)
        for key, t in _tallies(view, settlement, spans, item_key, customer_key).items()
    }


def _tallies(
    view: LedgerView,
    settlement: Settlement,
    spans: Sequence[Period],
    item_key: ItemKey = _no_group,
    customer_key: CustomerKey = _no_group,
) -> dict[tuple[str, Hashable], _Tally]:
    """The roll-forward of consecutive spans per (currency, group) (SPEC §2).

    One pass over the settlement, whatever the number of spans (the months of
    a trend): each item's open balance is walked from one span end to the next
    until it is settled.

    Args:
        view: the view the settlement was made from (its payments give the dates
            of cash received).
        settlement: settled as of the last span's end or later.
        spans: consecutive periods, each starting the day after the previous
            ends; the last must not end after the settlement's as-of.
        item_key: the group of an item (default: one group, None).
        customer_key: the group of a customer's cash received in a span but not
            applied to any item.

    Returns:
        A `RollForward` per span for every (currency, group) with an item issued
        by the end of the last span or cash received in one (`_tallies`: the
        tally of each, which also holds what was due in all the spans as one).
    """
    start, end = spans[0].start, spans[-1].end
    if end > settlement.as_of:
        raise ValueError("the period ends after the settlement's as-of date")
    for before, after in zip(spans, spans[1:], strict=False):
        if after.start != before.end + timedelta(days=1):
            raise ValueError("spans must follow each other without gaps")
    ends = [span.end for span in spans]
    day_before = start - timedelta(days=1)
    count = len(spans)
    # The day each boundary is read on: boundary 0 the day before the first
    # span, boundary k + 1 the end of span k.
    boundary_day = [day_before, *ends]
    # The history by date (a stable sort, in C: it is in date order already),
    # cut at the first span's start and the last span's end.
    history = sorted(settlement.history_of(), key=_date)
    applied_on = list(map(_date, history))
    early = history[: bisect_left(applied_on, start)]
    within = history[len(early) : bisect_right(applied_on, end)]
    beyond = history[len(early) + len(within) :]
    # The items applied to on or after `start`: the others, when paid in full,
    # were settled before the spans (and are never walked below).
    later = set(map(key_of, history[len(early) :]))
    # Only those and the items open now are read below (one issued in the
    # spans is one of them, as nothing is applied before an item's date): at
    # a million items, most are neither. Told apart by invoice, in C. An item
    # left out adds to no figure, so a group that has only such items has no
    # figures (and no row).
    read = {
        *map(_invoice, history[len(early) :]),
        *map(_invoice, compress(settlement.items, map(_open, settlement.items))),
    }
    walked = list(
        compress(
            settlement.items, map(read.__contains__, map(_invoice, settlement.items))
        )
    )
    # An item is keyed by its invoice alone unless it is an instalment: a
    # million items need no million (invoice, None) tuples.
    items = {key_of(item): item for item in walked}
    # Cash received in the spans, by ref (payments received at other times
    # are not counted as received, wherever they were applied).
    paid_on = {payment_ref(p): p.date for p in view.payments if start <= p.date <= end}
    # What was applied to each item walked below, by the last span's end.
    applied: dict[Hashable, list[tuple[date, Decimal]]] = {}
    tallies: dict[tuple[str, Hashable], _Tally] = {}
    # The span of each date, found once per date (dates repeat).
    span_of: dict[date, int] = {}

    def span(day: date) -> int:
        found = span_of.get(day)
        if found is None:
            found = span_of[day] = bisect_left(ends, day)
        return found

    def tally(item: Item) -> _Tally:
        group = (item.currency, item_key(item))
        found = tallies.get(group)
        if found is None:
            found = tallies[group] = _Tally(count)
        return found

    # Before the spans: what was applied to the items still open at their
    # start (cash received before them is not received in them: an
    # application is never before its payment).
    for application in compress(early, map(read.__contains__, map(_invoice, early))):
        key = key_of(application)
        item = items[key]
        if item.open or key in later:
            applied.setdefault(key, []).append((application.date, application.amount))
    for application in within:
        key = key_of(application)
        item = items[key]
        amount = application.amount
        day = application.date
        kind = application.kind
        applied.setdefault(key, []).append((day, amount))
        row = tally(item)
        k = span(day)
        if kind == "payment":
            row.collected[k] += amount
            row.days_to_pay[k] += amount * (day - item.date).days
            row.days_late[k] += amount * (day - item.due).days
            # Cash received in a span, wherever (and whenever) it was applied.
            paid = paid_on.get(application.ref)
            if paid is not None:
                row.received[span(paid)] += amount
        elif kind == "write_off":
            # SPEC §2: write-offs are never counted as collected.
            row.written_off[k] += amount
        else:  # credit_note, discount: SPEC §2 "credited"
            row.credited[k] += amount
            if kind == "discount":
                row.discounts[k] += amount
    for application in beyond:
        if application.kind == "payment":
            paid = paid_on.get(application.ref)
            if paid is not None:
                row = tally(items[key_of(application)])
                row.received[span(paid)] += application.amount
    for credit in settlement.credits:
        if credit.kind == "payment" and start <= credit.date <= end:
            group = (credit.currency, customer_key(credit.customer))
            found = tallies.get(group)
            if found is None:
                found = tallies[group] = _Tally(count)
            found.received[span(credit.date)] += credit.amount
    no_payments: list[tuple[date, Decimal]] = []
    for item in walked:
        issued = item.date
        if issued > end:
            continue
        row = tally(item)
        key = key_of(item)
        payments = applied.get(key, no_payments)
        if issued < start:
            if not item.open and key not in later:
                continue  # settled before the spans: nothing to count
            first = 0  # open the day before the first span: the opening
        else:
            first = span(issued) + 1
            row.invoiced[first - 1] += item.amount
        if len(payments) > 1:
            payments.sort(key=_day)
        still_open = item.amount
        taken = 0
        due = item.due
        open_at, due_in, current, oldest = row.open_at, row.due, row.current, row.oldest
        if first:
            # SPEC §7: an item issued in span first - 1 is due in it in full
            # when it falls due by its end, and in all the spans as one when
            # it falls due by the last end.
            if due <= ends[first - 1]:
                due_in[first - 1] += still_open
            if due <= end:
                row.due_whole += still_open
        for boundary in range(first, count + 1):
            at = boundary_day[boundary]
            while taken < len(payments) and payments[taken][0] <= at:
                still_open -= payments[taken][1]
                taken += 1
            if not still_open:
                break  # an open balance never grows again
            open_at[boundary] += still_open
            # What is open at the start of span `boundary` is due in it when it
            # falls due by its end (overdue already, or falling due in it).
            if boundary < count and due <= ends[boundary]:
                due_in[boundary] += still_open
            if not boundary:
                if due <= end:
                    row.due_whole += still_open
                continue
            k = boundary - 1
            if due >= at:  # SPEC §2: not yet due (days past due <= 0)
                current[k] += still_open
            else:
                late = (at - due).days
                worst = oldest[k]
                oldest[k] = late if worst is None else max(worst, late)
    return tallies


def combine(rows: Sequence[RollForward], days: int) -> RollForward:
    """Rows of one period added up (the totals of a customer or owner breakdown)."""
    oldest = [r.oldest_days for r in rows if r.oldest_days is not None]

    def total(name: str) -> Decimal:
        return sum((getattr(r, name) for r in rows), ZERO)

    return RollForward(
        days,
        total("opening"),
        total("invoiced"),
        total("collected"),
        total("credited"),
        total("written_off"),
        total("closing"),
        total("closing_current"),
        total("received"),
        total("days_to_pay_weighted"),
        total("days_late_weighted"),
        max(oldest) if oldest else None,
        due=total("due"),
        discounts=total("discounts"),
    )


def chain(rows: Sequence[RollForward], days: int, due: Decimal) -> RollForward:
    """Consecutive spans as one (the totals of a trend): it opens as the first
    span opens, closes as the last closes, and its flows are their sums; what
    was due in them as one (`due`, the tally's `due_whole`) is not the sum of
    what was due in each, which counts an item overdue in several of them
    several times."""
    flows = combine(rows, days)
    last = rows[-1]
    return RollForward(
        days,
        rows[0].opening,
        flows.invoiced,
        flows.collected,
        flows.credited,
        flows.written_off,
        last.closing,
        last.closing_current,
        flows.received,
        flows.days_to_pay_weighted,
        flows.days_late_weighted,
        last.oldest_days,
        due=due,
        discounts=flows.discounts,
    )


def _below(figures: RollForward, target: Decimal | None) -> bool:
    rate = figures.collection_rate
    return target is not None and rate is not None and rate < target


def compute(
    view: LedgerView,
    settlement: Settlement,
    period: Period,
    *,
    by: By | None = None,
    target: Decimal | None = None,
) -> CollectionResult:
    """The collection report of a period (SPEC §2, §3 `collection`).

    Args:
        view: the view the settlement was made from.
        settlement: settled as of `period.end` or later.
        period: the period; it must end on or before the settlement's as-of.
        by: break the figures down per customer, per owner (the item's), or per
            calendar month of the period (a trend); None: one row, the period.
        target: a collection rate (0.95); rows below it are marked.
    """
    customers = view.ledger.customers

    def owner_of_customer(customer_id: str) -> str | None:
        customer = customers.get(customer_id)
        return customer.owner if customer is not None else None

    sections = []
    if by == "customer" or by == "owner":
        if by == "customer":
            grouped = roll_forward(
                view, settlement, [period], _customer_of, _same_customer
            )
        else:
            # The owner of an item is the invoice's, else the customer's; cash
            # not applied to any item is its customer's owner's.
            grouped = roll_forward(
                view, settlement, [period], _owner_of, owner_of_customer
            )
        by_currency: dict[str, list[CollectionRow]] = {}
        for (currency, group), (figures,) in grouped.items():
            if figures.is_empty():
                continue
            key = group if isinstance(group, str) else None
            name = None
            if by == "customer" and key is not None:
                customer = customers.get(key)
                name = customer.name if customer is not None else key
            by_currency.setdefault(currency, []).append(
                CollectionRow(key, name, figures, _below(figures, target))
            )
        for currency in sorted(by_currency):
            rows = by_currency[currency]
            if by == "customer":
                rows.sort(key=lambda r: (-r.figures.closing, r.key or ""))
            else:
                rows.sort(key=lambda r: (r.key is None, r.key or ""))
            total = combine([r.figures for r in rows], period.days)
            sections.append(CurrencyCollection(currency, total, tuple(rows)))
    else:
        spans = months(period) if by == "month" else [period]
        tallies = _tallies(view, settlement, spans)
        for currency, _ in sorted(tallies, key=lambda key: key[0]):
            tally = tallies[(currency, None)]
            per_span = tally.freeze(spans)
            total = (
                chain(per_span, period.days, tally.due_whole)
                if by == "month"
                else per_span[0]
            )
            if total.is_empty():
                continue
            spanned = tuple(
                CollectionRow(span.label, None, f, _below(f, target))
                for span, f in zip(spans, per_span, strict=True)
            )
            sections.append(CurrencyCollection(currency, total, spanned))
    return CollectionResult(
        view.as_of, period, by, target, tuple(sections), view.currencies
    )


def _customer_of(item: Item) -> str:
    return item.customer


def _same_customer(customer_id: str) -> str:
    return customer_id


def _owner_of(item: Item) -> str | None:
    return item.owner


# ---------------------------------------------------------------- to a report

# The roll-forward's figures (SPEC §3 names), in the order the identity reads.
FIGURES = (
    Column("opening", "Opening", "money"),
    Column("invoiced", "+ Invoiced", "money"),
    Column("collected", "− Collected", "money"),
    Column("credited", "− Credited", "money"),
    Column("written_off", "− Written off", "money"),
    Column("closing", "= Closing", "money"),
    Column("closing_current", "Not yet due", "money"),
    Column("received", "Received", "money"),
    Column("collection_rate", "Coll. rate", "ratio"),
    Column("due_in_period", "Due in period", "money"),
    Column("due_collection_rate", "Coll./due", "ratio"),
    Column("sales_collection_rate", "Sales rate", "ratio"),
    Column("dso", "DSO", "days"),
    Column("cei", "CEI", "ratio"),
    Column("avg_days_to_pay", "Days to pay", "days"),
    Column("avg_days_late", "Days late", "days"),
    Column("oldest_days", "Oldest", "days", "late"),
)
# The same figures for the whole period, as section keys and lines under a table.
SUMMARY = (
    Column("opening", f"Opening AR ({OPEN_ITEMS.lower()})", "money"),
    Column("invoiced", "+ Invoiced", "money"),
    Column("collected", "− Collected", "money"),
    Column("credited", "− Credited (credit notes, discounts)", "money"),
    Column("discounts", "of which discounts (现金折扣)", "money"),
    Column("written_off", "− Written off", "money"),
    Column("closing", f"= Closing AR ({OPEN_ITEMS.lower()})", "money"),
    Column("closing_current", "Closing AR not yet due", "money"),
    Column("received", "Cash received", "money"),
    Column("collection_rate", "Collection rate (回款率)", "ratio"),
    Column("due_in_period", "Due in the period (应回款)", "money"),
    Column("due_collection_rate", "Collected / due", "ratio"),
    Column("sales_collection_rate", "Sales collection rate", "ratio"),
    Column("dso", "DSO (days)", "days"),
    Column("cei", "CEI", "ratio"),
    Column("avg_days_to_pay", "Average days to pay (回款周期)", "days"),
    Column("avg_days_late", "Average days late", "days"),
)
TARGET_COLUMN = Column("below_target", "Below target", "flag", "bad", "▼ below")


def figures_row(figures: RollForward) -> dict[str, object]:
    """The figures of a roll-forward by column key (amounts, ratios, days)."""
    return {
        "opening": figures.opening,
        "invoiced": figures.invoiced,
        "collected": figures.collected,
        "credited": figures.credited,
        "written_off": figures.written_off,
        "closing": figures.closing,
        "closing_current": figures.closing_current,
        "received": figures.received,
        "collection_rate": figures.collection_rate,
        "due_in_period": figures.due,
        "due_collection_rate": figures.due_collection_rate,
        "sales_collection_rate": figures.sales_collection_rate,
        "dso": figures.dso,
        "cei": figures.cei,
        "avg_days_to_pay": figures.avg_days_to_pay,
        "avg_days_late": figures.avg_days_late,
        "oldest_days": figures.oldest_days,
    }


def _key_columns(by: By | None) -> tuple[Column, ...]:
    if by == "customer":
        return (Column("customer", "Customer"), Column("name", "Name"))
    if by == "owner":
        return (Column("owner", "Owner"),)
    if by == "month":
        return (Column("month", "Month"),)
    return (Column("period", "Period"),)


def describe(period: Period) -> str:
    """`2026-10 (2026-10-01 to 2026-10-31, 31 days)`; a span without a name as
    `2026-10-05 to 2026-10-20 (16 days)`."""
    span = f"{period.start.isoformat()} to {period.end.isoformat()}"
    if not period.label or ".." in period.label:
        return f"{span} ({period.days} days)"
    return f"{period.label} ({span}, {period.days} days)"


def _nothing(result: CollectionResult) -> Callable[[str], CurrencyCollection]:
    """The section of a currency with no activity and nothing open in the period:
    zeros, and a row of zeros for the period (or each month of a trend)."""
    period = result.period
    total = combine([], period.days)
    rows: tuple[CollectionRow, ...] = ()
    if result.by is None:
        rows = (CollectionRow(period.label, None, total, False),)
    elif result.by == "month":
        rows = tuple(
            CollectionRow(span.label, None, combine([], span.days), False)
            for span in months(period)
        )
    return lambda currency: CurrencyCollection(currency, total, rows)


def to_report(result: CollectionResult) -> Report:
    """The collection report: per currency, the breakdown rows and the period."""
    key_columns = _key_columns(result.by)
    columns = key_columns + FIGURES
    if result.target is not None:
        columns += (TARGET_COLUMN,)
    sections = []
    for section in every_currency(
        result.sections, result.currencies(), _nothing(result)
    ):
        rows = []
        for row in section.rows:
            data: dict[str, object] = {}
            if result.by == "customer":
                data.update(customer=row.key, name=row.name)
            else:
                data[key_columns[0].key] = row.key
            data.update(figures_row(row.figures))
            if result.target is not None:
                data["below_target"] = row.below_target
            rows.append(data)
        whole = figures_row(section.total)
        # SPEC §9: the discounts taken, beside the credited they are part of.
        summary = {**whole, "discounts": section.total.discounts}
        # Without a breakdown the one row is the period: no totals row repeats it.
        totals = None if result.by is None else whole
        sections.append(
            Section(
                section.currency,
                columns,
                tuple(rows),
                totals,
                title=f"Collection {describe(result.period)} — {section.currency}",
                summary=tuple((column, summary[column.key]) for column in SUMMARY),
            )
        )
    period = result.period
    meta: dict[str, object] = {
        "period": period.label,
        "from": period.start,
        "to": period.end,
        "days": period.days,
        "by": result.by,
    }
    if result.target is not None:
        meta["target"] = result.target
    title = f"Collection {describe(period)}"
    return Report("collection", title, result.as_of, tuple(sections), meta)
