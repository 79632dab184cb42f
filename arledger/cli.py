"""The console script: the report cache's front door, then the Typer app.

Importing typer, pydantic and rich costs more than answering a repeated report
from the cache, so `main` asks the front door (arledger/frontdoor.py) before it
imports the app (arledger/app.py). This module imports neither.
"""

from __future__ import annotations

import gc
import sys
from typing import Any


def main() -> None:
    """Console-script entry point."""
    # A run builds millions of long-lived objects and frees them at exit: the
    # cyclic garbage collector would only re-scan them over and over.
    gc.disable()
    from arledger import frontdoor

    frontdoor.enter(sys.argv[1:])  # a cache hit writes its output and exits here
    from arledger.app import app

    try:
        app()
    finally:
        frontdoor.leave()


def __getattr__(name: str) -> Any:
    """`from arledger.cli import app` still works, importing the app on first use."""
    if name == "app":
        from arledger.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
