"""Bad-debt allowance (坏账准备, SPEC §8): open items × a rate per aging bucket.

Pure: a view and its settlement in (and, for `--compare-to`, the same at an
earlier date), typed result out. The bucket of an item is the aging's own
(`aging.bucket_index`), so the allowance and the aging agree on every item.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from arledger.errors import ArledgerError
from arledger.ledger import LedgerView
from arledger.money import ZERO, round_charge
from arledger.report import Column, Report, Row, Section, every_currency
from arledger.reports.aging import bucket_index, bucket_labels, item_days
from arledger.settle import Settlement


class RatesDoNotFit(ArledgerError):
    """The allowance rates do not name the ledger's aging buckets."""


@dataclass(frozen=True, slots=True)
class Provision:
    """The allowance on a customer's open items in one bucket at one rate.

    A customer's items in a bucket share a row; its disputed items there take
    the disputed rate (when the settings give one), so they have a row of
    their own, and every printed row is open × rate = allowance to the cent.
    """

    customer: str
    name: str
    bucket: int  # index into the labels
    disputed: bool  # at the disputed rate
    own_rate: bool  # at the customer's own `allowance_rate`
    rate: Decimal
    open: Decimal
    allowance: Decimal  # open × rate, rounded half-up to the minor unit


@dataclass(frozen=True, slots=True)
class CurrencyAllowance:
    currency: str
    provisions: tuple[Provision, ...]
    open: Decimal
    allowance: Decimal


@dataclass(frozen=True)
class AllowanceResult:
    as_of: date
    labels: tuple[str, ...]
    sections: tuple[CurrencyAllowance, ...]
    # `--compare-to`: the allowance at that earlier date, with the same rates.
    previous: AllowanceResult | None = None
    currencies: Callable[[], Collection[str]] = field(
        default=frozenset, compare=False, repr=False
    )

    def section(self, currency: str) -> CurrencyAllowance | None:
        return next((s for s in self.sections if s.currency == currency), None)


def rates_by_bucket(view: LedgerView) -> tuple[tuple[str, ...], tuple[Decimal, ...]]:
    """The aging's bucket labels and the allowance rate of each (SPEC §8).

    Raises:
        RatesDoNotFit: the settings give no rates and the buckets are not the
            default ones the default rates are for.
    """
    settings = view.settings
    labels = bucket_labels(settings.aging.buckets, settings.aging.basis)
    rates = settings.allowance_rates()
    missing = [label for label in labels if label not in rates]
    if missing:
        raise RatesDoNotFit(
            "allowance: the default rates are for the buckets "
            f"{', '.join(rates)}; this ledger's are {', '.join(labels)}: give "
            "`allowance: {rates: {BUCKET: RATE, ...}}` in arledger.yaml, one rate "
            "per bucket"
        )
    return labels, tuple(rates[label] for label in labels)


def compute(
    view: LedgerView,
    settlement: Settlement,
    previous: tuple[LedgerView, Settlement] | None = None,
) -> AllowanceResult:
    """The allowance on every open item of a settlement, by currency, customer,
    bucket and rate.

    An item's rate is its customer's `allowance_rate` when it has one (a
    specific provision replaces the matrix and the disputed rate); else, for a
    disputed item, `allowance.disputed` when given; else its bucket's rate.
    Unapplied cash is not provisioned. Each row's allowance is rounded half-up
    to the currency's minor unit once, and totals are the sums of the rows.

    Args:
        view: the view the settlement was made from (customers, settings).
        settlement: open items as of `view.as_of` (history not needed).
        previous: the view and settlement of an earlier date (`--compare-to`),
            with the same filters.

    Raises:
        RatesDoNotFit: see `rates_by_bucket`.
    """
    labels, rates = rates_by_bucket(view)
    settings = view.settings
    basis = settings.aging.basis
    limits = tuple(settings.aging.buckets)
    disputed_rate = settings.allowance.disputed
    customers = view.ledger.customers
    as_of = view.as_of

    # (currency, customer, bucket, disputed, own) -> (rate, open, exact allowance)
    found: dict[tuple[str, str, int, bool, bool], list[Decimal]] = {}
    for item in settlement.items:
        if item.open <= 0:
            continue
        bucket = bucket_index(item_days(item, as_of, basis), limits, basis)
        customer = customers.get(item.customer)
        own = customer.allowance_rate if customer is not None else None
        at_disputed = False
        if own is not None:
            rate = own
        elif item.disputed and disputed_rate is not None:
            rate, at_disputed = disputed_rate, True
        else:
            rate = rates[bucket]
        key = (item.currency, item.customer, bucket, at_disputed, own is not None)
        entry = found.get(key)
        if entry is None:
            entry = found[key] = [rate, ZERO, ZERO]
        entry[1] += item.open
        entry[2] += item.open * rate

    by_currency: dict[str, list[Provision]] = {}
    for (currency, customer_id, bucket, disputed, has_own), entry in found.items():
        rate, amount, exact = entry
        customer = customers.get(customer_id)
        by_currency.setdefault(currency, []).append(
            Provision(
                customer=customer_id,
                name=customer.name if customer is not None else customer_id,
                bucket=bucket,
                disputed=disputed,
                own_rate=has_own,
                rate=rate,
                open=amount,
                allowance=round_charge(exact, currency),
            )
        )
    sections = []
    for currency in sorted(by_currency):
        provisions = by_currency[currency]
        # Customers with the largest allowance first; a customer's rows in
        # bucket order, the disputed row after the other.
        per_customer: dict[str, Decimal] = {}
        for p in provisions:
            per_customer[p.customer] = per_customer.get(p.customer, ZERO) + p.allowance
        provisions.sort(
            key=lambda p: (-per_customer[p.customer], p.customer, p.bucket, p.disputed)
        )
        sections.append(
            CurrencyAllowance(
                currency,
                tuple(provisions),
                sum((p.open for p in provisions), ZERO),
                sum((p.allowance for p in provisions), ZERO),
            )
        )
    before = None
    if previous is not None:
        before = compute(*previous)
    return AllowanceResult(as_of, labels, tuple(sections), before, view.currencies)


# ---------------------------------------------------------------- to a report


def to_report(result: AllowanceResult) -> Report:
    """The allowance by customer and bucket; with a previous date, each row's
    allowance then and the change, and the section's totals likewise (the
    change is the period's provision expense, or a release when negative)."""
    since = result.previous
    title = f"Bad-debt allowance as of {result.as_of.isoformat()}"
    if since is not None:
        title += f", change since {since.as_of.isoformat()}"
    columns = [
        Column("customer", "Customer"),
        Column("name", "Name"),
        Column("bucket", "Bucket"),
        Column("rate_of", "Rate of"),
        Column("open", "Open", "money"),
        # The rate as written in the settings: exact, never rounded for show.
        Column("rate", "Rate"),
        Column("allowance", "Allowance", "money"),
    ]
    if since is not None:
        columns += [
            Column("previous", f"At {since.as_of.isoformat()}", "money"),
            Column("change", "Change", "money"),
        ]
    sections = []
    for current in every_currency(
        result.sections,
        result.currencies(),
        lambda currency: CurrencyAllowance(currency, (), ZERO, ZERO),
    ):
        sections.append(_section(result, current, tuple(columns), title))
    meta: Row = {"buckets": list(result.labels)}
    if since is not None:
        meta["compare_to"] = since.as_of
    return Report("allowance", title, result.as_of, tuple(sections), meta)


def _row(p: Provision, bucket: str, amount: Decimal, allowance: Decimal) -> Row:
    return {
        "customer": p.customer,
        "name": p.name,
        "bucket": bucket,
        "rate_of": _rate_of(p),
        "open": amount,
        "rate": p.rate,
        "allowance": allowance,
    }


def _rate_of(provision: Provision) -> str:
    if provision.own_rate:
        return "customer"
    return "disputed" if provision.disputed else "bucket"


def _section(
    result: AllowanceResult,
    current: CurrencyAllowance,
    columns: tuple[Column, ...],
    title: str,
) -> Section:
    labels = result.labels
    since = result.previous
    then: dict[tuple[str, int, bool, bool], Provision] = {}
    old = since.section(current.currency) if since is not None else None
    if old is not None:
        then = {
            (p.customer, p.bucket, p.disputed, p.own_rate): p for p in old.provisions
        }
    rows = []
    for p in current.provisions:
        row = _row(p, labels[p.bucket], p.open, p.allowance)
        if since is not None:
            before = then.pop((p.customer, p.bucket, p.disputed, p.own_rate), None)
            row["previous"] = before.allowance if before is not None else ZERO
            row["change"] = p.allowance - row["previous"]
        rows.append(row)
    if then:
        # Rows provisioned then and not now (paid, written off, aged into the
        # next bucket): their whole allowance is released. Each goes among its
        # customer's rows, in bucket order; customers provisioned only then
        # come last.
        for p in then.values():
            row = _row(p, labels[p.bucket], ZERO, ZERO)
            row["previous"] = p.allowance
            row["change"] = -p.allowance
            rows.append(row)
        order = {p.customer: n for n, p in enumerate(current.provisions)}
        rows.sort(
            key=lambda r: (
                order.get(r["customer"], len(order)),
                r["customer"],
                labels.index(r["bucket"]),
                r["rate_of"],
            )
        )
    totals: dict[str, Decimal] = {"open": current.open, "allowance": current.allowance}
    if since is not None:
        previous = old.allowance if old is not None else ZERO
        totals["previous"] = previous
        totals["change"] = current.allowance - previous
    return Section(
        current.currency,
        columns,
        tuple(rows),
        totals,
        title=f"{title} — {current.currency}",
    )


# ---------------------------------------------------------------- the entry


def adjusting_entry(
    result: AllowanceResult, fmt: str, expense: str, allowance: str, payee: str
) -> str:
    """The journal entry that brings the allowance account to the allowance, one
    transaction per currency whose allowance changed, dated as-of.

    An increase debits the expense and credits the allowance (the provision
    expense of the period); a decrease, the reverse (a release). Without a
    previous date the whole allowance is booked, as from nothing.

    Args:
        fmt: "hledger" or "beancount" (see `arledger.journal`).
        expense, allowance: the accounts (settings `allowance.accounts`).
        payee: who the entry is written by (the company's name).
    """
    from arledger.journal import transaction

    since = result.previous
    day = result.as_of
    currencies = {s.currency for s in result.sections}
    if since is not None:
        currencies |= {s.currency for s in since.sections}
    entries = []
    for currency in sorted(currencies):
        now = result.section(currency)
        before = since.section(currency) if since is not None else None
        amount = now.allowance if now is not None else ZERO
        previous = before.allowance if before is not None else ZERO
        change = amount - previous
        if not change:
            continue
        what = "Bad-debt allowance" if change > 0 else "Bad-debt allowance release"
        if since is None:
            narration = f"{what} as of {day.isoformat()}: {amount:f} {currency}"
        else:
            narration = (
                f"{what} {since.as_of.isoformat()} to {day.isoformat()}: "
                f"{previous:f} -> {amount:f} {currency}"
            )
        debit, credit = (expense, allowance) if change > 0 else (allowance, expense)
        entries.append(
            transaction(
                fmt,
                day,
                payee,
                narration,
                [(debit, abs(change), currency), (credit, -abs(change), currency)],
            )
        )
    if not entries:
        return f"; no change in the bad-debt allowance as of {day.isoformat()}\n"
    return "\n".join(entries)
