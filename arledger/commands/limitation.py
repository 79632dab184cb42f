"""`limitation`: open items nearing the end of their limitation period (诉讼时效)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from arledger.commands.common import (
    AsOfOpt,
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


@exit_codes
def limitation(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    within: Annotated[
        int,
        option(
            "--within",
            metavar="DAYS",
            help="List items whose limitation date has passed or falls within "
            "DAYS of --as-of (default 90).",
        ),
    ] = 90,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    currency: CurrencyOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    fail_on: FailOnOpt = None,
    state: StateOpt = None,
) -> None:
    """Open items whose limitation period (诉讼时效) has passed or ends soon.

    Each open item's limitation date is limitation.years (default 3) after the
    latest of its due date and the last event that renews it: a letter recorded
    as sent while it was overdue, a `legal` contact, a contact with
    `acknowledged: true`, or a payment applied to it (SPEC §11). Earliest first;
    days left is negative once passed.
    """
    if within < 0:
        raise UsageError(f"--within: must be 0 or more days (got {within})")
    sink = Output(format, output, force)
    sink.resolve_format()
    alerts = parse_fail_on(fail_on, state, ledger)

    def build(view: Any, settlement: Any) -> Any:
        from arledger import mail
        from arledger.reports import limitation as limitation_report

        sent = mail.read_log(mail.log_path(view.ledger.root))
        found = limitation_report.compute(view, settlement, sent, within)
        return limitation_report.to_report(view, found, within)

    run_report(
        sink,
        alerts,
        ledger,
        as_of,
        customer,
        owner,
        currency,
        build,
        ctx,
        key_accounts=key_accounts,
    )


def register(app: typer.Typer) -> None:
    app.command()(limitation)
