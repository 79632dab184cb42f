"""Renderers: a `Report` -> str or bytes in one format, looked up by name.

The registry holds dotted paths and imports a renderer on first use, so a command
pays only for the format it writes (XlsxWriter is imported only for xlsx).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from arledger.errors import UsageError
from arledger.report import Report

FORMATS: dict[str, str] = {
    "table": "arledger.render.table",
    "csv": "arledger.render.csv",
    "json": "arledger.render.json",
    "md": "arledger.render.md",
    "xlsx": "arledger.render.xlsx",
}
BINARY_FORMATS = frozenset({"xlsx"})
SUFFIXES = {
    ".csv": "csv",
    ".json": "json",
    ".md": "md",
    ".xlsx": "xlsx",
    ".txt": "table",
}


@dataclass(frozen=True)
class Env:
    """Where output goes: a terminal (colour, box drawing) or not, and how wide."""

    tty: bool = False
    width: int | None = None
    color: bool = False
    bom: bool = False  # CSV: a UTF-8 byte order mark first, for Excel


def check_format(name: str) -> str:
    if name not in FORMATS:
        raise UsageError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    return name


def render(report: Report, fmt: str, env: Env | None = None) -> str | bytes:
    """Render a report in format `fmt` ("table", "csv", "json", "md", "xlsx")."""
    module = importlib.import_module(FORMATS[check_format(fmt)])
    return module.render(report, env or Env())
