"""`collection` and `risk`: how well we collect, and whom to stop shipping to."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app (none yet)."""
