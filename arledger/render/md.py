"""Markdown: a heading and a pipe table per section, totals in bold."""

from __future__ import annotations

from arledger.render import Env
from arledger.render.values import text, texts
from arledger.report import Report, column_of

RIGHT = frozenset({"money", "days", "int", "ratio"})


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _cells(values: list[str]) -> list[str]:
    """`_cell` of each value, when one of them needs it."""
    joined = "".join(values)
    return list(map(_cell, values)) if "|" in joined or "\n" in joined else values


def render(report: Report, env: Env) -> str:
    lines = [f"# {report.title}", ""]
    if not report.sections:
        lines += ["Nothing to report.", ""]
    for section in report.sections:
        columns = section.columns
        cur = section.currency
        lines.append(f"## {section.title or cur or report.title}")
        lines.append("")
        lines.append("| " + " | ".join(_cell(c.label) for c in columns) + " |")
        lines.append(
            "|" + "|".join("---:" if c.kind in RIGHT else "---" for c in columns) + "|"
        )
        rows = section.rows
        # A column at a time (values.texts), escaped only where it must be.
        written = [
            _cells(texts(column_of(rows, c.key), c, cur, human=True)) for c in columns
        ]
        lines += ["| " + " | ".join(row) + " |" for row in zip(*written, strict=True)]
        if not columns:
            lines += ["|  |"] * len(rows)
        if section.totals is not None:
            cells = []
            for i, c in enumerate(columns):
                if c.key in section.totals:
                    cells.append(
                        f"**{text(section.totals[c.key], c, cur, human=True)}**"
                    )
                else:
                    cells.append("**Total**" if i == 0 else "")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        for column, figure in section.summary:
            lines.append(f"- {column.label}: {text(figure, column, cur, human=True)}")
        if section.summary:
            lines.append("")
    return "\n".join(lines)
