"""Cash forecast (回款预测): when the open items are expected to be paid.

Pure: settlement in, typed result out. Payment behaviour comes from `history`,
promises from `promises`, credit holds from the aging, so the forecast agrees
with `risk`, `overdue` and `aging` to the cent.

The rule (SPEC §2, "Forecast"): each open item is expected on its due date plus
the customer's amount-weighted average days late (rounded to whole days; 0
without history), never before as-of. A customer's open promise to pay (its
latest promise, not yet kept or broken) overrides that estimate for the amount
promised. The items a collection plan in force covers (SPEC §7: no instalment
missed) are expected on its instalment dates, for what is left of each
instalment, up to what they have open. Disputed items and the overdue items of
customers on credit hold are set apart as "not expected"; unapplied credit is a
line of its own. So every section adds up to the customer's aging total.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, NamedTuple

from arledger.dates import Period, month_of
from arledger.history import PaymentHistory, payment_history
from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.plans import PlanProgress, in_force, progress
from arledger.promises import Promise, latest_promise, promises
from arledger.report import (
    NET_AR_LONG,
    OPEN_ITEMS,
    Column,
    Report,
    Row,
    Section,
    every_currency,
)
from arledger.reports import aging
from arledger.settle import Item, Settlement

By = Literal["week", "month"]
BY_CHOICES: tuple[By, ...] = ("week", "month")
DEFAULT_HORIZON = 13
MAX_HORIZON = 520  # ten years of weeks: far enough for any plan, small enough to print

# Where a forecast line goes: a period, or one of these.
Basis = Literal[
    "history", "no history", "promise", "plan", "disputed", "hold", "unapplied"
]
# The bases of cash the customer has agreed to pay: "Of which promised".
AGREED = ("promise", "plan")
LATER = "later"
SET_APART: dict[str, str] = {
    "disputed": "not expected: disputed",
    "hold": "not expected: on hold",
    "unapplied": "unapplied credit",
}


class ForecastLine(NamedTuple):
    """An open item (or the part of it a promise covers), placed in time.

    `expected` is None for what is set apart (disputed, on hold) and for
    unapplied credit, whose `amount` is negative. A NamedTuple rather than a
    frozen dataclass (as settle.Item): as immutable, and several times cheaper
    to create, one per open item.
    """

    customer: str
    currency: str
    invoice: str | None  # None for unapplied credit
    instalment: int | None
    ref: str | None  # the payment or adjustment of unapplied credit
    due: date | None
    amount: Decimal
    overdue: bool  # due before as-of
    basis: Basis
    shift: int | None  # days added to the due date (history), else None
    expected: date | None
    period: str | None  # the period's label, LATER, or None when set apart


@dataclass(frozen=True, slots=True)
class PeriodCash:
    period: Period
    expected: Decimal
    overdue: Decimal  # of which items already past due at as-of
    promised: Decimal  # of which covered by a promise to pay or a plan
    items: int


@dataclass(frozen=True, slots=True)
class CurrencyForecast:
    currency: str
    periods: tuple[PeriodCash, ...]
    later: Decimal  # expected after the horizon
    disputed: Decimal  # not expected: disputed items
    on_hold: Decimal  # not expected: overdue items of customers on credit hold
    unapplied: Decimal  # negative: credit already received, not yet applied
    aging_total: Decimal  # the aging report's total, for the reconciliation
    lines: tuple[ForecastLine, ...]

    @property
    def within_horizon(self) -> Decimal:
        return sum((p.expected for p in self.periods), ZERO)

    @property
    def open_items(self) -> Decimal:
        """Every open item: expected, later, or set apart."""
        return self.within_horizon + self.later + self.disputed + self.on_hold

    @property
    def total(self) -> Decimal:
        """Open items less unapplied credit: equals the aging total."""
        return self.open_items + self.unapplied


@dataclass(frozen=True)
class ForecastResult:
    as_of: date
    by: By
    horizon: int
    periods: tuple[Period, ...]
    sections: tuple[CurrencyForecast, ...]
    names: dict[str, str] = field(default_factory=dict)  # customer id -> name
    # Every currency with records in the view (`view.currencies`, asked only
    # when the report is shaped): each has a section in the report, with zeros
    # when nothing is in it (SPEC §3; report.every_currency).
    currencies: Callable[[], Collection[str]] = field(
        default=frozenset, compare=False, repr=False
    )


# ---------------------------------------------------------------- periods


def forecast_periods(as_of: date, by: By, horizon: int) -> tuple[Period, ...]:
    """The `horizon` weeks (Monday to Sunday) or months from as-of on.

    Records dated as-of are already in the ledger, so the forecast is about the
    days after it: the first period is the one that holds the day after as-of,
    stretched back to start on as-of (cash is never expected before as-of, and
    what is already late is expected now). At a month-end, `--by month` thus
    starts with the next month, not with a one-day stub.
    """
    anchor = as_of + timedelta(days=1)
    result = []
    if by == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        for n in range(horizon):
            start = monday + timedelta(weeks=n)
            year, week, _ = start.isocalendar()
            end = start + timedelta(days=6)
            first = as_of if n == 0 else start
            result.append(Period(first, end, f"{year}-W{week:02d}"))
    else:
        month = month_of(anchor)
        for n in range(horizon):
            first = as_of if n == 0 else month.start
            result.append(Period(first, month.end, month.label))
            month = month_of(month.end + timedelta(days=1))
    return tuple(result)


def round_days(days: Decimal) -> int:
    """Whole days, half away from zero (4.5 -> 5, -4.5 -> -5)."""
    return int(days.to_integral_value(rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- compute


def _engine_order(item: Item) -> tuple[date, date, str, int]:
    # SPEC §2: the order cash is applied in (oldest due, then issue date, then id),
    # so a promised amount covers the items the payment will settle.
    return (item.due, item.date, item.invoice, item.instalment or 0)


def compute(
    view: LedgerView,
    settlement: Settlement,
    *,
    by: By = "week",
    horizon: int = DEFAULT_HORIZON,
    history: Mapping[str, PaymentHistory] | None = None,
    aged: aging.AgingResult | None = None,
    found_promises: list[Promise] | None = None,
) -> ForecastResult:
    """Expected cash per week or month (SPEC §2, "Forecast").

    Args:
        view: the view the settlement was made from (contacts, settings).
        settlement: items with open balances as of `view.as_of`.
        by: "week" (Monday to Sunday) or "month".
        horizon: how many periods; what is expected after them is "later".
        history, aged: `payment_history(settlement)` and
            `aging.compute(view, settlement)`, when already made (the
            workbook's risk and aging sheets read them too).
        found_promises: `promises(view, settlement)`, when already made (the
            workbook's overdue and risk sheets read them too).

    Returns:
        One section per currency; each adds up to the aging total.
    """
    if by not in BY_CHOICES:
        raise ValueError(f"by must be week or month, not {by!r}")
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"horizon must be 1 to {MAX_HORIZON} periods")
    as_of = view.as_of
    periods = forecast_periods(as_of, by, horizon)
    labels = [p.label for p in periods]

    if history is None:
        history = payment_history(settlement)
    shifts = {
        customer: round_days(h.average_days_late)
        for customer, h in history.items()
        if h.average_days_late is not None
    }
    if aged is None:
        aged = aging.compute(view, settlement)
    held = {r.customer for s in aged.sections for r in s.customers if r.hold}
    aging_totals = {s.currency: s.total for s in aged.sections}
    # A customer's latest promise, when still open, overrides the estimate for the
    # amount promised less what was paid since (an earlier one is superseded).
    # A promise is made in the customer's own currency.
    open_promises = {
        (p.customer, view.ledger.customer_currency(p.customer)): p
        for p in latest_promise(
            promises(view, settlement) if found_promises is None else found_promises
        ).values()
        if p.status == "open"
    }
    plans = in_force(progress(view, settlement))

    accounts: dict[tuple[str, str], list[Item]] = {}
    for item in settlement.items:
        if item.open:
            accounts.setdefault((item.customer, item.currency), []).append(item)

    ends = [p.end for p in periods]

    def period_of(expected: date | None) -> str | None:
        """The period a line is expected in (later: after the horizon)."""
        if expected is None:
            return None
        index = bisect_left(ends, expected)
        return labels[index] if index < len(labels) else LATER

    lines: list[ForecastLine] = []
    for (customer, currency), items in sorted(accounts.items()):
        promise = open_promises.get((customer, currency))
        in_plans = plans.get((customer, currency), ())
        promised: dict[tuple[str, int | None], Decimal] = {}
        planned: dict[tuple[str, int | None], list[tuple[date, Decimal]]] = {}
        promise_day = as_of
        if promise is not None or in_plans:
            # What a promise or a plan covers follows the engine's order. Else
            # the order of an account's items does not matter: each item's
            # lines are sorted below by a key that tells items apart.
            items.sort(key=_engine_order)
            if promise is not None:
                promised = _promised(items, promise)
                promise_day = promise.due
            planned = _planned(items, in_plans, promised)
        shift = shifts.get(customer)
        days = shift if shift is not None else 0
        delay = timedelta(days=days)
        basis: Basis = "history" if shift is not None else "no history"
        for item in items:
            rest = item.open
            if promised or planned:
                key = item.key
                take = promised.get(key, ZERO)
                if take:
                    lines.append(
                        _item_line(
                            item,
                            take,
                            "promise",
                            promise_day,
                            None,
                            as_of,
                            period_of(promise_day),
                        )
                    )
                    rest -= take
                for day, part in planned.get(key, ()):
                    expected = max(day, as_of)
                    lines.append(
                        _item_line(
                            item,
                            part,
                            "plan",
                            expected,
                            None,
                            as_of,
                            period_of(expected),
                        )
                    )
                    rest -= part
                if not rest:
                    continue
            if item.disputed:
                # Not expected until the dispute is settled, whatever its due date;
                # cash is not applied to it unless named (README, "Disputed").
                lines.append(
                    _item_line(item, rest, "disputed", None, None, as_of, None)
                )
                continue
            if item.due < as_of and item.customer in held:
                lines.append(_item_line(item, rest, "hold", None, None, as_of, None))
                continue
            expected = max(item.due + delay, as_of)
            lines.append(
                _item_line(
                    item, rest, basis, expected, days, as_of, period_of(expected)
                )
            )

    for credit in settlement.credits:
        lines.append(
            ForecastLine(
                customer=credit.customer,
                currency=credit.currency,
                invoice=None,
                instalment=None,
                ref=credit.ref,
                due=None,
                amount=-credit.amount,
                overdue=False,
                basis="unapplied",
                shift=None,
                expected=None,
                period=None,
            )
        )

    rank = {label: n for n, label in enumerate(labels)}
    rank[LATER] = len(labels)
    by_currency: dict[str, list[ForecastLine]] = {}
    for forecast_line in lines:
        by_currency.setdefault(forecast_line.currency, []).append(forecast_line)

    def order(f: ForecastLine) -> tuple:
        # Periods in order, then later, then what is set apart.
        where = (
            rank[f.period]
            if f.period is not None
            else len(labels) + 1 + list(SET_APART).index(f.basis)
        )
        return (
            where,
            f.expected or date.max,
            f.customer,
            f.due or date.max,
            f.invoice or "",
            f.instalment or 0,
            f.ref or "",
        )

    sections = []
    for currency in sorted(by_currency):
        found = sorted(by_currency[currency], key=order)
        # Per period: expected, of which overdue, of which promised; and a count.
        cash = {label: [ZERO, ZERO, ZERO] for label in labels}
        counts = dict.fromkeys(labels, 0)
        later = disputed = on_hold = unapplied = ZERO
        for f in found:
            if f.period == LATER:
                later += f.amount
            elif f.period is not None:
                row = cash[f.period]
                row[0] += f.amount
                if f.overdue:
                    row[1] += f.amount
                if f.basis in AGREED:
                    row[2] += f.amount
                counts[f.period] += 1
            elif f.basis == "disputed":
                disputed += f.amount
            elif f.basis == "hold":
                on_hold += f.amount
            else:
                unapplied += f.amount
        period_cash = []
        for p in periods:
            row = cash[p.label]
            period_cash.append(
                PeriodCash(p, row[0], row[1], row[2], items=counts[p.label])
            )
        sections.append(
            CurrencyForecast(
                currency=currency,
                periods=tuple(period_cash),
                later=later,
                disputed=disputed,
                on_hold=on_hold,
                unapplied=unapplied,
                aging_total=aging_totals.get(currency, ZERO),
                lines=tuple(found),
            )
        )
    customers = view.ledger.customers
    names = {
        line.customer: customers[line.customer].name
        for line in lines
        if line.customer in customers
    }
    return ForecastResult(
        as_of, by, horizon, periods, tuple(sections), names, view.currencies
    )


def _promised(
    items: list[Item], promise: Promise
) -> dict[tuple[str, int | None], Decimal]:
    """How much of each open item a promise to pay covers.

    The promised amount, less what was paid since the promise was made, goes
    where the payment will go (SPEC §2): to the invoice the promise names, if
    any, then oldest due first over undisputed items. A promise without an
    amount covers the invoice it names, else what falls due by its date.

    Args:
        items: one customer's open items in one currency, in the engine's order.
        promise: its latest promise, still open.
    """
    named = promise.contact.invoice
    mine = [i for i in items if i.invoice == named]
    others = [i for i in items if i.invoice != named and not i.disputed]
    if promise.amount is None:
        covered = mine if named else [i for i in others if i.due <= promise.due]
        return {i.key: i.open for i in covered}
    budget = max(promise.amount - promise.paid, ZERO)
    result: dict[tuple[str, int | None], Decimal] = {}
    for item in (*mine, *others):
        if budget <= 0:
            break
        take = min(item.open, budget)
        result[item.key] = take
        budget -= take
    return result


def _planned(
    items: list[Item],
    plans: Iterable[PlanProgress],
    promised: dict[tuple[str, int | None], Decimal],
) -> dict[tuple[str, int | None], list[tuple[date, Decimal]]]:
    """When the items of plans in force are expected: (instalment date, amount)
    per item.

    What is left of each instalment still open, in due order, goes to the
    plan's items in the order cash is applied (SPEC §2), up to what each has
    open beyond a promise's part; disputed items only when the plan names
    their invoice.

    Args:
        items: one customer's open items in one currency, in the engine's order.
        plans: its plans in force in that currency, oldest first.
        promised: what a promise already covers of each item (`_promised`).
    """
    left = {i.key: i.open - promised.get(i.key, ZERO) for i in items}
    result: dict[tuple[str, int | None], list[tuple[date, Decimal]]] = {}
    for plan in plans:
        named = plan.plan.invoices or ()
        mine = [
            i
            for i in items
            if plan.covers(i) and (not i.disputed or i.invoice in named)
        ]
        for instalment in plan.instalments:
            if instalment.status != "open":
                continue
            budget = instalment.rest
            for item in mine:
                if budget <= 0:
                    break
                take = min(left[item.key], budget)
                if take > 0:
                    result.setdefault(item.key, []).append((instalment.due, take))
                    left[item.key] -= take
                    budget -= take
    return result


def _item_line(
    item: Item,
    amount: Decimal,
    basis: Basis,
    expected: date | None,
    shift: int | None,
    as_of: date,
    period: str | None,
) -> ForecastLine:
    return ForecastLine(
        item.customer,
        item.currency,
        item.invoice,
        item.instalment,
        None,  # ref
        item.due,
        amount,
        item.due < as_of,  # overdue
        basis,
        shift,
        expected,
        period,
    )


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, ZERO)


# ---------------------------------------------------------------- to a report


def to_report(result: ForecastResult, *, detail: bool = False) -> Report:
    """The forecast as a `Report`: by period, or by item with `detail`."""
    unit = "week" if result.by == "week" else "month"
    title = f"Cash forecast by {unit} as of {result.as_of.isoformat()}"
    sections = tuple(
        _detail_section(result, s) if detail else _period_section(result, s)
        for s in every_currency(result.sections, result.currencies(), _nothing(result))
    )
    meta = {"by": result.by, "horizon": result.horizon}
    return Report("forecast", title, result.as_of, sections, meta)


def _nothing(result: ForecastResult) -> Callable[[str], CurrencyForecast]:
    """The section of a currency with nothing open: every period at zero."""
    periods = tuple(PeriodCash(p, ZERO, ZERO, ZERO, items=0) for p in result.periods)
    return lambda currency: CurrencyForecast(
        currency, periods, ZERO, ZERO, ZERO, ZERO, ZERO, ()
    )


PERIOD_COLUMNS = (
    Column("period", "Period"),
    Column("from", "From", "date"),
    Column("to", "To", "date"),
    Column("items", "Items", "int"),
    Column("overdue", "Of which overdue", "money", "late"),
    Column("promised", "Of which promised", "money"),
    Column("expected", "Expected", "money"),
    Column("cumulative", "Cumulative", "money"),
)


def _period_section(result: ForecastResult, section: CurrencyForecast) -> Section:
    rows: list[Row] = []
    running = ZERO
    for cash in section.periods:
        running += cash.expected
        rows.append(
            {
                "period": cash.period.label,
                "from": cash.period.start,
                "to": cash.period.end,
                "items": cash.items,
                "overdue": cash.overdue,
                "promised": cash.promised,
                "expected": cash.expected,
                "cumulative": running,
            }
        )
    later = [f for f in section.lines if f.period == LATER]
    running += section.later
    rows.append(
        {
            "period": LATER,
            "from": result.periods[-1].end + timedelta(days=1),
            "to": None,
            "items": len(later),
            "overdue": _sum(f.amount for f in later if f.overdue),
            "promised": _sum(f.amount for f in later if f.basis in AGREED),
            "expected": section.later,
            "cumulative": running,
        }
    )
    for basis, label in SET_APART.items():
        mine = [f for f in section.lines if f.basis == basis]
        rows.append(
            {
                "period": label,
                "from": None,
                "to": None,
                "items": len(mine),
                "overdue": _sum(f.amount for f in mine if f.overdue),
                "promised": ZERO,
                "expected": _sum(f.amount for f in mine),
                "cumulative": None,
            }
        )
    totals = {
        "items": sum(r["items"] for r in rows),
        "overdue": _sum(r["overdue"] for r in rows),
        "promised": _sum(r["promised"] for r in rows),
        "expected": _sum(r["expected"] for r in rows),
    }
    unit = "weeks" if result.by == "week" else "months"
    within = Column("within_horizon", f"Expected in {result.horizon} {unit}", "money")
    return Section(
        section.currency,
        PERIOD_COLUMNS,
        tuple(rows),
        totals,
        title=(
            f"Cash forecast by {result.by} as of {result.as_of.isoformat()} "
            f"— {section.currency}"
        ),
        summary=(
            (within, section.within_horizon),
            (Column("open_items", OPEN_ITEMS, "money"), section.open_items),
            (
                Column("aging_total", NET_AR_LONG, "money"),
                section.aging_total,
            ),
        ),
    )


DETAIL_COLUMNS = (
    Column("customer", "Customer"),
    Column("name", "Name"),
    Column("invoice", "Invoice"),
    Column("item", "Inst.", "int"),
    Column("due", "Due", "date"),
    Column("basis", "Basis"),
    Column("shift", "Shift", "days"),
    Column("expected", "Expected", "date"),
    Column("period", "Period"),
    Column("amount", "Amount", "money"),
)


def _detail_section(result: ForecastResult, section: CurrencyForecast) -> Section:
    rows = tuple(
        {
            "customer": f.customer,
            "name": result.names.get(f.customer, f.customer),
            "invoice": f.invoice if f.invoice is not None else f.ref,
            "item": f.instalment,
            "due": f.due,
            "basis": f.basis,
            "shift": f.shift,
            "expected": f.expected,
            "period": f.period if f.period is not None else SET_APART[f.basis],
            "amount": f.amount,
        }
        for f in section.lines
    )
    return Section(
        section.currency,
        DETAIL_COLUMNS,
        rows,
        {"amount": _sum(f.amount for f in section.lines)},
        title=(f"Forecast items as of {result.as_of.isoformat()} — {section.currency}"),
    )
