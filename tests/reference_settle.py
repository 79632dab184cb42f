"""The readable settlement engine: the oracle `arledger.settle.settle` is held to.

SPEC §2 (payment application) and §9 (early-payment discounts) written out
plainly, in Python over `Decimal`: replay every record of a view in date
order, apply each payment and adjustment to the items it names, then oldest
due first, keep what is left as credit, and give the early-payment discounts
earned on the way.

The package settles with a compiled kernel over integer minor units
(`arledger/_settle.c`), which is fast at a million invoices and hard to read.
STYLE §12: the readable version is kept as the test oracle, here under
`tests/`, not as a second engine in the package, so that one engine ships and
no report can read a different one. tests/test_settle_oracle.py holds
`settle` to `reference_settle`, field by field and in the same order, on
generated ledgers.

This is the Python engine the package had before the kernel, with what it did
only for speed taken out: the common cases written out in its loop, work items
as lists indexed by constants, the lazy list of works not yet in the heap and
the compaction of both, shared zeros, the merge of three sorted lists of
records. Nothing taken out changed a result. It imports only what stays public
in the package: the result types and the helpers every report shares.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arledger.ledger import LedgerView
from arledger.settle import (
    EARLY_PAYMENT,
    Application,
    Credit,
    Item,
    Settlement,
    discount_of,
    discount_threshold,
    payment_ref,
)

if TYPE_CHECKING:
    from arledger.settle import ApplicationKind

# SPEC §2: on one date, invoices first, then adjustments, then payments.
_INVOICE, _ADJUSTMENT, _PAYMENT = 0, 1, 2


@dataclass(eq=False)
class _Work:
    """An item while it is being settled: an invoice, or one instalment of it."""

    invoice: Any  # the invoice record (a model or a row)
    instalment: int | None  # its number in the schedule as written, from 1
    due: date
    amount: Decimal
    open: Decimal

    def oldest_first(self) -> tuple[date, date, str, int]:
        """SPEC §2's order of a customer's open items: due date, then issue
        date, then id (then instalment). No two items share it."""
        return (self.due, self.invoice.date, self.invoice.id, self.instalment or 0)


@dataclass(eq=False)
class _Chunk:
    """What is left of a payment or adjustment: unapplied cash or credit."""

    kind: ApplicationKind
    ref: str
    date: date  # the payment's or adjustment's
    left: Decimal
    waiting_for: str | None = None  # the invoice an allocation waits for


@dataclass(eq=False)
class _Account:
    """One customer in one currency."""

    customer: str
    currency: str
    # Issued invoices, in the order issued: id -> its works (one, or the
    # schedule's instalments in due order).
    items: dict[str, list[_Work]] = field(default_factory=dict)
    # The undisputed works, oldest first (a heap on `_Work.oldest_first`).
    # A work paid by cash that names it stays in until it reaches the top.
    heap: list[tuple[tuple[date, date, str, int], _Work]] = field(default_factory=list)
    credits: deque[_Chunk] = field(default_factory=deque)  # oldest first
    # Allocations to invoices not issued yet: invoice id -> its chunks.
    waiting: dict[str, list[_Chunk]] = field(default_factory=dict)

    def oldest_open(self) -> _Work | None:
        """The open, undisputed work first in SPEC §2 order, if any."""
        while self.heap:
            work = self.heap[0][1]
            if work.open > 0:
                return work
            heapq.heappop(self.heap)
        return None


def _in_order(view: LedgerView) -> list[tuple[int, str, Any]]:
    """Every record of the view as (rank, ref, record), in SPEC §2 order: by
    date; on one date invoices, then adjustments, then payments; then by id (a
    payment without one: where it was written). Records alike in all three
    keep the order of the view (the sort is stable)."""
    events = [(_INVOICE, i.id, i) for i in view.invoices]
    events += [(_ADJUSTMENT, a.id, a) for a in view.adjustments]
    events += [(_PAYMENT, payment_ref(p), p) for p in view.payments]
    events.sort(key=lambda event: (event[2].date, event[0], event[1]))
    return events


def _named(record: Any) -> dict[str, Decimal | None]:
    """The invoices a payment or adjustment names, each with the most meant
    for it (None: as much as it needs)."""
    allocations = getattr(record, "allocations", None)
    if allocations:
        return dict(allocations)
    if record.invoice:
        return {record.invoice: None}
    return {}


class _Engine:
    def __init__(self, view: LedgerView) -> None:
        self.ledger = view.ledger
        self.accounts: dict[tuple[str, str], _Account] = {}  # in order of creation
        self.applications: list[Application] = []
        self.discounts: list[Application] = []  # SPEC §9, in the order given
        self.disputed: set[str] = set()
        # SPEC §9: invoices whose discount may still be earned -> the last day
        # of the window and what must be applied to the invoice by then.
        self.offers: dict[str, tuple[date, Decimal]] = {}

    def account(self, customer: str, currency: str) -> _Account:
        key = (customer, currency)
        if key not in self.accounts:
            self.accounts[key] = _Account(customer, currency)
        return self.accounts[key]

    def run(self, view: LedgerView) -> None:
        for rank, ref, record in _in_order(view):
            currency = self.ledger.currency_of(record)
            if rank == _INVOICE:
                self.issue(record, currency)
            elif rank == _ADJUSTMENT:
                self.receive(record, currency, record.kind, ref)
            else:
                self.receive(record, currency, "payment", ref)

    # ------------------------------------------------------------ invoices

    def issue(self, invoice: Any, currency: str) -> None:
        account = self.account(invoice.customer, currency)
        if invoice.schedule:
            works = [
                _Work(invoice, n, part.due, part.amount, part.amount)
                for n, part in enumerate(invoice.schedule, 1)
            ]
            works.sort(key=lambda work: (work.due, work.instalment))
        else:
            due = self.ledger.due_of(invoice)
            works = [_Work(invoice, None, due, invoice.amount, invoice.amount)]
        discount = discount_of(invoice, self.ledger.customers)
        if discount is not None:
            self.offers[invoice.id] = (
                invoice.date + timedelta(days=discount.days),
                discount_threshold(invoice.amount, discount, currency),
            )
        account.items[invoice.id] = works
        if invoice.disputed:
            # Decision (README, "Disputed invoices"): cash is applied to a
            # disputed invoice only when a payment or adjustment names it.
            self.disputed.add(invoice.id)
        else:
            for work in works:
                heapq.heappush(account.heap, (work.oldest_first(), work))
        # SPEC §2: an allocation made before its invoice waited until now;
        # what exceeds the invoice is unallocated credit.
        for chunk in account.waiting.pop(invoice.id, []):
            self.apply_to_invoice(account, works, chunk, None, invoice.date)
            if chunk.left > 0:
                chunk.waiting_for = None
                account.credits.append(chunk)
        # SPEC §2: credit is applied to the new item on its issue date (and,
        # as ever, oldest first).
        self.apply_credits(account, invoice.date)

    # ------------------------------------------------- payments, adjustments

    def receive(
        self, record: Any, currency: str, kind: ApplicationKind, ref: str
    ) -> None:
        """A payment or adjustment: first to the invoices it names, then oldest
        first; what is left is credit."""
        account = self.account(record.customer, currency)
        chunk = _Chunk(kind, ref, record.date, record.amount)
        for invoice_id, limit in _named(record).items():
            self.receive_for(account, chunk, invoice_id, limit, record.date)
        if chunk.left > 0:
            self.apply_oldest_first(account, chunk, record.date)
            if chunk.left > 0:
                account.credits.append(chunk)

    def receive_for(
        self,
        account: _Account,
        chunk: _Chunk,
        invoice_id: str,
        limit: Decimal | None,
        day: date,
    ) -> None:
        """Apply what a record names for one invoice, or set it aside until the
        invoice is issued (SPEC §2)."""
        works = account.items.get(invoice_id)
        if works is not None:
            self.apply_to_invoice(account, works, chunk, limit, day)
            return
        share = chunk.left if limit is None else min(limit, chunk.left)
        if share > 0:
            chunk.left -= share
            waiting = _Chunk(chunk.kind, chunk.ref, chunk.date, share, invoice_id)
            account.waiting.setdefault(invoice_id, []).append(waiting)

    # --------------------------------------------------------- applications

    def apply_to_invoice(
        self,
        account: _Account,
        works: list[_Work],
        chunk: _Chunk,
        limit: Decimal | None,
        day: date,
    ) -> None:
        """Apply up to `limit` (None: all) of a chunk to one invoice's items,
        instalments in due order."""
        budget = chunk.left if limit is None else min(limit, chunk.left)
        for work in works:
            if budget <= 0:
                break
            if work.open > 0:
                amount = min(budget, work.open)
                self.apply(account, work, chunk, amount, day)
                budget -= amount

    def apply_oldest_first(self, account: _Account, chunk: _Chunk, day: date) -> None:
        while chunk.left > 0:
            work = account.oldest_open()
            if work is None:
                return
            self.apply(account, work, chunk, min(chunk.left, work.open), day)

    def apply_credits(self, account: _Account, day: date) -> None:
        """Unapplied credit, oldest first, to the open items, oldest first."""
        while account.credits and account.oldest_open() is not None:
            chunk = account.credits[0]
            self.apply_oldest_first(account, chunk, day)
            if chunk.left > 0:
                return
            account.credits.popleft()

    def apply(
        self,
        account: _Account,
        work: _Work,
        chunk: _Chunk,
        amount: Decimal,
        day: date,
    ) -> None:
        work.open -= amount
        chunk.left -= amount
        self.applications.append(
            Application(
                work.invoice.id,
                work.instalment,
                account.customer,
                account.currency,
                chunk.kind,
                chunk.ref,
                day,
                amount,
                work.due,
                work.invoice.date,
            )
        )
        self.discount(account, work.invoice, day)

    def discount(self, account: _Account, invoice: Any, day: date) -> None:
        """SPEC §9, after an application to `invoice` on `day`: when what was
        applied to it within its window reaches the threshold, the rest of the
        invoice (all its instalments) is closed as a discount dated `day`. The
        window includes its last day; after it the offer lapses and the rest
        stays open."""
        offer = self.offers.get(invoice.id)
        if offer is None:
            return
        last_day, threshold = offer
        if day > last_day:
            del self.offers[invoice.id]
            return
        works = account.items[invoice.id]
        applied = invoice.amount - sum(work.open for work in works)
        if applied < threshold:
            return
        del self.offers[invoice.id]
        for work in works:
            rest = work.open
            if rest <= 0:
                continue
            work.open -= rest
            given = Application(
                invoice.id,
                work.instalment,
                account.customer,
                account.currency,
                "discount",
                EARLY_PAYMENT,
                day,
                rest,
                work.due,
                invoice.date,
            )
            self.applications.append(given)
            self.discounts.append(given)


def reference_settle(view: LedgerView, *, history: bool = True) -> Settlement:
    """What `arledger.settle.settle(view, history=history)` must return.

    Items come account by account (a customer in a currency, in the order of
    its first record), each account's in the order issued, a schedule's
    instalments in due order. Credits come account by account too: the
    unapplied chunks oldest first, then the allocations still waiting for
    their invoice. Applications and discounts are in the order made.

    With `history=False`, only open items are kept, and no applications. With
    an `owner` filter, only that owner's items (the invoice's owner, else its
    customer's) and the applications to them, and the credits of the customers
    it owns, are kept: cash was applied across all the customer's items first.
    """
    engine = _Engine(view)
    engine.run(view)
    owner = view.owner
    items: list[Item] = []
    credits: list[Credit] = []
    for account in engine.accounts.values():
        customer = view.ledger.customers.get(account.customer)
        customer_owner = customer.owner if customer is not None else None
        for invoice_id, works in account.items.items():
            invoice = works[0].invoice
            item_owner = invoice.owner or customer_owner
            if owner is not None and item_owner != owner:
                continue
            for work in works:
                if history or work.open:
                    items.append(
                        Item(
                            invoice_id,
                            work.instalment,
                            account.customer,
                            account.currency,
                            invoice.date,
                            work.due,
                            work.amount,
                            work.open,
                            invoice_id in engine.disputed,
                            item_owner,
                        )
                    )
        if owner is not None and customer_owner != owner:
            continue
        waiting = [chunk for chunks in account.waiting.values() for chunk in chunks]
        for chunk in [*account.credits, *waiting]:
            if chunk.left > 0:
                credits.append(
                    Credit(
                        account.customer,
                        account.currency,
                        chunk.kind,
                        chunk.ref,
                        chunk.date,
                        chunk.left,
                        chunk.waiting_for,
                    )
                )
    applications, discounts = engine.applications, engine.discounts
    if not history:
        applications, discounts = [], []
    elif owner is not None:
        kept = {item.invoice for item in items}
        applications = [a for a in applications if a.invoice in kept]
        discounts = [a for a in discounts if a.invoice in kept]
    return Settlement(
        view.as_of,
        tuple(items),
        tuple(applications),
        tuple(credits),
        history,
        tuple(discounts),
    )
