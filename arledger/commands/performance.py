"""`collection` and `risk`: how well we collect, and whom to stop shipping to."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from arledger.commands import common
from arledger.commands.common import (
    AsOfOpt,
    BomOpt,
    CurrencyOpt,
    CustomerOpt,
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
    choice,
    exit_codes,
    option,
    parse_fail_on,
    run_report,
)
from arledger.errors import UsageError

if TYPE_CHECKING:
    from arledger.dates import Period
    from arledger.reports.collection import By

BY = ("customer", "owner", "month")  # arledger.reports.collection.BY


def parse_by(text: str | None) -> By | None:
    """`--by customer|owner|month`."""
    return None if text is None else cast("By", choice("--by", text, BY))


def _option_date(name: str, text: str) -> date:
    from arledger.dates import DateError, parse_date

    try:
        return parse_date(text)
    except DateError as exc:
        raise UsageError(f"{name}: {exc}") from None


def resolve_period(
    period: str | None, start: str | None, end: str | None, as_of: str | None
) -> tuple[Period, date]:
    """The period of `collection` and the as-of date of its report.

    `--period` or `--from`/`--to` (not both); default the month of --as-of up to
    it. A period is cut at --as-of; without --as-of, a past period is reported
    as of its last day.
    """
    from arledger.dates import DateError, Period, month_of, parse_period

    if period is not None and (start is not None or end is not None):
        raise UsageError("give --period or --from/--to, not both")
    if period is not None:
        try:
            span = parse_period(period)
        except DateError as exc:
            raise UsageError(f"--period: {exc}") from None
    elif start is not None or end is not None:
        last = _option_date("--to", end) if end is not None else None
        if start is not None:
            first = _option_date("--from", start)
        else:
            first = month_of(last).start  # type: ignore[arg-type]
        if last is not None and first > last:
            raise UsageError(f"--from {first} is after --to {last}")
        span = Period(first, last or date.max, "")
    else:
        span = None
    if as_of is not None or span is None:
        report_date = as_of_date(as_of)
    else:
        report_date = min(span.end, common.today())
    if span is None:
        span = month_of(report_date)
    if span.start > report_date:
        raise UsageError(
            f"the period starts on {span.start}, after the as-of date {report_date}"
        )
    # Records after the as-of date do not exist (SPEC §2): the period stops there.
    end_day = min(span.end, report_date)
    label = span.label or f"{span.start.isoformat()}..{end_day.isoformat()}"
    span = Period(span.start, end_day, label)
    return span, report_date


def parse_target(text: str | None) -> Decimal | None:
    """`0.95` or `95%`: a collection rate between 0 and 1."""
    if text is None:
        return None
    value = text.strip()
    try:
        target = Decimal(value[:-1]) / 100 if value.endswith("%") else Decimal(value)
    except InvalidOperation:
        target = None
    if target is None or not target.is_finite() or not 0 <= target <= 1:
        raise UsageError(f"--target: {text!r} is not a rate: write 0.95 or 95%")
    return target


@exit_codes
def collection(
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
            help="A month (2026-10), quarter (2026-Q3) or year (2026). "
            "Default: the month of --as-of, up to it.",
        ),
    ] = None,
    start: FromOpt = None,
    end: ToOpt = None,
    by: Annotated[
        str | None,
        option(
            "--by",
            metavar="WHAT",
            help="Rows per customer, owner (salesperson) or month (a trend).",
        ),
    ] = None,
    target: Annotated[
        str | None,
        option(
            "--target",
            metavar="RATE",
            help="Mark rows whose collection rate is below this (0.95 or 95%).",
        ),
    ] = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = None,
    fail_on: FailOnOpt = None,
    state: StateOpt = None,
) -> None:
    """Collection performance (回款): roll-forward, collection rate, DSO, CEI."""
    sink = Output(format, output, force, bom)
    sink.resolve_format()
    alerts = parse_fail_on(fail_on, state, ledger)
    breakdown = parse_by(by)
    rate = parse_target(target)
    span, report_date = resolve_period(period, start, end, as_of)

    def build(view: Any, settlement: Any) -> Any:
        from arledger.reports import collection as collection_report  # past the cache

        result = collection_report.compute(
            view, settlement, span, by=breakdown, target=rate
        )
        return collection_report.to_report(result)

    # The applications and the open items make the roll-forward; the items
    # paid in full are read only to group what was applied to them by
    # customer or owner.
    run_report(sink, alerts, ledger, report_date.isoformat(), customer, owner,
               currency, build, ctx, paid=breakdown in ("customer", "owner"),
               key_accounts=key_accounts)  # fmt: skip


@exit_codes
def risk(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    key_accounts: KeyAccountsOpt = False,
    currency: CurrencyOpt = None,
    holds: Annotated[
        bool,
        typer.Option(
            "--holds", help="Only customers on credit hold (the stop-shipping list)."
        ),
    ] = False,
    detail: Annotated[
        bool,
        typer.Option(
            "--detail",
            help="Show the computed grade's points per factor (always in JSON as "
            "points_by_factor).",
        ),
    ] = False,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    bom: BomOpt = None,
    fail_on: FailOnOpt = None,
    state: StateOpt = None,
) -> None:
    """Credit risk: exposure vs limit, holds (停止发货), computed grade A–D."""
    sink = Output(format, output, force, bom)
    sink.resolve_format()
    alerts = parse_fail_on(fail_on, state, ledger)

    def build(view: Any, settlement: Any) -> Any:
        from arledger.reports import risk as risk_report  # past the cache

        result = risk_report.compute(view, settlement, holds_only=holds)
        return risk_report.to_report(result, detail=detail)

    # Payment behaviour and promises are read from the applications; of the
    # items paid in full, only their accounts, which the settlement keeps.
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
    """Add `collection` and `risk` to the app."""
    app.command()(collection)
    app.command()(risk)
