"""Rows: the records of a ledger, and its settings, as named tuples.

The pydantic models of model.py say what a record is; a ledger keeps records
as rows: named tuples with the same fields in the same order (records nested
in a record, like a schedule's instalments or the settings' sections, are rows
too), plus, for a record of a ledger file, where it was written. The row types
are made from `arledger/_shapes.py`, which is derived from the models
(arledger/shapes.py), so that a clean ledger is read, checked and reported
without importing pydantic at all. A row takes about 150 bytes where a model
instance takes 400, can be created in C (`tuple.__new__` over columns, see
loader._by_columns), and reads its fields through C descriptors.

Code that asks what kind a record is uses `INVOICE`, `PAYMENT`, `ADJUSTMENT`,
`CONTACT` and `PLAN` (`isinstance(record, INVOICE)`): a base of both the row
and the model of that kind, so the core takes either (tests build models by
hand).
"""

from __future__ import annotations

from collections import namedtuple
from decimal import Decimal
from typing import Any

from arledger import _shapes, rules
from arledger.errors import Source

# Where a row was written: the file (relative to the ledger) and the line. Kept as
# two plain fields, not a Source object, which would cost 56 bytes a record; the
# `source` property builds one when an error message needs it.
_WHERE = ("src_path", "src_line")


def _source(row: Any) -> Source | None:
    return None if row.src_path is None else Source(row.src_path, row.src_line)


def _fields(record: Any) -> tuple[str, ...]:
    """The fields of a row or a model, without where it was written."""
    if isinstance(record, tuple):
        return FIELDS[type(record).__name__]
    return tuple(n for n in type(record).model_fields if n != "source")


def _dump(value: Any) -> Any:
    if type(value) is tuple:
        return tuple(_dump(part) for part in value)
    if type(value).__name__ in ROWS:
        return {name: _dump(getattr(value, name)) for name in _fields(value)}
    return value


def model_dump(row: Any) -> dict[str, Any]:
    """The fields as the model's `model_dump()` gives them (no `source`)."""
    return {name: _dump(getattr(row, name)) for name in _fields(row)}


def targets(payment: Any) -> dict[str, Decimal | None]:
    """Invoices a payment names, with the amount meant for each.

    `None` means "as much as it needs" (a payment naming one `invoice`).
    """
    if payment.allocations:
        return dict(payment.allocations)
    if payment.invoice:
        return {payment.invoice: None}
    return {}


def in_language(company: Any, language: str) -> Any:
    """The company as a letter in `language` shows it: what its `zh` gives
    replaces the field above in a Chinese letter."""
    other = company.zh if language == "zh" else None
    if other is None:
        return company
    given = {
        name: getattr(other, name)
        for name in _fields(other)
        if getattr(other, name) is not None
    }
    if isinstance(company, tuple):
        return company._replace(**given)  # type: ignore[attr-defined]
    return company.model_copy(update=given)


def allowance_rates(settings: Any) -> dict[str, Decimal]:
    """The rate of each aging bucket (SPEC §8)."""
    return dict(settings.allowance.rates or rules.DEFAULT_ALLOWANCE_RATES)


# Methods of the rows of some models (the models have the same ones).
_METHODS: dict[str, dict[str, Any]] = {
    "Payment": {"targets": targets},
    "Company": {"in_language": in_language},
    "Settings": {"allowance_rates": allowance_rates},
}

RECORD_NAMES = frozenset(_shapes.KINDS.values())
FIELDS: dict[str, tuple[str, ...]] = {
    name: tuple(field[0] for field in shape["fields"])
    for name, shape in _shapes.SHAPES.items()
}


def _kind(name: str) -> type:
    """A base both the row and the model of a kind of record have, for
    `isinstance(record, INVOICE)` whichever it is (in C, as fast as it gets)."""
    return type(name, (), {"__slots__": (), "__doc__": f"{name}: a row or a model."})


# For isinstance: a record of each kind, as a row or as a model (model.py's
# models have them as bases too).
INVOICE: Any = _kind("Invoice")
PAYMENT: Any = _kind("Payment")
ADJUSTMENT: Any = _kind("Adjustment")
CONTACT: Any = _kind("Contact")
PLAN: Any = _kind("Plan")
KIND_BASES: dict[str, type] = {
    kind.__name__: kind for kind in (INVOICE, PAYMENT, ADJUSTMENT, CONTACT, PLAN)
}


def _row_type(name: str) -> type[tuple[Any, ...]]:
    where = _WHERE if name in RECORD_NAMES else ()
    # No defaults: a row is always built whole.
    base: Any = namedtuple(name, (*FIELDS[name], *where))  # type: ignore[misc]
    namespace: dict[str, Any] = {"__slots__": (), "model_dump": model_dump}
    if where:
        namespace["source"] = property(_source)
    namespace.update(_METHODS.get(name, {}))
    kind = KIND_BASES.get(name)
    return type(name, (base, kind) if kind else (base,), namespace)


ROWS: dict[str, type[tuple[Any, ...]]] = {name: _row_type(name) for name in FIELDS}

_new_tuple = tuple.__new__


def decode(value: Any) -> Any:
    """A default as `_shapes.py` holds it, with its records made rows."""
    if type(value) is tuple:
        return tuple(decode(part) for part in value)
    if type(value) is dict and "__row__" in value:
        row = ROWS[value["__row__"]]
        return _new_tuple(row, [decode(value[name]) for name in FIELDS[row.__name__]])
    return value


def defaults(name: str) -> Any:
    """The row of a model given nothing: every field its default."""
    fields = _shapes.SHAPES[name]["fields"]
    return _new_tuple(ROWS[name], [decode(field[3]) for field in fields])


def row_of(record: Any) -> Any:
    """The row of a validated model instance, its nested records rows too."""
    kind = type(record)
    if kind is tuple:
        return tuple(row_of(part) for part in record)
    if kind is dict:
        return {key: row_of(value) for key, value in record.items()}
    row = ROWS.get(kind.__name__)
    if row is None or isinstance(record, tuple):
        return record
    values = [row_of(getattr(record, name)) for name in FIELDS[kind.__name__]]
    if kind.__name__ in RECORD_NAMES:
        source = record.source
        values += [None, None] if source is None else [source.path, source.line]
    return _new_tuple(row, values)
