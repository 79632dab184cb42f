"""What `--fail-on` looks for: findings that should make a cron job exit 1.

`overdue`, `hold`, `broken-promise`, `broken-plan` and `limitation` fire on
what is there today; the `new-` forms of all but the last fire only on what was
not there at the last run, as remembered in a state file (the caller reads and
writes it), so that a quiet day sends no mail.

Pure: a view and its settlement in, findings and messages out; `limitation`
alone reads the sent log (letters renew a limitation period).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arledger.ledger import LedgerView
from arledger.settle import Item, Settlement

if TYPE_CHECKING:
    from arledger.reports.limitation import Limitation

KINDS = ("overdue", "hold", "broken-promise", "broken-plan", "limitation")
# How many findings a message names before it says "and N more".
NAMED = 10


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found: `key` is what a state file remembers between runs (the
    same thing has the same key tomorrow), `text` how a message names it."""

    key: str
    customer: str
    text: str


def detect(
    view: LedgerView, settlement: Settlement, kinds: Collection[str]
) -> dict[str, tuple[Finding, ...]]:
    """What each kind finds, sorted by key.

    Args:
        kinds: any of "overdue" (an open item past its due date: its currency,
            invoice and instalment), "hold" (a customer on credit hold, per
            currency), "broken-promise" (a promise to pay whose date passed
            unpaid: its customer, the day it was made and the day promised),
            "broken-plan" (a collection plan with an instalment missed:
            the plan and the missed instalment's number),
            and "limitation" (an open item past or within 90 days of its
            limitation date, SPEC §11: its currency, invoice and instalment).
    """
    found: dict[str, list[Finding]] = {}
    if "overdue" in kinds:
        found["overdue"] = [
            _of_item(i) for i in settlement.items if i.open > 0 and i.due < view.as_of
        ]
    if "hold" in kinds:
        from arledger.reports import aging

        result = aging.compute(view, settlement)
        found["hold"] = [
            Finding(f"{s.currency} {r.customer}", r.customer, r.customer)
            for s in result.sections
            for r in s.customers
            if r.hold
        ]
    if "broken-promise" in kinds:
        from arledger.promises import promises

        found["broken-promise"] = [
            Finding(
                f"{p.customer} {p.made.isoformat()} {p.due.isoformat()}",
                p.customer,
                f"{p.customer} (promised for {p.due.isoformat()})",
            )
            for p in promises(view, settlement)
            if p.status == "broken"
        ]
    if "broken-plan" in kinds:
        from arledger.plans import progress

        found["broken-plan"] = [
            Finding(
                f"{p.id} {i.number}",
                p.customer,
                f"{p.customer} (plan {p.id}, {i.due.isoformat()})",
            )
            for p in progress(view, settlement)
            for i in p.missed
        ]
    if "limitation" in kinds:
        # SPEC §11: what `arledger limitation` lists by default. Letters renew,
        # so the sent log is read here (the one reader, mail.read_log).
        from arledger import mail
        from arledger.reports import limitation

        sent = mail.read_log(mail.log_path(view.ledger.root))
        found["limitation"] = [
            _of_item(r, f" {r.limitation_date.isoformat()}")
            for rows in limitation.compute(view, settlement, sent).values()
            for r in rows
        ]
    return {
        kind: tuple(sorted({f.key: f for f in items}.values(), key=lambda f: f.key))
        for kind, items in found.items()
    }


def _of_item(item: Item | Limitation, after: str = "") -> Finding:
    """The finding of one open item (an invoice, or one of its instalments):
    the same item has the same key whatever found it."""
    instalment = item.instalment
    return Finding(
        f"{item.currency} {item.invoice}" + (f"#{instalment}" if instalment else ""),
        item.customer,
        f"{item.customer} {item.invoice}"
        + (f" (instalment {instalment})" if instalment else "")
        + after,
    )


def message(kind: str, items: tuple[Finding, ...]) -> str:
    """`3 overdue items (2 customers)`, `2 on credit hold: A, B`, ..."""
    customers = sorted({f.customer for f in items})
    if kind == "overdue":
        return (
            f"{_count(len(items), 'overdue item')} "
            f"({_count(len(customers), 'customer')})"
        )
    if kind == "hold":
        return f"{len(customers)} on credit hold: {', '.join(customers)}"
    if kind == "broken-plan":
        return f"broken collection plan: {_names(items)}"
    if kind == "limitation":
        return (
            f"{_count(len(items), 'item')} past or near their limitation date: "
            f"{_names(items)}"
        )
    return f"broken promise to pay: {', '.join(customers)}"


def news(
    found: Mapping[str, tuple[Finding, ...]],
    before: Mapping[str, Collection[str]] | None,
    since: str | None,
) -> list[str]:
    """Messages for what is found now and was not at the last run.

    Args:
        found: this run's findings per kind (`detect`).
        before: the keys the last run found per kind; None when there was no
            last run (then everything found is new); a kind it lacks is new too.
        since: the last run's as-of date, for the message.
    """
    when = f"since the last run ({since})" if since else "(no earlier run)"
    messages = []
    for kind, items in found.items():
        known = set((before or {}).get(kind, ()))
        fresh = tuple(f for f in items if f.key not in known)
        if not fresh:
            continue
        if kind == "overdue":
            what = f"newly overdue {when}: {_count(len(fresh), 'item')}"
        elif kind == "hold":
            what = f"newly on credit hold {when}"
        elif kind == "broken-plan":
            what = f"newly missed plan instalment {when}"
        else:
            what = f"newly broken promise to pay {when}"
        messages.append(f"{what}: {_names(fresh)}")
    return messages


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _names(items: tuple[Finding, ...]) -> str:
    named = ", ".join(dict.fromkeys(f.text for f in items[:NAMED]))
    more = len(items) - NAMED
    return named + (f" and {more} more" if more > 0 else "")
