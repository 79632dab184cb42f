"""Start-up stays fast: heavy modules are imported only by the commands using them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# pyarrow: only a CSV file of a megabyte or more is read with it.
HEAVY = ("openpyxl", "xlsxwriter", "jinja2", "dateutil.parser", "babel", "pyarrow")


def _imported_after(code: str) -> set[str]:
    probe = (
        f"{code}\nimport sys\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    line = [x for x in out.splitlines() if x.startswith("HEAVY=")][-1]
    return set(filter(None, line.removeprefix("HEAVY=").split(",")))


def test_cli_import_is_light():
    assert _imported_after("import arledger.cli") == set()


def test_aging_run_does_not_import_heavy_modules():
    code = (
        "import sys\nfrom arledger.cli import app\n"
        "sys.argv = ['arledger', 'aging', '-l', 'tests/ledgers/small', "
        "'--as-of', '2026-10-31', '-f', 'json']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert _imported_after(code) == set()


def _modules_after(code: str, names: tuple[str, ...], env: dict[str, str]) -> set[str]:
    probe = f"{code}\nimport sys\nprint('LOADED=' + ','.join(m for m in {names!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    line = [x for x in out.splitlines() if x.startswith("LOADED=")][-1]
    return set(filter(None, line.removeprefix("LOADED=").split(",")))


def test_the_console_script_module_imports_no_framework():
    """`arledger.cli` is what the console script imports; the app comes after."""
    names = ("typer", "pydantic", "rich", "yaml")
    assert _modules_after("import arledger.cli", names, dict(os.environ)) == set()


def test_a_cache_hit_inside_a_command_loads_no_ledger_machinery(tmp_path):
    """A report cache hit inside the command needs no pydantic, yaml or loader."""
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    env.pop("ARLEDGER_NO_CACHE", None)
    code = (
        "import sys\nfrom arledger.cli import app\n"
        "sys.argv = ['arledger', 'aging', '-l', 'tests/ledgers/small', "
        "'--as-of', '2026-10-31']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    names = ("pydantic", "yaml", "rich", "arledger.loader", "arledger.model")
    missed = {"rich", "arledger.loader"}  # a clean ledger: no pydantic, no PyYAML
    assert _modules_after(code, names, env) == missed
    assert _modules_after(code, names, env) == set()  # a hit none


def _aging_run(ledger: str) -> str:
    return (
        "import sys\nfrom arledger.cli import app\n"
        f"sys.argv = ['arledger', 'aging', '-l', {ledger!r}, '--as-of', '2026-10-31']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )


def test_a_clean_ledger_is_read_without_pydantic(tmp_path):
    """Every kind of record and the settings are read by columns from
    arledger/_shapes.py (derived from the models): pydantic, which costs a
    run more than the rest of a small report, is not imported."""
    env = dict(os.environ, ARLEDGER_NO_CACHE="1")
    names = ("pydantic", "arledger.model")
    assert _modules_after(_aging_run("examples/demo"), names, env) == set()


def test_a_table_off_a_terminal_is_written_without_rich():
    env = dict(os.environ, ARLEDGER_NO_CACHE="1")
    names = ("rich.console", "rich.table", "rich.text")
    assert _modules_after(_aging_run("examples/demo"), names, env) == set()


def test_a_refused_record_is_told_by_its_model(tmp_path):
    """A record the columns refuse goes to its pydantic model, which says why."""
    import shutil

    ledger = tmp_path / "ledger"
    shutil.copytree("examples/demo", ledger)
    with (ledger / "customers.yaml").open("a", encoding="utf-8") as out:
        out.write("\n- id: BAD\n  name: Bad terms\n  terms: soon\n")
    env = dict(os.environ, ARLEDGER_NO_CACHE="1")
    names = ("pydantic", "arledger.model")
    assert _modules_after(_aging_run(str(ledger)), names, env) == set(names)


def test_shell_completion_loads_no_ledger_machinery():
    """Completion (on since it runs at every Tab) answers from the app alone."""
    env = dict(os.environ, _ARLEDGER_COMPLETE="complete_bash", COMP_CWORD="1",
               COMP_WORDS="arledger ag")  # fmt: skip
    code = (
        "from arledger.cli import app\n"
        "try:\n    app(prog_name='arledger')\nexcept SystemExit:\n    pass"
    )
    names = (*HEAVY, "pydantic", "yaml", "arledger.loader", "arledger.settle")
    assert _modules_after(code, names, env) == set()


def test_a_run_makes_only_the_command_it_names():
    """`arledger NAME ...` builds NAME's Click command alone; its help and
    usage errors are the ones the whole app gives."""
    from typer.main import get_command_name
    from typer.testing import CliRunner

    from arledger.app import app, for_args

    runner = CliRunner()
    names = [
        info.name or get_command_name(info.callback.__name__)
        for info in app.registered_commands
    ]
    assert len(names) > 10
    for name in names:
        only = for_args([name, "--help"])
        assert len(only.registered_commands) == 1
        for args in ([name, "--help"], [name, "--no-such-option"]):
            alone, whole = runner.invoke(only, args), runner.invoke(app, args)
            assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)
    for args in ([], ["--help"], ["agin"], ["--version"]):
        assert for_args(args) is app


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["aging", "--detail"],
        ["overdue"],
        ["collection", "--period", "2026"],
        ["risk"],
        ["forecast"],
        ["statement", "ACME"],
        ["dunning"],
    ],
    ids=lambda words: " ".join(words),
)
def test_reports_on_a_clean_ledger_import_neither_pydantic_nor_pyyaml(command):
    """A clean ledger without plans is read, checked and reported on without
    the records' models (pydantic, ~45 ms) or PyYAML (~20 ms): they say what
    is wrong with a record, where the ledger has something wrong."""
    env = dict(os.environ, ARLEDGER_NO_CACHE="1")
    code = (
        "import sys\nfrom arledger.cli import app\n"
        f"sys.argv = ['arledger', *{command!r}, '-l', 'tests/ledgers/small_csv', "
        "'--as-of', '2026-10-31']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    names = ("pydantic", "yaml", "arledger.model")
    assert _modules_after(code, names, env) == set()
