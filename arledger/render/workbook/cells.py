"""Rows of plain cells written straight into XlsxWriter's row data.

XlsxWriter's cell writers cost about 3 µs a cell (a bounds check, a staged
cell, then XML built attribute by attribute): most of the workbook's time,
which lists of 100 000 rows. In its constant-memory mode a sheet's rows go, as
XML, to a file in row order. `RowWriter` writes a row of text, numbers, dates
and formatted blanks there itself, in one piece, as XlsxWriter would: the
`<row>` tag by XlsxWriter's own `_write_row`, text escaped by its own
functions, numbers printed as its `_xml_number_element` prints them (`.16G`),
dates by its own conversion, formulas of cell references, `SUM(` and
arithmetic as `write_formula` stores them (with `stored_value`), a cell's
format by the format's own index. Like XlsxWriter, it holds a row until the
next row with a cell begins, and leaves a sheet's last row to XlsxWriter,
which writes it when the workbook closes: a format takes its index when its
first cell goes out, so the indices come in the same order. Rows with
anything else (other formulas, truths, very long text) go through
XlsxWriter's writers. The sheets set no row or column formats
(which a cell without its own would take).

tests/test_export_cells.py compares the bytes of both ways over drawn rows and
the demo workbook; an XlsxWriter without these parts gets None from
`RowWriter.of`, and every row then goes through its writers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from arledger.render.workbook.layout import C, Formula, Row, blank_written, written
from arledger.render.xlsx import ILLEGAL_CHARACTERS

# Text longer than this may exceed Excel's 32 767 UTF-16 units: XlsxWriter
# truncates it, so it goes through XlsxWriter's writer.
_LONG_TEXT = 32767 // 2
# Text XlsxWriter writes as it is: letters and digits, with spaces and a few
# marks inside (no control character, no `_x`, no XML special, no white space
# at either end). Ids, invoice numbers and most names are; the others go
# through XlsxWriter's escaping.
_AS_IS = re.compile(r"[0-9A-Za-z](?:[0-9A-Za-z .,/-]*[0-9A-Za-z.])?")
# Formulas XlsxWriter stores as they are, the leading `=` dropped: cell
# references, `SUM(` and arithmetic. No other function name, so none that
# `write_formula` rewrites (future and dynamic-array functions), no braces
# (array formulas), nothing XML escapes.
_PLAIN_FORMULA = re.compile(r"=(?:SUM\(|\$?[A-Z]{1,3}\$?[0-9]+|[0-9:+\-*/()])+")
# Texts (ids, names, labels) whose cells are kept made, at most: a list's
# invoice numbers, each written once, would otherwise be kept to the end.
_KEPT_TEXTS = 10_000
# The XlsxWriter releases this module is known to write as: the tests compare
# its bytes with XlsxWriter's own over drawn sheets. Another release gets
# XlsxWriter's writers for every row (slower, never different): its internals
# may have changed in ways no attribute check can see. A new release is added
# here once those tests pass with it (`test_plain_rows_are_written_by_the_row_writer`
# fails until then).
VERIFIED_RELEASES = ("3.3.",)
_PARTS = (
    "fh",
    "row_info",
    "previous_row",
    "table",
    "default_date_format",
    "_check_dimensions",
    "_write_row",
    "_write_single_row",
    "_escape_control_characters",
    "_escape_data",
    "_convert_date_time",
)


def stored_value(value: Decimal | int | None) -> Decimal | int | str:
    """A formula's value as the file stores it: a Decimal exactly as it reads
    (`237140.65`), unless it has more than six places (a ratio to 28 digits),
    then as the nearest float; "" for none (the reader computes it)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -6:
            return Decimal(format(value, "f"))
        return Decimal(repr(float(value)))
    return value


class RowWriter:
    """Writes rows of plain cells into one constant-memory worksheet."""

    def __init__(self, ws: Any, style: Any, slow: Callable[[int, Row], None]) -> None:
        from xlsxwriter.utility import _preserve_whitespace, xl_col_to_name

        self.ws = ws
        self.style = style  # style key -> Format (Book.style)
        self.slow = slow  # writes a row with XlsxWriter's writers
        self.pending: tuple[int, Row] | None = None
        self.preserve = _preserve_whitespace
        self.column = xl_col_to_name
        self.letters: list[str] = []
        # ' s="7"' by style key: taken when a cell of that style is first
        # written, as XlsxWriter takes a format's index, so indices agree.
        self.attrs: dict[str | None, str] = {None: ""}
        self.date_attr: str | None = None
        self.texts: dict[str, str] = {}  # text -> its cell's XML tail
        self.dates: dict[date, str] = {}  # date -> its cell's XML tail
        # amount (a zero with its sign) -> its cell's XML tail
        self.numbers: dict[Decimal | tuple[Decimal, bool], str] = {}

    @classmethod
    def of(
        cls, ws: Any, style: Any, slow: Callable[[int, Row], None]
    ) -> RowWriter | None:
        """A writer for `ws`, or None when XlsxWriter is not writing it in
        constant-memory mode or its version lacks the parts used here."""
        if not getattr(ws, "constant_memory", False):
            return None
        from xlsxwriter import __version__ as release

        if not release.startswith(VERIFIED_RELEASES):
            return None
        if not all(hasattr(ws, part) for part in _PARTS):
            return None
        try:
            from xlsxwriter.utility import (  # noqa: F401
                _preserve_whitespace,
                xl_col_to_name,
            )
        except ImportError:
            return None
        if (
            ws.table
            or ws.col_info
            and any(getattr(i, "column_format", None) for i in ws.col_info.values())
        ):
            return None  # staged cells or column formats: not ours to follow
        return cls(ws, style, slow)

    def _attr(self, style: str | None) -> str:
        found = self.attrs.get(style)
        if found is None:
            found = self.attrs[style] = f' s="{self.style(style)._get_xf_index()}"'
        return found

    def _date_attr(self) -> str:
        """A date without a style takes XlsxWriter's default date format."""
        if self.date_attr is None:
            found = self.ws.default_date_format
            self.date_attr = f' s="{found._get_xf_index()}"' if found else ""
        return self.date_attr

    def _text(self, text: str) -> str | None:
        """What follows `<c r=".."[ s=".."]` for a text cell, as XlsxWriter's
        constant-memory writer makes it; None when XlsxWriter must write it."""
        if len(text) > _LONG_TEXT:
            return None
        if _AS_IS.fullmatch(text):
            return f' t="inlineStr"><is><t>{text}</t></is></c>'
        ws = self.ws
        # What Book.write does first: no control characters XML forbids.
        escaped = ws._escape_control_characters(ILLEGAL_CHARACTERS.sub("", text))
        if escaped.startswith("<r>") and escaped.endswith("</r>"):
            return None  # XlsxWriter writes it as rich text
        space = ' xml:space="preserve"' if self.preserve(escaped) else ""
        return f' t="inlineStr"><is><t{space}>{ws._escape_data(escaped)}</t></is></c>'

    def write(self, r: int, row: Row) -> None:
        """Row `r` (0-based) of planned cells (see `layout.C`); a value None
        is written only with a bold style, as `Book._write_cells` does.

        Like XlsxWriter, a row is held until the next row with a cell
        begins (a format takes its index when its first cell goes out), and
        `close` leaves the last one to XlsxWriter, which writes it when the
        workbook closes."""
        if next(written(row), None) is None:
            return  # no cell: nothing written, nothing let out
        if self.pending is not None:
            self._out(*self.pending)
        self.pending = (r, row)

    def close(self) -> None:
        """The sheet's rows are all given: the last one to XlsxWriter's
        writers."""
        if self.pending is not None:
            self.slow(*self.pending)
            self.pending = None

    def _out(self, r: int, row: Row) -> None:
        if not self._plain(r, row):
            self.slow(r, row)
            self.ws._write_single_row(r + 1)

    def _number(self, value: Decimal) -> str | None:
        """What follows `<c r=".."[ s=".."]` for a Decimal, as XlsxWriter
        writes its float (`.16G`); None when XlsxWriter must write it."""
        x = float(value)
        if not math.isfinite(x):
            return None  # XlsxWriter's error
        tail = f"><v>{x:.16G}</v></c>"
        numbers = self.numbers
        if len(numbers) >= _KEPT_TEXTS:
            numbers.clear()
        # -0 equals 0 but prints its sign: a zero is kept by its sign.
        numbers[value if value else (value, value.is_signed())] = tail
        return tail

    def _formula(self, formula: Formula) -> str | None:
        """What follows `<c r=".."[ s=".."]` for a formula of cell references,
        `SUM(` and arithmetic, as XlsxWriter's `write_formula` stores it (the
        leading `=` dropped, the cached value as `stored_value` gives it);
        None for any other, which XlsxWriter writes."""
        text = formula.text
        if not _PLAIN_FORMULA.fullmatch(text):
            return None
        cached = stored_value(formula.cached)
        kind = type(cached)
        if kind is not Decimal and kind is not int and cached != "":
            return None  # a truth, an error text: XlsxWriter types it
        return f"><f>{text[1:]}</f><v>{cached}</v></c>"

    def _plain(self, r: int, row: Row) -> bool:
        """Write row `r` if its cells are plain; False, with nothing written,
        if not."""
        letters = self.letters
        if len(row) > len(letters):
            letters.extend(self.column(i) for i in range(len(letters), len(row)))
        number = str(r + 1)
        pieces: list[str] = []
        first = last = -1
        texts, attrs, dates, numbers = self.texts, self.attrs, self.dates, self.numbers
        # The cells `written` gives, walked here without its generator: this
        # runs once per cell of every sheet.
        for col, spec in enumerate(row):
            if type(spec) is C:
                value, style = spec
            else:
                value, style = spec, None
            if value is None and not blank_written(style):
                continue
            attr = attrs.get(style)
            if attr is None:
                attr = self._attr(style)
            kind = type(value)
            if kind is str:
                tail = texts.get(value)
                if tail is None:
                    tail = self._text(value)
                    if tail is None:
                        return False
                    if len(texts) >= _KEPT_TEXTS:
                        texts.clear()  # invoice numbers do not repeat
                    texts[value] = tail
            elif kind is Decimal:
                tail = numbers.get(value if value else (value, value.is_signed()))
                if tail is None:
                    tail = self._number(value)
                    if tail is None:
                        return False
            elif kind is int or kind is float:
                if not math.isfinite(value):
                    return False  # XlsxWriter's error
                tail = f"><v>{value:.16G}</v></c>"
            elif kind is date or kind is datetime:
                tail = dates.get(value)
                if tail is None:
                    x = self.ws._convert_date_time(value)
                    tail = dates[value] = f"><v>{x:.16G}</v></c>"
                if style is None:
                    attr = self._date_attr()
            elif value is None:
                tail = "/>"
            elif kind is Formula:
                tail = self._formula(value)
                if tail is None:
                    return False
            else:
                return False
            pieces.append(f'<c r="{letters[col]}{number}"{attr}{tail}')
            if first < 0:
                first = col
            last = col
        ws = self.ws
        ws._check_dimensions(r, first)
        ws._check_dimensions(r, last)
        ws._write_row(r, None, ws.row_info.get(r))
        pieces.append("</row>")
        ws.fh.write("".join(pieces))
        ws.previous_row = r + 1  # nothing left for XlsxWriter to write there
        return True
