"""`import` and `match`: records and bank lines from other programs (SPEC §5, §6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from arledger.commands.common import (
    ExitCode,
    LedgerOpt,
    choice,
    exit_codes,
    load_ledger,
    option,
    print_problems,
    stderr,
    summary,
)

BOOK_FORMATS = ("table", "csv", "json")

BookFormatOpt = Annotated[
    str, option("--format", "-f", metavar="FORMAT", help="table, csv or json.")
]


def _problems(errors: list[Any], what: str) -> typer.Exit:
    print_problems(errors)
    stderr(f"arledger: {summary(errors)}; {what}")
    return typer.Exit(ExitCode.BAD_INPUT)


@exit_codes
def import_(
    source: Annotated[Path, typer.Argument(help="A CSV file or an .xlsx workbook.")],
    rules: Annotated[
        Path,
        option(
            "--rules",
            "-r",
            metavar="RULES.yaml",
            help="How the source's rows become records (SPEC §5).",
        ),
    ],  # fmt: skip
    ledger: LedgerOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be added; write nothing.")
    ] = False,
    format: BookFormatOpt = "table",
) -> None:
    """Records from another program's CSV or xlsx export, checked like the ledger's."""
    from arledger.importer import ImportInvalid, run_import

    choice("--format", format, BOOK_FORMATS)
    loaded = load_ledger(ledger)
    try:
        result = run_import(loaded, source, rules, dry_run=dry_run)
    except ImportInvalid as exc:
        raise _problems(exc.errors, "nothing imported") from None
    if format == "json":
        data = result.as_json()
        if dry_run:
            data["dry_run"] = True
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    files = dict(zip(_kinds_with_files(result), result.files, strict=True))
    if format == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["kind", "added", "skipped", "file"])
        for kind in result.added:
            writer.writerow(
                [kind, result.added[kind], result.skipped[kind], files.get(kind, "")]
            )
        typer.echo(out.getvalue(), nl=False)
        return
    verb = "would write" if dry_run else "wrote"
    width = max((len(k) for k in result.added), default=0)
    for kind in result.added:
        line = (
            f"{kind:<{width}}  {result.added[kind]} added, "
            f"{result.skipped[kind]} already in the ledger"
        )
        if kind in files:
            line += f"  -> {verb} {files[kind]}"
        typer.echo(line)
    if not result.files:
        typer.echo("nothing new: no file written")
    elif dry_run:
        typer.echo("dry run: nothing written")


def _kinds_with_files(result: Any) -> list[str]:
    return [k for k, n in result.added.items() if n]


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
