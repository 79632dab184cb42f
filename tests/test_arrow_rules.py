"""The arrow forms of the value rules (arledger/arrow_rules.py) give what the
list rules of arledger/rules.py give: the same value for every text they
accept (an amount's exponent included) and the same message, at the same
index, for every text they refuse; a cell not given stays not given."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arledger import rules

pa = pytest.importorskip("pyarrow")
arrow_rules = pytest.importorskip("arledger.arrow_rules")

# Texts near each rule's edges: ASCII and other digits, signs, points, white
# space inside, impossible dates, codes in the wrong case, flags of any case.
_DIGITS = st.sampled_from("0123456789")
_NEAR_AMOUNT = st.one_of(
    st.text(_DIGITS, min_size=1, max_size=30),
    st.builds(
        lambda a, b: f"{a}.{b}",
        st.text(_DIGITS, max_size=16),
        st.text(_DIGITS, max_size=6),
    ),
    st.builds(lambda s, a: f"{s}{a}", st.sampled_from(["+", "-", ""]), _DIGITS),
    st.sampled_from(
        ["0", "0.00", "00.10", "1.", ".5", "١٢٣", "1.2.3", "1 000", "1e3", "-1", ""]
    ),
    st.text(st.sampled_from("0123456789.+-e١ "), max_size=8),
)
_NEAR_DATE = st.one_of(
    st.dates(date(1890, 1, 1), date(3010, 12, 31)).map(date.isoformat),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.integers(1899, 3001),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
    st.sampled_from(["31/03/2026", "2026-1-5", "2026-01-01T00:00", "", "today"]),
)
_NEAR_CODE = st.one_of(
    st.sampled_from(["USD", "EUR", "CNY", "JPY", "usd", "Eur", "XYZ", "US", ""]),
    st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabc"), max_size=4),
)
_NEAR_FLAG = st.one_of(
    st.sampled_from(["true", "FALSE", "Yes", "no", "1", "0", "y", "2", "", "on"]),
    st.text(max_size=4),
)
_ANY_TEXT = st.text(max_size=12)

CASES = {
    "amounts": (rules.amounts, _NEAR_AMOUNT),
    "dates": (rules.dates, _NEAR_DATE),
    "currencies": (rules.currencies, _NEAR_CODE),
    "flags": (rules.flags, _NEAR_FLAG),
    "ids": (rules.ids, _ANY_TEXT),
    "texts": (rules.texts, _ANY_TEXT),
}


def _by_list_rule(rule: rules.Rule, text: str) -> tuple[Any, str | None]:
    try:
        return rule([text])[0], None
    except rules.Bad as bad:
        return None, bad.messages[0]


def _arrow_values(found: Any) -> list[Any]:
    if isinstance(found, arrow_rules.Amounts):
        return found.decimals()
    return found.values.to_pylist()  # type: ignore[no-any-return]


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, Decimal):
        # the same number written the same way: 12.30 is not 12.3
        return isinstance(got, Decimal) and str(got) == str(expected)
    return type(got) is type(expected) and got == expected


def _hold(rule: rules.Rule, cells: list[str | None]) -> None:
    found = arrow_rules.apply(rule, pa.array(cells, pa.string()))
    values = _arrow_values(found)
    assert len(values) == len(cells)
    for i, cell in enumerate(cells):
        if cell is None:
            assert values[i] is None and i not in found.refused
            continue
        value, message = _by_list_rule(rule, cell)
        if message is None:
            assert i not in found.refused, (cell, found.refused[i])
            assert _same(value, values[i]), (cell, value, values[i])
        else:
            assert found.refused.get(i) == message, cell
            assert values[i] is None
    assert list(found.refused) == sorted(found.refused)


@pytest.mark.parametrize("name", list(CASES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_each_arrow_rule_is_its_list_rule(name: str, data: st.DataObject) -> None:
    rule, texts = CASES[name]
    # cells as the loader's reader gives them: trimmed, or not given
    cell = st.one_of(st.none(), texts.map(str.strip))
    _hold(rule, data.draw(st.lists(cell, max_size=40)))


SAMPLES = {
    "amounts": ["1", "12.30", "0", "-1", "1.2.3", "١٢٣", ".5", "9" * 29, "0.00"],
    "dates": ["2026-01-01", "2026-02-30", "31/03/2026", "1899-12-31", "2999-12-31"],
    "currencies": ["USD", "usd", "XYZ", "JPY", "CNY"],
    "flags": ["yes", "No", "TRUE", "0", "maybe"],
    "ids": ["INV-1", "", "C1", "客户"],
    "texts": ["a note", "", "备注"],
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_whole_column_is_judged_as_its_cells_are(name: str) -> None:
    """The list rule judges each value alone, so a column gives, cell for
    cell, what each of its cells gives by itself, over many cells too; and a
    dictionary-encoded column, as the loader's reader makes them, gives what
    the plain one gives."""
    rule, _ = CASES[name]
    cells: list[str | None] = [*SAMPLES[name], None] * 2000
    _hold(rule, cells)
    if name in ("dates", "currencies", "flags"):
        encoded = pa.array(cells, pa.string()).dictionary_encode()
        from_encoded = arrow_rules.apply(rule, encoded)
        plain = arrow_rules.apply(rule, pa.array(cells, pa.string()))
        assert from_encoded.values.to_pylist() == plain.values.to_pylist()
        assert from_encoded.refused == plain.refused


def test_amounts_keep_their_digits_and_scale_exactly() -> None:
    cells = ["12.30", "0.01", "1.", "00100.50", "+5", ".5", "9" * 28, "1" * 26 + ".5"]
    found = arrow_rules.apply(rules.amounts, pa.array(cells))
    assert found.refused == {}
    assert [str(d) for d in found.decimals()] == [
        "12.30",
        "0.01",
        "1",
        "100.50",
        "5",
        "0.5",
        "9" * 28,
        "1" * 26 + ".5",
    ]
    assert found.scale.to_pylist() == [2, 2, 0, 2, 0, 1, 0, 1]
    assert found.digits.type == pa.decimal128(38, 0)


def test_a_chunked_column_is_one_column() -> None:
    chunked = pa.chunked_array([["2026-01-01", "x"], ["2026-02-30", "2026-03-01"]])
    found = arrow_rules.apply(rules.dates, chunked)
    assert found.values.to_pylist() == [date(2026, 1, 1), None, None, date(2026, 3, 1)]
    assert sorted(found.refused) == [1, 2]


def test_a_rule_without_an_arrow_form_says_so() -> None:
    with pytest.raises(KeyError):
        arrow_rules.apply(rules.signed, pa.array(["1"]))
