"""`arledger import` (SPEC §5): exports in, checked like ledger records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arledger.api import load
from arledger.cli import app
from arledger.importer import ImportInvalid, normalise_number, run_import

from .conftest import ROOT

IMPORTS = ROOT / "examples" / "imports"


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def empty_ledger(tmp_path: Path) -> Path:
    root = tmp_path / "books"
    result = run("init", root, "--empty")
    assert result.exit_code == 0, result.output
    return root


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(textwrap.dedent(text).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("stem", "counts"),
    [
        ("quickbooks-invoices", {"customers": 3, "invoices": 6, "payments": 2}),
        (
            "erpnext-accounts-receivable",
            {"customers": 3, "invoices": 4, "adjustments": 1},
        ),
        ("kingdee-receivables", {"customers": 3, "invoices": 4, "payments": 2}),
    ],
)
def test_examples_import_into_an_empty_ledger(tmp_path, stem, counts):
    root = empty_ledger(tmp_path)
    source, rules = IMPORTS / f"{stem}.csv", IMPORTS / f"{stem}.rules.yaml"
    result = run("import", source, "--rules", rules, "--ledger", root, "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["report"] == "import"
    assert data["added"] == counts
    assert set(data["skipped"].values()) == {0}
    name = f"import-{stem}-csv.csv"
    assert data["files"] == [f"{kind}/{name}" for kind in counts]
    check = run("check", "--ledger", root)
    assert check.exit_code == 0, check.output
    aging = run("aging", "--ledger", root, "--as-of", "2026-10-31", "-f", "json")
    assert aging.exit_code == 0, aging.output
    # Running it again finds everything in the ledger and writes nothing.
    again = run("import", source, "--rules", rules, "--ledger", root, "-f", "json")
    assert again.exit_code == 0, again.output
    data = json.loads(again.output)
    assert data["files"] == []
    assert data["skipped"] == counts
    assert set(data["added"].values()) == {0}


def test_quickbooks_values_are_read_as_written(tmp_path):
    root = empty_ledger(tmp_path)
    stem = "quickbooks-invoices"
    run_import(load(root), IMPORTS / f"{stem}.csv", IMPORTS / f"{stem}.rules.yaml")
    ledger = load(root)
    invoice = ledger.invoices["1002"]
    assert invoice.amount == Decimal("3400.50")
    assert invoice.date == date(2026, 8, 14)
    assert ledger.invoices["1003"].disputed is True
    assert invoice.description == "Racking / West"
    paid = {p.id: p for p in ledger.payments}["PAY-1001"]
    assert (paid.date, paid.invoice, paid.method) == (date(2026, 7, 28), "1001", "bank")


def test_kingdee_gbk_and_a_mapped_currency(tmp_path):
    root = empty_ledger(tmp_path)
    stem = "kingdee-receivables"
    run_import(load(root), IMPORTS / f"{stem}.csv", IMPORTS / f"{stem}.rules.yaml")
    ledger = load(root)
    assert ledger.customers["0101"].name == "上海华东机电有限公司"
    assert ledger.invoices["AR2026090003"].amount == Decimal("54230.60")
    assert ledger.invoices["AR2026090003"].currency == "CNY"


def test_dry_run_writes_nothing(tmp_path):
    root = empty_ledger(tmp_path)
    stem = "quickbooks-invoices"
    result = run(
        "import", IMPORTS / f"{stem}.csv", "--rules", IMPORTS / f"{stem}.rules.yaml",
        "--ledger", root, "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "would write invoices/import-quickbooks-invoices-csv.csv" in result.output
    assert sorted(p.name for p in root.iterdir()) == ["arledger.yaml"]


def test_a_taken_file_name_gets_a_number(tmp_path):
    root = empty_ledger(tmp_path)
    source = write(tmp_path / "a.csv", "id,name\nC1,One\n")
    rules = write(
        tmp_path / "r.yaml",
        "records:\n  - kind: customers\n    fields: {id: id, name: name}\n",
    )
    (root / "customers").mkdir()
    (root / "customers" / "import-a-csv.csv").write_text("id,name\nC0,Zero\n")
    result = run_import(load(root), source, rules)
    assert result.files == ["customers/import-a-csv-2.csv"]


XLSX_RULES = """\
    source: {sheet: AR}
    records:
      - kind: customers
        fields: {id: Cust, name: Cust}
      - kind: invoices
        fields:
          id: No
          customer: Cust
          date: Date
          amount: Amount
          po: PO
"""


def test_xlsx_cells_are_exact(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "AR"
    sheet.append(["No", "Cust", "Date", "Amount", "PO"])
    sheet.append([611365, "IBM", datetime(2026, 9, 1), 55.94, 4500012345])
    sheet.append(["A-2", "IBM", date(2026, 9, 2), 12.345, 7])
    path = tmp_path / "ibm.xlsx"
    book.save(path)
    root = empty_ledger(tmp_path)
    rules = write(tmp_path / "r.yaml", XLSX_RULES)
    with pytest.raises(ImportInvalid) as info:
        run_import(load(root), path, rules)
    [error] = info.value.errors
    assert str(error) == f"{path}:3: amount: 12.345 has more decimals than USD allows"
    sheet.delete_rows(3)
    book.save(path)
    result = run_import(load(root), path, rules)
    assert result.files == [
        "customers/import-ibm-xlsx.csv",
        "invoices/import-ibm-xlsx.csv",
    ]
    invoice = load(root).invoices["611365"]
    assert invoice.amount == Decimal("55.94")
    assert invoice.date == date(2026, 9, 1)
    assert invoice.po == "4500012345"


def test_no_header_decimal_comma_and_negated_amounts(tmp_path):
    root = empty_ledger(tmp_path)
    source = write(
        tmp_path / "export.txt",
        """\
        C1;Müller GmbH;R-1;01.09.2026;-1.234,50
        C1;Müller GmbH;R-2;02.09.2026;-99,00
        """,
        "cp1252",
    )
    rules = write(
        tmp_path / "r.yaml",
        """\
        source: {encoding: cp1252, delimiter: ";", decimal: ",",
                 date_format: "%d.%m.%Y", header: false}
        records:
          - kind: customers
            fields: {id: {column: "1"}, name: {column: "2"}, currency: {value: EUR}}
          - kind: invoices
            fields:
              id: {column: "3"}
              customer: {column: "1"}
              date: {column: "4"}
              amount: {column: "5", negate: true}
        """,
    )
    run_import(load(root), source, rules)
    ledger = load(root)
    assert ledger.customers["C1"].name == "Müller GmbH"
    assert ledger.invoices["R-1"].amount == Decimal("1234.50")
    assert ledger.invoices["R-2"].date == date(2026, 9, 2)


def test_number_forms():
    assert normalise_number("1,234.50", ".") == "1234.50"
    assert normalise_number("1.234,50", ",") == "1234.50"
    assert normalise_number("1 234,50", ",") == "1234.50"
    assert normalise_number("1'234.50", ".") == "1234.50"
    assert normalise_number("(94.00)", ".") == "-94.00"
    assert normalise_number("94.00-", ".") == "-94.00"


BAD_RULES = """\
source:
  delimter: ";"
  date_format: "%m/%d/%Y"
records:
  - kind: invoices
    fields:
      id: Invoice No
      customer: Customer ID
      date: Invoice Date
      ammount: Amount
  - kind: bank
    fields: {date: Invoice Date, amount: Amount}
"""


def test_bad_rules_are_reported_at_their_lines(tmp_path):
    root = empty_ledger(tmp_path)
    rules = tmp_path / "bad.yaml"
    rules.write_text(BAD_RULES)
    with pytest.raises(ImportInvalid) as info:
        run_import(load(root), IMPORTS / "quickbooks-invoices.csv", rules)
    messages = [str(e).replace(str(tmp_path) + "/", "") for e in info.value.errors]
    assert messages == [
        "bad.yaml:2: unknown field 'delimter' (did you mean 'delimiter'?)",
        "bad.yaml:6: fields: amount is required by invoices",
        "bad.yaml:10: unknown field 'ammount' (did you mean 'amount'?)",
        "bad.yaml:11: kind: must be one of customers, invoices, payments, "
        "adjustments, contacts (got 'bank'); a bank statement's rules are for "
        "`arledger match`",
    ]


def test_unknown_columns_are_rules_errors(tmp_path):
    root = empty_ledger(tmp_path)
    rules = write(
        tmp_path / "r.yaml",
        """\
        records:
          - kind: customers
            fields:
              id: Customer
              name: {template: "{Customer ID} {Regoin}"}
        """,
    )
    with pytest.raises(ImportInvalid) as info:
        run_import(load(root), IMPORTS / "quickbooks-invoices.csv", rules)
    messages = [str(e).replace(str(tmp_path) + "/", "") for e in info.value.errors]
    assert messages == [
        "r.yaml:4: id: no column 'Customer' in "
        f"{IMPORTS / 'quickbooks-invoices.csv'}; did you mean 'Customer ID'?",
        f"r.yaml:5: name: no column 'Regoin' in {IMPORTS / 'quickbooks-invoices.csv'}"
        "; did you mean 'Region'?",
    ]


def test_bad_source_lines_all_at_once_and_nothing_written(tmp_path):
    root = empty_ledger(tmp_path)
    source = write(
        tmp_path / "inv.csv",
        """\
        Invoice No,Customer ID,Invoice Date,Due Date,Amount,Currency,Disputed,Paid Date,Memo,Region
        1001,HARBOR,07/02/2026,08/01/2026,"1,250.00",USD,No,,a,b
        1002,HARBOR,31/07/2026,08/01/2026,"1,250.00",USD,No,,a,b
        1003,HARBOR,07/02/2026,08/01/2026,12.345,USD,Maybe,,a,b
        "1004","HARBOR","07/02/2026","08/01/2026","1,250.00","usd","No",,"multi
        line",b
        1005,HARBOR,07/02/2026,06/01/2026,5.00,USD,No,,a,b
        1001,HARBOR,07/02/2026,08/01/2026,"1,250.01",USD,No,,a,b
        """,
    )
    with pytest.raises(ImportInvalid) as info:
        run_import(load(root), source, IMPORTS / "quickbooks-invoices.rules.yaml")
    messages = [str(e).replace(str(tmp_path) + "/", "") for e in info.value.errors]
    assert messages == [
        "inv.csv:3: date: '31/07/2026' is not a date written %m/%d/%Y",
        "inv.csv:4: disputed: 'Maybe' (column 'Disputed') is not in the rules' map "
        "('Yes', 'No')",
        "inv.csv:5: currency: 'usd' is not an ISO 4217 currency code; "
        "write it in capitals: USD",
        "inv.csv:7: due: 2026-06-01 is before the issue date 2026-07-02",
        "inv.csv:8: invoice '1001' differs from the one at inv.csv:2; change one "
        "of them or leave it out of the import",
    ]
    assert sorted(p.name for p in root.iterdir()) == ["arledger.yaml"]


def test_cross_checks_see_the_ledger_and_the_import(tmp_path):
    root = empty_ledger(tmp_path)
    source = write(
        tmp_path / "inv.csv",
        """\
        id,customer,date,amount
        I-1,C1,2026-09-01,10.005
        I-2,C9,2026-09-01,10.00
        I-1,C1,2026-09-01,11.00
        """,
    )
    rules = write(
        tmp_path / "r.yaml",
        """\
        records:
          - kind: invoices
            fields: {id: id, customer: customer, date: date, amount: amount}
        """,
    )
    (root / "customers.csv").write_text("id,name\nC1,One\n")
    with pytest.raises(ImportInvalid) as info:
        run_import(load(root), source, rules)
    messages = [str(e).replace(str(tmp_path) + "/", "") for e in info.value.errors]
    assert messages == [
        "inv.csv:2: amount: 10.005 has more decimals than USD allows",
        "inv.csv:3: customer: unknown customer 'C9'",
        "inv.csv:4: invoice 'I-1' differs from the one at inv.csv:2; change one "
        "of them or leave it out of the import",
    ]


def test_same_id_same_content_is_skipped_and_defaults_count(tmp_path):
    root = empty_ledger(tmp_path)
    (root / "customers.csv").write_text("id,name,terms\nC1,One,10\n")
    (root / "invoices.csv").write_text(
        "id,customer,date,amount\nI-1,C1,2026-09-01,94\n"
    )
    source = write(
        tmp_path / "inv.csv",
        "id,customer,date,due,amount\nI-1,C1,2026-09-01,2026-09-11,94.00\n"
        "I-2,C1,2026-09-02,,5\n",
    )
    rules = write(
        tmp_path / "r.yaml",
        """\
        records:
          - kind: invoices
            fields: {id: id, customer: customer, date: date, due: due, amount: amount}
        """,
    )
    result = run_import(load(root), source, rules)
    assert (result.added, result.skipped) == ({"invoices": 1}, {"invoices": 1})
    source.write_text("id,customer,date,due,amount\nI-1,C1,2026-09-01,2026-09-12,94\n")
    with pytest.raises(ImportInvalid) as info:
        run_import(load(root), source, rules)
    [error] = info.value.errors
    assert "differs from the one at invoices.csv:2" in str(error)


def test_exit_status_through_a_real_process(tmp_path):
    root = empty_ledger(tmp_path)
    bad = write(tmp_path / "r.yaml", "records: []\n")
    env = {**os.environ, "NO_COLOR": "1"}
    args = [sys.executable, "-m", "arledger", "import"]
    done = subprocess.run(
        [*args, str(IMPORTS / "quickbooks-invoices.csv"), "--rules", str(bad),
         "--ledger", str(root)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "r.yaml:1: records: give a list of records to make" in done.stderr
    assert "Traceback" not in done.stderr
    stem = "quickbooks-invoices"
    done = subprocess.run(
        [*args, str(IMPORTS / f"{stem}.csv"), "--rules",
         str(IMPORTS / f"{stem}.rules.yaml"), "--ledger", str(root), "-f", "csv"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "kind,added,skipped,file"
    assert done.stdout.splitlines()[2] == (
        "invoices,6,0,invoices/import-quickbooks-invoices-csv.csv"
    )
