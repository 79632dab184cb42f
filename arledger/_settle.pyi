"""The compiled settlement engine (arledger/_settle.c); see `settle.settle`."""

from typing import Any

SOURCE_SHA256: str

def run(
    invoices: list[Any],
    adjustments: list[Any],
    payments: list[Any],
    payment_refs: list[str] | None,
    context: dict[str, Any],
    /,
) -> tuple[list[Any], list[Any], list[Any], list[Any]]: ...
