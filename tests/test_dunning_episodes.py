"""Dunning episodes (SPEC §2): `episode_starts` against a day-by-day reading.

`episode_starts` reads only what can move an episode's first day (the items
due before an account's first item still open and past due, and their
applications). The reference here reads the definition literally: it marks
every day each item is overdue, then walks back from the as-of date while a
day is marked. Settlements are made up directly (not settled from records),
so that customers with items in two currencies, instalments, items paid by
several applications, part-paid open items and items paid in full with
nothing applied all come up often.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arledger.reports.dunning import episode_starts
from arledger.settle import Application, Item, Settlement

ONE = timedelta(days=1)
START = date(2026, 3, 1)
AS_OF = date(2026, 4, 30)  # a short window, so that items' runs often meet


def overdue_days(settlement: Settlement) -> dict[tuple[str, str], set[date]]:
    """Every day each account has an item overdue, as SPEC §2 words it: from
    the day after the due date to the day before the application that settled
    it; an open item to the as-of date."""
    last: dict[tuple[str, int | None], date] = {}
    for application in settlement.applications:
        key = (application.invoice, application.instalment)
        last[key] = max(last.get(key, application.date), application.date)
    days: dict[tuple[str, str], set[date]] = {}
    for item in settlement.items:
        if item.open > 0:
            end = settlement.as_of
        elif item.key in last:
            end = last[item.key] - ONE
        else:
            continue  # paid in full with nothing applied: never overdue
        day = item.due + ONE
        while day <= end:
            days.setdefault((item.customer, item.currency), set()).add(day)
            day += ONE
    return days


def reference_starts(settlement: Settlement) -> dict[tuple[str, str], date]:
    """The first day of the run of overdue days that reaches the as-of date."""
    found = {}
    for account, days in overdue_days(settlement).items():
        if settlement.as_of in days:
            day = settlement.as_of
            while day - ONE in days:
                day -= ONE
            found[account] = day
    return found


window = st.integers(min_value=0, max_value=(AS_OF - START).days)


@st.composite
def settlements(draw) -> Settlement:
    items: list[Item] = []
    applications: list[Application] = []
    for n in range(draw(st.integers(min_value=0, max_value=14))):
        customer = draw(st.sampled_from(["A", "B", "C"]))
        currency = draw(st.sampled_from(["USD", "USD", "EUR"]))
        issued = START + timedelta(days=draw(window))
        schedule = draw(st.sampled_from([None, None, None, 2, 3]))
        for instalment in [None] if schedule is None else range(1, schedule + 1):
            due = issued + timedelta(days=draw(st.integers(0, 20)))
            amount = Decimal("100.00")
            # paid by 0 to 3 applications, on days from the issue to as-of
            paid_on = draw(st.lists(st.integers(0, (AS_OF - issued).days), max_size=3))
            applied = Decimal("0.00")
            for offset in paid_on:
                part = draw(st.sampled_from([Decimal("10.00"), Decimal("50.00")]))
                applications.append(
                    Application(
                        f"I{n}",
                        instalment,
                        customer,
                        currency,
                        "payment",
                        f"P{len(applications)}",
                        issued + timedelta(days=offset),
                        part,
                        due,
                        issued,
                    )
                )
                applied += part
            # open, part-paid, or paid in full (some with nothing applied)
            left = draw(st.sampled_from([amount - applied, Decimal("0.00")]))
            items.append(
                Item(
                    f"I{n}",
                    instalment,
                    customer,
                    currency,
                    issued,
                    due,
                    amount,
                    max(left, Decimal("0.00")),
                    False,
                    None,
                )
            )
    # in any order: neither is promised in any
    return Settlement(
        AS_OF,
        tuple(draw(st.permutations(items))),
        tuple(draw(st.permutations(applications))),
        (),
    )


@settings(max_examples=400, deadline=None)
@given(settlement=settlements())
def test_episode_starts_are_the_first_day_of_the_run_reaching_as_of(settlement):
    assert episode_starts(settlement) == reference_starts(settlement)
    # Without the items paid in full (`settle(view, paid=False)`): the same.
    lean = replace(settlement, items=tuple(i for i in settlement.items if i.open))
    assert episode_starts(lean) == reference_starts(settlement)


def item(invoice, currency, due, left):
    return Item(
        invoice, None, "C", currency, START, due, Decimal(100), left, False, None
    )


def paid(invoice, currency, day, due):
    return Application(
        invoice, None, "C", currency, "payment", "P", day, Decimal(100), due, START
    )


@pytest.mark.parametrize(
    ("paid_on", "start"),
    [
        (date(2026, 3, 3), date(2026, 3, 2)),  # I1 overdue on 03-02 alone
        (date(2026, 3, 2), date(2026, 3, 3)),  # I1 paid on the day after due
    ],
)
def test_a_run_of_one_day_joins_the_next(paid_on, start):
    """I1 due 03-01 is paid `paid_on`; I2 due 03-02 is open (overdue from
    03-03): a day I1 was overdue the day before starts the episode."""
    settlement = Settlement(
        AS_OF,
        (
            item("I1", "USD", date(2026, 3, 1), Decimal(0)),
            item("I2", "USD", date(2026, 3, 2), Decimal(100)),
        ),
        (paid("I1", "USD", paid_on, date(2026, 3, 1)),),
        (),
    )
    assert episode_starts(settlement) == {("C", "USD"): start}
    assert reference_starts(settlement) == {("C", "USD"): start}


def test_an_item_of_the_other_currency_does_not_start_an_episode_earlier():
    """C owes EUR since 04-11 (I2) and USD since 03-21 (I3); I1 (USD, overdue
    03-11 to 03-24) joins I3's run but not I2's: the EUR episode starts
    04-11, the USD one 03-11."""
    settlement = Settlement(
        AS_OF,
        (
            item("I1", "USD", date(2026, 3, 10), Decimal(0)),
            item("I2", "EUR", date(2026, 4, 10), Decimal(100)),
            item("I3", "USD", date(2026, 3, 20), Decimal(100)),
        ),
        (paid("I1", "USD", date(2026, 3, 25), date(2026, 3, 10)),),
        (),
    )
    expected = {("C", "EUR"): date(2026, 4, 11), ("C", "USD"): date(2026, 3, 11)}
    assert episode_starts(settlement) == expected == reference_starts(settlement)
