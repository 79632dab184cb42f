"""The trend (month-end aging) and the composition of receivables as reports of
their own, through the Python API: each figure is held to the aging and the
overdue report computed afresh as of that day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from arledger import api
from arledger.money import ZERO

from .conftest import DEMO, LEDGERS

AS_OF = date(2026, 10, 31)


@pytest.fixture(scope="module")
def demo():
    return api.load(DEMO)


def sections_by_currency(report):
    return {s.currency: s for s in report.sections}


def assert_point_is_that_days_aging(ledger, row, shown, labels, **filters):
    """A trend row equals the aging totals and the overdue total of a view as
    of its month end, with the same filters, settled on its own."""
    view = api.view(ledger, row["month_end"], **filters)
    aging = sections_by_currency(api.aging(view)).get(shown)
    overdue = sections_by_currency(api.overdue(view)).get(shown)
    totals = aging.totals if aging is not None else {}
    buckets = [totals.get(label, ZERO) for label in labels]
    assert [row[label] for label in labels] == buckets
    assert row["unapplied"] == totals.get("unapplied", ZERO)
    assert row["total"] == totals.get("total", ZERO)
    late = overdue.totals["open"] if overdue is not None else ZERO
    assert row["overdue"] == late
    open_items = sum(buckets, ZERO)
    assert row["overdue_rate"] == (late / open_items if open_items else None)


def test_the_trend_is_the_aging_at_each_month_end(demo):
    view = api.view(demo, AS_OF)
    report = api.trend(view)
    assert report.name == "trend"
    assert report.title == "Month-end aging, last 12 months to 2026-10-31"
    labels = report.meta["buckets"]
    assert [s.currency for s in report.sections] == ["EUR", "USD"]
    for section in report.sections:
        days = [row["month_end"] for row in section.rows]
        assert days[0] == date(2025, 11, 30) and days[-1] == AS_OF
        assert [row["month"] for row in section.rows][-2:] == ["2026-09", "2026-10"]
        for row in section.rows:
            assert_point_is_that_days_aging(demo, row, section.currency, labels)
    # Something moved over the year: the points are not all alike.
    usd = sections_by_currency(report)["USD"]
    assert len({row["total"] for row in usd.rows}) > 6


@pytest.mark.parametrize(
    "filters",
    [{"owner": "Li Wei"}, {"currency": "USD"}, {"customers": ["SUMMIT", "ACME"]}],
)
def test_the_trend_keeps_the_views_filters(demo, filters):
    """An owner's view is settled again for each month end (rewinding needs
    every application); the other filters read back the one settlement."""
    view = api.view(demo, AS_OF, **filters)
    report = api.trend(view, months=5)
    labels = report.meta["buckets"]
    assert report.sections
    for section in report.sections:
        assert len(section.rows) == 5
        for row in section.rows:
            assert_point_is_that_days_aging(
                demo, row, section.currency, labels, **filters
            )


def test_the_trend_on_another_basis_and_buckets_matches_that_aging(demo):
    from arledger.reports import aging, trend
    from arledger.settle import settle

    view = api.view(demo, date(2026, 9, 15))
    result = trend.compute(
        view, settle(view), months=4, basis="invoice", limits=(45, 90)
    )
    assert result.labels == ("0-45", "46-90", "90+")
    assert [p.as_of for p in result.points] == [
        date(2026, 6, 30),
        date(2026, 7, 31),
        date(2026, 8, 31),
        date(2026, 9, 15),
    ]
    for point in result.points:
        day = demo.view(point.as_of)
        aged = aging.compute(day, settle(day), basis="invoice", limits=(45, 90))
        assert [(s.currency, s.buckets, s.unapplied, s.total) for s in point.sections] == [
            (s.currency, s.buckets, s.unapplied, s.total) for s in aged.sections]  # fmt: skip


def test_the_trend_renders_in_every_format(demo):
    import json

    report = api.trend(api.view(demo, AS_OF, currency="EUR"), months=2)
    data = json.loads(api.render(report, "json"))
    assert isinstance(data, dict)
    text = api.render(report, "csv")
    assert "2026-10-31" in text and "2026-09-30" in text
    assert api.render(report, "xlsx")[:2] == b"PK"


def test_the_composition_takes_the_net_ar_apart(demo):
    view = api.view(demo, AS_OF)
    report = api.composition(view)
    aging = sections_by_currency(api.aging(view))
    overdue = sections_by_currency(api.overdue(view))
    assert [s.currency for s in report.sections] == ["EUR", "USD"]
    for section in report.sections:
        figures = {column.key: value for column, value in section.summary}
        totals = aging[section.currency].totals
        assert figures["net_ar"] == totals["total"]
        assert figures["unapplied"] == totals["unapplied"]
        assert figures["open_items"] + figures["unapplied"] == figures["net_ar"]
        assert figures["not_due"] + figures["overdue"] == figures["open_items"]
        late = overdue.get(section.currency)
        assert figures["overdue"] == (late.totals["open"] if late else ZERO)
        # The top list: most overdue first, each customer's overdue items.
        amounts = [row["overdue"] for row in section.rows]
        assert amounts == sorted(amounts, reverse=True)
        if late is not None:
            for row in section.rows:
                mine = [r for r in late.rows if r["customer"] == row["customer"]]
                assert row["overdue"] == sum((r["open"] for r in mine), ZERO)
                assert row["items"] == len(mine)
                assert row["oldest_days"] == max(r["days"] for r in mine)
    usd = sections_by_currency(report)["USD"]
    assert usd.rows[0]["customer"] == "HUADONG"
    assert usd.totals["overdue"] == Decimal("150317.55")
    assert usd.totals["share"] == 1


def test_the_composition_keeps_the_ten_most_overdue():
    from arledger.reports import aging, composition, overdue
    from arledger.settle import settle

    ledger = api.load(LEDGERS / "small")
    view = ledger.view(AS_OF)
    settled = settle(view)
    result = composition.compute(
        aging.compute(view, settled), overdue.compute(view, settled), top=1
    )
    for section in result.sections:
        assert len(section.top) <= 1


def test_reading_back_many_days_refuses_what_one_day_refuses_at_once(demo):
    """`rewind_each` says what is wrong when called, before the first day is
    read: days out of order, a day after the settlement, an owner's view."""
    from arledger.settle import rewind_each, settle

    view = api.view(demo, AS_OF)
    settled = settle(view)
    early, late = date(2026, 6, 30), date(2026, 9, 30)
    with pytest.raises(ValueError, match="ascending"):
        rewind_each(settled, view, [late, early])
    with pytest.raises(ValueError, match="after"):
        rewind_each(settled, view, [early, date(2026, 11, 30)])
    owned = api.view(demo, AS_OF, owner="Li Wei")
    with pytest.raises(ValueError, match="owner"):
        rewind_each(settle(owned), owned, [early])
    with pytest.raises(ValueError, match="history"):
        rewind_each(settle(view, history=False), view, [early])
    assert [s.as_of for s in rewind_each(settled, view, [early, late])] == [
        early,
        late,
    ]


def test_reading_back_every_month_end_gives_each_days_settlement(demo):
    """`rewind_each` over two years of month ends and mid-month days (some
    with nothing issued or paid) gives what settling each day gives: the demo
    has instalments, discounts, credit notes and write-offs, items paid long
    before the first day (never walked) and items open now. An item whose
    balance is its balance now is the settlement's own item, not a copy."""
    from collections import defaultdict

    from arledger.dates import month_end
    from arledger.settle import rewind_each, settle

    view = api.view(demo, AS_OF)
    settled = settle(view)
    days = set()
    day = date(2025, 1, 31)
    while day < AS_OF:
        days |= {day, day.replace(day=15), day.replace(day=1)}
        day = month_end(day + timedelta(days=1))
    days = sorted(days)
    own = {item.key: item for item in settled.items}
    for day, rewound in zip(days, rewind_each(settled, view, days), strict=True):
        direct = settle(demo.view(day), history=False)
        assert [(i.key, i.open) for i in rewound.items] == [
            (i.key, i.open) for i in direct.items if i.open
        ], day
        for item in rewound.items:
            now = own[item.key]
            assert (item is now) == (item.open == now.open), item
        by_kind: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
        for credit in direct.credits:
            by_kind[(credit.customer, credit.currency, credit.kind)] += credit.amount
        assert {
            (c.customer, c.currency, c.kind): c.amount for c in rewound.credits
        } == {k: v for k, v in by_kind.items() if v}, day
