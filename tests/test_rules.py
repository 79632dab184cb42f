"""One test per rule of SPEC §2 (payment application and aging).

Every expected figure below was computed by hand from the SPEC, not by
running the program; each docstring shows the arithmetic.

Calendar used (2026): Jan 31, Feb 28, Mar 31, Apr 30, May 31, Jun 30,
Jul 31, Aug 31, Sep 30, Oct 31, Nov 30, Dec 31 days.

Lead decision (deviates from SPEC on purpose): automatic (oldest-first)
application of a payment or of an invoice-less adjustment SKIPS disputed
items; only an explicit `invoice` / `allocations` reference applies to a
disputed invoice.
"""

import json
import textwrap
from decimal import Decimal

from typer.testing import CliRunner

from arledger.cli import app


def make_ledger(tmp_path, **files: str):
    """Write inline YAML files: make_ledger(tmp_path, customers="...", invoices="...")."""
    for kind, text in files.items():
        name = "arledger.yaml" if kind == "settings" else f"{kind}.yaml"
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def aging(ledger, as_of, *args):
    result = CliRunner().invoke(
        app,
        ["aging", "--ledger", str(ledger), "--as-of", as_of, "--format", "json", *args],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------- helpers

DUE_BUCKETS = ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]
INVOICE_BUCKETS = ["0-30", "31-60", "61-90", "91-120", "120+"]


def section(report, currency="USD"):
    """The section of one currency (asserts there is exactly one)."""
    found = [s for s in report["sections"] if s["currency"] == currency]
    assert len(found) == 1, [s["currency"] for s in report["sections"]]
    return found[0]


def amount_keys(report):
    return [*report["buckets"], "unapplied", "total"]


def pick(row, keys):
    return {k: row[k] for k in keys}


def rows_by_customer(report, currency="USD"):
    """{customer id: {bucket..., unapplied, total}} for one currency section."""
    keys = amount_keys(report)
    rows = section(report, currency)["rows"]
    ids = [r["customer"] for r in rows]
    assert len(ids) == len(set(ids)), f"duplicate customer rows: {ids}"
    return {r["customer"]: pick(r, keys) for r in rows}


def all_customers(report):
    """Customer ids having a row in any section (sections may be absent or empty)."""
    return {r["customer"] for s in report["sections"] for r in s["rows"]}


def totals(report, currency="USD"):
    return pick(section(report, currency)["totals"], amount_keys(report))


def exp(amounts=None, *, total, unapplied="0.00", buckets=DUE_BUCKETS):
    """Expected amounts of a row: named buckets, every other bucket "0.00"."""
    amounts = amounts or {}
    assert set(amounts) <= set(buckets), amounts
    row = {b: amounts.get(b, "0.00") for b in buckets}
    row["unapplied"] = unapplied
    row["total"] = total
    return row


def detail(report, currency="USD"):
    """Open items as a set of (invoice, item, bucket, open).

    Rows with bucket "unapplied" (a customer's credit, invoice null, shown so
    that the unapplied column can be traced too) are not items: see
    detail_credit().
    """
    rows = [r for r in section(report, currency)["rows"] if r["bucket"] != "unapplied"]
    items = [(r["invoice"], r["item"], r["bucket"], r["open"]) for r in rows]
    assert len(items) == len(set(items)), items
    return set(items)


def detail_rows(report, currency="USD"):
    """{(invoice, item): row} of a --detail report (open items only)."""
    rows = section(report, currency)["rows"]
    return {(r["invoice"], r["item"]): r for r in rows if r["bucket"] != "unapplied"}


def detail_credit(report, currency="USD"):
    """{customer: unapplied amount} from the credit rows of a --detail report."""
    rows = section(report, currency)["rows"]
    return {r["customer"]: r["open"] for r in rows if r["bucket"] == "unapplied"}


def assert_reconciles(report):
    """Each row: buckets + unapplied = total; each section: totals = sum of rows."""
    buckets = report["buckets"]
    for sec in report["sections"]:
        for row in sec["rows"]:
            assert sum((Decimal(row[b]) for b in buckets), Decimal(0)) + Decimal(
                row["unapplied"]
            ) == Decimal(row["total"]), row
        for key in amount_keys(report):
            assert Decimal(sec["totals"][key]) == sum(
                (Decimal(r[key]) for r in sec["rows"]), Decimal(0)
            ), (sec["currency"], key)


# --------------------------------------------------------------------------- aging buckets


def test_bucket_boundaries_due_basis(tmp_path):
    """as-of 2026-10-31, days past due = as-of - due:

    due 11-01 -> -1, 10-31 -> 0 (both Current), 10-30 -> 1, 10-01 -> 30 (1-30),
    09-30 -> 31, 09-01 -> 60 (31-60: Oct 1-31 is 30, Sep 1..Oct 1 is 30),
    08-31 -> 61, 08-02 -> 90 (61-90: 29 + 30 + 31), 08-01 -> 91,
    07-03 -> 120 (91-120: 28 + 30 + 31 + 31), 07-02 -> 121 (120+).
    Amounts are powers of two so every bucket sum is unambiguous:
    Current 1+2=3, 1-30 4+8=12, 31-60 16+32=48, 61-90 64+128=192,
    91-120 256+512=768, 120+ 1024; total 2047.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: Bm1,  customer: C1, date: 2026-06-01, due: 2026-11-01, amount: 1.00}
        - {id: B0,   customer: C1, date: 2026-06-01, due: 2026-10-31, amount: 2.00}
        - {id: B1,   customer: C1, date: 2026-06-01, due: 2026-10-30, amount: 4.00}
        - {id: B30,  customer: C1, date: 2026-06-01, due: 2026-10-01, amount: 8.00}
        - {id: B31,  customer: C1, date: 2026-06-01, due: 2026-09-30, amount: 16.00}
        - {id: B60,  customer: C1, date: 2026-06-01, due: 2026-09-01, amount: 32.00}
        - {id: B61,  customer: C1, date: 2026-06-01, due: 2026-08-31, amount: 64.00}
        - {id: B90,  customer: C1, date: 2026-06-01, due: 2026-08-02, amount: 128.00}
        - {id: B91,  customer: C1, date: 2026-06-01, due: 2026-08-01, amount: 256.00}
        - {id: B120, customer: C1, date: 2026-06-01, due: 2026-07-03, amount: 512.00}
        - {id: B121, customer: C1, date: 2026-06-01, due: 2026-07-02, amount: 1024.00}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert report["basis"] == "due"
    assert report["buckets"] == DUE_BUCKETS
    expected = exp(
        {
            "Current": "3.00",
            "1-30": "12.00",
            "31-60": "48.00",
            "61-90": "192.00",
            "91-120": "768.00",
            "120+": "1024.00",
        },
        total="2047.00",
    )
    assert rows_by_customer(report) == {"C1": expected}
    assert totals(report) == expected
    assert_reconciles(report)

    rows = detail_rows(aging(ledger, "2026-10-31", "--detail"))
    got = {inv: (r["days"], r["bucket"]) for (inv, _), r in rows.items()}
    assert got == {
        "Bm1": (-1, "Current"),
        "B0": (0, "Current"),
        "B1": (1, "1-30"),
        "B30": (30, "1-30"),
        "B31": (31, "31-60"),
        "B60": (60, "31-60"),
        "B61": (61, "61-90"),
        "B90": (90, "61-90"),
        "B91": (91, "91-120"),
        "B120": (120, "91-120"),
        "B121": (121, "120+"),
    }


def test_basis_invoice_ages_from_issue_date(tmp_path):
    """--basis invoice: age = as-of - issue date, buckets 0-30, 31-60, 61-90, 91-120, 120+.

    as-of 2026-10-31; issue dates 10-31 -> 0, 10-01 -> 30 (0-30), 09-30 -> 31,
    09-01 -> 60 (31-60), 08-31 -> 61, 08-02 -> 90 (61-90), 08-01 -> 91,
    07-03 -> 120 (91-120), 07-02 -> 121 (120+). Due dates play no role.
    0-30: 1+2=3, 31-60: 4+8=12, 61-90: 16+32=48, 91-120: 64+128=192,
    120+: 256; total 511.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: A0,   customer: C1, date: 2026-10-31, amount: 1.00}
        - {id: A30,  customer: C1, date: 2026-10-01, amount: 2.00}
        - {id: A31,  customer: C1, date: 2026-09-30, amount: 4.00}
        - {id: A60,  customer: C1, date: 2026-09-01, amount: 8.00}
        - {id: A61,  customer: C1, date: 2026-08-31, amount: 16.00}
        - {id: A90,  customer: C1, date: 2026-08-02, amount: 32.00}
        - {id: A91,  customer: C1, date: 2026-08-01, amount: 64.00}
        - {id: A120, customer: C1, date: 2026-07-03, amount: 128.00}
        - {id: A121, customer: C1, date: 2026-07-02, amount: 256.00}
        """,
    )
    report = aging(ledger, "2026-10-31", "--basis", "invoice")
    assert report["basis"] == "invoice"
    assert report["buckets"] == INVOICE_BUCKETS
    expected = exp(
        {
            "0-30": "3.00",
            "31-60": "12.00",
            "61-90": "48.00",
            "91-120": "192.00",
            "120+": "256.00",
        },
        total="511.00",
        buckets=INVOICE_BUCKETS,
    )
    assert rows_by_customer(report) == {"C1": expected}
    assert totals(report) == expected
    assert_reconciles(report)

    rows = detail_rows(aging(ledger, "2026-10-31", "--basis", "invoice", "--detail"))
    got = {inv: (r["days"], r["bucket"]) for (inv, _), r in rows.items()}
    assert got == {
        "A0": (0, "0-30"),
        "A30": (30, "0-30"),
        "A31": (31, "31-60"),
        "A60": (60, "31-60"),
        "A61": (61, "61-90"),
        "A90": (90, "61-90"),
        "A91": (91, "91-120"),
        "A120": (120, "91-120"),
        "A121": (121, "120+"),
    }


def test_custom_buckets(tmp_path):
    """--buckets 15,45 -> Current, 1-15, 16-45, 45+ (45+ = more than 45 days).

    as-of 2026-10-31; due 10-31 -> 0 (Current), 10-30 -> 1, 10-16 -> 15 (1-15),
    10-15 -> 16, 09-16 -> 45 (16-45: 15 + 30), 09-15 -> 46 (45+).
    Current 1, 1-15 2+4=6, 16-45 8+16=24, 45+ 32; total 63.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: K0,  customer: C1, date: 2026-09-01, due: 2026-10-31, amount: 1.00}
        - {id: K1,  customer: C1, date: 2026-09-01, due: 2026-10-30, amount: 2.00}
        - {id: K15, customer: C1, date: 2026-09-01, due: 2026-10-16, amount: 4.00}
        - {id: K16, customer: C1, date: 2026-09-01, due: 2026-10-15, amount: 8.00}
        - {id: K45, customer: C1, date: 2026-09-01, due: 2026-09-16, amount: 16.00}
        - {id: K46, customer: C1, date: 2026-09-01, due: 2026-09-15, amount: 32.00}
        """,
    )
    buckets = ["Current", "1-15", "16-45", "45+"]
    report = aging(ledger, "2026-10-31", "--buckets", "15,45")
    assert report["buckets"] == buckets
    expected = exp(
        {"Current": "1.00", "1-15": "6.00", "16-45": "24.00", "45+": "32.00"},
        total="63.00",
        buckets=buckets,
    )
    assert rows_by_customer(report) == {"C1": expected}
    assert totals(report) == expected
    assert_reconciles(report)


# --------------------------------------------------------------------------- due dates


def test_default_due_from_customer_terms_then_settings(tmp_path):
    """due = date + customer.terms; customer without terms -> terms.default of arledger.yaml.

    C1 terms 45: I1 2026-10-01 + 45 = 2026-11-15 (Oct 1 + 30 = Oct 31, + 15),
      as-of 10-31 -> days -15 -> Current 100.
    C2 no terms, settings default 10: I2 2026-10-01 + 10 = 2026-10-11,
      days 20 -> 1-30 200.
    """
    ledger = make_ledger(
        tmp_path,
        settings="""
        terms: {default: 10}
        """,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 45}
        - {id: C2, name: Beta Inc}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-10-01, amount: 100.00}
        - {id: I2, customer: C2, date: 2026-10-01, amount: 200.00}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {
        "C1": exp({"Current": "100.00"}, total="100.00"),
        "C2": exp({"1-30": "200.00"}, total="200.00"),
    }
    assert_reconciles(report)

    rows = detail_rows(aging(ledger, "2026-10-31", "--detail"))
    assert (rows[("I1", None)]["due"], rows[("I1", None)]["days"]) == (
        "2026-11-15",
        -15,
    )
    assert (rows[("I2", None)]["due"], rows[("I2", None)]["days"]) == ("2026-10-11", 20)


def test_default_due_falls_back_to_30_days(tmp_path):
    """No customer terms and no arledger.yaml: due = date + 30.

    I1 2026-09-01 + 30 = 2026-10-01 (September has 30 days); as-of 10-31 ->
    days 30 -> 1-30 (with a 10-day default it would be 50 days, 31-60).
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-01, amount: 300.00}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {"C1": exp({"1-30": "300.00"}, total="300.00")}

    rows = detail_rows(aging(ledger, "2026-10-31", "--detail"))
    assert (rows[("I1", None)]["due"], rows[("I1", None)]["days"]) == ("2026-10-01", 30)


# --------------------------------------------------------------------------- payments


def test_payment_before_invoice_is_credit_then_applied_on_issue(tmp_path):
    """P1 (100, no reference) on 08-20 comes before any invoice.

    as-of 08-31: nothing to apply it to -> unapplied -100.00, total -100.00
      (a customer with only credit still has a row).
    as-of 10-31: I1 (250, issued 09-01, due 10-01) takes the credit on its
      issue date -> open 250 - 100 = 150, days 30 -> 1-30; unapplied 0.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-01, due: 2026-10-01, amount: 250.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-08-20, amount: 100.00}
        """,
    )
    report = aging(ledger, "2026-08-31")
    assert rows_by_customer(report) == {"C1": exp(unapplied="-100.00", total="-100.00")}
    assert_reconciles(report)

    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {"C1": exp({"1-30": "150.00"}, total="150.00")}
    assert_reconciles(report)


def test_records_after_as_of_are_ignored(tmp_path):
    """Only records dated on or before as-of exist.

    I1 100 (due 10-01). P0 10 dated exactly on as-of 10-31 counts -> open 90,
    days 30 -> 1-30. P1 90 (11-05) and credit note A1 10 (11-02) are after
    as-of and ignored.
    as-of 11-30: A1 (11-02) takes 10 of the open 90 -> 80; P1 (11-05) pays
    80 of its 90 to I1, the 10 excess finds no other open item -> unapplied.
    So I1 is closed, unapplied -10.00, total -10.00.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-01, due: 2026-10-01, amount: 100.00}
        """,
        payments="""
        - {id: P0, customer: C1, date: 2026-10-31, amount: 10.00, invoice: I1}
        - {id: P1, customer: C1, date: 2026-11-05, amount: 90.00, invoice: I1}
        """,
        adjustments="""
        - {id: A1, customer: C1, date: 2026-11-02, amount: 10.00, kind: credit_note, invoice: I1}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {"C1": exp({"1-30": "90.00"}, total="90.00")}

    report = aging(ledger, "2026-11-30")
    assert rows_by_customer(report) == {"C1": exp(unapplied="-10.00", total="-10.00")}


def test_overpayment_is_negative_unapplied_and_lowers_total(tmp_path):
    """C1: I1 100 paid 130 (explicit I1) on 10-20: 30 exceeds the open balance,
    is treated as unallocated, finds no other open item -> unapplied -30.

    as-of 10-24: C1 unapplied -30.00, total -30.00; C2 I2 200 due 11-09 ->
      Current 200. Totals: Current 200, unapplied -30, total 170.
    as-of 10-31: I3 (50, issued 10-25, due 11-24) takes the 30 credit on its
      issue date -> open 20 Current; unapplied 0. Totals: Current 220, total 220.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        - {id: C2, name: Beta Inc, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-15, due: 2026-10-15, amount: 100.00}
        - {id: I2, customer: C2, date: 2026-10-10, due: 2026-11-09, amount: 200.00}
        - {id: I3, customer: C1, date: 2026-10-25, due: 2026-11-24, amount: 50.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-20, amount: 130.00, invoice: I1}
        """,
    )
    report = aging(ledger, "2026-10-24")
    assert rows_by_customer(report) == {
        "C1": exp(unapplied="-30.00", total="-30.00"),
        "C2": exp({"Current": "200.00"}, total="200.00"),
    }
    assert totals(report) == exp(
        {"Current": "200.00"}, unapplied="-30.00", total="170.00"
    )
    assert_reconciles(report)

    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {
        "C1": exp({"Current": "20.00"}, total="20.00"),
        "C2": exp({"Current": "200.00"}, total="200.00"),
    }
    assert totals(report) == exp({"Current": "220.00"}, total="220.00")
    assert_reconciles(report)


INVOICES_3 = """
- {id: I1, customer: C1, date: 2026-08-16, due: 2026-09-15, amount: 100.00}
- {id: I2, customer: C1, date: 2026-09-20, due: 2026-10-20, amount: 300.00}
- {id: I3, customer: C1, date: 2026-10-21, due: 2026-11-20, amount: 200.00}
"""


def test_explicit_allocations_split_across_invoices(tmp_path):
    """P1 250 on 10-25 with allocations {I2: 200, I3: 50}; I1 (oldest) untouched.

    as-of 10-31: I1 100 open, days 46 (Sep 15 -> Oct 15 = 30, + 16) -> 31-60;
    I2 300 - 200 = 100, days 11 -> 1-30; I3 200 - 50 = 150, days -20 -> Current.
    Total 350.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices=INVOICES_3,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-25, amount: 250.00, allocations: {I2: 200.00, I3: 50.00}}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {
        "C1": exp(
            {"Current": "150.00", "1-30": "100.00", "31-60": "100.00"}, total="350.00"
        )
    }
    assert detail(aging(ledger, "2026-10-31", "--detail")) == {
        ("I1", None, "31-60", "100.00"),
        ("I2", None, "1-30", "100.00"),
        ("I3", None, "Current", "150.00"),
    }


def test_allocation_exceeding_open_balance_goes_oldest_first(tmp_path):
    """P0 150 (10-22, invoice I3) -> I3 open 50.
    P1 300 (10-25) allocations {I3: 120, I2: 100}:
      I3 takes only its open 50 (excess 70 becomes unallocated);
      I2 takes 100 -> open 200;
      unallocated = 300 - 50 - 100 = 150 (70 excess + 80 never allocated),
      applied oldest due first: I1 (due 09-15) 100 -> 0, then I2 (due 10-20)
      50 -> 150.
    as-of 10-31: only I2 150 open, days 11 -> 1-30. Total 150, unapplied 0.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices=INVOICES_3,
        payments="""
        - {id: P0, customer: C1, date: 2026-10-22, amount: 150.00, invoice: I3}
        - {id: P1, customer: C1, date: 2026-10-25, amount: 300.00, allocations: {I3: 120.00, I2: 100.00}}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {"C1": exp({"1-30": "150.00"}, total="150.00")}
    assert detail(aging(ledger, "2026-10-31", "--detail")) == {
        ("I2", None, "1-30", "150.00")
    }


def test_oldest_due_date_first_not_oldest_issue(tmp_path):
    """C1 terms 60.
    I1 issued 08-01, due 08-01 + 60 = 09-30 (Aug 1 + 31 = Sep 1, + 29), 100.
    I2 issued later 08-15 but due 08-25 (explicit, shorter), 200.
    I3 issued 09-01, due 09-01 + 60 = 10-31, 400.
    P1 250 (10-01, no reference): oldest due first -> I2 200 (paid), then I1 50.
    as-of 10-31: I1 50 open, days 31 -> 31-60; I3 400, days 0 -> Current.
    Total 450. (By issue date it would have been I1 paid, I2 open 50 in 61-90.)
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 60}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-08-01, amount: 100.00}
        - {id: I2, customer: C1, date: 2026-08-15, due: 2026-08-25, amount: 200.00}
        - {id: I3, customer: C1, date: 2026-09-01, amount: 400.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-01, amount: 250.00}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {
        "C1": exp({"Current": "400.00", "31-60": "50.00"}, total="450.00")
    }
    assert detail(aging(ledger, "2026-10-31", "--detail")) == {
        ("I1", None, "31-60", "50.00"),
        ("I3", None, "Current", "400.00"),
    }


def test_same_due_date_tie_broken_by_issue_date_then_id(tmp_path):
    """Same due date -> earlier issue date first; same issue date too -> lower id first.

    C1: I-B (issued 09-01) and I-A (issued 09-10), both due 10-15, 100 each;
      P1 100 pays I-B; I-A stays open 100, days 16 -> 1-30.
    C2: I-D and I-C, both issued 09-05 and due 10-20, 100 each;
      P2 100 pays I-C; I-D stays open 100, days 11 -> 1-30.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        - {id: C2, name: Beta Inc, terms: 30}
        """,
        invoices="""
        - {id: I-A, customer: C1, date: 2026-09-10, due: 2026-10-15, amount: 100.00}
        - {id: I-B, customer: C1, date: 2026-09-01, due: 2026-10-15, amount: 100.00}
        - {id: I-D, customer: C2, date: 2026-09-05, due: 2026-10-20, amount: 100.00}
        - {id: I-C, customer: C2, date: 2026-09-05, due: 2026-10-20, amount: 100.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-25, amount: 100.00}
        - {id: P2, customer: C2, date: 2026-10-25, amount: 100.00}
        """,
    )
    assert detail(aging(ledger, "2026-10-31", "--detail")) == {
        ("I-A", None, "1-30", "100.00"),
        ("I-D", None, "1-30", "100.00"),
    }


def test_partial_payment(tmp_path):
    """I1 1000.00 (due 10-01) paid 333.33 on 10-10 -> open 666.67, days 30 -> 1-30."""
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-01, due: 2026-10-01, amount: 1000.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-10, amount: 333.33, invoice: I1}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {"C1": exp({"1-30": "666.67"}, total="666.67")}
    assert detail(aging(ledger, "2026-10-31", "--detail")) == {
        ("I1", None, "1-30", "666.67")
    }


# --------------------------------------------------------------------------- adjustments


def test_credit_note_against_invoice(tmp_path):
    """A1 credit note 120 against I1 reduces I1 only, not the older I2.

    I1 500 (due 10-01) - 120 = 380, days 30 -> 1-30.
    I2 300 (due 09-20), days 41 (Sep 20 -> Oct 20 = 30, + 11) -> 31-60.
    Total 680.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-01, due: 2026-10-01, amount: 500.00}
        - {id: I2, customer: C1, date: 2026-08-21, due: 2026-09-20, amount: 300.00}
        """,
        adjustments="""
        - {id: A1, customer: C1, date: 2026-10-15, amount: 120.00, kind: credit_note, invoice: I1}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {
        "C1": exp({"1-30": "380.00", "31-60": "300.00"}, total="680.00")
    }
    assert detail(aging(ledger, "2026-10-31", "--detail")) == {
        ("I1", None, "1-30", "380.00"),
        ("I2", None, "31-60", "300.00"),
    }


def test_write_off(tmp_path):
    """Write-offs reduce the open balance (given up, not collected).

    Both invoices 400, due 03-31; as-of 10-31 days = 30+31+30+31+31+30+31 = 214 -> 120+.
    C1: written off in full on 10-20 -> nothing open, no credit -> no row.
    C2: written off 150 -> 250 in 120+.
    as-of 10-19 (before the write-offs): both 400 in 120+, total 800.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        - {id: C2, name: Beta Inc, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-03-01, due: 2026-03-31, amount: 400.00}
        - {id: I2, customer: C2, date: 2026-03-01, due: 2026-03-31, amount: 400.00}
        """,
        adjustments="""
        - {id: A1, customer: C1, date: 2026-10-20, amount: 400.00, kind: write_off, invoice: I1}
        - {id: A2, customer: C2, date: 2026-10-20, amount: 150.00, kind: write_off, invoice: I2}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert "C1" not in all_customers(report)
    assert rows_by_customer(report) == {"C2": exp({"120+": "250.00"}, total="250.00")}
    assert totals(report) == exp({"120+": "250.00"}, total="250.00")

    report = aging(ledger, "2026-10-19")
    assert rows_by_customer(report) == {
        "C1": exp({"120+": "400.00"}, total="400.00"),
        "C2": exp({"120+": "400.00"}, total="400.00"),
    }
    assert totals(report) == exp({"120+": "800.00"}, total="800.00")
    assert_reconciles(report)


def test_discount(tmp_path):
    """I1 1000 (due 10-31): discount 20 + payment 500 -> open 480, days 0 -> Current."""
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-10-01, due: 2026-10-31, amount: 1000.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-10, amount: 500.00, invoice: I1}
        """,
        adjustments="""
        - {id: A1, customer: C1, date: 2026-10-10, amount: 20.00, kind: discount, invoice: I1}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {
        "C1": exp({"Current": "480.00"}, total="480.00")
    }


def test_adjustment_without_invoice_applied_oldest_first(tmp_path):
    """Credit note 150 with no invoice (10-20) is applied like a payment:
    I1 (due 09-15) 100 -> 0, then I2 (due 10-15) 200 -> 150.
    as-of 10-31: I2 150, days 16 -> 1-30. Total 150.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-08-16, due: 2026-09-15, amount: 100.00}
        - {id: I2, customer: C1, date: 2026-09-15, due: 2026-10-15, amount: 200.00}
        """,
        adjustments="""
        - {id: A1, customer: C1, date: 2026-10-20, amount: 150.00, kind: credit_note}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {"C1": exp({"1-30": "150.00"}, total="150.00")}
    assert detail(aging(ledger, "2026-10-31", "--detail")) == {
        ("I2", None, "1-30", "150.00")
    }


# --------------------------------------------------------------------------- instalments


def test_instalments_age_by_own_due_date(tmp_path):
    """I1 900 issued 07-01 in three instalments of 300 due 07-15, 09-15, 11-15.
    P1 400 (08-01, no reference): oldest due first -> instalment 1 paid (300),
    instalment 2 gets 100 -> 200 open.
    as-of 10-31: item 2 due 09-15, days 46 -> 31-60 200; item 3 due 11-15,
    days -15 -> Current 300. I2 50 (no schedule, due 10-31) -> Current, item null.
    Row: Current 350, 31-60 200, total 550.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-07-01, amount: 900.00, schedule: [{due: 2026-07-15, amount: 300.00}, {due: 2026-09-15, amount: 300.00}, {due: 2026-11-15, amount: 300.00}]}
        - {id: I2, customer: C1, date: 2026-10-01, due: 2026-10-31, amount: 50.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-08-01, amount: 400.00}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {
        "C1": exp({"Current": "350.00", "31-60": "200.00"}, total="550.00")
    }
    det = aging(ledger, "2026-10-31", "--detail")
    assert detail(det) == {
        ("I1", 2, "31-60", "200.00"),
        ("I1", 3, "Current", "300.00"),
        ("I2", None, "Current", "50.00"),
    }
    rows = detail_rows(det)
    assert (rows[("I1", 2)]["due"], rows[("I1", 2)]["days"]) == ("2026-09-15", 46)
    assert (rows[("I1", 3)]["due"], rows[("I1", 3)]["days"]) == ("2026-11-15", -15)


# --------------------------------------------------------------------------- disputes


def test_disputed_invoice_still_aged_and_shown(tmp_path):
    """Disputed I1 700 due 07-01: days 122 (31+31+30+30) -> 120+, shown as usual."""
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-06-01, due: 2026-07-01, amount: 700.00, disputed: true}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {"C1": exp({"120+": "700.00"}, total="700.00")}
    det = aging(ledger, "2026-10-31", "--detail")
    assert detail(det) == {("I1", None, "120+", "700.00")}
    assert detail_rows(det)[("I1", None)]["days"] == 122


def test_lead_decision_auto_application_skips_disputed(tmp_path):
    """LEAD DECISION (deviates from SPEC): oldest-first application skips disputed items.

    I1 700 disputed (due 07-01, oldest), I2 250 (due 10-01).
    P1 250 unallocated (10-10): skips I1, pays I2 -> I2 closed.
    as-of 10-31: I1 700 in 120+ (122 days); total 700, unapplied 0.
    (Under the plain SPEC rule I1 would be 450 and I2 250 in 1-30.)
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-06-01, due: 2026-07-01, amount: 700.00, disputed: true}
        - {id: I2, customer: C1, date: 2026-09-01, due: 2026-10-01, amount: 250.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-10, amount: 250.00}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {"C1": exp({"120+": "700.00"}, total="700.00")}
    assert detail(aging(ledger, "2026-10-31", "--detail")) == {
        ("I1", None, "120+", "700.00")
    }


def test_lead_decision_explicit_reference_applies_to_disputed(tmp_path):
    """LEAD DECISION, continued: an explicit reference does reach a disputed invoice;
    an invoice-less adjustment does not.

    I3 500 disputed (due 07-01, 122 days -> 120+).
    P2 200 with invoice I3 (10-10) -> I3 open 300.
    A1 credit note 50 without invoice (10-12): only open item is disputed ->
    skipped -> unapplied credit -50.
    Row: 120+ 300, unapplied -50, total 250.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C2, name: Beta Inc, terms: 30}
        """,
        invoices="""
        - {id: I3, customer: C2, date: 2026-06-01, due: 2026-07-01, amount: 500.00, disputed: true}
        """,
        payments="""
        - {id: P2, customer: C2, date: 2026-10-10, amount: 200.00, invoice: I3}
        """,
        adjustments="""
        - {id: A1, customer: C2, date: 2026-10-12, amount: 50.00, kind: credit_note}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert rows_by_customer(report) == {
        "C2": exp({"120+": "300.00"}, unapplied="-50.00", total="250.00")
    }
    assert_reconciles(report)


# --------------------------------------------------------------------------- currencies


def test_two_currencies_never_mix(tmp_path):
    """C1 bills in EUR (customer currency) but I3 is explicitly USD; C2 is USD.

    I3 USD 50, due 08-31 -> days 61 -> 61-90 (and it is C1's oldest item).
    I1 EUR 100, due 10-01 -> days 30 -> 1-30.
    P1 EUR 30 unallocated (10-10) may only go to EUR items -> I1 open 70
    (if currencies mixed it would have gone to the older USD I3).
    I2 USD 200 (C2), due 10-31 -> Current.
    Sections sorted by code: EUR, USD.
    EUR: C1 1-30 70; totals 70.
    USD: C1 61-90 50, C2 Current 200; totals Current 200, 61-90 50, total 250.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30, currency: EUR}
        - {id: C2, name: Beta Inc, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-01, due: 2026-10-01, amount: 100.00}
        - {id: I3, customer: C1, date: 2026-08-01, due: 2026-08-31, amount: 50.00, currency: USD}
        - {id: I2, customer: C2, date: 2026-10-01, due: 2026-10-31, amount: 200.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-10, amount: 30.00, currency: EUR}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert [s["currency"] for s in report["sections"]] == ["EUR", "USD"]
    assert rows_by_customer(report, "EUR") == {
        "C1": exp({"1-30": "70.00"}, total="70.00")
    }
    assert totals(report, "EUR") == exp({"1-30": "70.00"}, total="70.00")
    assert rows_by_customer(report, "USD") == {
        "C1": exp({"61-90": "50.00"}, total="50.00"),
        "C2": exp({"Current": "200.00"}, total="200.00"),
    }
    assert totals(report, "USD") == exp(
        {"Current": "200.00", "61-90": "50.00"}, total="250.00"
    )
    assert_reconciles(report)

    only_eur = aging(ledger, "2026-10-31", "--currency", "EUR")
    assert [s["currency"] for s in only_eur["sections"]] == ["EUR"]
    assert rows_by_customer(only_eur, "EUR") == {
        "C1": exp({"1-30": "70.00"}, total="70.00")
    }


# --------------------------------------------------------------------------- as-of


def test_invoice_after_as_of_ignored_and_allocation_to_it_waits(tmp_path):
    """I9 (C1, 40) is issued 11-05, after as-of 10-31; P1 40 on 10-20 is
    allocated to I9 explicitly, so it waits as credit (it does not go to I1).
    I8 (C2) is issued 11-02: C2 has no row at 10-31.

    as-of 10-31: C1 I1 100 due 10-01 -> days 30 -> 1-30; unapplied -40;
      total 60. Totals: 1-30 100, unapplied -40, total 60.
    as-of 11-30: I9 issued, P1 applied to it -> closed; I1 days 60
      (Oct 1 -> Nov 1 = 31, + 29) -> 31-60 100; C1 total 100;
      C2 I8 500 due 12-02 -> Current. Totals: Current 500, 31-60 100, total 600.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        - {id: C2, name: Beta Inc, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-01, due: 2026-10-01, amount: 100.00}
        - {id: I9, customer: C1, date: 2026-11-05, due: 2026-12-05, amount: 40.00}
        - {id: I8, customer: C2, date: 2026-11-02, due: 2026-12-02, amount: 500.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-20, amount: 40.00, allocations: {I9: 40.00}}
        """,
    )
    report = aging(ledger, "2026-10-31")
    assert "C2" not in all_customers(report)
    assert rows_by_customer(report) == {
        "C1": exp({"1-30": "100.00"}, unapplied="-40.00", total="60.00")
    }
    assert totals(report) == exp({"1-30": "100.00"}, unapplied="-40.00", total="60.00")
    det = aging(ledger, "2026-10-31", "--detail")
    assert detail(det) == {("I1", None, "1-30", "100.00")}
    assert detail_credit(det) in ({}, {"C1": "-40.00"})  # a credit row is optional

    report = aging(ledger, "2026-11-30")
    assert rows_by_customer(report) == {
        "C1": exp({"31-60": "100.00"}, total="100.00"),
        "C2": exp({"Current": "500.00"}, total="500.00"),
    }
    assert totals(report) == exp(
        {"Current": "500.00", "31-60": "100.00"}, total="600.00"
    )
    assert_reconciles(report)


# --------------------------------------------------------------------------- options


def test_customer_filter(tmp_path):
    """--customer C2: only C2's row, and the totals are C2's alone.

    C1 I1 100 due 10-01 (1-30) is excluded; C2 I2 200 due 11-15 -> Current.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        - {id: C2, name: Beta Inc, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-01, due: 2026-10-01, amount: 100.00}
        - {id: I2, customer: C2, date: 2026-10-16, due: 2026-11-15, amount: 200.00}
        """,
    )
    report = aging(ledger, "2026-10-31", "--customer", "C2")
    assert all_customers(report) == {"C2"}
    assert rows_by_customer(report) == {
        "C2": exp({"Current": "200.00"}, total="200.00")
    }
    assert totals(report) == exp({"Current": "200.00"}, total="200.00")

    full = aging(ledger, "2026-10-31")
    assert totals(full) == exp({"Current": "200.00", "1-30": "100.00"}, total="300.00")
    assert_reconciles(full)


def test_detail_rows(tmp_path):
    """--detail: one row per open item with customer, invoice, item, date, due, days, bucket, open.

    I1 100 issued 09-01 due 10-01: days 30, 1-30, open 100.00.
    I2 250.50 issued 10-20 due 11-19, paid 50.25 -> open 200.25, days -19, Current.
    I3 fully paid -> no row.
    """
    ledger = make_ledger(
        tmp_path,
        customers="""
        - {id: C1, name: Acme Ltd, terms: 30}
        """,
        invoices="""
        - {id: I1, customer: C1, date: 2026-09-01, due: 2026-10-01, amount: 100.00}
        - {id: I2, customer: C1, date: 2026-10-20, due: 2026-11-19, amount: 250.50}
        - {id: I3, customer: C1, date: 2026-10-20, due: 2026-11-19, amount: 75.00}
        """,
        payments="""
        - {id: P1, customer: C1, date: 2026-10-25, amount: 50.25, invoice: I2}
        - {id: P2, customer: C1, date: 2026-10-25, amount: 75.00, invoice: I3}
        """,
    )
    report = aging(ledger, "2026-10-31", "--detail")
    keys = ["customer", "invoice", "item", "date", "due", "days", "bucket", "open"]
    got = sorted(
        (pick(r, keys) for r in section(report)["rows"]), key=lambda r: r["invoice"]
    )
    assert got == [
        {
            "customer": "C1",
            "invoice": "I1",
            "item": None,
            "date": "2026-09-01",
            "due": "2026-10-01",
            "days": 30,
            "bucket": "1-30",
            "open": "100.00",
        },
        {
            "customer": "C1",
            "invoice": "I2",
            "item": None,
            "date": "2026-10-20",
            "due": "2026-11-19",
            "days": -19,
            "bucket": "Current",
            "open": "200.25",
        },
    ]


def test_the_currency_table_is_the_iso4217_package_s():
    """money.py reads the package's table.xml itself (the package's enum costs
    every run 7 ms to import): the same codes and minor units."""
    from iso4217 import Currency

    from arledger.money import _iso4217

    expected = {c.code: c.exponent for c in Currency if c.exponent is not None}
    assert _iso4217() == expected
    assert {"USD", "EUR", "JPY", "CNY", "KWD"} <= expected.keys()
