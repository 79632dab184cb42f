"""The month-end workbook (`arledger export`): every report in one Excel file.

`gather` computes the reports from a view (pure: view in, typed results out);
`build` lays them out as xlsx (pure: results in, bytes out). openpyxl is imported
inside functions only, so no other command pays for it (STYLE §9).

Sheets: Summary, Aging, Open items, Overdue, Worklist, Collection, Risk, Forecast,
Trend, Allowance, Movement (in `--language zh`: 汇总, 账龄, 未清明细, 逾期, 催收任务,
回款, 风险, 回款预测, 趋势, 坏账准备, 账龄变动); the last two compare with an earlier
date, by default the month end before the as-of date. Currencies
never mix (SPEC §2): the item lists (Open items, Overdue), which may hold 100 000
rows, get one sheet per currency when there are several; every other sheet holds
a block per currency. Amounts are numbers with the currency's number format,
dates are dates, totals are `=SUM(...)` formulas. openpyxl cannot store a
formula's cached value, so `build` adds them to the saved file itself
(`store_cached_values`): a reader that does not recalculate (a previewer,
pandas, openpyxl with `data_only=True`) still sees the right totals, and the
workbook also asks Excel to recalculate on load (`fullCalcOnLoad`).

The whole workbook is written in openpyxl's write-only mode: it streams rows to
disk, supports what we use (styled cells, panes, widths, autofilter, conditional
formatting, charts, print setup), and needs every column width and the panes set
before the first row, so each sheet is planned before it is written.

On paper (`_Book.write`): the settings' `paper` (else A4 for a workbook in
Chinese, Letter in English), each sheet fitted to the page width, upright when
narrow; columns sized to what they show and long text wrapped within a capped
width on a row given its height, so that nothing prints under 8 pt
(tests/test_print.py measures it); the header row repeated on every page; page
breaks that keep a table or a chart whole where it fits on a page.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from arledger.dates import Period, month_of
from arledger.labels import LANGUAGES, Words
from arledger.money import ZERO, minor_units
from arledger.render.xlsx import (
    CELL_PADDING,
    NUMBER_PAD,
    amount_format,
    sheet_title,
    text_width,
    value_text,
    wrapped_lines,
    wrapped_width,
)

if TYPE_CHECKING:
    from arledger.ledger import LedgerView
    from arledger.mail import LogEntry
    from arledger.report import Report
    from arledger.reports.aging import AgingResult, Basis, CurrencyAging
    from arledger.reports.allowance import AllowanceResult
    from arledger.reports.collection import CollectionResult, CurrencyCollection
    from arledger.reports.forecast import ForecastResult
    from arledger.reports.movement import MovementResult
    from arledger.reports.overdue import CurrencyOverdue, OverdueResult
    from arledger.reports.risk import RiskResult
    from arledger.settle import Settlement

TREND_MONTHS = 12  # month-end aging for the last 12 months
FORECAST_BY: Literal["week", "month"] = "week"  # the 13-week cash forecast
FORECAST_HORIZON = 13
TOP_OVERDUE = 10  # customers on the Summary
# Long text columns wrap beyond these widths (in column units, about
# characters), so a sheet prints at a readable size.
NAME_WIDTH = 20
CONTACT_WIDTH = 22
REASONS_WIDTH = 16
OWNER_WIDTH = 10

# ---------------------------------------------------------------- the data


@dataclass(frozen=True, slots=True)
class TrendSection:
    """One currency's aging at one month end."""

    currency: str
    buckets: tuple[Decimal, ...]
    unapplied: Decimal  # negative
    total: Decimal  # sum(buckets) + unapplied
    overdue: Decimal  # open items past due (due before the date)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """The aging as of one month end (the last point is the as-of date)."""

    label: str  # "2026-10"
    as_of: date
    sections: tuple[TrendSection, ...]


@dataclass(frozen=True)
class WorkbookData:
    """Everything the workbook shows, computed once (see `gather`)."""

    as_of: date
    company: str | None
    filters: tuple[tuple[str, str], ...]  # ("customer", "ACME"), ("owner", ...)
    aging: AgingResult
    overdue: OverdueResult
    collection: CollectionResult
    risk: RiskResult
    forecast: ForecastResult
    trend: tuple[TrendPoint, ...]
    paper: str | None = None  # settings `paper`; None: by the workbook's language
    # Since the compare date (`gather`'s `compare_to`): the bad-debt allowance
    # (None when the settings' rates do not fit the buckets) and the aging
    # movement.
    allowance: AllowanceResult | None = None
    movement: MovementResult | None = None
    # `dunning --worklist`'s report (the day's calls and visits); None when no
    # dunning level is a task
    worklist: Report | None = None


def trend_dates(as_of: date, count: int = TREND_MONTHS) -> tuple[date, ...]:
    """The month ends of the last `count` months, oldest first, ending at as-of.

    The last point is as-of itself (a month end when the report is run for one);
    the others are the ends of the months before it.
    """
    days = [as_of]
    cursor = as_of.replace(day=1) - timedelta(days=1)
    while len(days) < count:
        days.append(cursor)
        cursor = cursor.replace(day=1) - timedelta(days=1)
    return tuple(reversed(days))


def trend_point(
    settlement: Settlement, basis: Basis, limits: Sequence[int]
) -> TrendPoint:
    """The aging totals of a settlement per currency, with what was overdue.

    The same sums as `aging.compute`'s section totals (a test holds them to
    it), without the per-customer rows the trend does not show.
    """
    from arledger.reports.aging import bucket_index, bucket_labels, item_days

    as_of = settlement.as_of
    count = len(bucket_labels(limits, basis))
    buckets: dict[str, list[Decimal]] = {}
    overdue: dict[str, Decimal] = {}
    unapplied: dict[str, Decimal] = {}
    for item in settlement.items:
        if not item.open:
            continue
        currency = item.currency
        found = buckets.get(currency)
        if found is None:
            found = buckets[currency] = [ZERO] * count
            overdue[currency] = ZERO
        found[bucket_index(item_days(item, as_of, basis), limits, basis)] += item.open
        if item.due < as_of:
            overdue[currency] += item.open
    for (_, currency), amount in settlement.unapplied().items():
        unapplied[currency] = unapplied.get(currency, ZERO) - amount
    sections = []
    for currency in sorted(buckets.keys() | unapplied.keys()):
        amounts = tuple(buckets.get(currency, [ZERO] * count))
        credit = unapplied.get(currency, ZERO)
        sections.append(
            TrendSection(
                currency,
                amounts,
                credit,
                sum(amounts, ZERO) + credit,
                overdue.get(currency, ZERO),
            )
        )
    label = f"{as_of.year:04d}-{as_of.month:02d}"
    return TrendPoint(label, as_of, tuple(sections))


def gather(
    view: LedgerView,
    compare_to: date | None = None,
    sent: Sequence[LogEntry] = (),
) -> WorkbookData:
    """Compute every report of the workbook from one view.

    Aging, open items, overdue, risk and forecast are as of the view's date;
    collection is the month of that date up to it (SPEC §2, "Roll-forward"),
    broken down by owner; the trend ages the ledger again as of each of the last
    twelve month ends, each with its own view and settlement and the same
    filters. The allowance and the aging movement compare with `compare_to`.

    Args:
        view: the ledger as of the report date, with the command's filters.
        compare_to: an earlier date (default: the end of the month before the
            view's date).
        sent: the dunning sent log's entries, for the worklist (the day's
            tasks, as `dunning --worklist` lists them).
    """
    from arledger.dates import previous_month_end
    from arledger.reports import (
        aging,
        allowance,
        collection,
        forecast,
        movement,
        overdue,
        risk,
    )
    from arledger.settle import rewind, settle

    as_of = view.as_of
    settlement = settle(view)
    aged = aging.compute(view, settlement)
    month = month_of(as_of)
    period = Period(month.start, as_of, month.label)
    trend = []
    for day in trend_dates(as_of):
        if day == as_of:
            past_settlement = settlement
        elif view.owner is None:
            # The ledger as it stood that day, read from this settlement.
            past_settlement = rewind(settlement, view, day)
        else:
            # An owner's view keeps only its items' applications: settle again.
            past = view.ledger.view(
                day,
                customers=view.customers,
                owner=view.owner,
                currency=view.currency,
            )
            past_settlement = settle(past)
        trend.append(trend_point(past_settlement, aged.basis, aged.limits))
    filters: list[tuple[str, str]] = []
    if view.customers:
        filters.append(("customer", ", ".join(sorted(view.customers))))
    if view.owner:
        filters.append(("owner", view.owner))
    if view.currency:
        filters.append(("currency", view.currency))
    # The earlier date settled on its own: the movement reads its unapplied
    # cash by kind, which a rewound settlement does not keep.
    earlier = view.on(compare_to or previous_month_end(as_of))
    earlier_settlement = settle(earlier, history=False)
    try:
        provision = allowance.compute(view, settlement, (earlier, earlier_settlement))
    except allowance.RatesDoNotFit:
        provision = None  # `arledger allowance` says why
    return WorkbookData(
        as_of=as_of,
        company=view.settings.company.name,
        filters=tuple(filters),
        aging=aged,
        overdue=overdue.compute(view, settlement),
        collection=collection.compute(view, settlement, period, by="owner"),
        risk=risk.compute(view, settlement),
        forecast=forecast.compute(
            view, settlement, by=FORECAST_BY, horizon=FORECAST_HORIZON
        ),
        trend=tuple(trend),
        paper=view.settings.paper,
        allowance=provision,
        movement=movement.compute(
            view,
            settlement,
            earlier,
            earlier_settlement,
            basis=aged.basis,
            limits=aged.limits,
        ),
        worklist=_worklist(view, settlement, sent),
    )


def _worklist(
    view: LedgerView, settlement: Settlement, sent: Sequence[LogEntry]
) -> Report | None:
    """The `dunning --worklist` report, or None when no dunning level is a
    task (then nobody can be on it, and dunning is not worked out)."""
    if all(level.action == "letter" for level in view.settings.dunning.levels):
        return None
    from arledger.reports import dunning

    result = dunning.compute(view, settlement, sent=sent)
    return dunning.worklist(result, view, settlement)


# ---------------------------------------------------------------- cells


class Formula(NamedTuple):
    """A formula and the value it computes (stored as the cell's cached value)."""

    text: str  # "=SUM(C5:C9)"
    cached: Decimal | int | None


class C(NamedTuple):
    """A planned cell: a value (or Formula) and a style key (see `_Book.style`)."""

    value: Any
    style: str | None = None


Row = list[Any]  # C, a plain value, or None

FILLS = ("FFF2CC", "FCE4D6", "F8CBAD", "F4B084", "EA9999")  # light to dark
CHART_COLOURS = ("70AD47", "FFD966", "F4B183", "ED7D31", "C55A11", "843C0C")
HEADER_FILL = "D9E1F2"
FONT = "Calibri"  # openpyxl's default body font; headings must not fall back to serif
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
_HAS_CJK = re.compile("[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
HEADER_ONE_LINE = 7.0  # a header label no wider than this stays on one line
HEADING_HEIGHT = {"title": 21.0, "block": 18.0}  # rows of 14 pt and 12 pt text
_WRAPPING = frozenset({"wrap", "header", "header_r"})  # styles that wrap text
_TALL = _WRAPPING | HEADING_HEIGHT.keys()  # styles that may make a row taller
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
    for row in rows:
        for i, value in enumerate(row):
            width = cell_width(value)
            if isinstance(value, C) and value.style == "wrap":
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


@dataclass
class Plan:
    """A sheet planned before writing: write-only mode needs widths and panes
    before the first row; the rest may come after it."""

    title: str
    rows: Iterable[Row]
    widths: list[float]
    freeze: str | None = None
    print_rows: str | None = None  # "5:5": repeated on every printed page
    autofilter: str | None = None
    rules: list[tuple[str, Any]] = field(default_factory=list)  # (range, rule)
    charts: list[tuple[Any, str]] = field(default_factory=list)  # (chart, anchor)
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


def _style_of(kind: str, currency: str | None, total: bool) -> str | None:
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
        return C(value, _style_of("days1" if days1 else kind, currency, total))
    if kind == "days" and isinstance(value, Decimal):
        return C(value.quantize(Decimal("0.1")), "days1_b" if total else "days1")
    return C(value, _style_of(kind, currency, total))


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
            _style_of(c.kind, currency, False),
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
                    C(value, "wrap") if wraps is not None and wraps[value] else value
                )
            else:
                out.append(C(value, style))
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
            out.append(C(formula, _style_of(column.kind, currency, True)))
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


# ---------------------------------------------------------------- paper


class Paper(NamedTuple):
    code: int  # the sheet's paperSize in OOXML
    width: float  # points, portrait
    height: float


PAPERS = {
    "Letter": Paper(1, 612, 792),
    "Legal": Paper(5, 612, 1008),
    "A3": Paper(8, 842, 1191),
    "A4": Paper(9, 595, 842),
    "A5": Paper(11, 420, 595),
}
DEFAULT_PAPER = {"en": "Letter", "zh": "A4"}  # unless the settings say `paper`
SIDE_MARGIN = 0.4  # inches, left and right
END_MARGIN = 0.6  # inches, top and bottom (the page header and footer inside)
# Points a column unit takes on paper at 100 %: Calibri 11's "0" is 7 pixels
# (5.25 pt), and each column adds its padding; LibreOffice with Carlito
# measured 5.5.
POINTS_PER_UNIT = 5.5
PORTRAIT_SCALE = 0.9  # portrait when it prints at least this size (10 pt)


def orientation(width: float, paper: str) -> Literal["portrait", "landscape"]:
    """Portrait when columns `width` units wide print at nearly full size on
    the paper's width, landscape otherwise (where fitting to the width shrinks
    a wide sheet the least)."""
    printable = PAPERS[paper].width - 2 * SIDE_MARGIN * 72
    fits = width * POINTS_PER_UNIT * PORTRAIT_SCALE <= printable
    return "portrait" if fits else "landscape"


# ---------------------------------------------------------------- the book


class _Book:
    """A write-only openpyxl workbook, its styles, and the formulas' cached values."""

    def __init__(self, data: WorkbookData, language: str) -> None:
        from openpyxl import Workbook

        self.data = data
        self.words = Words(language)
        self.paper = data.paper or DEFAULT_PAPER[language]
        self.wb = Workbook(write_only=True)
        # Readers that recalculate (Excel) do so on load; the cached values we
        # store serve the ones that do not.
        self.wb.calculation.fullCalcOnLoad = True
        self.taken: set[str] = set()
        self.cached: dict[str, dict[str, Decimal | int]] = {}
        self._styles: dict[str, dict[str, Any]] = {}
        self._wrapped: dict[tuple[C, float], float] = {}

    # -- names

    def title(self, key: str, currency: str | None = None) -> str:
        name = self.words(f"sheet.{key}")
        return sheet_title(f"{name} {currency}" if currency else name, self.taken)

    def heading(self, grid: Grid, title: str) -> None:
        """Rows 1-3: the sheet's title, company and filters, a blank row."""
        grid.add(C(title, "title"))
        subtitle = self.subtitle()
        grid.add(C(subtitle, "subtitle") if subtitle else None)
        grid.skip()

    def subtitle(self) -> str:
        data, words = self.data, self.words
        parts = [data.company] if data.company else []
        if data.filters:
            shown = "; ".join(f"{words(f'filter.{k}')} {v}" for k, v in data.filters)
            parts.append(f"{words('filters')}: {shown}")
        return " · ".join(parts)

    # -- styles

    def style(self, key: str) -> dict[str, Any]:
        found = self._styles.get(key)
        if found is None:
            found = self._styles[key] = self._make_style(key)
        return found

    def _make_style(self, key: str) -> dict[str, Any]:
        from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

        bold = key.endswith("_b")
        base = key.removesuffix("_b")
        attrs: dict[str, Any] = {}
        if base == "title":
            return {"font": Font(FONT, bold=True, size=14, color=TITLE_COLOUR)}
        if base == "subtitle":
            return {"font": Font(FONT, italic=True, color="595959")}
        if base == "block":
            return {"font": Font(FONT, bold=True, size=12, color=TITLE_COLOUR)}
        if base in ("header", "header_r"):
            return {
                "font": Font(FONT, bold=True),
                "fill": PatternFill("solid", fgColor=HEADER_FILL),
                "border": Border(bottom=Side(style="thin", color="808080")),
                "alignment": Alignment(
                    horizontal="right" if base == "header_r" else "left",
                    vertical="bottom",
                    wrap_text=True,
                    indent=1 if base == "header_r" else 0,
                ),
            }
        if base == "wrap":
            attrs["alignment"] = Alignment(wrap_text=True, vertical="bottom")
        # Every number keeps a digit's width clear on its right (NUMBER_PAD),
        # so the next column's text never touches it.
        pad = NUMBER_PAD
        if base.startswith("money"):
            attrs["number_format"] = amount_format(int(base[5:]), red_negative=True)
        elif base in ("int", "days"):
            attrs["number_format"] = "#,##0" + pad
        elif base == "days1":
            attrs["number_format"] = "#,##0.0" + pad
        elif base == "ratio":
            attrs["number_format"] = "0.0%" + pad
        elif base == "date":
            attrs["number_format"] = "yyyy-mm-dd" + pad
        if bold:
            attrs["font"] = Font(FONT, bold=True)
            attrs["border"] = Border(top=Side(style="thin", color="000000"))
        return attrs

    # -- writing

    def write(self, plan: Plan, index: int | None = None) -> None:
        """Create the sheet and write a plan into it."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        wb = self.wb
        ws = wb.create_sheet(plan.title, index)
        widths = list(plan.widths)
        heading = plan.heading
        if heading is None:
            assert isinstance(plan.rows, list), "a streamed plan gives its heading"
            heading = heading_width(plan.rows)
        if heading > sum(widths):
            # A title wider than the table: an empty column prints the rest.
            widths.append(round(heading - sum(widths) + CELL_PADDING, 2))
        for i, width in enumerate(widths, 1):
            ws.column_dimensions[letter(i)].width = width
        if plan.freeze:
            ws.freeze_panes = plan.freeze
        self._page_setup(ws, plan, sum(widths))
        cached = self.cached.setdefault(plan.title, {})
        # One styled cell per (column, style), reused row after row: write-only
        # mode writes a row as soon as it is appended, so a cell can carry the
        # next row's value; styling a fresh cell per value would cost far more.
        protos: dict[tuple[int, str], Any] = {}
        illegal = ILLEGAL_CHARACTERS_RE
        heights: list[float] = []
        if isinstance(plan.rows, list):
            heights = [self._height(row, widths) for row in plan.rows]
            self._page_breaks(ws, plan, heights, sum(widths))
        number = 0
        for row in plan.rows:
            number += 1
            out: list[Any] = []
            height = heights[number - 1] if heights else self._height(row, widths)
            for col, spec in enumerate(row, 1):
                if isinstance(spec, C):
                    value, style = spec
                else:
                    value, style = spec, None
                if isinstance(value, Decimal):
                    value = float(value)
                elif isinstance(value, str) and illegal.search(value):
                    value = illegal.sub("", value)
                if isinstance(value, Formula):
                    cell = WriteOnlyCell(ws, value=value.text)
                    if style:
                        self._apply(cell, style)
                    cached[f"{letter(col)}{number}"] = value.cached  # type: ignore[assignment]
                    out.append(cell)
                    continue
                if style is None:
                    if isinstance(value, str) and value.startswith("="):
                        # Text, never a formula (STYLE §6): a name like "=X".
                        cell = WriteOnlyCell(ws, value=value)
                        cell.data_type = "s"
                        out.append(cell)
                    else:
                        out.append(value)
                    continue
                if value is None and not style.endswith("_b"):
                    out.append(None)
                    continue
                cell = protos.get((col, style))
                if cell is None:
                    cell = protos[(col, style)] = WriteOnlyCell(ws)
                    self._apply(cell, style)
                cell.value = value
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"
                out.append(cell)
            if height != LINE_HEIGHT:
                # Wrapped text gets the row's height from us: LibreOffice keeps
                # a row at the default height when opening the file, and would
                # draw the lines over the next row. The write-only writer takes
                # a row's attributes from this mapping as it writes the row; a
                # plain dict costs a fraction of a RowDimension, row after row.
                ws.row_dimensions[number] = {"ht": str(height), "customHeight": "1"}
            ws.append(out)
            if height != LINE_HEIGHT:
                del ws.row_dimensions[number]  # written; 100 000 rows need no copy
        # Print what was written (and the charts, which stand on blank rows).
        ws.print_area = f"A1:{letter(len(widths))}{max(number, 1)}"
        if plan.autofilter:
            ws.auto_filter.ref = plan.autofilter
        for ref, rule in plan.rules:
            ws.conditional_formatting.add(ref, rule)
        for chart, anchor in plan.charts:
            # No wider than the columns (charts stand at column A): the print
            # area ends there.
            chart.width = min(chart.width, sum(widths) * POINTS_PER_UNIT * 0.95 / 28.35)
            ws.add_chart(chart, anchor)

    def _height(self, row: Row, widths: list[float]) -> float:
        """A row's height in points: a line, or as many as its wrapped text
        takes; headings have their font's."""
        height = LINE_HEIGHT
        for col, spec in enumerate(row):
            if type(spec) is C and spec.style in _TALL and spec.value is not None:
                if spec.style in HEADING_HEIGHT:
                    return HEADING_HEIGHT[spec.style]
                height = max(height, self._lines(spec, widths[col]))
        return height

    def _page_breaks(
        self, ws: Any, plan: Plan, heights: list[float], width: float
    ) -> None:
        """Page breaks that keep each of `plan.keep`'s spans on one page where
        it fits on one (else its first rows together), as the sheet will print
        fitted to the page width."""
        from openpyxl.worksheet.pagebreak import Break

        if not plan.keep:
            return
        paper = PAPERS[self.paper]
        landscape = orientation(width, self.paper) == "landscape"
        page_width, page_height = (
            (paper.height, paper.width) if landscape else (paper.width, paper.height)
        )
        printable = page_width - 2 * SIDE_MARGIN * 72
        scale = min(1.0, printable / (width * POINTS_PER_UNIT))
        # What a page holds, in the sheet's points, with a little to spare.
        room = (page_height - 2 * END_MARGIN * 72) / scale * 0.96
        repeated = 0.0
        if plan.print_rows:
            first_title = int(plan.print_rows.split(":")[0])
            repeated = heights[first_title - 1]
        starts = {first: last for first, last in plan.keep}
        used = 0.0
        for number, height in enumerate(heights, 1):
            last = starts.get(number)
            if last is not None and used > repeated:
                span = sum(heights[number - 1 : last])
                if span > room - repeated:  # longer than a page: keep its start
                    span = sum(heights[number - 1 : min(last, number + 4)])
                if used + span > room:
                    ws.row_breaks.append(Break(id=number - 1))
                    used = repeated
            if used + height > room:  # the printer's own break
                used = repeated
            used += height

    def _lines(self, cell: C, width: float) -> float:
        """The height of a wrapping cell's lines in a column `width` wide."""
        key = (cell, width)
        found = self._wrapped.get(key)
        if found is None:
            text, style = str(cell.value), cell.style
            room = width - CELL_PADDING - (1.0 if style == "header_r" else 0.0)
            lines = wrapped_lines(text, room, bold=style != "wrap")
            line = CJK_LINE_HEIGHT if _HAS_CJK.search(text) else LINE_HEIGHT
            found = self._wrapped[key] = line * lines
        return found

    def _apply(self, cell: Any, style: str) -> None:
        for name, value in self.style(style).items():
            setattr(cell, name, value)

    def _page_setup(self, ws: Any, plan: Plan, width: float) -> None:
        """The paper; portrait when the sheet fits its width, else landscape;
        fitted to the page width; the header row repeated; company and as-of
        in the page header, page numbers in the footer.

        Args:
            width: the printed columns' width, in column units.
        """
        size = PAPERS[self.paper]
        ws.page_setup.paperSize = size.code
        ws.page_setup.orientation = orientation(width, self.paper)
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins.left = ws.page_margins.right = SIDE_MARGIN
        ws.page_margins.top = ws.page_margins.bottom = END_MARGIN
        ws.page_margins.header = ws.page_margins.footer = 0.3
        if plan.print_rows:
            ws.print_title_rows = plan.print_rows
        words = self.words

        def escape(text: str) -> str:  # "&" starts a code in page headers
            return text.replace("&", "&&")

        ws.oddHeader.left.text = escape(self.data.company or "")
        ws.oddHeader.center.text = "&A"  # the sheet's name
        ws.oddHeader.right.text = escape(
            words("as_of", as_of=self.data.as_of.isoformat())
        )
        ws.oddFooter.center.text = words("page")

    def save(self) -> bytes:
        out = io.BytesIO()
        self.wb.save(out)
        return store_cached_values(out.getvalue(), self.cached)


# ---------------------------------------------------------------- formulas' values

_EMPTY_VALUE = re.compile(rb"<v\s*/>|<v></v>")


def _cached_text(value: Decimal | int | float) -> bytes:
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -6:
            return format(value, "f").encode()
        return repr(float(value)).encode()
    return str(value).encode()


def _fill_values(xml: bytes, values: dict[str, Decimal | int]) -> bytes:
    """Put each formula cell's cached value into its empty `<v/>`."""
    pieces = []
    position = 0
    while True:
        start = xml.find(b"<f>", position)
        if start < 0:
            break
        cell = xml.rfind(b'<c r="', 0, start)
        ref = xml[cell + 6 : xml.find(b'"', cell + 6)].decode("ascii")
        end = xml.find(b"</f>", start) + len(b"</f>")
        pieces.append(xml[position:end])
        position = end
        empty = _EMPTY_VALUE.match(xml, end)
        value = values.get(ref)
        if empty is not None and value is not None:
            pieces.append(b"<v>" + _cached_text(value) + b"</v>")
            position = empty.end()
    pieces.append(xml[position:])
    return b"".join(pieces)


def store_cached_values(
    data: bytes, cached: dict[str, dict[str, Decimal | int]]
) -> bytes:
    """The saved workbook with its formulas' cached values filled in.

    openpyxl writes a formula with an empty value (`<f>SUM(..)</f><v/>`); Excel
    recalculates on load, but a previewer or a script reading the file would see
    nothing. We know each value (it is what the report computed), so we store it.

    Args:
        data: the xlsx file as openpyxl saved it.
        cached: per sheet title, per cell reference ("C12"), the value.
    """
    import posixpath
    import zipfile
    from xml.etree import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    source = zipfile.ZipFile(io.BytesIO(data))
    book = ElementTree.fromstring(source.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(source.read("xl/_rels/workbook.xml.rels"))
    targets = {
        r.get("Id"): r.get("Target", "") for r in rels.iter(f"{pkg}Relationship")
    }
    parts: dict[str, dict[str, Decimal | int]] = {}
    for sheet in book.iter(f"{main}sheet"):
        values = cached.get(sheet.get("name", ""))
        if not values:
            continue
        target = targets[sheet.get(f"{rel_ns}id")]
        path = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join("xl", target))
        )
        parts[path] = values
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target_zip:
        for info in source.infolist():
            payload = source.read(info.filename)
            if info.filename in parts:
                payload = _fill_values(payload, parts[info.filename])
            target_zip.writestr(info, payload, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


# ---------------------------------------------------------------- the sheets


def build(data: WorkbookData, language: str = "en") -> bytes:
    """The workbook as xlsx bytes.

    Args:
        data: the reports (see `gather`).
        language: "en" or "zh": sheet names, headings and labels.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    book = _Book(data, language)
    anchors: dict[str, dict[str, tuple[str, str, Any]]] = {}
    _aging_sheet(book, anchors)
    _open_items_sheets(book)
    _overdue_sheets(book, anchors)
    _worklist_sheet(book)
    _collection_sheet(book, anchors)
    _risk_sheet(book)
    _forecast_sheet(book)
    _trend_sheet(book)
    _allowance_sheet(book)
    _movement_sheet(book)
    # The Summary links to the other sheets' totals, so it is planned last and
    # put first.
    _summary_sheet(book, anchors)
    return book.save()


def _currencies(data: WorkbookData) -> list[str]:
    found = {s.currency for s in data.aging.sections}
    found |= {s.currency for s in data.collection.sections}
    found |= {s.currency for s in data.risk.sections}
    found |= {s.currency for s in data.forecast.sections}
    return sorted(found)


def _anchor(
    anchors: dict[str, dict[str, tuple[str, str, Any]]],
    currency: str,
    name: str,
    sheet: str,
    cell: str,
    value: Any,
) -> None:
    anchors.setdefault(currency, {})[name] = (sheet, cell, value)


def _single_block_panes(
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


# -- Aging


def _aging_sheet(
    book: _Book, anchors: dict[str, dict[str, tuple[str, str, Any]]]
) -> None:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.chart.marker import DataPoint

    data, words = book.data, book.words
    result = data.aging
    title = book.title("aging")
    grid = Grid()
    book.heading(grid, words("title.aging", as_of=data.as_of.isoformat()))
    labels = [words(label) for label in result.labels]
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        *(Col(f"bucket{i}", label, "money", True) for i, label in enumerate(labels)),
        Col("unapplied", words("unapplied"), "money", True),
        Col("total", words("net_ar.column"), "money", True),
        Col("key_account", words("key_account")),
        Col("hold", words("hold")),
    ]
    n = len(labels)
    first_bucket, unapplied_col, total_col = 3, 3 + n, 4 + n
    overdue_from = 1  # bucket 0 is Current (basis due) or the youngest (invoice)
    fills = age_fills(n - overdue_from)
    plan_rules: list[tuple[str, Any]] = []
    charts: list[tuple[Any, str]] = []
    headers: list[int] = []
    if not result.sections:
        grid.add(words("nothing"))
    for section in result.sections:
        currency = section.currency
        start = grid.add(C(words("block", currency=currency), "block"))
        header = grid.next
        headers.append(header)

        def row_total(r: int) -> str:
            return f"=SUM({letter(first_bucket)}{r}:{letter(unapplied_col)}{r})"

        rows = []
        for i, customer in enumerate(section.customers):
            r = header + 1 + i
            rows.append(
                [
                    customer.customer,
                    customer.name,
                    *customer.buckets,
                    customer.unapplied,
                    Formula(row_total(r), customer.total),
                    words("mark.key_account") if customer.key_account else None,
                    words("mark.hold") if customer.hold else None,
                ]
            )
        span = add_table(
            grid, columns, rows, currency=currency, total_label=words("total")
        )
        total_row = span.total
        assert total_row is not None
        # Each bucket's share of the total, as formulas.
        if section.total:
            total_ref = f"${letter(total_col)}${total_row}"
            grid.add(
                C(words("share"), "text"),
                None,
                *(
                    C(
                        Formula(
                            f"={letter(first_bucket + i)}{total_row}/{total_ref}",
                            section.buckets[i] / section.total,
                        ),
                        "ratio",
                    )
                    for i in range(n)
                ),
            )
        grid.keep(start)
        shaded = [letter(first_bucket + overdue_from + i) for i in range(len(fills))]
        plan_rules.extend(_bucket_shading(shaded, span.first, span.last, fills))
        # A bar chart of the buckets (the totals row), under the block: beside
        # it, it would widen the printed page and shrink the table.
        chart = BarChart()
        chart.type = "col"
        chart.title = words("chart.aging", currency=currency)
        chart.legend = None
        chart.height, chart.width = 7.5, 15
        chart.y_axis.numFmt = "#,##0"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        _chart_text(chart)
        q = quote_sheet(title)
        last_bucket = letter(first_bucket + n - 1)
        values = Reference(
            range_string=f"{q}!${letter(first_bucket)}${total_row}:${last_bucket}${total_row}"
        )
        cats = Reference(
            range_string=f"{q}!${letter(first_bucket)}${header}:${last_bucket}${header}"
        )
        chart.add_data(values, from_rows=True, titles_from_data=False)
        chart.set_categories(cats)
        series = chart.series[0]
        colours = CHART_COLOURS if result.basis == "due" else CHART_COLOURS[1:]
        for i in range(n):
            point = DataPoint(idx=i)
            point.graphicalProperties.solidFill = colours[min(i, len(colours) - 1)]
            series.dPt.append(point)
        grid.skip()
        anchor_row = grid.next
        charts.append((chart, f"A{anchor_row}"))
        _anchor(
            anchors,
            currency,
            "aging_total",
            title,
            f"${letter(total_col)}${total_row}",
            span.sums["total"],
        )
        _anchor(
            anchors,
            currency,
            "aging_unapplied",
            title,
            f"${letter(unapplied_col)}${total_row}",
            span.sums["unapplied"],
        )
        _anchor(
            anchors,
            currency,
            "aging_open",
            title,
            f"${letter(first_bucket)}${total_row}:${last_bucket}${total_row}",
            sum(section.buckets, ZERO),
        )
        if result.basis == "due":
            _anchor(
                anchors,
                currency,
                "aging_current",
                title,
                f"${letter(first_bucket)}${total_row}",
                span.sums["bucket0"],
            )
        # Leave room for the chart before the next block (15 rows ~ 7.5 cm).
        grid.pad_to(anchor_row + 17)
        grid.keep(anchor_row - 1, anchor_row + 15)  # a blank row over the chart
    grid.add(C(words(f"basis.{result.basis}"), "subtitle"))
    freeze, print_rows = _single_block_panes(
        len(headers), headers[0] if headers else None, 2
    )
    autofilter = None
    if len(headers) == 1:
        section = result.sections[0]
        autofilter = (
            f"A{headers[0]}:{letter(len(columns))}{headers[0] + len(section.customers)}"
        )
    book.write(
        Plan(
            title,
            grid.rows,
            _widths(grid.rows, columns=columns),
            freeze=freeze,
            print_rows=print_rows,
            autofilter=autofilter,
            rules=plan_rules,
            charts=charts,
            keep=grid.kept,
        )
    )


def _chart_text(chart: Any) -> None:
    """A chart's axis and legend labels at the body's size (11 pt, where
    Excel's default is 10): they print at the sheet's scale with the rest."""
    from openpyxl.chart.text import RichText
    from openpyxl.drawing.text import (
        CharacterProperties,
        Paragraph,
        ParagraphProperties,
    )

    def text() -> RichText:
        size = CharacterProperties(sz=1100)
        return RichText(
            p=[Paragraph(pPr=ParagraphProperties(defRPr=size), endParaRPr=size)]
        )

    chart.x_axis.txPr = text()
    chart.y_axis.txPr = text()
    if chart.legend is not None:
        chart.legend.txPr = text()


def _widths(
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


# -- Open items and Overdue: the big lists, one sheet per currency


def _age_rules(
    ref: str, days_col: str, first: int, limits: Sequence[int], basis: str
) -> list[tuple[str, Any]]:
    """Shade cells by the age in `days_col`: older is darker (oldest rule first)."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import PatternFill

    # The lower bound (exclusive) of each shaded bucket.
    if basis == "due":
        bounds = [0, *limits]
    else:
        bounds = list(limits)
    fills = age_fills(len(bounds))
    rules = []
    for bound, colour in reversed(list(zip(bounds, fills, strict=True))):
        rules.append(
            (
                ref,
                FormulaRule(
                    formula=[f"${days_col}{first}>{bound}"],
                    fill=PatternFill("solid", fgColor=colour, bgColor=colour),
                    stopIfTrue=True,
                ),
            )
        )
    return rules


def _bucket_shading(
    columns: Sequence[str], first: int, last: int, fills: Sequence[str]
) -> list[tuple[str, Any]]:
    """Shade the non-zero cells of each overdue bucket column with its age colour."""
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.styles import PatternFill

    if last < first:
        return []
    return [
        (
            f"{column}{first}:{column}{last}",
            CellIsRule(
                operator="greaterThan",
                formula=["0"],
                fill=PatternFill("solid", fgColor=colour, bgColor=colour),
            ),
        )
        for column, colour in zip(columns, fills, strict=True)
    ]


class ListSection(NamedTuple):
    """One currency of a long list, streamed."""

    currency: str
    count: int  # rows
    rows: Iterable[Sequence[Any]]
    sample: list[Sequence[Any]]  # the first rows, for the column widths
    total: Decimal  # the `open` column's total


def _list_sheet(
    book: _Book,
    key: str,
    heading: str,
    sections: Sequence[ListSection],
    columns: Sequence[Col],
    days_key: str,
    shade: Sequence[str],
    empty: str,
    anchors: dict[str, dict[str, tuple[str, str, Any]]] | None = None,
    anchor_name: str | None = None,
) -> None:
    """One sheet per currency (just `key` with one currency) of a long list.

    Args:
        sections: per currency, its rows.
        days_key: the column whose age shades `shade` columns.
    """
    words = book.words
    result = book.data.aging
    if not sections:
        grid = Grid()
        book.heading(grid, heading)
        grid.add(empty)
        book.write(Plan(book.title(key), grid.rows, _widths(grid.rows)))
        return
    several = len(sections) > 1
    header = 5
    letters = {c.key: letter(i) for i, c in enumerate(columns, 1)}
    for currency, count, rows, sample, total in sections:
        title = book.title(key, currency if several else None)
        top_rows: list[Row] = [
            [C(heading, "title")],
            [C(book.subtitle(), "subtitle") if book.subtitle() else None],
            [],
            [C(words("block", currency=currency), "block")],
        ]
        # Widths from the sample as it will be written, and the real total.
        measured = list(
            table_rows(
                columns,
                sample,
                first=header,
                count=len(sample),
                currency=currency,
                total_label=words("total"),
            )
        )
        measured.append(
            [
                typed(total, "money", currency, True) if c.key == "open" else None
                for c in columns
            ]  # fmt: skip
        )
        widths = _widths(measured, columns=columns)

        def planned(
            rows: Iterable[Sequence[Any]] = rows,
            currency: str = currency,
            count: int = count,
            top_rows: list[Row] = top_rows,
            title: str = title,
        ) -> Iterator[Row]:
            yield from top_rows
            sums: dict[str, Decimal | int] = {}
            yield from table_rows(
                columns,
                rows,
                first=header,
                count=count,
                currency=currency,
                total_label=words("total"),
                sums=sums,
            )
            if anchors is not None and anchor_name is not None:
                total_cell = f"${letters['open']}${header + count + 1}"
                _anchor(anchors, currency, anchor_name, title, total_cell, sums["open"])

        last = header + count
        rules: list[tuple[str, Any]] = []
        if count:
            for name in shade:
                ref = f"{letters[name]}{header + 1}:{letters[name]}{last}"
                rules.extend(
                    _age_rules(
                        ref,
                        letters[days_key],
                        header + 1,
                        result.limits,
                        result.basis if key == "open_items" else "due",
                    )
                )
        book.write(
            Plan(
                title,
                planned(),
                widths,
                freeze=f"C{header + 1}",
                print_rows=f"{header}:{header}",
                autofilter=f"A{header}:{letter(len(columns))}{max(last, header)}",
                rules=rules,
                heading=heading_width(top_rows),
            )
        )


def _open_items_sheets(book: _Book) -> None:
    data, words = book.data, book.words
    result = data.aging
    basis = result.basis
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("invoice", words("invoice")),
        Col("item", words("item"), "int"),
        Col("date", words("date"), "date"),
        Col("due", words("due"), "date"),
        Col("days", words("days" if basis == "due" else "days.invoice"), "int"),
        Col("bucket", words("bucket")),
        Col("open", words("open"), "money", True),
        Col("owner", words("owner")),
        Col("disputed", words("disputed")),
    ]
    labels = [words(label) for label in result.labels]
    unapplied = words("bucket.unapplied")
    disputed = words("mark.disputed")

    def rows(section: CurrencyAging) -> Iterator[tuple[Any, ...]]:
        for customer in section.customers:
            name = customer.name
            for aged in customer.items:
                item = aged.item
                yield (
                    item.customer,
                    name,
                    item.invoice,
                    item.instalment,
                    item.date,
                    item.due,
                    aged.days,
                    labels[aged.bucket],
                    item.open,
                    item.owner,
                    disputed if item.disputed else None,
                )
            if customer.unapplied:
                yield (
                    customer.customer,
                    name,
                    None,
                    None,
                    None,
                    None,
                    None,
                    unapplied,
                    customer.unapplied,
                    None,
                    None,
                )

    sections = []
    for section in result.sections:
        count = sum(len(c.items) + (1 if c.unapplied else 0) for c in section.customers)
        sample = []
        for row in rows(section):
            sample.append(row)
            if len(sample) >= 500:
                break
        sections.append(
            ListSection(section.currency, count, rows(section), sample, section.total)
        )
    _list_sheet(
        book,
        "open_items",
        words("title.open_items", as_of=data.as_of.isoformat()),
        sections,
        columns,
        "days",
        ("days", "bucket", "open"),
        words("nothing"),
    )


def _overdue_sheets(
    book: _Book, anchors: dict[str, dict[str, tuple[str, str, Any]]]
) -> None:
    data, words = book.data, book.words
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("invoice", words("invoice")),
        Col("item", words("item"), "int"),
        Col("due", words("due"), "date"),
        Col("days", words("days"), "int"),
        Col("open", words("open"), "money", True),
        Col("owner", words("owner"), wrap=OWNER_WIDTH),
        Col("contact", words("contact"), wrap=CONTACT_WIDTH),
        Col("disputed", words("disputed")),
        Col("last_contact", words("last_contact"), "date"),
        Col("promise", words("promise")),
        Col("promise_date", words("promise_date"), "date"),
        Col("promise_amount", words("promise_amount"), "money"),
    ]
    disputed = words("mark.disputed")

    def rows(section: CurrencyOverdue) -> Iterator[tuple[Any, ...]]:
        for o in section.items:
            item = o.item
            contact = o.follow_up.last_contact
            promise = o.follow_up.promise
            yield (
                item.customer,
                o.name,
                item.invoice,
                item.instalment,
                item.due,
                o.days,
                item.open,
                item.owner,
                o.contact,
                disputed if item.disputed else None,
                contact.date if contact else None,
                words(f"promise.{promise.status}") if promise else None,
                promise.due if promise else None,
                promise.amount if promise else None,
            )

    sections = []
    for section in data.overdue.sections:
        sample = []
        for row in rows(section):
            sample.append(row)
            if len(sample) >= 500:
                break
        sections.append(
            ListSection(
                section.currency,
                len(section.items),
                rows(section),
                sample,
                section.overdue,
            )
        )
    _list_sheet(
        book,
        "overdue",
        words("title.overdue", as_of=data.as_of.isoformat()),
        sections,
        columns,
        "days",
        ("days", "open"),
        words("no_overdue"),
        anchors,
        "overdue_total",
    )


# -- Worklist


def _worklist_sheet(book: _Book) -> None:
    """The day's dunning tasks (`dunning --worklist`, the same report): whom to
    call or visit, how to reach them, what is owed and since when, the last
    contact and the promise to watch, and whether the step is done."""
    data, words = book.data, book.words
    columns = [
        Col("owner", words("owner"), wrap=OWNER_WIDTH),
        Col("task", words("task")),
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("contact", words("contact"), wrap=CONTACT_WIDTH),
        Col("open", words("owed"), "money", True),
        Col("since", words("since"), "date"),
        Col("days", words("days"), "int"),
        Col("last_contact", words("last_contact"), "date"),
        Col("channel", words("channel")),
        Col("promise", words("promise")),
        Col("promise_date", words("promise_date"), "date"),
        Col("promise_amount", words("promise_amount"), "money"),
        Col("status", words("status")),
    ]

    def word(prefix: str, value: Any) -> Any:
        return words(f"{prefix}.{value}") if value is not None else None

    def status(text: str) -> str:
        # the report's `to do` / `done DATE`, in the workbook's language
        if text.startswith("done "):
            return words("status.done", date=text.removeprefix("done "))
        return words("status.todo")

    def rows(section: Any) -> Iterator[tuple[Any, ...]]:
        for row in section.rows:
            yield (
                row["owner"],
                word("task", row["task"]),
                row["customer"],
                row["name"],
                row["contact"],
                row["amount"],
                row["since"],
                row["days"],
                row["last_contact"],
                word("channel", row["channel"]),
                word("promise", row["promise"]),
                row["promise_date"],
                row["promise_amount"],
                status(row["status"]),
            )

    report = data.worklist
    sections = [
        ListSection(
            section.currency,
            len(section.rows),
            rows(section),
            list(rows(section))[:500],
            section.totals["amount"],
        )
        for section in (report.sections if report is not None else ())
        if section.rows
    ]
    _list_sheet(
        book,
        "worklist",
        words("title.worklist", as_of=data.as_of.isoformat()),
        sections,
        columns,
        "days",
        ("days", "open"),
        words("no_tasks"),
    )


# -- Collection


def _collection_sheet(
    book: _Book, anchors: dict[str, dict[str, tuple[str, str, Any]]]
) -> None:
    data, words = book.data, book.words
    result = data.collection
    period = result.period
    title = book.title("collection")
    grid = Grid()
    book.heading(
        grid,
        words(
            "title.collection",
            period=period.label,
            start=period.start.isoformat(),
            end=period.end.isoformat(),
        ),
    )
    if not result.sections:
        grid.add(words("nothing"))
    amounts = ("opening", "invoiced", "collected", "credited", "written_off")
    for section in result.sections:
        currency = section.currency
        figures = section.total
        start = grid.add(C(words("roll_forward", currency=currency), "block"))
        grid.add(C(period.label, "header"), C(words("amount"), "header_r"))
        cells: dict[str, str] = {}
        for key in amounts:
            label = words(f"rf.{key}") if key == "written_off" else words(key)
            row = grid.add(label, typed(getattr(figures, key), "money", currency))
            cells[key] = f"B{row}"
        closing = (
            figures.opening
            + figures.invoiced
            - figures.collected
            - figures.credited
            - figures.written_off
        )
        row = grid.add(
            C(words("closing"), "text_b"),
            C(
                Formula(
                    "={opening}+{invoiced}-{collected}-{credited}-{written_off}".format(
                        **cells
                    ),
                    closing,
                ),
                _style_of("money", currency, True),
            ),
        )
        cells["closing"] = f"B{row}"
        for key in ("closing_current", "received"):
            row = grid.add(words(key), typed(getattr(figures, key), "money", currency))
            cells[key] = f"B{row}"
        grid.keep(start)
        grid.skip()
        start = grid.add(C(words("metrics"), "header"), C(None, "header"))
        metrics = (
            ("collection_rate", figures.collection_rate, "ratio"),
            ("sales_collection_rate", figures.sales_collection_rate, "ratio"),
            ("dso", figures.dso, "days"),
            ("cei", figures.cei, "ratio"),
            ("avg_days_to_pay", figures.avg_days_to_pay, "days"),
            ("avg_days_late", figures.avg_days_late, "days"),
        )
        for key, value, kind in metrics:
            row = grid.add(words(key), typed(value, kind, currency))
            cells[key] = f"B{row}"
        grid.keep(start)
        kinds = {"collected": "money", **{key: kind for key, _, kind in metrics}}
        for key in ("collected", "collection_rate", "dso", "cei", "avg_days_to_pay"):
            planned = typed(getattr(figures, key), kinds[key], currency)
            if planned is None:
                continue
            # The Summary links here; its cached value is what this cell holds
            # (days rounded to one place).
            _anchor(
                anchors, currency, key, title, f"$B${cells[key][1:]}", planned.value
            )
        grid.skip()
        start = grid.add(C(words("by_owner", currency=currency), "block"))
        _owner_table(grid, words, section, currency)
        grid.keep(start)
        grid.skip(2)
    book.write(
        Plan(
            title,
            grid.rows,
            _widths(grid.rows),
            freeze="A4",
            keep=grid.kept,
        )
    )


def _owner_table(
    grid: Grid, words: Words, section: CurrencyCollection, currency: str
) -> Span:
    from arledger.reports.collection import figures_row

    keys = (
        ("opening", "money"),
        ("invoiced", "money"),
        ("collected", "money"),
        ("credited", "money"),
        ("written_off", "money"),
        ("closing", "money"),
        ("closing_current", "money"),
        ("received", "money"),
        ("collection_rate", "ratio"),
        ("sales_collection_rate", "ratio"),
        ("dso", "days"),
        ("cei", "ratio"),
        ("avg_days_to_pay", "days"),
        ("avg_days_late", "days"),
    )
    columns = [Col("owner", words("owner"))] + [
        Col(key, words(key).lstrip("+−= "), kind, kind == "money") for key, kind in keys
    ]
    rows = []
    for row in section.rows:
        figures = figures_row(row.figures)
        rows.append(
            [row.key if row.key is not None else words("no_owner")]
            + [figures[key] for key, _ in keys]
        )
    return add_table(
        grid,
        columns,
        rows,
        currency=currency,
        total_label=words("total"),
        totals=figures_row(section.total),
    )


# -- Risk


def _risk_sheet(book: _Book) -> None:
    from openpyxl.formatting.rule import CellIsRule, FormulaRule
    from openpyxl.styles import Font, PatternFill

    data, words = book.data, book.words
    result = data.risk
    title = book.title("risk")
    grid = Grid()
    book.heading(grid, words("title.risk", as_of=data.as_of.isoformat()))
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("exposure", words("exposure"), "money", True),
        Col("credit_limit", words("credit_limit"), "money"),
        Col("limit_used", words("limit_used"), "ratio"),
        Col("overdue", words("overdue"), "money", True),
        Col("oldest_days", words("oldest_days"), "int"),
        Col("on_time_ratio", words("on_time_ratio"), "ratio"),
        Col("avg_days_late", words("avg_days_late"), "days"),
        Col("broken_promises", words("broken_promises"), "int", True),
        Col("written_off", words("written_off"), "money", True),
        Col("grade", words("grade")),
        Col("computed_grade", words("computed_grade")),
        Col("points", words("points"), "int"),
        Col("key_account", words("key_account")),
        Col("hold", words("hold")),
        Col("hold_reasons", words("hold_reasons"), wrap=REASONS_WIDTH),
    ]
    at = {c.key: letter(i) for i, c in enumerate(columns, 1)}
    rules: list[tuple[str, Any]] = []
    headers: list[int] = []
    red = PatternFill("solid", fgColor="F4B084", bgColor="F4B084")
    orange = PatternFill("solid", fgColor="FCE4D6", bgColor="FCE4D6")
    if not result.sections:
        grid.add(words("nothing"))
    for section in result.sections:
        start = grid.add(C(words("block", currency=section.currency), "block"))
        rows = [_risk_row(words, r) for r in section.customers]
        span = add_table(
            grid, columns, rows, currency=section.currency, total_label=words("total")
        )
        headers.append(span.header)
        if rows:
            first, last = span.first, span.last

            def ref(key: str, first: int = first, last: int = last) -> str:
                return f"{at[key]}{first}:{at[key]}{last}"

            rules.append(
                (
                    ref("limit_used"),
                    CellIsRule(operator="greaterThan", formula=["1"], fill=red),
                )
            )
            rules.append(
                (
                    ref("hold"),
                    FormulaRule(
                        formula=[f"LEN(${at['hold']}{first})>0"],
                        fill=red,
                        font=Font(bold=True, color="9C0006"),
                    ),
                )
            )
            for grade, fill in (("D", red), ("C", orange)):
                rules.append(
                    (
                        ref("computed_grade"),
                        CellIsRule(operator="equal", formula=[f'"{grade}"'], fill=fill),
                    )
                )
        grid.keep(start)
        grid.skip(2)
    freeze, print_rows = _single_block_panes(
        len(headers), headers[0] if headers else None, 2
    )
    autofilter = None
    if len(headers) == 1:
        autofilter = (
            f"A{headers[0]}:{letter(len(columns))}"
            f"{headers[0] + len(result.sections[0].customers)}"
        )
    book.write(
        Plan(
            title,
            grid.rows,
            _widths(grid.rows, columns=columns),
            freeze=freeze,
            print_rows=print_rows,
            autofilter=autofilter,
            rules=rules,
            keep=grid.kept,
        )
    )


def _risk_row(words: Words, r: Any) -> list[Any]:
    return [
        r.customer,
        r.name,
        r.exposure,
        r.credit_limit,
        r.limit_used,
        r.overdue,
        r.oldest_days,
        r.on_time_ratio,
        r.average_days_late,
        r.follow_up.broken,
        r.written_off,
        r.assigned,
        r.score.grade,
        r.score.points,
        words("mark.key_account") if r.key_account else None,
        words("mark.hold") if r.hold else None,
        words.reasons(r.hold),
    ]


# -- Forecast


def _forecast_sheet(book: _Book) -> None:
    from arledger.reports import forecast as forecast_report

    data, words = book.data, book.words
    result = data.forecast
    title = book.title("forecast")
    grid = Grid()
    book.heading(grid, words("title.forecast", as_of=data.as_of.isoformat()))
    columns = [
        Col("period", words("period")),
        Col("from", words("from"), "date"),
        Col("to", words("to"), "date"),
        Col("items", words("items"), "int", True),
        Col("overdue", words.column("overdue", "forecast"), "money", True),
        Col("promised", words.column("promised", "forecast"), "money", True),
        Col("expected", words.column("expected", "forecast"), "money", True),
        Col("cumulative", words.column("cumulative", "forecast"), "money"),
    ]
    report = forecast_report.to_report(result)
    headers: list[int] = []
    if not report.sections:
        grid.add(words("nothing"))
    for section in report.sections:
        start = grid.add(C(words("block", currency=section.currency), "block"))
        special = {forecast_report.LATER, *forecast_report.SET_APART.values()}
        rows = [
            [
                words(row["period"]) if row["period"] in special else row["period"],
                *(row[c.key] for c in columns[1:]),
            ]
            for row in section.rows
        ]
        span = add_table(
            grid, columns, rows, currency=section.currency, total_label=words("total")
        )
        headers.append(span.header)
        summary = dict((column.key, value) for column, value in section.summary)
        for key, label in (
            ("within_horizon", words("expected_cash", count=result.horizon)),
            ("open_items", words("open_items")),
            ("aging_total", words("net_ar")),
        ):
            if key in summary:
                grid.add(
                    label,
                    *([None] * (len(columns) - 2)),
                    typed(summary[key], "money", section.currency),
                )
        grid.keep(start)
        grid.skip(2)
    freeze, print_rows = _single_block_panes(
        len(headers), headers[0] if headers else None
    )
    book.write(
        Plan(
            title,
            grid.rows,
            _widths(grid.rows),
            freeze=freeze,
            print_rows=print_rows,
            keep=grid.kept,
        )
    )


# -- Trend


def _trend_sheet(book: _Book) -> None:
    from openpyxl.chart import BarChart, Reference

    data, words = book.data, book.words
    result = data.aging
    title = book.title("trend")
    grid = Grid()
    book.heading(
        grid, words("title.trend", count=len(data.trend), as_of=data.as_of.isoformat())
    )
    labels = [words(label) for label in result.labels]
    n = len(labels)
    columns = [
        Col("month", words("month")),
        Col("month_end", words("month_end"), "date"),
        *(Col(f"bucket{i}", label, "money") for i, label in enumerate(labels)),
        Col("unapplied", words("unapplied"), "money"),
        Col("total", words("net_ar.column"), "money"),
        Col("overdue_rate", words("overdue_rate"), "ratio"),
    ]
    first_bucket, unapplied_col = 3, 3 + n
    currencies = sorted({s.currency for p in data.trend for s in p.sections})
    charts: list[tuple[Any, str]] = []
    rules: list[tuple[str, Any]] = []
    headers: list[int] = []
    fills = age_fills(n - 1)
    q = quote_sheet(title)
    if not currencies:
        grid.add(words("nothing"))
    for currency in currencies:
        start = grid.add(C(words("block", currency=currency), "block"))
        header = grid.add(
            *[C(c.label, "header_r" if c.kind != "text" else "header") for c in columns]
        )
        headers.append(header)
        for point in data.trend:
            found = next((s for s in point.sections if s.currency == currency), None)
            buckets = found.buckets if found else tuple(ZERO for _ in labels)
            unapplied = found.unapplied if found else ZERO
            total = found.total if found else ZERO
            open_items = sum(buckets, ZERO)
            r = grid.next
            grid.add(
                point.label,
                C(point.as_of, "date"),
                *(typed(b, "money", currency) for b in buckets),
                typed(unapplied, "money", currency),
                C(
                    Formula(
                        f"=SUM({letter(first_bucket)}{r}:{letter(unapplied_col)}{r})",
                        total,
                    ),
                    _style_of("money", currency, False),
                ),
                typed(
                    found.overdue / open_items if found and open_items else None,
                    "ratio",
                    currency,
                ),
            )
        first, last = header + 1, grid.next - 1
        shaded = [letter(first_bucket + 1 + i) for i in range(len(fills))]
        rules.extend(_bucket_shading(shaded, first, last, fills))
        chart = BarChart()
        chart.type = "col"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.gapWidth = 60
        chart.title = words("chart.trend", currency=currency)
        chart.height, chart.width = 9, 24
        chart.y_axis.numFmt = "#,##0"
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        _chart_text(chart)
        chart.legend.position = "b"
        values = Reference(
            range_string=(
                f"{q}!${letter(first_bucket)}${header}:"
                f"${letter(first_bucket + n - 1)}${last}"
            )
        )
        chart.add_data(values, titles_from_data=True)
        chart.set_categories(Reference(range_string=f"{q}!$A${first}:$A${last}"))
        colours = CHART_COLOURS if result.basis == "due" else CHART_COLOURS[1:]
        for i, series in enumerate(chart.series):
            colour = colours[min(i, len(colours) - 1)]
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
        grid.keep(start)
        grid.skip()
        chart_row = grid.next
        charts.append((chart, f"A{chart_row}"))
        grid.pad_to(grid.next + 20)  # 9 cm of chart
        grid.keep(chart_row - 1, chart_row + 18)  # a blank row over the chart
    freeze, print_rows = _single_block_panes(
        len(headers), headers[0] if headers else None
    )
    book.write(
        Plan(
            title,
            grid.rows,
            _widths(grid.rows),
            freeze=freeze,
            print_rows=print_rows,
            rules=rules,
            charts=charts,
            keep=grid.kept,
        )
    )


# -- Summary


def _summary_sheet(
    book: _Book, anchors: dict[str, dict[str, tuple[str, str, Any]]]
) -> None:
    data, words = book.data, book.words
    currencies = _currencies(data)
    title = book.title("summary")
    grid = Grid()
    book.heading(grid, words("title.summary", as_of=data.as_of.isoformat()))
    if not currencies:
        grid.add(words("nothing"))
    risk = {s.currency: s for s in data.risk.sections}
    forecast = {s.currency: s for s in data.forecast.sections}
    overdue = {s.currency: s for s in data.overdue.sections}
    aging = {s.currency: s for s in data.aging.sections}
    if currencies:
        grid.add(
            C(words("key_figures"), "header"),
            *(C(currency, "header_r") for currency in currencies),
        )
        rows: dict[str, int] = {}

        def link(currency: str, name: str) -> Any:
            found = anchors.get(currency, {}).get(name)
            if found is None:
                return None
            sheet, cell, value = found
            ref = f"{quote_sheet(sheet)}!{cell}"
            text = f"=SUM({ref})" if ":" in cell else f"={ref}"
            return Formula(text, value)

        def figure(
            name: str, label: str, kind: str, values: dict[str, Any], bold: bool = False
        ) -> None:
            cells: Row = [C(label, "text_b" if bold else None)]
            for currency in currencies:
                cells.append(typed(values.get(currency), kind, currency, total=bold))
            rows[name] = grid.add(*cells)

        def linked(name: str, fallback: dict[str, Any]) -> dict[str, Any]:
            out = {}
            for currency in currencies:
                out[currency] = link(currency, name) or fallback.get(currency)
            return out

        zero = {c: ZERO for c in currencies}
        figure("net_ar", words("net_ar"), "money",
               linked("aging_total", zero), bold=True)  # fmt: skip
        figure("open_items", words("open_items"), "money", linked("aging_open", zero))
        figure("unapplied", words("unapplied_credit"), "money",
               linked("aging_unapplied", zero))  # fmt: skip
        not_due = {c: (o.total_open - o.overdue) for c, o in overdue.items()}
        for currency, aged in aging.items():
            not_due.setdefault(currency, sum(aged.buckets, ZERO))
        figure("not_due", words("not_due"), "money", linked("aging_current", not_due))
        figure("overdue", words("overdue_amount"), "money",
               linked("overdue_total", zero))  # fmt: skip
        rates: dict[str, Any] = {}
        for i, currency in enumerate(currencies, 2):
            col = letter(i)
            late = overdue.get(currency)
            open_total = (
                sum(aging[currency].buckets, ZERO) if currency in aging else ZERO
            )
            if open_total:
                rates[currency] = Formula(
                    f"={col}{rows['overdue']}/{col}{rows['open_items']}",
                    (late.overdue if late else ZERO) / open_total,
                )
        figure("overdue_rate", words("overdue_rate"), "ratio", rates)
        grid.skip()
        period = data.collection.period
        grid.add(
            C(
                words(
                    "collection_period",
                    period=period.label,
                    start=period.start.isoformat(),
                    end=period.end.isoformat(),
                ),
                "header",
            ),
            *(C(currency, "header_r") for currency in currencies),
        )
        figure("collected", words("collected").lstrip("− "), "money",
               linked("collected", {}))  # fmt: skip
        figure("collection_rate", words("collection_rate"), "ratio",
               linked("collection_rate", {}))  # fmt: skip
        figure("dso", words("dso"), "days", linked("dso", {}))
        figure("cei", words("cei"), "ratio", linked("cei", {}))
        figure("avg_days_to_pay", words("avg_days_to_pay_long"), "days",
               linked("avg_days_to_pay", {}))  # fmt: skip
        grid.skip()
        figure("on_hold", words("on_hold"), "int",
               {c: s.on_hold for c, s in risk.items()})  # fmt: skip
        figure("exposure_on_hold", words("exposure_on_hold"), "money",
               {c: s.exposure_on_hold for c, s in risk.items()})  # fmt: skip
        figure(
            "expected",
            words("expected_cash", count=data.forecast.horizon),
            "money",
            {c: s.within_horizon for c, s in forecast.items()},
        )
        grid.skip(2)
        for currency in currencies:
            late = overdue.get(currency)
            if late is not None:
                start = grid.next
                _top_overdue(grid, words, late, currency)
                grid.keep(start)
                grid.skip(2)
    book.write(
        Plan(
            title,
            grid.rows,
            _widths(grid.rows, columns=TOP_COLUMNS),
            freeze="A4",
            keep=grid.kept,
        ),
        index=0,
    )


# The Summary's top overdue customers (labels are keys of LABELS).
TOP_COLUMNS = (
    Col("name", "name", wrap=NAME_WIDTH),
    Col("customer", "customer"),
    Col("overdue", "overdue", "money", True),
    Col("overdue_share", "overdue_share", "ratio", True),
    Col("oldest_days", "oldest_days", "int"),
    Col("items", "items", "int", True),
    Col("owner", "owner", wrap=NAME_WIDTH),
)


def _top_overdue(
    grid: Grid, words: Words, section: CurrencyOverdue, currency: str
) -> None:
    """The customers with the most overdue, with their oldest item and owners."""
    by_customer: dict[str, list[Any]] = {}
    for o in section.items:
        entry = by_customer.setdefault(o.item.customer, [o.name, ZERO, 0, 0, set()])
        entry[1] += o.item.open
        entry[2] = max(entry[2], o.days)
        entry[3] += 1
        if o.item.owner:
            entry[4].add(o.item.owner)
    ranked = sorted(by_customer.items(), key=lambda kv: (-kv[1][1], kv[0]))
    top = ranked[:TOP_OVERDUE]
    grid.add(
        C(
            words(
                "top_overdue", count=min(TOP_OVERDUE, len(ranked)), currency=currency
            ),
            "block",
        )
    )
    columns = [Col(c.key, words(c.label), c.kind, c.total, c.wrap) for c in TOP_COLUMNS]
    total = section.overdue
    rows = [
        [
            entry[0],
            customer,
            entry[1],
            entry[1] / total if total else None,
            entry[2],
            entry[3],
            ", ".join(sorted(entry[4])) or None,
        ]
        for customer, entry in top
    ]
    add_table(grid, columns, rows, currency=currency, total_label=words("total"))


# -- Allowance and Movement


def rate_text(rate: Decimal) -> str:
    """A rate as an exact percentage: 0.005 -> "0.5%", 1.00 -> "100%" (a
    percent format would round 0.0025 to 0.3%)."""
    percent = (rate * 100).normalize()
    return f"{percent:f}%"


def _allowance_sheet(book: _Book) -> None:
    """The bad-debt allowance by customer and bucket, as `arledger allowance
    --compare-to` shows it, a block per currency."""
    from arledger.reports import allowance

    data, words = book.data, book.words
    result = data.allowance
    if result is None or result.previous is None:
        return
    report = allowance.to_report(result)
    since = result.previous.as_of.isoformat()
    title = book.title("allowance")
    grid = Grid()
    book.heading(
        grid,
        words("title.allowance", as_of=data.as_of.isoformat(), since=since),
    )
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("bucket", words("bucket")),
        Col("rate_of", words("rate_of")),
        Col("open", words("open"), "money", True),
        Col("rate", words("rate")),
        Col("allowance", words("allowance"), "money", True),
        Col("previous", words("at", day=since), "money", True),
        Col("change", words("allowance.change"), "money", True),
    ]
    shown = {
        "bucket": lambda v: words(v),
        "rate_of": lambda v: words(f"rate_of.{v}"),
        "rate": rate_text,
    }
    headers: list[int] = []
    for section in report.sections:
        start = grid.add(C(words("block", currency=section.currency), "block"))
        rows = [
            [
                shown[c.key](row[c.key]) if c.key in shown else row[c.key]
                for c in columns
            ]
            for row in section.rows
        ]
        span = add_table(
            grid, columns, rows, currency=section.currency, total_label=words("total")
        )
        headers.append(span.header)
        grid.keep(start)
        grid.skip(2)
    freeze, print_rows = _single_block_panes(
        len(headers), headers[0] if headers else None, 2
    )
    book.write(
        Plan(
            title,
            grid.rows,
            _widths(grid.rows, columns=columns),
            freeze=freeze,
            print_rows=print_rows,
            keep=grid.kept,
        )
    )


def _movement_sheet(book: _Book) -> None:
    """The aging movement since the compare date (SPEC §12): per customer, the
    roll from the total then to the total now, and what moved into each bucket
    from younger ones; who got worse first."""
    data, words = book.data, book.words
    result = data.movement
    if result is None:
        return
    since, as_of = result.since.isoformat(), data.as_of.isoformat()
    title = book.title("movement")
    grid = Grid()
    book.heading(grid, words("title.movement", since=since, as_of=as_of))
    labels = result.labels
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("previous", words("at", day=since), "money", True),
        Col("invoiced", words("invoiced"), "money", True),
        Col("received", words("mv.received"), "money", True),
        Col("credited", words("credited"), "money", True),
        Col("written_off", words("rf.written_off"), "money", True),
        Col("total", words("mv.total", day=as_of), "money", True),
        Col("change", words("mv.change"), "money", True),
        *(
            Col(f"into{i}", words("into", bucket=words(label)), "money", True)
            for i, label in enumerate(labels[1:], 1)
        ),
    ]
    fills = age_fills(len(labels) - 1)
    rules: list[tuple[str, Any]] = []
    headers: list[int] = []
    if not result.sections:
        grid.add(words("nothing"))
    for section in result.sections:
        start = grid.add(C(words("block", currency=section.currency), "block"))
        rows = [
            [
                r.customer,
                r.name,
                r.previous,
                r.invoiced,
                r.received,
                r.credited,
                r.written_off,
                r.total,
                r.change,
                *r.moved_in[1:],
            ]
            for r in section.customers
        ]
        span = add_table(
            grid, columns, rows, currency=section.currency, total_label=words("total")
        )
        headers.append(span.header)
        shaded = [span.letters[f"into{i}"] for i in range(1, len(labels))]
        rules.extend(_bucket_shading(shaded, span.first, span.last, fills))
        grid.keep(start)
        grid.skip(2)
    freeze, print_rows = _single_block_panes(
        len(headers), headers[0] if headers else None, 2
    )
    book.write(
        Plan(
            title,
            grid.rows,
            _widths(grid.rows, columns=columns),
            freeze=freeze,
            print_rows=print_rows,
            rules=rules,
            keep=grid.kept,
        )
    )
