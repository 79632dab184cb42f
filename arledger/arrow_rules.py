"""The value rules of `arledger/rules.py` over pyarrow arrays of cells.

Stage 1 of the columnar path (docs/columnar.md): a column of a big CSV file
of invoices, payments or adjustments, as pyarrow cuts it, is held to the rule
of its field (the `rules.Rule` a model's `Column` names) without a Python
object per cell. The rules of their fields have an arrow form here: ids,
texts, dates, currency codes, flags and amounts. The list rules
decide everything; this module only finds, in C, what they would surely
accept, and asks them about the rest:

- a field of few distinct texts (dates, currency codes, flags) is
  dictionary-encoded, and its rule judges each distinct text once;
- an id is surely accepted unless empty, a text always;
- an amount whose text is plain ASCII digits with at most one point, not
  first, no longer than `MAX_DIGITS`, of at most 18 digits and not zero, is
  surely accepted and converted in C (arledger/_csvbytes.c), in one pass: its
  digits as a whole number and its scale. Every other text is judged by the
  rule, which gives the value or the message.

`tests/test_arrow_rules.py` holds each form to its list rule, value for value
and message for message.

Cells are texts trimmed as `str.strip` trims them (the loader's reader does);
a null is a cell not given, and stays a null, refused by no rule here.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from arledger import rules
from arledger._csvbytes import plain_amounts
from arledger.money import MAX_DIGITS


class Ruled(NamedTuple):
    """A column held to its rule: the values (null where the cell was not
    given or was refused), and the rule's message for each refused cell by
    its index, in index order."""

    values: pa.Array
    refused: dict[int, str]


class Amounts(NamedTuple):
    """A column of amounts held to its rule, exactly: each amount is
    `digits × 10**-scale`, as the rule's Decimal is (`Decimal("12.30")`:
    digits 1230, scale 2). Null where the cell was not given or refused."""

    digits: pa.Array  # decimal128(38, 0)
    scale: pa.Array  # int8
    refused: dict[int, str]

    def decimals(self) -> list[Decimal | None]:
        """The amounts as the list rule gives them (for tests and rows)."""
        return [
            None if d is None else d.scaleb(-s)
            for d, s in zip(
                self.digits.to_pylist(), self.scale.to_pylist(), strict=True
            )
        ]


DIGITS = pa.decimal128(38, 0)  # MAX_DIGITS (28) significant digits fit

Rule = rules.Rule

# The rules whose arrow form is `_amounts`.
_SURELY = (rules.amounts,)
_BY_VALUE: dict[Rule, pa.DataType] = {
    rules.dates: pa.date32(),
    rules.currencies: pa.string(),
    rules.flags: pa.bool_(),
}


def _array(cells: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(cells, pa.ChunkedArray):
        return cells.combine_chunks()
    return cells


def _judge(rule: Rule, text: str) -> tuple[Any, str | None]:
    """The rule's value for one text, or its message."""
    try:
        return rule([text])[0], None
    except rules.Bad as bad:
        return None, bad.messages[0]


def _indexes(mask: pa.Array) -> list[int]:
    """Where `mask` is true."""
    return pc.indices_nonzero(mask).to_pylist()  # type: ignore[no-any-return]


def _by_value(rule: Rule, cells: pa.Array, kind: pa.DataType) -> Ruled:
    encoded = (
        cells if pa.types.is_dictionary(cells.type) else pc.dictionary_encode(cells)
    )
    judged = [_judge(rule, text) for text in encoded.dictionary.to_pylist()]
    dictionary = pa.array([value for value, _ in judged], type=kind)
    indices = encoded.indices
    values = dictionary.take(indices)
    said = {k: message for k, (_, message) in enumerate(judged) if message is not None}
    refused: dict[int, str] = {}
    if said:
        wrong = pc.is_in(indices, value_set=pa.array(list(said), indices.type))
        found = _indexes(pc.fill_null(wrong, False))
        refused = dict(
            zip(
                found,
                map(said.__getitem__, indices.take(found).to_pylist()),
                strict=True,
            )
        )
    return Ruled(values, refused)


def _texts(cells: pa.Array) -> Ruled:
    return Ruled(cells, {})


def _ids(cells: pa.Array) -> Ruled:
    empty = pc.fill_null(pc.equal(pc.utf8_length(cells), 0), False)
    if not pc.any(empty).as_py():
        return Ruled(cells, {})
    found = _indexes(empty)
    _, message = _judge(rules.ids, "")
    values = pc.if_else(empty, pa.scalar(None, pa.string()), cells)
    return Ruled(values, dict.fromkeys(found, message or ""))


def _amounts(rule: Rule, cells: pa.Array) -> Amounts:
    """Amounts surely accepted read in C, in one pass (`_csvbytes`: plain
    ASCII digits with at most one point, not first, no longer than
    MAX_DIGITS, at most 18 digits and not zero); every other cell given
    judged by the rule, once per distinct text."""
    if not pa.types.is_string(cells.type):  # dictionary-encoded, or large
        cells = cells.cast(pa.string())
    validity, offsets, data = cells.buffers()
    size = len(cells)
    digits_of, scales_of, sure_of, count = plain_amounts(
        validity, offsets, data if data is not None else b"", cells.offset, size,
        MAX_DIGITS,
    )  # fmt: skip
    sure = pa.py_buffer(sure_of)
    digits = pa.Array.from_buffers(
        pa.int64(), size, [sure, pa.py_buffer(digits_of)], size - count
    ).cast(DIGITS)
    scale = pa.Array.from_buffers(
        pa.int8(), size, [sure, pa.py_buffer(scales_of)], size - count
    )
    if count == size - cells.null_count:  # every cell given: the usual case
        return Amounts(digits, scale, {})
    # The rest, not given cells apart: the rule judges each distinct text.
    surely = pa.Array.from_buffers(pa.bool_(), size, [None, sure])
    doubt = pc.and_(pc.is_valid(cells), pc.invert(surely))
    found = _indexes(doubt)
    texts = cells.take(found).to_pylist()
    judged = {text: _judge(rule, text) for text in set(texts)}
    refused: dict[int, str] = {}
    kept, kept_digits, kept_scales = [], [], []
    for index, text in zip(found, texts, strict=True):
        value, message = judged[text]
        if message is not None:
            refused[index] = message
            continue
        sign, numerals, exponent = value.as_tuple()
        whole = int("".join(map(str, numerals)))
        kept.append(index)
        kept_digits.append(Decimal(-whole if sign else whole))
        kept_scales.append(-exponent)
    if kept:
        where = _at(size, kept)
        digits = pc.replace_with_mask(digits, where, pa.array(kept_digits, DIGITS))
        scale = pc.replace_with_mask(scale, where, pa.array(kept_scales, pa.int8()))
    return Amounts(digits, scale, refused)


def _at(size: int, indexes: list[int]) -> pa.Array:
    """A boolean mask of `size`, true at `indexes`."""
    mask = [False] * size
    for index in indexes:
        mask[index] = True
    return pa.array(mask, pa.bool_())


# The rules whose arrow form refuses no text given (not empty, as the
# loader's cells are trimmed and an empty one is not given): a column of
# them given has nothing to be held to (tests/test_arrow_checks.py).
REFUSES_NO_GIVEN = frozenset({rules.texts, rules.ids})


def apply(rule: Rule, cells: pa.Array | pa.ChunkedArray) -> Ruled | Amounts:
    """Hold a column of cells to the list rule `rule` (one of the rules a
    model's `Column` names). Raises KeyError for a rule without an arrow form
    here (the caller then applies the list rule)."""
    array = _array(cells)
    if rule in _BY_VALUE:
        return _by_value(rule, array, _BY_VALUE[rule])
    if rule in _SURELY:
        return _amounts(rule, array)
    forms: dict[Rule, Callable[[pa.Array], Ruled]] = {
        rules.texts: _texts,
        rules.ids: _ids,
    }
    return forms[rule](array)
