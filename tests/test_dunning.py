"""Dunning (SPEC §2, "Dunning"; issue 4): levels, amounts, stops, letters.

Every expected figure was computed by hand; the docstrings show the arithmetic.
Ledgers are inline YAML; the as-of date is 2026-10-31 unless a test says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from arledger import mail
from arledger.cli import app
from arledger.letters import TemplateProblem, render_letter, zh_capital
from arledger.loader import load
from arledger.model import Contact, DunningLevel
from arledger.reports import dunning
from arledger.reports.dunning import (
    accrued_interest,
    dunning_level,
    fee_from,
    interest_on,
)
from arledger.settle import settle

from .conftest import DEMO, ROOT

D = Decimal
AS_OF = "2026-10-31"

SETTINGS = """\
company: {name: Test Trading Co., email: ar@test.example, bank: "Test Bank, account 42"}
currency: USD
"""
CUSTOMERS = """\
- {id: C, name: Customer Ltd, email: ap@customer.example, contact: Pat Doe (AP)}
"""


def compute(path, as_of: str = AS_OF):
    ledger, errors = load(path)
    assert not [e for e in errors if not e.warning], errors
    view = ledger.view(date.fromisoformat(as_of))
    return dunning.compute(view, settle(view)), ledger


def one(result, customer: str = "C"):
    found = [lt for lt in result.letters if lt.customer == customer]
    assert len(found) == 1, (result.letters, result.skipped)
    return found[0]


def skipped(result, customer: str = "C"):
    found = [s for s in result.skipped if s.customer == customer]
    assert len(found) == 1, (result.letters, result.skipped)
    return found[0]


DAYS = "dunning: {escalation: days}\n"  # the level from days past due alone


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["dunning", *args], env=env)


# ---------------------------------------------------------------- levels

DEFAULT_LEVELS = tuple(
    DunningLevel(name=n, days=d)
    for n, d in (
        ("reminder", -3),
        ("first", 1),
        ("second", 15),
        ("final", 30),
        ("legal", 60),
    )
)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (-4, None),
        (-3, "reminder"),
        (0, "reminder"),
        (1, "first"),
        (14, "first"),
        (15, "second"),
        (29, "second"),
        (30, "final"),
        (59, "final"),
        (60, "legal"),
        (400, "legal"),
    ],
)
def test_level_is_the_highest_whose_days_are_reached(days, expected):
    index = dunning_level(days, DEFAULT_LEVELS)
    assert (DEFAULT_LEVELS[index].name if index is not None else None) == expected


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        ("2026-11-04", None),  # due in 4 days: nothing yet
        ("2026-11-03", "reminder"),  # due in 3 days: days past due -3
        ("2026-10-31", "reminder"),  # due today: 0
        ("2026-10-30", "first"),  # 1 day
        ("2026-10-17", "first"),  # 14
        ("2026-10-16", "second"),  # 15
        ("2026-10-02", "second"),  # 29
        ("2026-10-01", "final"),  # 30
        ("2026-09-02", "final"),  # 59
        ("2026-09-01", "legal"),  # 60
    ],
)
def test_level_at_each_boundary_through_a_ledger(ledger_dir, due, expected):
    """The due level, from days past due alone (`escalation: days`)."""
    path = ledger_dir(
        settings=SETTINGS + DAYS,
        customers=CUSTOMERS,
        invoices=f"- {{id: I1, customer: C, date: 2026-08-01, due: {due}, amount: 100.00}}\n",
    )
    result, _ = compute(path)
    if expected is None:
        assert result.letters == () and result.skipped == ()
    else:
        assert one(result).level == expected


def test_levels_must_be_written_mildest_first(ledger_dir):
    """SPEC §4: dunning levels whose days do not increase are an error (a ladder
    written out of order is a ladder someone misread)."""
    path = ledger_dir(
        settings=SETTINGS
        + "dunning:\n  levels: [{name: late, days: 20}, {name: early, days: 1}]\n",
        customers=CUSTOMERS,
        invoices="- {id: I1, customer: C, date: 2026-08-01, due: 2026-10-10, amount: 100.00}\n",
    )
    _, errors = load(path)
    assert [str(e) for e in errors] == [
        "arledger.yaml:4: dunning.levels: level 'early' (1 days) must come later "
        "than 'late' (20 days): days must increase"
    ]


def test_reminder_demands_only_items_falling_due_within_three_days(ledger_dir):
    """I1 is due 2026-11-02 (-2 days), I2 on 2026-11-05 (-5): only I1 is asked for,
    on its due date."""
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="""\
        - {id: I1, customer: C, date: 2026-10-01, due: 2026-11-02, amount: 100.00}
        - {id: I2, customer: C, date: 2026-10-01, due: 2026-11-05, amount: 50.00}
        """,
    )
    letter = one(compute(path)[0])
    assert letter.level == "reminder"
    assert [i.invoice for i in letter.items] == ["I1"]
    assert letter.total == D("100.00")
    assert letter.pay_by == date(2026, 11, 2)
    assert not letter.overdue


def test_an_overdue_level_demands_what_is_overdue_not_what_is_current(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="""\
        - {id: I1, customer: C, date: 2026-09-01, due: 2026-10-26, amount: 100.00}
        - {id: I2, customer: C, date: 2026-10-01, due: 2026-11-02, amount: 50.00}
        """,
    )
    letter = one(compute(path)[0])
    assert (letter.level, letter.days) == ("first", 5)
    assert [i.invoice for i in letter.items] == ["I1"]
    assert letter.total == D("100.00")
    assert letter.overdue


def test_an_instalment_ages_by_its_own_due_date(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="""\
        - id: I1
          customer: C
          date: 2026-06-01
          amount: 300.00
          schedule:
            - {due: 2026-07-01, amount: 100.00}
            - {due: 2026-10-21, amount: 100.00}
            - {due: 2026-12-01, amount: 100.00}
        """,
        payments="- {customer: C, date: 2026-07-01, amount: 100.00, invoice: I1}\n",
    )
    letter = one(compute(path)[0])
    assert (letter.level, letter.days, letter.total) == ("first", 10, D("100.00"))
    assert [(i.invoice, i.instalment) for i in letter.items] == [("I1", 2)]


# ---------------------------------------------------------------- pay-by date


def test_pay_by_is_as_of_plus_ten_days_by_default(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="- {id: I1, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 100.00}\n",
    )
    assert one(compute(path)[0]).pay_by == date(2026, 11, 10)


def test_pay_by_from_the_policy_and_from_the_level(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS
        + """\
dunning:
  pay_days: 14
  escalation: days
  levels: [{name: first, days: 1}, {name: final, days: 30, pay_days: 5}]
""",
        customers="""\
        - {id: C, name: Customer Ltd}
        - {id: D, name: Debtor Ltd}
        """,
        invoices="""\
        - {id: I1, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 100.00}
        - {id: I2, customer: D, date: 2026-08-01, due: 2026-09-21, amount: 100.00}
        """,
    )
    result, _ = compute(path)
    assert one(result, "C").pay_by == date(2026, 11, 14)  # 10-31 + 14
    assert one(result, "D").pay_by == date(2026, 11, 5)  # final: 10-31 + 5


# ---------------------------------------------------------------- interest, fee


def test_interest_per_item_and_fee_hand_computed(ledger_dir):
    """rate 8% a year, fee 25.00; as of 2026-10-31:

    I1: 1000.00 due 2026-09-16, 45 days: 1000.00 × 0.08 × 45 / 365 = 9.8630… -> 9.86
    I2:  333.33 due 2026-10-14, 17 days:  333.33 × 0.08 × 17 / 365 = 1.2419… -> 1.24
    level final (45 ≥ 30) carries the fee (from `second` on): 25.00
    total = 1333.33 + 9.86 + 1.24 + 25.00 = 1369.43
    """
    path = ledger_dir(
        settings=SETTINGS
        + "dunning: {interest_rate: 0.08, fee: 25, escalation: days}\n",
        customers=CUSTOMERS,
        invoices="""\
        - {id: I1, customer: C, date: 2026-08-01, due: 2026-09-16, amount: 1000.00}
        - {id: I2, customer: C, date: 2026-09-01, due: 2026-10-14, amount: 333.33}
        """,
    )
    letter = one(compute(path)[0])
    assert letter.level == "final"
    assert [(i.days, i.interest) for i in letter.items] == [
        (45, D("9.86")),
        (17, D("1.24")),
    ]
    assert letter.principal == D("1333.33")
    assert letter.interest == D("11.10")
    assert letter.fee == D("25.00")
    assert letter.total == D("1369.43")
    text = render_letter(letter, "md", settings=_settings(path), ledger_root=path)
    assert "8.00%" in text and "9.86" in text and "25.00" in text
    assert "**1,369.43**" in text


def _settings(path):
    return load(path)[0].settings


def test_interest_is_rounded_once_per_item_half_up():
    """100.25 × 0.10 × 73 / 365 = 2.005 exactly -> 2.01 (half-even would give 2.00)."""
    assert interest_on(D("100.25"), 73, D("0.10"), "USD") == D("2.01")
    assert interest_on(D("100.25"), 0, D("0.10"), "USD") == D("0")
    assert interest_on(D("100.25"), 73, D("0"), "USD") == D("0")
    # JPY has no minor unit: 12345 × 0.08 × 30 / 365 = 81.17… -> 81
    assert interest_on(D("12345"), 30, D("0.08"), "JPY") == D("81")


@pytest.mark.parametrize(
    ("due", "level", "fee"),
    [
        ("2026-10-17", "first", D("0")),  # 14 days: no fee below `second`
        ("2026-10-16", "second", D("12.50")),  # 15 days: fee
        ("2026-08-01", "legal", D("12.50")),  # 91 days: fee, once per letter
    ],
)
def test_fee_from_level_second_on(ledger_dir, due, level, fee):
    path = ledger_dir(
        settings=SETTINGS + "dunning: {fee: 12.5, escalation: days}\n",
        customers=CUSTOMERS,
        invoices=f"""\
        - {{id: I1, customer: C, date: 2026-07-01, due: {due}, amount: 100.00}}
        - {{id: I2, customer: C, date: 2026-07-01, due: {due}, amount: 100.00}}
        """,
    )
    letter = one(compute(path)[0])
    assert (letter.level, letter.fee, letter.total) == (level, fee, D("200.00") + fee)


def test_fee_without_a_level_named_second_starts_at_the_second_overdue_level():
    levels = (
        DunningLevel(name="soon", days=-5),
        DunningLevel(name="late", days=1),
        DunningLevel(name="later", days=20),
        DunningLevel(name="latest", days=40),
    )
    assert fee_from(levels) == 2
    assert fee_from(DEFAULT_LEVELS) == 2
    assert fee_from(levels[:2]) is None


def test_an_interest_rate_written_as_percent_is_refused(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS + "dunning: {interest_rate: 8}\n",
        customers=CUSTOMERS,
        invoices="- {id: I1, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 100.00}\n",
    )
    result = run("--ledger", str(path), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "interest_rate" in result.stderr and "0.08" in result.stderr


# ---------------------------------------------------------------- what is demanded


def test_disputed_items_are_listed_apart_and_never_demanded(ledger_dir):
    """D1 (disputed, 92 days) would make it `legal`; the level comes from U1 (5 days)."""
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="""\
        - {id: D1, customer: C, date: 2026-06-01, due: 2026-07-31, amount: 500.00, disputed: true}
        - {id: U1, customer: C, date: 2026-09-01, due: 2026-10-26, amount: 200.00}
        """,
    )
    letter = one(compute(path)[0])
    assert (letter.level, letter.total) == ("first", D("200.00"))
    assert [i.invoice for i in letter.items] == ["U1"]
    assert [(i.invoice, i.open) for i in letter.disputed] == [("D1", D("500.00"))]
    text = render_letter(letter, "txt", settings=_settings(path), ledger_root=path)
    assert "in dispute and not included" in text
    assert text.index("D1") > text.index("in dispute")


def test_only_disputed_items_give_no_letter_and_say_why(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="- {id: D1, customer: C, date: 2026-06-01, due: 2026-07-31, amount: 500.00, disputed: true}\n",
    )
    result, _ = compute(path)
    assert result.letters == ()
    assert "only disputed items: D1" in skipped(result).reason


UNAPPLIED = """\
- {id: I1, customer: C, date: 2026-09-01, due: 2026-10-11, amount: 1000.00}
- {id: I2, customer: C, date: 2026-11-15, amount: 300.00}
"""


def test_unapplied_cash_is_deducted_and_said_so(ledger_dir):
    """P1 (300.00) names I2, issued only on 2026-11-15: as of 10-31 it waits as
    unapplied cash. I1: 1000.00, 20 days -> first; 1000.00 − 300.00 = 700.00."""
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices=UNAPPLIED,
        payments="- {id: P1, customer: C, date: 2026-10-20, amount: 300.00, allocations: {I2: 300.00}}\n",
    )
    letter = one(compute(path)[0])
    assert (letter.principal, letter.unapplied, letter.total) == (
        D("1000.00"),
        D("300.00"),
        D("700.00"),
    )
    for fmt, lang_text in (("md", "unapplied cash on your account"),):
        text = render_letter(letter, fmt, settings=_settings(path), ledger_root=path)
        assert lang_text in text and "-300.00" in text and "**700.00**" in text


def test_unapplied_cash_covering_everything_means_no_letter(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices=UNAPPLIED.replace("300.00", "1000.00"),
        payments="- {id: P1, customer: C, date: 2026-10-20, amount: 1000.00, allocations: {I2: 1000.00}}\n",
    )
    result, _ = compute(path)
    assert result.letters == ()
    assert "unapplied cash of 1,000.00 covers" in skipped(result).reason


@pytest.mark.parametrize(("amount", "letter"), [("99.99", False), ("100.00", True)])
def test_min_amount(ledger_dir, amount, letter):
    path = ledger_dir(
        settings=SETTINGS + "dunning: {min_amount: 100}\n",
        customers=CUSTOMERS,
        invoices=f"- {{id: I1, customer: C, date: 2026-09-01, due: 2026-10-21, amount: {amount}}}\n",
    )
    result, _ = compute(path)
    if letter:
        assert one(result).total == D("100.00")
    else:
        assert result.letters == ()
        assert "below the minimum of 100.00" in skipped(result).reason


def test_a_customer_on_hold_still_gets_letters(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers="- {id: C, name: Customer Ltd, hold: true}\n",
        invoices="- {id: I1, customer: C, date: 2026-06-01, due: 2026-07-01, amount: 100.00}\n",
    )
    assert one(compute(path)[0]).level == "first"  # no letter sent before


# ---------------------------------------------------------------- stops


def test_customer_dunning_block_stops_letters_until_its_date(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers="- {id: C, name: Customer Ltd, dunning_block: {until: 2026-11-15, reason: payment plan}}\n",
        invoices="- {id: I1, customer: C, date: 2026-06-01, due: 2026-07-01, amount: 100.00}\n",
    )
    before, _ = compute(path, "2026-11-14")
    stop = skipped(before)
    assert before.letters == ()
    assert stop.level == "first"
    assert stop.reason == "dunning block until 2026-11-15: payment plan"
    on_the_day, _ = compute(path, "2026-11-15")
    assert one(on_the_day).level == "first"


def test_invoice_dunning_block_leaves_it_out(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="""\
        - {id: I1, customer: C, date: 2026-06-01, due: 2026-07-01, amount: 100.00, dunning_block: {until: 2026-12-01, reason: credit note coming}}
        - {id: I2, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 40.00}
        """,
    )
    letter = one(compute(path)[0])
    # I1 (122 days) is blocked: the level comes from I2 (10 days)
    assert (letter.level, letter.total) == ("first", D("40.00"))
    assert [i.invoice for i in letter.items] == ["I2"]


def test_every_invoice_blocked_means_no_letter_and_says_which(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="- {id: I1, customer: C, date: 2026-06-01, due: 2026-07-01, amount: 100.00, dunning_block: {until: 2026-12-01, reason: credit note coming}}\n",
    )
    result, _ = compute(path)
    assert result.letters == ()
    assert skipped(result).reason == "I1 blocked until 2026-12-01: credit note coming"


PROMISE_INVOICES = (
    "- {id: I1, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 5000.00}\n"
)


def test_open_promise_stops_letters_until_the_promised_date(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices=PROMISE_INVOICES,
        contacts="- {customer: C, date: 2026-10-25, channel: phone, promise_date: 2026-11-05, promise_amount: 5000.00}\n",
    )
    result, _ = compute(path)
    assert result.letters == ()
    assert (
        skipped(result).reason == "promised on 2026-10-25 to pay 5,000.00 by 2026-11-05"
    )
    still_open, _ = compute(path, "2026-11-05")
    assert still_open.letters == ()


needs_contact_invoice = pytest.mark.skipif(
    "invoice" not in Contact.model_fields,
    reason="contacts have no `invoice` field (promise on one invoice)",
)


@needs_contact_invoice
def test_open_promise_on_one_invoice_leaves_only_that_invoice_out(ledger_dir):
    """I1 (5000.00, 10 days) is promised by 11-05; I2 (300.00, 20 days) is not:
    the letter asks for I2 at `first` (nothing sent before) and says I1 is
    promised."""
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS + "- {id: Z, name: 华东贸易有限公司, language: zh}\n",
        invoices=PROMISE_INVOICES
        + """\
- {id: I2, customer: C, date: 2026-09-01, due: 2026-10-11, amount: 300.00}
- {id: I3, customer: Z, date: 2026-09-01, due: 2026-10-21, amount: 800.00}
- {id: I4, customer: Z, date: 2026-09-01, due: 2026-10-11, amount: 200.00}
""",
        contacts="""\
        - {customer: C, date: 2026-10-25, channel: phone, promise_date: 2026-11-05, promise_amount: 5000.00, invoice: I1}
        - {customer: Z, date: 2026-10-25, channel: phone, promise_date: 2026-11-05, invoice: I4}
        """,
    )
    result, ledger = compute(path)
    letter = one(result)
    assert (letter.level, letter.days, letter.total) == ("first", 20, D("300.00"))
    assert [i.invoice for i in letter.items] == ["I2"]
    assert [(p.invoice, p.open) for p in letter.promised] == [("I1", D("5000.00"))]
    text = render_letter(letter, "md", settings=ledger.settings, ledger_root=path)
    assert "you promised to pay invoice I1 by 5 November 2026" in text
    assert "USD 5,000.00 is therefore not included" in text
    zh = one(result, "Z")
    assert (zh.level, zh.total) == ("first", D("800.00"))
    text = render_letter(zh, "md", settings=ledger.settings, ledger_root=path)
    assert (
        "承诺于2026年11月5日前支付I4项下款项" in text and "未计入本函应付金额" in text
    )


@needs_contact_invoice
def test_every_overdue_invoice_promised_means_no_letter(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices=PROMISE_INVOICES,
        contacts="- {customer: C, date: 2026-10-25, channel: phone, promise_date: 2026-11-05, invoice: I1}\n",
    )
    result, _ = compute(path)
    assert result.letters == ()
    assert skipped(result).reason == "promised on 2026-10-25 to pay I1 by 2026-11-05"


def test_a_first_letter_names_a_broken_promise_without_a_step(ledger_dir):
    """Nothing sent yet: the promise of 10-15 for 10-20 went unpaid, and the
    first letter says so, at `first` (never a `second` as the first letter)."""
    path = ledger_dir(
        settings=SETTINGS + "dunning: {fee: 10}\n",
        customers="- {id: C, name: Customer Ltd, contact: Pat Doe (AP)}\n",
        invoices=PROMISE_INVOICES,
        contacts="- {customer: C, date: 2026-10-15, channel: phone, "
        "promise_date: 2026-10-20, promise_amount: 5000.00}\n",
    )
    result, ledger = compute(path)
    letter = one(result)
    assert (letter.level, letter.escalated_from, letter.fee) == (
        "first",
        None,
        D("0"),
    )
    text = render_letter(letter, "md", settings=ledger.settings, ledger_root=path)
    assert (
        "On 15 October 2026 you promised to pay USD 5,000.00 by 20 October 2026" in text
    )
    assert "next stage" not in text


def test_broken_promise_escalates_one_level_and_the_letter_says_so(ledger_dir):
    """A first letter went out on 10-22 (pay by 11-01, not passed: the rule
    keeps `first`); then a promise of 10-23 to pay by 10-28 went unpaid: one
    step further, `second`, and from `second` on the fee applies."""
    path = ledger_dir(
        **{
            "dunning-log.csv": LOG_HEADER
            + "2026-10-22,C,first,USD,1,<a@x>\n2026-10-22,Z,first,USD,1,<b@x>\n"
        },
        settings=SETTINGS + "dunning: {fee: 10}\n",
        customers="""\
        - {id: C, name: Customer Ltd, contact: Pat Doe (AP)}
        - {id: Z, name: 华东贸易有限公司, contact: 王经理（财务部）, language: zh}
        """,
        invoices=PROMISE_INVOICES
        + "- {id: I2, customer: Z, date: 2026-09-01, due: 2026-10-21, amount: 800.00}\n",
        contacts="""\
        - {customer: C, date: 2026-10-23, channel: phone, promise_date: 2026-10-28, promise_amount: 5000.00}
        - {customer: Z, date: 2026-10-23, channel: phone, promise_date: 2026-10-28}
        """,
    )
    result, ledger = compute_with_log(path, AS_OF)
    letter = one(result)
    assert (letter.level, letter.escalated_from, letter.fee) == (
        "second",
        "first",
        D("10.00"),
    )
    assert letter.broken_promise is not None
    text = render_letter(letter, "md", settings=ledger.settings, ledger_root=path)
    assert (
        "On 23 October 2026 you promised to pay USD 5,000.00 by 28 October 2026" in text
    )
    assert "next stage" in text
    zh = one(result, "Z")
    assert (zh.level, zh.escalated_from) == ("second", "first")
    text = render_letter(zh, "md", settings=ledger.settings, ledger_root=path)
    assert "贵司曾于2026年10月23日承诺于2026年10月28日前付款" in text
    assert "升级" in text


def test_broken_promise_at_the_top_level_stays_there(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS + DAYS,
        customers=CUSTOMERS,
        invoices="- {id: I1, customer: C, date: 2026-01-01, due: 2026-02-01, amount: 100.00}\n",
        contacts="- {customer: C, date: 2026-10-01, channel: phone, promise_date: 2026-10-10, promise_amount: 100.00}\n",
    )
    letter = one(compute(path)[0])
    assert (letter.level, letter.escalated_from) == ("legal", None)
    assert letter.broken_promise is not None and letter.top


def test_a_broken_promise_paid_late_no_longer_escalates(ledger_dir):
    """Promised 100.00 by 10-10, paid 100.00 on 10-20 (late, but in full)."""
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="""\
        - {id: I1, customer: C, date: 2026-08-01, due: 2026-09-01, amount: 100.00}
        - {id: I2, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 70.00}
        """,
        payments="- {customer: C, date: 2026-10-20, amount: 100.00, invoice: I1}\n",
        contacts="- {customer: C, date: 2026-09-20, channel: phone, promise_date: 2026-10-10, promise_amount: 100.00}\n",
    )
    letter = one(compute(path)[0])
    assert (letter.level, letter.broken_promise, letter.escalated_from) == (
        "first",
        None,
        None,
    )


def test_the_level_is_a_pure_function_of_ledger_and_date(ledger_dir):
    """Same ledger, same day: the same letters; records dated after as-of (a
    payment, a new invoice) change nothing."""
    invoices = (
        "- {id: I1, customer: C, date: 2026-09-01, due: 2026-10-11, amount: 100.00}\n"
    )
    path = ledger_dir(settings=SETTINGS, customers=CUSTOMERS, invoices=invoices)
    first, _ = compute(path)
    assert compute(path)[0] == first
    ledger_dir(
        invoices=invoices
        + "- {id: I2, customer: C, date: 2026-11-02, due: 2026-11-03, amount: 9.00}\n",
        payments="- {customer: C, date: 2026-11-01, amount: 100.00, invoice: I1}\n",
    )
    assert compute(path)[0] == first
    assert compute(path, "2026-11-03")[0].letters[0].level == "reminder"


# ---------------------------------------------------------------- one step at a time

LOG_HEADER = "date,customer,level,currency,amount,message_id\n"


def stepped(ledger_dir, sent: str, *, as_of: str = AS_OF, **files: str):
    """The letter or skip of customer C with `sent` as the sent log's lines."""
    files = {"settings": SETTINGS, "customers": CUSTOMERS, **files}
    path = ledger_dir(**files, **{"dunning-log.csv": LOG_HEADER + sent})
    ledger, errors = load(path)
    assert not [e for e in errors if not e.warning], errors
    view = ledger.view(date.fromisoformat(as_of))
    log = mail.read_log(path / "dunning-log.csv")
    result = dunning.compute(view, settle(view), sent=log)
    return one(result)


LONG_LATE = (
    "- {id: I1, customer: C, date: 2026-07-01, due: 2026-08-01, amount: 100.00}\n"
)


@pytest.mark.parametrize(
    ("sent", "as_of", "level", "history"),
    [
        # no letter on record: `first`, however late (91 days: due level legal)
        ("", AS_OF, "first", "nothing sent since overdue on 2026-08-02 → first"),
        # a reminder before the due date is before the episode; one within it
        # is not a step past `first`
        ("2026-07-29,C,reminder,USD,100.00,<r@x>\n", AS_OF, "first",
         "nothing sent since overdue on 2026-08-02 → first"),
        ("2026-08-05,C,reminder,USD,100.00,<r@x>\n", AS_OF, "first",
         "reminder sent 2026-08-05, pay by 2026-08-15 passed → first"),
        # one step, once the pay-by date has passed
        ("2026-10-05,C,first,USD,100.00,<a@x>\n", AS_OF, "second",
         "first sent 2026-10-05, pay by 2026-10-15 passed → second"),
        # pay-by not passed: the same level again
        ("2026-10-25,C,first,USD,100.00,<a@x>\n", AS_OF, "first",
         "first sent 2026-10-25, pay by 2026-11-04 not passed → first"),
        # on the pay-by date itself: not yet; the day after: a step
        ("2026-10-21,C,first,USD,100.00,<a@x>\n", "2026-10-31", "first",
         "first sent 2026-10-21, pay by 2026-10-31 not passed → first"),
        ("2026-10-21,C,first,USD,100.00,<a@x>\n", "2026-11-01", "second",
         "first sent 2026-10-21, pay by 2026-10-31 passed → second"),
        # the highest level sent counts, then its own pay-by
        ("2026-09-01,C,first,USD,1,<a@x>\n2026-09-20,C,second,USD,1,<b@x>\n"
         "2026-10-01,C,final,USD,1,<c@x>\n", AS_OF, "legal",
         "final sent 2026-10-01, pay by 2026-10-11 passed → legal"),
        # the top level stays the top level
        ("2026-10-01,C,legal,USD,1,<d@x>\n", AS_OF, "legal",
         "legal sent 2026-10-01, pay by 2026-10-11 passed → legal"),
        # other customers, currencies, unknown levels and later dates: not its history
        ("2026-10-01,D,final,USD,1,<a@x>\n2026-10-01,C,final,EUR,1,<b@x>\n"
         "2026-10-01,C,nudge,USD,1,<c@x>\n2026-11-02,C,final,USD,1,<e@x>\n",
         AS_OF, "first", "nothing sent since overdue on 2026-08-02 → first"),
    ],
)  # fmt: skip
def test_the_level_climbs_one_step_at_a_time(ledger_dir, sent, as_of, level, history):
    letter = stepped(ledger_dir, sent, as_of=as_of, invoices=LONG_LATE)
    assert (letter.level, letter.history) == (level, history)


def test_the_due_level_still_caps_the_step(ledger_dir):
    """20 days past due is `second` by days: a `second` already sent whose
    pay-by passed would allow `final`, but the days do not."""
    letter = stepped(
        ledger_dir,
        "2026-10-12,C,first,USD,1,<a@x>\n2026-10-18,C,second,USD,1,<b@x>\n",
        invoices="- {id: I1, customer: C, date: 2026-09-01, due: 2026-10-11, amount: 100.00}\n",
    )
    assert letter.level == "second"
    assert letter.history == (
        "second sent 2026-10-18, pay by 2026-10-28 passed → final; "
        "20 days past due → second"
    )
    assert letter.previous == (
        (date(2026, 10, 12), "first"),
        (date(2026, 10, 18), "second"),
    )


def test_a_level_pay_days_sets_when_the_next_step_may_come(ledger_dir):
    letter = stepped(
        ledger_dir,
        "2026-10-25,C,first,USD,1,<a@x>\n",
        settings=SETTINGS + "dunning: {levels: [{name: first, days: 1, pay_days: 3}, "
        "{name: second, days: 15}]}\n",
        invoices=LONG_LATE,
    )
    assert letter.level == "second"
    assert letter.history == "first sent 2026-10-25, pay by 2026-10-28 passed → second"


NEW_EPISODE_LOG = (
    "2026-06-05,C,first,USD,1,<a@x>\n2026-06-20,C,second,USD,1,<b@x>\n"
    "2026-07-05,C,final,USD,1,<c@x>\n"
)


def test_a_new_episode_after_everything_was_paid_starts_again(ledger_dir):
    """I1 was chased up to `final`, then paid on 08-20; I2 fell due on 10-01
    (30 days: `final` by days): a new episode with nothing sent: `first`."""
    letter = stepped(
        ledger_dir,
        NEW_EPISODE_LOG,
        invoices="""\
        - {id: I1, customer: C, date: 2026-05-01, due: 2026-06-01, amount: 100.00}
        - {id: I2, customer: C, date: 2026-09-01, due: 2026-10-01, amount: 50.00}
        """,
        payments="- {customer: C, date: 2026-08-20, amount: 100.00, invoice: I1}\n",
    )
    assert letter.level == "first"
    assert letter.history == "nothing sent since overdue on 2026-10-02 → first"
    assert letter.previous == ()


def test_an_episode_goes_on_while_something_is_overdue(ledger_dir):
    """I2 fell overdue (08-11) before I1 was paid (08-20): one episode, so the
    `final` of 07-05 is its history and the next step is `legal`."""
    letter = stepped(
        ledger_dir,
        NEW_EPISODE_LOG,
        invoices="""\
        - {id: I1, customer: C, date: 2026-05-01, due: 2026-06-01, amount: 100.00}
        - {id: I2, customer: C, date: 2026-07-01, due: 2026-08-10, amount: 50.00}
        """,
        payments="- {customer: C, date: 2026-08-20, amount: 100.00, invoice: I1}\n",
    )
    assert letter.level == "legal"
    assert letter.history.startswith("final sent 2026-07-05")


BROKEN = "- {customer: C, date: 2026-10-01, channel: phone, promise_date: 2026-10-10, promise_amount: 100.00}\n"


@pytest.mark.parametrize(
    ("sent", "due", "level", "history"),
    [
        # no history: `first`, which names the broken promise (a `second`
        # would say a letter came before it; README, Decisions)
        ("", "2026-08-01", "first",
         "nothing sent since overdue on 2026-08-02 → first; "
         "broken promise of 2026-10-01, named in this letter"),
        # one step further than the rule allows
        ("2026-10-05,C,first,USD,1,<a@x>\n", "2026-08-01", "final",
         "first sent 2026-10-05, pay by 2026-10-15 passed → second; "
         "broken promise of 2026-10-01 → final"),
        # letters sent since the promise broke have taken its step already
        ("2026-10-12,C,first,USD,1,<a@x>\n2026-10-19,C,second,USD,1,<b@x>\n",
         "2026-10-11", "second",
         "second sent 2026-10-19, pay by 2026-10-29 passed → final; "
         "20 days past due → second"),
    ],
)  # fmt: skip
def test_a_broken_promise_goes_one_step_further(ledger_dir, sent, due, level, history):
    letter = stepped(
        ledger_dir,
        sent,
        invoices=f"- {{id: I1, customer: C, date: 2026-07-01, due: {due}, amount: 100.00}}\n",
        contacts=BROKEN,
    )
    assert (letter.level, letter.history) == (level, history)
    assert letter.broken_promise is not None and letter.promise_on_record


def test_escalation_days_keeps_the_level_of_the_days(ledger_dir):
    letter = stepped(
        ledger_dir,
        "",
        settings=SETTINGS + DAYS,
        invoices=LONG_LATE,
    )
    assert (letter.level, letter.history) == (
        "legal",
        "91 days past due → legal (escalation: days)",
    )


def test_the_summary_shows_the_history_and_reads_the_sent_log(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices=LONG_LATE,
        **{"dunning-log.csv": LOG_HEADER + "2026-10-05,C,first,USD,1,<a@x>\n"},
    )
    table = run("--ledger", str(path), "--as-of", AS_OF)
    assert table.exit_code == 0, table.output
    assert "History" in table.stdout
    assert "first sent 2026-10-05, pay by 2026-10-15 passed → second" in table.stdout
    data = json.loads(run("--ledger", str(path), "--as-of", AS_OF, "-f", "json").stdout)
    (row,) = data["sections"][0]["rows"]
    assert (row["level"], row["history"]) == (
        "second",
        "first sent 2026-10-05, pay by 2026-10-15 passed → second",
    )


# ---------------------------------------------------------------- the demo


def test_demo_letters_at_several_levels_in_both_languages():
    result, _ = compute(DEMO)
    levels = {lt.customer: lt.level for lt in result.letters}
    # no letter on record: nobody above `first` (issue 14), not even PINNACLE,
    # whose broken promise its first letter names (README, Decisions)
    assert levels == {
        "REDWOOD": "first",
        "PINNACLE": "first",
        "HUADONG": "first",
        "ACME": "first",
        "CASCADE": "first",
        "BLUESKY": "first",
        "NORTHWIND": "reminder",
    }
    assert {lt.language for lt in result.letters} == {"en", "zh"}
    assert [s.customer for s in result.skipped] == ["SUMMIT"]
    pinnacle = one(result, "PINNACLE")
    assert pinnacle.broken_promise is not None  # promised 15,000 by 10-20, unpaid
    northwind = one(result, "NORTHWIND")
    assert [i.invoice for i in northwind.disputed] == ["INV-2026-0051"]


def test_demo_out_writes_a_letter_per_customer_and_never_overwrites(tmp_path):
    out = tmp_path / "letters"
    result = run("--ledger", str(DEMO), "--as-of", AS_OF, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "ACME.md", "BLUESKY.md", "CASCADE.md", "HUADONG.md",
        "NORTHWIND.md", "PINNACLE.md", "REDWOOD.md",
    ]  # fmt: skip
    zh = (out / "HUADONG.md").read_text(encoding="utf-8")
    for phrase in ("## 逾期付款通知函", "尊敬的王经理：", "贵司", "截至2026年10月31日", "逾期",
                   "恳请贵司于2026年11月10日前", "如贵司已付款，请忽略本函",
                   "（大写：美元", "INV-2026-0071", "顺颂商祺！"):  # fmt: skip
        assert phrase in zh, phrase
    redwood = (out / "REDWOOD.md").read_text(encoding="utf-8")
    assert "## Overdue notice" in redwood and "10 November 2026" in redwood
    # Again: refused, nothing changed; with --force, replaced.
    before = (out / "ACME.md").stat().st_mtime_ns
    again = run("--ledger", str(DEMO), "--as-of", AS_OF, "--out", str(out))
    assert again.exit_code == 2
    assert "--force" in again.stderr and "Traceback" not in again.output
    assert (out / "ACME.md").stat().st_mtime_ns == before
    forced = run("--ledger", str(DEMO), "--as-of", AS_OF, "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert (out / "HUADONG.md").read_text(encoding="utf-8") == zh


@pytest.mark.parametrize("fmt", ["txt", "html", "eml"])
def test_demo_out_in_other_formats(tmp_path, fmt):
    out = tmp_path / fmt
    result = run("--ledger", str(DEMO), "--as-of", AS_OF, "--out", str(out), "-f", fmt)
    assert result.exit_code == 0, result.output
    files = sorted(out.iterdir())
    assert len(files) == 7 and all(p.suffix == f".{fmt}" for p in files)
    data = (out / f"HUADONG.{fmt}").read_bytes()
    if fmt == "eml":
        import email
        from email import policy

        message = email.message_from_bytes(data, policy=policy.default)
        assert message["To"].addresses[0].addr_spec == "finance@huadong-trading.example"
        assert message["Subject"].startswith("逾期付款通知函")
        assert "尊敬的王经理" in message.get_body(("plain",)).get_content()
    elif fmt == "html":
        text = data.decode()
        assert text.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in text
        assert "<td>INV-2026-0071</td>" in text
    else:
        text = data.decode()
        assert "**" not in text and "|" not in text and "尊敬的王经理：" in text


def test_html_letters_escape_what_comes_from_the_ledger(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers="- {id: C, name: '<b>Evil</b> & Co', contact: '<script>x</script>'}\n",
        invoices="- {id: I1, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 100.00}\n",
    )
    result, ledger = compute(path)
    html = render_letter(
        one(result), "html", settings=ledger.settings, ledger_root=path
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html


def test_summary_json_and_totals(tmp_path):
    result = run("--ledger", str(DEMO), "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["report"] == "dunning" and data["as_of"] == AS_OF
    eur, section = data["sections"]  # EUR: nobody to dun, a section of zeros
    assert (eur["currency"], eur["rows"], eur["totals"]) == (
        "EUR",
        [],
        {"amount": "0.00"},
    )
    rows = section["rows"]
    letters = [r for r in rows if r["skipped"] is None]
    assert section["totals"]["amount"] == str(sum(D(r["amount"]) for r in letters))
    summit = next(r for r in rows if r["customer"] == "SUMMIT")
    assert summit["skipped"].startswith("dunning block until 2026-12-15")
    assert summit["amount"] is None
    huadong = next(r for r in rows if r["customer"] == "HUADONG")
    assert (huadong["level"], huadong["language"]) == ("first", "zh")
    assert huadong["history"] == "nothing sent since overdue on 2026-09-26 → first"


def test_summary_table_is_plain_off_a_terminal():
    result = run("--ledger", str(DEMO), "--as-of", AS_OF)
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout and "│" not in result.stdout
    assert result.stdout.startswith("Dunning as of 2026-10-31 — EUR")
    assert "Dunning as of 2026-10-31 — USD" in result.stdout


def test_preview_prints_one_letter():
    result = run("--ledger", str(DEMO), "--as-of", AS_OF, "--preview", "ACME")
    assert result.exit_code == 0, result.output
    assert "## Overdue notice" in result.stdout and "Dear Karen Mills," in result.stdout
    assert "INV-2026-0078" in result.stdout and "Huadong" not in result.stdout
    skipped_one = run("--ledger", str(DEMO), "--as-of", AS_OF, "--preview", "SUMMIT")
    assert skipped_one.exit_code == 2 and "dunning block" in skipped_one.stderr


def test_fail_on_overdue(ledger_dir):
    result = run("--ledger", str(DEMO), "--as-of", AS_OF, "--fail-on", "overdue")
    assert result.exit_code == 1
    assert "overdue at a dunning level" in result.stderr
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="- {id: I1, customer: C, date: 2026-10-01, due: 2026-11-02, amount: 100.00}\n",
    )
    reminder_only = run("--ledger", str(path), "--as-of", AS_OF, "--fail-on", "overdue")
    assert reminder_only.exit_code == 0, reminder_only.output


def test_bad_format_combinations_are_usage_errors(tmp_path):
    for args in (["-f", "txt"], ["--out", str(tmp_path), "-f", "json"],
                 ["--preview", "ACME", "--send"]):  # fmt: skip
        result = run("--ledger", str(DEMO), "--as-of", AS_OF, *args)
        assert result.exit_code == 2, args
        assert "Traceback" not in result.output


def test_summary_does_not_import_jinja2():
    code = (
        "import sys\nfrom arledger.cli import app\n"
        f"sys.argv = ['arledger', 'dunning', '-l', {str(DEMO)!r}, '--as-of', "
        "'2026-10-31', '-f', 'json']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print('JINJA=' + str('jinja2' in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
    ).stdout
    assert out.strip().endswith("JINJA=False")


def test_summary_without_plans_does_not_import_the_models(tmp_path):
    """A clean ledger is read without pydantic (tests/test_startup.py); the
    dunning summary of one needs it no more (the plans module imports the
    models for type checking only)."""
    code = (
        "import sys\nfrom arledger.cli import app\n"
        "sys.argv = ['arledger', 'dunning', '-l', 'tests/ledgers/small', "
        "'--as-of', '2026-10-31', '-f', 'json']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "names = ('pydantic', 'arledger.model')\n"
        "print('LOADED=' + ','.join(n for n in names if n in sys.modules))"
    )
    env = dict(os.environ, ARLEDGER_NO_CACHE="1")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env
    ).stdout
    assert out.strip().splitlines()[-1] == "LOADED="
    assert '"report": "dunning"' in out


# ---------------------------------------------------------------- templates


def test_a_ledger_template_overrides_the_built_in_one(ledger_dir, tmp_path):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS + "- {id: Z, name: 华东贸易有限公司, language: zh}\n",
        invoices="""\
        - {id: I1, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 100.00}
        - {id: I2, customer: Z, date: 2026-09-01, due: 2026-10-21, amount: 100.00}
        """,
    )
    (path / "templates").mkdir()
    (path / "templates" / "first.en.md.j2").write_text(
        "OUR OWN {{ title }} for {{ letter.name }}: {{ amount }} by {{ letter.pay_by | iso }}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = run("--ledger", str(path), "--as-of", AS_OF, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "C.md").read_text() == (
        "OUR OWN Overdue notice for Customer Ltd: USD 100.00 by 2026-11-10\n"
    )
    # txt falls back to the ledger's md template; zh still uses the built-in one
    txt = run("--ledger", str(path), "--as-of", AS_OF, "--preview", "C", "-f", "txt")
    assert txt.stdout.startswith("OUR OWN Overdue notice")
    assert "逾期付款通知函" in (out / "Z.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("template", "where"),
    [
        ("Dear customer,\n\n{{ letter.nope }}\n", "templates/first.en.md.j2:3: "),
        ("Dear customer,\n{% if %}\n", "templates/first.en.md.j2:2: "),
        ("{% extends 'base.en.j2' %}{% block opening %}{{ nope }}{% endblock %}\n",
         "templates/first.en.md.j2:1: "),
    ],
)  # fmt: skip
def test_a_template_error_gives_file_line_and_exit_2(
    ledger_dir, tmp_path, template, where
):
    path = ledger_dir(
        settings=SETTINGS,
        customers=CUSTOMERS,
        invoices="- {id: I1, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 100.00}\n",
    )
    (path / "templates").mkdir()
    (path / "templates" / "first.en.md.j2").write_text(template, encoding="utf-8")
    out = tmp_path / "out"
    result = run("--ledger", str(path), "--as-of", AS_OF, "--out", str(out))
    assert result.exit_code == 2
    assert f"arledger: error: {where}" in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_a_level_without_a_template_says_which_file_to_add(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS + "dunning: {levels: [{name: nudge, days: 1}]}\n",
        customers=CUSTOMERS,
        invoices="- {id: I1, customer: C, date: 2026-09-01, due: 2026-10-21, amount: 100.00}\n",
    )
    result, ledger = compute(path)
    with pytest.raises(TemplateProblem, match=r"add templates/nudge\.en\.md\.j2"):
        render_letter(one(result), "md", settings=ledger.settings, ledger_root=path)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("53661.15", "USD", "美元伍万叁仟陆佰陆拾壹元壹角伍分"),
        ("16668.90", "USD", "美元壹万陆仟陆佰陆拾捌元玖角"),
        ("10005.00", "CNY", "人民币壹万零伍元整"),
        ("1000010.00", "CNY", "人民币壹佰万零壹拾元整"),
        ("101000.00", "CNY", "人民币壹拾万壹仟元整"),
        ("20000001.00", "CNY", "人民币贰仟万零壹元整"),
        ("100000000.00", "CNY", "人民币壹亿元整"),
        ("1.05", "CNY", "人民币壹元零伍分"),
        ("0.50", "CNY", "人民币伍角"),
        ("0.05", "CNY", "人民币伍分"),
        ("100020003000.40", "CNY", "人民币壹仟亿贰仟万叁仟元肆角"),
        ("1000000000000.00", "CNY", "人民币壹万亿元整"),
        (
            "9999999999999999.99",
            "CNY",
            "人民币玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
        ),
        ("10000000000000000.00", "CNY", ""),  # beyond 16 digits: no capitals
        ("-5.00", "CNY", ""),
        ("1.234", "KWD", ""),  # three decimals
        ("1200", "JPY", "日元壹仟贰佰元整"),
    ],
)
def test_amounts_in_chinese_capitals(amount, currency, text):
    assert zh_capital(D(amount), currency) == text


# ---------------------------------------------------------------- letters say only what the history backs

HISTORY_CUSTOMERS = """\
- {id: C, name: Customer Ltd, contact: Pat Doe (AP)}
- {id: Z, name: 华东贸易有限公司, contact: 王经理（财务部）, language: zh}
- {id: K, name: 重点客户有限公司, language: zh, key_account: true}
"""
HISTORY_INVOICES = "".join(
    f"- {{id: I{c}, customer: {c}, date: 2026-07-01, due: 2026-08-01, amount: 100.00}}\n"
    for c in "CZK"
)


def two_letters(level: str) -> str:
    """Two letters at `level` on record for every customer: 09-01 and 09-20."""
    return "".join(
        f"2026-09-01,{c},{level},USD,1,<a{c}@x>\n2026-09-20,{c},{level},USD,1,<b{c}@x>\n"
        for c in "CZK"
    )


def history_letters(ledger_dir, sent: str, *, level: str, contacts: str = ""):
    """Every customer's letter at `level` (a ladder of that one level past due,
    so the level does not depend on the history), rendered as text."""
    path = ledger_dir(
        settings=SETTINGS + f"dunning: {{levels: [{{name: {level}, days: 1}}]}}\n",
        customers=HISTORY_CUSTOMERS,
        invoices=HISTORY_INVOICES,
        contacts=contacts or "[]\n",
        **{"dunning-log.csv": LOG_HEADER + sent},
    )
    ledger, errors = load(path)
    assert not [e for e in errors if not e.warning], errors
    view = ledger.view(date.fromisoformat(AS_OF))
    result = dunning.compute(
        view, settle(view), sent=mail.read_log(path / "dunning-log.csv")
    )
    return {
        lt.customer: render_letter(
            lt, "txt", settings=ledger.settings, ledger_root=path
        )
        .replace("\n", " ")
        .replace("\u3000", "")
        for lt in result.letters
    }


WRITTEN_BEFORE = (
    "We wrote to you", "We have written to you", "Despite our", "several times",
    "此前", "致函", "多次催告",
)  # fmt: skip


@pytest.mark.parametrize("level", ["second", "final", "legal"])
def test_no_letter_on_record_means_no_we_have_written_before(ledger_dir, level):
    texts = history_letters(ledger_dir, "", level=level)
    for customer, text in texts.items():
        for claim in WRITTEN_BEFORE:
            assert claim not in " ".join(text.split()), (customer, claim)


@pytest.mark.parametrize(
    ("level", "en", "zh"),
    [
        ("second", "We wrote to you on 20 September 2026 about the overdue invoice",
         "我司已于2026年9月20日就下列逾期款项致函贵司"),  # the last one
        ("final", "Despite our letters of 1 September 2026 and since",
         "我司自2026年9月1日起已2次致函催告"),
        ("legal", "We have written to you twice since 1 September 2026",
         "经我司自2026年9月1日起2次致函催告"),
    ],
)  # fmt: skip
def test_earlier_letters_on_record_are_mentioned(ledger_dir, level, en, zh):
    texts = history_letters(ledger_dir, two_letters(level), level=level)
    assert en in " ".join(texts["C"].split())
    assert zh in texts["Z"]


def test_no_proposal_to_pay_is_never_said_next_to_a_promise(ledger_dir):
    without = history_letters(ledger_dir, "", level="legal")
    assert "neither payment nor any proposal to pay" in " ".join(without["C"].split())
    assert "亦未提出任何还款方案" in without["Z"]
    promised = history_letters(
        ledger_dir,
        "",
        level="legal",
        contacts="""\
        - {customer: C, date: 2026-09-01, channel: phone, promise_date: 2026-09-10}
        - {customer: Z, date: 2026-09-01, channel: phone, promise_date: 2026-09-10}
        """,
    )
    assert "proposal to pay" not in " ".join(promised["C"].split())
    assert "还款方案" not in promised["Z"]


def test_a_first_notice_to_a_key_account_has_no_deemed_consent(ledger_dir):
    """三日内……视为无异议 is for a customer already written to, and never for a
    key account's first notice."""
    first = history_letters(ledger_dir, "", level="second")
    assert "视为贵司对上述欠款无异议" in first["Z"]  # not a key account
    assert "三日内" not in first["K"] and "视为" not in first["K"]
    later = history_letters(ledger_dir, two_letters("second"), level="second")
    assert "视为贵司对上述欠款无异议" in later["K"]


def test_a_chinese_letter_has_a_seal_line_after_the_company_name(ledger_dir):
    text = history_letters(ledger_dir, "", level="second")["Z"]
    assert "Test Trading Co. （盖章） 应收账款部" in text


def test_a_huge_total_renders_without_capitals(ledger_dir):
    path = ledger_dir(
        settings=SETTINGS,
        customers="- {id: Z, name: 华东贸易有限公司, language: zh}\n",
        invoices="- {id: I1, customer: Z, date: 2026-09-01, due: 2026-10-21, "
        "amount: 10000000000000000.00}\n",
    )
    result, ledger = compute(path)
    text = render_letter(
        one(result, "Z"), "md", settings=ledger.settings, ledger_root=path
    )
    assert "10,000,000,000,000,000.00" in text and "大写" not in text


# ---------------------------------------------------------------- check and dunning agree on templates


def test_check_warns_of_a_level_without_a_template_in_a_customers_language(
    ledger_dir,
):
    path = ledger_dir(
        settings=SETTINGS + "dunning:\n  levels:\n    - {name: first, days: 1}\n"
        "    - {name: zweite, days: 15}\n  escalation: days\n",
        customers=HISTORY_CUSTOMERS,
        invoices=HISTORY_INVOICES,
    )
    (path / "templates").mkdir()
    (path / "templates" / "zweite.en.md.j2").write_text(
        "{% extends 'first.en.md.j2' %}\n", encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["check", "--ledger", str(path)])
    assert result.exit_code == 0, result.output  # a warning, as SPEC §13 says
    warnings = [line for line in result.stderr.splitlines() if "template" in line]
    assert warnings == [
        "arledger.yaml:6: warning: dunning level 'zweite' has no letter template "
        "in 'zh' (customers Z, K): add templates/zweite.zh.md.j2, or keep the "
        "built-in level names (reminder, first, second, final, legal)"
    ]
    # and dunning stops at exactly that letter, saying the same
    out = run("--ledger", str(path), "--as-of", AS_OF, "--out", str(path / "out"),
              "--dry-run", "--format", "md")  # fmt: skip
    assert out.exit_code == 2 and "zweite.zh.md.j2" in out.stderr


def test_check_is_quiet_about_the_built_in_levels():
    result = CliRunner().invoke(app, ["check", "--ledger", str(DEMO)])
    assert result.exit_code == 0 and "template" not in result.output


# ---------------------------------------------------------------- late interest day by day


def test_interest_day_by_day_after_a_part_payment(ledger_dir):
    """1000.00 due 09-30 at 3.65% a year (0.10 a day on 1000.00); 400.00 paid
    on 10-10 lowers the base from 10-11. As of 10-31:
    10-01..10-10: 10 days × 1000.00 = 10000; 10-11..10-31: 21 days × 600.00 =
    12600; 22600 × 0.0365 / 365 = 2.26 (on today's open amount alone it
    would be 600 × 31 × 0.0001 = 1.86)."""
    path = ledger_dir(
        settings=SETTINGS + "dunning: {interest_rate: 0.0365}\n",
        customers=CUSTOMERS,
        invoices="- {id: I1, customer: C, date: 2026-09-01, due: 2026-09-30, amount: 1000.00}\n",
        payments="- {customer: C, date: 2026-10-10, amount: 400.00, invoice: I1}\n",
    )
    result, ledger = compute(path)
    letter = one(result)
    (item,) = letter.items
    assert (item.open, item.days, item.interest) == (D("600.00"), 31, D("2.26"))
    assert letter.total == D("602.26")
    text = render_letter(letter, "md", settings=ledger.settings, ledger_root=path)
    assert "a part payment lowers it from the next day" in " ".join(text.split())


@pytest.mark.parametrize(
    ("applied", "until", "interest"),
    [
        # unpaid 40 days past due: 40 days
        ((), "2026-11-09", "4.00"),
        # paid in full 40 days late: 40 days, and nothing after the payment day
        ((("2026-11-09", "1000.00"),), "2026-12-31", "4.00"),
        # paid before the due date in part: the base is lower from the start
        ((("2026-09-20", "500.00"),), "2026-11-09", "2.00"),
        # 10 days × 1000.00 + 30 days (10-11..11-09) × 600.00 = 28000 → 2.80:
        # the payment on the last day lowers the base only from the next day
        ((("2026-10-10", "400.00"), ("2026-11-09", "600.00")), "2026-11-09", "2.80"),
        # not yet past due
        ((), "2026-09-30", "0"),
    ],
)
def test_accrued_interest_by_hand(applied, until, interest):
    """1000.00 due 09-30 at 3.65%: 0.10 a day on 1000.00."""
    found = accrued_interest(
        D("1000.00"),
        [(date.fromisoformat(day), D(amount)) for day, amount in applied],
        date(2026, 9, 30),
        date.fromisoformat(until),
        D("0.0365"),
        "USD",
    )
    assert found == D(interest)


def test_out_record_makes_letters_delivered_by_hand_part_of_the_history(
    ledger_dir, tmp_path, monkeypatch
):
    from arledger.commands import common

    path = ledger_dir(settings=SETTINGS, customers=CUSTOMERS, invoices=LONG_LATE)
    monkeypatch.setattr(common, "today", lambda: date(2026, 10, 31))
    out = tmp_path / "letters"
    args = ("--ledger", str(path), "--as-of", AS_OF, "--out", str(out))
    dry = run(*args, "--record", "--dry-run")
    assert dry.exit_code == 0 and not (path / "dunning-log.csv").exists()
    done = run(*args, "--record")
    assert done.exit_code == 0, done.output
    assert "recorded 1 letter(s) as sent" in done.stderr
    assert mail.read_log(path / "dunning-log.csv") == [
        mail.LogEntry(date(2026, 10, 31), "C", "first", "USD", D("100.00"), "")
    ]
    again = run(*args, "--force", "--record")  # the same day: not recorded twice
    assert "recorded 0 letter(s)" in again.stderr
    assert len(mail.read_log(path / "dunning-log.csv")) == 1
    later = json.loads(
        run("--ledger", str(path), "--as-of", "2026-11-11", "-f", "json").stdout
    )
    (row,) = later["sections"][0]["rows"]
    assert (row["level"], row["history"]) == (
        "second",
        "first sent 2026-10-31, pay by 2026-11-10 passed → second",
    )
    alone = run("--ledger", str(path), "--record")
    assert alone.exit_code == 2 and "--record records the letters" in alone.stderr


# ---------------------------------------------------------------- actions and the worklist

ACTION_SETTINGS = (
    SETTINGS
    + """\
dunning:
  levels:
    - {name: first, days: 1}
    - {name: call, days: 10, action: call}
    - {name: second, days: 15}
    - {name: visit, days: 30, action: visit}
"""
)
ACTION_CUSTOMERS = """\
- {id: C, name: Customer Ltd, contact: Pat Doe, phone: "+1 555 0100", owner: li}
- {id: D, name: Debtor Ltd, owner: wang}
"""
ACTION_INVOICES = """\
- {id: I1, customer: C, date: 2026-08-01, due: 2026-09-01, amount: 100.00}
- {id: I2, customer: D, date: 2026-10-01, due: 2026-10-25, amount: 50.00}
"""


def worklist_json(path, as_of: str = AS_OF):
    result = run("--ledger", str(path), "--as-of", as_of, "--worklist", "-f", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["sections"][0]["rows"]


def test_an_action_level_is_a_task_on_the_worklist_not_a_letter(ledger_dir, tmp_path):
    path = ledger_dir(
        settings=ACTION_SETTINGS,
        customers=ACTION_CUSTOMERS,
        invoices=ACTION_INVOICES,
        contacts="- {customer: C, date: 2026-09-20, channel: email, note: sent statement}\n",
        **{"dunning-log.csv": LOG_HEADER + "2026-10-05,C,first,USD,100.00,<a@x>\n"},
    )
    check = CliRunner().invoke(app, ["check", "--ledger", str(path)])
    assert check.exit_code == 0 and "template" not in check.stderr  # a task
    (row,) = worklist_json(path)
    assert row == {
        "owner": "li", "task": "call", "customer": "C", "name": "Customer Ltd",
        "contact": "Pat Doe, +1 555 0100", "amount": "100.00",
        "since": "2026-09-01", "days": 60, "last_contact": "2026-09-20",
        "channel": "email", "promise": None, "promise_date": None,
        "promise_amount": None, "status": "to do",
    }  # fmt: skip
    out = tmp_path / "letters"
    written = run("--ledger", str(path), "--as-of", AS_OF, "--out", str(out))
    assert written.exit_code == 0, written.output
    assert sorted(p.name for p in out.iterdir()) == ["D.md"]  # C is a call
    assert "task: call (--worklist)" in written.stdout


def test_a_contact_of_the_tasks_channel_is_the_step_done(ledger_dir):
    """The call of 10-31 is the `call` step: done today; once its pay-by date
    (10 days) has passed, the next step is the letter `second`, which does not
    claim the call was a letter."""
    path = ledger_dir(
        settings=ACTION_SETTINGS,
        customers=ACTION_CUSTOMERS,
        invoices=ACTION_INVOICES,
        contacts="- {customer: C, date: 2026-10-31, channel: phone, note: will pay}\n",
        **{"dunning-log.csv": LOG_HEADER + "2026-10-05,C,first,USD,100.00,<a@x>\n"},
    )
    (row,) = worklist_json(path)
    assert (row["task"], row["status"], row["channel"]) == (
        "call",
        "done 2026-10-31",
        "phone",
    )
    result, _ = compute_with_log(path, "2026-11-11")
    letter = one(result)
    assert (letter.level, letter.action) == ("second", "letter")
    assert letter.history == "call sent 2026-10-31, pay by 2026-11-10 passed → second"
    assert letter.previous == ((date(2026, 10, 5), "first"),)


def test_a_contact_does_not_jump_the_ladder(ledger_dir):
    """A visit with nothing before it is not the `visit` step (two steps up)."""
    path = ledger_dir(
        settings=ACTION_SETTINGS,
        customers=ACTION_CUSTOMERS,
        invoices=ACTION_INVOICES,
        contacts="- {customer: C, date: 2026-10-01, channel: visit}\n",
    )
    result, _ = compute_with_log(path, AS_OF)
    assert one(result).level == "first"


def compute_with_log(path, as_of: str):
    ledger, errors = load(path)
    assert not [e for e in errors if not e.warning], errors
    view = ledger.view(date.fromisoformat(as_of))
    log = mail.read_log(path / "dunning-log.csv")
    return dunning.compute(view, settle(view), sent=log), ledger


def test_out_on_a_full_disk_leaves_no_partial_set(tmp_path, monkeypatch):
    import errno

    from arledger import fileio

    real_fsync, calls = fileio.os.fsync, []

    def fsync(fd):
        calls.append(fd)
        if len(calls) == 3:  # the third letter does not fit
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    out = tmp_path / "letters"
    result = run("--ledger", str(DEMO), "--as-of", AS_OF, "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.stderr
    assert "none of the 7 files was written" in result.stderr
    assert list(out.iterdir()) == []  # no letter, no temp file


def test_check_reads_the_sent_log_as_dunning_does(ledger_dir):
    """A log dunning cannot read fails check too; letters of a level renamed
    since are a warning, since they no longer count as a step."""
    path = ledger_dir(
        settings=SETTINGS + "dunning: {levels: [{name: first, days: 1}, "
        "{name: zweite, days: 15}]}\n",
        customers=CUSTOMERS,
        invoices=LONG_LATE,
        **{
            "dunning-log.csv": LOG_HEADER + "2026-10-01,C,first,USD,1,<a@x>\n"
            "2026-10-15,C,second,USD,1,<b@x>\n2026-10-20,C,second,USD,1,<c@x>\n"
        },
    )
    result = CliRunner().invoke(app, ["check", "--ledger", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        "dunning-log.csv:3: warning: level 'second' is not in dunning.levels: "
        "its 2 letter(s) in the log no longer count as a step" in result.stderr
    )
    (path / "dunning-log.csv").write_bytes(LOG_HEADER.encode() + b"2026-10-01,\xff\n")
    broken = CliRunner().invoke(app, ["check", "--ledger", str(path)])
    assert broken.exit_code == 2
    assert "dunning-log.csv:2: not UTF-8" in broken.stderr
    assert run("--ledger", str(path), "--as-of", AS_OF).exit_code == 2


def test_a_broken_promise_raises_the_level_once_not_at_every_run(tmp_path, monkeypatch):
    """PINNACLE broke a promise with nothing sent: `first`, naming it. Sent
    that day, a re-run the same day must not climb for the same promise, and
    after the pay-by date it climbs one step, not two: the first letter has
    answered the broken promise already."""
    import shutil

    from arledger.commands import common

    ledger = tmp_path / "demo"
    shutil.copytree(DEMO, ledger)
    monkeypatch.setattr(common, "today", lambda: date(2026, 10, 31))

    def level(as_of: str) -> tuple[str, str]:
        report = json.loads(
            run("--ledger", str(ledger), "--as-of", as_of, "-f", "json").stdout
        )
        rows = [r for s in report["sections"] for r in s["rows"]]
        (row,) = [r for r in rows if r["customer"] == "PINNACLE"]
        return row["level"], row["skipped"]

    assert level("2026-10-31") == ("first", None)
    out = run("--ledger", str(ledger), "--as-of", "2026-10-31", "--out",
              str(tmp_path / "letters"), "--record")  # fmt: skip
    assert out.exit_code == 0, out.output
    again, _ = level("2026-10-31")
    assert again in ("first", None)  # already sent today, never `second`
    assert level("2026-11-20")[0] == "second"  # pay-by of `first` passed: one step


def test_a_chinese_letter_carries_the_companys_chinese_name_and_bank_block():
    """company.zh in the settings replaces name, address and bank in zh letters;
    English letters keep the English ones."""
    ledger, errors = load(DEMO)
    assert not [e for e in errors if not e.warning]
    view = ledger.view(date(2026, 10, 31))
    result = dunning.compute(view, settle(view))
    by_language = {}
    for letter in result.letters:
        by_language.setdefault(letter.language, letter)
    zh = render_letter(
        by_language["zh"], "txt", settings=ledger.settings, ledger_root=DEMO
    )
    en = render_letter(
        by_language["en"], "txt", settings=ledger.settings, ledger_root=DEMO
    )
    assert "开户行" in zh and "湾景贸易有限公司" in zh
    assert "Please pay by wire" not in zh
    assert "Please pay by wire" in en and "开户行" not in en
