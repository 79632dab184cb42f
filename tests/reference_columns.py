"""The readable reference of `_settle.read`: a view's records as columns.

docs/columnar-kernel.md §1 and §4.1: the settlement kernel will replay
columns of integers instead of records. `_settle.read` (arledger/_settle.c)
turns the sorted records of a view into those columns in C;
`reference_columns` below does the same plainly, record by record, asking
the Ledger its own rules (`Ledger.currency_of`, `due_of`, `terms_of`,
`customer_currency`, `settle.discount_of`, `settle.payment_ref`), so that
tests/test_kernel_read.py can hold the kernel to it column by column. The
stage-3 arrow path (columns from pyarrow arrays) will be held to it too.

Codes: a customer, currency or owner is its position in the dicts of
`tables_of` (the ledger's customers, their currencies, their owners), values
met in the records being added after them in the order met: the invoices,
then the adjustments, then the payments, each in the order given. An invoice
is its index in `ids`: the view's invoices in order, then each id a record
names that is not among them, in the order named.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from arledger.arrow_columns import ADJUSTMENT_KINDS, COLUMNS, DISPUTED
from arledger.ledger import Ledger, LedgerView
from arledger.money import minor_units
from arledger.rows import ROWS
from arledger.settle import discount_of, payment_ref

# The kernel's columns and their array types, as the arrow resolution names
# them (the layout, not the values, which this module resolves on its own).
AMOUNTS = ("inv_minor", "ins_minor", "pay_minor", "adj_minor", "alloc_minor")


def tables_of(ledger: Ledger) -> dict[str, Any]:
    """What `_settle.read` is given of a ledger (§4.1): codes for its
    customers, their currencies and their owners (an owner as written: ""
    is one), and per customer code its currency's code, its terms and its
    discount; and what stays a value or a callback."""
    customers = list(ledger.customers.values())
    currencies: dict[str, int] = {}
    owners: dict[str, int] = {}
    for customer in customers:
        code(currencies, ledger.customer_currency(customer.id))
        if customer.owner is not None:
            code(owners, customer.owner)
    return {
        "customers": {c.id: n for n, c in enumerate(customers)},
        "currencies": currencies,
        "owners": owners,
        "customer_currency": array(
            "h", [currencies[ledger.customer_currency(c.id)] for c in customers]
        ),
        "terms": array("i", [ledger.terms_of(c.id) for c in customers]),
        "customer_discount": [c.discount for c in customers],
        # read by settle.py's replay, not by `read`
        "customer_owner": array(
            "i", [-1 if c.owner is None else owners[c.owner] for c in customers]
        ),
        "base": ledger.settings.currency,
        "default_terms": ledger.settings.terms.default,
        "currency_of": ledger.currency_of,
        "minor_units": minor_units,
        "rows": (ROWS["Invoice"], ROWS["Payment"], ROWS["Adjustment"]),
    }


def in_order(
    view: LedgerView,
) -> tuple[list[Any], list[Any], list[Any], list[str] | None]:
    """The records of a view as `settle` gives them to the kernel (SPEC §2):
    each kind by date, then by id; payments by their refs once one has no
    id, and then the refs beside them (else None: their ids are the refs)."""
    by_ref = any(p.id is None for p in view.payments)
    payments = sorted(
        view.payments, key=lambda p: (p.date, payment_ref(p) if by_ref else p.id)
    )
    return (
        sorted(view.invoices, key=lambda i: (i.date, i.id)),
        sorted(view.adjustments, key=lambda a: (a.date, a.id)),
        payments,
        [payment_ref(p) for p in payments] if by_ref else None,
    )


def code(codes: dict[Any, int], value: Any) -> int:
    """The code of `value`, the next one when it is new."""
    return codes.setdefault(value, len(codes))


def minor_and_exponent(amount: Decimal, currency: str) -> tuple[int, int]:
    """An amount in minor units of its currency, exact, and the exponent it
    is written with (0 for 30, -2 for 30.00)."""
    minor = amount.scaleb(minor_units(currency))
    if minor != minor.to_integral_value():
        raise ValueError(
            f"amount {amount} has more decimal places than its currency's "
            f"{minor_units(currency)}"
        )
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    return int(minor), exponent


def amount_of(minor: int, exponent: int, currency: str) -> Decimal:
    """The record's own Decimal again, from its columns (§1.6): the
    coefficient `minor` x 10^(-places - exponent) written with `exponent`
    ("3000E-2" is 30.00, "30E0" is 30)."""
    shift = -minor_units(currency) - exponent
    if shift >= 0:
        coefficient = minor * 10**shift
    else:
        coefficient, rest = divmod(minor, 10**-shift)
        assert rest == 0, (minor, exponent, currency)
    return Decimal(f"{coefficient}E{exponent}")


def words(minors: Sequence[int], wide: bool) -> array:
    """An amount column: one int64 an amount, or two (low, high)."""
    if not wide:
        return array("q", minors)
    out = array("q")
    for minor in minors:
        low = minor & (2**64 - 1)
        out += array("q", [low - 2**64 if low >= 2**63 else low, minor >> 64])
    return out


def reference_columns(
    ledger: Ledger,
    invoices: Sequence[Any],
    adjustments: Sequence[Any],
    payments: Sequence[Any],
    refs: list[str] | None,
    tables: dict[str, Any],
) -> dict[str, Any]:
    """What `_settle.read(invoices, adjustments, payments, refs, tables)`
    gives, the Ledger deciding every value. Extends the code dicts of
    `tables` as `read` does."""
    customers, currencies, owners = (
        tables["customers"],
        tables["currencies"],
        tables["owners"],
    )
    columns: dict[str, list[int]] = {name: [] for name in COLUMNS}
    lists: dict[str, list[Any]] = {
        "ids": [],
        "refs": [],
        "adj_ids": [],
        "inv_amounts": [],
        "ins_amounts": [],
        "pay_amounts": [],
        "adj_amounts": [],
        "alloc_amounts": [],
        "discounted": [],
    }
    ids = lists["ids"]
    index: dict[str, int] = {}  # invoice id -> its index; the last of equal ids

    def named(invoice_id: str) -> int:
        """The index of an invoice a record names; one not in the view is
        added after the view's invoices."""
        if invoice_id not in index:
            index[invoice_id] = len(ids)
            ids.append(invoice_id)
        return index[invoice_id]

    def amount(prefix: str, value: Decimal, currency: str) -> None:
        minor, exponent = minor_and_exponent(value, currency)
        columns[f"{prefix}_minor"].append(minor)
        columns[f"{prefix}_exp"].append(exponent)
        lists[f"{prefix}_amounts"].append(value)

    for n, invoice in enumerate(invoices):
        ids.append(invoice.id)
        index[invoice.id] = n
        currency = ledger.currency_of(invoice)
        columns["inv_date"].append(invoice.date.toordinal())
        columns["inv_customer"].append(code(customers, invoice.customer))
        columns["inv_currency"].append(code(currencies, currency))
        amount("inv", invoice.amount, currency)
        columns["inv_flags"].append(DISPUTED if invoice.disputed else 0)
        for instalment in invoice.schedule or ():
            columns["ins_invoice"].append(n)
            columns["ins_due"].append(instalment.due.toordinal())
            amount("ins", instalment.amount, currency)
        columns["inv_due"].append(ledger.due_of(invoice).toordinal())
        owned = -1 if not invoice.owner else code(owners, invoice.owner)
        columns["inv_owner"].append(owned)
        discount = discount_of(invoice, ledger.customers)
        if discount is not None:
            lists["discounted"].append((n, discount))

    def received(prefix: str, record: Any) -> str:
        currency = ledger.currency_of(record)
        columns[f"{prefix}_date"].append(record.date.toordinal())
        columns[f"{prefix}_customer"].append(code(customers, record.customer))
        columns[f"{prefix}_currency"].append(code(currencies, currency))
        amount(prefix, record.amount, currency)
        return currency

    for adjustment in adjustments:
        lists["adj_ids"].append(adjustment.id)
        columns["adj_kind"].append(ADJUSTMENT_KINDS.index(adjustment.kind))
        received("adj", adjustment)
        named_one = named(adjustment.invoice) if adjustment.invoice else -1
        columns["adj_invoice"].append(named_one)

    for n, payment in enumerate(payments):
        lists["refs"].append(payment_ref(payment))
        currency = received("pay", payment)
        if payment.allocations:  # they replace the invoice it names
            columns["pay_invoice"].append(-1)
            for invoice_id, limit in payment.targets().items():
                columns["alloc_payment"].append(n)
                columns["alloc_invoice"].append(named(invoice_id))
                amount("alloc", limit, currency)
        else:
            columns["pay_invoice"].append(
                named(payment.invoice) if payment.invoice else -1
            )

    columns["minor_units"] = [minor_units(c) for c in currencies]
    wide = any(not -(2**63) <= m < 2**63 for name in AMOUNTS for m in columns[name])
    result: dict[str, Any] = {
        name: words(values, wide) if name in AMOUNTS else array(COLUMNS[name], values)
        for name, values in columns.items()
    }
    if refs is not None:
        assert refs == lists["refs"], "the refs given are the payments' refs"
    result.update(lists)
    result.update(
        customers=list(customers),
        currencies=list(currencies),
        owners=list(owners),
        wide=wide,
    )
    return result
