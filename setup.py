"""Builds the settlement kernel, arledger/_settle.c, as arledger._settle,
arledger/_memory.c (memory faulted in ahead for big ledgers) as
arledger._memory, and arledger/_plainyaml.c (plain YAML record files read
into columns) as arledger._plainyaml, and arledger/_csvbytes.c (a CSV file's
bytes looked over in one pass) as arledger._csvbytes.

The project is described in pyproject.toml; this file says what a table there
cannot: the SHA-256 of each module's source, passed to the compiler as the
string SOURCE_SHA256 that the module exposes (tests/conftest.py refuses to test
an editable install whose source changed since it was built), and the flags of
gcc and clang. Both are required: with no C compiler or no Python headers the
install stops and says what to install.
"""

from __future__ import annotations

import hashlib
import os
import shutil

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, ExecError, PlatformError

SOURCE = "arledger/_settle.c"
SOURCES = {
    "arledger._settle": SOURCE,
    "arledger._memory": "arledger/_memory.c",
    "arledger._plainyaml": "arledger/_plainyaml.c",
    "arledger._csvbytes": "arledger/_csvbytes.c",
}
# gcc and clang: C11 (what CPython itself is written in since 3.11, PEP 7),
# warnings on and never errors. The optimisation level is the one Python was
# built with (sysconfig's CFLAGS: -O2 in Debian's, -O3 in pyenv's builds).
GCC_FLAGS = ["-std=c11", "-Wall", "-Wextra"]
# Compilers that take gcc's options ("unix" is gcc or clang, as CC says).
GCC_LIKE = ("unix", "mingw32", "cygwin")
HOW = (
    "a C compiler and Python's headers come with `apt-get install gcc python3-dev` "
    "(Debian, Ubuntu) or `xcode-select --install` (macOS); then install arledger again"
)


def source_sha256(path: str = SOURCE) -> str:
    """The hex SHA-256 of the kernel's source (tests/conftest.py reads it too)."""
    with open(path, "rb") as source:
        return hashlib.sha256(source.read()).hexdigest()


class build_kernel(build_ext):
    """build_ext that checks for a compiler and Python.h first, and sets flags."""

    def build_extensions(self) -> None:
        if self.compiler.compiler_type in GCC_LIKE:
            missing = self._missing()
            if missing:
                raise PlatformError(
                    f"arledger: building its C modules ({', '.join(SOURCES.values())})"
                    f" needs {missing}, not found here: {HOW}"
                )
            for extension in self.extensions:
                extension.extra_compile_args = list(GCC_FLAGS)
        try:
            super().build_extensions()
        except (CCompilerError, ExecError) as error:
            raise PlatformError(
                f"arledger: its C modules ({', '.join(SOURCES.values())}) did not "
                f"compile; if the compiler's messages above say that it or "
                f"Python.h is missing: {HOW}"
            ) from error

    def _missing(self) -> str:
        """What of a C compiler and the Python headers is not there ('' if none)."""
        missing = []
        if not shutil.which(self.compiler.compiler_so[0]):
            missing.append(f"a C compiler ({self.compiler.compiler_so[0]})")
        if not any(
            os.path.isfile(os.path.join(folder, "Python.h"))
            for folder in self.include_dirs or ()
        ):
            missing.append("the Python headers (Python.h)")
        return " and ".join(missing)


setup(
    ext_modules=[
        Extension(
            name,
            sources=[source],
            define_macros=[("SOURCE_SHA256", f'"{source_sha256(source)}"')],
        )
        for name, source in SOURCES.items()
    ],
    cmdclass={"build_ext": build_kernel},
)
