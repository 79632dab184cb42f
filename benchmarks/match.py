"""Bank matching benchmark: a generated ledger and its statement with realistic
remittance noise, in camt.053, MT940 and CSV; prints precision and coverage.

Each credit has a known truth (customer and allocations, or none). Measured:
- matched precision: matched lines whose customer and allocations are the truth;
- coverage: matched lines / matchable credits (those with a truth);
- matched + suggested correct: such lines that are right / matchable credits.

Usage:
    python benchmarks/match.py [--seed N] [--customers N] [--lines N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

FIRST = """Acme Harbor Northwind Bluefin Lindqvist Oliveira Vogt Kestrel Meridian
Granite Juniper Halcyon Sable Tamarind Corvid Wexford Ironbark Pelican Quarry
Saffron Tidewater Umber Verdant Willow Yarrow Zephyr Alder Bramble Cobalt Dunmore
Ember Fennel Gorse Heron Ibis Jasper Kelp Larch Mistral Nettle Osprey Puffin Quill
Rowan Sorrel Thistle Upland Vetch Wren""".split()
SECOND = (
    "Trading Logistics Foods Systems Textiles Metals Pharma Marine Media Tools".split()
)
SUFFIX = ["Ltd", "Inc.", "GmbH", "LLC", "Co., Ltd.", "Limited", "AG", "S.A.", "plc"]
ZH = [
    "上海华东机电",
    "杭州明远贸易",
    "苏州恒通电子",
    "深圳南方精密",
    "北京长城物流",
    "广州珠江食品",
    "成都天府软件",
    "武汉江城钢铁",
]
TITLES = ["Mr", "Mrs", "Ms", "Dr"]


def money(rng: random.Random, low: int = 100, high: int = 20000) -> Decimal:
    return (Decimal(rng.randint(low * 100, high * 100)) / 100).quantize(Decimal("0.01"))


def iban(rng: random.Random) -> str:
    digits = "".join(str(rng.randint(0, 9)) for _ in range(18))
    return (
        "DE" + digits[:2] + " " + " ".join(digits[i : i + 4] for i in range(2, 18, 4))
    )


def typo(rng: random.Random, text: str) -> str:
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    i = rng.choice(letters[1:-1] or letters)
    return text[:i] + text[i + 1 :]


def spell(rng: random.Random, invoice: str) -> str:
    """An invoice id as payers write it."""
    prefix, _, number = invoice.partition("-")
    return rng.choice(
        [
            invoice,
            invoice.lower(),
            f"{prefix} {number}",
            f"{prefix}{number}",
            f"{prefix} - {number}",
            f"{prefix.title()}-{number}",
        ]
    )


def generate(root: Path, seed: int = 7, customers: int = 60, lines: int = 300):
    """Write a ledger under root/ledger and a statement in three formats; return
    the statement lines with their truth."""
    rng = random.Random(seed)
    start = date(2026, 9, 1)
    people = []
    names = set()
    for n in range(customers):
        if n % 10 == 9:
            base = ZH[(n // 10) % len(ZH)] + ("" if n < 80 else str(n))
            name = base + "有限公司"
        else:
            for _ in range(20):
                base = f"{rng.choice(FIRST)} {rng.choice(SECOND)}"
                if base not in names:
                    break
            else:  # the 500 pairs are used up: a big test set numbers them
                base = f"{rng.choice(FIRST)} {rng.choice(SECOND)} {n}"
            name = f"{base} {rng.choice(SUFFIX)}"
        names.add(base)
        people.append(
            {
                "id": f"C{n:03d}",
                "name": name,
                "base": base,
                "iban": iban(rng) if n % 4 == 0 else "",
                "alias": f"{base.split()[0]} Group" if n % 7 == 3 else "",
            }
        )
    invoices = []
    number = 1000
    for person in people:
        for _ in range(rng.randint(2, 7)):
            number += rng.randint(1, 3)
            day = start + timedelta(days=rng.randint(0, 40))
            invoices.append(
                {
                    "id": f"INV-{number}",
                    "customer": person["id"],
                    "date": day,
                    "amount": money(rng),
                }
            )
    # Two invoices of the same amount for some customers.
    for person in people[::9]:
        own = [i for i in invoices if i["customer"] == person["id"]]
        if len(own) >= 2:
            own[1]["amount"] = own[0]["amount"]
    paid = []  # payments already in the ledger, some named again by the bank
    for invoice in rng.sample(invoices, len(invoices) // 10):
        paid.append(
            {
                "id": f"P-{invoice['id']}",
                "customer": invoice["customer"],
                "date": invoice["date"] + timedelta(days=20),
                "amount": invoice["amount"],
                "invoice": invoice["id"],
                "reference": f"BANK{rng.randint(10**8, 10**9)}",
            }
        )
    paid_ids = {p["invoice"] for p in paid}
    by_customer: dict[str, list[dict]] = {}
    for invoice in invoices:
        if invoice["id"] not in paid_ids:
            by_customer.setdefault(invoice["customer"], []).append(invoice)
    people_by_id = {p["id"]: p for p in people}
    used: set[str] = set()
    open_customers = sorted(by_customer)
    statement = []
    day0 = date(2026, 10, 15)

    def payer_name(person, how):
        base, name = person["base"], person["name"]
        if how == "exact":
            return rng.choice(
                [
                    name,
                    name.upper(),
                    base,
                    f"{base} Limited" if not base.startswith(tuple(ZH)) else base,
                ]
            )
        if how == "title":
            return f"{rng.choice(TITLES)} {base}"
        if how == "typo":
            return typo(rng, base) + " " + rng.choice(SUFFIX)
        if how == "fullwidth":
            return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
        return ""

    kinds = [
        "id",
        "id",
        "id",
        "id",
        "amount",
        "combined",
        "combined_ids",
        "typo",
        "title",
        "anon",
        "fee",
        "unrelated",
        "recorded",
        "partial",
        "account",
        "fullwidth",
        "alias",
    ]
    for n in range(lines):
        kind = kinds[n % len(kinds)]
        day = day0 + timedelta(days=n % 10)
        ref = f"BK{seed}{n:06d}"
        line = {
            "date": day,
            "reference": ref,
            "payer": "",
            "account": "",
            "text": "",
            "truth": None,
            "kind": kind,
        }
        picked = None
        if kind not in ("fee", "unrelated", "recorded"):
            while open_customers and picked is None:
                customer = rng.choice(open_customers)
                items = [i for i in by_customer[customer] if i["id"] not in used]
                if items:
                    picked = (customer, items)
                else:
                    open_customers.remove(customer)
        if kind == "fee":
            line.update(amount=-money(rng, 1, 30), text="ACCOUNT FEE OCT")
        elif kind == "unrelated":
            line.update(
                amount=money(rng, 1, 90) + Decimal("0.07"),
                payer="Hermes Insurance Refunds",
                text="REFUND 2026/44",
            )
        elif kind == "recorded":
            payment = rng.choice(paid)
            person = people_by_id[payment["customer"]]
            line.update(
                amount=payment["amount"],
                reference=payment["reference"],
                payer=person["name"],
                truth="recorded",
            )
        elif picked is None:
            line.update(amount=money(rng), payer="Nobody Known", text="")
        else:
            customer, items = picked
            person = people_by_id[customer]
            items.sort(key=lambda i: (i["date"], i["id"]))
            amounts = [i["amount"] for i in items]
            first = items[0]
            if kind in ("combined", "combined_ids") and len(items) >= 2:
                chosen = items[:2]
            else:
                chosen = [first]
            total = sum((i["amount"] for i in chosen), Decimal(0))
            allocations = {i["id"]: str(i["amount"]) for i in chosen}
            payer = payer_name(person, "exact")
            text = ""
            if kind in ("id", "combined_ids"):
                text = "Payment " + " / ".join(spell(rng, i["id"]) for i in chosen)
            elif kind == "partial":
                total = (first["amount"] / 2).quantize(Decimal("0.01"))
                allocations = {first["id"]: str(total)}
                text = f"part payment {spell(rng, first['id'])}"
            elif kind == "amount" or kind == "combined":
                text = rng.choice(["", "thank you", "October payment", "PAYMENT"])
            elif kind == "typo":
                payer = payer_name(person, "typo")
            elif kind == "title":
                payer = payer_name(person, "title")
            elif kind == "fullwidth":
                payer = payer_name(person, "fullwidth")
            elif kind == "alias" and person["alias"]:
                payer = person["alias"]
            elif kind == "anon":
                payer, text = "", "CASH DEPOSIT"
            elif kind == "account":
                payer = "Accounts Payable Dept"
                line["account"] = (
                    person["iban"].replace(" ", "") if person["iban"] else ""
                )
                if not person["iban"]:
                    text = spell(rng, first["id"])
            # Without an invoice id, a line is ambiguous when another set of
            # the customer's open items adds up to the same amount: no rule can
            # tell which was meant, so it is not counted as matchable.
            named = kind in ("id", "combined_ids", "partial") or bool(
                kind == "account" and text
            )
            sums = [a for a in amounts] + [
                a + b for n, a in enumerate(amounts) for b in amounts[n + 1 :]
            ]
            ambiguous = not named and sums.count(total) > 1
            line.update(
                amount=total,
                payer=payer,
                text=text,
                truth={
                    "customer": customer,
                    "allocations": allocations,
                    "ambiguous": ambiguous,
                },
            )
            for invoice in chosen:
                used.add(invoice["id"])
        statement.append(line)
    ledger = root / "ledger"
    ledger.mkdir(parents=True, exist_ok=True)
    (ledger / "arledger.yaml").write_text("currency: EUR\n")
    _write_csv(
        ledger / "customers.csv",
        ["id", "name", "aliases", "bank_accounts"],
        [[p["id"], p["name"], p["alias"], p["iban"]] for p in people],
    )
    _write_csv(
        ledger / "invoices.csv",
        ["id", "customer", "date", "amount"],
        [[i["id"], i["customer"], i["date"], i["amount"]] for i in invoices],
    )
    _write_csv(
        ledger / "payments.csv",
        ["id", "customer", "date", "amount", "invoice", "reference"],
        [
            [p[k] for k in ("id", "customer", "date", "amount", "invoice", "reference")]
            for p in paid
        ],
    )
    write_camt(root / "statement.xml", statement, version=8 if seed % 2 else 2)
    write_mt940(root / "statement.sta", statement)
    write_csv_statement(root / "statement.csv", root / "bank.rules.yaml", statement)
    return statement


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else str(v) for v in row] for row in rows])


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_camt(path: Path, statement: list[dict], version: int = 8) -> None:
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"
    out = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}">',
        "<BkToCstmrStmt><GrpHdr><MsgId>MSG1</MsgId></GrpHdr>",
        "<Stmt><Id>STMT-2026-10</Id>",
    ]
    for line in statement:
        amount = line["amount"]
        sign = "CRDT" if amount > 0 else "DBIT"
        payer = _esc(line["payer"])
        party = (
            f"<Dbtr><Pty><Nm>{payer}</Nm></Pty></Dbtr>"
            if version >= 8
            else f"<Dbtr><Nm>{payer}</Nm></Dbtr>"
        )
        account = (
            f"<DbtrAcct><Id><IBAN>{line['account']}</IBAN></Id></DbtrAcct>"
            if line["account"]
            else ""
        )
        out.append(
            f'<Ntry><Amt Ccy="EUR">{abs(amount)}</Amt><CdtDbtInd>{sign}</CdtDbtInd>'
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{line['date']}</Dt></BookgDt>"
            f"<AcctSvcrRef>{line['reference']}</AcctSvcrRef><NtryDtls><TxDtls>"
            f"<RltdPties>{party if payer else ''}{account}</RltdPties>"
            f"<RmtInf><Ustrd>{_esc(line['text'])}</Ustrd></RmtInf>"
            "</TxDtls></NtryDtls></Ntry>"
        )
    out.append("</Stmt></BkToCstmrStmt></Document>\n")
    path.write_text("\n".join(out), encoding="utf-8")


def write_mt940(path: Path, statement: list[dict]) -> None:
    out = [
        ":20:STMT-2026-10",
        ":25:DE89370400440532013000",
        ":28C:1/1",
        ":60F:C261001EUR0,00",
    ]
    for line in statement:
        amount = line["amount"]
        day = line["date"].strftime("%y%m%d")
        mark = "C" if amount > 0 else "D"
        value = f"{abs(amount):.2f}".replace(".", ",")
        out.append(f":61:{day}{day[2:]}{mark}{value}NTRFNONREF//{line['reference']}")
        text = f"?00GUTSCHRIFT?20{line['text'][:27]}?21{line['text'][27:54]}"
        if line["account"]:
            text += f"?30COBADEFFXXX?31{line['account']}"
        if line["payer"]:
            text += f"?32{line['payer'][:27]}?33{line['payer'][27:54]}"
        out.append(f":86:166{text}")
    out.append(":62F:C261031EUR0,00")
    path.write_text("\r\n".join(out) + "\r\n", encoding="utf-8")


def write_csv_statement(path: Path, rules: Path, statement: list[dict]) -> None:
    rows = [
        [
            line["date"].strftime("%d.%m.%Y"),
            f"{line['amount']:.2f}".replace(".", ","),
            line["payer"],
            line["account"],
            line["reference"],
            line["text"],
        ]
        for line in statement
    ]
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            "Buchungstag",
            "Betrag",
            "Auftraggeber",
            "IBAN",
            "Referenz",
            "Verwendungszweck",
        ]
    )
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    rules.write_text(
        "source: {encoding: utf-8, delimiter: ';', decimal: ',',\n"
        "         date_format: '%d.%m.%Y'}\n"
        "records:\n  - kind: bank\n    fields:\n      date: Buchungstag\n"
        "      amount: Betrag\n      currency: {value: EUR}\n"
        "      payer: Auftraggeber\n      account: IBAN\n"
        "      reference: Referenz\n      text: Verwendungszweck\n"
    )


def _decimals(allocations: dict[str, str]) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in allocations.items()}


def score(statement: list[dict], rows: list[dict]) -> dict[str, Any]:
    """Precision over every matched line; coverage and matched + suggested
    correct over the matchable credits (a truth, not ambiguous)."""
    matched = matched_right = covered = either_right = matchable = ambiguous = 0
    wrong: list[tuple[dict, dict]] = []
    for truth_line, row in zip(statement, rows, strict=True):
        truth = truth_line["truth"]
        right = (
            isinstance(truth, dict)
            and row["customer"] == truth["customer"]
            and _decimals(row["allocations"]) == _decimals(truth["allocations"])
        )
        counted = isinstance(truth, dict) and not truth["ambiguous"]
        ambiguous += isinstance(truth, dict) and truth["ambiguous"]
        matchable += counted
        if row["status"] == "matched":
            matched += 1
            matched_right += right
            covered += right and counted
            if not right:
                wrong.append((truth_line, row))
        if row["status"] in ("matched", "suggested") and right and counted:
            either_right += 1
    return {
        "lines": len(rows),
        "matchable": matchable,
        "ambiguous": ambiguous,
        "matched": matched,
        "precision": matched_right / matched if matched else 1.0,
        "coverage": covered / matchable if matchable else 1.0,
        "matched_or_suggested_correct": either_right / matchable if matchable else 1.0,
        "wrong": wrong,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=60)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--keep", type=Path, help="write the data here and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="arledger-match-"))
    statement = generate(root, args.seed, args.customers, args.lines)
    print(
        "| format | lines | matchable | ambiguous | matched | precision | coverage | "
        "matched+suggested correct | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for name, extra in (
        ("camt.053", ["statement.xml"]),
        ("MT940", ["statement.sta"]),
        ("CSV", ["statement.csv", "--rules", "bank.rules.yaml"]),
    ):
        began = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "arledger",
                "match",
                *[str(root / e) if not e.startswith("--") else e for e in extra],
                "--ledger",
                str(root / "ledger"),
                "-f",
                "json",
            ],
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            print(f"{name}: exit {done.returncode}: {done.stderr[-2000:]}")
            ok = False
            continue
        result = score(statement, json.loads(done.stdout)["rows"])
        print(
            f"| {name} | {result['lines']} | {result['matchable']} | "
            f"{result['ambiguous']} | "
            f"{result['matched']} | {result['precision']:.1%} | "
            f"{result['coverage']:.1%} | "
            f"{result['matched_or_suggested_correct']:.1%} | {seconds:.2f} |"
        )
        for truth, row in result["wrong"][:5]:
            print(f"  wrong: {truth['kind']} {truth['truth']} {row}")
        ok = ok and result["precision"] == 1.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
