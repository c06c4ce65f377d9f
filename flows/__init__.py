"""Prefect flows and the `narratives` command line; they only wire library calls from ``narratives``."""
