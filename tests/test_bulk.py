"""Bulk records kept as cells (arledger/bulk.py) give what their rows give.

A ledger whose invoices, payments and adjustments are CSV files the loader
proves surely clean keeps them as the cells pyarrow cut (`loader._defer`):
its settlement is made from the cells, and its rows only when something reads
records. Here the same ledgers are loaded both ways (`ARLEDGER_BULK=always`
and `never`) and held equal: the records, the problems, every settlement and
report; and a ledger with anything to say is never kept as cells.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from arledger import loader
from arledger.errors import LedgerInvalid
from arledger.reports import aging, overdue
from arledger.settle import settle

from .conftest import DEMO, ROOT, write_ledger

pytest.importorskip("pyarrow")

_spec = importlib.util.spec_from_file_location(
    "bench_generate", ROOT / "benchmarks" / "generate.py"
)
assert _spec is not None and _spec.loader is not None
generate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate)

AS_OF = ("2024-06-30", "2025-03-31", "2026-02-14", generate.AS_OF)


def load(root: Path, way: str, monkeypatch: pytest.MonkeyPatch) -> tuple:
    monkeypatch.setenv("ARLEDGER_BULK", way)
    return loader.load(root)


def both_ways(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """The ledger loaded keeping its cells, and loaded as rows."""
    cells, _ = load(root, "always", monkeypatch)
    rows, _ = load(root, "never", monkeypatch)
    return cells, rows


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bench")
    generate.write_ledger(generate.generate(3000, 7), root, "csv")
    return root


def test_a_clean_ledger_is_kept_as_cells_and_its_rows_are_the_same(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells, said = load(bench, "always", monkeypatch)
    rows, said_by_rows = load(bench, "never", monkeypatch)
    assert said == said_by_rows
    assert cells.bulk is not None and not cells.bulk.made
    assert rows.bulk is None
    # Counted without making rows.
    assert len(cells.invoices) == len(rows.invoices)
    assert len(cells.payments) == len(rows.payments)
    assert len(cells.adjustments) == len(rows.adjustments)
    assert not cells.bulk.made
    assert cells.counts() == rows.counts()
    # Read: the rows the row path makes, in its order.
    assert list(cells.invoices.items()) == list(rows.invoices.items())
    assert cells.bulk.made
    assert tuple(cells.payments) == rows.payments
    assert tuple(cells.adjustments) == rows.adjustments
    assert cells.customers == rows.customers
    assert cells.contacts == rows.contacts


@pytest.mark.parametrize("as_of", AS_OF)
def test_settlements_and_reports_from_cells_are_those_from_rows(
    bench: Path, monkeypatch: pytest.MonkeyPatch, as_of: str
) -> None:
    day = date.fromisoformat(as_of)
    cells, rows = both_ways(bench, monkeypatch)
    for history in (True, False):
        view, by_rows = cells.view(day), rows.view(day)
        assert view.bulk is not None
        got = settle(view, history=history)
        assert not cells.bulk.made  # settled from the cells
        want = settle(by_rows, history=history)
        assert got == want
        assert view.currencies() == by_rows.currencies()
        assert aging.to_report(aging.compute(view, got)) == aging.to_report(
            aging.compute(by_rows, want)
        )
        if history:
            assert overdue.compute(view, got) == overdue.compute(by_rows, want)
    assert not cells.bulk.made


def test_a_settlement_made_ahead_is_the_one_made_then(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A settlement of the cells made while the loader's checks run
    (`settle_ahead`) is the one `settle` makes of the view; it is used by
    the settlement asked for alone (day, owner, history, paid), and once."""
    from arledger import arrow_columns
    from arledger.settle import Ahead

    made: list[date] = []
    kernel_columns = arrow_columns.kernel_columns

    def counted(cells: Any, as_of: date, tables: Any, **options: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            made.append(as_of)  # (not those made ahead, on a thread)
        return kernel_columns(cells, as_of, tables, **options)

    monkeypatch.setattr(arrow_columns, "kernel_columns", counted)
    monkeypatch.setenv("ARLEDGER_BULK", "always")
    plain, _ = loader.load(bench)
    owner = next(c.owner for c in plain.customers.values() if c.owner)
    for as_of in AS_OF:
        day = date.fromisoformat(as_of)
        for history, paid, by in ((True, True, None), (False, False, None),
                                  (False, True, owner), (True, False, owner)):  # fmt: skip
            asked = Ahead(day, by, history, paid)
            ahead, said = loader.load(bench, settle_ahead=asked)
            assert ahead.bulk is not None and said == []
            made.clear()
            mine = plain.view(day, owner=by)
            want = settle(mine, history=history, paid=paid)
            assert made == [day]  # made by `settle`
            made.clear()
            view = ahead.view(day, owner=by)
            got = settle(view, history=history, paid=paid)
            assert made == [] and got == want  # the one made ahead
            if by is None:  # known from its columns
                assert view.currencies() == mine.currencies()
            again = settle(ahead.view(day, owner=by), history=history, paid=paid)
            assert made == [day] and again == want  # once: then made again
    # Asked for another day, or another settlement of the day: not used.
    day = date.fromisoformat(AS_OF[-1])
    for asked in (
        Ahead(date(2025, 1, 1), None, True, True),
        Ahead(day, None, False, True),
    ):
        ahead, _ = loader.load(bench, settle_ahead=asked)
        made.clear()
        assert settle(ahead.view(day)) == settle(plain.view(day))
        assert made == [day, day]


def test_a_settlement_made_ahead_of_a_ledger_not_clean_is_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Begun once every field holds its rule, a settlement made ahead is let
    go when a check over records then finds something to say: the rows say
    it, as without it."""
    from arledger.settle import Ahead

    root = write_ledger(
        tmp_path / "bad",
        **{
            "customers.yaml": "- id: C1\n  name: One\n",
            "invoices.csv": "id,customer,date,amount\nI1,C1,2025-01-01,10.00\n",
            "payments.csv": "id,customer,date,amount,invoice\n"
            "P1,C1,2025-01-02,4.00,I9\n",  # an invoice no file has
        },
    )
    monkeypatch.setenv("ARLEDGER_BULK", "always")
    asked = Ahead(date(2025, 2, 1), None, True, True)
    ahead, said = loader.load(root, settle_ahead=asked)
    rows, said_by_rows = loader.load(root)
    assert ahead.bulk is None and rows.bulk is None
    assert said == said_by_rows and any(not e.warning for e in said)


def test_an_owner_filter_settles_from_cells_and_filters_after(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells, rows = both_ways(bench, monkeypatch)
    owners = sorted({c.owner for c in rows.customers.values() if c.owner})
    day = date.fromisoformat(generate.AS_OF)
    for owner in owners[:3]:
        assert settle(cells.view(day, owner=owner)) == settle(
            rows.view(day, owner=owner)
        )


def test_a_view_of_some_customers_makes_their_rows_alone(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells, rows = both_ways(bench, monkeypatch)
    some = sorted(rows.customers)[:5]
    for day in (date.fromisoformat(generate.AS_OF), date(2025, 6, 30)):
        view = cells.view(day, customers=some)
        want = rows.view(day, customers=some)
        assert view.bulk is None
        # The same rows, in the same order, where they were read.
        for kind in ("invoices", "payments", "adjustments"):
            got = list(getattr(view, kind))
            assert got == list(getattr(want, kind))
            assert [r.source for r in got] == [r.source for r in getattr(want, kind)]
        assert settle(view) == settle(want)
        assert view.currencies() == want.currencies()
    assert not cells.bulk.made
    # The ledger answers for those customers' invoices from the rows made.
    mine = [i for i in rows.invoices.values() if i.customer == some[0]]
    assert all(cells.invoices[i.id] == i for i in mine)
    assert not cells.bulk.made


def test_the_invoices_a_report_names_are_made_alone(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells, rows = both_ways(bench, monkeypatch)
    named = sorted(rows.invoices)[::97] + ["NO-SUCH-INVOICE"]
    got = cells.invoices_of(named)
    assert got == rows.invoices_of(named)
    assert list(got) == [i for i in rows.invoices if i in set(named)]
    assert not cells.bulk.made
    # Once every row is made, the same answer, from them.
    assert list(cells.payments) == list(rows.payments) and cells.bulk.made
    assert cells.invoices_of(named) == got


def test_a_view_of_a_currency_makes_every_row(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells, rows = both_ways(bench, monkeypatch)
    day = date.fromisoformat(generate.AS_OF)
    view = cells.view(day, currency="EUR")
    assert view.bulk is None
    assert settle(view) == settle(rows.view(day, currency="EUR"))
    assert cells.bulk.made
    # Once made, rows serve every view, and views settle from them.
    again = cells.view(day)
    assert again.bulk is None
    assert settle(again) == settle(rows.view(day))


def test_a_view_read_makes_the_rows_and_settles_from_them(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells, rows = both_ways(bench, monkeypatch)
    day = date.fromisoformat("2025-03-31")
    view = cells.view(day)
    assert view.invoices == rows.view(day).invoices
    assert cells.bulk.made and view.bulk is not None and not view.bulk.ready
    assert settle(view) == settle(rows.view(day))


def test_a_file_changed_after_the_load_is_said_not_read(
    bench: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ledger"
    generate.write_ledger(generate.generate(300, 3), root, "csv")
    cells, _ = load(root, "always", monkeypatch)
    assert cells.bulk is not None
    changed = sorted((root / "payments").glob("*.csv"))[-1]
    with changed.open("a", encoding="utf-8") as file:
        file.write("\n")
    with pytest.raises(LedgerInvalid) as caught:
        list(cells.payments)
    (error,) = caught.value.errors
    rel = changed.relative_to(root).as_posix()
    assert str(error) == (
        f"{rel}:1: changed while arledger was reading the ledger; run the command again"
    )


def test_texts_no_check_reads_are_cut_when_a_row_needs_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Descriptions, POs, methods, references and reasons are not cut with
    the rest of a bulk file (`loader._later_fields`): cut from the file when
    a row or lint asks for them, they are the row path's; a file changed
    since is said, not read."""
    from arledger.arrow_checks import read_by_none

    assert read_by_none("invoices") == {"description", "po"}
    assert read_by_none("payments") == {"method", "reference"}
    assert read_by_none("adjustments") == {"reason"}
    root = tmp_path / "ledger"
    generate.write_ledger(generate.generate(300, 3), root, "csv")
    cells, _ = load(root, "always", monkeypatch)
    rows, _ = load(root, "never", monkeypatch)
    files = cells.bulk.files
    assert all("description" not in f.cells for f in files["invoices"])
    assert all(f.has("description") for f in files["invoices"])
    # A few rows (a view of one customer), then all of them.
    customer = next(iter(rows.customers))
    view = cells.view(date.fromisoformat(generate.AS_OF), customers={customer})
    want = rows.view(date.fromisoformat(generate.AS_OF), customers={customer})
    assert list(view.invoices) == list(want.invoices)
    assert list(view.payments) == list(want.payments)
    assert any(i.description for i in view.invoices)
    assert list(cells.invoices.values()) == list(rows.invoices.values())
    assert tuple(cells.payments) == rows.payments
    assert tuple(cells.adjustments) == rows.adjustments
    # Cut for lint from a file changed since the load: said.
    cells, _ = load(root, "always", monkeypatch)
    changed = sorted((root / "payments").glob("*.csv"))[-1]
    with changed.open("a", encoding="utf-8") as file:
        file.write("\n")
    (file,) = [f for f in cells.bulk.files["payments"] if changed.name in f.path]
    with pytest.raises(LedgerInvalid) as caught:
        file.column("reference")
    (error,) = caught.value.errors
    assert str(error) == (
        f"{file.path}:1: changed while arledger was reading the ledger; "
        "run the command again"
    )


def test_ledgers_kept_as_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # YAML records, and the bundled demo (invoices in YAML): rows.
    ledger, _ = load(DEMO, "always", monkeypatch)
    assert ledger.bulk is None
    # Anything to say, about a bulk record or any other: rows, which say it.
    root = write_ledger(
        tmp_path / "bad",
        **{
            "customers.yaml": "- id: C1\n  name: One\n",
            "invoices.csv": "id,customer,date,amount\nI1,C1,2025-01-01,10.00\n",
            "payments.csv": "id,customer,date,amount,invoice\n"
            "P1,C1,2025-01-02,12.00,I1\n",
        },
    )
    cells, said = load(root, "always", monkeypatch)
    rows, said_by_rows = load(root, "never", monkeypatch)
    assert cells.bulk is None
    assert said == said_by_rows
    assert any(e.warning for e in said)  # paid more than the invoice
    # A contact naming an invoice is checked against the invoice's row.
    root = write_ledger(
        tmp_path / "contact",
        **{
            "customers.yaml": "- id: C1\n  name: One\n",
            "invoices.csv": "id,customer,date,amount\nI1,C1,2025-01-01,10.00\n",
            "contacts.yaml": "- customer: C1\n  date: 2025-01-05\n"
            "  channel: phone\n  invoice: I1\n",
        },
    )
    cells, said = load(root, "always", monkeypatch)
    assert cells.bulk is None and said == []
    # A clean one of the same shape is kept as cells.
    (root / "contacts.yaml").unlink()
    cells, said = load(root, "always", monkeypatch)
    assert cells.bulk is not None and said == []


def test_bulk_files_are_cut_from_their_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk file is handed to pyarrow as the bytes read (`_read_utf8`):
    its text is made only where the bytes do not show `_decode` would take
    it. A byte order mark, text beyond ASCII and quoted cells are kept as
    cells, and their rows are the row path's."""
    bom = "\ufeff"
    root = write_ledger(
        tmp_path / "utf8",
        **{
            "customers.yaml": "- id: C1\n  name: 北京贸易\n",
            "invoices.csv": f"{bom}id,customer,date,amount,description\n"
            'I1,C1,2025-01-01,10.00,"螺丝, 100 个"\nI2,C1,2025-01-03,5.50,Café\n',
            "payments.csv": "id,customer,date,amount,invoice,reference\n"
            "P1,C1,2025-01-05,4.00,I1,回款 1\n",
        },
    )
    read: list[str] = []
    decode = loader._decode
    monkeypatch.setattr(
        loader,
        "_decode",
        lambda raw, rel, errors: read.append(rel) or decode(raw, rel, errors),
    )
    cells, said = load(root, "always", monkeypatch)
    assert said == [] and cells.bulk is not None
    assert set(read) >= {"invoices.csv", "payments.csv"}  # not ASCII: decoded
    read.clear()
    rows, _ = load(root, "never", monkeypatch)
    assert dict(cells.invoices) == dict(rows.invoices)
    assert tuple(cells.payments) == tuple(rows.payments)
    # ASCII throughout: no text made for pyarrow's sake.
    (root / "invoices.csv").write_text(
        "id,customer,date,amount\nI1,C1,2025-01-01,10.00\n", encoding="utf-8"
    )
    (root / "payments.csv").write_text(
        "id,customer,date,amount\nP1,C1,2025-01-05,4.00\n", encoding="utf-8"
    )
    read.clear()
    cells, said = load(root, "always", monkeypatch)
    assert said == [] and cells.bulk is not None
    assert not {"invoices.csv", "payments.csv"} & set(read)


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        (b"id,amount\nI1,1.00\n", True),
        (b"id,amount\r\nI1,1.00\r\n", True),
        (b"\xef\xbb\xbfid\nI1\n", False),  # a byte order mark
        (b"id\nI\xc3\xa9\n", False),  # beyond ASCII
        (b"id\nI\x0b1\n", False),  # a control character
        (b"id\nI\x7f1\n", False),  # DEL
        (b"id\n" + b"x" * (loader.MAX_LINE_BYTES + 1) + b"\n", False),
    ],
)
def test_bytes_plain_text_is_what_decode_takes_as_it_is(
    raw: bytes, plain: bool
) -> None:
    """`_plain_text` never says yes where `_decode` would say a word or
    change the text."""
    errors: list = []
    text = loader._decode(raw, "f.csv", errors)
    assert loader._plain_text(loader._survey(raw)) is plain
    if plain:
        assert errors == [] and text is not None and text.encode() == raw


def test_the_switch_and_the_size(bench: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARLEDGER_BULK", raising=False)
    ledger, _ = loader.load(bench)
    assert ledger.bulk is None  # 3,000 invoices: below DEFER_BYTES
    monkeypatch.setattr(loader, "DEFER_BYTES", 1)
    ledger, _ = loader.load(bench)
    assert ledger.bulk is not None
    monkeypatch.setenv("ARLEDGER_BULK", "never")
    ledger, _ = loader.load(bench)
    assert ledger.bulk is None


def test_commands_print_the_same_bytes_both_ways(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the program, as a user runs it."""
    ledger, _ = load(bench, "never", monkeypatch)
    biggest = max(ledger.customers, key=lambda c: sum(
        1 for i in ledger.invoices.values() if i.customer == c
    ))  # fmt: skip
    for command in (
        ["aging"],
        ["aging", "--detail"],
        ["overdue"],
        ["risk"],
        ["forecast"],
        ["dunning"],
        ["collection"],
        ["collection", "--by", "month", "--period", "2026"],
        ["collection", "--by", "customer"],
        ["statement", biggest],
        ["aging", "--compare-to", "2025-12-31"],
        ["plans"],
        ["allowance"],
        ["limitation"],
        ["interest"],
        ["check", "--format", "json"],
    ):
        out = {}
        for way in ("always", "never"):
            env = {**os.environ, "ARLEDGER_BULK": way, "ARLEDGER_NO_CACHE": "1"}
            done = subprocess.run(
                [sys.executable, "-m", "arledger", *command, "--ledger", str(bench),
                 "--as-of", generate.AS_OF,
                 *(() if "--format" in command else ("--format", "csv"))],
                capture_output=True, text=True, env=env, check=False,
            )  # fmt: skip
            out[way] = (done.returncode, done.stdout, done.stderr)
        assert out["never"][0] in (0, 1), (command, out["never"][2])
        assert out["always"] == out["never"], command


ERRORS = sorted(p for p in (ROOT / "tests" / "errors").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", ERRORS, ids=lambda p: p.name)
def test_the_bad_input_catalogue_loads_alike_both_ways(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every case of tests/errors (tests/test_errors.py runs them through the
    program): the same problems, and the same records, whether the loader
    may keep the cells or not; none is kept as cells but the clean ones."""
    try:
        cells, said = load(case, "always", monkeypatch)
    except Exception as exc:  # a case with no ledger at all: alike too
        with pytest.raises(type(exc)):
            load(case, "never", monkeypatch)
        return
    rows, said_by_rows = load(case, "never", monkeypatch)
    assert said == said_by_rows
    if cells.bulk is not None:
        assert said == [] or all(e.warning for e in said)
    assert dict(cells.invoices) == dict(rows.invoices)
    assert tuple(cells.payments) == tuple(rows.payments)
    assert tuple(cells.adjustments) == tuple(rows.adjustments)


def test_lint_reads_the_cells_and_warns_as_rows_do(
    bench: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arledger.lint import lint

    cells, rows = both_ways(bench, monkeypatch)
    day = date.fromisoformat(generate.AS_OF)
    found = lint(cells, day)
    assert found == lint(rows, day)
    assert any("looks like a duplicate" in e.message for e in found)
    assert any("unapplied for" in e.message for e in found)
    # The records it warns about were made rows, and no other.
    assert not cells.bulk.made
    # Records dated after the day: every row is read, to name them.
    for early in AS_OF[:2]:
        cells, _ = load(bench, "always", monkeypatch)
        found = lint(cells, date.fromisoformat(early))
        assert found == lint(rows, date.fromisoformat(early))
        assert any("is dated" in e.message for e in found)


def test_lint_of_cells_compares_amounts_by_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arledger.lint import lint

    # 10.0 and 10.00 are one amount; a customer gives a reference twice;
    # cash without an id is known by its line; a payment after the day is not
    # a twin of one before it.
    root = write_ledger(
        tmp_path / "alike",
        **{
            "customers.yaml": "- id: C1\n  name: One\n- id: C2\n  name: Two\n",
            "invoices.csv": "id,customer,date,amount\n"
            "I1,C1,2025-01-01,10.00\nI2,C2,2025-01-01,30.00\n",
            "payments.csv": "id,customer,date,amount,reference\n"
            "P1,C1,2025-01-02,10.0,\n"
            "P2,C1,2025-01-03,10.00,\n"
            "P3,C2,2025-01-02,7.5,REF-1\n"
            "P4,C2,2025-01-09,1.25,REF-1\n"
            ",C1,2025-01-05,2.00,\n"
            "P6,C2,2025-03-05,7.50,\n",
        },
    )
    day = date(2025, 3, 1)
    cells, said = load(root, "always", monkeypatch)
    assert cells.bulk is not None and said == []
    rows, _ = load(root, "never", monkeypatch)
    found = lint(cells, day)
    assert found == lint(rows, day)
    messages = "\n".join(e.message for e in found)
    assert "P2 of C1 (USD 10.00) looks like a duplicate of P1" in messages
    assert "same reference 'REF-1'" in messages
    assert "USD 2.00 of payments.csv:6 (C1) unapplied" in messages


def test_lint_of_cells_gives_every_warning_of_the_lint_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests/test_lint.py's ledger, its bulk records in CSV: each warning of
    every check, both ways; then with a discount an invoice gives itself."""
    from arledger.lint import lint

    from .test_lint import LEDGER, TODAY

    invoices = (
        "id,customer,date,amount{}\n"
        "I1,C1,2026-09-01,1000.00{}\nI2,C2,2026-09-01,500.00{}\n"
        "I5,C4,2026-08-01,400.00{}\nI9,C1,2026-12-01,100.00{}\n"
    )
    payments = (
        "id,customer,date,amount,invoice,reference\n"
        "P1,C1,2026-09-20,980.00,I1,\nP4,C3,2026-09-15,250.00,,\n"
        "P5,C3,2026-10-10,100.00,,\nP6,C3,2026-10-12,100.00,,\n"
        "P7,C3,2026-10-20,70.00,,WIRE 42\nP8,C3,2026-10-25,80.00,,WIRE 42\n"
        "P9,C4,2026-08-20,400.00,I5,\nP10,C4,2026-09-25,400.00,I5,\n"
        "P11,C3,2026-11-05,10.00,,\n"
    )
    files = {k: v for k, v in LEDGER.items() if k not in ("invoices", "payments")}
    plain = invoices.format("", *[""] * 4)
    # I2's own discount, 1% in 5 days: C2 paid nothing, so nothing is unearned;
    # the column alone makes lint read every open invoice.
    own = invoices.format(",discount", ",", ",percent=1;days=5", ",", ",")
    for name, text in (("plain", plain), ("own", own)):
        root = write_ledger(
            tmp_path / name,
            **files,
            **{"invoices.csv": text, "payments.csv": payments},
        )
        cells, said = load(root, "always", monkeypatch)
        assert cells.bulk is not None and not [e for e in said if not e.warning]
        rows, _ = load(root, "never", monkeypatch)
        found = lint(cells, TODAY)
        assert found == lint(rows, TODAY)
        messages = "\n".join(e.message for e in found)
        for warning in (
            "looks like a duplicate",
            "unapplied for",
            "was broken",
            "no email, phone or address",
            "unearned",
            "is dated",
        ):
            assert warning in messages, warning


def test_rewind_reads_the_cash_of_the_cells_as_of_rows(
    bench: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workbook's trend (`settle.rewind_each`) reads a view's payments
    and adjustments from the kernel's columns of its cells, added up by
    account: the same credits, each amount the same Decimal (its exponent
    too), and no row made; amounts written with other places than their
    currency's are read from the rows (sums of minor units would not keep
    their exponents)."""
    from arledger.settle import rewind_each

    def odd_ledger(name: str, amounts: tuple[str, ...]) -> Path:
        i1, i2, i3, p1, p2, p3, p4, a1, a2 = amounts
        return write_ledger(
            tmp_path / name,
            **{
                "customers.yaml": "- id: C1\n  name: One\n"
                "- id: C2\n  name: Two\n  currency: EUR\n",
                "invoices.csv": "id,customer,date,amount,currency\n"
                f"I1,C1,2025-01-01,{i1},\nI2,C2,2025-01-03,{i2},\n"
                f"I3,C1,2025-02-01,{i3},JPY\n",
                "payments.csv": "id,customer,date,amount,invoice,currency\n"
                f"P1,C1,2025-01-05,{p1},,\nP2,C2,2025-01-06,{p2},I2,\n"
                f"P3,C1,2025-02-02,{p3},,JPY\nP4,C2,2025-03-01,{p4},,\n"
                "P5,C1,2025-04-01,1.00,,\n",
                "adjustments.csv": "id,customer,date,amount,kind,invoice\n"
                f"A1,C2,2025-01-20,{a1},credit_note,\n"
                f"A2,C1,2025-02-10,{a2},write_off,\n",
            },
        )

    plain = odd_ledger(
        "plain", ("100.00", "80.00", "550", "120.50", "10.00", "7", "2.25", "1.50",
                  "3.00"),
    )  # fmt: skip
    odd = odd_ledger(
        "odd", ("100.00", "80", "550", "120.5", "10", "7", "2.250", "1.5", "3")
    )
    on = [date(2025, 1, 10), date(2025, 2, 15), date(2025, 3, 31)]
    for root, days, from_cells in (
        (bench, [date(2025, 3, 31), date(2025, 12, 31), date(2026, 6, 30)], True),
        (plain, on, True),
        (odd, on, False),
    ):
        cells, said = load(root, "always", monkeypatch)
        assert cells.bulk is not None, said
        rows, _ = load(root, "never", monkeypatch)
        as_of = days[-1]
        want = list(rewind_each(settle(rows.view(as_of)), rows.view(as_of), days))
        # The view settled (its settlement keeps the cash), and another.
        view = cells.view(as_of)
        got = list(rewind_each(settle(view), view, days))
        assert view.bulk.cash is not None
        assert got == want
        assert [[str(c.amount) for c in s.credits] for s in got] == [
            [str(c.amount) for c in s.credits] for s in want
        ]
        assert any(s.credits for s in got)
        assert cells.bulk.made is not from_cells
        # Another view, its cash not kept by a settlement: read from rows.
        assert list(rewind_each(settle(view), cells.view(as_of), days)) == want


def test_export_of_cells_is_the_workbook_of_rows(bench: Path, tmp_path: Path) -> None:
    """The workbook, loaded as cells and as rows: the same parts, byte for
    byte but its creation time."""
    import re
    import zipfile

    parts = {}
    for way in ("always", "never"):
        target = tmp_path / f"{way}.xlsx"
        env = {**os.environ, "ARLEDGER_BULK": way, "ARLEDGER_NO_CACHE": "1"}
        done = subprocess.run(
            [sys.executable, "-m", "arledger", "export", str(target),
             "--ledger", str(bench), "--as-of", generate.AS_OF],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        with zipfile.ZipFile(target) as book:
            found = {name: book.read(name) for name in book.namelist()}
        found["docProps/core.xml"] = re.sub(
            rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\1",
            found["docProps/core.xml"],
        )  # fmt: skip
        parts[way] = found
    assert parts["always"] == parts["never"]
