"""Letters as e-mail: RFC 5322 messages, SMTP delivery, and the sent log.

Messages are built with the stdlib `email` package (UTF-8 throughout) and sent
with `smtplib`; the SMTP password comes from the environment variable named by
`smtp.password_env`, never from a file. Every letter sent is appended to
`dunning-log.csv` in the ledger directory; the log stops the same level from
being sent to the same customer twice within `dunning.resend_days`. Statements
of account (`statement --all --send`) have their own log, `statement-log.csv`,
which stops the same statement (customer, currency, statement date) from being
sent twice. Both go through one sending path (`send_each`, SPEC §2, Sending).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from arledger.errors import ArledgerError
from arledger.money import plain

if TYPE_CHECKING:
    import smtplib
    from email.message import EmailMessage

    from arledger.errors import LedgerError
    from arledger.ledger import Ledger
    from arledger.model import Settings, SmtpSettings
    from arledger.reports.dunning import Letter

LOG_NAME = "dunning-log.csv"
LOG_FIELDS = ("date", "customer", "level", "currency", "amount", "message_id")
# SPEC §10: statements of account sent (or recorded as sent), one line each.
STATEMENT_LOG_NAME = "statement-log.csv"
STATEMENT_LOG_FIELDS = (
    "date",
    "customer",
    "currency",
    "statement_date",
    "balance",
    "message_id",
)


class MailError(ArledgerError):
    """Mail cannot be built or sent (no sender, SMTP refused, no password...)."""


# ---------------------------------------------------------------- messages


def title(level: str, language: str) -> str:
    """The letter's title for a level: `Overdue notice`, `催款函`, ..."""
    from arledger.labels import for_language

    words = for_language(language).table
    return words.get(f"level.{level}", words["level.other"])


def subject(letter: Letter, company_name: str | None) -> str:
    """The Subject header: the level's title, the amount, and who writes.

    `Overdue notice: USD 16,668.90 past due — Bayview Trading Co.`,
    `催款函：逾期款项 USD 53,661.15（Bayview Trading Co.）`.
    """
    from arledger.labels import for_language
    from arledger.letters import letter_amount

    words = for_language(letter.language)
    text = words(
        "subject.letter",
        title=title(letter.level, letter.language),
        amount=letter_amount(letter.total, letter.currency, letter.language),
        what=words("subject.past_due" if letter.overdue else "subject.falling_due"),
    )
    if company_name:
        return words("subject.letter.from", subject=text, company=company_name)
    return text


def sender(settings: Settings) -> str:
    """The From address: `smtp.sender`, else `company.email`, named after the company.

    Raises:
        MailError: neither is set.
    """
    from email.utils import formataddr, parseaddr

    given = settings.smtp.sender if settings.smtp and settings.smtp.sender else None
    given = given or settings.company.email
    if not given:
        raise MailError(
            "no sender address: set smtp.sender or company.email in arledger.yaml"
        )
    name, address = parseaddr(given)
    if not address or "@" not in address:
        raise MailError(f"arledger.yaml: sender address {given!r} is not an address")
    return formataddr((name or settings.company.name or "", address))


def message_id(
    letter: Letter, body: str, from_address: str, kind: str = "dunning"
) -> str:
    """A Message-ID that is the same for the same letter on the same day.

    Re-running on the same day builds the same letter; a stable id lets mail
    systems recognise a duplicate instead of showing it twice. `kind` names
    what is sent (`dunning`, `statement`: then `letter.level` is its currency).
    """
    import hashlib
    from email.utils import parseaddr

    domain = parseaddr(from_address)[1].rpartition("@")[2] or "arledger.invalid"
    digest = hashlib.sha256(
        "\0".join(
            (letter.customer, letter.currency, letter.level, str(letter.total), body)
        ).encode("utf-8")
    ).hexdigest()[:16]
    local = re.sub(r"[^A-Za-z0-9.-]", "-", letter.customer).strip(".-") or "customer"
    return f"<{kind}.{letter.as_of:%Y%m%d}.{local}.{letter.level}.{digest}@{domain}>"


def build_message(
    letter: Letter,
    *,
    subject: str,
    text: str,
    html: str | None,
    from_address: str,
    now: datetime,
    reply_to: str | None = None,
    kind: str = "dunning",
) -> EmailMessage:
    """An RFC 5322 message for a letter: text/plain, with an HTML alternative.

    Args:
        letter: the letter (its customer's `email` is the To address; a letter
            without one gets no To header, for a mail tool to fill in).
        subject: the Subject header (any language: encoded as UTF-8).
        text: the plain-text letter.
        html: the same letter as HTML, or None.
        from_address: the From header (see `sender`).
        now: the Date header.
        reply_to: a Reply-To header, when replies should go elsewhere.
        kind: `dunning` (a letter) or `statement` (a statement of account, whose
            `level` is its currency and `as_of` its date).
    """
    from email.message import EmailMessage
    from email.utils import format_datetime, formataddr

    message = EmailMessage()
    message["From"] = from_address
    if letter.email:
        message["To"] = formataddr((letter.name, letter.email))
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(letter, text, from_address, kind)
    # RFC 3834: sent by a program, so vacation responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Arledger-Customer"] = letter.customer
    if kind == "dunning":
        message["X-Arledger-Level"] = letter.level
    else:
        message[f"X-Arledger-{kind.capitalize()}"] = (
            f"{letter.as_of.isoformat()} {letter.level}"
        )
    message.set_content(text, subtype="plain", charset="utf-8")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def as_bytes(message: EmailMessage) -> bytes:
    """The message as it goes on the wire and into an .eml file (CRLF lines)."""
    from email import policy

    return message.as_bytes(policy=policy.SMTP)


# ---------------------------------------------------------------- the sent log


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One letter sent: a line of `dunning-log.csv`."""

    date: date
    customer: str
    level: str
    currency: str
    amount: Decimal
    message_id: str
    line: int = field(default=0, compare=False)  # in the log file, for messages

    def row(self) -> tuple[str, ...]:
        """Its line in the log (LOG_FIELDS)."""
        return (
            self.date.isoformat(),
            self.customer,
            self.level,
            self.currency,
            plain(self.amount, self.currency),
            self.message_id,
        )


Day = date  # a name for the type that the field `date` below does not hide


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One statement of account sent (or recorded as sent): a line of
    `statement-log.csv`. `balance` is the closing balance it showed."""

    date: date
    customer: str
    currency: str
    statement_date: Day
    balance: Decimal
    message_id: str
    line: int = field(default=0, compare=False)

    def row(self) -> tuple[str, ...]:
        """Its line in the log (STATEMENT_LOG_FIELDS)."""
        return (
            self.date.isoformat(),
            self.customer,
            self.currency,
            self.statement_date.isoformat(),
            plain(self.balance, self.currency),
            self.message_id,
        )


def log_path(ledger_root: Path) -> Path:
    return ledger_root / LOG_NAME


def statement_log_path(ledger_root: Path) -> Path:
    return ledger_root / STATEMENT_LOG_NAME


def read_log(path: Path) -> list[LogEntry]:
    """The sent log (empty when there is none yet).

    Raises:
        MailError: a line cannot be read (not UTF-8, a broken CSV line, a field
            missing or malformed); the message is FILE:LINE: why.
    """

    def entry(row: dict[str, str], line: int) -> LogEntry:
        found = LogEntry(
            date=date.fromisoformat(row["date"].strip()),
            customer=row["customer"].strip(),
            level=row["level"].strip(),
            currency=row["currency"].strip(),
            amount=Decimal(row["amount"].strip() or "0"),
            message_id=row["message_id"].strip(),
            line=line,
        )
        if not found.customer or not found.level:
            raise ValueError("no customer or level")
        return found

    return _read_lines(path, LOG_FIELDS, entry, "date YYYY-MM-DD, amount a decimal")


def read_statement_log(path: Path) -> list[StatementEntry]:
    """The statements sent (`statement-log.csv`; empty when there is none yet).

    Raises:
        MailError: as `read_log`, FILE:LINE: why.
    """

    def entry(row: dict[str, str], line: int) -> StatementEntry:
        found = StatementEntry(
            date=date.fromisoformat(row["date"].strip()),
            customer=row["customer"].strip(),
            currency=row["currency"].strip(),
            statement_date=date.fromisoformat(row["statement_date"].strip()),
            balance=Decimal(row["balance"].strip()),
            message_id=row["message_id"].strip(),
            line=line,
        )
        if not found.customer or not found.currency:
            raise ValueError("no customer or currency")
        return found

    return _read_lines(
        path,
        STATEMENT_LOG_FIELDS,
        entry,
        "dates YYYY-MM-DD, balance a decimal",
    )


E = TypeVar("E")


def _read_lines(
    path: Path,
    fields: Sequence[str],
    entry: Callable[[dict[str, str], int], E],
    hint: str,
) -> list[E]:
    """A sent log's lines, each made an entry by `entry(row, line)`, which
    raises ValueError for a line it cannot read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise MailError(f"{path}: cannot read the sent log ({exc.strerror})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise MailError(
            f"{path}:{line}: not UTF-8 (byte 0x{data[exc.start]:02x}); the sent log "
            "is written by arledger in UTF-8: restore it or fix that line"
        ) from None
    if not text.strip():
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        columns = reader.fieldnames or ()
    except csv.Error as exc:
        raise MailError(f"{path}:1: not a CSV header ({exc})") from None
    missing = [f for f in fields if f not in columns]
    if missing:
        raise MailError(f"{path}:1: missing column {missing[0]!r}")
    entries = []
    line = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise MailError(f"{path}:{line}: not a CSV line ({exc})") from None
        try:
            values = [row.get(f) for f in fields]
            if None in row or any(v is None or "\n" in v or "\r" in v for v in values):
                # too many or too few fields, or a quote left open across lines
                raise ValueError("wrong number of fields")
            entries.append(entry(row, line))
        except (ValueError, InvalidOperation):
            raise MailError(
                f"{path}:{line}: not a log line (want {','.join(fields)}; {hint})"
            ) from None
        line = reader.line_num + 1
    return entries


def log_lines(entries: Iterable[LogEntry | StatementEntry]) -> str:
    """Log entries as CSV lines (no header)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for e in entries:
        writer.writerow(e.row())
    return out.getvalue()


class SentLog:
    """The sent log, open for appending for the whole of a `--send` run.

    Opening it proves it writable before the first message goes out (a log that
    cannot be written would let a letter go unrecorded and be sent again).
    `record` appends one line and forces it to disk before returning, so a
    message the server accepted is on record even if the run dies next.
    """

    def __init__(self, path: Path, fields: Sequence[str] = LOG_FIELDS) -> None:
        from arledger.fileio import open_append

        self.path = path
        try:
            self.file = open_append(path)
        except OSError as exc:
            raise MailError(
                f"{path}: cannot write the sent log ({exc.strerror}); nothing was sent"
            ) from None
        try:
            size = self.file.tell()
            if size == 0:
                self._write(",".join(fields) + "\n")
            else:
                self.file.seek(size - 1)
                if self.file.read(1) != b"\n":  # a last line without its end
                    self._write("\n")
        except OSError as exc:
            self.close()
            raise MailError(
                f"{path}: cannot write the sent log ({exc.strerror}); nothing was sent"
            ) from None

    def _write(self, text: str) -> None:
        from arledger.fileio import append_synced

        append_synced(self.file, text)

    def record(self, entry: LogEntry | StatementEntry) -> None:
        """Append one line and fsync it.

        Raises:
            MailError: the line could not be written (the message it records
                was sent: say so, so that it is not sent again by hand).
        """
        try:
            self._write(log_lines([entry]))
        except OSError as exc:
            raise MailError(
                f"{self.path}: {entry.message_id} to {entry.customer} was sent but "
                f"could not be recorded ({exc.strerror}); add this line by hand "
                f"before the next run: {log_lines([entry]).strip()}"
            ) from None

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> SentLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def append_log(
    path: Path,
    entries: Sequence[LogEntry | StatementEntry],
    fields: Sequence[str] = LOG_FIELDS,
) -> None:
    """Append lines to a sent log (each forced to disk)."""
    with SentLog(path, fields) as log:
        for entry in entries:
            log.record(entry)


# How long a second `--send` run waits for the first (seconds).
LOCK_TIMEOUT = 120.0


def lock_path(log_file: Path) -> Path:
    return log_file.with_name(f".{log_file.name}.lock")


@contextmanager
def send_lock(
    log_file: Path,
    *,
    timeout: float | None = None,
    say: Callable[[str], None] = lambda _: None,
    command: str = "dunning --send",
) -> Iterator[None]:
    """Hold the ledger's send lock: one `dunning --send` run at a time (one
    `statement --all --send` with the statement log).

    The lock is taken before the sent log is read and held until the last
    message is recorded, so a second run (a cron job and a clerk) waits and then
    sees what the first one sent. It waits `timeout` seconds (`LOCK_TIMEOUT`),
    saying so once, then gives up.

    Raises:
        MailError: the lock cannot be taken (another run still holds it, or the
            lock file cannot be created).
    """
    from filelock import FileLock, Timeout

    wait = LOCK_TIMEOUT if timeout is None else timeout
    where = lock_path(log_file)
    lock = FileLock(str(where))
    try:
        try:
            lock.acquire(timeout=0)
        except Timeout:
            say(
                f"arledger: another `{command}` is running on this ledger; "
                f"waiting up to {wait:g} s for it to finish ({where})"
            )
            lock.acquire(timeout=wait)
    except Timeout:
        raise MailError(
            f"{where}: another `{command}` still runs after {wait:g} s; "
            "nothing was sent (run again once it has finished)"
        ) from None
    except OSError as exc:
        raise MailError(
            f"{where}: cannot take the send lock ({exc.strerror or exc}); nothing "
            "was sent"
        ) from None
    try:
        yield
    finally:
        lock.release()


def log_problems(ledger: Ledger) -> list[LedgerError]:
    """What `check` says about the sent logs, so that it agrees with `dunning`,
    `statement --all` and `confirmations`: a log they cannot read is an error;
    letters of a level no longer in `dunning.levels` (renamed?) are a warning,
    once per level: they no longer count as a step."""
    from arledger.errors import LedgerError, Source

    try:
        read_statement_log(statement_log_path(ledger.root))
    except MailError as exc:  # `statement --all --send` and `confirmations` read it
        statement_problems = [LedgerError(None, str(exc))]
    else:
        statement_problems = []
    try:
        log = read_log(log_path(ledger.root))
    except MailError as exc:
        return [*statement_problems, LedgerError(None, str(exc))]
    names = {level.name for level in ledger.settings.dunning.levels}
    unknown: dict[str, list[LogEntry]] = {}
    for entry in log:
        if entry.level not in names:
            unknown.setdefault(entry.level, []).append(entry)
    return statement_problems + [
        LedgerError(
            Source(LOG_NAME, entries[0].line),
            f"level {level!r} is not in dunning.levels: its {len(entries)} "
            f"letter(s) in the log no longer count as a step (renamed? name the "
            "level as before)",
            warning=True,
        )
        for level, entries in unknown.items()
    ]


def sent_recently(
    log: Iterable[LogEntry],
    letter: Letter,
    today: date,
    resend_days: int,
) -> LogEntry | None:
    """The last time this level went to this customer, if within `resend_days`."""
    recent = [
        e
        for e in log
        if e.customer == letter.customer
        and e.level == letter.level
        and e.currency in ("", letter.currency)
        and (today - e.date).days < resend_days
    ]
    return max(recent, key=lambda e: e.date) if recent else None


# ---------------------------------------------------------------- sending


def password(smtp: SmtpSettings, environ: Mapping[str, str]) -> str | None:
    """The SMTP password, from the environment variable named by `password_env`.

    Raises:
        MailError: a user is set but no password variable is named, or the
            variable is not set.
    """
    if not smtp.user:
        return None
    if not smtp.password_env:
        raise MailError(
            "arledger.yaml: smtp.user is set but smtp.password_env is not; name "
            "the environment variable that holds the password"
        )
    value = environ.get(smtp.password_env)
    if not value:
        raise MailError(
            f"the SMTP password is read from ${smtp.password_env}, which is not set"
        )
    return value


class Mailer:
    """One SMTP session: `with Mailer(smtp, secret) as m: m.send(message)`.

    Port 465 is SMTP over TLS; any other port is plain SMTP, upgraded with
    STARTTLS when `smtp.starttls` is true (the default).
    """

    def __init__(self, smtp: SmtpSettings, secret: str | None, timeout: float = 60):
        self.smtp = smtp
        self.secret = secret
        self.timeout = timeout
        self.connection: smtplib.SMTP | None = None

    def _where(self) -> str:
        return f"SMTP {self.smtp.host}:{self.smtp.port}"

    def __enter__(self) -> Mailer:
        import smtplib
        import ssl

        smtp = self.smtp
        try:
            if smtp.port == 465:
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    smtp.host,
                    smtp.port,
                    timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                connection = smtplib.SMTP(smtp.host, smtp.port, timeout=self.timeout)
                if smtp.starttls:
                    connection.starttls(context=ssl.create_default_context())
            self.connection = connection
            if smtp.user:
                connection.login(smtp.user, self.secret or "")
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(f"{self._where()}: {_reason(exc)}") from None
        return self

    def send(self, message: EmailMessage) -> None:
        import smtplib

        assert self.connection is not None
        try:
            self.connection.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(
                f"{self._where()}: sending {message['Message-ID']} to "
                f"{message['To']}: {_reason(exc)}"
            ) from None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except Exception:  # noqa: BLE001 - closing a broken session
                self.connection.close()
            self.connection = None

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(exc: BaseException) -> str:
    import smtplib

    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return f"{exc.smtp_code} {text}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


Status = Literal["sent", "would send", "skipped"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What happened to one letter (or statement) under `--send` (or would,
    under `--dry-run`)."""

    letter: Any  # a dunning Letter, or a statement of account
    to: str | None
    message_id: str | None
    status: Status
    reason: str | None = None


def deliver(
    outgoing: Sequence[tuple[Letter, EmailMessage]],
    *,
    smtp: SmtpSettings | None,
    log_file: Path,
    today: date,
    resend_days: int,
    dry_run: bool = False,
    environ: Mapping[str, str],
) -> list[Delivery]:
    """Send each letter's message unless the log shows it went out recently
    (`send_each` with the dunning log's rule). Run it under `send_lock`."""
    check_smtp(smtp, environ)
    log = read_log(log_file)

    def sent_before(letter: Letter) -> tuple[str | None, str] | None:
        last = sent_recently(log, letter, today, resend_days)
        if last is None:
            return None
        return (
            last.message_id or None,
            f"{letter.level} already sent {last.date.isoformat()} "
            f"(resend after {resend_days} days)",
        )

    def entry(letter: Letter, mid: str) -> LogEntry:
        return LogEntry(
            today, letter.customer, letter.level, letter.currency, letter.total, mid
        )

    return send_each(
        outgoing,
        smtp=smtp,
        log_file=log_file,
        fields=LOG_FIELDS,
        sent_before=sent_before,
        entry=entry,
        dry_run=dry_run,
        environ=environ,
    )


def check_smtp(smtp: SmtpSettings | None, environ: Mapping[str, str]) -> str | None:
    """The SMTP password, after checking there are SMTP settings at all.

    Raises:
        MailError: no SMTP settings, or no password where one is needed.
    """
    if smtp is None:
        raise MailError(
            "no smtp settings in arledger.yaml: add smtp: {host: ..., port: 587, "
            "user: ..., password_env: ARLEDGER_SMTP_PASSWORD}"
        )
    return password(smtp, environ)


T = TypeVar("T")


def send_each(
    outgoing: Sequence[tuple[T, EmailMessage]],
    *,
    smtp: SmtpSettings | None,
    log_file: Path,
    fields: Sequence[str],
    sent_before: Callable[[T], tuple[str | None, str] | None],
    entry: Callable[[T, str], LogEntry | StatementEntry],
    dry_run: bool = False,
    environ: Mapping[str, str],
) -> list[Delivery]:
    """Send each message at most once, as far as the log can tell (SPEC §2,
    Sending); the one sending path of dunning letters and statements.

    Run it under `send_lock`, having read the log there. The log is opened for
    appending (proved writable) before the first message; each message the
    server accepts is recorded and forced to disk at once, so a run that fails
    half way never sends the first half again. With `dry_run` nothing is sent
    or logged.

    Args:
        outgoing: what to send (it has `email`), and its message.
        smtp: the SMTP settings.
        log_file: the sent log, with these `fields`.
        sent_before: the (Message-ID, why) of an earlier sending that stops this
            one, or None.
        entry: the log line recording it as sent with a Message-ID.
        dry_run: send nothing, record nothing.
        environ: where the SMTP password is read from.

    Raises:
        MailError: no SMTP settings, no password, the log cannot be written, or
            the server refused.
    """
    secret = check_smtp(smtp, environ)
    assert smtp is not None
    results: list[Delivery | None] = []  # None: to send, in order
    todo: list[tuple[int, T, EmailMessage]] = []
    for item, message in outgoing:
        to, mid = message["To"], message["Message-ID"]
        if not getattr(item, "email", None):
            results.append(Delivery(item, None, None, "skipped", "no email"))
            continue
        earlier = sent_before(item)
        if earlier is not None:
            results.append(Delivery(item, to, earlier[0], "skipped", earlier[1]))
        elif dry_run:
            results.append(Delivery(item, to, mid, "would send"))
        else:
            todo.append((len(results), item, message))
            results.append(None)
    if todo:
        with SentLog(log_file, fields) as sent_log, Mailer(smtp, secret) as mailer:
            for n, item, message in todo:
                mid = message["Message-ID"]
                mailer.send(message)
                sent_log.record(entry(item, mid))
                results[n] = Delivery(item, message["To"], mid, "sent")
    return [d for d in results if d is not None]
