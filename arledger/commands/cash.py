"""`forecast` and `statement`: cash to come, and a customer's statement of account."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from arledger.commands.common import (
    AsOfOpt,
    BomOpt,
    CurrencyOpt,
    CustomerOpt,
    DetailOpt,
    FailOnOpt,
    ForceOpt,
    FormatOpt,
    FromOpt,
    KeyAccountsOpt,
    LedgerOpt,
    Output,
    OutputOpt,
    OwnerOpt,
    StateOpt,
    ToOpt,
    as_of_date,
    check_filters,
    choice,
    exit_codes,
    find_customer,
    load_ledger,
    option,
    parse_fail_on,
    run_report,
    stderr,
)
from arledger.errors import UsageError

BY = ("week", "month")
LANGUAGES = ("en", "zh")
HTML_SUFFIXES = (".html", ".htm")


@exit_codes
def forecast(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    currency: CurrencyOpt = None,
    by: Annotated[
        str,
        option("--by", metavar="PERIOD", help="week (Monday to Sunday) or month."),
    ] = "week",
    horizon: Annotated[
        int,
        option(
            "--horizon",
            metavar="N",
            help="How many periods to forecast (default 13); later cash is "
            "summed in a 'later' line.",
        ),
    ] = 13,
    detail: DetailOpt = False,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = None,
    fail_on: FailOnOpt = None,
    state: StateOpt = None,
) -> None:
    """Cash forecast (回款预测): expected cash by week or month.

    Each open item is expected on its due date plus the customer's average days
    late (amount-weighted, whole days; 0 without history), never before as-of;
    an open promise to pay overrides it. Disputed items and the overdue items of
    customers on credit hold are shown apart as not expected, and unapplied
    credit on its own line, so the total equals the aging total.
    """
    from arledger.reports import forecast as forecast_report

    sink = Output(format, output, force, bom)
    sink.resolve_format()
    choice("--by", by, BY)
    if not 1 <= horizon <= forecast_report.MAX_HORIZON:
        raise UsageError(
            f"--horizon: {horizon} is not between 1 and {forecast_report.MAX_HORIZON}"
        )
    alerts = parse_fail_on(fail_on, state, ledger)

    def build(view: Any, settlement: Any) -> Any:
        result = forecast_report.compute(
            view, settlement, by=cast("forecast_report.By", by), horizon=horizon
        )
        return forecast_report.to_report(result, detail=detail)

    # Payment behaviour, promises and plans are read from the applications;
    # no item paid in full is.
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


@exit_codes
def statement(
    who: Annotated[
        str | None,
        typer.Argument(
            metavar="[CUSTOMER]",
            help="The customer: its id, or its name (any case). Leave out with --all.",
            show_default=False,
        ),
    ] = None,
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    period: Annotated[
        str | None,
        option(
            "--period",
            metavar="PERIOD",
            help="2026-10 (a month), 2026-Q3, 2026, or all (from the customer's "
            "first record). Default: the month of --as-of, up to it.",
        ),
    ] = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    currency: CurrencyOpt = None,
    language: Annotated[
        str | None,
        option(
            "--language",
            metavar="LANG",
            help="en or zh for --format html (default: the customer's, else "
            "the ledger's).",
        ),
    ] = None,
    format: Annotated[
        str | None,
        option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="table, csv, json, md, xlsx or html (a printable page; default: "
            "from the --output suffix, else table).",
        ),
    ] = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help="A statement for every customer with an open "
            "balance or activity in the period: --out DIR and/or --send "
            "(--format html or md).",
        ),
    ] = False,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    out: Annotated[
        Path | None,
        option(
            "--out",
            metavar="DIR",
            help="With --all: write one statement per customer and currency "
            "into DIR (made when missing; never over a file without --force).",
        ),
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="With --all: e-mail each statement (settings "
            "`smtp`), once per customer, currency and statement date "
            "(statement-log.csv).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="With --all: show what --send would send, "
            "or what --out would write, and do nothing.",
        ),
    ] = False,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="With --all --out: record the statements "
            "written as sent (by hand or post) in statement-log.csv.",
        ),
    ] = False,
) -> None:
    """Statement of account (对账单) for one customer over a period, or --all.

    Opening balance, every invoice, payment, credit note, discount and write-off
    in date order with a running balance, the closing balance (equal to the
    customer's aging total), then the open items aged. CSV holds the activity
    lines only (one header line); `--format html` is a printable A4 page in the
    customer's language, with the customer's answer boxes.
    """
    from arledger.reports import statement as statement_report
    from arledger.settle import settle

    if language is not None:
        choice("--language", language, LANGUAGES)
    if all_:
        if who is not None:
            raise UsageError(
                "give a customer or --all, not both (--customer filters --all)"
            )
        from arledger.commands.statements import run_all

        run_all(
            ledger_dir=ledger,
            as_of=as_of,
            customer=customer,
            owner=owner,
            key_accounts=key_accounts,
            currency=currency,
            period=period,
            start_text=from_,
            end_text=to,
            language=language,
            fmt=format,
            out=out,
            send_mail=send,
            dry_run=dry_run,
            record_sent=record,
            force=force,
            sink=Output(None, output, force, bom),
        )
        return
    if who is None:
        raise UsageError(
            "statement: missing argument 'customer' (or --all for every customer)"
        )
    used = [name for name, given in (("--customer", customer), ("--owner", owner),
            ("--key-accounts", key_accounts), ("--out", out), ("--send", send),
            ("--dry-run", dry_run), ("--record", record)) if given]  # fmt: skip
    if used:
        raise UsageError(f"{used[0]} goes with --all (one customer: its id or name)")

    html = _wants_html(format, output)
    sink = Output(None if html else format, output, force, bom)
    if not html:
        _check_statement_format(sink)
    end_limit = as_of_date(as_of)
    sink.check(ledger)
    # One customer's records are read: of a big ledger kept as cells, only
    # theirs are made rows (`Ledger.view`).
    loaded = load_ledger(ledger)
    customer_id = find_customer(loaded, who, None)
    start, end = statement_period(loaded, customer_id, end_limit, period, from_, to)
    code = currency.strip().upper() if currency else None
    check_filters(loaded, None, code)
    view = loaded.view(end, customers=[customer_id], currency=code)
    result = statement_report.compute(view, settle(view), customer_id, start=start)
    if not html:
        # CSV has one header line for all sections: the activity lines only.
        fmt = sink.resolve_format()
        report = statement_report.to_report(result, open_items=fmt != "csv")
        sink.emit(report, loaded.files, loaded.settings)
        return
    from arledger.commands.statements import language_of
    from arledger.commands.statements import page as statement_page

    lang = language_of(loaded, customer_id, language)
    page = statement_page(loaded, result, lang, "html")
    if output is None:
        typer.echo(page, nl=False)
        return
    from arledger.fileio import write_output

    write_output(output, page, force=force, protected=loaded.files)
    if sys.stderr.isatty():
        stderr(f"arledger: wrote {output}")


# ---------------------------------------------------------------- helpers


def _wants_html(fmt: str | None, output: Path | None) -> bool:
    if fmt is not None:
        return fmt == "html"
    return output is not None and output.suffix.lower() in HTML_SUFFIXES


def _check_statement_format(sink: Output) -> None:
    """The shared formats' check, with html named among the choices."""
    sink.refuse_directory()
    try:
        sink.resolve_format()
    except UsageError:
        known = "table, csv, json, md, xlsx, html"
        if sink.format is not None:
            raise UsageError(
                f"--format: {sink.format!r} is not one of {known}"
            ) from None
        name = sink.output.name if sink.output is not None else ""
        raise UsageError(
            f"cannot tell the format from {name!r}; give --format ({known})"
        ) from None


def statement_period(
    ledger: Any,
    customer: str,
    as_of: date,
    period: str | None,
    start_text: str | None,
    end_text: str | None,
) -> tuple[date, date]:
    """The statement's first and last day.

    Default: the calendar month of as-of, up to as-of (a month-end statement).
    `--period all` starts at the customer's first record. The last day is never
    after as-of: records after it do not exist yet.
    """
    from arledger.dates import DateError, month_of, parse_date, parse_period

    if period is not None and (start_text is not None or end_text is not None):
        raise UsageError("give either --period or --from/--to, not both")
    try:
        if period is not None and period.strip().lower() == "all":
            start, end = _first_record(ledger, customer, as_of), as_of
        elif period is not None:
            span = parse_period(period)
            start, end = span.start, span.end
        else:
            start = (
                parse_date(start_text)
                if start_text is not None
                else month_of(as_of).start
            )
            end = parse_date(end_text) if end_text is not None else as_of
    except DateError as exc:
        option_name = "--period" if period is not None else "--from/--to"
        raise UsageError(f"{option_name}: {exc}") from None
    end = min(end, as_of)
    if start > end:
        raise UsageError(
            f"the statement would start on {start.isoformat()}, after its last day "
            f"{end.isoformat()} (--as-of {as_of.isoformat()})"
        )
    return start, end


def _first_record(ledger: Any, customer: str, as_of: date) -> date:
    view = ledger.view(as_of, customers=[customer])
    days = [r.date for r in (*view.invoices, *view.payments, *view.adjustments)]
    return min(days) if days else as_of


def register(app: typer.Typer) -> None:
    app.command()(forecast)
    app.command()(statement)
