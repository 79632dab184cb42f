"""A column of values written at once (render/values.texts) is written as
each value alone is: money as money.plain and money.grouped write it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from arledger.money import grouped, plain
from arledger.render.values import texts
from arledger.report import Column

MONEY = Column("open", "Open", "money")
CURRENCIES = ("USD", "JPY", "BHD", "CLF", "XYZ")

amounts = st.decimals(
    min_value=Decimal("-1e12"),
    max_value=Decimal("1e12"),
    allow_nan=False,
    allow_infinity=False,
    places=None,
)


@given(
    st.lists(st.one_of(st.none(), amounts), max_size=20), st.sampled_from(CURRENCIES)
)
def test_money_column_is_written_as_each_amount_alone(values, currency):
    want_plain = ["" if v is None else plain(v, currency) for v in values]
    want_grouped = ["—" if v is None else grouped(v, currency) for v in values]
    assert texts(values, MONEY, currency, human=False) == want_plain
    assert texts(values, MONEY, currency, human=True) == want_grouped


def test_negative_zero_and_exponents():
    values = [Decimal("-0.001"), Decimal("-0"), Decimal("1E+1"), Decimal("0.005"),
              Decimal("0.015"), Decimal("-1234.5"), None]  # fmt: skip
    assert texts(values, MONEY, "USD", human=False) == [
        "0.00", "0.00", "10.00", "0.00", "0.02", "-1234.50", ""
    ]  # fmt: skip
    assert texts(values, MONEY, "USD", human=True) == [
        "0.00", "0.00", "10.00", "0.00", "0.02", "-1,234.50", "—"
    ]  # fmt: skip
