"""Memory faulted in ahead for big ledgers (arledger/_memory.c, cli.prefault).

The allocator is put in front of pymalloc's for the rest of a process, so it
is tried in processes of their own, never in the one running the tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from arledger import cli

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="prefaulting is for Linux"
)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@linux_only
def test_objects_live_in_the_arenas_made_ready_and_are_what_they_were():
    done = run_python(
        """
        from decimal import Decimal
        from arledger import _memory

        assert _memory.prefault(8) is True
        assert _memory.prefault(8) is True  # once per process: nothing more

        def deep(n):  # the frame stack grows by a mapping of 16 KiB or more,
            return deep(n - 1) + 1 if n else 0  # through the same allocator

        assert deep(900) == 900  # first: not taken for an arena's size
        for _ in range(3):  # made, freed and made again: 100 MB and more each
            rows = [(str(i), Decimal(i) / 100, (i, i + 1)) for i in range(400_000)]
            assert sum(r[1] for r in rows) == Decimal(sum(range(400_000))) / 100
            assert rows[123_456] == ("123456", Decimal("1234.56"), (123456, 123457))
            del rows
        taken, mapped = _memory.counts()
        assert taken > 50, (taken, mapped)
        print(taken, mapped)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@linux_only
def test_a_child_forked_after_it_allocates_without_the_thread():
    done = run_python(
        """
        import os
        from arledger import _memory

        _memory.prefault(4)
        keep = [str(i) * 3 for i in range(200_000)]
        pid = os.fork()
        if pid == 0:  # the child: no thread keeps arenas ready, pymalloc maps its own
            more = [(i, str(i)) for i in range(500_000)]
            os._exit(0 if more[-1] == (499_999, "499999") else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        print(len(keep))
        """
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "200000\n", "")


def test_nothing_is_asked_of_a_ledger_under_the_threshold_or_inside_another_program(
    monkeypatch,
):
    from arledger import _memory

    asked: list[int] = []
    monkeypatch.setattr(_memory, "prefault", lambda arenas: asked.append(arenas))
    cli.prefault(1 << 30)  # the tests' process: not arledger running as a program
    monkeypatch.setattr(cli, "_KEPT", [])  # as `main` runs it
    monkeypatch.setattr(cli, "_cores", lambda: 2)
    cli.prefault(cli.PREFAULT_BYTES - 1)
    assert asked == []
    cli.prefault(cli.PREFAULT_BYTES)
    assert asked == [cli.PREFAULT_ARENAS]
    monkeypatch.setattr(cli, "_cores", lambda: 1)  # no other core to fault on
    cli.prefault(cli.PREFAULT_BYTES)
    assert asked == [cli.PREFAULT_ARENAS]


def test_zero_or_fewer_arenas_install_nothing():
    done = run_python(
        """
        from arledger import _memory

        assert _memory.prefault(0) is False
        assert _memory.prefault(-3) is False
        assert _memory.counts() == (0, 0)
        """
    )
    assert done.returncode == 0, done.stderr


def a_ledger(root):
    """20,000 invoices of 12 customers, half of them paid (1.5 MB)."""
    root.mkdir()
    customers = [f"C{k:02d}" for k in range(12)]
    (root / "customers.yaml").write_text(
        "".join(f"- id: {c}\n  name: Customer {c}\n  terms: 30\n" for c in customers)
    )
    invoices = ["id,customer,date,amount,description"]
    payments = ["id,customer,date,amount,invoice"]
    for n in range(20_000):
        customer, day = customers[n % 12], f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
        amount = f"{100 + n % 997}.{n % 100:02d}"
        invoices.append(f"INV-{n:06d},{customer},{day},{amount},Goods and services")
        if n % 2:
            payments.append(f"PAY-{n:06d},{customer},2026-12-01,{amount},INV-{n:06d}")
    (root / "invoices.csv").write_text("\n".join(invoices) + "\n")
    (root / "payments.csv").write_text("\n".join(payments) + "\n")
    return root


@linux_only
def test_a_ledger_reports_the_same_with_its_memory_faulted_in_ahead(tmp_path):
    """The program as a person runs it, with arenas made ready (the threshold
    brought down to this ledger) and without."""
    ledger = a_ledger(tmp_path / "ledger")
    run = """
        import sys
        import arledger.cli as cli
        from arledger import _memory

        cli.PREFAULT_BYTES = 1 if sys.argv[1] == "on" else 1 << 62
        cli._cores = lambda: 2  # as on the machines it is for
        end = cli._end
        def counted(code):
            print(*_memory.counts(), file=sys.stderr)
            end(code)
        cli._end = counted
        sys.argv = ["arledger", *sys.argv[2:]]
        cli.main()
    """
    outputs = {}
    for mode in ("on", "off"):
        for command in ("aging", "overdue", "check"):
            done = subprocess.run(
                [sys.executable, "-c", textwrap.dedent(run), mode, command]
                + ["--ledger", str(ledger), "--as-of", "2026-12-31"],
                capture_output=True,
                text=True,
                timeout=120,
                env={**os.environ, "ARLEDGER_NO_CACHE": "1"},
            )
            assert done.returncode == 0, done.stderr
            taken, mapped = map(int, done.stderr.split("\n")[-2].split())
            assert (taken > 0) == (mode == "on"), (mode, command, taken, mapped)
            outputs[mode, command] = done.stdout
    for command in ("aging", "overdue", "check"):
        assert outputs["on", command] == outputs["off", command]
    assert "20000 invoices" in outputs["on", "check"]
