"""`arledger export`: the month-end workbook, read back the way a reader sees it.

The workbook is loaded with openpyxl twice: as written (formulas) and with
`data_only=True` (the cached values a previewer or script sees). A LibreOffice
test recalculates every formula and compares.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arledger.cli import app

from .conftest import DEMO, LEDGERS

SMALL = str(LEDGERS / "small")
AS_OF = "2026-10-31"
CENT = Decimal("0.01")
MONEY = "#,##0.00_0;[Red]-#,##0.00_0"
SHEETS_EN = ["Summary", "Aging", "Open items EUR", "Open items USD", "Overdue",
             "Worklist", "Collection", "Risk", "Forecast", "Trend", "Allowance",
             "Movement"]  # fmt: skip
SHEETS_ZH = ["汇总", "账龄", "未清明细 EUR", "未清明细 USD", "逾期", "催收任务", "回款",
             "风险", "回款预测", "趋势", "坏账准备", "账龄变动"]  # fmt: skip


def load_workbook(path: Path, **options):
    from openpyxl import load_workbook as load

    return load(path, **options)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def report_json(*args: str) -> dict:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def export(path: Path, *args: str, ledger: str = str(DEMO)) -> Path:
    result = run("export", str(path), "--ledger", ledger, "--as-of", AS_OF, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the workbook is the output; nothing on stdout
    return path


def cents(value: object) -> Decimal:
    assert isinstance(value, (int, float)) and not isinstance(value, bool), value
    return Decimal(repr(value)).quantize(CENT)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return export(tmp_path_factory.mktemp("export") / "report.xlsx")


@pytest.fixture(scope="module")
def books(demo):
    """(formulas, cached values) of the demo workbook."""
    return load_workbook(demo), load_workbook(demo, data_only=True)


def blocks(ws, title: str = "Currency: ") -> dict[str, dict]:
    """The tables of a sheet by currency: header row, data rows, totals row."""
    found = {}
    row = 1
    while row <= ws.max_row:
        value = ws.cell(row, 1).value
        if isinstance(value, str) and value.startswith(title):
            currency = value.removeprefix(title)
            header = row + 1
            labels = [c.value for c in ws[header]]
            last = header
            while ws.cell(last + 1, 1).value not in ("Total", "合计", None):
                last += 1
            total = (
                last + 1 if ws.cell(last + 1, 1).value in ("Total", "合计") else None
            )
            found[currency] = {"header": header, "labels": labels,
                               "rows": range(header + 1, last + 1), "total": total}  # fmt: skip
            row = last + 1
        row += 1
    return found


def column(block: dict, label: str) -> int:
    return block["labels"].index(label) + 1


# ---------------------------------------------------------------- sheets


def test_sheet_names_in_english(books):
    formulas, _ = books
    assert formulas.sheetnames == SHEETS_EN
    assert formulas.active.title == "Summary"


def test_sheet_names_and_headings_in_chinese(tmp_path):
    book = load_workbook(export(tmp_path / "zh.xlsx", "--language", "zh"))
    assert book.sheetnames == SHEETS_ZH
    aging = book["账龄"]
    usd = blocks(aging, "币种：")["USD"]
    assert usd["labels"][:3] == ["客户", "客户名称", "未到期"]
    assert "应收净额" in usd["labels"] and "未核销款" in usd["labels"]
    assert aging.cell(usd["total"], 1).value == "合计"
    items = [c.value for c in book["未清明细 USD"][5]]
    assert items[:7] == [
        "客户",
        "客户名称",
        "发票",
        "分期",
        "开票日期",
        "到期日",
        "逾期天数",
    ]
    assert "未清金额" in items and "负责人" in items


def test_language_defaults_to_the_settings(tmp_path):
    ledger = tmp_path / "ledger"
    shutil.copytree(LEDGERS / "small", ledger)
    settings = ledger / "arledger.yaml"
    settings.write_text(settings.read_text() + "language: zh\n", encoding="utf-8")
    book = load_workbook(export(tmp_path / "x.xlsx", ledger=str(ledger)))
    assert book.sheetnames[0] == "汇总"
    book = load_workbook(
        export(tmp_path / "y.xlsx", "--language", "en", ledger=str(ledger))
    )
    assert book.sheetnames[0] == "Summary"


def test_one_currency_gets_plain_sheet_names(tmp_path):
    book = load_workbook(export(tmp_path / "usd.xlsx", "--currency", "usd"))
    assert book.sheetnames == ["Summary", "Aging", "Open items", "Overdue",
                               "Worklist", "Collection", "Risk", "Forecast",
                               "Trend", "Allowance", "Movement"]  # fmt: skip
    assert list(blocks(book["Aging"])) == ["USD"]
    # One block: header frozen (with the customer columns) and filtered.
    aging = book["Aging"]
    header = blocks(aging)["USD"]["header"]
    assert aging.freeze_panes == f"C{header + 1}"
    assert aging.auto_filter.ref.startswith(f"A{header}:")


# ---------------------------------------------------------------- cells


def test_amounts_are_numbers_with_a_currency_format(books):
    formulas, values = books
    money_labels = {"Current", "1-30", "31-60", "61-90", "91-120", "120+", "Unapplied",
                    "Net AR", "Open", "Overdue", "Credit limit",
                    "Written off", "Expected"}  # fmt: skip
    checked = 0
    for name in ("Aging", "Open items USD", "Open items EUR", "Overdue", "Risk"):
        for block in blocks(formulas[name]).values():
            for label in money_labels & set(block["labels"]):
                col = column(block, label)
                rows = [*block["rows"], *([block["total"]] if block["total"] else [])]
                for row in rows:
                    cell = formulas[name].cell(row, col)
                    if cell.value is None:
                        continue
                    checked += 1
                    assert cell.number_format == MONEY, (name, cell.coordinate)
                    assert isinstance(values[name].cell(row, col).value, (int, float)), (
                        name, cell.coordinate)  # fmt: skip
    assert checked > 150
    # Never an amount written as text, anywhere.
    amount_text = re.compile(r"-?[\d,]+\.\d\d")
    for ws in values.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert not amount_text.fullmatch(cell.value), (
                        ws.title,
                        cell.coordinate,
                    )


def test_jpy_has_no_decimals(tmp_path, ledger_dir):
    path = ledger_dir(
        customers="- {id: TOKYO, name: Tokyo KK, currency: JPY}\n",
        invoices="- {id: J1, customer: TOKYO, date: 2026-09-01, amount: 150000}\n",
    )
    book = load_workbook(export(tmp_path / "jpy.xlsx", ledger=str(path)))
    block = blocks(book["Aging"])["JPY"]
    cell = book["Aging"].cell(block["total"], column(block, "Net AR"))
    assert cell.number_format == "#,##0_0;[Red]-#,##0_0"


def test_dates_are_dates(books):
    formulas, _ = books
    ws = formulas["Open items USD"]
    block = blocks(ws)["USD"]
    for label in ("Date", "Due"):
        cell = ws.cell(block["rows"][0], column(block, label))
        assert isinstance(cell.value, (date, datetime))
        assert cell.number_format == "yyyy-mm-dd_0"  # a digit's room on the right


def test_totals_rows_are_sum_formulas_in_bold(books):
    formulas, _ = books
    ws = formulas["Aging"]
    usd = blocks(ws)["USD"]
    first, last = usd["rows"][0], usd["rows"][-1]
    for label in ("Current", "120+", "Unapplied", "Net AR"):
        col = column(usd, label)
        cell = ws.cell(usd["total"], col)
        letter = cell.column_letter
        assert cell.value == f"=SUM({letter}{first}:{letter}{last})"
        assert cell.font.b
    ws = formulas["Open items USD"]
    block = blocks(ws)["USD"]
    cell = ws.cell(block["total"], column(block, "Open"))
    assert cell.value.startswith("=SUM(I") and cell.font.b


def test_totals_equal_the_json_reports_to_the_cent(books):
    _, values = books
    aging = report_json("aging", "--ledger", str(DEMO), "--as-of", AS_OF)
    sheet = values["Aging"]
    found = blocks(sheet)
    assert sorted(found) == [s["currency"] for s in aging["sections"]]
    for section in aging["sections"]:
        block = found[section["currency"]]
        labels = {**{b: b for b in aging["buckets"]}, "unapplied": "Unapplied",
                  "total": "Net AR"}  # fmt: skip
        for key, label in labels.items():
            cached = sheet.cell(block["total"], column(block, label)).value
            assert cents(cached) == Decimal(section["totals"][key]), (
                section["currency"],
                key,
            )
    detail = report_json("aging", "--detail", "--ledger", str(DEMO), "--as-of", AS_OF)
    for section in detail["sections"]:
        ws = values[f"Open items {section['currency']}"]
        block = blocks(ws)[section["currency"]]
        assert len(block["rows"]) == len(section["rows"])
        cached = ws.cell(block["total"], column(block, "Open")).value
        assert cents(cached) == Decimal(section["totals"]["open"])
    overdue = report_json("overdue", "--ledger", str(DEMO), "--as-of", AS_OF)
    # EUR has nothing overdue: a section of zeros in JSON, no block in the sheet.
    eur, section = overdue["sections"]
    assert (eur["currency"], eur["rows"], eur["totals"]) == (
        "EUR",
        [],
        {"open": "0.00"},
    )
    block = blocks(values["Overdue"])["USD"]
    cached = values["Overdue"].cell(block["total"], column(block, "Open")).value
    assert cents(cached) == Decimal(section["totals"]["open"])
    risk = report_json("risk", "--ledger", str(DEMO), "--as-of", AS_OF)
    found = blocks(values["Risk"])
    for section in risk["sections"]:
        block = found[section["currency"]]
        cached = values["Risk"].cell(block["total"], column(block, "Net AR")).value
        assert cents(cached) == Decimal(section["totals"]["exposure"])


def test_collection_roll_forward_closes_to_the_json_report(books):
    formulas, values = books
    report = report_json("collection", "--ledger", str(DEMO), "--as-of", AS_OF)
    ws, cached = formulas["Collection"], values["Collection"]
    for section in report["sections"]:
        start = next(r for r in range(1, ws.max_row + 1)
                     if ws.cell(r, 1).value == f"Roll-forward — {section['currency']}")  # fmt: skip
        rows = {ws.cell(r, 1).value: r for r in range(start, start + 12)}
        closing = rows["= Closing AR (open items)"]
        assert ws.cell(closing, 2).value.startswith("=B")
        assert cents(cached.cell(closing, 2).value) == Decimal(section["closing"])
        assert cents(cached.cell(rows["Opening AR (open items)"], 2).value) == Decimal(
            section["opening"]
        )


def test_summary_links_to_the_sheets(books):
    formulas, values = books
    ws = formulas["Summary"]
    labels = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    usd = next(
        c for c in range(2, 5) if ws.cell(labels["Key figures"], c).value == "USD"
    )
    net = ws.cell(labels["Net AR (after unapplied cash)"], usd)
    assert net.value.startswith("='Aging'!")
    assert cents(values["Summary"].cell(net.row, usd).value) == Decimal("237140.65")
    rate = ws.cell(labels["Overdue rate"], usd)
    assert re.fullmatch(r"=[A-Z]\d+/[A-Z]\d+", rate.value)
    assert rate.number_format == "0.0%_0"
    assert 0 < values["Summary"].cell(rate.row, usd).value < 1
    assert any(str(v).startswith("Top ") for v in labels)


def test_cached_values_are_what_the_formulas_compute(books):
    """Every SUM's stored value equals the sum of its range's stored values."""
    from openpyxl.utils import range_boundaries

    formulas, values = books
    sums = re.compile(r"=SUM\(([A-Z]+\d+:[A-Z]+\d+)\)")
    checked = 0
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if not (isinstance(cell.value, str) and cell.value.startswith("=")):
                    continue
                cached = values[ws.title][cell.coordinate].value
                assert cached is not None, (ws.title, cell.coordinate, cell.value)
                match = sums.fullmatch(cell.value)
                if not match:
                    continue
                low_col, low_row, high_col, high_row = range_boundaries(match[1])
                total = sum(
                    Decimal(repr(values[ws.title].cell(r, c).value or 0))
                    for r in range(low_row, high_row + 1)
                    for c in range(low_col, high_col + 1)
                )
                assert abs(Decimal(repr(cached)) - total) < Decimal("0.000001"), (
                    ws.title, cell.coordinate)  # fmt: skip
                checked += 1
    assert checked > 50


def test_text_starting_with_equals_is_text(tmp_path, ledger_dir):
    path = ledger_dir(
        customers="- {id: C1, name: '=HYPERLINK(\"http://x\",\"y\")', owner: '=Boss'}\n",
        invoices="- {id: I1, customer: C1, date: 2026-01-01, amount: 1234.56}\n",
    )
    target = export(tmp_path / "eq.xlsx", ledger=str(path))
    book = load_workbook(target)
    seen = 0
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and "HYPERLINK" in cell.value:
                    assert cell.value == '=HYPERLINK("http://x","y")'
                    assert cell.data_type == "s", (ws.title, cell.coordinate)
                    seen += 1
                if cell.value == "=Boss":
                    assert cell.data_type == "s"
    assert seen >= 4  # Aging, Open items, Overdue, Risk, Summary
    with zipfile.ZipFile(target) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>HYPERLINK" not in archive.read(name)
                assert b"<f>Boss" not in archive.read(name)


# ---------------------------------------------------------------- spreadsheet work


def test_charts(books):
    formulas, _ = books
    aging = formulas["Aging"]._charts
    assert len(aging) == 2  # one per currency block
    assert all(chart.tagname == "barChart" for chart in aging)
    trend = formulas["Trend"]._charts
    assert len(trend) == 2
    assert all(c.grouping == "stacked" and c.overlap == 100 for c in trend)
    assert len(trend[0].series) == 6  # Current, 1-30, ..., 120+


def test_trend_is_twelve_month_ends_ending_at_the_aging(books):
    formulas, values = books
    ws = values["Trend"]
    usd = blocks(ws)["USD"]
    rows = list(usd["rows"])
    assert len(rows) == 12
    assert [ws.cell(r, 1).value for r in (rows[0], rows[-1])] == ["2025-11", "2026-10"]
    last = rows[-1]
    assert cents(ws.cell(last, column(usd, "Net AR")).value) == Decimal("237140.65")
    assert formulas["Trend"].cell(last, column(usd, "Net AR")).value.startswith("=SUM(")


def test_trend_points_equal_each_month_ends_own_aging():
    """The trend's light sums agree with a full aging as of each month end."""
    from arledger.loader import load
    from arledger.reports import aging
    from arledger.reports.trend import trend_dates, trend_point
    from arledger.settle import settle

    ledger, _ = load(DEMO)
    for day in trend_dates(date(2026, 10, 31)):
        view = ledger.view(day)
        settlement = settle(view)
        result = aging.compute(view, settlement)
        point = trend_point(settlement, result.basis, result.limits)
        assert [(s.currency, s.buckets, s.unapplied, s.total) for s in point.sections] == [
            (s.currency, s.buckets, s.unapplied, s.total) for s in result.sections]  # fmt: skip


def test_shared_inputs_give_what_each_report_makes_alone():
    """The workbook makes the promises, follow-ups and payment history once
    and hands them to the overdue, risk and forecast reports: the same
    results as each report makes for itself."""
    from arledger.history import payment_history
    from arledger.loader import load
    from arledger.promises import promises
    from arledger.reports import forecast, overdue, risk
    from arledger.settle import settle

    ledger, _ = load(DEMO)
    for day in (date(2026, 3, 31), date(2026, 10, 31)):
        view = ledger.view(day)
        settlement = settle(view)
        promised = promises(view, settlement)
        assert any(p.status == "open" for p in promised) or day.month == 3
        follow = overdue.follow_ups(view, settlement, promised)
        assert follow == overdue.follow_ups(view, settlement)
        assert overdue.compute(view, settlement, follow) == overdue.compute(
            view, settlement
        )
        paid = payment_history(settlement)
        assert risk.compute(view, settlement, history=paid, follow=follow) == (
            risk.compute(view, settlement)
        )
        assert forecast.compute(view, settlement, found_promises=promised) == (
            forecast.compute(view, settlement)
        )


def test_column_widths_tell_equal_values_of_other_types_apart():
    """Widths are measured once per value shown in a style; values equal as
    keys but shown differently (1, True, 1.00; 0.00 and -0.00) are each
    measured as they show, in either order."""
    from arledger.render.workbook.layout import C, column_widths

    pairs = [
        (1, True),
        (1, Decimal(1)),
        (Decimal("0"), Decimal("-0")),
        (C(Decimal("0.00"), "money2"), C(Decimal("-0.00"), "money2")),
    ]
    for a, b in pairs:
        alone = max(column_widths([[a]]), column_widths([[b]]))
        assert column_widths([[a], [b]]) == column_widths([[b], [a]]) == alone
        assert column_widths([[a]]) != column_widths([[b]])


def test_trend_dates():
    from arledger.reports.trend import trend_dates

    assert trend_dates(date(2026, 10, 31))[:2] == (
        date(2025, 11, 30),
        date(2025, 12, 31),
    )
    days = trend_dates(date(2026, 3, 15))
    assert len(days) == 12 and days[-2:] == (date(2026, 2, 28), date(2026, 3, 15))


def test_frozen_panes_filters_widths_and_conditional_formats(books):
    formulas, _ = books
    ws = formulas["Open items USD"]
    assert ws.freeze_panes == "C6"
    assert ws.auto_filter.ref.startswith("A5:K")
    assert ws.column_dimensions["B"].width > ws.column_dimensions["D"].width >= 4
    shaded = {str(rng.sqref) for rng in ws.conditional_formatting}
    assert any(ref.startswith("G6:") for ref in shaded)  # days past due
    aging = formulas["Aging"]
    rules = [r for rng in aging.conditional_formatting for r in rng.rules]
    assert len(rules) >= 4 and all(r.dxf.fill is not None for r in rules)
    assert formulas["Risk"].conditional_formatting
    assert formulas["Summary"]["B5"].number_format == MONEY or formulas["Summary"][
        "B5"].font.b  # fmt: skip


def test_print_setup(books):
    formulas, _ = books
    for ws in formulas.worksheets:
        assert ws.page_setup.orientation in ("portrait", "landscape"), ws.title
        # A fitToWidth the file leaves out is 1, its default (ECMA-376).
        assert (ws.page_setup.fitToWidth or 1) == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.oddHeader.left.text == "Bayview Trading Co."
        assert ws.oddHeader.right.text == "As of 2026-10-31"
    assert formulas["Open items USD"].print_title_rows == "$5:$5"


def test_writes_row_by_row(books):
    """XlsxWriter's constant-memory mode: a row is written out as the next one
    starts, so a 100 000-row list is never held."""
    from arledger.loader import load
    from arledger.render.workbook.book import Book as _Book
    from arledger.reports.workbook import gather

    ledger, _ = load(LEDGERS / "small")
    book = _Book(gather(ledger.view(date(2026, 10, 31))), "en")
    assert book.wb.constant_memory


def test_empty_ledger(tmp_path, ledger_dir):
    path = ledger_dir(customers="- {id: C1, name: Nobody}\n")
    book = load_workbook(export(tmp_path / "empty.xlsx", ledger=str(path)))
    assert book.sheetnames == ["Summary", "Aging", "Open items", "Overdue",
                               "Worklist", "Collection", "Risk", "Forecast",
                               "Trend", "Allowance", "Movement"]  # fmt: skip
    assert book["Open items"]["A4"].value == "Nothing to report."


def test_filters_show_on_every_sheet(tmp_path):
    book = load_workbook(export(tmp_path / "f.xlsx", "--owner", "Li Wei"))
    assert "owner Li Wei" in book["Summary"]["A2"].value
    values = load_workbook(tmp_path / "f.xlsx", data_only=True)
    aging = report_json(
        "aging", "--ledger", str(DEMO), "--as-of", AS_OF, "--owner", "Li Wei"
    )
    block = blocks(values["Aging"])["USD"]
    cached = values["Aging"].cell(block["total"], column(block, "Net AR")).value
    assert cents(cached) == Decimal(aging["sections"][0]["totals"]["total"])


# ---------------------------------------------------------------- refusing


def test_existing_file_needs_force(tmp_path):
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"keep me")
    result = run("export", str(target), "--ledger", SMALL, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "exists" in result.stderr and "--force" in result.stderr
    assert target.read_bytes() == b"keep me"
    result = run("export", str(target), "--ledger", SMALL, "--as-of", AS_OF, "--force")
    assert result.exit_code == 0, result.output
    assert load_workbook(target).sheetnames[0] == "Summary"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--language", "fr"], "--language"),
        (["--as-of", "someday"], "--as-of"),
        (["--customer", "NOBODY"], "unknown customer"),
    ],
)
def test_bad_options_write_nothing(tmp_path, args, message):
    target = tmp_path / "report.xlsx"
    result = run("export", str(target), "--ledger", SMALL, *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_bad_ledger_writes_nothing(tmp_path, ledger_dir):
    path = ledger_dir(customers="- {id: C1, name: X, ammount: 5}\n")
    target = tmp_path / "report.xlsx"
    result = run("export", str(target), "--ledger", str(path))
    assert result.exit_code == 2
    assert "customers.yaml:1" in result.stderr
    assert not target.exists()


def test_a_directory_is_refused(tmp_path):
    target = tmp_path / "report.xlsx"
    target.mkdir()
    result = run("export", str(target), "--ledger", SMALL, "--force")
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_ampersand_in_the_company_prints_as_itself(tmp_path, ledger_dir):
    path = ledger_dir(
        settings="company: {name: Smith & Sons}\n",
        customers="- {id: C1, name: X}\n",
        invoices="- {id: I1, customer: C1, date: 2026-01-01, amount: 5.00}\n",
    )
    book = load_workbook(export(tmp_path / "amp.xlsx", ledger=str(path)))
    assert book["Aging"].oddHeader.left.text == "Smith && Sons"  # "&&" prints "&"
    assert book["Aging"]["A2"].value == "Smith & Sons"


def test_a_long_company_name_is_shortened_to_fit_the_page_header(tmp_path, ledger_dir):
    """Excel holds 255 characters in a page header: a longer company name is
    cut to fit, with an ellipsis, and no warning is printed."""
    name = "Smith & Sons Trading " * 15
    path = ledger_dir(
        settings=f"company: {{name: '{name}'}}\n",
        customers="- {id: C1, name: X}\n",
        invoices="- {id: I1, customer: C1, date: 2026-01-01, amount: 5.00}\n",
    )
    result = run("export", str(tmp_path / "long.xlsx"), "--ledger", str(path))
    assert result.exit_code == 0 and "Warning" not in result.stderr, result.stderr
    ws = load_workbook(tmp_path / "long.xlsx")["Aging"]
    left = ws.oddHeader.left.text
    assert left.endswith("…") and left.startswith("Smith && Sons Trading Smith")
    assert ws.oddHeader.right.text.startswith("As of ")
    with zipfile.ZipFile(tmp_path / "long.xlsx") as archive:
        sheet = archive.read("xl/worksheets/sheet2.xml").decode()
    header = re.search(r"<oddHeader>(.*?)</oddHeader>", sheet)[1]
    assert len(header.replace("&amp;", "&")) == 255
    assert ws["A2"].value == name.strip()  # the sheet itself shows it whole


def test_a_sheet_longer_than_excel_holds_is_refused(tmp_path, monkeypatch):
    """The writer would leave the rows past Excel's last out without a word:
    the export stops instead, naming the sheet (Excel's limit, 1 048 576 rows,
    made 20 here)."""
    from arledger.render import xlsx

    monkeypatch.setattr(xlsx, "MAX_ROWS", 20)
    target = tmp_path / "long.xlsx"
    result = run("export", str(target), "--ledger", str(DEMO), "--as-of", AS_OF)
    assert result.exit_code == 2, result.output
    assert "arledger: error: " in result.stderr and "Traceback" not in result.stderr
    assert "more rows than an Excel sheet holds (20); narrow it" in result.stderr
    assert not target.exists()
    report = run("aging", "--detail", "--format", "xlsx", "--output",
                 str(tmp_path / "aging.xlsx"), "--ledger", str(DEMO))  # fmt: skip
    assert report.exit_code == 2 and "Aging USD: " in report.stderr, report.output


def test_the_name_must_end_in_xlsx(tmp_path):
    result = run("export", str(tmp_path / "report.csv"), "--ledger", SMALL)
    assert result.exit_code == 2 and ".xlsx" in result.stderr
    assert not (tmp_path / "report.csv").exists()


# ---------------------------------------------------------------- LibreOffice


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _recalculated(source: Path, work: Path) -> Path:
    """`source` opened, recalculated and saved again by LibreOffice."""
    profile = work / "profile"
    (profile / "user").mkdir(parents=True)
    # LibreOffice trusts the cached values of an xlsx by default; make it
    # recalculate every formula on load, so the test compares real results.
    (profile / "user" / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        '<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
        '<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop>'
        "</item>\n</oor:items>\n",
        encoding="utf-8",
    )
    out = work / "out"
    subprocess.run(
        [_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "xlsx", "--outdir", str(out), str(source)],
        check=True, capture_output=True, timeout=180,
        env={**os.environ, "HOME": str(work)},
    )  # fmt: skip
    return out / source.name


@pytest.mark.skipif(_soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_recalculates_the_same_totals(demo, tmp_path):
    # A control copy with one wrong cached value proves LibreOffice recalculated.
    # (the USD block's total, where the build put it).
    from openpyxl.utils import get_column_letter

    usd = blocks(load_workbook(demo)["Aging"])["USD"]
    col = get_column_letter(column(usd, "Net AR"))
    total = f"{col}{usd['total']}"
    summed = f"SUM({col}{usd['rows'][0]}:{col}{usd['rows'][-1]})".encode()
    control = tmp_path / "control.xlsx"
    with zipfile.ZipFile(demo) as src, zipfile.ZipFile(control, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":  # Aging
                found = rb"(<f>" + re.escape(summed) + rb"</f><v>)[^<]*"
                data = re.sub(found, rb"\g<1>1", data)
            dst.writestr(info, data)
    copy = tmp_path / "report.xlsx"
    shutil.copy(demo, copy)
    ours = load_workbook(demo, data_only=True)
    formulas = load_workbook(demo)
    theirs = load_workbook(_recalculated(copy, tmp_path / "a"), data_only=True)
    fixed = load_workbook(_recalculated(control, tmp_path / "b"), data_only=True)
    assert load_workbook(control, data_only=True)["Aging"][total].value == 1
    assert fixed["Aging"][total].value == pytest.approx(237140.65)
    compared = 0
    for ws in formulas.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    mine = ours[ws.title][cell.coordinate].value
                    recalculated = theirs[ws.title][cell.coordinate].value
                    assert recalculated == pytest.approx(mine, abs=0.005), (
                        ws.title, cell.coordinate, cell.value)  # fmt: skip
                    compared += 1
    assert compared > 100


def test_a_damaged_sent_log_stops_the_export_at_its_line(tmp_path):
    """The Worklist sheet reads the sent log as `dunning` does: a line it
    cannot read is an error there too (exit 2, FILE:LINE, no file)."""
    ledger = tmp_path / "demo"
    shutil.copytree(DEMO, ledger)
    (ledger / "dunning-log.csv").write_text(
        "date,customer,level,currency,amount,message_id\n"
        "2026-10-05,ACME,first,USD,not-a-number,<a@x>\n",
        encoding="utf-8",
    )
    target = tmp_path / "book.xlsx"
    result = CliRunner().invoke(
        app, ["export", str(target), "--ledger", str(ledger), "--as-of", "2026-10-31"]
    )
    assert result.exit_code == 2
    assert "dunning-log.csv:2:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not target.exists()


def test_export_of_a_clean_ledger_imports_no_pydantic(tmp_path):
    """The workbook of a clean ledger is made without the records' models
    (pydantic, ~75 ms of a 100k export), as every report is."""
    from .test_startup import _modules_after

    env = dict(os.environ, ARLEDGER_NO_CACHE="1")
    target = str(tmp_path / "book.xlsx")
    code = (
        "import sys\nfrom arledger.cli import app\n"
        f"sys.argv = ['arledger', 'export', {target!r}, '-l', "
        "'tests/ledgers/small_csv', '--as-of', '2026-10-31']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert _modules_after(code, ("pydantic", "arledger.model"), env) == set()
    assert Path(target).exists()
