"""Whether the bulk CSV files of a ledger would load without a word.

Stage 3 of the columnar path (docs/columnar.md, designs 2 and 3): a ledger
whose CSV files of invoices, payments and adjustments are surely clean keeps
their pyarrow cells and makes no row at load; everything else loads record
by record, as before, and says what is wrong. That rests on one predicate,
`why_not_clean`, which must never call a file clean that the row path would
say anything about (an error or a warning), and may decline a file it cannot
prove clean cheaply (only a slower load).

What it proves is what the row path checks, in the row path's own terms:

- each field by the rule its model's plan gives it (`loader._column_plan`,
  from `_shapes.py`): through its arrow form (`arrow_rules.apply`), held
  value for value to the list rule, or, for a field without one, through the
  loader's own column rule once per distinct cell;
- nested cells (`schedule`, `allocations`) only when written as plain
  `key=value;...` pairs, cut by `arrow_columns._pairs`; their halves by the
  rules of the fields `readers.csv_nested` makes of them;
- the model's rules over several fields (`_Plan.checks`) and the loader's
  cross-checks: the arrays pick a superset of the records a rule could say
  something about, and the rule itself (or the record code) decides about
  those; a rule this module does not know declines every file.

Declined outright: a value in a column no field has, a required field left
empty, a row with no value (the loader drops it without a word, but its
lines would then differ), a nested cell not written as pairs.

Not looked at: what the loader has checked before calling (docs of
`why_not_clean`), and the text of the files itself: cells exist only for a
file that decoded without a problem (`loader._decode`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from arledger import _shapes, arrow_rules, rules
from arledger.arrow_columns import (
    GROUP_THREADS,
    KERNEL_FIELDS,
    BulkFile,
    Cells,
    _currency_of,
    _cut_pairs,
    _given,
    _marked,
    _Named,
    _one,
    _Pairs,
    rule_cells,
)
from arledger.loader import CSV_NESTED, _column_plan, _Plan
from arledger.money import has_excess_places, minor_units
from arledger.readers import csv_nested

BULK_KINDS = ("invoices", "payments", "adjustments")

# What `readers.csv_nested` names the halves of a pair of a list of records
# (`schedule: 2026-03-01=500`): the nested model's fields.
_LIST_PAIRS = ("due", "amount")


class _NotClean(Exception):
    """The first reason found not to call the files clean."""


def why_not_clean(
    files: Cells,
    customers: Mapping[str, Any],
    settings: Any,
    ahead: Callable[[], None] | None = None,
) -> str | None:
    """None when loading exactly these files by rows (`_load_batch` of each
    in order, then the cross-checks with these customers) would say nothing
    about their records, neither error nor warning; else a short reason
    naming the file (for tests and a debug switch).

    Sound: never None where the row path would speak. Conservative: a reason
    may be given where it would not (the ledger then loads by rows).

    Args:
        files: "invoices", "payments", "adjustments" to every file of the
            kind, in load order (`Cells`, which keeps the rules' results
            for the kernel's columns). The loader has checked each header (it
            parses, names no column twice, has no problem), that each row
            is one line with the header's number of cells, and made `cells`
            map every header name to its cells trimmed as `str.strip` trims.
        customers: the ledger's customers by id, every one loaded fine.
        settings: the ledger's settings (the base currency).
        ahead: called first: begins a settlement of the files as if they
            were clean (`Cells.make_ahead`), beside the checks.

    Returns:
        None, or why not.
    """
    try:
        files.start_named_at()  # on a thread of its own, for `references`
        kinds = {kind: _Kind.read(kind, files) for kind in BULK_KINDS}
        if ahead is not None:
            ahead()
        _Ledger(kinds, customers, settings, files).check()
    except _NotClean as why:
        files.drop_ahead()
        return str(why)
    finally:
        files.wait()
        if not files.making_ahead:  # else once it is taken (`Cells.ahead`)
            files.forget()
    files.clean = True
    return None


# ------------------------------------------------------------------ fields


class _Field(NamedTuple):
    """How the row path reads one field of a model."""

    name: str
    rule: rules.Rule | None  # its value rule, when plain (no bounds, not nested)
    required: bool
    pairs: tuple[rules.Rule | None, rules.Rule] | None  # nested as key=value


def _fields(model: str) -> list[_Field]:
    """The fields of `model` as its plan reads them, from `_shapes.py`."""
    found = []
    for name, spec, required, _default in _shapes.SHAPES[model]["fields"]:
        rule = None
        if spec[0] == "rule" and not spec[2]:
            rule = getattr(rules, spec[1])
        found.append(_Field(name, rule, required, _pairs_of(name, spec)))
    return found


def _pairs_of(name: str, spec: tuple[Any, ...]) -> Any:
    """For a nested field read as `key=value` pairs by arrays: the rule of
    the keys (None: any text, as a mapping's key) and of the values; None
    for a field read otherwise (then each distinct cell goes through the
    loader's column rule)."""
    if name not in CSV_NESTED:
        return None
    if spec[0] not in ("tuple", "dict"):
        return None
    inner = spec[1]
    if spec[0] == "dict" and inner[0] == "rule" and not inner[2]:
        return None, getattr(rules, inner[1])
    if spec[0] == "tuple" and inner[0] == "model":
        shape = _shapes.SHAPES[inner[1]]
        parts = {field[0]: field for field in shape["fields"]}
        plain = [parts.get(half, (half, ("other",), False))[1] for half in _LIST_PAIRS]
        if (
            list(parts) == list(_LIST_PAIRS)
            and all(field[2] for field in parts.values())
            and all(p[0] == "rule" and not p[2] for p in plain)
            and not shape["row_rules"]
            and not shape["field_rules"]
        ):
            return tuple(getattr(rules, p[1]) for p in plain)
    return None


def read_by_none(kind: str) -> frozenset[str]:
    """The fields of a bulk kind that no check here and no column of the
    kernel reads: optional texts (which `rules.texts` takes whatever is
    given, `REFUSES_NO_GIVEN`), named by no rule over several fields. The
    loader cuts their cells only when asked for (`loader._later_fields`)."""
    model = _shapes.KINDS[kind]
    shape = _shapes.SHAPES[model]
    named = {
        name
        for _, names in (*shape["row_rules"], *shape["field_rules"])
        for name in names
    }
    return frozenset(
        field.name
        for field in _fields(model)
        if field.rule is rules.texts
        and not field.required
        and field.name not in named
        and field.name not in KERNEL_FIELDS[kind]
    )


# ------------------------------------------------------------------ files


class _Rows:
    """Where each row of a kind's files (one after the other) is written."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.rels: list[str] = []
        self.size = 0

    def add(self, rel: str, size: int) -> int:
        self.starts.append(self.size)
        self.rels.append(rel)
        self.size += size
        return self.starts[-1]

    def at(self, row: int) -> str:
        """`file:line` of a row (row k of a file is on line k + 2)."""
        for start, rel in zip(reversed(self.starts), reversed(self.rels), strict=True):
            if row >= start:
                return f"{rel}:{row - start + 2}"
        raise IndexError(row)  # pragma: no cover


class _Column:
    """The cells of one column of a file, plain or dictionary-encoded as the
    loader cut them, with an empty cell read as not given. A rule judges
    each value alone, so a dictionary-encoded column is judged by its
    distinct values, without a string a cell."""

    def __init__(
        self,
        cells: Any,
        shared: Callable[[rules.Rule], arrow_rules.Ruled | arrow_rules.Amounts]
        | None = None,
        given: Callable[[], pa.Array] | None = None,
        pairs: Callable[[], tuple[_Pairs, int]] | None = None,
    ) -> None:
        if isinstance(cells, pa.ChunkedArray) and cells.num_chunks == 1:
            cells = cells.chunk(0)
        self.pairs = pairs or partial(_cut_pairs, cells)
        self.encoded = isinstance(cells, pa.DictionaryArray)
        self.cells = cells
        self._texts: pa.Array | None = None
        self._shared = shared
        self._given = given

    def texts(self) -> pa.Array:
        """Plain strings, null where not given."""
        if self._texts is None:
            self._texts = self._given() if self._given else _given(self.cells)
        return self._texts

    def _empty(self) -> pa.Array:
        """Per distinct value of an encoded column: not given."""
        return pc.is_null(_given(self.cells.dictionary))

    def missing(self) -> int:
        """How many cells are not given."""
        if not self.encoded:
            if self._texts is not None:
                return int(self._texts.null_count)
            # counted over the cells as cut: no plain copy of them made
            empty = pc.sum(pc.equal(pc.binary_length(self.cells), 0)).as_py()
            return int(self.cells.null_count) + int(empty or 0)
        empty = self._empty()
        indices = self.cells.indices
        count = int(indices.null_count)
        if pc.any(empty).as_py():  # each cell's value's, counted
            count += int(pc.sum(empty.cast(pa.int8()).take(indices)).as_py() or 0)
        return count

    def ruled(self, rule: rules.Rule) -> arrow_rules.Ruled | arrow_rules.Amounts:
        """The column held to `rule` (`arrow_columns.rule_cells`, through
        `Cells` when the column is a file's, so that the kernel's columns
        take the same result)."""
        if self._shared is not None:
            return self._shared(rule)
        return rule_cells(self.cells, rule)

    def take(self, rows: pa.Array) -> list[str | None]:
        """The texts of some rows (None where not given)."""
        return [text or None for text in self.cells.take(rows).to_pylist()]


class _Nested(NamedTuple):
    """The `key=value` pairs of a nested field's cells over a kind's files:
    the record each belongs to (its row among the kind's), the halves as
    written, and the values as amounts."""

    parent: pa.Array
    key: pa.Array
    value: pa.Array
    amount: _Amount

    @property
    def pairs(self) -> _Pairs:
        return _Pairs(self.parent, self.key, self.value)


class _Kind:
    """A kind's files, each field held to its rule, the cells of every file
    one after the other: `name` the texts (null where not given),
    `name:value` dates and currencies by their rules, `name:amount` amounts,
    `name:pairs` the pairs of nested cells."""

    def __init__(self, kind: str, plan: _Plan) -> None:
        self.kind = kind
        self.plan = plan
        self.rows = _Rows()
        self.parts: list[tuple[int, dict[str, Any]]] = []
        self.joined: dict[str, Any] = {}
        self.columns: dict[str, list[tuple[int, _Column | None]]] = {}
        self.cells = Cells({})

    @staticmethod
    def read(kind: str, cells: Cells) -> _Kind:
        model = _shapes.KINDS[kind]
        plan = _column_plan(model)
        assert plan is not None, kind
        found = _Kind(kind, plan)
        fields = _fields(model)
        found.cells = cells
        for number, file in enumerate(cells[kind]):
            found.add(file, fields, partial(cells.ruled, kind, number), number)
        found.join(fields)
        return found

    def add(
        self,
        file: BulkFile,
        fields: list[_Field],
        shared: Callable[..., arrow_rules.Ruled | arrow_rules.Amounts],
        number: int,
    ) -> None:
        rel, cells = file.path, file.cells
        size = len(next(iter(cells.values()))) if cells else 0
        known = {field.name for field in fields}
        for name, column in cells.items():
            if name not in known and (name or _Column(column).missing() < size):
                raise _NotClean(f"{rel}: a column no field has, {name!r}")
        start = self.rows.add(rel, size)
        kept: dict[str, Any] = {}
        self.parts.append((size, kept))
        if not size:
            return
        for field in fields:
            cells_of = cells.get(field.name)
            if cells_of is None:
                if field.required:
                    raise _NotClean(f"{rel}: missing required column {field.name!r}")
                continue
            column = _Column(
                cells_of,
                partial(shared, field.name),
                partial(self.cells.given, self.kind, number, field.name),
                partial(self.cells.pairs, self.kind, number, field.name),
            )
            missing = column.missing()
            if field.required and missing:
                at = _first(pc.is_null(column.texts())) or 0
                raise _NotClean(f"{rel}:{at + 2}: {field.name}: missing (required)")
            kept[field.name] = column
            if missing < size:
                kept.update(self._hold(rel, start, field, column))

    def _hold(
        self, rel: str, start: int, field: _Field, column: _Column
    ) -> dict[str, Any]:
        """Hold the cells given of a field to its rule; the values kept."""
        name = field.name
        if field.pairs is not None:
            return {f"{name}:pairs": self._nested(rel, start, field, column)}
        if field.rule in arrow_rules.REFUSES_NO_GIVEN:
            return {}  # the cells given are all it would take
        if field.rule is not None:
            try:
                ruled = column.ruled(field.rule)
            except KeyError:  # no arrow form: the column rule, below
                pass
            else:
                _refused(rel, name, ruled.refused, nested=column.encoded)
                if isinstance(ruled, arrow_rules.Amounts):
                    return {f"{name}:amount": _Amount(ruled.digits, ruled.scale)}
                return {f"{name}:value": ruled.values}
        self._by_column_rule(rel, name, column.texts())
        return {}

    def _by_column_rule(self, rel: str, name: str, given: pa.Array) -> None:
        """A field without an arrow form: the loader's column rule (what
        `_by_columns` applies) judges each distinct cell once."""
        distinct = pc.unique(given.drop_null()).to_pylist()
        try:
            if name in CSV_NESTED:
                values = [csv_nested(name, cell) for cell in distinct]
            else:
                values = distinct
            self.plan.rules[name](values)
        except rules.Bad as bad:
            cell = distinct[next(iter(bad.messages))]
            raise _NotClean(
                f"{rel}: {name}: a value its rule refuses ({cell!r})"
            ) from None
        except ValueError as exc:  # csv_nested's
            raise _NotClean(f"{rel}: {exc}") from None

    def _nested(self, rel: str, start: int, field: _Field, column: _Column) -> _Nested:
        """A nested cell as `key=value` pairs, each half by its rule; a cell
        written otherwise, or giving no pair, or a key twice in a mapping,
        is declined."""
        assert field.pairs is not None
        name = field.name
        key_rule, value_rule = field.pairs
        try:
            pairs, given = column.pairs()
        except ValueError:
            raise _NotClean(f"{rel}: {name}: a part not written as key=value") from None
        if pc.any(pc.equal(pc.utf8_length(pairs.key), 0)).as_py():
            raise _NotClean(f"{rel}: {name}: a part without a key")
        if len(pc.unique(pairs.parent)) != given:
            raise _NotClean(f"{rel}: {name}: a cell without a pair")
        if key_rule is None:  # a mapping: a key given twice is an error
            keys = pa.table({"parent": pairs.parent, "key": pairs.key})
            distinct = keys.group_by(["parent", "key"], use_threads=GROUP_THREADS)
            if len(distinct.aggregate([])) != len(keys):
                raise _NotClean(f"{rel}: {name}: a key given twice")
        else:
            refused = arrow_rules.apply(key_rule, pairs.key).refused
            _refused(rel, name, refused, nested=True)
        found = arrow_rules.apply(value_rule, pairs.value)
        _refused(rel, name, found.refused, nested=True)
        assert isinstance(found, arrow_rules.Amounts)
        parent = pc.add(pairs.parent, pa.scalar(start, pa.int32()))
        return _Nested(
            parent, pairs.key, pairs.value, _Amount(found.digits, found.scale)
        )

    def join(self, fields: list[_Field]) -> None:
        """Each column kept, over the kind's files: one array (nulls where
        a file gives no value)."""
        for field in fields:
            name = field.name
            self.columns[name] = [(size, kept.get(name)) for size, kept in self.parts]
            if field.pairs is not None:
                self.joined[f"{name}:pairs"] = self._concat(f"{name}:pairs", _no_pairs)
            elif field.rule is rules.amounts:
                self.joined[f"{name}:amount"] = self._concat(
                    f"{name}:amount", _no_amounts
                )
            elif field.rule in (rules.dates, rules.currencies):
                kind = pa.date32() if field.rule is rules.dates else pa.string()
                self.joined[f"{name}:value"] = self._concat(
                    f"{name}:value", _nulls(kind)
                )
        del self.parts

    def _concat(self, key: str, filler: Callable[[int], Any]) -> Any:
        parts = [
            kept[key] if key in kept else filler(size) for size, kept in self.parts
        ]
        if not parts:
            return filler(0)
        if len(parts) == 1:
            return parts[0]
        if isinstance(parts[0], _Amount):  # chunked: 16 bytes an amount, not copied
            return _Amount(
                *(pa.chunked_array([part[k] for part in parts]) for k in range(2))
            )
        if isinstance(parts[0], tuple):  # _Nested
            return type(parts[0])(
                *(
                    _concat_any([part[k] for part in parts])
                    for k in range(len(parts[0]))
                )
            )
        return pa.concat_arrays(parts)

    def __getitem__(self, name: str) -> Any:
        """A kept column; a field's own name: its texts (null where not
        given), made when first asked for."""
        if name not in self.joined and name in self.columns and ":" not in name:
            self.joined[name] = self.cells.texts(self.kind, name)
        if name not in self.joined:
            self.joined[name] = _concat_any(
                [
                    pa.nulls(size, pa.string()) if column is None else column.texts()
                    for size, column in self.columns[name]
                ]
                or [pa.array([], pa.string())]
            )
        return self.joined[name]

    def one(self, name: str) -> Any:
        """A kept column as one array (an amount as one array of digits and
        one of scales), joined when first asked for: amounts are kept in
        chunks, a file's each, and a take from chunks joins them anew each
        time (16 MB of digits at a million invoices)."""
        key = f"{name}:one"
        found = self.joined.get(key)
        if found is None:
            value = self[name]
            found = self.joined[key] = (
                _Amount(_one(value.digits), _one(value.scale))
                if isinstance(value, _Amount)
                else _one(value)
            )
        return found

    def take(self, name: str, rows: list[int]) -> list[str | None]:
        """The texts of a field at some rows (None where not given)."""
        texts: list[str | None] = []
        start = 0
        for size, column in self.columns[name]:
            mine = [row - start for row in rows if start <= row < start + size]
            if column is None:
                texts += [None] * len(mine)
            elif mine:
                texts += column.take(pa.array(mine, pa.int64()))
            start += size
        return texts

    @property
    def size(self) -> int:
        return self.rows.size

    def at(self, row: int) -> str:
        return self.rows.at(row)


def _concat_any(parts: list[Any]) -> Any:
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], tuple):
        return type(parts[0])(
            *(
                pa.concat_arrays([part[k] for part in parts])
                for k in range(len(parts[0]))
            )
        )
    return pa.concat_arrays(parts)


def _nulls(kind: pa.DataType) -> Callable[[int], pa.Array]:
    return lambda size: pa.nulls(size, kind)


def _no_amounts(size: int) -> _Amount:
    return _Amount(pa.nulls(size, arrow_rules.DIGITS), pa.nulls(size, pa.int8()))


def _no_pairs(size: int) -> _Nested:
    empty = pa.array([], pa.string())
    return _Nested(pa.array([], pa.int32()), empty, empty, _no_amounts(0))


class _Amount(NamedTuple):
    """Amounts exactly as `digits × 10**-scale` (`arrow_rules.Amounts`)."""

    digits: pa.Array
    scale: pa.Array

    def decimal(self, row: int) -> Decimal:
        """The amount the list rule gives (a Decimal with its exponent)."""
        digits = self.digits[row].as_py()
        return Decimal(digits).scaleb(-self.scale[row].as_py())

    def take(self, at: pa.Array) -> _Amount:
        return _Amount(self.digits.take(at), self.scale.take(at))

    def filter(self, mask: pa.Array) -> _Amount:
        return _Amount(self.digits.filter(mask), self.scale.filter(mask))


def _refused(
    rel: str, name: str, refused: dict[int, str], nested: bool = False
) -> None:
    """Decline where a rule refuses a value (`nested`: of a pair, whose
    index is no row)."""
    if refused:
        row, message = next(iter(refused.items()))
        where = rel if nested else f"{rel}:{row + 2}"
        raise _NotClean(f"{where}: {name}: a value its rule refuses ({message})")


# ------------------------------------------------------------------ records


def _first(mask: pa.Array) -> int | None:
    """The first row where `mask` is true (null counts as false)."""
    if not len(mask):
        return None
    found = pc.index(pc.fill_null(mask, False), True).as_py()
    return None if found < 0 else int(found)


def _where(mask: pa.Array) -> list[int]:
    """The rows where `mask` is true (null counts as false)."""
    return pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()  # type: ignore[no-any-return]


_NO_ROW = pa.scalar(None, pa.int32())


class _Part(NamedTuple):
    """Names of invoices a kind's records give in one way (`references`):
    each name (null where none), where one is looked up (not a payment's
    own where it has allocations), the invoice's row (`Cells.named_at`;
    null where none is looked up), the record of each (None: the k-th is
    the k-th record's own), and the amount it pays."""

    name: pa.Array
    given: pa.Array
    at: pa.Array
    record: pa.Array | None
    amount: _Amount

    def record_of(self, row: int) -> int:
        return row if self.record is None else int(self.record[row].as_py())

    def mine(self, values: pa.Array) -> pa.Array:
        """A field of the records, one a name."""
        return values if self.record is None else values.take(self.record)


class _Ledger:
    """The checks over records: the model's rules over several fields
    (`_Plan.checks`), then what the loader's `_collect` and CROSS_CHECKS
    say about the bulk records."""

    def __init__(
        self,
        kinds: dict[str, _Kind],
        customers: Mapping[str, Any],
        settings: Any,
        cells: Cells,
    ) -> None:
        self.kinds = kinds
        self.cells = cells
        self.customers = customers
        self.base: str = settings.currency
        self.currency: dict[str, pa.Array] = {}
        self.customer_ids = pa.array(list(customers), pa.string())

    def check(self) -> None:
        for kind in self.kinds.values():
            self.record_rules(kind)
        for kind in self.kinds.values():
            self.unique_ids(kind)
            self.known_customers(kind)
        self.currencies()
        # last: the places of the names (`Cells.named_at`) may still be in
        # the making on a thread of their own
        self.minor_units()
        self.references()

    # -------------------------------------------------------- record rules

    def record_rules(self, kind: _Kind) -> None:
        """Each rule of the model over several fields: the arrays pick the
        records it could refuse, and the rule decides about those."""
        for fields, rule in kind.plan.checks:
            pick = _PICKS.get(rule)
            if pick is None:
                raise _NotClean(f"{kind.kind}: a record rule not known here, {rule}")
            rows = _where(pick(kind)) if kind.size else []
            if rows:
                self.decide(kind, fields, rule, rows)

    def decide(
        self,
        kind: _Kind,
        fields: tuple[str, ...],
        rule: Callable[..., None],
        rows: list[int],
    ) -> None:
        """The rule over these records, their fields converted by the
        loader's column rules from their cells (which each rule took)."""
        plan = kind.plan
        columns = []
        for name in fields:
            convert = plan.rules[name]
            values = []
            for text in kind.take(name, rows):
                if text is not None:
                    nested = name in CSV_NESTED
                    text = convert([csv_nested(name, text) if nested else text])[0]
                values.append(text)
            columns.append(values)
        try:
            rule(*columns)
        except rules.Bad as bad:
            n, message = next(iter(bad.messages.items()))
            raise _NotClean(f"{kind.at(rows[n])}: {message}") from None

    # -------------------------------------------------------- _collect

    def unique_ids(self, kind: _Kind) -> None:
        """No id twice among a kind's records (a payment's may be left out)."""
        ids = kind["id"]
        given = ids.drop_null() if ids.null_count else ids
        if _increasing(given) or pc.count_distinct(given).as_py() == len(given):
            return
        counts = pc.value_counts(given)
        twice = counts.filter(pc.greater(counts.field("counts"), 1))
        value = twice.field("values")[0].as_py()
        rows = _where(pc.equal(ids, value))
        raise _NotClean(
            f"{kind.at(rows[1])}: duplicate id {value!r} (first at {kind.at(rows[0])})"
        )

    # -------------------------------------------------------- check_customers_exist

    def known_customers(self, kind: _Kind) -> None:
        row = _first(pc.is_null(self.customer_code(kind)))
        if row is not None:
            customer = kind["customer"][row].as_py()
            raise _NotClean(f"{kind.at(row)}: customer: unknown customer {customer!r}")

    def customer_code(self, kind: _Kind) -> pa.Array:
        """Each record's customer as its place among the customers (null
        where unknown): compared as integers, not as texts."""
        return self.cells.codes(kind.kind, "customer", list(self.customers))

    def _theirs(self, kind: _Kind) -> pa.Array:
        """Each record's customer's currency (`Ledger.customer_currency`)."""
        currencies = pa.array(
            [c.currency or self.base for c in self.customers.values()], pa.string()
        )
        return currencies.take(self.customer_code(kind))

    # -------------------------------------------------------- currencies

    def currencies(self) -> None:
        """Each record's currency as `Ledger.currency_of` gives it."""
        inv = self.kinds["invoices"]
        self.currency["invoices"] = pc.coalesce(
            inv["currency:value"], self._theirs(inv)
        )
        for name in ("payments", "adjustments"):
            kind = self.kinds[name]
            own = kind["currency:value"]
            if own.null_count:
                # customers as codes: every one is known (`known_customers`)
                invoices = {
                    "id": _one(inv["id"]),
                    "customer": self.customer_code(inv),
                    "currency": self.currency["invoices"],
                }
                own = _currency_of(
                    own,
                    self.customer_code(kind),
                    self._theirs(kind),
                    self.named(name),
                    invoices,
                )
            self.currency[name] = own

    def named(self, name: str) -> _Named:
        """The invoices a kind's records name (`_Named`: for payments, the
        `invoice` of each record without allocations, then each
        allocation's)."""
        kind = self.kinds[name]
        if name == "adjustments":
            return _Named.of_adjustments(_one(kind["invoice"]))
        allocations = kind["allocations:pairs"].pairs
        allocated = _marked(allocations.parent, kind.size)
        return _Named.of_payments(_one(kind["invoice"]), allocated, allocations)

    # -------------------------------------------------------- check_references

    def references(self) -> None:
        """Named invoices exist, are the record's customer's and in its
        currency; a payment pays no more than the invoice it names.

        Every name is looked up at once, with one hash table of the invoice
        ids (`Cells.named_at`, their `id` cells, which `unique_ids` found
        unique), kept for the kernel's columns. Each kind's names come in
        parts: a record's own `invoice` (a payment's, where it has no
        allocations), compared row for row with no copy of the record's
        fields, then each allocation's, with its payment's."""
        inv = self.kinds["invoices"]
        named_at = self.cells.named_at()
        customer = self.customer_code(inv)
        currency = self.currency["invoices"]
        for name in ("payments", "adjustments"):
            kind = self.kinds[name]
            own, at = kind["invoice"], named_at[name]
            parts = [_Part(own, pc.is_valid(own), at, None, kind["amount:amount"])]
            if name == "payments":  # allocations replace a payment's own
                pairs: _Nested = kind["allocations:pairs"]
                allocated = _marked(pairs.parent, kind.size)
                given = pc.and_(parts[0].given, pc.invert(allocated))
                at = pc.if_else(allocated, _NO_ROW, at)
                parts = [
                    parts[0]._replace(given=given, at=at),
                    _Part(
                        pairs.key,
                        pc.is_valid(pairs.key),
                        named_at["allocations"],
                        pairs.parent,
                        pairs.amount,
                    ),
                ]
            for part in parts:
                row = _first(pc.and_(part.given, pc.is_null(part.at)))
                if row is not None:
                    raise _NotClean(
                        f"{kind.at(part.record_of(row))}: unknown invoice "
                        f"{part.name[row].as_py()!r}"
                    )
            for part in parts:
                whose = pc.equal(
                    customer.take(part.at), part.mine(self.customer_code(kind))
                )
                row = _first(pc.invert(whose))
                if row is not None:
                    raise _NotClean(
                        f"{kind.at(part.record_of(row))}: invoice "
                        f"{inv['id'][part.at[row].as_py()].as_py()!r} is another "
                        "customer's"
                    )
            for part in parts:
                # a record without a currency naming one `invoice` takes the
                # invoice's; an allocation's is compared always
                theirs = currency.take(part.at)
                mine = part.mine(self.currency[name])
                wrong = pc.not_equal(theirs, mine)
                if part.record is None:
                    given = pc.is_valid(kind["currency:value"])
                    wrong = pc.and_kleene(given, wrong)
                row = _first(wrong)
                if row is not None:
                    raise _NotClean(
                        f"{kind.at(part.record_of(row))}: currency: "
                        f"{mine[row].as_py()} cannot settle an invoice in "
                        f"{theirs[row].as_py()}"
                    )
            if name == "payments":
                for part in parts:
                    self.not_over(
                        kind, part, part.amount, inv.one("amount:amount").take(part.at)
                    )

    def not_over(
        self, kind: _Kind, part: _Part, paid: _Amount, theirs: _Amount
    ) -> None:
        """No payment, nor allocation, larger than the invoice it names (a
        warning): amounts of one scale compared as their digits, the others
        as the Decimals the rule gives."""
        same = pc.equal(paid.scale, theirs.scale)
        row = _first(pc.and_kleene(same, pc.greater(paid.digits, theirs.digits)))
        if row is None:
            row = next(
                (
                    k
                    for k in _where(pc.invert(same))
                    if paid.decimal(k) > theirs.decimal(k)
                ),
                None,
            )
        if row is not None:
            raise _NotClean(
                f"{kind.at(part.record_of(row))}: pays {paid.decimal(row)} against "
                f"an invoice of {theirs.decimal(row)}"
            )

    # -------------------------------------------------------- check_minor_units

    def minor_units(self) -> None:
        """No amount with more decimals than its record's currency has."""
        for name, kind in self.kinds.items():
            currency = self.currency[name]
            self._places(kind, kind["amount:amount"], currency, None)
            for nested in ("schedule", "allocations"):
                if f"{nested}:pairs" in kind.joined:
                    pairs: _Nested = kind[f"{nested}:pairs"]
                    self._places(
                        kind, pairs.amount, currency.take(pairs.parent), pairs.parent
                    )

    def _places(
        self,
        kind: _Kind,
        amount: _Amount,
        currency: pa.Array,
        parent: pa.Array | None,
    ) -> None:
        """Amounts written with more places than their currency has are
        asked of `has_excess_places` (0.0200 in USD is whole cents)."""
        if not len(currency):
            return
        encoded = pc.dictionary_encode(_one(currency))  # one pass: a code each
        distinct = encoded.dictionary.to_pylist()
        places = pa.array([minor_units(c) for c in distinct], pa.int8())
        allowed = places.take(encoded.indices)
        for row in _where(pc.greater(amount.scale, allowed)):
            value, code = amount.decimal(row), currency[row].as_py()
            if has_excess_places(value, code):
                record = row if parent is None else parent[row].as_py()
                raise _NotClean(
                    f"{kind.at(record)}: {value} has more decimals than {code} allows"
                )


def _increasing(ids: pa.Array) -> bool:
    """Whether ids are strictly increasing (then none is there twice): files
    written by a program mostly are, and the test takes 3 ms a million
    where counting distinct ids hashes each (0.3 s)."""
    if len(ids) < 2:
        return True
    later = pc.greater(ids.slice(1), ids.slice(0, len(ids) - 1))
    return bool(pc.all(later).as_py())


# ------------------------------------------------------------------ picks
# For each rule of the models over several fields, the records it could
# refuse, picked from the arrays: a superset (the rule itself decides).


def _due_dates(kind: _Kind) -> pa.Array:
    """`rules.due_dates`: a due date before the issue date."""
    return pc.less(kind["due:value"], kind["date:value"])


def _per_record(
    kind: _Kind, name: str, aggregates: list[tuple[str, str]], more: dict[str, Any]
) -> tuple[pa.Array, pa.Table]:
    """The pairs of a nested field grouped by record: the records (their
    rows) and the aggregates, with `other` (any part written with other
    decimals than the record's amount) and the sum of the parts' digits."""
    pairs: _Nested = kind[f"{name}:pairs"]
    amount: _Amount = kind["amount:amount"]
    table = pa.table(
        {
            "parent": pairs.parent,
            "digits": pairs.amount.digits,
            "other": pc.not_equal(pairs.amount.scale, amount.scale.take(pairs.parent)),
            **more,
        }
    )
    grouped = table.group_by("parent", use_threads=GROUP_THREADS).aggregate(
        [("digits", "sum"), ("other", "any"), *aggregates]
    )
    return _one(grouped["parent"]), grouped


def _picked(kind: _Kind, at: pa.Array, wrong: pa.Array) -> pa.Array:
    """The records at `at` where `wrong` is true or null, as a mask."""
    picked = at.filter(pc.fill_null(wrong, True))
    return _marked(picked, kind.size)


def _schedules(kind: _Kind) -> pa.Array:
    """`rules.schedules`: instalments that do not add up to the amount, or
    fall before the date, or beside a `due` that is not the last of them;
    and every invoice whose instalments are written with other decimals
    than its amount. (An empty schedule is declined where it is cut.)"""
    pairs: _Nested = kind["schedule:pairs"]
    if not len(pairs.parent):
        return pa.nulls(kind.size, pa.bool_())
    ruled = arrow_rules.apply(rules.dates, pairs.key)
    assert isinstance(ruled, arrow_rules.Ruled)
    due = ruled.values
    at, grouped = _per_record(
        kind, "schedule", [("due", "min"), ("due", "max")], {"due": due}
    )
    own_due = kind["due:value"].take(at)

    def column(name: str) -> pa.Array:
        return _one(grouped[name])

    wrong = pc.or_kleene(
        pc.or_kleene(
            column("other_any"),
            pc.not_equal(
                column("digits_sum"), kind.one("amount:amount").digits.take(at)
            ),
        ),
        pc.or_kleene(
            pc.less(column("due_min"), kind["date:value"].take(at)),
            pc.and_kleene(
                pc.is_valid(own_due), pc.not_equal(own_due, column("due_max"))
            ),
        ),
    )
    return _picked(kind, at, wrong)


def _allocations(kind: _Kind) -> pa.Array:
    """`rules.allocations`: a payment giving `invoice` beside its
    allocations, or allocating more than its amount; and every payment whose
    allocations are written with other decimals than its amount."""
    pairs: _Nested = kind["allocations:pairs"]
    if not len(pairs.parent):
        return pa.nulls(kind.size, pa.bool_())
    at, grouped = _per_record(kind, "allocations", [], {})
    wrong = pc.or_kleene(
        pc.or_kleene(
            _one(grouped["other_any"]),
            pc.greater(
                _one(grouped["digits_sum"]),
                kind.one("amount:amount").digits.take(at),
            ),
        ),
        pc.is_valid(kind["invoice"]).take(at),
    )
    return _picked(kind, at, wrong)


_PICKS: dict[Callable[..., None], Callable[[_Kind], pa.Array]] = {
    rules.due_dates: _due_dates,
    rules.schedules: _schedules,
    rules.allocations: _allocations,
}
