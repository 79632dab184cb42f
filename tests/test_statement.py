"""`arledger statement`: a customer's statement of account (对账单).

Every expected figure was computed by hand from the SPEC; the docstrings show the
arithmetic. The hypothesis property at the end is STYLE §10's "a customer's
statement closes at its aging total".
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from arledger.cli import app
from arledger.loader import load
from arledger.reports import aging, statement
from arledger.settle import settle

from .conftest import DEMO, LEDGERS
from .test_properties import PROPERTY, as_of_dates, ledgers

D = Decimal
SMALL = str(LEDGERS / "small")
GOLDEN = Path(__file__).parent / "golden"

# One customer, a month with every kind of record (2026; Sep 30, Oct 31 days).
#   I3  08-01  120.00 disputed (due 08-31): never paid automatically
#   I1  09-05 1000.00 (due 10-05)   P1 09-20 400 names I1 -> 600; DS1 09-25 10 -> 590
#   I2  10-03  500.00 (due 11-02)   CN1 10-03 50 on I2 -> 450
#   P2  10-03  200 free -> I1 (oldest undisputed) 590 -> 390
#   P3  10-10  500: 300 allocated to I9 (issued 11-05, after as-of) waits;
#                   200 free -> I1 390 -> 190
#   WO1 10-15  190 write-off of I1 -> 0
#   P4  10-20  500 free -> I2 450 -> 0; 50 unapplied
FIXTURE = {
    "settings": "company: {name: Bayside Supplies, address: 1 Quay St, bank: 'Bank of Test\\nAcct 42'}\n",
    "customers": """\
        - {id: C1, name: "Chen & Sons <Ltd>", terms: 30, language: zh, address: 上海市, contact: 陈先生}
        - {id: C2, name: Other Co, terms: 30}
        """,
    "invoices": """\
        - {id: I3, customer: C1, date: 2026-08-01, amount: 120.00, disputed: true}
        - {id: I1, customer: C1, date: 2026-09-05, amount: 1000.00}
        - {id: I2, customer: C1, date: 2026-10-03, amount: 500.00, description: widgets, po: PO-1}
        - {id: I9, customer: C1, date: 2026-11-05, amount: 300.00}
        - {id: X1, customer: C2, date: 2026-10-01, amount: 99.00}
        """,
    "payments": """\
        - {id: P1, customer: C1, date: 2026-09-20, amount: 400.00, invoice: I1}
        - {id: P2, customer: C1, date: 2026-10-03, amount: 200.00}
        - {id: P3, customer: C1, date: 2026-10-10, amount: 500.00, allocations: {I9: 300.00}}
        - {id: P4, customer: C1, date: 2026-10-20, amount: 500.00}
        """,
    "adjustments": """\
        - {id: DS1, customer: C1, date: 2026-09-25, amount: 10.00, kind: discount, invoice: I1}
        - {id: CN1, customer: C1, date: 2026-10-03, amount: 50.00, kind: credit_note, invoice: I2}
        - {id: WO1, customer: C1, date: 2026-10-15, amount: 190.00, kind: write_off, invoice: I1}
        """,
}


@pytest.fixture
def fixture_ledger(ledger_dir) -> Path:
    return ledger_dir(**FIXTURE)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def statement_json(ledger: Path | str, *args: str) -> dict:
    result = run("statement", *args, "--ledger", str(ledger), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def compute(ledger_path: Path | str, customer: str, start: date, end: date):
    ledger, errors = load(ledger_path)
    assert not [e for e in errors if not e.warning], errors
    view = ledger.view(end, customers=[customer])
    return statement.compute(view, settle(view), customer, start=start)


# ---------------------------------------------------------------- hand-computed


def test_month_activity_running_balance_and_closing(fixture_ledger):
    """Opening (before 10-01) = I3 120 + I1 1000 − P1 400 − DS1 10 = 710.
    10-03: I2 +500 = 1210; CN1 −50 = 1160; P2 −200 = 960 (same day: invoices,
    then adjustments, then payments); 10-10 P3 −500 = 460; 10-15 WO1 −190 = 270;
    10-20 P4 −500 = −230. Aging: I3 120 open − (300 waiting + 50 unapplied) = −230."""
    result = compute(fixture_ledger, "C1", date(2026, 10, 1), date(2026, 10, 31))
    (usd,) = result.sections
    assert usd.currency == "USD"
    assert usd.opening == D("710.00")
    assert [
        (x.date.isoformat(), x.kind, x.ref, x.debit, x.credit, x.balance)
        for x in usd.lines
    ] == [
        ("2026-10-03", "invoice", "I2", D("500.00"), 0, D("1210.00")),
        ("2026-10-03", "credit_note", "CN1", 0, D("50.00"), D("1160.00")),
        ("2026-10-03", "payment", "P2", 0, D("200.00"), D("960.00")),
        ("2026-10-10", "payment", "P3", 0, D("500.00"), D("460.00")),
        ("2026-10-15", "write_off", "WO1", 0, D("190.00"), D("270.00")),
        ("2026-10-20", "payment", "P4", 0, D("500.00"), D("-230.00")),
    ]
    assert usd.invoiced == D("500.00") and usd.received == D("1440.00")
    assert usd.closing == usd.aging_total == D("-230.00")
    assert usd.unapplied == D("-350.00")
    assert usd.buckets == (0, 0, 0, D("120.00"), 0, 0)  # 61 days: 61-90
    # How each payment was applied, as of the statement's date.
    p3 = usd.lines[3]
    assert [(a.invoice, a.amount) for a in p3.applied] == [("I1", D("200.00"))]
    assert [(w.invoice, w.amount) for w in p3.waiting_for] == [("I9", D("300.00"))]
    assert p3.unapplied == 0
    p4 = usd.lines[5]
    assert [(a.invoice, a.amount) for a in p4.applied] == [("I2", D("450.00"))]
    assert p4.unapplied == D("50.00")
    # Open items aged, then credits oldest first: they add up to the closing.
    assert [
        (o.ref, o.bucket, o.open, o.disputed, o.waiting_for) for o in usd.open_lines
    ] == [
        ("I3", "61-90", D("120.00"), True, None),
        ("P3", "unapplied", D("-300.00"), False, "I9"),
        ("P4", "unapplied", D("-50.00"), False, None),
    ]
    assert sum(o.open for o in usd.open_lines) == usd.closing


def test_previous_month_closes_at_this_months_opening(fixture_ledger):
    """September: opening = I3 120; + I1 1000 − P1 400 − DS1 10 = 710 at 09-30,
    which is both October's opening and the aging total as of 09-30."""
    result = compute(fixture_ledger, "C1", date(2026, 9, 1), date(2026, 9, 30))
    (usd,) = result.sections
    assert usd.opening == D("120.00")
    assert [x.ref for x in usd.lines] == ["I1", "P1", "DS1"]
    assert usd.closing == usd.aging_total == D("710.00")
    assert [(o.ref, o.days, o.bucket) for o in usd.open_lines] == [
        ("I3", 30, "1-30"),  # due 08-31: 30 days at 09-30
        ("I1", -5, "Current"),  # due 10-05
    ]


def test_json_report_shape(fixture_ledger):
    data = statement_json(fixture_ledger, "C1", "--as-of", "2026-10-31")
    assert data["report"] == "statement"
    assert (data["customer"], data["from"], data["to"]) == (
        "C1",
        "2026-10-01",
        "2026-10-31",
    )
    activity, open_items = data["sections"]
    assert activity["currency"] == open_items["currency"] == "USD"
    assert activity["opening_balance"] == "710.00"
    assert activity["closing_balance"] == "-230.00"
    assert activity["rows"][0] == {
        "date": "2026-10-01",
        "type": "opening",
        "reference": None,
        "details": "opening balance",
        "due": None,
        "debit": None,
        "credit": None,
        "balance": "710.00",
    }
    assert (
        activity["rows"][4]["details"] == "applied to I1; 300.00 waiting for invoice I9"
    )
    assert activity["rows"][6]["details"] == "applied to I2; unapplied 50.00"
    assert activity["totals"] == {
        "debit": "500.00",
        "credit": "1440.00",
        "balance": "-230.00",
    }
    assert open_items["totals"] == {"open": "-230.00"}
    assert open_items["61-90"] == "120.00" and open_items["unapplied"] == "-350.00"
    assert [r["note"] for r in open_items["rows"]] == [
        "disputed",
        "waiting for I9",
        "unapplied",
    ]


def test_csv_holds_the_activity_lines_under_one_header(fixture_ledger):
    result = run(
        "statement",
        "C1",
        "-l",
        str(fixture_ledger),
        "--as-of",
        "2026-10-31",
        "-f",
        "csv",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "currency,date,type,reference,details,due,debit,credit,balance"
    assert lines[1] == "USD,2026-10-01,opening,,opening balance,,,,710.00"
    assert (
        lines[-1]
        == "USD,2026-10-20,payment,P4,applied to I2; unapplied 50.00,,,500.00,-230.00"
    )
    assert len(lines) == 8


def test_periods(fixture_ledger):
    path = str(fixture_ledger)
    # --from/--to: only the records between; the opening carries the rest.
    data = statement_json(
        path,
        "C1",
        "--as-of",
        "2026-10-31",
        "--from",
        "2026-10-10",
        "--to",
        "2026-10-15",
    )
    rows = data["sections"][0]["rows"]
    assert [r["reference"] for r in rows] == [None, "P3", "WO1"]
    assert rows[0]["balance"] == "960.00"
    assert data["sections"][0]["closing_balance"] == "270.00"
    assert data["as_of"] == "2026-10-15"
    # --period all: from the customer's first record, opening zero.
    data = statement_json(path, "C1", "--as-of", "2026-10-31", "--period", "all")
    assert data["from"] == "2026-08-01"
    assert data["sections"][0]["opening_balance"] == "0.00"
    assert data["sections"][0]["closing_balance"] == "-230.00"
    # A period that runs past as-of stops at as-of: later records do not exist.
    data = statement_json(path, "C1", "--as-of", "2026-10-20", "--period", "2026-Q4")
    assert (data["from"], data["to"]) == ("2026-10-01", "2026-10-20")
    # --from alone runs to as-of.
    data = statement_json(path, "C1", "--as-of", "2026-10-31", "--from", "2026-10-15")
    assert [r["reference"] for r in data["sections"][0]["rows"]] == [None, "WO1", "P4"]


def test_customer_by_name_and_an_empty_statement(fixture_ledger):
    data = statement_json(fixture_ledger, "other co", "--as-of", "2026-09-30")
    assert data["customer"] == "C2"
    (activity, open_items) = data["sections"]
    assert activity["rows"] == [
        {
            "date": "2026-09-01",
            "type": "opening",
            "reference": None,
            "details": "opening balance",
            "due": None,
            "debit": None,
            "credit": None,
            "balance": "0.00",
        }
    ]
    assert open_items["rows"] == [] and open_items["totals"] == {"open": "0.00"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["C11"], "unknown customer 'C11' (did you mean 'C1'?)"),
        (["other"], "unknown customer 'other' (did you mean 'C2'?)"),
        (["Chen and Sons"], "unknown customer 'Chen and Sons' (did you mean 'C1'?)"),
        (["C1", "--period", "2026-13"], "--period: '2026-13' is not a period"),
        (["C1", "--period", "soon"], "--period: 'soon' is not a period"),
        (
            ["C1", "--from", "31/31/2026"],
            "--from/--to: '31/31/2026' is ambiguous or not ISO: write YYYY-MM-DD",
        ),
        (
            ["C1", "--period", "2026-10", "--from", "2026-10-01"],
            "either --period or --from/--to",
        ),
        (
            ["C1", "--period", "2026-12"],
            "would start on 2026-12-01, after its last day 2026-10-31",
        ),
        (
            ["C1", "--from", "2026-10-20", "--to", "2026-10-10"],
            "would start on 2026-10-20",
        ),
        (
            ["C1", "--format", "pdf"],
            "--format: 'pdf' is not one of table, csv, json, md, xlsx, html",
        ),
        (["C1", "--output", "s.pdf"], "cannot tell the format from 's.pdf'"),
        (["C1", "--language", "fr"], "--language: 'fr' is not one of en, zh"),
        (["C1", "--as-of", "someday"], "--as-of:"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(fixture_ledger, args, message):
    result = run(
        "statement",
        *args,
        "-l",
        str(fixture_ledger),
        *([] if "--as-of" in args else ["--as-of", "2026-10-31"]),
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
    assert "Traceback" not in result.output


def test_currency_sections(ledger_dir):
    """A customer invoiced in two currencies gets a statement per currency."""
    path = ledger_dir(
        customers="- {id: C1, name: One, currency: EUR}\n",
        invoices="""\
            - {id: E1, customer: C1, date: 2026-10-01, amount: 100.00}
            - {id: U1, customer: C1, date: 2026-10-02, amount: 70.00, currency: USD}
            """,
        payments="- {id: P1, customer: C1, date: 2026-10-05, amount: 30.00, invoice: U1}\n",
    )
    data = statement_json(path, "C1", "--as-of", "2026-10-31")
    assert [
        (s["currency"], s.get("closing_balance"), s["totals"].get("open"))
        for s in data["sections"]
    ] == [
        ("EUR", "100.00", None),
        ("EUR", None, "100.00"),
        ("USD", "40.00", None),
        ("USD", None, "40.00"),
    ]
    only = statement_json(path, "C1", "--as-of", "2026-10-31", "--currency", "usd")
    assert [s["currency"] for s in only["sections"]] == ["USD", "USD"]


# ---------------------------------------------------------------- html


def html(ledger: Path | str, customer: str, *args: str) -> str:
    result = run(
        "statement",
        customer,
        "-l",
        str(ledger),
        "--as-of",
        "2026-10-31",
        "--format",
        "html",
        *args,
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_html_in_the_customers_language(fixture_ledger):
    page = html(fixture_ledger, "C1")  # language: zh
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for words in (
        "对账单",
        "期初余额",
        "期末余额",
        "发票",
        "收款",
        "贷项通知单",
        "坏账核销",
        "账龄分析",
        "逾期61–90天",
        "争议中",
        "2026年10月31日",
    ):
        assert words in page, words
    assert "Bayside Supplies" in page and "Bank of Test" in page
    # Text from the ledger is escaped, never markup.
    assert "Chen &amp; Sons &lt;Ltd&gt;" in page and "<Ltd>" not in page
    english = html(fixture_ledger, "C1", "--language", "en")
    assert "Statement of account" in english and "对账单" not in english
    assert "Balance brought forward" in english and "61–90 days" in english
    other = html(fixture_ledger, "C2")  # no language: the ledger's (en)
    assert "Statement of account" in other


def test_html_to_a_file_from_the_suffix_never_overwrites(fixture_ledger, tmp_path):
    target = tmp_path / "c1.html"
    args = [
        "statement",
        "C1",
        "-l",
        str(fixture_ledger),
        "--as-of",
        "2026-10-31",
        "-o",
        str(target),
    ]
    assert run(*args).exit_code == 0
    assert "对账单" in target.read_text(encoding="utf-8")
    again = run(*args)
    assert again.exit_code == 2 and "use --force" in again.stderr
    assert run(*args, "--force").exit_code == 0


def test_a_ledger_template_overrides_and_its_errors_name_the_line(fixture_ledger):
    templates = fixture_ledger / "templates"
    templates.mkdir()
    (templates / "statement.html.j2").write_text(
        "<p>{{ customer.name }}: {{ sections[0].closing | money('USD') }}</p>\n",
        encoding="utf-8",
    )
    assert html(fixture_ledger, "C1") == "<p>Chen &amp; Sons &lt;Ltd&gt;: -230.00</p>\n"
    (templates / "statement.html.j2").write_text(
        "ok\n{{ customer.nmae }}\n", encoding="utf-8"
    )
    result = run(
        "statement",
        "C1",
        "-l",
        str(fixture_ledger),
        "--as-of",
        "2026-10-31",
        "-f",
        "html",
    )
    assert result.exit_code == 2
    assert "templates/statement.html.j2:2:" in result.stderr and "nmae" in result.stderr


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
@pytest.mark.parametrize(("customer", "ledger"), [("ACME", DEMO), ("HUADONG", DEMO)])
def test_html_renders_in_a_headless_browser(customer, ledger, tmp_path):
    """The page loads in a real browser and paints a non-trivial screenshot.

    For a look: ARLEDGER_SCREENSHOTS=DIR keeps the PNGs (the en and zh demo pages)."""
    import os

    page = tmp_path / f"{customer}.html"
    result = run(
        "statement",
        customer,
        "-l",
        str(ledger),
        "--as-of",
        "2026-10-31",
        "-o",
        str(page),
    )
    assert result.exit_code == 0, result.output
    keep = os.environ.get("ARLEDGER_SCREENSHOTS")
    png = (Path(keep) if keep else tmp_path) / f"statement_{customer}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    proc = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}",
            "--window-size=1000,1400",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert png.is_file(), proc.stderr[-2000:]
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = (
        int.from_bytes(data[16:20], "big"),
        int.from_bytes(data[20:24], "big"),
    )
    assert (width, height) == (1000, 1400)
    # A blank or error page compresses to a few kB; a statement is far richer.
    assert len(data) > 40_000


# ---------------------------------------------------------------- golden and demo

GOLDEN_CASES = [
    ("ACME", "table", []),
    ("ACME", "json", []),
    ("ACME", "csv", []),
    ("ACME", "md", []),
    ("HUA", "table", ["--period", "all"]),
    ("HUA", "html", []),
]


@pytest.mark.parametrize(("customer", "fmt", "extra"), GOLDEN_CASES)
def test_golden(customer, fmt, extra, update_golden):
    result = run(
        "statement",
        customer,
        "--ledger",
        SMALL,
        "--as-of",
        "2026-10-31",
        "--format",
        fmt,
        *extra,
    )
    assert result.exit_code == 0, result.output
    suffix = {"table": "txt"}.get(fmt, fmt)
    name = "__".join(["statement", "small", customer, *[e.strip("-") for e in extra]])
    path = GOLDEN / f"{name}.{suffix}"
    if update_golden or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")


def test_demo_statements_close_at_the_aging_totals():
    ledger, _ = load(DEMO)
    as_of = date(2026, 10, 31)
    view = ledger.view(as_of)
    totals = {
        (row.customer, section.currency): row.total
        for section in aging.compute(view, settle(view)).sections
        for row in section.customers
    }
    for customer in ledger.customers:
        result = compute(DEMO, customer, date(2026, 10, 1), as_of)
        for section in result.sections:
            assert section.closing == totals.get((customer, section.currency), 0), (
                customer
            )


def test_xlsx_has_a_sheet_per_part(fixture_ledger, tmp_path):
    from openpyxl import load_workbook

    target = tmp_path / "s.xlsx"
    result = run(
        "statement",
        "C1",
        "-l",
        str(fixture_ledger),
        "--as-of",
        "2026-10-31",
        "-o",
        str(target),
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(target)
    assert book.sheetnames == ["Statement USD", "Statement USD (2)"]
    assert book["Statement USD"]["H2"].value == 710


# ---------------------------------------------------------------- property


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates, data=st.data())
def test_statement_closes_at_the_aging_total(gen, as_of, data):
    """A customer's statement closes at its aging total, opens at its aging total
    of the day before, and each line moves the balance by its own amount."""
    ledger = gen.ledger()
    full = ledger.view(as_of)
    totals = {
        (row.customer, section.currency): row.total
        for section in aging.compute(full, settle(full)).sections
        for row in section.customers
    }
    start = data.draw(st.dates(as_of - timedelta(days=400), as_of))
    before = ledger.view(start - timedelta(days=1))
    opening = {
        (row.customer, section.currency): row.total
        for section in aging.compute(before, settle(before)).sections
        for row in section.customers
    }
    for customer in gen.customers:
        view = ledger.view(as_of, customers=[customer.id])
        result = statement.compute(view, settle(view), customer.id, start=start)
        currencies = [s.currency for s in result.sections]
        assert currencies == sorted(set(currencies))
        for section in result.sections:
            key = (customer.id, section.currency)
            assert section.closing == totals.get(key, 0), key
            assert section.aging_total == section.closing, key
            assert section.opening == opening.get(key, 0), key
            assert sum(o.open for o in section.open_lines) == section.closing
            assert sum(section.buckets) + section.unapplied == section.closing
            balance = section.opening
            for line in section.lines:
                assert start <= line.date <= as_of
                balance += line.debit - line.credit
                assert line.balance == balance
                if line.kind != "invoice":
                    # Applied + waiting + unapplied: the whole payment or adjustment.
                    applied = sum(a.amount for a in line.applied)
                    waiting = sum(w.amount for w in line.waiting_for)
                    assert applied + waiting + line.unapplied == line.credit
            assert balance == section.closing
            assert [x.date for x in section.lines] == sorted(
                x.date for x in section.lines
            )
        # Every account of this customer with a balance has a section.
        assert {c for (k, c), v in totals.items() if k == customer.id and v} <= set(
            currencies
        )
