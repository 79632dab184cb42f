"""Money: exact decimals, currency minor units, rounding for display only.

Pure: amounts are `Decimal` from the file to the output; nothing here sees a float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

ZERO = Decimal(0)

# ISO 4217 currencies whose minor unit is not 2 (cents). Everything else has 2.
MINOR_UNITS: dict[str, int] = {
    # no minor unit
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    # three decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four decimals
    "CLF": 4, "UYW": 4,
}  # fmt: skip

_QUANTUM: dict[int, Decimal] = {n: Decimal(1).scaleb(-n) for n in range(5)}


def D(value: str | int | Decimal) -> Decimal:
    """A Decimal from text or an int (never a float): `D("12.30")`."""
    if isinstance(value, float):  # pragma: no cover - guard against misuse
        raise TypeError("money never comes from a float")
    return Decimal(value)


def minor_units(currency: str) -> int:
    """Decimal places of a currency's minor unit (ISO 4217), 2 when unknown."""
    return MINOR_UNITS.get(currency, 2)


def quantum(currency: str) -> Decimal:
    return _QUANTUM[minor_units(currency)]


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round to the currency's minor unit (half-even, as for display)."""
    return amount.quantize(_QUANTUM[minor_units(currency)], rounding=ROUND_HALF_EVEN)


def round_charge(amount: Decimal, currency: str) -> Decimal:
    """Round a computed charge (interest, fee) once, where it is created (half-up)."""
    return amount.quantize(_QUANTUM[minor_units(currency)], rounding=ROUND_HALF_UP)


def has_excess_places(amount: Decimal, currency: str) -> bool:
    """True when `amount` has more decimals than the currency's minor unit allows."""
    exponent = amount.normalize().as_tuple().exponent
    return isinstance(exponent, int) and -exponent > minor_units(currency)


def plain(amount: Decimal, currency: str) -> str:
    """`1234.50`: the text of an amount in CSV and JSON."""
    return f"{_display(amount, currency):f}"


def grouped(amount: Decimal, currency: str) -> str:
    """`1,234.50`: the text of an amount in a table."""
    return f"{_display(amount, currency):,f}"


def _display(amount: Decimal, currency: str) -> Decimal:
    rounded = quantize(amount, currency)
    return rounded if rounded else abs(rounded)  # never print "-0.00"
