"""Statement confirmations (对账确认, SPEC §10): per customer and currency, the
last statement sent, the balance it showed, and the customer's answer.

Pure: the view, the statements on record (`mail.read_statement_log`) and the
settings' `statement.reply_days` in, typed result out. A statement is known from
the statement log (sent by `statement --all --send`, or recorded with `--out DIR
--record`) or, when sent outside arledger, from the answer alone: then the
balance it showed is the ledger's balance on the statement's date, the figure
`arledger statement` prints for that day.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from arledger.ledger import LedgerView
from arledger.model import Confirmation
from arledger.money import ZERO
from arledger.report import Column, Report, Section, every_currency
from arledger.reports.statement import balance, customers_of

if TYPE_CHECKING:
    from arledger.mail import StatementEntry

# The answers, most in need of a look first (the report's order).
Answer = Literal["disputed", "different", "no answer", "waiting", "confirmed"]
ANSWERS: tuple[Answer, ...] = (
    "disputed",
    "different",
    "no answer",
    "waiting",
    "confirmed",
)


@dataclass(frozen=True, slots=True)
class StatementAnswer:
    """The last statement of a customer in a currency, and its answer."""

    customer: str
    name: str
    currency: str
    statement_date: date
    sent: date | None  # first sent or recorded as sent; None: not on record
    shown: Decimal  # the closing balance the statement showed
    answer: Answer
    their_balance: Decimal | None  # the balance in the customer's answer
    reply_by: date | None  # sent + reply_days (None when not on record)
    note: str | None

    @property
    def difference(self) -> Decimal | None:
        """Their balance less ours: what to reconcile (None without an answer)."""
        if self.their_balance is None:
            return None
        return self.their_balance - self.shown


@dataclass(frozen=True, slots=True)
class CurrencyConfirmations:
    currency: str
    rows: tuple[StatementAnswer, ...]

    def count(self, answer: Answer) -> int:
        return sum(1 for r in self.rows if r.answer == answer)


@dataclass(frozen=True)
class ConfirmationsResult:
    as_of: date
    reply_days: int
    sections: tuple[CurrencyConfirmations, ...]
    currencies: Callable[[], Collection[str]] = field(
        default=frozenset, compare=False, repr=False
    )


def answer_of(
    shown: Decimal,
    found: Confirmation | None,
    sent: date | None,
    as_of: date,
    reply_days: int,
) -> Answer:
    """A statement's answer (SPEC §10): confirmed and equal, confirmed but
    different, disputed, no answer once `reply_days` after sending have passed
    (the last day to reply still counts as waiting), else waiting."""
    if found is not None:
        if found.status == "disputed":
            return "disputed"
        return "confirmed" if found.balance == shown else "different"
    if sent is not None and as_of > sent + timedelta(days=reply_days):
        return "no answer"
    return "waiting"


def compute(
    view: LedgerView,
    sent: Sequence[StatementEntry],
    *,
    reply_days: int | None = None,
) -> ConfirmationsResult:
    """Each customer's last statement per currency as of `view.as_of`, and its answer.

    Args:
        view: the ledger as of the report's date, filtered (customers, owner,
            currency, key accounts); its `confirmations` are the answers.
        sent: the statement log's lines; those sent after as-of are left out.
        reply_days: days a customer has to answer (default `statement.reply_days`).

    Returns:
        Sections per currency; rows by answer (disputed, different, no answer,
        waiting, confirmed), then customer.
    """
    from arledger.settle import settle

    ledger = view.ledger
    as_of = view.as_of
    days = view.settings.statement.reply_days if reply_days is None else reply_days
    kept = set(customers_of(view))

    # The statements on record: per (customer, currency, statement date), the
    # first day it went out and the balance it showed (the latest line's).
    statements: dict[tuple[str, str, date], tuple[date, Decimal]] = {}
    for entry in sent:
        if entry.date > as_of or entry.customer not in kept:
            continue
        if view.currency is not None and entry.currency != view.currency:
            continue
        key = (entry.customer, entry.currency, entry.statement_date)
        first = statements.get(key, (entry.date, entry.balance))[0]
        statements[key] = (min(first, entry.date), entry.balance)
    answers: dict[tuple[str, str, date], Confirmation] = {}
    for confirmation in view.confirmations:  # file order: the later one wins
        if confirmation.customer in kept:
            currency = ledger.currency_of(confirmation)
            answers[(confirmation.customer, currency, confirmation.date)] = confirmation

    last: dict[tuple[str, str], date] = {}
    for customer, currency, day in (*statements, *answers):
        key2 = (customer, currency)
        last[key2] = max(last.get(key2, day), day)

    rows: dict[str, list[StatementAnswer]] = {}
    for (customer, currency), day in last.items():
        key = (customer, currency, day)
        found = answers.get(key)
        if key in statements:
            sent_on, shown = statements[key]
        else:  # sent outside arledger: the ledger's balance that day
            one = ledger.view(day, customers=[customer], currency=currency)
            sent_on, shown = (
                None,
                balance(one, settle(one)).get((customer, currency), ZERO),
            )
        record = ledger.customers[customer]
        rows.setdefault(currency, []).append(
            StatementAnswer(
                customer=customer,
                name=record.name,
                currency=currency,
                statement_date=day,
                sent=sent_on,
                shown=shown,
                answer=answer_of(shown, found, sent_on, as_of, days),
                their_balance=found.balance if found is not None else None,
                reply_by=sent_on + timedelta(days=days) if sent_on else None,
                note=found.note if found is not None else None,
            )
        )
    sections = tuple(
        CurrencyConfirmations(
            currency,
            tuple(
                sorted(
                    found_rows,
                    key=lambda r: (ANSWERS.index(r.answer), r.customer),
                )
            ),
        )
        for currency, found_rows in sorted(rows.items())
    )
    return ConfirmationsResult(as_of, days, sections, view.currencies)


COLUMNS = (
    Column("customer", "Customer"),
    Column("name", "Name"),
    Column("statement_date", "Statement", "date"),
    Column("sent", "Sent", "date"),
    Column("balance", "Balance shown", "money"),
    Column("answer", "Answer", tone=None),
    Column("their_balance", "Their balance", "money"),
    Column("difference", "Difference", "money", "bad"),
    Column("reply_by", "Reply by", "date"),
    Column("note", "Note"),
)


def to_report(result: ConfirmationsResult) -> Report:
    """The confirmations report: one row per customer and currency."""
    sections = []
    for section in every_currency(
        result.sections,
        result.currencies(),
        lambda currency: CurrencyConfirmations(currency, ()),
    ):
        rows = tuple(
            {
                "customer": r.customer,
                "name": r.name,
                "statement_date": r.statement_date,
                "sent": r.sent,
                "balance": r.shown,
                "answer": r.answer,
                "their_balance": r.their_balance,
                "difference": r.difference,
                "reply_by": r.reply_by,
                "note": r.note,
            }
            for r in section.rows
        )
        sections.append(
            Section(
                section.currency,
                COLUMNS,
                rows,
                None,
                title=f"Statement confirmations as of {result.as_of.isoformat()} — "
                f"{section.currency}",
                summary=tuple(
                    (
                        Column(answer.replace(" ", "_"), answer.capitalize(), "int"),
                        section.count(answer),
                    )
                    for answer in ANSWERS
                ),  # fmt: skip
            )
        )
    title = f"Statement confirmations as of {result.as_of.isoformat()}"
    meta = {"reply_days": result.reply_days}
    return Report("confirmations", title, result.as_of, tuple(sections), meta)
