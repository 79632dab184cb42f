"""Reading by columns decides nothing: the same records, the same messages.

The loader checks plain rows of the bulk kinds a column at a time with the
rules the models apply to one value (arledger/rules.py); whatever a rule
refuses goes to the model, which says why. Drawn rows, many of them nearly
right, must give exactly what the models give one row at a time.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from arledger import loader
from arledger.errors import LedgerError
from arledger.model import Adjustment, Invoice, Payment

VALUES = {
    "id": ["I1", " I2 ", "", "  ", "X-9"],
    "customer": ["C1", "C2 ", ""],
    "date": [
        "2026-01-31",
        "2026-02-30",
        "31/01/2026",
        "1899-12-31",
        " 2026-03-01 ",
        "20260301",
    ],
    "due": ["2026-03-01", "2025-01-01", "soon"],
    "amount": [
        "100.00",
        "0",
        "-5",
        "1e3",
        " 7.5 ",
        ".5",
        "5.",
        "+3",
        "1_000",
        "NaN",
        "1" * 30,
    ],
    "currency": ["USD", "usd", "XYZ", " EUR ", "JPY"],
    "disputed": ["true", "No", "maybe", "1", ""],
    "kind": ["credit_note", "write_off", " discount ", "refund"],
    "invoice": ["I1", ""],
    "description": ["a", "  b  ", ""],
    "method": ["wire"],
    "allocations": [{"I1": "5.00"}],
    "schedule": [[{"due": "2026-02-01", "amount": "100.00"}]],
    "bogus": ["x"],
}
FIELDS = {
    Invoice: ["id", "customer", "date", "due", "amount", "currency", "disputed",
              "description", "schedule", "bogus"],
    Payment: ["id", "customer", "date", "amount", "currency", "invoice", "method",
              "allocations"],
    Adjustment: ["id", "customer", "date", "amount", "kind", "invoice", "currency"],
}  # fmt: skip


@st.composite
def batches(draw):
    model = draw(st.sampled_from(list(FIELDS)))
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        names = draw(st.lists(st.sampled_from(FIELDS[model]), unique=True))
        required = ["customer", "date", "amount"] if draw(st.booleans()) else []
        rows.append(
            {
                name: draw(st.sampled_from(VALUES[name]))
                for name in dict.fromkeys([*required, *names])
            }
        )
    return model, rows


def validate(model, rows, by_columns: bool, monkeypatch):
    if not by_columns:
        monkeypatch.setattr(loader, "_column_plan", lambda model: None)
    lines = [n + 2 for n in range(len(rows))]
    batch = loader._Batch("x.csv", list(rows), lines, lambda i, loc: lines[i])
    errors: list[LedgerError] = []
    results = loader._validate_batch(model, batch, errors)
    monkeypatch.undo()
    return results, errors


@settings(max_examples=400, deadline=None)
@given(batch=batches())
def test_columns_give_what_the_models_give(batch):
    from _pytest.monkeypatch import MonkeyPatch

    model, rows = batch
    patch = MonkeyPatch()
    by_columns = validate(model, rows, True, patch)
    one_by_one = validate(model, rows, False, patch)
    assert by_columns == one_by_one


CSV_VALUES = {
    **{k: [v for v in vs if isinstance(v, str)] for k, vs in VALUES.items()},
    "allocations": ["I1=5.00", "I1=5;I1=6", "x", ""],
    "schedule": ["2026-02-01=100.00", "soon=1", ""],
}
CSV_KINDS = {Invoice: "invoices", Payment: "payments", Adjustment: "adjustments"}


@st.composite
def csv_files(draw):
    import csv
    import io

    model = draw(st.sampled_from(list(FIELDS)))
    names = draw(st.lists(st.sampled_from(FIELDS[model]), unique=True, min_size=1))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.booleans()) and len(names) > 1:
            writer.writerow([])  # a blank line
        writer.writerow([draw(st.sampled_from(CSV_VALUES[n] or [""])) for n in names])
    return model, out.getvalue()


def read_csv(model, text: str, by_columns: bool):
    from _pytest.monkeypatch import MonkeyPatch

    patch = MonkeyPatch()
    if not by_columns:
        patch.setattr(loader, "_column_plan", lambda model: None)
    errors: list[LedgerError] = []
    try:
        batch = loader._read_batch(text, "x.csv", CSV_KINDS[model], errors)
        results = loader._validate_batch(model, batch, errors)
    finally:
        patch.undo()
    return results, errors, list(batch.lines)


@settings(max_examples=300, deadline=None)
@given(file=csv_files())
def test_a_csv_file_read_by_columns_gives_what_reading_it_by_records_gives(file):
    model, text = file
    assert read_csv(model, text, True) == read_csv(model, text, False)
