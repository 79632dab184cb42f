"""Jinja2 templates: the ledger's `templates/` first, then the built-in ones.

Letters (催款函) and printable statements are rendered here. Jinja2 is imported
inside functions so other commands never pay for it. Templates use
`StrictUndefined`: a typo in a template fails loudly with FILE:LINE instead of
printing a blank.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arledger.errors import ArledgerError
from arledger.money import grouped, plain

if TYPE_CHECKING:
    import jinja2

BUILTIN = Path(__file__).parent / "templates"


class TemplateProblem(ArledgerError):
    """A template that cannot be read or rendered; the message is FILE:LINE: why."""


def _money(amount: Decimal, currency: str, grouping: bool = True) -> str:
    return grouped(amount, currency) if grouping else plain(amount, currency)


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _zh_date(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def environment(ledger_root: Path | None = None) -> jinja2.Environment:
    """A Jinja2 environment that looks in `LEDGER/templates/` before the built-ins.

    Filters: `money(currency)` (1,234.50), `iso` (2026-10-31), `zh_date`
    (2026年10月31日).
    """
    import jinja2

    search = []
    if ledger_root is not None and (ledger_root / "templates").is_dir():
        search.append(str(ledger_root / "templates"))
    search.append(str(BUILTIN))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "htm", "html.j2"]),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["iso"] = _iso
    env.filters["zh_date"] = _zh_date
    return env


def _where(
    env: jinja2.Environment,
    name: str | None,
    line: int | None,
    ledger_root: Path | None,
) -> str:
    """`templates/first.en.md.j2:12` for a user's template, the name for a built-in."""
    if name is None:
        return "template"
    try:
        _, filename, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - only used to make the message nicer
        filename = name
    return _relative(filename, line, ledger_root)


def _relative(filename: str, line: int | None, ledger_root: Path | None) -> str:
    path = Path(filename)
    if ledger_root is not None and path.is_relative_to(ledger_root):
        path = path.relative_to(ledger_root)
    elif path.is_relative_to(BUILTIN):
        path = Path("(built-in)") / path.relative_to(BUILTIN)
    return f"{path.as_posix()}:{line}" if line else path.as_posix()


def render_template(
    name: str,
    context: Mapping[str, Any],
    *,
    ledger_root: Path | None = None,
    env: jinja2.Environment | None = None,
) -> str:
    """Render template `name` with `context`.

    Raises:
        TemplateProblem: the template is missing, malformed or uses an unknown
            name; the message starts with FILE:LINE.
    """
    import jinja2

    env = env or environment(ledger_root)
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise TemplateProblem(f"template {exc.name!r} not found") from None
    except jinja2.TemplateSyntaxError as exc:
        where = _where(env, exc.name or name, exc.lineno, ledger_root)
        raise TemplateProblem(f"{where}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        # A runtime error (e.g. an undefined name): Jinja2 rewrites traceback
        # frames to carry the template's file and line; take the innermost one.
        filename, line = None, None
        tb = sys.exc_info()[2]
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.endswith(".j2"):
                filename, line = tb.tb_frame.f_code.co_filename, tb.tb_lineno
            tb = tb.tb_next
        raise TemplateProblem(
            f"{_relative(filename or name, line, ledger_root)}: {exc}"
        ) from None
