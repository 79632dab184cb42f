"""Payment application: records as of a date -> items with open balances.

This is arledger's "realization" (SPEC §2): events are replayed in date order and
every payment and adjustment is applied to items; aging, overdue, risk and
statements all read its result, so they agree to the cent. Early-payment
discounts (SPEC §9) are given here too, by the application that earns them.
Pure: no I/O, no clock.

The engine is compiled (arledger/_settle.c) and works over columns, not
records (docs/columnar-kernel.md): `_settle.read` turns the sorted records into
columns of codes, day ordinals and integer minor units, `settle` adds the
early-payment offers, and `_settle.run` replays the columns. Its cost is
O(n log n) in the number of items: each customer keeps its open items in a heap
ordered by (due, issue date, invoice id, instalment), and a payment pops what
it pays instead of scanning the customer's whole list.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import compress, groupby, repeat
from operator import attrgetter
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar, cast

from arledger.bulk import Later
from arledger.ledger import LedgerView
from arledger.money import ZERO, minor_units, round_charge
from arledger.rows import ROWS

try:
    from arledger import _settle
except ImportError as exc:  # a checkout that was never built, or run beside one
    raise ImportError(
        "arledger's settlement kernel (arledger/_settle.c) is not built here: "
        "run `pip install -e .` in the checkout, or run arledger from elsewhere"
    ) from exc

if TYPE_CHECKING:
    from arledger.ledger import Ledger
    from arledger.model import Adjustment, Customer, Discount, Invoice, Payment

ApplicationKind = Literal["payment", "credit_note", "write_off", "discount"]

# The `ref` of an early-payment discount the engine gives (SPEC §9): no record
# stands behind it, so it has no id of its own. Settlement.discounts holds them.
EARLY_PAYMENT = "early payment"

# The result types are NamedTuples rather than frozen dataclasses: just as
# immutable, and three times cheaper to create, which counts at a million items.


class Item(NamedTuple):
    """An invoice, or one instalment of an invoice with a schedule, settled."""

    invoice: str
    instalment: int | None
    customer: str
    currency: str
    date: dt.date
    due: dt.date
    amount: Decimal
    open: Decimal
    disputed: bool
    owner: str | None

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.invoice, self.instalment)


class Application(NamedTuple):
    """Part of a payment or adjustment applied to an item, on a date."""

    invoice: str
    instalment: int | None
    customer: str
    currency: str
    kind: ApplicationKind
    ref: str  # the payment's or adjustment's id (a payment without one: FILE:LINE)
    date: dt.date  # when the cash met the item: never before either of them
    amount: Decimal
    due: dt.date  # the item's due date, so that how late it was paid is at hand
    issued: dt.date  # the item's date, so that how long it took is at hand


class Credit(NamedTuple):
    """Cash or credit not applied to any item as of the settlement date."""

    customer: str
    currency: str
    kind: ApplicationKind
    ref: str
    date: dt.date
    amount: Decimal
    waiting_for: str | None  # the invoice an allocation waits for, if any


class SettledItems(Later):
    """The items of a settlement as `_settle.run` leaves them (context
    "later"): a tuple made when first read (`bulk.Later`); until then `fold`
    sums them where the kernel keeps them, so that a report of open balances
    by account (`aging`) never makes one (95,000 at a million invoices)."""

    __slots__ = ("_kernel",)

    def __init__(self, kernel: Any) -> None:
        super().__init__(lambda: tuple(kernel.take()), len(kernel))
        self._kernel: Any = kernel  # `_settle.Items`

    def fold(
        self,
        accounts: Sequence[tuple[str, str]],
        group_of: Callable[[date, bool], int],
        count: int,
        key: Literal["due", "date"],
        least: bool,
    ) -> dict[tuple[str, str], tuple[Any, ...]] | None:
        """`Settlement.fold_open` by the kernel, of the items not made yet
        (`accounts`: the settlement's); None once they are made."""
        if self.made:
            return None
        folded = self._kernel.fold(group_of, count, key == "due", least)
        return {
            account: values
            for account, values in zip(accounts, folded, strict=True)
            if values is not None
        }


@dataclass(frozen=True)
class Settlement:
    """Every item of a view with its open balance, how it got there, and credits."""

    as_of: date
    # A tuple, or, as `settle` makes them, `SettledItems`: made when first read.
    items: Sequence[Item]
    applications: tuple[Application, ...]
    credits: tuple[Credit, ...]
    # False: made by `settle(view, history=False)`, for reports that read only
    # open balances; then `items` holds only open items and `applications` is
    # empty.
    history: bool = True
    # SPEC §9: the early-payment discounts the engine gave, in the order given
    # (each is in `applications` too, kind "discount", ref EARLY_PAYMENT). No
    # record stands behind them, so what replays the records (statements, the
    # journal, `rewind`) reads them from here. Empty without history.
    discounts: tuple[Application, ...] = ()
    # False: `items` holds only the open items (`settle(view, paid=False)`, or
    # without history), for reports that read the applications but only open
    # balances.
    paid: bool = True
    # Every (customer, currency) with an item, open or paid, in the order of
    # the items, as `settle` made them (None: not made by `settle`; read
    # through `item_accounts`).
    accounts: tuple[tuple[str, str], ...] | None = None

    def history_of(self) -> tuple[Application, ...]:
        """The applications, for reports that read them (collection, risk,
        statements): a settlement made without its history is refused rather
        than read as one where nothing was ever paid."""
        if not self.history:
            raise ValueError("settled with history=False: no applications kept")
        return self.applications

    @functools.cached_property
    def applications_by_customer(self) -> dict[str, list[Application]]:
        """The applications of each customer, in the order they were made
        (read by promises for the few customers who made one)."""
        found: dict[str, list[Application]] = {}
        for application in self.history_of():
            found.setdefault(application.customer, []).append(application)
        return found

    def item_accounts(self) -> tuple[tuple[str, str], ...]:
        """Every (customer, currency) with an item, open or paid, in the
        order of the items: an account whose items are all paid is one too,
        whether its items were kept or not."""
        if self.accounts is not None:
            return self.accounts
        if not self.paid:
            raise ValueError("settled without its paid items: their accounts unknown")
        customers, currencies = map(_customer, self.items), map(_currency, self.items)
        return tuple(dict.fromkeys(zip(customers, currencies, strict=True)))

    def fold_open(
        self,
        group_of: Callable[[date, bool], int],
        count: int,
        *,
        key: Literal["due", "date"] = "due",
        least: bool = False,
    ) -> dict[tuple[str, str], tuple[Any, ...]]:
        """The items with an open balance, by account and group, folded.

        `group_of(day, disputed)` gives the group of an item by its due date
        (`key` "due") or issue date ("date") and whether it is disputed: a
        number below `count`, or -1 for an item not counted; it is asked once
        per day and flag. Per (customer, currency) with an item counted, in
        the order of the items: a tuple of `count` values, the sum of the
        open balances of each group, or with `least` the earliest day of each
        (None where the group has none). Read by the kernel where the items
        are not made yet (`SettledItems`), else here: the same values.
        """
        items = self.items
        if isinstance(items, SettledItems) and self.accounts is not None:
            folded = items.fold(self.accounts, group_of, count, key, least)
            if folded is not None:
                return folded
        groups: dict[tuple[date, bool], int] = {}
        found: dict[tuple[str, str], list[Any]] = {}
        for item in items:
            if not item.open:
                continue
            day = item.due if key == "due" else item.date
            group = groups.get((day, item.disputed))
            if group is None:
                group = groups[day, item.disputed] = group_of(day, item.disputed)
                if not -1 <= group < count:
                    raise ValueError(f"group_of gave {group}, not -1 to {count - 1}")
            if group < 0:
                continue
            account = (item.customer, item.currency)
            values = found.get(account)
            if values is None:
                values = found[account] = [None] * count if least else [ZERO] * count
            if not least:
                values[group] += item.open
            elif values[group] is None or day < values[group]:
                values[group] = day
        return {account: tuple(values) for account, values in found.items()}

    def open_items(self) -> list[Item]:
        return [item for item in self.items if item.open]

    def unapplied(self) -> dict[tuple[str, str], Decimal]:
        """Unapplied cash per (customer, currency), as a positive amount."""
        totals: dict[tuple[str, str], Decimal] = {}
        for credit in self.credits:
            key = (credit.customer, credit.currency)
            totals[key] = totals.get(key, ZERO) + credit.amount
        return totals


# ---------------------------------------------------------------- the engine
#
# The engine is compiled (`arledger/_settle.c`, STYLE.md §12): it runs once per
# event of a ledger, two million at a million invoices, over amounts in integer
# minor units. `settle` below sorts the records in SPEC §2 order, has
# `_settle.read` make their columns, completes them (`complete_columns`) and
# has `_settle.run` replay them; the readable Python engine it is held to
# lives in tests/reference_settle.py, the oracle of tests/test_settle_oracle.py
# (and tests/reference_columns.py is `read`'s).


_new = tuple.__new__
_id = attrgetter("id")
_date = attrgetter("date")
_customer = attrgetter("customer")
_currency = attrgetter("currency")
_R = TypeVar("_R")


def _by_date_and(records: Iterable[_R], key: Callable[[_R], str]) -> list[_R]:
    """Records by date, then by `key` within each date.

    Sorting by date, then each day's records by key, costs a third of one sort
    on (date, key) pairs, a tuple made per record (at 1M invoices 0.16 s for
    0.55 s), in date order or not and whatever the ids look like.
    """
    ordered: list[_R] = []
    for _, day in groupby(sorted(records, key=_date), _date):
        ordered += sorted(day, key=key)
    return ordered


def discount_of(invoice: Invoice, customers: Mapping[str, Customer]) -> Discount | None:
    """An invoice's early-payment discount (现金折扣, SPEC §9): its own, else
    its customer's, else None."""
    if invoice.discount is not None:
        return invoice.discount
    customer = customers.get(invoice.customer)
    return customer.discount if customer is not None else None


def discount_threshold(amount: Decimal, discount: Discount, currency: str) -> Decimal:
    """What must be applied to an invoice within the window for its discount
    (SPEC §9): the amount less `percent` of it, that discount rounded half-up to
    the currency's minor unit once (as any computed charge is). So 2% of
    100.25 is 2.01 and paying 98.24 earns it: the customer who rounds the
    discount up is not a cent short."""
    return amount - round_charge(amount * discount.percent / 100, currency)


def payment_ref(payment: Payment) -> str:
    """A payment's id, or where it was written when it has none (SPEC §1)."""
    return payment.id if payment.id is not None else str(payment.source)


def tables_of(ledger: Ledger) -> dict[str, Any]:
    """What `_settle.read` is given of a ledger (docs/columnar-kernel.md
    §4.1), and each customer's owner code for `run` (§1.5): the
    customers coded in ledger order, their currencies and their owners (an
    owner as written: "" is one) coded as first met."""
    customers = list(ledger.customers.values())
    base = ledger.settings.currency
    currencies: dict[str, int] = {}
    owners: dict[str, int] = {}
    customer_currency = array("h")
    customer_owner = array("i")
    for c in customers:
        currency = c.currency or base
        customer_currency.append(currencies.setdefault(currency, len(currencies)))
        customer_owner.append(
            -1 if c.owner is None else owners.setdefault(c.owner, len(owners))
        )
    return {
        "customers": {c.id: n for n, c in enumerate(customers)},
        "currencies": currencies,
        "owners": owners,
        "customer_currency": customer_currency,
        "terms": array("i", [ledger.terms_of(c.id) for c in customers]),
        "customer_discount": [c.discount for c in customers],
        "customer_owner": customer_owner,
        "base": base,
        "default_terms": ledger.settings.terms.default,
        "currency_of": ledger.currency_of,
        "minor_units": minor_units,
        "rows": (ROWS["Invoice"], ROWS["Payment"], ROWS["Adjustment"]),
    }


def amount_words(values: Sequence[int], wide: bool) -> array[int]:
    """Minor units as an amount column (docs/columnar-kernel.md §1.6): one
    int64 each, or (`wide`) two, low word then high word."""
    if not wide:
        return array("q", values)
    words = array("q")
    for value in values:
        low = value & (2**64 - 1)
        words.append(low - 2**64 if low >= 2**63 else low)
        words.append(value >> 64)
    return words


_AMOUNT_COLUMNS = ("inv_minor", "ins_minor", "pay_minor", "adj_minor", "alloc_minor")


def offer_columns(
    invoices: Sequence[Any] | _CellInvoices, columns: dict[str, Any]
) -> dict[str, Any]:
    """The early-payment offers of the invoices `_settle.read` found
    discounted (SPEC §9, docs/columnar-kernel.md §1.3): `offer_invoice`,
    `offer_last_day` (the last day of the window) and `offer_threshold`
    (what must be applied by then, in minor units, as wide as the amounts;
    should one not fit in 64 bits, the amount columns of `columns` are made
    wide too)."""
    currencies, inv_currency = columns["currencies"], columns["inv_currency"]
    offer_invoice, last_day, thresholds = array("i"), array("i"), []
    for i, discount in columns["discounted"]:
        invoice = invoices[i]
        currency = currencies[inv_currency[i]]
        offer_invoice.append(i)
        last_day.append((invoice.date + timedelta(days=discount.days)).toordinal())
        threshold = discount_threshold(invoice.amount, discount, currency)
        thresholds.append(int(threshold.scaleb(minor_units(currency))))
    wide = columns["wide"]
    if not wide and any(not -(2**63) <= t < 2**63 for t in thresholds):
        wide = columns["wide"] = True
        for name in _AMOUNT_COLUMNS:
            columns[name] = amount_words(columns[name], True)
    return {
        "offer_invoice": offer_invoice,
        "offer_last_day": last_day,
        "offer_threshold": amount_words(thresholds, wide),
    }


def complete_columns(
    columns: dict[str, Any],
    invoices: Sequence[Invoice] | _CellInvoices,
    tables: dict[str, Any],
) -> None:
    """What `_settle.run` reads beside the columns `_settle.read`
    made: the early-payment offers, and each customer code's owner code (-1
    for the customers `read` met that the ledger does not know)."""
    columns.update(offer_columns(invoices, columns))
    customer_owner = tables["customer_owner"]
    customer_owner.extend([-1] * (len(columns["customers"]) - len(customer_owner)))
    columns["customer_owner"] = customer_owner


def replay_context(
    columns: dict[str, Any],
    tables: dict[str, Any],
    owner: str | None,
    *,
    history: bool,
    paid: bool,
    release: bool = False,
    later: bool = False,
) -> dict[str, Any]:
    """The context `_settle.run` replays `columns` in."""
    return {
        "history": history,
        "paid": paid,
        # Without its history the replay is split by account between two
        # threads, when two cores are ours (docs/columnar-kernel.md §4.4); the
        # result is the same however it is split.
        "lanes": 1 if history else lanes(),
        # -1: no filter; -2: an owner no record has, whose view is empty
        "owner": -1 if owner is None else tables["owners"].get(owner, -2),
        "wide": columns["wide"],
        "decimal": Decimal,
        "item": Item,
        "application": Application,
        "credit": Credit,
        "early_payment": EARLY_PAYMENT,
        # True: the columns go from `columns` as soon as the replay is done
        # with them, before the items are made (the peak of a settle)
        "release": release,
        # True: the items are made when first read (`SettledItems`)
        "later": later,
    }


def _columns_of_rows(view: LedgerView, tables: dict[str, Any]) -> dict[str, Any]:
    """The kernel's columns of a view's rows, sorted (SPEC §2), made whole."""
    by_ref = None in map(_id, view.payments)
    payments = _by_date_and(view.payments, payment_ref if by_ref else _id)
    invoices = _by_date_and(view.invoices, _id)
    columns = _settle.read(
        invoices,
        _by_date_and(view.adjustments, _id),
        payments,
        list(map(payment_ref, payments)) if by_ref else None,
        tables,
    )
    del payments
    complete_columns(columns, invoices, tables)
    return columns


@functools.cache
def lanes() -> int:
    """How many lanes a replay without its history takes: 2 when this
    process may run on two cores or more, else 1."""
    cores = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else (os.cpu_count() or 1)
    )
    return 2 if cores > 1 else 1


class Ahead(NamedTuple):
    """What a command will settle, known before its ledger is loaded: a
    settlement of the cells of every customer and currency as of `as_of`
    (`loader.load`'s `settle_ahead`)."""

    as_of: date
    owner: str | None
    history: bool
    paid: bool


class _Replayed(NamedTuple):
    """A settlement of cells (`_replay_cells`): what `_settle.run` gave, and
    what the columns told on the way."""

    run: tuple[Any, ...]
    currencies: frozenset[str]
    cash: dict[str, Any] | None


def begin_ahead(ledger: Ledger, cells: Any, asked: Ahead) -> Callable[[], None]:
    """What begins settling `cells` as `asked` (`Cells.make_ahead`), with
    the tables of `ledger` (its customers and settings: the loaded ledger's),
    while the loader's checks still run (`arrow_checks.why_not_clean`)."""

    def make() -> _Replayed:
        tables = tables_of(ledger)
        return _replay_cells(cells, asked, tables, clean=True)

    return functools.partial(cells.make_ahead, asked, make)


def _replay_cells(
    cells: Any, asked: Ahead, tables: dict[str, Any], *, clean: bool | None = None
) -> _Replayed:
    """The kernel's columns of a view whose bulk records are cells
    (arledger/bulk.py), as `_columns_of_rows` makes them of their rows
    (tests/test_arrow_columns.py), replayed; and, as they are at hand, the
    view's currencies (`LedgerView.currencies`) and, settled with `history`,
    the columns of its cash (`BulkView.cash`). `clean`: the files are taken
    as proved clean (None: as the cells say)."""
    from arledger.arrow_columns import kernel_columns, listed

    # (made ahead, the plain strings the checks share are let go once taken)
    columns = kernel_columns(cells, asked.as_of, tables, clean=clean, forget=not clean)
    complete_columns(columns, _CellInvoices(columns), tables)
    names = columns["currencies"]
    codes = set(columns["inv_currency"])
    codes.update(columns["pay_currency"], columns["adj_currency"])
    currencies = frozenset(names[code] for code in codes)
    cash = None
    if asked.history:  # copied: the replay lets go of the columns
        cash = {name: columns[name][:] for name in _CASH}
        # The refs as strings: the applications show every one, and share
        # them with the cash.
        columns["refs"] = listed(columns["refs"])
        cash.update(
            refs=columns["refs"],
            customers=columns["customers"],
            currencies=columns["currencies"],
            wide=columns["wide"],
        )
    return _Replayed(_replay(columns, tables, asked), currencies, cash)


def _replay(columns: dict[str, Any], tables: dict[str, Any], asked: Ahead) -> Any:
    """`_settle.run` of the columns as `asked`, each column let go once it is
    replayed. An owner's view settles with its items paid in full: its
    applications are picked by the items kept (`settle`)."""
    context = replay_context(
        columns,
        tables,
        asked.owner,
        history=asked.history,
        paid=asked.paid or asked.owner is not None,
        release=True,
        later=True,
    )
    return _settle.run(columns, context)


# The kernel's columns of a view's cash, kept by a settlement with its
# history (`BulkView.cash`): when payments came in (`collection`), and the
# cash `rewind_each` reads (`_cash_of_cells`); at 1M 20 MB kept, where
# making the columns again took 400 MB for a while.
_CASH = tuple(
    f"{kind}_{name}"
    for kind in ("pay", "adj")
    for name in ("date", "customer", "currency", "minor", "exp")
) + ("adj_kind",)


class _CellInvoices:
    """The date and amount of an invoice of columns made from cells, by its
    place, for `offer_columns` (which asks only of discounted ones)."""

    def __init__(self, columns: dict[str, Any]) -> None:
        self.columns = columns

    def __getitem__(self, i: int) -> Any:
        columns = self.columns
        currency = columns["currencies"][columns["inv_currency"][i]]
        if columns["wide"]:
            low, high = columns["inv_minor"][2 * i : 2 * i + 2]
            minor = (high << 64) | (low & (2**64 - 1))
        else:
            minor = columns["inv_minor"][i]
        return SimpleNamespace(
            date=date.fromordinal(columns["inv_date"][i]),
            amount=Decimal(minor).scaleb(-minor_units(currency)),
        )


def settle(view: LedgerView, *, history: bool = True, paid: bool = True) -> Settlement:
    """Apply every payment and adjustment of a view to its items (SPEC §2).

    Events are replayed in date order (on one date invoices, then adjustments,
    then payments; then by id). A payment or adjustment pays what it names
    (each allocation up to its amount, an invoice's instalments in due order),
    then the open, undisputed items of its customer and currency oldest due
    first (due date, issue date, id, instalment); what is left is credit,
    applied to the next invoice issued. An allocation to an invoice not issued
    yet waits for it. An early-payment discount, once earned, closes the rest
    of its invoice (SPEC §9).

    The kernel never sees a record: the view's records, sorted, become columns
    (`_settle.read`, with the ledger's tables of `tables_of`; or, of records
    kept as cells, `arrow_columns.kernel_columns`), the offers and owners are
    added (`complete_columns`), and `_settle.run` replays them, letting each
    column go once it is done with it. Of cells, that may have been done
    while the ledger was loaded (`Ahead`).

    Args:
        view: the ledger as of a date, filtered.
        history: False for reports that read only open balances (aging,
            overdue): items paid in full and the applications are then not kept,
            two million objects fewer at a million invoices. Open balances and
            credits are the same either way.
        paid: False for reports that read the applications but no item paid
            in full (lint, overdue, forecast, dunning, risk, and collection
            unless it groups by customer or owner): `items` then
            holds only the open items, a million objects fewer at a million
            invoices; the applications, credits, discounts and `accounts` are
            the same either way.

    Returns:
        Every item with its open balance, every application, and the credits left
        unapplied. With an `owner` filter, only that owner's items (and the
        credits of customers it owns) are kept; cash is applied first. Amounts
        the engine computes carry the currency's minor unit (`0.00`, `12.30`);
        those it passes on are the records' own.
    """
    asked = Ahead(view.as_of, view.owner, history, paid)
    if view.bulk is not None and view.bulk.ready:
        cells = view.bulk.bulk.files  # made by the loader, the rules' results kept
        assert cells is not None
        # Made while the loader's checks ran, if this was asked for then.
        made = cells.ahead(asked)
        if made is None:
            made = _replay_cells(cells, asked, tables_of(view.ledger))
        view.bulk.currencies = made.currencies
        if history:
            view.bulk.cash = made.cash
        kernel, applications, credits, discounts, accounts = made.run
        del made
    else:
        tables = tables_of(view.ledger)
        columns = _columns_of_rows(view, tables)
        kernel, applications, credits, discounts, accounts = _replay(
            columns, tables, asked
        )
        del columns, tables
    items: Sequence[Item] = SettledItems(kernel)
    del kernel
    if view.owner is not None:
        kept = {item.invoice for item in items}
        applications = [a for a in applications if a.invoice in kept]
        discounts = [a for a in discounts if a.invoice in kept]
        if not paid:
            items = tuple(item for item in items if item.open)
    return Settlement(
        view.as_of,
        items,
        tuple(applications),
        tuple(credits),
        history,
        tuple(discounts),
        paid=history and paid,
        accounts=tuple(accounts),
    )


def rewind(settlement: Settlement, view: LedgerView, day: date) -> Settlement:
    """The open items and unapplied cash as they stood on an earlier `day`,
    read from a settlement's history instead of settling the ledger again.

    SPEC §2 applies payments in date order so that a report as of a past date
    never changes when later records are added: what was applied by `day` is
    exactly the applications dated on or before it. So an item open on `day`
    is one issued by then, less its applications dated by then; and a
    customer's unapplied cash of a kind on `day` is what it paid (or was
    credited, or written off) by then, less what of that was applied by then.
    A property test holds it to `settle` as of each day; `rewind_each` reads
    several days in one pass.

    Args:
        settlement: `settle(view)` with its history and its items paid in
            full, and no owner filter (an owner's view drops the applications
            to other owners' items, which the unapplied cash needs).
        view: the view it was settled from.
        day: on or before the settlement's date.

    Returns:
        A settlement without history: the items open on `day` (in the
        settlement's order), and one credit per customer, currency and kind
        holding its unapplied total (ref `"as of DAY"`, dated `day`).
    """
    return next(rewind_each(settlement, view, (day,)))


def rewind_each(
    settlement: Settlement, view: LedgerView, days: Sequence[date]
) -> Iterator[Settlement]:
    """`rewind(settlement, view, day)` for each of `days`, in one pass.

    Each application, record and item is put once in the interval of `days`
    it falls in (a binary search), and the intervals are walked in order,
    accumulating: the cost is one reading of the history and, per day, its
    open items, not one reading of the history per day (the workbook's trend
    reads twelve month ends).

    Args:
        settlement, view: as for `rewind`.
        days: ascending, each on or before the settlement's date.

    Returns:
        One settlement per day, in the order of `days`, each made when the
        pass reaches its day (a reader that keeps only the one it reads keeps
        one day's open items in memory, not all the days').

    Raises:
        ValueError: at once, when `rewind` would for one of the days.
    """
    if view.owner is not None:
        raise ValueError("rewind needs a settlement without an owner filter")
    days = tuple(days)
    if list(days) != sorted(days):
        raise ValueError("rewind_each needs its days in ascending order")
    settlement.history_of()  # refused without history
    if not settlement.paid:
        raise ValueError("rewind needs the items paid in full too (paid=True)")
    if days and days[-1] > settlement.as_of:
        raise ValueError(f"cannot rewind to {days[-1]}, after {settlement.as_of}")
    return _rewind_each(settlement, view, days)


class _Cash(NamedTuple):
    """What `rewind` reads of a payment or an adjustment."""

    date: date
    customer: str
    currency: str
    kind: ApplicationKind
    amount: Decimal


def _cash_of_cells(
    view: LedgerView, days: Sequence[date]
) -> tuple[list[_Cash], list[_Cash]] | None:
    """The payments and adjustments of a view settled from cells with its
    history, as `rewind_each` reads them for `days`, from the kernel's
    columns its settlement kept (`BulkView.cash`): added up by
    account and kind in each interval of `days` (up to days[0], days[0] to
    days[1], ...; those after the last day left out), each sum a `_Cash`
    dated its interval's day. Where every amount is written with its
    currency's places, a sum of their minor units is the sum of their
    Decimals, exactly and with the same exponent, and a million records add
    up to a few thousand sums. None for any other view or ledger (amounts
    written otherwise, or too wide for one word): then the rows are read."""
    bulk = view.bulk
    columns = bulk.cash if bulk is not None and bulk.ready else None
    if columns is None or columns["wide"]:
        return None
    from arledger.arrow_columns import ADJUSTMENT_KINDS

    customers, currencies = columns["customers"], columns["currencies"]
    places = [-minor_units(currency) for currency in currencies]
    bounds = [day.toordinal() for day in days]
    found: list[list[_Cash]] = []
    for prefix, kinds in (("pay", repeat(-1)), ("adj", columns["adj_kind"])):
        codes, exps = columns[f"{prefix}_currency"], columns[f"{prefix}_exp"]
        if any(exp != places[code] for code, exp in set(zip(codes, exps, strict=True))):
            return None  # an amount written with other places than its currency's
        minors = columns[f"{prefix}_minor"]
        if sum(map(abs, minors)) >= 10**27:
            return None  # sums that might be rounded (28 digits)
        sums: dict[tuple[int, int, int, int], int] = {}
        at = map(bisect_left, repeat(bounds), columns[f"{prefix}_date"])
        for key, minor in zip(
            zip(at, columns[f"{prefix}_customer"], codes, kinds, strict=False),
            minors,
            strict=True,
        ):
            sums[key] = sums.get(key, 0) + minor
        found.append(
            [
                _Cash(
                    days[interval],
                    customers[customer],
                    currencies[code],
                    cast("ApplicationKind", ADJUSTMENT_KINDS[kind])
                    if kind >= 0
                    else "payment",
                    Decimal(total).scaleb(places[code]),
                )
                for (interval, customer, code, kind), total in sums.items()
                if interval < len(days)
            ]
        )
    return found[0], found[1]


def key_of(item: Item | Application) -> Hashable:
    """The item an item or application is of, as a dictionary key: its
    invoice, or (invoice, instalment) for an instalment. Lighter than
    `Item.key` where a million are held: no tuple for an invoice."""
    return item.invoice if item.instalment is None else item[:2]


def _rewind_each(
    settlement: Settlement, view: LedgerView, days: tuple[date, ...]
) -> Iterator[Settlement]:
    """`rewind_each`, its arguments checked."""
    if not days:
        return
    invoice_of = attrgetter("invoice")

    def cut(records: Sequence[_R], dates: Sequence[date]) -> list[Sequence[_R]]:
        """Records in date order cut into intervals (up to days[0], days[0] to
        days[1], ...); those after the last day are left out."""
        bounds = [0, *(bisect_right(dates, day) for day in days)]
        return [records[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]

    def by_interval(records: Iterable[_R]) -> list[Sequence[_R]]:
        """The records of each interval: one sort and a binary search per day,
        in C, rather than a search per record."""
        ordered = sorted(records, key=_date)
        return cut(ordered, list(map(_date, ordered)))

    applications = sorted(settlement.applications, key=_date)
    applied_dates = list(map(_date, applications))
    applied_in = cut(applications, applied_dates)
    # An early-payment discount closes an item without taking anyone's cash
    # (SPEC §9): what it applied is given back to the unapplied total.
    given_in = by_interval(settlement.discounts)
    of_cells = _cash_of_cells(view, days)  # settled from cells: no rows
    paid: Sequence[Payment | _Cash] = view.payments
    adjusted: Sequence[Adjustment | _Cash] = view.adjustments
    if of_cells is not None:
        paid, adjusted = of_cells
    paid_in = by_interval(paid)
    adjusted_in = by_interval(adjusted)
    del of_cells, paid, adjusted

    items = settlement.items
    # Only the items open on one of the days are walked: those open now, and
    # those applied to after the first day. Any other was paid in full by the
    # first day (an application is never before its item, SPEC §2): it is open
    # on none, and at a million items most are. Told apart by invoice, in C.
    walked = {
        *map(invoice_of, applications[bisect_right(applied_dates, days[0]) :]),
        *map(invoice_of, compress(items, map(attrgetter("open"), items))),
    }
    issued_on = list(map(_date, items))
    indexes = list(
        compress(range(len(items)), map(walked.__contains__, map(invoice_of, items)))
    )
    indexes.sort(key=issued_on.__getitem__)
    issued_in = cut(indexes, list(map(issued_on.__getitem__, indexes)))

    currency_of = view.ledger.currency_of
    # Walk the intervals in order. An item is keyed by its invoice, or by
    # (invoice, instalment) for an instalment: a million items need no million
    # tuples. An application's fields 2 to 4 are its account and kind
    # (customer, currency, kind).
    unapplied: dict[tuple[str, str, ApplicationKind], Decimal] = {}
    # The items issued and not yet paid in full, by key: an application is
    # never to an item not issued yet (SPEC §2) nor beyond what is left of
    # one, so one paid in full is let go.
    index_of: dict[Hashable, int] = {}
    still: dict[int, Decimal] = {}  # what is left of each of them, by index
    # Each of them as the last day read it (the item itself when what is left
    # is its open balance, else a copy): made again only when what is left
    # has changed since, and never for one paid before a day reads it.
    made: dict[int, Item] = {}
    changed: set[int] = set()
    for at, day in enumerate(days):
        for index in issued_in[at]:
            item = items[index]
            index_of[key_of(item)] = index
            # Nothing is applied to an item before its date (SPEC §2), so
            # nothing before its interval: all of it is left.
            if item.amount:
                still[index] = item.amount
                changed.add(index)
        applied = applied_in[at]
        for application in applied:
            cash = application[2:5]
            unapplied[cash] = unapplied.get(cash, ZERO) - application.amount
        for application in compress(
            applied, map(walked.__contains__, map(invoice_of, applied))
        ):
            key = key_of(application)
            issued = index_of.get(key)
            if issued is None:
                continue
            left = still.get(issued, ZERO) - application.amount
            if left:
                still[issued] = left
                changed.add(issued)
            else:
                still.pop(issued, None)
                made.pop(issued, None)
                del index_of[key]
        for application in given_in[at]:
            unapplied[application[2:5]] += application.amount
        for payment in paid_in[at]:
            currency = payment.currency or currency_of(payment)
            cash = (payment.customer, currency, "payment")
            unapplied[cash] = unapplied.get(cash, ZERO) + payment.amount
        for adjustment in adjusted_in[at]:
            currency = adjustment.currency or currency_of(adjustment)
            cash = (adjustment.customer, currency, adjustment.kind)
            unapplied[cash] = unapplied.get(cash, ZERO) + adjustment.amount
        issued_in[at] = applied_in[at] = ()  # let go as the walk goes on
        for index in changed:
            standing = still.get(index)
            if standing is not None:
                item = items[index]
                made[index] = (
                    item
                    if standing == item.open
                    else _new(Item, (*item[:7], standing, *item[8:]))
                )
        changed.clear()
        label = f"as of {day.isoformat()}"
        # Most accounts have nothing unapplied: those are left out (in C)
        # before the others are sorted.
        credits = tuple(
            Credit(customer, currency, kind, label, day, amount, None)
            for (customer, currency, kind), amount in sorted(
                compress(unapplied.items(), unapplied.values())
            )
        )
        yield Settlement(
            day,
            tuple(map(made.__getitem__, sorted(still))),
            (),
            credits,
            history=False,
            paid=False,
        )
