"""The ledger's records: customers, invoices, payments, adjustments, contacts, settings.

Rules about one record only live here; rules that span records (unknown customer,
duplicate id, currency mismatch) are the loader's cross-checks. Knows nothing of
files: the loader sets each record's `source`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationInfo,
    field_validator,
    model_validator,
)

from arledger import rows, rules
from arledger.errors import Source
from arledger.rules import (  # noqa: F401 (re-exported)
    DEFAULT_ALLOWANCE_RATES,
    MAX_YEAR,
    MIN_YEAR,
    bucket_labels,
    check_buckets,
)

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
Whole = Annotated[int, BeforeValidator(rules.one(rules.wholes)), Column(rules.wholes)]
Flag = Annotated[bool, BeforeValidator(rules.one(rules.flags)), Column(rules.flags)]
Id = Annotated[str, BeforeValidator(rules.one(rules.ids)), Column(rules.ids)]
Text = Annotated[str, BeforeValidator(rules.one(rules.texts)), Column(rules.texts)]
Language = Literal["en", "zh"]


class Record(BaseModel):
    """Base of every ledger record: frozen, strict about unknown fields."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True
    )

    # Rules over several fields (arledger/rules.py), as (fields, rule): applied
    # to one record by `_apply_row_rules`, to columns by the loader. A message
    # starts with the field it is about ("schedule: ...").
    row_rules: ClassVar[tuple[tuple[tuple[str, ...], Callable[..., None]], ...]] = ()
    # Rules over one field's whole value, as {field: rule}: applied by
    # `_apply_field_rules` (the error is that field's), and by the loader.
    field_rules: ClassVar[dict[str, Callable[[list[Any]], None]]] = {}

    # Set by the loader, never read from a file (the loader refuses a `source` key).
    source: SkipValidation[Source | None] = Field(
        default=None, exclude=True, repr=False
    )

    @field_validator("*")
    @classmethod
    def _apply_field_rules(cls, value: Any, info: ValidationInfo) -> Any:
        rule = cls.field_rules.get(info.field_name or "")
        if rule is not None:
            try:
                rule([value])
            except rules.Bad as bad:
                raise ValueError(bad.messages[0]) from None
        return value

    @model_validator(mode="after")
    def _apply_row_rules(self) -> Record:
        for fields, rule in self.row_rules:
            try:
                rule(*([getattr(self, name)] for name in fields))
            except rules.Bad as bad:
                raise ValueError(bad.messages[0]) from None
        return self


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


class Invoice(Record, rows.INVOICE):
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

    row_rules = (
        (("date", "due"), rules.due_dates),
        (("date", "due", "amount", "schedule"), rules.schedules),
    )


class Payment(Record, rows.PAYMENT):
    id: Id | None = None
    customer: Id
    date: LedgerDate
    amount: Amount
    currency: Currency | None = None
    invoice: Id | None = None
    allocations: dict[str, Amount] | None = None
    method: Text | None = None
    reference: Text | None = None

    row_rules = ((("invoice", "amount", "allocations"), rules.allocations),)

    targets = rows.targets


AdjustmentKind = Literal["credit_note", "write_off", "discount"]


class Adjustment(Record, rows.ADJUSTMENT):
    """A credit note, write-off (坏账核销) or discount."""

    id: Id
    customer: Id
    date: LedgerDate
    amount: Amount
    kind: AdjustmentKind
    invoice: Id | None = None
    currency: Currency | None = None
    reason: Text | None = None


class Contact(Record, rows.CONTACT):
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

    row_rules = ((("promise_amount", "promise_date"), rules.promises),)


class PlanInstalment(Record):
    """One collection a plan expects: an amount by a date."""

    due: LedgerDate
    amount: Amount


class Plan(Record, rows.PLAN):
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

    row_rules = ((("date", "instalments", "invoices"), rules.plan_instalments),)


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

    in_language = rows.in_language


class TermsSettings(Record):
    default: Annotated[Whole, Field(ge=0, le=MAX_TERMS)] = DEFAULT_TERMS


class AgingSettings(Record):
    basis: Literal["due", "invoice"] = "due"
    buckets: tuple[Annotated[Whole, Field(gt=0)], ...] = DEFAULT_BUCKETS

    field_rules = {"buckets": rules.bucket_limits}


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

    field_rules = {
        "interest_rate": rules.yearly_rates,
        "levels": rules.dunning_levels,
    }


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

    row_rules = ((("A", "B", "C"), rules.risk_bands),)


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

    row_rules = ((("allowance", "aging"), rules.allowance_buckets),)

    allowance_rates = rows.allowance_rates


RECORD_MODELS: dict[str, type[Record]] = {
    "customers": Customer,
    "invoices": Invoice,
    "payments": Payment,
    "adjustments": Adjustment,
    "contacts": Contact,
    "plans": Plan,
    "confirmations": Confirmation,
}
