"""JSON: one object with `report`, `as_of` and a section per currency (SPEC §3).

Amounts are strings holding the exact decimal; ratios are 4-place decimal strings;
days are numbers rounded to 1 place; a missing value is null.
"""

from __future__ import annotations

import functools
import json
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any

from arledger.money import plain
from arledger.render import Env
from arledger.render.values import days_value, ratio_text, texts
from arledger.report import Column, Report, Row


def value(value: Any, column: Column, currency: str | None) -> Any:
    if value is None:
        return None
    kind = column.kind
    if kind == "money":
        return plain(value, currency or "")
    if kind == "ratio":
        return ratio_text(value)
    if kind == "days":
        days = days_value(value)
        return days if isinstance(days, int) else float(days)
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _rows(
    rows: tuple[Row, ...], columns: dict[str, Column], currency: str | None
) -> list[dict[str, Any]]:
    """The rows as JSON data; when every row has the same keys in the same
    order (a report's rows do), a column at a time (values.texts for money)."""
    keys = tuple(rows[0]) if rows else ()
    if not all(tuple(row) == keys for row in rows):
        return [
            {
                k: value(v, columns[k], currency) if k in columns else _plain(v)
                for k, v in row.items()
            }
            for row in rows
        ]
    data: list[list[Any]] = []
    for key in keys:
        cells = list(map(itemgetter(key), rows))
        column = columns.get(key)
        if column is None:
            data.append(list(map(_plain, cells)))
        elif column.kind == "money":
            written: list[Any] = texts(cells, column, currency, human=False)
            if None in cells:  # null, as `value` writes it
                pairs = zip(cells, written, strict=True)
                written = [None if v is None else w for v, w in pairs]
            data.append(written)
        else:
            data.append([value(v, column, currency) for v in cells])
    return [dict(zip(keys, row, strict=True)) for row in zip(*data, strict=True)]


def as_data(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    sections = []
    for section in report.sections:
        columns = {c.key: c for c in section.columns}
        cur = section.currency
        data: dict[str, Any] = {"currency": cur}
        data["rows"] = _rows(section.rows, columns, cur)
        if section.totals is not None:
            data["totals"] = {
                k: value(v, columns.get(k, Column(k, k, "money")), cur)
                for k, v in section.totals.items()
            }
        for column, figure in section.summary:
            data[column.key] = value(figure, column, cur)
        sections.append(data)
    return {
        "report": report.name,
        "as_of": report.as_of.isoformat(),
        **{k: _plain(v) for k, v in report.meta.items()},
        "sections": sections,
    }


def render(report: Report, env: Env) -> str:
    return _dumps(as_data(report), 0) + "\n"


INDENT = "  "
_FLAT = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _flat_encoder(level: int) -> json.JSONEncoder:
    """An encoder that writes a container of scalars as `json.dumps(...,
    indent=2)` does at `level`, but in C: with an indent json falls back to
    its Python encoder (2 us a value), without one it writes the separators
    it is given, and the line break and indent are the separator."""
    return json.JSONEncoder(
        ensure_ascii=False, separators=("," + "\n" + INDENT * (level + 1), ": ")
    )


def _dumps(data: Any, level: int) -> str:
    """`json.dumps(data, ensure_ascii=False, indent=2)` nested `level` deep:
    the same text, each row of a report (a dict of scalars) written in C."""
    if isinstance(data, dict | list) and data:
        inner = "\n" + INDENT * (level + 1)
        values = data.values() if isinstance(data, dict) else data
        if all(type(v) in _FLAT for v in values):
            flat = _flat_encoder(level).encode(data)
            return flat[0] + inner + flat[1:-1] + "\n" + INDENT * level + flat[-1]
        if isinstance(data, list):
            parts = [_dumps(v, level + 1) for v in data]
            return "[" + inner + ("," + inner).join(parts) + "\n" + INDENT * level + "]"
        if all(type(k) is str for k in data):
            parts = [
                _flat_encoder(0).encode(k) + ": " + _dumps(v, level + 1)
                for k, v in data.items()
            ]
            return "{" + inner + ("," + inner).join(parts) + "\n" + INDENT * level + "}"
    # Anything else (a scalar, an empty container, keys json converts): as
    # json writes it, its lines indented to `level`.
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return text.replace("\n", "\n" + INDENT * level) if level else text
