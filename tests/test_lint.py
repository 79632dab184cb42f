"""Lint (SPEC §13): each warning `check` gives, and `--strict` failing on them.

The fixture ledger is read as of 2026-10-31 ("today"); every figure below is
worked out by hand in the test that needs it.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from typer.testing import CliRunner

from arledger import lint
from arledger.api import settlement
from arledger.cli import app
from arledger.loader import load

from .conftest import DEMO, write_ledger

TODAY = date(2026, 10, 31)

LEDGER = dict(
    settings="""\
    currency: USD
    dunning:
      levels:
        - {name: first, days: 1}
        - {name: zweite, days: 15}
    """,
    customers="""\
    - {id: C1, name: One, email: ap@one.example, discount: {percent: 2, days: 10}}
    - {id: C2, name: Two}
    - {id: C3, name: Three, phone: "+1 555 0100"}
    - {id: C4, name: Four, address: "1 Main St"}
    """,
    invoices="""\
    - {id: I1, customer: C1, date: 2026-09-01, amount: 1000.00}
    - {id: I2, customer: C2, date: 2026-09-01, amount: 500.00}
    - {id: I5, customer: C4, date: 2026-08-01, amount: 400.00}
    - {id: I9, customer: C1, date: 2026-12-01, amount: 100.00}
    """,
    payments="""\
    - {id: P1, customer: C1, date: 2026-09-20, amount: 980.00, invoice: I1}
    - {id: P4, customer: C3, date: 2026-09-15, amount: 250.00}
    - {id: P5, customer: C3, date: 2026-10-10, amount: 100.00}
    - {id: P6, customer: C3, date: 2026-10-12, amount: 100.00}
    - {id: P7, customer: C3, date: 2026-10-20, amount: 70.00, reference: WIRE 42}
    - {id: P8, customer: C3, date: 2026-10-25, amount: 80.00, reference: WIRE 42}
    - {id: P9, customer: C4, date: 2026-08-20, amount: 400.00, invoice: I5}
    - {id: P10, customer: C4, date: 2026-09-25, amount: 400.00, invoice: I5}
    - {id: P11, customer: C3, date: 2026-11-05, amount: 10.00}
    """,
    contacts="""\
    - {customer: C2, date: 2026-09-05, channel: phone, promise_date: 2026-10-01, promise_amount: 500.00}
    - {customer: C3, date: 2026-09-01, channel: phone, promise_date: 2026-09-10, promise_amount: 1000.00}
    - {customer: C3, date: 2026-10-05, channel: email, note: asked again}
    """,
)


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    directory = write_ledger(tmp_path_factory.mktemp("lint") / "l", **LEDGER)
    ledger, errors = load(directory)
    assert [e for e in errors if not e.warning] == []
    view = ledger.view(TODAY)
    return directory, view, settlement(view)


def said(check, checked) -> list[str]:
    _, view, settled = checked
    return [str(w) for w in check(view, settled)]


def test_every_warning_is_a_warning_with_its_line(checked):
    directory, view, _ = checked
    found = lint.lint(view.ledger, TODAY)
    assert found and all(w.warning and w.source is not None for w in found)


def test_duplicate_payments(checked):
    """P6 comes 2 days after P5, same customer and amount; P8 has P7's bank
    reference; P10 names I5 again with P9's amount, and I5 was paid by P9."""
    assert sorted(said(lint.duplicate_payments, checked)) == [
        "payments.yaml:4: warning: payment P6 of C3 (USD 100.00) looks like a "
        "duplicate of P5 of 2026-10-10 (same amount 2 days apart)",
        "payments.yaml:6: warning: payment P8 of C3 (USD 80.00) looks like a "
        "duplicate of P7 of 2026-10-20 (same reference 'WIRE 42')",
        "payments.yaml:8: warning: payment P10 of C4 (USD 400.00) looks like a "
        "duplicate of P9 of 2026-08-20 (same amount, for I5, which was paid "
        "already)",
    ]


def test_instalments_naming_one_invoice_are_not_duplicates(tmp_path):
    """Two payments of 500.00 a month apart, both for I1 (1,000.00): the
    second one pays I1 too, so it is no second wire."""
    directory = write_ledger(
        tmp_path / "l",
        customers="- {id: C1, name: One, email: a@b.example}\n",
        invoices="- {id: I1, customer: C1, date: 2026-08-01, amount: 1000.00}\n",
        payments="""\
        - {id: P1, customer: C1, date: 2026-08-20, amount: 500.00, invoice: I1}
        - {id: P2, customer: C1, date: 2026-09-20, amount: 500.00, invoice: I1}
        """,
    )
    ledger, _ = load(directory)
    assert lint.lint(ledger, TODAY) == []


def test_old_unapplied_cash(checked):
    """C3 has no invoice: its cash is all unapplied. P4 (09-15) is 46 days old
    on 10-31, over lint.unapplied_days (30); P5..P8 are 6 to 21 days old. P10's
    400.00 found I5 paid (09-25): 36 days."""
    assert said(lint.old_unapplied_cash, checked) == [
        "payments.yaml:2: warning: USD 250.00 of P4 (C3) unapplied for 46 days "
        "(lint.unapplied_days: 30)",
        "payments.yaml:8: warning: USD 400.00 of P10 (C4) unapplied for 36 days "
        "(lint.unapplied_days: 30)",
    ]


def test_old_unapplied_cash_of_a_payment_without_an_id(tmp_path):
    """A payment without an id is named by where it is written, and its
    warning is at that line; among payments with ids too."""
    directory = write_ledger(
        tmp_path / "l",
        customers="- {id: C1, name: One}\n- {id: C2, name: Two}\n",
        invoices="- {id: I1, customer: C1, date: 2026-08-01, amount: 100.00}\n",
        payments="""\
        - {id: P1, customer: C1, date: 2026-08-10, amount: 100.00, invoice: I1}
        - {customer: C2, date: 2026-09-01, amount: 75.00}
        - {id: P3, customer: C2, date: 2026-09-02, amount: 60.00}
        """,
    )
    ledger, errors = load(directory)
    assert [e for e in errors if not e.warning] == []
    view = ledger.view(TODAY)
    assert [str(w) for w in lint.old_unapplied_cash(view, settlement(view))] == [
        "payments.yaml:2: warning: USD 75.00 of payments.yaml:2 (C2) unapplied "
        "for 60 days (lint.unapplied_days: 30)",
        "payments.yaml:3: warning: USD 60.00 of P3 (C2) unapplied for 59 days "
        "(lint.unapplied_days: 30)",
    ]


def test_forgotten_promises(checked):
    """C2 promised 500.00 by 10-01 and paid nothing: broken 30 days ago, and
    no contact since. C3's promise (09-10) is broken too, but C3 was written
    to on 10-05."""
    assert said(lint.forgotten_promises, checked) == [
        "contacts.yaml:1: warning: C2's promise to pay by 2026-10-01 was broken "
        "30 days ago and nobody has been in touch since"
    ]


def test_a_promise_broken_14_days_ago_is_not_yet_forgotten(checked):
    _, view, _ = checked
    on = view.ledger.view(date(2026, 10, 15))
    assert lint.forgotten_promises(on, settlement(on)) == []
    on = view.ledger.view(date(2026, 10, 16))
    assert len(lint.forgotten_promises(on, settlement(on))) == 1


def test_unreachable_customers(checked):
    """C2 owes I2 and has no email, phone or address; C3 and C4 have a phone
    and an address; C1 an email."""
    assert said(lint.unreachable_customers, checked) == [
        "customers.yaml:2: warning: customer C2 has open items and no email, "
        "phone or address: no letter or statement can reach it"
    ]


def test_unearned_discounts(checked):
    """I1: 1,000.00 on 09-01 at 2/10, so the window ended 09-11. C1 paid
    980.00 on 09-20: the threshold, but late; 20.00 stays open."""
    assert said(lint.unearned_discounts, checked) == [
        "invoices.yaml:1: warning: invoice I1 (C1): USD 20.00 left open: the 2% "
        "discount was deducted after its window ended on 2026-09-11 (unearned; "
        "ask for it or credit it)"
    ]


def test_missing_templates_are_the_letters_warning(checked):
    """The one rule of letters.missing_templates, not a copy."""
    from arledger.letters import missing_templates

    _, view, settled = checked
    found = lint.missing_templates(view, settled)
    assert found == missing_templates(view.ledger)
    assert [w.source.line for w in found] == [5]
    assert "'zweite' has no letter template in 'en'" in found[0].message


def test_future_records(checked):
    assert said(lint.future_records, checked) == [
        "invoices.yaml:4: warning: invoice I9 is dated 2026-12-01, after the date "
        "checked (2026-10-31: today, or --as-of)",
        "payments.yaml:9: warning: payment P11 is dated 2026-11-05, after the date "
        "checked (2026-10-31: today, or --as-of)",
    ]


def run_check(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "arledger", "check", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_warns_and_strict_fails_in_a_real_process(checked):
    directory = checked[0]
    plain = run_check("-l", directory, "--as-of", "2026-10-31")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.endswith(": ok (11 warnings)\n")
    strict = run_check("-l", directory, "--as-of", "2026-10-31", "--strict")
    assert strict.returncode == 2
    assert strict.stdout == ""
    assert strict.stderr.splitlines()[-1] == (
        "arledger: 0 problems, 11 warnings (--strict: warnings fail)"
    )
    assert "Traceback" not in strict.stderr
    assert plain.stderr.splitlines() == strict.stderr.splitlines()[:-1]


def test_check_json_under_strict_is_not_ok(checked):
    import json

    result = CliRunner().invoke(
        app,
        ["check", "-l", str(checked[0]), "--as-of", "2026-10-31", "--strict",
         "-f", "json"],
    )  # fmt: skip
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert {p["severity"] for p in data["problems"]} == {"warning"}


def test_the_demo_s_duplicated_wire_is_flagged():
    """HARBOR's PAY-0107 (2026-07-20) pays INV-2026-0046 again, which PAY-0098
    paid on 2026-06-23: the issue's duplicated wire."""
    result = run_check("-l", DEMO, "--as-of", "2026-10-31", "--strict")
    assert result.returncode == 2
    assert (
        "payments.csv:108: warning: payment PAY-0107 of HARBOR (USD 2,574.00) "
        "looks like a duplicate of PAY-0098 of 2026-06-23 (same amount, for "
        "INV-2026-0046, which was paid already)"
    ) in result.stderr.splitlines()
