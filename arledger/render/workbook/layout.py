"""Planning a sheet before it is written: cells, rows, tables, widths.

Rows are written as they come (`book.Book.write`) and a wrapped row's height
depends on its column's width, so each sheet is planned first: a `Grid` of rows
of planned cells (`C`: a value and a style key), tables with a totals row of
`=SUM(...)` formulas (`Formula`: the text and the value it computes), widths
measured from what the cells show, conditional formats (`Rule`) and charts
(`Chart`) described without the writer. Long text columns wrap within a capped
width, so that a sheet prints at a readable size.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from arledger.money import ZERO, minor_units
from arledger.render.xlsx import (
    CELL_PADDING,
    text_width,
    value_text,
    wrapped_width,
)

# Long text columns wrap beyond these widths (in column units, about
# characters), so a sheet prints at a readable size.
NAME_WIDTH = 20
CONTACT_WIDTH = 22
REASONS_WIDTH = 16
OWNER_WIDTH = 10


class Formula(NamedTuple):
    """A formula and the value it computes (stored as the cell's cached value)."""

    text: str  # "=SUM(C5:C9)"
    cached: Decimal | int | None


class C(NamedTuple):
    """A planned cell: a value (or Formula) and a style key (see `Book.style`)."""

    value: Any
    style: str | None = None


Row = list[Any]  # C, a plain value, or None
# C(value, style) made without the NamedTuple's Python-level __new__: a
# 100 000-row list makes a million of them.
_cell = tuple.__new__


def written(row: Row) -> Iterator[tuple[int, Any, str | None]]:
    """The cells of a planned row that are written: (column, value, style),
    left to right. A value None is written only with a bold style (a totals
    row's border, `blank_written`); a column with nothing is left out."""
    for col, spec in enumerate(row):
        if type(spec) is C:
            value, style = spec
        else:
            value, style = spec, None
        if value is not None or blank_written(style):
            yield col, value, style


def blank_written(style: str | None) -> bool:
    """Whether a cell without a value is written, with its style: a totals
    row's border (a bold style)."""
    return style is not None and style.endswith("_b")


FILLS = ("FFF2CC", "FCE4D6", "F8CBAD", "F4B084", "EA9999")  # light to dark
CHART_COLOURS = ("70AD47", "FFD966", "F4B183", "ED7D31", "C55A11", "843C0C")
HEADER_FILL = "D9E1F2"
FONT = "Calibri"  # Excel's body font; headings must not fall back to serif
TITLE_COLOUR = "1F3864"


def age_fills(count: int) -> list[str]:
    """Fill colours for `count` overdue buckets, lightest (youngest) first."""
    if count <= 1:
        return list(FILLS[:count])
    last = len(FILLS) - 1
    return [FILLS[round(i * last / (count - 1))] for i in range(count)]


HEADER_LINES = 2  # a header label wraps onto at most two lines
LINE_HEIGHT = 15.0  # points: a line of Calibri 11, the default row height
CJK_LINE_HEIGHT = 18.5  # a line of 11 pt Chinese: LibreOffice draws 17.2
HAS_CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
HEADER_ONE_LINE = 7.0  # a header label no wider than this stays on one line
HEADING_HEIGHT = {"title": 21.0, "block": 18.0}  # rows of 14 pt and 12 pt text
WRAPPING = frozenset({"wrap", "header", "header_r"})  # styles that wrap text
TALL = WRAPPING | HEADING_HEIGHT.keys()  # styles that may make a row taller
MIN_WIDTH = 4.0
MAX_WIDTH = 48.0
# Headings run over the columns to their right: their size, against the body's.
HEADING_SCALE = {"title": 14 / 11 * 1.07, "block": 12 / 11 * 1.07, "subtitle": 1.0}


def cell_width(value: Any) -> float:
    """The width a planned cell needs (in Excel's unit, see `text_width`),
    without the cell's padding; 0 for headings, which run over the next
    columns."""
    style: str | None = None
    if isinstance(value, C):
        value, style = value
    if isinstance(value, Formula):
        value = value.cached
    if value is None or style in HEADING_SCALE:
        return 0.0
    base = (style or "").removesuffix("_b")
    bold = style is not None and style.endswith("_b")
    if base in ("header", "header_r"):
        label = str(value)
        width = text_width(label, bold=True)
        if width > HEADER_ONE_LINE:
            width = wrapped_width(label, HEADER_LINES, bold=True)
        return width + (base == "header_r")
    if base.startswith("money"):
        text = value_text(value, "money", int(base[5:]))
    else:
        text = value_text(value, base)
    numeric = base not in ("", "text", "wrap") or not isinstance(value, str)
    # A number keeps a digit's width clear on its right (NUMBER_PAD).
    return text_width(text, bold=bold) + (1.0 if numeric else 0.0)


def _width_key(spec: Any) -> tuple[Any, ...] | None:
    """What a planned cell's width depends on, as a key: its style and value,
    and the value's type (1, 1.0, True and Decimal 1 are equal keys but show
    as "1", "1.00", "TRUE"); a Decimal's sign too (-0 equals 0 but shows its
    minus). None: not worth keeping (a float, a header label)."""
    if type(spec) is C:
        value, style = spec
        if type(value) is Formula:
            value = value.cached
    else:
        value, style = spec, None
    kind = type(value)
    if kind is Decimal:
        return (style, kind, value, value.is_signed())
    if kind is str or kind is int or kind is date or value is None:
        return (style, kind, value)
    return None


def column_widths(
    rows: Iterable[Row],
    minimum: float = MIN_WIDTH,
    maximum: float = MAX_WIDTH,
    caps: dict[int, float] | None = None,
) -> list[float]:
    """Widths from the content: the widest cell of each column and its padding,
    within bounds. A wrapping cell counts no wider than its column's cap in
    `caps` (1-based column: width)."""
    caps = caps or {}
    widths: list[float] = []
    # Values repeat (ids, names, days, zeros, ratios): each is measured once.
    known: dict[tuple[Any, ...], float] = {}
    for row in rows:
        for i, value in enumerate(row):
            key = _width_key(value)
            if key is None:
                width = cell_width(value)
            else:
                found = known.get(key)
                if found is None:
                    found = known[key] = cell_width(value)
                width = found
            if type(value) is C and value.style == "wrap":
                width = min(width, caps.get(i + 1, maximum))
            if i >= len(widths):
                widths.extend([0.0] * (i + 1 - len(widths)))
            if width > widths[i]:
                widths[i] = width
    return [
        math.ceil(min(max(w + CELL_PADDING, minimum), maximum) * 100) / 100
        for w in widths
    ]


def heading_width(rows: Iterable[Row]) -> float:
    """How wide the sheet's headings (titles, notes) print, in column units."""
    widest = 0.0
    for row in rows:
        if row and isinstance(row[0], C) and row[0].style in HEADING_SCALE:
            scale = HEADING_SCALE[row[0].style]
            widest = max(widest, text_width(str(row[0].value)) * scale)
    return widest


def quote_sheet(title: str) -> str:
    """A sheet name as formulas write it: `'Open items'`."""
    return "'" + title.replace("'", "''") + "'"


# ---------------------------------------------------------------- plans


class Rule(NamedTuple):
    """A conditional format: the cells, the condition in XlsxWriter's terms
    (`Worksheet.conditional_format` without its format) and the look (see
    `shading`)."""

    ref: str  # "G6:G90"
    condition: dict[str, Any]
    look: dict[str, Any]


class Series(NamedTuple):
    """A chart's series: ranges as formulas write them (`'Aging'!$C$7:$H$7`)."""

    values: str
    categories: str
    name: str | None = None  # the cell that names it (the legend)
    colour: str | None = None  # of the whole series
    points: tuple[str, ...] = ()  # a colour per point instead


@dataclass
class Chart:
    """A column chart: axis and legend text at the body's size (11 pt, where
    Excel's default is 10), so that it prints at the sheet's scale with the
    rest; the value axis in whole units."""

    title: str
    series: list[Series]
    width: float  # cm
    height: float  # cm
    stacked: bool = False
    gap: int | None = None  # between columns, % of a column's width
    legend: bool = False  # under the plot


@dataclass
class Plan:
    """A sheet planned before writing: its rows (a list, or streamed for a
    long list, which then gives its `heading`), widths and print setup."""

    title: str
    rows: Iterable[Row]
    widths: list[float]
    freeze: str | None = None
    print_rows: str | None = None  # "5:5": repeated on every printed page
    autofilter: str | None = None
    rules: list[Rule] = field(default_factory=list)
    charts: list[tuple[Chart, str]] = field(default_factory=list)  # (chart, anchor)
    heading: float | None = None  # printed width of the headings; None: from rows
    keep: list[tuple[int, int]] = field(default_factory=list)  # see Grid.keep


class Grid:
    """Rows of a small sheet, numbered as they will be written."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.kept: list[tuple[int, int]] = []

    @property
    def next(self) -> int:
        return len(self.rows) + 1

    def keep(self, first: int, last: int | None = None) -> None:
        """Print rows `first` to `last` (default: the last so far) on one page
        when they fit on one (a table, a chart); a longer span at least starts
        with its first rows."""
        self.kept.append((first, len(self.rows) if last is None else last))

    def add(self, *cells: Any) -> int:
        self.rows.append(list(cells))
        return len(self.rows)

    def skip(self, count: int = 1) -> None:
        for _ in range(count):
            self.rows.append([])

    def pad_to(self, row: int) -> None:
        while self.next < row:
            self.rows.append([])


@dataclass(frozen=True)
class Col:
    """A column of a table in the workbook."""

    key: str
    label: str
    kind: str = "text"  # text, money, int, days, ratio, date
    total: bool = False  # summed in the totals row
    wrap: float | None = None  # text wider than this wraps (a long text column)


@dataclass(frozen=True)
class Span:
    """Where a table landed: rows and column letters."""

    header: int
    first: int  # first data row
    last: int  # last data row (first - 1 when empty)
    total: int | None
    letters: dict[str, str]
    sums: dict[str, Decimal | int]


def letter(index: int) -> str:
    """Column letter of a 1-based index: 1 -> A, 28 -> AB."""
    name = ""
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def style_of(kind: str, currency: str | None, total: bool) -> str | None:
    if kind == "money":
        base = f"money{minor_units(currency or '')}"
    elif kind in ("int", "days", "ratio", "date", "days1"):
        base = kind
    else:
        base = "text"
    if total:
        return base + "_b"
    # A cell without a style is cheaper to write (100 000-row sheets); numbers
    # take one for the room on their right (NUMBER_PAD).
    return None if base == "text" else base


def typed(value: Any, kind: str, currency: str | None, total: bool = False) -> Any:
    """A value as a planned cell of a column kind."""
    if value is None:
        return C(None, "text_b") if total else None
    if isinstance(value, Formula):
        days1 = kind == "days" and isinstance(value.cached, Decimal)
        return C(value, style_of("days1" if days1 else kind, currency, total))
    if kind == "days" and isinstance(value, Decimal):
        return C(value.quantize(Decimal("0.1")), "days1_b" if total else "days1")
    return C(value, style_of(kind, currency, total))


class _Wraps(dict[Any, bool]):
    """Whether a text is wider than a column's cap (memoised per text)."""

    def __init__(self, cap: float) -> None:
        super().__init__()
        self.cap = cap

    def __missing__(self, text: Any) -> bool:
        wraps = self[text] = isinstance(text, str) and text_width(text) > self.cap
        return wraps


def table_rows(
    columns: Sequence[Col],
    rows: Iterable[Sequence[Any]],
    *,
    first: int,
    count: int,
    currency: str | None,
    total_label: str | None,
    totals: dict[str, Any] | None = None,
    sums: dict[str, Decimal | int] | None = None,
) -> Iterator[Row]:
    """Header, rows and a totals row of `=SUM(...)` formulas, as planned rows.

    Args:
        columns: the table's columns.
        rows: each a sequence of values in column order.
        first: the sheet row of the header.
        count: how many rows `rows` yields (the SUM ranges need it up front).
        currency: for money formats.
        total_label: the first cell of the totals row; None: no totals row.
        totals: values for the totals row's non-summed columns (ratios, ...).
        sums: filled with each summed column's exact total (the cached values).
    """
    yield [C(c.label, "header_r" if c.kind != "text" else "header") for c in columns]
    summed = {c.key: (ZERO if c.kind == "money" else 0) for c in columns if c.total}
    # Per column: kind, body style, summed, and for a long text column whether
    # each text wraps (known texts: names repeat). This loop runs once per cell
    # of a 100 000-row sheet, so the common cases skip `typed`.
    specs = [
        (
            c.kind,
            style_of(c.kind, currency, False),
            c.total,
            c.key,
            None if c.wrap is None else _Wraps(c.wrap),
        )
        for c in columns
    ]
    written = 0
    for values in rows:
        written += 1
        out: Row = []
        for (kind, style, total, key, wraps), value in zip(specs, values, strict=True):
            if value is None:
                out.append(None)
                continue
            if type(value) is Formula or kind == "days":
                out.append(typed(value, kind, currency))
            elif style is None:
                out.append(
                    _cell(C, (value, "wrap"))
                    if wraps is not None and wraps[value]
                    else value
                )
            else:
                out.append(_cell(C, (value, style)))
            if total:
                amount = value.cached if type(value) is Formula else value
                if amount is not None:
                    summed[key] += amount
        yield out
    if written != count:
        raise ValueError(f"table_rows: {written} rows, expected {count}")
    if total_label is None:
        return
    top, bottom = first + 1, first + count
    out = []
    for i, column in enumerate(columns, 1):
        if column.total:
            cached = summed[column.key]
            cell = letter(i)
            formula = (
                Formula(f"=SUM({cell}{top}:{cell}{bottom})", cached)
                if count
                else Formula("=0", cached)
            )
            out.append(C(formula, style_of(column.kind, currency, True)))
        elif i == 1:
            out.append(C(total_label, "text_b"))
        elif totals is not None and column.key in totals:
            out.append(typed(totals[column.key], column.kind, currency, total=True))
        else:
            out.append(C(None, "text_b"))
    if sums is not None:
        sums.update(summed)
    yield out


def add_table(
    grid: Grid,
    columns: Sequence[Col],
    rows: Sequence[Sequence[Any]],
    *,
    currency: str | None,
    total_label: str | None,
    totals: dict[str, Any] | None = None,
) -> Span:
    """Plan a table at the grid's next row."""
    header = grid.next
    sums: dict[str, Decimal | int] = {}
    grid.rows.extend(
        table_rows(
            columns,
            rows,
            first=header,
            count=len(rows),
            currency=currency,
            total_label=total_label,
            totals=totals,
            sums=sums,
        )
    )
    return Span(
        header,
        header + 1,
        header + len(rows),
        header + len(rows) + 1 if total_label is not None else None,
        {c.key: letter(i) for i, c in enumerate(columns, 1)},
        sums,
    )


def plan_widths(
    rows: list[Row],
    minimums: dict[int, int] | None = None,
    columns: Sequence[Col] = (),
) -> list[float]:
    """Column widths of planned rows; `columns`' long text columns capped."""
    caps = {i: c.wrap for i, c in enumerate(columns, 1) if c.wrap is not None}
    widths = column_widths(rows, caps=caps)
    for index, minimum in (minimums or {}).items():
        if index <= len(widths):
            widths[index - 1] = max(widths[index - 1], minimum)
    return widths


def block_panes(
    blocks: int, header: int | None, columns: int = 1
) -> tuple[str | None, str | None]:
    """Frozen panes and print rows for a sheet of blocks (one per currency,
    each with the same columns).

    The first header row is repeated on every printed page: it labels every
    block's columns. Panes freeze under it when there is one block; with
    several, the frozen rows would show the first block's currency over the
    others, so only the sheet's title rows are frozen."""
    if header is None:
        return "A4", None
    print_rows = f"{header}:{header}"
    if blocks == 1:
        return f"{letter(columns + 1)}{header + 1}", print_rows
    return "A4", print_rows


# Where the Summary links to: per currency, per figure, (sheet, cell, value).
Anchors = dict[str, dict[str, tuple[str, str, Any]]]


def add_anchor(
    anchors: Anchors,
    currency: str,
    name: str,
    sheet: str,
    cell: str,
    value: Any,
) -> None:
    anchors.setdefault(currency, {})[name] = (sheet, cell, value)


def shading(colour: str, **font: Any) -> dict[str, Any]:
    """A conditional format's look (XlsxWriter's format properties): a solid
    fill, and `font` (bold, font_color) if given."""
    return {"bg_color": f"#{colour}", **font}


def age_rules(
    ref: str, days_col: str, first: int, limits: Sequence[int], basis: str
) -> list[Rule]:
    """Shade cells by the age in `days_col`: older is darker (oldest rule first)."""
    # The lower bound (exclusive) of each shaded bucket.
    if basis == "due":
        bounds = [0, *limits]
    else:
        bounds = list(limits)
    fills = age_fills(len(bounds))
    return [
        Rule(
            ref,
            {
                "type": "formula",
                "criteria": f"${days_col}{first}>{bound}",
                "stop_if_true": True,
            },
            shading(colour),
        )
        for bound, colour in reversed(list(zip(bounds, fills, strict=True)))
    ]


def bucket_shading(
    columns: Sequence[str], first: int, last: int, fills: Sequence[str]
) -> list[Rule]:
    """Shade the non-zero cells of each overdue bucket column with its age colour."""
    if last < first:
        return []
    return [
        Rule(
            f"{column}{first}:{column}{last}",
            {"type": "cell", "criteria": ">", "value": 0},
            shading(colour),
        )
        for column, colour in zip(columns, fills, strict=True)
    ]
