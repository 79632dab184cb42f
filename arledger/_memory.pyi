# What the type checker knows of arledger/_memory.c, which it cannot read:
# change this with the C module's functions and attributes (tests/test_build.py
# holds the two together with mypy's stubtest).

# The hex SHA-256 of the source this build was compiled from (setup.py).
SOURCE_SHA256: str

def prefault(arenas: int, /) -> bool: ...
def counts() -> tuple[int, int]: ...
