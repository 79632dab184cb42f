#!/usr/bin/env python3
"""Generate the bundled example ledger, ``arledger/skeleton/`` and ``examples/demo/``.

The output is the ledger of Bayview Trading Co., a small US distributor of
packaging and warehouse supplies: 12 business customers (one billed in EUR, one
Chinese customer whose letters are in Chinese), about 150 invoices from May 2025
to October 2026 plus a few in November 2026, payments in the bulk CSV form, one
credit note, one write-off, one customer on early-payment terms (2/10 net 30,
one invoice paid within the window), a collection log with promises to pay, a
collection plan and answers to statements. ``arledger init`` copies
``arledger/skeleton/`` (package data, so it ships in wheels); ``examples/demo/``
is the same ledger as plain files in the repository, so that
``cp -r examples/demo mine`` works (a symlink would copy as a dangling link).
The script writes both; tests/test_demo.py holds them identical.
Rerun it after changing it and commit what it writes.

The script is deterministic (fixed seed, never reads the clock) and uses the
standard library only; it writes the YAML and CSV text itself. It replays the
ledger the way SPEC §2 says the engine does (explicit invoice/allocations first,
the rest to the oldest due item, leftover cash kept as unapplied credit) to check
that the data tells the intended story, and prints the expected aging at AS_OF.

Usage: python scripts/make_demo.py [OUTPUT_DIR]
       (default: arledger/skeleton and examples/demo)
"""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SEED = 20261031
FIRST_DAY = date(2025, 5, 1)  # first invoice date of the demo
AS_OF = date(2026, 10, 31)  # the month-end the story is told at
LAST_DAY = date(2026, 11, 20)  # a few records after AS_OF, so today's run differs
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BUCKETS = ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = (ROOT / "arledger" / "skeleton", ROOT / "examples" / "demo")
GENERATED = [
    "arledger.yaml",
    "customers.yaml",
    "invoices",
    "payments.csv",
    "adjustments.yaml",
    "contacts.yaml",
    "plans.yaml",
    "confirmations.yaml",
]

DANA, MARCO, LI = "Dana Brooks", "Marco Alvarez", "Li Wei"
AR_CLERK = "Jenny Cho"

# --------------------------------------------------------------------------
# Static data: the company and its customers
# --------------------------------------------------------------------------

SETTINGS_YAML = """\
# arledger settings of the demo ledger: who we are, base currency, aging buckets,
# dunning policy and credit hold (SPEC §1, arledger.yaml).
company:
  name: Bayview Trading Co.
  address: "1200 Embarcadero West, Suite 400, Oakland, CA 94607, USA"
  email: ar@bayviewtrading.example
  phone: "+1 510 555 0142"
  bank: |-
    Please pay by wire or ACH to:
    First Harbor Bank, 400 Broadway, Oakland, CA 94607
    Account name: Bayview Trading Co.
    Account no. 1234567890, ABA routing 123456789, SWIFT FHBKUS6S (demo details)
    Please quote the invoice number with your payment.
  zh:
    name: 湾景贸易有限公司（Bayview Trading Co.）
    address: 美国加利福尼亚州奥克兰市 Embarcadero West 1200号 400室，邮编 94607
    bank: |-
      请电汇或通过 ACH 付款至：
      开户行：First Harbor Bank（美国加州奥克兰 Broadway 400号）
      户名：Bayview Trading Co.
      账号：1234567890，ABA 路由号 123456789，SWIFT FHBKUS6S（演示信息）
      付款时请注明发票号。
currency: USD
language: en
terms:
  default: 30
aging:
  basis: due
  buckets: [30, 60, 90, 120]
dunning:
  levels:
    - {name: reminder, days: -3}
    - {name: first, days: 1}
    - {name: second, days: 15}
    - {name: final, days: 30}
    - {name: legal, days: 60}
  min_amount: 50
  interest_rate: 0
  fee: 0
credit:
  hold_days: 60
# Bad-debt allowance (坏账准备, SPEC §8): the default rate per aging bucket,
# and half of what a customer disputes, whatever its age.
allowance:
  disputed: 0.50
"""

# Written in this order, with these fields; absent keys are not written.
CUSTOMERS: list[dict] = [
    dict(
        id="ACME",
        name="Acme Industrial Supply, Inc.",
        contact="Karen Mills (Accounts Payable)",
        email="ap@acme-industrial.example",
        phone="+1 312 555 0188",
        address="2250 W Fulton St, Chicago, IL 60612, USA",
        terms=30,
        credit_limit=Decimal("250000.00"),
        grade="A",
        owner=DANA,
        key_account=True,
    ),
    dict(
        id="NORTHWIND",
        name="Northwind Distribution LLC",
        contact="Raj Patel (AP Manager)",
        email="payables@northwind-dist.example",
        phone="+1 614 555 0131",
        address="4800 Logistics Pkwy, Columbus, OH 43217, USA",
        terms=45,
        credit_limit=Decimal("200000.00"),
        grade="A",
        owner=MARCO,
        key_account=True,
    ),
    dict(
        id="HUADONG",
        name="上海华东贸易有限公司",
        contact="王经理（财务部）",
        email="finance@huadong-trading.example",
        phone="+86 21 5555 0123",
        address="中国上海市闵行区虹梅路1888号华东商务大厦12楼，邮编201103",
        terms=60,
        credit_limit=Decimal("300000.00"),
        grade="B",
        owner=LI,
        currency="USD",
        language="zh",
        key_account=True,
    ),
    dict(
        id="VDBERG",
        name="Van den Berg Groothandel B.V.",
        contact="Sanne de Vries (Crediteurenadministratie)",
        email="crediteuren@vandenberg-groothandel.example",
        phone="+31 10 555 0147",
        address="Waalhaven Zuidzijde 21, 3089 JH Rotterdam, Netherlands",
        terms=30,
        credit_limit=Decimal("60000.00"),
        grade="B",
        owner=MARCO,
        currency="EUR",
    ),
    dict(
        id="BLUESKY",
        name="Blue Sky Retail Group, Inc.",
        contact="Tom Alvarado (AP)",
        email="ap@blueskyretail.example",
        phone="+1 303 555 0164",
        address="1700 Lincoln St, Denver, CO 80203, USA",
        terms=30,
        credit_limit=Decimal("50000.00"),
        grade="B",
        owner=DANA,
    ),
    dict(
        id="CASCADE",
        name="Cascade Hardware & Supply Co.",
        contact="Beth Nguyen (Office Manager)",
        email="office@cascadehardware.example",
        phone="+1 503 555 0119",
        address="915 SE Hawthorne Blvd, Portland, OR 97214, USA",
        terms=15,
        credit_limit=Decimal("20000.00"),
        grade="B",
        owner=MARCO,
    ),
    dict(
        id="PINNACLE",
        name="Pinnacle Building Products Corp.",
        contact="Greg Holloway (Controller)",
        email="ap@pinnaclebp.example",
        phone="+1 602 555 0177",
        address="3300 E Broadway Rd, Phoenix, AZ 85040, USA",
        terms=30,
        credit_limit=Decimal("35000.00"),
        grade="C",
        owner=DANA,
    ),
    dict(
        id="REDWOOD",
        name="Redwood Office Interiors LLC",
        contact="Phil Sandoval (Owner)",
        email="accounts@redwoodinteriors.example",
        phone="+1 916 555 0102",
        address="1820 Q St, Sacramento, CA 95811, USA",
        terms=30,
        credit_limit=Decimal("25000.00"),
        grade="D",
        owner=LI,
        hold=True,
        # With outside counsel since September: provided for in full.
        allowance_rate=Decimal("1.00"),
    ),
    dict(
        id="SUMMIT",
        name="Summit Facility Services, Inc.",
        contact="Laura Kent (CFO)",
        email="ap@summitfacility.example",
        phone="+1 801 555 0155",
        address="255 S State St, Salt Lake City, UT 84111, USA",
        terms=30,
        credit_limit=Decimal("40000.00"),
        grade="C",
        owner=MARCO,
        dunning_block=dict(
            until=date(2026, 12, 15),
            reason="Payment plan agreed 2026-09-18: USD 5,000 at each month-end",
        ),
    ),
    dict(
        id="LAKESIDE",
        name="Lakeside Restaurant Supply Co.",
        contact="Mike Jorgensen (Owner)",
        email="mike@lakesiders.example",
        phone="+1 608 555 0126",
        address="402 E Washington Ave, Madison, WI 53703, USA",
        terms=30,
        credit_limit=Decimal("10000.00"),
        grade="D",
        owner=LI,
    ),
    dict(
        id="HARBOR",
        name="Harbor Marine Outfitters",
        contact="Ana Ruiz (Bookkeeper)",
        email="books@harbormarine.example",
        phone="+1 619 555 0190",
        address="2727 Shelter Island Dr, San Diego, CA 92106, USA",
        terms=20,
        grade="B",
        owner=LI,
    ),
    dict(
        id="MERIDIAN",
        name="Meridian Health Systems",
        contact="Supply Chain Finance",
        email="scfinance@meridianhealth.example",
        phone="+1 617 555 0133",
        address="75 Francis St, Boston, MA 02115, USA",
        terms=30,
        credit_limit=Decimal("75000.00"),
        grade="A",
        owner=DANA,
        # SPEC §9: "2/10 net 30"; it pays one invoice within the window
        discount=dict(percent=2, days=10),
    ),
]
CUSTOMER = {c["id"]: c for c in CUSTOMERS}


def currency_of(customer: str) -> str:
    """The currency of a customer's invoices (SPEC §1: customer's, else USD)."""
    return CUSTOMER[customer].get("currency", "USD")


# --------------------------------------------------------------------------
# How each customer buys and pays
# --------------------------------------------------------------------------

# Lateness mixes: (weight, fewest, most days after due); negative = early.
PROMPT = ((0.40, -8, 0), (0.45, 1, 10), (0.15, 5, 20))
NORMAL = ((0.20, -4, 0), (0.80, 5, 40))
SLOW = ((0.10, 0, 5), (0.90, 12, 45))
BAD = ((1.00, 35, 100),)


@dataclass(frozen=True)
class Profile:
    """Buying and paying habits of one customer."""

    first: date  # earliest invoice date
    last: date  # latest invoice date (up to AS_OF)
    gap: int  # mean days between invoices
    size: tuple[int, int]  # typical invoice amount, low and high
    lateness: tuple  # a lateness mix, see above
    methods: tuple[str, ...]  # payment methods used
    pays_on: str = "any"  # any | 10th+25th | thursday: its payment-run days
    partial: float = 0.0  # share of invoices paid in two parts
    no_remittance: float = 0.0  # share of payments sent without naming invoices
    stops_paying: date | None = None  # no ordinary payment after this date
    po_prefix: str = ""  # the customer's purchase-order numbering
    monthly_on: int = 0  # orders once a month around this day (else every ~gap days)


END = AS_OF
PROFILES: dict[str, Profile] = {
    "ACME": Profile(FIRST_DAY, END, 18, (6000, 28000), NORMAL, ("ach",),
                    pays_on="10th+25th", po_prefix="4500"),
    "NORTHWIND": Profile(FIRST_DAY, END, 21, (5000, 24000), NORMAL, ("ach",),
                         pays_on="thursday", po_prefix="NW-PO-"),
    "HUADONG": Profile(FIRST_DAY, END, 36, (15000, 60000), SLOW, ("wire",),
                       po_prefix="HD"),
    "VDBERG": Profile(date(2025, 9, 1), END, 30, (2500, 9000), NORMAL, ("wire",),
                      po_prefix="IO-", monthly_on=20),
    "BLUESKY": Profile(FIRST_DAY, END, 60, (2000, 10000), NORMAL, ("ach", "card"),
                       partial=0.2, no_remittance=0.4),
    "CASCADE": Profile(FIRST_DAY, END, 65, (1000, 5000), NORMAL, ("check",),
                       no_remittance=1.0),
    "PINNACLE": Profile(date(2025, 8, 1), END, 30, (6000, 15000), BAD,
                        ("check", "ach"), partial=0.35,
                        stops_paying=date(2026, 8, 31), monthly_on=5),
    "REDWOOD": Profile(date(2025, 6, 1), date(2026, 6, 15), 45, (3000, 9000), SLOW,
                       ("check",), stops_paying=date(2026, 3, 1)),
    "SUMMIT": Profile(FIRST_DAY, date(2026, 7, 31), 45, (2500, 6500), NORMAL,
                      ("ach",), partial=0.1, stops_paying=date(2026, 4, 30)),
    "LAKESIDE": Profile(FIRST_DAY, date(2025, 10, 15), 45, (900, 3500), NORMAL,
                        ("card", "check")),
    "HARBOR": Profile(date(2025, 7, 1), date(2026, 7, 31), 80, (1500, 9000), PROMPT,
                      ("wire",)),
    "MERIDIAN": Profile(FIRST_DAY, END, 65, (3000, 12000), PROMPT, ("ach",),
                        po_prefix="MHS-"),
}  # fmt: skip

# What Bayview sells: (item, unit price).
CATALOG = [
    ("Stretch film 500mm x 300m (roll)", Decimal("18.40")),
    ("Corrugated boxes 18x12x12 (bundle of 25)", Decimal("32.75")),
    ("Packing tape 48mm x 100m (case of 36)", Decimal("58.90")),
    ("Nitrile gloves, size L (case of 1000)", Decimal("64.50")),
    ("Safety glasses, clear (box of 12)", Decimal("41.20")),
    ("Bubble wrap 1200mm x 100m (roll)", Decimal("49.95")),
    ("Plastic pallet 1200x1000", Decimal("89.00")),
    ("Steel strapping 19mm (coil)", Decimal("112.60")),
    ("Thermal labels 4x6 (case of 20 rolls)", Decimal("76.80")),
    ("Hand pallet truck 2500 kg", Decimal("385.00")),
    ("Boltless shelving unit, 5 tier", Decimal("214.50")),
    ("Void fill paper (carton)", Decimal("27.35")),
]

# --------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of a sales order: quantity x catalogue item at a unit price."""

    qty: int
    item: str
    price: Decimal


@dataclass
class Invoice:
    customer: str
    date: date
    amount: Decimal
    description: str
    po: str | None = None
    due: date | None = None  # explicit due date; else date + customer's terms
    owner: str | None = None
    disputed: bool = False
    schedule: list[tuple[date, Decimal]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)  # not written; for the story
    id: str = ""

    @property
    def due_date(self) -> date:
        if self.schedule:
            return self.schedule[-1][0]
        if self.due:
            return self.due
        return self.date + timedelta(days=CUSTOMER[self.customer]["terms"])


@dataclass
class Payment:
    customer: str
    date: date
    amount: Decimal
    intent: list[tuple[Invoice, Decimal]]  # what the payment is meant to settle
    method: str
    reference: str = ""
    currency: str = ""  # written to the CSV; empty = the customer's
    may_omit_remittance: bool = False  # may name no invoice, if oldest-first agrees
    omit_remittance: bool = False  # decided by the replay
    id: str = ""

    @property
    def explicit(self) -> list[tuple[Invoice, Decimal]]:
        return [] if self.omit_remittance else self.intent


@dataclass
class Adjustment:
    customer: str
    date: date
    amount: Decimal
    kind: str
    invoice: Invoice
    reason: str
    id: str = ""


@dataclass
class Contact:
    customer: str
    date: date
    by: str
    channel: str
    note: str
    promise_date: date | None = None
    promise_amount: Decimal | None = None
    invoice: str | None = None  # the invoice a promise is about


@dataclass
class Confirmation:
    """A customer's answer to the September statement (对账确认, SPEC §10)."""

    customer: str
    date: date  # the statement's date
    currency: str | None
    balance: Decimal
    status: str
    note: str | None = None


@dataclass
class Demo:
    """Everything the generator produces, plus the facts the checks rely on."""

    invoices: list[Invoice]
    payments: list[Payment] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    confirmations: list[Confirmation] = field(default_factory=list)
    special: dict[str, Invoice] = field(default_factory=dict)
    overpayment: Payment | None = None
    plans: list[dict] = field(default_factory=list)


# --------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------


def days(n: int) -> timedelta:
    return timedelta(days=n)


def weekday_on_or_after(d: date) -> date:
    while d.weekday() >= 5:
        d += days(1)
    return d


def business_day(d: date, latest: date) -> date:
    """d moved off a weekend: forward, or back to Friday if that passes latest."""
    moved = weekday_on_or_after(d)
    if moved <= latest:
        return moved
    while d.weekday() >= 5:
        d -= days(1)
    return d


def next_run_day(d: date, pays_on: str) -> date:
    """The customer's first payment-run day on or after d."""
    if pays_on == "10th+25th":
        while d.day not in (10, 25):
            d += days(1)
    elif pays_on == "thursday":
        while d.weekday() != 3:
            d += days(1)
    return weekday_on_or_after(d)


def round_hundreds(x: Decimal) -> Decimal:
    return (x / 100).quantize(Decimal(1)) * 100


def draw_lateness(rng: random.Random, mix: tuple) -> int:
    r = rng.random()
    for weight, low, high in mix:
        if r < weight:
            return rng.randint(low, high)
        r -= weight
    return rng.randint(mix[-1][1], mix[-1][2])


def money(x: Decimal) -> str:
    return f"{x:.2f}"


# --------------------------------------------------------------------------
# Invoices
# --------------------------------------------------------------------------


def order_lines(rng: random.Random, size: tuple[int, int]) -> list[Line]:
    """A sales order of 1-3 catalogue lines worth about `size` in all."""
    target = Decimal(rng.triangular(size[0], size[1], size[0] * 1.3))
    products = rng.sample(CATALOG, rng.choice([1, 1, 2, 2, 3]))
    weights = [rng.uniform(1, 3) for _ in products]
    return [
        Line(max(1, int(target * Decimal(w / sum(weights)) / price)), item, price)
        for (item, price), w in zip(products, weights, strict=True)
    ]


def new_invoice(rng: random.Random, customer: str, d: date) -> Invoice:
    prof = PROFILES[customer]
    lines = order_lines(rng, prof.size)
    return Invoice(
        customer,
        d,
        sum((ln.qty * ln.price for ln in lines), ZERO).quantize(CENT),
        "; ".join(f"{ln.qty} x {ln.item}" for ln in lines),
        po=purchase_order(rng, prof.po_prefix, d),
        lines=lines,
    )


def purchase_order(rng: random.Random, prefix: str, d: date) -> str | None:
    if prefix == "4500":
        return f"4500{rng.randint(100000, 999999)}"
    if prefix == "HD":
        return f"HD{d.year}-{rng.randint(100, 999)}"
    if prefix:
        return f"{prefix}{rng.randint(10000, 99999)}"
    return None


def invoice_dates(rng: random.Random, prof: Profile) -> list[date]:
    if prof.monthly_on:
        return monthly_dates(rng, prof)
    out = []
    d = prof.first + days(rng.randint(0, prof.gap // 2))
    while d <= prof.last:
        out.append(business_day(d, prof.last))
        d += days(max(4, round(rng.gauss(prof.gap, prof.gap / 3))))
    return out


def monthly_dates(rng: random.Random, prof: Profile) -> list[date]:
    """About the same day each month (+/- 2 days), between first and last."""
    out = []
    year, month = prof.first.year, prof.first.month
    while (d := date(year, month, prof.monthly_on)) <= prof.last:
        d = business_day(d + days(rng.randint(-2, 2)), prof.last)
        if prof.first <= d <= prof.last:
            out.append(d)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def ordinary_invoices(rng: random.Random) -> list[Invoice]:
    invoices = []
    for cid, prof in PROFILES.items():
        invoices += [new_invoice(rng, cid, d) for d in invoice_dates(rng, prof)]
    return invoices


def seasonal_dating(invoices: list[Invoice]) -> None:
    """NORTHWIND's autumn 2025 stock orders carry dated terms: an explicit due."""
    autumn = (date(2025, 10, 1), date(2025, 11, 30))
    for inv in invoices:
        if inv.customer == "NORTHWIND" and autumn[0] <= inv.date <= autumn[1]:
            inv.due = date(2026, 1, 15)
            inv.description += " -- seasonal dating, due 2026-01-15"


def owner_override(invoices: list[Invoice]) -> None:
    """One HARBOR order was won at a trade show by Dana, who collects it."""
    inv = first(invoices, "HARBOR", date(2026, 1, 1))
    inv.owner = DANA
    inv.description += " -- boat show order, collected by Dana Brooks"


def first(invoices: list[Invoice], customer: str, on_or_after: date) -> Invoice:
    return next(i for i in invoices if i.customer == customer and i.date >= on_or_after)


def instalment_invoice() -> Invoice:
    """HUADONG's supply contract, billed once and paid in three instalments."""
    amount = Decimal("96000.00")
    return Invoice(
        "HUADONG",
        date(2026, 6, 19),
        amount,
        "Supply contract HD-2026-017 (缠绕膜及托盘):"
        " 30% 预付款 / 40% 进度款 / 30% 尾款",
        po="HD2026-017",
        schedule=[
            (date(2026, 6, 30), Decimal("28800.00")),
            (date(2026, 8, 31), Decimal("38400.00")),
            (date(2026, 10, 15), Decimal("28800.00")),
        ],
    )


def november_invoices(rng: random.Random) -> list[Invoice]:
    return [
        new_invoice(rng, "ACME", date(2026, 11, 3)),
        new_invoice(rng, "HARBOR", date(2026, 11, 6)),
        new_invoice(rng, "NORTHWIND", date(2026, 11, 12)),
    ]


def mark_disputed(invoices: list[Invoice]) -> Invoice:
    """The NORTHWIND invoice nearest 80 days past due at AS_OF is disputed, unpaid."""
    inv = min(
        (i for i in invoices if i.customer == "NORTHWIND" and i.date <= AS_OF),
        key=lambda i: abs((AS_OF - i.due_date).days - 80),
    )
    inv.disputed = True
    inv.description += (
        f" -- DISPUTED: customer's receiving report shows {shortfall(inv)} short;"
        " carrier proof of delivery requested"
    )
    return inv


def shortfall(inv: Invoice) -> str:
    """The goods NORTHWIND says never arrived: a tenth of the first line."""
    line = inv.lines[0]
    return f"{max(1, line.qty // 10)} x {line.item}"


def damaged(inv: Invoice) -> tuple[int, Line]:
    """The goods ACME returned damaged: an eighth of the first line."""
    line = inv.lines[0]
    return max(1, line.qty // 8), line


def number_invoices(invoices: list[Invoice]) -> None:
    """INV-YYYY-NNNN, numbered by issue date within each year."""
    order = [c["id"] for c in CUSTOMERS]
    invoices.sort(key=lambda i: (i.date, order.index(i.customer)))
    counters: dict[int, int] = defaultdict(int)
    for inv in invoices:
        counters[inv.date.year] += 1
        inv.id = f"INV-{inv.date.year}-{counters[inv.date.year]:04d}"


def make_invoices(rng: random.Random) -> Demo:
    invoices = ordinary_invoices(rng)
    seasonal_dating(invoices)
    owner_override(invoices)
    schedule = instalment_invoice()
    invoices.append(schedule)
    invoices += november_invoices(rng)
    disputed = mark_disputed(invoices)
    number_invoices(invoices)
    lakeside = [i for i in invoices if i.customer == "LAKESIDE"]
    special = {
        "schedule": schedule,
        "disputed": disputed,
        "write_off": lakeside[-1],
        "credit_note": first(invoices, "ACME", date(2026, 3, 1)),
        "discount": first(invoices, "MERIDIAN", date(2026, 5, 1)),
    }
    return Demo(invoices, special=special)


# --------------------------------------------------------------------------
# Adjustments
# --------------------------------------------------------------------------


def make_adjustments(demo: Demo) -> None:
    cn = demo.special["credit_note"]
    wo = demo.special["write_off"]
    qty, line = damaged(cn)
    demo.adjustments = [
        Adjustment(
            "ACME",
            weekday_on_or_after(cn.date + days(9)),
            qty * line.price,
            "credit_note",
            cn,
            f"{qty} x {line.item} damaged in transit, returned under RMA-2026-031",
        ),
        Adjustment(
            "LAKESIDE",
            date(2026, 3, 31),
            wo.amount,
            "write_off",
            wo,
            "Customer ceased trading, Chapter 7 filed 2026-01-12; no recovery expected",
        ),
    ]
    demo.adjustments.sort(key=lambda a: a.date)
    for n, adj in enumerate(demo.adjustments, 1):
        adj.id = f"ADJ-{n:04d}"


def discount_day(inv: Invoice) -> date:
    return weekday_on_or_after(inv.date + days(8))


def early_payment_discount(inv: Invoice) -> Decimal:
    """SPEC §9: the customer's percent of the amount, rounded half-up."""
    terms = CUSTOMER[inv.customer]["discount"]
    return (inv.amount * terms["percent"] / 100).quantize(CENT, ROUND_HALF_UP)


def adjusted(demo: Demo, inv: Invoice) -> tuple[Decimal, date]:
    """What is left to pay on inv after its adjustment (or its early-payment
    discount), and not before when."""
    for adj in demo.adjustments:
        if adj.invoice is inv:
            return inv.amount - adj.amount, adj.date
    if inv is demo.special["discount"]:
        return inv.amount - early_payment_discount(inv), inv.date
    return inv.amount, inv.date


# --------------------------------------------------------------------------
# Payments
# --------------------------------------------------------------------------


@dataclass
class Intent:
    """One invoice (or part of it) a customer will pay on a given day."""

    customer: str
    date: date
    invoice: Invoice
    amount: Decimal


def pay_day(rng: random.Random, prof: Profile, inv: Invoice, earliest: date) -> date:
    d = inv.due_date + days(draw_lateness(rng, prof.lateness))
    d = max(d, earliest + days(3))
    return next_run_day(d, prof.pays_on)


def split_in_two(rng: random.Random, amount: Decimal) -> list[Decimal]:
    first_part = round_hundreds(amount * Decimal(rng.uniform(0.3, 0.6)))
    if first_part <= 0 or first_part >= amount:
        return [amount]
    return [first_part, amount - first_part]


def ordinary_intents(rng: random.Random, demo: Demo) -> list[Intent]:
    """When each ordinary invoice is paid, in one or two parts, if by AS_OF."""
    skip = {id(demo.special[k]) for k in ("schedule", "disputed", "write_off")}
    skip.add(id(demo.special["discount"]))
    intents = []
    for inv in demo.invoices:
        if id(inv) in skip or inv.date > AS_OF:
            continue
        prof = PROFILES[inv.customer]
        amount, earliest = adjusted(demo, inv)
        d = pay_day(rng, prof, inv, earliest)
        parts = split_in_two(rng, amount) if rng.random() < prof.partial else [amount]
        for part in parts:
            if d > AS_OF or (prof.stops_paying and d > prof.stops_paying):
                break  # this and later parts are still open
            intents.append(Intent(inv.customer, d, inv, part))
            d = next_run_day(d + days(rng.randint(20, 45)), prof.pays_on)
    return intents


class References:
    """Bank references in each method's style; check numbers run per customer."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.checks: dict[str, int] = {}

    def __call__(self, method: str, customer: str, d: date) -> str:
        r = self.rng
        if method == "wire":
            return f"FT{d:%y%m%d}{r.randint(10000, 99999)}"
        if method == "ach":
            return f"ACH {r.randint(10**9, 10**10 - 1)}"
        if method == "card":
            return f"Card auth {r.randint(100000, 999999)}"
        number = self.checks.get(customer, r.randint(1000, 9000) * 10)
        self.checks[customer] = number + r.randint(1, 6)
        return f"Check {number}"


def payments_from_intents(
    rng: random.Random, intents: list[Intent], refs: References
) -> list[Payment]:
    """One payment per customer and day, naming up to three invoices each."""
    by_day: dict[tuple[str, date], list[Intent]] = defaultdict(list)
    for it in sorted(intents, key=lambda i: (i.date, i.invoice.id)):
        by_day[(it.customer, it.date)].append(it)
    payments = []
    for (cid, d), group in by_day.items():
        prof = PROFILES[cid]
        chunks = [group[i : i + 3] for i in range(0, len(group), 3)]
        for chunk in chunks:
            method = rng.choice(prof.methods)
            p = Payment(
                cid,
                d,
                sum((i.amount for i in chunk), ZERO),
                [(i.invoice, i.amount) for i in chunk],
                method,
                refs(method, cid, d),
                currency=payment_currency(rng, cid),
                may_omit_remittance=len(chunks) == 1
                and rng.random() < prof.no_remittance,
            )
            payments.append(p)
    return payments


def payment_currency(rng: random.Random, customer: str) -> str:
    """EUR payments say so half the time; HUADONG's wires always say USD."""
    if customer == "VDBERG":
        return "EUR" if rng.random() < 0.5 else ""
    return "USD" if customer == "HUADONG" else ""


def special_payments(demo: Demo, refs: References) -> None:
    """Two instalments, the discounted payment and SUMMIT's payment plan."""
    sched = demo.special["schedule"]
    disc = demo.special["discount"]
    plan: list[tuple[str, date, Decimal, Invoice | None, str]] = [
        ("HUADONG", date(2026, 6, 29), sched.schedule[0][1], sched, "wire"),
        ("HUADONG", date(2026, 9, 8), sched.schedule[1][1], sched, "wire"),
        ("MERIDIAN", discount_day(disc), adjusted(demo, disc)[0], disc, "ach"),
        # SPEC §2: a payment naming no invoice goes to the oldest items first
        ("SUMMIT", date(2026, 9, 30), Decimal("5000.00"), None, "ach"),
        ("SUMMIT", date(2026, 10, 30), Decimal("5000.00"), None, "ach"),
    ]
    for cid, d, amount, inv, method in plan:
        intent = [(inv, amount)] if inv else []
        p = Payment(cid, d, amount, intent, method, refs(method, cid, d))
        p.currency = "USD" if cid == "HUADONG" else ""
        p.omit_remittance = inv is None
        demo.payments.append(p)


def duplicate_payment(rng: random.Random, demo: Demo, refs: References) -> None:
    """HARBOR pays its last invoice twice: the one overpayment of the demo."""
    last = max(
        (p for p in demo.payments if p.customer == "HARBOR"), key=lambda p: p.date
    )
    d = weekday_on_or_after(last.date + days(rng.randint(18, 30)))
    dup = Payment("HARBOR", d, last.amount, list(last.intent), last.method)
    dup.reference = refs(last.method, "HARBOR", d)
    demo.payments.append(dup)
    demo.overpayment = dup


def number_payments(payments: list[Payment], start: int = 1) -> None:
    payments.sort(key=lambda p: (p.date, p.customer))
    for n, p in enumerate(payments, start):
        p.id = f"PAY-{n:04d}"


def make_payments(rng: random.Random, demo: Demo, refs: References) -> None:
    demo.payments = payments_from_intents(rng, ordinary_intents(rng, demo), refs)
    special_payments(demo, refs)
    duplicate_payment(rng, demo, refs)
    number_payments(demo.payments)


def november_payments(demo: Demo, state: Replay, refs: References) -> None:
    """A few payments after AS_OF: HUADONG's final instalment, ACME, PINNACLE."""
    sched = demo.special["schedule"]
    acme = [
        (inv, amt)
        for inv, amt in state.open_by_invoice("ACME")
        if inv.due_date <= date(2026, 11, 10)
    ][:3]
    pin_inv, pin_open = state.open_by_invoice("PINNACLE")[0]
    pin_part = round_hundreds(pin_open / 2)
    new = [
        Payment("HUADONG", date(2026, 11, 9), sched.schedule[2][1],
                [(sched, sched.schedule[2][1])], "wire", currency="USD"),
        Payment("ACME", date(2026, 11, 10), sum((a for _, a in acme), ZERO), acme,
                "ach"),
        Payment("PINNACLE", date(2026, 11, 16), pin_part, [(pin_inv, pin_part)],
                "check"),
    ]  # fmt: skip
    for p in new:
        p.reference = refs(p.method, p.customer, p.date)
    number_payments(new, start=len(demo.payments) + 1)
    demo.payments += new


# --------------------------------------------------------------------------
# Replay: SPEC §2 payment application, just enough to check the story
# --------------------------------------------------------------------------


@dataclass
class Item:
    """An invoice, or one instalment of an invoice with a schedule."""

    invoice: Invoice
    number: int | None
    due: date
    open: Decimal

    def key(self) -> tuple:  # SPEC §2: oldest due first, then issue date, then id
        return (self.due, self.invoice.date, self.invoice.id, self.number or 0)


class Replay:
    """Open items and unapplied cash after replaying the records up to a date."""

    def __init__(self) -> None:
        self.items: dict[str, list[Item]] = {}
        self.credit: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        self.overflows: list[Payment] = []  # explicit amounts beyond the open balance
        self.credits_created: list[Payment] = []

    def run(self, demo: Demo, until: date, decide: bool = False) -> Replay:
        events = [(i.date, 0, i.id, i) for i in demo.invoices]
        events += [(a.date, 1, a.id, a) for a in demo.adjustments]
        events += [(p.date, 2, p.id, p) for p in demo.payments]
        for when, _, _, record in sorted(events, key=lambda e: e[:3]):
            if when > until:
                break
            if isinstance(record, Invoice):
                self.issue(record)
            elif isinstance(record, Adjustment):
                left = self.settle(self.items[record.invoice.id], record.amount)
                assert left == 0, f"{record.id} exceeds {record.invoice.id}"
            else:
                self.pay(record, decide)
        return self

    def issue(self, inv: Invoice) -> None:
        if inv.schedule:
            items = [Item(inv, n, d, a) for n, (d, a) in enumerate(inv.schedule, 1)]
        else:
            items = [Item(inv, None, inv.due_date, inv.amount)]
        self.items[inv.id] = items
        key = (inv.customer, currency_of(inv.customer))
        if self.credit[key]:  # SPEC §2: credit goes to the next invoice
            self.credit[key] = self.settle(items, self.credit[key])

    @staticmethod
    def settle(items: list[Item], amount: Decimal) -> Decimal:
        """Apply amount to items oldest due first; return what is left."""
        for item in sorted(items, key=Item.key):
            take = min(item.open, amount)
            item.open -= take
            amount -= take
        return amount

    def open_items(self, customer: str) -> list[Item]:
        return sorted(
            (
                it
                for items in self.items.values()
                for it in items
                if it.invoice.customer == customer and it.open > 0
            ),
            key=Item.key,
        )

    def open_by_invoice(self, customer: str) -> list[tuple[Invoice, Decimal]]:
        totals: dict[str, tuple[Invoice, Decimal]] = {}
        for it in self.open_items(customer):
            inv, amt = totals.get(it.invoice.id, (it.invoice, ZERO))
            totals[inv.id] = (inv, amt + it.open)
        return list(totals.values())

    def oldest_first_agrees(self, p: Payment) -> bool:
        """Would p, naming no invoice, settle exactly what it is meant to?"""
        wanted: dict[str, Decimal] = defaultdict(Decimal)
        for inv, amount in p.intent:
            wanted[inv.id] += amount
        rest = p.amount
        for it in self.open_items(p.customer):
            take = min(it.open, rest)
            wanted[it.invoice.id] -= take
            rest -= take
        return rest == 0 and not any(wanted.values())

    def pay(self, p: Payment, decide: bool) -> None:
        """SPEC §2: named invoices first, the rest oldest first, then credit.

        Each demo customer has one currency, so its items all share it.
        """
        if decide and p.may_omit_remittance:
            p.omit_remittance = self.oldest_first_agrees(p)
        rest = p.amount
        for inv, amt in p.explicit:
            left = self.settle(self.items[inv.id], amt)
            if left:
                self.overflows.append(p)
            rest -= amt - left
            self.discount(inv, p.date)
        for it in self.open_items(p.customer):
            rest = self.settle([it], rest)
        if rest:
            self.credit[(p.customer, currency_of(p.customer))] += rest
            self.credits_created.append(p)

    def discount(self, inv: Invoice, day: date) -> None:
        """SPEC §9: within its window, once what is applied reaches the amount
        less the discount, the rest of the invoice is given."""
        terms = CUSTOMER[inv.customer].get("discount")
        if terms is None or day > inv.date + days(terms["days"]):
            return
        items = self.items[inv.id]
        still = sum((it.open for it in items), ZERO)
        if still and inv.amount - still >= inv.amount - early_payment_discount(inv):
            for it in items:
                it.open = ZERO

    def aging(self, as_of: date) -> dict[str, list[Decimal]]:
        """Open balance per customer by bucket (basis due, buckets 30/60/90/120)."""
        rows: dict[str, list[Decimal]] = {}
        for c in CUSTOMERS:
            row = [ZERO] * len(BUCKETS)
            for it in self.open_items(c["id"]):
                row[bucket_index((as_of - it.due).days)] += it.open
            rows[c["id"]] = row
        return rows


def bucket_index(days_past_due: int) -> int:
    if days_past_due <= 0:
        return 0
    return min(5, (days_past_due - 1) // 30 + 1)


# --------------------------------------------------------------------------
# Contacts: the collection log
# --------------------------------------------------------------------------


def make_contacts(demo: Demo) -> None:
    sp = demo.special
    kept = kept_promise_payment(demo)
    kept_inv = kept.intent[0][0]
    dup = demo.overpayment
    demo.contacts = [
        Contact("LAKESIDE", date(2026, 1, 20), LI, "phone",
                "Store phone disconnected. Owner confirmed the business has ceased"
                " trading; Chapter 7 filed 2026-01-12. Proof of claim sent to the"
                f" trustee for {sp['write_off'].id}."),
        Contact(kept.customer, kept.date - days(6), owner_of(kept.customer), "phone",
                f"{first_name(kept.customer)} in AP: {kept_inv.id} was held for an"
                " internal approval, now released. Promised payment within the week.",
                promise_date=kept.date + days(1), promise_amount=kept.amount,
                invoice=kept_inv.id),
        Contact("REDWOOD", date(2026, 7, 22), AR_CLERK, "letter",
                "Final demand sent by certified mail. Account on credit hold:"
                " no further shipments until the balance is cleared."),
        Contact("NORTHWIND", sp["disputed"].due_date + days(8), MARCO, "email",
                f"Raj disputes {sp['disputed'].id}: says {shortfall(sp['disputed'])}"
                " never arrived. Asked the carrier for the signed proof of delivery;"
                " no payment on this invoice until it is resolved."),
        Contact("REDWOOD", date(2026, 9, 15), AR_CLERK, "legal",
                "Account referred to outside collection counsel after no response"
                " to the final demand."),
        Contact("SUMMIT", date(2026, 9, 18), MARCO, "phone",
                "Payment plan agreed with Laura Kent (CFO): USD 5,000 at each"
                " month-end from 2026-09-30 until the balance is cleared. Letters"
                " paused until 2026-12-15."),
        Contact("HUADONG", date(2026, 10, 20), LI, "email",
                f"{sp['schedule'].id} 尾款 USD 28,800.00 已于10月15日到期未付。"
                "王经理回复：因月底资金安排，尾款将于11月10日前汇出。",
                promise_date=date(2026, 11, 10),
                promise_amount=sp["schedule"].schedule[2][1],
                invoice=sp["schedule"].id),
        Contact("PINNACLE", date(2026, 10, 6), DANA, "phone",
                "Greg (Controller) promised USD 15,000 by 2026-10-20 to bring the"
                " account back under its credit limit. New orders on hold meanwhile.",
                promise_date=date(2026, 10, 20), promise_amount=Decimal("15000.00")),
        Contact("HARBOR", dup.date + days(3), LI, "email",
                f"Ana confirmed {dup.id} duplicated an earlier wire. Offered a refund;"
                " customer prefers the credit applied to its next order."),
    ]  # fmt: skip
    demo.contacts.sort(key=lambda c: (c.date, c.customer))


PLAN_DAY = date(2026, 9, 18)  # SUMMIT's payment plan, agreed by phone
PLAN_STEP = Decimal("5000.00")


def month_ends(start: date):
    """The month-ends on or after `start`."""
    day = start
    while True:
        end = (day.replace(day=28) + days(4)).replace(day=1) - days(1)
        yield end
        day = end + days(1)


def make_plans(demo: Demo) -> None:
    """SUMMIT's payment plan (SPEC §7) as a record: USD 5,000 at each month-end
    from 2026-09-30 until the balance open on the day it was agreed is cleared."""
    balance = exposure(Replay().run(demo, PLAN_DAY), "SUMMIT")
    instalments = []
    for end in month_ends(PLAN_DAY):
        if balance <= 0:
            break
        amount = min(PLAN_STEP, balance)
        instalments.append({"due": end, "amount": amount})
        balance -= amount
    demo.plans = [
        {
            "id": "PLAN-SUMMIT-1",
            "customer": "SUMMIT",
            "date": PLAN_DAY,
            "owner": MARCO,
            "instalments": instalments,
            "note": "Agreed with Laura Kent (CFO) by phone: USD 5,000 at each"
            " month-end until the balance is cleared",
        }
    ]


def owner_of(customer: str) -> str:
    return CUSTOMER[customer]["owner"]


def first_name(customer: str) -> str:
    return CUSTOMER[customer]["contact"].split()[0]


def kept_promise_payment(demo: Demo) -> Payment:
    """A 2026 payment at least ten days late, naming one invoice, of a mid-size
    customer (BLUESKY preferred): the promise to pay that was kept."""
    candidates = [
        p
        for p in demo.payments
        if p.customer in ("BLUESKY", "CASCADE", "VDBERG")
        and date(2026, 4, 1) <= p.date <= AS_OF
        and len(p.intent) == 1
        and (p.date - p.intent[0][0].due_date).days >= 10
    ]
    return min(candidates, key=lambda p: (p.customer != "BLUESKY", p.date))


# --------------------------------------------------------------------------
# Writing YAML and CSV
# --------------------------------------------------------------------------

PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._@&()/+-]*\Z")
YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def scalar(value: object) -> str:
    """A YAML scalar: dates and amounts bare, strings plain when safe, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, (int, date)):
        return str(value)
    text = str(value)
    if PLAIN.match(text) and text.lower() not in YAML_WORDS and text == text.strip():
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML string


def flow(mapping: dict) -> str:
    return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in mapping.items()) + "}"


def yaml_records(comment: str, records: list[dict]) -> str:
    """A YAML list of mappings; dicts become flow maps, lists of dicts flow items."""
    out = [f"# {line}" if line else "#" for line in comment.splitlines()]
    for rec in records:
        out.append("")
        lead = "- "
        for key, value in rec.items():
            if value is None or value is False or value == []:
                continue
            if isinstance(value, dict):
                out.append(f"{lead}{key}: {flow(value)}")
            elif isinstance(value, list):
                out.append(f"{lead}{key}:")
                out += [f"    - {flow(v)}" for v in value]
            else:
                out.append(f"{lead}{key}: {scalar(value)}")
            lead = "  "
    return "\n".join(out) + "\n"


def invoice_record(inv: Invoice) -> dict:
    return {
        "id": inv.id,
        "customer": inv.customer,
        "date": inv.date,
        "due": inv.due,
        "amount": inv.amount,
        "description": inv.description,
        "po": inv.po,
        "owner": inv.owner,
        "disputed": inv.disputed,
        "schedule": [{"due": d, "amount": a} for d, a in inv.schedule],
    }


def payment_row(p: Payment) -> dict[str, str]:
    explicit = p.explicit
    return {
        "id": p.id,
        "customer": p.customer,
        "date": str(p.date),
        "amount": money(p.amount),
        "currency": p.currency,
        "invoice": explicit[0][0].id if len(explicit) == 1 else "",
        "allocations": ";".join(f"{i.id}={money(a)}" for i, a in explicit)
        if len(explicit) > 1
        else "",
        "method": p.method,
        "reference": p.reference,
    }


def write_ledger(demo: Demo, out: Path) -> None:
    clear_output(out)
    (out / "invoices").mkdir(parents=True)
    (out / "arledger.yaml").write_text(SETTINGS_YAML, encoding="utf-8")
    (out / "customers.yaml").write_text(
        yaml_records(
            "Customers of Bayview Trading Co. (demo ledger, SPEC §1 customers).\n"
            "`id` is the short key that invoices, payments and adjustments use.",
            CUSTOMERS,
        ),
        encoding="utf-8",
    )
    for year in sorted({i.date.year for i in demo.invoices}):
        records = [invoice_record(i) for i in demo.invoices if i.date.year == year]
        (out / "invoices" / f"{year}.yaml").write_text(
            yaml_records(
                f"Invoices issued in {year} (SPEC §1 invoices). `due` defaults to\n"
                "date + the customer's terms; `currency` to the customer's.",
                records,
            ),
            encoding="utf-8",
        )
    write_payments_csv(demo.payments, out / "payments.csv")
    (out / "adjustments.yaml").write_text(
        yaml_records(
            "Adjustments: credit notes and write-offs (bad debt), each against\n"
            "one invoice (SPEC §1 adjustments). MERIDIAN's early-payment discount\n"
            "is not written here: its 2/10 terms give it (SPEC §9).",
            [
                {
                    "id": a.id,
                    "customer": a.customer,
                    "date": a.date,
                    "amount": a.amount,
                    "kind": a.kind,
                    "invoice": a.invoice.id,
                    "reason": a.reason,
                }
                for a in demo.adjustments
            ],
        ),
        encoding="utf-8",
    )
    (out / "contacts.yaml").write_text(
        yaml_records(
            "Collection log (沟通记录) and promises to pay (承诺付款),\n"
            "SPEC §1 contacts.",
            [vars(c) for c in demo.contacts],
        ),
        encoding="utf-8",
    )
    (out / "plans.yaml").write_text(
        yaml_records(
            "Collection plans (回款计划, SPEC §7): instalments agreed with a\n"
            "customer, credited from the cash applied to its items from the\n"
            "plan's date on.",
            demo.plans,
        ),
        encoding="utf-8",
    )
    (out / "confirmations.yaml").write_text(
        yaml_records(
            "Answers to the statements of account (对账确认), SPEC §10:\n"
            "the balance each customer confirmed or disputed.",
            [vars(c) for c in demo.confirmations],
        ),
        encoding="utf-8",
    )


def write_payments_csv(payments: list[Payment], path: Path) -> None:
    """The bulk CSV form. CSV has no comments, so the header row comes first."""
    columns = list(payment_row(payments[0]))
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns, lineterminator="\n")
        writer.writeheader()
        for p in sorted(payments, key=lambda p: p.id):
            writer.writerow(payment_row(p))


def clear_output(out: Path) -> None:
    """Remove what an earlier run wrote (and only that)."""
    if out.is_symlink():  # examples/demo was once a link to arledger/skeleton
        out.unlink()
    for name in GENERATED:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)


# --------------------------------------------------------------------------
# Checks: the files are well formed and tell the intended story
# --------------------------------------------------------------------------


def check_records(demo: Demo) -> None:
    ids = [i.id for i in demo.invoices]
    assert len(ids) == len(set(ids)), "duplicate invoice id"
    by_id = {i.id: i for i in demo.invoices}
    for inv in demo.invoices:
        assert inv.amount > 0 and inv.amount == inv.amount.quantize(CENT), inv.id
        assert FIRST_DAY <= inv.date <= LAST_DAY, inv.id
        if inv.schedule:
            assert sum(a for _, a in inv.schedule) == inv.amount, inv.id
    pay_ids = [p.id for p in demo.payments]
    assert len(pay_ids) == len(set(pay_ids)), "duplicate payment id"
    for p in demo.payments:
        assert p.amount > 0 and p.amount == p.amount.quantize(CENT), p.id
        assert p.date <= LAST_DAY, p.id
        named = sum((a for _, a in p.explicit), ZERO)
        assert named <= p.amount, p.id
        for inv, amount in p.explicit:
            assert by_id[inv.id] is inv and inv.customer == p.customer, p.id
            assert p.date >= inv.date, f"{p.id} predates {inv.id}"
            assert amount == amount.quantize(CENT) and amount > 0, p.id
    for adj in demo.adjustments:
        assert adj.invoice.customer == adj.customer and adj.date >= adj.invoice.date
    for c in demo.contacts:
        assert c.customer in CUSTOMER
    for c in demo.confirmations:
        assert c.customer in CUSTOMER and c.balance > 0


def check_story(demo: Demo, at: Replay, later: Replay) -> None:
    """Assert the behaviours the demo is meant to show, at AS_OF."""
    sp = demo.special
    aging = at.aging(AS_OF)
    usd = [sum(aging[c][b] for c in aging if currency_of(c) == "USD") for b in range(6)]
    assert all(usd), f"an empty USD aging bucket: {usd}"
    assert at.credits_created == [demo.overpayment], "unexpected unapplied cash"
    assert later.credits_created == [demo.overpayment], "unexpected unapplied cash"
    assert at.overflows == [demo.overpayment] == later.overflows
    assert sum(aging["HARBOR"]) == 0
    assert at.credit[("HARBOR", "USD")] == demo.overpayment.amount
    over = [
        c["id"]
        for c in CUSTOMERS
        if "credit_limit" in c and exposure(at, c["id"]) > c["credit_limit"]
    ]
    assert over == ["PINNACLE"], f"over credit limit: {over}"
    disputed = at.items[sp["disputed"].id][0]
    assert disputed.open == disputed.invoice.amount
    assert (AS_OF - disputed.due).days >= 70
    deposit, progress, final = at.items[sp["schedule"].id]
    assert deposit.open == progress.open == 0, "deposit and progress are paid"
    assert final.open == sp["schedule"].schedule[2][1] and final.due < AS_OF
    assert all(it.open == 0 for it in at.items[sp["write_off"].id])
    promise_period = [
        p
        for p in demo.payments
        if p.customer == "PINNACLE" and date(2026, 10, 6) <= p.date <= AS_OF
    ]
    assert not promise_period, "PINNACLE's broken promise was kept"
    (plan,) = demo.plans  # SUMMIT pays each month-end: the plan is kept
    due = [i for i in plan["instalments"] if i["due"] <= AS_OF]
    paid = [p for p in demo.payments if p.customer == "SUMMIT" and p.date >= PLAN_DAY]
    assert sum(p.amount for p in paid) == sum(i["amount"] for i in due)
    rest = sum(i["amount"] for i in plan["instalments"] if i["due"] > AS_OF)
    assert exposure(at, "SUMMIT") == rest, "the plan covers what SUMMIT owes"
    assert len([p for p in demo.payments if p.date > AS_OF]) == 3
    assert len([i for i in demo.invoices if i.date > AS_OF]) == 3


def exposure(state: Replay, customer: str) -> Decimal:
    return sum((it.open for it in state.open_items(customer)), ZERO)


def behaviour_counts(demo: Demo) -> dict[str, int]:
    """How many payments show each behaviour the brief asks for."""
    full = {i.id: adjusted(demo, i)[0] for i in demo.invoices}
    named = [p for p in demo.payments if p.intent]
    return {
        "naming one invoice": sum(len(p.explicit) == 1 for p in named),
        "split by allocations": sum(len(p.explicit) > 1 for p in demo.payments),
        "unallocated": sum(not p.explicit for p in demo.payments),
        "partial": sum(any(a < full[i.id] for i, a in p.intent) for p in demo.payments),
        "in EUR": sum(currency_of(p.customer) == "EUR" for p in demo.payments),
    }


def lateness_counts(demo: Demo) -> dict[str, int]:
    """Invoices paid (in full or in part) by how late the payment came."""
    counts = dict.fromkeys(["early/on time", "1-4 late", "5-40 late", "41+ late"], 0)
    for p in demo.payments:
        for inv, _ in p.intent:
            if p is demo.overpayment or inv.schedule:
                continue
            counts[lateness_class((p.date - inv.due_date).days)] += 1
    return counts


def lateness_class(late: int) -> str:
    if late <= 0:
        return "early/on time"
    if late < 5:
        return "1-4 late"
    return "5-40 late" if late <= 40 else "41+ late"


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------


def print_summary(demo: Demo, at: Replay, later: Replay) -> None:
    year_counts = defaultdict(int)
    for inv in demo.invoices:
        year_counts[inv.date.year] += 1
    print("Records:")
    print(f"  customers    {len(CUSTOMERS)}")
    print(
        f"  invoices     {len(demo.invoices)} (2025: {year_counts[2025]}, 2026:"
        f" {year_counts[2026]}; after {AS_OF}: "
        f"{sum(i.date > AS_OF for i in demo.invoices)})"
    )
    print(
        f"  payments     {len(demo.payments)} (after {AS_OF}: "
        f"{sum(p.date > AS_OF for p in demo.payments)})"
    )
    print(f"  adjustments  {len(demo.adjustments)}")
    print(f"  contacts     {len(demo.contacts)}")
    print(f"  confirmations {len(demo.confirmations)}")
    print(f"  payments: {listing(behaviour_counts(demo))}")
    print(f"  invoices paid, by days after due: {listing(lateness_counts(demo))}")
    print()
    print(f"Aging at {AS_OF} (basis due; unapplied cash shown apart, negative):")
    print_aging(at, AS_OF)
    print()
    print(f"Grand totals at {LAST_DAY} (after the November records):")
    for cur, total in grand_totals(later, LAST_DAY).items():
        print(f"  {cur}: open {money(total[0])}, unapplied {money(total[1])}")


def listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def print_aging(state: Replay, as_of: date) -> None:
    head = ["customer", "cur", *BUCKETS, "unapplied", "total", "limit"]
    widths = [10, 4] + [11] * 8 + [14]
    print(format_row(head, widths))
    aging = state.aging(as_of)
    for cur in currencies():
        for c in (c for c in CUSTOMERS if currency_of(c["id"]) == cur):
            row = aging[c["id"]]
            unapplied = -state.credit[(c["id"], cur)]
            if not any(row) and not unapplied:
                continue
            limit = c.get("credit_limit")
            flag = "" if limit is None else money(limit)
            if limit is not None and sum(row) > limit:
                flag += " OVER"
            cells = [c["id"], cur, *map(money, row), money(unapplied)]
            cells += [money(sum(row) + unapplied), flag or "none"]
            print(format_row(cells, widths))
        totals = grand_totals(state, as_of)[cur]
        cells = ["TOTAL", cur, *map(money, totals[2]), money(-totals[1])]
        cells += [money(totals[0] - totals[1]), ""]
        print(format_row(cells, widths))


def format_row(cells: list[str], widths: list[int]) -> str:
    """Two text columns, left-aligned, then right-aligned figures."""
    return " ".join(
        cell.ljust(width) if n < 2 else cell.rjust(width)
        for n, (cell, width) in enumerate(zip(cells, widths, strict=True))
    )


def currencies() -> list[str]:
    return sorted({currency_of(c["id"]) for c in CUSTOMERS}, key=lambda c: c != "USD")


def grand_totals(state: Replay, as_of: date) -> dict[str, tuple]:
    """Per currency: (open total, unapplied credit, bucket totals)."""
    aging = state.aging(as_of)
    out = {}
    for cur in currencies():
        ids = [c["id"] for c in CUSTOMERS if currency_of(c["id"]) == cur]
        buckets = [sum((aging[i][b] for i in ids), ZERO) for b in range(6)]
        credit = sum((state.credit[(i, cur)] for i in ids), ZERO)
        out[cur] = (sum(buckets, ZERO), credit, buckets)
    return out


# --------------------------------------------------------------------------


STATEMENT_DAY = date(2026, 9, 30)  # the month-end statements were sent for


def make_confirmations(demo: Demo) -> None:
    """Answers to the September statements: two confirmed as sent, one
    confirmed short of an invoice it had not booked yet, one disputing the
    invoice in dispute and confirming the rest."""
    state = Replay().run(demo, STATEMENT_DAY)
    aging = state.aging(STATEMENT_DAY)

    def owed(customer: str) -> Decimal:
        currency = currency_of(customer)
        return sum(aging[customer], ZERO) - state.credit[(customer, currency)]

    disputed = demo.special["disputed"]
    late_booked = max(
        (i for i in demo.invoices if i.customer == "ACME" and i.date <= STATEMENT_DAY),
        key=lambda i: i.date,
    )
    demo.confirmations = [
        Confirmation("HUADONG", STATEMENT_DAY, None, owed("HUADONG"), "confirmed",
                     "回函已盖章：经核对无误"),
        Confirmation("VDBERG", STATEMENT_DAY, "EUR", owed("VDBERG"), "confirmed"),
        Confirmation("ACME", STATEMENT_DAY, None,
                     owed("ACME") - late_booked.amount, "confirmed",
                     f"{late_booked.id} of {late_booked.date.isoformat()} not yet "
                     "booked on their side (received after their cut-off)"),
        Confirmation(disputed.customer, STATEMENT_DAY, None,
                     owed(disputed.customer) - disputed.amount, "disputed",
                     f"Disputes {disputed.id} (see the dispute); agrees the rest"),
    ]  # fmt: skip


def build() -> Demo:
    rng = random.Random(SEED)
    refs = References(rng)
    demo = make_invoices(rng)
    make_adjustments(demo)
    make_payments(rng, demo, refs)
    state = Replay().run(demo, AS_OF, decide=True)  # decides unallocated payments
    november_payments(demo, state, refs)
    make_contacts(demo)
    make_plans(demo)
    make_confirmations(demo)
    return demo


def main(argv: list[str]) -> int:
    outs = (Path(argv[1]),) if len(argv) > 1 else DEFAULT_OUT
    demo = build()
    at = Replay().run(demo, AS_OF)
    later = Replay().run(demo, LAST_DAY)
    check_records(demo)
    check_story(demo, at, later)
    for out in outs:
        write_ledger(demo, out)
    print(f"Wrote the demo ledger to {', '.join(map(str, outs))}\n")
    print_summary(demo, at, later)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
