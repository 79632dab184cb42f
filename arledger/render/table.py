"""Terminal tables with Rich: box drawing and colour only on a terminal.

Rich honours NO_COLOR itself (colour off, bold kept); off a terminal the table is
plain text with no box characters, so it pipes and mails cleanly.

The layout is measured here, never left to Rich's shrinking, which cuts figures
(SPEC §3, "What a person reads is never wrong"). Each column gets the display
width (`cell_len`: a CJK character takes two cells) of its header and cells.
When a table is wider than the terminal, names and free text are shortened
with "…" (never in the middle of a word holding a digit, so no date, id or
amount is cut), then the least important columns are left out and the table's
last line names them. Rich then draws columns of exactly those widths. Off a
terminal nothing is shortened or left out.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING

from rich.cells import cell_len, get_character_cell_size

from arledger.render import Env
from arledger.render.values import text, texts
from arledger.report import Column, Report, Section, column_of

if TYPE_CHECKING:  # Rich draws on a terminal only: imported there (start-up)
    from rich.table import Table

RIGHT = frozenset({"money", "days", "int", "ratio"})
TONE_STYLES = {
    "late": "yellow",
    "later": "dark_orange",
    "latest": "bold red",
    "bad": "bold red",
    "key": "bold cyan",
}
PLAIN_WIDTH = 400  # off a terminal: wide enough that no table wraps
# The end of a line: white space and the codes that end a style.
TRAILING = re.compile(r"(?:\s|\x1b\[[0-9;]*m)+$")
STYLE_CODE = re.compile(r"\x1b\[[0-9;]*m")


def _trimmed(line: str) -> str:
    """A line without its trailing white space, the style codes among it kept.
    A line without a style code (plain output) is `str.rstrip`ped: `TRAILING`
    tries every space of a wide table's padding (20 us a line of `overdue`
    at 100k, 0.12 s in all), and `\\s` is `str.isspace`, which `rstrip` strips."""
    if "\x1b" not in line:
        return line.rstrip()
    return TRAILING.sub(lambda end: "".join(STYLE_CODE.findall(end[0])), line)


# ---------------------------------------------------------------- fitting

# Shown whatever the width, with the first column: what a row is about.
IDS = frozenset({"customer", "invoice", "item", "reference"})
# Names and free text, which may be shortened with "…" to SHORTEST cells.
SHORTENED = frozenset(
    {"name", "owner", "contact", "details", "note", "skipped", "hold_reasons", "reason"}
)
SHORTEST = 10
GAP = 2  # cells between two columns
# Which columns stay longest when not all fit: the higher the rank, the longer
# a column stays; on a tie the one further right goes first. By kind, figures
# first; by key, where a column matters more or less than its kind says.
KEEP = 99
KIND_RANKS = {"money": 5, "days": 4, "ratio": 4, "flag": 3, "int": 2, "date": 2}
TEXT_RANK = 1
KEY_RANKS = {
    "total": 6,  # a row's total outlasts its parts
    "previous": 6,  # and so do the total it is compared with (--compare-to)
    "change": 6,  # and the change between them
    "hold": 5,  # a customer on credit hold (aging, risk)
    "due": 4,  # the date of an item that matters
    "type": 4,  # invoice, payment, ... (statement)
    "level": 4,  # which letter (dunning)
    "status": 4,  # what became of a letter (dunning --send)
    "grade": 4,  # the credit grade in force (risk)
    "name": 3,
    "written_off": 3,
    "promised": 3,  # of which promised (forecast)
    # follow-up details and what only a script needs go first
    "contact": 0,
    "last_contact": 0,
    "channel": 0,
    "promise": 0,
    "promise_date": 0,
    "promise_amount": 0,
    "computed_grade": 0,
    "points": 0,
    "language": 0,
    "message_id": 0,
    "file": 0,
}


def rank(column: Column, index: int) -> int:
    """How long a column stays when a table does not fit (KEEP: always)."""
    if index == 0 or column.key in IDS:
        return KEEP
    if column.key in KEY_RANKS:
        return KEY_RANKS[column.key]
    if column.key.startswith("moved_in:"):
        return 2  # the movement's detail: what moved between buckets
    return KIND_RANKS.get(column.kind, TEXT_RANK)


def shortenable(column: Column, index: int) -> bool:
    """Whether a column's text may be shortened with "…" (names, free text)."""
    return index > 0 and column.kind == "text" and column.key in SHORTENED


def shorten(value: str, width: int) -> str:
    """`value` in at most `width` cells, ending in "…" when cut.

    The cut falls before a word that holds a digit rather than inside it, so
    a date, an id or an amount in free text is shown whole or not at all.
    """
    if cell_len(value) <= width:
        return value
    cells = 0
    end = 0
    for char in value:
        cells += get_character_cell_size(char)
        if cells > width - 1:
            break
        end += 1
    if end < len(value) and not value[end].isspace():
        start = end
        while start > 0 and not value[start - 1].isspace():
            start -= 1
        stop = end
        while stop < len(value) and not value[stop].isspace():
            stop += 1
        if any(c.isdigit() for c in value[start:stop]):
            end = start
    return value[:end].rstrip() + "…"


@dataclass(frozen=True)
class Layout:
    """Which columns a table shows, and how wide each is."""

    widths: dict[int, int]  # column index -> cells, for the columns shown
    left_out: tuple[Column, ...]

    def width(self) -> int:
        return sum(self.widths.values()) + GAP * (len(self.widths) - 1)


def _printable_ascii(cells: list[str]) -> bool:
    """Whether every cell is printable ASCII, asked of them all at once (in
    C): then each character takes one cell and `len` is `cell_len`."""
    joined = "".join(cells)
    return joined.isascii() and joined.isprintable()


def _widest(cells: list[str]) -> int:
    """The width of the widest cell, in terminal cells."""
    return max(map(len if _printable_ascii(cells) else cell_len, cells))


def layout(
    columns: tuple[Column, ...], lines: list[list[str]], width: int | None
) -> Layout:
    """Fit columns into `width` cells (None: no limit), GAP cells between two.

    `lines` are the header and every row as text. Names are shortened first, to
    SHORTEST cells (or their header) at the least; if the table still does not
    fit, columns are left out one at a time, the lowest rank first, until it
    does; the room that is left goes back to the shortened columns, the
    narrowest first.
    """
    count = len(columns)
    natural = [_widest([line[i] for line in lines]) for i in range(count)]
    least = [
        min(natural[i], max(SHORTEST, cell_len(columns[i].label)))
        if shortenable(columns[i], i)
        else natural[i]
        for i in range(count)
    ]

    def total(shown: list[int], widths: list[int]) -> int:
        return sum(widths[i] for i in shown) + GAP * (len(shown) - 1)

    everything = list(range(count))
    if width is None or total(everything, natural) <= width:
        return Layout(dict(zip(everything, natural, strict=True)), ())
    shown = everything
    if total(everything, least) > width:
        ranks = [rank(column, i) for i, column in enumerate(columns)]
        # A column with nothing in it (blanks, zeros, dashes) goes first: leaving
        # it out hides nothing.
        blank = [all(_says_nothing(line[i]) for line in lines[1:]) for i in everything]
        # Among figures of one rank, the smallest total goes first: what is
        # left out holds the least money.
        size = [_magnitude(lines[-1][i]) for i in everything]
        going = sorted(
            (i for i in everything if ranks[i] != KEEP),
            key=lambda i: (not blank[i], ranks[i], size[i], -i),
        )
        for i in going:
            if total(shown, least) <= width:
                break
            shown = [j for j in shown if j != i]
    widths = {i: least[i] for i in shown}
    room = width - total(shown, least)
    growing = [i for i in shown if widths[i] < natural[i]]
    while room > 0 and growing:
        i = min(growing, key=lambda i: widths[i])
        widths[i] += 1
        room -= 1
        if widths[i] == natural[i]:
            growing.remove(i)
    left_out = tuple(c for i, c in enumerate(columns) if i not in widths)
    return Layout(widths, left_out)


_SAYS_SOMETHING = re.compile(r"[1-9]|[^\W\d_]")


def _says_nothing(cell: str) -> bool:
    """A blank cell, a zero (`0.00`, `0.0%`) or a dash: no figure, no word."""
    return _SAYS_SOMETHING.search(cell) is None


def _magnitude(cell: str) -> float:
    """The size of a figure as shown (`-2,574.00` → 2574.0), for ordering only;
    0 for what is not a figure."""
    try:
        return abs(float(cell.replace(",", "").rstrip("%")))
    except ValueError:
        return 0.0


def left_out_line(layout: Layout, width: int) -> str:
    names = ", ".join(column.label for column in layout.left_out)
    return (
        f"Left out at {width} columns: {names}; "
        "see them with --format csv or in a wider window."
    )


# ---------------------------------------------------------------- drawing


def _style(column: Column, value: object) -> str:
    if column.tone is None or not value:
        return ""
    return TONE_STYLES.get(column.tone, "")


def _lines(
    section: Section, *, styled: bool = True
) -> tuple[list[list[str]], list[list[str]]]:
    """The section's header, rows and totals row as text, a column at a time;
    the styles of the rows (none when not `styled`)."""
    cur = section.currency
    columns, rows = section.columns, section.rows
    cells = [
        texts(column_of(rows, column.key), column, cur, human=True)
        for column in columns
    ]
    # A row a line (zip of no columns: no lines).
    lines = [[column.label for column in columns], *map(list, zip(*cells, strict=True))]
    styles = []
    if styled:
        styles = [
            [_style(column, row.get(column.key)) for column in columns] for row in rows
        ]
    if section.totals is not None:
        lines.append(
            [
                text(section.totals[column.key], column, cur, human=True)
                if column.key in section.totals
                else ("Total" if i == 0 else "")
                for i, column in enumerate(section.columns)
            ]
        )
    return lines, styles


def _table(
    section: Section,
    lines: list[list[str]],
    styles: list[list[str]],
    fit: Layout,
    fancy: bool,
) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(
        box=box.SIMPLE_HEAD if fancy else None,
        # GAP cells between two columns: with a box, its rule and a space
        padding=(0, 1, 0, 0) if fancy else (0, 1),
        show_edge=False,
        header_style="bold" if fancy else "",
        pad_edge=False,
    )
    shown = sorted(fit.widths)
    for i in shown:
        column = section.columns[i]
        table.add_column(
            column.label,
            justify="right" if column.kind in RIGHT else "left",
            width=fit.widths[i],
            no_wrap=True,  # the width is measured: nothing wraps or is cut
        )
    body = lines[1 : 1 + len(section.rows)]
    last = len(body) - 1
    for n, (cells, row_styles) in enumerate(zip(body, styles, strict=True)):
        table.add_row(
            *(
                Text(
                    shorten(cells[i], fit.widths[i]),
                    style=row_styles[i] if fancy else "",
                )
                for i in shown
            ),
            end_section=(n == last and section.totals is not None),
        )
    if section.totals is not None:
        cells = lines[-1]
        table.add_row(
            *(Text(shorten(cells[i], fit.widths[i])) for i in shown),
            style="bold" if fancy else "",
        )
    return table


def _plain(section: Section, lines: list[list[str]], fit: Layout) -> str:
    """The table as plain lines, as Rich draws it without a box (columns apart
    by two spaces, trailing spaces dropped), written directly: a 100k-row
    `--detail` into a file costs a fraction of Rich's per-cell work."""
    padded = []
    for i in sorted(fit.widths):
        is_right, width = section.columns[i].kind in RIGHT, fit.widths[i]
        cells = [line[i] for line in lines]
        if _printable_ascii(cells) and max(map(len, cells)) <= width:
            # The common column, padded a column at a time in C.
            justify = str.rjust if is_right else str.ljust
            padded.append(list(map(justify, cells, repeat(width))))
            continue
        column = []
        for cell in cells:
            size = cell_len(cell) if not cell.isascii() else len(cell)
            if size > width:
                cell = shorten(cell, width)
                size = cell_len(cell)
            pad = " " * (width - size)
            column.append(pad + cell if is_right else cell + pad)
        padded.append(column)
    if not padded:  # no column shown: an empty line a row, as before
        return "\n" * len(lines)
    out = map(str.rstrip, map("  ".join, zip(*padded, strict=True)))
    return "\n".join(out) + "\n"


def _plain_report(report: Report, env: Env) -> str | None:
    """The report off a terminal, as Rich prints it there (nothing shortened
    or left out, no style), without importing Rich; None when a line is one
    Rich would change (wider than the page, a tab or a control character)."""
    width = env.width or PLAIN_WIDTH
    out: list[str] = []

    def line(value: str) -> bool:
        out.append(value)
        return value.isprintable() and cell_len(value) <= width

    fine = True
    if not report.sections:
        fine = line(f"{report.title}: nothing to report.")
    for n, section in enumerate(report.sections):
        if n:
            out.append("")
        if section.title is not None:
            fine &= line(section.title)
        if not section.rows:
            out.append("(none)")
        else:
            lines, _styles = _lines(section, styled=False)
            fit = layout(section.columns, lines, None)
            out.append(_plain(section, lines, fit).removesuffix("\n"))
        for column, figure in section.summary:
            value = text(figure, column, section.currency, human=True)
            fine &= line(f"{column.label}: {value}")
    if not fine:
        return None
    printed = "\n".join(out).splitlines()  # as render() ends, below
    return "\n".join(map(_trimmed, printed)) + "\n"


def render(report: Report, env: Env) -> str:
    if not env.tty:
        plain = _plain_report(report, env)
        if plain is not None:
            return plain
    from rich.console import Console
    from rich.text import Text

    out = io.StringIO()
    console = Console(
        file=out,
        force_terminal=env.tty,
        no_color=not env.color,
        color_system="auto" if env.color else None,
        width=env.width or (None if env.tty else PLAIN_WIDTH),
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )
    # On a terminal, fit its width; off one, never shorten or leave out.
    screen = console.width
    room = screen if env.tty else None
    if not report.sections:
        console.print(f"{report.title}: nothing to report.")
    for n, section in enumerate(report.sections):
        if n:
            console.print()
        if section.title is not None:
            console.print(Text(section.title, style="bold" if env.tty else ""))
        if not section.rows:
            # A currency with records but nothing to list (SPEC §3 keeps its
            # section): one line, not an empty table with its headings.
            console.print("(none)")
            for column, figure in section.summary:
                console.print(
                    f"{column.label}: "
                    f"{text(figure, column, section.currency, human=True)}"
                )
            continue
        lines, styles = _lines(section)
        fit = layout(section.columns, lines, room)
        # When even the columns that always stay are too wide, the lines run
        # past the window rather than cut a figure.
        if env.tty:
            console.width = max(screen, fit.width())
            console.print(_table(section, lines, styles, fit, env.tty))
            console.width = screen
        else:  # plain text: the same layout, without Rich's cost per cell
            out.write(_plain(section, lines, fit))
        if fit.left_out:
            note = left_out_line(fit, screen)
            console.print(Text(note, style="dim" if env.color else ""))
        for column, figure in section.summary:
            console.print(
                f"{column.label}: {text(figure, column, section.currency, human=True)}"
            )
    return "\n".join(map(_trimmed, out.getvalue().splitlines())) + "\n"
