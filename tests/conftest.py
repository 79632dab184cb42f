"""Shared fixtures: paths of the test ledgers and an inline-YAML ledger builder."""

from __future__ import annotations

import hashlib
import importlib
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


def stale_kernel() -> str | None:
    """Why a C module imported is not a build of its source, if so.

    An editable install (`pip install -e .`) keeps the compiled arledger._settle
    and arledger._memory in the checkout; after an edit of their C source
    without a rebuild, the old build would run. setup.py compiles each source's
    SHA-256 into its module (SOURCE_SHA256). Only where the source lies beside
    the package: a checkout.
    """
    import arledger

    for name in ("_settle", "_memory", "_plainyaml", "_csvbytes"):
        source = Path(arledger.__file__).parent / f"{name}.c"
        if not source.is_file():
            continue
        try:
            built = importlib.import_module(f"arledger.{name}")
        except ImportError:
            return f"arledger/{name}.c is not built: run pip install -e ."
        if built.SOURCE_SHA256 != hashlib.sha256(source.read_bytes()).hexdigest():
            return f"arledger/{name}.c changed since it was built: run pip install -e ."
    return None


def pytest_sessionstart(session):
    """No test runs on a stale kernel: one line, exit status 4."""
    problem = stale_kernel()
    if problem:
        raise pytest.UsageError(problem)


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
