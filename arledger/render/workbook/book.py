"""The workbook written with XlsxWriter: styles, writing planned sheets,
print setup.

Rows are written as they are planned (XlsxWriter's `constant_memory` mode), so a
100 000-row list is never held; a formula is written with the value it computes
(`Formula.cached`), so a reader that does not recalculate (a previewer, pandas,
openpyxl with `data_only=True`) sees the totals, and Excel recalculates on load.

On paper: the settings' `paper` (else A4 for a workbook in Chinese, Letter in
English), each sheet fitted to the page width, upright when narrow; columns
sized to what they show and long text wrapped within a capped width on a row
given its height, so that nothing prints under 8 pt (tests/test_print.py
measures it); the header row repeated on every page; page breaks that keep a
table or a chart whole where it fits on a page.
"""

from __future__ import annotations

import io
import math
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arledger.labels import Words
from arledger.render import xlsx
from arledger.render.workbook.cells import RowWriter, stored_value
from arledger.render.workbook.layout import (
    CJK_LINE_HEIGHT,
    FONT,
    HAS_CJK,
    HEADER_FILL,
    HEADING_HEIGHT,
    LINE_HEIGHT,
    TALL,
    TITLE_COLOUR,
    C,
    Chart,
    Formula,
    Grid,
    Plan,
    Row,
    heading_width,
    written,
)
from arledger.render.workbook.paper import (
    DEFAULT_PAPER,
    END_MARGIN,
    PAPERS,
    POINTS_PER_UNIT,
    SIDE_MARGIN,
    orientation,
)
from arledger.render.xlsx import (
    CELL_PADDING,
    ILLEGAL_CHARACTERS,
    NUMBER_PAD,
    amount_format,
    check_rows,
    column_pixels,
    sheet_title,
    wrapped_lines,
)

if TYPE_CHECKING:
    from arledger.reports.workbook import WorkbookData

PIXELS_PER_CM = 96 / 2.54  # a chart's size: the screen's 96 pixels an inch
PIXEL_POINTS = 0.75  # a screen pixel in points (96 an inch)


HEADER_LIMIT = 255  # characters in a page header, its codes included (Excel's)


def page_header(company: str, as_of: str) -> str:
    """The page header: the company on the left, the sheet's name (`&A`) in
    the middle, the as-of date on the right. A company too long for Excel's
    limit is shortened, with an ellipsis, to fit."""

    def header(left: str) -> str:
        def escape(text: str) -> str:  # "&" starts a code in page headers
            return text.replace("&", "&&")

        shown = f"&L{escape(left)}" if left else ""
        return f"{shown}&C&A&R{escape(as_of)}"

    text = header(company)
    keep = len(company)
    while len(text) > HEADER_LIMIT and keep:
        keep -= 1
        text = header(company[:keep].rstrip() + "…")
    return text


class Book:
    """An XlsxWriter workbook in constant-memory mode and its cell formats."""

    def __init__(self, data: WorkbookData, language: str) -> None:
        import xlsxwriter

        self.data = data
        self.words = Words(language)
        self.paper = data.paper or DEFAULT_PAPER[language]
        self.out = io.BytesIO()
        # XlsxWriter asks readers to recalculate on load (fullCalcOnLoad); the
        # values stored with the formulas serve the ones that do not.
        self.wb = xlsxwriter.Workbook(
            self.out,
            {
                "constant_memory": True,
                "default_date_format": "yyyy-mm-dd",
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.taken: set[str] = set()
        self._first: dict[str, Any] = {}  # key: the sheet made before its plan
        self._formats: dict[str, Any] = {}
        self._looks: dict[str, Any] = {}
        self._wrapped: dict[tuple[C, float], float] = {}

    # -- names

    def title(self, key: str, currency: str | None = None) -> str:
        if currency is None and key in self._first:
            return str(self._first[key].name)
        name = self.words(f"sheet.{key}")
        return sheet_title(f"{name} {currency}" if currency else name, self.taken)

    def first(self, key: str) -> None:
        """Make sheet `key` now, before the others, to be written later: the
        Summary links to the other sheets' totals, so it is planned last, but
        it stands first (XlsxWriter orders sheets as they are made)."""
        self._first[key] = self.wb.add_worksheet(self.title(key))

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

    def style(self, key: str) -> Any:
        """The cell format of a style key (`money2_b`: bold total of amounts
        with 2 places)."""
        found = self._formats.get(key)
        if found is None:
            found = self._formats[key] = self.wb.add_format(self._properties(key))
        return found

    @staticmethod
    def _properties(key: str) -> dict[str, Any]:
        bold = key.endswith("_b")
        base = key.removesuffix("_b")
        font = {"font_name": FONT}
        colour = f"#{TITLE_COLOUR}"
        if base == "title":
            return {**font, "bold": True, "font_size": 14, "font_color": colour}
        if base == "subtitle":
            return {**font, "italic": True, "font_color": "#595959"}
        if base == "block":
            return {**font, "bold": True, "font_size": 12, "font_color": colour}
        if base in ("header", "header_r"):
            right = base == "header_r"
            return {
                **font,
                "bold": True,
                "pattern": 1,
                "bg_color": f"#{HEADER_FILL}",
                "bottom": 1,
                "bottom_color": "#808080",
                "align": "right" if right else "left",
                "valign": "bottom",
                "text_wrap": True,
                **({"indent": 1} if right else {}),
            }
        props: dict[str, Any] = {}
        if base == "wrap":
            props.update(text_wrap=True, valign="bottom")
        # Every number keeps a digit's width clear on its right (NUMBER_PAD),
        # so the next column's text never touches it.
        pad = NUMBER_PAD
        if base.startswith("money"):
            props["num_format"] = amount_format(int(base[5:]), red_negative=True)
        elif base in ("int", "days"):
            props["num_format"] = "#,##0" + pad
        elif base == "days1":
            props["num_format"] = "#,##0.0" + pad
        elif base == "ratio":
            props["num_format"] = "0.0%" + pad
        elif base == "date":
            props["num_format"] = "yyyy-mm-dd" + pad
        if bold:
            props.update(font, bold=True, top=1, top_color="#000000")
        return props

    def look(self, properties: dict[str, Any]) -> Any:
        """The format of a conditional format's look (`layout.shading`)."""
        key = repr(sorted(properties.items()))
        found = self._looks.get(key)
        if found is None:
            found = self._looks[key] = self.wb.add_format(properties)
        return found

    # -- writing

    def write(self, plan: Plan) -> None:
        """Write a plan into its sheet (made now, or by `first`)."""
        ws = next(
            (s for s in self._first.values() if s.name == plan.title), None
        ) or self.wb.add_worksheet(plan.title)
        # The orientation, the wrapped rows' heights and the page breaks follow
        # from the planned widths; the file stores each rounded up to a whole
        # pixel (`column_pixels`), at most a seventh of a unit wider.
        widths = list(plan.widths)
        heading = plan.heading
        if heading is None:
            assert isinstance(plan.rows, list), "a streamed plan gives its heading"
            heading = heading_width(plan.rows)
        if heading > sum(widths):
            # A title wider than the table: an empty column prints the rest.
            widths.append(round(heading - sum(widths) + CELL_PADDING, 2))
        for i, width in enumerate(widths):
            ws.set_column_pixels(i, i, column_pixels(width))
        if plan.freeze:
            ws.freeze_panes(plan.freeze)
        self._page_setup(ws, plan, sum(widths))
        heights: list[float] = []
        if isinstance(plan.rows, list):
            heights = [self._height(row, widths) for row in plan.rows]
            breaks = self._page_breaks(plan, heights, sum(widths))
            if breaks:
                ws.set_h_pagebreaks(breaks)
        # Rows of plain cells go straight into the sheet's row data (`cells`),
        # the others through XlsxWriter's writers (`_write_cells`).
        fast = RowWriter.of(
            ws, self.style, lambda r, row: self._write_cells(ws, r, row)
        )
        limit = xlsx.MAX_ROWS
        number = 0
        for number, row in enumerate(plan.rows, 1):
            r = number - 1
            if number > limit:
                check_rows(number, plan.title)
            height = heights[r] if heights else self._height(row, widths)
            if height != LINE_HEIGHT:
                # Wrapped text gets the row's height from us: LibreOffice keeps
                # a row at the default height when opening the file, and would
                # draw the lines over the next row.
                ws.set_row(r, height)
            if fast is not None:
                fast.write(r, row)
            else:
                self._write_cells(ws, r, row)
        if fast is not None:
            fast.close()
        # Print what was written (and the charts, which stand on blank rows).
        ws.print_area(0, 0, max(number, 1) - 1, len(widths) - 1)
        if plan.autofilter:
            ws.autofilter(plan.autofilter)
        for rule in plan.rules:
            ws.conditional_format(
                rule.ref, {**rule.condition, "format": self.look(rule.look)}
            )
        for chart, anchor in plan.charts:
            # No wider than the columns (charts stand at column A): the print
            # area ends there.
            width = min(chart.width, sum(widths) * POINTS_PER_UNIT * 0.95 / 28.35)
            ws.insert_chart(
                anchor,
                self._chart(chart, width),
                {"object_position": 2},  # moves with its cells, keeps its size
            )

    def _write_cells(self, ws: Any, r: int, row: Row) -> None:
        """Row `r`'s planned cells with XlsxWriter's writers, each type to its
        own; a value None is written only with a bold style (a totals row's
        border)."""
        for col, value, style in written(row):
            fmt = None if style is None else self.style(style)
            kind = type(value)
            if kind is str:
                # Text, never a formula (STYLE §6): a name like "=X".
                ws.write_string(r, col, ILLEGAL_CHARACTERS.sub("", value), fmt)
            elif kind is Decimal:
                ws.write_number(r, col, float(value), fmt)  # Excel holds doubles
            elif kind is int or kind is float:
                ws.write_number(r, col, value, fmt)
            elif kind is date:
                ws.write_datetime(r, col, value, fmt)
            elif kind is Formula:
                ws.write_formula(r, col, value.text, fmt, stored_value(value.cached))
            elif value is None:
                ws.write_blank(r, col, None, fmt)
            else:
                self._write_other(ws, r, col, value, fmt)

    @staticmethod
    def _write_other(ws: Any, r: int, col: int, value: Any, fmt: Any) -> None:
        """A value of a rarer type: a truth, a datetime, a str or number
        subclass."""
        if isinstance(value, bool):
            ws.write_boolean(r, col, value, fmt)
        elif isinstance(value, date):
            ws.write_datetime(r, col, value, fmt)
        elif isinstance(value, str):
            ws.write_string(r, col, ILLEGAL_CHARACTERS.sub("", str(value)), fmt)
        elif isinstance(value, (int, float, Decimal)):
            ws.write_number(r, col, float(value), fmt)
        else:
            raise TypeError(f"cannot write a {type(value).__name__} to a cell")

    def _chart(self, plan: Chart, width: float) -> Any:
        """An XlsxWriter column chart of a planned one, `width` cm wide."""
        chart = self.wb.add_chart(
            {"type": "column", **({"subtype": "stacked"} if plan.stacked else {})}
        )
        for series in plan.series:
            options: dict[str, Any] = {
                "values": f"={series.values}",
                "categories": f"={series.categories}",
            }
            if series.name:
                options["name"] = f"={series.name}"
            if series.colour:
                options["fill"] = {"color": f"#{series.colour}"}
                options["border"] = {"color": f"#{series.colour}"}
            if series.points:
                options["points"] = [
                    {"fill": {"color": f"#{c}"}} for c in series.points
                ]
            if plan.stacked:
                options["overlap"] = 100
            if plan.gap is not None:
                options["gap"] = plan.gap
            chart.add_series(options)
        text = {"size": 11}
        chart.set_title({"name": plan.title})
        chart.set_x_axis({"num_font": text})
        chart.set_y_axis({"num_format": "#,##0", "num_font": text})
        chart.set_legend(
            {"position": "bottom", "font": text} if plan.legend else {"none": True}
        )
        chart.set_size(
            {
                "width": round(width * PIXELS_PER_CM),
                "height": round(plan.height * PIXELS_PER_CM),
            }
        )
        return chart

    def _height(self, row: Row, widths: list[float]) -> float:
        """A row's height in points: a line, or as many as its wrapped text
        takes; headings have their font's."""
        height = LINE_HEIGHT
        for col, spec in enumerate(row):
            if type(spec) is C and spec.style in TALL and spec.value is not None:
                if spec.style in HEADING_HEIGHT:
                    return HEADING_HEIGHT[spec.style]
                height = max(height, self._lines(spec, widths[col]))
        return height

    def _page_breaks(self, plan: Plan, heights: list[float], width: float) -> list[int]:
        """Page breaks that keep each of `plan.keep`'s spans on one page where
        it fits on one (else its first rows together), as the sheet will print
        fitted to the page width: each the 0-based row a page starts with."""
        breaks: list[int] = []
        if not plan.keep:
            return breaks
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
                    breaks.append(number - 1)
                    used = repeated
            if used + height > room:  # the printer's own break
                used = repeated
            used += height
        return breaks

    def _lines(self, cell: C, width: float) -> float:
        """The height of a wrapping cell's lines in a column `width` wide."""
        key = (cell, width)
        found = self._wrapped.get(key)
        if found is None:
            text, style = str(cell.value), cell.style
            room = width - CELL_PADDING - (1.0 if style == "header_r" else 0.0)
            lines = wrapped_lines(text, room, bold=style != "wrap")
            line = CJK_LINE_HEIGHT if HAS_CJK.search(text) else LINE_HEIGHT
            # In whole pixels (0.75 pt), as the file stores a height: rounded
            # up, never shorter than the lines.
            pixels = math.ceil(round(line * lines / PIXEL_POINTS, 6))
            found = self._wrapped[key] = pixels * PIXEL_POINTS
        return found

    def _page_setup(self, ws: Any, plan: Plan, width: float) -> None:
        """The paper; portrait when the sheet fits its width, else landscape;
        fitted to the page width; the header row repeated; company and as-of
        in the page header, page numbers in the footer.

        Args:
            width: the printed columns' width, in column units.
        """
        ws.set_paper(PAPERS[self.paper].code)
        if orientation(width, self.paper) == "landscape":
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        ws.set_margins(
            left=SIDE_MARGIN, right=SIDE_MARGIN, top=END_MARGIN, bottom=END_MARGIN
        )
        if plan.print_rows:
            first, last = (int(n) - 1 for n in plan.print_rows.split(":"))
            ws.repeat_rows(first, last)
        words = self.words
        as_of = words("as_of", as_of=self.data.as_of.isoformat())
        header = page_header(self.data.company or "", as_of)
        ws.set_header(header, {"margin": 0.3})
        ws.set_footer(f"&C{words('page')}", {"margin": 0.3})

    def save(self) -> bytes:
        self.wb.close()
        return self.out.getvalue()
