# What the type checker knows of the compiled kernel (arledger/_settle.c), which
# it cannot read: change this with the C module's functions and attributes
# (tests/test_build.py holds the two together with mypy's stubtest).

# The hex SHA-256 of the source this build was compiled from (setup.py).
SOURCE_SHA256: str

def kernel_version() -> int: ...
