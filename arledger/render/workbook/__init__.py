"""The month-end workbook as xlsx (`arledger export`): the data of
`arledger.reports.workbook.gather` in, bytes out.

Sheets: Summary, Aging, Open items, Overdue, Worklist, Collection, Risk, Forecast,
Trend, Allowance, Movement (in `--language zh`: 汇总, 账龄, 未清明细, 逾期, 催收任务,
回款, 风险, 回款预测, 趋势, 坏账准备, 账龄变动); the last two compare with an earlier
date. Currencies never mix (SPEC §2): the item lists (Open items, Overdue,
Worklist), which may hold 100 000 rows, get one sheet per currency when there
are several; every other sheet holds a block per currency. Amounts are numbers
with the currency's number format, dates are dates, totals are `=SUM(...)`
formulas written with the values they compute, and the workbook asks Excel to
recalculate on load (`fullCalcOnLoad`).

Modules: `layout` plans cells, tables, widths, conditional formats and charts;
`paper` the page sizes; `book` writes planned sheets with XlsxWriter (row by
row, in its constant-memory mode), with styles and print setup, and `cells`
writes their rows of plain cells into XlsxWriter's row data as it would, at a
fraction of its cost; `sheets`, `lists` and `summary` plan each sheet. The
words come from `arledger.labels`. XlsxWriter is imported inside functions
only, so no other command pays for it (STYLE §9).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arledger.labels import LANGUAGES
from arledger.render.workbook.book import Book
from arledger.render.workbook.layout import (
    CONTACT_WIDTH,
    NAME_WIDTH,
    OWNER_WIDTH,
    REASONS_WIDTH,
    Anchors,
)
from arledger.render.workbook.lists import (
    open_items_sheets,
    overdue_sheets,
    worklist_sheet,
)
from arledger.render.workbook.sheets import (
    aging_sheet,
    allowance_sheet,
    collection_sheet,
    forecast_sheet,
    movement_sheet,
    risk_sheet,
    trend_sheet,
)
from arledger.render.workbook.summary import summary_sheet

if TYPE_CHECKING:
    from arledger.reports.workbook import WorkbookData

__all__ = ["CONTACT_WIDTH", "NAME_WIDTH", "OWNER_WIDTH", "REASONS_WIDTH", "build"]


def build(data: WorkbookData, language: str = "en") -> bytes:
    """The workbook as xlsx bytes.

    Args:
        data: the reports (`arledger.reports.workbook.gather`).
        language: "en" or "zh": sheet names, headings and labels.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    book = Book(data, language)
    # The Summary links to the other sheets' totals, so it is planned last;
    # its sheet is made first, to stand first.
    book.first("summary")
    anchors: Anchors = {}
    aging_sheet(book, anchors)
    open_items_sheets(book)
    overdue_sheets(book, anchors)
    worklist_sheet(book)
    collection_sheet(book, anchors)
    risk_sheet(book)
    forecast_sheet(book)
    trend_sheet(book)
    allowance_sheet(book)
    movement_sheet(book)
    summary_sheet(book, anchors)
    return book.save()
