"""Bad-debt allowance (坏账准备, SPEC §8): figures worked out by hand on a small
ledger, the change between two month-ends, the adjusting entry (checked by
hledger and beancount where installed), every format, and a property: the
allowance is never above what is open."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from arledger.api import load
from arledger.cli import app
from arledger.model import Settings
from arledger.reports import allowance
from arledger.settle import settle

from .conftest import DEMO, write_ledger
from .test_properties import PROPERTY, Gen, as_of_dates, ledgers

D = Decimal
AS_OF = "2026-10-31"
SINCE = "2026-09-30"

SETTINGS = """\
company: {name: Test Trading}
allowance:
  rates: {Current: 0.01, 1-30: 0.02, 31-60: 0.10, 61-90: 0.25, 91-120: 0.50, 120+: 1.00}
  disputed: 0.40
"""
CUSTOMERS = """\
- {id: A, name: Alpha}
- {id: B, name: Beta, allowance_rate: 0.30}
- {id: C, name: Gamma}
"""
# Terms 30. Days past due at 2026-10-31 (and at 2026-09-30) in the comments.
INVOICES = """\
- {id: A1, customer: A, date: 2026-10-01, amount: 1000.00}   # due 10-31: 0 Current
- {id: A2, customer: A, date: 2026-09-01, amount: 333.33}    # due 10-01: 30 (-1)
- {id: A3, customer: A, date: 2026-07-01, amount: 200.00}    # due 07-31: 92 (61)
- {id: A4, customer: A, date: 2026-08-10, amount: 500.00, disputed: true}  # 52 (21)
- {id: A5, customer: A, date: 2026-08-15, amount: 100.05}    # due 09-14: 47 (16)
- {id: A6, customer: A, date: 2026-09-10, amount: 0.25}      # due 10-10: 21 (-10)
- {id: B1, customer: B, date: 2026-10-15, amount: 400.00}    # due 11-14: Current
- {id: B2, customer: B, date: 2026-06-01, amount: 100.00, disputed: true}  # 122 (91)
- {id: C1, customer: C, date: 2026-10-20, amount: 50.00}
"""
PAYMENTS = """\
- {id: P1, customer: A, date: 2026-08-15, amount: 50.00, invoice: A3}
- {id: P2, customer: C, date: 2026-10-25, amount: 75.00}     # 25.00 unapplied
"""


@pytest.fixture
def books(tmp_path):
    return write_ledger(
        tmp_path / "books",
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices=INVOICES,
        payments=PAYMENTS,
    )


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def report(root, *extra: str) -> dict:
    result = run("allowance", "-l", root, "--as-of", AS_OF, "-f", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def rows(data: dict) -> list[tuple]:
    return [
        (r["customer"], r["bucket"], r["rate_of"], r["open"], r["rate"], r["allowance"])
        for r in data["sections"][0]["rows"]
    ]


def test_matrix_disputed_rate_and_a_customers_own_rate(books):
    data = report(books)
    assert [s["currency"] for s in data["sections"]] == ["USD"]
    assert rows(data) == [
        # Customers by their allowance, largest first: A 301.68, B 150.00.
        ("A", "Current", "bucket", "1000.00", "0.01", "10.00"),
        # 333.33 + 0.25 at 2%: 6.6716, rounded once per row: 6.67 (per item
        # it would be 6.67 + 0.01).
        ("A", "1-30", "bucket", "333.58", "0.02", "6.67"),
        # 100.05 at 10% = 10.005: half-up to 10.01.
        ("A", "31-60", "bucket", "100.05", "0.10", "10.01"),
        # A disputed item stays in its bucket and takes the disputed rate.
        ("A", "31-60", "disputed", "500.00", "0.40", "200.00"),
        ("A", "91-120", "bucket", "150.00", "0.50", "75.00"),
        # B's own rate replaces the matrix and the disputed rate (B2).
        ("B", "Current", "customer", "400.00", "0.30", "120.00"),
        ("B", "120+", "customer", "100.00", "0.30", "30.00"),
    ]
    # C's 25.00 of unapplied cash is not provisioned: no row.
    assert data["sections"][0]["totals"] == {"open": "2583.63", "allowance": "451.68"}


def test_without_a_disputed_rate_a_disputed_item_takes_its_buckets(books):
    text = SETTINGS.replace("  disputed: 0.40\n", "")
    (books / "arledger.yaml").write_text(text, encoding="utf-8")
    found = rows(report(books))
    # A4 (500.00) joins A5 in 31-60: 600.05 at 10% = 60.005 -> 60.01.
    assert ("A", "31-60", "bucket", "600.05", "0.10", "60.01") in found
    assert not [r for r in found if r[2] == "disputed"]


def test_the_change_between_two_month_ends(books):
    data = report(books, "--compare-to", SINCE)
    assert data["compare_to"] == SINCE
    section = data["sections"][0]
    # As of 2026-09-30: A Current 333.58 at 1% = 3.3358 -> 3.34; A 1-30 100.05
    # at 2% = 2.001 -> 2.00; A 1-30 disputed 500.00 at 40% = 200.00; A 61-90
    # 150.00 at 25% = 37.50; B 91-120 100.00 at 30% = 30.00. Total 272.84.
    assert section["totals"] == {
        "open": "2583.63",
        "allowance": "451.68",
        "previous": "272.84",
        "change": "178.84",
    }
    by_row = {(r["customer"], r["bucket"], r["rate_of"]): r for r in section["rows"]}
    assert by_row[("A", "1-30", "disputed")]["previous"] == "200.00"
    assert by_row[("A", "1-30", "disputed")]["change"] == "-200.00"
    assert by_row[("A", "1-30", "disputed")]["open"] == "0.00"
    assert by_row[("A", "31-60", "disputed")]["change"] == "200.00"
    assert by_row[("B", "91-120", "customer")]["change"] == "-30.00"
    assert by_row[("B", "120+", "customer")]["change"] == "30.00"
    # Rows add up to the totals, each column.
    for key in ("open", "allowance", "previous", "change"):
        total = sum(D(r[key]) for r in section["rows"])
        assert total == D(section["totals"][key]), key


def test_compute_reads_the_same_through_the_api(books):
    ledger = load(books)
    view = ledger.view(date(2026, 10, 31))
    earlier = view.on(date(2026, 9, 30))
    result = allowance.compute(view, settle(view), (earlier, settle(earlier)))
    assert result.sections[0].allowance == D("451.68")
    assert result.previous is not None
    assert result.previous.sections[0].allowance == D("272.84")


# ---------------------------------------------------------------- the entry


def test_the_adjusting_entry_books_the_change(books):
    result = run("allowance", "-l", books, "--as-of", AS_OF, "--compare-to", SINCE,
                 "--journal", "hledger")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2026-10-31 Test Trading | Bad-debt allowance 2026-09-30 to 2026-10-31: "
        "272.84 -> 451.68 USD",
        "    Expenses:Bad-Debts                   178.84 USD",
        "    Assets:Receivable:Allowance         -178.84 USD",
    ]


def release_ledger(tmp_path):
    """One invoice of 1000.00 due 2026-09-01: at 2026-09-30 in 1-30 (2% of the
    default matrix: 20.00); 800.00 paid on 2026-10-15, so at 2026-10-31 200.00
    in 31-60 (5%: 10.00): 10.00 released."""
    return write_ledger(
        tmp_path / "release",
        settings="allowance:\n  accounts: {expense: 'Expenses:Provisions', "
        "allowance: 'Assets:AR:Allowance'}\n",
        customers="- {id: A, name: Alpha}\n",
        invoices="- {id: I1, customer: A, date: 2026-08-02, due: 2026-09-01, "
        "amount: 1000.00}\n",
        payments="- {id: P1, customer: A, date: 2026-10-15, amount: 800.00}\n",
    )


def test_a_release_reverses_the_entry(tmp_path):
    root = release_ledger(tmp_path)
    result = run("allowance", "-l", root, "--as-of", AS_OF, "--compare-to", SINCE,
                 "--journal", "beancount")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        '2026-10-31 * "Bad-debt allowance" "Bad-debt allowance release 2026-09-30 '
        'to 2026-10-31: 20.00 -> 10.00 USD"',
        "    Assets:AR:Allowance           10.00 USD",
        "    Expenses:Provisions          -10.00 USD",
    ]
    # Nothing changed between two dates: no entry, and a comment that says so.
    same = run("allowance", "-l", root, "--as-of", "2026-09-29",
               "--compare-to", "2026-09-28", "--journal", "hledger")  # fmt: skip
    assert same.exit_code == 0
    assert same.output == "; no change in the bad-debt allowance as of 2026-09-29\n"


def test_without_compare_to_the_whole_allowance_is_booked(books):
    result = run("allowance", "-l", books, "--as-of", AS_OF, "--journal", "hledger")
    assert result.exit_code == 0, result.output
    assert "Bad-debt allowance as of 2026-10-31: 451.68 USD" in result.output
    assert "    Expenses:Bad-Debts                   451.68 USD" in result.output


@pytest.mark.skipif(shutil.which("hledger") is None, reason="hledger not installed")
def test_hledger_reads_the_entry(books):
    text = run("allowance", "-l", books, "--as-of", AS_OF, "--compare-to", SINCE,
               "--journal", "hledger").output  # fmt: skip
    done = subprocess.run(
        ["hledger", "-f", "-", "bal", "--flat", "-N", "-O", "csv"],
        input=text, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = dict(
        tuple(c.strip('"') for c in line.split('","'))
        for line in done.stdout.splitlines()[1:]
    )
    assert found == {
        "Assets:Receivable:Allowance": "-178.84 USD",
        "Expenses:Bad-Debts": "178.84 USD",
    }


def test_beancount_reads_the_entry(tmp_path):
    loader = pytest.importorskip("beancount.loader")
    root = release_ledger(tmp_path)
    text = run("allowance", "-l", root, "--as-of", AS_OF, "--compare-to", SINCE,
               "--journal", "beancount").output  # fmt: skip
    # The books it is added to have the accounts open already.
    opens = "2026-01-01 open Assets:AR:Allowance\n2026-01-01 open Expenses:Provisions\n"
    path = tmp_path / "books.beancount"
    path.write_text(opens + "\n" + text, encoding="utf-8")
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    postings = {
        p.account: p.units.number for e in entries for p in getattr(e, "postings", ())
    }
    assert postings == {
        "Assets:AR:Allowance": D("10.00"),
        "Expenses:Provisions": D("-10.00"),
    }


# ---------------------------------------------------------------- formats and errors


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "md", "xlsx"])
def test_every_format(books, tmp_path, fmt):
    target = tmp_path / f"allowance.{'txt' if fmt == 'table' else fmt}"
    result = run("allowance", "-l", books, "--as-of", AS_OF, "--compare-to", SINCE,
                 "-f", fmt, "-o", target)  # fmt: skip
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(target).active
        header = [c.value for c in ws[1]]
        assert header[:7] == ["Customer", "Name", "Bucket", "Rate of", "Open",
                              "Rate", "Allowance"]  # fmt: skip
        last = [c.value for c in ws[ws.max_row]]
        assert last[header.index("Allowance")] == pytest.approx(451.68)
        assert last[header.index("Change")] == pytest.approx(178.84)
        return
    text = target.read_text(encoding="utf-8")
    if fmt == "csv":
        found = list(csv.DictReader(io.StringIO(text)))
        assert found[0]["currency"] == "USD"
        assert sum(D(r["allowance"]) for r in found) == D("451.68")
        assert {r["rate"] for r in found} >= {"0.01", "0.40", "0.30"}
    elif fmt == "json":
        assert json.loads(text)["sections"][0]["totals"]["change"] == "178.84"
    else:
        assert "451.68" in text and "178.84" in text and "272.84" in text
        assert "Alpha" in text and "disputed" in text


def test_buckets_without_rates_are_an_error_that_says_what_to_write(tmp_path):
    root = write_ledger(
        tmp_path / "custom",
        settings="aging: {buckets: [15, 45]}\n",
        customers="- {id: A, name: Alpha}\n",
        invoices="- {id: I1, customer: A, date: 2026-10-01, amount: 10}\n",
    )
    result = run("allowance", "-l", root, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "this ledger's are Current, 1-15, 16-45, 45+" in result.stderr
    assert "allowance: {rates:" in result.stderr
    assert "Traceback" not in result.output


def test_bad_options_are_usage_errors(books):
    for args, message in (
        (("--compare-to", "2026-11-30"), "is not before --as-of 2026-10-31"),
        (("--compare-to", "31/09/2026"), "--compare-to:"),
        (("--journal", "ledger"), "--journal: 'ledger' is not one of"),
        (("--journal", "hledger", "-f", "csv"), "leave out --format"),
    ):
        result = run("allowance", "-l", books, "--as-of", AS_OF, *args)
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)


def test_month_end_counts_back_from_as_of(books):
    data = report(books, "--compare-to", "month-end")
    assert data["compare_to"] == SINCE


def test_exit_code_in_a_real_process(books):
    done = subprocess.run(
        [sys.executable, "-m", "arledger", "allowance", "-l", str(books),
         "--as-of", AS_OF, "--compare-to", "2027-01-01"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("arledger: error: --compare-to 2027-01-01")
    ok = subprocess.run(
        [sys.executable, "-m", "arledger", "allowance", "-l", str(DEMO),
         "--as-of", AS_OF, "-f", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["report"] == "allowance"


# ---------------------------------------------------------------- property

rates = st.decimals(min_value=0, max_value=1, places=4)


@PROPERTY
@given(
    gen=ledgers(),
    as_of=as_of_dates,
    matrix=st.lists(rates, min_size=6, max_size=6),
    disputed=st.one_of(st.none(), rates),
    own=st.lists(st.one_of(st.none(), rates), min_size=4, max_size=4),
)
def test_the_allowance_is_never_above_what_is_open(gen, as_of, matrix, disputed, own):
    labels = ("Current", "1-30", "31-60", "61-90", "91-120", "120+")
    settings = Settings.model_validate(
        {"allowance": {"rates": dict(zip(labels, map(str, matrix), strict=True)),
                       **({"disputed": str(disputed)} if disputed is not None else {})}}
    )  # fmt: skip
    customers = tuple(
        c.model_copy(update={"allowance_rate": rate})
        for c, rate in zip(gen.customers, own, strict=False)
    )
    ledger = replace(Gen(customers, gen.invoices, gen.payments, gen.adjustments).ledger(),
                     settings=settings)  # fmt: skip
    view = ledger.view(as_of)
    settlement = settle(view, history=False)
    result = allowance.compute(view, settlement)
    open_total = {}
    for item in settlement.items:
        open_total[item.currency] = open_total.get(item.currency, D(0)) + item.open
    for section in result.sections:
        for p in section.provisions:
            assert D(0) <= p.allowance <= p.open
        assert section.open == open_total[section.currency]
        assert section.allowance <= section.open
        assert section.allowance == sum((p.allowance for p in section.provisions), D(0))


# ---------------------------------------------------------------- the workbook


def export(root, target, *extra: str):
    result = run("export", target, "-l", root, "--as-of", AS_OF, *extra)
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    return load_workbook(target)


def test_the_workbook_has_an_allowance_sheet(books, tmp_path):
    ws = export(books, tmp_path / "en.xlsx")["Allowance"]
    assert ws["A1"].value == (
        "Bad-debt allowance as of 2026-10-31, change since 2026-09-30"
    )
    header = next(r for r in range(1, ws.max_row) if ws.cell(r, 1).value == "Customer")
    labels = [c.value for c in ws[header]]
    assert labels == ["Customer", "Name", "Bucket", "Rate of", "Open", "Rate",
                      "Allowance", "At 2026-09-30", "Provision (release −)"]  # fmt: skip
    body = [
        [c.value for c in row]
        for row in ws.iter_rows(min_row=header + 1)
        if row[0].value not in (None, "Total")
    ]
    assert ["A", "Alpha", "31-60", "disputed", 500, "40%", 200, 0, 200] in body
    assert ["B", "Beta", "120+", "customer", 100, "30%", 30, 0, 30] in body
    # 7 rows now and 3 released since 2026-09-30; totals are formulas with
    # their values stored.
    values = export(books, tmp_path / "values.xlsx", "--force")
    total = next(r for r in values["Allowance"].iter_rows() if r[0].value == "Total")
    assert [c.value for c in total][4:] == ["=SUM(E6:E15)", None, "=SUM(G6:G15)",
                                            "=SUM(H6:H15)", "=SUM(I6:I15)"]  # fmt: skip
    from openpyxl import load_workbook

    cached = load_workbook(tmp_path / "values.xlsx", data_only=True)["Allowance"]
    row = next(r for r in cached.iter_rows() if r[0].value == "Total")
    assert [row[i].value for i in (4, 6, 7, 8)] == pytest.approx(
        [2583.63, 451.68, 272.84, 178.84]
    )


def test_in_chinese(books, tmp_path):
    book = export(books, tmp_path / "zh.xlsx", "--language", "zh")
    ws = book["坏账准备"]
    assert ws["A1"].value == "坏账准备（截至 2026-10-31，与 2026-09-30 比较）"
    texts = {c.value for row in ws.iter_rows() for c in row}
    assert {
        "计提依据",
        "计提比例",
        "本期计提（转回为负）",
        "未到期",
        "争议",
        "单项计提",
    } <= texts


def test_buckets_without_rates_leave_the_sheet_out(tmp_path):
    root = write_ledger(
        tmp_path / "custom",
        settings="aging: {buckets: [15, 45]}\n",
        customers="- {id: A, name: Alpha}\n",
        invoices="- {id: I1, customer: A, date: 2026-10-01, amount: 10}\n",
    )
    book = export(root, tmp_path / "custom.xlsx")
    assert "Allowance" not in book.sheetnames and "Movement" in book.sheetnames
