"""The loader's fast lane accepts only what pydantic accepts, with the same result."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from arledger.errors import Source
from arledger.fastpath import FAST_FIELDS, Builder, read_yaml_fast
from arledger.model import Adjustment, Contact, Customer, Invoice, Payment
from arledger.rows import row_of

SOURCE = Source("x.csv", 2)

# Text that is sometimes valid and often nearly so: the interesting edge.
dates = st.sampled_from(
    [
        "2026-01-31",
        "2026-02-30",
        "2026-1-5",
        "31/01/2026",
        "1899-12-31",
        "2999-12-31",
        " 2026-03-01 ",
        "20260301",
        "",
    ]
)
amounts = st.sampled_from(
    [
        "100.00",
        "0",
        "0.00",
        "-5",
        "1e3",
        "12,0x",
        " 7.5 ",
        ".5",
        "5.",
        "+3",
        "abc",
        "1_000",
        "NaN",
        "Infinity",
        "0.001",
    ]
)
words = st.text(alphabet=string.ascii_letters + " -_", max_size=6)
booleans = st.sampled_from(["true", "False", "yes", "NO", "1", "0", "on", "maybe", ""])
currencies = st.sampled_from(["USD", "eur", "US", "USDX", " jpy ", ""])


def field_values(name: str):
    if name in ("date", "due", "promise_date"):
        return dates
    if name in ("amount", "credit_limit", "promise_amount"):
        return amounts
    if name in ("disputed", "key_account", "hold"):
        return booleans
    if name == "currency":
        return currencies
    if name == "terms":
        return st.sampled_from(["30", "0", "-1", "3651", "3650", "x", "٣"])
    if name == "allocations":
        return st.dictionaries(st.sampled_from(["I1", "I2"]), amounts, max_size=2)
    if name == "schedule":
        instalment = st.fixed_dictionaries({"due": dates, "amount": amounts})
        return st.lists(instalment, max_size=3) | words
    if name in ("kind", "channel", "grade", "language"):
        return st.sampled_from(["credit_note", "phone", "A", "en", "zh", "E", "x"])
    return words


@st.composite
def rows(draw, model):
    names = list(FAST_FIELDS[model]) + ["dunning_block", "ammount"]
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=8))
    return model, {name: draw(field_values(name)) for name in chosen}


@settings(max_examples=600, deadline=None)
@given(st.sampled_from([Customer, Invoice, Payment, Adjustment, Contact]).flatmap(rows))
def test_fast_lane_agrees_with_pydantic(case):
    model, data = case
    fast = Builder(model).build(dict(data), SOURCE)
    try:
        slow = model.model_validate({**data, "source": SOURCE})
    except ValidationError:
        slow = None
    if fast is not None:
        assert slow is not None, f"fast lane accepted what pydantic refuses: {data}"
        assert fast == row_of(slow)
        assert fast.model_dump() == slow.model_dump()
        assert fast.source == SOURCE


def test_every_fast_field_is_a_model_field():
    for model, fields in FAST_FIELDS.items():
        assert set(fields) <= set(model.model_fields), model


def test_fast_yaml_keeps_text_and_lines():
    text = (
        "# comment\n"
        "- id: I1\n  amount: 1210.71\n  disputed: true\n  note:\n"
        "- {id: I2, amount: 0123, date: 2026-10-31}\n"
    )
    records, lines = read_yaml_fast(text)
    assert records == [
        {"id": "I1", "amount": "1210.71", "disputed": True},
        {"id": "I2", "amount": "0123", "date": "2026-10-31"},
    ]
    assert lines == [2, 6]


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


yaml_bits = st.sampled_from(
    ["- ", "-", "\n", "\r\n", " ", "  ", "id: ", "amount: ", "1", "12.50", ".5", "5.",
     "+.5", "-3", ".nan", ".Inf", "~", "Null", "NULL", "null", "&a", "*a", "!!str",
     "<<: ", "...", "---", "# note", ",", "[", "]", "{", "}", ":", "x", "&", "!"]
)  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(yaml_bits, max_size=30).map("".join))
def test_the_quick_yaml_screen_never_misses_what_the_full_pattern_finds(text):
    from arledger.fastpath import _UNSUPPORTED_YAML, _unsupported_yaml

    assert _unsupported_yaml(text) == (_UNSUPPORTED_YAML.search(text) is not None)
