# What the type checker knows of arledger/_csvbytes.c, which it cannot read:
# change this with the C module's functions and attributes (tests/test_build.py
# holds the two together with mypy's stubtest).
from typing import Any

# The hex SHA-256 of the source this build was compiled from (setup.py).
SOURCE_SHA256: str

def survey(
    data: bytes | bytearray | memoryview, start: int = 0, /
) -> tuple[bool, int, int, int, int, bool]: ...
def plain_amounts(
    validity: bytes | memoryview | None,
    offsets: bytes | memoryview,
    data: bytes | memoryview,
    offset: int,
    length: int,
    most: int,
    /,
) -> tuple[bytes, bytes, bytes, int]: ...
def untrimmed(
    offsets: bytes | memoryview, data: bytes | memoryview, offset: int, length: int, /
) -> bool: ...
def rows_named(
    ids: list[tuple[Any, Any, Any, int, int]],
    names: list[tuple[Any, Any, Any, int, int]],
    /,
) -> tuple[bytes, bytes, int]: ...
