"""Readers: record files as text values, before any rule is applied.

A reader turns a file into records whose values are all text (or lists and
mappings of text); it never decides whether a value is right. Every rule lives
in the pydantic models (model.py) and the loader's cross-checks, and every
record goes through them whatever read it.

`read_yaml_columns` reads the plainest shape of record file (the one arledger
writes: see arledger/_plainyaml.c) straight into columns, in C; it returns None
for anything else. `read_yaml_fast` parses YAML with rapidyaml (C++) instead of
PyYAML. It handles the plain shape of ledger files (a top-level list of
mappings, no anchors, tags or nulls spelled `~`) and returns None for anything
else, so the loader reads that file with PyYAML, which also knows the line of
every key.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate, repeat
from typing import Any, NamedTuple


class _Odd(Exception):
    """The fast reader would read this file differently from PyYAML."""


# ---------------------------------------------------------------- YAML


# What the fast reader leaves to PyYAML: anchors, aliases, tags, merge keys,
# several documents, and scalars whose text rapidyaml would not keep exactly.
_UNSUPPORTED_YAML = re.compile(
    r"(^|[\s\[{,:-])[&*!][^\s]"  # anchor, alias or tag
    r"|<<\s*:|^\.\.\.|\n---"  # merge key, several documents
    r"|^-[ \t\r]*(?:#.*)?$"  # a record whose `-` stands alone on its line
    # plain scalars rapidyaml's JSON would spell differently: the nulls `~`,
    # `Null`, `NULL`, and numbers like `.5`, `5.`, `.nan`
    r"|(?<![^\s\[{,:])(?:~|Null|NULL|[-+]?(?:\.\d+|\d+\.|\.[nNiI][aAnN][nNfF]))"
    r"(?=[ \t\r]*(?:[,}\]#]|$))",  # (\r: CRLF files)
    re.MULTILINE,
)
# Necessary conditions for _UNSUPPORTED_YAML, each found by a fast scan (a
# literal first); the full pattern, whose lookbehinds make it try every
# position (0.25 s for 8 MB), runs only when one of them holds.
_MAYBE_UNSUPPORTED = (
    re.compile(r"[&*!]\S"),  # an anchor, alias or tag
    re.compile(r"\.(?:(?<=[\s\[{,:+-]\.)[\dnNiI]|(?<=\d\.)[ \t\r]*(?:[,}\]#\n]|\Z))"),
    re.compile(r"\n-[ \t\r]*(?:#[^\n]*)?(?:\n|\Z)"),  # a `-` alone on its line
)  # one pattern each: a single scan for a literal beats trying three at each place
# A character each pattern needs, looked for first: one character is found at
# memory speed, where a character class is tried at every place (15 ms/8 MB).
_MAYBE_FIRST = ("&*!", ".", "\n")
_MAYBE_LITERALS = ("<<", "...", "\n---", "~", "Null", "NULL")


def _unsupported_yaml(text: str) -> bool:
    if (
        not any(
            pattern.search(text)
            for pattern, first in zip(_MAYBE_UNSUPPORTED, _MAYBE_FIRST, strict=True)
            if any(char in text for char in first)
        )
        and not any(
            literal[0] in text and literal in text for literal in _MAYBE_LITERALS
        )
        and not re.match(r"[-+]?\.|-[ \t\r]*(?:#[^\n]*)?(?:\n|\Z)", text)
    ):
        return False
    return _UNSUPPORTED_YAML.search(text) is not None


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 (C++ code writes there, not to sys.stderr)."""
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no stderr at all
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _as_written(value: Any) -> tuple[Any, int]:
    """JSON's `true`/`false` back to the text the YAML file holds (a reader
    keeps text, and only the models decide what a flag or a number is), at
    every depth; and how many keys its mappings have, all told."""
    if value is True:
        return "true", 0
    if value is False:
        return "false", 0
    kind = type(value)
    if kind is list:
        keys, found = 0, []
        for item in value:
            written, inner = _as_written(item)
            found.append(written)
            keys += inner
        return found, keys
    if kind is dict:
        keys, mapping = len(value), {}
        for key, item in value.items():
            mapping[key], inner = _as_written(item)
            keys += inner
        return mapping, keys
    return value, 0


_TEXT = frozenset({str, type(None)})


def _written(data: Any) -> Any:
    """A document as JSON read it, with its flags as text (`_as_written`);
    raises _Odd if a mapping gives a key twice.

    JSON keeps the last of two equal keys without a word, where YAML refuses
    them. So the keys are counted: in the text rapidyaml wrote, every key is a
    quoted string followed by `:` (it quotes them all, `1` and the empty key
    too), and a `":` is nothing else while no string holds an escaped quote;
    if the mappings read hold fewer keys than that, one was given twice."""
    keys = 0
    if type(data) is list:
        for i, item in enumerate(data):
            if type(item) is dict and set(map(type, item.values())) <= _TEXT:
                keys += len(item)  # a plain record: nothing to convert
            else:
                data[i], inner = _as_written(item)
                keys += inner
    else:
        data, keys = _as_written(data)
    return data, keys


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Odd  # PyYAML's path reports duplicate keys with their lines
    return result


def _read_json(text: str, **options: Any) -> Any:
    """JSON with its numbers kept as the text written."""
    return json.loads(
        text, parse_float=str, parse_int=str, parse_constant=str, **options
    )


def _fast_json(text: str, mapping: bool) -> Any:
    """The document of a plain YAML file as rapidyaml reads it, scalars kept
    as text; None when its top is not a list (a mapping if `mapping`) or
    anything is odd, so that PyYAML reads it."""
    try:
        import ryml
    except ImportError:  # pragma: no cover - rapidyaml is a dependency
        return None
    if _unsupported_yaml(text):
        return None
    buffer = text.encode("utf-8")
    try:
        # A node per key and value and one per record, about: room for them
        # at once, where a tree left to grow copies itself over and over (a
        # third of the parse).
        tree = ryml.Tree()
        tree.reserve(buffer.count(b":") + buffer.count(b"\n-") + 16)
        # rapidyaml prints its errors from C++ (a parse error; "max depth
        # exceeded" when emitting deep nesting), to file descriptor 2.
        with _quiet_stderr():
            ryml.parse_in_arena(buffer, tree=tree)
            root = tree.root_id()
            if not (tree.is_map(root) if mapping else tree.is_seq(root)):
                return None
            emitted = ryml.emit_json_malloc(tree, root)
        if '\\"' in emitted:  # keys cannot be counted in the text: one by one
            data, _ = _written(_read_json(emitted, object_pairs_hook=_no_duplicates))
            return data
        data, keys = _written(_read_json(emitted))
        if keys != emitted.count('":'):
            raise _Odd  # a key given twice: PyYAML's path says where
        return data
    except Exception:  # noqa: BLE001 - anything odd: the precise path decides
        return None


class YamlColumns(NamedTuple):
    """A plain YAML record file read into columns (`read_yaml_columns`)."""

    columns: dict[str, list[Any]]  # each key's value in every record (None: not given)
    lines: list[int]  # the line of each record's `- `
    # The columns whose values given are all text with no white space around
    # it (as a plain scalar's always is): how many records do not give each.
    texts: dict[str, int]


def read_yaml_columns(text: str) -> YamlColumns | None:
    """The records of a YAML record file in the plainest shape, as columns
    (arledger/_plainyaml.c), or None to read it otherwise.

    Every value is the text written, as PyYAML's path keeps it (an empty
    value, `~` or `null` is not given, at every level)."""
    try:
        from arledger._plainyaml import columns
    except ImportError:  # pragma: no cover - built with the package (setup.py)
        return None
    found = columns(text)
    return None if found is None else YamlColumns(*found)


def read_yaml_fast(text: str) -> tuple[list[dict[str, Any]], list[int]] | None:
    """Records and their first lines from a YAML record file, or None to fall back.

    Scalars stay text (numbers are read back as the digits written, never as
    floats); an empty value is dropped (not given), as on the PyYAML path.
    """
    data = _fast_json(text, mapping=False)
    if not isinstance(data, list):
        return None
    lines = _record_lines(text)
    if len(data) != len(lines):
        return None
    records = []
    for item in data:
        if not isinstance(item, dict):
            return None
        if None in item.values():
            item = {k: v for k, v in item.items() if v is not None}
        records.append(item)
    return records, lines


def _record_lines(text: str) -> list[int]:
    """The line of each `- ` that starts a line: where each record starts."""
    ends = [match.start() for match in re.finditer("\n- ", text)]
    # newlines before each, counted between one and the next (in C)
    between = map(text.count, repeat("\n"), [0, *ends], ends)
    lines = [line + 2 for line in accumulate(between)]
    return [1, *lines] if text.startswith("- ") else lines


def read_yaml_mapping_fast(text: str) -> dict[str, Any] | None:
    """The settings of a plain `arledger.yaml` as text values, or None to
    fall back to PyYAML (which knows every key's line, for an error).

    As on the PyYAML path, an empty value is not given, at every level."""
    data = _fast_json(text, mapping=True)
    return _given(data) if isinstance(data, dict) else None


def _given(value: Any) -> Any:
    if type(value) is dict:
        return {k: _given(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [_given(v) for v in value]
    return value


# ---------------------------------------------------------------- CSV cells


def _pairs(cell: str, what: str) -> list[tuple[str, str]]:
    pairs = []
    for part in cell.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{what}: {part.strip()!r} is not written as key=value")
        pairs.append((key.strip(), value.strip()))
    return pairs


def csv_nested(name: str, cell: str) -> Any:
    """A CSV cell holding a nested field, written as `key=value` pairs joined by
    `;`: allocations `INV-1=100;INV-2=50`, a schedule or a plan's instalments
    `2026-03-01=500;...`, a discount `percent=2;days=10`; or a list of texts
    joined by `;` (aliases, a plan's invoices).

    A schedule is a list (two instalments may fall on one day, as in YAML); an
    allocation or a dunning block is a mapping, where a key given twice is an
    error, as a duplicate key is in YAML.
    """
    if name in ("schedule", "instalments"):
        return [{"due": k, "amount": v} for k, v in _pairs(cell, name)]
    if name in ("aliases", "bank_accounts", "invoices"):  # a list of texts: `A;B`
        return [part.strip() for part in cell.split(";") if part.strip()]
    if name in ("allocations", "dunning_block", "discount"):
        mapping: dict[str, str] = {}
        for key, value in _pairs(cell, name):
            if key in mapping:
                raise ValueError(f"{name}: {key!r} is given twice")
            mapping[key] = value
        return mapping
    return cell
