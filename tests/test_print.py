"""The workbook on paper: `arledger export` as it prints.

The first tests read the page setup openpyxl wrote (paper, orientation, header
rows, print area, widths, wrapping). The rest print the demo workbook, in
English and in Chinese, with LibreOffice (`soffice --headless --convert-to
pdf`) and measure every word with `pdftotext -bbox` (poppler-utils): no word
under 8 pt, the paper of the settings, the header row on every page of a sheet
that spans pages, no number run into the next column's text, every customer
name whole.

Printing needs LibreOffice, pdftotext and Carlito, the metric twin of Calibri
(the workbook's font): without it LibreOffice lays the workbook out in a wider
font than Excel does, and the measure means nothing. Where one is missing the
print tests skip, saying which; under CI=true, where `.ci/run` installs them,
they fail instead.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from arledger.cli import app
from arledger.render.xlsx import text_width, wrapped_lines, wrapped_width

from .conftest import DEMO

AS_OF = "2026-10-31"
LETTER = (612, 792)  # points, portrait
A4 = (595, 842)
SPANNING = {  # sheets the demo prints on two pages or more, and a header label
    "en": {"Trend": "Month", "Forecast": "Period"},
    "zh": {"趋势": "月份", "回款预测": "期间"},
}
TABLES = {  # sheets whose header row repeats, and its first label
    "en": {"Aging": "Customer", "Overdue": "Customer", "Risk": "Customer",
           "Open items USD": "Customer", "Forecast": "Period", "Trend": "Month",
           "Allowance": "Customer", "Movement": "Customer", "Worklist": "Owner"},
    "zh": {"账龄": "客户", "逾期": "客户", "风险": "客户", "未清明细 USD": "客户",
           "回款预测": "期间", "趋势": "月份", "坏账准备": "客户", "账龄变动": "客户",
           "催收任务": "负责人"},
}  # fmt: skip
NUMBER = re.compile(r"^-?[\d,]*\d(\.\d+)?%?$")  # as a cell shows one
# A number with text glued to its end: "3,713.65Li", "3★", "0.00B".
GLUED = re.compile(r"^-?[\d,]*\d(\.\d+)?%?[A-Za-z★\u2e80-\u9fff]")
MARGIN = 0.6 * 72  # top and bottom: the page header and footer stand in it


def export(path: Path, ledger: Path | str = DEMO, *args: str) -> Path:
    result = CliRunner().invoke(
        app, ["export", str(path), "--ledger", str(ledger), "--as-of", AS_OF, *args]
    )
    assert result.exit_code == 0, result.output
    return path


def load_workbook(path: Path):
    from openpyxl import load_workbook as load

    return load(path)


# Dunning levels that are tasks, the level from days alone: the demo's
# workbook then has a worklist to print (the demo itself has letters only).
TASK_LEVELS = """dunning:
  escalation: days
  levels:
    - {name: reminder, days: -3}
    - {name: first, days: 1}
    - {name: call, days: 15, action: call}
    - {name: visit, days: 30, action: visit}
    - {name: legal, days: 60, action: legal}
"""


def task_demo(directory: Path, language: str = "en") -> Path:
    """A copy of the demo ledger whose settings say `language: LANGUAGE` and
    whose dunning levels past `first` are tasks (a call, a visit, a legal
    step), so that its workbook's worklist sheet has rows."""
    shutil.copytree(DEMO, directory)  # the demo is a link: copy what it points at
    settings = directory / "arledger.yaml"
    text = settings.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^language: en$", f"language: {language}", text)
    text = re.sub(r"dunning:\n  levels:\n(    - .*\n)+", TASK_LEVELS, text)
    settings.write_text(text, encoding="utf-8")
    assert f"language: {language}" in text and "action: call" in text
    return directory


def chinese_demo(directory: Path) -> Path:
    """A copy of the demo ledger whose settings say `language: zh`, with the
    task levels of `task_demo`."""
    return task_demo(directory, "zh")


@pytest.fixture(scope="module")
def books(tmp_path_factory):
    """The demo workbook in English and in Chinese (openpyxl, as written)."""
    work = tmp_path_factory.mktemp("books")
    return {
        "en": load_workbook(export(work / "en.xlsx", task_demo(work / "en"))),
        "zh": load_workbook(export(work / "zh.xlsx", chinese_demo(work / "zh"))),
    }


# ---------------------------------------------------------------- page setup


def test_paper_follows_the_language_unless_the_settings_say(
    books, ledger_dir, tmp_path
):
    assert {ws.page_setup.paperSize for ws in books["en"].worksheets} == {1}  # Letter
    assert {ws.page_setup.paperSize for ws in books["zh"].worksheets} == {9}  # A4
    # A workbook asked for in Chinese is an A4 one too.
    book = load_workbook(export(tmp_path / "zh.xlsx", DEMO, "--language", "zh"))
    assert book["汇总"].page_setup.paperSize == 9
    for paper, code in (("A4", 9), ("Letter", 1), ("Legal", 5), ("A3", 8)):
        path = ledger_dir(
            settings=f"language: en\npaper: {paper}\n",
            invoices="- {id: I1, customer: C1, date: 2026-09-01, amount: 100}\n",
            customers="- {id: C1, name: One}\n",
        )
        book = load_workbook(export(tmp_path / f"{paper}.xlsx", path))
        assert {ws.page_setup.paperSize for ws in book.worksheets} == {code}, paper


def test_an_unknown_paper_is_refused(ledger_dir, tmp_path):
    path = ledger_dir(settings="paper: B5\n", customers="- {id: C1, name: One}\n")
    result = CliRunner().invoke(
        app, ["export", str(tmp_path / "x.xlsx"), "--ledger", str(path)]
    )
    assert result.exit_code == 2
    assert "arledger.yaml:1:" in result.stderr and "paper" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.xlsx").exists()


def test_every_sheet_fits_the_page_width_landscape_when_wide(books):
    for book in books.values():
        for ws in book.worksheets:
            setup = ws.page_setup
            # A fitToWidth the file leaves out is 1, its default (ECMA-376).
            assert (setup.fitToWidth or 1) == 1 and setup.fitToHeight == 0, ws.title
            assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
            # A width may stand for several columns side by side (min to max).
            spans = [
                (d.width, d.max - d.min + 1)
                for d in ws.column_dimensions.values()
                if d.width
            ]
            width = sum(w * n for w, n in spans)
            # The file stores widths in whole pixels (7 a unit), each rounded
            # up from the width the sheet was laid out with.
            planned = width - sum(n for _, n in spans) / 7
            # Upright when it prints at 90 % or more of its size across the
            # paper (a column unit is about 5.5 pt), else turned.
            paper = 554 if book is books["en"] else 537
            if setup.orientation == "portrait":
                assert planned * 5.5 * 0.9 <= paper, (ws.title, width)
            else:
                assert width * 5.5 * 0.9 > paper, (ws.title, width)
    assert books["en"]["Summary"].page_setup.orientation == "portrait"
    for title in ("Aging", "Overdue", "Risk", "Collection"):
        assert books["en"][title].page_setup.orientation == "landscape"


def test_header_rows_repeat_and_the_print_area_is_the_data(books):
    for language, sheets in TABLES.items():
        book = books[language]
        for title, label in sheets.items():
            ws = book[title]
            row = int(ws.print_title_rows.split(":")[0].strip("$"))
            assert ws.cell(row, 1).value == label, title
        for ws in book.worksheets:
            area = ws.print_area
            assert area, ws.title
            last_row = int(re.search(r"\$(\d+)$", area)[1])
            assert last_row >= ws.max_row - 1, ws.title  # blank rows under a chart


def test_charts_stand_under_their_tables(books):
    from openpyxl.utils import column_index_from_string

    ws = books["en"]["Aging"]
    totals = [r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Total"]
    anchors = sorted(c.anchor._from.row + 1 for c in ws._charts)
    assert len(anchors) == len(totals) == 2
    for total, anchor in zip(totals, anchors, strict=True):
        assert ws._charts[0].anchor._from.col == 0  # column A: never beside the table
        assert anchor > total
    # No wider than the printed columns: each ends (its anchor's `to`, 0-based)
    # within the print area's last column.
    last = re.search(r"\$([A-Z]+)\$\d+$", ws.print_area)[1]
    for chart in ws._charts:
        assert chart.anchor.to.col < column_index_from_string(last)


def test_long_text_wraps_in_a_capped_column_on_a_taller_row(books):
    from arledger.render.workbook import CONTACT_WIDTH, NAME_WIDTH

    ws = books["en"]["Overdue"]
    header = [c.value for c in ws[5]]
    contact = header.index("Contact") + 1
    name = header.index("Name") + 1
    letter = ws.cell(5, contact).column_letter
    assert ws.column_dimensions[letter].width <= CONTACT_WIDTH + 1
    assert ws.column_dimensions[ws.cell(5, name).column_letter].width <= NAME_WIDTH + 1
    long = next(r for r in range(6, ws.max_row) if len(ws.cell(r, contact).value) > 40)
    assert ws.cell(long, contact).alignment.wrap_text
    assert ws.row_dimensions[long].height >= 30  # two lines and more
    # A short name is left as it is, on a one-line row.
    risk = books["en"]["Risk"]
    short = next(r for r in range(1, risk.max_row) if risk.cell(r, 1).value == "ACME")
    assert not risk.cell(short, 1).alignment.wrap_text


def test_numbers_keep_clear_of_the_next_column(books):
    """Every number format keeps a digit's width on the right (`_0`), so that
    `3` and `★` or `0.00` and `B` never touch."""
    ws = books["en"]["Risk"]
    seen = 0
    for row in ws.iter_rows(min_row=6):
        for cell in row:
            if isinstance(cell.value, (int, float)) and not isinstance(
                cell.value, bool
            ):
                assert cell.number_format.endswith("_0"), cell.coordinate
                seen += 1
    assert seen > 50


def test_widths_count_chinese_characters_twice(ledger_dir, tmp_path):
    name = "深圳前海贸易公司"  # 8 characters, 16 cells
    path = ledger_dir(
        customers=f"- {{id: SZ, name: {name}}}\n",
        invoices="- {id: I1, customer: SZ, date: 2026-09-01, amount: 100}\n",
    )
    book = load_workbook(export(tmp_path / "sz.xlsx", path))
    assert book["Aging"].column_dimensions["B"].width >= 16
    # And in the reports' own xlsx (`-o x.xlsx`).
    target = tmp_path / "aging.xlsx"
    result = CliRunner().invoke(
        app, ["aging", "-l", str(path), "--as-of", AS_OF, "-o", str(target)]
    )
    assert result.exit_code == 0, result.output
    ws = load_workbook(target).worksheets[0]
    column = [c.value for c in ws[1]].index("Name") + 1
    assert ws.column_dimensions[ws.cell(1, column).column_letter].width >= 16


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=16),
        st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: f"{d:,}"),
        st.from_regex(r"-?[0-9,]{0,9}\.[0-9]{2}", fullmatch=True),
    ),
    bold=st.booleans(),
)
def test_a_measure_kept_by_its_shape_is_the_measure(text, bold):
    """`text_width` keeps an ASCII text's width under its digits written as
    zeros: asked again, or for a text of the same shape, it gives what
    measuring it gives, to the last bit."""
    from arledger.render.xlsx import _measure

    zeros = text.translate(str.maketrans("123456789", "000000000"))
    for asked in (text, text, zeros):
        assert text_width(asked, bold=bold) == _measure(asked, bold)
    assert text_width(text, bold=bold) == text_width(zeros, bold=bold)


def test_text_measures():
    assert text_width("上海华东") == 8  # CJK: two cells a character
    assert text_width("0000") == 4  # the unit is the width of "0"
    assert text_width("iiii") < text_width("MMMM")
    assert text_width("Total", bold=True) > text_width("Total")
    # Two lines, broken at a space; Chinese anywhere between characters.
    assert wrapped_width("Days past due", 2) < text_width("Days past due")
    assert wrapped_lines("Days past due", wrapped_width("Days past due", 2)) == 2
    assert wrapped_width("最长逾期天数", 2) == pytest.approx(6, abs=0.02)
    assert wrapped_lines("Pinnacle Building Products Corp.", 20) == 2
    assert wrapped_lines("one\ntwo", 40) == 2  # line breaks kept
    assert wrapped_lines("accounts@redwoodinteriors.example", 10) == 4  # no space


# ---------------------------------------------------------------- on paper


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True)
class Page:
    number: int
    width: float
    height: float
    sheet: str  # from the page header: company, sheet name, as-of
    words: tuple[Word, ...]

    @property
    def texts(self) -> set[str]:
        return {w.text for w in self.words}

    @property
    def body(self) -> list[Word]:
        """The words of the sheet, without the page header and footer."""
        return [w for w in self.words if MARGIN < w.y0 and w.y1 < self.height - MARGIN]


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _calibri_metrics() -> bool:
    """Whether LibreOffice draws Calibri in Calibri's widths (Calibri or Carlito)."""
    found = shutil.which("fc-match")
    if found is None:
        return False
    family = subprocess.run(
        [found, "-f", "%{family}", "Calibri"], capture_output=True, text=True
    ).stdout
    return "Carlito" in family or "Calibri" in family


@pytest.fixture(scope="module")
def tools():
    missing = []
    if _soffice() is None:
        missing.append("LibreOffice (soffice)")
    if shutil.which("pdftotext") is None:
        missing.append("pdftotext (poppler-utils)")
    if not _calibri_metrics():
        missing.append("Carlito, Calibri's metric twin (fonts-crosextra-carlito)")
    if missing:
        reason = "printing the workbook needs " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; .ci/run installs them")
        pytest.skip(reason)


def _calibration(path: Path) -> Path:
    """A sheet of 8 pt text, printed at 100 %: how tall 8 pt words measure."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    ws = book.active
    for row, text in enumerate(("Calibration 8 pt 1,234.50", "上海华东贸易 8 pt"), 1):
        ws.cell(row, 1, text).font = Font("Calibri", size=8)
    book.save(path)
    return path


def _pdf(files: list[Path], work: Path) -> list[Path]:
    """The files printed to PDF by LibreOffice, with a profile of its own."""
    profile = work / "profile"
    out = work / "pdf"
    subprocess.run(
        [_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(out), *map(str, files)],
        check=True, capture_output=True, timeout=300,
        env={**os.environ, "HOME": str(work)},
    )  # fmt: skip
    return [out / f"{f.stem}.pdf" for f in files]


def _pages(pdf: Path) -> list[Page]:
    """Every word of a PDF with its box (`pdftotext -bbox`)."""
    html = pdf.with_suffix(".html")
    subprocess.run(["pdftotext", "-bbox", str(pdf), str(html)], check=True, timeout=60)
    ns = "{http://www.w3.org/1999/xhtml}"
    pages = []
    root = ElementTree.parse(html).getroot()
    for number, page in enumerate(root.iter(f"{ns}page"), 1):
        words = tuple(
            Word(
                w.text or "",
                *(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")),
            )
            for w in page.iter(f"{ns}word")
        )
        width, height = float(page.get("width")), float(page.get("height"))
        # The page header sits in the top margin (0.6 in); its middle is the sheet.
        top = [w for w in words if w.y1 < 0.6 * 72 and width / 3 < w.x0 < width * 2 / 3]
        sheet = " ".join(w.text for w in sorted(top, key=lambda w: w.x0))
        pages.append(Page(number, width, height, sheet, words))
    return pages


@pytest.fixture(scope="module")
def printed(tools, tmp_path_factory) -> dict[str, list[Page]]:
    """The demo workbook in English and Chinese, and the 8 pt calibration, printed
    (and, as "en.xlsx" and "zh.xlsx", the workbooks' texts)."""
    work = tmp_path_factory.mktemp("print")
    files = [
        export(work / "en.xlsx", task_demo(work / "en")),
        export(work / "zh.xlsx", chinese_demo(work / "zh")),
        _calibration(work / "calibration.xlsx"),
    ]
    en, zh, calibration = (_pages(pdf) for pdf in _pdf(files, work))
    texts = {
        f"{f.stem}.xlsx": [
            c.value
            for ws in load_workbook(f).worksheets
            for row in ws.iter_rows()
            for c in row
            if isinstance(c.value, str)
        ]
        for f in files[:2]
    }
    return {"en": en, "zh": zh, "calibration": calibration, **texts}


@pytest.fixture(scope="module")
def eight_points(printed) -> float:
    """The height pdftotext gives a word of 8 pt text, Latin or Chinese."""
    words = [w for page in printed["calibration"] for w in page.words]
    assert len(words) >= 6
    return min(w.height for w in words)


LANGUAGES = pytest.mark.parametrize("language", ["en", "zh"])


@LANGUAGES
def test_nothing_prints_under_8_points(printed, eight_points, language):
    pages = printed[language]
    assert len(pages) >= 9  # a page or more per sheet
    for page in pages:
        heights = [w.height for w in page.words]
        sizes = (8 * statistics.median(heights) / eight_points,
                 8 * min(heights) / eight_points)  # fmt: skip
        assert statistics.median(heights) >= eight_points - 0.05, (page.sheet, sizes)
        small = [w.text for w in page.words if w.height < eight_points - 0.05]
        assert not small, (page.number, page.sheet, sizes, small[:10])


@LANGUAGES
def test_pages_are_the_settings_paper(printed, language):
    paper = LETTER if language == "en" else A4
    for page in printed[language]:
        assert sorted((round(page.width), round(page.height))) == list(paper), (
            page.number, page.sheet)  # fmt: skip


@LANGUAGES
def test_the_header_row_prints_on_every_page(printed, language):
    pages = printed[language]
    sheets = {p.sheet for p in pages}
    for title, label in TABLES[language].items():
        found = [p for p in pages if p.sheet == title]
        assert found, (title, sheets)
        for page in found:
            assert label in page.texts, (title, page.number)
    for title in SPANNING[language]:
        assert len([p for p in pages if p.sheet == title]) >= 2, title


@LANGUAGES
def test_no_number_runs_into_the_next_column(printed, language):
    """A number and the text after it on a line stand apart by more than a
    space (it measured 0.14 of the line's height before the numbers kept a
    digit's room: `2 Li Wei`, `3 ★`), unless one cell holds both ("next 13
    weeks")."""
    texts = printed[f"{language}.xlsx"]
    close = []
    for page in printed[language]:
        words = page.body
        assert not [w.text for w in words if GLUED.match(w.text)], page.sheet
        for word in (w for w in words if NUMBER.match(w.text)):
            after = [w for w in words if abs(w.y0 - word.y0) < 1 and w.x0 > word.x1 - 1]
            if not after:
                continue
            nearest = min(after, key=lambda w: w.x0)
            if NUMBER.match(nearest.text) or nearest.text.startswith(("-", "(")):
                continue  # numbers align right, with their own room
            if any(f"{word.text} {nearest.text}" in text for text in texts):
                continue
            gap = (nearest.x0 - word.x1) / word.height
            if gap < 0.3:
                close.append((page.sheet, word.text, nearest.text, round(gap, 2)))
    assert not close


def test_customer_names_print_whole(printed):
    """Every word of every name prints as it is: nothing cut at a column edge."""
    from arledger.loader import load

    ledger, _ = load(DEMO)
    words = {
        w.text for p in printed["en"] if p.sheet in ("Aging", "Risk") for w in p.words
    }
    joined = "".join(words)
    for customer in ledger.customers.values():
        for part in customer.name.split():
            if re.search(r"[\u2e80-\u9fff]", part):
                assert part in joined, customer.name  # may break between characters
            else:
                assert part in words, (customer.name, part)


def test_the_worklist_sheet_is_the_worklist_report(books, tmp_path):
    """The Worklist sheet shows `dunning --worklist`'s rows: one report, two
    renderings; in Chinese its words are Chinese."""
    import json

    ledger = task_demo(tmp_path / "demo")
    result = CliRunner().invoke(
        app,
        ["dunning", "--worklist", "--ledger", str(ledger), "--as-of", AS_OF,
         "-f", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (section,) = json.loads(result.stdout)["sections"]
    expected = [(r["customer"], r["task"], float(r["amount"])) for r in section["rows"]]
    assert len(expected) >= 3
    ws = books["en"]["Worklist"]
    assert [c.value for c in ws[5]][:6] == [
        "Owner", "Task", "Customer", "Name", "Contact", "Owed"]  # fmt: skip
    shown = [(r[2], r[1], r[5]) for r in ws.iter_rows(min_row=6, values_only=True)]
    assert shown[:-1] == expected
    assert shown[-1][0] is None and str(shown[-1][2]).startswith("=SUM(")
    zh = books["zh"]["催收任务"]
    tasks = {r[1] for r in zh.iter_rows(min_row=6, values_only=True)} - {None}
    assert tasks <= {"电话催收", "上门拜访", "委托催收", "法律途径"} and tasks


def test_a_ledger_without_task_levels_has_an_empty_worklist_sheet(tmp_path):
    book = load_workbook(export(tmp_path / "demo.xlsx"))
    ws = book["Worklist"]
    assert ws["A4"].value.startswith("No tasks")
