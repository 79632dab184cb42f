"""The console script: the Typer app (arledger/app.py).

The app is imported when `main` runs, not when this module is: `import
arledger.cli` stays light (tests/test_startup.py).
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any, NoReturn

# What a run keeps to its end when arledger runs as a program (`main`): None
# when it runs inside another (a test's runner, a script using the app).
_KEPT: list[Any] | None = None


def keep(value: Any) -> None:
    """Keep `value` to the end of the process when arledger runs as a program.

    A loaded ledger is millions of objects: freed one by one as the command
    returns, a million-invoice ledger takes half a second, where the system
    takes the process's memory back at once when it ends (`main`). Inside
    another program nothing is kept.
    """
    if _KEPT is not None:
        _KEPT.append(value)


# A ledger whose record files take this many bytes or more gets PREFAULT_ARENAS
# arenas of memory (1 MiB each) faulted in ahead on another core
# (arledger/_memory.c). Measured on the development machine (README,
# Benchmarks): at a million invoices (164 MiB of CSV) 64 arenas ready took
# `overdue` from 11.7 s to 9.5 s (medians of 3), 32 did less and 200 no more;
# at 100,000 (16 MiB of CSV, 31 of YAML) the memory is mostly still warm from
# the last process and arenas ready changed nothing or cost a little (YAML
# `aging` 2.27 s against 2.23 s): a small ledger runs as before.
PREFAULT_BYTES = 64 << 20
PREFAULT_ARENAS = 64


def prefault(ledger_bytes: int) -> None:
    """When arledger runs as a program (`main`) and its ledger is big, have the
    memory its objects will take faulted in ahead, on another core: on a
    virtual machine that gives its free memory back to the host, a page first
    touched costs 13-28 us, 1.4-4.2 s of a command over a million invoices.
    Inside another program nothing changes: its memory is its own; nor where
    this process may run on one core only, where the faults would not move."""
    if _KEPT is None or ledger_bytes < PREFAULT_BYTES or _cores() < 2:
        return
    from arledger._memory import prefault as fault_in_ahead

    fault_in_ahead(PREFAULT_ARENAS)


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def main() -> None:
    """Console-script entry point."""
    global _KEPT
    # A run builds millions of long-lived objects and frees them at exit: the
    # cyclic garbage collector would only re-scan them over and over.
    gc.disable()
    _KEPT = []
    from arledger.app import main as run

    try:
        run()
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    _end(code)


def _end(code: Any) -> NoReturn:
    """End the process with `code`, its output flushed, without freeing what
    it kept object by object (`keep`). Where flushing fails (a full disk, a
    closed pipe) or the code is not a number, Python's own exit says so."""
    if code is None:
        code = 0
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    if not isinstance(code, int):
        raise SystemExit(code)
    os._exit(code)


def __getattr__(name: str) -> Any:
    """`from arledger.cli import app` works, importing the app on first use."""
    if name == "app":
        from arledger.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
