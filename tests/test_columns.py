"""Reading by columns decides nothing: the same records, the same messages.

The loader checks records of every kind, and the settings, a column at a
time with the rules the models apply to one value and to one record
(arledger/rules.py), as arledger/_shapes.py (derived from the models) lists
them; whatever a rule refuses goes to the model, which says why. Drawn rows,
many of them nearly right, must give exactly what the models give one row at
a time.
"""

from __future__ import annotations

import sys

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from arledger import loader, rows
from arledger.errors import LedgerError, Source
from arledger.model import (
    Adjustment,
    Confirmation,
    Contact,
    Customer,
    Invoice,
    Payment,
    Plan,
    Settings,
)

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
    "allocations": [{"I1": "5.00"}, {"I1": "500"}, {}, {"I1": "x"}, {" I1 ": "5"}],
    "schedule": [
        [{"due": "2026-02-01", "amount": "100.00"}],
        [],
        [{"due": "2025-01-01", "amount": "100.00"}],
        [{"due": "2026-02-01", "amount": "60"}, {"due": "2026-03-01", "amount": "40"}],
        [{"due": "2026-02-01"}],
        "2026-02-01",
    ],
    "bogus": ["x"],
    "name": ["Acme", "  ", " B "],
    "terms": ["30", "-1", "true", "1_0", "5.0", "4000"],
    "credit_limit": ["100", "-1", "x"],
    "grade": ["A", "E", " B"],
    "key_account": ["yes", "maybe"],
    "dunning_block": [
        {"until": "2026-01-01"},
        {"until": "x"},
        {"until": "2026-01-01", "bogus": "1"},
        {"reason": "r"},
        "text",
    ],
    "discount": [
        {"percent": "2", "days": "10"},
        {"percent": "0", "days": "10"},
        {"percent": "100", "days": "1"},
        {"percent": "2"},
        {"percent": "2", "days": "-1"},
    ],
    "aliases": [["A", "B"], [], ["", "x"], "A", [["A"]]],
    "allowance_rate": ["0.5", "2"],
    "channel": ["phone", "fax", " email"],
    "promise_date": ["2026-03-01", "x"],
    "promise_amount": ["10", "0"],
    "acknowledged": ["true", "nope"],
    "note": ["n", ["n"]],
    "instalments": [
        [{"due": "2026-02-01", "amount": "5"}],
        [],
        [{"due": "2025-01-01", "amount": "5"}],
        [{"due": "2026-03-01", "amount": "5"}, {"due": "2026-02-01", "amount": "5"}],
        [{"due": "2026-03-01", "amount": "-5"}],
    ],
    "invoices": [["I1"], [], ["I1", "I1"], [None]],
    "balance": ["-5", "0", "x"],
    "status": ["confirmed", "no"],
}
FIELDS = {
    Invoice: ["id", "customer", "date", "due", "amount", "currency", "disputed",
              "description", "schedule", "bogus"],
    Payment: ["id", "customer", "date", "amount", "currency", "invoice", "method",
              "allocations"],
    Adjustment: ["id", "customer", "date", "amount", "kind", "invoice", "currency"],
    Customer: ["id", "name", "terms", "credit_limit", "grade", "key_account", "currency",
               "dunning_block", "discount", "aliases", "allowance_rate", "bogus"],
    Contact: ["customer", "date", "channel", "promise_date", "promise_amount",
              "invoice", "acknowledged", "note"],
    Plan: ["id", "customer", "date", "currency", "invoices", "instalments", "note"],
    Confirmation: ["customer", "date", "currency", "balance", "status", "note"],
}  # fmt: skip
REQUIRED = {
    Invoice: ["id", "customer", "date", "amount"],
    Payment: ["customer", "date", "amount"],
    Adjustment: ["id", "customer", "date", "amount", "kind"],
    Customer: ["id", "name"],
    Contact: ["customer", "date", "channel"],
    Plan: ["id", "customer", "date", "instalments"],
    Confirmation: ["customer", "date", "balance", "status"],
}


@st.composite
def batches(draw):
    model = draw(st.sampled_from(list(FIELDS)))
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        names = draw(st.lists(st.sampled_from(FIELDS[model]), unique=True))
        required = REQUIRED[model] if draw(st.booleans()) else []
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
    "instalments": ["2026-02-01=5", "2026-03-01=5;2026-02-01=5", "x"],
    "invoices": ["I1", "I1;I2", ";"],
    "aliases": ["A;B", "A", ";"],
    "dunning_block": ["until=2026-01-01", "until=x", "reason"],
    "discount": ["percent=2;days=10", "percent=0;days=1", "days=3"],
}
CSV_KINDS = {Invoice: "invoices", Payment: "payments", Adjustment: "adjustments",
             Customer: "customers", Contact: "contacts", Plan: "plans",
             Confirmation: "confirmations"}  # fmt: skip


@st.composite
def csv_files(draw):
    import csv
    import io

    model = draw(st.sampled_from(list(FIELDS)))
    names = draw(st.lists(st.sampled_from(FIELDS[model]), unique=True, min_size=1))
    names = [n for n in names if CSV_VALUES[n]] or ["id"]
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


SETTINGS_VALUES = {
    "currency": ["EUR", "eur", ["USD"]],
    "language": ["zh", "fr"],
    "paper": ["A4", "B5"],
    "terms": [{"default": "45"}, {"default": "-1"}, {"days": "3"}, "30"],
    "aging": [
        {"basis": "invoice"},
        {"buckets": ["10", "20"]},
        {"buckets": ["20", "10"]},
        {"buckets": []},
        {"buckets": ["0"]},
    ],
    "dunning": [
        {"min_amount": "50", "interest_rate": "0.08"},
        {"interest_rate": "8"},
        {"levels": [{"name": "a", "days": "1"}, {"name": "b", "days": "5"}]},
        {"levels": [{"name": "a", "days": "5"}, {"name": "b", "days": "5"}]},
        {"levels": [{"name": "a", "days": "1"}, {"name": "a", "days": "5"}]},
        {"levels": [{"name": "a", "days": "1", "action": "call", "pay_days": "3"}]},
        {"escalation": "days", "fee": "-1"},
    ],
    "company": [
        {"name": " Acme ", "zh": {"name": "阿克米"}},
        {"name": ["x"]},
        {"zh": {"phone": "1"}},
    ],
    "csv": [{"bom": "true"}, {"bom": "maybe"}],
    "smtp": [{"host": "mail", "port": "25"}, {"port": "25"}],
    "allowance": [
        {"rates": {"Current": "0.01", "1-30": "0.02", "31-60": "0.05",
                   "61-90": "0.1", "91-120": "0.3", "120+": "0.9"}},
        {"rates": {"Current": "0.01"}},
        {"disputed": "0.5", "accounts": {"expense": "E"}},
        {"disputed": "1.5"},
    ],
    "limitation": [{"years": "0"}, {"years": "3"}],
    "bogus": ["x"],
}  # fmt: skip


@st.composite
def settings_files(draw):
    names = draw(st.lists(st.sampled_from(list(SETTINGS_VALUES)), unique=True))
    return {name: draw(st.sampled_from(SETTINGS_VALUES[name])) for name in names}


@settings(max_examples=300, deadline=None)
@given(data=settings_files())
def test_settings_read_by_columns_are_what_the_model_makes(data):
    from pydantic import ValidationError

    plan = loader._column_plan("Settings")
    found = [None]
    left = loader._by_columns(plan, loader._columns_of(plan, [data]), 1, "", [], found)
    try:
        model = Settings.model_validate({**data, "source": Source("arledger.yaml", 1)})
    except ValidationError:
        assert left, "the columns took settings the model refuses"
        return
    if not left:
        assert found[0] == rows.row_of(model)


@given(
    texts=st.lists(
        st.text(alphabet="0123456789.+-eE_ ١", max_size=8), min_size=1, max_size=6
    )
)
def test_amounts_are_read_as_plain_decimals_whatever_the_column(texts):
    """`rules._decimals` reads a whole column at once when it can; a value is
    still plain exactly when the SPEC's pattern says so, alone or among others."""
    from decimal import Decimal

    from arledger import rules

    def alone(text: str) -> Decimal | None:
        try:
            return rules._decimals([text])[0]
        except rules.Bad:
            return None

    for text in texts:
        plain = rules._PLAIN_DECIMAL.fullmatch(text.strip()) is not None
        assert (alone(text) is not None) == plain, text
    each = [alone(text) for text in texts]
    try:
        together: list[Decimal | None] = rules._decimals(texts)
    except rules.Bad as bad:
        assert sorted(bad.messages) == [i for i, v in enumerate(each) if v is None]
    else:
        assert together == each


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet='ab,"\n\r\x85\u2028\x0c', max_size=40),
    st.integers(1, 8),
)
def test_csv_lines_are_stringio_lines_without_its_copy(text, piece):
    """The CSV reader's lines (`loader._csv_lines`) are exactly what
    `io.StringIO(text, newline="")` gives, whatever the line endings and
    wherever a piece ends; `\\x85`, `\\u2028` and `\\x0c` never end a line."""
    import io

    saved = loader._CSV_PIECE
    loader._CSV_PIECE = piece
    try:
        assert list(loader._csv_lines(text)) == list(io.StringIO(text, newline=""))
    finally:
        loader._CSV_PIECE = saved


def test_repeated_texts_ids_and_lines_are_kept_once(tmp_path):
    """What a big ledger repeats is one object, not a copy per record: a
    payment's invoice is the invoice's own id, a description that recurs is one
    string in a file, and two files share their line numbers; a payment of
    an invoice's amount, written alike, has its Decimal. Values are unchanged."""
    (tmp_path / "customers.csv").write_text("id,name\nC1,One\n")
    (tmp_path / "invoices").mkdir()
    (tmp_path / "payments").mkdir()
    for year in (2025, 2026):
        (tmp_path / "invoices" / f"{year}.csv").write_text(
            "id,customer,date,amount,description\n"
            + "".join(
                f"I{year}-{n},C1,{year}-01-02,10.00,Widget {n % 3}\n"
                for n in range(400)
            )
        )
        (tmp_path / "payments" / f"{year}.csv").write_text(
            "id,customer,date,amount,invoice\n"
            + "".join(
                f"P{year}-{n},C1,{year}-02-02,{('10.00', '10.0')[n % 2]},I{year}-{n}\n"
                for n in range(400)
            )
        )
    ledger, errors = loader.load(tmp_path)
    assert errors == []
    invoices = ledger.invoices
    assert all(p.invoice is invoices[p.invoice].id for p in ledger.payments)
    for p in ledger.payments:  # the invoice's amount when written alike
        assert (p.amount is invoices[p.invoice].amount) == (str(p.amount) == "10.00")
    assert {str(p.amount) for p in ledger.payments} == {"10.00", "10.0"}
    assert {p.invoice for p in ledger.payments} == set(invoices)
    for year in ("2025", "2026"):  # a file at a time
        descriptions = [i.description for i in invoices.values() if year in i.src_path]
        assert len({id(d) for d in descriptions}) == 3
        assert sorted(set(descriptions)) == ["Widget 0", "Widget 1", "Widget 2"]
    by_file: dict[str, dict[int, int]] = {}
    for record in [*invoices.values(), *ledger.payments]:
        by_file.setdefault(record.src_path, {})[record.src_line] = id(record.src_line)
    assert sorted(by_file["invoices/2025.csv"]) == list(range(2, 402))
    assert by_file["invoices/2025.csv"] == by_file["payments/2026.csv"]


@st.composite
def csv_files_with_trouble(draw):
    """CSV files as above, sometimes with a column no record reads (unknown or
    given twice), and sometimes with a row that is not a line of its own or
    does not fit the header, somewhere after the first rows."""
    model, text = draw(csv_files())
    lines = text.splitlines(keepends=True)
    extra = draw(st.sampled_from([None, "unknown", "duplicate"]))
    if extra is not None:  # a column no record reads, with a cell in each row
        name = "remarks" if extra == "unknown" else lines[0].split(",")[0].strip()
        lines = [
            line.rstrip("\n")
            + ("," + (name if n == 0 else "x") if line.strip() else "")
            + "\n"
            for n, line in enumerate(lines)
        ]
    trouble = draw(st.sampled_from([None, "ragged", "short", "quoted"]))
    if trouble is not None:
        width = lines[0].count(",") + 1
        row = {
            "ragged": ",".join(["x"] * (width + 1)) + "\n",
            "short": ",".join(["x"] * max(width - 1, 0)) + "\n" if width > 1 else "\n",
            "quoted": '"two\nlines"' + ",x" * (width - 1) + "\n",
        }[trouble]
        lines.insert(draw(st.integers(1, len(lines))), row)
    return model, "".join(lines)


def load_csv(
    model, text: str, chunk: int | None, by_records: bool = False, arrow: bool = False
):
    """One CSV file through the loader: by chunks of `chunk` rows, or whole
    (by columns, or `by_records`: each row validated by its model); `arrow`:
    read by pyarrow, however small."""
    from _pytest.monkeypatch import MonkeyPatch

    patch = MonkeyPatch()
    if arrow:
        patch.setattr(loader, "_ARROW_MIN_CHARS", 0)
    if by_records:
        patch.setattr(loader, "_column_plan", lambda model: None)
    if chunk is None:
        patch.setattr(
            loader,
            "_read_csv_by_chunks",
            lambda text, rel, kind, model, invoices, errors, ahead=None: (
                loader._read_csv_records(text, rel, kind, errors),
                [],
            ),
        )
    else:
        patch.setattr(loader, "_CSV_CHUNK", chunk)
    kind = CSV_KINDS[model]
    collected = loader._Collected()
    errors: list[LedgerError] = []
    try:
        loader._load_batch(kind, model.__name__, text, "x.csv", collected, errors)
    finally:
        patch.undo()
    return (
        collected.records[kind],
        sorted(errors, key=LedgerError.sort_key),
        collected.failed_ids[kind],
        sorted(map(str, collected.failed_refs)),
        collected.unread,
    )


TWO_LINES = (  # a quoted cell over two lines, then a row that validates
    "id,name,terms,dunning_block,discount\n"
    '"two\nlines",x,x,x,x\n'
    "I1,Acme,30,until=2026-01-01,percent=2;days=10\n"
    "I2,Bolt,30,,\n"
)


@settings(max_examples=300, deadline=None)
@given(file=csv_files_with_trouble(), chunk=st.integers(1, 3))
@example(file=(Customer, TWO_LINES), chunk=1)
@example(file=(Customer, "id,name\nC1,One\nC2,Two\nC3,Three,x\nC4,Four\n"), chunk=1)
def test_a_csv_file_read_by_chunks_gives_what_reading_it_whole_gives(file, chunk):
    """The loader validates a big CSV file a chunk of rows at a time (so that
    what it lets go is reused): the same records, problems, refused ids and
    unread kinds as the file read whole, with trouble in any chunk (then the
    file is read whole, row by row, and what the chunks said is dropped),
    read by the csv module or by pyarrow."""
    model, text = file
    whole = load_csv(model, text, None)
    assert load_csv(model, text, chunk) == whole
    assert load_csv(model, text, chunk, arrow=True) == whole
    # The records and their lines are those of each row read by its model
    # (which says only the first of a row's bad nested cells).
    assert load_csv(model, text, None, by_records=True)[0] == whole[0]


def cells_read(text: str, width: int, arrow: bool):
    """The rows `loader._csv_columns_fast` reads after a header line, each
    with its line, rows with no value left out (as `_texts_to_columns` drops
    them); None when the reader declines the file."""
    import csv

    names = [(k, f"f{k}", False) for k in range(width)]
    reader = csv.reader(loader._csv_lines(text), strict=True)
    next(reader)
    into: tuple[list, list] = ([], [])
    saved = loader._ARROW_MIN_CHARS
    loader._ARROW_MIN_CHARS = 0 if arrow else len(text) + 1
    try:
        if not loader._csv_columns_fast(text, reader, width, names, into):
            return None
    finally:
        loader._ARROW_MIN_CHARS = saved
    columns, lines = into
    rows = list(zip(lines, *columns, strict=True)) if columns else []
    return [row for row in rows if any(row[1:])]


CELL_TEXT = st.text(
    alphabet=st.sampled_from([*'aaaaaa  ,,"é\t\u3000\x85', "\n", "\r"]), max_size=6
)


@st.composite
def csv_lines(draw, width: int):
    """Lines of a CSV file after its header: mostly rows of `width` cells,
    plain or quoted (commas, doubled quotes and line ends inside), ended by
    LF or CRLF; sometimes a blank line, a short or long row, a lone CR, or
    characters anywhere."""
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        shape = draw(st.sampled_from(["row"] * 30 + ["blank", "junk", "ragged"]))
        if shape == "blank":
            lines.append(
                draw(st.sampled_from(["\n", "\r\n", " \n", ",,\n"][: 2 + width]))
            )
            continue
        if shape == "junk":
            lines.append(draw(CELL_TEXT))
            continue
        cells = []
        for _ in range(
            width + draw(st.sampled_from([0] * 8 + [-1, 1])) * (shape == "ragged")
        ):
            text = draw(CELL_TEXT)
            if draw(st.sampled_from([True, False, False])):
                cells.append(
                    '"'
                    + text.replace('"', '""')
                    + '"'
                    + draw(st.sampled_from([""] * 30 + [" ", "x"]))
                )
            else:
                cells.append(
                    text.replace('"', "")
                    .replace("\n", "")
                    .replace("\r", "")
                    .replace(",", "")
                )
        lines.append(
            ",".join(cells) + draw(st.sampled_from(["\n", "\r\n"] * 15 + ["\r", ""]))
        )
    return lines


@settings(max_examples=1000, deadline=None)
@given(st.data(), st.integers(1, 3), st.integers(1, 3))
def test_pyarrow_reads_a_csv_file_as_the_csv_module_does(data, width, chunk):
    """pyarrow reads big CSV files (`loader._arrow_chunks`): whatever it
    does not decline, it reads exactly as the csv module does, cell for cell
    and line for line, with quotes, blank lines, carriage returns and Unicode
    white space anywhere, and chunks ending anywhere."""
    lines = data.draw(csv_lines(width))
    text = ",".join(f"h{k}" for k in range(width)) + "\n" + "".join(lines)
    saved = loader._CSV_CHUNK
    loader._CSV_CHUNK = chunk
    try:
        by_arrow = cells_read(text, width, arrow=True)
        if by_arrow is not None:
            assert by_arrow == cells_read(text, width, arrow=False)
        event("read by pyarrow" if by_arrow is not None else "declined")
    finally:
        loader._CSV_CHUNK = saved


def test_pyarrow_reads_plain_and_quoted_files():
    """Files of the usual shape are read by pyarrow, not declined: quoted
    cells with commas and doubled quotes, CRLF line ends, white space and a
    blank line."""
    text = (
        "id,name,note\r\n"
        'I1, Acme ,"a, b"\r\n'
        'I2,"Bolt ""the"" best",\u3000x\u3000\r\n'
        "\r\n"
        "I3,,\r\n"
    )
    assert cells_read(text, 3, arrow=True) == [
        (2, "I1", "Acme", "a, b"),
        (3, "I2", 'Bolt "the" best', "x"),
        (5, "I3", "", ""),
    ]


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("a,b\n", True),
        ('a,"b, c"\r\n"d",e\n"",f', True),
        ('"a","b"\n', True),
        ('a,"b"x\n', False),  # text after the closing quote
        ('a, "b"\n', False),  # white space before the opening quote
        ('a,"b ""c"""\n', False),  # a doubled quote
        ('a"b",c\n', False),  # a quote inside a cell
        ('a,"b\nc"\n', False),  # over two lines
        ('a,"b\r",c\n', False),  # a carriage return inside
    ],
)
def test_plain_quoted_cells(text, plain):
    """A quoted cell is plain when no two readers can read it differently;
    only lines with other quotes are read again by the csv module."""
    assert loader._plain_quotes(text) is plain
    assert (list(loader._quoted_lines("h\n" + text, 2)) == []) is plain


def test_the_trim_called_by_name_is_pyarrow_computes(monkeypatch):
    """`_trimmer` calls pyarrow's kernel by its name, without importing
    pyarrow.compute; where pyarrow._compute is not as expected it goes
    through pyarrow.compute, with the same cells."""
    import pyarrow as pa
    import pyarrow.compute  # noqa: F401 - imported before the module is hidden

    cells = pa.chunked_array([[" a ", None, "\u3000b\u3000", "", "c d"]])
    white, pool = loader._white_space(), loader._arrow_pool()
    by_name = loader._trimmer(white, pool)(cells).to_pylist()
    monkeypatch.setitem(sys.modules, "pyarrow._compute", None)
    assert loader._trimmer(white, pool)(cells).to_pylist() == by_name
    assert by_name == ["a", None, "b", "", "c d"]


def test_reading_a_big_file_does_not_import_pyarrow_compute():
    """pyarrow.compute takes 25 ms to import: a big file is read without it."""
    import subprocess

    code = (
        "import sys\n"
        "from arledger import loader\n"
        "text = 'id,name\\n' + 'I1,\"a, b\"\\n' * 120000\n"
        "assert len(text) >= loader._ARROW_MIN_CHARS\n"
        "names = [(0, 'id', False), (1, 'name', False)]\n"
        "chunks = list(loader._arrow_chunks(text, 2, names))\n"
        "assert chunks and None not in chunks\n"
        "print('pyarrow.compute' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"


def test_white_space_is_what_str_strip_strips():
    every = "".join(map(chr, range(0x110000)))
    assert loader._white_space() == "".join(c for c in every if c.isspace())


def test_without_pyarrow_a_big_file_is_read_by_the_csv_module(monkeypatch):
    """An install where pyarrow cannot be imported reads every file, the
    same, by the csv module."""
    text = 'id,name,note\nI1,Acme,"a, b"\nI2,Bolt,x\n'
    with_arrow = cells_read(text, 3, arrow=True)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import raises ImportError
    assert loader._arrow_chunks(text, 3, [(0, "id", False)]) is None
    assert cells_read(text, 3, arrow=True) == with_arrow


def test_files_cut_one_ahead_load_as_files_read_in_turn(tmp_path, monkeypatch):
    """Big CSV files are cut by pyarrow one file ahead, in a thread of their
    own (`loader._read_ahead`): the ledger and every problem are those of
    reading each file in turn, by pyarrow or by the csv module, and the
    cutting did run in that thread."""
    import threading

    root = tmp_path / "ledger"
    files = {
        "customers.csv": "id,name,currency\nC1,One,USD\nC2,Two,EUR\n",
        "invoices/a.csv": (
            "id,customer,date,amount\n"
            "I1,C1,2026-01-05,100.00\n"
            "I2,C2,2026-01-06,not much\n"
            "I1,C2,2026-01-07,5.00\n"
        ),
        "invoices/b.csv": (
            "id,customer,date,amount\n"
            "I3,C1,2026-02-01,40.00\n"
            "I4,C1,2026-02-02,1.00,extra\n"
            '"I5",C2,2026-02-03,"7.50"\n'
        ),
        "payments.csv": (
            "id,customer,date,amount,invoice,reference\n"
            'P1,C1,2026-02-10,100.00,I1,"wire, ref 1"\n'
            "P2,C2,2026-02-11,7.50,I9,\n"
            'P3,C1,2026-02-12,20.00,I3,"a ""quoted"" ref"\n'
        ),
        "adjustments.csv": (
            "id,customer,date,kind,amount,invoice\n"
            "A1,C1,2026-02-20,credit_note,5.00,I3\n"
        ),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    cut_in: list[str] = []
    arrow_cells = loader._arrow_cells

    def recorded(text: str, width: int, later=()):
        cut_in.append(threading.current_thread().name)
        return arrow_cells(text, width, later)

    def loaded():
        ledger, errors = loader.load(root)
        records = [
            r.model_dump()
            for r in (*ledger.invoices.values(), *ledger.payments, *ledger.adjustments)
        ]
        return records, [str(e) for e in errors]

    monkeypatch.setattr(loader, "_arrow_cells", recorded)
    monkeypatch.setattr(loader, "_ARROW_MIN_CHARS", 0)
    ahead = loaded()
    # (one thread; two where the bulk files may be kept as cells)
    assert {name.rpartition("_")[0] for name in cut_in} == {"arledger-read-ahead"}
    assert len(cut_in) == len(files)
    monkeypatch.setattr(loader, "_header_width", lambda text: None)
    in_turn = loaded()
    assert "MainThread" in cut_in  # cut when each file's turn came
    monkeypatch.setattr(loader, "_ARROW_MIN_CHARS", 1 << 60)
    by_csv = loaded()
    assert ahead == in_turn == by_csv
    assert any("not much" in e for e in ahead[1])


def test_a_repeating_column_is_read_as_one_string_per_value():
    """pyarrow keeps a column whose first values repeat as one string per
    value and each cell's index (`loader._arrow_cells`): the cells are the
    csv module's, each value one object, and the column says so."""
    import csv

    rows = [f"I{n},{' C1' if n % 3 else 'C2 '},x{n}\n" for n in range(40)]
    rows[7] = 'I7,"C1",x7\n'  # a plain quoted cell
    rows[8] = 'I8, "C2",x8\n'  # a line the csv module reads again
    text = "id,customer,note\n" + "".join(rows)
    assert cells_read(text, 3, arrow=True) == cells_read(text, 3, arrow=False)
    names = [(0, "id", False), (1, "customer", False), (2, "note", False)]
    cells = loader._arrow_cells(text, 3)
    assert cells.values is not None
    assert cells.values[1] == ["C2", "C1", '"C2"'] and cells.values[0] is None
    reader = csv.reader(loader._csv_lines(text), strict=True)
    next(reader)
    into: tuple[list, list] = ([], [])
    saved = loader._ARROW_MIN_CHARS
    loader._ARROW_MIN_CHARS = 0
    try:
        assert loader._csv_columns_fast(text, reader, 3, names, into)
    finally:
        loader._ARROW_MIN_CHARS = saved
    customers = into[0][1]
    assert customers.shared and len(set(map(id, customers))) <= 3


@pytest.mark.parametrize(
    ("text", "width"),
    [
        ("id,name\nI1,a\n", 2),
        ("id,name,note\r\nI1,a,b\r\n", 3),
        ("id\n", 1),
        ('"id",name\nI1,a\n', None),  # a quoted header: read in turn
        ("id\r,name\nI1,a\n", None),  # a lone carriage return
    ],
)
def test_the_header_a_file_is_cut_ahead_for(text, width):
    """A file is cut ahead (`loader._read_ahead`) for the width of its first
    line, where that line is the header as `_csv_cells` reads it."""
    import csv

    assert loader._header_width(text) == width
    if width is not None:
        assert len(next(csv.reader(loader._csv_lines(text), strict=True))) == width
