"""Aging movement (账龄变动, SPEC §12): `aging --compare-to D0`, worked out by hand
on a small ledger with unapplied cash, discounts from the engine, every format,
and the identity on generated ledgers."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from typer.testing import CliRunner

from arledger.api import load
from arledger.cli import app
from arledger.reports import movement
from arledger.settle import Application, settle

from .conftest import DEMO, write_ledger
from .test_properties import PROPERTY, as_of_dates, ledgers

D = Decimal
AS_OF = "2026-10-31"
SINCE = "2026-09-30"
FLOWS = ("previous", "invoiced", "received", "credited", "written_off", "total")

CUSTOMERS = """\
- {id: A, name: Alpha, key_account: true}
- {id: B, name: Beta}
- {id: C, name: Gamma}
"""
# Terms 30; buckets at 2026-09-30 -> at 2026-10-31 in the comments.
INVOICES = """\
- {id: A1, customer: A, date: 2026-08-20, amount: 1000.00}  # due 09-19: 1-30 -> 31-60
- {id: A2, customer: A, date: 2026-09-15, amount: 500.00}   # due 10-15: Current -> 1-30
- {id: A3, customer: A, date: 2026-10-10, amount: 300.00}   # new: Current
- {id: B1, customer: B, date: 2026-06-01, amount: 800.00}   # due 07-01: 91-120 -> 120+
- {id: C1, customer: C, date: 2026-09-01, amount: 200.00}
- {id: C2, customer: C, date: 2026-10-12, amount: 120.00}
"""
PAYMENTS = """\
- {id: PA1, customer: A, date: 2026-10-05, amount: 400.00, invoice: A1}
- {id: PC1, customer: C, date: 2026-09-20, amount: 250.00}  # C1, and 50.00 unapplied
- {id: PC2, customer: C, date: 2026-10-28, amount: 100.00}  # 70.00 to C2, 30.00 left
"""
ADJUSTMENTS = """\
- {id: CN0, customer: A, date: 2026-09-10, amount: 10.00, kind: credit_note, invoice: A1}
- {id: CN1, customer: A, date: 2026-10-20, amount: 50.00, kind: credit_note, invoice: A2}
- {id: DS1, customer: A, date: 2026-10-25, amount: 20.00, kind: discount, invoice: A3}
- {id: WO1, customer: B, date: 2026-10-30, amount: 300.00, kind: write_off, invoice: B1}
"""


@pytest.fixture
def books(tmp_path):
    return write_ledger(
        tmp_path / "books",
        customers=CUSTOMERS,
        invoices=INVOICES,
        payments=PAYMENTS,
        adjustments=ADJUSTMENTS,
    )


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def movement_json(root, *extra: str) -> dict:
    result = run("aging", "-l", root, "--as-of", AS_OF, "--compare-to", SINCE,
                 "-f", "json", *extra)  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_movement_by_hand_with_unapplied_cash(books):
    data = movement_json(books)
    assert data["report"] == "aging" and data["compare_to"] == SINCE
    section = data["sections"][0]
    rows = {r["customer"]: r for r in section["rows"]}
    # Who got worse first: C +20.00, A -170.00, B -300.00.
    assert [r["customer"] for r in section["rows"]] == ["C", "A", "B"]
    # A: at D0 A1 990.00 (CN0 before D0) + A2 500.00 = 1490.00; + A3 300.00;
    # - PA1 400.00; - CN1 50.00 - DS1 20.00 (a discount is credited); = 1320.00.
    assert {k: rows["A"][k] for k in FLOWS} == {
        "previous": "1490.00", "invoiced": "300.00", "received": "400.00",
        "credited": "70.00", "written_off": "0.00", "total": "1320.00",
    }  # fmt: skip
    assert rows["A"]["change"] == "-170.00"
    assert (rows["A"]["Current"], rows["A"]["1-30"], rows["A"]["31-60"]) == (
        "280.00", "450.00", "590.00")  # fmt: skip
    # A1 (590.00 now) aged from 1-30 into 31-60, A2 (450.00) from Current into
    # 1-30; A3 is new, so it moved from nowhere.
    assert rows["A"]["moved_in:1-30"] == "450.00"
    assert rows["A"]["moved_in:31-60"] == "590.00"
    assert rows["A"]["key_account"] is True
    # B: 800.00 - 300.00 written off = 500.00, aged from 91-120 into 120+.
    assert {k: rows["B"][k] for k in FLOWS} == {
        "previous": "800.00", "invoiced": "0.00", "received": "0.00",
        "credited": "0.00", "written_off": "300.00", "total": "500.00",
    }  # fmt: skip
    assert rows["B"]["moved_in:120+"] == "500.00"
    # C: at D0 C1 paid and 50.00 unapplied: -50.00. C2 120.00 is invoiced and
    # takes the 50.00 on its date; PC2 100.00 is received (70.00 to C2, 30.00
    # left unapplied): -50.00 + 120.00 - 100.00 = -30.00.
    assert {k: rows["C"][k] for k in FLOWS} == {
        "previous": "-50.00", "invoiced": "120.00", "received": "100.00",
        "credited": "0.00", "written_off": "0.00", "total": "-30.00",
    }  # fmt: skip
    assert rows["C"]["unapplied"] == "-30.00"
    assert {k: section["totals"][k] for k in FLOWS} == {
        "previous": "2240.00", "invoiced": "420.00", "received": "500.00",
        "credited": "70.00", "written_off": "300.00", "total": "1790.00",
    }  # fmt: skip
    assert section["totals"]["moved_in:120+"] == "500.00"


def test_totals_at_both_ends_are_the_agings(books):
    data = movement_json(books)
    for day, key in ((AS_OF, "total"), (SINCE, "previous")):
        aged = run("aging", "-l", books, "--as-of", day, "-f", "json")
        totals = {r["customer"]: r["total"] for r in json.loads(aged.output)
                  ["sections"][0]["rows"]}  # fmt: skip
        moved = {r["customer"]: r[key] for r in data["sections"][0]["rows"]}
        assert {c: v for c, v in moved.items() if D(v)} == totals, day


def test_discounts_from_the_engine_count_as_credited(books):
    """The discount engine (SPEC §9) closes the rest of an invoice with an
    application of kind `discount` and no adjustment record: credited, never
    received, and the identity still holds."""
    ledger = load(books)
    view = ledger.view(date(2026, 10, 31))
    earlier = view.on(date(2026, 9, 30))
    settled = settle(view)
    # As the engine would: 6.00 of A2 closed as a discount on 2026-10-14.
    items = tuple(
        i._replace(open=i.open - D("6.00")) if i.invoice == "A2" else i
        for i in settled.items
    )
    due, issued = next((i.due, i.date) for i in settled.items if i.invoice == "A2")
    given = Application("A2", None, "A", "USD", "discount", "discount A2",
                        date(2026, 10, 14), D("6.00"), due, issued)  # fmt: skip
    settled = replace(settled, items=items, applications=(*settled.applications, given))
    result = movement.compute(view, settled, earlier, settle(earlier, history=False))
    row = next(r for r in result.sections[0].customers if r.customer == "A")
    assert (row.credited, row.received, row.total) == (
        D("76.00"), D("400.00"), D("1314.00"))  # fmt: skip
    assert (
        row.previous + row.invoiced - row.received - row.credited - (row.written_off)
        == row.total
    )


def test_the_identity_holds_for_every_owner_of_the_demo():
    """With --owner, cash applied across a customer's owners: the flows are
    what concerns that owner's items, and each row still adds up."""
    demo = load(DEMO)
    owners = sorted({c.owner for c in demo.customers.values() if c.owner})
    for owner in [None, *owners]:
        extra = ("--owner", owner) if owner else ()
        data = movement_json(DEMO, *extra)
        for section in data["sections"]:
            for row in [*section["rows"], section["totals"]]:
                flows = (
                    D(row["previous"])
                    + D(row["invoiced"])
                    - D(row["received"])
                    - D(row["credited"])
                    - D(row["written_off"])
                )
                assert flows == D(row["total"]), (owner, row)


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "md", "xlsx"])
def test_every_format(books, tmp_path, fmt):
    target = tmp_path / f"movement.{'txt' if fmt == 'table' else fmt}"
    result = run("aging", "-l", books, "--as-of", AS_OF, "--compare-to", SINCE,
                 "-f", fmt, "-o", target)  # fmt: skip
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        from openpyxl import load_workbook

        ws = load_workbook(target).active
        header = [c.value for c in ws[1]]
        assert header[2:9] == ["At 2026-09-30", "+ Invoiced", "− Received",
                               "− Credited", "− Written off",
                               "= Net AR 2026-10-31", "Change"]  # fmt: skip
        assert [c.value for c in ws[2]][:2] == ["C", "Gamma"]
        return
    text = target.read_text(encoding="utf-8")
    if fmt == "csv":
        found = list(csv.DictReader(io.StringIO(text)))
        assert [r["customer"] for r in found] == ["C", "A", "B"]
        assert found[1]["moved_in:31-60"] == "590.00"
    elif fmt == "json":
        assert json.loads(text)["sections"][0]["totals"]["total"] == "1790.00"
    else:
        assert "Aging movement 2026-09-30 to 2026-10-31" in text
        assert "2,240.00" in text and "1,790.00" in text and "Into 31-60" in text


def test_bad_options_are_usage_errors(books):
    for args, message in (
        (("--compare-to", SINCE, "--detail"), "leave out --detail"),
        (("--compare-to", AS_OF), "is not before --as-of"),
        (("--compare-to", "someday"), "--compare-to:"),
    ):
        result = run("aging", "-l", books, "--as-of", AS_OF, *args)
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output


def test_exit_codes_in_a_real_process(books):
    def arledger(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "arledger", "aging", "-l", str(books),
             "--as-of", AS_OF, *args],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    ok = arledger("--compare-to", SINCE, "-f", "json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["compare_to"] == SINCE
    # The movement with --fail-on: overdue items are still found.
    attention = arledger("--compare-to", SINCE, "--fail-on", "overdue")
    assert attention.returncode == 1
    bad = arledger("--compare-to", "2026-12-01")
    assert bad.returncode == 2 and bad.stdout == ""


# ---------------------------------------------------------------- property


@PROPERTY
@given(gen=ledgers(), first=as_of_dates, second=as_of_dates)
def test_the_movement_identity_holds_to_the_cent(gen, first, second):
    """previous + invoiced - received - credited - written off = total, per
    customer and currency and in the totals; and without filters each flow is
    the sum of the records dated in the period (and of the discounts given)."""
    if first == second:
        return
    since, as_of = sorted((first, second))
    ledger = gen.ledger()
    view = ledger.view(as_of)
    earlier = view.on(since)
    settled = settle(view)
    result = movement.compute(view, settled, earlier, settle(earlier))
    expected: dict[tuple[str, str], dict[str, Decimal]] = {}

    def add(record, flow: str) -> None:
        if since < record.date <= as_of:
            key = (ledger.currency_of(record), record.customer)
            found = expected.setdefault(key, {})
            found[flow] = found.get(flow, D(0)) + record.amount

    for invoice in ledger.invoices.values():
        add(invoice, "invoiced")
    for payment in ledger.payments:
        add(payment, "received")
    for adjustment in ledger.adjustments:
        add(adjustment, movement.FLOW_OF_KIND[adjustment.kind])
    # Early-payment discounts the engine gave (SPEC §9): credited, with no
    # record behind them.
    for discount in settled.discounts:
        if since < discount.date <= as_of:
            found = expected.setdefault((discount.currency, discount.customer), {})
            found["credited"] = found.get("credited", D(0)) + discount.amount
    for section in result.sections:
        for row in [*section.customers, section]:
            assert (
                row.previous + row.invoiced - row.received - row.credited
                - row.written_off
            ) == row.total  # fmt: skip
        for row in section.customers:
            records = expected.pop((section.currency, row.customer), {})
            for flow in movement.FLOWS:
                assert getattr(row, flow) == records.get(flow, D(0)), flow
    assert not [k for k, v in expected.items() if any(v.values())]


@PROPERTY
@given(gen=ledgers(), first=as_of_dates, second=as_of_dates)
def test_the_earlier_date_read_back_gives_what_settling_it_gives(gen, first, second):
    """The workbook reads its compare date back from the one settlement
    (`settle.rewind_each`, credits by kind): its movement and allowance are
    those of the compare date settled on its own."""
    from arledger.reports import allowance
    from arledger.settle import rewind

    if first == second:
        return
    since, as_of = sorted((first, second))
    view = gen.ledger().view(as_of)
    earlier = view.on(since)
    settled = settle(view)
    read_back = rewind(settled, view, since)
    direct = settle(earlier, history=False)
    assert movement.compute(view, settled, earlier, read_back) == movement.compute(
        view, settled, earlier, direct
    )
    assert allowance.compute(view, settled, (earlier, read_back)) == (
        allowance.compute(view, settled, (earlier, direct))
    )


# ---------------------------------------------------------------- the workbook


def sheet(root, target, *extra: str, name: str = "Movement"):
    result = run("export", target, "-l", root, "--as-of", AS_OF, *extra)
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    return load_workbook(target)[name]


def test_the_workbook_has_a_movement_sheet_since_the_last_month_end(books, tmp_path):
    ws = sheet(books, tmp_path / "en.xlsx")
    assert ws["A1"].value == "Aging movement 2026-09-30 to 2026-10-31"
    header = next(r for r in range(1, ws.max_row) if ws.cell(r, 1).value == "Customer")
    assert [c.value for c in ws[header]] == [
        "Customer", "Name", "At 2026-09-30", "+ Invoiced", "− Received",
        "− Credited", "− Written off", "= At 2026-10-31", "Change", "Into 1-30",
        "Into 31-60", "Into 61-90", "Into 91-120", "Into 120+",
    ]  # fmt: skip
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=header + 1)]
    assert rows[:3] == [
        ["C", "Gamma", -50, 120, 100, 0, 0, -30, 20, 0, 0, 0, 0, 0],
        ["A", "Alpha", 1490, 300, 400, 70, 0, 1320, -170, 450, 590, 0, 0, 0],
        ["B", "Beta", 800, 0, 0, 0, 300, 500, -300, 0, 0, 0, 0, 500],
    ]
    assert rows[3][0] == "Total" and rows[3][2] == f"=SUM(C{header + 1}:C{header + 3})"


def test_export_compare_to_another_date(books, tmp_path):
    ws = sheet(books, tmp_path / "aug.xlsx", "--compare-to", "2026-08-31")
    assert ws["A1"].value == "Aging movement 2026-08-31 to 2026-10-31"
    zh = sheet(books, tmp_path / "zh.xlsx", "--language", "zh", name="账龄变动")
    assert zh["A1"].value == "账龄变动（2026-09-30 至 2026-10-31）"
    bad = run("export", tmp_path / "x.xlsx", "-l", books, "--as-of", AS_OF,
              "--compare-to", "2026-11-01")  # fmt: skip
    assert bad.exit_code == 2 and "is not before --as-of" in bad.stderr
    assert not (tmp_path / "x.xlsx").exists()
