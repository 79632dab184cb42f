"""The console script: the Typer app (arledger/app.py).

The app is imported when `main` runs, not when this module is: `import
arledger.cli` stays light (tests/test_startup.py).
"""

from __future__ import annotations

import gc
from typing import Any


def main() -> None:
    """Console-script entry point."""
    # A run builds millions of long-lived objects and frees them at exit: the
    # cyclic garbage collector would only re-scan them over and over.
    gc.disable()
    from arledger.app import main as run

    run()


def __getattr__(name: str) -> Any:
    """`from arledger.cli import app` works, importing the app on first use."""
    if name == "app":
        from arledger.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
