"""`plans`: collection plans (回款计划), plan against actual, achievement by owner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from arledger.commands.common import (
    AsOfOpt,
    BomOpt,
    CurrencyOpt,
    CustomerOpt,
    FailOnOpt,
    ForceOpt,
    FormatOpt,
    KeyAccountsOpt,
    LedgerOpt,
    Output,
    OutputOpt,
    OwnerOpt,
    StateOpt,
    exit_codes,
    option,
    parse_fail_on,
    run_report,
)
from arledger.errors import UsageError

if TYPE_CHECKING:
    from datetime import date

    from arledger.dates import Period


def plan_period(period: str | None, as_of: str | None) -> tuple[Period, date]:
    """The period of the achievement rate, whole (its instalments after as-of
    are planned too), and the report's as-of date: `--period` (default the
    month of --as-of); without --as-of, a past period is reported as of its
    last day, as `collection` does."""
    from arledger.commands.performance import resolve_period
    from arledger.dates import DateError, month_of, parse_period

    _, report_date = resolve_period(period, None, None, as_of)
    if period is None:
        return month_of(report_date), report_date
    try:
        return parse_period(period), report_date
    except DateError as exc:  # resolve_period has said it already
        raise UsageError(f"--period: {exc}") from None


@exit_codes
def plans(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    currency: CurrencyOpt = None,
    period: Annotated[
        str | None,
        option(
            "--period",
            "-p",
            metavar="PERIOD",
            help="The period of the achievement rate per owner: a month "
            "(2026-10), quarter (2026-Q3) or year (2026). Default: the month "
            "of --as-of.",
        ),
    ] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = None,
    fail_on: FailOnOpt = None,
    state: StateOpt = None,
) -> None:
    """Collection plans (回款计划): each instalment planned against collected,
    kept/late/missed/open, and the plan achievement rate per owner (SPEC §7)."""
    sink = Output(format, output, force, bom)
    fmt = sink.resolve_format()
    alerts = parse_fail_on(fail_on, state, ledger)
    span, report_date = plan_period(period, as_of)

    def build(view: Any, settlement: Any) -> Any:
        from arledger.reports import plans as plans_report  # past the cache

        result = plans_report.compute(view, settlement, span)
        return plans_report.to_report(result, fmt)

    run_report(sink, alerts, ledger, report_date.isoformat(), customer, owner,
               currency, build, ctx, key_accounts=key_accounts)  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command()(plans)
