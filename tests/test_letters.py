"""Letters write dates, amounts and rates by their locale with Babel (issue 14):
`31 October 2026` and 2026年10月31日, amounts with the currency's minor units,
Decimal in; and the demo's letters as rendered (golden files)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from arledger.letters import (
    letter_amount,
    letter_date,
    letter_number,
    letter_whole,
    percent,
    render_letter,
)
from arledger.loader import load
from arledger.mail import subject
from arledger.reports import dunning
from arledger.settle import settle

from .conftest import DEMO

D = Decimal
GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize(
    ("day", "language", "text"),
    [
        (date(2026, 10, 31), "en", "31 October 2026"),
        (date(2026, 10, 31), "zh", "2026年10月31日"),
        (date(2027, 1, 5), "en", "5 January 2027"),
        (date(2027, 1, 5), "zh", "2027年1月5日"),
        (None, "en", ""),
    ],
)
def test_dates_in_sentences_by_locale(day, language, text):
    assert letter_date(day, language) == text


@pytest.mark.parametrize(
    ("amount", "currency", "number", "with_code"),
    [
        (D("16668.9"), "USD", "16,668.90", "USD 16,668.90"),
        (D("1234567"), "JPY", "1,234,567", "JPY 1,234,567"),
        (D("1.5"), "KWD", "1.500", "KWD 1.500"),
        # ISO's minor units, not CLDR's (CLDR gives HUF 0 digits in cash)
        (D("1234.5"), "HUF", "1,234.50", "HUF 1,234.50"),
        (D("-0.001"), "USD", "0.00", "USD 0.00"),  # never -0.00
        (D("-250"), "EUR", "-250.00", "-EUR 250.00"),  # CLDR: sign first
        # exact beyond a float's 15-17 digits
        (
            D("12345678901234567.89"),
            "CNY",
            "12,345,678,901,234,567.89",
            "CNY 12,345,678,901,234,567.89",
        ),
    ],
)
def test_amounts_keep_the_currencys_minor_units_exactly(
    amount, currency, number, with_code
):
    for language in ("en", "zh"):
        assert letter_number(amount, currency, language) == number
        assert letter_amount(amount, currency, language) == with_code


def test_counts_and_rates():
    assert letter_whole(45, "en") == "45"
    assert letter_whole(1200, "en") == "1,200"
    assert percent(D("0.08")) == "8.00%"
    assert percent(D("0.0365"), "zh") == "3.65%"
    assert percent(D("0.12345")) == "12.34%"  # half-even, as tables round


def _demo_letters():
    ledger, _ = load(DEMO)
    view = ledger.view(date(2026, 10, 31))
    result = dunning.compute(view, settle(view))
    return {lt.customer: lt for lt in result.letters}, ledger


@pytest.mark.parametrize(
    ("customer", "fmt"),
    [("PINNACLE", "txt"), ("PINNACLE", "html"), ("HUADONG", "txt")],
)
def test_demo_letters_as_rendered(customer, fmt, update_golden):
    """PINNACLE: English, `second` (its broken promise); HUADONG: Chinese,
    `first`. Review a diff of these files like code."""
    letters, ledger = _demo_letters()
    text = render_letter(
        letters[customer], fmt, settings=ledger.settings, ledger_root=DEMO
    )
    path = GOLDEN / f"letter__demo__{customer}.{fmt}"
    if update_golden or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_the_subject_writes_the_amount_as_the_letter_does():
    letters, ledger = _demo_letters()
    for letter in letters.values():
        text = render_letter(letter, "txt", settings=ledger.settings)
        amount = letter_amount(letter.total, letter.currency, letter.language)
        assert amount in subject(letter, ledger.settings.company.name)
        assert letter_number(letter.total, letter.currency, letter.language) in text
