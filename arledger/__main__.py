"""`python -m arledger` runs the command line."""

from arledger.cli import main

main()
