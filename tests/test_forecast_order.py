"""The forecast reads a settlement's items in whatever order they come.

`forecast.compute` puts an account's items in the engine's order only where it
matters (what a promise or a plan covers); every other line is placed by the
report's own sort, whose key tells items apart. So the result must not change
when the items come in another order.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from arledger.reports import forecast
from arledger.settle import settle

from .test_forecast import promises_for
from .test_properties import PROPERTY, as_of_dates, ledgers


@PROPERTY
@given(
    gen=ledgers(),
    as_of=as_of_dates,
    by=st.sampled_from(forecast.BY_CHOICES),
    data=st.data(),
)
def test_forecast_does_not_depend_on_the_order_of_items(gen, as_of, by, data):
    ledger = replace(gen.ledger(), contacts=data.draw(promises_for(gen, as_of)))
    view = ledger.view(as_of)
    settlement = settle(view)
    shuffled = replace(
        settlement, items=tuple(data.draw(st.permutations(settlement.items)))
    )
    assert forecast.compute(view, shuffled, by=by) == forecast.compute(
        view, settlement, by=by
    )
