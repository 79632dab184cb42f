"""The Python API: what a script gets without the command line."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from arledger import api
from arledger.cli import app
from arledger.dates import month_of
from arledger.errors import LedgerInvalid

from .conftest import DEMO, write_ledger

AS_OF = date(2026, 10, 31)


def cli_json(*args: str) -> dict:
    result = CliRunner().invoke(
        app, [*args, "--ledger", str(DEMO), "--as-of", AS_OF.isoformat(), "-f", "json"]
    )
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("name", "build"),
    [
        ("aging", lambda v: api.aging(v)),
        ("overdue", lambda v: api.overdue(v)),
        ("risk", lambda v: api.risk(v)),
        ("forecast", lambda v: api.forecast(v)),
        ("dunning", lambda v: api.dunning(v)),
        ("interest", lambda v: api.interest(v)),
        ("plans", lambda v: api.plans(v, month_of(AS_OF), fmt="json")),
        ("allowance", lambda v: api.allowance(v)),
        (
            "allowance --compare-to 2026-09-30",
            lambda v: api.allowance(v, compare_to=date(2026, 9, 30)),
        ),
        (
            "aging --compare-to 2026-09-30",
            lambda v: api.movement(v, date(2026, 9, 30)),
        ),
        ("confirmations", lambda v: api.confirmations(v)),
        ("limitation --within 1050", lambda v: api.limitation(v, within=1050)),
    ],
)
def test_the_api_gives_what_the_command_prints(name, build):
    view = api.view(api.load(DEMO), AS_OF)
    assert json.loads(api.render(build(view), "json")) == cli_json(*name.split())


def test_a_view_is_settled_once():
    view = api.view(api.load(DEMO), AS_OF)
    assert api.settlement(view) is api.settlement(view)
    other = api.view(api.load(DEMO), AS_OF)
    assert api.settlement(other) is not api.settlement(view)


def test_a_broken_ledger_raises_with_every_problem(tmp_path):
    ledger = write_ledger(
        tmp_path / "l",
        customers="- {id: C1, name: A, terms: soon}\n- {id: C2, name: B, currency: usd}\n",
    )
    with pytest.raises(LedgerInvalid) as caught:
        api.load(ledger)
    assert [str(e) for e in caught.value.errors] == [
        "customers.yaml:1: terms: not a whole number (got 'soon')",
        "customers.yaml:2: currency: 'usd' is not an ISO 4217 currency code; "
        "write it in capitals: USD",
    ]
