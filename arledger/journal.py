"""`arledger journal`: the ledger's records as hledger or beancount transactions.

One receivable account per customer (`journal.receivable` in the settings, then
the customer's id), so that `hledger bal` or beancount's balances per customer
equal arledger's aging totals (unapplied cash included, as a negative amount).
A payment posts whole to its customer's account; what the settlement applied
it to is written beside it as comments. An early-payment discount the settlement
gave (SPEC §9) has no record: it posts from the settlement, to the discount
account. Amounts are the records' own decimals.

Pure: returns text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arledger.ledger import Ledger
from arledger.settle import Application

FORMATS = ("hledger", "beancount")


@dataclass(frozen=True)
class Accounts:
    receivable: str
    income: str
    bank: str
    credit_note: str
    write_off: str
    discount: str
    opening: str


def _component(text: str) -> str:
    """An account name part both tools accept: starts with a capital or a
    digit, then letters, digits and dashes."""
    part = re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "X"
    return part[0].upper() + part[1:] if part[0].isalpha() else (
        part if part[0].isdigit() else "C" + part
    )  # fmt: skip


def customer_accounts(ledger: Ledger, receivable: str) -> dict[str, str]:
    """Each customer's receivable account, distinct even where ids differ only
    in characters an account name cannot hold."""
    taken: dict[str, str] = {}
    found: dict[str, str] = {}
    for customer in sorted(ledger.customers):
        name = f"{receivable}:{_component(customer)}"
        base, n = name, 1
        while name in taken:
            n += 1
            name = f"{base}-{n}"
        taken[name] = customer
        found[customer] = name
    return found


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Writer:
    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.out: list[str] = []

    def transaction(
        self,
        day: date,
        payee: str,
        narration: str,
        postings: list[tuple[str, Decimal, str]],
        comments: list[str] = (),  # type: ignore[assignment]
    ) -> None:
        if self.fmt == "beancount":
            self.out.append(
                f"{day.isoformat()} * {_quote(_one_line(payee))} "
                f"{_quote(_one_line(narration))}"
            )
        else:
            head = _one_line(payee).replace("|", "/")
            self.out.append(f"{day.isoformat()} {head} | {_one_line(narration)}")
        width = max(len(account) for account, _, _ in postings) + 2
        for comment in comments:
            self.out.append(f"    ; {comment}")
        for account, amount, currency in postings:
            self.out.append(f"    {account:<{width}}{amount:>14f} {currency}")
        self.out.append("")


def transaction(
    fmt: str,
    day: date,
    payee: str,
    narration: str,
    postings: list[tuple[str, Decimal, str]],
) -> str:
    """One transaction as `journal` writes it, in `fmt` (hledger or beancount),
    for other entries of the books (the allowance's adjusting entry)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown journal format {fmt!r}")
    writer = _Writer(fmt)
    writer.transaction(day, payee, narration, postings)
    return "\n".join(writer.out)


def journal(ledger: Ledger, fmt: str, start: date | None, end: date) -> str:
    """The records dated from `start` (None: the first) to `end` as a journal;
    with `start`, each customer's balance before it opens the journal."""
    from arledger.api import settlement, view

    if fmt not in FORMATS:
        raise ValueError(f"unknown journal format {fmt!r}")
    cfg = ledger.settings.journal
    accounts = customer_accounts(ledger, cfg.receivable)
    currency_of = ledger.currency_of
    names = {c.id: c.name for c in ledger.customers.values()}
    adjusted = {
        "credit_note": cfg.credit_note,
        "write_off": cfg.write_off,
        "discount": cfg.discount,
    }
    settled = settlement(view(ledger, end))
    applied: dict[str, list[Any]] = {}
    discounts = {id(a) for a in settled.discounts}  # no record's: no comments
    for application in settled.history_of():
        if id(application) not in discounts:
            applied.setdefault(application.ref, []).append(application)

    def within(record: Any) -> bool:
        return record.date <= end and (start is None or record.date >= start)

    events: list[tuple[date, int, str, Any]] = []
    for invoice in ledger.invoices.values():
        if within(invoice):
            events.append((invoice.date, 0, invoice.id, invoice))
    for adjustment in ledger.adjustments:
        if within(adjustment):
            events.append((adjustment.date, 1, adjustment.id, adjustment))
    for payment in ledger.payments:
        if within(payment):
            events.append((payment.date, 2, payment.id or str(payment.source), payment))
    # SPEC §9: after the payment that earned it, on the same day.
    for discount in settled.discounts:
        if within(discount):
            events.append((discount.date, 3, discount.invoice, discount))
    events.sort(key=lambda e: (e[0], e[1], e[2]))

    writer = _Writer(fmt)
    used_accounts: set[str] = set()
    lines: list[tuple[date, str, str, list[tuple[str, Decimal, str]], list[str]]] = []
    if start is not None:
        opening: dict[tuple[str, str], Decimal] = {}
        before = start - timedelta(days=1)
        for kind, records in (
            (1, ledger.invoices.values()),
            (-1, ledger.payments),
            (-1, ledger.adjustments),
        ):
            for record in records:
                if record.date < start:
                    key = (record.customer, currency_of(record))
                    opening[key] = opening.get(key, Decimal(0)) + kind * record.amount
        for discount in settled.discounts:
            if discount.date < start:
                key = (discount.customer, discount.currency)
                opening[key] = opening.get(key, Decimal(0)) - discount.amount
        for (customer, currency), amount in sorted(opening.items()):
            if amount:
                lines.append(
                    (before, names.get(customer, customer), "Opening balance",
                     [(accounts[customer], amount, currency),
                      (cfg.opening, -amount, currency)], [])
                )  # fmt: skip
    for day, _, _, record in events:
        customer = record.customer
        account = accounts[customer]
        currency = currency_of(record)
        amount = record.amount
        payee = names.get(customer, customer)
        if isinstance(record, Application):  # a discount the settlement gave
            narration = f"Early-payment discount on {record.invoice}"
            postings = [(cfg.discount, amount, currency), (account, -amount, currency)]
            comments = _applications((record,))
        elif hasattr(record, "kind"):  # an adjustment
            what = record.kind.replace("_", " ")
            narration = f"{what.capitalize()} {record.id}" + (
                f" on {record.invoice}" if record.invoice else ""
            )
            postings = [(adjusted[record.kind], amount, currency),
                        (account, -amount, currency)]  # fmt: skip
            comments = _applications(applied.get(record.id, ()))
        elif hasattr(record, "allocations"):  # a payment
            ref = record.id or str(record.source)
            narration = f"Payment {ref}" + (
                f" ref {record.reference}" if record.reference else ""
            )
            postings = [(cfg.bank, amount, currency), (account, -amount, currency)]
            comments = _applications(applied.get(ref, ()))
        else:
            narration = f"Invoice {record.id}"
            postings = [(account, amount, currency), (cfg.income, -amount, currency)]
            comments = []
        lines.append((day, payee, narration, postings, comments))
    for _, _, _, postings, _ in lines:
        used_accounts.update(account for account, _, _ in postings)
    if fmt == "beancount" and lines:
        first = min(day for day, *_ in lines)
        for account in sorted(used_accounts):
            writer.out.append(f"{first.isoformat()} open {account}")
        writer.out.append("")
    for day, payee, narration, postings, comments in lines:
        writer.transaction(day, payee, narration, postings, comments)
    return "\n".join(writer.out).rstrip("\n") + "\n" if writer.out else ""


def _applications(applications: Any) -> list[str]:
    return [
        f"applied {a.amount:f} to {a.invoice}"
        + (f" instalment {a.instalment}" if a.instalment is not None else "")
        + f" on {a.date.isoformat()}"
        for a in applications
    ]
