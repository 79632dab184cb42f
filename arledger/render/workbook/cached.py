"""Formulas' cached values, stored in the saved workbook.

openpyxl writes a formula with an empty value; the workbook stores what each
formula computes (the report's own figure), so a reader that does not
recalculate (a previewer, pandas, openpyxl with `data_only=True`) still sees
the right totals.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

_EMPTY_VALUE = re.compile(rb"<v\s*/>|<v></v>")


def _cached_text(value: Decimal | int | float) -> bytes:
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -6:
            return format(value, "f").encode()
        return repr(float(value)).encode()
    return str(value).encode()


def _fill_values(xml: bytes, values: dict[str, Decimal | int]) -> bytes:
    """Put each formula cell's cached value into its empty `<v/>`."""
    pieces = []
    position = 0
    while True:
        start = xml.find(b"<f>", position)
        if start < 0:
            break
        cell = xml.rfind(b'<c r="', 0, start)
        ref = xml[cell + 6 : xml.find(b'"', cell + 6)].decode("ascii")
        end = xml.find(b"</f>", start) + len(b"</f>")
        pieces.append(xml[position:end])
        position = end
        empty = _EMPTY_VALUE.match(xml, end)
        value = values.get(ref)
        if empty is not None and value is not None:
            pieces.append(b"<v>" + _cached_text(value) + b"</v>")
            position = empty.end()
    pieces.append(xml[position:])
    return b"".join(pieces)


def store_cached_values(
    data: bytes, cached: dict[str, dict[str, Decimal | int]]
) -> bytes:
    """The saved workbook with its formulas' cached values filled in.

    openpyxl writes a formula with an empty value (`<f>SUM(..)</f><v/>`); Excel
    recalculates on load, but a previewer or a script reading the file would see
    nothing. We know each value (it is what the report computed), so we store it.

    Args:
        data: the xlsx file as openpyxl saved it.
        cached: per sheet title, per cell reference ("C12"), the value.
    """
    import posixpath
    import zipfile
    from xml.etree import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    pkg = "{http://schemas.openxmlformats.org/package/2006/relationships}"
    source = zipfile.ZipFile(io.BytesIO(data))
    book = ElementTree.fromstring(source.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(source.read("xl/_rels/workbook.xml.rels"))
    targets = {
        r.get("Id"): r.get("Target", "") for r in rels.iter(f"{pkg}Relationship")
    }
    parts: dict[str, dict[str, Decimal | int]] = {}
    for sheet in book.iter(f"{main}sheet"):
        values = cached.get(sheet.get("name", ""))
        if not values:
            continue
        target = targets[sheet.get(f"{rel_ns}id")]
        path = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join("xl", target))
        )
        parts[path] = values
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target_zip:
        for info in source.infolist():
            payload = source.read(info.filename)
            if info.filename in parts:
                payload = _fill_values(payload, parts[info.filename])
            target_zip.writestr(info, payload, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
