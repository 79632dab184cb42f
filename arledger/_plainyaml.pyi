# What the type checker knows of arledger/_plainyaml.c, which it cannot read:
# change this with the C module's functions and attributes (tests/test_build.py
# holds the two together with mypy's stubtest).
from typing import Any

# The hex SHA-256 of the source this build was compiled from (setup.py).
SOURCE_SHA256: str

def columns(
    text: str, /
) -> tuple[dict[str, list[Any]], list[int], dict[str, int]] | None: ...
