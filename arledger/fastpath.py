"""The fast lane of the loader: plain records without pydantic's per-record cost.

Most records of a big ledger are the simplest kind (an id, a customer, a date, an
amount). For those, `Builder.build` checks and converts each field itself and
creates the model instance directly; anything it is not sure of (a nested field,
an odd value) it declines, and the loader validates that record with pydantic,
whose messages say precisely what is wrong. So the fast lane never decides an
error; it only accepts what pydantic would accept with the same result (a
Hypothesis test holds it to that).

`read_yaml_fast` parses YAML with rapidyaml (C++) instead of PyYAML, keeping every
scalar as text. It handles the plain shape of ledger files (a top-level list of
mappings, no anchors, tags or nulls spelled `~`) and returns None for anything
else, so the loader falls back to PyYAML.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from arledger.model import (
    MAX_TERMS,
    MAX_YEAR,
    MIN_YEAR,
    Adjustment,
    Contact,
    Customer,
    Invoice,
    Payment,
    Record,
)


class Decline(Exception):
    """The fast lane is not sure: let pydantic validate this record."""


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_CURRENCY = re.compile(r"[A-Z]{3}")
_TRUE = frozenset({"true", "yes", "1", "on", "t", "y"})
_FALSE = frozenset({"false", "no", "0", "off", "f", "n"})


def _text(value: Any) -> str:
    if type(value) is not str:
        raise Decline
    return value.strip()


def _ident(value: Any) -> str:
    text = _text(value)
    if not text:
        raise Decline
    return text


def _date(value: Any) -> date:
    if type(value) is not str:
        raise Decline
    text = value.strip()
    if not _ISO.fullmatch(text):
        raise Decline
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise Decline from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise Decline
    return day


def _decimal(value: Any) -> Decimal:
    if type(value) is not str:
        raise Decline
    text = value.strip()
    if not _DECIMAL.fullmatch(text):
        raise Decline
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern rules it out
        raise Decline from None


def _amount(value: Any) -> Decimal:
    amount = _decimal(value)
    if not amount > 0:
        raise Decline
    return amount


def _non_negative(value: Any) -> Decimal:
    amount = _decimal(value)
    if amount < 0:
        raise Decline
    return amount


def _boolean(value: Any) -> bool:
    if value is True or value is False:
        return value
    word = _text(value).lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Decline


def _currency(value: Any) -> str:
    code = _text(value).upper()
    if not _CURRENCY.fullmatch(code):
        raise Decline
    return code


def _terms(value: Any) -> int:
    text = _text(value)
    if not text.isdigit() or not text.isascii():
        raise Decline
    days = int(text)
    if days > MAX_TERMS:
        raise Decline
    return days


def _one_of(*choices: str) -> Callable[[Any], str]:
    allowed = frozenset(choices)

    def convert(value: Any) -> str:
        text = _text(value)
        if text not in allowed:
            raise Decline
        return text

    return convert


def _allocations(value: Any) -> dict[str, Decimal]:
    if type(value) is not dict or not value:
        raise Decline
    result = {}
    for key, amount in value.items():
        if type(key) is not str:
            raise Decline
        result[key] = _amount(amount)
    return result


Converter = Callable[[Any], Any]

# Field -> converter, for the fields the fast lane handles. Nested models
# (schedule, dunning_block) are left to pydantic.
FAST_FIELDS: dict[type[Record], dict[str, Converter]] = {
    Customer: {
        "id": _ident, "name": _ident, "email": _text, "phone": _text,
        "address": _text, "contact": _text, "terms": _terms,
        "credit_limit": _non_negative, "grade": _one_of("A", "B", "C", "D"),
        "owner": _text, "currency": _currency, "language": _one_of("en", "zh"),
        "key_account": _boolean, "hold": _boolean,
    },
    Invoice: {
        "id": _ident, "customer": _ident, "date": _date, "due": _date,
        "amount": _amount, "currency": _currency, "description": _text,
        "po": _text, "owner": _text, "disputed": _boolean,
    },
    Payment: {
        "id": _ident, "customer": _ident, "date": _date, "amount": _amount,
        "currency": _currency, "invoice": _ident, "allocations": _allocations,
        "method": _text, "reference": _text,
    },
    Adjustment: {
        "id": _ident, "customer": _ident, "date": _date, "amount": _amount,
        "kind": _one_of("credit_note", "write_off", "discount"), "invoice": _ident,
        "currency": _currency, "reason": _text,
    },
    Contact: {
        "customer": _ident, "date": _date, "by": _text,
        "channel": _one_of("phone", "email", "letter", "visit", "legal", "other"),
        "note": _text, "promise_date": _date, "promise_amount": _amount,
        "invoice": _ident,
    },
}  # fmt: skip


def _invoice_rule(values: dict[str, Any]) -> bool:
    due = values["due"]
    return due is None or due >= values["date"]


def _payment_rule(values: dict[str, Any]) -> bool:
    allocations = values["allocations"]
    if allocations is None:
        return True
    if values["invoice"] is not None:
        return False
    return sum(allocations.values()) <= values["amount"]


# The record rules of model.py that the fast lane must also hold (or decline).
RULES: dict[type[Record], Callable[[dict[str, Any]], bool]] = {
    Invoice: _invoice_rule,
    Payment: _payment_rule,
}

_new = object.__new__
_set = object.__setattr__


class Builder:
    """Builds records of one model from text fields, or declines."""

    def __init__(self, model: type[Record]) -> None:
        self.model = model
        self.converters = FAST_FIELDS[model]
        fields = model.model_fields
        self.required = frozenset(
            name for name, info in fields.items() if info.is_required()
        )
        # Defaults are immutable (None, False, tuples, frozen models), so one
        # dict of them can seed every record.
        self.defaults = {
            name: info.get_default(call_default_factory=True)
            for name, info in fields.items()
            if not info.is_required()
        }
        self.rule = RULES.get(model)
        self.known = frozenset(self.converters)
        # Records with the same fields share one (never mutated) set of names.
        self.field_sets: dict[tuple[str, ...], frozenset[str]] = {}

    def build(self, data: dict[str, Any], source: Any) -> Record | None:
        """The record, or None when pydantic should decide."""
        keys = data.keys()
        if not keys <= self.known or not self.required <= keys:
            return None
        values = dict(self.defaults)
        converters = self.converters
        try:
            for name, value in data.items():
                convert = converters[name]
                # Text fields, most of a record, without a function call each.
                if convert is _text or convert is _ident:
                    if type(value) is not str:
                        return None
                    value = value.strip()
                    if not value and convert is _ident:
                        return None
                    values[name] = value
                else:
                    values[name] = convert(value)
        except Decline:
            return None
        if self.rule is not None and not self.rule(values):
            return None
        values["source"] = source
        # What pydantic's model_construct does, minus its per-field overhead:
        # the values are already validated above.
        record = _new(self.model)
        _set(record, "__dict__", values)
        names = tuple(keys)
        fields_set = self.field_sets.get(names)
        if fields_set is None:
            fields_set = self.field_sets[names] = frozenset(names)
        _set(record, "__pydantic_fields_set__", fields_set)
        _set(record, "__pydantic_extra__", None)
        _set(record, "__pydantic_private__", None)
        return record


# ---------------------------------------------------------------- YAML


# What the fast reader leaves to PyYAML: anchors, aliases, tags, merge keys,
# several documents, and scalars whose text rapidyaml would not keep exactly.
_UNSUPPORTED_YAML = re.compile(
    r"(^|[\s\[{,:-])[&*!][^\s]"  # anchor, alias or tag
    r"|<<\s*:|^\.\.\.|\n---"  # merge key, several documents
    r"|^-[ \t\r]*(?:#.*)?$"  # a record whose `-` stands alone on its line
    # plain scalars rapidyaml's JSON would spell differently: the nulls `~`,
    # `Null`, `NULL`, and numbers like `.5`, `5.`, `.nan`
    r"|(?<![^\s\[{,:])(?:~|Null|NULL|[-+]?(?:\.\d+|\d+\.|\.[nNiI][aAnN][nNfF]))"
    r"(?=[ \t\r]*(?:[,}\]#]|$))",  # (\r: CRLF files)
    re.MULTILINE,
)


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (C++ code writes there, not to sys.stderr)."""
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no stderr at all
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise Decline  # PyYAML's path reports duplicate keys with their lines
    return result


def read_yaml_fast(text: str) -> tuple[list[dict[str, Any]], list[int]] | None:
    """Records and their first lines from a YAML record file, or None to fall back.

    Scalars stay text (numbers are read back as the digits written, never as
    floats); an empty value is dropped (not given), as on the PyYAML path.
    """
    try:
        import ryml
    except ImportError:  # pragma: no cover - rapidyaml is a dependency
        return None
    if _UNSUPPORTED_YAML.search(text):
        return None
    lines = [n for n, line in enumerate(text.split("\n"), 1) if line.startswith("- ")]
    try:
        with _quiet_stderr():  # rapidyaml prints parse errors from C++
            tree = ryml.parse_in_arena(text.encode("utf-8"))
        if not tree.is_seq(tree.root_id()):
            return None
        emitted = ryml.emit_json_malloc(tree, tree.root_id())
        data = json.loads(
            emitted,
            parse_float=str,
            parse_int=str,
            parse_constant=str,
            object_pairs_hook=_no_duplicates,
        )
    except Exception:  # noqa: BLE001 - anything odd: the precise path decides
        return None
    if not isinstance(data, list) or len(data) != len(lines):
        return None
    records = []
    for item in data:
        if not isinstance(item, dict):
            return None
        if None in item.values():
            item = {k: v for k, v in item.items() if v is not None}
        records.append(item)
    return records, lines
