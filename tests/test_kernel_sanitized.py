"""The settlement kernel (arledger/_settle.c) under AddressSanitizer: a copy of
the package is built with `-fsanitize=address` and the oracle's property tests
(tests/test_settle_oracle.py, tests/test_settle_exact.py) and those of
`_settle.read` and of `_settle.run` (tests/test_kernel_read.py,
tests/test_kernel_replay.py, tests/test_kernel_columns.py, which feeds `run`
malformed columns too, and tests/test_settled_items.py, of the items it
makes later), and those of arledger/_csvbytes.c (tests/test_csvbytes.py) run
on it, so that an out-of-bounds read, a use
after free or a double free in the C code fails a test instead of corrupting a
report one day. It builds the kernel again and runs a few hundred ledgers, so
it takes a minute or two: it runs in CI (CI=true, as .ci/run has it) and where
ARLEDGER_SANITIZE=1, with GCC or Clang and their ASan runtime.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

WANTED = bool(os.environ.get("CI") or os.environ.get("ARLEDGER_SANITIZE"))


def _runtime() -> str | None:
    """The compiler's ASan runtime, to preload into Python (which is not
    built with it), or None."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    found = subprocess.run(
        [compiler, "-print-file-name=libasan.so"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return found if found and Path(found).is_absolute() else None


@pytest.mark.skipif(
    not WANTED, reason="builds the kernel with ASan: set CI=true or ARLEDGER_SANITIZE=1"
)
def test_the_oracle_tests_pass_on_a_kernel_built_with_address_sanitizer(tmp_path):
    runtime = _runtime()
    if runtime is None:
        pytest.skip("no ASan runtime beside the C compiler")
    copy = tmp_path / "arledger-asan"
    copy.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, copy / name)
    ignore = shutil.ignore_patterns("*.so", "*.pyd", "__pycache__")
    shutil.copytree(ROOT / "arledger", copy / "arledger", ignore=ignore)
    shutil.copytree(ROOT / "tests", copy / "tests", ignore=ignore)
    shutil.copytree(ROOT / "examples", copy / "examples", ignore=ignore)
    # test_arrow_columns (imported by test_kernel_columns) draws its ledgers
    # with the benchmark's generator
    shutil.copytree(ROOT / "benchmarks", copy / "benchmarks", ignore=ignore)
    flags = "-fsanitize=address -fno-omit-frame-pointer -O1 -g"
    built = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=copy,
        capture_output=True,
        text=True,
        env={**os.environ, "CFLAGS": flags, "LDFLAGS": "-fsanitize=address"},
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    reports = tmp_path / "asan"
    env = {
        **os.environ,
        "LD_PRELOAD": runtime,
        # Python itself keeps memory to the end: only the kernel's errors
        # count; a report goes to a file, which pytest's capture cannot lose.
        "ASAN_OPTIONS": f"detect_leaks=0:halt_on_error=1:log_path={reports}",
        # The kernel's small arrays come from PyMem_Malloc: through the
        # system's malloc, which ASan watches, not Python's pools, which it
        # does not (an overflow of a 64-byte table went unseen there).
        "PYTHONMALLOC": "malloc",
        "PYTHONPATH": str(copy),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=",
         "-p", "no:cacheprovider", "tests/test_settle_oracle.py",
         "tests/test_settle_exact.py", "tests/test_core.py",
         "tests/test_discounts.py", "tests/test_kernel_read.py",
         "tests/test_kernel_replay.py", "tests/test_kernel_columns.py",
         "tests/test_settled_items.py", "tests/test_csvbytes.py"],
        cwd=copy,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )  # fmt: skip
    found = [path.read_text() for path in tmp_path.glob("asan*")]
    assert not found, found[0][:4000]
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    # The copy's kernel ran, not the checkout's.
    check = subprocess.run(
        [sys.executable, "-c", "import arledger._settle as k; print(k.__file__)"],
        cwd=copy,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert Path(check.stdout.strip()).is_relative_to(copy)
