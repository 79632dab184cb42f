"""Payment behaviour: how late a customer pays, from what was collected so far.

Pure: a settlement in. Risk (computed grade, on-time ratio) and forecast
(expected dates) both read it, so they agree. Days to pay (回款周期) are the
collection report's (reports/collection.py), over a period.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arledger.money import ZERO
from arledger.settle import Settlement


@dataclass(frozen=True, slots=True)
class PaymentHistory:
    """One customer's collected history (payments only: credits and write-offs
    are not payments and say nothing about punctuality)."""

    customer: str
    collected: Decimal  # cash applied to items, all currencies together
    paid_on_time: Decimal  # of which applied on or before the item's due date
    days_late_weighted: Decimal  # sum of amount × (application date − due)

    @property
    def on_time_ratio(self) -> Decimal | None:
        """Share of collected cash that arrived by the due date (None: no history)."""
        return self.paid_on_time / self.collected if self.collected else None

    @property
    def average_days_late(self) -> Decimal | None:
        """Amount-weighted mean days after due (negative = early; None: no history)."""
        return self.days_late_weighted / self.collected if self.collected else None


def payment_history(settlement: Settlement) -> dict[str, PaymentHistory]:
    """Each customer's payment history up to the settlement's as-of date.

    Each sum is added up from ZERO in the order the payments were applied.
    Each application carries its item's due date: the loop never looks the
    items up (a million of them, scattered in memory, at a million invoices).
    """
    totals: dict[str, list[Decimal]] = {}
    for application in settlement.history_of():
        if application.kind != "payment":
            continue
        amount = application.amount
        late = (application.date - application.due).days
        row = totals.get(application.customer)
        if row is None:
            row = totals[application.customer] = [ZERO, ZERO, ZERO]
        row[0] += amount
        if late <= 0:
            row[1] += amount
        row[2] += amount * late
    return {
        customer: PaymentHistory(customer, *values)
        for customer, values in totals.items()
    }
