"""The sheets of blocks, one per currency: Aging (with its chart), Collection,
Risk, Forecast, Trend (with its chart), Allowance and Movement."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arledger.money import ZERO
from arledger.render.workbook.layout import (
    CHART_COLOURS,
    NAME_WIDTH,
    REASONS_WIDTH,
    Anchors,
    C,
    Chart,
    Col,
    Formula,
    Grid,
    Plan,
    Rule,
    Series,
    Span,
    add_anchor,
    add_table,
    age_fills,
    block_panes,
    bucket_shading,
    letter,
    plan_widths,
    quote_sheet,
    shading,
    style_of,
    typed,
)

if TYPE_CHECKING:
    from arledger.labels import Words
    from arledger.render.workbook.book import Book
    from arledger.reports.collection import CurrencyCollection


def write_blocks(
    book: Book,
    title: str,
    grid: Grid,
    headers: list[int],
    *,
    columns: Sequence[Col] = (),
    frozen: int = 1,
    filtered: int | None = None,
    rules: list[Rule] | None = None,
    charts: list[tuple[Chart, str]] | None = None,
) -> None:
    """Write a sheet of blocks, one per currency (`headers`: each block's
    header row), frozen and printed as `block_panes` says (`frozen`: the
    columns kept in view). `filtered`: the rows of a block under its header;
    a sheet of one block gets an autofilter over them."""
    freeze, print_rows = block_panes(
        len(headers), headers[0] if headers else None, frozen
    )
    autofilter = None
    if filtered is not None and len(headers) == 1:
        autofilter = f"A{headers[0]}:{letter(len(columns))}{headers[0] + filtered}"
    book.write(
        Plan(
            title,
            grid.rows,
            plan_widths(grid.rows, columns=columns),
            freeze=freeze,
            print_rows=print_rows,
            autofilter=autofilter,
            rules=rules or [],
            charts=charts or [],
            keep=grid.kept,
        )
    )


def aging_sheet(book: Book, anchors: Anchors) -> None:
    data, words = book.data, book.words
    result = data.aging
    title = book.title("aging")
    grid = Grid()
    book.heading(grid, words("title.aging", as_of=data.as_of.isoformat()))
    labels = [words(label) for label in result.labels]
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        *(Col(f"bucket{i}", label, "money", True) for i, label in enumerate(labels)),
        Col("unapplied", words("unapplied"), "money", True),
        Col("total", words("net_ar.column"), "money", True),
        Col("key_account", words("key_account")),
        Col("hold", words("hold")),
    ]
    n = len(labels)
    first_bucket, unapplied_col, total_col = 3, 3 + n, 4 + n
    overdue_from = 1  # bucket 0 is Current (basis due) or the youngest (invoice)
    fills = age_fills(n - overdue_from)
    plan_rules: list[Rule] = []
    charts: list[tuple[Chart, str]] = []
    headers: list[int] = []
    if not result.sections:
        grid.add(words("nothing"))
    for section in result.sections:
        currency = section.currency
        start = grid.add(C(words("block", currency=currency), "block"))
        header = grid.next
        headers.append(header)

        def row_total(r: int) -> str:
            return f"=SUM({letter(first_bucket)}{r}:{letter(unapplied_col)}{r})"

        rows = []
        for i, customer in enumerate(section.customers):
            r = header + 1 + i
            rows.append(
                [
                    customer.customer,
                    customer.name,
                    *customer.buckets,
                    customer.unapplied,
                    Formula(row_total(r), customer.total),
                    words("mark.key_account") if customer.key_account else None,
                    words("mark.hold") if customer.hold else None,
                ]
            )
        span = add_table(
            grid, columns, rows, currency=currency, total_label=words("total")
        )
        total_row = span.total
        assert total_row is not None
        # Each bucket's share of the total, as formulas.
        if section.total:
            total_ref = f"${letter(total_col)}${total_row}"
            grid.add(
                C(words("share"), "text"),
                None,
                *(
                    C(
                        Formula(
                            f"={letter(first_bucket + i)}{total_row}/{total_ref}",
                            section.buckets[i] / section.total,
                        ),
                        "ratio",
                    )
                    for i in range(n)
                ),
            )
        grid.keep(start)
        shaded = [letter(first_bucket + overdue_from + i) for i in range(len(fills))]
        plan_rules.extend(bucket_shading(shaded, span.first, span.last, fills))
        # A bar chart of the buckets (the totals row), under the block: beside
        # it, it would widen the printed page and shrink the table.
        q = quote_sheet(title)
        last_bucket = letter(first_bucket + n - 1)
        colours = CHART_COLOURS if result.basis == "due" else CHART_COLOURS[1:]
        chart = Chart(
            words("chart.aging", currency=currency),
            [
                Series(
                    f"{q}!${letter(first_bucket)}${total_row}:${last_bucket}${total_row}",
                    f"{q}!${letter(first_bucket)}${header}:${last_bucket}${header}",
                    points=tuple(colours[min(i, len(colours) - 1)] for i in range(n)),
                )
            ],
            width=15,
            height=7.5,
        )
        grid.skip()
        anchor_row = grid.next
        charts.append((chart, f"A{anchor_row}"))
        add_anchor(
            anchors,
            currency,
            "aging_total",
            title,
            f"${letter(total_col)}${total_row}",
            span.sums["total"],
        )
        add_anchor(
            anchors,
            currency,
            "aging_unapplied",
            title,
            f"${letter(unapplied_col)}${total_row}",
            span.sums["unapplied"],
        )
        add_anchor(
            anchors,
            currency,
            "aging_open",
            title,
            f"${letter(first_bucket)}${total_row}:${last_bucket}${total_row}",
            sum(section.buckets, ZERO),
        )
        if result.basis == "due":
            add_anchor(
                anchors,
                currency,
                "aging_current",
                title,
                f"${letter(first_bucket)}${total_row}",
                span.sums["bucket0"],
            )
        # Leave room for the chart before the next block (15 rows ~ 7.5 cm).
        grid.pad_to(anchor_row + 17)
        grid.keep(anchor_row - 1, anchor_row + 15)  # a blank row over the chart
    grid.add(C(words(f"basis.{result.basis}"), "subtitle"))
    write_blocks(
        book,
        title,
        grid,
        headers,
        columns=columns,
        frozen=2,
        filtered=len(result.sections[0].customers) if result.sections else None,
        rules=plan_rules,
        charts=charts,
    )


def collection_sheet(book: Book, anchors: Anchors) -> None:
    data, words = book.data, book.words
    result = data.collection
    period = result.period
    title = book.title("collection")
    grid = Grid()
    book.heading(
        grid,
        words(
            "title.collection",
            period=period.label,
            start=period.start.isoformat(),
            end=period.end.isoformat(),
        ),
    )
    if not result.sections:
        grid.add(words("nothing"))
    amounts = ("opening", "invoiced", "collected", "credited", "written_off")
    for section in result.sections:
        currency = section.currency
        figures = section.total
        start = grid.add(C(words("roll_forward", currency=currency), "block"))
        grid.add(C(period.label, "header"), C(words("amount"), "header_r"))
        cells: dict[str, str] = {}
        for key in amounts:
            label = words(f"rf.{key}") if key == "written_off" else words(key)
            row = grid.add(label, typed(getattr(figures, key), "money", currency))
            cells[key] = f"B{row}"
        closing = (
            figures.opening
            + figures.invoiced
            - figures.collected
            - figures.credited
            - figures.written_off
        )
        row = grid.add(
            C(words("closing"), "text_b"),
            C(
                Formula(
                    "={opening}+{invoiced}-{collected}-{credited}-{written_off}".format(
                        **cells
                    ),
                    closing,
                ),
                style_of("money", currency, True),
            ),
        )
        cells["closing"] = f"B{row}"
        for key in ("closing_current", "received"):
            row = grid.add(words(key), typed(getattr(figures, key), "money", currency))
            cells[key] = f"B{row}"
        grid.keep(start)
        grid.skip()
        start = grid.add(C(words("metrics"), "header"), C(None, "header"))
        metrics = (
            ("collection_rate", figures.collection_rate, "ratio"),
            ("sales_collection_rate", figures.sales_collection_rate, "ratio"),
            ("dso", figures.dso, "days"),
            ("cei", figures.cei, "ratio"),
            ("avg_days_to_pay", figures.avg_days_to_pay, "days"),
            ("avg_days_late", figures.avg_days_late, "days"),
        )
        for key, value, kind in metrics:
            row = grid.add(words(key), typed(value, kind, currency))
            cells[key] = f"B{row}"
        grid.keep(start)
        kinds = {"collected": "money", **{key: kind for key, _, kind in metrics}}
        for key in ("collected", "collection_rate", "dso", "cei", "avg_days_to_pay"):
            planned = typed(getattr(figures, key), kinds[key], currency)
            if planned is None:
                continue
            # The Summary links here; its cached value is what this cell holds
            # (days rounded to one place).
            add_anchor(
                anchors, currency, key, title, f"$B${cells[key][1:]}", planned.value
            )
        grid.skip()
        start = grid.add(C(words("by_owner", currency=currency), "block"))
        _owner_table(grid, words, section, currency)
        grid.keep(start)
        grid.skip(2)
    book.write(
        Plan(
            title,
            grid.rows,
            plan_widths(grid.rows),
            freeze="A4",
            keep=grid.kept,
        )
    )


def _owner_table(
    grid: Grid, words: Words, section: CurrencyCollection, currency: str
) -> Span:
    from arledger.reports.collection import figures_row

    keys = (
        ("opening", "money"),
        ("invoiced", "money"),
        ("collected", "money"),
        ("credited", "money"),
        ("written_off", "money"),
        ("closing", "money"),
        ("closing_current", "money"),
        ("received", "money"),
        ("collection_rate", "ratio"),
        ("sales_collection_rate", "ratio"),
        ("dso", "days"),
        ("cei", "ratio"),
        ("avg_days_to_pay", "days"),
        ("avg_days_late", "days"),
    )
    columns = [Col("owner", words("owner"))] + [
        Col(key, words(key).lstrip("+−= "), kind, kind == "money") for key, kind in keys
    ]
    rows = []
    for row in section.rows:
        figures = figures_row(row.figures)
        rows.append(
            [row.key if row.key is not None else words("no_owner")]
            + [figures[key] for key, _ in keys]
        )
    return add_table(
        grid,
        columns,
        rows,
        currency=currency,
        total_label=words("total"),
        totals=figures_row(section.total),
    )


# -- Risk


def risk_sheet(book: Book) -> None:
    data, words = book.data, book.words
    result = data.risk
    title = book.title("risk")
    grid = Grid()
    book.heading(grid, words("title.risk", as_of=data.as_of.isoformat()))
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("exposure", words("exposure"), "money", True),
        Col("credit_limit", words("credit_limit"), "money"),
        Col("limit_used", words("limit_used"), "ratio"),
        Col("overdue", words("overdue"), "money", True),
        Col("oldest_days", words("oldest_days"), "int"),
        Col("on_time_ratio", words("on_time_ratio"), "ratio"),
        Col("avg_days_late", words("avg_days_late"), "days"),
        Col("broken_promises", words("broken_promises"), "int", True),
        Col("written_off", words("written_off"), "money", True),
        Col("grade", words("grade")),
        Col("computed_grade", words("computed_grade")),
        Col("points", words("points"), "int"),
        Col("key_account", words("key_account")),
        Col("hold", words("hold")),
        Col("hold_reasons", words("hold_reasons"), wrap=REASONS_WIDTH),
    ]
    at = {c.key: letter(i) for i, c in enumerate(columns, 1)}
    rules: list[Rule] = []
    headers: list[int] = []
    red, orange = "F4B084", "FCE4D6"
    if not result.sections:
        grid.add(words("nothing"))
    for section in result.sections:
        start = grid.add(C(words("block", currency=section.currency), "block"))
        rows = [_risk_row(words, r) for r in section.customers]
        span = add_table(
            grid, columns, rows, currency=section.currency, total_label=words("total")
        )
        headers.append(span.header)
        if rows:
            first, last = span.first, span.last

            def ref(key: str, first: int = first, last: int = last) -> str:
                return f"{at[key]}{first}:{at[key]}{last}"

            rules.append(
                Rule(
                    ref("limit_used"),
                    {"type": "cell", "criteria": ">", "value": 1},
                    shading(red),
                )
            )
            rules.append(
                Rule(
                    ref("hold"),
                    {"type": "formula", "criteria": f"LEN(${at['hold']}{first})>0"},
                    shading(red, bold=True, font_color="#9C0006"),
                )
            )
            for grade, fill in (("D", red), ("C", orange)):
                rules.append(
                    Rule(
                        ref("computed_grade"),
                        {"type": "cell", "criteria": "==", "value": f'"{grade}"'},
                        shading(fill),
                    )
                )
        grid.keep(start)
        grid.skip(2)
    write_blocks(
        book,
        title,
        grid,
        headers,
        columns=columns,
        frozen=2,
        filtered=len(result.sections[0].customers) if result.sections else None,
        rules=rules,
    )


def _risk_row(words: Words, r: Any) -> list[Any]:
    return [
        r.customer,
        r.name,
        r.exposure,
        r.credit_limit,
        r.limit_used,
        r.overdue,
        r.oldest_days,
        r.on_time_ratio,
        r.average_days_late,
        r.follow_up.broken,
        r.written_off,
        r.assigned,
        r.score.grade,
        r.score.points,
        words("mark.key_account") if r.key_account else None,
        words("mark.hold") if r.hold else None,
        words.reasons(r.hold),
    ]


# -- Forecast


def forecast_sheet(book: Book) -> None:
    from arledger.reports import forecast as forecast_report

    data, words = book.data, book.words
    result = data.forecast
    title = book.title("forecast")
    grid = Grid()
    book.heading(grid, words("title.forecast", as_of=data.as_of.isoformat()))
    columns = [
        Col("period", words("period")),
        Col("from", words("from"), "date"),
        Col("to", words("to"), "date"),
        Col("items", words("items"), "int", True),
        Col("overdue", words.column("overdue", "forecast"), "money", True),
        Col("promised", words.column("promised", "forecast"), "money", True),
        Col("expected", words.column("expected", "forecast"), "money", True),
        Col("cumulative", words.column("cumulative", "forecast"), "money"),
    ]
    report = forecast_report.to_report(result)
    headers: list[int] = []
    if not report.sections:
        grid.add(words("nothing"))
    for section in report.sections:
        start = grid.add(C(words("block", currency=section.currency), "block"))
        special = {forecast_report.LATER, *forecast_report.SET_APART.values()}
        rows = [
            [
                words(row["period"]) if row["period"] in special else row["period"],
                *(row[c.key] for c in columns[1:]),
            ]
            for row in section.rows
        ]
        span = add_table(
            grid, columns, rows, currency=section.currency, total_label=words("total")
        )
        headers.append(span.header)
        summary = dict((column.key, value) for column, value in section.summary)
        for key, label in (
            ("within_horizon", words("expected_cash", count=result.horizon)),
            ("open_items", words("open_items")),
            ("aging_total", words("net_ar")),
        ):
            if key in summary:
                grid.add(
                    label,
                    *([None] * (len(columns) - 2)),
                    typed(summary[key], "money", section.currency),
                )
        grid.keep(start)
        grid.skip(2)
    write_blocks(book, title, grid, headers)


# -- Trend


def trend_sheet(book: Book) -> None:
    data, words = book.data, book.words
    result = data.aging
    title = book.title("trend")
    grid = Grid()
    book.heading(
        grid,
        words(
            "title.trend", count=len(data.trend.points), as_of=data.as_of.isoformat()
        ),
    )
    labels = [words(label) for label in result.labels]
    n = len(labels)
    columns = [
        Col("month", words("month")),
        Col("month_end", words("month_end"), "date"),
        *(Col(f"bucket{i}", label, "money") for i, label in enumerate(labels)),
        Col("unapplied", words("unapplied"), "money"),
        Col("total", words("net_ar.column"), "money"),
        Col("overdue_rate", words("overdue_rate"), "ratio"),
    ]
    first_bucket, unapplied_col = 3, 3 + n
    currencies = data.trend.currencies
    charts: list[tuple[Chart, str]] = []
    rules: list[Rule] = []
    headers: list[int] = []
    fills = age_fills(n - 1)
    q = quote_sheet(title)
    if not currencies:
        grid.add(words("nothing"))
    for currency in currencies:
        start = grid.add(C(words("block", currency=currency), "block"))
        header = grid.add(
            *[C(c.label, "header_r" if c.kind != "text" else "header") for c in columns]
        )
        headers.append(header)
        for point in data.trend.points:
            found = next((s for s in point.sections if s.currency == currency), None)
            buckets = found.buckets if found else tuple(ZERO for _ in labels)
            unapplied = found.unapplied if found else ZERO
            total = found.total if found else ZERO
            r = grid.next
            grid.add(
                point.label,
                C(point.as_of, "date"),
                *(typed(b, "money", currency) for b in buckets),
                typed(unapplied, "money", currency),
                C(
                    Formula(
                        f"=SUM({letter(first_bucket)}{r}:{letter(unapplied_col)}{r})",
                        total,
                    ),
                    style_of("money", currency, False),
                ),
                typed(
                    found.overdue_rate if found else None,
                    "ratio",
                    currency,
                ),
            )
        first, last = header + 1, grid.next - 1
        shaded = [letter(first_bucket + 1 + i) for i in range(len(fills))]
        rules.extend(bucket_shading(shaded, first, last, fills))
        colours = CHART_COLOURS if result.basis == "due" else CHART_COLOURS[1:]
        chart = Chart(
            words("chart.trend", currency=currency),
            [
                Series(
                    f"{q}!${letter(column)}${first}:${letter(column)}${last}",
                    f"{q}!$A${first}:$A${last}",
                    name=f"{q}!${letter(column)}${header}",
                    colour=colours[min(i, len(colours) - 1)],
                )
                for i, column in enumerate(range(first_bucket, first_bucket + n))
            ],
            width=24,
            height=9,
            stacked=True,
            gap=60,
            legend=True,
        )
        grid.keep(start)
        grid.skip()
        chart_row = grid.next
        charts.append((chart, f"A{chart_row}"))
        grid.pad_to(grid.next + 20)  # 9 cm of chart
        grid.keep(chart_row - 1, chart_row + 18)  # a blank row over the chart
    write_blocks(book, title, grid, headers, rules=rules, charts=charts)


def rate_text(rate: Decimal) -> str:
    """A rate as an exact percentage: 0.005 -> "0.5%", 1.00 -> "100%" (a
    percent format would round 0.0025 to 0.3%)."""
    percent = (rate * 100).normalize()
    return f"{percent:f}%"


def allowance_sheet(book: Book) -> None:
    """The bad-debt allowance by customer and bucket, as `arledger allowance
    --compare-to` shows it, a block per currency."""
    from arledger.reports import allowance

    data, words = book.data, book.words
    result = data.allowance
    if result is None or result.previous is None:
        return
    report = allowance.to_report(result)
    since = result.previous.as_of.isoformat()
    title = book.title("allowance")
    grid = Grid()
    book.heading(
        grid,
        words("title.allowance", as_of=data.as_of.isoformat(), since=since),
    )
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("bucket", words("bucket")),
        Col("rate_of", words("rate_of")),
        Col("open", words("open"), "money", True),
        Col("rate", words("rate")),
        Col("allowance", words("allowance"), "money", True),
        Col("previous", words("at", day=since), "money", True),
        Col("change", words("allowance.change"), "money", True),
    ]
    shown = {
        "bucket": lambda v: words(v),
        "rate_of": lambda v: words(f"rate_of.{v}"),
        "rate": rate_text,
    }
    headers: list[int] = []
    for section in report.sections:
        start = grid.add(C(words("block", currency=section.currency), "block"))
        rows = [
            [
                shown[c.key](row[c.key]) if c.key in shown else row[c.key]
                for c in columns
            ]
            for row in section.rows
        ]
        span = add_table(
            grid, columns, rows, currency=section.currency, total_label=words("total")
        )
        headers.append(span.header)
        grid.keep(start)
        grid.skip(2)
    write_blocks(book, title, grid, headers, columns=columns, frozen=2)


def movement_sheet(book: Book) -> None:
    """The aging movement since the compare date (SPEC §12): per customer, the
    roll from the total then to the total now, and what moved into each bucket
    from younger ones; who got worse first."""
    data, words = book.data, book.words
    result = data.movement
    if result is None:
        return
    since, as_of = result.since.isoformat(), data.as_of.isoformat()
    title = book.title("movement")
    grid = Grid()
    book.heading(grid, words("title.movement", since=since, as_of=as_of))
    labels = result.labels
    columns = [
        Col("customer", words("customer")),
        Col("name", words("name"), wrap=NAME_WIDTH),
        Col("previous", words("at", day=since), "money", True),
        Col("invoiced", words("invoiced"), "money", True),
        Col("received", words("mv.received"), "money", True),
        Col("credited", words("credited"), "money", True),
        Col("written_off", words("rf.written_off"), "money", True),
        Col("total", words("mv.total", day=as_of), "money", True),
        Col("change", words("mv.change"), "money", True),
        *(
            Col(f"into{i}", words("into", bucket=words(label)), "money", True)
            for i, label in enumerate(labels[1:], 1)
        ),
    ]
    fills = age_fills(len(labels) - 1)
    rules: list[Rule] = []
    headers: list[int] = []
    if not result.sections:
        grid.add(words("nothing"))
    for section in result.sections:
        start = grid.add(C(words("block", currency=section.currency), "block"))
        rows = [
            [
                r.customer,
                r.name,
                r.previous,
                r.invoiced,
                r.received,
                r.credited,
                r.written_off,
                r.total,
                r.change,
                *r.moved_in[1:],
            ]
            for r in section.customers
        ]
        span = add_table(
            grid, columns, rows, currency=section.currency, total_label=words("total")
        )
        headers.append(span.header)
        shaded = [span.letters[f"into{i}"] for i in range(1, len(labels))]
        rules.extend(bucket_shading(shaded, span.first, span.last, fills))
        grid.keep(start)
        grid.skip(2)
    write_blocks(book, title, grid, headers, columns=columns, frozen=2, rules=rules)
