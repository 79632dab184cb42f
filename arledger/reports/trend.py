"""Trend: the aging totals at each of the last twelve month ends (月末账龄趋势).

One settlement, as of the report date, is read back to the earlier month ends
in one pass with `settle.rewind_each` (SPEC §2 applies payments in date order,
so what stood on a past day is what was applied by then); the ledger is not
settled twelve times, nor its history read twelve times.
An owner's view keeps only its own items' applications, which the unapplied
cash needs, so it is settled again for each month end.

Pure: view and settlement in, typed result out; `to_report` shapes it for the
renderers. The workbook's Trend sheet shows the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING

from arledger.money import ZERO
from arledger.report import NET_AR, Column, Report, Section

if TYPE_CHECKING:
    from arledger.ledger import LedgerView
    from arledger.reports.aging import Basis
    from arledger.settle import Settlement

TREND_MONTHS = 12  # month-end aging for the last 12 months
_open = attrgetter("open")


@dataclass(frozen=True, slots=True)
class TrendSection:
    """One currency's aging at one month end."""

    currency: str
    buckets: tuple[Decimal, ...]
    unapplied: Decimal  # negative
    total: Decimal  # sum(buckets) + unapplied
    overdue: Decimal  # open items past due (due before the date)

    @property
    def open_items(self) -> Decimal:
        """The open items' total (the buckets, without unapplied cash)."""
        return sum(self.buckets, ZERO)

    @property
    def overdue_rate(self) -> Decimal | None:
        """Overdue as a share of the open items; None when nothing is open."""
        open_items = self.open_items
        return self.overdue / open_items if open_items else None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """The aging as of one month end (the last point is the as-of date)."""

    label: str  # "2026-10"
    as_of: date
    sections: tuple[TrendSection, ...]


def trend_dates(as_of: date, count: int = TREND_MONTHS) -> tuple[date, ...]:
    """The month ends of the last `count` months, oldest first, ending at as-of.

    The last point is as-of itself (a month end when the report is run for one);
    the others are the ends of the months before it.
    """
    days = [as_of]
    cursor = as_of.replace(day=1) - timedelta(days=1)
    while len(days) < count:
        days.append(cursor)
        cursor = cursor.replace(day=1) - timedelta(days=1)
    return tuple(reversed(days))


def trend_point(
    settlement: Settlement, basis: Basis, limits: Sequence[int]
) -> TrendPoint:
    """The aging totals of a settlement per currency, with what was overdue.

    The same sums as `aging.compute`'s section totals (a test holds them to
    it), without the per-customer rows the trend does not show.
    """
    from arledger.reports.aging import bucket_index, bucket_labels, item_days

    as_of = settlement.as_of
    count = len(bucket_labels(limits, basis))
    buckets: dict[str, list[Decimal]] = {}
    overdue: dict[str, Decimal] = {}
    unapplied: dict[str, Decimal] = {}
    # An item's bucket depends on its due (or issue) date alone: found once
    # per date, which many items share.
    bucket_of: dict[date, int] = {}
    items = settlement.items
    # Only the open ones, picked in C: as of a month end most items of a big
    # ledger are paid in full.
    for item in compress(items, map(_open, items)):
        currency = item.currency
        found = buckets.get(currency)
        if found is None:
            found = buckets[currency] = [ZERO] * count
            overdue[currency] = ZERO
        day = item.due if basis == "due" else item.date
        bucket = bucket_of.get(day)
        if bucket is None:
            bucket = bucket_of[day] = bucket_index(
                item_days(item, as_of, basis), limits, basis
            )
        found[bucket] += item.open
        if item.due < as_of:
            overdue[currency] += item.open
    for (_, currency), amount in settlement.unapplied().items():
        unapplied[currency] = unapplied.get(currency, ZERO) - amount
    sections = []
    for currency in sorted(buckets.keys() | unapplied.keys()):
        amounts = tuple(buckets.get(currency, [ZERO] * count))
        credit = unapplied.get(currency, ZERO)
        sections.append(
            TrendSection(
                currency,
                amounts,
                credit,
                sum(amounts, ZERO) + credit,
                overdue.get(currency, ZERO),
            )
        )
    label = f"{as_of.year:04d}-{as_of.month:02d}"
    return TrendPoint(label, as_of, tuple(sections))


@dataclass(frozen=True, slots=True)
class TrendResult:
    """The month-end aging of the last months, oldest first."""

    as_of: date
    basis: Basis
    limits: tuple[int, ...]
    labels: tuple[str, ...]  # the aging's bucket labels
    points: tuple[TrendPoint, ...]

    @property
    def currencies(self) -> list[str]:
        """Every currency with something open or unapplied at some point."""
        return sorted({s.currency for p in self.points for s in p.sections})


def compute(
    view: LedgerView,
    settlement: Settlement,
    *,
    months: int = TREND_MONTHS,
    basis: Basis | None = None,
    limits: Sequence[int] | None = None,
    read_back: Iterable[tuple[date, Settlement]] | None = None,
) -> TrendResult:
    """The aging totals as of each of the last `months` month ends.

    Args:
        view: the ledger as of the report date, with its filters.
        settlement: `settle(view)` with its history.
        months: how many points, the last being the view's date.
        basis: `due` or `invoice`; default from settings (as `aging.compute`).
        limits: bucket upper limits in days; default from settings.
        read_back: (day, settlement of that day) for the earlier month ends,
            in the order made, when the caller reads them back itself (the
            workbook reads its compare date in the same pass); other days
            are passed over.
    """
    from arledger.reports.aging import bucket_labels
    from arledger.settle import rewind_each, settle

    basis = basis or view.settings.aging.basis
    limits = tuple(limits or view.settings.aging.buckets)
    days = trend_dates(view.as_of, months)
    earlier = [day for day in days if day != view.as_of]
    if read_back is None and view.owner is None:
        # The ledger as it stood each month end, read from this settlement in
        # one pass.
        read_back = zip(earlier, rewind_each(settlement, view, earlier), strict=True)
    elif read_back is None:
        # An owner's view keeps only its items' applications: settle again.
        read_back = (
            (
                day,
                settle(
                    view.ledger.view(
                        day,
                        customers=view.customers,
                        owner=view.owner,
                        currency=view.currency,
                    )
                ),
            )
            for day in earlier
        )
    # Each day's settlement is let go once its totals are taken.
    points = {
        day: trend_point(past, basis, limits)
        for day, past in read_back
        if day in earlier
    }
    points[view.as_of] = trend_point(settlement, basis, limits)
    return TrendResult(
        view.as_of,
        basis,
        limits,
        bucket_labels(limits, basis),
        tuple(points[day] for day in days),
    )


# ---------------------------------------------------------------- to a report


def to_report(result: TrendResult) -> Report:
    """The trend as a `Report`: a section per currency, a row per month end."""
    count = len(result.points)
    as_of = result.as_of.isoformat()
    columns = (
        Column("month", "Month"),
        Column("month_end", "Month end", "date"),
        *(Column(label, label, "money") for label in result.labels),
        Column("unapplied", "Unapplied", "money"),
        Column("total", NET_AR, "money"),
        Column("overdue", "Overdue", "money"),
        Column("overdue_rate", "Overdue rate", "ratio"),
    )
    zeros = (ZERO,) * len(result.labels)
    sections = []
    for currency in result.currencies:
        rows = []
        for point in result.points:
            found = next((s for s in point.sections if s.currency == currency), None)
            if found is None:
                found = TrendSection(currency, zeros, ZERO, ZERO, ZERO)
            rows.append(
                {
                    "month": point.label,
                    "month_end": point.as_of,
                    **dict(zip(result.labels, found.buckets, strict=True)),
                    "unapplied": found.unapplied,
                    "total": found.total,
                    "overdue": found.overdue,
                    "overdue_rate": found.overdue_rate,
                }
            )
        sections.append(
            Section(
                currency,
                columns,
                tuple(rows),
                title=f"Month-end aging to {as_of} — {currency}",
            )
        )
    title = f"Month-end aging, last {count} months to {as_of}"
    meta = {"basis": result.basis, "buckets": list(result.labels)}
    return Report("trend", title, result.as_of, tuple(sections), meta)
