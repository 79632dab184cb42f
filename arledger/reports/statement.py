"""Statement of account (对账单): one customer's activity over a period, its running
balance, and its open items aged.

Pure: a view as of the statement's last day and its settlement in, typed result
out; the printable HTML is rendered by the command from `html_context`.

The balance is balance-forward: the opening balance is what the customer owed
the day before the period (invoices less payments and adjustments dated before
it), every record of the period moves it by its full amount in the order the
engine replays them (SPEC §2), and the closing balance is therefore the open
items less unapplied cash: the customer's aging total. How each payment was
applied, and what of it is unapplied or waits for an invoice, comes from the
settlement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from arledger.ledger import Ledger, LedgerView
from arledger.money import ZERO, grouped
from arledger.report import Column, Report, Section
from arledger.reports import aging
from arledger.rows import INVOICE, PAYMENT
from arledger.settle import Application, Settlement, discount_of, payment_ref

if TYPE_CHECKING:
    from arledger.model import Adjustment, Customer, Invoice, Payment

LineKind = Literal["invoice", "payment", "credit_note", "discount", "write_off"]

# SPEC §2: on one date, invoices first, then adjustments, then payments; then by
# id. An early-payment discount comes after the payment that earned it (§9).
_RANK = {"invoice": 0, "adjustment": 1, "payment": 2, "discount": 3}


@dataclass(frozen=True, slots=True)
class Applied:
    """Part of a payment or adjustment applied to an item (as of the statement)."""

    invoice: str
    instalment: int | None
    amount: Decimal

    @property
    def label(self) -> str:
        return (
            self.invoice
            if self.instalment is None
            else (f"{self.invoice}/{self.instalment}")
        )


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One record of the period and the balance after it."""

    date: dt.date
    kind: LineKind
    ref: str
    description: str | None  # an invoice's description, a payment's reference, ...
    po: str | None
    method: str | None
    due: dt.date | None  # an invoice's due date; None with a schedule
    instalments: int  # an invoice's number of instalments (0: none)
    debit: Decimal  # invoiced
    credit: Decimal  # paid, credited, discounted or written off
    balance: Decimal
    applied: tuple[Applied, ...]  # for cash: the items it was applied to
    unapplied: Decimal  # for cash: credit left unapplied at the statement's date
    waiting_for: tuple[Applied, ...]  # allocations still waiting for an invoice


@dataclass(frozen=True, slots=True)
class OpenLine:
    """An open item aged, or a credit (unapplied cash, a waiting allocation)."""

    ref: str  # the invoice, or the payment / adjustment of a credit
    instalment: int | None
    date: dt.date
    due: dt.date | None
    days: int | None
    bucket: str  # a bucket label, or "unapplied"
    amount: Decimal | None  # the item's amount (None for a credit)
    open: Decimal  # negative for a credit
    disputed: bool
    waiting_for: str | None


@dataclass(frozen=True, slots=True)
class CurrencyStatement:
    currency: str
    opening: Decimal
    lines: tuple[StatementLine, ...]
    closing: Decimal  # opening + invoiced − received
    open_lines: tuple[OpenLine, ...]
    buckets: tuple[Decimal, ...]
    unapplied: Decimal  # negative
    aging_total: Decimal  # from the aging report: equals `closing`

    @property
    def invoiced(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def received(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)


@dataclass(frozen=True)
class StatementResult:
    customer: Customer
    start: date
    end: date  # the statement's date: its balances are as of this day
    basis: aging.Basis
    limits: tuple[int, ...]
    labels: tuple[str, ...]
    sections: tuple[CurrencyStatement, ...]


# ---------------------------------------------------------------- compute


def customers_of(view: LedgerView) -> list[str]:
    """The customers a view's filters keep, in id order: those named (or all),
    and with an owner filter those the owner looks after (the customer's owner)
    or has invoices of. A statement is about the whole customer, never a part."""
    ledger = view.ledger
    wanted = sorted(view.customers if view.customers is not None else ledger.customers)
    if view.owner is None:
        return wanted
    owned = {i.customer for i in view.invoices if ledger.owner_of(i) == view.owner}
    return [c for c in wanted if ledger.customers[c].owner == view.owner or c in owned]


def balance(view: LedgerView, settlement: Settlement) -> dict[tuple[str, str], Decimal]:
    """What each customer owes per currency: its open items less unapplied cash
    (the aging total, and a statement's closing balance)."""
    totals: dict[tuple[str, str], Decimal] = {}
    for item in settlement.items:
        key = (item.customer, item.currency)
        totals[key] = totals.get(key, ZERO) + item.open
    for key, amount in settlement.unapplied().items():
        totals[key] = totals.get(key, ZERO) - amount
    return totals


def compute(
    view: LedgerView,
    settlement: Settlement,
    customer: str,
    *,
    start: date,
    basis: aging.Basis | None = None,
    limits: Sequence[int] | None = None,
) -> StatementResult:
    """A customer's statement of account from `start` to `view.as_of`.

    Args:
        view: the ledger as of the statement's last day (usually filtered to
            the customer, perhaps to a currency).
        settlement: the view's settlement.
        customer: the customer's id.
        start: the first day of the period; records before it make the opening
            balance.
        basis, limits: aging of the open items; default from settings.

    Returns:
        One section per currency the customer has records in (its own currency
        always, unless the view keeps another one only).
    """
    ledger = view.ledger
    record = ledger.customers[customer]
    end = view.as_of
    aged = aging.compute(view, settlement, basis=basis, limits=limits)

    applied: dict[tuple[bool, str], list[Applied]] = {}
    # SPEC §9: a discount the settlement gave has no record behind it; it is a
    # line of its own (one per invoice and day), not part of an adjustment's.
    given = {id(a) for a in settlement.discounts}
    discounts: dict[tuple[date, str], list[Application]] = {}
    for application in settlement.history_of():
        if application.customer == customer:
            if id(application) in given:
                day_invoice = (application.date, application.invoice)
                discounts.setdefault(day_invoice, []).append(application)
                continue
            key = (application.kind == "payment", application.ref)
            applied.setdefault(key, []).append(
                Applied(application.invoice, application.instalment, application.amount)
            )
    left: dict[tuple[bool, str], Decimal] = {}
    waiting: dict[tuple[bool, str], list[Applied]] = {}
    for credit in settlement.credits:
        if credit.customer == customer:
            key = (credit.kind == "payment", credit.ref)
            if credit.waiting_for:
                waiting.setdefault(key, []).append(
                    Applied(credit.waiting_for, None, credit.amount)
                )
            else:
                left[key] = left.get(key, ZERO) + credit.amount

    events: list[
        tuple[date, int, str, int, Invoice | Payment | Adjustment | Discounted]
    ] = []
    for seq, invoice in enumerate(view.invoices):
        if invoice.customer == customer:
            events.append((invoice.date, _RANK["invoice"], invoice.id, seq, invoice))
    for seq, adjustment in enumerate(view.adjustments):
        if adjustment.customer == customer:
            events.append(
                (adjustment.date, _RANK["adjustment"], adjustment.id, seq, adjustment)
            )
    for seq, payment in enumerate(view.payments):
        if payment.customer == customer:
            events.append(
                (payment.date, _RANK["payment"], payment_ref(payment), seq, payment)
            )
    for seq, ((day, invoice_id), parts) in enumerate(discounts.items()):
        events.append(
            (day, _RANK["discount"], invoice_id, seq, _discounted(ledger, parts))
        )
    events.sort(key=lambda e: e[:4])

    currencies = {ledger.currency_of(e[4]) for e in events}
    own = ledger.customer_currency(customer)
    if view.currency is None or view.currency == own:
        currencies.add(own)

    opening = dict.fromkeys(currencies, ZERO)
    lines: dict[str, list[StatementLine]] = {c: [] for c in currencies}
    balance = dict(opening)
    for day, _rank, ref, _seq, entry in events:
        currency = ledger.currency_of(entry)
        change = entry.amount if isinstance(entry, INVOICE) else -entry.amount
        balance[currency] += change
        if day < start:
            opening[currency] += change
            continue
        lines[currency].append(
            _line(entry, ref, balance[currency], applied, left, waiting, ledger.due_of)
        )

    by_currency = {s.currency: s for s in aged.sections}
    sections = []
    for currency in sorted(currencies):
        row = None
        if currency in by_currency:
            row = next(
                (r for r in by_currency[currency].customers if r.customer == customer),
                None,
            )
        open_lines: list[OpenLine] = []
        buckets = tuple(ZERO for _ in aged.labels)
        unapplied = ZERO
        aging_total = ZERO
        if row is not None:
            buckets, unapplied, aging_total = row.buckets, row.unapplied, row.total
            for aged_item in row.items:
                item = aged_item.item
                open_lines.append(
                    OpenLine(
                        ref=item.invoice,
                        instalment=item.instalment,
                        date=item.date,
                        due=item.due,
                        days=aged_item.days,
                        bucket=aged.labels[aged_item.bucket],
                        amount=item.amount,
                        open=item.open,
                        disputed=item.disputed,
                        waiting_for=None,
                    )
                )
        credits = sorted(
            (
                c
                for c in settlement.credits
                if c.customer == customer and c.currency == currency
            ),
            key=lambda c: (c.date, c.ref, c.waiting_for or ""),
        )
        for credit in credits:
            open_lines.append(
                OpenLine(
                    ref=credit.ref,
                    instalment=None,
                    date=credit.date,
                    due=None,
                    days=None,
                    bucket="unapplied",
                    amount=None,
                    open=-credit.amount,
                    disputed=False,
                    waiting_for=credit.waiting_for,
                )
            )
        sections.append(
            CurrencyStatement(
                currency=currency,
                opening=opening[currency],
                lines=tuple(lines[currency]),
                closing=balance[currency],
                open_lines=tuple(open_lines),
                buckets=buckets,
                unapplied=unapplied,
                aging_total=aging_total,
            )
        )
    return StatementResult(
        customer=record,
        start=start,
        end=end,
        basis=aged.basis,
        limits=aged.limits,
        labels=aged.labels,
        sections=tuple(sections),
    )


@dataclass(frozen=True, slots=True)
class Discounted:
    """An early-payment discount the settlement gave to an invoice on a day
    (SPEC §9): a credit line with the invoice as its reference."""

    date: dt.date
    invoice: str
    currency: str
    amount: Decimal
    terms: str  # "2/10": percent / days
    applied: tuple[Applied, ...]


def _discounted(ledger: Ledger, parts: list[Application]) -> Discounted:
    first = parts[0]
    discount = discount_of(ledger.invoices[first.invoice], ledger.customers)
    terms = (
        "" if discount is None else f"{discount.percent.normalize():f}/{discount.days}"
    )
    return Discounted(
        first.date,
        first.invoice,
        first.currency,
        sum((a.amount for a in parts), ZERO),
        terms,
        tuple(Applied(a.invoice, a.instalment, a.amount) for a in parts),
    )


def _line(
    record: Invoice | Payment | Adjustment | Discounted,
    ref: str,
    balance: Decimal,
    applied: dict[tuple[bool, str], list[Applied]],
    left: dict[tuple[bool, str], Decimal],
    waiting: dict[tuple[bool, str], list[Applied]],
    due_of: Callable[[Invoice], date],
) -> StatementLine:
    if isinstance(record, INVOICE):
        schedule = record.schedule or ()
        return StatementLine(
            date=record.date,
            kind="invoice",
            ref=ref,
            description=record.description,
            po=record.po,
            method=None,
            due=None if schedule else due_of(record),
            instalments=len(schedule),
            debit=record.amount,
            credit=ZERO,
            balance=balance,
            applied=(),
            unapplied=ZERO,
            waiting_for=(),
        )
    if isinstance(record, Discounted):
        return StatementLine(
            date=record.date,
            kind="discount",
            ref=ref,
            description=record.terms,
            po=None,
            method=None,
            due=None,
            instalments=0,
            debit=ZERO,
            credit=record.amount,
            balance=balance,
            applied=record.applied,
            unapplied=ZERO,
            waiting_for=(),
        )
    is_payment = isinstance(record, PAYMENT)
    key = (is_payment, ref)
    if isinstance(record, PAYMENT):
        kind: LineKind = "payment"
        description, method = record.reference, record.method
    else:
        kind = record.kind
        description, method = record.reason, None
    return StatementLine(
        date=record.date,
        kind=kind,
        ref=ref,
        description=description,
        po=None,
        method=method,
        due=None,
        instalments=0,
        debit=ZERO,
        credit=record.amount,
        balance=balance,
        applied=tuple(applied.get(key, ())),
        unapplied=left.get(key, ZERO),
        waiting_for=tuple(waiting.get(key, ())),
    )


# ---------------------------------------------------------------- to a report

ACTIVITY_COLUMNS = (
    Column("date", "Date", "date"),
    Column("type", "Type"),
    Column("reference", "Reference"),
    Column("details", "Details"),
    Column("due", "Due", "date"),
    Column("debit", "Debit", "money"),
    Column("credit", "Credit", "money"),
    Column("balance", "Balance", "money"),
)

OPEN_COLUMNS = (
    Column("reference", "Reference"),
    Column("item", "Inst.", "int"),
    Column("date", "Date", "date"),
    Column("due", "Due", "date"),
    Column("days", "Days", "days"),
    Column("bucket", "Bucket"),
    Column("amount", "Amount", "money"),
    Column("open", "Open", "money"),
    Column("note", "Note"),
)


def details(line: StatementLine, currency: str) -> str:
    """What a line is about, in one short English phrase (tables, CSV, JSON)."""
    parts: list[str] = []
    if line.kind == "invoice":
        parts += [p for p in (line.description,) if p]
        if line.po:
            parts.append(f"PO {line.po}")
        if line.instalments:
            parts.append(f"{line.instalments} instalments")
        return "; ".join(parts)
    head = " ".join(p for p in (line.method, line.description) if p)
    if head:
        parts.append(head)
    if line.applied:
        labels = list(dict.fromkeys(a.label for a in line.applied))
        parts.append("applied to " + ", ".join(labels))
    for wait in line.waiting_for:
        parts.append(
            f"{grouped(wait.amount, currency)} waiting for invoice {wait.invoice}"
        )
    if line.unapplied:
        parts.append(f"unapplied {grouped(line.unapplied, currency)}")
    return "; ".join(parts)


def to_report(result: StatementResult, *, open_items: bool = True) -> Report:
    """The statement as a `Report`: per currency, the activity with its running
    balance, then (with `open_items`) the open items aged.

    CSV writes one header line for all sections, so the command asks for the
    activity only there (`open_items=False`).
    """
    customer = result.customer
    span = f"{result.start.isoformat()} to {result.end.isoformat()}"
    sections: list[Section] = []
    for section in result.sections:
        sections.append(_activity_section(result, section, span))
        if open_items:
            sections.append(_open_section(result, section))
    meta = {
        "customer": customer.id,
        "name": customer.name,
        "from": result.start,
        "to": result.end,
        "basis": result.basis,
        "buckets": list(result.labels),
    }
    title = f"Statement of account — {customer.id} — {span}"
    return Report("statement", title, result.end, tuple(sections), meta)


def _activity_section(
    result: StatementResult, section: CurrencyStatement, span: str
) -> Section:
    currency = section.currency
    rows: list[dict[str, Any]] = [
        {
            "date": result.start,
            "type": "opening",
            "reference": None,
            "details": "opening balance",
            "due": None,
            "debit": None,
            "credit": None,
            "balance": section.opening,
        }
    ]
    for line in section.lines:
        rows.append(
            {
                "date": line.date,
                "type": line.kind,
                "reference": line.ref,
                "details": details(line, currency),
                "due": line.due,
                "debit": line.debit if line.kind == "invoice" else None,
                "credit": line.credit if line.kind != "invoice" else None,
                "balance": line.balance,
            }
        )
    customer = result.customer
    return Section(
        currency,
        ACTIVITY_COLUMNS,
        tuple(rows),
        {
            "debit": section.invoiced,
            "credit": section.received,
            "balance": section.closing,
        },
        title=(
            f"Statement of account — {customer.id} {customer.name} — {currency}, {span}"
        ),
        summary=(
            (Column("opening_balance", "Opening balance", "money"), section.opening),
            (Column("closing_balance", "Closing balance", "money"), section.closing),
        ),
    )


def _open_section(result: StatementResult, section: CurrencyStatement) -> Section:
    rows = []
    for line in section.open_lines:
        note: str | None
        if line.waiting_for:
            note = f"waiting for {line.waiting_for}"
        elif line.bucket == "unapplied":
            note = "unapplied"
        else:
            note = "disputed" if line.disputed else None
        rows.append(
            {
                "reference": line.ref,
                "item": line.instalment,
                "date": line.date,
                "due": line.due,
                "days": line.days,
                "bucket": line.bucket,
                "amount": line.amount,
                "open": line.open,
                "note": note,
            }
        )
    summary = tuple(
        (Column(label, label, "money"), amount)
        for label, amount in zip(result.labels, section.buckets, strict=True)
    ) + ((Column("unapplied", "Unapplied", "money"), section.unapplied),)
    return Section(
        section.currency,
        OPEN_COLUMNS,
        tuple(rows),
        {"open": section.aging_total},
        title=(
            f"Open items as of {result.end.isoformat()} — {result.customer.id} — "
            f"{section.currency}"
        ),
        summary=summary,
    )


# ---------------------------------------------------------------- printable


def bucket_ranges(limits: Sequence[int], basis: aging.Basis) -> list[dict[str, Any]]:
    """Each bucket as words can say it: `current` (not yet due), a `range` of
    days `low`..`high`, or `over` `low` days (the last, open-ended one)."""
    ranges: list[dict[str, Any]] = []
    lower = 0
    if basis == "due":
        ranges.append({"kind": "current", "low": None, "high": 0})
        lower = 1
    for limit in limits:
        ranges.append({"kind": "range", "low": lower, "high": limit})
        lower = limit + 1
    ranges.append({"kind": "over", "low": limits[-1], "high": None})
    return ranges


def html_context(
    result: StatementResult, *, company: Any, language: str
) -> dict[str, Any]:
    """What the statement template sees: plain values, amounts as Decimal.

    Args:
        result: the computed statement.
        company: the `company` settings (name, address, email, phone, bank, ...).
        language: "en" or "zh"; the template picks its words by it.
    """
    ranges = bucket_ranges(result.limits, result.basis)
    sections = []
    for section in result.sections:
        sections.append(
            {
                "currency": section.currency,
                "opening": section.opening,
                "invoiced": section.invoiced,
                "received": section.received,
                "closing": section.closing,
                "lines": section.lines,
                "open_lines": section.open_lines,
                "buckets": [
                    {**words, "label": label, "amount": amount}
                    for label, words, amount in zip(
                        result.labels, ranges, section.buckets, strict=True
                    )
                ],
                "unapplied": section.unapplied,
                "total": section.aging_total,
            }
        )
    return {
        "language": language,
        "company": company,
        "customer": result.customer,
        "start": result.start,
        "end": result.end,
        "basis": result.basis,
        "sections": sections,
    }
