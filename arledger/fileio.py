"""Writing files: atomically (temp file + rename) and never over an existing file
without `force`; logs appended line by line, each forced to disk. The only
module that writes."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from arledger.errors import ArledgerError, OutputExists

if TYPE_CHECKING:
    # importlib.resources.abc is 3.11+; importlib.abc's name is gone in 3.14.
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable


def write_output(
    path: str | os.PathLike[str],
    data: str | bytes,
    *,
    force: bool = False,
    protected: Collection[Path] = (),
    make_parents: bool = False,
) -> Path:
    """Write `data` to `path` atomically.

    The data goes to a temp file in the target's directory, is flushed to disk,
    then linked to the target (which fails if it exists) or, with `force`,
    renamed over it. The temp file is removed on any failure.

    Args:
        path: the file to write.
        data: text (written as UTF-8) or bytes.
        force: replace an existing file.
        protected: files that must never be overwritten, even with `force`
            (the ledger's own files).
        make_parents: create the target's folder (and its parents) when missing;
            otherwise a missing folder is an error, never created silently.

    Raises:
        OutputExists: the file exists and `force` is not set.
        ArledgerError: the file is a ledger file, or cannot be written.
    """
    target = Path(path)
    resolved = target.resolve()
    if any(resolved == Path(p).resolve() for p in protected):
        raise ArledgerError(f"{target}: refusing to overwrite a ledger file")
    if target.is_dir():
        raise ArledgerError(f"{target}: is a directory")
    if target.exists() and not force:
        raise OutputExists(f"{target} exists; use --force to replace it")
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = target.parent if str(target.parent) else Path(".")
    if not make_parents and not directory.is_dir():
        what = "not a directory" if directory.exists() else "no such directory"
        raise ArledgerError(f"{target}: {what}: {directory}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=directory
        )
    except OSError as exc:
        raise ArledgerError(f"{target}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o666 & ~_umask())
        if force:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)
            except FileExistsError:
                raise OutputExists(
                    f"{target} exists; use --force to replace it"
                ) from None
            except OSError:
                # Filesystems without hard links: check-then-rename is the best left.
                if target.exists():
                    raise OutputExists(
                        f"{target} exists; use --force to replace it"
                    ) from None
                os.replace(temp, target)
    except OSError as exc:
        raise ArledgerError(f"{target}: cannot write ({exc.strerror})") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return target


def write_set(
    files: Sequence[tuple[Path, str | bytes]],
    *,
    force: bool = False,
    protected: Collection[Path] = (),
) -> None:
    """Write several files all or nothing (a set of letters): every one goes to
    a temp file beside its target and is flushed to disk first; only when all
    are written are they moved into place. A full disk half way leaves no file
    of the set behind.

    Raises:
        OutputExists: a target exists and `force` is not set (nothing written).
        ArledgerError: a target is a ledger file or a directory, or a file
            cannot be written (nothing written).
    """
    ledger_files = {Path(p).resolve() for p in protected}
    for target, _ in files:
        if target.resolve() in ledger_files:
            raise ArledgerError(f"{target}: refusing to overwrite a ledger file")
        if target.is_dir():
            raise ArledgerError(f"{target}: is a directory")
        if target.exists() and not force:
            raise OutputExists(f"{target} exists; use --force to replace it")
    staged: list[tuple[str, Path]] = []
    try:
        for target, data in files:
            payload = data.encode("utf-8") if isinstance(data, str) else data
            directory = target.parent if str(target.parent) else Path(".")
            try:
                directory.mkdir(parents=True, exist_ok=True)
                fd, temp = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".tmp", dir=directory
                )
                staged.append((temp, target))
                with os.fdopen(fd, "wb") as handle:
                    handle.write(payload)
                os.chmod(temp, 0o666 & ~_umask())
            except OSError as exc:
                raise ArledgerError(
                    f"{target}: cannot write ({exc.strerror}); none of the "
                    f"{len(files)} files was written"
                ) from None
        # Then each to disk. Written first, all of them, they reach the disk
        # together; a sync after each write waited for the disk file by file
        # (7,826 letters: 20 s, where this takes 1.6 s).
        for temp, target in staged:
            try:
                _sync(temp)
            except OSError as exc:
                raise ArledgerError(
                    f"{target}: cannot write ({exc.strerror}); none of the "
                    f"{len(files)} files was written"
                ) from None
        for temp, target in staged:
            try:
                os.replace(temp, target)
            except OSError as exc:
                raise ArledgerError(
                    f"{target}: cannot write ({exc.strerror})"
                ) from None
    finally:
        for temp, _ in staged:
            if os.path.exists(temp):
                os.unlink(temp)


def _sync(path: str) -> None:
    """Force a written file's contents to disk."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_append(path: Path) -> BinaryIO:
    """Open a log for appending (created when missing), positioned at its end.

    Raises:
        OSError: it cannot be opened for writing.
    """
    handle = open(path, "a+b")  # noqa: SIM115 - the caller closes it
    handle.seek(0, os.SEEK_END)
    return handle


def append_synced(handle: BinaryIO, text: str) -> None:
    """Append `text` (UTF-8) and force it to disk before returning.

    Raises:
        OSError: it cannot be written.
    """
    handle.write(text.encode("utf-8"))
    handle.flush()
    os.fsync(handle.fileno())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def copy_tree(source: Traversable, target: Path, *, force: bool = False) -> list[Path]:
    """Copy a directory tree (package data) into `target`, file by file, atomically.

    Refuses a non-empty `target` unless `force`, and then replaces only the files
    it writes.
    """
    if target.exists() and not target.is_dir():
        raise ArledgerError(f"{target}: is not a directory")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise OutputExists(f"{target} is not empty; use --force to write into it")
    written: list[Path] = []

    def walk(node: Traversable, into: Path) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name.startswith((".", "__")):
                continue
            if child.is_dir():
                walk(child, into / child.name)
            else:
                written.append(
                    write_output(
                        into / child.name,
                        child.read_bytes(),
                        force=force,
                        make_parents=True,
                    )
                )

    walk(source, target)
    return written
