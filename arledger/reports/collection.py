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
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from itertools import accumulate, compress, repeat
from operator import add, attrgetter, itemgetter, mul, sub
from typing import Any, Literal, NamedTuple

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


_amount = attrgetter("amount")
_date = attrgetter("date")
_days = attrgetter("days")
_id = attrgetter("id")
_invoice = attrgetter("invoice")
_kind = attrgetter("kind")
_open = attrgetter("open")
_ref = attrgetter("ref")
_held = attrgetter("currency", "date", "due")
_held_applied = attrgetter("currency", "issued", "due")  # of its item
_first = itemgetter(0)
_second = itemgetter(1)
_third = itemgetter(2)


class _Found(dict):  # type: ignore[type-arg]
    """A dict that finds the value of a key the first time it is asked for,
    with `find`: `map(found.__getitem__, keys)` runs in C for keys seen before
    (dates and the like repeat)."""

    def __init__(self, find: Callable[[Any], Any]) -> None:
        super().__init__()
        self.find = find

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.find(key)
        return value


# What a part of an item is (see `_tallies`): what it has open now, or what an
# application of a kind took from it (SPEC §2: credit notes and discounts are
# credited; write-offs are never collected).
_OPEN, _PAYMENT, _WRITE_OFF, _DISCOUNT, _CREDITED = range(5)
_KIND = {"payment": _PAYMENT, "write_off": _WRITE_OFF, "discount": _DISCOUNT}


class _Shape(NamedTuple):
    """What a run of alike parts adds to (see `_tallies`); None: nothing."""

    held: tuple[int, int | None] | None  # open at boundaries: from, until (None: all)
    invoiced: int | None  # the span its items were issued in
    current: tuple[int, int | None] | None  # not yet due at span ends: from, until
    due_in: tuple[int, int | None] | None  # due in spans: from, until
    due_whole: bool  # due in all the spans as one
    overdue: range | None  # the boundaries it is open at past due
    kind: int  # the kind of application that took it in a span, else _OPEN
    span: int  # that span
    received: int | None  # the span its payment was received in


def _shape(count: int, code: int) -> _Shape:
    """What the parts with a sort key add to, from the key less its group
    (see `_tallies`: where the issue, the application and the due date fall
    among `count` spans, the kind and the span its payment was received in)."""
    beyond = count + 1
    spread = beyond + 1
    rest, kind_code = divmod(code, 5 * (count + 1))
    received_in, kind = divmod(kind_code, 5)
    rest, due_code = divmod(rest, 2 * spread)
    due_at, on_boundary = divmod(due_code, 2)
    overdue_from = due_at + on_boundary  # SPEC §2: past due after the due date
    issue, applied = divmod(rest, spread)
    # Not yet due at the end of a span: held then, and due on or after it.
    current = (max(issue, 1), min(applied, overdue_from))
    # SPEC §7: due in span k when due by its end, and held at its start or
    # issued in it; due in the spans as one when due by the last end.
    due_in = (max(issue, due_at, 1) - 1, min(applied, count))
    # Days past due at the end of a span: held then, and due before it.
    overdue = (max(issue, overdue_from, 1), min(applied, beyond))
    return _Shape(
        (issue, applied if applied <= count else None) if issue < applied else None,
        issue - 1 if 0 < issue <= count else None,
        (current[0] - 1, current[1] - 1 if current[1] <= count else None)
        if current[0] < current[1]
        else None,
        (due_in[0], due_in[1] if due_in[1] < count else None)
        if due_in[0] < due_in[1]
        else None,
        issue <= count and due_at <= count,
        range(*overdue) if overdue[0] < overdue[1] else None,
        kind if kind and applied <= count else _OPEN,
        applied - 1,
        received_in - 1 if kind == _PAYMENT and received_in else None,
    )


def _changes(
    changes: list[Decimal], spans: tuple[int, int | None], amount: Decimal
) -> None:
    """`amount` counted in a figure from spans[0] on, and no more from spans[1]
    on (None: to the end): `changes` holds the change from one to the next."""
    low, high = spans
    changes[low] += amount
    if high is not None:
        changes[high] -= amount


def _received_in(view: LedgerView, code: Callable[[date], int]) -> dict[str, int]:
    """The view's payments with a nonzero `code` of their date, by ref (a
    payment's id, else where it was written: `payment_ref`, asked only then);
    of a view settled from cells, from the refs and days it kept."""
    bulk = view.bulk
    if bulk is not None and bulk.cash is not None:
        refs, days = bulk.cash["refs"], bulk.cash["pay_date"]
        of_day = _Found(lambda day: code(date.fromordinal(day)))
        found = list(map(of_day.__getitem__, days))
        return dict(zip(compress(refs, found), filter(None, found), strict=True))
    payments = view.payments
    received = list(map(code, map(_date, payments)))
    payments = list(compress(payments, received))
    refs = list(map(_id, payments))
    if None in refs:
        refs = list(map(payment_ref, payments))
    return dict(zip(refs, filter(None, received), strict=True))


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

    What an item has open on a day, from its issue on, is what it has open
    now plus what was applied to it after that day. So each item is cut into
    parts: what it has open now, held from its issue on, and what each
    application dated in the spans or after them took, held from its issue
    until the application's date. Every figure of a span is a sum of parts
    held at one of its ends, or issued or taken in it, told apart by where the
    item's issue, its due date, the application and its payment fall among the
    spans. Parts alike in those (and in group and kind) are sorted together,
    in C, and each run of them is added up once: a few thousand runs for a
    year of a hundred thousand items, whatever the number of spans.

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
        The tally of every (currency, group) with an item open or applied to in
        the spans or cash received in one (some may be all zeros): a
        `RollForward` per span, and what was due in all the spans as one.
    """
    start, end = spans[0].start, spans[-1].end
    if end > settlement.as_of:
        raise ValueError("the period ends after the settlement's as-of date")
    for before, after in zip(spans, spans[1:], strict=False):
        if after.start != before.end + timedelta(days=1):
            raise ValueError("spans must follow each other without gaps")
    count = len(spans)
    # The days balances are read on: boundary 0 the day before the first span,
    # boundary k + 1 the end of span k. Where a day falls is how many of them
    # are before it: 0 up to boundary 0, k + 1 in span k, `beyond` after them.
    boundary_day = [start - timedelta(days=1), *(span.end for span in spans)]
    beyond = count + 1

    def falls(day: date) -> int:
        return bisect_left(boundary_day, day)

    # The applications from the first span's start on (a stable sort by date,
    # in C: they are in date order already); earlier ones took nothing that
    # was open in the spans.
    history = sorted(settlement.history_of(), key=_date)
    later = history[bisect_left(history, start, key=_date) :]
    later_on = list(map(_date, later))
    items = settlement.items
    open_now = list(compress(items, map(_open, items)))
    # The parts: what each of those applications took, then what is open now;
    # the currency, issue and due date of each one's item, which an
    # application carries. The items applied to are looked up only when a
    # group is asked of them.
    if item_key is _no_group:
        held = [*map(_held_applied, later), *map(_held, open_now)]
    else:
        # By key. When the applications since are few (a month's report),
        # only their items: told apart by invoice in C, they cost less than
        # keying every item.
        keyed: Sequence[Item] = items
        if 2 * len(later) < len(items):
            sought = set(map(_invoice, later))
            mine = map(sought.__contains__, map(_invoice, items))
            keyed = list(compress(items, mine))
        by_key = dict(zip(map(key_of, keyed), keyed, strict=True))
        of = [*map(by_key.__getitem__, map(key_of, later)), *open_now]
        held = list(map(_held, of))
    amounts = [*map(_amount, later), *map(_open, open_now)]
    # Cash received in the spans, by ref: 5 × (the span it fell in + 1).
    # Payments received at other times are not received in them, wherever
    # they were applied.
    paid_in = _received_in(
        view,
        _Found(lambda day: 5 * falls(day) if start <= day <= end else 0).__getitem__,
    )

    # A part's sort key, one number in mixed radix: group, where the issue
    # falls, where the application falls (`beyond` for what is open now),
    # where the due date falls (× 2, + 1 when on a boundary day), and kind +
    # 5 × (the span its payment was received in + 1, or 0). The item's part
    # is found once per currency, issue and due date, the group's once per
    # group.
    spread = beyond + 1
    kinds = 5 * (count + 1)
    applied_weight = 2 * spread * kinds
    issue_weight = spread * applied_weight
    group_weight = spread * issue_weight
    numbers: dict[Hashable, int] = {}  # the groups, numbered as first seen

    def group_code(group: Hashable) -> int:
        return numbers.setdefault(group, len(numbers)) * group_weight

    def item_code(found: tuple[str, date, date]) -> int:
        currency, issued, due = found
        due_at = falls(due)
        on_boundary = due_at < beyond and boundary_day[due_at] == due
        code = falls(issued) * issue_weight + (2 * due_at + on_boundary) * kinds
        return code + group_code(currency) if item_key is _no_group else code

    codes: Iterable[int] = map(_Found(item_code).__getitem__, held)
    if item_key is not _no_group:
        groups = zip(map(_first, held), map(item_key, of), strict=True)
        codes = map(add, codes, map(_Found(group_code).__getitem__, groups))
    applied_at = _Found(lambda day: falls(day) * applied_weight)
    taken = map(
        add,
        map(
            add,
            map(applied_at.__getitem__, later_on),
            map(_KIND.get, map(_kind, later), repeat(_CREDITED)),
        ),
        map(paid_in.get, map(_ref, later), repeat(0)),
    )
    keys = list(
        map(add, codes, [*taken, *repeat(beyond * applied_weight, len(open_now))])
    )
    order = sorted(range(len(keys)), key=keys.__getitem__)
    ranked_keys = list(map(keys.__getitem__, order))
    ranked = list(map(amounts.__getitem__, order))
    # Days to pay and days late of each application (SPEC §2), as decimals
    # (found once per number of days).
    days = _Found(Decimal)
    to_pay = list(
        map(days.__getitem__, map(_days, map(sub, later_on, map(_second, held))))
    )
    late = list(
        map(days.__getitem__, map(_days, map(sub, later_on, map(_third, held))))
    )

    shapes = _Found(partial(_shape, count))
    tallies: dict[tuple[str, Hashable], _Tally] = {}
    rows = []
    for group in numbers:
        name = (group, None) if item_key is _no_group else group
        rows.append(tallies.setdefault(name, _Tally(count)))  # type: ignore[arg-type]
    # Per group, the change from one boundary to the next of what is open, and
    # from one span to the next of what is not yet due at its end and of what
    # is due in it.
    opened = [[ZERO] * beyond for _ in rows]
    current = [[ZERO] * count for _ in rows]
    due_in = [[ZERO] * count for _ in rows]
    begin = 0
    while begin < len(ranked_keys):
        key = ranked_keys[begin]
        stop = bisect_right(ranked_keys, key, begin)
        amount = sum(ranked[begin:stop], ZERO)
        group, code = divmod(key, group_weight)
        shape = shapes[code]
        row = rows[group]
        if shape.held is not None:
            _changes(opened[group], shape.held, amount)
        if shape.invoiced is not None:
            row.invoiced[shape.invoiced] += amount
        if shape.current is not None:
            _changes(current[group], shape.current, amount)
        if shape.due_in is not None:
            _changes(due_in[group], shape.due_in, amount)
        if shape.due_whole:
            row.due_whole += amount
        if shape.overdue is not None:
            due = min(map(_third, map(held.__getitem__, order[begin:stop])))
            oldest = row.oldest
            for boundary in shape.overdue:
                days_late = (boundary_day[boundary] - due).days
                worst = oldest[boundary - 1]
                oldest[boundary - 1] = (
                    days_late if worst is None else max(worst, days_late)
                )
        kind, k = shape.kind, shape.span
        if kind == _PAYMENT:
            row.collected[k] += amount
            parts = order[begin:stop]
            row.days_to_pay[k] += sum(
                map(mul, ranked[begin:stop], map(to_pay.__getitem__, parts)), ZERO
            )
            row.days_late[k] += sum(
                map(mul, ranked[begin:stop], map(late.__getitem__, parts)), ZERO
            )
        elif kind == _WRITE_OFF:
            row.written_off[k] += amount
        elif kind:
            row.credited[k] += amount
            if kind == _DISCOUNT:
                row.discounts[k] += amount
        # Cash received in a span, wherever (and whenever) it was applied.
        if shape.received is not None:
            row.received[shape.received] += amount
        begin = stop
    for group, row in enumerate(rows):
        row.open_at = list(accumulate(opened[group]))
        row.current = list(accumulate(current[group]))
        row.due = list(accumulate(due_in[group]))
    for credit in settlement.credits:
        if credit.kind == "payment" and start <= credit.date <= end:
            name = (credit.currency, customer_key(credit.customer))
            found = tallies.get(name)
            if found is None:
                found = tallies[name] = _Tally(count)
            found.received[bisect_left(boundary_day, credit.date) - 1] += credit.amount
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
