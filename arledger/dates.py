"""Dates: the strict ISO dates of ledger files, the friendlier dates of options.

Never reads the clock: callers pass `today`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SLASHED = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")


class DateError(ValueError):
    """Text that is not a date of the expected form; the message says why."""


def parse_ledger_date(text: str) -> date:
    """A date in a ledger file: ISO `YYYY-MM-DD` only.

    Day-first and month-first exports (`31/03/2026`, `03/31/2026`) cannot be told
    apart, so they are refused with a message that names the ISO form (SPEC §1).
    """
    text = text.strip()
    found = _iso(text)
    if found is not None:
        return found
    raise DateError(_not_iso(text, "write dates as YYYY-MM-DD{hint}"))


def parse_date(text: str) -> date:
    """A date given on the command line (`--as-of`, `--from`, `--to`).

    Only forms that cannot be misread (SPEC §3): ISO `2026-10-31`, or a day, a
    month name and a four-digit year in any order (`31 Oct 2026`,
    `October 31, 2026`, `31-Oct-2026`). `01/02/2026` and `1.2.2026` are refused
    with a message that names the ISO form: day-first and month-first cannot be
    told apart.
    """
    text = text.strip()
    found = _iso(text)
    if found is None:
        found = _with_month_name(text)
    if found is None:
        raise DateError(
            _not_iso(
                text, "write YYYY-MM-DD{hint}, or the month as a word (31 Oct 2026)"
            )
        )
    return found


def _iso(text: str) -> date | None:
    """`YYYY-MM-DD` as a date; None when the text is not of that form."""
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise DateError(f"{text!r} is not a valid date ({exc})") from None


def _not_iso(text: str, advice: str) -> str:
    """Why `text` is refused: `advice`, its `{hint}` naming the ISO date that
    `text` may mean when only one reading is a date."""
    slashed = _SLASHED.fullmatch(text)
    if not slashed:
        return f"{text!r} is not a date: {advice.format(hint='')}"
    a, b, year = (int(g) for g in slashed.groups())
    hint = ""
    if a > 12 >= b:
        hint = f", here {year:04d}-{b:02d}-{a:02d}"
    elif b > 12 >= a:
        hint = f", here {year:04d}-{a:02d}-{b:02d}"
    return f"{text!r} is ambiguous or not ISO: {advice.format(hint=hint)}"


# English month names and their abbreviations (the C locale's, so never the
# user's locale), and "sept": 1..12.
_MONTHS = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
} | {"sept": 9}
_WORDS = re.compile(r"[^\W\d_]+|\d+(?:st|nd|rd|th)?", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s,./-]*")


def _with_month_name(text: str) -> date | None:
    """`31 Oct 2026`, `Oct 31, 2026`, `2026-Oct-31`: a day, a month named in
    English and a four-digit year, in any order; None for any other form."""
    parts = _WORDS.findall(text)
    if len(parts) != 3 or "".join(
        _SEPARATORS.sub("", piece) for piece in _WORDS.split(text)
    ):
        return None  # not three words, or something between them not a separator
    months = [_MONTHS[p.lower()] for p in parts if p.lower() in _MONTHS]
    years = [int(p) for p in parts if p.isdigit() and len(p) == 4]
    days = [
        int(p.rstrip("stndrhSTNDRH"))
        for p in parts
        if p[0].isdigit() and len(p.rstrip("stndrhSTNDRH")) <= 2
    ]
    if len(months) != 1 or len(years) != 1 or len(days) != 1:
        return None
    try:
        return date(years[0], months[0], days[0])
    except ValueError as exc:
        raise DateError(f"{text!r} is not a valid date ({exc})") from None


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month_end(today: date) -> date:
    """The end of the month before `today`'s."""
    return today.replace(day=1) - timedelta(days=1)


def previous_quarter_end(today: date) -> date:
    """The end of the calendar quarter before `today`'s."""
    first_month = 3 * ((today.month - 1) // 3) + 1
    return today.replace(month=first_month, day=1) - timedelta(days=1)


AS_OF_WORDS = ("today", "month-end", "quarter-end")


def resolve_as_of(text: str | None, today: date) -> date:
    """The as-of date of a report from `--as-of` (SPEC §2).

    Args:
        text: None or "today" for today; "month-end" for the end of last month;
            "quarter-end" for the end of last quarter; else a date.
        today: the current date, supplied by the caller.
    """
    word = (text or "today").strip().lower()
    if word == "today":
        return today
    if word == "month-end":
        return previous_month_end(today)
    if word == "quarter-end":
        return previous_quarter_end(today)
    return parse_date(text or "")


@dataclass(frozen=True, slots=True)
class Period:
    """A span of days, both ends included (a month, a quarter, a year, or any)."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-?[Qq]([1-4])")
_YEAR = re.compile(r"\d{4}")


def month_of(day: date) -> Period:
    """The calendar month that holds `day`."""
    start = day.replace(day=1)
    return Period(start, month_end(day), f"{day.year:04d}-{day.month:02d}")


def parse_period(text: str) -> Period:
    """`2026-10` (a month), `2026-Q3` (a quarter) or `2026` (a year)."""
    text = text.strip()
    if m := _MONTH.fullmatch(text):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            return month_of(date(year, month, 1))
    if m := _QUARTER.fullmatch(text):
        year, quarter = int(m[1]), int(m[2])
        start = date(year, 3 * quarter - 2, 1)
        end = month_end(date(year, 3 * quarter, 1))
        return Period(start, end, f"{year:04d}-Q{quarter}")
    if _YEAR.fullmatch(text):
        year = int(text)
        return Period(date(year, 1, 1), date(year, 12, 31), text)
    raise DateError(f"{text!r} is not a period: write 2026-10, 2026-Q3 or 2026")


def months(period: Period) -> list[Period]:
    """The calendar months of a period, each cut to the period's ends."""
    result = []
    current = period.start
    while current <= period.end:
        whole = month_of(current)
        result.append(
            Period(
                max(whole.start, period.start), min(whole.end, period.end), whole.label
            )
        )
        current = whole.end + timedelta(days=1)
    return result
