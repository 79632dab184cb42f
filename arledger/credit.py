"""Credit holds (停止发货): who should not be shipped to, and why.

Pure: the caller passes exposure and overdue days computed from a settlement.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arledger.model import Customer
    from arledger.settle import Settlement


def days_past_due(settlement: Settlement, as_of: date) -> dict[str, int]:
    """Per customer, how many days its most overdue open item is past due, in
    any currency: what `hold_reasons` takes (customers with nothing past due
    are left out). Decision (README, "Disputed invoices"): a dispute is not
    late payment, so a disputed item does not count; its amount still counts
    against the credit limit."""
    oldest = settlement.fold_open(_late_unless_disputed, 1, key="due", least=True)
    most: dict[str, int] = {}
    for (customer, _currency), (due,) in oldest.items():
        days = (as_of - due).days
        if days > most.get(customer, 0):
            most[customer] = days
    return most


def _late_unless_disputed(_due: date, disputed: bool) -> int:
    """The one group of items whose lateness counts; -1: not counted."""
    return -1 if disputed else 0


def hold_reasons(
    customer: Customer | None,
    *,
    exposure: Decimal | None,
    max_days_past_due: int,
    hold_days: int,
) -> tuple[str, ...]:
    """Why a customer is on credit hold (SPEC §2); empty when it is not.

    Args:
        customer: the customer record (None for an unknown one: never on hold).
        exposure: its open balance in its own currency (None: not known here).
        max_days_past_due: the largest days past due among its open items.
        hold_days: `credit.hold_days` from the settings.
    """
    if customer is None:
        return ()
    reasons = []
    if customer.hold:
        reasons.append("on hold")
    limit = customer.credit_limit
    if limit is not None and exposure is not None and exposure > limit:
        reasons.append("over credit limit")
    if max_days_past_due > hold_days:
        reasons.append(f"overdue > {hold_days} days")
    return tuple(reasons)
