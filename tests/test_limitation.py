"""Limitation watch (诉讼时效, SPEC §11): each open item's limitation date, and
the events that renew it. Figures worked out by hand in each test."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

from arledger.api import load, settlement
from arledger.cli import app
from arledger.mail import read_log
from arledger.reports import limitation
from arledger.reports.limitation import add_years

from .conftest import write_ledger

# Three years (the default, PRC Civil Code art. 188), read as of 2026-05-31;
# the window of 90 days reaches 2026-08-29.
LEDGER = {
    "settings": "currency: USD\nlimitation: {years: 3}\n",
    "customers": """\
    - {id: C1, name: One, email: a@one.example}
    - {id: C2, name: Two, email: a@two.example}
    - {id: C3, name: Three, email: a@three.example}
    - {id: C4, name: Four, email: a@four.example}
    """,
    "invoices": """\
    - {id: I1, customer: C1, date: 2023-01-01, due: 2023-01-31, amount: 1000.00}
    - {id: I2, customer: C1, date: 2023-03-01, due: 2023-03-31, amount: 1000.00}
    - {id: I3, customer: C2, date: 2023-02-01, due: 2023-03-03, amount: 500.00}
    - {id: I4, customer: C2, date: 2023-04-01, due: 2023-05-01, amount: 300.00}
    - {id: I5, customer: C2, date: 2023-06-01, due: 2023-07-01, amount: 200.00}
    - {id: I6, customer: C3, date: 2023-05-01, due: 2023-05-31, amount: 700.00}
    - {id: I7, customer: C4, date: 2023-04-01, due: 2023-04-30, amount: 800.00}
    """,
    "payments": """\
    - {id: P1, customer: C1, date: 2023-06-15, amount: 400.00, invoice: I2}
    """,
    "contacts": """\
    - {customer: C3, date: 2023-09-01, channel: legal, note: to counsel}
    - {customer: C4, date: 2023-08-01, channel: phone, acknowledged: true}
    - {customer: C1, date: 2025-01-10, channel: phone, note: no answer}
    """,
    # A letter to C2 on 2023-05-10, when I3 and I4 were overdue and I5 not yet
    # due; one in EUR later, which says nothing about C2's USD items.
    "dunning-log.csv": (
        "date,customer,level,currency,amount,message_id\n"
        "2023-05-10,C2,first,USD,800.00,<1@x>\n"
        "2024-01-05,C2,first,EUR,10.00,<2@x>\n"
    ),
}
AS_OF = date(2026, 5, 31)


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory):
    return write_ledger(tmp_path_factory.mktemp("limitation") / "l", **LEDGER)


def rows(ledger_path, within=90, as_of=AS_OF):
    ledger = load(ledger_path)
    view = ledger.view(as_of)
    sent = read_log(ledger_path / "dunning-log.csv")
    found = limitation.compute(view, settlement(view), sent, within)
    return [
        (r.invoice, r.renewed, r.renewed_by, r.limitation_date, r.days_left, r.open)
        for r in found.get("USD", [])
    ]


def test_limitation_dates_and_what_renewed_them(ledger_path):
    """I1: due 2023-01-31, nothing since (a phone call is no renewal):
    2026-01-31, 120 days ago. I3, I4: the letter of 2023-05-10 came after
    their due dates: 2026-05-10, 21 days ago. I2: P1 paid 400.00 of it on
    2023-06-15: 2026-06-15, in 15 days. I5: due 2023-07-01, after the letter:
    2026-07-01, in 31 days. I7: C4 acknowledged the debt on 2023-08-01:
    2026-08-01, in 62 days. I6: the legal step of 2023-09-01 gives 2026-09-01,
    93 days away: outside 90."""
    assert rows(ledger_path) == [
        ("I1", None, None, date(2026, 1, 31), -120, D("1000.00")),
        ("I3", date(2023, 5, 10), "letter", date(2026, 5, 10), -21, D("500.00")),
        ("I4", date(2023, 5, 10), "letter", date(2026, 5, 10), -21, D("300.00")),
        ("I2", date(2023, 6, 15), "payment", date(2026, 6, 15), 15, D("600.00")),
        ("I5", None, None, date(2026, 7, 1), 31, D("200.00")),
        ("I7", date(2023, 8, 1), "acknowledged", date(2026, 8, 1), 62, D("800.00")),
    ]
    assert [r[0] for r in rows(ledger_path, within=93)][-1] == "I6"


def test_a_payment_renews_only_the_item_it_pays(ledger_path):
    """P1 paid I2; I1 of the same customer keeps its own date."""
    found = {r[0]: r for r in rows(ledger_path)}
    assert found["I1"][2] is None and found["I2"][2] == "payment"


def test_a_letter_renews_an_item_only_once_it_is_overdue(ledger_path):
    found = {r[0]: r for r in rows(ledger_path)}
    assert found["I4"][1] == date(2023, 5, 10)  # due 05-01: overdue then
    assert found["I5"][1] is None  # due 07-01: not yet


def test_a_letter_in_the_collection_log_renews(tmp_path):
    """A letter recorded in the contact log (sent by post, outside arledger)
    renews as one in the sent log does: I1, due 2023-01-31, lettered on
    2023-06-30: 2026-06-30, 30 days left on 2026-05-31."""
    ledger = write_ledger(
        tmp_path / "l",
        customers="- {id: C1, name: One, email: a@one.example}\n",
        invoices="- {id: I1, customer: C1, date: 2023-01-01, due: 2023-01-31, "
        "amount: 1000.00}\n",
        contacts="- {customer: C1, date: 2023-06-30, channel: letter}\n",
    )
    view = load(ledger).view(AS_OF)
    (row,) = limitation.compute(view, settlement(view))["USD"]
    assert (row.renewed, row.renewed_by, row.limitation_date, row.days_left) == (
        date(2023, 6, 30),
        "letter",
        date(2026, 6, 30),
        30,
    )


def test_add_years_keeps_the_day_or_the_month_end():
    assert add_years(date(2023, 1, 31), 3) == date(2026, 1, 31)
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)


def invoke(*args: object):
    return CliRunner().invoke(app, ["limitation", *map(str, args)])


def test_command_json_rows_as_the_spec_names_them(ledger_path):
    result = invoke("-l", ledger_path, "--as-of", "2026-05-31", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["report"], data["years"], data["within"]) == ("limitation", 3, 90)
    [usd] = data["sections"]
    first = usd["rows"][0]
    assert first == {
        "customer": "C1",
        "invoice": "I1",
        "item": None,
        "due": "2023-01-31",
        "renewed": None,
        "renewed_by": None,
        "limitation_date": "2026-01-31",
        "days_left": -120,
        "open": "1000.00",
    }
    assert usd["totals"] == {"open": "3400.00"}  # 1000 + 500 + 300 + 600 + 200 + 800


def test_within_and_filters(ledger_path):
    result = invoke("-l", ledger_path, "--as-of", "2026-05-31", "--within", "0",
                    "--customer", "C2", "-f", "csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split(",")[2] for line in lines[1:]] == ["I3", "I4"]
    bad = invoke("-l", ledger_path, "--within", "-1")
    assert bad.exit_code == 2 and "--within" in bad.output


def test_fail_on_limitation_exits_1_in_a_real_process(ledger_path):
    def run(as_of: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "arledger", "aging", "-l", str(ledger_path),
             "--as-of", as_of, "--fail-on", "limitation"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    found = run("2026-05-31")
    assert found.returncode == 1, found.stderr
    assert found.stderr.startswith(
        "arledger: attention: 6 items past or near their limitation date: "
        "C1 I1 2026-01-31, C1 I2 2026-06-15,"
    )
    quiet = run("2025-10-01")  # I1's date is 122 days away then
    assert quiet.returncode == 0, quiet.stderr
