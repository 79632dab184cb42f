"""`arledger forecast`: expected cash by week or month (回款预测).

Every expected figure was computed by hand from the SPEC and the forecast rule in
the README; the docstrings show the arithmetic. The hypothesis property at the
end is STYLE §10's "the forecast sums to the open items' total".

Calendar (2026): 2026-10-19 is the Monday of ISO week 43; Aug 31, Sep 30, Oct 31.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from arledger.cli import app
from arledger.loader import load
from arledger.model import Contact
from arledger.reports import aging, forecast
from arledger.settle import settle

from .conftest import DEMO, LEDGERS
from .test_properties import PROPERTY, as_of_dates, ledgers

D = Decimal
SMALL = str(LEDGERS / "small")
GOLDEN = Path(__file__).parent / "golden"
AS_OF = date(2026, 10, 20)  # a Tuesday

# C1 pays late: A1 1000 paid 10 days after due, A2 3000 paid 3 days after:
#    (1000×10 + 3000×3) / 4000 = 4.75 days -> 5.
# C2 has no history (shift 0) and a disputed invoice.
# C3 is on hold (hold: true).
# C4 paid 100 on 10-16 against D1 (due 08-31): 46 days late -> shift 46; it
#    promised on 10-15 to pay 700 by 11-10: 100 paid since, 600 still promised.
# C5 has only a payment: 75.00 of unapplied cash.
FIXTURE = {
    "customers": """\
        - {id: C1, name: Late Payer}
        - {id: C2, name: New Customer}
        - {id: C3, name: Held Customer, hold: true}
        - {id: C4, name: Promiser}
        - {id: C5, name: Prepaid}
        """,
    "invoices": """\
        - {id: A1, customer: C1, date: 2026-01-01, amount: 1000.00}
        - {id: A2, customer: C1, date: 2026-02-01, amount: 3000.00}
        - {id: A3, customer: C1, date: 2026-10-01, amount: 500.00}
        - {id: A4, customer: C1, date: 2026-09-01, amount: 200.00}
        - {id: A5, customer: C1, date: 2026-10-15, amount: 700.00, due: 2027-03-01}
        - {id: B1, customer: C2, date: 2026-10-10, amount: 250.00}
        - {id: B2, customer: C2, date: 2026-10-01, amount: 80.00, disputed: true}
        - {id: E1, customer: C3, date: 2026-08-01, amount: 300.00}
        - {id: E2, customer: C3, date: 2026-10-15, amount: 150.00}
        - {id: D1, customer: C4, date: 2026-08-01, amount: 600.00}
        - {id: D2, customer: C4, date: 2026-08-15, amount: 400.00}
        """,
    "payments": """\
        - {id: PA1, customer: C1, date: 2026-02-10, amount: 1000.00, invoice: A1}
        - {id: PA2, customer: C1, date: 2026-03-06, amount: 3000.00, invoice: A2}
        - {id: PD, customer: C4, date: 2026-10-16, amount: 100.00}
        - {id: PE, customer: C5, date: 2026-10-01, amount: 75.00}
        """,
    "contacts": """\
        - {customer: C4, date: 2026-10-15, channel: phone, promise_date: 2026-11-10, promise_amount: 700.00}
        """,
}


@pytest.fixture
def fixture_ledger(ledger_dir) -> Path:
    return ledger_dir(**FIXTURE)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def compute(path, as_of=AS_OF, **kwargs) -> forecast.ForecastResult:
    ledger, errors = load(path)
    assert not [e for e in errors if not e.warning], errors
    view = ledger.view(as_of)
    return forecast.compute(view, settle(view), **kwargs)


def placed(result: forecast.ForecastResult) -> list[tuple]:
    (section,) = result.sections
    return [
        (f.invoice or f.ref, f.basis, f.shift, f.expected, f.period, f.amount)
        for f in section.lines
    ]


# ---------------------------------------------------------------- hand-computed


def test_each_item_placed_by_the_rule(fixture_ledger):
    result = compute(fixture_ledger)
    assert placed(result) == [
        # A4 due 10-01 + 5 = 10-06, before as-of: expected now (first period).
        ("A4", "history", 5, date(2026, 10, 20), "2026-W43", D("200.00")),
        # D2 due 09-14: 100 promised, the other 300 at 09-14 + 46 = 10-30.
        ("D2", "history", 46, date(2026, 10, 30), "2026-W44", D("300.00")),
        # A3 due 10-31 + 5.
        ("A3", "history", 5, date(2026, 11, 5), "2026-W45", D("500.00")),
        # B1 due 11-09, no history: on its due date.
        ("B1", "no history", 0, date(2026, 11, 9), "2026-W46", D("250.00")),
        # The promise: 600 still promised, oldest due first (D1 500, D2 100).
        ("D1", "promise", None, date(2026, 11, 10), "2026-W46", D("500.00")),
        ("D2", "promise", None, date(2026, 11, 10), "2026-W46", D("100.00")),
        # E2 of held C3 is not yet due (11-14): expected as usual.
        ("E2", "no history", 0, date(2026, 11, 14), "2026-W46", D("150.00")),
        # A5 due 2027-03-01 + 5, after 13 weeks (to 2027-01-17): later.
        ("A5", "history", 5, date(2027, 3, 6), "later", D("700.00")),
        # Set apart: the disputed B2 (not even due) and the overdue E1 of held C3.
        ("B2", "disputed", None, None, None, D("80.00")),
        ("E1", "hold", None, None, None, D("300.00")),
        ("PE", "unapplied", None, None, None, D("-75.00")),
    ]


def test_periods_add_up_to_the_aging_total(fixture_ledger):
    """Open items 3080.00 = 200 + 300 + 500 + 1000 (W46) + 700 later + 80 + 300;
    less 75 unapplied = 3005.00, the aging total."""
    (usd,) = compute(fixture_ledger).sections
    expected = {
        p.period.label: (p.expected, p.overdue, p.promised, p.items)
        for p in usd.periods
        if p.expected
    }
    assert expected == {
        "2026-W43": (D("200.00"), D("200.00"), 0, 1),
        "2026-W44": (D("300.00"), D("300.00"), 0, 1),
        "2026-W45": (D("500.00"), 0, 0, 1),
        "2026-W46": (D("1000.00"), D("600.00"), D("600.00"), 4),
    }
    assert (usd.later, usd.disputed, usd.on_hold, usd.unapplied) == (
        D("700.00"),
        D("80.00"),
        D("300.00"),
        D("-75.00"),
    )
    assert usd.open_items == D("3080.00")
    assert usd.total == usd.aging_total == D("3005.00")


def test_report_rows_and_totals(fixture_ledger):
    result = run(
        "forecast", "-l", str(fixture_ledger), "--as-of", "2026-10-20", "-f", "json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["report"], data["by"], data["horizon"]) == ("forecast", "week", 13)
    (section,) = data["sections"]
    rows = section["rows"]
    assert [r["period"] for r in rows[:3]] == ["2026-W43", "2026-W44", "2026-W45"]
    assert (rows[0]["from"], rows[0]["to"]) == (
        "2026-10-20",
        "2026-10-25",
    )  # from as-of
    assert (rows[1]["from"], rows[1]["to"]) == (
        "2026-10-26",
        "2026-11-01",
    )  # Monday-Sunday
    # 2026 has 53 ISO weeks: W43..W53 and 2027-W01, W02 make 13.
    assert rows[12]["period"] == "2027-W02" and rows[12]["to"] == "2027-01-17"
    tail = {r["period"]: r for r in rows[13:]}
    assert list(tail) == [
        "later",
        "not expected: disputed",
        "not expected: on hold",
        "unapplied credit",
    ]
    assert (
        tail["later"]["from"] == "2027-01-18" and tail["later"]["expected"] == "700.00"
    )
    assert tail["later"]["cumulative"] == "2700.00"  # 2000 in 13 weeks + 700
    assert tail["unapplied credit"]["cumulative"] is None
    assert section["totals"]["expected"] == "3005.00"
    assert Decimal(section["totals"]["expected"]) == sum(
        Decimal(r["expected"]) for r in rows
    )
    assert (
        section["aging_total"] == "3005.00" and section["within_horizon"] == "2000.00"
    )


def test_by_month(fixture_ledger):
    """10-20..10-31: A4 200 + D2 300; November: 500 + 250 + 600 + 150;
    A5 (2027-03-06) in the 6th month."""
    (usd,) = compute(fixture_ledger, by="month", horizon=6).sections
    assert [(p.period.label, p.period.start, p.expected) for p in usd.periods] == [
        ("2026-10", date(2026, 10, 20), D("500.00")),
        ("2026-11", date(2026, 11, 1), D("1500.00")),
        ("2026-12", date(2026, 12, 1), 0),
        ("2027-01", date(2027, 1, 1), 0),
        ("2027-02", date(2027, 2, 1), 0),
        ("2027-03", date(2027, 3, 1), D("700.00")),
    ]
    assert usd.later == 0


def test_short_horizon_puts_the_rest_later(fixture_ledger):
    (usd,) = compute(fixture_ledger, horizon=2).sections
    assert [p.expected for p in usd.periods] == [D("200.00"), D("300.00")]
    assert usd.later == D("2200.00")  # 500 + 1000 + 700
    assert usd.total == D("3005.00")


def test_broken_kept_and_superseded_promises_do_not_override(ledger_dir):
    """As of 10-20: a promise dated 10-18 and unpaid is broken; one paid in full
    is kept; only the latest promise of a customer counts. Without history from
    a promise, D1 (500 open) and D2 (400) follow the shift of 46 days:
    08-31 + 46 = 10-16 -> as-of 10-20; 09-14 + 46 = 10-30."""
    by_history = {
        ("D1", "history", date(2026, 10, 20), D("500.00")),
        ("D2", "history", date(2026, 10, 30), D("400.00")),
    }
    cases = [
        # broken
        (
            "- {customer: C4, date: 2026-10-10, channel: phone, promise_date: 2026-10-18, promise_amount: 700.00}\n",
            by_history,
        ),
        # kept: 100 promised, 100 paid on 10-16
        (
            "- {customer: C4, date: 2026-10-15, channel: phone, promise_date: 2026-11-10, promise_amount: 100.00}\n",
            by_history,
        ),
        # superseded: 700 by 11-10 replaced on 10-19 by 200 by 11-20 (nothing paid since)
        (
            "- {customer: C4, date: 2026-10-15, channel: phone, promise_date: 2026-11-10, promise_amount: 700.00}\n"
            "- {customer: C4, date: 2026-10-19, channel: phone, promise_date: 2026-11-20, promise_amount: 200.00}\n",
            {
                ("D1", "promise", date(2026, 11, 20), D("200.00")),
                ("D1", "history", date(2026, 10, 20), D("300.00")),
                ("D2", "history", date(2026, 10, 30), D("400.00")),
            },
        ),
        # no amount (made after PD, else any payment keeps it): covers what falls
        # due by the promised date (D1 and D2)
        (
            "- {customer: C4, date: 2026-10-17, channel: phone, promise_date: 2026-11-10}\n",
            {
                ("D1", "promise", date(2026, 11, 10), D("500.00")),
                ("D2", "promise", date(2026, 11, 10), D("400.00")),
            },
        ),
        # more promised than open: only what is open is expected
        (
            "- {customer: C4, date: 2026-10-15, channel: phone, promise_date: 2026-11-10, promise_amount: 5000.00}\n",
            {
                ("D1", "promise", date(2026, 11, 10), D("500.00")),
                ("D2", "promise", date(2026, 11, 10), D("400.00")),
            },
        ),
    ]
    for contacts, expected in cases:
        path = ledger_dir(**{**FIXTURE, "contacts": contacts})
        (usd,) = compute(path).sections
        got = {
            (f.invoice, f.basis, f.expected, f.amount)
            for f in usd.lines
            if f.invoice in ("D1", "D2")
        }
        assert got == expected, contacts
        assert usd.total == D("3005.00")


def test_a_promise_naming_an_invoice_goes_to_it_first(ledger_dir):
    """Open: D1 500 (due 08-31), D2 400 (due 09-14), disputed B2 80 of C2.
    Only payments naming the invoice count towards such a promise (none here)."""
    cases = [
        # 300 for D2: D2 300 promised, its other 100 and D1 by history.
        (
            "{customer: C4, date: 2026-10-17, channel: phone, invoice: D2, promise_date: 2026-11-10, promise_amount: 300.00}",
            {
                ("D2", "promise", D("300.00")),
                ("D2", "history", D("100.00")),
                ("D1", "history", D("500.00")),
            },
        ),
        # 450 for D2: D2's 400, then oldest first (D1 50), as the engine will.
        (
            "{customer: C4, date: 2026-10-17, channel: phone, invoice: D2, promise_date: 2026-11-10, promise_amount: 450.00}",
            {
                ("D2", "promise", D("400.00")),
                ("D1", "promise", D("50.00")),
                ("D1", "history", D("450.00")),
            },
        ),
        # No amount: the whole of D2.
        (
            "{customer: C4, date: 2026-10-17, channel: phone, invoice: D2, promise_date: 2026-11-10}",
            {("D2", "promise", D("400.00")), ("D1", "history", D("500.00"))},
        ),
        # A disputed invoice named by a promise is expected on its date.
        (
            "{customer: C2, date: 2026-10-17, channel: phone, invoice: B2, promise_date: 2026-11-10}",
            {("B2", "promise", D("80.00")), ("B1", "no history", D("250.00"))},
        ),
    ]
    for contact, expected in cases:
        path = ledger_dir(**{**FIXTURE, "contacts": f"- {contact}\n"})
        (usd,) = compute(path).sections
        customer = "C2" if "C2" in contact else "C4"
        got = {
            (f.invoice, f.basis, f.amount) for f in usd.lines if f.customer == customer
        }
        assert got == expected, contact
        for f in usd.lines:
            if f.basis == "promise":
                assert f.expected == date(2026, 11, 10)
        assert usd.total == D("3005.00")


def test_early_payers_and_rounding(ledger_dir):
    """Paid 3 days early and 2 days early on equal amounts: −2.5 -> −3 (half away
    from zero); an item due 11-10 is then expected 11-07, never before as-of."""
    path = ledger_dir(
        customers="- {id: C1, name: Early}\n",
        invoices="""\
            - {id: I1, customer: C1, date: 2026-01-01, amount: 100.00, due: 2026-02-01}
            - {id: I2, customer: C1, date: 2026-01-01, amount: 100.00, due: 2026-03-01}
            - {id: I3, customer: C1, date: 2026-10-01, amount: 40.00, due: 2026-11-10}
            - {id: I4, customer: C1, date: 2026-10-01, amount: 60.00, due: 2026-10-21}
            """,
        payments="""\
            - {id: P1, customer: C1, date: 2026-01-29, amount: 100.00, invoice: I1}
            - {id: P2, customer: C1, date: 2026-02-27, amount: 100.00, invoice: I2}
            """,
    )
    (usd,) = compute(path).sections
    assert [(f.invoice, f.shift, f.expected) for f in usd.lines] == [
        ("I4", -3, date(2026, 10, 20)),  # 10-21 − 3 = 10-18: not before as-of
        ("I3", -3, date(2026, 11, 7)),
    ]
    assert forecast.round_days(D("4.5")) == 5
    assert forecast.round_days(D("-4.5")) == -5
    assert forecast.round_days(D("4.49")) == 4


@pytest.mark.parametrize(
    ("as_of", "by", "first", "second"),
    [
        # A Saturday: the rest of the week, from as-of.
        (
            date(2026, 10, 31),
            "week",
            ("2026-W44", date(2026, 10, 31), date(2026, 11, 1)),
            ("2026-W45", date(2026, 11, 2), date(2026, 11, 8)),
        ),
        # A Sunday, the week's last day: the next week, from as-of.
        (
            date(2026, 11, 1),
            "week",
            ("2026-W45", date(2026, 11, 1), date(2026, 11, 8)),
            ("2026-W46", date(2026, 11, 9), date(2026, 11, 15)),
        ),
        # A Monday: a whole first week.
        (
            date(2026, 11, 2),
            "week",
            ("2026-W45", date(2026, 11, 2), date(2026, 11, 8)),
            ("2026-W46", date(2026, 11, 9), date(2026, 11, 15)),
        ),
        # Around New Year the ISO year is the week's.
        (
            date(2026, 12, 30),
            "week",
            ("2026-W53", date(2026, 12, 30), date(2027, 1, 3)),
            ("2027-W01", date(2027, 1, 4), date(2027, 1, 10)),
        ),
        # Mid-month: the rest of the month.
        (
            date(2026, 10, 20),
            "month",
            ("2026-10", date(2026, 10, 20), date(2026, 10, 31)),
            ("2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        ),
        # Month-end: the next month, from as-of (no one-day stub).
        (
            date(2026, 10, 31),
            "month",
            ("2026-11", date(2026, 10, 31), date(2026, 11, 30)),
            ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ),
        (
            date(2027, 1, 31),
            "month",
            ("2027-02", date(2027, 1, 31), date(2027, 2, 28)),
            ("2027-03", date(2027, 3, 1), date(2027, 3, 31)),
        ),
    ],
)
def test_periods(as_of, by, first, second):
    periods = forecast.forecast_periods(as_of, by, 13)
    assert len(periods) == 13
    assert [(p.label, p.start, p.end) for p in periods[:2]] == [first, second]
    for a, b in zip(periods, periods[1:], strict=False):
        assert b.start == a.end + timedelta(days=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "day"], "--by: 'day' is not one of week, month"),
        (["--horizon", "0"], "--horizon: 0 is not between 1 and 520"),
        (["--horizon", "521"], "--horizon: 521 is not between 1 and 520"),
        (["--customer", "C6"], "unknown customer 'C6'"),
        (["--format", "html"], "--format: 'html' is not one of"),
    ],
)
def test_bad_options_exit_2(fixture_ledger, args, message):
    result = run("forecast", "-l", str(fixture_ledger), "--as-of", "2026-10-20", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stdout == ""
    assert "Traceback" not in result.output


def test_detail_lists_the_items_behind_every_total(fixture_ledger):
    base = [
        "forecast",
        "-l",
        str(fixture_ledger),
        "--as-of",
        "2026-10-20",
        "-f",
        "json",
    ]
    summary = json.loads(run(*base).stdout)["sections"][0]
    detail = json.loads(run(*base, "--detail").stdout)["sections"][0]
    assert detail["totals"]["amount"] == summary["totals"]["expected"]
    by_period: dict[str, Decimal] = {}
    for row in detail["rows"]:
        by_period[row["period"]] = by_period.get(row["period"], 0) + Decimal(
            row["amount"]
        )
    for row in summary["rows"]:
        assert Decimal(row["expected"]) == by_period.get(row["period"], 0), row[
            "period"
        ]


def test_fail_on_is_shared(fixture_ledger):
    result = run(
        "forecast",
        "-l",
        str(fixture_ledger),
        "--as-of",
        "2026-10-20",
        "--fail-on",
        "hold",
    )
    assert result.exit_code == 1 and "C3" in result.stderr


GOLDEN_CASES = [
    ("table", []),
    ("json", []),
    ("csv", []),
    ("md", []),
    ("table", ["--by", "month", "--horizon", "4"]),
    ("table", ["--detail"]),
]


@pytest.mark.parametrize(("fmt", "extra"), GOLDEN_CASES)
def test_golden(fmt, extra, update_golden):
    result = run(
        "forecast", "--ledger", SMALL, "--as-of", "2026-10-31", "--format", fmt, *extra
    )
    assert result.exit_code == 0, result.output
    suffix = {"table": "txt"}.get(fmt, fmt)
    name = "__".join(["forecast", "small", *[e.strip("-") for e in extra]])
    path = GOLDEN / f"{name}.{suffix}"
    if update_golden or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")


def test_demo_reconciles_to_the_aging():
    ledger, _ = load(DEMO)
    view = ledger.view(date(2026, 10, 31))
    settlement = settle(view)
    result = forecast.compute(view, settlement)
    totals = {s.currency: s.total for s in aging.compute(view, settlement).sections}
    assert {s.currency: s.total for s in result.sections} == totals
    assert totals["USD"] == D("237140.65")


# ---------------------------------------------------------------- property


@st.composite
def promises_for(draw, gen, as_of: date) -> tuple[Contact, ...]:
    """Up to four promises: any customer, made before as-of, often still open,
    some naming one of the customer's invoices."""
    amounts = st.decimals(
        places=2,
        min_value=D("0.01"),
        max_value=D("50000"),
        allow_nan=False,
        allow_infinity=False,
    )
    contacts = []
    for _ in range(draw(st.integers(0, 4))):
        customer = draw(st.sampled_from(gen.customers)).id
        made = as_of - timedelta(days=draw(st.integers(0, 60)))
        extra = {}
        theirs = [i.id for i in gen.invoices if i.customer == customer]
        if theirs and draw(st.booleans()):
            extra["invoice"] = draw(st.sampled_from(theirs))
        contacts.append(
            Contact(
                customer=customer,
                date=made,
                channel="phone",
                promise_date=made + timedelta(days=draw(st.integers(0, 120))),
                promise_amount=draw(st.one_of(st.none(), amounts)),
                **extra,
            )
        )
    return tuple(contacts)


@PROPERTY
@given(
    gen=ledgers(),
    as_of=as_of_dates,
    by=st.sampled_from(forecast.BY_CHOICES),
    horizon=st.integers(1, 20),
    data=st.data(),
)
def test_forecast_sums_to_the_open_items(gen, as_of, by, horizon, data):
    """Per currency: periods + later + set apart = open items; + unapplied = the
    aging total. Each item's lines add up to its open balance; nothing is
    expected before as-of, and every line is in the period that holds its date."""
    ledger = replace(gen.ledger(), contacts=data.draw(promises_for(gen, as_of)))
    view = ledger.view(as_of)
    settlement = settle(view)
    result = forecast.compute(view, settlement, by=by, horizon=horizon)
    aged = {s.currency: s.total for s in aging.compute(view, settlement).sections}
    open_by_currency: dict[str, Decimal] = {}
    open_by_item: dict[tuple, Decimal] = {}
    for item in settlement.items:
        if item.open:
            open_by_currency[item.currency] = (
                open_by_currency.get(item.currency, 0) + item.open
            )
            open_by_item[item.key] = item.open
    periods = result.periods
    assert len(periods) == horizon and periods[0].start == as_of
    assert {s.currency for s in result.sections} == set(aged)
    lined: dict[tuple, Decimal] = {}
    for section in result.sections:
        cur = section.currency
        assert section.open_items == open_by_currency.get(cur, 0), cur
        assert section.total == aged[cur] == section.aging_total
        assert (
            sum(p.expected for p in section.periods)
            + section.later
            + section.disputed
            + section.on_hold
            == section.open_items
        )
        assert sum(f.amount for f in section.lines) == section.total
        for line in section.lines:
            if line.basis == "unapplied":
                assert line.amount < 0 and line.period is None
                continue
            assert line.amount > 0
            key = (line.invoice, line.instalment)
            lined[key] = lined.get(key, 0) + line.amount
            if line.expected is None:
                assert line.basis in ("disputed", "hold") and line.period is None
                continue
            assert line.expected >= as_of
            if line.period == forecast.LATER:
                assert line.expected > periods[-1].end
            else:
                (period,) = [p for p in periods if p.label == line.period]
                assert period.start <= line.expected <= period.end
    assert lined == open_by_item
