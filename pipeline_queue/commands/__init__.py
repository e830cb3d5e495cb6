"""Subcommands of `pipeline-queue`, one module per concern; each is a thin edge over domain code."""
