"""The native lane (arledger/_bulk.c) holds to the careful path.

`loader.load_lean` + `settle.settle_lean` must give the open items and credits
that `loader.load` + `settle(view, history=False)` give, for every ledger the
lane accepts, at any as-of date and under any view filter; and the lane must
decline (return None) every ledger in which `load` finds an error, so that the
careful path can say what is wrong (exit 2, `FILE:LINE: message`). Through the
CLI, `arledger aging` must print the same bytes with the lane as without it
(`ARLEDGER_NO_NATIVE=1`).

Items and credits are compared as multisets (`Counter`): the lane may list
them in another order, and Decimals equal in value (`100.5`, `100.50`) are
equal items. Everything here skips where the extension is not built, except
`test_the_extension_is_built_in_ci`.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from arledger.cli import app
from arledger.loader import load, load_lean
from arledger.money import minor_units
from arledger.settle import settle, settle_lean

TESTS = Path(__file__).parent
ROOT = TESTS.parent
LEDGERS = TESTS / "ledgers"
ERRORS = TESTS / "errors"
BENCHMARKS = ROOT / "benchmarks"
AS_OF = "2026-10-31"
ZERO = Decimal(0)

# `FILE:LINE: message`, as the careful path reports a problem.
PROBLEM_LINE = re.compile(r"^[^:\s][^:]*:\d+: \S", re.MULTILINE)


@pytest.fixture(scope="module")
def native():
    """The extension, or a skip where it was built without a C compiler."""
    return pytest.importorskip("arledger._bulk")


def test_the_extension_is_built_in_ci():
    """CI builds the extension (setup.py); a silent fallback there would leave
    the lane untested."""
    if os.environ.get("CI") != "true":
        pytest.skip("the extension is optional outside CI")
    import arledger._bulk

    assert hasattr(arledger._bulk, "Bulk")


# ---------------------------------------------------------------- helpers


def careful(path: Path) -> tuple[Any, list[Any]]:
    """The careful load: the ledger and its errors (warnings left out)."""
    ledger, problems = load(path)
    return ledger, [p for p in problems if not p.warning]


def assert_same(careful_ledger: Any, lean: Any, as_of: date, **filters: Any) -> Any:
    """settle_lean on the lane equals settle(history=False) on the careful load."""
    ledger, bulk = lean
    want = settle(careful_ledger.view(as_of, **filters), history=False)
    got = settle_lean(ledger.view(as_of, **filters), bulk)
    where = f"as of {as_of}, {filters or 'no filter'}"
    items_got, items_want = Counter(got.items), Counter(want.items)
    assert items_got == items_want, (
        f"{where}: items only in the lane {list(items_got - items_want)}, "
        f"only in settle {list(items_want - items_got)}"
    )
    credits_got, credits_want = Counter(got.credits), Counter(want.credits)
    assert credits_got == credits_want, (
        f"{where}: credits only in the lane {list(credits_got - credits_want)}, "
        f"only in settle {list(credits_want - credits_got)}"
    )
    assert got.as_of == as_of
    assert got.history is False and got.applications == ()
    return got


def record_dates(ledger: Any) -> list[date]:
    days = {r.date for r in ledger.invoices.values()}
    days.update(r.date for r in (*ledger.payments, *ledger.adjustments))
    return sorted(days)


def as_of_dates(ledger: Any) -> list[date]:
    """The day before the first record, every record's date, the day after the
    last, a year later (everything overdue), and the usual report date."""
    days = record_dates(ledger)
    chosen = {date.fromisoformat(AS_OF), *days}
    if days:
        chosen.add(days[0] - timedelta(days=1))
        chosen.add(days[-1] + timedelta(days=1))
        chosen.add(days[-1] + timedelta(days=400))
    return sorted(chosen)


def view_filters(ledger: Any, customers: list[str] | None = None) -> list[dict]:
    """No filter, each customer, each owner, each currency, and some pairs, plus
    filters that match nothing."""
    ids = customers if customers is not None else sorted(ledger.customers)
    owners = {c.owner for c in ledger.customers.values()}
    owners.update(i.owner for i in ledger.invoices.values())
    owners.discard(None)
    currencies = {ledger.currency_of(i) for i in ledger.invoices.values()}
    currencies.update(ledger.currency_of(p) for p in ledger.payments)
    currencies.update(ledger.currency_of(a) for a in ledger.adjustments)
    filters: list[dict] = [{}]
    filters += [{"customers": [c]} for c in ids]
    if len(ids) >= 2:
        filters.append({"customers": ids[:2]})
    filters += [{"owner": o} for o in sorted(owners)]
    filters += [{"currency": c} for c in sorted(currencies)]
    for c in sorted(currencies):
        if ids:
            filters.append({"customers": [ids[0]], "currency": c})
        for o in sorted(owners)[:2]:
            filters.append({"owner": o, "currency": c})
    filters += [{"owner": "nobody at all"}, {"currency": "GBP"}]
    return filters


runner = CliRunner()


def aging(*args: str) -> Any:
    return runner.invoke(app, ["aging", *args])


def spy_on_the_lane(monkeypatch) -> list[date]:
    """Count the settlements the lane made (commands import settle_lean late)."""
    import arledger.settle as settle_module

    calls: list[date] = []
    real = settle_module.settle_lean

    def spy(view: Any, bulk: Any) -> Any:
        calls.append(view.as_of)
        return real(view, bulk)

    monkeypatch.setattr(settle_module, "settle_lean", spy)
    return calls


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
    return root


# ------------------------------------------- 1. the ledgers kept in tests/

TEST_LEDGERS = sorted(p for p in LEDGERS.iterdir() if p.is_dir()) + sorted(
    p for p in ERRORS.iterdir() if (p / "expected").is_file()
)


@pytest.mark.parametrize(
    "path", TEST_LEDGERS, ids=[f"{p.parent.name}/{p.name}" for p in TEST_LEDGERS]
)
def test_lane_equals_settle_on_the_test_ledgers(native, path):
    lean = load_lean(path)
    if lean is None:
        return  # declined: the careful path answers (see the declining tests)
    ledger, problems = careful(path)
    assert not problems, f"the lane took a ledger with errors: {problems}"
    for as_of in as_of_dates(ledger):
        for filters in view_filters(ledger):
            assert_same(ledger, lean, as_of, **filters)


@pytest.mark.parametrize(
    "path",
    [LEDGERS / "small_csv", ERRORS / "csv_bom_ok", ERRORS / "warn_overpayment"],
    ids=lambda p: p.name,
)
def test_lane_takes_the_plain_csv_ledgers(native, path):
    """Not a vacuous pass: these plain CSV ledgers do go by the lane."""
    assert load_lean(path) is not None


def test_one_bulk_settles_any_dates_in_any_order(native):
    """A Bulk keeps no state between settlements."""
    path = LEDGERS / "small_csv"
    ledger, _ = careful(path)
    lean = load_lean(path)
    days = as_of_dates(ledger)
    for as_of in [*reversed(days), *days, days[len(days) // 2]]:
        assert_same(ledger, lean, as_of)


# ------------------------------------------- 2. generated ledgers

SEEDS = (1, 2, 3)
GENERATED_INVOICES = 3000


def generate_ledger(out: Path, seed: int, fmt: str, invoices: int) -> Path:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    import generate  # benchmarks/generate.py

    argv = [str(out), "--invoices", str(invoices), "--format", fmt]
    assert generate.main([*argv, "--seed", str(seed)]) == 0
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[tuple[int, str], Path]:
    """Generated ledgers, made once for the module: CSV for every seed, and one
    in YAML (which the lane reads too, through fastpath.read_yaml_fast)."""
    made = {}
    base = tmp_path_factory.mktemp("generated")
    for seed in SEEDS:
        made[seed, "csv"] = generate_ledger(
            base / f"csv{seed}", seed, "csv", GENERATED_INVOICES
        )
    made[1, "yaml"] = generate_ledger(base / "yaml1", 1, "yaml", 2000)
    return made


GENERATED_DATES = [
    date(2024, 12, 31),  # before the first record
    date(2025, 1, 1),
    date(2025, 3, 15),
    date(2025, 9, 30),
    date(2026, 6, 30),
    date(2026, 12, 31),
    date(2027, 1, 1),  # after the last
    date(2028, 6, 30),
]


@pytest.mark.parametrize(("seed", "fmt"), [(s, "csv") for s in SEEDS] + [(1, "yaml")])
def test_lane_equals_settle_on_generated_ledgers(native, generated, seed, fmt):
    path = generated[seed, fmt]
    ledger, problems = careful(path)
    assert not problems
    lean = load_lean(path)
    if fmt == "csv":
        assert lean is not None, "the lane declined a generated CSV ledger"
    if lean is None:
        pytest.skip("the lane declined this ledger")
    assert lean[1].counts() == (
        len(ledger.invoices),
        len(ledger.payments),
        len(ledger.adjustments),
    )
    busiest = Counter(i.customer for i in ledger.invoices.values()).most_common(3)
    filters = view_filters(ledger, customers=[c for c, _ in busiest])
    for as_of in GENERATED_DATES:
        got = assert_same(ledger, lean, as_of)
        if as_of >= date(2027, 1, 1):
            assert got.items, "a generated ledger has open items at its as-of"
        if as_of in (date(2025, 9, 30), date(2027, 1, 1)):
            for f in filters[1:]:
                assert_same(ledger, lean, as_of, **f)


# ------------------------------------------- 3. declining


def error_cases() -> list[Path]:
    return sorted(p for p in ERRORS.iterdir() if (p / "expected").is_file())


@pytest.mark.parametrize("case", error_cases(), ids=lambda p: p.name)
def test_lane_declines_every_error_case(native, case):
    _, problems = careful(case)
    lean = load_lean(case)
    if problems:
        assert lean is None, f"the lane took {case.name}, whose errors are {problems}"


CUSTOMERS = (
    "id,name,currency,owner\n"
    "C1,One Ltd,,lin\n"
    "C2,Two GmbH,EUR,\n"
    "J1,Jay KK,JPY,wang\n"
    "U1,Uno Inc,,\n"
)
INVOICES = (
    "id,customer,date,amount\n"
    "I1,C1,2026-03-01,100.00\n"
    "I2,C2,2026-03-05,200.00\n"
    "J1-1,J1,2026-03-01,1000\n"
    "I3,C1,2026-04-01,50.00\n"
)
PAYMENTS_HEADER = "id,customer,date,amount,currency,invoice,allocations\n"


def ledger_files(**files: str | bytes) -> dict[str, str | bytes]:
    """The base ledger (customers and invoices) with some files added or replaced;
    a name is a file name with `__` for `/` and `_csv` for `.csv`."""
    base: dict[str, str | bytes] = {
        "customers.csv": CUSTOMERS,
        "invoices.csv": INVOICES,
    }
    for name, text in files.items():
        name = name.replace("__", "/").replace("_csv", ".csv").replace("_yaml", ".yaml")
        base[name] = text
    return base


def payments(*rows: str) -> str:
    return PAYMENTS_HEADER + "".join(f"{row}\n" for row in rows)


def invoices(*rows: str, header: str = "id,customer,date,amount") -> str:
    return header + "\n" + "".join(f"{row}\n" for row in rows)


# (name, files, where the careful path reports the problem)
BROKEN = [
    (
        "unknown_field",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,5.00", header="id,customer,date,ammount"
            )
        ),
        "invoices.csv:1:",
    ),
    (
        "duplicate_invoice_in_one_file",
        ledger_files(invoices_csv=INVOICES + "I1,C1,2026-05-01,10.00\n"),
        "invoices.csv:6:",
    ),
    (
        "duplicate_invoice_in_two_files",
        {
            "customers.csv": CUSTOMERS,
            "invoices/a.csv": INVOICES,
            "invoices/b.csv": invoices(
                "I9,C1,2026-05-01,10.00", "I2,C2,2026-05-02,1.00"
            ),
        },
        "invoices/b.csv:3:",
    ),
    (
        "duplicate_payment_id",
        ledger_files(
            payments_csv=payments(
                "P1,C1,2026-03-02,5.00,,,", "P1,C1,2026-03-03,6.00,,,"
            )
        ),
        "payments.csv:3:",
    ),
    (
        "duplicate_adjustment_id",
        ledger_files(
            adjustments_csv="id,customer,date,amount,kind\n"
            "A1,C1,2026-03-02,5.00,discount\nA1,C1,2026-03-03,6.00,discount\n"
        ),
        "adjustments.csv:3:",
    ),
    (
        "unknown_customer_invoice",
        ledger_files(invoices_csv=INVOICES + "I9,C9,2026-05-01,10.00\n"),
        "invoices.csv:6:",
    ),
    (
        "unknown_customer_payment",
        ledger_files(payments_csv=payments("P1,C9,2026-03-02,5.00,,,")),
        "payments.csv:2:",
    ),
    (
        "unknown_customer_adjustment",
        ledger_files(
            adjustments_csv="id,customer,date,amount,kind\n"
            "A1,C9,2026-03-02,5.00,discount\n"
        ),
        "adjustments.csv:2:",
    ),
    (
        "unknown_customer_contact",
        ledger_files(contacts_csv="customer,date,channel\nC9,2026-03-02,phone\n"),
        "contacts.csv:2:",
    ),
    (
        "payment_unknown_invoice",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,5.00,,I9,")),
        "payments.csv:2:",
    ),
    (
        "allocation_unknown_invoice",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,5.00,,,I1=1.00;I9=2.00")),
        "payments.csv:2:",
    ),
    (
        "payment_another_customers_invoice",
        ledger_files(payments_csv=payments("P1,C2,2026-03-06,5.00,,I1,")),
        "payments.csv:2:",
    ),
    (
        "allocation_another_customers_invoice",
        ledger_files(payments_csv=payments("P1,C1,2026-03-06,9.00,,,I1=1.00;I2=2.00")),
        "payments.csv:2:",
    ),
    (
        "adjustment_another_customers_invoice",
        ledger_files(
            adjustments_csv="id,customer,date,amount,kind,invoice\n"
            "A1,C2,2026-03-06,5.00,credit_note,I1\n"
        ),
        "adjustments.csv:2:",
    ),
    (
        "contact_another_customers_invoice",
        ledger_files(
            contacts_csv="customer,date,channel,invoice\nC2,2026-03-06,phone,I1\n"
        ),
        "contacts.csv:2:",
    ),
    (
        "allocations_over_the_amount",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,5.00,,,I1=3.00;I3=2.01")),
        "payments.csv:2:",
    ),
    (
        "invoice_and_allocations",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,5.00,,I1,I3=2.00")),
        "payments.csv:2:",
    ),
    (
        "allocation_decimals_jpy",
        ledger_files(payments_csv=payments("P1,J1,2026-03-02,100,,,J1-1=99.5")),
        "payments.csv:2:",
    ),
    (
        "payment_decimals_jpy",
        ledger_files(payments_csv=payments("P1,J1,2026-03-02,100.5,,J1-1,")),
        "payments.csv:2:",
    ),
    (
        "invoice_decimals_jpy",
        ledger_files(invoices_csv=INVOICES + "J1-2,J1,2026-05-01,10.5\n"),
        "invoices.csv:6:",
    ),
    (
        "invoice_three_decimals_usd",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-05-01,10.005\n"),
        "invoices.csv:6:",
    ),
    (
        "schedule_decimals_jpy",
        ledger_files(
            invoices_csv=invoices(
                "J1-2,J1,2026-03-01,100,2026-04-01=50.5;2026-05-01=49.5",
                header="id,customer,date,amount,schedule",
            )
        ),
        "invoices.csv:2:",
    ),
    (
        "currency_mismatch_payment",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,5.00,EUR,I1,")),
        "payments.csv:2:",
    ),
    (
        "currency_mismatch_allocation",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,5.00,EUR,,I1=2.00")),
        "payments.csv:2:",
    ),
    (
        "currency_mismatch_adjustment",
        ledger_files(
            adjustments_csv="id,customer,date,amount,kind,invoice,currency\n"
            "A1,C1,2026-03-02,5.00,discount,I1,EUR\n"
        ),
        "adjustments.csv:2:",
    ),
    (
        "bad_currency_code",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,5.00,DOLLARS",
                header="id,customer,date,amount,currency",
            )
        ),
        "invoices.csv:2:",
    ),
    (
        "date_day_first",
        ledger_files(invoices_csv=INVOICES + "I9,C1,31/03/2026,10.00\n"),
        "invoices.csv:6:",
    ),
    (
        "date_impossible",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-02-30,10.00\n"),
        "invoices.csv:6:",
    ),
    (
        "payment_date_impossible",
        ledger_files(payments_csv=payments("P1,C1,2026-04-31,5.00,,,")),
        "payments.csv:2:",
    ),
    (
        "date_out_of_range",
        ledger_files(invoices_csv=INVOICES + "I9,C1,1899-12-31,10.00\n"),
        "invoices.csv:6:",
    ),
    (
        "amount_negative",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-03-01,-5\n"),
        "invoices.csv:6:",
    ),
    (
        "amount_zero",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-03-01,0.00\n"),
        "invoices.csv:6:",
    ),
    (
        "payment_amount_negative",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,-5.00,,,")),
        "payments.csv:2:",
    ),
    (
        "payment_amount_zero",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,0,,,")),
        "payments.csv:2:",
    ),
    (
        "allocation_zero",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,5.00,,,I1=0")),
        "payments.csv:2:",
    ),
    (
        "amount_not_a_number",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-03-01,12;0x\n"),
        "invoices.csv:6:",
    ),
    (
        "amount_with_exponent",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-03-01,1e3\n"),
        "invoices.csv:6:",
    ),
    (
        "amount_missing",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-03-01,\n"),
        "invoices.csv:6:",
    ),
    (
        "unclosed_quote",
        ledger_files(
            invoices_csv=invoices(
                'I9,C1,2026-03-01,5.00,"never closed',
                header="id,customer,date,amount,description",
            )
        ),
        "invoices.csv:2:",
    ),
    (
        "extra_cell",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-03-01,10.00,surplus\n"),
        "invoices.csv:6:",
    ),
    (
        "non_utf8_invoices",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,5.00,caf\xe9",
                header="id,customer,date,amount,description",
            ).encode("latin-1")
        ),
        "invoices.csv:2:",
    ),
    (
        "non_utf8_payments",
        ledger_files(
            payments_csv=(
                PAYMENTS_HEADER.rstrip("\n") + ",method\n"
                "P1,C1,2026-03-02,5.00,,,,ch\xe8que\n"
            ).encode("latin-1")
        ),
        "payments.csv:2:",
    ),
    (
        "schedule_not_adding_up",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,1000.00,2026-04-01=500.00;2026-05-01=400.00",
                header="id,customer,date,amount,schedule",
            )
        ),
        "invoices.csv:2:",
    ),
    (
        "schedule_not_key_value",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,1000.00,2026-04-01:1000.00",
                header="id,customer,date,amount,schedule",
            )
        ),
        "invoices.csv:2:",
    ),
    (
        "instalment_due_before_date",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,1000.00,2026-02-01=500.00;2026-05-01=500.00",
                header="id,customer,date,amount,schedule",
            )
        ),
        "invoices.csv:2:",
    ),
    (
        "schedule_and_another_due",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,1000.00,2026-09-01,2026-04-01=500.00;2026-05-01=500.00",
                header="id,customer,date,amount,due,schedule",
            )
        ),
        "invoices.csv:2:",
    ),
    (
        "due_before_date",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,5.00,2026-02-01", header="id,customer,date,amount,due"
            )
        ),
        "invoices.csv:2:",
    ),
    (
        "bad_disputed",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,5.00,maybe", header="id,customer,date,amount,disputed"
            )
        ),
        "invoices.csv:2:",
    ),
    (
        "adjustment_bad_kind",
        ledger_files(
            adjustments_csv="id,customer,date,amount,kind\n"
            "A1,C1,2026-03-02,5.00,refund\n"
        ),
        "adjustments.csv:2:",
    ),
    (
        "adjustment_without_id",
        ledger_files(
            adjustments_csv="id,customer,date,amount,kind\n"
            ",C1,2026-03-02,5.00,discount\n"
        ),
        "adjustments.csv:2:",
    ),
    # The lane reads YAML record files too (through fastpath.read_yaml_fast).
    (
        "yaml_unknown_field",
        ledger_files(
            invoices_yaml="- {id: I9, customer: C1, date: 2026-03-01, ammount: 5}\n"
        ),
        "invoices.yaml:1:",
    ),
    (
        "yaml_invoice_also_in_csv",
        ledger_files(
            invoices_yaml="- {id: I1, customer: C1, date: 2026-05-01, amount: 5}\n"
        ),
        "invoices.csv:2:",  # invoices.yaml is read first
    ),
    (
        "yaml_payment_another_customers_invoice",
        ledger_files(
            payments_yaml="- {customer: C2, date: 2026-03-06, amount: 5, invoice: I1}\n"
        ),
        "payments.yaml:1:",
    ),
    (
        "yaml_allocation_decimals_jpy",
        ledger_files(
            payments_yaml="- customer: J1\n  date: 2026-03-02\n  amount: 100\n"
            "  allocations:\n    J1-1: 99.5\n"
        ),
        "payments.yaml:",
    ),
    (
        "yaml_schedule_not_adding_up",
        ledger_files(
            invoices_yaml="- {id: I9, customer: C1, date: 2026-03-01, amount: 10, "
            "schedule: [{due: 2026-04-01, amount: 5}, {due: 2026-05-01, amount: 4}]}\n"
        ),
        "invoices.yaml:1:",
    ),
    (
        "yaml_disputed_not_a_flag",
        ledger_files(
            invoices_yaml="- {id: I9, customer: C1, date: 2026-03-01, amount: 10, "
            "disputed: maybe}\n"
        ),
        "invoices.yaml:1:",
    ),
    (
        "bad_settings",
        ledger_files(
            **{"arledger.yaml": "curency: USD\n"},
            payments_csv=payments("P1,C1,2026-03-02,5.00,,I1,"),
        ),
        "arledger.yaml:1:",
    ),
]


@pytest.mark.parametrize(("name", "files", "where"), BROKEN, ids=[b[0] for b in BROKEN])
def test_lane_declines_a_broken_ledger_and_aging_says_where(
    native, tmp_path, monkeypatch, name, files, where
):
    monkeypatch.delenv("ARLEDGER_NO_NATIVE", raising=False)
    monkeypatch.setenv("ARLEDGER_NO_CACHE", "1")
    root = write_files(tmp_path / name, files)
    _, problems = careful(root)
    assert problems, f"{name}: the careful path finds nothing wrong (a bad case)"
    assert load_lean(root) is None, f"{name}: the lane took it; load says {problems}"
    result = aging("--ledger", str(root), "--as-of", AS_OF)
    out = (result.stdout or "") + (result.stderr or "")
    assert result.exit_code == 2, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert result.stdout == "", "a report was printed for a broken ledger"
    assert PROBLEM_LINE.search(result.stderr), result.stderr
    assert any(line.startswith(where) for line in result.stderr.splitlines()), (
        f"expected a problem at {where}\n{result.stderr}"
    )


# Odd shapes the careful path reads without complaint: the lane may decline
# them (it declines whatever it is not sure of) or take them, but the report
# must be the same either way.
ODD_BUT_VALID = [
    (
        "quoted_cell_over_two_lines",
        ledger_files(
            invoices_csv=invoices(
                'I9,C1,2026-03-01,5.00,"line one\nline two"',
                "I10,C1,2026-03-02,6.00,plain",
                header="id,customer,date,amount,description",
            )
        ),
    ),
    (
        "blank_line_in_the_middle",
        ledger_files(invoices_csv=INVOICES.replace("I2,", "\nI2,")),
    ),
    (
        "blank_lines_at_the_end",
        ledger_files(invoices_csv=INVOICES + "\n\n"),
    ),
    (
        "plus_sign_amount",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-03-01,+5\n"),
    ),
    (
        "empty_extra_cell",
        ledger_files(invoices_csv=INVOICES + "I9,C1,2026-03-01,10.00,,\n"),
    ),
    (
        "short_row",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,5.00", header="id,customer,date,amount,due"
            )
        ),
    ),
    (
        "quoted_cells",
        ledger_files(
            invoices_csv=invoices(
                '"I9","C1","2026-03-01","5.00","a, ""b"""',
                header="id,customer,date,amount,description",
            )
        ),
    ),
    (
        "crlf_and_no_final_newline",
        ledger_files(invoices_csv=INVOICES.replace("\n", "\r\n").rstrip("\r\n")),
    ),
    (
        "bom_and_spaces",
        ledger_files(
            invoices_csv=b"\xef\xbb\xbf" + b" id , customer ,date,amount\n"
            b" I9 ,\tC1\t, 2026-03-01 , 7.5 \n"
        ),
    ),
    (
        "nbsp_around_an_id",
        ledger_files(invoices_csv=invoices("\u00a0I9\u00a0,C1,2026-03-01,5.00")),
    ),
    (
        "amounts_written_oddly",
        ledger_files(
            invoices_csv=invoices(
                "I9,C1,2026-03-01,007.50",
                "I10,C1,2026-03-01,.5",
                "I11,C1,2026-03-01,5.",
                "I12,J1,2026-03-01,100.000",
                "I13,C1,2026-03-01,3.10000",
            )
        ),
    ),
    (
        "allocations_with_spaces_and_a_trailing_semicolon",
        ledger_files(
            payments_csv=payments("P1,C1,2026-03-02,5.00,,, I1 = 1.00 ; I3=2.00;")
        ),
    ),
    (
        "empty_allocations",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,5.00,,,;")),
    ),
    (
        "header_only",
        ledger_files(payments_csv=PAYMENTS_HEADER),
    ),
    (
        "empty_file",
        ledger_files(payments_csv=""),
    ),
    (
        "all_empty_row",
        ledger_files(payments_csv=payments("P1,C1,2026-03-02,5.00,,,", ",,,,,,")),
    ),
    (
        "id_like_a_payment_reference",
        ledger_files(
            payments_csv=payments(
                "payments.csv:3,C1,2026-03-02,5.00,,,", ",C1,2026-03-02,5.00,,,"
            )
        ),
    ),
]


@pytest.mark.parametrize(
    ("name", "files"), ODD_BUT_VALID, ids=[o[0] for o in ODD_BUT_VALID]
)
def test_odd_but_valid_csv_gives_the_same_report(
    native, tmp_path, monkeypatch, name, files
):
    monkeypatch.setenv("ARLEDGER_NO_CACHE", "1")
    root = write_files(tmp_path / name, files)
    ledger, problems = careful(root)
    assert not problems, f"{name}: not valid after all: {problems}"
    lean = load_lean(root)
    if lean is not None:
        for as_of in as_of_dates(ledger):
            assert_same(ledger, lean, as_of)
    for args in (["--format", "json"], ["--detail", "--format", "json"]):
        monkeypatch.delenv("ARLEDGER_NO_NATIVE", raising=False)
        with_lane = aging("--ledger", str(root), "--as-of", AS_OF, *args)
        monkeypatch.setenv("ARLEDGER_NO_NATIVE", "1")
        without = aging("--ledger", str(root), "--as-of", AS_OF, *args)
        assert with_lane.exit_code == without.exit_code == 0, with_lane.output
        assert with_lane.stdout == without.stdout


YAML_KEYS = ["' I1 '", "'I1 '", '"\\tI1"']


def yaml_allocation_ledger(root: Path, key: str) -> Path:
    """A payment whose YAML allocations name `key`, which is not the id `I1`."""
    return write_files(
        root,
        {
            "customers.csv": "id,name\nC1,One\n",
            "invoices.csv": "id,customer,date,amount\nI1,C1,2026-03-01,100.00\n",
            "payments.yaml": "- {customer: C1, date: 2026-03-02, amount: 50.00, "
            f"allocations: {{{key}: 5.00}}}}\n",
        },
    )


@pytest.mark.parametrize("key", YAML_KEYS)
def test_careful_path_refuses_a_yaml_allocation_key_with_spaces(tmp_path, key):
    """What the test below stands on: `load` keeps YAML keys as written."""
    _, problems = careful(yaml_allocation_ledger(tmp_path / "ledger", key))
    assert len(problems) == 1
    assert str(problems[0]).startswith("payments.yaml:1: allocations: unknown invoice")


@pytest.mark.parametrize("key", YAML_KEYS)
def test_lane_declines_a_yaml_allocation_naming_no_invoice(
    native, tmp_path, monkeypatch, key
):
    monkeypatch.delenv("ARLEDGER_NO_NATIVE", raising=False)
    root = yaml_allocation_ledger(tmp_path / "ledger", key)
    result = aging("--ledger", str(root), "--as-of", AS_OF)
    assert "unknown invoice" in result.stderr, result.stdout  # lane: a report
    assert result.exit_code == 2 and result.stdout == ""
    assert load_lean(root) is None


# ------------------------------------------- 4. the same bytes through the CLI

ODD_DECIMALS = {
    "customers.csv": CUSTOMERS,
    "invoices.csv": invoices(
        "I1,C1,2026-03-01,100,,",
        "I2,C1,2026-03-05,0.5,,yes",
        "I3,C1,2026-04-01,1210.7,2026-04-15,",
        "E1,C2,2026-03-01,80.10,,",
        "J1-1,J1,2026-03-01,1000,,",
        "J1-2,J1,2026-06-01,3000.0,,",
        "S1,U1,2026-02-01,999.99,,",
        header="id,customer,date,amount,due,disputed",
    ),
    "payments.csv": payments(
        "P1,C1,2026-03-10,60.5,,I1,",
        ",C1,2026-03-11,0.25,,,",
        "P3,J1,2026-03-20,250,,,J1-1=200",
        "P4,C2,2026-02-01,10,,,",
        "P5,U1,2026-01-15,1000,,S1,",
        "P6,C1,2026-01-01,20,,,I3=20",
    ),
    "adjustments.csv": "id,customer,date,amount,kind,invoice\n"
    "A1,C1,2026-05-01,1.5,discount,I3\n"
    "A2,J1,2026-06-02,100,write_off,\n"
    "A3,C2,2026-04-01,0.10,credit_note,E1\n",
}

CLI_FILTERS = (
    [],
    ["--customer", "C1"],
    ["--owner", "lin"],
    ["--currency", "EUR"],
    ["--currency", "JPY"],
)


JSON_SHAPES = (["--format", "json"], ["--detail", "--format", "json"])
MORE_SHAPES = (
    ["--format", "table"],
    ["--detail", "--format", "csv"],
    ["--format", "md"],
    ["--basis", "invoice", "--buckets", "45,90", "--format", "json"],
    ["--fail-on", "overdue", "--format", "json"],
    ["--fail-on", "hold", "--format", "csv"],
)


def cli_same(
    root: Path, monkeypatch, as_ofs: list[str], filters=CLI_FILTERS, shapes=JSON_SHAPES
) -> None:
    """`aging` prints the same with the lane as with ARLEDGER_NO_NATIVE=1, and
    the lane did answer (a spy counts its settlements)."""
    calls = spy_on_the_lane(monkeypatch)
    monkeypatch.setenv("ARLEDGER_NO_CACHE", "1")
    for as_of in as_ofs:
        for extra in filters:
            for shape in shapes:
                args = ["--ledger", str(root), "--as-of", as_of, *shape, *extra]
                monkeypatch.delenv("ARLEDGER_NO_NATIVE", raising=False)
                before = len(calls)
                lane = aging(*args)
                assert len(calls) == before + 1, f"the lane did not answer {args}"
                monkeypatch.setenv("ARLEDGER_NO_NATIVE", "1")
                careful_run = aging(*args)
                assert len(calls) == before + 1, "ARLEDGER_NO_NATIVE=1 went by the lane"
                assert lane.exit_code == careful_run.exit_code, (args, lane.output)
                assert lane.exit_code in (0, 1), (args, lane.output)
                assert lane.stdout == careful_run.stdout, args
                assert lane.stderr == careful_run.stderr, args


def test_cli_output_is_the_same_on_small_csv(native, monkeypatch):
    cli_same(
        LEDGERS / "small_csv",
        monkeypatch,
        ["2026-08-31", AS_OF, "2027-06-30"],
        ([], ["--customer", "ACME"], ["--owner", "lin"], ["--currency", "EUR"]),
    )
    cli_same(LEDGERS / "small_csv", monkeypatch, [AS_OF], ([],), MORE_SHAPES)


def test_cli_output_is_the_same_with_oddly_written_amounts(
    native, tmp_path, monkeypatch
):
    root = write_files(tmp_path / "odd", ODD_DECIMALS)
    ledger, problems = careful(root)
    assert not problems
    lean = load_lean(root)
    assert lean is not None
    for as_of in as_of_dates(ledger):
        for f in view_filters(ledger):
            assert_same(ledger, lean, as_of, **f)
    cli_same(root, monkeypatch, ["2026-03-12", AS_OF])
    cli_same(root, monkeypatch, [AS_OF], ([],), MORE_SHAPES)


def test_cli_output_is_the_same_on_a_generated_ledger(native, generated, monkeypatch):
    path = generated[1, "csv"]
    ledger, _ = careful(path)
    busiest = Counter(i.customer for i in ledger.invoices.values()).most_common(1)[0][0]
    owner = next(c.owner for c in ledger.customers.values() if c.owner)
    cli_same(path, monkeypatch, ["2025-09-30"], ([],))
    cli_same(
        path,
        monkeypatch,
        ["2027-01-01"],
        ([], ["--customer", busiest], ["--owner", owner], ["--currency", "EUR"]),
    )
    cli_same(path, monkeypatch, ["2027-01-01"], ([],), MORE_SHAPES[:2])


def test_cli_output_is_the_same_on_a_generated_yaml_ledger(
    native, generated, monkeypatch
):
    path = generated[1, "yaml"]
    if load_lean(path) is None:
        pytest.skip("the lane declined the YAML ledger")
    cli_same(path, monkeypatch, ["2027-01-01"], ([], ["--currency", "EUR"]))


# ------------------------------------------- 5. random small ledgers

WINDOW = (date(2026, 1, 1), date(2026, 4, 30))  # narrow: many records share a day
CUSTOMER_IDS = ("C1", "C2", "C3", "C4")
MISTAKES = (
    "other_customers_invoice",
    "allocations_over_amount",
    "decimals_in_jpy",
    "currency_mismatch",
    "unknown_invoice",
    "duplicate_invoice",
    "unknown_customer",
)


def text_of(cents: int, places: int, style: int) -> str:
    """An amount of `cents` minor units, written one of several equal ways."""
    if places == 0:
        return [str(cents), f"{cents}.0", f"{cents}"][style % 3]
    whole, part = divmod(cents, 10**places)
    text = f"{whole}.{part:0{places}d}"
    if style % 3 == 1:
        text = text.rstrip("0").rstrip(".")  # 100 / 100.5
    elif style % 3 == 2:
        text = text + "0"  # 100.500
    return text


@st.composite
def small_ledgers(draw) -> dict[str, Any]:
    """A plain ledger as rows of text cells, and, now and then, one mistake."""
    base = draw(st.sampled_from(["USD", "USD", "EUR", "JPY"]))
    default_terms = draw(st.sampled_from([None, 0, 20]))
    n_customers = draw(st.integers(2, 4))
    customers = []
    for k in range(n_customers):
        customers.append(
            {
                "id": CUSTOMER_IDS[k],
                "name": f"Customer {k}",
                "currency": draw(st.sampled_from(["", "", "EUR", "JPY"])),
                "terms": draw(st.sampled_from(["", "0", "15", "30", "45"])),
                "owner": draw(st.sampled_from(["", "lin", "wang"])),
            }
        )
    home = {c["id"]: c["currency"] or base for c in customers}
    days = st.dates(*WINDOW)

    def money(currency: str, low: int = 1, high: int = 200_000) -> tuple[int, str]:
        places = minor_units(currency)
        if places == 0:
            cents = draw(st.integers(max(1, low // 100), max(1, high // 100)))
        else:
            cents = draw(st.integers(low, high))
        return cents, text_of(cents, places, draw(st.integers(0, 2)))

    invoices = []
    for k in range(draw(st.integers(0, 30))):
        customer = draw(st.sampled_from(customers))["id"]
        currency = draw(st.sampled_from(["", "", "", "", home[customer], "EUR", "USD"]))
        real_currency = currency or home[customer]
        day = draw(days)
        cents, amount = money(real_currency)
        row = {
            "id": draw(
                st.sampled_from([f"INV-{k}", f"I{k:02d}", f"inv {k}", f"Ä-{k}"])
            ),
            "customer": customer,
            "date": day.isoformat(),
            "amount": amount,
            "currency": currency,
            "disputed": draw(st.sampled_from(["", "", "", "", "true", "yes", "0"])),
            "owner": draw(st.sampled_from(["", "", "", "lin", "chen"])),
            "due": "",
            "schedule": [],
        }
        shape = draw(st.sampled_from(["terms", "terms", "due", "schedule"]))
        if shape == "due":
            row["due"] = (day + timedelta(days=draw(st.integers(0, 90)))).isoformat()
        elif shape == "schedule" and cents >= 3:
            parts = draw(st.integers(2, 3))
            cuts = sorted(
                draw(
                    st.sets(
                        st.integers(1, cents - 1),
                        min_size=parts - 1,
                        max_size=parts - 1,
                    )
                )
            )
            bounds = [0, *cuts, cents]
            places = minor_units(real_currency)
            for a, b in zip(bounds, bounds[1:], strict=False):
                due = day + timedelta(days=draw(st.integers(0, 120)))
                row["schedule"].append((due.isoformat(), text_of(b - a, places, 0)))
            if draw(st.booleans()):
                row["due"] = max(d for d, _ in row["schedule"])
        row["_currency"], row["_cents"] = real_currency, cents
        invoices.append(row)
    # Ids must differ: keep the first of each.
    seen: set[str] = set()
    invoices = [r for r in invoices if not (r["id"] in seen or seen.add(r["id"]))]

    def of(customer: str, currency: str | None = None) -> list[dict]:
        return [
            i
            for i in invoices
            if i["customer"] == customer
            and (currency is None or i["_currency"] == currency)
        ]

    payments = []
    for k in range(draw(st.integers(0, 30))):
        customer = draw(st.sampled_from(customers))["id"]
        mode = draw(st.sampled_from(["free", "invoice", "invoice", "allocations"]))
        mine = of(customer)
        if not mine:
            mode = "free"
        row = {
            "id": draw(st.sampled_from([f"P{k}", f"P{k}", f"PAY-{k:03d}", ""])),
            "customer": customer,
            "date": draw(days).isoformat(),
            "currency": "",
            "invoice": "",
            "allocations": [],
        }
        if mode == "free":
            currency = draw(st.sampled_from(["", "", home[customer], "EUR", "USD"]))
            row["currency"] = currency
            row["amount"] = money(currency or home[customer])[1]
        elif mode == "invoice":
            target = draw(st.sampled_from(mine))
            row["invoice"] = target["id"]
            row["currency"] = draw(st.sampled_from(["", target["_currency"]]))
            if draw(st.booleans()):
                row["amount"] = target["amount"]
            else:
                row["amount"] = money(target["_currency"])[1]
        else:
            first = draw(st.sampled_from(mine))
            currency = first["_currency"]
            same = of(customer, currency)
            named = draw(
                st.lists(
                    st.sampled_from(same),
                    min_size=1,
                    max_size=3,
                    unique_by=lambda r: r["id"],
                )
            )
            places = minor_units(currency)
            total = 0
            for target in named:
                cents = draw(st.integers(1, max(1, target["_cents"] + 50)))
                total += cents
                row["allocations"].append((target["id"], text_of(cents, places, 1)))
            extra = draw(st.sampled_from([0, 0, 1, 5_000]))
            if places == 0:
                extra //= 100
            row["amount"] = text_of(total + extra, places, draw(st.integers(0, 2)))
            row["currency"] = draw(st.sampled_from(["", currency]))
        payments.append(row)

    adjustments = []
    for k in range(draw(st.integers(0, 8))):
        customer = draw(st.sampled_from(customers))["id"]
        kind = draw(st.sampled_from(["credit_note", "write_off", "discount"]))
        mine = of(customer)
        row = {
            "id": f"A{k}",
            "customer": customer,
            "date": draw(days).isoformat(),
            "kind": kind,
            "invoice": "",
            "currency": "",
        }
        if mine and draw(st.booleans()):
            target = draw(st.sampled_from(mine))
            row["invoice"] = target["id"]
            row["currency"] = draw(st.sampled_from(["", target["_currency"]]))
            row["amount"] = money(target["_currency"])[1]
        else:
            row["currency"] = draw(st.sampled_from(["", "", home[customer], "EUR"]))
            row["amount"] = money(row["currency"] or home[customer])[1]
        adjustments.append(row)

    mistake = None
    if draw(st.integers(0, 9)) == 0:  # one ledger in ten has one mistake
        mistake = draw(st.sampled_from(MISTAKES))
        spoil(draw, mistake, customers, invoices, payments, home)
    return {
        "customers": customers,
        "invoices": invoices,
        "payments": payments,
        "adjustments": adjustments,
        "split_invoices": draw(st.booleans()),
        "split_payments": draw(st.booleans()),
        "padded": draw(st.sampled_from([False, False, True])),
        "base": base,
        "default_terms": default_terms,
        "mistake": mistake,
    }


def spoil(draw, mistake, customers, invoices, payments, home) -> None:
    """Make one mistake that the careful path must report."""
    first = customers[0]["id"]
    other = customers[1]["id"]
    day = WINDOW[0].isoformat()
    if mistake == "other_customers_invoice":
        invoices.append(
            {
                "id": "X-1",
                "customer": first,
                "date": day,
                "amount": "10.00",
                "currency": "USD",
                "_currency": "USD",
                "_cents": 1000,
            }
        )
        payments.append(
            {
                "id": "X-P",
                "customer": other,
                "date": day,
                "amount": "5.00",
                "currency": "USD",
                "invoice": "X-1",
                "allocations": [],
            }
        )
    elif mistake == "allocations_over_amount":
        invoices.append(
            {
                "id": "X-1",
                "customer": first,
                "date": day,
                "amount": "10.00",
                "currency": "USD",
                "_currency": "USD",
                "_cents": 1000,
            }
        )
        payments.append(
            {
                "id": "X-P",
                "customer": first,
                "date": day,
                "amount": "5.00",
                "currency": "USD",
                "invoice": "",
                "allocations": [("X-1", "5.01")],
            }
        )
    elif mistake == "decimals_in_jpy":
        payments.append(
            {
                "id": "X-P",
                "customer": first,
                "date": day,
                "amount": "5.5",
                "currency": "JPY",
                "invoice": "",
                "allocations": [],
            }
        )
    elif mistake == "currency_mismatch":
        invoices.append(
            {
                "id": "X-1",
                "customer": first,
                "date": day,
                "amount": "10.00",
                "currency": "USD",
                "_currency": "USD",
                "_cents": 1000,
            }
        )
        payments.append(
            {
                "id": "X-P",
                "customer": first,
                "date": day,
                "amount": "5.00",
                "currency": "EUR",
                "invoice": "X-1",
                "allocations": [],
            }
        )
    elif mistake == "unknown_invoice":
        payments.append(
            {
                "id": "X-P",
                "customer": first,
                "date": day,
                "amount": "5.00",
                "currency": "",
                "invoice": "NO-SUCH",
                "allocations": [],
            }
        )
    elif mistake == "duplicate_invoice":
        invoices.append(
            {
                "id": "X-1",
                "customer": first,
                "date": day,
                "amount": "10.00",
                "currency": "USD",
                "_currency": "USD",
                "_cents": 1000,
            }
        )
        invoices.append(
            {
                "id": "X-1",
                "customer": other,
                "date": day,
                "amount": "12.00",
                "currency": "USD",
                "_currency": "USD",
                "_cents": 1200,
            }
        )
    elif mistake == "unknown_customer":
        payments.append(
            {
                "id": "X-P",
                "customer": "C9",
                "date": day,
                "amount": "5.00",
                "currency": "",
                "invoice": "",
                "allocations": [],
            }
        )


INVOICE_COLUMNS = (
    "id",
    "customer",
    "date",
    "due",
    "amount",
    "currency",
    "owner",
    "disputed",
    "schedule",
)
PAYMENT_COLUMNS = (
    "id",
    "customer",
    "date",
    "amount",
    "currency",
    "invoice",
    "allocations",
)
ADJUSTMENT_COLUMNS = ("id", "customer", "date", "amount", "kind", "invoice", "currency")


def csv_cell(value: Any, padded: bool) -> str:
    """A cell; `padded`: with spaces around it and its parts (read stripped)."""
    pad = " " if padded else ""
    if isinstance(value, list):
        return ";".join(f"{pad}{k}{pad}={pad}{v}{pad}" for k, v in value)
    return f"{pad}{value}{pad}" if value else ""


def write_csv(
    path: Path, columns: tuple[str, ...], rows: list[dict], padded: bool = False
) -> None:
    lines = [",".join(columns)]
    lines += [",".join(csv_cell(row.get(c), padded) for c in columns) for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def yaml_value(key: str, value: Any) -> str:
    if key == "schedule":
        return "[" + ", ".join(f"{{due: {d}, amount: {a}}}" for d, a in value) + "]"
    if key == "allocations":
        return "{" + ", ".join(f"'{k}': {v}" for k, v in value) + "}"
    return f"'{value}'" if " " in value else value


def write_yaml(
    path: Path, columns: tuple[str, ...], rows: list[dict], padded: bool = False
) -> None:
    lines = []
    for row in rows:
        pairs = [f"{c}: {yaml_value(c, row[c])}" for c in columns if row.get(c)]
        lines.append("- {" + ", ".join(pairs) + "}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n" if lines else "[]\n", encoding="utf-8")


def write_small_ledger(root: Path, spec: dict[str, Any], fmt: str) -> None:
    def write(kind: str, columns: tuple[str, ...], rows: list[dict], split: bool):
        writer = write_csv if fmt == "csv" else write_yaml
        if split and len(rows) > 1:
            half = len(rows) // 2
            writer(root / kind / f"a.{fmt}", columns, rows[:half], spec["padded"])
            writer(root / kind / f"b.{fmt}", columns, rows[half:], spec["padded"])
        elif rows:
            writer(root / f"{kind}.{fmt}", columns, rows, spec["padded"])

    settings_text = f"currency: {spec['base']}\n"
    if spec["default_terms"] is not None:
        settings_text += f"terms: {{default: {spec['default_terms']}}}\n"
    (root / "arledger.yaml").write_text(settings_text, encoding="utf-8")
    write_csv(
        root / "customers.csv",
        ("id", "name", "currency", "terms", "owner"),
        spec["customers"],
    )
    write("invoices", INVOICE_COLUMNS, spec["invoices"], spec["split_invoices"])
    write("payments", PAYMENT_COLUMNS, spec["payments"], spec["split_payments"])
    write("adjustments", ADJUSTMENT_COLUMNS, spec["adjustments"], False)


def assert_money_adds_up(careful_ledger: Any, lean: Any, as_of: date) -> None:
    """Per customer and currency: open items - credits = invoiced - received,
    no open balance is negative or above its amount, every credit is positive."""
    ledger, bulk = lean
    got = settle_lean(ledger.view(as_of), bulk)
    view = careful_ledger.view(as_of)
    currency_of = careful_ledger.currency_of
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for invoice in view.invoices:
        expected[invoice.customer, currency_of(invoice)] += invoice.amount
    for record in (*view.payments, *view.adjustments):
        expected[record.customer, currency_of(record)] -= record.amount
    found: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for item in got.items:
        assert ZERO < item.open <= item.amount, item
        found[item.customer, item.currency] += item.open
    for credit in got.credits:
        assert credit.amount > ZERO, credit
        found[credit.customer, credit.currency] -= credit.amount
    keys = set(expected) | set(found)
    assert {k: found[k] for k in keys} == {k: expected[k] for k in keys}, as_of


def check_small_ledger(spec: dict[str, Any], fmt: str, as_ofs: list[date]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_small_ledger(root, spec, fmt)
        ledger, problems = careful(root)
        lean = load_lean(root)
        if problems:
            event(f"careful errors ({spec['mistake'] or 'no mistake drawn'})")
            assert lean is None, f"the lane took a ledger with errors: {problems}"
            return
        event("plain ledger")
        assert spec["mistake"] is None, f"{spec['mistake']}: not reported by load"
        assert lean is not None, "the lane declined a plain, valid ledger"
        days = record_dates(ledger) or [WINDOW[0]]
        edges = [days[0] - timedelta(days=1), days[len(days) // 2], days[-1]]
        for as_of in sorted({*as_ofs, *edges, days[-1] + timedelta(days=1)}):
            assert_same(ledger, lean, as_of)
            assert_money_adds_up(ledger, lean, as_of)
        as_of = as_ofs[0]
        for filters in view_filters(ledger):
            assert_same(ledger, lean, as_of, **filters)


PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
any_as_of = st.dates(WINDOW[0] - timedelta(days=10), WINDOW[1] + timedelta(days=200))


@PROPERTY
@given(small_ledgers(), st.lists(any_as_of, min_size=1, max_size=3))
def test_random_csv_ledgers_settle_the_same(spec, as_ofs):
    pytest.importorskip("arledger._bulk")
    check_small_ledger(spec, "csv", as_ofs)


@PROPERTY
@given(small_ledgers(), st.lists(any_as_of, min_size=1, max_size=3))
def test_random_yaml_ledgers_settle_the_same(spec, as_ofs):
    """The lane reads YAML too (fastpath.read_yaml_fast): the same holds."""
    pytest.importorskip("arledger._bulk")
    check_small_ledger(spec, "yaml", as_ofs)
