"""Collection plans (回款计划, SPEC §7): how far each plan has got, and what it covers.

Pure: a view and its settlement in, findings out. What counts towards a plan is
what the settlement applied (cash only: kind "payment"), never a second reading
of the payments, as for promises (arledger/promises.py). Used by `plans`,
dunning, forecast and `--fail-on broken-plan`, so they agree on which plan is
kept, in force or broken.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.settle import Item, Settlement

if TYPE_CHECKING:  # the models import pydantic, which reading a plan needs not
    from arledger.model import Plan

PlanStatus = Literal["kept", "late", "missed", "open"]


@dataclass(frozen=True, slots=True)
class InstalmentProgress:
    """One instalment of a plan as of a date.

    `kept`: covered in full by its due date; `late`: covered in full after it;
    `missed`: its due date has passed and it is not covered; `open`: not
    covered, and due on the as-of date or later.
    """

    number: int  # 1, 2, ... in due order
    due: date
    planned: Decimal
    collected: Decimal  # credited to it by the as-of date
    covered: date | None  # the day it was covered in full
    status: PlanStatus

    @property
    def shortfall(self) -> Decimal:
        """What a missed instalment still lacks (zero for the others)."""
        return self.planned - self.collected if self.status == "missed" else ZERO

    @property
    def rest(self) -> Decimal:
        """What is still to collect on it."""
        return self.planned - self.collected


@dataclass(frozen=True, slots=True)
class PlanProgress:
    """A plan judged as of a date from what the settlement applied.

    The cash applied to the customer's items in the plan's currency (only to
    the plan's invoices, when it lists them) from the plan's date on is
    credited to the instalments in due order: the first instalment takes the
    first cash until it is covered, then the next.
    """

    plan: Plan
    currency: str
    owner: str | None  # the plan's, else its customer's
    as_of: date
    instalments: tuple[InstalmentProgress, ...]
    # (application date, amount) of the cash credited to the plan, by date
    cash: tuple[tuple[date, Decimal], ...]

    @property
    def id(self) -> str:
        return self.plan.id

    @property
    def customer(self) -> str:
        return self.plan.customer

    @property
    def invoices(self) -> frozenset[str] | None:
        """The invoices the plan is about (None: all of its customer's)."""
        return frozenset(self.plan.invoices) if self.plan.invoices else None

    @property
    def missed(self) -> tuple[InstalmentProgress, ...]:
        return tuple(i for i in self.instalments if i.status == "missed")

    @property
    def broken(self) -> bool:
        """A plan with a missed instalment is broken (SPEC §7)."""
        return bool(self.missed)

    @property
    def in_force(self) -> bool:
        """Not broken, and something is still to collect: its items wait for
        the instalment dates (not dunned, expected on those dates)."""
        return not self.broken and any(i.status == "open" for i in self.instalments)

    @property
    def missed_on(self) -> date | None:
        """The due date of its latest missed instalment: when it last broke."""
        return max((i.due for i in self.missed), default=None)

    @property
    def shortfall(self) -> Decimal:
        """What its missed instalments still lack."""
        return sum((i.shortfall for i in self.instalments), ZERO)

    @property
    def next_open(self) -> InstalmentProgress | None:
        return next((i for i in self.instalments if i.status == "open"), None)

    def covers(self, item: Item) -> bool:
        """Whether an item is one of the plan's: the customer's, in the plan's
        currency, on one of its invoices when it lists them."""
        invoices = self.plan.invoices
        return (
            item.customer == self.plan.customer
            and item.currency == self.currency
            and (invoices is None or item.invoice in invoices)
        )

    def collected_by(self, day: date) -> tuple[Decimal, ...]:
        """What each instalment had been credited by the end of `day`."""
        paid = sum((amount for when, amount in self.cash if when <= day), ZERO)
        return tuple(_credited(self.plan.instalments, paid))


def _credited(instalments: Sequence, paid: Decimal) -> Iterable[Decimal]:
    """`paid` credited to instalments in due order: each up to its amount."""
    for instalment in instalments:
        take = min(max(paid, ZERO), instalment.amount)
        yield take
        paid -= instalment.amount


def progress(view: LedgerView, settlement: Settlement) -> list[PlanProgress]:
    """Every plan of the view with its instalments judged as of the view's date,
    by customer, then date and id.

    Args:
        view: the ledger as of a date, filtered (its `plans`).
        settlement: `settle(view)` with its history (the applications).
    """
    if not view.plans:
        return []
    ledger = view.ledger
    as_of = view.as_of
    by_customer = settlement.applications_by_customer
    found = []
    for plan in view.plans:
        currency = ledger.currency_of(plan)
        invoices = set(plan.invoices) if plan.invoices else None
        cash = tuple(
            sorted(
                (a.date, a.amount)
                for a in by_customer.get(plan.customer, ())
                if a.kind == "payment"
                and a.currency == currency
                and plan.date <= a.date <= as_of
                and (invoices is None or a.invoice in invoices)
            )
        )
        instalments = []
        running = ZERO  # cash credited so far, by date
        reached: list[date | None] = [None] * len(plan.instalments)
        bounds = []
        total = ZERO
        for instalment in plan.instalments:
            total += instalment.amount
            bounds.append(total)
        for day, amount in cash:
            running += amount
            for n, bound in enumerate(bounds):
                if reached[n] is None and running >= bound:
                    reached[n] = day
        collected = _credited(plan.instalments, running)
        for n, (instalment, got) in enumerate(
            zip(plan.instalments, collected, strict=True), 1
        ):
            covered = reached[n - 1]
            status: PlanStatus
            if covered is not None:
                status = "kept" if covered <= instalment.due else "late"
            elif instalment.due < as_of:
                status = "missed"
            else:
                status = "open"
            instalments.append(
                InstalmentProgress(
                    n, instalment.due, instalment.amount, got, covered, status
                )
            )
        customer = ledger.customers.get(plan.customer)
        owner = plan.owner or (customer.owner if customer is not None else None)
        found.append(
            PlanProgress(plan, currency, owner, as_of, tuple(instalments), cash)
        )
    found.sort(key=lambda p: (p.customer, p.plan.date, p.id))
    return found


def in_force(
    found: Iterable[PlanProgress],
) -> dict[tuple[str, str], list[PlanProgress]]:
    """The plans in force (no instalment missed, something still to collect),
    by (customer, currency): their items are not dunned and are expected on
    the instalment dates (SPEC §7)."""
    result: dict[tuple[str, str], list[PlanProgress]] = {}
    for plan in found:
        if plan.in_force:
            result.setdefault((plan.customer, plan.currency), []).append(plan)
    return result


def broken_plans(
    found: Iterable[PlanProgress],
) -> dict[tuple[str, str], list[PlanProgress]]:
    """The broken plans (an instalment missed), by (customer, currency)."""
    result: dict[tuple[str, str], list[PlanProgress]] = {}
    for plan in found:
        if plan.broken:
            result.setdefault((plan.customer, plan.currency), []).append(plan)
    return result
