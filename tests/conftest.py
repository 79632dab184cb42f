"""Shared fixtures: paths of the test ledgers and an inline-YAML ledger builder."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
LEDGERS = TESTS / "ledgers"
ROOT = TESTS.parent
DEMO = ROOT / "examples" / "demo"


def write_ledger(directory: Path, **files: str) -> Path:
    """Write inline YAML ledger files: write_ledger(d, customers="...", ...).

    `settings` is written as arledger.yaml; any other name as NAME.yaml, or as
    the name itself when it has a suffix (`**{"payments.csv": "..."}`).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for kind, text in files.items():
        if kind == "settings":
            name = "arledger.yaml"
        elif "." in kind:
            name = kind
        else:
            name = f"{kind}.yaml"
        (directory / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


@pytest.fixture
def ledger_dir(tmp_path: Path):
    """A function that writes an inline ledger into a fresh directory."""

    def make(**files: str) -> Path:
        return write_ledger(tmp_path / "ledger", **files)

    return make


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite tests/golden/* from the current output (review the diff!).",
    )


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True)
def _no_report_cache(monkeypatch):
    """Tests compute every report; tests/test_cache.py turns the cache on itself."""
    monkeypatch.setenv("ARLEDGER_NO_CACHE", "1")
