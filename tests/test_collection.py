"""`arledger collection`: the roll-forward and its ratios (SPEC §2, §3).

Every expected figure was computed by hand from the SPEC; the docstrings show
the arithmetic. Calendar (2026): Jul 31, Aug 31, Sep 30, Oct 31 days.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from arledger.cli import app
from arledger.dates import Period, months, parse_period
from arledger.reports import collection
from arledger.settle import settle
from tests.test_properties import PROPERTY, as_of_dates, ledgers

from .conftest import DEMO, LEDGERS, write_ledger

ZERO = Decimal(0)
GOLDEN = Path(__file__).parent / "golden"
SMALL = str(LEDGERS / "small")

SECTION_KEYS = {
    "opening",
    "invoiced",
    "collected",
    "credited",
    "written_off",
    "closing",
    "closing_current",
    "received",
    "collection_rate",
    "sales_collection_rate",
    "dso",
    "cei",
    "avg_days_to_pay",
    "avg_days_late",
}
DUE_KEYS = {"due_in_period", "due_collection_rate"}  # SPEC §7

# One month (October 2026) with an opening balance, two invoices, three
# payments (one before the month), a credit note, a discount and a write-off.
MONTH = dict(
    customers="""\
    - {id: C1, name: One Ltd, terms: 30, owner: ann}
    - {id: C2, name: Two Ltd, terms: 30, owner: bob}
    """,
    invoices="""\
    - {id: A1, customer: C1, date: 2026-08-15, amount: 1000.00}
    - {id: A2, customer: C1, date: 2026-09-20, amount: 600.00}
    - {id: A3, customer: C1, date: 2026-10-10, amount: 400.00}
    - {id: B1, customer: C2, date: 2026-07-01, amount: 500.00}
    - {id: B2, customer: C2, date: 2026-10-05, amount: 300.00, owner: cat}
    """,
    payments="""\
    - {id: P0, customer: C1, date: 2026-09-10, amount: 200.00, invoice: A1}
    - {id: P1, customer: C1, date: 2026-10-14, amount: 800.00, invoice: A1}
    - {id: P2, customer: C1, date: 2026-10-25, amount: 500.00}
    - {id: P3, customer: C2, date: 2026-10-30, amount: 350.00, invoice: B2}
    - {id: P4, customer: C1, date: 2026-11-02, amount: 90.00, invoice: A2}
    """,
    adjustments="""\
    - {id: CN1, customer: C1, date: 2026-10-12, amount: 40.00, kind: credit_note, invoice: A3}
    - {id: W1, customer: C2, date: 2026-10-15, amount: 500.00, kind: write_off, invoice: B1}
    - {id: DS1, customer: C1, date: 2026-10-26, amount: 10.00, kind: discount, invoice: A2}
    """,
)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def report(ledger: Path, *args: str, as_of: str = "2026-10-31") -> dict:
    result = run("collection", "-l", str(ledger), "--as-of", as_of, "-f", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def only_section(data: dict, currency: str = "USD") -> dict:
    found = [s for s in data["sections"] if s["currency"] == currency]
    assert len(found) == 1, data["sections"]
    return found[0]


def figures(row: dict) -> dict:
    return {k: row[k] for k in SECTION_KEYS}


def expect(**given: object) -> dict:
    """Expected figures: amounts as text, ratios as 4-place text, days as numbers."""
    return {k: given[k] for k in SECTION_KEYS}


# The month as a whole, computed by hand:
#   opening (items issued before Oct 1, less what was applied before):
#     A1 1000.00 − P0 200.00 = 800.00; A2 600.00; B1 500.00     => 1900.00
#   invoiced in Oct: A3 400.00 + B2 300.00                       =>  700.00
#   collected (payments applied in Oct): P1 800.00 to A1; P2 500.00 oldest due
#     first to A2 (due 10-20); P3 300.00 to B2 (its 50.00 excess is unapplied:
#     B1 was written off)                                         => 1600.00
#   credited: CN1 40.00 + DS1 10.00 (a discount is credited)      =>   50.00
#   written off: W1 500.00 (never collected)                     =>  500.00
#   closing: 1900 + 700 − 1600 − 50 − 500                         =>  450.00
#     = A2 600 − 500 − 10 = 90.00 (due 10-20, 11 days late) + A3 400 − 40 = 360.00
#   closing current (due on or after Oct 31): A3                  =>  360.00
#   received (payments dated in Oct): 800 + 500 + 350 (P4 is November) => 1650.00
#   collection rate 1600 / (1900 + 700) = 0.615384…               => "0.6154"
#   sales collection rate 1650 / 700 = 2.357142…                  => "2.3571"
#   DSO 450 / 700 × 31 = 19.928…                                  => 19.9
#   CEI (2600 − 450) / (2600 − 360) = 2150 / 2240 = 0.959821…     => "0.9598"
#   days to pay: P1 800 × (10-14 − 08-15 = 60) + P2 500 × (10-25 − 09-20 = 35)
#     + P3 300 × (10-30 − 10-05 = 25) = 48000 + 17500 + 7500 = 73000; / 1600
#     = 45.625                                                    => 45.6
#   days late: 800 × (10-14 − 09-14 = 30) + 500 × (10-25 − 10-20 = 5)
#     + 300 × (10-30 − 11-04 = −5) = 24000 + 2500 − 1500 = 25000; / 1600
#     = 15.625                                                    => 15.6
OCTOBER = expect(
    opening="1900.00",
    invoiced="700.00",
    collected="1600.00",
    credited="50.00",
    written_off="500.00",
    closing="450.00",
    closing_current="360.00",
    received="1650.00",
    collection_rate="0.6154",
    sales_collection_rate="2.3571",
    dso=19.9,
    cei="0.9598",
    avg_days_to_pay=45.6,
    avg_days_late=15.6,
)


def test_month_roll_forward_and_every_metric(ledger_dir):
    """The default period is the month ending at --as-of; figures as above."""
    data = report(ledger_dir(**MONTH))
    assert (data["period"], data["from"], data["to"], data["days"]) == (
        "2026-10",
        "2026-10-01",
        "2026-10-31",
        31,
    )
    section = only_section(data)
    assert set(section) == {"currency", "rows", "discounts"} | SECTION_KEYS | DUE_KEYS
    assert figures(section) == OCTOBER
    assert section["discounts"] == "10.00"  # DS1, of credited 50.00 (SPEC §9)
    # SPEC §7, due in October (应回款): what was open on Oct 1 of the items due
    # by Oct 31: A1 800.00 (due 09-14) + A2 600.00 (due 10-20) + B1 500.00
    # (due 07-31) = 1900.00 (A3 and B2 fall due in November); collected / due
    # = 1600 / 1900 = 0.842105…
    assert (section["due_in_period"], section["due_collection_rate"]) == (
        "1900.00",
        "0.8421",
    )
    [row] = section["rows"]
    assert row["period"] == "2026-10"
    assert figures(row) == OCTOBER
    assert row["oldest_days"] == 11  # A2, due 10-20, open 90.00 at 10-31


def test_identity_is_visible_in_the_table(ledger_dir):
    result = run("collection", "-l", str(ledger_dir(**MONTH)), "--as-of", "2026-10-31")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Collection 2026-10 (2026-10-01 to 2026-10-31, 31 days) — USD"
    header = lines[1].split()
    assert header[:12] == [
        "Period",
        "Opening",
        "+",
        "Invoiced",
        "−",
        "Collected",
        "−",
        "Credited",
        "−",
        "Written",
        "off",
        "=",
    ]
    assert "Opening AR (open items): 1,900.00" in lines
    assert "= Closing AR (open items): 450.00" in lines
    assert "Collection rate (回款率): 61.5%" in lines


def test_by_customer(ledger_dir):
    """C1: opening A1 800 + A2 600 = 1400; invoiced A3 400; collected 800 + 500
    = 1300; credited 50; closing 90 + 360 = 450, of which current 360; received
    1300. Rate 1300/1800 = 0.7222; sales 1300/400 = 3.25; DSO 450/400 × 31 =
    34.875 -> 34.9; CEI (1800 − 450)/(1800 − 360) = 1350/1440 = 0.9375; days to
    pay (48000 + 17500)/1300 = 50.38 -> 50.4; late (24000 + 2500)/1300 = 20.38
    -> 20.4.

    C2: opening B1 500; invoiced B2 300; collected 300; written off 500;
    closing 0; received P3 350 (50 of it unapplied). Rate 300/800 = 0.375;
    sales 350/300 = 1.1667; DSO 0/300 × 31 = 0; CEI 800/800 = 1; to pay 25;
    late −5 (early). Totals add up to the month."""
    section = only_section(report(ledger_dir(**MONTH), "--by", "customer"))
    rows = {r["customer"]: r for r in section["rows"]}
    assert list(rows) == ["C1", "C2"]  # largest closing first
    assert rows["C1"]["name"] == "One Ltd"
    assert figures(rows["C1"]) == expect(
        opening="1400.00", invoiced="400.00", collected="1300.00",
        credited="50.00", written_off="0.00", closing="450.00",
        closing_current="360.00", received="1300.00", collection_rate="0.7222",
        sales_collection_rate="3.2500", dso=34.9, cei="0.9375",
        avg_days_to_pay=50.4, avg_days_late=20.4,
    )  # fmt: skip
    assert figures(rows["C2"]) == expect(
        opening="500.00", invoiced="300.00", collected="300.00",
        credited="0.00", written_off="500.00", closing="0.00",
        closing_current="0.00", received="350.00", collection_rate="0.3750",
        sales_collection_rate="1.1667", dso=0.0, cei="1.0000",
        avg_days_to_pay=25.0, avg_days_late=-5.0,
    )  # fmt: skip
    assert figures(section["totals"]) == OCTOBER
    assert figures(section) == OCTOBER


def test_by_owner_attributes_cash_to_the_items_it_paid(ledger_dir):
    """ann owns A1-A3 (C1's owner); bob owns B1 (C2's owner); cat owns B2 (the
    invoice's owner overrides). Received: ann 800 + 500 = 1300; cat 300 (P3 to
    B2); bob 50 (P3's unapplied excess is C2's, whose owner is bob); 1300 + 300
    + 50 = 1650. bob: opening 500, written off 500, nothing invoiced, so rate
    0/500 = 0, sales rate and DSO null, CEI (500 − 0)/(500 − 0) = 1."""
    section = only_section(report(ledger_dir(**MONTH), "--by", "owner"))
    rows = {r["owner"]: r for r in section["rows"]}
    assert list(rows) == ["ann", "bob", "cat"]
    assert {k: r["received"] for k, r in rows.items()} == {
        "ann": "1300.00",
        "bob": "50.00",
        "cat": "300.00",
    }
    bob = rows["bob"]
    assert (bob["opening"], bob["written_off"], bob["closing"]) == (
        "500.00",
        "500.00",
        "0.00",
    )
    assert bob["collection_rate"] == "0.0000"
    assert bob["sales_collection_rate"] is None and bob["dso"] is None
    assert bob["avg_days_to_pay"] is None and bob["avg_days_late"] is None
    assert bob["cei"] == "1.0000"
    assert (rows["cat"]["invoiced"], rows["cat"]["collected"]) == ("300.00", "300.00")
    assert figures(section["totals"]) == OCTOBER


def test_by_month_is_a_trend_that_chains(ledger_dir):
    """September: opening at 09-01 = A1 1000 + B1 500 = 1500; invoiced A2 600;
    collected P0 200 (09-10: 4 days early, 26 days after issue); closing at
    09-30 = 800 + 600 + 500 = 1900 (October's opening), of which current A2 600;
    oldest B1, due 07-31: 61 days. Rate 200/2100 = 0.0952; sales 200/600 =
    0.3333; DSO 1900/600 × 30 = 95.0; CEI (2100 − 1900)/(2100 − 600) = 0.1333.
    The period (61 days): opening 1500, invoiced
    1300, collected 1800, credited 50, written off 500, closing 450."""
    data = report(
        ledger_dir(**MONTH),
        "--from",
        "2026-09-01",
        "--to",
        "2026-10-31",
        "--by",
        "month",
    )
    assert data["days"] == 61
    section = only_section(data)
    september, october = section["rows"]
    assert september["month"] == "2026-09" and october["month"] == "2026-10"
    assert figures(september) == expect(
        opening="1500.00", invoiced="600.00", collected="200.00",
        credited="0.00", written_off="0.00", closing="1900.00",
        closing_current="600.00", received="200.00", collection_rate="0.0952",
        sales_collection_rate="0.3333", dso=95.0, cei="0.1333",
        avg_days_to_pay=26.0, avg_days_late=-4.0,
    )  # fmt: skip
    assert september["oldest_days"] == 61
    assert figures(october) == OCTOBER
    totals = section["totals"]
    assert (totals["opening"], totals["invoiced"], totals["collected"]) == (
        "1500.00",
        "1300.00",
        "1800.00",
    )
    assert (totals["closing"], totals["received"]) == ("450.00", "1850.00")
    assert figures(section) == figures(totals)


def test_target_marks_rows_below_it(ledger_dir):
    """C1 collected 72.2%, C2 37.5%: with a 70% target only C2 is below."""
    section = only_section(
        report(ledger_dir(**MONTH), "--by", "customer", "--target", "70%")
    )
    assert {r["customer"]: r["below_target"] for r in section["rows"]} == {
        "C1": False,
        "C2": True,
    }
    table = run(
        "collection",
        "-l",
        str(ledger_dir(**MONTH)),
        "--as-of",
        "2026-10-31",
        "--by",
        "customer",
        "--target",
        "0.7",
    ).stdout
    [c2] = [line for line in table.splitlines() if line.startswith("C2")]
    assert c2.endswith("▼ below")


def test_zero_denominators_are_null_never_an_error(ledger_dir):
    """One invoice issued in September, due in November, nothing else: opening
    100, nothing invoiced or collected in October, closing 100 all current.
    Rate 0/100 = 0; sales rate, DSO (÷ invoiced 0), days to pay and days late
    (÷ collected 0) and CEI (÷ 100 − 100 = 0) are null; the table shows —."""
    ledger = ledger_dir(
        customers="- {id: C1, name: One}\n",
        invoices="- {id: I1, customer: C1, date: 2026-09-20, amount: 100.00, due: 2026-11-15}\n",
    )
    section = only_section(report(ledger))
    assert section["collection_rate"] == "0.0000"
    for key in (
        "sales_collection_rate",
        "dso",
        "cei",
        "avg_days_to_pay",
        "avg_days_late",
    ):
        assert section[key] is None, key
    table = run("collection", "-l", str(ledger), "--as-of", "2026-10-31").stdout
    assert "CEI: —" in table and "DSO (days): —" in table


def test_payment_waiting_for_an_invoice_is_collected_when_applied(ledger_dir):
    """P1 (09-25) names I2, issued 10-03: it is received in September but
    collected in October, on I2's date (SPEC §2)."""
    ledger = ledger_dir(
        customers="- {id: C1, name: One}\n",
        invoices="- {id: I2, customer: C1, date: 2026-10-03, amount: 250.00}\n",
        payments="- {id: P1, customer: C1, date: 2026-09-25, amount: 250.00, invoice: I2}\n",
    )
    sep = only_section(report(ledger, "--period", "2026-09"))
    assert (sep["received"], sep["collected"], sep["closing"]) == (
        "250.00",
        "0.00",
        "0.00",
    )
    oct_ = only_section(report(ledger, "--period", "2026-10"))
    assert (oct_["invoiced"], oct_["collected"], oct_["received"]) == (
        "250.00",
        "250.00",
        "0.00",
    )
    assert oct_["avg_days_to_pay"] == 0.0  # applied on the issue date


def test_period_is_cut_at_as_of_and_defaults_to_its_month(ledger_dir):
    """As of 10-15 the default period is 10-01..10-15 (15 days); a quarter
    reported as of 10-31 stops at 10-31 (31 days)."""
    ledger = ledger_dir(**MONTH)
    data = report(ledger, as_of="2026-10-15")
    assert (data["from"], data["to"], data["days"]) == ("2026-10-01", "2026-10-15", 15)
    data = report(ledger, "--period", "2026-Q4")
    assert (data["period"], data["from"], data["to"], data["days"]) == (
        "2026-Q4",
        "2026-10-01",
        "2026-10-31",
        31,
    )


def test_past_period_without_as_of_is_reported_as_of_its_end(ledger_dir, monkeypatch):
    monkeypatch.setattr("arledger.commands.common.today", lambda: date(2026, 11, 23))
    ledger = ledger_dir(**MONTH)
    result = run("collection", "-l", str(ledger), "--period", "2026-09", "-f", "json")
    data = json.loads(result.stdout)
    assert data["as_of"] == "2026-09-30"
    assert only_section(data)["closing"] == "1900.00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-13"], "--period: '2026-13' is not a period"),
        (["--period", "soon"], "--period"),
        (["--by", "nope"], "--by: 'nope' is not one of customer, owner, month"),
        (["--from", "2026-10-10", "--to", "2026-10-01"], "is after --to"),
        (["--from", "31/31/2026"], "--from"),
        (["--period", "2026-10", "--from", "2026-10-01"], "not both"),
        (["--period", "2026-12"], "after the as-of date"),
        (["--target", "1.5"], "--target"),
        (["--target", "abc"], "--target"),
        (["--format", "pdf"], "--format"),
    ],
)
def test_bad_options_exit_2_with_one_line(args, message):
    result = run("collection", "-l", SMALL, "--as-of", "2026-10-31", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_fail_on_is_supported():
    base = ["collection", "-l", SMALL, "--as-of", "2026-10-31", "-f", "json"]
    assert run(*base).exit_code == 0
    assert run(*base, "--fail-on", "overdue").exit_code == 1


def test_demo_reconciles_with_the_aging():
    """Closing AR = the aging total + unapplied cash (aging nets it); closing
    current = the aging's Current bucket."""
    aging = json.loads(
        run("aging", "-l", str(DEMO), "--as-of", "2026-10-31", "-f", "json").stdout
    )
    data = report(DEMO)
    for section in data["sections"]:
        [ours] = [s for s in aging["sections"] if s["currency"] == section["currency"]]
        totals = ours["totals"]
        assert Decimal(section["closing"]) == Decimal(totals["total"]) - Decimal(
            totals["unapplied"]
        )
        assert section["closing_current"] == totals["Current"]


# ---------------------------------------------------------------- formats, golden

GOLDEN_CASES = [
    ("table", []),
    ("json", []),
    ("csv", []),
    ("md", []),
    ("table", ["--by", "customer", "--target", "0.9"]),
    ("json", ["--by", "owner"]),
    ("csv", ["--by", "month", "--period", "2026"]),
]


@pytest.mark.parametrize(("fmt", "extra"), GOLDEN_CASES)
def test_golden(fmt, extra, update_golden):
    result = run(
        "collection",
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
    name = "__".join(["collection", "small", *[e.strip("-") for e in extra]])
    path = GOLDEN / f"{name.replace(',', '_').replace('.', '_')}.{suffix}"
    if update_golden or not path.exists():
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")


def test_xlsx(tmp_path):
    target = tmp_path / "collection.xlsx"
    result = run("collection", "-l", SMALL, "--as-of", "2026-10-31", "-o", str(target))
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    book = load_workbook(target)
    assert book.sheetnames == ["Collection EUR", "Collection USD"]


def test_help_and_csv_has_a_currency_column():
    assert "Usage" in run("collection", "--help").stdout
    csv_text = run(
        "collection", "-l", SMALL, "--as-of", "2026-10-31", "-f", "csv"
    ).stdout
    assert csv_text.splitlines()[0].startswith("currency,period,opening,invoiced,")


# ---------------------------------------------------------------- properties


@st.composite
def periods(draw) -> tuple[date, Period]:
    """An as-of date and a period ending on or before it."""
    as_of = draw(as_of_dates)
    end = as_of - timedelta(days=draw(st.integers(0, 90)))
    start = end - timedelta(days=draw(st.integers(0, 200)))
    return as_of, Period(start, end, "P")


def _open_by_currency(settlement, issued_before: date | None = None):
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for item in settlement.items:
        if issued_before is None or item.date < issued_before:
            totals[item.currency] += item.open
    return totals


def _identity(f: collection.RollForward) -> None:
    assert (
        f.opening + f.invoiced - f.collected - f.credited - f.written_off == f.closing
    ), f
    assert f.collected <= f.opening + f.invoiced, f
    assert ZERO <= f.closing_current <= f.closing, f
    for value in (f.opening, f.invoiced, f.collected, f.credited, f.written_off):
        assert value >= ZERO, f


@PROPERTY
@given(gen=ledgers(), span=periods(), by=st.sampled_from([None, *collection.BY]))
def test_roll_forward_identity_holds_to_the_cent(gen, span, by):
    """opening + invoiced − collected − credited − written off = closing, per
    currency and per row; collected <= opening + invoiced; and the ends agree
    with independent settlements as of the day before the start and the end."""
    as_of, period = span
    ledger = gen.ledger()
    view = ledger.view(as_of)
    result = collection.compute(view, settle(view), period, by=by)
    closing = _open_by_currency(settle(ledger.view(period.end)))
    opening = _open_by_currency(
        settle(ledger.view(period.start - timedelta(days=1))), period.start
    )
    received: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in view.payments:
        if payment.date in period:
            received[ledger.currency_of(payment)] += payment.amount
    seen = set()
    for section in result.sections:
        total = section.total
        seen.add(section.currency)
        _identity(total)
        assert total.closing == closing[section.currency]
        assert total.opening == opening[section.currency]
        assert total.received == received[section.currency]
        for row in section.rows:
            _identity(row.figures)
        if by in ("customer", "owner"):
            for name in (
                "opening",
                "invoiced",
                "collected",
                "credited",
                "written_off",
                "closing",
                "closing_current",
                "received",
            ):
                assert getattr(total, name) == sum(
                    (getattr(r.figures, name) for r in section.rows), ZERO
                ), name
        if by == "month":
            rows = [r.figures for r in section.rows]
            assert [r.key for r in section.rows] == [m.label for m in months(period)]
            assert rows[0].opening == total.opening
            assert rows[-1].closing == total.closing
            for before, after in zip(rows, rows[1:], strict=False):
                assert before.closing == after.opening
            assert sum((r.collected for r in rows), ZERO) == total.collected
    # A currency with AR or cash in the period has a section.
    for currency in set(closing) | set(opening) | set(received):
        if closing[currency] or opening[currency] or received[currency]:
            assert currency in seen, currency


def test_parse_period_shapes():
    assert parse_period("2026-Q3") == Period(
        date(2026, 7, 1), date(2026, 9, 30), "2026-Q3"
    )
    assert parse_period("2026").days == 365


def test_command_and_report_agree_on_breakdowns():
    from arledger.commands.performance import BY

    assert BY == collection.BY


@PROPERTY
@given(gen=ledgers(), span=periods())
def test_each_month_of_a_trend_is_that_month_reported_alone(gen, span):
    """A month of `--by month` has the figures of that month reported alone:
    the trend walks the items once for all its months (only those open at its
    start or applied to since), the month alone walks its own. Each closes
    with what a settlement as of its end has open, not yet due, and overdue."""
    as_of, period = span
    ledger = gen.ledger()
    view = ledger.view(as_of)
    settled = settle(view)
    trend = collection.compute(view, settled, period, by="month")
    for section in trend.sections:
        currency = section.currency
        for month, row in zip(months(period), section.rows, strict=True):
            alone = {
                s.currency: s.total
                for s in collection.compute(view, settled, month).sections
            }
            assert row.figures == alone.get(
                currency, collection.combine([], month.days)
            ), month
            direct = [
                i
                for i in settle(ledger.view(month.end), history=False).items
                if i.currency == currency and i.open
            ]
            assert row.figures.closing == sum((i.open for i in direct), ZERO)
            assert row.figures.closing_current == sum(
                (i.open for i in direct if i.due >= month.end), ZERO
            )
            late = [(month.end - i.due).days for i in direct if i.due < month.end]
            assert row.figures.oldest_days == (max(late) if late else None)


def test_cash_received_in_a_period_for_an_invoice_issued_after_it(tmp_path):
    """A payment received in the period and applied to an invoice issued after
    it is received in the period, and collected only when applied."""
    from arledger import api

    directory = write_ledger(
        tmp_path,
        settings="""
company:
  name: Test Co
currency: USD
""",
        customers="""
- id: ACME
  name: Acme
""",
        invoices="""
- id: A-1
  customer: ACME
  date: 2026-01-10
  amount: 100.00
- id: A-2
  customer: ACME
  date: 2026-03-05
  amount: 300.00
""",
        payments="""
- id: P-1
  customer: ACME
  date: 2026-02-10
  amount: 250.00
""",
    )
    view = api.load(directory).view(date(2026, 3, 31))
    settled = settle(view)
    result = collection.compute(view, settled, parse_period("2026-02"))
    (section,) = result.sections
    assert section.total.received == Decimal("250.00")
    assert section.total.collected == Decimal("100.00")
    assert section.total.closing == ZERO
    (march,) = collection.compute(view, settled, parse_period("2026-03")).sections
    assert (march.total.received, march.total.collected) == (ZERO, Decimal("150.00"))
