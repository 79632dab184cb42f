"""Lint (SPEC §13): what looks wrong in a ledger that loads cleanly.

`arledger check` prints these as warnings and `check --strict` fails on them.
Each check is one function of (view, settlement) returning warnings as
`LedgerError(..., warning=True)` at the FILE:LINE of the record concerned; the
view is the ledger as of "today" (the date `check` resolves, the only clock).
Pure: no printing, no clock; the dunning templates are looked up on disk by
`letters.missing_templates`, the one place that knows where they live.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import (
    Callable,
    Collection,
    Iterator,
    Sequence,
    Set,
)
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import compress, repeat
from operator import attrgetter, gt, or_
from typing import TYPE_CHECKING, Any

from arledger.errors import LedgerError, Source
from arledger.ledger import Ledger, LedgerView
from arledger.money import ZERO, grouped
from arledger.settle import (
    Application,
    Settlement,
    discount_of,
    discount_threshold,
    payment_ref,
    settle,
)

if TYPE_CHECKING:  # the models import pydantic, which a clean ledger needs not
    from arledger.model import Adjustment, Discount, Payment

# SPEC §13: two payments of a customer this close, of one amount, look like one
# sent twice; a broken promise this old with no contact since is forgotten.
DUPLICATE_DAYS = 3
FORGOTTEN_PROMISE_DAYS = 14

Check = Callable[[LedgerView, Settlement], list[LedgerError]]

_amount = attrgetter("amount")
_date = attrgetter("date")
_customer = attrgetter("customer")
_reference_field = attrgetter("reference")
_ref = attrgetter("ref")
_id = attrgetter("id")
_open = attrgetter("open")
_invoice = attrgetter("invoice")
_kind = attrgetter("kind")


def _warning(source: Source | None, message: str) -> LedgerError:
    return LedgerError(source, message, warning=True)


def duplicate_payments(view: LedgerView, settlement: Settlement) -> list[LedgerError]:
    """A payment that looks like one already recorded: the same customer and
    amount (in one currency) within 3 days, or the same customer and bank
    reference; or the same customer and amount naming the same invoice when
    nothing of it could be applied there (the invoice was paid already: a
    second wire for one invoice, however much later).

    The later of the two is named, at its line; the earlier is its twin.
    """
    currency_of = view.ledger.currency_of
    applications = settlement.history_of()
    # Only the payments alike in amount or reference with another of their
    # customer's can be a duplicate or the twin of one, and at a million
    # payments few are: they are picked first, a customer at a time.
    payments = _maybe_alike(view)
    shared = _shared_references(payments)
    alike = (_alike(every, shared) for every in _by_customer(payments).values())
    within = timedelta(days=DUPLICATE_DAYS)

    def duplicate(payment: Payment, twin: Payment, reason: str) -> LedgerError:
        currency = currency_of(payment)
        return _warning(
            payment.source,
            f"payment {payment_ref(payment)} of {payment.customer} "
            f"({currency} {grouped(payment.amount, currency)}) looks like a "
            f"duplicate of {payment_ref(twin)} of {twin.date.isoformat()} "
            f"({reason})",
        )

    found: list[LedgerError | None] = []
    # The payments with a twin by invoice or by reference: whether each is a
    # duplicate waits for what they paid, read for all of them at once below.
    # (Where its warning goes in `found`, the payment, the twins naming each
    # invoice it names, and its twin by reference.)
    waiting: list[tuple[int, Payment, list[tuple[str, Payment]], Payment | None]]
    waiting = []
    for payments in alike:
        payments.sort(key=attrgetter("date"))  # stable: file order

        # The latest payment of each (currency, amount); the first naming
        # each invoice with that amount; the first with each reference.
        latest: dict[tuple[str, Decimal], Payment] = {}
        naming: dict[tuple[str, Decimal, str], Payment] = {}
        referenced: dict[str, Payment] = {}
        for payment in payments:
            amount = (currency_of(payment), payment.amount)
            reference = _reference(payment)
            targets = payment.targets()
            twin = latest.get(amount)
            if twin is not None and payment.date - twin.date <= within:
                days = (payment.date - twin.date).days
                reason = f"same amount {days} day{'s' if days != 1 else ''} apart"
                found.append(duplicate(payment, twin, reason))
            else:
                named = []  # the invoices it names with their twins
                for invoice in targets:
                    twin = naming.get((*amount, invoice))
                    if twin is not None:
                        named.append((invoice, twin))
                by_reference = referenced.get(reference) if reference else None
                if named or by_reference is not None:
                    waiting.append((len(found), payment, named, by_reference))
                    found.append(None)
            latest[amount] = payment
            for invoice in targets:
                naming.setdefault((*amount, invoice), payment)
            if reference:
                referenced.setdefault(reference, payment)
    paid = _paid_by(applications, [w[1] for w in waiting if w[2]])
    for at, payment, named, by_reference in waiting:
        ref = payment_ref(payment)
        for invoice, twin in named:
            if (payment.customer, ref, invoice) not in paid:
                reason = f"same amount, for {invoice}, which was paid already"
                found[at] = duplicate(payment, twin, reason)
                break
        else:
            if by_reference is not None:
                reason = f"same reference {_reference(payment)!r}"
                found[at] = duplicate(payment, by_reference, reason)
    return [warning for warning in found if warning is not None]


def _maybe_alike(view: LedgerView) -> Sequence[Payment]:
    """The view's payments, or, of a big ledger kept as cells, those of them
    that share their customer and amount, or their reference, with another
    of them: `_shared_references` and `_alike` pick among these what they
    pick among all (each counts what is alike, and these are all that is),
    and only these are made rows. The invoices named by those that give no
    currency are read with them, for theirs (`Ledger.currency_of`)."""
    cells = view.bulk
    if cells is None or not cells.ready:
        return view.payments
    ledger = view.ledger
    rows = _alike_rows(cells.bulk.files, view.as_of, list(ledger.customers))
    if rows is None:  # amounts too long to compare as floats: every row
        return view.payments
    payments = cells.bulk.at("payments", rows)
    ledger.invoices_of({i for p in payments if not p.currency for i in p.targets()})
    return payments


def _alike_rows(cells: Any, as_of: date, customers: list[str]) -> list[int] | None:
    """The places among all the payments (`arrow_columns.Cells`) of those
    dated on or before `as_of` whose customer (coded as its place among
    `customers`) and amount, or whose reference, another of those has.
    Amounts are compared as floats, which are equal where the amounts are
    (each is its digits, below 2**53, over a power of ten up to 10**22, both
    exact, divided and rounded once); None where one is not such."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from arledger import rules

    dates, values = [], []
    for number in range(len(cells["payments"])):
        dates.append(cells.ruled("payments", number, "date", rules.dates).values)
        amounts = cells.ruled("payments", number, "amount", rules.amounts)
        digits, scale = amounts.digits, amounts.scale
        if len(digits) and (
            pc.max(pc.abs(digits)).as_py() >= 2**53
            or not 0 <= pc.min(scale).as_py() <= pc.max(scale).as_py() <= 22
        ):
            return None
        values.append(
            pc.divide(
                pc.cast(digits, pa.float64()),
                pc.power(10.0, pc.cast(scale, pa.float64())),
            )
        )
    if not dates:
        return []
    table = pa.table(
        {
            "row": pa.array(range(sum(map(len, dates))), pa.int64()),
            "customer": cells.codes("payments", "customer", customers),
            "amount": pa.concat_arrays(values),
            "reference": cells.texts("payments", "reference"),
        }
    ).filter(pc.less_equal(pa.concat_arrays(dates), pa.scalar(as_of, pa.date32())))
    # Alike in customer and amount: equal to the row before or after, sorted.
    by = table.take(pc.sort_indices(table, [("customer", "ascending"),
                                           ("amount", "ascending")]))  # fmt: skip
    same = pc.and_(
        pc.equal(by["customer"][1:], by["customer"][:-1]),
        pc.equal(by["amount"][1:], by["amount"][:-1]),
    )
    picked: set[int] = set()
    if len(by) > 1:
        same = pc.fill_null(same, False).combine_chunks()
        no = pa.array([False])
        twice = pc.or_(pa.concat_arrays([same, no]), pa.concat_arrays([no, same]))
        picked.update(by["row"].filter(twice).to_pylist())
    # Alike in reference (given, and more than one payment's).
    counted = pc.value_counts(table["reference"].drop_null())
    many = counted.filter(pc.greater(counted.field("counts"), 1)).field("values")
    many = many.filter(pc.not_equal(many, ""))
    if len(many):
        shared = pc.is_in(table["reference"], value_set=many)
        picked.update(table["row"].filter(shared).to_pylist())
    return sorted(picked)


def _by_customer(payments: Sequence[Payment]) -> dict[str, list[Payment]]:
    """The payments of each customer, customers in the order of their first
    payment, each one's in the order given. Sorted out in C: at a million
    payments a Python loop costs several times more."""
    found: defaultdict[str, list[Payment]] = defaultdict(list)
    lists = map(found.__getitem__, map(_customer, payments))
    deque(map(list.append, lists, payments), maxlen=0)  # run through, in C
    return found


def _alike(payments: list[Payment], shared: Set[str]) -> list[Payment]:
    """The payments of a customer that share their amount with another, or
    whose reference more than one payment gives (`shared`): only these can be
    a duplicate or the twin of one (each rule above compares payments of one
    amount, or of one reference), and at a million payments few are. In the
    order given, picked in C."""
    amounts = list(map(_amount, payments))
    if not shared and len(set(amounts)) == len(amounts):  # the usual case
        return []
    counted = Counter(amounts)
    picked = map((1).__lt__, map(counted.__getitem__, amounts))  # more than once
    if shared:
        references = map(shared.__contains__, map(_reference_field, payments))
        picked = map(or_, picked, references)
    return list(compress(payments, picked))


def _shared_references(payments: Sequence[Payment]) -> set[str]:
    """The bank references more than one payment gives (whoever made them):
    at a million payments, usually none. Counted in C over all of them at
    once, faster than a customer at a time."""
    references = list(map(_reference_field, payments))
    if len(set(references)) == len(references):
        return set()
    counted = Counter(references)
    twice = compress(counted, map((1).__lt__, counted.values()))  # more than once
    return set(twice) - {None, ""}


def _reference(payment: Payment) -> str:
    """A payment's bank reference, "" for none. Text is stripped by the rule
    every record is made by (`rules.texts`), so references that differ are
    different references."""
    return payment.reference or ""


def _paid_by(
    applications: Sequence[Application], payments: Sequence[Payment]
) -> set[tuple[str, str, str]]:
    """What each of `payments` paid something of: the customer, ref and
    invoice of each of their applications. Picked in C in one pass over the
    applications in their order: a customer's applications are scattered
    among a million, and reading them a customer at a time costs several
    times more."""
    refs = set(_refs(payments))
    if not refs:
        return set()
    theirs = list(
        compress(applications, map(refs.__contains__, map(_ref, applications)))
    )
    # A payment's, not an adjustment's that has the same id.
    paid = list(compress(theirs, map("payment".__eq__, map(_kind, theirs))))
    return set(
        zip(map(_customer, paid), map(_ref, paid), map(_invoice, paid), strict=True)
    )


def _refs(payments: Sequence[Payment]) -> Iterator[str]:
    """Each payment's ref (`payment_ref`), in order; read in C when every
    payment has an id, which is then its ref."""
    return map(payment_ref if None in map(_id, payments) else _id, payments)


def old_unapplied_cash(view: LedgerView, settlement: Settlement) -> list[LedgerError]:
    """Cash (or credit) left unapplied longer than `lint.unapplied_days`: refund
    it, apply it, or ask the customer what it was for."""
    limit = view.settings.lint.unapplied_days
    old = []
    for credit in sorted(settlement.credits, key=lambda c: (c.date, c.ref)):
        age = (view.as_of - credit.date).days
        if age > limit:
            old.append((credit, age))
    records = _records(view, {credit.ref for credit, _ in old})
    found = []
    for credit, age in old:
        record = records.get(credit.ref)
        waiting = (
            f", waiting for invoice {credit.waiting_for}" if credit.waiting_for else ""
        )
        found.append(
            _warning(
                record.source if record is not None else None,
                f"{credit.currency} {grouped(credit.amount, credit.currency)} of "
                f"{credit.ref} ({credit.customer}) unapplied for {age} days{waiting}"
                f" (lint.unapplied_days: {limit})",
            )
        )
    return found


def _records(view: LedgerView, refs: set[str]) -> dict[str, Payment | Adjustment]:
    """The payments (by `payment_ref`) and adjustments (by id, over a payment
    of the same ref) whose ref is one of `refs`. The payments are picked in C:
    at a million, making each one's ref in Python cost more than the rest."""
    if not refs:
        return {}
    cells = view.bulk
    if cells is not None and cells.ready:  # those of their ids, if that is all
        _, paid, adjusted = cells.bulk.some("id", refs, ("payments", "adjustments"))
        as_of = view.as_of
        found: dict[str, Payment | Adjustment] = {
            payment_ref(p): p for p in paid if p.date <= as_of
        }
        found.update((a.id, a) for a in adjusted if a.date <= as_of)
        if refs <= found.keys():
            return found
    payments = view.payments
    named = _refs(payments)
    records: dict[str, Payment | Adjustment] = {
        payment_ref(p): p for p in compress(payments, map(refs.__contains__, named))
    }
    records.update((a.id, a) for a in view.adjustments if a.id in refs)
    return records


def forgotten_promises(view: LedgerView, settlement: Settlement) -> list[LedgerError]:
    """A promise to pay broken more than 14 days ago with no contact since."""
    from arledger.promises import promises

    as_of = view.as_of
    last_contact: dict[str, date] = {}
    for contact in view.contacts:
        if contact.date > last_contact.get(contact.customer, date.min):
            last_contact[contact.customer] = contact.date
    # The promises due more than 14 days ago with no contact after that day:
    # whether each was broken is read for these alone (`promises` judges a
    # promise by its own contact and its customer's applications, and reads
    # the applications of the customers it is given promises of).
    overdue = tuple(
        contact
        for contact in view.contacts
        if contact.promise_date is not None
        and (as_of - contact.promise_date).days > FORGOTTEN_PROMISE_DAYS
        and last_contact[contact.customer] <= contact.promise_date
    )
    if not overdue:
        return []
    found = []
    for promise in promises(replace(view, contacts=overdue), settlement):
        if promise.status != "broken":
            continue
        age = (as_of - promise.due).days
        found.append(
            _warning(
                promise.contact.source,
                f"{promise.customer}'s promise to pay by {promise.due.isoformat()} "
                f"was broken {age} days ago and nobody has been in touch since",
            )
        )
    return found


def unreachable_customers(
    view: LedgerView, settlement: Settlement
) -> list[LedgerError]:
    """A customer with open items and no email, phone or address."""
    customers = view.ledger.customers
    unreachable = {
        customer_id
        for customer_id, customer in customers.items()
        if not (customer.email or customer.phone or customer.address)
    }
    if not unreachable:  # the usual case: no item need be read
        return []
    # Their items alone, picked in C.
    items = settlement.items
    owing = {
        item.customer
        for item in compress(
            items, map(unreachable.__contains__, map(_customer, items))
        )
        if item.open > 0
    }
    found = []
    for customer_id in sorted(owing):
        customer = customers[customer_id]
        found.append(
            _warning(
                customer.source,
                f"customer {customer_id} has open items and no email, phone or "
                "address: no letter or statement can reach it",
            )
        )
    return found


def unearned_discounts(view: LedgerView, settlement: Settlement) -> list[LedgerError]:
    """An invoice left open by exactly its discount because the customer
    deducted it after the window (SPEC §9: nothing is given then): what was
    applied is the threshold, yet no discount was given."""
    ledger = view.ledger
    given = {a.invoice for a in settlement.discounts}
    # Only an open invoice with a discount, none given, can be one: the open
    # items are picked in C (an item's open balance is never below zero: what
    # exceeds it is unapplied cash, SPEC §2), their invoices with a discount
    # looked up, and what is left of those added up.
    owing = list(filter(_open, settlement.items))
    offered: dict[str, tuple[Any, Discount]] = {}
    cells = view.bulk.bulk.files if view.bulk is not None else None
    if cells is not None and not any("discount" in f.cells for f in cells["invoices"]):
        # Kept as cells, and no invoice gives a discount of its own: only
        # those of customers with one have one.
        theirs = {c.id for c in ledger.customers.values() if c.discount is not None}
        owing = list(compress(owing, map(theirs.__contains__, map(_customer, owing))))
    named = dict.fromkeys(map(_invoice, owing))
    invoices = ledger.invoices_of(named)  # these alone, of a ledger kept as cells
    for invoice_id in named:
        invoice = invoices.get(invoice_id)
        if invoice is None or invoice_id in given:
            continue
        discount = discount_of(invoice, ledger.customers)
        if discount is not None:
            offered[invoice_id] = (invoice, discount)
    if not offered:
        return []
    left: dict[str, Decimal] = {}
    for item in compress(owing, map(offered.__contains__, map(_invoice, owing))):
        left[item.invoice] = left.get(item.invoice, ZERO) + item.open
    found = []
    for invoice_id, still in sorted(left.items()):
        invoice, discount = offered[invoice_id]
        currency = ledger.currency_of(invoice)
        threshold = discount_threshold(invoice.amount, discount, currency)
        if invoice.amount - still != threshold:
            continue
        last_day = invoice.date + timedelta(days=discount.days)
        found.append(
            _warning(
                invoice.source,
                f"invoice {invoice_id} ({invoice.customer}): "
                f"{currency} {grouped(still, currency)} left open: the "
                f"{discount.percent.normalize():f}% discount was deducted after its "
                f"window ended on {last_day.isoformat()} (unearned; ask for it "
                "or credit it)",
            )
        )
    return found


def missing_templates(view: LedgerView, settlement: Settlement) -> list[LedgerError]:
    """A dunning level without a letter template in a language a customer
    uses (letters.missing_templates: `dunning` would stop at that letter)."""
    from arledger.letters import missing_templates as missing

    return missing(view.ledger)


def future_records(view: LedgerView, settlement: Settlement) -> list[LedgerError]:
    """A record dated after today (the view's date): a typo in the year, or an
    entry made ahead of time that no report shows until then."""
    ledger = view.ledger
    as_of = view.as_of
    found = []
    for kind in ("invoice", "payment", "adjustment", "contact", "plan", "confirmation"):
        if _none_after(view, kind):
            continue  # none of a big ledger's cells is dated after the day
        # The kind's records in the ledger, and in the view.
        records: Collection[Any] = getattr(ledger, f"{kind}s")
        if kind == "invoice":
            records = ledger.invoices.values()
        seen: Collection[Any] = getattr(view, f"{kind}s")
        if len(seen) == len(records):
            # The view left none out, and it leaves out every record dated
            # after its day (`Ledger.view`): none is, and none need be read.
            continue
        later = map(gt, map(_date, records), repeat(as_of))
        for record in compress(records, later):  # picked in C
            ref = (
                payment_ref(record)
                if kind == "payment"
                else getattr(record, "id", None)  # contacts have none
            )
            named = f"{kind} {ref}" if ref else kind
            found.append(
                _warning(
                    record.source,
                    f"{named} is dated {record.date.isoformat()}, after the "
                    f"date checked ({as_of.isoformat()}: today, or --as-of)",
                )
            )
    return found


def _none_after(view: LedgerView, kind: str) -> bool:
    """Whether the view's cells (of a big ledger kept as cells: invoices,
    payments, adjustments) show no record of `kind` dated after its day,
    by the dates the rows are made with; False where there are no cells."""
    cells = view.bulk
    files = cells.bulk.files if cells is not None else None
    if files is None or f"{kind}s" not in files:
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    from arledger import arrow_rules, rules

    day = pa.scalar(view.as_of, pa.date32())
    for number in range(len(files[f"{kind}s"])):
        ruled = files.ruled(f"{kind}s", number, "date", rules.dates)
        assert isinstance(ruled, arrow_rules.Ruled)
        dates = ruled.values
        if pc.any(pc.greater(dates, day)).as_py():
            return False
    return True


CHECKS: tuple[Check, ...] = (
    duplicate_payments,
    old_unapplied_cash,
    forgotten_promises,
    unreachable_customers,
    unearned_discounts,
    missing_templates,
    future_records,
)


def lint(ledger: Ledger, today: date) -> list[LedgerError]:
    """Every warning of SPEC §13 about a ledger as of `today`.

    Args:
        ledger: a ledger that loaded without errors.
        today: the day `check` runs for: records after it are flagged, and
            what is old is counted up to it.
    """
    view = ledger.view(today)
    # The checks read the applications, the credits and the open items, never
    # an item paid in full.
    settled = settle(view, paid=False)
    found: list[LedgerError] = []
    for check in CHECKS:
        found.extend(check(view, settled))
    # In file and line order: the duplicates of a ledger kept as cells are
    # found among fewer payments (`_maybe_alike`), customers in another order.
    found.sort(key=LedgerError.sort_key)
    return found
