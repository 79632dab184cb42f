"""`arrow_checks.why_not_clean` calls clean only what loads without a word.

The deferred load (docs/columnar.md, stage 3) keeps the cells of bulk CSV
files and makes no row when `why_not_clean` says None: so None must mean that
the row path (`loader.load`) gives no error and no warning about those
files. Held here three ways: clean ledgers (hand-made, the benchmark's) give
None; each kind of problem the row path finds, alone, gives a reason (so
each check is needed); and random corruptions of clean ledgers never give
None where the loader speaks.
"""

from __future__ import annotations

import csv
import io
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arledger import _shapes
from arledger.loader import (
    _arrow_cells,
    _csv_header,
    _header_width,
    _plain_quotes,
    _scan,
    load,
)

from .test_arrow_columns import INVOICES_2026, generate, hand_made
from .test_arrow_columns import PAYMENTS as BLANK_LINED

pytest.importorskip("pyarrow")
arrow_checks = pytest.importorskip("arledger.arrow_checks")
arrow_columns = pytest.importorskip("arledger.arrow_columns")
BulkFile = arrow_columns.BulkFile

KINDS = ("invoices", "payments", "adjustments")


# ------------------------------------------------------------------ helpers


def bulk_file(root: Path, path: Path, kind: str) -> Any:
    """A CSV file as the loader will hand it over: cut by `_arrow_cells`
    (some columns dictionary-encoded), mapped by header name; None where
    the loader would not (a header with a problem, a row that is not one
    line of the header's cells, quotes pyarrow might read otherwise)."""
    text = path.read_bytes().decode("utf-8-sig")
    width = _header_width(text)
    if width is None:
        return None
    start = text.find("\n") + 1
    header = [name.strip() for name in next(csv.reader([text[: start or None]]))]
    problems, _ = _csv_header(header, kind)
    if problems or len(set(header)) != len(header) or not start:
        return None
    if "\r" in text and text.count("\r", start) != text.count("\r\n", start):
        return None
    if not _plain_quotes(text, start):
        return None
    cells = _arrow_cells(text, width)
    count = text.count("\n", start) + (not text.endswith("\n"))
    if cells.columns is None or cells.rows != count:
        return None
    rel = path.relative_to(root).as_posix()
    return BulkFile(rel, dict(zip(header, cells.columns, strict=True)))


def bulk_files(root: Path) -> dict[str, list[Any]] | None:
    """Every bulk file of the ledger (None: one the loader would not hand)."""
    found = _scan(root)
    files: dict[str, list[Any]] = {}
    for kind in KINDS:
        files[kind] = []
        for path in found.files[kind]:
            if path.suffix != ".csv":
                return None
            file = bulk_file(root, path, kind)
            if file is None:
                return None
            files[kind].append(file)
    return files


def why(root: Path) -> str | None:
    """`why_not_clean` of the ledger's bulk files (they must be handed)."""
    files = bulk_files(root)
    assert files is not None, "files the loader would not hand over"
    ledger, _ = load(root)
    cells = arrow_columns.Cells(files)
    return arrow_checks.why_not_clean(cells, ledger.customers, ledger.settings)  # type: ignore[no-any-return]


def said(root: Path) -> list[str]:
    return [str(error) for error in load(root)[1]]


# The hand-made ledger of tests/test_arrow_columns.py without its blank line
# (the loader hands over no file with one): payments without ids or currency,
# allocations, schedules, discounts, JPY and KWD.
PAYMENTS = BLANK_LINED.replace("\n\n", "\n")


def clean(directory: Path, **changes: str) -> Path:
    return hand_made(directory, **{"payments.csv": PAYMENTS, **changes})


# ------------------------------------------------------------------ clean


def test_the_hand_made_ledger_is_clean(tmp_path):
    root = clean(tmp_path / "ledger")
    assert said(root) == []
    assert why(root) is None


@pytest.mark.parametrize("seed", [1, 5])
def test_a_generated_benchmark_ledger_is_clean(tmp_path, seed):
    root = tmp_path / "ledger"
    generate.write_ledger(generate.generate(2000, seed), root, "csv")
    assert said(root) == []
    assert why(root) is None


def test_no_files_are_clean(tmp_path):
    root = clean(tmp_path / "ledger")
    ledger, _ = load(root)
    files = arrow_columns.Cells(dict.fromkeys(KINDS, []))
    assert arrow_checks.why_not_clean(files, ledger.customers, ledger.settings) is None


# ------------------------------------------------------------------ each problem

INV = "invoices/2026.csv"
INV_HEAD = "id,customer,date,due,amount,currency,owner,disputed,schedule,discount\n"
INV_OK = INVOICES_2026.partition("\n")[2]
PAY_HEAD = "id,customer,date,amount,currency,invoice,allocations\n"
ADJ_HEAD = "id,customer,date,amount,kind,invoice,currency\n"


def invoices(*rows: str, head: str = INV_HEAD) -> dict[str, str]:
    return {INV: head + INV_OK + "".join(row + "\n" for row in rows)}


def payments(*rows: str) -> dict[str, str]:
    return {"payments.csv": PAYMENTS + "".join(row + "\n" for row in rows)}


def adjustments(*rows: str) -> dict[str, str]:
    return {"adjustments.csv": ADJ_HEAD + "".join(row + "\n" for row in rows)}


PROBLEMS = {
    # columns
    "a required field empty": invoices("N1,,2026-01-02,,5.00,,,,,"),
    "a required column missing": {
        "adjustments.csv": "id,customer,date,amount,invoice\nX1,ACME,2025-12-22,5,\n"
    },
    # value rules
    "a date refused": invoices("N1,ACME,2026-02-30,,5.00,,,,,"),
    "a due date refused": invoices("N1,ACME,2026-01-02,31/03/2026,5.00,,,,,"),
    "an amount refused": invoices("N1,ACME,2026-01-02,,1.000.00,,,,,"),
    "an amount of zero": payments("P9,ACME,2026-01-06,0.00,,,"),
    "a currency refused": invoices("N1,ACME,2026-01-02,,5.00,usd,,,,"),
    "a flag refused": invoices("N1,ACME,2026-01-02,,5.00,,,maybe,,"),
    "a kind refused": adjustments("X1,ACME,2025-12-22,5.00,refund,,"),
    "a discount refused": invoices("N1,ACME,2026-01-02,,5.00,,,,,percent=200;days=10"),
    # nested cells
    "a schedule part without =": invoices("N1,ACME,2026-01-02,,5.00,,,,2026-02-01,"),
    "a schedule part without a key": invoices("N1,ACME,2026-01-02,,5.00,,,,=5.00,"),
    "a schedule of no pair": invoices("N1,ACME,2026-01-02,,5.00,,,,;,"),
    "an instalment's date refused": invoices(
        "N1,ACME,2026-01-02,,5.00,,,,2026-13-01=5.00,"
    ),
    "an instalment's amount refused": invoices(
        "N1,ACME,2026-01-02,,5.00,,,,2026-02-01=five,"
    ),
    "an allocation given twice": payments("P9,ACME,2026-01-06,5.00,,,A3=1;A3=2"),
    "an allocation's amount refused": payments("P9,ACME,2026-01-06,5.00,,,A3=-1"),
    # the model's rules over several fields
    "due before the date": invoices("N1,ACME,2026-01-02,2026-01-01,5.00,,,,,"),
    "instalments not adding up": invoices(
        "N1,ACME,2026-01-02,,5.00,,,,2026-02-01=2;2026-03-01=2,"
    ),
    "instalments adding up in other decimals but not": invoices(
        "N1,ACME,2026-01-02,,5.00,,,,2026-02-01=2.5;2026-03-01=2.4,"
    ),
    "an instalment before the date": invoices(
        "N1,ACME,2026-01-02,,5.00,,,,2026-01-01=5.00,"
    ),
    "a due beside a schedule": invoices(
        "N1,ACME,2026-01-02,2026-02-02,5.00,,,,2026-02-01=5.00,"
    ),
    "allocations beside an invoice": payments("P9,ACME,2026-01-06,5.00,,A3,A2=5.00"),
    "allocations over the amount": payments("P9,ACME,2026-01-06,5.00,,,A2=3;A3=3"),
    # ids
    "an invoice id twice in a file": invoices("S2,EURO,2026-01-02,,5.00,,,,,"),
    "an invoice id twice across files": invoices("A3,ACME,2026-01-02,,5.00,,,,,"),
    "a payment id twice": payments("P1,ACME,2026-01-06,5.00,,,"),
    "an adjustment id twice": adjustments(
        "X1,ACME,2025-12-22,5.00,credit_note,,", "X1,ACME,2025-12-22,5.00,discount,,"
    ),
    # cross-checks
    "an unknown customer": adjustments("X1,ACNE,2025-12-22,5.00,credit_note,,"),
    "an unknown invoice": payments("P9,ACME,2026-01-06,5.00,,A9,"),
    "an unknown invoice allocated": payments("P9,ACME,2026-01-06,5.00,,,A9=5"),
    "an invoice of another customer": adjustments(
        "X1,EURO,2025-12-22,5.00,credit_note,A3,"
    ),
    "an allocation to another customer's invoice": payments(
        "P9,EURO,2026-01-06,5.00,,,A3=5.00"
    ),
    "a payment in another currency": payments("P9,ACME,2026-01-06,5.00,EUR,A3,"),
    "an allocation in another currency": payments("P9,ACME,2026-01-06,10,,,A3=5;J2=5"),
    "an adjustment in another currency": adjustments(
        "X1,ACME,2025-12-22,5.00,credit_note,A3,JPY"
    ),
    "a payment over its invoice (a warning)": payments(
        "P9,ACME,2026-01-06,100.01,,A3,"
    ),
    "a payment over its invoice in other decimals": payments(
        "P9,ACME,2026-01-06,100.001,,A3,"
    ),
    "an allocation over its invoice": payments("P9,ACME,2026-01-06,500,,,A3=100.5"),
    "an amount with more decimals than USD": invoices("N1,ACME,2026-01-02,,5.001,,,,,"),
    "an amount with more decimals than JPY": payments("P9,NIPPON,2026-01-06,1.5,,J1,"),
    "an instalment with more decimals": invoices(
        "N1,ACME,2026-01-02,,5.00,,,,2026-02-01=2.505;2026-03-01=2.495,"
    ),
    "an allocation with more decimals": payments("P9,KUWAIT,2026-01-06,5,,,K1=0.0001"),
}


@pytest.mark.parametrize("problem", PROBLEMS)
def test_each_problem_alone_gives_a_reason(tmp_path, problem):
    """The row path speaks about each (checked here too), and so must
    `why_not_clean`, which names the file."""
    changes = {name: textwrap.dedent(text) for name, text in PROBLEMS[problem].items()}
    root = clean(tmp_path / "ledger", **changes)
    assert said(root), "the row path says nothing"
    reason = why(root)
    assert reason is not None
    assert any(name in reason for name in changes), reason


DECLINED = {
    "a value in a column with no name": {
        INV: INV_HEAD.rstrip("\n") + ",\n" + INV_OK.replace("\n", ",x\n")
    },
    "a row of empty cells": invoices(",,,,,,,,,"),
}


@pytest.mark.parametrize("problem", DECLINED)
def test_what_cannot_be_proven_cheaply_is_declined(tmp_path, problem):
    """The row path ignores a column without a name and drops a row of
    empty cells without a word; declined all the same (a slower load)."""
    root = clean(tmp_path / "ledger", **DECLINED[problem])
    assert said(root) == []
    assert why(root) is not None


def test_tolerated_writings_are_clean(tmp_path):
    """What the row path takes without a word: an empty column with no
    name, a due date that is the last instalment's, an amount written with
    more places than its currency has but whole minor units, a payment
    without a currency allocated to invoices of one."""
    root = clean(
        tmp_path / "ledger",
        **invoices(
            "N1,ACME,2026-01-02,2026-03-01,5.0000,,,,2026-02-01=2.50;2026-03-01=2.50,",
        ),
        **payments(",EURO,2026-01-06,5.00,,,S2=4.50;E1=0.50"),
    )
    assert said(root) == []
    assert why(root) is None


# ------------------------------------------------------------------ soundness

VALUES = (
    "", "x", "0", "-1", "1", "5.00", "5.001", "1e3", "100.5", "0.0200", "+5",
    "ACME", "EURO", "NIPPON", "ACNE", "A2", "A3", "S1", "E1", "J1", "LATE", "P1",
    "X1", "2025-12-01", "2026-01-31", "2026-02-30", "usd", "USD", "EUR", "JPY",
    "yes", "maybe", "credit_note", "refund", "A2=100.00", "A3=5;A2=5",
    "A3=1;A3=1", "2026-02-01=100", "2026-02-01=20;2026-03-01=30.00", ";", "=5",
    "percent=2;days=10", "percent=200;days=10", "a=b",
)  # fmt: skip


def corrupt(text: str, row: int, column: int, value: str) -> str:
    """The CSV text with one cell replaced (rows past the end: appended as
    a copy of the last row)."""
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        return text
    row = 1 + row % (len(rows) - 1 + 1)
    if row == len(rows):
        rows.append(list(rows[-1]))
    rows[row][column % len(rows[row])] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


BULK = ("invoices/2025.csv", INV, "payments.csv", "adjustments.csv")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    changes=st.lists(
        st.tuples(
            st.sampled_from(BULK),
            st.integers(0, 12),
            st.integers(0, 10),
            st.sampled_from(VALUES),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_random_corruptions_are_never_called_clean_when_the_loader_speaks(
    tmp_path_factory, changes
):
    root = clean(tmp_path_factory.mktemp("ledger"))
    for rel, row, column, value in changes:
        path = root / rel
        path.write_text(corrupt(path.read_text(), row, column, value))
    files = bulk_files(root)
    if files is None:
        return  # the loader would not hand these over
    ledger, errors = load(root)
    cells = arrow_columns.Cells(files)
    reason = arrow_checks.why_not_clean(cells, ledger.customers, ledger.settings)
    if reason is None:
        assert [str(error) for error in errors] == []


def test_every_record_rule_of_the_bulk_models_is_known():
    """A rule over several fields added to a bulk model must get a pick
    here, or every file is declined (and the clean tests fail)."""
    from arledger.loader import _column_plan

    for kind in KINDS:
        plan = _column_plan(_shapes.KINDS[kind])
        assert plan is not None
        for _fields, rule in plan.checks:
            assert rule in arrow_checks._PICKS, rule


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1).map(str.strip).filter(bool), max_size=8))
def test_the_rules_that_refuse_no_text_given_do_not(texts):
    """The checks hold no column of a rule of `REFUSES_NO_GIVEN` (only its
    cells not given count): its list rule and its arrow form take every
    text trimmed and not empty, as the loader's cells given are."""
    import pyarrow as pa  # noqa: PLC0415

    from arledger import arrow_rules  # noqa: PLC0415

    for rule in arrow_rules.REFUSES_NO_GIVEN:
        assert rule(texts) == texts
        assert arrow_rules.apply(rule, pa.array(texts, pa.string())).refused == {}


def test_the_kernels_columns_of_shared_cells_are_those_of_fresh_ones(tmp_path):
    """The rules' results `why_not_clean` keeps in `Cells` are the kernel's
    too, and depend on no day: the columns of two views of one `Cells`,
    checked first, are those of two fresh calls."""
    from .reference_columns import tables_of  # noqa: PLC0415

    root = clean(tmp_path / "ledger")
    files = bulk_files(root)
    assert files is not None
    ledger, _ = load(root)
    shared = arrow_columns.Cells(files)
    assert arrow_checks.why_not_clean(shared, ledger.customers, ledger.settings) is None
    for as_of in (
        date(2025, 12, 1),
        date(2026, 12, 31),
        date(2025, 12, 21),
        date(2020, 1, 1),
    ):
        got = arrow_columns.kernel_columns(shared, as_of, tables_of(ledger))
        fresh = arrow_columns.Cells(files)
        want = arrow_columns.kernel_columns(fresh, as_of, tables_of(ledger))
        assert got.keys() == want.keys()
        for name in got:
            assert got[name] == want[name], name
