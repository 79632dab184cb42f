"""Hypothesis round trips of the loader (SPEC §1; habit of simonw/sqlite-utils:
tests/test_hypothesis.py): a generated ledger, written as YAML, as CSV or as a mix of
both, loads back field by field, each record pointing at the file and line it was
written at, every amount the exact decimal written.

The files are written by hand (f-strings for YAML, the csv module for CSV), so the
loader is held to what a person or a spreadsheet would write, not to what a YAML
library would emit.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arledger import loader
from arledger.errors import Source
from arledger.loader import load
from arledger.model import (
    Adjustment,
    Contact,
    Customer,
    DunningBlock,
    Invoice,
    Payment,
    Record,
)
from arledger.readers import read_yaml_fast

from .test_properties import CENT, WINDOW_END, WINDOW_START, _split, ledgers

KINDS = ("customers", "invoices", "payments", "adjustments", "contacts")

ROUNDTRIP = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Amounts a float would not give back: SPEC §1 "1210.71 is read as the decimal
# 1210.71, never through a float". Places 0, 1 and 2 are all fine in USD and EUR.
TRICKY_AMOUNTS = tuple(
    Decimal(s)
    for s in "0.10 1210.71 99999999.99 0.01 0.3 1 10.5 100.00 4503599627370497.5 0.07".split()
)
exact_amounts = st.one_of(
    st.sampled_from(TRICKY_AMOUNTS),
    st.decimals(
        min_value=Decimal("0.01"),
        max_value=Decimal("99999999.99"),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    ),
)
limits = st.one_of(st.sampled_from([Decimal("0"), Decimal("0.00")]), exact_amounts)
window = st.dates(WINDOW_START, WINDOW_END)

# Text YAML reads specially unless quoted, and text CSV must quote.
TRICKY_TEXT = (
    *"yes No true FALSE on y null Null ~ 123 007 0.10 1e3 1. .5 #hash | > % ?".split(),
    *"'single' \"double\" [list] {map} &anchor *alias !tag @at `tick` a;b k=v".split(),
    *"2026-10-01 31/03/2026 back\\slash".split(),
    *["- dash", "a: b", "x #y", ", comma", "line one\nline two", "tab\there"],
    *["大客户 Ltd.", "Müller & Söhne"],
)
ALPHABET = "abcXYZ019 :#-'\",;=[]{}&*!|>%@`?~./\\\n\t大客户éü"
texts = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.text(ALPHABET, min_size=1, max_size=12).map(str.strip).filter(bool),
)
# A CSV `dunning_block` cell is split at ';' (SPEC §1), so its reason has none.
reasons = texts.filter(lambda s: ";" not in s)
dunning_blocks = st.builds(
    DunningBlock, until=window, reason=st.one_of(st.none(), reasons)
)


# --------------------------------------------------------------------------- generation


def _remake(record: Record, **changes: Any) -> Record:
    """The record with `changes`, validated again by its model."""
    data = {**record.model_dump(), **changes}
    return type(record).model_validate(data)


@dataclass(frozen=True)
class Book:
    """A generated ledger, every kind as a list in the order it is written."""

    customers: list[Customer]
    invoices: list[Invoice]
    payments: list[Payment]
    adjustments: list[Adjustment]
    contacts: list[Contact]

    def of(self, kind: str) -> list[Record]:
        return getattr(self, kind)


@st.composite
def books(draw) -> Book:
    """`test_properties.ledgers()` with every field a file can hold filled in now and
    then: text, limits and blocks; invoices with tricky amounts; payments without an
    id; contacts with promises."""
    gen = draw(ledgers())
    customers = [
        _remake(
            c,
            name=draw(texts),
            **draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "email": texts,
                        "phone": texts,
                        "address": texts,
                        "contact": texts,
                        "owner": texts,
                        "credit_limit": limits,
                        "grade": st.sampled_from("ABCD"),
                        "language": st.sampled_from(["en", "zh"]),
                        "key_account": st.booleans(),
                        "hold": st.booleans(),
                        "dunning_block": dunning_blocks,
                    },
                )
            ),
        )
        for c in gen.customers
    ]
    invoice_extras = st.fixed_dictionaries(
        {},
        optional={
            "description": texts,
            "po": texts,
            "owner": texts,
            "dunning_block": dunning_blocks,
        },
    )
    invoices = [_remake(i, **draw(invoice_extras)) for i in gen.invoices]
    # Invoices and payments whose amounts a float would change.
    exact_invoices = []
    for k in range(draw(st.integers(0, 4))):
        day = draw(window)
        amount = draw(exact_amounts)
        schedule = None
        if draw(st.booleans()):
            parts = _split(draw, amount, draw(st.integers(2, 3)))
            if parts is not None:
                schedule = [
                    {
                        "due": day + timedelta(days=draw(st.integers(0, 200))),
                        "amount": p,
                    }
                    for p in parts
                ]
        exact_invoices.append(
            Invoice(
                id=f"E{k}",
                customer=draw(st.sampled_from(customers)).id,
                date=day,
                amount=amount,
                schedule=schedule,
                disputed=draw(st.booleans()),
                **draw(invoice_extras),
            )
        )
    invoices += exact_invoices
    payments = list(gen.payments)
    for k in range(draw(st.integers(0, 4))):
        target = draw(st.sampled_from(exact_invoices)) if exact_invoices else None
        shape = draw(st.sampled_from(["free", "invoice", "allocations"]))
        customer = target.customer if target else draw(st.sampled_from(customers)).id
        amount = draw(exact_amounts)
        fields: dict[str, Any] = {}
        if target is not None and shape == "invoice":
            fields["invoice"] = target.id
        elif target is not None and shape == "allocations":
            fields["allocations"] = {target.id: amount}
            amount += draw(st.sampled_from([Decimal(0), *TRICKY_AMOUNTS]))
        payments.append(
            Payment(
                id=f"EP{k}",
                customer=customer,
                date=draw(window),
                amount=amount,
                **fields,
            )
        )
    payment_extras = st.fixed_dictionaries(
        {}, optional={"method": texts, "reference": texts, "id": st.none()}
    )
    payments = [_remake(p, **draw(payment_extras)) for p in payments]
    payments = draw(st.permutations(payments))
    adjustments = [
        _remake(a, **draw(st.fixed_dictionaries({}, optional={"reason": texts})))
        for a in gen.adjustments
    ]
    contacts = []
    for _ in range(draw(st.integers(0, 5))):
        customer = draw(st.sampled_from(customers))
        own = [i.id for i in invoices if i.customer == customer.id]
        optional = {
            "by": texts,
            "note": texts,
            "promise_date": window,
            "promise_amount": exact_amounts,
        }
        if own:
            optional["invoice"] = st.sampled_from(own)
        fields = draw(st.fixed_dictionaries({}, optional=optional))
        if "promise_date" not in fields:
            fields.pop("promise_amount", None)  # SPEC §4: an amount needs a date
        contacts.append(
            Contact(
                customer=customer.id,
                date=draw(window),
                channel=draw(
                    st.sampled_from(
                        ["phone", "email", "letter", "visit", "legal", "other"]
                    )
                ),
                **fields,
            )
        )
    return Book(customers, invoices, payments, adjustments, contacts)


# --------------------------------------------------------------------------- writing

ABSENT = object()  # an optional field written with an empty value ("not given")
TRUE_WORDS, FALSE_WORDS = ("true", "yes", "1"), ("false", "no", "0")
# Empty YAML values. `Null` and `NULL` are nulls too (YAML 1.2 core schema, and
# the loader's YAML_NULLS), but the fast lane reads them as text: see
# test_capitalised_null_is_not_given below.
NULLS = ("", " null", " ~")
# Plain YAML scalars that stay the text written whatever the YAML reader.
PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._-]*")
YAML_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "y", "n", "null"})


def _fields(
    record: Record, rnd: random.Random, absent: float = 0.08
) -> list[tuple[str, Any]]:
    """(name, value) pairs to write, shuffled; defaults now and then written out."""
    pairs = []
    for name, info in type(record).model_fields.items():
        if name == "source":
            continue
        value = getattr(record, name)
        if value is None or (value is False and not info.is_required()):
            if value is False and rnd.random() < 0.3:
                pairs.append((name, False))
            elif rnd.random() < absent:
                pairs.append((name, ABSENT))
            continue
        pairs.append((name, value))
    rnd.shuffle(pairs)
    return pairs


def _text(name: str, value: Any, rnd: random.Random) -> str:
    """A scalar as text, the same in YAML and CSV."""
    if isinstance(value, bool):
        return rnd.choice(TRUE_WORDS if value else FALSE_WORDS)
    if isinstance(value, Decimal):
        return str(value)  # the digits as generated: 0.10 stays 0.10
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if name == "currency" and rnd.random() < 0.25:
        return f" {value} "  # spaces around a code are not part of it
    return value


def _quote(text: str, rnd: random.Random) -> str:
    if all(c >= " " for c in text) and rnd.random() < 0.4:
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)  # JSON escapes are YAML escapes


def _yaml_scalar(name: str, value: Any, rnd: random.Random) -> str:
    text = _text(name, value, rnd)
    plain_ok = not isinstance(value, str) or (
        PLAIN.fullmatch(text) is not None and text.lower() not in YAML_WORDS
    )
    if plain_ok and rnd.random() < 0.6:
        return text  # e.g. `amount: 1210.71`, never read through a float
    return _quote(text, rnd)


def _yaml_mapping(pairs: list[tuple[str, Any]], rnd: random.Random) -> list[str]:
    """`key: value` lines of a nested mapping, or one flow `{...}` line."""
    if rnd.random() < 0.5:
        inner = ", ".join(
            f"{_yaml_scalar('', k, rnd)}: {_yaml_scalar(k, v, rnd)}" for k, v in pairs
        )
        return ["{" + inner + "}"]
    return [f"{_yaml_scalar('', k, rnd)}: {_yaml_scalar(k, v, rnd)}" for k, v in pairs]


def _yaml_field(name: str, value: Any, rnd: random.Random) -> list[str]:
    """The lines of one field, relative to the record's indentation."""
    if value is ABSENT:
        return [f"{name}:{rnd.choice(NULLS)}"]
    if name == "allocations":
        nested = _yaml_mapping(list(value.items()), rnd)
    elif name == "dunning_block":
        pairs = [("until", value.until)]
        if value.reason is not None:
            pairs.append(("reason", value.reason))
        rnd.shuffle(pairs)
        nested = _yaml_mapping(pairs, rnd)
    elif name == "discount":  # SPEC §9: {percent, days}
        pairs = [("percent", value.percent), ("days", value.days)]
        rnd.shuffle(pairs)
        nested = _yaml_mapping(pairs, rnd)
    elif name == "schedule":
        if rnd.random() < 0.5:  # schedule: [{due: ..., amount: ...}, ...]
            items = [
                f"{{due: {_yaml_scalar('due', i.due, rnd)}, "
                f"amount: {_yaml_scalar('amount', i.amount, rnd)}}}"
                for i in value
            ]
            return [f"{name}: [{', '.join(items)}]"]
        nested = []
        for instalment in value:
            pairs = [("due", instalment.due), ("amount", instalment.amount)]
            rnd.shuffle(pairs)
            lines = [f"{k}: {_yaml_scalar(k, v, rnd)}" for k, v in pairs]
            nested += ["- " + lines[0], *("  " + line for line in lines[1:])]
    else:
        return [f"{name}: {_yaml_scalar(name, value, rnd)}"]
    if len(nested) == 1 and nested[0].startswith("{"):
        return [f"{name}: {nested[0]}"]
    return [f"{name}:", *("  " + line for line in nested)]


def write_yaml(
    path: Path,
    records: list[Record],
    rnd: random.Random,
    absent: float = 0.08,
    document_start: float = 0.1,
) -> list[int]:
    """Write records as a YAML list; returns the line each record starts at.

    `absent`: how often an optional field not given is written with an empty value
    (`po:`, `po: null`, `po: ~`); `document_start`: how often the file has a `---`
    line. A `~`, or `---` after a comment, sends the file to PyYAML.
    """
    out: list[str] = []
    if rnd.random() < 0.3:
        out.append("# written by test_roundtrip")
    if rnd.random() < document_start:
        out.append("---")
    starts = []
    for record in records:
        if rnd.random() < 0.2:
            out.append("")
        if rnd.random() < 0.1:
            out.append("#- a comment, not a record")
        body = [
            line
            for name, value in _fields(record, rnd, absent)
            for line in _yaml_field(name, value, rnd)
        ]
        starts.append(len(out) + 1)
        out += ["- " + body[0], *("  " + line for line in body[1:])]
    if not records and (out[-1:] == ["---"] or rnd.random() < 0.5):
        out.append("[]")  # `---` alone is refused: "expected a list of records"
    newline = rnd.choice(["\n", "\n", "\r\n"])
    text = newline.join(out) + newline if out else ""
    bom = "\ufeff" if rnd.random() < 0.1 else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bom + text, encoding="utf-8", newline="")
    return starts


def _csv_cell(name: str, value: Any, rnd: random.Random) -> str:
    """One cell; nested fields as `key=value` pairs joined by `;` (SPEC §1)."""
    if value is ABSENT:
        return rnd.choice(["", "  "])
    if name in ("allocations", "schedule", "dunning_block", "discount"):
        if name == "allocations":
            pairs = list(value.items())
        elif name == "schedule":
            pairs = [(i.due, i.amount) for i in value]
        elif name == "discount":
            pairs = [("percent", value.percent), ("days", value.days)]
            rnd.shuffle(pairs)
        else:
            pairs = [("until", value.until)]
            if value.reason is not None:
                pairs.append(("reason", value.reason))
            rnd.shuffle(pairs)
        eq, sep = rnd.choice(["=", " = "]), rnd.choice([";", "; ", " ; "])
        return sep.join(f"{_text('', k, rnd)}{eq}{_text(k, v, rnd)}" for k, v in pairs)
    return _text(name, value, rnd)


def write_csv(
    path: Path, kind_model: type[Record], records: list[Record], rnd: random.Random
) -> list[int]:
    """Write records as CSV with a header; returns the line each record starts at."""
    rows = [dict(_fields(r, rnd)) for r in records]
    used = set().union(*rows) if rows else set()
    names = [
        n
        for n in kind_model.model_fields
        if n in used
        or (
            n != "source"
            and not kind_model.model_fields[n].is_required()
            and rnd.random() < 0.1
        )
    ]
    if not names:
        names = [n for n, f in kind_model.model_fields.items() if f.is_required()]
    rnd.shuffle(names)
    buffer = io.StringIO()
    if rnd.random() < 0.1:
        buffer.write("\ufeff")  # Excel's BOM, tolerated (SPEC §1)
    writer = csv.writer(buffer, lineterminator=rnd.choice(["\n", "\r\n"]))
    starts = []
    if records or rnd.random() < 0.5:
        writer.writerow(names)
        for row in rows:
            if rnd.random() < 0.1:
                writer.writerow([])  # a blank line is skipped
            if rnd.random() < 0.05:
                writer.writerow([""] * len(names))  # so is a row of empty cells
            starts.append(buffer.getvalue().count("\n") + 1)
            writer.writerow(
                [_csv_cell(n, row[n], rnd) if n in row else "" for n in names]
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    return starts


Layout = dict[str, list[tuple[str, list[Record]]]]
MODELS = {
    "customers": Customer,
    "invoices": Invoice,
    "payments": Payment,
    "adjustments": Adjustment,
    "contacts": Contact,
}
SUFFIXES = (".yaml", ".yml", ".csv")


def read_order(rel: str) -> tuple[Any, ...]:
    """The loader's order: KIND.yaml, KIND.yml, KIND.csv, then KIND/ sorted."""
    parts = PurePosixPath(rel).parts
    if len(parts) == 1:
        return (0, SUFFIXES.index(PurePosixPath(rel).suffix), ())
    return (1, 0, parts[1:])


def write_ledger(
    root: Path, layout: Layout, rnd: random.Random
) -> dict[str, list[tuple[Record, Source]]]:
    """Write every file of `layout`; returns each kind's records, in reading order,
    with the source each was written at."""
    expected = {}
    for kind in KINDS:
        files = sorted(layout[kind], key=lambda f: read_order(f[0]))
        written = []
        for rel, records in files:
            path = root / rel
            if path.suffix == ".csv":
                lines = write_csv(path, MODELS[kind], records, rnd)
            else:
                lines = write_yaml(path, records, rnd)
            written += [
                (r, Source(rel, n)) for r, n in zip(records, lines, strict=True)
            ]
        expected[kind] = written
    return expected


def _exact(value: Any) -> Any:
    """A dump with every Decimal as its digits, so 0.10 and 0.1 differ."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(v) for v in value]
    return value


def loaded_records(ledger) -> dict[str, list[Record]]:
    return {
        "customers": list(ledger.customers.values()),
        "invoices": list(ledger.invoices.values()),
        "payments": list(ledger.payments),
        "adjustments": list(ledger.adjustments),
        "contacts": list(ledger.contacts),
    }


def assert_round_trip(layout: Layout, rnd: random.Random) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        expected = write_ledger(root, layout, rnd)
        ledger, errors = load(root)
        listing = {
            p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }
    # A payment larger than the invoice it names is allowed, with a warning.
    problems = [e for e in errors if not (e.warning and "against invoice" in e.message)]
    assert problems == [], (problems, listing)
    got = loaded_records(ledger)
    for kind in KINDS:
        want = [(_exact(r.model_dump()), s) for r, s in expected[kind]]
        have = [(_exact(r.model_dump()), r.source) for r in got[kind]]
        assert have == want, (kind, listing)


# --------------------------------------------------------------------------- layouts


def one_file(book: Book, suffix: str) -> Layout:
    return {kind: [(f"{kind}{suffix}", book.of(kind))] for kind in KINDS}


def mixed(book: Book) -> Layout:
    """The mix a real ledger grows into: invoices/2025.csv + invoices/2026.yaml,
    payments.yaml + payments/extra.csv, and so on."""
    by_year: dict[str, list[Record]] = {}
    for invoice in book.invoices:
        suffix = "csv" if invoice.date.year == 2025 else "yaml"
        by_year.setdefault(f"invoices/{invoice.date.year}.{suffix}", []).append(invoice)
    half = len(book.payments) // 2
    contacts = len(book.contacts) // 2
    return {
        "customers": [("customers.csv", book.customers)],
        "invoices": list(by_year.items()) or [("invoices.yaml", [])],
        "payments": [
            ("payments.yaml", book.payments[:half]),
            ("payments/extra.csv", book.payments[half:]),
        ],
        "adjustments": [("adjustments.yml", book.adjustments)],
        "contacts": [
            ("contacts.csv", book.contacts[:contacts]),
            ("contacts/later.yaml", book.contacts[contacts:]),
        ],
    }


def _candidates(kind: str) -> list[str]:
    # A folder inside `KIND/` is not read (SPEC §4): kind folders are flat.
    return [
        f"{kind}.yaml",
        f"{kind}.yml",
        f"{kind}.csv",
        f"{kind}/2025.csv",
        f"{kind}/2026.yaml",
        f"{kind}/extra.csv",
    ]


@st.composite
def scattered(draw, book: Book) -> Layout:
    """Each kind split, in order, across one to three files of either format."""
    layout = {}
    for kind in KINDS:
        files = draw(
            st.lists(
                st.sampled_from(_candidates(kind)), min_size=1, max_size=3, unique=True
            )
        )
        files.sort(key=read_order)
        records = book.of(kind)
        cuts = sorted(
            draw(
                st.lists(
                    st.integers(0, len(records)),
                    min_size=len(files) - 1,
                    max_size=len(files) - 1,
                )
            )
        )
        bounds = [0, *cuts, len(records)]
        layout[kind] = [
            (rel, records[a:b])
            for rel, a, b in zip(files, bounds, bounds[1:], strict=False)
        ]
    return layout


# --------------------------------------------------------------------------- properties


@ROUNDTRIP
@given(book=books(), rnd=st.randoms(use_true_random=False))
def test_roundtrip_yaml(book, rnd):
    assert_round_trip(one_file(book, rnd.choice([".yaml", ".yml"])), rnd)


@ROUNDTRIP
@given(book=books(), rnd=st.randoms(use_true_random=False))
def test_roundtrip_csv(book, rnd):
    assert_round_trip(one_file(book, ".csv"), rnd)


@ROUNDTRIP
@given(book=books(), rnd=st.randoms(use_true_random=False))
def test_roundtrip_mixed(book, rnd):
    assert_round_trip(mixed(book), rnd)


@ROUNDTRIP
@given(data=st.data(), rnd=st.randoms(use_true_random=False))
def test_roundtrip_scattered(data, rnd):
    book = data.draw(books())
    assert_round_trip(data.draw(scattered(book)), rnd)


@pytest.mark.parametrize("amount", [str(a) for a in TRICKY_AMOUNTS])
@pytest.mark.parametrize("quote", ["", '"', "'"])
def test_amounts_never_pass_through_a_float(tmp_path, amount, quote):
    (tmp_path / "customers.yaml").write_text("- {id: C1, name: Acme}\n")
    (tmp_path / "invoices.yaml").write_text(
        f"- id: I1\n  customer: C1\n  date: 2026-01-05\n  amount: {quote}{amount}{quote}\n"
    )
    (tmp_path / "payments.csv").write_text(
        f"customer,date,amount,allocations\nC1,2026-02-01,{amount},I1={amount}\n"
    )
    ledger, errors = load(tmp_path)
    assert errors == []
    assert str(ledger.invoices["I1"].amount) == amount
    assert str(ledger.payments[0].amount) == amount
    assert str(ledger.payments[0].allocations["I1"]) == amount


# --------------------------------------------------------------------------- big files


def _random_invoices(rnd: random.Random, n: int, customers: list[str]) -> list[Invoice]:
    # Text the fast lane reads (no `~` null, anchor, alias or tag), and no `;`,
    # which a CSV dunning_block cell cannot hold.
    words = [t for t in TRICKY_TEXT if not set(t) & set("~*&!;")]
    words += ["Widgets", "Service Q3", "PO 4711"]
    invoices = []
    for k in range(n):
        day = WINDOW_START + timedelta(days=rnd.randrange(730))
        cents = rnd.choice([rnd.randrange(1, 10**6), rnd.randrange(1, 10**10)])
        amount = Decimal(cents) * CENT
        fields: dict[str, Any] = {}
        shape = rnd.randrange(6)
        if shape == 0 and cents >= 2:
            cut = rnd.randrange(1, cents)
            fields["schedule"] = [
                {"due": day + timedelta(days=rnd.randrange(60)), "amount": cut * CENT},
                {
                    "due": day + timedelta(days=rnd.randrange(60, 200)),
                    "amount": (cents - cut) * CENT,
                },
            ]
        elif shape == 1:
            fields["due"] = day + timedelta(days=rnd.randrange(120))
        elif shape == 2:
            fields["dunning_block"] = {"until": day, "reason": rnd.choice(words)}
        if rnd.random() < 0.2:
            fields["currency"] = rnd.choice(["USD", "EUR"])
        if rnd.random() < 0.2:
            fields["description"] = rnd.choice(words)
        invoices.append(
            Invoice(
                id=f"INV-{k:05d}",
                customer=rnd.choice(customers),
                date=day,
                amount=amount,
                disputed=rnd.random() < 0.1,
                **fields,
            )
        )
    return invoices


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_big_yaml_file_takes_the_fast_lane_and_agrees(seed):
    """2 000 invoices: the fast lanes (the plain reader's columns where it takes
    the file, rapidyaml where it does not; no pydantic for plain records), the
    PyYAML path and CSV give the same records, lines and exact amounts."""
    rnd = random.Random(seed)
    customers = [Customer(id=f"C{k}", name=f"Customer {k}") for k in range(5)]
    invoices = _random_invoices(rnd, 2000, [c.id for c in customers])
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for form in ("fast", "rapidyaml", "pyyaml", "csv"):
            root = Path(tmp) / form
            write_csv(root / "customers.csv", Customer, customers, rnd)
            if form == "csv":
                lines = write_csv(root / "invoices.csv", Invoice, invoices, rnd)
                rel = "invoices.csv"
            else:
                lines = write_yaml(
                    root / "invoices.yaml", invoices, rnd, absent=0, document_start=0
                )
                rel = "invoices.yaml"
                text = (root / "invoices.yaml").read_text(encoding="utf-8-sig")
                assert "~" not in text
                if form == "pyyaml":  # a `~` sends the whole file to PyYAML
                    (root / "invoices.yaml").write_text(text + "# ~\n")
                    assert read_yaml_fast(text + "# ~\n") is None
                else:
                    assert read_yaml_fast(text) is not None
            off = form in ("rapidyaml", "pyyaml")  # the plain reader's columns
            with _without_yaml_columns() if off else nullcontext():
                ledger, errors = load(root)
            assert errors == []
            loaded = list(ledger.invoices.values())
            assert [r.source for r in loaded] == [Source(rel, n) for n in lines]
            results[form] = [_exact(r.model_dump()) for r in loaded]
    want = [_exact(i.model_dump()) for i in invoices]
    assert results["fast"] == want
    assert results["pyyaml"] == want
    assert results["csv"] == want


# --------------------------------------------------------------------------- found bugs
# Each pins a disagreement between the fast YAML reader and PyYAML: the same file
# reads differently depending on whether an unrelated record of it has an error
# (which sends the whole file through PyYAML) or holds a `~`.


def _without_yaml_columns() -> Any:
    """The loader with the plain reader's columns (arledger/_plainyaml.c) off:
    what it would take goes to rapidyaml, or to PyYAML."""
    return mock.patch.object(loader, "read_yaml_columns", lambda text: None)


def _both_ways(tmp_path: Path, kind: str, text: str):
    """The records of one YAML file read by the fast lane, and by PyYAML."""
    result = []
    for lane, suffix in (("fast", ""), ("pyyaml", "# ~\n")):
        root = tmp_path / lane
        root.mkdir()
        (root / "customers.yaml").write_text("- {id: C1, name: Acme}\n")
        (root / f"{kind}.yaml").write_text(text + suffix)
        assert (read_yaml_fast(text + suffix) is None) == (lane == "pyyaml")
        ledger, errors = load(root)
        assert errors == []
        result.append(loaded_records(ledger)[kind])
    return result


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        # `-` alone on its line: PyYAML places the record at its first key.
        ("payments", "-\n  customer: C1\n  date: 2026-01-05\n  amount: 5\n"),
        # rapidyaml's JSON would spell `1.` `.5` as `1.0` `0.5`.
        (
            "invoices",
            "- id: I1\n  customer: C1\n  date: 2026-01-05\n  amount: 5.\n  po: 1.\n",
        ),
        # `Null` and `NULL` are YAML nulls; rapidyaml's JSON keeps them as text.
        ("customers", "- id: C1\n  name: Acme\n  email: NULL\n  owner: Null\n"),
    ],
)
def test_fast_lane_declines_what_it_would_read_differently(tmp_path, kind, text):
    """These once loaded differently through the two readers (found by this file's
    properties); the fast reader now leaves them to PyYAML."""
    assert read_yaml_fast(text) is None
    root = tmp_path / "ledger"
    root.mkdir()
    (root / "customers.yaml").write_text("- {id: C1, name: Acme}\n")
    (root / f"{kind}.yaml").write_text(text)
    ledger, errors = load(root)
    assert errors == []
    if kind == "payments":
        assert str(ledger.payments[0].source) == "payments.yaml:2"
    elif kind == "invoices":
        invoice = ledger.invoices["I1"]
        assert invoice.po == "1." and str(invoice.amount) == "5"
    else:
        customer = ledger.customers["C1"]
        assert (customer.email, customer.owner) == (None, None)
