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

import csv
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import compress, count, repeat
from typing import Any, NamedTuple

from arledger.errors import Source
from arledger.model import (
    MAX_TERMS,
    MAX_YEAR,
    MIN_YEAR,
    Adjustment,
    Contact,
    Customer,
    Instalment,
    Invoice,
    Payment,
    Record,
)
from arledger.rows import ROWS


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


_new = object.__new__
_set = object.__setattr__
_INSTALMENT_FIELDS = frozenset({"due", "amount"})


def _instalment(value: Any) -> Instalment:
    if type(value) is not dict or value.keys() != _INSTALMENT_FIELDS:
        raise Decline
    instalment = _new(Instalment)
    fields = {
        "source": None,
        "due": _date(value["due"]),
        "amount": _amount(value["amount"]),
    }
    _set(instalment, "__dict__", fields)
    _set(instalment, "__pydantic_fields_set__", _INSTALMENT_FIELDS)
    _set(instalment, "__pydantic_extra__", None)
    _set(instalment, "__pydantic_private__", None)
    return instalment


def _schedule(value: Any) -> tuple[Instalment, ...]:
    if type(value) is not list or not value:
        raise Decline
    return tuple(map(_instalment, value))


Converter = Callable[[Any], Any]

# Field -> converter, for the fields the fast lane handles. The rarely used
# `dunning_block` is left to pydantic.
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
        "po": _text, "owner": _text, "disputed": _boolean, "schedule": _schedule,
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
    due, issued, schedule = values["due"], values["date"], values["schedule"]
    if schedule is None:
        return due is None or due >= issued
    last = max(part.due for part in schedule)
    return (
        (due is None or due == last)
        and min(part.due for part in schedule) >= issued
        and sum(part.amount for part in schedule) == values["amount"]
    )


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

_new_tuple = tuple.__new__


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
        # The bulk kinds are kept as rows (rows.py), built here directly.
        self.row = ROWS.get(model)
        self.row_fields = self.row._fields[:-2] if self.row is not None else ()
        # Records with the same fields share one (never mutated) set of names.
        self.field_sets: dict[tuple[str, ...], frozenset[str]] = {}

    def build(self, data: dict[str, Any], source: Any) -> Any:
        """The record (a row for bulk kinds), or None when pydantic should decide."""
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
        if self.row is not None:
            fields = [values[name] for name in self.row_fields]
            fields += (source.path, source.line)
            return _new_tuple(self.row, fields)
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
# Necessary conditions for _UNSUPPORTED_YAML, each found by a fast scan (a
# literal first); the full pattern, whose lookbehinds make it try every
# position (0.25 s for 8 MB), runs only when one of them holds.
_MAYBE_UNSUPPORTED = (
    re.compile(r"[&*!]\S"),  # an anchor, alias or tag
    re.compile(r"\.(?:(?<=[\s\[{,:+-]\.)[\dnNiI]|(?<=\d\.)[ \t\r]*(?:[,}\]#\n]|\Z))"),
    re.compile(r"\n-[ \t\r]*(?:#[^\n]*)?(?:\n|\Z)"),  # a `-` alone on its line
)  # one pattern each: a single scan for a literal beats trying three at each place
_MAYBE_LITERALS = ("<<", "...", "\n---", "~", "Null", "NULL")


def _unsupported_yaml(text: str) -> bool:
    if (
        not any(pattern.search(text) for pattern in _MAYBE_UNSUPPORTED)
        and not any(literal in text for literal in _MAYBE_LITERALS)
        and not re.match(r"[-+]?\.|-[ \t\r]*(?:#[^\n]*)?(?:\n|\Z)", text)
    ):
        return False
    return _UNSUPPORTED_YAML.search(text) is not None


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
    if _unsupported_yaml(text):
        return None
    starts = map(str.startswith, text.split("\n"), repeat("- "))
    lines = list(compress(count(1), starts))
    buffer = text.encode("utf-8")
    try:
        # A node per key and value and one per record, about: room for them
        # at once, where a tree left to grow copies itself over and over (a
        # third of the parse).
        tree = ryml.Tree()
        tree.reserve(buffer.count(b":") + buffer.count(b"\n-") + 16)
        with _quiet_stderr():  # rapidyaml prints parse errors from C++
            ryml.parse_in_arena(buffer, tree=tree)
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


# ---------------------------------------------------------------- CSV columns


def _pairs(cell: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for part in cell.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{what}: {part.strip()!r} is not written as key=value")
        pairs.append((key.strip(), value.strip()))
    return pairs


def csv_nested(name: str, cell: str) -> Any:
    """A CSV cell holding a nested field, written as `key=value` pairs joined by
    `;`: allocations `INV-1=100;INV-2=50`, a schedule `2026-03-01=500;...`."""
    if name == "schedule":
        return [{"due": k, "amount": v} for k, v in _pairs(cell, name)]
    if name in ("allocations", "dunning_block"):
        return dict(_pairs(cell, name))
    return cell


#
# A big CSV file is read column by column: split into cells, one list per column,
# and each column checked and converted with C-level calls (one regular
# expression over the whole column, `map(Decimal, ...)`), then the rows made with
# `tuple.__new__` over the columns. Per record that is a few hundred nanoseconds
# where a dict, a call per field and a model instance cost microseconds. Like
# the rest of the fast lane it never decides an error: any doubt (a quoted cell
# over two lines, a blank row, a value that is not plainly right) and it returns
# None, and the loader reads the file row by row with every message in place.

_NOT_AMOUNT = re.compile(r"[^0-9.\n]")
_ZERO = re.compile(r"^0+(?:\.0+)?$", re.MULTILINE)
_NESTED = frozenset({"allocations", "schedule", "dunning_block"})
_BLOCK = 4_000_000  # characters of text converted at a time
_TEXT = frozenset({str})
_BOOL_OR_TEXT = frozenset({str, bool})
_ROW_CONVERTERS = frozenset({_text, _ident})
_AMOUNT_CONVERTERS = frozenset({_amount, _non_negative, _decimal})
_PLACES = tuple((p, re.compile(rf"\.\d{{{p}}}\d*[1-9]")) for p in (0, 2, 3, 4))


def decimal_places(text: str) -> int | None:
    """An upper bound on the decimals any amount in `text` has, or None.

    Trailing zeros do not count (`12.50` has one); the bound is 0, 2, 3 or 4
    (the minor units currencies have), None when some number has more.
    """
    for places, pattern in _PLACES:
        if pattern.search(text) is None:
            return places
    return None


def _split_cells(body: list[str], width: int) -> list[list[str]] | None:
    """The cells of CSV lines as columns, or None if any line is unusual."""
    commas = width - 1
    quoted: list[int] = []
    if any(map(str.__contains__, body, repeat('"'))):
        has_quote = map(str.__contains__, body, repeat('"'))
        quoted = list(compress(count(), has_quote))
    plain = body
    parsed: list[list[str]] = []
    if quoted:
        texts = [body[i] for i in quoted]
        # An odd number of quotes on a line: a cell goes on over the next line.
        if any(line.count('"') % 2 for line in texts):
            return None
        try:
            parsed = list(csv.reader(texts, strict=True))
        except csv.Error:
            return None
        if len(parsed) != len(quoted) or any(len(row) != width for row in parsed):
            return None
        plain = body.copy()
        blank = "," * commas
        for i in quoted:
            plain[i] = blank
    if set(map(str.count, plain, repeat(","))) != {commas}:
        return None  # a blank line, a missing or extra cell: row by row
    cells = ",".join(plain).split(",")
    columns = [cells[k::width] for k in range(width)]
    for i, row in zip(quoted, parsed, strict=False):
        for column, cell in zip(columns, row, strict=False):
            column[i] = cell
    return columns


def _given(column: list[str], required: bool) -> list[str] | None:
    """The non-empty cells; None when a required one is empty."""
    if "" not in column:
        return column
    return None if required else [cell for cell in column if cell]


def _dates(column: list[str], required: bool) -> list[Any] | None:
    """Dates repeat (a year has 365): each distinct text is checked once."""
    return _by_value(column, _date, None, required)


def _amounts(
    column: list[str], required: bool, positive: bool
) -> tuple[list[Any], int | None] | None:
    given = _given(column, required)
    if given is None:
        return None
    if not given:
        return [None] * len(column), 0
    joined = "\n".join(given)
    if _NOT_AMOUNT.search(joined):
        return None  # signs, exponents, spaces: pydantic's path decides
    if positive and _ZERO.search(joined):
        return None
    try:
        if len(given) == len(column):
            values = list(map(Decimal, column))
        else:
            values = [Decimal(cell) if cell else None for cell in column]
    except InvalidOperation:  # `1.2.3`, `.`
        return None
    return values, decimal_places(joined)


def _text_or_none(cell: str) -> str | None:
    return cell.strip() or None


def _shared(column: list[str | None], invoices: dict[str, Any]) -> list[str | None]:
    """Invoice ids as the invoices' own strings, where those were read (the
    dict holds records, or where a record that failed was)."""
    # getattr(record, "id", cell) over the column, in C: the cell itself where
    # no record was read (None, or where a record that failed was).
    return list(map(getattr, map(invoices.get, column), repeat("id"), column))  # type: ignore[arg-type]


def _interned(cell: str) -> str:
    text = _ident(cell)
    return sys.intern(text)


def _by_value(
    column: list[str], convert: Converter, default: Any, required: bool
) -> list[Any] | None:
    """A column of few distinct values (currencies, flags, dates): convert each
    distinct value once, and share the result."""
    table: dict[str, Any] = {}
    for cell in set(column):
        if not cell:
            if required:
                return None
            table[cell] = default
            continue
        try:
            table[cell] = convert(cell)
        except Decline:
            return None
    return list(map(table.__getitem__, column))


class ColumnRead(NamedTuple):
    """A file read by columns."""

    rows: list[Any]
    places: int | None  # the most decimals any amount has (decimal_places)
    # Payments the loader must still check against the invoices they name
    # (ColumnReader._screen); None: not screened, check them all.
    to_check: list[Any] | None


class ColumnReader:
    """Reads whole CSV files of one model into rows, or declines."""

    def __init__(
        self, builder: Builder, invoices: dict[str, Any] | None = None
    ) -> None:
        """`invoices`: the invoices read so far, by id, whose id strings the
        `invoice` column then shares (a million payments, 60 MB less)."""
        self.builder = builder
        self.model = builder.model
        self.row = builder.row
        self.invoices = invoices

    def read(self, text: str, rel: str) -> ColumnRead | None:
        """The rows of a file's text and what is known of them, or None.

        Rows are in file order; row i was written on line i + 2. The text is
        taken in blocks of lines, so that only one block's cells are in memory
        at a time (a file's cells take five times its text).
        """
        if self.row is None:
            return None
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if "\r" in text:
                return None
        end = len(text) - 1 if text.endswith("\n") else len(text)
        start = text.find("\n", 0, end) + 1
        if start == 0 or '"' in text[:start]:
            return None
        names = [name.strip() for name in text[: start - 1].split(",")]
        builder = self.builder
        if len(set(names)) != len(names) or not set(names) <= builder.known:
            return None
        if not builder.required <= set(names):
            return None
        rows: list[Any] = []
        places: int | None = 0
        to_check: list[Any] | None = [] if self._screens(names) else None
        line = 2
        while start <= end:
            stop = text.find("\n", min(start + _BLOCK, end), end)
            stop = end if stop < 0 else stop
            lines = text[start:stop].split("\n")
            block = self._block(names, lines, rel, line)
            if block is None:
                return None
            if to_check is not None:
                to_check += self._screen(block[0], block[2])
            rows += block[0]
            places = _wider(places, block[1])
            line += len(lines)
            start = stop + 1
        return ColumnRead(rows, places, to_check)

    def _screens(self, names: list[str]) -> bool:
        """Whether payments are screened against the invoices as they are read."""
        return self.model is Payment and bool(self.invoices) and "invoice" in names

    def _screen(self, rows: list[Any], nested: list[int]) -> list[Any]:
        """The payments the loader's reference check must look at: all but those
        naming one known invoice of their customer, in its currency (or none
        given), for no more than its amount, which need nothing more. Done here
        because the invoice was just looked up, in cache (a million random
        look-ups cost two seconds later)."""
        get = self.invoices.get  # type: ignore[union-attr]
        to_check = [rows[i] for i in nested]
        for row in rows:
            named = row.invoice
            if named is None:
                continue
            invoice = get(named)
            if (
                invoice is None
                or type(invoice) is Source
                or invoice.customer != row.customer
                or row.amount > invoice.amount
                or (row.currency is not None and row.currency != invoice.currency)
            ):
                to_check.append(row)
        return to_check

    def _block(
        self, names: list[str], lines: list[str], rel: str, first: int
    ) -> tuple[list[Any], int | None, list[int]] | None:
        """The rows of consecutive lines, the first of them line `first`."""
        columns = _split_cells(lines, len(names))
        if columns is None:
            return None

        def nested_row(i: int) -> tuple[Any, int] | None:
            return self._nested_row(names, columns, i, rel, first + i)

        numbers = _line_numbers(first, len(lines))
        return self._rows(dict(zip(names, columns, strict=True)), rel, numbers,
                          nested_row)  # fmt: skip

    def read_records(
        self, records: list[dict[str, Any]], lines: list[int], rel: str
    ) -> ColumnRead | None:
        """The rows of records read from YAML (fastpath.read_yaml_fast), by
        columns like a CSV file, or None (then record by record).

        Scalars are text there too; a record naming an unknown field, lacking
        a required one, holding an empty string or a value of another type than
        text (a flag may be a YAML boolean) is left to the careful path.
        """
        builder = self.builder
        names = set().union(*records)
        if self.row is None or not names <= builder.known:
            return None
        if any("" in record.values() for record in records):
            return None  # `""` is a value given empty, not one left out
        columns: dict[str, list[Any]] = {}
        for name in names:
            column = list(map(dict.get, records, repeat(name), repeat("")))
            if name in _NESTED:
                if any(not cell and cell != "" for cell in column):
                    return None  # `schedule: []`: pydantic says what is wrong
            else:
                allowed = (
                    _BOOL_OR_TEXT if builder.converters[name] is _boolean else _TEXT
                )
                if not set(map(type, column)) <= allowed:
                    return None
            columns[name] = column
        if not builder.required <= names:
            return None

        def nested_row(i: int) -> tuple[Any, int] | None:
            row = builder.build(records[i], _Where(rel, lines[i]))
            return None if row is None else (row, _row_places(row))

        read = self._rows(columns, rel, lines, nested_row)
        if read is None:
            return None
        rows, places, odd = read
        to_check = self._screen(rows, odd) if self._screens(list(names)) else None
        return ColumnRead(rows, places, to_check)

    def _rows(
        self,
        columns: dict[str, list[Any]],
        rel: str,
        lines: list[int],
        nested_row: Callable[[int], tuple[Any, int] | None],
    ) -> tuple[list[Any], int | None, list[int]] | None:
        """Rows from columns of text ("" for not given), written on `lines`;
        rows with a nested value come from `nested_row(i)`."""
        builder = self.builder
        size = len(lines)
        values: dict[str, Any] = {}
        nested: dict[str, list[Any]] = {}
        places: int | None = 0
        for name, column in columns.items():
            if name in _NESTED:
                nested[name] = column
                values[name] = repeat(None, size)
                continue
            converted = self._convert(name, column)
            if converted is None:
                return None
            if isinstance(converted, tuple):
                converted, amount_places = converted
                places = _wider(places, amount_places)
            values[name] = converted
        if not self._rules(values, nested):
            return None
        fields = [
            values[name] if name in values else repeat(builder.defaults[name], size)
            for name in builder.row_fields
        ]
        fields += (repeat(rel, size), lines)
        made = zip(*fields, strict=True)
        rows = list(map(_new_tuple, repeat(self.row, size), made))
        odd = sorted(
            {i for column in nested.values() for i, cell in enumerate(column) if cell}
        )
        for i in odd:
            built = nested_row(i)
            if built is None:
                return None
            rows[i], row_places = built
            places = _wider(places, row_places)
        return rows, places, odd

    def _convert(self, name: str, column: list[str]) -> Any:
        convert = self.builder.converters[name]
        required = name in self.builder.required
        if name == "customer":  # few distinct ids: one shared string each
            return _by_value(column, _interned, None, required)
        if convert is _text and len(set(column[:1000])) < 100:
            return _by_value(column, _text_or_none, None, required)  # `wire`, `card`
        if convert in _ROW_CONVERTERS:
            # str.strip gives back the very string when there is nothing to strip.
            column = list(map(str.strip, column))
            if "" in column:
                if required:
                    return None
                column = [cell or None for cell in column]
            if name == "invoice" and self.invoices:
                column = _shared(column, self.invoices)
            return column
        if convert is _date:
            return _dates(column, required)
        if convert in _AMOUNT_CONVERTERS:
            return _amounts(column, required, positive=convert is _amount)
        default = self.builder.defaults.get(name)
        return _by_value(column, convert, default, required)

    def _rules(self, values: dict[str, Any], nested: dict[str, list[str]]) -> bool:
        """The record rules of model.py, column-wise (nested rows are checked apart)."""
        dues = values.get("due")
        if self.model is Invoice and isinstance(dues, list):
            issued = values["date"]
            for due, day in zip(dues, issued, strict=False):
                if due is not None and due < day:
                    return False
        return True

    def _nested_row(
        self, names: list[str], columns: list[list[str]], i: int, rel: str, line: int
    ) -> tuple[Any, int] | None:
        """Row i, which has a nested cell, through the per-record fast lane."""
        data: dict[str, Any] = {}
        try:
            for name, column in zip(names, columns, strict=False):
                cell = column[i].strip()
                if cell:
                    data[name] = csv_nested(name, cell) if name in _NESTED else cell
        except ValueError:
            return None
        row = self.builder.build(data, _Where(rel, line))
        if row is None:
            return None
        return row, _row_places(row)


class _Where(NamedTuple):
    path: str
    line: int


def _row_places(row: Any) -> int:
    """The most decimals any amount of a row has (trailing zeros aside)."""
    amounts = [row.amount]
    amounts += [part.amount for part in getattr(row, "schedule", None) or ()]
    amounts += (getattr(row, "allocations", None) or {}).values()
    exponent = min(amount.normalize().as_tuple().exponent for amount in amounts)
    return max(0, -exponent) if isinstance(exponent, int) else 99


# Line numbers as shared int objects: every file has a line 2, 3, 4... and an
# int above 256 costs 28 bytes, 56 MB over two million rows.
_LINES: list[int] = []


def _line_numbers(first: int, size: int) -> list[int]:
    if len(_LINES) < first + size:
        _LINES.extend(range(len(_LINES), first + size + 65_536))
    return _LINES[first : first + size]


def _wider(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)
