"""Excel: one sheet per section, typed cells (numbers, dates), frozen bold header.

openpyxl is imported inside `render`, so other commands never pay for it. Text
that looks like a formula is stored as text, so a customer name stays intact.
"""

from __future__ import annotations

import io
import re
from typing import Any

from arledger.money import minor_units
from arledger.render import Env
from arledger.report import Column, Report

_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")


def sheet_title(text: str, taken: set[str]) -> str:
    """An Excel sheet title: at most 31 characters, none of []:*?/\\, unique."""
    base = _BAD_TITLE.sub(" ", text).strip()[:31] or "Sheet"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def amount_format(places: int, *, red_negative: bool = False) -> str:
    """`#,##0.00` with `places` decimals.

    With `red_negative`, negatives are red, and a space's width is kept on the
    right (`_ `) so a right-aligned amount does not touch the next column's text.
    """
    number = "#,##0" + ("." + "0" * places if places else "")
    return f"{number}_ ;[Red]-{number}_ " if red_negative else number


def money_format(currency: str | None, *, red_negative: bool = False) -> str:
    """The number format of an amount in a currency: its decimals (0 for JPY)."""
    return amount_format(minor_units(currency or ""), red_negative=red_negative)


def text_value(value: str) -> str:
    """Text as a cell can hold it: without the control characters XML forbids."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _cell_value(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.kind == "money":
        return value  # Decimal: openpyxl writes it as a number
    if column.kind == "flag":
        return bool(value)
    if isinstance(value, str):
        return text_value(value)
    return value


def _write_section(ws: Any, section: Any) -> None:
    """One section on a write-only sheet: constant time per row, whatever the size."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    columns = section.columns
    formats = {
        "money": money_format(section.currency),
        "ratio": "0.0%",
        "date": "yyyy-mm-dd",
        "days": "0",
        "int": "0",
    }
    # Write-only sheets take their layout before the first row.
    ws.freeze_panes = "A2"
    if section.rows:
        last = get_column_letter(len(columns))
        ws.auto_filter.ref = f"A1:{last}{len(section.rows) + 1}"
    for i, column in enumerate(columns, 1):
        width = max(
            [len(column.label)]
            + [len(str(r.get(column.key) or "")) for r in section.rows[:500]]
        )
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 8), 60)

    def cell(value: Any, column: Column | None, strong: bool) -> Any:
        written = WriteOnlyCell(ws, value=value)
        if isinstance(value, str) and value.startswith("="):
            written.data_type = "s"  # text, never a formula
        if column is not None and column.kind in formats:
            written.number_format = formats[column.kind]
        if strong:
            written.font = bold
        return written

    ws.append([cell(c.label, None, True) for c in columns])
    for row in section.rows:
        ws.append([cell(_cell_value(row.get(c.key), c), c, False) for c in columns])
    if section.totals is not None:
        totals = section.totals
        ws.append(
            [
                cell(_cell_value(totals[c.key], c), c, True)
                if c.key in totals
                else cell("Total" if i == 0 else None, None, True)
                for i, c in enumerate(columns)
            ]
        )


def render(report: Report, env: Env) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    if not report.sections:
        ws = workbook.create_sheet(sheet_title(report.name.title(), taken))
        ws.append([f"{report.title}: nothing to report"])
    for section in report.sections:
        name = f"{report.name.title()} {section.currency or ''}".strip()
        _write_section(workbook.create_sheet(sheet_title(name, taken)), section)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
