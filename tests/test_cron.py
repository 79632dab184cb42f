"""Running every morning: --fail-on conditions that fire on what is new since the
last run (--state), and the README's crontab entry run as cron runs it.

The crontab test runs the README's lines under `env -i` with cron's PATH, with
`arledger` where the README installs it (`$HOME/.local/bin/arledger`): by default
a link to this environment's console script; scripts/cron-check.sh runs it with
an arledger installed from a freshly built wheel instead (ARLEDGER_CRON_BIN).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arledger.cli import app

from .conftest import DEMO, ROOT, write_ledger
from .test_mail import smtp_server  # noqa: F401 - a fixture: a real SMTP server

README = ROOT / "README.md"

LEDGER = {
    "customers": """
        - {id: A, name: Alpha Inc, owner: Ann}
        - {id: B, name: Beta GmbH, owner: Bob, credit_limit: 1000.00}
    """,
    "invoices": """
        - {id: I1, customer: A, date: 2026-09-01, due: 2026-10-01, amount: 100.00}
        - {id: I2, customer: B, date: 2026-10-01, due: 2026-11-10, amount: 500.00}
        - {id: I3, customer: B, date: 2026-11-21, due: 2026-12-21, amount: 800.00}
    """,
    "contacts": """
        - {customer: A, date: 2026-10-05, channel: phone, promise_date: 2026-11-20, promise_amount: 100.00}
    """,
}
NEW_ALL = ("--fail-on", "new-overdue", "--fail-on", "new-hold",
           "--fail-on", "new-broken-promise")  # fmt: skip


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


@pytest.fixture
def ledger(tmp_path):
    return write_ledger(tmp_path / "ledger", **LEDGER)


def test_new_conditions_need_a_state_file_and_it_needs_them(ledger, tmp_path):
    result = run("aging", "-l", str(ledger), "--fail-on", "new-overdue")
    assert result.exit_code == 2
    assert result.stderr == (
        "arledger: error: --fail-on new-overdue: give --state FILE, where each run "
        "keeps what it found for the next one to compare with\n"
    )
    alone = run("aging", "-l", str(ledger), "--state", str(tmp_path / "s.json"))
    assert alone.exit_code == 2 and "--state keeps what --fail-on new-" in alone.stderr
    missing = run("aging", "-l", str(ledger), "--fail-on", "new-hold",
                  "--state", str(tmp_path / "no" / "s.json"))  # fmt: skip
    assert missing.exit_code == 2 and "no such directory" in missing.stderr


def test_only_what_is_new_since_the_last_run_fires(ledger, tmp_path):
    state = tmp_path / "state.json"

    def day(as_of: str):
        return run("overdue", "-l", str(ledger), "--as-of", as_of, *NEW_ALL,
                   "--state", str(state), "-f", "json")  # fmt: skip

    first = day("2026-10-31")  # I1 overdue; nothing recorded yet: all of it is new
    assert first.exit_code == 1
    assert first.stderr == (
        "arledger: attention: newly overdue (no earlier run): 1 item: A I1\n"
    )
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["as_of"] == "2026-10-31"
    assert saved["found"] == {"overdue": ["USD I1"], "hold": [], "broken-promise": []}
    assert [p.name for p in tmp_path.iterdir()] != [] and not list(
        tmp_path.glob(".state.json.*")
    )  # written atomically, no temp file left

    quiet = day("2026-11-05")  # the same overdue item: a quiet day, exit 0
    assert (quiet.exit_code, quiet.stderr) == (0, "")

    news = day("2026-11-25")  # I2 now overdue, B over its limit, A's promise broken
    assert news.exit_code == 1
    assert news.stderr.splitlines() == [
        "arledger: attention: newly overdue since the last run (2026-11-05): "
        "1 item: B I2",
        "arledger: attention: newly on credit hold since the last run (2026-11-05): B",
        "arledger: attention: newly broken promise to pay since the last run "
        "(2026-11-05): A (promised for 2026-11-20)",
    ]
    assert (day("2026-11-26").exit_code, day("2026-11-26").stderr) == (0, "")
    # The plain conditions still fire on what is there, new or not.
    plain = run("overdue", "-l", str(ledger), "--as-of", "2026-11-26",
                "--fail-on", "overdue", "-f", "json")  # fmt: skip
    assert plain.exit_code == 1 and "2 overdue items (2 customers)" in plain.stderr


def test_dunning_takes_the_new_conditions_too(ledger, tmp_path):
    state = tmp_path / "dunning-state.json"
    args = ("dunning", "-l", str(ledger), "--fail-on", "new-overdue",
            "--state", str(state), "-f", "json")  # fmt: skip
    assert run(*args, "--as-of", "2026-10-31").exit_code == 1
    assert run(*args, "--as-of", "2026-11-01").exit_code == 0
    assert run(*args, "--as-of", "2026-11-11").exit_code == 1  # I2 fell due


def test_a_run_that_fails_keeps_the_news_for_the_next(ledger, tmp_path):
    state = tmp_path / "state.json"
    out = tmp_path / "aging.csv"
    out.write_text("taken\n", encoding="utf-8")
    args = ("aging", "-l", str(ledger), "--as-of", "2026-10-31", "--fail-on",
            "new-overdue", "--state", str(state), "-o", str(out))  # fmt: skip
    failed = run(*args)  # the report file exists: exit 2, nothing remembered
    assert failed.exit_code == 2 and not state.exists()
    assert run(*args, "--force").exit_code == 1 and state.exists()


def test_a_state_file_arledger_did_not_write_is_refused(ledger, tmp_path):
    state = tmp_path / "state.json"
    state.write_text("[1, 2]\n", encoding="utf-8")
    result = run(
        "aging", "-l", str(ledger), "--fail-on", "new-hold", "--state", str(state)
    )
    assert result.exit_code == 2
    assert f"--state: {state}: not a state file arledger wrote" in result.stderr
    assert state.read_text(encoding="utf-8") == "[1, 2]\n"


def test_the_report_cache_never_answers_a_run_with_state(ledger, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    env.pop("ARLEDGER_NO_CACHE", None)
    args = [sys.executable, "-m", "arledger", "aging", "-l", str(ledger), "--as-of",
            "2026-10-31", "--fail-on", "new-overdue", "--state", str(tmp_path / "s.json")]  # fmt: skip
    codes = [subprocess.run(args, env=env, capture_output=True, timeout=60).returncode
             for _ in range(3)]  # fmt: skip
    assert codes == [1, 0, 0]


# ---------------------------------------------------------------- the README's crontab


def crontab() -> tuple[dict[str, str], str]:
    """The environment lines and the command of the README's crontab entry, as
    cron gives them to the shell (`\\%` becomes `%`)."""
    section = README.read_text(encoding="utf-8").split("## Running every morning", 1)[1]
    block = re.search(r"```cron\n(.*?)```", section, re.DOTALL)
    assert block, "the README's cron block"
    env: dict[str, str] = {}
    commands = []
    for line in block[1].splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        assignment = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", line)
        if assignment:
            env[assignment[1]] = assignment[2]
            continue
        job = re.fullmatch(r"(?:\S+\s+){5}(.*)", line)
        assert job, f"not a crontab line: {line}"
        commands.append(job[1])
    assert len(commands) == 1
    command = commands[0]
    assert re.search(r"(?<!\\)%", command) is None, "an unescaped % in a crontab"
    return env, command.replace("\\%", "%")


def cron(home: Path, env: dict[str, str], command: str) -> subprocess.CompletedProcess:
    """Run a crontab command as cron does: sh, an empty environment but for
    HOME, LOGNAME, SHELL, PATH=/usr/bin:/bin and the crontab's own lines."""
    given = {"HOME": str(home), "LOGNAME": "ar", "SHELL": "/bin/sh",
             "PATH": "/usr/bin:/bin", **env}  # fmt: skip
    return subprocess.run(
        [
            "env",
            "-i",
            *(f"{k}={v}" for k, v in given.items()),
            "/bin/sh",
            "-c",
            command,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_readme_crontab_works_under_crons_environment(tmp_path, smtp_server):  # noqa: F811
    port, inbox = smtp_server
    home = tmp_path / "home"
    (home / "ar" / "logs").mkdir(parents=True)  # "Create $HOME/ar/logs once."
    installed = os.environ.get("ARLEDGER_CRON_BIN") or str(
        Path(sys.executable).with_name("arledger")
    )
    (home / ".local" / "bin").mkdir(parents=True)
    (home / ".local" / "bin" / "arledger").symlink_to(installed)
    (home / ".arledger-smtp").write_text(
        "export ARLEDGER_SMTP_PASSWORD='s3cret'\n", encoding="utf-8"
    )
    ledger = tmp_path / "ledger"
    shutil.copytree(DEMO, ledger)
    with (ledger / "arledger.yaml").open("a", encoding="utf-8") as settings:
        settings.write(
            f"smtp: {{host: 127.0.0.1, port: {port}, starttls: false, user: ar, "
            "password_env: ARLEDGER_SMTP_PASSWORD}\n"
        )
    env, command = crontab()
    assert "ARLEDGER_DIR" in env
    env["ARLEDGER_DIR"] = str(ledger)  # the README's /home/ar/ledger, here

    first = cron(home, env, command)  # every overdue item is news: cron mails
    assert first.returncode in (0, 1), first.stderr
    assert first.stderr == ""
    assert first.stdout.startswith("arledger: dunning exit 1, export exit 0"), (
        first.stdout
    )
    sent = len(inbox.envelopes)
    assert sent > 0
    [log] = (home / "ar" / "logs").iterdir()
    assert "arledger: attention: newly overdue" in log.read_text(encoding="utf-8")
    [workbook] = (home / "ar").glob("aging-*.xlsx")
    assert workbook.read_bytes().startswith(b"PK")
    assert (home / "ar" / "dunning-state.json").exists()

    again = cron(home, env, command)  # a re-run the same day: quiet, nothing resent
    assert (again.stdout, again.stderr) == ("", "")
    assert len(inbox.envelopes) == sent
    assert f"arledger: wrote {workbook}" in log.read_text(encoding="utf-8")

    # Tomorrow's news, today: an invoice that fell due yesterday.
    with (ledger / "invoices" / "2026.yaml").open("a", encoding="utf-8") as invoices:
        invoices.write(
            "- {id: INV-CRON-1, customer: ACME, date: 2020-01-01, due: 2020-01-31, "
            "amount: 10.00}\n"
        )
    news = cron(home, env, command)
    assert news.stdout.startswith("arledger: dunning exit 1, export exit 0")
    assert "ACME INV-CRON-1" in news.stdout
