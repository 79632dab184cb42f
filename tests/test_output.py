"""Where reports go: CSV that Excel opens, and the guards on --output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from arledger.cli import app

from .conftest import LEDGERS

SMALL = str(LEDGERS / "small")
BOM = b"\xef\xbb\xbf"
AS_OF = ("--as-of", "2026-10-31")


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def arledger(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "arledger", *args],
        capture_output=True,
        env={**os.environ, "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


# ---------------------------------------------------------------- CSV for Excel


@pytest.mark.parametrize(
    "command", ["aging", "overdue", "collection", "risk", "forecast", "dunning"]
)
def test_a_byte_order_mark_only_when_asked(command):
    plain = arledger(command, "-l", SMALL, *AS_OF, "-f", "csv")
    assert plain.returncode == 0 and plain.stdout.startswith(b"currency,")
    marked = arledger(command, "-l", SMALL, *AS_OF, "-f", "csv", "--bom")
    assert marked.returncode == 0
    assert marked.stdout == BOM + plain.stdout


def test_a_csv_file_for_excel_keeps_chinese_text(tmp_path):
    target = tmp_path / "aging.csv"
    result = run("aging", "-l", SMALL, *AS_OF, "-o", str(target), "--bom")
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data.startswith(BOM + b"currency,customer,name,")
    assert "上海华东贸易有限公司" in data.decode("utf-8-sig")


def test_the_setting_turns_it_on_and_no_bom_off(tmp_path):
    ledger = tmp_path / "ledger"
    shutil.copytree(SMALL, ledger)
    settings = ledger / "arledger.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + "csv: {bom: true}\n", encoding="utf-8"
    )
    on = arledger("aging", "-l", str(ledger), *AS_OF, "-f", "csv")
    assert on.returncode == 0 and on.stdout.startswith(BOM + b"currency,")
    off = arledger("aging", "-l", str(ledger), *AS_OF, "-f", "csv", "--no-bom")
    assert off.stdout == on.stdout[len(BOM) :]
    statement = arledger("statement", "ACME", "-l", str(ledger), *AS_OF, "-f", "csv")
    assert statement.stdout.startswith(BOM)
    json = arledger("aging", "-l", str(ledger), *AS_OF, "-f", "json")
    assert json.stdout.startswith(b"{")  # the setting is about CSV only


def test_bom_with_another_format_is_a_usage_error():
    result = run("aging", "-l", SMALL, *AS_OF, "-f", "json", "--bom")
    assert result.exit_code == 2 and result.stdout == ""
    assert "arledger: error: --bom is for CSV" in result.stderr


# ---------------------------------------------------------------- where --output may go


@pytest.fixture
def ledger(tmp_path):
    """A copy of the small ledger, with a sent log and a templates folder."""
    folder = tmp_path / "L"
    shutil.copytree(SMALL, folder)
    (folder / "dunning-log.csv").write_text(
        "date,customer,level,currency,amount,message_id\n", encoding="utf-8"
    )
    (folder / "templates").mkdir()
    return folder


def files_of(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("name", "place"),
    [
        ("adjustments.csv", "is where the ledger keeps its adjustments"),
        ("invoices/x.csv", "is where the ledger keeps its invoices"),
        ("invoices.xlsx", "is where the ledger keeps its invoices"),
        ("customers.json", "is where the ledger keeps its customers"),
        ("dunning-log.csv", "is the ledger's sent log (dunning-log.csv)"),
        ("arledger.yaml", "is the ledger's settings (arledger.yaml)"),
        ("templates/first.en.md.j2", "is the ledger's letter templates"),
    ],
)
def test_no_output_into_the_ledgers_own_places(ledger, name, place):
    before = {p: p.read_bytes() for p in ledger.rglob("*") if p.is_file()}
    target = ledger / name
    for command in ("aging", "dunning"):
        result = run(command, "-l", str(ledger), *AS_OF, "-f", "csv",
                     "-o", str(target), "--force")  # fmt: skip
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == (
            f"arledger: error: --output: {target}: {place}, not a place for output\n"
        )
    after = {p: p.read_bytes() for p in ledger.rglob("*") if p.is_file()}
    assert after == before
    assert run("check", "-l", str(ledger)).exit_code == 0


def test_an_existing_directory_is_refused_as_such(ledger, tmp_path):
    folder = tmp_path / "adir"
    folder.mkdir()
    for args in (("aging",), ("dunning",), ("statement", "ACME")):
        result = run(*args, "-l", str(ledger), *AS_OF, "-o", f"{folder}/")
        assert result.exit_code == 2
        assert result.stderr == f"arledger: error: --output: {folder}: is a directory\n"


def test_a_missing_folder_is_an_error_not_created(ledger, tmp_path):
    target = tmp_path / "nonexistent" / "dir" / "x.csv"
    result = run("aging", "-l", str(ledger), *AS_OF, "-o", str(target))
    assert result.exit_code == 2
    assert result.stderr == (
        f"arledger: error: --output: {target}: no such directory: {target.parent}\n"
    )
    assert not (tmp_path / "nonexistent").exists()
    export = run("export", str(target.with_suffix(".xlsx")), "-l", str(ledger), *AS_OF)
    assert export.exit_code == 2 and "no such directory" in export.stderr
    assert not (tmp_path / "nonexistent").exists()


def test_export_refuses_the_ledger_and_says_what_it_wrote(ledger, tmp_path):
    inside = run("export", str(ledger / "payments.xlsx"), "-l", str(ledger), *AS_OF)
    assert inside.exit_code == 2
    assert "is where the ledger keeps its payments" in inside.stderr
    assert not (ledger / "payments.xlsx").exists()
    target = tmp_path / "ar.xlsx"
    done = run("export", str(target), "-l", str(ledger), *AS_OF)
    assert done.exit_code == 0 and done.stdout == ""
    assert done.stderr == f"arledger: wrote {target} (as of 2026-10-31)\n"


def test_letters_go_to_a_folder_and_never_into_the_ledger(ledger, tmp_path):
    kind = run("dunning", "-l", str(ledger), *AS_OF, "--out", str(ledger / "invoices"))
    assert kind.exit_code == 2
    assert "--out: " in kind.stderr and "keeps its invoices" in kind.stderr
    a_file = run("dunning", "-l", str(ledger), *AS_OF, "--out", str(tmp_path / "s.csv"))
    assert a_file.exit_code == 2
    assert "--out takes the folder for the letters" in a_file.stderr
    assert "--output FILE" in a_file.stderr
    made = run("dunning", "-l", str(ledger), *AS_OF,
               "--out", str(tmp_path / "letters" / "2026-10-31"))  # fmt: skip
    assert made.exit_code == 0, made.output
    assert (tmp_path / "letters" / "2026-10-31" / "ACME.md").exists()


def test_guards_in_a_real_process(ledger):
    done = arledger(
        "aging", "-l", str(ledger), *AS_OF, "-o", str(ledger / "x" / "y.csv")
    )
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.startswith(b"arledger: error: --output: ")


@pytest.mark.parametrize(
    "args",
    [("aging",), ("aging", "--detail"), ("overdue",), ("collection", "--by", "customer"),
     ("risk",), ("forecast", "--detail"), ("dunning",)],
)  # fmt: skip
def test_every_customer_level_csv_names_the_customer(args):
    result = run(*args, "-l", SMALL, *AS_OF, "-f", "csv")
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split(",")
    assert header[:3] == ["currency", "customer", "name"]
    assert "上海华东贸易有限公司" in result.stdout
