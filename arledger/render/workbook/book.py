"""The write-only openpyxl workbook: styles, writing planned sheets, print setup.

On paper: the settings' `paper` (else A4 for a workbook in Chinese, Letter in
English), each sheet fitted to the page width, upright when narrow; columns
sized to what they show and long text wrapped within a capped width on a row
given its height, so that nothing prints under 8 pt (tests/test_print.py
measures it); the header row repeated on every page; page breaks that keep a
table or a chart whole where it fits on a page.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arledger.labels import Words
from arledger.render.workbook.cached import store_cached_values
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
    Formula,
    Grid,
    Plan,
    Row,
    heading_width,
    letter,
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
    NUMBER_PAD,
    amount_format,
    sheet_title,
    wrapped_lines,
)

if TYPE_CHECKING:
    from arledger.reports.workbook import WorkbookData


class Book:
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
                proto = protos.get((col, style))
                if proto is None:
                    proto = protos[(col, style)] = WriteOnlyCell(ws)
                    self._apply(proto, style)
                proto.value = value
                if isinstance(value, str) and value.startswith("="):
                    proto.data_type = "s"
                out.append(proto)
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
            if type(spec) is C and spec.style in TALL and spec.value is not None:
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
            line = CJK_LINE_HEIGHT if HAS_CJK.search(text) else LINE_HEIGHT
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
