"""Ledger directory -> (Ledger, errors): find, read, validate and cross-check files.

Never prints, exits or writes. Phases as in beancount's loader: find files -> parse
-> validate -> cross-check, all appending to one error list; a record that fails is
dropped and loading goes on, and cross-checks skip ids whose own record failed, so
one typo gives one message.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import errno
import functools
import io
import os
import re
import stat
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import MAX_PREC, Decimal, localcontext
from functools import partial
from itertools import chain, compress, islice, repeat
from operator import add, attrgetter, is_not
from pathlib import Path
from typing import TYPE_CHECKING, Any, AnyStr, NamedTuple

from arledger import _shapes, rows, rules
from arledger._csvbytes import survey, untrimmed
from arledger.errors import LedgerError, LedgerNotFound, Source
from arledger.ledger import Ledger
from arledger.money import has_excess_places, minor_units
from arledger.readers import (
    YamlColumns,
    csv_nested,
    read_yaml_columns,
    read_yaml_fast,
    read_yaml_mapping_fast,
)

if TYPE_CHECKING:
    from concurrent.futures import Future

    import yaml
    from pydantic import BaseModel

    from arledger.model import Record, Settings
    from arledger.settle import Ahead
else:

    class _PyYAML:
        """PyYAML, imported when first used: plain record files and settings
        are read by rapidyaml (readers.py); PyYAML reads the rest, and knows
        the line of every key when a record is wrong."""

        def __getattr__(self, name: str) -> Any:
            import yaml as module

            globals()["yaml"] = module
            return getattr(module, name)

    yaml = _PyYAML()


def _yaml_loader() -> type:
    try:  # SPEC: use PyYAML's C loader when present
        from yaml import CBaseLoader
    except ImportError:  # pragma: no cover - depends on how PyYAML was built
        from yaml import BaseLoader

        return BaseLoader
    return CBaseLoader


KINDS = (
    "customers",
    "invoices",
    "payments",
    "adjustments",
    "contacts",
    "plans",
    "confirmations",
)
SETTINGS_FILE = "arledger.yaml"
RECORD_SUFFIXES = (".yaml", ".yml", ".csv")
YAML_NULLS = frozenset({"", "~", "null", "Null", "NULL"})

Locator = Callable[[tuple[Any, ...]], int]


@dataclass
class _Batch:
    """The records of one file as read: text values, first lines, a key locator.

    `locate(i, loc)` gives the line of field `loc` of record `i`. A batch from the
    fast YAML reader is not `exact`: it knows only each record's first line, so a
    file with any error is read again through PyYAML to point at the key.
    """

    rel: str
    rows: Iterable[dict[str, Any]]  # CSV rows stream: a big file is never all in memory
    lines: list[int]  # filled as rows are read
    locate: Callable[[int, tuple[Any, ...]], int]
    exact: bool = True
    # Set by the reader (once the rows are read, for a CSV stream): the file was
    # not read to its end, and the ids of rows it refused before validation.
    broken: bool = False
    refused_ids: list[str] = field(default_factory=list)
    # A CSV file: its known columns as (index, name, nested); read into
    # columns (the bulk kinds), each field's values.
    names: list[tuple[int, str, bool]] = field(default_factory=list)
    columns: dict[str, list[Any]] | None = None
    # A CSV file read and handed on a chunk of rows at a time (`on_chunk` of
    # `_read_csv_records`): its rows are not in the batch.
    chunked: bool = False
    # A big CSV file: its cells, being cut by pyarrow already (`_read_ahead`).
    ahead: Future[_Cells] | None = None


@dataclass
class _Collected:
    """What the validate phase produced, before cross-checks.

    Ids are checked for duplicates as records are read, valid or not, so that a
    broken record still takes part in the checks that do not need its values;
    `failed_ids` and `failed_refs` keep what is known of the records that failed.
    """

    records: dict[str, list[Any]] = field(
        default_factory=lambda: {k: [] for k in KINDS}
    )
    failed_ids: dict[str, set[str]] = field(
        default_factory=lambda: {k: set() for k in KINDS}
    )
    # (customer id as written, where) of records that failed validation
    failed_refs: list[tuple[str, Source]] = field(default_factory=list)
    # Kinds with a file that could not be read to its end (not UTF-8, a YAML
    # syntax error, a CSV header without a required column...): which ids exist
    # is not known, so a reference to an unknown one is not reported (the file's
    # own problem is, once).
    unread: set[str] = field(default_factory=set)
    # The first record with each id (or, for one that failed, where it was):
    # a reference, not a Source, so a million ids cost no million objects.
    first_seen: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {k: {} for k in KINDS}
    )

    def is_duplicate(
        self, kind: str, record_id: Any, source: Source, errors: list[LedgerError]
    ) -> bool:
        if not isinstance(record_id, str):
            return False
        seen = self.first_seen[kind]
        first = seen.get(record_id)
        if first is None:
            seen[record_id] = source
            return False
        if not isinstance(first, Source):
            first = first.source
        what = kind.removesuffix("s")
        message = f"duplicate {what} id {record_id!r} (first at {first})"
        # said at the record's first line, then at its id's (`_point_at_fields`)
        errors.append(LedgerError(source, message, field=("id",)))
        return True


# ---------------------------------------------------------------- finding files

# Files arledger itself keeps in a ledger directory, which are not records.
OWN_FILES = frozenset({SETTINGS_FILE, "dunning-log.csv", "statement-log.csv"})
# Spreadsheets and data files: where records belong they are an error, never a
# silent skip (SPEC §4); elsewhere (a management workbook at the top) ignored.
DATA_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".numbers",
                           ".json", ".jsonl", ".tsv", ".xml", ".parquet"})  # fmt: skip
DATA_HINT = (
    "arledger reads records from .yaml, .yml and .csv files only: save it as CSV "
    "(UTF-8, comma-separated) or move it out of the ledger"
)


@dataclass
class _Found:
    """What the find phase saw: each kind's record files in reading order, the
    problems of the places where records belong, and the kinds with a place that
    cannot be read (their ids are unknown: see `_Collected.unread`)."""

    files: dict[str, list[Path]] = field(default_factory=lambda: {k: [] for k in KINDS})
    problems: list[LedgerError] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)

    def problem(self, kind: str, rel: str, message: str) -> None:
        self.problems.append(LedgerError(Source(rel, 1), message))
        self.unread.add(kind)

    def warn(self, rel: str, message: str) -> None:
        self.problems.append(LedgerError(Source(rel, 1), message, warning=True))


def _not_read(name: str) -> bool:
    """Hidden files, editors' backups and office lock files (`.DS_Store`,
    `x.yaml~`, `.~lock.x.csv#`, `~$x.xlsx`): never records, never a problem."""
    return name.startswith((".", "~$")) or name.endswith(("~", "#"))


def _unreadable(path: Path, folder: bool) -> str | None:
    """Why `path`, where a record file (`folder`: a kind folder) belongs, cannot
    be read as one; None when it can. SPEC §4: a problem of the whole file."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop: it leads back to itself and cannot be read"
        if path.is_symlink():
            return f"a symlink to {os.readlink(path)!r}, which does not exist"
        return f"cannot be read: {exc.strerror}"
    if folder and not stat.S_ISDIR(mode):
        return (
            f"a file without a suffix where records belong: name it "
            f"{path.name}.csv or {path.name}.yaml, or make it a folder of record files"
        )
    if not folder and stat.S_ISDIR(mode):
        return "a folder named like a record file: a record file must be a file"
    if not folder and not stat.S_ISREG(mode):
        return "not a regular file (a pipe or a device): cannot be read as records"
    return None


def _scan(root: Path, kinds: tuple[str, ...] = KINDS) -> _Found:
    """The find phase: the record files of `kinds`, and what is wrong where
    records belong (SPEC §1, §4).

    A kind is `KIND.yaml|yml|csv` and the record files directly in `KIND/`; a
    folder inside `KIND/` is not followed (a warning), a spreadsheet or data file
    is an error, other files are ignored. A folder of a kind holding no record
    file at all is an error. At the top, only `KIND.xlsx` and the like are
    errors; record-like files arledger does not read are warned about.
    """
    found = _Found()
    for kind in kinds:
        for suffix in RECORD_SUFFIXES:
            _add_file(found, kind, root / f"{kind}{suffix}", f"{kind}{suffix}")
        folder = root / kind
        if not os.path.lexists(folder):
            continue
        why = _unreadable(folder, folder=True)
        try:
            entries = sorted(folder.iterdir()) if why is None else []
        except OSError as exc:
            why = f"cannot be read: {exc.strerror}"
        if why is not None:
            found.problem(kind, kind, why)
            continue
        records_here = False  # a record file, or a file that should be one
        for path in entries:
            rel = f"{kind}/{path.name}"
            suffix = path.suffix.lower()
            if _not_read(path.name):
                continue
            if suffix in RECORD_SUFFIXES:
                _add_file(found, kind, path, rel)
                records_here = True
            elif path.is_dir():
                found.warn(
                    rel,
                    f"a folder inside {kind}/ is not read (kind folders are flat): "
                    f"move its files into {kind}/",
                )
            elif suffix in DATA_SUFFIXES:
                found.problem(kind, rel, f"not a record file: {DATA_HINT}")
                records_here = True
        if not records_here:
            found.problem(
                kind,
                kind,
                f"a folder of {kind} without a record file (.yaml, .yml, .csv) in "
                "it: add one, or remove the folder",
            )
    if kinds == KINDS:
        _top_level(root, found)
    return found


def _add_file(found: _Found, kind: str, path: Path, rel: str) -> None:
    if not os.path.lexists(path):
        return
    why = _unreadable(path, folder=False)
    if why is None:
        found.files[kind].append(path)
    else:
        found.problem(kind, rel, why)


def _top_level(root: Path, found: _Found) -> None:
    """Spreadsheets named like a kind (`invoices.xlsx`): errors; data files
    arledger does not read (`invoice.yaml`): warnings."""
    known = {f"{kind}{suffix}" for kind in KINDS for suffix in RECORD_SUFFIXES}
    try:
        entries = sorted(root.iterdir())
    except OSError:  # not listable: its record files, if any, were read or said why
        return
    for path in entries:
        name = path.name
        suffix = path.suffix.lower()
        if _not_read(name):
            continue
        if path.stem.lower() in KINDS and suffix in DATA_SUFFIXES:
            found.problem(path.stem.lower(), name, f"not a record file: {DATA_HINT}")
        elif (
            suffix in RECORD_SUFFIXES
            and name not in known
            and name not in OWN_FILES
            and path.is_file()
        ):
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            found.warn(name, f"not a ledger file, not read{hint}")


def find_ledger(path: str | os.PathLike[str] | None) -> Path:
    """The ledger directory: `path`, else `$ARLEDGER_DIR`, else the current directory.

    Raises:
        LedgerNotFound: when it is not a directory, or holds neither customers
            (as records, or a place for them that the loader then reports on) nor
            settings.
    """
    root = Path(path or os.environ.get("ARLEDGER_DIR") or ".")
    if not root.is_dir():
        raise LedgerNotFound(f"ledger directory {str(root)!r} does not exist")
    customers = _scan(root, ("customers",))
    if (
        not customers.files["customers"]
        and not customers.problems
        and not os.path.lexists(root / SETTINGS_FILE)
    ):
        raise LedgerNotFound(
            f"{str(root)!r} is not a ledger: no customers.yaml, customers.csv or "
            "customers/ found (use --ledger DIR, or `arledger init DIR` to start one)"
        )
    return root


# ---------------------------------------------------------------- reading files

# SPEC §4: NUL and the other control characters (Unicode Cc) are refused in
# every ledger file; tab, LF and CR are white space. So are the non-characters
# U+FFFE and U+FFFF, which YAML refuses too: then the fast YAML reader, which
# would take them, and PyYAML never disagree about a file.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_PLAIN_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_HIGH_BYTES = bytes(range(0x80, 0x100))
# How U+0080..U+00BF (C1 controls among them) and U+FFFE, U+FFFF start in UTF-8
_SUSPECT_UTF8 = (b"\xc2", b"\xef\xbf\xbe", b"\xef\xbf\xbf")
# Lines longer than this are refused before any parser sees them (SPEC §4: a
# 5 MB line ends in exit 2 within seconds): the longest CSV cell Python's csv
# module reads by default (csv.field_size_limit()), for YAML lines too.
MAX_LINE_BYTES = 131_072
# Past this many, problems of one kind in one file are summed up in the last.
MAX_REPORTED = 10


def _decode(raw: bytes, rel: str, errors: list[LedgerError]) -> str | None:
    """A file's text, or None (with the reason in `errors`) when it is not read
    at all: not UTF-8, a control character, a line too long."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        errors.append(
            LedgerError(
                Source(rel, line),
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            )
        )
        return None
    problems = _control_characters(raw, text) + _long_lines(raw)
    errors.extend(LedgerError(Source(rel, line), why) for line, why in problems)
    return None if problems else text


def _control_characters(raw: bytes, text: str) -> list[tuple[int, str]]:
    """(line, message) for each line holding a control character, at most
    MAX_REPORTED. The bytes are looked at first: most files have none, and
    `translate` tells so at memory speed."""
    rest = raw.translate(None, _PLAIN_BYTES)
    if not rest.translate(None, _HIGH_BYTES) and not any(
        suspect in rest for suspect in _SUSPECT_UTF8
    ):
        return []  # no C0 control or DEL, nor anything to look at closer
    found: list[tuple[int, str]] = []
    line, position = 1, 0
    for match in _CONTROL.finditer(text):
        line += text.count("\n", position, match.start())
        position = match.start()
        if found and found[-1][0] == line:
            continue
        if len(found) == MAX_REPORTED:
            last, message = found[-1]
            found[-1] = (last, f"{message} (and on more lines below)")
            break
        code = ord(match.group())
        what = "character" if code > 0xFFFD else "control character"
        found.append(
            (
                line,
                f"{what} U+{code:04X} is not allowed in a ledger file; remove it "
                "(the file is not read)",
            )
        )
    return found


def _long_lines(raw: bytes) -> list[tuple[int, str]]:
    """(line, message) for each line longer than MAX_LINE_BYTES, at most
    MAX_REPORTED. Such a line holds a whole block of MAX_LINE_BYTES // 2 bytes
    starting at a multiple of it, so only those blocks are searched for a newline."""
    if len(raw) <= MAX_LINE_BYTES:
        return []
    found: list[tuple[int, str]] = []
    block = MAX_LINE_BYTES // 2
    end = 0  # where the last line reported ends
    for start in range(0, len(raw) - block + 1, block):
        if start < end or raw.find(b"\n", start, start + block) != -1:
            continue
        begin = raw.rfind(b"\n", 0, start) + 1
        end = raw.find(b"\n", start)
        end = len(raw) if end == -1 else end
        if end - begin <= MAX_LINE_BYTES:
            continue
        if len(found) == MAX_REPORTED:
            break
        found.append(
            (
                raw.count(b"\n", 0, begin) + 1,
                f"line of {end - begin:,} bytes: lines longer than "
                f"{MAX_LINE_BYTES:,} bytes are refused (the file is not read)",
            )
        )
    return found


def _scalar(node: yaml.ScalarNode) -> str | None:
    # A plain (unquoted) empty value or YAML null means "not given"; the C and
    # pure-Python loaders mark plain style as "" and None respectively.
    if not node.style and node.value in YAML_NULLS:
        return None
    return node.value


# A ledger record is a mapping whose values are text, a list of mappings
# (schedule, dunning levels) or a mapping (dunning_block): a few levels.
# Deeper nesting is refused before Python's recursion limit is near.
MAX_DEPTH = 32


class _Refused(Exception):
    """A YAML file that is not read at all: the line and the reason."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _node_value(
    node: yaml.Node, rel: str, errors: list[LedgerError], depth: int = 1
) -> Any:
    """A YAML node as plain Python with every scalar kept as text.

    Raises:
        _Refused: nested more than MAX_DEPTH levels deep.
    """
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if depth > MAX_DEPTH:
        raise _Refused(
            node.start_mark.line + 1,
            f"nested more than {MAX_DEPTH} levels deep (the file is not read)",
        )
    if isinstance(node, yaml.SequenceNode):
        return [_node_value(n, rel, errors, depth + 1) for n in node.value]
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                errors.append(
                    LedgerError(Source(rel, line), "a key must be plain text")
                )
                continue
            key = key_node.value
            if key in result:
                errors.append(
                    LedgerError(
                        Source(rel, line),
                        f"duplicate key {key!r} (first at line {first_line[key]})",
                    )
                )
                continue
            first_line[key] = line
            value = _node_value(value_node, rel, errors, depth + 1)
            if value is not None:  # an empty value means "not given"
                result[key] = value
        return result
    return None  # pragma: no cover - compose yields only the three kinds


def _yaml_locator(node: yaml.Node) -> Locator:
    def locate(loc: tuple[Any, ...]) -> int:
        current, line = node, node.start_mark.line + 1
        for part in loc:
            if isinstance(current, yaml.MappingNode):
                for key_node, value_node in current.value:
                    if key_node.value == part:
                        current, line = value_node, key_node.start_mark.line + 1
                        break
                else:
                    break
            elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(current.value):
                    break
                current = current.value[part]
                line = current.start_mark.line + 1
            else:
                break
        return line

    return locate


# Syntax errors the parser notices after the construct that is never closed:
# reported where that construct opens (SPEC §4), naming where it was noticed.
_OPENED = {
    "while scanning a quoted scalar": "a quoted value",
    "while parsing a flow sequence": "a `[`",
    "while parsing a flow mapping": "a `{`",
}
# The tags compose gives plain text, lists and mappings (`!!str` spells out the
# first): every value is read as text, so any other tag would be a promise that
# arledger does not keep, and `!!python/...` a request it must refuse.
PLAIN_TAGS = frozenset(
    {"tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}
)
# What aliases may add to a file, in values, beyond the file's own: anchors and
# aliases load, an alias bomb ("billion laughs") is refused unexpanded.
MAX_ALIAS_VALUES = 100_000


def _compose(
    text: str, rel: str, errors: list[LedgerError]
) -> tuple[yaml.Node | None, bool]:
    """The node graph of a YAML file (None when it is empty), and whether it can
    be read: no syntax error, one document, no tag but plain ones, no alias loop
    or bomb."""
    try:
        root = yaml.compose(text, Loader=_yaml_loader())
    except yaml.MarkedYAMLError as exc:
        errors.append(_syntax_error(exc, rel))
        return None, False
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        errors.append(LedgerError(Source(rel, line), f"invalid YAML: {exc.reason}"))
        return None, False
    except yaml.YAMLError as exc:
        errors.append(LedgerError(Source(rel, 1), f"invalid YAML: {exc}"))
        return None, False
    except RecursionError:  # the pure-Python composer on deep nesting
        errors.append(
            LedgerError(Source(rel, 1), "invalid YAML: nested too deep to be read")
        )
        return None, False
    if root is None or ("&" not in text and "!" not in text):
        return root, True  # no anchor (so no alias) and no tag: a plain tree
    problems = _graph_problems(root)
    errors.extend(LedgerError(Source(rel, line), why) for line, why in problems)
    return root, not problems


def _syntax_error(exc: yaml.MarkedYAMLError, rel: str) -> LedgerError:
    problem = exc.problem or exc.context or "cannot be parsed"
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 1
    opened = _OPENED.get(exc.context or "")
    if problem == "but found another document":
        return LedgerError(
            Source(rel, line),
            "a second YAML document starts here: a ledger file holds one list of "
            "records (remove the `---`)",
        )
    if opened and exc.context_mark and exc.context_mark.line + 1 != line:
        return LedgerError(
            Source(rel, exc.context_mark.line + 1),
            f"invalid YAML: {opened} opened here is never closed "
            f"(noticed at line {line}: {problem})",
        )
    return LedgerError(Source(rel, line), f"invalid YAML: {problem}")


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value  # type: ignore[no-any-return]
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _tag_problem(node: yaml.Node) -> tuple[int, str] | None:
    if node.tag in PLAIN_TAGS:
        return None
    tag = node.tag
    if tag.startswith("tag:yaml.org,2002:"):
        tag = "!!" + tag.removeprefix("tag:yaml.org,2002:")
    return (
        node.start_mark.line + 1,
        f"YAML tag {tag!r} is not allowed: ledger values are plain text, "
        "remove the tag (the file is not read)",
    )


def _graph_problems(root: yaml.Node) -> list[tuple[int, str]]:
    """(line, message) for tags that are not plain, an alias inside the
    collection it names (a loop), and aliases that expand the file by more than
    MAX_ALIAS_VALUES values (a bomb).

    Composing does not expand an alias: it is the very node its anchor names, so
    the graph is walked once per distinct node, without recursion, counting what
    each node would expand to.
    """
    problems: list[tuple[int, str]] = []
    size: dict[int, int] = {}  # values each finished node expands to
    on_path = {id(root)}
    stack = [(root, iter(_children(root)))]
    if (tag := _tag_problem(root)) is not None:
        problems.append(tag)
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) in on_path:
                line = child.start_mark.line + 1
                return [(line, "an alias inside the collection anchored here names "
                         "that collection: a loop (the file is not read)")]  # fmt: skip
            if id(child) not in size:
                if (tag := _tag_problem(child)) is not None:
                    problems.append(tag)
                on_path.add(id(child))
                stack.append((child, iter(_children(child))))
                break
        else:
            stack.pop()
            on_path.discard(id(node))
            total = 1 + sum(size[id(c)] for c in _children(node))
            size[id(node)] = min(total, 2 * MAX_ALIAS_VALUES + len(size) + 1)
    distinct = len(size)
    if size[id(root)] - distinct > max(distinct, MAX_ALIAS_VALUES):
        node = root
        while True:  # down to the smallest node that is too big by itself
            bigger = [c for c in _children(node) if size[id(c)] > MAX_ALIAS_VALUES]
            if not bigger:
                break
            node = bigger[0]
        problems.append(
            (
                node.start_mark.line + 1,
                f"aliases make this more than {MAX_ALIAS_VALUES:,} values (an alias "
                "bomb?): the file is not read",
            )
        )
    return problems


def _read_yaml_records(text: str, rel: str, errors: list[LedgerError]) -> _Batch:
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    nodes: list[yaml.Node] = []

    def locate(i: int, loc: tuple[Any, ...]) -> int:
        return _yaml_locator(nodes[i])(loc)

    batch = _Batch(rel, rows, lines, locate)
    root, readable = _compose(text, rel, errors)
    if not readable:
        batch.broken = True
        return batch
    if root is None:
        return batch
    if not isinstance(root, yaml.SequenceNode):
        errors.append(
            LedgerError(
                Source(rel, root.start_mark.line + 1),
                "expected a list of records, each starting with `- `",
            )
        )
        batch.broken = True
        return batch
    problems: list[LedgerError] = []
    try:
        for node in root.value:
            line = node.start_mark.line + 1
            if not isinstance(node, yaml.MappingNode):
                problems.append(
                    LedgerError(
                        Source(rel, line), "expected a record of `key: value` pairs"
                    )
                )
                continue
            rows.append(_node_value(node, rel, problems, depth=2))
            lines.append(line)
            nodes.append(node)
    except _Refused as exc:
        errors.append(LedgerError(Source(rel, exc.line), exc.message))
        rows.clear()
        batch.broken = True
        return batch
    errors.extend(problems)
    return batch


CSV_NESTED = frozenset(
    {
        "allocations",
        "schedule",
        "dunning_block",
        "aliases",
        "bank_accounts",
        "discount",
        "instalments",
        "invoices",
    }
)


def _read_csv_records(
    text: str,
    rel: str,
    kind: str,
    errors: list[LedgerError],
    on_chunk: OnChunk | None = None,
    ahead: Future[_Cells] | None = None,
) -> _Batch:
    """The records of a CSV file; with `on_chunk`, a file of a bulk kind whose
    every row is a line that fits the header is handed on a chunk of rows at a
    time instead (`batch.chunked`), as `_csv_columns` reads it. `ahead`: its
    cells, being cut by pyarrow already (`_read_ahead`)."""
    lines: list[int] = []
    batch = _Batch(rel, (), lines, lambda i, loc: lines[i], ahead=ahead)
    if _column_plan(_shapes.KINDS[kind]) is not None:
        _csv_columns(text, batch, kind, errors, on_chunk)  # the bulk kinds
    else:
        batch.rows = _csv_rows(text, batch, kind, errors)
    return batch


def _not_comma_separated(header: list[str]) -> str | None:
    """A header read as one cell holding `;` or a tab: the file is not
    comma-separated, and none of its rows can be read (SPEC §4)."""
    if len(header) != 1 or not (";" in header[0] or "\t" in header[0]):
        return None
    separator = "`;`" if ";" in header[0] else "tabs"
    return (
        f"the header is one cell, {header[0]!r}: columns must be separated by "
        f"commas, not {separator} (save the file as comma-separated CSV)"
    )


def _csv_header(header: list[str], kind: str) -> tuple[list[str], str | None]:
    """What is wrong with a CSV header, each said once (SPEC §4); and the
    required columns it lacks, a problem once a row needs them (a file of a
    header and no rows holds no records, whatever its columns)."""
    fields = _shapes.SHAPES[_shapes.KINDS[kind]]["fields"]
    known = {field[0] for field in fields}
    problems = []
    seen: set[str] = set()
    for name in header:
        if not name:
            continue
        if name in seen:
            problems.append(f"duplicate column {name!r}")
        elif name not in known:
            problems.append(_unknown_field(name, known))
        seen.add(name)
    missing = [f[0] for f in fields if f[2] and f[0] not in seen]
    if not missing:
        return problems, None
    names = ", ".join(repr(n) for n in missing)
    return problems, f"missing required column{'s' if len(missing) > 1 else ''} {names}"


# Rows read at a time by the fast path of `_csv_cells`: a chunk's lists are
# let go before the next is read, so their memory is reused rather than left
# in holes between the strings that stay (a file read whole at once left the
# process 0.3 GB bigger at a million rows).
_CSV_CHUNK = 1 << 15

# Characters of a CSV file split into lines at a time (see `_csv_lines`).
_CSV_PIECE = 1 << 20

# Line numbers, each made once and shared by every file's records: a record
# keeps its line, and at a million rows in four files new numbers for each
# would take 45 MB more.
_LINE_NUMBERS: list[int] = []


def _line_numbers(first: int, count: int) -> list[int]:
    """The numbers first, first + 1, ... (`count` of them), as shared objects."""
    end = first + count
    if len(_LINE_NUMBERS) < end:
        _LINE_NUMBERS.extend(range(len(_LINE_NUMBERS), end))
    return _LINE_NUMBERS[first:end]


def _csv_lines(text: str) -> Iterator[str]:
    r"""The lines of a CSV file's text exactly as `io.StringIO(text,
    newline="")` gives them to `csv.reader` (each ended by `\n`, `\r\n` or a
    lone `\r`, kept), without the copy of the whole text StringIO makes at
    four bytes a character (180 MB for a 45 MB file of a million invoices).

    While every `\r` is part of a `\r\n`, a line ends exactly at each `\n`,
    so pieces of about a megabyte are split there (never with
    `str.splitlines`, which would also split at `\x85` or `\u2028` in a cell).
    A text with a lone `\r` is left to StringIO."""
    # (`in` first: it stops at the first one, and in C it is 50 times faster
    # than counting; most files have none.)
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return iter(io.StringIO(text, newline=""))
    return chain.from_iterable(map(_lines_of, _pieces(text)))


def _pieces(text: str) -> Iterator[str]:
    """`text` in pieces of about `_CSV_PIECE` characters, each ending with a
    `\n` but the last."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start + _CSV_PIECE)
        end = size if end < 0 else end + 1
        yield text[start:end]
        start = end


def _lines_of(piece: str) -> list[str]:
    """The lines of a piece, each with its `\n` (the last may have none)."""
    lines = piece.split("\n")
    last = lines.pop()  # after the piece's last \n: empty unless at the end
    found = list(map(add, lines, repeat("\n")))
    if last:
        found.append(last)
    return found


def _csv_cells(
    text: str,
    batch: _Batch,
    kind: str,
    errors: list[LedgerError],
    into: tuple[list[_Texts], list[int]] | None = None,
    on_chunk: Callable[[list[_Texts], list[int]], None] | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file that the header fits, each with its line, once
    the file's own problems (header, ragged rows, quoting) are reported; sets
    `batch.names` to the known columns as (index, name, nested) and
    `batch.broken` when the file is not read to its end.

    `into`: (columns, lines) to fill at once, yielding nothing, when each row
    is a line and fits the header, the common case: `columns` gets, for each
    of `batch.names`, its cells with white space stripped. With `on_chunk`,
    each chunk of them is handed to it instead, and `batch.chunked` set once
    the file is read to its end that way."""
    rel = batch.rel
    reader = csv.reader(_csv_lines(text), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        errors.append(LedgerError(Source(rel, 1), f"invalid CSV: {exc}"))
        batch.broken = True
        return
    header = [h.strip() for h in header]
    wrong_separator = _not_comma_separated(header)
    if wrong_separator is not None:
        errors.append(LedgerError(Source(rel, 1), wrong_separator))
        batch.broken = True
        return
    problems, missing = _csv_header(header, kind)
    errors.extend(LedgerError(Source(rel, 1), message) for message in problems)
    names = batch.names = _known_columns(header, kind)
    id_index = next((index for index, name, _ in names if name == "id"), None)
    width = len(header)
    if into is not None and missing is None:
        if _csv_columns_fast(text, reader, width, names, into, on_chunk, batch.ahead):
            batch.chunked = on_chunk is not None
            return
        reader = csv.reader(_csv_lines(text), strict=True)
        next(reader)  # again, row by row, to say what is wrong where
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            reason = str(exc)
            if "end of data" in reason:
                reason = "a quoted cell is never closed"
            errors.append(LedgerError(Source(rel, line), f"invalid CSV: {reason}"))
            batch.broken = True
            break
        if len(row) != width or missing is not None:
            if not any(cell.strip() for cell in row):
                continue  # a blank line, or a row of empty cells
            if missing is not None:  # said once, at the header, not on every row
                errors.append(LedgerError(Source(rel, 1), missing))
                batch.broken = True
                break
            # SPEC §4: ragged rows are errors, short ones too (a cell left out
            # shifts every cell after it into the wrong column).
            errors.append(
                LedgerError(
                    Source(rel, line),
                    f"row has {len(row)} cells but the header has {width}",
                )
            )
            if id_index is not None and id_index < len(row) and row[id_index].strip():
                batch.refused_ids.append(row[id_index].strip())
            continue
        yield line, row


def _known_columns(header: list[str], kind: str) -> list[tuple[int, str, bool]]:
    """The columns of a CSV header (stripped) that are fields of `kind`, as
    (index, name, nested): the first of each name, in the header's order."""
    known = set(rows.FIELDS[_shapes.KINDS[kind]])
    names = []
    for index, name in enumerate(header):
        if name in known and name not in header[:index]:
            names.append((index, name, name in CSV_NESTED))
    return names


def _csv_columns_fast(
    text: str,
    reader: Any,
    width: int,
    names: list[tuple[int, str, bool]],
    into: tuple[list[_Texts], list[int]],
    on_chunk: Callable[[list[_Texts], list[int]], None] | None = None,
    ahead: Future[_Cells] | None = None,
) -> bool:
    """Read the rest of a CSV file into `into` (see `_csv_cells`), a chunk of
    rows at a time (by pyarrow for a big file, else by the csv module); False,
    with `into` left empty, when a quoted cell spans lines, a row does not fit
    the header or the CSV is invalid: then the file is read row by row, to
    say what is wrong where. With `on_chunk`, each chunk's columns and lines
    go to it as soon as they are read and known to be right, and `into`
    stays empty. `ahead`: the file's cells, being cut already (`_read_ahead`)."""
    columns, lines = into
    columns[:] = [_Texts() for _ in names]
    chunks = None
    if len(text) >= _ARROW_MIN_CHARS and reader.line_num == 1:
        chunks = _arrow_chunks(text, width, names, ahead)
    if chunks is None:
        chunks = _csv_chunks(reader, width, names)
    # A column whose first values repeat keeps one string per value, taken
    # as each chunk is read: the copies are let go at once and their memory
    # is reused by the next chunk, where let go after the whole file they
    # would leave it full of holes (250 MB at a million rows).
    shared: list[dict[str, str] | None] | None = None
    for chunk in chunks:
        if chunk is None:  # something to say: read row by row
            del columns[:], lines[:]
            return False
        chunk_lines, texts, one_each = chunk
        lines += chunk_lines
        if chunk_lines:
            if shared is None:
                shared = [
                    {} if not done and _repeats(cells) else None
                    for cells, done in zip(texts, one_each, strict=True)
                ]
            for column, cells, one, done in zip(
                columns, texts, shared, one_each, strict=True
            ):
                if one is not None:
                    column += map(one.setdefault, cells, cells)
                else:
                    column += cells
                if one is not None or done:
                    column.shared = True
        if on_chunk is not None:
            on_chunk(columns[:], lines[:])
            columns[:] = [_Texts() for _ in names]
            del lines[:]
    return True


# A chunk of rows read: their lines, the cells of each column, and for each
# column whether it holds one string per value already.
_Chunk = tuple[list[int], list[list[str]], list[bool]]


def _csv_chunks(
    reader: Any, width: int, names: list[tuple[int, str, bool]]
) -> Iterator[_Chunk | None]:
    """The rest of a CSV file by the csv module, `_CSV_CHUNK` rows at a time
    (in C): each chunk's lines and, for each of `names`, its cells stripped
    of white space; blank lines left out. None, last, when a row does not
    fit the header, is not a line of its own, or the CSV is invalid."""
    read = 0  # rows read, blank ones included
    while True:
        try:
            rows = list(islice(reader, _CSV_CHUNK))  # in C
        except csv.Error:
            yield None
            return
        if not rows:
            return
        sizes = set(map(len, rows))
        if not sizes <= {width, 0}:
            yield None
            return
        first = read + 2
        read += len(rows)
        if reader.line_num != read + 1:  # a row a line, or a line is not known
            yield None
            return
        if 0 in sizes:  # blank lines
            lines = [n for n, row in enumerate(rows, first) if row]
            rows = [row for row in rows if row]
        else:
            lines = _line_numbers(first, len(rows))
        if not rows:
            yield lines, [[] for _ in names], [False] * len(names)
            continue
        cells = list(zip(*rows, strict=True))
        del rows
        texts = [list(map(str.strip, cells[index])) for index, _, _ in names]
        yield lines, texts, [False] * len(names)


# A CSV file of this many characters or more is read by pyarrow: smaller ones
# are read by the csv module sooner than pyarrow is imported.
_ARROW_MIN_CHARS = 1 << 20


@functools.cache
def _white_space() -> str:
    """The characters `str.strip()` strips (none is above U+3000; a test
    reads every code point)."""
    return "".join(c for c in map(chr, range(0x3001)) if c.isspace())


@functools.cache
def _arrow_pool() -> Any:
    """The memory pyarrow reads into: its jemalloc, told to give memory back
    to the system as soon as it is freed (its default pool, mimalloc, kept
    60-90 MB at a million rows, on top of the peak of every command); the
    system's malloc where pyarrow is built without jemalloc."""
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:
        pool = pa.system_memory_pool()
    return pool


def _arrow_chunks(
    text: str,
    width: int,
    names: list[tuple[int, str, bool]],
    ahead: Future[_Cells] | None = None,
) -> Iterator[_Chunk | None] | None:
    """`_csv_chunks` for a file's text after its header line, cut into cells
    by pyarrow's CSV reader (C++: at a million rows the load takes 3 s less);
    None, before anything is read, where the csv module might read the file
    otherwise or has something to say. `ahead`: the same text's cells, being
    cut already (`_read_ahead`).

    pyarrow only splits lines at commas where no two readers can differ:
    lines without a quote character, and lines whose quotes are plain quoted
    cells (`_plain_quotes`); every other line holding a quote is read again
    by the csv module, alone (strict, as `_csv_cells` reads), and its cells
    are the ones kept. The file is declined when pyarrow's rows are not its
    lines one for one (a quoted cell across lines, a lone carriage return),
    when a row does not fit the header, and when a quoted line is not a
    whole row by itself. Blank lines come as rows of empty cells, which are dropped with
    the rows of empty cells (`_texts_to_columns`). Either way the rules decide
    on the same texts: pyarrow only cuts them out."""
    lines = _row_lines(text)
    if lines is None:
        return None
    start, count = lines.start, lines.lines
    if lines.quotes > 2 * count:
        return None  # quoted throughout: the csv module would read every line
    cells = ahead.result() if ahead is not None else None
    if cells is None or cells.width != width:
        cells = _arrow_cells(text, width)
    if cells.columns is None or cells.rows != count:
        return None
    indexes = [index for index, _, _ in names]
    _complete(cells, text)
    kept = [cells.columns[index] for index in indexes]
    values = [cells.values[index] for index in indexes]
    del cells
    quoted = _quoted_lines(text, start)
    if lines.plain_quotes:
        quoted = iter(())  # pyarrow's cells are the csv module's: none read again
    return _arrow_pieces(kept, values, indexes, count, width, quoted)


class _Survey(NamedTuple):
    """A CSV file's text looked over in one pass (arledger/_csvbytes.c says
    each field exactly); `lines`, `lone_returns`, `quotes` and
    `plain_quotes` from the `start` it was asked from."""

    plain: bool  # printable ASCII, tab, LF and CR only
    longest: int  # the bytes of its longest line, its line feed not counted
    lines: int  # line feeds
    lone_returns: int  # carriage returns no line feed follows
    quotes: int  # quote characters
    plain_quotes: bool  # each quote opens or closes a plain quoted cell


def _survey(text: str | bytes, start: int = 0) -> _Survey:
    """`text` (or its UTF-8 bytes) looked over from `start` (in its units)
    in one pass, in C, without the GIL: at a million invoices, five passes of
    bytes methods and a pattern took 0.3 s of the main thread, holding the
    GIL the threads cutting files wait for."""
    if isinstance(text, str):
        start = len(text[:start].encode())
        text = text.encode()
    return _Survey(*survey(text, start))


class _Rows(NamedTuple):
    """`_row_lines` of a CSV file."""

    start: int  # where its rows start, after its header line
    lines: int  # the lines they take
    quotes: int  # quote characters in them
    plain_quotes: bool  # each opens or closes a plain quoted cell


def _row_lines(text: AnyStr) -> _Rows | None:
    """Where a CSV file's rows start, after its header (one line, as
    reader.line_num counts it), and how many lines they take, when pyarrow's
    rows can be those lines one for one; None when there is no row, or a lone
    carriage return would end a line for pyarrow and not for the csv module.
    `text` may be the file's UTF-8 bytes (then `start` counts bytes). With
    the quotes of the rows, which `_plain_quotes` would judge."""
    (lf,) = _marks(text, "\n")
    start = text.find(lf) + 1
    if not start or start == len(text):
        return None
    return _rows_of(text, start, _survey(text, start))


def _rows_of(text: AnyStr, start: int, seen: _Survey) -> _Rows | None:
    """`_row_lines` of `text`, its rows from `start` looked over (`seen`)."""
    (lf,) = _marks(text, "\n")
    if not start or start == len(text) or seen.lone_returns:
        return None
    lines = seen.lines + (not text.endswith(lf))
    return _Rows(start, lines, seen.quotes, seen.plain_quotes)


def _marks(text: AnyStr, *marks: str) -> tuple[AnyStr, ...]:
    """ASCII `marks` as `text` holds them: text, or UTF-8 bytes (in which no
    byte of a character beyond ASCII is one of them)."""
    if isinstance(text, str):
        return marks  # type: ignore[return-value]
    return tuple(mark.encode() for mark in marks)  # type: ignore[return-value]


class _Cells(NamedTuple):
    """The cells of a CSV file cut by pyarrow (`_arrow_cells`)."""

    width: int  # the columns of the header it was cut for
    rows: int
    # A pyarrow array per column, white space trimmed; None: not cut (pyarrow
    # is not installed, or a row does not fit the header). A column left
    # for later is None until it is cut (`_complete`).
    columns: list[Any] | None
    # For each column whose first values repeat (`_repeats`): its distinct
    # values, one string each, and the column is dictionary-encoded (each
    # cell the index of its value); for each other column None.
    values: list[list[str] | None]


def _arrow_cells(text: str | bytes, width: int, later: Collection[int] = ()) -> _Cells:
    """The cells of `text` (or its UTF-8 bytes) after its header line, cut by
    pyarrow's CSV reader
    into `width` columns of text, with white space trimmed as `str.strip`
    trims it (none where pyarrow is not installed or a row does not have
    `width` cells); a column in which no cell may have any is not trimmed
    (`_untrimmed`). A column whose first values repeat is kept as one string
    per value and each cell's index: at a million rows, making a string of
    each cell and finding its value's one took 0.1 s per column more.

    The columns at `later` are left for later (None), each row's cells still
    counted: texts no check reads, cut only if a row is made (`_complete`).

    pyarrow lets go of the GIL while it reads, trims and encodes: this runs
    in a thread of its own while the file before is validated
    (`_read_ahead`)."""
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:  # an install without it reads as before, slower
        return _Cells(width, 0, None, [])

    raw = text.encode() if isinstance(text, str) else text
    names = [f"f{k}" for k in range(width)]
    cut = [name for k, name in enumerate(names) if k not in later]
    data = pa.py_buffer(raw)
    pool = _arrow_pool()
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(data.slice(raw.find(b"\n") + 1)),
            read_options=pa_csv.ReadOptions(column_names=names, use_threads=False),
            parse_options=pa_csv.ParseOptions(ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=cut,
            ),
            memory_pool=pool,
        )
    except pa.ArrowInvalid:  # a row that does not fit the header
        return _Cells(width, 0, None, [])
    del data, raw
    rows = table.num_rows
    trim, encode = _trimmer(_white_space(), pool), _encoder(pool)
    columns: list[Any] = [None] * width
    values: list[list[str] | None] = [None] * width
    for k, name in enumerate(names):  # each trimmed, and the table's own let go
        if name not in cut:
            continue
        cells = table.column(name)
        if _untrimmed(cells):
            cells = trim(cells)
        table = table.drop_columns([name])
        if _repeats(cells.slice(0, _SAMPLE).to_pylist()):
            cells = encode(cells.combine_chunks(memory_pool=pool))
            values[k] = cells.dictionary.to_pylist()
        columns[k] = cells
    return _Cells(width, rows, columns, values)


def _untrimmed(cells: Any) -> bool:
    """Whether a cell of a column pyarrow cut may have white space at either
    end (`_csvbytes.untrimmed`): else trimming gives the same cells."""
    for chunk in cells.chunks:
        _, offsets, data = chunk.buffers()
        if data is None:
            continue  # every cell empty
        if untrimmed(offsets, data, chunk.offset, len(chunk)):
            return True
    return False


def _complete(cells: _Cells, text: str | bytes) -> None:
    """Cut the columns left for later (`_arrow_cells`) from the file's
    `text` (or bytes), in place: all of them at once, from one read."""
    assert cells.columns is not None
    missing = [k for k, column in enumerate(cells.columns) if column is None]
    if not missing:
        return
    rest = _arrow_cells(text, cells.width, set(range(cells.width)) - set(missing))
    if rest.columns is None or rest.rows != cells.rows:
        raise AssertionError("arledger: a file's cells cut twice do not agree")
    for k in missing:
        cells.columns[k], cells.values[k] = rest.columns[k], rest.values[k]


def _kernel(
    name: str, pool: Any, options_of: Callable[[Any], Any] | None = None
) -> Callable[[Any], Any]:
    """pyarrow's compute kernel `name` over an array, into `pool`, with the
    options `options_of` makes from the module that has them. Called by its
    name through `pyarrow._compute`, which `pyarrow.compute` wraps: importing
    that builds a Python function for each of its ~300 kernels, 25 ms of
    every command that reads a big file, for the two used here. Where that
    module is not as expected, through `pyarrow.compute`."""
    try:
        from pyarrow import _compute as compute

        options = options_of(compute) if options_of else None
    except (ImportError, AttributeError, TypeError):
        import pyarrow.compute as compute

        options = options_of(compute) if options_of else None
    call = compute.call_function
    return lambda cells: call(name, [cells], options, pool)


def _trimmer(white: str, pool: Any) -> Callable[[Any], Any]:
    """pyarrow's `utf8_trim` of `white`, into `pool`."""
    return _kernel("utf8_trim", pool, lambda compute: compute.TrimOptions(white))


def _encoder(pool: Any) -> Callable[[Any], Any]:
    """pyarrow's `dictionary_encode`, into `pool`."""
    return _kernel("dictionary_encode", pool)


def _cell_values(cells: Any, values: list[str] | None) -> list[str]:
    """The texts of a piece of a column of `_Cells`: each a string of its
    own, or, for a dictionary-encoded column, its value's one string (read
    through the indexes' memory where they are 32-bit, as pyarrow makes
    them)."""
    if values is None:
        return cells.to_pylist()  # type: ignore[no-any-return]
    indices = cells.indices
    if str(indices.type) != "int32":
        return list(map(values.__getitem__, indices.to_pylist()))
    start = indices.offset
    held = memoryview(indices.buffers()[1]).cast("i")[start : start + len(indices)]
    return list(map(values.__getitem__, held))


def _arrow_pieces(
    cells_of: list[Any],
    values_of: list[list[str] | None],
    indexes: list[int],
    count: int,
    width: int,
    quoted: Iterator[tuple[int, str]],
) -> Iterator[_Chunk | None]:
    """The chunks of `_arrow_chunks` (`cells_of`: the cells of the columns
    at `indexes`, with their `_Cells.values`), each made into text when it is
    read, its quoted lines read by the csv module; None, last, when one of
    them is not a whole row that fits the header by itself."""
    one_each = [values is not None for values in values_of]
    pending = next(quoted, None)
    for first in range(0, count, _CSV_CHUNK):
        size = min(_CSV_CHUNK, count - first)
        end = first + size
        rows, found = [], []
        while pending is not None and pending[0] < end:
            rows.append(pending[0] - first)
            found.append(pending[1])
            pending = next(quoted, None)
        reader = csv.reader(found, strict=True)
        try:
            cells = list(reader)
        except csv.Error:
            yield None
            return
        if len(cells) != len(found) or reader.line_num != len(found):
            yield None  # a quoted cell runs on to another line
            return
        if not set(map(len, cells)) <= {width}:
            yield None
            return
        texts = [
            _cell_values(column.slice(first, size), values)
            for column, values in zip(cells_of, values_of, strict=True)
        ]
        if cells:  # the csv module's cells of the quoted lines are kept
            by_column = list(zip(*cells, strict=True))
            for column, index in zip(texts, indexes, strict=True):
                put = map(column.__setitem__, rows, map(str.strip, by_column[index]))
                deque(put, maxlen=0)
        yield _line_numbers(first + 2, size), texts, one_each


def _plain_quotes(text: str | bytes, start: int = 0) -> bool:
    """Whether every quote character of `text` from `start` (a line's start)
    opens or closes a plain quoted cell, one no two CSV readers can read
    differently: the whole cell in quotes, with no quote or line end inside,
    at the start of a line or after a comma, and followed by a comma or the
    line's end (`_survey`).

    Then a reader finds the cells these quotes make: left of a line's first
    quote no cell is quoted, so that quote starts a cell (after a comma or
    at the line's start) and the next quote ends it (a comma or the line's
    end follows), and so on along the line."""
    return _survey(text, start).plain_quotes


def _quoted_lines(text: str, start: int) -> Iterator[tuple[int, str]]:
    """The lines of `text` from `start` holding a quote character that is
    not in a plain quoted cell (`_plain_quotes`), each with its row (0: the
    line at `start`)."""
    row, counted = 0, start
    at = text.find('"', start)
    while at >= 0:
        begin = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at) + 1 or len(text)
        line = text[begin:end]
        if not _plain_quotes(line):
            row += text.count("\n", counted, begin)
            counted = begin
            yield row, line
        at = text.find('"', end)


def _csv_rows(
    text: str, batch: _Batch, kind: str, errors: list[LedgerError]
) -> Iterator[dict[str, Any]]:
    """The records of a CSV file, one at a time, each line appended to
    `batch.lines`."""
    for line, row in _csv_cells(text, batch, kind, errors):
        try:
            data: dict[str, Any] = {
                name: csv_nested(name, cell) if nested else cell
                for index, name, nested in batch.names
                if (cell := row[index].strip())
            }
        except ValueError as exc:
            errors.append(LedgerError(Source(batch.rel, line), str(exc)))
            continue
        if data:
            batch.lines.append(line)
            yield data


OnChunk = Callable[[dict[str, list[Any]], list[int], list[LedgerError]], None]


def _csv_columns(
    text: str,
    batch: _Batch,
    kind: str,
    errors: list[LedgerError],
    on_chunk: OnChunk | None = None,
) -> None:
    """A CSV file of a bulk kind read whole into columns (`batch.columns`:
    each known field's cells, None where empty, nested cells parsed), with
    `batch.rows` giving a record's values as a mapping when one is asked for.

    `on_chunk`: while every row is a line that fits the header, each chunk of
    rows goes to it as it is read, as (columns, lines, problems of its nested
    cells), and `batch.chunked` is set once the file is read that way to its
    end; a file with something to say is then read whole, as without it (the
    chunks handed on before are the caller's to drop)."""
    rows: list[list[str]] = []
    lines = batch.lines
    texts: list[_Texts] = []

    def chunk(texts: list[_Texts], lines: list[int]) -> None:
        assert on_chunk is not None
        problems: list[LedgerError] = []
        # batch.names: set by _csv_cells before any chunk
        columns, kept = _texts_to_columns(
            batch.rel, batch.names, texts, lines, problems
        )
        on_chunk(columns, kept, problems)

    cells_of = _csv_cells(
        text, batch, kind, errors, (texts, lines), None if on_chunk is None else chunk
    )
    for line, row in cells_of:
        rows.append(row)  # the slow way: a file with something to say
        lines.append(line)
    if batch.chunked:
        return
    names = batch.names
    if rows:
        cells = list(zip(*rows, strict=True))  # rows fit the header
        del rows
        texts = [_Texts(map(str.strip, cells[index])) for index, *_ in names]
        del cells
    elif not texts:  # no row fits the header
        texts = [_Texts() for _ in names]
    columns, kept = _texts_to_columns(batch.rel, names, texts, lines, errors)
    if kept is not lines:
        batch.lines[:] = kept
    batch.columns = columns
    batch.rows = _ColumnRows(columns, len(kept))


def _texts_to_columns(
    rel: str,
    names: list[tuple[int, str, bool]],
    texts: list[_Texts],
    lines: list[int],
    errors: list[LedgerError],
) -> tuple[dict[str, list[Any]], list[int]]:
    """Rows of a CSV file read as texts (a column per name), as the columns
    of their records: None where a cell is empty, nested cells parsed (a bad
    one reported, its row dropped), blank rows dropped; with the lines of the
    rows kept (`lines` itself when every row is)."""
    size = len(lines)
    keep = [True] * size
    empties = [column.count("") for column in texts]  # an empty cell: not given
    # Rows with no value at all are blank lines (dropped below); there are
    # none while a column has a value in every row.
    given = (
        list(map(any, zip(*texts, strict=True))) if min(empties, default=1) else None
    )
    columns: dict[str, list[Any]] = {}
    column: list[Any]
    for (_index, name, nested), column, empty in zip(
        names, texts, empties, strict=True
    ):
        # In place: the column stays the reader's.
        if empty * 8 > len(column):
            column[:] = [cell or None for cell in column]
        else:
            at = -1
            for _ in range(empty):
                at = column.index("", at + 1)
                column[at] = None
        if not nested:
            column.missing = empty
        else:
            column = list(column)  # values parsed from text, not text
            for k in compress(range(size), column):  # the cells given
                try:
                    column[k] = csv_nested(name, column[k])
                except ValueError as exc:
                    errors.append(LedgerError(Source(rel, lines[k]), str(exc)))
                    keep[k] = False
        columns[name] = column
    # Rows with a bad nested cell were reported above.
    if given is None and columns and all(keep):
        return columns, lines
    wanted = [
        k for k in range(size) if keep[k] and columns and (given is None or given[k])
    ]
    if len(wanted) == size:
        return columns, lines
    columns = {name: _subset(column, wanted) for name, column in columns.items()}
    return columns, [lines[k] for k in wanted]


class _ColumnRows(Sequence[dict[str, Any]]):
    """The records of a file read into columns, each made into a mapping only
    when the model must validate it."""

    def __init__(self, columns: dict[str, list[Any]], size: int) -> None:
        self.columns = columns
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, Any]:  # type: ignore[override]
        return {
            name: column[i]
            for name, column in self.columns.items()
            if column[i] is not None
        }


def _read_text(path: Path, rel: str, errors: list[LedgerError]) -> str | None:
    raw = _read_bytes(path, rel, errors)
    return None if raw is None else _decode(raw, rel, errors)


def _read_bytes(path: Path, rel: str, errors: list[LedgerError]) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        errors.append(LedgerError(Source(rel, 1), f"cannot read: {exc.strerror}"))
        return None


class _Utf8(NamedTuple):
    """A bulk file's bytes as `_read_utf8` reads them."""

    data: bytes  # without a byte order mark
    rows: _Rows | None  # `_row_lines` of `data`


def _read_utf8(path: Path, rel: str, errors: list[LedgerError]) -> _Utf8 | None:
    """A file's bytes, without a byte order mark, where `_decode` reads its
    text without a word (else None, and what it says in `errors`), with its
    rows (`_row_lines`), from one look over the bytes. Its text is not made
    where the bytes tell that `_decode` would say nothing (`_plain_text`): a
    bulk file kept as cells (`_hold`) is read by pyarrow, from its bytes, and
    only by it."""
    raw = _read_bytes(path, rel, errors)
    if raw is None:
        return None
    start = raw.find(b"\n") + 1
    seen = _survey(raw, start)
    if _plain_text(seen):
        return _Utf8(raw, _rows_of(raw, start, seen))
    if _decode(raw, rel, errors) is None:
        return None
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
        return _Utf8(raw, _row_lines(raw))
    return _Utf8(raw, _rows_of(raw, start, seen))


def _plain_text(seen: _Survey) -> bool:
    """Whether a file's bytes, looked over (`seen`), are surely text
    `_decode` takes as it is: ASCII, with no control character, and no line
    too long. (Anything else, the text is made and `_decode` decides.)"""
    return seen.plain and seen.longest <= MAX_LINE_BYTES


def _read_batch(
    text: str | None, rel: str, kind: str, errors: list[LedgerError]
) -> _Batch:
    """The records of one file's text, CSV or YAML (through PyYAML, which knows
    every key's line); None: the file could not be read."""
    if text is None:
        return _Batch(rel, [], [], lambda i, loc: 1, broken=True)
    if rel.lower().endswith(".csv"):
        return _read_csv_records(text, rel, kind, errors)
    return _read_yaml_records(text, rel, errors)


# ---------------------------------------------------------------- validating


def _unknown_field(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown field {name!r}{hint}"


def _got(value: Any) -> str:
    if isinstance(value, str):
        return f" (got {value!r})"
    return ""


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The nested model a pydantic `loc` points into, for "did you mean" hints."""
    from pydantic import BaseModel

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return None
        annotation = info.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        for candidate in candidates:
            for inner in [candidate, *getattr(candidate, "__args__", ())]:
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    current = inner
                    break
            else:
                continue
            break
        else:
            return None
    return current if isinstance(current, type) else None


def describe_error(err: Any, model: type[BaseModel]) -> tuple[tuple[Any, ...], str]:
    """A pydantic error as (location, message) in arledger's words."""
    loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    name = ".".join(str(p) for p in loc)
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1]) or model
        known = set(parent.model_fields) - {"source"}
        return loc, _unknown_field(str(loc[-1]), known)
    if kind == "missing":
        return loc, f"{name}: missing (required)"
    if kind == "value_error":
        message = str(ctx.get("error") or err["msg"]).removeprefix("Value error, ")
        if not loc:  # a record rule: "field: message" points at that field
            head = message.partition(":")[0]
            if head in model.model_fields:
                return (head,), message
            return loc, message
        return loc, f"{name}: {message}"
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        if kind == "greater_than" and str(bound) == "0":
            what = "must be greater than 0"
        elif str(bound) == "0":
            what = "must not be negative"
        else:
            relation = "greater than" if kind == "greater_than" else "at least"
            what = f"must be {relation} {bound}"
        return loc, f"{name}: {what}{_got(value)}"
    if kind in ("decimal_parsing", "decimal_type", "finite_number"):
        return (
            loc,
            f"{name}: not an amount{_got(value)}; write plain decimals like 1234.50",
        )
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        relation = "less than" if kind == "less_than" else "at most"
        return loc, f"{name}: must be {relation} {bound}{_got(value)}"
    if kind in ("int_parsing", "int_type", "int_from_float", "int_parsing_size"):
        return loc, f"{name}: not a whole number{_got(value)}"
    if kind in ("bool_parsing", "bool_type"):
        return (
            loc,
            f"{name}: not a yes/no value{_got(value)}; use true/false/yes/no/1/0",
        )
    if kind == "literal_error":
        return loc, f"{name}: must be one of {ctx.get('expected')}{_got(value)}"
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "currency":
        return loc, f"{name}: not an ISO 4217 currency code like USD{_got(value)}"
    if kind == "string_too_short":
        return loc, f"{name}: must not be empty"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return loc, f"{name}: expected `key: value` pairs{_got(value)}"
    if kind in ("list_type", "tuple_type"):
        return loc, f"{name}: expected a list{_got(value)}"
    if kind == "string_type":
        return loc, f"{name}: expected text, not a list or mapping"
    return loc, f"{name}: {err['msg'][0].lower()}{err['msg'][1:]}{_got(value)}"


def _model(name: str) -> type[Record]:
    """The pydantic model named `name` (importing pydantic: only a record the
    columns refuse, or one they cannot read, needs it)."""
    from arledger import model

    found: type[Record] = getattr(model, name)
    return found


def _validate(
    name: str,
    data: dict[str, Any],
    source: Source,
    locate: Callable[[tuple[Any, ...]], int],
    errors: list[LedgerError],
) -> Any:
    """Validate one record with its model; on failure, say where each problem is.
    Returns its row (rows.py), or None."""
    from pydantic import ValidationError

    rel = source.path
    if "source" in data:
        errors.append(
            LedgerError(Source(rel, locate(("source",))), "unknown field 'source'")
        )
        return None
    model = _model(name)
    try:
        return rows.row_of(model.model_validate({**data, "source": source}))
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc, message = describe_error(err, model)
            errors.append(LedgerError(Source(rel, locate(loc)), message))
        return None


# A record that failed: its id and customer as written, and where they are.
_Failure = tuple[Any, Any, Source]


def _validate_batch(
    model: type[Record] | str,
    batch: _Batch,
    errors: list[LedgerError],
    invoices: Mapping[str, Any] | None = None,
) -> list[Any]:
    """Every record of a batch as a row, or as what is known of it if it failed.

    Records are checked a column at a time (`_by_columns`) with the rules
    their model applies (`_shapes.py` is derived from the models); every
    record the columns refuse, or cannot read (an unknown field), is validated
    by its model (`model`, or its name), which says what is wrong.
    `invoices`: the invoices read so far by id (see `_by_columns`).
    """
    name = model if isinstance(model, str) else model.__name__
    rel, lines, locate = batch.rel, batch.lines, batch.locate
    records = batch.rows if isinstance(batch.rows, Sequence) else list(batch.rows)
    results: list[Any] = [None] * len(records)
    one_by_one: Iterable[int] = range(len(records))
    plan = _column_plan(name)
    if plan is not None:
        columns = batch.columns
        if columns is None:  # records read as mappings (YAML)
            columns = _columns_of(plan, records)  # type: ignore[arg-type]
        one_by_one = _by_columns(
            plan, columns, len(records), rel, lines, results, invoices
        )
    for i in one_by_one:
        data = records[i]
        source = Source(rel, lines[i])
        record = _validate(name, data, source, partial(locate, i), errors)
        if record is None:
            customer_line = locate(i, ("customer",))
            results[i] = (data.get("id"), data.get("customer"),
                          Source(rel, customer_line))  # fmt: skip
        else:
            results[i] = record
    return results  # type: ignore[return-value]


class _Plan(NamedTuple):
    """How records of one model are read by columns (from `_shapes.py`): the
    row type, each field's column rule and default, and the rules over
    fields."""

    row: type[tuple[Any, ...]]
    names: tuple[str, ...]  # the row's fields, in order
    rules: dict[str, Callable[[list[Any]], list[Any]]]
    defaults: dict[str, Any]
    required: frozenset[str]
    checks: tuple[tuple[tuple[str, ...], Callable[..., None]], ...]
    where: bool  # a record of a file: its rows say where it was written


_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda value, bound: value > bound,
    "ge": lambda value, bound: value >= bound,
    "lt": lambda value, bound: value < bound,
    "le": lambda value, bound: value <= bound,
}


def _refuse(indexes: Iterable[int]) -> rules.Bad:
    # The columns only decide which records are right; the model says why not.
    return rules.Bad(dict.fromkeys(indexes, ""))


class _Texts(rules.Stripped):
    """A column read from CSV cells: each value given is text already (only
    YAML can give a number, a list or a mapping where text is asked for),
    stripped of surrounding white space by the reader; `missing`: how many
    cells are empty (None), when the reader counted them; `shared`: the
    reader kept one string per value (`_csv_columns_fast`)."""

    __slots__ = ("missing", "shared")

    def __init__(self, values: Iterable[Any] = (), missing: int | None = None) -> None:
        super().__init__(values)
        self.missing = missing
        self.shared = False


def _not_text(values: list[Any]) -> list[int]:
    if type(values) is _Texts or set(map(type, values)) <= {str}:
        return []
    return [i for i, value in enumerate(values) if type(value) is not str]


def _by_rule(
    rule: rules.Rule, bounds: tuple[tuple[str, Any], ...]
) -> Callable[[list[Any]], list[Any]]:
    checks = [(_BOUNDS[op], bound) for op, bound in bounds]

    def convert(values: list[Any]) -> list[Any]:
        wrong = _not_text(values)
        if wrong:
            raise _refuse(wrong)
        found = rule(values)
        if checks:
            outside = [
                i
                for i, value in enumerate(found)
                if not all(check(value, bound) for check, bound in checks)
            ]
            if outside:
                raise _refuse(outside)
        return found

    return convert


def _choice(options: tuple[Any, ...]) -> Callable[[list[Any]], list[Any]]:
    allowed = frozenset(options)

    def convert(values: list[Any]) -> list[Any]:
        # As pydantic checks a Literal: the text exactly as given.
        wrong = _not_text(values)
        if not wrong and allowed.issuperset(values):
            return list(values)
        raise _refuse(
            i for i, v in enumerate(values) if type(v) is not str or v not in allowed
        )

    return convert


def _parts(
    values: list[Any], kind: type, inner: Callable[[list[Any]], list[Any]]
) -> tuple[list[Any], list[int]]:
    """The items of lists (or the values of mappings), converted by `inner`
    all at once, and how many each value has."""
    wrong = [i for i, value in enumerate(values) if type(value) is not kind]
    if wrong:
        raise _refuse(wrong)
    parts = [list(value.values() if kind is dict else value) for value in values]
    flat = [item for part in parts for item in part]
    sizes = list(map(len, parts))
    try:
        return (inner(flat) if flat else []), sizes
    except rules.Bad as bad:
        owner = [i for i, size in enumerate(sizes) for _ in range(size)]
        raise _refuse(owner[k] for k in bad.messages) from None


Convert = Callable[[list[Any]], list[Any]]


def _tuples(inner: Convert) -> Convert:
    def convert(values: list[Any]) -> list[Any]:
        flat, sizes = _parts(values, list, inner)
        found, start = [], 0
        for size in sizes:
            found.append(tuple(flat[start : start + size]))
            start += size
        return found

    return convert


def _mappings(inner: Convert) -> Convert:
    def convert(values: list[Any]) -> list[Any]:
        flat, _sizes = _parts(values, dict, inner)
        # Keys are text as written (the model would strip one with spaces).
        wrong = [
            i
            for i, value in enumerate(values)
            if any(type(key) is not str or key != key.strip() for key in value)
        ]
        if wrong:
            raise _refuse(wrong)
        items = iter(flat)
        return [{key: next(items) for key in value} for value in values]

    return convert


def _records(name: str) -> Callable[[list[Any]], list[Any]]:
    def convert(values: list[Any]) -> list[Any]:
        wrong = [i for i, value in enumerate(values) if type(value) is not dict]
        plan = _column_plan(name)
        if wrong or plan is None:
            raise _refuse(wrong or range(len(values)))
        found: list[Any] = [None] * len(values)
        left = _by_columns(plan, _columns_of(plan, values), len(values), "", [], found)
        if left:
            raise _refuse(left)
        return found

    return convert


def _never(values: list[Any]) -> list[Any]:
    raise _refuse(range(len(values)))


def _column_rule(spec: tuple[Any, ...]) -> Callable[[list[Any]], list[Any]]:
    """The column rule of a field from its spec in `_shapes.py`: converts the
    values given (never None), or raises rules.Bad for those it refuses."""
    kind = spec[0]
    if kind == "rule":
        return _by_rule(getattr(rules, spec[1]), spec[2])
    if kind == "choice":
        return _choice(spec[1])
    if kind == "str":  # plain text, stripped (the models' str_strip_whitespace)
        return _by_rule(rules.texts, ())
    if kind == "tuple":
        return _tuples(_column_rule(spec[1]))
    if kind == "dict":
        return _mappings(_column_rule(spec[1]))
    if kind == "model":
        return _records(spec[1])
    return _never  # what the columns cannot read: the model decides


@functools.cache
def _column_plan(name: str) -> _Plan | None:
    """The columns plan of a model (by name), from `_shapes.py`."""
    shape = _shapes.SHAPES[name]
    fields = shape["fields"]
    checks = tuple(
        (names, getattr(rules, rule)) for rule, names in shape["row_rules"]
    ) + tuple(((field,), getattr(rules, rule)) for field, rule in shape["field_rules"])
    return _Plan(
        row=rows.ROWS[name],
        names=tuple(field[0] for field in fields),
        rules={field[0]: _column_rule(field[1]) for field in fields},
        defaults={field[0]: rows.decode(field[3]) for field in fields if not field[2]},
        required=frozenset(field[0] for field in fields if field[2]),
        checks=checks,
        where=name in rows.RECORD_NAMES,
    )


def _columns_of(plan: _Plan, records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Records read as mappings, as columns: each field any record gives,
    None where a record does not give it."""
    named = set().union(*map(dict.keys, records)) if records else set()
    return {name: list(map(dict.get, records, repeat(name))) for name in named}


# Fields whose few values repeat over every record: each value is kept as one
# object (a reader makes a new string per cell; at a million payments the
# customers and methods alone would take 160 MB).
_REPEATED = frozenset({"customer", "method", "owner", "kind"})

# Free text that often repeats (an invoice's description is often a product's
# name): kept once per value when the first rows repeat.
_OFTEN_REPEATED = frozenset({"description"})
_SAMPLE = 1000


def _repeats(values: list[Any]) -> bool:
    """Whether the first values of a column repeat (a tenth or more of them)."""
    sample = values[:_SAMPLE]
    return len(set(sample)) * 10 <= len(sample) * 9


def _one_each(values: list[Any]) -> list[Any]:
    first: dict[Any, Any] = {}
    return list(map(first.setdefault, values, values))


def _share_invoices(columns: dict[str, list[Any]], invoices: Mapping[str, Any]) -> None:
    """Records naming an invoice read already keep the invoice's own id string
    and, when they give its amount written alike (`10.00` and `10.00`, not
    `10.0`), its Decimal: a payment in full is the common case (three in four
    in the benchmark's ledgers), and at a million payments the copies would
    take 135 MB. Their strings' hashes, computed once, serve every later
    lookup."""
    refs = columns["invoice"]
    # None, or a Source for an invoice that failed: getattr gives the default.
    named = list(map(invoices.get, refs))
    columns["invoice"] = list(map(getattr, named, repeat("id"), refs))
    if "amount" in columns:
        theirs = map(getattr, named, repeat("amount"), repeat(None))
        columns["amount"] = [
            same
            if same == amount and same is not None and not same.compare_total(amount)
            else amount
            for same, amount in zip(theirs, columns["amount"], strict=True)
        ]


def _subset(column: list[Any], indexes: Sequence[int]) -> list[Any]:
    """The values of a column at `indexes`, read from text as it was."""
    values = [column[k] for k in indexes]
    return _Texts(values) if type(column) is _Texts else values


def _by_columns(
    plan: _Plan,
    given_columns: dict[str, list[Any]],
    size: int,
    rel: str,
    lines: list[int],
    results: list[Any],
    invoices: Mapping[str, Any] | None = None,
) -> list[int]:
    """Check and convert the records of a batch a column at a time, filling
    `results` with rows; returns the indexes of the records left to the model
    (those giving a field it does not know, and those a rule refuses).

    `invoices` (the invoices read so far, by id): a record naming one of them
    shares the invoice's id and amount objects (`_share_invoices`)."""
    rules_of, required = plan.rules, plan.required
    unknown = [column for name, column in given_columns.items() if name not in rules_of]
    left = sorted(
        {k for column in unknown for k, value in enumerate(column) if value is not None}
    )
    plain: Sequence[int] = range(size)
    if left:
        taken = set(left)
        plain = [k for k in plain if k not in taken]
    count = len(plain)
    refused: set[int] = set()
    columns: dict[str, list[Any]] = {}
    for name in plan.names:
        default = plan.defaults.get(name)
        found = given_columns.get(name)
        column = [] if found is None else _subset(found, plain) if left else found
        if not column:
            missing = count
        elif column is found and type(found) is _Texts and found.missing is not None:
            missing = found.missing  # counted by the reader
        else:
            missing = column.count(None)
        if missing == count:  # not given: the default (a required field: refused)
            if name in required:
                refused.update(plain)
            columns[name] = [default] * count
            continue
        given: list[int] | None = None  # None: every record gives it
        if missing:
            given = list(compress(range(count), map(is_not, column, repeat(None))))
            if name in required:
                refused.update(plain[k] for k, v in enumerate(column) if v is None)
        values = column
        while True:
            try:
                if given is None:
                    values = rules_of[name](column)
                else:
                    converted = rules_of[name](_subset(column, given))
                    values = [default] * count
                    deque(map(values.__setitem__, given, converted), maxlen=0)
                break
            except rules.Bad as bad:
                # The model says what is wrong with these records; the rest
                # are converted without them (a rule judges each value alone).
                if given is None:
                    given = list(range(count))
                wrong = {given[n] for n in bad.messages}
                refused.update(plain[k] for k in wrong)
                given = [k for k in given if k not in wrong]
                if not given:
                    values = [default] * count
                    break
        if getattr(found, "shared", False) and values is found:
            pass  # one string per value already (the CSV reader's)
        elif name in _REPEATED or name in _OFTEN_REPEATED and _repeats(values):
            values = _one_each(values)
        columns[name] = values
    if invoices and "invoice" in columns:
        _share_invoices(columns, invoices)
    for fields, rule in plan.checks:  # over the records whose fields converted
        kept: Sequence[int] = range(count)
        if refused:
            kept = [k for k in kept if plain[k] not in refused]
        try:
            if len(kept) == count:
                rule(*(columns[name] for name in fields))
            else:
                rule(*([columns[name][k] for k in kept] for name in fields))
        except rules.Bad as bad:
            refused.update(plain[kept[n]] for n in bad.messages)
    new: Any = tuple.__new__
    row_type = plan.row
    ordered = [columns[name] for name in plan.names]
    if plan.where and not left and not refused:  # every record, in C
        results[:] = map(new, repeat(row_type), zip(*ordered, repeat(rel), lines))
        return left
    made = zip(*ordered, strict=True)
    if plan.where:
        for i, fields in zip(plain, made, strict=True):
            if i not in refused:
                results[i] = new(row_type, (*fields, rel, lines[i]))
    else:
        for i, fields in zip(plain, made, strict=True):
            if i not in refused:
                results[i] = new(row_type, fields)
    left.extend(refused)
    left.sort()
    return left


def _collect(
    kind: str,
    batch: _Batch,
    results: list[Record | _Failure],
    collected: _Collected,
    errors: list[LedgerError],
) -> None:
    """Add a file's records, reporting duplicate ids in reading order, each
    at its record's first line: what every reader of a file knows (the
    loader then points at the id's line, `_point_at_fields`, whichever reader
    took the file)."""
    check_ids = kind not in ("contacts", "confirmations")  # records without ids
    records = collected.records[kind]
    if tuple not in set(map(type, results)):  # no record failed (in C)
        ids = list(map(attrgetter("id"), results)) if check_ids else []
        seen = collected.first_seen[kind]
        if not check_ids:
            records.extend(results)
            return
        if None not in ids and _all_new(seen, ids, results):
            records.extend(results)
            return
    for i, result in enumerate(results):
        if type(result) is tuple:  # a _Failure (a row is a tuple subclass)
            record_id, customer, where = result
            if check_ids:
                id_source = Source(batch.rel, batch.locate(i, ()))
                collected.is_duplicate(kind, record_id, id_source, errors)
            if isinstance(record_id, str):
                collected.failed_ids[kind].add(record_id)
            if kind != "customers" and isinstance(customer, str):
                collected.failed_refs.append((customer, where))
            continue
        record_id = getattr(result, "id", None)
        if check_ids and isinstance(record_id, str):  # a payment's id is optional
            seen = collected.first_seen[kind]
            if record_id not in seen:
                seen[record_id] = result
            else:
                id_source = Source(batch.rel, batch.locate(i, ()))
                collected.is_duplicate(kind, record_id, id_source, errors)
                continue
        records.append(result)


def _all_new(seen: dict[str, Any], ids: list[str], results: list[Any]) -> bool:
    """Enter each of `ids` with its record in `seen`, in reading order, and
    say True, when none is in `seen` already nor twice among them; else leave
    `seen` as it was and say False.

    One pass in C (`setdefault` keeps what an id had), where asking first
    took two more over a million ids; only a file that repeats an id pays
    for taking its ids out again."""
    before = len(seen)
    deque(map(seen.setdefault, ids, results), maxlen=0)
    if len(seen) == before + len(ids):
        return True
    for record_id, result in zip(ids, results, strict=True):
        if seen.get(record_id) is result:  # entered just now: taken out
            del seen[record_id]
    return False


def _load_batch(
    kind: str,
    model: str,
    text: str | None,
    rel: str,
    collected: _Collected,
    errors: list[LedgerError],
    parsed: tuple[list[dict[str, Any]], list[int]] | YamlColumns | None = None,
    ahead: Future[_Cells] | None = None,
) -> None:
    """Read, validate and collect one file record by record (`parsed`: what
    read_yaml_columns or read_yaml_fast already made of it, columns or
    records; `ahead`: a big CSV file's cells, being cut already)."""
    invoices = collected.first_seen["invoices"]
    if isinstance(parsed, YamlColumns):
        lines = parsed.lines
        # Columns of text the reader found stripped, as the CSV reader's are.
        columns = {
            name: values if name not in parsed.texts
            else _Texts(values, parsed.texts[name])
            for name, values in parsed.columns.items()
        }  # fmt: skip
        batch = _Batch(rel, _ColumnRows(columns, len(lines)), lines,
                       lambda i, loc: lines[i], exact=False)  # fmt: skip
        batch.columns = columns
    elif parsed is not None:
        records, lines = parsed
        batch = _Batch(rel, records, lines, lambda i, loc: lines[i], exact=False)
    elif text is not None and rel.lower().endswith(".csv"):
        batch, chunks = _read_csv_by_chunks(
            text, rel, kind, model, invoices, errors, ahead
        )
    else:  # YAML the fast reader declined
        batch = _read_batch(text, rel, kind, errors)
    problems: list[LedgerError] = []
    if batch.chunked:  # each chunk validated as it was read
        results = [result for done, _, _ in chunks for result in done]
        batch.lines[:] = [line for _, lines, _ in chunks for line in lines]
        for _, _, said in chunks:
            problems.extend(said)
        del chunks
    else:
        results = _validate_batch(model, batch, problems, invoices)
    if problems and not batch.exact:
        # Read it again through PyYAML, which knows every key's line.
        batch = _read_batch(text, rel, kind, errors)
        problems = []
        results = _validate_batch(model, batch, problems, invoices)
    errors.extend(problems)
    _collect(kind, batch, results, collected, errors)
    if batch.broken:
        collected.unread.add(kind)
    collected.failed_ids[kind].update(batch.refused_ids)


def _read_csv_by_chunks(
    text: str,
    rel: str,
    kind: str,
    model: str,
    invoices: Mapping[str, Any],
    errors: list[LedgerError],
    ahead: Future[_Cells] | None = None,
) -> tuple[_Batch, list[tuple[list[Any], list[int], list[LedgerError]]]]:
    """A CSV file read and validated a chunk of rows at a time, while every
    row is a line that fits the header: (the file's batch, and for each chunk
    its results, lines and problems). Each chunk's texts are let go once its
    records are made, and their memory reused by the next, where a file read
    whole would leave it full of holes. When `batch.chunked` is not set, the
    file had something to say and `batch` holds it whole (the chunks are to
    be dropped, since what they said is said again)."""
    chunks: list[tuple[list[Any], list[int], list[LedgerError]]] = []

    def validate(
        columns: dict[str, list[Any]], lines: list[int], problems: list[LedgerError]
    ) -> None:
        part = _Batch(
            rel, _ColumnRows(columns, len(lines)), lines, lambda i, loc: lines[i]
        )
        part.columns = columns
        results = _validate_batch(model, part, problems, invoices)
        chunks.append((results, lines, problems))

    return _read_csv_records(text, rel, kind, errors, validate, ahead), chunks


def _load_settings(
    root: Path, errors: list[LedgerError]
) -> tuple[Settings, list[Path]]:
    """The settings of `arledger.yaml` as a row (rows.py); the defaults
    where it is missing or wrong."""
    path = root / SETTINGS_FILE
    default = rows.defaults("Settings")
    if not os.path.lexists(path):
        return default, []
    why = _unreadable(path, folder=False)
    if why is not None:
        errors.append(LedgerError(Source(SETTINGS_FILE, 1), why))
        return default, []
    text = _read_text(path, SETTINGS_FILE, errors)
    plan = _column_plan("Settings")
    data = read_yaml_mapping_fast(text) if text is not None else None
    if data is not None and plan is not None:  # plain YAML, as records are read
        found: list[Any] = [None]
        if not _by_columns(plan, _columns_of(plan, [data]), 1, "", [], found):
            return found[0], [path]
    node, readable = (
        _compose(text, SETTINGS_FILE, errors) if text is not None else (None, False)
    )
    if node is None or not readable:
        return default, [path]
    if not isinstance(node, yaml.MappingNode):
        errors.append(
            LedgerError(
                Source(SETTINGS_FILE, node.start_mark.line + 1),
                "expected settings as `key: value` pairs",
            )
        )
        return default, [path]
    try:
        data = _node_value(node, SETTINGS_FILE, errors)
    except _Refused as exc:
        errors.append(LedgerError(Source(SETTINGS_FILE, exc.line), exc.message))
        return default, [path]
    if plan is not None:  # as every record: by columns, the model if refused
        found = [None]
        if not _by_columns(plan, _columns_of(plan, [data]), 1, "", [], found):
            return found[0], [path]
    settings = _validate(
        "Settings", data, Source(SETTINGS_FILE, 1), _yaml_locator(node), errors
    )
    return (default if settings is None else settings), [path]


def record_files(root: Path) -> list[Path]:
    """Every record file of a ledger directory, in the order `load` reads them."""
    found = _scan(root)
    return [file for kind in KINDS for file in found.files[kind]]


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    on_file: Callable[[Path], None] | None = None,
    keep_cells: bool = True,
    settle_ahead: Ahead | None = None,
) -> tuple[Ledger, list[LedgerError]]:
    """Load a ledger directory.

    Args:
        path: the ledger directory (None: `$ARLEDGER_DIR`, else the current one).
        on_file: called with each record file once it is read (for progress).
        keep_cells: whether a big ledger's bulk records may be kept as cells
            (`_defer`); False for a caller that reads every record anyway,
            which would hold the cells and the rows at once.
        settle_ahead: the settlement a caller will make of every customer
            and currency: of records kept as cells, it is made while the
            loader's checks run (`settle.Ahead`, `Cells.make_ahead`).

    Returns:
        The ledger of every record that validated, and every problem found (errors
        and warnings), sorted by file and line.

    Raises:
        LedgerNotFound: when there is no ledger at `path`.
    """
    root = find_ledger(path)
    found = _scan(root)
    errors: list[LedgerError] = list(found.problems)
    settings, files = _load_settings(root, errors)
    collected = _Collected()
    collected.unread |= found.unread
    todo = [(kind, file) for kind in KINDS for file in found.files[kind]]
    defer = keep_cells and _deferring(found)
    held: list[_Held] = []
    for kind, file, rel, text, cells, stamp in _read_ahead(root, todo, errors, defer):
        files.append(file)
        if defer and kind in BULK_KINDS:  # read on a thread (`_read_held`)
            assert cells is not None
            held.append(_hold(kind, file, rel, cells, stamp, errors))
            del text, cells
            if on_file is not None:
                on_file(file)
            continue
        parsed: tuple[list[dict[str, Any]], list[int]] | YamlColumns | None = None
        if text is not None and not rel.lower().endswith(".csv"):
            parsed = read_yaml_columns(text) or read_yaml_fast(text)
        model = _shapes.KINDS[kind]
        _load_batch(kind, model, text, rel, collected, errors, parsed, cells)
        del text, parsed, cells
        if on_file is not None:
            on_file(file)
    if held:
        deferred = _defer(root, settings, collected, files, held, errors, settle_ahead)
        if deferred is not None:
            errors.sort(key=LedgerError.sort_key)
            return deferred, errors
        for one in held:  # something to say, or not sure: the rows say it
            text = _read_text(one.path, one.rel, errors) if one.read else None
            # Cells of the text read before, unless the file changed since.
            cut = one.cells if _stamp(one.path) == one.stamp else None
            model = _shapes.KINDS[one.kind]
            _load_batch(one.kind, model, text, one.rel, collected, errors, None,
                        _done(cut))  # fmt: skip
        del held
    ledger = _build(root, settings, collected, files)
    for check in CROSS_CHECKS:
        errors.extend(check(ledger, collected))
    errors = _point_at_fields(root, errors)
    errors.sort(key=LedgerError.sort_key)
    return ledger, errors


def _read_ahead(
    root: Path,
    todo: list[tuple[str, Path]],
    errors: list[LedgerError],
    defer: bool = False,
) -> Iterator[tuple[str, Path, str, str | None, Future[Any] | None, Any]]:
    """Each (kind, file) of `todo` with its path from `root`, its text (None
    when it cannot be read: the reason is in `errors`) and, for a big CSV file
    of a bulk kind, its cells being cut by pyarrow (`_arrow_cells`), in a
    thread of their own. With `defer`, every file of a bulk kind is read,
    looked over and cut on a thread of its own, and given as that work
    (`_read_held`), with its stamp, in place of its text and cells: `_defer`
    may keep its cells in place of rows.

    Files are read ahead (one, or with `defer` four): the next file's text
    is read, and its cells cut, while this one is validated. Reading, the
    look over the bytes and pyarrow's cutting let go of the GIL, so on two
    cores two bulk files are read at once; holding one file more at a time
    costs its text and cells."""
    pool = None

    def submit(job: Callable[..., Any], *args: Any) -> Future[Any]:
        nonlocal pool
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(2 if defer else 1, "arledger-read-ahead")
        return pool.submit(job, *args)

    def read(kind: str, file: Path) -> tuple[str, Path, str, Any, Any, Any]:
        rel = file.relative_to(root).as_posix()
        if defer and kind in BULK_KINDS:
            # The file as it was before it is read: a change from then on is
            # seen when its rows are made (`_make_rows`).
            stamp = _stamp(file)
            job = submit(_read_held, kind, file, rel)
            return kind, file, rel, None, job, stamp
        text = _read_text(file, rel, errors)
        cells = None
        if (
            text is not None
            and len(text) >= _ARROW_MIN_CHARS
            and rel.lower().endswith(".csv")
            and _column_plan(_shapes.KINDS[kind]) is not None
            and (width := _header_width(_first_line(text))) is not None
        ):
            cells = submit(_arrow_cells, text, width)
        return kind, file, rel, text, cells, None

    # Kept as cells, a file's records cost next to nothing while the next
    # are cut: two files are cut at a time, one on each core, and four are
    # read ahead, so that a core is never left waiting for the main thread
    # to read the next file's bytes.
    depth = 4 if defer else 1
    try:
        taken: deque[Any] = deque()
        for kind, file in todo:
            taken.append(read(kind, file))
            if len(taken) > depth:
                yield taken.popleft()
        while taken:
            yield taken.popleft()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _first_line(text: str | bytes) -> str:
    """The first line of a file's text or UTF-8 bytes, with its end."""
    if isinstance(text, str):
        return text[: text.find("\n") + 1 or len(text)]
    return text[: text.find(b"\n") + 1 or len(text)].decode()


def _header_width(text: str) -> int | None:
    """The cells of a CSV file's header where its first line holds no quote
    and no carriage return but at its end (then that line is the header as
    `_csv_cells` reads it, whatever follows); else None. Only the first line
    is looked at: reading the header as `_csv_cells` does first scans the
    whole text for carriage returns."""
    first = text[: text.find("\n") + 1 or len(text)]
    if '"' in first or "\r" in first.removesuffix("\r\n"):
        return None
    return len(next(csv.reader([first])))


# ------------------------------------------------------- bulk records as cells
# docs/columnar.md, stage 3: the invoices, payments and adjustments of a big
# ledger of CSV files stay the cells pyarrow cut, when they are surely clean,
# and are made rows by the path above only when some code reads them.

BULK_KINDS = ("invoices", "payments", "adjustments")

# The bytes of CSV files of the bulk kinds from which their cells are kept in
# place of rows. Measured (`aging`, in turn, medians of 3): 10,000 invoices
# (1.7 MB) 0.24 s as cells against 0.18 s as rows, pyarrow's import and pool
# costing more than the rows; 30,000 (5 MB) 0.31 s against 0.40 s; 100,000
# (17 MB) 0.54 s against 1.06 s.
DEFER_BYTES = 4 << 20

# ARLEDGER_BULK=always keeps the cells of any ledger that allows it, whatever
# its size (the test suite runs both ways); =never makes rows of every one.
_BULK_SWITCH = "ARLEDGER_BULK"


def _deferring(found: _Found) -> bool:
    """Whether to cut every bulk file and try to keep their cells: every file
    of the bulk kinds is CSV, together big enough, and pyarrow is there."""
    switch = os.environ.get(_BULK_SWITCH, "")
    if switch == "never":
        return False
    paths = [path for kind in BULK_KINDS for path in found.files[kind]]
    if not paths or not all(p.suffix.lower() == ".csv" for p in paths):
        return False
    if switch != "always":
        try:
            if sum(p.stat().st_size for p in paths) < DEFER_BYTES:
                return False
        except OSError:
            return False
    try:
        import pyarrow
    except ImportError:
        return False
    # The checks and the settlement's columns compute in pyarrow's default
    # pool: its mimalloc kept 300-400 MB of freed temporaries at a million
    # rows. In jemalloc, memory freed is given back after a second rather
    # than at once: these compute in many short steps, and at once each
    # step's pages were faulted in anew (`aging` at 1M: 958,000 page faults,
    # 2.1 s of system time, against 507,000 and 1.1 s with 100 ms; its peak
    # 1,152 MiB against 1,056 MiB). A second against 100 ms, with files read
    # four ahead (`_read_ahead`), medians of 8 in turn: 2.66 s against
    # 2.85 s, 358,000 faults against 386,000, the peak 1,048 MiB against
    # 1,002 MiB; never giving memory back faulted as often, its peak 1,143.
    pool = _arrow_pool()
    pyarrow.set_memory_pool(pool)
    if pool.backend_name == "jemalloc":
        pyarrow.jemalloc_set_decay_ms(1000)
    return True


class _Held(NamedTuple):
    """A bulk file read and cut, while it is not known whether it is kept as
    cells (`_defer`) or made rows."""

    kind: str
    path: Path
    rel: str
    stamp: tuple[int, int, int] | None  # (size, mtime ns, inode) as read
    read: bool  # its text was read (else the reason is said already)
    cells: _Cells | None
    # Its cells by field, as `arrow_columns` reads them; None when it cannot
    # be kept so (the rows say why); no file: a header and no rows.
    file: Any
    # The columns of `cells` that are fields, as `_csv_cells` names them.
    names: list[tuple[int, str, bool]] = []


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class _Read(NamedTuple):
    """A bulk file read, looked over and cut (`_read_held`)."""

    utf8: _Utf8 | None  # None: not read (the reason is in `errors`)
    cells: _Cells | None  # None: not cut (not a CSV file of this kind's columns)
    errors: list[LedgerError]


def _read_held(kind: str, path: Path, rel: str) -> _Read:
    """A bulk file's bytes (`_read_utf8`) and their cells (`_arrow_cells`),
    the columns of the fields `_later_fields` names left for later, on a
    thread of the read-ahead pool: the read, the look over the bytes and the
    cutting each let go of the GIL, so two files are read at once, from the
    start. What it has to say is in its own `errors`."""
    errors: list[LedgerError] = []
    utf8 = _read_utf8(path, rel, errors)
    later = _later_fields(kind)
    cells = None
    if (
        utf8 is not None
        and rel.lower().endswith(".csv")
        and _column_plan(_shapes.KINDS[kind]) is not None
        and (width := _header_width(first := _first_line(utf8.data))) is not None
    ):
        header = [name.strip() for name in next(csv.reader([first]))]
        left = [k for k, name in enumerate(header) if name in later]
        cells = _arrow_cells(utf8.data, width, left)
    return _Read(utf8, cells, errors)


@functools.cache
def _warm_up() -> None:
    """Import what proving bulk files clean and settling from their cells
    will import, once, while the threads read the files: the main thread
    waits for them then, and after them every step waits for it (0.1 s:
    pyarrow's compute functions, and acero's modules, which its group_by
    imports)."""
    import pyarrow.acero  # noqa: F401

    from arledger import arrow_checks, settle  # noqa: F401


@functools.cache
def _later_fields(kind: str) -> frozenset[str]:
    """The fields of a bulk kind whose cells are cut only when asked for:
    texts that no check and no column of the kernel reads (descriptions,
    POs, references). At a million invoices, cutting, trimming and encoding
    them took 0.28 s of the threads reading the files."""
    from arledger import arrow_checks

    return arrow_checks.read_by_none(kind)


def _hold(
    kind: str,
    path: Path,
    rel: str,
    ahead: Future[_Read],
    stamp: tuple[int, int, int] | None,
    errors: list[LedgerError],
) -> _Held:
    """A bulk file's cells, and its cells by field where each row is one line
    of the header's cells, as the row path would read them (`_arrow_chunks`'
    conditions) under a header with nothing to say; what reading it said
    added to `errors`."""
    _warm_up()  # the first time, while the files are read
    done = ahead.result()
    errors.extend(done.errors)
    utf8, cells = done.utf8, done.cells
    if utf8 is None or cells is None or cells.columns is None:
        return _Held(kind, path, rel, stamp, utf8 is not None, cells, None)
    held = _Held(kind, path, rel, stamp, True, cells, None)
    file, names = _by_field(kind, rel, utf8, cells, partial(_cut_later, held))
    return held._replace(file=file, names=names)


def _by_field(
    kind: str,
    rel: str,
    utf8: _Utf8,
    cells: _Cells,
    later: Callable[[int], Any],
) -> tuple[Any, list[tuple[int, str, bool]]]:
    """`_Held.file` of a file's bytes (`_read_utf8`) and cells: None, or a
    file of no rows (False), or its `arrow_columns.BulkFile`; with its
    `_Held.names`. `later(index)` cuts a column left for later."""
    from arledger.arrow_columns import BulkFile

    data = utf8.data
    first = _first_line(data)
    width = _header_width(first)
    if width is None or width != cells.width:
        return None, []
    header = [h.strip() for h in next(csv.reader([first]))]
    problems, missing = _csv_header(header, kind)
    if _not_comma_separated(header) is not None or problems:
        return None, []
    if data.find(b"\n") in (-1, len(data) - 1):
        return False, []  # a header alone: no records, nothing to check
    lines = utf8.rows
    if missing is not None or lines is None:
        return None, []
    if cells.rows != lines.lines or not lines.plain_quotes:
        return None, []
    columns = cells.columns
    assert columns is not None
    names = _known_columns(header, kind)
    by_name = {name: columns[i] for i, name, _ in names if columns[i] is not None}
    left = {name: partial(later, i) for i, name, _ in names if columns[i] is None}
    return BulkFile(rel, by_name, None, left), names


def _cut_later(one: _Held, index: int) -> Any:
    """Column `index` of a bulk file kept as cells, cut now if it was left
    for later (`_arrow_cells`), from the file as it was read."""
    cells = one.cells
    assert cells is not None and cells.columns is not None
    if cells.columns[index] is None:
        _complete(cells, _read_unchanged(one, _read_bytes))
    return cells.columns[index]


def _read_unchanged(
    one: _Held, read: Callable[[Path, str, list[LedgerError]], AnyStr | None]
) -> AnyStr:
    """A held file read again (its text or bytes, by `read`), unless it
    changed since it was first read (or cannot be read now): then that is
    said."""
    from arledger.errors import LedgerInvalid

    errors: list[LedgerError] = []
    again = read(one.path, one.rel, errors)
    if again is None or _stamp(one.path) != one.stamp:  # looked at once read
        message = "changed while arledger was reading the ledger; "
        raise LedgerInvalid(
            [LedgerError(Source(one.rel, 1), message + "run the command again")]
        )
    return again


def _done(cells: _Cells | None) -> Future[_Cells] | None:
    """Cells cut already, as `_load_batch` takes cells being cut."""
    if cells is None:
        return None
    from concurrent.futures import Future

    done: Future[_Cells] = Future()
    done.set_result(cells)
    return done


def _defer(
    root: Path,
    settings: Settings,
    collected: _Collected,
    files: list[Path],
    held: list[_Held],
    errors: list[LedgerError],
    settle_ahead: Ahead | None = None,
) -> Ledger | None:
    """The ledger with its bulk records kept as cells (arledger/bulk.py), when
    the row path would say nothing about the ledger: no error so far, every
    bulk file held by field, the other records naming no invoice and passing
    the cross-checks, and the bulk records surely clean
    (`arrow_checks.why_not_clean`). None otherwise: then rows are made, and
    they say what is wrong."""
    from arledger import arrow_checks
    from arledger.arrow_columns import Cells
    from arledger.bulk import Bulk, BulkInvoices, later_adjustments, later_payments

    if any(not e.warning for e in errors) or any(h.file is None for h in held):
        return None
    if collected.unread or any(collected.failed_ids.values()):
        return None
    records = collected.records
    if any(c.invoice is not None for c in records["contacts"]) or any(
        p.invoices for p in records["plans"]
    ):
        return None  # their cross-checks read the invoices they name
    ledger = _build(root, settings, collected, files)
    for check in CROSS_CHECKS:  # the rows' records: none is a bulk one
        if check(ledger, collected):
            return None
    # The rules' results are kept with the cells, for the kernel's columns.
    by_kind = Cells(
        {
            kind: [h.file for h in held if h.kind == kind and h.file]
            for kind in BULK_KINDS
        }
    )
    ahead = None
    if settle_ahead is not None:
        from arledger.settle import begin_ahead

        ahead = begin_ahead(ledger, by_kind, settle_ahead)
    why = arrow_checks.why_not_clean(by_kind, ledger.customers, settings, ahead)
    if why is not None:
        return None
    counts = {kind: 0 for kind in BULK_KINDS}
    for one in held:
        if one.file and one.cells is not None:  # a header alone adds none
            counts[one.kind] += one.cells.rows
    bulk = Bulk(by_kind, counts, partial(_make_rows, held), partial(_some_rows, held))
    return replace(
        ledger,
        invoices=BulkInvoices(bulk),
        payments=later_payments(bulk),
        adjustments=later_adjustments(bulk),
        bulk=bulk,
    )


def _make_rows(
    held: list[_Held],
) -> tuple[dict[str, Any], tuple[Any, ...], tuple[Any, ...]]:
    """The rows of bulk files kept as cells (`_defer`), made by the row path
    as `load` would have made them. They were surely clean: a file changed
    since is reported; anything else said is a fault of `arrow_checks`."""
    collected = _Collected()
    errors: list[LedgerError] = []
    held.reverse()
    while held:  # each file's cells let go once its rows are made
        one = held.pop()
        text = _read_unchanged(one, _read_text)
        model = _shapes.KINDS[one.kind]
        _load_batch(one.kind, model, text, one.rel, collected, errors, None,
                    _done(one.cells))  # fmt: skip
        del one, text
    if errors:
        raise AssertionError(
            "arledger: records kept as cells were not clean after all: "
            + "; ".join(map(str, errors[:3]))
        )
    invoices = collected.first_seen["invoices"]
    return (
        invoices,
        tuple(collected.records["payments"]),
        tuple(collected.records["adjustments"]),
    )


def _line_of(lines: list[int], i: int, loc: tuple[Any, ...]) -> int:
    return lines[i]


def _some_rows(
    held: list[_Held], pick: Callable[[str, int, Any], Any]
) -> tuple[dict[str, Any], tuple[Any, ...], tuple[Any, ...]]:
    """The rows of some records kept as cells (`_defer`), made by the row
    path from the cells proved clean, as `_make_rows` makes every row: the
    same rows, in reading order. `pick(kind, number, file)` gives the rows
    wanted of the kind's file `number` (an `arrow_columns.BulkFile`), as a
    pyarrow array of their places in the file, ascending (None: none)."""
    collected = _Collected()
    errors: list[LedgerError] = []
    numbers = dict.fromkeys(BULK_KINDS, -1)
    for one in held:
        if not one.file:
            continue  # a header alone
        numbers[one.kind] += 1
        at = pick(one.kind, numbers[one.kind], one.file)
        if at is None or not len(at):
            continue
        cells = one.cells
        assert cells is not None and cells.columns is not None
        texts = [
            _Texts(_cell_values(_cut_later(one, index).take(at), cells.values[index]))
            for index, _, _ in one.names
        ]
        lines = [row + 2 for row in at.to_pylist()]  # a header, then a row a line
        columns, kept = _texts_to_columns(one.rel, one.names, texts, lines, errors)
        batch = _Batch(
            one.rel, _ColumnRows(columns, len(kept)), kept, partial(_line_of, kept)
        )
        batch.columns = columns
        model = _shapes.KINDS[one.kind]
        invoices = collected.first_seen["invoices"]
        results = _validate_batch(model, batch, errors, invoices)
        _collect(one.kind, batch, results, collected, errors)
    if errors:
        raise AssertionError(
            "arledger: records kept as cells were not clean after all: "
            + "; ".join(map(str, errors[:3]))
        )
    return (
        collected.first_seen["invoices"],
        tuple(collected.records["payments"]),
        tuple(collected.records["adjustments"]),
    )


def _build(
    root: Path, settings: Settings, collected: _Collected, files: list[Path]
) -> Ledger:
    records = collected.records
    return Ledger(
        root=root,
        settings=settings,
        customers={c.id: c for c in records["customers"]},
        # Every id read is in first_seen already, with its record, unless some
        # invoice failed (then it holds that one's Source): no second dict.
        invoices=collected.first_seen["invoices"]
        if not collected.failed_ids["invoices"]
        else {i.id: i for i in records["invoices"]},
        payments=tuple(records["payments"]),
        adjustments=tuple(records["adjustments"]),
        contacts=tuple(records["contacts"]),
        plans=tuple(records["plans"]),
        confirmations=tuple(records["confirmations"]),
        files=tuple(files),
    )


def _point_at_fields(root: Path, errors: list[LedgerError]) -> list[LedgerError]:
    """Move errors said at a record's first line about one of its fields (the
    cross-checks', a duplicate id) to that field's line.

    Records do not keep the line of every key (that would cost memory on every
    record of a large ledger); the few YAML files with such errors are composed
    again instead.
    """
    wanted: dict[str, list[int]] = {}
    for i, error in enumerate(errors):
        if error.field and error.source and not error.source.path.endswith(".csv"):
            wanted.setdefault(error.source.path, []).append(i)
    result = list(errors)
    for rel, indexes in wanted.items():
        try:
            text = (root / rel).read_text(encoding="utf-8-sig")
            node = yaml.compose(text, Loader=_yaml_loader())
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if node is None:
            continue
        starts = {n.start_mark.line + 1: n for n in getattr(node, "value", ())}
        if isinstance(node, yaml.MappingNode):  # arledger.yaml
            starts = {1: node}
        for i in indexes:
            error = errors[i]
            record = starts.get(error.source.line)  # type: ignore[union-attr]
            if record is not None and error.field:
                line = _yaml_locator(record)(error.field)
                result[i] = replace(error, source=Source(rel, line))
    return result


# ---------------------------------------------------------------- cross-checks
# Each check returns a list of errors and looks at one concern (beancount's
# validation.py). The ids of records that failed validation are known: a
# reference to one of them is not reported again.


def check_customers_exist(ledger: Ledger, collected: _Collected) -> list[LedgerError]:
    if "customers" in collected.unread:
        return []  # which customers exist is not known: the file says why, once
    errors = []
    known = ledger.customers.keys() | collected.failed_ids["customers"]
    references = [
        (record.customer, record.source)
        for records in (
            ledger.invoices.values(),
            ledger.payments,
            ledger.adjustments,
            ledger.contacts,
            ledger.plans,
            ledger.confirmations,
        )
        for record in records
        if record.customer not in known
    ]
    for customer, source in references + collected.failed_refs:
        if customer not in known:
            close = difflib.get_close_matches(customer, ledger.customers, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append(
                LedgerError(
                    source,
                    f"customer: unknown customer {customer!r}{hint}",
                    field=("customer",),
                )
            )
    return errors


def _field(name: str, invoice_id: str) -> tuple[str, ...]:
    return (name, invoice_id) if name == "allocations" else (name,)


def check_references(ledger: Ledger, collected: _Collected) -> list[LedgerError]:
    """Named invoices exist, belong to the same customer and share its currency;
    and a warning for a payment larger than the invoice it names.

    Only records of known customers are looked at (an unknown customer is
    reported by check_customers_exist). Each kind is walked on its own, so
    that a million payments cost one `judge` call per invoice named.
    """
    errors: list[LedgerError] = []
    failed = collected.failed_ids
    skip_customers = failed["customers"]
    invoices_unread = "invoices" in collected.unread
    failed_invoices = failed["invoices"]
    find = ledger.invoices.get
    customers = ledger.customers
    currency_of = ledger.currency_of

    def judge(
        record: Any, what: str, name: str, invoice_id: str, amount: Decimal | None
    ) -> None:
        """One invoice a record names (`name`: the field naming it)."""
        invoice = find(invoice_id)
        if invoice is None:
            if invoice_id not in failed_invoices and not invoices_unread:
                errors.append(
                    LedgerError(
                        record.source,
                        f"{name}: unknown invoice {invoice_id!r}",
                        field=_field(name, invoice_id),
                    )
                )
            return
        if invoice.customer != record.customer:
            if invoice.customer not in skip_customers:
                errors.append(
                    LedgerError(
                        record.source,
                        f"{name}: invoice {invoice_id!r} belongs to customer "
                        f"{invoice.customer!r}, not {record.customer!r}",
                        field=_field(name, invoice_id),
                    )
                )
            return
        if what == "contact":
            return  # a contact has no currency of its own
        if what == "payment" and amount is not None and amount > invoice.amount:
            errors.append(_over_invoice(record, name, invoice_id, amount, invoice))
        if record.currency is None and name == "invoice":
            return  # it takes the currency of the one invoice it names
        invoice_currency = invoice.currency or currency_of(invoice)
        currency = record.currency or currency_of(record)
        if invoice_currency != currency:
            errors.append(
                LedgerError(
                    record.source,
                    f"currency: {what} in {currency} cannot settle invoice "
                    f"{invoice_id!r} in {invoice_currency}",
                    field=(
                        ("currency",) if record.currency else _field(name, invoice_id)
                    ),
                )
            )

    for payment in ledger.payments:
        if payment.customer not in customers:
            continue
        if payment.allocations:
            for invoice_id, amount in payment.allocations.items():
                judge(payment, "payment", "allocations", invoice_id, amount)
        elif payment.invoice is not None:
            judge(payment, "payment", "invoice", payment.invoice, payment.amount)
    for adjustment in ledger.adjustments:
        if adjustment.invoice is not None and adjustment.customer in customers:
            judge(adjustment, "adjustment", "invoice", adjustment.invoice, None)
    for contact in ledger.contacts:
        if contact.invoice is not None and contact.customer in customers:
            judge(contact, "contact", "invoice", contact.invoice, None)
    for plan in ledger.plans:
        if plan.invoices and plan.customer in customers:
            for invoice_id in plan.invoices:
                judge(plan, "plan", "invoices", invoice_id, None)
    return errors


def _over_invoice(
    payment: Any, name: str, invoice_id: str, amount: Decimal, invoice: Any
) -> LedgerError:
    """A payment larger than the invoice it names: allowed (the excess is applied
    oldest-first), but often a typo, so it is worth a warning."""
    return LedgerError(
        payment.source,
        f"pays {amount} against invoice {invoice_id!r} of "
        f"{invoice.amount}; the excess is applied to other items",
        warning=True,
        field=_field(name, invoice_id),
    )


_currency, _customer = attrgetter("currency"), attrgetter("customer")
_amount, _schedule = attrgetter("amount"), attrgetter("schedule")
_allocations = attrgetter("allocations")


def check_minor_units(ledger: Ledger, collected: _Collected) -> list[LedgerError]:
    """Amounts carry no more decimals than their currency has (cents for USD)."""
    errors = []

    currency_of = ledger.currency_of
    currencies: set[str | None] = {ledger.settings.currency}
    currencies.update(c.currency for c in ledger.customers.values() if c.currency)
    for records in (ledger.invoices.values(), ledger.payments, ledger.adjustments):
        currencies.update(map(_currency, records))
    currencies.discard(None)
    allowed = min(minor_units(c) for c in currencies if c is not None)
    # Amounts with at most this many decimals are fine in every currency here.
    fine = -allowed

    def check(record: Any, label: str, amount: Decimal) -> None:
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= fine:
            return
        currency = currency_of(record)
        if has_excess_places(amount, currency):
            where = tuple(int(p) - 1 if p.isdigit() else p for p in label.split("."))
            errors.append(
                LedgerError(
                    record.source,
                    f"{label}: {amount} has more decimals than {currency} allows",
                    field=where,
                )
            )

    def unchecked(records: Iterable[Any]) -> list[Any]:
        known = ledger.customers.__contains__
        records = list(records)
        return list(compress(records, map(known, map(_customer, records))))

    def all_fine(amounts: Iterable[Decimal]) -> bool:
        """Whether no amount has more than `allowed` decimals, asked of them
        all at once (in C): an exact sum has the smallest exponent of its
        terms."""
        with localcontext() as exact:
            exact.prec = MAX_PREC
            total = sum(amounts, Decimal(0))
        exponent = total.as_tuple().exponent
        return isinstance(exponent, int) and exponent >= fine

    # Each group's amounts are first asked of every record at once: when none
    # has more decimals than every currency here allows, no record of a known
    # customer has, and no record need be picked or looked at (at a million
    # records, the usual case). Else the known customers' records are checked
    # one by one, in the same order.
    invoices = ledger.invoices.values()
    others = (*ledger.payments, *ledger.adjustments)
    for group in (invoices, others):
        if not all_fine(map(_amount, group)):
            for record in unchecked(group):
                check(record, "amount", record.amount)
    scheduled = list(filter(_schedule, invoices))
    if not all_fine(map(_amount, chain.from_iterable(map(_schedule, scheduled)))):
        for invoice in unchecked(scheduled):
            for n, instalment in enumerate(invoice.schedule, 1):
                check(invoice, f"schedule.{n}.amount", instalment.amount)
    for plan in unchecked(ledger.plans):
        for n, instalment in enumerate(plan.instalments, 1):
            check(plan, f"instalments.{n}.amount", instalment.amount)
    for confirmation in unchecked(ledger.confirmations):
        check(confirmation, "balance", confirmation.balance)
    given = map(getattr, others, repeat("allocations"), repeat(None))
    split = list(compress(others, given))
    if not all_fine(chain.from_iterable(map(dict.values, map(_allocations, split)))):
        for record in unchecked(split):
            for invoice_id, amount in record.allocations.items():
                check(record, f"allocations.{invoice_id}", amount)
    return errors


CROSS_CHECKS: tuple[Callable[[Ledger, _Collected], list[LedgerError]], ...] = (
    check_customers_exist,
    check_references,
    check_minor_units,
)


# ------------------------------------------------------- records made elsewhere
# An import (importer.py) makes records from another program's export; they go
# through the same models and cross-checks as the rows of a ledger file.


def validate_rows(
    kind: str, rel: str, rows: list[dict[str, Any]], lines: list[int]
) -> tuple[list[Any], list[LedgerError]]:
    """Rows of text values (as a ledger file's reader gives them) as records of
    `kind`, each located at `rel:line`; None for a row that failed."""
    errors: list[LedgerError] = []
    batch = _Batch(rel, rows, lines, lambda i, loc: lines[i])
    results = _validate_batch(_shapes.KINDS[kind], batch, errors)
    return [None if type(r) is tuple else r for r in results], errors


def cross_check(
    ledger: Ledger,
    added: dict[str, list[Any]],
    failed: dict[str, set[str]] | None = None,
) -> list[LedgerError]:
    """The cross-checks over `ledger` with the records `added` (by kind) in it;
    `failed`: ids (by kind) of records that could not be made, which references
    are not reported against."""
    customers = dict(ledger.customers)
    customers.update((c.id, c) for c in added.get("customers", ()))
    invoices = dict(ledger.invoices)
    invoices.update((i.id, i) for i in added.get("invoices", ()))
    combined = replace(
        ledger,
        customers=customers,
        invoices=invoices,
        payments=(*ledger.payments, *added.get("payments", ())),
        adjustments=(*ledger.adjustments, *added.get("adjustments", ())),
        contacts=(*ledger.contacts, *added.get("contacts", ())),
        _currency_cache={},
    )
    collected = _Collected()
    for kind, ids in (failed or {}).items():
        collected.failed_ids[kind].update(ids)
    found: list[LedgerError] = []
    for check in CROSS_CHECKS:
        found.extend(check(combined, collected))
    return found
