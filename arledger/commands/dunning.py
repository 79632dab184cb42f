"""`dunning`: letters for late customers (催款函), and sending them.

Thin shell over `reports.dunning` (who gets which letter), `letters` (the text)
and `mail` (messages, SMTP, the sent log).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from arledger.commands import common
from arledger.commands.common import (
    FORMATS,
    AsOfOpt,
    BomOpt,
    CurrencyOpt,
    CustomerOpt,
    ForceOpt,
    KeyAccountsOpt,
    LedgerOpt,
    Output,
    OutputOpt,
    OwnerOpt,
    StateOpt,
    check_target,
    exit_codes,
    load_ledger,
    make_view,
    option,
    parse_fail_on,
    stderr,
)
from arledger.errors import OutputExists, UsageError

if TYPE_CHECKING:
    from email.message import EmailMessage

    from arledger.ledger import Ledger
    from arledger.reports.dunning import DunningResult, Letter

LETTER_FORMATS = ("md", "txt", "html", "eml")
LETTER_SUFFIXES = (".html", ".htm", ".eml")

OutOpt = Annotated[
    Path | None,
    option("--out", metavar="DIR",
           help="Write one letter per customer into the folder DIR, made when "
           "missing (md, txt, html or eml; an existing letter is replaced only "
           "with --force). The summary goes to --output FILE."),
]  # fmt: skip
LetterFormatOpt = Annotated[
    str | None,
    option("--format", "-f", metavar="FORMAT",
           help="With --out or --preview: md (default), txt, html or eml. "
           "Otherwise the summary's format: table, csv, json, md or xlsx."),
]  # fmt: skip
PreviewOpt = Annotated[
    str | None,
    option("--preview", metavar="CUSTOMER",
           help="Print this customer's letter (id or exact name) and exit."),
]  # fmt: skip
SendOpt = Annotated[
    bool,
    typer.Option("--send", help="E-mail the letters over SMTP (settings `smtp`); "
                 "a level already sent within dunning.resend_days is not sent "
                 "again (dunning-log.csv)."),
]  # fmt: skip
FailOnOpt = Annotated[
    list[str] | None,
    option("--fail-on", metavar="WHAT",
           help="Exit 1 when this is found: overdue (a customer whose letter is "
           "about money past due, sent or not), hold (a customer on credit hold), "
           "broken-promise or broken-plan (a collection plan instalment missed); "
           "new-overdue (an item overdue since the last run), new-hold, "
           "new-broken-promise or new-broken-plan, with --state. Repeatable. "
           "For cron."),
]  # fmt: skip
RecordOpt = Annotated[
    bool,
    typer.Option("--record", help="With --out: record the letters written as "
                 "sent (delivered by hand or post) in dunning-log.csv, so the "
                 "next level follows from them."),
]  # fmt: skip
WorklistOpt = Annotated[
    bool,
    typer.Option("--worklist", help="The day's tasks instead of the summary: "
                 "levels with an action (call, visit, agency, legal), by owner."),
]  # fmt: skip
DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what --send would send, or which files "
                 "--out would write, and do nothing."),
]  # fmt: skip


@exit_codes
def dunning(
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    currency: CurrencyOpt = None,
    out: OutOpt = None,
    format: LetterFormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = None,
    preview: PreviewOpt = None,
    send: SendOpt = False,
    dry_run: DryRunOpt = False,
    fail_on: FailOnOpt = None,
    state: StateOpt = None,
    record: RecordOpt = False,
    worklist: WorklistOpt = False,
) -> None:
    """Dunning letters (催款函) for late customers, by level; --out, --preview, --send.

    Without --out, --preview or --send: a summary of who gets which letter, for
    how much, and who is skipped and why.
    """
    from arledger import mail
    from arledger.reports import dunning as dunning_report
    from arledger.settle import settle

    letter_format, sink = _formats(format, output, force, out, preview, send, bom)
    if record and out is None:
        raise UsageError("--record records the letters written by --out DIR")
    alerts = parse_fail_on(fail_on, state, ledger)
    sink.check(ledger)
    if out is not None:
        check_out(out, ledger)
    # The invoices of the open items are read (`Ledger.invoices_of`): of a
    # big ledger kept as cells, the others are never made rows.
    loaded = load_ledger(ledger)
    view = make_view(loaded, as_of, customer, owner, currency, key_accounts)
    log_file = mail.log_path(loaded.root)
    # One --send at a time, from reading the sent log to recording the last
    # message (SPEC §2, Sending): the levels are chosen from that log too.
    lock = (
        mail.send_lock(log_file, say=stderr)
        if (send or record) and not dry_run
        else contextlib.nullcontext()
    )
    with lock:
        # Levels, promises and plans read the applications; no item paid in
        # full is read (an episode's start is read from the applications).
        settlement = settle(view, paid=False)
        result = dunning_report.compute(view, settlement, sent=mail.read_log(log_file))

        if worklist:
            sink.emit(
                dunning_report.worklist(result, view, settlement),
                loaded.files,
                loaded.settings,
            )
            raise typer.Exit(_attention(view, settlement, result, alerts, loaded.files))
        summary = result
        # Levels that are tasks (call, visit, ...) are on the worklist, not
        # written or sent.
        result = dataclasses.replace(
            result, letters=tuple(lt for lt in result.letters if lt.action == "letter")
        )
        if preview is not None:
            _preview(loaded, result, preview, letter_format, sink)
            raise typer.Exit(common.ExitCode.OK)
        files = None
        if out is not None:
            files = _write_letters(loaded, result, out, letter_format, force, dry_run)
            if record and not dry_run:
                _record(result, log_file)
        if send:
            report = _send(loaded, result, dry_run)
        else:
            report = dunning_report.to_report(summary, files)
    sink.emit(report, loaded.files, loaded.settings)
    raise typer.Exit(_attention(view, settlement, result, alerts, loaded.files))


def _formats(
    fmt: str | None,
    output: Path | None,
    force: bool,
    out: Path | None,
    preview: str | None,
    send: bool,
    bom: bool | None = None,
) -> tuple[str, Output]:
    """The letters' format and where the summary goes; usage errors early."""
    if preview is not None and (out is not None or send):
        raise UsageError("--preview prints one letter: leave out --out and --send")
    if out is not None or preview is not None:
        letter_format = fmt or "md"
        if letter_format not in LETTER_FORMATS:
            raise UsageError(
                f"--format: {letter_format!r} is not a letter format; with --out "
                f"or --preview give one of {', '.join(LETTER_FORMATS)}"
            )
        sink = Output(None, output, force, bom)
    else:
        if fmt is not None and fmt not in FORMATS:
            raise UsageError(
                f"--format: {fmt!r} is not one of {', '.join(FORMATS)} "
                f"({', '.join(LETTER_FORMATS)} are for letters: give --out DIR)"
            )
        letter_format = "md"
        sink = Output(fmt, output, force, bom)
    if preview is None:
        sink.resolve_format()  # the summary's format (a preview is the letter)
    return letter_format, sink


def check_out(out: Path, ledger_dir: Path | None) -> None:
    """--out is the letters' folder, --output the summary's file: refuse a file
    where a folder belongs, and the ledger's own places (check_target)."""
    from arledger.render import SUFFIXES

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} is not a directory")
    if not out.exists() and out.suffix.lower() in (*SUFFIXES, *LETTER_SUFFIXES):
        raise UsageError(
            f"--out: {out} looks like a file: --out takes the folder for the "
            "letters; write the summary to a file with --output FILE"
        )
    check_target(out, "--out", ledger_dir, folder=True)


def _now() -> Any:
    from datetime import datetime

    return datetime.now().astimezone()


def render(ledger: Ledger, letter: Letter, fmt: str) -> str | bytes:
    """One letter in md, txt, html, or eml (bytes)."""
    from arledger import letters, mail

    if fmt == "eml":
        return mail.as_bytes(message(ledger, letter))
    return letters.render_letter(
        letter, fmt, settings=ledger.settings, ledger_root=ledger.root
    )


def message(ledger: Ledger, letter: Letter) -> EmailMessage:
    from arledger import letters

    return letters.letter_message(
        letter, settings=ledger.settings, ledger_root=ledger.root, now=_now()
    )


def _preview(
    ledger: Ledger, result: DunningResult, who: str, fmt: str, sink: Output
) -> None:
    """Print one customer's letter (or write it to --output FILE)."""
    customer = common.find_customer(ledger, who, "--preview")
    found = [letter for letter in result.letters if letter.customer == customer]
    if not found:
        skipped = [s for s in result.skipped if s.customer == customer]
        why = f": skipped, {skipped[0].reason}" if skipped else ": nothing is due"
        raise UsageError(
            f"--preview: no letter for {customer} as of {result.as_of.isoformat()}{why}"
        )
    parts = [render(ledger, letter, fmt) for letter in found]
    if isinstance(parts[0], bytes):
        data: str | bytes = b"\r\n".join(p for p in parts if isinstance(p, bytes))
    else:
        data = "\n".join(str(p) for p in parts)
    if sink.output is not None:
        from arledger.fileio import write_output

        write_output(sink.output, data, force=sink.force, protected=ledger.files)
    elif isinstance(data, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        typer.echo(data, nl=False)


def file_name(letter: Letter, fmt: str, several: bool) -> str:
    """`ACME.md`; `ACME-EUR.md` when the customer has letters in two currencies."""
    stem = re.sub(r"[^\w.-]+", "_", letter.customer).strip("._") or "customer"
    if several:
        stem = f"{stem}-{letter.currency}"
    return f"{stem}.{fmt}"


def _write_letters(
    ledger: Ledger,
    result: DunningResult,
    out: Path,
    fmt: str,
    force: bool,
    dry_run: bool,
) -> dict[tuple[str, str], str]:
    """Render every letter first (a template error writes nothing), refuse to
    overwrite any existing letter without --force, then write them."""
    from arledger.fileio import write_set

    counts: dict[str, int] = {}
    for letter in result.letters:
        counts[letter.customer] = counts.get(letter.customer, 0) + 1
    targets = [
        (letter, out / file_name(letter, fmt, counts[letter.customer] > 1))
        for letter in result.letters
    ]
    if not force:
        refuse_existing([path for _, path in targets])
    if fmt == "eml":
        from arledger import mail

        mail.sender(ledger.settings)  # no sender: say so before writing anything
    rendered = [(letter, path, render(ledger, letter, fmt)) for letter, path in targets]
    if not dry_run:  # all or nothing: a full disk leaves no partial set
        write_set(
            [(path, data) for _, path, data in rendered],
            force=force,
            protected=ledger.files,
        )
    files: dict[tuple[str, str], str] = {}
    for letter, path, _ in rendered:
        if not dry_run and fmt == "eml" and not letter.email:
            stderr(f"arledger: {path}: {letter.customer} has no email; no To")
        files[(letter.customer, letter.currency)] = str(path)
    done = "would write" if dry_run else "wrote"
    stderr(f"arledger: {done} {len(rendered)} letter(s) to {out}")
    return files


def refuse_existing(paths: list[Path]) -> None:
    """Before anything is rendered or written: no file of the set may exist
    (without --force), so a second run never replaces what the first wrote.

    Raises:
        OutputExists: naming the first and how many more.
    """
    existing = [str(path) for path in paths if path.exists()]
    if existing:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise OutputExists(f"{existing[0]}{more} exist; use --force to replace")


def _record(result: DunningResult, log_file: Path) -> None:
    """Record the letters just written as sent today (by hand or post), except
    a level already recorded for that customer within resend_days."""
    from arledger import mail

    today = common.today()
    log = mail.read_log(log_file)
    new = [
        mail.LogEntry(today, lt.customer, lt.level, lt.currency, lt.total, "")
        for lt in result.letters
        if mail.sent_recently(log, lt, today, result.policy.resend_days) is None
    ]
    if new:
        mail.append_log(log_file, new)
    again = len(result.letters) - len(new)
    already = f" ({again} already recorded within resend_days)" if again else ""
    stderr(f"arledger: recorded {len(new)} letter(s) as sent in {log_file}{already}")


def _send(ledger: Ledger, result: DunningResult, dry_run: bool) -> Any:
    """Send (or with --dry-run, list) every letter; a Report of what happened."""
    from arledger import mail
    from arledger.report import Column, Report, Section

    outgoing = [(letter, message(ledger, letter)) for letter in result.letters]
    deliveries = mail.deliver(
        outgoing,
        smtp=ledger.settings.smtp,
        log_file=mail.log_path(ledger.root),
        today=common.today(),
        resend_days=result.policy.resend_days,
        dry_run=dry_run,
        environ=os.environ,
    )
    columns = (
        Column("customer", "Customer"),
        Column("name", "Name"),
        Column("level", "Level"),
        Column("amount", "Amount", "money"),
        Column("to", "To"),
        Column("status", "Status"),
        Column("reason", "Why"),
        Column("message_id", "Message-ID"),
    )
    rows: dict[str, list[dict[str, Any]]] = {}
    for d in deliveries:
        rows.setdefault(d.letter.currency, []).append(
            {
                "customer": d.letter.customer,
                "name": d.letter.name,
                "level": d.letter.level,
                "amount": d.letter.total,
                "to": str(d.to) if d.to else None,
                "status": d.status,
                "reason": d.reason,
                "message_id": str(d.message_id) if d.message_id else None,
            }
        )
    for skip in result.skipped:  # no letter at all: say why, for the cron log
        rows.setdefault(skip.currency, []).append(
            {
                "customer": skip.customer,
                "name": skip.name,
                "level": skip.level,
                "amount": None,
                "to": None,
                "status": "skipped",
                "reason": skip.reason,
                "message_id": None,
            }
        )
    sent = sum(1 for d in deliveries if d.status == "sent")
    stderr(
        f"arledger: {'dry run: ' if dry_run else ''}"
        + (
            f"{sum(1 for d in deliveries if d.status == 'would send')} to send"
            if dry_run
            else f"sent {sent}"
        )
        + f", skipped {sum(1 for d in deliveries if d.status == 'skipped')}"
        + f" (and {len(result.skipped)} without a letter)"
    )
    what = "Dunning dry run" if dry_run else "Dunning sent"
    title = f"{what} as of {result.as_of.isoformat()}"
    sections = tuple(
        Section(currency, columns, tuple(rows[currency]), title=f"{title} — {currency}")
        for currency in sorted(rows)
    )
    return Report("dunning-send", title, result.as_of, sections)


def _attention(
    view: Any,
    settlement: Any,
    result: DunningResult,
    alerts: common.Alerts,
    protected: tuple[Path, ...],
) -> common.ExitCode:
    """--fail-on overdue: exit 1 when a customer is overdue at a dunning level
    (a letter about money past due, sent or not); other kinds, and the `new-`
    ones with their --state, as in every report."""
    code = common.ExitCode.OK
    if "overdue" in alerts:
        late = [letter for letter in result.letters if letter.overdue]
        if late:
            names = ", ".join(f"{lt.customer} ({lt.level})" for lt in late)
            stderr(
                f"arledger: attention: {len(late)} overdue at a dunning level: {names}"
            )
            code = common.ExitCode.ATTENTION
    others = alerts.without("overdue")
    if others and common.attention(view, settlement, others, protected):
        code = common.ExitCode.ATTENTION
    return code


def register(app: typer.Typer) -> None:
    app.command()(dunning)
