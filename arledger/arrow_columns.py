"""The settlement kernel's columns from the pyarrow arrays of bulk CSV files.

Stage 3 of the columnar path (docs/columnar.md, design 4;
docs/columnar-kernel.md §1): the columns `_settle.read` makes from a view's
sorted rows, made instead from the cells of a ledger's CSV files of
invoices, adjustments and payments as pyarrow cut them, without a Python
object per record. `settle` calls it for a view of a ledger the loader kept
as cells (arledger/bulk.py); the rules' results it shares with
`arrow_checks.why_not_clean` are made once per ledger, in `Cells`.

Each value is decided as the Ledger decides it for a row (its reference is
tests/reference_columns.py, and tests/test_arrow_columns.py holds the two
equal on the rows the loader makes of the same files):

- the fields by their rules over arrays (`arrow_rules.apply`): dates to day
  ordinals (date32 + 719163), amounts to digits and scale, then to exact
  minor units of the record's currency (decimal128) and its exponent;
- customers, currencies and owners coded by dictionary, new values after
  the tables' own in the order met (invoices, adjustments, payments);
- a record's currency: its own, else (an invoice) its customer's, else (a
  payment or adjustment, `Ledger.currency_of`) the one currency of the
  invoices of its customer it names in the whole ledger, else its
  customer's;
- due dates (`Ledger.due_of`): given, else the last instalment's, else the
  date plus the customer's terms;
- `schedule` and `allocations` cells (`key=value;...`, as
  `readers.csv_nested` reads them) split by pyarrow into instalments and
  allocations; named invoices found in one hash table of the invoice ids
  (`Cells.named_at`, `_csvbytes.rows_named`), or by `index_in` in a ledger
  the checks have not passed.

Made per record in Python, because only a few records need them: the
`discounted` pairs (an invoice's own `discount` cell through the loader's
rule; a customer's Discount object as the tables hold it), the ids of
invoices named but not in the view. The ids and refs (`ids`, `refs`,
`adj_ids`) are given as the offsets and bytes of their arrow strings, each
made a `str` by the kernel only when it shows it; the columns are views into
pyarrow's buffers, not copies. The records' own Decimals are not made:
the amount lists are None, and the kernel rebuilds a Decimal from (minor
units, exponent) where a result shows one (docs/columnar-kernel.md §4.3).

The files are taken to be valid: the loader has checked them, and refused
records are its business. A value a rule refuses raises ValueError.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future
from datetime import date
from functools import partial
from types import MappingProxyType
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from arledger import arrow_rules, rules
from arledger._csvbytes import rows_named
from arledger.money import MAX_DIGITS

# adj_kind: an adjustment's kind is its position here (as in `_settle.read`).
ADJUSTMENT_KINDS = ("credit_note", "write_off", "discount")

# date.toordinal() of 1970-01-01, the day date32 counts from.
EPOCH_ORDINAL = 719_163
_EPOCH = pa.scalar(EPOCH_ORDINAL, pa.int32())

# The kernel's columns (docs/columnar-kernel.md §1) and their array types;
# an amount column ("q") holds two words an amount, low then high, when the
# call is `wide`.
COLUMNS = {
    "inv_date": "i",
    "inv_customer": "i",
    "inv_currency": "h",
    "inv_minor": "q",
    "inv_exp": "b",
    "inv_flags": "B",
    "inv_due": "i",
    "inv_owner": "i",
    "ins_invoice": "i",
    "ins_due": "i",
    "ins_minor": "q",
    "ins_exp": "b",
    "pay_date": "i",
    "pay_customer": "i",
    "pay_currency": "h",
    "pay_minor": "q",
    "pay_exp": "b",
    "pay_invoice": "i",
    "adj_kind": "B",
    "adj_date": "i",
    "adj_customer": "i",
    "adj_currency": "h",
    "adj_minor": "q",
    "adj_exp": "b",
    "adj_invoice": "i",
    "alloc_payment": "i",
    "alloc_invoice": "i",
    "alloc_minor": "q",
    "alloc_exp": "b",
    "minor_units": "b",
}
DISPUTED = 1  # inv_flags, bit 0
# The lists of the records' own Decimals that `_settle.read` gives beside the
# columns: None here (the kernel rebuilds each from minor units and exponent).
_RECORD_AMOUNTS = (
    "inv_amounts",
    "ins_amounts",
    "pay_amounts",
    "adj_amounts",
    "alloc_amounts",
)

_ARROW_TYPES = {
    "i": pa.int32(),
    "h": pa.int16(),
    "b": pa.int8(),
    "B": pa.uint8(),
    "q": pa.int64(),
}
# Whether a group_by uses pyarrow's threads: no. On two cores they made a
# group_by of 54,000 rows take 36 ms against 2.6 ms (`aging` at 1M: its
# five group_bys 49 ms against 13 ms), fighting the threads already busy.
GROUP_THREADS = False
_WIDE = pa.decimal128(38, 0)  # minor units below 10**32: two words, low first
_INT64 = (-(2**63), 2**63 - 1)

# The fields the kernel's columns read, by kind.
KERNEL_FIELDS = {
    "invoices": (
        "id",
        "customer",
        "date",
        "due",
        "amount",
        "currency",
        "owner",
        "disputed",
        "schedule",
        "discount",
    ),
    "adjustments": ("id", "customer", "date", "amount", "kind", "invoice", "currency"),
    "payments": (
        "id",
        "customer",
        "date",
        "amount",
        "currency",
        "invoice",
        "allocations",
    ),
}


_NESTED = ("schedule", "allocations")


class BulkFile(NamedTuple):
    """A CSV file of invoices, adjustments or payments as pyarrow cut it."""

    # Relative to the ledger, as a record's Source says it: a payment without
    # an id is known by `path:line`.
    path: str
    # The cells of each column by its header name: string arrays, trimmed as
    # `str.strip` trims (null or "" where a cell is not given).
    cells: Mapping[str, pa.Array | pa.ChunkedArray]
    # The line each row starts on; None: row k is on line k + 2 (a header,
    # then a line a row, no blank line).
    lines: pa.Array | None = None
    # The columns not cut with the rest (texts no check reads: `loader.
    # _later_fields`), not in `cells`: by header name, how to cut each.
    later: Mapping[str, Callable[[], Any]] = MappingProxyType({})

    def column(self, name: str) -> pa.Array | pa.ChunkedArray | None:
        """The cells of column `name`, cut now if left for later; None where
        the file has no such column."""
        found = self.cells.get(name)
        if found is None and name in self.later:
            found = self.later[name]()
        return found

    def has(self, name: str) -> bool:
        """Whether the file has column `name`, cut or left for later."""
        return name in self.cells or name in self.later


BULK_KINDS = ("invoices", "payments", "adjustments")


# The fields whose rules' results `Cells` keeps: those the kernel reads.
_KEPT = frozenset({"date", "due", "currency", "disputed", "amount"})


class Cells(dict[str, list[BulkFile]]):
    """A ledger's bulk files by kind (a dict, as `bulk.Bulk` holds them),
    and the field rules' results over their cells, each made once and
    shared by whoever asks: the loader's proof that the
    files are clean (`arrow_checks.why_not_clean`) and the kernel's columns
    of each view (`kernel_columns`) hold the same columns to the same rules,
    and at a million records that costs about 0.7 s a time.

    What is kept depends on the cells alone, never on a view's day, so the
    columns of two views made from one `Cells` are those of two fresh ones.
    """

    def __init__(self, files: Mapping[str, Sequence[BulkFile]]) -> None:
        super().__init__((kind, list(files.get(kind, ()))) for kind in BULK_KINDS)
        self._ruled: dict[
            tuple[str, int, str, rules.Rule], arrow_rules.Ruled | arrow_rules.Amounts
        ] = {}
        self._shared: dict[str, Any] = {}
        # Set by `arrow_checks.why_not_clean` once it has proved the files
        # clean: then invoice ids are unique, every nested cell is pairs, and
        # a view's invoices are found by their row among all.
        self.clean = False
        # A view's settlement made ahead (`make_ahead`): what it was asked
        # for, and the work making it.
        self._ahead: tuple[Hashable, Future[Any]] | None = None
        # The checks and a settlement made ahead ask for the same results at
        # once, on two threads: each is made once (`_once`).
        self._lock = threading.Lock()

    def _once(self, cache: dict[Any, Any], key: Any, make: Callable[[], Any]) -> Any:
        """`cache[key]`, made by `make()` the first time it is asked for,
        whichever thread asks first; another asking meanwhile waits for it."""
        making: Future[Any] = Future()
        with self._lock:
            found = cache.get(key)
            if found is None:
                cache[key] = making
        if isinstance(found, Future):
            return found.result()
        if found is not None:
            return found
        try:
            value = make()
        except BaseException as error:
            with self._lock:
                if cache.get(key) is making:
                    del cache[key]
            making.set_exception(error)
            raise
        with self._lock:
            if cache.get(key) is making:  # (unless forgotten meanwhile)
                cache[key] = value
        making.set_result(value)
        return value

    def make_ahead(self, asked: Hashable, make: Callable[[], Any]) -> None:
        """Begin `make()`, a settlement of these cells (`settle.begin_ahead`), on
        a thread of its own, the files taken as clean while the checks that
        prove them run: at a million records, its columns are 0.25 s of
        pyarrow's work and its replay 0.3 s of C, and neither holds the GIL
        the checks need. `ahead(asked)` gives what it made once the files
        are proved clean; `drop_ahead` lets it go if they are not."""
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(1, "arledger-settle-ahead")
        self._ahead = (asked, pool.submit(make))
        pool.shutdown(wait=False)

    def ahead(self, asked: Hashable) -> Any:
        """What `make_ahead` made, if it was asked for the same (`asked`)
        and the files were proved clean; once (else None)."""
        found, self._ahead = self._ahead, None
        if found is None:
            return None
        if found[0] != asked or not self.clean:
            _settled(found[1])
            self.forget()
            return None
        try:
            return found[1].result()
        finally:
            self.forget()

    def drop_ahead(self) -> None:
        """Let go of what `make_ahead` began, once its thread is done (the
        files were not proved clean: whatever it found is not used)."""
        found, self._ahead = self._ahead, None
        if found is not None:
            _settled(found[1])

    @property
    def making_ahead(self) -> bool:
        """Whether a settlement made ahead is being made or not yet taken."""
        return self._ahead is not None

    @staticmethod
    def of(
        invoices: Sequence[BulkFile],
        adjustments: Sequence[BulkFile],
        payments: Sequence[BulkFile],
    ) -> Cells:
        return Cells(
            {"invoices": invoices, "adjustments": adjustments, "payments": payments}
        )

    def given(self, kind: str, number: int, name: str) -> pa.Array:
        """Column `name` of the kind's file `number` as plain strings, null
        where not given (`_given`): decoded and joined into one array once."""
        key = f"given:{kind}:{number}:{name}"
        return self._once(  # type: ignore[no-any-return]
            self._shared, key, lambda: _given(self[kind][number].column(name))
        )

    def texts(self, kind: str, name: str) -> pa.ChunkedArray:
        """A field's cells over the kind's files, one after the other, every
        row (blank ones too): plain strings, null where not given; chunked
        by file (`given`), not copied into one array."""
        key = f"texts:{kind}:{name}"
        return self._once(  # type: ignore[no-any-return]
            self._shared,
            key,
            lambda: pa.chunked_array(self._parts(kind, name), pa.string()),
        )

    def codes(self, kind: str, name: str, known: Sequence[str]) -> pa.Array:
        """Each row's value of a field (every row, as `texts`) as its place
        in `known` (int32; null where not given or not known): compared and
        coded as integers, and by its dictionary where the loader cut one,
        so without a string a row."""
        key = f"codes:{kind}:{name}"
        known = list(known)
        found = self._once(self._shared, key, partial(self._codes, kind, name, known))
        if found[0] == known:
            return found[1]  # type: ignore[no-any-return]
        return self._codes(kind, name, known)[1]  # other codes: not kept

    def _codes(
        self, kind: str, name: str, known: list[str]
    ) -> tuple[list[str], pa.Array]:
        value_set = pa.array(known, pa.string())
        parts = []
        for number, file in enumerate(self[kind]):
            size = _size(file)
            cells = file.column(name)
            if isinstance(cells, pa.ChunkedArray) and cells.num_chunks == 1:
                cells = cells.chunk(0)
            if cells is None:
                parts.append(pa.nulls(size, pa.int32()))
            elif isinstance(cells, pa.DictionaryArray):
                at = pc.index_in(_given(cells.dictionary), value_set=value_set)
                parts.append(at.take(cells.indices))
            else:
                given = self.given(kind, number, name)
                parts.append(pc.index_in(given, value_set=value_set))
        codes = pa.concat_arrays(parts) if parts else pa.array([], pa.int32())
        return known, codes

    def allocations(self) -> _Pairs:
        """The pairs of every payment's `allocations` cell (`_pairs`), each
        with its payment's row among all the payments."""
        return self.every_pair("payments", "allocations")

    def pairs(self, kind: str, number: int, name: str) -> tuple[_Pairs, int]:
        """The pairs of the nested cells of column `name` of the kind's file
        `number`, each with its row, and how many cells are given
        (`_cut_pairs`); made once, and kept: a few of a file's cells."""
        key = f"pairs:{kind}:{number}:{name}"
        return self._once(  # type: ignore[no-any-return]
            self._shared, key, lambda: _cut_pairs(self[kind][number].column(name))
        )

    def every_pair(self, kind: str, name: str) -> _Pairs:
        """`pairs` of each of the kind's files, one after the other, each
        with its record's row among all the kind's."""
        key = f"every_pair:{kind}:{name}"
        return self._once(  # type: ignore[no-any-return]
            self._shared, key, partial(self._every_pair, kind, name)
        )

    def _every_pair(self, kind: str, name: str) -> _Pairs:
        parts, start = [], 0
        for number, file in enumerate(self[kind]):
            if file.has(name):
                pairs, _ = self.pairs(kind, number, name)
                at = pc.add(pairs.parent, pa.scalar(start, pa.int32()))
                parts.append(_Pairs(at, pairs.key, pairs.value))
            start += _size(file)
        if not parts:
            empty = pa.array([], pa.string())
            parts.append(_Pairs(pa.array([], pa.int32()), empty, empty))
        return _Pairs(
            *(pa.concat_arrays(list(column)) for column in zip(*parts, strict=True))
        )

    def named_at(self) -> dict[str, pa.Array]:
        """Where the invoices named are among all the ledger's invoices (their
        rows, null where none has the id): of each payment's and each
        adjustment's `invoice` cell, and of each allocation's key
        (`allocations`). Made once (`start_named_at` may have begun it)."""
        return self._once(  # type: ignore[no-any-return]
            self._shared, "named_at", lambda: _named_at(*self._named_inputs())
        )

    def start_named_at(self) -> None:
        """Begin `named_at` on a thread of its own: its hash table of every
        invoice id and name (0.3-0.5 s at a million each) is made in pyarrow,
        which lets go of the GIL, while the field rules run on this one.
        Its cells are read here, so that the thread shares nothing."""
        if "named_at" in self._shared:
            return
        from concurrent.futures import ThreadPoolExecutor

        try:
            inputs = self._named_inputs()
        except ValueError:  # an allocation not written as pairs: not begun
            return
        pool = ThreadPoolExecutor(1, "arledger-named-at")
        self._shared["named_at"] = pool.submit(_named_at, *inputs)
        pool.shutdown(wait=False)

    def wait(self) -> None:
        """Wait for what `start_named_at` began, if it is still running."""
        found = self._shared.get("named_at")
        if isinstance(found, Future):
            try:
                found.result()
            except Exception:  # noqa: BLE001 - asked again, it raises again
                pass

    def _named_inputs(self) -> tuple[list[pa.Array], dict[str, list[pa.Array]]]:
        """The invoice ids and the names, file by file, as `_named_at`
        takes them."""
        ids = self._parts("invoices", "id")
        names = {
            "payments": self._parts("payments", "invoice"),
            "adjustments": self._parts("adjustments", "invoice"),
            "allocations": [self.allocations().key],
        }
        return ids, names

    def _parts(self, kind: str, name: str) -> list[pa.Array]:
        """A field's plain strings file by file (`given`; nulls where a file
        has no such column)."""
        return [
            self.given(kind, number, name)
            if file.has(name)
            else pa.nulls(_size(file), pa.string())
            for number, file in enumerate(self[kind])
        ]

    def ruled(
        self, kind: str, number: int, name: str, rule: rules.Rule
    ) -> arrow_rules.Ruled | arrow_rules.Amounts:
        """Column `name` of the kind's file `number` held to `rule`
        (`rule_cells`), the first time asked."""

        def make() -> arrow_rules.Ruled | arrow_rules.Amounts:
            given = partial(self.given, kind, number, name)
            return rule_cells(self[kind][number].column(name), rule, given)

        if name not in _KEPT:  # the others only the checks read: not kept
            return make()
        return self._once(self._ruled, (kind, number, name, rule), make)  # type: ignore[no-any-return]

    def forget(self) -> None:
        """Let go of the plain strings (`given`, `texts`): kept while one
        call reads them several times, they are a copy of the cells, and a
        kernel's call makes those it needs again, as cheaply."""
        # (listed at once: the columns made ahead may add keys meanwhile)
        for key in [
            k for k in list(self._shared) if k.startswith(("given:", "texts:"))
        ]:
            self._shared.pop(key, None)


def _settled(work: Future[Any]) -> None:
    """Wait for `work` to end, whatever it ends with."""
    try:
        work.result()
    except Exception:  # noqa: BLE001 - its result is not used
        pass


def _named_at(
    ids: list[pa.Array], names: dict[str, list[pa.Array]]
) -> dict[str, pa.Array]:
    """`Cells.named_at` of the invoice ids and the names, file by file.

    One hash table of the ids, in C, with no copy of a string
    (`_csvbytes.rows_named`: the row of the first id given equal to each
    name given, as `index_in(names, value_set=ids, skip_nulls=True)`)."""
    every = [part for parts in names.values() for part in parts]
    rows, found, count = rows_named(
        [_string_buffers(part) for part in ids],
        [_string_buffers(part) for part in every],
    )
    size = sum(map(len, every))
    at = pa.Array.from_buffers(
        pa.int32(), size, [pa.py_buffer(found), pa.py_buffer(rows)], size - count
    )
    by_kind, start = {}, 0
    for key, parts in names.items():
        length = sum(map(len, parts))
        by_kind[key] = at.slice(start, length)
        start += length
    return by_kind


def _string_buffers(cells: pa.Array) -> tuple[Any, Any, Any, int, int]:
    """A column of strings as `_csvbytes` takes it: (validity, offsets,
    data, offset, length), an arrow string array's buffers."""
    if not pa.types.is_string(cells.type):
        cells = cells.cast(pa.string())
    validity, offsets, data = cells.buffers()
    data = data if data is not None else b""
    return validity, offsets, data, cells.offset, len(cells)


def _size(file: BulkFile) -> int:
    return len(next(iter(file.cells.values()))) if file.cells else 0


def rule_cells(
    cells: Any, rule: rules.Rule, given: Callable[[], pa.Array] | None = None
) -> arrow_rules.Ruled | arrow_rules.Amounts:
    """A file's column held to `rule` (`arrow_rules.apply`), an empty cell
    read as not given: a dictionary-encoded one by its distinct values (a
    refused index is then a value's, not a row's), as a rule judges each
    value alone. `given`: its plain strings (`_given`), if kept already."""
    if isinstance(cells, pa.ChunkedArray) and cells.num_chunks == 1:
        cells = cells.chunk(0)
    if not isinstance(cells, pa.DictionaryArray):
        return arrow_rules.apply(rule, given() if given else _given(cells))
    found = arrow_rules.apply(rule, _given(cells.dictionary))
    indices = cells.indices
    if isinstance(found, arrow_rules.Amounts):
        return arrow_rules.Amounts(
            found.digits.take(indices), found.scale.take(indices), found.refused
        )
    return arrow_rules.Ruled(found.values.take(indices), found.refused)


def kernel_columns(
    cells: Cells,
    as_of: date,
    tables: dict[str, Any],
    *,
    clean: bool | None = None,
    forget: bool = True,
) -> dict[str, Any]:
    """What `_settle.read` gives for the records of these files dated on or
    before `as_of`, sorted as `settle` sorts them (SPEC §2: each kind by
    date, then by id; payments by ref once one has no id).

    Args:
        cells: every file of each kind in the ledger, in the order the
            loader reads them, with the rules' results shared (`Cells`).
        as_of: the view's day; later records are not in it (an invoice
            they name is not issued yet), but the currency of a payment
            without one is still found among all the ledger's invoices.
        tables: the tables `_settle.read` is given (customers, currencies
            and owners as code dicts, extended in place as `read` extends
            them; per customer code its currency's code, terms and
            discount; `base`, `default_terms`, `minor_units`).
        clean: the files are taken as proved clean (None: as `cells.clean`
            says; `Cells.make_ahead` makes them before they are).
        forget: let go of the plain strings made on the way (`Cells.forget`).

    Returns:
        Every column of docs/columnar-kernel.md §1 as a memoryview of its
        type into pyarrow's buffer; `ids`, `refs` and `adj_ids` as texts
        (`_texts`: `listed` gives their lists); the lists `customers`,
        `currencies`, `owners` and `discounted` ((invoice index, Discount)
        pairs); `wide`; and the record amount lists as None.
    """
    try:
        return _kernel_columns(cells, as_of, tables, clean=clean)
    finally:
        if forget:
            cells.forget()


def _kernel_columns(
    cells: Cells, as_of: date, tables: dict[str, Any], *, clean: bool | None = None
) -> dict[str, Any]:
    """`kernel_columns`, of files proved clean where `clean` (None: as
    `cells.clean` says)."""
    clean = cells.clean if clean is None else clean
    view = _View(as_of, cells, tables["customers"], clean)
    # The invoices first, and what is made of them alone: meanwhile the
    # places of the names among them (`Cells.named_at`), which the other
    # kinds' records read, may still be in the making.
    inv = view.records("invoices")
    # Codes in the order `read` meets them: invoices, adjustments, payments.
    customer = {"inv": _customer_code(inv, tables["customers"], view)}
    # Currencies: an invoice's own, else its customer's; a payment's or an
    # adjustment's own, else found from what it names (`Ledger.currency_of`).
    currencies = tables["currencies"]
    by_customer = _customer_values(
        tables,
        [list(currencies)[code] for code in tables["customer_currency"]],
        tables["base"],
        pa.string(),
    )
    theirs = by_customer.take(customer["inv"])
    currency = {"inv": _code(pc.coalesce(inv["currency"], theirs), currencies)}
    if clean:  # the pairs the checks cut, by row
        schedule = _in_view(cells, "invoices", "schedule", inv["row"])
    else:
        schedule = _pairs(inv["schedule"])
    out = _Out(_places(tables, currencies))
    _invoice_columns(out, inv, customer["inv"], currency["inv"], schedule, tables)

    adj = view.records("adjustments")
    pay = view.records("payments", _refs_of(cells["payments"]))
    for prefix, records in (("adj", adj), ("pay", pay)):
        customer[prefix] = _customer_code(records, tables["customers"], view)
    if clean:
        allocations, alloc_at = _allocations_in_view(cells, pay["row"])
    else:
        allocations, alloc_at = _pairs(pay["allocations"]), None
    allocated = _marked(allocations.parent, len(pay["day"]))
    named: dict[str, _Named] = {}

    def named_by(prefix: str) -> _Named:
        """The invoices the records name (`_Named`), made when asked: a
        clean ledger's are found by row, and most views name none that
        is not theirs."""
        if not named:
            named["adj"] = _Named.of_adjustments(adj["invoice"])
            named["pay"] = _Named.of_payments(pay["invoice"], allocated, allocations)
        return named[prefix]

    for prefix, records in (("adj", adj), ("pay", pay)):
        own = records["currency"]
        if own.null_count:
            own = _currency_of(
                own,
                view.customer_texts(records),
                by_customer.take(customer[prefix]),
                named_by(prefix),
                view.all_invoices(tables, by_customer),
            )
        currency[prefix] = _code(own, currencies)
    out.places = _places(tables, currencies)  # with those these added

    for prefix, records in (("inv", inv), ("adj", adj), ("pay", pay)):
        out.add(f"{prefix}_date", "i", records["day"])
        out.add(f"{prefix}_customer", "i", customer[prefix])
        out.add(f"{prefix}_currency", "h", currency[prefix])
        ruled = arrow_rules.Amounts(
            records["amount:digits"], records["amount:scale"], {}
        )
        out.amounts(prefix, ruled, currency[prefix])
    kinds = pc.index_in(adj["kind"], value_set=pa.array(ADJUSTMENT_KINDS))
    if kinds.null_count:
        raise ValueError("an adjustment of a kind the kernel does not know")
    out.add("adj_kind", "B", kinds)
    out.add("alloc_payment", "i", allocations.parent)
    out.amounts(
        "alloc", _amounts(allocations.value), currency["pay"].take(allocations.parent)
    )

    # Invoices named: the view's by their place, the others after them.
    ids = inv["id"]
    tail: list[str] = []
    if alloc_at is not None:  # by row: no hash table of the view's ids
        place = _place(inv["row"], sum(map(_size, cells["invoices"])))
        pay_at = pc.if_else(allocated, pa.scalar(None, pa.int32()), pay["invoice:at"])
        at = pa.concat_arrays([adj["invoice:at"], pay_at, alloc_at])
        index = place.take(at)
        # (in a clean ledger an invoice is named where it is found)
        if pc.any(pc.and_(pc.is_valid(at), pc.is_null(index))).as_py():
            found = _Named.concat([named_by("adj"), named_by("pay")])
            tail = found.not_in_view(index)
    else:
        found = _Named.concat([named_by("adj"), named_by("pay")])
        index = pc.index_in(found.name, value_set=ids)
        tail = found.not_in_view(index)
    if tail:
        more = pc.index_in(found.name, value_set=pa.array(tail, pa.string()))
        index = pc.coalesce(index, pc.add(more, len(ids)))
    index = pc.fill_null(index, -1)
    adjusted, paid = len(adj["day"]), len(pay["day"])
    out.add("adj_invoice", "i", index.slice(0, adjusted))
    out.add("pay_invoice", "i", index.slice(adjusted, paid))
    out.add("alloc_invoice", "i", index.slice(adjusted + paid))

    return out.finish(
        ids=_texts(ids, tail),
        refs=_texts(pay["ref"]),
        adj_ids=_texts(adj["id"]),
        discounted=_discounted(
            inv["discount"], customer["inv"], tables["customer_discount"]
        ),
        customers=list(tables["customers"]),
        currencies=list(currencies),
        owners=list(tables["owners"]),
    )


def _invoice_columns(
    out: _Out,
    inv: dict[str, pa.Array],
    customer: pa.Array,
    currency: pa.Array,
    schedule: _Pairs,
    tables: dict[str, Any],
) -> None:
    """What only invoices have: flags, instalments, due dates, owners."""
    disputed = pc.fill_null(inv["disputed"], False)
    out.add("inv_flags", "B", disputed)
    instalment_due = _days(_ruled(rules.dates, schedule.key))
    out.add("ins_invoice", "i", schedule.parent)
    out.add("ins_due", "i", instalment_due)
    out.amounts("ins", _amounts(schedule.value), currency.take(schedule.parent))
    # Ledger.due_of: given, else the last instalment's, else date + terms
    terms = _customer_values(
        tables, tables["terms"], tables["default_terms"], pa.int32()
    )
    due = pc.coalesce(
        _days(inv["due"]),
        _last(schedule.parent, instalment_due, len(inv["day"])),
        pc.add(inv["day"], terms.take(customer)),
    )
    out.add("inv_due", "i", due)
    # an owner not given is none (-1): the customer's is used then
    out.add("inv_owner", "i", pc.fill_null(_code(inv["owner"], tables["owners"]), -1))


def _places(tables: dict[str, Any], currencies: dict[str, int]) -> pa.Array:
    """Each currency code's minor units."""
    return pa.array(list(map(tables["minor_units"], currencies)), pa.int32())


class _Out:
    """The columns made, as the kernel takes them; amounts held as decimal
    minor units until every one is known (`wide` is one for the call)."""

    def __init__(self, places: pa.Array) -> None:
        self.places = places  # per currency code
        self.columns: dict[str, Any] = {}
        self.minors: dict[str, pa.Array] = {}

    def add(self, name: str, typecode: str, values: Any) -> None:
        assert COLUMNS[name] == typecode, name
        self.columns[name] = _out(typecode, values)

    def amounts(
        self, prefix: str, found: arrow_rules.Amounts, currency: pa.Array
    ) -> None:
        minor, exponent = _minor(found, currency, self.places)
        self.minors[f"{prefix}_minor"] = minor
        self.add(f"{prefix}_exp", "b", exponent)

    def finish(self, **lists: Any) -> dict[str, Any]:
        columns = self.columns
        columns["minor_units"] = _out("b", self.places)
        wide = not all(map(_fits, self.minors.values()))
        for name, minor in self.minors.items():
            columns[name] = _words(minor, wide)
        columns.update(lists, wide=wide)
        columns.update(dict.fromkeys(_RECORD_AMOUNTS))
        return columns


# ------------------------------------------------------------------ records


class _View:
    """The records of each kind in the view, sorted, as tables of their
    cells (null where not given) with `day` (the date's ordinal) and `ref`
    (what they are sorted by after the date)."""

    def __init__(
        self, as_of: date, cells: Cells, customers: dict[str, int], clean: bool
    ) -> None:
        self.as_of = pa.scalar(as_of, pa.date32())
        self.cells = cells
        self.clean = clean  # the files are proved clean (`Cells.clean`)
        # the tables' customers as `read` is given them, before any is added
        self.customers = list(customers)
        self._all_invoices: dict[str, pa.Array] | None = None

    def records(self, kind: str, refs: Any = None) -> dict[str, pa.Array]:
        """The records of the kind's files in the view, sorted by day, then
        by id or, with `refs`, by the `ref` it gives them. Only the columns
        read later are kept: each is copied once more, to be one array."""
        fields = KERNEL_FIELDS[kind]
        if self.clean:
            # nested cells: their pairs are kept (`_in_view`); customers:
            # their codes, where every one is known (`customer_texts`)
            codes = self.cells.codes(kind, "customer", list(self.customers))
            skip = _NESTED if codes.null_count else (*_NESTED, "customer")
            fields = tuple(name for name in fields if name not in skip)
        table = _cells(self.cells, kind, fields)
        if self.clean:
            # each record's row among all its kind's, and where the invoice
            # it names is among all invoices (`Cells.named_at`)
            table = table.append_column("row", _positions(len(table)))
            table = table.append_column("customer:code", codes)
            if kind != "invoices":
                at = self.cells.named_at()[kind]
                table = table.append_column("invoice:at", at.cast(pa.int32()))
        dates = table["date"]
        if dates.null_count:  # blank lines (`_cells`)
            table = table.filter(pc.is_valid(dates))
            dates = table["date"]
        kept = pc.less_equal(dates, self.as_of)
        table = table.drop_columns(["date"]).append_column("day", _days(dates))
        if not pc.all(kept).as_py():
            table = table.filter(kept)
        key = "id"
        if refs is not None:
            table, key = table.append_column("ref", refs(table)), "ref"
        # each column one array, once (a sort keeps that)
        table = table.drop_columns(["file", "line"]).combine_chunks()
        # Files are mostly written in this order already: then there is
        # nothing to take. Stable: records of one date and ref keep the
        # files' order.
        if not _in_order(table["day"], table[key]):
            table = table.sort_by([("day", "ascending"), (key, "ascending")])
        return {name: _one(table[name]) for name in table.column_names}

    def customer_texts(self, records: dict[str, pa.Array]) -> pa.Array:
        """The records' customers as texts: their cells, or where those were
        not read, the tables' customers by their codes (every one known)."""
        found = records.get("customer")
        if found is None:
            known = pa.array(self.customers, pa.string())
            found = records["customer"] = known.take(records["customer:code"])
        return found

    def all_invoices(
        self, tables: dict[str, Any], by_customer: pa.Array
    ) -> dict[str, pa.Array]:
        """Every invoice of the ledger, the view's or not, with the currency
        `Ledger.currency_of` gives it (its own, else its customer's)."""
        if self._all_invoices is None:
            table = _cells(
                self.cells, "invoices", ("id", "customer", "date", "currency")
            )
            if table["date"].null_count:  # blank lines (`_cells`)
                table = table.filter(pc.is_valid(table["date"]))
            customer = _one(table["customer"])
            known = pa.array(list(tables["customers"]), pa.string())
            code = pc.index_in(customer, value_set=known)
            # by_customer's last value: a customer the tables do not know
            theirs = by_customer.take(pc.fill_null(code, len(by_customer) - 1))
            currency = pc.coalesce(_one(table["currency"]), theirs)
            self._all_invoices = {
                "id": _one(table["id"]),
                "customer": customer,
                "currency": currency,
            }
        return self._all_invoices


# The fields the kernel reads by their rules' values, not as texts: their
# values come from `Cells`, shared with the loader's checks.
_RULED: dict[str, tuple[rules.Rule, pa.DataType]] = {
    "date": (rules.dates, pa.date32()),
    "due": (rules.dates, pa.date32()),
    "currency": (rules.currencies, pa.string()),
    "disputed": (rules.flags, pa.bool_()),
}


def _cells(cells: Cells, kind: str, fields: Sequence[str]) -> pa.Table:
    """The cells of `fields` over a kind's files, one after the other, with
    each row's `file` (its index) and `line`: texts, null where not given,
    but the fields of `_RULED` as their rules' values and `amount` as
    `amount:digits` and `amount:scale`. A row without a date is a blank line
    (the loader drops those, and refuses any other row without one): the
    caller drops it."""
    names: list[str] = []
    types: list[pa.DataType] = []
    for name in fields:
        if name == "amount":
            names += ["amount:digits", "amount:scale"]
            types += [arrow_rules.DIGITS, pa.int8()]
        else:
            names.append(name)
            types.append(_RULED[name][1] if name in _RULED else pa.string())
    names += ["file", "line"]
    types += [pa.int32(), pa.int32()]
    parts: dict[str, list[pa.Array]] = {name: [] for name in names}
    for number, file in enumerate(cells[kind]):
        size = len(next(iter(file.cells.values()))) if file.cells else 0
        for name in fields:
            if not file.has(name):
                if name == "amount":
                    parts["amount:digits"].append(pa.nulls(size, arrow_rules.DIGITS))
                    parts["amount:scale"].append(pa.nulls(size, pa.int8()))
                else:
                    kind_of = _RULED[name][1] if name in _RULED else pa.string()
                    parts[name].append(pa.nulls(size, kind_of))
            elif name == "amount":
                found = cells.ruled(kind, number, name, rules.amounts)
                assert isinstance(found, arrow_rules.Amounts)
                _valid(found.refused)
                parts["amount:digits"].append(found.digits)
                parts["amount:scale"].append(found.scale)
            elif name in _RULED:
                ruled = cells.ruled(kind, number, name, _RULED[name][0])
                assert isinstance(ruled, arrow_rules.Ruled)
                _valid(ruled.refused)
                parts[name].append(ruled.values)
            else:
                parts[name].append(cells.given(kind, number, name))
        parts["file"].append(_same(number, size))
        lines = file.lines
        if lines is None:
            lines = pc.add(_positions(size), pa.scalar(2, pa.int32()))
        parts["line"].append(pc.cast(lines, pa.int32()))
    table = pa.table(
        {
            name: pa.chunked_array(parts[name], kind_of)
            for name, kind_of in zip(names, types, strict=True)
        }
    )
    return table


def _place(rows: pa.Array, size: int) -> pa.Array:
    """Per row among all (of `size`), its place among `rows` (null where
    it is not there): `rows` inverted."""
    return _spread(rows, size)


def _allocations_in_view(cells: Cells, rows: pa.Array) -> tuple[_Pairs, pa.Array]:
    """The allocations of a view's payments (`rows`: their rows among all
    the payments, in the view's order), as `_pairs` of the view's
    `allocations` cells gives them, and where each names an invoice among
    all: `Cells.allocations`, kept by payment in the view's order."""
    at = cells.named_at()["allocations"]
    return _in_view(cells, "payments", "allocations", rows, at)


def _in_view(
    cells: Cells, kind: str, name: str, rows: pa.Array, at: pa.Array | None = None
) -> Any:
    """The pairs of a nested field of a view's records (`rows`: their rows
    among all the kind's, in the view's order), as `_pairs` of the view's
    cells gives them: `Cells.every_pair`, kept by record in the view's
    order; with `at`, a value of each pair, kept with it."""
    every = cells.every_pair(kind, name)
    size = sum(map(_size, cells[kind]))
    parent = _place(rows, size).take(every.parent)
    table = pa.table(
        {
            "parent": parent,
            "key": every.key,
            "value": every.value,
            "at": pa.nulls(len(parent), pa.int32()) if at is None else at,
        }
    )
    if parent.null_count:
        table = table.filter(pc.is_valid(parent))
    ordered = _one(table["parent"])
    if (
        len(ordered) > 1
        and not pc.all(
            pc.greater_equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))
        ).as_py()
    ):
        table = table.sort_by("parent")  # stable: a cell's pairs as written
    pairs = _Pairs(*(_one(table[column]) for column in ("parent", "key", "value")))
    if at is None:
        return pairs
    return pairs, _one(table["at"]).cast(pa.int32())


def _one(values: Any) -> Any:
    """A chunked array as one array: its chunk when it has one (pyarrow's
    `combine_chunks` copies even that), else the chunks joined."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return values.chunk(0)
        return values.combine_chunks()
    return values


def _in_order(day: Any, ref: Any) -> bool:
    """Whether records are sorted by day, then ref, already."""
    if len(day) < 2:
        return True
    day, ref = _one(day), _one(ref)
    before, after = day.slice(0, len(day) - 1), day.slice(1)
    later = pc.greater(after, before)
    same = pc.and_(
        pc.equal(after, before),
        pc.greater_equal(ref.slice(1), ref.slice(0, len(ref) - 1)),
    )
    return bool(pc.all(pc.or_(later, same)).as_py())


def _given(cells: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column of cells as plain strings, null where not given."""
    if isinstance(cells, pa.ChunkedArray):
        cells = _one(cells)
    if not pa.types.is_string(cells.type):
        cells = cells.cast(pa.string())
    given = pc.greater(pc.binary_length(cells), 0)
    if given.null_count:
        given = pc.fill_null(given, False)
    if pc.all(given).as_py():
        return cells
    if cells.offset or given.offset:
        return pc.if_else(given, cells, pa.scalar(None, pa.string()))
    # The same texts, with the empty ones marked not given: no copy of them.
    validity = given.buffers()[1]
    return pa.Array.from_buffers(
        pa.string(), len(cells), [validity, *cells.buffers()[1:]]
    )


def _refs_of(files: Sequence[BulkFile]) -> Any:
    """A payment's ref (`settle.payment_ref`): its id, or `path:line` where
    it has none."""
    paths = pa.array([f"{file.path}:" for file in files], pa.string())

    def refs(table: pa.Table) -> pa.Array:
        ids = _one(table["id"])
        if not ids.null_count:
            return ids
        where = pc.binary_join_element_wise(
            paths.take(table["file"]), pc.cast(table["line"], pa.string()), ""
        )
        return pc.coalesce(ids, where)

    return refs


def _positions(size: int) -> pa.Array:
    """0, 1, ..., size - 1 (int32), without a Python int each: a slice of
    the longest made so far (arrays do not change), as a load asks for
    them some twenty times, 3-6 ms each at a million."""
    made = _POSITIONS[0]
    if len(made) < size:
        ones = pa.nulls(size, pa.int32()).fill_null(1)
        made = _POSITIONS[0] = pc.subtract(pc.cumulative_sum(ones), ones)
    return made.slice(0, size)


_POSITIONS = [pa.array([], pa.int32())]


def _spread(at: pa.Array, size: int) -> pa.Array:
    """Per position 0..size - 1, the last place in `at` that holds it (null
    where none does): `at` (integers in range, none null) inverted, in one
    pass where a hash table of `at` took 20-40 ms at a million."""
    if not size:
        return pa.array([], pa.int32())
    return pc.inverse_permutation(_one(at), max_index=size - 1, output_type=pa.int32())


def _marked(at: pa.Array, size: int) -> pa.Array:
    """A mask of `size` positions, true at those `at` holds (`_spread`)."""
    return pc.is_valid(_spread(at, size))


# ------------------------------------------------------------------ values


def _ruled(rule: rules.Rule, cells: Any) -> pa.Array:
    """The values of a field's cells by its rule (null where not given)."""
    ruled = arrow_rules.apply(rule, cells)
    assert isinstance(ruled, arrow_rules.Ruled)
    _valid(ruled.refused)
    return ruled.values


def _amounts(cells: Any) -> arrow_rules.Amounts:
    found = arrow_rules.apply(rules.amounts, cells)
    assert isinstance(found, arrow_rules.Amounts)
    _valid(found.refused)
    return found


def _valid(refused: dict[int, str]) -> None:
    if refused:
        index, message = next(iter(refused.items()))
        raise ValueError(f"a value the loader refuses (row {index}): {message}")


def _days(dates: Any) -> pa.Array:
    """Day ordinals (`date.toordinal()`) of date32 values, int32."""
    if isinstance(dates, pa.ChunkedArray):
        dates = _one(dates)
    return pc.add(dates.cast(pa.int32()), _EPOCH)


def _code(values: Any, codes: dict[str, int]) -> pa.Array:
    """Each value's code in `codes` (int32, null where there is no value);
    values `codes` lacks are added to it in the order they are met."""
    if isinstance(values, pa.ChunkedArray):
        values = _one(values)
    encoded = pc.dictionary_encode(values)  # its values in the order met
    met = encoded.dictionary
    keys = pa.array(list(codes), pa.string())
    new = met.filter(pc.invert(pc.is_in(met, value_set=keys)))
    if len(new):
        for value in new.to_pylist():
            codes[value] = len(codes)
        keys = pa.array(list(codes), pa.string())
    found = pc.index_in(met, value_set=keys)
    return found.take(encoded.indices)


def _customer_code(
    records: dict[str, pa.Array], codes: dict[str, int], view: _View
) -> pa.Array:
    """`_code` of the records' customers: their codes from `Cells.codes`
    when every one is the tables' and the tables' codes are their places
    (as `_code` takes them); else by their texts, which adds those
    lacking."""
    known = records.get("customer:code")
    if known is not None and not known.null_count:
        if all(code == n for n, code in enumerate(codes.values())):
            return known
    return _code(view.customer_texts(records), codes)


def _customer_values(
    tables: dict[str, Any], known: Sequence[Any], other: Any, kind: pa.DataType
) -> pa.Array:
    """A value per customer code (the tables' customers, then those added),
    `known` for the tables' own, `other` for the rest; and `other` once more
    last."""
    count = len(tables["customers"])
    return pa.array([*known, *[other] * (count - len(known) + 1)], kind)


def _minor(
    found: arrow_rules.Amounts, currency: pa.Array, places: pa.Array
) -> tuple[pa.Array, pa.Array]:
    """Amounts as exact minor units of their currencies (int64, else
    decimal128(38, 0)), and the exponent each is written with (0 for 30,
    -2 for 30.00). An amount written with more places than its currency
    has (0.0200 in USD) is whole minor units all the same, else ValueError,
    as `_settle.read` says."""
    # a byte each: places and scales are below 40
    shift = pc.subtract(places.cast(pa.int8()).take(currency), found.scale)
    exponent = pc.negate(found.scale)
    if not len(shift):
        return pa.array([], pa.int64()), exponent
    least, most = (value.as_py() for value in pc.min_max(shift).values())
    if least >= 0 and most <= 18:  # the common case: int64, half the memory
        try:
            factor = pa.array([10**k for k in range(most + 1)], pa.int64())
            digits = found.digits.cast(pa.int64())
            if most == 0:  # every amount written with its currency's places
                return digits, exponent
            return pc.multiply_checked(digits, factor.take(shift)), exponent
        except pa.ArrowInvalid:  # beyond 64 bits: wide
            pass
    up = max(most, 0)
    if MAX_DIGITS + up + 2 > 38:  # pragma: no cover - ISO has at most 4
        raise ValueError(f"a currency of {up} decimal places")
    factor = pa.array([10**k for k in range(up + 1)], pa.decimal128(up + 1, 0))
    digits = found.digits.cast(pa.decimal128(MAX_DIGITS, 0))
    times = factor.take(pc.max_element_wise(shift, pa.scalar(0, pa.int32())))
    minor = pc.multiply(digits, times).cast(_WIDE)
    for over in range(1, 1 - least if least < 0 else 1):
        mask = pc.equal(shift, -over)
        if not pc.any(mask).as_py():
            continue
        part = found.digits.filter(mask)
        # the same digits read with `over` places: whole, or data lost
        scaled = pa.Array.from_buffers(
            pa.decimal128(38, over), len(part), part.buffers(), offset=part.offset
        )
        try:
            whole = scaled.cast(_WIDE)
        except pa.ArrowInvalid:
            raise _too_many_places(found, mask, over, places.take(currency)) from None
        minor = pc.replace_with_mask(minor, mask, whole)
    return minor, exponent


def _too_many_places(
    found: arrow_rules.Amounts, mask: pa.Array, over: int, places: pa.Array
) -> ValueError:
    """`_settle.read`'s message for the first amount of `mask` that is not
    whole minor units."""
    at = pc.indices_nonzero(mask).to_pylist()
    for index in at:
        digits = found.digits[index].as_py()
        if digits % 10**over:
            amount = digits.scaleb(-found.scale[index].as_py())
            return ValueError(
                f"amount {amount} has more decimal places than its "
                f"currency's {places[index].as_py()}"
            )
    raise AssertionError("an amount that is whole minor units")  # pragma: no cover


def _fits(minor: pa.Array) -> bool:
    """Whether every amount fits in 64 bits."""
    if not len(minor) or minor.type == pa.int64():
        return True
    least, most = (v.as_py() for v in pc.min_max(minor).values())
    return bool(_INT64[0] <= least and most <= _INT64[1])


def _words(minor: pa.Array, wide: bool) -> memoryview:
    """An amount column: an int64 an amount, or two (low, high) when wide:
    decimal128's own layout."""
    if not wide:
        return _out("q", minor)
    minor = minor.cast(_WIDE)
    if minor.null_count:
        raise ValueError("an amount not given")
    return _view(minor, "q", 16)


def _out(typecode: str, values: Any) -> memoryview:
    """A column as the kernel takes it: a view of `typecode` into the arrow
    buffer, not copied (at 1M, copying the columns into arrays took 0.06 s,
    most of it faulting their pages in)."""
    if isinstance(values, pa.ChunkedArray):
        values = _one(values)
    values = values.cast(_ARROW_TYPES[typecode])
    if values.null_count:
        raise ValueError(f"a value not given in a column of {typecode!r}")
    return _view(values, typecode, values.type.bit_width // 8)


def _view(values: pa.Array, typecode: str, size: int) -> memoryview:
    """The values of a fixed-width array, `size` bytes each, as a view of
    `typecode` into its buffer."""
    if not len(values):
        return memoryview(b"").cast(typecode)  # type: ignore[call-overload,no-any-return]
    start = values.offset * size
    view = memoryview(values.buffers()[1])[start : start + len(values) * size]
    return view.cast(typecode)  # type: ignore[call-overload,no-any-return]


def _texts(strings: pa.Array, tail: list[str] | None = None) -> Any:
    """A column of strings as the kernel takes its ids and refs, with `tail`
    after them: their offsets and bytes, not copied (each made a `str` only
    when the kernel shows it); a list where there is none."""
    strings = _one(strings)
    if strings.null_count:
        raise ValueError("a string not given in a column of ids or refs")
    if not len(strings):
        return list(tail or ())
    if strings.type != pa.string():
        strings = strings.cast(pa.string())
    _, offsets, data = strings.buffers()
    start = strings.offset
    at = memoryview(offsets).cast("i")[start : start + len(strings) + 1]
    return at, data if data is not None else b"", list(tail or ())


def listed(strings: Any) -> list[str]:
    """The strings a column of ids or refs (`_texts`) stands for."""
    if isinstance(strings, list):
        return strings
    at, data, tail = strings
    buffers = [None, pa.py_buffer(at), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), len(at) - 1, buffers).to_pylist() + tail


def _last(parent: pa.Array, days: pa.Array, size: int) -> pa.Array:
    """Per record (of `size`), the latest of the days of its parts (null
    where it has none): an invoice with a schedule is due with its last
    instalment."""
    if not len(parent):
        return pa.nulls(size, pa.int32())
    latest = (
        pa.table({"parent": parent, "day": days})
        .group_by("parent", use_threads=GROUP_THREADS)
        .aggregate([("day", "max")])
    )
    at = _spread(_one(latest["parent"]), size)
    return _one(latest["day_max"]).take(at)


# ------------------------------------------------------------------ nested


class _Pairs(NamedTuple):
    """The `key=value` parts of nested cells, in the order written: the
    record each belongs to (its position, non-decreasing), key and value."""

    parent: pa.Array
    key: pa.Array
    value: pa.Array


def _cut_pairs(cells: Any) -> tuple[_Pairs, int]:
    """`_pairs` of a file's column of nested cells, each pair with its row,
    and how many cells are given: the cells given only are cut, and a
    dictionary-encoded column's found by their values (most are empty)."""
    if isinstance(cells, pa.ChunkedArray) and cells.num_chunks == 1:
        cells = cells.chunk(0)
    if isinstance(cells, pa.DictionaryArray):
        values = _given(cells.dictionary)
        indices = cells.indices
        given = pc.fill_null(pc.is_valid(values).take(indices), False)
        rows = pc.indices_nonzero(given)
        texts = values.take(indices.take(rows))
    else:
        texts = _given(cells)
        rows = pc.indices_nonzero(pc.is_valid(texts))
        texts = texts.take(rows)
    pairs = _pairs(texts)
    parent = rows.cast(pa.int32()).take(pairs.parent)
    return _Pairs(parent, pairs.key, pairs.value), len(texts)


def _pairs(cells: Any) -> _Pairs:
    """The pairs of `schedule` or `allocations` cells, cut as
    `readers.csv_nested` cuts them: parts at `;`, blank parts skipped, each
    at its first `=`, key and value stripped."""
    from arledger.loader import _white_space  # str.strip's characters

    if isinstance(cells, pa.ChunkedArray):
        cells = _one(cells)
    white = _white_space()
    parts = pc.split_pattern(cells, ";")
    parent = pc.list_parent_indices(parts).cast(pa.int32())
    flat = pc.utf8_trim(pc.list_flatten(parts), white)
    given = pc.greater(pc.utf8_length(flat), 0)
    flat, parent = flat.filter(given), parent.filter(given)
    halves = pc.split_pattern(flat, "=", max_splits=1)
    if len(halves) and pc.min(pc.list_value_length(halves)).as_py() < 2:
        raise ValueError("a nested cell not written as key=value")
    key = pc.utf8_trim(pc.list_element(halves, 0), white)
    value = pc.utf8_trim(pc.list_element(halves, 1), white)
    return _Pairs(parent, key, value)


class _Named(NamedTuple):
    """The invoices records name, with what sorts them into the order
    `_settle.read` meets them: by kind (adjustments, then payments), record,
    then part (a payment's allocations in the order written)."""

    name: pa.Array  # null where a record names none
    kind: pa.Array
    record: pa.Array  # the record's position among its kind
    part: pa.Array

    @staticmethod
    def of_adjustments(invoice: pa.Array) -> _Named:
        records = _positions(len(invoice))
        return _Named(invoice, _same(0, len(invoice)), records, records)

    @staticmethod
    def of_payments(
        invoice: pa.Array, allocated: pa.Array, allocations: _Pairs
    ) -> _Named:
        """A payment's `invoice` (none where it has allocations: they
        replace it), then each allocation's invoice."""
        names = pc.if_else(allocated, pa.scalar(None, pa.string()), invoice)
        records = _positions(len(names))
        size = len(names) + len(allocations.parent)
        return _Named(
            pa.concat_arrays([names, allocations.key]),
            _same(1, size),
            pa.concat_arrays([records, allocations.parent]),
            _positions(size),
        )

    @staticmethod
    def concat(parts: Sequence[_Named]) -> _Named:
        return _Named(
            *(pa.concat_arrays(list(columns)) for columns in zip(*parts, strict=True))
        )

    def not_in_view(self, index: pa.Array) -> list[str]:
        """The names not among the view's invoices (`index` null), in the
        order first named."""
        missing = pc.and_(pc.is_null(index), pc.is_valid(self.name))
        if not pc.any(missing).as_py():
            return []
        table = pa.table(dict(zip(self._fields, self, strict=True))).filter(missing)
        order = [(name, "ascending") for name in ("kind", "record", "part")]
        names = table.sort_by(order)["name"].to_pylist()
        return list(dict.fromkeys(names))

    def of(self, records: pa.Array) -> _Named:
        """The names given by the records at these positions."""
        picked = pc.and_(
            pc.is_in(self.record, value_set=records), pc.is_valid(self.name)
        )
        return _Named(*(column.filter(picked) for column in self))


def _same(value: int, size: int) -> pa.Array:
    return pa.nulls(size, pa.int32()).fill_null(value)


def _currency_of(
    own: pa.Array,
    customer: pa.Array,
    theirs: pa.Array,
    named: _Named,
    invoices: dict[str, pa.Array],
) -> pa.Array:
    """The currency of payments or adjustments (`Ledger.currency_of`): their
    own; else the one currency of the invoices of their customer that they
    name, among all the ledger's invoices (not just the view's); else their
    customer's (`theirs`). Customers as texts or as codes, alike in
    `customer` and `invoices["customer"]`."""
    lacking = pc.indices_nonzero(pc.is_null(own)).cast(pa.int32())
    asked = named.of(lacking)
    at = pc.index_in(asked.name, value_set=invoices["id"])
    known = pc.is_valid(at)
    record, at = asked.record.filter(known), at.filter(known)
    same = pc.equal(invoices["customer"].take(at), customer.take(record))
    matched = pa.table(
        {
            "record": record.filter(same),
            "currency": invoices["currency"].take(at.filter(same)),
        }
    )
    one = (
        matched.group_by("record", use_threads=GROUP_THREADS)
        .aggregate([("currency", "count_distinct"), ("currency", "min")])
        .filter(pc.field("currency_count_distinct") == 1)
    )
    at = _spread(_one(one["record"]), len(own))
    resolved = _one(one["currency_min"]).take(at)
    return pc.coalesce(own, resolved, theirs)


def _discounted(
    cells: Any, customer: pa.Array, of_customer: Sequence[Any]
) -> list[tuple[int, Any]]:
    """(invoice index, Discount) for each invoice with an early-payment
    discount (`settle.discount_of`): its own `discount` cell as the loader
    reads it, else its customer's object from the tables."""
    from arledger.loader import _records
    from arledger.readers import csv_nested

    if isinstance(cells, pa.ChunkedArray):
        cells = _one(cells)
    with_one = [
        code for code, discount in enumerate(of_customer) if discount is not None
    ]
    theirs = pc.is_in(customer, value_set=pa.array(with_one, pa.int32()))
    either = pc.or_(pc.is_valid(cells), theirs)
    if not pc.any(either).as_py():
        return []
    found = []
    at = pc.indices_nonzero(either)
    for index, cell, code in zip(
        at.to_pylist(),
        cells.take(at).to_pylist(),
        customer.take(at).to_pylist(),
        strict=True,
    ):
        if cell is None:
            found.append((index, of_customer[code]))
        else:
            found.append(
                (index, _records("Discount")([csv_nested("discount", cell)])[0])
            )
    return found
