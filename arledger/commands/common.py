"""What every command shares: options, loading, filtering, output and exit codes.

Library errors (`ArledgerError`) become `arledger: error: ...` and exit 2 in one
place, `exit_codes`. Only `today` asks the clock.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from arledger.cli import keep, prefault
from arledger.errors import ArledgerError, LedgerError, LedgerInvalid, UsageError


class ExitCode(IntEnum):
    """Exit status (SPEC §3)."""

    OK = 0
    ATTENTION = 1  # done, and --fail-on found something
    BAD_INPUT = 2  # ledger errors, bad options


FORMATS = ("table", "csv", "json", "md", "xlsx")
BASES = ("due", "invoice")
FAIL_ON = ("overdue", "hold", "broken-promise", "broken-plan", "limitation",
           "new-overdue", "new-hold", "new-broken-promise",
           "new-broken-plan")  # fmt: skip
NEW = "new-"  # `new-overdue`: only what the last run did not find


def choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(choices)}")
    return value


def option(*names: str, metavar: str | None = None, **kwargs: Any) -> Any:
    return typer.Option(*names, show_default=False, metavar=metavar, **kwargs)


LedgerOpt = Annotated[
    Path | None,
    option(
        "--ledger", "-l", metavar="DIR", envvar="ARLEDGER_DIR",
        help="Ledger directory (default: $ARLEDGER_DIR, else the current directory).",
    ),
]  # fmt: skip
AsOfOpt = Annotated[
    str | None,
    option(
        "--as-of", metavar="DATE",
        help="Report date: YYYY-MM-DD, a date with the month in words "
        "(31 Oct 2026), today, month-end (end of last month) or quarter-end. "
        "Default: today.",
    ),
]  # fmt: skip
CustomerOpt = Annotated[
    list[str] | None,
    option("--customer", "-c", metavar="ID",
            help="Only this customer (id or exact name); repeatable."),
]  # fmt: skip
OwnerOpt = Annotated[
    str | None,
    option("--owner", metavar="NAME",
            help="Only items owned by this collector/salesperson (as written "
            "in the ledger)."),
]  # fmt: skip
KeyAccountsOpt = Annotated[
    bool,
    option("--key-accounts",
            help="Only key accounts (customers marked key_account: true)."),
]  # fmt: skip
CurrencyOpt = Annotated[
    str | None,
    option("--currency", metavar="CODE", help="Only this currency (ISO 4217)."),
]  # fmt: skip
FormatOpt = Annotated[
    str | None,
    option("--format", "-f", metavar="FORMAT",
            help="table, csv, json, md or xlsx (default: from the --output "
            "suffix, else table)."),
]  # fmt: skip
OutputOpt = Annotated[
    Path | None,
    option("--output", "-o", metavar="FILE",
            help="Write to FILE (atomically) instead of standard output."),
]  # fmt: skip
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Replace an existing output file.")
]
BomOpt = Annotated[
    bool | None,
    typer.Option("--bom/--no-bom", show_default=False,
                 help="CSV: start with a UTF-8 byte order mark, so that Excel "
                 "shows Chinese text intact (default: settings csv.bom, else no)."),
]  # fmt: skip
FailOnOpt = Annotated[
    list[str] | None,
    option("--fail-on", metavar="WHAT",
            help="Exit 1 when this is found: overdue (an overdue item), hold "
            "(a customer on credit hold), broken-promise, broken-plan (a "
            "collection plan instalment missed) or limitation (an item past or "
            "within 90 days of its limitation date); new-overdue, new-hold, "
            "new-broken-promise or new-broken-plan for only what the last run "
            "(--state) did not find. Repeatable. For cron."),
]  # fmt: skip
StateOpt = Annotated[
    Path | None,
    option("--state", metavar="FILE",
           help="Where --fail-on new-... keeps what this run found, for the next "
           "run to compare with (a small JSON file, replaced atomically; missing "
           "on the first run)."),
]  # fmt: skip
FromOpt = Annotated[
    str | None,
    option("--from", metavar="DATE", help="First day (instead of --period)."),
]
ToOpt = Annotated[
    str | None,
    option("--to", metavar="DATE", help="Last day (default: --as-of; never after it)."),
]
DetailOpt = Annotated[
    bool, typer.Option("--detail", help="List the open items behind every total.")
]
CompareToOpt = Annotated[
    str | None,
    option("--compare-to", metavar="DATE",
            help="An earlier date to compare with, in the forms --as-of takes; "
            "month-end and quarter-end count back from --as-of."),
]  # fmt: skip


# ---------------------------------------------------------------- plumbing


def stderr(message: str) -> None:
    typer.echo(message, err=True)


def print_problems(errors: list[LedgerError]) -> None:
    """Each problem on a line of stderr, written at once (thousands of
    warnings took one call each)."""
    if errors:
        stderr("\n".join(map(str, errors)))


def summary(errors: list[LedgerError]) -> str:
    problems = sum(1 for e in errors if not e.warning)
    warnings = len(errors) - problems
    parts = [f"{problems} problem{'s' if problems != 1 else ''}"]
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


F = TypeVar("F", bound=Callable[..., Any])


def exit_codes(command: F) -> F:
    """Turn arledger's errors into a message on stderr and exit 2, in one place."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LedgerInvalid as exc:
            print_problems(exc.errors)
            stderr(
                f"arledger: {summary(exc.errors)} in the ledger; "
                "nothing reported (see `arledger check`)"
            )
            raise typer.Exit(ExitCode.BAD_INPUT) from None
        except ArledgerError as exc:
            stderr(f"arledger: error: {exc}")
            raise typer.Exit(ExitCode.BAD_INPUT) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            # `arledger aging | head`: the reader left; not an error of ours.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise typer.Exit(ExitCode.OK) from None
        except Exception as exc:
            if os.environ.get("ARLEDGER_DEBUG"):
                raise
            stderr(
                f"arledger: internal error: {type(exc).__name__}: {exc} "
                "(a bug: please report it; ARLEDGER_DEBUG=1 shows where)"
            )
            raise typer.Exit(ExitCode.BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


def today() -> date:
    return date.today()


# Ledgers this big take a second or more to load: show progress on a terminal.
PROGRESS_BYTES = 4_000_000


def load_ledger(
    ledger_dir: Path | None, *, rows: bool = False, settle_ahead: Any = None
) -> Any:
    """Load a ledger; raise LedgerInvalid on any error (warnings are for `check`).
    `rows`: the command reads every record (`loader.load`'s `keep_cells`).
    `settle_ahead`: the settlement the command makes of every customer's
    records (`loader.load`'s, a `settle.Ahead`).

    A big ledger shows a progress bar on stderr when it is a terminal; never in a
    pipe or under cron. Its memory is faulted in ahead (`cli.prefault`).
    """
    from arledger.loader import find_ledger, load

    root = find_ledger(ledger_dir)
    sizes = file_sizes(root)
    prefault(sum(sizes.values()))
    with _progress(sizes) as on_file:
        ledger, errors = load(
            root, on_file=on_file, keep_cells=not rows, settle_ahead=settle_ahead
        )
    if any(not e.warning for e in errors):
        raise LedgerInvalid(errors)
    keep(ledger)
    return ledger


def file_sizes(root: Path) -> dict[Path, int]:
    """The size of each record file of a ledger (0 for one that cannot be
    looked at: the loader says why)."""
    from arledger.loader import record_files

    sizes = {}
    for file in record_files(root):
        try:
            sizes[file] = file.stat().st_size
        except OSError:
            sizes[file] = 0
    return sizes


@contextlib.contextmanager
def _progress(sizes: dict[Path, int]) -> Iterator[Callable[[Path], None] | None]:
    """A progress bar over a big ledger's record files (`sizes`), on a terminal
    only: yields what to call as each file is read (None: no bar)."""
    total = sum(sizes.values())
    if total < PROGRESS_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("Loading the ledger", total=total)
        yield lambda file: bar.advance(task, sizes.get(file, 0))


@dataclass(frozen=True)
class Output:
    """Where and how a report is written (shared by every report command)."""

    format: str | None
    output: Path | None
    force: bool
    bom: bool | None = None  # --bom/--no-bom; None: settings csv.bom

    def resolve_format(self) -> str:
        self.refuse_directory()
        fmt = self._format()
        if self.bom and fmt != "csv":
            raise UsageError("--bom is for CSV: give --format csv or --output FILE.csv")
        return fmt

    def _format(self) -> str:
        from arledger.render import SUFFIXES

        if self.format is not None:
            return choice("--format", self.format, FORMATS)
        if self.output is not None:
            suffix = self.output.suffix.lower()
            if suffix not in SUFFIXES:
                raise UsageError(
                    f"cannot tell the format from {self.output.name!r}; "
                    "give --format table|csv|json|md|xlsx"
                )
            return SUFFIXES[suffix]
        return "table"

    def refuse_directory(self) -> None:
        """`-o adir/` is a directory, whatever its name says of a format."""
        if self.output is not None and self.output.is_dir():
            raise UsageError(f"--output: {self.output}: is a directory")

    def check(self, ledger_dir: Path | None) -> None:
        """Refuse an --output that cannot or must not be written (check_target)."""
        if self.output is not None:
            check_target(self.output, "--output", ledger_dir)

    def environment(self) -> Any:
        """How the output will be rendered: to a terminal (colour, width) or not."""
        from arledger.render import BINARY_FORMATS, Env

        fmt = self.resolve_format()
        to_terminal = self.output is None and sys.stdout.isatty()
        if fmt in BINARY_FORMATS and to_terminal:
            raise UsageError(f"{fmt} is binary: give --output FILE.{fmt}")
        return Env(
            tty=to_terminal,
            color=to_terminal and not os.environ.get("NO_COLOR"),
            width=shutil.get_terminal_size().columns if to_terminal else None,
        )

    def render(self, report: Any, settings: Any = None) -> str | bytes:
        """The report in its format; CSV with a byte order mark when --bom, or
        the ledger's settings (`csv.bom`), ask for one."""
        from arledger.render import render

        env = self.environment()
        bom = self.bom
        if bom is None:
            bom = settings is not None and settings.csv.bom
        return render(report, self.resolve_format(), replace(env, bom=bom))

    def write(self, data: str | bytes, protected: tuple[Path, ...]) -> None:
        """Write rendered output to stdout, or atomically to --output."""
        if self.output is None:
            if isinstance(data, bytes):
                sys.stdout.flush()
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            else:
                typer.echo(data, nl=False)
            return
        from arledger.fileio import write_output

        write_output(self.output, data, force=self.force, protected=protected)
        if sys.stderr.isatty():
            stderr(f"arledger: wrote {self.output}")

    def emit(
        self, report: Any, protected: tuple[Path, ...], settings: Any = None
    ) -> None:
        self.write(self.render(report, settings), protected)


def check_target(
    path: Path, option: str, ledger_dir: Path | None, *, folder: bool = False
) -> None:
    """Refuse, before any work, a place a command must not write to.

    A file: not an existing directory, and its folder must exist (a typo is
    never created silently). A file or a folder (`folder=True`, created when
    missing): not one of the ledger's own places, even with --force, since
    arledger never modifies the ledger's records (SPEC §4): a file named like a
    record kind at its top (`adjustments.csv`, `invoices.xlsx`), anything in a
    kind folder (`invoices/x.csv`), the settings, the sent log
    (`dunning-log.csv`, which only `--send` appends to) and `templates/`.

    Raises:
        UsageError: saying why.
    """
    if not folder:
        if path.is_dir():
            raise UsageError(f"{option}: {path}: is a directory")
        parent = path.parent
        if not parent.is_dir():
            what = "not a directory" if parent.exists() else "no such directory"
            raise UsageError(f"{option}: {path}: {what}: {parent}")
    from arledger.loader import find_ledger

    place = ledger_place(path.resolve(), find_ledger(ledger_dir).resolve())
    if place is not None:
        raise UsageError(f"{option}: {path}: is {place}, not a place for output")


def ledger_place(where: Path, root: Path) -> str | None:
    """Which of the ledger's own places `where` (resolved) is, or None."""
    from arledger.loader import KINDS, SETTINGS_FILE
    from arledger.mail import LOG_NAME, STATEMENT_LOG_NAME

    try:
        parts = where.relative_to(root).parts
    except ValueError:
        return None  # outside the ledger
    if not parts:
        return None
    top = parts[0]
    kind = top if top in KINDS else Path(top).stem if len(parts) == 1 else None
    if kind in KINDS:
        return f"where the ledger keeps its {kind}"
    if parts == (SETTINGS_FILE,):
        return f"the ledger's settings ({SETTINGS_FILE})"
    if parts in ((LOG_NAME,), (STATEMENT_LOG_NAME,)):
        return f"the ledger's sent log ({parts[0]})"
    if top == "templates":
        return "the ledger's letter templates"
    return None


def customer_ids(ledger: Any, wanted: list[str] | None) -> list[str] | None:
    """Customer ids from --customer values (each an id, or a name in any case)."""
    if not wanted:
        return None
    return [find_customer(ledger, value, "--customer") for value in wanted]


def key_account_ids(ledger: Any, ids: list[str] | None) -> list[str]:
    """--key-accounts: the key accounts, of those given by --customer if any."""
    keys = [c.id for c in ledger.customers.values() if c.key_account]
    if not keys:
        raise UsageError(
            "--key-accounts: no customer is a key account "
            "(mark them with `key_account: true` in customers)"
        )
    if ids is None:
        return keys
    kept = [i for i in ids if i in set(keys)]
    if not kept:
        raise UsageError(
            f"--key-accounts: {', '.join(ids)} "
            f"{'is not a key account' if len(ids) == 1 else 'are not key accounts'}"
            f"; the key accounts: {', '.join(sorted(keys))}"
        )
    return kept


def find_customer(ledger: Any, value: str, option: str | None) -> str:
    """A customer id from its id, or its name in any case.

    Ids are case-sensitive (SPEC §4), so `acme` for `ACME` is a usage error that
    suggests `ACME`, as a name that is near one is.
    """
    if value in ledger.customers:
        return value
    folded = value.strip().casefold()
    for record in ledger.customers.values():
        if record.name.casefold() == folded:
            return record.id
    known = {record.id: record.id for record in ledger.customers.values()}
    names = {record.name: record.id for record in ledger.customers.values()}
    hint = suggestion(value, known | names, what="customers", listed=sorted(known))
    prefix = f"{option}: " if option else ""
    raise UsageError(f"{prefix}unknown customer {value!r}{hint}")


def suggestion(
    value: str, known: dict[str, str], *, what: str, listed: list[str]
) -> str:
    """`" (did you mean 'X'?)"` when a known value is near `value` (ignoring
    case), else `"; the ledger's WHAT: A, B, C"`.

    Args:
        known: the texts a user may have meant, each to what is suggested for it
            (a customer's name to its id).
        listed: what to list when nothing is near (at most 12, then a count).
    """
    import difflib

    folded = {text.casefold(): meant for text, meant in known.items()}
    close = difflib.get_close_matches(value.strip().casefold(), folded, n=1)
    if close:
        return f" (did you mean {folded[close[0]]!r}?)"
    if not listed:
        return f"; the ledger has no {what}"
    shown = ", ".join(listed[:12])
    more = f" and {len(listed) - 12} more" if len(listed) > 12 else ""
    return f"; the ledger's {what}: {shown}{more}"


def check_filters(ledger: Any, owner: str | None, currency: str | None) -> None:
    """--owner and --currency must match something in the ledger (SPEC §3).

    Judged against the whole ledger, not only what exists at the as-of date: an
    owner whose items are all paid, or are not issued yet, gives a report with
    nothing in it, while a misspelt one is an error that says what there is.
    """
    if owner is None and currency is None:
        return
    if owner is not None:
        owners = {c.owner for c in ledger.customers.values() if c.owner}
        if owner not in owners:
            owners |= {i.owner for i in ledger.invoices.values() if i.owner}
        if owner not in owners:
            hint = suggestion(
                owner,
                {o: o for o in owners},
                what="owners",
                listed=[repr(o) for o in sorted(owners)],
            )
            raise UsageError(f"--owner: {owner!r} matches nothing in the ledger{hint}")
    if currency is not None:
        currencies = ledger_currencies(ledger, records=False)
        if currency not in currencies:
            currencies = ledger_currencies(ledger)
        if currency not in currencies:
            hint = suggestion(
                currency,
                {c: c for c in currencies},
                what="currencies",
                listed=sorted(currencies),
            )
            raise UsageError(
                f"--currency: {currency!r} matches nothing in the ledger{hint}"
            )


def ledger_currencies(ledger: Any, *, records: bool = True) -> set[str]:
    """The currencies a ledger names: its base currency, its customers' and
    (unless `records=False`, the quick look) its records'."""
    found = {ledger.settings.currency}
    found |= {ledger.customer_currency(c) for c in ledger.customers}
    if records:
        for kind in (ledger.invoices.values(), ledger.payments, ledger.adjustments):
            found |= {ledger.currency_of(record) for record in kind}
    return found


def as_of_date(text: str | None) -> date:
    from arledger.dates import DateError, resolve_as_of

    try:
        return resolve_as_of(text, today())
    except DateError as exc:
        raise UsageError(f"--as-of: {exc}") from None


def compare_date(text: str, as_of: str | None) -> date:
    """--compare-to: a date before --as-of (month-end: the end of the month
    before --as-of's, quarter-end likewise)."""
    from arledger.dates import DateError, resolve_as_of

    day = as_of_date(as_of)
    try:
        found = resolve_as_of(text, day)
    except DateError as exc:
        raise UsageError(f"--compare-to: {exc}") from None
    if found >= day:
        raise UsageError(
            f"--compare-to {found.isoformat()} is not before --as-of {day.isoformat()}"
        )
    return found


def parse_buckets(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    from arledger.model import check_buckets

    try:
        limits = tuple(int(part) for part in text.replace(" ", "").split(","))
        return check_buckets(limits)
    except ValueError as exc:
        detail = (
            str(exc)
            if "bucket" in str(exc) or "give" in str(exc)
            else ("give whole day counts separated by commas, e.g. 30,60,90")
        )
        raise UsageError(f"--buckets {text!r}: {detail}") from None


def make_view(
    ledger: Any,
    as_of: str | None,
    customer: list[str] | None,
    owner: str | None,
    currency: str | None,
    key_accounts: bool = False,
) -> Any:
    code = currency.strip().upper() if currency else None
    ids = customer_ids(ledger, customer)
    if key_accounts:
        ids = key_account_ids(ledger, ids)
    check_filters(ledger, owner, code)
    return ledger.view(as_of_date(as_of), customers=ids, owner=owner, currency=code)


@dataclass(frozen=True)
class Alerts:
    """The --fail-on conditions, and the --state file their `new-` forms need."""

    kinds: frozenset[str] = frozenset()
    state: Path | None = None

    def __contains__(self, kind: object) -> bool:
        return kind in self.kinds

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def without(self, kind: str) -> Alerts:
        return replace(self, kinds=self.kinds - {kind})

    @property
    def now(self) -> frozenset[str]:
        """The conditions about what is there today: `overdue`, ..."""
        return frozenset(k for k in self.kinds if not k.startswith(NEW))

    @property
    def new(self) -> frozenset[str]:
        """The conditions about what is new since the last run, without `new-`."""
        return frozenset(k.removeprefix(NEW) for k in self.kinds if k.startswith(NEW))


def parse_fail_on(
    values: list[str] | None,
    state: Path | None = None,
    ledger_dir: Path | None = None,
) -> Alerts:
    """--fail-on and --state, checked before any work."""
    kinds = frozenset(choice("--fail-on", v, FAIL_ON) for v in values or ())
    new = sorted(k for k in kinds if k.startswith(NEW))
    if new and state is None:
        raise UsageError(
            f"--fail-on {new[0]}: give --state FILE, where each run keeps what it "
            "found for the next one to compare with"
        )
    if state is not None and not new:
        raise UsageError(
            "--state keeps what --fail-on new-overdue, new-hold, "
            "new-broken-promise or new-broken-plan found: give one of them"
        )
    if state is not None:
        check_target(state, "--state", ledger_dir)
    return Alerts(kinds, state)


def attention(
    view: Any, settlement: Any, alerts: Alerts, protected: tuple[Path, ...]
) -> ExitCode:
    """Exit 1 when --fail-on finds something; say what on stderr; keep the state."""
    code, messages, state = findings(view, settlement, alerts)
    for message in messages:
        stderr(message)
    keep_state(alerts, state, protected)
    return code


def findings(
    view: Any, settlement: Any, alerts: Alerts
) -> tuple[ExitCode, tuple[str, ...], str | None]:
    """The exit code --fail-on asks for, the messages that say why, and the
    state file's new text (None without --state; see `keep_state`)."""
    if not alerts:
        return ExitCode.OK, (), None
    from arledger import alerts as rules

    found = rules.detect(view, settlement, alerts.now | alerts.new)
    said = [
        rules.message(k, found[k]) for k in rules.KINDS if found.get(k) and k in alerts
    ]
    state = None
    if alerts.state is not None:
        since, before = read_state(alerts.state)
        new = {k: found[k] for k in rules.KINDS if k in alerts.new}
        said += rules.news(new, before, since)
        kept = {**(before or {}), **{k: [f.key for f in v] for k, v in new.items()}}
        state = state_text(view.as_of, kept)
    messages = tuple(f"arledger: attention: {message}" for message in said)
    return (ExitCode.ATTENTION if said else ExitCode.OK), messages, state


# The state file of --fail-on new-...: what the last run found, by kind.
STATE_MARK = "arledger --fail-on state"


def read_state(path: Path) -> tuple[str | None, dict[str, list[str]] | None]:
    """The last run's as-of date and findings; (None, None) before a first run."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError, ValueError):
        data = None
    found = data.get("found") if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or data.get("state") != STATE_MARK
        or not isinstance(found, dict)
        or not all(
            isinstance(v, list) and all(isinstance(k, str) for k in v)
            for v in found.values()
        )
    ):
        raise UsageError(
            f"--state: {path}: not a state file arledger wrote; remove it to "
            "start afresh (the next run then reports everything as new)"
        )
    since = data.get("as_of")
    return (since if isinstance(since, str) else None), found


def state_text(as_of: date, found: dict[str, list[str]]) -> str:
    import json

    data = {"state": STATE_MARK, "as_of": as_of.isoformat(), "found": found}
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def keep_state(alerts: Alerts, text: str | None, protected: tuple[Path, ...]) -> None:
    """Write the state for the next run, atomically (after the report is out:
    a run that failed to write its report leaves the news for the next one)."""
    if alerts.state is None or text is None:
        return
    from arledger.fileio import write_output

    write_output(alerts.state, text, force=True, protected=protected)


def run_report(
    sink: Output,
    alerts: Alerts,
    ledger_dir: Path | None,
    as_of: str | None,
    customer: list[str] | None,
    owner: str | None,
    currency: str | None,
    build: Callable[[Any, Any], Any],
    context: typer.Context | None = None,
    *,
    history: bool = True,
    paid: bool = True,
    key_accounts: bool = False,
    rows: bool = False,
) -> None:
    """The body report commands share: load, filter, settle, build, write, exit.

    `build(view, settlement)` returns the Report. Options are checked by the
    caller before this runs, so a bad option never waits for a big ledger. Given
    the command's `context`, the finished output is kept in the report cache
    (arledger/cache.py), keyed on the command, its options, the as-of date,
    where the output goes, the ledger's files and arledger's code, and reused
    while none of them changes.
    `history=False` for reports that read only open balances (see `settle`);
    `--fail-on broken-promise` reads the applications, so it settles with them.
    `paid=False` for reports that read the applications but no item paid in
    full (the findings of `--fail-on` read none).

    Raises:
        typer.Exit: always, with the exit code (1 when --fail-on found something).
    """
    from arledger import cache

    sink.check(ledger_dir)
    day = as_of_date(as_of)
    asked = None
    # With --state the exit code depends on the last run too: never from a cache.
    if context is not None and alerts.state is None:
        env = sink.environment()
        what = {
            "command": context.info_name,
            "params": context.params,
            "as_of": day,
            "format": sink.resolve_format(),
            "env": [env.tty, env.color, env.width],
        }
        asked = cache.key(ledger_dir, what)
        hit = cache.get(asked)
        if asked is not None and hit is not None:
            protected: tuple[Path, ...] = ()
            if sink.output is not None:
                from arledger.loader import SETTINGS_FILE, record_files

                protected = (*record_files(asked.root), asked.root / SETTINGS_FILE)
            sink.write(hit.data, protected)
            for message in hit.messages:
                stderr(message)
            raise typer.Exit(hit.exit_code)
    # Promises, plans and limitation (payments renew) are judged from the
    # applications: a settlement with history.
    history = history or bool(
        {"broken-promise", "broken-plan", "limitation"} & (alerts.now | alerts.new)
    )
    loaded, view, settlement = _settled(
        ledger_dir, day, customer, owner, currency, history, key_accounts, paid, rows
    )
    data = sink.render(build(view, settlement), view.settings)
    code, messages, state = findings(view, settlement, alerts)
    sink.write(data, loaded.files)
    for message in messages:
        stderr(message)
    keep_state(alerts, state, loaded.files)
    cache.put(asked, cache.Entry(data, int(code), messages))
    raise typer.Exit(code)


def _settled(
    ledger_dir: Path | None,
    day: date,
    customer: list[str] | None,
    owner: str | None,
    currency: str | None,
    history: bool,
    key_accounts: bool = False,
    paid: bool = True,
    rows: bool = False,
) -> tuple[Any, Any, Any]:
    """The ledger, the view and its settlement (`history`: with applications;
    `paid`: with the items paid in full)."""
    from arledger.settle import Ahead, settle

    # A view of every customer and currency settles from the cells: the
    # loader can settle them while its checks run.
    whole = not customer and currency is None and not key_accounts
    ahead = Ahead(day, owner, history, paid) if whole else None
    loaded = load_ledger(ledger_dir, rows=rows, settle_ahead=ahead)
    view = make_view(loaded, day.isoformat(), customer, owner, currency, key_accounts)
    settlement = settle(view, history=history, paid=paid)
    keep(settlement)
    return loaded, view, settlement
