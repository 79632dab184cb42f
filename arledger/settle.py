"""Payment application: records as of a date -> items with open balances.

This is arledger's "realization" (SPEC §2): events are replayed in date order and
every payment and adjustment is applied to items; aging, overdue, risk and
statements all read its result, so they agree to the cent. Pure: no I/O, no clock.

Cost is O(n log n) in the number of items: each customer keeps its open items in
a heap ordered by (due, issue date, invoice id, instalment), and a payment pops
what it pays instead of scanning the customer's whole list.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, NamedTuple

from arledger.ledger import LedgerView
from arledger.model import Adjustment, Invoice, Payment
from arledger.money import ZERO

ApplicationKind = Literal["payment", "credit_note", "write_off", "discount"]

# SPEC §2: on one date, invoices first, then adjustments, then payments; then by id.
_RANK_INVOICE, _RANK_ADJUSTMENT, _RANK_PAYMENT = 0, 1, 2

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


class Credit(NamedTuple):
    """Cash or credit not applied to any item as of the settlement date."""

    customer: str
    currency: str
    kind: ApplicationKind
    ref: str
    date: dt.date
    amount: Decimal
    waiting_for: str | None  # the invoice an allocation waits for, if any


@dataclass(frozen=True)
class Settlement:
    """Every item of a view with its open balance, how it got there, and credits."""

    as_of: date
    items: tuple[Item, ...]
    applications: tuple[Application, ...]
    credits: tuple[Credit, ...]

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


class _Work:
    """An item while it is being settled (mutable; becomes an `Item` at the end)."""

    __slots__ = ("invoice", "instalment", "date", "due", "amount", "open")

    def __init__(
        self,
        invoice: str,
        instalment: int | None,
        issued: date,
        due: date,
        amount: Decimal,
    ) -> None:
        self.invoice = invoice
        self.instalment = instalment
        self.date = issued
        self.due = due
        self.amount = amount
        self.open = amount


class _Chunk:
    """Unapplied cash or credit: what is left of one payment or adjustment."""

    __slots__ = ("kind", "ref", "date", "amount", "waiting_for")

    def __init__(
        self,
        kind: ApplicationKind,
        ref: str,
        day: date,
        amount: Decimal,
        waiting_for: str | None = None,
    ) -> None:
        self.kind = kind
        self.ref = ref
        self.date = day
        self.amount = amount
        self.waiting_for = waiting_for


# A heap entry: SPEC §2 order (due date, then issue date, then id, then
# instalment), with a unique sequence number so items themselves never compare.
_Entry = tuple[date, date, str, int, int, _Work]


class _Account:
    """One customer in one currency."""

    __slots__ = ("customer", "currency", "heap", "credits", "waiting", "items")

    def __init__(self, customer: str, currency: str) -> None:
        self.customer = customer
        self.currency = currency
        self.heap: list[_Entry] = []  # open, undisputed items, oldest due first
        self.credits: deque[_Chunk] = deque()  # unapplied, oldest first
        self.waiting: dict[str, list[_Chunk]] = {}  # allocations to future invoices
        self.items: dict[str, list[_Work]] = {}  # issued invoices' items


class _Engine:
    def __init__(self, view: LedgerView) -> None:
        self.view = view
        self.accounts: dict[tuple[str, str], _Account] = {}
        self.applications: list[Application] = []
        self.disputed: set[str] = set()
        self.sequence = 0

    def account(self, customer: str, currency: str) -> _Account:
        key = (customer, currency)
        account = self.accounts.get(key)
        if account is None:
            account = self.accounts[key] = _Account(customer, currency)
        return account

    def apply(
        self,
        account: _Account,
        work: _Work,
        chunk: _Chunk,
        amount: Decimal,
        day: date,
    ) -> None:
        work.open -= amount
        chunk.amount -= amount
        self.applications.append(
            Application(
                work.invoice,
                work.instalment,
                account.customer,
                account.currency,
                chunk.kind,
                chunk.ref,
                day,
                amount,
            )
        )

    def apply_to_invoice(
        self,
        account: _Account,
        items: list[_Work],
        chunk: _Chunk,
        limit: Decimal | None,
        day: date,
    ) -> None:
        """Apply up to `limit` (None: all) of a chunk to one invoice's items."""
        budget = chunk.amount if limit is None else min(limit, chunk.amount)
        for work in items:  # instalments in due order
            if budget <= 0:
                break
            if work.open > 0:
                amount = min(budget, work.open)
                self.apply(account, work, chunk, amount, day)
                budget -= amount

    def apply_oldest_first(self, account: _Account, chunk: _Chunk, day: date) -> None:
        heap = account.heap
        while chunk.amount > 0 and heap:
            work = heap[0][5]
            if work.open > 0:
                self.apply(account, work, chunk, min(chunk.amount, work.open), day)
            if work.open <= 0:
                heapq.heappop(heap)

    def apply_credits(self, account: _Account, day: date) -> None:
        credits = account.credits
        while credits and account.heap:
            chunk = credits[0]
            self.apply_oldest_first(account, chunk, day)
            if chunk.amount <= 0:
                credits.popleft()
            else:
                break

    def issue(self, invoice: Invoice, currency: str, due: date) -> None:
        account = self.account(invoice.customer, currency)
        if invoice.schedule:
            works = [
                _Work(invoice.id, n, invoice.date, part.due, part.amount)
                for n, part in enumerate(invoice.schedule, 1)
            ]
            works.sort(key=lambda w: (w.due, w.instalment))
        else:
            works = [_Work(invoice.id, None, invoice.date, due, invoice.amount)]
        account.items[invoice.id] = works
        if invoice.disputed:
            # Decision (README, "Disputed invoices"): cash is applied to a disputed
            # invoice only when a payment names it, never oldest-first.
            self.disputed.add(invoice.id)
        else:
            heap = account.heap
            for work in works:
                self.sequence += 1
                entry = (
                    work.due,
                    work.date,
                    work.invoice,
                    work.instalment or 0,
                    self.sequence,
                    work,
                )
                heapq.heappush(heap, entry)
        # SPEC §2: an allocation made before the invoice existed waits until now;
        # what exceeds the invoice is unallocated credit.
        if account.waiting:
            for chunk in account.waiting.pop(invoice.id, ()):
                self.apply_to_invoice(account, works, chunk, None, invoice.date)
                if chunk.amount > 0:
                    chunk.waiting_for = None
                    account.credits.append(chunk)
        if account.credits:
            self.apply_credits(account, invoice.date)

    def receive(
        self,
        record: Payment | Adjustment,
        currency: str,
        kind: ApplicationKind,
        ref: str,
    ) -> None:
        account = self.account(record.customer, currency)
        chunk = _Chunk(kind, ref, record.date, record.amount)
        allocations = getattr(record, "allocations", None)
        if allocations:
            for invoice_id, limit in allocations.items():
                self.receive_for(account, chunk, invoice_id, limit, record.date)
        elif record.invoice:
            self.receive_for(account, chunk, record.invoice, None, record.date)
        if chunk.amount > 0:
            self.apply_oldest_first(account, chunk, record.date)
        if chunk.amount > 0:
            account.credits.append(chunk)

    def receive_for(
        self,
        account: _Account,
        chunk: _Chunk,
        invoice_id: str,
        limit: Decimal | None,
        day: date,
    ) -> None:
        """Apply what a payment names for one invoice, or set it aside until the
        invoice is issued (SPEC §2)."""
        items = account.items.get(invoice_id)
        if items is not None:
            self.apply_to_invoice(account, items, chunk, limit, day)
            return
        share = chunk.amount if limit is None else min(limit, chunk.amount)
        if share > 0:
            chunk.amount -= share
            waiting = _Chunk(chunk.kind, chunk.ref, chunk.date, share, invoice_id)
            account.waiting.setdefault(invoice_id, []).append(waiting)

    def run(self) -> None:
        view = self.view
        ledger = view.ledger
        currency_of = ledger.currency_of
        due_of = ledger.due_of
        events: list[tuple[date, int, str, int, Invoice | Payment | Adjustment]] = []
        add = events.append
        for seq, invoice in enumerate(view.invoices):
            add((invoice.date, _RANK_INVOICE, invoice.id, seq, invoice))
        for seq, adjustment in enumerate(view.adjustments):
            add((adjustment.date, _RANK_ADJUSTMENT, adjustment.id, seq, adjustment))
        for seq, payment in enumerate(view.payments):
            add((payment.date, _RANK_PAYMENT, payment_ref(payment), seq, payment))
        events.sort()  # (date, rank, id, seq) is unique, so records never compare
        base = ledger.settings.currency
        default = ledger.settings.terms.default
        terms = {c.id: ledger.terms_of(c.id) for c in ledger.customers.values()}
        customer_currency = {
            c.id: c.currency or base for c in ledger.customers.values()
        }
        for _day, _rank, ref, _seq, record in events:
            # The common cases inline; `currency_of`/`due_of` say the rules.
            currency = record.currency
            if isinstance(record, Invoice):
                currency = currency or customer_currency.get(record.customer, base)
                due = record.due or (
                    due_of(record)
                    if record.schedule
                    else record.date
                    + timedelta(days=terms.get(record.customer, default))
                )
                self.issue(record, currency, due)
            elif isinstance(record, Adjustment):
                currency = currency or currency_of(record)
                self.receive(record, currency, record.kind, ref)
            else:
                currency = currency or currency_of(record)
                self.receive(record, currency, "payment", ref)


def payment_ref(payment: Payment) -> str:
    """A payment's id, or where it was written when it has none (SPEC §1)."""
    return payment.id if payment.id is not None else str(payment.source)


def settle(view: LedgerView) -> Settlement:
    """Apply every payment and adjustment of a view to its items (SPEC §2).

    Args:
        view: the ledger as of a date, filtered.

    Returns:
        Every item with its open balance, every application, and the credits left
        unapplied. With an `owner` filter, only that owner's items (and the
        credits of customers it owns) are kept; cash is applied first.
    """
    engine = _Engine(view)
    engine.run()
    ledger = view.ledger
    owner = view.owner
    items: list[Item] = []
    credits: list[Credit] = []
    applications = engine.applications
    for account in engine.accounts.values():
        customer = ledger.customers.get(account.customer)
        customer_owner = customer.owner if customer is not None else None
        for invoice_id, works in account.items.items():
            item_owner = ledger.invoices[invoice_id].owner or customer_owner
            if owner is not None and item_owner != owner:
                continue
            disputed = invoice_id in engine.disputed
            for work in works:
                items.append(
                    Item(
                        invoice_id,
                        work.instalment,
                        account.customer,
                        account.currency,
                        work.date,
                        work.due,
                        work.amount,
                        work.open,
                        disputed,
                        item_owner,
                    )
                )
        if owner is not None and customer_owner != owner:
            continue
        leftovers = list(account.credits)
        for chunks in account.waiting.values():
            leftovers.extend(chunks)
        for chunk in leftovers:
            if chunk.amount > 0:
                credits.append(
                    Credit(
                        account.customer,
                        account.currency,
                        chunk.kind,
                        chunk.ref,
                        chunk.date,
                        chunk.amount,
                        chunk.waiting_for,
                    )
                )
    if owner is not None:
        kept = {item.invoice for item in items}
        applications = [a for a in applications if a.invoice in kept]
    return Settlement(view.as_of, tuple(items), tuple(applications), tuple(credits))
