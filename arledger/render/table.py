"""Terminal tables with Rich: box drawing and colour only on a terminal.

Rich honours NO_COLOR itself (colour off, bold kept); off a terminal the table is
plain text with no box characters, so it pipes and mails cleanly.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from arledger.render import Env
from arledger.render.values import text
from arledger.report import Column, Report, Section

RIGHT = frozenset({"money", "days", "int", "ratio"})
TONE_STYLES = {
    "late": "yellow",
    "later": "dark_orange",
    "latest": "bold red",
    "bad": "bold red",
    "key": "bold cyan",
}
PLAIN_WIDTH = 400  # off a terminal: wide enough that no table wraps


def _style(column: Column, value: object) -> str:
    if column.tone is None or not value:
        return ""
    return TONE_STYLES.get(column.tone, "")


def _table(section: Section, fancy: bool) -> Table:
    cur = section.currency
    table = Table(
        title=section.title,
        title_justify="left",
        box=box.SIMPLE_HEAD if fancy else box.ASCII2,
        show_edge=False,
        header_style="bold" if fancy else "",
        title_style="bold" if fancy else "",
        pad_edge=False,
    )
    if not fancy:
        table.box = None
    for column in section.columns:
        table.add_column(
            column.label,
            justify="right" if column.kind in RIGHT else "left",
            no_wrap=column.kind != "text",
            overflow="fold",
        )
    last = len(section.rows) - 1
    for n, row in enumerate(section.rows):
        cells = []
        for column in section.columns:
            value = row.get(column.key)
            cell = text(value, column, cur, human=True)
            cells.append(Text(cell, style=_style(column, value)) if fancy else cell)
        table.add_row(*cells, end_section=(n == last and section.totals is not None))
    if section.totals is not None:
        cells = []
        for i, column in enumerate(section.columns):
            if column.key in section.totals:
                cells.append(text(section.totals[column.key], column, cur, human=True))
            else:
                cells.append("Total" if i == 0 else "")
        table.add_row(*cells, style="bold" if fancy else "")
    return table


def render(report: Report, env: Env) -> str:
    out = io.StringIO()
    console = Console(
        file=out,
        force_terminal=env.tty,
        no_color=not env.color,
        color_system="auto" if env.color else None,
        width=env.width or (None if env.tty else PLAIN_WIDTH),
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )
    if not report.sections:
        console.print(f"{report.title}: nothing to report.")
    for n, section in enumerate(report.sections):
        if n:
            console.print()
        console.print(_table(section, env.tty))
        for column, figure in section.summary:
            console.print(
                f"{column.label}: {text(figure, column, section.currency, human=True)}"
            )
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()) + "\n"
