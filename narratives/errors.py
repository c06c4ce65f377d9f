"""Errors the CLI shows as one clear line (no traceback unless --debug)."""


class NarrativesError(Exception):
    """A problem the user can fix; the message names what is wrong and how to fix it."""


class ConfigError(NarrativesError):
    """The configuration file is missing, unreadable or invalid."""


class InputError(NarrativesError):
    """The input path or its format cannot be used at all (single bad records are quarantined instead)."""


class SchemaError(NarrativesError):
    """A table does not match its declared schema; nothing is written."""
