"""`allowance`: the bad-debt allowance (坏账准备) by customer and aging bucket,
its change since an earlier date, and the adjusting journal entry."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from arledger.commands.common import (
    Alerts,
    AsOfOpt,
    BomOpt,
    CompareToOpt,
    CurrencyOpt,
    CustomerOpt,
    ForceOpt,
    FormatOpt,
    KeyAccountsOpt,
    LedgerOpt,
    Output,
    OutputOpt,
    OwnerOpt,
    choice,
    compare_date,
    exit_codes,
    load_ledger,
    make_view,
    option,
    run_report,
)
from arledger.errors import UsageError

JOURNALS = ("hledger", "beancount")


@exit_codes
def allowance(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    compare_to: CompareToOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    currency: CurrencyOpt = None,
    journal: Annotated[
        str | None,
        option(
            "--journal",
            metavar="FORMAT",
            help="Print the adjusting entry instead, as hledger or beancount: "
            "the change since --compare-to (without it, the whole allowance), "
            "on the accounts of settings allowance.accounts.",
        ),
    ] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = None,
) -> None:
    """Bad-debt allowance (坏账准备): open items × the rate of their aging bucket.

    Rates from settings allowance.rates (a disputed item takes
    allowance.disputed when given; a customer's own allowance_rate replaces
    both). With --compare-to, the allowance then and the change: the period's
    provision expense, or a release when negative.
    """
    sink = Output(format, output, force, bom)
    if journal is None:
        sink.resolve_format()
    else:
        choice("--journal", journal, JOURNALS)
        if format is not None or bom is not None:
            option = "--format" if format is not None else "--bom"
            raise UsageError(f"--journal prints a journal entry: leave out {option}")
        sink.refuse_directory()
    since = compare_date(compare_to, as_of) if compare_to is not None else None
    if journal is not None:
        sink.check(ledger)
        loaded = load_ledger(ledger)
        view = make_view(loaded, as_of, customer, owner, currency, key_accounts)
        result = _compute(view, None, since)
        accounts = loaded.settings.allowance.accounts
        from arledger.reports.allowance import adjusting_entry

        text = adjusting_entry(
            result,
            journal,
            accounts.expense,
            accounts.allowance,
            loaded.settings.company.name or "Bad-debt allowance",
        )
        sink.write(text, loaded.files)
        return

    def build(view: Any, settlement: Any) -> Any:
        from arledger.reports.allowance import to_report

        return to_report(_compute(view, settlement, since))

    run_report(sink, Alerts(), ledger, as_of, customer, owner, currency, build, ctx,
               history=False, key_accounts=key_accounts)  # fmt: skip


def _compute(view: Any, settlement: Any, since: Any) -> Any:
    from arledger.reports.allowance import compute
    from arledger.settle import settle

    if settlement is None:
        settlement = settle(view, history=False)
    previous = None
    if since is not None:
        earlier = view.on(since)
        previous = (earlier, settle(earlier, history=False))
    return compute(view, settlement, previous)


def register(app: typer.Typer) -> None:
    app.command()(allowance)
