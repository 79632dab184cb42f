"""`check` and `init`: the ledger itself."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from arledger.cli import prefault
from arledger.commands.common import (
    AsOfOpt,
    ExitCode,
    LedgerOpt,
    as_of_date,
    exit_codes,
    file_sizes,
    print_problems,
    stderr,
    summary,
)
from arledger.errors import UsageError


@exit_codes
def check(
    ledger: LedgerOpt = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="text, or json for scripts.")
    ] = "text",
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Warnings are failures too: exit 2 if there is any (SPEC §13).",
        ),
    ] = False,
    as_of: AsOfOpt = None,
) -> None:
    """Validate the ledger: every problem as FILE:LINE, exit 2 if there is any.

    Then lint it as of today (or --as-of): duplicate-looking payments, old
    unapplied cash, forgotten broken promises, customers who cannot be reached,
    unearned discounts, dunning levels without a template, records dated after
    today. These are warnings (exit 0) unless --strict.
    """
    from arledger.loader import find_ledger, load

    if format not in ("text", "json"):
        raise UsageError(f"unknown format {format!r}; choose text or json")
    today = as_of_date(as_of)
    root = find_ledger(ledger)
    prefault(sum(file_sizes(root).values()))  # a big ledger's memory, ahead
    # Of a big ledger kept as cells, lint reads the records it speaks of.
    loaded, errors = load(root)
    from arledger.mail import log_problems

    found = log_problems(loaded)
    if not any(not e.warning for e in errors):
        from arledger.lint import lint

        # Lint reads the settlement, which a ledger with errors has not got.
        found += lint(loaded, today)
    errors = sorted([*errors, *found], key=lambda e: e.sort_key())
    problems = sum(1 for e in errors if not e.warning or strict)
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
        print_problems(errors)
        if problems:
            failing = " (--strict: warnings fail)" if strict else ""
            stderr(f"arledger: {summary(errors)}{failing}")
        else:
            counts = ", ".join(
                f"{n} {kind if n != 1 else kind.removesuffix('s')}"
                for kind, n in loaded.counts().items()
                if n or kind in ("customers", "invoices")
            )
            warnings = len(errors)  # no problems here, so these are all warnings
            warned = (
                f" ({warnings} warning{'s' if warnings != 1 else ''})"
                if warnings
                else ""
            )
            typer.echo(f"{counts}: ok{warned}")
    if problems:
        raise typer.Exit(ExitCode.BAD_INPUT)


EMPTY_SETTINGS = """\
# arledger settings: every key is optional (README: arledger.yaml).
currency: USD
language: en
terms: {default: 30}
"""


@exit_codes
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to create the ledger.")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty directory.")
    ] = False,
    empty: Annotated[
        bool,
        typer.Option(
            "--empty", help="Settings only, no records: ready to import into."
        ),
    ] = False,
) -> None:
    """Create a new ledger with example data (a copy of examples/demo)."""
    from importlib.resources import files

    from arledger.fileio import copy_tree, write_output

    if empty:
        settings = directory / "arledger.yaml"
        write_output(settings, EMPTY_SETTINGS, force=force, make_parents=True)
        typer.echo(
            f"created an empty ledger in {directory}; "
            f"try: arledger import FILE --rules RULES.yaml --ledger {directory}"
        )
        return

    written = copy_tree(files("arledger") / "skeleton", directory, force=force)
    typer.echo(
        f"created a ledger in {directory} ({len(written)} files); "
        f"try: arledger aging --ledger {directory} --as-of 2026-10-31"
    )


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(init)
