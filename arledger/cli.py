"""The command line: options -> load -> view -> compute -> render -> write -> exit code.

No arithmetic and no file parsing here; only this module asks for today's date.
Library errors (`ArledgerError`) become `arledger: error: ...` and exit 2 in one
place, `_exit_codes`.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from arledger import __version__
from arledger.errors import ArledgerError, LedgerError, LedgerInvalid, UsageError

# Typer options take their help from here; long texts are kept in one place.
app = typer.Typer(
    name="arledger",
    help="Accounts receivable over plain-text files: aging, overdue, collection, "
    "dunning. Run `arledger COMMAND --help` for a command's options.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Rich panels (box drawing) for help and usage errors only on a terminal.
    rich_markup_mode="rich" if sys.stdout.isatty() and sys.stderr.isatty() else None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class ExitCode(IntEnum):
    """Exit status (SPEC §3)."""

    OK = 0
    ATTENTION = 1  # done, and --fail-on found something
    BAD_INPUT = 2  # ledger errors, bad options


FORMATS = ("table", "csv", "json", "md", "xlsx")
BASES = ("due", "invoice")
FAIL_ON = ("overdue", "hold")


def _choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(choices)}")
    return value


def _option(*names: str, metavar: str | None = None, **kwargs: Any) -> Any:
    return typer.Option(*names, show_default=False, metavar=metavar, **kwargs)


LedgerOpt = Annotated[
    Path | None,
    _option(
        "--ledger", "-l", metavar="DIR", envvar="ARLEDGER_DIR",
        help="Ledger directory (default: $ARLEDGER_DIR, else the current directory).",
    ),
]  # fmt: skip
AsOfOpt = Annotated[
    str | None,
    _option(
        "--as-of", metavar="DATE",
        help="Report date: YYYY-MM-DD, today, month-end (end of last month), "
        "quarter-end, or any date python-dateutil reads. Default: today.",
    ),
]  # fmt: skip
CustomerOpt = Annotated[
    list[str] | None,
    _option("--customer", "-c", metavar="ID",
            help="Only this customer (id or exact name); repeatable."),
]  # fmt: skip
OwnerOpt = Annotated[
    str | None,
    _option("--owner", metavar="NAME",
            help="Only items owned by this collector/salesperson."),
]  # fmt: skip
CurrencyOpt = Annotated[
    str | None,
    _option("--currency", metavar="CODE", help="Only this currency (ISO 4217)."),
]  # fmt: skip
FormatOpt = Annotated[
    str | None,
    _option("--format", "-f", metavar="FORMAT",
            help="table, csv, json, md or xlsx (default: from the --output "
            "suffix, else table)."),
]  # fmt: skip
OutputOpt = Annotated[
    Path | None,
    _option("--output", "-o", metavar="FILE",
            help="Write to FILE (atomically) instead of standard output."),
]  # fmt: skip
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Replace an existing output file.")
]
FailOnOpt = Annotated[
    list[str] | None,
    _option("--fail-on", metavar="WHAT",
            help="Exit 1 when this is found: overdue (an overdue item) or hold "
            "(a customer on credit hold); repeatable. For cron."),
]  # fmt: skip
DetailOpt = Annotated[
    bool, typer.Option("--detail", help="List the open items behind every total.")
]


# ---------------------------------------------------------------- plumbing


def _stderr(message: str) -> None:
    typer.echo(message, err=True)


def _print_problems(errors: list[LedgerError]) -> None:
    for error in errors:
        _stderr(str(error))


def _summary(errors: list[LedgerError]) -> str:
    problems = sum(1 for e in errors if not e.warning)
    warnings = len(errors) - problems
    parts = [f"{problems} problem{'s' if problems != 1 else ''}"]
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


F = TypeVar("F", bound=Callable[..., Any])


def _exit_codes(command: F) -> F:
    """Turn arledger's errors into a message on stderr and exit 2, in one place."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LedgerInvalid as exc:
            _print_problems(exc.errors)
            _stderr(
                f"arledger: {_summary(exc.errors)} in the ledger; "
                "nothing reported (see `arledger check`)"
            )
            raise typer.Exit(ExitCode.BAD_INPUT) from None
        except ArledgerError as exc:
            _stderr(f"arledger: error: {exc}")
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
            _stderr(
                f"arledger: internal error: {type(exc).__name__}: {exc} "
                "(a bug: please report it; ARLEDGER_DEBUG=1 shows where)"
            )
            raise typer.Exit(ExitCode.BAD_INPUT) from None

    return wrapper  # type: ignore[return-value]


def _today() -> date:
    return date.today()


def _load(ledger_dir: Path | None) -> Any:
    """Load a ledger; print its warnings; raise LedgerInvalid on any error."""
    from arledger.loader import load

    ledger, errors = load(ledger_dir)
    if any(not e.warning for e in errors):
        raise LedgerInvalid(errors)
    return ledger


@dataclass(frozen=True)
class Output:
    """Where and how a report is written (shared by every report command)."""

    format: str | None
    output: Path | None
    force: bool

    def resolve_format(self) -> str:
        from arledger.render import SUFFIXES

        if self.format is not None:
            return _choice("--format", self.format, FORMATS)
        if self.output is not None:
            suffix = self.output.suffix.lower()
            if suffix not in SUFFIXES:
                raise UsageError(
                    f"cannot tell the format from {self.output.name!r}; "
                    "give --format table|csv|json|md|xlsx"
                )
            return SUFFIXES[suffix]
        return "table"

    def emit(self, report: Any, protected: tuple[Path, ...]) -> None:
        from arledger.render import BINARY_FORMATS, Env, render

        fmt = self.resolve_format()
        to_terminal = self.output is None and sys.stdout.isatty()
        if fmt in BINARY_FORMATS and to_terminal:
            raise UsageError(f"{fmt} is binary: give --output FILE.{fmt}")
        env = Env(
            tty=to_terminal,
            color=to_terminal and not os.environ.get("NO_COLOR"),
        )
        data = render(report, fmt, env)
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
            _stderr(f"arledger: wrote {self.output}")


def _customer_ids(ledger: Any, wanted: list[str] | None) -> list[str] | None:
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


def _as_of(text: str | None) -> date:
    from arledger.dates import DateError, resolve_as_of

    try:
        return resolve_as_of(text, _today())
    except DateError as exc:
        raise UsageError(f"--as-of: {exc}") from None


def _buckets(text: str | None) -> tuple[int, ...] | None:
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


def _view(
    ledger: Any,
    as_of: str | None,
    customer: list[str] | None,
    owner: str | None,
    currency: str | None,
) -> Any:
    return ledger.view(
        _as_of(as_of),
        customers=_customer_ids(ledger, customer),
        owner=owner,
        currency=currency.strip().upper() if currency else None,
    )


def _fail_on(values: list[str] | None) -> set[str]:
    return {_choice("--fail-on", v, FAIL_ON) for v in values or ()}


def _attention(view: Any, settlement: Any, fail_on: set[str]) -> ExitCode:
    """Exit 1 when --fail-on finds something; say what on stderr."""
    if not fail_on:
        return ExitCode.OK
    from arledger.alerts import findings

    found = findings(view, settlement, fail_on)
    for message in found:
        _stderr(f"arledger: attention: {message}")
    return ExitCode.ATTENTION if found else ExitCode.OK


# ---------------------------------------------------------------- commands


@app.command()
@_exit_codes
def check(
    ledger: LedgerOpt = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="text, or json for scripts.")
    ] = "text",
) -> None:
    """Validate the ledger: every problem as FILE:LINE, exit 2 if there is any."""
    from arledger.loader import load

    if format not in ("text", "json"):
        raise UsageError(f"unknown format {format!r}; choose text or json")
    loaded, errors = load(ledger)
    problems = sum(1 for e in errors if not e.warning)
    if format == "json":
        import json

        data = {
            "ok": problems == 0,
            "counts": loaded.counts(),
            "problems": [
                {
                    "file": e.source.path if e.source else None,
                    "line": e.source.line if e.source else None,
                    "severity": "warning" if e.warning else "error",
                    "message": e.message,
                }
                for e in errors
            ],
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _print_problems(errors)
        if problems:
            _stderr(f"arledger: {_summary(errors)}")
        else:
            counts = ", ".join(
                f"{n} {kind if n != 1 else kind.removesuffix('s')}"
                for kind, n in loaded.counts().items()
                if n or kind in ("customers", "invoices")
            )
            warned = f" ({_summary(errors).split(', ')[1]})" if errors else ""
            typer.echo(f"{counts}: ok{warned}")
    if problems:
        raise typer.Exit(ExitCode.BAD_INPUT)


@app.command()
@_exit_codes
def aging(
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    currency: CurrencyOpt = None,
    basis: Annotated[
        str | None,
        _option(
            "--basis",
            metavar="BASIS",
            help="due (days past due) or invoice (days since issue).",
        ),
    ] = None,
    buckets: Annotated[
        str | None,
        _option(
            "--buckets",
            metavar="DAYS",
            help="Bucket limits in days, e.g. 30,60,90 (default: settings).",
        ),
    ] = None,
    detail: DetailOpt = False,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    fail_on: FailOnOpt = None,
) -> None:
    """Aging by customer (账龄): open balances in buckets of days past due."""
    from arledger.reports import aging as aging_report
    from arledger.settle import settle

    sink = Output(format, output, force)
    sink.resolve_format()
    limits = _buckets(buckets)
    alerts = _fail_on(fail_on)
    if basis is not None:
        _choice("--basis", basis, BASES)
    loaded = _load(ledger)
    view = _view(loaded, as_of, customer, owner, currency)
    settlement = settle(view)
    result = aging_report.compute(view, settlement, basis=basis, limits=limits)
    sink.emit(aging_report.to_report(result, detail=detail), loaded.files)
    raise typer.Exit(_attention(view, settlement, alerts))


@app.command()
@_exit_codes
def overdue(
    ledger: LedgerOpt = None,
    as_of: AsOfOpt = None,
    customer: CustomerOpt = None,
    owner: OwnerOpt = None,
    currency: CurrencyOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
    fail_on: FailOnOpt = None,
) -> None:
    """Overdue items (逾期), worst first (days past due × open amount)."""
    from arledger.reports import overdue as overdue_report
    from arledger.settle import settle

    sink = Output(format, output, force)
    sink.resolve_format()
    alerts = _fail_on(fail_on)
    loaded = _load(ledger)
    view = _view(loaded, as_of, customer, owner, currency)
    settlement = settle(view)
    result = overdue_report.compute(view, settlement)
    sink.emit(overdue_report.to_report(result), loaded.files)
    raise typer.Exit(_attention(view, settlement, alerts))


@app.command()
@_exit_codes
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to create the ledger.")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty directory.")
    ] = False,
) -> None:
    """Create a new ledger with example data (a copy of examples/demo)."""
    from importlib.resources import files

    from arledger.fileio import copy_tree

    written = copy_tree(files("arledger") / "skeleton", directory, force=force)
    typer.echo(
        f"created a ledger in {directory} ({len(written)} files); "
        f"try: arledger aging --ledger {directory} --as-of 2026-10-31"
    )


def _version(value: bool) -> None:
    if value:
        typer.echo(f"arledger {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool | None,
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = None,
) -> None:
    """Accounts receivable over plain-text files."""


def main() -> None:
    """Console-script entry point."""
    app()
