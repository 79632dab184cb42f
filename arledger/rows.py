"""Compact records for the bulk kinds: invoices, payments, adjustments.

The pydantic models of model.py say what a record is and validate it; a ledger
keeps what they accepted as rows: named tuples with the same fields, in the
same order, plus where the record was written. A row takes about 150 bytes
where a model instance takes 400, can be created in C (`tuple.__new__` over
columns, see loader._by_columns), and reads its fields through C
descriptors; at a million invoices that is the difference between a ledger that
fits in memory and one that does not.

Code that asks what kind a record is uses `INVOICE`, `PAYMENT` and `ADJUSTMENT`
(`isinstance(record, INVOICE)`), which hold both the model and the row, so the
core takes either (tests build models by hand; pydantic refuses virtual
subclasses of its models).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from pydantic import BaseModel

from arledger.errors import Source
from arledger.model import Adjustment, Invoice, Payment, Record

# Where a row was written: the file (relative to the ledger) and the line. Kept as
# two plain fields, not a Source object, which would cost 56 bytes a record; the
# `source` property builds one when an error message needs it.
_WHERE = ("src_path", "src_line")


def model_fields(model: type[Record]) -> tuple[str, ...]:
    """A model's fields in declaration order, without `source`."""
    return tuple(name for name in model.model_fields if name != "source")


def _source(row: Any) -> Source | None:
    return None if row.src_path is None else Source(row.src_path, row.src_line)


def _base(model: type[Record]) -> type[tuple[Any, ...]]:
    # No defaults: a row is always built whole, by the loader.
    fields = (*model_fields(model), *_WHERE)
    return namedtuple(model.__name__, fields)  # type: ignore[return-value]


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, tuple):
        return tuple(_dump(part) for part in value)
    return value


def _model_dump(row: Any) -> dict[str, Any]:
    """The fields as the model's `model_dump()` gives them (no `source`)."""
    return {name: _dump(getattr(row, name)) for name in row._fields[:-2]}


class InvoiceRow(_base(Invoice)):  # type: ignore[misc]
    __slots__ = ()
    source = property(_source)
    model_dump = _model_dump


class PaymentRow(_base(Payment)):  # type: ignore[misc]
    __slots__ = ()
    source = property(_source)
    model_dump = _model_dump
    targets = Payment.targets


class AdjustmentRow(_base(Adjustment)):  # type: ignore[misc]
    __slots__ = ()
    source = property(_source)
    model_dump = _model_dump


ROWS: dict[type[Record], type[tuple[Any, ...]]] = {
    Invoice: InvoiceRow,
    Payment: PaymentRow,
    Adjustment: AdjustmentRow,
}

# For isinstance: a record of each kind, as a model or as a row.
INVOICE = (Invoice, InvoiceRow)
PAYMENT = (Payment, PaymentRow)
ADJUSTMENT = (Adjustment, AdjustmentRow)

_new_tuple = tuple.__new__


def row_of(record: Record) -> Any:
    """The row of a validated model instance (the record itself for other kinds)."""
    row: Any = ROWS.get(type(record))
    if row is None:
        return record
    source = record.source
    values = [getattr(record, name) for name in row._fields[:-2]]
    if source is None:
        values += [None, None]
    else:
        values += [source.path, source.line]
    return _new_tuple(row, values)
