"""What a person sees on a terminal (SPEC §3, "What a person reads is never wrong").

Every report runs as the real program in a pseudo-terminal 80, 100, 120 and 200
columns wide. Each amount, date, id and percentage that `--format csv` gives
must be on the screen whole, or its column named in the table's "Left out"
line; no line may be wider than the window; a digit-bearing word on the screen
must be a whole word of the piped output (nothing cut); and the columns of a
table with Chinese names must line up by display width.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import re
import select
import struct
import subprocess
import sys
import termios
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from functools import cache

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from arledger.cli import app
from arledger.money import grouped
from arledger.render import Env
from arledger.render.table import layout, render, shorten
from arledger.report import Column, Report, Section

from .conftest import DEMO, TESTS

WIDTHS = (80, 100, 120, 200)
# Every run computes its report: a module's fixtures run before conftest's
# function-wide ARLEDGER_NO_CACHE, and a cached screen would test nothing.
FRESH = {"ARLEDGER_NO_CACHE": "1"}
DEMO_AT = ("--ledger", str(DEMO), "--as-of", "2026-10-31")
REPORTS = {
    "aging": ("aging",),
    "aging-detail": ("aging", "--detail"),
    "overdue": ("overdue",),
    "collection": ("collection",),
    "collection-owner": ("collection", "--by", "owner"),
    "collection-customer": ("collection", "--by", "customer"),
    "collection-month": ("collection", "--by", "month", "--period", "2026"),
    "risk": ("risk",),
    "forecast": ("forecast",),
    "forecast-detail": ("forecast", "--detail"),
    "statement": ("statement", "HUADONG", "--period", "all"),
    "dunning": ("dunning",),
    "risk-detail": ("risk", "--detail"),
    "interest": ("interest",),
    "plans": ("plans",),
    "allowance": ("allowance", "--compare-to", "2026-09-30"),
    "movement": ("aging", "--compare-to", "2026-09-30"),
    "limitation": ("limitation", "--within", "1100"),
    "confirmations": ("confirmations",),
}
# Reports with Chinese text in their rows: 上海华东贸易有限公司 (HUADONG), 缠绕膜.
CHINESE = ("aging", "overdue", "collection-customer", "risk", "statement", "dunning")
IDS = frozenset({"customer", "invoice", "reference", "period", "month"})
STYLE_CODE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MONEY = re.compile(r"-?\d+\.\d\d")
RATIO = re.compile(r"-?\d+\.\d{4}")
DATE = re.compile(r"\d{4}-\d\d-\d\d")
DAYS = re.compile(r"-?\d+(\.\d)?")
HAN = re.compile(r"[\u4e00-\u9fff]")
LEFT_OUT = re.compile(r"Left out at (\d+) columns: (.*?); see them with")


# ---------------------------------------------------------------- running


def on_terminal(args: tuple[str, ...], width: int, **environ: str) -> str:
    """What the program writes to a terminal `width` columns wide (both streams),
    with the terminal's CR LF as LF."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(COLUMNS=str(width), LINES="40", TERM="xterm-256color", **FRESH)
    env.update(environ)
    process = subprocess.Popen(
        [sys.executable, "-m", "arledger", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        cwd=TESTS.parent,
    )
    os.close(follower)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], 60)
            assert ready, f"no output for 60 s from {args}"
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the program ended and closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        process.wait(timeout=60)
    return b"".join(chunks).decode().replace("\r\n", "\n")


@cache
def piped(args: tuple[str, ...], fmt: str = "table") -> str:
    """The output in `fmt` off a terminal (Typer's runner: no terminal)."""
    result = CliRunner().invoke(app, [*args, "--format", fmt], env=FRESH)
    assert result.exit_code == 0, result.output
    return result.stdout


def through_a_pipe(args: tuple[str, ...]) -> str:
    """The real program's output into a pipe."""
    return subprocess.run(
        [sys.executable, "-m", "arledger", *args],
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **FRESH},
        timeout=60,
    ).stdout


@pytest.fixture(scope="module")
def screens() -> dict[tuple[str, int], str]:
    """Every report at every width, as the terminal shows it (colour codes
    dropped); the programs run a few at a time."""
    cases = [(name, width) for name in REPORTS for width in WIDTHS]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        shown = pool.map(
            lambda case: on_terminal((*REPORTS[case[0]], *DEMO_AT), case[1]), cases
        )
        return {
            case: STYLE_CODE.sub("", text)
            for case, text in zip(cases, shown, strict=True)
        }


# ---------------------------------------------------------------- reading


def labels(name: str) -> dict[str, str]:
    """Column key -> heading: the CSV header against the Markdown table's."""
    args = (*REPORTS[name], *DEMO_AT)
    keys = next(csv.reader(io.StringIO(piped(args, "csv"))))[1:]  # after currency
    for line in piped(args, "md").splitlines():
        if line.startswith("| "):
            headings = [cell.strip() for cell in line.strip("|").split(" | ")]
            if len(headings) == len(keys):
                return dict(zip(keys, headings, strict=True))
    raise AssertionError(f"no Markdown table with the CSV's columns for {name}")


def figures(name: str) -> list[list[tuple[str, str]]]:
    """Per CSV row: (key, text as a table prints it) of every amount, date,
    id, day count and percentage."""
    rows = []
    for row in csv.DictReader(io.StringIO(piped((*REPORTS[name], *DEMO_AT), "csv"))):
        currency = row.pop("currency")
        found = []
        for key, value in row.items():
            if not value:
                continue
            if key in IDS or DATE.fullmatch(value) or DAYS.fullmatch(value):
                found.append((key, value))
            elif MONEY.fullmatch(value):
                found.append((key, grouped(Decimal(value), currency)))
            elif RATIO.fullmatch(value):
                found.append((key, percent(Decimal(value))))
        rows.append(found)
    return rows


def percent(ratio: Decimal) -> str:
    """A ratio as the table prints it (60.5%), from the 4 places CSV gives: a
    CSV 0.3765 may be a table 37.6% or 37.7%, so "37.6%|37.7%"."""
    tenths = {
        f"{ratio * 100 + nudge:.1f}%" for nudge in (Decimal("-0.005"), Decimal("0.005"))
    }
    return "|".join(sorted(tenths))


def left_out(text: str) -> set[str]:
    """The headings named in the screen's "Left out" lines."""
    flat = " ".join(text.split())
    return {
        heading for _, names in LEFT_OUT.findall(flat) for heading in names.split(", ")
    }


def words(text: str) -> list[str]:
    return re.findall(r"\S+", text)


def holds(line: str, value: str) -> bool:
    """`value` is in `line` whole: between spaces or the ends of the line
    (one of its forms, when several are given as "a|b")."""
    forms = "|".join(re.escape(form) for form in value.split("|"))
    return re.search(rf"(?<!\S)(?:{forms})(?!\S)", line) is not None


# ---------------------------------------------------------------- the screen


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", REPORTS)
def test_every_figure_is_whole_or_its_column_named(screens, name, width):
    text = screens[name, width]
    gone = left_out(text)
    headings = labels(name)
    lines = text.splitlines()
    at = 0
    for row in figures(name):
        shown = [value for key, value in row if headings[key] not in gone]
        # the row's line: the next one holding every figure shown, as whole words
        while at < len(lines) and not all(holds(lines[at], v) for v in shown):
            at += 1
        assert at < len(lines), f"{name} at {width}: no line with all of {shown}"
        at += 1


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", REPORTS)
def test_no_line_is_wider_than_the_window_and_nothing_is_cut(screens, name, width):
    text = screens[name, width]
    for line in text.splitlines():
        assert cell_len(line) <= width, f"{name} at {width}: {line!r}"
    whole = set(words(piped((*REPORTS[name], *DEMO_AT))))
    in_note = False  # the "Left out" note names columns, over several lines
    for line in text.splitlines():
        in_note = in_note or line.startswith("Left out at")
        if in_note:
            in_note = "see them with" not in line
            continue
        for word in words(line):
            if any(c.isdigit() for c in word):
                assert word.removesuffix("…") in whole, f"{name} at {width}: {word!r}"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_narrow_window_names_what_it_leaves_out(screens, width):
    text = screens["overdue", width]
    if width == 200:  # shortening the names and the contact is enough
        assert "Left out" not in text and "…" in text
        return
    assert f"Left out at {width} columns:" in text and "--format csv" in text
    if width == 80:
        assert {"Date", "Owner", "Contact", "Promised"} <= left_out(text)
    # every heading on screen or named as left out
    headings = set(labels("overdue").values())
    header = next(line for line in text.splitlines() if line.startswith("Customer"))
    assert headings <= left_out(text) | set(re.split(r"\s{2,}", header))


def _cells(line: str, pattern: str) -> list[tuple[int, int]]:
    """(first cell, cell after the last) of each match in `line`, by display width."""
    return [
        (cell_len(line[: m.start()]), cell_len(line[: m.end()]))
        for m in re.finditer(pattern, line)
    ]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", CHINESE)
def test_chinese_names_keep_the_columns_in_line(screens, name, width):
    """In each table, a figure standing alone in its cell ends (amounts,
    right-aligned) or starts (dates, ids, left-aligned) where its column's
    heading does, on the Chinese rows as on the others."""
    text = screens[name, width]
    lines = text.splitlines()
    checked = 0
    for n, line in enumerate(lines):
        if not line.startswith("─"):
            continue
        header = lines[n - 1]
        spans = _cells(header, r"\S+(?: \S+)*")
        starts = {a for a, _ in spans}
        ends = {b for _, b in spans}
        for row in lines[n + 1 :]:
            if not row.strip() or row.startswith("Total"):
                break
            alone = r"(?:(?<=\s\s)|^)(?:{})(?=\s\s|$)"
            amounts = _cells(row, alone.format(r"-?\d{1,3}(?:,\d{3})*\.\d\d"))
            dated = _cells(row, alone.format(r"\d{4}-\d\d-\d\d|[A-Z]+-\d[\d-]*"))
            assert {b for _, b in amounts} <= ends, f"{name} at {width}: {row!r}"
            assert {a for a, _ in dated} <= starts, f"{name} at {width}: {row!r}"
            checked += HAN.search(row) is not None
    # narrower, the Chinese text may be shortened away or its column left out
    assert checked or width < 200, f"{name} at {width}: no Chinese row"


def test_no_color_keeps_the_layout_and_drops_the_colours():
    coloured = on_terminal((*REPORTS["risk"], *DEMO_AT), 100)
    plain = on_terminal((*REPORTS["risk"], *DEMO_AT), 100, NO_COLOR="1")
    assert "\x1b[3" in coloured  # a colour
    assert not re.search(r"\x1b\[[0-9;]*3\d", plain)  # no colour, bold may stay
    assert STYLE_CODE.sub("", plain) == STYLE_CODE.sub("", coloured)


def test_a_pipe_gets_every_column_whole():
    """Off a terminal, as before: every column, whole, no colour, nothing left out
    (tests/golden holds the exact bytes for the small ledger)."""
    names = ("aging", "overdue", "risk", "statement")
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        texts = pool.map(lambda name: through_a_pipe((*REPORTS[name], *DEMO_AT)), names)
        for name, text in zip(names, texts, strict=True):
            assert text == piped((*REPORTS[name], *DEMO_AT))
            assert "\x1b" not in text and "…" not in text and "Left out" not in text
            for row in figures(name):
                assert any(
                    all(holds(line, value) for _, value in row)
                    for line in text.splitlines()
                ), f"{name}: {row}"


@pytest.mark.parametrize("width", (80, 120))
def test_check_prints_whole_problem_lines(width):
    """`check` prints FILE:LINE messages as plain lines: the terminal wraps a
    long one, nothing cuts it."""
    ledger = str(TESTS / "errors" / "many_errors")
    result = subprocess.run(
        [sys.executable, "-m", "arledger", "check", "--ledger", ledger],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    expected = result.stderr.splitlines()
    assert any(len(line) > 80 for line in expected)  # some do need wrapping
    shown = STYLE_CODE.sub("", on_terminal(("check", "--ledger", ledger), width))
    assert shown.splitlines() == expected


# ---------------------------------------------------------------- the layout


def test_shorten_never_cuts_a_word_holding_a_digit():
    note = "dunning block until 2026-12-15: payment plan agreed 2026-09-18"
    assert shorten(note, 30) == "dunning block until…"
    assert shorten("Pinnacle Building Products Corp.", 12) == "Pinnacle Bu…"
    assert shorten("上海华东贸易有限公司", 9) == "上海华东…"  # 8 cells and "…"
    assert shorten("Acme", 12) == "Acme"


COLUMNS = (
    Column("customer", "Customer"),
    Column("name", "Name"),
    Column("note", "Note"),
    Column("due", "Due", "date"),
    Column("open", "Open", "money"),
    Column("channel", "Via"),
)


def test_layout_shortens_names_before_leaving_columns_out():
    lines = [
        [c.label for c in COLUMNS],
        ["HUADONG", "上海华东贸易有限公司", "promised by 2026-11-10", "2026-10-15",
         "28,800.00", "email"],
    ]  # fmt: skip
    whole = layout(COLUMNS, lines, None)
    assert whole.widths == {0: 8, 1: 20, 2: 22, 3: 10, 4: 9, 5: 5}
    assert whole.left_out == () and whole.width() == 84
    narrower = layout(COLUMNS, lines, 80)  # names give way, both alike
    assert narrower.left_out == () and narrower.width() == 80
    assert (narrower.widths[1], narrower.widths[2]) == (19, 19)
    narrow = layout(COLUMNS, lines, 50)  # then the least important go
    assert [c.key for c in narrow.left_out] == ["note", "channel"]
    assert narrow.width() == 50 and narrow.widths == {0: 8, 1: 17, 3: 10, 4: 9}


def test_a_window_too_narrow_for_the_ids_lets_lines_run_on():
    """When even the columns that always stay do not fit, the lines run past
    the window (the terminal wraps them) rather than cut a figure."""
    row = {"customer": "C" * 30, "open": Decimal("1234.50")}
    section = Section("USD", COLUMNS, (row,))
    report = Report("t", "T", date(2026, 10, 31), (section,))
    text = render(report, Env(tty=True, width=20))
    assert "C" * 30 + "\n" in text  # 30 cells in a window of 20
    flat = " ".join(text.split())
    assert "Left out at 20 columns: Name, Note, Due, Open, Via;" in flat


def test_the_readme_shows_an_80_column_terminal_as_it_is(screens):
    readme = (TESTS.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("On an 80-column terminal:\n\n```\n", 1)[1].split("```", 1)[0]
    command, text = shown.split("\n", 1)
    assert command == "$ arledger overdue --ledger examples/demo --as-of 2026-10-31"
    assert text == screens["overdue", 80]


def test_a_name_in_square_brackets_prints_as_written():
    """Rich markup is off: a cell or a title is text, never a style."""
    row = {"customer": "C1", "name": "Acme [bold]Europe[/bold] [EU]"}
    section = Section("EUR", COLUMNS, (row,), title="[red]Aging[/red]")
    report = Report("t", "T", date(2026, 10, 31), (section,))
    for env in (Env(), Env(tty=True, width=80)):
        text = render(report, env)
        assert "Acme [bold]Europe[/bold] [EU]" in text and "[red]Aging[/red]" in text
