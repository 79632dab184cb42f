"""arledger: an accounts-receivable ledger over plain-text files."""

__version__ = "0.1.0"
