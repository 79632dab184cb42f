"""The Ledger: every valid record plus indexes, and the filtered view reports use.

Filters are applied once, in `Ledger.view`; reports never filter again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import compress, repeat
from operator import attrgetter, le, not_
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arledger.rows import ADJUSTMENT, INVOICE, PAYMENT, PLAN

if TYPE_CHECKING:  # a ledger holds rows (rows.py) or, made by hand, models
    from arledger.bulk import Bulk, Later
    from arledger.model import (
        Adjustment,
        Confirmation,
        Contact,
        Customer,
        Invoice,
        Payment,
        Plan,
        Settings,
    )

_currency = attrgetter("currency")
_date, _customer = attrgetter("date"), attrgetter("customer")


@dataclass(frozen=True)
class Ledger:
    """Every record of a ledger directory that validated, indexed by id."""

    root: Path
    settings: Settings
    customers: dict[str, Customer]
    invoices: Mapping[str, Invoice]
    payments: Sequence[Payment]
    adjustments: Sequence[Adjustment]
    contacts: tuple[Contact, ...]
    plans: tuple[Plan, ...] = ()
    confirmations: tuple[Confirmation, ...] = ()
    files: tuple[Path, ...] = ()
    _currency_cache: dict[int, str] = field(
        default_factory=dict, repr=False, compare=False
    )
    # The invoices, payments and adjustments as cells, while their rows are
    # not made (arledger/bulk.py): then `invoices`, `payments` and
    # `adjustments` make them when read, and a view settles from the cells.
    bulk: Bulk | None = field(default=None, repr=False, compare=False)

    def counts(self) -> dict[str, int]:
        """How many records of each kind, for `arledger check`."""
        return {
            "customers": len(self.customers),
            "invoices": len(self.invoices),
            "payments": len(self.payments),
            "adjustments": len(self.adjustments),
            "contacts": len(self.contacts),
            "plans": len(self.plans),
            "confirmations": len(self.confirmations),
        }

    # -- defaults that depend on other records (SPEC §1)

    def terms_of(self, customer_id: str) -> int:
        customer = self.customers.get(customer_id)
        if customer is not None and customer.terms is not None:
            return customer.terms
        return self.settings.terms.default

    def customer_currency(self, customer_id: str) -> str:
        customer = self.customers.get(customer_id)
        if customer is not None and customer.currency:
            return customer.currency
        return self.settings.currency

    def due_of(self, invoice: Invoice) -> date:
        """The due date: given, else the last instalment's, else date + terms."""
        if invoice.due is not None:
            return invoice.due
        if invoice.schedule:
            return max(i.due for i in invoice.schedule)
        return invoice.date + timedelta(days=self.terms_of(invoice.customer))

    def owner_of(self, invoice: Invoice) -> str | None:
        if invoice.owner:
            return invoice.owner
        customer = self.customers.get(invoice.customer)
        return customer.owner if customer is not None else None

    def currency_of(self, record: Any) -> str:
        """The currency of any record, from its own field or its defaults.

        A payment or adjustment without one takes the currency of the invoices it
        names, else its customer's; an invoice takes its customer's; the customer's
        default is the ledger's base currency.
        """
        given = getattr(record, "currency", None)
        if given:
            return given
        cached = self._currency_cache.get(id(record))
        if cached is not None:
            return cached
        if isinstance(record, INVOICE):
            currency = self.customer_currency(record.customer)
            self._currency_cache[id(record)] = currency
            return currency
        named: set[str] = set()
        if isinstance(record, PAYMENT):
            targets = record.targets()
        elif isinstance(record, ADJUSTMENT) and record.invoice:
            targets = {record.invoice: None}
        elif isinstance(record, PLAN):
            targets = dict.fromkeys(record.invoices or ())
        else:
            targets = {}
        for invoice_id in targets:
            invoice = self.invoices.get(invoice_id)
            if invoice is not None and invoice.customer == record.customer:
                named.add(self.currency_of(invoice))
        currency = (
            named.pop() if len(named) == 1 else self.customer_currency(record.customer)
        )
        self._currency_cache[id(record)] = currency
        return currency

    def currencies_of(self, records: Sequence[Any]) -> set[str]:
        """`{self.currency_of(r) for r in records}`, without asking about
        every record (a million of them: 0.1 s). `currency_of` decides, asked
        about one record for each currency records give themselves (a record's
        own currency is its currency), one invoice for each customer among
        those that give none (theirs is their customer's), and each other
        record that gives none (its currency depends on what it names).
        tests/test_currencies.py holds it to the set.
        """
        currency_of = self.currency_of
        given = list(map(_currency, records))  # in C, as the searches below
        distinct = set(given)
        found = {currency_of(records[given.index(g)]) for g in distinct if g}
        if all(distinct):
            return found
        invoice_of: dict[str, Any] = {}
        for record in compress(records, map(not_, given)):
            if isinstance(record, INVOICE):
                invoice_of[record.customer] = record
            else:
                found.add(currency_of(record))
        found.update(map(currency_of, invoice_of.values()))
        return found

    # -- the filtered view

    def view(
        self,
        as_of: date,
        *,
        customers: Collection[str] | None = None,
        owner: str | None = None,
        currency: str | None = None,
    ) -> LedgerView:
        """The records that exist on `as_of` (dated on or before it), filtered.

        Args:
            as_of: records dated after it do not exist yet.
            customers: keep only these customer ids (None: all).
            owner: keep only items whose owner (the invoice's, else the
                customer's) is this one; applied to settled items, because cash
                is applied across a customer's invoices whatever their owner.
            currency: keep only records in this currency.
        """
        wanted = set(customers) if customers else None
        bulk = self.bulk
        cells = None
        invoices: Sequence[Invoice]
        payments: Sequence[Payment]
        adjustments: Sequence[Adjustment]
        if bulk is not None and not bulk.made:
            # The rows of the customers wanted (`Bulk.some`), or of every one.
            invoices, payments, adjustments = self._later(bulk, as_of, wanted, currency)
            if wanted is None and currency is None:
                cells = BulkView(bulk)  # settled from the cells
        else:
            invoices, payments, adjustments = (
                self._kept(records, as_of, wanted, currency)
                for records in (self.invoices.values(), self.payments, self.adjustments)
            )
        return LedgerView(
            ledger=self,
            as_of=as_of,
            owner=owner,
            currency=currency,
            customers=wanted,
            invoices=invoices,
            payments=payments,
            adjustments=adjustments,
            contacts=self._kept(self.contacts, as_of, wanted, None),
            plans=self._kept(self.plans, as_of, wanted, currency),
            confirmations=self._kept(self.confirmations, as_of, wanted, currency),
            bulk=cells,
        )

    def _kept(
        self,
        records: Collection[Any],
        as_of: date,
        wanted: set[str] | None,
        currency: str | None,
    ) -> tuple[Any, ...]:
        """The records dated on or before `as_of`, of the customers and the
        currency wanted (None: any): each filter one pass, in C but the last."""
        if wanted is not None:
            mine = map(wanted.__contains__, map(_customer, records))
            records = list(compress(records, mine))
        found: Iterable[Any] = compress(
            records, map(le, map(_date, records), repeat(as_of))
        )
        if currency is not None:
            found = [r for r in found if self.currency_of(r) == currency]
        return tuple(found)

    def _later(
        self,
        bulk: Bulk,
        as_of: date,
        wanted: set[str] | None,
        currency: str | None,
    ) -> tuple[Later, Later, Later]:
        """A view's invoices, payments and adjustments while the ledger's
        are cells: kept by `_kept` from their rows, made when first read;
        for some customers, from the rows of those customers alone. (The
        other kinds are rows already, and name no invoice: `loader._defer`.)"""
        from arledger.bulk import Later

        def kept(records: Callable[[], Collection[Any]]) -> Later:
            return Later(lambda: self._kept(records(), as_of, wanted, currency))

        if wanted is not None:
            return (
                kept(lambda: bulk.some("customer", wanted)[0].values()),
                kept(lambda: bulk.some("customer", wanted)[1]),
                kept(lambda: bulk.some("customer", wanted)[2]),
            )
        return (
            kept(lambda: self.invoices.values()),
            kept(lambda: self.payments),
            kept(lambda: self.adjustments),
        )

    def invoices_of(self, ids: Collection[str]) -> Mapping[str, Invoice]:
        """The invoices of `ids` the ledger has, by id: for a report that
        reads a few, without making every row of a ledger kept as cells."""
        bulk = self.bulk
        if bulk is not None and not bulk.made:
            return bulk.some("id", ids, ("invoices",))[0]
        invoices = self.invoices
        return {i: invoices[i] for i in ids if i in invoices}


@dataclass
class BulkView:
    """What a view of cells knows without rows: the cells, and the
    currencies of its records once its settlement has found them."""

    bulk: Bulk
    currencies: frozenset[str] | None = None
    # The kernel's columns of the view's payments and adjustments (ref, day,
    # customer, currency, amount), kept by a settlement with its history:
    # `collection` reads when cash came in, `settle.rewind_each` how much.
    cash: dict[str, Any] | None = None

    @property
    def ready(self) -> bool:
        """Whether the cells are still there to settle from."""
        return not self.bulk.made


@dataclass(frozen=True)
class LedgerView:
    """A ledger as of a date, with the command's filters applied once."""

    ledger: Ledger
    as_of: date
    owner: str | None
    currency: str | None
    customers: set[str] | None
    invoices: Sequence[Invoice]
    payments: Sequence[Payment]
    adjustments: Sequence[Adjustment]
    contacts: tuple[Contact, ...]
    plans: tuple[Plan, ...] = ()
    confirmations: tuple[Confirmation, ...] = ()
    # Set while the ledger's bulk records are cells and the view keeps every
    # customer and currency: `settle` then reads the cells (arledger/bulk.py).
    bulk: BulkView | None = field(default=None, repr=False, compare=False)

    @property
    def settings(self) -> Settings:
        return self.ledger.settings

    def currencies(self) -> frozenset[str]:
        """The currencies with records in this view: each has its section in
        every report, with zeros when nothing is open (SPEC §3), so that
        `.sections[0].totals.total` of a paid-up currency reads "0.00".

        With an owner filter: the currencies of that owner's invoices, and of
        the payments and adjustments of the customers it looks after (as the
        settlement keeps their unapplied cash).
        """
        ledger = self.ledger
        owner = self.owner
        bulk = self.bulk
        if owner is None and bulk is not None and bulk.currencies is not None:
            return bulk.currencies  # found by the settlement, from the cells
        invoices, payments, adjustments = self.invoices, self.payments, self.adjustments
        if owner is not None:
            invoices = tuple(i for i in invoices if ledger.owner_of(i) == owner)
            owners = {c.id: c.owner for c in ledger.customers.values()}
            payments, adjustments = (
                tuple(r for r in records if owners.get(r.customer) == owner)
                for records in (payments, adjustments)
            )
        return frozenset(
            ledger.currencies_of(invoices)
            | ledger.currencies_of(payments)
            | ledger.currencies_of(adjustments)
        )

    def on(self, day: date) -> LedgerView:
        """The same ledger and filters as of another day (`--compare-to`)."""
        return self.ledger.view(
            day, customers=self.customers, owner=self.owner, currency=self.currency
        )
