"""Letters as e-mail: messages, the sent log and its resend rule, and an SMTP
round trip against a real server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import json
import socket
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from email import policy

import pytest
from typer.testing import CliRunner

from arledger import mail
from arledger.cli import app
from arledger.commands import common
from arledger.letters import letter_message
from arledger.loader import load
from arledger.mail import LogEntry, MailError
from arledger.reports import dunning
from arledger.settle import settle

D = Decimal
AS_OF = "2026-10-31"
PASSWORD_ENV = "ARLEDGER_TEST_SMTP_PASSWORD"
NOW = datetime(2026, 10, 31, 7, 30, tzinfo=timezone(timedelta(hours=-7)))


def settings_text(port: int, **smtp: object) -> str:
    fields = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": "false",
        "user": "ar",
        "password_env": PASSWORD_ENV,
        **smtp,
    }
    inline = ", ".join(f"{k}: {v}" for k, v in fields.items() if v is not None)
    return f"""\
company: {{name: Test Trading Co., email: ar@test.example, bank: "Test Bank, account 42"}}
currency: USD
smtp: {{{inline}}}
"""


CUSTOMERS = """\
- {id: ACME, name: Acme Ltd, email: ap@acme.example, contact: Karen Mills (AP)}
- {id: HUA, name: 上海华东贸易有限公司, email: finance@huadong.example, contact: 王经理（财务部）, language: zh}
- {id: NOMAIL, name: No Mail Inc.}
"""
INVOICES = """\
- {id: I1, customer: ACME, date: 2026-09-01, due: 2026-10-21, amount: 1200.50}
- {id: I2, customer: HUA, date: 2026-08-01, due: 2026-10-11, amount: 8800.00}
- {id: I3, customer: NOMAIL, date: 2026-09-01, due: 2026-10-21, amount: 75.00}
"""


def make(ledger_dir, port: int = 2525, **smtp: object):
    return ledger_dir(
        settings=settings_text(port, **smtp), customers=CUSTOMERS, invoices=INVOICES
    )


def letters_of(path, as_of: str = AS_OF):
    ledger, errors = load(path)
    assert not [e for e in errors if not e.warning], errors
    view = ledger.view(date.fromisoformat(as_of))
    return dunning.compute(view, settle(view)), ledger


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def address(header) -> tuple[str, str]:
    (found,) = header.addresses
    return (found.display_name, found.addr_spec)


# ---------------------------------------------------------------- messages


def test_message_headers_and_body(ledger_dir):
    path = make(ledger_dir)
    result, ledger = letters_of(path)
    hua = next(lt for lt in result.letters if lt.customer == "HUA")
    message = parse(
        mail.as_bytes(
            letter_message(hua, settings=ledger.settings, ledger_root=path, now=NOW)
        )
    )
    assert address(message["From"]) == ("Test Trading Co.", "ar@test.example")
    assert address(message["To"]) == ("上海华东贸易有限公司", "finance@huadong.example")
    assert (
        message["Subject"]
        == "逾期付款通知函：逾期款项 USD 8,800.00（Test Trading Co.）"
    )
    assert message["Date"] == "Sat, 31 Oct 2026 07:30:00 -0700"
    assert message["Message-ID"].startswith("<dunning.20261031.HUA.first.")
    assert message["Message-ID"].endswith("@test.example>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Arledger-Level"] == "first"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    assert text.get_content_charset() == "utf-8"
    body = text.get_content()
    assert "尊敬的王经理：" in body and "8,800.00" in body and "请忽略本函" in body
    html = message.get_body(("html",)).get_content()
    assert '<html lang="zh-CN">' in html and "<td>I2</td>" in html


def test_english_subject_and_a_stable_message_id(ledger_dir):
    path = make(ledger_dir)
    result, ledger = letters_of(path)
    acme = next(lt for lt in result.letters if lt.customer == "ACME")
    one = letter_message(acme, settings=ledger.settings, ledger_root=path, now=NOW)
    two = letter_message(acme, settings=ledger.settings, ledger_root=path, now=NOW)
    assert one["Subject"] == "Overdue notice: USD 1,200.50 past due — Test Trading Co."
    assert one["Message-ID"] == two["Message-ID"]  # same letter, same day


def test_sender_from_smtp_settings_else_company(ledger_dir):
    path = make(ledger_dir, sender='"AR Desk <collections@test.example>"')
    ledger = load(path)[0]
    assert mail.sender(ledger.settings) == "AR Desk <collections@test.example>"
    bare = ledger_dir(
        settings="currency: USD\n", customers=CUSTOMERS, invoices=INVOICES
    )
    with pytest.raises(MailError, match="smtp.sender or company.email"):
        mail.sender(load(bare)[0].settings)


# ---------------------------------------------------------------- the sent log


def entry(day: str, customer: str = "ACME", level: str = "first") -> LogEntry:
    return LogEntry(date.fromisoformat(day), customer, level, "USD", D("1.00"), "<x@y>")


def test_resend_rule_is_per_customer_and_level_within_resend_days(ledger_dir):
    path = make(ledger_dir)
    result, _ = letters_of(path)
    acme = next(lt for lt in result.letters if lt.customer == "ACME")  # first
    log = [entry("2026-10-25")]
    today = date(2026, 10, 31)
    assert mail.sent_recently(log, acme, today, 7) == log[0]  # 6 days ago
    assert mail.sent_recently([entry("2026-10-24")], acme, today, 7) is None  # 7
    assert mail.sent_recently([entry("2026-10-31")], acme, today, 0) is None
    assert (
        mail.sent_recently([entry("2026-10-30", level="reminder")], acme, today, 7)
        is None
    )
    assert (
        mail.sent_recently([entry("2026-10-30", customer="HUA")], acme, today, 7)
        is None
    )


def test_log_is_appended_and_read_back(tmp_path):
    log = tmp_path / "dunning-log.csv"
    mail.append_log(log, [entry("2026-10-30")])
    mail.append_log(log, [entry("2026-10-31", "HUA", "second")])
    assert log.read_text().splitlines() == [
        "date,customer,level,currency,amount,message_id",
        "2026-10-30,ACME,first,USD,1.00,<x@y>",
        "2026-10-31,HUA,second,USD,1.00,<x@y>",
    ]
    assert mail.read_log(log) == [
        entry("2026-10-30"),
        entry("2026-10-31", "HUA", "second"),
    ]
    log.write_text(log.read_text() + "31/10/2026,ACME,first,USD,1.00,<z@y>\n")
    with pytest.raises(MailError, match=r"dunning-log\.csv:4: "):
        mail.read_log(log)


# ---------------------------------------------------------------- SMTP round trip


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> dict[str, email.message.EmailMessage]:
        return {
            env.rcpt_tos[0]: parse(env.original_content or env.content)
            for env in self.envelopes
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on 127.0.0.1 that wants LOGIN/PLAIN as ar / s3cret."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == b"ar"
            and auth_data.password == b"s3cret"
        )
        return AuthResult(success=ok, handled=False)  # False: the server says 535

    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def send(path, *extra: str, password: str | None = "s3cret"):
    env = {PASSWORD_ENV: password} if password is not None else {PASSWORD_ENV: ""}
    return CliRunner().invoke(
        app,
        ["dunning", "--ledger", str(path), "--as-of", AS_OF, "--send", *extra],
        env=env,
    )


def test_smtp_round_trip_and_resend_rule(ledger_dir, smtp_server, monkeypatch):
    port, inbox = smtp_server
    path = make(ledger_dir, port)
    log = path / "dunning-log.csv"
    monkeypatch.setattr(common, "today", lambda: date(2026, 10, 31))

    # --dry-run: says what it would send; sends and logs nothing
    dry = send(path, "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    rows = {r["customer"]: r for r in json.loads(dry.stdout)["sections"][0]["rows"]}
    assert rows["ACME"]["status"] == "would send"
    assert rows["HUA"]["status"] == "would send"
    assert rows["HUA"]["name"] == "上海华东贸易有限公司"  # every customer row names it
    assert (rows["NOMAIL"]["status"], rows["NOMAIL"]["reason"]) == (
        "skipped",
        "no email",
    )
    assert inbox.envelopes == [] and not log.exists()

    # --send: two messages arrive, as built, and are logged
    sent = send(path, "--format", "json")
    assert sent.exit_code == 0, sent.output
    assert len(inbox.envelopes) == 2
    assert {e.mail_from for e in inbox.envelopes} == {"ar@test.example"}
    received = inbox.messages()
    assert set(received) == {"ap@acme.example", "finance@huadong.example"}
    acme = received["ap@acme.example"]
    assert address(acme["From"]) == ("Test Trading Co.", "ar@test.example")
    assert address(acme["To"]) == ("Acme Ltd", "ap@acme.example")
    assert acme["Subject"] == "Overdue notice: USD 1,200.50 past due — Test Trading Co."
    assert acme["Message-ID"].startswith("<dunning.20261031.ACME.first.")
    assert acme["Date"] is not None
    body = acme.get_body(("plain",)).get_content()
    assert "Dear Karen Mills," in body and "1,200.50" in body and "Test Bank" in body
    hua = received["finance@huadong.example"]
    assert hua["Subject"] == "逾期付款通知函：逾期款项 USD 8,800.00（Test Trading Co.）"
    assert "截至2026年10月31日" in hua.get_body(("plain",)).get_content()
    lines = log.read_text().splitlines()
    assert lines[0] == "date,customer,level,currency,amount,message_id"
    assert sorted(lines[1:]) == sorted(
        [
            f"2026-10-31,ACME,first,USD,1200.50,{acme['Message-ID']}",
            f"2026-10-31,HUA,first,USD,8800.00,{hua['Message-ID']}",
        ]
    )
    assert load(path)[1] == []  # the log is not a ledger file

    # the same day again: nothing is sent twice
    again = send(path, "--format", "json")
    assert again.exit_code == 0, again.output
    assert len(inbox.envelopes) == 2
    rows = {r["customer"]: r for r in json.loads(again.stdout)["sections"][0]["rows"]}
    assert rows["ACME"]["status"] == "skipped"
    assert (
        rows["ACME"]["reason"] == "first already sent 2026-10-31 (resend after 7 days)"
    )

    # six days later, still not; seven days later (resend_days: 7) it goes again
    monkeypatch.setattr(common, "today", lambda: date(2026, 11, 6))
    assert send(path).exit_code == 0 and len(inbox.envelopes) == 2
    monkeypatch.setattr(common, "today", lambda: date(2026, 11, 7))
    later = send(path)
    assert later.exit_code == 0, later.output
    assert len(inbox.envelopes) == 4
    assert len(log.read_text().splitlines()) == 5


def test_a_wrong_password_is_exit_2_and_nothing_is_logged(ledger_dir, smtp_server):
    port, inbox = smtp_server
    path = make(ledger_dir, port)
    result = send(path, password="wrong")
    assert result.exit_code == 2
    assert f"SMTP 127.0.0.1:{port}: 535" in result.stderr
    assert inbox.envelopes == []
    # the log was proved writable before connecting, and records nothing
    assert mail.read_log(path / "dunning-log.csv") == []


def test_the_password_comes_only_from_the_environment(ledger_dir, smtp_server):
    port, inbox = smtp_server
    path = make(ledger_dir, port)
    result = send(path, password=None)
    assert result.exit_code == 2
    assert f"${PASSWORD_ENV}, which is not set" in result.stderr
    assert inbox.envelopes == []
    # a password written in the file is refused by the loader
    with_password = make(ledger_dir, port, password="s3cret")
    refused = send(with_password)
    assert refused.exit_code == 2 and "password" in refused.stderr


def test_no_smtp_settings_or_no_server_is_a_clear_error(ledger_dir):
    path = ledger_dir(settings="company: {email: ar@test.example}\n",
                      customers=CUSTOMERS, invoices=INVOICES)  # fmt: skip
    result = send(path)
    assert result.exit_code == 2 and "no smtp settings" in result.stderr
    closed = make(ledger_dir, free_port())
    result = send(closed)
    assert result.exit_code == 2
    assert "SMTP 127.0.0.1:" in result.stderr and "Traceback" not in result.output


# ---------------------------------------------------------------- at most once

MANY = "".join(
    f"- {{id: K{n}, name: Kunde {n}, email: ap{n}@k.example}}\n" for n in range(6)
)
MANY_INVOICES = "".join(
    f"- {{id: J{n}, customer: K{n}, date: 2026-09-01, due: 2026-10-{10 + n}, "
    f"amount: {100 + n}.00}}\n"
    for n in range(6)
)


def test_two_concurrent_send_runs_deliver_each_letter_once(ledger_dir, smtp_server):
    """A cron job and a clerk at once: the second run waits for the first, then
    finds every letter in the log. Ten rounds, each from an empty log."""
    import os
    import subprocess
    import sys

    port, inbox = smtp_server
    path = ledger_dir(
        settings=settings_text(port), customers=MANY, invoices=MANY_INVOICES
    )
    log = path / "dunning-log.csv"
    env = {**os.environ, PASSWORD_ENV: "s3cret", "ARLEDGER_NO_CACHE": "1"}
    command = [sys.executable, "-m", "arledger", "dunning", "--ledger", str(path),
               "--as-of", AS_OF, "--send", "--format", "json"]  # fmt: skip
    for round_ in range(10):
        log.unlink(missing_ok=True)
        inbox.envelopes.clear()
        runs = [
            subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )  # fmt: skip
            for _ in range(2)
        ]
        outcomes = [(run.wait(timeout=120), *run.communicate()) for run in runs]
        for code, _, err in outcomes:
            assert code == 0, (round_, err.decode())
        delivered = sorted(parse(e.content)["Message-ID"] for e in inbox.envelopes)
        assert len(delivered) == 6 and len(set(delivered)) == 6, round_
        assert sorted(e.message_id for e in mail.read_log(log)) == delivered, round_
        sent = [
            row["status"]
            for _, out, _ in outcomes
            for row in json.loads(out)["sections"][0]["rows"]
        ]
        assert sent.count("sent") == 6 and sent.count("skipped") == 6, round_


def test_an_unwritable_log_sends_nothing(ledger_dir, smtp_server):
    import os

    port, inbox = smtp_server
    path = make(ledger_dir, port)
    log = path / "dunning-log.csv"
    log.mkdir()  # cannot be opened for writing, even by root
    result = send(path)
    assert result.exit_code == 2, result.output
    assert "dunning-log.csv" in result.stderr and "Traceback" not in result.output
    assert inbox.envelopes == []
    log.rmdir()
    if os.geteuid() == 0:
        return  # root writes into a read-only directory
    path.chmod(0o555)
    try:
        result = send(path)
    finally:
        path.chmod(0o755)
    assert result.exit_code == 2, result.output
    assert "nothing was sent" in result.stderr
    assert inbox.envelopes == [] and not log.exists()


def test_a_run_waits_for_the_lock_then_gives_up(ledger_dir, smtp_server, monkeypatch):
    from filelock import FileLock

    port, inbox = smtp_server
    path = make(ledger_dir, port)
    monkeypatch.setattr(mail, "LOCK_TIMEOUT", 0.2)
    held = FileLock(str(mail.lock_path(mail.log_path(path))))
    with held:
        result = send(path)
    assert result.exit_code == 2, result.output
    assert "another `dunning --send` is running" in result.stderr
    assert "still runs after 0.2 s; nothing was sent" in result.stderr
    assert inbox.envelopes == []
    assert send(path).exit_code == 0 and len(inbox.envelopes) == 2


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"date,customer,level,currency,amount,message_id\n"
         b"2026-10-01,ACME,first,USD,1.00,<a@b>\n2026-10-02,\xc4\xe3,first,USD,1,<c@d>\n",
         "dunning-log.csv:3: not UTF-8"),  # GBK, not UTF-8
        (b"date,customer,level,currency,amount,message_id\n2026-10-01,ACME\n",
         "dunning-log.csv:2: not a log line"),  # a line cut short
        (b"date,customer,level\n2026-10-01,ACME,first\n",
         "dunning-log.csv:1: missing column 'currency'"),
        (b"date,customer,level,currency,amount,message_id\n"
         b'2026-10-01,ACME,first,USD,1.00,"<a@b>\n',
         "dunning-log.csv:2: "),  # an unclosed quote
    ],
)  # fmt: skip
def test_a_damaged_log_is_file_line_and_exit_2(ledger_dir, content, where):
    path = make(ledger_dir)
    (path / "dunning-log.csv").write_bytes(content)
    for args in ((), ("--send",)):
        result = CliRunner().invoke(
            app,
            ["dunning", "--ledger", str(path), "--as-of", AS_OF, *args],
            env={PASSWORD_ENV: "s3cret"},
        )
        assert result.exit_code == 2, result.output
        assert where in result.stderr and "internal error" not in result.stderr


class DropAfterAccepting(Inbox):
    """Keeps the first message, then drops the connection instead of replying:
    the one case the log cannot know about (README: a lost reply)."""

    def __init__(self) -> None:
        super().__init__()
        self.drop = True

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.envelopes.append(envelope)
        if self.drop:
            self.drop = False
            server.transport.abort()
        return "250 Message accepted for delivery"


def test_a_reply_lost_in_transit_is_the_documented_resend(ledger_dir, monkeypatch):
    """The server takes a message and drops the connection before saying so:
    the run stops (exit 2) without recording it, and the next run sends it
    again with the same Message-ID, for the receiver to drop."""
    from aiosmtpd.controller import Controller

    inbox = DropAfterAccepting()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        path = make(ledger_dir, controller.port, user=None, password_env=None)
        monkeypatch.setattr(common, "today", lambda: date(2026, 10, 31))
        first = send(path)
        assert first.exit_code == 2, first.output
        assert "Traceback" not in first.output
        assert len(inbox.envelopes) == 1
        assert mail.read_log(path / "dunning-log.csv") == []
        again = send(path)
        assert again.exit_code == 0, again.output
    finally:
        controller.stop()
    ids = [parse(e.content)["Message-ID"] for e in inbox.envelopes]
    assert len(ids) == 3 and ids[0] in ids[1:]  # the same message, twice
    logged = [e.message_id for e in mail.read_log(path / "dunning-log.csv")]
    assert sorted(logged) == sorted(ids[1:])
