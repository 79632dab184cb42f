"""How one value of a column is written, by column kind, shared by the renderers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from arledger import money
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
    return texts((value,), column, currency, human=human)[0]


def texts(
    values: Iterable[Any], column: Column, currency: str | None, *, human: bool
) -> list[str]:
    """`text` of each of a column's values, its kind looked at once.

    A column at a time, in comprehensions and `map` rather than a call per
    cell: at 100k rows a function call a cell is most of a renderer's time.
    """
    values = values if isinstance(values, list) else list(values)
    kind = column.kind
    empty = "—" if human and kind in ("money", "ratio", "days") else ""
    if kind == "money":
        return _money_texts(values, currency or "", empty, human)
    write: Callable[[Any], str]
    if kind == "ratio":
        write = _percent if human else ratio_text
    elif kind == "days":
        write = _days
    elif kind == "date":
        return [
            empty
            if value is None
            else value.isoformat()
            if isinstance(value, date)
            else str(value)
            for value in values
        ]
    elif kind == "flag":
        yes, no = (column.mark or "yes", "") if human else ("true", "false")
        return [empty if value is None else yes if value else no for value in values]
    else:
        return [empty if value is None else str(value) for value in values]
    return [empty if value is None else write(value) for value in values]


def _money_texts(
    values: list[Any], currency: str, empty: str, grouped: bool
) -> list[str]:
    """A column of amounts as `money.texts` writes them, `empty` for None."""
    found = [value for value in values if value is not None]
    written = money.texts(found, currency, group=grouped)
    if len(found) == len(values):
        return written
    shown = iter(written)
    return [empty if value is None else next(shown) for value in values]


def _percent(value: Decimal) -> str:
    return f"{value * 100:.1f}%"


def _days(value: int | Decimal) -> str:
    return str(days_value(value))


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
