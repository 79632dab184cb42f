"""`aging` and `overdue`: who owes what, for how long."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, cast

import typer

from arledger.commands.common import (
    BASES,
    AsOfOpt,
    BomOpt,
    CompareToOpt,
    CurrencyOpt,
    CustomerOpt,
    DetailOpt,
    FailOnOpt,
    ForceOpt,
    FormatOpt,
    KeyAccountsOpt,
    LedgerOpt,
    Output,
    OutputOpt,
    OwnerOpt,
    StateOpt,
    choice,
    compare_date,
    exit_codes,
    option,
    parse_buckets,
    parse_fail_on,
    run_report,
)
from arledger.errors import UsageError

if TYPE_CHECKING:
    from arledger.ledger import LedgerView
    from arledger.report import Report
    from arledger.settle import Settlement


@exit_codes
def aging(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    currency: CurrencyOpt = None,
    basis: Annotated[
        str | None,
        option(
            "--basis",
            metavar="BASIS",
            help="due (days past due) or invoice (days since issue).",
        ),
    ] = None,
    buckets: Annotated[
        str | None,
        option(
            "--buckets",
            metavar="DAYS",
            help="Bucket limits in days, e.g. 30,60,90 (default: settings).",
        ),
    ] = None,
    detail: DetailOpt = False,
    compare_to: CompareToOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = None,
    fail_on: FailOnOpt = None,
    state: StateOpt = None,
) -> None:
    """Aging by customer (账龄): open balances in buckets of days past due.

    With --compare-to D0, the movement since D0 (账龄变动): per customer, the
    total then + invoiced − received − credited − written off = the total
    now, what moved into each bucket from younger ones, who got worse first.
    """
    sink = Output(format, output, force, bom)
    sink.resolve_format()
    limits = parse_buckets(buckets)
    alerts = parse_fail_on(fail_on, state, ledger)
    if basis is not None:
        choice("--basis", basis, BASES)
    since = compare_date(compare_to, as_of) if compare_to is not None else None
    if since is not None and detail:
        raise UsageError(
            "--compare-to shows the movement by customer: leave out --detail"
        )

    def build(view: LedgerView, settlement: Settlement) -> Report:
        from arledger.reports import aging as aging_report  # past the cache

        chosen = cast("aging_report.Basis | None", basis)
        if since is not None:
            from arledger.reports import movement
            from arledger.settle import settle

            earlier = view.on(since)
            moves = movement.compute(
                view,
                settlement,
                earlier,
                settle(earlier, history=False),
                basis=chosen,
                limits=limits,
            )
            return movement.to_report(moves)
        aged = aging_report.compute(
            view, settlement, basis=chosen, limits=limits, itemized=detail
        )
        return aging_report.to_report(aged, detail=detail)

    # The movement reads the applications: a settlement with its history.
    run_report(sink, alerts, ledger, as_of, customer, owner, currency, build, ctx,
               history=since is not None, key_accounts=key_accounts)  # fmt: skip


@exit_codes
def overdue(
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
    """Overdue items (逾期), worst first (days past due × open amount)."""
    sink = Output(format, output, force, bom)
    sink.resolve_format()
    alerts = parse_fail_on(fail_on, state, ledger)

    def build(view: LedgerView, settlement: Settlement) -> Report:
        from arledger.reports import overdue as overdue_report  # past the cache

        return overdue_report.to_report(overdue_report.compute(view, settlement))

    # Follow-ups judge promises from the applications: with history; no
    # item paid in full is read.
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
        paid=False,
        key_accounts=key_accounts,
    )


def register(app: typer.Typer) -> None:
    app.command()(aging)
    app.command()(overdue)
