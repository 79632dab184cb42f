"""Benchmarks of issue 6: time arledger on generated ledgers, print a Markdown table.

Generates 10k / 100k / 1M-invoice ledgers once (cached under `benchmarks/data/`,
git-ignored, or `--data DIR`, keyed by format, size, seed and generator version),
then times each case over several runs in a child process and reports the
median, min and max wall time, the median CPU time and the child's peak RSS
(from `os.wait4`, so each run is measured on its own), with the target of each
case and PASS/FAIL.

"Cold" runs get a fresh, empty `XDG_CACHE_HOME` and `ARLEDGER_NO_CACHE=1`, so no
parse cache can help; "warm" runs share one `XDG_CACHE_HOME`, primed by an
untimed run, with nothing changed in the ledger since. The OS page cache is not
dropped: "cold" means no parse cache, not a cold disk.

Usage:
    python benchmarks/run.py --quick                 # 10k and 100k, 3 runs
    python benchmarks/run.py                         # 10k, 100k and 1M, 5 runs
    python benchmarks/run.py --sizes 100k,1m --runs 3 --compare
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
EXPORT_SIZE = "100k"  # `export` is timed on 100k open items
STARTUP_MIN_RUNS = 10
SKIPPABLE = ("startup", "warm", "yaml", "export")
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
    all_open: bool = False  # every invoice left open (for the export case)

    @property
    def key(self) -> str:
        extra = "-open" if self.all_open else ""
        return (
            f"{self.fmt}-{self.size}{extra}-seed{self.seed}"
            f"-v{generate.GENERATOR_VERSION}"
        )

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
    if ds.all_open:
        command += ["--open-share", "1.0"]
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
    ratio: float | None = None  # for derived rows (startup, growth)

    def __str__(self) -> str:
        parts = []
        if self.seconds is not None:
            parts.append(f"≤ {self.seconds:g} s")
        if self.rss_mib is not None:
            parts.append(f"≤ {self.rss_mib / GIB:g} GiB")
        if self.ratio is not None:
            parts.append(f"≤ {self.ratio:g}×")
        return ", ".join(parts) or "—"


@dataclass
class Result:
    """A row of the table: a measured case or a ratio derived from two."""

    name: str
    target: Target | None
    runs: list[Run] = field(default_factory=list)
    ratio: float | None = None  # derived rows only
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
        return max(r.max_rss_mib for r in self.runs)

    def verdict(self) -> str:
        if "timed out" in self.error or "memory cap" in self.error:
            return f"**FAIL** ({self.error})"
        if self.error:
            return f"ERROR: {self.error}"
        if self.note.startswith("SKIP"):
            return self.note
        if self.target is None:
            return "info" + (f" {self.note}" if self.note else "")
        misses = []
        t = self.target
        if t.ratio is not None and self.ratio is not None and self.ratio > t.ratio:
            misses.append(f"{self.ratio / t.ratio:.2f}× over")
        if t.seconds is not None and self.runs and self.median > t.seconds:
            misses.append(f"time {self.median / t.seconds:.1f}× target")
        if t.rss_mib is not None and self.runs and self.peak_rss > t.rss_mib:
            misses.append(f"RSS {self.peak_rss / t.rss_mib:.1f}× target")
        verdict = f"**FAIL** ({', '.join(misses)})" if misses else "PASS"
        return verdict + (f" {self.note}" if self.note else "")


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
        self.by_name: dict[str, Result] = {}

    def env(self, cache_home: Path, cold: bool) -> dict[str, str]:
        env = dict(os.environ, XDG_CACHE_HOME=str(cache_home), NO_COLOR="1")
        env.pop("ARLEDGER_NO_CACHE", None)
        env.pop("ARLEDGER_DIR", None)
        if cold:
            env["ARLEDGER_NO_CACHE"] = "1"
        return env

    def add(self, result: Result) -> Result:
        self.results.append(result)
        self.by_name[result.name] = result
        return result

    def measure(
        self,
        name: str,
        target: Target | None,
        command: Callable[[int], list[str]],
        cold: bool = True,
        check: Callable[[Path], str] | None = None,
        runs: int | None = None,
    ) -> Result:
        """Time `command(run_number)` `runs` times (cold or warm parse cache)."""
        result = self.add(Result(name, target))
        warm_cache = self.scratch / f"warm-cache-{len(self.results)}"
        if not cold:  # prime the parse cache: "warm" = run twice, time the second
            log(f"{name}: priming run")
            run = self._run(command(0), self.env(warm_cache, cold=False))
            if run.returncode != 0:
                result.error = self._failure(run)
                return result
        for n in range(1, (runs or self.runs) + 1):
            cache_home = self.scratch / f"cold-cache-{n}" if cold else warm_cache
            run = self._run(command(n), self.env(cache_home, cold))
            if cold:
                shutil.rmtree(cache_home, ignore_errors=True)
            if run.returncode != 0 or run.timed_out:
                result.error = self._failure(run)
                if run.timed_out:
                    result.runs.append(run)
                return result
            if check is not None and n == 1 and (problem := check(self._stdout)):
                result.error = problem
                return result
            result.runs.append(run)
            log(f"{name}: run {n}: {run.seconds:.2f} s, {run.max_rss_mib:.0f} MiB")
        shutil.rmtree(warm_cache, ignore_errors=True)
        return result

    @property
    def _stdout(self) -> Path:
        return self.scratch / "stdout"

    @property
    def _stderr(self) -> Path:
        return self.scratch / "stderr"

    def _run(self, command: list[str], env: dict[str, str]) -> Run:
        return run_once(
            command, env, self.timeout, self._stdout, self._stderr, self.max_mem_mib
        )

    def _failure(self, run: Run) -> str:
        if run.timed_out:
            return f"timed out after {self.timeout:g} s"
        text = self._stderr.read_text(errors="replace").strip()
        if "MemoryError" in text or "out of memory" in text or run.returncode == -6:
            return (
                f"exit {run.returncode}: over the memory cap of "
                f"{self.max_mem_mib / GIB:g} GiB (--max-mem)"
            )
        tail = text.splitlines()[-3:]
        return f"exit {run.returncode}: {' / '.join(tail)[:300]}"


def check_aging_json(stdout: Path) -> str:
    """'' when stdout holds an aging report in JSON, else what is wrong."""
    try:
        report = json.loads(stdout.read_text())
    except ValueError as exc:
        return f"output is not JSON ({exc})"
    if report.get("report") != "aging" or not report.get("sections"):
        return "output is not an aging report with sections"
    return ""


def export_exists() -> bool:
    done = subprocess.run(
        [*ARLEDGER, "export", "--help"], capture_output=True, env=dict(os.environ)
    )
    return done.returncode == 0


# ---------------------------------------------------------------- the cases

# The table of targets, in its order.
TARGETS = {
    ("csv", "1m", "cold"): Target(1, seconds=10, rss_mib=1.5 * GIB),
    ("csv", "1m", "warm"): Target(2, seconds=2),
    ("csv", "100k", "cold"): Target(3, seconds=1.5),
    ("yaml", "100k", "cold"): Target(4, seconds=5),
}
STARTUP_TARGET = Target(5, ratio=1.5)
EXPORT_TARGET = Target(6, seconds=60, rss_mib=1 * GIB)
GROWTH_TARGET = Target(7, ratio=12)


def size_label(size: str) -> str:
    return {"10k": "10k", "100k": "100k", "1m": "1M"}[size]


def aging_name(size: str, fmt: str, mode: str) -> str:
    n = size_label(size)
    return f"`aging --format json`, {n} inv + {n} pay, {fmt.upper()}, {mode}"


def aging_command(ledger: Path) -> Callable[[int], list[str]]:
    command = [*ARLEDGER, "aging", "--ledger", str(ledger), "--as-of", AS_OF]
    return lambda _n: [*command, "--format", "json"]


def bench_aging(
    bench: Bench, data: Path, size: str, fmt: str, seed: int, runs: int, warm: bool
) -> None:
    """Cold (and warm, if asked) aging on one generated ledger."""
    ledger = Dataset(size, fmt, seed).path(data)
    modes = ("cold", "warm") if warm else ("cold",)
    for mode in modes:
        bench.measure(
            aging_name(size, fmt, mode),
            TARGETS.get((fmt, size, mode)),
            aging_command(ledger),
            cold=mode == "cold",
            check=check_aging_json,
            runs=runs,
        )


def bench_startup(bench: Bench) -> None:
    """`arledger aging` on the demo vs importing typer, rich and pydantic.

    Runs alternate between the commands so that noise on a shared machine hits
    them alike; ratios are of medians. The target row is the run as users get
    it, with the report cache on (a repeat is answered from arledger/cache.py);
    the cold row, with `ARLEDGER_NO_CACHE=1`, says what loading and reporting
    the demo costs, for information.
    """
    demo = [*ARLEDGER, "aging", "--ledger", str(DEMO), "--as-of", DEMO_AS_OF]
    runs = max(bench.runs, STARTUP_MIN_RUNS)
    ours = bench.add(Result("`aging` on examples/demo (start-up)", None))
    cold = bench.add(Result("the same, cold (`ARLEDGER_NO_CACHE=1`)", None))
    base = bench.add(Result('`python -c "import typer, rich, pydantic"`', None))
    warm_env = bench.env(bench.scratch / "startup-cache", cold=False)
    cold_env = bench.env(bench.scratch / "startup-cold", cold=True)
    cases = ((ours, demo, warm_env), (cold, demo, cold_env),
             (base, IMPORT_BASELINE, warm_env))  # fmt: skip
    for _ in range(runs):
        for result, command, env in cases:
            run = bench._run(command, env)
            if run.returncode != 0:
                result.error = bench._failure(run)
                return
            result.runs.append(run)
    bench.add(
        Result(
            "start-up ratio: demo `aging` / imports",
            STARTUP_TARGET,
            ratio=ours.median / base.median,
        )
    )
    bench.add(
        Result(
            "start-up ratio, cold: demo `aging` / imports",
            None,
            ratio=cold.median / base.median,
        )
    )


def bench_export(bench: Bench, data: Path, seed: int, items: int) -> None:
    """`arledger export` of ~100k open items to xlsx (a proxy until it exists)."""
    ledger = Dataset(EXPORT_SIZE, "csv", seed, all_open=True).path(data)
    out = bench.scratch / "export"
    out.mkdir(exist_ok=True)
    name = f"`export` to xlsx, ~{items // 1000}k open items"
    common = ["--ledger", str(ledger), "--as-of", AS_OF]
    if export_exists():
        bench.measure(
            name,
            EXPORT_TARGET,
            lambda n: [*ARLEDGER, "export", str(out / f"report-{n}.xlsx"), *common],
        )
        return
    bench.add(
        Result(name, EXPORT_TARGET, note="SKIP: `arledger export` does not exist yet")
    )
    proxy = bench.measure(
        f"`aging --detail -o x.xlsx`, ~{items // 1000}k open items (proxy for export)",
        EXPORT_TARGET,
        lambda n: [
            *ARLEDGER,
            "aging",
            "--detail",
            "-o",
            str(out / f"aging-{n}.xlsx"),
            *common,
        ],
    )
    proxy.note = "(proxy)"


def bench_hledger(bench: Bench, data: Path, size: str, seed: int, runs: int) -> None:
    """`hledger -f J bal` on the journal of the same events, and our ratio to it."""
    journal = Dataset(size, "csv", seed).journal(data)
    name = f"`hledger -f J bal`, {size_label(size)} inv + {size_label(size)} pay"
    command = ["hledger", "-f", str(journal), "bal"]
    theirs = bench.measure(name, None, lambda _n: command, runs=runs)
    ours = bench.by_name.get(aging_name(size, "csv", "cold"))
    if ours and ours.runs and theirs.runs and not (ours.error or theirs.error):
        bench.add(
            Result(
                f"arledger / hledger, {size_label(size)} (CSV cold vs `bal`)",
                None,
                ratio=ours.median / theirs.median,
            )
        )


def add_growth(bench: Bench, small: str, large: str, target: Target | None) -> None:
    """Cost growth from one size to ten times it (CSV, cold)."""
    a = bench.by_name.get(aging_name(small, "csv", "cold"))
    b = bench.by_name.get(aging_name(large, "csv", "cold"))
    if a and b and a.runs and b.runs and not (a.error or b.error):
        name = f"growth {size_label(small)} → {size_label(large)} (CSV cold, median)"
        # CPU time is steadier than wall time on a shared machine: show both.
        note = f"(CPU: {b.cpu / a.cpu:.2f}×)"
        bench.add(Result(name, target, ratio=b.median / a.median, note=note))


# ---------------------------------------------------------------- output


def fmt_seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"


def table(results: list[Result]) -> str:
    """The results as a Markdown table, rows with a target first."""
    lines = [
        "| case | target | median | min | max | CPU | peak RSS | runs | result |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    targeted = sorted((r for r in results if r.target), key=lambda r: r.target.rank)
    ordered = targeted + [r for r in results if not r.target]
    for r in ordered:
        target = str(r.target) if r.target else "—"
        if r.ratio is not None:
            cells = [f"{r.ratio:.2f}×", "", "", "", "", ""]
        elif r.runs:
            cells = [
                fmt_seconds(r.median),
                fmt_seconds(min(x.seconds for x in r.runs)),
                fmt_seconds(max(x.seconds for x in r.runs)),
                fmt_seconds(r.cpu),
                f"{r.peak_rss:,.0f} MiB",
                str(len(r.runs)),
            ]
        else:
            cells = ["", "", "", "", "", ""]
        lines.append(f"| {r.name} | {target} | {' | '.join(cells)} | {r.verdict()} |")
    return "\n".join(lines)


def datasets_table(generated: list[Generated], data: Path) -> str:
    lines = [
        "| data set | customers | invoices | payments | adjustments | size | "
        "generated in |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for g in generated:
        m = g.manifest
        cached = " (cached)" if g.cached else ""
        lines.append(
            f"| {g.dataset.key} | {m['customers']:,} | {m['invoices']:,} | "
            f"{m['payments']:,} | {m['adjustments']:,} | "
            f"{tree_size_mib(g.dataset.path(data)):,.0f} MiB | "
            f"{m['seconds']:.1f} s{cached} |"
        )
    return "\n".join(lines)


def code_fingerprint() -> str:
    """A hash of the arledger sources measured (the checkout may hold edits)."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "arledger").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".c", ".j2", ".txt"):
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
    # Whether the native lane (arledger/_bulk.c) is built, so `aging` on CSV uses it.
    native = subprocess.run(
        [sys.executable, "-c", "import arledger._bulk"], capture_output=True
    ).returncode == 0 and not os.environ.get("ARLEDGER_NO_NATIVE")
    return (
        f"{datetime.now():%Y-%m-%d %H:%M}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {memory}, Python {platform.python_version()}, "
        f"{version or 'arledger ?'} (git {rev or '?'}"
        f"{', arledger/ modified' if dirty else ''}, sources {code_fingerprint()}), "
        f"native lane {'on' if native else 'off'}"
    )


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="10k,100k,1m",
        help="comma-separated sizes from 10k, 100k, 1m (default: all)",
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case")
    parser.add_argument(
        "--runs-1m",
        type=int,
        help="timed runs of the 1M cases (default: --runs); they take minutes",
    )
    parser.add_argument(
        "--quick", action="store_true", help="10k and 100k only, 3 runs"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help=f"where generated ledgers are cached (default {DEFAULT_DATA})",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also time `hledger -f J bal` on the same events (if installed)",
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
        args.sizes, args.runs = "10k,100k", 3
    args.runs_1m = args.runs_1m or args.runs
    args.sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r}; choose from {', '.join(SIZES)}")
    args.sizes = sorted(set(args.sizes), key=list(SIZES).index)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.skip - set(SKIPPABLE):
        parser.error(f"--skip: choose from {', '.join(SKIPPABLE)}")
    return args


def prepare(args: argparse.Namespace, hledger: bool) -> list[Generated]:
    """Generate (or find cached) every data set the chosen cases need."""
    wanted = []
    for size in args.sizes:
        wanted.append((Dataset(size, "csv", args.seed), hledger))
        if size in YAML_SIZES and "yaml" not in args.skip:
            wanted.append((Dataset(size, "yaml", args.seed), False))
    if EXPORT_SIZE in args.sizes and "export" not in args.skip:
        wanted.append((Dataset(EXPORT_SIZE, "csv", args.seed, all_open=True), False))
    return [ensure_dataset(ds, args.data, journal) for ds, journal in wanted]


def run_cases(
    bench: Bench, args: argparse.Namespace, generated: list[Generated], hledger: bool
) -> None:
    """Every case the options ask for, cheapest first; then the derived rows."""
    if "startup" not in args.skip:
        bench_startup(bench)
    warm = "warm" not in args.skip
    for size in args.sizes:
        runs = args.runs_1m if size == "1m" else args.runs
        bench_aging(bench, args.data, size, "csv", args.seed, runs, warm)
        if size in YAML_SIZES and "yaml" not in args.skip:
            bench_aging(bench, args.data, size, "yaml", args.seed, runs, warm=False)
        if hledger:
            bench_hledger(bench, args.data, size, args.seed, runs)
    export_sets = [g for g in generated if g.dataset.all_open]
    if export_sets:
        items = int(export_sets[0].manifest["items"])
        bench_export(bench, args.data, args.seed, items)
    add_growth(bench, "100k", "1m", GROWTH_TARGET)
    add_growth(bench, "10k", "100k", None)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    hledger = args.compare and shutil.which("hledger") is not None
    if args.compare and not hledger:
        log("hledger is not installed: --compare skipped (apt-get install hledger)")
    generated = prepare(args, hledger)
    sources = code_fingerprint()
    with tempfile.TemporaryDirectory(prefix="arledger-bench-") as scratch:
        bench = Bench(args.runs, args.timeout, args.max_mem * GIB, Path(scratch))
        run_cases(bench, args, generated, hledger)
    changed = code_fingerprint() != sources
    if changed:
        log("warning: arledger's sources changed while the benchmark ran")
    report = "\n\n".join(
        [
            f"Measured {machine()}; as-of {AS_OF}, seed {args.seed}."
            + (" **The sources changed during the run.**" if changed else ""),
            table(bench.results),
            datasets_table(generated, args.data),
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
            "result": r.verdict(),
        }
        for r in results
    ]


if __name__ == "__main__":
    sys.exit(main())
