"""`interest`: late interest per item (逾期利息), the figures letters charge."""

from __future__ import annotations

from typing import Any

import typer

from arledger.commands.common import (
    Alerts,
    AsOfOpt,
    CurrencyOpt,
    CustomerOpt,
    ForceOpt,
    FormatOpt,
    KeyAccountsOpt,
    LedgerOpt,
    Output,
    OutputOpt,
    OwnerOpt,
    exit_codes,
    run_report,
)


@exit_codes
def interest(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    currency: CurrencyOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """Late interest per item, day by day at dunning.interest_rate (SPEC §2)."""
    sink = Output(format, output, force)
    sink.resolve_format()

    def build(view: Any, settlement: Any) -> Any:
        from arledger import mail
        from arledger.reports import interest as interest_report

        # Items paid late accrue since the last letter (the last interest
        # charge), which the sent log records.
        sent = (
            mail.read_log(mail.log_path(view.ledger.root))
            if view.settings.dunning.interest_on_paid_late
            else ()
        )
        return interest_report.to_report(
            view, interest_report.compute(view, settlement, sent)
        )

    run_report(
        sink,
        Alerts(),
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
    app.command()(interest)
