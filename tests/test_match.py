"""`arledger match` (SPEC §6): statement lines to customers and invoices."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from arledger.api import load
from arledger.cli import app
from arledger.matching import (
    Line,
    fold,
    ids_in,
    match_lines,
    norm_id,
    read_statement,
)

from .conftest import ROOT, write_ledger

spec = importlib.util.spec_from_file_location(
    "bench_match", ROOT / "benchmarks" / "match.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


LEDGER = dict(
    settings="currency: EUR\n",
    customers="""\
    - {id: ACME, name: "Acme Trading Co., Ltd.", aliases: [Acme Group],
       bank_accounts: ["DE44 5001 0517 5407 3249 31"]}
    - {id: VOGT, name: Brennerei Vogt GmbH}
    - {id: HUA, name: 上海华东机电有限公司}
    - {id: TWIN, name: Twin Peaks Ltd}
    """,
    invoices="""\
    - {id: INV-101, customer: ACME, date: 2026-09-01, amount: 1000.00}
    - {id: INV-102, customer: ACME, date: 2026-09-05, amount: 250.00}
    - {id: INV-103, customer: ACME, date: 2026-09-09, amount: 400.00}
    - {id: INV-201, customer: VOGT, date: 2026-09-02, amount: 730.50}
    - {id: INV-202, customer: VOGT, date: 2026-09-03, amount: 99.90}
    - {id: INV-301, customer: HUA, date: 2026-09-04, amount: 5000.00}
    - {id: INV-401, customer: TWIN, date: 2026-09-04, amount: 300.00}
    - {id: INV-402, customer: TWIN, date: 2026-09-06, amount: 300.00}
    - {id: INV-501, customer: TWIN, date: 2026-09-07, amount: 4321.09}
    """,
    payments="""\
    - {id: P-1, customer: VOGT, date: 2026-10-01, amount: 99.90, invoice: INV-202,
       reference: BANK-OLD-1}
    """,
)

LINES = [
    # (amount, payer, account, reference, text, expected status, customer)
    ("99.90", "Brennerei Vogt", "", "BANK-OLD-1", "", "recorded", "VOGT"),
    (
        "1250.00",
        "ACME TRADING LIMITED",
        "",
        "B1",
        "inv 101 / INV-102",
        "matched",
        "ACME",
    ),
    ("400.00", "Someone", "DE44500105175407324931", "B2", "", "matched", "ACME"),
    ("730.50", "Mr Brennerei Vogt", "", "B3", "thanks", "matched", "VOGT"),
    ("2000.00", "上海华东机电有限公司", "", "B4", "货款 INV301", "matched", "HUA"),
    ("300.00", "Twin Peaks Limited", "", "B5", "", "unmatched", None),
    ("4321.09", "", "", "B6", "CASH DEPOSIT", "suggested", "TWIN"),
    ("730.50", "Brenerei Vogt", "", "B7", "", "unmatched", None),
    ("12.00", "Insurance refund", "", "B8", "", "unmatched", None),
    ("-4.50", "", "", "B9", "FEE", "debit", None),
]


@pytest.fixture
def books(tmp_path):
    root = write_ledger(tmp_path / "books", **LEDGER)
    statement = [
        {"date": date(2026, 10, 15), "amount": Decimal(a), "payer": p, "account": acc,
         "reference": ref, "text": text}
        for a, p, acc, ref, text, _, _ in LINES
    ]  # fmt: skip
    bench.write_camt(tmp_path / "oct.xml", statement, version=8)
    bench.write_camt(tmp_path / "oct2.xml", statement, version=2)
    return root, tmp_path / "oct.xml"


def test_fold_names():
    assert fold("ACME TRADING CO., LTD.") == fold("Acme Trading") == "acme trading"
    assert fold("ＡＣＭＥ　Ｔｒａｄｉｎｇ　Ｌｔｄ．") == "acme trading"
    assert fold("Dr. Jane O'Neil") == "jane oneil"
    assert fold("Oliveira & Filhos, Lda") == "oliveira filhos"
    assert fold("Lindqvist Handels A/S") == "lindqvist handels"
    assert (
        fold("上海华东机电有限公司")
        == fold("上海华东机电股份有限公司")
        == "上海华东机电"
    )
    assert fold("王先生") == "王"


def test_invoice_ids_in_text():
    known = {norm_id(i): i for i in ("INV-101", "INV-102", "1001", "AB/2026/7")}
    assert ids_in("pay inv 101, Inv-102", known) == ["INV101", "INV102"]
    assert ids_in("INV - 101 and 1001", known) == ["INV101", "1001"]
    assert ids_in("ref AB/2026/7", known) == ["AB20267"]
    assert ids_in("10011", known) == []  # never part of a longer number
    assert ids_in("INV-1011", known) == []


def test_every_status_with_its_reason(books):
    root, statement = books
    result = run("match", statement, "--ledger", root, "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["report"] == "match"
    got = [(r["status"], r["customer"]) for r in data["rows"]]
    assert got == [(s, c) for *_, s, c in LINES]
    rows = data["rows"]
    assert rows[1]["allocations"] == {"INV-101": "1000.00", "INV-102": "250.00"}
    assert rows[1]["reason"].endswith("invoice id in text (INV-101, INV-102)")
    assert rows[2]["reason"] == "account DE44500105175407324931; amount = INV-103"
    assert rows[3]["reason"] == "payer name = Mr Brennerei Vogt; amount = INV-201"
    # a partial payment of a named invoice
    assert rows[4]["allocations"] == {"INV-301": "2000.00"}
    assert rows[5]["reason"].endswith("2 open items of 300.00: which one?")
    assert rows[6]["allocations"] == {"INV-501": "4321.09"}
    assert rows[6]["reason"].startswith("amount = INV-501 (the only open item")
    # INV-201 was used up by line 4: the fuzzy name finds nothing left to pay
    assert rows[7]["reason"].startswith("payer name ~ Brennerei Vogt GmbH 9")
    assert rows[9]["allocations"] == {} and rows[9]["customer"] is None
    assert data["totals"] == {
        "recorded": 1, "matched": 4, "suggested": 1, "unmatched": 3, "debit": 1,
    }  # fmt: skip
    assert rows[0]["amount"] == "99.90" and rows[0]["date"] == "2026-10-15"


def test_camt_versions_read_alike(books, tmp_path):
    root, statement = books
    new = read_statement(statement)
    old = read_statement(tmp_path / "oct2.xml")
    assert [(x.payer, x.amount, x.text) for x in new] == [
        (x.payer, x.amount, x.text) for x in old
    ]
    assert new[2].account == "DE44500105175407324931"
    assert new[0].statement == "STMT-2026-10"
    assert [x.line for x in new] == list(range(1, len(LINES) + 1))
    bad = tmp_path / "v9.xml"
    bad.write_text(statement.read_text().replace("camt.053.001.08", "camt.053.001.09"))
    result = run("match", bad, "--ledger", root)
    assert result.exit_code == 2
    assert "versions .001.02 to .001.08" in result.output


def test_apply_writes_once_and_the_ledger_stays_valid(books):
    root, statement = books
    result = run("match", statement, "--ledger", root, "--apply", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["files"] == ["payments/bank-STMT-2026-10.csv"]
    written = (root / "payments" / "bank-STMT-2026-10.csv").read_text()
    assert written.splitlines()[0] == (
        "id,customer,date,amount,currency,allocations,method,reference"
    )
    assert "B1,ACME,2026-10-15,1250.00,EUR,INV-101=1000.00;INV-102=250.00,bank,B1" in (
        written
    )
    assert run("check", "--ledger", root).exit_code == 0
    again = run("match", statement, "--ledger", root, "--apply", "-f", "json")
    data = json.loads(again.output)
    assert data["files"] == []
    # The four matched lines are recorded now; so is line 8, a fuzzy name whose
    # customer now has a payment of that day and amount.
    assert data["totals"]["recorded"] == 6 and data["totals"]["matched"] == 0
    # Accepting the suggestions later writes them, in a file of their own.
    more = run("match", statement, "--ledger", root, "--apply", "--accept-suggested",
               "-f", "json")  # fmt: skip
    assert json.loads(more.output)["files"] == ["payments/bank-STMT-2026-10-2.csv"]
    assert run("check", "--ledger", root).exit_code == 0


def test_table_shows_every_line(books):
    root, statement = books
    result = run("match", statement, "--ledger", root)
    assert result.exit_code == 0, result.output
    assert "1 recorded, 4 matched, 1 suggested, 3 unmatched, 1 debit" in result.output
    assert "INV-101 1000.00, INV-102 250.00" in result.output


def test_csv_statement_through_bank_rules(tmp_path):
    root = write_ledger(tmp_path / "books", **LEDGER)
    statement = tmp_path / "bank.csv"
    statement.write_text(
        "Datum;Betrag;Name;Zweck\n"
        "15.10.2026;1.250,00;Acme Trading Ltd;INV-101 INV-102\n"
        "15.10.2026;-3,50;;Gebühr\n",
        encoding="cp1252",
    )
    rules = tmp_path / "bank.yaml"
    rules.write_text(
        "source: {encoding: cp1252, delimiter: ';', decimal: ',', "
        "date_format: '%d.%m.%Y'}\n"
        "records:\n  - kind: bank\n    fields: {date: Datum, amount: Betrag, "
        "payer: Name, text: Zweck, currency: {value: EUR}}\n"
    )
    result = run("match", statement, "--rules", rules, "--ledger", root, "-f", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert [(r["line"], r["status"]) for r in rows] == [(2, "matched"), (3, "debit")]
    statement.write_text(
        "Datum;Betrag;Name;Zweck\n15.10.2026;zwölf;A;B\n31.02.2026;1,00;A;B\n",
        encoding="cp1252",
    )
    result = run("match", statement, "--rules", rules, "--ledger", root)
    assert result.exit_code == 2
    assert f"{statement}:2: amount: not an amount ('zwölf')" in result.output
    assert f"{statement}:3: date: '31.02.2026' is not a date written %d.%m.%Y" in (
        result.output
    )
    # Import rules are not bank rules, and the other way round.
    result = run("match", statement, "--rules",
                 ROOT / "examples/imports/quickbooks-invoices.rules.yaml",
                 "--ledger", root)  # fmt: skip
    assert result.exit_code == 2
    assert "kind: must be one of bank" in result.output


def test_mt940_and_ofx(books, tmp_path):
    root, _ = books
    statement = [
        {"date": date(2026, 10, 15), "amount": Decimal("1250.00"),
         "payer": "Acme Trading", "account": "", "reference": "M1",
         "text": "INV-101 INV-102"},
        {"date": date(2026, 10, 16), "amount": Decimal("-2.00"), "payer": "",
         "account": "", "reference": "M2", "text": "fee"},
    ]  # fmt: skip
    bench.write_mt940(tmp_path / "oct.sta", statement)
    lines = read_statement(tmp_path / "oct.sta")
    assert [(x.line, x.amount, x.reference, x.payer) for x in lines] == [
        (1, Decimal("1250.00"), "M1", "Acme Trading"),
        (2, Decimal("-2.00"), "M2", ""),
    ]
    assert "INV-101" in lines[0].text
    ofx = tmp_path / "oct.ofx"
    ofx.write_text(OFX)
    lines = read_statement(ofx)
    assert [(x.amount, x.payer, x.reference, x.currency) for x in lines] == [
        (Decimal("730.50"), "BRENNEREI VOGT", "OFX-1", "EUR")
    ]
    [result] = match_lines(load(root), lines)
    assert (result.status, result.allocations) == (
        "matched", {"INV-201": Decimal("730.50")}
    )  # fmt: skip


OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>
<DTSERVER>20261031120000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>EUR<BANKACCTFROM><BANKID>12345678<ACCTID>999<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20261001<DTEND>20261031
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261015<TRNAMT>730.50<FITID>OFX-1<NAME>BRENNEREI VOGT<MEMO>October</STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>730.50<DTASOF>20261031</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
"""


def test_earlier_matched_lines_use_up_what_they_pay(books):
    root, _ = books
    ledger = load(root)
    line = Line("s", 1, date(2026, 10, 15), Decimal("400.00"), "EUR",
                "Acme Trading", "", "", "")  # fmt: skip
    first, second = match_lines(ledger, [line, Line(**{**line.__dict__, "line": 2})])
    assert first.status == "matched" and first.allocations == {
        "INV-103": Decimal("400.00")
    }
    assert second.status == "unmatched"


def test_generated_statement_is_matched_precisely(tmp_path):
    statement = bench.generate(tmp_path, seed=11, customers=30, lines=120)
    ledger = load(tmp_path / "ledger")
    for name in ("statement.xml", "statement.sta"):
        rows = [
            r.as_json() for r in match_lines(ledger, read_statement(tmp_path / name))
        ]
        result = bench.score(statement, rows)
        assert result["precision"] == 1.0, result["wrong"]
        assert result["matched_or_suggested_correct"] >= 0.95


def test_bad_statement_exits_2_without_traceback(tmp_path):
    root = write_ledger(tmp_path / "books", **LEDGER)
    broken = tmp_path / "broken.xml"
    broken.write_text(
        "<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'>"
    )
    done = subprocess.run(
        [sys.executable, "-m", "arledger", "match", str(broken), "--ledger", str(root)],
        capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"{broken}:1: not XML" in done.stderr
    assert "Traceback" not in done.stderr
    csv = tmp_path / "s.csv"
    csv.write_text("a,b\n")
    result = run("match", csv, "--ledger", root)
    assert result.exit_code == 2
    assert "needs --rules with `kind: bank`" in result.output


def test_an_invoice_with_a_schedule_is_matched_by_its_open_instalments(tmp_path):
    """Open invoices are whole invoices: the open instalments of INV-9 (600.00
    and 400.00, the first 100.00 already paid) sum to 900.00, due at the
    earliest; a credit of 900.00 pays it, by amount and by id."""
    root = write_ledger(
        tmp_path / "books",
        settings="currency: EUR\n",
        customers="- {id: ACME, name: Acme Trading Ltd}\n"
        "- {id: VOGT, name: Brennerei Vogt GmbH}\n",
        invoices="""\
        - {id: INV-9, customer: ACME, date: 2026-09-01, amount: 1000.00,
           schedule: [{due: 2026-09-30, amount: 600.00},
                      {due: 2026-10-31, amount: 400.00}]}
        - {id: INV-10, customer: VOGT, date: 2026-09-01, amount: 900.00}
        """,
        payments="- {customer: ACME, date: 2026-09-20, amount: 100.00, invoice: INV-9}\n",
    )
    ledger = load(root)
    lines = [
        Line("s", n, date(2026, 10, 15), Decimal("900.00"), "EUR", payer, "",
             f"B{n}", text)
        for n, (payer, text) in enumerate(
            [("Acme Trading Ltd", ""), ("Someone", "INV-9"), ("", "")], 1
        )
    ]  # fmt: skip
    first, second, third = match_lines(ledger, lines)
    assert (first.status, first.allocations) == (
        "matched",
        {"INV-9": Decimal("900.00")},
    )
    assert first.reason.endswith("amount = INV-9")
    # the first line used it up: the second names it, with nothing left
    assert second.status == "unmatched"
    # two open items of 900.00 in the ledger (INV-9's sum, INV-10) before the
    # first line; after it, INV-10 alone
    assert third.status == "suggested" and third.allocations == {
        "INV-10": Decimal("900.00")
    }
