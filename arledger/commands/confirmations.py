"""`confirmations`: the answers to the statements sent (对账确认, SPEC §10)."""

from __future__ import annotations

from typing import Any

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
    parse_fail_on,
    run_report,
)


@exit_codes
def confirmations(
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
    bom: BomOpt = None,
    fail_on: FailOnOpt = None,
    state: StateOpt = None,
) -> None:
    """Statement confirmations (对账确认): the last statement sent to each
    customer, the balance it showed, and the answer.

    Answers: confirmed (and equal), different (confirmed at another balance),
    disputed, no answer (statement.reply_days after it was sent), waiting.
    Statements are read from statement-log.csv (`statement --all --send`, or
    `--out DIR --record`); answers from the `confirmations` records.
    """
    sink = Output(format, output, force, bom)
    sink.resolve_format()
    alerts = parse_fail_on(fail_on, state, ledger)

    def build(view: Any, settlement: Any) -> Any:
        from arledger import mail
        from arledger.reports import confirmations as report

        sent = mail.read_statement_log(mail.statement_log_path(view.ledger.root))
        return report.to_report(report.compute(view, sent))

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
        history=False,
        key_accounts=key_accounts,
    )


def register(app: typer.Typer) -> None:
    app.command()(confirmations)
