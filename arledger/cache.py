"""A cache of finished reports that cannot answer for a changed ledger or code.

A report is a function of the ledger's files, arledger's code, the command's
options, the as-of date and where the output goes; while none of them changes
(the cron job's second report of the morning, the clerk running `aging` again)
the stored output is the answer. `key` holds all of them:

- every file under the ledger directory (records, settings, templates, the
  dunning log; all but folders at its top whose name starts with a dot, such
  as `.git`, which arledger never reads): its path, device, inode, size,
  mtime_ns and ctime_ns, as git's index does. The kernel sets ctime on every
  write and nothing (`touch -r`, `cp -p`, `rsync -a`, a restore) sets it back;
  a file replaced by another has another inode. While the ledger is at most
  HASH_BYTES, the files' contents too (blake2b, about 1 ms a MiB here), which
  also holds on file systems whose ctime or inodes are not real (FAT, some
  network mounts);
- the code's identity (`code_identity`): a hash of every file of the installed
  package (modules, templates, the C extension), Python's version and the
  names and versions of the installed distributions (rich's table, openpyxl's
  bytes);
- what the caller says decides the bytes (command, options, the resolved as-of
  date, format, terminal, colour, width), and the only environment variables
  that reach them besides: ENV_NAMES. Nothing else of the environment is read,
  so no secret can reach a key.

Racily clean files (git's term, Documentation/technical/racy-git.txt): a file
whose mtime or ctime is within RACY_NS of now (or later) may be written again
within the same timestamp tick and keep the very same stat. While any ledger or
package file is that recent, entries are neither stored nor trusted; and a run
stores nothing when the key taken after it differs from the one taken before
(a file changed while it was read).

An entry is `arledger-cache-2 LENGTH BLAKE2B` on its first line, then a line of
JSON (exit code, messages, text or bytes) and the output. An entry whose
length, checksum or content is wrong, or whose exit code is not 0, 1 or 2, is
a miss and is removed, never replayed. Entries are written to a temp file and
renamed, so runs at once are safe. `ARLEDGER_NO_CACHE=1` turns the cache off.
Never stored inside the ledger.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from stat import S_ISREG
from typing import Any, NamedTuple

# Outputs larger than this are not kept (a rendered report, not a data dump).
MAX_ENTRY_BYTES = 64_000_000
# The newest entries kept; older ones (yesterday's as-of, old ledger states) go.
MAX_ENTRIES = 200
# Ledgers up to this size are keyed on their contents too: ~4 ms to hash here.
HASH_BYTES = 4 * 1024 * 1024
# Files changed more recently than this are racily clean (FAT keeps 2 s ticks).
RACY_NS = 2_000_000_000
# Environment variables that reach a report's bytes past what the command
# resolves itself: rich picks the colour system from them (render/table.py).
ENV_NAMES = ("TERM", "COLORTERM")
# The exit codes a report ends with (commands/common.py ExitCode).
EXIT_CODES = frozenset({0, 1, 2})
# The installed package, whose files are the code's identity.
PACKAGE = Path(__file__).parent
# What loader.find_ledger looks for in a ledger directory (customers or settings).
LEDGER_MARKS = ("customers", "customers.yaml", "customers.yml", "customers.csv",
                "arledger.yaml")  # fmt: skip
_MAGIC = b"arledger-cache-2"


class Entry(NamedTuple):
    """What a report command produced: the output, its exit code, its messages."""

    data: str | bytes
    exit_code: int
    messages: tuple[str, ...]


class Key(NamedTuple):
    """Where an entry lives, and what it was made of (to take it again)."""

    name: str
    root: Path  # the ledger directory
    what: dict[str, Any]  # what the caller put in
    racy: bool  # a file is racily clean: nothing stored or trusted


def now_ns() -> int:
    """The clock the racy rule reads (tests move it)."""
    return time.time_ns()


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


class _State(NamedTuple):
    files: list[tuple[str, int, int, int, int, int]]  # path, dev, ino, size, times
    size: int
    racy: bool


def _state(root: Path, ignore: frozenset[str] = frozenset()) -> _State:
    """The stat of every file under `root`, and whether any is racily clean.

    Symlinked folders are followed, as the loader reads through a symlinked
    `invoices/`; each real folder once, so a link loop ends. Folders named in
    `ignore` are left out at any depth, those starting with a dot at the top.
    Folders, dangling or looping symlinks and pipes are there too, with size -1
    and never read: the loader refuses an empty kind folder, a folder named like
    a record file or a broken link, so their coming and going changes the key.
    """
    files = []
    seen = set()
    size = 0
    newest = 0
    for folder, dirs, names in os.walk(root, followlinks=True):
        try:
            info = os.stat(folder)
        except OSError:
            dirs[:] = []
            continue
        top = folder == str(root)
        if not top:
            rel = os.path.relpath(folder, root) + os.sep
            files.append((rel, info.st_dev, info.st_ino, -1, 0, 0))
        if (info.st_dev, info.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirs[:] = sorted(
            d for d in dirs if d not in ignore and not (top and d.startswith("."))
        )
        for name in sorted(names):
            path = os.path.join(folder, name)
            try:
                info = os.stat(path)
            except OSError:
                try:
                    info = os.lstat(path)  # a dangling or looping symlink
                except OSError:
                    continue  # gone meanwhile: the key taken after the run differs
            rel = os.path.relpath(path, root)
            times = (info.st_mtime_ns, info.st_ctime_ns)
            if not S_ISREG(info.st_mode):
                files.append((rel, info.st_dev, info.st_ino, -1, *times))
                continue
            files.append((rel, info.st_dev, info.st_ino, info.st_size, *times))
            size += info.st_size
            newest = max(newest, *times)
    return _State(files, size, newest > now_ns() - RACY_NS)


def _contents(root: Path, state: _State) -> str:
    """A hash of the contents of the files of `state`, in its order."""
    digest = hashlib.blake2b()
    for path, _, _, size, *_ in state.files:
        if size < 0:
            continue  # a folder, a broken symlink, a pipe: only there
        data = (root / path).read_bytes()
        digest.update(b"%d %s\n" % (len(data), path.encode("utf-8", "surrogateescape")))
        digest.update(data)
    return digest.hexdigest()


def _distributions() -> list[str]:
    """The installed distributions, as `name-version.dist-info` folder names."""
    found: list[str] = []
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        found.extend(n for n in names if n.endswith((".dist-info", ".egg-info")))
    return sorted(found)


_identities: dict[str, str] = {}


def code_identity() -> tuple[str, bool]:
    """A hash of the code that computes reports, and whether a file is racy.

    Hashing the package costs ~1.5 ms here, its stat ~0.2 ms: the hash is
    computed once per process, and kept (in `code` beside the entries) under
    the stat of the package's files, Python's version and the distributions.
    """
    state = _state(PACKAGE, ignore=frozenset({"__pycache__"}))
    environment = [sys.version, _distributions()]
    stat = _hash([state.files, environment])
    if stat in _identities:
        return _identities[stat], state.racy
    folder = directory()
    saved = None if folder is None else folder.parent / "code"
    body = None if saved is None else _read(saved)
    if body is not None and body.startswith(stat.encode("ascii") + b" "):
        identity = body.decode("ascii", "replace").partition(" ")[2]
    else:
        identity = _hash([_contents(PACKAGE, state), environment])
        if saved is not None and not state.racy:
            _write(saved, f"{stat} {identity}".encode("ascii"))
    _identities[stat] = identity
    return identity, state.racy


def key(ledger: str | os.PathLike[str] | None, what: dict[str, Any]) -> Key | None:
    """The key of a report on the ledger at `ledger` given `what`.

    None when the cache is off, there is no ledger to speak of, or a file
    cannot be read: nothing is looked up or stored then.
    """
    root = ledger_root(ledger)
    if directory() is None or root is None:
        return None
    try:
        state = _state(root)
        code, code_racy = code_identity()
        material = {
            "code": code,
            "root": str(root.resolve()),
            "files": state.files,
            "contents": _contents(root, state) if state.size <= HASH_BYTES else None,
            "env": {name: os.environ.get(name) for name in ENV_NAMES},
            "what": what,
        }
    except OSError:
        return None
    return Key(_hash(material), root, what, state.racy or code_racy)


def _hash(material: object) -> str:
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape")).hexdigest()


def get(asked: Key | None) -> Entry | None:
    """The stored entry, or None: missing, damaged (then removed), racy or off."""
    folder = directory()
    if asked is None or asked.racy or folder is None:
        return None
    path = folder / asked.name
    body = _read(path)
    entry = None if body is None else _entry(body)
    if entry is None:
        _remove(path)
    return entry


def _entry(body: bytes) -> Entry | None:
    head, _, data = body.partition(b"\n")
    try:
        meta = json.loads(head)
        binary, code, messages = meta["binary"], meta["exit_code"], meta["messages"]
        if (
            type(code) is not int
            or code not in EXIT_CODES
            or not isinstance(binary, bool)
            or not isinstance(messages, list)
            or not all(isinstance(m, str) for m in messages)
        ):
            return None
        payload: str | bytes = data if binary else data.decode("utf-8")
        return Entry(payload, code, tuple(messages))
    except (ValueError, KeyError, TypeError):
        return None


def put(asked: Key | None, entry: Entry) -> None:
    """Store an entry under `asked` if the ledger and code are still what it says.

    Best effort: a cache that cannot be written is skipped.
    """
    folder = directory()
    data = entry.data if isinstance(entry.data, bytes) else entry.data.encode("utf-8")
    if (
        folder is None
        or asked is None
        or asked.racy
        or entry.exit_code not in EXIT_CODES
        or len(data) > MAX_ENTRY_BYTES
    ):
        return
    again = key(asked.root, asked.what)
    if again is None or again.name != asked.name:
        return  # a file changed while the report was made
    meta = {"binary": isinstance(entry.data, bytes), "exit_code": int(entry.exit_code),
            "messages": list(entry.messages)}  # fmt: skip
    if _write(folder / asked.name, json.dumps(meta).encode("utf-8") + b"\n" + data):
        _prune(folder)


def _read(path: Path) -> bytes | None:
    """The body of a file `_write` wrote, or None: missing, unreadable, damaged."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head, newline, body = raw.partition(b"\n")
    parts = head.split(b" ")
    if (
        not newline
        or len(parts) != 3
        or parts[0] != _MAGIC
        or parts[1] != b"%d" % len(body)
        or parts[2] != hashlib.blake2b(body).hexdigest().encode("ascii")
    ):
        return None
    return body


def _write(path: Path, body: bytes) -> bool:
    """Write `body` with its length and checksum, atomically; False if it failed."""
    import tempfile  # only on a miss: a hit does not pay for it

    header = b"%s %d %s\n" % (
        _MAGIC,
        len(body),
        hashlib.blake2b(body).hexdigest().encode(),
    )
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".entry.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(header + body)
        os.replace(temp, path)
        return True
    except OSError:
        if temp is not None:
            _remove(Path(temp))
        return False


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _prune(folder: Path) -> None:
    """Keep the newest MAX_ENTRIES entries (by modification time)."""
    try:
        entries = [
            (entry.stat().st_mtime_ns, Path(entry.path))
            for entry in os.scandir(folder)
            if not entry.name.startswith(".")
        ]
    except OSError:
        return  # another run is pruning too
    entries.sort(reverse=True)
    for _, old in entries[MAX_ENTRIES:]:
        _remove(old)
