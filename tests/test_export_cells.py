"""The workbook's rows written straight into XlsxWriter's row data
(`arledger.render.workbook.cells`) give the bytes XlsxWriter's own writers give:
over drawn rows of every kind of planned cell, and over the demo workbook."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arledger import api
from arledger.render.workbook import book as book_module
from arledger.render.workbook import build, cells
from arledger.render.workbook.book import Book
from arledger.render.workbook.layout import C, Formula, Plan
from arledger.reports.workbook import gather

from .conftest import DEMO


def parts(content: bytes) -> dict[str, bytes]:
    """Every part of an xlsx, the creation time blanked."""
    with zipfile.ZipFile(BytesIO(content)) as z:
        found = {name: z.read(name) for name in z.namelist()}
    found["docProps/core.xml"] = re.sub(
        rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\1", found["docProps/core.xml"]
    )
    return found


def without_row_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every row through XlsxWriter's writers."""
    monkeypatch.setattr(book_module.RowWriter, "of", classmethod(lambda *a: None))


# Text with what XlsxWriter escapes or treats apart: XML's specials, control
# characters (some removed before writing), its own _xHHHH_ escapes, leading
# and trailing white space, text that reads as rich text, CJK, line breaks.
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " lead",
            "trail ",
            "\u3000wide space",
            "a\nb",
            "a\rb",
            "tab\t",
            "_x0041_",
            "x_x00e9_y",
            "<r>rich</r>",
            "<r>",
            'a & b < c > d "e"',
            "\x00\x07\x0b\x1f",
            "\ufffe\uffff",
            "上海华东",
            "=SUM(A1)",
        ]
    ),
)
numbers = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, max_value=10**12,
                min_value=-(10**12)),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
)  # fmt: skip
# Formulas the row writer writes itself (cell references, SUM, arithmetic)
# and some it leaves to XlsxWriter, which rewrites or types them.
formulas = st.sampled_from(
    ["=SUM(A1:A2)", "=A1/B1", "=$C$5/H$9", "=B5+B6-B7-B8-B9", "=0", "=SUM(C5:H5)*2",
     "=XLOOKUP(A1,B1:B2,C1:C2)", "=SUM('Aging'!A1:A2)", "=SINGLE(A1)", "={=SUM(A1)}",
     "=IF(A1>0,1,0)", '="a"&"<b>"']
)  # fmt: skip
values = st.one_of(
    texts,
    numbers,
    st.dates(),
    st.datetimes(min_value=datetime(1900, 3, 1)),
    st.none(),
    st.booleans(),
    st.builds(Formula, formulas, st.one_of(numbers, st.none(), st.booleans())),
)
styles = st.sampled_from(
    [None, "money2", "money0_b", "int", "days1", "ratio", "date", "date_b",
     "text_b", "wrap", "header", "header_r", "title", "subtitle", "block"]
)  # fmt: skip
cell = st.one_of(values, st.builds(C, values, styles))
rows = st.lists(st.lists(cell, max_size=6), max_size=8)


def sheet(planned: list[list[Any]], streamed: bool) -> bytes:
    data = SimpleNamespace(
        paper=None, as_of=date(2026, 10, 31), company="ACME & Co", filters=()
    )
    book = Book(data, "en")  # type: ignore[arg-type]
    book.write(
        Plan(
            "Sheet",
            iter(planned) if streamed else planned,
            [12.0] * 6,
            heading=0.0,
        )
    )
    # A second sheet after it: the first one's last row is written on closing.
    book.write(Plan("Other", [[C("after", "header")], [Decimal("1.5")]], [9.0]))
    return book.save()


@settings(max_examples=150, deadline=None)
@given(planned=rows, streamed=st.booleans())
def test_rows_give_the_bytes_xlsxwriter_gives(planned, streamed):
    fast = parts(sheet(planned, streamed))
    with pytest.MonkeyPatch.context() as monkeypatch:
        without_row_writer(monkeypatch)
        slow = parts(sheet(planned, streamed))
    assert fast == slow


@pytest.mark.parametrize(
    "options",
    [
        {"language": "en"},
        {"language": "zh", "compare_to": date(2026, 9, 30)},
        {"language": "en", "customers": ["ACME"]},
    ],
)
def test_demo_workbook_is_the_same(options, monkeypatch):
    customers = options.pop("customers", None)
    ledger = api.load(DEMO)
    view = api.view(ledger, as_of=date(2026, 10, 31), customers=customers)
    data = gather(view, options.get("compare_to"), settlement=api.settlement(view))
    fast = parts(build(data, options["language"]))
    without_row_writer(monkeypatch)
    assert parts(build(data, options["language"])) == fast


def test_a_sheet_not_in_constant_memory_gets_no_row_writer():
    import xlsxwriter

    workbook = xlsxwriter.Workbook(BytesIO())
    ws = workbook.add_worksheet()
    assert cells.RowWriter.of(ws, None, lambda r, row: None) is None
    workbook.close()


def test_a_release_not_verified_gets_no_row_writer(monkeypatch):
    """An XlsxWriter release the byte tests have not passed with writes every
    row by its own writers, whatever attributes it has."""
    import xlsxwriter

    monkeypatch.setattr(xlsxwriter, "__version__", "9.0.0")
    workbook = xlsxwriter.Workbook(BytesIO(), {"constant_memory": True})
    ws = workbook.add_worksheet()
    assert cells.RowWriter.of(ws, None, lambda r, row: None) is None
    workbook.close()


def test_plain_rows_are_written_by_the_row_writer(monkeypatch):
    """With the XlsxWriter installed, every row but a sheet's last goes
    through `RowWriter` (a version lacking its parts would quietly lose it)."""
    written: list[int] = []
    plain = cells.RowWriter._plain

    def spy(self, r, row):
        done = plain(self, r, row)
        if done:
            written.append(r)
        return done

    monkeypatch.setattr(cells.RowWriter, "_plain", spy)
    planned = [[C("Title", "title")], [], ["a", Decimal("1.50"), date(2026, 1, 2)]]
    sheet([*planned, ["last", 2]], streamed=True)
    assert written == [0, 2, 0]  # and the first row of `sheet`'s second sheet


def test_zeros_keep_their_sign():
    """-0 equals 0 (and has its hash) but XlsxWriter prints its minus: the
    row writer's kept amounts tell them apart, in either order."""
    zeros = [Decimal("0"), Decimal("-0"), Decimal("0.00"), Decimal("-0.00")]
    planned = [zeros, list(reversed(zeros)), [C(z, "money2") for z in zeros], []]
    fast = parts(sheet(planned, streamed=True))
    with pytest.MonkeyPatch.context() as monkeypatch:
        without_row_writer(monkeypatch)
        assert parts(sheet(planned, streamed=True)) == fast
    assert b"<v>-0</v>" in fast["xl/worksheets/sheet1.xml"]
