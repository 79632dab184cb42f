"""The Typer app: every command, in the order of `arledger --help`.

A command is options -> load -> view -> compute -> render -> write -> exit code;
the commands live in `arledger/commands/`, what they share in `commands/common.py`.
The console script starts in `arledger/cli.py`, which imports this module only
when the report cache cannot answer first.
"""

from __future__ import annotations

import copy
import os
import re
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, NoSuchOption
from typer.core import TyperGroup
from typer.main import get_command_name

from arledger import __version__
from arledger.commands import (
    allowance,
    books,
    cash,
    confirmations,
    dunning,
    export,
    interest,
    ledger,
    limitation,
    performance,
    plans,
    receivables,
)


class _Group(TyperGroup):
    """The command group, saying a usage error in one `arledger: error:` line
    (with Click's suggestion) instead of Click's usage block, exit 2."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except NoArgsIsHelpError as exc:  # `arledger` alone: the help, as Click does
            exc.show()
            sys.exit(exc.exit_code)
        except ClickException as exc:
            typer.echo(f"arledger: error: {usage_error(exc)}", err=True)
            sys.exit(2)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def usage_error(exc: ClickException) -> str:
    """Click's message as one line in arledger's style: `aging: no such option
    --as-off (did you mean --as-of?)`."""
    if isinstance(exc, NoSuchOption):
        message = f"no such option {exc.option_name}"
        if exc.possibilities:
            message += f" (did you mean {' or '.join(sorted(exc.possibilities))}?)"
    else:
        message = exc.format_message().strip()
        found = re.fullmatch(r"(.*?)\.? Did you mean (.*)\?", message, re.DOTALL)
        if found:
            message = f"{found[1]} (did you mean {found[2]}?)"
        message = message.rstrip(".")
        message = message[:1].lower() + message[1:]
    message = " ".join(message.split())
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and ctx.parent is not None:  # an error of one command
        return f"{ctx.info_name}: {message}"
    return message


app = typer.Typer(
    name="arledger",
    cls=_Group,
    help="Accounts receivable over plain-text files: aging, overdue, collection, "
    "dunning. Run `arledger COMMAND --help` for a command's options.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Rich panels (box drawing) for help and usage errors only on a terminal.
    rich_markup_mode="rich" if sys.stdout.isatty() and sys.stderr.isatty() else None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Each module adds its commands; `--help` lists them in the order of a month's
# work: the ledger, who owes what, how well we collect, what to provision,
# what to send, the workbook, then books in and out.
for module in (
    ledger,  # check, init
    receivables,  # aging, overdue
    performance,  # collection, risk
    plans,  # SPEC §7
    cash,  # forecast, statement
    allowance,  # SPEC §8
    limitation,  # SPEC §11
    confirmations,  # SPEC §10
    dunning,
    interest,
    export,
    books,  # import, match, journal
):
    module.register(app)
ORDER = ("check", "init", "aging", "overdue", "collection", "plans", "risk",
         "forecast", "allowance", "limitation", "statement", "confirmations",
         "dunning", "interest", "export", "import", "match", "journal")  # fmt: skip


def _name(info: typer.models.CommandInfo) -> str:
    return info.name or get_command_name(info.callback.__name__)  # type: ignore[union-attr]


app.registered_commands.sort(
    key=lambda info: ORDER.index(_name(info)) if _name(info) in ORDER else len(ORDER)
)


def for_args(args: Sequence[str]) -> typer.Typer:
    """The app with only the command `args` name, when they start with one:
    Typer makes every command's Click command (reading each function's
    signature and types) before it runs one, a fifth of a small report's
    time, and a run needs one. Anything else (`--help`, a mistyped command,
    shell completion) gets the whole app, which says what there is."""
    if not args or args[0].startswith("-") or "_ARLEDGER_COMPLETE" in os.environ:
        return app
    wanted = [info for info in app.registered_commands if _name(info) == args[0]]
    if len(wanted) != 1:
        return app
    only = copy.copy(app)
    only.registered_commands = wanted
    return only


def main() -> None:
    """Run the command line (the console script, `python -m arledger`)."""
    for_args(sys.argv[1:])()


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
