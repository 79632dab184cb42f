"""The report cache's front door: a repeated report is answered before typer loads.

These run `python -X importtime -m arledger` in a fresh interpreter (CliRunner
never calls `main`); the interpreter's own import log tells a hit, which imports
neither typer, pydantic nor rich, from a miss.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from arledger import frontdoor

from .conftest import LEDGERS, TESTS

HEAVY = {"typer", "pydantic", "rich"}
AGING = ("aging", "--ledger", "ledger", "--as-of", "2026-10-31")


@dataclass(frozen=True)
class Run:
    stdout: bytes
    stderr: str  # without the import log
    code: int
    imported: frozenset[str]

    @property
    def hit(self) -> bool:
        """Served at the front door: none of typer, pydantic, rich imported."""
        return not self.imported & HEAVY


@pytest.fixture
def env(tmp_path, monkeypatch) -> dict[str, str]:
    """The environment of a run: the cache on, in a folder of its own."""
    monkeypatch.delenv("ARLEDGER_NO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return dict(os.environ)


@pytest.fixture
def work(tmp_path) -> Path:
    """A working directory holding a copy of the small ledger as `ledger/`."""
    shutil.copytree(LEDGERS / "small", tmp_path / "work" / "ledger")
    return tmp_path / "work"


def arledger(cwd: Path, env: dict[str, str], *args: str) -> Run:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "arledger", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=60,
    )
    lines = done.stderr.decode("utf-8").splitlines(keepends=True)
    log = [line for line in lines if line.startswith("import time:")]
    imported = {line.rsplit("|", 1)[-1].strip() for line in log}
    messages = "".join(line for line in lines if line not in log)
    return Run(done.stdout, messages, done.returncode, frozenset(imported))


def test_a_hit_replays_output_messages_and_exit_code(work, env):
    args = (*AGING, "--format", "json", "--fail-on", "overdue")
    miss = arledger(work, env, *args)
    assert not miss.hit and miss.code == 1 and "arledger: attention:" in miss.stderr
    hit = arledger(work, env, *args)
    assert hit.hit, sorted(hit.imported & HEAVY)
    assert (hit.stdout, hit.stderr, hit.code) == (miss.stdout, miss.stderr, 1)
    golden = (TESTS / "golden" / "aging__small.json").read_bytes()
    assert hit.stdout == golden


def test_a_table_hit_is_the_same_bytes_and_differs_from_json(work, env):
    table = arledger(work, env, *AGING)
    again = arledger(work, env, *AGING)
    assert again.hit and (again.stdout, again.stderr, again.code) == (
        table.stdout,
        table.stderr,
        0,
    )
    json = arledger(work, env, *AGING, "--format", "json")
    assert not json.hit and json.stdout != table.stdout
    assert arledger(work, env, *AGING, "--format=json").stdout == json.stdout


def test_editing_adding_or_removing_a_ledger_file_is_seen(work, env):
    first = arledger(work, env, *AGING, "-f", "json")
    payments = work / "ledger" / "payments.yaml"
    payments.write_text(
        payments.read_text(encoding="utf-8")
        + "- {id: P9, customer: ACME, date: 2026-10-30, amount: 100.00}\n",
        encoding="utf-8",
    )
    edited = arledger(work, env, *AGING, "-f", "json")
    assert not edited.hit and edited.stdout != first.stdout
    (work / "ledger" / "notes.txt").write_text("not a record\n", encoding="utf-8")
    added = arledger(work, env, *AGING, "-f", "json")
    assert not added.hit and added.stdout == edited.stdout
    (work / "ledger" / "contacts.yaml").unlink()
    removed = arledger(work, env, *AGING, "-f", "json")
    assert not removed.hit
    assert arledger(work, env, *AGING, "-f", "json").hit


def test_a_file_in_a_symlinked_folder_is_seen(tmp_path, env):
    ledger = tmp_path / "ledger"
    shutil.copytree(LEDGERS / "small", ledger)
    shutil.move(ledger / "invoices", tmp_path / "shared-invoices")
    (ledger / "invoices").symlink_to(tmp_path / "shared-invoices")
    args = ("aging", "-l", str(ledger), "--as-of", "2026-10-31", "-f", "csv")
    first = arledger(tmp_path, env, *args)
    assert arledger(tmp_path, env, *args).hit
    invoices = next((tmp_path / "shared-invoices").iterdir())
    with invoices.open("a", encoding="utf-8") as out:
        out.write("- {id: I99, customer: ACME, date: 2026-10-01, amount: 5.00}\n")
    edited = arledger(tmp_path, env, *args)
    assert not edited.hit and edited.code == 0 and edited.stdout != first.stdout


def test_a_relative_ledger_in_another_directory_is_another_entry(work, env, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(work, other)
    payments = other / "ledger" / "payments.yaml"
    with payments.open("a", encoding="utf-8") as out:
        out.write("- {id: P9, customer: ACME, date: 2026-10-30, amount: 100.00}\n")
    here = arledger(work, env, *AGING)
    there = arledger(other, env, *AGING)
    assert not there.hit and there.stdout != here.stdout
    assert arledger(work, env, *AGING).stdout == here.stdout
    assert arledger(other, env, *AGING).stdout == there.stdout


def test_no_front_door_with_the_cache_off_or_for_other_runs(work, env, tmp_path):
    arledger(work, env, *AGING)
    off = dict(env, ARLEDGER_NO_CACHE="1")
    assert not arledger(work, off, *AGING).hit
    target = tmp_path / "aging.txt"
    for args in ((*AGING, "-o", str(target)), (*AGING, "--help"), (*AGING, "--force")):
        arledger(work, env, *args)
        assert not arledger(work, env, *args).hit
    # --output still refuses to overwrite, hit or not.
    refused = arledger(work, env, *AGING, "-o", str(target))
    assert refused.code == 2 and "use --force" in refused.stderr


def test_two_runs_at_once_agree(work, env):
    args = [sys.executable, "-m", "arledger", *AGING, "-f", "json"]
    runs = [
        subprocess.Popen(args, cwd=work, env=env, stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = {run.communicate(timeout=60)[0] for run in runs}
    assert len(outputs) == 1
    assert arledger(work, env, *AGING, "-f", "json").stdout == outputs.pop()


# ------------------------------------------------------------ the argument scan


@pytest.mark.parametrize(
    ("argv", "ledger"),
    [
        (["aging", "--ledger", "L"], "L"),
        (["aging", "--ledger=L", "-f", "json"], "L"),
        (["overdue", "-l", "L"], "L"),
        (["risk", "-lL", "--holds"], "L"),
        (["collection", "-p", "2026-Q3", "-c", "A", "-c", "B", "--ledger", "L"], "L"),
        (["forecast", "--owner", "--ledger", "-l", "L"], "L"),  # --owner's value
        (["aging", "--as-of", "2026-10-31"], "."),
        (["aging", "--ledger", "L", "--ledger", "M"], None),
        (["aging", "--ledger="], None),
        (["aging", "-o", "out.csv"], None),
        (["aging", "--output=out.csv"], None),
        (["aging", "--force"], None),
        (["aging", "-h"], None),
        (["aging", "--detail=yes"], None),
        (["aging", "extra"], None),
        (["aging", "--", "-l"], None),
        (["aging", "--nope"], None),
        (["aging", "--fail-on", "new-overdue", "--state", "s.json"], None),
        (["aging", "--ledger"], None),
        (["statement", "ACME"], None),
        (["check"], None),
        (["--version"], None),
        ([], None),
    ],
)
def test_the_scan_reads_arguments_as_click_does(argv, ledger, monkeypatch):
    monkeypatch.delenv("ARLEDGER_DIR", raising=False)
    assert frontdoor.ledger_dir(argv) == ledger


def test_the_ledger_comes_from_the_environment_as_for_the_commands(monkeypatch):
    monkeypatch.setenv("ARLEDGER_DIR", "E")
    assert frontdoor.ledger_dir(["aging"]) == "E"
    assert frontdoor.ledger_dir(["aging", "-l", "L"]) == "L"


def test_the_scan_knows_the_options_of_every_report_command():
    """Each report command's options, less those left out on purpose."""
    import typer

    from arledger.app import app

    group = typer.main.get_command(app)
    # --state: the exit code depends on the last run, never from a cache.
    # --bom/--no-bom: the front door may learn them later (the slow way is right).
    left_out = {"--output", "-o", "--force", "--help", "-h", "--state", "--bom",
                "--no-bom"}  # fmt: skip
    for name, (takes_value, flags) in frontdoor.COMMANDS.items():
        values, switches = set(), set()
        for param in group.commands[name].params:
            names = {*param.opts, *param.secondary_opts}
            (switches if getattr(param, "is_flag", False) else values).update(names)
        assert (takes_value, flags) == (values - left_out, switches - left_out), name


def test_the_key_holds_the_date_and_the_environment(tmp_path, env, monkeypatch):
    shutil.copytree(LEDGERS / "small", tmp_path / "ledger")
    argv = ["aging", "-l", str(tmp_path / "ledger")]
    first = frontdoor.key(argv)
    assert first is not None and frontdoor.key(argv) == first
    monkeypatch.setenv("NO_COLOR", "1")
    assert frontdoor.key(argv) != first
    monkeypatch.delenv("NO_COLOR")

    class Tomorrow:
        @staticmethod
        def today():
            from datetime import date, timedelta

            return date.today() + timedelta(days=1)

    monkeypatch.setattr(frontdoor, "date", Tomorrow)
    assert frontdoor.key(argv) != first
    monkeypatch.setenv("ARLEDGER_NO_CACHE", "1")
    assert frontdoor.key(argv) is None
