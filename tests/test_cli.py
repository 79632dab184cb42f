"""The command line end to end: Typer's runner for output, a subprocess for exits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arledger.cli import app

from .conftest import LEDGERS

SMALL = str(LEDGERS / "small")
COMMANDS = (
    "check",
    "aging",
    "overdue",
    "collection",
    "plans",
    "risk",
    "forecast",
    "statement",
    "dunning",
    "export",
    "init",
    "limitation",
)
GOLDEN = Path(__file__).parent / "golden"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def arledger(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real program in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "arledger", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
    )


# ---------------------------------------------------------------- golden outputs

GOLDEN_CASES = [
    ("aging", "table", []),
    ("aging", "json", []),
    ("aging", "csv", []),
    ("aging", "md", []),
    ("aging", "json", ["--detail"]),
    ("aging", "table", ["--detail"]),
    ("aging", "json", ["--basis", "invoice", "--buckets", "45,90"]),
    ("overdue", "table", []),
    ("overdue", "json", []),
    ("overdue", "csv", []),
]


@pytest.mark.parametrize(("command", "fmt", "extra"), GOLDEN_CASES)
def test_golden(command, fmt, extra, update_golden):
    result = run(
        command, "--ledger", SMALL, "--as-of", "2026-10-31", "--format", fmt, *extra
    )
    assert result.exit_code == 0, result.output
    suffix = {"table": "txt"}.get(fmt, fmt)
    name = "__".join([command, "small", *[e.strip("-") for e in extra]])
    path = GOLDEN / f"{name.replace(',', '_')}.{suffix}"
    if update_golden or not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- behaviour


def test_json_totals_are_the_sum_of_rows():
    result = run(
        "aging", "--ledger", SMALL, "--as-of", "2026-10-31", "--format", "json"
    )
    data = json.loads(result.stdout)
    for section in data["sections"]:
        for key, total in section["totals"].items():
            assert Decimal(total) == sum(Decimal(r[key]) for r in section["rows"])


def test_detail_total_equals_customer_total():
    """--detail shows the items behind every total: same grand total."""
    by_customer = json.loads(
        run("aging", "-l", SMALL, "--as-of", "2026-10-31", "-f", "json").stdout
    )
    by_item = json.loads(
        run(
            "aging", "-l", SMALL, "--as-of", "2026-10-31", "-f", "json", "--detail"
        ).stdout
    )
    for a, b in zip(by_customer["sections"], by_item["sections"], strict=True):
        assert a["totals"]["total"] == b["totals"]["open"]
        assert Decimal(b["totals"]["open"]) == sum(
            Decimal(r["open"]) for r in b["rows"]
        )


def test_stdout_is_only_the_report_and_has_no_colour():
    result = run("aging", "-l", SMALL, "--as-of", "2026-10-31")
    assert "\x1b[" not in result.stdout
    assert result.stdout.startswith("Aging as of 2026-10-31")


def test_check_clean_ledger():
    """No problem; lint (SPEC §13) warns of HUA, which has no address."""
    result = run("check", "--ledger", SMALL, "--as-of", "2026-10-31")
    assert result.exit_code == 0
    assert result.stdout == (
        "3 customers, 6 invoices, 4 payments, 1 adjustment, 1 contact: ok (1 warning)\n"
    )
    assert result.stderr.startswith("customers.yaml:14: warning: customer HUA ")


def test_check_json():
    result = run("check", "--ledger", SMALL, "--format", "json")
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["counts"]["invoices"] == 6


def test_as_of_words(monkeypatch):
    monkeypatch.setattr(
        "arledger.commands.common.today",
        lambda: __import__("datetime").date(2026, 11, 23),
    )
    for word, expected in [
        ("today", "2026-11-23"),
        ("month-end", "2026-10-31"),
        ("quarter-end", "2026-09-30"),
        ("Oct 31 2026", "2026-10-31"),
    ]:
        result = run("aging", "-l", SMALL, "--as-of", word, "-f", "json")
        assert json.loads(result.stdout)["as_of"] == expected, word


def test_filters():
    data = json.loads(
        run(
            "aging",
            "-l",
            SMALL,
            "--as-of",
            "2026-10-31",
            "-f",
            "json",
            "--customer",
            "Acme Ltd",
        ).stdout
    )
    assert [r["customer"] for s in data["sections"] for r in s["rows"]] == ["ACME"]
    data = json.loads(
        run(
            "aging",
            "-l",
            SMALL,
            "--as-of",
            "2026-10-31",
            "-f",
            "json",
            "--currency",
            "eur",
        ).stdout
    )
    assert [s["currency"] for s in data["sections"]] == ["EUR"]
    data = json.loads(
        run(
            "aging",
            "-l",
            SMALL,
            "--as-of",
            "2026-10-31",
            "-f",
            "json",
            "--owner",
            "wang",
        ).stdout
    )
    assert [r["customer"] for s in data["sections"] for r in s["rows"]] == ["HUA"]


def test_unknown_customer_filter_is_a_usage_error():
    result = run("aging", "-l", SMALL, "--customer", "ACNE")
    assert result.exit_code == 2
    assert "unknown customer 'ACNE' (did you mean 'ACME'?)" in result.stderr


def test_output_file_is_written_once_and_format_inferred(tmp_path):
    target = tmp_path / "aging.json"
    args = ["aging", "-l", SMALL, "--as-of", "2026-10-31", "--output", str(target)]
    assert run(*args).exit_code == 0
    first = target.read_text(encoding="utf-8")
    assert json.loads(first)["report"] == "aging"
    again = run(*args[:-2], "--as-of", "2026-09-30", "--output", str(target))
    assert again.exit_code == 2 and "use --force" in again.stderr
    assert target.read_text(encoding="utf-8") == first  # untouched
    forced = run(
        *args[:-2], "--as-of", "2026-09-30", "--output", str(target), "--force"
    )
    assert forced.exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8"))["as_of"] == "2026-09-30"
    assert [p.name for p in tmp_path.iterdir()] == ["aging.json"]  # no temp files left


def test_never_overwrites_a_ledger_file(tmp_path):
    import shutil

    ledger = tmp_path / "ledger"
    shutil.copytree(SMALL, ledger)
    target = ledger / "payments.yaml"
    before = target.read_bytes()
    result = run("aging", "-l", str(ledger), "-f", "csv", "-o", str(target), "--force")
    assert (
        result.exit_code == 2 and "where the ledger keeps its payments" in result.stderr
    )
    assert target.read_bytes() == before


def test_unknown_output_suffix():
    result = run("aging", "-l", SMALL, "-o", "report.pdf")
    assert result.exit_code == 2 and "--format" in result.stderr


def test_init_copies_the_demo_and_refuses_a_non_empty_dir(tmp_path):
    target = tmp_path / "books"
    result = run("init", str(target))
    assert result.exit_code == 0, result.output
    assert (target / "customers.yaml").is_file()
    assert run("check", "-l", str(target)).exit_code == 0
    again = run("init", str(target))
    assert again.exit_code == 2 and "not empty" in again.stderr
    assert run("init", str(target), "--force").exit_code == 0


def test_fail_on_overdue_and_hold():
    base = ["aging", "-l", SMALL, "--as-of", "2026-10-31", "-f", "json"]
    assert run(*base).exit_code == 0
    result = run(*base, "--fail-on", "overdue")
    assert result.exit_code == 1
    assert "overdue item" in result.stderr
    json.loads(result.stdout)  # the report is still written
    held = run(*base, "--fail-on", "hold")
    assert held.exit_code == 1 and "ACME" in held.stderr
    early = run("aging", "-l", SMALL, "--as-of", "2026-07-01", "--fail-on", "overdue")
    assert early.exit_code == 0


def test_every_command_has_help():
    for command in COMMANDS:
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage" in result.stdout


def test_every_command_is_in_the_readme():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert f"arledger {command}" in readme, command


# ---------------------------------------------------------------- real processes


def test_exit_codes_in_a_real_process(tmp_path):
    ok = arledger(
        "aging", "--ledger", SMALL, "--as-of", "2026-10-31", "--format", "json"
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["report"] == "aging"
    attention = arledger(
        "overdue", "-l", SMALL, "--as-of", "2026-10-31", "--fail-on", "overdue"
    )
    assert attention.returncode == 1
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "customers.yaml").write_text("- {id: C1, name: One, ammount: 5}\n")
    broken = arledger("aging", "--ledger", str(bad))
    assert broken.returncode == 2
    assert broken.stdout == ""
    assert "customers.yaml:1: unknown field 'ammount'" in broken.stderr
    assert "Traceback" not in broken.stderr
    usage = arledger("aging", "-l", SMALL, "--as-of", "soon")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_a_real_process_ends_with_all_its_output_and_its_code():
    """The program ends without freeing its objects one by one (cli.main),
    its output flushed first: what it writes is what the runner gets, and
    its exit code is the command's."""
    args = ("overdue", "-l", SMALL, "--as-of", "2026-10-31", "-f", "csv")
    fails = (*args, "--fail-on", "overdue")
    for command, code in ((args, 0), (fails, 1)):
        proc = arledger(*command)
        assert proc.returncode == code, proc.stderr
        assert proc.stdout == run(*command).stdout != ""


def test_a_run_inside_another_program_keeps_nothing():
    """Only the program keeps its ledger to its end: a test's runner, or a
    script using the app, frees it as usual."""
    import arledger.cli

    assert run("aging", "-l", SMALL, "--as-of", "2026-10-31").exit_code == 0
    assert arledger.cli._KEPT is None


def test_ledger_from_current_directory():
    result = arledger("check", cwd=LEDGERS / "small")
    assert result.returncode == 0 and ": ok" in result.stdout


def test_broken_pipe_is_quiet():
    proc = subprocess.run(
        f"{sys.executable} -m arledger aging -l {SMALL} --as-of 2026-10-31 "
        "--detail -f csv | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.startswith("currency,")
    assert "Traceback" not in proc.stderr


def test_xlsx_cells_are_typed_and_text_never_a_formula(ledger_dir, tmp_path):
    from openpyxl import load_workbook

    path = ledger_dir(
        customers="- {id: C1, name: '=HYPERLINK(\"x\")'}\n",
        invoices="- {id: I1, customer: C1, date: 2026-01-01, amount: 1234.56}\n",
    )
    target = tmp_path / "aging.xlsx"
    result = run("aging", "-l", str(path), "--as-of", "2026-10-31", "-o", str(target))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(target)["Aging USD"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert row["Name"] == '=HYPERLINK("x")'
    assert sheet.cell(2, header.index("Name") + 1).data_type == "s"
    assert row["120+"] == 1234.56 and isinstance(row["Net AR"], float)
    assert sheet.freeze_panes == "A2"


def test_demo_aging_json_in_a_real_process():
    """The README's main job: totals equal the sum of rows, to the cent."""
    from .conftest import DEMO

    result = arledger(
        "aging", "--ledger", str(DEMO), "--as-of", "2026-10-31", "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["buckets"] == ["Current", "1-30", "31-60", "61-90", "91-120", "120+"]
    assert [s["currency"] for s in data["sections"]] == ["EUR", "USD"]
    for section in data["sections"]:
        for key, total in section["totals"].items():
            assert Decimal(total) == sum(Decimal(r[key]) for r in section["rows"]), key
        for row in section["rows"]:
            buckets = sum(Decimal(row[b]) for b in data["buckets"])
            assert buckets + Decimal(row["unapplied"]) == Decimal(row["total"])
    usd = data["sections"][1]["totals"]
    assert usd["total"] == "237140.65" and usd["unapplied"] == "-2574.00"
