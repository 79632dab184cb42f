"""The report cache: replayed only for the same ledger, code and options."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arledger import cache
from arledger.cli import app

from .conftest import LEDGERS, ROOT

AGING = ("aging", "--as-of", "2026-10-31", "-f", "json")
SECRET = "s3cret-Pa55word-for-the-cache-test"


def later(minutes: int = 1):
    """The cache's clock, moved on: files written just now are no longer racy."""
    return lambda: cache.time.time_ns() + minutes * 60 * 1_000_000_000


@pytest.fixture
def cached(monkeypatch, tmp_path):
    """A copy of the small ledger, the cache on in a folder of its own."""
    monkeypatch.delenv("ARLEDGER_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "now_ns", later())
    ledger = tmp_path / "ledger"
    shutil.copytree(LEDGERS / "small", ledger)
    return ledger


@pytest.fixture
def loads(monkeypatch) -> list[object]:
    """One item for every time a command loaded the ledger (a miss)."""
    from arledger.commands import common

    seen: list[object] = []

    def counted(real):
        def load(*args, **kwargs):
            loaded = real(*args, **kwargs)
            seen.append(args)
            return loaded

        return load

    monkeypatch.setattr(common, "load_ledger", counted(common.load_ledger))
    return seen


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def aging(ledger: Path, *more: str):
    return run(*AGING, "-l", str(ledger), *more)


def totals(result) -> dict[str, str]:
    report = json.loads(result.stdout)
    return {s["currency"]: s["totals"]["total"] for s in report["sections"]}


def entries() -> list[Path]:
    return sorted(cache.directory().iterdir())


def the_entry() -> Path:
    (entry,) = entries()
    return entry


# ------------------------------------------------------------ hits and misses


def test_a_second_identical_run_is_served_from_the_cache(cached, loads):
    first = aging(cached)
    assert first.exit_code == 0 and len(loads) == 1
    second = aging(cached)
    assert second.exit_code == 0 and second.stdout == first.stdout
    assert len(loads) == 1


def test_any_change_to_the_ledger_is_seen(cached):
    before = totals(aging(cached))
    payments = cached / "payments.yaml"
    with payments.open("a", encoding="utf-8") as out:
        out.write("- {id: P9, customer: ACME, date: 2026-10-30, amount: 100.00}\n")
    assert totals(aging(cached))["USD"] != before["USD"]


def edit_in_place(path: Path, old: str, new: str) -> None:
    """Rewrite `path` through the same inode, then set its times back."""
    info = path.stat()
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new), encoding="utf-8")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def replace_like_cp_p(path: Path, old: str, new: str) -> None:
    """Put another file with the old size and times in its place (`cp -p`)."""
    other = path.with_name(".new")
    other.write_text(path.read_text(encoding="utf-8").replace(old, new), "utf-8")
    shutil.copystat(path, other)
    os.replace(other, path)


@pytest.mark.parametrize("edit", [edit_in_place, replace_like_cp_p])
@pytest.mark.parametrize("contents", [True, False], ids=["hashed", "stat-only"])
def test_a_same_size_edit_with_the_old_mtime_is_seen(
    cached, loads, monkeypatch, edit, contents
):
    if not contents:  # a big ledger: stat only, which must still see it
        monkeypatch.setattr(cache, "HASH_BYTES", 0)
    payments = cached / "payments.yaml"
    before = payments.stat()
    first = aging(cached)
    edit(payments, "amount: 900.00", "amount: 100.00")
    after = payments.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    # What the key sees instead (a clock of coarse ticks could leave ctime alone
    # within a tick: that is what the racy rule is for).
    assert (after.st_ino, after.st_ctime_ns) != (before.st_ino, before.st_ctime_ns)
    second = aging(cached)
    assert len(loads) == 2, "replayed the figures of the ledger before the edit"
    assert second.exit_code == 0
    assert totals(second) != totals(first)


def test_files_added_removed_or_in_a_hidden_record_folder_are_seen(cached, loads):
    first = aging(cached)
    (cached / "notes.txt").write_text("not a record\n", encoding="utf-8")
    aging(cached)
    assert len(loads) == 2
    (cached / "notes.txt").unlink()
    aging(cached)  # the ledger of the first run again
    assert len(loads) == 2
    # The key sees every file, even in a folder the loader does not read.
    (cached / "invoices" / ".old").mkdir()
    extra = cached / "invoices" / ".old" / "x.yaml"
    extra.write_text(
        "- {id: I99, customer: ACME, date: 2026-10-01, amount: 5.00}\n", "utf-8"
    )
    assert totals(aging(cached)) == totals(first)
    assert len(loads) == 3


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no symlinks or pipes here")
def test_what_the_loader_refuses_but_cannot_read_is_seen(cached):
    """A broken symlink, an empty kind folder or a pipe has no bytes to hash,
    but the loader refuses each (SPEC §4): a clean run is not replayed."""
    assert aging(cached).exit_code == 0
    for make, undo in (
        (lambda p: p.symlink_to("nowhere.csv"), Path.unlink),
        (Path.mkdir, Path.rmdir),
        (os.mkfifo, Path.unlink),  # hashing it would wait for a writer for ever
    ):
        place = cached / "adjustments.csv"
        if make is Path.mkdir:
            place = cached / "contacts"
        make(place)
        assert aging(cached).exit_code == 2, "replayed the clean ledger's report"
        undo(place)
    assert len(entries()) == 1  # only the clean run was stored


def test_a_hidden_folder_at_the_top_is_not_the_ledger(cached, loads):
    (cached / ".git").mkdir()
    aging(cached)
    (cached / ".git" / "index").write_text("anything", encoding="utf-8")
    aging(cached)
    assert len(loads) == 1


def test_a_file_in_a_symlinked_folder_is_seen(cached, loads, tmp_path):
    shutil.move(cached / "invoices", tmp_path / "shared-invoices")
    (cached / "invoices").symlink_to(tmp_path / "shared-invoices")
    first = aging(cached)
    aging(cached)
    assert len(loads) == 1
    with (tmp_path / "shared-invoices" / "2026.yaml").open("a", encoding="utf-8") as f:
        f.write("- {id: I99, customer: ACME, date: 2026-10-01, amount: 5.00}\n")
    edited = aging(cached)
    assert len(loads) == 2 and totals(edited) != totals(first)


def test_options_and_dates_are_part_of_the_key(cached):
    aging(cached)
    other_date = run("aging", "-l", str(cached), "--as-of", "2026-09-30", "-f", "json")
    assert json.loads(other_date.stdout)["as_of"] == "2026-09-30"
    csv = run("aging", "-l", str(cached), "--as-of", "2026-10-31", "-f", "csv")
    assert csv.stdout.startswith("currency,")
    overdue = run("overdue", "-l", str(cached), "--as-of", "2026-10-31", "-f", "json")
    assert json.loads(overdue.stdout)["report"] == "overdue"


def test_exit_code_and_messages_are_replayed(cached, loads):
    first = aging(cached, "--fail-on", "overdue")
    assert first.exit_code == 1 and "overdue item" in first.stderr
    second = aging(cached, "--fail-on", "overdue")
    assert second.exit_code == 1 and second.stderr == first.stderr
    assert len(loads) == 1


def test_a_file_changed_while_the_report_is_made_is_not_stored(cached, monkeypatch):
    from arledger.commands import common

    real = common.load_ledger

    def load_then_edit(*args, **kwargs):
        ledger = real(*args, **kwargs)
        with (cached / "payments.yaml").open("a", encoding="utf-8") as out:
            out.write("- {id: P9, customer: ACME, date: 2026-10-30, amount: 1.00}\n")
        return ledger

    monkeypatch.setattr(common, "load_ledger", load_then_edit)
    assert aging(cached).exit_code == 0
    assert not cache.directory().exists() or entries() == []


# ------------------------------------------------------------ racily clean files


def test_a_racily_clean_ledger_is_neither_stored_nor_trusted(
    cached, loads, monkeypatch
):
    monkeypatch.setattr(cache, "now_ns", cache.time.time_ns)  # the files are new
    aging(cached)
    aging(cached)
    assert len(loads) == 2 and not cache.directory().exists()
    monkeypatch.setattr(cache, "now_ns", later())  # a minute on: settled
    aging(cached)
    aging(cached)
    assert len(loads) == 3


def test_a_file_dated_in_the_future_is_racy(cached):
    future = cache.now_ns() + 3_600 * 1_000_000_000
    os.utime(cached / "payments.yaml", ns=(future, future))
    assert cache.key(cached, {}).racy
    os.utime(cached / "payments.yaml", ns=(0, 0))
    assert not cache.key(cached, {}).racy


def test_a_racy_entry_on_disk_is_not_replayed(cached, monkeypatch, loads):
    aging(cached)
    monkeypatch.setattr(cache, "now_ns", cache.time.time_ns)
    aging(cached)
    assert len(loads) == 2


# ------------------------------------------------------------ damaged entries


def truncate(raw: bytes) -> bytes:
    return raw[:300]


def flip_a_byte(raw: bytes) -> bytes:
    at = len(raw) - 10
    return raw[:at] + bytes([raw[at] ^ 1]) + raw[at + 1 :]


def headless(raw: bytes) -> bytes:
    return raw.partition(b"\n")[2]


def empty(raw: bytes) -> bytes:
    return b""


def exit_code_7(raw: bytes) -> bytes:
    """A well-formed entry (right length and checksum) that says exit 7."""
    body = raw.partition(b"\n")[2]
    head, _, data = body.partition(b"\n")
    meta = json.loads(head)
    meta["exit_code"] = 7
    body = json.dumps(meta).encode() + b"\n" + data
    digest = cache.hashlib.blake2b(body).hexdigest().encode()
    return b"arledger-cache-2 %d %s\n" % (len(body), digest) + body


@pytest.mark.parametrize(
    "damage", [truncate, flip_a_byte, headless, empty, exit_code_7]
)
@pytest.mark.parametrize("fail_on", [(), ("--fail-on", "overdue")], ids=["0", "1"])
def test_a_damaged_entry_is_a_miss_and_is_replaced(cached, loads, damage, fail_on):
    first = aging(cached, *fail_on)
    assert first.exit_code == len(fail_on) // 2
    entry = the_entry()
    raw = entry.read_bytes()
    assert len(raw) > 300
    entry.write_bytes(damage(raw))
    again = aging(cached, *fail_on)
    assert len(loads) == 2, "a damaged entry was replayed"
    assert (again.exit_code, again.stdout, again.stderr) == (
        first.exit_code,
        first.stdout,
        first.stderr,
    )
    assert entry.read_bytes() == raw  # removed, then written afresh
    aging(cached, *fail_on)
    assert len(loads) == 2


def test_an_unreadable_entry_is_a_miss(cached, loads):
    aging(cached)
    entry = the_entry()
    entry.unlink()
    entry.mkdir()  # reading it fails
    assert aging(cached).exit_code == 0 and len(loads) == 2


def test_only_report_exit_codes_are_stored(cached):
    asked = cache.key(cached, {"report": "x"})
    cache.put(asked, cache.Entry("out\n", 7, ()))
    assert not cache.directory().exists() or entries() == []
    cache.put(asked, cache.Entry("out\n", 2, ("arledger: error",)))
    assert cache.get(asked) == cache.Entry("out\n", 2, ("arledger: error",))


# ------------------------------------------------------------ the code's identity


@pytest.fixture
def package(monkeypatch, tmp_path) -> Path:
    """The code's identity read from a copy of the package, which tests change."""
    copy = tmp_path / "package"
    shutil.copytree(cache.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "PACKAGE", copy)
    monkeypatch.setattr(cache, "_identities", {})
    return copy


def test_changed_code_is_a_miss(cached, loads, package):
    aging(cached)
    aging(cached)
    assert len(loads) == 1
    settle = package / "settle.py"
    info = settle.stat()
    code = settle.read_bytes()
    settle.write_bytes(code.replace(b"a", b"e", 1))  # same size, mtime set back
    os.utime(settle, ns=(info.st_atime_ns, info.st_mtime_ns))
    aging(cached)
    assert len(loads) == 2


def test_a_changed_compiled_kernel_is_a_miss(cached, loads, package):
    from arledger import _settle

    aging(cached)
    assert len(loads) == 1
    kernel = package / Path(_settle.__file__).name
    info = kernel.stat()
    code = kernel.read_bytes()
    kernel.write_bytes(code[:-1] + bytes([code[-1] ^ 1]))  # same size, mtime set back
    os.utime(kernel, ns=(info.st_atime_ns, info.st_mtime_ns))
    aging(cached)
    assert len(loads) == 2


def test_the_code_hash_is_kept_under_the_package_stat(cached, package, monkeypatch):
    first = cache.code_identity()
    saved = cache.directory().parent / "code"
    assert saved.is_file()
    hash_contents = cache._contents
    monkeypatch.setattr(cache, "_identities", {})  # as in a new process
    monkeypatch.setattr(cache, "_contents", lambda *a: pytest.fail("hashed again"))
    assert cache.code_identity() == first  # read back, not hashed
    saved.write_bytes(saved.read_bytes()[:-3])  # damaged: hashed afresh
    monkeypatch.setattr(cache, "_identities", {})
    monkeypatch.setattr(cache, "_contents", hash_contents)
    assert cache.code_identity() == first
    assert cache._read(saved) is not None  # and written whole again


def test_installed_distributions_are_part_of_the_code(cached, package, monkeypatch):
    first = cache.code_identity()[0]
    monkeypatch.setattr(cache, "_distributions", lambda: ["rich-99.0.0.dist-info"])
    assert cache.code_identity()[0] != first


# ------------------------------------------------------------ what the key holds


def test_no_secret_in_any_key_name_or_content(cached, loads, monkeypatch):
    monkeypatch.setenv("ARLEDGER_SMTP_PASSWORD", SECRET)
    aging(cached, "--fail-on", "overdue")
    monkeypatch.setenv("ARLEDGER_SMTP_PASSWORD", "another one")
    aging(cached, "--fail-on", "overdue")
    assert len(loads) == 1  # the variable is not in the key
    folder = cache.directory().parent.parent
    for path in folder.rglob("*"):
        assert SECRET not in str(path)
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes()


def test_the_environment_in_the_key_is_named(cached, monkeypatch):
    first = cache.key(cached, {}).name
    for name in ("HOME", "ARLEDGER_SMTP_PASSWORD", "LANG", "LC_ALL", "PYTHONHASHSEED"):
        monkeypatch.setenv(name, "something else")
    assert cache.key(cached, {}).name == first
    for name in cache.ENV_NAMES:
        with monkeypatch.context() as changed:
            changed.setenv(name, "something else")
            assert cache.key(cached, {}).name != first, name


# ------------------------------------------------------------ the rest


def test_output_files_still_refuse_to_overwrite(cached, tmp_path):
    target = tmp_path / "aging.json"
    args = ["aging", "-l", str(cached), "--as-of", "2026-10-31", "-o", str(target)]
    assert run(*args).exit_code == 0
    again = run(*args)
    assert again.exit_code == 2 and "use --force" in again.stderr
    assert run(*args, "--force").exit_code == 0


def test_the_cache_can_be_turned_off(cached, monkeypatch, loads):
    aging(cached)
    monkeypatch.setenv("ARLEDGER_NO_CACHE", "1")
    aging(cached)
    assert len(loads) == 2


def test_nothing_is_written_inside_the_ledger(cached):
    before = sorted(p for p in cached.rglob("*"))
    aging(cached)
    assert sorted(p for p in cached.rglob("*")) == before


def test_old_entries_are_pruned(cached, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    for day in ("2026-08-31", "2026-09-30", "2026-10-31"):
        run("aging", "-l", str(cached), "--as-of", day, "-f", "json")
    assert len(entries()) == 2


def test_a_hit_through_the_console_script_keeps_the_exit_code(tmp_path):
    """A real process: the exit code 1 of --fail-on, replayed with no ledger loaded.

    The checked-in ledger is used as it is: its files are older than the racy
    window, unlike a copy made now.
    """
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.pop("ARLEDGER_NO_CACHE", None)
    args = [sys.executable, "-X", "importtime", "-m", "arledger", *AGING]
    args += ["-l", str(LEDGERS / "small"), "--fail-on", "overdue"]

    def arledger():
        done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, timeout=60)
        lines = done.stderr.decode("utf-8").splitlines(keepends=True)
        loaded = any(line.rstrip().endswith("arledger.loader") for line in lines)
        messages = "".join(x for x in lines if not x.startswith("import time:"))
        return done.returncode, done.stdout, messages, loaded

    miss, hit = arledger(), arledger()
    assert miss[0] == 1 and "arledger: attention:" in miss[2] and miss[3]
    assert hit == (*miss[:3], False)
