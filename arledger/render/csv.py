"""CSV: the rows of a report, one header line, sections one after another with a
`currency` column first (SPEC §3); with `env.bom`, a UTF-8 byte order mark first,
without which Excel reads a CSV file in the Windows code page (上海华东 garbled)."""

from __future__ import annotations

import csv
import io
from itertools import repeat

from arledger.render import Env
from arledger.render.values import texts
from arledger.report import Report, column_of


def render(report: Report, env: Env) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header_written = False
    for section in report.sections:
        if not header_written:
            writer.writerow(["currency", *(c.key for c in section.columns)])
            header_written = True
        rows = section.rows
        # A column at a time (values.texts), then every row in one call.
        cells = [
            texts(column_of(rows, c.key), c, section.currency, human=False)
            for c in section.columns
        ]
        writer.writerows(
            zip(repeat(section.currency or "", len(rows)), *cells, strict=True)
        )
    return ("\ufeff" if env.bom else "") + out.getvalue()
