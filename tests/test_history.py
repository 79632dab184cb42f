"""Payment history (arledger/history.py): what risk and forecast read of how a
customer pays.

The property holds `payment_history` to its definition, written out plainly
per customer from the settlement's applications and its items' due dates
(and each application's `due` to its item's); the example pins the
Decimal exponents of its sums (the exponent of a sum is its terms' smallest,
so a JSON figure shows the same digits whichever path made it).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given

from arledger.history import payment_history
from arledger.model import Customer, Invoice, Payment
from arledger.settle import settle

from .test_properties import PROPERTY, Gen, as_of_dates, ledgers

ZERO = Decimal(0)
D = Decimal


def reference(settlement) -> dict[str, tuple[str, str, str]]:
    """Per customer who paid: collected, paid on time, amount × days late, as
    text (so exponents count), each added up from ZERO in the order applied."""
    due = {item.key: item.due for item in settlement.items}
    payments = [a for a in settlement.applications if a.kind == "payment"]
    found = {}
    for customer in dict.fromkeys(a.customer for a in payments):
        mine = [
            (a.amount, (a.date - due[(a.invoice, a.instalment)]).days)
            for a in payments
            if a.customer == customer
        ]
        found[customer] = tuple(
            str(total)
            for total in (
                sum((amount for amount, _ in mine), ZERO),
                sum((amount for amount, late in mine if late <= 0), ZERO),
                sum((amount * late for amount, late in mine), ZERO),
            )
        )
    return found


def as_text(history) -> dict[str, tuple[str, str, str]]:
    return {
        customer: tuple(map(str, (h.collected, h.paid_on_time, h.days_late_weighted)))
        for customer, h in history.items()
    }


@PROPERTY
@given(gen=ledgers(), as_of=as_of_dates)
def test_history_is_its_definition(gen, as_of):
    """Every customer who paid, in the order they first paid, with the sums
    of its definition, digit for digit; nobody else."""
    settlement = settle(gen.ledger().view(as_of))
    items = {item.key: item for item in settlement.items}
    for application in settlement.applications:  # what the history reads
        item = items[(application.invoice, application.instalment)]
        assert (application.due, application.issued) == (item.due, item.date)
    found = payment_history(settlement)
    assert list(found) == list(reference(settlement))
    assert as_text(found) == reference(settlement)
    for customer, h in found.items():
        assert h.customer == customer
        assert h.on_time_ratio == h.paid_on_time / h.collected
        assert h.average_days_late == h.days_late_weighted / h.collected


def test_sums_keep_the_exponent_of_their_terms():
    """Amounts as written: 100 (exponent 0), 0.5 and 20.25. C1's I1 (due
    2026-01-31) gets 100 on 2026-01-21 (10 days early) and 0.5 on 2026-02-05
    (5 late): collected 100.5, on time 100, days late 100×−10 + 0.5×5 =
    −997.5. C2's I2 (due 2026-02-28) gets 20.25 on its due date: 0 days late,
    written 0.00, as 20.25 × 0 is."""
    customers = (Customer(id="C1", name="One"), Customer(id="C2", name="Two"))
    invoices = (
        Invoice(id="I1", customer="C1", date=date(2026, 1, 1), amount=D("200")),
        Invoice(id="I2", customer="C2", date=date(2026, 1, 29), amount=D("50")),
    )
    payments = (
        Payment(id="P1", customer="C1", date=date(2026, 1, 21), amount=D("100")),
        Payment(id="P2", customer="C1", date=date(2026, 2, 5), amount=D("0.5")),
        Payment(id="P3", customer="C2", date=date(2026, 2, 28), amount=D("20.25")),
    )
    ledger = Gen(customers, invoices, payments, ()).ledger()
    assert ledger.settings.terms.default == 30  # I1 due 2026-01-31, I2 02-28
    settlement = settle(ledger.view(date(2026, 3, 31)))
    assert as_text(payment_history(settlement)) == {
        "C1": ("100.5", "100", "-997.5"),
        "C2": ("20.25", "20.25", "0.00"),
    }
