"""JSON: one object with `report`, `as_of` and a section per currency (SPEC §3).

Amounts are strings holding the exact decimal; ratios are 4-place decimal strings;
days are numbers rounded to 1 place; a missing value is null.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from arledger.money import plain
from arledger.render import Env
from arledger.render.values import days_value, ratio_text
from arledger.report import Column, Report


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


def as_data(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    sections = []
    for section in report.sections:
        columns = {c.key: c for c in section.columns}
        cur = section.currency
        data: dict[str, Any] = {"currency": cur}
        data["rows"] = [
            {
                k: value(v, columns[k], cur) if k in columns else _plain(v)
                for k, v in row.items()
            }
            for row in section.rows
        ]
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
    return json.dumps(as_data(report), ensure_ascii=False, indent=2) + "\n"
