"""Records of big CSV files kept as the arrays pyarrow cut, made rows only
when some code reads them (docs/columnar.md, stage 3).

At a million invoices, making a Python row of each record is most of what
`aging` costs. When the loader has proved a ledger's files of invoices,
payments and adjustments surely clean (`arrow_checks.why_not_clean`: the
row path would say nothing about any of their records), it keeps their cells
in a `Bulk` and gives the Ledger the containers below in place of a dict and
tuples of rows. The settlement reads the cells (`arrow_columns`); anything
that reads records makes the rows, once, by the loader's ordinary row path
(`Bulk.rows`), so a record is the same row whichever way it is reached: the
containers only put the work off, they never decide anything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from arledger.arrow_columns import Cells

# The three kinds kept as cells, and what `Bulk.rows` gives of them.
Rows = tuple[dict[str, Any], tuple[Any, ...], tuple[Any, ...]]
KINDS = ("invoices", "payments", "adjustments")


class Bulk:
    """The cells of a ledger's invoices, payments and adjustments, until their
    rows are made.

    `files`: the kind's `arrow_columns.BulkFile`s in the order the loader
    reads them; `counts`: the records of each kind; `make`: the loader's row
    path over the same files, called at most once; `pick`: the same path over
    the records a function picks of each file (`some`, `at`)."""

    def __init__(
        self,
        files: Cells,
        counts: dict[str, int],
        make: Callable[[], Rows],
        pick: Callable[[Callable[[str, int, Any], Any]], Rows],
    ) -> None:
        self.files: Cells | None = files
        self.counts = counts
        self._make: Callable[[], Rows] | None = make
        self._pick = pick
        self._rows: Rows | None = None
        # The invoices made by `some`, by id: `BulkInvoices` answers for
        # them without making every row.
        self.known: dict[str, Any] = {}
        # Ids `some` found no invoice has: `BulkInvoices` says so at once.
        self.absent: set[str] = set()
        # What `some` made, by what it was asked: each asked once.
        self._picked: dict[tuple[str, frozenset[str], tuple[str, ...]], Rows] = {}
        # Every record made for `some` or `at` is kept while the ledger is: a
        # record's currency is cached by its id (`Ledger.currency_of`), which
        # must not be another record's later.
        self._kept: list[Rows] = []

    @property
    def made(self) -> bool:
        """Whether the rows are made (then the cells are gone)."""
        return self._rows is not None

    def rows(self) -> Rows:
        """The invoices by id, the payments and the adjustments, as rows."""
        if self._rows is None:
            assert self._make is not None
            make, self._make = self._make, None
            self.files = None  # `make` lets go of each file's cells in turn
            self._rows = make()
            self.known, self.absent = {}, set()  # the rows are every invoice's now
        return self._rows

    def some(
        self, field: str, values: Collection[str], kinds: Collection[str] = KINDS
    ) -> Rows:
        """The rows of `kinds` whose `field` (a customer, an id) is one of
        `values`, in reading order, without making every row: the records
        of a customer or two, or the invoices a report names."""
        if self._rows is not None:  # every row is made: picked from them
            get, values = attrgetter(field), set(values)
            every = (self._rows[0].values(), *self._rows[1:])
            invoices, payments, adjustments = (
                tuple(r for r in records if get(r) in values) if kind in kinds else ()
                for kind, records in zip(KINDS, every, strict=True)
            )
            return {i.id: i for i in invoices}, payments, adjustments
        key = (field, frozenset(values), tuple(kinds))
        picked = self._picked.get(key)
        if picked is None:
            import pyarrow as pa
            import pyarrow.compute as pc

            wanted = pa.array(sorted(values), pa.string())

            def pick(kind: str, number: int, file: Any) -> Any:
                if kind not in kinds or field not in file.cells:
                    return None
                return pc.indices_nonzero(pc.is_in(file.cells[field], value_set=wanted))

            picked = self._picked[key] = self._made(pick)
            if field == "id" and "invoices" in kinds:  # every invoice looked at
                self.absent.update(set(values).difference(picked[0]))
        return picked

    def at(self, kind: str, rows: Sequence[int]) -> tuple[Any, ...]:
        """The records of `kind` at `rows`, their places among all the kind's
        records in reading order (ascending), without making every row."""
        if self._rows is not None:
            records = self._rows[KINDS.index(kind)]
            every = list(records.values()) if isinstance(records, dict) else records
            return tuple(every[r] for r in rows)
        import pyarrow as pa
        import pyarrow.compute as pc

        wanted = pa.array(rows, pa.int64())
        start = 0

        def pick(of: str, number: int, file: Any) -> Any:
            nonlocal start
            if of != kind:
                return None
            size = len(next(iter(file.cells.values())))
            mine = pc.and_(
                pc.greater_equal(wanted, start), pc.less(wanted, start + size)
            )
            at = pc.subtract(wanted.filter(mine), start)
            start += size
            return at

        made = self._made(pick)
        found = made[KINDS.index(kind)]
        return tuple(found.values()) if isinstance(found, dict) else found

    def _made(self, pick: Callable[[str, int, Any], Any]) -> Rows:
        """The rows `pick` picks (`loader._some_rows`), kept."""
        made = self._pick(pick)
        self.known.update(made[0])
        self._kept.append(made)
        return made


class BulkInvoices(Mapping[str, Any]):
    """A ledger's invoices by id, made rows when first read; an invoice
    `Bulk.some` made, or found no invoice has, is answered for without."""

    __slots__ = ("_bulk",)

    def __init__(self, bulk: Bulk) -> None:
        self._bulk = bulk

    def _rows(self) -> dict[str, Any]:
        return self._bulk.rows()[0]

    def __getitem__(self, key: str) -> Any:
        found = self._bulk.known.get(key)
        if found is None and key in self._bulk.absent:
            raise KeyError(key)
        return self._rows()[key] if found is None else found

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows())

    def __len__(self) -> int:
        if not self._bulk.made:
            return self._bulk.counts["invoices"]
        return len(self._rows())

    def __contains__(self, key: object) -> bool:
        bulk = self._bulk
        if key in bulk.known:
            return True
        return key not in bulk.absent and key in self._rows()

    def get(self, key: str, default: Any = None) -> Any:
        found = self._bulk.known.get(key)
        if found is None:
            if key in self._bulk.absent:
                return default
            return self._rows().get(key, default)
        return found

    def keys(self) -> Any:
        return self._rows().keys()

    def values(self) -> Any:
        return self._rows().values()

    def items(self) -> Any:
        return self._rows().items()

    def __repr__(self) -> str:
        if not self._bulk.made:
            return f"<{self._bulk.counts['invoices']} invoices, not read yet>"
        return repr(self._rows())


class Later(Sequence[Any]):
    """A tuple of records made when first read: `make` gives it. `size`, when
    known ahead, answers `len` without making it."""

    __slots__ = ("_make", "_records", "_size")

    def __init__(self, make: Callable[[], tuple[Any, ...]], size: int | None = None):
        self._make: Callable[[], tuple[Any, ...]] | None = make
        self._records: tuple[Any, ...] | None = None
        self._size = size

    def _rows(self) -> tuple[Any, ...]:
        if self._records is None:
            assert self._make is not None
            make, self._make = self._make, None
            self._records = make()
        return self._records

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Any, ...]: ...
    def __getitem__(self, i: int | slice) -> Any:
        return self._rows()[i]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows())

    def __len__(self) -> int:
        if self._records is None and self._size is not None:
            return self._size
        return len(self._rows())

    @property
    def made(self) -> bool:
        """Whether the tuple is made (read once)."""
        return self._records is not None

    def __contains__(self, value: object) -> bool:
        return value in self._rows()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Later):
            other = other._rows()
        return self._rows() == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self._records is None:
            return "<records not read yet>"
        return repr(self._records)


def later_payments(bulk: Bulk) -> Later:
    """The payments of `bulk`, as a tuple made when first read."""
    return Later(lambda: bulk.rows()[1], bulk.counts["payments"])


def later_adjustments(bulk: Bulk) -> Later:
    """The adjustments of `bulk`, as a tuple made when first read."""
    return Later(lambda: bulk.rows()[2], bulk.counts["adjustments"])
