"""Reading CSV by columns gives exactly the rows the record-by-record path gives.

The column reader is only a faster way to the same answer: whenever it returns
rows, the careful path accepts every record of the file, with equal values, in
the same order, and the decimal places it reports bound every amount's.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from arledger import loader
from arledger.fastpath import Builder, ColumnReader, decimal_places
from arledger.model import Adjustment, Invoice, Payment

KINDS = {Invoice: "invoices", Payment: "payments", Adjustment: "adjustments"}

dates = st.sampled_from(
    ["2026-01-31", "2026-02-28", "2026-02-30", "2026-1-5", "1899-12-31",
     "2999-12-31", "3000-01-01", " 2026-03-01 ", "20260301", ""]
)  # fmt: skip
amounts = st.sampled_from(
    ["100.00", "12.5", "0", "0.00", "-5", "1e3", " 7.50 ", ".5", "5.", "+3", "abc",
     "0.001", "1234567.891", "3", ""]
)  # fmt: skip
texts = st.sampled_from(
    ["", "plain", "with, comma", 'a "quoted" word', "  padded  ", "tab\there",
     "C1", "C2", "I1", "I2"]
)  # fmt: skip


def cells(name: str) -> st.SearchStrategy[str]:
    if name in ("date", "due"):
        return dates
    if name == "amount":
        return amounts
    if name == "currency":
        return st.sampled_from(["USD", "EUR", "usd", "US", ""])
    if name == "disputed":
        return st.sampled_from(["", "true", "no", "1", "maybe"])
    if name == "kind":
        return st.sampled_from(["credit_note", "write_off", "discount", "refund"])
    if name == "allocations":
        return st.sampled_from(["", "I1=10.00", "I1=5;I2=2.50", "I1", "I1=-1"])
    if name == "schedule":
        return st.sampled_from(["", "2026-03-01=100.00", "2026-03-01=50;2026-04-01=50"])
    if name in ("id", "customer"):
        return st.sampled_from(["C1", "C2", "I1", "I2", "P1", " I3 ", ""])
    return texts


@st.composite
def files(draw):
    model = draw(st.sampled_from(list(KINDS)))
    fields = [n for n in model.model_fields if n not in ("source", "dunning_block")]
    required = [n for n in fields if model.model_fields[n].is_required()]
    optional = draw(st.lists(st.sampled_from(fields), unique=True, max_size=5))
    names = list(dict.fromkeys(required + optional))
    names = draw(st.permutations(names))
    rows = draw(
        st.lists(
            st.fixed_dictionaries({n: cells(n) for n in names}), min_size=1, max_size=6
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(names)
    for row in rows:
        writer.writerow([row[n] for n in names])
    return model, out.getvalue()


def careful(model, text: str):
    """The record-by-record path: (records, problems)."""
    errors: list = []
    batch = loader._read_csv_records(text, "x.csv", KINDS[model], errors)
    results = loader._validate_batch(model, Builder(model), batch, errors)
    return results, errors


@settings(max_examples=400, deadline=None)
@given(files())
def test_columns_agree_with_the_careful_path(case):
    model, text = case
    read = ColumnReader(Builder(model)).read(text, "x.csv")
    if read is None:
        return
    rows, places, _ = read
    results, errors = careful(model, text)
    assert errors == []
    assert rows == results
    for row in rows:
        assert row.source == results[rows.index(row)].source
        amounts = [row.amount]
        amounts += [p.amount for p in getattr(row, "schedule", None) or ()]
        amounts += (getattr(row, "allocations", None) or {}).values()
        for amount in amounts:
            exponent = amount.normalize().as_tuple().exponent
            assert places is not None and -exponent <= places


def test_a_plain_file_is_read_by_columns_with_lines():
    text = (
        "id,customer,date,amount,description\n"
        'I1,C1,2026-01-05,100.00,"Pallets, heat treated"\n'
        "I2,C2,2026-01-06,7.5,Tape\n"
    )
    rows, places, _ = ColumnReader(Builder(Invoice)).read(text, "inv.csv")
    assert [r.id for r in rows] == ["I1", "I2"]
    assert rows[0].description == "Pallets, heat treated"
    assert rows[1].amount == Decimal("7.5") and places == 2
    assert [str(r.source) for r in rows] == ["inv.csv:2", "inv.csv:3"]


def test_unusual_files_are_left_to_the_careful_path():
    reader = ColumnReader(Builder(Invoice))
    head = "id,customer,date,amount\n"
    assert (
        reader.read(head + "I1,C1,2026-01-05,100\n\nI2,C1,2026-01-05,1\n", "x") is None
    )
    assert reader.read(head + 'I1,C1,2026-01-05,"1\n00"\n', "x") is None
    assert reader.read(head + "I1,C1,2026-13-05,100\n", "x") is None
    assert (
        reader.read("id,customer,date,amount,color\nI1,C1,2026-01-05,1,red\n", "x")
        is None
    )


def test_decimal_places_bounds_amounts():
    assert decimal_places("10\n20.50\n3.10") == 2
    assert decimal_places("10\n20\n") == 0
    assert decimal_places("1.0001") == 4
    assert decimal_places("1.00001") is None


@settings(max_examples=150, deadline=None)
@given(files(), st.integers(min_value=1, max_value=60))
def test_blocks_of_any_size_read_the_same(case, block):
    from arledger import fastpath

    model, text = case
    whole = ColumnReader(Builder(model)).read(text, "x.csv")
    saved = fastpath._BLOCK
    fastpath._BLOCK = block
    try:
        parts = ColumnReader(Builder(model)).read(text, "x.csv")
    finally:
        fastpath._BLOCK = saved
    assert parts == whole


def yaml_values(name: str) -> st.SearchStrategy[object]:
    if name == "disputed":
        return st.sampled_from(["true", "no", "maybe", True, False])
    if name == "allocations":
        return st.sampled_from([{"I1": "10.00"}, {"I1": "5", "I2": "2.50"}, {}, "x"])
    if name == "schedule":
        return st.sampled_from(
            [[{"due": "2026-03-01", "amount": "100.00"}], [], "x",
             [{"due": "2026-03-01", "amount": "50"}, {"due": "2026-04-01", "amount": "50"}]]
        )  # fmt: skip
    if name == "amount":
        return amounts | st.sampled_from([True, ["1"]])
    return cells(name)


@st.composite
def yaml_records(draw):
    model = draw(st.sampled_from(list(KINDS)))
    fields = [n for n in model.model_fields if n not in ("source", "dunning_block")]
    record = st.fixed_dictionaries({}, optional={n: yaml_values(n) for n in fields})
    return model, draw(st.lists(record, min_size=1, max_size=5))


@settings(max_examples=400, deadline=None)
@given(yaml_records())
def test_yaml_records_by_columns_agree_with_the_careful_path(case):
    model, records = case
    lines = [2 + 3 * i for i in range(len(records))]
    read = ColumnReader(Builder(model)).read_records(records, lines, "x.yaml")
    if read is None:
        return
    batch = loader._Batch("x.yaml", records, lines, lambda i, loc: lines[i])
    errors: list = []
    results = loader._validate_batch(model, Builder(model), batch, errors)
    assert errors == []
    assert read.rows == results
    assert [r.source.line for r in read.rows] == lines
