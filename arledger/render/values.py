"""How one value of a column is written, by column kind, shared by the renderers."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from arledger.money import grouped, plain
from arledger.report import Column

RATIO_PLACES = Decimal("0.0001")
DAYS_PLACES = Decimal("0.1")


def ratio_text(value: Decimal) -> str:
    """A fraction rounded to 4 places, as JSON and CSV carry it ("0.8731")."""
    return f"{value.quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN):f}"


def days_value(value: int | Decimal) -> int | Decimal:
    """Days as a whole number, or rounded to 1 place."""
    if isinstance(value, int):
        return value
    return value.quantize(DAYS_PLACES, rounding=ROUND_HALF_EVEN)


def text(value: Any, column: Column, currency: str | None, *, human: bool) -> str:
    """The text of a cell: `human` for tables and Markdown, else for CSV."""
    if value is None:
        return "—" if human and column.kind in ("money", "ratio", "days") else ""
    kind = column.kind
    if kind == "money":
        return grouped(value, currency or "") if human else plain(value, currency or "")
    if kind == "ratio":
        return f"{value * 100:.1f}%" if human else ratio_text(value)
    if kind == "days":
        return str(days_value(value))
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "flag":
        if human:
            return (column.mark or "yes") if value else ""
        return "true" if value else "false"
    return str(value)
