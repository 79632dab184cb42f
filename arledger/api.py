"""arledger as a library: load a ledger, take a view, build a report, render it.

The commands are a shell over these functions; a script can call them without
the command line:

    from datetime import date
    from arledger import api

    ledger = api.load("my-ledger")                  # LedgerInvalid: every problem
    view = api.view(ledger, date(2026, 10, 31), owner="Li Wei")
    print(api.render(api.aging(view), "json"))

Pure past `load`: no clock (the as-of date is an argument), no printing, no
files written. A view is settled once, however many reports are built from it.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Collection, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arledger.ledger import Ledger, LedgerView
    from arledger.render import Env
    from arledger.report import Report
    from arledger.reports.collection import By as CollectionBy
    from arledger.reports.collection import Period
    from arledger.settle import Settlement

__all__ = [
    "aging",
    "allowance",
    "collection",
    "composition",
    "confirmations",
    "dunning",
    "forecast",
    "interest",
    "limitation",
    "load",
    "movement",
    "overdue",
    "plans",
    "render",
    "risk",
    "settlement",
    "statement",
    "trend",
    "view",
    "workbook",
]


def load(path: str | os.PathLike[str] | None = None) -> Ledger:
    """The ledger at `path` (None: `$ARLEDGER_DIR`, else the current directory).

    Raises:
        LedgerNotFound: no ledger there.
        LedgerInvalid: the ledger has errors; `.errors` holds every one of them
            (warnings do not raise: see `arledger.loader.load` for those).
    """
    from arledger.errors import LedgerInvalid
    from arledger.loader import load as load_ledger

    ledger, errors = load_ledger(path)
    if any(not error.warning for error in errors):
        raise LedgerInvalid(errors)
    return ledger


def view(
    ledger: Ledger,
    as_of: date,
    *,
    customers: Collection[str] | None = None,
    owner: str | None = None,
    currency: str | None = None,
) -> LedgerView:
    """The ledger as of a date (later records do not exist yet), filtered once."""
    return ledger.view(as_of, customers=customers, owner=owner, currency=currency)


# Settlements by the id of their view, while the view lives (a view holds a set,
# so it cannot be a dictionary key itself).
_SETTLED: dict[int, tuple[weakref.ref[Any], Settlement]] = {}


def settlement(of: LedgerView) -> Settlement:
    """`settle(view)` with its history, made once per view (SPEC §2)."""
    found = _SETTLED.get(id(of))
    if found is not None and found[0]() is of:
        return found[1]
    from arledger.settle import settle

    settled = settle(of)
    key = id(of)
    _SETTLED[key] = (weakref.ref(of), settled)
    weakref.finalize(of, _SETTLED.pop, key, None)
    return settled


def aging(
    of: LedgerView,
    *,
    detail: bool = False,
    basis: str | None = None,
    limits: Sequence[int] | None = None,
) -> Report:
    """Aging by customer (账龄), or by open item with `detail`."""
    from arledger.reports import aging as report

    result = report.compute(
        of,
        settlement(of),
        basis=basis,  # type: ignore[arg-type]
        limits=limits,
        itemized=detail,
    )
    return report.to_report(result, detail=detail)


def overdue(of: LedgerView) -> Report:
    """Overdue items (逾期), worst first."""
    from arledger.reports import overdue as report

    return report.to_report(report.compute(of, settlement(of)))


def collection(
    of: LedgerView, period: Period, *, by: CollectionBy | None = None
) -> Report:
    """Collection rate (回款率), DSO, CEI and days to pay over `period`."""
    from arledger.reports import collection as report

    return report.to_report(report.compute(of, settlement(of), period, by=by))


def risk(of: LedgerView, *, holds_only: bool = False) -> Report:
    """Credit limits, holds (停止发货) and computed grades."""
    from arledger.reports import risk as report

    return report.to_report(report.compute(of, settlement(of), holds_only=holds_only))


def forecast(of: LedgerView, *, by: str = "week", detail: bool = False) -> Report:
    """Expected cash (回款预测) by week or month."""
    from arledger.reports import forecast as report

    result = report.compute(of, settlement(of), by=by)  # type: ignore[arg-type]
    return report.to_report(result, detail=detail)


def statement(of: LedgerView, customer: str, *, start: date) -> Report:
    """A customer's statement of account (对账单) from `start` to the view's date."""
    from arledger.reports import statement as report

    result = report.compute(of, settlement(of), customer, start=start)
    return report.to_report(result)


def dunning(of: LedgerView) -> Report:
    """Who gets which dunning letter (催款函) today: the summary."""
    from arledger.reports import dunning as report

    return report.to_report(report.compute(of, settlement(of)))


def interest(of: LedgerView) -> Report:
    """Late interest per item (逾期利息), day by day, as letters charge it."""
    from arledger.reports import interest as report

    return report.to_report(of, report.compute(of, settlement(of)))


def plans(of: LedgerView, period: Period, *, fmt: str = "table") -> Report:
    """Collection plans (回款计划): each instalment planned against collected,
    and the plan achievement rate per owner over `period` (SPEC §7), for
    rendering as `fmt`: the achievement is the `owners` key of each section in
    JSON, a section of its own in a table, Markdown or a workbook."""
    from arledger.reports import plans as report

    return report.to_report(report.compute(of, settlement(of), period), fmt)


def allowance(of: LedgerView, *, compare_to: date | None = None) -> Report:
    """The bad-debt allowance (坏账准备) by customer and bucket; with
    `compare_to`, the allowance then and the change (SPEC §8)."""
    from arledger.reports import allowance as report

    previous = None
    if compare_to is not None:
        earlier = of.on(compare_to)
        previous = (earlier, settlement(earlier))
    return report.to_report(report.compute(of, settlement(of), previous))


def movement(of: LedgerView, compare_to: date) -> Report:
    """The aging movement (账龄变动) from `compare_to` to the view's date: each
    customer's total then, + invoiced − received − credited − written off,
    = total now, and what moved into each bucket (SPEC §12)."""
    from arledger.reports import movement as report

    earlier = of.on(compare_to)
    result = report.compute(of, settlement(of), earlier, settlement(earlier))
    return report.to_report(result)


def confirmations(of: LedgerView, sent: Sequence[Any] = ()) -> Report:
    """The customers' answers to their statements (对账确认, SPEC §10);
    `sent`: the statement log's entries (`arledger.mail.read_statement_log`)."""
    from arledger.reports import confirmations as report

    return report.to_report(report.compute(of, sent))


def limitation(
    of: LedgerView, sent: Sequence[Any] = (), *, within: int | None = 90
) -> Report:
    """Open items whose limitation period (诉讼时效) has passed or ends within
    `within` days (None: all), SPEC §11; `sent`: the dunning sent log's entries
    (`arledger.mail.read_log`), whose letters renew."""
    from arledger.reports import limitation as report

    found = report.compute(of, settlement(of), sent, within)
    return report.to_report(of, found, within)


def trend(of: LedgerView, *, months: int = 12) -> Report:
    """Month-end aging (月末账龄) for the last `months` months to the view's date,
    read back from the view's one settlement."""
    from arledger.reports import trend as report

    return report.to_report(report.compute(of, settlement(of), months=months))


def composition(of: LedgerView) -> Report:
    """What the net AR is made of (not yet due, overdue, unapplied cash) and
    the customers with the most overdue."""
    from arledger.reports import aging as aged
    from arledger.reports import composition as report
    from arledger.reports import overdue as late

    settled = settlement(of)
    result = report.compute(aged.compute(of, settled), late.compute(of, settled))
    return report.to_report(result)


def workbook(
    of: LedgerView,
    *,
    language: str = "en",
    compare_to: date | None = None,
    sent: Sequence[Any] = (),
) -> bytes:
    """The month-end workbook (`arledger export`) as xlsx bytes.

    Args:
        language: "en" or "zh".
        compare_to: the allowance's and movement's earlier date (default: the
            end of the month before the view's date).
        sent: the dunning sent log's entries (`mail.read_log`), for the worklist.
    """
    from arledger.render.workbook import build
    from arledger.reports.workbook import gather

    data = gather(of, compare_to, sent=sent, settlement=settlement(of))
    return build(data, language)


def render(report: Report, fmt: str = "table", env: Env | None = None) -> str | bytes:
    """A report as text (table, csv, json, md) or bytes (xlsx)."""
    from arledger.render import render as render_report

    return render_report(report, fmt, env)
