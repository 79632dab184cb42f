"""`arledger risk` (credit risk, holds, computed grades) and the follow-up
columns `overdue` and `risk` share (last contact, open or broken promise).

Every expected figure was computed by hand; the docstrings show the arithmetic.
As-of 2026-10-31 throughout; all customers on 30-day terms.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arledger.cli import app
from arledger.reports.risk import grade_of, scorecard

from .conftest import DEMO, LEDGERS

GOLDEN = Path(__file__).parent / "golden"
SMALL = str(LEDGERS / "small")

LEDGER = dict(
    customers="""\
    - {id: PROMPT, name: Prompt Co, terms: 30, credit_limit: 2000.00, grade: A}
    - {id: LATE, name: Late Co, terms: 30, grade: A}
    - {id: SLOW, name: Slow Co, terms: 30, grade: B}
    - {id: BAD, name: Bad Co, terms: 30, credit_limit: 1000.00, grade: C, key_account: true}
    - {id: NEW, name: New Co, terms: 30}
    - {id: GONE, name: Gone Co, terms: 30, grade: B}
    """,
    invoices="""\
    - {id: X1, customer: PROMPT, date: 2026-08-01, amount: 1000.00}
    - {id: X2, customer: PROMPT, date: 2026-10-10, amount: 500.00}
    - {id: Y1, customer: LATE, date: 2026-07-01, amount: 1000.00}
    - {id: Y2, customer: LATE, date: 2026-09-01, amount: 800.00}
    - {id: Z1, customer: SLOW, date: 2026-08-01, amount: 1000.00}
    - {id: Z2, customer: SLOW, date: 2026-09-01, amount: 700.00}
    - {id: W1, customer: BAD, date: 2026-06-01, amount: 1500.00}
    - {id: W2, customer: BAD, date: 2026-10-01, amount: 300.00}
    - {id: V1, customer: NEW, date: 2026-10-20, amount: 200.00}
    - {id: V2, customer: NEW, date: 2026-07-01, amount: 100.00, disputed: true}
    - {id: U0, customer: GONE, date: 2026-02-01, amount: 100.00}
    - {id: U1, customer: GONE, date: 2026-03-01, amount: 400.00}
    """,
    payments="""\
    - {id: PX1, customer: PROMPT, date: 2026-08-31, amount: 1000.00, invoice: X1}
    - {id: PY1, customer: LATE, date: 2026-08-20, amount: 1000.00, invoice: Y1}
    - {id: PZ1, customer: SLOW, date: 2026-10-05, amount: 1000.00, invoice: Z1}
    - {id: PW1, customer: BAD, date: 2026-07-11, amount: 500.00, invoice: W1}
    - {id: PU0, customer: GONE, date: 2026-02-20, amount: 100.00, invoice: U0}
    """,
    adjustments="""\
    - {id: WO1, customer: GONE, date: 2026-06-30, amount: 400.00, kind: write_off, invoice: U1}
    """,
    contacts="""\
    - {customer: LATE, date: 2026-08-15, channel: phone, promise_date: 2026-08-20, promise_amount: 1000.00}
    - {customer: SLOW, date: 2026-09-20, channel: phone, note: first call}
    - {customer: SLOW, date: 2026-10-20, channel: email, promise_date: 2026-11-05, promise_amount: 700.00}
    - {customer: BAD, date: 2026-10-01, channel: phone, promise_date: 2026-10-15, promise_amount: 1000.00}
    """,
)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def risk(ledger: Path, *args: str) -> dict:
    result = run(
        "risk", "-l", str(ledger), "--as-of", "2026-10-31", "-f", "json", *args
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rows(data: dict) -> dict[str, dict]:
    [section] = data["sections"]
    return {r["customer"]: r for r in section["rows"]}


# ---------------------------------------------------------------- per customer


def test_grades_and_figures_computed_by_hand(ledger_dir):
    """
    PROMPT: X1 (due 08-31) paid 08-31: on time, 0 days late; X2 500 open, due
      11-09 (current). Exposure 500 of 2000: 25%. Points 0 -> A.
    LATE: Y1 (due 07-31) paid 08-20, 20 days late: on time 0% (1 point), days
      late 20 (16-30: 2 points); Y2 800 due 10-01: 30 days (<= 30: 0 points);
      its promise (08-15, 1000 by 08-20) was kept. 3 points -> B.
    SLOW: Z1 (due 08-31) paid 10-05, 35 days late: 1 + 3 (31-60 days); Z2 700
      due 10-01: 30 days, 0. 4 points -> C. Last contact 10-20 email, promise
      of 700 by 11-05 still open.
    BAD: W1 1500 (due 07-01) part-paid 500 on 07-11, 10 days late: 1 + 1
      (6-15); 1000 open 122 days: 4; W2 300 due 10-31: 0 days, current. Promise
      of 1000 by 10-15, nothing paid from 10-01: broken, 1. Exposure 1300 over
      the 1000 limit (130%): 2. 9 points -> D; on hold, over limit and 122 > 60.
    NEW: nothing paid yet: 2 (unproven). V2 (disputed, 92 days) is overdue but
      neither scored nor a hold (README, "Disputed invoices"). 2 points -> B.
    GONE: U0 (due 03-03) paid 02-20, 11 days early: on time 100%, 0; U1 400
      written off 06-30: 4. Exposure 0. 4 points -> C.
    Order: holds first, then points (worst first), then exposure.
    """
    data = risk(ledger_dir(**LEDGER))
    found = rows(data)
    assert list(found) == ["BAD", "SLOW", "GONE", "LATE", "NEW", "PROMPT"]
    assert {
        c: (r["grade"], r["computed_grade"], r["points"]) for c, r in found.items()
    } == {
        "PROMPT": ("A", "A", 0),
        "LATE": ("A", "B", 3),
        "SLOW": ("B", "C", 4),
        "BAD": ("C", "D", 9),
        "NEW": (None, "B", 2),
        "GONE": ("B", "C", 4),
    }
    prompt = found["PROMPT"]
    assert (prompt["exposure"], prompt["credit_limit"], prompt["limit_used"]) == (
        "500.00",
        "2000.00",
        "0.2500",
    )
    assert (prompt["on_time_ratio"], prompt["avg_days_late"]) == ("1.0000", 0.0)
    assert prompt["overdue"] == "0.00" and prompt["oldest_days"] is None
    late = found["LATE"]
    assert (late["on_time_ratio"], late["avg_days_late"], late["oldest_days"]) == (
        "0.0000",
        20.0,
        30,
    )
    assert late["credit_limit"] is None and late["limit_used"] is None
    assert (late["last_contact"], late["channel"], late["promise"]) == (
        "2026-08-15",
        "phone",
        None,  # the kept promise needs no watching
    )
    slow = found["SLOW"]
    assert (slow["avg_days_late"], slow["last_contact"], slow["channel"]) == (
        35.0,
        "2026-10-20",
        "email",
    )
    assert (slow["promise"], slow["promise_date"], slow["promise_amount"]) == (
        "open",
        "2026-11-05",
        "700.00",
    )
    bad = found["BAD"]
    assert (bad["exposure"], bad["limit_used"], bad["overdue"]) == (
        "1300.00",
        "1.3000",
        "1000.00",
    )
    assert (bad["oldest_days"], bad["broken_promises"], bad["promise"]) == (
        122,
        1,
        "broken",
    )
    assert bad["hold"] is True and bad["key_account"] is True
    assert bad["hold_reasons"] == "over credit limit; overdue > 60 days"
    new = found["NEW"]
    assert (new["exposure"], new["overdue"], new["oldest_days"]) == (
        "300.00",
        "100.00",
        None,
    )
    assert new["on_time_ratio"] is None and new["avg_days_late"] is None
    assert new["hold"] is False and new["hold_reasons"] is None
    gone = found["GONE"]
    assert (gone["exposure"], gone["written_off"], gone["on_time_ratio"]) == (
        "0.00",
        "400.00",
        "1.0000",
    )
    assert gone["avg_days_late"] == -11.0
    [section] = data["sections"]
    # 500 + 800 + 700 + 1300 + 300 + 0; overdue 800 + 700 + 1000 + 100
    assert section["totals"] == {"exposure": "3600.00", "overdue": "2600.00"}
    assert (section["on_hold"], section["exposure_on_hold"]) == (1, "1300.00")
    assert data["hold_days"] == 60


def test_holds_lists_only_customers_on_hold_and_fail_on_hold(ledger_dir):
    ledger = ledger_dir(**LEDGER)
    assert list(rows(risk(ledger, "--holds"))) == ["BAD"]
    result = run(
        "risk",
        "-l",
        str(ledger),
        "--as-of",
        "2026-10-31",
        "--holds",
        "--fail-on",
        "hold",
    )
    assert result.exit_code == 1
    assert result.stdout.startswith("Credit holds as of 2026-10-31 — USD")
    assert "on credit hold: BAD" in result.stderr
    clean = run(
        "risk",
        "-l",
        str(ledger),
        "--as-of",
        "2026-10-31",
        "--customer",
        "PROMPT",
        "--fail-on",
        "hold",
    )
    assert clean.exit_code == 0


def test_hold_by_decision(ledger_dir):
    """`hold: true` alone puts a customer on hold, whatever its figures."""
    ledger = ledger_dir(
        customers="- {id: C1, name: One, hold: true}\n",
        invoices="- {id: I1, customer: C1, date: 2026-10-20, amount: 10.00}\n",
    )
    [row] = rows(risk(ledger)).values()
    assert row["hold"] is True and row["hold_reasons"] == "on hold"


def test_holds_with_nobody_on_hold_is_an_empty_report(ledger_dir):
    ledger = ledger_dir(**LEDGER)
    result = run(
        "risk",
        "-l",
        str(ledger),
        "--as-of",
        "2026-10-31",
        "--holds",
        "--customer",
        "PROMPT",
    )
    assert result.exit_code == 0
    # The customer's currency has its section (SPEC §3), saying nobody is on hold.
    assert result.stdout.startswith("Credit holds as of 2026-10-31 — USD\n")
    assert "Customers on hold: 0\n" in result.stdout
    data = json.loads(
        run("risk", "-l", str(ledger), "--as-of", "2026-10-31", "--holds",
            "--customer", "PROMPT", "-f", "json").stdout
    )  # fmt: skip
    [section] = data["sections"]
    assert section["rows"] == [] and section["on_hold"] == 0
    assert section["totals"]["exposure"] == "0.00"


# ---------------------------------------------------------------- the scorecard


def card(**overrides):
    """A clean customer (0 points) with some factors changed."""
    given = dict(
        on_time_ratio=Decimal("1"),
        average_days_late=Decimal("0"),
        oldest_days=None,
        broken_promises=0,
        over_limit=False,
        written_off=False,
    )
    given.update(overrides)
    return scorecard(**given)


@pytest.mark.parametrize(
    ("factor", "value", "points"),
    [
        ("on_time_ratio", Decimal("0.5"), 0),
        ("on_time_ratio", Decimal("0.4999"), 1),
        ("on_time_ratio", Decimal("0"), 1),
        ("on_time_ratio", None, 2),  # no payments yet (average_days_late too)
        ("average_days_late", Decimal("-12"), 0),
        ("average_days_late", Decimal("5"), 0),
        ("average_days_late", Decimal("5.01"), 1),
        ("average_days_late", Decimal("15"), 1),
        ("average_days_late", Decimal("15.01"), 2),
        ("average_days_late", Decimal("30"), 2),
        ("average_days_late", Decimal("30.01"), 3),
        ("average_days_late", Decimal("60"), 3),
        ("average_days_late", Decimal("60.01"), 4),
        ("oldest_days", None, 0),
        ("oldest_days", 30, 0),
        ("oldest_days", 31, 1),
        ("oldest_days", 60, 1),
        ("oldest_days", 61, 2),
        ("oldest_days", 90, 2),
        ("oldest_days", 91, 4),
        ("broken_promises", 1, 1),
        ("broken_promises", 3, 3),
        ("broken_promises", 7, 3),
        ("over_limit", True, 2),
        ("written_off", True, 4),
    ],
)
def test_each_factor_boundary(factor, value, points):
    assert card(**{factor: value}).points == points


@pytest.mark.parametrize(
    ("points", "grade"),
    [(0, "A"), (1, "A"), (2, "B"), (3, "B"), (4, "C"), (6, "C"), (7, "D"), (20, "D")],
)
def test_grade_boundaries(points, grade):
    assert grade_of(points) == grade


def test_grade_boundaries_through_factors():
    """1|2: on time under half (1) vs plus 6-15 days late (1+1). 3|4: + one
    broken promise (3) vs + a second factor worth 2 instead (over limit: 4).
    6|7: written off (4) + over limit (2) = 6 vs + one broken promise = 7."""
    late = Decimal("0.3")
    assert card(on_time_ratio=late).grade == "A"
    assert card(on_time_ratio=late, average_days_late=Decimal("10")).grade == "B"
    assert (
        card(
            on_time_ratio=late, average_days_late=Decimal("10"), broken_promises=1
        ).grade
        == "B"
    )
    assert (
        card(on_time_ratio=late, average_days_late=Decimal("10"), over_limit=True).grade
        == "C"
    )
    assert card(written_off=True, over_limit=True).grade == "C"
    assert card(written_off=True, over_limit=True, broken_promises=1).grade == "D"


# ---------------------------------------------------------------- overdue follow-up


def test_overdue_shows_last_contact_and_open_or_broken_promise(ledger_dir):
    """SLOW's Z2 and BAD's W1 are overdue: SLOW last spoke 10-20 by email and
    promised 700 by 11-05 (open); BAD's promise of 1000 by 10-15 is broken."""
    ledger = ledger_dir(**LEDGER)
    result = run("overdue", "-l", str(ledger), "--as-of", "2026-10-31", "-f", "json")
    [section] = json.loads(result.stdout)["sections"]
    by_invoice = {r["invoice"]: r for r in section["rows"]}
    keys = ("last_contact", "channel", "promise", "promise_date", "promise_amount")
    assert [by_invoice["Z2"][k] for k in keys] == [
        "2026-10-20",
        "email",
        "open",
        "2026-11-05",
        "700.00",
    ]
    assert [by_invoice["W1"][k] for k in keys] == [
        "2026-10-01",
        "phone",
        "broken",
        "2026-10-15",
        "1000.00",
    ]
    assert [by_invoice["Y2"][k] for k in keys] == [
        "2026-08-15",
        "phone",
        None,
        None,
        None,  # kept: nothing to watch
    ]


def test_a_later_open_promise_is_shown_over_an_earlier_broken_one(ledger_dir):
    """Broken on 10-10 (nothing paid), then a new promise for 11-20: shown open,
    and the broken one still counts."""
    ledger = ledger_dir(
        customers="- {id: C1, name: One, terms: 30}\n",
        invoices="- {id: I1, customer: C1, date: 2026-08-01, amount: 100.00}\n",
        contacts="""\
        - {customer: C1, date: 2026-10-01, channel: phone, promise_date: 2026-10-10, promise_amount: 100.00}
        - {customer: C1, date: 2026-10-25, channel: visit, promise_date: 2026-11-20}
        """,
    )
    [row] = rows(risk(ledger)).values()
    assert (row["promise"], row["promise_date"], row["promise_amount"]) == (
        "open",
        "2026-11-20",
        None,
    )
    assert (row["broken_promises"], row["last_contact"], row["channel"]) == (
        1,
        "2026-10-25",
        "visit",
    )


# ---------------------------------------------------------------- formats, golden

GOLDEN_CASES = [
    ("table", []),
    ("json", []),
    ("csv", []),
    ("md", []),
    ("table", ["--holds"]),
]


@pytest.mark.parametrize(("fmt", "extra"), GOLDEN_CASES)
def test_golden(fmt, extra, update_golden):
    result = run(
        "risk", "--ledger", SMALL, "--as-of", "2026-10-31", "--format", fmt, *extra
    )
    assert result.exit_code == 0, result.output
    suffix = {"table": "txt"}.get(fmt, fmt)
    name = "__".join(["risk", "small", *[e.strip("-") for e in extra]])
    path = GOLDEN / f"{name}.{suffix}"
    if update_golden or not path.exists():
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")


def test_xlsx_and_help(tmp_path):
    target = tmp_path / "risk.xlsx"
    result = run("risk", "-l", SMALL, "--as-of", "2026-10-31", "-o", str(target))
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    assert len(load_workbook(target).sheetnames) == 2
    assert "Usage" in run("risk", "--help").stdout


def test_bad_options_exit_2():
    for args in (["--format", "pdf"], ["--fail-on", "nope"], ["--as-of", "2026-13-01"]):
        result = run("risk", "-l", SMALL, *args)
        assert result.exit_code == 2, args
        assert result.stdout == "" and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_demo_holds_agree_with_the_aging():
    """The stop-shipping list is the aging's HOLD column."""
    aging = json.loads(
        run("aging", "-l", str(DEMO), "--as-of", "2026-10-31", "-f", "json").stdout
    )
    held = {r["customer"] for s in aging["sections"] for r in s["rows"] if r["hold"]}
    data = json.loads(
        run(
            "risk", "-l", str(DEMO), "--as-of", "2026-10-31", "-f", "json", "--holds"
        ).stdout
    )
    assert {r["customer"] for s in data["sections"] for r in s["rows"]} == held
    exposure = {r["customer"]: r["total"] for s in aging["sections"] for r in s["rows"]}
    for section in data["sections"]:
        for row in section["rows"]:
            assert row["exposure"] == exposure[row["customer"]]


# ---------------------------------------------------------------- points per factor


def test_points_by_factor_add_up_to_the_points(ledger_dir):
    """Each customer's factors, as worked out in
    test_grades_and_figures_computed_by_hand: LATE 1 on time + 2 days late = 3;
    BAD 1 + 1 + 4 oldest + 1 broken + 2 over limit = 9; GONE 4 written off."""
    found = rows(risk(ledger_dir(**LEDGER)))
    assert found["LATE"]["points_by_factor"] == {
        "on_time": 1,
        "days_late": 2,
        "oldest": 0,
        "broken_promises": 0,
        "over_limit": 0,
        "written_off": 0,
    }
    assert found["BAD"]["points_by_factor"] == {
        "on_time": 1,
        "days_late": 1,
        "oldest": 4,
        "broken_promises": 1,
        "over_limit": 2,
        "written_off": 0,
    }
    assert found["GONE"]["points_by_factor"]["written_off"] == 4
    assert found["NEW"]["points_by_factor"]["on_time"] == 2
    for row in found.values():
        assert sum(row["points_by_factor"].values()) == row["points"]


def test_points_by_factor_add_up_on_the_demo():
    data = json.loads(
        run("risk", "-l", str(DEMO), "--as-of", "2026-10-31", "-f", "json").stdout
    )
    found = [r for s in data["sections"] for r in s["rows"]]
    assert found
    for row in found:
        assert sum(row["points_by_factor"].values()) == row["points"]


def test_detail_shows_the_factors_as_columns(ledger_dir):
    path = ledger_dir(**LEDGER)
    plain = run("risk", "-l", str(path), "--as-of", "2026-10-31", "-f", "csv")
    assert "points_on_time" not in plain.stdout
    result = run(
        "risk", "-l", str(path), "--as-of", "2026-10-31", "-f", "csv", "--detail"
    )
    assert result.exit_code == 0, result.output
    import csv
    import io

    table = {r["customer"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    bad = table["BAD"]
    factors = ("on_time", "days_late", "oldest", "broken_promises", "over_limit",
               "written_off")  # fmt: skip
    assert [bad[f"points_{f}"] for f in factors] == ["1", "1", "4", "1", "2", "0"]
    assert bad["points"] == "9"
    md = run("risk", "-l", str(path), "--as-of", "2026-10-31", "-f", "md", "--detail")
    assert "| Oldest pts |" in md.stdout


def test_grade_bands_come_from_the_settings(ledger_dir):
    """Default bands: 0-1 A, 2-3 B, 4-6 C, 7+ D. With A 2, B 4, C 8: LATE (3)
    B, SLOW (4) B, BAD (9) D, NEW (2) A, PROMPT (0) A."""
    path = ledger_dir(settings="risk:\n  bands: {A: 2, B: 4, C: 8}\n", **LEDGER)
    found = rows(risk(path))
    assert {c: r["computed_grade"] for c, r in found.items()} == {
        "PROMPT": "A",
        "LATE": "B",
        "SLOW": "B",
        "BAD": "D",
        "NEW": "A",
        "GONE": "B",
    }
    path = ledger_dir(settings="risk:\n  bands: {C: 9}\n", **LEDGER)
    assert rows(risk(path))["BAD"]["computed_grade"] == "C"  # 9 <= 9


def test_grade_of_with_bands():
    bands = ((0, "A"), (2, "B"), (5, "C"))
    assert [grade_of(p, bands) for p in (0, 1, 2, 3, 5, 6)] == list("ABBCCD")


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ("{A: 3, B: 3}", "the bands must increase"),
        ("{A: -1}", "risk"),
        ("{A: 1, D: 9}", "D"),
    ],
)
def test_bad_bands_are_file_line_errors(ledger_dir, bands, message):
    path = ledger_dir(settings=f"currency: USD\nrisk:\n  bands: {bands}\n", **LEDGER)
    result = run("risk", "-l", str(path), "--as-of", "2026-10-31")
    assert result.exit_code == 2, result.output
    assert "arledger.yaml:3" in result.stderr and message in result.stderr
    assert "Traceback" not in result.output
