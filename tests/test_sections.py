"""JSON keeps its shape: every currency with records on or before the as-of date
(within the filters) has its section, with zeros when nothing is open (SPEC §3)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from arledger.cli import app

# USD: one invoice, paid in full. EUR: one invoice, open. GBP: issued after as-of.
LEDGER = {
    "customers": """
        - {id: A, name: Alpha Inc, currency: USD, owner: Ann}
        - {id: B, name: Beta GmbH, currency: EUR, owner: Bob}
        - {id: G, name: Gamma Ltd, currency: GBP, owner: Ann}
    """,
    "invoices": """
        - {id: I1, customer: A, date: 2026-09-01, amount: 100.00}
        - {id: I2, customer: B, date: 2026-09-01, amount: 200.00}
        - {id: I3, customer: G, date: 2026-11-05, amount: 300.00}
    """,
    "payments": """
        - {id: P1, customer: A, date: 2026-09-20, amount: 100.00}
    """,
}

# Each report, and the key of a money total that must read "0.00" for USD.
REPORTS = [
    (("aging",), "total"),
    (("aging", "--detail"), "open"),
    (("overdue",), "open"),
    (("collection", "--by", "customer"), "closing"),
    (("collection", "--by", "month"), "closing"),
    (("risk",), "exposure"),
    (("risk", "--holds"), "exposure"),
    (("forecast",), "expected"),
    (("forecast", "--detail"), "amount"),
    (("dunning",), "amount"),
]


def report(folder, *args: str, env: dict[str, str] | None = None) -> dict:
    result = CliRunner().invoke(
        app, [*args, "-l", str(folder), "--as-of", "2026-10-31", "-f", "json"], env=env
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(("args", "total"), REPORTS)
def test_a_paid_up_currency_keeps_its_section_with_zeros(ledger_dir, args, total):
    data = report(ledger_dir(**LEDGER), *args)
    sections = {s["currency"]: s for s in data["sections"]}
    assert list(sections) == ["EUR", "USD"]  # GBP has no record by 2026-10-31
    assert sections["USD"]["totals"][total] == "0.00"


def test_collection_without_a_breakdown_has_a_zero_period(ledger_dir):
    data = report(ledger_dir(**LEDGER), "collection")
    usd = next(s for s in data["sections"] if s["currency"] == "USD")
    assert usd["closing"] == "0.00" and usd["collection_rate"] is None
    [row] = usd["rows"]
    assert row["period"] == "2026-10" and row["opening"] == "0.00"


def test_the_first_section_reads_zero_when_nothing_is_open(ledger_dir):
    """The issue's case: `.sections[0].totals.total` of an all-paid ledger."""
    folder = ledger_dir(
        customers="- {id: A, name: Alpha Inc, currency: USD}\n",
        invoices="- {id: I1, customer: A, date: 2026-09-01, amount: 100.00}\n",
        payments="- {id: P1, customer: A, date: 2026-09-20, amount: 100.00}\n",
    )
    for native in ("", "1"):
        data = report(folder, "aging", env={"ARLEDGER_NO_NATIVE": native})
        assert data["sections"][0]["currency"] == "USD"
        assert data["sections"][0]["totals"]["total"] == "0.00"
        assert data["sections"][0]["rows"] == []


def test_filters_decide_which_currencies_have_records(ledger_dir):
    folder = ledger_dir(**LEDGER)
    only_usd = report(folder, "overdue", "--currency", "USD")
    assert [s["currency"] for s in only_usd["sections"]] == ["USD"]
    ann = report(folder, "aging", "--owner", "Ann")  # Ann: A (USD) and G (GBP, later)
    assert [s["currency"] for s in ann["sections"]] == ["USD"]
    beta = report(folder, "aging", "--customer", "B")
    assert [s["currency"] for s in beta["sections"]] == ["EUR"]
    later = CliRunner().invoke(
        app, ["aging", "-l", str(folder), "--as-of", "2026-11-30", "-f", "json"]
    )
    currencies = [s["currency"] for s in json.loads(later.stdout)["sections"]]
    assert currencies == ["EUR", "GBP", "USD"]


def test_an_empty_section_in_a_table_says_zero(ledger_dir):
    result = CliRunner().invoke(
        app, ["overdue", "-l", str(ledger_dir(**LEDGER)), "--as-of", "2026-10-31"]
    )
    assert result.exit_code == 0
    assert "Overdue as of 2026-10-31 — USD" in result.stdout
