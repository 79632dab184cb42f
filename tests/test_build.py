"""The compiled settlement kernel: built from its source, never stale, required."""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import arledger
from arledger import _settle

from .conftest import ROOT, TESTS, stale_kernel

CHANGED = "arledger/_settle.c changed since it was built: run pip install -e ."


def test_the_kernel_is_a_compiled_build_of_its_source():
    assert _settle.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    assert stale_kernel() is None


@pytest.fixture
def package(monkeypatch, tmp_path) -> Path:
    """arledger seen from a folder of its own, where tests put the source or not."""
    folder = tmp_path / "arledger"
    folder.mkdir()
    monkeypatch.setattr(arledger, "__file__", str(folder / "__init__.py"))
    return folder


def test_a_changed_source_beside_the_package_is_stale(package):
    source = (ROOT / "arledger" / "_settle.c").read_bytes()
    (package / "_settle.c").write_bytes(source)
    assert stale_kernel() is None
    (package / "_settle.c").write_bytes(source + b"\n")
    assert stale_kernel() == CHANGED


def test_a_source_never_built_is_said(package, monkeypatch):
    (package / "_settle.c").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "arledger._settle", None)  # import fails
    assert stale_kernel() == "arledger/_settle.c is not built: run pip install -e ."


def test_an_installed_package_has_no_source_to_compare(package):
    assert stale_kernel() is None


def test_a_stale_kernel_stops_the_test_run_in_one_line(tmp_path):
    """A checkout whose kernel source changed after its build runs no test."""
    checkout = tmp_path / "checkout"
    shutil.copytree(
        ROOT / "arledger",
        checkout / "arledger",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (checkout / "tests").mkdir()
    for name in ("__init__.py", "conftest.py"):
        shutil.copy(TESTS / name, checkout / "tests" / name)
    probe = checkout / "tests" / "test_probe.py"
    probe.write_text(
        "import arledger\n\n\ndef test_the_copy_is_imported():\n"
        f"    assert arledger.__file__.startswith({str(checkout)!r})\n"
    )

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"],
            cwd=checkout,
            capture_output=True,
            text=True,
        )

    fresh = run()
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    with open(checkout / "arledger" / "_settle.c", "a") as source:
        source.write("/* edited, not built */\n")
    stale = run()
    assert (stale.returncode, stale.stdout) == (4, "")
    assert stale.stderr.strip() == f"ERROR: {CHANGED}"  # one line, no traceback


def test_no_compiler_stops_the_build_saying_what_to_install(tmp_path):
    pytest.importorskip("setuptools")
    env = {**os.environ, "CC": "no-such-cc"}
    build = [sys.executable, str(ROOT / "setup.py"), "-q", "build_ext"]
    build += ["--build-temp", str(tmp_path / "temp"), "--build-lib", str(tmp_path)]
    done = subprocess.run(build, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert (
        "error: arledger: building its C modules (arledger/_settle.c, "
        "arledger/_memory.c, arledger/_plainyaml.c, arledger/_csvbytes.c) needs "
        "a C compiler (no-such-cc), not found here: a C compiler and Python's headers"
        " come with `apt-get install gcc python3-dev` (Debian, Ubuntu) or "
        "`xcode-select --install` (macOS); then install arledger again\n"
    ) in done.stderr
    assert not list(tmp_path.rglob("*.so"))


C_MODULES = (
    "arledger._settle",
    "arledger._memory",
    "arledger._plainyaml",
    "arledger._csvbytes",
)


def test_the_type_stub_says_what_the_kernel_has():
    pytest.importorskip("mypy", reason="mypy comes with the `test` extra")
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", *C_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
