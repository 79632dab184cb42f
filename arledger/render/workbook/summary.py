"""The Summary sheet: the key figures per currency, linked to the other sheets'
totals, and the customers with the most overdue."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arledger.money import ZERO
from arledger.render.workbook.layout import (
    NAME_WIDTH,
    Anchors,
    C,
    Col,
    Formula,
    Grid,
    Plan,
    Row,
    add_table,
    letter,
    plan_widths,
    quote_sheet,
    typed,
)

if TYPE_CHECKING:
    from arledger.labels import Words
    from arledger.render.workbook.book import Book
    from arledger.reports.composition import CurrencyComposition
    from arledger.reports.workbook import WorkbookData


def summary_sheet(book: Book, anchors: Anchors) -> None:
    data, words = book.data, book.words
    currencies = _currencies(data)
    title = book.title("summary")
    grid = Grid()
    book.heading(grid, words("title.summary", as_of=data.as_of.isoformat()))
    if not currencies:
        grid.add(words("nothing"))
    risk = {s.currency: s for s in data.risk.sections}
    forecast = {s.currency: s for s in data.forecast.sections}
    parts = {s.currency: s for s in data.composition.sections}
    if currencies:
        grid.add(
            C(words("key_figures"), "header"),
            *(C(currency, "header_r") for currency in currencies),
        )
        rows: dict[str, int] = {}

        def link(currency: str, name: str) -> Any:
            found = anchors.get(currency, {}).get(name)
            if found is None:
                return None
            sheet, cell, value = found
            ref = f"{quote_sheet(sheet)}!{cell}"
            text = f"=SUM({ref})" if ":" in cell else f"={ref}"
            return Formula(text, value)

        def figure(
            name: str, label: str, kind: str, values: dict[str, Any], bold: bool = False
        ) -> None:
            cells: Row = [C(label, "text_b" if bold else None)]
            for currency in currencies:
                cells.append(typed(values.get(currency), kind, currency, total=bold))
            rows[name] = grid.add(*cells)

        def linked(name: str, fallback: dict[str, Any]) -> dict[str, Any]:
            out = {}
            for currency in currencies:
                out[currency] = link(currency, name) or fallback.get(currency)
            return out

        zero = {c: ZERO for c in currencies}
        figure("net_ar", words("net_ar"), "money",
               linked("aging_total", zero), bold=True)  # fmt: skip
        figure("open_items", words("open_items"), "money", linked("aging_open", zero))
        figure("unapplied", words("unapplied_credit"), "money",
               linked("aging_unapplied", zero))  # fmt: skip
        not_due = {c: s.not_due for c, s in parts.items()}
        figure("not_due", words("not_due"), "money", linked("aging_current", not_due))
        figure("overdue", words("overdue_amount"), "money",
               linked("overdue_total", zero))  # fmt: skip
        rates: dict[str, Any] = {}
        for i, currency in enumerate(currencies, 2):
            col = letter(i)
            part = parts.get(currency)
            if part is not None and part.overdue_rate is not None:
                rates[currency] = Formula(
                    f"={col}{rows['overdue']}/{col}{rows['open_items']}",
                    part.overdue_rate,
                )
        figure("overdue_rate", words("overdue_rate"), "ratio", rates)
        grid.skip()
        period = data.collection.period
        grid.add(
            C(
                words(
                    "collection_period",
                    period=period.label,
                    start=period.start.isoformat(),
                    end=period.end.isoformat(),
                ),
                "header",
            ),
            *(C(currency, "header_r") for currency in currencies),
        )
        figure("collected", words("collected").lstrip("− "), "money",
               linked("collected", {}))  # fmt: skip
        figure("collection_rate", words("collection_rate"), "ratio",
               linked("collection_rate", {}))  # fmt: skip
        figure("dso", words("dso"), "days", linked("dso", {}))
        figure("cei", words("cei"), "ratio", linked("cei", {}))
        figure("avg_days_to_pay", words("avg_days_to_pay_long"), "days",
               linked("avg_days_to_pay", {}))  # fmt: skip
        grid.skip()
        figure("on_hold", words("on_hold"), "int",
               {c: s.on_hold for c, s in risk.items()})  # fmt: skip
        figure("exposure_on_hold", words("exposure_on_hold"), "money",
               {c: s.exposure_on_hold for c, s in risk.items()})  # fmt: skip
        figure(
            "expected",
            words("expected_cash", count=data.forecast.horizon),
            "money",
            {c: s.within_horizon for c, s in forecast.items()},
        )
        grid.skip(2)
        overdue = {s.currency for s in data.overdue.sections}
        for currency in currencies:
            if currency in overdue:
                start = grid.next
                _top_overdue(grid, words, parts[currency], currency)
                grid.keep(start)
                grid.skip(2)
    book.write(
        Plan(
            title,
            grid.rows,
            plan_widths(grid.rows, columns=TOP_COLUMNS),
            freeze="A4",
            keep=grid.kept,
        )
    )


# The Summary's top overdue customers (labels are keys of LABELS).
TOP_COLUMNS = (
    Col("name", "name", wrap=NAME_WIDTH),
    Col("customer", "customer"),
    Col("overdue", "overdue", "money", True),
    Col("overdue_share", "overdue_share", "ratio", True),
    Col("oldest_days", "oldest_days", "int"),
    Col("items", "items", "int", True),
    Col("owner", "owner", wrap=NAME_WIDTH),
)


def _top_overdue(
    grid: Grid, words: Words, part: CurrencyComposition, currency: str
) -> None:
    """The customers with the most overdue, with their oldest item and owners."""
    grid.add(C(words("top_overdue", count=len(part.top), currency=currency), "block"))
    columns = [Col(c.key, words(c.label), c.kind, c.total, c.wrap) for c in TOP_COLUMNS]
    rows = [
        [
            c.name,
            c.customer,
            c.overdue,
            c.share,
            c.oldest_days,
            c.items,
            ", ".join(c.owners) or None,
        ]
        for c in part.top
    ]
    add_table(grid, columns, rows, currency=currency, total_label=words("total"))


def _currencies(data: WorkbookData) -> list[str]:
    found = {s.currency for s in data.aging.sections}
    found |= {s.currency for s in data.collection.sections}
    found |= {s.currency for s in data.risk.sections}
    found |= {s.currency for s in data.forecast.sections}
    return sorted(found)
