"""`dunning`: letters for late customers (催款函), and sending them."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app (none yet)."""
