"""`arledger statement --all` (SPEC §10): one statement per customer and
currency with an open balance or activity, written all or nothing, or e-mailed
once per customer, currency and statement date under dunning's sending rules."""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from arledger import mail
from arledger.cli import app
from arledger.commands import common

from .conftest import DEMO
from .test_mail import PASSWORD_ENV, parse, settings_text, smtp_server  # noqa: F401

D = Decimal
AS_OF = "2026-10-31"

CUSTOMERS = """\
- {id: ACME, name: Acme Ltd, email: ap@acme.example, owner: Dana}
- {id: HUA, name: 上海华东贸易有限公司, email: finance@huadong.example, language: zh, owner: Li}
- {id: EURO, name: Euro GmbH, email: ap@euro.example, currency: EUR, key_account: true}
- {id: PAID, name: Paid Up Inc., email: ap@paid.example}
- {id: NOMAIL, name: No Mail Inc.}
"""
INVOICES = """\
- {id: I1, customer: ACME, date: 2026-09-01, due: 2026-10-21, amount: 1200.50}
- {id: I2, customer: HUA, date: 2026-08-01, due: 2026-10-11, amount: 8800.00}
- {id: I3, customer: EURO, date: 2026-10-05, amount: 300.00}
- {id: I4, customer: EURO, date: 2026-10-06, amount: 50.00, currency: USD}
- {id: I5, customer: PAID, date: 2026-06-01, amount: 100.00}
- {id: I6, customer: NOMAIL, date: 2026-09-01, due: 2026-10-21, amount: 75.00}
"""
PAYMENTS = """\
- {id: P1, customer: ACME, date: 2026-10-20, amount: 200.50, invoice: I1}
- {id: P5, customer: PAID, date: 2026-07-01, amount: 100.00, invoice: I5}
"""


def make(ledger_dir, port: int = 2525):
    return ledger_dir(
        settings=settings_text(port),
        customers=CUSTOMERS,
        invoices=INVOICES,
        payments=PAYMENTS,
    )


def run(*args: str, password: str | None = "s3cret"):
    env = {PASSWORD_ENV: password} if password else {}
    return CliRunner().invoke(app, list(args), env=env)


def all_(path, *args: str, password: str | None = "s3cret"):
    return run(
        "statement", "--all", "--ledger", str(path), "--as-of", AS_OF, *args,
        password=password,
    )  # fmt: skip


def rows(result) -> dict[tuple[str, str], dict]:
    data = json.loads(result.stdout)
    return {
        (r["customer"], s["currency"]): r for s in data["sections"] for r in s["rows"]
    }


# ---------------------------------------------------------------- --out


def test_one_statement_per_customer_and_currency(ledger_dir, tmp_path):
    """PAID owes nothing and had no activity in October: no statement. EURO
    has EUR and USD: two files. Balances: ACME 1200.50 - 200.50 = 1000.00."""
    path = make(ledger_dir)
    out = tmp_path / "statements"
    result = all_(path, "--out", str(out), "--format", "md")
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["ACME.md", "EURO-EUR.md", "EURO-USD.md", "HUA.md", "NOMAIL.md"]
    acme = (out / "ACME.md").read_text(encoding="utf-8")
    assert "USD 1,000.00" in acme
    assert "Balance confirmed" in acme and "Balance disagrees, details below" in acme
    hua = (out / "HUA.md").read_text(encoding="utf-8")
    assert "经核对无误" in hua and "信息不符，请列明不符项目" in hua
    assert "签字/盖章" in hua and "Balance confirmed" not in hua
    assert "USD 8,800.00" in hua
    euro = (out / "EURO-EUR.md").read_text(encoding="utf-8")
    assert "EUR 300.00" in euro and "USD" not in euro


def test_the_format_is_html_or_md(ledger_dir, tmp_path):
    path = make(ledger_dir)
    out = tmp_path / "s"
    result = all_(path, "--out", str(out), "--format", "json")
    assert result.exit_code == 2
    assert "with --all give html or md" in result.stderr


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("fmt", ["html", "md"])
def test_demo_statements_carry_both_answer_boxes(tmp_path, fmt, language):
    out = tmp_path / "out"
    result = run(
        "statement", "--all", "-l", str(DEMO), "--as-of", AS_OF, "--out", str(out),
        "--format", fmt, "--language", language,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    files = sorted(out.iterdir())
    # every customer of the demo with a balance or October activity
    assert [f.stem for f in files] == [
        "ACME", "BLUESKY", "CASCADE", "HARBOR", "HUADONG", "NORTHWIND",
        "PINNACLE", "REDWOOD", "SUMMIT", "VDBERG",
    ]  # fmt: skip
    boxes = {
        "en": ("Balance confirmed", "Balance disagrees, details below",
               "Signature / stamp"),
        "zh": ("经核对无误", "信息不符，请列明不符项目", "签字/盖章"),
    }[language]  # fmt: skip
    for file in files:
        text = file.read_text(encoding="utf-8")
        for words in boxes:
            assert words in text, (file.name, words)
        assert text.count("☐") == 2
        if fmt == "html":
            assert text.startswith("<!DOCTYPE html>")


def test_the_demo_balances_are_the_aging_totals(tmp_path):
    """Each statement closes at its customer's aging total (SPEC §2)."""
    summary = run(
        "statement", "--all", "-l", str(DEMO), "--as-of", AS_OF, "--out",
        str(tmp_path / "again"), "--output", str(tmp_path / "summary.json"),
    )  # fmt: skip
    assert summary.exit_code == 0, summary.output
    written = rows_of(json.loads((tmp_path / "summary.json").read_text()))
    aging = json.loads(
        run("aging", "-l", str(DEMO), "--as-of", AS_OF, "-f", "json").stdout
    )
    totals = rows_of(aging)
    for key, row in written.items():
        assert row["balance"] == totals[key]["total"], key
        assert row["file"].endswith(f"{key[0]}.html")


def rows_of(data: dict) -> dict[tuple[str, str], dict]:
    return {
        (r["customer"], s["currency"]): r for s in data["sections"] for r in s["rows"]
    }


def test_out_never_overwrites_and_writes_nothing_on_refusal(ledger_dir, tmp_path):
    path = make(ledger_dir)
    out = tmp_path / "s"
    out.mkdir()
    (out / "HUA.html").write_text("mine", encoding="utf-8")
    result = all_(path, "--out", str(out))
    assert result.exit_code == 2
    assert "HUA.html exist; use --force" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["HUA.html"]
    assert (out / "HUA.html").read_text(encoding="utf-8") == "mine"
    forced = all_(path, "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert "上海华东贸易有限公司" in (out / "HUA.html").read_text(encoding="utf-8")


def test_a_template_error_leaves_no_partial_set(ledger_dir, tmp_path):
    path = make(ledger_dir)
    (path / "templates").mkdir()
    (path / "templates" / "statement.md.j2").write_text(
        "{% if customer.id == 'NOMAIL' %}{{ nope }}{% endif %}{{ customer.id }}\n",
        encoding="utf-8",
    )
    out = tmp_path / "s"
    result = all_(path, "--out", str(out), "--format", "md")
    assert result.exit_code == 2
    assert "templates/statement.md.j2:1:" in result.stderr and "nope" in result.stderr
    assert not out.exists() or list(out.iterdir()) == []


def test_a_full_disk_leaves_no_partial_set(ledger_dir, tmp_path, monkeypatch):
    """The third file cannot be written: none of the set is left behind."""
    import os

    from arledger import fileio

    path = make(ledger_dir)
    out = tmp_path / "s"
    real = os.fdopen
    calls = {"n": 0}

    def failing(fd, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            os.close(fd)
            raise OSError(28, "No space left on device")
        return real(fd, *args, **kwargs)

    monkeypatch.setattr(fileio.os, "fdopen", failing)
    result = all_(path, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.stderr
    assert list(out.iterdir()) == []


def test_filters_apply(ledger_dir, tmp_path):
    path = make(ledger_dir)
    for args, expected in (
        (["--customer", "ACME", "--customer", "HUA"], {"ACME", "HUA"}),
        (["--owner", "Li"], {"HUA"}),
        (["--key-accounts"], {"EURO"}),
        (["--currency", "EUR"], {"EURO"}),
    ):
        out = tmp_path / "-".join(args)
        result = all_(path, "--out", str(out), "-o", str(out) + ".json", *args)
        assert result.exit_code == 0, (args, result.output)
        data = json.loads((tmp_path / f"{out.name}.json").read_text())
        assert {key[0] for key in rows_of(data)} == expected, args


def test_usage_errors(ledger_dir, tmp_path):
    path = make(ledger_dir)
    cases = [
        (["statement", "--all", "-l", str(path)], "--out DIR"),
        (["statement", "ACME", "--all", "-l", str(path), "--out", str(tmp_path)],
         "not both"),
        (["statement", "-l", str(path)], "missing argument 'customer'"),
        (["statement", "ACME", "-l", str(path), "--send"], "--send goes with --all"),
        (["statement", "--all", "-l", str(path), "--out", str(tmp_path / "x.csv")],
         "looks like a file"),
        (["statement", "--all", "-l", str(path), "--send", "--record"], "--record"),
    ]  # fmt: skip
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, args
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.output


def test_out_record_then_send_skips_what_was_recorded(ledger_dir, tmp_path):
    path = make(ledger_dir)
    result = all_(path, "--out", str(tmp_path / "s"), "--record")
    assert result.exit_code == 0, result.output
    log = mail.read_statement_log(path / "statement-log.csv")
    assert {(e.customer, e.currency, e.statement_date, e.balance) for e in log} == {
        ("ACME", "USD", date(2026, 10, 31), D("1000.00")),
        ("HUA", "USD", date(2026, 10, 31), D("8800.00")),
        ("EURO", "EUR", date(2026, 10, 31), D("300.00")),
        ("EURO", "USD", date(2026, 10, 31), D("50.00")),
        ("NOMAIL", "USD", date(2026, 10, 31), D("75.00")),
    }
    assert all(e.message_id == "" for e in log)
    again = all_(path, "--out", str(tmp_path / "t"), "--record")
    assert again.exit_code == 0
    assert "recorded 0 statement(s)" in again.stderr
    assert len(mail.read_statement_log(path / "statement-log.csv")) == 5


# ---------------------------------------------------------------- --send


def test_send_sends_each_statement_once(ledger_dir, smtp_server, monkeypatch):  # noqa: F811
    port, inbox = smtp_server
    path = make(ledger_dir, port)
    monkeypatch.setattr(common, "today", lambda: date(2026, 11, 2))

    dry = all_(path, "--send", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert inbox.envelopes == [] and not (path / "statement-log.csv").exists()

    first = all_(path, "--send", "--output", str(path.parent / "first.json"))
    assert first.exit_code == 0, first.output
    sent = rows_of(json.loads((path.parent / "first.json").read_text()))
    assert {k: r["status"] for k, r in sent.items()} == {
        ("ACME", "USD"): "sent",
        ("HUA", "USD"): "sent",
        ("EURO", "EUR"): "sent",
        ("EURO", "USD"): "sent",
        ("NOMAIL", "USD"): "skipped",
    }
    assert sent[("NOMAIL", "USD")]["reason"] == "no email"
    assert len(inbox.envelopes) == 4
    messages = [parse(e.content) for e in inbox.envelopes]
    hua = next(m for m in messages if "huadong" in m["To"])
    assert hua["Subject"] == (
        "对账单：截至2026年10月31日余额 USD 8,800.00（Test Trading Co.）"
    )
    assert hua["Message-ID"].strip().startswith("<statement.20261031.HUA.USD.")
    text = hua.get_body(("plain",)).get_content()
    assert "经核对无误" in text and "信息不符，请列明不符项目" in text
    html = hua.get_body(("html",)).get_content()
    assert "经核对无误" in html and '<html lang="zh-CN">' in html
    acme = next(m for m in messages if "acme" in m["To"])
    assert acme["Subject"].strip() == (
        "Test Trading Co.: Statement of account as at 2026-10-31, balance USD 1,000.00"
    )

    log = mail.read_statement_log(path / "statement-log.csv")
    assert sorted(e.message_id for e in log) == sorted(
        m["Message-ID"].strip() for m in messages
    )
    assert {e.date for e in log} == {date(2026, 11, 2)}

    # a second run sends nothing new
    second = all_(path, "--send", "--output", str(path.parent / "second.json"))
    assert second.exit_code == 0, second.output
    assert len(inbox.envelopes) == 4
    again = rows_of(json.loads((path.parent / "second.json").read_text()))
    assert {r["status"] for r in again.values()} == {"skipped"}
    assert again[("ACME", "USD")]["reason"] == (
        "statement of 2026-10-31 already sent 2026-11-02"
    )
    assert again[("ACME", "USD")]["message_id"] == acme["Message-ID"].strip()
    assert len(mail.read_statement_log(path / "statement-log.csv")) == 4

    # the next month's statement is a new one
    monkeypatch.setattr(common, "today", lambda: date(2026, 12, 1))
    later = run(
        "statement", "--all", "--ledger", str(path), "--as-of", "2026-11-30", "--send"
    )
    assert later.exit_code == 0, later.output
    assert len(inbox.envelopes) == 8


def test_send_does_not_touch_the_dunning_log(ledger_dir, smtp_server):  # noqa: F811
    port, _ = smtp_server
    path = make(ledger_dir, port)
    assert all_(path, "--send").exit_code == 0
    assert not (path / "dunning-log.csv").exists()
    check = run("check", "--ledger", str(path))
    assert check.exit_code == 0, check.output


def test_an_unwritable_statement_log_sends_nothing(ledger_dir, smtp_server):  # noqa: F811
    port, inbox = smtp_server
    path = make(ledger_dir, port)
    (path / "statement-log.csv").mkdir()
    result = all_(path, "--send")
    assert result.exit_code == 2, result.output
    assert "statement-log.csv" in result.stderr and "Traceback" not in result.output
    assert inbox.envelopes == []


def test_a_damaged_statement_log_is_file_line(ledger_dir, smtp_server):  # noqa: F811
    port, inbox = smtp_server
    path = make(ledger_dir, port)
    (path / "statement-log.csv").write_bytes(
        b"date,customer,currency,statement_date,balance,message_id\n"
        b"2026-11-02,ACME,USD,31/10/2026,1000.00,<a@b>\n"
    )
    result = all_(path, "--send")
    assert result.exit_code == 2, result.output
    assert "statement-log.csv:2: not a log line" in result.stderr
    assert inbox.envelopes == []


def test_a_second_run_waits_for_the_lock(ledger_dir, smtp_server, monkeypatch):  # noqa: F811
    from filelock import FileLock

    port, inbox = smtp_server
    path = make(ledger_dir, port)
    monkeypatch.setattr(mail, "LOCK_TIMEOUT", 0.2)
    with FileLock(str(mail.lock_path(path / "statement-log.csv"))):
        result = all_(path, "--send")
    assert result.exit_code == 2
    assert "another `statement --all --send` is running" in result.stderr
    assert inbox.envelopes == []


def test_the_statement_log_is_not_a_place_for_output(ledger_dir, tmp_path):
    path = make(ledger_dir)
    result = run(
        "aging", "-l", str(path), "--as-of", AS_OF, "-o",
        str(path / "statement-log.csv"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "sent log (statement-log.csv)" in result.stderr


def test_demo_copy_sends_through_a_subprocess(tmp_path, smtp_server):  # noqa: F811
    """The exit code through a real process: 0, and the log matches the inbox."""
    import os
    import subprocess
    import sys

    port, inbox = smtp_server
    ledger = tmp_path / "demo"
    shutil.copytree(DEMO, ledger)
    settings = (ledger / "arledger.yaml").read_text(encoding="utf-8")
    (ledger / "arledger.yaml").write_text(
        settings + f"smtp: {{host: 127.0.0.1, port: {port}, starttls: false, user: ar, "
        f"password_env: {PASSWORD_ENV}}}\n",
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "arledger", "statement", "--all", "--ledger",
               str(ledger), "--as-of", AS_OF, "--send", "--format", "md"]  # fmt: skip
    env = {**os.environ, PASSWORD_ENV: "s3cret", "ARLEDGER_NO_CACHE": "1"}
    for _ in range(2):
        done = subprocess.run(command, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
    ids = sorted(parse(e.content)["Message-ID"].strip() for e in inbox.envelopes)
    logged = mail.read_statement_log(ledger / "statement-log.csv")
    assert sorted(e.message_id for e in logged) == ids
    assert len(ids) == len(set(ids)) == 10


def test_check_reads_the_statement_log(ledger_dir):
    path = make(ledger_dir)
    (path / "statement-log.csv").write_bytes(
        b"date,customer,currency,statement_date,balance,message_id\n2026-11-02,ACME\n"
    )
    result = run("check", "--ledger", str(path))
    assert result.exit_code == 2, result.output
    assert "statement-log.csv:2: not a log line" in result.stderr


def test_two_concurrent_send_runs_send_each_statement_once(ledger_dir, smtp_server):  # noqa: F811
    """A cron job and a clerk at once: the second run waits for the first, then
    finds every statement in the log. Three rounds, each from an empty log."""
    import os
    import subprocess
    import sys

    port, inbox = smtp_server
    path = make(ledger_dir, port)
    log = path / "statement-log.csv"
    env = {**os.environ, PASSWORD_ENV: "s3cret", "ARLEDGER_NO_CACHE": "1"}
    command = [sys.executable, "-m", "arledger", "statement", "--all", "--ledger",
               str(path), "--as-of", AS_OF, "--send"]  # fmt: skip
    for round_ in range(3):
        log.unlink(missing_ok=True)
        inbox.envelopes.clear()
        runs = [
            subprocess.Popen(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(2)
        ]
        for run_ in runs:
            code = run_.wait(timeout=120)
            assert code == 0, (round_, run_.communicate()[1].decode())
        delivered = sorted(
            parse(e.content)["Message-ID"].strip() for e in inbox.envelopes
        )
        assert len(delivered) == len(set(delivered)) == 4, round_
        logged = sorted(e.message_id for e in mail.read_statement_log(log))
        assert logged == delivered, round_
