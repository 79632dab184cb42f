# What the type checker knows of the compiled kernel (arledger/_settle.c), which
# it cannot read: change this with the C module's functions and attributes
# (tests/test_build.py holds the two together with mypy's stubtest).
from collections.abc import Callable
from datetime import date
from typing import Any, final

# The hex SHA-256 of the source this build was compiled from (setup.py).
SOURCE_SHA256: str

# docs/columnar-kernel.md §4.1: the records' columns (array.array each), the
# lists beside them (ids, refs, adj_ids, the records' amounts, the discounted
# (invoice index, Discount) pairs, the codes), and `wide`, for `run`;
# tests/reference_columns.py is its reference. The only function that reads
# records.
def read(
    invoices: list[Any],
    adjustments: list[Any],
    payments: list[Any],
    refs: list[str] | None,
    tables: dict[str, Any],
    /,
) -> dict[str, Any]: ...

# docs/columnar-kernel.md §4.2: the replay of `read`'s columns (buffers:
# array.array, memoryview or bytes; amounts int64, or two words each when
# context["wide"]; the record amount lists may be None; ids, refs and
# adj_ids lists, or texts: (int32 offsets, UTF-8 bytes, list after them)), with
# `customer_owner` and the `offer_*` columns. context["release"] drops each
# column from `columns` once the replay no longer needs it.
# context["later"] gives the items as `Items`, made when taken.
def run(
    columns: dict[str, Any],
    context: dict[str, Any],
    /,
) -> tuple[
    list[Any] | Items, list[Any], list[Any], list[Any], list[tuple[str, str]]
]: ...

# The items of a run with context["later"] (docs/columnar-kernel.md §4.5):
# their rows, made into items once, when taken; summed by group meanwhile.
@final
class Items:
    def __len__(self) -> int: ...
    def take(self) -> list[Any]: ...
    def fold(
        self,
        group_of: Callable[[date, bool], int],
        count: int,
        by_due: bool,
        least: bool,
        /,
    ) -> list[tuple[Any, ...] | None]: ...
