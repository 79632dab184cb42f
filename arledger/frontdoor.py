"""The report cache's front door: a repeated report answered before typer loads.

Most of a small report's run is spent importing typer, pydantic and rich, so a
cache hit found inside the command saves little. `enter` looks first, keyed on
all that decides the bytes a report writes to stdout: arledger's version and
Python, the arguments, the working directory, today's date (the default as-of),
the environment variables arledger, rich, typer and Python read, the streams
(terminal or not, its size) and every file of the ledger directory
(cache.ledger_state). A hit writes the stored output and messages and exits
with the stored code, importing none of them.

Only what the scan fully understands qualifies: a report command that writes to
stdout, with options it knows. Anything else (another command, --output, --help,
an unknown option, a repeated --ledger, a Windows console) takes the normal way,
as does everything when `ARLEDGER_NO_CACHE=1`. On a miss, `run_report` calls
`keep` to store its result under this key as well.
"""

from __future__ import annotations

import codecs
import os
import shutil
import sys
from datetime import date
from typing import TextIO

from arledger import cache

# The options of each report command (arledger/commands/), those taking a value
# and the flags; tests/test_front_door.py holds them to the commands' own.
# --output/-o, --force and --help are left out on purpose: no front door for them.
_VALUES = ("--ledger", "-l", "--as-of", "--customer", "-c", "--owner",
           "--currency", "--format", "-f", "--fail-on")  # fmt: skip
COMMANDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "aging": (frozenset({*_VALUES, "--basis", "--buckets"}), frozenset({"--detail"})),
    "overdue": (frozenset(_VALUES), frozenset()),
    "collection": (
        frozenset({*_VALUES, "--period", "-p", "--from", "--to", "--by", "--target"}),
        frozenset(),
    ),
    "risk": (frozenset(_VALUES), frozenset({"--holds"})),
    "forecast": (frozenset({*_VALUES, "--by", "--horizon"}), frozenset({"--detail"})),
}

# Environment variables that can change a report's bytes: ours, rich's console
# (colour, size, terminal), typer's and click's (shell completion), the locale
# and time zone, Python's own.
ENV_NAMES = frozenset({
    "NO_COLOR", "FORCE_COLOR", "PY_COLORS", "CLICOLOR", "CLICOLOR_FORCE", "TERM",
    "COLORTERM", "COLUMNS", "LINES", "JUPYTER_COLUMNS", "JUPYTER_LINES",
    "TTY_COMPATIBLE", "TTY_INTERACTIVE", "UNICODE_VERSION", "TERMINAL_WIDTH",
    "GITHUB_ACTIONS", "DATABRICKS_RUNTIME_VERSION", "TZ", "LANG", "LANGUAGE",
})  # fmt: skip
ENV_PREFIXES = ("ARLEDGER_", "_ARLEDGER", "TYPER_", "_TYPER", "COMP_", "LC_", "PYTHON")

_pending: tuple[list[str], str] | None = None


def ledger_dir(argv: list[str]) -> str | None:
    """The ledger directory of a report command line, or None: no front door.

    Reads the arguments as click does (`--name value`, `--name=value`, `-x value`,
    `-xvalue`) and gives up on anything it does not know.
    """
    if not argv or argv[0] not in COMMANDS:
        return None
    takes_value, flags = COMMANDS[argv[0]]
    ledger = None
    args = iter(argv[1:])
    for arg in args:
        if arg.startswith("--"):
            name, equals, value = arg.partition("=")
            if name in flags and not equals:
                continue
            given = value if equals else next(args, None)
        elif arg.startswith("-") and len(arg) > 1:
            name = arg[:2]
            given = arg[2:] or next(args, None)
        else:
            return None  # an argument no report command takes: a usage error
        if name not in takes_value or given is None:
            return None
        if name in ("--ledger", "-l"):
            if ledger is not None or not given:
                return None
            ledger = given
    return ledger or os.environ.get("ARLEDGER_DIR") or "."


def key(argv: list[str]) -> str | None:
    """The cache entry for this run, or None when the front door stays shut."""
    streams = (sys.stdout, sys.stderr)
    # click's echo re-encodes output it thinks misconfigured: plain UTF-8 only.
    if os.name == "nt" or cache.directory() is None or not all(map(_utf8, streams)):
        return None
    folder = ledger_dir(argv)
    root = None if folder is None else cache.ledger_root(folder)
    if root is None:
        return None  # not a report we understand, or no ledger (the command says so)
    try:
        what = {
            "front door": argv,
            "python": [sys.executable, sys.version],
            "cwd": os.getcwd(),
            "today": date.today().isoformat(),
            "env": _environment(),
            "terminal": [s.isatty() for s in streams] + [*shutil.get_terminal_size()],
        }
        return cache.key(root, what)
    except OSError:
        return None


def _environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name in ENV_NAMES or name.startswith(ENV_PREFIXES)
    }


def _utf8(stream: TextIO | None) -> bool:
    try:
        return codecs.lookup(stream.encoding).name == "utf-8"  # type: ignore[union-attr]
    except (AttributeError, LookupError, TypeError):
        return False


def enter(argv: list[str]) -> None:
    """Replay the stored output and exit on a hit; else remember the key for `keep`."""
    global _pending
    _pending = None
    name = key(argv)
    if name is None:
        return
    hit = cache.get(name)
    if hit is None:
        _pending = (argv, name)
        return
    try:
        if isinstance(hit.data, bytes):
            sys.stdout.buffer.write(hit.data)
        else:
            sys.stdout.write(hit.data)
        sys.stdout.flush()
    except BrokenPipeError:
        # `arledger aging | head`: the reader left; as in commands.common.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    for message in hit.messages:
        sys.stderr.write(message + "\n")
    sys.stderr.flush()
    sys.exit(hit.exit_code)


def keep(entry: cache.Entry) -> None:
    """Store what the report command just wrote under the front door's key too.

    Only when the key is the same as when `enter` looked (no ledger file changed
    and the date did not turn meanwhile), and when `enter` would write the same
    bytes: click strips colour codes from text not going to a terminal, so such
    text is not kept.
    """
    global _pending
    if _pending is None:
        return
    argv, name = _pending
    _pending = None
    written = ((entry.data, sys.stdout), ("".join(entry.messages), sys.stderr))
    if any(
        isinstance(text, str) and "\x1b" in text and not stream.isatty()
        for text, stream in written
    ):
        return
    if key(argv) == name:
        cache.put(name, entry)


def leave() -> None:
    """Forget the key: a later run in this process (tests) is not this one."""
    global _pending
    _pending = None
