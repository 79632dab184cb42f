"""The Typer app: every command, in the order of `arledger --help`.

A command is options -> load -> view -> compute -> render -> write -> exit code;
the commands live in `arledger/commands/`, what they share in `commands/common.py`.
The console script starts in `arledger/cli.py`, which imports this module only
when the report cache cannot answer first.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from arledger import __version__
from arledger.commands import (
    books,
    cash,
    dunning,
    export,
    ledger,
    performance,
    receivables,
)

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

# Each module adds its commands; the order here is the order in `--help`.
for module in (ledger, receivables, performance, cash, dunning, export):
    module.register(app)
books.register(app)  # import, match


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
