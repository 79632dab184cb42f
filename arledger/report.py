"""Report, Section, Column: the one shape every renderer sees.

Each report builds a `Report` once; each renderer knows column kinds, never
reports. Values stay typed (Decimal, date, int, bool, str, None) until rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import repeat
from typing import Any, Literal, Protocol, TypeVar

# The two AR totals, each with one name wherever it is shown (README, "How the
# numbers are computed"): the open balances of invoices and instalments, and
# that less the unapplied cash customers have paid (the aging's total).
OPEN_ITEMS = "Open items"
NET_AR = "Net AR"
NET_AR_LONG = "Net AR (after unapplied cash)"

ColumnKind = Literal["text", "money", "days", "int", "date", "ratio", "flag"]
# How a table may colour a column: by age of the money in it, or as a warning.
Tone = Literal["current", "late", "later", "latest", "bad", "key"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a section.

    Args:
        key: the name in JSON and CSV.
        label: the heading in tables, Markdown and Excel.
        kind: how values are written (money in the section's currency, ...).
        tone: an optional colour hint for tables.
        mark: for flags, what a table shows when the flag is set.
    """

    key: str
    label: str
    kind: ColumnKind = "text"
    tone: Tone | None = None
    mark: str | None = None


Row = dict[str, Any]


def column_of(rows: Sequence[Row], key: str) -> list[Any]:
    """The values of column `key` of every row, None where a row has none: a
    renderer writes a column at a time (`render.values.texts`)."""
    return list(map(dict.get, rows, repeat(key)))


@dataclass(frozen=True, slots=True)
class Section:
    """One currency's part of a report (currencies never mix, SPEC §2)."""

    currency: str | None
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    totals: Row | None = None
    title: str | None = None
    # Figures about the section as a whole (overdue rate, ...): more keys in its
    # JSON object, "label: value" lines under a table.
    summary: tuple[tuple[Column, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Report:
    """A finished report: what `render` turns into text or bytes."""

    name: str  # "aging", "overdue", ...
    title: str
    as_of: date
    sections: tuple[Section, ...]
    meta: Row = field(default_factory=dict)  # more top-level JSON keys


class _HasCurrency(Protocol):
    @property
    def currency(self) -> str: ...


S = TypeVar("S", bound=_HasCurrency)


def every_currency(
    found: Iterable[S], currencies: Iterable[str], empty: Callable[[str], S]
) -> tuple[S, ...]:
    """A result's sections, one per currency with records (SPEC §3), in
    currency order: those found, and `empty(currency)` for each currency that
    has records but nothing to show, so that a paid-up currency still has its
    section, with zeros, and JSON keeps its shape.

    Args:
        found: the sections computed (those with something in them).
        currencies: every currency with records in the view (`view.currencies()`).
        empty: the section of a currency with nothing to show.
    """
    by_currency = {section.currency: section for section in found}
    return tuple(
        by_currency[c] if c in by_currency else empty(c)
        for c in sorted(by_currency.keys() | set(currencies))
    )
