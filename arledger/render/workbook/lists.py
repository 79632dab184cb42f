"""The long lists, one sheet per currency when there are several: Open items,
Overdue and the day's Worklist; their rows are streamed, not held."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any, NamedTuple

from arledger.money import ZERO
from arledger.render.workbook.layout import (
    CONTACT_WIDTH,
    NAME_WIDTH,
    OWNER_WIDTH,
    Anchors,
    C,
    Col,
    Grid,
    Plan,
    Row,
    Rule,
    add_anchor,
    age_rules,
    heading_width,
    letter,
    plan_widths,
    table_rows,
    typed,
)

if TYPE_CHECKING:
    from arledger.render.workbook.book import Book
    from arledger.reports.aging import CurrencyAging
    from arledger.reports.overdue import CurrencyOverdue


SAMPLE = 500  # a list's first rows, from which its column widths are measured


class ListSection(NamedTuple):
    """One currency of a long list, streamed."""

    currency: str
    size: int  # rows
    rows: Iterable[Sequence[Any]]
    sample: Sequence[Sequence[Any]]  # the first rows, for the column widths
    total: Decimal  # the `open` column's total


def list_sheet(
    book: Book,
    key: str,
    heading: str,
    sections: Sequence[ListSection],
    columns: Sequence[Col],
    days_key: str,
    shade: Sequence[str],
    empty: str,
    anchors: Anchors | None = None,
    anchor_name: str | None = None,
) -> None:
    """One sheet per currency (just `key` with one currency) of a long list.

    Args:
        sections: per currency, its rows.
        days_key: the column whose age shades `shade` columns.
    """
    words = book.words
    result = book.data.aging
    if not sections:
        grid = Grid()
        book.heading(grid, heading)
        grid.add(empty)
        book.write(Plan(book.title(key), grid.rows, plan_widths(grid.rows)))
        return
    several = len(sections) > 1
    header = 5
    letters = {c.key: letter(i) for i, c in enumerate(columns, 1)}
    for currency, count, rows, sample, total in sections:
        title = book.title(key, currency if several else None)
        top_rows: list[Row] = [
            [C(heading, "title")],
            [C(book.subtitle(), "subtitle") if book.subtitle() else None],
            [],
            [C(words("block", currency=currency), "block")],
        ]
        # Widths from the sample as it will be written, and the real total.
        measured = list(
            table_rows(
                columns,
                sample,
                first=header,
                count=len(sample),
                currency=currency,
                total_label=words("total"),
            )
        )
        measured.append(
            [
                typed(total, "money", currency, True) if c.key == "open" else None
                for c in columns
            ]  # fmt: skip
        )
        widths = plan_widths(measured, columns=columns)

        def planned(
            rows: Iterable[Sequence[Any]] = rows,
            currency: str = currency,
            count: int = count,
            top_rows: list[Row] = top_rows,
            title: str = title,
        ) -> Iterator[Row]:
            yield from top_rows
            sums: dict[str, Decimal | int] = {}
            yield from table_rows(
                columns,
                rows,
                first=header,
                count=count,
                currency=currency,
                total_label=words("total"),
                sums=sums,
            )
            if anchors is not None and anchor_name is not None:
                total_cell = f"${letters['open']}${header + count + 1}"
                add_anchor(
                    anchors, currency, anchor_name, title, total_cell, sums["open"]
                )

        last = header + count
        rules: list[Rule] = []
        if count:
            for name in shade:
                ref = f"{letters[name]}{header + 1}:{letters[name]}{last}"
                rules.extend(
                    age_rules(
                        ref,
                        letters[days_key],
                        header + 1,
                        result.limits,
                        result.basis if key == "open_items" else "due",
                    )
                )
        book.write(
            Plan(
                title,
                planned(),
                widths,
                freeze=f"C{header + 1}",
                print_rows=f"{header}:{header}",
                autofilter=f"A{header}:{letter(len(columns))}{max(last, header)}",
                rules=rules,
                heading=heading_width(top_rows),
            )
        )


def open_items_sheets(book: Book) -> None:
    data, words = book.data, book.words
    result = data.aging
    basis = result.basis
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("invoice", words("invoice")),
        Col("item", words("item"), "int"),
        Col("date", words("date"), "date"),
        Col("due", words("due"), "date"),
        Col("days", words("days" if basis == "due" else "days.invoice"), "int"),
        Col("bucket", words("bucket")),
        Col("open", words("open"), "money", True),
        Col("owner", words("owner")),
        Col("disputed", words("disputed")),
    ]
    labels = [words(label) for label in result.labels]
    unapplied = words("bucket.unapplied")
    disputed = words("mark.disputed")

    def rows(section: CurrencyAging) -> Iterator[tuple[Any, ...]]:
        for customer in section.customers:
            name = customer.name
            for aged in customer.items:
                item = aged.item
                yield (
                    item.customer,
                    name,
                    item.invoice,
                    item.instalment,
                    item.date,
                    item.due,
                    aged.days,
                    labels[aged.bucket],
                    item.open,
                    item.owner,
                    disputed if item.disputed else None,
                )
            if customer.unapplied:
                yield (
                    customer.customer,
                    name,
                    None,
                    None,
                    None,
                    None,
                    None,
                    unapplied,
                    customer.unapplied,
                    None,
                    None,
                )

    sections = []
    for section in result.sections:
        count = sum(len(c.items) + (1 if c.unapplied else 0) for c in section.customers)
        sample = list(islice(rows(section), SAMPLE))
        sections.append(
            ListSection(section.currency, count, rows(section), sample, section.total)
        )
    list_sheet(
        book,
        "open_items",
        words("title.open_items", as_of=data.as_of.isoformat()),
        sections,
        columns,
        "days",
        ("days", "bucket", "open"),
        words("nothing"),
    )


def overdue_sheets(book: Book, anchors: Anchors) -> None:
    data, words = book.data, book.words
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("invoice", words("invoice")),
        Col("item", words("item"), "int"),
        Col("due", words("due"), "date"),
        Col("days", words("days"), "int"),
        Col("open", words("open"), "money", True),
        Col("owner", words("owner"), wrap=OWNER_WIDTH),
        Col("contact", words("contact"), wrap=CONTACT_WIDTH),
        Col("disputed", words("disputed")),
        Col("last_contact", words("last_contact"), "date"),
        Col("promise", words("promise")),
        Col("promise_date", words("promise_date"), "date"),
        Col("promise_amount", words("promise_amount"), "money"),
    ]
    disputed = words("mark.disputed")

    def rows(section: CurrencyOverdue) -> Iterator[tuple[Any, ...]]:
        for o in section.items:
            item = o.item
            contact = o.follow_up.last_contact
            promise = o.follow_up.promise
            yield (
                item.customer,
                o.name,
                item.invoice,
                item.instalment,
                item.due,
                o.days,
                item.open,
                item.owner,
                o.contact,
                disputed if item.disputed else None,
                contact.date if contact else None,
                words(f"promise.{promise.status}") if promise else None,
                promise.due if promise else None,
                promise.amount if promise else None,
            )

    sections = []
    for section in data.overdue.sections:
        sample = list(islice(rows(section), SAMPLE))
        sections.append(
            ListSection(
                section.currency,
                len(section.items),
                rows(section),
                sample,
                section.overdue,
            )
        )
    list_sheet(
        book,
        "overdue",
        words("title.overdue", as_of=data.as_of.isoformat()),
        sections,
        columns,
        "days",
        ("days", "open"),
        words("no_overdue"),
        anchors,
        "overdue_total",
    )


def worklist_sheet(book: Book) -> None:
    """The day's dunning tasks (`dunning --worklist`, the same report): whom to
    call or visit, how to reach them, what is owed and since when, the last
    contact and the promise to watch, and whether the step is done."""
    data, words = book.data, book.words
    columns = [
        Col("owner", words("owner"), wrap=OWNER_WIDTH),
        Col("task", words("task")),
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("contact", words("contact"), wrap=CONTACT_WIDTH),
        Col("open", words("owed"), "money", True),
        Col("since", words("since"), "date"),
        Col("days", words("days"), "int"),
        Col("last_contact", words("last_contact"), "date"),
        Col("channel", words("channel")),
        Col("promise", words("promise")),
        Col("promise_date", words("promise_date"), "date"),
        Col("promise_amount", words("promise_amount"), "money"),
        Col("status", words("status")),
    ]

    def word(prefix: str, value: Any) -> Any:
        return words(f"{prefix}.{value}") if value is not None else None

    def status(text: str) -> str:
        # the report's `to do` / `done DATE`, in the workbook's language
        if text.startswith("done "):
            return words("status.done", date=text.removeprefix("done "))
        return words("status.todo")

    def rows(section: Any) -> Iterator[tuple[Any, ...]]:
        for row in section.rows:
            yield (
                row["owner"],
                word("task", row["task"]),
                row["customer"],
                row["name"],
                row["contact"],
                row["amount"],
                row["since"],
                row["days"],
                row["last_contact"],
                word("channel", row["channel"]),
                word("promise", row["promise"]),
                row["promise_date"],
                row["promise_amount"],
                status(row["status"]),
            )

    report = data.worklist
    sections = [
        ListSection(
            section.currency or "",
            len(section.rows),
            rows(section),
            list(islice(rows(section), SAMPLE)),
            section.totals["amount"] if section.totals else ZERO,
        )
        for section in (report.sections if report is not None else ())
        if section.rows
    ]
    list_sheet(
        book,
        "worklist",
        words("title.worklist", as_of=data.as_of.isoformat()),
        sections,
        columns,
        "days",
        ("days", "open"),
        words("no_tasks"),
    )
