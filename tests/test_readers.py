"""Readers keep text: they never decide what a value is (the models do)."""

from __future__ import annotations

from pathlib import Path

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
