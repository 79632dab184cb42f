"""`arrow_columns.kernel_columns` gives what `_settle.read` gives.

Stage 3 of the columnar path (docs/columnar.md): the kernel's columns made
from the pyarrow arrays of a ledger's CSV files, without a row per record,
are the columns `_settle.read` makes from the rows the loader makes of the
same files, sorted as `settle` sorts them (tests/reference_columns.py holds
`read` to the Ledger's own rules). On ledgers drawn by the benchmark's
generator at small sizes, and on hand-made ledgers with what the resolution
must get right (payments without ids or currency, allocations, due dates
and schedules, each kind of adjustment, names of invoices not in the view,
JPY and KWD, amounts beyond 64 bits, discounts, owners, an as-of date that
cuts the ledger), every column and list is equal.
"""

from __future__ import annotations

import csv
import importlib.util
import tempfile
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from arledger import _settle, api
from arledger.loader import _scan, _white_space, load

from .conftest import ROOT, write_ledger
from .reference_columns import COLUMNS, amount_of, in_order, tables_of
from .test_roundtrip import books, one_file, window
from .test_roundtrip import write_ledger as write_book
from .test_settle_oracle import varied_ledgers

pa = pytest.importorskip("pyarrow")
pa_csv = pytest.importorskip("pyarrow.csv")
pc = pytest.importorskip("pyarrow.compute")
arrow_columns = pytest.importorskip("arledger.arrow_columns")

LISTS = ("ids", "refs", "adj_ids", "customers", "currencies", "owners")
# The lists `kernel_columns` gives as texts, each made a str when shown
# (`arrow_columns.listed` makes the list).
STRINGS = ("ids", "refs", "adj_ids")
KINDS = ("invoices", "adjustments", "payments")
AMOUNTS = ("inv", "ins", "pay", "adj", "alloc")

_spec = importlib.util.spec_from_file_location(
    "bench_generate", ROOT / "benchmarks" / "generate.py"
)
assert _spec is not None and _spec.loader is not None
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)


# ------------------------------------------------------------------ the checks


def bulk_file(root: Path, path: Path) -> Any:
    """A CSV file as pyarrow cuts it: every column as text, trimmed as
    `str.strip` trims; with the line each row starts on, as the csv module
    counts them (blank lines are no rows)."""
    rel = path.relative_to(root).as_posix()
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None:  # an empty file
            return arrow_columns.BulkFile(rel, {})
        lines = []
        while True:
            line = reader.line_num + 1
            row = next(reader, None)
            if row is None:
                break
            if row:
                lines.append(line)
    table = pa_csv.read_csv(
        path,
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string())
        ),
    )
    assert table.num_rows == len(lines), path
    white = _white_space()
    cells = {name: pc.utf8_trim(table[name], white) for name in header}
    return arrow_columns.BulkFile(rel, cells, pa.array(lines, pa.int32()))


def bulk_files(root: Path) -> list[list[Any]]:
    """Each kind's CSV files, in the order the loader reads them."""
    found = _scan(root)
    return [[bulk_file(root, path) for path in found.files[kind]] for kind in KINDS]


def cells_of(root: Path) -> Any:
    """The ledger's bulk files as `kernel_columns` takes them."""
    return arrow_columns.Cells.of(*bulk_files(root))


def assert_arrow_alike(
    root: Path, as_of: date, refused: bool = False
) -> dict[str, Any]:
    """The arrow columns of the files at `root` are `_settle.read`'s of the
    loader's rows as of `as_of`; the arrow columns, their ids and refs as
    lists. `refused`: the ledger has errors, and its rows are read all the
    same."""
    ledger = load(root)[0] if refused else api.load(root)
    view = api.view(ledger, as_of)
    tables = tables_of(ledger)
    want = _settle.read(*in_order(view), tables)
    theirs = tables_of(ledger)
    got = arrow_columns.kernel_columns(cells_of(root), as_of, theirs)
    assert got.keys() == want.keys()
    for name in COLUMNS:
        column = got[name]
        # a view into pyarrow's buffer, where `read` makes an array
        assert memoryview(column).format == COLUMNS[name], name
        assert column.tolist() == want[name].tolist(), (
            name,
            column[:20],
            want[name][:20],
        )
    for name in LISTS:
        strings = arrow_columns.listed(got[name])
        assert type(strings) is list, name
        assert strings == want[name], (name, strings[:20], want[name][:20])
    assert got["wide"] is want["wide"]
    for prefix in AMOUNTS:  # the kernel rebuilds the records' own Decimals
        assert got[f"{prefix}_amounts"] is None
        again = [amount.as_tuple() for amount in amounts(got, prefix)]
        assert again == [amount.as_tuple() for amount in want[f"{prefix}_amounts"]]
    assert [i for i, _ in got["discounted"]] == [i for i, _ in want["discounted"]]
    assert [d for _, d in got["discounted"]] == [d for _, d in want["discounted"]]
    for name in ("customers", "currencies", "owners"):  # extended alike
        assert theirs[name] == tables[name]
    return {**got, **{name: arrow_columns.listed(got[name]) for name in STRINGS}}


def amounts(columns: dict[str, Any], prefix: str) -> list[Any]:
    """The amounts of a column as Decimals, from minor units and exponent."""
    minor = columns[f"{prefix}_minor"].tolist()
    if columns["wide"]:
        minor = [h * 2**64 + (lo & (2**64 - 1)) for lo, h in zip(minor[::2], minor[1::2], strict=True)]  # fmt: skip
    currency = {
        "inv": columns["inv_currency"].tolist(),
        "pay": columns["pay_currency"].tolist(),
        "adj": columns["adj_currency"].tolist(),
    }
    currency["ins"] = [currency["inv"][i] for i in columns["ins_invoice"]]
    currency["alloc"] = [currency["pay"][p] for p in columns["alloc_payment"]]
    names = columns["currencies"]
    return [
        amount_of(m, e, names[c])
        for m, e, c in zip(
            minor, columns[f"{prefix}_exp"], currency[prefix], strict=True
        )
    ]


# ------------------------------------------------------------------ generated


@pytest.mark.parametrize(
    ("size", "seed"), [(300, 1), (1500, 2), (4000, 7)], ids=["300", "1500", "4000"]
)
def test_the_benchmark_ledgers_give_reads_columns(tmp_path, size, seed):
    """The generator's ledgers (split allocations, schedules, explicit due
    dates, disputes, prepayments, credit notes, discounts and write-offs;
    invoices and payments in a file a year) as of a date before any record,
    dates that cut them, and the benchmarks' date after the last."""
    root = tmp_path / "ledger"
    generate.write_ledger(generate.generate(size, seed), root, "csv")
    for as_of in ("2024-06-30", "2025-03-31", "2026-02-14", generate.AS_OF):
        columns = assert_arrow_alike(root, date.fromisoformat(as_of))
    assert len(columns["ins_invoice"]) and len(columns["alloc_invoice"])
    assert set(columns["adj_kind"]) == ({0, 1, 2} if size > 1000 else {0, 2})


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(book=books(), rnd=st.randoms(use_true_random=False), as_of=window)
def test_the_round_trip_books_written_as_csv(book, rnd, as_of):
    """tests/test_roundtrip.py's ledgers, each kind one CSV file written as a
    person or a spreadsheet would (a BOM, CRLF, blank lines and rows of
    empty cells, quoted cells across lines, white space around `=` and `;`,
    columns in any order, payments without ids)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_book(root, one_file(book, ".csv"), rnd)
        assert_arrow_alike(root, as_of)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), rnd=st.randoms(use_true_random=False))
def test_the_oracles_varied_ledgers_written_as_csv(data, rnd):
    """tests/test_settle_oracle.py's varied ledgers (currencies of 0 to 4
    decimals, amounts beyond 64 bits, many records on one date, schedules
    out of due order, discounts, owners, payments without ids or currency,
    allocations to invoices issued later), those the loader takes."""
    gen = data.draw(varied_ledgers(), label="ledger")
    days = sorted({r.date for kind in KINDS for r in getattr(gen, kind)})
    cuts = st.sampled_from(days) if days else st.nothing()
    as_of = data.draw(
        st.one_of(cuts, st.dates(date(2024, 12, 1), date(2027, 1, 31))), label="as_of"
    )
    layout = {
        kind: [(f"{kind}.csv", list(getattr(gen, kind, ())))]
        for kind in ("customers", "invoices", "payments", "adjustments", "contacts")
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_book(root, layout, rnd)
        _, errors = load(root)
        assume(not any(not error.warning for error in errors))
        columns = assert_arrow_alike(root, as_of)
    for what, seen in {
        "wide": columns["wide"],
        "names outside the view": len(columns["ids"]) > len(columns["inv_date"]),
        "instalments": len(columns["ins_invoice"]),
        "allocations": len(columns["alloc_invoice"]),
        "discounts": columns["discounted"],
        "a payment without an id": any(":" in ref for ref in columns["refs"]),
    }.items():
        if seen:
            event(what)


# ------------------------------------------------------------------ by hand

SETTINGS = "currency: USD\nterms:\n  default: 20\n"
CUSTOMERS = """\
id,name,terms,owner,currency,discount
ACME,Acme,30,lin,,
EURO,Euro GmbH,,,EUR,percent=2;days=10
NIPPON,Nippon KK,45,wang,JPY,
KUWAIT,Kuwait Co,,,KWD,
"""
INVOICES_2025 = """\
id,customer,date,due,amount,currency,owner,disputed,schedule,discount
A3,ACME,2025-12-01,,100,,,,,
A2,ACME,2025-12-01,2026-01-31,100.00,,bob,yes,,
E1,EURO,2025-12-02,,80.5,,,,,percent=3;days=5
J1,NIPPON,2025-12-03,,12000,,,,,
J2,ACME,2025-12-03,,5000,JPY,,,,
K1,KUWAIT,2025-12-04,,1.250,,,,,
S1,ACME,2025-12-05,,300.00,,,false, 2026-02-01 = 100.00 ; 2026-01-01=200 ;,
"""
INVOICES_2026 = """\
id,customer,date,due,amount,currency,owner,disputed,schedule,discount
S2,EURO,2026-01-02,2026-03-01,50.00,,"Ann, Bee",,2026-02-01=20;2026-03-01=30.00,
LATE,ACME,2026-03-01,,70.00,EUR,,,,
"""
PAYMENTS = """\
id,customer,date,amount,currency,invoice,allocations
P2,ACME,2025-12-20,60.00,USD,A3,
P1,ACME,2025-12-20,150,,,A2=100.00; S1=50
,ACME,2025-12-21,10.00,,,

,ACME,2025-12-21,20.00,,LATE,
,EURO,2025-12-21,5.00,,E1,
,NIPPON,2025-12-22,3000,,J1,
,ACME,2026-01-06,75.00,EUR,,LATE=70.00
,KUWAIT,2026-01-06,0.125,,K1,
P5,ACME,2026-01-06,1000,JPY,J2,
"""
ADJUSTMENTS = """\
id,customer,date,amount,kind,invoice,currency
X3,ACME,2025-12-22,5.00,credit_note,A3,
X2,EURO,2025-12-22,1.5,write_off,E1,
X1,ACME,2025-12-22,2,discount,LATE,
X4,NIPPON,2026-01-03,100,credit_note,,JPY
X5,ACME,2026-02-01,1.00,write_off,,
"""


def hand_made(directory: Path, **changes: str) -> Path:
    files = {
        "settings": SETTINGS,
        "customers.csv": CUSTOMERS,
        "invoices/2025.csv": INVOICES_2025,
        "invoices/2026.csv": INVOICES_2026,
        "payments.csv": PAYMENTS,
        "adjustments.csv": ADJUSTMENTS,
    }
    files.update(changes)
    (directory / "invoices").mkdir(parents=True, exist_ok=True)
    return write_ledger(
        directory, **{name: textwrap.dedent(text) for name, text in files.items()}
    )


@pytest.mark.parametrize(
    "as_of",
    [
        "2025-11-30",
        "2025-12-01",
        "2025-12-21",
        "2026-01-06",
        "2026-02-28",
        "2026-12-31",
    ],
)
def test_the_hand_made_ledger_as_of_dates_that_cut_it(tmp_path, as_of):
    assert_arrow_alike(hand_made(tmp_path / "ledger"), date.fromisoformat(as_of))


def test_the_hand_made_ledgers_columns(tmp_path):
    """What each column says on a day when the invoice LATE is not issued
    yet."""
    columns = assert_arrow_alike(hand_made(tmp_path / "ledger"), date(2025, 12, 31))
    # by date, then id; LATE, named but not issued, after the view's
    assert columns["ids"] == ["A2", "A3", "E1", "J1", "J2", "K1", "S1", "LATE"]
    assert columns["currencies"] == ["USD", "EUR", "JPY", "KWD"]
    assert columns["inv_currency"].tolist() == [0, 0, 1, 2, 2, 3, 0]
    assert columns["minor_units"].tolist() == [2, 2, 0, 3]
    assert columns["inv_minor"].tolist() == [10000, 10000, 8050, 12000, 5000, 1250, 30000]  # fmt: skip
    assert columns["inv_exp"].tolist() == [-2, 0, -1, 0, 0, -3, -2]
    assert columns["inv_flags"].tolist() == [1, 0, 0, 0, 0, 0, 0]
    day = date(2025, 12, 1).toordinal()
    assert columns["inv_due"].tolist() == [
        date(2026, 1, 31).toordinal(),  # given
        day + 30,  # ACME's terms
        day + 1 + 20,  # EURO: the default terms
        day + 2 + 45,
        day + 2 + 30,  # J2: in JPY, but ACME's
        day + 3 + 20,
        date(2026, 2, 1).toordinal(),  # the last instalment, not the first
    ]
    assert columns["owners"] == ["lin", "wang", "bob"]
    assert columns["inv_owner"].tolist() == [2, -1, -1, -1, -1, -1, -1]
    assert columns["ins_invoice"].tolist() == [6, 6]  # as written
    assert columns["ins_minor"].tolist() == [10000, 20000]
    assert columns["ins_exp"].tolist() == [-2, 0]
    assert [(i, d.percent, d.days) for i, d in columns["discounted"]] == [(2, 3, 5)]
    # payments: by ref once one has no id
    assert columns["refs"] == [
        "P1", "P2", "payments.csv:4", "payments.csv:6", "payments.csv:7",
        "payments.csv:8",
    ]  # fmt: skip
    assert columns["pay_invoice"].tolist() == [-1, 1, -1, 7, 2, 3]
    assert columns["alloc_payment"].tolist() == [0, 0]
    assert columns["alloc_invoice"].tolist() == [0, 6]
    # without a currency: the one of the invoice named, issued or not; else
    # the customer's
    assert columns["pay_currency"].tolist() == [0, 0, 0, 1, 1, 2]
    assert [str(a) for a in amounts(columns, "pay")] == [
        "150", "60.00", "10.00", "20.00", "5.00", "3000",
    ]  # fmt: skip
    assert columns["adj_ids"] == ["X1", "X2", "X3"]
    assert columns["adj_kind"].tolist() == [2, 1, 0]
    assert columns["adj_invoice"].tolist() == [7, 2, 1]
    assert columns["adj_currency"].tolist() == [1, 1, 0]
    assert columns["wide"] is False
    later = assert_arrow_alike(hand_made(tmp_path / "again"), date(2026, 1, 6))
    # text order: line 10 before line 9
    assert later["refs"][-3:] == ["P5", "payments.csv:10", "payments.csv:9"]


def test_amounts_beyond_64_bits_make_every_amount_column_wide(tmp_path):
    big = "12345678901234567890123456.78"
    invoices = INVOICES_2026 + f"B1,ACME,2025-12-01,,{big},,,,,\n"
    payments = PAYMENTS + "P9,ACME,2025-12-02,0.01,,B1,\n"
    root = hand_made(
        tmp_path / "ledger",
        **{"invoices/2026.csv": invoices, "payments.csv": payments},
    )
    columns = assert_arrow_alike(root, date(2025, 12, 31))
    assert columns["wide"] is True
    assert columns["ids"][:3] == ["A2", "A3", "B1"]
    assert str(amounts(columns, "inv")[2]) == big
    assert "0.01" in map(str, amounts(columns, "pay"))


def test_customers_the_ledger_does_not_know_come_after_its_own(tmp_path):
    """The loader refuses them and keeps their records, as `read` reads
    them: codes after the tables' in the order met (invoices, then
    adjustments), the base currency, the default terms, no owner."""
    unknown = "Z1,ZED,2025-12-01,,5.00,,,,,\nZ2,YAN,2025-12-02,,5.00,CHF,carl,,,\n"
    root = hand_made(
        tmp_path / "ledger",
        **{
            "invoices/2026.csv": INVOICES_2026 + unknown,
            "adjustments.csv": ADJUSTMENTS + "X9,QUX,2025-12-01,1.00,write_off,,\n",
        },
    )
    columns = assert_arrow_alike(root, date(2025, 12, 31), refused=True)
    assert columns["customers"][4:] == ["ZED", "YAN", "QUX"]
    assert columns["currencies"][4:] == ["CHF"]
    assert columns["owners"] == ["lin", "wang", "bob", "carl"]
    assert (
        columns["inv_due"][columns["ids"].index("Z1")] == date(2025, 12, 21).toordinal()
    )


def test_payments_without_a_currency_in_a_ledger_without_invoices(tmp_path):
    """Their customer's currency, whether they name an invoice (unknown: the
    loader refuses it and keeps the payment) or not."""
    payments = "customer,date,amount,invoice\nEURO,2025-12-01,5.00,\nEURO,2025-12-01,5.00,NOPE\n"  # fmt: skip
    root = write_ledger(
        tmp_path / "ledger", **{"customers.csv": CUSTOMERS, "payments.csv": payments}
    )
    columns = assert_arrow_alike(root, date(2025, 12, 31), refused=True)
    assert columns["refs"] == ["payments.csv:2", "payments.csv:3"]
    assert columns["ids"] == ["NOPE"]
    assert columns["currencies"][columns["pay_currency"][1]] == "EUR"


def test_lines_are_counted_from_the_header_when_not_given(tmp_path):
    """Without `lines`, row k is on line k + 2: a payment without an id is
    known by that line."""
    root = hand_made(tmp_path / "ledger")
    files = bulk_files(root)
    without = [file._replace(lines=None) for file in files[2]]
    ledger = api.load(root)
    cells = arrow_columns.Cells.of(files[0], files[1], without)
    columns = arrow_columns.kernel_columns(cells, date(2025, 12, 21), tables_of(ledger))
    # the blank line 5 is no row: the lines after it are one short
    assert arrow_columns.listed(columns["refs"]) == ["P1", "P2", "payments.csv:4", "payments.csv:5", "payments.csv:6"]  # fmt: skip


def test_no_files_no_records(tmp_path):
    root = hand_made(tmp_path / "ledger")
    ledger = api.load(root)
    columns = arrow_columns.kernel_columns(
        arrow_columns.Cells({}), date(2026, 1, 1), tables_of(ledger)
    )
    for name, typecode in COLUMNS.items():
        assert memoryview(columns[name]).format == typecode
        assert len(columns[name]) == (4 if name == "minor_units" else 0), name
    assert columns["ids"] == columns["refs"] == columns["adj_ids"] == []
