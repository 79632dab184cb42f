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
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from arledger.errors import ArledgerError, LedgerError, LedgerInvalid, UsageError


class ExitCode(IntEnum):
    """Exit status (SPEC §3)."""

    OK = 0
    ATTENTION = 1  # done, and --fail-on found something
    BAD_INPUT = 2  # ledger errors, bad options


FORMATS = ("table", "csv", "json", "md", "xlsx")
BASES = ("due", "invoice")
FAIL_ON = ("overdue", "hold", "broken-promise")


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
        help="Report date: YYYY-MM-DD, today, month-end (end of last month), "
        "quarter-end, or any date python-dateutil reads. Default: today.",
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
            help="Only items owned by this collector/salesperson."),
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
FailOnOpt = Annotated[
    list[str] | None,
    option("--fail-on", metavar="WHAT",
            help="Exit 1 when this is found: overdue (an overdue item), hold "
            "(a customer on credit hold) or broken-promise; repeatable. For cron."),
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


# ---------------------------------------------------------------- plumbing


def stderr(message: str) -> None:
    typer.echo(message, err=True)


def print_problems(errors: list[LedgerError]) -> None:
    for error in errors:
        stderr(str(error))


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


def load_ledger(ledger_dir: Path | None) -> Any:
    """Load a ledger; raise LedgerInvalid on any error (warnings are for `check`).

    A big ledger shows a progress bar on stderr when it is a terminal; never in a
    pipe or under cron.
    """
    from arledger.loader import find_ledger, load

    root = find_ledger(ledger_dir)
    with _progress(root) as on_file:
        ledger, errors = load(root, on_file=on_file)
    if any(not e.warning for e in errors):
        raise LedgerInvalid(errors)
    return ledger


@contextlib.contextmanager
def _progress(root: Path) -> Iterator[Callable[[Path], None] | None]:
    """A progress bar over a big ledger's record files, on a terminal only:
    yields what to call as each file is read (None: no bar)."""
    if not sys.stderr.isatty():
        yield None
        return
    from arledger.loader import record_files

    sizes = {file: file.stat().st_size for file in record_files(root)}
    total = sum(sizes.values())
    if total < PROGRESS_BYTES:
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

    def resolve_format(self) -> str:
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

    def render(self, report: Any) -> str | bytes:
        from arledger.render import render

        return render(report, self.resolve_format(), self.environment())

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

    def emit(self, report: Any, protected: tuple[Path, ...]) -> None:
        self.write(self.render(report), protected)


def customer_ids(ledger: Any, wanted: list[str] | None) -> list[str] | None:
    """Customer ids from --customer values (an id, or a name in any case)."""
    if not wanted:
        return None
    import difflib

    by_name = {c.name.casefold(): c.id for c in ledger.customers.values()}
    ids = []
    for value in wanted:
        if value in ledger.customers:
            ids.append(value)
        elif value.casefold() in by_name:
            ids.append(by_name[value.casefold()])
        else:
            close = difflib.get_close_matches(value, ledger.customers, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(f"--customer: unknown customer {value!r}{hint}")
    return ids


def as_of_date(text: str | None) -> date:
    from arledger.dates import DateError, resolve_as_of

    try:
        return resolve_as_of(text, today())
    except DateError as exc:
        raise UsageError(f"--as-of: {exc}") from None


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
) -> Any:
    return ledger.view(
        as_of_date(as_of),
        customers=customer_ids(ledger, customer),
        owner=owner,
        currency=currency.strip().upper() if currency else None,
    )


def parse_fail_on(values: list[str] | None) -> set[str]:
    return {choice("--fail-on", v, FAIL_ON) for v in values or ()}


def attention(view: Any, settlement: Any, fail_on: set[str]) -> ExitCode:
    """Exit 1 when --fail-on finds something; say what on stderr."""
    code, messages = findings(view, settlement, fail_on)
    for message in messages:
        stderr(message)
    return code


def findings(
    view: Any, settlement: Any, fail_on: set[str]
) -> tuple[ExitCode, tuple[str, ...]]:
    """The exit code --fail-on asks for, and the messages that say why."""
    if not fail_on:
        return ExitCode.OK, ()
    from arledger.alerts import findings as found_in

    found = found_in(view, settlement, fail_on)
    messages = tuple(f"arledger: attention: {message}" for message in found)
    return (ExitCode.ATTENTION if found else ExitCode.OK), messages


def run_report(
    sink: Output,
    alerts: set[str],
    ledger_dir: Path | None,
    as_of: str | None,
    customer: list[str] | None,
    owner: str | None,
    currency: str | None,
    build: Callable[[Any, Any], Any],
    context: typer.Context | None = None,
    *,
    history: bool = True,
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

    Raises:
        typer.Exit: always, with the exit code (1 when --fail-on found something).
    """
    from arledger import cache

    day = as_of_date(as_of)
    asked = None
    if context is not None:
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
    history = history or "broken-promise" in alerts
    loaded, view, settlement = _settled(
        ledger_dir, day, customer, owner, currency, history
    )
    data = sink.render(build(view, settlement))
    code, messages = findings(view, settlement, alerts)
    sink.write(data, loaded.files)
    for message in messages:
        stderr(message)
    cache.put(asked, cache.Entry(data, int(code), messages))
    raise typer.Exit(code)


def _settled(
    ledger_dir: Path | None,
    day: date,
    customer: list[str] | None,
    owner: str | None,
    currency: str | None,
    history: bool,
) -> tuple[Any, Any, Any]:
    """The ledger, the view and its settlement (`history`: with applications)."""
    from arledger.settle import settle

    loaded = load_ledger(ledger_dir)
    view = make_view(loaded, day.isoformat(), customer, owner, currency)
    return loaded, view, settle(view, history=history)
