"""The loader: YAML and CSV read the same records, exactly, with their lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arledger.errors import LedgerNotFound
from arledger.loader import load

from .conftest import LEDGERS


def _records(ledger):
    """Every record as data, without where it came from."""
    return {
        "customers": {k: v.model_dump() for k, v in ledger.customers.items()},
        "invoices": {k: v.model_dump() for k, v in ledger.invoices.items()},
        "payments": [p.model_dump() for p in ledger.payments],
        "adjustments": [a.model_dump() for a in ledger.adjustments],
        "contacts": [c.model_dump() for c in ledger.contacts],
    }


def test_yaml_and_csv_twins_load_identically():
    from_yaml, yaml_errors = load(LEDGERS / "small")
    from_csv, csv_errors = load(LEDGERS / "small_csv")
    assert yaml_errors == [] and csv_errors == []
    assert _records(from_yaml) == _records(from_csv)


def test_amounts_are_exact_decimals_never_floats():
    ledger, _ = load(LEDGERS / "small")
    amount = ledger.invoices["I1"].amount
    assert isinstance(amount, Decimal) and amount == Decimal("1210.71")
    assert str(amount) == "1210.71"  # not 1210.7100000000000364 via a float


def test_records_remember_file_and_line():
    ledger, _ = load(LEDGERS / "small")
    assert str(ledger.invoices["I3"].source) == "invoices/2026.yaml:3"
    assert str(ledger.payments[3].source) == "payments.yaml:4"
    csv_ledger, _ = load(LEDGERS / "small_csv")
    assert str(csv_ledger.invoices["I3"].source) == "invoices.csv:4"


def test_csv_nested_cells():
    ledger, _ = load(LEDGERS / "small_csv")
    assert ledger.payments[1].allocations == {
        "I1": Decimal("210.71"),
        "I2": Decimal("500.00"),
    }
    schedule = ledger.invoices["I3"].schedule
    assert [(i.due, i.amount) for i in schedule] == [
        (date(2026, 10, 1), Decimal("600.00")),
        (date(2026, 11, 1), Decimal("600.00")),
    ]
    block = ledger.customers["BETA"].dunning_block
    assert block.until == date(2026, 12, 1) and block.reason == "agreed plan"


def test_unicode_names_survive():
    ledger, _ = load(LEDGERS / "small_csv")
    assert ledger.customers["HUA"].name == "上海华东贸易有限公司"


def test_empty_yaml_value_means_not_given(ledger_dir):
    path = ledger_dir(
        customers="""\
        - id: C1
          name: One
          terms:
          email: ~
        """
    )
    ledger, errors = load(path)
    assert errors == []
    assert ledger.customers["C1"].terms is None
    assert ledger.customers["C1"].email is None


def test_quoted_null_is_text(ledger_dir):
    path = ledger_dir(customers='- {id: C1, name: "null"}\n')
    ledger, errors = load(path)
    assert errors == [] and ledger.customers["C1"].name == "null"


def test_folder_and_single_file_both_read(ledger_dir, tmp_path):
    path = ledger_dir(
        customers="- {id: C1, name: One}\n",
        invoices="- {id: I1, customer: C1, date: 2026-01-01, amount: 1.00}\n",
    )
    (path / "invoices").mkdir()
    (path / "invoices" / "more.yml").write_text(
        "- {id: I2, customer: C1, date: 2026-01-02, amount: 2.00}\n", encoding="utf-8"
    )
    ledger, errors = load(path)
    assert errors == [] and set(ledger.invoices) == {"I1", "I2"}


def test_ledger_dir_from_environment(monkeypatch):
    monkeypatch.setenv("ARLEDGER_DIR", str(LEDGERS / "small"))
    ledger, _ = load(None)
    assert "ACME" in ledger.customers


def test_not_a_ledger(tmp_path):
    with pytest.raises(LedgerNotFound, match="not a ledger"):
        load(tmp_path)
    with pytest.raises(LedgerNotFound, match="does not exist"):
        load(tmp_path / "missing")


def test_payment_currency_defaults_to_the_invoices_it_names(ledger_dir):
    path = ledger_dir(
        customers="- {id: C1, name: One}\n",
        invoices="- {id: I1, customer: C1, date: 2026-01-01, amount: 5.00, currency: EUR}\n",
        payments="- {id: P1, customer: C1, date: 2026-01-02, amount: 5.00, invoice: I1}\n",
    )
    ledger, errors = load(path)
    assert errors == []
    assert ledger.currency_of(ledger.payments[0]) == "EUR"


def test_one_broken_record_does_not_cascade(ledger_dir):
    """A customer that fails validation is not also 'unknown' on its invoices."""
    path = ledger_dir(
        customers="- {id: C1, name: One, terms: soon}\n",
        invoices="- {id: I1, customer: C1, date: 2026-01-01, amount: 5.00}\n",
        payments="- {customer: C1, date: 2026-01-02, amount: 5.00, invoice: I1}\n",
    )
    _, errors = load(path)
    assert [str(e) for e in errors] == [
        "customers.yaml:1: terms: not a whole number (got 'soon')"
    ]


def test_a_reference_to_a_broken_record_is_not_reported_again(ledger_dir):
    """A payment naming an invoice that failed validation, or an invoice of
    a customer that failed, says nothing of its own: the broken record's
    error is the one to fix."""
    path = ledger_dir(
        customers="""\
        - {id: C1, name: One}
        - {id: C2, name: Two, terms: soon}
        """,
        invoices="""\
        - {id: I1, customer: C1, date: 2026-01-01, amount: -5.00}
        - {id: I2, customer: C2, date: 2026-01-01, amount: 5.00}
        """,
        payments="""\
        - {id: P1, customer: C1, date: 2026-01-02, amount: 5.00, invoice: I1}
        - {id: P2, customer: C1, date: 2026-01-02, amount: 5.00, invoice: I2}
        - {id: P3, customer: C1, date: 2026-01-02, amount: 5.00, invoice: I9}
        """,
    )
    _, errors = load(path)
    assert [str(e) for e in errors] == [
        "customers.yaml:2: terms: not a whole number (got 'soon')",
        "invoices.yaml:1: amount: must be greater than 0 (got '-5.00')",
        "payments.yaml:3: invoice: unknown invoice 'I9'",
    ]


def test_a_currency_that_cannot_settle_points_at_the_field_that_says_it(ledger_dir):
    """A payment in another currency than the invoice it pays is reported at
    its `currency` when it gives one, else at the allocation naming the
    invoice (its currency is then its customer's)."""
    path = ledger_dir(
        customers="- {id: C1, name: One}\n",
        invoices="""\
        - {id: I1, customer: C1, date: 2026-01-01, amount: 5.00}
        - {id: I2, customer: C1, date: 2026-01-01, amount: 5.00, currency: EUR}
        """,
        payments="""\
        - id: P1
          customer: C1
          date: 2026-01-02
          amount: 5.00
          invoice: I1
          currency: EUR
        - id: P2
          customer: C1
          date: 2026-01-02
          amount: 5.00
          allocations:
            I1: 1.00
            I2: 4.00
        """,
    )
    _, errors = load(path)
    assert [str(e) for e in errors] == [
        "payments.yaml:6: currency: payment in EUR cannot settle invoice 'I1' in USD",
        "payments.yaml:13: currency: payment in USD cannot settle invoice 'I2' in EUR",
    ]


def test_cross_check_errors_point_at_the_field(ledger_dir):
    path = ledger_dir(
        customers="- {id: C1, name: One}\n",
        payments="""\
        - id: P1
          customer: C1
          date: 2026-01-02
          amount: 5.00
          allocations:
            NOPE: 5.00
        """,
    )
    _, errors = load(path)
    assert [str(e) for e in errors] == [
        "payments.yaml:6: allocations: unknown invoice 'NOPE'"
    ]


def test_excess_decimals_depend_on_currency(ledger_dir):
    path = ledger_dir(
        customers="- {id: C1, name: One, currency: JPY}\n",
        invoices="""\
        - {id: I1, customer: C1, date: 2026-01-01, amount: 1000}
        - {id: I2, customer: C1, date: 2026-01-01, amount: 1000.5}
        """,
    )
    _, errors = load(path)
    assert [str(e) for e in errors] == [
        "invoices.yaml:2: amount: 1000.5 has more decimals than JPY allows"
    ]


def test_excess_decimals_in_every_kind_of_amount(ledger_dir):
    """Each kind of amount is checked against its own record's currency: an
    instalment, an allocation, a payment, an adjustment; a record of an
    unknown customer is reported for its customer alone."""
    path = ledger_dir(
        customers="""\
        - {id: C1, name: One}
        - {id: C2, name: Two, currency: JPY}
        """,
        invoices="""\
        - {id: I1, customer: C1, date: 2026-01-01, amount: 10.00}
        - id: I2
          customer: C1
          date: 2026-01-01
          amount: 10.00
          schedule:
            - {due: 2026-02-01, amount: 4.995}
            - {due: 2026-03-01, amount: 5.005}
        - {id: I3, customer: C2, date: 2026-01-01, amount: 1000}
        - {id: I4, customer: C9, date: 2026-01-01, amount: 1.001}
        """,
        payments="""\
        - {id: P1, customer: C1, date: 2026-01-02, amount: 2.00, allocations: {I1: 1.505}}
        - {id: P2, customer: C2, date: 2026-01-02, amount: 10.5}
        - {id: P3, customer: C1, date: 2026-01-02, amount: 1.25}
        """,
        adjustments="""\
        - {id: A1, customer: C1, date: 2026-01-03, kind: credit_note, amount: 0.125}
        """,
    )
    _, errors = load(path)
    assert [str(e) for e in errors] == [
        "adjustments.yaml:1: amount: 0.125 has more decimals than USD allows",
        "invoices.yaml:7: schedule.1.amount: 4.995 has more decimals than USD allows",
        "invoices.yaml:8: schedule.2.amount: 5.005 has more decimals than USD allows",
        "invoices.yaml:10: customer: unknown customer 'C9'",
        "payments.yaml:1: allocations.I1: 1.505 has more decimals than USD allows",
        "payments.yaml:2: amount: 10.5 has more decimals than JPY allows",
    ]


def test_payments_without_id_are_all_kept(ledger_dir):
    """A payment's id is optional: several without one are several payments."""
    path = ledger_dir(
        customers="- {id: C1, name: One}\n",
        invoices="- {id: I1, customer: C1, date: 2026-01-01, amount: 9.00}\n",
        payments="""\
        - {customer: C1, date: 2026-01-02, amount: 1.00}
        - {customer: C1, date: 2026-01-03, amount: 2.00}
        - {id: P3, customer: C1, date: 2026-01-04, amount: 3.00}
        """,
        **{
            "payments.csv": "customer,date,amount\nC1,2026-01-05,4.00\nC1,2026-01-06,5.00\n"
        },
    )
    ledger, errors = load(path)
    assert errors == []
    assert [p.amount for p in ledger.payments] == [
        Decimal(n) for n in ("1.00", "2.00", "3.00", "4.00", "5.00")
    ]
    assert [str(p.source) for p in ledger.payments][3:] == [
        "payments.csv:2",
        "payments.csv:3",
    ]


def test_on_file_is_called_for_every_record_file_in_order():
    from arledger.loader import record_files

    seen = []
    load(LEDGERS / "small", on_file=seen.append)
    assert seen == record_files(LEDGERS / "small")
    assert [p.name for p in seen] == [
        "customers.yaml",
        "2026.yaml",
        "payments.yaml",
        "adjustments.yaml",
        "contacts.yaml",
    ]
