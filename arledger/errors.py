"""Where a record came from, what is wrong with a ledger, and the error family.

No I/O here: the CLI decides how errors are printed and which exit code they get.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Source:
    """A place in the ledger: a path relative to the ledger directory and a line."""

    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class LedgerError:
    """One problem found in a ledger, printed as `FILE:LINE: message`.

    A warning is printed the same way but does not make the ledger invalid.
    """

    source: Source | None
    message: str
    warning: bool = False
    # The field the problem is about, when the source is the record's first line;
    # the loader moves `source` to that field's line before reporting.
    field: tuple[str | int, ...] | None = None

    def __str__(self) -> str:
        text = f"warning: {self.message}" if self.warning else self.message
        return f"{self.source}: {text}" if self.source else text

    def sort_key(self) -> tuple[str, int, str]:
        if self.source is None:
            return ("", 0, self.message)
        return (self.source.path, self.source.line, self.message)


class ArledgerError(Exception):
    """Base of every error arledger reports to the user without a traceback."""


class UsageError(ArledgerError):
    """A bad option or argument (exit 2)."""


class LedgerNotFound(ArledgerError):
    """The ledger directory does not exist or holds no ledger files."""


class LedgerInvalid(ArledgerError):
    """The ledger has errors; `errors` holds every one of them."""

    def __init__(self, errors: list[LedgerError]) -> None:
        self.errors = errors
        problems = sum(1 for e in errors if not e.warning)
        super().__init__(f"{problems} problem{'s' if problems != 1 else ''} in ledger")


class OutputExists(ArledgerError):
    """An output file exists and --force was not given."""
