"""`_settle.run` replays the columns it is given as the oracle settles records.

docs/columnar-kernel.md §4.2: the kernel replays columns, as `_settle.read`
returns them or as the stage-3 arrow path (`arledger/arrow_columns.py`) will
make them: buffers of int64 amounts, or two words each when `wide`, the lists
beside them (the records' amount lists None on the arrow path: the Decimals
are then rebuilt from minor units and exponents), each customer's owner code,
and the early-payment offers `settle.py` computes in Python (`offer_*`).

Until step 5 this file held that replay to the record path,
`run(records...)`, which is gone. It holds it to the oracle instead:
`settle` with `_settle.read` replaced by tests/reference_columns.py (plain
`array`s, as the arrow path makes them), on the oracle's views, its columns
given to `run` as they are, with `wide` forced, without the amount lists,
as `memoryview` and `bytes`, and with the ids and refs as texts (offsets
into UTF-8 bytes, made strings only when shown), is each time exactly the
oracle's settlement with the Decimals of §4.3 (`test_settle_exact.exact_reference`:
the type of every field, a Decimal's sign, digits and exponent), each
discount the very object in the applications, the accounts those of the
items. A malformed column is refused with a ValueError naming it. Fed by
`arrow_columns.kernel_columns` on a small CSV ledger, it is the oracle's
settlement of the loader's rows of the same files.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import partial
from itertools import product
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arledger import _settle, api
from arledger import settle as settle_module
from arledger.ledger import LedgerView
from arledger.model import Adjustment, Customer, Instalment, Invoice, Payment
from arledger.settle import Settlement, complete_columns, replay_context, settle

from .reference_columns import AMOUNTS, COLUMNS, in_order, reference_columns, tables_of
from .test_kernel_read import d, ledger_of
from .test_properties import ledgers
from .test_settle_exact import assert_discounts_shared, assert_exactly, exact_reference
from .test_settle_oracle import ORACLE, draw_view, varied_ledgers, with_owners

FLAGS = ((True, True), (True, False), (False, True))
AMOUNT_LISTS = (
    "inv_amounts",
    "ins_amounts",
    "pay_amounts",
    "adj_amounts",
    "alloc_amounts",
)
Columns = dict[str, Any]


def columns_context(
    view: LedgerView,
    columns: Columns,
    tables: dict[str, Any],
    history: bool,
    paid: bool,
) -> dict[str, Any]:
    """The columns made whole for `run` (each customer's owner code, the
    offers), and its context."""
    complete_columns(columns, in_order(view)[0], tables)
    return replay_context(columns, tables, view.owner, history=history, paid=paid)


def reference_of(view: LedgerView) -> tuple[Columns, dict[str, Any]]:
    """tests/reference_columns.py's columns of a view, and the tables they
    extended."""
    tables = tables_of(view.ledger)
    return reference_columns(view.ledger, *in_order(view), tables), tables


def fields(results: tuple[Any, ...]) -> list[list[list[str]]]:
    """Every field of every result as its type and repr."""
    return [
        [[f"{type(x).__name__} {x!r}" for x in row] for row in rows] for rows in results
    ]


def assert_alike(got: tuple[Any, ...], want: tuple[Any, ...]) -> None:
    assert fields(got) == fields(want)
    applications = {id(a) for a in got[1]}
    assert all(id(d) in applications for d in got[3])  # statement.py, journal.py


def widened(columns: Columns) -> Columns:
    """The same columns with every amount in two words (§1.6)."""
    if columns["wide"]:
        return columns
    made = {**columns, "wide": True}
    for name in (*AMOUNTS, "offer_threshold"):
        if name in columns:
            made[name] = words_of(columns[name].tolist())
    return made


def words_of(minors: list[int]) -> array:
    out = array("q")
    for minor in minors:
        low = minor & (2**64 - 1)
        out += array("q", [low - 2**64 if low >= 2**63 else low, minor >> 64])
    return out


def without_lists(columns: Columns) -> Columns:
    """The columns without the records' own Decimals: `run` rebuilds them."""
    return {**columns, **dict.fromkeys(AMOUNT_LISTS)}


def as_views(columns: Columns) -> Columns:
    """The columns wide, each buffer a `memoryview` or `bytes` of its array."""
    wide = widened(columns)
    views = {
        name: (memoryview if k % 2 else bytes)(value)
        for k, (name, value) in enumerate(wide.items())
        if isinstance(value, array)
    }
    return {**wide, **views}


def as_texts(columns: Columns) -> Columns:
    """The columns with `ids`, `refs` and `adj_ids` as texts, as
    `arrow_columns.kernel_columns` gives them: offsets into UTF-8 bytes
    (here past two bytes no text's), the last id in the list after them."""
    made = dict(columns)
    for name, after in (("ids", 1), ("refs", 0), ("adj_ids", 0)):
        strings = columns[name]
        if not isinstance(strings, list):  # texts already
            continue
        texts = strings[: max(len(strings) - after, 0)]
        data = bytearray(b"--")
        at = array("i", [len(data)])
        for text in texts:
            data += text.encode()
            at.append(len(data))
        made[name] = (at, bytes(data), list(strings[len(texts) :]))
    return made


GIVEN: tuple[Callable[[Columns], Columns], ...] = (
    dict,
    widened,
    without_lists,
    as_views,
    as_texts,
)


@contextmanager
def fed(
    columns_of: Callable[..., Columns],
    given: Callable[[Columns], Columns],
    lanes: int = 1,
) -> Iterator[list[Columns]]:
    """`settle` with `_settle.read` replaced by `columns_of` (called as it
    is), and the columns, once completed, turned by `given` before
    `_settle.run` replays them in `lanes` lanes, however many cores this
    machine has (a replay with its history takes one). Yields the columns
    `run` was given."""
    real = _settle.run
    seen: list[Columns] = []

    def run(columns: Columns, context: dict[str, Any]) -> Any:
        made = given(columns)
        seen.append(made)
        return real(made, {**context, "wide": made["wide"], "lanes": lanes})

    with (
        mock.patch.object(_settle, "read", columns_of),
        mock.patch.object(_settle, "run", run),
    ):
        yield seen


def oracle_settlements(view: LedgerView) -> dict[tuple[bool, bool], Settlement]:
    """What `settle(view, history=h, paid=p)` must be, by the exact oracle
    (as tests/test_settle_exact.py derives it)."""
    want = exact_reference(view)
    lean = replace(want, items=tuple(item for item in want.items if item.open))
    aging = replace(lean, applications=(), discounts=(), history=False)
    return {(True, True): want, (True, False): lean, (False, True): aging}


def assert_settled_as_the_oracle(
    view: LedgerView, columns_of: Callable[..., Columns]
) -> None:
    """`settle(view)` fed by `columns_of`, each way of giving the columns,
    each of history and paid, and replayed in one lane or two (§4.4),
    exactly the oracle's."""
    wanted = oracle_settlements(view)
    accounts = replace(wanted[True, True], accounts=None).item_accounts()
    for giving in GIVEN:
        for (history, paid), lanes in product(FLAGS, (1, 2)):
            with fed(columns_of, giving, lanes) as seen:
                got = settle(view, history=history, paid=paid)
            assert len(seen) == 1
            assert_exactly(got, wanted[history, paid])
            assert_discounts_shared(got)
            assert got.accounts == accounts


def assert_columns_replay_as_the_oracle(view: LedgerView) -> None:
    assert_settled_as_the_oracle(view, partial(reference_columns, view.ledger))


@settings(ORACLE, max_examples=100)
@given(data=st.data())
def test_columns_replay_as_the_oracle_on_the_property_ledgers(data):
    gen = data.draw(ledgers().flatmap(with_owners), label="ledger")
    assert_columns_replay_as_the_oracle(draw_view(data, gen))


@settings(ORACLE, max_examples=100)
@given(data=st.data())
def test_columns_replay_as_the_oracle_on_varied_ledgers(data):
    """Currencies of 0 to 4 places, amounts beyond 64 bits, payments
    without ids, waiting allocations, discounts, owners."""
    gen = data.draw(varied_ledgers(), label="ledger")
    assert_columns_replay_as_the_oracle(draw_view(data, gen))


# ------------------------------------------------------- malformed columns


def demo_columns() -> tuple[dict[str, Any], dict[str, Any]]:
    """A small ledger's columns, whole, with an instalment, an allocation
    and an adjustment, and run's context."""
    ledger = ledger_of(
        invoices=[
            Invoice(id="I1", customer="C", date=date(2025, 1, 1), amount=d("100.00")),
            Invoice(
                id="I2",
                customer="C",
                date=date(2025, 1, 2),
                amount=d("50"),
                schedule=[
                    Instalment(due=date(2025, 2, 1), amount=d("20")),
                    Instalment(due=date(2025, 3, 1), amount=d("30")),
                ],
            ),
        ],
        payments=[
            Payment(
                id="P1",
                customer="C",
                date=date(2025, 1, 5),
                amount=d("70"),
                allocations={"I2": d("20")},
            )
        ],
        adjustments=[
            Adjustment(
                id="A1",
                customer="C",
                date=date(2025, 1, 3),
                amount=d("5"),
                kind="credit_note",
            )
        ],
    )
    view = ledger.view(date(2025, 12, 31))
    columns, tables = reference_of(view)
    context = columns_context(view, columns, tables, True, True)
    return columns, context


def test_the_demo_columns_replay():
    columns, context = demo_columns()
    items = _settle.run(columns, context)[0]
    assert [(i.invoice, i.instalment, str(i.open)) for i in items] == [
        ("I1", None, "45.00"),  # 100.00 less the credit note and the rest of P1
        ("I2", 1, "0.00"),  # paid by P1's allocation: a computed zero
        ("I2", 2, "30"),
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("inv_date", array("l", [739252, 739253]), "inv_date: a buffer of 'i'"),
        ("inv_due", array("i", [739252]), "inv_due: 1 items, not 2"),
        ("inv_date", b"\0" * 7, "inv_date: 7 bytes"),
        ("inv_date", array("i", [739253, 739252]), r"inv_date\[1\]: out of order"),
        ("inv_date", array("i", [0, 1]), r"inv_date\[0\]: 0, out of range"),
        ("inv_due", array("i", [739252, 99999999]), r"inv_due\[1\]"),
        ("inv_customer", array("i", [0, 1]), r"inv_customer\[1\]: 1, out of range"),
        ("inv_currency", array("h", [0, -1]), r"inv_currency\[1\]"),
        ("inv_owner", array("i", [-2, -1]), r"inv_owner\[0\]"),
        ("inv_minor", array("q", [10000, 0]), r"inv_minor\[1\]: not above 0"),
        ("inv_exp", array("b", [-2, -60]), r"inv_exp\[1\]: exponent"),
        ("inv_flags", "nope", "inv_flags: not a contiguous buffer"),
        ("ins_invoice", array("i", [1, 0]), r"ins_invoice\[1\]: out of order"),
        ("ins_invoice", array("i", [1, 2]), r"ins_invoice\[1\]: 2, out of range"),
        ("pay_invoice", array("i", [9]), r"pay_invoice\[0\]"),
        ("pay_currency", array("h", [0, 0]), "pay_currency: 2 items, not 1"),
        ("adj_kind", array("B", [3]), r"adj_kind\[0\]: 3"),
        ("alloc_payment", array("i", [1]), r"alloc_payment\[0\]: 1, out of range"),
        ("alloc_invoice", array("i", [-1]), r"alloc_invoice\[0\]"),
        ("minor_units", array("b", [40]), r"minor_units\[0\]"),
        ("customer_owner", array("i", []), "customer_owner: 0 items, not 1"),
        ("offer_invoice", array("i", [0]), "offer_last_day: 0 items, not 1"),
        ("ids", ["I1"], "ids: 1 items, for 2 invoices"),
        ("refs", None, "refs: a list"),
        (
            "refs",
            (array("i", [0, 1]), b"P"),
            r"refs: a list, or \(offsets, bytes, list\)",
        ),
        ("refs", (array("q", [0, 1]), b"P", []), r"refs: offsets of int32"),
        ("refs", (array("i", []), b"", []), r"refs: offsets of int32"),
        ("refs", (array("i", [0, 2]), b"P", []), "refs: offsets beyond the bytes"),
        ("refs", (array("i", [-1, 1]), b"P", []), "refs: offsets beyond the bytes"),
        ("ids", (array("i", [0, 2, 1]), b"I1", []), "ids: offsets falling"),
        ("ids", (array("i", [0, 2]), b"I1", []), "ids: 1 items, for 2 invoices"),
        ("inv_amounts", [Decimal(1)], "inv_amounts: 1 items, not 2"),
        ("pay_amounts", None, "all five lists, or none"),
        ("customers", ("C",), "customers: a list"),
        ("pay_date", None, "pay_date: missing from the columns"),
    ],
)
def test_malformed_columns_are_refused_by_name(name, value, message):
    columns, context = demo_columns()
    if value is None and name not in ("refs", "pay_amounts"):
        del columns[name]
    else:
        columns[name] = value
    with pytest.raises(ValueError, match=message):
        _settle.run(columns, context)


def test_wide_amounts_need_two_words_each():
    columns, context = demo_columns()
    with pytest.raises(ValueError, match="inv_minor: wide, an odd count of words"):
        _settle.run({**columns, "inv_minor": array("q", [1, 0, 2])},
                            {**context, "wide": True})  # fmt: skip
    with pytest.raises(ValueError, match="inv_minor: 1 items, not 2"):
        _settle.run(columns, {**context, "wide": True})


def test_an_owner_code_out_of_range_is_refused():
    columns, context = demo_columns()
    with pytest.raises(ValueError, match="owner: 0, not an owner's code"):
        _settle.run(columns, {**context, "owner": 0})


@pytest.mark.parametrize("lanes", [0, 3, -1])
def test_lanes_are_one_or_two(lanes):
    columns, context = demo_columns()
    with pytest.raises(ValueError, match=f"lanes: {lanes}, not 1 to 2"):
        _settle.run(columns, {**context, "history": False, "lanes": lanes})


def test_lanes_split_accounts_and_settle_as_one():
    """Two lanes share the accounts, the most records first, each to the
    lane with fewer so far: here D in USD (3 records, lane 0), C in USD (3,
    lane 1), C in EUR (2, lane 0). D's payments name
    C's invoice I1, of the other lane, before and after it is issued, and
    the allocation of C's payment waits for an invoice of C issued later.
    Each lane settles its own: what names another account's invoice waits
    for it in vain, as in one lane, and as the oracle has it."""
    customers = (Customer(id="C", name="C"), Customer(id="D", name="D"))
    on = date(2025, 1, 1)
    days = [on.replace(day=k) for k in range(1, 9)]
    invoices = [
        Invoice(id="I1", customer="C", date=days[1], amount=d("100.00")),
        Invoice(id="J1", customer="D", date=days[1], amount=d("40.00")),
        Invoice(id="I2", customer="C", date=days[3], amount=d("30.00")),
        Invoice(id="E1", customer="C", date=days[4], amount=d("9.00"), currency="EUR"),
    ]
    payments = [
        Payment(id="P0", customer="D", date=days[0], amount=d("5.00"), invoice="I1"),
        Payment(id="P1", customer="C", date=days[2], amount=d("50.00"),
                allocations={"I2": d("20.00")}),
        Payment(id="P2", customer="D", date=days[5], amount=d("60.00"), invoice="I1"),
        Payment(id="P3", customer="C", date=days[6], amount=d("12.00"), currency="EUR"),
    ]  # fmt: skip
    ledger = ledger_of(invoices=invoices, payments=payments, customers=customers)
    view = ledger.view(date(2025, 12, 31))
    want = oracle_settlements(view)[False, True]
    for lanes in (1, 2):
        with fed(partial(reference_columns, view.ledger), dict, lanes):
            got = settle(view, history=False, paid=True)
        assert_exactly(got, want)
    assert got.accounts == (("D", "USD"), ("C", "USD"), ("C", "EUR"))
    assert [(c.customer, c.ref, str(c.amount), c.waiting_for) for c in got.credits] == [
        ("D", "P0", "5.00", "I1"),
        ("D", "P2", "60.00", "I1"),
        ("C", "P3", "3.00", None),
    ]
    assert [(i.invoice, str(i.open)) for i in got.items] == [
        ("J1", "40.00"),
        ("I1", "70.00"),  # P1's 30.00 beyond its allocation, oldest first
        ("I2", "10.00"),  # P1's allocation, waiting until I2 is issued
    ]  # E1 is paid in full by P3: items paid in full come with the history


def test_release_drops_the_columns_the_items_do_not_need():
    """settle.py lets each column go once the replay is done with it, so
    the items (the biggest results) are not made beside them."""
    columns, context = demo_columns()
    want = _settle.run(dict(columns), context)
    given = dict(columns)
    got = _settle.run(given, {**context, "release": True})
    assert_alike(got, want)
    assert not {*COLUMNS, "refs", "adj_ids", "pay_amounts"} & given.keys()
    assert {"ids", "inv_amounts", "ins_amounts", "customers"} <= given.keys()
    rebuilt = {**columns, **dict.fromkeys(AMOUNT_LISTS)}
    _settle.run(rebuilt, {**context, "release": True})
    # the invoices' and instalments' amounts are rebuilt with the items
    assert {"inv_minor", "inv_exp", "ins_minor", "ins_exp"} <= rebuilt.keys()
    assert "pay_minor" not in rebuilt


# ------------------------------------------------------- the arrow path


def test_the_arrow_columns_of_a_csv_ledger_settle_as_the_oracle_its_rows(tmp_path):
    """Stage 3's path: `arrow_columns.kernel_columns` of the CSV files (no
    record Decimals), then `run`, gives the oracle's settlement of the
    loader's rows of the same files."""
    pytest.importorskip("pyarrow")
    from arledger import arrow_columns  # noqa: PLC0415

    from .test_arrow_columns import bulk_files, hand_made  # noqa: PLC0415

    root = hand_made(tmp_path / "ledger")
    invoices, adjustments, payments = bulk_files(root)
    ledger = api.load(root)
    for as_of in (date(2025, 12, 1), date(2025, 12, 31), date(2026, 12, 31)):

        def arrow(*records: Any, as_of: date = as_of) -> Columns:
            tables = records[-1]
            cells = arrow_columns.Cells.of(invoices, adjustments, payments)
            columns = arrow_columns.kernel_columns(cells, as_of, tables)
            assert all(columns[name] is None for name in AMOUNT_LISTS)
            return columns

        for owner in (None, "nobody"):
            assert_settled_as_the_oracle(ledger.view(as_of, owner=owner), arrow)


def test_a_generated_ledger_settles_alike_in_one_lane_and_two(tmp_path):
    """The benchmarks' generator at 60,000 invoices: one customer holds many
    of the records, and the kernel's arrays are big enough (from 4 MB) to be
    faulted in ahead on a thread of their own. One lane and two give the
    same settlement, field for field."""
    pytest.importorskip("pyarrow")
    from .test_arrow_columns import generate  # noqa: PLC0415

    root = tmp_path / "ledger"
    generate.write_ledger(generate.generate(60_000, 3), root, "csv")
    view = api.load(root).view(date.fromisoformat(generate.AS_OF))
    settled = {}
    for lanes in (1, 2):
        with mock.patch.object(settle_module, "lanes", lambda lanes=lanes: lanes):
            settled[lanes] = settle(view, history=False, paid=False)
    one, two = settled[1], settled[2]
    assert len(one.items) > 1000
    assert fields((one.items, one.credits)) == fields((two.items, two.credits))
    assert one.accounts == two.accounts
