"""Benchmarks of issue 12: time every arledger command on generated ledgers.

Generates 100k / 1M-invoice ledgers once (cached under `benchmarks/data/`,
git-ignored, or `--data DIR`, keyed by format, size, seed and generator version),
with an hledger journal of the same events, then times each command over
several runs in a child process: the median, min and max wall time, the median
CPU time and the child's peak RSS (from `os.wait4`, so each run is measured on
its own), with the target of each case and PASS/FAIL. Ratios are of medians
taken in the same run: at a size, the runs of `hledger -f J bal` and of every
command alternate, so that the load of a shared machine hits them alike.

"Cold" runs get a fresh, empty `XDG_CACHE_HOME` and `ARLEDGER_NO_CACHE=1`, so no
report cache can help; "warm" runs share one `XDG_CACHE_HOME`, primed by an
untimed run, with nothing changed in the ledger since (for information). The OS
page cache is not dropped: "cold" means no report cache, not a cold disk.

Usage:
    python benchmarks/run.py --quick                 # 100k only, 3 runs
    python benchmarks/run.py --runs 3 --runs-1m 1    # 100k and 1M
    python benchmarks/run.py --sizes 100k --commands aging,overdue --skip yaml
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

sys.dont_write_bytecode = True  # keep benchmarks/ free of __pycache__
import generate  # noqa: E402  (benchmarks/generate.py, beside this script)

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
DEFAULT_DATA = BENCHMARKS / "data"
DEMO = REPO / "examples" / "demo"
DEMO_AS_OF = "2026-10-31"
AS_OF = generate.AS_OF
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
YAML_SIZES = ("10k", "100k")  # YAML has a target at 100k; 1M YAML is not timed
STARTUP_MIN_RUNS = 10
SKIPPABLE = ("startup", "warm", "yaml")
GIB = 1024  # MiB

ARLEDGER = [sys.executable, "-m", "arledger"]
IMPORT_BASELINE = [sys.executable, "-c", "import typer, rich, pydantic"]


# ---------------------------------------------------------------- data sets


@dataclass(frozen=True)
class Dataset:
    """A generated ledger: its size, format and seed decide its content."""

    size: str  # a key of SIZES
    fmt: str  # csv | yaml
    seed: int

    @property
    def key(self) -> str:
        return f"{self.fmt}-{self.size}-seed{self.seed}-v{generate.GENERATOR_VERSION}"

    def path(self, data: Path) -> Path:
        return data / self.key

    def journal(self, data: Path) -> Path:
        return data / f"{self.key}.journal"


@dataclass
class Generated:
    """What `ensure_dataset` found or made: the manifest and whether it was cached."""

    dataset: Dataset
    manifest: dict[str, object]
    cached: bool


def _generator_command(ds: Dataset, outdir: Path, journal: Path | None) -> list[str]:
    command = [
        sys.executable,
        str(BENCHMARKS / "generate.py"),
        "--invoices",
        str(SIZES[ds.size]),
        "--format",
        ds.fmt,
        "--seed",
        str(ds.seed),
        str(outdir),
    ]
    if journal is not None:
        command += ["--journal", str(journal)]
    return command


def ensure_dataset(ds: Dataset, data: Path, journal: bool = False) -> Generated:
    """Generate `ds` under `data` unless a complete copy is there already.

    A ledger is complete when its manifest exists: the generator writes into a
    temp dir that is renamed into place only when it is done.
    """
    final = ds.path(data)
    manifest_path = final / generate.MANIFEST
    cached = manifest_path.is_file()
    if not cached:
        data.mkdir(parents=True, exist_ok=True)
        scratch = data / f".{ds.key}.tmp-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        wanted = ds.journal(data) if journal else None
        log(f"generating {ds.key} ...")
        subprocess.run(_generator_command(ds, scratch, wanted), check=True)
        shutil.rmtree(final, ignore_errors=True)
        scratch.rename(final)
    elif journal and not ds.journal(data).is_file():
        _generate_journal_only(ds, data)
    manifest = json.loads(manifest_path.read_text())
    return Generated(ds, manifest, cached)


def _generate_journal_only(ds: Dataset, data: Path) -> None:
    """The same seed draws the same events: regenerate, keep only the journal."""
    log(f"generating the hledger journal of {ds.key} ...")
    with tempfile.TemporaryDirectory(prefix="arledger-gen-") as scratch:
        partial = ds.journal(data).with_suffix(".journal.tmp")
        command = _generator_command(ds, Path(scratch) / "ledger", partial)
        subprocess.run(command, check=True)
        partial.rename(ds.journal(data))


def tree_size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


# ---------------------------------------------------------------- measuring


@dataclass
class Run:
    """One timed child process."""

    seconds: float
    cpu_seconds: float
    max_rss_mib: float
    returncode: int
    timed_out: bool


def run_once(
    command: Sequence[str],
    env: dict[str, str],
    timeout: float,
    stdout: Path,
    stderr: Path,
    max_mem_mib: float | None = None,
) -> Run:
    """Run `command` once; wall time, CPU time and peak RSS of that child alone.

    `os.wait4` gives the rusage of this one child (and of the grandchildren it
    waited for), unlike RUSAGE_CHILDREN, whose ru_maxrss is a maximum over every
    child so far. `max_mem_mib` caps the child's heap (RLIMIT_DATA), so that a
    run that balloons (hledger at 1M) fails instead of starving a shared machine.
    """
    expired = threading.Event()

    def limit_memory() -> None:
        if max_mem_mib:
            cap = int(max_mem_mib * 2**20)
            resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))

    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out, stderr=err, env=env, preexec_fn=limit_memory
        )

        def kill() -> None:
            expired.set()
            process.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        seconds=elapsed,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        returncode=process.returncode,
        timed_out=expired.is_set(),
    )


@dataclass
class Target:
    rank: int  # the row's place in the table (the order)
    seconds: float | None = None
    rss_mib: float | None = None
    ratio: float | None = None  # of the row's median to its baseline's
    of: str = ""  # what the ratio is to

    def __str__(self) -> str:
        parts = []
        if self.ratio is not None:
            parts.append(f"≤ {self.ratio:.2f}× {self.of}")
        if self.seconds is not None:
            parts.append(f"≤ {self.seconds:g} s")
        if self.rss_mib is not None:
            parts.append(f"≤ {self.rss_mib / GIB:g} GiB")
        return ", ".join(parts) or "—"


@dataclass
class Result:
    """A row of the table: a measured case, or a summary of other rows."""

    name: str
    target: Target | None
    runs: list[Run] = field(default_factory=list)
    baseline: Result | None = None  # the ratio is median / baseline's median
    summary_rss: float | None = None  # a summary row: the peak RSS of others
    note: str = ""
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    @property
    def peak_rss(self) -> float:
        if self.summary_rss is not None:
            return self.summary_rss
        return max(r.max_rss_mib for r in self.runs)

    @property
    def ratio(self) -> float | None:
        base = self.baseline
        if base is None or base.error or not base.runs or not self.runs:
            return None
        return self.median / base.median

    @property
    def cpu_ratio(self) -> float | None:
        """The same ratio in CPU time: steadier than wall time on a busy machine."""
        base = self.baseline
        if self.ratio is None or base is None or not base.cpu:
            return None
        return self.cpu / base.cpu

    def verdict(self) -> str:
        if "timed out" in self.error or "memory cap" in self.error:
            return f"**FAIL** ({self.error})"
        if self.error:
            return f"ERROR: {self.error}"
        note = f" {self.note}" if self.note else ""
        if self.target is None:
            return "info" + note
        t = self.target
        misses = []
        if t.ratio is not None:
            if self.ratio is None:
                return f"SKIP: no `{t.of}` timing to compare with"
            if self.ratio > t.ratio:
                misses.append(f"{self.ratio / t.ratio:.1f}× over")
        if t.seconds is not None and self.runs and self.median > t.seconds:
            misses.append(f"time {self.median / t.seconds:.1f}× target")
        has_rss = self.runs or self.summary_rss is not None
        if t.rss_mib is not None and has_rss and self.peak_rss > t.rss_mib:
            misses.append(f"RSS {self.peak_rss / t.rss_mib:.1f}× target")
        return (f"**FAIL** ({', '.join(misses)})" if misses else "PASS") + note


# What a case checks after each run: (problem or "", note for the table).
Verify = Callable[[Path, Path], tuple[str, str]]


@dataclass
class Case:
    """What to time: `command(out)` is given a fresh, empty directory per run."""

    name: str
    target: Target | None
    command: Callable[[Path], list[str]]
    verify: Verify
    warm: bool = False  # share a primed report cache instead of none


class Bench:
    """Runs the cases and collects their results, sharing one scratch dir."""

    def __init__(
        self, runs: int, timeout: float, max_mem_mib: float, scratch: Path
    ) -> None:
        self.runs = runs
        self.timeout = timeout
        self.max_mem_mib = max_mem_mib
        self.scratch = scratch
        self.results: list[Result] = []
        self._serial = 0

    def env(self, cache_home: Path, cold: bool) -> dict[str, str]:
        env = dict(os.environ, XDG_CACHE_HOME=str(cache_home), NO_COLOR="1")
        env.pop("ARLEDGER_NO_CACHE", None)
        env.pop("ARLEDGER_DIR", None)
        if cold:
            env["ARLEDGER_NO_CACHE"] = "1"
        return env

    def add(self, result: Result) -> Result:
        self.results.append(result)
        return result

    def measure(self, cases: list[Case], runs: int) -> list[Result]:
        """Time `cases` `runs` times each, alternating: case 1, 2, ..., 1, 2, ...

        Alternating spreads a shared machine's swings over every case alike,
        so the ratios of their medians hold better than the times themselves.
        A case that fails is dropped from the rounds; the others go on.
        """
        results = [self.add(Result(case.name, case.target)) for case in cases]
        rounds = list(zip(cases, results, strict=True))
        shared = {n: self._new_dir("cache") for n, c in enumerate(cases) if c.warm}
        for n, cache in shared.items():  # prime the report cache: time repeats
            log(f"{cases[n].name}: priming run")
            self._time(cases[n], results[n], self.env(cache, cold=False), False)
        for run_number in range(1, runs + 1):
            for n, (case, result) in enumerate(rounds):
                if result.error:
                    continue
                cache = shared.get(n) or self._new_dir("cache")
                self._time(case, result, self.env(cache, cold=not case.warm))
                if not case.warm:
                    shutil.rmtree(cache, ignore_errors=True)
                done = f"{case.name}: run {run_number}/{runs}"
                if result.error:
                    log(f"{done}: {result.error}")
                else:
                    last = result.runs[-1]
                    log(f"{done}: {last.seconds:.2f} s, {last.max_rss_mib:,.0f} MiB")
        for cache in shared.values():
            shutil.rmtree(cache, ignore_errors=True)
        return results

    def _time(
        self, case: Case, result: Result, env: dict[str, str], record: bool = True
    ) -> None:
        out = self._new_dir("out")
        run = run_once(
            case.command(out),
            env,
            self.timeout,
            self._stdout,
            self._stderr,
            self.max_mem_mib,
        )
        if run.returncode != 0 or run.timed_out:
            result.error = self._failure(run)
            if run.timed_out:
                result.runs.append(run)
        else:
            problem, note = case.verify(out, self._stdout)
            if problem:
                result.error = problem
            elif record:
                result.runs.append(run)
                result.note = note
        shutil.rmtree(out, ignore_errors=True)

    def _new_dir(self, prefix: str) -> Path:
        self._serial += 1
        path = self.scratch / f"{prefix}-{self._serial}"
        path.mkdir()
        return path

    @property
    def _stdout(self) -> Path:
        return self.scratch / "stdout"

    @property
    def _stderr(self) -> Path:
        return self.scratch / "stderr"

    def _failure(self, run: Run) -> str:
        if run.timed_out:
            return f"timed out after {self.timeout:g} s"
        text = self._stderr.read_text(errors="replace").strip()
        if "MemoryError" in text or "out of memory" in text or run.returncode == -6:
            return (
                f"exit {run.returncode}: over the memory cap of "
                f"{self.max_mem_mib / GIB:g} GiB (--max-mem)"
            )
        if run.returncode == -9:  # SIGKILL, and not from our timer
            return "killed (SIGKILL: the kernel's OOM killer, if memory ran out)"
        tail = text.splitlines()[-3:]
        return f"exit {run.returncode}: {' / '.join(tail)[:300]}"


# ---------------------------------------------------------------- what is checked


def printed(_out: Path, stdout: Path) -> tuple[str, str]:
    """A report (or hledger's balance) was printed."""
    if stdout.stat().st_size == 0:
        return "nothing on stdout", ""
    return "", ""


def workbook_written(out: Path, _stdout: Path) -> tuple[str, str]:
    book = out / WORKBOOK
    if not book.is_file() or not book.read_bytes()[:2] == b"PK":
        return f"no xlsx workbook at {book.name}", ""
    return "", f"({book.stat().st_size / 2**20:.1f} MiB xlsx)"


def letters_written(out: Path, _stdout: Path) -> tuple[str, str]:
    letters = [p for p in (out / LETTERS).glob("*") if p.is_file()]
    if not letters:
        return "no letter written", ""
    return "", f"({len(letters):,} letters)"


# ---------------------------------------------------------------- the commands

WORKBOOK = "report.xlsx"
LETTERS = "letters"


@dataclass(frozen=True)
class Ledger:
    """A generated ledger as the commands see it."""

    path: Path
    biggest: str  # the customer with the most invoices, for `statement`


@dataclass(frozen=True)
class Command:
    """An arledger command line to time; `key` is its name for `--commands`."""

    key: str
    label: str
    words: tuple[str, ...]
    report: bool = True  # one of issue 12's "report commands"
    writes: str = ""  # WORKBOOK or LETTERS: a file it writes, given as an argument

    def argv(self, ledger: Ledger, out: Path) -> list[str]:
        words = [ledger.biggest if w == "BIGGEST" else w for w in self.words]
        if self.writes == WORKBOOK:
            words.append(str(out / WORKBOOK))
        elif self.writes == LETTERS:
            words += ["--out", str(out / LETTERS)]
        # Every command as of the day after the last record, `check` too:
        # as of today its lint would warn of every record dated after today,
        # more of them the earlier in the year it runs.
        options = ["--ledger", str(ledger.path), "--as-of", AS_OF]
        return [*ARLEDGER, *words, *options]

    @property
    def verify(self) -> Verify:
        if self.writes == WORKBOOK:
            return workbook_written
        if self.writes == LETTERS:
            return letters_written
        return printed


# Every command of issue 12's table, as a person runs it: the default output
# (a plain-text table, as in a pipe or under cron) written to a file.
COMMANDS = (
    Command("check", "`check`", ("check",)),
    Command("aging", "`aging`", ("aging",)),
    Command("aging-detail", "`aging --detail`", ("aging", "--detail")),
    Command("overdue", "`overdue`", ("overdue",)),
    Command("collection", "`collection`", ("collection",)),
    Command(
        "collection-month",
        "`collection --by month --period 2026`",
        ("collection", "--by", "month", "--period", "2026"),
    ),
    Command("risk", "`risk`", ("risk",)),
    Command("forecast", "`forecast`", ("forecast",)),
    Command("statement", "`statement BIGGEST`", ("statement", "BIGGEST")),
    Command("dunning", "`dunning` (summary)", ("dunning",)),
    Command("export", "`export FILE.xlsx`", ("export",), report=False, writes=WORKBOOK),
    Command(
        "dunning-out",
        "`dunning --out DIR`",
        ("dunning",),
        report=False,
        writes=LETTERS,
    ),
)
BY_KEY = {c.key: c for c in COMMANDS}


# ---------------------------------------------------------------- the targets

# Issue 12's table of targets, in its order.
REPORT_VS_HLEDGER = Target(1, ratio=0.10, of="hledger")  # 100k CSV, cold
EXPORT_VS_HLEDGER = Target(2, ratio=0.3, of="hledger")  # 100k CSV, cold
REPORT_1M = Target(3, seconds=10, rss_mib=1.5 * GIB)
AGING_1M = Target(3, seconds=2, rss_mib=1.5 * GIB)
WRITER_1M = Target(4, seconds=30, rss_mib=1.5 * GIB)  # export, dunning --out
PEAK_1M = Target(5, rss_mib=1.5 * GIB)
REPORT_YAML_100K = Target(6, seconds=3)
STARTUP = Target(7, ratio=1.5, of="imports")


def target_of(command: Command, size: str, fmt: str) -> Target | None:
    """The issue's target for `command` on a ledger of that size and format."""
    if fmt == "yaml":
        return REPORT_YAML_100K if size == "100k" and command.report else None
    if size == "100k":
        if command.report:
            return REPORT_VS_HLEDGER
        return EXPORT_VS_HLEDGER if command.key == "export" else None
    if size == "1m":
        if command.key == "aging":
            return AGING_1M
        return REPORT_1M if command.report else WRITER_1M
    return None


def size_label(size: str) -> str:
    return {"10k": "10k", "100k": "100k", "1m": "1M"}[size]


def bench_size(
    bench: Bench,
    args: argparse.Namespace,
    generated: dict[Dataset, Generated],
    size: str,
    fmt: str,
    hledger: bool,
) -> None:
    """Every chosen command on one ledger, cold, alternating with hledger (CSV)."""
    ds = Dataset(size, fmt, args.seed)
    ledger = Ledger(ds.path(args.data), str(generated[ds].manifest["top_customer"]))
    runs = args.runs_1m if size == "1m" else args.runs
    where = f"{size_label(size)} {fmt.upper()}"
    chosen = [c for c in args.commands if fmt == "csv" or c.report]
    cases = [
        Case(
            f"{command.label}, {where}, cold",
            target_of(command, size, fmt),
            lambda out, command=command: command.argv(ledger, out),
            command.verify,
        )
        for command in chosen
    ]
    if hledger and fmt == "csv":
        journal = ds.journal(args.data)
        cases.insert(
            0,
            Case(
                f"`hledger -f J bal`, {size_label(size)} (the same events)",
                None,
                lambda _out: ["hledger", "-f", str(journal), "bal"],
                printed,
            ),
        )
    results = bench.measure(cases, runs)
    if hledger and fmt == "csv":
        for result in results[1:]:
            result.baseline = results[0]
    if size == "1m" and fmt == "csv":
        add_peak(bench, results[1:] if hledger else results)
    aging = BY_KEY["aging"]
    if fmt == "csv" and aging in args.commands and "warm" not in args.skip:
        warm = Case(
            f"`aging`, {where}, warm (report cache, a repeat)",
            None,
            lambda out: aging.argv(ledger, out),
            printed,
            warm=True,
        )
        bench.measure([warm], runs)


def add_peak(bench: Bench, results: list[Result]) -> None:
    """The highest peak RSS of any arledger command at 1M, and whose it is."""
    measured = [r for r in results if r.runs]
    if measured:
        top = max(measured, key=lambda r: r.peak_rss)
        bench.add(
            Result(
                "peak RSS, any command at 1M",
                PEAK_1M,
                summary_rss=top.peak_rss,
                note=f"({top.name.split(',')[0]})",
            )
        )


def bench_startup(bench: Bench) -> None:
    """`arledger aging` on the demo, cold and cached, vs importing the libraries.

    The target row is cold (`ARLEDGER_NO_CACHE=1`): loading and reporting the
    demo with every import it needs; the cached row (a repeat, answered from
    the report cache) is for information.
    """
    demo = [*ARLEDGER, "aging", "--ledger", str(DEMO), "--as-of", DEMO_AS_OF]
    cases = [
        Case(
            "demo `aging`, cold (`ARLEDGER_NO_CACHE=1`)",
            STARTUP,
            lambda _out: demo,
            printed,
        ),
        Case(
            "demo `aging`, report cache on (a repeat)",
            None,
            lambda _out: demo,
            printed,
            warm=True,
        ),
        Case(
            '`python -c "import typer, rich, pydantic"`',
            None,
            lambda _out: IMPORT_BASELINE,
            lambda _out, _stdout: ("", ""),
        ),
    ]
    cold, cached, imports = bench.measure(cases, max(bench.runs, STARTUP_MIN_RUNS))
    cold.baseline = cached.baseline = imports


# ---------------------------------------------------------------- output


def fmt_seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def table(results: list[Result]) -> str:
    """The results as a Markdown table: rows with a target first, in the issue's
    order, then the rows for information."""
    lines = [
        "| case | target | median | min | max | CPU | peak RSS | runs | ratio "
        "| CPU ratio | result |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    targeted = sorted((r for r in results if r.target), key=lambda r: r.target.rank)
    ordered = targeted + [r for r in results if not r.target]
    for r in ordered:
        target = str(r.target) if r.target else "—"
        cells = [""] * 6
        if r.runs:
            cells = [
                fmt_seconds(r.median),
                fmt_seconds(min(x.seconds for x in r.runs)),
                fmt_seconds(max(x.seconds for x in r.runs)),
                fmt_seconds(r.cpu),
                f"{r.peak_rss:,.0f} MiB",
                str(len(r.runs)),
            ]
        elif r.summary_rss is not None:
            cells[4] = f"{r.peak_rss:,.0f} MiB"
        ratios = [f"{x:.2f}×" if x is not None else "" for x in (r.ratio, r.cpu_ratio)]
        cells += ratios
        lines.append(f"| {r.name} | {target} | {' | '.join(cells)} | {r.verdict()} |")
    return "\n".join(lines)


def datasets_table(generated: list[Generated], data: Path) -> str:
    lines = [
        "| data set | customers | invoices | payments | adjustments | biggest "
        "customer | size | generated in |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for g in generated:
        m = g.manifest
        cached = " (cached)" if g.cached else ""
        lines.append(
            f"| {g.dataset.key} | {m['customers']:,} | {m['invoices']:,} | "
            f"{m['payments']:,} | {m['adjustments']:,} | "
            f"{m['top_customer']} ({m['top_customer_invoices']:,} invoices) | "
            f"{tree_size_mib(g.dataset.path(data)):,.0f} MiB | "
            f"{m['seconds']:.1f} s{cached} |"
        )
    return "\n".join(lines)


def code_fingerprint() -> str:
    """A hash of the arledger sources measured (the checkout may hold edits)."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "arledger").rglob("*")):
        if path.is_file() and path.suffix != ".pyc":
            digest.update(path.relative_to(REPO).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def machine() -> str:
    """One line on what was measured where."""
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) / 2**20
        memory = f"{mem:.0f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "? GiB"
    rev = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "diff", "--quiet", "HEAD", "--", "arledger"],
        capture_output=True,
    ).returncode
    version = subprocess.run(
        [*ARLEDGER, "--version"], capture_output=True, text=True
    ).stdout.strip()
    hledger = subprocess.run(
        ["hledger", "--version"], capture_output=True, text=True
    ).stdout.split(",")[0] if shutil.which("hledger") else "no hledger"  # fmt: skip
    return (
        f"{datetime.now():%Y-%m-%d %H:%M}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {memory}, Python {platform.python_version()}, "
        f"{version or 'arledger ?'} (git {rev or '?'}"
        f"{', arledger/ modified' if dirty else ''}, sources {code_fingerprint()}), "
        f"{hledger}"
    )


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="100k,1m",
        help="comma-separated sizes from 10k, 100k, 1m (default: 100k,1m)",
    )
    parser.add_argument(
        "--commands",
        default="all",
        help=f"comma-separated commands to time (default: all): {', '.join(BY_KEY)}",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case")
    parser.add_argument(
        "--runs-1m",
        type=int,
        help="timed runs of the 1M cases (default: --runs); they take minutes",
    )
    parser.add_argument("--quick", action="store_true", help="100k only, 3 runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help=f"where generated ledgers are cached (default {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time `hledger -f J bal` on the same events, the baseline of the "
        "ratio targets (default: on, when hledger is installed)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds before a run is killed"
    )
    parser.add_argument(
        "--max-mem",
        type=float,
        default=16,
        metavar="GIB",
        # hledger 1.25 (Debian) peaks at ~12.5 GiB at 1M: under 16, on 24 GiB.
        help="heap cap of each child (RLIMIT_DATA), default 16 GiB",
    )
    parser.add_argument(
        "--skip",
        default="",
        help=f"comma-separated cases to leave out: {', '.join(SKIPPABLE)}",
    )
    parser.add_argument("--output", type=Path, help="also write the Markdown here")
    parser.add_argument("--json", type=Path, help="write the raw results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = "100k", 3
    args.runs_1m = args.runs_1m or args.runs
    args.sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r}; choose from {', '.join(SIZES)}")
    args.sizes = sorted(set(args.sizes), key=list(SIZES).index)
    keys = [k.strip() for k in args.commands.split(",") if k.strip()]
    if keys == ["all"]:
        keys = list(BY_KEY)
    unknown = [k for k in keys if k not in BY_KEY]
    if unknown:
        parser.error(f"--commands: unknown {unknown[0]!r}; choose from all, "
                     f"{', '.join(BY_KEY)}")  # fmt: skip
    args.commands = [c for c in COMMANDS if c.key in keys]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.skip - set(SKIPPABLE):
        parser.error(f"--skip: choose from {', '.join(SKIPPABLE)}")
    return args


def prepare(args: argparse.Namespace, hledger: bool) -> dict[Dataset, Generated]:
    """Generate (or find cached) every data set the chosen cases need."""
    wanted = []
    for size in args.sizes:
        wanted.append((Dataset(size, "csv", args.seed), hledger))
        if yaml_wanted(args, size):
            wanted.append((Dataset(size, "yaml", args.seed), False))
    return {ds: ensure_dataset(ds, args.data, journal) for ds, journal in wanted}


def yaml_wanted(args: argparse.Namespace, size: str) -> bool:
    return (
        size in YAML_SIZES
        and "yaml" not in args.skip
        and any(c.report for c in args.commands)
    )


def run_cases(
    bench: Bench,
    args: argparse.Namespace,
    generated: dict[Dataset, Generated],
    hledger: bool,
) -> None:
    """Every case the options ask for, cheapest first."""
    if "startup" not in args.skip:
        bench_startup(bench)
    for size in args.sizes:
        if args.commands or hledger:
            bench_size(bench, args, generated, size, "csv", hledger)
        if yaml_wanted(args, size):
            bench_size(bench, args, generated, size, "yaml", hledger=False)


def compile_package() -> None:
    """Byte-compile the arledger that is timed, as installing its wheel does:
    with PYTHONDONTWRITEBYTECODE set, an editable install would otherwise
    compile every module it imports on every run (~75 ms of the demo's
    start-up), which no installed copy does."""
    import compileall

    found = subprocess.run(
        [
            *ARLEDGER[:1],
            "-c",
            "import arledger, os; print(os.path.dirname(arledger.__file__))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    compileall.compile_dir(found, quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    hledger = args.compare and shutil.which("hledger") is not None
    if args.compare and not hledger:
        log("hledger is not installed: no ratios (apt-get install -y hledger)")
    generated = prepare(args, hledger)
    compile_package()
    sources = code_fingerprint()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="arledger-bench-") as scratch:
        bench = Bench(args.runs, args.timeout, args.max_mem * GIB, Path(scratch))
        run_cases(bench, args, generated, hledger)
    minutes = (time.perf_counter() - started) / 60
    changed = code_fingerprint() != sources
    if changed:
        log("warning: arledger's sources changed while the benchmark ran")
    report = "\n\n".join(
        [
            f"Measured {machine()}; as-of {AS_OF}, seed {args.seed}; "
            f"{minutes:.1f} minutes."
            + (" **The sources changed during the run.**" if changed else ""),
            table(bench.results),
            datasets_table(list(generated.values()), args.data),
        ]
    )
    print(report)
    if args.output:
        args.output.write_text(report + "\n")
    if args.json:
        args.json.write_text(json.dumps(as_json(bench.results), indent=2) + "\n")
    return 0


def as_json(results: list[Result]) -> list[dict[str, object]]:
    return [
        {
            "case": r.name,
            "target": str(r.target) if r.target else None,
            "seconds": [round(x.seconds, 4) for x in r.runs],
            "cpu_seconds": [round(x.cpu_seconds, 4) for x in r.runs],
            "max_rss_mib": [round(x.max_rss_mib, 1) for x in r.runs],
            "ratio": r.ratio,
            "cpu_ratio": r.cpu_ratio,
            "peak_rss_mib": r.summary_rss,
            "result": r.verdict(),
        }
        for r in results
    ]


if __name__ == "__main__":
    sys.exit(main())
