"""`forecast` and `statement`: cash to come, and a customer's statement of account."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app (none yet)."""
