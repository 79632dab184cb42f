"""Collection plans (回款计划, SPEC §7): plan against actual per instalment, and
the plan achievement rate (回款计划达成率) per owner for a period.

Pure: a view and its settlement in, typed result out; every figure is
`arledger.plans.progress`, the one reading dunning, forecast and `--fail-on`
use.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arledger.dates import Period
from arledger.ledger import LedgerView
from arledger.money import ZERO, plain
from arledger.plans import InstalmentProgress, PlanProgress, progress
from arledger.render.values import ratio_text
from arledger.report import Column, Report, Section
from arledger.reports.collection import describe, ratio
from arledger.settle import Settlement


@dataclass(frozen=True, slots=True)
class OwnerAchievement:
    """An owner's plans in a period: the instalments due in it, and how much of
    them was covered by its end (or by as-of, when that comes first)."""

    owner: str | None
    planned: Decimal
    collected: Decimal

    @property
    def achievement(self) -> Decimal | None:
        """回款计划达成率 = collected / planned (None when nothing was planned)."""
        return ratio(self.collected, self.planned)


@dataclass(frozen=True, slots=True)
class CurrencyPlans:
    currency: str
    plans: tuple[PlanProgress, ...]
    owners: tuple[OwnerAchievement, ...]


@dataclass(frozen=True)
class PlansResult:
    as_of: date
    period: Period
    sections: tuple[CurrencyPlans, ...]
    # Every currency with records in the view: each has its section (SPEC §3).
    currencies: Callable[[], Collection[str]] = field(
        default=frozenset, compare=False, repr=False
    )


def compute(view: LedgerView, settlement: Settlement, period: Period) -> PlansResult:
    """Every plan's progress as of the view's date, and per owner for `period`.

    With an owner filter, the plans whose owner (the plan's, else its
    customer's) is that one.

    Args:
        view: the ledger as of a date, filtered.
        settlement: `settle(view)` with its history.
        period: the period of the achievement rate; instalments due in it
            count as planned even when they fall after as-of (the month's plan),
            collected is what was covered by its end or by as-of, if earlier.
    """
    found = [p for p in progress(view, settlement) if view.owner in (None, p.owner)]
    until = min(period.end, view.as_of)
    by_currency: dict[str, list[PlanProgress]] = {}
    for plan in found:
        by_currency.setdefault(plan.currency, []).append(plan)
    sections = []
    for currency in sorted(by_currency):
        plans = by_currency[currency]
        owners: dict[str | None, list[Decimal]] = {}
        for plan in plans:
            collected = plan.collected_by(until)
            for instalment, got in zip(plan.instalments, collected, strict=True):
                if period.start <= instalment.due <= period.end:
                    figures = owners.setdefault(plan.owner, [ZERO, ZERO])
                    figures[0] += instalment.planned
                    figures[1] += got
        sections.append(
            CurrencyPlans(
                currency,
                tuple(plans),
                tuple(
                    OwnerAchievement(owner, planned, collected)
                    for owner, (planned, collected) in sorted(
                        owners.items(), key=lambda kv: (kv[0] is None, kv[0] or "")
                    )
                ),
            )
        )
    return PlansResult(view.as_of, period, tuple(sections), view.currencies)


# ---------------------------------------------------------------- to a report

COLUMNS = (
    Column("plan", "Plan"),
    Column("customer", "Customer"),
    Column("instalment", "Inst.", "int"),
    Column("due", "Due", "date"),
    Column("planned", "Planned", "money"),
    Column("collected", "Collected", "money"),
    Column("covered", "Covered on", "date"),
    Column("status", "Status"),
    Column("shortfall", "Shortfall", "money", "bad"),
)
OWNER_COLUMNS = (
    Column("owner", "Owner"),
    Column("planned", "Planned", "money"),
    Column("collected", "Collected", "money"),
    Column("achievement", "Achievement", "ratio"),
)
NO_OWNER = "(no owner)"


def _row(plan: PlanProgress, instalment: InstalmentProgress) -> dict[str, object]:
    return {
        "plan": plan.id,
        "customer": plan.customer,
        "instalment": instalment.number,
        "due": instalment.due,
        "planned": instalment.planned,
        "collected": instalment.collected,
        "covered": instalment.covered,
        "status": instalment.status,
        "shortfall": instalment.shortfall,
    }


def to_report(result: PlansResult, fmt: str = "table") -> Report:
    """The plans report: per currency, one row per instalment.

    The achievement per owner is, in JSON, the section's `owners` list
    (`owner`, `planned`, `collected`, `achievement`); in a table, Markdown or a
    workbook, a table of its own after the currency's instalments; CSV holds
    the instalment rows only (one header line for the whole file).
    """
    period = result.period
    title = f"Collection plans as of {result.as_of.isoformat()}"
    empty = CurrencyPlans("", (), ())
    found = {s.currency: s for s in result.sections}
    sections: list[Section] = []
    for currency in sorted(found.keys() | set(result.currencies())):
        section = found.get(currency, empty)
        pairs = [(plan, i) for plan in section.plans for i in plan.instalments]
        rows = tuple(_row(plan, instalment) for plan, instalment in pairs)
        totals = {
            "planned": sum((i.planned for _, i in pairs), ZERO),
            "collected": sum((i.collected for _, i in pairs), ZERO),
            "shortfall": sum((i.shortfall for _, i in pairs), ZERO),
        }
        summary: tuple[tuple[Column, object], ...] = ()
        if fmt == "json":
            summary = (
                (
                    Column("owners", "Achievement by owner"),
                    [
                        {
                            "owner": o.owner,
                            "planned": plain(o.planned, currency),
                            "collected": plain(o.collected, currency),
                            "achievement": (
                                ratio_text(o.achievement)
                                if o.achievement is not None
                                else None
                            ),
                        }
                        for o in section.owners
                    ],
                ),
            )
        sections.append(
            Section(
                currency,
                COLUMNS,
                rows,
                totals,
                title=f"{title} — {currency}",
                summary=summary,
            )
        )
        if fmt not in ("json", "csv") and section.plans:
            owner_rows = tuple(
                {
                    "owner": o.owner if o.owner is not None else NO_OWNER,
                    "planned": o.planned,
                    "collected": o.collected,
                    "achievement": o.achievement,
                }
                for o in section.owners
            )
            planned = sum((o.planned for o in section.owners), ZERO)
            collected = sum((o.collected for o in section.owners), ZERO)
            sections.append(
                Section(
                    currency,
                    OWNER_COLUMNS,
                    owner_rows,
                    {
                        "planned": planned,
                        "collected": collected,
                        "achievement": ratio(collected, planned),
                    },
                    title=(
                        f"Plan achievement (回款计划达成率) by owner, "
                        f"{describe(period)} — {currency}"
                    ),
                )
            )
    meta = {"period": period.label, "from": period.start, "to": period.end}
    return Report("plans", title, result.as_of, tuple(sections), meta)
