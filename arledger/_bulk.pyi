"""Type stubs for the native lane (arledger/_bulk.c); see loader.load_lean."""

from datetime import date
from decimal import Decimal

# settle.Item's fields, the owner as the invoice gives it (None: the customer's).
ItemFields = tuple[
    str, int | None, str, str, date, date, Decimal, Decimal, bool, str | None
]
# settle.Credit's fields.
CreditFields = tuple[str, str, str, str, date, Decimal, str | None]

class Bulk:
    def __init__(
        self,
        customers: list[tuple[str, int, str | None]],
        base_currency: str,
        minor_units: dict[str, int],
    ) -> None: ...
    def read(self, kind: int, text: bytes | str, rel: str) -> bool: ...
    def read_records(
        self, kind: int, records: list[dict[str, object]], lines: list[int], rel: str
    ) -> bool: ...
    def settle(self, as_of: int) -> tuple[list[ItemFields], list[CreditFields]]: ...
    def invoice_customer(self, invoice_id: str) -> str | None: ...
    def counts(self) -> tuple[int, int, int]: ...
