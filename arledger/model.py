"""The ledger's records: customers, invoices, payments, adjustments, contacts, settings.

Rules about one record only live here; rules that span records (unknown customer,
duplicate id, currency mismatch) are the loader's cross-checks. Knows nothing of
files: the loader sets each record's `source`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    field_validator,
    model_validator,
)

from arledger import rules
from arledger.errors import Source
from arledger.rules import MAX_YEAR, MIN_YEAR  # noqa: F401 (re-exported)

DEFAULT_TERMS = 30
DEFAULT_BUCKETS = (30, 60, 90, 120)


MAX_TERMS = 3650


class Column(NamedTuple):
    """Marks a field whose rule (arledger/rules.py) the loader may apply to a
    whole column of a file at once; the model applies the same rule to one
    value through the BeforeValidator beside it."""

    rule: rules.Rule


# Each field type carries its rule twice over: as the BeforeValidator that
# applies it to one value, and as the `Column` mark the loader reads.
LedgerDate = Annotated[
    date, BeforeValidator(rules.one(rules.dates)), Column(rules.dates)
]
Amount = Annotated[
    Decimal, BeforeValidator(rules.one(rules.amounts)), Column(rules.amounts)
]
NonNegative = Annotated[
    Decimal, BeforeValidator(rules.one(rules.non_negative)), Column(rules.non_negative)
]
Signed = Annotated[
    Decimal, BeforeValidator(rules.one(rules.signed)), Column(rules.signed)
]
Fraction = Annotated[
    Decimal, BeforeValidator(rules.one(rules.fractions)), Column(rules.fractions)
]
Currency = Annotated[
    str, BeforeValidator(rules.one(rules.currencies)), Column(rules.currencies)
]
Whole = Annotated[int, BeforeValidator(rules.one(rules.wholes))]
Flag = Annotated[bool, BeforeValidator(rules.one(rules.flags)), Column(rules.flags)]
Id = Annotated[str, BeforeValidator(rules.one(rules.ids)), Column(rules.ids)]
Text = Annotated[str, BeforeValidator(rules.one(rules.texts)), Column(rules.texts)]
Language = Literal["en", "zh"]


class Record(BaseModel):
    """Base of every ledger record: frozen, strict about unknown fields."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True
    )

    # The fields the model's record rules (its model validators) read: a row that
    # gives any of them is validated by the model whole, never column by column
    # (loader._by_columns), so the record rule is the one deciding.
    record_fields: ClassVar[frozenset[str]] = frozenset()
    # Rules over several fields that the loader may apply to columns, as the
    # model's validator applies them to one record: (fields, rule).
    row_rules: ClassVar[tuple[tuple[tuple[str, ...], Callable[..., None]], ...]] = ()

    # Set by the loader, never read from a file (the loader refuses a `source` key).
    source: SkipValidation[Source | None] = Field(
        default=None, exclude=True, repr=False
    )


class DunningBlock(Record):
    """A stop on dunning (Mahnstopp) until a date, with a reason."""

    until: LedgerDate
    reason: Text | None = None


class Discount(Record):
    """An early-payment discount (现金折扣, SPEC §9): `percent` off when what is
    applied within `days` of the invoice date covers the rest ("2/10 net 30")."""

    percent: Annotated[NonNegative, Field(gt=0, lt=100)]
    days: Annotated[Whole, Field(ge=0, le=MAX_TERMS)]


class Customer(Record):
    id: Id
    name: Id
    email: Text | None = None
    phone: Text | None = None
    address: Text | None = None
    contact: Text | None = None
    terms: Annotated[Whole, Field(ge=0, le=MAX_TERMS)] | None = None
    credit_limit: NonNegative | None = None
    grade: Literal["A", "B", "C", "D"] | None = None
    owner: Text | None = None
    currency: Currency | None = None
    language: Language | None = None
    key_account: Flag = False
    hold: Flag = False
    dunning_block: DunningBlock | None = None
    # Other names the customer's payments come under, and the accounts they come
    # from (SPEC §6: bank statement matching).
    aliases: tuple[Id, ...] | None = None
    bank_accounts: tuple[Id, ...] | None = None
    # SPEC §9: the discount every invoice of the customer carries unless it
    # has its own.
    discount: Discount | None = None
    # SPEC §8: a specific provision, replacing the allowance matrix (and the
    # disputed rate) for all the customer's items.
    allowance_rate: Fraction | None = None


class Instalment(Record):
    """One instalment of an invoice's schedule (预付款/进度款/尾款)."""

    due: LedgerDate
    amount: Amount


class Invoice(Record):
    id: Id
    customer: Id
    date: LedgerDate
    due: LedgerDate | None = None
    amount: Amount
    currency: Currency | None = None
    description: Text | None = None
    po: Text | None = None
    owner: Text | None = None
    disputed: Flag = False
    dunning_block: DunningBlock | None = None
    schedule: tuple[Instalment, ...] | None = None
    discount: Discount | None = None

    record_fields = frozenset({"schedule"})
    row_rules = ((("date", "due"), rules.due_dates),)

    @model_validator(mode="after")
    def _check_dates_and_schedule(self) -> Invoice:
        try:
            rules.due_dates([self.date], [self.due])
        except rules.Bad as bad:
            raise ValueError(bad.messages[0]) from None
        if self.schedule is not None:
            if not self.schedule:
                raise ValueError("schedule: is empty; leave it out or list instalments")
            total = sum((i.amount for i in self.schedule), Decimal(0))
            if total != self.amount:
                raise ValueError(
                    f"schedule: instalments add up to {total}, "
                    f"not to the invoice amount {self.amount}"
                )
            for instalment in self.schedule:
                if instalment.due < self.date:
                    raise ValueError(
                        f"schedule: instalment due {instalment.due} is before "
                        f"the issue date {self.date}"
                    )
            if self.due is not None and self.due != max(i.due for i in self.schedule):
                raise ValueError(
                    "due: with a schedule, leave `due` out "
                    "(each instalment has its own)"
                )
        return self


class Payment(Record):
    id: Id | None = None
    customer: Id
    date: LedgerDate
    amount: Amount
    currency: Currency | None = None
    invoice: Id | None = None
    allocations: dict[str, Amount] | None = None
    method: Text | None = None
    reference: Text | None = None

    record_fields = frozenset({"allocations"})

    @model_validator(mode="after")
    def _check_allocations(self) -> Payment:
        if self.allocations is not None:
            if self.invoice is not None:
                raise ValueError(
                    "allocations: give either `invoice` or `allocations`, not both"
                )
            total = sum(self.allocations.values(), Decimal(0))
            if total > self.amount:
                raise ValueError(
                    f"allocations: add up to {total}, more than the payment's "
                    f"amount {self.amount}"
                )
        return self

    def targets(self) -> dict[str, Decimal | None]:
        """Invoices this payment names, with the amount meant for each.

        `None` means "as much as it needs" (a payment naming one `invoice`).
        """
        if self.allocations:
            return dict(self.allocations)
        if self.invoice:
            return {self.invoice: None}
        return {}


AdjustmentKind = Literal["credit_note", "write_off", "discount"]


class Adjustment(Record):
    """A credit note, write-off (坏账核销) or discount."""

    id: Id
    customer: Id
    date: LedgerDate
    amount: Amount
    kind: AdjustmentKind
    invoice: Id | None = None
    currency: Currency | None = None
    reason: Text | None = None


class Contact(Record):
    """An entry of the collection log (沟通记录), maybe a promise to pay (承诺付款)."""

    customer: Id
    date: LedgerDate
    by: Text | None = None
    channel: Literal["phone", "email", "letter", "visit", "legal", "other"]
    note: Text | None = None
    promise_date: LedgerDate | None = None
    promise_amount: Amount | None = None
    # The invoice a promise is about (an addition to SPEC §1): only what is
    # applied to it then counts towards the promise.
    invoice: Id | None = None
    # SPEC §11: the customer acknowledged the debt (renews the limitation period)
    acknowledged: Flag = False

    record_fields = frozenset({"promise_amount", "promise_date"})

    @model_validator(mode="after")
    def _a_promise_has_a_date(self) -> Contact:
        if self.promise_amount is not None and self.promise_date is None:
            raise ValueError("promise_amount: a promise to pay needs its promise_date")
        return self


class PlanInstalment(Record):
    """One collection a plan expects: an amount by a date."""

    due: LedgerDate
    amount: Amount


class Plan(Record):
    """A collection plan (回款计划, SPEC §7): collections agreed with a customer
    (a repayment plan for overdue debt, or the month's plan), credited from
    what is applied to its items from the plan's date on."""

    id: Id
    customer: Id
    date: LedgerDate
    currency: Currency | None = None
    owner: Text | None = None
    # Only cash applied to these invoices counts (None: any of the customer's).
    invoices: tuple[Id, ...] | None = None
    instalments: tuple[PlanInstalment, ...]
    note: Text | None = None

    record_fields = frozenset({"instalments", "invoices"})

    @model_validator(mode="after")
    def _check_instalments(self) -> Plan:
        if not self.instalments:
            raise ValueError("instalments: list at least one `{due, amount}`")
        for instalment in self.instalments:
            if instalment.due < self.date:
                raise ValueError(
                    f"instalments: {instalment.due} is before the plan's date "
                    f"{self.date}"
                )
        dues = [i.due for i in self.instalments]
        if dues != sorted(dues):
            raise ValueError("instalments: list them in the order they fall due")
        if self.invoices is not None and not self.invoices:
            raise ValueError("invoices: is empty; leave it out or list invoices")
        return self


class Confirmation(Record):
    """A customer's answer to a statement of account (对账确认, SPEC §10)."""

    customer: Id
    date: LedgerDate  # the statement's date
    currency: Currency | None = None
    balance: Signed
    status: Literal["confirmed", "disputed"]
    note: Text | None = None


# ----------------------------------------------------------------- settings


class CompanyText(Record):
    """The company's name, address and bank details in another language."""

    name: str | None = None
    address: str | None = None
    bank: str | None = None


class Company(Record):
    name: str | None = None
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    bank: str | None = None
    tax_id: str | None = None
    # In Chinese (公司名称、地址、收款账户), for letters and statements in zh:
    # what is given here replaces the field above in a Chinese letter.
    zh: CompanyText | None = None

    def in_language(self, language: str) -> Company:
        """The company as a letter in `language` shows it."""
        other = self.zh if language == "zh" else None
        if other is None:
            return self
        given = {k: v for k, v in other.model_dump().items() if v is not None}
        return self.model_copy(update=given)


class TermsSettings(Record):
    default: Annotated[Whole, Field(ge=0, le=MAX_TERMS)] = DEFAULT_TERMS


class AgingSettings(Record):
    basis: Literal["due", "invoice"] = "due"
    buckets: tuple[Annotated[Whole, Field(gt=0)], ...] = DEFAULT_BUCKETS

    @field_validator("buckets")
    @classmethod
    def _increasing(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return check_buckets(value)


def check_buckets(value: tuple[int, ...]) -> tuple[int, ...]:
    """Bucket limits must be positive and strictly increasing."""
    if not value:
        raise ValueError("give at least one bucket limit, e.g. 30,60,90")
    if any(b <= 0 for b in value):
        raise ValueError("bucket limits must be positive day counts")
    if any(b >= c for b, c in zip(value, value[1:], strict=False)):
        raise ValueError(f"bucket limits must increase: {', '.join(map(str, value))}")
    return value


def bucket_labels(limits: Sequence[int], basis: str) -> tuple[str, ...]:
    """`Current, 1-30, 31-60, …, 120+` (basis due) or `0-30, 31-60, …` (invoice)."""
    labels = ["Current"] if basis == "due" else []
    lower = 1 if basis == "due" else 0
    for limit in limits:
        labels.append(f"{lower}-{limit}")
        lower = limit + 1
    labels.append(f"{limits[-1]}+")
    return tuple(labels)


class DunningLevel(Record):
    name: Id
    days: Whole
    pay_days: Annotated[Whole, Field(ge=0)] | None = None
    # SPEC §2: a step may be a task on the collector's worklist, not a letter
    action: Literal["letter", "call", "visit", "agency", "legal"] = "letter"


# Constant defaults are built with `model_construct`: the same records, without
# building each model's validator at import (`defer_build`), which every run of
# every command would pay for. Their values are valid by construction.
DEFAULT_DUNNING_LEVELS = (
    DunningLevel.model_construct(name="reminder", days=-3),
    DunningLevel.model_construct(name="first", days=1),
    DunningLevel.model_construct(name="second", days=15),
    DunningLevel.model_construct(name="final", days=30),
    DunningLevel.model_construct(name="legal", days=60),
)


class DunningSettings(Record):
    levels: tuple[DunningLevel, ...] = DEFAULT_DUNNING_LEVELS
    min_amount: NonNegative = Decimal(0)
    interest_rate: NonNegative = Decimal(0)
    fee: NonNegative = Decimal(0)
    pay_days: Annotated[Whole, Field(ge=0)] = 10
    resend_days: Annotated[Whole, Field(ge=0)] = 7
    # SPEC §2 (revised): `steps` climbs one level at a time from what was sent;
    # `days` chooses the level from days past due alone (the first release).
    escalation: Literal["steps", "days"] = "steps"
    # SPEC §2: items paid after their due date accrue interest to the day paid.
    interest_on_paid_late: Flag = False

    @field_validator("interest_rate")
    @classmethod
    def _a_fraction(cls, value: Decimal) -> Decimal:
        if value >= 1:
            raise ValueError(f"is a yearly fraction: write 0.08 for 8% (got {value})")
        return value

    @field_validator("levels")
    @classmethod
    def _distinct_levels(
        cls, value: tuple[DunningLevel, ...]
    ) -> tuple[DunningLevel, ...]:
        names = [level.name for level in value]
        if len(set(names)) != len(names):
            raise ValueError("level names must be different from each other")
        for lower, higher in zip(value, value[1:], strict=False):
            if higher.days <= lower.days:
                raise ValueError(
                    f"level {higher.name!r} ({higher.days} days) must come later "
                    f"than {lower.name!r} ({lower.days} days): days must increase"
                )
        return value


class CreditSettings(Record):
    hold_days: Annotated[Whole, Field(ge=0)] = 60


class CsvSettings(Record):
    # A UTF-8 byte order mark first, so that Excel on a Chinese (or any
    # non-UTF-8) Windows reads the file as UTF-8 (README, "Output formats").
    bom: bool = False


class SmtpSettings(Record):
    host: str
    port: Whole = 587
    starttls: Flag = True
    user: str | None = None
    password_env: str | None = None
    sender: str | None = None


Paper = Literal["A4", "A3", "A5", "Letter", "Legal"]


class JournalSettings(Record):
    """Account names of `arledger journal` (hledger / beancount)."""

    receivable: Id = "Assets:Receivable"  # then `:CUSTOMER-ID`
    income: Id = "Income:Sales"
    bank: Id = "Assets:Bank"
    credit_note: Id = "Income:Sales:Returns"
    write_off: Id = "Expenses:Bad-Debts"
    discount: Id = "Expenses:Discounts"
    opening: Id = "Equity:Opening-Balances"


# SPEC §8: the example matrix, for the default aging buckets.
DEFAULT_ALLOWANCE_RATES = {
    "Current": Decimal("0.005"),
    "1-30": Decimal("0.02"),
    "31-60": Decimal("0.05"),
    "61-90": Decimal("0.15"),
    "91-120": Decimal("0.35"),
    "120+": Decimal("0.80"),
}


class AllowanceAccounts(Record):
    expense: Id = "Expenses:Bad-Debts"
    allowance: Id = "Assets:Receivable:Allowance"


class AllowanceSettings(Record):
    """The bad-debt allowance (坏账准备, SPEC §8): a rate per aging bucket."""

    # None: DEFAULT_ALLOWANCE_RATES, which fit the default buckets only.
    rates: dict[str, Fraction] | None = None
    disputed: Fraction | None = None
    accounts: AllowanceAccounts = AllowanceAccounts.model_construct()


class LimitationSettings(Record):
    """SPEC §11: years after due date or last renewal (PRC Civil Code: 3)."""

    years: Annotated[Whole, Field(ge=1, le=100)] = 3


class LintSettings(Record):
    """SPEC §13: what `check --strict` calls too old."""

    unapplied_days: Annotated[Whole, Field(ge=0)] = 30


class StatementSettings(Record):
    """SPEC §10: days a customer has to answer a statement."""

    reply_days: Annotated[Whole, Field(ge=0)] = 14


class RiskBands(Record):
    """The most points each computed grade allows (risk.bands); more than C's is D."""

    A: Annotated[Whole, Field(ge=0)] = 1
    B: Annotated[Whole, Field(ge=0)] = 3
    C: Annotated[Whole, Field(ge=0)] = 6

    @model_validator(mode="after")
    def _increasing(self) -> RiskBands:
        if not self.A < self.B < self.C:
            raise ValueError(
                f"the bands must increase: A {self.A} < B {self.B} < C {self.C}"
            )
        return self


class RiskSettings(Record):
    """The computed credit grade (`arledger risk`): its points per grade."""

    bands: RiskBands = RiskBands.model_construct()


class Settings(Record):
    """`arledger.yaml`: every key optional."""

    company: Company = Company.model_construct()
    currency: Currency = "USD"
    language: Language = "en"
    terms: TermsSettings = TermsSettings.model_construct()
    aging: AgingSettings = AgingSettings.model_construct()
    dunning: DunningSettings = DunningSettings.model_construct()
    credit: CreditSettings = CreditSettings.model_construct()
    csv: CsvSettings = CsvSettings.model_construct()
    smtp: SmtpSettings | None = None
    # The paper the workbook (`export`) prints on; None: A4 for a workbook in
    # Chinese, Letter in English.
    paper: Paper | None = None

    journal: JournalSettings = JournalSettings.model_construct()
    allowance: AllowanceSettings = AllowanceSettings.model_construct()
    limitation: LimitationSettings = LimitationSettings.model_construct()
    lint: LintSettings = LintSettings.model_construct()
    statement: StatementSettings = StatementSettings.model_construct()
    risk: RiskSettings = RiskSettings.model_construct()

    @model_validator(mode="after")
    def _rates_name_buckets(self) -> Settings:
        rates = self.allowance.rates
        if rates is None:
            return self
        labels = bucket_labels(self.aging.buckets, self.aging.basis)
        unknown = [k for k in rates if k not in labels]
        missing = [k for k in labels if k not in rates]
        if unknown or missing:
            parts = []
            if unknown:
                parts.append(f"not a bucket: {', '.join(unknown)}")
            if missing:
                parts.append(f"no rate for: {', '.join(missing)}")
            raise ValueError(
                f"allowance.rates: {'; '.join(parts)} "
                f"(the buckets are {', '.join(labels)})"
            )
        return self

    def allowance_rates(self) -> dict[str, Decimal]:
        """The rate of each aging bucket (SPEC §8)."""
        return dict(self.allowance.rates or DEFAULT_ALLOWANCE_RATES)


RECORD_MODELS: dict[str, type[Record]] = {
    "customers": Customer,
    "invoices": Invoice,
    "payments": Payment,
    "adjustments": Adjustment,
    "contacts": Contact,
    "plans": Plan,
    "confirmations": Confirmation,
}
