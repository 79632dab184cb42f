"""The README's samples on the demo are what arledger prints today.

Every `$ arledger ... --ledger examples/demo ...` in a README code block is run
(in a pipe, as a reader pasting it into a script would, so tables are plain)
and its output compared with the lines under it, up to the next `$`. Samples
that elide (`…`), that write files (`--out`, `-o`), that are piped, or that
show a terminal of a given width (tests/test_terminal.py holds that one) are
left out; what is left is most of them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)
SKIP = ("--out", " -o ", "--output", "--send", "--record")


def samples() -> list[tuple[str, str]]:
    found = []
    for block in BLOCK.findall(README):
        lines = block.split("\n")
        for i, line in enumerate(lines):
            if (
                not line.startswith("$ arledger ")
                or "--ledger examples/demo" not in line
            ):
                continue
            if any(c in line for c in "|><;&\\") or any(s in line for s in SKIP):
                continue
            shown = []
            for following in lines[i + 1 :]:
                if following.startswith("$ "):
                    break
                shown.append(following)
            text = "\n".join(shown).rstrip("\n")
            if "…" in text or "..." in text:
                continue
            if "On an 80-column terminal" in README.split(block, 1)[0][-200:]:
                continue
            found.append((line[2:], text))
    return found


SAMPLES = samples()


def test_the_readme_has_samples_to_check():
    assert len(SAMPLES) >= 15, len(SAMPLES)


@pytest.mark.parametrize(("command", "shown"), SAMPLES, ids=[c for c, _ in SAMPLES])
def test_a_readme_sample_is_what_arledger_prints(command, shown):
    args = shlex.split(command)
    env = dict(os.environ, ARLEDGER_NO_CACHE="1", NO_COLOR="1", COLUMNS="400")
    done = subprocess.run(
        [sys.executable, "-m", "arledger", *args[1:]],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    out, err = done.stdout.rstrip("\n"), done.stderr.rstrip("\n")
    # The sample shows both streams as a terminal interleaves them: the
    # report on stdout, and what was found or written on stderr, before or
    # after it.
    assert shown in {
        out,
        err,
        f"{out}\n{err}".strip("\n"),
        f"{err}\n{out}".strip("\n"),
    }, f"{command}\n--- README\n{shown}\n--- now\n{out}\n{err}"
