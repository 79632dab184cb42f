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
from typing import Any, overload

# The three kinds kept as cells, and what `Bulk.rows` gives of them.
Rows = tuple[dict[str, Any], tuple[Any, ...], tuple[Any, ...]]
KINDS = ("invoices", "payments", "adjustments")


class Bulk:
    """The cells of a ledger's invoices, payments and adjustments, until their
    rows are made.

    `files`: the kind's `arrow_columns.BulkFile`s in the order the loader
    reads them; `counts`: the records of each kind; `make`: the loader's row
    path over the same files, called at most once; `pick`: the same path over
    the records whose field is one of some values (`some`)."""

    def __init__(
        self,
        files: dict[str, list[Any]],
        counts: dict[str, int],
        make: Callable[[], Rows],
        pick: Callable[[str, Collection[str], Collection[str]], Rows],
    ) -> None:
        self.files: dict[str, list[Any]] | None = files
        self.counts = counts
        self._make: Callable[[], Rows] | None = make
        self._pick = pick
        self._rows: Rows | None = None
        # The invoices made by `some`, by id: `BulkInvoices` answers for
        # them without making every row.
        self.known: dict[str, Any] = {}
        # What `some` made, by what it was asked: each asked once. Every
        # record made is kept while the ledger is: a record's currency is
        # cached by its id (`Ledger.currency_of`), which must not be another
        # record's later.
        self._picked: dict[tuple[str, frozenset[str], tuple[str, ...]], Rows] = {}

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
            self.known = {}  # the rows are every invoice's now
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
            picked = self._picked[key] = self._pick(field, values, kinds)
            self.known.update(picked[0])
        return picked


class BulkInvoices(Mapping[str, Any]):
    """A ledger's invoices by id, made rows when first read."""

    __slots__ = ("_bulk",)

    def __init__(self, bulk: Bulk) -> None:
        self._bulk = bulk

    def _rows(self) -> dict[str, Any]:
        return self._bulk.rows()[0]

    def __getitem__(self, key: str) -> Any:
        found = self._bulk.known.get(key)
        return self._rows()[key] if found is None else found

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows())

    def __len__(self) -> int:
        if not self._bulk.made:
            return self._bulk.counts["invoices"]
        return len(self._rows())

    def __contains__(self, key: object) -> bool:
        return key in self._rows()

    def get(self, key: str, default: Any = None) -> Any:
        found = self._bulk.known.get(key)
        return self._rows().get(key, default) if found is None else found

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
