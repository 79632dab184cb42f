"""Tables off a terminal are written without Rich, exactly as Rich prints them.

Plain text (a pipe, a file, cron) is what most runs write; Rich costs a run
about 10 ms to import, so render/table.py writes those lines itself and falls
back to Rich only for a line Rich would change. Both must give the same bytes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from arledger import api
from arledger.dates import parse_period
from arledger.render import Env
from arledger.render import table as table_renderer
from arledger.report import Column, Report, Section


def _reports():
    ledger = api.load("examples/demo")
    of = api.view(ledger, as_of=date(2026, 10, 31))
    return {
        "aging": api.aging(of),
        "aging detail": api.aging(of, detail=True),
        "overdue": api.overdue(of),
        "collection": api.collection(of, parse_period("2026-Q3")),
        "risk": api.risk(of),
        "forecast": api.forecast(of),
        "statement": api.statement(of, "ACME", start=date(2026, 1, 1)),
        "dunning": api.dunning(of),
    }


def _by_rich(report: Report, env: Env, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(table_renderer, "_plain_report", lambda report, env: None)
        return table_renderer.render(report, env)


@pytest.mark.parametrize("env", [Env(), Env(width=60), Env(color=True)])
def test_plain_tables_are_what_rich_prints(env, monkeypatch):
    for name, report in _reports().items():
        plain = table_renderer.render(report, env)
        assert plain == _by_rich(report, env, monkeypatch), name


def test_a_line_rich_would_change_goes_to_rich(monkeypatch):
    report = _reports()["aging"]
    for title in ("Tab\there", "x" * 500):
        sections = tuple(replace(s, title=title) for s in report.sections)
        odd = replace(report, sections=sections)
        assert table_renderer._plain_report(odd, Env()) is None
        assert table_renderer.render(odd, Env()) == _by_rich(odd, Env(), monkeypatch)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=" \t\u3000\xa0\x85\u2028ab\x1b[0m;1", max_size=30))
def test_a_line_is_trimmed_as_the_trailing_pattern_says(line):
    """`str.rstrip` trims a line without a style code (the fast way) exactly
    as `TRAILING` does, and a styled line keeps the codes among its trailing
    white space."""
    import re

    table = table_renderer
    if "\x1b" not in line:
        assert table._trimmed(line) == table.TRAILING.sub("", line)
    else:
        kept = table.TRAILING.sub(
            lambda end: "".join(re.findall(r"\x1b\[[0-9;]*m", end[0])), line
        )
        assert table._trimmed(line) == kept


CELLS = st.text(alphabet="ab 1.,-\t中文é", max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(CELLS, CELLS, st.integers(-999, 99999)), max_size=8),
    width=st.sampled_from([None, 24, 60]),
)
def test_drawn_tables_are_what_rich_prints(rows, width):
    """Columns of printable ASCII are padded a column at a time, the others
    cell by cell; either way a plain table is what Rich prints, with wide
    characters, tabs and cells shortened to fit."""
    columns = (
        Column("name", "Name"),
        Column("note", "Note"),
        Column("days", "Days", "days"),
    )
    section = Section(
        None,
        columns,
        tuple({"name": a, "note": b, "days": n} for a, b, n in rows),
    )
    report = Report("drawn", "Drawn", date(2026, 10, 31), (section,))
    lines, _ = table_renderer._lines(section)
    natural = table_renderer.layout(columns, lines, None).widths
    assert natural == {i: max(cell_len(line[i]) for line in lines) for i in range(3)}
    env = Env(width=width)
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert table_renderer.render(report, env) == _by_rich(report, env, monkeypatch)
