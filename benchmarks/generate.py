"""Seeded generator of realistic arledger ledgers (SPEC §1) for the benchmarks.

Writes a ledger directory in the YAML or CSV variant, the way a real user keeps
one: `customers`, `invoices/YEAR`, `payments/YEAR`, `adjustments`, `contacts`,
and optionally an equivalent hledger journal. The same seed and size give the
same economic events whatever the format, so YAML, CSV and journal timings
compare like with like. Generated data is never committed: write it to a temp
dir or under `benchmarks/data/` (git-ignored).

The ledger it draws:
- about 20 customers per 1000 invoices (at most 20 000), in USD and EUR, with
  terms of 15-60 days and a Zipf (Pareto-like) volume: at 1M invoices the
  biggest customer has over 100k of them;
- invoices over two years (2025-2026, weekdays), lognormal amounts in exact
  cents, some with an explicit due date, some with an instalment schedule
  (预付款/进度款/尾款), a few disputed;
- about as many payments as invoices, most of them late-ish: full payments,
  partial payments, split allocations (`INV-1=500.00;INV-2=700.00`), payments
  on account (no invoice named), overpayments, prepayments dated before their
  invoice; credit notes, early-payment discounts and write-offs (坏账核销);
  payments that would fall after 2026-12-31 have not happened yet, so recent
  invoices are open at the as-of date 2027-01-01;
- a small collection log with promises to pay (承诺付款).

Usage:
    python benchmarks/generate.py --invoices 100000 --format csv --seed 1 OUTDIR
    python benchmarks/generate.py --invoices 1m --journal OUTDIR.journal OUTDIR
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import json
import math
import random
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import NamedTuple

# Bump when the events drawn for a given seed and size, or the manifest's fields,
# change: run.py keys its cache of generated ledgers on it.
GENERATOR_VERSION = 2

FIRST_DAY = date(2025, 1, 1).toordinal()
LAST_DAY = date(2026, 12, 31).toordinal()
AS_OF = "2027-01-01"  # the day after the last record: what the benchmarks use

CUSTOMERS_PER_INVOICE = 20 / 1000
MAX_CUSTOMERS = 20_000
ZIPF_EXPONENT = 1.05  # the top customer gets ~12% of 1M invoices at 20k customers
EUR_SHARE = 0.2
TERMS = (15, 30, 30, 30, 45, 60)
EXPLICIT_DUE_SHARE = 0.25
SCHEDULE_SHARE = 0.02
DISPUTED_SHARE_OF_OPEN = 0.2
DEFAULT_OPEN_SHARE = 0.027  # invoices never settled (unpaid or partly paid)

# What happens to an invoice that gets settled, with its weight (SPEC §1, §2).
FATES = (
    ("full", 0.80),  # one payment naming the invoice
    ("partial", 0.06),  # a partial payment, later the rest
    ("split", 0.05),  # one payment with allocations over 2-4 invoices
    ("on_account", 0.03),  # a payment naming no invoice (applied oldest first)
    ("overpaid", 0.01),  # allocates the invoice amount, pays a bit more
    ("prepaid", 0.005),  # paid before the invoice date
    ("discount", 0.01),  # 2% early-payment discount, payment of the rest
    ("credit_note", 0.005),  # goods returned, payment of the rest
    ("write_off", 0.008),  # a partial payment, the rest written off later
)

PRODUCTS = (
    "Corrugated boxes 18x12x12 (bundle of 25)",
    "Stretch film 18in x 1500ft",
    "Hand pallet truck 2500 kg",
    "Thermal labels 4x6 (case of 20 rolls)",
    "Nitrile gloves, size L (case of 1000)",
    "Void fill paper (carton)",
    "Boltless shelving unit, 5 tier",
    "Safety glasses, clear (box of 12)",
    "Packing tape 2in (case of 36)",
    "Steel strapping kit",
    "Hi-vis vest, class 2",
    "Wooden pallet 48x40",
    "Bubble wrap roll 24in",
    "Label printer ribbon",
    "Industrial floor cleaner 5 gal",
)
NAME_WORDS = (
    "Northwind", "Harbor", "Lakeside", "Meridian", "Cascade", "Pinnacle",
    "Redwood", "Summit", "Bluewater", "Ironbridge", "Silverline", "Granite",
    "Oakmont", "Riverside", "Westgate", "Eastfield", "Brightstar", "Copperleaf",
    "Huadong", "Jinling", "Rheinland", "Nordstern", "Alpen", "Baltic",
)  # fmt: skip
NAME_TRADES = ("Supply", "Trading", "Logistics", "Distribution", "Retail", "Stores")
USD_FORMS = ("LLC", "Inc.", "Corp.", "Co.")
EUR_FORMS = ("GmbH", "S.A.", "B.V.", "S.r.l.")
OWNERS = ("Dana Brooks", "Luis Ortega", "Mei Chen", "Anna Weber", "Tom Price")
METHODS = {"USD": ("ach", "wire", "check", "card"), "EUR": ("sepa", "wire")}
REFERENCE_PREFIX = {
    "ach": "ACH",
    "wire": "Wire",
    "check": "Check",
    "card": "Card auth",
    "sepa": "SEPA",
}
CHANNELS = ("phone", "email", "email", "letter", "visit")


class Customer(NamedTuple):
    id: str
    name: str
    email: str
    terms: int
    credit_limit: int  # cents; 0 = no limit
    grade: str
    owner: str
    currency: str
    language: str
    key_account: bool
    late_mean: float  # days late this customer usually pays
    size_mu: float  # log of its typical invoice amount in cents


class Invoice(NamedTuple):
    id: str
    customer: int  # index into customers
    date: int  # ordinal
    due: int | None  # explicit due date, else date + terms
    amount: int  # cents
    description: str
    po: str
    disputed: bool
    schedule: tuple[tuple[int, int], ...] | None  # (due ordinal, cents)


class Payment(NamedTuple):
    date: int
    customer: int
    amount: int
    invoice: str  # "" = none named
    allocations: tuple[tuple[str, int], ...] | None
    method: str


class Adjustment(NamedTuple):
    date: int
    customer: int
    amount: int
    kind: str
    invoice: str
    reason: str


class Contact(NamedTuple):
    date: int
    customer: int
    by: str
    channel: str
    note: str
    promise_date: int | None
    promise_amount: int | None


class GeneratedLedger(NamedTuple):
    customers: list[Customer]
    invoices: list[Invoice]
    payments: list[Payment]  # sorted by date; ids are PAY-NNNNNNN by position
    adjustments: list[Adjustment]  # sorted by date; ids ADJ-NNNNNN by position
    contacts: list[Contact]


# ---------------------------------------------------------------- formatting

_ISO_BASE = FIRST_DAY - 400
_ISO = [date.fromordinal(o).isoformat() for o in range(_ISO_BASE, LAST_DAY + 1200)]


def iso(ordinal: int) -> str:
    """ISO text of a date ordinal (precomputed for the generator's window)."""
    index = ordinal - _ISO_BASE
    if 0 <= index < len(_ISO):
        return _ISO[index]
    return date.fromordinal(ordinal).isoformat()


def money(cents: int) -> str:
    """Exact two-decimal text of an amount in cents: 123456 -> '1234.56'."""
    return f"{cents // 100}.{cents % 100:02d}"


def payment_id(index: int) -> str:
    return f"PAY-{index + 1:07d}"


def adjustment_id(index: int) -> str:
    return f"ADJ-{index + 1:06d}"


def parse_count(text: str) -> int:
    """'100000', '100k' or '1m' -> an int."""
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    return int(float(number) * scale)


# ---------------------------------------------------------------- drawing events


def make_customers(rng: random.Random, count: int) -> list[Customer]:
    """`count` customers: USD and EUR, terms 15-60, each with a lateness habit."""
    customers = []
    for n in range(1, count + 1):
        currency = "EUR" if rng.random() < EUR_SHARE else "USD"
        forms = EUR_FORMS if currency == "EUR" else USD_FORMS
        word = NAME_WORDS[n % len(NAME_WORDS)]
        name = f"{word} {rng.choice(NAME_TRADES)} {n:05d} {rng.choice(forms)}"
        limit = rng.choice((0, 1_000_000, 5_000_000, 25_000_000, 100_000_000))
        customers.append(
            Customer(
                id=f"C{n:05d}",
                name=name,
                email=f"ap@{word.lower()}{n:05d}.example",
                terms=rng.choice(TERMS),
                credit_limit=limit,
                grade=rng.choice("AABBBCD"),
                owner=rng.choice(OWNERS),
                currency=currency,
                language="zh" if word in ("Huadong", "Jinling") else "en",
                key_account=False,
                late_mean=min(60.0, max(-5.0, rng.gauss(10, 12))),
                size_mu=rng.gauss(math.log(150_000), 0.8),
            )
        )
    return customers


def zipf_cum_weights(count: int, rng: random.Random) -> list[float]:
    """Cumulative weights of a Zipf volume, ranks shuffled over the customers."""
    ranks = list(range(1, count + 1))
    rng.shuffle(ranks)
    return list(itertools.accumulate(1.0 / r**ZIPF_EXPONENT for r in ranks))


def invoice_dates(rng: random.Random, count: int) -> list[int]:
    """`count` sorted weekday ordinals over the two years."""
    span = LAST_DAY - FIRST_DAY + 1
    rnd = rng.random
    days = []
    for _ in range(count):
        day = FIRST_DAY + int(rnd() * span)
        weekday = (day - 1) % 7  # 5, 6 = Saturday, Sunday
        if weekday >= 5:
            day -= weekday - 4  # back to Friday
        days.append(day)
    days.sort()
    return days


class LedgerBuilder:
    """Draws one ledger's events; `build()` returns them.

    Amounts are integer cents and dates ordinals until they are written, so the
    ledger is exact by construction (instalments add up to the invoice).
    """

    def __init__(self, invoices: int, seed: int, open_share: float) -> None:
        self.rng = random.Random(seed)
        self.count = invoices
        self.open_share = open_share
        n_customers = max(
            2, min(MAX_CUSTOMERS, round(invoices * CUSTOMERS_PER_INVOICE))
        )
        self.customers = make_customers(self.rng, n_customers)
        self.invoices: list[Invoice] = []
        self.payments: list[Payment] = []
        self.adjustments: list[Adjustment] = []
        self.contacts: list[Contact] = []
        # customer -> (batch size, invoices waiting to be paid by one split payment)
        self._batches: dict[int, tuple[int, list[tuple[str, int, int]]]] = {}
        self._fate_names = [name for name, _ in FATES]
        self._fate_cum = list(itertools.accumulate(w for _, w in FATES))

    def build(self) -> GeneratedLedger:
        rng = self.rng
        cum = zipf_cum_weights(len(self.customers), rng)
        who = rng.choices(range(len(self.customers)), cum_weights=cum, k=self.count)
        dates = invoice_dates(rng, self.count)
        self._mark_key_accounts(who)
        year_start, year, seq = 0, 0, 0
        for customer, day in zip(who, dates, strict=True):
            if day >= year_start:
                year = date.fromordinal(day).year
                year_start = date(year + 1, 1, 1).toordinal()
                seq = 0
            seq += 1
            invoice = self._draw_invoice(f"INV-{year}-{seq:06d}", customer, day)
            self.invoices.append(self._settle(invoice))
        for customer in list(self._batches):
            self._flush_batch(customer)
        self._draw_extras()
        self.payments.sort(key=lambda p: p.date)
        self.adjustments.sort(key=lambda a: a.date)
        self.contacts.sort(key=lambda c: c.date)
        return GeneratedLedger(
            self.customers,
            self.invoices,
            self.payments,
            self.adjustments,
            self.contacts,
        )

    def _mark_key_accounts(self, who: list[int]) -> None:
        """The 20 customers with the most invoices are key accounts (大客户)."""
        volume: dict[int, int] = {}
        for customer in who:
            volume[customer] = volume.get(customer, 0) + 1
        for customer in sorted(volume, key=volume.__getitem__)[-20:]:
            self.customers[customer] = self.customers[customer]._replace(
                key_account=True, credit_limit=0
            )

    # -- one invoice

    def _draw_invoice(self, invoice_id: str, customer: int, day: int) -> Invoice:
        rng, rnd = self.rng, self.rng.random
        info = self.customers[customer]
        cents = int(rng.lognormvariate(info.size_mu, 0.9))
        cents = min(max(cents, 1_000), 50_000_000)
        qty = 1 + int(rnd() * 200)
        description = f"{qty} x {PRODUCTS[int(rnd() * len(PRODUCTS))]}"
        po = f"PO-{int(rnd() * 900_000) + 100_000}" if rnd() < 0.4 else ""
        due = schedule = None
        if rnd() < SCHEDULE_SHARE:
            schedule = self._schedule(day + info.terms, cents)
        elif rnd() < EXPLICIT_DUE_SHARE:
            due = day + TERMS[int(rnd() * len(TERMS))]
        return Invoice(
            invoice_id, customer, day, due, cents, description, po, False, schedule
        )

    def _schedule(self, first_due: int, cents: int) -> tuple[tuple[int, int], ...]:
        """2-4 monthly instalments adding up exactly to `cents`."""
        parts = 2 + int(self.rng.random() * 3)
        share = cents // parts
        amounts = [share] * (parts - 1) + [cents - share * (parts - 1)]
        return tuple((first_due + 30 * k, amount) for k, amount in enumerate(amounts))

    def _due(self, invoice: Invoice) -> int:
        if invoice.due is not None:
            return invoice.due
        return invoice.date + self.customers[invoice.customer].terms

    def _pay_date(self, invoice: Invoice, due: int, shift: float = 0.0) -> int:
        """When the customer pays an item due on `due`: late-ish, never before issue."""
        late = self.customers[invoice.customer].late_mean + self.rng.gauss(shift, 8)
        return max(invoice.date + 1, due + round(late))

    # -- what happens to it

    def _settle(self, invoice: Invoice) -> Invoice:
        """Draw the payments and adjustments of `invoice`; return it, maybe disputed."""
        r = self.rng.random()
        if r < self.open_share:
            return self._leave_open(invoice)
        if invoice.schedule:
            for due, cents in invoice.schedule:
                self._pay(
                    self._pay_date(invoice, due), invoice.customer, cents, invoice.id
                )
            return invoice
        r = (r - self.open_share) / (1.0 - self.open_share) * self._fate_cum[-1]
        fate = self._fate_names[bisect.bisect_right(self._fate_cum, r)]
        getattr(self, f"_fate_{fate}")(invoice)
        return invoice

    def _pay(
        self,
        day: int,
        customer: int,
        cents: int,
        named: str = "",
        allocations: tuple[tuple[str, int], ...] | None = None,
    ) -> None:
        """Record a payment unless it falls after the last day (not happened yet)."""
        if day > LAST_DAY or cents <= 0:
            return
        methods = METHODS[self.customers[customer].currency]
        method = methods[int(self.rng.random() * len(methods))]
        self.payments.append(Payment(day, customer, cents, named, allocations, method))

    def _adjust(
        self, day: int, invoice: Invoice, cents: int, kind: str, reason: str
    ) -> None:
        if day > LAST_DAY or cents <= 0:
            return
        self.adjustments.append(
            Adjustment(day, invoice.customer, cents, kind, invoice.id, reason)
        )

    def _fate_full(self, invoice: Invoice) -> None:
        day = self._pay_date(invoice, self._due(invoice))
        self._pay(day, invoice.customer, invoice.amount, invoice.id)

    def _fate_partial(self, invoice: Invoice) -> None:
        first = invoice.amount * (20 + int(self.rng.random() * 60)) // 100
        due = self._due(invoice)
        self._pay(
            self._pay_date(invoice, due, -10), invoice.customer, first, invoice.id
        )
        rest = invoice.amount - first
        self._pay(self._pay_date(invoice, due, 20), invoice.customer, rest, invoice.id)

    def _fate_split(self, invoice: Invoice) -> None:
        if invoice.customer not in self._batches:
            self._batches[invoice.customer] = (2 + int(self.rng.random() * 3), [])
        size, batch = self._batches[invoice.customer]
        day = self._pay_date(invoice, self._due(invoice))
        batch.append((invoice.id, invoice.amount, day))
        if len(batch) >= size:
            self._flush_batch(invoice.customer)

    def _flush_batch(self, customer: int) -> None:
        """One payment settling every invoice in the customer's batch."""
        _size, batch = self._batches.pop(customer)
        day = max(d for _, _, d in batch)
        total = sum(c for _, c, _ in batch)
        allocations = tuple((inv, c) for inv, c, _ in batch)
        self._pay(day, customer, total, allocations=allocations)

    def _fate_on_account(self, invoice: Invoice) -> None:
        day = self._pay_date(invoice, self._due(invoice))
        self._pay(day, invoice.customer, invoice.amount)

    def _fate_overpaid(self, invoice: Invoice) -> None:
        day = self._pay_date(invoice, self._due(invoice))
        extra = 100 + int(self.rng.random() * 5_000)
        allocations = ((invoice.id, invoice.amount),)
        self._pay(
            day, invoice.customer, invoice.amount + extra, allocations=allocations
        )

    def _fate_prepaid(self, invoice: Invoice) -> None:
        day = invoice.date - 1 - int(self.rng.random() * 10)
        self._pay(day, invoice.customer, invoice.amount, invoice.id)

    def _fate_discount(self, invoice: Invoice) -> None:
        discount = invoice.amount * 2 // 100
        day = invoice.date + 3 + int(self.rng.random() * 7)
        self._pay(day, invoice.customer, invoice.amount - discount, invoice.id)
        reason = "2% early-payment discount (2/10 net 30)"
        self._adjust(day, invoice, discount, "discount", reason)

    def _fate_credit_note(self, invoice: Invoice) -> None:
        credit = invoice.amount * (5 + int(self.rng.random() * 25)) // 100
        returned = invoice.date + 5 + int(self.rng.random() * 15)
        self._adjust(returned, invoice, credit, "credit_note", "goods returned (RMA)")
        day = self._pay_date(invoice, self._due(invoice))
        self._pay(day, invoice.customer, invoice.amount - credit, invoice.id)

    def _fate_write_off(self, invoice: Invoice) -> None:
        paid = invoice.amount * int(self.rng.random() * 50) // 100
        due = self._due(invoice)
        self._pay(self._pay_date(invoice, due), invoice.customer, paid, invoice.id)
        day = due + 180 + int(self.rng.random() * 120)
        reason = "customer insolvent; no recovery expected"
        self._adjust(day, invoice, invoice.amount - paid, "write_off", reason)

    def _leave_open(self, invoice: Invoice) -> Invoice:
        """Never settled: unpaid, or partly paid; some of these are disputed."""
        rnd = self.rng.random
        if rnd() < DISPUTED_SHARE_OF_OPEN:
            return invoice._replace(disputed=True)
        if rnd() < 0.4:
            first = invoice.schedule[0][1] if invoice.schedule else None
            part = first or invoice.amount * (10 + int(rnd() * 60)) // 100
            day = self._pay_date(invoice, self._due(invoice))
            self._pay(day, invoice.customer, part, invoice.id)
        return invoice

    # -- records not tied to one invoice

    def _draw_extras(self) -> None:
        """Credit notes on account and a collection log with promises to pay."""
        rng, rnd = self.rng, self.rng.random
        for _ in range(max(1, self.count // 1000)):
            invoice = self.invoices[int(rnd() * len(self.invoices))]
            cents = 500 + int(rnd() * 50_000)
            day = min(LAST_DAY, invoice.date + 7)
            rebate = Adjustment(
                day, invoice.customer, cents, "credit_note", "", "volume rebate"
            )
            self.adjustments.append(rebate)
        for _ in range(max(1, self.count // 500)):
            invoice = self.invoices[int(rnd() * len(self.invoices))]
            day = min(LAST_DAY, self._due(invoice) + 10 + int(rnd() * 20))
            promise = rnd() < 0.5
            self.contacts.append(
                Contact(
                    date=day,
                    customer=invoice.customer,
                    by=rng.choice(OWNERS),
                    channel=rng.choice(CHANNELS),
                    note=f"asked about {invoice.id}",
                    promise_date=day + 7 if promise else None,
                    promise_amount=invoice.amount if promise else None,
                )
            )


def generate(
    invoices: int, seed: int, open_share: float = DEFAULT_OPEN_SHARE
) -> GeneratedLedger:
    """Draw a ledger of `invoices` invoices; the same arguments give the same ledger."""
    return LedgerBuilder(invoices, seed, open_share).build()


# ---------------------------------------------------------------- rows

INVOICE_FIELDS = (
    "id",
    "customer",
    "date",
    "due",
    "amount",
    "currency",
    "description",
    "po",
    "disputed",
    "schedule",
)
PAYMENT_FIELDS = (
    "id",
    "customer",
    "date",
    "amount",
    "currency",
    "invoice",
    "allocations",
    "method",
    "reference",
)
ADJUSTMENT_FIELDS = (
    "id",
    "customer",
    "date",
    "amount",
    "kind",
    "invoice",
    "currency",
    "reason",
)
CUSTOMER_FIELDS = (
    "id",
    "name",
    "email",
    "terms",
    "credit_limit",
    "grade",
    "owner",
    "currency",
    "language",
    "key_account",
)
CONTACT_FIELDS = (
    "customer",
    "date",
    "by",
    "channel",
    "note",
    "promise_date",
    "promise_amount",
)


def customer_rows(ledger: GeneratedLedger) -> Iterator[tuple[str, ...]]:
    for c in ledger.customers:
        yield (
            c.id,
            c.name,
            c.email,
            str(c.terms),
            money(c.credit_limit) if c.credit_limit else "",
            c.grade,
            c.owner,
            c.currency,
            c.language,
            "true" if c.key_account else "",
        )


def invoice_rows(ledger: GeneratedLedger) -> Iterator[tuple[str, ...]]:
    """Invoice cells in INVOICE_FIELDS order; nested cells as `key=value;...`."""
    customers = ledger.customers
    for inv in ledger.invoices:
        c = customers[inv.customer]
        schedule = (
            ";".join(f"{iso(d)}={money(a)}" for d, a in inv.schedule)
            if inv.schedule
            else ""
        )
        yield (
            inv.id,
            c.id,
            iso(inv.date),
            iso(inv.due) if inv.due else "",
            money(inv.amount),
            c.currency,
            inv.description,
            inv.po,
            "true" if inv.disputed else "",
            schedule,
        )


def payment_rows(ledger: GeneratedLedger) -> Iterator[tuple[str, ...]]:
    customers = ledger.customers
    for n, p in enumerate(ledger.payments):
        c = customers[p.customer]
        allocations = (
            ";".join(f"{i}={money(a)}" for i, a in p.allocations)
            if p.allocations
            else ""
        )
        reference = f"{REFERENCE_PREFIX[p.method]} {7_000_000 + n * 7}"
        yield (
            payment_id(n),
            c.id,
            iso(p.date),
            money(p.amount),
            c.currency,
            p.invoice,
            allocations,
            p.method,
            reference,
        )


def adjustment_rows(ledger: GeneratedLedger) -> Iterator[tuple[str, ...]]:
    customers = ledger.customers
    for n, a in enumerate(ledger.adjustments):
        c = customers[a.customer]
        yield (
            adjustment_id(n),
            c.id,
            iso(a.date),
            money(a.amount),
            a.kind,
            a.invoice,
            c.currency,
            a.reason,
        )


def contact_rows(ledger: GeneratedLedger) -> Iterator[tuple[str, ...]]:
    customers = ledger.customers
    for k in ledger.contacts:
        yield (
            customers[k.customer].id,
            iso(k.date),
            k.by,
            k.channel,
            k.note,
            iso(k.promise_date) if k.promise_date else "",
            money(k.promise_amount) if k.promise_amount else "",
        )


def by_year(
    rows: Iterable[tuple[str, ...]],
) -> Iterator[tuple[str, list[tuple[str, ...]]]]:
    """Group date-sorted rows (ISO date in column 2) into (year, rows)."""
    for year, group in itertools.groupby(rows, key=lambda row: row[2][:4]):
        yield year, list(group)


# ---------------------------------------------------------------- writers

SETTINGS_YAML = """\
# Settings of a generated benchmark ledger (benchmarks/generate.py).
company:
  name: Benchmark Distribution Co.
  email: ar@benchmark.example
currency: USD
language: en
terms:
  default: 30
aging:
  basis: due
  buckets: [30, 60, 90, 120]
"""


def write_csv_file(
    path: Path, header: tuple[str, ...], rows: Iterable[tuple[str, ...]]
) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (our texts hold no control characters)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def yaml_records(
    header: tuple[str, ...], rows: Iterable[tuple[str, ...]]
) -> Iterator[str]:
    """Rows as YAML block mappings; nested CSV cells become nested YAML.

    Every scalar is quoted or plain text a YAML reader keeps as a string (ids,
    ISO dates, two-decimal amounts); empty cells are left out.
    """
    nested = {"allocations", "schedule"}
    quoted = {"name", "description", "reason", "note", "reference", "owner", "by"}
    for row in rows:
        lines = []
        for key, cell in zip(header, row, strict=True):
            if not cell:
                continue
            if key in nested:
                lines.append(f"  {key}:\n" + _yaml_nested(key, cell))
            elif key in quoted:
                lines.append(f"  {key}: {_quote(cell)}")
            else:
                lines.append(f"  {key}: {cell}")
        lines[0] = "- " + lines[0][2:]
        yield "\n".join(lines) + "\n\n"


def _yaml_nested(key: str, cell: str) -> str:
    pairs = [part.split("=") for part in cell.split(";")]
    if key == "schedule":
        return "".join(f"    - {{due: {d}, amount: {a}}}\n" for d, a in pairs).rstrip(
            "\n"
        )
    return "\n".join(f"    {k}: {v}" for k, v in pairs)


def write_yaml_file(
    path: Path, header: tuple[str, ...], rows: Iterable[tuple[str, ...]]
) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write("# generated by benchmarks/generate.py\n\n")
        f.writelines(yaml_records(header, rows))


def write_ledger(ledger: GeneratedLedger, outdir: Path, fmt: str) -> None:
    """Write the ledger directory in `fmt` (csv or yaml), split by year."""
    write = write_csv_file if fmt == "csv" else write_yaml_file
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "arledger.yaml").write_text(SETTINGS_YAML, encoding="utf-8")
    write(outdir / f"customers.{fmt}", CUSTOMER_FIELDS, customer_rows(ledger))
    for kind, header, rows in (
        ("invoices", INVOICE_FIELDS, invoice_rows(ledger)),
        ("payments", PAYMENT_FIELDS, payment_rows(ledger)),
    ):
        (outdir / kind).mkdir(exist_ok=True)
        for year, group in by_year(rows):
            write(outdir / kind / f"{year}.{fmt}", header, group)
    write(outdir / f"adjustments.{fmt}", ADJUSTMENT_FIELDS, adjustment_rows(ledger))
    write(outdir / f"contacts.{fmt}", CONTACT_FIELDS, contact_rows(ledger))


def journal_entries(ledger: GeneratedLedger) -> Iterator[str]:
    """The same events as hledger transactions: `hledger bal` does comparable work."""
    customers = ledger.customers
    for inv in ledger.invoices:
        c = customers[inv.customer]
        yield (
            f"{iso(inv.date)} * {inv.id}\n"
            f"    assets:receivable:{c.id}  {money(inv.amount)} {c.currency}\n"
            f"    revenue\n\n"
        )
    for n, p in enumerate(ledger.payments):
        c = customers[p.customer]
        yield (
            f"{iso(p.date)} * {payment_id(n)}\n"
            f"    assets:bank  {money(p.amount)} {c.currency}\n"
            f"    assets:receivable:{c.id}\n\n"
        )
    for n, a in enumerate(ledger.adjustments):
        c = customers[a.customer]
        yield (
            f"{iso(a.date)} * {adjustment_id(n)}\n"
            f"    expenses:{a.kind}  {money(a.amount)} {c.currency}\n"
            f"    assets:receivable:{c.id}\n\n"
        )


def write_journal(ledger: GeneratedLedger, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        f.write("; generated by benchmarks/generate.py\n\n")
        f.writelines(journal_entries(ledger))


def summary(ledger: GeneratedLedger) -> dict[str, int]:
    """Counts of what was drawn, for the manifest and the console."""
    volume: dict[int, int] = {}
    for inv in ledger.invoices:
        volume[inv.customer] = volume.get(inv.customer, 0) + 1
    return {
        "customers": len(ledger.customers),
        "invoices": len(ledger.invoices),
        "items": sum(len(i.schedule) if i.schedule else 1 for i in ledger.invoices),
        "payments": len(ledger.payments),
        "adjustments": len(ledger.adjustments),
        "contacts": len(ledger.contacts),
        "disputed": sum(1 for i in ledger.invoices if i.disputed),
        # `statement` is timed on the customer with the most invoices.
        "top_customer": ledger.customers[max(volume, key=volume.__getitem__)].id,
        "top_customer_invoices": max(volume.values()),
    }


# ---------------------------------------------------------------- command line

MANIFEST = ".benchmark.json"  # hidden: the loader skips dot files


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", type=Path, help="ledger directory to write")
    parser.add_argument(
        "--invoices",
        type=parse_count,
        default=10_000,
        help="number of invoices: 10000, 100k, 1m (default 10k)",
    )
    parser.add_argument("--format", choices=("csv", "yaml"), default="csv")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--open-share",
        type=float,
        default=DEFAULT_OPEN_SHARE,
        help="share of invoices never settled (1.0: all open; "
        f"default {DEFAULT_OPEN_SHARE})",
    )
    parser.add_argument(
        "--journal",
        type=Path,
        metavar="FILE",
        help="also write an equivalent hledger journal",
    )
    parser.add_argument(
        "--force", action="store_true", help="write into OUTDIR even if it is not empty"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.outdir.exists() and any(args.outdir.iterdir()) and not args.force:
        print(f"generate.py: {args.outdir} is not empty (use --force)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    ledger = generate(args.invoices, args.seed, args.open_share)
    drawn = time.perf_counter()
    write_ledger(ledger, args.outdir, args.format)
    if args.journal:
        write_journal(ledger, args.journal)
    done = time.perf_counter()
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "format": args.format,
        "seed": args.seed,
        "open_share": args.open_share,
        "as_of": AS_OF,
        **summary(ledger),
        "seconds": round(done - started, 2),
        "seconds_drawing": round(drawn - started, 2),
    }
    (args.outdir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    counts = ", ".join(f"{k} {v}" for k, v in summary(ledger).items())
    print(f"{args.outdir}: {counts} in {done - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
