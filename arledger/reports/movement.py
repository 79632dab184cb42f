"""Aging movement (账龄变动, SPEC §12): how each customer's aging total got from
an earlier date D0 to the as-of date D, and what aged into older buckets.

Per customer and currency: total at D0 (the aging's, unapplied cash included)
+ invoiced − received − credited − written off = total at D. The flows are
read from the settlement: what was applied to items on a date in (D0, D], by
the kind of what paid them, plus the change in unapplied cash of each kind. On
a ledger without an owner filter that is exactly the records dated in the
period (a payment received is applied or left unapplied); with one, it is the
part of them that concerns that owner's items, so the identity still holds.
Discounts count as credited whether they come from adjustment records or from
the settlement engine (applications of kind `discount`), never as received.

Pure: two agings in, typed result out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arledger.ledger import LedgerView
from arledger.money import ZERO
from arledger.report import NET_AR, Column, Report, Section, every_currency
from arledger.reports import aging
from arledger.settle import Settlement

# Which flow each kind of application (or unapplied credit) is (SPEC §12).
FLOW_OF_KIND = {
    "payment": "received",
    "credit_note": "credited",
    "discount": "credited",
    "write_off": "written_off",
}
FLOWS = ("invoiced", "received", "credited", "written_off")


@dataclass(frozen=True, slots=True)
class CustomerMovement:
    customer: str
    name: str
    key_account: bool
    hold: bool  # on credit hold at D
    previous: Decimal  # aging total at D0
    invoiced: Decimal
    received: Decimal
    credited: Decimal  # credit notes and discounts
    written_off: Decimal
    buckets: tuple[Decimal, ...]  # at D
    unapplied: Decimal  # at D, negative
    total: Decimal  # at D
    # Per bucket: the open amount (at D) of items that were in a younger bucket
    # at D0; the first bucket's is always zero.
    moved_in: tuple[Decimal, ...]

    @property
    def change(self) -> Decimal:
        return self.total - self.previous


@dataclass(frozen=True, slots=True)
class CurrencyMovement:
    currency: str
    customers: tuple[CustomerMovement, ...]
    previous: Decimal
    invoiced: Decimal
    received: Decimal
    credited: Decimal
    written_off: Decimal
    buckets: tuple[Decimal, ...]
    unapplied: Decimal
    total: Decimal
    moved_in: tuple[Decimal, ...]


@dataclass(frozen=True)
class MovementResult:
    as_of: date
    since: date
    basis: aging.Basis
    labels: tuple[str, ...]
    sections: tuple[CurrencyMovement, ...]
    currencies: Callable[[], Collection[str]] = field(
        default=frozenset, compare=False, repr=False
    )


def compute(
    view: LedgerView,
    settlement: Settlement,
    previous_view: LedgerView,
    previous_settlement: Settlement,
    *,
    basis: aging.Basis | None = None,
    limits: tuple[int, ...] | None = None,
    now: aging.AgingResult | None = None,
) -> MovementResult:
    """The movement of every customer's aging from the previous view's date.

    Args:
        view, settlement: as of D; the settlement with its history (the flows
            are read from its applications).
        previous_view, previous_settlement: as of D0 < D, with the same
            filters (`view.on(D0)`); history not needed.
        basis, limits: as for `aging.compute` (default: settings).
        now: `aging.compute(view, settlement, basis=basis, limits=limits)`,
            when already made (the workbook's aging sheet).
    """
    if now is None:
        now = aging.compute(view, settlement, basis=basis, limits=limits)
    then = aging.compute(
        previous_view, previous_settlement, basis=now.basis, limits=now.limits
    )
    since, as_of = previous_view.as_of, view.as_of
    if since >= as_of:
        raise ValueError(f"compare-to date {since} is not before {as_of}")
    count = len(now.labels)

    # Flows per (currency, customer).
    flows: dict[tuple[str, str], dict[str, Decimal]] = {}

    def add(currency: str, customer: str, flow: str, amount: Decimal) -> None:
        account = flows.setdefault((currency, customer), dict.fromkeys(FLOWS, ZERO))
        account[flow] += amount

    for item in settlement.items:
        if since < item.date <= as_of:
            add(item.currency, item.customer, "invoiced", item.amount)
    for application in settlement.history_of():
        if since < application.date:
            flow = FLOW_OF_KIND[application.kind]
            add(application.currency, application.customer, flow, application.amount)
    # Cash and credit received in the period and not applied (yet) count too,
    # and what was unapplied at D0 and applied since is not counted twice.
    for credits, sign in ((settlement.credits, 1), (previous_settlement.credits, -1)):
        for credit in credits:
            flow = FLOW_OF_KIND[credit.kind]
            add(credit.currency, credit.customer, flow, sign * credit.amount)

    # Where each item open at D0 was then.
    was_in: dict[tuple[str, int | None], int] = {}
    previous: dict[tuple[str, str], Decimal] = {}
    for section in then.sections:
        for row in section.customers:
            previous[(section.currency, row.customer)] = row.total
            for aged in row.items:
                was_in[aged.item.key] = aged.bucket
    current = {
        (section.currency, row.customer): row
        for section in now.sections
        for row in section.customers
    }

    customers = view.ledger.customers
    zeros = (ZERO,) * count
    by_currency: dict[str, list[CustomerMovement]] = {}
    for key in current.keys() | previous.keys() | flows.keys():
        currency, customer_id = key
        closing = current.get(key)
        moved = [ZERO] * count
        if closing is not None:
            for aged in closing.items:
                before = was_in.get(aged.item.key)
                if before is not None and before < aged.bucket:
                    moved[aged.bucket] += aged.item.open
        in_period = flows.get(key) or dict.fromkeys(FLOWS, ZERO)
        record = customers.get(customer_id)
        by_currency.setdefault(currency, []).append(
            CustomerMovement(
                customer=customer_id,
                name=record.name if record is not None else customer_id,
                key_account=bool(record and record.key_account),
                hold=bool(closing and closing.hold),
                previous=previous.get(key, ZERO),
                invoiced=in_period["invoiced"],
                received=in_period["received"],
                credited=in_period["credited"],
                written_off=in_period["written_off"],
                buckets=closing.buckets if closing is not None else zeros,
                unapplied=closing.unapplied if closing is not None else ZERO,
                total=closing.total if closing is not None else ZERO,
                moved_in=tuple(moved),
            )
        )

    sections = []
    for currency in sorted(by_currency):
        # Who got worse first: the largest increase of the total.
        rows = sorted(by_currency[currency], key=lambda r: (-r.change, r.customer))

        def total(name: str, rows: list[CustomerMovement] = rows) -> Decimal:
            return sum((getattr(r, name) for r in rows), ZERO)

        def column(name: str, rows: list[CustomerMovement] = rows) -> tuple:
            return tuple(
                sum((getattr(r, name)[i] for r in rows), ZERO) for i in range(count)
            )

        sections.append(
            CurrencyMovement(
                currency=currency,
                customers=tuple(rows),
                previous=total("previous"),
                invoiced=total("invoiced"),
                received=total("received"),
                credited=total("credited"),
                written_off=total("written_off"),
                buckets=column("buckets"),
                unapplied=total("unapplied"),
                total=total("total"),
                moved_in=column("moved_in"),
            )
        )
    return MovementResult(
        as_of, since, now.basis, now.labels, tuple(sections), view.currencies
    )


# ---------------------------------------------------------------- to a report


def moved_in_key(label: str) -> str:
    """The JSON and CSV key of what moved into a bucket: `moved_in:31-60`."""
    return f"moved_in:{label}"


def to_report(result: MovementResult) -> Report:
    """The movement as the aging report with the flows beside each row: the
    roll from the total at D0 to the total at D, the buckets at D, and what
    moved into each bucket from younger ones."""
    since, as_of = result.since.isoformat(), result.as_of.isoformat()
    title = f"Aging movement {since} to {as_of}"
    labels = result.labels
    tones = aging.bucket_tones(len(labels))
    columns = (
        Column("customer", "Customer"),
        Column("name", "Name"),
        Column("previous", f"At {since}", "money"),
        Column("invoiced", "+ Invoiced", "money"),
        Column("received", "− Received", "money"),
        Column("credited", "− Credited", "money"),
        Column("written_off", "− Written off", "money"),
        Column("total", f"= {NET_AR} {as_of}", "money"),
        Column("change", "Change", "money"),
        *(
            Column(label, label, "money", tone)
            for label, tone in zip(labels, tones, strict=True)
        ),
        Column("unapplied", "Unapplied", "money"),
        *(
            Column(moved_in_key(label), f"Into {label}", "money", tone)
            for label, tone in zip(labels[1:], tones[1:], strict=True)
        ),
        Column("key_account", "Key", "flag", "key", "★"),
        Column("hold", "Hold", "flag", "bad", "HOLD"),
    )

    def figures(r: CustomerMovement | CurrencyMovement) -> dict:
        return {
            "previous": r.previous,
            "invoiced": r.invoiced,
            "received": r.received,
            "credited": r.credited,
            "written_off": r.written_off,
            "total": r.total,
            "change": r.total - r.previous,
            **dict(zip(labels, r.buckets, strict=True)),
            "unapplied": r.unapplied,
            **{
                moved_in_key(label): amount
                for label, amount in zip(labels[1:], r.moved_in[1:], strict=True)
            },
        }

    zeros = (ZERO,) * len(labels)
    sections = tuple(
        Section(
            s.currency,
            columns,
            tuple(
                {
                    "customer": r.customer,
                    "name": r.name,
                    **figures(r),
                    "key_account": r.key_account,
                    "hold": r.hold,
                }
                for r in s.customers
            ),
            figures(s),
            title=f"{title} — {s.currency}",
        )
        for s in every_currency(
            result.sections,
            result.currencies(),
            lambda c: CurrencyMovement(
                c, (), ZERO, ZERO, ZERO, ZERO, ZERO, zeros, ZERO, ZERO, zeros
            ),
        )
    )
    meta = {
        "basis": result.basis,
        "buckets": list(labels),
        "compare_to": result.since,
    }
    return Report("aging", title, result.as_of, sections, meta)
