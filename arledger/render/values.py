"""How one value of a column is written, by column kind, shared by the renderers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
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
    return writer(column, currency, human=human)(value)


def texts(
    values: Iterable[Any], column: Column, currency: str | None, *, human: bool
) -> list[str]:
    """`text` of each of a column's values (its kind looked at once)."""
    return list(map(writer(column, currency, human=human), values))


def writer(
    column: Column, currency: str | None, *, human: bool
) -> Callable[[Any], str]:
    """How each value of `column` is written (see `text`)."""
    kind = column.kind
    empty = "—" if human and kind in ("money", "ratio", "days") else ""
    write: Callable[[Any], str]
    if kind == "money":
        write = partial(grouped if human else plain, currency=currency or "")
    elif kind == "ratio":
        write = _percent if human else ratio_text
    elif kind == "days":
        write = _days
    elif kind == "date":
        write = _date
    elif kind == "flag":
        if human:
            mark = column.mark or "yes"
            write = partial(_flag, mark, "")
        else:
            write = partial(_flag, "true", "false")
    else:
        write = str

    def written(value: Any) -> str:
        return empty if value is None else write(value)

    return written


def _percent(value: Decimal) -> str:
    return f"{value * 100:.1f}%"


def _days(value: int | Decimal) -> str:
    return str(days_value(value))


def _date(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _flag(yes: str, no: str, value: Any) -> str:
    return yes if value else no
