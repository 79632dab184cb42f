"""Credit risk: exposure against credit limits, holds (停止发货), computed grades.

The computed grade comes from a points scorecard anyone can check by hand
(`scorecard`, the grade bands of `risk.bands` in the settings; the README prints
it as a table). Pure: settlement and view in, typed result out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import TYPE_CHECKING, Literal

from arledger.credit import days_past_due, hold_reasons
from arledger.history import PaymentHistory, payment_history
from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.report import NET_AR, Column, Report, Section, every_currency
from arledger.reports.overdue import (
    FOLLOW_UP_COLUMNS,
    NO_FOLLOW_UP,
    FollowUp,
    follow_up_row,
    follow_ups,
)
from arledger.settle import Settlement

if TYPE_CHECKING:
    from arledger.model import Settings

Grade = Literal["A", "B", "C", "D"]

# ---------------------------------------------------------------- the scorecard
#
# Penalty points per factor, added up; the grade is read from the total. Each
# band is (upper bound inclusive, points), the first that fits wins. README.md
# prints this as a table: keep the two in step.

ON_TIME_BOUND = Decimal("0.50")  # less than half the cash paid by its due date
ON_TIME_POINTS = 1
NO_HISTORY_POINTS = 2  # nothing paid yet: unproven, so at best B
# Average days late, amount-weighted (negative = early).
DAYS_LATE_BANDS: tuple[tuple[int, int], ...] = ((5, 0), (15, 1), (30, 2), (60, 3))
DAYS_LATE_WORST = 4
# Oldest undisputed overdue item, days past due (none overdue: 0 points).
OLDEST_BANDS: tuple[tuple[int, int], ...] = ((30, 0), (60, 1), (90, 2))
OLDEST_WORST = 4
BROKEN_PROMISE_POINTS = 1  # per broken promise to pay ...
BROKEN_PROMISES_MAX = 3  # ... at most
OVER_LIMIT_POINTS = 2  # exposure above the credit limit
WRITE_OFF_POINTS = 4  # any bad debt written off (坏账核销)
# Grade from the total: the defaults of `risk.bands` (model.RiskBands), the
# most points each grade allows.
GRADE_BANDS: tuple[tuple[int, Grade], ...] = ((1, "A"), (3, "B"), (6, "C"))
GRADE_WORST: Grade = "D"
Bands = tuple[tuple[int, Grade], ...]

# The factors of the scorecard, in the README's order: the names of JSON's
# `points_by_factor` and of the --detail columns.
FACTORS = (
    "on_time",
    "days_late",
    "oldest",
    "broken_promises",
    "over_limit",
    "written_off",
)
_factor_points = attrgetter(*FACTORS)


@dataclass(frozen=True, slots=True)
class Scorecard:
    """The points behind a computed grade, factor by factor."""

    on_time: int
    days_late: int
    oldest: int
    broken_promises: int
    over_limit: int
    written_off: int
    bands: Bands = GRADE_BANDS

    def by_factor(self) -> dict[str, int]:
        """The points of each factor (`FACTORS`): they add up to `points`."""
        return dict(zip(FACTORS, _factor_points(self), strict=True))

    @property
    def points(self) -> int:
        return sum(_factor_points(self))

    @property
    def grade(self) -> Grade:
        return grade_of(self.points, self.bands)


def bands_of(settings: Settings) -> Bands:
    """The grade bands of the settings (`risk.bands`: the most points of A, B, C)."""
    bands = settings.risk.bands
    return ((bands.A, "A"), (bands.B, "B"), (bands.C, "C"))


def grade_of(points: int, bands: Bands = GRADE_BANDS) -> Grade:
    """The grade of a total; by default 0–1 A, 2–3 B, 4–6 C, 7 or more D."""
    for bound, grade in bands:
        if points <= bound:
            return grade
    return GRADE_WORST


def _banded(value: int | Decimal, bands: Sequence[tuple[int, int]], worst: int) -> int:
    for bound, points in bands:
        if value <= bound:
            return points
    return worst


def scorecard(
    *,
    on_time_ratio: Decimal | None,
    average_days_late: Decimal | None,
    oldest_days: int | None,
    broken_promises: int,
    over_limit: bool,
    written_off: bool,
    bands: Bands = GRADE_BANDS,
) -> Scorecard:
    """Score a customer's history (the README's scorecard table).

    Args:
        on_time_ratio: share of collected cash paid by the due date (None: no
            payments yet).
        average_days_late: amount-weighted days after due (None: no payments).
        oldest_days: days past due of the oldest undisputed open item (None:
            nothing overdue).
        broken_promises: promises to pay whose date passed unpaid.
        over_limit: exposure above the credit limit.
        written_off: any of its debt was written off.
        bands: the most points of grades A, B and C (`bands_of(settings)`).
    """
    if on_time_ratio is None:
        on_time = NO_HISTORY_POINTS
    else:
        on_time = ON_TIME_POINTS if on_time_ratio < ON_TIME_BOUND else 0
    days_late = (
        0
        if average_days_late is None
        else _banded(average_days_late, DAYS_LATE_BANDS, DAYS_LATE_WORST)
    )
    oldest = (
        0 if oldest_days is None else _banded(oldest_days, OLDEST_BANDS, OLDEST_WORST)
    )
    return Scorecard(
        on_time,
        days_late,
        oldest,
        min(broken_promises * BROKEN_PROMISE_POINTS, BROKEN_PROMISES_MAX),
        OVER_LIMIT_POINTS if over_limit else 0,
        WRITE_OFF_POINTS if written_off else 0,
        bands,
    )


# ---------------------------------------------------------------- the report


@dataclass(frozen=True, slots=True)
class CustomerRisk:
    customer: str
    name: str
    key_account: bool
    exposure: Decimal  # open items less unapplied cash (as in the aging total)
    credit_limit: Decimal | None  # None: no limit, or not in this currency
    overdue: Decimal  # open items past due, disputed ones included
    written_off: Decimal  # bad debt written off so far, this currency
    oldest_days: int | None  # oldest undisputed overdue item (None: none)
    on_time_ratio: Decimal | None
    average_days_late: Decimal | None
    follow_up: FollowUp
    assigned: Grade | None
    score: Scorecard
    hold: tuple[str, ...]  # reasons for a credit hold; empty when none

    @property
    def limit_used(self) -> Decimal | None:
        """% of the credit limit used (None without a limit)."""
        limit = self.credit_limit
        return self.exposure / limit if limit else None


@dataclass(frozen=True, slots=True)
class CurrencyRisk:
    currency: str
    customers: tuple[CustomerRisk, ...]
    exposure: Decimal
    overdue: Decimal

    @property
    def on_hold(self) -> int:
        return sum(1 for c in self.customers if c.hold)

    @property
    def exposure_on_hold(self) -> Decimal:
        return sum((c.exposure for c in self.customers if c.hold), ZERO)


@dataclass(frozen=True)
class RiskResult:
    as_of: date
    hold_days: int
    holds_only: bool
    sections: tuple[CurrencyRisk, ...]
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
    holds_only: bool = False,
    history: Mapping[str, PaymentHistory] | None = None,
    follow: Mapping[str, FollowUp] | None = None,
) -> RiskResult:
    """Each customer's credit risk per currency (SPEC §2, "Risk").

    Args:
        view: the view the settlement was made from (customers, contacts).
        settlement: items with open balances as of `view.as_of`.
        holds_only: keep only customers on credit hold (the stop-shipping list).
        history: `payment_history(settlement)`, when already made (the
            workbook's forecast reads it too).
        follow: `overdue.follow_ups(view, settlement)`, when already made
            (the workbook's overdue sheet reads them too).

    Returns:
        Sections per currency; customers on hold first, then by points (worst
        first), then by exposure.
    """
    as_of = view.as_of
    ledger = view.ledger
    hold_days = view.settings.credit.hold_days
    bands = bands_of(view.settings)
    if history is None:
        history = payment_history(settlement)
    if follow is None:
        follow = follow_ups(view, settlement)
    unapplied = settlement.unapplied()
    written_off: dict[tuple[str, str], Decimal] = {}
    for application in settlement.history_of():
        if application.kind == "write_off":
            key = (application.customer, application.currency)
            written_off[key] = written_off.get(key, ZERO) + application.amount
    bad_debtors = {customer for customer, _ in written_off}

    # Every account with an item, open or paid (a settlement without its paid
    # items knows them too), then the open items' figures.
    accounts: dict[tuple[str, str], list[Decimal]] = {  # open, overdue
        key: [ZERO, ZERO] for key in settlement.item_accounts()
    }
    # Decision (README, "Disputed invoices"): a dispute is not late payment:
    # it neither holds a customer nor lowers its grade.
    oldest = days_past_due(settlement, as_of)
    for item in settlement.items:
        if not item.open:
            continue
        figures = accounts[(item.customer, item.currency)]
        figures[0] += item.open
        if item.due < as_of:
            figures[1] += item.open
    for key in unapplied:
        accounts.setdefault(key, [ZERO, ZERO])

    rows: dict[str, list[CustomerRisk]] = {}
    for (customer_id, currency), (open_total, overdue) in accounts.items():
        customer = ledger.customers.get(customer_id)
        exposure = open_total - unapplied.get((customer_id, currency), ZERO)
        own_currency = ledger.customer_currency(customer_id) == currency
        limit = customer.credit_limit if customer and own_currency else None
        reasons = hold_reasons(
            customer,
            exposure=exposure if own_currency else None,
            max_days_past_due=oldest.get(customer_id, 0),
            hold_days=hold_days,
        )
        if holds_only and not reasons:
            continue
        paid = history.get(customer_id)
        on_time = paid.on_time_ratio if paid else None
        days_late = paid.average_days_late if paid else None
        follow_up = follow.get(customer_id, NO_FOLLOW_UP)
        score = scorecard(
            on_time_ratio=on_time,
            average_days_late=days_late,
            oldest_days=oldest.get(customer_id),
            broken_promises=follow_up.broken,
            over_limit=limit is not None and exposure > limit,
            written_off=customer_id in bad_debtors,
            bands=bands,
        )
        rows.setdefault(currency, []).append(
            CustomerRisk(
                customer=customer_id,
                name=customer.name if customer else customer_id,
                key_account=bool(customer and customer.key_account),
                exposure=exposure,
                credit_limit=limit,
                overdue=overdue,
                written_off=written_off.get((customer_id, currency), ZERO),
                oldest_days=oldest.get(customer_id),
                on_time_ratio=on_time,
                average_days_late=days_late,
                follow_up=follow_up,
                assigned=customer.grade if customer else None,
                score=score,
                hold=reasons,
            )
        )
    sections = []
    for currency in sorted(rows):
        found = sorted(
            rows[currency],
            key=lambda r: (not r.hold, -r.score.points, -r.exposure, r.customer),
        )
        sections.append(
            CurrencyRisk(
                currency,
                tuple(found),
                sum((r.exposure for r in found), ZERO),
                sum((r.overdue for r in found), ZERO),
            )
        )
    return RiskResult(as_of, hold_days, holds_only, tuple(sections), view.currencies)


COLUMNS = (
    Column("customer", "Customer"),
    Column("name", "Name"),
    Column("exposure", NET_AR, "money"),
    Column("credit_limit", "Limit", "money"),
    Column("limit_used", "Used", "ratio"),
    Column("overdue", "Overdue", "money", "late"),
    Column("oldest_days", "Oldest", "days", "late"),
    Column("on_time_ratio", "On time", "ratio"),
    Column("avg_days_late", "Days late", "days"),
    Column("broken_promises", "Broken", "int", "bad"),
    Column("written_off", "Written off", "money", "bad"),
    *FOLLOW_UP_COLUMNS,
    Column("grade", "Grade"),
    Column("computed_grade", "Computed"),
    Column("points", "Points", "int"),
    Column("key_account", "Key", "flag", "key", "★"),
    Column("hold", "Hold", "flag", "bad", "HOLD"),
    Column("hold_reasons", "Why"),
)
# --detail: the points of each factor, before the total.
FACTOR_COLUMNS = (
    Column("points_on_time", "On time pts", "int"),
    Column("points_days_late", "Days late pts", "int"),
    Column("points_oldest", "Oldest pts", "int"),
    Column("points_broken_promises", "Broken pts", "int"),
    Column("points_over_limit", "Over limit pts", "int"),
    Column("points_written_off", "Written off pts", "int"),
)


def columns(detail: bool) -> tuple[Column, ...]:
    """The report's columns; with `detail`, each factor's points before `points`."""
    if not detail:
        return COLUMNS
    at = next(n for n, c in enumerate(COLUMNS) if c.key == "points")
    return COLUMNS[:at] + FACTOR_COLUMNS + COLUMNS[at:]


def to_report(result: RiskResult, *, detail: bool = False) -> Report:
    """The risk report: one row per customer and currency.

    Every row carries `points_by_factor` (JSON only); `detail` also shows each
    factor's points as a column.
    """
    shown = columns(detail)
    sections = []
    for section in every_currency(
        result.sections,
        result.currencies(),
        lambda currency: CurrencyRisk(currency, (), ZERO, ZERO),
    ):
        rows = tuple(
            {
                "customer": r.customer,
                "name": r.name,
                "exposure": r.exposure,
                "credit_limit": r.credit_limit,
                "limit_used": r.limit_used,
                "overdue": r.overdue,
                "oldest_days": r.oldest_days,
                "on_time_ratio": r.on_time_ratio,
                "avg_days_late": r.average_days_late,
                "broken_promises": r.follow_up.broken,
                "written_off": r.written_off,
                **follow_up_row(r.follow_up),
                "grade": r.assigned,
                "computed_grade": r.score.grade,
                "points": r.score.points,
                "points_by_factor": r.score.by_factor(),
                **(
                    {f"points_{k}": v for k, v in r.score.by_factor().items()}
                    if detail
                    else {}
                ),
                "key_account": r.key_account,
                "hold": bool(r.hold),
                "hold_reasons": "; ".join(r.hold) or None,
            }
            for r in section.customers
        )
        heading = "Credit holds" if result.holds_only else "Credit risk"
        sections.append(
            Section(
                section.currency,
                shown,
                rows,
                {"exposure": section.exposure, "overdue": section.overdue},
                title=f"{heading} as of {result.as_of.isoformat()} — "
                f"{section.currency}",
                summary=(
                    (Column("on_hold", "Customers on hold", "int"), section.on_hold),
                    (
                        Column("exposure_on_hold", f"{NET_AR} on hold", "money"),
                        section.exposure_on_hold,
                    ),
                ),
            )
        )
    heading = "Credit holds" if result.holds_only else "Credit risk"
    title = f"{heading} as of {result.as_of.isoformat()}"
    meta = {"hold_days": result.hold_days}
    return Report("risk", title, result.as_of, tuple(sections), meta)
