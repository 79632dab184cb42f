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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from arledger.errors import ArledgerError
from arledger.money import grouped, plain

if TYPE_CHECKING:
    import smtplib

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
    head = title(letter.level, letter.language)
    amount = f"{letter.currency} {grouped(letter.total, letter.currency)}"
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


def log_path(ledger_root: Path) -> Path:
    return ledger_root / LOG_NAME


def read_log(path: Path) -> list[LogEntry]:
    """The sent log (empty when there is none yet).

    Raises:
        MailError: a line cannot be read; the message is FILE:LINE: why.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise MailError(f"{path.name}: cannot read ({exc.strerror})") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = reader.fieldnames or ()
    missing = [f for f in ("date", "customer", "level") if f not in columns]
    if missing:
        raise MailError(f"{path.name}:1: missing column {missing[0]!r}")
    entries = []
    line = reader.line_num + 1
    for row in reader:
        try:
            entries.append(
                LogEntry(
                    date=date.fromisoformat((row.get("date") or "").strip()),
                    customer=(row.get("customer") or "").strip(),
                    level=(row.get("level") or "").strip(),
                    currency=(row.get("currency") or "").strip(),
                    amount=Decimal((row.get("amount") or "0").strip() or "0"),
                    message_id=(row.get("message_id") or "").strip(),
                )
            )
        except (ValueError, InvalidOperation):
            raise MailError(
                f"{path.name}:{line}: not a log line (date must be YYYY-MM-DD, "
                "amount a decimal)"
            ) from None
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


def append_log(
    path: Path, entries: Sequence[LogEntry], *, protected: Sequence[Path] = ()
) -> None:
    """Append lines to the sent log atomically: the old log plus the new lines are
    written to a temp file that replaces the log (SPEC §4: atomic writes)."""
    from arledger.fileio import write_output

    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = ",".join(LOG_FIELDS) + "\n"
    except OSError as exc:
        raise MailError(f"{path.name}: cannot read ({exc.strerror})") from None
    if old and not old.endswith("\n"):
        old += "\n"
    write_output(path, old + log_lines(entries), force=True, protected=protected)


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
    protected: Sequence[Path] = (),
) -> list[Delivery]:
    """Send each letter's message unless the log shows it went out recently.

    Each message sent is logged at once, so a run that fails half way never
    sends the first half again. With `dry_run` nothing is sent or logged.

    Raises:
        MailError: no SMTP settings, no password, or the server refused.
    """
    if smtp is None:
        raise MailError(
            "no smtp settings in arledger.yaml: add smtp: {host: ..., port: 587, "
            "user: ..., password_env: ARLEDGER_SMTP_PASSWORD}"
        )
    secret = password(smtp, environ)
    log = read_log(log_file)
    results: list[Delivery] = []
    mailer: Mailer | None = None
    try:
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
                continue
            if dry_run:
                results.append(Delivery(letter, to, mid, "would send"))
                continue
            if mailer is None:
                mailer = Mailer(smtp, secret).__enter__()
            mailer.send(message)
            entry = LogEntry(
                today, letter.customer, letter.level, letter.currency, letter.total, mid
            )
            append_log(log_file, [entry], protected=protected)
            log.append(entry)
            results.append(Delivery(letter, to, mid, "sent"))
    finally:
        if mailer is not None:
            mailer.close()
    return results
