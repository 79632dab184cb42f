"""Money: exact decimals, currency minor units, rounding for display only.

Pure: amounts are `Decimal` from the file to the output; nothing here sees a float.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from itertools import repeat
from pathlib import Path

ZERO = Decimal(0)

# The most significant digits an amount may have: Decimal's default context
# computes with 28, so a longer amount would be rounded in every sum.
MAX_DIGITS = 28


# An entry of ISO's table with its code, number and minor units (not "N.A.")
_ISO_ENTRY = re.compile(
    r"<Ccy>([A-Z]{3})</Ccy>\s*<CcyNbr>\d+</CcyNbr>\s*<CcyMnrUnts>(\d+)</CcyMnrUnts>"
)


@functools.cache
def _iso4217() -> dict[str, int]:
    """ISO 4217 codes and their minor units, from ISO's own table as the
    iso4217 package ships it (its table.xml). Funds and metals with no minor
    unit (XAU, XDR, XXX) are not currencies an invoice is written in, and are
    left out. The table is read here rather than through the package's
    `Currency` enum, whose import parses the XML and builds the enum (7 ms of
    every run); tests/test_rules.py holds the two equal."""
    spec = importlib.util.find_spec("iso4217")
    if spec is None or spec.origin is None:  # pragma: no cover - a dependency
        raise ImportError("the iso4217 package is not installed")
    table = Path(spec.origin).with_name("table.xml").read_text(encoding="utf-8")
    return {code: int(units) for code, units in _ISO_ENTRY.findall(table)}


def is_currency(code: str) -> bool:
    """True for an ISO 4217 currency code (upper case, as ISO writes it)."""
    return code in _iso4217()


_QUANTUM: dict[int, Decimal] = {n: Decimal(1).scaleb(-n) for n in range(5)}


def D(value: str | int | Decimal) -> Decimal:
    """A Decimal from text or an int (never a float): `D("12.30")`."""
    if isinstance(value, float):  # pragma: no cover - guard against misuse
        raise TypeError("money never comes from a float")
    return Decimal(value)


def minor_units(currency: str) -> int:
    """Decimal places of a currency's minor unit (ISO 4217), 2 when unknown."""
    return _iso4217().get(currency, 2)


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


def texts(amounts: Sequence[Decimal], currency: str, *, group: bool) -> list[str]:
    """`grouped` (`group`) or `plain` of each amount, a column at a time (a
    renderer writes 95,000 of them at a million invoices, two thirds of them
    zeros: each zero, of either sign, is the one text of a zero shown)."""
    places = _QUANTUM[minor_units(currency)]
    spec = ",f" if group else "f"
    rounded = map(Decimal.quantize, amounts, repeat(places), repeat(ROUND_HALF_EVEN))
    zero = format(_shown_all((ZERO,), currency)[0], spec)
    return [format(amount, spec) if amount else zero for amount in rounded]


def shown(amount: Decimal, currency: str) -> Decimal:
    """The amount as every table shows it: rounded to the currency's minor
    unit, never -0.00 (for writers that format it themselves: letters)."""
    return _display(amount, currency)


def _display(amount: Decimal, currency: str) -> Decimal:
    return _shown_all((amount,), currency)[0]


def _shown_all(amounts: Sequence[Decimal], currency: str) -> list[Decimal]:
    """The amounts as shown: rounded half-even to the currency's minor unit
    (`quantize`), never -0.00; in one `map` over a column."""
    places = _QUANTUM[minor_units(currency)]
    rounded = list(
        map(Decimal.quantize, amounts, repeat(places), repeat(ROUND_HALF_EVEN))
    )
    if all(rounded):
        return rounded
    return [amount if amount else abs(amount) for amount in rounded]  # never "-0.00"
