"""The demo ledger: one source (scripts/make_demo.py), two identical copies —
arledger/skeleton (package data, what `init` copies) and examples/demo (plain
files in the repository, so `cp -r examples/demo mine` gives a ledger)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from .conftest import DEMO, ROOT

SKELETON = ROOT / "arledger" / "skeleton"


def tree(folder):
    """Every file under `folder` by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_examples_demo_is_real_files_not_a_link():
    assert DEMO.is_dir() and not DEMO.is_symlink()
    assert not [p for p in DEMO.rglob("*") if p.is_symlink()]


def test_the_two_copies_are_identical():
    assert tree(DEMO) == tree(SKELETON)
    assert "customers.yaml" in tree(DEMO)


def test_the_script_makes_exactly_them(tmp_path):
    out = tmp_path / "demo"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_demo.py"), str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert tree(out) == tree(SKELETON)


def test_a_copy_of_the_example_is_a_ledger(tmp_path):
    mine = tmp_path / "mine"
    shutil.copytree(DEMO, mine)  # what `cp -r examples/demo mine` does
    done = subprocess.run(
        [sys.executable, "-m", "arledger", "check", "-l", str(mine)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
