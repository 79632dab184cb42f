"""Speed of bringing books in and out (issue 15): `import`, `match`, `journal`.

Prints the median, min and max of several runs of each case, next to its
target, after the match precision and coverage of `benchmarks/match.py` at
the size timed:

- `import` of a 100 000-row QuickBooks-style invoice export (the shape of
  `examples/imports/quickbooks-invoices.csv`: month-first dates, thousands
  separators, Yes/No flags, the settlement on the invoice row) into an empty
  ledger (`init --empty`), each run into a fresh one: target 5 s;
- `match` of a 10 000-line camt.053 statement against the ~100 000 invoices
  of `benchmarks/match.py --customers 22500` (the issue's 100k-invoice
  ledger; the count is printed): target 5 s;
- `journal --format hledger` of a 100 000-invoice ledger of
  `benchmarks/generate.py` (CSV): target 5 s.

Each run is a fresh child process, as a person runs the command (`python -m
arledger`, the report cache off). The machine's load (`os.getloadavg`) is
printed before and after: on a shared machine a busy minute shows in the
maximum and, if it lasts, in the median.

Usage:
    python benchmarks/books.py [--runs 5] [--keep DIR] [--only import,match,journal]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).parent
EXAMPLES = HERE.parent / "examples" / "imports"
CASES = ("import", "match", "journal")
TARGET_SECONDS = 5.0
# benchmarks/match.py makes about 4.5 invoices a customer: ~100 000 invoices.
CUSTOMERS = 22_500
HEADER = [
    "Invoice No",
    "Customer ID",
    "Invoice Date",
    "Due Date",
    "Amount",
    "Currency",
    "Disputed",
    "Paid Date",
    "Memo",
    "Region",
]
MEMOS = ["Pallets", "Racking", "Forklift rental", "Warehouse fit-out", "Freight"]
REGIONS = ["West", "East", "North", "South"]


def write_export(path: Path, rows: int = 100_000, customers: int = 2_000) -> None:
    """A QuickBooks-style invoice list: every third invoice paid (its row has a
    `Paid Date`), amounts with thousands separators, a few disputed."""
    rng = random.Random(15)
    start = date(2025, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            issued = start + timedelta(days=rng.randint(0, 600))
            due = issued + timedelta(days=30)
            cents = rng.randint(5_000, 5_000_000)
            paid = issued + timedelta(days=rng.randint(5, 60)) if n % 3 == 0 else None
            writer.writerow(
                [
                    100_000 + n,
                    f"CUST{rng.randrange(customers):05d}",
                    issued.strftime("%m/%d/%Y"),
                    due.strftime("%m/%d/%Y"),
                    f"{cents // 100:,}.{cents % 100:02d}",
                    "USD",
                    "Yes" if n % 97 == 0 else "No",
                    paid.strftime("%m/%d/%Y") if paid else "",
                    rng.choice(MEMOS),
                    rng.choice(REGIONS),
                ]
            )


def invoices_in(ledger: Path) -> int:
    """The invoices of a ledger benchmarks/match.py wrote (one CSV file)."""
    with (ledger / "invoices.csv").open(encoding="utf-8") as rows:
        return sum(1 for _ in rows) - 1


def arledger(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "arledger", *map(str, args)]


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds of one run, wall clock and CPU (user + system, which other
    people's work on a shared machine does not lengthen); it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)}: exit {done.returncode}\n{done.stderr[-2000:]}"
        )
    return seconds, cpu


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the data here and keep it")
    parser.add_argument("--only", default=",".join(CASES))
    args = parser.parse_args()
    only = [c for c in args.only.split(",") if c]
    unknown = set(only) - set(CASES)
    if unknown:
        parser.error(f"unknown case {sorted(unknown)}; choose from {', '.join(CASES)}")
    root = args.keep or Path(tempfile.mkdtemp(prefix="arledger-books-"))
    root.mkdir(parents=True, exist_ok=True)
    # Import the sibling script for its generator and scoring.
    sys.path.insert(0, str(HERE))
    import match as match_bench  # noqa: PLC0415

    env = {**os.environ, "ARLEDGER_NO_CACHE": "1"}
    env["XDG_CACHE_HOME"] = str(root / "cache")
    commands: dict[str, tuple[str, object]] = {}
    if "import" in only:
        export = root / "export-100k.csv"
        if not export.exists():
            write_export(export)

        def import_once(n: int) -> list[str]:
            ledger = root / f"import-{n}"
            shutil.rmtree(ledger, ignore_errors=True)  # a kept run's ledger
            subprocess.run(arledger("init", ledger, "--empty"), check=True, env=env,
                           capture_output=True)  # fmt: skip
            return arledger(
                "import", export, "--rules",
                EXAMPLES / "quickbooks-invoices.rules.yaml", "--ledger", ledger,
            )  # fmt: skip

        commands["import"] = ("`import` 100 000-row CSV export", import_once)
    statement = None
    if "match" in only:
        data = root / "match"
        statement = match_bench.generate(data, 7, CUSTOMERS, 10_000)
        command = arledger(
            "match", data / "statement.xml", "--ledger", data / "ledger", "-f", "json"
        )
        commands["match"] = (
            f"`match` 10 000 camt.053 lines, {invoices_in(data / 'ledger'):,} invoices",
            lambda _n, c=command: c,
        )
    if "journal" in only:
        ledger = root / "ledger-100k"
        if not ledger.exists():
            subprocess.run(
                [sys.executable, str(HERE / "generate.py"), "--invoices", "100000",
                 "--format", "csv", "--seed", "1", str(ledger)],
                check=True, capture_output=True,
            )  # fmt: skip
        command = arledger("journal", "--format", "hledger", "--ledger", ledger)
        commands["journal"] = (
            "`journal --format hledger` 100 000 invoices",
            lambda _n, c=command: c,
        )

    if statement is not None:
        done = subprocess.run(
            commands["match"][1](0), env=env, capture_output=True, text=True
        )
        result = match_bench.score(statement, json.loads(done.stdout)["rows"])
        print(
            f"match at this size: {result['lines']} lines, {result['matchable']} "
            f"matchable, precision {result['precision']:.1%}, coverage "
            f"{result['coverage']:.1%}, matched + suggested correct "
            f"{result['matched_or_suggested_correct']:.1%}\n"
        )

    print(f"before: {load()}")
    seconds: dict[str, list[tuple[float, float]]] = {case: [] for case in commands}
    for n in range(args.runs):  # the cases alternate, so a busy minute hits all
        for case, (_, make) in commands.items():
            seconds[case].append(run(make(n), env))  # type: ignore[operator]
    print(f"after: {load()}\n")
    print("| case | target | median | min | max | CPU (median) | runs | result |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    ok = True
    for case, (label, _) in commands.items():
        times = [wall for wall, _ in seconds[case]]
        cpu = statistics.median(c for _, c in seconds[case])
        median = statistics.median(times)
        passed = median <= TARGET_SECONDS
        ok = ok and passed
        print(
            f"| {label} | ≤ {TARGET_SECONDS:.0f} s | {median:.2f} s | "
            f"{min(times):.2f} s | {max(times):.2f} s | {cpu:.2f} s | "
            f"{len(times)} | {'PASS' if passed else 'FAIL'} |"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
