"""Jinja2 templates: the ledger's `templates/` first, then the built-in ones.

Letters (催款函) and printable statements are rendered here. Jinja2 is imported
inside functions so other commands never pay for it. Templates use
`StrictUndefined`: a typo in a template fails loudly with FILE:LINE instead of
printing a blank.

Dunning letters: `render_letter` turns a `reports.dunning.Letter` into md, txt or
html from the template `LEVEL.LANG.FORMAT.j2` (e.g. `first.zh.md.j2`); when there
is no template for txt or html, the level's md template is rendered in that
format (its layout, `base.LANG.j2`, writes all three). `letter_message` makes the
e-mail (text with an HTML alternative).
"""

from __future__ import annotations

import functools
import re
import sys
import textwrap
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from arledger.errors import ArledgerError
from arledger.labels import LANGUAGES, Words
from arledger.money import grouped, minor_units, plain, quantize, shown

if TYPE_CHECKING:
    from email.message import EmailMessage

    import jinja2

    from arledger.errors import LedgerError
    from arledger.ledger import Ledger
    from arledger.model import Settings
    from arledger.reports.dunning import Letter, LetterItem

BUILTIN = Path(__file__).parent / "templates"


class TemplateProblem(ArledgerError):
    """A template that cannot be read or rendered; the message is FILE:LINE: why."""


def _money(amount: Decimal, currency: str, grouping: bool = True) -> str:
    return grouped(amount, currency) if grouping else plain(amount, currency)


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def _zh_date(day: date | None) -> str:
    return letter_date(day, "zh")


# ---------------------------------------------------------------- by locale
#
# Dates, amounts and rates in letters are written by the letter's locale with
# Babel (CLDR's patterns) rather than by hand. English letters use British
# English: `31 October 2026` reads the same on both sides of the Atlantic,
# where `10/31/2026` does not; Chinese letters use 2026年10月31日. Amounts keep
# the currency's minor units from ISO 4217 (money.minor_units: CLDR's own
# digits differ for HUF, IDR, ...), rounded once as every table rounds them.

LOCALES = {"en": "en_GB", "zh": "zh_Hans_CN"}


def letter_locale(language: str) -> str:
    """The Babel locale of a letter's language (British English otherwise)."""
    return LOCALES.get(language, LOCALES["en"])


@functools.cache
def _locale(language: str) -> Any:
    from babel import Locale

    return Locale.parse(letter_locale(language))


@functools.lru_cache(maxsize=4096)
def letter_date(day: date | None, language: str) -> str:
    """A date in a letter's sentences: `31 October 2026`, `2026年10月31日`
    (CLDR's long date; a run of letters repeats its few dates)."""
    if day is None:
        return ""
    from babel.dates import format_date

    return format_date(day, "long", locale=_locale(language))


@functools.cache
def _pattern(currency: str, code: bool = False) -> Any:
    """`#,##0.00` (`¤¤ #,##0.00` with the code): grouped, with exactly the
    currency's minor units; parsed once, as `format_decimal` and
    `format_currency` would parse it for every amount."""
    from babel.numbers import parse_pattern

    places = minor_units(currency)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return parse_pattern("¤¤ " + pattern if code else pattern)


def letter_number(amount: Decimal, currency: str, language: str) -> str:
    """An amount in a letter without its currency: `16,668.90` (Decimal in,
    never a float; rounded to the currency's minor units as tables are)."""
    return _pattern(currency).apply(shown(amount, currency), _locale(language))


def letter_amount(amount: Decimal, currency: str, language: str) -> str:
    """An amount with its currency code: `USD 16,668.90`."""
    return _pattern(currency, code=True).apply(
        shown(amount, currency),
        _locale(language),
        currency=currency,
        currency_digits=False,  # ISO's minor units (the pattern), not CLDR's
    )


@functools.lru_cache(maxsize=4096)
def letter_whole(number: int, language: str) -> str:
    """A count in a letter (days overdue): `45`, `1,200` (a run of letters
    repeats its few hundred counts)."""
    from babel.numbers import format_decimal

    return format_decimal(number, locale=_locale(language))


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
    return _relative(filename or name, line, ledger_root)


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
    return _render(env or environment(ledger_root), [name], context, ledger_root)


def _render(
    env: jinja2.Environment,
    names: Sequence[str],
    context: Mapping[str, Any],
    ledger_root: Path | None,
) -> str:
    """Render the first of `names` that exists; errors become TemplateProblem."""
    import jinja2

    try:
        return env.select_template(list(names)).render(**context)
    except jinja2.TemplatesNotFound as exc:
        raise TemplateProblem(f"template {exc.templates[0]!r} not found") from None
    except jinja2.TemplateNotFound as exc:
        raise TemplateProblem(f"template {exc.name!r} not found") from None
    except jinja2.TemplateSyntaxError as exc:
        where = _where(env, exc.name or names[0], exc.lineno, ledger_root)
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
            f"{_relative(filename or names[0], line, ledger_root)}: {exc}"
        ) from None


# ---------------------------------------------------------------- dunning letters

LETTER_FORMATS = ("md", "txt", "html")
WRAP = 78  # English paragraphs in md and txt letters are wrapped at this width
ZH_INDENT = "\u3000\u3000"  # a Chinese paragraph starts two full-width spaces in

# The tables' column headings and the lines under the items are labels of
# arledger.labels (`letter.*`, and the sheets' `due`).

# Currency names for amounts in Chinese capitals (大写), as a cheque writes them.
ZH_CURRENCY = {
    "CNY": "人民币",
    "RMB": "人民币",
    "USD": "美元",
    "EUR": "欧元",
    "HKD": "港币",
    "JPY": "日元",
    "GBP": "英镑",
    "AUD": "澳元",
    "CAD": "加元",
    "SGD": "新加坡元",
    "CHF": "瑞士法郎",
}
# cn2an writes up to 16 whole digits; a larger total gets no capitals.
ZH_CAPITALS_BELOW = Decimal(10) ** 16


def long_date(day: date | None) -> str:
    """`31 October 2026`: a date in an English letter, unambiguous everywhere."""
    return letter_date(day, "en")


def percent(rate: Decimal, language: str = "en") -> str:
    """`8.00%` from the fraction 0.08 (two decimals, by the letter's locale)."""
    from babel.numbers import format_percent

    return format_percent(rate, "#,##0.00%", locale=_locale(language))


def zh_capital(amount: Decimal, currency: str) -> str:
    """An amount in Chinese capitals (大写金额): `美元壹万陆仟陆佰陆拾捌元玖角`.

    Written by cn2an's RMB mode (整 after 元; after 角 it may be left out, as
    the 支付结算办法 allows). Empty — the letter then shows no capitals — for
    currencies with more than two decimals, negative amounts, and amounts of
    10^16 or more (beyond cn2an's 16 whole digits).
    """
    if minor_units(currency) > 2 or amount < 0:
        return ""
    amount = quantize(amount, currency)
    if amount >= ZH_CAPITALS_BELOW:
        return ""
    from cn2an import an2cn

    return ZH_CURRENCY.get(currency, currency) + an2cn(f"{amount:f}", "rmb")


def contact_name(contact: str | None) -> str | None:
    """The contact without its department: `Karen Mills (Accounts Payable)` ->
    `Karen Mills`, `王经理（财务部）` -> `王经理`."""
    if not contact:
        return None
    name = re.sub(r"\s*[(（].*?[)）]\s*", " ", contact).strip()
    return name or contact


@functools.cache
def _unbreakable() -> re.Pattern[str]:
    """Never break a line inside `10 November 2026` or `USD 16,668.90` (the
    month names are CLDR's, as `letter_date` writes them)."""
    from babel.dates import get_month_names

    months = get_month_names("wide", locale=letter_locale("en")).values()
    return re.compile(
        r"\b\d{1,2} (?:" + "|".join(months) + r") \d{4}\b|\b[A-Z]{3} \d[\d,.]*"
    )


def _wrap(text: str) -> str:
    """An English paragraph wrapped at WRAP columns, dates and amounts kept whole."""
    glued = _unbreakable().sub(lambda m: m.group().replace(" ", "\u00a0"), text)
    wrapped = textwrap.fill(glued, WRAP, break_on_hyphens=False)
    return wrapped.replace("\u00a0", " ")


def display_width(text: str) -> int:
    """Columns a text takes in a monospaced font (CJK characters take two),
    measured as the terminal tables measure it (rich.cells.cell_len), so a
    letter's text table and a report line up alike."""
    from rich.cells import cell_len

    return cell_len(text)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * max(0, width - display_width(text))
    return space + text if right else text + space


class _Writer:
    """The helpers a letter template calls, for one format and one language.

    They hide what differs between md, txt and html (line breaks, emphasis,
    tables, escaping) so one template writes all three.
    """

    def __init__(self, fmt: str, lang: str, letter: Letter) -> None:
        self.fmt = fmt
        self.lang = lang if lang in LANGUAGES else "en"
        self.letter = letter
        self.words = Words(self.lang)

    # -- text

    def escape(self, text: Any) -> Any:
        if self.fmt == "html":
            from markupsafe import escape

            return escape(text)
        return str(text)

    def join(self, parts: Sequence[Any], sep: str) -> Any:
        if self.fmt == "html":
            from markupsafe import Markup

            return Markup(sep).join(self.escape(p) for p in parts)
        return sep.join(str(p) for p in parts)

    def lines(self, *parts: Any) -> Any:
        """Non-empty parts, one per line (a part's own line breaks are kept)."""
        found: list[Any] = []
        for part in parts:
            if part is None or part == "":
                continue
            if self.fmt == "html":
                found.extend(self.escape(part).split("\n"))
            else:
                found.extend(str(part).split("\n"))
        if self.fmt == "html":
            from markupsafe import Markup

            return Markup("<p>") + self.join(found, "<br>\n") + Markup("</p>")
        return self.join(found, "  \n" if self.fmt == "md" else "\n")

    def strong(self, text: Any) -> Any:
        if self.fmt == "html":
            from markupsafe import Markup

            return Markup("<strong>") + self.escape(text) + Markup("</strong>")
        return f"**{text}**" if self.fmt == "md" else str(text)

    def heading(self, text: Any) -> Any:
        if self.fmt == "html":
            from markupsafe import Markup

            return Markup("<h2>") + self.escape(text) + Markup("</h2>")
        if self.fmt == "md":
            return f"## {text}"
        return f"{text}\n{'=' * display_width(str(text))}"

    def paragraphs(self, text: Any) -> Any:
        """Block text -> paragraphs: split at blank lines; English wrapped at 78
        columns (md, txt), Chinese indented two characters; in html `<p>`s in
        a `<div class="body">`. The text is already escaped (autoescape)."""
        if self.fmt == "html":
            text = self.escape(text)  # Markup passes; plain text is escaped
        chunks = [c.strip() for c in re.split(r"\n\s*\n", str(text)) if c.strip()]
        glue = "" if self.lang == "zh" else " "
        if self.fmt == "html":
            from markupsafe import Markup

            if not chunks:
                return Markup("")
            body = Markup("\n").join(
                Markup("<p>")
                + Markup(glue.join(x.strip() for x in c.splitlines()))
                + Markup("</p>")
                for c in chunks
            )
            return Markup('<div class="body">\n') + body + Markup("\n</div>")
        out = []
        for chunk in chunks:
            joined = glue.join(x.strip() for x in chunk.splitlines())
            if self.lang == "zh":
                out.append(ZH_INDENT + joined)
            else:
                out.append(_wrap(joined))
        # A trailing newline, so the blank line after `{% endfilter %}` in the
        # template separates this from what follows.
        return "\n\n".join(out) + "\n" if out else ""

    # -- tables

    def table(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        right: Sequence[bool],
        footer: Sequence[tuple[str, str, bool]] = (),
    ) -> Any:
        """A table: `rows` of cells under `headings`; `footer` lines of (label,
        amount, bold) span all columns but the last."""
        if self.fmt == "html":
            return self._html_table(headings, rows, right, footer)
        if self.fmt == "md":
            return self._md_table(headings, rows, right, footer)
        return self._txt_table(headings, rows, right, footer)

    def _md_table(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        right: Sequence[bool],
        footer: Sequence[tuple[str, str, bool]],
    ) -> str:
        def cell(text: str) -> str:
            return text.replace("|", "\\|")

        out = ["| " + " | ".join(cell(h) for h in headings) + " |"]
        out.append("|" + "|".join("---:" if r else "---" for r in right) + "|")
        for row in rows:
            out.append("| " + " | ".join(cell(c) for c in row) + " |")
        blanks = [""] * (len(headings) - 2)
        for label, amount, bold in footer:
            if bold:
                label, amount = f"**{label}**", f"**{amount}**"
            out.append("| " + " | ".join([cell(label), *blanks, amount]) + " |")
        return "\n".join(out)

    def _txt_table(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        right: Sequence[bool],
        footer: Sequence[tuple[str, str, bool]],
    ) -> str:
        widths = [display_width(h) for h in headings]
        for row in rows:
            widths = [
                max(w, display_width(c)) for w, c in zip(widths, row, strict=True)
            ]
        gap = "  "
        span = sum(widths[:-1]) + len(gap) * (len(widths) - 1)
        for label, amount, _bold in footer:
            widths[-1] = max(widths[-1], display_width(amount))
            span = max(span, display_width(label) + len(gap))
        # the label of a footer line may be wider than the columns it spans
        extra = span - (sum(widths[:-1]) + len(gap) * (len(widths) - 1))
        if extra > 0 and len(widths) > 1:
            widths[-2] += extra

        def line(cells: Sequence[str]) -> str:
            return gap.join(
                _pad(c, w, r) for c, w, r in zip(cells, widths, right, strict=True)
            ).rstrip()

        total_width = sum(widths) + len(gap) * (len(widths) - 1)
        out = [line(headings), "-" * total_width]
        out.extend(line(row) for row in rows)
        if footer:
            out.append("-" * total_width)
            label_width = total_width - widths[-1] - len(gap)
            for label, amount, _bold in footer:
                out.append(
                    _pad(label, label_width, False)
                    + gap
                    + _pad(amount, widths[-1], True)
                )
        return "\n".join(out)

    def _html_table(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        right: Sequence[bool],
        footer: Sequence[tuple[str, str, bool]],
    ) -> Any:
        from markupsafe import Markup, escape

        def cells(tag: str, values: Sequence[str]) -> Markup:
            return Markup("").join(
                Markup('<{0} class="num">{1}</{0}>').format(tag, v)
                if r
                else Markup("<{0}>{1}</{0}>").format(tag, v)
                for v, r in zip(values, right, strict=True)
            )

        out = [Markup("<table>"), Markup("<thead><tr>")]
        out.append(cells("th", headings))
        out.append(Markup("</tr></thead>\n<tbody>"))
        for row in rows:
            out.append(Markup("<tr>") + cells("td", row) + Markup("</tr>\n"))
        out.append(Markup("</tbody>"))
        if footer:
            out.append(Markup("<tfoot>"))
            for label, amount, bold in footer:
                tag = "th" if bold else "td"
                row = (
                    '<tr><{0} colspan="{1}">{2}</{0}><{0} class="num">{3}</{0}></tr>\n'
                )
                out.append(
                    Markup(row).format(
                        tag, len(headings) - 1, escape(label), escape(amount)
                    )
                )
            out.append(Markup("</tfoot>"))
        out.append(Markup("</table>"))
        return Markup("").join(out)

    # -- the letter's tables

    def item_label(self, item: LetterItem) -> str:
        if item.instalment:
            return self.words(
                "letter.instalment", invoice=item.invoice, n=item.instalment
            )
        return item.invoice

    def days_text(self, days: int) -> str:
        if days > 0:
            return letter_whole(days, self.lang)
        if days == 0:
            return self.words("letter.due_today")
        return self.words("letter.due_in", n=letter_whole(-days, self.lang))

    def money(self, amount: Decimal) -> str:
        return letter_number(amount, self.letter.currency, self.lang)

    def with_currency(self, heading: str) -> str:
        """`Open (USD)`, `未付金额（USD）`: an amount column's heading."""
        return self.words(
            "letter.with_currency", heading=heading, currency=self.letter.currency
        )

    def demand_table(self) -> Any:
        """The items demanded, then subtotal, interest, fee, unapplied cash, total."""
        letter, w = self.letter, self.words
        items = letter.items
        with_po = any(i.po for i in items)
        with_days = any(i.days > 0 for i in items)
        with_interest = letter.interest_rate > 0
        headings = [w("letter.invoice")]
        right = [False]
        if with_po:
            headings.append(w("letter.po"))
            right.append(False)
        headings += [w("letter.date"), w("due")]
        right += [False, False]
        if with_days:
            headings.append(w("letter.days"))
            right.append(True)
        if with_interest:
            headings.append(w("letter.interest"))
            right.append(True)
        headings.append(self.with_currency(w("letter.open")))
        right.append(True)
        rows = []
        for item in items:
            row = [self.item_label(item)]
            if with_po:
                row.append(item.po or "")
            row += [item.date.isoformat(), item.due.isoformat()]
            if with_days:
                row.append(self.days_text(item.days))
            if with_interest:
                row.append(self.money(item.interest))
            row.append(self.money(item.open))
            rows.append(row)
        footer: list[tuple[str, str, bool]] = []
        extras = letter.interest or letter.fee or letter.unapplied
        if extras:
            key = "subtotal_overdue" if letter.overdue else "subtotal_due"
            footer.append((w(f"letter.{key}"), self.money(letter.principal), False))
        if letter.interest:
            rate = percent(letter.interest_rate, self.lang)
            footer.append(
                (
                    w("letter.interest_line", rate=rate),
                    self.money(letter.interest),
                    False,
                )
            )
        if letter.fee:
            footer.append((w("letter.fee"), self.money(letter.fee), False))
        if letter.unapplied:
            footer.append((w("letter.unapplied"), self.money(-letter.unapplied), False))
        footer.append((w("letter.total"), self.money(letter.total), True))
        return self.table(headings, rows, right, footer)

    def paid_late_table(self) -> Any:
        """The items paid after their due date whose late interest the letter
        charges (`dunning.interest_on_paid_late`), with their total."""
        letter, w = self.letter, self.words
        headings = [
            w("letter.invoice"),
            w("due"),
            w("letter.paid"),
            w("letter.days_late"),
            self.with_currency(w("letter.interest")),
        ]
        rows = [
            [
                self.item_label(i),
                i.due.isoformat(),
                i.paid.isoformat() if i.paid else "",
                letter_whole(i.days, self.lang),
                self.money(i.interest),
            ]
            for i in letter.paid_late
        ]
        total = sum((i.interest for i in letter.paid_late), Decimal(0))
        footer = [(w("letter.interest"), self.money(total), False)]
        return self.table(headings, rows, [False, False, False, True, True], footer)

    def dispute_table(self) -> Any:
        """The items in dispute (listed, never demanded)."""
        letter, w = self.letter, self.words
        headings = [
            w("letter.invoice"),
            w("letter.date"),
            w("due"),
            self.with_currency(w("letter.open")),
        ]
        rows = [
            [
                self.item_label(i),
                i.date.isoformat(),
                i.due.isoformat(),
                self.money(i.open),
            ]
            for i in letter.disputed
        ]
        return self.table(headings, rows, [False, False, False, True])


def letter_templates(letter: Letter, fmt: str) -> list[str]:
    """The templates tried for a letter, in order: `first.zh.txt.j2`, then
    `first.zh.md.j2` (whose layout writes any format)."""
    names = [f"{letter.level}.{letter.language}.{fmt}.j2"]
    if fmt != "md":
        names.append(f"{letter.level}.{letter.language}.md.j2")
    return names


def letter_context(letter: Letter, settings: Settings, fmt: str) -> dict[str, Any]:
    """What a letter template sees.

    `letter` (a `reports.dunning.Letter`), `company` (settings.company), `fmt`
    (md/txt/html), `lang`, `title` (the level's heading and e-mail subject),
    `contact_name` (the contact without its department, or None), `amount`
    (the total with its currency: `USD 16,668.90`), `total_capital` (the total
    in Chinese capitals), `n_items`, `rate` (the interest rate as `8.00%`),
    what the history backs — `earlier_letters` ((date, level) of the letters
    recorded earlier in this episode, oldest first), `written_before`,
    `times_written`, `last_written` (the date of the last one, or None),
    `promise_on_record` (a promise to pay or a collection plan is recorded:
    never write "no proposal to pay"), `first_notice` (no earlier letter) —
    and the helpers `lines(...)`, `strong(text)`, `heading(text)`,
    `demand_table()`, `dispute_table()`, `paid_late_table()` (items paid
    late whose interest the letter charges, `letter.paid_late`); the filter
    `paragraphs` lays out a block's text.
    """
    from arledger.mail import title

    writer = _Writer(fmt, letter.language, letter)
    earlier = [(day, level) for day, level in letter.previous if day < letter.as_of]
    return {
        "earlier_letters": earlier,
        "written_before": bool(earlier),
        "times_written": len(earlier),
        "last_written": earlier[-1][0] if earlier else None,
        "first_notice": not earlier,
        "promise_on_record": letter.promise_on_record,
        "letter": letter,
        "company": settings.company.in_language(letter.language),
        "fmt": fmt,
        "lang": letter.language,
        "title": title(letter.level, letter.language),
        "contact_name": contact_name(letter.contact),
        "amount": letter_amount(letter.total, letter.currency, letter.language),
        "n_items": len(letter.items),
        "rate": percent(letter.interest_rate, letter.language),
        "total_capital": zh_capital(letter.total, letter.currency),
        "lines": writer.lines,
        "strong": writer.strong,
        "heading": writer.heading,
        "demand_table": writer.demand_table,
        "dispute_table": writer.dispute_table,
        "paid_late_table": writer.paid_late_table,
        "_writer": writer,
    }


@functools.lru_cache(maxsize=8)
def letter_environment(ledger_root: Path | None, fmt: str) -> jinja2.Environment:
    """`environment(ledger_root)` set up for letters in `fmt`: made once per
    ledger and format, so a run of a thousand letters compiles each template
    once (Jinja2 caches compiled templates per environment).

    For html every template is autoescaped, whatever its name, so a level
    template written once (`first.en.md.j2`) is safe in an html letter too.
    """
    import jinja2

    env = environment(ledger_root)
    if fmt == "html":
        env.autoescape = True

    @jinja2.pass_context
    def paragraphs(context: Any, text: Any) -> Any:
        return context["_writer"].paragraphs(text)

    # By the letter's locale (Babel): `date` (31 October 2026, 2026年10月31日),
    # `money(currency)` (16,668.90), `amount(currency)` (USD 16,668.90),
    # `number` (1,200), `percent` (8.00%).
    @jinja2.pass_context
    def date_filter(context: Any, day: date | None) -> str:
        return letter_date(day, context["lang"])

    @jinja2.pass_context
    def money(
        context: Any, amount: Decimal, currency: str, grouping: bool = True
    ) -> str:
        if not grouping:
            return plain(amount, currency)
        return letter_number(amount, currency, context["lang"])

    @jinja2.pass_context
    def amount(context: Any, value: Decimal, currency: str) -> str:
        return letter_amount(value, currency, context["lang"])

    @jinja2.pass_context
    def number(context: Any, value: int) -> str:
        return letter_whole(value, context["lang"])

    @jinja2.pass_context
    def percent_filter(context: Any, rate: Decimal) -> str:
        return percent(rate, context["lang"])

    env.filters["paragraphs"] = paragraphs
    env.filters["date"] = date_filter
    env.filters["money"] = money
    env.filters["amount"] = amount
    env.filters["number"] = number
    env.filters["long_date"] = long_date
    env.filters["percent"] = percent_filter
    env.filters["zh_capital"] = zh_capital
    return env


def render_letter(
    letter: Letter,
    fmt: str,
    *,
    settings: Settings,
    ledger_root: Path | None = None,
    env: jinja2.Environment | None = None,
) -> str:
    """A letter as md, txt or html text.

    Raises:
        TemplateProblem: no template for the letter's level and language, or the
            template is broken; the message starts with FILE:LINE.
    """
    if fmt not in LETTER_FORMATS:
        raise ArledgerError(
            f"unknown letter format {fmt!r}; choose one of {', '.join(LETTER_FORMATS)}"
        )
    env = env or letter_environment(ledger_root, fmt)
    names = letter_templates(letter, fmt)
    try:
        text = _render(env, names, letter_context(letter, settings, fmt), ledger_root)
    except TemplateProblem as exc:
        if str(exc) == f"template {names[0]!r} not found":
            raise TemplateProblem(
                f"no template for level {letter.level!r} in {letter.language!r}: "
                f"add templates/{names[-1]} to the ledger"
            ) from None
        raise
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def letter_message(
    letter: Letter,
    *,
    settings: Settings,
    ledger_root: Path | None = None,
    now: datetime,
) -> EmailMessage:
    """A letter as an e-mail: the txt letter with the html letter as alternative."""
    from arledger import mail

    text = render_letter(letter, "txt", settings=settings, ledger_root=ledger_root)
    html = render_letter(letter, "html", settings=settings, ledger_root=ledger_root)
    reply_to = settings.company.email
    from_address = mail.sender(settings)
    if reply_to and reply_to in from_address:
        reply_to = None
    return mail.build_message(
        letter,
        subject=mail.subject(letter, settings.company.name),
        text=text,
        html=html,
        from_address=from_address,
        now=now,
        reply_to=reply_to,
    )


def missing_templates(ledger: Ledger) -> list[LedgerError]:
    """Warnings for `check` (SPEC §13): a dunning level (a letter, not a task)
    without a template in a language some customer uses (`dunning` would stop
    at that letter).

    A level's template is `LEVEL.LANG.md.j2` in the ledger's `templates/` or
    built in (the md template writes every format). Each warning points at the
    level's name in arledger.yaml.
    """
    from arledger.errors import LedgerError, Source

    languages: dict[str, list[str]] = {}
    for customer in ledger.customers.values():
        used = customer.language or ledger.settings.language
        languages.setdefault(used, []).append(customer.id)
    own = ledger.root / "templates"
    lines: dict[int, int] | None = None  # read once a warning needs them
    found = []
    for n, level in enumerate(ledger.settings.dunning.levels):
        if level.action != "letter":
            continue  # a task on the worklist: nothing to write
        for language, customers in sorted(languages.items()):
            name = f"{level.name}.{language}.md.j2"
            if (own / name).is_file() or (BUILTIN / name).is_file():
                continue
            who = ", ".join(customers[:3]) + (
                f" and {len(customers) - 3} more" if len(customers) > 3 else ""
            )
            if lines is None:  # PyYAML, which knows every key's line
                lines = _level_lines(ledger.root / "arledger.yaml")
            found.append(
                LedgerError(
                    Source("arledger.yaml", lines.get(n, 1)),
                    f"dunning level {level.name!r} has no letter template in "
                    f"{language!r} (customers {who}): add templates/{name}, or "
                    "keep the built-in level names (reminder, first, second, "
                    "final, legal)",
                    warning=True,
                )
            )
    return found


def _level_lines(settings_file: Path) -> dict[int, int]:
    """The line of each `dunning.levels` entry's name in arledger.yaml (1-based)."""
    import yaml

    try:
        node = yaml.compose(settings_file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}

    def child(parent: Any, key: str) -> Any:
        if isinstance(parent, yaml.MappingNode):
            for k, v in parent.value:
                if getattr(k, "value", None) == key:
                    return v
        return None

    levels = child(child(node, "dunning"), "levels")
    if not isinstance(levels, yaml.SequenceNode):
        return {}
    found = {}
    for n, entry in enumerate(levels.value):
        name = child(entry, "name")
        found[n] = (name or entry).start_mark.line + 1
    return found
