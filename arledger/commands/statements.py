"""`statement --all`: a statement of account (对账单) for every customer, written
to a folder or e-mailed (SPEC §10), under the sending rules of dunning (SPEC §2,
Sending: `mail.send_lock`, `mail.send_each`, the all-or-nothing `fileio.write_set`).

One statement per customer and currency with an open balance or activity in the
period; its balance is what `arledger confirmations` compares the answer with.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arledger.commands import common
from arledger.commands.common import stderr
from arledger.errors import UsageError
from arledger.report import Column

if TYPE_CHECKING:
    from email.message import EmailMessage

    from arledger.ledger import Ledger
    from arledger.report import Report
    from arledger.reports.statement import StatementResult

PAGE_FORMATS = ("html", "md")
TEMPLATES = {"html": "statement.html.j2", "md": "statement.md.j2"}


@dataclass(frozen=True)
class Statement:
    """One customer's statement in one currency, as sent or written.

    `as_of` is the statement's date, `total` its closing balance and `level` its
    currency: the names `mail.build_message` reads.
    """

    customer: str
    name: str
    email: str | None
    language: str
    currency: str
    as_of: date
    total: Decimal
    result: StatementResult  # with this currency's section only

    @property
    def level(self) -> str:
        return self.currency


def page(ledger: Ledger, result: StatementResult, language: str, fmt: str) -> str:
    """The printable statement (html or md) in `language`, from the built-in
    template or the ledger's own (`templates/statement.html.j2`, `.md.j2`)."""
    from arledger.letters import render_template
    from arledger.reports import statement as statement_report

    company = ledger.settings.company.in_language(language)
    context = statement_report.html_context(result, company=company, language=language)
    return render_template(TEMPLATES[fmt], context, ledger_root=ledger.root)


def language_of(ledger: Ledger, customer: str, given: str | None) -> str:
    return given or ledger.customers[customer].language or ledger.settings.language


def compute_all(
    ledger: Ledger,
    view: Any,
    *,
    period: str | None,
    start_text: str | None,
    end_text: str | None,
    language: str | None,
) -> list[Statement]:
    """The statements of every customer in `view` (its filters: --customer,
    --owner, --key-accounts, --currency) with an open balance or activity in the
    period; one per currency, customers in id order.

    Each is computed as `statement CUSTOMER` computes it, from the ledger as of
    the statement's date, so the two agree to the cent.
    """
    from arledger.commands.cash import statement_period
    from arledger.reports import statement as statement_report
    from arledger.settle import settle

    found: list[Statement] = []
    for customer in statement_report.customers_of(view):
        start, end = statement_period(
            ledger, customer, view.as_of, period, start_text, end_text
        )
        one = ledger.view(end, customers=[customer], currency=view.currency)
        result = statement_report.compute(one, settle(one), customer, start=start)
        record = ledger.customers[customer]
        for section in result.sections:
            if not (section.closing or section.lines or section.open_lines):
                continue  # nothing owed and nothing happened: no statement
            found.append(
                Statement(
                    customer=customer,
                    name=record.name,
                    email=record.email,
                    language=language_of(ledger, customer, language),
                    currency=section.currency,
                    as_of=end,
                    total=section.closing,
                    result=dataclasses.replace(result, sections=(section,)),
                )
            )
    return found


def file_name(statement: Statement, fmt: str, several: bool) -> str:
    """`ACME.html`; `ACME-EUR.html` when the customer has two currencies."""
    from arledger.commands.dunning import file_name as letter_file_name

    return letter_file_name(statement, fmt, several)  # type: ignore[arg-type]


def write_all(
    ledger: Ledger,
    statements: Sequence[Statement],
    out: Path,
    fmt: str,
    *,
    force: bool,
    dry_run: bool,
) -> dict[tuple[str, str], str]:
    """Every statement rendered first (a template error writes nothing), none
    over an existing file without --force, then all written or none (as
    `dunning --out`)."""
    from arledger.commands.dunning import refuse_existing
    from arledger.fileio import write_set

    counts: dict[str, int] = {}
    for s in statements:
        counts[s.customer] = counts.get(s.customer, 0) + 1
    targets = [(s, out / file_name(s, fmt, counts[s.customer] > 1)) for s in statements]
    if not force:
        refuse_existing([path for _, path in targets])
    rendered = [
        (s, path, page(ledger, s.result, s.language, fmt)) for s, path in targets
    ]
    if not dry_run:
        write_set(
            [(path, data) for _, path, data in rendered],
            force=force,
            protected=ledger.files,
        )
    done = "would write" if dry_run else "wrote"
    stderr(f"arledger: {done} {len(rendered)} statement(s) to {out}")
    return {(s.customer, s.currency): str(path) for s, path, _ in rendered}


def already_sent(log: Sequence[Any], statement: Statement) -> Any | None:
    """The log line of this statement (customer, currency, statement date), if
    it went out (or was recorded) before."""
    return next(
        (
            e
            for e in reversed(log)
            if e.customer == statement.customer
            and e.currency == statement.currency
            and e.statement_date == statement.as_of
        ),
        None,
    )


def record(statements: Sequence[Statement], log_file: Path) -> None:
    """--out DIR --record: the statements written recorded as sent today (by
    hand or post), except those already on record."""
    from arledger import mail

    today = common.today()
    log = mail.read_statement_log(log_file)
    new = [
        mail.StatementEntry(today, s.customer, s.currency, s.as_of, s.total, "")
        for s in statements
        if already_sent(log, s) is None
    ]
    if new:
        mail.append_log(log_file, new, mail.STATEMENT_LOG_FIELDS)
    again = len(statements) - len(new)
    already = f" ({again} already on record)" if again else ""
    stderr(f"arledger: recorded {len(new)} statement(s) as sent in {log_file}{already}")


def message(ledger: Ledger, statement: Statement, now: Any) -> EmailMessage:
    """The statement as an e-mail: the Markdown page as text, the HTML page as
    its alternative, a Message-ID stable for the same statement on the same day."""
    from arledger import mail
    from arledger.labels import for_language
    from arledger.letters import _zh_date
    from arledger.money import grouped

    lang = statement.language
    company = ledger.settings.company.in_language(lang).name
    amount = f"{statement.currency} {grouped(statement.total, statement.currency)}"
    words = for_language(lang)
    day = _zh_date(statement.as_of) if lang == "zh" else statement.as_of.isoformat()
    subject = words("subject.statement", day=day, amount=amount)
    if company:
        subject = words("subject.statement.from", subject=subject, company=company)
    return mail.build_message(
        statement,  # type: ignore[arg-type]
        subject=subject,
        text=page(ledger, statement.result, lang, "md"),
        html=page(ledger, statement.result, lang, "html"),
        from_address=mail.sender(ledger.settings),
        now=now,
        kind="statement",
    )


def send(
    ledger: Ledger,
    statements: Sequence[Statement],
    log_file: Path,
    dry_run: bool,
    view: Any,
) -> Report:
    """E-mail every statement not sent before (run under the send lock)."""
    import os
    from datetime import datetime

    from arledger import mail

    mail.check_smtp(ledger.settings.smtp, os.environ)
    log = mail.read_statement_log(log_file)
    today = common.today()
    now = datetime.now().astimezone()
    outgoing = [(s, message(ledger, s, now)) for s in statements]

    def sent_before(statement: Statement) -> tuple[str | None, str] | None:
        earlier = already_sent(log, statement)
        if earlier is None:
            return None
        how = "sent" if earlier.message_id else "recorded as sent"
        return (
            earlier.message_id or None,
            f"statement of {statement.as_of.isoformat()} already {how} "
            f"{earlier.date.isoformat()}",
        )

    def entry(statement: Statement, mid: str) -> Any:
        return mail.StatementEntry(
            today,
            statement.customer,
            statement.currency,
            statement.as_of,
            statement.total,
            mid,
        )

    deliveries = mail.send_each(
        outgoing,
        smtp=ledger.settings.smtp,
        log_file=log_file,
        fields=mail.STATEMENT_LOG_FIELDS,
        sent_before=sent_before,
        entry=entry,
        dry_run=dry_run,
        environ=os.environ,
    )
    counts = {status: 0 for status in ("sent", "would send", "skipped")}
    for d in deliveries:
        counts[d.status] += 1
    if dry_run:
        stderr(
            f"arledger: dry run: {counts['would send']} to send, "
            f"skipped {counts['skipped']}"
        )
    else:
        stderr(f"arledger: sent {counts['sent']}, skipped {counts['skipped']}")
    rows = [
        {
            "customer": d.letter.customer,
            "name": d.letter.name,
            "statement_date": d.letter.as_of,
            "balance": d.letter.total,
            "to": str(d.to) if d.to else None,
            "status": d.status,
            "reason": d.reason,
            "message_id": str(d.message_id) if d.message_id else None,
            "currency": d.letter.currency,
        }
        for d in deliveries
    ]
    what = "Statements dry run" if dry_run else "Statements sent"
    return summary(rows, what, SEND_COLUMNS, view)


def summary(
    rows: Sequence[dict[str, Any]],
    what: str,
    columns: tuple[Column, ...],
    view: Any,
) -> Report:
    """A report of the statements, one section per currency with records (an
    empty one when no customer has a statement in it)."""
    from arledger.report import Report, Section

    as_of = view.as_of
    by_currency: dict[str, list[dict[str, Any]]] = {c: [] for c in view.currencies()}
    for row in rows:
        by_currency.setdefault(row["currency"], []).append(
            {k: v for k, v in row.items() if k != "currency"}
        )
    title = f"{what} as of {as_of.isoformat()}"
    sections = tuple(
        Section(
            currency,
            columns,
            tuple(found),
            {"balance": sum((r["balance"] for r in found), Decimal(0))},
            title=f"{title} — {currency}",
        )
        for currency, found in sorted(by_currency.items())
    )
    return Report("statements", title, as_of, sections)


SUMMARY_COLUMNS = (
    Column("customer", "Customer"),
    Column("name", "Name"),
    Column("statement_date", "Date", "date"),
    Column("balance", "Balance", "money"),
)
WRITE_COLUMNS = (*SUMMARY_COLUMNS, Column("file", "File"))
SEND_COLUMNS = (
    *SUMMARY_COLUMNS,
    Column("to", "To"),
    Column("status", "Status"),
    Column("reason", "Why"),
    Column("message_id", "Message-ID"),
)


def written_report(
    statements: Sequence[Statement],
    files: dict[tuple[str, str], str] | None,
    view: Any,
) -> Report:
    rows = [
        {
            "customer": s.customer,
            "name": s.name,
            "statement_date": s.as_of,
            "balance": s.total,
            "file": files.get((s.customer, s.currency)) if files else None,
            "currency": s.currency,
        }
        for s in statements
    ]
    return summary(rows, "Statements", WRITE_COLUMNS, view)


def run_all(
    *,
    ledger_dir: Path | None,
    as_of: str | None,
    customer: list[str] | None,
    owner: str | None,
    key_accounts: bool,
    currency: str | None,
    period: str | None,
    start_text: str | None,
    end_text: str | None,
    language: str | None,
    fmt: str | None,
    out: Path | None,
    send_mail: bool,
    dry_run: bool,
    record_sent: bool,
    force: bool,
    sink: common.Output,
) -> None:
    """`statement --all`: compute, write (--out), record or send, summarise."""
    import contextlib

    from arledger import mail
    from arledger.commands.dunning import check_out

    page_format = fmt or "html"
    if page_format not in PAGE_FORMATS:
        raise UsageError(
            f"--format: {page_format!r}: with --all give html or md (the statements' "
            "format); the summary's format follows --output"
        )
    if out is None and not send_mail:
        raise UsageError("--all writes the statements with --out DIR or sends them "
                         "with --send")  # fmt: skip
    if record_sent and out is None:
        raise UsageError("--record records the statements written by --out DIR")
    sink.resolve_format()
    sink.check(ledger_dir)
    if out is not None:
        check_out(out, ledger_dir)
    loaded = common.load_ledger(ledger_dir, rows=True)  # every record is read
    view = common.make_view(loaded, as_of, customer, owner, currency, key_accounts)
    statements = compute_all(
        loaded,
        view,
        period=period,
        start_text=start_text,
        end_text=end_text,
        language=language,
    )
    log_file = mail.statement_log_path(loaded.root)
    lock = (
        mail.send_lock(log_file, say=stderr, command="statement --all --send")
        if (send_mail or record_sent) and not dry_run
        else contextlib.nullcontext()
    )
    with lock:
        files = None
        if out is not None:
            files = write_all(
                loaded, statements, out, page_format, force=force, dry_run=dry_run
            )
            if record_sent and not dry_run:
                record(statements, log_file)
        if send_mail:
            report = send(loaded, statements, log_file, dry_run, view)
        else:
            report = written_report(statements, files, view)
    sink.emit(report, loaded.files, loaded.settings)
    if not statements and sys.stderr.isatty():
        stderr("arledger: no customer has a balance or activity in the period")
