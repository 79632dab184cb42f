"""Dunning (催款): which customer gets which letter, for how much, and by when.

Pure: a view, its settlement and the sent log's entries in, `Letter` objects
and skip reasons out. The level climbs one step at a time from what the episode's
history records (SPEC §2, revised), so re-running on the same day with the same
log gives the same letters. No templates, no clock, no I/O here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import compress, repeat
from operator import attrgetter, gt
from typing import TYPE_CHECKING

from arledger.errors import ArledgerError
from arledger.ledger import LedgerView
from arledger.money import ZERO, grouped, round_charge
from arledger.plans import PlanProgress, broken_plans, in_force, progress
from arledger.promises import Promise, latest_promise, promises
from arledger.report import Column, Report, Section
from arledger.settle import Item, Settlement, key_of

if TYPE_CHECKING:
    from arledger.mail import LogEntry
    from arledger.model import DunningLevel, DunningSettings, Invoice
    from arledger.reports.interest import Accrual

DAYS_IN_YEAR = 365  # SPEC §2: interest = Σ open each day × rate / 365
FEE_FROM = "second"  # SPEC §1: a flat fee per letter from level `second` on
# The contact channel that records an action level's step done (SPEC §2).
ACTION_CHANNELS = {
    "call": "phone",
    "visit": "visit",
    "agency": "other",
    "legal": "legal",
}
_account = attrgetter("customer", "currency")
_customer = attrgetter("customer")
_date = attrgetter("date")
_due = attrgetter("due")
_open = attrgetter("open")


# ---------------------------------------------------------------- the policy


@dataclass(frozen=True, slots=True)
class Policy:
    """The dunning policy of `arledger.yaml`, levels ordered by days."""

    levels: tuple[DunningLevel, ...]
    min_amount: Decimal
    interest_rate: Decimal  # a fraction a year: 0.08 is 8%
    fee: Decimal
    fee_from: int | None  # index into `levels` of the first level with a fee
    pay_days: int
    resend_days: int
    escalation: str = "steps"  # or "days": the level from days past due alone

    @classmethod
    def from_settings(cls, settings: DunningSettings) -> Policy:
        """The policy of the settings; levels sorted by `days` (stable)."""
        levels = tuple(sorted(settings.levels, key=lambda lv: lv.days))
        if not levels:
            raise ArledgerError(
                "arledger.yaml: dunning.levels: give at least one level"
            )
        names = [lv.name for lv in levels]
        duplicate = next((n for n in names if names.count(n) > 1), None)
        if duplicate is not None:
            raise ArledgerError(
                f"arledger.yaml: dunning.levels: level {duplicate!r} is given twice"
            )
        if settings.interest_rate >= 1:
            raise ArledgerError(
                f"arledger.yaml: dunning.interest_rate: {settings.interest_rate} "
                f"would be {settings.interest_rate * 100:f}% a year; write the "
                "annual rate as a fraction, e.g. 0.08 for 8%"
            )
        return cls(
            levels=levels,
            min_amount=settings.min_amount,
            interest_rate=settings.interest_rate,
            fee=settings.fee,
            fee_from=fee_from(levels),
            pay_days=settings.pay_days,
            resend_days=settings.resend_days,
            escalation=settings.escalation,
        )

    @property
    def first_overdue(self) -> int:
        """Index of the first level past due (days ≥ 1): where a customer with
        no history starts (SPEC §2: 200 days late and no history gets `first`)."""
        return next(
            (n for n, lv in enumerate(self.levels) if lv.days >= 1),
            len(self.levels) - 1,
        )

    def pay_days_of(self, rank: int) -> int:
        level = self.levels[rank]
        return level.pay_days if level.pay_days is not None else self.pay_days


def fee_from(levels: Sequence[DunningLevel]) -> int | None:
    """Index of the first level that carries the fee (SPEC §1: `second` on).

    Levels are ordered by days. Without a level named `second`, the fee starts
    at the second level that is past due (days ≥ 1), which is where `second`
    sits in the default ladder.
    """
    for n, level in enumerate(levels):
        if level.name == FEE_FROM:
            return n
    overdue = [n for n, level in enumerate(levels) if level.days >= 1]
    return overdue[1] if len(overdue) > 1 else None


def dunning_level(days_past_due: int, levels: Sequence[DunningLevel]) -> int | None:
    """The index of the highest level whose `days` ≤ `days_past_due` (SPEC §2).

    Args:
        days_past_due: the largest days past due of a customer's items
            (negative: not yet due).
        levels: ordered by days.

    Returns:
        An index into `levels`, or None when no level is reached.
    """
    found = None
    for n, level in enumerate(levels):
        if level.days <= days_past_due:
            found = n
    return found


def interest_on(
    open_amount: Decimal, days: int, rate: Decimal, currency: str
) -> Decimal:
    """Late interest on an amount open for `days` days: open × rate × days / 365,
    rounded once, half-up."""
    if days <= 0:
        return ZERO
    return _interest(open_amount * days, rate, currency)


def accrued_interest(
    amount: Decimal,
    applied: Sequence[tuple[date, Decimal]],
    due: date,
    until: date,
    rate: Decimal,
    currency: str,
) -> Decimal:
    """Late interest on one item, day by day (SPEC §2, Late interest).

    For each day after `due` up to and including `until`, the amount open at
    the start of that day × rate / 365, summed and rounded once, half-up. What
    is applied on a day lowers the base from the next day.

    Args:
        amount: the item's amount.
        applied: (date, amount) of everything applied to it (any order).
    """
    if rate <= 0 or until <= due:
        return ZERO
    base = amount - sum((a for day, a in applied if day <= due), ZERO)
    day_amounts = ZERO
    counted = due  # the last day already counted
    for day, part in sorted(p for p in applied if due < p[0] < until):
        day_amounts += base * (day - counted).days
        base -= part
        counted = day
    day_amounts += base * (until - counted).days
    return _interest(day_amounts, rate, currency)


def _interest(day_amounts: Decimal, rate: Decimal, currency: str) -> Decimal:
    """Σ open × days → interest: × rate / 365, rounded once, half-up."""
    if rate <= 0 or day_amounts <= 0:
        return ZERO
    return round_charge(day_amounts * rate / DAYS_IN_YEAR, currency)


# ---------------------------------------------------------------- the result


@dataclass(frozen=True, slots=True)
class LetterItem:
    """An item as a letter shows it."""

    invoice: str
    instalment: int | None
    date: dt.date  # issue date
    due: dt.date
    days: int  # days past due; 0 or less: not due yet
    open: Decimal
    interest: Decimal
    po: str | None
    description: str | None
    paid: dt.date | None = None  # an item paid late: the day it was paid


@dataclass(frozen=True, slots=True)
class PromisedInvoice:
    """An invoice the customer has promised to pay by a date still to come: left
    out of the letter, and said so."""

    invoice: str
    open: Decimal  # what is open on it (all its instalments within reach)
    promise: Promise


@dataclass(frozen=True, slots=True)
class PlannedInvoice:
    """An invoice a collection plan in force covers (SPEC §7): left out of the
    letter, like one with an open promise, and said so."""

    invoice: str
    open: Decimal
    plan: PlanProgress


@dataclass(frozen=True, slots=True)
class Letter:
    """One dunning letter (催款函): one customer, one currency, one level.

    `total` = `principal` − `unapplied` + `interest` + `fee`, every part already
    rounded, so a letter's printed lines add up to its printed total.
    """

    customer: str
    name: str
    language: str
    currency: str
    as_of: date
    level: str
    rank: int  # index of the level in the policy (0: the mildest)
    top: bool  # the last level of the policy
    days: int  # largest days past due among the items demanded
    items: tuple[LetterItem, ...]  # demanded
    disputed: tuple[LetterItem, ...]  # listed "in dispute", never demanded
    promised: tuple[PromisedInvoice, ...]  # open promises on invoices: left out
    principal: Decimal  # sum of the items' open amounts
    unapplied: Decimal  # the customer's unapplied cash, deducted (positive)
    interest: Decimal  # sum of the items' interest
    interest_rate: Decimal
    fee: Decimal
    total: Decimal
    pay_by: date
    escalated_from: str | None  # the level before a broken promise or plan raised it
    broken_promise: Promise | None
    email: str | None
    contact: str | None
    address: str | None
    history: str = ""  # what the level was chosen from, for the summary
    # earlier letters of this episode (date, level), oldest first: what a
    # letter may say about "our earlier letters"
    previous: tuple[tuple[date, str], ...] = ()
    # a promise to pay is on record for the customer (any status)
    promise_on_record: bool = False
    key_account: bool = False
    action: str = "letter"  # or a task: call, visit, agency, legal
    # a task's step already recorded in the contact log: its date
    done: date | None = None
    since: date | None = None  # the oldest due date among the items demanded
    # SPEC §7: invoices a plan in force covers (left out), and the customer's
    # broken plan (an instalment missed), if any
    planned: tuple[PlannedInvoice, ...] = ()
    missed_plan: PlanProgress | None = None
    # what raised the level one step: "broken promise" or "missed plan"
    escalated_by: str | None = None
    # items paid after their due date since the last letter, whose late
    # interest this letter charges (dunning.interest_on_paid_late)
    paid_late: tuple[LetterItem, ...] = ()

    @property
    def overdue(self) -> bool:
        """True when money is past due (not only a reminder before the due date)."""
        return self.days >= 1


@dataclass(frozen=True, slots=True)
class Skip:
    """A customer with items at a dunning level that gets no letter, and why."""

    customer: str
    name: str
    language: str
    currency: str
    level: str | None  # the level it would have had
    days: int  # largest days past due among its items
    amount: Decimal  # what the letter would have demanded, before charges
    reason: str
    history: str | None = None


@dataclass(frozen=True)
class DunningResult:
    as_of: date
    policy: Policy
    letters: tuple[Letter, ...]  # worst first: highest level, then most days
    skipped: tuple[Skip, ...]  # by customer
    # Every currency with records in the view (`view.currencies`, asked only
    # when the report is shaped): each has a section in the report, with zeros
    # when nothing is in it (SPEC §3; report.every_currency).
    currencies: Callable[[], Collection[str]] = field(
        default=frozenset, compare=False, repr=False
    )


@dataclass(frozen=True, slots=True)
class Step:
    """A level chosen, and from what."""

    rank: int
    base: int  # before a broken promise's (or missed plan's) extra step
    history: str  # "first sent 2026-10-05, pay by 2026-10-15 passed → second"
    escalated_by: str | None = None  # "broken promise" or "missed plan"


def episode_starts(settlement: Settlement) -> dict[tuple[str, str], date]:
    """The first day of each account's current episode (SPEC §2): the day it
    last went from nothing overdue to something overdue, for every (customer,
    currency) with something overdue as of the settlement's date.

    An item is overdue from the day after its due date until the day before the
    application that settled it (still open: until the settlement's date).
    Read from the open items and the applications: a settlement without its
    items paid in full (`settle(view, paid=False)`) gives the same.
    """
    as_of = settlement.as_of
    one = timedelta(days=1)
    items = settlement.items
    # Only an account with an item open and past due has a run reaching
    # `as_of`: a paid item's run ends the day before its last application,
    # which is never after `as_of`. The first of them due is overdue from the
    # next day to `as_of` on its own, so only the account's items due before
    # it can start the run earlier, all of them paid (a fifth of the items of
    # the benchmark at 100k). The rest are passed over, picked out in C.
    first_due: dict[tuple[str, str], date] = {}
    for item in compress(items, map(_open, items)):  # open: never below 0
        if item.due < as_of:
            account = (item.customer, item.currency)
            known = first_due.get(account)
            if known is None or item.due < known:
                first_due[account] = item.due
    runs = {account: [(due + one, as_of)] for account, due in first_due.items()}
    # Picked by customer (a tuple per item would cost more than it saves):
    # the items due before the latest of its accounts' dates. The few more
    # this lets in change nothing: an item of a currency with nothing
    # overdue has no run in `runs`; one still open, or due after its own
    # account's date, is overdue only on days its account's run has.
    before: dict[str, date] = {}
    for (customer, _), due in first_due.items():
        before[customer] = max(before.get(customer, due), due)
    # Those items are read from their applications, which carry each one's
    # account and due date: the last day each was overdue is the day before
    # its last application (read in date order, so that the last one is
    # written last). An item with nothing applied adds no day: paid in full,
    # it had nothing to pay; still open, its account's run has its days.
    every = settlement.history_of()
    due_before = map(
        gt, map(before.get, map(_customer, every), repeat(date.min)), map(_due, every)
    )
    theirs = sorted(compress(every, due_before), key=_date)
    last = dict(zip(map(key_of, theirs), theirs, strict=True))
    for application in last.values():
        start, end = application.due + one, application.date - one
        if start <= end:
            spans = runs.get(_account(application))
            if spans is not None:
                spans.append((start, end))
    return episodes_of(runs, as_of)


def episodes_of(
    runs: dict[tuple[str, str], list[tuple[date, date]]], as_of: date
) -> dict[tuple[str, str], date]:
    """The first day of each account's run of overdue days that reaches
    `as_of`, its items' runs (first and last day overdue) merged where they
    touch or overlap."""
    one = timedelta(days=1)
    starts: dict[tuple[str, str], date] = {}
    for account, spans in runs.items():
        spans.sort()
        begin, last = spans[0]
        for start, end in spans[1:]:
            if start > last + one:
                begin, last = start, end
            else:
                last = max(last, end)
        if last >= as_of:
            starts[account] = begin
    return starts


# ---------------------------------------------------------------- compute


def compute(
    view: LedgerView,
    settlement: Settlement,
    policy: Policy | None = None,
    sent: Sequence[LogEntry] = (),
) -> DunningResult:
    """Choose each customer's dunning level and build its letter (SPEC §2, Dunning).

    Per customer and currency: the items that can be demanded are its open,
    undisputed items without an invoice `dunning_block` in force and not on an
    invoice the customer has promised to pay by a date still to come. Its due
    level is the highest whose `days` ≤ the largest days past due among them;
    the level it gets climbs one step at a time from the episode's history (see
    `_Dunner.choose`); a broken, still unpaid latest promise, or a collection
    plan with an instalment missed, lets it go one step further. The items a
    plan in force covers are held like those of an open promise (SPEC §7). A
    `reminder` level (days ≤ 0) demands the items due within its window; a
    level past due demands the overdue items. Unapplied cash is deducted; no
    letter when what is left is below `min_amount`, when a customer
    `dunning_block` is in force, or while a promise to pay that names no
    invoice is open, or a plan in force that lists none.

    Args:
        view: the ledger as of a date, filtered.
        settlement: `settle(view)`, with its history; without its items paid
            in full (`paid=False`) it gives the same.
        policy: default from the view's settings.
        sent: the sent log's entries (`mail.read_log`): the letters on record.
    """
    policy = policy or Policy.from_settings(view.settings.dunning)
    accounts: dict[tuple[str, str], list[Item]] = {}
    every = settlement.items
    # The open items (an amount, never below 0, is true), picked in C.
    for item in compress(every, map(_open, every)):
        accounts.setdefault((item.customer, item.currency), []).append(item)
    dunner = _Dunner(view, settlement, policy, sent)
    letters: list[Letter] = []
    skipped: list[Skip] = []
    for (customer_id, currency), items in sorted(accounts.items()):
        items.sort(key=lambda i: (i.due, i.date, i.invoice, i.instalment or 0))
        outcome = dunner.account(customer_id, currency, items)
        if isinstance(outcome, Letter):
            letters.append(outcome)
        elif outcome is not None:
            skipped.append(outcome)
    letters.sort(key=lambda lt: (-lt.rank, -lt.days, lt.customer, lt.currency))
    skipped.sort(key=lambda s: (s.customer, s.currency))
    return DunningResult(
        view.as_of, policy, tuple(letters), tuple(skipped), view.currencies
    )


class _Dunner:
    """What `compute` needs for every account, worked out once."""

    def __init__(
        self,
        view: LedgerView,
        settlement: Settlement,
        policy: Policy,
        sent: Sequence[LogEntry],
    ) -> None:
        self.view = view
        self.policy = policy
        self.levels = policy.levels
        self.episodes = episode_starts(settlement)
        # by customer, so that each account reads only its own records
        self.sent: dict[str, list[LogEntry]] = {}
        for entry in sent:
            self.sent.setdefault(entry.customer, []).append(entry)
        self.contacts: dict[str, list[tuple[date, str]]] = {}
        for contact in view.contacts:
            self.contacts.setdefault(contact.customer, []).append(
                (contact.date, contact.channel)
            )
        self._steps: dict[tuple[str, str], list[tuple[date, int, bool]]] = {}
        found = promises(view, settlement)
        self.promised = {p.customer for p in found}
        self.latest = latest_promise(found)
        self.open: dict[str, list[Promise]] = {}
        for promise in found:
            if promise.status == "open":
                self.open.setdefault(promise.customer, []).append(promise)
        # SPEC §7: a plan in force holds its items as an open promise does; a
        # broken one is a breach like a broken promise.
        plans = progress(view, settlement)
        self.planned = {p.customer for p in plans}
        self.plans_in_force = in_force(plans)
        self.broken_plans = broken_plans(plans)
        self.unapplied = settlement.unapplied()
        # The invoices of the open items and of those paid late (below):
        # their block, PO and description, read without reading every
        # invoice of a big ledger (`Ledger.invoices_of`).
        every = settlement.items
        named = {i.invoice for i in compress(every, map(_open, every))}
        # Late interest per item, and the items paid late since the last
        # letter: the figures `arledger interest` lists (one computation).
        self.interest: dict[tuple[str, int | None], Decimal] = {}
        self.paid_late: dict[tuple[str, str], list[Accrual]] = {}
        if policy.interest_rate > 0:
            from arledger.reports import interest

            for accruals in interest.compute(view, settlement, sent).values():
                for accrual in accruals:
                    if accrual.paid:
                        self.paid_late.setdefault(
                            (accrual.customer, accrual.currency), []
                        ).append(accrual)
                    else:
                        self.interest[accrual.key] = accrual.interest
                    named.add(accrual.invoice)
        self.invoices = view.ledger.invoices_of(named)

    def days_of(self, item: Item) -> int:
        return (self.view.as_of - item.due).days

    def steps(self, customer: str, currency: str) -> list[tuple[date, int, bool]]:
        """The steps on record in the account's current episode: (date, rank,
        from the sent log), oldest first.

        The sent log's letters (entries of levels no longer in the ladder are
        left out), and contacts whose channel is that of an action level (a call
        is `phone`, a visit `visit`, an agency `other`, legal `legal`): such a
        contact counts as that level's step when the history before it could
        have reached it (at most one step above what came before).
        """
        key = (customer, currency)
        if key not in self._steps:
            self._steps[key] = self._find_steps(customer, currency)
        return self._steps[key]

    def _find_steps(self, customer: str, currency: str) -> list[tuple[date, int, bool]]:
        start = self.episodes.get((customer, currency))
        if start is None:
            return []
        as_of = self.view.as_of
        ranks = {level.name: n for n, level in enumerate(self.levels)}
        found = [
            (e.date, ranks[e.level], True)
            for e in self.sent.get(customer, ())
            if e.currency in ("", currency)
            and e.level in ranks
            and start <= e.date <= as_of
        ]
        by_channel: dict[str, list[int]] = {}
        for n, level in enumerate(self.levels):
            if level.action in ACTION_CHANNELS:
                by_channel.setdefault(ACTION_CHANNELS[level.action], []).append(n)
        if by_channel:
            contacts = sorted(
                (day, channel)
                for day, channel in self.contacts.get(customer, ())
                if channel in by_channel and start <= day <= as_of
            )
            for day, channel in contacts:
                before = [rank for d, rank, _ in found if d <= day]
                reach = max(max(before, default=-1) + 1, self.policy.first_overdue)
                fits = [n for n in by_channel[channel] if n <= reach]
                if fits:
                    found.append((day, max(fits), False))
        return sorted(found)

    def history(self, customer: str, currency: str) -> list[tuple[date, int]]:
        """The steps on record in the account's current episode: (date, rank)."""
        return [(day, rank) for day, rank, _ in self.steps(customer, currency)]

    def choose(
        self,
        customer: str,
        currency: str,
        days: int,
        broken: Promise | None,
        missed: PlanProgress | None = None,
    ) -> Step:
        """The level of an account whose worst item is `days` past due (SPEC §2).

        With `escalation: steps`: the lower of the due level and one step above
        the highest level sent in the episode, the step only once that letter's
        pay-by date has passed; no history starts at the first level past due.
        A broken promise, or a plan with a missed instalment, lets it go one
        step further (never above the due level + 1), once: the latest of them
        counts, and not when a letter has been sent since, nor when no letter
        has been sent in the episode (the first letter names it instead).
        With `escalation: days`: the due level (+1 for a broken promise or
        missed plan).
        """
        levels, policy = self.levels, self.policy
        top = len(levels) - 1
        due = dunning_level(days, levels)
        assert due is not None
        first = policy.first_overdue
        if policy.escalation == "days":
            rank = due
            text = f"{days} days past due → {levels[due].name} (escalation: days)"
        elif due < first:
            rank = due
            when = f"due in {-days} days" if days < 0 else "due today"
            text = f"{when} → {levels[due].name}"
        else:
            steps = self.history(customer, currency)
            if not steps:
                start = self.episodes.get((customer, currency))
                since = f" since overdue on {start.isoformat()}" if start else ""
                cap = first
                text = f"nothing sent{since}"
            else:
                highest = max(rank for _, rank in steps)
                last = max(day for day, rank in steps if rank == highest)
                pay_by = last + timedelta(days=policy.pay_days_of(highest))
                passed = self.view.as_of > pay_by
                cap = min(max(first, highest + 1 if passed else highest), top)
                text = (
                    f"{levels[highest].name} sent {last.isoformat()}, pay by "
                    f"{pay_by.isoformat()} {'passed' if passed else 'not passed'}"
                )
            rank = min(due, cap)
            text = f"{text} → {levels[cap].name}"
            if due < cap:
                text = f"{text}; {days} days past due → {levels[due].name}"
        base = rank
        # The breaches (a broken promise, a missed plan instalment): the day
        # each happened and how the history names it; the latest counts.
        breaches = []
        if broken is not None:
            breaches.append(
                (broken.due, "broken promise", f"of {broken.made.isoformat()}")
            )
        if missed is not None and missed.missed_on is not None:
            breaches.append(
                (
                    missed.missed_on,
                    "missed plan",
                    f"{missed.id} (instalment due {missed.missed_on.isoformat()})",
                )
            )
        breach = max(breaches, default=None)
        if breach is not None and policy.escalation != "days":
            sent = self.history(customer, currency)
            if not sent:
                # Nothing sent in the episode: the first letter names the
                # breach, at the first level. A `second` as the first letter
                # would say a letter came before it, which the history cannot
                # back (README, Decisions: this departs from SPEC §2).
                text = f"{text}; {breach[1]} {breach[2]}, named in this letter"
                breach = None
            # The extra step is taken once: a letter sent since the promise
            # broke (or the instalment was missed) has already used it (else
            # each run would climb again).
            elif any(d > breach[0] for d, _ in sent):
                breach = None
        if breach is not None:
            rank = min(rank + 1, top)
            if rank != base:
                text = f"{text}; {breach[1]} {breach[2]} → {levels[rank].name}"
                return Step(rank, base, text, breach[1])
        return Step(rank, base, text)

    def account(
        self, customer_id: str, currency: str, items: list[Item]
    ) -> Letter | Skip | None:
        """The letter of one customer in one currency, why it gets none, or None
        when nothing has reached a dunning level."""
        view, policy, levels, days_of = (
            self.view,
            self.policy,
            self.levels,
            self.days_of,
        )
        as_of = view.as_of
        customer = view.ledger.customers.get(customer_id)
        name = customer.name if customer else customer_id
        language = (customer.language if customer else None) or view.settings.language

        def skip(
            level: int | None,
            days: int,
            amount: Decimal,
            reason: str,
            history: str | None = None,
        ) -> Skip:
            level_name = levels[level].name if level is not None else None
            return Skip(
                customer_id,
                name,
                language,
                currency,
                level_name,
                days,
                amount,
                reason,
                history,
            )

        lowest = levels[0].days
        open_promises = self.open.get(customer_id, [])
        plans = self.plans_in_force.get((customer_id, currency), [])
        # An open promise naming an invoice stops that invoice only; one naming
        # none stops the customer (below). A plan in force does the same with
        # the invoices it lists, or all of the customer's (SPEC §7).
        on_invoice: dict[str, Promise | PlanProgress] = {
            invoice: plan for plan in plans for invoice in plan.plan.invoices or ()
        }
        for pending in open_promises:
            named = _promised_invoice(pending)
            if named:
                on_invoice[named] = pending
        disputed: list[Item] = []
        blocked: list[Item] = []
        promised: list[Item] = []  # held by an open promise or a plan in force
        candidates: list[Item] = []
        for i in items:
            if i.disputed:
                disputed.append(i)
            elif _blocked(self.invoices, view.as_of, i):
                blocked.append(i)
            elif i.invoice in on_invoice:
                promised.append(i)
            else:
                candidates.append(i)
        reached = [i for i in candidates if days_of(i) >= lowest]
        if not reached:
            held_blocked = [i for i in blocked if days_of(i) >= lowest]
            held_promised = [i for i in promised if days_of(i) >= lowest]
            held = held_blocked + held_promised
            if held:
                days = max(map(days_of, held))
                reasons = [_block_text(self.invoices, i) for i in held_blocked]
                reasons += dict.fromkeys(
                    _hold_text(on_invoice[i.invoice], currency) for i in held_promised
                )
                step = self.choose(customer_id, currency, days, None)
                return skip(
                    step.rank,
                    days,
                    sum((i.open for i in held), ZERO),
                    "; ".join(reasons),
                    step.history,
                )
            late = [i for i in disputed if days_of(i) >= lowest]
            if late:
                return skip(
                    None,
                    max(map(days_of, late)),
                    ZERO,
                    "only disputed items: " + ", ".join(_label(i) for i in late),
                )
            return None

        days = max(map(days_of, reached))
        base = dunning_level(days, levels)
        assert base is not None  # `reached` holds items at or past the lowest level
        # SPEC §2: a reminder (days ≤ 0) demands the items falling due within its
        # window; a level past due demands what is overdue.
        threshold = min(levels[base].days, 1)
        demanded = [i for i in candidates if days_of(i) >= threshold]
        principal = sum((i.open for i in demanded), ZERO)

        promise = self.latest.get(customer_id)
        broken = promise if promise is not None and promise.status == "broken" else None
        missed = max(
            self.broken_plans.get((customer_id, currency), ()),
            key=lambda p: (p.missed_on, p.plan.date, p.id),
            default=None,
        )
        step = self.choose(customer_id, currency, days, broken, missed)
        rank = step.rank
        level = levels[rank]

        block = customer.dunning_block if customer else None
        if block is not None and as_of < block.until:
            reason = f"dunning block until {block.until.isoformat()}"
            if block.reason:
                reason = f"{reason}: {block.reason}"
            return skip(rank, days, principal, reason, step.history)
        customer_wide: list[Promise | PlanProgress] = [
            p for p in plans if p.plan.invoices is None
        ]
        customer_wide += [p for p in open_promises if not _promised_invoice(p)]
        if customer_wide:
            # Mahnstopp: a customer who has promised is not written to before
            # the promised date, nor one keeping to a plan.
            return skip(
                rank,
                days,
                principal,
                _hold_text(customer_wide[-1], currency),
                step.history,
            )

        credit = self.unapplied.get((customer_id, currency), ZERO)
        net = principal - credit
        if net <= 0:
            return skip(
                rank,
                days,
                principal,
                f"unapplied cash of {grouped(credit, currency)} covers "
                f"the {grouped(principal, currency)} due",
                step.history,
            )
        if net < policy.min_amount:
            return skip(
                rank,
                days,
                net,
                f"{grouped(net, currency)} due is below the minimum of "
                f"{grouped(policy.min_amount, currency)}",
                step.history,
            )

        held_on = {i.invoice: on_invoice[i.invoice] for i in promised}

        def held_open(invoice: str) -> Decimal:
            return sum((i.open for i in promised if i.invoice == invoice), ZERO)

        letter_items = tuple(
            _letter_item(self.invoices, i, days_of(i), self.interest.get(i.key, ZERO))
            for i in demanded
        )
        paid_late = tuple(
            _paid_late_item(self.invoices, a)
            for a in self.paid_late.get((customer_id, currency), ())
        )
        interest = sum((i.interest for i in (*letter_items, *paid_late)), ZERO)
        with_fee = policy.fee_from is not None and rank >= policy.fee_from
        fee = round_charge(policy.fee, currency) if with_fee else ZERO
        if level.pay_days is not None:
            pay_by = as_of + timedelta(days=level.pay_days)
        elif days <= 0:
            # A reminder before the due date asks for payment on the due dates.
            pay_by = max(i.due for i in demanded)
        else:
            pay_by = as_of + timedelta(days=policy.pay_days)
        return Letter(
            customer=customer_id,
            name=name,
            language=language,
            currency=currency,
            as_of=as_of,
            level=level.name,
            rank=rank,
            top=rank == len(levels) - 1,
            days=days,
            items=letter_items,
            disputed=tuple(
                _letter_item(self.invoices, i, days_of(i), ZERO) for i in disputed
            ),
            promised=tuple(
                PromisedInvoice(invoice, held_open(invoice), hold)
                for invoice, hold in held_on.items()
                if isinstance(hold, Promise)
            ),
            principal=principal,
            unapplied=credit,
            interest=interest,
            interest_rate=policy.interest_rate,
            fee=fee,
            total=net + interest + fee,
            pay_by=pay_by,
            escalated_from=levels[step.base].name if rank != step.base else None,
            broken_promise=broken,
            email=customer.email if customer else None,
            contact=customer.contact if customer else None,
            address=customer.address if customer else None,
            history=step.history,
            previous=tuple(
                (day, levels[n].name)
                for day, n, logged in self.steps(customer_id, currency)
                if logged and levels[n].action == "letter"
            ),
            promise_on_record=self.promise_on_record(customer_id),
            key_account=bool(customer and customer.key_account),
            action=level.action,
            done=max(
                (
                    day
                    for day, n, logged in self.steps(customer_id, currency)
                    if n == rank and not logged
                ),
                default=None,
            ),
            since=min((i.due for i in demanded), default=None),
            planned=tuple(
                PlannedInvoice(invoice, held_open(invoice), hold)
                for invoice, hold in held_on.items()
                if not isinstance(hold, Promise)  # a plan (its module not imported)
            ),
            missed_plan=missed,
            escalated_by=step.escalated_by,
            paid_late=paid_late,
        )

    def promise_on_record(self, customer: str) -> bool:
        """Any promise to pay or collection plan on record for the customer
        (any status, any date up to as-of): a letter then never says "no
        proposal to pay"."""
        return customer in self.promised or customer in self.planned


def _blocked(invoices: Mapping[str, Invoice], as_of: date, item: Item) -> bool:
    invoice = invoices.get(item.invoice)
    block = invoice.dunning_block if invoice else None
    return block is not None and as_of < block.until


def _block_text(invoices: Mapping[str, Invoice], item: Item) -> str:
    block = invoices[item.invoice].dunning_block
    assert block is not None
    text = f"{_label(item)} blocked until {block.until.isoformat()}"
    return f"{text}: {block.reason}" if block.reason else text


def _promised_invoice(promise: Promise) -> str | None:
    """The invoice a promise names, if any (contacts' `invoice` field)."""
    return getattr(promise.contact, "invoice", None)


def _promise_text(promise: Promise, currency: str) -> str:
    amount = (
        f" {grouped(promise.amount, currency)}" if promise.amount is not None else ""
    )
    invoice = _promised_invoice(promise)
    what = f"{invoice}{amount}" if invoice else amount.strip()
    pay = f" to pay {what}" if what else " to pay"
    return f"promised on {promise.made.isoformat()}{pay} by {promise.due.isoformat()}"


def _plan_text(plan: PlanProgress, currency: str) -> str:
    text = f"collection plan {plan.id} of {plan.plan.date.isoformat()}"
    following = plan.next_open
    if following is None:
        return text
    return (
        f"{text}: next {grouped(following.rest, currency)} "
        f"by {following.due.isoformat()}"
    )


def _hold_text(hold: Promise | PlanProgress, currency: str) -> str:
    """Why items wait: an open promise, or a plan in force."""
    if isinstance(hold, Promise):
        return _promise_text(hold, currency)
    return _plan_text(hold, currency)


def _label(item: Item) -> str:
    return f"{item.invoice}#{item.instalment}" if item.instalment else item.invoice


def _letter_item(
    invoices: Mapping[str, Invoice], item: Item, days: int, interest: Decimal
) -> LetterItem:
    invoice = invoices.get(item.invoice)
    return LetterItem(
        invoice=item.invoice,
        instalment=item.instalment,
        date=item.date,
        due=item.due,
        days=days,
        open=item.open,
        interest=interest,
        po=invoice.po if invoice else None,
        description=invoice.description if invoice else None,
    )


def _paid_late_item(invoices: Mapping[str, Invoice], accrual: Accrual) -> LetterItem:
    """An item paid after its due date, as a letter charging its interest
    shows it: the days it was late and the day it was paid."""
    invoice = invoices.get(accrual.invoice)
    return LetterItem(
        invoice=accrual.invoice,
        instalment=accrual.instalment,
        date=invoice.date if invoice else accrual.start,
        due=accrual.start - timedelta(days=1),
        days=accrual.days,
        open=ZERO,
        interest=accrual.interest,
        po=invoice.po if invoice else None,
        description=invoice.description if invoice else None,
        paid=accrual.end,
    )


# ---------------------------------------------------------------- to a report


def summary_columns(with_files: bool = False) -> tuple[Column, ...]:
    columns = (
        Column("customer", "Customer"),
        Column("name", "Name"),
        Column("language", "Lang"),
        Column("level", "Level"),
        Column("days", "Days", "days"),
        Column("items", "Items", "int"),
        Column("amount", "Amount", "money"),
        Column("pay_by", "Pay by", "date"),
        Column("note", "Note"),
        Column("skipped", "Skipped", "text", "bad"),
        Column("history", "History"),
    )
    return (*columns, Column("file", "File")) if with_files else columns


def letter_note(letter: Letter) -> str | None:
    """What a reader of the summary should know about a letter, in a few words."""
    notes = []
    if letter.action != "letter":
        done = f", done {letter.done.isoformat()}" if letter.done else ""
        notes.append(f"task: {letter.action}{done} (--worklist)")
    if letter.broken_promise is not None:
        promise = letter.broken_promise
        escalated = (
            f", {letter.escalated_from} -> {letter.level}"
            if letter.escalated_from
            else ""
        )
        if letter.escalated_by not in (None, "broken promise"):
            escalated = ""
        notes.append(f"broken promise of {promise.made.isoformat()}{escalated}")
    if letter.missed_plan is not None:
        plan = letter.missed_plan
        assert plan.missed_on is not None
        escalated = (
            f", {letter.escalated_from} -> {letter.level}"
            if letter.escalated_from and letter.escalated_by == "missed plan"
            else ""
        )
        notes.append(
            f"missed plan {plan.id} (instalment due {plan.missed_on.isoformat()})"
            f"{escalated}"
        )
    if letter.disputed:
        notes.append(f"{len(letter.disputed)} disputed not demanded")
    for promised in letter.promised:
        notes.append(
            f"{promised.invoice} promised by {promised.promise.due.isoformat()}"
        )
    for planned in letter.planned:
        notes.append(f"{planned.invoice} in plan {planned.plan.id}")
    if letter.unapplied:
        notes.append(f"unapplied {letter.unapplied:f} deducted")
    if letter.paid_late:
        late = sum((i.interest for i in letter.paid_late), ZERO)
        notes.append(f"interest {late:f} on {len(letter.paid_late)} paid late")
    return "; ".join(notes) or None


def to_report(
    result: DunningResult, files: dict[tuple[str, str], str] | None = None
) -> Report:
    """The summary: one row per letter (worst first), then the customers skipped.

    Args:
        files: (customer, currency) -> the file its letter was written to.
    """
    by_currency: dict[str, list[dict[str, object]]] = {}
    totals: dict[str, Decimal] = {}
    for letter in result.letters:
        row: dict[str, object] = {
            "customer": letter.customer,
            "name": letter.name,
            "language": letter.language,
            "level": letter.level,
            "days": letter.days,
            "items": len(letter.items),
            "amount": letter.total,
            "pay_by": letter.pay_by,
            "skipped": None,
            "note": letter_note(letter),
            "history": letter.history,
        }
        if files is not None:
            row["file"] = files.get((letter.customer, letter.currency))
        by_currency.setdefault(letter.currency, []).append(row)
        totals[letter.currency] = totals.get(letter.currency, ZERO) + letter.total
    for skip in result.skipped:
        row = {
            "customer": skip.customer,
            "name": skip.name,
            "language": skip.language,
            "level": skip.level,
            "days": skip.days,
            "items": None,
            "amount": None,
            "pay_by": None,
            "skipped": skip.reason,
            "note": None,
            "history": skip.history,
        }
        if files is not None:
            row["file"] = None
        by_currency.setdefault(skip.currency, []).append(row)
    title = f"Dunning as of {result.as_of.isoformat()}"
    sections = tuple(
        Section(
            currency,
            summary_columns(files is not None),
            tuple(by_currency.get(currency, ())),
            {"amount": totals.get(currency, ZERO)},
            title=f"{title} — {currency}",
        )
        for currency in sorted(by_currency.keys() | result.currencies())
    )
    meta = {"levels": [level.name for level in result.policy.levels]}
    return Report("dunning", title, result.as_of, sections, meta)


# ---------------------------------------------------------------- the worklist


def worklist_columns() -> tuple[Column, ...]:
    from arledger.reports.overdue import FOLLOW_UP_COLUMNS

    return (
        Column("owner", "Owner"),
        Column("task", "Task"),
        Column("customer", "Customer"),
        Column("name", "Name"),
        Column("contact", "Contact"),
        Column("amount", "Owed", "money"),
        Column("since", "Due since", "date"),
        Column("days", "Days", "days"),
        *FOLLOW_UP_COLUMNS,
        Column("status", "Status"),
    )


def worklist(result: DunningResult, view: LedgerView, settlement: Settlement) -> Report:
    """The day's tasks (levels with an `action` other than a letter), by owner:
    whom to call or visit, how to reach them, what is owed and since when, the
    last contact and the promise to watch. A task whose step a contact of its
    channel has recorded shows `done DATE`."""
    from arledger.reports.overdue import contact_line, follow_up_row, follow_ups

    follow = follow_ups(view, settlement)
    customers = view.ledger.customers
    by_currency: dict[str, list[dict[str, object]]] = {}
    amounts: dict[str, Decimal] = {}
    tasks = [lt for lt in result.letters if lt.action != "letter"]
    tasks.sort(key=lambda lt: (_owner(view, lt.customer) or "", -lt.rank, -lt.days))
    for task in tasks:
        row: dict[str, object] = {
            "owner": _owner(view, task.customer),
            "task": task.action,
            "customer": task.customer,
            "name": task.name,
            "contact": contact_line(customers.get(task.customer)),
            "amount": task.total,
            "since": task.since,
            "days": task.days,
        }
        found = follow.get(task.customer)
        row.update(follow_up_row(found) if found else dict.fromkeys(
            ("last_contact", "channel", "promise", "promise_date", "promise_amount")
        ))  # fmt: skip
        row["status"] = f"done {task.done.isoformat()}" if task.done else "to do"
        by_currency.setdefault(task.currency, []).append(row)
        amounts[task.currency] = amounts.get(task.currency, ZERO) + task.total
    title = f"Dunning worklist as of {result.as_of.isoformat()}"
    currencies = sorted(by_currency.keys() | {lt.currency for lt in result.letters})
    sections = tuple(
        Section(
            currency,
            worklist_columns(),
            tuple(by_currency.get(currency, [])),
            {"amount": amounts.get(currency, ZERO)},
            title=f"{title} — {currency}",
        )
        for currency in currencies
    )
    return Report("dunning-worklist", title, result.as_of, sections)


def _owner(view: LedgerView, customer_id: str) -> str | None:
    customer = view.ledger.customers.get(customer_id)
    return customer.owner if customer else None
