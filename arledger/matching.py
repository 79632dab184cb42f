"""`arledger match`: bank statement lines to customers and invoices (SPEC §6).

Statements are read into `Line`s (camt.053 with the standard library's
ElementTree, MT940 with `mt-940`, OFX with `ofxtools`, CSV/xlsx through a
`kind: bank` rules file and the importer's row maker). Open items come from the
one settlement (`arledger.api.settlement`) as of each line's booking date.
Precision before coverage: `matched` needs a certain customer and invoices that
account for the amount; anything weaker is at most `suggested`.

Never prints or exits; `apply` writes through fileio only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from arledger.errors import ArledgerError, LedgerError, Source
from arledger.ledger import Ledger

STATUSES = ("recorded", "matched", "suggested", "unmatched", "debit")
MAX_SUBSET = 6  # at most this many open items paid by one credit
SUBSET_ITEMS = 24  # the subset search looks at a customer's oldest items only
SUBSET_BUDGET = 200_000  # steps; beyond, no subset is chosen (never a guess)
FUZZY_CUTOFF = 85  # rapidfuzz score a payer name needs to suggest a customer
FUZZY_LEAD = 5  # ... and its lead over the next customer's score


@dataclass(frozen=True)
class Line:
    """One statement line; `amount` is negative for a debit."""

    statement: str  # the statement's id, else the file's stem
    line: int
    date: date
    amount: Decimal
    currency: str | None
    payer: str = ""
    account: str = ""
    reference: str = ""
    text: str = ""

    @property
    def payment_id(self) -> str:
        return self.reference or f"{self.statement}-{self.line}"


@dataclass
class Result:
    line: Line
    status: str
    reason: str
    customer: str | None = None
    allocations: dict[str, Decimal] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        line = self.line
        return {
            "statement": line.statement,
            "line": line.line,
            "date": line.date.isoformat(),
            "amount": f"{line.amount:f}",
            "currency": line.currency,
            "payer": line.payer or None,
            "reference": line.reference or None,
            "text": line.text or None,
            "status": self.status,
            "customer": self.customer,
            "allocations": {k: f"{v:f}" for k, v in self.allocations.items()},
            "reason": self.reason,
        }


class StatementInvalid(ArledgerError):
    def __init__(self, errors: list[LedgerError]) -> None:
        self.errors = sorted(errors, key=LedgerError.sort_key)
        n = len(self.errors)
        super().__init__(f"{n} problem{'s' if n != 1 else ''}; nothing matched")


# ---------------------------------------------------------------- reading


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "statement"


def read_statement(
    path: str | Path, rules_path: str | Path | None = None
) -> list[Line]:
    """The lines of a statement file, whatever its format."""
    path = Path(path)
    if not path.is_file():
        raise ArledgerError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".xlsx", ".txt") and rules_path is not None:
        return _read_with_rules(path, rules_path)
    head = path.read_bytes()[:4096].lstrip(b"\xef\xbb\xbf \r\n\t")
    if head.startswith(b"<") and b"camt.053" in head:
        return _read_camt(path)
    if suffix in (".ofx", ".qfx") or head.upper().startswith((b"OFXHEADER", b"<?XML")):
        return _read_ofx(path)
    if suffix in (".sta", ".mt940", ".940") or head.startswith((b":20:", b"{1:")):
        return _read_mt940(path)
    if suffix in (".csv", ".xlsx"):
        raise ArledgerError(
            f"{path}: a CSV or xlsx statement needs --rules with `kind: bank`"
        )
    raise ArledgerError(
        f"{path}: not a statement arledger reads (camt.053, MT940, OFX, "
        "or CSV/xlsx with --rules)"
    )


def _read_with_rules(path: Path, rules_path: str | Path) -> list[Line]:
    from arledger.importer import ImportInvalid, make_rows, read_rules
    from arledger.rules import Bad, currencies, dates

    rules = read_rules(rules_path, kinds=("bank",))
    try:
        made, errors, _ = make_rows(rules, path)
    except ImportInvalid as exc:
        raise StatementInvalid(exc.errors) from None
    lines = []
    for line, texts in made.get("bank", ()):
        where = Source(str(path), line)
        try:
            day = dates([texts.get("date", "")])[0]
            amount = Decimal(texts.get("amount", ""))
            if not amount.is_finite():
                raise InvalidOperation
            currency = texts.get("currency")
            if currency is not None:
                currencies([currency])
        except Bad as exc:
            name = "date" if "date" in str(exc) or not texts.get("date") else "currency"
            errors.append(LedgerError(where, f"{name}: {exc.messages[0]}"))
            continue
        except InvalidOperation:
            errors.append(
                LedgerError(where, f"amount: not an amount ({texts.get('amount')!r})")
            )
            continue
        lines.append(
            Line(
                path.stem, line, day, amount, currency,
                texts.get("payer", ""), texts.get("account", ""),
                texts.get("reference", ""), texts.get("text", ""),
            )
        )  # fmt: skip
    if errors:
        raise StatementInvalid(errors)
    return lines


CAMT = re.compile(r"\{urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d\d)\}Document")


def _read_camt(path: Path) -> list[Line]:
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 1
        raise StatementInvalid(
            [LedgerError(Source(str(path), line), f"not XML: {exc}")]
        ) from None
    found = CAMT.fullmatch(root.tag)
    if found is None or not 2 <= int(found.group(1)) <= 8:
        raise ArledgerError(
            f"{path}: not a camt.053 statement of versions .001.02 to .001.08 "
            f"(root {root.tag!r})"
        )
    version = int(found.group(1))
    ns = {"c": root.tag[1:].partition("}")[0]}
    lines: list[Line] = []
    errors: list[LedgerError] = []
    number = 0
    for stmt in root.iterfind("c:BkToCstmrStmt/c:Stmt", ns):
        stmt_id = _safe_id((stmt.findtext("c:Id", "", ns) or path.stem).strip())
        for entry in stmt.iterfind("c:Ntry", ns):
            number += 1

            def text(xpath: str, node: Any = entry) -> str:
                return (node.findtext(xpath, "", ns) or "").strip()

            amt = entry.find("c:Amt", ns)
            try:
                amount = Decimal((amt.text or "").strip()) if amt is not None else None
            except InvalidOperation:
                amount = None
            booked = text("c:BookgDt/c:Dt") or text("c:BookgDt/c:DtTm")[:10]
            booked = booked or text("c:ValDt/c:Dt") or text("c:ValDt/c:DtTm")[:10]
            try:
                day = date.fromisoformat(booked)
            except ValueError:
                day = None
            if amount is None or day is None or not amount.is_finite():
                what = "amount" if amount is None else "booking date"
                errors.append(
                    LedgerError(
                        Source(str(path), number), f"entry {number}: no {what} read"
                    )
                )
                continue
            if text("c:CdtDbtInd") == "DBIT":
                amount = -amount
            tx = entry.find("c:NtryDtls/c:TxDtls", ns)
            payer = account = ""
            words: list[str] = []
            reference = text("c:AcctSvcrRef")
            if tx is not None:
                party = "c:RltdPties/c:Dbtr/c:Pty/c:Nm" if version >= 8 else (
                    "c:RltdPties/c:Dbtr/c:Nm"
                )  # fmt: skip
                payer = text(party, tx) or text("c:RltdPties/c:Dbtr/c:Nm", tx)
                account = text("c:RltdPties/c:DbtrAcct/c:Id/c:IBAN", tx) or text(
                    "c:RltdPties/c:DbtrAcct/c:Id/c:Othr/c:Id", tx
                )
                reference = reference or text("c:Refs/c:AcctSvcrRef", tx)
                words += [
                    (u.text or "").strip() for u in tx.iterfind("c:RmtInf/c:Ustrd", ns)
                ]
                words += [
                    (r.text or "").strip()
                    for r in tx.iterfind("c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", ns)
                ]
                end_to_end = text("c:Refs/c:EndToEndId", tx)
                if end_to_end and end_to_end != "NOTPROVIDED":
                    words.append(end_to_end)
            words.append(text("c:AddtlNtryInf"))
            lines.append(
                Line(
                    stmt_id, number, day, amount, amt.get("Ccy") if amt is not None
                    else None, payer, account, reference,
                    " ".join(w for w in words if w),
                )
            )  # fmt: skip
    if errors:
        raise StatementInvalid(errors)
    return lines


def _read_mt940(path: Path) -> list[Line]:
    import mt940
    from mt940.options import Options

    try:
        # `applicant_iban`: read `?31` (the payer's account) as its own field,
        # not glued to the front of the payer's name.
        parsed = mt940.parse(str(path), options=Options(applicant_iban=True))
    except Exception as exc:  # the parser's errors have no common base
        raise ArledgerError(f"{path}: not an MT940 statement ({exc})") from None
    statement = _safe_id(
        str(parsed.data.get("transaction_reference") or path.stem).strip()
    )
    lines = []
    for number, tx in enumerate(parsed, 1):
        data = tx.data
        money = data.get("amount")
        day = data.get("entry_date") or data.get("date")
        if money is None or day is None:
            raise ArledgerError(f"{path}: :61: line {number}: no amount or date")
        bank_ref = (data.get("bank_reference") or "").strip()
        customer_ref = (data.get("customer_reference") or "").strip()
        if customer_ref.upper() == "NONREF":
            customer_ref = ""
        details = " ".join(
            str(data.get(k) or "").replace("\n", " ")
            for k in ("purpose", "transaction_details", "extra_details")
        )
        payer = str(data.get("applicant_name") or "").strip()
        account = str(
            data.get("applicant_iban") or data.get("gvc_applicant_iban") or ""
        )
        lines.append(
            Line(
                statement, number, date(day.year, day.month, day.day),
                Decimal(money.amount), money.currency, payer, account.strip(),
                bank_ref or customer_ref, " ".join(details.split()),
            )
        )  # fmt: skip
    return lines


def _read_ofx(path: Path) -> list[Line]:
    from ofxtools.Parser import OFXTree

    tree = OFXTree()
    try:
        tree.parse(str(path))
        ofx = tree.convert()
    except Exception as exc:  # ofxtools raises several unrelated types
        raise ArledgerError(f"{path}: not an OFX statement ({exc})") from None
    lines = []
    number = 0
    for stmt in ofx.statements:
        for tx in stmt.transactions:
            number += 1
            text = " ".join(str(v) for v in (tx.memo, tx.refnum) if v)
            payer = str(tx.name or (tx.payee.name if tx.payee else "") or "")
            lines.append(
                Line(
                    path.stem, number, tx.dtposted.date(), Decimal(tx.trnamt),
                    getattr(tx, "currency", None) and tx.currency.cursym
                    or stmt.curdef, payer, "", str(tx.fitid or ""), text,
                )
            )  # fmt: skip
    return lines


# ---------------------------------------------------------------- names and ids

TITLES = frozenset(
    "mr mrs ms miss mx dr prof sir madam herr frau m mme mlle sr sra".split()
)
LEGAL = frozenset(
    """ltd limited inc incorporated corp corporation co company llc llp lp plc
    gmbh mbh ag kg kgaa ohg ug ev sa sas sarl srl spa sl bv nv ab oy oyj as asa
    aps a/s lda pty pte kk bhd sdn the""".split()
)
LEGAL_ZH = ("股份有限公司", "有限责任公司", "有限公司", "集团公司", "集团", "公司")
TITLES_ZH = ("先生", "女士", "小姐")


def fold(name: str) -> str:
    """A name as compared: NFKC (full width to half), case folded, punctuation
    out, titles and legal suffixes (English, German, ..., Chinese) dropped."""
    text = unicodedata.normalize("NFKC", name).casefold().strip()
    changed = True
    while changed:
        changed = False
        for suffix in (*LEGAL_ZH, *TITLES_ZH):
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)].rstrip(), True
    # "S.A.", "Co.", "A/S", "O'Brien": the marks inside a word go, others part words.
    text = re.sub(r"[.'’/]", "", text)
    words = "".join(ch if ch.isalnum() else " " for ch in text).split()
    while len(words) > 1 and words[0] in TITLES:
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL:
        words = words[:-1]
    return " ".join(words)


def norm_id(text: str) -> str:
    """An invoice id as compared with remittance text: case, spaces and
    dashes (and other punctuation inside it) ignored."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


_TOKEN = re.compile(r"[^\W_]+")
_JOINS = re.compile(r"[\s\-/._#]{1,3}")  # what may stand inside an id as written


def ids_in(text: str, known: dict[str, Any], longest: int = 5) -> list[str]:
    """Keys of `known` (normalised ids) written in `text`, in order, once each."""
    tokens = list(_TOKEN.finditer(text.upper()))
    found: list[str] = []
    for i in range(len(tokens)):
        joined = ""
        for j in range(i, min(i + longest, len(tokens))):
            if j > i and not _JOINS.fullmatch(
                text[tokens[j - 1].end() : tokens[j].start()]
            ):
                break
            joined += tokens[j].group()
            if joined in known and joined not in found:
                found.append(joined)
    return found


# ---------------------------------------------------------------- the ledger side


@dataclass
class _OpenInvoice:
    """An invoice with a schedule, its open instalments summed (an invoice
    without one is its settled `Item`, which has the same fields)."""

    invoice: str
    customer: str
    currency: str
    due: date
    open: Decimal


class _Books:
    """What the matcher knows of the ledger: customers by account and folded
    name, payments by reference, and open invoices as of each date."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.by_account: dict[str, set[str]] = {}
        self.by_name: dict[str, set[str]] = {}
        self.names: dict[str, str] = {}  # folded name -> one customer's display name
        for customer in ledger.customers.values():
            for account in customer.bank_accounts or ():
                key = "".join(account.split()).upper()
                self.by_account.setdefault(key, set()).add(customer.id)
            for name in (customer.name, *(customer.aliases or ())):
                folded = fold(name)
                if folded:
                    self.by_name.setdefault(folded, set()).add(customer.id)
                    self.names.setdefault(folded, name)
        self.payment_refs: dict[str, Any] = {}
        self.payment_keys: set[tuple[str, date, Decimal]] = set()
        for payment in ledger.payments:
            for ref in (payment.id, payment.reference):
                if ref:
                    self.payment_refs.setdefault(ref, payment)
            self.payment_keys.add((payment.customer, payment.date, payment.amount))
        self.invoice_ids: dict[str, str] = {}  # normalised id -> id
        for invoice_id in ledger.invoices:
            self.invoice_ids.setdefault(norm_id(invoice_id), invoice_id)
        self._open: dict[date, _Open] = {}
        self._dates: list[date] | None = None
        self._full: tuple[Any, Any] | None = None

    def open_on(self, day: date) -> _Open:
        """Open invoices as of `day`, from the one settlement.

        What is open on a day depends only on the records dated on or before
        it, so days with no record between them share one settlement (keyed
        by the last record's date)."""
        from bisect import bisect_right

        if self._dates is None:
            self._dates = sorted(
                {r.date for r in self.ledger.invoices.values()}
                | {r.date for r in self.ledger.payments}
                | {r.date for r in self.ledger.adjustments}
            )
        at = bisect_right(self._dates, day)
        if at:
            day = self._dates[at - 1]
        found = self._open.get(day)
        if found is None:
            from arledger.api import settlement, view
            from arledger.settle import rewind

            # One settlement, of the last record's day, read back to each
            # booking day (settle.rewind): never a second settling.
            if self._full is None:
                last = self._dates[-1] if self._dates else day
                whole = view(self.ledger, last)
                self._full = (whole, settlement(whole))
            whole, settled = self._full
            on_day = settled if day == settled.as_of else rewind(settled, whole, day)
            found = self._open[day] = _Open(on_day.items)
        return found


class _Open:
    """The open invoices of one day, indexed by customer and by open amount:
    an invoice without a schedule is its settled item (`settle.Item` has the
    fields of `_OpenInvoice`); one with a schedule sums its open instalments,
    its due date the earliest."""

    def __init__(self, items: Iterable[Any]) -> None:
        invoices: dict[str, Any] = {}
        by_customer: dict[str, list[Any]] = {}
        by_amount: dict[Decimal, list[str]] = {}
        scheduled: list[_OpenInvoice] = []
        for item in items:
            if not item.open:
                continue
            if item.instalment is None:  # the invoice's only item
                invoices[item.invoice] = item
                by_customer.setdefault(item.customer, []).append(item)
                by_amount.setdefault(item.open, []).append(item.invoice)
                continue
            known = invoices.get(item.invoice)
            if known is None:
                invoices[item.invoice] = known = _OpenInvoice(
                    item.invoice, item.customer, item.currency, item.due, item.open
                )
                by_customer.setdefault(item.customer, []).append(known)
                scheduled.append(known)
            else:
                known.open += item.open
                known.due = min(known.due, item.due)
        for known in scheduled:  # summed now
            by_amount.setdefault(known.open, []).append(known.invoice)
        self.invoices = invoices
        self.by_customer = by_customer
        self.by_amount = by_amount


# ---------------------------------------------------------------- matching


def _subsets(items: list[_OpenInvoice], amount: Decimal, opens: dict[str, Decimal]):
    """The sets of at most MAX_SUBSET items adding up to `amount`: up to two
    (two mean none is chosen), or None when the search was cut short."""
    pool = sorted(items, key=lambda i: (i.due, i.invoice))[:SUBSET_ITEMS]
    pool = [i for i in pool if 0 < opens[i.invoice] <= amount]
    pool.sort(key=lambda i: -opens[i.invoice])
    values = [opens[i.invoice] for i in pool]
    suffix = [Decimal(0)] * (len(values) + 1)
    for k in range(len(values) - 1, -1, -1):
        suffix[k] = suffix[k + 1] + values[k]
    found: list[list[_OpenInvoice]] = []
    steps = 0

    def walk(start: int, left: Decimal, chosen: list[int]) -> bool:
        nonlocal steps
        for k in range(start, len(values)):
            steps += 1
            if steps > SUBSET_BUDGET:
                return False
            if suffix[k] < left:
                return True
            value = values[k]
            if value > left:
                continue
            if value == left:
                found.append([pool[n] for n in (*chosen, k)])
                if len(found) > 1:
                    return True
                continue
            if len(chosen) + 1 < MAX_SUBSET:
                if not walk(k + 1, left - value, [*chosen, k]):
                    return False
                if len(found) > 1:
                    return True
        return True

    if not walk(0, amount, []):
        return None
    return found


def _oldest_first(invoices: list[_OpenInvoice], amount: Decimal, opens):
    allocations: dict[str, Decimal] = {}
    left = amount
    for invoice in sorted(invoices, key=lambda i: (i.due, i.invoice)):
        if left <= 0:
            break
        take = min(left, opens[invoice.invoice])
        allocations[invoice.invoice] = take
        left -= take
    return allocations


class Matcher:
    def __init__(self, ledger: Ledger) -> None:
        self.books = _Books(ledger)
        self.used: dict[str, Decimal] = {}  # taken by earlier matched lines
        # the folded names, and their words sorted, for rapidfuzz
        self._choices: tuple[list[str], list[str]] | None = None
        # per day seen (by id): the day, and its invoices that matched lines
        # have paid part of, by what is left of them
        self._left: dict[int, tuple[_Open, dict[Decimal, set[str]]]] = {}
        # fuzzy name matches by folded payer: a payer name recurs in a statement
        self._fuzzy_found: dict[str, tuple[str | None, str]] = {}

    def _customer(self, line: Line) -> tuple[str | None, str, bool]:
        """(customer, reason, certain) by account, exact name; fuzzy is apart."""
        books = self.books
        if line.account:
            key = "".join(line.account.split()).upper()
            ids = books.by_account.get(key, set())
            if len(ids) == 1:
                (customer,) = ids
                return customer, f"account {line.account}", True
        if line.payer:
            ids = books.by_name.get(fold(line.payer), set())
            if len(ids) == 1:
                (customer,) = ids
                return customer, f"payer name = {line.payer}", True
        return None, "", False

    def _fuzzy(self, line: Line) -> tuple[str | None, str]:
        if not line.payer:
            return None, ""
        folded = fold(line.payer)
        if not folded:
            return None, ""
        found = self._fuzzy_found.get(folded)
        if found is None:
            found = self._fuzzy_found[folded] = self._fuzzy_name(folded)
        return found

    def _fuzzy_name(self, folded: str) -> tuple[str | None, str]:
        """The one customer whose name or alias is close to a folded payer name,
        clearly closer than any other (rapidfuzz), and the reason."""
        from rapidfuzz import fuzz, process

        books = self.books
        if self._choices is None:
            # token_sort_ratio is the ratio of the words sorted: the names' words
            # are sorted once here, not for every line.
            names = list(books.by_name)
            self._choices = (names, [_sorted_words(n) for n in names])
        names, keys = self._choices
        scores = process.extract(
            _sorted_words(folded), keys, scorer=fuzz.ratio,
            limit=8, score_cutoff=FUZZY_CUTOFF - FUZZY_LEAD,
        )  # fmt: skip
        best: dict[str, tuple[float, str]] = {}
        for _, score, at in scores:
            name = names[at]
            for customer in books.by_name[name]:
                if customer not in best or score > best[customer][0]:
                    best[customer] = (score, name)
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])
        if not ranked or ranked[0][1][0] < FUZZY_CUTOFF:
            return None, ""
        if len(ranked) > 1 and ranked[0][1][0] - ranked[1][1][0] < FUZZY_LEAD:
            return None, ""
        customer, (score, name) = ranked[0]
        return customer, f"payer name ~ {books.names[name]} {score:.0f}%"

    def match(self, line: Line) -> Result:
        books = self.books
        if line.amount <= 0:
            return Result(line, "debit", "a debit: left alone")
        if line.reference and line.reference in books.payment_refs:
            payment = books.payment_refs[line.reference]
            return Result(
                line, "recorded",
                f"payment {payment.id or payment.source} has reference "
                f"{line.reference}", payment.customer,
            )  # fmt: skip
        day = books.open_on(line.date)
        currency = line.currency
        named_all = [
            books.invoice_ids[key] for key in ids_in(line.text, books.invoice_ids)
        ]
        customer, why, certain = self._customer(line)
        if customer is None and named_all:
            owners = {books.ledger.invoices[i].customer for i in named_all}
            if len(owners) == 1:
                (customer,) = owners
                why, certain = "invoice id in text", True
        if customer is None:
            customer, why = self._fuzzy(line)
        if customer is not None and (
            (customer, line.date, line.amount) in books.payment_keys
        ):
            return Result(
                line, "recorded",
                f"a payment of {customer} on {line.date} for {line.amount} exists",
                customer,
            )  # fmt: skip
        if customer is None:
            return self._by_amount_alone(line, day)
        used = self.used
        opens = {
            v.invoice: v.open - used.get(v.invoice, Decimal(0))
            for v in day.by_customer.get(customer, ())
            if currency is None or v.currency == currency
        }
        mine = [day.invoices[k] for k, v in opens.items() if v > 0]
        named = [inv for inv in mine if inv.invoice in named_all]
        allocations: dict[str, Decimal] = {}
        how = ""
        if named:
            allocations = _oldest_first(named, line.amount, opens)
            how = f"invoice id in text ({', '.join(i.invoice for i in named)})"
        else:
            exact = [inv for inv in mine if opens[inv.invoice] == line.amount]
            if len(exact) == 1:
                allocations = {exact[0].invoice: line.amount}
                how = f"amount = {exact[0].invoice}"
            elif len(exact) > 1:
                how = f"{len(exact)} open items of {line.amount}: which one?"
            else:
                sets = _subsets(mine, line.amount, opens)
                if sets is not None and len(sets) == 1:
                    allocations = {i.invoice: opens[i.invoice] for i in sets[0]}
                    how = f"amounts of {' + '.join(allocations)} = {line.amount}"
                elif sets:
                    how = f"several sets of open items add up to {line.amount}"
        if not allocations:
            reason = f"{why}: customer {customer}; " + (
                how or f"no open items add up to {line.amount}"
            )
            return Result(line, "unmatched", reason)
        status = "matched" if certain else "suggested"
        reason = why if how.startswith("invoice id") and why == "invoice id in text" \
            else f"{why}; {how}"  # fmt: skip
        result = Result(line, status, reason, customer, allocations)
        if status == "matched":
            self._use(allocations)
        return result

    def _by_amount_alone(self, line: Line, day: _Open) -> Result:
        exact = sorted(
            k
            for k in self._left_on(day, line.amount)
            if line.currency is None or day.invoices[k].currency == line.currency
        )
        if len(exact) == 1:
            invoice = day.invoices[exact[0]]
            return Result(
                line, "suggested",
                f"amount = {invoice.invoice} (the only open item of {line.amount}); "
                + (f"payer {line.payer!r} not known" if line.payer else "no payer"),
                invoice.customer, {invoice.invoice: line.amount},
            )  # fmt: skip
        payer = f"payer {line.payer!r} not known" if line.payer else "no payer"
        if exact:
            return Result(line, "unmatched", f"{payer}; {len(exact)} open items "
                          f"of {line.amount}")  # fmt: skip
        return Result(line, "unmatched", f"{payer}; no open item of {line.amount}")

    def _left_on(self, day: _Open, amount: Decimal) -> set[str]:
        """The day's open invoices of which `amount` is left after the lines
        matched so far (open − used): the untouched ones by their open amount,
        the others from a small index that `_use` keeps up to date."""
        used = self.used
        found = {k for k in day.by_amount.get(amount, ()) if k not in used}
        return found | self._used_on(day).get(amount, set())

    def _used_on(self, day: _Open) -> dict[Decimal, set[str]]:
        """The day's invoices that matched lines have paid part of, by what
        is left of them."""
        found = self._left.get(id(day))
        if found is None:
            index: dict[Decimal, set[str]] = {}
            for k, amount in self.used.items():
                known = day.invoices.get(k)
                if known is not None:
                    index.setdefault(known.open - amount, set()).add(k)
            found = self._left[id(day)] = (day, index)
        return found[1]

    def _use(self, allocations: dict[str, Decimal]) -> None:
        for invoice, amount in allocations.items():
            before = self.used.get(invoice)
            self.used[invoice] = (before or Decimal(0)) + amount
            for day, index in self._left.values():
                known = day.invoices.get(invoice)
                if known is not None:
                    if before is not None:
                        index.get(known.open - before, set()).discard(invoice)
                    left = known.open - (before or Decimal(0)) - amount
                    index.setdefault(left, set()).add(invoice)


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def match_lines(ledger: Ledger, lines: Iterable[Line]) -> list[Result]:
    matcher = Matcher(ledger)
    return [matcher.match(line) for line in lines]


# ---------------------------------------------------------------- --apply


def apply(
    ledger: Ledger,
    results: list[Result],
    *,
    accept_suggested: bool = False,
    dry_run: bool = False,
) -> list[str]:
    """Write the matched lines (and suggested ones if accepted) as payments,
    one new file per statement; the files written, relative to the ledger."""
    from arledger.fileio import write_output
    from arledger.importer import ImportInvalid, csv_text, new_file
    from arledger.loader import cross_check, validate_rows

    wanted = ("matched", "suggested") if accept_suggested else ("matched",)
    by_statement: dict[str, list[dict[str, str]]] = {}
    for result in results:
        if result.status not in wanted:
            continue
        line = result.line
        row = {
            "id": line.payment_id,
            "customer": result.customer or "",
            "date": line.date.isoformat(),
            "amount": f"{line.amount:f}",
            "method": "bank",
        }
        if line.currency:
            row["currency"] = line.currency
        if result.allocations:
            row["allocations"] = ";".join(
                f"{k}={v:f}" for k, v in result.allocations.items()
            )
        if line.reference:
            row["reference"] = line.reference
        by_statement.setdefault(line.statement, []).append(row)
    errors: list[LedgerError] = []
    writes: list[tuple[str, str]] = []
    taken: set[str] = set()
    for statement, rows in by_statement.items():
        name = new_file(ledger.root, "payments", f"bank-{statement}", taken)
        taken.add(name)
        from arledger.readers import csv_nested

        parsed = [
            {k: csv_nested(k, v) if k == "allocations" else v for k, v in r.items()}
            for r in rows
        ]
        records, problems = validate_rows(
            "payments", name, parsed, list(range(2, len(rows) + 2))
        )
        errors += problems
        if not problems:
            found = cross_check(ledger, {"payments": records})
            errors += [e for e in found if e.source and e.source.path == name]
        writes.append((name, csv_text("payments", rows)))
    if [e for e in errors if not e.warning]:
        raise ImportInvalid(errors)
    if not dry_run:
        for name, text in writes:
            write_output(ledger.root / name, text, make_parents=True)
    return [name for name, _ in writes]
