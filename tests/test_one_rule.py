"""One rule, one place: the disagreements of issue 12, each through the CLI.

Each case was answered one way by `check` and another by a report (or by YAML
and CSV) while rules had several copies. Now every command reads a ledger
through the same models and cross-checks, and every report reads promises from
the same settlement, so each command gives the same answer.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arledger.cli import app
from arledger.loader import load
from arledger.promises import promises
from arledger.settle import settle

from .conftest import write_ledger

REPORTS = ("aging", "overdue", "collection", "risk", "forecast", "dunning")


def run(ledger: Path, *args: str):
    return CliRunner().invoke(app, [*args, "--ledger", str(ledger)])


def refused_everywhere(ledger: Path, expected: str) -> None:
    """`check` and every report exit 2 with the same FILE:LINE message."""
    for command in ("check", *REPORTS):
        args = [command] if command == "check" else [command, "--as-of", "2026-10-31"]
        result = run(ledger, *args)
        assert result.exit_code == 2, (command, result.output)
        assert expected in result.stderr.splitlines(), (command, result.stderr)
        assert "Traceback" not in result.output


CUSTOMERS_CSV = "id,name\nC1,Acme\n"
INVOICES_CSV = (
    "id,customer,date,amount\nI1,C1,2026-01-01,100.00\nI2,C1,2026-01-05,100.00\n"
)


def test_a_csv_allocation_naming_one_invoice_twice_is_refused(tmp_path):
    ledger = write_ledger(
        tmp_path / "l",
        **{
            "customers.csv": CUSTOMERS_CSV,
            "invoices.csv": INVOICES_CSV,
            "payments.csv": "id,customer,date,amount,allocations\n"
            "P1,C1,2026-02-01,150.00,I2=100.00;I2=50.00\n",
        },
    )
    refused_everywhere(ledger, "payments.csv:2: allocations: 'I2' is given twice")


def test_the_same_allocation_in_yaml_is_refused_too(tmp_path):
    ledger = write_ledger(
        tmp_path / "l",
        **{"customers.csv": CUSTOMERS_CSV, "invoices.csv": INVOICES_CSV},
        payments="""\
        - id: P1
          customer: C1
          date: 2026-02-01
          amount: 150.00
          allocations: {I2: 100.00, I2: 50.00}
        """,
    )
    _, errors = load(ledger)
    assert [str(e) for e in errors] == [
        "payments.yaml:5: duplicate key 'I2' (first at line 5)"
    ]


def test_a_huge_csv_cell_is_judged_the_same_by_every_command(tmp_path):
    ledger = write_ledger(
        tmp_path / "l",
        **{
            "customers.csv": CUSTOMERS_CSV,
            "invoices.csv": "id,customer,date,amount,description\n"
            f"I1,C1,2026-01-01,100.00,{'x' * 200_000}\n",
        },
    )
    results = {
        command: run(
            ledger, command, *(() if command == "check" else ("--as-of", "2026-10-31"))
        )
        for command in ("check", *REPORTS)
    }
    codes = {command: r.exit_code for command, r in results.items()}
    assert set(codes.values()) == {2}, codes
    for result in results.values():
        assert "invoices.csv:2:" in result.stderr
        assert "Traceback" not in result.output


@pytest.mark.parametrize("value", ["true", "false", "1_0", "5.0", "yes"])
def test_terms_that_are_not_digits_are_refused_in_yaml_csv_and_settings(
    tmp_path, value
):
    yaml_ledger = write_ledger(
        tmp_path / "yaml",
        customers=f"- {{id: C1, name: Acme, terms: {value}}}\n",
    )
    refused_everywhere(
        yaml_ledger, f"customers.yaml:1: terms: not a whole number (got {value!r})"
    )
    csv_ledger = write_ledger(
        tmp_path / "csv", **{"customers.csv": f"id,name,terms\nC1,Acme,{value}\n"}
    )
    refused_everywhere(
        csv_ledger, f"customers.csv:2: terms: not a whole number (got {value!r})"
    )
    settings_ledger = write_ledger(
        tmp_path / "settings",
        settings=f"terms: {{default: {value}}}\n",
        customers="- {id: C1, name: Acme}\n",
    )
    refused_everywhere(
        settings_ledger,
        f"arledger.yaml:1: terms.default: not a whole number (got {value!r})",
    )


# The promise of issue 12: made on 2026-02-05 for I1 by 2026-02-10, and I1 paid
# in full on 2026-02-20 by a payment naming no invoice (applied oldest first).
PROMISE_LEDGER = {
    "customers": "- {id: C1, name: Acme, terms: 30, email: ap@acme.example}\n",
    "invoices": """\
    - {id: I1, customer: C1, date: 2026-01-01, amount: 100.00}
    - {id: I2, customer: C1, date: 2026-02-15, amount: 100.00}
    """,
    "payments": "- {id: P1, customer: C1, date: 2026-02-20, amount: 100.00}\n",
    "contacts": """\
    - {customer: C1, date: 2026-02-05, channel: phone, promise_date: 2026-02-10,
       promise_amount: 100.00, invoice: I1}
    """,
}


@pytest.fixture
def promise_ledger(tmp_path) -> Path:
    return write_ledger(tmp_path / "l", **PROMISE_LEDGER)


def status_as_of(ledger_path: Path, day: str) -> str:
    from datetime import date

    ledger, errors = load(ledger_path)
    assert not errors
    view = ledger.view(date.fromisoformat(day))
    (promise,) = promises(view, settle(view))
    return promise.status


def test_a_promise_paid_late_is_not_broken(promise_ledger):
    assert status_as_of(promise_ledger, "2026-02-08") == "open"
    assert status_as_of(promise_ledger, "2026-02-15") == "broken"  # not paid yet
    assert status_as_of(promise_ledger, "2026-04-20") == "late"  # paid 2026-02-20


def test_dunning_does_not_escalate_for_a_promise_the_settlement_shows_paid(
    promise_ledger,
):
    aging = run(
        promise_ledger, "aging", "--detail", "--as-of", "2026-04-20", "-f", "json"
    )
    (section,) = json.loads(aging.stdout)["sections"]
    assert [row["invoice"] for row in section["rows"]] == ["I2"]  # I1 is paid

    dunning = run(promise_ledger, "dunning", "--as-of", "2026-04-20", "-f", "json")
    (section,) = json.loads(dunning.stdout)["sections"]
    (row,) = section["rows"]
    # I2 is 34 days past due and no letter is on record: `first`, not one step
    # further for a promise that was kept, if late.
    assert row["level"] == "first"
    assert "promise" not in (row.get("note") or "")


def test_fail_on_broken_promise_agrees_with_the_settlement(promise_ledger):
    def code(day: str) -> int:
        return subprocess.run(
            [sys.executable, "-m", "arledger", "overdue", "--ledger", str(promise_ledger),
             "--as-of", day, "--fail-on", "broken-promise", "-f", "json"],
            capture_output=True,
        ).returncode  # fmt: skip

    assert code("2026-02-15") == 1
    assert code("2026-04-20") == 0
