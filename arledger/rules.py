"""The value rules of ledger fields, each written once, for a whole column.

A rule takes the texts of one field (a column of a file, or one value) and
gives the values, or raises `Bad` with a message for each value it refuses.
The models (model.py) apply a rule to one value (`one`); the loader applies it
to every value of a field in a file at once, which is what makes a big ledger
load in seconds. Either way it is the same function deciding.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import compress, repeat
from operator import is_not
from typing import Any

from arledger.dates import DateError, parse_ledger_date
from arledger.money import MAX_DIGITS, is_currency

MIN_YEAR, MAX_YEAR = 1900, 2999  # keeps date + terms arithmetic far from overflow

Rule = Callable[[Sequence[str]], list[Any]]


class Bad(ValueError):
    """Values a rule refuses: {index in the column: message}."""

    def __init__(self, messages: dict[int, str]) -> None:
        super().__init__(next(iter(messages.values())))
        self.messages = messages


def _by_value(values: Sequence[str], convert: Callable[[str], Any]) -> list[Any]:
    """`convert` once per distinct value (dates, codes and flags repeat a lot);
    a ValueError it raises is that value's message."""
    known: dict[str, Any] = {}
    messages: dict[str, str] = {}
    for value in set(values):
        try:
            known[value] = convert(value)
        except ValueError as exc:
            messages[value] = str(exc)
    if messages:
        raise Bad({i: messages[v] for i, v in enumerate(values) if v in messages})
    return list(map(known.__getitem__, values))


class Stripped(list):  # type: ignore[type-arg]
    """A column of texts that its reader has stripped of surrounding white
    space already (the loader's CSV cells): `texts` gives it as it is, where
    another pass would strip each value again to the same text."""

    __slots__ = ()


def texts(values: Sequence[str]) -> list[str]:
    """Free text: surrounding white space is not part of it."""
    if isinstance(values, Stripped):
        return values
    return list(map(str.strip, values))


def ids(values: Sequence[str]) -> list[str]:
    """Ids and names: text that is not empty."""
    stripped = texts(values)
    if not all(stripped):
        raise Bad({i: "must not be empty" for i, v in enumerate(stripped) if not v})
    return stripped


def _date(text: str) -> date:
    try:
        day = parse_ledger_date(text)
    except DateError as exc:
        raise ValueError(str(exc)) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"{day} is out of range (years {MIN_YEAR}-{MAX_YEAR})")
    return day


def dates(values: Sequence[str]) -> list[date]:
    """ISO dates `YYYY-MM-DD` between 1900 and 2999 (SPEC §1: `31/03/2026` and
    `03/31/2026` cannot be told apart, so neither is read)."""
    return _by_value(values, _date)


_PLAIN_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_PLAIN_CHARACTERS = re.compile(r"[0-9.+-]*")


def _decimals(values: Sequence[str]) -> list[Decimal]:
    """Plain decimals (no exponent, no separators) of at most MAX_DIGITS
    significant digits, which Decimal arithmetic keeps exactly."""
    stripped = texts(values)
    # The common case at C speed: every value short enough, made of digits,
    # signs and points only (one scan of them all), and read by Decimal, whose
    # grammar over those characters is exactly _PLAIN_DECIMAL's (it refuses
    # "1.2.3", "+-1", "." and ""). Anything else: value by value, below.
    if (
        not stripped
        or max(map(len, stripped)) <= MAX_DIGITS
        and _PLAIN_CHARACTERS.fullmatch("".join(stripped))
    ):
        try:
            return list(map(Decimal, stripped))
        except InvalidOperation:
            pass
    messages = {}
    for i, (value, text) in enumerate(zip(values, stripped, strict=True)):
        if not _PLAIN_DECIMAL.fullmatch(text):
            messages[i] = (
                f"not an amount ({value!r}); write plain decimals like 1234.50"
            )
        elif len(text.lstrip("+-").replace(".", "").lstrip("0")) > MAX_DIGITS:
            messages[i] = f"{value!r} has more than {MAX_DIGITS} significant digits"
    if messages:
        raise Bad(messages)
    return list(map(Decimal, stripped))


def amounts(values: Sequence[str]) -> list[Decimal]:
    """Amounts of money: plain decimals greater than 0."""
    found = _decimals(values)
    if found and min(found) <= 0:
        raise Bad(
            {
                i: f"must be greater than 0 (got {values[i].strip()!r})"
                for i, amount in enumerate(found)
                if amount <= 0
            }
        )
    return found


def non_negative(values: Sequence[str]) -> list[Decimal]:
    """Limits, rates and fees: plain decimals, 0 or more."""
    found = _decimals(values)
    if found and min(found) < 0:
        raise Bad(
            {
                i: f"must not be negative (got {values[i].strip()!r})"
                for i, amount in enumerate(found)
                if amount < 0
            }
        )
    return found


def signed(values: Sequence[str]) -> list[Decimal]:
    """Balances: plain decimals that may be 0 or negative (a customer in credit)."""
    return _decimals(values)


def fractions(values: Sequence[str]) -> list[Decimal]:
    """Rates written as fractions: 0.05 for 5%, from 0 to 1."""
    found = non_negative(values)
    if found and max(found) > 1:
        raise Bad(
            {
                i: "is a fraction from 0 to 1: write 0.05 for 5% "
                f"(got {values[i].strip()!r})"
                for i, rate in enumerate(found)
                if rate > 1
            }
        )
    return found


def _currency(value: str) -> str:
    code = value.strip()
    if not is_currency(code):
        hint = ""
        if is_currency(code.upper()):
            hint = f"; write it in capitals: {code.upper()}"
        raise ValueError(f"{value!r} is not an ISO 4217 currency code{hint}")
    return code


def currencies(values: Sequence[str]) -> list[str]:
    """ISO 4217 codes as ISO writes them: `usd` is refused, not upper-cased, so
    that what the file says is what the reports say."""
    return _by_value(values, _currency)


_FLAGS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _flag(value: str) -> bool:
    flag = _FLAGS.get(value.strip().lower())
    if flag is None:
        raise ValueError(
            f"not a yes/no value (got {value!r}); use true/false/yes/no/1/0"
        )
    return flag


def flags(values: Sequence[str]) -> list[bool]:
    """Yes/no values: true/false/yes/no/1/0 in any case, nothing else (SPEC §4)."""
    return _by_value(values, _flag)


_WHOLE = re.compile(r"[+-]?[0-9]+")


def _whole(value: str) -> int:
    text = value.strip()
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"not a whole number (got {value!r})")
    return int(text)


def wholes(values: Sequence[str]) -> list[int]:
    """Whole numbers written as digits: `true`, `1_0` or `5.0` are not."""
    return _by_value(values, _whole)


def _given(values: Sequence[Any]) -> Iterator[int]:
    """The indexes of the values that are not None, found in C: a rule over
    a field that most records leave out walks only the records giving it."""
    return compress(range(len(values)), map(is_not, values, repeat(None)))


def due_dates(days: Sequence[date | None], dues: Sequence[date | None]) -> None:
    """An invoice is not due before it is issued (a rule over two fields,
    applied by the Invoice model and by the loader to two columns)."""
    messages = {}
    for i in _given(dues):
        day, due = days[i], dues[i]
        if due is not None and day is not None and due < day:
            messages[i] = f"due: {due} is before the issue date {day}"
    if messages:
        raise Bad(messages)


def _as_text(value: Any) -> Any:
    """What a Python caller passes (a date, a Decimal, an int) as the text a
    file would hold, so the rule is the same for both; None for what no file
    could hold (a float amount, a bool), which the model's type then refuses."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or isinstance(value, float):
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (int, Decimal)):
        return str(value) if not isinstance(value, Decimal) else f"{value:f}"
    return None


def one(rule: Rule) -> Callable[[Any], Any]:
    """The rule for one value, as the models apply it (a pydantic
    BeforeValidator): its message becomes the field's error."""

    def check(value: Any) -> Any:
        text = _as_text(value)
        if text is None:
            return value  # not text: the field's type says what is wrong
        try:
            return rule([text])[0]
        except Bad as exc:
            raise ValueError(exc.messages[0]) from None

    check.__name__ = f"one_{rule.__name__}"
    return check


# ------------------------------------------------------------- record rules
# Rules over several fields of a record, or over one field's whole value, each
# taking columns of converted values (one list per field, a value per record)
# and raising `Bad` for the records it refuses. The models apply them to one
# record (model.Record: `row_rules`, `field_rules`); the loader to columns.
# A record whose fields did not all convert may be among the values (with
# None in their place): a rule passes over what it cannot judge.


def schedules(
    days: Sequence[date | None],
    dues: Sequence[date | None],
    amounts: Sequence[Decimal | None],
    schedules: Sequence[Sequence[Any] | None],
) -> None:
    """An invoice's instalments add up to its amount, fall due on or after
    its date, and leave no `due` of its own beside them."""
    messages = {}
    for i in _given(schedules):
        day, due, amount, schedule = days[i], dues[i], amounts[i], schedules[i]
        if schedule is None or day is None or amount is None:
            continue
        if not schedule:
            messages[i] = "schedule: is empty; leave it out or list instalments"
            continue
        total = sum((instalment.amount for instalment in schedule), Decimal(0))
        if total != amount:
            messages[i] = (
                f"schedule: instalments add up to {total}, "
                f"not to the invoice amount {amount}"
            )
            continue
        early = [instalment.due for instalment in schedule if instalment.due < day]
        if early:
            messages[i] = (
                f"schedule: instalment due {early[0]} is before the issue date {day}"
            )
        elif due is not None and due != max(i.due for i in schedule):
            messages[i] = (
                "due: with a schedule, leave `due` out (each instalment has its own)"
            )
    if messages:
        raise Bad(messages)


def allocations(
    invoices: Sequence[str | None],
    amounts: Sequence[Decimal | None],
    allocations: Sequence[dict[str, Decimal] | None],
) -> None:
    """A payment names one `invoice` or splits itself by `allocations`, and
    allocates no more than its amount."""
    messages = {}
    for i in _given(allocations):
        invoice, amount, split = invoices[i], amounts[i], allocations[i]
        if split is None:
            continue
        if invoice is not None:
            messages[i] = (
                "allocations: give either `invoice` or `allocations`, not both"
            )
            continue
        total = sum(split.values(), Decimal(0))
        if amount is not None and total > amount:
            messages[i] = (
                f"allocations: add up to {total}, more than the payment's "
                f"amount {amount}"
            )
    if messages:
        raise Bad(messages)


def promises(
    promise_amounts: Sequence[Decimal | None], promise_dates: Sequence[date | None]
) -> None:
    """A promise to pay says by when."""
    messages = {
        i: "promise_amount: a promise to pay needs its promise_date"
        for i in _given(promise_amounts)
        if promise_dates[i] is None
    }
    if messages:
        raise Bad(messages)


def plan_instalments(
    days: Sequence[date | None],
    instalments: Sequence[Sequence[Any] | None],
    invoices: Sequence[Sequence[str] | None],
) -> None:
    """A plan lists its collections, none before its date, in the order they
    fall due; and names invoices, if any, in a list that is not empty."""
    messages = {}
    for i, (day, expected, named) in enumerate(
        zip(days, instalments, invoices, strict=True)
    ):
        if day is None or expected is None:
            continue
        if not expected:
            messages[i] = "instalments: list at least one `{due, amount}`"
            continue
        early = [instalment.due for instalment in expected if instalment.due < day]
        dues = [instalment.due for instalment in expected]
        if early:
            messages[i] = f"instalments: {early[0]} is before the plan's date {day}"
        elif dues != sorted(dues):
            messages[i] = "instalments: list them in the order they fall due"
        elif named is not None and not named:
            messages[i] = "invoices: is empty; leave it out or list invoices"
    if messages:
        raise Bad(messages)


def check_buckets(value: tuple[int, ...]) -> tuple[int, ...]:
    """Bucket limits must be positive and strictly increasing."""
    if not value:
        raise ValueError("give at least one bucket limit, e.g. 30,60,90")
    if any(b <= 0 for b in value):
        raise ValueError("bucket limits must be positive day counts")
    if any(b >= c for b, c in zip(value, value[1:], strict=False)):
        raise ValueError(f"bucket limits must increase: {', '.join(map(str, value))}")
    return value


def bucket_limits(values: Sequence[tuple[int, ...]]) -> None:
    """Aging bucket limits (`aging.buckets`): see check_buckets."""
    messages = {}
    for i, value in enumerate(values):
        try:
            check_buckets(value)
        except ValueError as exc:
            messages[i] = str(exc)
    if messages:
        raise Bad(messages)


def bucket_labels(limits: Sequence[int], basis: str) -> tuple[str, ...]:
    """`Current, 1-30, 31-60, …, 120+` (basis due) or `0-30, 31-60, …` (invoice)."""
    labels = ["Current"] if basis == "due" else []
    lower = 1 if basis == "due" else 0
    for limit in limits:
        labels.append(f"{lower}-{limit}")
        lower = limit + 1
    labels.append(f"{limits[-1]}+")
    return tuple(labels)


def yearly_rates(values: Sequence[Decimal]) -> None:
    """An interest rate is a yearly fraction (`dunning.interest_rate`)."""
    messages = {
        i: f"is a yearly fraction: write 0.08 for 8% (got {value})"
        for i, value in enumerate(values)
        if value >= 1
    }
    if messages:
        raise Bad(messages)


def dunning_levels(values: Sequence[Sequence[Any]]) -> None:
    """Dunning levels have names of their own and come later and later."""
    messages = {}
    for i, levels in enumerate(values):
        names = [level.name for level in levels]
        if len(set(names)) != len(names):
            messages[i] = "level names must be different from each other"
            continue
        for lower, higher in zip(levels, levels[1:], strict=False):
            if higher.days <= lower.days:
                messages[i] = (
                    f"level {higher.name!r} ({higher.days} days) must come later "
                    f"than {lower.name!r} ({lower.days} days): days must increase"
                )
                break
    if messages:
        raise Bad(messages)


def risk_bands(
    a_points: Sequence[int], b_points: Sequence[int], c_points: Sequence[int]
) -> None:
    """The computed grade's bands (`risk.bands`) allow more points grade by grade."""
    messages = {
        i: f"the bands must increase: A {a} < B {b} < C {c}"
        for i, (a, b, c) in enumerate(zip(a_points, b_points, c_points, strict=True))
        if not a < b < c
    }
    if messages:
        raise Bad(messages)


def allowance_buckets(allowances: Sequence[Any], agings: Sequence[Any]) -> None:
    """The allowance rates (`allowance.rates`), when given, name each aging
    bucket once and nothing else (SPEC §8)."""
    messages = {}
    for i, (allowance, aging) in enumerate(zip(allowances, agings, strict=True)):
        rates = None if allowance is None or aging is None else allowance.rates
        if rates is None:
            continue
        labels = bucket_labels(aging.buckets, aging.basis)
        unknown = [k for k in rates if k not in labels]
        missing = [k for k in labels if k not in rates]
        if unknown or missing:
            parts = []
            if unknown:
                parts.append(f"not a bucket: {', '.join(unknown)}")
            if missing:
                parts.append(f"no rate for: {', '.join(missing)}")
            messages[i] = (
                f"allowance.rates: {'; '.join(parts)} "
                f"(the buckets are {', '.join(labels)})"
            )
    if messages:
        raise Bad(messages)


# SPEC §8: the example matrix of allowance rates, for the default aging buckets.
DEFAULT_ALLOWANCE_RATES = {
    "Current": Decimal("0.005"),
    "1-30": Decimal("0.02"),
    "31-60": Decimal("0.05"),
    "61-90": Decimal("0.15"),
    "91-120": Decimal("0.35"),
    "120+": Decimal("0.80"),
}
