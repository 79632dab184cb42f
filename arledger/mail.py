"""Letters as e-mail: RFC 5322 messages, SMTP delivery, and the sent log.

Messages are built with the stdlib `email` package (UTF-8 throughout) and sent
with `smtplib`; the SMTP password comes from the environment variable named by
`smtp.password_env`, never from a file. Every letter sent is appended to
`dunning-log.csv` in the ledger directory; the log stops the same level from
being sent to the same customer twice within `dunning.resend_days`. The log only
prevents duplicate delivery: it never changes a level (SPEC §2, Dunning).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from arledger.errors import ArledgerError
from arledger.money import plain

if TYPE_CHECKING:
    import smtplib

    from arledger.errors import LedgerError
    from arledger.ledger import Ledger
    from arledger.model import Settings, SmtpSettings
    from arledger.reports.dunning import Letter

LOG_NAME = "dunning-log.csv"
LOG_FIELDS = ("date", "customer", "level", "currency", "amount", "message_id")

# The subject of each default level; the letter's heading says the same.
SUBJECTS: dict[str, dict[str, str]] = {
    "en": {
        "reminder": "Payment reminder",
        "first": "Overdue notice",
        "second": "Second overdue notice",
        "final": "Final demand for payment",
        "legal": "Notice before legal action",
    },
    "zh": {
        "reminder": "付款提醒函",
        "first": "逾期付款通知函",
        "second": "催款函",
        "final": "最后催款通知函",
        "legal": "诉前催告函",
    },
}
OTHER_SUBJECT = {"en": "Payment notice", "zh": "付款通知函"}


class MailError(ArledgerError):
    """Mail cannot be built or sent (no sender, SMTP refused, no password...)."""


# ---------------------------------------------------------------- messages


def title(level: str, language: str) -> str:
    """The letter's title for a level: `Overdue notice`, `催款函`, ..."""
    lang = language if language in SUBJECTS else "en"
    return SUBJECTS[lang].get(level, OTHER_SUBJECT[lang])


def subject(letter: Letter, company_name: str | None) -> str:
    """The Subject header: the level's title, the amount, and who writes.

    `Overdue notice: USD 16,668.90 past due — Bayview Trading Co.`,
    `催款函：逾期款项 USD 53,661.15（Bayview Trading Co.）`.
    """
    from arledger.letters import letter_amount

    head = title(letter.level, letter.language)
    amount = letter_amount(letter.total, letter.currency, letter.language)
    if letter.language == "zh":
        what = "逾期款项" if letter.overdue else "即将到期款项"
        text = f"{head}：{what} {amount}"
        return f"{text}（{company_name}）" if company_name else text
    what = "past due" if letter.overdue else "falling due"
    text = f"{head}: {amount} {what}"
    return f"{text} — {company_name}" if company_name else text


def sender(settings: Settings) -> str:
    """The From address: `smtp.sender`, else `company.email`, named after the company.

    Raises:
        MailError: neither is set.
    """
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


def message_id(letter: Letter, body: str, from_address: str) -> str:
    """A Message-ID that is the same for the same letter on the same day.

    Re-running on the same day builds the same letter; a stable id lets mail
    systems recognise a duplicate instead of showing it twice.
    """
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "arledger.invalid"
    digest = hashlib.sha256(
        "\0".join(
            (letter.customer, letter.currency, letter.level, str(letter.total), body)
        ).encode("utf-8")
    ).hexdigest()[:16]
    local = re.sub(r"[^A-Za-z0-9.-]", "-", letter.customer).strip(".-") or "customer"
    return f"<dunning.{letter.as_of:%Y%m%d}.{local}.{letter.level}.{digest}@{domain}>"


def build_message(
    letter: Letter,
    *,
    subject: str,
    text: str,
    html: str | None,
    from_address: str,
    now: datetime,
    reply_to: str | None = None,
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
    """
    message = EmailMessage()
    message["From"] = from_address
    if letter.email:
        message["To"] = formataddr((letter.name, letter.email))
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(letter, text, from_address)
    # RFC 3834: sent by a program, so vacation responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Arledger-Customer"] = letter.customer
    message["X-Arledger-Level"] = letter.level
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


def log_path(ledger_root: Path) -> Path:
    return ledger_root / LOG_NAME


def read_log(path: Path) -> list[LogEntry]:
    """The sent log (empty when there is none yet).

    Raises:
        MailError: a line cannot be read (not UTF-8, a broken CSV line, a field
            missing or malformed); the message is FILE:LINE: why.
    """
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
    missing = [f for f in LOG_FIELDS if f not in columns]
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
            values = [row.get(f) for f in LOG_FIELDS]
            if None in row or any(v is None or "\n" in v or "\r" in v for v in values):
                # too many or too few fields, or a quote left open across lines
                raise ValueError("wrong number of fields")
            entry = LogEntry(
                date=date.fromisoformat(row["date"].strip()),
                customer=row["customer"].strip(),
                level=row["level"].strip(),
                currency=row["currency"].strip(),
                amount=Decimal(row["amount"].strip() or "0"),
                message_id=row["message_id"].strip(),
                line=line,
            )
            if not entry.customer or not entry.level:
                raise ValueError("no customer or level")
        except (ValueError, InvalidOperation):
            raise MailError(
                f"{path}:{line}: not a log line (want {','.join(LOG_FIELDS)}; date "
                "YYYY-MM-DD, amount a decimal)"
            ) from None
        entries.append(entry)
        line = reader.line_num + 1
    return entries


def log_lines(entries: Iterable[LogEntry]) -> str:
    """Log entries as CSV lines (no header)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for e in entries:
        writer.writerow(
            (
                e.date.isoformat(),
                e.customer,
                e.level,
                e.currency,
                plain(e.amount, e.currency),
                e.message_id,
            )
        )
    return out.getvalue()


class SentLog:
    """The sent log, open for appending for the whole of a `--send` run.

    Opening it proves it writable before the first message goes out (a log that
    cannot be written would let a letter go unrecorded and be sent again).
    `record` appends one line and forces it to disk before returning, so a
    message the server accepted is on record even if the run dies next.
    """

    def __init__(self, path: Path) -> None:
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
                self._write(",".join(LOG_FIELDS) + "\n")
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

    def record(self, entry: LogEntry) -> None:
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


def append_log(path: Path, entries: Sequence[LogEntry]) -> None:
    """Append lines to the sent log (each forced to disk)."""
    with SentLog(path) as log:
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
) -> Iterator[None]:
    """Hold the ledger's send lock: one `dunning --send` run at a time.

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
                f"arledger: another `dunning --send` is running on this ledger; "
                f"waiting up to {wait:g} s for it to finish ({where})"
            )
            lock.acquire(timeout=wait)
    except Timeout:
        raise MailError(
            f"{where}: another `dunning --send` still runs after {wait:g} s; "
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
    """What `check` says about the sent log, so that it agrees with `dunning`:
    a log dunning cannot read is an error; letters of a level no longer in
    `dunning.levels` (renamed?) are a warning, once per level: they no longer
    count as a step."""
    from arledger.errors import LedgerError, Source

    try:
        log = read_log(log_path(ledger.root))
    except MailError as exc:
        return [LedgerError(None, str(exc))]
    names = {level.name for level in ledger.settings.dunning.levels}
    unknown: dict[str, list[LogEntry]] = {}
    for entry in log:
        if entry.level not in names:
            unknown.setdefault(entry.level, []).append(entry)
    return [
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
    """What happened to one letter under `--send` (or would, under `--dry-run`)."""

    letter: Letter
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
    """Send each letter's message unless the log shows it went out recently.

    Run it under `send_lock`. The log is opened for appending (proved writable)
    before the first message; each message the server accepts is recorded and
    forced to disk at once, so a run that fails half way never sends the first
    half again. With `dry_run` nothing is sent or logged.

    Raises:
        MailError: no SMTP settings, no password, the log cannot be written, or
            the server refused.
    """
    if smtp is None:
        raise MailError(
            "no smtp settings in arledger.yaml: add smtp: {host: ..., port: 587, "
            "user: ..., password_env: ARLEDGER_SMTP_PASSWORD}"
        )
    secret = password(smtp, environ)
    log = read_log(log_file)
    results: list[Delivery | None] = []  # None: to send, in order
    todo: list[tuple[int, Letter, EmailMessage]] = []
    for letter, message in outgoing:
        to, mid = message["To"], message["Message-ID"]
        if not letter.email:
            results.append(Delivery(letter, None, None, "skipped", "no email"))
            continue
        last = sent_recently(log, letter, today, resend_days)
        if last is not None:
            results.append(
                Delivery(
                    letter,
                    to,
                    last.message_id or None,
                    "skipped",
                    f"{letter.level} already sent {last.date.isoformat()} "
                    f"(resend after {resend_days} days)",
                )
            )
        elif dry_run:
            results.append(Delivery(letter, to, mid, "would send"))
        else:
            todo.append((len(results), letter, message))
            results.append(None)
    if todo:
        _send_all(todo, results, smtp, secret, log_file, today)
    return [d for d in results if d is not None]


def _send_all(
    todo: Sequence[tuple[int, Letter, EmailMessage]],
    results: list[Delivery | None],
    smtp: SmtpSettings,
    secret: str | None,
    log_file: Path,
    today: date,
) -> None:
    with SentLog(log_file) as sent_log, Mailer(smtp, secret) as mailer:
        for n, letter, message in todo:
            mid = message["Message-ID"]
            mailer.send(message)
            sent_log.record(
                LogEntry(
                    today,
                    letter.customer,
                    letter.level,
                    letter.currency,
                    letter.total,
                    mid,
                )
            )
            results[n] = Delivery(letter, message["To"], mid, "sent")
