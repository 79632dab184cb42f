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
    from arledger.reports.overdue import CurrencyOverdue
    from arledger.reports.workbook import WorkbookData

TOP_OVERDUE = 10  # customers on the Summary


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
    overdue = {s.currency: s for s in data.overdue.sections}
    aging = {s.currency: s for s in data.aging.sections}
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
        not_due = {c: (o.total_open - o.overdue) for c, o in overdue.items()}
        for currency, aged in aging.items():
            not_due.setdefault(currency, sum(aged.buckets, ZERO))
        figure("not_due", words("not_due"), "money", linked("aging_current", not_due))
        figure("overdue", words("overdue_amount"), "money",
               linked("overdue_total", zero))  # fmt: skip
        rates: dict[str, Any] = {}
        for i, currency in enumerate(currencies, 2):
            col = letter(i)
            late = overdue.get(currency)
            open_total = (
                sum(aging[currency].buckets, ZERO) if currency in aging else ZERO
            )
            if open_total:
                rates[currency] = Formula(
                    f"={col}{rows['overdue']}/{col}{rows['open_items']}",
                    (late.overdue if late else ZERO) / open_total,
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
        for currency in currencies:
            late = overdue.get(currency)
            if late is not None:
                start = grid.next
                _top_overdue(grid, words, late, currency)
                grid.keep(start)
                grid.skip(2)
    book.write(
        Plan(
            title,
            grid.rows,
            plan_widths(grid.rows, columns=TOP_COLUMNS),
            freeze="A4",
            keep=grid.kept,
        ),
        index=0,
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
    grid: Grid, words: Words, section: CurrencyOverdue, currency: str
) -> None:
    """The customers with the most overdue, with their oldest item and owners."""
    by_customer: dict[str, list[Any]] = {}
    for o in section.items:
        entry = by_customer.setdefault(o.item.customer, [o.name, ZERO, 0, 0, set()])
        entry[1] += o.item.open
        entry[2] = max(entry[2], o.days)
        entry[3] += 1
        if o.item.owner:
            entry[4].add(o.item.owner)
    ranked = sorted(by_customer.items(), key=lambda kv: (-kv[1][1], kv[0]))
    top = ranked[:TOP_OVERDUE]
    grid.add(
        C(
            words(
                "top_overdue", count=min(TOP_OVERDUE, len(ranked)), currency=currency
            ),
            "block",
        )
    )
    columns = [Col(c.key, words(c.label), c.kind, c.total, c.wrap) for c in TOP_COLUMNS]
    total = section.overdue
    rows = [
        [
            entry[0],
            customer,
            entry[1],
            entry[1] / total if total else None,
            entry[2],
            entry[3],
            ", ".join(sorted(entry[4])) or None,
        ]
        for customer, entry in top
    ]
    add_table(grid, columns, rows, currency=currency, total_label=words("total"))


def _currencies(data: WorkbookData) -> list[str]:
    found = {s.currency for s in data.aging.sections}
    found |= {s.currency for s in data.collection.sections}
    found |= {s.currency for s in data.risk.sections}
    found |= {s.currency for s in data.forecast.sections}
    return sorted(found)
