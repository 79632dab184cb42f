"""`export`: the month-end Excel workbook with every report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arledger.commands.common import (
    AsOfOpt,
    CompareToOpt,
    CurrencyOpt,
    CustomerOpt,
    ForceOpt,
    KeyAccountsOpt,
    LedgerOpt,
    OwnerOpt,
    check_target,
    choice,
    compare_date,
    exit_codes,
    load_ledger,
    make_view,
    option,
    stderr,
)
from arledger.errors import OutputExists, UsageError

LANGUAGES = ("en", "zh")


@exit_codes
def export(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.xlsx",
            help="The workbook to write (refused if it exists, unless --force).",
            show_default=False,
        ),
    ],
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    compare_to: CompareToOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    currency: CurrencyOpt = None,
    language: Annotated[
        str | None,
        option(
            "--language",
            metavar="LANG",
            help="en or zh: sheet names and headings (default: settings "
            "`language`, else en).",
        ),
    ] = None,
    force: ForceOpt = False,
) -> None:
    """The month-end workbook for management: every report in one Excel file.

    Sheets: Summary, Aging, Open items, Overdue, Worklist (the day's dunning
    tasks, as `dunning --worklist`), Collection (the month of --as-of, by
    owner), Risk, Forecast (13 weeks), Trend (month-end aging for the last
    12 months), Allowance and Movement (the bad-debt allowance and the aging
    movement since --compare-to, by default the end of the month before
    --as-of's), a block or a sheet per currency. Totals are
    formulas, amounts numbers in the currency's format.
    """
    from arledger import api, mail
    from arledger.fileio import write_output

    if file.suffix.lower() != ".xlsx":
        raise UsageError(f"{file.name!r}: the workbook's name must end in .xlsx")
    if language is not None:
        choice("--language", language, LANGUAGES)
    since = compare_date(compare_to, as_of) if compare_to is not None else None
    # Fail before the work, not after it (write_output checks again, atomically).
    check_target(file, "export", ledger)
    if file.exists() and not force:
        raise OutputExists(f"{file} exists; use --force to replace it")
    # Of a big ledger kept as cells, the records a sheet names are made rows
    # alone; the trend reads the cash from the kernel's columns.
    loaded = load_ledger(ledger)
    view = make_view(loaded, as_of, customer, owner, currency, key_accounts)
    # The worklist's history: the letters on record (SPEC §2).
    sent = mail.read_log(mail.log_path(loaded.root))
    content = api.workbook(
        view,
        language=language or loaded.settings.language,
        compare_to=since,
        sent=sent,
    )
    write_output(file, content, force=force, protected=loaded.files)
    # Always, also under cron: the log then says which file a run made.
    stderr(f"arledger: wrote {file} (as of {view.as_of.isoformat()})")


def register(app: typer.Typer) -> None:
    app.command()(export)
