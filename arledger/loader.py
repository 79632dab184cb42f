"""Ledger directory -> (Ledger, errors): find, read, validate and cross-check files.

Never prints, exits or writes. Phases as in beancount's loader: find files -> parse
-> validate -> cross-check, all appending to one error list; a record that fails is
dropped and loading goes on, and cross-checks skip ids whose own record failed, so
one typo gives one message.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from operator import methodcaller
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from arledger import rules
from arledger.errors import LedgerError, LedgerNotFound, Source
from arledger.ledger import Ledger
from arledger.model import (
    RECORD_MODELS,
    Adjustment,
    Column,
    Contact,
    Payment,
    Record,
    Settings,
)
from arledger.money import has_excess_places, minor_units
from arledger.readers import csv_nested, read_yaml_fast
from arledger.rows import PAYMENT, ROWS, row_of

try:  # SPEC: use PyYAML's C loader when present
    from yaml import CBaseLoader as _YamlLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import BaseLoader as _YamlLoader  # type: ignore[assignment]

KINDS = ("customers", "invoices", "payments", "adjustments", "contacts")
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
        errors.append(
            LedgerError(source, f"duplicate {what} id {record_id!r} (first at {first})")
        )
        return True


# ---------------------------------------------------------------- finding files


def find_ledger(path: str | os.PathLike[str] | None) -> Path:
    """The ledger directory: `path`, else `$ARLEDGER_DIR`, else the current directory.

    Raises:
        LedgerNotFound: when it is not a directory or holds no customers.
    """
    root = Path(path or os.environ.get("ARLEDGER_DIR") or ".")
    if not root.is_dir():
        raise LedgerNotFound(f"ledger directory {str(root)!r} does not exist")
    if (
        not any(_record_files(root, "customers"))
        and not (root / SETTINGS_FILE).is_file()
    ):
        raise LedgerNotFound(
            f"{str(root)!r} is not a ledger: no customers.yaml, customers.csv or "
            "customers/ found (use --ledger DIR, or `arledger init DIR` to start one)"
        )
    return root


def _record_files(root: Path, kind: str) -> Iterator[Path]:
    """`KIND.yaml|yml|csv` and every such file under `KIND/`, in a stable order."""
    for suffix in RECORD_SUFFIXES:
        single = root / f"{kind}{suffix}"
        if single.is_file():
            yield single
    folder = root / kind
    if folder.is_dir():
        yield from sorted(
            p
            for p in folder.rglob("*")
            if p.suffix.lower() in RECORD_SUFFIXES
            and p.is_file()
            and not p.name.startswith(".")
        )


# Files arledger itself keeps in a ledger directory, which are not records.
OWN_FILES = frozenset({SETTINGS_FILE, "dunning-log.csv"})


def _stray_files(root: Path) -> list[LedgerError]:
    """Warn about data files at the top that arledger does not read (`invoice.yaml`)."""
    known = {f"{kind}{suffix}" for kind in KINDS for suffix in RECORD_SUFFIXES}
    warnings = []
    for path in sorted(root.iterdir()):
        name = path.name
        if (
            path.is_file()
            and path.suffix.lower() in RECORD_SUFFIXES
            and name not in known
            and name not in OWN_FILES
        ):
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            warnings.append(
                LedgerError(
                    Source(name, 1), f"not a ledger file, not read{hint}", warning=True
                )
            )
    return warnings


# ---------------------------------------------------------------- reading files


def _decode(raw: bytes, rel: str, errors: list[LedgerError]) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        errors.append(
            LedgerError(
                Source(rel, line),
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
            )
        )
        return None


def _scalar(node: yaml.ScalarNode) -> str | None:
    # A plain (unquoted) empty value or YAML null means "not given"; the C and
    # pure-Python loaders mark plain style as "" and None respectively.
    if not node.style and node.value in YAML_NULLS:
        return None
    return node.value


def _node_value(node: yaml.Node, rel: str, errors: list[LedgerError]) -> Any:
    """A YAML node as plain Python with every scalar kept as text."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_node_value(n, rel, errors) for n in node.value]
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
            value = _node_value(value_node, rel, errors)
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


def _compose(text: str, rel: str, errors: list[LedgerError]) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_YamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "cannot be parsed"
        errors.append(LedgerError(Source(rel, line), f"invalid YAML: {problem}"))
    except yaml.YAMLError as exc:
        errors.append(LedgerError(Source(rel, 1), f"invalid YAML: {exc}"))
    return None


def _read_yaml_records(text: str, rel: str, errors: list[LedgerError]) -> _Batch:
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    nodes: list[yaml.Node] = []

    def locate(i: int, loc: tuple[Any, ...]) -> int:
        return _yaml_locator(nodes[i])(loc)

    batch = _Batch(rel, rows, lines, locate)
    root = _compose(text, rel, errors)
    if root is None:
        return batch
    if not isinstance(root, yaml.SequenceNode):
        errors.append(
            LedgerError(
                Source(rel, root.start_mark.line + 1),
                "expected a list of records, each starting with `- `",
            )
        )
        return batch
    for node in root.value:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            errors.append(
                LedgerError(
                    Source(rel, line), "expected a record of `key: value` pairs"
                )
            )
            continue
        rows.append(_node_value(node, rel, errors))
        lines.append(line)
        nodes.append(node)
    return batch


CSV_NESTED = frozenset(
    {"allocations", "schedule", "dunning_block", "aliases", "bank_accounts"}
)


def _read_csv_records(
    text: str, rel: str, kind: str, errors: list[LedgerError]
) -> _Batch:
    lines: list[int] = []
    return _Batch(
        rel, _csv_rows(text, rel, kind, errors, lines), lines, lambda i, loc: lines[i]
    )


def _csv_rows(
    text: str, rel: str, kind: str, errors: list[LedgerError], lines: list[int]
) -> Iterator[dict[str, Any]]:
    """The records of a CSV file, one at a time, each line appended to `lines`."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        errors.append(LedgerError(Source(rel, 1), f"invalid CSV: {exc}"))
        return
    header = [h.strip() for h in header]
    known = set(RECORD_MODELS[kind].model_fields) - {"source"}
    keep: list[int] = []
    seen: set[str] = set()
    for index, name in enumerate(header):
        if not name:
            continue
        if name in seen:
            errors.append(LedgerError(Source(rel, 1), f"duplicate column {name!r}"))
        elif name not in known:
            errors.append(LedgerError(Source(rel, 1), _unknown_field(name, known)))
        else:
            keep.append(index)
        seen.add(name)
    names = [(index, header[index], header[index] in CSV_NESTED) for index in keep]
    width = len(header)
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
            break
        if len(row) != width:
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if len(row) > width and any(c.strip() for c in row[width:]):
                errors.append(
                    LedgerError(
                        Source(rel, line),
                        f"row has {len(row)} cells but the header has {width}",
                    )
                )
                continue
            row = row + [""] * (width - len(row))
        try:
            data: dict[str, Any] = {
                name: csv_nested(name, cell) if nested else cell
                for index, name, nested in names
                if (cell := row[index].strip())
            }
        except ValueError as exc:
            errors.append(LedgerError(Source(rel, line), str(exc)))
            continue
        if data:
            lines.append(line)
            yield data


def _read_text(path: Path, rel: str, errors: list[LedgerError]) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        errors.append(LedgerError(Source(rel, 1), f"cannot read: {exc.strerror}"))
        return None
    return _decode(raw, rel, errors)


def _read_utf8(path: Path) -> bytes | None:
    """A file's bytes without a BOM when they are UTF-8 (as `_decode` reads
    them), else None. ASCII, the common case, is told without decoding."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return raw


def _read_batch(
    text: str | None, rel: str, kind: str, errors: list[LedgerError]
) -> _Batch:
    """The records of one file's text, CSV or YAML (through PyYAML, which knows
    every key's line)."""
    if text is None:
        return _Batch(rel, [], [], lambda i, loc: 1)
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
        return loc, f"{name}: must be at most {bound}{_got(value)}"
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


def _validate(
    model: type[Record],
    data: dict[str, Any],
    source: Source,
    locate: Callable[[tuple[Any, ...]], int],
    errors: list[LedgerError],
) -> Record | None:
    """Validate one record with pydantic; on failure, say where each problem is."""
    rel = source.path
    if "source" in data:
        errors.append(
            LedgerError(Source(rel, locate(("source",))), "unknown field 'source'")
        )
        return None
    try:
        return row_of(model.model_validate({**data, "source": source}))
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc, message = describe_error(err, model)
            errors.append(LedgerError(Source(rel, locate(loc)), message))
        return None


# A record that failed: its id and customer as written, and where they are.
_Failure = tuple[Any, Any, Source]


def _validate_batch(
    model: type[Record], batch: _Batch, errors: list[LedgerError]
) -> list[Record | _Failure]:
    """Every row of a batch as a record, or as what is known of it if it failed.

    Rows of the bulk kinds whose fields all have column rules are checked a
    column at a time (`_by_columns`); every other row, and every row a column
    rule refuses, is validated by its model, which applies the same rules and
    says what is wrong.
    """
    rel, lines, locate = batch.rel, batch.lines, batch.locate
    rows = batch.rows if isinstance(batch.rows, list) else list(batch.rows)
    results: list[Record | _Failure | None] = [None] * len(rows)
    one_by_one: Iterable[int] = range(len(rows))
    columns = _column_plan(model)
    if columns is not None:
        one_by_one = _by_columns(model, columns, rows, rel, lines, results)
    for i in one_by_one:
        data = rows[i]
        source = Source(rel, lines[i])
        record = _validate(model, data, source, partial(locate, i), errors)
        if record is None:
            customer_line = locate(i, ("customer",))
            results[i] = (data.get("id"), data.get("customer"),
                          Source(rel, customer_line))  # fmt: skip
        else:
            results[i] = record
    return results  # type: ignore[return-value]


class _Plan(NamedTuple):
    """How rows of one model are read by columns: the row type, each field's
    rule (None: the text as is) and default, and what the columns cannot do."""

    row: type[tuple[Any, ...]]
    names: tuple[str, ...]  # the row's fields, in order
    rules: dict[str, Callable[[list[str]], list[Any]]]
    defaults: dict[str, Any]
    required: frozenset[str]
    whole: frozenset[str]  # fields the model's record rules read


def _rule_of(annotation: Any, metadata: Iterable[Any] = ()) -> Any:
    """The column rule of a field, from its type: a `Column` mark
    (model.py), a Literal's choices, or None when it has none (nested)."""
    for mark in metadata:
        if isinstance(mark, Column):
            return mark.rule
    origin = get_origin(annotation)
    if origin is Annotated:
        return _rule_of(None, annotation.__metadata__)
    if origin is Literal:
        return _choice(get_args(annotation))
    if origin in (Union, UnionType):
        given = [a for a in get_args(annotation) if a is not type(None)]
        if len(given) == 1:
            return _rule_of(given[0])
    return None


def _choice(options: tuple[Any, ...]) -> Callable[[list[str]], list[Any]]:
    allowed = frozenset(options)

    def rule(values: list[str]) -> list[str]:
        # As pydantic checks a Literal: the text exactly as given.
        if not allowed.issuperset(values):
            raise rules.Bad({i: "" for i, v in enumerate(values) if v not in allowed})
        return list(values)

    return rule


@functools.cache
def _column_plan(model: type[Record]) -> _Plan | None:
    """The columns plan of a bulk kind (None for the others), derived from its
    model: the rules are the ones the model applies."""
    row = ROWS.get(model)
    if row is None:
        return None
    names = row._fields[:-2]
    found: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for name in names:
        info = model.model_fields[name]
        rule = _rule_of(info.annotation, info.metadata)
        if rule is not None:
            found[name] = rule
        if not info.is_required():
            defaults[name] = info.get_default(call_default_factory=True)
    required = frozenset(n for n in names if model.model_fields[n].is_required())
    return _Plan(row, names, found, defaults, required, model.record_fields)


def _by_columns(
    model: type[Record],
    plan: _Plan,
    rows: list[dict[str, Any]],
    rel: str,
    lines: list[int],
    results: list[Any],
) -> list[int]:
    """Check and convert the plain rows of a batch a column at a time, filling
    `results`; returns the indexes of the rows left to the model."""
    rules_of, whole, required = plan.rules, plan.whole, plan.required
    named = set().union(*map(dict.keys, rows)) if rows else set()
    if named <= rules_of.keys() and whole.isdisjoint(named):
        plain, left = list(range(len(rows))), []  # the common case: one test
    else:
        plain, left = [], []
        for i, data in enumerate(rows):
            keys = data.keys()
            if keys <= rules_of.keys() and whole.isdisjoint(keys):
                plain.append(i)
            else:
                left.append(i)
    plain_rows = [rows[i] for i in plain] if left else rows
    refused: set[int] = set()
    columns: dict[str, list[Any]] = {}
    for name in plan.names:
        default = plan.defaults.get(name)
        column = list(map(methodcaller("get", name), plain_rows))
        kinds = set(map(type, column))
        if kinds <= {NoneType} and name not in required:
            columns[name] = column if default is None else [default] * len(column)
            continue
        values = [default] * len(column)
        if kinds <= {str}:
            given: list[int] = list(range(len(column)))
        elif kinds <= {str, NoneType} and name not in required:
            given = [k for k, value in enumerate(column) if value is not None]
        else:  # a value missing (required) or not text: the model says why
            given = []
            for k, value in enumerate(column):
                if type(value) is str:
                    given.append(k)
                elif value is not None or name in required:
                    refused.add(plain[k])
        while given:
            try:
                converted = rules_of[name](
                    column if len(given) == len(column) else [column[k] for k in given]
                )
            except rules.Bad as bad:
                # The model says what is wrong with these rows; the rest are
                # converted without them (a rule judges each value alone).
                wrong = {given[n] for n in bad.messages}
                refused.update(plain[k] for k in wrong)
                given = [k for k in given if k not in wrong]
                continue
            if len(given) == len(column):
                values = converted
            else:
                for k, value in zip(given, converted, strict=True):
                    values[k] = value
            break
        columns[name] = values
    new = tuple.__new__
    row_type = plan.row
    made = zip(*(columns[name] for name in plan.names), strict=True)
    if refused:
        for i, values in zip(plain, made, strict=True):
            if i not in refused:
                results[i] = new(row_type, (*values, rel, lines[i]))
    else:
        for i, values in zip(plain, made, strict=True):
            results[i] = new(row_type, (*values, rel, lines[i]))
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
    """Add a file's records, reporting duplicate ids in reading order."""
    check_ids = kind != "contacts"
    records = collected.records[kind]
    for i, result in enumerate(results):
        if type(result) is tuple:  # a _Failure (a row is a tuple subclass)
            record_id, customer, where = result
            if check_ids:
                id_source = Source(batch.rel, batch.locate(i, ("id",)))
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
                id_source = Source(batch.rel, batch.locate(i, ("id",)))
                collected.is_duplicate(kind, record_id, id_source, errors)
                continue
        records.append(result)


def _load_batch(
    kind: str,
    model: type[Record],
    text: str | None,
    rel: str,
    collected: _Collected,
    errors: list[LedgerError],
    parsed: tuple[list[dict[str, Any]], list[int]] | None = None,
) -> None:
    """Read, validate and collect one file record by record (`parsed`: what
    read_yaml_fast already made of it)."""
    if parsed is not None:
        records, lines = parsed
        batch = _Batch(rel, records, lines, lambda i, loc: lines[i], exact=False)
    else:  # CSV, or YAML the fast reader declined
        batch = _read_batch(text, rel, kind, errors)
    problems: list[LedgerError] = []
    results = _validate_batch(model, batch, problems)
    if problems and not batch.exact:
        # Read it again through PyYAML, which knows every key's line.
        batch = _read_batch(text, rel, kind, errors)
        problems = []
        results = _validate_batch(model, batch, problems)
    errors.extend(problems)
    _collect(kind, batch, results, collected, errors)


def _load_settings(
    root: Path, errors: list[LedgerError]
) -> tuple[Settings, list[Path]]:
    path = root / SETTINGS_FILE
    if not path.is_file():
        return Settings(), []
    raw = path.read_bytes()
    text = _decode(raw, SETTINGS_FILE, errors)
    node = _compose(text, SETTINGS_FILE, errors) if text is not None else None
    if node is None:
        return Settings(), [path]
    if not isinstance(node, yaml.MappingNode):
        errors.append(
            LedgerError(
                Source(SETTINGS_FILE, 1), "expected settings as `key: value` pairs"
            )
        )
        return Settings(), [path]
    data = _node_value(node, SETTINGS_FILE, errors)
    settings = _validate(
        Settings, data, Source(SETTINGS_FILE, 1), _yaml_locator(node), errors
    )
    return (settings if isinstance(settings, Settings) else Settings()), [path]


def record_files(root: Path) -> list[Path]:
    """Every record file of a ledger directory, in the order `load` reads them."""
    return [file for kind in KINDS for file in _record_files(root, kind)]


def load(
    path: str | os.PathLike[str] | None = None,
    *,
    on_file: Callable[[Path], None] | None = None,
) -> tuple[Ledger, list[LedgerError]]:
    """Load a ledger directory.

    Args:
        path: the ledger directory (None: `$ARLEDGER_DIR`, else the current one).
        on_file: called with each record file once it is read (for progress).

    Returns:
        The ledger of every record that validated, and every problem found (errors
        and warnings), sorted by file and line.

    Raises:
        LedgerNotFound: when there is no ledger at `path`.
    """
    root = find_ledger(path)
    errors: list[LedgerError] = []
    settings, files = _load_settings(root, errors)
    collected = _Collected()
    for kind in KINDS:
        _load_kind(root, kind, collected, errors, files, on_file)
    errors.extend(_stray_files(root))
    ledger = _build(root, settings, collected, files)
    found: list[LedgerError] = []
    for check in CROSS_CHECKS:
        found.extend(check(ledger, collected))
    errors.extend(_point_at_fields(root, found))
    errors.sort(key=LedgerError.sort_key)
    return ledger, errors


def _load_kind(
    root: Path,
    kind: str,
    collected: _Collected,
    errors: list[LedgerError],
    files: list[Path],
    on_file: Callable[[Path], None] | None = None,
) -> None:
    """Read, validate and collect every file of one kind."""
    model = RECORD_MODELS[kind]
    for file in _record_files(root, kind):
        files.append(file)
        rel = file.relative_to(root).as_posix()
        text = _read_text(file, rel, errors)
        parsed = None
        if text is not None and not rel.lower().endswith(".csv"):
            parsed = read_yaml_fast(text)
        _load_batch(kind, model, text, rel, collected, errors, parsed)
        if on_file is not None:
            on_file(file)


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
        files=tuple(files),
    )


def _point_at_fields(root: Path, errors: list[LedgerError]) -> list[LedgerError]:
    """Move cross-check errors from a record's first line to its field's line.

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
            node = yaml.compose(text, Loader=_YamlLoader)
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
    errors = []
    known = ledger.customers.keys() | collected.failed_ids["customers"]
    references = [
        (record.customer, record.source)
        for records in (
            ledger.invoices.values(),
            ledger.payments,
            ledger.adjustments,
            ledger.contacts,
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


def _references(
    record: Payment | Adjustment | Contact,
) -> list[tuple[str, str, Decimal | None]]:
    """(field, invoice id, amount) for each invoice a record names."""
    allocations = getattr(record, "allocations", None)
    if allocations:
        return [("allocations", inv, amt) for inv, amt in allocations.items()]
    if record.invoice:
        return [("invoice", record.invoice, getattr(record, "amount", None))]
    return []


def _field(name: str, invoice_id: str) -> tuple[str, ...]:
    return (name, invoice_id) if name == "allocations" else (name,)


def _naming(ledger: Ledger, collected: _Collected) -> Iterator[Any]:
    """The payments, adjustments and contacts that name an invoice, of known
    customers (an unknown customer is reported by check_customers_exist)."""
    customers = ledger.customers
    for payment in ledger.payments:
        if payment.invoice is not None or payment.allocations:
            if payment.customer in customers:
                yield payment
    for records in (ledger.adjustments, ledger.contacts):
        for record in records:
            if record.invoice is not None and record.customer in customers:
                yield record


def check_references(ledger: Ledger, collected: _Collected) -> list[LedgerError]:
    """Named invoices exist, belong to the same customer and share its currency;
    and a warning for a payment larger than the invoice it names."""
    errors: list[LedgerError] = []
    failed = collected.failed_ids
    skip_customers = failed["customers"]
    invoices = ledger.invoices
    currency_of = ledger.currency_of
    for record in _naming(ledger, collected):
        what = "payment" if isinstance(record, PAYMENT) else "adjustment"
        for name, invoice_id, amount in _references(record):
            invoice = invoices.get(invoice_id)
            if invoice is None:
                if invoice_id not in failed["invoices"]:
                    errors.append(
                        LedgerError(
                            record.source,
                            f"{name}: unknown invoice {invoice_id!r}",
                            field=_field(name, invoice_id),
                        )
                    )
                continue
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
                continue
            if isinstance(record, Contact):
                continue  # a contact has no currency of its own
            if what == "payment" and amount is not None and amount > invoice.amount:
                errors.append(_over_invoice(record, name, invoice_id, amount, invoice))
            if record.currency is None and name == "invoice":
                continue  # it takes the currency of the one invoice it names
            invoice_currency = invoice.currency or currency_of(invoice)
            currency = currency_of(record)
            if invoice_currency != currency:
                errors.append(
                    LedgerError(
                        record.source,
                        f"currency: {what} in {currency} cannot settle invoice "
                        f"{invoice_id!r} in {invoice_currency}",
                        field=("currency",)
                        if record.currency
                        else _field(name, invoice_id),
                    )
                )
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


def check_minor_units(ledger: Ledger, collected: _Collected) -> list[LedgerError]:
    """Amounts carry no more decimals than their currency has (cents for USD)."""
    errors = []

    currency_of = ledger.currency_of
    currencies = {ledger.settings.currency}
    currencies.update(c.currency for c in ledger.customers.values() if c.currency)
    for records in (ledger.invoices.values(), ledger.payments, ledger.adjustments):
        currencies.update({r.currency for r in records})
    currencies.discard(None)  # type: ignore[arg-type]
    allowed = min(minor_units(c) for c in currencies)
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

    def unchecked(records: Iterable[Any]) -> Iterator[Any]:
        customers = ledger.customers
        for record in records:
            if record.customer in customers:
                yield record

    for invoice in unchecked(ledger.invoices.values()):
        check(invoice, "amount", invoice.amount)
        for n, instalment in enumerate(invoice.schedule or (), 1):
            check(invoice, f"schedule.{n}.amount", instalment.amount)
    for record in unchecked((*ledger.payments, *ledger.adjustments)):
        check(record, "amount", record.amount)
        for invoice_id, amount in (getattr(record, "allocations", None) or {}).items():
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
    results = _validate_batch(RECORD_MODELS[kind], batch, errors)
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
