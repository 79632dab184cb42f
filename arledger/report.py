"""Report, Section, Column: the one shape every renderer sees.

Each report builds a `Report` once; each renderer knows column kinds, never
reports. Values stay typed (Decimal, date, int, bool, str, None) until rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

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
