"""Collection plans (回款计划, SPEC §7): progress per instalment, achievement per
owner, and what dunning, forecast, `--fail-on` and `collection` make of them.

Every expected figure is worked out by hand from the fixture below.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from arledger import mail
from arledger.cli import app
from arledger.letters import render_letter
from arledger.loader import load
from arledger.plans import in_force, progress
from arledger.reports import dunning, forecast
from arledger.settle import settle

from .conftest import DEMO

D = Decimal

# C1 (owner ann) owes I1 (350.00, due 07-31); it paid 50.00 before the plan.
# PL1 (09-01, no invoices: all of C1's items): 100.00 at each of 09-30, 10-31
# and 11-30. Cash from 09-01 on: P1 100.00 on 09-25, P2 100.00 on 11-05. The
# credit note CN1 (50.00, 10-20) lowers I1 but is no cash: it never counts.
#
# C2 (owner bob) owes J1 200.00 and J2 100.00 (due 10-01), J3 100.00 (due
# 10-05). PL2 (10-01, owner cat, only J1): 100.00 on 10-15 and 11-15. Q1
# (10-10, 150.00, names J2) pays J2 100.00, its other 50.00 goes oldest due
# first to J1: 50.00 for PL2. Q2 (11-10, 150.00, names J1): 150.00 for PL2.
SETTINGS = """\
company: {name: Test Trading Co., email: ar@test.example}
currency: USD
"""
CUSTOMERS = """\
- {id: C1, name: One Ltd, terms: 30, owner: ann, email: ap@one.example}
- {id: C2, name: Two Ltd, terms: 30, owner: bob, email: ap@two.example}
"""
INVOICES = """\
- {id: I1, customer: C1, date: 2026-07-01, amount: 350.00}
- {id: J1, customer: C2, date: 2026-09-01, amount: 200.00}
- {id: J2, customer: C2, date: 2026-09-01, amount: 100.00}
- {id: J3, customer: C2, date: 2026-09-05, amount: 100.00}
"""
PAYMENTS = """\
- {id: P0, customer: C1, date: 2026-08-15, amount: 50.00}
- {id: P1, customer: C1, date: 2026-09-25, amount: 100.00}
- {id: P2, customer: C1, date: 2026-11-05, amount: 100.00}
- {id: Q1, customer: C2, date: 2026-10-10, amount: 150.00, invoice: J2}
- {id: Q2, customer: C2, date: 2026-11-10, amount: 150.00, invoice: J1}
"""
ADJUSTMENTS = """\
- {id: CN1, customer: C1, date: 2026-10-20, amount: 50.00, kind: credit_note, invoice: I1}
"""
PLANS = """\
- id: PL1
  customer: C1
  date: 2026-09-01
  instalments:
    - {due: 2026-09-30, amount: 100.00}
    - {due: 2026-10-31, amount: 100.00}
    - {due: 2026-11-30, amount: 100.00}
- id: PL2
  customer: C2
  date: 2026-10-01
  owner: cat
  invoices: [J1]
  instalments:
    - {due: 2026-10-15, amount: 100.00}
    - {due: 2026-11-15, amount: 100.00}
"""


@pytest.fixture
def plans_ledger(ledger_dir):
    def make(settings: str = SETTINGS, **more: str):
        return ledger_dir(
            settings=settings,
            customers=CUSTOMERS,
            invoices=INVOICES,
            payments=PAYMENTS,
            adjustments=ADJUSTMENTS,
            plans=PLANS,
            **more,
        )

    return make


def view_of(path, as_of: str):
    ledger, errors = load(path)
    assert not [e for e in errors if not e.warning], errors
    view = ledger.view(date.fromisoformat(as_of))
    return ledger, view, settle(view)


def judged(path, as_of: str) -> dict[str, list[tuple]]:
    """Each plan's instalments as (status, collected, covered, shortfall)."""
    _, view, settlement = view_of(path, as_of)
    return {
        p.id: [
            (
                i.status,
                f"{i.collected:.2f}",
                i.covered.isoformat() if i.covered else None,
                f"{i.shortfall:.2f}",
            )
            for i in p.instalments
        ]
        for p in progress(view, settlement)
    }


def run(*args: str):
    return CliRunner().invoke(app, list(args))


# ---------------------------------------------------------------- progress


def test_plans_kept_late_missed_and_open_at_three_dates(plans_ledger):
    path = plans_ledger()
    # 10-31: PL1's first instalment was covered on 09-25 (P1; P0 predates the
    # plan); its second is due today: open, not missed. PL2 got 50.00 of Q1
    # (the part that reached J1) for 100.00 due 10-15: missed, 50.00 short.
    assert judged(path, "2026-10-31") == {
        "PL1": [
            ("kept", "100.00", "2026-09-25", "0.00"),
            ("open", "0.00", None, "0.00"),
            ("open", "0.00", None, "0.00"),
        ],
        "PL2": [
            ("missed", "50.00", None, "50.00"),
            ("open", "0.00", None, "0.00"),
        ],
    }
    # 11-01: PL1's second instalment passed its date uncovered (the credit
    # note CN1 of 10-20 is no cash).
    assert judged(path, "2026-11-01")["PL1"] == [
        ("kept", "100.00", "2026-09-25", "0.00"),
        ("missed", "0.00", None, "100.00"),
        ("open", "0.00", None, "0.00"),
    ]
    # 11-10: P2 (11-05) covers PL1's second late; Q2's 150.00 to J1 brings PL2
    # to 200.00 on 11-10: the first late, the second (due 11-15) kept.
    assert judged(path, "2026-11-10") == {
        "PL1": [
            ("kept", "100.00", "2026-09-25", "0.00"),
            ("late", "100.00", "2026-11-05", "0.00"),
            ("open", "0.00", None, "0.00"),
        ],
        "PL2": [
            ("late", "100.00", "2026-11-10", "0.00"),
            ("kept", "100.00", "2026-11-10", "0.00"),
        ],
    }


def test_in_force_means_not_broken_and_something_left(plans_ledger):
    path = plans_ledger()
    _, view, settlement = view_of(path, "2026-10-12")
    assert {
        k: [p.id for p in v] for k, v in in_force(progress(view, settlement)).items()
    } == {
        ("C1", "USD"): ["PL1"],
        ("C2", "USD"): ["PL2"],
    }
    _, view, settlement = view_of(path, "2026-11-01")
    assert in_force(progress(view, settlement)) == {}  # both broken
    _, view, settlement = view_of(path, "2026-11-20")
    found = in_force(progress(view, settlement))
    assert list(found) == [("C1", "USD")]  # PL2 is fully covered: done


def plans_json(path, *args: str) -> dict:
    result = run("plans", "-l", str(path), "-f", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_rows_per_instalment_and_owners(plans_ledger):
    data = plans_json(plans_ledger(), "--as-of", "2026-11-01")
    assert (data["report"], data["period"], data["from"], data["to"]) == (
        "plans",
        "2026-11",
        "2026-11-01",
        "2026-11-30",
    )
    (section,) = data["sections"]
    assert section["rows"][1] == {
        "plan": "PL1",
        "customer": "C1",
        "instalment": 2,
        "due": "2026-10-31",
        "planned": "100.00",
        "collected": "0.00",
        "covered": None,
        "status": "missed",
        "shortfall": "100.00",
    }
    # planned 300 + 200; collected 100 (PL1) + 50 (PL2); short 100 + 50
    assert section["totals"] == {
        "planned": "500.00",
        "collected": "150.00",
        "shortfall": "150.00",
    }
    # November, seen on 11-01: ann's PL1 #3 (11-30) and cat's PL2 #2 (11-15)
    # are planned in the month although still to come; nothing covered yet.
    assert section["owners"] == [
        {"owner": "ann", "planned": "100.00", "collected": "0.00", "achievement": "0.0000"},
        {"owner": "cat", "planned": "100.00", "collected": "0.00", "achievement": "0.0000"},
    ]  # fmt: skip


def test_achievement_for_a_month_per_owner(plans_ledger):
    """October, seen on 11-30: ann planned PL1 #2 (100.00, 10-31); by 10-31 C1's
    cash since the plan was P1 100.00, which covered #1: 0.00 of it. cat (the
    plan's owner, not C2's bob) planned PL2 #1 (100.00, 10-15); by 10-31 PL2
    had 50.00: 50%. November: ann's #3 (11-30) got nothing (P2 covered #2);
    cat's #2 (11-15) is covered by Q2: 100%."""
    path = plans_ledger()
    october = plans_json(path, "--as-of", "2026-11-30", "--period", "2026-10")
    assert october["sections"][0]["owners"] == [
        {"owner": "ann", "planned": "100.00", "collected": "0.00", "achievement": "0.0000"},
        {"owner": "cat", "planned": "100.00", "collected": "50.00", "achievement": "0.5000"},
    ]  # fmt: skip
    november = plans_json(path, "--as-of", "2026-11-30")
    assert [
        (o["owner"], o["collected"], o["achievement"])
        for o in november["sections"][0]["owners"]
    ] == [("ann", "0.00", "0.0000"), ("cat", "100.00", "1.0000")]
    # --owner keeps the plans of that owner (the plan's, else the customer's)
    only = plans_json(path, "--as-of", "2026-11-30", "--owner", "ann")
    assert {r["plan"] for r in only["sections"][0]["rows"]} == {"PL1"}


def test_a_period_after_as_of_is_refused(plans_ledger):
    result = run(
        "plans",
        "-l",
        str(plans_ledger()),
        "--as-of",
        "2026-10-31",
        "--period",
        "2026-12",
    )
    assert result.exit_code == 2
    assert "after the as-of date" in result.stderr and "Traceback" not in result.output


def test_table_shows_instalments_and_the_owners_table(plans_ledger):
    result = run("plans", "-l", str(plans_ledger()), "--as-of", "2026-11-01")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Collection plans as of 2026-11-01 — USD"
    assert lines[1].split() == [
        "Plan", "Customer", "Inst.", "Due", "Planned", "Collected", "Covered",
        "on", "Status", "Shortfall",
    ]  # fmt: skip
    assert lines[3].split() == [
        "PL1", "C1", "2", "2026-10-31", "100.00", "0.00", "missed", "100.00"
    ]  # fmt: skip
    assert (
        "Plan achievement (回款计划达成率) by owner, 2026-11 "
        "(2026-11-01 to 2026-11-30, 30 days) — USD"
    ) in lines
    assert lines[-1].split() == ["Total", "200.00", "0.00", "0.0%"]


# ---------------------------------------------------------------- dunning


def letters(path, as_of: str, sent=()):
    ledger, view, settlement = view_of(path, as_of)
    return dunning.compute(view, settlement, sent=sent), ledger


def test_a_plan_in_force_is_not_dunned(plans_ledger):
    """10-12: C1's I1 is 73 days overdue, but PL1 is in force (no instalment
    missed): no letter, said why. C2's J1 waits for PL2 (#1 due 10-15); J3,
    7 days overdue, is demanded, and the letter says J1 is in the plan."""
    result, ledger = letters(plans_ledger(), "2026-10-12")
    (skip,) = result.skipped
    assert (skip.customer, skip.reason) == (
        "C1",
        "collection plan PL1 of 2026-09-01: next 100.00 by 2026-10-31",
    )
    (letter,) = result.letters
    assert letter.customer == "C2" and letter.level == "first"
    assert [i.invoice for i in letter.items] == ["J3"]
    assert [(p.invoice, p.open) for p in letter.planned] == [("J1", D("150.00"))]
    assert letter.promise_on_record
    text = words(
        render_letter(letter, "txt", settings=ledger.settings, ledger_root=None)
    )
    assert "Invoice J1 is covered by the payment plan agreed on" in text
    assert "next instalment, USD 50.00, is due by 15 October 2026" in text
    zh = words(
        render_letter(
            _in(letter, "zh"), "txt", settings=ledger.settings, ledger_root=None
        ),
        "zh",
    )
    assert "J1项下款项已纳入双方于2026年10月1日约定的回款计划" in zh


def words(text: str, language: str = "en") -> str:
    """A letter's text with its lines joined (the layout wraps them)."""
    return ("" if language == "zh" else " ").join(text.split())


def _in(letter, language):
    from dataclasses import replace

    return replace(letter, language=language)


def test_a_missed_instalment_is_one_step_up(plans_ledger):
    """11-01: PL1 missed #2 (due 10-31). Nothing sent: `first`, whose letter
    names the missed instalment (a `second` as the first letter would claim a
    letter before it). With `first` sent on 10-25 (pay by 11-04, not passed:
    the rule keeps `first`), the missed instalment after it is one step up:
    `second`, as a broken promise is."""
    result, _ = letters(plans_ledger(), "2026-11-01")
    c1 = next(lt for lt in result.letters if lt.customer == "C1")
    assert (c1.level, c1.escalated_from, c1.escalated_by) == ("first", None, None)
    assert c1.missed_plan is not None and c1.missed_plan.id == "PL1"
    assert c1.history == (
        "nothing sent since overdue on 2026-08-01 → first; "
        "missed plan PL1 (instalment due 2026-10-31), named in this letter"
    )
    sent = [mail.LogEntry(date(2026, 10, 25), "C1", "first", "USD", D("150.00"), "")]
    result, _ = letters(plans_ledger(), "2026-11-01", sent)
    c1 = next(lt for lt in result.letters if lt.customer == "C1")
    assert (c1.level, c1.escalated_from, c1.escalated_by) == (
        "second",
        "first",
        "missed plan",
    )
    assert c1.history == (
        "first sent 2026-10-25, pay by 2026-11-04 not passed → first; "
        "missed plan PL1 (instalment due 2026-10-31) → second"
    )
    assert dunning.letter_note(c1) == (
        "missed plan PL1 (instalment due 2026-10-31), first -> second"
    )


def test_the_missed_plans_step_is_taken_once(plans_ledger):
    """`second` sent on 11-02 for the missed instalment: on 11-04 (its pay-by,
    11-12, not passed) the level stays `second`; with the plan's step taken
    again it would be `final`. After the pay-by date: one step, `final`."""
    path = plans_ledger()
    sent = [mail.LogEntry(date(2026, 11, 2), "C1", "second", "USD", D("150.00"), "")]
    result, _ = letters(path, "2026-11-04", sent)
    c1 = next(lt for lt in result.letters if lt.customer == "C1")
    assert (c1.level, c1.escalated_by) == ("second", None)
    assert c1.missed_plan is not None and c1.missed_plan.id == "PL1"
    # P2 (11-05) covers #2 late: the plan is kept to again, so in force, and
    # C1 waits for #3 (11-30) instead of getting `final`.
    result, _ = letters(path, "2026-11-13", sent)
    assert not [lt for lt in result.letters if lt.customer == "C1"]
    (skip,) = [s for s in result.skipped if s.customer == "C1"]
    assert skip.reason == "collection plan PL1 of 2026-09-01: next 100.00 by 2026-11-30"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_proposal_to_pay_is_never_said_with_a_plan_on_record(plans_ledger, language):
    """escalation: days: I1 is 93 days overdue on 11-01, `legal`, whose letter
    says "no proposal to pay" unless a promise or plan is on record."""
    path = plans_ledger(SETTINGS + "dunning: {escalation: days}\n")
    result, ledger = letters(path, "2026-11-01")
    c1 = next(lt for lt in result.letters if lt.customer == "C1")
    assert c1.level == "legal" and c1.promise_on_record
    text = words(
        render_letter(
            _in(c1, language), "txt", settings=ledger.settings, ledger_root=None
        ),
        language,
    )
    if language == "en":
        assert "proposal to pay" not in text
        assert "Under the payment plan agreed on 1 September 2026" in text
        assert "USD 100.00 was due by 31 October 2026" in text
    else:
        assert "还款方案" not in text
        assert (
            "根据双方于2026年9月1日约定的回款计划，贵司应于2026年10月31日前支付的USD100.00"
            in text
        )


def test_the_summary_says_when_a_plan_was_missed(plans_ledger):
    result = run(
        "dunning", "-l", str(plans_ledger()), "--as-of", "2026-11-01", "-f", "json"
    )
    assert result.exit_code == 0, result.output
    rows = {r["customer"]: r for r in json.loads(result.stdout)["sections"][0]["rows"]}
    assert rows["C1"]["note"].startswith("missed plan PL1 (instalment due 2026-10-31)")
    assert "missed plan PL1" in rows["C1"]["history"]
    assert "missed plan PL2 (instalment due 2026-10-15)" in rows["C2"]["history"]


# ---------------------------------------------------------------- forecast


def test_forecast_expects_a_plans_items_on_its_instalment_dates(plans_ledger):
    """10-31: I1 is open 150.00 (350 − 50 − 100 − CN1 50); PL1 still has #2
    (100.00, due today) and #3 (100.00, 11-30) to come: 100.00 today and what
    is left, 50.00, on 11-30 (capped by what is open). C2's PL2 is broken: its
    J1 falls back on history."""
    _, view, settlement = view_of(plans_ledger(), "2026-10-31")
    result = forecast.compute(view, settlement, by="month", horizon=3)
    (usd,) = result.sections
    c1 = [(f.basis, f.expected, f.amount) for f in usd.lines if f.customer == "C1"]
    assert c1 == [
        ("plan", date(2026, 10, 31), D("100.00")),
        ("plan", date(2026, 11, 30), D("50.00")),
    ]
    c2 = {f.basis for f in usd.lines if f.customer == "C2"}
    assert "plan" not in c2
    november = usd.periods[0]
    assert november.promised == D("150.00")  # agreed: the plan's part


def test_forecast_on_the_demo_expects_summits_plan():
    """SUMMIT (on credit hold) was "not expected"; its plan covers all it owes,
    19,790.20, on the month-ends to 2027-02-28."""
    ledger, errors = load(DEMO)
    view = ledger.view(date(2026, 10, 31))
    result = forecast.compute(view, settle(view), by="month", horizon=6)
    usd = next(s for s in result.sections if s.currency == "USD")
    summit = [f for f in usd.lines if f.customer == "SUMMIT"]
    assert {f.basis for f in summit} == {"plan"}
    assert sum(f.amount for f in summit) == D("19790.20")
    by_day: dict[date, Decimal] = {}
    for f in summit:
        by_day[f.expected] = by_day.get(f.expected, D(0)) + f.amount
    assert by_day == {
        date(2026, 11, 30): D("5000.00"),
        date(2026, 12, 31): D("5000.00"),
        date(2027, 1, 31): D("5000.00"),
        date(2027, 2, 28): D("4790.20"),
    }
    assert all(f.customer != "SUMMIT" for f in usd.lines if f.basis == "hold")


# ---------------------------------------------------------------- --fail-on


def arledger(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "arledger", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_fail_on_broken_plan_exits_1(plans_ledger, tmp_path):
    path = str(plans_ledger())
    quiet = arledger(
        "plans", "-l", path, "--as-of", "2026-10-12", "--fail-on", "broken-plan"
    )
    assert quiet.returncode == 0, quiet.stderr
    found = arledger(
        "aging", "-l", path, "--as-of", "2026-11-01", "--fail-on", "broken-plan"
    )
    assert found.returncode == 1, found.stderr
    assert found.stderr == (
        "arledger: attention: broken collection plan: C1 (plan PL1, 2026-10-31), "
        "C2 (plan PL2, 2026-10-15)\n"
    )
    state = tmp_path / "state.json"
    new = ("--fail-on", "new-broken-plan", "--state", str(state))
    first = arledger("plans", "-l", path, "--as-of", "2026-11-01", *new)
    assert first.returncode == 1 and "newly missed plan instalment" in first.stderr
    again = arledger("plans", "-l", path, "--as-of", "2026-11-02", *new)
    assert again.returncode == 0 and again.stderr == ""


# ---------------------------------------------------------------- collection


def collection_json(path, *args: str) -> dict:
    result = run("collection", "-l", str(path), "-f", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_collection_due_in_the_period(plans_ledger):
    """October: due (应回款) = what was open on 10-01 of the items due by
    10-31: I1 200.00 (350 − P0 50 − P1 100) + J1 200.00 + J2 100.00 + J3 100.00
    = 600.00; collected Q1 150.00: 150 / 600 = 0.25. November alone: open on
    11-01 and due by 11-30: I1 150.00 (after CN1) + J1 150.00 + J3 100.00 =
    400.00; collected P2 100 + Q2 150 = 250.00. October to November as one:
    600.00 (what was overdue in both months counts once), collected 400.00."""
    path = plans_ledger()
    (october,) = collection_json(path, "--as-of", "2026-10-31")["sections"]
    assert (october["due_in_period"], october["due_collection_rate"]) == (
        "600.00",
        "0.2500",
    )
    trend = collection_json(
        path, "--as-of", "2026-11-30", "--period", "2026-Q4", "--by", "month"
    )
    (section,) = trend["sections"]
    assert [
        (r["month"], r["due_in_period"], r["collected"]) for r in section["rows"]
    ] == [
        ("2026-10", "600.00", "150.00"),
        ("2026-11", "400.00", "250.00"),
    ]
    assert (section["due_in_period"], section["collected"]) == ("600.00", "400.00")
    assert section["due_collection_rate"] == "0.6667"
    whole = collection_json(path, "--as-of", "2026-11-30", "--from", "2026-10-01")
    assert whole["sections"][0]["due_in_period"] == "600.00"


def test_collection_due_counts_an_item_issued_and_due_in_the_period(ledger_dir):
    """An invoice issued 10-01 with 10 days' terms is due in October in full,
    though it was not open at the start; one due in November is not."""
    path = ledger_dir(
        customers="- {id: C, name: C, terms: 10}\n",
        invoices="- {id: A, customer: C, date: 2026-10-01, amount: 70.00}\n"
        "- {id: B, customer: C, date: 2026-10-25, amount: 30.00}\n",
        payments="- {customer: C, date: 2026-10-05, amount: 70.00}\n",
    )
    (section,) = collection_json(path, "--as-of", "2026-10-31")["sections"]
    assert (section["due_in_period"], section["due_collection_rate"]) == (
        "70.00",
        "1.0000",
    )


# ---------------------------------------------------------------- the demo


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "md", "xlsx"])
def test_every_format_on_the_demo(tmp_path, fmt):
    out = tmp_path / f"plans.{'txt' if fmt == 'table' else fmt}"
    result = run(
        "plans", "-l", str(DEMO), "--as-of", "2026-10-31", "-f", fmt, "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    if fmt == "xlsx":
        from openpyxl import load_workbook

        book = load_workbook(out)
        assert book.sheetnames == ["Plans EUR", "Plans USD", "Plans USD (2)"]
        rows = list(book["Plans USD"].values)
        assert rows[0][:4] == ("Plan", "Customer", "Inst.", "Due")
        assert rows[2][0] == "PLAN-SUMMIT-1" and rows[2][7] == "kept"
        assert list(book["Plans USD (2)"].values)[1][:3] == (
            "Marco Alvarez",
            5000,
            5000,
        )
        return
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        usd = json.loads(text)["sections"][1]
        assert [r["status"] for r in usd["rows"]] == ["kept", "kept"] + ["open"] * 4
        assert usd["totals"]["planned"] == "29790.20"
        assert usd["owners"] == [
            {
                "owner": "Marco Alvarez",
                "planned": "5000.00",
                "collected": "5000.00",
                "achievement": "1.0000",
            }
        ]
    elif fmt == "csv":
        lines = text.splitlines()
        assert lines[0] == (
            "currency,plan,customer,instalment,due,planned,collected,covered,"
            "status,shortfall"
        )
        assert lines[1] == (
            "USD,PLAN-SUMMIT-1,SUMMIT,1,2026-09-30,5000.00,5000.00,2026-09-30,kept,0.00"
        )
        assert len(lines) == 7
    elif fmt == "md":
        assert (
            "| PLAN-SUMMIT-1 | SUMMIT | 6 | 2027-02-28 | 4,790.20 | 0.00 |  | open | 0.00 |"
            in text
        )
        assert "| Marco Alvarez | 5,000.00 | 5,000.00 | 100.0% |" in text
    else:
        assert (
            "PLAN-SUMMIT-1  SUMMIT        2  2026-10-31   5,000.00   5,000.00  2026-10-30  kept"
            in text
        )


def test_key_accounts_and_customer_filters_on_the_demo():
    """SUMMIT is not a key account: --key-accounts leaves no plan; -c SUMMIT
    keeps its one."""
    keys = json.loads(
        run("plans", "-l", str(DEMO), "--as-of", "2026-10-31", "--key-accounts",
            "-f", "json").stdout
    )  # fmt: skip
    assert [r for s in keys["sections"] for r in s["rows"]] == []
    summit = json.loads(
        run("plans", "-l", str(DEMO), "--as-of", "2026-10-31", "-c", "SUMMIT",
            "-f", "json").stdout
    )  # fmt: skip
    assert {r["plan"] for s in summit["sections"] for r in s["rows"]} == {
        "PLAN-SUMMIT-1"
    }
