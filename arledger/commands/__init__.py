"""The commands of the `arledger` CLI, one module per group."""
