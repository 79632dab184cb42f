"""The one catalogue of words (arledger.labels): every label in both languages,
with the same fields, and every label the workbook, the letters and the mail
subjects ask for is in it."""

from __future__ import annotations

import dataclasses
import re
import string
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from arledger import api, labels

from .conftest import DEMO

AS_OF = date(2026, 10, 31)


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_english_and_chinese_with_the_same_fields():
    assert set(labels.LABELS) == set(labels.LANGUAGES) == {"en", "zh"}
    en, zh = labels.LABELS["en"], labels.LABELS["zh"]
    assert sorted(en.keys() - zh.keys()) == []
    assert sorted(zh.keys() - en.keys()) == []
    for key in en:
        assert en[key].strip() and zh[key].strip(), key
        assert fields(en[key]) == fields(zh[key]), key


def test_the_level_titles_and_subjects_come_from_the_catalogue():
    from arledger import mail

    assert mail.title("first", "en") == labels.LABELS["en"]["level.first"]
    assert mail.title("final", "zh") == "最后催款通知函"
    assert mail.title("a-level-of-our-own", "zh") == "付款通知函"
    assert mail.title("second", "fr") == "Second overdue notice"  # English else


@pytest.fixture
def asked(monkeypatch):
    """The keys looked up in the catalogue that it does not hold."""
    missing: list[str] = []
    plain_call = labels.Words.__call__
    plain_column = labels.Words.column

    def call(self, key, **values):
        if key not in self.table:
            missing.append(key)
        return plain_call(self, key, **values)

    def column(self, key, sheet=""):
        if f"{sheet}.{key}" not in self.table and key not in self.table:
            missing.append(key)
        return plain_column(self, key, sheet)

    monkeypatch.setattr(labels.Words, "__call__", call)
    monkeypatch.setattr(labels.Words, "column", column)
    return missing


def task_demo(directory):
    """The demo with dunning levels that are tasks: its worklist has rows."""
    from .test_print import task_demo as make

    return make(directory)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_sheet_label_is_missing(tmp_path, asked, language):
    """Building the workbook (every sheet, a worklist with tasks, an allowance
    and a movement, two currencies) asks only for labels the catalogue holds;
    what it passes through is the aging's bucket labels (`1-30`, `120+`),
    which are numbers."""
    ledger = api.load(task_demo(tmp_path / "ledger"))
    view = api.view(ledger, AS_OF)
    from arledger import mail

    sent = mail.read_log(mail.log_path(ledger.root))
    data = api.workbook(view, language=language, sent=sent)
    assert data[:2] == b"PK"
    assert asked, "the recording did not run"  # bucket labels pass through
    numbers = re.compile(r"\d+(-\d+|\+)")
    assert sorted({key for key in asked if not numbers.fullmatch(key)}) == []


def test_no_letter_or_subject_label_is_missing(tmp_path, asked):
    """Every demo letter in both languages, with interest, a fee and unapplied
    cash (every line of its table), its subject, and every statement's
    subject, ask only for labels the catalogue holds."""
    from arledger import letters, mail
    from arledger.commands import statements
    from arledger.reports import dunning
    from arledger.settle import settle

    ledger = api.load(DEMO)
    view = ledger.view(AS_OF)
    found = dunning.compute(view, settle(view)).letters
    assert found
    subjects = set()
    for letter in found:
        for language in ("en", "zh"):
            one = dataclasses.replace(
                letter,
                language=language,
                fee=Decimal("25.00"),
                interest=Decimal("1.50"),
                unapplied=Decimal("10.00"),
            )
            subjects.add(mail.subject(one, ledger.settings.company.name))
            for fmt in letters.LETTER_FORMATS:
                letters.render_letter(one, fmt, settings=ledger.settings)
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for language in ("en", "zh"):
        for statement in statements.compute_all(
            ledger,
            view,
            period=None,
            start_text=None,
            end_text=None,
            language=language,
        ):
            subjects.add(statements.message(ledger, statement, now)["Subject"])
    assert asked == []
    assert any(s.startswith("逾期付款通知函：逾期款项 USD") for s in subjects)
    assert any(s.startswith("对账单：截至2026年10月31日余额") for s in subjects)
    assert "Bayview Trading Co.: Statement of account as at 2026-10-31, balance" in (
        " ".join(subjects)
    )


def test_a_letter_and_a_sheet_share_their_due_heading():
    """A word both say is one key: the letters' Due column is the sheets'."""
    assert "letter.due" not in labels.LABELS["en"]
    assert labels.Words("zh")("due") == "到期日"


def test_the_catalogue_loads_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, arledger.labels; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'arledger'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['arledger', 'arledger.labels']"
