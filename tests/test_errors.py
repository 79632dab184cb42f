"""Bad input never yields a traceback (SPEC §4): the catalogue in tests/errors/.

Each directory under tests/errors/ is a tiny ledger with one broken thing and a
file `expected` listing the problems it must report (see tests/errors/README.md):
`PATH:LINE: substring` means some stderr line starts with `PATH:LINE:` and
contains `substring` (case-insensitive).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from arledger.cli import app

ERRORS_DIR = Path(__file__).parent / "errors"
REPO_ROOT = Path(__file__).parent.parent
AS_OF = "2026-10-31"

# `FILE:LINE: message` (a warning is `FILE:LINE: warning: message`).
PROBLEM_LINE = re.compile(r"^[^:\s][^:]*:\d+: \S")
# The closing count: `8 problems`, `arledger: 8 problems in ledger`,
# `arledger: 1 error, 2 warnings`, `Found 3 problems.`
SUMMARY_LINE = re.compile(
    r"^(?:[\w.-]+:\s*)?(?:found\s+)?\d+\s+(?:problem|error|warning)s?\b[^:]*(?::.*)?$",
    re.IGNORECASE,
)
BOX_DRAWING = re.compile("[\u2500-\u257f]")

runner = CliRunner()


@dataclass(frozen=True)
class Expected:
    path: str
    line: int
    substring: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.substring}"

    @property
    def warning(self) -> bool:
        return self.substring.lower().startswith("warning")

    def found_in(self, stderr: str) -> bool:
        prefix = f"{self.path}:{self.line}:"
        return any(
            line.startswith(prefix) and self.substring.lower() in line.lower()
            for line in stderr.splitlines()
        )


def parse_expected(raw: str) -> Expected:
    m = re.fullmatch(r"([^:]+):(\d+):\s?(.*)", raw)
    assert m, f"malformed expected line {raw!r}"
    return Expected(m[1], int(m[2]), m[3].strip())


def read_expected(case: Path) -> list[Expected]:
    expected = []
    for raw in (case / "expected").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        expected.append(parse_expected(raw))
    return expected


def is_exact(case: Path) -> bool:
    """`# exactly` in `expected`: no problem line but the expected ones (a
    problem said once is not said again on every row or record)."""
    return "# exactly" in (case / "expected").read_text(encoding="utf-8").splitlines()


def expected_exit(expected: list[Expected]) -> int:
    """2 if any expected line is an error; 0 for a clean or warnings-only ledger."""
    return 0 if all(e.warning for e in expected) else 2


CASES = sorted(p for p in ERRORS_DIR.iterdir() if (p / "expected").is_file())
CASE_IDS = [p.name for p in CASES]


def nonempty_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def error_lines(stderr: str) -> set[str]:
    """The problem lines that are errors, not warnings."""
    return {
        line
        for line in stderr.splitlines()
        if PROBLEM_LINE.match(line) and not re.match(r"^[^:]+:\d+: warning:", line)
    }


def assert_well_formed(stderr: str, context: str) -> None:
    """Every non-empty stderr line is `FILE:LINE: message` or the closing count."""
    bad = [
        line
        for line in nonempty_lines(stderr)
        if not PROBLEM_LINE.match(line) and not SUMMARY_LINE.match(line.strip())
    ]
    assert not bad, (
        f"{context}: stderr lines not of the form FILE:LINE: ...: {bad}\n{stderr}"
    )


def assert_expected_found(expected: list[Expected], stderr: str, context: str) -> None:
    missing = [str(e) for e in expected if not e.found_in(stderr)]
    assert not missing, f"{context}: not reported: {missing}\n--- stderr:\n{stderr}"


def assert_nothing_else(expected: list[Expected], stderr: str, context: str) -> None:
    """Every problem line on stderr is one of `expected`."""
    others = [
        line
        for line in stderr.splitlines()
        if PROBLEM_LINE.match(line)
        and not any(
            line.startswith(f"{e.path}:{e.line}:")
            and e.substring.lower() in line.lower()
            for e in expected
        )
    ]
    assert not others, f"{context}: unexpected problems: {others}\n{stderr}"


def assert_no_crash(out: str) -> None:
    """No traceback, and not the CLI's last-resort "internal error" either."""
    assert "Traceback" not in out, out
    assert "internal error" not in out.lower(), out


def invoke(args: list[str], **kwargs):
    return runner.invoke(app, args, **kwargs)


def output_of(result) -> str:
    text = (result.stdout or "") + (result.stderr or "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        text += "".join(traceback.format_exception(result.exception))
    return text


# ------------------------------------------------------------------ the catalogue


def test_catalogue_is_there():
    assert len(CASES) >= 30
    for case in CASES:
        assert (case / "customers.yaml").is_file() or (
            case / "customers.csv"
        ).is_file(), case


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_check_reports_every_problem(case: Path):
    expected = read_expected(case)
    result = invoke(["check", "--ledger", str(case)])
    out = output_of(result)
    assert_no_crash(out)
    assert result.exit_code == expected_exit(expected), (
        f"exit {result.exit_code}, expected {expected_exit(expected)}\n{out}"
    )
    assert_expected_found(expected, result.stderr, f"check {case.name}")
    assert_well_formed(result.stderr, f"check {case.name}")
    if is_exact(case):
        assert_nothing_else(expected, result.stderr, f"check {case.name}")
    if expected_exit(expected) == 2:
        assert error_lines(result.stderr), result.stderr


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_aging_refuses_the_same_ledger(case: Path):
    """A report on a broken ledger prints the same problems and no report."""
    expected = read_expected(case)
    result = invoke(["aging", "--ledger", str(case), "--as-of", AS_OF])
    out = output_of(result)
    assert_no_crash(out)
    code = expected_exit(expected)
    assert result.exit_code == code, f"exit {result.exit_code}, expected {code}\n{out}"
    if code == 0:
        assert result.stdout.strip(), "a clean ledger gives a report"
        return
    assert result.stdout == "", (
        f"a report was printed for a broken ledger:\n{result.stdout}"
    )
    assert_expected_found(
        [e for e in expected if not e.warning], result.stderr, f"aging {case.name}"
    )
    assert_well_formed(result.stderr, f"aging {case.name}")
    if is_exact(case):
        assert_nothing_else(expected, result.stderr, f"aging {case.name}")
    check = invoke(["check", "--ledger", str(case)])
    assert error_lines(result.stderr) == error_lines(check.stderr)


def test_many_errors_reports_all_and_counts_them():
    case = ERRORS_DIR / "many_errors"
    expected = read_expected(case)
    assert len(expected) >= 7
    result = invoke(["check", "--ledger", str(case)])
    assert result.exit_code == 2
    assert_expected_found(expected, result.stderr, "many_errors")
    errors = error_lines(result.stderr)
    assert len(errors) >= len(expected)
    assert len({str(Path(e.split(":")[0])) for e in errors}) >= 5, (
        "problems from 5 files"
    )
    for line in nonempty_lines(result.stderr):
        m = SUMMARY_LINE.match(line.strip())
        if m and not PROBLEM_LINE.match(line):
            n = re.search(r"(\d+)\s+(?:problem|error)s?", line, re.IGNORECASE)
            if n:
                assert int(n[1]) == len(errors), (
                    f"summary {line!r} vs {len(errors)} lines"
                )


def test_duplicate_reports_the_second_not_the_first():
    result = invoke(["check", "--ledger", str(ERRORS_DIR / "duplicate_invoice_files")])
    assert result.exit_code == 2
    assert not any(
        line.startswith("invoices/a.yaml:") for line in result.stderr.splitlines()
    )
    result = invoke(["check", "--ledger", str(ERRORS_DIR / "duplicate_customer")])
    assert result.exit_code == 2
    assert not any(
        line.startswith("customers.yaml:1:") for line in result.stderr.splitlines()
    )


def test_problems_are_sorted_by_file_and_line():
    result = invoke(["check", "--ledger", str(ERRORS_DIR / "many_errors")])
    places = []
    for line in result.stderr.splitlines():
        m = re.match(r"^([^:]+):(\d+): ", line)
        if m:
            places.append((m[1], int(m[2])))
    by_file: dict[str, list[int]] = {}
    for path, line in places:
        by_file.setdefault(path, []).append(line)
    for path, lines in by_file.items():
        assert lines == sorted(lines), f"{path}: lines out of order: {lines}"


# ------------------------------------------------------------------- warnings


def test_warning_does_not_fail():
    case = ERRORS_DIR / "warn_overpayment"
    result = invoke(["check", "--ledger", str(case)])
    assert result.exit_code == 0, output_of(result)
    assert re.search(r"^payments\.csv:2: warning: \S", result.stderr, re.MULTILINE), (
        result.stderr
    )
    assert_no_crash(output_of(result))


# ------------------------------------------------------------------ subprocess


def write_valid_ledger(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "customers.yaml").write_text(
        "- id: C1\n  name: Acme Ltd\n  terms: 30\n", encoding="utf-8"
    )
    (root / "invoices.yaml").write_text(
        "- id: I1\n  customer: C1\n  date: 2026-09-01\n  amount: 100.00\n"
        "- id: I2\n  customer: C1\n  date: 2026-09-15\n  amount: 250.50\n",
        encoding="utf-8",
    )
    (root / "payments.csv").write_text(
        "id,customer,date,amount,invoice\nP1,C1,2026-10-01,100.00,I1\n",
        encoding="utf-8",
    )
    return root


def run_cli(*args: str, env_extra: dict[str, str] | None = None):
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("ARLEDGER_DIR", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "arledger", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO_ROOT,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    "name",
    [
        "many_errors",
        "date_impossible",
        "yaml_unclosed_bracket",
        "non_utf8",
        "control_char_csv",
        "yaml_alias_bomb",
        "yaml_unknown_tag",
    ],
)
def test_subprocess_bad_ledger(name: str):
    case = ERRORS_DIR / name
    proc = run_cli("check", "--ledger", str(case))
    assert proc.returncode == 2, proc.stderr
    assert_no_crash(proc.stderr + proc.stdout)
    assert_expected_found(read_expected(case), proc.stderr, f"subprocess {name}")
    assert_well_formed(proc.stderr, f"subprocess {name}")


def test_subprocess_lines_are_not_wrapped_on_a_narrow_terminal():
    """A cron job greps FILE:LINE lines: they must not be wrapped to the width."""
    case = ERRORS_DIR / "duplicate_invoice_files"
    proc = run_cli("check", "--ledger", str(case), env_extra={"COLUMNS": "30"})
    assert proc.returncode == 2
    assert_expected_found(read_expected(case), proc.stderr, "COLUMNS=30")
    assert_well_formed(proc.stderr, "COLUMNS=30")


def test_subprocess_valid_ledger(tmp_path: Path):
    ledger = write_valid_ledger(tmp_path / "ok")
    proc = run_cli("check", "--ledger", str(ledger))
    assert proc.returncode == 0, proc.stderr
    assert_no_crash(proc.stderr)
    proc = run_cli(
        "aging", "--ledger", str(ledger), "--as-of", AS_OF, "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["report"] == "aging"


def test_subprocess_ledger_from_environment(tmp_path: Path):
    ledger = write_valid_ledger(tmp_path / "ok")
    proc = run_cli("check", env_extra={"ARLEDGER_DIR": str(ledger)})
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("check", env_extra={"ARLEDGER_DIR": str(ERRORS_DIR / "many_errors")})
    assert proc.returncode == 2
    assert_no_crash(proc.stderr)


# ---------------------------------------------------------------- bad options


BAD_OPTIONS = {
    "as_of_not_a_date": (["aging", "--as-of", "notadate"], ["notadate"]),
    "format_nope": (["aging", "--as-of", AS_OF, "--format", "nope"], ["nope"]),
    "buckets_not_numbers": (
        ["aging", "--as-of", AS_OF, "--buckets", "30,x"],
        ["30,x", "'x'", "bucket"],
    ),
    "buckets_decreasing": (
        ["aging", "--as-of", AS_OF, "--buckets", "60,30"],
        ["60", "bucket"],
    ),
}


def assert_one_line_reason(result, hints: list[str]) -> None:
    out = output_of(result)
    assert result.exit_code == 2, f"exit {result.exit_code}\n{out}"
    assert_no_crash(out)
    assert result.stdout == "", result.stdout
    assert not BOX_DRAWING.search(result.stderr), (
        f"box drawing off a terminal:\n{result.stderr}"
    )
    # Click's own "Usage: ..." / "Try '... --help'" lines may frame the reason.
    reason = [
        line
        for line in nonempty_lines(result.stderr)
        if not line.startswith("Usage:") and not line.startswith("Try ")
    ]
    assert len(reason) == 1, f"want a one-line reason, got:\n{result.stderr}"
    assert any(h.lower() in reason[0].lower() for h in hints), (
        f"reason {reason[0]!r} names none of {hints}"
    )


@pytest.mark.parametrize("name", list(BAD_OPTIONS))
def test_bad_option(name: str, tmp_path: Path):
    args, hints = BAD_OPTIONS[name]
    ledger = write_valid_ledger(tmp_path / "ok")
    result = invoke([*args, "--ledger", str(ledger)])
    assert_one_line_reason(result, hints)


@pytest.mark.parametrize(
    "command", [["check"], ["aging", "--as-of", AS_OF]], ids=["check", "aging"]
)
def test_ledger_does_not_exist(command: list[str]):
    result = invoke([*command, "--ledger", "/does/not/exist"])
    assert_one_line_reason(result, ["/does/not/exist"])


def test_ledger_dir_env_does_not_exist():
    result = invoke(["check"], env={"ARLEDGER_DIR": "/does/not/exist"})
    assert_one_line_reason(result, ["/does/not/exist"])


# ------------------------------------------- bad input made here (SPEC §4)
# Cases the catalogue cannot hold as files: symlinks, pipes, megabytes.

CUSTOMERS = "- id: C1\n  name: Acme Ltd\n"
INVOICE = "- id: I1\n  customer: C1\n  date: 2026-09-01\n  amount: 100.00\n"
REFUSING = [["check"], ["aging", "--as-of", AS_OF]]


def small_ledger(root: Path, **files: str | bytes) -> Path:
    """customers.yaml and `files` (name -> text or bytes) under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "customers.yaml").write_text(CUSTOMERS, encoding="utf-8")
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return root


def assert_refused(ledger: Path, *expected: str) -> None:
    """`check` and a report both exit 2 with exactly these problems (each
    `PATH:LINE: substring`), well formed, and no traceback."""
    wanted = [parse_expected(line) for line in expected]
    for args in REFUSING:
        result = invoke([*args, "--ledger", str(ledger)])
        context = f"{args[0]} {ledger.name}"
        assert_no_crash(output_of(result))
        assert result.exit_code == 2, f"{context}: exit {result.exit_code}"
        assert result.stdout == "", result.stdout
        assert_expected_found(wanted, result.stderr, context)
        assert_nothing_else(wanted, result.stderr, context)
        assert_well_formed(result.stderr, context)


def assert_refused_by_a_process(ledger: Path, *expected: str) -> None:
    """The same through a real process: a crash (a C stack overflow, a
    RecursionError) cannot hide in the test runner."""
    wanted = [parse_expected(line) for line in expected]
    for args in REFUSING:
        proc = run_cli(*args, "--ledger", str(ledger))
        context = f"{args[0]} {ledger.name}"
        assert_no_crash(proc.stderr + proc.stdout)
        assert proc.returncode == 2, f"{context}: exit {proc.returncode}\n{proc.stderr}"
        assert_expected_found(wanted, proc.stderr, context)
        assert_nothing_else(wanted, proc.stderr, context)


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_symlink_loop_and_dangling_symlink_name_the_file(tmp_path: Path):
    ledger = small_ledger(tmp_path / "links")
    (ledger / "invoices.yaml").symlink_to("invoices.yaml")
    (ledger / "payments.csv").symlink_to("exported/payments.csv")
    (ledger / "adjustments").symlink_to("adjustments")  # a kind folder's loop
    (ledger / "contacts").mkdir()
    (ledger / "contacts" / "2026.yaml").symlink_to("../nowhere.yaml")
    assert_refused(
        ledger,
        "invoices.yaml:1: symlink loop",
        "payments.csv:1: a symlink to 'exported/payments.csv', which does not exist",
        "adjustments:1: symlink loop",
        "contacts/2026.yaml:1: a symlink to '../nowhere.yaml', which does not exist",
    )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_named_like_a_record_file_is_refused_not_read(tmp_path: Path):
    ledger = small_ledger(tmp_path / "pipe", **{"invoices.yaml": INVOICE})
    os.mkfifo(ledger / "payments.csv")  # reading it would wait for ever
    assert_refused(ledger, "payments.csv:1: not a regular file")


@pytest.mark.parametrize("name", ["invoices.yaml", "payments.csv"])
def test_a_five_megabyte_line_is_refused_at_its_line(tmp_path: Path, name: str):
    if name.endswith(".yaml"):
        text = INVOICE + "  description: " + "x" * 5_000_000 + "\n"
        line = 5
    else:
        text = "customer,date,amount,reference\nC1,2026-10-01,5.00,ok\n"
        text += "C1,2026-10-02,5.00," + "x" * 5_000_000 + "\n"
        line = 3
    ledger = small_ledger(tmp_path / "long", **{name: text})
    assert_refused(ledger, f"{name}:{line}: lines longer than 131,072 bytes")


DEEP = 100_000


@pytest.mark.parametrize(
    ("shape", "text", "line"),
    [
        # on one line, the line is too long before the nesting is seen
        ("flow-one-line", "- id: I1\n  x: " + "[" * DEEP + "]" * DEEP + "\n", 2),
        ("block-one-line", "- " * DEEP + "x\n", 1),
        # within the line limit the YAML parser stops at its own, 1000 levels
        ("flow-lines", "- id: I1\n  x:\n" + "   [\n" * DEEP + "   ]\n" * DEEP, 1001),
        ("block-short-line", "- " * 60_000 + "x\n", 1),
        # (block nesting over many lines grows as the square of its depth:
        # 100,000 levels would be a 10 GB file)
    ],
)
def test_nesting_a_hundred_thousand_deep_is_refused_not_a_crash(
    tmp_path: Path, shape: str, text: str, line: int
):
    ledger = small_ledger(tmp_path / shape, **{"invoices.yaml": text})
    assert_refused_by_a_process(ledger, f"invoices.yaml:{line}:")


def test_nesting_past_what_a_record_needs_is_refused(tmp_path: Path):
    """Deep enough to be parsed (under the parser's 1000), too deep to walk."""
    text = INVOICE + "  description: " + "[" * 500 + "]" * 500 + "\n"
    ledger = small_ledger(tmp_path / "deep", **{"invoices.yaml": text})
    assert_refused(ledger, "invoices.yaml:5: nested more than 32 levels deep")


def test_an_alias_bomb_in_settings_is_refused(tmp_path: Path):
    text = "company: {name: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]}\n"
    for name, prev in zip("bcdefghij", "abcdefghi", strict=True):
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
    ledger = small_ledger(tmp_path / "bomb", **{"arledger.yaml": text})
    assert_refused(ledger, "arledger.yaml:6: alias bomb")


def test_control_characters_past_ten_lines_are_summed_up(tmp_path: Path):
    rows = "".join(f"I{n},C1,2026-09-01,1.00,a\x07b\n" for n in range(2, 30))
    text = "id,customer,date,amount,description\nI1,C1,2026-09-01,1.00,ok\n" + rows
    ledger = small_ledger(tmp_path / "bells", **{"invoices.csv": text})
    expected = [f"invoices.csv:{n}: control character U+0007" for n in range(3, 13)]
    assert_refused(ledger, *expected, "invoices.csv:12: and on more lines below")


def test_c1_control_characters_are_refused(tmp_path: Path):
    text = INVOICE + "  description: next\u0085line\n"
    ledger = small_ledger(tmp_path / "c1", **{"invoices.yaml": text})
    assert_refused(ledger, "invoices.yaml:5: control character U+0085")


def test_a_directory_without_ledger_files_is_not_a_ledger(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("not a ledger\n", encoding="utf-8")
    for args in REFUSING:
        result = invoke([*args, "--ledger", str(tmp_path)])
        assert_one_line_reason(result, ["is not a ledger"])


def test_a_ledger_of_settings_only_is_valid(tmp_path: Path):
    """SPEC §5: `init --empty` makes settings only, ready to import into; only
    a folder of a kind without a record file is refused."""
    (tmp_path / "arledger.yaml").write_text("currency: EUR\n", encoding="utf-8")
    result = invoke(["check", "--ledger", str(tmp_path)])
    assert result.exit_code == 0, output_of(result)
    (tmp_path / "invoices").mkdir()
    assert_refused(tmp_path, "invoices:1: a folder of invoices without a record file")


def test_a_header_only_file_lacking_required_columns_holds_no_records(tmp_path: Path):
    """SPEC §4: a header-only file means no records; missing columns matter
    once a row needs them (csv_missing_column)."""
    ledger = small_ledger(tmp_path / "header", **{"payments.csv": "reference\n\n"})
    result = invoke(["check", "--ledger", str(ledger)])
    assert result.exit_code == 0, output_of(result)


def test_a_short_row_does_not_cascade_into_unknown_invoices(tmp_path: Path):
    invoices = "id,customer,date,amount,description\nI1,C1,2026-09-01,100.00\n"
    payments = "customer,date,amount,invoice\nC1,2026-10-01,100.00,I1\n"
    ledger = small_ledger(
        tmp_path / "short", **{"invoices.csv": invoices, "payments.csv": payments}
    )
    assert_refused(ledger, "invoices.csv:2: row has 4 cells but the header has 5")


def test_non_characters_yaml_refuses_are_refused_everywhere(tmp_path: Path):
    """U+FFFE: the fast YAML reader would take it, PyYAML not; refused first."""
    text = INVOICE + "  description: odd\ufffeone\n"
    csv_text = "id,customer,date,amount\nI2,C1,2026-09-01,1.00\nI3,C1,x\uffff,1\n"
    ledger = small_ledger(
        tmp_path / "odd", **{"invoices.yaml": text, "invoices/more.csv": csv_text}
    )
    assert_refused(
        ledger,
        "invoices.yaml:5: character U+FFFE is not allowed",
        "invoices/more.csv:3: character U+FFFF is not allowed",
    )
