"""A cache of finished reports: same ledger files, options and as-of, same bytes.

A report is a pure function of the ledger's files, the command's options, the
as-of date and arledger's version, so when none of them changed since the last
run (the cron job's second report of the morning, the clerk running `aging`
again) the stored output is the answer. The key holds every ledger file's path,
size and modification time in nanoseconds, so any change invalidates it; the
version is part of the key, so entries are never trusted across versions.
Entries are written to a temp file and renamed, so two processes can run at
once. `ARLEDGER_NO_CACHE=1` turns it off. Never stored inside the ledger.
Looked up by `run_report`, before the ledger is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from arledger import __version__

# Outputs larger than this are not kept (a rendered report, not a data dump).
MAX_ENTRY_BYTES = 64_000_000
# The newest entries kept; older ones (yesterday's as-of, old ledger states) go.
MAX_ENTRIES = 200
_SEPARATOR = b"\n--arledger-cache--\n"
# What loader.find_ledger looks for in a ledger directory (customers or settings).
LEDGER_MARKS = ("customers", "customers.yaml", "customers.yml", "customers.csv",
                "arledger.yaml")  # fmt: skip


class Entry(NamedTuple):
    """What a report command produced: the output, its exit code, its messages."""

    data: str | bytes
    exit_code: int
    messages: tuple[str, ...]


def directory() -> Path | None:
    """Where entries live (`$XDG_CACHE_HOME/arledger/reports`), None when off."""
    if os.environ.get("ARLEDGER_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "arledger" / "reports"


def ledger_root(path: str | os.PathLike[str] | None) -> Path | None:
    """The ledger directory as loader.find_ledger picks it, if it looks like one.

    Without importing the loader (yaml, pydantic): a cache hit needs neither.
    None when it is plainly no ledger, so that the loader says why.
    """
    root = Path(path or os.environ.get("ARLEDGER_DIR") or ".")
    return root if any(os.path.exists(root / m) for m in LEDGER_MARKS) else None


def ledger_state(root: Path) -> list[tuple[str, int, int]]:
    """(path, size, mtime_ns) of every file under the ledger directory.

    Symlinked folders are followed, as the loader reads through a symlinked
    `invoices/`; each real folder once, so a link loop ends.
    """
    state = []
    seen = set()
    for folder, dirs, files in os.walk(root, followlinks=True):
        try:
            info = os.stat(folder)
        except OSError:
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = os.path.join(folder, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            state.append((os.path.relpath(path, root), info.st_size, info.st_mtime_ns))
    return state


def key(root: Path, what: dict[str, Any]) -> str:
    """The entry's name: a hash of the version, the ledger's files and `what`."""
    material = {
        "version": __version__,
        "root": str(root.resolve()),
        "files": ledger_state(root),
        "what": what,
    }
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get(name: str) -> Entry | None:
    """The stored entry, or None (missing, unreadable or off)."""
    folder = directory()
    if folder is None:
        return None
    try:
        raw = (folder / name).read_bytes()
        head, _, data = raw.partition(_SEPARATOR)
        meta = json.loads(head)
        payload: str | bytes = data if meta["binary"] else data.decode("utf-8")
        return Entry(payload, int(meta["exit_code"]), tuple(meta["messages"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def put(name: str, entry: Entry) -> None:
    """Store an entry; best effort: a cache that cannot be written is skipped."""
    folder = directory()
    binary = isinstance(entry.data, bytes)
    data = entry.data if isinstance(entry.data, bytes) else entry.data.encode("utf-8")
    if folder is None or len(data) > MAX_ENTRY_BYTES:
        return
    meta = {"binary": binary, "exit_code": entry.exit_code,
            "messages": list(entry.messages)}  # fmt: skip
    import tempfile  # only on a miss: a hit does not pay for it

    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=folder, prefix=".entry.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(meta).encode("utf-8") + _SEPARATOR + data)
        os.replace(temp, folder / name)
        _prune(folder)
    except OSError:
        try:
            os.unlink(temp)
        except (OSError, UnboundLocalError):
            pass


def _prune(folder: Path) -> None:
    """Keep the newest MAX_ENTRIES entries (by modification time)."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in entries[MAX_ENTRIES:]:
        try:
            old.unlink()
        except OSError:
            pass
