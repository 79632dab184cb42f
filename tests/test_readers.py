"""Readers keep text: they never decide what a value is (the models do)."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arledger import loader, readers
from arledger.readers import csv_nested, read_yaml_fast


def test_fast_yaml_keeps_text_and_lines():
    text = (
        "# comment\n"
        "- id: I1\n  amount: 1210.71\n  disputed: true\n  note:\n"
        "- {id: I2, amount: 0123, date: 2026-10-31, hold: false}\n"
    )
    records, lines = read_yaml_fast(text)
    assert records == [
        {"id": "I1", "amount": "1210.71", "disputed": "true"},
        {"id": "I2", "amount": "0123", "date": "2026-10-31", "hold": "false"},
    ]
    assert lines == [2, 6]


def test_fast_yaml_gives_flags_as_the_text_written():
    records, _ = read_yaml_fast("- {id: C1, terms: true, tags: [true, x]}\n")
    assert records == [{"id": "C1", "terms": "true", "tags": ["true", "x"]}]


def test_fast_yaml_declines_what_it_cannot_read_exactly():
    for text in (
        "- &a {id: I1}\n- *a\n",
        "- {id: I1, x: ~}\n",
        "- {id: I1, id: I2}\n",
        "- {id: [\n",
        "a: 1\n",
        "---\n- {id: 1}\n---\n- {id: 2}\n",
    ):
        assert read_yaml_fast(text) is None, text


def test_csv_allocations_name_each_invoice_once():
    assert csv_nested("allocations", "I1=100.00; I2=50") == {"I1": "100.00", "I2": "50"}
    with pytest.raises(ValueError, match="'I2' is given twice"):
        csv_nested("allocations", "I2=100.00;I2=50.00")


def test_csv_schedule_may_have_two_instalments_on_one_day():
    assert csv_nested("schedule", "2026-03-01=5;2026-03-01=5") == [
        {"due": "2026-03-01", "amount": "5"},
        {"due": "2026-03-01", "amount": "5"},
    ]


yaml_bits = st.sampled_from(
    ["- ", "-", "\n", "\r\n", " ", "  ", "id: ", "amount: ", "1", "12.50", ".5", "5.",
     "+.5", "-3", ".nan", ".Inf", "~", "Null", "NULL", "null", "&a", "*a", "!!str",
     "<<: ", "...", "---", "# note", ",", "[", "]", "{", "}", ":", "x", "&", "!"]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(yaml_bits, max_size=30).map("".join))
def test_the_quick_yaml_screen_never_misses_what_the_full_pattern_finds(text):
    from arledger.readers import _UNSUPPORTED_YAML, _unsupported_yaml

    assert _unsupported_yaml(text) == (_UNSUPPORTED_YAML.search(text) is not None)


SETTINGS_TEXTS = [
    Path("examples/demo/arledger.yaml").read_text(encoding="utf-8"),
    "currency: EUR\n",
    "aging:\n  buckets: [10, 20]\n  basis: invoice\n",
    "dunning:\n  levels:\n    - {name: a, days: 1}\n    - name: b\n      days: 7\n"
    "  fee:\n  min_amount: 50.5\n",
    "company:\n  name: 'A  '\n  bank: |\n    line 1\n    line 2\n  zh:\n    name: 乙\n",
    "csv: {bom: true}\nterms: {default: 1_0}\nlanguage: zh # comment\n",
    "allowance:\n  rates: {Current: 0.005, 1-30: .02}\n",
]


@pytest.mark.parametrize("text", SETTINGS_TEXTS)
def test_fast_settings_are_what_pyyaml_reads(text):
    errors: list = []
    node, readable = loader._compose(text, "arledger.yaml", errors)
    slow = loader._node_value(node, "arledger.yaml", errors)
    fast = readers.read_yaml_mapping_fast(text)
    assert fast is None or fast == slow
    assert fast is not None or ".02" in text  # declined only where it must


def test_settings_load_the_same_either_way(monkeypatch):
    fast = loader.load("examples/demo")[0].settings
    monkeypatch.setattr(loader, "read_yaml_mapping_fast", lambda text: None)
    assert loader.load("examples/demo")[0].settings == fast


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="- \na:", max_size=40))
def test_record_lines_are_the_lines_starting_with_a_dash_and_a_space(text):
    from itertools import compress, count, repeat

    starts = map(str.startswith, text.split("\n"), repeat("- "))
    assert readers._record_lines(text) == list(compress(count(1), starts))


# ---------------------------------------------------------------- YAML columns
# arledger/_plainyaml.c reads the plainest record files straight into columns;
# whatever it takes, it reads as PyYAML's path does (`_read_yaml_records`).


def _columns_as_records(text: str):
    """What read_yaml_columns makes of `text`, as records and lines (None:
    declined), after checking what it says of its columns of text."""
    found = readers.read_yaml_columns(text)
    if found is None:
        return None
    columns, lines, texts = found
    assert all(len(column) == len(lines) for column in columns.values())
    for name, column in columns.items():
        given = [value for value in column if value is not None]
        trimmed = all(type(v) is str and v == v.strip() for v in given)
        assert (name in texts) == trimmed, name
        if name in texts:
            assert texts[name] == len(column) - len(given)
    rows = loader._ColumnRows(columns, len(lines))
    return [rows[i] for i in range(len(lines))], lines


def _through_pyyaml(text: str):
    errors: list = []
    batch = loader._read_yaml_records(text, "x.yaml", errors)
    if errors or batch.broken:
        return "refused", [str(error) for error in errors]
    return list(batch.rows), batch.lines


PLAIN_FILE = (
    "# written by hand\n"
    "- id: I1\n"
    "  customer: C1   # a comment\n"
    "  date: 2025-01-01\n"
    "  amount: -5.\n"
    '  description: "a  b # not a comment "\n'
    "  po: 'x \"y\"'\n"
    "  time: 10:30\n"
    "  flag: true\n"
    "  schedule:\n"
    "    - {due: 2025-01-31, amount: 29.54}\n"
    "\n"
    "    - {due: 2025-03-02, amount: null, note: two words}\n"
    "  allocations:\n"
    "      INV-1: 5.00\n"
    "      INV-2: ~\n"
    "  aliases: [A, 'B', c d, null]\n"
    "  empty:\n"
    "  nothing: Null\n"
    "  none: {}\n"
    "- allocations: # below\n"
    "    X.Y-z: q\n"
    "  id: I2\n"
    "  text: a&b *c !d, e]f\n"
    "  list:\n"
    "   - .5\n"
    "   - '  spaced '\n"
    "  last: end"
)


def test_yaml_columns_read_the_plain_shape_as_pyyaml_does():
    records, lines = _columns_as_records(PLAIN_FILE)
    assert (records, lines) == _through_pyyaml(PLAIN_FILE)
    assert lines == [2, 21]
    assert records[0]["description"] == "a  b # not a comment "
    assert records[0]["allocations"] == {"INV-1": "5.00"}  # a null: not given
    assert records[0]["aliases"] == ["A", "B", "c d", None]
    assert "empty" not in records[0] and "nothing" not in records[0]
    assert records[1]["list"] == [".5", "  spaced "]


@pytest.mark.parametrize(
    "text",
    [
        "- id: I1\r\n",  # CR
        "- id: I1\n  note:\tx\n",  # a tab
        "- id: Ä1\n",  # not ASCII
        '- id: "a\\"b"\n',  # an escape
        "- id: 'it''s'\n",
        "- id: I1\n  note: a\n    b\n",  # a value over two lines
        '- id: "a\n  b"\n',
        "- id: &a I1\n",  # an anchor, an alias, a tag
        "- id: *a\n",
        "- id: !!str I1\n",
        "- id: I1\n  id: I2\n",  # a key twice
        "- id: I1\n  id:\n",
        "- id: I1\n  m: {a: 1, a: 2}\n",
        "- id: I1\n  m:\n    a: 1\n    a: ~\n",
        "---\n- id: I1\n",  # document markers
        "- id: I1\n...\n",
        "-\n  id: I1\n",  # `-` alone on its line
        "- id: I1\n  list:\n  - a\n",  # a list at its key's indent
        "- id: I1\n  note: a: b\n",  # a mapping in a plain value: an error
        "- id: I1\n  note: |\n    text\n",  # block scalars
        "- id: I1\n  m:\n    a:\n      b: 1\n",  # nested deeper
        "- id: I1\n  m: {a: {b: 1}}\n",
        "- id: I1\n  m: [a, ]\n",
        "- id: I1\n  m: [a\n",
        "- id: I1\n   x: 1\n",  # an odd indent
        "id: I1\n",  # not a list
        "# only a comment\n",
        "",
        "- id: I1\n  note: '\x7f'\n",
    ],
)
def test_yaml_columns_decline_all_else(text):
    assert readers.read_yaml_columns(text) is None


plain_bits = st.sampled_from(
    ["- ", "-", "\n", "\n- ", "\n  ", "\n    ", "\n    - ", " ", "  ", "id: ",
     "amount: ", "m:", "k: ", "a: ", "1", "12.50", ".5", "-3", "~", "null", "Null",
     "true", "x", "a b", "'q'", "' s '", '"d"', '" d "', "{a: 1, b: x}", "{a: ~}",
     "[a, 'b']", "[]", "{}", "# note", " #", "#", ",", "[", "]", "{", "}", ":",
     ": ", "&", "*", "!", "|", ">", "?", "%", "@", "`", "'", '"', "\\", "\t",
     "---", "...", "<<: "]
)  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(plain_bits, max_size=40).map("".join))
def test_yaml_columns_read_what_they_take_as_pyyaml_does(text):
    found = _columns_as_records(text)
    if found is not None:
        assert found == _through_pyyaml(text)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_yaml_columns_agree_on_a_plain_file_changed_anywhere(data):
    text = PLAIN_FILE
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(plain_bits) + text[at:]
    found = _columns_as_records(text)
    if found is not None:
        assert found == _through_pyyaml(text)


@pytest.mark.parametrize("suffix", ["", "# ~\n", "  # \t\n", "  # \t~\n", "- &a x\n"])
def test_a_duplicate_id_is_reported_at_its_key_whichever_reader_reads(tmp_path, suffix):
    """A duplicate id in a YAML file is reported at its id's line, whichever
    reader took the file (the columns, rapidyaml, or PyYAML for a file the
    others decline): each says it at its record's first line, all their
    records know, and the loader points at the key, as for a cross-check.
    (Before, a file only PyYAML read was said at the key, others at the
    record.)"""
    (tmp_path / "customers.yaml").write_text("- {id: C1, name: Acme}\n")
    (tmp_path / "invoices.yaml").write_text(
        "- customer: C1\n  id: I1\n  date: 2026-01-01\n  amount: 5\n"
        "- customer: C1\n  date: 2026-01-01\n  id: I1\n  amount: 6\n" + suffix
    )
    found = [str(error) for error in loader.load(tmp_path)[1]]
    said = "invoices.yaml:7: duplicate invoice id 'I1' (first at invoices.yaml:1)"
    assert said in found
    with mock.patch.object(loader, "read_yaml_columns", lambda text: None):
        assert [str(error) for error in loader.load(tmp_path)[1]] == found
        with mock.patch.object(loader, "read_yaml_fast", lambda text: None):
            assert [str(error) for error in loader.load(tmp_path)[1]] == found
