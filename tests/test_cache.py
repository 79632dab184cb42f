"""The report cache: same ledger files, options and as-of give the stored output."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from typer.testing import CliRunner

from arledger.cli import app

from .conftest import LEDGERS


@pytest.fixture
def cached(monkeypatch, tmp_path):
    monkeypatch.delenv("ARLEDGER_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ledger = tmp_path / "ledger"
    shutil.copytree(LEDGERS / "small", ledger)
    return ledger


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def no_loading(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the ledger was loaded: not a cache hit")

    monkeypatch.setattr("arledger.commands.common.load_ledger", refuse)


def test_a_second_identical_run_is_served_from_the_cache(cached, monkeypatch):
    args = ["aging", "-l", str(cached), "--as-of", "2026-10-31", "-f", "json"]
    first = run(*args)
    assert first.exit_code == 0
    no_loading(monkeypatch)
    second = run(*args)
    assert second.exit_code == 0 and second.stdout == first.stdout


def test_any_change_to_the_ledger_is_seen(cached):
    args = ["aging", "-l", str(cached), "--as-of", "2026-10-31", "-f", "json"]
    before = json.loads(run(*args).stdout)
    payments = cached / "payments.yaml"
    payments.write_text(
        payments.read_text(encoding="utf-8")
        + "- {id: P9, customer: ACME, date: 2026-10-30, amount: 100.00}\n",
        encoding="utf-8",
    )
    after = json.loads(run(*args).stdout)
    usd = [s for s in after["sections"] if s["currency"] == "USD"][0]
    old = [s for s in before["sections"] if s["currency"] == "USD"][0]
    assert usd["totals"]["total"] != old["totals"]["total"]


def test_options_and_dates_are_part_of_the_key(cached, monkeypatch):
    run("aging", "-l", str(cached), "--as-of", "2026-10-31", "-f", "json")
    other_date = run("aging", "-l", str(cached), "--as-of", "2026-09-30", "-f", "json")
    assert json.loads(other_date.stdout)["as_of"] == "2026-09-30"
    csv = run("aging", "-l", str(cached), "--as-of", "2026-10-31", "-f", "csv")
    assert csv.stdout.startswith("currency,")
    overdue = run("overdue", "-l", str(cached), "--as-of", "2026-10-31", "-f", "json")
    assert json.loads(overdue.stdout)["report"] == "overdue"


def test_exit_code_and_messages_are_replayed(cached, monkeypatch):
    args = [
        "aging",
        "-l",
        str(cached),
        "--as-of",
        "2026-10-31",
        "-f",
        "json",
        "--fail-on",
        "overdue",
    ]
    first = run(*args)
    assert first.exit_code == 1 and "overdue item" in first.stderr
    no_loading(monkeypatch)
    second = run(*args)
    assert second.exit_code == 1 and second.stderr == first.stderr


def test_output_files_still_refuse_to_overwrite(cached, tmp_path):
    target = tmp_path / "aging.json"
    args = ["aging", "-l", str(cached), "--as-of", "2026-10-31", "-o", str(target)]
    assert run(*args).exit_code == 0
    again = run(*args)
    assert again.exit_code == 2 and "use --force" in again.stderr
    assert run(*args, "--force").exit_code == 0


def test_the_cache_can_be_turned_off(cached, monkeypatch):
    args = ["aging", "-l", str(cached), "--as-of", "2026-10-31", "-f", "json"]
    run(*args)
    monkeypatch.setenv("ARLEDGER_NO_CACHE", "1")
    no_loading(monkeypatch)
    result = run(*args)  # not served from the cache: it tries to load
    assert result.exit_code == 2 and "the ledger was loaded" in result.stderr


def test_nothing_is_written_inside_the_ledger(cached):
    before = sorted(os.listdir(cached))
    run("aging", "-l", str(cached), "--as-of", "2026-10-31", "-f", "json")
    assert sorted(os.listdir(cached)) == before


def test_old_entries_are_pruned(cached, monkeypatch):
    from arledger import cache

    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    for day in ("2026-08-31", "2026-09-30", "2026-10-31"):
        run("aging", "-l", str(cached), "--as-of", day, "-f", "json")
    assert len(list(cache.directory().iterdir())) == 2
