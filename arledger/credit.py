"""Credit holds (停止发货): who should not be shipped to, and why.

Pure: the caller passes exposure and overdue days computed from a settlement.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arledger.model import Customer
    from arledger.settle import Item


def days_past_due(items: Iterable[Item], as_of: date) -> dict[str, int]:
    """Per customer, how many days its most overdue open item is past due, in
    any currency: what `hold_reasons` takes (customers with nothing past due
    are left out). Decision (README, "Disputed invoices"): a dispute is not
    late payment, so a disputed item does not count; its amount still counts
    against the credit limit."""
    most: dict[str, int] = {}
    for item in items:
        if item.open and not item.disputed:
            days = (as_of - item.due).days
            if days > most.get(item.customer, 0):
                most[item.customer] = days
    return most


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
