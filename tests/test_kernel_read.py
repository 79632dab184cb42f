"""`_settle.read` gives the columns of tests/reference_columns.py.

docs/columnar-kernel.md, step 2: the kernel's `read` turns a view's sorted
records into columns of codes, ordinals and minor units (§1); the reference
resolves every value through the Ledger's own rules. On the oracle's
generated views (tests/test_settle_oracle.py: owners, currencies of 0 to 4
decimals, amounts beyond 64 bits, payments without ids, waiting
allocations, filtered views whose records name invoices outside them; as
models or as rows) and on hand-made ledgers, the two agree column by
column, the lists beside the columns hold the records' own objects, and
each amount's (minor units, exponent) gives back its record's Decimal.
`settle` calls `read`, then `run` on its columns (steps 4 and 5).
"""

from __future__ import annotations

import sys
from array import array
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from arledger import _settle
from arledger.errors import Source
from arledger.ledger import Ledger, LedgerView
from arledger.model import Adjustment, Customer, Discount, Instalment, Invoice, Payment
from arledger.money import minor_units

from .reference_columns import (
    AMOUNTS,
    COLUMNS,
    DISPUTED,
    amount_of,
    in_order,
    reference_columns,
    tables_of,
)
from .test_properties import Gen, ledgers
from .test_settle_oracle import (
    ORACLE,
    as_rows,
    big_ledger,
    draw_view,
    varied_ledgers,
    with_owners,
)

LISTS = ("ids", "refs", "adj_ids", "customers", "currencies", "owners")
RECORD_AMOUNTS = {
    "inv_amounts": "inv_minor",
    "ins_amounts": "ins_minor",
    "pay_amounts": "pay_minor",
    "adj_amounts": "adj_minor",
    "alloc_amounts": "alloc_minor",
}


# ------------------------------------------------------------------ the checks


def read_view(view: LedgerView, **tables: Any) -> dict[str, Any]:
    """`_settle.read` of a view's records, sorted as `settle` sorts them."""
    return _settle.read(*in_order(view), {**tables_of(view.ledger), **tables})


def reference_of(view: LedgerView) -> dict[str, Any]:
    return reference_columns(view.ledger, *in_order(view), tables_of(view.ledger))


def minors(columns: dict[str, Any], name: str) -> list[int]:
    """An amount column's minor units, put together again when wide."""
    words = columns[name].tolist()
    if not columns["wide"]:
        return words
    lows, highs = words[0::2], words[1::2]
    return [
        high * 2**64 + (low & (2**64 - 1))
        for low, high in zip(lows, highs, strict=True)
    ]


def assert_same_columns(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Every column of the same type and items; the lists equal, the amounts
    and discounts the very objects of the records."""
    assert got.keys() == want.keys()
    for name in COLUMNS:
        column = got[name]
        assert type(column) is array and column.typecode == COLUMNS[name], name
        assert column == want[name], (name, column, want[name])
    for name in LISTS:
        assert type(got[name]) is list, name
        assert got[name] == want[name], (name, got[name], want[name])
    for name in RECORD_AMOUNTS:
        assert len(got[name]) == len(want[name]), name
        assert all(a is b for a, b in zip(got[name], want[name], strict=True)), name
    assert [i for i, _ in got["discounted"]] == [i for i, _ in want["discounted"]]
    assert all(a is b for (_, a), (_, b) in zip(got["discounted"], want["discounted"], strict=True))  # fmt: skip
    assert got["wide"] is want["wide"]


def assert_whole(columns: dict[str, Any], view: LedgerView) -> None:
    """The columns hold every record of the view once, and each amount's
    minor units and exponent give back its record's own Decimal (§1.6)."""
    n, m, k = len(view.invoices), len(view.payments), len(view.adjustments)
    assert len(columns["ids"]) >= n and len(columns["refs"]) == m
    for name in COLUMNS:
        size = {"inv": n, "pay": m, "adj": k}.get(name[:3])
        if size is not None:
            assert len(columns[name]) == size * (2 if columns["wide"] and name in AMOUNTS else 1)  # fmt: skip
    currencies = columns["currencies"]
    of_invoice = columns["inv_currency"].tolist()
    of_payment = columns["pay_currency"].tolist()
    currency = {
        "inv": of_invoice,
        "ins": [of_invoice[i] for i in columns["ins_invoice"]],
        "pay": of_payment,
        "adj": columns["adj_currency"].tolist(),
        "alloc": [of_payment[p] for p in columns["alloc_payment"]],
    }
    for name, minor in RECORD_AMOUNTS.items():
        prefix = minor.removesuffix("_minor")
        for value, units, exponent, code in zip(
            columns[name],
            minors(columns, minor),
            columns[f"{prefix}_exp"],
            currency[prefix],
            strict=True,
        ):
            again = amount_of(units, exponent, currencies[code])
            assert again.as_tuple() == value.as_tuple(), (name, value, again)
    assert columns["minor_units"].tolist() == list(map(minor_units, currencies))


def assert_read_alike(view: LedgerView) -> dict[str, Any]:
    """`read` and the reference agree on `view`; the columns."""
    got = read_view(view)
    assert_same_columns(got, reference_of(view))
    assert_whole(got, view)
    return got


# ------------------------------------------------------------------ properties


def report_what_was_read(columns: dict[str, Any], view: LedgerView) -> None:
    """Hypothesis events (`pytest --hypothesis-show-statistics`): how often
    the generated views had what the columns must get right."""
    for what, seen in {
        "wide amounts": columns["wide"],
        "names outside the view": len(columns["ids"]) > len(view.invoices),
        "a payment without an id": any(p.id is None for p in view.payments),
        "a payment without a currency": any(not p.currency for p in view.payments),
        "instalments": len(columns["ins_invoice"]),
        "allocations": len(columns["alloc_invoice"]),
        "discounts": columns["discounted"],
        "invoice owners": any(o >= 0 for o in columns["inv_owner"]),
        "rows": any(isinstance(i, tuple) for i in view.invoices),
    }.items():
        if seen:
            event(what)


@settings(ORACLE, max_examples=150)
@given(data=st.data())
def test_read_agrees_with_the_reference_on_the_property_ledgers(data):
    gen = data.draw(ledgers().flatmap(with_owners), label="ledger")
    view = draw_view(data, gen)
    report_what_was_read(assert_read_alike(view), view)


@settings(ORACLE, max_examples=250)
@given(data=st.data())
def test_read_agrees_with_the_reference_on_varied_ledgers(data):
    """Currencies of 0 to 4 decimals, amounts beyond 64 bits (then every
    amount column is wide), payments without ids, allocations to invoices
    outside the view."""
    view = draw_view(data, data.draw(varied_ledgers(), label="ledger"))
    report_what_was_read(assert_read_alike(view), view)


def test_read_agrees_with_the_reference_for_a_customer_with_many_invoices():
    gen = big_ledger(5, 0.5, False)
    columns = assert_read_alike(gen.ledger().view(date(2026, 6, 30)))
    assert len(columns["ins_invoice"]) > 0 and not columns["wide"]


# ------------------------------------------------------------------ by hand

ON = date(2025, 3, 1)


def d(text: str) -> Decimal:
    return Decimal(text)


def ledger_of(
    invoices=(), payments=(), adjustments=(), customers=None, as_rows_too=False
) -> Ledger:
    customers = customers or (Customer(id="C", name="C"),)
    ledger = Gen(tuple(customers), tuple(invoices), tuple(payments), tuple(adjustments)).ledger()  # fmt: skip
    return as_rows(ledger) if as_rows_too else ledger


@pytest.mark.parametrize("rows", [False, True], ids=["models", "rows"])
def test_models_and_rows_give_the_same_columns(rows):
    """Rows are read by position, models by name: the same columns, those
    written out here."""
    customers = (
        Customer(id="C", name="C", terms=10, owner="ann"),
        Customer(
            id="K", name="K", currency="KWD", discount=Discount(percent=2, days=10)
        ),
    )
    invoices = [
        Invoice(id="I2", customer="C", date=ON, amount=d("30"), owner="bob"),
        Invoice(id="I1", customer="K", date=ON, amount=d("1.500"), disputed=True),
        Invoice(id="I0", customer="C", date=ON + timedelta(days=1), amount=d("7.10"),
                currency="EUR", due=ON + timedelta(days=40)),
    ]  # fmt: skip
    payments = [
        Payment(id="P1", customer="K", date=ON, amount=d("1"), invoice="I1"),
        Payment(id="P0", customer="C", date=ON, amount=d("40.00"),
                allocations={"I2": d("30.00"), "I0": d("7.1")}),
    ]  # fmt: skip
    adjustments = [
        Adjustment(
            id="A1", customer="C", date=ON, amount=d("2"), kind="discount", invoice="I2"
        ),
        Adjustment(id="A0", customer="K", date=ON, amount=d("0.5"), kind="write_off"),
    ]
    ledger = ledger_of(invoices, payments, adjustments, customers, as_rows_too=rows)
    columns = assert_read_alike(ledger.view(ON + timedelta(days=5)))
    assert columns["ids"] == ["I1", "I2", "I0"]  # by date, then id
    assert columns["inv_customer"].tolist() == [1, 0, 0]
    assert columns["currencies"] == ["USD", "KWD", "EUR"]
    assert columns["inv_currency"].tolist() == [1, 0, 2]
    assert columns["inv_minor"].tolist() == [1500, 3000, 710]
    assert columns["inv_exp"].tolist() == [-3, 0, -2]
    assert columns["inv_flags"].tolist() == [DISPUTED, 0, 0]
    assert columns["inv_due"].tolist() == [
        (ON + timedelta(days=30)).toordinal(),  # K: the default terms
        (ON + timedelta(days=10)).toordinal(),  # C: its own
        (ON + timedelta(days=40)).toordinal(),  # given
    ]
    assert columns["owners"] == ["ann", "bob"]
    assert columns["inv_owner"].tolist() == [-1, 1, -1]
    assert [(i, x.percent) for i, x in columns["discounted"]] == [(0, 2)]
    assert columns["adj_ids"] == ["A0", "A1"]
    assert columns["adj_kind"].tolist() == [1, 2]
    assert columns["adj_invoice"].tolist() == [-1, 1]
    assert columns["refs"] == ["P0", "P1"]
    assert columns["pay_invoice"].tolist() == [-1, 0]
    assert columns["alloc_payment"].tolist() == [0, 0]
    assert columns["alloc_invoice"].tolist() == [1, 2]  # in the dict's order
    assert columns["alloc_minor"].tolist() == [3000, 710]
    assert columns["alloc_exp"].tolist() == [-2, -1]
    assert columns["minor_units"].tolist() == [2, 3, 2]
    assert columns["wide"] is False


def test_an_amount_beyond_64_bits_makes_every_amount_column_wide():
    """§1.6: low word, then high word, for every amount of the call."""
    big = d("12345678901234567890123456.78")
    invoices = [
        Invoice(id="I1", customer="C", date=ON, amount=big),
        Invoice(
            id="I2",
            customer="C",
            date=ON,
            amount=d("9223372036854775.808"),
            currency="KWD",
        ),  # fmt: skip
    ]
    payments = [Payment(id="P1", customer="C", date=ON, amount=d("0.01"), invoice="I1")]
    columns = assert_read_alike(ledger_of(invoices, payments).view(ON))
    assert columns["wide"] is True
    minor = 1234567890123456789012345678
    assert columns["inv_minor"].tolist() == [
        minor % 2**64 - 2**64 if minor % 2**64 >= 2**63 else minor % 2**64,
        minor >> 64,
        -(2**63),  # 2**63 fils: its low word, as an int64
        0,
    ]
    assert minors(columns, "inv_minor") == [minor, 2**63]
    assert columns["pay_minor"].tolist() == [1, 0]
    assert len(columns["ins_minor"]) == len(columns["adj_minor"]) == 0
    largest = Invoice(id="I2", customer="C", date=ON, amount=d("9223372036854775.807"), currency="KWD")  # fmt: skip
    narrow = assert_read_alike(ledger_of([largest]).view(ON))
    assert narrow["wide"] is False and narrow["inv_minor"].tolist() == [2**63 - 1]


def test_payments_without_ids_are_known_by_where_they_were_written():
    """Once a payment has no id, payments sort by ref (FILE:LINE: line 10
    before line 9) and the refs are given beside them; `refs=None` reads
    the ids."""
    payments = [
        Payment(customer="C", date=ON, amount=d("1"), source=Source("payments.csv", 9)),
        Payment(
            customer="C", date=ON, amount=d("2"), source=Source("payments.csv", 10)
        ),
        Payment(id="P", customer="C", date=ON, amount=d("3")),
    ]
    view = ledger_of(payments=payments).view(ON)
    columns = assert_read_alike(view)
    assert columns["refs"] == ["P", "payments.csv:10", "payments.csv:9"]
    assert columns["pay_minor"].tolist() == [300, 200, 100]
    with_ids = assert_read_alike(ledger_of(payments=payments[2:]).view(ON))
    assert with_ids["refs"] == ["P"]


def test_records_without_a_currency_take_it_from_what_they_name():
    """A payment or adjustment without a currency: `currency_of`, asked once
    for each such record and never for an invoice or a record with one."""
    customers = (Customer(id="C", name="C"),)
    invoices = [Invoice(id="E1", customer="C", date=ON, amount=d("5"), currency="EUR")]
    payments = [
        Payment(id="P1", customer="C", date=ON, amount=d("5"), invoice="E1"),
        Payment(id="P2", customer="C", date=ON, amount=d("5")),
        Payment(id="P3", customer="C", date=ON, amount=d("5"), currency="JPY"),
    ]
    adjustments = [Adjustment(id="A1", customer="C", date=ON, amount=d("1"), kind="credit_note", invoice="E1")]  # fmt: skip
    ledger = ledger_of(invoices, payments, adjustments, customers)
    view = ledger.view(ON)
    asked: list[Any] = []

    def currency_of(record: Any) -> str:
        asked.append(record.id)
        return ledger.currency_of(record)

    columns = read_view(view, currency_of=currency_of)
    assert_same_columns(columns, reference_of(view))
    assert asked == ["A1", "P1", "P2"]
    assert columns["currencies"] == ["USD", "EUR", "JPY"]
    assert columns["pay_currency"].tolist() == [1, 0, 2]
    assert columns["adj_currency"].tolist() == [1]


def test_invoices_named_but_not_in_the_view_follow_the_views_invoices():
    """An invoice not issued by the as-of date, or outside the view, is
    given an index after the view's invoices, the same each time it is
    named, in the order named (adjustments, then payments)."""
    invoices = [
        Invoice(id="I1", customer="C", date=ON, amount=d("5")),
        Invoice(id="LATE", customer="C", date=ON + timedelta(days=9), amount=d("5")),
    ]
    payments = [
        Payment(id="P1", customer="C", date=ON, amount=d("9"),
                allocations={"LATE": d("4"), "I1": d("5")}),
        Payment(id="P2", customer="C", date=ON, amount=d("1"), invoice="NEVER"),
        Payment(id="P3", customer="C", date=ON, amount=d("1"), invoice="LATE"),
    ]  # fmt: skip
    adjustments = [Adjustment(id="A1", customer="C", date=ON, amount=d("1"), kind="write_off", invoice="NEVER")]  # fmt: skip
    columns = assert_read_alike(ledger_of(invoices, payments, adjustments).view(ON))
    assert columns["ids"] == ["I1", "NEVER", "LATE"]
    assert columns["adj_invoice"].tolist() == [1]
    assert columns["alloc_invoice"].tolist() == [2, 0]
    assert columns["pay_invoice"].tolist() == [-1, 1, 2]


def test_many_names_not_in_the_view_grow_the_id_table():
    """More names outside the view than the id table has room for at first."""
    invoices = [Invoice(id=f"I{n}", customer="C", date=ON, amount=d("1")) for n in range(3)]  # fmt: skip
    payments = [
        Payment(
            id=f"P{n:03d}", customer="C", date=ON, amount=d("1"), invoice=f"X{n % 150}"
        )  # fmt: skip
        for n in range(400)
    ]
    columns = assert_read_alike(ledger_of(invoices, payments).view(ON))
    assert len(columns["ids"]) == 153
    assert columns["pay_invoice"].tolist()[:2] == [3, 4]


def test_customers_not_in_the_ledger_have_the_ledgers_defaults():
    """A customer the ledger does not know (the loader refuses one, the
    kernel does not): a code after the ledger's, the base currency, the
    default terms, no discount, no owner."""
    customers = (Customer(id="C", name="C", currency="EUR", terms=5, discount=Discount(percent=1, days=3)),)  # fmt: skip
    invoices = [
        Invoice(id="I1", customer="Z", date=ON, amount=d("5")),
        Invoice(id="I2", customer="C", date=ON, amount=d("5")),
    ]
    payments = [Payment(id="P1", customer="Y", date=ON, amount=d("5"))]
    columns = assert_read_alike(ledger_of(invoices, payments, customers=customers).view(ON))  # fmt: skip
    assert columns["customers"] == ["C", "Z", "Y"]
    assert columns["inv_customer"].tolist() == [1, 0]
    assert columns["currencies"] == ["EUR", "USD"]
    assert columns["inv_currency"].tolist() == [1, 0]
    assert columns["pay_currency"].tolist() == [1]
    assert columns["inv_due"].tolist() == [
        (ON + timedelta(days=30)).toordinal(),
        (ON + timedelta(days=5)).toordinal(),
    ]
    assert [i for i, _ in columns["discounted"]] == [1]


def test_instalments_in_the_order_written_and_the_due_of_a_schedule():
    """Instalments come as written (the replay sorts them); an invoice with a
    schedule and no due date is due with its last instalment
    (Ledger.due_of), one with a due date then."""
    schedule = (
        Instalment(due=ON + timedelta(days=60), amount=d("3.00")),
        Instalment(due=ON + timedelta(days=20), amount=d("2")),
    )
    invoices = [
        Invoice(id="I1", customer="C", date=ON, amount=d("5.00"), schedule=schedule),
        Invoice(id="I2", customer="C", date=ON, amount=d("5.00"), schedule=schedule,
                due=ON + timedelta(days=60)),
        Invoice(id="I3", customer="C", date=ON, amount=d("1")),
    ]  # fmt: skip
    columns = assert_read_alike(ledger_of(invoices).view(ON))
    assert columns["ins_invoice"].tolist() == [0, 0, 1, 1]
    days = [(ON + timedelta(days=n)).toordinal() for n in (60, 20, 60, 20)]
    assert columns["ins_due"].tolist() == days
    assert columns["ins_minor"].tolist() == [300, 200, 300, 200]
    assert columns["ins_exp"].tolist() == [-2, 0, -2, 0]
    assert columns["inv_due"].tolist()[:2] == [days[0], days[0]]


def test_discounts_the_invoices_own_else_its_customers():
    mine = Discount(percent=3, days=5)
    theirs = Discount(percent=2, days=10)
    customers = (
        Customer(id="C", name="C", discount=theirs),
        Customer(id="N", name="N"),
    )
    invoices = [
        Invoice(id="I1", customer="C", date=ON, amount=d("5"), discount=mine),
        Invoice(id="I2", customer="C", date=ON, amount=d("5")),
        Invoice(id="I3", customer="N", date=ON, amount=d("5")),
        Invoice(id="I4", customer="N", date=ON, amount=d("5"), discount=mine),
    ]
    ledger = ledger_of(invoices, customers=customers)
    columns = assert_read_alike(ledger.view(ON))
    found = columns["discounted"]
    assert [i for i, _ in found] == [0, 1, 3]
    assert [x for _, x in found] == [mine, theirs, mine]
    assert found[1][1] is ledger.customers["C"].discount


def test_owners_the_invoices_own_when_given_else_none():
    """A falsy owner of an invoice is none (the customer's is used then); a
    customer's owner is as written, "" too: it has a code."""
    customers = (Customer(id="C", name="C", owner=""), Customer(id="D", name="D", owner="ann"))  # fmt: skip
    invoices = [
        Invoice(id="I1", customer="C", date=ON, amount=d("5"), owner=""),
        Invoice(id="I2", customer="C", date=ON, amount=d("5"), owner="bob"),
        Invoice(id="I3", customer="D", date=ON, amount=d("5"), owner="ann"),
    ]
    ledger = ledger_of(invoices, customers=customers)
    tables = tables_of(ledger)
    assert tables["owners"] == {"": 0, "ann": 1}
    assert tables["customer_owner"].tolist() == [0, 1]
    columns = assert_read_alike(ledger.view(ON))
    assert columns["owners"] == ["", "ann", "bob"]
    assert columns["inv_owner"].tolist() == [-1, 2, 1]


def test_the_code_dicts_given_are_extended_in_place():
    invoices = [Invoice(id="I1", customer="Z", date=ON, amount=d("5"), currency="JPY", owner="x")]  # fmt: skip
    ledger = ledger_of(invoices)
    tables = tables_of(ledger)
    _settle.read(*in_order(ledger.view(ON)), tables)
    assert tables["customers"] == {"C": 0, "Z": 1}
    assert tables["currencies"] == {"USD": 0, "JPY": 1}
    assert tables["owners"] == {"x": 0}


# ------------------------------------------------------------------ refusals


def test_more_places_than_the_currency_has_are_refused_as_run_refuses_them():
    invoices = [Invoice(id="I1", customer="C", date=ON, amount=d("5.5"), currency="JPY")]  # fmt: skip
    with pytest.raises(ValueError, match="amount 5.5 has more decimal places than its currency's 0"):  # fmt: skip
        read_view(ledger_of(invoices).view(ON))


def test_what_read_refuses_and_that_it_lets_go_of_what_it_took():
    """Bad input fails with an error naming it, and every reference `read`
    took is released on the way out, as on success."""
    who = "".join(["Cu", "st"])  # not interned: only the records hold it
    part = Instalment(due=ON, amount=d("6.17"))
    invoices = [
        Invoice(id="I1", customer=who, date=ON, amount=d("12.34")),
        Invoice(
            id="I2", customer=who, date=ON, amount=d("12.34"), schedule=(part, part)
        ),
    ]
    payments = [Payment(id="P", customer=who, date=ON, amount=d("1"))]
    ledger = ledger_of(invoices, payments, customers=[Customer(id=who, name="C")])
    records = in_order(ledger.view(ON))
    first, second = records[0]
    # each fails on the second invoice, the first one read
    bad_date = [first, second.model_copy(update={"date": "2025-03-01"})]
    bad_due = [first, second.model_copy(update={"due": "soon", "schedule": None})]
    late = part.model_copy(update={"due": "soon"})
    bad_part = [first, second.model_copy(update={"schedule": (part, late)})]
    bad_places = [first, second.model_copy(update={"currency": "JPY"})]
    bad_kind = [
        Adjustment.model_construct(
            id="A", customer=who, date=ON, amount=second.amount, kind="gift",
            invoice=None, currency="USD",
        )
    ]  # fmt: skip
    bad_limit = [payments[0].model_copy(update={"allocations": {"I1": None}})]
    amount, customer = second.amount, second.customer
    counts = (sys.getrefcount(amount), sys.getrefcount(customer))

    def refused(
        error: type[Exception], match: str | None, *args: Any, **tables: Any
    ) -> None:
        given = args or records
        with pytest.raises(error, match=match):
            _settle.read(*given, {**tables_of(ledger), **tables})
        assert (sys.getrefcount(amount), sys.getrefcount(customer)) == counts

    rest = records[1:]
    refused(TypeError, "an invoice's date is a date", bad_date, *rest)
    refused(TypeError, "an invoice's due date is a date", bad_due, *rest)
    refused(TypeError, "an instalment's due date is a date", bad_part, *rest)
    refused(ValueError, "more decimal places than its currency's 0", bad_places, *rest)
    refused(ValueError, "of kind 'gift'", records[0], bad_kind, *records[2:])
    refused(ValueError, "an allocation has an amount", *records[:2], bad_limit, None)
    refused(TypeError, "refs: a list beside the payments", *records[:3], ["a", "b"])
    refused(TypeError, "terms: a buffer of 'i' items", terms=array("h", [1]))
    refused(TypeError, "list", customer_currency=[0])
    refused(ValueError, "customer_currency: a currency's code", customer_currency=array("h", [7]))  # fmt: skip
    refused(ValueError, "currencies: each code is its position", currencies={"USD": 1})
    refused(ValueError, "minor units", minor_units=lambda currency: -1)
    refused(ZeroDivisionError, None, currency_of=lambda record: 1 / 0)
    refused(ZeroDivisionError, None, minor_units=lambda currency: 1 / 0)
    tables = tables_of(ledger)
    del tables["base"]
    with pytest.raises(KeyError, match="read's tables lack base"):
        _settle.read(*records, tables)
    del tables  # its customers hold `customer`
    columns = _settle.read(*records, tables_of(ledger))
    assert sys.getrefcount(amount) == counts[0] + 1  # in inv_amounts
    del columns
    assert (sys.getrefcount(amount), sys.getrefcount(customer)) == counts


def test_settle_reads_columns_then_replays_them():
    """Step 5: settle.py calls `read`, then `run` on its columns (the offers
    computed in Python beside them); the kernel has no way left to replay
    records, `run` takes the columns and a context only."""
    import inspect

    from arledger import settle

    source = inspect.getsource(settle)
    assert "_settle.read(" in source and "_settle.run(" in source
    assert sorted(n for n in dir(_settle) if not n.startswith("_")) == [
        "Items",
        "SOURCE_SHA256",
        "read",
        "run",
    ]
    assert (_settle.run.__doc__ or "").startswith("run(columns, context, /)")
    with pytest.raises(TypeError, match="run"):  # the records' signature, gone
        _settle.run([], [], [], None, {})  # type: ignore[call-arg]
