"""`import` and `match`: records and bank lines from other programs (SPEC §5, §6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from arledger.commands.common import (
    ExitCode,
    ForceOpt,
    FromOpt,
    LedgerOpt,
    OutputOpt,
    ToOpt,
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
    loaded = load_ledger(ledger, rows=True)  # every record is read
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


@exit_codes
def match(
    statements: Annotated[
        list[Path],
        typer.Argument(help="camt.053 (.xml), MT940, OFX, or CSV/xlsx with --rules."),
    ],
    ledger: LedgerOpt = None,
    rules: Annotated[
        Path | None,
        option(
            "--rules",
            "-r",
            metavar="RULES.yaml",
            help="How a CSV/xlsx statement's rows become lines (`kind: bank`).",
        ),
    ] = None,  # fmt: skip
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Write the matched lines as payments."),
    ] = False,
    accept_suggested: Annotated[
        bool,
        typer.Option(
            "--accept-suggested", help="With --apply, write the suggested ones too."
        ),
    ] = False,
    format: BookFormatOpt = "table",
) -> None:
    """Bank statement lines to customers and open invoices (cash application)."""
    from arledger.importer import ImportInvalid
    from arledger.matching import StatementInvalid, match_lines, read_statement
    from arledger.matching import apply as apply_results

    choice("--format", format, BOOK_FORMATS)
    if accept_suggested and not apply:
        from arledger.errors import UsageError

        raise UsageError("--accept-suggested goes with --apply")
    loaded = load_ledger(ledger, rows=True)  # every record is read
    lines = []
    errors = []
    for path in statements:
        try:
            lines += read_statement(path, rules)
        except (StatementInvalid, ImportInvalid) as exc:
            errors += exc.errors
    if errors:
        raise _problems(errors, "nothing matched")
    results = match_lines(loaded, lines)
    files: list[str] = []
    if apply:
        try:
            files = apply_results(loaded, results, accept_suggested=accept_suggested)
        except ImportInvalid as exc:
            raise _problems(exc.errors, "nothing written") from None
    _show_matches(results, files, format)


def _show_matches(results: list[Any], files: list[str], format: str) -> None:
    from arledger.matching import STATUSES

    totals = {status: 0 for status in STATUSES}
    for result in results:
        totals[result.status] += 1
    if format == "json":
        data = {
            "report": "match",
            "rows": [r.as_json() for r in results],
            "totals": totals,
            "files": files,
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if format == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        keys = list(results[0].as_json()) if results else ["line", "status"]
        writer.writerow(keys)
        for result in results:
            row = result.as_json()
            row["allocations"] = ";".join(
                f"{k}={v}" for k, v in row["allocations"].items()
            )
            writer.writerow(["" if row[k] is None else row[k] for k in keys])
        typer.echo(out.getvalue(), nl=False)
        return
    typer.echo(_match_table(results), nl=False)
    typer.echo(", ".join(f"{n} {status}" for status, n in totals.items()))
    for name in files:
        typer.echo(f"wrote {name}")


def _match_table(results: list[Any]) -> str:
    import shutil
    import sys

    from arledger.render import Env, render
    from arledger.report import Column, Report, Section

    columns = (
        Column("line", "Line", "int"),
        Column("date", "Date", "date"),
        Column("amount", "Amount", "money"),
        Column("payer", "Payer"),
        Column("status", "Status"),
        Column("customer", "Customer"),
        Column("allocations", "Allocations"),
        Column("reason", "Reason"),
    )
    sections: dict[str | None, list[dict[str, Any]]] = {}
    for result in results:
        line = result.line
        sections.setdefault(line.currency, []).append(
            {
                "line": line.line,
                "date": line.date,
                "amount": line.amount,
                "payer": line.payer,
                "status": result.status,
                "customer": result.customer,
                "allocations": ", ".join(
                    f"{k} {v:f}" for k, v in result.allocations.items()
                ),
                "reason": result.reason,
            }
        )
    report = Report(
        "match",
        "Statement lines",
        max(
            (r.line.date for r in results), default=__import__("datetime").date.today()
        ),
        tuple(Section(c, columns, tuple(rows)) for c, rows in sections.items()),
    )
    tty = sys.stdout.isatty()
    env = Env(
        tty=tty, color=False, width=shutil.get_terminal_size().columns if tty else None
    )
    return str(render(report, "table", env))


@exit_codes
def journal(
    ledger: LedgerOpt = None,
    format: Annotated[
        str,
        option("--format", "-f", metavar="FORMAT", help="hledger or beancount."),
    ] = "hledger",
    start: FromOpt = None,
    end: ToOpt = None,
    output: OutputOpt = None,
    force: ForceOpt = False,
) -> None:
    """The period's invoices, payments and adjustments as hledger or beancount
    transactions, one receivable account per customer."""
    from arledger.journal import FORMATS
    from arledger.journal import journal as make_journal

    choice("--format", format, FORMATS)
    last = _date("--to", end)
    first = _date("--from", start) if start is not None else None
    if first is not None and first > last:
        from arledger.errors import UsageError

        raise UsageError(f"--from {first} is after --to {last}")
    loaded = load_ledger(ledger, rows=True)  # every record is read
    text = make_journal(loaded, format, first, last)
    if output is None:
        typer.echo(text, nl=False)
        return
    from arledger.fileio import write_output

    write_output(output, text, force=force, protected=tuple(loaded.files))


def _date(option_name: str, text: str | None) -> Any:
    from arledger.commands.common import as_of_date
    from arledger.errors import UsageError

    try:
        return as_of_date(text)
    except UsageError as exc:
        raise UsageError(str(exc).replace("--as-of", option_name)) from None


def _kinds_with_files(result: Any) -> list[str]:
    return [k for k, n in result.added.items() if n]


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command()(match)
    app.command()(journal)
