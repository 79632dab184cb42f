"""`aging` and `overdue`: who owes what, for how long."""

from __future__ import annotations

from typing import Annotated

import typer

from arledger.commands.common import (
    BASES,
    AsOfOpt,
    CurrencyOpt,
    CustomerOpt,
    DetailOpt,
    FailOnOpt,
    ForceOpt,
    FormatOpt,
    LedgerOpt,
    Output,
    OutputOpt,
    OwnerOpt,
    attention,
    choice,
    exit_codes,
    load_ledger,
    make_view,
    option,
    parse_buckets,
    parse_fail_on,
)


@exit_codes
def aging(
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
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
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    fail_on: FailOnOpt = None,
) -> None:
    """Aging by customer (账龄): open balances in buckets of days past due."""
    from arledger.reports import aging as aging_report
    from arledger.settle import settle

    sink = Output(format, output, force)
    sink.resolve_format()
    limits = parse_buckets(buckets)
    alerts = parse_fail_on(fail_on)
    if basis is not None:
        choice("--basis", basis, BASES)
    loaded = load_ledger(ledger)
    view = make_view(loaded, as_of, customer, owner, currency)
    settlement = settle(view)
    result = aging_report.compute(view, settlement, basis=basis, limits=limits)
    sink.emit(aging_report.to_report(result, detail=detail), loaded.files)
    raise typer.Exit(attention(view, settlement, alerts))


@exit_codes
def overdue(
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    currency: CurrencyOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    fail_on: FailOnOpt = None,
) -> None:
    """Overdue items (逾期), worst first (days past due × open amount)."""
    from arledger.reports import overdue as overdue_report
    from arledger.settle import settle

    sink = Output(format, output, force)
    sink.resolve_format()
    alerts = parse_fail_on(fail_on)
    loaded = load_ledger(ledger)
    view = make_view(loaded, as_of, customer, owner, currency)
    settlement = settle(view)
    result = overdue_report.compute(view, settlement)
    sink.emit(overdue_report.to_report(result), loaded.files)
    raise typer.Exit(attention(view, settlement, alerts))


def register(app: typer.Typer) -> None:
    app.command()(aging)
    app.command()(overdue)
