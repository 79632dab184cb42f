"""The month-end workbook's data (`arledger export`): every report it shows,
computed from one view and one settlement.

`gather` is pure (view in, typed results out); `arledger.render.workbook.build`
lays the result out as xlsx. Aging, open items, overdue, risk and forecast are
as of the view's date; collection is the month of that date up to it, by owner;
the trend is the aging at each of the last twelve month ends, read back from
the same settlement (`reports.trend`); the allowance and the aging movement
compare with an earlier date; the worklist is `dunning --worklist`'s report.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from arledger.dates import Period, month_of

if TYPE_CHECKING:
    from arledger.ledger import LedgerView
    from arledger.mail import LogEntry
    from arledger.report import Report
    from arledger.reports.aging import AgingResult
    from arledger.reports.allowance import AllowanceResult
    from arledger.reports.collection import CollectionResult
    from arledger.reports.composition import CompositionResult
    from arledger.reports.forecast import ForecastResult
    from arledger.reports.movement import MovementResult
    from arledger.reports.overdue import OverdueResult
    from arledger.reports.risk import RiskResult
    from arledger.reports.trend import TrendResult
    from arledger.settle import Settlement

FORECAST_BY: Literal["week", "month"] = "week"  # the 13-week cash forecast
FORECAST_HORIZON = 13


@dataclass(frozen=True)
class WorkbookData:
    """Everything the workbook shows, computed once (see `gather`)."""

    as_of: date
    company: str | None
    filters: tuple[tuple[str, str], ...]  # ("customer", "ACME"), ("owner", ...)
    aging: AgingResult
    overdue: OverdueResult
    collection: CollectionResult
    risk: RiskResult
    forecast: ForecastResult
    trend: TrendResult
    composition: CompositionResult  # the Summary's figures and top overdue
    paper: str | None = None  # settings `paper`; None: by the workbook's language
    # Since the compare date (`gather`'s `compare_to`): the bad-debt allowance
    # (None when the settings' rates do not fit the buckets) and the aging
    # movement.
    allowance: AllowanceResult | None = None
    movement: MovementResult | None = None
    # `dunning --worklist`'s report (the day's calls and visits); None when no
    # dunning level is a task
    worklist: Report | None = None


def gather(
    view: LedgerView,
    compare_to: date | None = None,
    sent: Sequence[LogEntry] = (),
    settlement: Settlement | None = None,
) -> WorkbookData:
    """Compute every report of the workbook from one view.

    Aging, open items, overdue, risk and forecast are as of the view's date;
    collection is the month of that date up to it (SPEC §2, "Roll-forward"),
    broken down by owner; the trend is the aging at each of the last twelve
    month ends, read back from the same settlement (`reports.trend`). The
    allowance and the aging movement compare with `compare_to`, read back
    from it too.

    Args:
        view: the ledger as of the report date, with the command's filters.
        compare_to: an earlier date (default: the end of the month before the
            view's date).
        sent: the dunning sent log's entries, for the worklist (the day's
            tasks, as `dunning --worklist` lists them).
        settlement: `settle(view)` with its history, if already made.
    """
    from arledger.dates import previous_month_end
    from arledger.history import payment_history
    from arledger.promises import promises
    from arledger.reports import (
        aging,
        allowance,
        collection,
        composition,
        forecast,
        movement,
        overdue,
        risk,
    )
    from arledger.reports import trend as trend_report
    from arledger.settle import rewind_each, settle

    as_of = view.as_of
    # The currencies with records in the view: a walk over every record, which
    # the forecast's and the allowance's sheets both ask for; walked once.
    currencies = functools.cache(view.currencies)
    if settlement is None:
        settlement = settle(view)
    aged = aging.compute(view, settlement)
    month = month_of(as_of)
    period = Period(month.start, as_of, month.label)
    earlier = view.on(compare_to or previous_month_end(as_of))
    # The trend's month ends and the earlier date are read back from the one
    # settlement in one pass (`settle.rewind_each`; its credits keep their
    # kind, which the movement reads). An owner's view keeps only its items'
    # applications, which the unapplied cash needs: it settles each date anew.
    if view.owner is None and earlier.as_of < as_of:
        wanted = sorted({*trend_report.trend_dates(as_of), earlier.as_of} - {as_of})
        kept: dict[date, Settlement] = {}

        def read_back(whole: Settlement) -> Iterator[tuple[date, Settlement]]:
            """Each day read back, in order; the compare date's is kept (the
            others are let go once the trend has their totals)."""
            pasts = rewind_each(whole, view, wanted)
            for day, past in zip(wanted, pasts, strict=True):
                if day == earlier.as_of:
                    kept[day] = past
                yield day, past

        trend = trend_report.compute(
            view,
            settlement,
            basis=aged.basis,
            limits=aged.limits,
            read_back=read_back(settlement),
        )
        earlier_settlement = kept[earlier.as_of]
    else:
        trend = trend_report.compute(
            view, settlement, basis=aged.basis, limits=aged.limits
        )
        earlier_settlement = settle(earlier, history=False)
    filters: list[tuple[str, str]] = []
    if view.customers:
        filters.append(("customer", ", ".join(sorted(view.customers))))
    if view.owner:
        filters.append(("owner", view.owner))
    if view.currency:
        filters.append(("currency", view.currency))
    try:
        provision = allowance.compute(view, settlement, (earlier, earlier_settlement))
        provision = dataclasses.replace(provision, currencies=currencies)
    except allowance.RatesDoNotFit:
        provision = None  # `arledger allowance` says why
    # Each made once, read by several sheets: the promises (overdue, risk,
    # forecast), the follow-ups (overdue, risk), the payment history (risk,
    # forecast).
    promised = promises(view, settlement)
    follow = overdue.follow_ups(view, settlement, promised)
    late = overdue.compute(view, settlement, follow)
    paid = payment_history(settlement)
    return WorkbookData(
        as_of=as_of,
        company=view.settings.company.name,
        filters=tuple(filters),
        aging=aged,
        overdue=late,
        collection=collection.compute(view, settlement, period, by="owner"),
        risk=risk.compute(view, settlement, history=paid, follow=follow),
        forecast=dataclasses.replace(
            forecast.compute(
                view,
                settlement,
                by=FORECAST_BY,
                horizon=FORECAST_HORIZON,
                history=paid,
                aged=aged,
                found_promises=promised,
            ),
            currencies=currencies,
        ),
        trend=trend,
        composition=composition.compute(aged, late),
        paper=view.settings.paper,
        allowance=provision,
        movement=movement.compute(
            view,
            settlement,
            earlier,
            earlier_settlement,
            basis=aged.basis,
            limits=aged.limits,
            now=aged,
        ),
        worklist=_worklist(view, settlement, sent),
    )


def _worklist(
    view: LedgerView, settlement: Settlement, sent: Sequence[LogEntry]
) -> Report | None:
    """The `dunning --worklist` report, or None when no dunning level is a
    task (then nobody can be on it, and dunning is not worked out)."""
    if all(level.action == "letter" for level in view.settings.dunning.levels):
        return None
    from arledger.reports import dunning

    result = dunning.compute(view, settlement, sent=sent)
    return dunning.worklist(result, view, settlement)
