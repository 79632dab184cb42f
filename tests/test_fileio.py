"""Writing a set of files (letters, statements): all of them, or none."""

from __future__ import annotations

from pathlib import Path

import pytest

from arledger import fileio
from arledger.errors import ArledgerError


def test_every_file_of_a_set_is_on_disk_before_any_is_moved_into_place(
    tmp_path, monkeypatch
):
    events: list[str] = []
    real_fsync, real_replace = fileio.os.fsync, fileio.os.replace

    def fsync(fd: int) -> None:
        events.append("sync")
        real_fsync(fd)

    def replace(source: str, target: Path) -> None:
        events.append("replace")
        real_replace(source, target)

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    monkeypatch.setattr(fileio.os, "replace", replace)
    files = [(tmp_path / f"C{n}.md", f"letter {n}\n") for n in range(5)]
    fileio.write_set(files)
    assert events == ["sync"] * 5 + ["replace"] * 5
    assert [p.read_text() for p, _ in files] == [text for _, text in files]
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p, _ in files]


def test_a_ledger_file_among_the_targets_stops_the_whole_set(tmp_path):
    ledger_file = tmp_path / "customers.yaml"
    ledger_file.write_text("- {id: C}\n")
    files = [(tmp_path / "a.md", "a"), (tmp_path / "." / "customers.yaml", "x")]
    with pytest.raises(ArledgerError, match="refusing to overwrite a ledger file"):
        fileio.write_set(files, protected=[ledger_file])
    assert ledger_file.read_text() == "- {id: C}\n"
    assert not (tmp_path / "a.md").exists()
