"""Excel: one sheet per section, typed cells (numbers, dates), frozen bold header.

The file is written with XlsxWriter (openpyxl only reads, in `arledger import`),
imported inside `render`, so other commands never pay for it. Text that looks
like a formula is stored as text, so a customer name stays intact.

Column widths come from what the cells show (`text_width`), here and in the
month-end workbook (`arledger.render.workbook`).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

from arledger.errors import ArledgerError
from arledger.money import minor_units
from arledger.render import Env
from arledger.report import Column, Report

_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
# The control characters XML 1.0 forbids (tab, line feed and carriage return
# are allowed): a cell's text is written without them.
ILLEGAL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")

# ---------------------------------------------------------------- widths
#
# Excel and LibreOffice size a column in widths of "0" in the body font
# (Calibri 11 pt; Carlito, its metric twin, in LibreOffice). Calibri's letters
# are narrower or wider than its digits: these are their widths in that unit,
# rounded up, near enough to size a column so that nothing is cut. CJK
# characters take two (they are a full em wide); so does anything else outside
# ASCII that East Asian fonts draw wide (★, ①), as the fallback font draws it.
_ASCII_WIDTHS = {
    **dict.fromkeys("0123456789#$+<=>^_~*", 1.0),
    **dict.fromkeys("abcdeghknopquvxyz", 1.0),
    **dict.fromkeys("ftr", 0.7),
    **dict.fromkeys("ijl", 0.5),
    "s": 0.8,
    **dict.fromkeys("mw", 1.6),
    **dict.fromkeys("ABCEFKLPRSTVXYZ", 1.12),
    **dict.fromkeys("DGHNOQU", 1.3),
    **dict.fromkeys("IJ", 0.65),
    **dict.fromkeys("MW", 1.8),
    " ": 0.46,
    **dict.fromkeys(".,:;'!|`", 0.52),
    **dict.fromkeys('()[]{}-"', 0.65),
    **dict.fromkeys("/\\?", 0.9),
    **dict.fromkeys("%&", 1.45),
    "@": 1.8,
}
BOLD = 1.07  # Calibri Bold is about that much wider
CELL_PADDING = 1.0  # the cell's own margins (5 pixels), and a little room
NUMBER_PAD = "_0"  # a digit's width kept right of a number: no text touches it
DIGIT_PIXELS = 7  # a "0" of Calibri 11 on the screen: the pixels of a column unit


def column_pixels(width: float) -> int:
    """A column `width` units wide (as Excel stores a width: the cell's
    margins included) in whole screen pixels, as the file stores a width:
    rounded up, so that a column is never narrower than what it was sized to
    hold (a header label sized to two lines stays on two)."""
    return math.ceil(round(width * DIGIT_PIXELS, 6))


# Every digit is as wide as any other, so an ASCII text is as wide as its
# digits written as zeros, summed in the same order: amounts and dates, which
# differ in their digits alone, are measured once per shape ("0,000.00");
# other text once per text.
_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_MEASURED: tuple[dict[bytes | str, float], dict[bytes | str, float]] = ({}, {})
_KEPT_WIDTHS = 50_000


def text_width(text: str, *, bold: bool = False) -> float:
    """The width of a text in the column unit (see above): CJK counts two."""
    known = _MEASURED[bold]
    try:
        key: bytes | str = text.encode("ascii").translate(_AS_ZEROS)
    except UnicodeEncodeError:
        key = text
    found = known.get(key)
    if found is None:
        if len(known) >= _KEPT_WIDTHS:
            known.clear()
        found = known[key] = _measure(text, bold)
    return found


def _measure(text: str, bold: bool) -> float:
    """`text_width`, measured."""
    total = wide = 0.0
    for ch in text:
        found = _ASCII_WIDTHS.get(ch)
        if found is not None:
            total += found
        elif ch.isascii():
            total += 1.0
        elif unicodedata.east_asian_width(ch) in "WFA":
            wide += 2.0  # a full em, bold or not
        else:
            total += 1.2  # accented Latin, Cyrillic, ...
    return (total * BOLD if bold else total) + wide


_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
# Where a line may break: around a CJK character, at a space, after a hyphen.
_BREAK = re.compile(f"[{_CJK}]|[^\\s{_CJK}-]*-|[^\\s{_CJK}-]+")


def _pieces(text: str, bold: bool) -> list[tuple[float, bool]]:
    """The widths of the pieces a line may break between, each with whether a
    space comes before it."""
    return [
        (text_width(m.group(), bold=bold), m.start() > 0 and text[m.start() - 1] == " ")
        for m in _BREAK.finditer(text)
    ]


def _count_lines(pieces: list[tuple[float, bool]], width: float, space: float) -> int:
    width += 0.01  # widths are stored to two places
    used, lines = 0.0, 1
    for size, spaced in pieces:
        extra = size + (space if spaced and used else 0.0)
        if used and used + extra > width:
            lines += 1
            used = size
        else:
            used += extra
        while used > width > 0:  # a word longer than the line breaks inside it
            lines += 1
            used -= width
    return lines


def wrapped_lines(text: str, width: float, *, bold: bool = False) -> int:
    """How many lines `text` takes wrapped at `width` (its line breaks kept)."""
    space = text_width(" ", bold=bold)
    return sum(
        _count_lines(_pieces(line, bold), width, space) for line in text.split("\n")
    )


def wrapped_width(text: str, lines: int, *, bold: bool = False) -> float:
    """The narrowest width that holds `text` in at most `lines` lines, broken
    at spaces and between CJK characters as Excel wraps it; no narrower than
    its longest word."""
    pieces = _pieces(text, bold)
    if not pieces:
        return 0.0
    space = text_width(" ", bold=bold)
    low = max(size for size, _ in pieces)
    high = text_width(text, bold=bold)
    if _count_lines(pieces, low, space) <= lines:
        return low
    for _ in range(24):  # bisect to a hundredth of a column or so
        middle = (low + high) / 2
        if _count_lines(pieces, middle, space) <= lines:
            high = middle
        else:
            low = middle
    return high


def value_text(value: Any, kind: str = "text", places: int = 2) -> str:
    """About what a cell shows for a value of a column kind (ratio, days1 for
    days to one place, ...), as far as its width goes: amounts with `places`
    decimals and separators, every date as wide as any other."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if kind == "ratio":
        return f"{value:.1%}"
    if kind == "days1":
        return f"{value:,.1f}"
    if kind == "date" or isinstance(value, date):
        return "2026-12-31"
    if isinstance(value, (Decimal, float)):
        return f"{value:,.{places}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


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

    With `red_negative`, negatives are red, and a digit's width is kept on the
    right (`_0`) so a right-aligned amount does not touch the next column's text.
    """
    number = "#,##0" + ("." + "0" * places if places else "")
    pad = NUMBER_PAD
    return f"{number}{pad};[Red]-{number}{pad}" if red_negative else number


def money_format(currency: str | None, *, red_negative: bool = False) -> str:
    """The number format of an amount in a currency: its decimals (0 for JPY)."""
    return amount_format(minor_units(currency or ""), red_negative=red_negative)


MAX_ROWS = 1_048_576  # rows an Excel sheet holds


def check_rows(count: int, sheet: str) -> None:
    """Refuse a sheet of more rows than Excel holds: the writer would leave
    the rest out without a word.

    Raises:
        ArledgerError: saying which sheet and how to narrow it.
    """
    if count > MAX_ROWS:
        raise ArledgerError(
            f"{sheet}: more rows than an Excel sheet holds ({MAX_ROWS:,}); "
            "narrow it with --customer, --owner or --currency"
        )


def text_value(value: str) -> str:
    """Text as a cell can hold it: without the control characters XML forbids."""
    return ILLEGAL_CHARACTERS.sub("", value)


def _cell_value(value: Any, column: Column) -> Any:
    if value is None:
        return None
    if column.kind == "flag":
        return bool(value)
    if isinstance(value, str):
        return text_value(value)
    return value


def _write_section(workbook: Any, ws: Any, section: Any) -> None:
    """One section on a sheet written row by row (XlsxWriter's constant-memory
    mode): constant time per row, whatever the size."""
    columns = section.columns
    pad = NUMBER_PAD  # numbers keep clear of the next column's text
    formats = {
        "money": money_format(section.currency) + pad,
        "ratio": "0.0%" + pad,
        "date": "yyyy-mm-dd" + pad,
        "days": "0" + pad,
        "int": "0" + pad,
    }
    bold = workbook.add_format({"bold": True})
    plain = {k: workbook.add_format({"num_format": f}) for k, f in formats.items()}
    strong = {
        k: workbook.add_format({"num_format": f, "bold": True})
        for k, f in formats.items()
    }
    ws.freeze_panes("A2")
    # The margins these sheets have always printed with (openpyxl's).
    ws.set_margins(left=0.75, right=0.75, top=1.0, bottom=1.0)
    ws.set_header("", {"margin": 0.5})
    ws.set_footer("", {"margin": 0.5})
    if section.rows:
        ws.autofilter(0, 0, len(section.rows), len(columns) - 1)
    places = minor_units(section.currency or "")
    sample = [*section.rows[:500], section.totals or {}]
    for i, column in enumerate(columns):
        width = text_width(column.label, bold=True)
        for row in sample:
            shown = value_text(row.get(column.key), column.kind, places)
            width = max(width, text_width(shown) + (column.kind in formats))
        ws.set_column_pixels(i, i, column_pixels(min(max(width + CELL_PADDING, 8), 60)))

    def write(r: int, c: int, value: Any, fmt: Any) -> None:
        if value is None:
            if fmt is not None:
                ws.write_blank(r, c, None, fmt)
        elif isinstance(value, str):
            ws.write_string(r, c, value, fmt)  # text, never a formula
        elif isinstance(value, bool):
            ws.write_boolean(r, c, value, fmt)
        elif isinstance(value, date):
            ws.write_datetime(r, c, value, fmt)
        elif isinstance(value, Decimal):
            ws.write_number(r, c, float(value), fmt)  # Excel holds doubles
        else:
            ws.write_number(r, c, value, fmt)

    check_rows(1 + len(section.rows) + (section.totals is not None), ws.name)
    for c, column in enumerate(columns):
        write(0, c, column.label, bold)
    r = 0
    for r, row in enumerate(section.rows, 1):
        for c, column in enumerate(columns):
            write(
                r, c, _cell_value(row.get(column.key), column), plain.get(column.kind)
            )
    if section.totals is not None:
        totals, r = section.totals, r + 1
        for c, column in enumerate(columns):
            if column.key in totals:
                value = _cell_value(totals[column.key], column)
                write(r, c, value, strong.get(column.kind, bold))
            else:
                write(r, c, "Total" if c == 0 else None, bold)


def render(report: Report, env: Env) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "default_date_format": "yyyy-mm-dd",
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    taken: set[str] = set()
    if not report.sections:
        ws = workbook.add_worksheet(sheet_title(report.name.title(), taken))
        ws.write_string(0, 0, f"{report.title}: nothing to report")
    for section in report.sections:
        name = f"{report.name.title()} {section.currency or ''}".strip()
        ws = workbook.add_worksheet(sheet_title(name, taken))
        _write_section(workbook, ws, section)
    workbook.close()
    return out.getvalue()
