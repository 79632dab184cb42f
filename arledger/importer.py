"""`arledger import`: another program's CSV or xlsx export as records (SPEC §5).

A rules file says how each source row becomes records; every record made goes
through the ledger's own models and cross-checks (loader.validate_rows,
loader.cross_check), so an import can add nothing a ledger file could not hold.
The same rules reader and row maker serve bank statements in CSV or xlsx
(`kind: bank`, matching.py).

Never prints or exits; writes only through fileio, and only what is new.
"""

from __future__ import annotations

import csv
import io
import re
import string
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arledger.errors import ArledgerError, LedgerError, Source
from arledger.ledger import Ledger

if TYPE_CHECKING:
    from arledger.model import Customer

RECORD_KINDS = ("customers", "invoices", "payments", "adjustments", "contacts")
BANK_FIELDS = ("date", "amount", "currency", "payer", "account", "reference", "text")
SOURCE_KEYS = frozenset(
    {"encoding", "delimiter", "sheet", "skip", "date_format", "decimal", "header"}
)
SPEC_KEYS = frozenset({"column", "value", "map", "template", "default", "negate"})


class ImportInvalid(ArledgerError):
    """The rules or the source have problems; `errors` holds every one."""

    def __init__(self, errors: list[LedgerError]) -> None:
        # Two records made from one row can share a problem: said once.
        self.errors = sorted(dict.fromkeys(errors), key=LedgerError.sort_key)
        n = sum(1 for e in self.errors if not e.warning)
        super().__init__(f"{n} problem{'s' if n != 1 else ''}; nothing imported")


# ---------------------------------------------------------------- the rules


@dataclass(frozen=True)
class FieldSpec:
    """Where one field's text comes from (SPEC §5: column, value, map, template)."""

    line: int
    column: str | None = None
    value: str | None = None
    mapping: dict[str, str] | None = None
    template: str | None = None
    default: str | None = None
    negate: bool = False


@dataclass(frozen=True)
class When:
    column: str
    test: str  # equals | not_empty | empty
    value: str | None
    line: int


@dataclass(frozen=True)
class RecordRule:
    kind: str
    fields: dict[str, FieldSpec]
    when: When | None
    line: int


@dataclass
class SourceRules:
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    skip: int = 0
    date_format: str | None = None
    decimal: str = "."
    header: bool = True


@dataclass
class Rules:
    path: str
    source: SourceRules
    records: list[RecordRule]


def _fields_of(kind: str) -> dict[str, Any]:
    from arledger.model import RECORD_MODELS

    if kind == "bank":
        return dict.fromkeys(BANK_FIELDS)
    return {k: v for k, v in RECORD_MODELS[kind].model_fields.items() if k != "source"}


def read_rules(path: str | Path, kinds: tuple[str, ...] = RECORD_KINDS) -> Rules:
    """A rules file, checked; every problem at its line (ImportInvalid)."""
    import yaml

    from arledger.loader import _compose, _node_value, _unknown_field, _yaml_locator

    rel = str(path)
    errors: list[LedgerError] = []
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ArledgerError(f"{rel}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ArledgerError(f"{rel}: not UTF-8 text; save it as UTF-8") from None
    node, readable = _compose(text, rel, errors)
    if not readable:
        raise ImportInvalid(errors)
    if node is None or not isinstance(node, yaml.MappingNode):
        if node is not None or not errors:
            errors.append(
                LedgerError(Source(rel, 1), "expected `source:` and `records:`")
            )
        raise ImportInvalid(errors)
    data = _node_value(node, rel, errors)
    at = _yaml_locator(node)

    def bad(loc: tuple[Any, ...], message: str) -> None:
        errors.append(LedgerError(Source(rel, at(loc)), message))

    for key in data:
        if key not in ("source", "records"):
            bad((key,), _unknown_field(key, {"source", "records"}))
    source = SourceRules()
    given = data.get("source", {})
    if not isinstance(given, dict):
        bad(("source",), "source: expected `key: value` pairs")
        given = {}
    for key, value in given.items():
        where = ("source", key)
        if key not in SOURCE_KEYS:
            bad(where, _unknown_field(key, set(SOURCE_KEYS)))
        elif not isinstance(value, str):
            bad(where, f"{key}: expected one value")
        elif key == "encoding":
            import codecs

            try:
                codecs.lookup(value)
                source.encoding = value
            except LookupError:
                bad(where, f"encoding: unknown encoding {value!r}")
        elif key == "delimiter":
            value = "\t" if value in ("\\t", "tab") else value
            if len(value) != 1:
                bad(where, f"delimiter: must be one character (got {value!r})")
            source.delimiter = value
        elif key == "skip":
            if not value.isdigit():
                bad(where, f"skip: not a whole number (got {value!r})")
            else:
                source.skip = int(value)
        elif key == "decimal":
            if value not in (".", ","):
                bad(where, f'decimal: must be "." or "," (got {value!r})')
            source.decimal = value
        elif key == "header":
            from arledger.rules import Bad, flags

            try:
                source.header = flags([value])[0]
            except Bad as exc:
                bad(where, f"header: {exc.messages[0]}")
        elif key == "date_format":
            if "%" not in value:
                bad(
                    where,
                    f"date_format: {value!r} is not a strptime format like %m/%d/%Y",
                )
            source.date_format = value
        else:
            source.sheet = value
    records = data.get("records")
    rules: list[RecordRule] = []
    if not isinstance(records, list) or not records:
        bad(
            ("records",) if "records" in data else (),
            "records: give a list of records to make",
        )
        records = []
    for n, entry in enumerate(records):
        loc: tuple[Any, ...] = ("records", n)
        if not isinstance(entry, dict):
            bad(loc, "expected a record rule with `kind:` and `fields:`")
            continue
        for key in entry:
            if key not in ("kind", "when", "fields"):
                bad((*loc, key), _unknown_field(key, {"kind", "when", "fields"}))
        kind = entry.get("kind")
        if kind not in kinds:
            hint = ""
            if kind == "bank":
                hint = "; a bank statement's rules are for `arledger match`"
            elif kind in RECORD_KINDS:
                hint = "; a statement's rules make `kind: bank` lines"
            allowed = ", ".join(kinds)
            bad(
                (*loc, "kind") if kind else loc,
                f"kind: must be one of {allowed} (got {kind!r}){hint}",
            )
            continue
        known = _fields_of(kind)
        fields: dict[str, FieldSpec] = {}
        given_fields = entry.get("fields")
        if not isinstance(given_fields, dict):
            bad((*loc, "fields") if "fields" in entry else loc,
                "fields: expected `field: column` pairs")  # fmt: skip
            continue
        for name, spec in given_fields.items():
            where = (*loc, "fields", name)
            if name not in known:
                bad(where, _unknown_field(name, set(known)))
                continue
            made = _field_spec(spec, at(where), name, errors, rel)
            if made is not None:
                fields[name] = made
        if kind != "bank":
            for name, info in known.items():
                if info.is_required() and name not in fields and name in known:
                    if name not in given_fields:
                        bad((*loc, "fields"), f"fields: {name} is required by {kind}")
        else:
            for name in ("date", "amount"):
                if name not in given_fields:
                    bad((*loc, "fields"), f"fields: {name} is required by bank lines")
        when = _when(entry.get("when"), at((*loc, "when")), errors, rel)
        rules.append(RecordRule(kind, fields, when, at(loc)))
    if errors:
        raise ImportInvalid(errors)
    return Rules(rel, source, rules)


def _field_spec(
    spec: Any, line: int, name: str, errors: list[LedgerError], rel: str
) -> FieldSpec | None:
    def bad(message: str) -> None:
        errors.append(LedgerError(Source(rel, line), f"{name}: {message}"))

    if isinstance(spec, str):
        return FieldSpec(line, column=spec)
    if not isinstance(spec, dict):
        bad("expected a column name or {column|value|template: ...}")
        return None
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        bad(f"unknown key {sorted(unknown)[0]!r} (use column, value, map, "
            "template, default, negate)")  # fmt: skip
        return None
    sources = [k for k in ("column", "value", "template") if k in spec]
    if len(sources) > 1:
        bad(f"give one of column, value, template (got {', '.join(sources)})")
        return None
    if not sources and "default" not in spec:
        bad("give a column, a value or a template")
        return None
    mapping = spec.get("map")
    if mapping is not None and (
        not isinstance(mapping, dict)
        or not all(isinstance(v, str) for v in mapping.values())
    ):
        bad("map: expected `cell text: value` pairs")
        return None
    if mapping is not None and "column" not in spec:
        bad("map: needs the `column` whose cells it maps")
        return None
    negate = spec.get("negate", "false")
    if negate not in ("true", "false", "yes", "no"):
        bad(f"negate: expected true or false (got {negate!r})")
        return None
    template = spec.get("template")
    if template is not None:
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(template) if f]
        except ValueError as exc:
            bad(f"template: {exc}")
            return None
        if not names:
            bad("template: names no column (write {Column})")
            return None
    for key in ("column", "value", "template", "default"):
        if key in spec and not isinstance(spec[key], str):
            bad(f"{key}: expected one value")
            return None
    return FieldSpec(
        line,
        column=spec.get("column"),
        value=spec.get("value"),
        mapping=mapping,
        template=template,
        default=spec.get("default"),
        negate=negate in ("true", "yes"),
    )


def _when(given: Any, line: int, errors: list[LedgerError], rel: str) -> When | None:
    if given is None:
        return None
    if isinstance(given, dict):
        if set(given) == {"column", "equals"} and all(
            isinstance(v, str) for v in given.values()
        ):
            return When(given["column"], "equals", given["equals"], line)
        if len(given) == 1:
            (test, column), = given.items()  # fmt: skip
            if test in ("not_empty", "empty") and isinstance(column, str):
                return When(column, test, None, line)
    errors.append(
        LedgerError(
            Source(rel, line),
            "when: expected {column: C, equals: X}, {not_empty: C} or {empty: C}",
        )
    )
    return None


# ---------------------------------------------------------------- the source


@dataclass
class Row:
    line: int
    cells: list[str]
    date_cells: frozenset[int] = frozenset()  # xlsx cells that were dates


def _cell_text(value: Any) -> tuple[str, bool]:
    """An xlsx cell's text (SPEC §5), and whether it was a date."""
    if value is None:
        return "", False
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    if isinstance(value, datetime):
        return value.date().isoformat(), True
    if isinstance(value, date):
        return value.isoformat(), True
    if isinstance(value, int):
        return str(value), False
    if isinstance(value, float):
        # The shortest decimal that reads back as this float: 55.94, never
        # 55.93999…; 611365, not 611365.0.
        exact = Decimal(repr(value))
        if exact == exact.to_integral_value():
            return str(exact.quantize(Decimal(1))), False
        return format(exact, "f"), False
    return str(value), False


def read_source(
    path: str | Path, rules: SourceRules
) -> tuple[list[str] | None, Iterator[Row]]:
    """The header (None with `header: false`) and the rows of a CSV or xlsx file."""
    path = Path(path)
    if not path.is_file():
        raise ArledgerError(f"{path}: no such file")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path, rules)
    if path.suffix.lower() in (".xls", ".ods", ".numbers"):
        raise ArledgerError(f"{path}: save it as .xlsx or .csv to import it")
    return _read_csv(path, rules)


def _read_csv(path: Path, rules: SourceRules) -> tuple[list[str] | None, Iterator[Row]]:
    raw = path.read_bytes()
    encoding = rules.encoding
    if encoding.replace("-", "").replace("_", "").lower() in ("utf8", "utf8sig"):
        encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportInvalid(
            [
                LedgerError(
                    Source(str(path), line),
                    f"not {rules.encoding} text (byte 0x{raw[exc.start]:02x}); "
                    "set `encoding:` under `source:` in the rules",
                )
            ]
        ) from None
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    offset = rules.skip
    body = "".join(lines[offset:])
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=rules.delimiter)
    header: list[str] | None = None
    if rules.header:
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            header = []
        except csv.Error as exc:
            raise ImportInvalid(
                [LedgerError(Source(str(path), offset + 1), f"invalid CSV: {exc}")]
            ) from None

    def rows() -> Iterator[Row]:
        while True:
            line = offset + reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportInvalid(
                    [LedgerError(Source(str(path), line), f"invalid CSV: {exc}")]
                ) from None
            if any(c.strip() for c in cells):
                yield Row(line, cells)

    return header, rows()


def _read_xlsx(
    path: Path, rules: SourceRules
) -> tuple[list[str] | None, Iterator[Row]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ArledgerError(f"{path}: not an xlsx workbook ({exc})") from None
    if rules.sheet is None:
        sheet = book.worksheets[0]
    elif rules.sheet in book.sheetnames:
        sheet = book[rules.sheet]
    else:
        raise ArledgerError(
            f"{path}: no sheet {rules.sheet!r} (sheets: {', '.join(book.sheetnames)})"
        )
    values = sheet.iter_rows(values_only=True, min_row=rules.skip + 1)
    header: list[str] | None = None
    number = rules.skip
    if rules.header:
        first = next(values, None)
        number += 1
        header = [_cell_text(v)[0].strip() for v in first or ()]

    def rows() -> Iterator[Row]:
        for n, cells in enumerate(values, number + 1):
            texts = [_cell_text(v) for v in cells]
            if any(t.strip() for t, _ in texts):
                yield Row(
                    n,
                    [t for t, _ in texts],
                    frozenset(i for i, (_, is_date) in enumerate(texts) if is_date),
                )
        book.close()

    return header, rows()


# ---------------------------------------------------------------- making records


_SEPARATORS = re.compile(r"[\s\u00a0\u202f'’]")


_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def normalise_number(text: str, decimal: str) -> str:
    """A number as an export writes it (`1.234,50`, `(94.00)`, `94.00-`) as a
    plain decimal text; what is not a number is left for the rules to refuse."""
    if decimal == "." and _PLAIN.fullmatch(text):
        return text
    value = _SEPARATORS.sub("", text)
    negative = False
    if value.startswith("(") and value.endswith(")"):
        value, negative = value[1:-1], True
    elif value.endswith("-") and not value.startswith("-"):
        value, negative = value[:-1], True
    if decimal == ",":
        value = value.replace(".", "").replace(",", ".")
    else:
        value = value.replace(",", "")
    if negative:
        value = value[1:] if value.startswith("-") else "-" + value
    return value


def negate(text: str) -> str:
    """An amount written negative as positive (and the other way round)."""
    return text[1:] if text.startswith("-") else "-" + text.lstrip("+")


class _Maker:
    """Turns source rows into field texts, one record rule at a time."""

    def __init__(self, rules: Rules, header: list[str] | None, source: str) -> None:
        self.rules = rules
        self.source = source
        self.errors: list[LedgerError] = []
        self.index: dict[str, int] = {}
        if header is not None:
            for i, name in enumerate(header):
                self.index.setdefault(name, i)
        self.header = header
        self._dates: dict[str, str] = {}
        self._positions: dict[str, int | None] = {}
        self._templates: dict[str, list[str]] = {}
        self.kinds: dict[
            str, tuple[frozenset[str], frozenset[str], frozenset[str]]
        ] = {}
        for rule in rules.records:
            self._check_columns(rule)
            if rule.kind not in self.kinds:
                self.kinds[rule.kind] = _typed_fields(rule.kind)

    def _column(self, name: str, line: int, what: str) -> None:
        if self._position(name) is None:
            if self.header is None:
                message = f"{what}: column {name!r} must be a number from 1 (no header)"
            else:
                import difflib

                close = difflib.get_close_matches(name, self.header, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                message = f"{what}: no column {name!r} in {self.source}{hint}"
            self.errors.append(LedgerError(Source(self.rules.path, line), message))

    def _position(self, name: str) -> int | None:
        if self.header is None:
            return int(name) - 1 if name.isdigit() and int(name) >= 1 else None
        return self.index.get(name.strip())

    def _check_columns(self, rule: RecordRule) -> None:
        for name, spec in rule.fields.items():
            if spec.column is not None:
                self._column(spec.column, spec.line, name)
            if spec.template is not None:
                for _, column, _, _ in string.Formatter().parse(spec.template):
                    if column:
                        self._column(column, spec.line, name)
        if rule.when is not None:
            self._column(rule.when.column, rule.when.line, "when")

    def cell(self, row: Row, name: str) -> tuple[str, bool]:
        try:
            position = self._positions[name]
        except KeyError:
            position = self._positions[name] = self._position(name)
        if position is None or position >= len(row.cells):
            return "", False
        return row.cells[position].strip(), position in row.date_cells

    def applies(self, rule: RecordRule, row: Row) -> bool:
        when = rule.when
        if when is None:
            return True
        text = self.cell(row, when.column)[0]
        if when.test == "equals":
            return text == when.value
        return bool(text) == (when.test == "not_empty")

    def texts(self, rule: RecordRule, row: Row) -> tuple[dict[str, str], bool]:
        """The field texts a rule makes of a row, and whether all were made
        (a problem is reported)."""
        dates, numbers, _ = self.kinds[rule.kind]
        made: dict[str, str] = {}
        ok = True
        for name, spec in rule.fields.items():
            is_date = False
            if spec.value is not None:
                text = spec.value
            elif spec.template is not None:
                columns = self._templates.get(spec.template)
                if columns is None:
                    parsed = string.Formatter().parse(spec.template)
                    columns = [c for _, c, _, _ in parsed if c]
                    self._templates[spec.template] = columns
                text = spec.template.format_map(
                    {c: self.cell(row, c)[0] for c in columns}
                ).strip()
            elif spec.column is not None:
                text, is_date = self.cell(row, spec.column)
                if spec.mapping is not None:
                    if text in spec.mapping:
                        text, is_date = spec.mapping[text].strip(), False
                    elif text:
                        known = ", ".join(repr(k) for k in spec.mapping)
                        self._bad(row, f"{name}: {text!r} (column {spec.column!r}) "
                                  f"is not in the rules' map ({known})")  # fmt: skip
                        ok = False
                        continue
            else:
                text = ""
            if not text and spec.default is not None:
                text, is_date = spec.default, False
            if not text:
                continue
            if name in numbers:
                text = normalise_number(text, self.rules.source.decimal)
                if spec.negate:
                    text = negate(text)
            elif name in dates and not is_date and self.rules.source.date_format:
                fmt = self.rules.source.date_format
                try:
                    text = self._date(text, fmt)
                except ValueError:
                    self._bad(row, f"{name}: {text!r} is not a date written {fmt}")
                    ok = False
                    continue
            made[name] = text
        return made, ok

    def _date(self, text: str, fmt: str) -> str:
        """strptime once per distinct text (an export repeats its dates)."""
        known = self._dates.get(text)
        if known is None:
            known = datetime.strptime(text, fmt).date().isoformat()
            self._dates[text] = known
        return known

    def _bad(self, row: Row, message: str) -> None:
        self.errors.append(LedgerError(Source(self.source, row.line), message))


def _typed_fields(kind: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The date, amount and nested fields of a kind, from its model's rules."""
    if kind == "bank":
        return frozenset({"date"}), frozenset({"amount"}), frozenset()
    from arledger import _shapes
    from arledger.loader import CSV_NESTED

    dates, numbers = set(), set()
    for name, spec, _required, _default in _shapes.SHAPES[_shapes.KINDS[kind]][
        "fields"
    ]:
        rule = spec[1] if spec[0] == "rule" else None
        if rule == "dates":
            dates.add(name)
        elif rule in ("amounts", "non_negative"):
            numbers.add(name)
    return frozenset(dates), frozenset(numbers), frozenset(CSV_NESTED)


def make_rows(
    rules: Rules, source: str | Path
) -> tuple[
    dict[str, list[tuple[int, dict[str, str]]]], list[LedgerError], dict[str, set[str]]
]:
    """Every (line, field texts) each record rule makes, by kind; the problems;
    and the ids of the records that could not be made, by kind."""
    header, rows = read_source(source, rules.source)
    maker = _Maker(rules, header, str(source))
    if maker.errors:
        raise ImportInvalid(maker.errors)
    made: dict[str, list[tuple[int, dict[str, str]]]] = {}
    failed: dict[str, set[str]] = {}
    for row in rows:
        for rule in rules.records:
            if maker.applies(rule, row):
                texts, ok = maker.texts(rule, row)
                if ok:
                    made.setdefault(rule.kind, []).append((row.line, texts))
                elif "id" in texts:
                    failed.setdefault(rule.kind, set()).add(texts["id"])
    return made, maker.errors, failed


# ---------------------------------------------------------------- the import


@dataclass
class ImportResult:
    added: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "report": "import",
            "added": self.added,
            "skipped": self.skipped,
            "files": self.files,
        }


def _same(one: Any, other: Any, ledger: Ledger) -> bool:
    """Whether two records say the same (SPEC §5: as parsed values, a field not
    given equal to its default)."""
    if type(one) is type(other) and isinstance(one, tuple):  # rows: fields alike
        if one[:-2] == other[:-2]:
            return True
    return _content(one, ledger) == _content(other, ledger)


def _content(record: Any, ledger: Ledger) -> dict[str, Any]:
    """A record's content as parsed values, defaults resolved (SPEC §5)."""
    from arledger.rows import INVOICE

    data = record.model_dump()
    if isinstance(record, INVOICE):
        data["due"] = ledger.due_of(record)
    if "currency" in data and "customer" in data:
        data["currency"] = ledger.currency_of(record)
    return data


def _key(kind: str, record: Any) -> Any:
    """What identifies a record: its id; for a payment without one, its customer,
    date, amount and invoice/reference; a contact by all it says."""
    record_id = getattr(record, "id", None)
    if record_id is not None:
        return record_id
    if kind == "payments":
        targets = tuple(sorted((record.allocations or {}).items()))
        return (record.customer, record.date, record.amount, record.invoice,
                targets, record.reference)  # fmt: skip
    return tuple(sorted((k, repr(v)) for k, v in record.model_dump().items()))


def _existing(ledger: Ledger, kind: str) -> dict[Any, Any]:
    records: Any = {
        "customers": ledger.customers.values(),
        "invoices": ledger.invoices.values(),
        "payments": ledger.payments,
        "adjustments": ledger.adjustments,
        "contacts": ledger.contacts,
    }[kind]
    return {_key(kind, r): r for r in records}


def run_import(
    ledger: Ledger, source: str | Path, rules_path: str | Path, *, dry_run: bool = False
) -> ImportResult:
    """Import `source` into `ledger` by the rules at `rules_path` (SPEC §5).

    Raises:
        ImportInvalid: every problem of the rules, the source or the records
            made; nothing is written then.
    """
    from dataclasses import replace

    from arledger.loader import cross_check, validate_rows

    rules = read_rules(rules_path)
    made, errors, failed = make_rows(rules, source)
    rel = str(source)
    records: dict[str, list[tuple[Any, dict[str, str]]]] = {}
    for kind in RECORD_KINDS:
        rows = made.get(kind, [])
        if not rows:
            continue
        nested = _typed_fields(kind)[2]
        parsed_rows, lines, texts = [], [], []
        # A row made twice alike (a customer on every invoice row) is checked
        # once: the same texts make the same record.
        alike: set[tuple[tuple[str, str], ...]] = set()
        for line, row in rows:
            key = tuple(row.items())
            if key in alike:
                continue
            alike.add(key)
            try:
                parsed = {}
                for name, text in row.items():
                    if name in nested:
                        from arledger.readers import csv_nested

                        parsed[name] = csv_nested(name, text)
                    else:
                        parsed[name] = text
            except ValueError as exc:
                errors.append(LedgerError(Source(rel, line), str(exc)))
                if "id" in row:
                    failed.setdefault(kind, set()).add(row["id"])
                continue
            parsed_rows.append(parsed)
            lines.append(line)
            texts.append(row)
        results, problems = validate_rows(kind, rel, parsed_rows, lines)
        errors.extend(problems)
        records[kind] = [
            (r, t) for r, t in zip(results, texts, strict=True) if r is not None
        ]
        failed.setdefault(kind, set()).update(
            t["id"]
            for r, t in zip(results, texts, strict=True)
            if r is None and "id" in t
        )

    # One record per id within the import; then what the ledger has already.
    new_customers: dict[str, Customer] = {}
    for record, _ in records.get("customers", ()):
        if record.id not in ledger.customers:
            new_customers.setdefault(record.id, record)
    lookup = replace(
        ledger, customers={**new_customers, **ledger.customers}, _currency_cache={}
    )
    result = ImportResult(dry_run=dry_run)
    added: dict[str, list[tuple[Any, dict[str, str]]]] = {}
    for kind, pairs in records.items():
        existing = _existing(ledger, kind)
        seen: dict[Any, Any] = {}
        skipped: set[Any] = set()
        for record, cells in pairs:
            key = _key(kind, record)
            first = seen.get(key)
            if first is not None:
                if not _same(first, record, lookup):
                    errors.append(_differs(kind, key, record, first))
                continue
            seen[key] = record
            known = existing.get(key)
            if known is not None:
                if not _same(known, record, lookup):
                    errors.append(_differs(kind, key, record, known))
                else:
                    skipped.add(key)
                continue
            added.setdefault(kind, []).append((record, cells))
        result.skipped[kind] = len(skipped)
        result.added[kind] = len(added.get(kind, ()))
    # The cross-checks, all at once with the problems above: what refers to a
    # record that could not be made is not reported again.
    found = cross_check(
        ledger, {k: [r for r, _ in v] for k, v in added.items()}, failed
    )
    errors.extend(e for e in found if e.source and e.source.path == rel)
    problems = [e for e in errors if not e.warning]
    if problems:
        raise ImportInvalid(errors)
    taken: set[str] = set()
    to_write: list[tuple[Path, str]] = []
    for kind, pairs in added.items():
        stem = "import-" + Path(source).name.replace(".", "-")
        name = new_file(ledger.root, kind, stem, taken)
        taken.add(name)
        to_write.append((ledger.root / name, csv_text(kind, [t for _, t in pairs])))
        result.files.append(name)
    if not dry_run:
        from arledger.fileio import write_output

        for path, text in to_write:
            write_output(path, text, make_parents=True)
    return result


def _differs(kind: str, key: Any, record: Any, other: Any) -> LedgerError:
    what = kind.removesuffix("s")
    name = key if isinstance(key, str) else "without id"
    return LedgerError(
        record.source,
        f"{what} {name!r} differs from the one at {other.source}; "
        "change one of them or leave it out of the import",
    )


def new_file(root: Path, kind: str, stem: str, taken: Collection[str] = ()) -> str:
    """`KIND/STEM.csv`, or `KIND/STEM-N.csv` when that is taken: a file that
    does not exist yet, relative to the ledger."""
    name, n = f"{kind}/{stem}.csv", 1
    while (root / name).exists() or name in taken:
        n += 1
        name = f"{kind}/{stem}-{n}.csv"
    return name


def csv_text(kind: str, rows: list[dict[str, str]]) -> str:
    """Records in the ledger's CSV form: a header of the fields given, in the
    model's order, one line a record."""
    order = list(_fields_of(kind))
    given = {name for row in rows for name in row}
    columns = [name for name in order if name in given]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(name, "") for name in columns])
    return out.getvalue()
